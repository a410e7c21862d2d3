package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/workflows"
)

const chain = `
name: chain
params:
  p1: one
  p2: two
steps:
  a:
    uses: rec
    with: {value: "a-${{ params.p1 }}"}
  b:
    uses: rec
    with: {value: b}
    inputs: {a: a.out}
  c:
    uses: rec
    with: {value: "c-${{ params.p2 }}"}
  d:
    uses: rec
    with: {value: d}
    inputs: {a: b.out, b: c.out}
`

func TestSecondRunExecutesNothing(t *testing.T) {
	e := newEnv(t)
	rec, err := e.run(chain, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:ran b:ran c:ran d:ran" {
		t.Fatalf("first run: %s", got)
	}
	rec2, err := e.run(chain, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec2); got != "a:cached b:cached c:cached d:cached" {
		t.Fatalf("second run: %s", got)
	}
	if e.kind.total() != 4 {
		t.Errorf("executed %d times, want 4", e.kind.total())
	}
	for i := range rec.Steps {
		if rec.Steps[i].ActionID != rec2.Steps[i].ActionID || rec.Steps[i].Outputs["out"] != rec2.Steps[i].Outputs["out"] {
			t.Errorf("step %s: key or output changed between runs", rec.Steps[i].Name)
		}
	}
}

