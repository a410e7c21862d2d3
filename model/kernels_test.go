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
// enabled. clip4's backward is the straight-through identity (Backward has no
// clip4 code at all); at A8 its forward is the identity too, so the model
// gradient must match finite differences of the model itself. Its A4 levels
// are checked in TestActivationQuantizers.
func TestGradientWithClip4(t *testing.T) {
	cfg := tinyConfig(VariantLinear)
	cfg.ActQuant = ActQuantClip4
	cfg.LinearVariantAttnProj = Variant1p58 // enables clip4 behind o and the embedding
	m, err := New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !m.clip4Embed || !m.blocks[0].clip4O || m.blocks[0].clip4Down {
		t.Fatal("clip4 sites not set as the spec says")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range m.Params {
		m.Params[i] *= 3
	}
	ids := randIDs(rng, 6, cfg.VocabSize)
	R := randVec(rng, 6*cfg.VocabSize, 1)
	f := func() float64 { l, _ := m.Forward(ids, nil, 1, 6); return dot64(l, R) }
	f()
	m.ZeroGrad()
	m.Backward(R)
	grad := append([]float32(nil), m.Grads...)
	// The ternary o projection is piecewise constant in its weight; check the
	// other tensors, whose functions are smooth through clip4 at A8.
	for _, tn := range m.Tensors() {
		if strings.Contains(tn.Name, "o_proj") {
			continue
		}
		idx := sampleIdx(rng, tn.Size(), 6)
		for k := range idx {
			idx[k] += tn.Offset
		}
		fdCheck(t, tn.Name, m.Params, grad, f, idx, 1e-3, 1e-2)
	}
}
