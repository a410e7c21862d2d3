// Package diff compares runs of the store: their params, steps, metrics
// and outputs, reading the outputs that changed by their content (JSON,
// JSONL metrics, Parquet, safetensors checkpoints). It returns structures;
// the cli renders them.
package diff

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// Report compares a base run with one or more other runs.
type Report struct {
	Base        RunInfo      `json:"base"`
	Comparisons []Comparison `json:"comparisons"`
}

// RunInfo names a compared run.
type RunInfo struct {
	ID       string `json:"run_id"`
	Workflow string `json:"workflow"`
	Status   string `json:"status"`
	Sweep    bool   `json:"sweep"`
}

// Comparison is the diff of one run against the base.
type Comparison struct {
	Other  RunInfo `json:"other"`
	Params []Value `json:"params,omitempty"`
	// Sets compares the --set lists when they differ.
	Sets *Value `json:"set,omitempty"`
	// Steps holds every step of either run, matched by name.
	Steps []StepDiff `json:"steps"`
	// Metrics holds the action records' metrics (STEP.METRIC) and the
	// numeric fields of measurement reports (STEP.OUTPUT.PATH).
	Metrics []Value    `json:"metrics,omitempty"`
	Sweep   *SweepDiff `json:"sweep,omitempty"`
}

// StepDiff compares one step of both runs.
type StepDiff struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Change      string       `json:"change"`
	BaseStatus  string       `json:"base_status,omitempty"`
	OtherStatus string       `json:"other_status,omitempty"`
	BaseAction  string       `json:"base_action,omitempty"`
	OtherAction string       `json:"other_action,omitempty"`
	Outputs     []OutputDiff `json:"outputs,omitempty"`
}

// OutputDiff compares one output of a step; Content is set for outputs
// whose digests differ.
type OutputDiff struct {
	Name    string       `json:"name"`
	Change  string       `json:"change"`
	Base    store.Digest `json:"base,omitempty"`
	Other   store.Digest `json:"other,omitempty"`
	Content *Content     `json:"content,omitempty"`
	// Note says why the content could not be compared (an object
	// collected by gc).
	Note string `json:"note,omitempty"`
}

// Options adjusts a comparison.
type Options struct {
	// Measurement reports whether an output of a kind is a measurement
	// report, whose numeric fields enter the metrics.
	Measurement func(kind, output string) bool
	// MaxBytes bounds the size of an object read for a content diff
	// (default 1 GiB); a larger one is compared by digest only.
	MaxBytes int64
}

// differ holds what one Report shares: the store and a cache of content
// diffs, since sweeps compare the same pair of objects under many points.
type differ struct {
	st    *store.Store
	opt   Options
	cache map[[2]store.Digest]*Content
}

// Runs compares the run ids[0] with each of ids[1:]. The IDs must be
// resolved (store.ResolveRun). Errors are the store's.
func Runs(st *store.Store, ids []string, opt Options) (*Report, error) {
	if len(ids) < 2 {
		return nil, errors.New("diff: need at least two runs")
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 1 << 30
	}
	d := &differ{st: st, opt: opt, cache: map[[2]store.Digest]*Content{}}
	base, baseSweep, err := d.load(ids[0])
	if err != nil {
		return nil, err
	}
	rep := &Report{Base: info(base, baseSweep)}
	for _, id := range ids[1:] {
		other, otherSweep, err := d.load(id)
		if err != nil {
			return nil, err
		}
		c, err := d.compare(base, other, baseSweep, otherSweep)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, *c)
	}
	return rep, nil
}

func (d *differ) load(id string) (*store.RunRecord, *store.SweepRecord, error) {
	rec, err := d.st.ReadRun(id)
	if err != nil {
		return nil, nil, err
	}
	sw, err := d.st.ReadSweep(id)
	if err != nil {
		return nil, nil, err
	}
	return rec, sw, nil
}

