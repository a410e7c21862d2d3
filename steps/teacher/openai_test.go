package teacher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "sk-test-5ecret-K3y-0123456789"

// okBody is a chat completion in OpenAI's documented shape, for the prompt
// of every fault test: "café" in three tokens, the last two holding one
// byte each of "é" (OpenAI writes such tokens as "bytes:\xc3"), with two
// alternatives each, the second token's given least likely first.
const okBody = `{
  "id": "chatcmpl-123", "object": "chat.completion", "created": 1694268190, "model": "gpt-4o-mini",
  "system_fingerprint": "fp_44709d6fcb",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": "café", "refusal": null},
    "logprobs": {"content": [
      {"token": "caf", "logprob": -0.25, "bytes": [99, 97, 102],
       "top_logprobs": [{"token": "caf", "logprob": -0.25, "bytes": [99, 97, 102]}, {"token": "ca", "logprob": -1.5, "bytes": [99, 97]}]},
      {"token": "bytes:\\xc3", "logprob": -0.5, "bytes": [195],
       "top_logprobs": [{"token": "e", "logprob": -2.5, "bytes": [101]}, {"token": "bytes:\\xc3", "logprob": -0.5, "bytes": [195]}]},
      {"token": "bytes:\\xa9", "logprob": -0.125, "bytes": [169],
       "top_logprobs": [{"token": "bytes:\\xa9", "logprob": -0.125, "bytes": [169]}, {"token": "!", "logprob": -3, "bytes": null}]}
    ], "refusal": null},
    "finish_reason": "stop"
  }],
  "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12,
            "completion_tokens_details": {"reasoning_tokens": 0}}
}`

var okCompletion = &Completion{
	Text: "café",
	Tokens: []Token{
		{Text: "caf", Logprob: -0.25, Top: []Alternative{{"caf", -0.25}, {"ca", -1.5}}},
		{Text: "\xc3", Logprob: -0.5, Top: []Alternative{{"\xc3", -0.5}, {"e", -2.5}}},
		{Text: "\xa9", Logprob: -0.125, Top: []Alternative{{"\xa9", -0.125}, {"!", -3}}},
	},
	FinishReason: "stop", PromptTokens: 9, CompletionTokens: 3,
}

var okRequest = Request{Prompt: "say café", MaxTokens: 8, Temperature: 0, TopP: 1, TopLogprobs: 2, Seed: 3}

// faultServer serves handle on loopback, numbering requests from 1; the
// server stops when the test ends.
type faultServer struct {
	*httptest.Server
	n atomic.Int64
}

func newFaultServer(t *testing.T, handle func(n int64, w http.ResponseWriter, r *http.Request)) *faultServer {
	t.Helper()
	fs := &faultServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(fs.n.Add(1), w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *faultServer) count() int64 { return fs.n.Load() }

// newTestOpenAI returns the provider for base with the test key, backoff
// of a millisecond, and waits recorded instead of slept.
func newTestOpenAI(t *testing.T, base string, retries int, timeout time.Duration) (*openAI, *[]time.Duration) {
	t.Helper()
	t.Setenv("BITFLOW_TEST_KEY", testKey)
	p, err := NewOpenAI(Config{Provider: ProviderOpenAI, BaseURL: base + "/v1/", Model: "gpt-test", APIKeyEnv: "BITFLOW_TEST_KEY",
		Concurrency: 2, Timeout: timeout, MaxRetries: retries})
	if err != nil {
		t.Fatal(err)
	}
	o := p.(*openAI)
	var mu sync.Mutex
	waits := new([]time.Duration)
	o.policy.base, o.policy.max = time.Millisecond, 4*time.Millisecond
	o.policy.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return o, waits
}

// slow answers nothing until the client gives up (or 5 s pass). It reads
// the body first: the server notices a client going away only after that.
func slow(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

// checkNoKey fails if err's text holds the API key.
func checkNoKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("the error holds the API key: %v", err)
	}
}

// TestOpenAIRequestAndParse: the request is OpenAI's chat request with the
// key as a Bearer token, and a documented OpenAI answer parses into exact
// token bytes (characters split across tokens), alternatives most likely
// first, and the API's usage.
func TestOpenAIRequestAndParse(t *testing.T) {
	var body map[string]any
	var auth, path string
	fs := newFaultServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		json.NewDecoder(r.Body).Decode(&body)
		io.WriteString(w, okBody)
	})
	p, _ := newTestOpenAI(t, fs.URL, 0, time.Second)
	c, err := p.Complete(context.Background(), okRequest)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, okCompletion) {
		t.Errorf("completion\n%+v\nwant\n%+v", c, okCompletion)
	}
	if auth != "Bearer "+testKey || path != "/v1/chat/completions" {
		t.Errorf("authorization %q, path %q", auth, path)
	}
	want := map[string]any{"model": "gpt-test", "messages": []any{map[string]any{"role": "user", "content": "say café"}},
		"max_tokens": 8.0, "temperature": 0.0, "top_p": 1.0, "seed": 3.0, "logprobs": true, "top_logprobs": 2.0}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("request body %v\nwant %v", body, want)
	}
	// No alternatives asked: no top_logprobs sent; no nucleus: no top_p.
	body = nil
	req := okRequest
	req.TopLogprobs, req.TopP = 0, 0
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["top_logprobs"]; ok || body["top_p"] != nil || body["logprobs"] != true {
		t.Errorf("request body without alternatives: %v", body)
	}
	if prov, m := p.Describe(); prov != ProviderOpenAI || m != "gpt-test" {
		t.Errorf("describe %s %s", prov, m)
	}
}

