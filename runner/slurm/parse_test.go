package slurm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/workflows"
)

func TestParseSqueue(t *testing.T) {
	out := `15|wrap|CANCELLED|DependencyNeverSatisfied|
75_0|bitflow:train|PENDING|None|
75_1|bitflow:train|RUNNING|None|vm
77|bitflow:eval|COMPLETED|None|vm

garbage
14|wrap|FAILED|NonZeroExitCode|vm
`
	jobs := parseSqueue(out)
	if len(jobs) != 5 {
		t.Fatalf("%d jobs: %+v", len(jobs), jobs)
	}
	if j := jobs["75_1"]; j.State != "RUNNING" || j.Node != "vm" || j.Name != "bitflow:train" {
		t.Errorf("75_1: %+v", j)
	}
	if j := jobs["15"]; j.Reason != "DependencyNeverSatisfied" || Classify(j.State) != Ended {
		t.Errorf("15: %+v", j)
	}
	for state, want := range map[string]Class{"PENDING": Active, "RUNNING": Active, "COMPLETING": Active, "COMPLETED": Succeeded,
		"FAILED": Ended, "TIMEOUT": Ended, "OUT_OF_MEMORY": Ended, "CANCELLED+": Ended, "NODE_FAIL": Ended} {
		if got := Classify(state); got != want {
			t.Errorf("Classify(%s) = %v, want %v", state, got, want)
		}
	}
}

func TestParseSbatch(t *testing.T) {
	for in, want := range map[string]string{"123\n": "123", "456;cluster\n": "456", "warning: x\n789\n": "789"} {
		if got, err := parseSbatch(in); err != nil || got != want {
			t.Errorf("parseSbatch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseSbatch("sbatch: error: oops"); err == nil {
		t.Error("an error message parsed as a job ID")
	}
}

func TestCompactRangesAndJobRefs(t *testing.T) {
	if got := compactRanges([]int{5, 0, 1, 2, 7, 8, 10}); got != "0-2,5,7-8,10" {
		t.Errorf("compactRanges = %q", got)
	}
	if r := parseJobRef("123_4"); r.array != "123" || r.task != 4 || r.id != "123_4" {
		t.Errorf("parseJobRef(123_4) = %+v", r)
	}
	if r := parseJobRef("99"); r.array != "" || r.task != -1 || r.id != "99" {
		t.Errorf("parseJobRef(99) = %+v", r)
	}
}

// sweepFlow: prep is shared; work and sum are per point, sum after work.
const sweepFlow = `
name: s
params: {x: 0}
steps:
  prep:
    run: echo prep > ${{ outputs.out }}
    outputs: [out]
  work:
    run: cat ${{ inputs.p }} > ${{ outputs.out }}; echo ${{ params.x }} >> ${{ outputs.out }}
    inputs: {p: prep.out}
    outputs: [out]
    resources: {cpus: 1, mem: 100M, time: "5:00"}
  sum:
    run: cat ${{ inputs.w }} > ${{ outputs.out }}
    inputs: {w: work.out}
    outputs: [out]
`

func sweepPlan(t *testing.T, n int) *runner.Plan {
	t.Helper()
	reg := steps.NewRegistry(exec.Kind{})
	w, err := workflows.Load("s.yaml", []byte(sweepFlow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	var pts []runner.PointSpec
	for i := range n {
		pts = append(pts, runner.PointSpec{Name: fmt.Sprintf("s-%d", i), ID: fmt.Sprintf("%016d", i), Params: map[string]any{"x": int64(i)}})
	}
	sw, err := runner.NewSweep(w, reg, "s", pts, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sw.Plan
}

func TestGroupMakesArraysOfPoints(t *testing.T) {
	p := sweepPlan(t, 12)
	keys, err := runner.NodeKeys(p)
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{x: &Executor{Partition: "debug"}, keys: keys, tracked: map[*runner.Node]*tracked{}}
	groups := d.group(p.Nodes)
	var shape []string
	for _, g := range groups {
		shape = append(shape, fmt.Sprintf("%s×%d", g.nodes[0].Step.Name, len(g.nodes)))
		if g.isArray {
			for i, n := range g.nodes {
				if want := strings.TrimPrefix(n.Name, n.Step.Name+"@"); want != fmt.Sprint(g.tasks[i]) {
					t.Errorf("%s is task %d; tasks must line up with points for aftercorr", n.Name, g.tasks[i])
				}
			}
		}
	}
	if got, want := strings.Join(shape, " "), "prep×1 work×12 sum×12"; got != want {
		t.Errorf("groups %q, want %q", got, want)
	}
	if r := groups[1].res; r.CPUs != 1 || r.Mem != "100M" || r.Time != "5:00" || r.Partition != "debug" {
		t.Errorf("work's resources %+v", r)
	}
	if r := groups[0].res; r.Mem != "1G" || r.Time != "" {
		t.Errorf("prep's resources (exec defaults) %+v", r)
	}
}
