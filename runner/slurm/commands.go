// Package slurm runs bitflow plans on a Slurm cluster: every step that
// misses the cache becomes an sbatch job (sweep points become job arrays),
// dependencies become afterok/aftercorr, and each job runs `bitflow
// slurm-step`, which re-checks the cache, takes the action's lock and
// commits into the shared store through the runner. The store is the source
// of truth; Slurm is only the transport. The driver (Executor) tracks its
// jobs with one squeue call per interval, cancels them on Ctrl-C, and
// re-attaches to jobs still in flight after its own crash.
package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"os/user"
	"strings"
)

// Commands are the Slurm client programs; tests may point them elsewhere.
type Commands struct {
	Sbatch, Squeue, Scancel, Scontrol string
}

// DefaultCommands are the programs on $PATH.
var DefaultCommands = Commands{Sbatch: "sbatch", Squeue: "squeue", Scancel: "scancel", Scontrol: "scontrol"}

// JobState is one job (or array task) as squeue lists it.
type JobState struct {
	ID     string // 123, or 123_4 for an array task
	Name   string
	State  string // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...
	Reason string // why pending, or how it ended (DependencyNeverSatisfied)
	Node   string
}

// Class groups job states by what the driver does about them.
type Class int

const (
	Active    Class = iota // pending or running: wait
	Succeeded              // COMPLETED: read the store
	Ended                  // failed, cancelled, timed out: report
)

// Classify returns the class of a Slurm job state.
func Classify(state string) Class {
	switch strings.TrimSuffix(state, "+") {
	case "COMPLETED":
		return Succeeded
	case "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED":
		return Ended
	}
	return Active
}

func run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return "", fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return out.String(), nil
}

// Submit runs sbatch --parsable with args and the script on stdin and
// returns the job ID.
func (c Commands) Submit(ctx context.Context, args []string, script string) (string, error) {
	out, err := run(ctx, script, c.Sbatch, append([]string{"--parsable"}, args...)...)
	if err != nil {
		return "", err
	}
	return parseSbatch(out)
}

// parseSbatch reads `sbatch --parsable` output: "JOBID" or "JOBID;CLUSTER".
func parseSbatch(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	id, _, _ := strings.Cut(line, ";")
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("sbatch: unexpected output %q", out)
	}
	return id, nil
}

// squeueFormat lists what the driver needs of every job, one per line,
// array tasks one per line (-r).
const squeueFormat = "%i|%j|%T|%r|%N"

// Queue lists every job of this user that Slurm still knows, in all
// states, with one squeue call: finished jobs stay listed for the
// cluster's MinJobAge.
func (c Commands) Queue(ctx context.Context) (map[string]JobState, error) {
	args := []string{"-h", "-r", "-t", "all", "-o", squeueFormat}
	if u, err := user.Current(); err == nil && u.Username != "" {
		args = append(args, "-u", u.Username)
	}
	out, err := run(ctx, "", c.Squeue, args...)
	if err != nil {
		return nil, err
	}
	return parseSqueue(out), nil
}

func parseSqueue(out string) map[string]JobState {
	jobs := map[string]JobState{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		j := JobState{ID: f[0], Name: f[1], State: f[2], Reason: f[3]}
		if len(f) > 4 {
			j.Node = f[4]
		}
		jobs[j.ID] = j
	}
	return jobs
}

// Cancel cancels jobs (IDs or array tasks).
func (c Commands) Cancel(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := run(ctx, "", c.Scancel, ids...)
	return err
}

// ExitCode returns a job's ExitCode field from scontrol, or "".
func (c Commands) ExitCode(ctx context.Context, id string) string {
	out, err := run(ctx, "", c.Scontrol, "show", "job", id)
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "ExitCode="); ok {
			return v
		}
	}
	return ""
}
