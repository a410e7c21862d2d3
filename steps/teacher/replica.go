package teacher

import (
	"context"
	"fmt"
	"sync"

	"github.com/bitflow-dev/bitflow/model"
)

// Why replicas: a model.Session is private to one generation, but the
// projections of a model.Inference are not read-only. DenseProj keeps the
// quantized input of its last Forward (when the site quantizes inputs:
// bitlinear under absmax_token, adaptive), and TernaryProj its integer
// activations and lookup tables. Two goroutines generating on one Inference
// would share those buffers. A fp32 teacher never touches them, but a
// student served by `bitflow serve` does.
//
// So each concurrent generation gets a replica: a copy of the Inference
// whose projection structs are copied too, sharing the weight slices (read
// only) with the template. The template is never run, so its scratch
// buffers are still nil when copied and every replica allocates its own on
// first use. This leans on model's projections keeping nothing but lazily
// allocated scratch besides their weights; the race-detector tests of this
// package run quantized and packed models concurrently to hold it to that.

// replicaPool hands out at most n replicas of template, made on demand.
type replicaPool struct {
	template *model.Inference
	slots    chan struct{} // one token per replica in use
	mu       sync.Mutex
	idle     []*model.Inference
}

func newReplicaPool(template *model.Inference, n int) (*replicaPool, error) {
	// Check now that every projection can be replicated, so a request
	// never fails for it.
	if _, err := replicate(template); err != nil {
		return nil, err
	}
	return &replicaPool{template: template, slots: make(chan struct{}, n)}, nil
}

// acquire waits for a free slot and returns an idle replica or a new one.
func (p *replicaPool) acquire(ctx context.Context) (*model.Inference, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		inf := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return inf, nil
	}
	inf, err := replicate(p.template)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return inf, nil
}

// release returns a replica acquired from p.
func (p *replicaPool) release(inf *model.Inference) {
	p.mu.Lock()
	p.idle = append(p.idle, inf)
	p.mu.Unlock()
	<-p.slots
}

// replicate returns a copy of t sharing its weights, with its own
// projection structs.
func replicate(t *model.Inference) (*model.Inference, error) {
	r := *t
	r.Blocks = make([]model.InferBlock, len(t.Blocks))
	var err error
	if r.Head, err = replicateProj(t.Head); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	for i, b := range t.Blocks {
		for _, p := range []*model.Proj{&b.Q, &b.K, &b.V, &b.O, &b.Gate, &b.Up, &b.Down} {
			if *p, err = replicateProj(*p); err != nil {
				return nil, fmt.Errorf("block %d: %w", i, err)
			}
		}
		r.Blocks[i] = b
	}
	return &r, nil
}

// replicateProj copies a projection struct: the weights are shared, the
// (still nil) scratch becomes the copy's own.
func replicateProj(p model.Proj) (model.Proj, error) {
	switch p := p.(type) {
	case *model.DenseProj:
		c := *p
		return &c, nil
	case *model.TernaryProj:
		c := *p
		return &c, nil
	}
	return nil, fmt.Errorf("cannot replicate a projection of type %T for concurrent use", p)
}
