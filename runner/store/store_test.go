package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPutAndVerify(t *testing.T) {
	s := open(t)
	d, err := s.PutBytes([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if d != DigestOf([]byte("hello")) || !d.Valid() {
		t.Fatalf("digest %s", d)
	}
	fi, err := os.Stat(s.ObjectPath(d))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("object %v mode %v", err, fi.Mode())
	}
	s2, _ := Open(s.Root()) // fresh process view: nothing verified yet
	if err := s2.Verify(d, 5); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := s2.Verify(DigestOf([]byte("absent")), -1); !errors.Is(err, ErrMissing) {
		t.Errorf("missing object: %v", err)
	}
}

func TestCorruptObjectsAreQuarantined(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage []byte
		size   int64
	}{
		{"same size", []byte("jello"), 5},
		{"truncated", []byte("hell"), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			d, _ := s.PutBytes([]byte("hello"))
			p := s.ObjectPath(d)
			os.Chmod(p, 0o644)
			os.WriteFile(p, tc.damage, 0o444)
			s2, _ := Open(s.Root())
			var warned []string
			s2.Warn = func(m string) { warned = append(warned, m) }
			err := s2.Verify(d, tc.size)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Digest != d {
				t.Fatalf("verify: %v", err)
			}
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Error("corrupt object still in objects/")
			}
			q, _ := filepath.Glob(filepath.Join(s.Root(), "quarantine", "*"+d.Hex()))
			if len(q) != 1 {
				t.Errorf("quarantine holds %v", q)
			}
			if len(warned) != 1 {
				t.Errorf("warnings: %v", warned)
			}
		})
	}
}

