package runner

import (
	"fmt"
	"os"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// leaseEvery is how often the holder of an action renews its lease.
const leaseEvery = 15 * time.Second

// actionLease names the lease of an action.
func actionLease(id string) string { return "action-" + id }

// holdLease writes the lease of an action this process holds the lock of
// and renews it until the returned function is called, which removes it.
// The lease informs; the OFD lock excludes.
func (e *execution) holdLease(id string, n *Node) func() {
	st := e.r.Store
	now := time.Now().UTC()
	l := &store.Lease{Name: actionLease(id), Host: e.host, PID: os.Getpid(), Job: e.r.LeaseJob, Run: e.runID,
		Note: "step " + n.Name, Started: now, Heartbeat: now}
	if err := st.WriteLease(l); err != nil {
		e.r.emit(Event{Type: Warning, Step: n.Name, Msg: fmt.Sprintf("lease: %v", err)})
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(leaseEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				l.Heartbeat = now.UTC()
				_ = st.WriteLease(l)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		_ = st.RemoveLease(l.Name)
	}
}

// waitingMsg says who holds an action's lock, from its lease if it has one.
func (e *execution) waitingMsg(id string) string {
	l := e.r.Store.ReadLease(actionLease(id))
	if l == nil {
		return "another bitflow is computing this step; waiting for it"
	}
	who := "host " + l.Host
	if l.Job != "" {
		who += ", job " + l.Job
	}
	return fmt.Sprintf("another bitflow (%s) is computing this step, heartbeat %s ago; waiting for it",
		who, l.Age(time.Now()).Round(time.Second))
}
