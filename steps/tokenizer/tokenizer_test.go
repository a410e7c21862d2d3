package tokenizer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/corpus"
	"github.com/bitflow-dev/bitflow/steps/exec"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/workflows"
)

// run executes flow, written to a fresh directory with files beside it, on
// st and returns each output's bytes by "step.output" and the run record.
func run(t *testing.T, st *store.Store, flow string, files map[string][]byte) (map[string][]byte, *store.RunRecord, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := steps.NewRegistry(exec.Kind{}, corpus.Kind{}, Kind{})
	w, err := workflows.Load(filepath.Join(dir, "flow.yaml"), []byte(flow), runner.LoaderKinds(reg))
	if err != nil {
		t.Fatal(err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := (&runner.Runner{Store: st, Jobs: 2}).Execute(context.Background(), p)
	if err != nil {
		return nil, rec, err
	}
	out := map[string][]byte{}
	for _, s := range rec.Steps {
		for name, o := range s.Outputs {
			b, err := os.ReadFile(st.ObjectPath(o.Digest))
			if err != nil {
				t.Fatal(err)
			}
			out[s.Name+"."+name] = b
		}
	}
	return out, rec, nil
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func read(t *testing.T, b []byte) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const trainFlow = `
steps:
  corpus:
    uses: corpus
    with: {seed: 2, examples: 400}
  teacher_tokenizer:
    uses: tokenizer
    with: {vocab_size: 600}
    inputs: {corpus: corpus.train}
  student_tokenizer:
    uses: tokenizer
    with: {vocab_size: 300}
    inputs: {corpus: corpus.train}
`

// TestTrainUnderTheRunner trains two tokenizers on a generated corpus:
// their files read back with the requested sizes and the specials at
// 256-259, encode the corpus losslessly, are the same bytes in another
// store at another GOMAXPROCS, and are cache hits on a second run.
func TestTrainUnderTheRunner(t *testing.T) {
	st := openStore(t)
	out, _, err := run(t, st, trainFlow, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := records.Decode(bytes.NewReader(out["corpus.train"]), "train")
	if err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"teacher_tokenizer": 600, "student_tokenizer": 300} {
		tok := read(t, out[name+".tokenizer"])
		if tok.VocabSize() != size {
			t.Errorf("%s: %d tokens, want %d", name, tok.VocabSize(), size)
		}
		for i, sp := range []string{tokenizer.EOS, tokenizer.Pad, tokenizer.User, tokenizer.Assistant} {
			if id, ok := tok.SpecialID(sp); !ok || id != int32(256+i) {
				t.Errorf("%s: %s has id %d %v", name, sp, id, ok)
			}
		}
		for _, r := range recs[:50] {
			text := TrainingText(r)
			ids := tok.Encode(text)
			if tok.Decode(ids) != text || ids[0] != 258 || ids[len(ids)-1] != tok.EOSID() {
				t.Fatalf("%s: %q encodes to %v", name, text, ids)
			}
		}
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	again, _, err := run(t, openStore(t), trainFlow, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range out {
		if !bytes.Equal(again[name], b) {
			t.Errorf("%s differs in another store at GOMAXPROCS 1", name)
		}
	}
	_, rec, err := run(t, st, trainFlow, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rec.Steps {
		if s.Status == store.StepRan {
			t.Errorf("second run: %s ran again", s.Name)
		}
	}
}

// TestFromFile passes an existing tokenizer.json through, byte for byte,
// without a corpus.
func TestFromFile(t *testing.T) {
	fixture, err := os.ReadFile("../../model/tokenizer/testdata/gpt2_prefix.json")
	if err != nil {
		t.Fatal(err)
	}
	flow := `
steps:
  tok:
    uses: tokenizer
    with: {from_file: ./gpt2.json}
    files: [gpt2.json]
`
	out, _, err := run(t, openStore(t), flow, map[string][]byte{"gpt2.json": fixture})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out["tok.tokenizer"], fixture) {
		t.Error("from_file did not pass the file through unchanged")
	}
}

// TestErrors checks the step's errors for a missing corpus, a from_file
// not under files:, a file that is not a usable tokenizer, and a vocab
// size below the base vocabulary.
func TestErrors(t *testing.T) {
	noEOS := strings.Replace(string(mustRead(t, "../../model/tokenizer/testdata/gpt2_prefix.json")), "<|endoftext|>", "<|end|>", -1)
	cases := []struct {
		name, flow string
		files      map[string][]byte
		want       string
	}{
		{"no corpus", "steps:\n  t:\n    uses: tokenizer\n", nil, "input corpus: missing"},
		{"not in files", "steps:\n  t:\n    uses: tokenizer\n    with: {from_file: a.json}\n    files: [b.json]\n",
			map[string][]byte{"a.json": nil, "b.json": nil}, "not among the step's files"},
		{"not a tokenizer", "steps:\n  t:\n    uses: tokenizer\n    with: {from_file: a.json}\n    files: [a.json]\n",
			map[string][]byte{"a.json": []byte(`{"version": "1.0"}`)}, "from_file a.json: tokenizer.json"},
		{"no eos", "steps:\n  t:\n    uses: tokenizer\n    with: {from_file: a.json}\n    files: [a.json]\n",
			map[string][]byte{"a.json": []byte(noEOS)}, "no <|endoftext|>"},
		{"vocab size", "steps:\n  c:\n    uses: corpus\n    with: {examples: 20}\n  t:\n    uses: tokenizer\n    with: {vocab_size: 100}\n    inputs: {corpus: c.train}\n",
			nil, "vocab_size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, rec, err := run(t, openStore(t), c.flow, c.files)
			if err == nil {
				t.Fatal("the step succeeded")
			}
			last := rec.Steps[len(rec.Steps)-1]
			if !strings.Contains(last.Error, c.want) {
				t.Errorf("error %q, want one naming %q", last.Error, c.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainingText(t *testing.T) {
	got := TrainingText(records.Record{Prompt: "P", Answer: `{"a":1}`})
	if got != "<|user|>\nP\n\n<|assistant|>\n{\"a\":1}<|endoftext|>" {
		t.Errorf("TrainingText = %q", got)
	}
}
