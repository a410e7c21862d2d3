package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCodesAndErrors(t *testing.T) {
	dir := workdir(t, counted)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("steps:\n  a:\n    run: echo ${{ params.nope }}\n    ouputs: [x]\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run"}, 2, "missing WORKFLOW"},
		{[]string{"run", "flow.yaml", "--jobs", "0"}, 2, "--jobs must be at least 1"},
		{[]string{"run", "flow.yaml", "--set", "nope=1"}, 2, `no param "nope"; its params are p1, p2`},
		{[]string{"run", "flow.yaml", "nosuchstep"}, 2, `no step "nosuchstep"`},
		{[]string{"run", "missing.yaml"}, 2, "no such file"},
		{[]string{"run", "bad.yaml"}, 3, "bad.yaml:3:10: step \"a\": run: ${{ params.nope }}: no workflow param \"nope\" is declared"},
		{[]string{"validate", "bad.yaml"}, 3, "bad.yaml:4:5: step \"a\": unknown key \"ouputs\" (did you mean \"outputs\"?)"},
		{[]string{"show", "nope", "--store", "store"}, 4, "no store at store"},
		{[]string{"run", "flow.yaml", "--store", "/proc/nope/store"}, 4, "store"},
	}
	for _, tt := range tests {
		r := bitflow(t, dir, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("bitflow %v: exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
	// Errors point at the source with a caret.
	r := bitflow(t, dir, "validate", "bad.yaml")
	if !strings.Contains(r.stderr, "   4 |     ouputs: [x]\n       |     ^") {
		t.Errorf("no caret under the error:\n%s", r.stderr)
	}
	// --json validation lists every error with its position.
	r = bitflow(t, dir, "validate", "--json", "bad.yaml")
	var v struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			Line, Col int
			Message   string
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Valid || len(v.Errors) != 2 || v.Errors[0].Line != 3 {
		t.Errorf("validate --json: %v %+v\n%s", err, v, r.stdout)
	}
}

func TestInspectionCommands(t *testing.T) {
	dir := workdir(t, `
name: inspect
params: {word: hello}
steps:
  make:
    run: |
      echo ${{ params.word }} > ${{ outputs.text }}
      mkdir -p ${{ outputs.dir }}/sub
      echo inner > ${{ outputs.dir }}/sub/file.txt
      echo "log line from make"
    outputs: [text, dir]
  use:
    run: cat ${{ inputs.t }} ${{ inputs.d }}/sub/file.txt > ${{ outputs.out }}
    inputs: {t: make.text, d: make.dir}
    outputs: [out]
`)
	first := run(t, dir, 0, "flow.yaml")
	sto := []string{"--store", "store"}

	r := bitflow(t, dir, append([]string{"cat", "use.out"}, sto...)...)
	if r.stdout != "hello\ninner\n" {
		t.Errorf("cat use.out = %q (%s)", r.stdout, r.stderr)
	}
	r = bitflow(t, dir, append([]string{"cat", "make.dir/sub/file.txt"}, sto...)...)
	if r.stdout != "inner\n" {
		t.Errorf("cat make.dir/sub/file.txt = %q (%s)", r.stdout, r.stderr)
	}
	r = bitflow(t, dir, append([]string{"cat", "make.dir"}, sto...)...)
	if !strings.Contains(r.stdout, "sub/file.txt") {
		t.Errorf("cat of a directory output: %q", r.stdout)
	}
	r = bitflow(t, dir, append([]string{"cat", first.step("use").Outputs["out"][:20]}, sto...)...)
	if r.stdout != "hello\ninner\n" {
		t.Errorf("cat by digest prefix = %q (%s)", r.stdout, r.stderr)
	}

	r = bitflow(t, dir, append([]string{"export", "make.dir", "use.out", "--to", "exported"}, sto...)...)
	b, _ := os.ReadFile(filepath.Join(dir, "exported", "make", "dir", "sub", "file.txt"))
	c, _ := os.ReadFile(filepath.Join(dir, "exported", "use", "out"))
	if r.code != 0 || string(b) != "inner\n" || string(c) != "hello\ninner\n" {
		t.Errorf("export: %d %q %q %s", r.code, b, c, r.stderr)
	}
	r = bitflow(t, dir, append([]string{"export", "use.out", "-o", "result.txt"}, sto...)...)
	if c, _ := os.ReadFile(filepath.Join(dir, "result.txt")); string(c) != "hello\ninner\n" {
		t.Errorf("export -o: %q %s", c, r.stderr)
	}

	r = bitflow(t, dir, append([]string{"show", first.RunID[:13], "make", "--log"}, sto...)...)
	if !strings.Contains(r.stdout, "log line from make") {
		t.Errorf("show --log: %q %s", r.stdout, r.stderr)
	}
	r = bitflow(t, dir, append([]string{"show", "latest", "use"}, sto...)...)
	if !strings.Contains(r.stdout, "manifest") || !strings.Contains(r.stdout, "input d sha256:") {
		t.Errorf("show step:\n%s", r.stdout)
	}

	// why names the changed param; plan says what would run.
	r = bitflow(t, dir, append([]string{"why", "flow.yaml", "use", "--set", "word=bye"}, sto...)...)
	if !strings.Contains(r.stdout, "inputs are not known until make runs") || !strings.Contains(r.stdout, "hello") || !strings.Contains(r.stdout, "bye") {
		t.Errorf("why:\n%s\n%s", r.stdout, r.stderr)
	}
	r = bitflow(t, dir, append([]string{"why", "flow.yaml", "use"}, sto...)...)
	if !strings.Contains(r.stdout, "use: cached") {
		t.Errorf("why of a cached step: %s", r.stdout)
	}

	run(t, dir, 0, "flow.yaml", "--set", "word=bye")
	r = bitflow(t, dir, append([]string{"runs", "--json"}, sto...)...)
	var runs []struct {
		ID     string         `json:"run_id"`
		Status string         `json:"status"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 2 || runs[1].ID != first.RunID {
		t.Errorf("runs --json: %v %s", err, r.stdout)
	}

	// gc --keep 1 drops the first run and what only it reached; the
	// newest run stays complete.
	r = bitflow(t, dir, append([]string{"gc", "--keep", "1", "--json"}, sto...)...)
	var rep struct {
		RemovedRuns    int `json:"removed_runs"`
		RemovedObjects int `json:"removed_objects"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.RemovedRuns != 1 || rep.RemovedObjects == 0 {
		t.Errorf("gc: %v %s %s", err, r.stdout, r.stderr)
	}
	again := run(t, dir, 0, "flow.yaml", "--set", "word=bye")
	if again.statuses() != "make:cached use:cached" {
		t.Errorf("after gc: %s", again.statuses())
	}
	back := run(t, dir, 0, "flow.yaml")
	if back.statuses() != "make:ran use:ran" {
		t.Errorf("the collected run came back as %s", back.statuses())
	}
}

func TestHelpVersionKinds(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--help"}, {"help", "run"}, {"run", "--help"}, {"gc", "-h"}} {
		r := bitflow(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") && !strings.Contains(r.stdout, "Commands") {
			t.Errorf("bitflow %v: %d %q", args, r.code, r.stdout)
		}
	}
	for _, c := range []string{"run", "plan", "why", "validate", "runs", "show", "cat", "export", "gc", "kinds", "version"} {
		if r := bitflow(t, dir, c, "--help"); r.code != 0 || !strings.Contains(r.stdout, "bitflow "+c) {
			t.Errorf("%s --help: %d %q", c, r.code, r.stdout)
		}
	}
	r := bitflow(t, dir, "version", "--json")
	var v map[string]string
	if json.Unmarshal([]byte(r.stdout), &v) != nil || v["version"] == "" {
		t.Errorf("version --json: %s", r.stdout)
	}
	r = bitflow(t, dir, "kinds", "--json")
	var kinds []struct {
		Kind   string `json:"kind"`
		Params []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &kinds); err != nil {
		t.Fatalf("kinds --json: %v %s", err, r.stdout)
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.Kind)
		for _, p := range k.Params {
			if p.Type == "" {
				t.Errorf("kind %s param %s has no type", k.Kind, p.Name)
			}
		}
	}
	if got := strings.Join(names, " "); got != "baseline corpus dryrun eval exec tokenizer traces train" {
		t.Errorf("kinds: %s", got)
	}
}

func TestShippedHelloRunsByName(t *testing.T) {
	dir := t.TempDir()
	first := run(t, dir, 0, "hello")
	if first.Status != "ok" || len(first.Steps) != 4 {
		t.Fatalf("hello: %+v", first)
	}
	second := run(t, dir, 0, "hello")
	if second.statuses() != "greet:cached shout:cached count:cached report:cached" {
		t.Errorf("hello again: %s", second.statuses())
	}
	r := bitflow(t, dir, "cat", "report.report", "--store", "store")
	if !strings.Contains(r.stdout, "HELLO, WORLD (3)") || !strings.Contains(r.stdout, "lines: 3") {
		t.Errorf("hello report: %q", r.stdout)
	}
}
