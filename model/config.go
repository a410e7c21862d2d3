package model

import (
	"errors"
	"fmt"
)

// Linear variant names (spec §2).
const (
	VariantLinear    = "linear"
	VariantBitLinear = "bitlinear"
	Variant1p58      = "bitlinear_1p58"
	VariantAdaptive  = "adaptive_bit_linear"
)

// Activation quantization modes (spec §3).
const (
	ActQuantAbsmaxToken = "absmax_token"
	ActQuantClip4       = "clip4"
	ActQuantNone        = "none"
)

// Sites lists the projection sites of a block in checkpoint order, with the
// checkpoint sub-name of each (blocks.{i}.<name>.weight).
var Sites = []struct{ Site, Name string }{
	{"q", "attn.q_proj"},
	{"k", "attn.k_proj"},
	{"v", "attn.v_proj"},
	{"attn_proj", "attn.o_proj"},
	{"mlp_gate", "mlp.gate_proj"},
	{"mlp_up", "mlp.up_proj"},
	{"mlp_down", "mlp.down_proj"},
}

// Config holds every model parameter of spec §1-§3, with the spec's names as
// JSON tags. Zero HeadDim and MLPHidden mean n_embd/n_head and 4*n_embd; an
// empty per-site variant means its group's variant. DefaultConfig gives the
// spec's defaults.
type Config struct {
	NLayer        int  `json:"n_layer"`
	NHead         int  `json:"n_head"`
	NEmbd         int  `json:"n_embd"`
	HeadDim       int  `json:"head_dim"`
	MLPHidden     int  `json:"mlp_hidden"`
	BlockSize     int  `json:"block_size"`
	RoPE          bool `json:"rope"`
	TieEmbeddings bool `json:"tie_embeddings"`
	VocabSize     int  `json:"vocab_size"`

	LinearVariantAttn     string `json:"linear_variant_attn"`
	LinearVariantMLP      string `json:"linear_variant_mlp"`
	LinearVariantQ        string `json:"linear_variant_q"`
	LinearVariantK        string `json:"linear_variant_k"`
	LinearVariantV        string `json:"linear_variant_v"`
	LinearVariantAttnProj string `json:"linear_variant_attn_proj"`
	LinearVariantMLPGate  string `json:"linear_variant_mlp_gate"`
	LinearVariantMLPUp    string `json:"linear_variant_mlp_up"`
	LinearVariantMLPDown  string `json:"linear_variant_mlp_down"`

	BitlinearScaleInit string `json:"bitlinear_scale_init"`

	AdaptiveLinearInitBits float64 `json:"adaptive_linear_init_bits"`
	AdaptiveLinearMinBits  float64 `json:"adaptive_linear_min_bits"`
	AdaptiveLinearMaxBits  float64 `json:"adaptive_linear_max_bits"`
	// AdaptiveLinearQuantizeInput fake-quantizes an adaptive projection's
	// input per tensor: one scale, max|x| / qmax, over every row of the
	// call. The output of a token therefore depends on the other tokens of
	// the same call (and, in training, of the whole batch), so with it set
	// KV-cached decoding (Session, Generate), which feeds the prompt in one
	// call and then one token per call, does not reproduce a full Forward
	// of the sequence: the cached logits equal the full forward's within
	// 1e-5 (TestKVCacheMatchesForward) only with this off. It is on by
	// default, as in the seed; absmax_token (per token) has no such coupling.
	AdaptiveLinearQuantizeInput  bool   `json:"adaptive_linear_quantize_input"`
	AdaptiveLinearActivationBits int    `json:"adaptive_linear_activation_bits"`
	AdaptiveLinearGrad           string `json:"adaptive_linear_grad"`

	ActQuant     string  `json:"act_quant"`
	ActBitsStart int     `json:"act_bits_start"`
	ActBitsAfter int     `json:"act_bits_after"`
	FlipFraction float64 `json:"flip_fraction"`
	BudgetTokens int64   `json:"budget_tokens"`
}

// DefaultConfig returns the spec's defaults: the small ternary student
// (bitlinear everywhere, absmax per-token activations at 8 bits flipping to 4)
// with a 512-token vocabulary. Teachers set both variant groups to "linear".
func DefaultConfig() Config {
	return Config{
		NLayer: 4, NHead: 4, NEmbd: 128, BlockSize: 256, RoPE: true, VocabSize: 512,
		LinearVariantAttn: VariantBitLinear, LinearVariantMLP: VariantBitLinear,
		BitlinearScaleInit:     "absmean",
		AdaptiveLinearInitBits: 8, AdaptiveLinearMinBits: 1, AdaptiveLinearMaxBits: 8,
		AdaptiveLinearQuantizeInput: true, AdaptiveLinearActivationBits: 8,
		AdaptiveLinearGrad: "lsq",
		ActQuant:           ActQuantAbsmaxToken, ActBitsStart: 8, ActBitsAfter: 4,
		FlipFraction: 0.9, BudgetTokens: 1_000_000,
	}
}

