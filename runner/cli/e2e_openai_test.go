package cli_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeOpenAI is an OpenAI-compatible chat completions endpoint on loopback
// standing in for a remote teacher: its answer (tokens, logprobs,
// alternatives, finish reason, usage) depends only on the request, so two
// runs that ask the same get the same bytes. It records the Authorization
// headers it receives, can hold requests to keep a run busy at a known
// point, and answers the model "reject" with a 400 that echoes the
// Authorization header (as a careless server might).
type fakeOpenAI struct {
	URL string // base URL, ending in /v1

	requests atomic.Int64
	// answer, when positive, is how many requests (counted by requests)
	// get an answer; later ones are held until their client goes away.
	answer atomic.Int64
	held   chan struct{} // one signal per held request

	mu   sync.Mutex
	auth []string
}

func newFakeOpenAI(t *testing.T) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{held: make(chan struct{}, 64)}
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, stop)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: releases held requests
	f.URL = srv.URL + "/v1"
	return f
}

func (f *fakeOpenAI) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request, stop chan struct{}) {
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	n := f.requests.Add(1)
	body, err := io.ReadAll(r.Body) // read all: the server then notices a client that goes away
	if err != nil || r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	if a := f.answer.Load(); a > 0 && n > a {
		f.held <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
		return
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
		MaxTokens   int   `json:"max_tokens"`
		Seed        int64 `json:"seed"`
		TopLogprobs int   `json:"top_logprobs"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) != 1 || req.MaxTokens < 1 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	if req.Model == "reject" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": "model reject does not exist for " + r.Header.Get("Authorization")}})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(fakeAnswer(req.Model, req.Messages[0].Content, req.Seed, req.MaxTokens, req.TopLogprobs))
}

// fakeWords are the texts the fake teacher's tokens are made of.
var fakeWords = []string{`{"`, "id", `":`, "4", "17", ",", "name", `"`, "Alice", " ", "age", "}", "city", "Lyon", ":", "3"}

// fakeAnswer is the chat completion for a prompt and seed: 1 to maxTokens+1
// tokens drawn from a generator seeded by both (maxTokens+1 means cut at
// maxTokens, finish "length"), each with topN alternatives whose
// probabilities add up to less than one, the token itself the likeliest.
func fakeAnswer(model, prompt string, seed int64, maxTokens, topN int) map[string]any {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	binary.Write(h, binary.LittleEndian, seed)
	rng := mrand.New(mrand.NewPCG(h.Sum64(), 42))
	n, finish := 1+rng.IntN(maxTokens+1), "stop"
	if n > maxTokens {
		n, finish = maxTokens, "length"
	}
	var text strings.Builder
	var content []map[string]any
	for range n {
		perm := rng.Perm(len(fakeWords))
		var top []map[string]any
		for j := range max(topN, 1) {
			top = append(top, map[string]any{"token": fakeWords[perm[j]], "logprob": -0.4 - 0.9*float64(j) - 0.1*rng.Float64()})
		}
		text.WriteString(top[0]["token"].(string))
		tok := map[string]any{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": []map[string]any{}}
		if topN > 0 {
			tok["top_logprobs"] = top
		}
		content = append(content, tok)
	}
	return map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
		"choices": []map[string]any{{"index": 0, "finish_reason": finish,
			"message":  map[string]any{"role": "assistant", "content": text.String()},
			"logprobs": map[string]any{"content": content}}},
		"usage": map[string]any{"prompt_tokens": len(prompt)/4 + 1, "completion_tokens": n, "total_tokens": len(prompt)/4 + 1 + n},
	}
}

// secretFlow runs both teacher-facing kinds against a remote teacher whose
// key is in $BITFLOW_TEST_API_KEY, and one baseline whose requests the
// server rejects with an error quoting the key.
const secretFlow = `
name: secret
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
  baseline:
    uses: baseline
    with: {provider: openai, base_url: "${{ params.base_url }}", model: fake-teacher, api_key_env: BITFLOW_TEST_API_KEY, max_prompts: 3, max_new_tokens: 8, concurrency: 1}
    inputs: {prompts: corpus.val}
  traces:
    uses: traces
    with: {provider: openai, base_url: "${{ params.base_url }}", model: fake-teacher, api_key_env: BITFLOW_TEST_API_KEY, num_prompts: 4, chunk_prompts: 2, top_k: 4, max_tokens: 8}
    inputs: {prompts: corpus.train, student_tokenizer: tok.tokenizer}
  rejected:
    uses: baseline
    with: {provider: openai, base_url: "${{ params.base_url }}", model: reject, api_key_env: BITFLOW_TEST_API_KEY, max_prompts: 1, max_new_tokens: 8}
    inputs: {prompts: corpus.val}
`

// TestAPIKeyNeverStored runs the baseline and traces kinds against a
// remote teacher on loopback with a distinctive API key in the variable
// api_key_env names: the server receives the key as a Bearer token, and
// the key is nowhere in the store (objects, action records, runs,
// journals, logs, partial progress) nor in anything bitflow prints, with
// debug logging and every key's manifest printed, even when the server
// quotes the key in an error.
func TestAPIKeyNeverStored(t *testing.T) {
	srv := newFakeOpenAI(t)
	raw := make([]byte, 16)
	rand.Read(raw)
	secret := "sk-bitflow-test-" + hex.EncodeToString(raw)
	t.Setenv("BITFLOW_TEST_API_KEY", secret)
	t.Setenv("BITFLOW_DEBUG", "hash")
	dir := workdir(t, secretFlow)

	r := bitflow(t, dir, "run", "--json", "--store", "store", "--keep-going", "--log-level", "debug", "flow.yaml", "--set", "base_url="+srv.URL)
	if r.code != 1 {
		t.Fatalf("run: exit %d, want 1 (the rejected step fails)\n%s", r.code, r.stderr)
	}
	got := parseRun(t, r)
	if got.statuses() != "corpus:ran tok:ran baseline:ran traces:ran rejected:failed" {
		t.Fatalf("statuses %s", got.statuses())
	}
	// The server quoted the key; the error says so without it.
	if e := got.step("rejected").Error; !strings.Contains(e, "status 400") || !strings.Contains(e, "[redacted]") {
		t.Errorf("rejected step's error: %q", e)
	}
	auth := srv.authorizations()
	if len(auth) != 3+4+1 {
		t.Errorf("the server got %d requests, want 8", len(auth))
	}
	for i, a := range auth {
		if a != "Bearer "+secret {
			t.Fatalf("request %d: Authorization %q, want the key as a Bearer token", i, a)
		}
	}

	printed := []result{r,
		bitflow(t, dir, "show", "latest", "--json", "--store", "store"),
		bitflow(t, dir, "show", "latest", "rejected", "--log", "--store", "store"),
		bitflow(t, dir, "show", "latest", "traces", "--log", "--store", "store"),
		bitflow(t, dir, "runs", "--json", "--store", "store"),
		bitflow(t, dir, "plan", "--json", "--store", "store", "flow.yaml", "--set", "base_url="+srv.URL),
	}
	for i, p := range printed {
		if strings.Contains(p.stdout+p.stderr, secret) {
			t.Errorf("output %d prints the key:\n%s\n%s", i, p.stdout, p.stderr)
		}
	}
	if !strings.Contains(r.stderr, "bitflow action v1") {
		t.Error("BITFLOW_DEBUG=hash printed no manifest: the scan of the log misses the keys")
	}

	root := filepath.Join(dir, "store")
	seen := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		seen[strings.Split(rel, string(filepath.Separator))[0]]++
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the API key", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, area := range []string{"objects", "actions", "runs"} {
		if seen[area] == 0 {
			t.Errorf("no file scanned in %s/ (scanned %v)", area, seen)
		}
	}
}
