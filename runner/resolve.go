package runner

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// resolveWith substitutes ${{ params.* }} into a built-in step's `with:` and
// checks the values against the kind's schema.
func (p *Plan) resolveWith(n *Node, errs *workflows.Errors) {
	given := map[string]any{}
	pos := map[string]workflows.Pos{}
	for _, w := range n.Step.With {
		v, err := p.subst(w.Value)
		if err != nil {
			p.addErr(errs, w.Value.Pos, "step %q: with.%s: %v", n.Name, w.Name, err)
			continue
		}
		given[w.Name] = v
		pos[w.Name] = w.Value.Pos
	}
	vals, perrs := n.Schema.Resolve(given)
	for _, pe := range perrs {
		at, ok := pos[pe.Name]
		if !ok {
			at = n.Step.Pos
		}
		from := ""
		for _, w := range n.Step.With {
			if e, whole := workflows.WholeExpr(w.Value.Str); w.Name == pe.Name && w.Value.Kind == yamlnode.String && whole {
				from = fmt.Sprintf(" (from params.%s)", e.Name)
			}
		}
		p.addErr(errs, at, "step %q: with.%s: %s%s", n.Name, pe.Name, pe.Msg, from)
	}
	n.Params = vals
}

// resolveExec prepares a run step: its command with params substituted
// (inputs and outputs stay as placeholders until it runs) and its
// environment.
func (p *Plan) resolveExec(n *Node, lookup func(string) (string, bool), errs *workflows.Errors) {
	s := n.Step
	cmd, err := workflows.Expand(s.Run, func(e workflows.Expr) (string, bool, error) {
		if e.Scope != "params" {
			return "", false, nil
		}
		return formatParam(p.Params[e.Name]), true, nil
	})
	if err != nil {
		p.addErr(errs, s.RunPos, "step %q: run: %v", n.Name, err)
	}
	env := map[string]any{}
	for _, ev := range s.Env {
		v := EnvValue{Name: ev.Name}
		if ev.Value == nil {
			val, ok := lookup(ev.Name)
			v.Value, v.FromHost, v.Unset = val, true, !ok
		} else {
			x, err := p.subst(ev.Value)
			if err != nil {
				p.addErr(errs, ev.Value.Pos, "step %q: env.%s: %v", n.Name, ev.Name, err)
				continue
			}
			v.Value = formatParam(x)
		}
		if !v.Unset {
			env[ev.Name] = v.Value
		}
		n.Env = append(n.Env, v)
	}
	n.Params = steps.Values{"run": cmd, "env": env}
	n.Outputs = s.OutputNames()
}

func (p *Plan) addErr(errs *workflows.Errors, at workflows.Pos, format string, args ...any) {
	*errs = append(*errs, &workflows.Error{File: p.Workflow.File, Pos: at, Msg: fmt.Sprintf(format, args...)})
}

// subst converts a YAML value into a plain value, replacing ${{ params.X }}.
// A string that is exactly one expression takes the param's own type.
func (p *Plan) subst(n *yamlnode.Node) (any, error) {
	switch n.Kind {
	case yamlnode.String:
		if e, ok := workflows.WholeExpr(n.Str); ok && e.Scope == "params" {
			return p.Params[e.Name], nil
		}
		return workflows.Expand(n.Str, func(e workflows.Expr) (string, bool, error) {
			if e.Scope != "params" {
				return "", false, fmt.Errorf("%s is not available here", e)
			}
			return formatParam(p.Params[e.Name]), true, nil
		})
	case yamlnode.Seq:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			v, err := p.subst(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yamlnode.Map:
		out := make(map[string]any, len(n.Entries))
		for _, e := range n.Entries {
			v, err := p.subst(e.Value)
			if err != nil {
				return nil, err
			}
			out[e.Key] = v
		}
		return out, nil
	}
	return n.Value(), nil
}

// formatParam writes a param value into text: strings as they are, other
// values in canonical JSON (3, 0.1, true, [1,2]).
func formatParam(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	s, err := canonicalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return s
}

// fileHasher hashes `files:` once per plan, however many steps use them.
type fileHasher struct {
	digests map[string]string
}

func newFileHasher() *fileHasher { return &fileHasher{digests: map[string]string{}} }

// resolve expands a step's `files:` into files with digests. A pattern
// that matches nothing is an error; a directory stands for every file in it.
func (h *fileHasher) resolve(w *workflows.Workflow, s *workflows.Step, errs *workflows.Errors) []steps.File {
	byRel := map[string]steps.File{}
	for _, f := range s.Files {
		pattern := filepath.Join(w.Dir, filepath.FromSlash(f.Pattern))
		matches, err := filepath.Glob(pattern)
		if err == nil && len(matches) == 0 {
			err = fmt.Errorf("%q matches no file in %s", f.Pattern, w.Dir)
		}
		for _, m := range matches {
			if err != nil {
				break
			}
			err = filepath.WalkDir(m, func(path string, de fs.DirEntry, werr error) error {
				if werr != nil || de.IsDir() {
					return werr
				}
				if !de.Type().IsRegular() && de.Type()&fs.ModeSymlink == 0 {
					return nil
				}
				rel, rerr := filepath.Rel(w.Dir, path)
				if rerr != nil {
					return rerr
				}
				d, herr := h.digest(path)
				if herr != nil {
					return herr
				}
				byRel[filepath.ToSlash(rel)] = steps.File{Rel: filepath.ToSlash(rel), Path: path, Digest: d}
				return nil
			})
		}
		if err != nil {
			*errs = append(*errs, &workflows.Error{File: w.File, Pos: f.Pos, Msg: fmt.Sprintf("step %q: files: %v", s.Name, err)})
		}
	}
	out := make([]steps.File, 0, len(byRel))
	for _, f := range byRel {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}

func (h *fileHasher) digest(path string) (string, error) {
	if d, ok := h.digests[path]; ok {
		return d, nil
	}
	d, err := store.DigestFile(path)
	if err != nil {
		return "", err
	}
	h.digests[path] = string(d)
	return string(d), nil
}
