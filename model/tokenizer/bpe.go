package tokenizer

import (
	"container/heap"
	"sync"
	"sync/atomic"
)

// shortWord is the length (in symbols) up to which a pre-token is merged
// by rescanning its pairs after each merge: quadratic, but without
// allocations, and pre-tokens are short. Longer ones (a run of thousands of
// spaces is one pre-token) use a heap, which is O(n log n).
const shortWord = 48

// appendWord appends the ids of one pre-token.
func (t *Tokenizer) appendWord(out []int32, word string) []int32 {
	if len(word) == 1 && t.byteID[word[0]] >= 0 {
		return append(out, t.byteID[word[0]]) // no merge applies to one symbol
	}
	if ids, ok := t.cache.get(word); ok {
		return append(out, ids...)
	}
	start := len(out)
	out = t.mergeWord(out, word)
	t.cache.put(word, out[start:])
	return out
}

// mergeWord appends the BPE encoding of word: its bytes, then merges
// applied lowest rank first, leftmost first among equal ranks. That is
// the order of Hugging Face's priority queue (rank, position) and gives
// the same result as GPT-2's merge-all-occurrences loop.
func (t *Tokenizer) mergeWord(out []int32, word string) []int32 {
	if t.opts.ignoreMerges {
		if id, ok := t.byBytes[word]; ok {
			return append(out, id)
		}
	}
	start := len(out)
	for i := 0; i < len(word); i++ {
		id := t.byteID[word[i]]
		if id < 0 {
			if t.opts.unk < 0 {
				continue // no unk token: Hugging Face drops the character
			}
			if t.opts.fuseUnk && len(out) > start && out[len(out)-1] == t.opts.unk {
				continue
			}
			id = t.opts.unk
		}
		out = append(out, id)
	}
	syms := out[start:]
	if len(syms) <= shortWord {
		return out[:start+t.mergeShort(syms)]
	}
	n := t.mergeLong(syms)
	return out[:start+n]
}

// mergeShort merges syms in place and returns how many remain.
func (t *Tokenizer) mergeShort(syms []int32) int {
	for len(syms) > 1 {
		best, pos := merge{rank: -1}, -1
		for i := 0; i+1 < len(syms); i++ {
			m, ok := t.merges[pairKey(syms[i], syms[i+1])]
			if ok && (pos < 0 || m.rank < best.rank) {
				best, pos = m, i
			}
		}
		if pos < 0 {
			break
		}
		syms[pos] = best.id
		syms = append(syms[:pos+1], syms[pos+2:]...)
	}
	return len(syms)
}

// mergeLong merges syms with a priority queue over a linked list of
// symbols, writes the result to the front of syms and returns its length.
func (t *Tokenizer) mergeLong(syms []int32) int {
	n := len(syms)
	next := make([]int32, n)
	prev := make([]int32, n)
	alive := make([]bool, n)
	for i := range syms {
		next[i], prev[i], alive[i] = int32(i+1), int32(i-1), true
	}
	next[n-1] = -1
	q := &mergeQueue{}
	push := func(i int32) {
		if i < 0 || next[i] < 0 {
			return
		}
		if m, ok := t.merges[pairKey(syms[i], syms[next[i]])]; ok {
			heap.Push(q, queued{rank: m.rank, pos: i, id: m.id})
		}
	}
	for i := int32(0); i < int32(n); i++ {
		push(i)
	}
	for q.Len() > 0 {
		top := heap.Pop(q).(queued)
		i := top.pos
		if !alive[i] || next[i] < 0 {
			continue
		}
		j := next[i]
		// The entry is stale if either symbol changed since it was queued.
		if m, ok := t.merges[pairKey(syms[i], syms[j])]; !ok || m.id != top.id || m.rank != top.rank {
			continue
		}
		syms[i] = top.id
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		push(prev[i])
		push(i)
	}
	k := 0
	for i := int32(0); i >= 0 && int(i) < n; i = next[i] {
		syms[k] = syms[i]
		k++
	}
	return k
}

// queued is a merge waiting in mergeQueue: its rank, the position of its
// left symbol, and the id it makes.
type queued struct {
	rank, pos, id int32
}

// mergeQueue orders merges by rank, then position.
type mergeQueue []queued

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// cacheWords bounds the word cache: once full it stops taking words (as
// Hugging Face's does), so memory stays bounded on any input.
const (
	cacheWords   = 1 << 16
	cacheWordLen = 64 // longer pre-tokens are rare and not worth keeping
)

// wordCache remembers the ids of pre-tokens already merged. Readers look
// words up in an immutable snapshot without writing any shared memory, so
// encoders on many CPUs do not contend; new words collect in a pending map
// and are published in a new snapshot once there are enough of them (a
// quarter of the snapshot, so copying costs O(1) per word overall). Until
// then a pending word is merged again, which gives the same ids.
type wordCache struct {
	snap    atomic.Pointer[map[string][]int32]
	mu      sync.Mutex
	pending map[string][]int32
}

func newWordCache() *wordCache {
	c := &wordCache{pending: map[string][]int32{}}
	c.snap.Store(&map[string][]int32{})
	return c
}

func (c *wordCache) get(word string) ([]int32, bool) {
	ids, ok := (*c.snap.Load())[word]
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	if len(word) > cacheWordLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.snap.Load()
	if len(old)+len(c.pending) >= cacheWords {
		return
	}
	// Own copies: word may be a slice of a huge text, ids of out.
	c.pending[string([]byte(word))] = append([]int32(nil), ids...)
	if len(c.pending) < max(64, len(old)/4) {
		return
	}
	next := make(map[string][]int32, len(old)+len(c.pending))
	for w, v := range old {
		next[w] = v
	}
	for w, v := range c.pending {
		next[w] = v
	}
	c.snap.Store(&next)
	c.pending = map[string][]int32{}
}
