package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

// process takes one node from its key to its outcome: a cache hit, or an
// execution under the action's lock.
func (e *execution) process(ctx context.Context, n *Node) *result {
	r := e.r
	kind := n.Kind.Kind()
	key, inputs, err := keyFor(n, func(up *Node) map[string]store.Output { return e.resultOf(up).outputs })
	if err != nil {
		return e.fail(n, "", err, "")
	}
	manifest, err := key.Manifest()
	if err != nil {
		return e.fail(n, "", fmt.Errorf("key: %w", err), "")
	}
	id := ActionID(manifest)
	if r.DebugHash {
		r.emit(Event{Type: HashDebug, Step: n.Name, Kind: kind, ActionID: id, Msg: manifest})
	}
	forced := r.Force[n.Name]
	reason := "forced (--force)"
	var cached *store.ActionRecord
	if !forced {
		var why string
		cached, why = e.lookup(n, id)
		switch {
		case cached != nil && !r.Verify:
			return e.hit(n, cached, "")
		case cached != nil:
			reason = "--verify: re-executing a cached step"
		case why != "":
			reason = why
		default:
			reason = e.history.reason(n.Name, manifest)
		}
	}
	lock, err := r.Store.LockAction(ctx, id, func() {
		r.emit(Event{Type: StepWaiting, Step: n.Name, Kind: kind, ActionID: id, Msg: e.waitingMsg(id)})
	})
	if err != nil {
		return e.interruptedOr(ctx, n, id, err)
	}
	defer lock.Unlock()
	if r.Leases {
		defer e.holdLease(id, n)()
	}
	if !forced && !r.Verify {
		// Whoever held the lock may have just committed this very action.
		if rec, _ := e.lookup(n, id); rec != nil {
			return e.hit(n, rec, "computed by a concurrent run")
		}
	}
	slots := e.cpusFor(n)
	if err := e.cpu.Acquire(ctx, int64(slots)); err != nil {
		return e.interruptedOr(ctx, n, id, err)
	}
	defer e.cpu.Release(int64(slots))

	if e.run != nil {
		if err := e.run.Append(store.Event{Type: store.EventStepStarted, Step: &store.StepRecord{Name: n.Name, Kind: kind, ActionID: id, Reason: reason}}); err != nil {
			return e.fail(n, id, fmt.Errorf("run journal: %w", err), "")
		}
	}
	r.emit(Event{Type: StepStarted, Step: n.Name, Kind: kind, ActionID: id, Reason: reason})
	res := e.runAction(ctx, n, id, manifest, inputs, slots, cached)
	res.reason = reason
	e.journalDone(n, &res.result)
	switch res.status {
	case store.StepRan:
		r.emit(Event{Type: StepRan, Step: n.Name, Kind: kind, ActionID: id, Duration: res.duration, Outputs: res.outputs, Reason: reason})
	case store.StepFailed:
		r.emit(Event{Type: StepFailed, Step: n.Name, Kind: kind, ActionID: id, Err: res.err, LogTail: res.logTail, Duration: res.duration})
	}
	return &res.result
}

// keyFor composes a node's key from its upstream outputs.
func keyFor(n *Node, outputsOf func(*Node) map[string]store.Output) (*Key, map[string]store.Output, error) {
	key := &Key{Kind: n.Kind.Kind(), Version: n.Kind.Version(), Files: n.Files, Inputs: map[string]store.Digest{}}
	inputs := map[string]store.Output{}
	for _, in := range n.Inputs {
		o, ok := outputsOf(in.From)[in.Output]
		if !ok {
			return nil, nil, fmt.Errorf("input %q: step %q produced no output %q", in.Name, in.From.Name, in.Output)
		}
		key.Inputs[in.Name] = o.Digest
		inputs[in.Name] = o
	}
	if key.Kind == execKind {
		key.Command, key.Env = n.Params.String("run"), n.Env
	} else {
		key.Params = map[string]any{}
		for name, v := range n.Params {
			if p := n.Schema.Param(name); p == nil || !p.Meta {
				key.Params[name] = v
			}
		}
	}
	return key, inputs, nil
}

