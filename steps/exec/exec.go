// Package exec is the `run:` step kind: a shell command with declared
// inputs, outputs, files and environment. The command runs in a private
// directory with a fixed environment, so that what it can see is what its key
// covers.
package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// Kind is the exec kind. Its Version covers everything fixed here that a
// command can observe: the shell and its options, the base environment and
// the layout of the working directory.
type Kind struct{}

// Version of the exec kind.
const Version = "1"

// basePath is the PATH commands get unless the workflow passes PATH through
// with `env: [PATH]` (which then enters the key).
const basePath = "/usr/local/bin:/usr/bin:/bin"

// killGrace is how long a cancelled command has between SIGTERM and SIGKILL.
const killGrace = 3 * time.Second

// Kind implements steps.Step.
func (Kind) Kind() string { return workflows.ExecKind }

// Version implements steps.Step.
func (Kind) Version() string { return Version }

// Params implements steps.Step. The parameters come from the step's own
// keys (`run:`, `env:`), not from `with:`.
func (Kind) Params() steps.Schema {
	return steps.Schema{
		Doc: "A shell command, written `run: COMMAND` rather than `uses:`. It runs under bash " +
			"(-e -o pipefail) in an empty working directory holding copies of the step's `files:`, " +
			"with ${{ inputs.NAME }} replaced by a read-only copy of the input and ${{ outputs.NAME }} " +
			"by the path where it must create that output (a file or a directory). The environment is " +
			"only PATH=" + basePath + ", HOME and TMPDIR (private directories), LANG=C.UTF-8, TZ=UTC, " +
			"BITFLOW_CPUS and the step's `env:`. A non-zero exit fails the step; stdout and stderr are " +
			"kept as its log (`bitflow show RUN STEP --log`).",
		Params: []steps.Param{
			{Name: "run", Type: steps.String, Required: true, Doc: "the command (the step's `run:`), after ${{ params.NAME }} substitution"},
			{Name: "env", Type: steps.Map, Doc: "environment variables (the step's `env:`); their values enter the key"},
		},
	}
}

// Run implements steps.Step.
func (Kind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	work := filepath.Join(env.Dir, "work")
	inDir := filepath.Join(env.Dir, "in")
	home := filepath.Join(env.Dir, "home")
	tmp := filepath.Join(env.Dir, "tmp")
	for _, d := range []string{work, inDir, home, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	inputPaths := map[string]string{}
	for _, name := range in.Names() {
		dst := filepath.Join(inDir, name)
		if err := copyReadOnly(in.Path(name), dst); err != nil {
			return fmt.Errorf("input %q: %w", name, err)
		}
		inputPaths[name] = dst
	}
	for _, f := range env.Files {
		dst := filepath.Join(work, filepath.FromSlash(f.Rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyTree(f.Path, dst); err != nil {
			return fmt.Errorf("file %s: %w", f.Rel, err)
		}
	}
	outputPaths := map[string]string{}
	for _, name := range out.Names() {
		outputPaths[name] = out.Path(name)
	}
	script, err := expandPaths(env.Params.String("run"), inputPaths, outputPaths)
	if err != nil {
		return err
	}
	shell, err := findShell()
	if err != nil {
		return err
	}
	// The command writes its log to a file directly: with a pipe, Wait would
	// also wait for background processes holding it, instead of returning
	// when the shell exits so that they can be killed.
	logFile, ok := env.Log.(*os.File)
	if !ok {
		f, err := os.Create(filepath.Join(env.Dir, "log"))
		if err != nil {
			return err
		}
		defer func() {
			f.Seek(0, io.SeekStart)
			io.Copy(env.Log, f)
			f.Close()
		}()
		logFile = f
	}
	cmd := osexec.Command(shell, "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = work
	cmd.Env = environment(env, home, tmp)
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group, so that cancelling kills the whole pipeline;
	// SIGKILL if bitflow itself dies, so that no command outlives a kill -9
	// of its runner and writes into a result that no one will commit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return runCommand(ctx, cmd)
}

func runCommand(ctx context.Context, cmd *osexec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the shell: %w", err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(killGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return ctx.Err()
	}
	// Whatever the command left running in the background goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	var exitErr *osexec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("command killed by signal %s", ws.Signal())
		}
		return fmt.Errorf("command exited with status %d", exitErr.ExitCode())
	}
	return err
}

// environment is the command's whole environment: fixed values, then the
// step's `env:` (which may override them, PATH included).
func environment(env *steps.Env, home, tmp string) []string {
	vars := map[string]string{
		"PATH":         basePath,
		"HOME":         home,
		"TMPDIR":       tmp,
		"LANG":         "C.UTF-8",
		"TZ":           "UTC",
		"BITFLOW_CPUS": strconv.Itoa(max(env.CPUs, 1)),
	}
	if env.Params.Has("env") {
		for k, v := range env.Params.Map("env") {
			vars[k] = fmt.Sprint(v)
		}
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// expandPaths replaces ${{ inputs.X }} and ${{ outputs.X }}; the loader has
// checked that every name exists, and params were substituted earlier.
func expandPaths(script string, inputs, outputs map[string]string) (string, error) {
	return workflows.Expand(script, func(e workflows.Expr) (string, bool, error) {
		var m map[string]string
		switch e.Scope {
		case "inputs":
			m = inputs
		case "outputs":
			m = outputs
		default:
			return "", false, fmt.Errorf("%s was not substituted", e)
		}
		p, ok := m[e.Name]
		if !ok {
			return "", false, fmt.Errorf("%s: the step has no such %s", e, e.Scope[:len(e.Scope)-1])
		}
		return p, true, nil
	})
}

// findShell is the path of bash, looked up once: exec steps run
// concurrently, and the first ones of a process used to race on a cached
// path.
var findShell = sync.OnceValues(func() (string, error) {
	for _, p := range []string{"/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("run steps need bash, which is not installed in /bin, /usr/bin or /usr/local/bin")
})

// copyReadOnly copies an input and removes write permission, so that a
// command that writes to its input fails loudly (unless it runs as root);
// either way it only ever changes its own copy, never the store.
func copyReadOnly(src, dst string) error {
	if err := copyTree(src, dst); err != nil {
		return err
	}
	return filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return nil // directories stay writable so that cleanup can remove them
		}
		return os.Chmod(p, fi.Mode().Perm()&^0o222)
	})
}

// copyTree copies a file or a directory.
func copyTree(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return copyFile(src, dst, fi.Mode().Perm()|0o200)
	}
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target, fi.Mode().Perm()|0o200)
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
