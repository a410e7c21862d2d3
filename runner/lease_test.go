package runner

import (
	"context"
	"strings"
	"testing"
)

func TestActionLeaseNamesHostAndJob(t *testing.T) {
	e := newEnv(t)
	p := e.plan(chainFlow, Options{})
	r := &Runner{Store: e.store, Leases: true, LeaseJob: "4242_3"}
	x := &execution{r: r, p: p, runID: "run-1", host: "node7"}
	id := strings.Repeat("ab", 32)
	if msg := x.waitingMsg(id); !strings.Contains(msg, "another bitflow is computing") {
		t.Errorf("no lease: %q", msg)
	}
	release := x.holdLease(id, p.Node("a"))
	l := e.store.ReadLease(actionLease(id))
	if l == nil || l.Host != "node7" || l.Job != "4242_3" || l.Run != "run-1" {
		t.Fatalf("lease %+v", l)
	}
	if msg := x.waitingMsg(id); !strings.Contains(msg, "host node7, job 4242_3") || !strings.Contains(msg, "heartbeat") {
		t.Errorf("waiting message %q", msg)
	}
	release()
	if l := e.store.ReadLease(actionLease(id)); l != nil {
		t.Errorf("lease left after release: %+v", l)
	}
	// A job executing a step holds the lease only while it runs it.
	out, err := r.ExecuteStep(context.Background(), p, "a", "run-1")
	if err != nil || out.Status != "ran" {
		t.Fatalf("%+v %v", out, err)
	}
	if l := e.store.ReadLease(actionLease(out.ActionID)); l != nil {
		t.Errorf("lease left after the step: %+v", l)
	}
}
