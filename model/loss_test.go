package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKDReferenceVector is the spec's reference: teacher ids [0, 1] with
// logprobs [-0.298587, -2.5], other -1.736993, tau 1.3, student logits
// [2, 0.5, 0, -1] -> q = [0.660232, 0.121413, 0.218356], KL = 0.0188677.
func TestKDReferenceVector(t *testing.T) {
	z := []float32{2.0, 0.5, 0.0, -1.0}
	ids := []int32{0, 1, -1} // a padded third slot takes no part
	lps := []float32{-0.298587, -2.5, 7}
	p := make([]float64, 4)
	mark := make([]bool, 4)
	kl, err := kdRow(nil, p, mark, z, ids, lps, -1.736993, 1.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(kl-0.0188677) > 5e-7 {
		t.Errorf("KL = %.7f, want 0.0188677", kl)
	}
	// The teacher buckets themselves.
	a := []float64{-0.298587 / 1.3, -2.5 / 1.3, -1.736993 / 1.3}
	var s float64
	for _, v := range a {
		s += math.Exp(v)
	}
	for i, want := range []float64{0.660232, 0.121413, 0.218356} {
		if q := math.Exp(a[i]) / s; math.Abs(q-want) > 5e-7 {
			t.Errorf("q[%d] = %.6f, want %.6f", i, q, want)
		}
	}
	// Through TaskLoss as a one-position batch, with and without tau^2.
	b := &Batch{B: 1, T: 1, Inputs: []int32{0}, Targets: []int32{0}, K: 3,
		TopKIDs: ids, TopKLogprobs: lps, OtherLogprob: []float32{-1.736993}}
	for _, sq := range []bool{false, true} {
		lc := DefaultLossConfig()
		lc.Fn, lc.KDTauSquared = LossKD, sq
		res, err := TaskLoss(nil, z, b, 4, lc)
		if err != nil {
			t.Fatal(err)
		}
		want := 0.0188677
		if sq {
			want *= 1.3 * 1.3
		}
		if math.Abs(res.KL-want) > 1e-6 {
			t.Errorf("tau^2 %v: kl_loss %.7f, want %.7f", sq, res.KL, want)
		}
		ce := math.Log(math.Exp(2)+math.Exp(0.5)+1+math.Exp(-1)) - 2
		if math.Abs(res.Loss-(res.KL+0.25*ce)) > 1e-6 {
			t.Errorf("kd loss %.7f, want KL + 0.25 CE = %.7f", res.Loss, res.KL+0.25*ce)
		}
	}
}

// TestKDOneHotAndErrors: a one-hot teacher (other = -Inf) has q_other = 0, so
// 0 log 0 = 0 and KL is plain CE at temperature tau; repeated and
// out-of-range teacher ids are errors.
func TestKDOneHotAndErrors(t *testing.T) {
	z := []float32{1, -0.5, 0.25}
	p, mark := make([]float64, 3), make([]bool, 3)
	kl, err := kdRow(nil, p, mark, z, []int32{2, -1}, []float32{0, 0}, math.Inf(-1), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) / 2)
	}
	if want := math.Log(s) - 0.25/2; math.Abs(kl-want) > 1e-9 || math.IsNaN(kl) {
		t.Errorf("one-hot KL = %g, want %g", kl, want)
	}
	if _, err := kdRow(nil, p, mark, z, []int32{1, 1}, []float32{-1, -1}, -1, 1, 1); err == nil {
		t.Error("repeated teacher id accepted")
	}
	if _, err := kdRow(nil, p, mark, z, []int32{3}, []float32{-1}, -1, 1, 1); err == nil {
		t.Error("out-of-range teacher id accepted")
	}
}

