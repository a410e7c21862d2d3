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
func (Kind) Version() string { return "5" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Greedy decoding (temperature 0, top_p 1) of the teacher over the first max_prompts prompts of a " +
			"split: per prompt latency, completion tokens, prefill and decode tokens/s, and quality on the task " +
			"(JSON validity, exact match, field accuracy against the reference answer). The local teacher's " +
			"prefill and decode are timed apart; a remote API tells only each request's latency, so its prefill " +
			"tokens/s is null and its decode tokens/s is completion tokens over latency (decode_tps_basis says " +
			"which). Writes teacher_baseline.json in the seed's shape plus quality and memory_bytes. The report " +
			"holds wall-clock timings, so it is a measurement: --verify compares it without them.",
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

// Metrics are the seed's aggregate speed figures, plus the prefill rate.
type Metrics struct {
	// AvgDecodeTPS is all prompts' decode tokens over their decode time
	// (basis "decode"), or their completion tokens over their latency
	// (basis "latency": a remote teacher, whose figure includes prefill,
	// queueing and the network, so it understates the decode rate).
	AvgDecodeTPS float64 `json:"avg_decode_tps"`
	// AvgPrefillTPS is all prompts' prompt tokens over their prefill time;
	// null when the provider cannot time prefill (a remote teacher).
	AvgPrefillTPS *float64 `json:"avg_prefill_tps"`
	// DecodeTPSBasis is "decode" when the decode steps were timed apart
	// from prefill (the local teacher), "latency" when only each request's
	// total latency is known.
	DecodeTPSBasis string  `json:"decode_tps_basis"`
	TotalPrompts   int     `json:"total_prompts"`
	TotalTokens    int     `json:"total_tokens"`
	TotalLatencyS  float64 `json:"total_latency_s"`
}

// Result is one prompt's answer.
type Result struct {
	Index            int     `json:"idx"`
	Prompt           string  `json:"prompt"`
	Reference        string  `json:"reference"`
	Completion       string  `json:"completion"`
	FinishReason     string  `json:"finish_reason"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	LatencyS         float64 `json:"latency_s"`
	// PrefillTPS is prompt tokens over the prompt's forward pass; null
	// when the provider cannot time it (a remote teacher).
	PrefillTPS *float64 `json:"prefill_tps"`
	// DecodeTPS is the tokens fed through the decode steps over their time
	// (0 when no decode step ran), or completion tokens over latency for a
	// remote teacher: see Metrics.DecodeTPSBasis.
	DecodeTPS float64       `json:"decode_tps"`
	Quality   quality.Score `json:"quality"`
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
	var t totals
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
		r.PrefillTPS, r.DecodeTPS = speeds(c, lat)
		t.add(c, lat)
		rep.Results = append(rep.Results, r)
		rep.Metrics.TotalTokens += c.CompletionTokens
		rep.Metrics.TotalLatencyS += lat
		env.Report(steps.Progress{Done: float64(i + 1), Total: float64(n), Unit: "prompts",
			Fields: map[string]float64{"tokens_per_s": t.decodeTPS()}})
	}
	rep.Metrics.TotalPrompts = n
	rep.Metrics.AvgDecodeTPS, rep.Metrics.AvgPrefillTPS, rep.Metrics.DecodeTPSBasis = t.decodeTPS(), t.prefillTPS(), t.basis()
	rep.Quality = quality.Summarize(scores)
	metrics := map[string]float64{"decode_tps": rep.Metrics.AvgDecodeTPS, "field_accuracy": rep.Quality.FieldAccuracy}
	if v := rep.Metrics.AvgPrefillTPS; v != nil {
		metrics["prefill_tps"] = *v
	}
	env.Metric(metrics)
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
	rep.Metrics.AvgDecodeTPS, rep.Metrics.AvgPrefillTPS, rep.Metrics.TotalLatencyS = 0, nil, 0
	for i := range rep.Results {
		rep.Results[i].LatencyS, rep.Results[i].PrefillTPS, rep.Results[i].DecodeTPS = 0, nil, 0
	}
	return json.Marshal(rep)
}

// speeds are one completion's prefill and decode tokens/s: from the
// provider's timing when it has one, else (a remote teacher) no prefill
// rate and completion tokens over the request's latency.
func speeds(c *teacher.Completion, latency float64) (prefill *float64, decode float64) {
	if tm := c.Timing; tm != nil {
		if s := tm.Prefill.Seconds(); s > 0 {
			v := float64(c.PromptTokens) / s
			prefill = &v
		}
		if s := tm.Decode.Seconds(); s > 0 {
			decode = float64(tm.DecodeTokens) / s
		}
		return prefill, decode
	}
	if latency > 0 {
		decode = float64(c.CompletionTokens) / latency
	}
	return nil, decode
}

// totals add up the prompts' tokens and times for the report's averages.
// The prefill and decode figures hold only while every completion was
// timed by its provider; one that was not puts the whole report on the
// latency basis.
type totals struct {
	untimed                                      bool
	promptTokens, decodeTokens, completionTokens int
	prefill, decode                              time.Duration
	latency                                      float64
}

func (t *totals) add(c *teacher.Completion, latency float64) {
	t.completionTokens += c.CompletionTokens
	t.latency += latency
	if c.Timing == nil {
		t.untimed = true
		return
	}
	t.promptTokens += c.PromptTokens
	t.decodeTokens += c.Timing.DecodeTokens
	t.prefill += c.Timing.Prefill
	t.decode += c.Timing.Decode
}

func (t *totals) basis() string {
	if t.untimed {
		return "latency"
	}
	return "decode"
}

func (t *totals) decodeTPS() float64 {
	switch {
	case t.untimed && t.latency > 0:
		return float64(t.completionTokens) / t.latency
	case !t.untimed && t.decode > 0:
		return float64(t.decodeTokens) / t.decode.Seconds()
	}
	return 0
}

func (t *totals) prefillTPS() *float64 {
	if t.untimed || t.prefill <= 0 {
		return nil
	}
	v := float64(t.promptTokens) / t.prefill.Seconds()
	return &v
}
