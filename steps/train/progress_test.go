package train

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

// TestProgressAndRecordedRates trains the tiny flow once, recording its
// progress reports and its action record: every log interval reports the
// steps done of the total with loss, tokens/s and an ETA (spec
// pipeline.md, train: "Progress: step, loss, tokens/s, ETA"), and the
// action record holds the wall-clock rates, tokens/s among them, which the
// artifacts must not.
func TestProgressAndRecordedRates(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	var mu sync.Mutex
	var reports []steps.Progress
	rec, err := execute(t, context.Background(), st, func(ev runner.Event) {
		if ev.Type == runner.StepProgress && ev.Step == "model" {
			mu.Lock()
			reports = append(reports, *ev.Progress)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// max_iters 24, log_interval 4: a report after steps 4, 8, ..., 24.
	if len(reports) != 6 {
		t.Fatalf("%d progress reports, want 6: %+v", len(reports), reports)
	}
	for i, p := range reports {
		if p.Done != float64(4*(i+1)) || p.Total != 24 || p.Unit != "steps" {
			t.Errorf("report %d: %v/%v %s, want %d/24 steps", i, p.Done, p.Total, p.Unit, 4*(i+1))
		}
		loss, ok := p.Fields["loss"]
		if !ok || !(loss > 0) || math.IsInf(loss, 0) {
			t.Errorf("report %d: loss %v (present %v)", i, loss, ok)
		}
		if tps, ok := p.Fields["tokens_per_s"]; !ok || !(tps > 0) || math.IsInf(tps, 0) {
			t.Errorf("report %d: tokens_per_s %v (present %v)", i, tps, ok)
		}
		eta, ok := p.Fields["eta_s"]
		if !ok || eta < 0 || math.IsNaN(eta) {
			t.Errorf("report %d: eta_s %v (present %v)", i, eta, ok)
		}
		if p.Done == p.Total && eta != 0 {
			t.Errorf("the last report leaves %v s", eta)
		}
		if p.Message == "" {
			t.Errorf("report %d has no message (the ETA as text)", i)
		}
	}

	var id string
	for _, s := range rec.Steps {
		if s.Name == "model" {
			id = s.ActionID
		}
	}
	ar, err := st.ReadAction(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"train_seconds", "steps_per_s", "tokens_per_s", "val_loss"} {
		if v, ok := ar.Metrics[name]; !ok || !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("action record metric %s = %v (present %v), want > 0", name, v, ok)
		}
	}
	// tokens/s is the seen tokens of the run over its training time.
	hb, _ := st.ReadObject(outputs(rec, "model")["health"].Digest)
	var h Health
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	want := float64(h.SeenTokens) / ar.Metrics["train_seconds"]
	if got := ar.Metrics["tokens_per_s"]; math.Abs(got-want) > 1e-9*want {
		t.Errorf("tokens_per_s %v, want seen tokens %d / train_seconds %v = %v", got, h.SeenTokens, ar.Metrics["train_seconds"], want)
	}
}
