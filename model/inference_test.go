package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// trainedish returns a model of cfg whose weights were pushed away from the
// init (a larger spread), so quantizers see non-trivial values.
func trainedish(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	for i := range m.Params {
		m.Params[i] += float32(rng.NormFloat64() * 0.05)
	}
	return m
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestKVCacheMatchesForward decodes a sequence token by token (after a
// multi-token prefill) and compares every step's logits with one full
// Forward, for each variant and activation mode.
func TestKVCacheMatchesForward(t *testing.T) {
	cases := []struct {
		variant, act string
		bits         int
		rope         bool
	}{
		{VariantLinear, ActQuantNone, 8, true},
		{VariantBitLinear, ActQuantAbsmaxToken, 8, true},
		{VariantBitLinear, ActQuantAbsmaxToken, 4, false},
		{Variant1p58, ActQuantClip4, 4, true},
		{VariantAdaptive, ActQuantNone, 8, true},
	}
	for _, tc := range cases {
		t.Run(tc.variant+"/"+tc.act, func(t *testing.T) {
			cfg := tinyConfig(tc.variant)
			cfg.ActQuant, cfg.RoPE = tc.act, tc.rope
			// Per-tensor input quantization couples the tokens of one
			// call, so it cannot match token-by-token decoding.
			cfg.AdaptiveLinearQuantizeInput = false
			m := trainedish(t, cfg, 3)
			m.SetActBits(tc.bits)
			T := cfg.BlockSize
			ids := randIDs(rand.New(rand.NewPCG(4, 4)), T, cfg.VocabSize)
			full, err := m.Forward(ids, nil, 1, T)
			if err != nil {
				t.Fatal(err)
			}
			full = append([]float32(nil), full...)
			s := m.Inference(false).NewSession(T)
			V := cfg.VocabSize
			const prefill = 5
			got, err := s.Forward(ids[:prefill])
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(got, full[:prefill*V]); d > 1e-5 {
				t.Errorf("prefill logits differ by %g", d)
			}
			for p := prefill; p < T; p++ {
				got, err := s.Forward(ids[p : p+1])
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(got, full[p*V:(p+1)*V]); d > 1e-5 {
					t.Errorf("position %d: logits differ by %g", p, d)
				}
			}
			if _, err := s.Forward(ids[:1]); err == nil {
				t.Error("session accepted a token past its length")
			}
		})
	}
}
