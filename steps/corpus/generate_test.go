package corpus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bitflow-dev/bitflow/steps/records"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func generate(t *testing.T, seed int64, n int, names []string, promptOrder bool) []records.Record {
	t.Helper()
	recs, err := Generate(context.Background(), seed, n, names, promptOrder)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestGenerateExamples pins a few records of seed 1: the generator's
// output is the kind's result, so any change to it needs a new Version.
func TestGenerateExamples(t *testing.T) {
	recs := generate(t, 1, 4, schemaNames, false)
	want := []records.Record{
		{Prompt: `Record product 43093: name Kitchen Speaker; tags light outdoor; dimensions 189 x 16 x 165 mm; price 140.92; rating none; in stock no`,
			Answer: `{"id":43093,"name":"Kitchen Speaker","price":140.92,"in_stock":false,"rating":null,"dimensions":{"width":189,"height":16,"depth":165,"unit":"mm"},"tags":["light","outdoor"]}`},
		{Prompt: `Record product 99276: price 172.96; in stock yes; tags gift office light; dimensions 200 x 150 x 9 cm; name Travel Chair; rating 4.3`,
			Answer: `{"id":99276,"name":"Travel Chair","price":172.96,"in_stock":true,"rating":4.3,"dimensions":{"width":200,"height":150,"depth":9,"unit":"cm"},"tags":["gift","office","light"]}`},
		{Prompt: `Record user 91640: city Tallinn, name Gustav, age 52, tags admin trial`,
			Answer: `{"id":91640,"name":"Gustav","age":52,"city":"Tallinn","tags":["admin","trial"]}`},
		{Prompt: `Record order 74411: items 8 x crème at 84.54, 4 x widget at 24.74, 3 x filter at 87.87; address street 2 High Street, country EE, city Tallinn; gift no; status pending; customer Tomás`,
			Answer: `{"id":74411,"customer":"Tomás","items":[{"sku":"crème","qty":8,"price":84.54},{"sku":"widget","qty":4,"price":24.74},{"sku":"filter","qty":3,"price":87.87}],"address":{"street":"2 High Street","city":"Tallinn","country":"EE"},"status":"pending","gift":false}`},
	}
	if !slices.Equal(recs, want) {
		for i := range recs {
			t.Errorf("record %d:\n%s\n%s", i, recs[i].Prompt, recs[i].Answer)
		}
	}
}

// TestGenerateRecords checks every record of every schema: the answer is
// a JSON object with id first, each leaf value is stated in the prompt,
// prompts are distinct, and the corpus has what the task promises
// (nesting, non-ASCII, varied field order).
func TestGenerateRecords(t *testing.T) {
	recs := generate(t, 7, 2000, schemaNames, false)
	seen := map[string]bool{}
	orders := map[string]map[string]bool{} // schema -> field orders seen in prompts
	var nonASCII, nested int
	for _, r := range recs {
		if seen[r.Prompt] {
			t.Fatalf("duplicate prompt %q", r.Prompt)
		}
		seen[r.Prompt] = true
		var obj map[string]any
		if err := json.Unmarshal([]byte(r.Answer), &obj); err != nil {
			t.Fatalf("answer %s: %v", r.Answer, err)
		}
		var schema string
		var id int
		if _, err := fmt.Sscanf(r.Prompt, "Record %s %d:", &schema, &id); err != nil || !strings.HasPrefix(r.Answer, fmt.Sprintf(`{"id":%d,`, id)) {
			t.Fatalf("prompt %q / answer %q: %v", r.Prompt, r.Answer, err)
		}
		for _, leaf := range leaves(obj) {
			if !strings.Contains(r.Prompt, leaf) {
				t.Errorf("%s: value %q is not in the prompt %q", r.Answer, leaf, r.Prompt)
			}
		}
		if !utf8.ValidString(r.Prompt) || !utf8.ValidString(r.Answer) {
			t.Fatalf("invalid UTF-8 in %q", r.Prompt)
		}
		if strings.ContainsFunc(r.Answer, func(c rune) bool { return c > 127 }) {
			nonASCII++
		}
		if strings.Contains(r.Answer[1:], "{") {
			nested++
		}
		if orders[schema] == nil {
			orders[schema] = map[string]bool{}
		}
		orders[schema][fieldOrder(r.Prompt)] = true
	}
	if len(orders) != 4 {
		t.Errorf("schemas seen: %v", orders)
	}
	for s, o := range orders {
		if len(o) < 10 {
			t.Errorf("schema %s: only %d field orders in prompts", s, len(o))
		}
	}
	if nonASCII < len(recs)/10 || nested < len(recs)/3 {
		t.Errorf("%d non-ASCII and %d nested answers of %d", nonASCII, nested, len(recs))
	}
}

