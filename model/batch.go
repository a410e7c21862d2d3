package model

import (
	"fmt"
	"strings"
)

// Batch is one batch of B sequences of T positions. Position t's logits
// predict Targets[t], the token at t+1.
type Batch struct {
	B, T    int
	Inputs  []int32 // (B,T) token ids
	Valid   []bool  // (B,T) non-padding input positions, masked as attention keys otherwise; nil = all
	Targets []int32 // (B,T) next-token ids; -1 where the target is padding
	// LossMask (B,T) false keeps a position with a target out of the losses
	// (prompt positions); nil = every position with a target is trained.
	LossMask []bool
	// Struct (B,T) marks positions whose target is a structural teacher
	// token, the format loss's positions; nil = none.
	Struct []bool

	// Teacher buckets for KD: K projected ids per position (-1 = padded
	// slot) with their logprobs, and the logprob of the remaining mass
	// (-Inf for a one-hot teacher).
	K            int
	TopKIDs      []int32   // (B,T,K)
	TopKLogprobs []float32 // (B,T,K)
	OtherLogprob []float32 // (B,T)
}

// trained reports whether position i enters the losses.
func (b *Batch) trained(i int) bool {
	return b.Targets[i] >= 0 && (b.LossMask == nil || b.LossMask[i])
}

// SeenTokens returns the number of non-padding target positions, the count
// the A8 -> A4 flip budget is measured in.
func (b *Batch) SeenTokens() int64 {
	var n int64
	for _, y := range b.Targets {
		if y >= 0 {
			n++
		}
	}
	return n
}

// Check reports a batch whose slices do not match its shape.
func (b *Batch) Check(kd bool) error {
	n := b.B * b.T
	if b.B <= 0 || b.T <= 0 {
		return fmt.Errorf("batch: shape %dx%d", b.B, b.T)
	}
	bad := func(name string, got, want int) error {
		return fmt.Errorf("batch: %s has %d entries, want %d", name, got, want)
	}
	switch {
	case len(b.Inputs) != n:
		return bad("inputs", len(b.Inputs), n)
	case len(b.Targets) != n:
		return bad("targets", len(b.Targets), n)
	case b.Valid != nil && len(b.Valid) != n:
		return bad("valid", len(b.Valid), n)
	case b.LossMask != nil && len(b.LossMask) != n:
		return bad("loss mask", len(b.LossMask), n)
	case b.Struct != nil && len(b.Struct) != n:
		return bad("struct", len(b.Struct), n)
	}
	if kd {
		if b.K <= 0 {
			return fmt.Errorf("batch: kd loss needs teacher buckets, K = %d", b.K)
		}
		switch {
		case len(b.TopKIDs) != n*b.K:
			return bad("topk ids", len(b.TopKIDs), n*b.K)
		case len(b.TopKLogprobs) != n*b.K:
			return bad("topk logprobs", len(b.TopKLogprobs), n*b.K)
		case len(b.OtherLogprob) != n:
			return bad("other logprobs", len(b.OtherLogprob), n)
		}
	}
	return nil
}

// IsStructural reports whether a teacher token's text is structural for the
// format loss: it contains any of { } [ ] : , " or three backticks.
func IsStructural(text string) bool {
	return strings.ContainsAny(text, "{}[]:,\"") || strings.Contains(text, "```")
}
