// Package store is bitflow's content-addressed store: immutable objects named
// by the SHA-256 of their bytes, action records that map an ActionID to the
// objects a step produced, run records, resumable partial progress, locks and
// garbage collection.
//
// Every write goes to tmp/, is synced, and is renamed into place, and an
// action record is written only after all of its objects, so a process killed
// at any instant leaves either a complete result or none. Every read
// verifies: an object whose size or digest is wrong, or a record that does
// not parse, is a miss (quarantined and reported), never a crash and never a
// wrong result.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// marker names the file that identifies a directory as a bitflow store, and
// its first line the layout version.
const (
	marker       = "BITFLOW_STORE"
	layoutHeader = "bitflow store v1\n"
)

// Layout directories under the store root.
const (
	dirObjects    = "objects"
	dirActions    = "actions"
	dirRuns       = "runs"
	dirPartial    = "partial"
	dirTmp        = "tmp"
	dirLocks      = "locks"
	dirQuarantine = "quarantine"
)

// Store is an opened store directory. It is safe for concurrent use by many
// goroutines and, through its file locks, by many processes.
type Store struct {
	root string

	// verified remembers objects this process has hashed already, so an
	// object read by many steps of one run is hashed once.
	verified sync.Map // Digest -> int64 size

	// Warn receives problems the store recovered from (a corrupt object
	// quarantined); nil discards them.
	Warn func(msg string)
}

// Open opens the store at root, creating it if needed.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	s := &Store{root: abs}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	mpath := filepath.Join(abs, marker)
	data, err := os.ReadFile(mpath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := writeFileAtomic(s, mpath, []byte(layoutHeader+"This directory is a bitflow store; see `bitflow --help`.\n"), true); err != nil {
			return nil, fmt.Errorf("store %s: %w", root, err)
		}
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", root, err)
	case !strings.HasPrefix(string(data), layoutHeader):
		return nil, fmt.Errorf("store %s: %s does not describe a layout this bitflow understands (%q)", root, marker, firstLine(data))
	}
	for _, d := range []string{dirObjects, dirActions, dirRuns, dirPartial, dirTmp, dirLocks} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w", root, err)
		}
	}
	return s, nil
}

// ErrNoStore is the error of OpenExisting when root is not a store.
var ErrNoStore = errors.New("no store")

// NoStoreError names a directory that holds no store.
type NoStoreError struct {
	Root   string // as given
	Exists bool   // whether the directory exists (without a store in it)
}

func (e *NoStoreError) Error() string {
	if e.Exists {
		return fmt.Sprintf("no store at %s (a directory without a %s file)", e.Root, marker)
	}
	return fmt.Sprintf("no store at %s", e.Root)
}

// Is makes a *NoStoreError match ErrNoStore.
func (e *NoStoreError) Is(target error) bool { return target == ErrNoStore }

// OpenExisting opens the store at root for commands that only read (or
// prune) it: it creates nothing, so a mistyped path is an error rather than
// a new, empty store. A directory without a store is a *NoStoreError.
func OpenExisting(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", root, err)
	}
	data, err := os.ReadFile(filepath.Join(abs, marker))
	switch {
	case errors.Is(err, os.ErrNotExist):
		fi, serr := os.Stat(abs)
		return nil, &NoStoreError{Root: root, Exists: serr == nil && fi.IsDir()}
	case err != nil:
		return nil, fmt.Errorf("store %s: %w", root, err)
	case !strings.HasPrefix(string(data), layoutHeader):
		return nil, fmt.Errorf("store %s: %s does not describe a layout this bitflow understands (%q)", root, marker, firstLine(data))
	}
	return &Store{root: abs}, nil
}

// Missing returns a handle on a store that does not exist (yet), for
// predictions such as `bitflow plan` before the first run: every lookup
// misses. Only reads are meant; nothing is created until a write.
func Missing(root string) *Store {
	abs, err := filepath.Abs(root)
	if err != nil {
		abs = root
	}
	return &Store{root: abs}
}

// Root returns the store's absolute path.
func (s *Store) Root() string { return s.root }

func (s *Store) path(parts ...string) string {
	return filepath.Join(append([]string{s.root}, parts...)...)
}

func (s *Store) warn(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(fmt.Sprintf(format, args...))
	}
}

// TempDir makes a new private directory under tmp/. Everything under tmp/ is
// scratch: gc removes it when no bitflow is running.
func (s *Store) TempDir(prefix string) (string, error) {
	d, err := os.MkdirTemp(s.path(dirTmp), prefix)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return d, nil
}

// PartialPath returns the directory where a step with this ActionID keeps
// resumable progress. It does not create it: a step that resumes creates it
// on first use, so the many steps that do not leave nothing behind.
func (s *Store) PartialPath(actionID string) string {
	if !validHex(actionID) {
		panic(fmt.Sprintf("store: invalid action ID %q", actionID))
	}
	return s.path(dirPartial, actionID)
}

// RemovePartial deletes a step's resumable progress once its result is
// committed.
func (s *Store) RemovePartial(actionID string) error {
	if !validHex(actionID) {
		return nil
	}
	return os.RemoveAll(s.path(dirPartial, actionID))
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so readers see the old content or the new, never a torn file.
// With durable set the data is synced before the rename, so the file also
// survives a power loss; records that only describe runs skip that cost,
// which would otherwise dominate a run that executes nothing.
func writeFileAtomic(s *Store, path string, data []byte, durable bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmpDir := filepath.Join(s.root, dirTmp)
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "write-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

func validHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