// lookup returns the verified record of an action, or nil and, if a record
// existed but could not be used, why.
func (e *execution) lookup(n *Node, id string) (*store.ActionRecord, string) {
	rec, err := e.r.Store.ReadAction(id)
	if err != nil {
		return nil, ""
	}
	for _, name := range n.Outputs {
		if _, ok := rec.Outputs[name]; !ok {
			return nil, fmt.Sprintf("the cached result has no output %q", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rec.Outputs)) {
		if err := e.r.Store.VerifyOutput(rec.Outputs[name]); err != nil {
			e.r.emit(Event{Type: Warning, Step: n.Name, Msg: fmt.Sprintf("step %s: cached output %q: %v; recomputing", n.Name, name, err)})
			return nil, fmt.Sprintf("cached output %q was damaged (%v)", name, err)
		}
	}
	return rec, ""
}

func (e *execution) hit(n *Node, rec *store.ActionRecord, reason string) *result {
	res := &result{status: store.StepCached, actionID: rec.ActionID, outputs: selectOutputs(rec.Outputs, n.Outputs), log: rec.Log, reason: reason}
	e.journalDone(n, res)
	e.r.emit(Event{Type: StepCached, Step: n.Name, Kind: n.Kind.Kind(), ActionID: rec.ActionID, Outputs: res.outputs, Reason: reason})
	return res
}

// selectOutputs keeps the outputs the step declares now (an exec step may
// declare fewer than a record of the same command holds).
func selectOutputs(all map[string]store.Output, names []string) map[string]store.Output {
	out := make(map[string]store.Output, len(names))
	for _, n := range names {
		out[n] = all[n]
	}
	return out
}

func (e *execution) fail(n *Node, id string, err error, tail string) *result {
	res := &result{status: store.StepFailed, actionID: id, err: err}
	e.journalDone(n, res)
	e.r.emit(Event{Type: StepFailed, Step: n.Name, Kind: n.Kind.Kind(), ActionID: id, Err: err, LogTail: tail})
	return res
}

func (e *execution) interruptedOr(ctx context.Context, n *Node, id string, err error) *result {
	if ctx.Err() != nil {
		res := &result{status: store.StepSkipped, actionID: id, reason: "not started: the run was interrupted"}
		e.journalDone(n, res)
		e.r.emit(Event{Type: StepSkipped, Step: n.Name, Kind: n.Kind.Kind(), Reason: res.reason})
		return res
	}
	return e.fail(n, id, err, "")
}

// actionResult is a result plus what only the executing goroutine knows.
type actionResult struct {
	result
	logTail string
}

// runAction executes a step in a scratch directory and commits its outputs:
// objects first, the action record last. With cached set (--verify) it
// compares instead of committing.
func (e *execution) runAction(ctx context.Context, n *Node, id, manifest string, inputs map[string]store.Output, slots int, cached *store.ActionRecord) (res actionResult) {
	st := e.r.Store
	start := time.Now()
	res.actionID = id
	failf := func(err error) actionResult {
		res.status, res.err, res.duration = store.StepFailed, err, time.Since(start)
		if ctx.Err() != nil {
			res.err = fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return res
	}
	scratch, err := st.TempDir("step-" + id[:12] + "-")
	if err != nil {
		return failf(err)
	}
	defer os.RemoveAll(scratch)
	work, outDir, inDir := filepath.Join(scratch, "work"), filepath.Join(scratch, "out"), filepath.Join(scratch, "in")
	for _, d := range []string{work, outDir, inDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return failf(err)
		}
	}
	in := &inputSet{paths: map[string]string{}, digests: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		o := inputs[name]
		path := st.ObjectPath(o.Digest)
		if o.Type == store.TypeTree {
			path = filepath.Join(inDir, name)
			err = st.Materialize(o, path)
		} else {
			err = st.VerifyOutput(o)
		}
		if err != nil {
			return failf(fmt.Errorf("input %q: %w", name, err))
		}
		in.names = append(in.names, name)
		in.paths[name], in.digests[name] = path, string(o.Digest)
	}
	files, err := e.snapshotFiles(n)
	if err != nil {
		return failf(err)
	}
	logPath := filepath.Join(scratch, "log")
	logf, err := os.Create(logPath)
	if err != nil {
		return failf(err)
	}
	metrics := &metricSet{m: map[string]float64{}}
	partial := st.PartialPath(id)
	if cached != nil {
		// --verify recomputes from scratch: resuming from saved progress
		// would check nothing.
		partial = filepath.Join(scratch, "partial")
	}
	env := &steps.Env{
		Params: n.Params, Files: files, Dir: work, Partial: partial, CPUs: slots, Log: logf,
		Progress: func(p steps.Progress) {
			e.r.emit(Event{Type: StepProgress, Step: n.Name, Kind: n.Kind.Kind(), ActionID: id, Progress: &p})
		},
		Metrics: metrics.add,
	}
	out := &outputSet{dir: outDir, names: n.Outputs}
	runErr := n.Kind.Run(ctx, env, in, out)
	logf.Close()
	res.logTail = LogTail(logPath, 20)
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > 0 {
		if lo, err := st.PutPath(logPath); err == nil {
			res.log = &lo
		}
	}
	if runErr != nil {
		return failf(runErr)
	}
	res.outputs = map[string]store.Output{}
	for _, name := range n.Outputs {
		p := out.Path(name)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return failf(fmt.Errorf("output %q was not created (the step must write it at ${{ outputs.%s }})", name, name))
		}
		o, err := st.PutPath(p)
		if err != nil {
			return failf(fmt.Errorf("output %q: %w", name, err))
		}
		res.outputs[name] = o
	}
	res.duration = time.Since(start)
	if cached != nil {
		return e.compare(n, res, cached)
	}
	rec := &store.ActionRecord{
		ActionID: id, Kind: n.Kind.Kind(), KindVersion: n.Kind.Version(), Manifest: manifest,
		Outputs: res.outputs, Log: res.log, Metrics: metrics.snapshot(), Started: start.UTC(),
		Duration: res.duration.Seconds(),
		Producer: store.Producer{Version: e.r.Version, Host: e.host, Workflow: e.p.Workflow.Name, Step: n.Name, RunID: e.runID},
	}
	if err := st.WriteAction(rec); err != nil {
		return failf(err)
	}
	_ = st.RemovePartial(id)
	res.status = store.StepRan
	return res
}

