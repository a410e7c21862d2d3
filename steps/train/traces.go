package train

import (
	"fmt"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/traces"
)

// tracesData is distillation data: sequences built from teacher traces,
// whose batches carry the teacher's top-K + other buckets.
type tracesData struct {
	seqs   []traces.Sequence
	k      int
	pad    int32
	tokens int64
}

// loadTraces reads a traces file collected for this student tokenizer
// (tokPath is the tokenizer file, whose hash the rows carry) and builds
// training sequences cut at blockSize, with K = k teacher buckets.
func loadTraces(path, tokPath string, tok *tokenizer.Tokenizer, blockSize, k int) (*tracesData, error) {
	if k < 1 {
		return nil, fmt.Errorf("max_topk must be at least 1, got %d", k)
	}
	rows, err := traces.Read(path)
	if err != nil {
		return nil, err
	}
	hash, err := traces.TokenizerHash(tokPath)
	if err != nil {
		return nil, err
	}
	if err := traces.CheckTokenizer(rows, hash); err != nil {
		return nil, err
	}
	seqs, err := traces.Sequences(rows, tok, blockSize)
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%s: no trainable sequences", path)
	}
	d := &tracesData{seqs: seqs, k: k, pad: padID(tok)}
	for _, s := range seqs {
		for _, m := range s.LossMask {
			if m {
				d.tokens++
			}
		}
	}
	return d, nil
}

func (d *tracesData) Len() int      { return len(d.seqs) }
func (d *tracesData) Tokens() int64 { return d.tokens }

// Batch pads the chosen sequences to the longest of them.
func (d *tracesData) Batch(idx []int) *model.Batch {
	seqs := make([]traces.Sequence, len(idx))
	for i, j := range idx {
		seqs[i] = d.seqs[j]
	}
	return traces.Batch(seqs, 0, d.k, d.pad)
}
