// Package tokenizer is the `tokenizer` step kind: a byte-level BPE
// tokenizer (model/tokenizer) trained on a corpus split, or an existing
// Hugging Face tokenizer.json, as the tokenizer.json the pipeline's models
// use.
package tokenizer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// Kind is the tokenizer kind.
type Kind struct{}

// Ports.
const (
	InputCorpus     = "corpus"
	OutputTokenizer = "tokenizer"
)

// Kind implements steps.Step.
func (Kind) Kind() string { return "tokenizer" }

// Version implements steps.Step.
func (Kind) Version() string { return "1" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "A byte-level BPE tokenizer as a Hugging Face tokenizer.json (BPE model, ByteLevel pre-tokenizer " +
			"and decoder) that the tokenizers library loads. Trained on a corpus split: each record's text is the " +
			"seed's chat layout, Template(prompt) + answer + <|endoftext|>, i.e. \"<|user|>\\n{prompt}\\n\\n" +
			"<|assistant|>\\n{answer}<|endoftext|>\"; the special tokens split the text and are never merged " +
			"into. Ids: 0-255 the bytes, 256 <|endoftext|>, 257 <|pad|>, 258 <|user|>, 259 <|assistant|>, then " +
			"the merges in the order learned (most frequent pair first; ties to the pair of smallest bytes). " +
			"With from_file, an existing tokenizer.json listed in the step's files: is checked (it must read as " +
			"byte-level BPE with <|endoftext|>) and passed on byte for byte; the corpus input is then not needed.",
		Params: []steps.Param{
			{Name: "vocab_size", Type: steps.Int, Default: int64(1024),
				Doc: "tokens in all: 256 bytes + 4 specials + merges (at least 260; fewer if the corpus runs out of pairs); ignored with from_file"},
			{Name: "from_file", Type: steps.String, Default: "",
				Doc: "path (relative to the workflow, as listed under files:) of an existing tokenizer.json to use instead of training"},
		},
		Inputs: []steps.Port{
			{Name: InputCorpus, Optional: true, Doc: "the corpus split to train on (JSONL records), e.g. corpus.train; not needed with from_file"},
		},
		Outputs: []steps.Port{
			{Name: OutputTokenizer, Doc: "tokenizer.json"},
		},
	}
}

// Run implements steps.Step.
func (Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	var data []byte
	var err error
	if from := env.Params.String("from_file"); from != "" {
		if in.Path(InputCorpus) != "" {
			logf(env, "from_file %s: the corpus input is not used", from)
		}
		data, err = existing(env, from)
	} else {
		data, err = train(ctx, env, in.Path(InputCorpus))
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(out.Path(OutputTokenizer), data, 0o644); err != nil {
		return fmt.Errorf("output %s: %w", OutputTokenizer, err)
	}
	return nil
}

// TrainingText is the text one record contributes to training: the chat
// layout the models see, Template(prompt) + answer + EOS.
func TrainingText(r records.Record) string {
	return tokenizer.Template(r.Prompt) + r.Answer + tokenizer.EOS
}

// train trains a tokenizer on the corpus split at path and returns its file.
func train(ctx context.Context, env *steps.Env, path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("input corpus: missing; give a corpus split to train on, or an existing tokenizer.json with from_file")
	}
	recs, err := records.Read(path)
	if err != nil {
		return nil, fmt.Errorf("input corpus: %w", err)
	}
	texts := make([]string, len(recs))
	for i, r := range recs {
		texts[i] = TrainingText(r)
	}
	size := env.Params.Int("vocab_size")
	env.Report(steps.Progress{Total: 1, Unit: "tokenizers", Message: fmt.Sprintf("training %d tokens on %d records", size, len(recs))})
	tok, err := tokenizer.TrainContext(ctx, texts, size)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("vocab_size: %w", err)
	}
	var b bytes.Buffer
	if err := tok.Write(&b); err != nil {
		return nil, err
	}
	if tok.VocabSize() < size {
		logf(env, "the corpus ran out of pairs: %d tokens instead of %d", tok.VocabSize(), size)
	}
	env.Metric(map[string]float64{"vocab_size": float64(tok.VocabSize()), "training_records": float64(len(recs))})
	env.Report(steps.Progress{Done: 1, Total: 1, Unit: "tokenizers"})
	return b.Bytes(), nil
}

// existing returns the bytes of the step's file from, once they read as a
// tokenizer the pipeline can use.
func existing(env *steps.Env, from string) ([]byte, error) {
	want := path.Clean(strings.TrimPrefix(from, "./"))
	var file *steps.File
	for i := range env.Files {
		if env.Files[i].Rel == want {
			file = &env.Files[i]
		}
	}
	if file == nil {
		return nil, fmt.Errorf("from_file %q is not among the step's files: list it under files: so that its contents enter the key", from)
	}
	data, err := os.ReadFile(file.Path)
	if err != nil {
		return nil, fmt.Errorf("from_file %s: %w", from, err)
	}
	tok, err := tokenizer.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("from_file %s: %w", from, err)
	}
	if tok.EOSID() < 0 {
		return nil, fmt.Errorf("from_file %s: no %s token: the pipeline ends every sequence with it", from, tokenizer.EOS)
	}
	for _, sp := range []string{tokenizer.Pad, tokenizer.User, tokenizer.Assistant} {
		if _, ok := tok.SpecialID(sp); !ok {
			logf(env, "from_file %s: no %s token; its text is encoded as ordinary text", from, sp)
		}
	}
	env.Metric(map[string]float64{"vocab_size": float64(tok.VocabSize())})
	return data, nil
}

// logf writes a line to the step's log, if it has one.
func logf(env *steps.Env, format string, args ...any) {
	if env.Log != nil {
		fmt.Fprintf(env.Log, format+"\n", args...)
	}
}
