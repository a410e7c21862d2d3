package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bitflow-dev/bitflow/steps/records"
)

// The json-records task: each record's prompt states a record's fields in
// words and its answer is that record as compact JSON, e.g.
//
//	Record user 417: name Alice, age 31, city Lyon, tags admin beta
//	{"id":417,"name":"Alice","age":31,"city":"Lyon","tags":["admin","beta"]}
//
// The prompt names the schema and the id, then states the fields as "key
// value" in an order drawn for each record (and, inside nested objects,
// their fields too). The answer puts "id" first and the other fields in
// the schema's canonical order (answer_order canonical), or in the order
// the prompt stated them (answer_order prompt). Fields are separated by ", "
// in user records, whose values never hold a comma, and by "; " in the
// others, whose nested objects use ", " inside.

// schemas are the record schemas json-records can generate, by name.
var schemas = map[string]func(g *generator, id int) record{
	"user":    userRecord,
	"order":   orderRecord,
	"event":   eventRecord,
	"product": productRecord,
}

// schemaNames lists the schemas in their canonical order.
var schemaNames = []string{"user", "order", "event", "product"}

// generator draws records from one seeded stream.
type generator struct {
	r *rng
	// promptOrder: answers list fields in the prompt's order.
	promptOrder bool
}

// field is one field of a record: its JSON key and value, and how the
// prompt states it.
type field struct {
	key, json, text string
}

// record is a generated record before rendering: the schema's name in the
// prompt, the fields' separator, and the fields in canonical order.
type record struct {
	schema string
	id     int
	sep    string
	fields []field
}

// render returns the record's prompt and answer, drawing the prompt's
// field order.
func (g *generator) render(rec record) records.Record {
	json, text := g.object(rec.fields, rec.sep)
	prompt := fmt.Sprintf("Record %s %d: %s", rec.schema, rec.id, text)
	answer := `{"id":` + strconv.Itoa(rec.id)
	if len(rec.fields) > 0 {
		answer += "," + json[1:]
	} else {
		answer += "}"
	}
	return records.Record{Prompt: prompt, Answer: answer}
}

// object renders fields as a JSON object and as the prompt's "key value"
// list joined by sep, in a drawn order; the JSON keeps the canonical order
// unless g.promptOrder.
func (g *generator) object(fields []field, sep string) (json, text string) {
	order := make([]int, len(fields))
	for i := range order {
		order[i] = i
	}
	g.r.shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	texts := make([]string, len(fields))
	for i, k := range order {
		texts[i] = fields[k].text
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := range fields {
		f := fields[i]
		if g.promptOrder {
			f = fields[order[i]]
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(f.key) + ":" + f.json)
	}
	b.WriteByte('}')
	return b.String(), strings.Join(texts, sep)
}

// jsonString writes s as a JSON string, non-ASCII kept as it is.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonStrings writes a list of strings.
func jsonStrings(xs []string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = jsonString(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// str, num and boolean make fields of the common kinds; the prompt states
// them as "key value" (words for booleans: yes, no).
func str(key, v string) field { return field{key, jsonString(v), key + " " + v} }
func num(key string, v int) field {
	return field{key, strconv.Itoa(v), key + " " + strconv.Itoa(v)}
}

// decimal is a number with two decimals, written the same way in the
// prompt and in the JSON (3.50 is a valid JSON number).
func decimal(key string, cents int) field {
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	return field{key, s, key + " " + s}
}

func boolean(key, text string, v bool) field {
	word := "no"
	if v {
		word = "yes"
	}
	return field{key, strconv.FormatBool(v), text + " " + word}
}

// distinct draws n different elements of xs, in drawn order.
func distinct[T any](r *rng, xs []T, n int) []T {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	r.shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	out := make([]T, n)
	for i := range out {
		out[i] = xs[idx[i]]
	}
	return out
}
