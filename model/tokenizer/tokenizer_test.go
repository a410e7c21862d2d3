package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestGPT2Prefix reads testdata/gpt2_prefix.json, GPT-2's tokenizer.json cut
// to its first 23 merges (GPT-2's byte order and ids, its settings, merges
// in the legacy "a b" form), and checks encodings whose ids are GPT-2's.
// "the cat is in the bed" gives the tokens other GPT-2 BPE implementations
// give for the same merge prefix; 220 is ' ', 198 '\n', 262 " the".
func TestGPT2Prefix(t *testing.T) {
	tok := readFixture(t, "gpt2_prefix.json")
	cases := []struct {
		in   string
		want []int32
	}{
		{"the cat is in the bed", []int32{83, 258, 269, 265, 220, 271, 220, 259, 262, 275, 276}},
		{"Hello world<|endoftext|>", []int32{39, 68, 75, 75, 78, 266, 273, 75, 67, 279}},
		{" the", []int32{262}},
		{" and", []int32{257, 77, 67}},
		{"\n\nfoo  bar   ", []int32{198, 198, 69, 78, 78, 220, 275, 64, 81, 220, 220, 220}},
		{"Zürich 👋 it's", []int32{57, 127, 120, 81, 72, 66, 71, 220, 172, 253, 239, 233, 220, 270, 6, 82}},
	}
	for _, c := range cases {
		if got := tok.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v (%s)", c.in, got, c.want, tokenStrings(tok, got))
		}
		if got := tok.Decode(c.want); got != c.in {
			t.Errorf("Decode(%v) = %q, want %q", c.want, got, c.in)
		}
	}
	if tok.VocabSize() != 280 || tok.EOSID() != 279 || tok.PadID() != -1 {
		t.Errorf("vocab %d, eos %d, pad %d", tok.VocabSize(), tok.EOSID(), tok.PadID())
	}
}

// TestTrainerStyle reads testdata/trainer_style.json, shaped as tokenizers'
// BpeTrainer writes files (specials first, a partial alphabet, an unk
// token, add_prefix_space, merges as pairs, no decoder).
func TestTrainerStyle(t *testing.T) {
	tok := readFixture(t, "trainer_style.json")
	cases := []struct {
		in   string
		want []int32
	}{
		{"abc ab x", []int32{13, 10, 8, 0}},                  // prefix space; x is not in the alphabet: [UNK]
		{"de!<|endoftext|>abcde", []int32{14, 2, 1, 13, 12}}, // the prefix space goes before each piece
		{"abcabc", []int32{13, 11}},
	}
	for _, c := range cases {
		if got := tok.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v (%s)", c.in, got, c.want, tokenStrings(tok, got))
		}
	}
	if id, ok := tok.SpecialID("[UNK]"); !ok || id != 0 {
		t.Errorf("SpecialID([UNK]) = %d %v", id, ok)
	}
}

// TestRoundTrip checks Decode(Encode(s)) == s on a trained tokenizer and
// on the fixtures with a full byte alphabet.
func TestRoundTrip(t *testing.T) {
	texts := []string{
		"", " ", "a", "Hello, world!", "  leading and trailing  ",
		"Zürich, São Paulo, Kraków, 東京, Ελλάδα, Москва",
		"emoji 👋🏽 family 👨‍👩‍👧 flags 🇫🇷",
		"control \x00\x01\x1f\x7f tab\tnewline\ncr\r\n",
		"invalid \xff\xfe utf-8 \xc3",
		`{"id":417,"name":"Alice","tags":["admin","beta"]}`,
		Template("Record user 1: name Zoë") + `{"id":1}` + EOS,
		EOS + Pad + User + Assistant,
		"<|endoftext|<|pad|>>" + "<|", "|>",
		strings.Repeat(" ", 300) + strings.Repeat("=", 200) + strings.Repeat("ab", 150),
	}
	toks := map[string]*Tokenizer{"trained": trained(t), "gpt2_prefix": readFixture(t, "gpt2_prefix.json")}
	for name, tok := range toks {
		for _, s := range texts {
			if got := tok.Decode(tok.Encode(s)); got != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, got)
			}
			if got := tok.Decode(tok.EncodeOrdinary(s)); got != s {
				t.Errorf("%s: Decode(EncodeOrdinary(%q)) = %q", name, s, got)
			}
		}
	}
}

