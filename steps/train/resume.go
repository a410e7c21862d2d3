package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps"
)

// run is one training run and its resumable progress.
type run struct {
	env       *steps.Env
	mc        model.Config
	tc        model.TrainConfig
	data      dataset
	tokDigest string
	batchSize int
	seed      uint64
	ckptEvery int

	t        *model.Trainer
	metrics  []model.Metrics
	lastLoss float64
}

// progress is the commit point of a checkpoint in the partial directory:
// written last, it names the model and state files of one step and carries
// the metrics logged up to that step. A kill before it is renamed into
// place leaves the previous checkpoint in force.
type progress struct {
	Step    int             `json:"step"`
	Model   string          `json:"model"`
	State   string          `json:"state"`
	Metrics []model.Metrics `json:"metrics"`
}

const progressFile = "progress.json"

// train resumes from the partial directory if it holds a checkpoint, else
// starts fresh, and trains to max_iters.
func (r *run) train(ctx context.Context) error {
	if r.batchSize < 1 {
		return fmt.Errorf("batch_size must be at least 1, got %d", r.batchSize)
	}
	resumed, err := r.resume()
	if err != nil {
		return err
	}
	if !resumed {
		m, err := model.New(r.mc, r.seed)
		if err != nil {
			return err
		}
		if r.t, err = model.NewTrainer(m, r.tc, r.seed); err != nil {
			return err
		}
	}
	every := r.ckptEvery
	if li := r.tc.LogInterval; every%li != 0 {
		every += li - every%li // checkpoints fall on log boundaries, where metrics restart cleanly
	}
	start, startStep, startSeen := time.Now(), r.t.Step, r.t.SeenTokens
	if resumed {
		fmt.Fprintf(r.env.Log, "resumed at step %d of %d\n", r.t.Step, r.tc.MaxIters)
	}
	onLog := func(m model.Metrics) error {
		r.metrics = append(r.metrics, m)
		r.lastLoss = m.Loss
		left := eta(start, m.Step, startStep, r.tc.MaxIters)
		fmt.Fprintf(r.env.Log, "step %d/%d loss %.4f lr %.3g act_bits %d seen %d tok/s %.0f\n",
			m.Step, r.tc.MaxIters, m.Loss, m.LR, m.ActBits, m.SeenTokens, m.TokensPerSec)
		r.env.Report(steps.Progress{Done: float64(m.Step), Total: float64(r.tc.MaxIters), Unit: "steps",
			Message: "eta " + left.Round(time.Second).String(),
			Fields: map[string]float64{"loss": m.Loss, "tokens_per_s": m.TokensPerSec, "act_bits": float64(m.ActBits),
				"eta_s": left.Seconds()}})
		if m.Step%every == 0 && m.Step < r.tc.MaxIters {
			return r.checkpoint()
		}
		return nil
	}
	err = r.t.Run(ctx, sampler(r.data, r.batchSize), onLog)
	if err != nil {
		if errors.Is(err, model.ErrNonFinite) {
			return fmt.Errorf("training diverged: %w", err)
		}
		return err
	}
	// Wall-clock rates go to the action record (design §6), over the steps
	// this execution trained (after a resume, only those): tokens are the
	// seen tokens (non-padding target positions), as in the progress log.
	if d := time.Since(start).Seconds(); d > 0 && r.t.Step > startStep {
		r.env.Metric(map[string]float64{"train_seconds": d, "steps_per_s": float64(r.t.Step-startStep) / d,
			"tokens_per_s": float64(r.t.SeenTokens-startSeen) / d})
	}
	return nil
}

// resume loads the last committed checkpoint of this action, if any.
func (r *run) resume() (bool, error) {
	dir := r.env.Partial
	if dir == "" {
		return false, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, progressFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var p progress
	if err := json.Unmarshal(b, &p); err != nil {
		return false, fmt.Errorf("resumable progress %s: %w", dir, err)
	}
	t, meta, err := model.LoadTrainer(filepath.Join(dir, p.Model), filepath.Join(dir, p.State), r.tc)
	if err != nil {
		return false, fmt.Errorf("resuming from step %d: %w", p.Step, err)
	}
	if meta.TokenizerDigest != r.tokDigest {
		return false, errors.New("resumable progress was made with another tokenizer")
	}
	r.t, r.metrics = t, p.Metrics
	if len(p.Metrics) > 0 {
		r.lastLoss = p.Metrics[len(p.Metrics)-1].Loss
	}
	return true, nil
}

// checkpoint saves the trainer under names carrying the step, then commits
// them with progress.json, then removes older checkpoints.
func (r *run) checkpoint() error {
	dir := r.env.Partial
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := progress{Step: r.t.Step, Model: fmt.Sprintf("model-%08d.safetensors", r.t.Step),
		State: fmt.Sprintf("state-%08d.safetensors", r.t.Step), Metrics: r.metrics}
	if err := r.t.Save(filepath.Join(dir, p.Model), filepath.Join(dir, p.State), r.tokDigest); err != nil {
		return fmt.Errorf("checkpoint at step %d: %w", r.t.Step, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, progressFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, progressFile)); err != nil {
		return err
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); n != progressFile && n != p.Model && n != p.State {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
