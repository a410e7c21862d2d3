package diff

import (
	"github.com/bitflow-dev/bitflow/runner/store"
)

// SweepDiff compares the points of two sweeps. When only one run is a
// sweep, Note says which and there are no points.
type SweepDiff struct {
	Note   string      `json:"note,omitempty"`
	Points []PointDiff `json:"points,omitempty"`
}

// PointDiff compares one point of two sweeps: matched by point ID (a hash
// of its params), else by name. Its steps are named by workflow step.
type PointDiff struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Change  string     `json:"change"`
	Params  []Value    `json:"params,omitempty"`
	Steps   []StepDiff `json:"steps,omitempty"`
	Metrics []Value    `json:"metrics,omitempty"`
}

func (d *differ) sweeps(a, b *store.RunRecord, sa, sb *store.SweepRecord) (*SweepDiff, error) {
	switch {
	case sa == nil && sb == nil:
		return nil, nil
	case sb == nil:
		return &SweepDiff{Note: "only the base run is a sweep: its steps are compared with the run's by name"}, nil
	case sa == nil:
		return &SweepDiff{Note: "only the other run is a sweep: its steps are compared with the base run's by name"}, nil
	}
	sd := &SweepDiff{}
	byID, byName := map[string]*store.SweepPoint{}, map[string]*store.SweepPoint{}
	for i := range sb.Points {
		p := &sb.Points[i]
		byID[p.ID] = p
		byName[p.Name] = p
	}
	used := map[*store.SweepPoint]bool{}
	for i := range sa.Points {
		pa := &sa.Points[i]
		pb := byID[pa.ID]
		if pb == nil || used[pb] {
			pb = byName[pa.Name]
		}
		if pb != nil && used[pb] {
			pb = nil
		}
		if pb != nil {
			used[pb] = true
		}
		pd, err := d.point(a, b, pa, pb)
		if err != nil {
			return nil, err
		}
		sd.Points = append(sd.Points, pd)
	}
	for i := range sb.Points {
		if pb := &sb.Points[i]; !used[pb] {
			pd, err := d.point(a, b, nil, pb)
			if err != nil {
				return nil, err
			}
			sd.Points = append(sd.Points, pd)
		}
	}
	return sd, nil
}

func (d *differ) point(a, b *store.RunRecord, pa, pb *store.SweepPoint) (PointDiff, error) {
	var pd PointDiff
	var ra, rb []namedStep
	var qa, qb map[string]any
	if pa != nil {
		pd.ID, pd.Name, qa = pa.ID, pa.Name, pa.Params
		ra = named(a.Steps, pa.Steps)
	}
	if pb != nil {
		if pa == nil {
			pd.ID, pd.Name = pb.ID, pb.Name
		}
		qb = pb.Params
		rb = named(b.Steps, pb.Steps)
	}
	switch {
	case pa == nil:
		pd.Change = Added
	case pb == nil:
		pd.Change = Removed
	}
	pd.Params = compareMaps(qa, qb, false)
	if pa == nil || pb == nil {
		return pd, nil
	}
	var err error
	if pd.Steps, pd.Metrics, err = d.steps(ra, rb); err != nil {
		return pd, err
	}
	pd.Change = Same
	if len(pd.Params) > 0 {
		pd.Change = Changed
	}
	for _, s := range pd.Steps {
		if s.Change != Same {
			pd.Change = Changed
		}
	}
	return pd, nil
}
