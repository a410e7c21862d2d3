package dryrun

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bitflow-dev/bitflow/model"
)

// Embedding and head dtypes of the `embed_dtype` param.
const (
	DTypeF16  = "fp16"
	DTypeInt8 = "int8"
)

// The random model's weight scales. Tables are N(0, 0.02^2), the spec's
// init. A ternary row's scale makes its output unit-variance for a
// unit-RMS input (E[Q^2] = 2/3 for uniform codes): 1/sqrt(2 in/3); the
// projections that write into the residual stream (o, down) are further
// divided by sqrt(2 n_layer), as GPT-2 does, so the stream does not grow
// with depth. The point is a forward whose activations look like a
// network's (RMSNorm inputs of unit scale, logits of order one), so that
// the A8 -> A4 comparison means something.
const tableStd = 0.02

// Seed paths of the generated tensors (model.DeriveSeed(seed, path...)).
const (
	seedEmbed uint64 = iota + 1
	seedHead
	seedBlock // then layer, site index
	seedTokens
)

// Build returns cfg's packed inference model with weights generated from
// seed: every projection a model.SeededTernaryProj (2-bit codes drawn
// straight into the packed bytes, integer activations), embedding and head
// fp16 or int8 tables (dtype), norm gains 1. No fp32 weight matrix is ever
// allocated. Work runs on at most threads goroutines with a result that does
// not depend on threads; afterLayer (if not nil) is called after each
// block is built, and ctx is checked between blocks.
func Build(ctx context.Context, cfg model.Config, dtype string, seed uint64, threads int, afterLayer func(layer int)) (*model.Inference, error) {
	inf, err := model.NewInference(cfg)
	if err != nil {
		return nil, err
	}
	cfg = inf.Cfg
	C, I, H, V, L := cfg.NEmbd, cfg.Inner(), cfg.MLPHidden, cfg.VocabSize, cfg.NLayer
	switch dtype {
	case DTypeF16:
		inf.Embed = model.RandomF16Table(V, C, tableStd, model.DeriveSeed(seed, seedEmbed), threads)
		inf.Head = model.RandomF16Table(V, C, tableStd, model.DeriveSeed(seed, seedHead), threads)
	case DTypeInt8:
		inf.Embed = model.RandomInt8Table(V, C, tableStd, model.DeriveSeed(seed, seedEmbed), threads)
		inf.Head = model.RandomInt8Table(V, C, tableStd, model.DeriveSeed(seed, seedHead), threads)
	default:
		return nil, fmt.Errorf("embed_dtype: unknown dtype %q (want %s or %s)", dtype, DTypeF16, DTypeInt8)
	}
	inf.Norm = ones(C)
	residual := 1 / math.Sqrt(2*float64(L))
	// Site shapes in model.Sites order: q, k, v, o, gate, up, down.
	shapes := [7]struct {
		in, out  int
		residual bool
	}{{C, I, false}, {C, I, false}, {C, I, false}, {I, C, true}, {C, H, false}, {C, H, false}, {H, C, true}}
	for l := range L {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ps [7]model.Proj
		for j, s := range shapes {
			scale := 1 / math.Sqrt(2*float64(s.in)/3)
			if s.residual {
				scale *= residual
			}
			ps[j] = model.SeededTernaryProj(s.in, s.out, true, float32(scale), model.DeriveSeed(seed, seedBlock, uint64(l), uint64(j)), threads)
		}
		inf.Blocks = append(inf.Blocks, model.InferBlock{AttnNorm: ones(C), MLPNorm: ones(C),
			Q: ps[0], K: ps[1], V: ps[2], O: ps[3], Gate: ps[4], Up: ps[5], Down: ps[6]})
		if afterLayer != nil {
			afterLayer(l)
		}
	}
	inf.SetThreads(threads)
	return inf, nil
}

// Tokens returns n token ids drawn uniformly from the vocabulary of V by a
// stream of seed.
func Tokens(seed uint64, n, V int) []int32 {
	rng := rand.New(rand.NewPCG(model.DeriveSeed(seed, seedTokens), 0))
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(V))
	}
	return ids
}

func ones(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	return x
}
