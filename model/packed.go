package model

import (
	"fmt"
	"math/rand/v2"
)

// Proj is one projection of the inference engine: out (n,Out) = P(inp (n,In))
// at activation bits actBits. DenseProj and TernaryProj implement it; other
// weight formats (int8, fp16) can be added by implementing it.
type Proj interface {
	Forward(out, inp []float32, n, actBits int)
	Dims() (in, out int)
	// Bytes returns the memory the projection's weights occupy, counted
	// from its actual buffers.
	Bytes() int64
}

// DenseProj is an fp32 projection holding the (possibly fake-quantized)
// effective weights transposed, (In,Out), with the site's input quantizer:
// the fake-quant inference path.
type DenseProj struct {
	In, Out int
	WT      []float32 // (In,Out)
	quant   inputQuant
	bits    int // per-tensor input bits (adaptive)
	xq      []float32
}

// NewDenseProj returns a projection computing out = inp * wT for wT (In,Out),
// without input quantization.
func NewDenseProj(in, out int, wT []float32) *DenseProj {
	if len(wT) != in*out {
		panic(fmt.Sprintf("model: NewDenseProj with %d weights for %dx%d", len(wT), in, out))
	}
	return &DenseProj{In: in, Out: out, WT: wT}
}

// Dims returns In and Out.
func (p *DenseProj) Dims() (int, int) { return p.In, p.Out }

// Bytes returns 4 bytes per weight.
func (p *DenseProj) Bytes() int64 { return 4 * int64(len(p.WT)) }

// Forward performs out (n,Out) = q(inp) (n,In) * WT with the site's input
// quantizer q, exactly as the training forward does.
func (p *DenseProj) Forward(out, inp []float32, n, actBits int) {
	x := inp[:n*p.In]
	if p.quant != inputNone {
		if cap(p.xq) < n*p.In {
			p.xq = make([]float32, n*p.In)
		}
		x = p.xq[:n*p.In]
		if p.quant == inputAbsmaxToken {
			absmaxTokenForward(x, inp, n, p.In, actBits)
		} else {
			symQuantTensor(x, inp[:n*p.In], p.bits)
		}
	}
	matmul(out, p.Out, x, p.In, false, p.WT, p.Out, n, p.Out, p.In, false)
}

// Ternary codes, 2 bits each, four to a byte, lowest bits first.
const (
	codeZero  = 0
	codePlus  = 1
	codeMinus = 2
)

// ternaryLUT[b] decodes the four weights packed in byte b.
var ternaryLUT = func() (lut [256][4]int32) {
	val := [4]int32{0, 1, -1, 0}
	for b := range 256 {
		for k := range 4 {
			lut[b][k] = val[(b>>(2*k))&3]
		}
	}
	return lut
}()

// TernaryProj is a packed ternary projection: W_hat_oi = Q_oi * Scales[o]
// with Q in {-1, 0, +1} stored at 2 bits. With IntActs, each input row is
// quantized to integers at the activation bits (absmax per token, int8 at
// A8, int4 values at A4) and the product is accumulated in int32:
// out_o = acc_o * Scales[o] / s_row. Without it (act_quant clip4 or none)
// the float activations are added and subtracted.
type TernaryProj struct {
	In, Out int
	Packed  []byte    // (Out, RowBytes)
	Scales  []float32 // (Out)
	IntActs bool

	xi  []int8    // (n, 4*RowBytes) integer activations, zero padded
	tab []int32   // (n, RowBytes, 256) group sums of the integer activations
	xf  []float32 // (n, 4*RowBytes) float activations, zero padded
	s   []float32 // (n) activation scales
}

// NewTernaryProj returns an all-zero packed projection with unit scales,
// allocating only the 2-bit codes and the scales, never a dense matrix (the
// 7B dry run builds its weights this way).
func NewTernaryProj(in, out int, intActs bool) *TernaryProj {
	p := &TernaryProj{In: in, Out: out, IntActs: intActs,
		Packed: make([]byte, out*((in+3)/4)), Scales: make([]float32, out)}
	fill(p.Scales, 1)
	return p
}

// RandomTernaryProj returns a projection whose codes are drawn uniformly
// from {-1, 0, +1} by rng, four at a time straight into the packed bytes,
// with every scale set to scale.
func RandomTernaryProj(in, out int, intActs bool, scale float32, rng *rand.Rand) *TernaryProj {
	p := NewTernaryProj(in, out, intActs)
	rb := p.RowBytes()
	for o := range out {
		row := p.Packed[o*rb : (o+1)*rb]
		for j := range row {
			var b byte
			for k := range 4 {
				if 4*j+k < in {
					b |= byte(rng.IntN(3)) << (2 * k)
				}
			}
			row[j] = b
		}
	}
	fill(p.Scales, scale)
	return p
}

// RowBytes returns the bytes per packed row, ceil(In/4).
func (p *TernaryProj) RowBytes() int { return (p.In + 3) / 4 }

