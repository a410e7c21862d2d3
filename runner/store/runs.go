package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Run statuses.
const (
	RunRunning     = "running"     // in the journal only, while the run lasts
	RunOK          = "ok"          // every selected step ran or was cached
	RunFailed      = "failed"      // a step failed
	RunInterrupted = "interrupted" // stopped by a signal
	RunIncomplete  = "incomplete"  // the process died: the journal has no end
)

// Step statuses in run records.
const (
	StepRan     = "ran"
	StepCached  = "cached"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

// RunRecord describes one `bitflow run`: written as runs/<id>/run.json when
// the run ends, and reconstructible from its journal if it never ended.
type RunRecord struct {
	ID       string         `json:"run_id"`
	Workflow string         `json:"workflow"`
	File     string         `json:"file"`
	Params   map[string]any `json:"params,omitempty"`
	Sets     []string       `json:"set,omitempty"`
	Targets  []string       `json:"targets,omitempty"`
	Host     string         `json:"host"`
	Version  string         `json:"bitflow_version"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished,omitzero"`
	Status   string         `json:"status"`
	Steps    []StepRecord   `json:"steps"`
}

// StepRecord is one step's outcome within a run.
type StepRecord struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Status   string            `json:"status"`
	ActionID string            `json:"action_id,omitempty"`
	Outputs  map[string]Output `json:"outputs,omitempty"`
	Log      *Output           `json:"log,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Error    string            `json:"error,omitempty"`
	Duration float64           `json:"duration_s,omitempty"`
}

// Event is one line of a run's journal (events.jsonl).
type Event struct {
	Time   time.Time   `json:"t"`
	Type   string      `json:"type"` // run_started, step_started, step_done, run_done
	Run    *RunRecord  `json:"run,omitempty"`
	Step   *StepRecord `json:"step,omitempty"`
	Status string      `json:"status,omitempty"`
}

// Journal event types.
const (
	EventRunStarted  = "run_started"
	EventStepStarted = "step_started"
	EventStepDone    = "step_done"
	EventRunDone     = "run_done"
)

const (
	runFile     = "run.json"
	journalFile = "events.jsonl"
)

// RunLog is an open run: its journal is appended as the run goes.
type RunLog struct {
	ID  string
	dir string
	s   *Store
	mu  sync.Mutex
	f   *os.File
}

// CreateRun starts a new run directory with a time-ordered UUID (v7), so
// that run IDs sort by start time.
func (s *Store) CreateRun() (*RunLog, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dir := s.path(dirRuns, id.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &RunLog{ID: id.String(), dir: dir, s: s, f: f}, nil
}

// Append writes one event as one line with a single write, so that a crash
// can tear at most the last line, which readers skip.
func (r *RunLog) Append(ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return errors.New("store: run journal is closed")
	}
	_, err = r.f.Write(append(b, '\n'))
	return err
}

// WriteFile stores a file of the run (the workflow snapshot).
func (r *RunLog) WriteFile(name string, data []byte) error {
	return writeFileAtomic(r.s, filepath.Join(r.dir, name), data, false)
}

// Finish writes run.json atomically and closes the journal.
func (r *RunLog) Finish(rec *RunRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	err = writeFileAtomic(r.s, filepath.Join(r.dir, runFile), append(b, '\n'), false)
	r.mu.Lock()
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.mu.Unlock()
	return err
}

// RunDir returns the directory of a run.
func (s *Store) RunDir(id string) string { return s.path(dirRuns, id) }

// RunIDs lists the runs, newest first.
func (s *Store) RunIDs() ([]string, error) {
	ents, err := os.ReadDir(s.path(dirRuns))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // a store that has never run anything
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if _, err := uuid.Parse(e.Name()); err == nil && e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	return ids, nil
}

// ResolveRun finds the run whose ID starts with prefix ("latest" is the
// newest run).
func (s *Store) ResolveRun(prefix string) (string, error) {
	ids, err := s.RunIDs()
	if err != nil {
		return "", err
	}
	if prefix == "latest" || prefix == "last" {
		if len(ids) == 0 {
			return "", errors.New("the store has no runs yet")
		}
		return ids[0], nil
	}
	var match []string
	for _, id := range ids {
		if strings.HasPrefix(id, strings.ToLower(prefix)) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return "", fmt.Errorf("no run %q in %s (`bitflow runs` lists them)", prefix, s.root)
	case 1:
		return match[0], nil
	}
	return "", fmt.Errorf("run prefix %q is ambiguous: %d runs match (%s, ...)", prefix, len(match), strings.Join(match[:2], ", "))
}

// ReadRun returns a run's record: run.json if the run ended, else the
// record rebuilt from its journal (status "incomplete" if the journal has no
// end, as after a crash).
func (s *Store) ReadRun(id string) (*RunRecord, error) {
	dir := s.path(dirRuns, id)
	b, err := os.ReadFile(filepath.Join(dir, runFile))
	if err == nil {
		var rec RunRecord
		if jerr := json.Unmarshal(b, &rec); jerr == nil {
			return &rec, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: %w", err)
	}
	return s.replayJournal(id)
}

// replayJournal rebuilds a run record from events.jsonl, skipping a torn
// or garbled line rather than failing.
func (s *Store) replayJournal(id string) (*RunRecord, error) {
	b, err := os.ReadFile(filepath.Join(s.path(dirRuns, id), journalFile))
	if err != nil {
		return nil, fmt.Errorf("store: run %s: %w", id, err)
	}
	rec := &RunRecord{ID: id, Status: RunIncomplete}
	index := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Type {
		case EventRunStarted:
			if ev.Run != nil {
				steps := rec.Steps
				*rec = *ev.Run
				rec.ID, rec.Steps, rec.Status = id, steps, RunIncomplete
			}
		case EventStepStarted, EventStepDone:
			if ev.Step == nil {
				continue
			}
			st := *ev.Step
			if ev.Type == EventStepStarted {
				st.Status = "started"
			}
			if i, ok := index[st.Name]; ok {
				rec.Steps[i] = st
			} else {
				index[st.Name] = len(rec.Steps)
				rec.Steps = append(rec.Steps, st)
			}
		case EventRunDone:
			rec.Status = ev.Status
			rec.Finished = ev.Time
		}
	}
	return rec, nil
}
