package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// fakeRun commits one action producing content and records a run using it.
func fakeRun(t *testing.T, s *Store, content string) (runID, actionID string, out Output) {
	t.Helper()
	d, err := s.PutBytes([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	out = Output{Digest: d, Size: int64(len(content)), Type: TypeFile}
	actionID = DigestOf([]byte("action " + content)).Hex()
	if err := s.WriteAction(&ActionRecord{ActionID: actionID, Outputs: map[string]Output{"o": out}}); err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun()
	if err != nil {
		t.Fatal(err)
	}
	rec := &RunRecord{ID: run.ID, Workflow: "w", Status: RunOK, Steps: []StepRecord{{Name: "s", Status: StepRan, ActionID: actionID, Outputs: map[string]Output{"o": out}}}}
	run.Append(Event{Type: EventRunStarted, Run: rec})
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // distinct UUIDv7 timestamps
	return run.ID, actionID, out
}

func TestGCKeepsWhatTheNewestRunsReach(t *testing.T) {
	s := open(t)
	var runs, actions []string
	var outs []Output
	for i := range 3 {
		r, a, o := fakeRun(t, s, fmt.Sprintf("content %d", i))
		runs, actions, outs = append(runs, r), append(actions, a), append(outs, o)
	}
	// An orphan object and a partial dir of a step no kept run started.
	orphan, _ := s.PutBytes([]byte("orphan"))
	os.MkdirAll(s.PartialPath(DigestOf([]byte("x")).Hex()), 0o755)

	dry, err := s.GC(context.Background(), 2, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dry.RemovedRuns != 1 || dry.RemovedObjects != 2 || !s.HasAction(actions[0]) {
		t.Fatalf("dry run %+v changed or misreported", dry)
	}
	rep, err := s.GC(context.Background(), 2, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.KeptRuns != 2 || rep.RemovedRuns != 1 || rep.RemovedActions != 1 || rep.RemovedObjects != 2 || rep.RemovedPartial != 1 {
		t.Errorf("report %+v", rep)
	}
	if s.HasAction(actions[0]) || !s.HasAction(actions[1]) || !s.HasAction(actions[2]) {
		t.Error("wrong action records kept")
	}
	if _, err := os.Stat(s.ObjectPath(orphan)); !os.IsNotExist(err) {
		t.Error("orphan object kept")
	}
	s2, _ := Open(s.Root())
	for _, o := range outs[1:] {
		if err := s2.VerifyOutput(o); err != nil {
			t.Errorf("kept output: %v", err)
		}
	}
	if ids, _ := s.RunIDs(); len(ids) != 2 || ids[0] != runs[2] {
		t.Errorf("runs left %v", ids)
	}
}
