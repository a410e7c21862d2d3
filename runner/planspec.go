package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/workflows"
)

// PlanSpec is everything needed to build a plan again in another process,
// such as a cluster job: the workflow's exact bytes and file name (relative
// `files:` resolve against it, from the same working directory), the --set
// overrides and targets, and for a sweep its stem and points. Param values
// keep their types through JSON (an int stays an int, 1.0 stays a float),
// because a value's type is part of a step's key.
type PlanSpec struct {
	File    string     `json:"file"`
	Source  []byte     `json:"source"`
	Sets    []string   `json:"set,omitempty"`
	Targets []string   `json:"targets,omitempty"`
	Sweep   *SweepSpec `json:"sweep,omitempty"`
}

// SweepSpec is the sweep part of a PlanSpec.
type SweepSpec struct {
	Stem   string       `json:"stem"`
	Points []PointSpecT `json:"points"`
}

// PointSpecT is a PointSpec whose params keep their types in JSON.
type PointSpecT struct {
	Name   string                `json:"name"`
	ID     string                `json:"id"`
	Params map[string]TypedValue `json:"params,omitempty"`
}

// SpecOf returns the spec of a plan built by NewPlan.
func SpecOf(p *Plan) *PlanSpec {
	return &PlanSpec{File: p.Workflow.File, Source: p.Workflow.Source, Sets: p.Sets, Targets: p.Targets}
}

// SweepSpecOf returns the spec of a sweep built by NewSweep with opt.
func SweepSpecOf(w *workflows.Workflow, stem string, points []PointSpec, opt Options) *PlanSpec {
	ss := &SweepSpec{Stem: stem}
	for _, pt := range points {
		t := PointSpecT{Name: pt.Name, ID: pt.ID}
		if len(pt.Params) > 0 {
			t.Params = map[string]TypedValue{}
			for k, v := range pt.Params {
				t.Params[k] = TypedValue{v}
			}
		}
		ss.Points = append(ss.Points, t)
	}
	return &PlanSpec{File: w.File, Source: w.Source, Sets: opt.Sets, Sweep: ss}
}

// Build loads the workflow from the spec's bytes and plans it as the
// original was planned.
func (s *PlanSpec) Build(reg *steps.Registry) (*Plan, error) {
	w, err := workflows.Load(s.File, s.Source, LoaderKinds(reg))
	if err != nil {
		return nil, err
	}
	opt := Options{Sets: s.Sets, Targets: s.Targets}
	if s.Sweep == nil {
		return NewPlan(w, reg, opt)
	}
	points := make([]PointSpec, len(s.Sweep.Points))
	for i, t := range s.Sweep.Points {
		points[i] = PointSpec{Name: t.Name, ID: t.ID}
		if t.Params != nil {
			points[i].Params = map[string]any{}
			for k, v := range t.Params {
				points[i].Params[k] = v.V
			}
		}
	}
	opt.Targets = nil
	sw, err := NewSweep(w, reg, s.Sweep.Stem, points, opt)
	if err != nil {
		return nil, err
	}
	return sw.Plan, nil
}

// TypedValue is a param value that keeps its Go type through JSON:
// {"int": 3}, {"float": 1}, {"str": "x"}, {"bool": true}, {"list": [...]},
// {"map": {...}}, or null.
type TypedValue struct{ V any }

// MarshalJSON implements json.Marshaler.
func (t TypedValue) MarshalJSON() ([]byte, error) {
	switch x := t.V.(type) {
	case nil:
		return []byte("null"), nil
	case bool:
		return json.Marshal(map[string]bool{"bool": x})
	case int64:
		return json.Marshal(map[string]int64{"int": x})
	case int:
		return json.Marshal(map[string]int64{"int": int64(x)})
	case float64:
		return json.Marshal(map[string]float64{"float": x})
	case string:
		return json.Marshal(map[string]string{"str": x})
	case []any:
		l := make([]TypedValue, len(x))
		for i, it := range x {
			l[i] = TypedValue{it}
		}
		return json.Marshal(map[string][]TypedValue{"list": l})
	case map[string]any:
		m := make(map[string]TypedValue, len(x))
		for k, v := range x {
			m[k] = TypedValue{v}
		}
		return json.Marshal(map[string]map[string]TypedValue{"map": m})
	}
	return nil, fmt.Errorf("param value of type %T cannot be sent to another process", t.V)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *TypedValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.V = nil
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) != 1 {
		return fmt.Errorf("typed value: expected one type key, got %d", len(m))
	}
	tag := slices.Collect(maps.Keys(m))[0]
	raw := m[tag]
	var err error
	switch tag {
	case "bool":
		var v bool
		err = json.Unmarshal(raw, &v)
		t.V = v
	case "int":
		var v int64
		err = json.Unmarshal(raw, &v)
		t.V = v
	case "float":
		var v float64
		err = json.Unmarshal(raw, &v)
		t.V = v
	case "str":
		var v string
		err = json.Unmarshal(raw, &v)
		t.V = v
	case "list":
		var l []TypedValue
		err = json.Unmarshal(raw, &l)
		out := make([]any, len(l))
		for i, it := range l {
			out[i] = it.V
		}
		t.V = out
	case "map":
		var mm map[string]TypedValue
		err = json.Unmarshal(raw, &mm)
		out := make(map[string]any, len(mm))
		for k, v := range mm {
			out[k] = v.V
		}
		t.V = out
	default:
		return fmt.Errorf("typed value: unknown type %q", tag)
	}
	return err
}
