package teacher

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// stubCompletion is "hé" in three tokens, the "é" split over two, with an
// impossible alternative (-Inf) and two alternatives that both become
// U+FFFD in JSON.
var stubCompletion = &Completion{
	Text: "h\xc3\xa9",
	Tokens: []Token{
		{Text: "h", Logprob: -0.5, Top: []Alternative{{"h", -0.5}, {"a", math.Inf(-1)}}},
		{Text: "\xc3", Logprob: -1, Top: []Alternative{{"\xc3", -1}, {"\xa9", -2}, {"e", -3}}},
		{Text: "\xa9", Logprob: -0.25, Top: []Alternative{{"\xa9", -0.25}}},
	},
	FinishReason: "length", PromptTokens: 4, CompletionTokens: 3,
}

// do sends body to h and decodes the JSON answer.
func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, w.Body.String(), err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	return w.Code, got, w.Body.String()
}

// checkEnvelope checks and removes the generated id and creation time.
func checkEnvelope(t *testing.T, got map[string]any, prefix string) {
	t.Helper()
	if id, _ := got["id"].(string); !strings.HasPrefix(id, prefix) || len(id) < len(prefix)+16 {
		t.Errorf("id %v", got["id"])
	}
	if c, _ := got["created"].(float64); c < 1.7e9 {
		t.Errorf("created %v", got["created"])
	}
	delete(got, "id")
	delete(got, "created")
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestServerChat: a chat answer in OpenAI's exact shape, logprobs with
// bytes, -Inf written as -9999; the request reaches the provider with
// every parameter.
func TestServerChat(t *testing.T) {
	p := &stubProvider{c: stubCompletion}
	h := NewServer(p, "tiny", ServerOptions{})
	status, got, _ := do(t, h, "POST", "/v1/chat/completions",
		`{"model":"tiny","messages":[{"role":"user","content":"hi there"}],"max_tokens":3,"temperature":0.7,"top_p":0.9,"seed":-1,"logprobs":true,"top_logprobs":2,"stream":false,"n":1,"stop":null,"user":"u1"}`)
	if status != 200 {
		t.Fatalf("status %d: %v", status, got)
	}
	checkEnvelope(t, got, "chatcmpl-")
	want := decodeJSON(t, `{"object":"chat.completion","model":"tiny",
	  "choices":[{"index":0,"message":{"role":"assistant","content":"hé","refusal":null},
	    "logprobs":{"content":[
	      {"token":"h","logprob":-0.5,"bytes":[104],"top_logprobs":[{"token":"h","logprob":-0.5,"bytes":[104]},{"token":"a","logprob":-9999,"bytes":[97]}]},
	      {"token":"\ufffd","logprob":-1,"bytes":[195],"top_logprobs":[{"token":"\ufffd","logprob":-1,"bytes":[195]},{"token":"\ufffd","logprob":-2,"bytes":[169]},{"token":"e","logprob":-3,"bytes":[101]}]},
	      {"token":"\ufffd","logprob":-0.25,"bytes":[169],"top_logprobs":[{"token":"\ufffd","logprob":-0.25,"bytes":[169]}]}],
	    "refusal":null},
	    "finish_reason":"length"}],
	  "usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answer\n%v\nwant\n%v", got, want)
	}
	wantReq := Request{Prompt: "hi there", MaxTokens: 3, Temperature: 0.7, TopP: 0.9, TopLogprobs: 2, Seed: math.MaxUint64}
	if r := p.requests(); len(r) != 1 || r[0] != wantReq {
		t.Errorf("provider got %+v, want %+v", r, wantReq)
	}
	// Without logprobs: null; defaults: temperature 1, top_p 1, seed 0, the
	// server's max_tokens; content parts join.
	_, got, _ = do(t, h, "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}]}`)
	if ch := got["choices"].([]any)[0].(map[string]any); ch["logprobs"] != nil {
		t.Errorf("logprobs %v", ch["logprobs"])
	}
	wantReq = Request{Prompt: "hi there", MaxTokens: 4096, Temperature: 1, TopP: 1}
	if r := p.requests(); r[1] != wantReq {
		t.Errorf("provider got %+v, want %+v", r[1], wantReq)
	}
}

// TestServerCompletions: the legacy shape, top_logprobs as objects in
// likelihood order (one key per JSON text), byte offsets, OpenAI's default
// of 16 tokens.
func TestServerCompletions(t *testing.T) {
	p := &stubProvider{c: stubCompletion}
	h := NewServer(p, "tiny", ServerOptions{})
	status, got, raw := do(t, h, "POST", "/v1/completions", `{"model":"tiny","prompt":"hi","logprobs":3,"temperature":0}`)
	if status != 200 {
		t.Fatalf("status %d: %v", status, got)
	}
	checkEnvelope(t, got, "cmpl-")
	want := decodeJSON(t, `{"object":"text_completion","model":"tiny",
	  "choices":[{"text":"hé","index":0,"logprobs":{
	    "tokens":["h","\ufffd","\ufffd"],"token_logprobs":[-0.5,-1,-0.25],
	    "top_logprobs":[{"h":-0.5,"a":-9999},{"\ufffd":-1,"e":-3},{"\ufffd":-0.25}],
	    "text_offset":[0,1,2]},"finish_reason":"length"}],
	  "usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}`)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answer\n%v\nwant\n%v", got, want)
	}
	if !strings.Contains(raw, `[{"h":-0.5,"a":-9999},{"\ufffd":-1,"e":-3},`) {
		t.Errorf("top_logprobs not in likelihood order: %s", raw)
	}
	wantReq := Request{Prompt: "hi", MaxTokens: 16, Temperature: 0, TopP: 1, TopLogprobs: 3}
	if r := p.requests(); r[0] != wantReq {
		t.Errorf("provider got %+v, want %+v", r[0], wantReq)
	}
	_, got, _ = do(t, h, "POST", "/v1/completions", `{"prompt":["hi"],"max_tokens":5}`)
	if ch := got["choices"].([]any)[0].(map[string]any); ch["logprobs"] != nil || p.requests()[1].MaxTokens != 5 {
		t.Errorf("answer %v, request %+v", got, p.requests()[1])
	}
}

