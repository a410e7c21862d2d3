package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// An Executor runs the steps of a plan that miss the cache somewhere other
// than this process's workers: a cluster scheduler. It drives an Execution:
// it resolves steps (which records cache hits), runs the misses elsewhere,
// each of them through ExecuteStep so that the commit protocol is the
// runner's, and reports their outcomes back. Every step it leaves without
// an outcome is recorded as skipped.
type Executor interface {
	Execute(ctx context.Context, x *Execution) error
}

// Execution is a running plan as an Executor sees it. Its methods must be
// called from one goroutine.
type Execution struct{ e *execution }

// Plan is the plan being executed.
func (x *Execution) Plan() *Plan { return x.e.p }

// RunID is the run's ID; its directory is Store().RunDir(RunID()).
func (x *Execution) RunID() string { return x.e.runID }

// Store is the store the run commits into.
func (x *Execution) Store() *store.Store { return x.e.r.Store }

// KeepGoing says whether steps independent of a failure should still run.
func (x *Execution) KeepGoing() bool { return x.e.r.KeepGoing }

// Emit reports an event through the runner's observer.
func (x *Execution) Emit(ev Event) { x.e.r.emit(ev) }

// Done reports whether the step already has an outcome.
func (x *Execution) Done(n *Node) bool { return x.e.resultOf(n) != nil }

// Status returns the step's outcome status ("" while it has none).
func (x *Execution) Status(n *Node) string {
	if r := x.e.resultOf(n); r != nil {
		return r.status
	}
	return ""
}

// Resolution is what Resolve found out about a step.
type Resolution int

const (
	// Unresolved: an upstream step has no outputs yet, so the step's key
	// cannot be computed.
	Unresolved Resolution = iota
	// Cached: the step's result is in the store; it is recorded as cached.
	Cached
	// Missing: the key is known and has no usable result.
	Missing
)

// Resolve computes a step's key if its upstream outputs are known and looks
// it up: a hit is recorded (as cached) at once.
func (x *Execution) Resolve(n *Node) (Resolution, string) {
	e := x.e
	for _, up := range n.upstream() {
		r := e.resultOf(up)
		if r == nil || (r.status != store.StepRan && r.status != store.StepCached) {
			return Unresolved, ""
		}
	}
	id, _, err := e.actionIDOf(n)
	if err != nil {
		return Unresolved, ""
	}
	if rec, _ := e.lookup(n, id); rec != nil {
		e.setResult(n, e.hit(n, rec, ""))
		return Cached, id
	}
	return Missing, id
}

// Started records that a step began executing elsewhere (info: where).
func (x *Execution) Started(n *Node, reason string) {
	e := x.e
	id, _, _ := e.actionIDOf(n)
	if e.run != nil {
		_ = e.run.Append(store.Event{Type: store.EventStepStarted, Step: &store.StepRecord{Name: n.Name, Kind: n.Kind.Kind(), ActionID: id, Reason: reason}})
	}
	e.r.emit(Event{Type: StepStarted, Step: n.Name, Kind: n.Kind.Kind(), ActionID: id, Reason: reason})
}

// Finished records a step that executed elsewhere from the action record
// it committed: ran, if this run (or one of adopted, runs whose jobs this
// run took over) computed it, else cached. It returns an error, and records
// nothing, when there is no record (yet).
func (x *Execution) Finished(n *Node, took time.Duration, adopted ...string) error {
	e := x.e
	id, _, err := e.actionIDOf(n)
	if err != nil {
		return err
	}
	rec, why := e.lookup(n, id)
	if rec == nil {
		if why == "" {
			why = "no action record"
		}
		return fmt.Errorf("step %s: %s", n.Name, why)
	}
	if rec.Producer.RunID != e.runID && !slices.Contains(adopted, rec.Producer.RunID) {
		e.setResult(n, e.hit(n, rec, "computed by another run"))
		return nil
	}
	res := &result{status: store.StepRan, actionID: id, outputs: selectOutputs(rec.Outputs, n.Outputs), log: rec.Log, duration: took}
	if took == 0 {
		res.duration = time.Duration(rec.Duration * float64(time.Second))
	}
	e.setResult(n, res)
	e.journalDone(n, res)
	e.r.emit(Event{Type: StepRan, Step: n.Name, Kind: n.Kind.Kind(), ActionID: id, Duration: res.duration, Outputs: res.outputs})
	return nil
}

// Failed records a failed step and skips everything downstream of it.
func (x *Execution) Failed(n *Node, err error, logTail string) {
	e := x.e
	id, _, _ := e.actionIDOf(n)
	e.setResult(n, e.fail(n, id, err, logTail))
	e.skipDownstream(n, n)
}

