package runner

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

// Runner executes plans against a store.
type Runner struct {
	Store *store.Store
	// Jobs is how many steps may run at once (default: the number of CPUs).
	Jobs int
	// CPUs is the number of CPU slots shared by running steps (default:
	// Jobs). A step holds its `cpus:` slots while it executes.
	CPUs int
	// KeepGoing runs every step that does not depend on a failure, instead
	// of stopping at the first one.
	KeepGoing bool
	// Force re-executes these steps even if their result is cached.
	Force map[string]bool
	// Verify re-executes cached steps and fails those whose outputs differ
	// from the cached ones (nothing is overwritten).
	Verify bool
	// DebugHash reports every manifest (BITFLOW_DEBUG=hash).
	DebugHash bool
	// Observe receives events; may be nil.
	Observe Observer
	// Version is bitflow's version, recorded as the producer of results.
	Version string
	// Prepare, if set, is called with the new run before any step starts,
	// to store files beside the run record (a sweep's record).
	Prepare func(run *store.RunLog) error
	// Leases makes the holder of an action's lock also keep a lease on it
	// (host, job, heartbeat), so that others on any machine can tell who
	// computes it; LeaseJob is this process's cluster job, if any.
	Leases   bool
	LeaseJob string
	// Executor, if set, runs the steps that miss the cache elsewhere (a
	// cluster scheduler) instead of on this process's workers; cache hits,
	// records and events stay the runner's.
	Executor Executor
}

// ErrStepsFailed is returned by Execute when one or more steps failed.
var ErrStepsFailed = errors.New("steps failed")

// ErrInterrupted is returned by Execute when the run was cancelled.
var ErrInterrupted = errors.New("interrupted")

// result is one node's outcome in a run.
type result struct {
	status   string
	actionID string
	outputs  map[string]store.Output
	log      *store.Output
	reason   string
	err      error
	duration time.Duration
}

type execution struct {
	r       *Runner
	p       *Plan
	run     *store.RunLog // nil when executing one step for another run
	runID   string
	cpu     *semaphore.Weighted
	cpuMax  int
	host    string
	mu      sync.Mutex
	results map[*Node]*result
	history *history
}

func (r *Runner) emit(ev Event) {
	if r.Observe != nil {
		r.Observe(ev)
	}
}

