package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/builtin"
	"github.com/bitflow-dev/bitflow/workflows"
)

// registry is the set of kinds the CLI runs with.
var registry = builtin.Registry()

// sources keeps the text of loaded workflow files so that errors can show
// the offending line.
var sources = map[string][]byte{}

// loadWorkflow reads a workflow file, or a shipped workflow by name
// (`bitflow run hello`) when no such file exists.
func loadWorkflow(ref string) (*workflows.Workflow, error) {
	data, err := os.ReadFile(ref)
	file := ref
	if errors.Is(err, fs.ErrNotExist) {
		if shipped, ok := workflows.Shipped(ref); ok {
			data, err, file = shipped, nil, "workflows/"+strings.TrimSuffix(ref, ".yaml")+".yaml"
		} else {
			names := strings.Join(workflows.ShippedNames(), ", ")
			return nil, usageErr("workflow %s: no such file (shipped workflows: %s)", ref, names)
		}
	}
	if err != nil {
		return nil, usageErr("workflow %s: %v", ref, err)
	}
	sources[file] = data
	w, err := workflows.Load(file, data, runner.LoaderKinds(registry))
	if err != nil {
		return nil, &exitError{ExitInvalid, err}
	}
	return w, nil
}

// plan loads a workflow and plans it with --set overrides and targets.
func plan(ref string, sets, targets []string) (*runner.Plan, error) {
	w, err := loadWorkflow(ref)
	if err != nil {
		return nil, err
	}
	p, err := runner.NewPlan(w, registry, runner.Options{Sets: sets, Targets: targets})
	var ue *runner.UsageError
	var we workflows.Errors
	switch {
	case errors.As(err, &ue):
		return nil, &exitError{ExitUsage, err}
	case errors.As(err, &we):
		return nil, &exitError{ExitInvalid, err}
	case err != nil:
		return nil, err
	}
	return p, nil
}

// renderError formats an error for a person: each workflow error with the
// line it points at and a caret under the column.
func renderError(err error) string {
	var we workflows.Errors
	if !errors.As(err, &we) || len(we) == 0 {
		return err.Error()
	}
	var b strings.Builder
	// The first line says what is wrong where, so that it reads on its own
	// (`bitflow validate: flow.yaml: 1 problem`); the problems follow.
	count := fmt.Sprintf("%d problem", len(we))
	if len(we) != 1 {
		count += "s"
	}
	file := we[0].File
	for _, e := range we {
		if e.File != file {
			file = ""
		}
	}
	if file != "" {
		count = file + ": " + count
	}
	b.WriteString(count + "\n")
	for _, e := range we {
		b.WriteString(e.Error() + "\n")
		if line, ok := sourceLine(e.File, e.Pos.Line); ok && e.Pos.Col > 0 {
			fmt.Fprintf(&b, "  %4d | %s\n       | %s^\n", e.Pos.Line, line, caretPad(line, e.Pos.Col))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func sourceLine(file string, n int) (string, bool) {
	src, ok := sources[file]
	if !ok || n <= 0 {
		return "", false
	}
	lines := strings.Split(string(src), "\n")
	if n > len(lines) {
		return "", false
	}
	return strings.TrimRight(lines[n-1], "\r"), true
}

// caretPad returns the spacing that puts a caret under column col (1-based,
// in characters), keeping tabs so the caret lines up.
func caretPad(line string, col int) string {
	var b strings.Builder
	i := 0
	for _, r := range line {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteRune('\t')
		} else {
			b.WriteRune(' ')
		}
		i++
	}
	return b.String()
}

// kindSchema returns a kind's schema for display.
func kindSchema(name string) (steps.Step, bool) { return registry.Get(name) }
