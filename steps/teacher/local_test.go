package teacher

import (
	"context"
	"errors"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bitflow-dev/bitflow/model"
)

// TestTemplate pins the seed's prompt template byte for byte.
func TestTemplate(t *testing.T) {
	if got, want := tokenizer.Template("Record 1: a"), "<|user|>\nRecord 1: a\n\n<|assistant|>\n"; got != want {
		t.Errorf("Template = %q, want %q", got, want)
	}
}

// TestLocalMatchesGenerate: the local provider's completion is the model's
// own Generate over the templated, special-encoded prompt, with the sampler
// seeded from the request, token texts as raw token bytes and finish
// reasons in API terms; its timing counts the tokens the decode steps fed
// through the model.
func TestLocalMatchesGenerate(t *testing.T) {
	m := tinyModel(t, model.VariantLinear, 7)
	tok := newFakeTokenizer()
	l, err := NewLocal(m, tok, LocalOptions{Name: "tiny", Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	inf := m.Inference(false)
	for _, req := range testRequests() {
		ids := tok.Encode(tokenizer.Template(req.Prompt))
		if ids[0] != 258 || ids[len(ids)-2] != 259 {
			t.Fatalf("template not encoded with specials: %v", ids)
		}
		opt := model.GenerateOptions{MaxNewTokens: req.MaxTokens, EOS: 256, Temperature: req.Temperature, TopP: req.TopP, TopLogprobs: req.TopLogprobs}
		if req.Temperature > 0 {
			opt.Rand = rand.New(rand.NewPCG(req.Seed, samplingStream))
		}
		steps := 0 // each step chooses a token; all but the first decode one fed back
		opt.OnLogits = func(int, []float32) { steps++ }
		g, err := inf.Generate(ids, opt)
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if tm := c.Timing; tm == nil || tm.DecodeTokens != steps-1 || tm.Prefill <= 0 || tm.Decode < 0 {
			t.Errorf("%+v: timing %+v, want %d decode tokens and a measured prefill (stop %s)", req, tm, steps-1, g.Stop)
		}
		if c.PromptTokens != len(ids) || c.CompletionTokens != len(g.Tokens) || len(c.Tokens) != len(g.Tokens) {
			t.Fatalf("%+v: usage %d/%d, %d tokens; want %d/%d", req, c.PromptTokens, c.CompletionTokens, len(c.Tokens), len(ids), len(g.Tokens))
		}
		var text strings.Builder
		for i, id := range g.Tokens {
			tk := c.Tokens[i]
			if tk.Text != string(tok.TokenBytes(id)) || tk.Logprob != g.Logprobs[i] || len(tk.Top) != req.TopLogprobs {
				t.Fatalf("token %d: %+v, want id %d logprob %g", i, tk, id, g.Logprobs[i])
			}
			for j, a := range tk.Top {
				if a.Text != string(tok.TokenBytes(g.Top[i][j].ID)) || a.Logprob != g.Top[i][j].Logprob {
					t.Fatalf("token %d alternative %d: %+v, want %+v", i, j, a, g.Top[i][j])
				}
			}
			text.WriteString(tk.Text)
		}
		if c.Text != text.String() {
			t.Errorf("text %q, tokens spell %q", c.Text, text.String())
		}
		want := map[string]string{"eos": "stop", "length": "length", "block_size": "length"}[g.Stop]
		if c.FinishReason != want {
			t.Errorf("finish %q for stop %q", c.FinishReason, g.Stop)
		}
	}
	if p, name := l.Describe(); p != ProviderLocal || name != "tiny" || l.MemoryBytes() != inf.Bytes() {
		t.Errorf("describe %s %s, memory %d", p, name, l.MemoryBytes())
	}
}

// TestLocalStopsAtEOS: a completion ends, without the EOS token, when the
// model produces EOS, and says "stop".
func TestLocalStopsAtEOS(t *testing.T) {
	m := tinyModel(t, model.VariantLinear, 7)
	req := Request{Prompt: "hello", MaxTokens: 12, TopP: 1}
	full, err := mustLocal(t, m, newFakeTokenizer()).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ids := newFakeTokenizer().Encode(full.Text)
	if len(ids) < 3 {
		t.Fatalf("greedy completion %q too short for the test", full.Text)
	}
	// The third generated token becomes the EOS.
	tok := &fakeTokenizer{eos: newFakeTokenizer().Encode(full.Tokens[2].Text)[0]}
	c, err := mustLocal(t, m, tok).Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c.FinishReason != "stop" || len(c.Tokens) > 2 || !strings.HasPrefix(full.Text, c.Text) {
		t.Errorf("with eos %d: %q (%s), full %q", tok.eos, c.Text, c.FinishReason, full.Text)
	}
	// Every token was fed back before EOS was sampled; at length the last
	// one is not.
	if c.Timing == nil || c.Timing.DecodeTokens != len(c.Tokens) || full.Timing == nil || full.Timing.DecodeTokens != len(full.Tokens)-1 {
		t.Errorf("decode tokens: %+v for %d tokens at EOS, %+v for %d at length", c.Timing, len(c.Tokens), full.Timing, len(full.Tokens))
	}
}

func mustLocal(t *testing.T, m *model.Model, tok Tokenizer) *Local {
	t.Helper()
	l, err := NewLocal(m, tok, LocalOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLocalConcurrent: many goroutines sharing one provider get exactly the
// answers of serial calls, for a teacher, a student whose dense
// projections quantize their inputs, and a packed student. Under -race this
// proves that replicas keep the projections' scratch buffers apart.
func TestLocalConcurrent(t *testing.T) {
	cases := []struct {
		variant string
		packed  bool
	}{{model.VariantLinear, false}, {model.VariantBitLinear, false}, {model.VariantBitLinear, true}}
	for _, tc := range cases {
		name := tc.variant
		if tc.packed {
			name += "/packed"
		}
		t.Run(name, func(t *testing.T) {
			l := newTestLocal(t, tc.variant, tc.packed, 3)
			reqs := testRequests()
			want := make([]*Completion, len(reqs))
			for i, r := range reqs {
				c, err := l.Complete(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = c
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4*len(reqs))
			for round := range 4 {
				for i, r := range reqs {
					wg.Go(func() {
						c, err := l.Complete(context.Background(), r)
						if err == nil && !reflect.DeepEqual(untimed(c), untimed(want[i])) {
							err = fmt.Errorf("round %d: the concurrent answer to %+v differs from the serial one", round, r)
						}
						if err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			l.pool.mu.Lock()
			defer l.pool.mu.Unlock()
			if n := len(l.pool.idle); n > 3 {
				t.Errorf("%d replicas for concurrency 3", n)
			}
		})
	}
}

// TestLocalErrors: bad requests, a prompt beyond block_size, a tokenizer
// that does not fit the model, and a cancelled context.
func TestLocalErrors(t *testing.T) {
	l := newTestLocal(t, model.VariantLinear, false, 1)
	ctx := context.Background()
	for _, req := range []Request{
		{Prompt: "a", MaxTokens: 0},
		{Prompt: "a", MaxTokens: 1, Temperature: -1},
		{Prompt: "a", MaxTokens: 1, TopP: 1.5},
		{Prompt: "a", MaxTokens: 1, TopLogprobs: 21},
	} {
		if _, err := l.Complete(ctx, req); err == nil {
			t.Errorf("%+v accepted", req)
		}
	}
	_, err := l.Complete(ctx, Request{Prompt: strings.Repeat("z", 100), MaxTokens: 1})
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), "block_size is 64") {
		t.Errorf("long prompt: %v", err)
	}
	if _, err := NewLocal(tinyModel(t, model.VariantLinear, 1), &smallTokenizer{newFakeTokenizer()}, LocalOptions{}); err == nil || !strings.Contains(err.Error(), "vocab_size") {
		t.Errorf("vocabulary mismatch: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Complete(cctx, Request{Prompt: "a", MaxTokens: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// A request waiting for a busy replica returns when its context ends.
	fillSlots(t, l.pool)
	tctx, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := l.Complete(tctx, Request{Prompt: "a", MaxTokens: 1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a replica: %v", err)
	}
}

type smallTokenizer struct{ *fakeTokenizer }

func (smallTokenizer) VocabSize() int { return 100 }

// fillSlots takes every slot of p until the test ends.
func fillSlots(t *testing.T, p *replicaPool) {
	for range cap(p.slots) {
		p.slots <- struct{}{}
	}
	t.Cleanup(func() {
		for range cap(p.slots) {
			<-p.slots
		}
	})
}
