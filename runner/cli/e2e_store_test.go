package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that only read the store must not create one: a mistyped
// --store is an error naming the path (exit 4), and leaves nothing behind.
func TestReadOnlyCommandsCreateNoStore(t *testing.T) {
	dir := workdir(t, "steps:\n  a:\n    run: echo hi > ${{ outputs.out }}\n    outputs: [out]\n")
	missing := filepath.Join(dir, "typo", "store")
	plain := filepath.Join(dir, "plain") // exists, but is not a store
	os.Mkdir(plain, 0o755)
	for _, root := range []string{missing, plain} {
		for _, args := range [][]string{
			{"runs"}, {"runs", "--json"}, {"show", "latest"}, {"cat", "a.out"},
			{"export", "a.out", "-o", "x"}, {"gc"}, {"gc", "--dry-run"},
		} {
			r := bitflow(t, dir, append(args, "--store", root)...)
			if r.code != 4 || !strings.Contains(r.stderr, "no store at "+root) {
				t.Errorf("bitflow %v --store %s: exit %d, stderr %q; want exit 4 and %q", args, root, r.code, r.stderr, "no store at "+root)
			}
		}
		// plan and why predict a first run instead.
		r := bitflow(t, dir, "plan", "flow.yaml", "--store", root)
		if r.code != 0 || !strings.Contains(r.stdout, "1 of 1 steps would run") || !strings.Contains(r.stderr, "no store at "+root) {
			t.Errorf("plan --store %s: exit %d\n%s\n%s", root, r.code, r.stdout, r.stderr)
		}
		r = bitflow(t, dir, "why", "flow.yaml", "a", "--store", root)
		if r.code != 0 || !strings.Contains(r.stdout, "a: would run") {
			t.Errorf("why --store %s: exit %d\n%s\n%s", root, r.code, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("a read-only command created %s", filepath.Join(dir, "typo"))
	}
	if ents, _ := os.ReadDir(plain); len(ents) != 0 {
		t.Errorf("a read-only command wrote into %s: %v", plain, ents)
	}
	// run creates the store; then the same commands work on it.
	run(t, dir, 0, "flow.yaml")
	if r := bitflow(t, dir, "runs", "--store", "store"); r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Errorf("runs after a run: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := bitflow(t, dir, "show", "nope", "--store", "store"); r.code != 2 || !strings.Contains(r.stderr, `no run "nope"`) {
		t.Errorf("show of an unknown run: %d %s", r.code, r.stderr)
	}
	if r := bitflow(t, dir, "cat", "a.out", "--store", "store"); r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("cat after a run: %d %q %s", r.code, r.stdout, r.stderr)
	}
}
