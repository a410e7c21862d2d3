package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// counted appends each execution to a log outside the store, so tests can
// count what really ran.
const counted = `
name: counted
params:
  p1: one
  p2: two
steps:
  a:
    run: echo a >> $LOG; echo "a ${{ params.p1 }}" > ${{ outputs.out }}
    outputs: [out]
    env: [LOG]
  b:
    run: echo b >> $LOG; cat ${{ inputs.x }} > ${{ outputs.out }}; echo b >> ${{ outputs.out }}
    inputs: {x: a.out}
    outputs: [out]
    env: [LOG]
  c:
    run: echo c >> $LOG; echo "c ${{ params.p2 }}" > ${{ outputs.out }}
    outputs: [out]
    env: [LOG]
  d:
    run: echo d >> $LOG; cat ${{ inputs.x }} ${{ inputs.y }} > ${{ outputs.out }}
    inputs: {x: b.out, y: c.out}
    outputs: [out]
    env: [LOG]
`

// executions reads and clears the execution log.
func executions(t *testing.T, log string) string {
	t.Helper()
	b, _ := os.ReadFile(log)
	os.Remove(log)
	lines := strings.Fields(string(b))
	return strings.Join(lines, " ")
}

func TestRunTwiceSecondExecutesNothing(t *testing.T) {
	dir := workdir(t, counted)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	first := run(t, dir, 0, "flow.yaml", "-j", "1")
	if first.statuses() != "a:ran b:ran c:ran d:ran" {
		t.Fatalf("first run: %s", first.statuses())
	}
	if got := executions(t, log); got != "a b c d" {
		t.Errorf("executed %q", got)
	}
	second := run(t, dir, 0, "flow.yaml")
	if second.statuses() != "a:cached b:cached c:cached d:cached" {
		t.Errorf("second run: %s", second.statuses())
	}
	if got := executions(t, log); got != "" {
		t.Errorf("second run executed %q", got)
	}
	sameDigests(t, second.digests(), first.digests())
	if first.RunID == second.RunID || first.step("d").ActionID == "" {
		t.Error("run IDs or action IDs missing")
	}
}

func TestSetRerunsExactlyTheDescendants(t *testing.T) {
	dir := workdir(t, counted)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	run(t, dir, 0, "flow.yaml")
	executions(t, log)
	r := run(t, dir, 0, "flow.yaml", "--set", "p2=zwei", "-j", "1")
	if r.statuses() != "a:cached b:cached c:ran d:ran" {
		t.Errorf("--set p2: %s", r.statuses())
	}
	if got := executions(t, log); got != "c d" {
		t.Errorf("executed %q, want c d", got)
	}
	// The plan for p1 names exactly a and its descendants.
	p := bitflow(t, dir, "plan", "flow.yaml", "--store", "store", "--set", "p1=uno")
	if p.code != 0 {
		t.Fatal(p.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(p.stdout), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] == "3" {
			continue
		}
		want := map[string]string{"a": "run", "b": "run", "c": "cached", "d": "run"}[f[0]]
		if !strings.HasPrefix(f[2], want) {
			t.Errorf("plan line %q, want %s", line, want)
		}
	}
}

func TestRenamingAStepRerunsNothing(t *testing.T) {
	dir := workdir(t, counted)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	first := run(t, dir, 0, "flow.yaml")
	executions(t, log)
	renamed := strings.NewReplacer("  b:\n", "  bee:\n", "b.out", "bee.out").Replace(counted)
	os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(renamed), 0o644)
	r := run(t, dir, 0, "flow.yaml")
	if r.statuses() != "a:cached bee:cached c:cached d:cached" {
		t.Errorf("after rename: %s", r.statuses())
	}
	if got := executions(t, log); got != "" {
		t.Errorf("executed %q", got)
	}
	if r.step("bee").Outputs["out"] != first.step("b").Outputs["out"] {
		t.Error("renamed step has a different output")
	}
}

