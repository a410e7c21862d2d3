package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// linearCase builds one projection site of the given variant with random
// weights, as the model would.
func linearCase(t *testing.T, variant string, cfg Config, in, out int, rng *rand.Rand) *Linear {
	t.Helper()
	var lay layout
	addLinearTensors(&lay, "p", variant, in, out)
	params, grads := make([]float32, lay.n), make([]float32, lay.n)
	l := newLinear("p", variant, in, out, cfg)
	l.bind(&lay, params, grads)
	copy(l.W, randVec(rng, in*out, 0.5))
	for o := range l.S {
		if cfg.BitlinearScaleInit == "one" {
			l.S[o] = 1
		} else {
			l.S[o] = meanAbs(l.W[o*in:(o+1)*in]) * (1 + 0.1*float32(o))
		}
	}
	if l.Bit != nil {
		l.Bit[0] = float32(cfg.AdaptiveLinearInitBits)
	}
	return l
}

// TestLinearVariantGradients checks each linear variant's backward pass
// against finite differences of its straight-through surrogate.
//
// A quantized layer's true derivative is zero almost everywhere, so its
// gradient is defined by the straight-through estimator (STE). The STE is
// the exact gradient of a surrogate that keeps each quantizer's residual
// fixed at the evaluation point (PyTorch's x + (q(x) - x).detach()):
//   - input quantizers (absmax_token, per-tensor): x_s = x + (x_q0 - x0);
//   - bitlinear: W_s = s * (W + (Q0 - W0)), so dW = s dW_hat, ds = sum Q dW_hat;
//   - bitlinear_1p58 and adaptive ste: W_s = W + (W_hat0 - W0);
//   - adaptive lsq: W_s = W + (round(v0) - v0) * M0 / (2^(b0 + bp - bp0 - 1) - 1),
//     the LSQ surrogate whose bp-derivative is the spec's dscale/db.
//
// The test evaluates that surrogate in float64 and differentiates it
// numerically; the layer's forward output must equal the surrogate's value
// at the base point.
func TestLinearVariantGradients(t *testing.T) {
	type tc struct {
		name, variant, act, scaleInit, grad string
		quantIn                             bool
		bits                                int
		bitParam                            float32
	}
	cases := []tc{
		{"linear", VariantLinear, ActQuantAbsmaxToken, "absmean", "lsq", false, 8, 8},
		{"bitlinear/absmean/absmax8", VariantBitLinear, ActQuantAbsmaxToken, "absmean", "lsq", false, 8, 8},
		{"bitlinear/one/absmax4", VariantBitLinear, ActQuantAbsmaxToken, "one", "lsq", false, 4, 8},
		{"bitlinear/none", VariantBitLinear, ActQuantNone, "absmean", "lsq", false, 8, 8},
		{"1p58/absmax8", Variant1p58, ActQuantAbsmaxToken, "absmean", "lsq", false, 8, 8},
		{"1p58/clip4-inputs-unquantized", Variant1p58, ActQuantClip4, "absmean", "lsq", false, 4, 8},
		{"adaptive/lsq/b5/quant-input", VariantAdaptive, ActQuantAbsmaxToken, "absmean", "lsq", true, 8, 5.3},
		{"adaptive/lsq/b2", VariantAdaptive, ActQuantNone, "absmean", "lsq", false, 8, 2.2},
		{"adaptive/ste/b3", VariantAdaptive, ActQuantNone, "absmean", "ste", true, 8, 3.4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			cfg := DefaultConfig()
			cfg.ActQuant, cfg.BitlinearScaleInit, cfg.AdaptiveLinearGrad = c.act, c.scaleInit, c.grad
			cfg.AdaptiveLinearQuantizeInput, cfg.AdaptiveLinearInitBits = c.quantIn, float64(c.bitParam)
			const in, out, n = 11, 7, 5
			l := linearCase(t, c.variant, cfg, in, out, rng)
			x := randVec(rng, n*in, 1)
			R := randVec(rng, n*out, 1)
			y := make([]float32, n*out)
			l.prepare()
			l.forward(y, x, n, c.bits)
			dx := make([]float32, n*in)
			l.backward(dx, R, x, make([]float32, in*out), n)

			// Capture the base point of the surrogate.
			x0, W0 := append([]float32(nil), x...), append([]float32(nil), l.W...)
			xq0 := x0
			if l.inQuant != inputNone {
				xq0 = append([]float32(nil), l.xq...)
			}
			wHat0 := append([]float32(nil), l.wHat...)
			aux0 := append([]float32(nil), l.aux...)
			var bp0 float64
			var b0 int
			M0 := float64(maxAbs(W0))
			if l.Bit != nil {
				bp0, b0 = float64(l.Bit[0]), l.bits
			}
			ws := make([]float64, out*in)
			sur := func() float64 {
				for o := range out {
					for i := range in {
						k := o*in + i
						w, w0 := float64(l.W[k]), float64(W0[k])
						switch {
						case c.variant == VariantLinear:
							ws[k] = w
						case c.variant == VariantBitLinear:
							ws[k] = float64(l.S[o]) * (w - w0 + float64(aux0[k]))
						case c.variant == VariantAdaptive && c.grad == "lsq":
							q := math.Pow(2, float64(b0)+float64(l.Bit[0])-bp0-1) - 1
							ws[k] = w + float64(aux0[k])*M0/q
						default:
							ws[k] = w - w0 + float64(wHat0[k])
						}
					}
				}
				var L float64
				for r := range n {
					for o := range out {
						var acc float64
						for i := range in {
							xs := float64(x[r*in+i]) - float64(x0[r*in+i]) + float64(xq0[r*in+i])
							acc += xs * ws[o*in+i]
						}
						L += acc * float64(R[r*out+o])
					}
				}
				return L
			}
			if d := math.Abs(sur() - dot64(y, R)); d > 1e-4*math.Abs(sur())+1e-4 {
				t.Errorf("forward %g differs from the surrogate %g", dot64(y, R), sur())
			}
			all := func(k int) []int { return sampleIdx(rng, k, k) }
			fdCheck(t, "x", x, dx, sur, all(len(x)), 1e-3, 1e-3)
			fdCheck(t, "W", l.W, l.DW, sur, all(len(l.W)), 1e-3, 1e-3)
			if l.S != nil {
				fdCheck(t, "scale", l.S, l.DS, sur, all(len(l.S)), 1e-3, 1e-3)
			}
			if l.Bit != nil {
				fdCheck(t, "bit_param", l.Bit, l.DBit, sur, []int{0}, 1e-3, 1e-3)
				if c.grad == "lsq" && l.DBit[0] == 0 {
					t.Error("lsq gave bit_param no task gradient")
				}
			}
		})
	}
}

