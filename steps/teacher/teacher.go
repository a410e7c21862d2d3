// Package teacher is how bitflow talks to a teacher model: one Provider
// interface with a local implementation (a checkpoint run in process) and an
// OpenAI-compatible HTTP implementation, plus the OpenAI-compatible server
// behind `bitflow serve`. The baseline and traces step kinds use providers;
// they never know which one they have.
package teacher

import "context"

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
