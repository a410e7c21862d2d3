package steps

import (
	"reflect"
	"strings"
	"testing"
)

func TestParamCheck(t *testing.T) {
	mode := Param{Name: "mode", Type: String, Enum: []string{"fast", "exact"}}
	tests := []struct {
		name string
		p    Param
		in   any
		want any    // the normal form, when valid
		err  string // a substring of the error, when not
	}{
		{"string", Param{Type: String}, "x", "x", ""},
		{"string from int", Param{Type: String}, int64(3), nil, "expected a string, got the integer 3 (quote it"},
		{"string from bool", Param{Type: String}, true, nil, "expected a string, got true"},
		{"string from null", Param{Type: String}, nil, nil, "expected a string, got null"},
		{"enum member", mode, "exact", "exact", ""},
		{"enum violation", mode, "slow", nil, `"slow" is not one of fast, exact`},
		{"enum wrong type", mode, int64(1), nil, "expected a string, got the integer 1"},
		{"int", Param{Type: Int}, int64(7), int64(7), ""},
		{"int from go int", Param{Type: Int}, 7, int64(7), ""},
		{"int from whole float", Param{Type: Int}, 8.0, int64(8), ""},
		{"int from fraction", Param{Type: Int}, 0.5, nil, "expected an integer, got the number 0.5"},
		{"int from string", Param{Type: Int}, "12", nil, `expected an integer, got the string "12"`},
		{"int from huge float", Param{Type: Int}, 1e300, nil, "expected an integer"},
		{"float", Param{Type: Float}, 0.25, 0.25, ""},
		{"float from int", Param{Type: Float}, int64(2), 2.0, ""},
		{"float from string", Param{Type: Float}, "1e-3", nil, `expected a number, got the string "1e-3"`},
		{"float from list", Param{Type: Float}, []any{1.0}, nil, "expected a number, got a list"},
		{"bool", Param{Type: Bool}, false, false, ""},
		{"bool from string", Param{Type: Bool}, "yes", nil, `expected true or false, got the string "yes"`},
		{"bool from int", Param{Type: Bool}, int64(1), nil, "expected true or false, got the integer 1"},
		{"list", Param{Type: List}, []any{"a"}, []any{"a"}, ""},
		{"list from string", Param{Type: List}, "a,b", nil, `expected a list, got the string "a,b"`},
		{"map", Param{Type: Map}, map[string]any{"k": 1.0}, map[string]any{"k": 1.0}, ""},
		{"map from list", Param{Type: Map}, []any{}, nil, "expected a mapping, got a list"},
		{"any", Param{Type: Any}, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Check(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Check(%#v) = %#v, %v; want an error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Check(%#v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSchemaResolve(t *testing.T) {
	s := Schema{Params: []Param{
		{Name: "lr", Type: Float, Default: 0.1},
		{Name: "mode", Type: String, Enum: []string{"fast", "exact"}, Default: "fast"},
		{Name: "seed", Type: Int, Required: true},
		{Name: "tags", Type: List},
	}}
	tests := []struct {
		name  string
		given map[string]any
		want  Values
		errs  []string // "NAME: MSG" substrings, in order (sorted by name)
	}{
		{"defaults", map[string]any{"seed": int64(1)}, Values{"lr": 0.1, "mode": "fast", "seed": int64(1)}, nil},
		{"normalised", map[string]any{"seed": 2.0, "lr": int64(1)}, Values{"lr": 1.0, "mode": "fast", "seed": int64(2)}, nil},
		{"missing required", map[string]any{}, nil, []string{"seed: required parameter is missing"}},
		{"every problem at once", map[string]any{"seed": "one", "lr": "fast", "mode": "slow", "nope": 1},
			nil, []string{"lr: expected a number", `mode: "slow" is not one of fast, exact`, "nope: unknown parameter", "seed: expected an integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := s.Resolve(tt.given)
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors %v, want %d: %v", errs, len(tt.errs), tt.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.errs[i]) {
					t.Errorf("error %d = %q, want %q", i, e, tt.errs[i])
				}
			}
			if tt.errs == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("values %#v, want %#v", got, tt.want)
			}
		})
	}
}