// Resolved returns c with HeadDim, MLPHidden and every per-site variant filled
// in, so a stored config states each value explicitly.
func (c Config) Resolved() Config {
	if c.HeadDim == 0 && c.NHead > 0 {
		c.HeadDim = c.NEmbd / c.NHead
	}
	if c.MLPHidden == 0 {
		c.MLPHidden = 4 * c.NEmbd
	}
	for _, s := range Sites {
		p := c.siteField(s.Site)
		if *p == "" {
			if s.Site == "q" || s.Site == "k" || s.Site == "v" || s.Site == "attn_proj" {
				*p = c.LinearVariantAttn
			} else {
				*p = c.LinearVariantMLP
			}
		}
	}
	return c
}

func (c *Config) siteField(site string) *string {
	switch site {
	case "q":
		return &c.LinearVariantQ
	case "k":
		return &c.LinearVariantK
	case "v":
		return &c.LinearVariantV
	case "attn_proj":
		return &c.LinearVariantAttnProj
	case "mlp_gate":
		return &c.LinearVariantMLPGate
	case "mlp_up":
		return &c.LinearVariantMLPUp
	case "mlp_down":
		return &c.LinearVariantMLPDown
	}
	panic(fmt.Sprintf("model: unknown site %q", site))
}

// SiteVariant returns the linear variant used at site (one of Sites' Site
// values), after group defaults.
func (c Config) SiteVariant(site string) string {
	r := c.Resolved()
	return *r.siteField(site)
}

// Inner returns n_head*head_dim, the width of q, k and v.
func (c Config) Inner() int {
	r := c.Resolved()
	return r.NHead * r.HeadDim
}

// Validate reports every invalid parameter in one error.
func (c Config) Validate() error {
	r := c.Resolved()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	pos := func(name string, v int) {
		if v <= 0 {
			bad("%s must be positive, got %d", name, v)
		}
	}
	pos("n_layer", r.NLayer)
	pos("n_head", r.NHead)
	pos("n_embd", r.NEmbd)
	pos("head_dim", r.HeadDim)
	pos("mlp_hidden", r.MLPHidden)
	pos("block_size", r.BlockSize)
	pos("vocab_size", r.VocabSize)
	if r.RoPE && r.HeadDim%2 != 0 {
		bad("rope needs an even head_dim, got %d", r.HeadDim)
	}
	for _, s := range Sites {
		switch v := *r.siteField(s.Site); v {
		case VariantLinear, VariantBitLinear, Variant1p58, VariantAdaptive:
		default:
			bad("linear_variant_%s: unknown variant %q", s.Site, v)
		}
	}
	if r.BitlinearScaleInit != "absmean" && r.BitlinearScaleInit != "one" {
		bad("bitlinear_scale_init: want absmean or one, got %q", r.BitlinearScaleInit)
	}
	if r.AdaptiveLinearMinBits < 1 || r.AdaptiveLinearMaxBits < r.AdaptiveLinearMinBits || r.AdaptiveLinearMaxBits > 16 {
		bad("adaptive_linear_min_bits/max_bits: want 1 <= min <= max <= 16, got %g, %g", r.AdaptiveLinearMinBits, r.AdaptiveLinearMaxBits)
	}
	if r.AdaptiveLinearActivationBits < 2 || r.AdaptiveLinearActivationBits > 16 {
		bad("adaptive_linear_activation_bits: want 2..16, got %d", r.AdaptiveLinearActivationBits)
	}
	if r.AdaptiveLinearGrad != "lsq" && r.AdaptiveLinearGrad != "ste" {
		bad("adaptive_linear_grad: want lsq or ste, got %q", r.AdaptiveLinearGrad)
	}
	switch r.ActQuant {
	case ActQuantAbsmaxToken, ActQuantClip4, ActQuantNone:
	default:
		bad("act_quant: unknown mode %q", r.ActQuant)
	}
	if r.ActBitsStart < 2 || r.ActBitsStart > 8 {
		bad("act_bits_start: want 2..8, got %d", r.ActBitsStart)
	}
	if r.ActBitsAfter < 2 || r.ActBitsAfter > 8 {
		bad("act_bits_after: want 2..8, got %d", r.ActBitsAfter)
	}
	if r.FlipFraction < 0 || r.FlipFraction > 1 {
		bad("flip_fraction: want 0..1, got %g", r.FlipFraction)
	}
	if r.BudgetTokens < 0 {
		bad("budget_tokens: must not be negative, got %d", r.BudgetTokens)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("model config: %w", err)
	}
	return nil
}

// ternarySite reports whether variant is one of the ternary variants whose
// inputs act_quant governs.
func ternarySite(variant string) bool {
	return variant == VariantBitLinear || variant == Variant1p58
}
