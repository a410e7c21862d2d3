package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/workflows"
)

// recKind is a test kind that counts its executions per step and writes
// its value param followed by its inputs' bytes, so that results are a
// deterministic function of the key.
type recKind struct {
	mu    sync.Mutex
	count map[string]int // by value param
	// block, if set, makes Run wait for ctx (to test cancellation) after
	// signalling started.
	started chan string
	// active counts the executions in progress and peak the most seen at
	// once, to observe overlap without timing anything.
	active, peak int
}

func newRecKind() *recKind { return &recKind{count: map[string]int{}} }

func (k *recKind) Kind() string    { return "rec" }
func (k *recKind) Version() string { return "1" }
func (k *recKind) Params() steps.Schema {
	return steps.Schema{
		Doc: "test kind",
		Params: []steps.Param{
			{Name: "value", Type: steps.String, Required: true},
			{Name: "sleep_ms", Type: steps.Int, Default: int64(0)},
			{Name: "fail", Type: steps.Bool, Default: false},
			{Name: "block", Type: steps.Bool, Default: false},
			{Name: "random", Type: steps.Bool, Default: false},
			{Name: "workers", Type: steps.Int, Default: int64(1), Meta: true},
			// mode has no default, so it stays out of keys unless set.
			{Name: "mode", Type: steps.String, Enum: []string{"fast", "exact"}},
			// meet makes Run wait until this many executions are in
			// progress at once (or ctx ends): proof that they overlap.
			{Name: "meet", Type: steps.Int},
		},
		Inputs:  []steps.Port{{Name: "a", Optional: true}, {Name: "b", Optional: true}},
		Outputs: []steps.Port{{Name: "out"}},
	}
}

func (k *recKind) Run(ctx context.Context, env *steps.Env, in steps.Inputs, out steps.Outputs) error {
	v := env.Params.String("value")
	k.mu.Lock()
	k.count[v]++
	k.active++
	k.peak = max(k.peak, k.active)
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.active--
		k.mu.Unlock()
	}()
	if env.Params.Has("meet") {
		for want := env.Params.Int("meet"); ; {
			k.mu.Lock()
			met := k.peak >= want
			k.mu.Unlock()
			if met {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
	}
	if env.Params.Bool("block") {
		if k.started != nil {
			k.started <- v
		}
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(time.Duration(env.Params.Int("sleep_ms")) * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Fprintf(env.Log, "running %s\n", v)
	if env.Params.Bool("fail") {
		return errors.New("asked to fail")
	}
	var b strings.Builder
	b.WriteString(v)
	if env.Params.Bool("random") {
		fmt.Fprintf(&b, " %d", time.Now().UnixNano())
	}
	for _, name := range in.Names() {
		data, err := os.ReadFile(in.Path(name))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "|%s=%s", name, data)
	}
	return os.WriteFile(out.Path("out"), []byte(b.String()), 0o644)
}

func (k *recKind) runs(value string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.count[value]
}

func (k *recKind) maxConcurrent() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.peak
}

func (k *recKind) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, c := range k.count {
		n += c
	}
	return n
}

type env struct {
	t     *testing.T
	store *store.Store
	kind  *recKind
	reg   *steps.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := newRecKind()
	return &env{t: t, store: s, kind: k, reg: steps.NewRegistry(exec.Kind{}, k)}
}

func (e *env) plan(src string, opt Options) *Plan {
	e.t.Helper()
	w, err := workflows.Load("test.yaml", []byte(src), LoaderKinds(e.reg))
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	p, err := NewPlan(w, e.reg, opt)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	return p
}

// run plans and executes src; it fails the test on a store error.
func (e *env) run(src string, opt Options, r *Runner) (*store.RunRecord, error) {
	e.t.Helper()
	if r == nil {
		r = &Runner{}
	}
	r.Store = e.store
	rec, err := r.Execute(context.Background(), e.plan(src, opt))
	if rec == nil {
		e.t.Fatalf("execute: %v", err)
	}
	return rec, err
}

// statuses returns "name:status" for each step of a run, in order.
func statuses(rec *store.RunRecord) string {
	var parts []string
	for _, s := range rec.Steps {
		parts = append(parts, s.Name+":"+s.Status)
	}
	return strings.Join(parts, " ")
}

func stepOf(rec *store.RunRecord, name string) store.StepRecord {
	for _, s := range rec.Steps {
		if s.Name == name {
			return s
		}
	}
	return store.StepRecord{}
}
