package tokenizer

import (
	"cmp"
	"fmt"
	"slices"
)

// vocabEntry is one entry of the BPE model's vocabulary as tokenizer.json
// spells it.
type vocabEntry struct {
	str string
	id  int32
}

// build assembles a Tokenizer from the parts of a tokenizer.json: the
// model's vocabulary, its merges in rank order (as pairs of vocabulary
// strings), the added tokens and the options. It checks what Hugging Face
// would reject or what would make encoding ambiguous.
func build(vocab []vocabEntry, merges [][2]string, added []addedToken, opts options) (*Tokenizer, error) {
	maxID := int32(-1)
	for _, v := range vocab {
		if v.id < 0 {
			return nil, fmt.Errorf("vocab: token %q has negative id %d", v.str, v.id)
		}
		maxID = max(maxID, v.id)
	}
	for _, a := range added {
		if a.id < 0 {
			return nil, fmt.Errorf("added_tokens: %q has negative id %d", a.content, a.id)
		}
		if a.content == "" {
			return nil, fmt.Errorf("added_tokens: id %d has empty content", a.id)
		}
		maxID = max(maxID, a.id)
	}
	n := int(maxID) + 1
	t := &Tokenizer{
		tokens: make([][]byte, n), strs: make([]string, n), inVocab: make([]bool, n),
		byBytes: map[string]int32{}, merges: make(map[uint64]merge, len(merges)),
		addedID: map[string]int32{}, opts: opts, cache: newWordCache(),
	}
	isAdded := make([]bool, n)
	for _, a := range added {
		if isAdded[a.id] {
			return nil, fmt.Errorf("added_tokens: id %d is given twice", a.id)
		}
		if _, dup := t.addedID[a.content]; dup {
			return nil, fmt.Errorf("added_tokens: %q is given twice", a.content)
		}
		isAdded[a.id] = true
		t.tokens[a.id], t.strs[a.id] = []byte(a.content), a.content
		t.addedID[a.content] = a.id
		t.addedFirst[a.content[0]] = true
	}
	t.added = slices.Clone(added)
	slices.SortFunc(t.added, func(a, b addedToken) int { return cmp.Compare(a.id, b.id) })

	ids := make(map[string]int32, len(vocab))
	for _, v := range vocab {
		if t.inVocab[v.id] {
			return nil, fmt.Errorf("vocab: id %d is given to both %q and %q", v.id, t.strs[v.id], v.str)
		}
		t.inVocab[v.id] = true
		ids[v.str] = v.id
		raw := []byte(v.str)
		if isAdded[v.id] {
			if t.strs[v.id] != v.str {
				return nil, fmt.Errorf("vocab: id %d is %q, but the added token with that id is %q", v.id, v.str, t.strs[v.id])
			}
			// An added token's vocabulary string is its content, which need
			// not be byte-level text.
			if b, err := fromByteLevel(v.str); err == nil {
				raw = b
			}
		} else {
			b, err := fromByteLevel(v.str)
			if err != nil {
				return nil, fmt.Errorf("vocab: id %d: %w (only byte-level BPE is supported)", v.id, err)
			}
			raw = b
			t.tokens[v.id], t.strs[v.id] = b, v.str
		}
		if _, dup := t.byBytes[string(raw)]; !dup {
			t.byBytes[string(raw)] = v.id
		}
	}
	for b := range 256 {
		t.byteID[b] = -1
		if id, ok := ids[string(byteChar[b])]; ok && !isAdded[id] {
			t.byteID[b] = id
		}
	}
	t.mergeList = make([][2]int32, 0, len(merges))
	for rank, m := range merges {
		a, okA := ids[m[0]]
		b, okB := ids[m[1]]
		c, okC := ids[m[0]+m[1]]
		if !okA || !okB || !okC {
			return nil, fmt.Errorf("merges: rule %d (%q %q) uses or makes a token missing from the vocab", rank+1, m[0], m[1])
		}
		// A pair listed twice keeps its last rank, as Hugging Face's map does.
		t.merges[pairKey(a, b)] = merge{rank: int32(rank), id: c}
		t.mergeList = append(t.mergeList, [2]int32{a, b})
	}
	t.opts.unk = -1
	if opts.unkToken != "" {
		id, ok := ids[opts.unkToken]
		if !ok {
			return nil, fmt.Errorf("model: unk_token %q is not in the vocab", opts.unkToken)
		}
		t.opts.unk = id
	}
	return t, nil
}
