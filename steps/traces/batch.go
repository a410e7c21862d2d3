package traces

import (
	"fmt"
	"math"

	"github.com/bitflow-dev/bitflow/model"
)

// Batch lays sequences out as one model.Batch of B = len(seqs) rows of T
// positions (T = 0: the longest sequence) with K teacher slots:
//   - positions past a sequence's end are padding: input padID, Valid
//     false, target -1, not trained, no teacher ids (all slots -1) and
//     other 0;
//   - a teacher distribution with fewer than k ids fills the remaining
//     slots with id -1 and logprob 0; one with more keeps its k most likely
//     ids and folds the rest into other by log-sum-exp, so the buckets
//     still hold the whole mass.
//
// An empty seqs, k < 1 or a sequence longer than T are programming errors
// (sequences are cut at the block size) and panic.
func Batch(seqs []Sequence, T, k int, padID int32) *model.Batch {
	if len(seqs) == 0 || k < 1 {
		panic(fmt.Sprintf("traces: Batch of %d sequences with K = %d", len(seqs), k))
	}
	if T == 0 {
		for _, s := range seqs {
			T = max(T, len(s.Inputs))
		}
	}
	B := len(seqs)
	b := &model.Batch{
		B: B, T: T, K: k,
		Inputs: make([]int32, B*T), Valid: make([]bool, B*T), Targets: make([]int32, B*T),
		LossMask: make([]bool, B*T), Struct: make([]bool, B*T),
		TopKIDs: make([]int32, B*T*k), TopKLogprobs: make([]float32, B*T*k), OtherLogprob: make([]float32, B*T),
	}
	for i := range b.TopKIDs {
		b.TopKIDs[i] = -1
	}
	for r, s := range seqs {
		if len(s.Inputs) > T {
			panic(fmt.Sprintf("traces: sequence of %d positions in a batch of %d", len(s.Inputs), T))
		}
		for t := range T {
			i := r*T + t
			if t >= len(s.Inputs) {
				b.Inputs[i], b.Targets[i] = padID, -1
				continue
			}
			b.Inputs[i], b.Valid[i], b.Targets[i] = s.Inputs[t], true, s.Targets[t]
			b.LossMask[i], b.Struct[i] = s.LossMask[t], s.Struct[t]
			b.OtherLogprob[i] = fitDist(b.TopKIDs[i*k:(i+1)*k], b.TopKLogprobs[i*k:(i+1)*k], s.Teacher[t])
		}
	}
	return b
}

// fitDist writes d's k most likely ids and logprobs into ids and lps (whose
// unused slots stay -1 and 0) and returns the other logprob, with the mass
// of any ids beyond k added to it.
func fitDist(ids []int32, lps []float32, d Dist) float32 {
	k := len(ids)
	n := min(k, len(d.IDs))
	copy(ids, d.IDs[:n])
	copy(lps, d.Logprobs[:n])
	if len(d.IDs) <= k {
		return d.Other
	}
	rest := []float64{float64(d.Other)}
	for _, lp := range d.Logprobs[k:] {
		rest = append(rest, float64(lp))
	}
	return float32(math.Min(logSumExp(rest), 0))
}
