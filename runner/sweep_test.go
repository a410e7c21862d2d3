package runner

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/workflows"
)

// sweepFlow has a step every point shares (a), one that depends on param v
// (b) and one that depends on param w and on b (c).
const sweepFlow = `
name: sw
params: {v: x, w: y, n: 1.5}
steps:
  a:
    uses: rec
    with: {value: a}
  b:
    uses: rec
    with: {value: "b-${{ params.v }}"}
    inputs: {a: a.out}
  c:
    uses: rec
    with: {value: "c-${{ params.w }}"}
    inputs: {a: b.out}
`

func (e *env) sweep(src string, points []PointSpec) *Sweep {
	e.t.Helper()
	w, err := workflows.Load("test.yaml", []byte(src), LoaderKinds(e.reg))
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	s, err := NewSweep(w, e.reg, "x", points, Options{})
	if err != nil {
		e.t.Fatalf("sweep: %v", err)
	}
	return s
}

func pt(name string, kv ...any) PointSpec {
	p := PointSpec{Name: name, ID: "id-" + name + strings.Repeat("0", 16), Params: map[string]any{}}
	for i := 0; i < len(kv); i += 2 {
		p.Params[kv[i].(string)] = kv[i+1]
	}
	return p
}

func nodeNames(p *Plan) string {
	var out []string
	for _, n := range p.Nodes {
		out = append(out, n.Name)
	}
	return strings.Join(out, " ")
}

func TestMergeSharesIdenticalNodesAndSeparatesDiffering(t *testing.T) {
	e := newEnv(t)
	s := e.sweep(sweepFlow, []PointSpec{
		pt("x-1-1", "v", "1", "w", "1"),
		pt("x-1-2", "v", "1", "w", "2"),
		pt("x-2-1", "v", "2", "w", "1"),
	})
	// a: one node for all points, plain name. b: b-1 shared by the first
	// two points, b-2 for the third. c: three nodes, since the first and
	// third points have the same c params but different upstream b.
	want := "a b@1-1 c@1-1 c@1-2 b@2-1 c@2-1"
	if got := nodeNames(s.Plan); got != want {
		t.Fatalf("merged nodes:\n got %s\nwant %s", got, want)
	}
	p0, p1, p2 := s.Points[0].Steps, s.Points[1].Steps, s.Points[2].Steps
	if p0["a"] != p1["a"] || p0["a"] != p2["a"] {
		t.Error("a is not shared by every point")
	}
	if p0["b"] != p1["b"] || p0["b"] == p2["b"] {
		t.Error("b is shared exactly by the points with the same v")
	}
	if p0["c"] == p2["c"] {
		t.Error("c with the same params but different upstream was merged")
	}
	if up := p2["c"].Inputs[0].From; up != p2["b"] {
		t.Errorf("c@2-1 reads %s, want %s", up.Name, p2["b"].Name)
	}
	rec := s.Record()
	if rec[1].Steps["b"] != "b@1-1" || rec[1].Steps["c"] != "c@1-2" || rec[2].Steps["a"] != "a" {
		t.Errorf("record steps: %v", rec[1].Steps)
	}

	r := &Runner{Store: e.store, KeepGoing: true}
	run, err := r.Execute(context.Background(), s.Plan)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]int{"a": 1, "b-1": 1, "b-2": 1, "c-1": 2, "c-2": 1} {
		if got := e.kind.runs(v); got != want {
			t.Errorf("%s ran %d times, want %d", v, got, want)
		}
	}
	if len(run.Steps) != 6 {
		t.Errorf("run record has %d steps, want 6", len(run.Steps))
	}
	// Nothing runs again, whatever the new plan's node names.
	s = e.sweep(sweepFlow, []PointSpec{pt("x-1-1", "v", "1", "w", "1"), pt("x-2-1", "v", "2", "w", "1")})
	if _, err := r.Execute(context.Background(), s.Plan); err != nil {
		t.Fatal(err)
	}
	if e.kind.total() != 6 {
		t.Errorf("a rerun executed %d steps", e.kind.total()-6)
	}
}

func TestMergeOnePointKeepsPlainNames(t *testing.T) {
	e := newEnv(t)
	s := e.sweep(sweepFlow, []PointSpec{pt("x", "v", "1")})
	if got := nodeNames(s.Plan); got != "a b c" {
		t.Errorf("nodes %s", got)
	}
}

func TestSweepUnknownParamsAreListedTogether(t *testing.T) {
	e := newEnv(t)
	w, _ := workflows.Load("test.yaml", []byte(sweepFlow), LoaderKinds(e.reg))
	_, err := NewSweep(w, e.reg, "x", []PointSpec{pt("x-1", "v", "1", "lr", 0.1), pt("x-2", "depth", int64(2))}, Options{})
	var ue *UnknownParamsError
	if !errors.As(err, &ue) {
		t.Fatalf("err %v, want UnknownParamsError", err)
	}
	if strings.Join(ue.Names, ",") != "lr,depth" || !strings.Contains(err.Error(), "its params are v, w, n") {
		t.Errorf("err %v", err)
	}
}

func TestPointLabelsAreStepNameSafeAndUnique(t *testing.T) {
	got := pointLabels("stem", []PointSpec{
		{Name: "stem-8.0-True", ID: "aaaaaaaaaaaa"},
		{Name: "stem-8_0-True", ID: "bbbbbbbbbbbb"},
		{Name: "stem", ID: "cccccccccccc"},
		{Name: "other-['a', 'b']", ID: "dddddddddddd"},
	})
	want := []string{"8_0-True", "8_0-True-bbbbbbbb", "stem", "other-__a____b__"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("labels %q, want %q", got, want)
	}
}

