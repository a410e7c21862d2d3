package corpus

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/workflows"
)

// run executes the workflow flow, written to a fresh directory with files
// (name -> content) beside it, on st, and returns each output's bytes by
// "step.output", and the run record.
func run(t *testing.T, st *store.Store, flow string, files map[string]string) (map[string][]byte, *store.RunRecord, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := steps.NewRegistry(exec.Kind{}, Kind{})
	w, err := workflows.Load(filepath.Join(dir, "flow.yaml"), []byte(flow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := (&runner.Runner{Store: st, Jobs: 2}).Execute(context.Background(), p)
	if err != nil {
		return nil, rec, err
	}
	out := map[string][]byte{}
	for _, s := range rec.Steps {
		for name, o := range s.Outputs {
			b, err := os.ReadFile(st.ObjectPath(o.Digest))
			if err != nil {
				t.Fatal(err)
			}
			out[s.Name+"."+name] = b
		}
	}
	return out, rec, nil
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// decode parses a JSONL split.
func decode(t *testing.T, b []byte) []records.Record {
	t.Helper()
	recs, err := records.Decode(bytesReader(b), "split")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
