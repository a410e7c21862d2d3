package tokenizer

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Train learns a byte-level BPE tokenizer of vocabSize tokens from texts.
// See TrainContext.
func Train(texts []string, vocabSize int) (*Tokenizer, error) {
	return TrainContext(context.Background(), texts, vocabSize)
}

// TrainContext learns a byte-level BPE tokenizer of vocabSize tokens (the
// 256 bytes, the 4 special tokens and vocabSize-260 merges) from texts,
// and returns ctx.Err() if ctx is cancelled first.
//
// Each text is split at the special-token strings in it (so a special is
// never part of a merge), each piece into GPT-2 pre-tokens, and equal
// pre-tokens are counted once with their frequency. Then, repeatedly, the
// most frequent adjacent pair of tokens inside pre-tokens is merged into a
// new token. Ties are broken by the pair's raw bytes: the pair whose left
// token's bytes are smallest (bytewise), then whose right token's are. A
// merge whose result spells an existing token reuses its id (the rule is
// still recorded, as Hugging Face's trainer does). Training stops early,
// with a smaller vocabulary, when no pair is left. The result depends only
// on the texts' content and vocabSize.
//
// Pair counts are kept up to date incrementally: a merge revisits only the
// pre-tokens that contain its pair, and a max-heap with lazy deletion finds
// the next pair.
func TrainContext(ctx context.Context, texts []string, vocabSize int) (*Tokenizer, error) {
	base := specialBase + len(specials)
	if vocabSize < base {
		return nil, fmt.Errorf("train: vocab size %d is below the %d bytes and special tokens", vocabSize, base)
	}
	tr := newTrainer(countWords(texts))
	if err := tr.run(ctx, vocabSize-base); err != nil {
		return nil, err
	}
	return tr.tokenizer()
}

// countWords counts the pre-tokens of texts, outside special tokens.
func countWords(texts []string) map[string]int64 {
	counts := map[string]int64{}
	for _, text := range texts {
		for _, piece := range splitSpecials(text) {
			for i := 0; i < len(piece); {
				j := splitWord(piece, i)
				counts[piece[i:j]]++
				i = j
			}
		}
	}
	return counts
}

// splitSpecials cuts text at every special-token string.
func splitSpecials(text string) []string {
	var out []string
	for {
		cut, n := -1, 0
		for _, sp := range specials {
			if i := strings.Index(text, sp); i >= 0 && (cut < 0 || i < cut) {
				cut, n = i, len(sp)
			}
		}
		if cut < 0 {
			return append(out, text)
		}
		out = append(out, text[:cut])
		text = text[cut+n:]
	}
}

// trainer holds the state of BPE training.
type trainer struct {
	tokens  [][]byte         // id -> raw bytes; ids 256..259 are the specials
	byBytes map[string]int32 // raw bytes -> id
	words   []trainWord
	counts  map[uint64]int64   // pair -> occurrences (weighted by word frequency)
	where   map[uint64][]int32 // pair -> words that may contain it
	queue   pairQueue
	merges  [][2]int32
}

type trainWord struct {
	syms []int32
	freq int64
}

func newTrainer(counts map[string]int64) *trainer {
	tr := &trainer{byBytes: map[string]int32{}, counts: map[uint64]int64{}, where: map[uint64][]int32{}}
	for b := range 256 {
		tr.add([]byte{byte(b)})
	}
	for _, sp := range specials {
		tr.tokens = append(tr.tokens, []byte(sp)) // not in byBytes: never a merge result
	}
	// Words in sorted order, so that everything below is deterministic.
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	tr.words = make([]trainWord, len(keys))
	for wi, w := range keys {
		syms := make([]int32, len(w))
		for i := range len(w) {
			syms[i] = int32(w[i])
		}
		tr.words[wi] = trainWord{syms: syms, freq: counts[w]}
		for i := 0; i+1 < len(syms); i++ {
			p := pairKey(syms[i], syms[i+1])
			tr.counts[p] += counts[w]
			tr.where[p] = append(tr.where[p], int32(wi))
		}
	}
	pairs := make([]uint64, 0, len(tr.counts))
	for p := range tr.counts {
		pairs = append(pairs, p)
	}
	slices.Sort(pairs)
	for _, p := range pairs {
		tr.queue.items = append(tr.queue.items, queuedPair{pair: p, count: tr.counts[p]})
	}
	tr.queue.tokens = &tr.tokens
	heap.Init(&tr.queue)
	return tr
}

// add appends a new token.
func (tr *trainer) add(raw []byte) int32 {
	id := int32(len(tr.tokens))
	tr.tokens = append(tr.tokens, raw)
	tr.byBytes[string(raw)] = id
	return id
}

