package slurm_test

// End-to-end tests against a real Slurm (`make test-slurm`, which sets
// BITFLOW_TEST_SLURM=1 after ../shared/slurm/start-slurm.sh). Without that
// variable they skip at once; with it they skip only if Slurm is not
// installed at all, and fail if it is installed but does not work.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/builtin"
)

var (
	clusterOnce sync.Once
	clusterErr  error
	buildOnce   sync.Once
	binPath     string
	buildErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// needSlurm skips unless the Slurm tests were asked for, checks that the
// cluster works, and returns the bitflow binary the jobs run.
func needSlurm(t *testing.T) string {
	t.Helper()
	if os.Getenv("BITFLOW_TEST_SLURM") != "1" {
		t.Skip("Slurm tests run with `make test-slurm` (BITFLOW_TEST_SLURM=1), after ../shared/slurm/start-slurm.sh")
	}
	if why := os.Getenv("BITFLOW_SLURM_UNAVAILABLE"); why != "" {
		t.Skip("SKIP: Slurm could not start here (" + why + "); the Slurm executor is untested")
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		t.Skip("SKIP: Slurm is not installed here (start-slurm.sh could not install it; see its output); the Slurm executor is untested")
	}
	clusterOnce.Do(func() { clusterErr = checkCluster() })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bitflow-slurm-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "bitflow")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/bitflow-dev/bitflow")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// checkCluster fails when Slurm is installed but cannot run jobs.
func checkCluster() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "scontrol", "ping").CombinedOutput(); err != nil || !strings.Contains(string(out), "UP") {
		return fmt.Errorf("sbatch is installed but slurmctld does not answer (scontrol ping: %v: %s); start it with ../shared/slurm/start-slurm.sh", err, out)
	}
	out, err := exec.CommandContext(ctx, "sinfo", "-h", "-o", "%T").CombinedOutput()
	if err != nil || !regexp.MustCompile(`idle|mixed|allocated|completing`).Match(out) {
		return fmt.Errorf("sbatch is installed but no node can run jobs (sinfo: %v: %s)", err, out)
	}
	return nil
}

type result struct {
	stdout, stderr string
	code           int
}

