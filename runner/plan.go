// Package runner is bitflow's engine: it turns a loaded workflow into a plan
// (typed parameters, files hashed, a DAG), composes ActionIDs, and executes
// the plan against a store with a fixed pool of workers, recording every run.
package runner

import (
	"container/heap"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

const execKind = workflows.ExecKind

// Plan is a workflow made ready to execute: every step's kind, typed
// parameters, hashed files and dependencies, in a topological order.
type Plan struct {
	Workflow *workflows.Workflow
	// Params are the effective workflow params (file values and --set).
	Params map[string]any
	// Sets are the --set overrides as given.
	Sets []string
	// Nodes are all steps in topological order (file order among steps
	// whose dependencies are equally satisfied).
	Nodes []*Node
	// Selected marks the steps to execute: the targets and what they need
	// (all steps when there are no targets).
	Selected map[*Node]bool
	Targets  []string

	byName map[string]*Node
}

// Node is one planned step.
type Node struct {
	Name    string
	Index   int // position in the file
	Step    *workflows.Step
	Kind    steps.Step
	Schema  steps.Schema
	Params  steps.Values
	Inputs  []Edge
	Needs   []*Node
	Files   []steps.File
	Env     []EnvValue // exec only
	Outputs []string
	CPUs    int // 0 = the kind's default (resolved by the executor)

	downstream []*Node
}

// Edge is an input of a node: an output of an upstream node.
type Edge struct {
	Name   string
	From   *Node
	Output string
}

// Node returns the planned step called name, or nil.
func (p *Plan) Node(name string) *Node { return p.byName[name] }

// Options shape a plan.
type Options struct {
	// Sets are --set NAME=VALUE overrides; VALUE is read as YAML, except
	// that an empty (or blank) VALUE is that string, not null.
	Sets []string
	// Targets restricts execution to these steps and what they need.
	Targets []string
	// Params override workflow params with plain values, after Sets: a
	// sweep point's params. An unknown name is an *UnknownParamsError.
	Params map[string]any
	// LookupEnv reads bitflow's environment for pass-through variables;
	// os.LookupEnv if nil.
	LookupEnv func(string) (string, bool)
}

// UsageError is a problem with the command line rather than the workflow
// (an unknown --set name or target), for the CLI's exit code.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// NewPlan builds the plan for a loaded workflow. Parameter and file
// problems come back as workflows.Errors, with positions; command-line
// problems as *UsageError.
func NewPlan(w *workflows.Workflow, reg *steps.Registry, opt Options) (*Plan, error) {
	if opt.LookupEnv == nil {
		opt.LookupEnv = os.LookupEnv
	}
	p := &Plan{Workflow: w, Params: map[string]any{}, Sets: opt.Sets, byName: map[string]*Node{}}
	for _, prm := range w.Params {
		p.Params[prm.Name] = plain(prm.Value.Value())
	}
	if err := p.applySets(opt.Sets); err != nil {
		return nil, err
	}
	if err := p.applyParams(opt.Params); err != nil {
		return nil, err
	}
	errs := &workflows.Errors{}
	hasher := newFileHasher()
	for i, s := range w.Steps {
		n := &Node{Name: s.Name, Index: i, Step: s, CPUs: s.CPUs}
		kind, ok := reg.Get(s.Kind)
		if !ok {
			// Load checked kinds against the same registry; this is a bug.
			return nil, fmt.Errorf("step %q: kind %q is not registered", s.Name, s.Kind)
		}
		n.Kind, n.Schema = kind, kind.Params()
		if s.Kind == execKind {
			p.resolveExec(n, opt.LookupEnv, errs)
		} else {
			p.resolveWith(n, errs)
			for _, o := range n.Schema.Outputs {
				n.Outputs = append(n.Outputs, o.Name)
			}
		}
		n.Files = hasher.resolve(w, s, errs)
		p.Nodes = append(p.Nodes, n)
		p.byName[n.Name] = n
	}
	if len(*errs) > 0 {
		errs.Sort()
		return nil, *errs
	}
	for _, n := range p.Nodes {
		for _, in := range n.Step.Inputs {
			up := p.byName[in.Step]
			n.Inputs = append(n.Inputs, Edge{Name: in.Name, From: up, Output: in.Output})
		}
		for _, nd := range n.Step.Needs {
			n.Needs = append(n.Needs, p.byName[nd.Step])
		}
		for _, up := range n.upstream() {
			up.downstream = append(up.downstream, n)
		}
	}
	p.Nodes = topoOrder(p.Nodes)
	if err := p.selectTargets(opt.Targets); err != nil {
		return nil, err
	}
	return p, nil
}

// upstream returns the distinct nodes n depends on.
func (n *Node) upstream() []*Node {
	var out []*Node
	for _, e := range n.Inputs {
		if !slices.Contains(out, e.From) {
			out = append(out, e.From)
		}
	}
	for _, u := range n.Needs {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func (p *Plan) applySets(sets []string) error {
	for _, s := range sets {
		name, val, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return &UsageError{fmt.Sprintf("--set %q: expected NAME=VALUE", s)}
		}
		if p.Workflow.Param(name) == nil {
			known := make([]string, len(p.Workflow.Params))
			for i, prm := range p.Workflow.Params {
				known[i] = prm.Name
			}
			list := "it has none"
			if len(known) > 0 {
				list = "its params are " + strings.Join(known, ", ")
			}
			return &UsageError{fmt.Sprintf("--set %s: workflow %q has no param %q; %s", s, p.Workflow.Name, name, list)}
		}
		if strings.TrimSpace(val) == "" {
			// YAML reads nothing as null, which would reach commands as
			// "null"; `--set name=` means the empty string.
			p.Params[name] = val
			continue
		}
		docs, err := yamlnode.Parse([]byte(val))
		if err != nil || len(docs) != 1 {
			return &UsageError{fmt.Sprintf("--set %s: the value is not valid YAML: %v", s, err)}
		}
		p.Params[name] = plain(docs[0].Value())
	}
	return nil
}

// plain turns yamlnode values into the plain Go values params use:
// *yamlnode.Ordered becomes map[string]any.
func plain(v any) any {
	switch x := v.(type) {
	case *yamlnode.Ordered:
		m := make(map[string]any, len(x.Keys))
		for _, k := range x.Keys {
			m[k] = plain(x.Values[k])
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = plain(it)
		}
		return out
	}
	return v
}

// selectTargets marks the targets and everything they depend on.
func (p *Plan) selectTargets(targets []string) error {
	p.Selected = map[*Node]bool{}
	p.Targets = targets
	if len(targets) == 0 {
		for _, n := range p.Nodes {
			p.Selected[n] = true
		}
		return nil
	}
	var mark func(n *Node)
	mark = func(n *Node) {
		if p.Selected[n] {
			return
		}
		p.Selected[n] = true
		for _, u := range n.upstream() {
			mark(u)
		}
	}
	for _, t := range targets {
		n := p.byName[t]
		if n == nil {
			names := make([]string, len(p.Nodes))
			for i, n := range p.Nodes {
				names[i] = n.Name
			}
			return &UsageError{fmt.Sprintf("workflow %q has no step %q; its steps are %s", p.Workflow.Name, t, strings.Join(names, ", "))}
		}
		mark(n)
	}
	return nil
}

// topoOrder orders nodes so that each comes after what it needs, taking
// ready nodes in file order: the same workflow always plans the same way.
func topoOrder(nodes []*Node) []*Node {
	indeg := map[*Node]int{}
	for _, n := range nodes {
		indeg[n] = len(n.upstream())
	}
	h := &nodeHeap{}
	for _, n := range nodes {
		if indeg[n] == 0 {
			heap.Push(h, n)
		}
	}
	out := make([]*Node, 0, len(nodes))
	for h.Len() > 0 {
		n := heap.Pop(h).(*Node)
		out = append(out, n)
		for _, d := range n.downstream {
			if indeg[d]--; indeg[d] == 0 {
				heap.Push(h, d)
			}
		}
	}
	if len(out) != len(nodes) {
		panic("runner: cycle in a validated workflow")
	}
	return out
}

type nodeHeap []*Node

func (h nodeHeap) Len() int           { return len(h) }
func (h nodeHeap) Less(i, j int) bool { return h[i].Index < h[j].Index }
func (h nodeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nodeHeap) Push(x any)        { *h = append(*h, x.(*Node)) }
func (h *nodeHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
}
