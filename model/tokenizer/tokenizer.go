// Package tokenizer is a byte-level BPE tokenizer that behaves exactly like
// GPT-2's and Hugging Face tokenizers' ByteLevel BPE: text is split at
// special tokens, each piece is cut into GPT-2 pre-tokens, and each
// pre-token's bytes are merged by rank. It trains such tokenizers
// (Train), reads and writes Hugging Face tokenizer.json files (Read,
// Write) and encodes and decodes. It uses the standard library only.
//
// Ids of a trained tokenizer: 0..255 are the single bytes (id b is byte
// b), 256..259 are the special tokens EOS, Pad, User and Assistant, and
// merged tokens follow from 260 in the order they were learned. The
// specials are in the BPE vocabulary too (as GPT-2's <|endoftext|> is), so
// Hugging Face assigns them the same ids.
package tokenizer

import "strings"

// The special tokens every trained tokenizer has.
const (
	EOS       = "<|endoftext|>"
	Pad       = "<|pad|>"
	User      = "<|user|>"
	Assistant = "<|assistant|>"
)

// specials lists the special tokens in id order (from specialBase).
var specials = []string{EOS, Pad, User, Assistant}

// specialBase is the id of the first special token of a trained tokenizer.
const specialBase = 256

// PromptTemplate is the seed's chat template; {prompt} stands for the
// user's prompt. Traces record its hash, so that a student is never trained
// on prompts laid out differently from how the teacher saw them.
const PromptTemplate = User + "\n{prompt}\n\n" + Assistant + "\n"

// Template returns the seed's chat prompt for prompt (PromptTemplate filled
// in); the answer follows it, then EOS.
func Template(prompt string) string {
	return User + "\n" + prompt + "\n\n" + Assistant + "\n"
}

// Tokenizer is a byte-level BPE tokenizer. It is immutable after Train or
// Read and safe for concurrent use.
type Tokenizer struct {
	// tokens holds each id's raw bytes (nil for an id that the file leaves
	// out); strs its string in tokenizer.json (the byte-level form, or an
	// added token's content).
	tokens [][]byte
	strs   []string
	// inVocab marks the ids of the BPE model's vocabulary (added tokens
	// may or may not be in it).
	inVocab []bool
	// byBytes finds a vocabulary id by its raw bytes (for ignore_merges).
	byBytes map[string]int32
	// byteID is the id of each single byte, -1 if the vocabulary lacks it.
	byteID [256]int32
	// merges maps a pair of ids to its rank and the merged id; mergeList
	// holds the pairs in rank order.
	merges    map[uint64]merge
	mergeList [][2]int32
	// added are the added (special) tokens, by id; addedID finds one by
	// content; addedFirst marks the bytes an added token can start with.
	added      []addedToken
	addedID    map[string]int32
	addedFirst [256]bool
	opts       options
	cache      *wordCache
}

// merge is one BPE merge rule.
type merge struct {
	rank int32
	id   int32
}

// addedToken is a token matched in raw text before pre-tokenization.
type addedToken struct {
	id         int32
	content    string
	special    bool
	normalized bool
}

// options are the tokenizer.json settings that change encoding.
type options struct {
	addPrefixSpace bool  // ByteLevel: prepend ' ' to a piece not starting with one
	useRegex       bool  // ByteLevel: split pieces into GPT-2 pre-tokens
	ignoreMerges   bool  // BPE: a pre-token that is a whole vocabulary entry is that entry
	unk            int32 // BPE: id of a byte missing from the vocabulary; -1: dropped
	unkToken       string
	fuseUnk        bool
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// VocabSize is the number of ids: one more than the largest.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenBytes returns the raw bytes of token id (a special token's are its
// text), or nil for an unknown id. The slice must not be modified.
func (t *Tokenizer) TokenBytes(id int32) []byte {
	if id < 0 || int(id) >= len(t.tokens) {
		return nil
	}
	return t.tokens[id]
}

// SpecialID returns the id of the added token spelled exactly tok.
func (t *Tokenizer) SpecialID(tok string) (int32, bool) {
	id, ok := t.addedID[tok]
	return id, ok
}

// EOSID returns the id of EOS, or -1 if the tokenizer has none.
func (t *Tokenizer) EOSID() int32 { return t.idOr(EOS) }

// PadID returns the id of Pad, or -1 if the tokenizer has none.
func (t *Tokenizer) PadID() int32 { return t.idOr(Pad) }

func (t *Tokenizer) idOr(tok string) int32 {
	if id, ok := t.addedID[tok]; ok {
		return id
	}
	return -1
}

// Encode encodes text; added tokens spelled in it (the specials) become
// their ids, as Hugging Face's encode does (without adding any).
func (t *Tokenizer) Encode(text string) []int32 {
	out := make([]int32, 0, len(text)/3+1)
	start := 0
	for i := 0; i < len(text); {
		if !t.addedFirst[text[i]] {
			i++
			continue
		}
		id, n := t.matchAdded(text[i:])
		if n == 0 {
			i++
			continue
		}
		out = t.appendPiece(out, text[start:i])
		out = append(out, id)
		i += n
		start = i
	}
	return t.appendPiece(out, text[start:])
}

// matchAdded returns the longest added token that s starts with
// (Hugging Face matches leftmost-longest).
func (t *Tokenizer) matchAdded(s string) (id int32, n int) {
	for _, a := range t.added {
		if len(a.content) > n && strings.HasPrefix(s, a.content) {
			id, n = a.id, len(a.content)
		}
	}
	return id, n
}

// EncodeOrdinary encodes text as plain text: special-token strings in it
// are split and merged like any other text.
func (t *Tokenizer) EncodeOrdinary(text string) []int32 {
	return t.appendPiece(make([]int32, 0, len(text)/3+1), text)
}

// appendPiece encodes text that holds no added token.
func (t *Tokenizer) appendPiece(out []int32, s string) []int32 {
	if s == "" {
		return out
	}
	if t.opts.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !t.opts.useRegex {
		return t.appendWord(out, s)
	}
	for i := 0; i < len(s); {
		j := splitWord(s, i)
		out = t.appendWord(out, s[i:j])
		i = j
	}
	return out
}

// Decode joins the tokens' raw bytes; special tokens decode to their text
// and unknown ids to nothing. The result is invalid UTF-8 only where ids
// split a character.
func (t *Tokenizer) Decode(ids []int32) string {
	n := 0
	for _, id := range ids {
		n += len(t.TokenBytes(id))
	}
	buf := make([]byte, 0, n)
	for _, id := range ids {
		buf = append(buf, t.TokenBytes(id)...)
	}
	return string(buf)
}
