package diff

import (
	"bytes"
	"math"
	"testing"
)

func TestDiffDetect(t *testing.T) {
	var st bytes.Buffer
	writeSafetensors(t, &st, map[string][]float32{"w": {1}}, nil, nil)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"report", []byte(`{"a": 1}` + "\n"), FormatJSON},
		{"list", []byte(`[1, 2]`), FormatJSON},
		{"score.json", []byte(`3`), FormatJSON},
		{"metrics", []byte("{\"step\":1}\n{\"step\":2}\n"), FormatJSONL},
		{"metrics", []byte("{\"step\":1}\n"), FormatJSONL},
		{"report", []byte("{\"step\":1}\n"), FormatJSON},
		{"out", []byte("hello\nworld\n"), FormatText},
		{"out", []byte("3\n"), FormatText},
		{"traces", append(append([]byte("PAR1"), make([]byte, 8)...), "PAR1"...), FormatParquet},
		{"checkpoint", st.Bytes(), FormatSafetensors},
		{"blob", []byte{0xff, 0xfe, 0, 1}, FormatBinary},
	} {
		if got := Detect(tc.name, tc.b); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.name, tc.b, got, tc.want)
		}
	}
}

func TestDiffCompareJSON(t *testing.T) {
	a := []byte(`{"qei": 2.0, "name": "x", "ok": true, "nested": {"acc": 0.5, "n": 0}, "list": [1, 2], "gone": 1}`)
	b := []byte(`{"qei": 2.5, "name": "y", "ok": true, "nested": {"acc": 0.25, "n": 3}, "list": [1, 2, 7], "new": "z"}`)
	got, err := CompareJSON(a, b)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]Value{}
	for _, v := range got {
		byKey[v.Key] = v
	}
	want := map[string]string{"qei": Changed, "name": Changed, "nested.acc": Changed, "nested.n": Changed,
		"list[2]": Added, "gone": Removed, "new": Added}
	if len(got) != len(want) {
		t.Errorf("got %d changes, want %d: %+v", len(got), len(want), got)
	}
	for k, ch := range want {
		if byKey[k].Change != ch {
			t.Errorf("%s: %q, want %q", k, byKey[k].Change, ch)
		}
	}
	checkDelta(t, "qei", byKey["qei"].Abs, byKey["qei"].Rel, 0.5, 0.25)
	checkDelta(t, "nested.acc", byKey["nested.acc"].Abs, byKey["nested.acc"].Rel, -0.25, -0.5)
	if byKey["nested.n"].Rel != nil {
		t.Error("a relative delta from zero")
	}
	if byKey["name"].Abs != nil || byKey["name"].Base != "x" || byKey["name"].Other != "y" {
		t.Errorf("string change: %+v", byKey["name"])
	}
}

func TestDiffCompareJSONL(t *testing.T) {
	a := []byte("{\"step\":1,\"loss\":4}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"loss\":3}\n")
	b := []byte("{\"step\":1,\"loss\":4}\n{\"step\":2,\"loss\":1,\"kl\":0.5}\n")
	got, err := CompareJSONL(a, b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Series{}
	for _, s := range got {
		m[s.Key] = s
	}
	loss := m["loss"]
	if loss.Change != Changed || *loss.Base != (SeriesStats{Count: 3, Last: 3, Min: 2}) || *loss.Other != (SeriesStats{Count: 2, Last: 1, Min: 1}) {
		t.Errorf("loss: %+v %+v %+v", loss, loss.Base, loss.Other)
	}
	checkDelta(t, "loss last", loss.Last.Abs, loss.Last.Rel, -2, -2.0/3)
	checkDelta(t, "loss min", loss.Min.Abs, loss.Min.Rel, -1, -0.5)
	if loss.Count != -1 {
		t.Errorf("loss count delta %d, want -1", loss.Count)
	}
	if m["kl"].Change != Added || m["kl"].Other.Count != 1 {
		t.Errorf("kl: %+v", m["kl"])
	}
	if m["step"].Change != Changed || m["step"].Count != -1 {
		t.Errorf("step: %+v", m["step"])
	}
	if _, err := CompareJSONL(a, []byte("{\"x\":1}\nnot json\n")); err == nil {
		t.Error("a broken line is accepted")
	}
}

func TestDiffCompareBytesNotesAFormatChange(t *testing.T) {
	c, err := CompareBytes("out", []byte(`{"a":1}`), []byte("plain\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Note == "" || c.JSON != nil {
		t.Errorf("%+v", c)
	}
	c, _ = CompareBytes("out", []byte("a\nb\nc\n"), []byte("a\nB\nc\nd\n"))
	if c.Text == nil || *c.Text != (TextDiff{BaseLines: 3, OtherLines: 4, FirstDiff: 2}) {
		t.Errorf("text: %+v", c.Text)
	}
}

func checkDelta(t *testing.T, what string, abs, rel *float64, wantAbs, wantRel float64) {
	t.Helper()
	if abs == nil || math.Abs(*abs-wantAbs) > 1e-9 {
		t.Errorf("%s: abs %v, want %g", what, ptr(abs), wantAbs)
	}
	if rel == nil || math.Abs(*rel-wantRel) > 1e-9 {
		t.Errorf("%s: rel %v, want %g", what, ptr(rel), wantRel)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestDiffCompareJSONLWithoutNumbers falls back to lines for a JSONL file
// with no numeric key (generated samples).
func TestDiffCompareJSONLWithoutNumbers(t *testing.T) {
	c, err := CompareBytes("samples", []byte("{\"text\":\"a\"}\n{\"text\":\"b\"}\n"), []byte("{\"text\":\"a\"}\n{\"text\":\"c\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != FormatJSONL || c.JSONL != nil || c.Text == nil || c.Text.FirstDiff != 2 {
		t.Errorf("%+v %+v", c, c.Text)
	}
}