// bitflow runs the binary in dir.
func bitflow(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func mustOK(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", what, r.code, r.stderr)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lastRun reads the run record of the newest run of a store.
func lastRun(t *testing.T, storeDir string) *store.RunRecord {
	t.Helper()
	s, err := store.OpenExisting(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RunIDs()
	if err != nil || len(ids) == 0 {
		t.Fatalf("no runs in %s: %v", storeDir, err)
	}
	sort.Strings(ids)
	rec, err := s.ReadRun(ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func statuses(rec *store.RunRecord) string {
	var parts []string
	for _, s := range rec.Steps {
		parts = append(parts, s.Name+":"+s.Status)
	}
	return strings.Join(parts, " ")
}

// lines reads a counter file: one line per execution.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// sameResults checks that two runs of the same workflow produced the same
// bytes, step by step: equal digests, or for measurement outputs (reports
// with timings) equal content once the kind has removed the timings.
func sameResults(t *testing.T, aStore string, a *store.RunRecord, bStore string, b *store.RunRecord) int {
	t.Helper()
	reg := builtin.Registry()
	sa, _ := store.OpenExisting(aStore)
	sb, _ := store.OpenExisting(bStore)
	byName := map[string]store.StepRecord{}
	for _, s := range b.Steps {
		byName[s.Name] = s
	}
	compared := 0
	for _, s := range a.Steps {
		o, ok := byName[s.Name]
		if !ok {
			t.Errorf("step %s: missing from the second run", s.Name)
			continue
		}
		for name, out := range s.Outputs {
			other := o.Outputs[name]
			compared++
			if out.Digest == other.Digest {
				continue
			}
			kind, _ := reg.Get(s.Kind)
			if !measurement(kind, name) {
				t.Errorf("step %s output %s: %s vs %s", s.Name, name, out.Digest.Short(), other.Digest.Short())
				continue
			}
			norm, ok := kind.(steps.Normalizer)
			if !ok {
				continue
			}
			ba, err1 := sa.ReadObject(out.Digest)
			bb, err2 := sb.ReadObject(other.Digest)
			if err1 != nil || err2 != nil {
				t.Fatalf("reading %s.%s: %v %v", s.Name, name, err1, err2)
			}
			na, err1 := norm.Normalize(name, ba)
			nb, err2 := norm.Normalize(name, bb)
			if err1 != nil || err2 != nil || !bytes.Equal(na, nb) {
				t.Errorf("step %s measurement %s differs beyond its timings (%v %v)", s.Name, name, err1, err2)
			}
		}
	}
	return compared
}

func measurement(k steps.Step, output string) bool {
	if k == nil {
		return false
	}
	for _, p := range k.Params().Outputs {
		if p.Name == output {
			return p.Measurement
		}
	}
	return false
}

const threeSteps = `
name: three
params: {greeting: hello}
steps:
  a:
    run: echo "${{ params.greeting }}" > ${{ outputs.out }}; echo a >> COUNT/a
    outputs: [out]
  b:
    run: tr a-z A-Z < ${{ inputs.x }} > ${{ outputs.out }}; echo b >> COUNT/b
    inputs: {x: a.out}
    outputs: [out]
  c:
    run: cat ${{ inputs.x }} ${{ inputs.x }} > ${{ outputs.out }}; echo c >> COUNT/c
    inputs: {x: b.out}
    outputs: [out]
  d:
    run: wc -c < ${{ inputs.x }} > ${{ outputs.out }}; echo d >> COUNT/d
    inputs: {x: c.out}
    outputs: [out]
`

// setup writes a workflow whose steps append to counter files in the test's
// directory, and returns the directory.
func setup(t *testing.T, flow string) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "count"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "flow.yaml"), strings.ReplaceAll(flow, "COUNT", filepath.Join(dir, "count")))
	return dir
}

func TestSlurmWorkflow(t *testing.T) {
	bin := needSlurm(t)
	dir := setup(t, threeSteps)
	r := bitflow(t, bin, dir, "run", "flow.yaml", "--executor", "slurm", "--poll", "300ms", "--store", "slurm-store", "--set", "greeting=salut")
	mustOK(t, r, "slurm run")
	rec := lastRun(t, filepath.Join(dir, "slurm-store"))
	if got, want := statuses(rec), "a:ran b:ran c:ran d:ran"; got != want {
		t.Fatalf("statuses %q, want %q\n%s", got, want, r.stderr)
	}
	if !strings.Contains(r.stderr, "submitted 4 steps") {
		t.Errorf("no submission report:\n%s", r.stderr)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "slurm-store", "runs", rec.ID, "slurm", "logs", "*.log"))
	if len(logs) != 4 {
		t.Errorf("%d job logs, want 4", len(logs))
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if n := len(lines(t, filepath.Join(dir, "count", s))); n != 1 {
			t.Errorf("step %s executed %d times", s, n)
		}
	}
	// The same digests as the local executor, --set applied in the jobs.
	mustOK(t, bitflow(t, bin, dir, "run", "flow.yaml", "--store", "local-store", "--set", "greeting=salut"), "local run")
	if n := sameResults(t, filepath.Join(dir, "local-store"), lastRun(t, filepath.Join(dir, "local-store")), filepath.Join(dir, "slurm-store"), rec); n != 4 {
		t.Errorf("compared %d outputs, want 4", n)
	}
	// Again: everything is cached and nothing is submitted.
	r = bitflow(t, bin, dir, "run", "flow.yaml", "--executor", "slurm", "--store", "slurm-store", "--set", "greeting=salut")
	mustOK(t, r, "second slurm run")
	if got := statuses(lastRun(t, filepath.Join(dir, "slurm-store"))); got != "a:cached b:cached c:cached d:cached" {
		t.Errorf("second run: %q", got)
	}
	if strings.Contains(r.stderr, "submitted") {
		t.Errorf("second run submitted jobs:\n%s", r.stderr)
	}
}

func TestSlurmMixesCacheHitsAndJobs(t *testing.T) {
	bin := needSlurm(t)
	dir := setup(t, threeSteps)
	mustOK(t, bitflow(t, bin, dir, "run", "flow.yaml", "b", "--store", "st"), "local run of a, b")
	r := bitflow(t, bin, dir, "run", "flow.yaml", "--executor", "slurm", "--poll", "300ms", "--store", "st")
	mustOK(t, r, "slurm run")
	if got, want := statuses(lastRun(t, filepath.Join(dir, "st"))), "a:cached b:cached c:ran d:ran"; got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	if !strings.Contains(r.stderr, "submitted 2 steps") {
		t.Errorf("want 2 steps submitted:\n%s", r.stderr)
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if n := len(lines(t, filepath.Join(dir, "count", s))); n != 1 {
			t.Errorf("step %s executed %d times", s, n)
		}
	}
}

func TestSlurmFailingJobIsReported(t *testing.T) {
	bin := needSlurm(t)
	dir := setup(t, `
name: failing
steps:
  a:
    run: echo ok > ${{ outputs.out }}
    outputs: [out]
  bad:
    run: echo "boom-marker from bad"; exit 3
    inputs: {x: a.out}
    outputs: [out]
  after:
    run: cat ${{ inputs.x }} > ${{ outputs.out }}
    inputs: {x: bad.out}
    outputs: [out]
  other:
    run: echo other > ${{ outputs.out }}
    inputs: {x: a.out}
    outputs: [out]
`)
	r := bitflow(t, bin, dir, "run", "flow.yaml", "--executor", "slurm", "--poll", "300ms", "--store", "st", "--keep-going")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"step=bad", "FAILED", "exit code 1:0", "boom-marker from bad", "command exited with status 3", "(log: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failure report lacks %q:\n%s", want, r.stderr)
		}
	}
	rec := lastRun(t, filepath.Join(dir, "st"))
	if got, want := statuses(rec), "a:ran bad:failed after:skipped other:ran"; got != want {
		t.Errorf("statuses %q, want %q", got, want)
	}
	// Slurm cancelled the dependent job itself: nothing of ours waits.
	out, _ := exec.Command("squeue", "-h", "-t", "PENDING,RUNNING", "-o", "%j|%k").Output()
	if strings.Contains(string(out), "bitflow:after") {
		t.Errorf("a job of the failed run is still queued:\n%s", out)
	}
}

