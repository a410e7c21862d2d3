// Package dryrun is the `dryrun` step kind: a large ternary model (LLaMA-7B's
// shape, or the BitNet-7B-KDE seed's) instantiated without training, packed
// 2-bit weights generated directly from a seed, one forward pass at A8 and one
// at A4, with measured time and peak memory per phase and the analytic memory
// breakdown (the seed's dry_run_7b_memory, writing dryrun_7b_memory.json).
package dryrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps"
)

// Kind is the dryrun kind.
type Kind struct{}

// Version of the dryrun kind.
const Version = "3"

// BudgetBytes is the memory the spec allows the 7B dry run: 24 GB.
const BudgetBytes int64 = 24e9

// Kind implements steps.Step.
func (Kind) Kind() string { return "dryrun" }

// Version implements steps.Step.
func (Kind) Version() string { return Version }

// Params implements steps.Step.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "Instantiates a large ternary model without training (config 7b: LLaMA-7B's shape, 6.74B parameters; " +
			"seed: the BitNet-7B-KDE seed's 4096/32/32/128 with a 4x MLP, 8.85B; tiny: for tests). Ternary weights are " +
			"generated from the seed directly in packed 2-bit form, never as fp32; embedding and head are fp16 or int8. " +
			"Runs a forward pass over seq_len tokens at act_bits_start (A8), flips to act_bits_after (A4) and runs it " +
			"again, reporting per phase the time, tokens/s and the measured peak resident memory (the process's " +
			"high-water mark, reset before each phase), the analytic memory breakdown against the bytes counted from " +
			"the tensors, and whether the two phases' logits differ by a plausible amount. Writes " +
			"dryrun_7b_memory.json; its timings and memory figures are measurements that --verify leaves out. The 7b " +
			"configuration needs about 2.2 GB.",
		Params: []steps.Param{
			{Name: "config", Type: steps.String, Default: Config7B, Enum: Configs,
				Doc: "model shape: 7b (dim 4096, 32 layers, 32 heads, SwiGLU 11008, vocab 32000), seed (4096/32/32/128, SwiGLU 16384, vocab 32000) or tiny"},
			{Name: "seq_len", Type: steps.Int, Default: int64(8), Doc: "tokens in the forward pass (drawn from the seed; at most the config's block size, 2048 for 7b and seed)"},
			{Name: "seed", Type: steps.Int, Default: int64(0), Doc: "seed of the weights and tokens"},
			{Name: "embed_dtype", Type: steps.String, Default: DTypeF16, Enum: []string{DTypeF16, DTypeInt8},
				Doc: "storage of the embedding table and the head: fp16, or int8 with an fp32 scale per row"},
			{Name: "act_quant", Type: steps.String, Default: model.ActQuantAbsmaxToken, Enum: []string{model.ActQuantAbsmaxToken},
				Doc: "activation quantizer; fixed to absmax_token, the packed path's integer activations per token"},
			{Name: "act_bits_start", Type: steps.Int, Default: int64(8), Doc: "activation bits of the first forward pass (A8)"},
			{Name: "act_bits_after", Type: steps.Int, Default: int64(4), Doc: "activation bits of the second forward pass, after the flip (A4)"},
		},
		Outputs: []steps.Port{
			{Name: "report", Measurement: true, Doc: "dryrun_7b_memory.json"},
		},
		CPUs: steps.AllCPUs,
	}
}

// Run implements steps.Step.
func (k Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	rep, err := Execute(ctx, Options{
		Config: env.Params.String("config"), SeqLen: env.Params.Int("seq_len"), Seed: int64(env.Params.Int("seed")),
		EmbedDType: env.Params.String("embed_dtype"), ActQuant: env.Params.String("act_quant"),
		BitsStart: env.Params.Int("act_bits_start"), BitsAfter: env.Params.Int("act_bits_after"),
		Threads: env.CPUs, Report: env.Report, Log: func(format string, a ...any) {
			if env.Log != nil {
				fmt.Fprintf(env.Log, format+"\n", a...)
			}
		},
	})
	if err != nil {
		return err
	}
	m := map[string]float64{"peak_rss_bytes": float64(rep.Memory.PeakRSS), "weights_bytes": float64(rep.Memory.InferenceBytes)}
	for _, r := range rep.Runs {
		m[r.Phase+"_s"] = r.TimeS
		if r.TokensPerSec > 0 {
			m[r.Phase+"_tokens_per_s"] = r.TokensPerSec
		}
	}
	env.Metric(m)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out.Path("report"), append(b, '\n'), 0o644)
}

// Options are a dry run's settings (the kind's params, plus how to run).
type Options struct {
	Config     string
	SeqLen     int
	Seed       int64
	EmbedDType string
	ActQuant   string
	BitsStart  int
	BitsAfter  int
	// Threads bounds the kernels' goroutines (0: GOMAXPROCS).
	Threads int
	// Report and Log, if set, receive progress and log lines.
	Report func(steps.Progress)
	Log    func(format string, a ...any)
}

