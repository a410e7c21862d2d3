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
	// Threads bounds the goroutines of Forward (0: GOMAXPROCS). The
	// results do not depend on it.
	Threads int
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
// TernaryProj. Work is split by output rows o; the integer path is exact, so
// its results do not depend on how the work is split.
func (p *TernaryProj) Forward(out, inp []float32, n, actBits int) {
	sc := ternaryScratchPool.Get().(*ternaryScratch)
	defer ternaryScratchPool.Put(sc)
	if p.IntActs {
		if k := ternaryImpl; k != nil && p.In > 0 {
			p.forwardSIMD(k, sc, out, inp, n, actBits)
			return
		}
		p.forwardInt(sc, out, inp, n, actBits)
		return
	}
	p.forwardFloat(sc, out, inp, n)
}

// SetThreads sets Threads.
func (p *TernaryProj) SetThreads(t int) { p.Threads = t }
