package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/baseline"
	"github.com/bitflow-dev/bitflow/steps/corpus"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/quality"
	tokkind "github.com/bitflow-dev/bitflow/steps/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/train"
	"github.com/bitflow-dev/bitflow/workflows"
)

func TestQEI(t *testing.T) {
	rep := &Report{Quality: Quality{Summary: quality.Summary{FieldAccuracy: 0.6}}, Memory: Memory{PackedBytes: 2e6},
		Speed: Speed{Packed: PathSpeed{AllThreads: TPS{DecodeTPS: 300}}}}
	teacher := &baseline.Report{MemoryBytes: 8e6, Quality: quality.Summary{FieldAccuracy: 0.8}, Metrics: baseline.Metrics{AvgDecodeTPS: 100}}
	if err := rep.computeQEI(teacher, 0); err != nil {
		t.Fatal(err)
	}
	q := rep.QEIMetrics
	// (0.6/0.8) / (2e6/8e6) = 3; times 300/100 = 9.
	if q.QEI == nil || math.Abs(*q.QEI-3) > 1e-12 || q.QEISpeed == nil || math.Abs(*q.QEISpeed-9) > 1e-12 {
		t.Errorf("qei %v, qei_speed %v", q.QEI, q.QEISpeed)
	}
	if q.StudentMemoryGB != 0.002 || q.TeacherMemoryGB != 0.008 || q.StudentTPS != 300 || q.TeacherTPS != 100 {
		t.Errorf("%+v", q)
	}

	remote := &baseline.Report{Quality: quality.Summary{FieldAccuracy: 0.8}}
	if err := (&Report{}).computeQEI(remote, 0); err == nil || !strings.Contains(err.Error(), "teacher_memory_gb") {
		t.Errorf("a remote teacher without teacher_memory_gb: %v", err)
	}
	r2 := &Report{Quality: rep.Quality, Memory: rep.Memory}
	if err := r2.computeQEI(remote, 0.016); err != nil || r2.QEIMetrics.QEI == nil || math.Abs(*r2.QEIMetrics.QEI-6) > 1e-12 {
		t.Errorf("teacher_memory_gb: %v %+v", err, r2.QEIMetrics)
	}
	bad := &Report{}
	if err := bad.computeQEI(&baseline.Report{MemoryBytes: 1}, 0); err != nil || bad.QEIMetrics.QEI != nil || bad.QEIMetrics.Note == "" {
		t.Errorf("zero teacher quality: %v %+v", err, bad.QEIMetrics)
	}
}

const flow = `
steps:
  corpus:
    uses: corpus
    with: {seed: 4, examples: 40, schemas: [user]}
  tok:
    uses: tokenizer
    with: {vocab_size: 300}
    inputs: {corpus: corpus.train}
  student:
    uses: train
    with: {n_layer: 1, n_head: 2, n_embd: 32, block_size: 128, max_iters: 6, batch_size: 4, seed: 3}
    inputs: {tokenizer: tok.tokenizer, corpus: corpus.train}
  teacher_report:
    run: |
      echo '{"memory_bytes":4000000,"metrics":{"avg_decode_tps":500},"quality":{"n":4,"field_accuracy":0.5}}' > ${{ outputs.report }}
    outputs: [report]
  eval:
    uses: eval
    with: {max_prompts: 3, max_new_tokens: 6, speed_prompts: 2, speed_new_tokens: 4}
    inputs: {checkpoint: student.checkpoint, tokenizer: tok.tokenizer, test: corpus.test, baseline: teacher_report.report}
`

func TestEvalReport(t *testing.T) {
	reg := steps.NewRegistry(exec.Kind{}, corpus.Kind{}, tokkind.Kind{}, train.Kind{}, Kind{})
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
		for _, s := range rec.Steps {
			t.Log(s.Name, s.Error)
		}
		t.Fatal(err)
	}
	outs := rec.Steps[4].Outputs
	b, _ := st.ReadObject(outs["report"].Digest)
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ModelMeta.Step != 6 || rep.ModelMeta.Params == 0 || rep.ModelMeta.ActBits != 8 || rep.ModelMeta.Checkpoint != string(rec.Steps[2].Outputs["checkpoint"].Digest) {
		t.Errorf("model meta %+v", rep.ModelMeta)
	}
	if rep.Quality.N != 3 || len(rep.Results) != 3 || !(rep.Quality.HeldOutCE > 0) || rep.Quality.KLToTeacher != nil {
		t.Errorf("quality %+v", rep.Quality)
	}
	for _, tps := range []TPS{rep.Speed.FakeQuant.OneThread, rep.Speed.FakeQuant.AllThreads, rep.Speed.Packed.OneThread, rep.Speed.Packed.AllThreads} {
		if !(tps.PrefillTPS > 0) || !(tps.DecodeTPS > 0) || tps.DecodeTokens != 2*3 {
			t.Errorf("speed %+v", tps)
		}
	}
	// A bitlinear student packs into less than its fp32 weights.
	if !(rep.Memory.Compression > 1) || rep.Memory.PackedBytes >= rep.Memory.DenseFP32Bytes {
		t.Errorf("memory %+v", rep.Memory)
	}
	q := rep.QEIMetrics
	want := (q.StudentQuality / 0.5) / (float64(rep.Memory.PackedBytes) / 4e6)
	if q.QEI == nil || math.Abs(*q.QEI-want) > 1e-9 || q.TeacherTPS != 500 || q.StudentTPS != rep.Speed.Packed.AllThreads.DecodeTPS {
		t.Errorf("qei %+v, want %v", q, want)
	}
	sb, _ := os.ReadFile(st.ObjectPath(outs["samples"].Digest))
	if n := strings.Count(string(sb), "\n"); n != 3 || !strings.Contains(string(sb), `"reference"`) {
		t.Errorf("samples:\n%s", sb)
	}

	// Normalize keeps what is reproducible, drops the timings.
	n1, _ := Kind{}.Normalize("report", b)
	rep.Speed.Packed.AllThreads.DecodeTPS *= 2
	rep.Timestamp = "later"
	b2, _ := json.Marshal(rep)
	n2, _ := Kind{}.Normalize("report", b2)
	if string(n1) != string(n2) {
		t.Error("normalization keeps timings")
	}
}
