// Package workflows reads bitflow workflow files: a strict decoder over
// positioned YAML, validation that collects every problem with its
// file:line:col, the ${{ ... }} expressions, and the shipped example workflows.
// It knows nothing of step implementations: what it needs to know about a
// built-in kind (its ports and parameter names) comes in through Kinds.
package workflows

import (
	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// Pos is a 1-based line and column in a workflow file.
type Pos = yamlnode.Pos

// ExecKind is the kind of a step written with `run:`.
const ExecKind = "exec"

// Workflow is a loaded, validated workflow file.
type Workflow struct {
	Name        string
	Description string
	// File is the path the workflow was read from, as given; Dir is the
	// directory that relative `files:` entries are resolved against.
	File string
	Dir  string
	// Source is the file's bytes, kept for the run's snapshot.
	Source []byte

	Params []Param
	Steps  []*Step // in file order

	// Executor is where steps run unless the command line says otherwise:
	// "" or "local" (this machine), or "slurm".
	Executor string

	byName map[string]*Step
}

// Param is a workflow parameter or one `with:` entry of a step.
type Param struct {
	Name string
	Pos  Pos // of the key
	// Value is the parameter's YAML value. For workflow params it may be
	// replaced by a --set override.
	Value *yamlnode.Node
}

// Step is one step of a workflow.
type Step struct {
	Name string
	Pos  Pos // of the step's key under `steps:`

	// Kind is ExecKind for `run:` steps, else the `uses:` value.
	Kind    string
	KindPos Pos

	// Run is the shell command of an exec step, unexpanded.
	Run    string
	RunPos Pos

	With    []Param
	Inputs  []Input
	Outputs []Output // declared by exec steps; built-in kinds fix their own
	Needs   []Need
	Files   []FileRef
	Env     []EnvVar

	// CPUs is the number of CPU slots the step holds while it runs; 0 means
	// the kind's default.
	CPUs    int
	CPUsPos Pos

	// Resources are what the step asks a cluster scheduler for; nil means
	// its kind's defaults. They are not part of its key.
	Resources *Resources

	Description string
}

// Resources are a step's requests to a cluster scheduler; empty fields
// keep the defaults.
type Resources struct {
	CPUs      int
	Mem       string // Slurm --mem syntax: 500M, 4G
	Time      string // Slurm --time syntax: 30, 1:00:00, 1-00:00:00
	Partition string
	Pos       Pos
}

// Input binds one of a step's inputs to another step's output.
type Input struct {
	Name   string
	Step   string // producing step
	Output string // its output
	Pos    Pos    // of the reference
}

// Output is an output declared by an exec step.
type Output struct {
	Name string
	Pos  Pos
}

// Need is an ordering-only dependency.
type Need struct {
	Step string
	Pos  Pos
}

// FileRef is a `files:` entry: a path or glob, relative to the workflow's
// directory, whose matched files' contents enter the step's key.
type FileRef struct {
	Pattern string
	Pos     Pos
}

// EnvVar is an `env:` entry. Value is nil when the variable is passed
// through from bitflow's own environment (the list form, `env: [HOME]`).
type EnvVar struct {
	Name  string
	Value *yamlnode.Node
	Pos   Pos
}

// Step returns the step called name, or nil.
func (w *Workflow) Step(name string) *Step { return w.byName[name] }

// Param returns the workflow parameter called name, or nil.
func (w *Workflow) Param(name string) *Param {
	for i := range w.Params {
		if w.Params[i].Name == name {
			return &w.Params[i]
		}
	}
	return nil
}

// Upstream returns the names of the steps s depends on (inputs, then needs),
// without repeats, in declaration order.
func (s *Step) Upstream() []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, in := range s.Inputs {
		add(in.Step)
	}
	for _, n := range s.Needs {
		add(n.Step)
	}
	return out
}

// OutputNames returns the names of an exec step's declared outputs.
func (s *Step) OutputNames() []string {
	out := make([]string, len(s.Outputs))
	for i, o := range s.Outputs {
		out[i] = o.Name
	}
	return out
}
