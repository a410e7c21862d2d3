// Package traces is the `traces` step kind (the seed's collect_kd_traces):
// it samples the teacher on seeded train prompts, projects each generated
// token's top-K alternatives onto the student vocabulary and writes them to
// a Parquet file, resumably. It also reads that file back and turns it into
// the student's training sequences and batches.
package traces

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// Version of the traces kind.
const Version = "4"

// Input and output names.
const (
	InputPrompts   = "prompts"
	InputTokenizer = "student_tokenizer"
	OutputTraces   = "traces"
	OutputStats    = "stats"
)

// Kind is the traces kind. Open builds the teacher provider and
// LoadTokenizer reads the student tokenizer; both are injected so that this
// package depends on neither implementation.
type Kind struct {
	Open          func(ctx context.Context, cfg teacher.Config, in steps.Inputs) (teacher.Provider, error)
	LoadTokenizer func(path string) (Tokenizer, error)
}

// Kind implements steps.Step.
func (Kind) Kind() string { return "traces" }

// Version implements steps.Step.
func (Kind) Version() string { return Version }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Samples the teacher (temperature, top_p, max_tokens, top_k logprobs) on num_prompts prompts of a " +
			"corpus split taken in a seeded order, projects each generated token's alternatives onto the student " +
			"tokenizer (first student token, log-sum-exp merge, other = log(1 - S), clamped and flagged if S >= 1) " +
			"and writes one Parquet row per teacher token, chunk_prompts prompts per row group. A completion " +
			"the teacher ended itself gets one more row for its end-of-sequence token. Finished chunks are kept " +
			"in the step's partial directory: a killed run resumes and writes the same traces file. Prompt i is " +
			"sampled with a seed derived from (seed, i) only.",
		Params: append([]steps.Param{
			{Name: "num_prompts", Type: steps.Int, Default: int64(256), Doc: "how many prompts to sample (at most the split's size), taken in a seeded order"},
			{Name: "seed", Type: steps.Int, Default: int64(0), Doc: "seeds the prompt order and each prompt's sampling"},
			{Name: "temperature", Type: steps.Float, Default: 0.8, Doc: "sampling temperature (0 = greedy)"},
			{Name: "top_p", Type: steps.Float, Default: 0.95, Doc: "nucleus sampling mass, in (0, 1]"},
			{Name: "max_tokens", Type: steps.Int, Default: int64(512), Doc: "the most tokens generated per prompt"},
			{Name: "top_k", Type: steps.Int, Default: int64(20), Doc: "alternatives requested per generated token, and the most kept after projection (K)"},
			{Name: "chunk_prompts", Type: steps.Int, Default: int64(16), Doc: "prompts per row group and per resumable chunk (changes the file's row groups, so it is part of the key)"},
		}, teacher.ProviderParams()...),
		Inputs: []steps.Port{
			{Name: InputPrompts, Doc: "a corpus split (JSONL of prompt and answer), usually corpus.train"},
			{Name: InputTokenizer, Doc: "the student's tokenizer.json: the vocabulary the traces are projected onto"},
			{Name: teacher.InputCheckpoint, Optional: true, Doc: "provider local: the teacher checkpoint"},
			{Name: teacher.InputTokenizer, Optional: true, Doc: "provider local: the teacher's tokenizer.json"},
		},
		Outputs: []steps.Port{
			{Name: OutputTraces, Doc: "Parquet, one row per teacher token step (see the spec's traces columns)"},
			{Name: OutputStats, Measurement: true, Doc: "JSON: counts (prompts, rows, tokens, dropped alternatives, flagged rows, K) and the collection's " +
				"speed (tokens_per_s, over the prompts this run sampled: sampled_prompts). A measurement: --verify compares it without the speed"},
		},
	}
}

// Stats is the stats output: the collection's counts, which are
// deterministic, and its speed, which is not (so the output is a
// measurement, compared by --verify through Normalize).
type Stats struct {
	Prompts int `json:"prompts"`
	Rows    int `json:"rows"`
	// TeacherTokens are the tokens the teacher generated (one row each).
	TeacherTokens int `json:"teacher_tokens"`
	// EndRows are the rows added for completions the teacher ended itself.
	EndRows int `json:"end_rows"`
	// StudentTokens is the length of all rows' student encodings.
	StudentTokens int `json:"student_tokens"`
	K             int `json:"k"`
	// DroppedAlternatives encoded to no student token.
	DroppedAlternatives int `json:"dropped_alternatives"`
	// FlaggedRows had their other mass clamped (S >= 1 through rounding).
	FlaggedRows int `json:"flagged_rows"`
	// EmptySamples are generated tokens whose text encodes to no student token.
	EmptySamples  int            `json:"empty_samples"`
	FinishReasons map[string]int `json:"finish_reasons"`
	RowGroups     int            `json:"row_groups"`
	TemplateHash  string         `json:"template_hash"`
	TokenizerHash string         `json:"tokenizer_hash"`
	// SampledPrompts are the prompts the run that wrote the stats sampled
	// itself: fewer than Prompts when it resumed a killed collection.
	SampledPrompts int `json:"sampled_prompts"`
	// TokensPerS is the teacher tokens that run generated per second of
	// its collection (wall clock); null when it sampled nothing.
	TokensPerS *float64 `json:"tokens_per_s"`
}

// Normalize implements steps.Normalizer: the stats without what depends
// on the run that wrote them (the speed, and how much of the collection
// it resumed).
func (Kind) Normalize(output string, data []byte) ([]byte, error) {
	if output != OutputStats {
		return data, nil
	}
	var st Stats
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", output, err)
	}
	st.SampledPrompts, st.TokensPerS = 0, nil
	return json.Marshal(st)
}

