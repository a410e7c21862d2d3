package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sweepFlowSrc is an exec-only workflow whose steps append their name to
// DIR/counter each time they execute (outside the sandbox, so the test can
// count executions). base is the same for every point, mid depends on a,
// leaf on a and b; leaf fails while DIR/fail-B-A exists and stops for a
// while (after touching DIR/mark) while DIR/slow-B-A exists.
const sweepFlowSrc = `
name: tiny
params: {a: 1, b: x, dir: DIR}
steps:
  base:
    run: |
      echo base >> ${{ params.dir }}/counter
      echo base > ${{ outputs.out }}
    outputs: [out]
  mid:
    run: |
      echo mid-${{ params.a }} >> ${{ params.dir }}/counter
      echo '{"m": {"v": ${{ params.a }}}}' > ${{ outputs.out }}
    inputs: {i: base.out}
    outputs: [out]
  leaf:
    run: |
      echo leaf-${{ params.a }}-${{ params.b }} >> ${{ params.dir }}/counter
      if [ -f ${{ params.dir }}/fail-${{ params.b }}-${{ params.a }} ]; then echo failing on purpose; exit 3; fi
      if [ -f ${{ params.dir }}/slow-${{ params.b }}-${{ params.a }} ]; then touch ${{ params.dir }}/mark; sleep 5; fi
      printf '{"loss": 1}\n{"loss": 0.${{ params.a }}5, "b": "${{ params.b }}"}\n' > ${{ outputs.out }}
    inputs: {i: mid.out}
    outputs: [out]
`

const sweepSrc = `
workflow: flow.yaml
report: [mid.out.m.v, leaf.out.loss]
a: [1, 2, 3]
b: [x, y]
`

// sweepDir makes a directory with flow.yaml, sw.yaml and extra files.
func sweepDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(src, "DIR", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("flow.yaml", sweepFlowSrc)
	write("sw.yaml", sweepSrc)
	for name, src := range files {
		write(name, src)
	}
	return dir
}

// sweepOut is `bitflow sweep --json`'s output.
type sweepOut struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Points []struct {
		Name   string         `json:"name"`
		ID     string         `json:"id"`
		Status string         `json:"status"`
		Params map[string]any `json:"params"`
	} `json:"points"`
	Results struct {
		Params  []string `json:"params"`
		Metrics []string `json:"metrics"`
	} `json:"results"`
}

func sweep(t *testing.T, dir string, want int, args ...string) sweepOut {
	t.Helper()
	r := bitflow(t, dir, append([]string{"sweep", "--json", "--store", "store"}, args...)...)
	if r.code != want {
		t.Fatalf("bitflow sweep %v: exit %d, want %d\nstderr:\n%s", args, r.code, want, r.stderr)
	}
	var out sweepOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout is not the sweep JSON (%v):\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return out
}

func (s sweepOut) statuses() string {
	var parts []string
	for _, p := range s.Points {
		parts = append(parts, p.Name+":"+p.Status)
	}
	return strings.Join(parts, " ")
}

// sweepExecs reads the counter and empties it.
func sweepExecs(t *testing.T, dir string) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "counter"))
	os.Remove(filepath.Join(dir, "counter"))
	lines := strings.Fields(string(b))
	slices.Sort(lines)
	return lines
}

