package model

import "fmt"

// activations holds what one forward pass keeps for its backward pass, and
// the backward pass's scratch, for one (B,T).
type activations struct {
	B, T   int
	ids    []int32
	valid  []bool
	res    [][]float32 // n_layer+1 residual streams (BT,C); res[0] = embedding
	layers []layerActs
	lnf    []float32 // (BT,C)
	rmsf   []float32 // (BT)
	logits []float32 // (BT,V)

	kT    []float32 // (B,NH,HD,T) scratch
	datt  []float32 // (B,NH,T,T)
	dres  []float32 // (BT,C)
	dln   []float32 // (BT,C)
	dq    []float32 // (BT,I)
	dk    []float32
	dv    []float32
	datty []float32
	dh    []float32 // (BT,H)
	dg    []float32
	du    []float32
	dwHat []float32 // (max Out*In)
}

type layerActs struct {
	ln1, rms1 []float32 // (BT,C), (BT)
	q, k, v   []float32 // (BT,I); q and k after RoPE
	att       []float32 // (B,NH,T,T)
	atty      []float32 // (BT,I)
	ao        []float32 // (BT,C)
	res2      []float32 // (BT,C)
	ln2, rms2 []float32
	g, u, h   []float32 // (BT,H); h is stored only when down does not quantize it
	sg        []float32 // (BT,H) sigma(g), for the SwiGLU backward
	mo        []float32 // (BT,C)

	// Inputs of the projections quantized absmax_token, shared by the
	// sites that read them (allocated on first use): ln1's for q, k, v,
	// ln2's for gate, up, and h's for down.
	xq1, xq2, xqh []float32
}

func newActivations(cfg Config, B, T int) *activations {
	N, C, V, I, H, NH, HD := B*T, cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.MLPHidden, cfg.NHead, cfg.HeadDim
	f := func(n int) []float32 { return make([]float32, n) }
	a := &activations{B: B, T: T, lnf: f(N * C), rmsf: f(N), logits: f(N * V),
		kT: f(B * NH * HD * T), datt: f(B * NH * T * T), dres: f(N * C), dln: f(N * C),
		dq: f(N * I), dk: f(N * I), dv: f(N * I), datty: f(N * I), dh: f(N * H), dg: f(N * H), du: f(N * H),
		dwHat: f(max(C*I, C*H))}
	for range cfg.NLayer + 1 {
		a.res = append(a.res, f(N*C))
	}
	for range cfg.NLayer {
		a.layers = append(a.layers, layerActs{ln1: f(N * C), rms1: f(N), q: f(N * I), k: f(N * I), v: f(N * I),
			att: f(B * NH * T * T), atty: f(N * I), ao: f(N * C), res2: f(N * C), ln2: f(N * C), rms2: f(N),
			g: f(N * H), u: f(N * H), h: f(N * H), sg: f(N * H), mo: f(N * C)})
	}
	return a
}

// Forward computes logits (B,T,V) for the token ids (B,T). valid (B,T) marks
// the non-padding positions (nil = all): padding keys are masked out of
// attention. The logits slice belongs to the model and is overwritten by the
// next Forward. It returns an error for a token id outside the vocabulary or
// a sequence longer than block_size.
func (m *Model) Forward(ids []int32, valid []bool, B, T int) ([]float32, error) {
	cfg := m.cfg
	if len(ids) != B*T || (valid != nil && len(valid) != B*T) {
		panic(fmt.Sprintf("model: Forward with %d ids, %d valid for B=%d T=%d", len(ids), len(valid), B, T))
	}
	if T > cfg.BlockSize {
		return nil, fmt.Errorf("sequence length %d exceeds block_size %d", T, cfg.BlockSize)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= cfg.VocabSize {
			return nil, fmt.Errorf("token id %d at position %d outside vocabulary of %d", id, i, cfg.VocabSize)
		}
	}
	if m.acts == nil || m.acts.B != B || m.acts.T != T {
		m.acts = newActivations(cfg, B, T)
	}
	a := m.acts
	a.ids, a.valid = ids, valid
	N, C, V, NH, HD := B*T, cfg.NEmbd, cfg.VocabSize, cfg.NHead, cfg.HeadDim
	bits := m.actBits

	encoderForward(a.res[0], m.wte, ids, N, C)
	if m.clip4Embed {
		clip4Forward(a.res[0], a.res[0], bits)
	}
	for l := range m.blocks {
		b, la, x := &m.blocks[l], &a.layers[l], a.res[l]
		for _, lin := range b.linears() {
			lin.prepare()
		}
		la.xq1 = normQuantForward(la.ln1, la.xq1, la.rms1, x, b.ln1, N, C, bits, b.q, b.k, b.v)
		projForward(b.q, la.q, la.ln1, la.xq1, N, bits)
		projForward(b.k, la.k, la.ln1, la.xq1, N, bits)
		projForward(b.v, la.v, la.ln1, la.xq1, N, bits)
		if cfg.RoPE {
			ropeForward(la.q, m.cos, m.sin, N, T, 0, NH, HD)
			ropeForward(la.k, m.cos, m.sin, N, T, 0, NH, HD)
		}
		attentionForward(la.atty, la.att, a.kT, la.q, la.k, la.v, valid, B, T, NH, HD)
		b.o.forward(la.ao, la.atty, N, bits)
		if b.clip4O {
			clip4Forward(la.ao, la.ao, bits)
		}
		residualForward(la.res2, x, la.ao)
		la.xq2 = normQuantForward(la.ln2, la.xq2, la.rms2, la.res2, b.ln2, N, C, bits, b.gate, b.up)
		projForward(b.gate, la.g, la.ln2, la.xq2, N, bits)
		projForward(b.up, la.u, la.ln2, la.xq2, N, bits)
		if H := cfg.MLPHidden; b.down.inQuant == inputAbsmaxToken {
			// h is only the input of down, which keeps its quantized copy:
			// quantize it as it is made and never store it.
			if cap(la.xqh) < N*H {
				la.xqh = make([]float32, N*H)
			}
			swigluQuantForward(nil, la.xqh, la.sg, la.g, la.u, N*H, H, bits)
			b.down.forwardQuantized(la.mo, la.xqh, N)
		} else {
			swigluForwardSig(la.h, la.sg, la.g, la.u, N*H)
			b.down.forward(la.mo, la.h, N, bits)
		}
		if b.clip4Down {
			clip4Forward(la.mo, la.mo, bits)
		}
		residualForward(a.res[l+1], la.res2, la.mo)
	}
	rmsnormForward(a.lnf, a.rmsf, a.res[cfg.NLayer], m.lnf, N, C)
	parallelTranspose(m.headT, V, m.head, C, V, C)
	matmul(a.logits, V, a.lnf, C, false, m.headT, V, N, V, C, false)
	return a.logits, nil
}

