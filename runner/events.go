package runner

import (
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

// EventType says what happened to a step.
type EventType int

// The events a run reports, in the order a step can go through them.
const (
	// StepWaiting: another process holds the step's action lock.
	StepWaiting EventType = iota
	// StepStarted: the step missed the cache and starts executing.
	StepStarted
	// StepProgress: a long step reports progress.
	StepProgress
	// StepCached: the step's result was found in the store.
	StepCached
	// StepRan: the step executed and its result was committed.
	StepRan
	// StepFailed: the step failed (Err says why; LogTail has its last lines).
	StepFailed
	// StepSkipped: the step did not run (Reason says why).
	StepSkipped
	// Warning: something was recovered from (a corrupt object).
	Warning
	// HashDebug: a manifest, when BITFLOW_DEBUG=hash.
	HashDebug
	// Info: an executor's report on the run as a whole (cluster progress).
	Info
)

// Event is one report from the executor. The CLI renders events; nothing in
// the runner prints.
type Event struct {
	Type     EventType
	Step     string
	Kind     string
	ActionID string
	Reason   string
	Err      error
	LogTail  string
	Progress *steps.Progress
	Duration time.Duration
	Outputs  map[string]store.Output
	Msg      string
}

// Observer receives events; it must be safe for concurrent calls.
type Observer func(Event)