func TestCoerceParamReadsPyYAMLStringsAsNumbers(t *testing.T) {
	e := newEnv(t)
	s := e.sweep(sweepFlow, []PointSpec{pt("x", "n", "1e-6")})
	if v := s.Points[0].Steps["a"]; v == nil {
		t.Fatal("no plan")
	}
	if v := coerceParam("1e-6", 1.5); v != 1e-6 {
		t.Errorf("1e-6 -> %#v", v)
	}
	if v := coerceParam("fast", 1.5); v != "fast" {
		t.Errorf("fast -> %#v", v)
	}
	if v := coerceParam("7", int64(1)); v != int64(7) {
		t.Errorf("7 -> %#v", v)
	}
}

func TestSweepProgressCountsPoints(t *testing.T) {
	e := newEnv(t)
	s := e.sweep(sweepFlow, []PointSpec{pt("x-1", "v", "1"), pt("x-2", "v", "2")})
	start := time.Unix(0, 0)
	pr := s.Progress(start)
	var done []PointDone
	for _, ev := range []Event{
		{Type: StepCached, Step: "a"}, {Type: StepRan, Step: "b@1"}, {Type: StepRan, Step: "c@1"},
		{Type: StepFailed, Step: "b@2"}, {Type: StepSkipped, Step: "c@2"},
	} {
		done = append(done, pr.Observe(ev, start.Add(10*time.Second))...)
	}
	if len(done) != 2 {
		t.Fatalf("done %+v", done)
	}
	if d := done[0]; d.Name != "x-1" || d.Status != "ran" || d.Done != 1 || d.Total != 2 || d.ETA != 10*time.Second {
		t.Errorf("first %+v", d)
	}
	if d := done[1]; d.Status != "failed" || d.ETA != 0 || strings.Join(d.Failed, ",") != "b@2" {
		t.Errorf("second %+v", d)
	}
	// After the first point, the rate leaves out the shared start.
	s = e.sweep(sweepFlow, []PointSpec{pt("x-1", "v", "1"), pt("x-2", "v", "2"), pt("x-3", "v", "3"), pt("x-4", "v", "4")})
	pr = s.Progress(start)
	pr.Observe(Event{Type: StepRan, Step: "a"}, start.Add(50*time.Second))
	for i, at := range []time.Duration{60, 70, 80} {
		n := strconv.Itoa(i + 1)
		pr.Observe(Event{Type: StepRan, Step: "b@" + n}, start)
		d := pr.Observe(Event{Type: StepRan, Step: "c@" + n}, start.Add(at*time.Second))
		want := []time.Duration{180, 20, 10}[i] * time.Second
		if len(d) != 1 || d[0].ETA != want {
			t.Errorf("point %d: %+v, want ETA %v", i+1, d, want)
		}
	}
}

func TestSweepResultsTable(t *testing.T) {
	e := newEnv(t)
	put := func(s string) store.Output {
		d, err := e.store.PutBytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return store.Output{Digest: d, Size: int64(len(s)), Type: store.TypeFile}
	}
	run := &store.RunRecord{ID: "r", Status: "failed", Steps: []store.StepRecord{
		{Name: "eval@1", Status: "ran", Outputs: map[string]store.Output{"report": put(`{"q": {"qei": 0.10}, "n": [1, 2]}`)}},
		{Name: "train@1", Status: "cached", Outputs: map[string]store.Output{"metrics": put("{\"step\":1,\"loss\":3.5}\n{\"step\":2,\"loss\":2.25}\n{\"step\":2,\"val\":9}\n")}},
		{Name: "eval@2", Status: "skipped"},
		{Name: "train@2", Status: "failed"},
	}}
	sw := &store.SweepRecord{
		Report:     []string{"eval.report.q.qei", "train.metrics.loss", "eval.report.n.1"},
		ParamOrder: []string{"lr", "same", "only"},
		Points: []store.SweepPoint{
			{Name: "p1", ID: "i1", Params: map[string]any{"lr": 0.1, "same": "s", "only": true}, Steps: map[string]string{"eval": "eval@1", "train": "train@1"}},
			{Name: "p2", ID: "i2", Params: map[string]any{"lr": 0.2, "same": "s"}, Steps: map[string]string{"eval": "eval@2", "train": "train@2"}},
		},
	}
	res, err := SweepResults(e.store, run, sw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	want := `{"run_id":"r","status":"failed","params":["lr","only"],"metrics":["eval.report.q.qei","train.metrics.loss","eval.report.n.1"],"rows":[` +
		`{"point":"p1","id":"i1","status":"ran","params":{"lr":0.1,"only":true},"metrics":{"eval.report.n.1":2,"eval.report.q.qei":0.10,"train.metrics.loss":2.25}},` +
		`{"point":"p2","id":"i2","status":"failed","params":{"lr":0.2},"metrics":{},"missing":{"eval.report.n.1":"step eval@2 skipped","eval.report.q.qei":"step eval@2 skipped","train.metrics.loss":"step train@2 failed"}}]}`
	if string(b) != want {
		t.Errorf("results\n got %s\nwant %s", b, want)
	}
}