// TestAdaptiveBitParamGate checks that bit_param gets no gradient outside
// [min, max] and that the forward clamps and rounds half to even.
func TestAdaptiveBitParamGate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AdaptiveLinearQuantizeInput = false
	rng := rand.New(rand.NewPCG(1, 2))
	l := linearCase(t, VariantAdaptive, cfg, 6, 4, rng)
	for _, tc := range []struct {
		bp   float32
		bits int
		grad bool
	}{{9.5, 8, false}, {0.2, 1, false}, {4.5, 4, true}, {5.5, 6, true}, {1, 1, true}, {8, 8, true}} {
		l.Bit[0], l.DBit[0] = tc.bp, 0
		if got := l.Bits(); got != tc.bits {
			t.Errorf("bit_param %g: b = %d, want %d", tc.bp, got, tc.bits)
		}
		if got := l.BitUsage(); got != float64(tc.bits*24) {
			t.Errorf("bit_param %g: bit_usage %g", tc.bp, got)
		}
		x := randVec(rng, 6, 1)
		y := make([]float32, 4)
		l.prepare()
		l.forward(y, x, 1, 8)
		l.backward(nil, []float32{1, -1, 0.5, 2}, x, make([]float32, 24), 1)
		// b = 1 has qmax floored at 1: scale is constant in b, no gradient.
		want := tc.grad && tc.bits > 1
		if (l.DBit[0] != 0) != want {
			t.Errorf("bit_param %g: dbit = %g, want nonzero %v", tc.bp, l.DBit[0], want)
		}
	}
}

