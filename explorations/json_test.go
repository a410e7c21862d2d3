package explorations

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONRendering(t *testing.T) {
	e := mustExpand(t, "j.yaml", "b: [8.0]\na: [1.0e-6]\nc: ['é <&>', .nan, -.inf, {k: [true, null]}]\n")
	got, err := e.PointsJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name": "j-8.0-1e-06-\u00e9 <&>", "params": {"b": 8.0, "a": 1e-06, "c": "\u00e9 <&>"}}, ` +
		`{"name": "j-8.0-1e-06-nan", "params": {"b": 8.0, "a": 1e-06, "c": NaN}}, ` +
		`{"name": "j-8.0-1e-06--inf", "params": {"b": 8.0, "a": 1e-06, "c": -Infinity}}, ` +
		`{"name": "j-8.0-1e-06-{'k': [True, None]}", "params": {"b": 8.0, "a": 1e-06, "c": {"k": [true, null]}}}]`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Through encoding/json the order and the float spelling survive.
	b, err := json.Marshal(e.Points[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"params":{"b":8.0,"a":1e-06,"c":"\u00e9 \u003c\u0026\u003e"}`) {
		t.Errorf("json.Marshal gave %s", b)
	}
}
