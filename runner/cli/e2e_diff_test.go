package cli_test

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/diff"
)

// The -update flag rewrites golden files. It is registered only if no
// other test file of the package has registered it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const diffFlow = `name: diffdemo
params:
  greeting: hello
  lr: 0.1
steps:
  a:
    run: echo ${{ params.greeting }} > ${{ outputs.out }}
    outputs: [out]
  b:
    run: |
      printf '{"lr": ${{ params.lr }}, "acc": 0.5, "name": "x"}\n' > ${{ outputs.report }}
      printf '{"step":1,"loss":3}\n{"step":2,"loss":${{ params.lr }}}\n' > ${{ outputs.metrics }}
    outputs: [report, metrics]
  c:
    run: tr a-z A-Z < ${{ inputs.src }} > ${{ outputs.out }}
    inputs: {src: a.out}
    outputs: [out]
`

// TestDiffTwoRuns runs a workflow twice with a different --set and checks
// that bitflow diff names the changed param, tells changed from unchanged
// steps, and compares the changed JSON and JSONL outputs by content.
func TestDiffTwoRuns(t *testing.T) {
	dir := workdir(t, diffFlow)
	a := run(t, dir, 0, "flow.yaml")
	b := run(t, dir, 0, "flow.yaml", "--set", "lr=0.2")

	r := bitflow(t, dir, "diff", "--store", "store", a.RunID, b.RunID[:13], "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep diff.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	if rep.Base.ID != a.RunID || len(rep.Comparisons) != 1 || rep.Comparisons[0].Other.ID != b.RunID {
		t.Fatalf("runs: %+v", rep)
	}
	c := rep.Comparisons[0]
	if len(c.Params) != 1 || c.Params[0].Key != "lr" || c.Params[0].Base != 0.1 || c.Params[0].Other != 0.2 {
		t.Errorf("params: %+v", c.Params)
	}
	changes := map[string]string{}
	var steps = map[string]diff.StepDiff{}
	for _, s := range c.Steps {
		changes[s.Name], steps[s.Name] = s.Change, s
	}
	if changes["a"] != diff.Same || changes["b"] != diff.Changed || changes["c"] != diff.Same {
		t.Errorf("step changes: %v", changes)
	}
	if s := steps["b"]; s.BaseAction == s.OtherAction || s.BaseAction != a.step("b").ActionID {
		t.Errorf("b's ActionIDs: %s -> %s", s.BaseAction, s.OtherAction)
	}
	var report, metrics *diff.Content
	for _, o := range steps["b"].Outputs {
		switch o.Name {
		case "report":
			report = o.Content
		case "metrics":
			metrics = o.Content
		}
	}
	if report == nil || report.Format != diff.FormatJSON || len(report.JSON) != 1 {
		t.Fatalf("report content: %+v", report)
	}
	if v := report.JSON[0]; v.Key != "lr" || v.Abs == nil || math.Abs(*v.Abs-0.1) > 1e-12 || v.Rel == nil || math.Abs(*v.Rel-1) > 1e-12 {
		t.Errorf("report delta: %+v", v)
	}
	if metrics == nil || metrics.Format != diff.FormatJSONL {
		t.Fatalf("metrics content: %+v", metrics)
	}
	for _, s := range metrics.JSONL {
		if s.Key == "loss" && (s.Change != diff.Changed || s.Other.Last != 0.2 || s.Base.Min != 0.1) {
			t.Errorf("loss series: %+v %+v %+v", s, s.Base, s.Other)
		}
		if s.Key == "step" && s.Change != diff.Same {
			t.Errorf("step series: %+v", s)
		}
	}

	// The readable renderings, with the run IDs made stable.
	norm := func(s string) string {
		return strings.NewReplacer(a.RunID, "RUN-A", b.RunID, "RUN-B").Replace(s)
	}
	for _, g := range []struct{ file, flag string }{{"diff.txt", ""}, {"diff.md", "--md"}} {
		args := []string{"diff", "--store", "store", a.RunID, b.RunID}
		if g.flag != "" {
			args = append(args, g.flag)
		}
		r := bitflow(t, dir, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		golden(t, filepath.Join("testdata", g.file), norm(r.stdout))
	}

	// Identical runs: no difference, still exit 0.
	r = bitflow(t, dir, "diff", "--store", "store", b.RunID, "latest")
	if r.code != 0 || !strings.Contains(r.stdout, "steps: 3 same") {
		t.Errorf("a run against itself: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDiffUsage(t *testing.T) {
	dir := workdir(t, diffFlow)
	a := run(t, dir, 0, "flow.yaml")
	for _, args := range [][]string{
		{a.RunID},
		{a.RunID, "ffffffff"},
		{a.RunID, a.RunID, "--json", "--md"},
	} {
		r := bitflow(t, dir, append([]string{"diff", "--store", "store"}, args...)...)
		if r.code != 2 {
			t.Errorf("diff %v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
	if r := bitflow(t, dir, "diff", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
		t.Errorf("--help: exit %d\n%s", r.code, r.stdout)
	}
}

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