func TestCorruptedObjectIsDetectedAndRecomputed(t *testing.T) {
	dir := workdir(t, counted)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	first := run(t, dir, 0, "flow.yaml")
	executions(t, log)
	digest := first.step("b").Outputs["out"]
	hex := strings.TrimPrefix(digest, "sha256:")
	obj := filepath.Join(dir, "store", "objects", "sha256", hex[:2], hex)
	os.Chmod(obj, 0o644)
	data, _ := os.ReadFile(obj)
	data[0] ^= 0x20
	os.WriteFile(obj, data, 0o444)

	r := bitflow(t, dir, "run", "--json", "--store", "store", "flow.yaml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := parseRun(t, r)
	if out.statuses() != "a:cached b:ran c:cached d:cached" {
		t.Errorf("after corruption: %s", out.statuses())
	}
	if got := executions(t, log); got != "b" {
		t.Errorf("executed %q", got)
	}
	if !strings.Contains(r.stderr, "corrupt") || !strings.Contains(r.stderr, "quarantined") {
		t.Errorf("corruption not reported:\n%s", r.stderr)
	}
	sameDigests(t, out.digests(), first.digests())
	q, _ := filepath.Glob(filepath.Join(dir, "store", "quarantine", "*"+hex))
	if len(q) != 1 {
		t.Errorf("quarantine: %v", q)
	}
}

func TestConcurrentRunsExecuteEachActionOnce(t *testing.T) {
	src := `
name: concurrent
steps:
`
	for i := range 8 {
		src += "  s" + string(rune('0'+i)) + ":\n    run: echo s" + string(rune('0'+i)) + " >> $LOG; sleep 0.05; echo " + string(rune('0'+i)) + " > ${{ outputs.out }}\n    outputs: [out]\n    env: [LOG]\n"
	}
	src += "  join:\n    run: echo join >> $LOG; cat ${{ inputs.a }} ${{ inputs.b }} > ${{ outputs.out }}\n    inputs: {a: s0.out, b: s7.out}\n    outputs: [out]\n    env: [LOG]\n"
	dir := workdir(t, src)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	var wg sync.WaitGroup
	results := make([]runJSON, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bitflow(t, dir, "run", "--json", "--store", "store", "-j", "3", "flow.yaml")
			if r.code != 0 {
				t.Errorf("run %d: exit %d\n%s", i, r.code, r.stderr)
				return
			}
			results[i] = parseRun(t, r)
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	b, _ := os.ReadFile(log)
	for _, l := range strings.Fields(string(b)) {
		counts[l]++
	}
	if len(counts) != 9 {
		t.Errorf("executed steps %v", counts)
	}
	for step, n := range counts {
		if n != 1 {
			t.Errorf("%s executed %d times", step, n)
		}
	}
	for _, r := range results[1:] {
		sameDigests(t, r.digests(), results[0].digests())
	}
}

func TestTargetsAndForce(t *testing.T) {
	dir := workdir(t, counted)
	log := filepath.Join(dir, "exec.log")
	t.Setenv("LOG", log)
	r := run(t, dir, 0, "flow.yaml", "b")
	if r.statuses() != "a:ran b:ran" {
		t.Errorf("target b: %s", r.statuses())
	}
	executions(t, log)
	r = run(t, dir, 0, "flow.yaml", "--force", "b", "-j", "1")
	if r.statuses() != "a:cached b:ran c:ran d:ran" {
		t.Errorf("--force b: %s", r.statuses())
	}
	if got := executions(t, log); got != "b c d" {
		t.Errorf("executed %q", got)
	}
}

func TestFailureExitCodeAndReport(t *testing.T) {
	dir := workdir(t, `
steps:
  ok:
    run: echo fine > ${{ outputs.out }}
    outputs: [out]
  bad:
    run: echo "something broke" >&2; exit 7
    inputs: {x: ok.out}
    outputs: [out]
  after:
    run: cat ${{ inputs.x }} > ${{ outputs.out }}
    inputs: {x: bad.out}
    outputs: [out]
`)
	r := bitflow(t, dir, "run", "--json", "--store", "store", "flow.yaml")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	out := parseRun(t, r)
	if out.statuses() != "ok:ran bad:failed after:skipped" || !strings.Contains(out.step("bad").Error, "status 7") {
		t.Errorf("statuses %s, error %q", out.statuses(), out.step("bad").Error)
	}
	if !strings.Contains(r.stderr, "something broke") {
		t.Errorf("log tail not shown:\n%s", r.stderr)
	}
	if strings.Count(r.stderr, "failed") > 3 || strings.Contains(r.stderr, "step=after") && strings.Contains(r.stderr, "ERR") && strings.Count(r.stderr, "ERR") > 1 {
		t.Errorf("failure reported more than once:\n%s", r.stderr)
	}
	show := bitflow(t, dir, "show", "latest", "bad", "--log", "--store", "store")
	if !strings.Contains(show.stdout, "something broke") {
		t.Errorf("show --log: %q %q", show.stdout, show.stderr)
	}
}