// TestSpecials checks that Encode turns special-token text into the
// specials' ids and EncodeOrdinary does not.
func TestSpecials(t *testing.T) {
	tok := trained(t)
	want := map[string]int32{EOS: 256, Pad: 257, User: 258, Assistant: 259}
	for s, id := range want {
		if got, ok := tok.SpecialID(s); !ok || got != id {
			t.Errorf("SpecialID(%q) = %d %v, want %d", s, got, ok, id)
		}
		if got := tok.Encode(s); !slices.Equal(got, []int32{id}) {
			t.Errorf("Encode(%q) = %v", s, got)
		}
		ord := tok.EncodeOrdinary(s)
		if slices.Contains(ord, id) || len(ord) < 2 {
			t.Errorf("EncodeOrdinary(%q) = %v: a special was recognized", s, ord)
		}
		if string(tok.TokenBytes(id)) != s {
			t.Errorf("TokenBytes(%d) = %q", id, tok.TokenBytes(id))
		}
	}
	if _, ok := tok.SpecialID("<|nope|>"); ok {
		t.Error("SpecialID found a token that is not special")
	}
	if tok.EOSID() != 256 || tok.PadID() != 257 {
		t.Errorf("EOSID %d PadID %d", tok.EOSID(), tok.PadID())
	}
	// A templated prompt: the specials around the text, the text encoded
	// as EncodeOrdinary encodes it alone.
	got := tok.Encode(Template("hi"))
	wantIDs := append(append([]int32{258}, tok.EncodeOrdinary("\nhi\n\n")...), 259)
	wantIDs = append(wantIDs, tok.EncodeOrdinary("\n")...)
	if !slices.Equal(got, wantIDs) {
		t.Errorf("Encode(Template) = %v, want %v", got, wantIDs)
	}
}

func TestTemplate(t *testing.T) {
	if got := Template("Q"); got != "<|user|>\nQ\n\n<|assistant|>\n" {
		t.Errorf("Template = %q", got)
	}
}

// TestTokenBytes checks the byte tokens and out-of-range ids.
func TestTokenBytes(t *testing.T) {
	tok := trained(t)
	for b := range 256 {
		if got := tok.TokenBytes(int32(b)); len(got) != 1 || got[0] != byte(b) {
			t.Fatalf("TokenBytes(%d) = %v", b, got)
		}
	}
	if tok.TokenBytes(-1) != nil || tok.TokenBytes(int32(tok.VocabSize())) != nil {
		t.Error("TokenBytes of an unknown id is not nil")
	}
	if got := tok.Decode([]int32{104, -5, 105, 1 << 30}); got != "hi" {
		t.Errorf("Decode with unknown ids = %q", got)
	}
}

// TestMergeLongAgreesWithShort checks that the heap merge used for long
// pre-tokens gives the rescanning merge's result.
func TestMergeLongAgreesWithShort(t *testing.T) {
	tok := trained(t)
	words := []string{"aaaaaaa", "=========", `{"id":417,"name":"Alice"}`, "Zürich", "      ", "abababababab"}
	for _, text := range sampleTexts(40, 9) {
		words = append(words, preTokenize(text)...)
	}
	for _, w := range words {
		for _, rep := range []int{1, 3, 7} {
			word := strings.Repeat(w, rep)
			syms := make([]int32, len(word))
			for i := range len(word) {
				syms[i] = tok.byteID[word[i]]
			}
			short := slices.Clone(syms)
			short = short[:tok.mergeShort(short)]
			long := slices.Clone(syms)
			long = long[:tok.mergeLong(long)]
			if !slices.Equal(short, long) {
				t.Errorf("%q: short %v, long %v", word, short, long)
			}
		}
	}
}

// TestConcurrentEncode encodes from many goroutines at once (run with
// -race) and checks every result against a sequential encoding.
func TestConcurrentEncode(t *testing.T) {
	texts := sampleTexts(200, 3)
	tok, err := Train(sampleTexts(100, 2), 350)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := Read(strings.NewReader(string(written(t, tok)))) // an empty cache
	var wg sync.WaitGroup
	results := make([][][]int32, 8)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range texts {
				results[g] = append(results[g], fresh.Encode(s))
			}
		}()
	}
	wg.Wait()
	for i, s := range texts {
		want := tok.Encode(s)
		for g := range results {
			if !slices.Equal(results[g][i], want) {
				t.Fatalf("goroutine %d, text %d: %v, want %v", g, i, results[g][i], want)
			}
		}
	}
}

// TestPromptTemplateIsTemplate guards the two spellings of the template:
// traces hash PromptTemplate, prompts are laid out by Template.
func TestPromptTemplateIsTemplate(t *testing.T) {
	for _, p := range []string{"", "hi", "Record user 4: {x}"} {
		if got, want := Template(p), strings.Replace(PromptTemplate, "{prompt}", p, 1); got != want {
			t.Errorf("Template(%q) = %q, PromptTemplate gives %q", p, got, want)
		}
	}
}