// TestOpenAIRetries: 429 with Retry-After, 500, a dropped connection and a
// slow answer are retried; the waits follow Retry-After or the backoff.
func TestOpenAIRetries(t *testing.T) {
	cases := []struct {
		name   string
		fault  func(w http.ResponseWriter, r *http.Request)
		faults int64
		wait   time.Duration // 0: any backoff below 4ms
	}{
		{"429 Retry-After seconds", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "2")
			http.Error(w, `{"error":{"message":"Rate limit reached","type":"requests"}}`, http.StatusTooManyRequests)
		}, 1, 2 * time.Second},
		{"429 Retry-After date", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
		}, 1, -1},
		{"500 twice", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 2, 0},
		{"dropped connection", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, 1, 0},
		{"slow", slow, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
				if n <= tc.faults {
					tc.fault(w, r)
					return
				}
				io.WriteString(w, okBody)
			})
			p, waits := newTestOpenAI(t, fs.URL, 3, 100*time.Millisecond)
			c, err := p.Complete(context.Background(), okRequest)
			if err != nil || !reflect.DeepEqual(c, okCompletion) {
				t.Fatalf("got %v, %v", c, err)
			}
			if fs.count() != tc.faults+1 || len(*waits) != int(tc.faults) {
				t.Fatalf("%d requests, waits %v; want %d", fs.count(), *waits, tc.faults+1)
			}
			for _, d := range *waits {
				switch {
				case tc.wait > 0 && d != tc.wait, tc.wait < 0 && d != 0, tc.wait == 0 && (d < 0 || d >= 4*time.Millisecond):
					t.Errorf("waited %v", d)
				}
			}
		})
	}
}

// TestOpenAIGivesUp: a fault that persists fails after 1 + max_retries
// attempts with the last error.
func TestOpenAIGivesUp(t *testing.T) {
	cases := []struct {
		name, want string
		fault      func(w http.ResponseWriter, r *http.Request)
	}{
		{"503", "status 503 Service Unavailable: overloaded", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`)
		}},
		{"timeout", "no response within 30ms", slow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) { tc.fault(w, r) })
			p, _ := newTestOpenAI(t, fs.URL, 2, 30*time.Millisecond)
			_, err := p.Complete(context.Background(), okRequest)
			if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v", err)
			}
			if fs.count() != 3 {
				t.Errorf("%d requests, want 3", fs.count())
			}
			checkNoKey(t, err)
		})
	}
}

// TestOpenAINotRetried: other 4xx, a redirect, a Retry-After beyond a
// minute and malformed 200s fail at once with a clear error; a 401 that
// echoes the key does not carry it into the error.
func TestOpenAINotRetried(t *testing.T) {
	apiErr := func(status int, msg string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":null}}`, msg)
		}
	}
	body := func(s string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) }
	}
	oneToken := func(logprobs string) string {
		return `{"choices":[{"message":{"content":"hi"},"logprobs":` + logprobs + `,"finish_reason":"stop"}]}`
	}
	cases := []struct {
		name, want string
		fault      func(w http.ResponseWriter, r *http.Request)
	}{
		{"400", "status 400 Bad Request: 'top_logprobs' must be <= 20", apiErr(400, "'top_logprobs' must be <= 20")},
		{"401 echoing the key", "status 401 Unauthorized: Incorrect API key provided: Bearer [redacted]", func(w http.ResponseWriter, r *http.Request) {
			apiErr(401, "Incorrect API key provided: "+r.Header.Get("Authorization"))(w, r)
		}},
		{"404", "status 404 Not Found: The model `gpt-test` does not exist", apiErr(404, "The model `gpt-test` does not exist")},
		{"404 plain", "status 404 Not Found: 404 page not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"redirect", "status 307", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
		}},
		{"quota", "retry after 1h0m0s, longer than the 1m0s", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			apiErr(429, "You exceeded your current quota")(w, r)
		}},
		{"bad JSON", "malformed response: decoding the body", body(`{"choices": [`)},
		{"no choices", "malformed response: no choices", body(`{"id":"x","choices":[]}`)},
		{"error in a 200", "no choices, error overloaded", body(`{"error":{"message":"overloaded"}}`)},
		{"no logprobs", "no logprobs for a completion of 2 bytes", body(oneToken("null"))},
		{"tokens do not spell the content", `spell "ho", the content is "hi"`,
			body(oneToken(`{"content":[{"token":"h","logprob":-1,"top_logprobs":[{"token":"h","logprob":-1}]},{"token":"o","logprob":-1,"top_logprobs":[{"token":"o","logprob":-1}]}]}`))},
		{"no alternatives", "token 0: no top_logprobs, 2 asked for", body(oneToken(`{"content":[{"token":"hi","logprob":-1,"top_logprobs":[]}]}`))},
		{"bad byte", "byte value 300 outside 0..255", body(oneToken(`{"content":[{"token":"hi","logprob":-1,"bytes":[104,300]}]}`))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) { tc.fault(w, r) })
			p, _ := newTestOpenAI(t, fs.URL, 5, time.Second)
			_, err := p.Complete(context.Background(), okRequest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
			if fs.count() != 1 {
				t.Errorf("%d requests, want 1", fs.count())
			}
			checkNoKey(t, err)
		})
	}
}

