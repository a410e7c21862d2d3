package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrNonFinite is wrapped by the error a training step returns when its loss
// or gradient norm is NaN or Inf.
var ErrNonFinite = errors.New("non-finite value")

// TrainConfig holds the optimizer and schedule parameters of spec §5 and the
// loss parameters of §4, with their names as JSON tags (the loss fields are
// inlined). DefaultTrainConfig gives the defaults.
type TrainConfig struct {
	LearningRate float64 `json:"learning_rate"`
	MinLR        float64 `json:"min_lr"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	AdamEps      float64 `json:"adam_eps"`
	WeightDecay  float64 `json:"weight_decay"`
	WarmupIters  int     `json:"warmup_iters"`
	MaxIters     int     `json:"max_iters"`
	GradClip     float64 `json:"grad_clip"`
	LogInterval  int     `json:"log_interval"`
	LossConfig
}

// DefaultTrainConfig returns lr 6e-4 decaying to 6e-5, betas (0.9, 0.95),
// eps 1e-8, weight decay 0.1, no warmup, clip 1.0, 1000 iterations logged
// every 10, and DefaultLossConfig.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LearningRate: 6e-4, MinLR: 6e-5, Beta1: 0.9, Beta2: 0.95, AdamEps: 1e-8,
		WeightDecay: 0.1, MaxIters: 1000, GradClip: 1, LogInterval: 10, LossConfig: DefaultLossConfig()}
}

// Validate reports invalid training parameters.
func (c TrainConfig) Validate() error {
	var errs []error
	if !(c.LearningRate > 0) || c.MinLR < 0 {
		errs = append(errs, fmt.Errorf("learning_rate/min_lr: want lr > 0 and min_lr >= 0, got %g, %g", c.LearningRate, c.MinLR))
	}
	if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		errs = append(errs, fmt.Errorf("betas: want [0,1), got %g, %g", c.Beta1, c.Beta2))
	}
	if c.MaxIters < 0 || c.WarmupIters < 0 {
		errs = append(errs, fmt.Errorf("max_iters/warmup_iters: must not be negative"))
	}
	if c.LogInterval <= 0 {
		errs = append(errs, fmt.Errorf("log_interval: must be positive, got %d", c.LogInterval))
	}
	if err := c.LossConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("train config: %w", err)
	}
	return nil
}

// Metrics are the training metrics of spec §4 for one step or, from Run, for
// one log interval: losses and grad_norm are interval means, format_count and
// valid_tokens interval sums, the rest the values after the interval's last
// step. Loss includes the bit penalty when the loss function has one.
type Metrics struct {
	Step           int                `json:"step"`
	Loss           float64            `json:"loss"`
	KLLoss         float64            `json:"kl_loss"`
	CELoss         float64            `json:"ce_loss"`
	FormatLoss     float64            `json:"format_loss"`
	FormatCount    int                `json:"format_count"`
	ValidTokens    int                `json:"valid_tokens"`
	GradNorm       float64            `json:"grad_norm"`
	LR             float64            `json:"lr"`
	ActBits        int                `json:"act_bits"`
	SeenTokens     int64              `json:"seen_tokens"`
	TokensPerSec   float64            `json:"tokens_per_sec"`
	TotalBits      float64            `json:"total_bits"`
	NormalizedBits float64            `json:"normalized_bits"`
	BitPenaltyTerm float64            `json:"bit_penalty_term"`
	LayerBits      map[string]float64 `json:"layer_bits,omitempty"`
}

// Trainer trains a model with AdamW, the cosine schedule, global-norm
// clipping and the A8 -> A4 flip. Its whole state (model, optimizer moments,
// counters and the data-order generator Rand) is saved by SaveState, so a
// resumed run continues bit for bit.
type Trainer struct {
	Model      *Model
	Cfg        TrainConfig
	Opt        *AdamW
	Step       int   // completed optimizer steps
	SeenTokens int64 // non-padding target positions trained on so far
	FlipDone   bool
	// Rand is the generator callers draw batches from; its state is part
	// of the checkpoint.
	Rand *rand.Rand
	pcg  *rand.PCG

	dlogits []float32
}

// NewTrainer returns a trainer at step 0 whose data generator is seeded with
// seed.
func NewTrainer(m *Model, cfg TrainConfig, seed uint64) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(seed, 0x64617461)
	return &Trainer{Model: m, Cfg: cfg, Opt: NewAdamW(m, cfg.Beta1, cfg.Beta2, cfg.AdamEps, cfg.WeightDecay),
		pcg: pcg, Rand: rand.New(pcg)}, nil
}

// FlipAt returns floor(flip_fraction * budget_tokens), the seen-token count
// after which the activation bits flip.
func (t *Trainer) FlipAt() int64 {
	c := t.Model.cfg
	return int64(math.Floor(c.FlipFraction * float64(c.BudgetTokens)))
}

// TrainStep runs one optimizer step on b: forward, loss, backward, clipping,
// the AdamW update at the scheduled rate, and the flip check. A NaN or Inf
// loss or gradient norm is an error wrapping ErrNonFinite that names the
// step and the loss parts; the model is then left unchanged.
func (t *Trainer) TrainStep(b *Batch) (Metrics, error) {
	start := time.Now()
	m, lc := t.Model, t.Cfg.LossConfig
	V := m.cfg.VocabSize
	if err := b.Check(lc.IsKD()); err != nil {
		return Metrics{}, fmt.Errorf("step %d: %w", t.Step+1, err)
	}
	logits, err := m.Forward(b.Inputs, b.Valid, b.B, b.T)
	if err != nil {
		return Metrics{}, fmt.Errorf("step %d: %w", t.Step+1, err)
	}
	if len(t.dlogits) != len(logits) {
		t.dlogits = make([]float32, len(logits))
	}
	res, err := TaskLoss(t.dlogits, logits, b, V, lc)
	if err != nil {
		return Metrics{}, fmt.Errorf("step %d: %w", t.Step+1, err)
	}
	met := Metrics{KLLoss: res.KL, CELoss: res.CE, FormatLoss: res.Format,
		FormatCount: res.FormatCount, ValidTokens: res.ValidTokens}
	met.TotalBits, met.NormalizedBits, met.BitPenaltyTerm = m.BitPenalty(lc, false)
	met.Loss = res.Loss
	if lc.HasBitPenalty() {
		met.Loss += met.BitPenaltyTerm
	} else {
		met.BitPenaltyTerm = 0
	}
	if !finite(met.Loss) {
		return met, fmt.Errorf("step %d: loss is %v (kl_loss %v, ce_loss %v, format_loss %v, bit_penalty_term %v): %w",
			t.Step+1, met.Loss, res.KL, res.CE, res.Format, met.BitPenaltyTerm, ErrNonFinite)
	}
	m.ZeroGrad()
	m.Backward(t.dlogits)
	if lc.HasBitPenalty() {
		m.BitPenalty(lc, true)
	}
	met.GradNorm = GradNorm(m.Grads)
	if !finite(met.GradNorm) {
		return met, fmt.Errorf("step %d: gradient norm is %v at loss %v: %w", t.Step+1, met.GradNorm, met.Loss, ErrNonFinite)
	}
	ClipGrads(m.Grads, met.GradNorm, t.Cfg.GradClip)
	met.LR = CosineLR(t.Step, t.Cfg.WarmupIters, t.Cfg.MaxIters, t.Cfg.LearningRate, t.Cfg.MinLR)
	t.Opt.Step(m.Params, m.Grads, met.LR)
	t.Step++
	t.SeenTokens += b.SeenTokens()
	if !t.FlipDone && t.SeenTokens >= t.FlipAt() {
		m.SetActBits(m.cfg.ActBitsAfter)
		t.FlipDone = true
	}
	met.Step, met.ActBits, met.SeenTokens = t.Step, m.actBits, t.SeenTokens
	met.LayerBits = m.LayerBits()
	if d := time.Since(start).Seconds(); d > 0 {
		met.TokensPerSec = float64(b.SeenTokens()) / d
	}
	return met, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// BatchSource returns the batch for the coming step (the number of completed
// steps), drawing any randomness from rng, the trainer's checkpointed
// generator.
type BatchSource func(step int, rng *rand.Rand) (*Batch, error)

// Run trains until Step reaches max_iters, calling onLog (if not nil) with
// the interval's metrics after every log_interval-th step and after the last
// step. An error from next, a step or onLog stops the run and is returned;
// so is ctx's error, checked between steps. Callers that checkpoint from
// onLog resume at an interval boundary, where the metrics restart cleanly.
func (t *Trainer) Run(ctx context.Context, next BatchSource, onLog func(Metrics) error) error {
	var acc Metrics
	var steps int
	var secs float64
	var tokens int64
	for t.Step < t.Cfg.MaxIters {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := next(t.Step, t.Rand)
		if err != nil {
			return fmt.Errorf("step %d: batch: %w", t.Step+1, err)
		}
		start := time.Now()
		m, err := t.TrainStep(b)
		if err != nil {
			return err
		}
		secs += time.Since(start).Seconds()
		tokens += b.SeenTokens()
		steps++
		acc.Loss += m.Loss
		acc.KLLoss += m.KLLoss
		acc.CELoss += m.CELoss
		acc.FormatLoss += m.FormatLoss
		acc.GradNorm += m.GradNorm
		acc.FormatCount += m.FormatCount
		acc.ValidTokens += m.ValidTokens
		if t.Step%t.Cfg.LogInterval != 0 && t.Step != t.Cfg.MaxIters {
			continue
		}
		n := float64(steps)
		out := m
		out.Loss, out.KLLoss, out.CELoss, out.FormatLoss, out.GradNorm =
			acc.Loss/n, acc.KLLoss/n, acc.CELoss/n, acc.FormatLoss/n, acc.GradNorm/n
		out.FormatCount, out.ValidTokens = acc.FormatCount, acc.ValidTokens
		out.TokensPerSec = 0
		if secs > 0 {
			out.TokensPerSec = float64(tokens) / secs
		}
		acc, steps, secs, tokens = Metrics{}, 0, 0, 0
		if onLog != nil {
			if err := onLog(out); err != nil {
				return err
			}
		}
	}
	return nil
}

// Evaluate returns the task loss of m on b without the bit penalty (spec §4:
// reported validation loss excludes it) and without touching gradients.
func Evaluate(m *Model, b *Batch, lc LossConfig) (LossResult, error) {
	if err := b.Check(lc.IsKD()); err != nil {
		return LossResult{}, err
	}
	logits, err := m.Forward(b.Inputs, b.Valid, b.B, b.T)
	if err != nil {
		return LossResult{}, err
	}
	return TaskLoss(nil, logits, b, m.cfg.VocabSize, lc)
}
