package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// FuzzRoundTrip checks on any bytes that both encoders round-trip, that
// the pre-tokens cover the text, that a second (cached) encoding is the
// same, and that Encode is EncodeOrdinary between the specials.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a   b", "Zürich 👋🏽", "\xff\xfe", Template("x") + "{}" + EOS, "'s'll  \n\n\t", strings.Repeat("ab", 40)} {
		f.Add(s)
	}
	tok := trained(f)
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Join(preTokenize(s), "") != s {
			t.Fatalf("pre-tokens of %q do not cover it", s)
		}
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		ord := tok.EncodeOrdinary(s)
		if got := tok.Decode(ord); got != s {
			t.Fatalf("Decode(EncodeOrdinary(%q)) = %q", s, got)
		}
		if again := tok.EncodeOrdinary(s); !slices.Equal(again, ord) {
			t.Fatalf("EncodeOrdinary(%q) changed on a second call: %v then %v", s, ord, again)
		}
		for _, id := range ord {
			if id >= specialBase && id < specialBase+int32(len(specials)) {
				t.Fatalf("EncodeOrdinary(%q) produced special %d", s, id)
			}
		}
		if !strings.Contains(s, "<|") {
			if !slices.Equal(ids, ord) {
				t.Fatalf("%q has no special, but Encode %v != EncodeOrdinary %v", s, ids, ord)
			}
		}
	})
}
