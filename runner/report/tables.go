package report

import "github.com/bitflow-dev/bitflow/internal/jsonpath"

// section is one object of a JSON report shown as table columns.
type section struct {
	kind, output, title string
	path                []string
}

// keySections are the parts of the pipeline's reports a reader looks at
// first: the QEI inputs and result, and the teacher's reference figures.
var keySections = []section{
	{"eval", "report", "eval report: qei_metrics", []string{"qei_metrics"}},
	{"eval", "report", "eval report: quality", []string{"quality"}},
	{"baseline", "report", "baseline report: metrics", []string{"metrics"}},
	{"baseline", "report", "baseline report: quality", []string{"quality"}},
}

// tables builds one table per key section that some point has: a row per
// distinct run step (a baseline shared by every point of a sweep is one
// row), labelled by the point, or by the step when it is shared.
func (l *loader) tables(r *Report) []Table {
	out := []Table{}
	for _, sec := range keySections {
		t := Table{Title: sec.title}
		seen := map[string]bool{}
		for _, p := range r.Points {
			wf := l.stepOfKind(p, sec.kind)
			if wf == "" && l.step(p, sec.kind) != nil {
				wf = sec.kind // an exec step standing in for the kind
			}
			if wf == "" || seen[p.steps[wf]] {
				continue
			}
			seen[p.steps[wf]] = true
			b, err := l.output(p, wf, sec.output)
			if err != nil {
				continue
			}
			v, err := jsonpath.Decode(b)
			if err != nil {
				continue
			}
			obj, ok := jsonpath.Lookup(v, sec.path)
			if _, isObj := obj.(map[string]any); !ok || !isObj {
				continue
			}
			if t.Columns == nil {
				t.Columns = append([]string{"point"}, objectKeys(b, sec.path)...)
				if sec.kind == "baseline" {
					t.Columns[0] = "step"
				}
			}
			label := p.Name
			if sec.kind == "baseline" {
				label = p.steps[wf]
			}
			row := []string{label}
			for _, k := range t.Columns[1:] {
				cell := ""
				if x, ok := jsonpath.Lookup(obj, []string{k}); ok {
					cell = format(x)
				}
				row = append(row, cell)
			}
			t.Rows = append(t.Rows, row)
		}
		if len(t.Rows) > 0 {
			out = append(out, t)
		}
	}
	return out
}