// compare is --verify's check of a re-execution against the cached result.
// Measurement outputs are compared without their timing fields when the
// kind can remove them, and not at all otherwise.
func (e *execution) compare(n *Node, res actionResult, cached *store.ActionRecord) actionResult {
	var diffs []string
	for _, name := range n.Outputs {
		got, want := res.outputs[name], cached.Outputs[name]
		if got.Digest == want.Digest {
			continue
		}
		if measurement(n, name) {
			same, err := e.sameMeasurement(n, name, got, want)
			if err != nil {
				diffs = append(diffs, fmt.Sprintf("%s: %v", name, err))
			} else if !same {
				diffs = append(diffs, fmt.Sprintf("%s: differs beyond its timings", name))
			}
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: cached %s, now %s", name, want.Digest.Short(), got.Digest.Short()))
	}
	if len(diffs) > 0 {
		res.status = store.StepFailed
		res.err = fmt.Errorf("not reproducible: %s", strings.Join(diffs, "; "))
		return res
	}
	res.status = store.StepRan
	return res
}

func measurement(n *Node, output string) bool {
	for _, p := range n.Schema.Outputs {
		if p.Name == output {
			return p.Measurement
		}
	}
	return false
}

// sameMeasurement compares two versions of a measurement output without
// their timings; a kind that cannot remove them has its measurements
// accepted as they are.
func (e *execution) sameMeasurement(n *Node, name string, a, b store.Output) (bool, error) {
	norm, ok := n.Kind.(steps.Normalizer)
	if !ok || a.Type != store.TypeFile || b.Type != store.TypeFile {
		return true, nil
	}
	ab, err := e.r.Store.ReadObject(a.Digest)
	if err != nil {
		return false, err
	}
	bb, err := e.r.Store.ReadObject(b.Digest)
	if err != nil {
		return false, err
	}
	an, err := norm.Normalize(name, ab)
	if err != nil {
		return false, err
	}
	bn, err := norm.Normalize(name, bb)
	if err != nil {
		return false, err
	}
	return string(an) == string(bn), nil
}

// snapshotFiles copies a step's `files:` into the store, checking that each
// still has the digest its key was computed with, and hands the step the
// stored copies: what the step reads is exactly what its key covers.
func (e *execution) snapshotFiles(n *Node) ([]steps.File, error) {
	out := make([]steps.File, len(n.Files))
	for i, f := range n.Files {
		d, err := e.r.Store.PutCopy(f.Path)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Rel, err)
		}
		if string(d) != f.Digest {
			return nil, fmt.Errorf("file %s changed since the run started; run again", f.Rel)
		}
		out[i] = steps.File{Rel: f.Rel, Path: e.r.Store.ObjectPath(d), Digest: f.Digest}
	}
	return out, nil
}

// LogTail returns the last n lines of a steps log (reading at most its
// last 64 KiB), for failure reports here and by cluster executors.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 64<<10 {
		b = b[len(b)-64<<10:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type inputSet struct {
	names   []string
	paths   map[string]string
	digests map[string]string
}

func (s *inputSet) Names() []string           { return s.names }
func (s *inputSet) Path(name string) string   { return s.paths[name] }
func (s *inputSet) Digest(name string) string { return s.digests[name] }

type outputSet struct {
	dir   string
	names []string
}

func (s *outputSet) Names() []string { return s.names }
func (s *outputSet) Path(name string) string {
	if !slices.Contains(s.names, name) {
		panic(fmt.Sprintf("runner: step asked for undeclared output %q", name))
	}
	return filepath.Join(s.dir, name)
}

type metricSet struct {
	mu sync.Mutex
	m  map[string]float64
}

func (s *metricSet) add(m map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.Copy(s.m, m)
}

func (s *metricSet) snapshot() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) == 0 {
		return nil
	}
	return maps.Clone(s.m)
}
