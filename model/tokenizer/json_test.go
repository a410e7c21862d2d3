package tokenizer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestWriteReadWrite checks that a written file reads back to a tokenizer
// that encodes alike and writes the same bytes.
func TestWriteReadWrite(t *testing.T) {
	for name, tok := range map[string]*Tokenizer{
		"trained":         trained(t),
		"gpt2_prefix":     readFixture(t, "gpt2_prefix.json"),
		"trainer_style":   readFixture(t, "trainer_style.json"),
		"base vocabulary": mustTrain(t, nil, 260),
	} {
		first := written(t, tok)
		back, err := Read(bytes.NewReader(first))
		if err != nil {
			t.Fatalf("%s: reading what Write wrote: %v", name, err)
		}
		if second := written(t, back); !bytes.Equal(first, second) {
			t.Errorf("%s: Write -> Read -> Write changed the file", name)
		}
		if !json.Valid(first) {
			t.Errorf("%s: Write wrote invalid JSON", name)
		}
		for _, s := range sampleTexts(20, 4) {
			if a, b := tok.Encode(s), back.Encode(s); !slices.Equal(a, b) {
				t.Errorf("%s: %q encodes to %v, read back %v", name, s, a, b)
			}
		}
		if back.VocabSize() != tok.VocabSize() || back.EOSID() != tok.EOSID() {
			t.Errorf("%s: vocab %d eos %d, read back %d %d", name, tok.VocabSize(), tok.EOSID(), back.VocabSize(), back.EOSID())
		}
	}
}

// TestWriteLayout checks the sections Hugging Face needs, as it lays them out.
func TestWriteLayout(t *testing.T) {
	var f map[string]any
	if err := json.Unmarshal(written(t, trained(t)), &f); err != nil {
		t.Fatal(err)
	}
	model := f["model"].(map[string]any)
	pre := f["pre_tokenizer"].(map[string]any)
	dec := f["decoder"].(map[string]any)
	switch {
	case f["version"] != "1.0" || f["normalizer"] != nil || f["post_processor"] != nil:
		t.Errorf("header %v %v %v", f["version"], f["normalizer"], f["post_processor"])
	case pre["type"] != "ByteLevel" || pre["add_prefix_space"] != false || pre["use_regex"] != true:
		t.Errorf("pre_tokenizer %v", pre)
	case dec["type"] != "ByteLevel":
		t.Errorf("decoder %v", dec)
	case model["type"] != "BPE" || model["dropout"] != nil || model["unk_token"] != nil:
		t.Errorf("model %v %v %v", model["type"], model["dropout"], model["unk_token"])
	}
	added := f["added_tokens"].([]any)
	for i, sp := range []string{EOS, Pad, User, Assistant} {
		a := added[i].(map[string]any)
		if a["content"] != sp || a["id"] != float64(256+i) || a["special"] != true || a["normalized"] != false {
			t.Errorf("added token %d: %v", i, a)
		}
		if model["vocab"].(map[string]any)[sp] != float64(256+i) {
			t.Errorf("%s is not in the vocab with its id", sp)
		}
	}
	vocab := model["vocab"].(map[string]any)
	if vocab["Ġ"] != float64(' ') || vocab["Ċ"] != float64('\n') || vocab["a"] != float64('a') {
		t.Errorf("byte tokens: Ġ %v Ċ %v a %v", vocab["Ġ"], vocab["Ċ"], vocab["a"])
	}
	if merges := model["merges"].([]any); len(merges) != trained(t).VocabSize()-260 {
		t.Errorf("%d merges for %d tokens", len(merges), trained(t).VocabSize())
	}
}

// TestReadMergeForms checks that the legacy and the pair form of merges
// read to the same tokenizer.
func TestReadMergeForms(t *testing.T) {
	legacy := written(t, trained(t))
	var f map[string]any
	if err := json.Unmarshal(legacy, &f); err != nil {
		t.Fatal(err)
	}
	model := f["model"].(map[string]any)
	var pairs [][]string
	for _, m := range model["merges"].([]any) {
		a, b, _ := strings.Cut(m.(string), " ")
		pairs = append(pairs, []string{a, b})
	}
	model["merges"] = pairs
	modern, _ := json.Marshal(f)
	tok, err := Read(bytes.NewReader(modern))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written(t, tok), legacy) {
		t.Error("the pair form of merges reads to another tokenizer")
	}
}

// TestReadErrors checks that what Encode cannot honour is refused with an
// error naming the field.
func TestReadErrors(t *testing.T) {
	base := string(written(t, mustTrain(t, []string{"ab ab"}, 261)))
	cases := []struct{ name, from, to, want string }{
		{"version", `"version": "1.0"`, `"version": "2.0"`, "version"},
		{"normalizer", `"normalizer": null`, `"normalizer": {"type": "NFC"}`, "normalizer"},
		{"pre-tokenizer", `"pre_tokenizer": {
    "type": "ByteLevel"`, `"pre_tokenizer": {
    "type": "Metaspace"`, "pre_tokenizer"},
		{"no pre-tokenizer", `"pre_tokenizer": {`, `"pre_tokenizer": null, "x": {`, "pre_tokenizer"},
		{"model type", `"type": "BPE"`, `"type": "WordPiece"`, "model"},
		{"dropout", `"dropout": null`, `"dropout": 0.1`, "dropout"},
		{"prefix", `"continuing_subword_prefix": null`, `"continuing_subword_prefix": "##"`, "continuing_subword_prefix"},
		{"byte fallback", `"byte_fallback": false`, `"byte_fallback": true`, "byte_fallback"},
		{"lstrip", `"lstrip": false`, `"lstrip": true`, "lstrip"},
		{"bad merge", `"a b"`, `"a c"`, "rule 1"},
		{"merge form", `"a b"`, `"a b c"`, "rule 1"},
		{"unk", `"unk_token": null`, `"unk_token": "<unk>"`, "unk_token"},
		{"not byte-level", `"Ā": 0`, `"\u2603": 0`, "vocab"},
		{"syntax", `"merges": [`, `"merges": [[`, "tokenizer.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.from) {
				t.Fatalf("the base file has no %q", c.from)
			}
			_, err := Read(strings.NewReader(strings.Replace(base, c.from, c.to, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func mustTrain(t testing.TB, texts []string, size int) *Tokenizer {
	t.Helper()
	tok, err := Train(texts, size)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
