package eval

import (
	"context"
	"io"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/quality"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// answer generates greedy answers to recs with inf and scores them.
func answer(ctx context.Context, env *steps.Env, inf *model.Inference, tok *tokenizer.Tokenizer, recs []records.Record, rep *Report) ([]sample, error) {
	var scores []quality.Score
	var out []sample
	maxNew := rep.EvalConfig.MaxNewTokens
	for i, r := range recs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		text, stop, n, err := greedy(inf, tok, r.Prompt, maxNew)
		if err != nil {
			return nil, err
		}
		s := quality.Grade(text, r.Answer)
		scores = append(scores, s)
		rep.Results = append(rep.Results, Result{Index: i, Prompt: r.Prompt, Reference: r.Answer, Completion: text,
			FinishReason: stop, Tokens: n, Quality: s})
		out = append(out, sample{Prompt: r.Prompt, Answer: text, Reference: r.Answer})
		env.Report(steps.Progress{Done: float64(i + 1), Total: float64(len(recs)), Unit: "prompts"})
	}
	rep.Quality.Summary = quality.Summarize(scores)
	return out, nil
}

// greedy answers one prompt: Template(prompt) with special tokens, decoded
// until EOS or maxNew tokens. A prompt that does not fit the model's block
// leaves no room to answer and gets an empty answer.
func greedy(inf *model.Inference, tok *tokenizer.Tokenizer, prompt string, maxNew int) (string, string, int, error) {
	ids := tok.Encode(tokenizer.Template(prompt))
	if len(ids) >= inf.Cfg.BlockSize {
		return "", "block_size", 0, nil
	}
	g, err := inf.Generate(ids, model.GenerateOptions{MaxNewTokens: maxNew, EOS: tok.EOSID()})
	if err != nil {
		return "", "", 0, err
	}
	return tok.Decode(g.Tokens), g.Stop, len(g.Tokens), nil
}

// sample is one line of the samples output.
type sample struct {
	Prompt    string `json:"prompt"`
	Answer    string `json:"answer"`
	Reference string `json:"reference"`
}

func encodeSamples(w io.Writer, s []sample) error { return writeJSONL(w, s) }