// sweepFlow: prep is shared by every point, work and sum are per point.
const sweepFlow = `
name: sw
params: {x: 0, nap: 0}
steps:
  prep:
    run: echo prep > ${{ outputs.out }}; echo prep >> COUNT/prep
    outputs: [out]
  work:
    run: sleep ${{ params.nap }}; cat ${{ inputs.p }} > ${{ outputs.out }}; echo ${{ params.x }} >> ${{ outputs.out }}; echo ${{ params.x }} >> COUNT/work
    inputs: {p: prep.out}
    outputs: [out]
  sum:
    run: wc -c < ${{ inputs.w }} > ${{ outputs.out }}; echo ${{ params.x }} >> COUNT/sum
    inputs: {w: work.out}
    outputs: [out]
`

func sweepDir(t *testing.T, nap string) string {
	dir := setup(t, sweepFlow)
	var xs []string
	for i := range 12 {
		xs = append(xs, fmt.Sprint(i))
	}
	write(t, filepath.Join(dir, "twelve.yaml"), fmt.Sprintf("workflow: flow.yaml\nparameter_groups:\n  - x: [%s]\n    nap: [%s]\n", strings.Join(xs, ", "), nap))
	return dir
}

func checkOnce(t *testing.T, dir string) {
	t.Helper()
	if got := lines(t, filepath.Join(dir, "count", "prep")); len(got) != 1 {
		t.Errorf("prep (shared) executed %d times", len(got))
	}
	for _, step := range []string{"work", "sum"} {
		got := lines(t, filepath.Join(dir, "count", step))
		slices.Sort(got)
		if len(got) != 12 || len(slices.Compact(slices.Clone(got))) != 12 {
			t.Errorf("%s executions %v: want each of the 12 points once", step, got)
		}
	}
}

