package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestMatmul compares the seam with a float64 reference for both forms,
// overwrite and accumulate, with leading dimensions wider than the rows.
func TestMatmul(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {70, 130, 65}, {129, 64, 200}} {
		M, N, K := sz[0], sz[1], sz[2]
		for _, transA := range []bool{false, true} {
			for _, acc := range []bool{false, true} {
				lda, ldb, ldc := K+3, N+1, N+2
				ar := M
				if transA {
					lda, ar = M+2, K
				}
				a := randVec(rng, ar*lda, 1)
				b := randVec(rng, K*ldb, 1)
				c := randVec(rng, M*ldc, 1)
				c0 := append([]float32(nil), c...)
				matmul(c, ldc, a, lda, transA, b, ldb, M, N, K, acc)
				for i := range M {
					for j := range N {
						var want float64
						if acc {
							want = float64(c0[i*ldc+j])
						}
						for k := range K {
							var av float32
							if transA {
								av = a[k*lda+i]
							} else {
								av = a[i*lda+k]
							}
							want += float64(av) * float64(b[k*ldb+j])
						}
						if math.Abs(float64(c[i*ldc+j])-want) > 1e-4*math.Sqrt(float64(K)) {
							t.Fatalf("%v transA %v acc %v: c[%d,%d] = %g, want %g", sz, transA, acc, i, j, c[i*ldc+j], want)
						}
					}
					for j := N; j < ldc; j++ { // padding columns untouched
						if c[i*ldc+j] != c0[i*ldc+j] {
							t.Fatalf("%v: wrote outside the matrix at [%d,%d]", sz, i, j)
						}
					}
				}
			}
		}
	}
}

// TestAttentionGradient checks the attention kernel alone against finite
// differences, with a key padding mask that blocks every key of some
// queries (their output must be 0 and pass no gradient).
func TestAttentionGradient(t *testing.T) {
	const B, T, NH, HD = 2, 7, 2, 3
	I := NH * HD
	rng := rand.New(rand.NewPCG(5, 5))
	q, k, v := randVec(rng, B*T*I, 1), randVec(rng, B*T*I, 1), randVec(rng, B*T*I, 1)
	valid := make([]bool, B*T)
	for i := range valid {
		valid[i] = true
	}
	valid[T+0], valid[T+1], valid[T+4] = false, false, false // left padding in row 1 and a hole
	R := randVec(rng, B*T*I, 1)
	out, att, kT := make([]float32, B*T*I), make([]float32, B*NH*T*T), make([]float32, B*NH*HD*T)
	f := func() float64 {
		attentionForward(out, att, kT, q, k, v, valid, B, T, NH, HD)
		return dot64(out, R)
	}
	f()
	for _, r := range []int{T, T + 1} { // queries that see no key
		for j := range I {
			if out[r*I+j] != 0 {
				t.Fatalf("fully masked query %d has output %g", r, out[r*I+j])
			}
		}
	}
	for h := range NH { // probabilities of a visible query sum to 1, zeros elsewhere
		row := att[((1*NH+h)*T+5)*T:][:T]
		var s float32
		for j, p := range row {
			s += p
			if (j > 5 || !valid[T+j]) && p != 0 {
				t.Errorf("masked key %d has probability %g", j, p)
			}
		}
		if math.Abs(float64(s)-1) > 1e-6 {
			t.Errorf("probabilities sum to %g", s)
		}
	}
	dq, dk, dv := make([]float32, B*T*I), make([]float32, B*T*I), make([]float32, B*T*I)
	attentionBackward(dq, dk, dv, make([]float32, B*NH*T*T), make([]float32, B*NH*HD*T), R, q, k, v, att, B, T, NH, HD)
	all := sampleIdx(rng, B*T*I, B*T*I)
	fdCheck(t, "q", q, dq, f, all, 1e-3, 1e-3)
	fdCheck(t, "k", k, dk, f, all, 1e-3, 1e-3)
	fdCheck(t, "v", v, dv, f, all, 1e-3, 1e-3)
}

