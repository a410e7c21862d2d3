package workflows

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dominikbraun/graph"
)

// FuzzLoad feeds arbitrary bytes to the loader. It must never panic, must
// fail only with positioned Errors, and whatever it accepts must be a
// well-formed DAG whose references all resolve.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("steps: {a: {run: x}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Load("fuzz.yaml", data, testKinds{})
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
			}
			return
		}
		if len(w.Steps) == 0 {
			t.Fatal("accepted a workflow without steps")
		}
		for _, s := range w.Steps {
			for _, up := range s.Upstream() {
				if w.Step(up) == nil {
					t.Fatalf("step %q refers to unknown step %q", s.Name, up)
				}
			}
			if s.Kind == "" {
				t.Fatalf("step %q has no kind", s.Name)
			}
		}
		if _, err := graph.TopologicalSort(w.DAG()); err != nil {
			t.Fatalf("accepted a cyclic workflow: %v", err)
		}
	})
}
