package traces

import (
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitflow-dev/bitflow/steps/teacher"
)

func TestHashes(t *testing.T) {
	// SHA-256 of the template text, placeholder included.
	if got := TemplateHash(); got != hashHex([]byte("<|user|>\n{prompt}\n\n<|assistant|>\n")) || len(got) != 64 {
		t.Errorf("template hash %s", got)
	}
	if got := tokenizer.Template("hi"); got != "<|user|>\nhi\n\n<|assistant|>\n" {
		t.Errorf("template %q", got)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	os.WriteFile(path, []byte("abc"), 0o644)
	h, err := TokenizerHash(path)
	if err != nil || h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("tokenizer hash %s %v", h, err)
	}
	rows := []Row{{TokenizerHash: h}, {TokenizerHash: h}}
	if err := CheckTokenizer(rows, h); err != nil {
		t.Error(err)
	}
	rows[1].TokenizerHash = "0"
	if err := CheckTokenizer(rows, h); err == nil {
		t.Error("a foreign tokenizer hash passed")
	}
}

func TestRowsFor(t *testing.T) {
	c := &teacher.Completion{FinishReason: "stop", Tokens: []teacher.Token{
		{Text: "{\"", Logprob: -0.25, Top: alts("{", -0.5, "{\"", -2.0, "", -3.0)},
		{Text: "", Logprob: -2, Top: alts("x", -0.1)},
	}}
	rows, st, err := rowsFor(3, "p", c, byteTok{}, 20, "tpl", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	r0 := rows[0]
	if r0.PromptIdx != 3 || r0.StepIdx != 0 || r0.TeacherSampleID != int64(b('{')) || len(r0.StudentIDs) != 2 || !r0.IsStructToken ||
		r0.TeacherSampleLogprob != -0.25 || len(r0.TopKIDs) != 1 || r0.TemplateHash != "tpl" || r0.TokenizerHash != "tok" || r0.PromptText != "p" {
		t.Errorf("row 0 %+v", r0)
	}
	if r1 := rows[1]; r1.TeacherSampleID != -1 || len(r1.StudentIDs) != 0 || r1.IsStructToken {
		t.Errorf("row 1 %+v", r1)
	}
	end := rows[2]
	if end.StepIdx != 2 || end.TeacherSampleText != tokenizer.EOS || end.TeacherSampleID != 0 || len(end.StudentIDs) != 1 ||
		end.TopKIDs[0] != 0 || end.TopKLogprobs[0] != 0 || !math.IsInf(end.OtherLogprob, -1) {
		t.Errorf("end row %+v", end)
	}
	want := promptStats{Rows: 3, TeacherTokens: 2, EndRows: 1, StudentTokens: 3, Dropped: 1, EmptySamples: 1, FinishReason: "stop"}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	c.FinishReason = "length"
	if rows, _, _ := rowsFor(0, "p", c, byteTok{}, 20, "", ""); len(rows) != 2 {
		t.Errorf("a truncated completion has an end row")
	}
	c.Tokens[1].Logprob = math.NaN()
	if _, _, err := rowsFor(0, "p", c, byteTok{}, 20, "", ""); err == nil {
		t.Error("NaN logprob accepted")
	}
}
