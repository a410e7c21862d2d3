package cli_test

import (
	"strings"
	"testing"
)

const twoBranches = `
params: {word: hello}
steps:
  a:
    run: echo "[${{ params.word }}]" > ${{ outputs.out }}
    outputs: [out]
  b:
    run: echo b > ${{ outputs.out }}
    outputs: [out]
  c:
    run: cat ${{ inputs.x }} > ${{ outputs.out }}
    inputs: {x: a.out}
    outputs: [out]
`

// --force of a step the targets do not select would do nothing: it is a
// usage error, for run and plan alike.
func TestForceOfAnUnselectedStepIsAUsageError(t *testing.T) {
	dir := workdir(t, twoBranches)
	for _, cmd := range []string{"run", "plan"} {
		r := bitflow(t, dir, cmd, "flow.yaml", "c", "--force", "b", "--store", "store")
		want := `--force b: step "b" is not part of this run (the targets c do not need it); name it as a target too`
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s c --force b: exit %d\n%s\nwant exit 2 and %q", cmd, r.code, r.stderr, want)
		}
	}
	// A step the targets need, or a target, may be forced.
	run(t, dir, 0, "flow.yaml", "c")
	got := run(t, dir, 0, "flow.yaml", "c", "--force", "a")
	if got.statuses() != "a:ran c:cached" {
		t.Errorf("c --force a: %s", got.statuses())
	}
	if got := run(t, dir, 0, "flow.yaml", "c", "b", "--force", "b"); got.statuses() != "a:cached b:ran c:cached" {
		t.Errorf("c b --force b: %s", got.statuses())
	}
}

func TestSetEmptyValueIsTheEmptyString(t *testing.T) {
	dir := workdir(t, twoBranches)
	run(t, dir, 0, "flow.yaml", "a", "--set", "word=")
	if r := bitflow(t, dir, "cat", "a.out", "--store", "store"); r.stdout != "[]\n" {
		t.Errorf("--set word= gave %q, want %q", r.stdout, "[]\n")
	}
	if r := bitflow(t, dir, "run", "--help"); !strings.Contains(r.stdout, "NAME= sets the empty string") {
		t.Errorf("run --help does not document --set NAME=:\n%s", r.stdout)
	}
}

func TestFailedRunSummaryIsAnError(t *testing.T) {
	dir := workdir(t, "steps:\n  bad:\n    run: exit 3\n    outputs: [out]\n")
	r := bitflow(t, dir, "run", "flow.yaml", "--store", "store")
	if r.code != 1 || !strings.Contains(r.stderr, " ERR failed: 1 steps, 1 failed in ") {
		t.Errorf("exit %d; the summary of a failed run is not logged at ERR:\n%s", r.code, r.stderr)
	}
}

func TestUsageLines(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ cmd, usage string }{
		{"runs", "Usage: bitflow runs [FLAGS]\n"},
		{"gc", "Usage: bitflow gc [FLAGS]\n"},
		{"version", "Usage: bitflow version [FLAGS]\n"},
		{"run", "Usage: bitflow run WORKFLOW [STEP...] [FLAGS]\n"},
	} {
		if r := bitflow(t, dir, tt.cmd, "--help"); !strings.HasPrefix(r.stdout, tt.usage) {
			t.Errorf("%s --help starts %q, want %q", tt.cmd, firstLine(r.stdout), tt.usage)
		}
	}
	// Commands that never use a store do not offer --store.
	for _, cmd := range []string{"kinds", "version", "validate"} {
		if r := bitflow(t, dir, cmd, "--help"); strings.Contains(r.stdout, "--store") {
			t.Errorf("%s --help lists --store:\n%s", cmd, r.stdout)
		}
	}
	if r := bitflow(t, dir, "runs", "--help"); !strings.Contains(r.stdout, "--store") {
		t.Errorf("runs --help lacks --store:\n%s", r.stdout)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
