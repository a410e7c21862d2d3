package teacher

import (
	"errors"
	"fmt"
	"math"
)

// MaxTopLogprobs is the most alternatives per token a request may ask for:
// OpenAI's limit, kept for every provider so that a workflow that runs
// against the local teacher also runs against a hosted one.
const MaxTopLogprobs = 20

// ErrPromptTooLong reports a templated prompt longer than the model's
// context. It is the caller's fault, not the model's: the server answers it
// with a 400 context_length_exceeded.
var ErrPromptTooLong = errors.New("prompt too long")

// validate checks what every provider requires of a request.
func (r Request) validate() error {
	switch {
	case r.MaxTokens < 1:
		return fmt.Errorf("max_tokens must be at least 1, got %d", r.MaxTokens)
	case math.IsNaN(r.Temperature) || r.Temperature < 0:
		return fmt.Errorf("temperature must be 0 or more, got %g", r.Temperature)
	case math.IsNaN(r.TopP) || r.TopP < 0 || r.TopP > 1:
		return fmt.Errorf("top_p must be in [0, 1] (0 or 1: no nucleus cut), got %g", r.TopP)
	case r.TopLogprobs < 0 || r.TopLogprobs > MaxTopLogprobs:
		return fmt.Errorf("top_logprobs must be in 0..%d, got %d", MaxTopLogprobs, r.TopLogprobs)
	}
	return nil
}
