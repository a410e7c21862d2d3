package model

import "math"

// Activation fake-quantizers (spec §3). All are straight-through: their
// backward pass is the identity, so they have no backward functions; the
// layers that use them pass gradients through unchanged.

// roundEven rounds half to even, as torch.round does.
func roundEven(x float32) float32 { return float32(math.RoundToEven(float64(x))) }

// absmaxTokenForward performs, for each of the n rows of inp (n,C),
// out = clamp(round(x*s), -2^(a-1), 2^(a-1)-1) / s with
// s = (2^(a-1)-1) / max(max|x|, 1e-5), the BitNet b1.58 per-token quantizer.
// out may alias inp.
func absmaxTokenForward(out, inp []float32, n, C, bits int) {
	runPooled(&absmaxPool, n, grainFor(n, 3*C), absmaxKernel{out: out, inp: inp, C: C, bits: bits})
}

type absmaxKernel struct {
	out, inp []float32
	C, bits  int
}

var absmaxPool freeList[absmaxKernel]

func (k *absmaxKernel) run(lo, hi int) {
	C := k.C
	for r := lo; r < hi; r++ {
		absmaxTokenRow(k.out[r*C:(r+1)*C], k.inp[r*C:(r+1)*C], k.bits)
	}
}

// absmaxTokenRow quantizes one row as absmaxTokenForward and returns its
// scale s. The clamp is written with comparisons, which give the same
// values as min and max here (NaN stays NaN, -0 stays -0) but compile to
// fewer instructions.
func absmaxTokenRow(out, x []float32, bits int) float32 {
	s := absmaxScale(x, bits)
	lo, hi := -float32(int(1)<<(bits-1)), float32(int(1)<<(bits-1)-1)
	out = out[:len(x)]
	for i, v := range x {
		r := roundEven(v * s)
		if r < lo {
			r = lo
		} else if r > hi {
			r = hi
		}
		out[i] = r / s
	}
	return s
}

// absmaxScale returns s = (2^(a-1)-1) / max(max|x|, 1e-5).
func absmaxScale(x []float32, bits int) float32 {
	return float32(int(1)<<(bits-1)-1) / max(maxAbs(x), 1e-5)
}

// clip4Forward performs out = clamp(round(x/Delta), -(2^(a-1)-1), 2^(a-1)-1) * Delta
// after clamping x to +-4, with Delta = 8/(2^a - 1): the BitNet-7B-KDE seed's
// residual-stream quantizer. It is the identity (a copy) when a >= 8.
// out may alias inp.
func clip4Forward(out, inp []float32, bits int) {
	if bits >= 8 {
		copy(out, inp)
		return
	}
	delta := float32(8 / (math.Pow(2, float64(bits)) - 1))
	q := float32(int(1)<<(bits-1) - 1)
	runPooled(&elemQuantPool, len(inp), 1<<14, elemQuant{out: out, inp: inp, a: delta, q: q, clip4: true})
}

// elemQuant is the elementwise kernel of clip4Forward (clip4 true: a is
// Delta, q the level bound) and symQuantTensor (a is the scale, q qmax).
type elemQuant struct {
	out, inp []float32
	a, q     float32
	clip4    bool
}

var elemQuantPool freeList[elemQuant]

func (k *elemQuant) run(lo, hi int) {
	out, inp, a, q := k.out[lo:hi], k.inp[lo:hi], k.a, k.q
	if k.clip4 {
		for i, v := range inp {
			x := min(max(v, -4), 4)
			out[i] = min(max(roundEven(x/a), -q), q) * a
		}
		return
	}
	for i, v := range inp {
		out[i] = min(max(roundEven(v/a), -q), q) * a
	}
}

// symQuantTensor performs out = clamp(round(x/scale), -qmax, qmax) * scale over
// the whole tensor, with qmax = max(2^(b-1)-1, 1) and scale = max|x|/qmax (1 if
// max|x| = 0): the adaptive layer's symmetric per-tensor quantizer. It returns
// scale and qmax. out may alias inp.
func symQuantTensor(out, inp []float32, bits int) (scale, qmax float32) {
	qmax = symQmax(bits)
	scale = symScale(inp, qmax)
	runPooled(&elemQuantPool, len(inp), 1<<14, elemQuant{out: out, inp: inp, a: scale, q: qmax})
	return scale, qmax
}

// symQmax returns max(2^(b-1)-1, 1).
func symQmax(bits int) float32 {
	return float32(max(math.Pow(2, float64(bits-1))-1, 1))
}

// symScale returns max|x|/qmax, or 1 when x is all zeros.
func symScale(x []float32, qmax float32) float32 {
	m := maxAbs(x)
	if m == 0 {
		return 1
	}
	return m / qmax
}

// maxAbs returns max|x| (NaN if x holds one). It compares the magnitudes
// bit patterns as integers, which order non-negative floats as their values,
// in four independent lanes.
func maxAbs(x []float32) float32 {
	const mag = 0x7fffffff
	var m0, m1, m2, m3 uint32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		m0 = max(m0, math.Float32bits(v[0])&mag)
		m1 = max(m1, math.Float32bits(v[1])&mag)
		m2 = max(m2, math.Float32bits(v[2])&mag)
		m3 = max(m3, math.Float32bits(v[3])&mag)
	}
	for ; i < len(x); i++ {
		m0 = max(m0, math.Float32bits(x[i])&mag)
	}
	return math.Float32frombits(max(m0, m1, m2, m3))
}

// meanAbs returns mean|x|, summed in float64 in index order.
func meanAbs(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return float32(s / float64(len(x)))
}
