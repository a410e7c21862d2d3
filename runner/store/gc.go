package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GCReport says what gc removed (or would remove, in a dry run).
type GCReport struct {
	DryRun         bool  `json:"dry_run"`
	KeptRuns       int   `json:"kept_runs"`
	RemovedRuns    int   `json:"removed_runs"`
	KeptActions    int   `json:"kept_actions"`
	RemovedActions int   `json:"removed_actions"`
	KeptObjects    int   `json:"kept_objects"`
	RemovedObjects int   `json:"removed_objects"`
	RemovedPartial int   `json:"removed_partial"`
	FreedBytes     int64 `json:"freed_bytes"`
}

// GC keeps the newest keep runs and everything reachable from them (their
// action records, the objects those name, files inside directory outputs,
// logs, and the partial progress of steps they had started) and removes
// the rest, along with scratch files, quarantined objects and idle lock
// files. It holds the store lock exclusively, so it waits for running
// bitflows to finish and none starts meanwhile.
func (s *Store) GC(ctx context.Context, keep int, dryRun bool, onWait func()) (*GCReport, error) {
	if keep < 0 {
		return nil, fmt.Errorf("gc: cannot keep %d runs", keep)
	}
	lock, err := s.LockExclusive(ctx, onWait)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	defer lock.Unlock()
	rep := &GCReport{DryRun: dryRun}
	ids, err := s.RunIDs()
	if err != nil {
		return nil, err
	}
	keepRuns, dropRuns := ids, []string(nil)
	if len(ids) > keep {
		keepRuns, dropRuns = ids[:keep], ids[keep:]
	}
	actions := map[string]bool{}
	objects := map[Digest]bool{}
	for _, id := range keepRuns {
		rec, err := s.ReadRun(id)
		if err != nil {
			continue // an unreadable run keeps nothing alive
		}
		for _, st := range rec.Steps {
			if st.ActionID != "" {
				actions[st.ActionID] = true
			}
			for _, o := range st.Outputs {
				s.markOutput(o, objects)
			}
			if st.Log != nil {
				objects[st.Log.Digest] = true
			}
		}
	}
	for id := range actions {
		rec, err := s.ReadAction(id)
		if err != nil {
			continue
		}
		for _, o := range rec.Outputs {
			s.markOutput(o, objects)
		}
		if rec.Log != nil {
			objects[rec.Log.Digest] = true
		}
	}
	rep.KeptRuns, rep.RemovedRuns = len(keepRuns), len(dropRuns)
	remove := func(p string) {
		if dryRun {
			return
		}
		_ = os.Chmod(p, 0o644) // objects are read-only; unlinking does not care, some filesystems do
		_ = os.RemoveAll(p)
	}
	for _, id := range dropRuns {
		rep.FreedBytes += dirSize(s.path(dirRuns, id))
		remove(s.path(dirRuns, id))
	}
	err = walkFiles(s.path(dirActions), func(p string, size int64) {
		id := strings.TrimSuffix(filepath.Base(p), ".json")
		if actions[id] {
			rep.KeptActions++
			return
		}
		rep.RemovedActions++
		rep.FreedBytes += size
		remove(p)
	})
	if err != nil {
		return nil, err
	}
	err = walkFiles(s.path(dirObjects), func(p string, size int64) {
		if objects[Digest(digestPrefix+filepath.Base(p))] {
			rep.KeptObjects++
			return
		}
		rep.RemovedObjects++
		rep.FreedBytes += size
		s.verified.Delete(Digest(digestPrefix + filepath.Base(p)))
		remove(p)
	})
	if err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(s.path(dirPartial)); err == nil {
		for _, e := range ents {
			if !actions[e.Name()] {
				rep.RemovedPartial++
				rep.FreedBytes += dirSize(s.path(dirPartial, e.Name()))
				remove(s.path(dirPartial, e.Name()))
			}
		}
	}
	for _, d := range []string{dirTmp, dirQuarantine} {
		if ents, err := os.ReadDir(s.path(d)); err == nil {
			for _, e := range ents {
				rep.FreedBytes += dirSize(s.path(d, e.Name()))
				remove(s.path(d, e.Name()))
			}
		}
	}
	// Leases describe work in progress; with the store lock held
	// exclusively nothing is in progress anywhere, so every lease is stale.
	for _, d := range []string{dirLeases} {
		if ents, err := os.ReadDir(s.path(d)); err == nil {
			for _, e := range ents {
				remove(s.path(d, e.Name()))
			}
		}
	}
	if ents, err := os.ReadDir(s.path(dirLocks)); err == nil {
		for _, e := range ents {
			if e.Name() != storeLock {
				remove(s.path(dirLocks, e.Name()))
			}
		}
	}
	return rep, nil
}

// markOutput marks an output's object and, for a tree, its files.
func (s *Store) markOutput(o Output, objects map[Digest]bool) {
	objects[o.Digest] = true
	if o.Type != TypeTree {
		return
	}
	t, err := s.ReadTree(o.Digest)
	if err != nil {
		return
	}
	for _, e := range t.Entries {
		if e.Type == "file" {
			objects[e.Digest] = true
		}
	}
}

func walkFiles(root string, fn func(path string, size int64)) error {
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type().IsRegular() {
			fi, err := de.Info()
			if err != nil {
				return nil
			}
			fn(p, fi.Size())
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func dirSize(root string) int64 {
	var n int64
	_ = walkFiles(root, func(_ string, size int64) { n += size })
	return n
}
