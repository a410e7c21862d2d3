package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner/store"
)

// fixturePoint is one point of the fixture sweep.
type fixturePoint struct {
	name         string
	params       map[string]any
	adaptive     bool    // logs total_bits in training
	quality, qei float64 // eval report figures
}

var fixturePoints = []fixturePoint{
	{"toy-bit_balanced_cross_entropy-1e-06", map[string]any{"loss_fn": "bit_balanced_cross_entropy", "bit_loss_weight": 1e-06, "steps": 40.0}, true, 0.61, 2.5},
	{"toy-bit_balanced_cross_entropy-1e-05", map[string]any{"loss_fn": "bit_balanced_cross_entropy", "bit_loss_weight": 1e-05, "steps": 40.0}, true, 0.55, 2.9},
	{"toy-cross_entropy", map[string]any{"loss_fn": "cross_entropy", "steps": 40.0}, true, 0.66, 1.8},
}

// fixtureSweep writes a finished sweep run into a new store: per point a
// train step (checkpoint, metrics JSONL) and an eval step (report), plus
// one baseline shared by all points; with failed, a fourth point failed;
// without adaptive, training logs total_bits 0 as for a bitlinear student.
func fixtureSweep(t *testing.T, failed, adaptive bool) (*store.Store, string) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rl, err := st.CreateRun()
	if err != nil {
		t.Fatal(err)
	}
	put := func(s string) store.Output {
		d, err := st.PutBytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return store.Output{Digest: d, Size: int64(len(s)), Type: store.TypeFile}
	}
	started := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := &store.RunRecord{ID: rl.ID, Workflow: "bitnet_kd", File: "workflows/bitnet_kd.yaml", Host: "test", Version: "dev",
		Params: map[string]any{"steps": 40.0}, Started: started, Finished: started.Add(95 * time.Second), Status: store.RunOK}
	base := put(`{"metrics":{"avg_decode_tps":900.5,"total_prompts":8},"quality":{"n":8,"field_accuracy":0.88}}`)
	rec.Steps = append(rec.Steps, store.StepRecord{Name: "baseline", Kind: "baseline", Status: store.StepRan, ActionID: strings.Repeat("ab", 32), Outputs: map[string]store.Output{"report": base}, Duration: 2.5})
	sw := &store.SweepRecord{File: "toy.yaml", Stem: "toy", Workflow: "bitnet_kd", Report: []string{"eval.report.qei_metrics.qei", "student.metrics.loss"},
		ParamOrder: []string{"loss_fn", "bit_loss_weight", "steps"}}
	for i, fp := range fixturePoints {
		ckpt := put(fmt.Sprintf("checkpoint %d", i))
		var m strings.Builder
		for s := 10; s <= 40; s += 10 {
			bits := 0
			if fp.adaptive && adaptive {
				bits = 100000 * (6 - i) * 50 / (s + 10)
			}
			fmt.Fprintf(&m, `{"loss":%g,"step":%d,"total_bits":%d}`+"\n", 60/float64(s)+float64(i)/10, s, bits)
		}
		rep := fmt.Sprintf(`{"model_meta":{"checkpoint_digest":%q},"memory":{"packed_bytes":%d},"quality":{"field_accuracy":%g},"qei_metrics":{"student_tps":1200,"student_quality":%g,"qei":%g}}`,
			ckpt.Digest, 50000+i*1000, fp.quality, fp.quality, fp.qei)
		sn, en := fmt.Sprintf("student~%d", i), fmt.Sprintf("eval~%d", i)
		rec.Steps = append(rec.Steps,
			store.StepRecord{Name: sn, Kind: "train", Status: store.StepRan, ActionID: fmt.Sprintf("%064d", i), Outputs: map[string]store.Output{"checkpoint": ckpt, "metrics": put(m.String())}, Duration: 61},
			store.StepRecord{Name: en, Kind: "eval", Status: store.StepCached, ActionID: fmt.Sprintf("%064d", 10+i), Outputs: map[string]store.Output{"report": put(rep)}, Duration: 0.25})
		sw.Points = append(sw.Points, store.SweepPoint{Name: fp.name, ID: fmt.Sprint(i), Params: fp.params,
			Steps: map[string]string{"baseline": "baseline", "student": sn, "eval": en}})
	}
	if failed {
		rec.Steps = append(rec.Steps,
			store.StepRecord{Name: "student~9", Kind: "train", Status: store.StepFailed, Error: "train: loss is NaN <at step 3>"},
			store.StepRecord{Name: "eval~9", Kind: "eval", Status: store.StepSkipped})
		sw.Points = append(sw.Points, store.SweepPoint{Name: "toy-<nan>", ID: "9", Params: map[string]any{"loss_fn": "cross_entropy", "steps": 1e9},
			Steps: map[string]string{"baseline": "baseline", "student": "student~9", "eval": "eval~9"}})
		rec.Status = store.RunFailed
	}
	if err := rl.WriteSweep(sw); err != nil {
		t.Fatal(err)
	}
	if err := rl.Finish(rec); err != nil {
		t.Fatal(err)
	}
	return st, rl.ID
}
