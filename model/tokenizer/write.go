package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Write writes the tokenizer as a Hugging Face tokenizer.json: a BPE
// model with the ByteLevel pre-tokenizer and decoder, no normalizer and no
// post-processor, laid out as tokenizers' own pretty form (two-space
// indent, vocab in id order, merges in rank order, in the legacy "a b"
// form that every tokenizers version reads). The bytes depend only on the
// tokenizer: the same tokenizer always gives the same file.
func (t *Tokenizer) Write(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    {\n      \"id\": %d,\n      \"content\": %s,\n", a.id, quote(a.content))
		fmt.Fprintf(&b, "      \"single_word\": false,\n      \"lstrip\": false,\n      \"rstrip\": false,\n")
		fmt.Fprintf(&b, "      \"normalized\": %t,\n      \"special\": %t\n    }", a.normalized, a.special)
	}
	if len(t.added) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n  \"normalizer\": null,\n")
	fmt.Fprintf(&b, "  \"pre_tokenizer\": {\n    \"type\": \"ByteLevel\",\n    \"add_prefix_space\": %t,\n    \"trim_offsets\": true,\n    \"use_regex\": %t\n  },\n",
		t.opts.addPrefixSpace, t.opts.useRegex)
	b.WriteString("  \"post_processor\": null,\n")
	b.WriteString("  \"decoder\": {\n    \"type\": \"ByteLevel\",\n    \"add_prefix_space\": true,\n    \"trim_offsets\": true,\n    \"use_regex\": true\n  },\n")
	unk := "null"
	if t.opts.unkToken != "" {
		unk = quote(t.opts.unkToken)
	}
	fmt.Fprintf(&b, "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": %s,\n", unk)
	b.WriteString("    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n")
	fmt.Fprintf(&b, "    \"fuse_unk\": %t,\n    \"byte_fallback\": false,\n    \"ignore_merges\": %t,\n    \"vocab\": {", t.opts.fuseUnk, t.opts.ignoreMerges)
	first := true
	for id, in := range t.inVocab {
		if !in {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "\n      %s: %d", quote(t.strs[id]), id)
	}
	if !first {
		b.WriteString("\n    ")
	}
	b.WriteString("},\n    \"merges\": [")
	// The legacy form cannot hold a token with a space; byte-level tokens
	// have none, but an added token's content may, so fall back to pairs.
	legacy := true
	for _, m := range t.mergeList {
		if strings.Contains(t.strs[m[0]], " ") || strings.Contains(t.strs[m[1]], " ") {
			legacy = false
		}
	}
	for i, m := range t.mergeList {
		if i > 0 {
			b.WriteByte(',')
		}
		if legacy {
			fmt.Fprintf(&b, "\n      %s", quote(t.strs[m[0]]+" "+t.strs[m[1]]))
		} else {
			fmt.Fprintf(&b, "\n      [\n        %s,\n        %s\n      ]", quote(t.strs[m[0]]), quote(t.strs[m[1]]))
		}
	}
	if len(t.mergeList) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// quote writes s as a JSON string without HTML escaping, so that
// "<|endoftext|>" stays readable (as Hugging Face writes it).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