// Skipped records a step that will not run, for reason.
func (x *Execution) Skipped(n *Node, reason string) {
	e := x.e
	res := &result{status: store.StepSkipped, reason: reason}
	e.setResult(n, res)
	e.journalDone(n, res)
	e.r.emit(Event{Type: StepSkipped, Step: n.Name, Kind: n.Kind.Kind(), Reason: reason})
}

// actionIDOf computes a node's ActionID from its upstream results.
func (e *execution) actionIDOf(n *Node) (string, string, error) {
	key, _, err := keyFor(n, func(up *Node) map[string]store.Output {
		if r := e.resultOf(up); r != nil {
			return r.outputs
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	manifest, err := key.Manifest()
	if err != nil {
		return "", "", fmt.Errorf("key: %w", err)
	}
	return ActionID(manifest), manifest, nil
}

// NodeKeys returns each node's structural key: a hash of its key manifest
// with every upstream output standing for the structural key of the node
// that produces it, plus its workflow step name, outputs and ordering
// needs. It is known before anything executes and equal for equal plans
// (the same workflow bytes, params and files), so it names a step across
// processes: a cluster job and a restarted driver agree on it. It is never
// part of a stored key.
func NodeKeys(p *Plan) (map[*Node]string, error) {
	out := map[*Node]string{}
	for _, n := range p.Nodes { // topological order
		key, _, err := keyFor(n, func(up *Node) map[string]store.Output {
			outs := map[string]store.Output{}
			for _, o := range up.Outputs {
				outs[o] = store.Output{Digest: store.Digest("node:" + out[up] + "." + o)}
			}
			return outs
		})
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", n.Name, err)
		}
		manifest, err := key.Manifest()
		if err != nil {
			return nil, fmt.Errorf("step %q: key: %w", n.Name, err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "step %s\n%s", n.Step.Name, manifest)
		for _, o := range n.Outputs {
			fmt.Fprintf(&b, "output %s\n", o)
		}
		for _, u := range n.Needs {
			fmt.Fprintf(&b, "need %s\n", out[u])
		}
		sum := sha256.Sum256([]byte(b.String()))
		out[n] = hex.EncodeToString(sum[:])
	}
	return out, nil
}

// ErrUpstreamMissing is returned by ExecuteStep when a step's upstream
// results are not all in the store.
var ErrUpstreamMissing = errors.New("upstream result missing")

// StepOutcome is the result of ExecuteStep.
type StepOutcome struct {
	Status   string // store.StepRan, StepCached or StepFailed
	ActionID string
	Outputs  map[string]store.Output
	Err      error
}

// ExecuteStep executes one step of a plan for the run runID (which lives
// elsewhere, such as a cluster driver's), as a cluster job does: every
// upstream step must have its result in the store already; the step itself
// is looked up again, and on a miss executed under its action lock and
// committed exactly as Execute commits, so an action never runs twice
// however many jobs ask for it. Nothing is written to a run journal; the
// action record names runID as its producer.
func (r *Runner) ExecuteStep(ctx context.Context, p *Plan, name, runID string) (*StepOutcome, error) {
	target := p.Node(name)
	if target == nil {
		return nil, fmt.Errorf("plan has no step %q", name)
	}
	storeLock, err := r.Store.LockShared(ctx, func() {
		r.emit(Event{Type: Warning, Msg: "waiting for `bitflow gc` to release the store"})
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer storeLock.Unlock()
	cpus := r.CPUs
	if cpus <= 0 {
		cpus = max(r.Jobs, 1)
	}
	host, _ := os.Hostname()
	e := &execution{
		r: r, p: p, runID: runID, host: host,
		cpu: semaphore.NewWeighted(int64(cpus)), cpuMax: cpus,
		results: map[*Node]*result{},
		history: newHistory(r.Store, p.Workflow.Name),
	}
	need := map[*Node]bool{}
	var mark func(n *Node)
	mark = func(n *Node) {
		for _, u := range n.upstream() {
			if !need[u] {
				need[u] = true
				mark(u)
			}
		}
	}
	mark(target)
	for _, n := range p.Nodes { // topological: upstream first
		if !need[n] {
			continue
		}
		id, _, err := e.actionIDOf(n)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", n.Name, err)
		}
		rec, why := e.lookup(n, id)
		if rec == nil {
			if why == "" {
				why = "no result in the store"
			}
			return nil, fmt.Errorf("step %q needs %q: %s: %w", name, n.Name, why, ErrUpstreamMissing)
		}
		e.setResult(n, &result{status: store.StepCached, actionID: id, outputs: selectOutputs(rec.Outputs, n.Outputs)})
	}
	res := e.process(ctx, target)
	return &StepOutcome{Status: res.status, ActionID: res.actionID, Outputs: res.outputs, Err: res.err}, nil
}
