package corpus

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps/records"
)

const generated = `
steps:
  corpus:
    uses: corpus
    with: {seed: 3, examples: 200, val_fraction: 0.1, test_fraction: 0.05}
`

// TestKindUnderTheRunner runs json-records as a workflow step: the splits
// have the requested sizes and no shared prompt, the bytes are the same in
// another store and at another GOMAXPROCS, and a second run is a cache hit.
func TestKindUnderTheRunner(t *testing.T) {
	st := openStore(t)
	out, _, err := run(t, st, generated, nil)
	if err != nil {
		t.Fatal(err)
	}
	train, val, test := decode(t, out["corpus.train"]), decode(t, out["corpus.val"]), decode(t, out["corpus.test"])
	if len(train) != 170 || len(val) != 20 || len(test) != 10 {
		t.Errorf("splits %d/%d/%d, want 170/20/10", len(train), len(val), len(test))
	}
	prompts := map[string]bool{}
	for _, r := range append(append(train, val...), test...) {
		if prompts[r.Prompt] {
			t.Errorf("prompt %q is in two splits", r.Prompt)
		}
		prompts[r.Prompt] = true
	}
	if !bytes.HasSuffix(out["corpus.train"], []byte("}\n")) || bytes.Contains(out["corpus.train"], []byte(`\u00`)) {
		t.Errorf("train is not plain JSONL: %.200s", out["corpus.train"])
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	again, _, err := run(t, openStore(t), generated, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range out {
		if !bytes.Equal(again[name], b) {
			t.Errorf("%s differs in another store at GOMAXPROCS 1", name)
		}
	}
	_, rec, err := run(t, st, generated, nil)
	if err != nil || rec.Steps[0].Status == store.StepRan {
		t.Errorf("second run: %v, status %s", err, rec.Steps[0].Status)
	}
}

// TestFilesUnderTheRunner reads text and JSONL files through the runner:
// paragraphs and JSONL records become records, the seed shuffles them, and
// a changed file changes the result.
func TestFilesUnderTheRunner(t *testing.T) {
	flow := `
steps:
  corpus:
    uses: corpus
    with: {task: files, seed: 4, val_fraction: 0.2, test_fraction: 0.2}
    files: [data]
`
	files := map[string]string{
		"data/a.txt":   "First paragraph,\nits second line.\n\n\nSecond paragraph.   \r\n\nThird: Zürich.\n",
		"data/b.jsonl": `{"prompt": "p1", "answer": "a1"}` + "\n\n" + `{"prompt": "p2", "answer": "{\"x\":1}", "extra": true}` + "\n",
	}
	out, _, err := run(t, openStore(t), flow, files)
	if err != nil {
		t.Fatal(err)
	}
	var all []records.Record
	for _, s := range []string{"train", "val", "test"} {
		recs := decode(t, out["corpus."+s])
		if len(recs) == 0 {
			t.Errorf("split %s is empty", s)
		}
		all = append(all, recs...)
	}
	want := map[records.Record]bool{
		{Prompt: "", Answer: "First paragraph,\nits second line."}: true,
		{Prompt: "", Answer: "Second paragraph."}:                  true,
		{Prompt: "", Answer: "Third: Zürich."}:                     true,
		{Prompt: "p1", Answer: "a1"}:                               true,
		{Prompt: "p2", Answer: `{"x":1}`}:                          true,
	}
	if len(all) != len(want) {
		t.Errorf("records %q", all)
	}
	for _, r := range all {
		if !want[r] {
			t.Errorf("unexpected record %q", r)
		}
	}
	files["data/a.txt"] += "\nFourth.\n"
	changed, _, err := run(t, openStore(t), flow, files)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(changed["corpus.train"], out["corpus.train"]) && bytes.Equal(changed["corpus.val"], out["corpus.val"]) {
		t.Error("a new paragraph changed nothing")
	}
}

// TestFilesErrors checks that bad files fail the step with an error
// naming the file and line.
func TestFilesErrors(t *testing.T) {
	cases := []struct{ name, file, content, want string }{
		{"bad json", "x.jsonl", "{\"prompt\": \"a\", \"answer\": \"b\"}\n{oops\n", "x.jsonl:2"},
		{"missing answer", "x.jsonl", "{\"prompt\": \"a\"}\n", "x.jsonl:1"},
		{"not utf-8", "x.txt", "fine\nbad \xff\n", "x.txt:2"},
		{"empty", "x.txt", "\n\n  \n", "no records"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flow := "steps:\n  c:\n    uses: corpus\n    with: {task: files, val_fraction: 0, test_fraction: 0}\n    files: [" + c.file + "]\n"
			_, rec, err := run(t, openStore(t), flow, map[string]string{c.file: c.content})
			if err == nil {
				t.Fatal("the step succeeded")
			}
			if msg := rec.Steps[0].Error; !strings.Contains(msg, c.want) {
				t.Errorf("error %q, want one naming %q", msg, c.want)
			}
		})
	}
}

// TestParamErrors checks the errors of bad parameter combinations.
func TestParamErrors(t *testing.T) {
	cases := []struct{ with, want string }{
		{"{val_fraction: 0.5, test_fraction: 0.5}", "together below 1"},
		{"{examples: 2, val_fraction: 0.3, test_fraction: 0.3}", "none for train"},
		{"{schemas: [user, nope]}", "schemas"},
		{"{task: files}", "no files"},
	}
	for _, c := range cases {
		flow := "steps:\n  c:\n    uses: corpus\n    with: " + c.with + "\n"
		_, rec, err := run(t, openStore(t), flow, nil)
		if err == nil || !strings.Contains(rec.Steps[0].Error, c.want) {
			t.Errorf("with %s: %v %q, want an error naming %q", c.with, err, rec.Steps[0].Error, c.want)
		}
	}
}

func TestSplit(t *testing.T) {
	recs := make([]records.Record, 10)
	for i := range recs {
		recs[i].Prompt = string(rune('a' + i))
	}
	train, val, test, err := split(recs, 0.25, 0.01)
	if err != nil || len(test) != 1 || len(val) != 3 || len(train) != 6 || test[0].Prompt != "a" || val[0].Prompt != "b" {
		t.Errorf("split: %d/%d/%d %v", len(train), len(val), len(test), err)
	}
	if _, _, _, err := split(recs[:1], 0, 0); err != nil {
		t.Errorf("one record, no val or test: %v", err)
	}
}

func TestTextUnits(t *testing.T) {
	text := []byte("a b\nc\n\n\nd\r\n  \ne\n")
	for unit, want := range map[string][]string{
		unitParagraph: {"a b\nc", "d", "e"},
		unitLine:      {"a b", "c", "d", "e"},
		unitFile:      {"a b\nc\n\n\nd\n\ne"},
	} {
		recs, err := textRecords(text, "t.txt", unit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.Answer)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: %q, want %q", unit, got, want)
		}
	}
}
