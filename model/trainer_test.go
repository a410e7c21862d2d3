package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/model/safetensors"
)

// kdSource draws KD batches with padding and prompts from the trainer's
// generator.
func kdSource(B, T, V, K int) BatchSource {
	return func(_ int, rng *rand.Rand) (*Batch, error) {
		b := lossBatch(rng, B, T, V, K)
		b.Valid = make([]bool, B*T)
		for i := range b.Valid {
			b.Valid[i] = i%T < T-1 // last position is padding
		}
		return b, nil
	}
}

func studentConfig() Config {
	cfg := tinyConfig(VariantBitLinear)
	cfg.LinearVariantMLPUp = VariantAdaptive
	cfg.LinearVariantV = Variant1p58
	cfg.BudgetTokens = 60 // flip after 54 seen tokens, mid-run
	return cfg
}

func studentTrainConfig(iters int) TrainConfig {
	tc := DefaultTrainConfig()
	tc.Fn, tc.MaxIters, tc.WarmupIters, tc.LogInterval, tc.LearningRate = LossBitBalancedKD, iters, 2, 2, 3e-3
	return tc
}

// TestResumeMatchesStraightThrough trains N steps, saves, resumes from the
// files and continues; weights, moments and counters must equal, bit for
// bit, an uninterrupted run. The run crosses the A8 -> A4 flip.
func TestResumeMatchesStraightThrough(t *testing.T) {
	cfg := studentConfig()
	const iters, cut = 8, 3
	src := kdSource(2, 6, cfg.VocabSize, 3)
	run := func(t *testing.T, m *Model) *Trainer {
		tr, err := NewTrainer(m, studentTrainConfig(iters), 5)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	m1, _ := New(cfg, 4)
	straight := run(t, m1)
	var logs []Metrics
	if err := straight.Run(context.Background(), src, func(mt Metrics) error { logs = append(logs, mt); return nil }); err != nil {
		t.Fatal(err)
	}
	if !straight.FlipDone || m1.ActBits() != 4 {
		t.Fatalf("no flip: seen %d, bits %d", straight.SeenTokens, m1.ActBits())
	}
	if len(logs) != iters/2 || logs[len(logs)-1].Step != iters {
		t.Errorf("%d log calls, last step %d", len(logs), logs[len(logs)-1].Step)
	}

	m2, _ := New(cfg, 4)
	first := run(t, m2)
	first.Cfg.MaxIters = cut
	if err := first.Run(context.Background(), src, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mp, sp := filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "state.safetensors")
	if err := first.Save(mp, sp, "sha256:tok"); err != nil {
		t.Fatal(err)
	}
	resumed, meta, err := LoadTrainer(mp, sp, studentTrainConfig(iters))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Step != cut || meta.TokenizerDigest != "sha256:tok" {
		t.Errorf("meta %+v", meta)
	}
	if err := resumed.Run(context.Background(), src, nil); err != nil {
		t.Fatal(err)
	}
	for i := range m1.Params {
		if math.Float32bits(m1.Params[i]) != math.Float32bits(resumed.Model.Params[i]) {
			t.Fatalf("param %d: straight %g, resumed %g", i, m1.Params[i], resumed.Model.Params[i])
		}
	}
	for i := range straight.Opt.M {
		if straight.Opt.M[i] != resumed.Opt.M[i] || straight.Opt.V[i] != resumed.Opt.V[i] {
			t.Fatalf("moment %d differs", i)
		}
	}
	if straight.Step != resumed.Step || straight.SeenTokens != resumed.SeenTokens ||
		straight.FlipDone != resumed.FlipDone || resumed.Model.ActBits() != 4 ||
		straight.Rand.Uint64() != resumed.Rand.Uint64() {
		t.Errorf("counters differ: %d/%d steps, %d/%d seen", straight.Step, resumed.Step, straight.SeenTokens, resumed.SeenTokens)
	}
}

// TestCheckpointRoundTrip writes and reads a checkpoint: spec tensor names
// and metadata, and bit-identical logits.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg := studentConfig()
	cfg.TieEmbeddings = true
	m := trainedish(t, cfg, 2)
	m.SetActBits(4)
	ids := randIDs(rand.New(rand.NewPCG(1, 1)), 2*8, cfg.VocabSize)
	want, _ := m.Forward(ids, nil, 2, 8)
	want = append([]float32(nil), want...)
	var buf bytes.Buffer
	if err := m.WriteCheckpoint(&buf, CheckpointMeta{Step: 12, SeenTokens: 345, FlipDone: true, TokenizerDigest: "d"}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	f, err := safetensors.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"embed_tokens.weight", "blocks.0.attn_norm.weight", "blocks.1.attn.q_proj.weight",
		"blocks.1.attn.q_proj.scale", "blocks.0.attn.v_proj.weight", "blocks.0.attn.o_proj.scale",
		"blocks.0.mlp_norm.weight", "blocks.0.mlp.up_proj.bit_param", "blocks.1.mlp.down_proj.scale", "norm.weight"} {
		if _, ok := f.Tensors[name]; !ok {
			t.Errorf("missing tensor %s", name)
		}
	}
	for _, name := range []string{"lm_head.weight", "blocks.0.attn.v_proj.scale", "blocks.0.mlp.up_proj.scale"} {
		if _, ok := f.Tensors[name]; ok {
			t.Errorf("unexpected tensor %s", name)
		}
	}
	md := f.Metadata
	if md["step"] != "12" || md["seen_tokens"] != "345" || md["flip_done"] != "true" || md["act_bits"] != "4" || md["tokenizer_digest"] != "d" {
		t.Errorf("metadata %v", md)
	}
	for _, key := range []string{`"linear_variant_v":"bitlinear_1p58"`, `"linear_variant_mlp_up":"adaptive_bit_linear"`, `"head_dim":4`, `"tie_embeddings":true`, `"budget_tokens":60`} {
		if !strings.Contains(md["config"], key) {
			t.Errorf("config metadata lacks %s: %s", key, md["config"])
		}
	}
	m2, meta, err := ReadCheckpoint(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Step != 12 || m2.ActBits() != 4 || m2.Config() != m.Config() {
		t.Errorf("meta %+v bits %d", meta, m2.ActBits())
	}
	got, _ := m2.Forward(ids, nil, 2, 8)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logit %d: %g after reload, %g before", i, got[i], want[i])
		}
	}
	if _, _, err := ReadCheckpoint(bytes.NewReader(raw[:len(raw)-4])); err == nil {
		t.Error("truncated checkpoint read without error")
	}
}

