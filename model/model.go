package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is the decoder-only transformer of spec §1. Parameters and gradients
// each live in one flat buffer (Params, Grads); the layers hold views.
type Model struct {
	cfg     Config
	Params  []float32
	Grads   []float32
	lay     layout
	actBits int

	wte, dwte   []float32 // (V,C)
	blocks      []block
	lnf, dlnf   []float32 // (C)
	head, dhead []float32 // (V,C); aliases wte, dwte when tied
	headT       []float32 // (C,V)
	cos, sin    []float32 // (block_size, HD/2)

	clip4Embed bool // clip4 after the embedding (act_quant clip4 with a ternary site)

	acts *activations
}

// block is one pre-norm transformer block.
type block struct {
	ln1, dln1, ln2, dln2 []float32 // (C)
	q, k, v, o           *Linear
	gate, up, down       *Linear
	clip4O, clip4Down    bool
}

// linears returns the block's projections in site order (an array, so
// that iterating over them allocates nothing).
func (b *block) linears() [7]*Linear {
	return [7]*Linear{b.q, b.k, b.v, b.o, b.gate, b.up, b.down}
}

// New returns a model with freshly initialized parameters drawn from a PCG
// generator seeded with seed: embedding, head and projections N(0, 0.02)
// (o and down scaled by 1/sqrt(2 n_layer), as GPT-2), norm gains 1,
// bitlinear scales absmean or 1, bit_params adaptive_linear_init_bits.
func New(cfg Config, seed uint64) (*Model, error) {
	m, err := newShell(cfg)
	if err != nil {
		return nil, err
	}
	m.init(rand.New(rand.NewPCG(seed, 0x626974666c6f77)))
	return m, nil
}

// newShell validates cfg and allocates a model with zero parameters.
func newShell(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Resolved()
	m := &Model{cfg: cfg, actBits: cfg.ActBitsStart}
	C, V, I, H := cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.MLPHidden
	lay := &m.lay
	lay.add("embed_tokens.weight", true, V, C)
	dims := map[string][2]int{"q": {C, I}, "k": {C, I}, "v": {C, I}, "attn_proj": {I, C},
		"mlp_gate": {C, H}, "mlp_up": {C, H}, "mlp_down": {H, C}}
	for i := range cfg.NLayer {
		p := fmt.Sprintf("blocks.%d.", i)
		lay.add(p+"attn_norm.weight", false, C)
		for _, s := range Sites[:4] {
			d := dims[s.Site]
			addLinearTensors(lay, p+s.Name, cfg.SiteVariant(s.Site), d[0], d[1])
		}
		lay.add(p+"mlp_norm.weight", false, C)
		for _, s := range Sites[4:] {
			d := dims[s.Site]
			addLinearTensors(lay, p+s.Name, cfg.SiteVariant(s.Site), d[0], d[1])
		}
	}
	lay.add("norm.weight", false, C)
	if !cfg.TieEmbeddings {
		lay.add("lm_head.weight", true, V, C)
	}
	m.Params, m.Grads = make([]float32, lay.n), make([]float32, lay.n)
	m.wte, m.dwte = lay.view(m.Params, "embed_tokens.weight"), lay.view(m.Grads, "embed_tokens.weight")
	m.lnf, m.dlnf = lay.view(m.Params, "norm.weight"), lay.view(m.Grads, "norm.weight")
	if cfg.TieEmbeddings {
		m.head, m.dhead = m.wte, m.dwte
	} else {
		m.head, m.dhead = lay.view(m.Params, "lm_head.weight"), lay.view(m.Grads, "lm_head.weight")
	}
	m.headT = make([]float32, C*V)
	anyTernary := false
	for i := range cfg.NLayer {
		p := fmt.Sprintf("blocks.%d.", i)
		b := block{}
		b.ln1, b.dln1 = lay.view(m.Params, p+"attn_norm.weight"), lay.view(m.Grads, p+"attn_norm.weight")
		b.ln2, b.dln2 = lay.view(m.Params, p+"mlp_norm.weight"), lay.view(m.Grads, p+"mlp_norm.weight")
		ls := make([]*Linear, len(Sites))
		for j, s := range Sites {
			d := dims[s.Site]
			variant := cfg.SiteVariant(s.Site)
			anyTernary = anyTernary || ternarySite(variant)
			ls[j] = newLinear(p+s.Name, variant, d[0], d[1], cfg)
			ls[j].bind(lay, m.Params, m.Grads)
		}
		b.q, b.k, b.v, b.o, b.gate, b.up, b.down = ls[0], ls[1], ls[2], ls[3], ls[4], ls[5], ls[6]
		// clip4 is the ternary student's residual quantizer (spec §3): it sits
		// behind o and down only when those sites are ternary.
		b.clip4O = cfg.ActQuant == ActQuantClip4 && ternarySite(b.o.Variant)
		b.clip4Down = cfg.ActQuant == ActQuantClip4 && ternarySite(b.down.Variant)
		m.blocks = append(m.blocks, b)
	}
	m.clip4Embed = cfg.ActQuant == ActQuantClip4 && anyTernary
	if cfg.RoPE {
		m.cos, m.sin = ropeTables(cfg.BlockSize, cfg.HeadDim)
	}
	return m, nil
}

