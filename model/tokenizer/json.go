package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The tokenizer.json format is Hugging Face tokenizers' serialization of a
// Tokenizer (format "version" 1.0). Read accepts what the BPE model with a
// ByteLevel pre-tokenizer means and rejects, with an error naming the
// field, what would make Encode differ from Hugging Face's: a normalizer,
// another pre-tokenizer, BPE dropout, subword prefixes or suffixes, byte
// fallback, and added tokens with lstrip, rstrip or single_word. The
// truncation, padding and post_processor sections only matter to Hugging
// Face's encode with add_special_tokens or length limits, which Encode is
// not; they are ignored.

type fileJSON struct {
	Version       string          `json:"version"`
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelJSON      `json:"model"`
}

type addedJSON struct {
	ID         *int64 `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type byteLevelJSON struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       *bool  `json:"use_regex"` // absent in files before tokenizers 0.11: true
}

type modelJSON struct {
	Type                    string            `json:"type"`
	Dropout                 *float64          `json:"dropout"`
	UnkToken                *string           `json:"unk_token"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	Vocab                   map[string]int64  `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
}

// Read reads a Hugging Face tokenizer.json whose model is byte-level BPE.
// Merges may be in the legacy form ("a b") or the newer one (["a", "b"]).
func Read(r io.Reader) (*Tokenizer, error) {
	var f fileJSON
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	t, err := f.tokenizer()
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

func (f *fileJSON) tokenizer() (*Tokenizer, error) {
	if f.Version != "1.0" {
		return nil, fmt.Errorf("version %q: expected \"1.0\"", f.Version)
	}
	if !isNull(f.Normalizer) {
		return nil, errors.New("normalizer: only null is supported")
	}
	var opts options
	pre, err := byteLevelOf(f.PreTokenizer, "pre_tokenizer", false)
	if err != nil {
		return nil, err
	}
	opts.addPrefixSpace = pre.AddPrefixSpace
	opts.useRegex = pre.UseRegex == nil || *pre.UseRegex
	if _, err := byteLevelOf(f.Decoder, "decoder", true); err != nil {
		return nil, err
	}
	m := f.Model
	if m == nil {
		return nil, errors.New("model: missing")
	}
	switch {
	case m.Type != "" && m.Type != "BPE":
		return nil, fmt.Errorf("model: type %q: only BPE is supported", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, fmt.Errorf("model: dropout %v: only null is supported (encoding must be deterministic)", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, errors.New("model: continuing_subword_prefix is not supported by byte-level BPE")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, errors.New("model: end_of_word_suffix is not supported by byte-level BPE")
	case m.ByteFallback:
		return nil, errors.New("model: byte_fallback is not supported by byte-level BPE")
	case m.Vocab == nil || m.Merges == nil:
		return nil, errors.New("model: missing vocab or merges")
	}
	opts.ignoreMerges, opts.fuseUnk = m.IgnoreMerges, m.FuseUnk
	if m.UnkToken != nil {
		opts.unkToken = *m.UnkToken
	}
	vocab := make([]vocabEntry, 0, len(m.Vocab))
	for s, id := range m.Vocab {
		if id < 0 || id > 1<<31-1 {
			return nil, fmt.Errorf("vocab: token %q: id %d out of range", s, id)
		}
		vocab = append(vocab, vocabEntry{s, int32(id)})
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		if merges[i], err = parseMerge(raw); err != nil {
			return nil, fmt.Errorf("merges: rule %d: %w", i+1, err)
		}
	}
	added := make([]addedToken, len(f.AddedTokens))
	for i, a := range f.AddedTokens {
		switch {
		case a.ID == nil:
			return nil, fmt.Errorf("added_tokens: %q has no id", a.Content)
		case *a.ID < 0 || *a.ID > 1<<31-1:
			return nil, fmt.Errorf("added_tokens: %q: id %d out of range", a.Content, *a.ID)
		case a.SingleWord || a.LStrip || a.RStrip:
			return nil, fmt.Errorf("added_tokens: %q: single_word, lstrip and rstrip are not supported", a.Content)
		}
		added[i] = addedToken{id: int32(*a.ID), content: a.Content, special: a.Special, normalized: a.Normalized}
	}
	return build(vocab, merges, added, opts)
}

// parseMerge reads one merge rule in either form.
func parseMerge(raw json.RawMessage) ([2]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return [2]string{}, fmt.Errorf("%q: expected two tokens separated by one space", s)
		}
		return [2]string{a, b}, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return [2]string{}, fmt.Errorf("%s: expected \"a b\" or [\"a\", \"b\"]", raw)
	}
	return [2]string{pair[0], pair[1]}, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// byteLevelOf reads a ByteLevel section; nullOK allows it to be null.
func byteLevelOf(raw json.RawMessage, field string, nullOK bool) (byteLevelJSON, error) {
	var b byteLevelJSON
	if isNull(raw) {
		if nullOK {
			return b, nil
		}
		return b, fmt.Errorf("%s: missing; expected ByteLevel", field)
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("%s: %w", field, err)
	}
	if b.Type != "ByteLevel" {
		return b, fmt.Errorf("%s: type %q: only ByteLevel is supported", field, b.Type)
	}
	return b, nil
}

// ReadFile reads the tokenizer.json at path.
func ReadFile(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}
