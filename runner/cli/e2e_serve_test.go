package cli_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveFlow trains a toy teacher and asks it for a baseline twice: in
// process (provider local) and over HTTP (provider openai, against
// `bitflow serve`).
const serveFlow = `
name: serve
params:
  url: http://127.0.0.1:1/v1
steps:
  corpus:
    uses: corpus
    with: {seed: 3, examples: 40, schemas: [user]}
  tok:
    uses: tokenizer
    with: {vocab_size: 300}
    inputs: {corpus: corpus.train}
  teacher:
    uses: train
    with: {n_layer: 1, n_head: 2, n_embd: 32, block_size: 128, linear_variant_attn: linear, linear_variant_mlp: linear, max_iters: 8, batch_size: 4, seed: 1}
    inputs: {tokenizer: tok.tokenizer, corpus: corpus.train}
  local:
    uses: baseline
    with: {max_prompts: 3, max_new_tokens: 12}
    inputs: {prompts: corpus.val, teacher: teacher.checkpoint, teacher_tokenizer: tok.tokenizer}
  remote:
    uses: baseline
    with: {max_prompts: 3, max_new_tokens: 12, provider: openai, base_url: "${{ params.url }}", model: teacher, max_retries: 0}
    inputs: {prompts: corpus.val}
`

func TestServeAnswersLikeTheLocalTeacher(t *testing.T) {
	dir := workdir(t, serveFlow)
	local := run(t, dir, 0, "flow.yaml", "local")

	cmd := exec.Command(bitflowBin, "serve", "teacher.checkpoint", "--tokenizer", "tok.tokenizer", "--model", "teacher",
		"--addr", "127.0.0.1:0", "--store", "store", "--log-format", "json")
	cmd.Dir = dir
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == "serving" {
				addr <- line["addr"].(string)
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("bitflow serve did not start")
	}
	remote := run(t, dir, 0, "flow.yaml", "remote", "--set", "url="+url)

	read := func(digest string) map[string]any {
		hex := strings.TrimPrefix(digest, "sha256:")
		b, err := os.ReadFile(filepath.Join(dir, "store", "objects", "sha256", hex[:2], hex))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	lrep, rrep := read(local.step("local").Outputs["report"]), read(remote.step("remote").Outputs["report"])
	if rrep["provider"] != "openai" || lrep["provider"] != "local" {
		t.Errorf("providers %v %v", lrep["provider"], rrep["provider"])
	}
	lres, rres := lrep["results"].([]any), rrep["results"].([]any)
	if len(lres) != 3 || len(rres) != 3 {
		t.Fatalf("results %d %d", len(lres), len(rres))
	}
	tokens := 0.0
	for i := range lres {
		lc, rc := lres[i].(map[string]any), rres[i].(map[string]any)
		tokens += lc["completion_tokens"].(float64)
		if lc["completion"] != rc["completion"] || lc["completion_tokens"] != rc["completion_tokens"] {
			t.Errorf("prompt %d: local %q (%v tokens), served %q (%v tokens)", i, lc["completion"], lc["completion_tokens"], rc["completion"], rc["completion_tokens"])
		}
	}

	if tokens == 0 {
		t.Error("the teacher generated nothing: the comparison proves nothing")
	}

	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after Ctrl-C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("serve did not stop on Ctrl-C")
	}
}
