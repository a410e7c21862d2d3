package runner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// PointSpec is one point of an exploration, as the runner needs it: a
// unique name, its identity and the workflow params it overrides.
type PointSpec struct {
	Name   string
	ID     string
	Params map[string]any
}

// Sweep is every point of an exploration planned as one DAG. A step that
// is structurally the same for several points (same kind, resolved params,
// command, files, env, outputs and the same upstream steps) is one node,
// so the runner executes it once however many points need it.
type Sweep struct {
	// Plan is the merged plan; Runner.Execute runs it like any other, so
	// -j, CPU slots, caching, Ctrl-C and resuming apply unchanged.
	Plan   *Plan
	Points []*SweepPoint
}

// SweepPoint is a point and the nodes of the merged plan that compute it.
type SweepPoint struct {
	PointSpec
	// Steps maps each workflow step name to its node in Sweep.Plan.
	Steps map[string]*Node
}

// PointError is a problem planning one point (a param value the workflow
// rejects); Err keeps its positions in the workflow file.
type PointError struct {
	Point string
	Err   error
}

func (e *PointError) Error() string { return fmt.Sprintf("point %s: %v", e.Point, e.Err) }
func (e *PointError) Unwrap() error { return e.Err }

// UnknownParamsError lists point params the workflow does not have.
type UnknownParamsError struct {
	Workflow string
	Names    []string // in the order first met
	Known    []string
}