func info(r *store.RunRecord, sw *store.SweepRecord) RunInfo {
	return RunInfo{ID: r.ID, Workflow: r.Workflow, Status: r.Status, Sweep: sw != nil}
}

func (d *differ) compare(a, b *store.RunRecord, sa, sb *store.SweepRecord) (*Comparison, error) {
	c := &Comparison{Other: info(b, sb), Params: compareMaps(a.Params, b.Params, false)}
	if !slices.Equal(a.Sets, b.Sets) {
		v := compareValue("set", strings.Join(a.Sets, " "), strings.Join(b.Sets, " "), true, true)
		c.Sets = &v
	}
	var err error
	if c.Steps, c.Metrics, err = d.steps(named(a.Steps, nil), named(b.Steps, nil)); err != nil {
		return nil, err
	}
	if c.Sweep, err = d.sweeps(a, b, sa, sb); err != nil {
		return nil, err
	}
	return c, nil
}

// namedStep is a step record under the name it is compared by.
type namedStep struct {
	name string
	rec  *store.StepRecord
}

// named lists a run's steps, renamed through rename (workflow step ->
// run step) when it is given: a sweep point's steps are compared by
// their workflow names.
func named(steps []store.StepRecord, rename map[string]string) []namedStep {
	var out []namedStep
	if rename == nil {
		for i := range steps {
			out = append(out, namedStep{steps[i].Name, &steps[i]})
		}
		return out
	}
	byName := map[string]*store.StepRecord{}
	for i := range steps {
		byName[steps[i].Name] = &steps[i]
	}
	for _, wf := range sortedKeys(rename) {
		if r := byName[rename[wf]]; r != nil {
			out = append(out, namedStep{wf, r})
		}
	}
	return out
}

// steps compares two lists of steps by name (base order, then the other's
// new steps) and collects their metrics.
func (d *differ) steps(a, b []namedStep) ([]StepDiff, []Value, error) {
	ia, ib := map[string]*store.StepRecord{}, map[string]*store.StepRecord{}
	var order []string
	for _, s := range a {
		ia[s.name] = s.rec
		order = append(order, s.name)
	}
	for _, s := range b {
		if _, ok := ia[s.name]; !ok {
			order = append(order, s.name)
		}
		ib[s.name] = s.rec
	}
	var out []StepDiff
	ma, mb := map[string]float64{}, map[string]float64{}
	for _, name := range order {
		sd, err := d.step(name, ia[name], ib[name])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, sd)
		if err := d.metrics(name, ia[name], ma); err != nil {
			return nil, nil, err
		}
		if err := d.metrics(name, ib[name], mb); err != nil {
			return nil, nil, err
		}
	}
	return out, compareMaps(ma, mb, true), nil
}

func (d *differ) step(name string, a, b *store.StepRecord) (StepDiff, error) {
	sd := StepDiff{Name: name}
	if a != nil {
		sd.Kind, sd.BaseStatus, sd.BaseAction = a.Kind, a.Status, a.ActionID
	}
	if b != nil {
		sd.Kind, sd.OtherStatus, sd.OtherAction = b.Kind, b.Status, b.ActionID
	}
	switch {
	case a == nil:
		sd.Change = Added
	case b == nil:
		sd.Change = Removed
	case a.ActionID != b.ActionID || done(a.Status) != done(b.Status) || !done(a.Status) && a.Status != b.Status:
		sd.Change = Changed
	default:
		sd.Change = Same
	}
	var oa, ob map[string]store.Output
	if a != nil {
		oa = a.Outputs
	}
	if b != nil {
		ob = b.Outputs
	}
	for _, k := range unionKeys(oa, ob) {
		x, hx := oa[k]
		y, hy := ob[k]
		od := OutputDiff{Name: k, Base: x.Digest, Other: y.Digest}
		switch {
		case !hx:
			od.Change = Added
		case !hy:
			od.Change = Removed
		case x.Digest == y.Digest:
			od.Change = Same
		default:
			od.Change = Changed
			if err := d.content(&od, x, y); err != nil {
				return sd, fmt.Errorf("step %s: output %s: %w", name, k, err)
			}
		}
		if od.Change != Same && sd.Change == Same {
			sd.Change = Changed
		}
		sd.Outputs = append(sd.Outputs, od)
	}
	return sd, nil
}

