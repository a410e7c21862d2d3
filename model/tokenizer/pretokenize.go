package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// GPT-2 splits text into pre-tokens with the regular expression
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// and BPE never merges across pre-tokens. Go's regexp has no lookahead, so
// splitWord implements the expression by hand, alternative by alternative,
// with the same leftmost-first semantics. Character classes follow
// Oniguruma's Unicode classes, as Hugging Face tokenizers uses them: \s is
// White_Space (unicode.IsSpace), \p{L} letters, \p{N} numbers. A byte that
// is not valid UTF-8 counts as "other" (neither space, letter nor number),
// so any byte string splits and round-trips.

// charClass is the class of a character for the pre-tokenizer.
type charClass uint8

const (
	classOther charClass = iota
	classLetter
	classNumber
	classSpace
)

// asciiClass caches the classes of ASCII characters, the common case.
var asciiClass [128]charClass

func init() {
	for c := rune(0); c < 128; c++ {
		asciiClass[c] = classify(c)
	}
}

func classify(r rune) charClass {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}

// classAt returns the class and byte width of the character at s[i].
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return classOther, 1
	}
	return classify(r), w
}

// runOf returns the end of the run of characters of class c starting at i.
func runOf(s string, i int, c charClass) int {
	for i < len(s) {
		ci, w := classAt(s, i)
		if ci != c {
			break
		}
		i += w
	}
	return i
}

// splitWord returns the end of the pre-token that starts at s[i] (i < len(s)).
func splitWord(s string, i int) int {
	c, w := classAt(s, i)
	if s[i] == '\'' && i+1 < len(s) {
		// 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2).
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	if s[i] == ' ' && i+1 < len(s) {
		// ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+` with the space.
		if next, _ := classAt(s, i+1); next != classSpace {
			return runOf(s, i+1, next)
		}
	}
	if c != classSpace {
		// The same three without the space.
		return runOf(s, i+w, c)
	}
	// `\s+(?!\S)|\s+`: a run of spaces that ends the text is taken whole; one
	// followed by a non-space leaves its last character to the next pre-token
	// (where " word" picks up a final ' '), unless it is a single character.
	end := runOf(s, i, classSpace)
	if end == len(s) {
		return end
	}
	_, lastW := utf8.DecodeLastRuneInString(s[i:end])
	if end-lastW > i {
		return end - lastW
	}
	return end
}

// preTokenize splits s into GPT-2 pre-tokens (for tests and training; the
// encoder walks splitWord itself to avoid the slice).
func preTokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := splitWord(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}
