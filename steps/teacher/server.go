package teacher

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"time"
)

// ServerOptions configure NewServer and Serve. Zero values mean the
// defaults.
type ServerOptions struct {
	// MaxTokens bounds a request's max_tokens (default 4096); it is also the
	// chat default when a request gives none (the model stops at EOS or its
	// block_size first).
	MaxTokens int
	// MaxBodyBytes bounds a request body (default 1 MiB).
	MaxBodyBytes int64
	// AllowRemote lets Serve listen on addresses other than loopback. The
	// server has no authentication.
	AllowRemote bool
	// OnListen, if set, is called by Serve with the bound address once it
	// accepts connections (to print the URL when the port was 0).
	OnListen func(net.Addr)
	// ShutdownGrace is how long Serve lets requests in flight finish after
	// its context ends (default 10 s); then it closes their connections.
	ShutdownGrace time.Duration
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 4096
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	return o
}

// legacyDefaultMaxTokens is OpenAI's max_tokens default of /completions.
const legacyDefaultMaxTokens = 16

// server answers OpenAI's API with one provider.
type server struct {
	p       Provider
	model   string
	opts    ServerOptions
	created int64
}

// NewServer returns an OpenAI-compatible API for p under the model name
// modelName: GET /v1/models, GET /v1/models/{model}, POST
// /v1/chat/completions and POST /v1/completions (the legacy text API), with
// logprobs, top_logprobs and usage in OpenAI's shapes and errors as
// {"error": {"message", "type", "param", "code"}}. A chat takes one user
// message, which is the prompt p templates. Streaming, n > 1, stop
// sequences, penalties, logit_bias and tools are refused with a 400 rather
// than ignored, since each would change the answer. Without a seed, seed 0
// is used: the server is deterministic. Concurrency is p's business.
func NewServer(p Provider, modelName string, opts ServerOptions) http.Handler {
	return &server{p: p, model: modelName, opts: opts.withDefaults(), created: time.Now().Unix()}
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	var method string
	var handle func(http.ResponseWriter, *http.Request) (any, *apiError)
	switch {
	case path == "/v1/models":
		method, handle = http.MethodGet, s.models
	case strings.HasPrefix(path, "/v1/models/"):
		method, handle = http.MethodGet, s.modelInfo
	case path == "/v1/chat/completions":
		method, handle = http.MethodPost, s.chat
	case path == "/v1/completions":
		method, handle = http.MethodPost, s.completions
	default:
		writeError(w, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "unknown_url",
			msg: fmt.Sprintf("unknown URL (%s %s)", r.Method, r.URL.Path)})
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error",
			msg: fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, method)})
		return
	}
	resp, e := handle(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	if resp == nil {
		return // the client went away
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *server) models(http.ResponseWriter, *http.Request) (any, *apiError) {
	return modelList{Object: "list", Data: []modelObject{s.modelObject()}}, nil
}

func (s *server) modelInfo(_ http.ResponseWriter, r *http.Request) (any, *apiError) {
	id := strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/v1/models/")
	if id != s.model {
		return nil, s.unknownModel(id)
	}
	return s.modelObject(), nil
}

func (s *server) modelObject() modelObject {
	return modelObject{ID: s.model, Object: "model", Created: s.created, OwnedBy: "bitflow"}
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) (any, *apiError) {
	var body chatRequest
	if e := s.decode(w, r, &body); e != nil {
		return nil, e
	}
	req, e := s.chatRequest(&body)
	if e != nil {
		return nil, e
	}
	c, e := s.complete(r, req, "messages")
	if c == nil || e != nil {
		return nil, e
	}
	text := c.Text
	ch := chatChoice{Message: chatReply{Role: "assistant", Content: &text}, FinishReason: c.FinishReason}
	if body.Logprobs != nil && *body.Logprobs {
		lp, e := chatLogprobsOf(c)
		if e != nil {
			return nil, e
		}
		ch.Logprobs = lp
	}
	return chatCompletion{ID: "chatcmpl-" + rand.Text(), Object: "chat.completion", Created: time.Now().Unix(),
		Model: s.model, Choices: []chatChoice{ch}, Usage: usageOf(c)}, nil
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) (any, *apiError) {
	var body completionRequest
	if e := s.decode(w, r, &body); e != nil {
		return nil, e
	}
	req, e := s.completionRequest(&body)
	if e != nil {
		return nil, e
	}
	c, e := s.complete(r, req, "prompt")
	if c == nil || e != nil {
		return nil, e
	}
	ch := textChoice{Text: c.Text, FinishReason: c.FinishReason}
	if body.Logprobs != nil {
		lp, e := textLogprobsOf(c)
		if e != nil {
			return nil, e
		}
		ch.Logprobs = lp
	}
	return textCompletion{ID: "cmpl-" + rand.Text(), Object: "text_completion", Created: time.Now().Unix(),
		Model: s.model, Choices: []textChoice{ch}, Usage: *usageOf(c)}, nil
}

// complete runs req on the provider. A nil completion with a nil error
// means the client went away.
func (s *server) complete(r *http.Request, req Request, promptParam string) (*Completion, *apiError) {
	c, err := s.p.Complete(r.Context(), req)
	switch {
	case err == nil:
		return c, nil
	case r.Context().Err() != nil:
		return nil, nil
	case errors.Is(err, ErrPromptTooLong):
		return nil, &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: promptParam,
			code: "context_length_exceeded", msg: err.Error()}
	}
	return nil, &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: "the model failed: " + err.Error()}
}

