package quality

import (
	"math"
	"testing"
)

func TestGrade(t *testing.T) {
	ref := `{"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"]}`
	tests := []struct {
		name, answer string
		want         Score
	}{
		{"exact", ref, Score{true, true, true, 1}},
		{"spacing and order", ` {"name":"Alice","id":417, "age":31.0,"city":"Lyon","tags":["admin","beta"]}`, Score{true, false, true, 1}},
		{"one wrong field", `{"id":417,"name":"Alice","age":32,"city":"Lyon","tags":["admin","beta"]}`, Score{true, false, false, 5.0 / 6}},
		{"missing list item", `{"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin"]}`, Score{true, false, false, 5.0 / 6}},
		{"extra field", `{"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"],"x":1}`, Score{true, false, false, 1}},
		{"truncated", `{"id":417,"name":"Ali`, Score{false, false, false, 0}},
		{"trailing text", ref + ` and more`, Score{false, false, false, 0}},
		{"type differs", `{"id":"417","name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"]}`, Score{true, false, false, 5.0 / 6}},
		{"empty", ``, Score{false, false, false, 0}},
	}
	for _, tt := range tests {
		got := Grade(tt.answer, ref)
		if got.ValidJSON != tt.want.ValidJSON || got.ExactMatch != tt.want.ExactMatch || got.JSONEqual != tt.want.JSONEqual || math.Abs(got.FieldAccuracy-tt.want.FieldAccuracy) > 1e-12 {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestNestedPaths(t *testing.T) {
	ref := `{"order":7,"items":[{"sku":"A","qty":2},{"sku":"B","qty":1}],"ship":{"city":"Zürich","zip":"8001"}}`
	ans := `{"order":7,"items":[{"sku":"A","qty":2},{"sku":"B","qty":3}],"ship":{"city":"Zürich","zip":"8001"}}`
	if got := Grade(ans, ref).FieldAccuracy; math.Abs(got-6.0/7) > 1e-12 {
		t.Errorf("field accuracy %v, want 6/7", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]Score{{true, true, true, 1}, {true, false, false, 0.5}, {}})
	if s.N != 3 || math.Abs(s.ValidJSON-2.0/3) > 1e-12 || math.Abs(s.FieldAccuracy-0.5) > 1e-12 || math.Abs(s.ExactMatch-1.0/3) > 1e-12 {
		t.Errorf("%+v", s)
	}
	if Summarize(nil).N != 0 {
		t.Error("empty summary")
	}
}

func TestNonJSONReference(t *testing.T) {
	if s := Grade("hello", "hello"); !s.ExactMatch || s.FieldAccuracy != 1 {
		t.Errorf("%+v", s)
	}
}

// TestOnlyObjectsAreValid: the task's answers are JSON objects, so an answer
// that is another JSON value (a student answering "8000") is not valid,
// alone or averaged.
func TestOnlyObjectsAreValid(t *testing.T) {
	ref := `{"id":417,"name":"Alice"}`
	for _, ans := range []string{`8000`, ` "Alice" `, `[417,"Alice"]`, `null`, `true`, `[{"id":417,"name":"Alice"}]`} {
		if s := Grade(ans, ref); s.ValidJSON || s.FieldAccuracy != 0 || s.JSONEqual {
			t.Errorf("%s: %+v, want not valid", ans, s)
		}
	}
	for _, ans := range []string{`{}`, `{"id":1}`, " {\"id\":417,\"name\":\"Alice\"}\n"} {
		if s := Grade(ans, ref); !s.ValidJSON {
			t.Errorf("%s: %+v, want valid", ans, s)
		}
	}
	if s := Summarize([]Score{Grade(`8000`, ref), Grade(ref, ref)}); s.ValidJSON != 0.5 {
		t.Errorf("json_validity %v, want 0.5", s.ValidJSON)
	}
}
