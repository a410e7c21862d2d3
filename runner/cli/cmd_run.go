package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bitflow-dev/bitflow/internal/version"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
)

// setHelp documents --set wherever it is accepted.
const setHelp = "override a workflow param: NAME=VALUE, VALUE read as YAML (NAME= sets the empty string; repeatable)"

type runFlags struct {
	sets      []string
	jobs      int
	cpus      int
	keepGoing bool
	force     []string
	verify    bool
	exec      execFlags
}

func init() {
	register(&command{
		name:    "run",
		args:    "WORKFLOW [STEP...]",
		summary: "Run a workflow: execute the steps whose results are not in the store.",
		help: `WORKFLOW is a workflow file, or the name of a shipped workflow (hello).
With STEP names, only those steps and what they need are run.

Each step's key covers its kind, parameters, input digests and, for run:
steps, its command, files and env. A step whose key has a result in the
store is not executed ("cached"). Ctrl-C stops running steps cleanly: nothing
is recorded for them and the next run continues from there.

With --json, stdout gets one JSON object when the run ends:
  {"run_id": ..., "status": ..., "steps": [{"name", "kind",
   "status": "ran"|"cached"|"failed"|"skipped", "action_id", "outputs": {NAME: DIGEST}}]}

With --executor slurm (or BITFLOW_EXECUTOR=slurm, or executor: slurm in the
workflow) every step that misses the cache becomes a Slurm job that runs
this bitflow binary on the cluster and commits into the store, which must
therefore be on a path every node shares. Steps ask for their kind's CPUs
and memory unless their resources: (cpus, mem, time, partition) say
otherwise. Ctrl-C cancels the jobs; a driver that died is simply run
again: it re-attaches to the jobs still in flight.

Examples:
  bitflow run workflows/hello.yaml
  bitflow run flow.yaml --set lr=0.001 -j 4
  bitflow run flow.yaml report --force report
  bitflow run flow.yaml --executor slurm --partition short --store /shared/bitflow`,
		setup: func(c *ctx) func([]string) error {
			rf := &runFlags{}
			c.fs.StringArrayVar(&rf.sets, "set", nil, setHelp)
			c.fs.IntVarP(&rf.jobs, "jobs", "j", runtime.NumCPU(), "how many steps may run at once")
			c.fs.IntVar(&rf.cpus, "cpus", 0, "CPU slots shared by running steps; a step holds its cpus: slots (default: --jobs)")
			c.fs.BoolVarP(&rf.keepGoing, "keep-going", "k", false, "after a failure, still run every step that does not depend on it")
			c.fs.StringSliceVar(&rf.force, "force", nil, "re-execute these steps even if cached (repeatable, or comma-separated)")
			c.fs.BoolVar(&rf.verify, "verify", false, "re-execute cached steps and fail any whose outputs differ (changes nothing)")
			rf.exec.add(c.fs, "")
			c.addJSON("print the run as one JSON object on stdout")
			return func(args []string) error { return runCmd(c, rf, args) }
		},
	})
}

// runJSON is the shape of `bitflow run --json`.
type runJSON struct {
	RunID    string         `json:"run_id"`
	Workflow string         `json:"workflow"`
	Status   string         `json:"status"`
	Steps    []stepRunJSON  `json:"steps"`
	Counts   map[string]int `json:"counts"`
}

