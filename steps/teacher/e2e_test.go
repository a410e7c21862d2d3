package teacher

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bitflow-dev/bitflow/model"
)

// newE2E serves a local tiny teacher over loopback HTTP, with wrap around
// the server's handler, and returns the local provider and an openai
// provider talking to it.
func newE2E(t *testing.T, wrap func(http.Handler) http.Handler) (*Local, *openAI) {
	t.Helper()
	local := newTestLocal(t, model.VariantLinear, false, 4)
	var h http.Handler = NewServer(local, "tiny-teacher", ServerOptions{})
	if wrap != nil {
		h = wrap(h)
	}
	base := startServe(t, h)
	p, err := NewOpenAI(Config{Provider: ProviderOpenAI, BaseURL: base + "/v1", Model: "tiny-teacher",
		Concurrency: 4, Timeout: 10 * time.Second, MaxRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	o := p.(*openAI)
	o.policy.base, o.policy.max = time.Millisecond, 4*time.Millisecond
	o.policy.sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() } // no real waits
	return local, o
}

// TestOpenAIAgainstServedLocal: the openai provider talking to NewServer
// over a local provider returns exactly what the local provider returns
// directly (texts to the byte, logprobs to the bit, alternatives, finish
// reasons, usage), for concurrent greedy and seeded sampled requests whose
// tokens split UTF-8 characters.
func TestOpenAIAgainstServedLocal(t *testing.T) {
	local, remote := newE2E(t, nil)
	reqs := testRequests()
	want := make([]*Completion, len(reqs))
	split := false
	for i, r := range reqs {
		c, err := local.Complete(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = untimed(c)
		for _, tk := range c.Tokens {
			split = split || !utf8.ValidString(tk.Text)
		}
	}
	if !split {
		t.Fatal("no completion has a token holding part of a character; the test would not cover bytes")
	}
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			got, err := remote.Complete(context.Background(), r)
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("request %+v:\nserved %+v\nlocal  %+v", r, got, want[i])
			}
		})
	}
	wg.Wait()
	// A prompt beyond block_size is the client's error, not retried.
	_, err := remote.Complete(context.Background(), Request{Prompt: strings.Repeat("z", 100), MaxTokens: 1})
	if err == nil || !strings.Contains(err.Error(), "status 400") || strings.Contains(err.Error(), "giving up") {
		t.Errorf("long prompt: %v", err)
	}
}

// TestLegacyCompletionsServedLocal: /v1/completions over loopback gives the
// local provider's text, logprobs, alternatives and usage in the legacy
// shape, with byte offsets.
func TestLegacyCompletionsServedLocal(t *testing.T) {
	local := newTestLocal(t, model.VariantLinear, false, 1)
	base := startServe(t, NewServer(local, "tiny-teacher", ServerOptions{}))
	want, err := local.Complete(context.Background(), Request{Prompt: "hello", MaxTokens: 10, TopP: 1, TopLogprobs: 4})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"tiny-teacher","prompt":"hello","max_tokens":10,"temperature":0,"logprobs":4}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Choices []struct {
			Text     string `json:"text"`
			Logprobs struct {
				Tokens        []string             `json:"tokens"`
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
				TextOffset    []int                `json:"text_offset"`
			} `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	ch := got.Choices[0]
	if canonicalText(ch.Text) != canonicalText(want.Text) || ch.FinishReason != want.FinishReason ||
		got.Usage != (usage{want.PromptTokens, want.CompletionTokens, want.PromptTokens + want.CompletionTokens}) {
		t.Errorf("text %q (%s, %+v), want %q (%s)", ch.Text, ch.FinishReason, got.Usage, want.Text, want.FinishReason)
	}
	if len(ch.Logprobs.Tokens) != len(want.Tokens) {
		t.Fatalf("%d tokens, want %d", len(ch.Logprobs.Tokens), len(want.Tokens))
	}
	off := 0
	for i, tk := range want.Tokens {
		if ch.Logprobs.TokenLogprobs[i] != tk.Logprob || ch.Logprobs.TextOffset[i] != off || canonicalText(ch.Logprobs.Tokens[i]) != canonicalText(tk.Text) {
			t.Errorf("token %d: %q logprob %g offset %d, want %q %g %d", i, ch.Logprobs.Tokens[i], ch.Logprobs.TokenLogprobs[i], ch.Logprobs.TextOffset[i], tk.Text, tk.Logprob, off)
		}
		off += len(tk.Text)
		for _, a := range tk.Top {
			// Alternatives that are not whole characters share the key U+FFFD.
			if v, ok := ch.Logprobs.TopLogprobs[i][a.Text]; utf8.ValidString(a.Text) && (!ok || v != a.Logprob) {
				t.Errorf("token %d: alternative %q %g, served %g", i, a.Text, a.Logprob, v)
			}
		}
	}
}

// TestOpenAIAgainstServedLocalWithFaults: faults injected in front of the
// real server over loopback (a 429 with Retry-After, a 500, a 503, a
// response slower than the attempt's timeout) are retried, waiting what
// the 429's Retry-After asked, and the answer is still the local
// provider's; a response cut short is a clear error, not retried.
func TestOpenAIAgainstServedLocalWithFaults(t *testing.T) {
	const retryAfter = 3 * time.Second // distinct from any backoff draw (at most 4ms here)
	var n atomic.Int64
	truncate := atomic.Bool{}
	abandoned := make(chan struct{}) // closed when the slow request's client gave up on it
	local, remote := newE2E(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "3")
				http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
				return
			case 2:
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			case 3:
				http.Error(w, "", http.StatusServiceUnavailable)
				return
			case 4:
				// Slow: no answer until the client's attempt times out
				// and it closes the connection (which the server notices
				// once the request body has been read).
				io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
				close(abandoned)
				return
			}
			if truncate.Load() {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				b := rec.Body.Bytes()
				w.Write(b[:len(b)/2])
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// Room for every fault, and an attempt timeout far beyond what the
	// tiny teacher needs, which only the slow response exceeds.
	remote.retries, remote.timeout = 5, 2*time.Second
	var mu sync.Mutex
	var waits []time.Duration
	remote.policy.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	req := testRequests()[2]
	want, err := local.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want = untimed(want)
	got, err := remote.Complete(context.Background(), req)
	if err != nil || !reflect.DeepEqual(got, want) || n.Load() != 5 {
		t.Fatalf("after faults: %v, %d requests\nserved %+v\nlocal  %+v", err, n.Load(), got, want)
	}
	select {
	case <-abandoned:
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("the slow request was never abandoned by the client")
	}
	mu.Lock()
	if len(waits) != 4 || waits[0] != retryAfter {
		t.Errorf("waits %v: want Retry-After's %v, then three backoffs", waits, retryAfter)
	}
	for i, d := range waits[1:] {
		if d < 0 || d >= remote.policy.max {
			t.Errorf("backoff %d: %v, outside [0, %v)", i+1, d, remote.policy.max)
		}
	}
	mu.Unlock()
	truncate.Store(true)
	before := n.Load()
	_, err = remote.Complete(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "malformed response") || n.Load() != before+1 {
		t.Errorf("truncated answer: %v after %d requests", err, n.Load()-before)
	}
}
