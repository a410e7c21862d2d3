package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tracesFlow collects traces of 12 prompts, 2 to a chunk, one request at
// a time (so the teacher is asked in prompt order), from a remote teacher
// at params.base_url.
const tracesFlow = `
name: traces-kill
params:
  base_url: http://127.0.0.1:1/v1
steps:
  corpus:
    uses: corpus
    with: {seed: 3, examples: 40, val_fraction: 0.1, test_fraction: 0.1, schemas: [user]}
  tok:
    uses: tokenizer
    with: {vocab_size: 290}
    inputs: {corpus: corpus.train}
  traces:
    uses: traces
    with: {provider: openai, base_url: "${{ params.base_url }}", model: fake-teacher, num_prompts: 12, chunk_prompts: 2, top_k: 4, max_tokens: 8, concurrency: 1, max_retries: 0}
    inputs: {prompts: corpus.train, student_tokenizer: tok.tokenizer}
`

// planActionID asks `bitflow plan --json` for a step's ActionID (known
// once its inputs are cached).
func planActionID(t *testing.T, dir, step string, args ...string) string {
	t.Helper()
	r := bitflow(t, dir, append([]string{"plan", "--json", "--store", "store", "flow.yaml"}, args...)...)
	var plan struct {
		Steps []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			ActionID string `json:"action_id"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan: %v\n%s", err, r.stderr)
	}
	for _, s := range plan.Steps {
		if s.Name == step && s.ActionID != "" && s.Status == "run" {
			return s.ActionID
		}
	}
	t.Fatalf("plan has no ActionID to run for %s:\n%s", step, r.stdout)
	return ""
}

// TestKill9DuringTracesResumes kills bitflow with SIGKILL while the traces
// step collects, once two chunks are saved in the store's
// partial/<actionid>/, and checks that the rerun samples only the prompts
// of the unsaved chunks and writes exactly the traces file of an
// uninterrupted run. The teacher is a fake remote one that holds the
// request after the fifth, so the kill lands mid-collection at a known
// point whatever the machine's speed.
func TestKill9DuringTracesResumes(t *testing.T) {
	srv := newFakeOpenAI(t)
	set := []string{"--set", "base_url=" + srv.URL}
	ref := run(t, workdir(t, tracesFlow), 0, append([]string{"flow.yaml"}, set...)...)
	if n := srv.requests.Load(); n != 12 {
		t.Fatalf("the uninterrupted run asked %d times, want 12", n)
	}

	dir := workdir(t, tracesFlow)
	run(t, dir, 0, append([]string{"flow.yaml", "tok"}, set...)...)
	id := planActionID(t, dir, "traces", set...)
	partial := filepath.Join(dir, "store", "partial", id)
	srv.requests.Store(0)
	srv.answer.Store(5) // prompts 0-4 answered: chunks 0 and 1 complete, chunk 2 waits on prompt 5
	cmd := exec.Command(bitflowBin, append([]string{"run", "--store", "store", "flow.yaml"}, set...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BITFLOW_STORE=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a timing assertion
	heldOne := false
	for {
		select {
		case <-srv.held:
			heldOne = true
		default:
		}
		chunks, _ := filepath.Glob(filepath.Join(partial, "chunk-*.gob"))
		if heldOne && len(chunks) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kill point: %d chunks saved, request held: %v", len(chunks), heldOne)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed = true
	if _, err := os.Stat(filepath.Join(dir, "store", "actions", id[:2], id+".json")); !os.IsNotExist(err) {
		t.Fatalf("the killed traces step has an action record (%v)", err)
	}
	checkStore(t, filepath.Join(dir, "store"))

	srv.answer.Store(0)
	srv.requests.Store(0)
	got := run(t, dir, 0, append([]string{"flow.yaml"}, set...)...)
	if got.statuses() != "corpus:cached tok:cached traces:ran" {
		t.Fatalf("rerun: %s", got.statuses())
	}
	if g, w := got.digests()["traces.traces"], ref.digests()["traces.traces"]; g == "" || g != w {
		t.Errorf("resumed traces %s, uninterrupted %s", g, w)
	}
	// Resumed: only the 8 prompts of chunks 2-5 were asked again.
	if n := srv.requests.Load(); n != 8 {
		t.Errorf("the rerun asked the teacher %d times, want 8", n)
	}
	var stats struct {
		Prompts        int      `json:"prompts"`
		SampledPrompts int      `json:"sampled_prompts"`
		TokensPerS     *float64 `json:"tokens_per_s"`
	}
	hex := strings.TrimPrefix(got.digests()["traces.stats"], "sha256:")
	b, err := os.ReadFile(filepath.Join(dir, "store", "objects", "sha256", hex[:2], hex))
	if err != nil || json.Unmarshal(b, &stats) != nil || stats.Prompts != 12 || stats.SampledPrompts != 8 || stats.TokensPerS == nil {
		t.Errorf("stats %s (%v)", b, err)
	}
	log := bitflow(t, dir, "show", "latest", "traces", "--log", "--store", "store")
	if !strings.Contains(log.stdout, "resuming: 4 of 12 prompts already collected") {
		t.Errorf("the traces step did not say it resumed:\n%s", log.stdout)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("the finished step's partial directory is still there (%v)", err)
	}
}
