package model

import (
	"context"
	"math/rand/v2"
	"testing"
)

// strideBatch builds the learning task: each row counts modulo V from a
// random start with a random stride of 1 or 2, so the next token is
// x_t + (x_t - x_{t-1}). From position 1 on it is deterministic, and it needs
// attention to the previous token, not just bigram statistics; position 0 is
// kept out of the loss.
func strideBatch(rng *rand.Rand, B, T, V int) *Batch {
	b := &Batch{B: B, T: T, Inputs: make([]int32, B*T), Targets: make([]int32, B*T), LossMask: make([]bool, B*T)}
	for r := range B {
		start, stride := rng.IntN(V), 1+rng.IntN(2)
		for t := range T {
			b.Inputs[r*T+t] = int32((start + stride*t) % V)
			b.Targets[r*T+t] = int32((start + stride*(t+1)) % V)
			b.LossMask[r*T+t] = t >= 1
		}
	}
	return b
}

// TestLearnsStrideTask trains a tiny model of each linear variant on the
// repeat task and requires a near-zero held-out loss.
func TestLearnsStrideTask(t *testing.T) {
	for _, tc := range []struct {
		variant string
		iters   int
		lr      float64
	}{
		{VariantLinear, 150, 1e-2},
		{VariantBitLinear, 150, 1e-2},
		{Variant1p58, 150, 1e-2},
		{VariantAdaptive, 150, 1e-2},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NLayer, cfg.NHead, cfg.NEmbd, cfg.BlockSize, cfg.VocabSize = 1, 2, 32, 12, 16
			cfg.LinearVariantAttn, cfg.LinearVariantMLP = tc.variant, tc.variant
			m, err := New(cfg, 11)
			if err != nil {
				t.Fatal(err)
			}
			tc2 := DefaultTrainConfig()
			tc2.LearningRate, tc2.MinLR, tc2.MaxIters, tc2.WarmupIters = tc.lr, tc.lr/10, tc.iters, 10
			tc2.LogInterval = tc.iters
			tr, err := NewTrainer(m, tc2, 12)
			if err != nil {
				t.Fatal(err)
			}
			var last Metrics
			err = tr.Run(context.Background(), func(_ int, rng *rand.Rand) (*Batch, error) {
				return strideBatch(rng, 16, cfg.BlockSize, cfg.VocabSize), nil
			}, func(mt Metrics) error { last = mt; return nil })
			if err != nil {
				t.Fatal(err)
			}
			res, err := Evaluate(m, strideBatch(rand.New(rand.NewPCG(99, 99)), 32, cfg.BlockSize, cfg.VocabSize), tc2.LossConfig)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: last interval loss %.6f, held-out CE %.6f, bits %v", tc.variant, last.Loss, res.CE, last.LayerBits)
			if res.CE > 0.01 {
				t.Errorf("held-out CE %.4f, want < 0.01 (chance is ln 16 = 2.77)", res.CE)
			}
		})
	}
}