// TestLayerGradients checks RMSNorm, SwiGLU and RoPE kernels alone against
// finite differences.
func TestLayerGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	const N, C = 5, 8
	x, g, R := randVec(rng, N*C, 1), randVec(rng, C, 1), randVec(rng, N*C, 1)
	copy(x[C:2*C], make([]float32, C)) // an all-zero row: r = 0 must not divide by zero
	out, rms := make([]float32, N*C), make([]float32, N)
	f := func() float64 { rmsnormForward(out, rms, x, g, N, C); return dot64(out, R) }
	f()
	dx, dg := make([]float32, N*C), make([]float32, C)
	rmsnormBackward(dx, dg, R, x, g, rms, N, C)
	idx := sampleIdx(rng, N*C, N*C)
	var nonzero []int
	for _, i := range idx {
		if i/C != 1 { // the derivative of |x| at 0 is undefined
			nonzero = append(nonzero, i)
		}
	}
	fdCheck(t, "rmsnorm x", x, dx, f, nonzero, 1e-3, 2e-3)
	fdCheck(t, "rmsnorm g", g, dg, f, sampleIdx(rng, C, C), 1e-3, 1e-3)

	a, b := randVec(rng, N*C, 2), randVec(rng, N*C, 1)
	h := make([]float32, N*C)
	fs := func() float64 { swigluForward(h, a, b, N*C); return dot64(h, R) }
	da, db := make([]float32, N*C), make([]float32, N*C)
	swigluBackward(da, db, R, a, b, N*C)
	fdCheck(t, "swiglu gate", a, da, fs, idx, 1e-3, 1e-3)
	fdCheck(t, "swiglu up", b, db, fs, idx, 1e-3, 1e-3)

	const T, NH, HD = 4, 2, 4
	cos, sin := ropeTables(8, HD)
	y := randVec(rng, T*NH*HD, 1)
	Ry := randVec(rng, T*NH*HD, 1)
	fr := func() float64 {
		tmp := append([]float32(nil), y...)
		ropeForward(tmp, cos, sin, T, T, 2, NH, HD)
		return dot64(tmp, Ry)
	}
	dy := append([]float32(nil), Ry...)
	ropeBackward(dy, cos, sin, T, T, 2, NH, HD)
	fdCheck(t, "rope", y, dy, fr, sampleIdx(rng, len(y), len(y)), 1e-3, 1e-3)
	// Position 0 is the identity; dims i and i+HD/2 rotate together.
	z := []float32{1, 2, 3, 4}
	ropeForward(z, cos, sin, 1, 1, 0, 1, HD)
	if z[0] != 1 || z[1] != 2 || z[2] != 3 || z[3] != 4 {
		t.Errorf("rope at position 0 = %v", z)
	}
	z = []float32{1, 0, 0, 0}
	ropeForward(z, cos, sin, 1, 1, 1, 1, HD)
	if math.Abs(float64(z[0])-math.Cos(1)) > 1e-6 || math.Abs(float64(z[2])-math.Sin(1)) > 1e-6 || z[1] != 0 || z[3] != 0 {
		t.Errorf("rope pairs dims 0 and 2: %v", z)
	}
}

