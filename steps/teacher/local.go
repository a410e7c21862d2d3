package teacher

import (
	"context"
	"errors"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math/rand/v2"
	"strings"

	"github.com/bitflow-dev/bitflow/model"
)

// Tokenizer is what the local provider needs of a tokenizer;
// model/tokenizer's *Tokenizer satisfies it.
type Tokenizer interface {
	// Encode encodes text, turning special-token strings into their ids.
	Encode(text string) []int32
	// TokenBytes returns a token's exact bytes (part of a UTF-8 character,
	// possibly).
	TokenBytes(id int32) []byte
	EOSID() int32
	VocabSize() int
}

// samplingStream is the PCG stream of the local provider's sampler, fixed
// so that a seed means the same draws in every run.
const samplingStream = 0x7465616368657273 // "teachers"

// LocalOptions configure a local provider.
type LocalOptions struct {
	// Name is the model name Describe reports.
	Name string
	// Concurrency is how many generations run at once (at least 1); more
	// requests wait.
	Concurrency int
	// Packed runs the ternary sites on the packed 2-bit path (a student);
	// false runs the training arithmetic exactly (fake-quant, dense).
	Packed bool
}

// Local is the local provider: a checkpoint run in process with the KV
// cache. It is safe for concurrent use; each generation runs on its own
// replica of the model (shared weights, private scratch), so a request's
// answer does not depend on what else runs.
type Local struct {
	name  string
	tok   Tokenizer
	cfg   model.Config
	bytes int64
	pool  *replicaPool
}

// NewLocal returns the local provider for m and its tokenizer. It takes its
// own copy of m's weights now; m may change afterwards.
func NewLocal(m *model.Model, tok Tokenizer, opts LocalOptions) (*Local, error) {
	if m == nil || tok == nil {
		return nil, errors.New("local: nil model or tokenizer")
	}
	cfg := m.Config()
	if v := tok.VocabSize(); v != cfg.VocabSize {
		return nil, fmt.Errorf("local: the tokenizer has %d tokens, the model's vocab_size is %d", v, cfg.VocabSize)
	}
	if eos := tok.EOSID(); eos < 0 || int(eos) >= cfg.VocabSize {
		return nil, fmt.Errorf("local: eos id %d outside the vocabulary of %d", eos, cfg.VocabSize)
	}
	pool, err := newReplicaPool(m.Inference(opts.Packed), max(opts.Concurrency, 1))
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return &Local{name: opts.Name, tok: tok, cfg: cfg, bytes: pool.template.Bytes(), pool: pool}, nil
}

// Describe implements Provider.
func (l *Local) Describe() (string, string) { return ProviderLocal, l.name }

// MemoryBytes returns the memory of the model's weights (one copy, shared
// by all generations).
func (l *Local) MemoryBytes() int64 { return l.bytes }

// Complete implements Provider: tokenizer.Template(prompt) encoded with special
// tokens, then up to MaxTokens tokens until EOS, greedy at temperature 0,
// else sampled at Temperature with nucleus TopP from a generator seeded
// with Seed. A completion that reaches the model's block_size ends with
// finish reason "length", as an API's context window does. Token texts are
// the tokens' raw bytes. Timing holds the generation's prefill and decode
// times (not the wait for a free replica).
//
// A cancelled ctx returns at once; the generation under way (at most
// MaxTokens steps) finishes in the background before its replica is reused.
func (l *Local) Complete(ctx context.Context, req Request) (*Completion, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	ids := l.tok.Encode(tokenizer.Template(req.Prompt))
	if len(ids) > l.cfg.BlockSize {
		return nil, fmt.Errorf("local: %w: the templated prompt has %d tokens, block_size is %d", ErrPromptTooLong, len(ids), l.cfg.BlockSize)
	}
	opt := model.GenerateOptions{
		MaxNewTokens: req.MaxTokens, EOS: l.tok.EOSID(), Temperature: req.Temperature, TopP: req.TopP,
		TopLogprobs: req.TopLogprobs,
	}
	if req.Temperature > 0 {
		opt.Rand = rand.New(rand.NewPCG(req.Seed, samplingStream))
	}
	inf, err := l.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	type result struct {
		g   model.Generation
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The generation owns its slices, so the replica is free before
		// the answer is read.
		g, err := inf.Generate(ids, opt)
		l.pool.release(inf)
		done <- result{g, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("local: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("local: %w", r.err)
	}
	return l.completion(r.g, len(ids)), nil
}

// completion turns a generation into a Completion with the tokens' texts.
func (l *Local) completion(g model.Generation, promptTokens int) *Completion {
	c := &Completion{FinishReason: "length", PromptTokens: promptTokens, CompletionTokens: len(g.Tokens)}
	// Generate feeds every generated token back except the last, after
	// which it stops for length or block_size; a generation that sampled
	// EOS fed back all of its tokens before sampling it.
	fed := max(len(g.Tokens)-1, 0)
	if g.Stop == "eos" {
		c.FinishReason = "stop"
		fed = len(g.Tokens)
	}
	c.Timing = &Timing{Prefill: g.Prefill, Decode: g.Decode, DecodeTokens: fed}
	var text strings.Builder
	for i, id := range g.Tokens {
		t := Token{Text: string(l.tok.TokenBytes(id)), Logprob: g.Logprobs[i]}
		if i < len(g.Top) {
			for _, a := range g.Top[i] {
				t.Top = append(t.Top, Alternative{Text: string(l.tok.TokenBytes(a.ID)), Logprob: a.Logprob})
			}
		}
		text.WriteString(t.Text)
		c.Tokens = append(c.Tokens, t)
	}
	c.Text = text.String()
	return c
}
