package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bitflow-dev/bitflow/explorations"
	"github.com/bitflow-dev/bitflow/internal/version"
	"github.com/bitflow-dev/bitflow/internal/yamlnode"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/workflows"
)

// sweepJSON is the shape of `bitflow sweep FILE --json`.
type sweepJSON struct {
	RunID   string            `json:"run_id"`
	Status  string            `json:"status"`
	Points  []sweepPointJSON  `json:"points"`
	Results *runner.Results   `json:"results"`
	Counts  map[string]int    `json:"counts"`
	Files   map[string]string `json:"files,omitempty"`
}

type sweepPointJSON struct {
	Name   string         `json:"name"`
	ID     string         `json:"id"`
	Status string         `json:"status"`
	Params map[string]any `json:"params"`
}

// runNameOverride names a point in the reference runner; it is no
// workflow param.
const runNameOverride = "run_name_override"

func sweepRun(c *ctx, sf *sweepFlags, ref string) error {
	if sf.jobs < 1 {
		return usageErr("--jobs must be at least 1")
	}
	x, err := expandExploration(ref)
	if err != nil {
		return err
	}
	if err := x.Check(); err != nil {
		return &exitError{ExitInvalid, fmt.Errorf("%w\n(bitflow runs no sweep that relies on the reference runner's defects)", err)}
	}
	if len(x.Points) == 0 {
		return &exitError{ExitInvalid, fmt.Errorf("%s: the exploration has no points", x.File)}
	}
	specs, order := sweepPoints(c, x)
	w, err := sweepWorkflow(x, sf.workflow)
	if err != nil {
		return err
	}
	sw, err := runner.NewSweep(w, registry, x.Stem, specs, runner.Options{})
	if err != nil {
		return sweepPlanErr(c, x, err)
	}
	executor, err := sf.exec.build(c, w, runner.SweepSpecOf(w, x.Stem, specs, runner.Options{}))
	if err != nil {
		return err
	}
	st, err := c.openStore()
	if err != nil {
		return err
	}
	shared := 0
	for _, n := range sw.Plan.Nodes {
		if !strings.Contains(n.Name, "@") {
			shared++
		}
	}
	c.log.Info().Str("workflow", w.Name).Msgf("sweep %s: %d points, %d steps (%d shared by every point)", x.Stem, len(specs), len(sw.Plan.Nodes), shared)

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
			c.log.Warn().Msg("interrupted: stopping running steps (Ctrl-C again to abort at once); run the sweep again to continue")
		}
	}()
	start := time.Now()
	progress := sw.Progress(start)
	rend := newRenderer(c)
	var runLog *store.RunLog
	r := &runner.Runner{
		Store: st, Jobs: sf.jobs, CPUs: sf.cpus, KeepGoing: !sf.failFast,
		DebugHash: strings.Contains(os.Getenv("BITFLOW_DEBUG"), "hash"),
		Version:   version.String(),
		Executor:  executor,
		Observe: func(ev runner.Event) {
			rend.observe(ev)
			for _, d := range progress.Observe(ev, time.Now()) {
				logPointDone(c, d)
			}
		},
		Prepare: func(run *store.RunLog) error {
			runLog = run
			rec := &store.SweepRecord{File: x.File, Stem: x.Stem, Workflow: w.File, Report: x.Report, ParamOrder: order, Points: sw.Record()}
			c.log.Info().Str("run", run.ID).Msg("sweep started")
			return run.WriteSweep(rec)
		},
	}
	rec, err := r.Execute(runCtx, sw.Plan)
	if rec == nil {
		return storeErr(err)
	}
	res, files, rerr := writeResults(st, runLog, rec)
	if rerr != nil {
		return storeErr(rerr)
	}
	counts := map[string]int{}
	for _, row := range res.Rows {
		counts[row.Status]++
	}
	if c.json {
		out := sweepJSON{RunID: rec.ID, Status: rec.Status, Results: res, Counts: counts, Files: files}
		sr, _ := st.ReadSweep(rec.ID)
		for i, row := range res.Rows {
			out.Points = append(out.Points, sweepPointJSON{Name: row.Point, ID: row.ID, Status: row.Status, Params: sr.Points[i].Params})
		}
		if jerr := c.printJSON(out); jerr != nil {
			return jerr
		}
	} else {
		c.printf("%s", markdownTable(res))
	}
	c.log.Info().Str("run", rec.ID).Str("results", files["md"]).Msgf("sweep %s: %s in %s", rec.Status, summarizePoints(counts, len(res.Rows)), since(start))
	return sweepExit(c, rec, res, err)
}

