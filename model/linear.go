package model

import "math"

// inputQuant says how a projection fake-quantizes its input.
type inputQuant int

const (
	inputNone        inputQuant = iota
	inputAbsmaxToken            // per row at the model's activation bits (bitlinear, 1p58)
	inputPerTensor              // per tensor at adaptive_linear_activation_bits
)

// Linear is one projection site, y (n,Out) = x_q (n,In) * W_hat^T, where
// W_hat is the variant's effective weight (spec §2) and x_q the quantized
// input. Its parameter slices are views into the model's flat buffers.
type Linear struct {
	Name      string // checkpoint prefix, e.g. "blocks.0.attn.q_proj"
	Variant   string
	In, Out   int
	W, DW     []float32 // (Out,In) latent weights
	S, DS     []float32 // (Out) per-row scale, bitlinear only
	Bit, DBit []float32 // (1) bit_param, adaptive only

	inQuant inputQuant
	inBits  int     // bits of inputPerTensor
	minBits float64 // adaptive bounds
	maxBits float64
	lsq     bool // adaptive_linear_grad == lsq

	// Refreshed by prepare from the current weights.
	wHat  []float32 // (Out,In)
	wHatT []float32 // (In,Out), for the seam's a*b form
	aux   []float32 // (Out,In): Q for bitlinear, round(v)-v for adaptive lsq
	bits  int       // adaptive: rounded bit width b
	dsdb  float32   // adaptive: dscale/db at b

	xq    []float32 // (n,In) quantized input of the last forward: xqBuf or a shared buffer
	xqBuf []float32 // the site's own buffer for xq
}

func newLinear(name, variant string, in, out int, cfg Config) *Linear {
	l := &Linear{Name: name, Variant: variant, In: in, Out: out,
		minBits: cfg.AdaptiveLinearMinBits, maxBits: cfg.AdaptiveLinearMaxBits,
		lsq: cfg.AdaptiveLinearGrad == "lsq", inBits: cfg.AdaptiveLinearActivationBits}
	switch {
	case ternarySite(variant) && cfg.ActQuant == ActQuantAbsmaxToken:
		l.inQuant = inputAbsmaxToken
	case variant == VariantAdaptive && cfg.AdaptiveLinearQuantizeInput:
		l.inQuant = inputPerTensor
	}
	l.wHatT = make([]float32, in*out)
	if variant != VariantLinear {
		l.wHat = make([]float32, in*out)
	}
	if variant == VariantBitLinear || (variant == VariantAdaptive && l.lsq) {
		l.aux = make([]float32, in*out)
	}
	return l
}

// addTensors registers the site's tensors in l's checkpoint names.
func addLinearTensors(lay *layout, name, variant string, in, out int) {
	lay.add(name+".weight", true, out, in)
	switch variant {
	case VariantBitLinear:
		lay.add(name+".scale", false, out)
	case VariantAdaptive:
		lay.add(name+".bit_param", false, 1)
	}
}

func (l *Linear) bind(lay *layout, params, grads []float32) {
	l.W, l.DW = lay.view(params, l.Name+".weight"), lay.view(grads, l.Name+".weight")
	l.S, l.DS = lay.view(params, l.Name+".scale"), lay.view(grads, l.Name+".scale")
	l.Bit, l.DBit = lay.view(params, l.Name+".bit_param"), lay.view(grads, l.Name+".bit_param")
	if l.Variant == VariantLinear {
		l.wHat = l.W
	}
}

// Bits returns the adaptive layer's current bit width b =
// round(clamp(bit_param, min, max)); 0 for other variants.
func (l *Linear) Bits() int {
	if l.Variant != VariantAdaptive {
		return 0
	}
	return int(math.RoundToEven(math.Min(math.Max(float64(l.Bit[0]), l.minBits), l.maxBits)))
}

// BitUsage returns b * numel(W) for an adaptive layer, 0 otherwise.
func (l *Linear) BitUsage() float64 { return float64(l.Bits()) * float64(len(l.W)) }

// bitInRange reports whether min <= bit_param <= max, where the rounding
// STE passes gradients to bit_param.
func (l *Linear) bitInRange() bool {
	b := float64(l.Bit[0])
	return b >= l.minBits && b <= l.maxBits
}

// prepare computes the effective weights W_hat (and W_hat^T) from the
// current parameters. It runs once per forward pass.
func (l *Linear) prepare() {
	W, Out, In := l.W, l.Out, l.In
	switch l.Variant {
	case VariantBitLinear:
		// Delta = 0.7 mean|W|; Q = sign(W) [|W| > Delta]; W_hat = Q * s.
		delta := bitlinearDelta(W)
		// The kernel writes W_hat^T too, while the row is in cache.
		runPooled(&linearPool, Out, grainFor(Out, 2*In), linearKernel{l: l, delta: delta})
		return
	case Variant1p58:
		// gamma = mean|W|; W_hat = gamma * clamp(round(W/(gamma+1e-5)), -1, 1).
		gamma := meanAbs(W)
		for i, w := range W {
			l.wHat[i] = gamma * code1p58(w, gamma)
		}
	case VariantAdaptive:
		b := l.Bits()
		l.bits = b
		qmax := symQmax(b)
		scale := symScale(W, qmax)
		for i, w := range W {
			v := min(max(w/scale, -qmax), qmax)
			r := roundEven(v)
			l.wHat[i] = r * scale
			if l.aux != nil {
				l.aux[i] = r - v
			}
		}
		// scale = M/qmax(b) with qmax = 2^(b-1)-1, so
		// dscale/db = -(M/qmax^2) ln2 2^(b-1) while that qmax >= 1; below, the
		// max(.,1) floor makes scale constant in b.
		l.dsdb = 0
		if m := maxAbs(W); m > 0 && math.Pow(2, float64(b-1))-1 >= 1 {
			q := float64(qmax)
			l.dsdb = float32(-(float64(m) / (q * q)) * math.Ln2 * math.Pow(2, float64(b-1)))
		}
	}
	parallelTranspose(l.wHatT, Out, l.wHat, In, Out, In)
}

