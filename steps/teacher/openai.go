package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxResponseBytes bounds one response body. A completion of 512 tokens
// with 20 alternatives each is well under a megabyte; the bound only stops
// a broken endpoint from filling memory.
const maxResponseBytes = 32 << 20

// openAI is the openai provider: chat completions with logprobs against any
// OpenAI-compatible endpoint.
type openAI struct {
	model    string
	endpoint string // {base_url}/chat/completions
	where    string // "POST <endpoint>" with any password redacted, for errors
	key      *secret
	client   *http.Client
	slots    chan struct{} // one token per request in flight
	timeout  time.Duration // per attempt
	retries  int
	policy   retryPolicy
}

// secret holds the API key behind a pointer, so printing the provider with
// %v shows an address, never the key.
type secret struct{ value string }

// NewOpenAI returns the openai provider for cfg: POST
// {BaseURL}/chat/completions with at most cfg.Concurrency requests in
// flight, each attempt limited to cfg.Timeout, retried up to cfg.MaxRetries
// times on 408, 429, 5xx, network errors and timeouts (see retryPolicy).
// The API key is read now from the environment variable cfg.APIKeyEnv (no
// variable named: no Authorization header, as local servers need none) and
// is sent only as a Bearer token: it appears in no error.
//
// A 200 whose body is malformed is not retried: the server answered and a
// paid API has charged for it, and an endpoint that answers in another
// shape will do so again. A body cut short by the network is retried.
func NewOpenAI(cfg Config) (Provider, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	switch {
	case err != nil:
		return nil, fmt.Errorf("openai: base_url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("openai: base_url %q: want http(s)://host[:port]/path", u.Redacted())
	case cfg.Model == "":
		return nil, errors.New("openai: model must be set")
	case cfg.Concurrency < 1:
		return nil, fmt.Errorf("openai: concurrency must be at least 1, got %d", cfg.Concurrency)
	case cfg.Timeout <= 0:
		return nil, errors.New("openai: timeout must be positive")
	case cfg.MaxRetries < 0:
		return nil, errors.New("openai: max_retries must be 0 or more")
	}
	var key *secret
	if cfg.APIKeyEnv != "" {
		v, ok := os.LookupEnv(cfg.APIKeyEnv)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("openai: api_key_env names %s, which is not set or empty", cfg.APIKeyEnv)
		}
		key = &secret{v}
	}
	u.Path += "/chat/completions"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per concurrent request instead of the default two.
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	return &openAI{
		model: cfg.Model, endpoint: u.String(), where: "POST " + u.Redacted(), key: key,
		client: &http.Client{
			Transport: tr,
			// A redirected POST would become a GET and could carry the key
			// elsewhere; a base_url that redirects is a configuration error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		slots: make(chan struct{}, cfg.Concurrency), timeout: cfg.Timeout, retries: cfg.MaxRetries,
		policy: defaultRetryPolicy(),
	}, nil
}

// Describe implements Provider.
func (p *openAI) Describe() (string, string) { return ProviderOpenAI, p.model }

// Complete implements Provider.
func (p *openAI) Complete(ctx context.Context, req Request) (*Completion, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	body, err := json.Marshal(p.wireRequest(req))
	if err != nil {
		return nil, fmt.Errorf("openai: request: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("openai: %w", ctx.Err())
	}
	defer func() { <-p.slots }()
	for attempt := 0; ; attempt++ {
		c, err := p.attempt(ctx, body, req.TopLogprobs)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai: %s: %w", p.where, ctx.Err())
		}
		var f *retryable
		if !errors.As(err, &f) {
			return nil, fmt.Errorf("openai: %s: %w", p.where, err)
		}
		if attempt >= p.retries {
			return nil, fmt.Errorf("openai: %s: giving up after %d attempts: %w", p.where, attempt+1, err)
		}
		d, werr := p.policy.wait(attempt, f)
		if werr != nil {
			return nil, fmt.Errorf("openai: %s: %w: %w", p.where, err, werr)
		}
		if err := p.policy.sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("openai: %s: waiting to retry: %w", p.where, err)
		}
	}
}

// wireRequest is req as OpenAI's chat request. A remote API's seed is a
// signed 64-bit integer, so the seed's top bit is dropped; a top_p of 0
// (no cut) is left out, the API's default being 1.
func (p *openAI) wireRequest(req Request) chatRequest {
	content, _ := json.Marshal(req.Prompt) // a string always marshals
	seed := int64(req.Seed & math.MaxInt64)
	yes := true
	w := chatRequest{
		Model:     p.model,
		Messages:  []chatMessage{{Role: "user", Content: content}},
		MaxTokens: &req.MaxTokens, Temperature: &req.Temperature, Seed: &seed, Logprobs: &yes,
	}
	if req.TopP > 0 {
		w.TopP = &req.TopP
	}
	if req.TopLogprobs > 0 {
		w.TopLogprobs = &req.TopLogprobs
	}
	return w
}

// attempt sends one request. Failures worth retrying come back as
// *retryable.
func (p *openAI) attempt(ctx context.Context, body []byte, topN int) (*Completion, error) {
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "bitflow")
	if p.key != nil {
		hreq.Header.Set("Authorization", "Bearer "+p.key.value)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, p.transportError(actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, p.transportError(actx, fmt.Errorf("reading the response: %w", err))
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		c, err := parseChat(data, topN)
		if err != nil {
			// The message may quote the server: redact as for an error body.
			return nil, fmt.Errorf("malformed response: %s", p.redact(err.Error()))
		}
		return c, nil
	}
	apiErr := &APIError{StatusCode: resp.StatusCode, Message: p.redact(errorMessage(data))}
	if !retryableStatus(resp.StatusCode) {
		return nil, apiErr
	}
	f := &retryable{err: apiErr}
	f.retryAfter, f.hasRetryAfter = parseRetryAfter(resp.Header, time.Now())
	return nil, f
}

// transportError classifies a failure to get a response: an attempt that
// ran out of time or a network error is retryable; the caller's own
// cancellation is returned as is.
func (p *openAI) transportError(actx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already in p.where
	}
	if actx.Err() == context.DeadlineExceeded {
		return &retryable{err: fmt.Errorf("no response within %v: %w", p.timeout, err)}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &retryable{err: err}
}

// redact removes the API key from text that came from the server (a
// server may echo what it was sent).
func (p *openAI) redact(s string) string {
	if p.key == nil || p.key.value == "" {
		return s
	}
	return strings.ReplaceAll(s, p.key.value, "[redacted]")
}

// APIError is an endpoint's answer with an error status.
type APIError struct {
	StatusCode int
	// Message is the API's error message ({"error": {"message": ...}}), or
	// the start of the body when it has none.
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorMessage extracts the message of an error body: OpenAI's
// {"error": {"message": ...}}, the {"error": "..."} some servers send, or
// the body's first 200 bytes.
func errorMessage(data []byte) string {
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &doc) == nil && len(doc.Error) > 0 {
		var d errorDetail
		if json.Unmarshal(doc.Error, &d) == nil && d.Message != "" {
			return d.Message
		}
		var s string
		if json.Unmarshal(doc.Error, &s) == nil && s != "" {
			return s
		}
	}
	s := strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD"))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}
