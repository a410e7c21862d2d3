package teacher

import (
	"fmt"
	"time"

	"github.com/bitflow-dev/bitflow/steps"
)

// Provider names.
const (
	ProviderLocal  = "local"
	ProviderOpenAI = "openai"
)

// Inputs a step gives the local provider.
const (
	InputCheckpoint = "teacher"           // the teacher's checkpoint (safetensors)
	InputTokenizer  = "teacher_tokenizer" // the teacher's tokenizer.json
)

// ProviderParams are the parameters of every step kind that talks to a
// teacher (baseline, traces). Concurrency, timeouts and retries cannot
// change what a teacher answers, so they are Meta: kept out of the key. The
// API key is never a parameter: api_key_env names the variable holding it.
func ProviderParams() []steps.Param {
	return []steps.Param{
		{Name: "provider", Type: steps.String, Default: ProviderLocal, Enum: []string{ProviderLocal, ProviderOpenAI},
			Doc: "local: the teacher checkpoint input, run in process; openai: any OpenAI-compatible endpoint"},
		{Name: "base_url", Type: steps.String, Default: "", Doc: "openai: the API's base URL, e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1"},
		{Name: "model", Type: steps.String, Default: "", Doc: "openai: the model name sent in requests"},
		{Name: "api_key_env", Type: steps.String, Default: "", Doc: "openai: the name of the environment variable that holds the API key (the key itself is never stored, logged or hashed)"},
		{Name: "concurrency", Type: steps.Int, Default: int64(4), Meta: true, Doc: "requests in flight at once"},
		{Name: "timeout_s", Type: steps.Float, Default: 120.0, Meta: true, Doc: "openai: timeout of one request, in seconds"},
		{Name: "max_retries", Type: steps.Int, Default: int64(5), Meta: true, Doc: "openai: retries of a request after a 429, a 5xx or a network error, with exponential backoff and jitter"},
	}
}

// Config is a provider's configuration, read from a step's parameters.
type Config struct {
	Provider    string
	BaseURL     string
	Model       string
	APIKeyEnv   string
	Concurrency int
	Timeout     time.Duration
	MaxRetries  int
}

// ConfigFrom reads a Config from step parameters that include
// ProviderParams, checking what the schema cannot.
func ConfigFrom(v steps.Values) (Config, error) {
	c := Config{
		Provider: v.String("provider"), BaseURL: v.String("base_url"), Model: v.String("model"),
		APIKeyEnv: v.String("api_key_env"), Concurrency: v.Int("concurrency"),
		Timeout: time.Duration(v.Float("timeout_s") * float64(time.Second)), MaxRetries: v.Int("max_retries"),
	}
	switch {
	case c.Concurrency < 1:
		return c, fmt.Errorf("concurrency must be at least 1, got %d", c.Concurrency)
	case c.Timeout <= 0:
		return c, fmt.Errorf("timeout_s must be positive")
	case c.MaxRetries < 0:
		return c, fmt.Errorf("max_retries must be 0 or more")
	case c.Provider == ProviderOpenAI && (c.BaseURL == "" || c.Model == ""):
		return c, fmt.Errorf("provider openai needs base_url and model")
	}
	return c, nil
}