// leaves returns the scalar values of a JSON value as the prompt writes
// them (null as "none", booleans as yes or no).
func leaves(v any) []string {
	switch x := v.(type) {
	case map[string]any:
		var out []string
		for k, e := range x {
			if k != "id" {
				out = append(out, leaves(e)...)
			}
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, leaves(e)...)
		}
		return out
	case nil:
		return []string{"none"}
	case bool:
		if x {
			return []string{"yes"}
		}
		return []string{"no"}
	case float64:
		return []string{strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), ".")}
	}
	return []string{fmt.Sprint(v)}
}

// fieldOrder returns the first words of a prompt's fields.
func fieldOrder(prompt string) string {
	_, body, _ := strings.Cut(prompt, ": ")
	sep := "; "
	if strings.HasPrefix(prompt, "Record user") {
		sep = ", "
	}
	var keys []string
	for _, f := range strings.Split(body, sep) {
		keys = append(keys, strings.Fields(f)[0])
	}
	return strings.Join(keys, " ")
}

// TestGenerateAnswerOrder checks answer_order prompt: the answer lists the
// top-level fields as the prompt states them.
func TestGenerateAnswerOrder(t *testing.T) {
	canon := generate(t, 3, 50, []string{"user"}, false)
	prompt := generate(t, 3, 50, []string{"user"}, true)
	differ := 0
	for i, r := range prompt {
		if r.Prompt != canon[i].Prompt {
			t.Fatalf("answer_order changed prompt %d", i)
		}
		var keys []string
		dec := json.NewDecoder(strings.NewReader(r.Answer))
		dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip any
			dec.Decode(&skip)
		}
		if got := strings.Join(keys[1:], " "); got != fieldOrder(r.Prompt) {
			t.Errorf("answer keys %q, prompt order %q", got, fieldOrder(r.Prompt))
		}
		var a, b any
		json.Unmarshal([]byte(r.Answer), &a)
		json.Unmarshal([]byte(canon[i].Answer), &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("answer_order changed the record: %s vs %s", r.Answer, canon[i].Answer)
		}
		if r.Answer != canon[i].Answer {
			differ++
		}
	}
	if differ == 0 {
		t.Error("answer_order prompt never changed an answer")
	}
}

// TestGenerateSeeds checks that a seed fixes the records and another seed
// changes them.
func TestGenerateSeeds(t *testing.T) {
	a, b, c := generate(t, 5, 100, schemaNames, false), generate(t, 5, 100, schemaNames, false), generate(t, 6, 100, schemaNames, false)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave other records")
	}
	if slices.Equal(a, c) {
		t.Error("another seed gave the same records")
	}
	if one := generate(t, 5, 1, []string{"event"}, false); !strings.HasPrefix(one[0].Prompt, "Record event ") {
		t.Errorf("schemas [event] gave %q", one[0].Prompt)
	}
}

func TestGenerateErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Generate(ctx, 1, 0, schemaNames, false); err == nil || !strings.Contains(err.Error(), "examples") {
		t.Errorf("0 examples: %v", err)
	}
	if _, err := Generate(ctx, 1, 5, nil, false); err == nil || !strings.Contains(err.Error(), "schemas") {
		t.Errorf("no schemas: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Generate(cancelled, 1, 5, schemaNames, false); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}
