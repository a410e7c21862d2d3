package teacher

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestBackoffFullJitter: retry k waits a uniform draw below
// min(max, base*2^k): never more, and spread over the range.
func TestBackoffFullJitter(t *testing.T) {
	p := retryPolicy{base: time.Second, max: 30 * time.Second}
	for attempt, ceil := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second} {
		lo, hi := ceil, time.Duration(0)
		for range 2000 {
			d := p.backoff(attempt)
			if d < 0 || d >= ceil {
				t.Fatalf("retry %d: waited %v, cap %v", attempt, d, ceil)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo > ceil/10 || hi < ceil*9/10 {
			t.Errorf("retry %d: waits span [%v, %v] of [0, %v)", attempt, lo, hi, ceil)
		}
	}
	if d := p.backoff(200); d >= 30*time.Second {
		t.Errorf("retry 200 waited %v", d)
	}
}

// TestParseRetryAfter: delay-seconds, HTTP-dates (future and past),
// retry-after-ms, and values to ignore.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{map[string]string{"Retry-After": "7"}, 7 * time.Second, true},
		{map[string]string{"Retry-After": " 0 "}, 0, true},
		{map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond, true},
		{map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		{map[string]string{"Retry-After-Ms": "250", "Retry-After": "1"}, 250 * time.Millisecond, true},
		{map[string]string{"Retry-After": "soon"}, 0, false},
		{map[string]string{"Retry-After": "-3"}, 0, false},
		{map[string]string{}, 0, false},
	}
	for _, tc := range cases {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		d, ok := parseRetryAfter(h, now)
		if d != tc.want || ok != tc.ok {
			t.Errorf("%v: %v %v, want %v %v", tc.header, d, ok, tc.want, tc.ok)
		}
	}
}

// TestSleepCtx: a wait ends early, with the context's error, when the
// context ends.
func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Error(err)
	}
}
