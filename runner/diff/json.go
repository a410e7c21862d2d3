package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// CompareJSON compares two JSON documents field by field: both are
// flattened to key paths (a.b, a.list[2]) and every path whose value
// differs is returned, numbers with their deltas. A list that grows or
// shrinks shows its extra elements as added or removed.
func CompareJSON(a, b []byte) ([]Value, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("other: %w", err)
	}
	return compareMaps(Flatten(va), Flatten(vb), false), nil
}

func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(bytes.TrimSpace(b), &v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	return v, nil
}

// Flatten maps every leaf of a decoded JSON value to its key path. Empty
// objects and lists are leaves, so that their appearance is seen.
func Flatten(v any) map[string]any {
	out := map[string]any{}
	flatten(v, "", out)
	return out
}

func flatten(v any, path string, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 && path != "" {
			out[path] = x
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(x[k], p, out)
		}
	case []any:
		if len(x) == 0 {
			out[path] = x
			return
		}
		for i, e := range x {
			flatten(e, path+"["+strconv.Itoa(i)+"]", out)
		}
	default:
		if path == "" {
			path = "."
		}
		out[path] = v
	}
}

// numericFields returns the numeric leaves of a JSON document.
func numericFields(b []byte) (map[string]float64, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for k, x := range Flatten(v) {
		if f, ok := number(x); ok {
			out[k] = f
		}
	}
	return out, nil
}