// normQuantForward performs the RMSNorm of inp (N,C) with gain g ahead of
// the projections ls, which all read its output: into ln when a site takes
// it unquantized, and, fused with it, its absmax_token quantization at bits
// into xq (grown to N*C if needed, and returned) when a site takes that.
// The sites that quantize then share one quantized copy, made once.
func normQuantForward(ln, xq, rms, inp, g []float32, N, C, bits int, ls ...*Linear) []float32 {
	raw, quant := false, false
	for _, l := range ls {
		if l.inQuant == inputAbsmaxToken {
			quant = true
		} else {
			raw = true
		}
	}
	if !quant {
		rmsnormForward(ln, rms, inp, g, N, C)
		return xq
	}
	if cap(xq) < N*C {
		xq = make([]float32, N*C)
	}
	xq = xq[:N*C]
	if !raw {
		ln = nil
	}
	rmsnormQuantForward(ln, xq, rms, inp, g, N, C, bits)
	return xq
}

// projForward runs the projection l on ln, or on its shared quantized copy
// xq when l quantizes absmax_token (see normQuantForward).
func projForward(l *Linear, out, ln, xq []float32, N, bits int) {
	if l.inQuant == inputAbsmaxToken {
		l.forwardQuantized(out, xq, N)
		return
	}
	l.forward(out, ln, N, bits)
}

// residualForward performs out = x + y.
func residualForward(out, x, y []float32) {
	for i := range out {
		out[i] = x[i] + y[i]
	}
}

// Backward accumulates into Grads the gradients of a loss whose gradient with
// respect to the last Forward's logits is dlogits (B,T,V). The clip4 and
// activation quantizers are straight-through.
func (m *Model) Backward(dlogits []float32) {
	a := m.acts
	if a == nil {
		panic("model: Backward before Forward")
	}
	cfg := m.cfg
	B, T := a.B, a.T
	N, C, V, NH, HD := B*T, cfg.NEmbd, cfg.VocabSize, cfg.NHead, cfg.HeadDim
	if len(dlogits) != N*V {
		panic(fmt.Sprintf("model: Backward with %d dlogits, want %d", len(dlogits), N*V))
	}
	// Head: logits = lnf head^T.
	clear(a.dln)
	matmul(a.dln, C, dlogits, V, false, m.head, C, N, C, V, true)
	matmul(m.dhead, C, dlogits, V, true, a.lnf, C, V, C, N, true)
	clear(a.dres)
	rmsnormBackward(a.dres, m.dlnf, a.dln, a.res[cfg.NLayer], m.lnf, a.rmsf, N, C)

	for l := cfg.NLayer - 1; l >= 0; l-- {
		b, la := &m.blocks[l], &a.layers[l]
		// MLP: res[l+1] = res2 + down(SiLU(gate(ln2)) * up(ln2)); clip4 is STE.
		clear(a.dh)
		b.down.backward(a.dh, a.dres, la.h, a.dwHat, N)
		clear(a.dg)
		clear(a.du)
		swigluBackwardSig(a.dg, a.du, a.dh, la.sg, la.g, la.u, len(a.dh))
		clear(a.dln)
		b.gate.backward(a.dln, a.dg, la.ln2, a.dwHat, N)
		b.up.backward(a.dln, a.du, la.ln2, a.dwHat, N)
		rmsnormBackward(a.dres, b.dln2, a.dln, la.res2, b.ln2, la.rms2, N, C)
		// Attention: res2 = res[l] + o(attn(q(ln1), k(ln1), v(ln1))).
		clear(a.datty)
		b.o.backward(a.datty, a.dres, la.atty, a.dwHat, N)
		clear(a.dq)
		clear(a.dk)
		clear(a.dv)
		attentionBackward(a.dq, a.dk, a.dv, a.datt, a.kT, a.datty, la.q, la.k, la.v, la.att, B, T, NH, HD)
		if cfg.RoPE {
			ropeBackward(a.dq, m.cos, m.sin, N, T, 0, NH, HD)
			ropeBackward(a.dk, m.cos, m.sin, N, T, 0, NH, HD)
		}
		clear(a.dln)
		b.q.backward(a.dln, a.dq, la.ln1, a.dwHat, N)
		b.k.backward(a.dln, a.dk, la.ln1, a.dwHat, N)
		b.v.backward(a.dln, a.dv, la.ln1, a.dwHat, N)
		rmsnormBackward(a.dres, b.dln1, a.dln, a.res[l], b.ln1, la.rms1, N, C)
	}
	encoderBackward(m.dwte, a.dres, a.ids, N, C)
}