// TestRMSNormEpsilonOutside checks y = x / (sqrt(mean(x^2)) + 1e-6) * g
// (epsilon outside the root, spec §1) against a float64 reference, and the
// backward by finite differences, at scales down to x ~ 1e-6, where
// sqrt(mean(x^2) + 1e-6) would give an output ~500 times smaller.
func TestRMSNormEpsilonOutside(t *testing.T) {
	const N, C = 3, 8
	for _, scale := range []float64{1, 1e-3, 1e-6, 1e-7} {
		rng := rand.New(rand.NewPCG(10, 10))
		x, g, R := randVec(rng, N*C, scale), randVec(rng, C, 1), randVec(rng, N*C, 1)
		out, rms := make([]float32, N*C), make([]float32, N)
		rmsnormForward(out, rms, x, g, N, C)
	rows:
		for i := range N {
			var ss float64
			for _, v := range x[i*C : (i+1)*C] {
				ss += float64(v) * float64(v)
			}
			d := math.Sqrt(ss/C) + 1e-6
			for j := range C {
				want := float64(x[i*C+j]) / d * float64(g[j])
				if got := float64(out[i*C+j]); math.Abs(got-want) > 1e-6*(math.Abs(want)+1e-3) {
					t.Errorf("scale %g: y[%d,%d] = %g, want %g", scale, i, j, got, want)
					break rows
				}
			}
		}
		f := func() float64 { rmsnormForward(out, rms, x, g, N, C); return dot64(out, R) }
		dx, dg := make([]float32, N*C), make([]float32, C)
		rmsnormBackward(dx, dg, R, x, g, rms, N, C)
		fdCheck(t, fmt.Sprintf("scale %g: x", scale), x, dx, f, sampleIdx(rng, N*C, N*C), 1e-3*scale, 2e-3)
		fdCheck(t, fmt.Sprintf("scale %g: g", scale), g, dg, f, sampleIdx(rng, C, C), 1e-3, 1e-3)
	}
}

// TestEmbeddingGradient checks the encoder backward with repeated ids.
func TestEmbeddingGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const V, C, N = 5, 3, 6
	wte, R := randVec(rng, V*C, 1), randVec(rng, N*C, 1)
	ids := []int32{1, 3, 1, 0, 4, 1}
	out := make([]float32, N*C)
	f := func() float64 { encoderForward(out, wte, ids, N, C); return dot64(out, R) }
	dw := make([]float32, V*C)
	encoderBackward(dw, R, ids, N, C)
	fdCheck(t, "wte", wte, dw, f, sampleIdx(rng, V*C, V*C), 1e-3, 1e-3)
}

// TestGradientWithClip4 runs the full-model check with the clip4 sites
// enabled (after the embedding, o and down), at A8 and A4. clip4's backward
// is the straight-through identity (Backward has no clip4 code at all).
// At A8 its forward is the identity too, so the model gradient must match
// finite differences of the model itself. At A4 the model is piecewise
// constant through clip4, and the STE gradient is the exact gradient of the
// surrogate whose clip4 sites add their base-point residual q(x0) - x0 to
// x (clip4Surrogate); some embedding values exceed +-4, so the clamp's
// region is covered as well.
func TestGradientWithClip4(t *testing.T) {
	for _, bits := range []int{8, 4} {
		t.Run(fmt.Sprintf("A%d", bits), func(t *testing.T) {
			m := clip4Model(t)
			m.SetActBits(bits)
			rng := rand.New(rand.NewPCG(8, 8))
			const B, T = 1, 6
			ids := randIDs(rng, B*T, m.cfg.VocabSize)
			R := randVec(rng, B*T*m.cfg.VocabSize, 1)
			logits, err := m.Forward(ids, nil, B, T)
			if err != nil {
				t.Fatal(err)
			}
			logits = append([]float32(nil), logits...)
			m.ZeroGrad()
			m.Backward(R)
			grad := append([]float32(nil), m.Grads...)
			sur := &clip4Surrogate{m: m, ids: ids, B: B, T: T}
			y := sur.logits()
			if bits == 8 {
				for i := range y {
					if math.Float32bits(y[i]) != math.Float32bits(logits[i]) {
						t.Fatalf("surrogate logit %d = %g, Forward %g: the surrogate does not mirror Forward", i, y[i], logits[i])
					}
				}
			} else if d, sc := maxAbsDiff(y, logits), maxAbs(logits); d > 1e-5*float64(sc) {
				t.Fatalf("surrogate logits differ from Forward by %g of %g", d, sc)
			}
			var moved int
			for _, r := range sur.r {
				for _, v := range r {
					if v != 0 {
						moved++
					}
				}
			}
			if (bits < 8) != (moved > 0) {
				t.Fatalf("A%d: clip4 moved %d values", bits, moved)
			}
			f := func() float64 { return dot64(sur.logits(), R) }
			// The ternary o and down projections are piecewise constant in
			// their own weights; check the other tensors.
			for _, tn := range m.Tensors() {
				if strings.Contains(tn.Name, "o_proj") || strings.Contains(tn.Name, "down_proj") {
					continue
				}
				idx := sampleIdx(rng, tn.Size(), 6)
				if tn.Name == "embed_tokens.weight" {
					// Every entry of the rows used, clamped ones included.
					idx = idx[:0]
					for _, id := range ids {
						for j := range m.cfg.NEmbd {
							idx = append(idx, int(id)*m.cfg.NEmbd+j)
						}
					}
				}
				for k := range idx {
					idx[k] += tn.Offset
				}
				// The surrogate is smooth, so h is chosen for float32
				// rounding noise, which at h 1e-3 is ~1% of the difference
				// quotient with these scaled-up weights.
				fdCheck(t, tn.Name, m.Params, grad, f, idx, 3e-3, 1e-2)
			}
		})
	}
}

