package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MetricRef is a metric named as an exploration's `report:` list names it:
// STEP.OUTPUT followed by a path into the output's JSON
// (eval.report.qei_metrics.qei). STEP is a workflow step name, so one
// reference reads the same figure from every point of a sweep.
type MetricRef struct {
	Step, Output string
	Path         []string
}

// ParseMetric splits `STEP.OUTPUT.json.path`. The JSON path may be empty
// (the whole output must then be a scalar); array elements are numbered
// from 0.
func ParseMetric(s string) (MetricRef, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return MetricRef{}, fmt.Errorf("metric %q: expected STEP.OUTPUT.json.path", s)
	}
	for _, p := range parts[2:] {
		if p == "" {
			return MetricRef{}, fmt.Errorf("metric %q: empty path element", s)
		}
	}
	return MetricRef{Step: parts[0], Output: parts[1], Path: parts[2:]}, nil
}

func (m MetricRef) String() string {
	return strings.Join(append([]string{m.Step, m.Output}, m.Path...), ".")
}

// errNoKey says that a path names nothing in an output.
var errNoKey = errors.New("no such key")

// extract reads path from an output's bytes: one JSON document, or JSONL
// (a training metrics log), where the value is taken from the last line
// holding the key: the figure at the end of training.
func extract(data []byte, path []string) (any, error) {
	if v, err := decode(data); err == nil {
		if x, ok := lookup(v, path); ok {
			return x, nil
		}
		return nil, errNoKey
	}
	var found any
	ok := false
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, err := decode(line)
		if err != nil {
			return nil, errors.New("neither JSON nor JSON lines")
		}
		if x, hit := lookup(v, path); hit {
			found, ok = x, true
		}
	}
	if !ok {
		return nil, errNoKey
	}
	return found, nil
}

// decode parses one JSON value keeping numbers as written, so tables show
// them exactly as the step recorded them.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

func lookup(v any, path []string) (any, bool) {
	for _, key := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// number returns v as a float64 if it is a JSON number (or a bool, as 0/1:
// a validity flag is a fine quality figure).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// format renders a metric value for a table cell.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return x.String()
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// objectKeys returns the keys of the JSON object at path in the order the
// step wrote them (reports are written in a meaningful order; a decoded
// map would lose it).
func objectKeys(data []byte, path []string) []string {
	return keysAt(json.NewDecoder(bytes.NewReader(data)), path)
}

// keysAt walks the token stream to the object at path and lists its keys.
func keysAt(d *json.Decoder, path []string) []string {
	t, err := d.Token()
	if err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		if len(path) > 0 {
			if k == path[0] {
				return keysAt(d, path[1:])
			}
			var skip json.RawMessage
			if d.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return nil
		}
	}
	return keys
}
