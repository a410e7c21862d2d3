package model

import (
	"math/rand/v2"
	"testing"
)

// TestModelGradient checks every parameter tensor of a full-precision model
// (linear projections, act_quant none, so the function is smooth) against
// finite differences of L = sum(logits * R), with RoPE, a key padding mask
// and tied or untied embeddings.
func TestModelGradient(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rope, tie bool
	}{{"rope", true, false}, {"nope-tied", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig(VariantLinear)
			cfg.ActQuant = ActQuantNone
			cfg.RoPE, cfg.TieEmbeddings = tc.rope, tc.tie
			m, err := New(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			// Bigger weights than the init make every path matter.
			for i := range m.Params {
				m.Params[i] *= 3
			}
			B, T := 2, 7
			ids := randIDs(rng, B*T, cfg.VocabSize)
			valid := make([]bool, B*T)
			for i := range valid {
				valid[i] = !(i/T == 1 && i%T >= 5) // right padding in row 1
			}
			R := randVec(rng, B*T*cfg.VocabSize, 1)
			f := func() float64 {
				logits, err := m.Forward(ids, valid, B, T)
				if err != nil {
					t.Fatal(err)
				}
				return dot64(logits, R)
			}
			f()
			m.ZeroGrad()
			m.Backward(R)
			grad := append([]float32(nil), m.Grads...)
			for _, tn := range m.Tensors() {
				idx := sampleIdx(rng, tn.Size(), 12)
				for k := range idx {
					idx[k] += tn.Offset
				}
				fdCheck(t, tn.Name, m.Params, grad, f, idx, 1e-3, 1e-2)
			}
		})
	}
}
