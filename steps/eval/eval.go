// Package eval is the `eval` step kind: the student's task quality,
// held-out loss and KL to the teacher, its speed on the fake-quant and the
// packed ternary paths, its memory counted from its tensors, and QEI against
// the teacher baseline (the seed's eval_and_qei, with real measurements where
// the seed had placeholder constants).
package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/baseline"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/steps/train"
)

// Kind is the eval kind.
type Kind struct{}

// Kind implements steps.Step.
func (Kind) Kind() string { return "eval" }

// Version implements steps.Step.
func (Kind) Version() string { return "4" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Evaluates a student checkpoint against the teacher baseline. Quality: greedy answers (packed " +
			"ternary path, activation bits restored from the checkpoint) to the first max_prompts test prompts, " +
			"scored like the baseline (JSON validity, exact match, field accuracy); held-out CE on the test split; " +
			"KL to the teacher on held-out traces if given. Speed: prefill and decode tokens/s with the KV cache, " +
			"on 1 thread and on all the step's CPUs, fake-quant and packed paths. Memory: dense fp32 and packed " +
			"bytes counted from the tensors. QEI = (Q_s/Q_t)/(M_s/M_t) and QEI_speed = QEI * TPS_s/TPS_t, with Q " +
			"the field accuracy, M bytes (student packed) and TPS decode tokens/s (student packed, all CPUs). The " +
			"report holds timings, so it is a measurement: --verify compares it without them.",
		Params: []steps.Param{
			{Name: "max_prompts", Type: steps.Int, Default: int64(32), Doc: "test prompts answered for quality (in file order)"},
			{Name: "max_new_tokens", Type: steps.Int, Default: int64(128), Doc: "the most tokens per answer"},
			{Name: "speed_prompts", Type: steps.Int, Default: int64(4), Doc: "prompts timed per path and thread count"},
			{Name: "speed_new_tokens", Type: steps.Int, Default: int64(32), Doc: "tokens decoded per timed prompt (unless EOS comes first)"},
			{Name: "batch_size", Type: steps.Int, Default: int64(8), Meta: true, Doc: "sequences per forward pass of the held-out losses"},
			{Name: "max_topk", Type: steps.Int, Default: int64(20), Doc: "teacher alternatives kept per position for the KL (as in training)"},
			{Name: "teacher_memory_gb", Type: steps.Float, Default: 0.0, Doc: "the teacher's memory in GB (1e9 bytes) when its baseline cannot count it (a remote teacher); 0: from the baseline report"},
		},
		Inputs: []steps.Port{
			{Name: "checkpoint", Doc: "the student checkpoint"},
			{Name: "tokenizer", Doc: "the student's tokenizer.json"},
			{Name: "test", Doc: "the test split (JSONL of prompt and answer)"},
			{Name: "baseline", Doc: "the teacher's baseline report (teacher_baseline.json)"},
			{Name: "traces", Optional: true, Doc: "teacher traces of held-out prompts, for the KL to the teacher"},
		},
		Outputs: []steps.Port{
			{Name: "report", Measurement: true, Doc: "mini_evaluation_report.json"},
			{Name: "samples", Doc: "JSONL of prompt, answer (the student's) and reference"},
		},
		CPUs: steps.AllCPUs,
	}
}

// Run implements steps.Step.
func (Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	v := env.Params
	m, meta, err := model.LoadCheckpoint(in.Path("checkpoint"))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tok, err := tokenizer.ReadFile(in.Path("tokenizer"))
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if tok.VocabSize() != m.Config().VocabSize {
		return fmt.Errorf("tokenizer has %d tokens, the checkpoint's model %d: not the student's tokenizer", tok.VocabSize(), m.Config().VocabSize)
	}
	if meta.TokenizerDigest != "" && meta.TokenizerDigest != in.Digest("tokenizer") {
		return fmt.Errorf("the checkpoint was trained with tokenizer %s, not the one given (%s)", meta.TokenizerDigest, in.Digest("tokenizer"))
	}
	recs, err := records.Read(in.Path("test"))
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	var teacher baseline.Report
	if b, err := os.ReadFile(in.Path("baseline")); err != nil {
		return fmt.Errorf("baseline: %w", err)
	} else if err := json.Unmarshal(b, &teacher); err != nil {
		return fmt.Errorf("baseline: not a baseline report: %w", err)
	}
	n := min(v.Int("max_prompts"), len(recs))
	if n <= 0 {
		return errors.New("test: no prompts to answer")
	}
	threads := max(env.CPUs, 1)
	rep := &Report{
		Timestamp: time.Now().UTC().Format(time.RFC3339),
		ModelMeta: modelMeta(m, meta, in.Digest("checkpoint")),
		EvalConfig: EvalConfig{MaxPrompts: n, MaxNewTokens: v.Int("max_new_tokens"), SpeedPrompts: v.Int("speed_prompts"),
			SpeedNewTokens: v.Int("speed_new_tokens"), Threads: threads, TestDigest: in.Digest("test")},
	}
	packed := m.Inference(true)
	packed.SetThreads(threads)
	env.Report(steps.Progress{Message: "answering test prompts", Total: float64(n), Unit: "prompts"})
	samples, err := answer(ctx, env, packed, tok, recs[:n], rep)
	if err != nil {
		return err
	}
	if err := heldOut(m, tok, in, v, recs, rep); err != nil {
		return err
	}
	env.Report(steps.Progress{Message: "timing the fake-quant and packed paths"})
	if rep.Speed, err = measureSpeed(ctx, m, tok, recs, v.Int("speed_prompts"), v.Int("speed_new_tokens"), threads); err != nil {
		return err
	}
	rep.Memory = Memory{DenseFP32Bytes: m.DenseBytes(), PackedBytes: packed.Bytes()}
	rep.Memory.Compression = float64(rep.Memory.DenseFP32Bytes) / float64(rep.Memory.PackedBytes)
	if err := rep.computeQEI(&teacher, v.Float("teacher_memory_gb")); err != nil {
		return err
	}
	env.Metric(map[string]float64{"field_accuracy": rep.Quality.FieldAccuracy, "decode_tps_packed": rep.QEIMetrics.StudentTPS})
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out.Path("report"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(out.Path("samples"))
	if err != nil {
		return err
	}
	if err := encodeSamples(f, samples); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heldOut fills in the held-out CE on the test split and, given held-out
// traces, the KL to the teacher, both on the fake-quant forward (what
// training optimizes) at the checkpoint's activation bits.
func heldOut(m *model.Model, tok *tokenizer.Tokenizer, in steps.Inputs, v steps.Values, recs []records.Record, rep *Report) error {
	bs := v.Int("batch_size")
	ds, err := train.CorpusDataset(recs, tok, m.Config().BlockSize)
	if err != nil {
		return fmt.Errorf("test: %w", err)
	}
	ce, err := train.MeanLoss(m, ds, bs, model.LossConfig{Fn: model.LossCE, KDTau: 1})
	if err != nil {
		return fmt.Errorf("held-out CE: %w", err)
	}
	rep.Quality.HeldOutCE = ce.CE
	if p := in.Path("traces"); p != "" {
		td, err := train.TracesDataset(p, in.Path("tokenizer"), tok, m.Config().BlockSize, v.Int("max_topk"))
		if err != nil {
			return fmt.Errorf("traces: %w", err)
		}
		kl, err := train.MeanLoss(m, td, bs, model.LossConfig{Fn: model.LossKD, KDTau: 1})
		if err != nil {
			return fmt.Errorf("KL to the teacher: %w", err)
		}
		rep.Quality.KLToTeacher = &kl.KL
	}
	return nil
}
