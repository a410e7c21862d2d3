package cli

import (
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/bitflow-dev/bitflow/internal/version"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/slurm"
	"github.com/bitflow-dev/bitflow/workflows"
)

// execFlags choose where a run's steps execute.
type execFlags struct {
	executor    string
	partition   string
	maxParallel int
	poll        time.Duration
	sbatchOpts  []string
}

func (f *execFlags) add(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&f.executor, "executor", "", prefix+"where steps run: local or slurm (env BITFLOW_EXECUTOR; else the workflow's executor:; else local)")
	fs.StringVar(&f.partition, "partition", os.Getenv("BITFLOW_SLURM_PARTITION"), prefix+"slurm: partition for steps whose resources: name none (env BITFLOW_SLURM_PARTITION)")
	fs.IntVar(&f.maxParallel, "max-parallel", 8, prefix+"slurm: how many tasks of one job array (a sweep's points) run at once")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, prefix+"slurm: how often to ask squeue about the jobs")
	fs.StringArrayVar(&f.sbatchOpts, "sbatch-opt", splitOpts(os.Getenv("BITFLOW_SLURM_OPTIONS")), prefix+"slurm: extra sbatch option for every job, e.g. --account=X (repeatable; env BITFLOW_SLURM_OPTIONS, space-separated)")
}

func splitOpts(s string) []string { return strings.Fields(s) }

// which returns the executor name chosen by flag, env or workflow.
func (f *execFlags) which(w *workflows.Workflow) (string, error) {
	name := f.executor
	if name == "" {
		name = os.Getenv("BITFLOW_EXECUTOR")
	}
	if name == "" {
		name = w.Executor
	}
	switch name {
	case "", "local":
		return "local", nil
	case "slurm":
		return "slurm", nil
	}
	return "", usageErr("--executor %q: expected local or slurm", name)
}

// build returns the runner's Executor (nil: local) for a plan made from
// spec.
func (f *execFlags) build(c *ctx, w *workflows.Workflow, spec *runner.PlanSpec) (runner.Executor, error) {
	name, err := f.which(w)
	if err != nil || name == "local" {
		return nil, err
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return nil, usageErr("--executor slurm: sbatch not found on PATH (the Slurm client tools are needed on the machine that runs bitflow)")
	}
	if f.maxParallel < 1 {
		return nil, usageErr("--max-parallel must be at least 1")
	}
	if f.poll < 100*time.Millisecond {
		return nil, usageErr("--poll must be at least 100ms")
	}
	c.log.Info().Str("executor", "slurm").Msg("steps that miss the cache run as Slurm jobs; the store must be on a path every node shares")
	return &slurm.Executor{
		Bin:         os.Getenv("BITFLOW_SLURM_BIN"),
		Spec:        spec,
		Partition:   f.partition,
		MaxParallel: f.maxParallel,
		Poll:        f.poll,
		Options:     f.sbatchOpts,
		Version:     version.String(),
	}, nil
}

// checkSlurmRun rejects what the Slurm executor does not do.
func checkSlurmRun(x runner.Executor, rf *runFlags) error {
	if x == nil {
		return nil
	}
	if len(rf.force) > 0 || rf.verify {
		return usageErr("--force and --verify run on the local executor only")
	}
	return nil
}