// Execute builds the model, runs both phases and returns the report. An
// error means the run could not be made or its outputs are not finite; an
// implausible A8/A4 difference is only reported.
func Execute(ctx context.Context, o Options) (*Report, error) {
	cfg, err := ModelConfig(o.Config)
	if err != nil {
		return nil, err
	}
	if o.ActQuant != model.ActQuantAbsmaxToken {
		return nil, fmt.Errorf("act_quant: the packed path supports only %s, got %q", model.ActQuantAbsmaxToken, o.ActQuant)
	}
	if o.SeqLen < 1 || o.SeqLen > cfg.BlockSize {
		return nil, fmt.Errorf("seq_len: want 1..%d (the block size of %s), got %d", cfg.BlockSize, o.Config, o.SeqLen)
	}
	for _, b := range []int{o.BitsStart, o.BitsAfter} {
		if b < 2 || b > 8 {
			return nil, fmt.Errorf("act_bits: want 2..8, got %d", b)
		}
	}
	report := o.Report
	if report == nil {
		report = func(steps.Progress) {}
	}
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cfg.ActBitsStart, cfg.ActBitsAfter = o.BitsStart, o.BitsAfter
	L, V, n := cfg.NLayer, cfg.VocabSize, o.SeqLen
	seed := uint64(o.Seed)
	rep := &Report{
		Timestamp: time.Now().UTC().Format(time.RFC3339), ConfigName: o.Config, Config: shapeOf(cfg),
		Seed: o.Seed, SeqLen: n, EmbedDType: o.EmbedDType, ActQuant: o.ActQuant, Threads: o.Threads,
		Tokens: Tokens(seed, n, V), Params: CountParams(cfg),
	}
	total := float64(3 * L)
	progress := func(done int, msg string, fields map[string]float64) {
		report(steps.Progress{Done: float64(done), Total: total, Unit: "layers", Message: msg, Fields: fields})
	}
	logf("dryrun %s: %d parameters (%.2fB), analytic weights %s", o.Config, rep.Params.Total, rep.Params.ApproxBillion, gib(Analytic(cfg, o.EmbedDType, n).Weights))

	mt := startPhase()
	start := time.Now()
	inf, err := Build(ctx, cfg, o.EmbedDType, seed, o.Threads, func(l int) { progress(l+1, "building weights", nil) })
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	build := Run{Phase: "build", Finite: true, TimeS: time.Since(start).Seconds(), Memory: mt.end()}
	rep.Runs = append(rep.Runs, build)
	logf("build: %.1fs, peak RSS %s", build.TimeS, gib(build.Memory.Peak))

	sess := inf.NewSession(n)
	var logits [2][]float32
	for i, bits := range []int{o.BitsStart, o.BitsAfter} {
		phase := fmt.Sprintf("A%d_forward", bits)
		inf.SetActBits(bits)
		sess.Reset()
		base := L * (i + 1)
		mt := startPhase()
		start := time.Now()
		z, err := sess.ForwardFunc(rep.Tokens, func(l int) error {
			progress(base+l+1, phase, nil)
			return ctx.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", phase, err)
		}
		r := Run{Phase: phase, ActBits: bits, TimeS: time.Since(start).Seconds(), Memory: mt.end(),
			LogitsShape: []int{n, V}, LogitsSHA256: logitsDigest(z), LogitsRMS: rms(z), Finite: finite(z)}
		if r.TimeS > 0 {
			r.TokensPerSec = float64(n) / r.TimeS
		}
		logits[i] = append([]float32(nil), z...)
		rep.Runs = append(rep.Runs, r)
		progress(base+L, phase, map[string]float64{"tokens_per_s": r.TokensPerSec})
		logf("%s: %.2fs, %.2f tokens/s, peak RSS %s", phase, r.TimeS, r.TokensPerSec, gib(r.Memory.Peak))
	}

	an, co := Analytic(cfg, o.EmbedDType, n), Counted(inf, sess)
	rep.Memory = MemoryCheck{Analytic: an, Counted: co, InferenceBytes: inf.Bytes(),
		DenseFP32Bytes: 4 * (rep.Params.Total + rep.Params.Scales), BudgetBytes: BudgetBytes}
	rep.Memory.WeightsMatch = an.TernaryWeights == co.TernaryWeights && an.Scales == co.Scales &&
		an.Embedding == co.Embedding && an.Head == co.Head && an.Norms == co.Norms &&
		an.Weights == co.Weights && co.Weights == rep.Memory.InferenceBytes
	for _, r := range rep.Runs {
		rep.Memory.PeakRSS = max(rep.Memory.PeakRSS, r.Memory.Peak)
	}
	rep.Memory.FitsBudget = rep.Memory.PeakRSS > 0 && rep.Memory.PeakRSS < BudgetBytes
	rep.Flip = compareFlip(logits[0], logits[1], n, V)
	logf("flip A%d -> A%d: %s", o.BitsStart, o.BitsAfter, rep.Flip.Verdict)
	if !rep.Flip.Finite {
		return nil, fmt.Errorf("forward: non-finite logits (A%d finite %v, A%d finite %v)",
			o.BitsStart, rep.Runs[1].Finite, o.BitsAfter, rep.Runs[2].Finite)
	}
	return rep, nil
}
