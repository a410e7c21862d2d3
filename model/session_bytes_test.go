package model

import (
	"math/rand/v2"
	"testing"
)

// TestSessionBytes counts the KV cache, the activation buffers and the
// rotary tables against the shapes.
func TestSessionBytes(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	inf := trainedish(t, cfg, 3).Inference(true)
	C, I, H, V, L, NH := cfg.NEmbd, cfg.Inner(), cfg.MLPHidden, cfg.VocabSize, cfg.NLayer, cfg.NHead
	const maxT, n = 10, 6
	s := inf.NewSession(maxT)
	if got, want := s.CacheBytes(), int64(4*2*L*I*maxT); got != want {
		t.Errorf("CacheBytes = %d, want %d", got, want)
	}
	if s.ActivationBytes() != 0 {
		t.Errorf("ActivationBytes before a forward = %d", s.ActivationBytes())
	}
	if _, err := s.Forward(randIDs(rand.New(rand.NewPCG(1, 1)), n, V)); err != nil {
		t.Fatal(err)
	}
	if got, want := s.ActivationBytes(), int64(4*(3*n*C+4*n*I+3*n*H+n*V+NH*n*maxT)); got != want {
		t.Errorf("ActivationBytes = %d, want %d", got, want)
	}
	if got, want := inf.RoPEBytes(), int64(4*2*cfg.BlockSize*cfg.HeadDim/2); got != want {
		t.Errorf("RoPEBytes = %d, want %d", got, want)
	}
}
