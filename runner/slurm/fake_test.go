package slurm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// TestSubmissionsWithFakeSlurm checks what the driver asks of Slurm, with
// stand-in programs that record their arguments (the real thing is in
// e2e_slurm_test.go): a 12-point sweep is one job and two arrays, point i's
// sum waits for point i's work (aftercorr), every job dies with its
// dependencies, squeue is called once per poll, and Ctrl-C cancels all.
func TestSubmissionsWithFakeSlurm(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cmd := &Commands{
		Sbatch: script("sbatch", `echo "$@" >> `+dir+`/sbatch.args; cat > /dev/null; echo $(( $(wc -l < `+dir+`/sbatch.args) + 100 ))`),
		Squeue: script("squeue", `echo call >> `+dir+`/squeue.calls
echo "101|bitflow:prep|PENDING|None|"
for j in 102 103; do for i in 0 1 2 3 4 5 6 7 8 9 10 11; do echo "${j}_$i|x|PENDING|Dependency|"; done; done`),
		Scancel:  script("scancel", `echo "$@" >> `+dir+`/scancel.args`),
		Scontrol: script("scontrol", `true`),
	}
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	p := sweepPlan(t, 12)
	x := &Executor{Bin: "/opt/bitflow", Dir: "/shared/work", MaxParallel: 3, Poll: 50 * time.Millisecond, Cmd: cmd,
		Options: []string{"--account=lab"}, Spec: &runner.PlanSpec{File: "s.yaml"}}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	rec, err := (&runner.Runner{Store: st, KeepGoing: true, Executor: x}).Execute(ctx, p)
	took := time.Since(start)
	if rec == nil || rec.Status != store.RunInterrupted {
		t.Fatalf("run %+v, %v; want interrupted", rec, err)
	}
	read := func(name string) []string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	subs := read("sbatch.args")
	if len(subs) != 3 {
		t.Fatalf("%d submissions, want 3:\n%s", len(subs), strings.Join(subs, "\n"))
	}
	for i, want := range [][]string{
		{"--job-name=bitflow:prep", "--chdir=/shared/work", "--kill-on-invalid-dep=yes", "--cpus-per-task=1", "--account=lab", "/logs/prep-"},
		{"--job-name=bitflow:work", "--dependency=afterok:101", "--array=0-11%3", "--mem=100M", "--time=5:00", "_%a.log"},
		{"--job-name=bitflow:sum", "--dependency=aftercorr:102", "--array=0-11%3"},
	} {
		for _, w := range want {
			if !strings.Contains(subs[i], w) {
				t.Errorf("submission %d lacks %q: %s", i, w, subs[i])
			}
		}
	}
	if calls := len(read("squeue.calls")); calls > int(took/x.Poll)+3 {
		t.Errorf("%d squeue calls in %s at one per %s", calls, took, x.Poll)
	}
	cancelled := strings.Fields(strings.Join(read("scancel.args"), " "))
	if len(cancelled) != 25 {
		t.Errorf("scancel of %d jobs, want 25: %v", len(cancelled), cancelled)
	}
	tasks, _ := filepath.Glob(filepath.Join(st.RunDir(rec.ID), "slurm", "*.tasks"))
	if len(tasks) != 3 {
		t.Errorf("%d task lists, want 3", len(tasks))
	}
	if _, err := os.Stat(filepath.Join(st.RunDir(rec.ID), "slurm", "spec.json")); err != nil {
		t.Error(err)
	}
}
