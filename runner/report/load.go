// Package report gathers what a run or a sweep produced — its record, each
// point's report metrics, quality, size and training curve — and renders
// it as plots (gonum/plot, PNG and SVG) and one self-contained HTML page.
// It reads the store only; it never prints.
package report

import (
	"fmt"
	"github.com/bitflow-dev/bitflow/internal/jsonpath"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// Options choose what the report shows.
type Options struct {
	// Quality is the metric plotted against total bits
	// (STEP.OUTPUT.json.path). Empty: the eval report's field accuracy,
	// else the sweep's first `report:` metric.
	Quality string
}

// Report is everything a report page shows, gathered from the store.
type Report struct {
	Run   *store.RunRecord   `json:"run"`
	Sweep *store.SweepRecord `json:"sweep,omitempty"`
	// Varying are the params whose values differ across points, sorted.
	Varying []string `json:"varying"`
	// Metrics are the columns of the points table: the sweep's `report:`
	// list.
	Metrics []string `json:"metrics"`
	Points  []*Point `json:"points"`
	// Quality is the metric on the y axis of the quality plot; Bits says
	// where the x axis comes from.
	Quality string `json:"quality_metric"`
	Bits    string `json:"bits_source"`
	// Tables are the key JSON reports (qei_metrics, baseline metrics).
	Tables []Table `json:"tables"`
	// Notes say what could not be read, so that a gap in a table or a
	// plot is explained rather than silent.
	Notes []string `json:"notes,omitempty"`
}

// Point is one point of a sweep (a plain run is one point).
type Point struct {
	Name   string         `json:"name"`
	Label  string         `json:"label"` // the name without the sweep's stem, for plots
	Params map[string]any `json:"params,omitempty"`
	Status string         `json:"status"`
	// Values are the point's metrics, aligned with Report.Metrics ("" when
	// missing).
	Values []string `json:"values"`
	// Quality and TotalBits place the point on the quality plot (nil when
	// unknown).
	Quality   *float64 `json:"quality,omitempty"`
	TotalBits *float64 `json:"total_bits,omitempty"`
	// BitsFrom is "total_bits" (training metrics) or "packed_bytes" (eval
	// report), the source of TotalBits.
	BitsFrom string `json:"bits_from,omitempty"`
	// Curve is training loss against step from the student's metrics.
	Curve []XY `json:"curve,omitempty"`

	steps map[string]string // workflow step -> run step
}

// XY is one point of a curve.
type XY struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Table is a small table of figures from a JSON report.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// loader reads a run's outputs, caching objects shared by several points.
type loader struct {
	st    *store.Store
	rec   *store.RunRecord
	steps map[string]*store.StepRecord // by run step name
	cache map[store.Digest][]byte
	notes []string
}

// Load gathers the report of a run (a sweep if it has a sweep record).
func Load(st *store.Store, runID string, opt Options) (*Report, error) {
	rec, err := st.ReadRun(runID)
	if err != nil {
		return nil, err
	}
	sw, err := st.ReadSweep(runID)
	if err != nil {
		return nil, err
	}
	l := &loader{st: st, rec: rec, steps: map[string]*store.StepRecord{}, cache: map[store.Digest][]byte{}}
	for i := range rec.Steps {
		l.steps[rec.Steps[i].Name] = &rec.Steps[i]
	}
	r := &Report{Run: rec, Sweep: sw, Varying: []string{}, Metrics: []string{}}
	r.Points = l.points(sw)
	if sw != nil {
		r.Metrics = append(r.Metrics, sw.Report...)
		r.Varying = varying(r.Points, sw.ParamOrder)
	}
	for _, p := range r.Points {
		p.Values = make([]string, len(r.Metrics))
		for i, m := range r.Metrics {
			v, err := l.metric(p, m)
			if err != nil {
				l.note("%s: %s: %v", p.Name, m, err)
				continue
			}
			p.Values[i] = format(v)
		}
	}
	r.Quality = l.qualityMetric(r, opt.Quality)
	r.Bits = l.placePoints(r)
	r.Tables = l.tables(r)
	r.Notes = l.notes
	return r, nil
}

func (l *loader) note(format string, args ...any) {
	l.notes = append(l.notes, fmt.Sprintf(format, args...))
}

// points lists the sweep's points, or the run as its only point with
// every step standing for itself.
func (l *loader) points(sw *store.SweepRecord) []*Point {
	if sw == nil {
		p := &Point{Name: l.rec.Workflow, Label: l.rec.Workflow, Params: l.rec.Params, steps: map[string]string{}}
		for _, s := range l.rec.Steps {
			p.steps[s.Name] = s.Name
		}
		p.Status = l.pointStatus(p)
		return []*Point{p}
	}
	var ps []*Point
	for _, sp := range sw.Points {
		p := &Point{Name: sp.Name, Label: strings.TrimPrefix(sp.Name, sw.Stem+"-"), Params: sp.Params, steps: sp.Steps}
		if p.Label == "" {
			p.Label = sp.Name
		}
		p.Status = l.pointStatus(p)
		ps = append(ps, p)
	}
	return ps
}

// pointStatus is "ok" when every step of the point ran or was cached,
// "failed" when one failed, otherwise the first other status in
// workflow-step order ("skipped", "started" for an unfinished run,
// "missing" when the run record has no such step).
func (l *loader) pointStatus(p *Point) string {
	status := "ok"
	for _, wf := range sortedKeys(p.steps) {
		s := l.steps[p.steps[wf]]
		switch {
		case s == nil:
			if status == "ok" {
				status = "missing"
			}
		case s.Status == store.StepFailed:
			return "failed"
		case s.Status != store.StepRan && s.Status != store.StepCached && status == "ok":
			status = s.Status
		}
	}
	return status
}

// step returns the run step computing workflow step wf for p.
func (l *loader) step(p *Point, wf string) *store.StepRecord {
	if name, ok := p.steps[wf]; ok {
		return l.steps[name]
	}
	return nil
}

// stepOfKind returns the first workflow step (by name) of p whose kind is
// kind, or "".
func (l *loader) stepOfKind(p *Point, kind string) string {
	for _, wf := range sortedKeys(p.steps) {
		if s := l.step(p, wf); s != nil && s.Kind == kind {
			return wf
		}
	}
	return ""
}

// output returns the bytes of output out of workflow step wf for p.
func (l *loader) output(p *Point, wf, out string) ([]byte, error) {
	s := l.step(p, wf)
	if s == nil {
		return nil, fmt.Errorf("no step %q", wf)
	}
	o, ok := s.Outputs[out]
	if !ok {
		if s.Status != store.StepRan && s.Status != store.StepCached {
			return nil, fmt.Errorf("step %s %s", wf, s.Status)
		}
		return nil, fmt.Errorf("step %s has no output %q", wf, out)
	}
	if o.Type == store.TypeTree {
		return nil, fmt.Errorf("%s.%s is a directory", wf, out)
	}
	if b, ok := l.cache[o.Digest]; ok {
		return b, nil
	}
	b, err := l.st.ReadObject(o.Digest)
	if err != nil {
		return nil, err
	}
	l.cache[o.Digest] = b
	return b, nil
}

// metric reads a `STEP.OUTPUT.json.path` metric for p.
func (l *loader) metric(p *Point, m string) (any, error) {
	ref, err := ParseMetric(m)
	if err != nil {
		return nil, err
	}
	b, err := l.output(p, ref.Step, ref.Output)
	if err != nil {
		return nil, err
	}
	return jsonpath.Extract(b, ref.Path)
}

// varying returns the params whose values are not the same in every
// point (a param absent from some points varies too), in the
// exploration's order (order), then the others by name.
func varying(ps []*Point, order []string) []string {
	seen := map[string]bool{}
	for _, p := range ps {
		for k := range p.Params {
			seen[k] = true
		}
	}
	var names []string
	for _, k := range order {
		if seen[k] {
			names = append(names, k)
			delete(seen, k)
		}
	}
	names = append(names, sortedKeys(seen)...)
	out := []string{}
	if len(ps) == 0 {
		return out
	}
	for _, k := range names {
		first := paramString(ps[0].Params, k)
		for _, p := range ps[1:] {
			if paramString(p.Params, k) != first {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// paramString renders a param's value as JSON ("" when absent).
func paramString(params map[string]any, k string) string {
	v, ok := params[k]
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		// As the exploration names write numbers (1e-06, not 0.000001);
		// whole numbers without an exponent.
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 0, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return format(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
