package cli_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQuickstartPipeline runs the shipped quickstart workflow (the whole
// distillation pipeline at toy sizes) twice through the real binary: the
// second run executes nothing, and the reports hold every field they should.
func TestQuickstartPipeline(t *testing.T) {
	dir := t.TempDir()
	first := run(t, dir, 0, "quickstart")
	want := "corpus:ran tok_teacher:ran tok_student:ran teacher:ran baseline:ran traces:ran traces_val:ran student:ran eval:ran dryrun:ran"
	if got := first.statuses(); got != want {
		t.Fatalf("first run: %s", got)
	}
	second := run(t, dir, 0, "quickstart")
	if got := second.statuses(); got != strings.ReplaceAll(want, ":ran", ":cached") {
		t.Fatalf("second run: %s", got)
	}
	sameDigests(t, second.digests(), first.digests())

	read := func(ref string) map[string]any {
		t.Helper()
		d := first.digests()[ref]
		hex := strings.TrimPrefix(d, "sha256:")
		b, err := os.ReadFile(filepath.Join(dir, "store", "objects", "sha256", hex[:2], hex))
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return m
	}
	num := func(m map[string]any, path string) float64 {
		t.Helper()
		var v any = m
		for _, k := range strings.Split(path, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: not an object at %s", path, k)
			}
			v = obj[k]
		}
		f, ok := v.(float64)
		if !ok {
			t.Fatalf("%s = %v, not a number", path, v)
		}
		return f
	}

	ev := read("eval.report")
	for _, p := range []string{"qei_metrics.student_tps", "qei_metrics.teacher_tps", "qei_metrics.student_memory_gb",
		"qei_metrics.teacher_memory_gb", "speed.packed.all_threads.decode_tps", "speed.fake_quant.one_thread.prefill_tps",
		"memory.dense_fp32_bytes", "memory.packed_bytes", "quality.held_out_ce", "quality.kl_to_teacher"} {
		if !(num(ev, p) > 0) {
			t.Errorf("eval report %s = %v, want > 0", p, num(ev, p))
		}
	}
	for _, p := range []string{"quality.field_accuracy", "quality.json_validity", "qei_metrics.student_quality", "qei_metrics.teacher_quality"} {
		if v := num(ev, p); v < 0 || v > 1 {
			t.Errorf("eval report %s = %v, want a fraction", p, v)
		}
	}
	if num(ev, "memory.packed_bytes") >= num(ev, "memory.dense_fp32_bytes") {
		t.Error("the packed student is not smaller than its fp32 weights")
	}
	if n := num(ev, "quality.n"); n != 32 || len(ev["results"].([]any)) != 32 {
		t.Errorf("eval answered %v prompts", n)
	}
	if ev["model_meta"].(map[string]any)["step"].(float64) != 150 {
		t.Errorf("model_meta %v", ev["model_meta"])
	}
	checkQEI(t, ev["qei_metrics"].(map[string]any))

	bl := read("baseline.report")
	if bl["provider"] != "local" || !(num(bl, "metrics.avg_decode_tps") > 0) || !(num(bl, "memory_bytes") > 0) || num(bl, "metrics.total_prompts") != 32 {
		t.Errorf("baseline report %v %v", bl["provider"], bl["metrics"])
	}
	dr := read("dryrun.report")
	if dr["config_name"] != "tiny" || !(num(dr, "memory.peak_rss_bytes") > 0) || dr["flip_check"].(map[string]any)["finite"] != true {
		t.Errorf("dryrun report %v %v", dr["config_name"], dr["flip_check"])
	}
	health := read("student.health")
	if num(health, "step") != 150 || !(num(health, "seen_tokens") > 0) {
		t.Errorf("student health %v", health)
	}
}

// checkQEI checks the eval report's qei_metrics: the quickstart's teacher
// and student score above zero (they answer valid records whose commonest
// values sometimes match), so every figure is a positive number and QEI and
// QEI_speed are the spec's formulas of them (pipeline.md, eval).
func checkQEI(t *testing.T, q map[string]any) {
	t.Helper()
	v := map[string]float64{}
	for _, name := range []string{"student_quality", "teacher_quality", "student_memory_gb", "teacher_memory_gb", "student_tps", "teacher_tps", "qei", "qei_speed"} {
		f, ok := q[name].(float64)
		if !ok || !(f > 0) || math.IsInf(f, 0) {
			t.Errorf("qei_metrics.%s = %v, want a positive number (qei_metrics %v)", name, q[name], q)
			return
		}
		v[name] = f
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Abs(want) }
	qei := (v["student_quality"] / v["teacher_quality"]) / (v["student_memory_gb"] / v["teacher_memory_gb"])
	if !near(v["qei"], qei) {
		t.Errorf("qei %v, want (Q_s/Q_t)/(M_s/M_t) = %v", v["qei"], qei)
	}
	if speed := qei * v["student_tps"] / v["teacher_tps"]; !near(v["qei_speed"], speed) {
		t.Errorf("qei_speed %v, want qei * TPS_s/TPS_t = %v", v["qei_speed"], speed)
	}
}

// TestKill9DuringTrainingResumes kills bitflow with SIGKILL while the
// student trains, after it has saved resumable progress, and checks that
// the rerun resumes from it and ends with exactly the digests of an
// uninterrupted run.
func TestKill9DuringTrainingResumes(t *testing.T) {
	// teacher_iters=40: the teacher's progress stays below the 60 steps
	// that tell the student's progress apart.
	sets := []string{"--set", "teacher_iters=40", "--set", "student_iters=200", "--set", "checkpoint_interval=20"}
	ref := run(t, t.TempDir(), 0, append([]string{"quickstart"}, sets...)...)

	dir := t.TempDir()
	cmd := exec.Command(bitflowBin, append([]string{"run", "quickstart", "--store", "store"}, sets...)...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if studentProgress(dir) >= 60 { // beyond the teacher's 40 steps: the student's
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the student never saved progress")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	r := bitflow(t, dir, append([]string{"run", "--json", "--store", "store", "quickstart"}, sets...)...)
	if r.code != 0 {
		t.Fatalf("rerun: %s", r.stderr)
	}
	got := parseRun(t, r)
	if got.step("student").Status != "ran" {
		t.Fatalf("student %s", got.step("student").Status)
	}
	// Reports that hold timings differ from run to run; everything else
	// must be identical.
	g, w := got.digests(), ref.digests()
	for _, measured := range []string{"baseline.report", "eval.report", "dryrun.report", "traces.stats", "traces_val.stats"} {
		delete(g, measured)
		delete(w, measured)
	}
	sameDigests(t, g, w)
	if g["student.checkpoint"] == "" {
		t.Fatal("no student checkpoint compared")
	}
	log := bitflow(t, dir, "show", "latest", "student", "--log", "--store", "store")
	if !strings.Contains(log.stdout, "resumed at step") {
		t.Errorf("the student did not resume:\n%s", log.stdout)
	}
}

// studentProgress returns the highest step committed in any training's
// resumable progress in dir's store.
func studentProgress(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "store", "partial", "*", "progress.json"))
	best := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var p struct{ Step int }
		if json.Unmarshal(b, &p) == nil && p.Step > best {
			best = p.Step
		}
	}
	return best
}
