// Package runnerbench holds the runner's benchmark bodies, shared by `go test
// -bench ./runner/` and the one-table report of `make bench`
// (internal/benchtable): a generated wide workflow of exec steps, planning
// it, and rerunning it when every result is in the store.
package runnerbench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/workflows"
)

// Jobs is the parallelism of the benchmark runs.
const Jobs = 4

// WideWorkflow is n exec steps in layers of 10: each step after the first
// layer reads two steps of the layer before, like a real pipeline's fan-in.
func WideWorkflow(n int) string {
	var b strings.Builder
	b.WriteString("name: wide\nparams:\n  salt: x\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n", i)
		if i < 10 {
			fmt.Fprintf(&b, "    run: echo %d ${{ params.salt }} > ${{ outputs.out }}\n    outputs: [out]\n", i)
			continue
		}
		fmt.Fprintf(&b, "    run: cat ${{ inputs.a }} ${{ inputs.b }} | sha256sum > ${{ outputs.out }}\n    inputs: {a: s%d.out, b: s%d.out}\n    outputs: [out]\n", i-10, i-10+(i+1)%10)
	}
	return b.String()
}

// Plan loads, validates and plans the workflow src.
func Plan(tb testing.TB, src string) *runner.Plan {
	tb.Helper()
	reg := steps.NewRegistry(exec.Kind{})
	w, err := workflows.Load("wide.yaml", []byte(src), runner.LoaderKinds(reg))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchPlan measures loading, validating and planning an n-step wide
// workflow.
func BenchPlan(b *testing.B, n int) {
	src := WideWorkflow(n)
	b.ReportAllocs()
	for b.Loop() {
		Plan(b, src)
	}
}

// BenchCachedRerun measures a no-op rerun of an n-step wide workflow whose
// results are all in the store (run once, untimed, in a temporary store):
// load, plan, key every step, verify every cached output, and record the
// run.
func BenchCachedRerun(b *testing.B, n int) {
	src := WideWorkflow(n)
	dir := b.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := (&runner.Runner{Store: st, Jobs: Jobs}).Execute(context.Background(), Plan(b, src)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// A fresh Store each time, as a new process would have: nothing is
		// known to be verified.
		st, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		rec, err := (&runner.Runner{Store: st, Jobs: Jobs}).Execute(context.Background(), Plan(b, src))
		if err != nil {
			b.Fatal(err)
		}
		if rec.Steps[n-1].Status != store.StepCached {
			b.Fatalf("step ran: %s", rec.Steps[n-1].Status)
		}
	}
}
