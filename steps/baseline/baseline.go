// Package baseline is the `baseline` step kind: greedy answers of the
// teacher to validation prompts, with their speed and task quality
// (the seed's run_teacher_baseline, writing teacher_baseline.json).
package baseline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/quality"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// Kind is the baseline kind. Open builds the teacher provider (injected so
// that this package does not depend on how providers are built).
type Kind struct {
	Open func(ctx context.Context, cfg teacher.Config, in steps.Inputs) (teacher.Provider, error)
}

// Kind implements steps.Step.
func (Kind) Kind() string { return "baseline" }

// Version implements steps.Step.
func (Kind) Version() string { return "1" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Greedy decoding (temperature 0, top_p 1) of the teacher over the first max_prompts prompts of a " +
			"split: per prompt latency, completion tokens and decode tokens/s, and quality on the task (JSON " +
			"validity, exact match, field accuracy against the reference answer). Writes teacher_baseline.json " +
			"in the seed's shape plus quality and memory_bytes. The report holds wall-clock timings, so it is a " +
			"measurement: --verify compares it without them.",
		Params: append([]steps.Param{
			{Name: "max_prompts", Type: steps.Int, Default: int64(32), Doc: "how many prompts of the split to answer (in file order)"},
			{Name: "max_new_tokens", Type: steps.Int, Default: int64(128), Doc: "the most tokens generated per answer"},
		}, teacher.ProviderParams()...),
		Inputs: []steps.Port{
			{Name: "prompts", Doc: "a corpus split (JSONL of prompt and answer), usually corpus.val"},
			{Name: teacher.InputCheckpoint, Optional: true, Doc: "provider local: the teacher checkpoint"},
			{Name: teacher.InputTokenizer, Optional: true, Doc: "provider local: the teacher's tokenizer.json"},
		},
		Outputs: []steps.Port{
			{Name: "report", Measurement: true, Doc: "teacher_baseline.json"},
		},
	}
}

// Report is teacher_baseline.json.
type Report struct {
	Timestamp   string          `json:"timestamp"`
	Provider    string          `json:"provider"`
	Model       string          `json:"model"`
	EvalConfig  EvalConfig      `json:"eval_config"`
	Metrics     Metrics         `json:"metrics"`
	Quality     quality.Summary `json:"quality"`
	MemoryBytes int64           `json:"memory_bytes"`
	Results     []Result        `json:"results"`
}

// EvalConfig records how the baseline was taken.
type EvalConfig struct {
	MaxPrompts   int     `json:"max_prompts"`
	MaxNewTokens int     `json:"max_new_tokens"`
	Temperature  float64 `json:"temperature"`
	TopP         float64 `json:"top_p"`
	PromptsFile  string  `json:"prompts_digest"`
}

// Metrics are the seed's aggregate speed figures.
type Metrics struct {
	AvgDecodeTPS  float64 `json:"avg_decode_tps"`
	TotalPrompts  int     `json:"total_prompts"`
	TotalTokens   int     `json:"total_tokens"`
	TotalLatencyS float64 `json:"total_latency_s"`
}

// Result is one prompt's answer.
type Result struct {
	Index            int           `json:"idx"`
	Prompt           string        `json:"prompt"`
	Reference        string        `json:"reference"`
	Completion       string        `json:"completion"`
	FinishReason     string        `json:"finish_reason"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	LatencyS         float64       `json:"latency_s"`
	DecodeTPS        float64       `json:"decode_tps"`
	Quality          quality.Score `json:"quality"`
}

// Run implements steps.Step.
func (k Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	cfg, err := teacher.ConfigFrom(env.Params)
	if err != nil {
		return err
	}
	recs, err := records.Read(in.Path("prompts"))
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	n := min(env.Params.Int("max_prompts"), len(recs))
	if n <= 0 {
		return fmt.Errorf("prompts: no prompts to answer (%d in the split, max_prompts %d)", len(recs), env.Params.Int("max_prompts"))
	}
	p, err := k.Open(ctx, cfg, in)
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	provider, modelName := p.Describe()
	rep := &Report{
		Timestamp: time.Now().UTC().Format(time.RFC3339), Provider: provider, Model: modelName,
		EvalConfig: EvalConfig{MaxPrompts: n, MaxNewTokens: env.Params.Int("max_new_tokens"), Temperature: 0, TopP: 1, PromptsFile: in.Digest("prompts")},
	}
	if m, ok := p.(interface{ MemoryBytes() int64 }); ok {
		rep.MemoryBytes = m.MemoryBytes()
	}
	var scores []quality.Score
	var decodeSeconds float64
	// One request at a time: each latency is then the teacher's own, not a
	// share of a busy machine.
	for i, rec := range recs[:n] {
		start := time.Now()
		c, err := p.Complete(ctx, teacher.Request{Prompt: rec.Prompt, MaxTokens: rep.EvalConfig.MaxNewTokens, Temperature: 0, TopP: 1})
		if err != nil {
			return fmt.Errorf("prompt %d: %w", i, err)
		}
		lat := time.Since(start).Seconds()
		score := quality.Grade(c.Text, rec.Answer)
		scores = append(scores, score)
		r := Result{Index: i, Prompt: rec.Prompt, Reference: rec.Answer, Completion: c.Text, FinishReason: c.FinishReason,
			PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, LatencyS: lat, Quality: score}
		if lat > 0 {
			r.DecodeTPS = float64(c.CompletionTokens) / lat
		}
		rep.Results = append(rep.Results, r)
		rep.Metrics.TotalTokens += c.CompletionTokens
		rep.Metrics.TotalLatencyS += lat
		decodeSeconds += lat
		env.Report(steps.Progress{Done: float64(i + 1), Total: float64(n), Unit: "prompts",
			Fields: map[string]float64{"tokens_per_s": float64(rep.Metrics.TotalTokens) / decodeSeconds}})
	}
	rep.Metrics.TotalPrompts = n
	if decodeSeconds > 0 {
		rep.Metrics.AvgDecodeTPS = float64(rep.Metrics.TotalTokens) / decodeSeconds
	}
	rep.Quality = quality.Summarize(scores)
	env.Metric(map[string]float64{"decode_tps": rep.Metrics.AvgDecodeTPS, "field_accuracy": rep.Quality.FieldAccuracy})
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out.Path("report"), append(b, '\n'), 0o644)
}

// Normalize implements steps.Normalizer: the report without its timestamp
// and timings.
func (Kind) Normalize(output string, data []byte) ([]byte, error) {
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", output, err)
	}
	rep.Timestamp = ""
	rep.Metrics.AvgDecodeTPS, rep.Metrics.TotalLatencyS = 0, 0
	for i := range rep.Results {
		rep.Results[i].LatencyS, rep.Results[i].DecodeTPS = 0, 0
	}
	return json.Marshal(rep)
}
