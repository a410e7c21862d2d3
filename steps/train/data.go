package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// dataset is what training draws batches from: Batch assembles the
// sequences at idx into one padded batch; Tokens counts the dataset's
// trained target positions.
type dataset = Dataset

// seq is one corpus training sequence: inputs and next-token targets, with
// the positions whose target is part of the answer marked for the loss.
type seq struct {
	inputs, targets []int32
	train           []bool
}

// corpusData is language-model training on templated prompt+answer text:
// the answer (and the end of sequence) is trained, the prompt is not.
type corpusData struct {
	seqs      []seq
	pad       int32
	tokens    int64
	Truncated int // sequences cut at block_size
	Skipped   int // records whose prompt alone fills the block
}

// corpusSequences encodes records as Template(prompt) + answer + EOS.
func corpusSequences(recs []records.Record, tok *tokenizer.Tokenizer, blockSize int) (*corpusData, error) {
	d := &corpusData{pad: padID(tok)}
	for _, r := range recs {
		prompt := tok.Encode(tokenizer.Template(r.Prompt))
		full := append(append(prompt, tok.EncodeOrdinary(r.Answer)...), tok.EOSID())
		if len(full)-1 > blockSize {
			full = full[:blockSize+1]
			d.Truncated++
		}
		n := len(full) - 1
		s := seq{inputs: full[:n], targets: full[1:], train: make([]bool, n)}
		trained := 0
		for t := range n {
			// Position t predicts full[t+1], part of the answer once t+1
			// reaches the end of the prompt.
			if t+1 >= len(prompt) {
				s.train[t] = true
				trained++
			}
		}
		if trained == 0 {
			d.Skipped++
			continue
		}
		d.tokens += int64(trained)
		d.seqs = append(d.seqs, s)
	}
	if len(d.seqs) == 0 {
		return nil, fmt.Errorf("no trainable sequences: every prompt fills block_size %d", blockSize)
	}
	return d, nil
}

func (d *corpusData) Len() int      { return len(d.seqs) }
func (d *corpusData) Tokens() int64 { return d.tokens }

// Batch pads the sequences to the longest of them: inputs with the pad id
// (and Valid false, so they are never attended to), targets with -1.
func (d *corpusData) Batch(idx []int) *model.Batch {
	T := 0
	for _, i := range idx {
		T = max(T, len(d.seqs[i].inputs))
	}
	B := len(idx)
	b := &model.Batch{B: B, T: T, Inputs: make([]int32, B*T), Valid: make([]bool, B*T),
		Targets: make([]int32, B*T), LossMask: make([]bool, B*T)}
	for r, i := range idx {
		s := d.seqs[i]
		row := r * T
		for t := range T {
			if t < len(s.inputs) {
				b.Inputs[row+t], b.Valid[row+t], b.Targets[row+t], b.LossMask[row+t] = s.inputs[t], true, s.targets[t], s.train[t]
			} else {
				b.Inputs[row+t], b.Targets[row+t] = d.pad, -1
			}
		}
	}
	return b
}

// padID is the token padded positions hold. They are never attended to and
// never trained, so a tokenizer without <|pad|> (a foreign tokenizer.json)
// pads with EOS instead.
func padID(tok *tokenizer.Tokenizer) int32 {
	if p := tok.PadID(); p >= 0 {
		return p
	}
	return tok.EOSID()
}

// sampler draws batch_size sequence indices per step from the trainer's
// checkpointed generator, so the data order resumes exactly.
func sampler(d dataset, batchSize int) func(step int, rng *rand.Rand) (*model.Batch, error) {
	return func(_ int, rng *rand.Rand) (*model.Batch, error) {
		idx := make([]int, batchSize)
		for i := range idx {
			idx[i] = rng.IntN(d.Len())
		}
		return d.Batch(idx), nil
	}
}

// batches cuts a whole dataset into consecutive batches, for evaluation.
func batches(d dataset, batchSize int) []*model.Batch {
	var out []*model.Batch
	for lo := 0; lo < d.Len(); lo += batchSize {
		idx := make([]int, 0, batchSize)
		for i := lo; i < min(lo+batchSize, d.Len()); i++ {
			idx = append(idx, i)
		}
		out = append(out, d.Batch(idx))
	}
	return out
}
