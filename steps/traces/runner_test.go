package traces

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/workflows"
)

const flow = `
steps:
  corpus:
    run: |
      for i in $(seq 0 29); do printf '{"prompt":"Record user %d: age %d","answer":"{}"}\n' $i $((i*3)); done > ${{ outputs.train }}
      printf '{"model":"bytes"}' > ${{ outputs.tok }}
    outputs: [train, tok]
  traces:
    uses: traces
    with: {num_prompts: 20, chunk_prompts: 4, top_k: 5, max_tokens: 6, seed: 9, concurrency: 3}
    inputs: {prompts: corpus.train, student_tokenizer: corpus.tok}
`

// execute runs the flow's traces step with a fake teacher on st.
func execute(t *testing.T, ctx context.Context, st *store.Store, f *fakeTeacher, verify ...bool) (*store.RunRecord, error) {
	t.Helper()
	kind := Kind{Open: openFake(f), LoadTokenizer: loadByteTok}
	reg := steps.NewRegistry(exec.Kind{}, kind)
	w, err := workflows.Load("flow.yaml", []byte(flow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return (&runner.Runner{Store: st, Jobs: 2, Verify: len(verify) > 0 && verify[0]}).Execute(ctx, p)
}

// TestKindUnderTheRunner runs the kind as a workflow step: an interrupted
// run leaves its chunks in the store's partial directory, the next run
// resumes from them and stores the same digests as an uninterrupted run in
// another store, and a third run is a cache hit.
func TestKindUnderTheRunner(t *testing.T) {
	clean, _ := store.Open(t.TempDir())
	rec, err := execute(t, context.Background(), clean, &fakeTeacher{maxLen: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := rec.Steps[1].Outputs

	st, _ := store.Open(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupted := &fakeTeacher{maxLen: 10, after: func(n int64) error {
		if n >= 10 {
			cancel()
			return context.Canceled
		}
		return nil
	}}
	if _, err := execute(t, ctx, st, interrupted); !errors.Is(err, runner.ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	f := &fakeTeacher{maxLen: 10}
	rec, err = execute(t, context.Background(), st, f)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.Steps[1]
	if got.Status != store.StepRan || got.Outputs[OutputTraces].Digest != want[OutputTraces].Digest {
		t.Errorf("resumed run: %s %v, want %v", got.Status, got.Outputs, want)
	}
	// The stats hold the collection's speed: the same once normalized.
	wantStats, err := clean.ReadObject(want[OutputStats].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n == 0 || n >= 20 {
		t.Errorf("the resumed run sampled %d of 20 prompts", n)
	}
	b, err := st.ReadObject(got.Outputs[OutputStats].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if normStats(t, b) != normStats(t, wantStats) {
		t.Errorf("resumed stats %s, want %s (normalized)", b, wantStats)
	}
	var stats Stats
	if err := json.Unmarshal(b, &stats); err != nil || stats.Prompts != 20 || stats.K != 5 || stats.RowGroups != 5 ||
		stats.SampledPrompts != int(f.calls.Load()) || stats.TokensPerS == nil {
		t.Errorf("stats %+v %v", stats, err)
	}

	f = &fakeTeacher{maxLen: 10}
	rec, err = execute(t, context.Background(), st, f)
	if err != nil || rec.Steps[1].Status == store.StepRan || f.calls.Load() != 0 {
		t.Errorf("third run: %v, status %s, %d calls", err, rec.Steps[1].Status, f.calls.Load())
	}

	// --verify samples everything again: the speed differs, the rest of
	// the stats and the traces must not.
	f = &fakeTeacher{maxLen: 10}
	rec, err = execute(t, context.Background(), st, f, true)
	if err != nil || rec.Steps[1].Status != store.StepRan || f.calls.Load() != 20 {
		t.Errorf("verify: %v, status %s (%s), %d calls", err, rec.Steps[1].Status, rec.Steps[1].Error, f.calls.Load())
	}
}
