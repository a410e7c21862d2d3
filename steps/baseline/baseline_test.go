package baseline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/teacher"
	"github.com/bitflow-dev/bitflow/workflows"
)

// echoTeacher answers with the reference answer it was told about, broken
// for every second prompt, so the expected quality is known exactly.
type echoTeacher struct {
	answers map[string]string
	calls   int
	timing  *teacher.Timing // what the teacher says its generations took (nil: a remote teacher's silence)
}

func (e *echoTeacher) Describe() (string, string) { return "fake", "echo" }
func (e *echoTeacher) MemoryBytes() int64         { return 4096 }
func (e *echoTeacher) Complete(ctx context.Context, req teacher.Request) (*teacher.Completion, error) {
	e.calls++
	if req.Temperature != 0 || req.TopP != 1 || req.MaxTokens != 16 {
		return nil, os.ErrInvalid
	}
	ans := e.answers[req.Prompt]
	if e.calls%2 == 0 {
		ans = ans[:len(ans)/2] // truncated: invalid JSON
	}
	return &teacher.Completion{Text: ans, FinishReason: "stop", PromptTokens: 5, CompletionTokens: len(ans), Timing: e.timing}, nil
}

const flow = `
steps:
  split:
    run: |
      printf '%s\n' '{"prompt":"p1","answer":"{\"a\":1,\"b\":[2,3]}"}' '{"prompt":"p2","answer":"{\"a\":2}"}' '{"prompt":"p3","answer":"{\"c\":\"x\"}"}' > ${{ outputs.val }}
    outputs: [val]
  baseline:
    uses: baseline
    with: {max_prompts: 10, max_new_tokens: 16}
    inputs: {prompts: split.val}
`