func usageOf(c *Completion) *usage {
	return &usage{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, TotalTokens: c.PromptTokens + c.CompletionTokens}
}

// chatLogprobsOf returns c's tokens in the chat shape, each with its bytes.
func chatLogprobsOf(c *Completion) (*chatLogprobs, *apiError) {
	lp := &chatLogprobs{Content: make([]chatTokenLogprob, len(c.Tokens)), Refusal: nil}
	for i, t := range c.Tokens {
		top := make([]chatTopLogprob, len(t.Top))
		for j, a := range t.Top {
			top[j] = chatTopLogprob{Token: a.Text, Logprob: wireLogprob(a.Logprob), Bytes: bytesOf(a.Text)}
		}
		lp.Content[i] = chatTokenLogprob{Token: t.Text, Logprob: wireLogprob(t.Logprob), Bytes: bytesOf(t.Text), TopLogprobs: top}
		if e := checkFinite(t); e != nil {
			return nil, e
		}
	}
	return lp, nil
}

// textLogprobsOf returns c's tokens in the legacy shape. text_offset counts
// bytes of the completion text.
func textLogprobsOf(c *Completion) (*textLogprobs, *apiError) {
	n := len(c.Tokens)
	lp := &textLogprobs{Tokens: make([]string, n), TokenLogprobs: make([]float64, n), TopLogprobs: make([]orderedMap, n), TextOffset: make([]int, n)}
	off := 0
	for i, t := range c.Tokens {
		if e := checkFinite(t); e != nil {
			return nil, e
		}
		lp.Tokens[i], lp.TokenLogprobs[i], lp.TextOffset[i] = t.Text, wireLogprob(t.Logprob), off
		top := make(orderedMap, len(t.Top))
		for j, a := range t.Top {
			top[j] = Alternative{Text: a.Text, Logprob: wireLogprob(a.Logprob)}
		}
		lp.TopLogprobs[i] = top
		off += len(t.Text)
	}
	return lp, nil
}

// wireLogprob writes an impossible token's -Inf as OpenAI does, -9999:
// JSON has no infinity.
func wireLogprob(v float64) float64 {
	if math.IsInf(v, -1) {
		return -9999
	}
	return v
}

func checkFinite(t Token) *apiError {
	ok := !math.IsNaN(t.Logprob) && !math.IsInf(t.Logprob, 1)
	for _, a := range t.Top {
		ok = ok && !math.IsNaN(a.Logprob) && !math.IsInf(a.Logprob, 1)
	}
	if ok {
		return nil
	}
	return &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: "the model produced a non-finite logprob"}
}

// apiError is an error answer in OpenAI's shape.
type apiError struct {
	status                int
	typ, param, code, msg string
}

func writeError(w http.ResponseWriter, e *apiError) {
	d := errorDetail{Message: e.msg, Type: e.typ}
	if e.param != "" {
		d.Param = &e.param
	}
	if e.code != "" {
		d.Code = &e.code
	}
	writeJSON(w, e.status, errorBody{Error: d})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: errorDetail{Message: "encoding the response: " + err.Error(), Type: "server_error"}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
