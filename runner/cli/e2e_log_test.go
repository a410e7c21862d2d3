package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// jsonLines parses every stderr line as a JSON log object with a level and
// a message, failing the test on any other line.
func jsonLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not a JSON object (%v): %q", err, line)
			continue
		}
		if _, ok := m["level"].(string); !ok {
			t.Errorf("no level in %q", line)
		}
		if _, ok := m["message"].(string); !ok {
			t.Errorf("no message in %q", line)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Error("nothing logged on stderr")
	}
	return out
}

// find returns the first log line whose fields include all of want.
func find(lines []map[string]any, want map[string]string) map[string]any {
next:
	for _, l := range lines {
		for k, v := range want {
			if s, _ := l[k].(string); s != v {
				continue next
			}
		}
		return l
	}
	return nil
}

func TestRunLogFormatJSON(t *testing.T) {
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
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("steps:\n  a:\n    run: echo ${{ params.nope }}\n    ouputs: [x]\n"), 0o644)

	// A failing run: step lines, the failure with its log tail, the summary.
	r := bitflow(t, dir, "run", "--log-format", "json", "--log-level", "debug", "--store", "store", "flow.yaml")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	lines := jsonLines(t, r.stderr)
	if l := find(lines, map[string]string{"level": "error", "message": "failed", "step": "bad"}); l == nil || !strings.Contains(l["log_tail"].(string), "something broke") {
		t.Errorf("no error line for bad with its log tail:\n%s", r.stderr)
	}
	if l := find(lines, map[string]string{"level": "debug", "message": "skipped", "step": "after"}); l == nil {
		t.Errorf("no debug line for the skipped step:\n%s", r.stderr)
	}

	// The final error of a command is a JSON line too: a store error, an
	// invalid workflow (with each problem listed) and a usage error.
	r = bitflow(t, dir, "run", "--log-format", "json", "--store", "/proc/nope/store", "flow.yaml")
	if r.code != 4 {
		t.Errorf("store error: exit %d\n%s", r.code, r.stderr)
	}
	lines = jsonLines(t, r.stderr)
	if l := lines[len(lines)-1]; l["level"] != "error" || !strings.HasPrefix(l["message"].(string), "bitflow run: store") || l["error"] == nil {
		t.Errorf("store error line: %v", l)
	}

	r = bitflow(t, dir, "validate", "--log-format", "json", "bad.yaml")
	if r.code != 3 {
		t.Errorf("invalid workflow: exit %d\n%s", r.code, r.stderr)
	}
	lines = jsonLines(t, r.stderr)
	if len(lines) != 1 || lines[0]["level"] != "error" || lines[0]["message"] != "bitflow validate: bad.yaml: 2 problems" {
		t.Fatalf("invalid workflow: %s", r.stderr)
	}
	problems, _ := lines[0]["problems"].([]any)
	if len(problems) != 2 || problems[0] != `bad.yaml:3:10: step "a": run: ${{ params.nope }}: no workflow param "nope" is declared` {
		t.Errorf("problems: %v", problems)
	}

	r = bitflow(t, dir, "run", "--log-format", "json")
	if r.code != 2 {
		t.Errorf("usage error: exit %d\n%s", r.code, r.stderr)
	}
	lines = jsonLines(t, r.stderr)
	if len(lines) != 1 || lines[0]["message"] != "bitflow run: missing WORKFLOW" || lines[0]["hint"] != "Run 'bitflow run --help' for usage." {
		t.Errorf("usage error: %s", r.stderr)
	}
}

// The first line of a workflow error says which file has how many problems;
// each problem follows with its position.
func TestWorkflowErrorSummaryLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: broken\nsteps:\n  a:\n    run: [echo, hi\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("steps:\n  a:\n    run: echo ${{ params.nope }}\n    ouputs: [x]\n"), 0o644)
	for _, tt := range []struct{ file, first, second string }{
		{"broken.yaml", "bitflow validate: broken.yaml: 1 problem", "broken.yaml:4:10: yaml: "},
		{"bad.yaml", "bitflow validate: bad.yaml: 2 problems", "bad.yaml:3:10: "},
	} {
		r := bitflow(t, dir, "validate", tt.file)
		lines := strings.Split(r.stderr, "\n")
		if r.code != 3 || len(lines) < 2 || lines[0] != tt.first || !strings.HasPrefix(lines[1], tt.second) {
			t.Errorf("validate %s: exit %d, stderr:\n%s\nwant first lines %q, %q...", tt.file, r.code, r.stderr, tt.first, tt.second)
		}
	}
}
