package runner

import (
	"flag"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{int64(-3), "-3"},
		{3.0, "3"},
		{0.1, "0.1"},
		{6e-4, "0.0006"},
		{1e-7, "1e-07"},
		{1e21, "1e+21"},
		{"a\"b<c>\n", `"a\"b<c>\n"`},
		{[]any{int64(1), "x", []any{}}, `[1,"x",[]]`},
		{map[string]any{"z": int64(1), "a": map[string]any{"y": false, "b": nil}}, `{"a":{"b":null,"y":false},"z":1}`},
	}
	for _, tt := range tests {
		got, err := canonicalJSON(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("canonicalJSON(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := canonicalJSON(math.NaN()); err == nil {
		t.Error("NaN was accepted in a key")
	}
}

// TestManifestGolden pins the manifest format and ActionIDs: changing
// either silently would recompute every user's store, so it must be a
// deliberate change of manifestHeader.
func TestManifestGolden(t *testing.T) {
	d1 := store.DigestOf([]byte("one"))
	d2 := store.DigestOf([]byte("two"))
	keys := []*Key{
		{Kind: "train", Version: "3", Params: map[string]any{"lr": 0.001, "steps": int64(10), "tags": []any{"a"}},
			Inputs: map[string]store.Digest{"traces": d2, "corpus": d1}},
		{Kind: execKind, Version: "1", Command: "tr a-z A-Z < ${{ inputs.src }} > ${{ outputs.out }}",
			Inputs: map[string]store.Digest{"src": d1},
			Env:    []EnvValue{{Name: "MODE", Value: "fast"}, {Name: "HOME", Value: "/root", FromHost: true}, {Name: "GONE", Unset: true}},
			Files:  []steps.File{{Rel: "z.txt", Digest: string(d2)}, {Rel: "a b.txt", Digest: string(d1)}}},
	}
	var b strings.Builder
	for _, k := range keys {
		m, err := k.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(m)
		b.WriteString("=> " + ActionID(m) + "\n\n")
	}
	got := b.String()
	const golden = "testdata/manifests.golden"
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("manifests changed:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "/root") {
		t.Error("a host environment value appears in a manifest")
	}
}

func TestKeyIgnoresOrderAndMetadata(t *testing.T) {
	a := &Key{Kind: "k", Version: "1", Params: map[string]any{"x": int64(1), "y": "s"}, Inputs: map[string]store.Digest{"p": "sha256:aa", "q": "sha256:bb"}}
	b := &Key{Kind: "k", Version: "1", Params: map[string]any{"y": "s", "x": 1.0}, Inputs: map[string]store.Digest{"q": "sha256:bb", "p": "sha256:aa"}}
	ma, _ := a.Manifest()
	mb, _ := b.Manifest()
	if ma != mb {
		t.Errorf("equal keys give different manifests:\n%s\n%s", ma, mb)
	}
	b.Params["x"] = 2.0
	mb, _ = b.Manifest()
	if ActionID(ma) == ActionID(mb) {
		t.Error("a param change did not change the ActionID")
	}
}

func TestDiffManifests(t *testing.T) {
	old := "bitflow action v1\nkind train 3\nparam lr 0.1\nparam steps 10\ninput traces sha256:aaaa\ncommand \"echo a\"\n"
	new := "bitflow action v1\nkind train 4\nparam lr 0.2\ninput traces sha256:bbbb\nparam warmup 5\ncommand \"echo b\"\n"
	var got []string
	for _, c := range DiffManifests(old, new) {
		got = append(got, c.String())
	}
	want := []string{
		"kind train 3 -> train 4",
		"param lr 0.1 -> 0.2",
		"input traces sha256:aaaa -> sha256:bbbb",
		"param warmup added (5)",
		"command echo a -> echo b",
		"param steps removed (was 10)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
