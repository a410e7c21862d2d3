package runner

import (
	"fmt"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// Explanation is `bitflow why`'s answer for one step.
type Explanation struct {
	Step     string   `json:"step"`
	Status   string   `json:"status"` // "cached" or "run"
	ActionID string   `json:"action_id,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Changes  []Change `json:"changes,omitempty"`
	// Previous is the ActionID of the step's last result, compared against.
	Previous string `json:"previous_action_id,omitempty"`
	// Upstream explains the step that must run first when this step's key
	// cannot be known yet.
	Upstream *Explanation `json:"upstream,omitempty"`
}

// Explain says why a step would run (or that it is cached): the changes
// between its key now and its key the last time it produced a result, or,
// if its key depends on an upstream step that must run first, why that one
// runs.
func Explain(s *store.Store, p *Plan, step string, force map[string]bool) (*Explanation, error) {
	statuses, err := Status(s, p, force)
	if err != nil {
		return nil, err
	}
	byName := map[string]StepStatus{}
	for _, st := range statuses {
		byName[st.Name] = st
	}
	hist := newHistory(s, p.Workflow.Name)
	var explain func(name string) *Explanation
	explain = func(name string) *Explanation {
		st := byName[name]
		ex := &Explanation{Step: name, Status: st.Status, ActionID: st.ActionID, Reason: st.Reason}
		switch {
		case st.Status == WillUseCache:
		case st.Waits != "":
			ex.Upstream = explain(st.Waits)
		case st.Manifest != "":
			if prev, id, ok := hist.previousRecord(name); ok {
				ex.Previous = id
				ex.Changes = DiffManifests(prev, st.Manifest)
			}
		}
		return ex
	}
	if _, ok := byName[step]; !ok {
		return nil, &UsageError{fmt.Sprintf("workflow %q has no step %q", p.Workflow.Name, step)}
	}
	return explain(step), nil
}
