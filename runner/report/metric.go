package report

import (
	"bytes"
	"encoding/json"
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