func (e *UnknownParamsError) Error() string {
	known := "it has none"
	if len(e.Known) > 0 {
		known = "its params are " + strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("workflow %q has no param %s; %s", e.Workflow, strings.Join(e.Names, ", "), known)
}

// NewSweep plans every point against w and merges the plans. stem is the
// exploration's stem, which every point name starts with and which merged
// step names leave out. All unknown params of all points are reported at
// once, as an *UnknownParamsError; a point the workflow rejects is a
// *PointError.
func NewSweep(w *workflows.Workflow, reg *steps.Registry, stem string, points []PointSpec, opt Options) (*Sweep, error) {
	if err := checkPointParams(w, points); err != nil {
		return nil, err
	}
	merged := &Plan{Workflow: w, Params: map[string]any{}, Selected: map[*Node]bool{}, byName: map[string]*Node{}}
	for _, prm := range w.Params {
		merged.Params[prm.Name] = plain(prm.Value.Value())
	}
	s := &Sweep{Plan: merged}
	bySig := map[string]*Node{}
	users := map[*Node][]int{}
	for i, pt := range points {
		o := opt
		o.Params, o.Targets = pt.Params, nil
		p, err := NewPlan(w, reg, o)
		if err != nil {
			return nil, &PointError{Point: pt.Name, Err: err}
		}
		sp := &SweepPoint{PointSpec: pt, Steps: map[string]*Node{}}
		toMerged := map[*Node]*Node{}
		for _, n := range p.Nodes {
			sig, err := signature(n, toMerged)
			if err != nil {
				return nil, &PointError{Point: pt.Name, Err: fmt.Errorf("step %q: %w", n.Name, err)}
			}
			m := bySig[sig]
			if m == nil {
				m = merged.adopt(n, toMerged)
				bySig[sig] = m
			}
			toMerged[n] = m
			users[m] = append(users[m], i)
			sp.Steps[n.Name] = m
		}
		s.Points = append(s.Points, sp)
	}
	labels := pointLabels(stem, points)
	for _, m := range merged.Nodes {
		if len(users[m]) != len(points) {
			// Named after the first point that needs it: the sweep
			// record says which other points share it.
			m.Name = m.Step.Name + "@" + labels[users[m][0]]
		}
		merged.byName[m.Name] = m
	}
	return s, nil
}

// checkPointParams finds the point params the workflow lacks, in every
// point, so that one message lists them all.
func checkPointParams(w *workflows.Workflow, points []PointSpec) error {
	var unknown []string
	for _, pt := range points {
		for _, name := range sortedKeys(pt.Params) {
			if w.Param(name) == nil && !slices.Contains(unknown, name) {
				unknown = append(unknown, name)
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	known := make([]string, len(w.Params))
	for i, prm := range w.Params {
		known[i] = prm.Name
	}
	return &UnknownParamsError{Workflow: w.Name, Names: unknown, Known: known}
}

// applyParams sets plain-valued overrides (a sweep point's params).
func (p *Plan) applyParams(params map[string]any) error {
	if err := checkPointParams(p.Workflow, []PointSpec{{Params: params}}); err != nil {
		return err
	}
	for name, v := range params {
		p.Params[name] = coerceParam(v, p.Params[name])
	}
	return nil
}

// coerceParam gives a string that reads as a number the type of the
// workflow param it replaces. Exploration files are read as PyYAML reads
// them, where 1e-6 (no dot) is a string; the reference runner hands it to
// argparse, which makes it a float again, so a sweep must too.
func coerceParam(v, current any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch current.(type) {
	case float64:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case int64:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
	}
	return v
}

// signature is a node's structural identity within a sweep: its key's
// manifest with each upstream output standing for the merged node that
// produces it (upstream digests are unknown before execution), plus what
// the manifest leaves out but a node needs (its name in the workflow, its
// outputs and its ordering dependencies). Equal signatures mean equal
// ActionIDs whatever the upstream steps produce; the signature itself is
// never stored.
func signature(n *Node, toMerged map[*Node]*Node) (string, error) {
	key, _, err := keyFor(n, func(up *Node) map[string]store.Output {
		m := toMerged[up]
		outs := map[string]store.Output{}
		for _, o := range up.Outputs {
			outs[o] = store.Output{Digest: store.Digest(fmt.Sprintf("node:%d.%s", m.Index, o))}
		}
		return outs
	})
	if err != nil {
		return "", err
	}
	manifest, err := key.Manifest()
	if err != nil {
		return "", fmt.Errorf("key: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "step %s\n%s", n.Name, manifest)
	for _, o := range n.Outputs {
		fmt.Fprintf(&b, "output %s\n", o)
	}
	for _, u := range n.Needs {
		fmt.Fprintf(&b, "need %d\n", toMerged[u].Index)
	}
	return b.String(), nil
}

// adopt adds a copy of a point's node to the merged plan, wired to the
// merged upstream nodes. Nodes are adopted point by point in each point's
// topological order, so the merged order is topological too, and the
// scheduler, which prefers lower indices, finishes points in order.
func (p *Plan) adopt(n *Node, toMerged map[*Node]*Node) *Node {
	m := &Node{
		Name: n.Name, Index: len(p.Nodes), Step: n.Step, Kind: n.Kind, Schema: n.Schema,
		Params: n.Params, Files: n.Files, Env: n.Env, Outputs: n.Outputs, CPUs: n.CPUs,
	}
	for _, e := range n.Inputs {
		m.Inputs = append(m.Inputs, Edge{Name: e.Name, From: toMerged[e.From], Output: e.Output})
	}
	for _, u := range n.Needs {
		m.Needs = append(m.Needs, toMerged[u])
	}
	for _, up := range m.upstream() {
		up.downstream = append(up.downstream, m)
	}
	p.Nodes = append(p.Nodes, m)
	p.Selected[m] = true
	return m
}

// pointLabels are the points' names made fit for step names: without the
// stem every name starts with, and with only letters, digits, '_' and '-'
// (a '.' would break STEP.OUTPUT references: 8.0 becomes 8_0). Labels made
// equal by this get the start of the point's ID appended.
func pointLabels(stem string, points []PointSpec) []string {
	out := make([]string, len(points))
	seen := map[string]bool{}
	for i, pt := range points {
		name := pt.Name
		if rest, ok := strings.CutPrefix(name, stem+"-"); ok && rest != "" {
			name = rest
		}
		label := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, name)
		base := label
		for n := 8; seen[label] && n <= len(pt.ID); n += 4 {
			label = base + "-" + pt.ID[:n]
		}
		seen[label] = true
		out[i] = label
	}
	return out
}

// Record returns the points as the sweep record stores them: each
// workflow step mapped to the name of the run step that computes it.
func (s *Sweep) Record() []store.SweepPoint {
	out := make([]store.SweepPoint, len(s.Points))
	for i, p := range s.Points {
		sp := store.SweepPoint{Name: p.Name, ID: p.ID, Params: p.Params, Steps: map[string]string{}}
		if sp.Params == nil {
			sp.Params = map[string]any{}
		}
		for wf, n := range p.Steps {
			sp.Steps[wf] = n.Name
		}
		out[i] = sp
	}
	return out
}