func TestPutPathTreeRoundTrip(t *testing.T) {
	s := open(t)
	src, _ := s.TempDir("src-")
	os.MkdirAll(filepath.Join(src, "sub", "empty"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("A"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	o, err := s.PutPath(src)
	if err != nil {
		t.Fatal(err)
	}
	if o.Type != TypeTree {
		t.Fatalf("type %s", o.Type)
	}
	// The same content, written again, gives the same digest.
	src2, _ := s.TempDir("src-")
	os.MkdirAll(filepath.Join(src2, "sub", "empty"), 0o755)
	os.WriteFile(filepath.Join(src2, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o700)
	os.WriteFile(filepath.Join(src2, "a.txt"), []byte("A"), 0o600)
	o2, err := s.PutPath(src2)
	if err != nil || o2 != o {
		t.Fatalf("second tree %v %v, want %v", o2, err, o)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := s.Materialize(o, dst); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "a.txt"))
	fi, _ := os.Stat(filepath.Join(dst, "sub", "run.sh"))
	if string(b) != "A" || fi.Mode()&0o100 == 0 {
		t.Errorf("materialized a.txt=%q run.sh mode %v", b, fi.Mode())
	}
	if fi, err := os.Stat(filepath.Join(dst, "sub", "empty")); err != nil || !fi.IsDir() {
		t.Error("empty directory lost")
	}
	if err := s.VerifyOutput(o); err != nil {
		t.Error(err)
	}
	// Damage a file inside the tree: the tree no longer verifies.
	tr, _ := s.ReadTree(o.Digest)
	var inner Digest
	for _, e := range tr.Entries {
		if e.Path == "a.txt" {
			inner = e.Digest
		}
	}
	os.Chmod(s.ObjectPath(inner), 0o644)
	os.WriteFile(s.ObjectPath(inner), []byte("B"), 0o444)
	s2, _ := Open(s.Root())
	if err := s2.VerifyOutput(o); err == nil || !strings.Contains(err.Error(), "a.txt") {
		t.Errorf("damaged tree verified: %v", err)
	}
}

func TestSymlinkOutputsAreRejected(t *testing.T) {
	s := open(t)
	src, _ := s.TempDir("src-")
	os.Symlink("/etc/passwd", filepath.Join(src, "link"))
	if _, err := s.PutPath(src); err == nil || !strings.Contains(err.Error(), "link") {
		t.Errorf("symlink accepted: %v", err)
	}
}

func TestActionRecords(t *testing.T) {
	s := open(t)
	id := strings.Repeat("ab", 32)
	if _, err := s.ReadAction(id); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("read before write: %v", err)
	}
	d, _ := s.PutBytes([]byte("x"))
	rec := &ActionRecord{ActionID: id, Kind: "k", Manifest: "m", Outputs: map[string]Output{"o": {d, 1, TypeFile}}}
	if err := s.WriteAction(rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAction(id)
	if err != nil || got.Outputs["o"].Digest != d {
		t.Fatalf("read back %+v %v", got, err)
	}
	os.WriteFile(s.actionPath(id), []byte(`{"version":1,"action_id":"`+id+`","outputs":{"o":{"digest":"nope"`), 0o644)
	if _, err := s.ReadAction(id); !errors.Is(err, ErrNoRecord) {
		t.Errorf("garbled record: %v", err)
	}
}

func TestActionLockExcludesGoroutinesAndWaits(t *testing.T) {
	s := open(t)
	id := strings.Repeat("cd", 32)
	var inside, maxInside atomic.Int32
	var waited atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := s.LockAction(context.Background(), id, func() { waited.Add(1) })
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > maxInside.Load() {
				maxInside.Store(n)
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			l.Unlock()
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d holders at once", maxInside.Load())
	}
	if waited.Load() == 0 {
		t.Error("no one waited")
	}
	// Waiting can be cancelled.
	l, _ := s.LockAction(context.Background(), id, nil)
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.LockAction(ctx, id, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestSharedStoreLockBlocksGC(t *testing.T) {
	s := open(t)
	shared, err := s.LockShared(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	shared2, err := s.LockShared(context.Background(), nil)
	if err != nil {
		t.Fatal("two runs cannot share the store:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.GC(ctx, 1, false, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("gc ran beside a run: %v", err)
	}
	shared.Unlock()
	shared2.Unlock()
	if _, err := s.GC(context.Background(), 1, false, nil); err != nil {
		t.Errorf("gc after runs ended: %v", err)
	}
}

func TestOpenRejectsForeignLayout(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, marker), []byte("bitflow store v9\n"), 0o644)
	if _, err := Open(dir); err == nil {
		t.Error("opened a store of an unknown layout")
	}
}

func TestOpenExistingCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo", "store")
	_, err := OpenExisting(missing)
	var nse *NoStoreError
	if !errors.Is(err, ErrNoStore) || !errors.As(err, &nse) || nse.Exists || err.Error() != "no store at "+missing {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("OpenExisting created %s", filepath.Join(dir, "typo"))
	}
	plain := filepath.Join(dir, "plain")
	os.Mkdir(plain, 0o755)
	if _, err := OpenExisting(plain); !errors.Is(err, ErrNoStore) || err.Error() != "no store at "+plain+" (a directory without a BITFLOW_STORE file)" {
		t.Errorf("directory without a store: %v", err)
	}
	if ents, _ := os.ReadDir(plain); len(ents) != 0 {
		t.Errorf("OpenExisting wrote into a plain directory: %v", ents)
	}
	os.WriteFile(filepath.Join(plain, marker), []byte("bitflow store v9\n"), 0o644)
	if _, err := OpenExisting(plain); err == nil || errors.Is(err, ErrNoStore) {
		t.Errorf("foreign layout: %v", err)
	}
	s := open(t)
	got, err := OpenExisting(s.Root())
	if err != nil || got.Root() != s.Root() {
		t.Fatalf("existing store: %v", err)
	}
	// A handle on a store that does not exist reads as empty.
	m := Missing(missing)
	if ids, err := m.RunIDs(); err != nil || len(ids) != 0 {
		t.Errorf("runs of a missing store: %v %v", ids, err)
	}
	if _, err := m.ReadAction(strings.Repeat("ab", 32)); !errors.Is(err, ErrNoRecord) {
		t.Errorf("action of a missing store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); !os.IsNotExist(err) {
		t.Errorf("reading a missing store created %s", filepath.Join(dir, "typo"))
	}
}