// TestOpenAICancelDuringBackoff: cancelling the context while the provider
// waits out a Retry-After of 30 s returns at once with the cancellation.
func TestOpenAICancelDuringBackoff(t *testing.T) {
	first := make(chan struct{})
	fs := newFaultServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		if n == 1 {
			close(first)
		}
	})
	p, _ := newTestOpenAI(t, fs.URL, 5, time.Second)
	p.policy = defaultRetryPolicy() // real sleeps
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-first
		time.Sleep(20 * time.Millisecond) // let the provider start waiting
		cancel()
	}()
	start := time.Now()
	_, err := p.Complete(ctx, okRequest)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting to retry") {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if fs.count() != 1 {
		t.Errorf("%d requests", fs.count())
	}
}

// TestOpenAIConcurrencyLimit: with concurrency 3, twelve goroutines never
// have more than three requests at the server, and do reach three.
func TestOpenAIConcurrencyLimit(t *testing.T) {
	const limit = 3
	var inFlight, peak atomic.Int64
	full := make(chan struct{})
	var once sync.Once
	fs := newFaultServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == limit {
			once.Do(func() { close(full) })
		}
		// Hold the first requests until the limit is reached, so the peak
		// is reached whatever the scheduling.
		select {
		case <-full:
		case <-time.After(2 * time.Second):
		}
		io.WriteString(w, okBody)
	})
	t.Setenv("BITFLOW_TEST_KEY", testKey)
	p, err := NewOpenAI(Config{Provider: ProviderOpenAI, BaseURL: fs.URL + "/v1", Model: "m", APIKeyEnv: "BITFLOW_TEST_KEY",
		Concurrency: limit, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := p.Complete(context.Background(), okRequest); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if peak.Load() != limit || fs.count() != 12 {
		t.Errorf("peak %d requests in flight, %d requests; want %d, 12", peak.Load(), fs.count(), limit)
	}
}

// TestOpenAIKey: the key comes from the named variable, whose absence is an
// error naming it; no error and no printout of the provider holds the key,
// not even a network failure's.
func TestOpenAIKey(t *testing.T) {
	cfg := Config{Provider: ProviderOpenAI, BaseURL: "http://127.0.0.1:1/v1", Model: "m", APIKeyEnv: "BITFLOW_TEST_UNSET_KEY", Concurrency: 1, Timeout: time.Second}
	if _, err := NewOpenAI(cfg); err == nil || !strings.Contains(err.Error(), "BITFLOW_TEST_UNSET_KEY") {
		t.Errorf("missing variable: %v", err)
	}
	t.Setenv("BITFLOW_TEST_EMPTY_KEY", " ")
	cfg.APIKeyEnv = "BITFLOW_TEST_EMPTY_KEY"
	if _, err := NewOpenAI(cfg); err == nil || !strings.Contains(err.Error(), "BITFLOW_TEST_EMPTY_KEY") {
		t.Errorf("empty variable: %v", err)
	}
	// A port nobody listens on: connection refused, retried, then an error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, waits := newTestOpenAI(t, "http://"+addr, 2, time.Second)
	_, err = p.Complete(context.Background(), okRequest)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || len(*waits) != 2 {
		t.Errorf("network failure: %v (waits %v)", err, *waits)
	}
	checkNoKey(t, err)
	for _, s := range []string{fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p)} {
		if strings.Contains(s, testKey) {
			t.Errorf("printing the provider shows the key: %s", s)
		}
	}
	for _, bad := range []Config{
		{BaseURL: "ftp://x/v1", Model: "m", Concurrency: 1, Timeout: time.Second},
		{BaseURL: "http://x/v1", Concurrency: 1, Timeout: time.Second},
		{BaseURL: "http://x/v1", Model: "m", Timeout: time.Second},
	} {
		if _, err := NewOpenAI(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