// Set stores Q_oi = q, one of -1, 0, +1.
func (p *TernaryProj) Set(o, i int, q int) {
	var c byte
	switch q {
	case 0:
		c = codeZero
	case 1:
		c = codePlus
	case -1:
		c = codeMinus
	default:
		panic(fmt.Sprintf("model: ternary value %d", q))
	}
	at := o*p.RowBytes() + i/4
	sh := 2 * (i % 4)
	p.Packed[at] = p.Packed[at]&^(3<<sh) | c<<sh
}

// Get returns Q_oi.
func (p *TernaryProj) Get(o, i int) int {
	return int(ternaryLUT[p.Packed[o*p.RowBytes()+i/4]][i%4])
}

// Dims returns In and Out.
func (p *TernaryProj) Dims() (int, int) { return p.In, p.Out }

// Bytes returns the packed codes plus 4 bytes per scale.
func (p *TernaryProj) Bytes() int64 { return int64(len(p.Packed)) + 4*int64(len(p.Scales)) }

// Forward performs out (n,Out) = x (n,In) * W_hat^T as described on
// TernaryProj. Work is split by output rows o.
func (p *TernaryProj) Forward(out, inp []float32, n, actBits int) {
	rb := p.RowBytes()
	w := 4 * rb
	if p.IntActs {
		if cap(p.xi) < n*w {
			p.xi = make([]int8, n*w)
			p.s = make([]float32, n)
		}
		xi, s := p.xi[:n*w], p.s[:n]
		lo, hi := -float32(int(1)<<(actBits-1)), float32(int(1)<<(actBits-1)-1)
		for r := range n {
			x := inp[r*p.In : (r+1)*p.In]
			s[r] = absmaxScale(x, actBits)
			row := xi[r*w : (r+1)*w]
			for i, v := range x {
				row[i] = int8(min(max(roundEven(v*s[r]), lo), hi))
			}
			clear(row[p.In:])
		}
		// Per row, a table of the 256 possible sums of each group of four
		// activations turns every packed byte into one lookup and one
		// integer add: sum_i Q_oi x_i = sum_j table[j][packed byte j].
		groups := rb
		if cap(p.tab) < n*groups*256 {
			p.tab = make([]int32, n*groups*256)
		}
		tab := p.tab[:n*groups*256]
		parallelFor(n*groups, 64, func(lo, hi int) {
			for g := lo; g < hi; g++ {
				buildGroupTable(tab[g*256:(g+1)*256], xi[(g/groups)*w+4*(g%groups):][:4])
			}
		})
		parallelFor(p.Out, grainFor(p.Out, n*p.In/2), func(olo, ohi int) {
			for o := olo; o < ohi; o++ {
				codes := p.Packed[o*rb : (o+1)*rb]
				for r := range n {
					acc := dotTernaryTable(codes, tab[r*groups*256:(r+1)*groups*256])
					out[r*p.Out+o] = float32(acc) / s[r] * p.Scales[o]
				}
			}
		})
		return
	}
	if cap(p.xf) < n*w {
		p.xf = make([]float32, n*w)
	}
	xf := p.xf[:n*w]
	for r := range n {
		copy(xf[r*w:], inp[r*p.In:(r+1)*p.In])
		clear(xf[r*w+p.In : (r+1)*w])
	}
	parallelFor(p.Out, grainFor(p.Out, n*p.In), func(olo, ohi int) {
		for o := olo; o < ohi; o++ {
			codes := p.Packed[o*rb : (o+1)*rb]
			for r := range n {
				out[r*p.Out+o] = dotTernaryFloat(codes, xf[r*w:(r+1)*w]) * p.Scales[o]
			}
		}
	})
}

// buildGroupTable performs t[b] = sum_k Q(b,k) x_k for every byte b, Q(b,k)
// the k-th 2-bit code of b, from two 16-entry half tables (integer adds).
func buildGroupTable(t []int32, x []int8) {
	var lo, hi [16]int32
	for c := range 16 {
		l, h := &ternaryLUT[c], &ternaryLUT[c]
		lo[c] = l[0]*int32(x[0]) + l[1]*int32(x[1])
		hi[c] = h[0]*int32(x[2]) + h[1]*int32(x[3])
	}
	for b := range 256 {
		t[b] = lo[b&15] + hi[b>>4]
	}
}

// dotTernaryTable returns sum_i Q_i x_i in int32 for packed codes, given the
// group tables of x (256 entries per code byte).
func dotTernaryTable(codes []byte, tab []int32) int32 {
	var acc int32
	for j, b := range codes {
		acc += tab[j*256+int(b)]
	}
	return acc
}

// dotTernaryFloat returns sum_i Q_i x_i for packed codes and float x.
func dotTernaryFloat(codes []byte, x []float32) float32 {
	var acc float32
	for j, b := range codes {
		c := &ternaryLUT[b]
		xs := x[4*j : 4*j+4 : 4*j+4]
		acc += float32(c[0])*xs[0] + float32(c[1])*xs[1] + float32(c[2])*xs[2] + float32(c[3])*xs[3]
	}
	return acc
}
