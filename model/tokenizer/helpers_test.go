package tokenizer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// readFixture reads a tokenizer.json from testdata.
func readFixture(t testing.TB, name string) *Tokenizer {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := Read(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tok
}

// written returns the bytes Write gives.
func written(t testing.TB, tok *Tokenizer) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tok.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sampleTexts is a small chat-style corpus like the pipeline's: templated
// prompts and JSON answers, with non-ASCII values, made from a fixed seed.
func sampleTexts(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	names := []string{"Alice", "Bob", "Chloé", "Dmitri", "Eve", "Zoë"}
	cities := []string{"Lyon", "Zürich", "São Paulo", "Kraków", "Oslo", "東京"}
	tags := []string{"admin", "beta", "ops", "vip"}
	out := make([]string, n)
	for i := range out {
		id, name, age, city := r.IntN(1000), names[r.IntN(len(names))], 18+r.IntN(60), cities[r.IntN(len(cities))]
		tag := tags[r.IntN(len(tags))]
		prompt := fmt.Sprintf("Record user %d: name %s, age %d, city %s, tags %s", id, name, age, city, tag)
		answer := fmt.Sprintf(`{"id":%d,"name":%q,"age":%d,"city":%q,"tags":[%q]}`, id, name, age, city, tag)
		out[i] = Template(prompt) + answer + EOS
	}
	return out
}

var (
	trainedOnce sync.Once
	trainedTok  *Tokenizer
)

// trained is a 400-token tokenizer trained on sampleTexts, shared by tests.
func trained(t testing.TB) *Tokenizer {
	t.Helper()
	trainedOnce.Do(func() {
		tok, err := Train(sampleTexts(300, 1), 400)
		if err != nil {
			panic(err)
		}
		trainedTok = tok
	})
	return trainedTok
}

// tokenStrings renders ids as their byte-level strings, for messages.
func tokenStrings(tok *Tokenizer, ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%d:%q", id, tok.TokenBytes(id))
	}
	return strings.Join(parts, " ")
}
