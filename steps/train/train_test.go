package train

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/corpus"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/records"
	tokkind "github.com/bitflow-dev/bitflow/steps/tokenizer"
	"github.com/bitflow-dev/bitflow/workflows"
)

func TestCorpusSequencesTrainTheAnswerOnly(t *testing.T) {
	tok, err := tokenizer.Train([]string{"hello world", `{"a":1}`, "Record a: b"}, 280)
	if err != nil {
		t.Fatal(err)
	}
	recs := []records.Record{{Prompt: "Record a: b", Answer: `{"a":1}`}}
	d, err := corpusSequences(recs, tok, 256)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tok.Encode(tokenizer.Template("Record a: b"))
	answer := append(tok.EncodeOrdinary(`{"a":1}`), tok.EOSID())
	s := d.seqs[0]
	full := append(append([]int32{}, prompt...), answer...)
	if len(s.inputs) != len(full)-1 || len(s.targets) != len(full)-1 {
		t.Fatalf("lengths %d/%d, want %d", len(s.inputs), len(s.targets), len(full)-1)
	}
	for i := range s.inputs {
		if s.inputs[i] != full[i] || s.targets[i] != full[i+1] {
			t.Fatalf("position %d: input %d target %d, want %d %d", i, s.inputs[i], s.targets[i], full[i], full[i+1])
		}
		// Trained exactly where the target is an answer token or EOS.
		if want := i+1 >= len(prompt); s.train[i] != want {
			t.Errorf("position %d trained=%v, want %v", i, s.train[i], want)
		}
	}
	if d.Tokens() != int64(len(answer)) {
		t.Errorf("trained tokens %d, want %d", d.Tokens(), len(answer))
	}
	b := d.Batch([]int{0, 0})
	if err := b.Check(false); err != nil || b.SeenTokens() != int64(2*len(full)-2) {
		t.Errorf("batch: %v, seen %d", err, b.SeenTokens())
	}

	// Cut at block_size; a prompt longer than the block trains nothing.
	short, err := corpusSequences(recs, tok, len(prompt)+1)
	if err != nil || short.Truncated != 1 || len(short.seqs[0].inputs) != len(prompt)+1 {
		t.Errorf("cut: %v %+v", err, short)
	}
	if _, err := corpusSequences(recs, tok, len(prompt)-2); err == nil {
		t.Error("a block shorter than the prompt gave sequences")
	}
}

func TestParamsReachTheConfigs(t *testing.T) {
	sc := Kind{}.Params()
	vals, errs := sc.Resolve(map[string]any{"n_layer": int64(3), "linear_variant_mlp": "linear", "linear_variant_q": "bitlinear_1p58",
		"learning_rate": 1e-3, "loss_fn": "kd", "kd_tau": 2.0, "budget_tokens": int64(500)})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	mc, tc, err := configs(vals, 300)
	if err != nil {
		t.Fatal(err)
	}
	if mc.NLayer != 3 || mc.LinearVariantMLP != "linear" || mc.LinearVariantQ != "bitlinear_1p58" || mc.VocabSize != 300 || mc.BudgetTokens != 500 {
		t.Errorf("model config %+v", mc)
	}
	if tc.LearningRate != 1e-3 || tc.Fn != "kd" || tc.KDTau != 2 || tc.MaxIters != model.DefaultTrainConfig().MaxIters {
		t.Errorf("train config %+v", tc)
	}
	// Every param of the schema is a field of one of the configs (or a data option).
	data := map[string]bool{"batch_size": true, "max_topk": true, "seed": true, "checkpoint_interval": true}
	b1, _ := json.Marshal(model.DefaultConfig())
	b2, _ := json.Marshal(model.DefaultTrainConfig())
	for _, p := range sc.Params {
		if !data[p.Name] && !strings.Contains(string(b1), `"`+p.Name+`"`) && !strings.Contains(string(b2), `"`+p.Name+`"`) {
			t.Errorf("param %s reaches no config", p.Name)
		}
	}
}

const flow = `
steps:
  corpus:
    uses: corpus
    with: {seed: 4, examples: 48, schemas: [user]}
  tok:
    uses: tokenizer
    with: {vocab_size: 300}
    inputs: {corpus: corpus.train}
  model:
    uses: train
    with:
      n_layer: 1
      n_head: 2
      n_embd: 32
      block_size: 128
      max_iters: 24
      batch_size: 4
      learning_rate: 0.003
      log_interval: 4
      checkpoint_interval: 8
      seed: 7
    inputs: {tokenizer: tok.tokenizer, corpus: corpus.train, val: corpus.val}
`

