package records

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	recs := []Record{{"Record user 1: name Zoë", `{"id":1,"name":"Zoë"}`}, {"<b>", "a & b"}}
	var buf bytes.Buffer
	if err := Encode(&buf, recs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"<b>"`) {
		t.Errorf("HTML escaped: %s", buf.String())
	}
	got, err := Decode(&buf, "x.jsonl")
	if err != nil || len(got) != 2 || got[0] != recs[0] || got[1] != recs[1] {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	for _, in := range []string{"{\"prompt\":\"a\",\"answer\":\"b\"}\n\n{oops}\n", "{\"prompt\":\"a\"}\n{}\n{}\n"} {
		_, err := Decode(strings.NewReader(in), "data.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), "data.jsonl:") {
			t.Errorf("%q: %v", in, err)
		}
	}
}
