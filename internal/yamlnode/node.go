// Package yamlnode turns YAML text into a small tree of positioned, ordered
// values. Every node keeps the line and column it came from, mappings keep
// their key order, and anchors, aliases, merge keys, tags and block scalars are
// resolved here, so the packages that give YAML its meaning (workflows,
// explorations) never see goccy/go-yaml's AST and can report every problem at
// its position.
package yamlnode

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is the type of a node's value.
type Kind int

// The kinds of node. Scalars resolve per YAML 1.2's core schema (goccy/go-yaml's
// resolution); Raw and Quoted keep what is needed to resolve them differently.
const (
	Null Kind = iota
	Bool
	Int
	Float
	String
	Map
	Seq
)

// String returns the kind's name as used in error messages ("a mapping").
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "a boolean"
	case Int:
		return "an integer"
	case Float:
		return "a number"
	case String:
		return "a string"
	case Map:
		return "a mapping"
	case Seq:
		return "a list"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Pos is a 1-based line and column in the source text.
type Pos struct {
	Line, Col int
}

// String formats the position as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Node is one YAML value with its position.
type Node struct {
	Kind Kind
	Pos  Pos

	// Raw is a scalar's text as written (without quotes); Quoted says whether
	// it was quoted or a block scalar, which makes it a string in every schema.
	Raw    string
	Quoted bool

	Bool  bool
	Int   int64
	Float float64
	Str   string

	// Entries holds a mapping's entries in source order (after merge keys).
	Entries []Entry
	// Items holds a sequence's elements.
	Items []*Node
}

// Entry is one key: value pair of a mapping.
type Entry struct {
	Key    string
	KeyPos Pos
	Value  *Node
}

// Get returns the value of key in a mapping node, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for _, e := range n.Entries {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// IsScalar reports whether the node is neither a mapping nor a sequence.
func (n *Node) IsScalar() bool { return n.Kind != Map && n.Kind != Seq }

// Text returns a scalar as the string a user wrote, for scalars used as text
// (keys, names, commands). Null is the empty string.
func (n *Node) Text() string {
	switch n.Kind {
	case String:
		return n.Str
	case Null:
		return ""
	default:
		return n.Raw
	}
}

// Value converts the node into plain Go values: nil, bool, int64, float64,
// string, []any, and for mappings *Ordered (key order matters to the callers).
func (n *Node) Value() any {
	switch n.Kind {
	case Null:
		return nil
	case Bool:
		return n.Bool
	case Int:
		return n.Int
	case Float:
		return n.Float
	case String:
		return n.Str
	case Seq:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			out[i] = it.Value()
		}
		return out
	case Map:
		m := &Ordered{}
		for _, e := range n.Entries {
			m.Set(e.Key, e.Value.Value())
		}
		return m
	}
	return nil
}

// Ordered is a mapping that remembers insertion order.
type Ordered struct {
	Keys   []string
	Values map[string]any
}

// Set adds or replaces key; a new key goes last.
func (m *Ordered) Set(key string, v any) {
	if m.Values == nil {
		m.Values = map[string]any{}
	}
	if _, ok := m.Values[key]; !ok {
		m.Keys = append(m.Keys, key)
	}
	m.Values[key] = v
}

// Get returns the value of key and whether it is present.
func (m *Ordered) Get(key string) (any, bool) {
	v, ok := m.Values[key]
	return v, ok
}

// Len returns the number of keys.
func (m *Ordered) Len() int { return len(m.Keys) }

// ScalarString formats a scalar for messages, quoting strings.
func (n *Node) ScalarString() string {
	switch n.Kind {
	case String:
		return strconv.Quote(n.Str)
	case Null:
		return "null"
	case Map:
		return "a mapping"
	case Seq:
		return "a list"
	}
	return n.Raw
}

// Error is a problem found while reading YAML, with its position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errors is a list of problems, in the order they were found.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}
