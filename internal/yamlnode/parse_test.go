package yamlnode

import (
	"fmt"
	"strings"
	"testing"
)

// render writes a tree compactly: kinds, values and positions, so that a table
// test can state the whole expected tree on one line.
func render(n *Node) string {
	switch n.Kind {
	case Map:
		parts := make([]string, len(n.Entries))
		for i, e := range n.Entries {
			parts[i] = fmt.Sprintf("%s@%s=%s", e.Key, e.KeyPos, render(e.Value))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case Seq:
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = render(it)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case String:
		q := ""
		if n.Quoted {
			q = "q"
		}
		return fmt.Sprintf("s%s%q@%s", q, n.Str, n.Pos)
	case Int:
		return fmt.Sprintf("i%d@%s", n.Int, n.Pos)
	case Float:
		return fmt.Sprintf("f%g@%s", n.Float, n.Pos)
	case Bool:
		return fmt.Sprintf("b%v@%s", n.Bool, n.Pos)
	}
	return "null@" + n.Pos.String()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, want, err string
	}{
		{"scalars", "a: 1\nb: 1.5\nc: 6e-4\nd: 'x'\ne: true\nf: null\ng: yes\n",
			`{a@1:1=i1@1:4 b@2:1=f1.5@2:4 c@3:1=f0.0006@3:4 d@4:1=sq"x"@4:4 e@5:1=btrue@5:4 f@6:1=null@6:4 g@7:1=s"yes"@7:4}`, ""},
		{"order kept", "z: 1\na: 2\nm: 3\n", `{z@1:1=i1@1:4 a@2:1=i2@2:4 m@3:1=i3@3:4}`, ""},
		{"flow", "x: {p: [1, two]}\n", `{x@1:1={p@1:5=[i1@1:9 s"two"@1:12]}}`, ""},
		{"block scalar", "c: |\n  hi\n  there\n", `{c@1:1=sq"hi\nthere\n"@1:4}`, ""},
		{"merge key", "x: &a {p: 1, q: 1}\ny:\n  <<: *a\n  q: 2\n",
			`{x@1:1={p@1:8=i1@1:11 q@1:14=i1@1:17} y@2:1={p@1:8=i1@1:11 q@4:3=i2@4:6}}`, ""},
		{"str tag", "k: !!str 12\n", `{k@1:1=sq"12"@1:9}`, ""},
		{"duplicate key", "a: 1\na: 2\n", `{a@1:1=i1@1:4}`, `2:1: duplicate key "a" (first at 1:1)`},
		{"unknown tag", "j: !foo 1\n", "", `1:4: unsupported tag !foo`},
		{"unknown alias", "a: *nope\n", "", "unknown alias *nope"},
		{"syntax error", "a: [1, 2\n", "", "1:4: yaml:"},
		{"empty", "", `null@1:1`, ""},
		{"non-scalar key", "? [1]\n: 2\n", "", "2:1: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Parse([]byte(tt.src))
			if tt.err == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.err)
			}
			if tt.want == "" {
				return
			}
			if len(docs) != 1 {
				t.Fatalf("got %d documents", len(docs))
			}
			if got := render(docs[0]); got != tt.want {
				t.Errorf("tree\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseMultipleDocuments(t *testing.T) {
	docs, err := Parse([]byte("- 1\n---\nc: 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Kind != Seq || docs[1].Kind != Map {
		t.Fatalf("got %d docs", len(docs))
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("error = %v, want a size error", err)
	}
}

func TestValueKeepsOrder(t *testing.T) {
	docs, err := Parse([]byte("b: 1\na: [x, {d: 2, c: 3}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := docs[0].Value().(*Ordered)
	if strings.Join(m.Keys, ",") != "b,a" {
		t.Errorf("keys %v", m.Keys)
	}
	inner := m.Values["a"].([]any)[1].(*Ordered)
	if strings.Join(inner.Keys, ",") != "d,c" {
		t.Errorf("inner keys %v", inner.Keys)
	}
}