// Execute runs the plan's selected steps and returns the run record. The
// error is ErrStepsFailed if a step failed, ErrInterrupted if ctx was
// cancelled, or a store error; the record is complete in every case but the
// last.
func (r *Runner) Execute(ctx context.Context, p *Plan) (*store.RunRecord, error) {
	jobs := r.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	cpus := r.CPUs
	if cpus <= 0 {
		cpus = jobs
	}
	storeLock, err := r.Store.LockShared(ctx, func() {
		r.emit(Event{Type: Warning, Msg: "waiting for `bitflow gc` to release the store"})
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer storeLock.Unlock()
	run, err := r.Store.CreateRun()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	rec := &store.RunRecord{
		ID: run.ID, Workflow: p.Workflow.Name, File: p.Workflow.File, Params: p.Params,
		Sets: p.Sets, Targets: p.Targets, Host: host, Version: r.Version,
		Started: time.Now().UTC(), Status: store.RunRunning,
	}
	if err := run.WriteFile("workflow.yaml", p.Workflow.Source); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := run.Append(store.Event{Type: store.EventRunStarted, Run: rec}); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if r.Prepare != nil {
		if err := r.Prepare(run); err != nil {
			return nil, err
		}
	}
	e := &execution{
		r: r, p: p, run: run, runID: run.ID, host: host,
		cpu: semaphore.NewWeighted(int64(cpus)), cpuMax: cpus,
		results: map[*Node]*result{},
		history: newHistory(r.Store, p.Workflow.Name),
	}
	if r.Executor != nil {
		if err := r.Executor.Execute(ctx, &Execution{e: e}); err != nil {
			e.r.emit(Event{Type: Warning, Msg: fmt.Sprintf("executor: %v", err)})
			e.finishUnresolved(ctx, fmt.Sprintf("not run: %v", err))
		} else {
			e.finishUnresolved(ctx, "not started")
		}
	} else {
		e.schedule(ctx, jobs)
	}

	rec.Status = store.RunOK
	for _, n := range p.Nodes {
		if !p.Selected[n] {
			continue
		}
		res := e.results[n]
		sr := store.StepRecord{
			Name: n.Name, Kind: n.Kind.Kind(), Status: res.status, ActionID: res.actionID,
			Outputs: res.outputs, Log: res.log, Reason: res.reason, Duration: res.duration.Seconds(),
		}
		if res.err != nil {
			sr.Error = res.err.Error()
		}
		if res.status == store.StepFailed && rec.Status == store.RunOK {
			rec.Status = store.RunFailed
		}
		rec.Steps = append(rec.Steps, sr)
	}
	if ctx.Err() != nil {
		rec.Status = store.RunInterrupted
	}
	rec.Finished = time.Now().UTC()
	if err := run.Append(store.Event{Type: store.EventRunDone, Status: rec.Status}); err != nil {
		return rec, fmt.Errorf("store: %w", err)
	}
	if err := run.Finish(rec); err != nil {
		return rec, fmt.Errorf("store: %w", err)
	}
	switch rec.Status {
	case store.RunInterrupted:
		return rec, ErrInterrupted
	case store.RunFailed:
		return rec, ErrStepsFailed
	}
	return rec, nil
}

// schedule runs ready nodes on at most jobs goroutines, in file order among
// the ready ones, until everything selected has an outcome.
func (e *execution) schedule(ctx context.Context, jobs int) {
	p := e.p
	waiting := map[*Node]int{}
	ready := &nodeHeap{}
	for _, n := range p.Nodes {
		if !p.Selected[n] {
			continue
		}
		waiting[n] = len(n.upstream())
		if waiting[n] == 0 {
			heap.Push(ready, n)
		}
	}
	type outcome struct {
		n   *Node
		res *result
	}
	done := make(chan outcome)
	running := 0
	stopped := "" // why no more steps start, once something failed
	for {
		for stopped == "" && ctx.Err() == nil && running < jobs && ready.Len() > 0 {
			n := heap.Pop(ready).(*Node)
			running++
			go func() { done <- outcome{n, e.process(ctx, n)} }()
		}
		if running == 0 {
			break
		}
		o := <-done
		running--
		n, res := o.n, o.res
		e.setResult(n, res)
		if res.status == store.StepFailed {
			e.skipDownstream(n, n)
			if !e.r.KeepGoing && stopped == "" && ctx.Err() == nil {
				stopped = fmt.Sprintf("not started: the run stopped after %q failed (--keep-going runs independent steps)", n.Name)
			}
			continue
		}
		for _, d := range n.downstream {
			if !p.Selected[d] || e.results[d] != nil {
				continue
			}
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	e.finishUnresolved(ctx, stopped)
}

// finishUnresolved records every selected step without an outcome as
// skipped, for reason (or because the run was interrupted).
func (e *execution) finishUnresolved(ctx context.Context, reason string) {
	p := e.p
	if ctx.Err() != nil {
		reason = "not started: the run was interrupted"
	}
	for _, n := range p.Nodes {
		if p.Selected[n] && e.results[n] == nil {
			e.setResult(n, &result{status: store.StepSkipped, reason: reason})
			e.journalDone(n, e.results[n])
			e.r.emit(Event{Type: StepSkipped, Step: n.Name, Kind: n.Kind.Kind(), Reason: reason})
		}
	}
}

// skipDownstream marks everything downstream of a failure as skipped, quietly
// (the failure is reported once, at its root).
func (e *execution) skipDownstream(n, root *Node) {
	for _, d := range n.downstream {
		if !e.p.Selected[d] || e.results[d] != nil {
			continue
		}
		e.setResult(d, &result{status: store.StepSkipped, reason: fmt.Sprintf("upstream failed: %s", root.Name)})
		e.journalDone(d, e.results[d])
		e.r.emit(Event{Type: StepSkipped, Step: d.Name, Kind: d.Kind.Kind(), Reason: e.results[d].reason})
		e.skipDownstream(d, root)
	}
}

// setResult records an outcome. Only the scheduling goroutine writes
// results, so it reads them without the lock; step goroutines read their
// upstream results under it.
func (e *execution) setResult(n *Node, res *result) {
	e.mu.Lock()
	e.results[n] = res
	e.mu.Unlock()
}

func (e *execution) resultOf(n *Node) *result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.results[n]
}

func (e *execution) journalDone(n *Node, res *result) {
	if e.run == nil {
		return
	}
	sr := &store.StepRecord{
		Name: n.Name, Kind: n.Kind.Kind(), Status: res.status, ActionID: res.actionID,
		Outputs: res.outputs, Log: res.log, Reason: res.reason, Duration: res.duration.Seconds(),
	}
	if res.err != nil {
		sr.Error = res.err.Error()
	}
	if err := e.run.Append(store.Event{Type: store.EventStepDone, Step: sr}); err != nil {
		e.r.emit(Event{Type: Warning, Msg: fmt.Sprintf("run journal: %v", err)})
	}
}

// cpusFor returns how many CPU slots a node holds while it runs.
func (e *execution) cpusFor(n *Node) int {
	c := n.CPUs
	if c == 0 {
		c = n.Schema.CPUs
	}
	if c == steps.AllCPUs || c > e.cpuMax {
		c = e.cpuMax
	}
	return max(c, 1)
}
