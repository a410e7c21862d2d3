package workflows

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// validate checks what spans steps: references, kinds, expressions, files
// and cycles. Every problem goes into l.
func validate(w *Workflow, kinds Kinds, l *errorList) {
	names := make([]string, len(w.Steps))
	for i, s := range w.Steps {
		names[i] = s.Name
	}
	paramNames := make([]string, len(w.Params))
	for i, p := range w.Params {
		paramNames[i] = p.Name
	}
	for _, s := range w.Steps {
		where := fmt.Sprintf("step %q", s.Name)
		var info KindInfo
		known := false
		if s.Kind != ExecKind && s.Kind != "" {
			if kinds != nil {
				info, known = kinds.Kind(s.Kind)
				if !known {
					l.add(s.KindPos, "%s: unknown kind %q%s; `bitflow kinds` lists them", where, s.Kind, suggest(s.Kind, kinds.KindNames()))
				}
			}
			if s.Kind == "exec" {
				l.add(s.KindPos, "%s: write shell commands as run: COMMAND rather than uses: exec", where)
			}
		}
		checkRefs(w, s, names, kinds, l)
		switch s.Kind {
		case ExecKind:
			checkExec(s, paramNames, l)
		case "":
			// neither or both of run and uses: reported already, and the
			// step's kind is unknown, so nothing else can be checked
		default:
			checkBuiltin(s, info, known, paramNames, l)
		}
		for _, f := range s.Files {
			checkFilePattern(f, where, l)
		}
	}
	checkCycles(w, l)
}

func checkRefs(w *Workflow, s *Step, names []string, kinds Kinds, l *errorList) {
	where := fmt.Sprintf("step %q", s.Name)
	for _, in := range s.Inputs {
		src := w.byName[in.Step]
		switch {
		case in.Step == s.Name:
			l.add(in.Pos, "%s: input %q refers to the step itself", where, in.Name)
		case src == nil:
			l.add(in.Pos, "%s: input %q: unknown step %q%s", where, in.Name, in.Step, suggest(in.Step, names))
		default:
			outs, ok := src.OutputNames(), true
			if src.Kind != ExecKind {
				var info KindInfo
				if kinds != nil {
					info, ok = kinds.Kind(src.Kind)
				} else {
					ok = false
				}
				outs = info.Outputs
			}
			if ok && !slices.Contains(outs, in.Output) {
				l.add(in.Pos, "%s: input %q: step %q has no output %q%s", where, in.Name, in.Step, in.Output, outputsHint(outs))
			}
		}
	}
	for _, n := range s.Needs {
		switch {
		case n.Step == s.Name:
			l.add(n.Pos, "%s: needs: a step cannot need itself", where)
		case w.byName[n.Step] == nil:
			l.add(n.Pos, "%s: needs: unknown step %q%s", where, n.Step, suggest(n.Step, names))
		}
	}
}

func outputsHint(outs []string) string {
	if len(outs) == 0 {
		return " (it declares no outputs)"
	}
	return " (outputs: " + strings.Join(outs, ", ") + ")"
}

func checkExec(s *Step, paramNames []string, l *errorList) {
	where := fmt.Sprintf("step %q", s.Name)
	if len(s.With) > 0 {
		l.add(s.With[0].Pos, "%s: with: is for built-in kinds; a run step takes its values from ${{ params.NAME }}", where)
	}
	inputNames := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		inputNames[i] = in.Name
	}
	if s.Run != "" {
		checkExprs(s.Run, s.RunPos, where+": run", map[string][]string{
			"params": paramNames, "inputs": inputNames, "outputs": s.OutputNames(),
		}, l)
	}
	for _, e := range s.Env {
		if e.Value != nil && e.Value.Kind == yamlnode.String {
			checkExprs(e.Value.Str, e.Value.Pos, where+": env."+e.Name, map[string][]string{"params": paramNames}, l)
		}
	}
}

func checkBuiltin(s *Step, info KindInfo, known bool, paramNames []string, l *errorList) {
	where := fmt.Sprintf("step %q", s.Name)
	if len(s.Outputs) > 0 {
		msg := "outputs are fixed by the kind"
		if known {
			msg += ": " + strings.Join(info.Outputs, ", ")
		}
		l.add(s.Outputs[0].Pos, "%s: outputs: %s", where, msg)
	}
	if len(s.Env) > 0 {
		l.add(s.Env[0].Pos, "%s: env: only run steps take environment variables", where)
	}
	for _, p := range s.With {
		if known && !slices.Contains(info.Params, p.Name) {
			l.add(p.Pos, "%s: with: kind %q has no parameter %q%s", where, s.Kind, p.Name, suggest(p.Name, info.Params))
		}
		walkStrings(p.Value, func(n *yamlnode.Node) {
			checkExprs(n.Str, n.Pos, where+": with."+p.Name, map[string][]string{"params": paramNames}, l)
		})
	}
	if !known {
		return
	}
	var portNames []string
	for _, in := range info.Inputs {
		portNames = append(portNames, in.Name)
	}
	given := map[string]bool{}
	for _, in := range s.Inputs {
		given[in.Name] = true
		if !slices.Contains(portNames, in.Name) {
			l.add(in.Pos, "%s: kind %q has no input %q%s", where, s.Kind, in.Name, suggest(in.Name, portNames))
		}
	}
	for _, in := range info.Inputs {
		if !in.Optional && !given[in.Name] {
			l.add(s.Pos, "%s: missing input %q required by kind %q", where, in.Name, s.Kind)
		}
	}
}

// checkExprs checks that every ${{ scope.name }} in text names something in
// allowed[scope].
func checkExprs(text string, p Pos, where string, allowed map[string][]string, l *errorList) {
	exprs, err := ParseExprs(text)
	if err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			l.add(p, "%s: %s", where, e)
		}
	}
	for _, e := range exprs {
		names, ok := allowed[e.Scope]
		if !ok {
			l.add(p, "%s: %s is not available here (only %s)", where, e, scopesOf(allowed))
			continue
		}
		if !slices.Contains(names, e.Name) {
			what := map[string]string{"params": "workflow param", "inputs": "input", "outputs": "output"}[e.Scope]
			l.add(p, "%s: %s: no %s %q is declared%s", where, e, what, e.Name, suggest(e.Name, names))
		}
	}
}

func scopesOf(allowed map[string][]string) string {
	var s []string
	for _, k := range []string{"params", "inputs", "outputs"} {
		if _, ok := allowed[k]; ok {
			s = append(s, "${{ "+k+".NAME }}")
		}
	}
	return strings.Join(s, ", ")
}

func checkFilePattern(f FileRef, where string, l *errorList) {
	p := f.Pattern
	switch {
	case strings.TrimSpace(p) == "":
		l.add(f.Pos, "%s: files: empty path", where)
	case filepath.IsAbs(p):
		l.add(f.Pos, "%s: files: %q must be relative to the workflow file's directory", where, p)
	case path.Clean(filepath.ToSlash(p)) == ".." || strings.HasPrefix(path.Clean(filepath.ToSlash(p)), "../"):
		l.add(f.Pos, "%s: files: %q leaves the workflow file's directory", where, p)
	default:
		if _, err := path.Match(p, ""); err != nil {
			l.add(f.Pos, "%s: files: bad pattern %q: %v", where, p, err)
		}
	}
}
