package explorations

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Point is one combination of an exploration: its run name and its params.
type Point struct {
	Name   string
	Params Map
}

// Map is an ordered mapping: a point's params (common_group keys first, then
// the combination's keys in the order the file gives them), or a mapping
// value inside them.
//
// Values are nil, bool, int64, float64, string, []any and Map, typed as
// PyYAML reads the file (YAML 1.1): 1e-6 is a string, 1.0e-6 a float.
type Map []Param

// Param is one key of a Map.
type Param struct {
	Key   string
	Value any
}

// Get returns the value of key and whether it is present.
func (m Map) Get(key string) (any, bool) {
	for _, p := range m {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// Keys returns the keys in order.
func (m Map) Keys() []string {
	out := make([]string, len(m))
	for i, p := range m {
		out[i] = p.Key
	}
	return out
}

// exportDict converts the working form into the public one.
func exportDict(d *dict) Map {
	out := make(Map, len(d.entries))
	for i, e := range d.entries {
		out[i] = Param{e.key, exportValue(e.val)}
	}
	return out
}

func exportValue(v any) any {
	switch x := v.(type) {
	case *dict:
		return exportDict(x)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = exportValue(it)
		}
		return out
	}
	return v
}

// ID identifies the point by its params, not its name: the hex SHA-256 of
// their canonical JSON (keys sorted at every level, numbers typed as in the
// file, so 8 and 8.0 differ). ${RUN_NAME} is hashed unsubstituted.
func (p Point) ID() string {
	var b strings.Builder
	writeJSON(&b, p.Params, true)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// shortIDLen is the length of the suffix Disambiguate appends: 8 hex digits
// make an accidental clash within one sweep very unlikely, and a clash is
// detected and lengthened anyway.
const shortIDLen = 8

// Disambiguate returns the points with unique names: a name that several
// points share (the reference runner names all points of a multi-valued
// static group alike, then runs only the first) gets "-" and the start of
// each point's ID appended. Points with identical params keep identical
// names: they are the same point. collided lists the shared names, sorted,
// for a warning.
func Disambiguate(points []Point) (out []Point, collided []string) {
	count := map[string]int{}
	for _, p := range points {
		count[p.Name]++
	}
	taken := map[string]string{} // name -> ID of the point holding it
	for _, p := range points {
		if count[p.Name] == 1 {
			taken[p.Name] = p.ID()
		}
	}
	out = make([]Point, len(points))
	for i, p := range points {
		out[i] = p
		if count[p.Name] == 1 {
			continue
		}
		id := p.ID()
		n := shortIDLen
		name := p.Name + "-" + id[:n]
		for owner, ok := taken[name]; ok && owner != id && n < len(id); owner, ok = taken[name] {
			n += 4
			name = p.Name + "-" + id[:n]
		}
		taken[name] = id
		out[i].Name = name
	}
	for name, n := range count {
		if n > 1 {
			collided = append(collided, name)
		}
	}
	sort.Strings(collided)
	return out, collided
}

// Substituted returns the params with ${RUN_NAME} replaced by the point's
// name in every string, inside lists and mappings too, as the reference
// runner does just before a run. Call it after Disambiguate, so that each
// run gets its own name.
func (p Point) Substituted() Map {
	return substitute(p.Params, p.Name).(Map)
}

func substitute(v any, name string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, runNameVar, name)
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = substitute(it, name)
		}
		return out
	case Map:
		out := make(Map, len(x))
		for i, p := range x {
			out[i] = Param{p.Key, substitute(p.Value, name)}
		}
		return out
	}
	return v
}
