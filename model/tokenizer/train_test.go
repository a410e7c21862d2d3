package tokenizer

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTrainDeterministic checks that the same texts give the same file,
// whatever their order (training sees only pre-token counts) and
// GOMAXPROCS.
func TestTrainDeterministic(t *testing.T) {
	texts := sampleTexts(200, 11)
	want := written(t, mustTrain(t, texts, 420))
	reversed := slices.Clone(texts)
	slices.Reverse(reversed)
	if !bytes.Equal(written(t, mustTrain(t, reversed, 420)), want) {
		t.Error("reordering the texts changed the tokenizer")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if !bytes.Equal(written(t, mustTrain(t, texts, 420)), want) {
		t.Error("GOMAXPROCS 1 changed the tokenizer")
	}
}

// TestTrainMatchesNaive compares the incremental trainer with a direct
// one that recounts every pair before each merge.
func TestTrainMatchesNaive(t *testing.T) {
	texts := append(sampleTexts(60, 5), "aaaa aaaa aaa", "abab abab", strings.Repeat("=", 40), "  \n\n  x")
	const size = 360
	tok := mustTrain(t, texts, size)
	want := naiveMerges(texts, size)
	var got [][2]string
	for _, m := range tok.mergeList {
		got = append(got, [2]string{string(tok.TokenBytes(m[0])), string(tok.TokenBytes(m[1]))})
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("merge %d: %q, naive %q", i, got[i], want[i])
			}
		}
		t.Fatalf("%d merges, naive %d", len(got), len(want))
	}
}

// naiveMerges is BPE training by definition: count all pairs, merge the
// most frequent (ties: smallest left bytes, then right bytes), repeat.
func naiveMerges(texts []string, size int) [][2]string {
	counts := countWords(texts)
	type word struct {
		syms []string
		freq int64
	}
	var words []word
	for w, n := range counts {
		var syms []string
		for i := range len(w) {
			syms = append(syms, w[i:i+1])
		}
		words = append(words, word{syms, n})
	}
	known := map[string]bool{}
	for b := range 256 {
		known[string([]byte{byte(b)})] = true
	}
	vocab := 260
	var merges [][2]string
	for vocab < size {
		pairs := map[[2]string]int64{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.freq
			}
		}
		var best [2]string
		var bestN int64
		for p, n := range pairs {
			if n > bestN || n == bestN && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bestN = p, n
			}
		}
		if bestN == 0 {
			break
		}
		merges = append(merges, best)
		if !known[best[0]+best[1]] {
			known[best[0]+best[1]] = true
			vocab++
		}
		for wi, w := range words {
			var out []string
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == best[0] && w.syms[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
				} else {
					out = append(out, w.syms[i])
				}
			}
			words[wi].syms = out
		}
	}
	return merges
}

// TestTrainSpecialsNotMerged checks that no learned token contains (part
// of) a special token's text across its boundary: the specials split the
// text before counting.
func TestTrainSpecialsNotMerged(t *testing.T) {
	tok := mustTrain(t, []string{strings.Repeat("x"+EOS+"y"+User+"\n", 50)}, 300)
	for id := 260; id < tok.VocabSize(); id++ {
		s := string(tok.TokenBytes(int32(id)))
		if strings.Contains(s, "x<") || strings.Contains(s, ">y") || strings.Contains(s, ">\n") {
			t.Errorf("token %d %q spans a special token's edge", id, s)
		}
	}
	if got := tok.Encode("x" + EOS + "y"); len(got) != 3 || got[1] != tok.EOSID() {
		t.Errorf("Encode = %s", tokenStrings(tok, got))
	}
}

// TestTrainSizes checks the vocabulary size, an early stop and a size too
// small for the base vocabulary.
func TestTrainSizes(t *testing.T) {
	if got := trained(t).VocabSize(); got != 400 {
		t.Errorf("VocabSize = %d, want 400", got)
	}
	// "abab" has 3 distinct merges to learn at most (ab, abab; ba never wins).
	if got := mustTrain(t, []string{"abab"}, 1000).VocabSize(); got != 262 {
		t.Errorf("a tiny corpus gave %d tokens, want 262", got)
	}
	if got := mustTrain(t, nil, 260).VocabSize(); got != 260 {
		t.Errorf("no text gave %d tokens", got)
	}
	if _, err := Train([]string{"a"}, 259); err == nil {
		t.Error("a vocab size below 260 was accepted")
	}
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TrainContext(ctx, sampleTexts(50, 1), 600); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled training returned %v", err)
	}
}