// TestKDStableComplement checks KL and its gradient where the student puts
// almost all its mass on the teacher's ids (or on the complement), against
// a float64 reference that takes log p_other = LSE_other(z/tau) - LSE(z/tau)
// directly. There 1 - sum p_k is 0 or loses most of its digits, so a
// complement computed as log(1 - sum p_k) gives -Inf (KL = +Inf) or a wrong
// value.
func TestKDStableComplement(t *testing.T) {
	const tau = 1.3
	lse := func(a []float64) float64 {
		m := math.Inf(-1)
		for _, v := range a {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range a {
			s += math.Exp(v - m)
		}
		return m + math.Log(s)
	}
	for _, c := range []struct {
		name   string
		z      []float32
		ids    []int32 // -1 = padded slot
		lps    []float32
		lother float64
	}{
		{"student-on-id/teacher-on-other", []float32{60, 0, 0, 0}, []int32{0}, []float32{-5}, math.Log(1 - math.Exp(-5))},
		{"student-on-ids/padded", []float32{0, 50, 0, 55, -3}, []int32{3, -1, 1}, []float32{-2, 0, -3}, -0.2},
		{"student-off-other", []float32{-60, 0, 0, 0}, []int32{1, 2, 3}, []float32{-2, -2.5, -3}, -0.5},
		{"precision-loss", []float32{25, 0, 0, 0}, []int32{0}, []float32{-3}, math.Log(1 - math.Exp(-3))},
		{"student-on-other", []float32{0, -40, 30, 30}, []int32{0, 1}, []float32{-0.1, -3}, -4},
	} {
		t.Run(c.name, func(t *testing.T) {
			V := len(c.z)
			inIDs := make([]bool, V)
			var ta []float64 // teacher buckets / tau
			for k, id := range c.ids {
				if id >= 0 {
					inIDs[id] = true
					ta = append(ta, float64(c.lps[k])/tau)
				}
			}
			ta = append(ta, c.lother/tau)
			a, ao := make([]float64, V), []float64{}
			for j, v := range c.z {
				a[j] = float64(v) / tau
				if !inIDs[j] {
					ao = append(ao, a[j])
				}
			}
			L, LO, LT := lse(a), lse(ao), lse(ta)
			var want float64
			for kk, id := range c.ids {
				if id >= 0 {
					lq := float64(c.lps[kk])/tau - LT
					want += math.Exp(lq) * (lq - (a[id] - L))
				}
			}
			lqo := c.lother/tau - LT
			want += math.Exp(lqo) * (lqo - (LO - L))
			dwant := make([]float64, V)
			for j := range V {
				dwant[j] = math.Exp(a[j]-L) / tau
				if !inIDs[j] {
					dwant[j] -= math.Exp(lqo) * math.Exp(a[j]-LO) / tau
				}
			}
			for kk, id := range c.ids {
				if id >= 0 {
					dwant[id] -= math.Exp(float64(c.lps[kk])/tau-LT) / tau
				}
			}

			dz := make([]float32, V)
			kl, err := kdRow(dz, make([]float64, V), make([]bool, V), c.z, c.ids, c.lps, c.lother, tau, 1)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(kl) || math.IsInf(kl, 0) || math.Abs(kl-want) > 1e-12*math.Abs(want) {
				t.Errorf("KL = %.17g, want %.17g", kl, want)
			}
			var big float64
			for _, v := range dwant {
				big = math.Max(big, math.Abs(v))
			}
			for j := range V {
				if d := float64(dz[j]); math.IsNaN(d) || math.Abs(d-dwant[j]) > 1e-6*big {
					t.Errorf("dz[%d] = %g, want %g", j, dz[j], dwant[j])
				}
			}
		})
	}
}

// lossBatch is a batch with padding, prompt positions, structural targets,
// padded K slots and a one-hot position.
func lossBatch(rng *rand.Rand, B, T, V, K int) *Batch {
	n := B * T
	b := &Batch{B: B, T: T, Inputs: randIDs(rng, n, V), Targets: randIDs(rng, n, V),
		LossMask: make([]bool, n), Struct: make([]bool, n), K: K,
		TopKIDs: make([]int32, n*K), TopKLogprobs: make([]float32, n*K), OtherLogprob: make([]float32, n)}
	for i := range n {
		b.LossMask[i] = i%T >= 1 // position 0 is prompt
		b.Struct[i] = i%3 == 0
		if i%T == T-1 {
			b.Targets[i] = -1 // padding target
		}
		perm := rng.Perm(V)
		var mass float64
		for k := range K {
			b.TopKIDs[i*K+k] = int32(perm[k])
			lp := math.Log(rng.Float64()*0.3 + 0.01)
			b.TopKLogprobs[i*K+k] = float32(lp)
			mass += math.Exp(lp)
		}
		if i%4 == 1 {
			b.TopKIDs[i*K+K-1] = -1 // padded slot
		}
		b.OtherLogprob[i] = float32(math.Log(math.Max(1-mass, 0.05)))
		if i%5 == 2 { // one-hot teacher
			b.TopKIDs[i*K] = b.Targets[max(i, 0)]
			if b.TopKIDs[i*K] < 0 {
				b.TopKIDs[i*K] = 0
			}
			b.TopKLogprobs[i*K] = 0
			for k := 1; k < K; k++ {
				b.TopKIDs[i*K+k] = -1
			}
			b.OtherLogprob[i] = float32(math.Inf(-1))
		}
	}
	return b
}

// TestTaskLossGradients checks dlogits of every loss function against finite
// differences of the loss value.
func TestTaskLossGradients(t *testing.T) {
	const B, T, V, K = 2, 5, 9, 3
	for _, tc := range []struct {
		fn string
		sq bool
	}{{LossCE, false}, {LossBitBalanced, false}, {LossKD, false}, {LossKD, true}, {LossBitBalancedKD, false}} {
		t.Run(tc.fn, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			b := lossBatch(rng, B, T, V, K)
			logits := randVec(rng, B*T*V, 2)
			lc := DefaultLossConfig()
			lc.Fn, lc.KDTauSquared = tc.fn, tc.sq
			dl := make([]float32, len(logits))
			res, err := TaskLoss(dl, logits, b, V, lc)
			if err != nil {
				t.Fatal(err)
			}
			if res.ValidTokens != B*(T-2) || res.FormatCount == 0 {
				t.Errorf("valid %d, format count %d", res.ValidTokens, res.FormatCount)
			}
			f := func() float64 {
				r, err := TaskLoss(nil, logits, b, V, lc)
				if err != nil {
					t.Fatal(err)
				}
				return r.Loss
			}
			fdCheck(t, "dlogits", logits, dl, f, sampleIdx(rng, len(logits), len(logits)), 1e-2, 2e-3)
			// Untrained positions get no gradient.
			for i := range B * T {
				if b.trained(i) {
					continue
				}
				for _, g := range dl[i*V : (i+1)*V] {
					if g != 0 {
						t.Fatalf("position %d is not trained but has gradient", i)
					}
				}
			}
		})
	}
}