type stepRunJSON struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Status   string            `json:"status"`
	ActionID string            `json:"action_id,omitempty"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Error    string            `json:"error,omitempty"`
	Duration float64           `json:"duration_s,omitempty"`
}

func runCmd(c *ctx, rf *runFlags, args []string) error {
	if len(args) == 0 {
		return usageErr("missing WORKFLOW")
	}
	if rf.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	p, err := plan(args[0], rf.sets, args[1:])
	if err != nil {
		return err
	}
	force, err := forcedSteps(p, rf.force)
	if err != nil {
		return err
	}
	executor, err := rf.exec.build(c, p.Workflow, runner.SpecOf(p))
	if err != nil {
		return err
	}
	if err := checkSlurmRun(executor, rf); err != nil {
		return err
	}
	st, err := c.openStore()
	if err != nil {
		return err
	}
	runCtx, stop := signal.NotifyContext(c, os.Interrupt, syscall.SIGTERM)
	defer stop()
	finished := make(chan struct{})
	defer close(finished) // before stop(): the end of the command is no interruption
	go func() {
		<-runCtx.Done()
		select {
		case <-finished:
			return
		default:
		}
		if c.Err() == nil {
			stop() // a second Ctrl-C now ends bitflow at once
			c.log.Warn().Msg("interrupted: stopping running steps (Ctrl-C again to abort at once)")
		}
	}()
	r := &runner.Runner{
		Store: st, Jobs: rf.jobs, CPUs: rf.cpus, KeepGoing: rf.keepGoing, Force: force, Verify: rf.verify,
		DebugHash: strings.Contains(os.Getenv("BITFLOW_DEBUG"), "hash"),
		Observe:   newRenderer(c).observe, Version: version.String(),
		Executor: executor,
	}
	start := time.Now()
	rec, err := r.Execute(runCtx, p)
	if rec == nil {
		return storeErr(err)
	}
	counts := map[string]int{}
	for _, s := range rec.Steps {
		counts[s.Status]++
	}
	if c.json {
		if jerr := c.printJSON(toRunJSON(rec, counts)); jerr != nil {
			return jerr
		}
	}
	summary := c.log.Info()
	switch rec.Status {
	case store.RunFailed:
		summary = c.log.Error()
	case store.RunInterrupted:
		summary = c.log.Warn()
	}
	summary.Str("run", rec.ID).Msgf("%s: %s in %s", rec.Status, summarize(counts), since(start))
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		var stopped []string
		for _, s := range rec.Steps {
			if s.Status == store.StepFailed {
				stopped = append(stopped, s.Name)
			}
		}
		msg := "interrupted"
		if len(stopped) > 0 {
			msg += fmt.Sprintf(": stopped %s before it finished (nothing recorded); run again to continue", strings.Join(stopped, ", "))
		}
		return &exitError{ExitFailed, errors.New(msg)}
	case errors.Is(err, runner.ErrStepsFailed):
		var failed []string
		for _, s := range rec.Steps {
			if s.Status == store.StepFailed {
				failed = append(failed, s.Name)
			}
		}
		c.reported = true // each failure was logged where it happened
		return &exitError{ExitFailed, fmt.Errorf("failed: %s", strings.Join(failed, ", "))}
	case err != nil:
		return storeErr(err)
	}
	return nil
}

// forcedSteps checks --force names: each must be a step that this run
// executes (a target or something a target needs), or forcing it would
// silently do nothing.
func forcedSteps(p *runner.Plan, names []string) (map[string]bool, error) {
	force := map[string]bool{}
	for _, f := range names {
		n := p.Node(f)
		if n == nil {
			return nil, usageErr("--force %s: workflow %q has no step %q", f, p.Workflow.Name, f)
		}
		if !p.Selected[n] {
			return nil, usageErr("--force %s: step %q is not part of this run (the targets %s do not need it); name it as a target too", f, f, strings.Join(p.Targets, ", "))
		}
		force[f] = true
	}
	return force, nil
}

func toRunJSON(rec *store.RunRecord, counts map[string]int) runJSON {
	out := runJSON{RunID: rec.ID, Workflow: rec.Workflow, Status: rec.Status, Counts: counts, Steps: []stepRunJSON{}}
	for _, s := range rec.Steps {
		j := stepRunJSON{Name: s.Name, Kind: s.Kind, Status: s.Status, ActionID: s.ActionID, Reason: s.Reason, Error: s.Error, Duration: s.Duration}
		if len(s.Outputs) > 0 {
			j.Outputs = map[string]string{}
			for name, o := range s.Outputs {
				j.Outputs[name] = string(o.Digest)
			}
		}
		out.Steps = append(out.Steps, j)
	}
	return out
}

func summarize(counts map[string]int) string {
	total := 0
	for _, n := range counts {
		total += n
	}
	parts := []string{fmt.Sprintf("%d steps", total)}
	for _, s := range []string{store.StepRan, store.StepCached, store.StepFailed, store.StepSkipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// renderer turns runner events into log lines.
type renderer struct {
	c        *ctx
	lastProg map[string]time.Time
	mu       chan struct{}
}

func newRenderer(c *ctx) *renderer {
	return &renderer{c: c, lastProg: map[string]time.Time{}, mu: make(chan struct{}, 1)}
}

// progressEvery throttles progress lines per step.
const progressEvery = 2 * time.Second

func (r *renderer) observe(ev runner.Event) {
	r.mu <- struct{}{}
	defer func() { <-r.mu }()
	log := r.c.log
	switch ev.Type {
	case runner.StepStarted:
		log.Info().Str("step", ev.Step).Str("kind", ev.Kind).Str("reason", ev.Reason).Msg("run")
	case runner.StepRan:
		l := log.Info().Str("step", ev.Step).Str("took", fmtDuration(ev.Duration))
		for _, name := range sortedOutputNames(ev.Outputs) {
			l = l.Str(name, ev.Outputs[name].Digest.Short())
		}
		l.Msg("done")
	case runner.StepCached:
		l := log.Debug().Str("step", ev.Step)
		if ev.Reason != "" {
			l = l.Str("reason", ev.Reason)
		}
		l.Msg("cached")
	case runner.StepFailed:
		if errors.Is(ev.Err, context.Canceled) {
			log.Warn().Str("step", ev.Step).Str("after", fmtDuration(ev.Duration)).Msg("stopped; nothing recorded")
			return
		}
		l := log.Error().Str("step", ev.Step).Err(ev.Err)
		if ev.LogTail != "" && r.c.logFormat == "json" {
			l = l.Str("log_tail", ev.LogTail)
		}
		l.Msg("failed")
		if ev.LogTail != "" && r.c.logFormat != "json" {
			fmt.Fprintf(r.c.stderr, "    | %s\n", strings.ReplaceAll(ev.LogTail, "\n", "\n    | "))
		}
	case runner.StepSkipped:
		log.Debug().Str("step", ev.Step).Str("reason", ev.Reason).Msg("skipped")
	case runner.StepWaiting:
		log.Info().Str("step", ev.Step).Msg(ev.Msg)
	case runner.StepProgress:
		if time.Since(r.lastProg[ev.Step]) < progressEvery {
			return
		}
		r.lastProg[ev.Step] = time.Now()
		p := ev.Progress
		l := log.Info().Str("step", ev.Step)
		if p.Total > 0 {
			l = l.Str("progress", fmt.Sprintf("%.0f/%.0f %s", p.Done, p.Total, p.Unit))
		}
		keys := make([]string, 0, len(p.Fields))
		for k := range p.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			l = l.Float64(k, p.Fields[k])
		}
		l.Msg(p.Message)
	case runner.Warning:
		log.Warn().Msg(ev.Msg)
	case runner.Info:
		log.Info().Msg(ev.Msg)
	case runner.HashDebug:
		log.Info().Str("step", ev.Step).Str("action", ev.ActionID).Msg("manifest:\n" + indent(strings.TrimRight(ev.Msg, "\n"), "    "))
	}
}

func sortedOutputNames(m map[string]store.Output) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
