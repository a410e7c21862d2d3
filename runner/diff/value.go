package diff

import (
	"encoding/json"
	"math"
	"reflect"
)

// Change kinds, shared by every part of a diff.
const (
	Same    = "same"
	Changed = "changed"
	Added   = "added"   // present only in the other run
	Removed = "removed" // present only in the base run
)

// Value is one compared value: a param, a metric, a JSON field. Numbers
// carry their absolute and relative delta (Rel is absent when the base is
// zero, where a relative change means nothing).
type Value struct {
	Key    string   `json:"key"`
	Change string   `json:"change"`
	Base   any      `json:"base,omitempty"`
	Other  any      `json:"other,omitempty"`
	Abs    *float64 `json:"abs,omitempty"`
	Rel    *float64 `json:"rel,omitempty"`
}

// compareValue builds the Value for key from a base and an other value;
// a nil side means the value is absent there.
func compareValue(key string, base, other any, hasBase, hasOther bool) Value {
	v := Value{Key: key, Base: base, Other: other}
	switch {
	case !hasBase:
		v.Change = Added
	case !hasOther:
		v.Change = Removed
	case equalJSON(base, other):
		v.Change = Same
	default:
		v.Change = Changed
	}
	if a, ok := number(base); ok && hasBase {
		if b, ok := number(other); ok && hasOther {
			v.Abs, v.Rel = deltas(a, b)
		}
	}
	return v
}

// deltas returns b-a and (b-a)/|a|, the latter nil when a is zero or the
// result is not finite (JSON cannot carry it).
func deltas(a, b float64) (*float64, *float64) {
	d := b - a
	abs := finite(d)
	if a == 0 {
		return abs, nil
	}
	return abs, finite(d / math.Abs(a))
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// number converts the numeric types that decoded JSON, YAML params and
// metrics hold to float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// equalJSON compares two values as their JSON forms, so that an int64 param
// and the float64 it decodes to are equal.
func equalJSON(a, b any) bool {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			return fa == fb
		}
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}

// compareMaps compares two maps key by key, in key order, keeping only the
// keys that differ unless all is set.
func compareMaps[V any](base, other map[string]V, all bool) []Value {
	var out []Value
	for _, k := range unionKeys(base, other) {
		b, hb := base[k]
		o, ho := other[k]
		var bv, ov any
		if hb {
			bv = b
		}
		if ho {
			ov = o
		}
		v := compareValue(k, bv, ov, hb, ho)
		if all || v.Change != Same {
			out = append(out, v)
		}
	}
	return out
}
