package workflows

import (
	"strings"
	"testing"
)

func TestResourcesAndExecutor(t *testing.T) {
	w, err := Load("flow.yaml", []byte(`name: r
executor: slurm
steps:
  a:
    run: "true"
    resources: {cpus: 4, mem: 8G, time: "2:00:00", partition: gpu}
  b:
    run: "true"
    resources: {mem: 512}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Executor != "slurm" {
		t.Errorf("executor = %q", w.Executor)
	}
	if r := w.Step("a").Resources; r == nil || *r != (Resources{CPUs: 4, Mem: "8G", Time: "2:00:00", Partition: "gpu", Pos: r.Pos}) {
		t.Errorf("a: resources = %+v", r)
	}
	if r := w.Step("b").Resources; r == nil || r.Mem != "512M" {
		t.Errorf("b: resources = %+v", r)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"executor: pbs", `executor "pbs": expected one of local, slurm`},
		{"steps:\n  a:\n    run: x\n    resources: {cpu: 2}", `resources: unknown key "cpu" (did you mean "cpus"?)`},
		{"steps:\n  a:\n    run: x\n    resources: {mem: lots}", `resources: mem "lots"`},
		{"steps:\n  a:\n    run: x\n    resources: {time: soon}", `resources: time "soon"`},
		{"steps:\n  a:\n    run: x\n    resources: {cpus: 0}", `resources: cpus: expected a positive integer`},
		{"steps:\n  a:\n    run: x\n    resources: 4", `resources: expected a mapping`},
	} {
		src := tc.yaml
		if !strings.Contains(src, "steps:") {
			src += "\nsteps:\n  a:\n    run: x\n"
		}
		_, err := Load("flow.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
