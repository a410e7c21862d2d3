package model

import "math"

// AdamW is the decoupled-weight-decay Adam optimizer over a model's flat
// parameter buffer, with PyTorch's update rule:
//
//	p -= lr * wd * p                        (decay tensors only)
//	m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//	p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	M, V                           []float32 // first and second moments, like Params
	T                              int64     // completed update count
	decay                          []bool    // per parameter element
}

// NewAdamW returns an optimizer for m whose weight decay applies only to the
// 2-D weight matrices (Tensor.Decay).
func NewAdamW(m *Model, beta1, beta2, eps, weightDecay float64) *AdamW {
	n := len(m.Params)
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay,
		M: make([]float32, n), V: make([]float32, n), decay: make([]bool, n)}
	for _, t := range m.Tensors() {
		if t.Decay {
			for i := t.Offset; i < t.Offset+t.Size(); i++ {
				o.decay[i] = true
			}
		}
	}
	return o
}

// Step performs one AdamW update of params with grads at learning rate lr.
// Every element is independent, so the parallel split cannot change bits.
func (o *AdamW) Step(params, grads []float32, lr float64) {
	o.T++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.T))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.T))
	runPooled(&adamPool, len(params), 1<<14, adamKernel{o: o, params: params, grads: grads, lr: lr, bc1: bc1, bc2: bc2})
}

type adamKernel struct {
	o             *AdamW
	params, grads []float32
	lr, bc1, bc2  float64
}

var adamPool freeList[adamKernel]

func (k *adamKernel) run(lo, hi int) {
	o, lr, bc1, bc2 := k.o, k.lr, k.bc1, k.bc2
	params, grads, M, V, decay := k.params[lo:hi], k.grads[lo:hi], o.M[lo:hi], o.V[lo:hi], o.decay[lo:hi]
	for i := range params {
		p, g := float64(params[i]), float64(grads[i])
		if decay[i] {
			p -= lr * o.WeightDecay * p
		}
		m := o.Beta1*float64(M[i]) + (1-o.Beta1)*g
		v := o.Beta2*float64(V[i]) + (1-o.Beta2)*g*g
		M[i], V[i] = float32(m), float32(v)
		p -= lr * (m / bc1) / (math.Sqrt(v/bc2) + o.Eps)
		params[i] = float32(p)
	}
}

// CosineLR returns the learning rate at step it (0-based): linear warmup
// lr*(it+1)/(warmup+1) for it < warmup, then cosine decay from lr to minLR
// reaching minLR at maxIters, and minLR after it (nanoGPT's get_lr).
func CosineLR(it, warmup, maxIters int, lr, minLR float64) float64 {
	if it < warmup {
		return lr * float64(it+1) / float64(warmup+1)
	}
	if it >= maxIters {
		return minLR
	}
	ratio := float64(it-warmup) / float64(max(1, maxIters-warmup))
	coeff := 0.5 * (1 + math.Cos(math.Pi*ratio))
	return minLR + coeff*(lr-minLR)
}

// normChunk is the fixed chunk of the global-norm reduction: partial sums
// over fixed chunks, added in chunk order, give the same bits at any
// thread count.
const normChunk = 1 << 14

// GradNorm returns the global L2 norm of g, summed in float64.
func GradNorm(g []float32) float64 {
	chunks := (len(g) + normChunk - 1) / normChunk
	sp := normPartPool.get()
	if cap(*sp) < chunks {
		*sp = make([]float64, chunks)
	}
	part := (*sp)[:chunks]
	runPooled(&gradPool, chunks, 1, gradKernel{g: g, part: part})
	var s float64
	for _, p := range part {
		s += p
	}
	normPartPool.put(sp)
	return math.Sqrt(s)
}

// normPartPool holds GradNorm's per-chunk partial sums.
var normPartPool freeList[[]float64]

// gradKernel is GradNorm's partial sums over the chunks [lo,hi) of
// normChunk values (part not nil), or ClipGrads' scaling of g[lo:hi] by c.
type gradKernel struct {
	g    []float32
	part []float64
	c    float32
}

var gradPool freeList[gradKernel]

func (k *gradKernel) run(lo, hi int) {
	if k.part == nil {
		g, c := k.g[lo:hi], k.c
		for i := range g {
			g[i] *= c
		}
		return
	}
	for c := lo; c < hi; c++ {
		var s float64
		for _, v := range k.g[c*normChunk : min((c+1)*normChunk, len(k.g))] {
			s += float64(v) * float64(v)
		}
		k.part[c] = s
	}
}

// ClipGrads performs g *= clip / (norm + 1e-6) when norm > clip, as
// torch.nn.utils.clip_grad_norm_, given norm = GradNorm(g). clip <= 0
// disables clipping.
func ClipGrads(g []float32, norm, clip float64) {
	if clip <= 0 || norm <= clip {
		return
	}
	c := float32(clip / (norm + 1e-6))
	runPooled(&gradPool, len(g), 1<<14, gradKernel{g: g, c: c})
}
