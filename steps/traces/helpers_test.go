package traces

import (
	"context"
	"errors"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// byteTok is a byte-level test tokenizer: each byte b of ordinary text is
// token 4+b; the four specials are 0..3 and are recognized by Encode only.
type byteTok struct{}

var specials = []string{"<|endoftext|>", "<|pad|>", "<|user|>", "<|assistant|>"}

func (byteTok) EncodeOrdinary(text string) []int32 {
	out := make([]int32, len(text))
	for i := range len(text) {
		out[i] = 4 + int32(text[i])
	}
	return out
}

func (t byteTok) Encode(text string) []int32 {
	var out []int32
	for len(text) > 0 {
		matched := false
		for id, sp := range specials {
			if strings.HasPrefix(text, sp) {
				out, text, matched = append(out, int32(id)), text[len(sp):], true
				break
			}
		}
		if !matched {
			out, text = append(out, 4+int32(text[0])), text[1:]
		}
	}
	return out
}

func (byteTok) SpecialID(text string) (int32, bool) {
	for id, sp := range specials {
		if text == sp {
			return int32(id), true
		}
	}
	return 0, false
}

func (byteTok) EOSID() int32 { return 0 }
func (byteTok) PadID() int32 { return 1 }

// b is the byteTok id of an ordinary byte.
func b(c byte) int32 { return 4 + int32(c) }

// fakeTeacher samples deterministically from (prompt, seed): a completion of
// 0..maxLen pieces drawn from a small vocabulary whose pieces collide on
// first bytes, include multi-byte and structural pieces, one that encodes
// to nothing and EOS. It finishes with "stop" when it samples EOS or has
// drawn its length, and with "length" when it reaches MaxTokens.
type fakeTeacher struct {
	maxLen int
	calls  atomic.Int64
	// after, if set, runs before each completion with the 1-based call number.
	after func(n int64) error
	mu    sync.Mutex
	seen  map[string]uint64 // prompt -> seed, to check seeds are per position
}

var pieces = []string{"{", "\"", "name", "na", "n", ":", " Alice", " A", ",", "}", "1", "12", "", "é", "<|endoftext|>"}

func (f *fakeTeacher) Describe() (string, string) { return "fake", "pieces" }

func (f *fakeTeacher) Complete(ctx context.Context, req teacher.Request) (*teacher.Completion, error) {
	n := f.calls.Add(1)
	if f.after != nil {
		if err := f.after(n); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.seen == nil {
		f.seen = map[string]uint64{}
	}
	f.seen[req.Prompt] = req.Seed
	f.mu.Unlock()
	h := fnv.New64a()
	h.Write([]byte(req.Prompt))
	rng := rand.New(rand.NewPCG(req.Seed, h.Sum64()))
	length := rng.IntN(f.maxLen + 1)
	c := &teacher.Completion{FinishReason: "stop"}
	for range length {
		if len(c.Tokens) == req.MaxTokens {
			c.FinishReason = "length"
			break
		}
		// A random distribution over the pieces; the top TopLogprobs are
		// the alternatives, the sampled one is drawn from all of them.
		w := make([]float64, len(pieces))
		var sum float64
		for i := range w {
			w[i] = rng.ExpFloat64()
			sum += w[i]
		}
		order := rng.Perm(len(pieces))
		var top []teacher.Alternative
		for _, i := range order[:min(req.TopLogprobs, len(order))] {
			top = append(top, teacher.Alternative{Text: pieces[i], Logprob: math.Log(w[i] / sum)})
		}
		pick := order[rng.IntN(len(order))]
		if pieces[pick] == tokenizer.EOS {
			break // a teacher that samples EOS stops; EOS is no generated token
		}
		c.Tokens = append(c.Tokens, teacher.Token{Text: pieces[pick], Logprob: math.Log(w[pick] / sum), Top: top})
		c.Text += pieces[pick]
	}
	c.CompletionTokens = len(c.Tokens)
	return c, nil
}

// memInputs and memOutputs are steps.Inputs and steps.Outputs over maps.
type memInputs map[string]string

func (m memInputs) Names() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
func (m memInputs) Path(name string) string   { return m[name] }
func (m memInputs) Digest(name string) string { return "" }

type memOutputs = memInputs

var errBoom = errors.New("boom")

func openFake(f *fakeTeacher) func(context.Context, teacher.Config, steps.Inputs) (teacher.Provider, error) {
	return func(context.Context, teacher.Config, steps.Inputs) (teacher.Provider, error) { return f, nil }
}

func loadByteTok(string) (Tokenizer, error) { return byteTok{}, nil }

// params returns the kind's defaults with overrides.
func params(over map[string]any) steps.Values {
	given := map[string]any{}
	for k, v := range over {
		given[k] = v
	}
	v, errs := Kind{}.Params().Resolve(given)
	if len(errs) > 0 {
		panic(fmt.Sprint(errs))
	}
	return v
}