// clip4Model returns a tiny model with every clip4 site enabled (ternary o
// and down), with weights scaled so that the A4 quantizer (step 8/15)
// changes the activations and some embedding values exceed +-4.
func clip4Model(t *testing.T) *Model {
	t.Helper()
	cfg := tinyConfig(VariantLinear)
	cfg.ActQuant = ActQuantClip4
	cfg.LinearVariantAttnProj, cfg.LinearVariantMLPDown = Variant1p58, Variant1p58
	m, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !m.clip4Embed || !m.blocks[0].clip4O || !m.blocks[0].clip4Down || m.blocks[0].q.inQuant != inputNone {
		t.Fatal("clip4 sites not set as the spec says")
	}
	for i := range m.Params {
		m.Params[i] *= 3
	}
	for i := range m.wte {
		m.wte[i] *= 25 // std 1.5
	}
	for i := 0; i < len(m.wte); i += 7 {
		m.wte[i] = 4.5 * float32(1-2*(i%2)) // beyond the clamp
	}
	for _, b := range m.blocks {
		for _, w := range [][]float32{b.o.W, b.down.W} {
			for i := range w {
				w[i] *= 30
			}
		}
	}
	return m
}

// clip4Surrogate evaluates m's forward with each clip4 site's output
// replaced by x + r, where r = q(x0) - x0 is the site's quantization residual
// at the first evaluation: the straight-through surrogate, smooth in x,
// whose exact gradient is the STE gradient at the base point. It mirrors
// Model.Forward (without a padding mask); at A8, where r = 0, it gives
// Forward's bits.
type clip4Surrogate struct {
	m    *Model
	ids  []int32
	B, T int
	r    [][]float32 // per clip4 site, in forward order
}

func (s *clip4Surrogate) logits() []float32 {
	m, cfg := s.m, s.m.cfg
	B, T := s.B, s.T
	N, C, V, I, H, NH, HD := B*T, cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.MLPHidden, cfg.NHead, cfg.HeadDim
	bits := m.actBits
	record := s.r == nil
	site := 0
	clip := func(x []float32) {
		if record {
			q := make([]float32, len(x))
			clip4Forward(q, x, bits)
			r := make([]float32, len(x))
			for i := range x {
				r[i] = q[i] - x[i]
			}
			s.r = append(s.r, r)
		}
		for i, v := range s.r[site] {
			x[i] += v
		}
		site++
	}
	f := func(n int) []float32 { return make([]float32, n) }
	x, ln, rms, res2 := f(N*C), f(N*C), f(N), f(N*C)
	q, k, v, atty, att, kT := f(N*I), f(N*I), f(N*I), f(N*I), f(B*NH*T*T), f(B*NH*HD*T)
	ao, g, u, h, mo := f(N*C), f(N*H), f(N*H), f(N*H), f(N*C)
	encoderForward(x, m.wte, s.ids, N, C)
	if m.clip4Embed {
		clip(x)
	}
	for l := range m.blocks {
		b := &m.blocks[l]
		for _, lin := range b.linears() {
			lin.prepare()
		}
		rmsnormForward(ln, rms, x, b.ln1, N, C)
		b.q.forward(q, ln, N, bits)
		b.k.forward(k, ln, N, bits)
		b.v.forward(v, ln, N, bits)
		if cfg.RoPE {
			ropeForward(q, m.cos, m.sin, N, T, 0, NH, HD)
			ropeForward(k, m.cos, m.sin, N, T, 0, NH, HD)
		}
		attentionForward(atty, att, kT, q, k, v, nil, B, T, NH, HD)
		b.o.forward(ao, atty, N, bits)
		if b.clip4O {
			clip(ao)
		}
		residualForward(res2, x, ao)
		rmsnormForward(ln, rms, res2, b.ln2, N, C)
		b.gate.forward(g, ln, N, bits)
		b.up.forward(u, ln, N, bits)
		swigluForward(h, g, u, len(h))
		b.down.forward(mo, h, N, bits)
		if b.clip4Down {
			clip(mo)
		}
		residualForward(x, res2, mo)
	}
	rmsnormForward(ln, rms, x, m.lnf, N, C)
	headT, logits := f(C*V), f(N*V)
	transpose(headT, V, m.head, C, V, C)
	matmul(logits, V, ln, C, false, headT, V, N, V, C, false)
	return logits
}