// TestNonFiniteLossIsAnError: a NaN loss stops training with an error naming
// the step and the loss parts, and leaves the weights alone.
func TestNonFiniteLossIsAnError(t *testing.T) {
	cfg := tinyConfig(VariantLinear)
	m, _ := New(cfg, 1)
	tr, _ := NewTrainer(m, studentTrainConfig(5), 1)
	src := kdSource(1, 4, cfg.VocabSize, 2)
	if _, err := tr.TrainStep(mustBatch(t, src)); err != nil {
		t.Fatal(err)
	}
	m.Tensor("norm.weight")[0] = float32(math.NaN())
	before := append([]float32(nil), m.Params...)
	_, err := tr.TrainStep(mustBatch(t, src))
	if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "step 2") || !strings.Contains(err.Error(), "kl_loss") {
		t.Fatalf("err = %v", err)
	}
	for i := range before {
		if math.Float32bits(before[i]) != math.Float32bits(m.Params[i]) {
			t.Fatal("a failed step changed the weights")
		}
	}
	if tr.Step != 1 {
		t.Errorf("step advanced to %d", tr.Step)
	}
}

func mustBatch(t *testing.T, src BatchSource) *Batch {
	b, err := src(0, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFlipAtBudget: the bits flip after the step whose seen tokens reach
// floor(flip_fraction * budget_tokens), and only once.
func TestFlipAtBudget(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	cfg.BudgetTokens, cfg.FlipFraction = 100, 0.25 // flip at 25 seen tokens
	m, _ := New(cfg, 1)
	tc := studentTrainConfig(10)
	tc.Fn = LossCE
	tr, _ := NewTrainer(m, tc, 1)
	b := &Batch{B: 1, T: 10, Inputs: make([]int32, 10), Targets: make([]int32, 10)}
	b.Targets[9] = -1 // 9 seen tokens per step
	for step, want := range []int{8, 8, 4, 4} {
		if _, err := tr.TrainStep(b); err != nil {
			t.Fatal(err)
		}
		if m.ActBits() != want {
			t.Errorf("after step %d (seen %d): bits %d, want %d", step+1, tr.SeenTokens, m.ActBits(), want)
		}
	}
}

// TestDeterministicAcrossThreads runs forward, backward and two training
// steps at GOMAXPROCS 1, 2 and 4 on shapes big enough for every kernel to
// split its work, and requires identical bits: logits, gradients, weights
// and each step's grad_norm. It runs with the default grad_clip and in the
// clipping regime (grad_clip 0.01, below every step's norm), where the
// norm reaches the weights through the clip factor. A last-bit difference
// in the float64 norm seldom survives that float32 factor, so the norms
// themselves are compared bit for bit.
func TestDeterministicAcrossThreads(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NLayer, cfg.NEmbd, cfg.NHead, cfg.MLPHidden, cfg.BlockSize, cfg.VocabSize = 2, 64, 4, 160, 64, 96
	cfg.LinearVariantMLPGate = VariantAdaptive
	cfg.LinearVariantK = VariantLinear
	src := kdSource(4, 64, cfg.VocabSize, 4)
	for _, clip := range []float64{DefaultTrainConfig().GradClip, 0.01} {
		t.Run(fmt.Sprintf("grad_clip=%g", clip), func(t *testing.T) {
			run := func(procs int) (logits, grads, params []float32, norms []float64) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				m, _ := New(cfg, 9)
				tc := studentTrainConfig(2)
				tc.GradClip, tc.LogInterval = clip, 1
				tr, _ := NewTrainer(m, tc, 9)
				b := mustBatch(t, src)
				lg, err := m.Forward(b.Inputs, b.Valid, b.B, b.T)
				if err != nil {
					t.Fatal(err)
				}
				logits = append([]float32(nil), lg...)
				if err := tr.Run(context.Background(), src, func(mt Metrics) error {
					norms = append(norms, mt.GradNorm)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return logits, append([]float32(nil), m.Grads...), append([]float32(nil), m.Params...), norms
			}
			l1, g1, p1, n1 := run(1)
			if clip < 1 {
				for i, n := range n1 {
					if n <= clip {
						t.Fatalf("step %d: grad_norm %g does not exceed grad_clip %g", i+1, n, clip)
					}
				}
			}
			for _, procs := range []int{2, 4} {
				l, g, p, n := run(procs)
				for i := range n1 {
					if math.Float64bits(n[i]) != math.Float64bits(n1[i]) {
						t.Fatalf("GOMAXPROCS %d: step %d grad_norm = %.17g, want %.17g", procs, i+1, n[i], n1[i])
					}
				}
				for name, pair := range map[string][2][]float32{"logits": {l1, l}, "grads": {g1, g}, "params": {p1, p}} {
					for i := range pair[0] {
						if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
							t.Fatalf("GOMAXPROCS %d: %s[%d] = %g, want %g", procs, name, i, pair[1][i], pair[0][i])
						}
					}
				}
			}
		})
	}
}