type options struct {
	numPrompts, maxTokens, topK, chunkPrompts int
	seed                                      int64
	temperature, topP                         float64
}

func optionsFrom(v steps.Values) (options, error) {
	o := options{
		numPrompts: v.Int("num_prompts"), maxTokens: v.Int("max_tokens"), topK: v.Int("top_k"),
		chunkPrompts: v.Int("chunk_prompts"), seed: int64(v.Int("seed")),
		temperature: v.Float("temperature"), topP: v.Float("top_p"),
	}
	switch {
	case o.numPrompts < 1:
		return o, fmt.Errorf("num_prompts must be at least 1, got %d", o.numPrompts)
	case o.maxTokens < 1:
		return o, fmt.Errorf("max_tokens must be at least 1, got %d", o.maxTokens)
	case o.topK < 1:
		return o, fmt.Errorf("top_k must be at least 1, got %d", o.topK)
	case o.chunkPrompts < 1:
		return o, fmt.Errorf("chunk_prompts must be at least 1, got %d", o.chunkPrompts)
	case o.temperature < 0:
		return o, fmt.Errorf("temperature must be 0 or more, got %g", o.temperature)
	case !(o.topP > 0 && o.topP <= 1):
		return o, fmt.Errorf("top_p must be in (0, 1], got %g", o.topP)
	}
	return o, nil
}

// Run implements steps.Step.
func (k Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	cfg, err := teacher.ConfigFrom(env.Params)
	if err != nil {
		return err
	}
	o, err := optionsFrom(env.Params)
	if err != nil {
		return err
	}
	recs, err := records.Read(in.Path(InputPrompts))
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("prompts: the split has no prompts")
	}
	tokPath := in.Path(InputTokenizer)
	tok, err := k.LoadTokenizer(tokPath)
	if err != nil {
		return fmt.Errorf("student tokenizer: %w", err)
	}
	if got := tok.Encode(tokenizer.EOS); !slices.Equal(got, []int32{tok.EOSID()}) {
		return fmt.Errorf("student tokenizer: %s encodes to %v, not its EOS id %d", tokenizer.EOS, got, tok.EOSID())
	}
	tokHash, err := TokenizerHash(tokPath)
	if err != nil {
		return err
	}
	log := env.Log
	if log == nil {
		log = io.Discard
	}
	partial := env.Partial
	if partial == "" {
		// No resumable directory: keep the chunks with the step's scratch.
		partial = filepath.Join(env.Dir, "chunks")
	}
	c := &collector{
		recs: recs, order: PromptOrder(o.seed, len(recs), o.numPrompts), chunkPrompts: o.chunkPrompts,
		partial: partial, seed: o.seed, k: o.topK, tok: tok, tplHash: TemplateHash(), tokHash: tokHash,
		req:         teacher.Request{MaxTokens: o.maxTokens, Temperature: o.temperature, TopP: o.topP, TopLogprobs: o.topK},
		concurrency: cfg.Concurrency, env: env, log: log,
		open: func(ctx context.Context) (teacher.Provider, error) {
			p, err := k.Open(ctx, cfg, in)
			if err == nil {
				name, model := p.Describe()
				fmt.Fprintf(log, "teacher: %s %s\n", name, model)
			}
			return p, err
		},
	}
	if len(c.order) < o.numPrompts {
		fmt.Fprintf(log, "the split has %d prompts: sampling all of them (num_prompts %d)\n", len(c.order), o.numPrompts)
	}
	f, err := os.Create(out.Path(OutputTraces))
	if err != nil {
		return fmt.Errorf("traces output: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := NewWriter(bw)
	if err != nil {
		return err
	}
	per, pr, err := c.run(ctx, w)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("traces output: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("traces output: %w", err)
	}
	st := summarize(per, o.chunkPrompts, o.topK, TemplateHash(), tokHash)
	st.SampledPrompts = pr.sampled
	if s := pr.elapsed.Seconds(); s > 0 && pr.sampled > 0 {
		v := float64(pr.teacherTokens) / s
		st.TokensPerS = &v
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	if err := os.WriteFile(out.Path(OutputStats), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("stats output: %w", err)
	}
	metrics := map[string]float64{"prompts_sampled": float64(pr.sampled), "prompts_resumed": float64(pr.resumed),
		"teacher_tokens_sampled": float64(pr.teacherTokens), "collect_s": pr.elapsed.Seconds()}
	if st.TokensPerS != nil {
		metrics["tokens_per_s"] = *st.TokensPerS
	}
	env.Metric(metrics)
	fmt.Fprintf(log, "traces: %d prompts (%d resumed), %d rows, %d flagged, %d alternatives dropped\n",
		st.Prompts, pr.resumed, st.Rows, st.FlaggedRows, st.DroppedAlternatives)
	return nil
}

// summarize adds up the per-prompt stats (in position order, chunkPrompts
// to a chunk: a chunk with rows is a row group).
func summarize(per []promptStats, chunkPrompts, k int, tplHash, tokHash string) Stats {
	st := Stats{Prompts: len(per), K: k, FinishReasons: map[string]int{}, TemplateHash: tplHash, TokenizerHash: tokHash}
	groupRows := 0
	for i, p := range per {
		groupRows += p.Rows
		if (i+1)%chunkPrompts == 0 || i == len(per)-1 {
			if groupRows > 0 {
				st.RowGroups++
			}
			groupRows = 0
		}
		st.Rows += p.Rows
		st.TeacherTokens += p.TeacherTokens
		st.EndRows += p.EndRows
		st.StudentTokens += p.StudentTokens
		st.DroppedAlternatives += p.Dropped
		st.FlaggedRows += p.Flagged
		st.EmptySamples += p.EmptySamples
		st.FinishReasons[p.FinishReason]++
	}
	return st
}
