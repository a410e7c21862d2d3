package dryrun

import (
	"github.com/bitflow-dev/bitflow/model"
)

// Breakdown is a memory breakdown in bytes: the weights, then the buffers of
// a forward pass over seq_len tokens.
type Breakdown struct {
	// TernaryWeights are the 2-bit codes, out x ceil(in/4) bytes per
	// projection; Scales their fp32 per-row scales.
	TernaryWeights int64 `json:"ternary_weights"`
	Scales         int64 `json:"scales"`
	// Embedding and Head are the V x C tables (2 bytes a value in fp16; 1
	// in int8 plus a 4-byte scale per row); Norms the fp32 gains.
	Embedding int64 `json:"embedding"`
	Head      int64 `json:"head"`
	Norms     int64 `json:"norms"`
	// Weights is the sum of the above (model.Inference.Bytes when counted).
	Weights int64 `json:"weights_total"`
	// KVCache holds keys and values of every layer for seq_len tokens
	// (fp32); Activations the session's buffers for a forward of seq_len
	// tokens (residual stream, q/k/v, MLP, logits, attention scores).
	KVCache     int64 `json:"kv_cache"`
	Activations int64 `json:"activations"`
	// RoPE holds the rotary tables for block_size positions.
	RoPE int64 `json:"rope_tables"`
	// ProjScratch is the pooled scratch of the packed kernels (integer
	// activations, lookup tables, partial sums) for the largest projection;
	// analytic only (the pool is not counted).
	ProjScratch int64 `json:"projection_scratch,omitempty"`
	// Total is the sum of everything above.
	Total int64 `json:"total"`
}

func (b *Breakdown) sum() {
	b.Weights = b.TernaryWeights + b.Scales + b.Embedding + b.Head + b.Norms
	b.Total = b.Weights + b.KVCache + b.Activations + b.RoPE + b.ProjScratch
}

// Analytic returns the memory of cfg's packed model with dtype tables and
// a forward over n tokens, computed from the shapes alone.
func Analytic(cfg model.Config, dtype string, n int) Breakdown {
	cfg = cfg.Resolved()
	C, I, H, V, L := int64(cfg.NEmbd), int64(cfg.Inner()), int64(cfg.MLPHidden), int64(cfg.VocabSize), int64(cfg.NLayer)
	NH, T := int64(cfg.NHead), int64(n)
	rows := func(in, out int64) int64 { return out * ((in + 3) / 4) }
	var b Breakdown
	b.TernaryWeights = L * (3*rows(C, I) + rows(I, C) + 2*rows(C, H) + rows(H, C))
	b.Scales = 4 * L * (3*I + C + 2*H + C)
	table := 2 * V * C
	if dtype == DTypeInt8 {
		table = V*C + 4*V
	}
	b.Embedding, b.Head = table, table
	b.Norms = 4 * (2*L + 1) * C
	b.KVCache = 4 * 2 * L * I * T
	b.Activations = 4 * (3*T*C + 4*T*I + 3*T*H + T*V + NH*T*T)
	if cfg.RoPE {
		b.RoPE = 4 * 2 * int64(cfg.BlockSize) * int64(cfg.HeadDim/2)
	}
	for _, s := range [][2]int{{cfg.NEmbd, cfg.Inner()}, {cfg.Inner(), cfg.NEmbd}, {cfg.NEmbd, cfg.MLPHidden}, {cfg.MLPHidden, cfg.NEmbd}} {
		b.ProjScratch = max(b.ProjScratch, model.TernaryScratchBytes(s[0], s[1], n))
	}
	b.sum()
	return b
}

// Counted returns the memory of inf and the session s (after a forward),
// counted from their buffers; ProjScratch stays 0.
func Counted(inf *model.Inference, s *model.Session) Breakdown {
	var b Breakdown
	b.Embedding, b.Head = inf.Embed.Bytes(), inf.Head.Bytes()
	if inf.TiedHead {
		b.Head = 0
	}
	b.Norms = 4 * int64(len(inf.Norm))
	for _, blk := range inf.Blocks {
		b.Norms += 4 * int64(len(blk.AttnNorm)+len(blk.MLPNorm))
		for _, p := range []model.Proj{blk.Q, blk.K, blk.V, blk.O, blk.Gate, blk.Up, blk.Down} {
			if tp, ok := p.(*model.TernaryProj); ok {
				b.TernaryWeights += int64(len(tp.Packed))
				b.Scales += 4 * int64(len(tp.Scales))
			} else {
				b.TernaryWeights += p.Bytes() // not built by this kind
			}
		}
	}
	b.KVCache, b.Activations = s.CacheBytes(), s.ActivationBytes()
	b.RoPE = inf.RoPEBytes()
	b.sum()
	return b
}
