package runner

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/workflows"
)

func TestPlanSpecRebuildsTheSamePlan(t *testing.T) {
	e := newEnv(t)
	src := `
name: typed
params: {v: x, n: 1.5, i: 2, flag: false, l: [1], m: {k: 1}}
steps:
  a:
    uses: rec
    with: {value: "a-${{ params.n }}-${{ params.i }}-${{ params.flag }}-${{ params.l }}-${{ params.m }}"}
  b:
    uses: rec
    with: {value: "b-${{ params.v }}"}
    inputs: {a: a.out}
`
	w, err := workflows.Load("test.yaml", []byte(src), LoaderKinds(e.reg))
	if err != nil {
		t.Fatal(err)
	}
	points := []PointSpec{
		pt("p1", "n", 1.0, "i", int64(3), "flag", true, "l", []any{int64(1), 2.0, "x"}, "m", map[string]any{"k": 1.0}),
		pt("p2", "n", 2.5, "v", "y"),
	}
	opt := Options{Sets: []string{"v=z"}}
	sw, err := NewSweep(w, e.reg, "x", points, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(SweepSpecOf(w, "x", points, opt))
	if err != nil {
		t.Fatal(err)
	}
	var spec PlanSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	p2, err := spec.Build(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := NodeKeys(sw.Plan)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NodeKeys(p2)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != len(k2) || len(k1) != 4 {
		t.Fatalf("%d and %d keys, want 4", len(k1), len(k2))
	}
	seen := map[string]bool{}
	for _, n := range sw.Plan.Nodes {
		m := p2.Node(n.Name)
		if m == nil || k1[n] != k2[m] {
			t.Errorf("step %s: rebuilt key differs (1.0 must stay a float, 3 an int)", n.Name)
		}
		seen[k1[n]] = true
	}
	if len(seen) != 4 {
		t.Errorf("keys are not distinct: %d", len(seen))
	}

	// A plain plan with --set: its spec rebuilds it; another --set does not.
	p := e.plan(src, Options{Sets: []string{"n=3"}, Targets: []string{"b"}})
	b, _ = json.Marshal(SpecOf(p))
	var ps PlanSpec
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	q, err := ps.Build(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := NodeKeys(p)
	kq, _ := NodeKeys(q)
	if kp[p.Node("b")] != kq[q.Node("b")] {
		t.Error("plain plan: rebuilt key differs")
	}
	other, _ := NodeKeys(e.plan(src, Options{Sets: []string{"n=4"}}))
	for n, k := range other {
		if n.Name == "a" && k == kp[p.Node("a")] {
			t.Error("--set n=4 left a's structural key unchanged")
		}
	}
}

const chainFlow = `
name: chain
steps:
  a:
    uses: rec
    with: {value: a}
  b:
    uses: rec
    with: {value: b}
    inputs: {a: a.out}
  c:
    uses: rec
    with: {value: c, fail: true}
    inputs: {a: b.out}
  d:
    uses: rec
    with: {value: d}
    inputs: {a: c.out}
`

func TestExecuteStepNeedsUpstreamAndCommitsOnce(t *testing.T) {
	e := newEnv(t)
	p := e.plan(chainFlow, Options{})
	r := &Runner{Store: e.store, Version: "test"}
	ctx := context.Background()
	if _, err := r.ExecuteStep(ctx, p, "b", "driver"); !errors.Is(err, ErrUpstreamMissing) {
		t.Fatalf("b before a: err %v, want ErrUpstreamMissing", err)
	}
	for i, want := range []string{store.StepRan, store.StepCached} {
		out, err := r.ExecuteStep(ctx, p, "a", "driver")
		if err != nil || out.Status != want {
			t.Fatalf("a, try %d: %+v, %v; want %s", i, out, err, want)
		}
	}
	if n := e.kind.runs("a"); n != 1 {
		t.Errorf("a ran %d times", n)
	}
	out, err := r.ExecuteStep(ctx, p, "b", "driver")
	if err != nil || out.Status != store.StepRan {
		t.Fatalf("b: %+v %v", out, err)
	}
	rec, err := e.store.ReadAction(out.ActionID)
	if err != nil || rec.Producer.RunID != "driver" {
		t.Fatalf("b's record: %+v %v; want producer run driver", rec, err)
	}
	out, err = r.ExecuteStep(ctx, p, "c", "driver")
	if err != nil || out.Status != store.StepFailed || out.Err == nil {
		t.Fatalf("c: %+v %v; want failed", out, err)
	}
}

// inlineExecutor stands in for a cluster: it runs each missing step with
// ExecuteStep (as a job would) once its upstream steps are done, and
// reports outcomes through the Execution, the way runner/slurm does.
type inlineExecutor struct{ r *Runner }

func (x inlineExecutor) Execute(ctx context.Context, ex *Execution) error {
	p := ex.Plan()
	for _, n := range p.Nodes {
		if ex.Done(n) {
			continue
		}
		if res, _ := ex.Resolve(n); res == Cached {
			continue
		}
		job := &Runner{Store: ex.Store(), Version: "job"}
		out, err := job.ExecuteStep(ctx, p, n.Name, ex.RunID())
		switch {
		case err != nil:
			ex.Failed(n, err, "")
		case out.Status == store.StepFailed:
			ex.Failed(n, out.Err, "tail")
		default:
			if err := ex.Finished(n, time.Millisecond); err != nil {
				ex.Failed(n, err, "")
			}
		}
	}
	return nil
}

func TestExecutorSeamRecordsLikeTheLocalRunner(t *testing.T) {
	e := newEnv(t)
	local, err := e.run(chainFlow, Options{Targets: []string{"b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.run(chainFlow, Options{}, &Runner{KeepGoing: true, Executor: inlineExecutor{}})
	if !errors.Is(err, ErrStepsFailed) {
		t.Fatalf("err %v, want ErrStepsFailed", err)
	}
	if got, want := statuses(rec), "a:cached b:cached c:failed d:skipped"; got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	if stepOf(rec, "b").Outputs["out"].Digest != stepOf(local, "b").Outputs["out"].Digest {
		t.Error("b's digest differs from the local run's")
	}
	e2 := newEnv(t)
	rec, err = e2.run(chainFlow, Options{Targets: []string{"b"}}, &Runner{Executor: inlineExecutor{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(rec), "a:ran b:ran"; got != want {
		t.Errorf("fresh store: statuses %q, want %q", got, want)
	}
	if stepOf(rec, "b").Outputs["out"].Digest != stepOf(local, "b").Outputs["out"].Digest {
		t.Error("fresh store: b's digest differs from the local run's")
	}
}
