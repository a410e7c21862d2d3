package runner

import (
	"slices"
	"sync"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// PointDone reports that every step of a point has an outcome.
type PointDone struct {
	Index  int // in Sweep.Points
	Name   string
	Status string // as PointStatus
	// Done of Total points have finished so far in this run.
	Done, Total int
	// ETA estimates the time left from the points that executed
	// something (cached points finish at once and say nothing about the
	// rest), timed from the first of them to finish: the steps every
	// point shares (a teacher) run before it and once only. 0 when there
	// is no estimate yet or nothing is left.
	ETA time.Duration
	// Failed names the point's failed run steps.
	Failed []string
}

// SweepProgress follows a sweep's run events and tells when points finish.
// It is safe for concurrent use (observers are called from step
// goroutines).
type SweepProgress struct {
	mu       sync.Mutex
	s        *Sweep
	start    time.Time
	byNode   map[string][]int // run step name -> points using it
	pending  []int            // per point: steps without an outcome
	statuses []map[string]string
	done     int
	executed int       // finished points that executed at least one step
	first    time.Time // when the first of them finished
}

// Progress starts following a run of the sweep that started at start.
func (s *Sweep) Progress(start time.Time) *SweepProgress {
	p := &SweepProgress{s: s, start: start, byNode: map[string][]int{}, pending: make([]int, len(s.Points)), statuses: make([]map[string]string, len(s.Points))}
	for i, pt := range s.Points {
		p.statuses[i] = map[string]string{}
		seen := map[*Node]bool{}
		for _, n := range pt.Steps {
			if !seen[n] {
				seen[n] = true
				p.byNode[n.Name] = append(p.byNode[n.Name], i)
				p.pending[i]++
			}
		}
	}
	return p
}

// Observe takes one run event and returns the points it finished.
func (p *SweepProgress) Observe(ev Event, now time.Time) []PointDone {
	var status string
	switch ev.Type {
	case StepRan:
		status = store.StepRan
	case StepCached:
		status = store.StepCached
	case StepFailed:
		status = store.StepFailed
	case StepSkipped:
		status = store.StepSkipped
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []PointDone
	for _, i := range p.byNode[ev.Step] {
		if _, seen := p.statuses[i][ev.Step]; seen {
			continue
		}
		p.statuses[i][ev.Step] = status
		if p.pending[i]--; p.pending[i] > 0 {
			continue
		}
		p.done++
		d := PointDone{Index: i, Name: p.s.Points[i].Name, Status: pointStatus(p.statuses[i]), Done: p.done, Total: len(p.s.Points)}
		if d.Status != store.StepCached {
			if p.executed++; p.executed == 1 {
				p.first = now
			}
		}
		switch left := time.Duration(d.Total - d.Done); {
		case left == 0 || p.executed == 0:
		case p.executed == 1:
			d.ETA = now.Sub(p.start) * left
		default:
			d.ETA = now.Sub(p.first) / time.Duration(p.executed-1) * left
		}
		for name, st := range p.statuses[i] {
			if st == store.StepFailed {
				d.Failed = append(d.Failed, name)
			}
		}
		slices.Sort(d.Failed)
		out = append(out, d)
	}
	return out
}

// pointStatus sums up a point's step statuses like a step's: failed if any
// step failed, else skipped if any did not run, else ran if any executed,
// else cached.
func pointStatus(steps map[string]string) string {
	has := map[string]bool{}
	for _, st := range steps {
		has[st] = true
	}
	for _, st := range []string{store.StepFailed, store.StepSkipped, store.StepRan} {
		if has[st] {
			return st
		}
	}
	return store.StepCached
}

// PointStatus is a point's status in a finished run: failed, skipped, ran
// or cached, from the run record's steps (skipped when a step has no
// record, as after a crash).
func PointStatus(run *store.RunRecord, pt store.SweepPoint) string {
	byName := map[string]string{}
	for _, s := range run.Steps {
		byName[s.Name] = s.Status
	}
	steps := map[string]string{}
	for _, name := range pt.Steps {
		st, ok := byName[name]
		if !ok {
			st = store.StepSkipped
		}
		steps[name] = st
	}
	return pointStatus(steps)
}