// sweepPoints turns the expansion into the runner's points: duplicates
// (the same params twice) run once, colliding names get a hash suffix
// (with a warning), and ${RUN_NAME} is substituted. order lists the params
// in the order the exploration first gives them.
func sweepPoints(c *ctx, x *explorations.Exploration) (specs []runner.PointSpec, order []string) {
	seen := map[string]bool{}
	var unique []explorations.Point
	for _, p := range x.Points {
		if id := p.ID(); !seen[id] {
			seen[id] = true
			unique = append(unique, p)
		}
	}
	if d := len(x.Points) - len(unique); d > 0 {
		c.log.Warn().Msgf("%d points repeat an earlier point's params exactly; each runs once", d)
	}
	points, collided := explorations.Disambiguate(unique)
	for _, name := range collided {
		c.log.Warn().Msgf("several points are named %s (the reference runner would run only the first); bitflow runs each, named with a hash suffix", name)
	}
	for _, p := range points {
		params := map[string]any{}
		for _, kv := range p.Substituted() {
			if kv.Key == runNameOverride {
				continue
			}
			params[kv.Key] = plainValue(kv.Value)
			if !contains(order, kv.Key) {
				order = append(order, kv.Key)
			}
		}
		specs = append(specs, runner.PointSpec{Name: p.Name, ID: p.ID(), Params: params})
	}
	return specs, order
}

// plainValue turns an exploration value into a workflow param value.
func plainValue(v any) any {
	switch x := v.(type) {
	case explorations.Map:
		m := make(map[string]any, len(x))
		for _, kv := range x {
			m[kv.Key] = plainValue(kv.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = plainValue(it)
		}
		return out
	}
	return v
}

// sweepWorkflow loads the workflow the points run: --workflow as given, or
// the exploration's workflow: relative to the exploration file, else as a
// shipped workflow's name (a shipped exploration's ../workflows/X.yaml is
// the shipped workflow X outside a checkout).
func sweepWorkflow(x *explorations.Exploration, flag string) (*workflows.Workflow, error) {
	if flag != "" {
		return loadWorkflow(flag)
	}
	if x.Workflow == "" {
		return nil, &exitError{ExitInvalid, fmt.Errorf("%s: the exploration names no workflow: add `workflow: FILE` or give --workflow", x.File)}
	}
	path := x.Workflow
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(x.File), path)
	}
	if _, err := os.Stat(path); err == nil {
		return loadWorkflow(path)
	}
	for _, name := range []string{x.Workflow, filepath.Base(x.Workflow)} {
		if _, ok := workflows.Shipped(name); ok {
			return loadWorkflow(name)
		}
	}
	pos := keyPositions(x.File)["workflow"]
	return nil, &exitError{ExitInvalid, &explorations.Error{File: x.File, Line: pos.Line, Col: pos.Col, Key: "workflow",
		Msg: fmt.Sprintf("no file %s and no shipped workflow %q (shipped: %s)", path, x.Workflow, joinNames(workflows.ShippedNames()))}}
}

