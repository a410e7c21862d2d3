package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a held file lock. Locks are open-file-description (OFD) locks:
// unlike classic POSIX locks they belong to the open file, so two goroutines
// of one process exclude each other too, and unlike flock they are honoured
// by NFS, which matters for a store shared between machines.
type Lock struct {
	f *os.File
}

// Unlock releases the lock. The lock file stays: deleting it while another
// process waits on it would break mutual exclusion (gc removes lock files
// while it holds the store lock exclusively).
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the description releases the OFD lock
		l.f = nil
	}
}

// storeLock is the lock every runner holds shared and gc holds exclusively.
const storeLock = "store.lock"

// LockAction takes the lock of one action, waiting for another holder to
// finish. onWait, if set, is called once if the lock is busy.
func (s *Store) LockAction(ctx context.Context, actionID string, onWait func()) (*Lock, error) {
	if !validHex(actionID) {
		return nil, fmt.Errorf("store: invalid action ID %q", actionID)
	}
	return s.lock(ctx, actionID+".lock", unix.F_WRLCK, onWait)
}

// LockNamed takes an exclusive lock with a name of the caller's choosing
// (letters, digits, '-', '_', '.'), for work that must not overlap across
// processes and machines, such as submitting a run's jobs to a cluster.
func (s *Store) LockNamed(ctx context.Context, name string, onWait func()) (*Lock, error) {
	if !leaseNameRE.MatchString(name) || name+".lock" == storeLock || validHex(name) {
		return nil, fmt.Errorf("store: invalid lock name %q", name)
	}
	return s.lock(ctx, name+".lock", unix.F_WRLCK, onWait)
}

// LockShared takes the store lock shared, as every run does for its whole
// duration, so that gc never deletes what a run is using.
func (s *Store) LockShared(ctx context.Context, onWait func()) (*Lock, error) {
	return s.lock(ctx, storeLock, unix.F_RDLCK, onWait)
}

// LockExclusive takes the store lock exclusively (gc).
func (s *Store) LockExclusive(ctx context.Context, onWait func()) (*Lock, error) {
	return s.lock(ctx, storeLock, unix.F_WRLCK, onWait)
}

// lock polls a non-blocking OFD lock rather than blocking in the kernel, so
// that waiting can be cancelled (Ctrl-C) at once.
func (s *Store) lock(ctx context.Context, name string, typ int16, onWait func()) (*Lock, error) {
	p := s.path(dirLocks, name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
	delay := time.Millisecond
	waited := false
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", name, err)
		}
		if !waited && onWait != nil {
			onWait()
		}
		waited = true
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}
