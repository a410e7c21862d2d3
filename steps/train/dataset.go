package train

import (
	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// Dataset is a set of training or evaluation sequences that can be cut
// into batches: language-model sequences from a corpus split, or
// distillation sequences from traces.
type Dataset interface {
	Len() int
	Batch(idx []int) *model.Batch
	Tokens() int64
}

// CorpusDataset builds language-model sequences (Template(prompt) + answer
// + EOS, the answer trained) from a corpus split, for eval's held-out loss.
func CorpusDataset(recs []records.Record, tok *tokenizer.Tokenizer, blockSize int) (Dataset, error) {
	return corpusSequences(recs, tok, blockSize)
}

// TracesDataset builds distillation sequences from a traces file collected
// for the tokenizer at tokPath, for eval's KL to the teacher.
func TracesDataset(path, tokPath string, tok *tokenizer.Tokenizer, blockSize, k int) (Dataset, error) {
	return loadTraces(path, tokPath, tok, blockSize, k)
}

// MeanLoss is the loss of m over a whole dataset (without the bit
// penalty), weighted by trained positions, with its parts.
func MeanLoss(m *model.Model, d Dataset, batchSize int, lc model.LossConfig) (model.LossResult, error) {
	var sum model.LossResult
	for _, b := range batches(d, batchSize) {
		res, err := model.Evaluate(m, b, lc)
		if err != nil {
			return sum, err
		}
		w := float64(res.ValidTokens)
		sum.Loss += res.Loss * w
		sum.KL += res.KL * w
		sum.CE += res.CE * w
		sum.ValidTokens += res.ValidTokens
	}
	if n := float64(sum.ValidTokens); n > 0 {
		sum.Loss, sum.KL, sum.CE = sum.Loss/n, sum.KL/n, sum.CE/n
	}
	return sum, nil
}
