package cli_test

// End-to-end tests: they build the real bitflow binary once and drive it as
// a user would, through its command line, exit codes, stdout JSON and the
// store it leaves behind.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var bitflowBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bitflow-e2e-")
	if err != nil {
		panic(err)
	}
	bitflowBin = filepath.Join(dir, "bitflow")
	build := exec.Command("go", "build", "-o", bitflowBin, "github.com/bitflow-dev/bitflow")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building bitflow:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one bitflow invocation.
type result struct {
	code   int
	stdout string
	stderr string
}

// bitflow runs the binary in dir with args.
func bitflow(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bitflowBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BITFLOW_STORE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running bitflow: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// runJSON is `bitflow run --json`'s output.
type runJSON struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Steps  []struct {
		Name     string            `json:"name"`
		Kind     string            `json:"kind"`
		Status   string            `json:"status"`
		ActionID string            `json:"action_id"`
		Outputs  map[string]string `json:"outputs"`
		Error    string            `json:"error"`
	} `json:"steps"`
}

func parseRun(t *testing.T, r result) runJSON {
	t.Helper()
	var out runJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("stdout is not the run JSON (%v):\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return out
}

// run runs a workflow with --json and expects exit code want.
func run(t *testing.T, dir string, want int, args ...string) runJSON {
	t.Helper()
	r := bitflow(t, dir, append([]string{"run", "--json", "--store", "store"}, args...)...)
	if r.code != want {
		t.Fatalf("bitflow run %v: exit %d, want %d\nstderr:\n%s", args, r.code, want, r.stderr)
	}
	return parseRun(t, r)
}

// statuses is "name:status ..." in run order.
func (r runJSON) statuses() string {
	var parts []string
	for _, s := range r.Steps {
		parts = append(parts, s.Name+":"+s.Status)
	}
	return strings.Join(parts, " ")
}

// digests is every step's outputs, for comparing runs.
func (r runJSON) digests() map[string]string {
	m := map[string]string{}
	for _, s := range r.Steps {
		for k, v := range s.Outputs {
			m[s.Name+"."+k] = v
		}
	}
	return m
}

func (r runJSON) step(name string) (s struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Status   string            `json:"status"`
	ActionID string            `json:"action_id"`
	Outputs  map[string]string `json:"outputs"`
	Error    string            `json:"error"`
}) {
	for _, st := range r.Steps {
		if st.Name == name {
			return st
		}
	}
	return s
}

// workdir makes a directory holding flow.yaml with src.
func workdir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sameDigests(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}
