// Package jsonpath reads one figure out of a step's JSON or JSON-lines
// output by a path of keys, as an exploration's `report:` entries and the
// HTML report name them (eval.report.qei_metrics.qei, student.metrics.loss).
// Numbers are kept as written (json.Number), so tables show a figure exactly
// as the step recorded it.
package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoKey says that a path names nothing in an output.
var ErrNoKey = errors.New("no such key")

// Extract reads path from one JSON document, or from JSON lines (a training
// metrics log), where the value is taken from the last line holding the
// key: the figure at the end of training.
func Extract(data []byte, path []string) (any, error) {
	if v, err := Decode(data); err == nil {
		if x, ok := Lookup(v, path); ok {
			return x, nil
		}
		return nil, fmt.Errorf("%w %s", ErrNoKey, strings.Join(path, "."))
	}
	var found any
	ok := false
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, err := Decode(line)
		if err != nil {
			return nil, errors.New("neither JSON nor JSON lines")
		}
		if x, hit := Lookup(v, path); hit {
			found, ok = x, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrNoKey, strings.Join(path, "."))
	}
	return found, nil
}

// Decode parses exactly one JSON value, keeping numbers as written.
func Decode(b []byte) (any, error) {
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

// Lookup walks objects by key and arrays by index (from 0).
func Lookup(v any, path []string) (any, bool) {
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
