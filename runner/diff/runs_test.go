package diff

import (
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// fixture builds runs in a temporary store.
type fixture struct {
	t  *testing.T
	st *store.Store
}

func newFixture(t *testing.T) *fixture {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t, st}
}

// step stores content as the step's output "out" and an action record
// with metrics, and returns the step record.
func (f *fixture) step(name, action, content string, metrics map[string]float64) store.StepRecord {
	f.t.Helper()
	d, err := f.st.PutBytes([]byte(content))
	if err != nil {
		f.t.Fatal(err)
	}
	id := strings.Repeat(action, 64)[:64]
	outs := map[string]store.Output{"out": {Digest: d, Size: int64(len(content)), Type: store.TypeFile}}
	if err := f.st.WriteAction(&store.ActionRecord{ActionID: id, Kind: "exec", Outputs: outs, Metrics: metrics}); err != nil {
		f.t.Fatal(err)
	}
	return store.StepRecord{Name: name, Kind: "exec", Status: store.StepRan, ActionID: id, Outputs: outs}
}

func (f *fixture) run(params map[string]any, sw *store.SweepRecord, steps ...store.StepRecord) string {
	f.t.Helper()
	rl, err := f.st.CreateRun()
	if err != nil {
		f.t.Fatal(err)
	}
	if sw != nil {
		if err := rl.WriteSweep(sw); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := rl.Finish(&store.RunRecord{ID: rl.ID, Workflow: "w", Params: params, Status: store.RunOK, Steps: steps}); err != nil {
		f.t.Fatal(err)
	}
	return rl.ID
}

func TestDiffRuns(t *testing.T) {
	f := newFixture(t)
	a := f.run(map[string]any{"lr": 0.1, "n": int64(3)}, nil,
		f.step("a", "a", "same\n", nil),
		f.step("b", "b", `{"acc": 0.5}`, map[string]float64{"tokens_per_s": 100}),
		f.step("c", "c", "gone\n", nil))
	b := f.run(map[string]any{"lr": 0.2, "n": 3.0}, nil,
		f.step("a", "a", "same\n", nil),
		f.step("b", "d", `{"acc": 0.75}`, map[string]float64{"tokens_per_s": 150}),
		f.step("e", "e", "new\n", nil))
	rep, err := Runs(f.st, []string{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Base.ID != a || len(rep.Comparisons) != 1 {
		t.Fatalf("%+v", rep)
	}
	c := rep.Comparisons[0]
	if len(c.Params) != 1 || c.Params[0].Key != "lr" || c.Params[0].Change != Changed {
		t.Errorf("params: %+v", c.Params)
	}
	got := map[string]string{}
	for _, s := range c.Steps {
		got[s.Name] = s.Change
	}
	want := map[string]string{"a": Same, "b": Changed, "c": Removed, "e": Added}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("step %s: %q, want %q", k, got[k], v)
		}
	}
	sb := c.Steps[1]
	if sb.Name != "b" || sb.Outputs[0].Content == nil || len(sb.Outputs[0].Content.JSON) != 1 {
		t.Fatalf("step b: %+v", sb)
	}
	checkDelta(t, "acc", sb.Outputs[0].Content.JSON[0].Abs, sb.Outputs[0].Content.JSON[0].Rel, 0.25, 0.5)
	var tps *Value
	for i := range c.Metrics {
		if c.Metrics[i].Key == "b.tokens_per_s" {
			tps = &c.Metrics[i]
		}
	}
	if tps == nil {
		t.Fatalf("metrics: %+v", c.Metrics)
	}
	checkDelta(t, "tokens_per_s", tps.Abs, tps.Rel, 50, 0.5)
	if c.Sweep != nil {
		t.Errorf("plain runs have a sweep diff: %+v", c.Sweep)
	}
}

// TestDiffRunsMeasurementFields puts a measurement report's numeric fields in
// the metrics.
func TestDiffRunsMeasurementFields(t *testing.T) {
	f := newFixture(t)
	a := f.run(nil, nil, f.step("eval", "a", `{"qei": {"qei": 2}}`, nil))
	b := f.run(nil, nil, f.step("eval", "b", `{"qei": {"qei": 3}}`, nil))
	rep, err := Runs(f.st, []string{a, b}, Options{Measurement: func(kind, out string) bool { return out == "out" }})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Comparisons[0].Metrics
	if len(m) != 1 || m[0].Key != "eval.out.qei.qei" {
		t.Fatalf("metrics: %+v", m)
	}
	checkDelta(t, "qei", m[0].Abs, m[0].Rel, 1, 0.5)
}

func TestDiffRunsSweeps(t *testing.T) {
	f := newFixture(t)
	shared := f.step("prep", "1", "data\n", nil)
	sweepA := &store.SweepRecord{Points: []store.SweepPoint{
		{Name: "p1", ID: "i1", Params: map[string]any{"lr": 0.1}, Steps: map[string]string{"prep": "prep", "train": "train_p1"}},
		{Name: "p2", ID: "i2", Params: map[string]any{"lr": 0.2}, Steps: map[string]string{"prep": "prep", "train": "train_p2"}},
		{Name: "p3", ID: "i3", Params: map[string]any{"lr": 0.3}, Steps: map[string]string{"prep": "prep"}},
	}}
	a := f.run(nil, sweepA, shared, f.step("train_p1", "2", "{\"loss\":1}\n", nil), f.step("train_p2", "3", "{\"loss\":2}\n{\"loss\":1}\n", nil))
	sweepB := &store.SweepRecord{Points: []store.SweepPoint{
		{Name: "p1", ID: "i1", Params: map[string]any{"lr": 0.1}, Steps: map[string]string{"prep": "prep", "train": "t1"}},
		{Name: "p2", ID: "other", Params: map[string]any{"lr": 0.25}, Steps: map[string]string{"prep": "prep", "train": "t2"}},
		{Name: "p4", ID: "i4", Params: map[string]any{"lr": 0.4}, Steps: map[string]string{"prep": "prep"}},
	}}
	b := f.run(nil, sweepB, shared, f.step("t1", "2", "{\"loss\":1}\n", nil), f.step("t2", "4", "{\"loss\":4}\n{\"loss\":1}\n", nil))
	plain := f.run(nil, nil, shared)
	rep, err := Runs(f.st, []string{a, b, plain}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw := rep.Comparisons[0].Sweep
	if sw == nil || len(sw.Points) != 4 {
		t.Fatalf("sweep diff: %+v", sw)
	}
	want := []struct{ name, change string }{{"p1", Same}, {"p2", Changed}, {"p3", Removed}, {"p4", Added}}
	for i, w := range want {
		if p := sw.Points[i]; p.Name != w.name || p.Change != w.change {
			t.Errorf("point %d: %s %s, want %s %s", i, p.Name, p.Change, w.name, w.change)
		}
	}
	p2 := sw.Points[1]
	if len(p2.Params) != 1 || len(p2.Steps) != 2 || p2.Steps[0].Name != "prep" || p2.Steps[0].Change != Same || p2.Steps[1].Change != Changed {
		t.Errorf("p2: %+v", p2)
	}
	if c := p2.Steps[1].Outputs[0].Content; c == nil || c.Format != FormatJSONL {
		t.Errorf("p2 train output: %+v", c)
	}
	if note := rep.Comparisons[1].Sweep; note == nil || !strings.Contains(note.Note, "only the base run") {
		t.Errorf("sweep against a plain run: %+v", note)
	}
}