// TestServerModels: the model list and the model object.
func TestServerModels(t *testing.T) {
	h := NewServer(&stubProvider{}, "tiny", ServerOptions{})
	status, got, _ := do(t, h, "GET", "/v1/models", "")
	data, _ := got["data"].([]any)
	if status != 200 || got["object"] != "list" || len(data) != 1 {
		t.Fatalf("models: %d %v", status, got)
	}
	m := data[0].(map[string]any)
	if m["id"] != "tiny" || m["object"] != "model" || m["owned_by"] != "bitflow" || m["created"].(float64) < 1.7e9 {
		t.Errorf("model %v", m)
	}
	if status, got, _ := do(t, h, "GET", "/v1/models/tiny", ""); status != 200 || got["id"] != "tiny" {
		t.Errorf("model info: %d %v", status, got)
	}
}

// TestServerErrors: every refusal is OpenAI's error document with the
// right status, type, param and code, and reaches no provider.
func TestServerErrors(t *testing.T) {
	chat := func(fields string) string {
		return `{"model":"tiny","messages":[{"role":"user","content":"hi"}]` + fields + `}`
	}
	cases := []struct {
		method, path, body string
		status             int
		param, code        string
	}{
		{"POST", "/v1/chat/completions", chat(`,"temperature":2.5`), 400, "temperature", ""},
		{"POST", "/v1/chat/completions", chat(`,"temperature":-0.1`), 400, "temperature", ""},
		{"POST", "/v1/chat/completions", chat(`,"top_p":0`), 400, "top_p", ""},
		{"POST", "/v1/chat/completions", chat(`,"top_p":1.01`), 400, "top_p", ""},
		{"POST", "/v1/chat/completions", chat(`,"logprobs":true,"top_logprobs":21`), 400, "top_logprobs", ""},
		{"POST", "/v1/chat/completions", chat(`,"logprobs":true,"top_logprobs":-1`), 400, "top_logprobs", ""},
		{"POST", "/v1/chat/completions", chat(`,"top_logprobs":2`), 400, "top_logprobs", ""},
		{"POST", "/v1/chat/completions", chat(`,"max_tokens":0`), 400, "max_tokens", ""},
		{"POST", "/v1/chat/completions", chat(`,"max_tokens":4097`), 400, "max_tokens", ""},
		{"POST", "/v1/chat/completions", chat(`,"max_completion_tokens":-2`), 400, "max_tokens", ""},
		{"POST", "/v1/chat/completions", chat(`,"stream":true`), 400, "stream", ""},
		{"POST", "/v1/chat/completions", chat(`,"n":2`), 400, "n", ""},
		{"POST", "/v1/chat/completions", chat(`,"stop":["}"]`), 400, "stop", ""},
		{"POST", "/v1/chat/completions", chat(`,"presence_penalty":0.5`), 400, "presence_penalty", ""},
		{"POST", "/v1/chat/completions", chat(`,"logit_bias":{"50256":-100}`), 400, "logit_bias", ""},
		{"POST", "/v1/chat/completions", chat(`,"tools":[{"type":"function"}]`), 400, "tools", ""},
		{"POST", "/v1/chat/completions", chat(`,"temperature":"hot"`), 400, "temperature", ""},
		{"POST", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, 404, "model", "model_not_found"},
		{"POST", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "messages", ""},
		{"POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`, 400, "messages", ""},
		{"POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"assistant","content":"hi"}]}`, 400, "messages", ""},
		{"POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages", ""},
		{"POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":null}]}`, 400, "messages", ""},
		{"POST", "/v1/chat/completions", `{"model":`, 400, "", ""},
		{"POST", "/v1/chat/completions", ``, 400, "", ""},
		{"POST", "/v1/chat/completions", chat(`,"user":"` + strings.Repeat("x", 2000) + `"`), 413, "", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":[1,2,3]}`, 400, "prompt", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":["a","b"]}`, 400, "prompt", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":"a","logprobs":21}`, 400, "logprobs", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":"a","echo":true}`, 400, "echo", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":"a","best_of":3}`, 400, "best_of", ""},
		{"POST", "/v1/completions", `{"model":"tiny","prompt":"a","suffix":"z"}`, 400, "suffix", ""},
		{"GET", "/v1/chat/completions", "", 405, "", ""},
		{"POST", "/v1/models", "", 405, "", ""},
		{"GET", "/v1/models/gpt-4o", "", 404, "model", "model_not_found"},
		{"POST", "/v1/embeddings", "{}", 404, "", "unknown_url"},
	}
	p := &stubProvider{c: stubCompletion}
	h := NewServer(p, "tiny", ServerOptions{MaxBodyBytes: 1024})
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %s %.60s", tc.method, tc.path, tc.body), func(t *testing.T) {
			status, got, raw := do(t, h, tc.method, tc.path, tc.body)
			e, _ := got["error"].(map[string]any)
			if status != tc.status || e == nil || e["message"] == "" || e["type"] == nil {
				t.Fatalf("status %d, answer %s; want %d", status, raw, tc.status)
			}
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error without %s: %s", k, raw)
				}
			}
			param, _ := e["param"].(string)
			code, _ := e["code"].(string)
			if param != tc.param || code != tc.code {
				t.Errorf("param %q code %q, want %q %q: %s", param, code, tc.param, tc.code, raw)
			}
		})
	}
	if r := p.requests(); len(r) != 0 {
		t.Errorf("refused requests reached the provider: %+v", r)
	}
}

