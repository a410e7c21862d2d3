package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// TestPreTokenize checks the hand-written GPT-2 pre-tokenizer against
// splits of the regular expression (checked with Python's regex module),
// case by case through every alternative.
func TestPreTokenize(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"words", "Hello world", []string{"Hello", " world"}},
		{"contractions", "I'm we'll they're you've he'd it's don't", []string{"I", "'m", " we", "'ll", " they", "'re", " you", "'ve", " he", "'d", " it", "'s", " don", "'t"}},
		{"contraction is case-sensitive", "IT'S", []string{"IT", "'", "S"}},
		{"contraction at start", "'re'll", []string{"'re", "'ll"}},
		{"not a contraction", "'r 'x", []string{"'", "r", " '", "x"}},
		{"quote run swallows a contraction", "'''s", []string{"'''", "s"}},
		{"spaced quote", "x 'll", []string{"x", " '", "ll"}},
		{"digits", "abc123 456", []string{"abc", "123", " 456"}},
		{"decimal", "3.14", []string{"3", ".", "14"}},
		{"unicode numbers", "½ Ⅻ ٣", []string{"½", " Ⅻ", " ٣"}},
		{"punctuation", "hello!!! world?!", []string{"hello", "!!!", " world", "?!"}},
		{"spaced punctuation", " !! ", []string{" !!", " "}},
		{"json", `{"id":417,"tags":["a"]}`, []string{`{"`, "id", `":`, "417", `,"`, "tags", `":["`, "a", `"]}`}},
		{"unicode letters", "Zürich São Paulo 日本語", []string{"Zürich", " São", " Paulo", " 日本語"}},
		{"combining mark", "e\u0301t", []string{"e", "\u0301", "t"}},
		{"emoji", "hi 👋🏽! 🎉🎉", []string{"hi", " 👋🏽!", " 🎉🎉"}},
		{"spaces before a word", "a   b", []string{"a", "  ", " b"}},
		{"trailing spaces", "end   ", []string{"end", "   "}},
		{"only spaces", "   ", []string{"   "}},
		{"one space", " ", []string{" "}},
		{"newline", "x\ny", []string{"x", "\n", "y"}},
		{"two newlines before a word", "x\n\ny", []string{"x", "\n", "\n", "y"}},
		{"newlines at end", "x\n\n", []string{"x", "\n\n"}},
		{"mixed space run", "x  \n  y", []string{"x", "  \n ", " y"}},
		{"tabs before a word", "\t\tfoo", []string{"\t", "\t", "foo"}},
		{"space then tab", " \tfoo", []string{" ", "\t", "foo"}},
		{"crlf", "a\r\nb", []string{"a", "\r", "\n", "b"}},
		{"no-break space", "a\u00a0b", []string{"a", "\u00a0", "b"}},
		{"ideographic space", "a\u3000\u3000b", []string{"a", "\u3000", "\u3000", "b"}},
		{"control characters are other", "a\x00\x01b", []string{"a", "\x00\x01", "b"}},
		{"invalid utf-8 is other", "\xff\xfeab \xc3", []string{"\xff\xfe", "ab", " \xc3"}},
		{"special token text", "<|endoftext|>", []string{"<|", "endoftext", "|>"}},
		{"template", Template("Hi") + "{}", []string{"<|", "user", "|>", "\n", "Hi", "\n", "\n", "<|", "assistant", "|>", "\n", "{}"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := preTokenize(c.in)
			if !slices.Equal(got, c.want) {
				t.Errorf("preTokenize(%q) = %q, want %q", c.in, got, c.want)
			}
			if strings.Join(got, "") != c.in {
				t.Errorf("pre-tokens of %q do not join back to it", c.in)
			}
		})
	}
}
