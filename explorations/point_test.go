package explorations

import (
	"reflect"
	"testing"
)

func mustExpand(t *testing.T, name, src string) *Exploration {
	t.Helper()
	e, err := Expand(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPointID(t *testing.T) {
	a := Point{Name: "x", Params: Map{{"a", int64(8)}, {"b", Map{{"p", 1.5}, {"q", nil}}}}}
	reordered := Point{Name: "y", Params: Map{{"b", Map{{"q", nil}, {"p", 1.5}}}, {"a", int64(8)}}}
	float := Point{Name: "x", Params: Map{{"a", 8.0}, {"b", Map{{"p", 1.5}, {"q", nil}}}}}
	if a.ID() != reordered.ID() {
		t.Error("the ID depends on key order or on the name")
	}
	if a.ID() == float.ID() {
		t.Error("8 and 8.0 hash alike")
	}
	if len(a.ID()) != 64 {
		t.Errorf("ID %q is not hex SHA-256", a.ID())
	}
}

func TestDisambiguate(t *testing.T) {
	e := mustExpand(t, "s.yaml", `named_static_groups:
  - named_group: g
    v: [1, 2]
named_group_static: [g]
w: [x]
`)
	e.Points = append(e.Points, e.Points[0]) // the same point twice stays one name
	out, collided := Disambiguate(e.Points)
	if !reflect.DeepEqual(collided, []string{"s-g-x"}) {
		t.Errorf("collided = %q", collided)
	}
	if out[0].Name == out[1].Name || out[0].Name != out[2].Name {
		t.Errorf("names %q %q %q", out[0].Name, out[1].Name, out[2].Name)
	}
	if want := "s-g-x-" + out[1].ID()[:shortIDLen]; out[1].Name != want {
		t.Errorf("name %q, want %q", out[1].Name, want)
	}
	if e.Points[0].Name != "s-g-x" {
		t.Error("Disambiguate changed its input")
	}
	unique := mustExpand(t, "u.yaml", "a: [1, 2]\n")
	if out, collided := Disambiguate(unique.Points); collided != nil || out[0].Name != "u-1" || out[1].Name != "u-2" {
		t.Errorf("unique names changed: %v %v", out, collided)
	}
}

func TestSubstituted(t *testing.T) {
	e := mustExpand(t, "r.yaml", "a: [1]\nout: [\"o/${RUN_NAME}\"]\nlist: [[\"${RUN_NAME}.csv\", 2]]\n")
	p := e.Points[0]
	got := p.Substituted()
	if v, _ := got.Get("out"); v != "o/r-1-['${RUN_NAME}.csv', 2]" {
		t.Errorf("out = %v", v)
	}
	if v, _ := got.Get("list"); !reflect.DeepEqual(v, []any{"r-1-['${RUN_NAME}.csv', 2].csv", int64(2)}) {
		t.Errorf("list = %v", v)
	}
	if v, _ := p.Params.Get("out"); v != "o/${RUN_NAME}" {
		t.Error("Substituted changed the point")
	}
}
