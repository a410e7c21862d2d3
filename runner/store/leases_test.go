package store

import (
	"context"
	"testing"
	"time"
)

func TestLeases(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if l := s.ReadLease("slurm-abc"); l != nil {
		t.Fatalf("lease before writing: %+v", l)
	}
	now := time.Now().UTC().Truncate(time.Second)
	l := &Lease{Name: "slurm-abc", Host: "node7", Job: "123_4", Run: "r1", Started: now, Heartbeat: now}
	if err := s.WriteLease(l); err != nil {
		t.Fatal(err)
	}
	l.Heartbeat = now.Add(15 * time.Second)
	if err := s.WriteLease(l); err != nil {
		t.Fatal(err)
	}
	got := s.ReadLease("slurm-abc")
	if got == nil || got.Host != "node7" || got.Job != "123_4" || !got.Heartbeat.Equal(l.Heartbeat) {
		t.Fatalf("read %+v, want %+v", got, l)
	}
	if a := got.Age(now.Add(20 * time.Second)); a != 5*time.Second {
		t.Errorf("age = %v", a)
	}
	if err := s.RemoveLease("slurm-abc"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLease("slurm-abc"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".."} {
		if err := s.WriteLease(&Lease{Name: bad}); err == nil {
			t.Errorf("lease %q accepted", bad)
		}
	}
}

func TestLockNamed(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := s.LockNamed(ctx, "slurm-submit", nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := s.LockNamed(short, "slurm-submit", func() { waited = true }); err == nil || !waited {
		t.Fatalf("second holder got the lock (err %v, waited %v)", err, waited)
	}
	a.Unlock()
	b, err := s.LockNamed(ctx, "slurm-submit", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Unlock()
	for _, bad := range []string{"store", "a/b", "0123456789012345678901234567890123456789012345678901234567890123"} {
		if _, err := s.LockNamed(ctx, bad, nil); err == nil {
			t.Errorf("lock name %q accepted", bad)
		}
	}
}

func TestGCRemovesStaleLeases(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteLease(&Lease{Name: "slurm-x", Host: "h", Job: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(context.Background(), 1, true, nil); err != nil {
		t.Fatal(err)
	}
	if s.ReadLease("slurm-x") == nil {
		t.Fatal("a dry run removed a lease")
	}
	if _, err := s.GC(context.Background(), 1, false, nil); err != nil {
		t.Fatal(err)
	}
	if l := s.ReadLease("slurm-x"); l != nil {
		t.Errorf("gc left lease %+v", l)
	}
}