func registry() *steps.Registry {
	return steps.NewRegistry(exec.Kind{}, corpus.Kind{}, tokkind.Kind{}, Kind{})
}

func execute(t *testing.T, ctx context.Context, st *store.Store, obs runner.Observer) (*store.RunRecord, error) {
	t.Helper()
	reg := registry()
	w, err := workflows.Load("flow.yaml", []byte(flow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return (&runner.Runner{Store: st, Observe: obs}).Execute(ctx, p)
}

func outputs(rec *store.RunRecord, step string) map[string]store.Output {
	for _, s := range rec.Steps {
		if s.Name == step {
			return s.Outputs
		}
	}
	return nil
}

// TestResumeGivesTheSameResult kills training (cancels it) after its second
// checkpoint and reruns it: the rerun resumes and its checkpoint, metrics
// and health are byte-identical to an uninterrupted run's.
func TestResumeGivesTheSameResult(t *testing.T) {
	ref, _ := store.Open(t.TempDir())
	refRec, err := execute(t, context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}

	st, _ := store.Open(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	_, err = execute(t, ctx, st, func(ev runner.Event) {
		if ev.Type == runner.StepProgress && ev.Step == "model" && ev.Progress.Done >= 17 {
			once.Do(cancel)
		}
	})
	if err == nil {
		t.Fatal("the run was not interrupted")
	}
	var logged strings.Builder
	rec, err := execute(t, context.Background(), st, func(ev runner.Event) {
		if ev.Type == runner.StepRan && ev.Step == "model" {
			logged.WriteString("ran")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	got, want := outputs(rec, "model"), outputs(refRec, "model")
	for _, name := range []string{"checkpoint", "metrics", "health"} {
		if got[name].Digest != want[name].Digest {
			t.Errorf("%s differs after resuming: %s vs %s", name, got[name].Digest.Short(), want[name].Digest.Short())
		}
	}
	for _, s := range rec.Steps {
		if s.Name == "model" && s.Log != nil {
			b, _ := st.ReadObject(s.Log.Digest)
			if !strings.Contains(string(b), "resumed at step 16 of 24") {
				t.Errorf("the rerun did not resume from step 16:\n%s", b)
			}
		}
	}
	if _, err := os.Stat(st.PartialPath(rec.Steps[2].ActionID)); !os.IsNotExist(err) {
		t.Error("partial progress kept after the result was committed")
	}

	// The model learned something, and the artifacts hold what they should.
	b, _ := ref.ReadObject(want["metrics"].Digest)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first, last map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if len(lines) != 6 || last["step"].(float64) != 24 || last["loss"].(float64) >= first["loss"].(float64) {
		t.Errorf("metrics: %d lines, first %v, last %v", len(lines), first["loss"], last["loss"])
	}
	if strings.Contains(string(b), "tokens_per_sec") {
		t.Error("a wall-clock figure is in the metrics artifact")
	}
	hb, _ := ref.ReadObject(want["health"].Digest)
	var h Health
	json.Unmarshal(hb, &h)
	if h.Step != 24 || h.ValLoss == nil || h.SeenTokens <= 0 || h.ActivationBits != 8 {
		t.Errorf("health %+v", h)
	}
	m, meta, err := model.LoadCheckpoint(ref.ObjectPath(want["checkpoint"].Digest))
	if err != nil || meta.Step != 24 || m.Config().NLayer != 1 {
		t.Errorf("checkpoint: %v %+v", err, meta)
	}
}

func TestKDLossNeedsTraces(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	reg := registry()
	src := strings.Replace(flow, "seed: 7", "seed: 7\n      loss_fn: kd", 1)
	w, _ := workflows.Load("flow.yaml", []byte(src), runner.LoaderKinds(reg))
	p, _ := runner.NewPlan(w, reg, runner.Options{})
	rec, _ := (&runner.Runner{Store: st}).Execute(context.Background(), p)
	if e := rec.Steps[2].Error; !strings.Contains(e, "needs teacher buckets") {
		t.Errorf("error %q", e)
	}
}
