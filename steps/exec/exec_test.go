package exec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/steps"
)

type ports struct {
	names []string
	paths map[string]string
}

func (p ports) Names() []string        { return p.names }
func (p ports) Path(n string) string   { return p.paths[n] }
func (p ports) Digest(n string) string { return "" }
func newPorts(m map[string]string) ports {
	p := ports{paths: m}
	for k := range m {
		p.names = append(p.names, k)
	}
	return p
}

// runStep runs a command with one input "in" (a file holding "data") and
// one output "out", and returns the log.
func runStep(t *testing.T, ctx context.Context, cmd string, env map[string]any, files []steps.File) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "input")
	os.WriteFile(in, []byte("data"), 0o644)
	out := filepath.Join(dir, "out")
	work := filepath.Join(dir, "scratch")
	os.Mkdir(work, 0o755)
	var log bytes.Buffer
	e := &steps.Env{Params: steps.Values{"run": cmd, "env": env}, Dir: work, Log: &log, CPUs: 3, Files: files}
	err := Kind{}.Run(ctx, e, newPorts(map[string]string{"in": in}), newPorts(map[string]string{"out": out}))
	return log.String(), out, err
}

func TestEnvironmentIsOnlyWhatTheKeyCovers(t *testing.T) {
	t.Setenv("SECRET_FROM_HOST", "leak")
	log, _, err := runStep(t, context.Background(), "env | sort", map[string]any{"MODE": "fast"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	got := strings.Join(names, " ")
	// bash adds PWD, SHLVL and _ itself.
	want := "BITFLOW_CPUS HOME LANG MODE PATH PWD SHLVL TMPDIR TZ _"
	if got != want {
		t.Errorf("environment names %q, want %q", got, want)
	}
	if strings.Contains(log, "leak") || !strings.Contains(log, "BITFLOW_CPUS=3") {
		t.Errorf("environment:\n%s", log)
	}
}

func TestInputsAreCopiesAndOutputsArePaths(t *testing.T) {
	log, out, err := runStep(t, context.Background(), "cat ${{ inputs.in }} > ${{ outputs.out }}; test ! -w ${{ inputs.in }} && echo read-only; echo more >> ${{ inputs.in }} || true", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "data" {
		t.Errorf("output %q", b)
	}
	if os.Geteuid() != 0 && !strings.Contains(log, "read-only") {
		t.Errorf("input copy is writable: %q", log)
	}
	// Whatever the command did to its copy, the original is untouched.
	in := filepath.Join(filepath.Dir(out), "input")
	if b, _ := os.ReadFile(in); string(b) != "data" {
		t.Errorf("the original input changed: %q", b)
	}
}

func TestFilesAreCopiedIntoTheWorkingDirectory(t *testing.T) {
	src := filepath.Join(t.TempDir(), "script.sh")
	os.WriteFile(src, []byte("echo from-script"), 0o644)
	log, _, err := runStep(t, context.Background(), "bash conf/script.sh; touch ${{ outputs.out }}", nil,
		[]steps.File{{Rel: "conf/script.sh", Path: src}})
	if err != nil || !strings.Contains(log, "from-script") {
		t.Errorf("%v %q", err, log)
	}
}

func TestPipelinesFailOnAnyStage(t *testing.T) {
	_, _, err := runStep(t, context.Background(), "false | cat; touch ${{ outputs.out }}", nil, nil)
	if err == nil {
		t.Error("a failing pipeline stage was ignored")
	}
}

func TestCancellationKillsTheProcessGroup(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "survived")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, _, err := runStep(t, ctx, "(sleep 1; touch "+marker+") & sleep 30", nil, nil)
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("cancellation waited for the command")
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a background process of a cancelled step survived")
	}
}

func TestBackgroundProcessesDoNotOutliveTheStep(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "survived")
	_, _, err := runStep(t, context.Background(), "(sleep 0.5; touch "+marker+") & touch ${{ outputs.out }}", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a background process outlived its step")
	}
}
