package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// recordVersion is the action record format; a record of another version
// is a miss, never misread.
const recordVersion = 1

// ActionRecord is what the store knows about one completed action: the
// manifest its ActionID was computed from, the objects it produced, and
// metadata that is not part of any key (times, metrics, producer).
type ActionRecord struct {
	Version     int               `json:"version"`
	ActionID    string            `json:"action_id"`
	Kind        string            `json:"kind"`
	KindVersion string            `json:"kind_version"`
	Manifest    string            `json:"manifest"`
	Outputs     map[string]Output `json:"outputs"`
	// Log is the step's combined stdout/stderr or progress log, if any.
	Log      *Output            `json:"log,omitempty"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Started  time.Time          `json:"started"`
	Duration float64            `json:"duration_s"`
	Producer Producer           `json:"producer"`
}

// Producer says who computed an action. It is informational only.
type Producer struct {
	Version  string `json:"bitflow_version"`
	Host     string `json:"host"`
	Workflow string `json:"workflow"`
	Step     string `json:"step"`
	RunID    string `json:"run_id"`
}

// ErrNoRecord is returned when no record exists for an ActionID.
var ErrNoRecord = errors.New("no action record")

func (s *Store) actionPath(id string) string {
	return s.path(dirActions, id[:2], id+".json")
}

// ReadAction returns the record for an ActionID. A missing record is
// ErrNoRecord; an unreadable one is quarantined and also a miss.
func (s *Store) ReadAction(id string) (*ActionRecord, error) {
	if !validHex(id) {
		return nil, fmt.Errorf("store: invalid action ID %q", id)
	}
	p := s.actionPath(id)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var r ActionRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Version != recordVersion || r.ActionID != id || !outputsValid(r.Outputs) {
		s.quarantineRecord(id, p)
		return nil, ErrNoRecord
	}
	return &r, nil
}

func outputsValid(outs map[string]Output) bool {
	for _, o := range outs {
		if !o.Digest.Valid() || (o.Type != TypeFile && o.Type != TypeTree) || o.Size < 0 {
			return false
		}
	}
	return true
}

func (s *Store) quarantineRecord(id, p string) {
	qdir := s.path(dirQuarantine)
	_ = os.MkdirAll(qdir, 0o755)
	_ = os.Rename(p, s.path(dirQuarantine, fmt.Sprintf("%s-action-%s.json", time.Now().UTC().Format("20060102T150405.000000000"), id)))
	s.warn("action record %s is unreadable; quarantined", id[:12])
}

// WriteAction commits a record. Call it only after every object the record
// names is stored: the record is the commit point.
func (s *Store) WriteAction(r *ActionRecord) error {
	if !validHex(r.ActionID) {
		return fmt.Errorf("store: invalid action ID %q", r.ActionID)
	}
	r.Version = recordVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := writeFileAtomic(s, s.actionPath(r.ActionID), append(b, '\n'), true); err != nil {
		return fmt.Errorf("store: writing action record: %w", err)
	}
	return nil
}

// HasAction reports whether a record file exists (without reading it).
func (s *Store) HasAction(id string) bool {
	if !validHex(id) {
		return false
	}
	_, err := os.Stat(s.actionPath(id))
	return err == nil
}
