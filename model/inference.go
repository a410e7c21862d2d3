package model

import (
	"fmt"
	"math"
)

// Inference is a forward-only copy of a model for generation, with a KV
// cache (Session). Its projections are DenseProj (the fake-quant path,
// computing exactly what the training forward computes) or, on the packed
// path, TernaryProj for the ternary sites. A trained model's embedding is a
// DenseEmbedding and its head a DenseProj; a large model built directly (the
// 7B dry run) uses F16Table or Int8Table for both.
type Inference struct {
	Cfg     Config
	ActBits int
	Embed   Embedding // (V,C)
	Blocks  []InferBlock
	Norm    []float32 // (C)
	Head    Proj      // C -> V
	// TiedHead marks a head that shares the embedding table, so Bytes counts
	// the table once.
	TiedHead   bool
	Clip4Embed bool
	// Threads bounds the goroutines of a forward pass (0: GOMAXPROCS):
	// the attention heads, and through SetThreads, which passes it on,
	// every projection and the head. The results do not depend on it.
	Threads  int
	cos, sin []float32
}

// InferBlock is one block of an Inference.
type InferBlock struct {
	AttnNorm, MLPNorm          []float32
	Q, K, V, O, Gate, Up, Down Proj
	Clip4O, Clip4Down          bool
}

// NewInference returns an empty inference model for cfg at activation bits
// cfg.ActBitsStart; the caller fills Embed, Blocks, Norm and Head (the 7B dry
// run builds packed projections and fp16 or int8 tables directly this way,
// never allocating a dense fp32 weight matrix).
func NewInference(cfg Config) (*Inference, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Resolved()
	inf := &Inference{Cfg: cfg, ActBits: cfg.ActBitsStart}
	if cfg.RoPE {
		inf.cos, inf.sin = ropeTables(cfg.BlockSize, cfg.HeadDim)
	}
	return inf, nil
}

// Inference returns a forward-only snapshot of m at its current activation
// bits. With packed false every projection is a DenseProj of the effective
// (fake-quantized) weights; with packed true the bitlinear and
// bitlinear_1p58 projections are packed 2-bit TernaryProj with integer
// activations under act_quant absmax_token, while linear and adaptive
// projections stay dense.
func (m *Model) Inference(packed bool) *Inference {
	cfg := m.cfg
	inf, err := NewInference(cfg)
	if err != nil {
		panic(err) // m's config was validated by New
	}
	inf.ActBits = m.actBits
	inf.Embed = NewDenseEmbedding(cfg.VocabSize, cfg.NEmbd, append([]float32(nil), m.wte...))
	inf.Norm = append([]float32(nil), m.lnf...)
	headT := make([]float32, len(m.head))
	transpose(headT, cfg.VocabSize, m.head, cfg.NEmbd, cfg.VocabSize, cfg.NEmbd)
	inf.Head = NewDenseProj(cfg.NEmbd, cfg.VocabSize, headT)
	inf.TiedHead = cfg.TieEmbeddings
	inf.Clip4Embed = m.clip4Embed
	for _, b := range m.blocks {
		ib := InferBlock{AttnNorm: append([]float32(nil), b.ln1...), MLPNorm: append([]float32(nil), b.ln2...),
			Clip4O: b.clip4O, Clip4Down: b.clip4Down}
		ps := make([]Proj, 0, 7)
		for _, l := range b.linears() {
			l.prepare()
			ps = append(ps, l.proj(packed))
		}
		ib.Q, ib.K, ib.V, ib.O, ib.Gate, ib.Up, ib.Down = ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6]
		inf.Blocks = append(inf.Blocks, ib)
	}
	return inf
}

// proj returns l's inference projection from its prepared effective weights.
func (l *Linear) proj(packed bool) Proj {
	if !packed || !ternarySite(l.Variant) {
		return &DenseProj{In: l.In, Out: l.Out, WT: append([]float32(nil), l.wHatT...), quant: l.inQuant, bits: l.inBits}
	}
	p := NewTernaryProj(l.In, l.Out, l.inQuant == inputAbsmaxToken)
	if l.Variant == VariantBitLinear {
		for o := range l.Out {
			for i := range l.In {
				p.Set(o, i, int(l.aux[o*l.In+i]))
			}
		}
		copy(p.Scales, l.S)
		return p
	}
	// bitlinear_1p58: W_hat = gamma * W_t with one gamma per tensor.
	gamma := meanAbs(l.W)
	for o := range l.Out {
		for i := range l.In {
			p.Set(o, i, int(code1p58(l.W[o*l.In+i], gamma)))
		}
	}
	fill(p.Scales, gamma)
	return p
}

// SetActBits sets the activation bits a of the absmax and clip4 quantizers.
func (inf *Inference) SetActBits(a int) {
	if a < 2 || a > 8 {
		panic(fmt.Sprintf("model: activation bits %d outside 2..8", a))
	}
	inf.ActBits = a
}