// done reports whether a step has its result; ran and cached are the
// same outcome (one computed it, the other found it), so a step that only
// moved from one to the other is not a change.
func done(status string) bool { return status == store.StepRan || status == store.StepCached }

// content fills in the content diff of a changed output. An object that
// is no longer in the store is noted; a corrupt one is an error.
func (d *differ) content(od *OutputDiff, x, y store.Output) error {
	key := [2]store.Digest{x.Digest, y.Digest}
	if c, ok := d.cache[key]; ok {
		od.Content = c
		return nil
	}
	if x.Size > d.opt.MaxBytes || y.Size > d.opt.MaxBytes {
		od.Note = fmt.Sprintf("larger than %d bytes: compared by digest only", d.opt.MaxBytes)
		return nil
	}
	var c *Content
	var err error
	if x.Type == store.TypeTree && y.Type == store.TypeTree {
		c, err = d.trees(x.Digest, y.Digest)
	} else if x.Type == store.TypeFile && y.Type == store.TypeFile {
		var ba, bb []byte
		if ba, err = d.st.ReadObject(x.Digest); err == nil {
			if bb, err = d.st.ReadObject(y.Digest); err == nil {
				c, err = CompareBytes(od.Name, ba, bb)
			}
		}
	} else {
		c = &Content{Format: FormatBinary, BaseSize: x.Size, OtherSize: y.Size, Note: fmt.Sprintf("the output changed from a %s to a %s", x.Type, y.Type)}
	}
	if errors.Is(err, store.ErrMissing) {
		od.Note = fmt.Sprintf("%v (collected by gc?)", err)
		return nil
	}
	if err != nil {
		return err
	}
	d.cache[key] = c
	od.Content = c
	return nil
}

// trees compares two directory outputs entry by entry (by digest).
func (d *differ) trees(a, b store.Digest) (*Content, error) {
	ta, err := d.st.ReadTree(a)
	if err != nil {
		return nil, err
	}
	tb, err := d.st.ReadTree(b)
	if err != nil {
		return nil, err
	}
	ea, eb := map[string]string{}, map[string]string{}
	for _, e := range ta.Entries {
		ea[e.Path] = string(e.Digest) + e.Type
	}
	for _, e := range tb.Entries {
		eb[e.Path] = string(e.Digest) + e.Type
	}
	return &Content{Format: FormatTree, Tree: compareMaps(ea, eb, false)}, nil
}

// metrics adds a step's action metrics and the numeric fields of its
// measurement reports to m.
func (d *differ) metrics(name string, s *store.StepRecord, m map[string]float64) error {
	if s == nil || s.ActionID == "" {
		return nil
	}
	act, err := d.st.ReadAction(s.ActionID)
	if errors.Is(err, store.ErrNoRecord) {
		return nil
	}
	if err != nil {
		return err
	}
	for k, v := range act.Metrics {
		m[name+"."+k] = v
	}
	if d.opt.Measurement == nil {
		return nil
	}
	for out, o := range s.Outputs {
		if o.Type != store.TypeFile || o.Size > 64<<20 || !d.opt.Measurement(s.Kind, out) {
			continue
		}
		b, err := d.st.ReadObject(o.Digest)
		if errors.Is(err, store.ErrMissing) {
			continue
		}
		if err != nil {
			return err
		}
		fields, err := numericFields(b)
		if err != nil {
			continue // not JSON: nothing to tabulate
		}
		for k, v := range fields {
			m[name+"."+out+"."+k] = v
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return unionKeys(m, map[string]V(nil)) }