// TestWeightQuantizers checks the effective weights against the spec's
// formulas on a hand-made matrix.
func TestWeightQuantizers(t *testing.T) {
	W := []float32{0.5, -0.1, 0.0, -0.9, 0.2, 0.35}
	cfg := DefaultConfig()
	mk := func(variant string) *Linear {
		var lay layout
		addLinearTensors(&lay, "p", variant, 3, 2)
		p := make([]float32, lay.n)
		l := newLinear("p", variant, 3, 2, cfg)
		l.bind(&lay, p, make([]float32, lay.n))
		copy(l.W, W)
		return l
	}
	// bitlinear: mean|W| = 2.05/6, Delta = 0.7 * that = 0.23917.
	b := mk(VariantBitLinear)
	b.S[0], b.S[1] = 2, 3
	b.prepare()
	want := []float32{2, 0, 0, -3, 0, 3}
	for i := range want {
		if b.wHat[i] != want[i] {
			t.Errorf("bitlinear W_hat = %v, want %v", b.wHat, want)
			break
		}
	}
	// 1p58: gamma = 0.341667; W/gamma = 1.46, -0.29, 0, -2.63, 0.585, 1.02.
	p := mk(Variant1p58)
	p.prepare()
	g := meanAbs(W)
	want = []float32{g, 0, 0, -g, g, g}
	for i := range want {
		if p.wHat[i] != want[i] {
			t.Errorf("1p58 W_hat = %v, want %v", p.wHat, want)
			break
		}
	}
	// adaptive at b = 2: qmax 1, scale 0.9: round(W/0.9) = 1, 0, 0, -1, 0, 0.
	a := mk(VariantAdaptive)
	a.Bit[0] = 2
	a.prepare()
	want = []float32{0.9, 0, 0, -0.9, 0, 0}
	for i := range want {
		if math.Abs(float64(a.wHat[i]-want[i])) > 1e-7 {
			t.Errorf("adaptive W_hat = %v, want %v", a.wHat, want)
			break
		}
	}
	// At b = 3: qmax 3, scale 0.3, W/scale = 1.667, -0.333, 0, -3, 0.667, 1.1667.
	a.Bit[0] = 3
	a.prepare()
	want = []float32{0.6, 0, 0, -0.9, 0.3, 0.3}
	for i := range want {
		if math.Abs(float64(a.wHat[i]-want[i])) > 1e-6 {
			t.Errorf("adaptive b3 W_hat = %v, want %v", a.wHat, want)
			break
		}
	}
	// dscale/db = -(M/qmax^2) ln2 2^(b-1) = -(0.9/9) ln2 4.
	if d := float64(a.dsdb) + 0.1*math.Ln2*4; math.Abs(d) > 1e-6 {
		t.Errorf("dscale/db = %g", a.dsdb)
	}
}

