package model

import (
	"math"
	"testing"
)

// Every round of spec §2-§3 rounds half to even (torch.round). The inputs
// below are chosen so that x*s (or x/scale, x/Delta, W/(gamma+1e-5)) is
// exactly k + 0.5 in float32, where half to even and half away from zero
// disagree for every k: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, and the
// negatives mirrored.

// halves returns the ties h = +-0.5, +-1.5, ..., +-(k+0.5) up to lim.
func halves(lim float32) []float32 {
	var h []float32
	for v := float32(0.5); v <= lim; v++ {
		h = append(h, v, -v)
	}
	return h
}

// tieCodes returns round-half-to-even of each h, computed independently of
// the package: the even neighbour of the two integers around h.
func tieCodes(h []float32) []float32 {
	c := make([]float32, len(h))
	for i, v := range h {
		lo := float32(math.Floor(float64(v)))
		if int(lo)%2 == 0 {
			c[i] = lo
		} else {
			c[i] = lo + 1
		}
	}
	return c
}

// fixedPoint iterates w = f(w) until it is stable (or 100 times) and
// returns w, for building a weight that equals a threshold computed from a
// tensor containing that weight.
func fixedPoint(w float32, f func(float32) float32) float32 {
	for range 100 {
		n := f(w)
		if n == w {
			break
		}
		w = n
	}
	return w
}

// TestQuantizersRoundHalfToEven pins half-to-even rounding in each quantizer
// that rounds: absmax_token, the adaptive per-tensor input and weight
// quantizers, clip4 and bitlinear_1p58's weights. A quantizer rounding half
// away from zero (math.Round) fails every case.
func TestQuantizersRoundHalfToEven(t *testing.T) {
	cfg := DefaultConfig()
	adaptiveW := func(bits int) func(x []float32) []float32 {
		return func(x []float32) []float32 {
			l := quantLinear(VariantAdaptive, cfg, len(x), 1, x)
			l.Bit[0] = float32(bits)
			l.prepare()
			return l.wHat
		}
	}
	absmax := func(bits int) func(x []float32) []float32 {
		return func(x []float32) []float32 {
			out := make([]float32, len(x))
			absmaxTokenForward(out, x, 1, len(x), bits)
			return out
		}
	}
	perTensor := func(bits int) func(x []float32) []float32 {
		return func(x []float32) []float32 {
			out := make([]float32, len(x))
			symQuantTensor(out, x, bits)
			return out
		}
	}
	// Each case's range ends at max, so its scale is exactly 1 and the
	// ties h are fed in as they are.
	cases := []struct {
		name     string
		quant    func(x []float32) []float32
		lim, max float32 // largest tie, range end
	}{
		{"absmax_token/A8", absmax(8), 126.5, 127},
		{"absmax_token/A4", absmax(4), 6.5, 7},
		{"adaptive-input/8bit", perTensor(8), 126.5, 127},
		{"adaptive-input/3bit", perTensor(3), 2.5, 3},
		{"adaptive-weight/b8", adaptiveW(8), 126.5, 127},
		{"adaptive-weight/b4", adaptiveW(4), 6.5, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := halves(c.lim)
			x := append(append([]float32(nil), h...), c.max)
			out := c.quant(x)
			want := append(tieCodes(h), c.max)
			bad := 0
			for i := range x {
				if out[i] != want[i] {
					if bad++; bad <= 3 {
						t.Errorf("%g -> %g, want %g (half to even)", x[i], out[i], want[i])
					}
				}
			}
		})
	}

	// clip4 at a = 4: Delta = 8/15, ties at h*Delta for |h| <= 6.5, all
	// exact in float32 (checked).
	t.Run("clip4/A4", func(t *testing.T) {
		delta := float32(8.0 / 15)
		h := halves(6.5)
		x := make([]float32, len(h))
		for i, v := range h {
			x[i] = v * delta
			if x[i]/delta != v {
				t.Fatalf("%g/Delta is not the tie %g", x[i], v)
			}
		}
		out := make([]float32, len(x))
		clip4Forward(out, x, 4)
		for i, c := range tieCodes(h) {
			if out[i] != c*delta {
				t.Errorf("%g (%g Delta) -> %g, want %g Delta", x[i], h[i], out[i], c)
			}
		}
	})

	// bitlinear_1p58: w/(gamma+1e-5) = +-0.5 exactly -> 0 (half away from
	// zero would give +-gamma). w enters gamma, so it is found as a fixed
	// point of w = 0.5 (mean|W| + 1e-5).
	t.Run("bitlinear_1p58", func(t *testing.T) {
		W := []float32{0, 0, 0.9, -0.7, 0.2, 1.1}
		fixedPoint(0.2, func(w float32) float32 {
			W[0], W[1] = w, -w
			return 0.5 * (meanAbs(W) + 1e-5)
		})
		gamma := meanAbs(W)
		if W[0]/(gamma+1e-5) != 0.5 || W[1]/(gamma+1e-5) != -0.5 {
			t.Fatalf("no exact tie: %g/%g", W[0], gamma+1e-5)
		}
		l := quantLinear(Variant1p58, cfg, 6, 1, W)
		l.prepare()
		if l.wHat[0] != 0 || l.wHat[1] != 0 {
			t.Errorf("W/(gamma+eps) = +-0.5 gives W_hat %g, %g, want 0, 0", l.wHat[0], l.wHat[1])
		}
		if l.wHat[2] != gamma || l.wHat[3] != -gamma {
			t.Errorf("W_hat = %v", l.wHat)
		}
		if c := TernaryCodes(Variant1p58, W); c[0] != 0 || c[1] != 0 {
			t.Errorf("TernaryCodes of the ties = %v", c[:2])
		}
	})
}

// quantLinear returns a (out,in) projection of variant with weights W.
func quantLinear(variant string, cfg Config, in, out int, W []float32) *Linear {
	var lay layout
	addLinearTensors(&lay, "p", variant, in, out)
	l := newLinear("p", variant, in, out, cfg)
	l.bind(&lay, make([]float32, lay.n), make([]float32, lay.n))
	copy(l.W, W)
	fill(l.S, 1)
	return l
}

// TestPackedActivationCodes pins the packed path's integer activation codes
// on exact ties: through an identity ternary projection (Q = I, scale 1) the
// output is code/s with s = 1, so it must equal the fake-quant absmax_token
// value, half to even, on the decode (n < 4) and prefill (n >= 4) paths.
func TestPackedActivationCodes(t *testing.T) {
	for _, c := range []struct {
		bits     int
		lim, max float32
	}{{8, 126.5, 127}, {4, 6.5, 7}} {
		h := halves(c.lim)
		row := append(append([]float32(nil), h...), c.max)
		want := append(tieCodes(h), c.max)
		C := len(row)
		p := NewTernaryProj(C, C, true)
		for i := range C {
			p.Set(i, i, 1)
		}
		for _, n := range []int{1, 5} {
			x := make([]float32, 0, n*C)
			for range n {
				x = append(x, row...)
			}
			got, fq := make([]float32, n*C), make([]float32, n*C)
			p.Forward(got, x, n, c.bits)
			absmaxTokenForward(fq, x, n, C, c.bits)
			bad := 0
			for i := range got {
				if got[i] != fq[i] || got[i] != want[i%C] {
					if bad++; bad > 3 {
						break
					}
					t.Errorf("A%d n=%d: %g -> packed %g, fake-quant %g, want %g", c.bits, n, x[i], got[i], fq[i], want[i%C])
				}
			}
		}
	}
}
