// Package train is the `train` step kind: it trains one model of spec
// model.md, either as a language model on a corpus (the teacher, or a
// cross-entropy student baseline) or by distillation on collected traces
// (the student), resuming exactly from its last checkpoint after a crash.
package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// Kind is the train kind.
type Kind struct{}

// Kind implements steps.Step.
func (Kind) Kind() string { return "train" }

// Version implements steps.Step.
func (Kind) Version() string { return "3" }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Trains one model (spec model.md) with AdamW, a cosine schedule and the A8->A4 activation flip. " +
			"With a corpus input it is language-model training on the templated prompt + answer, the answer " +
			"trained (the teacher, or a CE student baseline); with a traces input it is distillation on the " +
			"teacher's projected top-K + other distributions (the student). Checkpoints into the step's " +
			"resumable progress every checkpoint_interval steps; a killed run resumes with bit-identical results. " +
			"Outputs the checkpoint (safetensors), metrics (JSONL, one line per log interval) and health " +
			"(the seed's _health.json); wall-clock figures go to the run's log and record, not the artifacts.",
		Params: append(modelParams(), trainParams()...),
		Inputs: []steps.Port{
			{Name: "tokenizer", Doc: "the model's tokenizer.json (its vocabulary sizes the model)"},
			{Name: "corpus", Optional: true, Doc: "a corpus split (JSONL of prompt and answer): language-model training"},
			{Name: "traces", Optional: true, Doc: "teacher traces (Parquet): distillation"},
			{Name: "val", Optional: true, Doc: "a held-out split of the same form as the training data: its loss is reported in health"},
		},
		Outputs: []steps.Port{
			{Name: "checkpoint", Doc: "the trained model (safetensors, spec model.md §6)"},
			{Name: "metrics", Doc: "one JSON line per log interval: loss parts, grad_norm, lr, act_bits, seen_tokens, bit metrics"},
			{Name: "health", Doc: "step, seen_tokens, flip_done, activation_bits, last_loss, val_loss"},
		},
		CPUs: steps.AllCPUs,
	}
}

// Health is the seed's _health.json, without wall-clock fields.
type Health struct {
	Step           int      `json:"step"`
	SeenTokens     int64    `json:"seen_tokens"`
	FlipDone       bool     `json:"flip_done"`
	ActivationBits int      `json:"activation_bits"`
	LastLoss       float64  `json:"last_loss"`
	ValLoss        *float64 `json:"val_loss,omitempty"`
	TrainSequences int      `json:"train_sequences"`
	TrainTokens    int64    `json:"train_tokens"`
}

// Run implements steps.Step.
func (k Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	tok, err := tokenizer.ReadFile(in.Path("tokenizer"))
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	corpus, traces := in.Path("corpus"), in.Path("traces")
	if (corpus == "") == (traces == "") {
		return errors.New("give exactly one of the inputs corpus (language modelling) and traces (distillation)")
	}
	v := env.Params
	if v.String("loss_fn") == "" {
		if traces != "" {
			v["loss_fn"] = model.LossKD
		} else {
			v["loss_fn"] = model.LossCE
		}
	}
	mc, tc, err := configs(v, tok.VocabSize())
	if err != nil {
		return err
	}
	if tc.IsKD() && traces == "" {
		return fmt.Errorf("loss_fn %s needs teacher buckets: give a traces input, not a corpus", tc.Fn)
	}
	load := func(path string) (dataset, error) {
		if traces != "" {
			return loadTraces(path, in.Path("tokenizer"), tok, mc.BlockSize, v.Int("max_topk"))
		}
		recs, err := records.Read(path)
		if err != nil {
			return nil, err
		}
		return corpusSequences(recs, tok, mc.BlockSize)
	}
	data, err := load(corpus + traces)
	if err != nil {
		return fmt.Errorf("training data: %w", err)
	}
	var val dataset
	if p := in.Path("val"); p != "" {
		if val, err = load(p); err != nil {
			return fmt.Errorf("val: %w", err)
		}
	}
	r := &run{env: env, mc: mc, tc: tc, data: data, tokDigest: in.Digest("tokenizer"),
		batchSize: v.Int("batch_size"), seed: uint64(v.Int("seed")), ckptEvery: v.Int("checkpoint_interval")}
	if err := r.train(ctx); err != nil {
		return err
	}
	h := Health{Step: r.t.Step, SeenTokens: r.t.SeenTokens, FlipDone: r.t.FlipDone, ActivationBits: r.t.Model.ActBits(),
		LastLoss: r.lastLoss, TrainSequences: data.Len(), TrainTokens: data.Tokens()}
	if val != nil {
		res, err := MeanLoss(r.t.Model, val, r.batchSize, tc.LossConfig)
		if err != nil {
			return fmt.Errorf("val: %w", err)
		}
		if res.ValidTokens == 0 {
			return errors.New("val: no trained positions")
		}
		vl := res.Loss
		h.ValLoss = &vl
		env.Metric(map[string]float64{"val_loss": vl})
	}
	if err := model.SaveCheckpoint(out.Path("checkpoint"), r.t.Model, r.t.Meta(in.Digest("tokenizer"))); err != nil {
		return err
	}
	if err := os.WriteFile(out.Path("metrics"), r.metricsJSONL(), 0o644); err != nil {
		return err
	}
	hb, _ := json.MarshalIndent(h, "", "  ")
	return os.WriteFile(out.Path("health"), append(hb, '\n'), 0o644)
}

// metricsJSONL writes the logged metrics, one object per line, without the
// wall-clock tokens/s (which goes to the progress log and action record).
func (r *run) metricsJSONL() []byte {
	var b bytes.Buffer
	for _, m := range r.metrics {
		raw, _ := json.Marshal(m)
		var fields map[string]any
		_ = json.Unmarshal(raw, &fields)
		delete(fields, "tokens_per_sec")
		line, _ := json.Marshal(fields) // map keys marshal sorted: stable bytes
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// eta estimates the time left from the rate so far.
func eta(start time.Time, done, startStep, total int) time.Duration {
	if done <= startStep {
		return 0
	}
	per := time.Since(start) / time.Duration(done-startStep)
	return per * time.Duration(total-done)
}
