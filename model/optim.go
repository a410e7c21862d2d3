package model

import (
	"math"
)

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
	parallelFor(len(params), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p, g := float64(params[i]), float64(grads[i])
			if o.decay[i] {
				p -= lr * o.WeightDecay * p
			}
			m := o.Beta1*float64(o.M[i]) + (1-o.Beta1)*g
			v := o.Beta2*float64(o.V[i]) + (1-o.Beta2)*g*g
			o.M[i], o.V[i] = float32(m), float32(v)
			p -= lr * (m / bc1) / (math.Sqrt(v/bc2) + o.Eps)
			params[i] = float32(p)
		}
	})
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
	part := make([]float64, chunks)
	parallelFor(chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for _, v := range g[c*normChunk : min((c+1)*normChunk, len(g))] {
				s += float64(v) * float64(v)
			}
			part[c] = s
		}
	})
	var s float64
	for _, p := range part {
		s += p
	}
	return math.Sqrt(s)
}

// ClipGrads performs g *= clip / (norm + 1e-6) when norm > clip, as
// torch.nn.utils.clip_grad_norm_, given norm = GradNorm(g). clip <= 0
// disables clipping.
func ClipGrads(g []float32, norm, clip float64) {
	if clip <= 0 || norm <= clip {
		return
	}
	c := float32(clip / (norm + 1e-6))
	parallelFor(len(g), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g[i] *= c
		}
	})
}
