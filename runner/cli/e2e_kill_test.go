package cli_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// killable has many short steps, directory outputs and fan-in, so that a
// kill at a random instant lands in every phase: planning, execution,
// object commits, record writes and journal appends.
const killable = `
name: killable
params:
  rows: 5
steps:
  gen:
    run: |
      mkdir -p ${{ outputs.dir }}/nested
      for i in $(seq ${{ params.rows }}); do echo "row $i" > ${{ outputs.dir }}/f$i; done
      echo deep > ${{ outputs.dir }}/nested/leaf
      sleep 0.02
    outputs: [dir]
  upper:
    run: cat ${{ inputs.d }}/f* | tr a-z A-Z > ${{ outputs.out }}; sleep 0.02
    inputs: {d: gen.dir}
    outputs: [out]
  count:
    run: ls -R ${{ inputs.d }} | wc -l > ${{ outputs.out }}; sleep 0.02
    inputs: {d: gen.dir}
    outputs: [out]
  copy:
    run: cp -r ${{ inputs.d }} ${{ outputs.tree }}; sleep 0.02
    inputs: {d: gen.dir}
    outputs: [tree]
  join:
    run: cat ${{ inputs.a }} ${{ inputs.b }} ${{ inputs.c }}/f1 > ${{ outputs.out }}; sleep 0.02
    inputs: {a: upper.out, b: count.out, c: copy.tree}
    outputs: [out]
  final:
    run: sha256sum < ${{ inputs.j }} > ${{ outputs.sum }}
    inputs: {j: join.out}
    outputs: [sum]
`

// checkStore asserts that every action record in the store names objects
// that exist and verify: a kill never leaves a record without its results.
func checkStore(t *testing.T, root string) {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := filepath.Glob(filepath.Join(root, "actions", "*", "*.json"))
	for _, p := range recs {
		id := strings.TrimSuffix(filepath.Base(p), ".json")
		rec, err := st.ReadAction(id)
		if err != nil {
			t.Errorf("action record %s unreadable: %v", id[:12], err)
			continue
		}
		for name, o := range rec.Outputs {
			if err := st.VerifyOutput(o); err != nil {
				t.Errorf("action %s output %s: %v", id[:12], name, err)
			}
		}
	}
}

func TestKill9AtRandomInstants(t *testing.T) {
	trials := 50
	if testing.Short() {
		trials = 10
	}
	refDir := workdir(t, killable)
	ref := run(t, refDir, 0, "flow.yaml", "-j", "2")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)
	// The uninterrupted run's duration bounds the kill instants.
	start := time.Now()
	run(t, workdir(t, killable), 0, "flow.yaml", "-j", "2")
	span := time.Since(start)
	for trial := range trials {
		dir := workdir(t, killable)
		cmd := exec.Command(bitflowBin, "run", "--store", "store", "-j", "2", "flow.yaml")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(span) * 11 / 10))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		checkStore(t, filepath.Join(dir, "store"))
		got := run(t, dir, 0, "flow.yaml", "-j", "2")
		sameDigests(t, got.digests(), ref.digests())
		if t.Failed() {
			t.Fatalf("trial %d (kill after %v of ~%v, seed %d) failed", trial, delay, span, seed)
		}
	}
}

// slowStep signals that it started by creating $MARK, then works for a
// while: the kill lands inside it for certain.
const slowStep = `
name: slow
steps:
  first:
    run: echo first > ${{ outputs.out }}
    outputs: [out]
  slow:
    run: touch $MARK; sleep 1; cat ${{ inputs.x }} > ${{ outputs.out }}; echo slow >> ${{ outputs.out }}
    inputs: {x: first.out}
    outputs: [out]
    env: [MARK]
  after:
    run: tr a-z A-Z < ${{ inputs.x }} > ${{ outputs.out }}
    inputs: {x: slow.out}
    outputs: [out]
`

// startAndWaitForMark starts `bitflow run` and returns once the slow step
// is running, with the buffer that collects bitflow's stderr (complete
// after cmd.Wait).
func startAndWaitForMark(t *testing.T, dir, mark string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bitflowBin, "run", "--store", "store", "flow.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MARK="+mark)
	errb := &bytes.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(mark); err == nil {
			return cmd, errb
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the slow step never started:\n%s", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowActionID asks `bitflow plan --json` for the slow step's ActionID
// (known in advance once its input is cached).
func slowActionID(t *testing.T, dir, mark string) string {
	t.Helper()
	cmd := exec.Command(bitflowBin, "plan", "--json", "--store", "store", "flow.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MARK="+mark)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		Steps []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			ActionID string `json:"action_id"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatal(err)
	}
	for _, s := range plan.Steps {
		if s.Name == "slow" {
			if s.ActionID == "" || s.Status != "run" {
				t.Fatalf("plan for slow: %+v", s)
			}
			return s.ActionID
		}
	}
	t.Fatal("no slow step in plan")
	return ""
}

func TestKill9DuringAStepLeavesNoRecord(t *testing.T) {
	refDir := workdir(t, slowStep)
	t.Setenv("MARK", filepath.Join(refDir, "mark"))
	ref := run(t, refDir, 0, "flow.yaml")

	dir := workdir(t, slowStep)
	mark := filepath.Join(dir, "mark")
	t.Setenv("MARK", mark)
	run(t, dir, 0, "flow.yaml", "first")
	id := slowActionID(t, dir, mark)
	cmd, _ := startAndWaitForMark(t, dir, mark)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "store", "actions", id[:2], id+".json")); !os.IsNotExist(err) {
		t.Fatalf("the killed step has an action record (%v)", err)
	}
	checkStore(t, filepath.Join(dir, "store"))
	runs := bitflow(t, dir, "runs", "--json", "--store", "store")
	if !strings.Contains(runs.stdout, `"incomplete"`) {
		t.Errorf("the killed run is not listed as incomplete:\n%s", runs.stdout)
	}
	got := run(t, dir, 0, "flow.yaml")
	if got.statuses() != "first:cached slow:ran after:ran" {
		t.Errorf("rerun: %s", got.statuses())
	}
	sameDigests(t, got.digests(), ref.digests())
}

func TestCtrlCStopsCleanly(t *testing.T) {
	dir := workdir(t, slowStep)
	mark := filepath.Join(dir, "mark")
	t.Setenv("MARK", mark)
	run(t, dir, 0, "flow.yaml", "first")
	id := slowActionID(t, dir, mark)
	cmd, errb := startAndWaitForMark(t, dir, mark)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit after Ctrl-C: %v %s", err, errb.String())
	}
	if want := "bitflow run: interrupted: stopped slow before it finished (nothing recorded); run again to continue"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr after Ctrl-C:\n%s\nwant %q", errb.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "actions", id[:2], id+".json")); !os.IsNotExist(err) {
		t.Fatal("the interrupted step has an action record")
	}
	show := bitflow(t, dir, "show", "latest", "--json", "--store", "store")
	if !strings.Contains(show.stdout, `"status": "interrupted"`) {
		t.Errorf("run not recorded as interrupted:\n%s", show.stdout)
	}
	got := run(t, dir, 0, "flow.yaml")
	if got.statuses() != "first:cached slow:ran after:ran" {
		t.Errorf("rerun: %s", got.statuses())
	}
}
