package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/bitflow-dev/bitflow/internal/version"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// slurm-step is what a Slurm job of `--executor slurm` runs: one step of
// the driver's plan, executed and committed by the runner exactly as a
// local run would (cache re-checked, action lock, objects then record).
func init() {
	register(&command{
		name:    "slurm-step",
		hidden:  true,
		args:    "",
		summary: "Run one step of a plan as a Slurm job (internal: submitted by --executor slurm).",
		help: `Internal: the command of the batch scripts that --executor slurm submits.
--spec is the plan spec the driver wrote (the workflow's bytes, --set values,
sweep points); --tasks lists "TASK STEP NODEKEY" lines, one per array task
($SLURM_ARRAY_TASK_ID; a plain job has one line). The step's upstream
results must be in the store. Exit status 0: the step's result is committed
(by this job or by another); 1: it failed.`,
		setup: func(c *ctx) func([]string) error {
			var spec, tasks, runID string
			c.fs.StringVar(&spec, "spec", "", "the plan spec (runs/RUN/slurm/spec.json)")
			c.fs.StringVar(&tasks, "tasks", "", "the submission's task list")
			c.fs.StringVar(&runID, "run", "", "the driver's run ID")
			return func(args []string) error { return slurmStep(c, spec, tasks, runID) }
		},
	})
}

func slurmStep(c *ctx, specPath, tasksPath, runID string) error {
	if specPath == "" || tasksPath == "" || runID == "" {
		return usageErr("--spec, --tasks and --run are required")
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return storeErr(fmt.Errorf("plan spec: %w", err))
	}
	var spec runner.PlanSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return storeErr(fmt.Errorf("plan spec %s: %w", specPath, err))
	}
	task := os.Getenv("SLURM_ARRAY_TASK_ID")
	name, key, err := findTask(tasksPath, task)
	if err != nil {
		return err
	}
	p, err := spec.Build(registry)
	if err != nil {
		return &exitError{ExitInvalid, fmt.Errorf("rebuilding the plan: %w", err)}
	}
	n := p.Node(name)
	if n == nil {
		return &exitError{ExitInvalid, fmt.Errorf("the plan has no step %q", name)}
	}
	keys, err := runner.NodeKeys(p)
	if err != nil {
		return &exitError{ExitInvalid, err}
	}
	if keys[n] != key {
		return &exitError{ExitInvalid, fmt.Errorf("step %s: the plan rebuilt here differs from the driver's (a file the workflow reads changed since submission, or the environment differs); run again", name)}
	}
	st, err := c.openStore()
	if err != nil {
		return err
	}
	cpus := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("SLURM_CPUS_PER_TASK")); err == nil && v > 0 {
		cpus = v
	}
	job := os.Getenv("SLURM_JOB_ID")
	if a, t := os.Getenv("SLURM_ARRAY_JOB_ID"), task; a != "" && t != "" {
		job = a + "_" + t
	}
	host, _ := os.Hostname()
	c.log.Info().Str("step", name).Str("job", job).Str("host", host).Int("cpus", cpus).Msg("slurm-step")
	runCtx, stop := signal.NotifyContext(c, os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &runner.Runner{
		Store: st, Jobs: 1, CPUs: cpus, Leases: true, LeaseJob: job,
		DebugHash: strings.Contains(os.Getenv("BITFLOW_DEBUG"), "hash"),
		Observe:   newRenderer(c).observe, Version: version.String(),
	}
	out, err := r.ExecuteStep(runCtx, p, name, runID)
	switch {
	case errors.Is(err, runner.ErrUpstreamMissing):
		return &exitError{ExitFailed, err}
	case err != nil:
		return storeErr(err)
	}
	switch out.Status {
	case store.StepRan, store.StepCached:
		return nil
	}
	c.reported = true // the renderer logged the failure with its log tail
	if out.Err != nil {
		return &exitError{ExitFailed, fmt.Errorf("step %s failed: %w", name, out.Err)}
	}
	return &exitError{ExitFailed, fmt.Errorf("step %s: %s", name, out.Status)}
}

// findTask returns the step name and structural key of a task.
func findTask(path, task string) (string, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", storeErr(fmt.Errorf("task list: %w", err))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			continue
		}
		if task == "" && len(lines) == 1 || f[0] == task {
			return f[1], f[2], nil
		}
	}
	return "", "", usageErr("task list %s has no task %q", path, task)
}