func TestSlurmSweepRunsSharedStepsOnce(t *testing.T) {
	bin := needSlurm(t)
	dir := sweepDir(t, "0")
	r := bitflow(t, bin, dir, "sweep", "twelve.yaml", "--executor", "slurm", "--poll", "300ms", "--max-parallel", "4", "--store", "st")
	mustOK(t, r, "slurm sweep")
	if !strings.Contains(r.stderr, "submitted 25 steps as 3 Slurm submissions (2 job arrays)") {
		t.Errorf("want 25 steps in one job and two arrays:\n%s", r.stderr)
	}
	checkOnce(t, dir)
	rec := lastRun(t, filepath.Join(dir, "st"))
	if rec.Status != store.RunOK || len(rec.Steps) != 25 {
		t.Errorf("run %s with %d steps", rec.Status, len(rec.Steps))
	}
	mustOK(t, bitflow(t, bin, dir, "sweep", "twelve.yaml", "--store", "local"), "local sweep")
	sameResults(t, filepath.Join(dir, "local"), lastRun(t, filepath.Join(dir, "local")), filepath.Join(dir, "st"), rec)
}

func TestSlurmDriverKilledAndRerun(t *testing.T) {
	bin := needSlurm(t)
	dir := sweepDir(t, "1")
	cmd := exec.Command(bin, "sweep", "twelve.yaml", "--executor", "slurm", "--poll", "300ms", "--max-parallel", "2", "--store", "st")
	cmd.Dir = dir
	var first bytes.Buffer
	cmd.Stderr = &first
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the driver (no chance to cancel anything) once some points are
	// done and others are still queued.
	deadline := time.Now().Add(2 * time.Minute)
	for len(lines(t, filepath.Join(dir, "count", "work"))) < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no work step finished in 2 minutes:\n%s", first.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	done := len(lines(t, filepath.Join(dir, "count", "sum")))
	if done >= 12 {
		t.Fatalf("the sweep finished before the driver was killed; nothing to re-attach to")
	}
	// One of the orphaned jobs also goes away (an admin's scancel): the
	// rerun must submit that step, and only that one.
	out, err := exec.Command("squeue", "-h", "-r", "-t", "PENDING", "-n", "bitflow:sum", "-o", "%i").Output()
	if err != nil {
		t.Fatal(err)
	}
	pending := strings.Fields(string(out))
	if len(pending) == 0 {
		t.Fatalf("no sum task is pending after the kill")
	}
	victim := pending[len(pending)-1]
	if out, err := exec.Command("scancel", victim).CombinedOutput(); err != nil {
		t.Fatalf("scancel %s: %v %s", victim, err, out)
	}
	r := bitflow(t, bin, dir, "sweep", "twelve.yaml", "--executor", "slurm", "--poll", "300ms", "--max-parallel", "2", "--store", "st")
	mustOK(t, r, "rerun after the crash")
	t.Logf("killed after %d of 12 points; cancelled %s; rerun:\n%s", done, victim, r.stderr)
	if !regexp.MustCompile(`re-attached to \d+ jobs? still in flight`).MatchString(r.stderr) {
		t.Errorf("the rerun did not re-attach to the jobs in flight:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "submitted 1 step as") {
		t.Errorf("the rerun should submit exactly the cancelled step:\n%s", r.stderr)
	}
	checkOnce(t, dir)
	rec := lastRun(t, filepath.Join(dir, "st"))
	if rec.Status != store.RunOK || len(rec.Steps) != 25 {
		t.Fatalf("rerun: %s with %d steps", rec.Status, len(rec.Steps))
	}
	mustOK(t, bitflow(t, bin, dir, "sweep", "twelve.yaml", "--store", "local"), "local sweep")
	sameResults(t, filepath.Join(dir, "local"), lastRun(t, filepath.Join(dir, "local")), filepath.Join(dir, "st"), rec)
}

// TestSlurmExplorationSameDigests is the "done": the small
// bit_balanced_vs_cross_entropy exploration through Slurm gives the local
// executor's results.
func TestSlurmExplorationSameDigests(t *testing.T) {
	bin := needSlurm(t)
	dir := t.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	expl := filepath.Join(root, "explorations", "bit_balanced_small.yaml")
	start := time.Now()
	r := bitflow(t, bin, dir, "sweep", expl, "--store", "local", "--json")
	mustOK(t, r, "local sweep")
	localTook := time.Since(start)
	start = time.Now()
	s := bitflow(t, bin, dir, "sweep", expl, "--executor", "slurm", "--poll", "500ms", "--store", "slurm", "--json")
	mustOK(t, s, "slurm sweep")
	t.Logf("local %s, slurm %s", localTook.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	la, sa := lastRun(t, filepath.Join(dir, "local")), lastRun(t, filepath.Join(dir, "slurm"))
	n := sameResults(t, filepath.Join(dir, "local"), la, filepath.Join(dir, "slurm"), sa)
	t.Logf("%d outputs of %d steps compared", n, len(la.Steps))
	var lj, sj struct {
		Results struct {
			Rows []map[string]any `json:"rows"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &lj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(s.stdout), &sj); err != nil {
		t.Fatal(err)
	}
	if len(lj.Results.Rows) == 0 {
		t.Fatal("no result rows")
	}
	strip := func(rows []map[string]any) string {
		for _, r := range rows {
			delete(r, "run_id")
			delete(r, "duration_s")
		}
		b, _ := json.Marshal(rows)
		return string(b)
	}
	if a, b := strip(lj.Results.Rows), strip(sj.Results.Rows); a != b {
		t.Errorf("result tables differ:\nlocal %s\nslurm %s", a, b)
	}
}

func TestSlurmCtrlCCancelsTheJobs(t *testing.T) {
	bin := needSlurm(t)
	dir := sweepDir(t, "30")
	cmd := exec.Command(bin, "sweep", "twelve.yaml", "--executor", "slurm", "--poll", "300ms", "--max-parallel", "2", "--store", "st")
	cmd.Dir = dir
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr.String(), "running") || !strings.Contains(stderr.String(), "step=work@") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no work step started in a minute:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("after Ctrl-C: %v, want exit 1\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`cancelled 2[0-9] jobs`).MatchString(stderr.String()) {
		t.Errorf("want the sweep's 24 unfinished jobs cancelled:\n%s", stderr.String())
	}
	time.Sleep(time.Second)
	out, _ := exec.Command("squeue", "-h", "-r", "-t", "PENDING,RUNNING,CONFIGURING", "-o", "%i %j").Output()
	if strings.Contains(string(out), "bitflow:work") || strings.Contains(string(out), "bitflow:sum") {
		t.Errorf("jobs still queued after Ctrl-C:\n%s", out)
	}
	if got := lines(t, filepath.Join(dir, "count", "work")); len(got) != 0 {
		t.Errorf("work steps committed although cancelled 30 s before their end: %v", got)
	}
	if rec := lastRun(t, filepath.Join(dir, "st")); rec.Status != store.RunInterrupted {
		t.Errorf("run status %s, want interrupted", rec.Status)
	}
}

// syncBuffer is a buffer a test reads while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