// SetThreads sets Threads and passes it on to every projection, the
// embedding and the head that take a thread bound (SetThreads(int)), so a
// step can keep to the CPU slots it holds without changing the process-wide
// GOMAXPROCS. The element-wise kernels of a forward (norms, SwiGLU, RoPE,
// residual adds: O(n C) of the O(n C^2) work) keep the package default.
func (inf *Inference) SetThreads(t int) {
	inf.Threads = t
	set := func(x any) {
		if s, ok := x.(interface{ SetThreads(int) }); ok {
			s.SetThreads(t)
		}
	}
	set(inf.Embed)
	set(inf.Head)
	for _, b := range inf.Blocks {
		for _, p := range []Proj{b.Q, b.K, b.V, b.O, b.Gate, b.Up, b.Down} {
			set(p)
		}
	}
}

// Bytes returns the memory of the inference weights counted from the
// tensors: the embedding table, norm gains, every projection's Bytes, and
// the head unless it is tied to the embedding.
func (inf *Inference) Bytes() int64 {
	n := inf.Embed.Bytes() + 4*int64(len(inf.Norm))
	for _, b := range inf.Blocks {
		n += 4 * int64(len(b.AttnNorm)+len(b.MLPNorm))
		for _, p := range []Proj{b.Q, b.K, b.V, b.O, b.Gate, b.Up, b.Down} {
			n += p.Bytes()
		}
	}
	if !inf.TiedHead {
		n += inf.Head.Bytes()
	}
	return n
}

// attnParallelWork is the size n*L*inner of the attention products (n
// new tokens against L cached ones) from which a forward spreads the heads
// over goroutines.
const attnParallelWork = 1 << 18

// Session is one sequence being decoded with a KV cache.
type Session struct {
	inf  *Inference
	maxT int
	pos  int
	kT   [][]float32 // per layer (NH,HD,maxT): keys transposed, for the a*b product
	vc   [][]float32 // per layer (NH,maxT,HD)

	n                       int
	x, ln, q, k, v, atty, o []float32
	g, u, h, logits, scores []float32
}

// NewSession returns an empty session for up to maxT tokens (at most
// block_size).
func (inf *Inference) NewSession(maxT int) *Session {
	cfg := inf.Cfg
	if maxT <= 0 || maxT > cfg.BlockSize {
		panic(fmt.Sprintf("model: session length %d outside 1..%d", maxT, cfg.BlockSize))
	}
	s := &Session{inf: inf, maxT: maxT}
	I := cfg.NHead * cfg.HeadDim
	for range cfg.NLayer {
		s.kT = append(s.kT, make([]float32, I*maxT))
		s.vc = append(s.vc, make([]float32, I*maxT))
	}
	return s
}

// CacheBytes returns the memory of the KV cache, counted from its buffers:
// keys and values of every layer for maxT tokens, float32.
func (s *Session) CacheBytes() int64 {
	var n int64
	for l := range s.kT {
		n += 4 * int64(len(s.kT[l])+len(s.vc[l]))
	}
	return n
}

// ActivationBytes returns the memory of the activation buffers, counted
// from them: sized by the largest forward so far (x, ln, o (n,C); q, k, v,
// attention output (n,inner); gate, up, SwiGLU (n,mlp_hidden); logits (n,V);
// attention scores (n_head,n,maxT)).
func (s *Session) ActivationBytes() int64 {
	var n int
	for _, b := range [][]float32{s.x, s.ln, s.q, s.k, s.v, s.atty, s.o, s.g, s.u, s.h, s.logits, s.scores} {
		n += len(b)
	}
	return 4 * int64(n)
}

// RoPEBytes returns the memory of the rotary tables (cos and sin,
// (block_size, head_dim/2) each), 0 without RoPE.
func (inf *Inference) RoPEBytes() int64 { return 4 * int64(len(inf.cos)+len(inf.sin)) }

// Pos returns the number of tokens in the cache.
func (s *Session) Pos() int { return s.pos }

// Reset empties the cache.
func (s *Session) Reset() { s.pos = 0 }

func (s *Session) grow(n int) {
	if n <= s.n {
		return
	}
	cfg := s.inf.Cfg
	C, I, H, V := cfg.NEmbd, cfg.NHead*cfg.HeadDim, cfg.MLPHidden, cfg.VocabSize
	f := func(k int) []float32 { return make([]float32, k) }
	s.n = n
	s.x, s.ln, s.q, s.k, s.v, s.atty, s.o = f(n*C), f(n*C), f(n*I), f(n*I), f(n*I), f(n*I), f(n*C)
	s.g, s.u, s.h, s.logits = f(n*H), f(n*H), f(n*H), f(n*V)
	s.scores = f(cfg.NHead * n * s.maxT)
}

