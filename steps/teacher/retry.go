package teacher

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy of the openai provider. OpenAI's guidance is exponential
// backoff from about a second; with the default max_retries 5 the waits are
// drawn from [0,1s), [0,2s), [0,4s), [0,8s), [0,16s): about 15 s expected
// and 31 s at worst before a request gives up, enough to ride out a
// restarting server or a burst over a per-minute rate limit, short enough
// that a dead endpoint fails the step within a minute. Full jitter (a
// uniform draw below the exponential cap) keeps concurrent requests that
// failed together from retrying together.
const (
	defaultBackoffBase = time.Second
	defaultBackoffMax  = 30 * time.Second
	// defaultMaxRetryAfter is the longest Retry-After the provider waits.
	// Rate-limit windows are a minute; a longer wait means an exhausted
	// quota, which no retry fixes, so the request fails at once with the
	// server's reason instead of sleeping through it.
	defaultMaxRetryAfter = time.Minute
)

// retryPolicy decides how long to wait before the next attempt.
type retryPolicy struct {
	base, max     time.Duration // exponential backoff: cap = min(max, base*2^attempt)
	maxRetryAfter time.Duration
	// sleep waits d or until ctx is done (tests replace it to record waits).
	sleep func(ctx context.Context, d time.Duration) error
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{base: defaultBackoffBase, max: defaultBackoffMax, maxRetryAfter: defaultMaxRetryAfter, sleep: sleepCtx}
}

// backoff returns the full-jitter wait before retry number attempt+1: a
// uniform draw in [0, min(max, base*2^attempt)).
func (p retryPolicy) backoff(attempt int) time.Duration {
	c := p.base
	for i := 0; i < attempt && c < p.max; i++ {
		c *= 2
	}
	c = min(c, p.max)
	if c <= 0 {
		return 0
	}
	return rand.N(c)
}

// wait returns how long to wait after a retryable failure: the server's
// Retry-After when it gave one, else the backoff. A Retry-After beyond
// maxRetryAfter is an error.
func (p retryPolicy) wait(attempt int, f *retryable) (time.Duration, error) {
	if !f.hasRetryAfter {
		return p.backoff(attempt), nil
	}
	if f.retryAfter > p.maxRetryAfter {
		return 0, fmt.Errorf("the server asks to retry after %v, longer than the %v this client waits", f.retryAfter, p.maxRetryAfter)
	}
	return f.retryAfter, nil
}

// sleepCtx waits d, returning ctx's error at once if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryable is a failure worth another attempt: a 408, 429 or 5xx, a
// network error, or an attempt that timed out.
type retryable struct {
	err           error
	retryAfter    time.Duration
	hasRetryAfter bool
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// retryableStatus reports whether a status is transient. 408 and 429 are
// the only 4xx a client can fix by waiting.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// parseRetryAfter reads how long the server asks the client to wait: the
// retry-after-ms header some OpenAI-compatible services send, else
// Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in
// the past means no wait.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || s > 1e9 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