// TestFormatLoss checks the format loss is the CE over structural trained
// positions only, 0 when there are none, and weighted into kd.
func TestFormatLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const V = 6
	b := lossBatch(rng, 1, 4, V, 2)
	b.Struct = []bool{false, true, false, true}
	b.LossMask = nil
	b.Targets[3] = 2
	logits := randVec(rng, 4*V, 1)
	lc := DefaultLossConfig()
	lc.Fn = LossKD
	res, err := TaskLoss(nil, logits, b, V, lc)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, V)
	want := (ceRow(p, logits[V:2*V], int(b.Targets[1])) + ceRow(p, logits[3*V:], 2)) / 2
	if res.FormatCount != 2 || math.Abs(res.Format-want) > 1e-9 {
		t.Errorf("format %g over %d, want %g over 2", res.Format, res.FormatCount, want)
	}
	if d := res.Loss - (res.KL + 0.25*res.CE + 0.2*res.Format); math.Abs(d) > 1e-12 {
		t.Errorf("kd total off by %g", d)
	}
	b.Struct = nil
	if res, _ := TaskLoss(nil, logits, b, V, lc); res.Format != 0 || res.FormatCount != 0 {
		t.Errorf("no structural targets: format %g", res.Format)
	}
	for _, s := range []string{"{", "\":", "```", "a,b"} {
		if !IsStructural(s) {
			t.Errorf("IsStructural(%q) = false", s)
		}
	}
	if IsStructural("name") || IsStructural("``") {
		t.Error("plain text is structural")
	}
}

// TestBitPenalty checks the penalty value, its normalization and its
// gradient on the bit_params (the STE derivative numel(W) of b * numel(W)).
func TestBitPenalty(t *testing.T) {
	cfg := tinyConfig(VariantLinear)
	cfg.LinearVariantMLP = VariantAdaptive
	cfg.LinearVariantMLPDown = VariantBitLinear
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	C, H := cfg.NEmbd, cfg.MLPHidden
	ls := m.Linears()
	for _, o := range []int{0, 7} { // both blocks
		ls[o+4].Bit[0] = 9 // gate: clamps to 8, outside the range: no gradient
		ls[o+5].Bit[0] = 3.6
	}
	total := 2 * (8*C*H + 4*C*H) // two layers of gate (8 bits) and up (4 bits)
	P := float64(m.NumParams())
	for _, norm := range []bool{false, true} {
		lc := DefaultLossConfig()
		lc.Fn, lc.BitLossWeight, lc.BitLossNormalize = LossBitBalanced, 1e-3, norm
		m.ZeroGrad()
		tb, nb, term := m.BitPenalty(lc, true)
		if tb != float64(total) || math.Abs(nb-float64(total)/P) > 1e-12 {
			t.Errorf("total %g normalized %g", tb, nb)
		}
		want, g := 1e-3*float64(total), 1e-3*float64(C*H)
		if norm {
			want, g = want/P, g/P
		}
		if math.Abs(term-want) > 1e-9*want {
			t.Errorf("normalize %v: term %g, want %g", norm, term, want)
		}
		if ls[4].DBit[0] != 0 || math.Abs(float64(ls[5].DBit[0])-g) > 1e-6*g {
			t.Errorf("normalize %v: dbit gate %g up %g, want 0 and %g", norm, ls[4].DBit[0], ls[5].DBit[0], g)
		}
	}
	if got := m.LayerBits(); len(got) != 4 || got["blocks.1.mlp.up_proj"] != 4 {
		t.Errorf("LayerBits = %v", got)
	}
}