// Forward appends ids to the sequence and returns their logits (n,V), each
// row predicting the next token. The slice is reused by the next call. The
// arithmetic is the training forward's, row for row, so the logits match a
// full Forward of the whole sequence, except with adaptive projections under
// adaptive_linear_quantize_input: their per-tensor input scale spans the
// tokens of one call, so a call's tokens see different scales than in a
// full Forward (see Config.AdaptiveLinearQuantizeInput).
func (s *Session) Forward(ids []int32) ([]float32, error) {
	return s.ForwardFunc(ids, nil)
}

// ForwardFunc is Forward calling afterLayer (if not nil) after each block:
// a long forward (a 7B model) can report progress and stop between layers.
// An error from afterLayer stops the pass and is returned; the session must
// then be Reset before it is used again.
func (s *Session) ForwardFunc(ids []int32, afterLayer func(layer int) error) ([]float32, error) {
	inf, cfg := s.inf, s.inf.Cfg
	n := len(ids)
	if n == 0 {
		return nil, nil
	}
	if s.pos+n > s.maxT {
		return nil, fmt.Errorf("session: %d tokens exceed its length %d", s.pos+n, s.maxT)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= cfg.VocabSize {
			return nil, fmt.Errorf("session: token id %d outside vocabulary of %d", id, cfg.VocabSize)
		}
	}
	s.grow(n)
	C, V, NH, HD, H := cfg.NEmbd, cfg.VocabSize, cfg.NHead, cfg.HeadDim, cfg.MLPHidden
	I := NH * HD
	a := inf.ActBits
	x, ln, q, k, v, atty, o := s.x[:n*C], s.ln[:n*C], s.q[:n*I], s.k[:n*I], s.v[:n*I], s.atty[:n*I], s.o[:n*C]
	g, u, h, logits := s.g[:n*H], s.u[:n*H], s.h[:n*H], s.logits[:n*V]
	rms := make([]float32, n)
	inf.Embed.Lookup(x, ids)
	if inf.Clip4Embed {
		clip4Forward(x, x, a)
	}
	pos0, L := s.pos, s.pos+n
	// The heads go to other goroutines only when their products are worth a
	// hand-off (a decode step's are a few thousand multiply-adds, and
	// waking a helper for them made two threads slower than one). Each
	// head is computed whole by one goroutine either way.
	attnThreads := inf.Threads
	if n*L*I < attnParallelWork {
		attnThreads = 1
	}
	for l, b := range inf.Blocks {
		rmsnormForward(ln, rms, x, b.AttnNorm, n, C)
		b.Q.Forward(q, ln, n, a)
		b.K.Forward(k, ln, n, a)
		b.V.Forward(v, ln, n, a)
		if cfg.RoPE {
			ropeForward(q, inf.cos, inf.sin, n, n, pos0, NH, HD)
			ropeForward(k, inf.cos, inf.sin, n, n, pos0, NH, HD)
		}
		kT, vc := s.kT[l], s.vc[l]
		for r := range n {
			for hd := range NH {
				for d := range HD {
					kT[(hd*HD+d)*s.maxT+pos0+r] = k[r*I+hd*HD+d]
				}
				copy(vc[(hd*s.maxT+pos0+r)*HD:(hd*s.maxT+pos0+r+1)*HD], v[r*I+hd*HD:r*I+(hd+1)*HD])
			}
		}
		scale := float32(1 / math.Sqrt(float64(HD)))
		parallelForN(attnThreads, NH, 1, func(lo, hi int) {
			for hd := lo; hd < hi; hd++ {
				sc := s.scores[hd*n*s.maxT : hd*n*s.maxT+n*L]
				matmul(sc, L, q[hd*HD:], I, false, kT[hd*HD*s.maxT:], s.maxT, n, L, HD, false)
				for r := range n {
					row := sc[r*L : (r+1)*L]
					softmaxMasked(row[:pos0+r+1], scale, nil)
					clear(row[pos0+r+1:])
				}
				matmul(atty[hd*HD:], I, sc, L, false, vc[hd*s.maxT*HD:], HD, n, HD, L, false)
			}
		})
		b.O.Forward(o, atty, n, a)
		if b.Clip4O {
			clip4Forward(o, o, a)
		}
		residualForward(x, x, o)
		rmsnormForward(ln, rms, x, b.MLPNorm, n, C)
		b.Gate.Forward(g, ln, n, a)
		b.Up.Forward(u, ln, n, a)
		swigluForward(h, g, u, len(h))
		b.Down.Forward(o, h, n, a)
		if b.Clip4Down {
			clip4Forward(o, o, a)
		}
		residualForward(x, x, o)
		if afterLayer != nil {
			if err := afterLayer(l); err != nil {
				return nil, err
			}
		}
	}
	rmsnormForward(ln, rms, x, inf.Norm, n, C)
	inf.Head.Forward(logits, ln, n, a)
	s.pos += n
	return logits, nil
}