// TestClip4ForwardA4 checks clip4 at A4 against a float64 reference: alone
// (15 levels k * 8/15, |k| <= 7, max +-3.7333, values beyond +-4 clamped)
// and at each of the model's sites (after the embedding, o and down).
func TestClip4ForwardA4(t *testing.T) {
	// x/Delta is taken in float32, as the model computes it, so exact
	// float32 ties (-2.4/Delta = -4.5) round as the model sees them.
	ref := func(x float32) float64 {
		d := float32(8.0 / 15)
		v := min(max(x, -4), 4)
		return math.Max(-7, math.Min(7, math.RoundToEven(float64(v/d)))) * float64(d)
	}
	check := func(name string, got, pre []float32) {
		t.Helper()
		for i := range got {
			if math.Abs(float64(got[i])-ref(pre[i])) > 1e-6 {
				t.Errorf("%s[%d]: clip4(%g) = %g, want %g", name, i, pre[i], got[i], ref(pre[i]))
				return
			}
		}
	}
	ramp := make([]float32, 1001)
	for i := range ramp {
		ramp[i] = -5 + float32(i)/100
	}
	out := make([]float32, len(ramp))
	clip4Forward(out, ramp, 4)
	check("ramp", out, ramp)
	levels := map[float32]bool{}
	for _, v := range out {
		levels[v] = true
	}
	if lo, hi := out[0], out[len(out)-1]; len(levels) != 15 || math.Abs(float64(hi)-3.7333) > 1e-4 || lo != -hi {
		t.Errorf("%d levels from %g to %g, want 15 from -3.7333 to 3.7333", len(levels), lo, hi)
	}

	m := clip4Model(t)
	m.SetActBits(4)
	const B, T = 2, 5
	ids := randIDs(rand.New(rand.NewPCG(9, 9)), B*T, m.cfg.VocabSize)
	if _, err := m.Forward(ids, nil, B, T); err != nil {
		t.Fatal(err)
	}
	N, C := B*T, m.cfg.NEmbd
	emb := make([]float32, N*C)
	encoderForward(emb, m.wte, ids, N, C)
	check("embedding", m.acts.res[0], emb)
	var clamped bool
	for _, v := range emb {
		clamped = clamped || math.Abs(float64(v)) > 4
	}
	if !clamped {
		t.Error("no embedding value beyond +-4")
	}
	for l, b := range m.blocks {
		la := &m.acts.layers[l]
		pre := make([]float32, N*C)
		b.o.forward(pre, la.atty, N, 4)
		check(fmt.Sprintf("block %d o", l), la.ao, pre)
		b.down.forward(pre, la.h, N, 4)
		check(fmt.Sprintf("block %d down", l), la.mo, pre)
	}
}