func (m *Model) init(rng *rand.Rand) {
	cfg := m.cfg
	normal := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(rng.NormFloat64() * std)
		}
	}
	projStd := 0.02 / math.Sqrt(2*float64(cfg.NLayer))
	for _, t := range m.lay.tensors {
		x := m.Params[t.Offset : t.Offset+t.Size()]
		switch {
		case t.Name == "embed_tokens.weight" || t.Name == "lm_head.weight":
			normal(x, 0.02)
		case hasSuffix(t.Name, "norm.weight"):
			fill(x, 1)
		case hasSuffix(t.Name, "o_proj.weight") || hasSuffix(t.Name, "down_proj.weight"):
			normal(x, projStd)
		case hasSuffix(t.Name, ".weight"):
			normal(x, 0.02)
		case hasSuffix(t.Name, ".bit_param"):
			x[0] = float32(cfg.AdaptiveLinearInitBits)
		}
	}
	// Scales follow their weights, so they are set after all weights.
	for _, b := range m.blocks {
		for _, l := range b.linears() {
			if l.S == nil {
				continue
			}
			for o := range l.Out {
				if cfg.BitlinearScaleInit == "one" {
					l.S[o] = 1
				} else {
					l.S[o] = meanAbs(l.W[o*l.In : (o+1)*l.In])
				}
			}
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

// Config returns the model's resolved configuration.
func (m *Model) Config() Config { return m.cfg }

// Tensors returns the model's parameter tensors in checkpoint order.
func (m *Model) Tensors() []Tensor { return m.lay.tensors }

// Tensor returns the parameter view of the tensor name, or nil.
func (m *Model) Tensor(name string) []float32 { return m.lay.view(m.Params, name) }

// NumParams returns the number of trainable parameters P.
func (m *Model) NumParams() int { return len(m.Params) }

// DenseBytes returns the fp32 size of every parameter tensor, counted from
// the tensors: 4 bytes per element.
func (m *Model) DenseBytes() int64 {
	var n int64
	for _, t := range m.lay.tensors {
		n += 4 * int64(t.Size())
	}
	return n
}

// ActBits returns the current activation bits a.
func (m *Model) ActBits() int { return m.actBits }

// SetActBits sets the activation bits a used by absmax_token and clip4.
func (m *Model) SetActBits(a int) {
	if a < 2 || a > 8 {
		panic(fmt.Sprintf("model: activation bits %d outside 2..8", a))
	}
	m.actBits = a
}

// Linears returns every projection of the model, block by block in site order.
func (m *Model) Linears() []*Linear {
	var ls []*Linear
	for i := range m.blocks {
		bl := m.blocks[i].linears()
		ls = append(ls, bl[:]...)
	}
	return ls
}

// ZeroGrad performs Grads = 0.
func (m *Model) ZeroGrad() { clear(m.Grads) }