// run learns up to n new tokens.
func (tr *trainer) run(ctx context.Context, n int) error {
	added := 0
	for added < n && tr.queue.Len() > 0 {
		if len(tr.merges)%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		top := heap.Pop(&tr.queue).(queuedPair)
		if tr.counts[top.pair] != top.count || top.count <= 0 {
			continue // stale: the pair's count changed after it was queued
		}
		a, b := int32(top.pair>>32), int32(uint32(top.pair))
		raw := append(append([]byte(nil), tr.tokens[a]...), tr.tokens[b]...)
		c, exists := tr.byBytes[string(raw)]
		if !exists {
			c = tr.add(raw)
			added++
		}
		tr.merges = append(tr.merges, [2]int32{a, b})
		tr.apply(top.pair, a, b, c)
	}
	return nil
}

// apply replaces every occurrence of the pair (a, b) by c in the words
// that contain it and updates the pair counts by the difference.
func (tr *trainer) apply(pair uint64, a, b, c int32) {
	ws := tr.where[pair]
	delete(tr.where, pair)
	slices.Sort(ws)
	ws = slices.Compact(ws)
	delta := map[uint64]int64{}
	for _, wi := range ws {
		w := &tr.words[wi]
		if !hasPair(w.syms, a, b) {
			continue // a stale entry: an earlier merge consumed the pair here
		}
		for i := 0; i+1 < len(w.syms); i++ {
			delta[pairKey(w.syms[i], w.syms[i+1])] -= w.freq
		}
		out := w.syms[:0]
		for i := 0; i < len(w.syms); i++ {
			if i+1 < len(w.syms) && w.syms[i] == a && w.syms[i+1] == b {
				out = append(out, c)
				i++
			} else {
				out = append(out, w.syms[i])
			}
		}
		w.syms = out
		for i := 0; i+1 < len(w.syms); i++ {
			p := pairKey(w.syms[i], w.syms[i+1])
			delta[p] += w.freq
			if w.syms[i] == c || w.syms[i+1] == c {
				tr.where[p] = append(tr.where[p], wi)
			}
		}
	}
	changed := make([]uint64, 0, len(delta))
	for p, d := range delta {
		if d != 0 {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	for _, p := range changed {
		tr.counts[p] += delta[p]
		if tr.counts[p] <= 0 {
			delete(tr.counts, p)
			continue
		}
		heap.Push(&tr.queue, queuedPair{pair: p, count: tr.counts[p]})
	}
}

func hasPair(syms []int32, a, b int32) bool {
	for i := 0; i+1 < len(syms); i++ {
		if syms[i] == a && syms[i+1] == b {
			return true
		}
	}
	return false
}

// tokenizer turns the learned merges into a Tokenizer.
func (tr *trainer) tokenizer() (*Tokenizer, error) {
	vocab := make([]vocabEntry, len(tr.tokens))
	strs := make([]string, len(tr.tokens))
	for id, raw := range tr.tokens {
		s := byteLevel(raw)
		if id >= specialBase && id < specialBase+len(specials) {
			s = specials[id-specialBase]
		}
		strs[id] = s
		vocab[id] = vocabEntry{s, int32(id)}
	}
	merges := make([][2]string, len(tr.merges))
	for i, m := range tr.merges {
		merges[i] = [2]string{strs[m[0]], strs[m[1]]}
	}
	added := make([]addedToken, len(specials))
	for i, sp := range specials {
		added[i] = addedToken{id: int32(specialBase + i), content: sp, special: true}
	}
	t, err := build(vocab, merges, added, options{useRegex: true})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return t, nil
}

// queuedPair is a pair with its count when it was queued.
type queuedPair struct {
	pair  uint64
	count int64
}

// pairQueue is a max-heap of pairs by count; ties go to the pair whose
// tokens' bytes are smallest (left token first).
type pairQueue struct {
	items  []queuedPair
	tokens *[][]byte
}

func (q *pairQueue) Len() int { return len(q.items) }
func (q *pairQueue) Less(i, j int) bool {
	x, y := q.items[i], q.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	toks := *q.tokens
	if c := bytes.Compare(toks[x.pair>>32], toks[y.pair>>32]); c != 0 {
		return c < 0
	}
	return bytes.Compare(toks[uint32(x.pair)], toks[uint32(y.pair)]) < 0
}
func (q *pairQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *pairQueue) Push(x any)    { q.items = append(q.items, x.(queuedPair)) }
func (q *pairQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}
