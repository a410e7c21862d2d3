package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// sweepFile is the sweep record inside a run's directory: a sweep is one
// run of one merged DAG, and this file says which of the run's steps belong
// to which point, so the run record alone stays the single account of what
// executed.
const sweepFile = "sweep.json"

// SweepRecord describes the points of a `bitflow sweep` run. It is written
// into runs/<run-id>/sweep.json before the run's steps start (so a crashed
// sweep can still be reported and resumed) and rewritten unchanged at the end.
type SweepRecord struct {
	// File is the exploration file as given; Stem its name without extension.
	File string `json:"file"`
	Stem string `json:"stem"`
	// Workflow is the workflow file the points run (resolved path or the
	// name of a shipped workflow).
	Workflow string `json:"workflow"`
	// Report lists the metrics to tabulate, as written in the exploration
	// (`STEP.OUTPUT.json.path`, e.g. eval.report.qei_metrics.qei).
	Report []string `json:"report,omitempty"`
	// ParamOrder lists every point param in the order the exploration
	// first gives it (Params are maps, which JSON sorts): the column order
	// of results tables.
	ParamOrder []string `json:"param_order,omitempty"`
	// Points are in expansion order.
	Points []SweepPoint `json:"points"`
}

// SweepPoint is one point of a sweep.
type SweepPoint struct {
	// Name is the reference runner's name, disambiguated with a short hash
	// suffix when several distinct points share it.
	Name string `json:"name"`
	// ID is the point's identity: a hash of its canonical params.
	ID string `json:"id"`
	// Params are the workflow params the point overrides.
	Params map[string]any `json:"params"`
	// Steps maps each workflow step name to the name of the step in the
	// run record that computed it for this point (shared steps appear under
	// several points with the same run step name).
	Steps map[string]string `json:"steps"`
}

// WriteSweep stores the sweep record of a run.
func (r *RunLog) WriteSweep(rec *SweepRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("store: sweep record: %w", err)
	}
	return r.WriteFile(sweepFile, append(b, '\n'))
}

// ReadSweep returns the sweep record of a run, or (nil, nil) when the run
// is not a sweep.
func (s *Store) ReadSweep(runID string) (*SweepRecord, error) {
	b, err := os.ReadFile(filepath.Join(s.RunDir(runID), sweepFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var rec SweepRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("store: run %s: %s: %w", runID, sweepFile, err)
	}
	return &rec, nil
}
