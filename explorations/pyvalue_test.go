package explorations

import (
	"math"
	"testing"
)

// The expected strings below are what Python 3.11 prints for the same values.

func TestPyFloatRepr(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables, so that the sum is rounded at run time
	tests := []struct {
		f    float64
		want string
	}{
		{8, "8.0"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e-6, "1e-06"},
		{5e-6, "5e-06"},
		{1e-4, "0.0001"},
		{1e-5, "1e-05"},
		{tenth + fifth, "0.30000000000000004"},
		{1.5e-7, "1.5e-07"},
		{1e16, "1e+16"},
		{2.5e15, "2500000000000000.0"},
		{2.5e16, "2.5e+16"},
		{1e22, "1e+22"},
		{123456789012345678, "1.2345678901234568e+17"},
		{5e-324, "5e-324"},
		{-1.5, "-1.5"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		if got := pyFloatRepr(tt.f); got != tt.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestPyStr(t *testing.T) {
	d := &dict{entries: []entry{{key: "k", val: nil}, {key: "j", val: []any{1.5, true}}}}
	tests := []struct {
		v    any
		want string
	}{
		{"plain text", "plain text"},
		{true, "True"},
		{nil, "None"},
		{int64(-3), "-3"},
		{[]any{int64(1), int64(2)}, "[1, 2]"},
		{[]any{"a", "b"}, "['a', 'b']"},
		{[]any{[]any{int64(1), 2.0}, []any{true}}, "[[1, 2.0], [True]]"},
		{d, "{'k': None, 'j': [1.5, True]}"},
		{[]any{"it's", `a"b`, "x\ny", `both'"`, "\x7f", "\u00a0", "\u200b", "é", `\`, "\U0001F600", "\U000e0001"},
			`["it's", 'a"b', 'x\ny', 'both\'"', '\x7f', '\xa0', '\u200b', 'é', '\\', '😀', '\U000e0001']`},
	}
	for _, tt := range tests {
		if got := pyStr(tt.v); got != tt.want {
			t.Errorf("pyStr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestPyEqual(t *testing.T) {
	d1 := &dict{entries: []entry{{key: "a", val: int64(1)}, {key: "b", val: "x"}}}
	d2 := &dict{entries: []entry{{key: "b", val: "x"}, {key: "a", val: 1.0}}}
	tests := []struct {
		a, b any
		want bool
	}{
		{int64(1), 1.0, true},
		{true, int64(1), true},
		{false, 0.0, true},
		{int64(1), "1", false},
		{nil, nil, true},
		{nil, false, false},
		{math.NaN(), math.NaN(), false},
		{int64(1<<53 + 1), float64(1 << 53), false},
		{[]any{int64(1), "a"}, []any{1.0, "a"}, true},
		{[]any{int64(1)}, []any{int64(1), int64(2)}, false},
		{d1, d2, true},
		{d1, []any{}, false},
	}
	for _, tt := range tests {
		if got := pyEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("pyEqual(%s, %s) = %v, want %v", pyRepr(tt.a), pyRepr(tt.b), got, tt.want)
		}
	}
}
