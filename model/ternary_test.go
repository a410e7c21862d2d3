package model

import (
	"math/rand/v2"
	"testing"
)

// TestTernaryCodesMatchTheModel checks that TernaryCodes gives the values
// the forward pass uses: Q for bitlinear, W_hat/gamma for bitlinear_1p58.
func TestTernaryCodesMatchTheModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := DefaultConfig()
	for _, variant := range []string{VariantBitLinear, Variant1p58} {
		l := linearCase(t, variant, cfg, 24, 16, rng)
		l.prepare()
		codes := TernaryCodes(variant, l.W)
		gamma := meanAbs(l.W)
		for i, q := range codes {
			want := float32(0)
			if variant == VariantBitLinear {
				want = l.aux[i]
			} else {
				want = l.wHat[i] / gamma
			}
			if float32(q) != want {
				t.Fatalf("%s: weight %d: code %d, the model uses %g", variant, i, q, want)
			}
		}
	}
	if TernaryCodes(VariantLinear, []float32{1}) != nil || TernaryCodes(VariantAdaptive, []float32{1}) != nil {
		t.Error("non-ternary variants have codes")
	}
}

func TestProjectionVariant(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LinearVariantMLP = VariantLinear
	cfg.LinearVariantK = Variant1p58
	for name, want := range map[string]string{
		"blocks.0.attn.q_proj.weight":   VariantBitLinear,
		"blocks.3.attn.k_proj.weight":   Variant1p58,
		"blocks.1.mlp.down_proj.weight": VariantLinear,
		"blocks.4.attn.q_proj.weight":   "", // n_layer is 4
		"blocks.0.attn.q_proj.scale":    "",
		"wte.weight":                    "",
	} {
		if got := cfg.ProjectionVariant(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
