package runner

import (
	"errors"
	"fmt"
	"github.com/bitflow-dev/bitflow/internal/jsonpath"
	"reflect"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// Results is a sweep's results table: one row per point, with the params
// that vary across points and the exploration's `report:` metrics.
type Results struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	// Params are the varying params, in the exploration's order.
	Params []string `json:"params"`
	// Metrics are the `report:` entries, as written.
	Metrics []string    `json:"metrics"`
	Rows    []ResultRow `json:"rows"`
}

// ResultRow is one point's row.
type ResultRow struct {
	Point  string `json:"point"`
	ID     string `json:"id"`
	Status string `json:"status"`
	// Params holds the point's values of the varying params; a param the
	// point leaves at the workflow's default is absent.
	Params map[string]any `json:"params"`
	// Metrics holds each metric's value as the step wrote it (numbers are
	// json.Number, so that 0.10 stays 0.10); a missing metric is absent
	// and Missing says why.
	Metrics map[string]any    `json:"metrics"`
	Missing map[string]string `json:"missing,omitempty"`
}

// SweepResults builds the results table of a sweep run from its records
// and the outputs in the store. A metric that cannot be read (the point
// failed, the key is not in the output) is left out of its row and
// explained in Missing; only a store failure is an error.
func SweepResults(st *store.Store, run *store.RunRecord, sw *store.SweepRecord) (*Results, error) {
	res := &Results{RunID: run.ID, Status: run.Status, Params: varyingParams(sw), Metrics: append([]string{}, sw.Report...)}
	steps := map[string]*store.StepRecord{}
	for i := range run.Steps {
		steps[run.Steps[i].Name] = &run.Steps[i]
	}
	objects := map[store.Digest][]byte{}
	for _, pt := range sw.Points {
		row := ResultRow{Point: pt.Name, ID: pt.ID, Status: PointStatus(run, pt), Params: map[string]any{}, Metrics: map[string]any{}}
		for _, name := range res.Params {
			if v, ok := pt.Params[name]; ok {
				row.Params[name] = v
			}
		}
		for _, m := range sw.Report {
			v, err := readMetric(st, steps, objects, pt, m)
			if err == nil {
				row.Metrics[m] = v
				continue
			}
			var se *storeError
			if errors.As(err, &se) {
				return nil, se.err
			}
			if row.Missing == nil {
				row.Missing = map[string]string{}
			}
			row.Missing[m] = err.Error()
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// varyingParams are the params whose values are not the same in every
// point (a param some points leave out varies too), in ParamOrder, then
// any the order does not list, sorted.
func varyingParams(sw *store.SweepRecord) []string {
	order := append([]string{}, sw.ParamOrder...)
	var rest []string
	for _, pt := range sw.Points {
		for name := range pt.Params {
			if !slices.Contains(order, name) && !slices.Contains(rest, name) {
				rest = append(rest, name)
			}
		}
	}
	slices.Sort(rest)
	out := []string{}
	if len(sw.Points) == 0 {
		return out
	}
	for _, name := range append(order, rest...) {
		first, firstOK := sw.Points[0].Params[name]
		for _, pt := range sw.Points[1:] {
			v, ok := pt.Params[name]
			if ok != firstOK || !reflect.DeepEqual(v, first) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// storeError marks a failure to read the store, as opposed to a metric
// that is simply not there.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }

// readMetric reads `STEP.OUTPUT.json.path` for a point: STEP is the
// workflow step, which the sweep record maps to the run step of this
// point. A JSON output is looked up directly; a JSON-lines output (a
// training metrics log) gives the value from its last line that has the
// key, the figure at the end of training.
func readMetric(st *store.Store, steps map[string]*store.StepRecord, objects map[store.Digest][]byte, pt store.SweepPoint, metric string) (any, error) {
	parts := strings.Split(metric, ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("expected STEP.OUTPUT.json.path")
	}
	runStep, ok := pt.Steps[parts[0]]
	if !ok {
		return nil, fmt.Errorf("the workflow has no step %q", parts[0])
	}
	sr := steps[runStep]
	if sr == nil || len(sr.Outputs) == 0 {
		status := "did not run"
		if sr != nil {
			status = sr.Status
		}
		return nil, fmt.Errorf("step %s %s", runStep, status)
	}
	o, ok := sr.Outputs[parts[1]]
	if !ok {
		return nil, fmt.Errorf("step %s has no output %q", runStep, parts[1])
	}
	if o.Type == store.TypeTree {
		return nil, fmt.Errorf("%s.%s is a directory", runStep, parts[1])
	}
	data, ok := objects[o.Digest]
	if !ok {
		b, err := st.ReadObject(o.Digest)
		if err != nil {
			return nil, &storeError{fmt.Errorf("%s.%s: %w", runStep, parts[1], err)}
		}
		data, objects[o.Digest] = b, b
	}
	v, err := jsonpath.Extract(data, parts[2:])
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %w", runStep, parts[1], err)
	}
	return v, nil
}
