package teacher

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/bitflow-dev/bitflow/model"
)

// fakeTokenizer is a byte-level tokenizer: ids 0..255 are the bytes, then
// the four special tokens, then a few merges, one of them a whole
// two-byte character. Single-byte tokens split UTF-8 characters, which is
// what the bytes fields of the API exist for.
type fakeTokenizer struct {
	eos int32
}

var (
	fakeSpecials = []string{"<|endoftext|>", "<|pad|>", "<|user|>", "<|assistant|>"}
	fakeMerges   = []string{"ab", "\n\n", "é", " the", "{\""}
	fakeVocab    = 256 + len(fakeSpecials) + len(fakeMerges)
)

func newFakeTokenizer() *fakeTokenizer { return &fakeTokenizer{eos: 256} }

func (f *fakeTokenizer) VocabSize() int { return fakeVocab }
func (f *fakeTokenizer) EOSID() int32   { return f.eos }

func (f *fakeTokenizer) TokenBytes(id int32) []byte {
	switch {
	case id < 256:
		return []byte{byte(id)}
	case int(id) < 256+len(fakeSpecials):
		return []byte(fakeSpecials[id-256])
	}
	return []byte(fakeMerges[int(id)-256-len(fakeSpecials)])
}

// Encode matches special tokens first, then the longest merge, then a byte.
func (f *fakeTokenizer) Encode(text string) []int32 {
	var ids []int32
	for i := 0; i < len(text); {
		id, n := int32(text[i]), 1
		for j, s := range fakeSpecials {
			if strings.HasPrefix(text[i:], s) {
				id, n = int32(256+j), len(s)
			}
		}
		if n == 1 {
			for j, m := range fakeMerges {
				if len(m) > n && strings.HasPrefix(text[i:], m) {
					id, n = int32(256+len(fakeSpecials)+j), len(m)
				}
			}
		}
		ids = append(ids, id)
		i += n
	}
	return ids
}

// tinyModel returns a small model over the fake vocabulary whose weights
// are spread wide enough that its distributions are far from uniform.
// variant linear is a teacher; bitlinear quantizes its inputs (absmax per
// token), which exercises the projections' scratch buffers.
func tinyModel(t testing.TB, variant string, seed uint64) *model.Model {
	t.Helper()
	cfg := model.DefaultConfig()
	cfg.NLayer, cfg.NHead, cfg.NEmbd, cfg.MLPHidden, cfg.BlockSize, cfg.VocabSize = 2, 2, 16, 32, 64, fakeVocab
	cfg.LinearVariantAttn, cfg.LinearVariantMLP = variant, variant
	m, err := model.New(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range m.Params {
		m.Params[i] += float32(rng.NormFloat64() * 0.3)
	}
	return m
}

func newTestLocal(t testing.TB, variant string, packed bool, concurrency int) *Local {
	t.Helper()
	l, err := NewLocal(tinyModel(t, variant, 7), newFakeTokenizer(), LocalOptions{Name: "tiny", Concurrency: concurrency, Packed: packed})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testRequests are requests covering greedy and sampled decoding, with and
// without alternatives, and prompts whose completions split characters.
func testRequests() []Request {
	return []Request{
		{Prompt: "hello", MaxTokens: 12, Temperature: 0, TopP: 1},
		{Prompt: "hello", MaxTokens: 12, Temperature: 0, TopP: 1, TopLogprobs: 5},
		{Prompt: "café über the {\"ab\"}", MaxTokens: 20, Temperature: 0.9, TopP: 0.95, TopLogprobs: 20, Seed: 1},
		{Prompt: "café über the {\"ab\"}", MaxTokens: 20, Temperature: 0.9, TopP: 0.95, TopLogprobs: 20, Seed: 2},
		{Prompt: "", MaxTokens: 7, Temperature: 1.5, TopP: 1, TopLogprobs: 1, Seed: 1 << 40},
		{Prompt: "x", MaxTokens: 1, Temperature: 0.5, TopP: 0.5, Seed: 9},
	}
}

// stubProvider answers every request with c (or err) and records requests.
type stubProvider struct {
	c   *Completion
	err error
	mu  sync.Mutex
	got []Request
}

func (s *stubProvider) Describe() (string, string) { return "stub", "stub" }

func (s *stubProvider) Complete(ctx context.Context, req Request) (*Completion, error) {
	s.mu.Lock()
	s.got = append(s.got, req)
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return s.c, nil
}

func (s *stubProvider) requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// untimed is c without its Timing, which differs from one generation to
// the next (and which a served answer does not carry): what two answers
// to the same request must share.
func untimed(c *Completion) *Completion {
	if c == nil {
		return nil
	}
	d := *c
	d.Timing = nil
	return &d
}
