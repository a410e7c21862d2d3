package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/workflows"
)

// wideWorkflow is n exec steps in layers of 10: each step after the first
// layer reads two steps of the layer before, like a real pipeline's fan-in.
func wideWorkflow(n int) string {
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

func benchPlan(b *testing.B, src string) *Plan {
	reg := steps.NewRegistry(exec.Kind{})
	w, err := workflows.Load("wide.yaml", []byte(src), LoaderKinds(reg))
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPlan(w, reg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPlan1000 loads, validates and plans a 1,000-step workflow.
func BenchmarkPlan1000(b *testing.B) {
	src := wideWorkflow(1000)
	b.ReportAllocs()
	for b.Loop() {
		benchPlan(b, src)
	}
}

// BenchmarkCachedRerun1000 is a no-op rerun of a 1,000-step workflow whose
// results are all in the store: load, plan, key every step, verify every
// cached output, and record the run.
func BenchmarkCachedRerun1000(b *testing.B) { benchCachedRerun(b, 1000) }

// BenchmarkCachedRerun200 is the same at the size compared with Snakemake.
func BenchmarkCachedRerun200(b *testing.B) { benchCachedRerun(b, 200) }

func benchCachedRerun(b *testing.B, n int) {
	src := wideWorkflow(n)
	dir := b.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := (&Runner{Store: st, Jobs: 4}).Execute(context.Background(), benchPlan(b, src)); err != nil {
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
		rec, err := (&Runner{Store: st, Jobs: 4}).Execute(context.Background(), benchPlan(b, src))
		if err != nil {
			b.Fatal(err)
		}
		if rec.Steps[n-1].Status != store.StepCached {
			b.Fatalf("step ran: %s", rec.Steps[n-1].Status)
		}
	}
}
