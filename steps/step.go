// Package steps defines what a built-in step kind is (the Step interface and
// its parameter Schema), the environment a step runs in, and the registry of
// kinds. Each kind lives in a subpackage; steps never touch the store: they
// read inputs and write outputs through paths the runner hands them.
package steps

import (
	"context"
	"io"
)

// A Step is one built-in kind of computation. Run must be deterministic in
// (Version, params, input bytes, files); any new influence must be part of
// the key, which the runner composes from exactly those.
type Step interface {
	// Kind is the name used in `uses:`.
	Kind() string
	// Version changes whenever the kind's outputs for the same inputs change.
	Version() string
	// Params describes the kind's parameters, inputs and outputs.
	Params() Schema
	// Run computes the outputs. It must honour ctx and return ctx.Err()
	// (possibly wrapped) when cancelled.
	Run(ctx context.Context, env *Env, in Inputs, out Outputs) error
}

// Env is what a running step may use besides its inputs and outputs.
type Env struct {
	// Params are the step's parameters after defaults, overrides and type
	// checks, keyed by name.
	Params Values
	// Files are the step's `files:` (contents already part of the key).
	Files []File
	// Dir is an empty private directory the step may use as it likes; it is
	// removed after the step.
	Dir string
	// Partial is a directory that survives a crash of the step: a step that
	// can resume keeps its checkpoints here and continues from them when run
	// again with the same key. It is removed once the result is committed.
	Partial string
	// CPUs is the number of CPU slots the step holds.
	CPUs int
	// Log receives the step's log, kept in the store with its result.
	Log io.Writer
	// Progress, if set, receives progress reports.
	Progress func(Progress)
	// Metrics, if set, receives figures for the action record (wall-clock
	// measurements belong there, not in output bytes).
	Metrics func(map[string]float64)
}

// Report sends a progress report if anyone listens.
func (e *Env) Report(p Progress) {
	if e.Progress != nil {
		e.Progress(p)
	}
}

// Metric records figures in the action record if anyone listens.
func (e *Env) Metric(m map[string]float64) {
	if e.Metrics != nil {
		e.Metrics(m)
	}
}

// Progress is a report from a long step.
type Progress struct {
	Done, Total float64 // units of work; Total 0 if unknown
	Unit        string  // "steps", "prompts", ...
	Message     string
	Fields      map[string]float64 // e.g. loss, tokens_per_s
}

// File is one file of a step's `files:`: its path relative to the
// workflow's directory, where it is now, and the digest that entered the key.
type File struct {
	Rel    string
	Path   string
	Digest string
}

// Inputs gives read access to a step's inputs. Paths are read-only.
type Inputs interface {
	Names() []string
	// Path returns the input's file or directory, or "" if the step has no
	// such input (an optional input not given).
	Path(name string) string
	// Digest returns the input's digest, or "".
	Digest(name string) string
}

// Outputs gives the paths where a step writes its outputs. Each path does
// not exist yet; the step creates a file or a directory there.
type Outputs interface {
	Names() []string
	Path(name string) string
}