// runBaseline runs the flow's baseline step with fake as the teacher and
// returns the report's bytes and the runner's pieces for reruns.
func runBaseline(t *testing.T, fake *echoTeacher) ([]byte, *workflows.Workflow, *steps.Registry, *store.Store) {
	t.Helper()
	kind := Kind{Open: func(context.Context, teacher.Config, steps.Inputs) (teacher.Provider, error) { return fake, nil }}
	reg := steps.NewRegistry(exec.Kind{}, kind)
	w, err := workflows.Load("flow.yaml", []byte(flow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := store.Open(t.TempDir())
	rec, err := (&runner.Runner{Store: st}).Execute(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.ReadObject(rec.Steps[1].Outputs["report"].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return b, w, reg, st
}

func TestBaselineReport(t *testing.T) {
	fake := &echoTeacher{answers: map[string]string{"p1": `{"a":1,"b":[2,3]}`, "p2": `{"a":2}`, "p3": `{"c":"x"}`},
		timing: &teacher.Timing{Prefill: 500 * time.Millisecond, Decode: 2 * time.Second, DecodeTokens: 8}}
	b, w, reg, st := runBaseline(t, fake)
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Provider != "fake" || rep.Model != "echo" || rep.MemoryBytes != 4096 || rep.Timestamp == "" {
		t.Errorf("header %+v", rep)
	}
	if rep.Metrics.TotalPrompts != 3 || len(rep.Results) != 3 || rep.EvalConfig.MaxPrompts != 3 || rep.EvalConfig.MaxNewTokens != 16 {
		t.Errorf("counts %+v %+v", rep.Metrics, rep.EvalConfig)
	}
	// p1 and p3 answered exactly, p2 truncated.
	q := rep.Quality
	if q.N != 3 || math.Abs(q.ExactMatch-2.0/3) > 1e-12 || math.Abs(q.FieldAccuracy-2.0/3) > 1e-12 || math.Abs(q.ValidJSON-2.0/3) > 1e-12 {
		t.Errorf("quality %+v", q)
	}
	if rep.Results[1].Quality.ValidJSON || !strings.HasPrefix(rep.Results[1].Completion, `{"a`) {
		t.Errorf("result 1 %+v", rep.Results[1])
	}
	if rep.Metrics.TotalTokens != len(`{"a":1,"b":[2,3]}`)+len(`{"a`)+len(`{"c":"x"}`) {
		t.Errorf("total tokens %d", rep.Metrics.TotalTokens)
	}

	// Prefill and decode rates come from the teacher's own timing (5 prompt
	// tokens in 0.5 s, 8 decode tokens in 2 s), not from the latency.
	for _, r := range rep.Results {
		if r.PrefillTPS == nil || *r.PrefillTPS != 10 || r.DecodeTPS != 4 || !(r.LatencyS > 0) {
			t.Errorf("result %d: prefill %v decode %v tokens/s, latency %v", r.Index, r.PrefillTPS, r.DecodeTPS, r.LatencyS)
		}
	}
	if m := rep.Metrics; m.AvgPrefillTPS == nil || *m.AvgPrefillTPS != 10 || m.AvgDecodeTPS != 4 || m.DecodeTPSBasis != "decode" {
		t.Errorf("metrics %+v (prefill %v)", m, m.AvgPrefillTPS)
	}

	// --verify re-executes: the timings differ, the rest must not.
	fake.calls = 0
	p2, _ := runner.NewPlan(w, reg, runner.Options{})
	vrec, err := (&runner.Runner{Store: st, Verify: true}).Execute(context.Background(), p2)
	if err != nil || vrec.Steps[1].Status != store.StepRan {
		t.Fatalf("verify: %v %+v", err, vrec.Steps[1])
	}
}

// TestBaselineReportRemote: a teacher that cannot time prefill (a remote
// API) gets null prefill rates, never invented ones, and decode rates from
// the requests' latencies, said so by the basis.
func TestBaselineReportRemote(t *testing.T) {
	fake := &echoTeacher{answers: map[string]string{"p1": `{"a":1,"b":[2,3]}`, "p2": `{"a":2}`, "p3": `{"c":"x"}`}}
	b, _, _, _ := runBaseline(t, fake)
	var doc struct {
		Metrics map[string]any   `json:"metrics"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc.Metrics["avg_prefill_tps"]; !ok || v != nil || doc.Metrics["decode_tps_basis"] != "latency" {
		t.Errorf("metrics %v", doc.Metrics)
	}
	for i, r := range doc.Results {
		v, ok := r["prefill_tps"]
		want := r["completion_tokens"].(float64) / r["latency_s"].(float64)
		if !ok || v != nil || r["decode_tps"] != want {
			t.Errorf("result %d: prefill_tps %v (present %v), decode_tps %v, want %v", i, v, ok, r["decode_tps"], want)
		}
	}
}

func TestNormalizeDropsOnlyTimings(t *testing.T) {
	p1, p2, p3, p4 := 10.0, 20.0, 30.0, 40.0
	a := Report{Timestamp: "t1", Metrics: Metrics{AvgDecodeTPS: 5, AvgPrefillTPS: &p1, DecodeTPSBasis: "decode", TotalLatencyS: 2, TotalTokens: 7},
		Results: []Result{{LatencyS: 1, PrefillTPS: &p2, DecodeTPS: 3, Completion: "x"}}}
	b := a
	b.Timestamp, b.Metrics.AvgDecodeTPS, b.Metrics.AvgPrefillTPS, b.Metrics.TotalLatencyS = "t2", 9, &p3, 4
	b.Results = []Result{{LatencyS: 2, PrefillTPS: &p4, DecodeTPS: 4, Completion: "x"}}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	na, _ := Kind{}.Normalize("report", ja)
	nb, _ := Kind{}.Normalize("report", jb)
	if string(na) != string(nb) {
		t.Errorf("timings survive normalization:\n%s\n%s", na, nb)
	}
	b.Results[0].Completion = "y"
	jb, _ = json.Marshal(b)
	nb, _ = Kind{}.Normalize("report", jb)
	if string(na) == string(nb) {
		t.Error("normalization hides a changed completion")
	}
}
