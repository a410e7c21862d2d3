package runner

import (
	"fmt"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// Plan statuses.
const (
	WillUseCache = "cached"
	WillRun      = "run"
)

// StepStatus is what `bitflow plan` says about one step.
type StepStatus struct {
	Name     string                  `json:"name"`
	Kind     string                  `json:"kind"`
	Status   string                  `json:"status"` // "cached" or "run"
	Reason   string                  `json:"reason,omitempty"`
	ActionID string                  `json:"action_id,omitempty"` // "" until the inputs are known
	Manifest string                  `json:"-"`
	Waits    string                  `json:"waits_for,omitempty"` // the upstream step whose output is not known yet
	Outputs  map[string]store.Output `json:"outputs,omitempty"`
}

// Status predicts, without executing or changing anything, which selected
// steps a run would take from the cache and which it would execute, and
// why. A step downstream of one that runs has no ActionID yet: its inputs
// are not known until then.
func Status(s *store.Store, p *Plan, force map[string]bool) ([]StepStatus, error) {
	known := map[*Node]map[string]store.Output{}
	hist := newHistory(s, p.Workflow.Name)
	var out []StepStatus
	for _, n := range p.Nodes {
		if !p.Selected[n] {
			continue
		}
		st := StepStatus{Name: n.Name, Kind: n.Kind.Kind(), Status: WillRun}
		var pendingUp *Node
		for _, in := range n.Inputs {
			if known[in.From] == nil {
				pendingUp = in.From
				break
			}
		}
		if pendingUp != nil {
			st.Reason = fmt.Sprintf("waits for %s; cached if %s reproduces its output", pendingUp.Name, pendingUp.Name)
			st.Waits = pendingUp.Name
			out = append(out, st)
			continue
		}
		key, _, err := keyFor(n, func(up *Node) map[string]store.Output { return known[up] })
		if err != nil {
			return nil, err
		}
		manifest, err := key.Manifest()
		if err != nil {
			return nil, fmt.Errorf("step %q: key: %w", n.Name, err)
		}
		st.Manifest, st.ActionID = manifest, ActionID(manifest)
		rec, err := s.ReadAction(st.ActionID)
		switch {
		case force[n.Name]:
			st.Reason = "forced (--force)"
		case err != nil:
			st.Reason = hist.reason(n.Name, manifest)
		case !outputsPresent(s, rec, n.Outputs):
			st.Reason = "the cached result's objects are missing or damaged"
		default:
			st.Status = WillUseCache
			st.Outputs = selectOutputs(rec.Outputs, n.Outputs)
			known[n] = st.Outputs
		}
		out = append(out, st)
	}
	return out, nil
}

// outputsPresent is the cheap check plan uses: every output's object is
// there with the right size. Run verifies digests in full.
func outputsPresent(s *store.Store, rec *store.ActionRecord, names []string) bool {
	for _, name := range names {
		o, ok := rec.Outputs[name]
		if !ok || !s.Present(o) {
			return false
		}
	}
	return true
}