func TestSweepRunsSharedStepsOnceAndRetriesFailedPoints(t *testing.T) {
	dir := sweepDir(t, map[string]string{"fail-y-3": ""})
	first := sweep(t, dir, 1, "sw.yaml", "-j", "2")
	want := "sw-1-x:ran sw-1-y:ran sw-2-x:ran sw-2-y:ran sw-3-x:ran sw-3-y:failed"
	if got := first.statuses(); got != want {
		t.Errorf("first sweep: %s\nwant %s", got, want)
	}
	got := sweepExecs(t, dir)
	wantRuns := []string{"base", "leaf-1-x", "leaf-1-y", "leaf-2-x", "leaf-2-y", "leaf-3-x", "leaf-3-y", "mid-1", "mid-2", "mid-3"}
	if !slices.Equal(got, wantRuns) {
		t.Errorf("first sweep executed %v\nwant (each once) %v", got, wantRuns)
	}

	// The failed point is retried, and only it.
	os.Remove(filepath.Join(dir, "fail-y-3"))
	second := sweep(t, dir, 0, "sw.yaml", "-j", "2")
	want = "sw-1-x:cached sw-1-y:cached sw-2-x:cached sw-2-y:cached sw-3-x:cached sw-3-y:ran"
	if got := second.statuses(); got != want {
		t.Errorf("second sweep: %s\nwant %s", got, want)
	}
	if got := sweepExecs(t, dir); !slices.Equal(got, []string{"leaf-3-y"}) {
		t.Errorf("second sweep executed %v, want only leaf-3-y", got)
	}

	// Then nothing executes at all.
	third := sweep(t, dir, 0, "sw.yaml", "-j", "2")
	if got := sweepExecs(t, dir); len(got) != 0 {
		t.Errorf("third sweep executed %v", got)
	}
	if strings.Contains(third.statuses(), ":ran") {
		t.Errorf("third sweep: %s", third.statuses())
	}

	// The run record names shared steps plainly and the others STEP@POINT;
	// the sweep record maps every point's steps onto them.
	show := bitflow(t, dir, "show", third.RunID, "--json", "--store", "store")
	var rec struct {
		Steps []struct{ Name string }
	}
	json.Unmarshal([]byte(show.stdout), &rec)
	var names []string
	for _, s := range rec.Steps {
		names = append(names, s.Name)
	}
	wantNames := "base mid@1-x leaf@1-x leaf@1-y mid@2-x leaf@2-x leaf@2-y mid@3-x leaf@3-x leaf@3-y"
	if strings.Join(names, " ") != wantNames {
		t.Errorf("run steps %v\nwant %s", names, wantNames)
	}
	b, err := os.ReadFile(filepath.Join(dir, "store", "runs", third.RunID, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sw struct {
		Points []struct {
			Name  string
			Steps map[string]string
		}
	}
	json.Unmarshal(b, &sw)
	if len(sw.Points) != 6 || sw.Points[5].Steps["base"] != "base" || sw.Points[4].Steps["mid"] != "mid@3-x" || sw.Points[5].Steps["leaf"] != "leaf@3-y" {
		t.Errorf("sweep record points: %+v", sw.Points)
	}
	if r := bitflow(t, dir, "cat", "leaf@3-y.out", "--store", "store"); r.code != 0 || !strings.Contains(r.stdout, `"b": "y"`) {
		t.Errorf("bitflow cat leaf@3-y.out: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

const wantResultsMD = `| point | status | a | b | mid.out.m.v | leaf.out.loss |
| --- | --- | --- | --- | --- | --- |
| sw-1-x | ran | 1 | x | 1 | 0.15 |
| sw-1-y | ran | 1 | y | 1 | 0.15 |
| sw-2-x | ran | 2 | x | 2 | 0.25 |
| sw-2-y | ran | 2 | y | 2 | 0.25 |
| sw-3-x | ran | 3 | x | 3 | 0.35 |
| sw-3-y | failed | 3 | y | 3 | n/a |
`

func TestSweepResultsTableInEveryFormat(t *testing.T) {
	dir := sweepDir(t, map[string]string{"fail-y-3": ""})
	r := bitflow(t, dir, "sweep", "--store", "store", "sw.yaml")
	if r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != wantResultsMD {
		t.Errorf("printed table:\n%s\nwant:\n%s", r.stdout, wantResultsMD)
	}
	md := bitflow(t, dir, "sweep", "results", "--store", "store")
	if md.stdout != wantResultsMD {
		t.Errorf("sweep results:\n%s", md.stdout)
	}
	csv := bitflow(t, dir, "sweep", "results", "latest", "--csv", "--store", "store")
	wantCSV := "point,status,a,b,mid.out.m.v,leaf.out.loss\nsw-1-x,ran,1,x,1,0.15\nsw-1-y,ran,1,y,1,0.15\n" +
		"sw-2-x,ran,2,x,2,0.25\nsw-2-y,ran,2,y,2,0.25\nsw-3-x,ran,3,x,3,0.35\nsw-3-y,failed,3,y,3,\n"
	if csv.stdout != wantCSV {
		t.Errorf("csv:\n%s\nwant:\n%s", csv.stdout, wantCSV)
	}
	js := bitflow(t, dir, "sweep", "results", "--json", "--store", "store")
	var res struct {
		Params  []string
		Metrics []string
		Rows    []struct {
			Point   string
			Metrics map[string]json.RawMessage
			Missing map[string]string
		}
	}
	if err := json.Unmarshal([]byte(js.stdout), &res); err != nil {
		t.Fatal(err, js.stdout)
	}
	if strings.Join(res.Params, ",") != "a,b" || len(res.Rows) != 6 || string(res.Rows[2].Metrics["leaf.out.loss"]) != "0.25" ||
		!strings.Contains(res.Rows[5].Missing["leaf.out.loss"], "failed") {
		t.Errorf("results json:\n%s", js.stdout)
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "store", "runs", "*", "results.*"))
	if len(runs) != 3 {
		t.Errorf("stored results files: %v", runs)
	}
	for _, f := range runs {
		if filepath.Ext(f) == ".md" {
			if b, _ := os.ReadFile(f); string(b) != wantResultsMD {
				t.Errorf("%s:\n%s", f, b)
			}
		}
	}
}

func TestSweepCollidingNamesGetHashSuffixes(t *testing.T) {
	dir := sweepDir(t, map[string]string{"same.yaml": "workflow: flow.yaml\nrun_name_override: same\na: [1, 2]\n"})
	exp := bitflow(t, dir, "sweep", "expand", "same.yaml")
	if exp.stdout != "same\nsame\n2 points\n" {
		t.Errorf("sweep expand must name points as the reference does:\n%s", exp.stdout)
	}
	r := bitflow(t, dir, "sweep", "--json", "--store", "store", "same.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out sweepOut
	json.Unmarshal([]byte(r.stdout), &out)
	if len(out.Points) != 2 {
		t.Fatalf("points %+v", out.Points)
	}
	for i, p := range out.Points {
		if p.Name != "same-"+p.ID[:8] {
			t.Errorf("point %d named %s, want same-%s", i, p.Name, p.ID[:8])
		}
	}
	if !strings.Contains(r.stderr, "several points are named same") {
		t.Errorf("no warning about the collision:\n%s", r.stderr)
	}
	if got := sweepExecs(t, dir); !slices.Equal(got, []string{"base", "leaf-1-x", "leaf-2-x", "mid-1", "mid-2"}) {
		t.Errorf("executed %v", got)
	}
}

func TestSweepUnknownParamIsAnErrorAtItsPosition(t *testing.T) {
	dir := sweepDir(t, map[string]string{"bad.yaml": "workflow: flow.yaml\na: [1]\nlr: [0.1, 0.2]\n"})
	r := bitflow(t, dir, "sweep", "--store", "store", "bad.yaml")
	want := `bad.yaml:3:1: lr: workflow "tiny" has no param "lr"; its params are a, b, dir`
	if r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 3 and %q", r.code, r.stderr, want)
	}
}

func TestSweepKilledMidwayRerunsOnlyUnfinishedPoints(t *testing.T) {
	dir := sweepDir(t, map[string]string{"slow-y-3": ""})
	// With one job the points run in order, so the last point's leaf is
	// the only step left when the kill lands inside it.
	cmd := exec.Command(bitflowBin, "sweep", "--store", "store", "-j", "1", "sw.yaml")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "mark")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the slow leaf never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	checkStore(t, filepath.Join(dir, "store"))
	if got := sweepExecs(t, dir); len(got) != 10 {
		t.Errorf("before the kill: %v", got)
	}
	os.Remove(filepath.Join(dir, "slow-y-3"))
	out := sweep(t, dir, 0, "sw.yaml", "-j", "2")
	want := "sw-1-x:cached sw-1-y:cached sw-2-x:cached sw-2-y:cached sw-3-x:cached sw-3-y:ran"
	if got := out.statuses(); got != want {
		t.Errorf("rerun: %s\nwant %s", got, want)
	}
	if got := sweepExecs(t, dir); !slices.Equal(got, []string{"leaf-3-y"}) {
		t.Errorf("rerun executed %v, want only leaf-3-y", got)
	}
}

// TestShippedSmallExplorationEndToEnd runs the shipped miniature of
// bit_balanced_vs_cross_entropy by name, outside a checkout (so its
// workflow is the shipped quickstart), twice.
func TestShippedSmallExplorationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four students")
	}
	dir := t.TempDir()
	out := sweep(t, dir, 0, "bit_balanced_small", "-j", "2")
	if len(out.Points) != 4 || strings.Count(out.statuses(), ":ran") != 4 {
		t.Fatalf("points: %s", out.statuses())
	}
	want := "eval.report.qei_metrics.qei eval.report.quality.field_accuracy student.metrics.loss"
	if got := strings.Join(out.Results.Metrics, " "); got != want {
		t.Errorf("metrics %s", got)
	}
	show := bitflow(t, dir, "show", out.RunID, "--json", "--store", "store")
	var rec struct {
		Steps []struct{ Name, Status string }
	}
	json.Unmarshal([]byte(show.stdout), &rec)
	students, shared := 0, map[string]bool{}
	for _, s := range rec.Steps {
		if strings.HasPrefix(s.Name, "student@") {
			students++
		}
		if !strings.Contains(s.Name, "@") {
			shared[s.Name] = true
		}
	}
	for _, name := range []string{"corpus", "teacher", "traces", "traces_val", "baseline", "dryrun"} {
		if !shared[name] {
			t.Errorf("%s is not one step shared by every point (steps: %+v)", name, rec.Steps)
		}
	}
	if students != 4 {
		t.Errorf("%d students, want 4", students)
	}
	again := sweep(t, dir, 0, "bit_balanced_small", "-j", "2")
	if strings.Count(again.statuses(), ":cached") != 4 {
		t.Errorf("second sweep: %s", again.statuses())
	}
}
