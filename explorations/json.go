package explorations

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// The reference's expected expansions are written by Python's json.dumps
// with its defaults; this file writes the same bytes: ", " and ": "
// separators, ASCII only (\uXXXX escapes), floats as repr (8.0, 1e-06) and
// NaN/Infinity as Python spells them.

// PointsJSON renders the points as the reference does: a JSON list of
// {"name": ..., "params": {...}} objects, params in order, with no trailing
// newline. It is what `bitflow sweep expand FILE --json` prints.
func (e *Exploration) PointsJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range e.Points {
		if i > 0 {
			b.WriteString(", ")
		}
		p.writeJSON(&b)
	}
	b.WriteByte(']')
	return []byte(b.String()), nil
}

// MarshalJSON renders the point as {"name": ..., "params": {...}}, keeping
// the params' order and number types.
func (p Point) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	p.writeJSON(&b)
	return []byte(b.String()), nil
}

// MarshalJSON renders the mapping in order, numbers typed as in the file.
func (m Map) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	writeJSON(&b, m, false)
	return []byte(b.String()), nil
}

func (p Point) writeJSON(b *strings.Builder) {
	b.WriteString(`{"name": `)
	writeJSONString(b, p.Name)
	b.WriteString(`, "params": `)
	writeJSON(b, p.Params, false)
	b.WriteByte('}')
}

// writeJSON writes v as json.dumps does; sorted orders mapping keys (the
// canonical form that IDs hash).
func writeJSON(b *strings.Builder, v any, sorted bool) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloatRepr(x))
		}
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, it, sorted)
		}
		b.WriteByte(']')
	case Map:
		if sorted {
			x = append(Map(nil), x...)
			sort.SliceStable(x, func(i, j int) bool { return x[i].Key < x[j].Key })
		}
		b.WriteByte('{')
		for i, p := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, p.Key)
			b.WriteString(": ")
			writeJSON(b, p.Value, sorted)
		}
		b.WriteByte('}')
	default:
		// Unreachable for expanded points; keep the output valid JSON.
		writeJSONString(b, fmt.Sprint(x))
	}
}

// writeJSONString quotes s with json.dumps's ensure_ascii escaping.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			switch {
			case r >= 0x20 && r <= 0x7e:
				b.WriteRune(r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				fmt.Fprintf(b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
}
