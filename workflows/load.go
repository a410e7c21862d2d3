package workflows

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// Kinds tells the loader what it needs to know about the built-in kinds, so
// that this package need not import them.
type Kinds interface {
	// Kind describes the kind called name, or returns false if there is none.
	Kind(name string) (KindInfo, bool)
	// KindNames lists every kind, for suggestions.
	KindNames() []string
}

// KindInfo is a built-in kind's interface as the loader sees it.
type KindInfo struct {
	Inputs  []KindInput
	Outputs []string
	Params  []string
}

// KindInput is one input port of a kind.
type KindInput struct {
	Name     string
	Optional bool
}

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
)

var (
	topKeys      = []string{"name", "description", "params", "executor", "steps"}
	stepKeys     = []string{"run", "uses", "with", "inputs", "outputs", "needs", "files", "env", "cpus", "resources", "description"}
	resourceKeys = []string{"cpus", "mem", "time", "partition"}
	executors    = []string{"local", "slurm"}
)

// LoadFile reads and validates the workflow file at path.
func LoadFile(path string, kinds Kinds) (*Workflow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	return Load(path, data, kinds)
}

// Load decodes and validates a workflow. file names it in errors and
// locates relative `files:` entries. On failure the error is Errors, with
// every problem found. kinds may be nil, in which case `uses:` steps are not
// checked against a registry.
func Load(file string, data []byte, kinds Kinds) (*Workflow, error) {
	l := &errorList{file: file}
	w := &Workflow{File: file, Dir: filepath.Dir(file), Source: data, byName: map[string]*Step{}}
	docs, err := yamlnode.Parse(data)
	if err != nil {
		var yes yamlnode.Errors
		if !errors.As(err, &yes) {
			return nil, err
		}
		for _, e := range yes {
			l.add(e.Pos, "%s", e.Msg)
		}
		if docs == nil {
			return nil, l.err()
		}
	}
	switch {
	case len(docs) == 0:
		l.add(Pos{}, "empty workflow: expected a mapping with name, params and steps")
		return nil, l.err()
	case len(docs) > 1:
		l.add(docs[1].Pos, "a workflow file holds one YAML document, found %d", len(docs))
	}
	root := docs[0]
	if root.Kind != yamlnode.Map {
		l.add(root.Pos, "a workflow must be a mapping with name, params and steps, not %s", root.Kind)
		return nil, l.err()
	}
	d := &decoder{errorList: l, w: w}
	d.top(root)
	if l.err() == nil || len(w.Steps) > 0 {
		validate(w, kinds, l)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return w, nil
}

type decoder struct {
	*errorList
	w *Workflow
}

func (d *decoder) top(root *yamlnode.Node) {
	var stepsNode *yamlnode.Node
	for _, e := range root.Entries {
		switch e.Key {
		case "name":
			if s, ok := d.str(e.Value, "name"); ok {
				if !nameRE.MatchString(s) {
					d.add(e.Value.Pos, "name %q: use letters, digits, '_', '-' and '.'", s)
				}
				d.w.Name = s
			}
		case "description":
			d.w.Description, _ = d.str(e.Value, "description")
		case "params":
			d.w.Params = d.params(e.Value, "params", true)
		case "executor":
			if x, ok := d.str(e.Value, "executor"); ok {
				if !slices.Contains(executors, x) {
					d.add(e.Value.Pos, "executor %q: expected one of %s", x, strings.Join(executors, ", "))
				}
				d.w.Executor = x
			}
		case "steps":
			stepsNode = e.Value
		default:
			d.add(e.KeyPos, "unknown key %q%s; a workflow has %s", e.Key, suggest(e.Key, topKeys), strings.Join(topKeys, ", "))
		}
	}
	if d.w.Name == "" {
		d.w.Name = strings.TrimSuffix(filepath.Base(d.w.File), filepath.Ext(d.w.File))
	}
	switch {
	case stepsNode == nil:
		d.add(root.Pos, "missing key \"steps\": a workflow needs at least one step")
	case stepsNode.Kind != yamlnode.Map:
		d.add(stepsNode.Pos, "steps: expected a mapping of step names to steps, not %s", stepsNode.Kind)
	case len(stepsNode.Entries) == 0:
		d.add(stepsNode.Pos, "steps: a workflow needs at least one step")
	default:
		for _, e := range stepsNode.Entries {
			if s := d.step(e); s != nil {
				d.w.Steps = append(d.w.Steps, s)
				d.w.byName[s.Name] = s
			}
		}
	}
}

// str expects a string scalar. Numbers and booleans are accepted as their
// text where a string is wanted (a name like 2024 is still a name).
func (d *decoder) str(n *yamlnode.Node, field string) (string, bool) {
	if !n.IsScalar() || n.Kind == yamlnode.Null {
		d.add(n.Pos, "%s: expected a string, not %s", field, n.Kind)
		return "", false
	}
	return n.Text(), true
}

func (d *decoder) params(n *yamlnode.Node, field string, top bool) []Param {
	if n.Kind == yamlnode.Null {
		return nil
	}
	if n.Kind != yamlnode.Map {
		d.add(n.Pos, "%s: expected a mapping of names to values, not %s", field, n.Kind)
		return nil
	}
	var out []Param
	for _, e := range n.Entries {
		if !identRE.MatchString(e.Key) {
			d.add(e.KeyPos, "%s: invalid name %q: use letters, digits, '_' and '-', starting with a letter or '_'", field, e.Key)
			continue
		}
		if top {
			walkStrings(e.Value, func(s *yamlnode.Node) {
				if strings.Contains(s.Str, "${{") {
					d.add(s.Pos, "params.%s: workflow params are plain values; expressions are not allowed here", e.Key)
				}
			})
		}
		out = append(out, Param{Name: e.Key, Pos: e.KeyPos, Value: e.Value})
	}
	return out
}

func (d *decoder) step(e yamlnode.Entry) *Step {
	s := &Step{Name: e.Key, Pos: e.KeyPos}
	if !identRE.MatchString(s.Name) {
		d.add(e.KeyPos, "invalid step name %q: use letters, digits, '_' and '-', starting with a letter or '_'", s.Name)
		return nil
	}
	n := e.Value
	if n.Kind != yamlnode.Map {
		d.add(n.Pos, "step %q: expected a mapping (run or uses, inputs, outputs, ...), not %s", s.Name, n.Kind)
		return nil
	}
	where := fmt.Sprintf("step %q", s.Name)
	hasRun, hasUses := false, false
	for _, f := range n.Entries {
		v := f.Value
		switch f.Key {
		case "run":
			hasRun = true
			if cmd, ok := d.str(v, where+": run"); ok {
				if strings.TrimSpace(cmd) == "" {
					d.add(v.Pos, "%s: run: the command is empty", where)
				}
				s.Run, s.RunPos = cmd, v.Pos
			}
		case "uses":
			hasUses = true
			if k, ok := d.str(v, where+": uses"); ok {
				s.Kind, s.KindPos = k, v.Pos
			}
		case "with":
			s.With = d.params(v, where+": with", false)
		case "inputs":
			s.Inputs = d.inputs(v, where)
		case "outputs":
			for _, it := range d.strList(v, where+": outputs") {
				if !identRE.MatchString(it.Str) {
					d.add(it.Pos, "%s: invalid output name %q", where, it.Str)
					continue
				}
				s.Outputs = append(s.Outputs, Output{Name: it.Str, Pos: it.Pos})
			}
		case "needs":
			for _, it := range d.strList(v, where+": needs") {
				s.Needs = append(s.Needs, Need{Step: it.Str, Pos: it.Pos})
			}
		case "files":
			for _, it := range d.strList(v, where+": files") {
				s.Files = append(s.Files, FileRef{Pattern: it.Str, Pos: it.Pos})
			}
		case "env":
			s.Env = d.env(v, where)
		case "cpus":
			if v.Kind != yamlnode.Int || v.Int < 1 {
				d.add(v.Pos, "%s: cpus: expected a positive integer, not %s", where, v.ScalarString())
			} else {
				s.CPUs, s.CPUsPos = int(v.Int), v.Pos
			}
		case "resources":
			s.Resources = d.resources(v, where)
		case "description":
			s.Description, _ = d.str(v, where+": description")
		default:
			d.add(f.KeyPos, "%s: unknown key %q%s", where, f.Key, suggest(f.Key, stepKeys))
		}
	}
	switch {
	case hasRun && hasUses:
		d.add(s.Pos, "%s: has both run and uses; a step is either a shell command (run) or a built-in kind (uses)", where)
		s.Kind = ""
	case !hasRun && !hasUses:
		d.add(s.Pos, "%s: needs run (a shell command) or uses (a built-in kind)", where)
	case hasRun:
		s.Kind, s.KindPos = ExecKind, s.RunPos
	}
	return s
}

// resources reads a step's cluster resource requests.
func (d *decoder) resources(n *yamlnode.Node, where string) *Resources {
	if n.Kind != yamlnode.Map {
		d.add(n.Pos, "%s: resources: expected a mapping (%s), not %s", where, strings.Join(resourceKeys, ", "), n.Kind)
		return nil
	}
	r := &Resources{Pos: n.Pos}
	for _, e := range n.Entries {
		v := e.Value
		switch e.Key {
		case "cpus":
			if v.Kind != yamlnode.Int || v.Int < 1 {
				d.add(v.Pos, "%s: resources: cpus: expected a positive integer, not %s", where, v.ScalarString())
			} else {
				r.CPUs = int(v.Int)
			}
		case "mem":
			if v.Kind == yamlnode.Int && v.Int > 0 {
				r.Mem = fmt.Sprintf("%dM", v.Int)
			} else if m, ok := d.str(v, where+": resources: mem"); ok {
				if !memRE.MatchString(m) {
					d.add(v.Pos, "%s: resources: mem %q: expected megabytes or a size such as 500M, 4G", where, m)
				}
				r.Mem = m
			}
		case "time":
			if t, ok := d.str(v, where+": resources: time"); ok {
				if !timeRE.MatchString(t) {
					d.add(v.Pos, "%s: resources: time %q: expected minutes, MM:SS, HH:MM:SS or D-HH:MM:SS", where, t)
				}
				r.Time = t
			}
		case "partition":
			if p, ok := d.str(v, where+": resources: partition"); ok {
				if !partitionRE.MatchString(p) {
					d.add(v.Pos, "%s: resources: partition %q: expected a partition name", where, p)
				}
				r.Partition = p
			}
		default:
			d.add(e.KeyPos, "%s: resources: unknown key %q%s; resources are %s", where, e.Key, suggest(e.Key, resourceKeys), strings.Join(resourceKeys, ", "))
		}
	}
	return r
}

var (
	memRE       = regexp.MustCompile(`^[0-9]+[KMGT]?$`)
	timeRE      = regexp.MustCompile(`^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$`)
	partitionRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$`)
)

// strList accepts a list of strings, or a single string as a list of one.
func (d *decoder) strList(n *yamlnode.Node, field string) []*yamlnode.Node {
	var items []*yamlnode.Node
	switch {
	case n.Kind == yamlnode.Seq:
		items = n.Items
	case n.IsScalar() && n.Kind != yamlnode.Null:
		items = []*yamlnode.Node{n}
	default:
		d.add(n.Pos, "%s: expected a list of strings, not %s", field, n.Kind)
		return nil
	}
	var out []*yamlnode.Node
	seen := map[string]bool{}
	for _, it := range items {
		if !it.IsScalar() || it.Kind == yamlnode.Null {
			d.add(it.Pos, "%s: expected a string, not %s", field, it.Kind)
			continue
		}
		s := &yamlnode.Node{Kind: yamlnode.String, Pos: it.Pos, Str: it.Text(), Raw: it.Raw}
		if seen[s.Str] {
			d.add(it.Pos, "%s: %q is listed twice", field, s.Str)
			continue
		}
		seen[s.Str] = true
		out = append(out, s)
	}
	return out
}

func (d *decoder) inputs(n *yamlnode.Node, where string) []Input {
	if n.Kind != yamlnode.Map {
		d.add(n.Pos, "%s: inputs: expected a mapping of NAME: STEP.OUTPUT, not %s", where, n.Kind)
		return nil
	}
	var out []Input
	for _, e := range n.Entries {
		if !identRE.MatchString(e.Key) {
			d.add(e.KeyPos, "%s: invalid input name %q", where, e.Key)
			continue
		}
		ref, ok := d.str(e.Value, where+": inputs."+e.Key)
		if !ok {
			continue
		}
		st, out0, found := strings.Cut(ref, ".")
		if !found || !identRE.MatchString(st) || !identRE.MatchString(out0) {
			d.add(e.Value.Pos, "%s: input %q: expected STEP.OUTPUT, got %q", where, e.Key, ref)
			continue
		}
		out = append(out, Input{Name: e.Key, Step: st, Output: out0, Pos: e.Value.Pos})
	}
	return out
}

func (d *decoder) env(n *yamlnode.Node, where string) []EnvVar {
	var out []EnvVar
	check := func(name string, p Pos) bool {
		if !envNameRE.MatchString(name) {
			d.add(p, "%s: env: invalid variable name %q", where, name)
			return false
		}
		return true
	}
	switch n.Kind {
	case yamlnode.Seq:
		for _, it := range d.strList(n, where+": env") {
			if check(it.Str, it.Pos) {
				out = append(out, EnvVar{Name: it.Str, Pos: it.Pos})
			}
		}
	case yamlnode.Map:
		for _, e := range n.Entries {
			if !check(e.Key, e.KeyPos) {
				continue
			}
			if !e.Value.IsScalar() {
				d.add(e.Value.Pos, "%s: env.%s: expected a string, not %s", where, e.Key, e.Value.Kind)
				continue
			}
			out = append(out, EnvVar{Name: e.Key, Value: e.Value, Pos: e.KeyPos})
		}
	default:
		d.add(n.Pos, "%s: env: expected a list of variable names or a mapping of NAME: VALUE, not %s", where, n.Kind)
	}
	return out
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// walkStrings calls fn for every string scalar in n.
func walkStrings(n *yamlnode.Node, fn func(*yamlnode.Node)) {
	switch n.Kind {
	case yamlnode.String:
		fn(n)
	case yamlnode.Seq:
		for _, it := range n.Items {
			walkStrings(it, fn)
		}
	case yamlnode.Map:
		for _, e := range n.Entries {
			walkStrings(e.Value, fn)
		}
	}
}
