package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Resolved()
	if r.HeadDim != 32 || r.MLPHidden != 512 || r.LinearVariantMLPDown != VariantBitLinear {
		t.Errorf("resolved %+v", r)
	}
	c.LinearVariantMLP, c.LinearVariantK = VariantAdaptive, VariantLinear
	if c.SiteVariant("k") != VariantLinear || c.SiteVariant("q") != VariantBitLinear || c.SiteVariant("mlp_up") != VariantAdaptive {
		t.Error("per-site override or group default wrong")
	}
	bad := DefaultConfig()
	bad.NHead, bad.HeadDim, bad.ActQuant, bad.LinearVariantV = 4, 3, "int2", "ternary"
	err := bad.Validate()
	for _, want := range []string{"even head_dim", "act_quant", "linear_variant_v"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	js, _ := json.Marshal(DefaultConfig())
	for _, key := range []string{"n_layer", "linear_variant_attn_proj", "adaptive_linear_grad", "act_bits_after", "flip_fraction", "budget_tokens", "bitlinear_scale_init"} {
		if !strings.Contains(string(js), `"`+key+`"`) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if err := DefaultTrainConfig().Validate(); err != nil {
		t.Error(err)
	}
}
