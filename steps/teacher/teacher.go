// Package teacher is how bitflow talks to a teacher model: one Provider
// interface with a local implementation (a checkpoint run in process) and an
// OpenAI-compatible HTTP implementation, plus the OpenAI-compatible server
// behind `bitflow serve`. The baseline and traces step kinds use providers;
// they never know which one they have.
package teacher

import (
	"context"
	"time"
)

// Provider produces completions with per-token log-probabilities.
// Implementations must be safe for concurrent use.
type Provider interface {
	// Complete answers one chat prompt (a single user message; the prompt
	// template is the provider's business).
	Complete(ctx context.Context, req Request) (*Completion, error)
	// Describe names the provider and model for reports ("local", "teacher.safetensors").
	Describe() (provider, model string)
}

// Request is one completion request.
type Request struct {
	Prompt      string
	MaxTokens   int
	Temperature float64 // 0 = greedy
	TopP        float64 // 1 = no nucleus cut
	// TopLogprobs is how many alternatives to return per generated token
	// (0 = none).
	TopLogprobs int
	// Seed makes sampling reproducible where the provider supports it (the
	// local provider always; remote APIs on a best-effort basis).
	Seed uint64
}

// Completion is a provider's answer.
type Completion struct {
	Text string
	// Tokens are the generated tokens in order, with their logprobs and
	// alternatives. Their texts concatenate to Text.
	Tokens       []Token
	FinishReason string // "stop" (end of sequence) or "length" (MaxTokens reached)
	// Usage as the provider reports it (the API's usage block when present).
	PromptTokens     int
	CompletionTokens int
	// Timing splits the generation's wall-clock time between the prompt
	// and the decode steps, where the provider can measure it (the local
	// provider); nil where it cannot (a remote API's answer tells only the
	// request's total latency, network and queueing included).
	Timing *Timing
}

// Timing is how a generation's wall-clock time splits between prefill (the
// prompt's forward pass, up to the first generated token's distribution)
// and decode (the generation steps after it).
type Timing struct {
	Prefill time.Duration
	Decode  time.Duration
	// DecodeTokens are the tokens the decode steps fed through the model:
	// the first generated token comes from the prefill's logits, and the
	// last one is not fed back unless the generation went on to stop at
	// EOS. Decode tokens/s is DecodeTokens over Decode, as the eval kind
	// measures the student's.
	DecodeTokens int
}

// Token is one generated token.
type Token struct {
	Text    string
	Logprob float64
	// Top are the most likely alternatives at this position, most likely
	// first (the generated token may or may not be among them).
	Top []Alternative
}

// Alternative is one of the top tokens at a position.
type Alternative struct {
	Text    string
	Logprob float64
}
