// Package quality scores generated answers against reference answers on the
// JSON-records task: is the answer a JSON object, is it exactly the reference,
// and how many of the reference's fields does it get right. The teacher
// baseline and the student evaluation use the same scores, so their
// figures compare.
package quality

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Score is one answer's quality.
type Score struct {
	// ValidJSON: the answer, trimmed, is one JSON object. The task's answers
	// are objects, so a bare number, string, array or null (an answer of
	// "8000") is not a valid answer, though it is a JSON value.
	ValidJSON bool `json:"valid_json"`
	// ExactMatch: the answer, trimmed, is the reference, trimmed, byte for byte.
	ExactMatch bool `json:"exact_match"`
	// JSONEqual: both parse and are equal as JSON values (key order and
	// spacing aside).
	JSONEqual bool `json:"json_equal"`
	// FieldAccuracy is the fraction of the reference's leaf fields (paths
	// like address.city or tags[1]) that the answer has with an equal value;
	// 0 for an answer that is not JSON.
	FieldAccuracy float64 `json:"field_accuracy"`
}

// Summary averages scores over a set of answers.
type Summary struct {
	N int `json:"n"`
	// ValidJSON (json_validity) is the fraction of answers that are one
	// JSON object (Score.ValidJSON): any other JSON value does not count.
	ValidJSON     float64 `json:"json_validity"`
	ExactMatch    float64 `json:"exact_match"`
	JSONEqual     float64 `json:"json_equal"`
	FieldAccuracy float64 `json:"field_accuracy"`
}

// Grade scores an answer against its reference. A reference that is not
// JSON is scored by exact match alone (field accuracy is then 1 or 0).
func Grade(answer, reference string) Score {
	a, r := strings.TrimSpace(answer), strings.TrimSpace(reference)
	s := Score{ExactMatch: a == r}
	av, aok := parse(a)
	rv, rok := parse(r)
	_, isObject := av.(map[string]any)
	s.ValidJSON = aok && isObject
	if !rok {
		if s.ExactMatch {
			s.FieldAccuracy = 1
		}
		return s
	}
	if !aok {
		return s
	}
	s.JSONEqual = equal(av, rv)
	ref := map[string]any{}
	flatten("", rv, ref)
	got := map[string]any{}
	flatten("", av, got)
	if len(ref) == 0 {
		if s.JSONEqual {
			s.FieldAccuracy = 1
		}
		return s
	}
	hit := 0
	for path, want := range ref {
		if v, ok := got[path]; ok && equal(v, want) {
			hit++
		}
	}
	s.FieldAccuracy = float64(hit) / float64(len(ref))
	return s
}

// Summarize averages scores (all zero for none).
func Summarize(scores []Score) Summary {
	s := Summary{N: len(scores)}
	if len(scores) == 0 {
		return s
	}
	for _, x := range scores {
		s.ValidJSON += b2f(x.ValidJSON)
		s.ExactMatch += b2f(x.ExactMatch)
		s.JSONEqual += b2f(x.JSONEqual)
		s.FieldAccuracy += x.FieldAccuracy
	}
	n := float64(len(scores))
	s.ValidJSON /= n
	s.ExactMatch /= n
	s.JSONEqual /= n
	s.FieldAccuracy /= n
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// parse reads exactly one JSON value, with numbers kept exact.
func parse(s string) (any, bool) {
	if s == "" {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, false // trailing content after the value
	}
	return v, true
}

// flatten records every leaf of v under its path: objects by key
// (a.b), arrays by index (a[0]); empty objects and arrays are leaves.
func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = x
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x[k], out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = x
			return
		}
		for i, it := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), it, out)
		}
	default:
		out[prefix] = v
	}
}

// equal compares JSON values; numbers compare by value (1 == 1.0).
func equal(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, ex := x.Float64()
		fy, ey := y.Float64()
		return ex == nil && ey == nil && fx == fy && !math.IsNaN(fx)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}
