package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// dirLeases holds leases: small records saying who holds or runs something,
// for stores shared between machines.
const dirLeases = "leases"

// A Lease names the holder of a piece of work by host and, where a cluster
// scheduler runs it, by job, with a heartbeat that the holder renews. It
// never names a bare PID as the truth: a PID means nothing on another host,
// so other machines judge a lease by its job (asking the scheduler) or by
// the age of its heartbeat. A lease is information beside the locks, never
// a lock itself: mutual exclusion is the action's OFD lock.
type Lease struct {
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	PID       int       `json:"pid,omitempty"` // meaningful on Host only
	Job       string    `json:"job,omitempty"` // scheduler job ID (Slurm: 123 or 123_4)
	Run       string    `json:"run_id,omitempty"`
	Note      string    `json:"note,omitempty"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

// Age is how long ago the lease was last renewed.
func (l *Lease) Age(now time.Time) time.Duration { return now.Sub(l.Heartbeat) }

var leaseNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,200}$`)

func (s *Store) leasePath(name string) (string, error) {
	if !leaseNameRE.MatchString(name) || name == "." || name == ".." {
		return "", fmt.Errorf("store: invalid lease name %q", name)
	}
	return s.path(dirLeases, name+".json"), nil
}

// WriteLease writes (or renews) a lease atomically: the file is written in
// the store's tmp/ and renamed into leases/, within the store's own tree,
// so readers on any machine see the old lease or the new one.
func (s *Store) WriteLease(l *Lease) error {
	p, err := s.leasePath(l.Name)
	if err != nil {
		return err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s, p, append(b, '\n'), false); err != nil {
		return fmt.Errorf("store: lease %s: %w", l.Name, err)
	}
	return nil
}

// ReadLease returns the lease called name, or nil if there is none (or it
// is unreadable, which is the same as none: leases are advisory).
func (s *Store) ReadLease(name string) *Lease {
	p, err := s.leasePath(name)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var l Lease
	if json.Unmarshal(b, &l) != nil || l.Name != name {
		return nil
	}
	return &l
}

// RemoveLease deletes a lease; a missing one is fine.
func (s *Store) RemoveLease(name string) error {
	p, err := s.leasePath(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: lease %s: %w", name, err)
	}
	return nil
}

// LeaseDir is where leases live, for listing them.
func (s *Store) LeaseDir() string { return filepath.Join(s.root, dirLeases) }