// TestActivationQuantizers checks absmax_token, clip4 and the per-tensor
// quantizer against the spec's formulas.
func TestActivationQuantizers(t *testing.T) {
	x := []float32{0.5, -1.0, 0.25, 0.126}
	out := make([]float32, 4)
	absmaxTokenForward(out, x, 1, 4, 8)
	// s = 127: round(63.5)=64 (half to even), -127, round(31.75)=32, round(16.002)=16.
	want := []float32{64.0 / 127, -1, 32.0 / 127, 16.0 / 127}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("absmax A8 = %v, want %v", out, want)
			break
		}
	}
	absmaxTokenForward(out, x, 1, 4, 4)
	// s = 7: 3.5->4, -7, 1.75->2, 0.882->1.
	want = []float32{4.0 / 7, -1, 2.0 / 7, 1.0 / 7}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("absmax A4 = %v, want %v", out, want)
			break
		}
	}
	// clip4 at A4: Delta = 8/15; 15 levels, max +-3.7333.
	y := []float32{10, -10, 0.27, -0.26, 1.0}
	clip4Forward(y, y, 4)
	d := float32(8.0 / 15)
	want = []float32{7 * d, -7 * d, 1 * d, 0, 2 * d}
	for i := range want {
		if math.Abs(float64(y[i]-want[i])) > 1e-6 {
			t.Errorf("clip4 A4 = %v, want %v", y, want)
			break
		}
	}
	if math.Abs(float64(7*d)-3.7333) > 1e-4 {
		t.Errorf("clip4 max level %g", 7*d)
	}
	z := []float32{10, -10, 0.3}
	clip4Forward(z, z, 8)
	if z[0] != 10 || z[1] != -10 || z[2] != 0.3 {
		t.Errorf("clip4 A8 is not the identity: %v", z)
	}
	// Per tensor at 8 bits: scale = 2/127.
	p := []float32{2, -1, 0.01}
	scale, qmax := symQuantTensor(out[:3], p, 8)
	if qmax != 127 || scale != 2.0/127 {
		t.Errorf("scale %g qmax %g", scale, qmax)
	}
	if out[0] != 2 || math.Abs(float64(out[1])+float64(64*scale)) > 1e-7 || math.Abs(float64(out[2]-scale)) > 1e-7 {
		t.Errorf("per-tensor = %v", out[:3])
	}
	if s, _ := symQuantTensor(out[:2], []float32{0, 0}, 4); s != 1 || out[0] != 0 {
		t.Errorf("all-zero tensor: scale %g", s)
	}
}

// TestAdaptiveInputQuantization checks that adaptive_bit_linear quantizes its
// input per tensor at adaptive_linear_activation_bits (not at the model's
// activation bits) exactly when adaptive_linear_quantize_input is set: the
// output equals a float64 reference product with the fake-quantized input,
// which differs measurably from the product with the raw input. The
// inference projection built from the layer must do the same.
func TestAdaptiveInputQuantization(t *testing.T) {
	const in, out, n, modelBits = 9, 5, 4, 3
	for _, c := range []struct {
		quant bool
		bits  int
	}{{true, 8}, {true, 4}, {true, 2}, {false, 8}, {false, 4}} {
		cfg := DefaultConfig()
		cfg.AdaptiveLinearQuantizeInput, cfg.AdaptiveLinearActivationBits = c.quant, c.bits
		rng := rand.New(rand.NewPCG(31, uint64(c.bits)))
		l := linearCase(t, VariantAdaptive, cfg, in, out, rng)
		x := randVec(rng, n*in, 1)
		l.prepare()
		y := make([]float32, n*out)
		l.forward(y, x, n, modelBits)
		yi := make([]float32, n*out)
		l.proj(false).Forward(yi, x, n, modelBits)

		// Reference: xq = clamp(round(x/scale), -qmax, qmax) * scale with
		// qmax = 2^(bits-1) - 1 and scale = max|x| / qmax.
		qmax := math.Pow(2, float64(c.bits-1)) - 1
		var M float64
		for _, v := range x {
			M = math.Max(M, math.Abs(float64(v)))
		}
		scale := M / qmax
		xq := make([]float64, len(x))
		for i, v := range x {
			xq[i] = math.Max(-qmax, math.Min(qmax, math.RoundToEven(float64(v)/scale))) * scale
		}
		yq, yraw := make([]float64, n*out), make([]float64, n*out)
		var big, sep float64
		for r := range n {
			for o := range out {
				for i := range in {
					w := float64(l.wHat[o*in+i])
					yq[r*out+o] += xq[r*in+i] * w
					yraw[r*out+o] += float64(x[r*in+i]) * w
				}
				big = math.Max(big, math.Abs(yraw[r*out+o]))
				sep = math.Max(sep, math.Abs(yq[r*out+o]-yraw[r*out+o]))
			}
		}
		if sep < 1e-3*big {
			t.Fatalf("bits %d: quantized and raw inputs give outputs within %g of %g; the case cannot tell them apart", c.bits, sep, big)
		}
		want := yraw
		if c.quant {
			want = yq
		}
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-5*big || math.Abs(float64(yi[i])-want[i]) > 1e-5*big {
				t.Errorf("quantize_input %v, bits %d: y[%d] = %g (inference %g), want %g (raw input %g, quantized %g)",
					c.quant, c.bits, i, y[i], yi[i], want[i], yraw[i], yq[i])
				break
			}
		}
	}
}

