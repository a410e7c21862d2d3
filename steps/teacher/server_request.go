package teacher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
)

// decode reads a JSON request body of at most MaxBodyBytes into v.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error",
			msg: fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit)}
	case err != nil:
		return invalid("", "reading the request body: %v", err)
	case len(bytes.TrimSpace(data)) == 0:
		return invalid("", "the request body is empty; send a JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(te.Field, "invalid type for %s: expected %s, got a JSON %s", te.Field, te.Type, te.Value)
		}
		return invalid("", "the request body is not valid JSON: %v", err)
	}
	return nil
}

func invalid(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", param: param, msg: fmt.Sprintf(format, a...)}
}

func (s *server) unknownModel(name string) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "invalid_request_error", param: "model", code: "model_not_found",
		msg: fmt.Sprintf("the model %q does not exist; this server serves %q", name, s.model)}
}

// chatRequest validates a chat request and returns it as a Request.
func (s *server) chatRequest(b *chatRequest) (Request, *apiError) {
	if e := s.common(b.Model, &b.unsupported); e != nil {
		return Request{}, e
	}
	if len(b.Messages) != 1 {
		return Request{}, invalid("messages", "messages must hold exactly one user message (the teacher's template has one user turn), got %d", len(b.Messages))
	}
	m := b.Messages[0]
	if m.Role != "user" {
		return Request{}, invalid("messages", "the message's role must be \"user\", got %q", m.Role)
	}
	prompt, e := messageText(m.Content)
	if e != nil {
		return Request{}, e
	}
	maxTokens := b.MaxTokens
	if b.MaxCompletionTokens != nil {
		maxTokens = b.MaxCompletionTokens
	}
	req := Request{Prompt: prompt}
	if e := s.sampling(&req, maxTokens, s.opts.MaxTokens, b.Temperature, b.TopP, b.Seed); e != nil {
		return Request{}, e
	}
	if b.TopLogprobs != nil {
		if *b.TopLogprobs < 0 || *b.TopLogprobs > MaxTopLogprobs {
			return Request{}, invalid("top_logprobs", "top_logprobs must be in 0..%d, got %d", MaxTopLogprobs, *b.TopLogprobs)
		}
		if *b.TopLogprobs > 0 && (b.Logprobs == nil || !*b.Logprobs) {
			return Request{}, invalid("top_logprobs", "top_logprobs needs logprobs: true")
		}
		req.TopLogprobs = *b.TopLogprobs
	}
	return req, nil
}

// messageText returns a message's text: a string, or text content parts.
func messageText(raw json.RawMessage) (string, *apiError) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil && string(bytes.TrimSpace(raw)) != "null" {
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) == 0 {
		return "", invalid("messages", "the message's content must be a string or an array of text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" || p.Text == nil {
			return "", invalid("messages", "content parts of type %q are not supported; only text", p.Type)
		}
		b.WriteString(*p.Text)
	}
	return b.String(), nil
}

// completionRequest validates a legacy completion request.
func (s *server) completionRequest(b *completionRequest) (Request, *apiError) {
	if e := s.common(b.Model, &b.unsupported); e != nil {
		return Request{}, e
	}
	switch {
	case b.Echo:
		return Request{}, invalid("echo", "echo is not supported")
	case b.Suffix != nil && *b.Suffix != "":
		return Request{}, invalid("suffix", "suffix is not supported")
	case b.BestOf != nil && *b.BestOf != 1:
		return Request{}, invalid("best_of", "best_of must be 1")
	}
	var prompt string
	if err := json.Unmarshal(b.Prompt, &prompt); err != nil {
		var one []string
		if json.Unmarshal(b.Prompt, &one) != nil || len(one) != 1 {
			return Request{}, invalid("prompt", "prompt must be a string (or an array of exactly one string)")
		}
		prompt = one[0]
	}
	req := Request{Prompt: prompt}
	maxTokens := b.MaxTokens
	if maxTokens == nil {
		n := min(legacyDefaultMaxTokens, s.opts.MaxTokens)
		maxTokens = &n
	}
	if e := s.sampling(&req, maxTokens, s.opts.MaxTokens, b.Temperature, b.TopP, b.Seed); e != nil {
		return Request{}, e
	}
	if b.Logprobs != nil {
		if *b.Logprobs < 0 || *b.Logprobs > MaxTopLogprobs {
			return Request{}, invalid("logprobs", "logprobs must be in 0..%d, got %d", MaxTopLogprobs, *b.Logprobs)
		}
		req.TopLogprobs = *b.Logprobs
	}
	return req, nil
}

// common checks the model name and refuses what changes an answer but is
// not implemented.
func (s *server) common(model string, u *unsupported) *apiError {
	switch {
	case model != "" && model != s.model:
		return s.unknownModel(model)
	case u.Stream:
		return invalid("stream", "streaming is not supported; send stream: false")
	case u.N != nil && *u.N != 1:
		return invalid("n", "n must be 1, got %d", *u.N)
	case len(u.Stop) > 0 && !isEmptyJSON(u.Stop):
		return invalid("stop", "stop sequences are not supported")
	case u.PresencePenalty != nil && *u.PresencePenalty != 0:
		return invalid("presence_penalty", "presence_penalty is not supported")
	case u.FrequencyPenalty != nil && *u.FrequencyPenalty != 0:
		return invalid("frequency_penalty", "frequency_penalty is not supported")
	case len(u.LogitBias) > 0:
		return invalid("logit_bias", "logit_bias is not supported")
	case len(u.Tools) > 0 && !isEmptyJSON(u.Tools):
		return invalid("tools", "tools are not supported")
	}
	return nil
}

// isEmptyJSON reports null, "" and [] (what clients send for "none").
func isEmptyJSON(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "null", `""`, "[]":
		return true
	}
	return false
}

// sampling checks max_tokens, temperature, top_p and seed into req, with
// OpenAI's ranges and defaults (temperature 1, top_p 1).
func (s *server) sampling(req *Request, maxTokens *int, limit int, temperature, topP *float64, seed *int64) *apiError {
	req.MaxTokens, req.Temperature, req.TopP = limit, 1, 1
	if maxTokens != nil {
		if *maxTokens < 1 || *maxTokens > limit {
			return invalid("max_tokens", "max_tokens must be in 1..%d, got %d", limit, *maxTokens)
		}
		req.MaxTokens = *maxTokens
	}
	if temperature != nil {
		if t := *temperature; math.IsNaN(t) || t < 0 || t > 2 {
			return invalid("temperature", "temperature must be in [0, 2], got %g", t)
		}
		req.Temperature = *temperature
	}
	if topP != nil {
		if p := *topP; math.IsNaN(p) || p <= 0 || p > 1 {
			return invalid("top_p", "top_p must be in (0, 1], got %g", p)
		}
		req.TopP = *topP
	}
	if seed != nil {
		req.Seed = uint64(*seed)
	}
	return nil
}