// sweepPlanErr explains why the points cannot be planned: unknown params
// at their place in the exploration, a rejected value with its point.
func sweepPlanErr(c *ctx, x *explorations.Exploration, err error) error {
	var ue *runner.UnknownParamsError
	if errors.As(err, &ue) {
		positions := keyPositions(x.File)
		known := "it has none"
		if len(ue.Known) > 0 {
			known = "its params are " + strings.Join(ue.Known, ", ")
		}
		var errs explorations.Errors
		for _, name := range ue.Names {
			pos := positions[name]
			errs = append(errs, &explorations.Error{File: x.File, Line: pos.Line, Col: pos.Col, Key: name,
				Msg: fmt.Sprintf("workflow %q has no param %q; %s", ue.Workflow, name, known)})
		}
		sort.SliceStable(errs, func(i, j int) bool {
			return errs[i].Line < errs[j].Line || errs[i].Line == errs[j].Line && errs[i].Col < errs[j].Col
		})
		if len(errs) == 1 {
			return &exitError{ExitInvalid, errs[0]}
		}
		return &exitError{ExitInvalid, errs}
	}
	var pe *runner.PointError
	if errors.As(err, &pe) {
		c.log.Error().Str("point", pe.Point).Msg("the workflow rejects this point's params")
		var we workflows.Errors
		if errors.As(pe.Err, &we) {
			return &exitError{ExitInvalid, pe.Err}
		}
		return &exitError{ExitInvalid, err}
	}
	return err
}

// keyPositions finds where each key is first written in an exploration
// file, for messages about params (the expansion keeps values, not
// places).
func keyPositions(file string) map[string]yamlnode.Pos {
	out := map[string]yamlnode.Pos{}
	data, err := os.ReadFile(file)
	if err != nil {
		if b, _, ok := explorations.Shipped(file); ok {
			data = b
		}
	}
	docs, _ := yamlnode.Parse(data)
	var walk func(n *yamlnode.Node)
	walk = func(n *yamlnode.Node) {
		if n == nil {
			return
		}
		for _, e := range n.Entries {
			if _, ok := out[e.Key]; !ok {
				out[e.Key] = e.KeyPos
			}
			walk(e.Value)
		}
		for _, it := range n.Items {
			walk(it)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return out
}

func logPointDone(c *ctx, d runner.PointDone) {
	var l = c.log.Info()
	switch d.Status {
	case store.StepCached:
		l = c.log.Debug()
	case store.StepFailed, store.StepSkipped:
		l = c.log.Warn()
	}
	l = l.Str("points", fmt.Sprintf("%d/%d", d.Done, d.Total)).Str("point", d.Name)
	if len(d.Failed) > 0 {
		l = l.Strs("failed", d.Failed)
	}
	if d.ETA > 0 {
		l = l.Str("eta", fmtDuration(d.ETA))
	}
	l.Msg("point " + d.Status)
}

func summarizePoints(counts map[string]int, total int) string {
	parts := []string{fmt.Sprintf("%d points", total)}
	for _, s := range []string{store.StepRan, store.StepCached, store.StepFailed, store.StepSkipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// sweepExit turns the run's outcome into the exit code, naming the points
// that did not succeed.
func sweepExit(c *ctx, rec *store.RunRecord, res *runner.Results, err error) error {
	var bad []string
	for _, row := range res.Rows {
		if row.Status == store.StepFailed || row.Status == store.StepSkipped {
			bad = append(bad, row.Point)
		}
	}
	switch {
	case errors.Is(err, runner.ErrInterrupted):
		return &exitError{ExitFailed, fmt.Errorf("interrupted with %d of %d points unfinished; run the sweep again to continue", len(bad), len(res.Rows))}
	case errors.Is(err, runner.ErrStepsFailed):
		c.reported = true // each failure was logged where it happened
		c.log.Error().Str("run", rec.ID).Strs("points", bad).Msg("points did not succeed; run the sweep again to retry them")
		return &exitError{ExitFailed, fmt.Errorf("%d of %d points did not succeed", len(bad), len(res.Rows))}
	case err != nil:
		return storeErr(err)
	}
	return nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func joinNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