// TestBitlinearThresholdIsStrict: Q = sign(W) [|W| > Delta] with a strict
// comparison, so weights exactly +-Delta are 0. The weight w = Delta is a
// fixed point of w = 0.7 mean|W| over a matrix containing +-w.
func TestBitlinearThresholdIsStrict(t *testing.T) {
	W := []float32{0, 0, 0.9, -0.7, 0.2, 1.1, 0.05, -0.5}
	fixedPoint(0.3, func(w float32) float32 {
		W[0], W[1] = w, -w
		return 0.7 * meanAbs(W)
	})
	delta := float32(0.7) * meanAbs(W)
	if W[0] != delta || W[0] != bitlinearDelta(W) {
		t.Fatalf("w = %g is not Delta = %g", W[0], delta)
	}
	l := quantLinear(VariantBitLinear, DefaultConfig(), len(W), 1, W)
	l.S[0] = 2
	l.prepare()
	wantQ := []float32{0, 0, 1, -1, 0, 1, 0, -1}
	codes := TernaryCodes(VariantBitLinear, W)
	for i, q := range wantQ {
		if l.aux[i] != q || l.wHat[i] != 2*q || float32(codes[i]) != q {
			t.Errorf("W[%d] = %g, Delta %g: Q %g, W_hat %g, code %d; want Q %g", i, W[i], delta, l.aux[i], l.wHat[i], codes[i], q)
		}
	}
}

// TestBitlinearScaleInit builds models with bitlinear_scale_init absmean and
// one: every bitlinear projection's scale is mean_i |W_oi| per row, or 1.
func TestBitlinearScaleInit(t *testing.T) {
	for _, init := range []string{"absmean", "one"} {
		cfg := tinyConfig(VariantBitLinear)
		cfg.LinearVariantV = Variant1p58 // a site without scales
		cfg.BitlinearScaleInit = init
		m, err := New(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		scales := 0
		for _, tn := range m.Tensors() {
			name, ok := strings.CutSuffix(tn.Name, ".scale")
			if !ok {
				continue
			}
			scales++
			S, W := m.Tensor(tn.Name), m.Tensor(name+".weight")
			in := len(W) / len(S)
			for o, s := range S {
				want := 1.0
				if init == "absmean" {
					var a float64
					for _, w := range W[o*in : (o+1)*in] {
						a += math.Abs(float64(w))
					}
					want = a / float64(in)
				}
				if math.Abs(float64(s)-want) > 1e-7*want {
					t.Errorf("%s: %s[%d] = %g, want %g", init, tn.Name, o, s, want)
					break
				}
			}
		}
		if want := cfg.NLayer * (len(Sites) - 1); scales != want {
			t.Errorf("%s: %d scale tensors, want %d", init, scales, want)
		}
	}
}