func TestSetRerunsOnlyDescendants(t *testing.T) {
	e := newEnv(t)
	if _, err := e.run(chain, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := e.run(chain, Options{Sets: []string{"p1=uno"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:ran b:ran c:cached d:ran" {
		t.Errorf("after --set p1: %s", got)
	}
	if r := stepOf(rec, "a").Reason; !strings.Contains(r, `param value "a-one" -> "a-uno"`) {
		t.Errorf("reason for a = %q", r)
	}
	rec, err = e.run(chain, Options{Sets: []string{"p2=deux"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:cached b:cached c:ran d:ran" {
		t.Errorf("after --set p2: %s", got)
	}
}

// An upstream step that reruns but reproduces the same bytes must not
// invalidate anything downstream: keys use output digests.
func TestIdenticalUpstreamOutputStopsCascade(t *testing.T) {
	e := newEnv(t)
	wf := func(comment string) string {
		return `
steps:
  a:
    run: "true ` + comment + `; echo same > ${{ outputs.out }}"
    outputs: [out]
  b:
    uses: rec
    with: {value: b}
    inputs: {a: a.out}
`
	}
	if _, err := e.run(wf("v1"), Options{}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := e.run(wf("v2"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:ran b:cached" {
		t.Errorf("got %s, want a to rerun and b to stay cached", got)
	}
	if e.kind.runs("b") != 1 {
		t.Errorf("b executed %d times", e.kind.runs("b"))
	}
}

func TestRenamingAStepRerunsNothing(t *testing.T) {
	e := newEnv(t)
	if _, err := e.run(chain, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	renamed := strings.NewReplacer("  b:\n", "  bee:\n", "b.out", "bee.out").Replace(chain)
	rec, err := e.run(renamed, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:cached bee:cached c:cached d:cached" {
		t.Errorf("after renaming: %s", got)
	}
}

const failing = `
steps:
  a:
    uses: rec
    with: {value: a}
  bad:
    uses: rec
    with: {value: bad, fail: true}
    inputs: {a: a.out}
  after:
    uses: rec
    with: {value: after}
    inputs: {a: bad.out}
  later:
    uses: rec
    with: {value: later}
    inputs: {a: after.out}
  other:
    uses: rec
    with: {value: other, sleep_ms: 50}
    inputs: {a: a.out}
`

func TestFailureIsReportedOnceAndDependentsSkipped(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var failed []string
	r := &Runner{Jobs: 1, KeepGoing: true, Observe: func(ev Event) {
		if ev.Type == StepFailed {
			mu.Lock()
			failed = append(failed, ev.Step)
			mu.Unlock()
		}
	}}
	rec, err := e.run(failing, Options{}, r)
	if !errors.Is(err, ErrStepsFailed) {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rec); got != "a:ran bad:failed after:skipped later:skipped other:ran" {
		t.Errorf("statuses: %s", got)
	}
	if strings.Join(failed, ",") != "bad" {
		t.Errorf("failure events for %v, want only bad", failed)
	}
	for _, s := range []string{"after", "later"} {
		if r := stepOf(rec, s).Reason; r != "upstream failed: bad" {
			t.Errorf("%s reason %q", s, r)
		}
	}
	if e.store.HasAction(stepOf(rec, "bad").ActionID) {
		t.Error("a failed step has an action record")
	}
	if rec.Status != store.RunFailed {
		t.Errorf("run status %s", rec.Status)
	}
}

func TestWithoutKeepGoingNothingNewStarts(t *testing.T) {
	e := newEnv(t)
	rec, err := e.run(failing, Options{}, &Runner{Jobs: 1})
	if !errors.Is(err, ErrStepsFailed) {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rec); got != "a:ran bad:failed after:skipped later:skipped other:skipped" {
		t.Errorf("statuses: %s", got)
	}
	if r := stepOf(rec, "other").Reason; !strings.Contains(r, "stopped after \"bad\" failed") {
		t.Errorf("other's reason %q", r)
	}
}

func TestTargetsRunOnlyWhatTheyNeed(t *testing.T) {
	e := newEnv(t)
	rec, err := e.run(chain, Options{Targets: []string{"b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:ran b:ran" {
		t.Errorf("targets b: %s", got)
	}
	if e.kind.runs("c-two") != 0 {
		t.Error("c ran although not needed")
	}
}

func TestForceReexecutesOneStep(t *testing.T) {
	e := newEnv(t)
	if _, err := e.run(chain, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := e.run(chain, Options{}, &Runner{Force: map[string]bool{"b": true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec); got != "a:cached b:ran c:cached d:cached" {
		t.Errorf("--force b: %s", got)
	}
	if e.kind.runs("b") != 2 {
		t.Errorf("b executed %d times", e.kind.runs("b"))
	}
}

func TestVerifyDetectsNondeterminism(t *testing.T) {
	e := newEnv(t)
	src := `
steps:
  det:
    uses: rec
    with: {value: det}
  nondet:
    uses: rec
    with: {value: nondet, random: true}
`
	if _, err := e.run(src, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := e.run(src, Options{}, &Runner{Verify: true, KeepGoing: true})
	if !errors.Is(err, ErrStepsFailed) {
		t.Fatalf("err = %v", err)
	}
	if got := statuses(rec); got != "det:ran nondet:failed" {
		t.Errorf("verify: %s", got)
	}
	if msg := stepOf(rec, "nondet").Error; !strings.Contains(msg, "not reproducible") {
		t.Errorf("error %q", msg)
	}
	// --verify changes nothing: the cached result is still the first one.
	rec3, _ := e.run(src, Options{}, nil)
	if got := statuses(rec3); got != "det:cached nondet:cached" {
		t.Errorf("after verify: %s", got)
	}
}

func TestCorruptObjectIsRecomputed(t *testing.T) {
	e := newEnv(t)
	var warnings []string
	var mu sync.Mutex
	obs := func(ev Event) {
		if ev.Type == Warning {
			mu.Lock()
			warnings = append(warnings, ev.Msg)
			mu.Unlock()
		}
	}
	rec, err := e.run(chain, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := stepOf(rec, "b").Outputs["out"]
	path := e.store.ObjectPath(b.Digest)
	os.Chmod(path, 0o644)
	data, _ := os.ReadFile(path)
	data[0] ^= 0xff // same size, different bytes
	if err := os.WriteFile(path, data, 0o444); err != nil {
		t.Fatal(err)
	}
	e.store, _ = store.Open(e.store.Root()) // a new process: nothing verified yet
	rec2, err := e.run(chain, Options{}, &Runner{Observe: obs})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rec2); got != "a:cached b:ran c:cached d:cached" {
		t.Errorf("after corruption: %s", got)
	}
	if stepOf(rec2, "b").Outputs["out"] != b {
		t.Error("recomputed output differs")
	}
	if len(warnings) == 0 || !strings.Contains(warnings[0], "corrupt") {
		t.Errorf("warnings %v", warnings)
	}
	if err := e.store.Verify(b.Digest, b.Size); err != nil {
		t.Errorf("object not repaired: %v", err)
	}
}

func TestTwoRunnersExecuteEachActionOnce(t *testing.T) {
	e := newEnv(t)
	src := `
steps:
  a: {uses: rec, with: {value: a, sleep_ms: 30}}
  b: {uses: rec, with: {value: b, sleep_ms: 30}, inputs: {a: a.out}}
  c: {uses: rec, with: {value: c, sleep_ms: 30}, inputs: {a: a.out}}
  d: {uses: rec, with: {value: d, sleep_ms: 30}, inputs: {a: b.out, b: c.out}}
`
	var wg sync.WaitGroup
	recs := make([]*store.RunRecord, 4)
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(e.store.Root())
			if err != nil {
				t.Error(err)
				return
			}
			recs[i], err = (&Runner{Store: s, Jobs: 2}).Execute(context.Background(), e.plan(src, Options{}))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, v := range []string{"a", "b", "c", "d"} {
		if n := e.kind.runs(v); n != 1 {
			t.Errorf("%s executed %d times", v, n)
		}
	}
	for _, r := range recs[1:] {
		for i := range r.Steps {
			if r.Steps[i].Outputs["out"] != recs[0].Steps[i].Outputs["out"] {
				t.Errorf("runs disagree on %s", r.Steps[i].Name)
			}
		}
	}
}

func TestCancelRecordsNothingForTheInterruptedStep(t *testing.T) {
	e := newEnv(t)
	e.kind.started = make(chan string, 1)
	src := `
steps:
  slow: {uses: rec, with: {value: slow, block: true}}
  next: {uses: rec, with: {value: next}, inputs: {a: slow.out}}
`
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-e.kind.started
		cancel()
	}()
	rec, err := (&Runner{Store: e.store}).Execute(ctx, e.plan(src, Options{}))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	if rec.Status != store.RunInterrupted {
		t.Errorf("status %s", rec.Status)
	}
	slow := stepOf(rec, "slow")
	if slow.Status != store.StepFailed || !strings.Contains(slow.Error, "interrupted") {
		t.Errorf("slow: %+v", slow)
	}
	if e.store.HasAction(slow.ActionID) {
		t.Error("the interrupted step has an action record")
	}
	if s := stepOf(rec, "next"); s.Status != store.StepSkipped {
		t.Errorf("next: %+v", s)
	}
}

func TestResultsDoNotDependOnJobs(t *testing.T) {
	var outs []string
	for _, jobs := range []int{1, 4} {
		e := newEnv(t)
		rec, err := e.run(chain, Options{}, &Runner{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, s := range rec.Steps {
			parts = append(parts, s.ActionID+"="+string(s.Outputs["out"].Digest))
		}
		outs = append(outs, strings.Join(parts, ","))
	}
	if outs[0] != outs[1] {
		t.Errorf("-j 1 and -j 4 differ:\n%s\n%s", outs[0], outs[1])
	}
}

func TestJournalOfAnUnfinishedRunIsReadable(t *testing.T) {
	e := newEnv(t)
	rec, err := e.run(chain, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := e.store.RunDir(rec.ID)
	os.Remove(dir + "/run.json")
	f, _ := os.OpenFile(dir+"/events.jsonl", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"t":"2026-01-01T00:00:00Z","type":"step_do`) // a torn line
	f.Close()
	got, err := e.store.ReadRun(rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunOK || len(got.Steps) != 4 || got.Workflow != "chain" {
		t.Errorf("replayed %+v", got)
	}
}

func TestMetaParamsStayOutOfTheKey(t *testing.T) {
	e := newEnv(t)
	src := "steps:\n  a: {uses: rec, with: {value: a, workers: %d}}\n"
	first, err := e.run(fmt.Sprintf(src, 1), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.run(fmt.Sprintf(src, 8), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if statuses(second) != "a:cached" || second.Steps[0].ActionID != first.Steps[0].ActionID {
		t.Errorf("changing a Meta param recomputed the step: %s", statuses(second))
	}
}

// Editing a file listed in `files:` reruns the steps that list it and their
// descendants, and nothing else.
func TestChangedFileRerunsItsStepAndDescendants(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "one\n")
	write("c.txt", "sea\n")
	src := `
steps:
  a:
    run: cat data/a.txt > ${{ outputs.out }}
    outputs: [out]
    files: [data/a.txt]
  b:
    uses: rec
    with: {value: b}
    inputs: {a: a.out}
  c:
    run: cat data/c.txt > ${{ outputs.out }}
    outputs: [out]
    files: [data]
  d:
    uses: rec
    with: {value: d}
    inputs: {a: c.out}
`
	runOnce := func() *store.RunRecord {
		t.Helper()
		w, err := workflows.Load(filepath.Join(dir, "flow.yaml"), []byte(src), LoaderKinds(e.reg))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(w, e.reg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := (&Runner{Store: e.store}).Execute(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if got := statuses(runOnce()); got != "a:ran b:ran c:ran d:ran" {
		t.Fatalf("first run: %s", got)
	}
	if got := statuses(runOnce()); got != "a:cached b:cached c:cached d:cached" {
		t.Fatalf("second run: %s", got)
	}
	write("a.txt", "two\n")
	rec := runOnce()
	// c lists the whole data directory, so a.txt is in its key as well; c
	// reproduces its output, so d stays cached.
	if got := statuses(rec); got != "a:ran b:ran c:ran d:cached" {
		t.Errorf("after editing data/a.txt: %s", got)
	}
	if r := stepOf(rec, "a").Reason; !strings.Contains(r, "data/a.txt") {
		t.Errorf("a's reason %q does not name the file", r)
	}
	write("c.txt", "see\n")
	if got := statuses(runOnce()); got != "a:cached b:cached c:ran d:ran" {
		t.Errorf("after editing data/c.txt: %s", got)
	}
	if e.kind.runs("b") != 2 || e.kind.runs("d") != 2 {
		t.Errorf("b executed %d times, d %d times; want 2 each", e.kind.runs("b"), e.kind.runs("d"))
	}
	// Restoring the original bytes brings back the first results.
	write("a.txt", "one\n")
	write("c.txt", "sea\n")
	if got := statuses(runOnce()); got != "a:cached b:cached c:cached d:cached" {
		t.Errorf("after restoring both files: %s", got)
	}
}

// A step holds its `cpus:` slots while it runs: two steps of cpus: 2 never
// overlap on 2 slots, and do on 4, whatever -j allows.
func TestCPUSlotsLimitOverlap(t *testing.T) {
	src := func(extra string) string {
		return `
steps:
  x:
    uses: rec
    with: {value: x` + extra + `}
    cpus: 2
  y:
    uses: rec
    with: {value: y` + extra + `}
    cpus: 2
`
	}
	// On 2 slots the steps take turns. A short sleep gives an overlap the
	// chance to show if slots were not honoured.
	e := newEnv(t)
	rec, err := e.run(src(", sleep_ms: 30"), Options{}, &Runner{Jobs: 2, CPUs: 2})
	if err != nil || statuses(rec) != "x:ran y:ran" {
		t.Fatalf("cpus 2: %v %s", err, statuses(rec))
	}
	if got := e.kind.maxConcurrent(); got != 1 {
		t.Errorf("with 2 CPU slots, %d steps of cpus: 2 ran at once", got)
	}
	// A step asking for more slots than the run has gets all of them, and
	// still runs alone.
	e = newEnv(t)
	rec, err = e.run(strings.ReplaceAll(src(", sleep_ms: 30"), "cpus: 2", "cpus: 8"), Options{}, &Runner{Jobs: 2, CPUs: 4})
	if err != nil || statuses(rec) != "x:ran y:ran" || e.kind.maxConcurrent() != 1 {
		t.Errorf("cpus 8 on 4 slots: %v %s, %d at once", err, statuses(rec), e.kind.maxConcurrent())
	}
	// On 4 slots both run at once: each waits until the other has started
	// (a run that cannot overlap would time out and fail).
	e = newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &Runner{Store: e.store, Jobs: 2, CPUs: 4}
	rec, err = r.Execute(ctx, e.plan(src(", meet: 2"), Options{}))
	if err != nil || statuses(rec) != "x:ran y:ran" {
		t.Fatalf("cpus 4: %v %s", err, statuses(rec))
	}
	if got := e.kind.maxConcurrent(); got != 2 {
		t.Errorf("with 4 CPU slots, %d steps ran at once, want 2", got)
	}
	// Without --cpus the slots are -j: one step of cpus: 2 at a time.
	e = newEnv(t)
	if _, err := e.run(src(", sleep_ms: 30"), Options{}, &Runner{Jobs: 2}); err != nil || e.kind.maxConcurrent() != 1 {
		t.Errorf("default slots: %v, %d at once", err, e.kind.maxConcurrent())
	}
}