// forward performs out (n,Out) = q(inp) (n,In) * W_hat^T, where q is the
// site's input quantizer at actBits (absmax_token) or at the adaptive
// activation bits (per tensor). prepare must have run since the weights
// last changed.
func (l *Linear) forward(out, inp []float32, n, actBits int) {
	x := l.quantInput(inp, n, actBits)
	matmul(out, l.Out, x, l.In, false, l.wHatT, l.Out, n, l.Out, l.In, false)
}

// forwardQuantized performs out (n,Out) = xq (n,In) * W_hat^T for a site
// with absmax_token input quantization, given its input already quantized
// at the model's activation bits (shared by the sites that read the same
// input). xq must stay unchanged until backward.
func (l *Linear) forwardQuantized(out, xq []float32, n int) {
	l.xq = xq[:n*l.In]
	matmul(out, l.Out, l.xq, l.In, false, l.wHatT, l.Out, n, l.Out, l.In, false)
}

// quantInput returns the input the product sees: inp itself, or its
// fake-quantized copy kept in l.xq for the backward pass.
func (l *Linear) quantInput(inp []float32, n, actBits int) []float32 {
	if l.inQuant == inputNone {
		return inp[:n*l.In]
	}
	if cap(l.xqBuf) < n*l.In {
		l.xqBuf = make([]float32, n*l.In)
	}
	l.xq = l.xqBuf[:n*l.In]
	if l.inQuant == inputAbsmaxToken {
		absmaxTokenForward(l.xq, inp, n, l.In, actBits)
	} else {
		symQuantTensor(l.xq, inp[:n*l.In], l.inBits)
	}
	return l.xq
}

// backward accumulates dinp (n,In) += dout (n,Out) * W_hat and the parameter
// gradients, given the forward's inp. The quantizers are straight-through:
// dx = dx_q; bitlinear dW = s * dW_hat and ds_o = sum_i Q_oi dW_hat_oi;
// bitlinear_1p58 and adaptive dW = dW_hat; adaptive lsq
// dbit = sum dW_hat (round(v) - v) * dscale/db inside [min, max].
// dwHat is scratch (Out,In).
func (l *Linear) backward(dinp, dout, inp, dwHat []float32, n int) {
	x := inp[:n*l.In]
	if l.inQuant != inputNone {
		x = l.xq
	}
	Out, In := l.Out, l.In
	if dinp != nil {
		matmul(dinp, In, dout, Out, false, l.wHat, In, n, In, Out, true)
	}
	if l.Variant == VariantLinear {
		matmul(l.DW, In, dout, Out, true, x, In, Out, In, n, true)
		return
	}
	dwHat = dwHat[:Out*In]
	matmul(dwHat, In, dout, Out, true, x, In, Out, In, n, false)
	switch l.Variant {
	case VariantBitLinear:
		runPooled(&linearPool, Out, grainFor(Out, 2*In), linearKernel{l: l, dwHat: dwHat, backward: true})
	case Variant1p58, VariantAdaptive:
		for i, g := range dwHat {
			l.DW[i] += g
		}
		if l.Variant == VariantAdaptive && l.lsq && l.bitInRange() && l.dsdb != 0 {
			var s float64
			for i, g := range dwHat {
				s += float64(g) * float64(l.aux[i])
			}
			l.DBit[0] += float32(s * float64(l.dsdb))
		}
	}
}

// linearKernel is the bitlinear per-row work, split by output row: with
// backward false, prepare's Q, W_hat = Q * s at threshold delta and its
// transpose W_hat^T; with
// backward true, the straight-through gradients dW += s * dW_hat and
// ds_o += sum_i Q_oi dW_hat_oi.
type linearKernel struct {
	l        *Linear
	delta    float32
	dwHat    []float32
	backward bool
}

var linearPool freeList[linearKernel]

func (k *linearKernel) run(lo, hi int) {
	l, In := k.l, k.l.In
	for o := lo; o < hi; o++ {
		s := l.S[o]
		if !k.backward {
			aux, wHat, wHatT, Out := l.aux[o*In:(o+1)*In], l.wHat[o*In:(o+1)*In], l.wHatT, l.Out
			for i, w := range l.W[o*In : (o+1)*In] {
				q := bitlinearCode(w, k.delta)
				aux[i] = q
				wHat[i] = q * s
				wHatT[i*Out+o] = q * s
			}
			continue
		}
		var ds float64
		dw, aux := l.DW[o*In:(o+1)*In], l.aux[o*In:(o+1)*In]
		for i, g := range k.dwHat[o*In : (o+1)*In] {
			dw[i] += s * g
			ds += float64(aux[i]) * float64(g)
		}
		l.DS[o] += float32(ds)
	}
}