// TestServerProviderErrors: a prompt beyond the context is the client's
// 400; any other provider failure is a 500 server_error.
func TestServerProviderErrors(t *testing.T) {
	body := `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`
	h := NewServer(&stubProvider{err: fmt.Errorf("local: %w: 90 tokens", ErrPromptTooLong)}, "tiny", ServerOptions{})
	status, got, raw := do(t, h, "POST", "/v1/chat/completions", body)
	if e := got["error"].(map[string]any); status != 400 || e["code"] != "context_length_exceeded" || e["param"] != "messages" {
		t.Errorf("too long: %d %s", status, raw)
	}
	h = NewServer(&stubProvider{err: fmt.Errorf("local: broken")}, "tiny", ServerOptions{})
	status, got, raw = do(t, h, "POST", "/v1/completions", `{"prompt":"x"}`)
	if e := got["error"].(map[string]any); status != 500 || e["type"] != "server_error" || !strings.Contains(e["message"].(string), "broken") {
		t.Errorf("provider failure: %d %s", status, raw)
	}
	nan := &Completion{Text: "h", Tokens: []Token{{Text: "h", Logprob: math.NaN()}}}
	h = NewServer(&stubProvider{c: nan}, "tiny", ServerOptions{})
	if status, _, raw := do(t, h, "POST", "/v1/completions", `{"prompt":"x","logprobs":0}`); status != 500 {
		t.Errorf("NaN logprob: %d %s", status, raw)
	}
}
