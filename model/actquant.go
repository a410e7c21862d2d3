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
	parallelFor(n, grainFor(n, 3*C), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			absmaxTokenRow(out[r*C:(r+1)*C], inp[r*C:(r+1)*C], bits)
		}
	})
}

// absmaxTokenRow quantizes one row as absmaxTokenForward and returns its
// scale s.
func absmaxTokenRow(out, x []float32, bits int) float32 {
	s := absmaxScale(x, bits)
	lo, hi := -float32(int(1)<<(bits-1)), float32(int(1)<<(bits-1)-1)
	for i, v := range x {
		out[i] = min(max(roundEven(v*s), lo), hi) / s
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
	n := len(inp)
	parallelFor(n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := min(max(inp[i], -4), 4)
			out[i] = min(max(roundEven(x/delta), -q), q) * delta
		}
	})
}

// symQuantTensor performs out = clamp(round(x/scale), -qmax, qmax) * scale over
// the whole tensor, with qmax = max(2^(b-1)-1, 1) and scale = max|x|/qmax (1 if
// max|x| = 0): the adaptive layer's symmetric per-tensor quantizer. It returns
// scale and qmax. out may alias inp.
func symQuantTensor(out, inp []float32, bits int) (scale, qmax float32) {
	qmax = symQmax(bits)
	scale = symScale(inp, qmax)
	n := len(inp)
	parallelFor(n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = min(max(roundEven(inp[i]/scale), -qmax), qmax) * scale
		}
	})
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

// maxAbs returns max|x|.
func maxAbs(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// meanAbs returns mean|x|, summed in float64 in index order.
func meanAbs(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return float32(s / float64(len(x)))
}
