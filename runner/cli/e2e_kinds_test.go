package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/steps/builtin"
)

// TestKindsDocumentEveryParam checks that `bitflow kinds` documents each
// kind's params from the schema that validates them (issue 5: name, type,
// default, meaning): the JSON lists every param of every kind with its
// type, its default (the schema's, unless the param is required or has
// none) and a doc; train's params all have defaults; and the text of
// `bitflow kinds train` shows each param's type, default and doc.
func TestKindsDocumentEveryParam(t *testing.T) {
	dir := t.TempDir()
	reg := builtin.Registry()
	r := bitflow(t, dir, "kinds", "--json")
	if r.code != 0 {
		t.Fatalf("kinds --json: %d %s", r.code, r.stderr)
	}
	var kinds []struct {
		Kind   string                       `json:"kind"`
		Params []map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &kinds); err != nil {
		t.Fatalf("kinds --json: %v %s", err, r.stdout)
	}
	if len(kinds) != len(reg.Names()) {
		t.Errorf("%d kinds listed, %d registered", len(kinds), len(reg.Names()))
	}
	str := func(raw json.RawMessage) string {
		var s string
		json.Unmarshal(raw, &s)
		return s
	}
	for _, k := range kinds {
		kind, ok := reg.Get(k.Kind)
		if !ok {
			t.Errorf("kind %s is not registered", k.Kind)
			continue
		}
		sc := kind.Params()
		if len(k.Params) != len(sc.Params) {
			t.Errorf("%s: %d params listed, the schema has %d", k.Kind, len(k.Params), len(sc.Params))
		}
		for i, p := range k.Params {
			name := str(p["name"])
			if i >= len(sc.Params) || name != sc.Params[i].Name {
				t.Errorf("%s: param %d is %q, not the schema's", k.Kind, i, name)
				continue
			}
			want := sc.Params[i]
			if str(p["type"]) != string(want.Type) || str(p["type"]) == "" {
				t.Errorf("%s.%s: type %s, schema %s", k.Kind, name, p["type"], want.Type)
			}
			if strings.TrimSpace(str(p["doc"])) == "" {
				t.Errorf("%s.%s: no doc", k.Kind, name)
			}
			def, has := p["default"]
			switch {
			case want.Default != nil:
				wb, _ := json.Marshal(want.Default)
				var got bytes.Buffer
				json.Compact(&got, def)
				if !has || got.String() != string(wb) {
					t.Errorf("%s.%s: default %s (listed %v), schema %s", k.Kind, name, def, has, wb)
				}
			case has:
				t.Errorf("%s.%s: default %s listed, the schema has none", k.Kind, name, def)
			}
			if k.Kind == "train" && !has {
				t.Errorf("train.%s: no default", name)
			}
		}
	}

	// The text: one line per param, with its type (or choices), its default
	// as JSON and its doc.
	r = bitflow(t, dir, "kinds", "train")
	if r.code != 0 {
		t.Fatalf("kinds train: %d %s", r.code, r.stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(l, "    ") {
			lines[f[0]] = l
		}
	}
	train, _ := reg.Get("train")
	for _, p := range train.Params().Params {
		l, ok := lines[p.Name]
		if !ok {
			t.Errorf("kinds train: no line for %s:\n%s", p.Name, r.stdout)
			continue
		}
		f := strings.Fields(l)
		typ := string(p.Type)
		if len(p.Enum) > 0 {
			typ = strings.Join(p.Enum, "|")
		}
		def, _ := json.Marshal(p.Default)
		if len(f) < 4 || f[1] != typ || f[2] != string(def) || !strings.HasSuffix(l, "  "+p.Doc) {
			t.Errorf("kinds train: %s: %q, want type %s, default %s and doc %q", p.Name, l, typ, def, p.Doc)
		}
	}
}
