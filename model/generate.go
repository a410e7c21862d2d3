package model

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// GenerateOptions control Generate.
type GenerateOptions struct {
	MaxNewTokens int
	EOS          int32   // stop token; negative = none
	Temperature  float64 // 0 = greedy
	TopP         float64 // nucleus mass; 0 or >= 1 = the whole distribution
	TopLogprobs  int     // how many alternatives to report per generated token
	// Rand draws the samples when Temperature > 0; seed it explicitly.
	Rand *rand.Rand
	// OnLogits, if set, receives the logits (V) each new token is chosen
	// from; the slice is reused afterwards.
	OnLogits func(step int, logits []float32)
}

// TokenLogprob is a token id with its log probability.
type TokenLogprob struct {
	ID      int32   `json:"id"`
	Logprob float64 `json:"logprob"`
}

// Generation is the result of Generate.
type Generation struct {
	Tokens []int32 // generated tokens, without the EOS
	// Logprobs holds each generated token's log probability under the
	// model's distribution (temperature 1), Top the TopLogprobs most likely
	// alternatives per step, best first.
	Logprobs []float64
	Top      [][]TokenLogprob
	Stop     string // "eos", "length" (max_new_tokens) or "block_size"
	// Wall-clock time of the prompt's forward pass and of the decode steps.
	Prefill, Decode time.Duration
}

// Generate continues prompt with the KV cache: one batched forward over the
// prompt, then one token per step, greedy or sampled at Temperature with
// nucleus TopP, until EOS, MaxNewTokens or block_size.
func (inf *Inference) Generate(prompt []int32, opt GenerateOptions) (Generation, error) {
	var g Generation
	if len(prompt) == 0 {
		return g, errors.New("generate: empty prompt")
	}
	if opt.Temperature < 0 {
		return g, fmt.Errorf("generate: negative temperature %g", opt.Temperature)
	}
	if opt.Temperature > 0 && opt.Rand == nil {
		return g, errors.New("generate: sampling needs a seeded generator")
	}
	bs := inf.Cfg.BlockSize
	if len(prompt) > bs {
		return g, fmt.Errorf("generate: prompt of %d tokens exceeds block_size %d", len(prompt), bs)
	}
	s := inf.NewSession(min(bs, len(prompt)+max(opt.MaxNewTokens, 0)))
	start := time.Now()
	logits, err := s.Forward(prompt)
	if err != nil {
		return g, fmt.Errorf("generate: %w", err)
	}
	V := inf.Cfg.VocabSize
	last := logits[(len(prompt)-1)*V:]
	g.Prefill = time.Since(start)
	start = time.Now()
	lp := make([]float64, V)
	var probs []float64
	g.Stop = "length"
	for step := 0; step < opt.MaxNewTokens; step++ {
		if opt.OnLogits != nil {
			opt.OnLogits(step, last)
		}
		LogSoftmax(lp, last)
		var next int32
		if opt.Temperature == 0 {
			next = int32(argmax(last))
		} else {
			probs = samplingProbs(probs, last, opt.Temperature, opt.TopP)
			next = sample(probs, opt.Rand.Float64())
		}
		if next == opt.EOS && opt.EOS >= 0 {
			g.Stop = "eos"
			break
		}
		g.Tokens = append(g.Tokens, next)
		g.Logprobs = append(g.Logprobs, lp[next])
		if opt.TopLogprobs > 0 {
			g.Top = append(g.Top, TopK(lp, opt.TopLogprobs))
		}
		if step == opt.MaxNewTokens-1 {
			break
		}
		if s.Pos() >= bs {
			g.Stop = "block_size"
			break
		}
		logits, err = s.Forward([]int32{next})
		if err != nil {
			return g, fmt.Errorf("generate: %w", err)
		}
		last = logits
	}
	g.Decode = time.Since(start)
	return g, nil
}

// LogSoftmax performs dst = log softmax(z) in float64.
func LogSoftmax(dst []float64, z []float32) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(s)
	for j, v := range z {
		dst[j] = float64(v) - lse
	}
}

// TopK returns the k largest entries of lp, best first, ties broken by the
// smaller id.
func TopK(lp []float64, k int) []TokenLogprob {
	all := make([]TokenLogprob, len(lp))
	for i, v := range lp {
		all[i] = TokenLogprob{ID: int32(i), Logprob: v}
	}
	slices.SortFunc(all, func(a, b TokenLogprob) int {
		if c := cmp.Compare(b.Logprob, a.Logprob); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return all[:min(k, len(all))]
}

func argmax(z []float32) int {
	best := 0
	for j, v := range z {
		if v > z[best] {
			best = j
		}
	}
	return best
}

// samplingProbs returns p = softmax(z / temperature) restricted to the
// nucleus: the most likely tokens (ties by smaller id) whose mass first
// reaches topP, renormalized; all other entries are 0.
func samplingProbs(p []float64, z []float32, temperature, topP float64) []float64 {
	p = slices.Grow(p[:0], len(z))[:len(z)]
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/temperature)
	}
	var s float64
	for j, v := range z {
		p[j] = math.Exp(float64(v)/temperature - mx)
		s += p[j]
	}
	for j := range p {
		p[j] /= s
	}
	if topP <= 0 || topP >= 1 {
		return p
	}
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(p[b], p[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	var cum float64
	cut := len(order)
	for i, j := range order {
		cum += p[j]
		if cum >= topP {
			cut = i + 1
			break
		}
	}
	for _, j := range order[cut:] {
		p[j] = 0
	}
	for j := range p {
		p[j] /= cum
	}
	return p
}

// sample returns the index where the cumulative sum of p first exceeds u in
// [0,1), falling back to the last non-zero entry.
func sample(p []float64, u float64) int32 {
	var cum float64
	last := 0
	for j, v := range p {
		if v == 0 {
			continue
		}
		cum += v
		last = j
		if u < cum {
			return int32(j)
		}
	}
	return int32(last)
}
