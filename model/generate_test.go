package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGenerateGreedy: greedy decoding with the KV cache picks, at every step,
// the argmax of a full forward over the sequence so far, and reports the
// chosen tokens' logprobs and sorted alternatives.
func TestGenerateGreedy(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	m := trainedish(t, cfg, 13)
	inf := m.Inference(false)
	prompt := []int32{3, 1, 4}
	g, err := inf.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOS: -1, TopLogprobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tokens) != 8 || g.Stop != "length" || len(g.Top) != 8 {
		t.Fatalf("generated %d tokens, stop %q", len(g.Tokens), g.Stop)
	}
	seq := slices.Clone(prompt)
	V := cfg.VocabSize
	lp := make([]float64, V)
	for i, tok := range g.Tokens {
		logits, err := m.Forward(seq, nil, 1, len(seq))
		if err != nil {
			t.Fatal(err)
		}
		last := logits[(len(seq)-1)*V:]
		if want := int32(argmax(last)); tok != want {
			t.Fatalf("step %d: token %d, full forward argmax %d", i, tok, want)
		}
		LogSoftmax(lp, last)
		if math.Abs(g.Logprobs[i]-lp[tok]) > 1e-5 || g.Top[i][0].ID != tok || g.Top[i][0].Logprob < g.Top[i][1].Logprob {
			t.Errorf("step %d: logprob %g (want %g), top %v", i, g.Logprobs[i], lp[tok], g.Top[i])
		}
		seq = append(seq, tok)
	}
	// EOS stops without being emitted; the block size bounds the sequence.
	g2, _ := inf.Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOS: g.Tokens[2]})
	if g2.Stop != "eos" || !slices.Equal(g2.Tokens, g.Tokens[:slices.Index(g.Tokens, g.Tokens[2])]) {
		t.Errorf("eos stop: %v %q", g2.Tokens, g2.Stop)
	}
	g3, _ := inf.Generate(prompt, GenerateOptions{MaxNewTokens: 100, EOS: -1})
	if g3.Stop != "block_size" || len(prompt)+len(g3.Tokens) != cfg.BlockSize+1 {
		t.Errorf("block size stop: %d tokens, %q", len(g3.Tokens), g3.Stop)
	}
	// The packed path decodes the same greedy tokens here.
	gp, _ := m.Inference(true).Generate(prompt, GenerateOptions{MaxNewTokens: 8, EOS: -1})
	if !slices.Equal(gp.Tokens, g.Tokens) {
		t.Errorf("packed greedy %v, fake-quant %v", gp.Tokens, g.Tokens)
	}
	if _, err := inf.Generate(prompt, GenerateOptions{MaxNewTokens: 2, Temperature: 1}); err == nil {
		t.Error("sampling without a generator accepted")
	}
}

// TestGenerateSampling: the same seed gives the same tokens, another seed
// other tokens, and top-p keeps only the nucleus.
func TestGenerateSampling(t *testing.T) {
	cfg := tinyConfig(VariantLinear)
	m := trainedish(t, cfg, 14)
	inf := m.Inference(false)
	gen := func(seed uint64, temp, topP float64) []int32 {
		g, err := inf.Generate([]int32{1, 2}, GenerateOptions{MaxNewTokens: 12, EOS: -1, Temperature: temp, TopP: topP,
			Rand: rand.New(rand.NewPCG(seed, 0))})
		if err != nil {
			t.Fatal(err)
		}
		return g.Tokens
	}
	a, b, c := gen(1, 1.5, 1), gen(1, 1.5, 1), gen(2, 1.5, 1)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("seeded sampling: %v %v %v", a, b, c)
	}
	// A tiny nucleus is greedy.
	greedy, _ := inf.Generate([]int32{1, 2}, GenerateOptions{MaxNewTokens: 12, EOS: -1})
	if got := gen(3, 1.5, 1e-9); !slices.Equal(got, greedy.Tokens) {
		t.Errorf("top-p 1e-9 gave %v, greedy %v", got, greedy.Tokens)
	}
	p := samplingProbs(nil, []float32{2, 1, 0, -1}, 1, 0.7)
	// softmax = .644, .237, .087, .032: the nucleus is {0, 1}.
	if p[2] != 0 || p[3] != 0 || math.Abs(p[0]+p[1]-1) > 1e-12 || p[0] < p[1] {
		t.Errorf("nucleus probs %v", p)
	}
}
