package dryrun

import (
	"fmt"

	"github.com/bitflow-dev/bitflow/model"
)

// Configuration names of the `config` param.
const (
	Config7B   = "7b"
	ConfigSeed = "seed"
	ConfigTiny = "tiny"
)

// Configs lists the configuration names, in the order the docs give them.
var Configs = []string{Config7B, ConfigSeed, ConfigTiny}

// ModelConfig returns the model configuration called name: every
// projection bitlinear (ternary, packed at inference) with per-token absmax
// activations, RoPE, untied embedding and head.
//
//   - 7b: the LLaMA-7B shape: n_embd 4096, 32 layers, 32 heads of 128,
//     SwiGLU hidden 11008, vocabulary 32000, context 2048; 6.74B parameters.
//   - seed: the BitNet-7B-KDE seed's dry-run model, "4096/32/32/128" being
//     its DRYRUN_DIM/LAYERS/HEADS/HEAD_DIM defaults (dim 4096, 32 layers, 32
//     heads of head_dim 128) with the seed's 4x MLP (SwiGLU hidden 16384), a
//     separate head and a 32000-token (LLaMA) vocabulary; 8.85B parameters:
//     32 x (4 x 4096^2 + 3 x 4096 x 16384) + 2 x 32000 x 4096 + 65 x 4096.
//   - tiny: 2 layers of width 64 for tests (hidden 172 and 4 heads of 16,
//     so packed rows end in partial bytes and partial kernel blocks).
func ModelConfig(name string) (model.Config, error) {
	c := model.DefaultConfig()
	c.LinearVariantAttn, c.LinearVariantMLP = model.VariantBitLinear, model.VariantBitLinear
	c.ActQuant, c.RoPE, c.TieEmbeddings = model.ActQuantAbsmaxToken, true, false
	switch name {
	case Config7B:
		c.NLayer, c.NHead, c.NEmbd, c.HeadDim, c.MLPHidden, c.VocabSize, c.BlockSize = 32, 32, 4096, 128, 11008, 32000, 2048
	case ConfigSeed:
		c.NLayer, c.NHead, c.NEmbd, c.HeadDim, c.MLPHidden, c.VocabSize, c.BlockSize = 32, 32, 4096, 128, 4*4096, 32000, 2048
	case ConfigTiny:
		c.NLayer, c.NHead, c.NEmbd, c.HeadDim, c.MLPHidden, c.VocabSize, c.BlockSize = 2, 4, 64, 16, 172, 512, 64
	default:
		return c, fmt.Errorf("config: unknown configuration %q (want one of %v)", name, Configs)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c.Resolved(), nil
}

// Params counts a configuration's parameters by kind, from its shapes.
type Params struct {
	Total         int64   `json:"total"`
	ApproxBillion float64 `json:"approx_billion"`
	// Ternary counts the weights of the seven projections of every block,
	// Embedding and Head the V x C tables, Norms the RMSNorm gains (two
	// per block and the final one). Scales, the per-row scales of the
	// ternary projections, are parameters of bitlinear too but are counted
	// apart: LLaMA-7B's 6.7B does not include them.
	Ternary   int64 `json:"ternary"`
	Embedding int64 `json:"embedding"`
	Head      int64 `json:"head"`
	Norms     int64 `json:"norms"`
	Scales    int64 `json:"scales"`
}

// CountParams returns c's parameter counts, computed from the shapes.
func CountParams(c model.Config) Params {
	c = c.Resolved()
	C, I, H, V, L := int64(c.NEmbd), int64(c.Inner()), int64(c.MLPHidden), int64(c.VocabSize), int64(c.NLayer)
	p := Params{
		Ternary:   L * (3*C*I + I*C + 3*C*H),
		Embedding: V * C,
		Head:      V * C,
		Norms:     (2*L + 1) * C,
		Scales:    L * (3*I + C + 2*H + C),
	}
	if c.TieEmbeddings {
		p.Head = 0
	}
	p.Total = p.Ternary + p.Embedding + p.Head + p.Norms
	p.ApproxBillion = float64(p.Total) / 1e9
	return p
}
