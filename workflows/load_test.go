package workflows

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testKinds stands in for the step registry: two ML-like kinds and the
// placeholder kind of the issue's example.
type testKinds struct{}

var testKindTable = map[string]KindInfo{
	"train": {
		Inputs:  []KindInput{{Name: "data"}, {Name: "init", Optional: true}},
		Outputs: []string{"checkpoint", "metrics"},
		Params:  []string{"lr", "steps", "note"},
	},
	"eval": {
		Inputs:  []KindInput{{Name: "checkpoint"}},
		Outputs: []string{"report"},
		Params:  []string{"max_prompts"},
	},
	"SOME_KIND": {
		Inputs:  []KindInput{{Name: "data"}},
		Outputs: []string{"result"},
		Params:  []string{"x"},
	},
}

func (testKinds) Kind(name string) (KindInfo, bool) {
	k, ok := testKindTable[name]
	return k, ok
}

func (testKinds) KindNames() []string {
	var out []string
	for k := range testKindTable {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestInvalidGolden loads every file in testdata/invalid and compares the
// full error text (every problem, with file:line:col) to its golden file.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d invalid examples", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			_, err := LoadFile(f, testKinds{})
			if err == nil {
				t.Fatal("loaded without error")
			}
			var errs Errors
			if !asErrors(err, &errs) {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.File != f || e.Pos.Line == 0 && !strings.Contains(e.Msg, "empty workflow") {
					t.Errorf("error without file:line:col: %v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func asErrors(err error, target *Errors) bool {
	e, ok := err.(Errors)
	if ok {
		*target = e
	}
	return ok
}

func TestLoadIssueExample(t *testing.T) {
	w, err := LoadFile("testdata/valid/demo.yaml", testKinds{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "demo" || len(w.Steps) != 3 {
		t.Fatalf("name %q, %d steps", w.Name, len(w.Steps))
	}
	a, b, c := w.Step("a"), w.Step("b"), w.Step("c")
	if a.Kind != ExecKind || !strings.Contains(a.Run, "${{ params.greeting }}") || a.OutputNames()[0] != "out" {
		t.Errorf("step a: %+v", a)
	}
	if len(b.Inputs) != 1 || b.Inputs[0] != (Input{Name: "src", Step: "a", Output: "out", Pos: Pos{Line: 10, Col: 19}}) {
		t.Errorf("step b inputs: %+v", b.Inputs)
	}
	if c.Kind != "SOME_KIND" || c.With[0].Name != "x" || c.With[0].Value.Int != 1 {
		t.Errorf("step c: %+v", c)
	}
	if got := c.Upstream(); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("c upstream = %v", got)
	}
	if p := w.Param("greeting"); p == nil || p.Value.Str != "hello" {
		t.Errorf("param greeting = %+v", p)
	}
}

func TestLoadEveryKey(t *testing.T) {
	w, err := LoadFile("testdata/valid/everything.yaml", testKinds{})
	if err != nil {
		t.Fatal(err)
	}
	prep, train, report := w.Step("prep"), w.Step("train"), w.Step("report")
	if prep.CPUs != 1 || len(prep.Files) != 2 || len(prep.Env) != 2 || prep.Env[0].Value != nil || prep.Description == "" {
		t.Errorf("prep: %+v", prep)
	}
	if !slices.Equal(prep.OutputNames(), []string{"data", "dir"}) {
		t.Errorf("prep outputs %v", prep.OutputNames())
	}
	if len(train.With) != 3 || train.Kind != "train" {
		t.Errorf("train: %+v", train)
	}
	if report.OutputNames()[0] != "out" || report.Needs[0].Step != "prep" || report.Env[1].Value.Str != "${{ params.lr }}" {
		t.Errorf("report: %+v", report)
	}
	if w.Name != "everything" || w.Description == "" || len(w.Params) != 4 {
		t.Errorf("workflow header: %q %q %d", w.Name, w.Description, len(w.Params))
	}
}

func TestNameDefaultsToFileStem(t *testing.T) {
	w, err := Load("dir/my-flow.yaml", []byte("steps:\n  a:\n    run: echo\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "my-flow" || w.Dir != "dir" {
		t.Errorf("name %q dir %q", w.Name, w.Dir)
	}
}

func TestDAGOrderAndEdges(t *testing.T) {
	w, err := LoadFile("testdata/valid/demo.yaml", testKinds{})
	if err != nil {
		t.Fatal(err)
	}
	adj, err := w.DAG().AdjacencyMap()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := adj["a"]["b"]; !ok {
		t.Error("no edge a -> b")
	}
	if _, ok := adj["a"]["c"]; !ok {
		t.Error("no edge a -> c (needs)")
	}
	if _, ok := adj["b"]["c"]; !ok {
		t.Error("no edge b -> c")
	}
}

func TestShipped(t *testing.T) {
	names := ShippedNames()
	if !slices.Contains(names, "hello") {
		t.Fatalf("shipped workflows %v lack hello", names)
	}
	for _, n := range names {
		src, ok := Shipped(n)
		if !ok {
			t.Fatalf("%s listed but not readable", n)
		}
		if _, err := Load("workflows/"+n+".yaml", src, nil); err != nil {
			t.Errorf("shipped workflow %s does not load: %v", n, err)
		}
	}
}

// hello.yaml is the reference example: the run its header comment
// describes must name its steps.
func TestHelloHeaderNamesItsSteps(t *testing.T) {
	src, _ := Shipped("hello")
	w, err := Load("workflows/hello.yaml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range w.Steps {
		steps = append(steps, s.Name)
	}
	for _, line := range strings.Split(string(src), "\n") {
		if _, runs, ok := strings.Cut(line, "# runs "); ok && strings.HasPrefix(line, "#") {
			if runs != strings.Join(steps, ", ") {
				t.Errorf("header says it runs %q; its steps are %s", runs, strings.Join(steps, ", "))
			}
			return
		}
	}
	t.Error("hello.yaml's header no longer says what a run runs")
}
