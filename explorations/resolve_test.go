package explorations

import (
	"strings"
	"testing"
)

// TestScalarResolution checks plain scalars against what PyYAML's
// safe_load gives (rendered as json.dumps would).
func TestScalarResolution(t *testing.T) {
	tests := []struct{ src, want string }{
		{"1e-6", `"1e-6"`},
		{"1.0e-6", `1e-06`},
		{"1.0e6", `"1.0e6"`},
		{"1.0e+6", `1000000.0`},
		{"6e-4", `"6e-4"`},
		{"8.0", `8.0`},
		{"3.", `3.0`},
		{".5", `0.5`},
		{"-.5", `"-.5"`},
		{"1_000", `1000`},
		{"0.1_0", `0.1`},
		{"010", `8`},
		{"08", `"08"`},
		{"0o17", `"0o17"`},
		{"0x1F", `31`},
		{"-0b1", `-1`},
		{"1:30", `90`},
		{"-1:30", `-90`},
		{"1:30.5", `90.5`},
		{"yes", `true`},
		{"No", `false`},
		{"ON", `true`},
		{"off", `false`},
		{"y", `"y"`},
		{"tRue", `"tRue"`},
		{"~", `null`},
		{"Null", `null`},
		{".inf", `Infinity`},
		{"-.Inf", `-Infinity`},
		{"+.inf", `Infinity`},
		{"+.5", `"+.5"`},
		{".NaN", `NaN`},
		{"1.0e+400", `Infinity`},
		{"'yes'", `"yes"`},
		{`"1.0"`, `"1.0"`},
		{"!!float 1", `1.0`},
		{"!!str 1", `"1"`},
		{"[1, 1.0, '1']", `[1, 1.0, "1"]`},
	}
	for _, tt := range tests {
		e, err := Expand("t.yaml", []byte("v: ["+tt.src+"]\n"))
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		var b strings.Builder
		v, _ := e.Points[0].Params.Get("v")
		writeJSON(&b, v, false)
		if b.String() != tt.want {
			t.Errorf("%s resolves to %s, want %s", tt.src, b.String(), tt.want)
		}
	}
}

func TestScalarErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"v: 2024-01-02\n", "t.yaml:1:4: 2024-01-02 is a YAML 1.1 timestamp"},
		{"v: =\n", "t.yaml:1:4: a plain = is not a value"},
		{"v: 99999999999999999999\n", "t.yaml:1:4:"},
		{"s: {e: [a:b]}\n", "t.yaml:1:9: a:b in a flow list inside a flow mapping"},
		{"v: \x01\n", "t.yaml:1:4: control character"},
		{"v: \xff\n", "t.yaml:1:4: the file is not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Expand("t.yaml", []byte(tt.src))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want prefix %q", tt.src, err, tt.want)
		}
	}
}

// TestJSONFile checks that .json files resolve scalars as Python's json
// module does (1e-6 is a float there, unlike in YAML 1.1).
func TestJSONFile(t *testing.T) {
	src := `[{"common_group": {"seed": 1}, "lr": [1e-6, 0.5, 2], "flag": [true, null], "s": "yes"}]`
	e, err := Expand("sweep.JSON", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.PointsJSON()
	want := `[{"name": "sweep-1e-06-True-yes", "params": {"seed": 1, "lr": 1e-06, "flag": true, "s": "yes"}}, ` +
		`{"name": "sweep-1e-06-None-yes", "params": {"seed": 1, "lr": 1e-06, "flag": null, "s": "yes"}}, ` +
		`{"name": "sweep-0.5-True-yes", "params": {"seed": 1, "lr": 0.5, "flag": true, "s": "yes"}}, ` +
		`{"name": "sweep-0.5-None-yes", "params": {"seed": 1, "lr": 0.5, "flag": null, "s": "yes"}}, ` +
		`{"name": "sweep-2-True-yes", "params": {"seed": 1, "lr": 2, "flag": true, "s": "yes"}}, ` +
		`{"name": "sweep-2-None-yes", "params": {"seed": 1, "lr": 2, "flag": null, "s": "yes"}}]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{`{"a": 1}`, `[{"a": yes}]`, `[1]`} {
		if _, err := Expand("x.json", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
