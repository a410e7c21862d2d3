package yamlnode

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxNodes bounds the size of a document after alias expansion, so that a
// small file of nested aliases ("billion laughs") cannot exhaust memory in the
// code that walks the tree.
const maxNodes = 1 << 20

// coreFloat is the float pattern of YAML 1.2's core schema.
var coreFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// Parse reads every document of a YAML stream. A syntax error stops parsing
// and is returned alone; problems in well-formed YAML (duplicate keys,
// non-scalar keys, unsupported tags, unknown aliases) are all collected.
func Parse(data []byte) (docs []*Node, err error) {
	defer func() {
		// goccy/go-yaml is a large hand-written parser; a panic inside it on
		// hostile input must become an error, never crash bitflow.
		if r := recover(); r != nil {
			docs, err = nil, Errors{{Msg: fmt.Sprintf("yaml: parser failed: %v", r)}}
		}
	}()
	f, perr := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if perr != nil {
		return nil, Errors{syntaxError(perr)}
	}
	c := &converter{anchors: map[string]*Node{}}
	for _, d := range f.Docs {
		var n *Node
		if d.Body == nil {
			n = &Node{Kind: Null, Pos: Pos{1, 1}}
		} else {
			n = c.node(d.Body)
		}
		if n != nil && n.size() > maxNodes {
			c.errf(n.Pos, "document too large after expanding aliases (more than %d nodes)", maxNodes)
			n = &Node{Kind: Null, Pos: n.Pos}
		}
		docs = append(docs, n)
	}
	if len(c.errs) > 0 {
		return docs, c.errs
	}
	return docs, nil
}

func syntaxError(err error) *Error {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) {
		e := &Error{Msg: "yaml: " + ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.Pos = Pos{tk.Position.Line, tk.Position.Column}
		}
		return e
	}
	return &Error{Msg: "yaml: " + err.Error()}
}

type converter struct {
	anchors map[string]*Node
	errs    Errors
}

func (c *converter) errf(p Pos, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func posOf(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{tk.Position.Line, tk.Position.Column}
}

// node converts one AST node. It never returns nil.
func (c *converter) node(an ast.Node) *Node {
	switch v := an.(type) {
	case nil:
		return &Node{Kind: Null}
	case *ast.NullNode:
		return &Node{Kind: Null, Pos: posOf(v.Token), Raw: v.Token.Value}
	case *ast.BoolNode:
		return &Node{Kind: Bool, Pos: posOf(v.Token), Raw: v.Token.Value, Bool: v.Value}
	case *ast.IntegerNode:
		n := &Node{Kind: Int, Pos: posOf(v.Token), Raw: v.Token.Value}
		switch iv := v.Value.(type) {
		case int64:
			n.Int = iv
		case uint64:
			if iv > math.MaxInt64 {
				c.errf(n.Pos, "integer %s is out of range", v.Token.Value)
			}
			n.Int = int64(iv)
		}
		return n
	case *ast.FloatNode:
		return &Node{Kind: Float, Pos: posOf(v.Token), Raw: v.Token.Value, Float: v.Value}
	case *ast.InfinityNode:
		return &Node{Kind: Float, Pos: posOf(v.Token), Raw: v.Token.Value, Float: v.Value}
	case *ast.NanNode:
		return &Node{Kind: Float, Pos: posOf(v.Token), Raw: v.Token.Value, Float: math.NaN()}
	case *ast.StringNode:
		quoted := v.Token.Type == token.SingleQuoteType || v.Token.Type == token.DoubleQuoteType
		if !quoted && coreFloat.MatchString(v.Value) {
			// YAML 1.2's core schema reads 6e-4 as a number; goccy/go-yaml
			// leaves exponents without a dot as strings.
			if f, err := strconv.ParseFloat(v.Value, 64); err == nil {
				return &Node{Kind: Float, Pos: posOf(v.Token), Raw: v.Value, Float: f}
			}
		}
		return &Node{Kind: String, Pos: posOf(v.Token), Raw: v.Value, Str: v.Value, Quoted: quoted}
	case *ast.LiteralNode:
		s := ""
		if v.Value != nil {
			s = v.Value.Value
		}
		return &Node{Kind: String, Pos: posOf(v.Start), Raw: s, Str: s, Quoted: true}
	case *ast.AnchorNode:
		n := c.node(v.Value)
		if n.Pos.Line == 0 {
			n.Pos = posOf(v.Start)
		}
		c.anchors[v.Name.GetToken().Value] = n
		return n
	case *ast.AliasNode:
		name := v.Value.GetToken().Value
		n, ok := c.anchors[name]
		if !ok {
			c.errf(posOf(v.Start), "unknown alias *%s", name)
			return &Node{Kind: Null, Pos: posOf(v.Start)}
		}
		return n
	case *ast.TagNode:
		return c.tagged(v)
	case *ast.MappingNode:
		return c.mapping(posOf(v.Start), v.Values)
	case *ast.MappingValueNode:
		return c.mapping(posOf(v.Key.GetToken()), []*ast.MappingValueNode{v})
	case *ast.SequenceNode:
		n := &Node{Kind: Seq, Pos: posOf(v.Start)}
		for _, it := range v.Values {
			n.Items = append(n.Items, c.node(it))
		}
		return n
	case *ast.MappingKeyNode:
		return c.node(v.Value)
	case *ast.MergeKeyNode:
		return &Node{Kind: String, Pos: posOf(v.Token), Raw: "<<", Str: "<<"}
	}
	p := posOf(an.GetToken())
	c.errf(p, "unsupported YAML construct (%s)", an.Type())
	return &Node{Kind: Null, Pos: p}
}

// tagged applies the standard tags; others are rejected, since a tag nobody
// interprets would silently change nothing.
func (c *converter) tagged(v *ast.TagNode) *Node {
	n := c.node(v.Value)
	p := posOf(v.Start)
	tag := v.Start.Value
	switch tag {
	case "!!str":
		if n.IsScalar() {
			return &Node{Kind: String, Pos: n.Pos, Raw: n.Raw, Str: n.Raw, Quoted: true}
		}
	case "!!int":
		if n.Kind == Int {
			return n
		}
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Raw, "_", ""), 0, 64); err == nil && n.IsScalar() {
			return &Node{Kind: Int, Pos: n.Pos, Raw: n.Raw, Int: i}
		}
	case "!!float":
		if n.Kind == Float {
			return n
		}
		if n.Kind == Int {
			return &Node{Kind: Float, Pos: n.Pos, Raw: n.Raw, Float: float64(n.Int)}
		}
		if f, err := strconv.ParseFloat(n.Raw, 64); err == nil && n.IsScalar() {
			return &Node{Kind: Float, Pos: n.Pos, Raw: n.Raw, Float: f}
		}
	case "!!bool":
		if n.Kind == Bool {
			return n
		}
	case "!!null":
		if n.Kind == Null {
			return n
		}
	case "!!map":
		if n.Kind == Map {
			return n
		}
	case "!!seq":
		if n.Kind == Seq {
			return n
		}
	default:
		c.errf(p, "unsupported tag %s", tag)
		return n
	}
	c.errf(p, "value %s does not fit tag %s", n.ScalarString(), tag)
	return n
}

func (c *converter) mapping(p Pos, values []*ast.MappingValueNode) *Node {
	n := &Node{Kind: Map, Pos: p}
	type kv struct {
		key    string
		keyPos Pos
		val    *Node
		merge  bool
	}
	var kvs []kv
	explicit := map[string]Pos{}
	for _, mv := range values {
		if mv.Key != nil && mv.Key.Type() == ast.MergeKeyType {
			kvs = append(kvs, kv{keyPos: posOf(mv.Key.GetToken()), val: c.node(mv.Value), merge: true})
			continue
		}
		k := c.node(mv.Key)
		if !k.IsScalar() {
			c.errf(k.Pos, "mapping keys must be scalars, not %s", k.Kind)
			continue
		}
		key := k.Text()
		if first, dup := explicit[key]; dup {
			c.errf(k.Pos, "duplicate key %q (first at %s)", key, first)
			continue
		}
		explicit[key] = k.Pos
		kvs = append(kvs, kv{key: key, keyPos: k.Pos, val: c.node(mv.Value)})
	}
	seen := map[string]bool{}
	add := func(key string, keyPos Pos, val *Node) {
		if seen[key] {
			return
		}
		seen[key] = true
		n.Entries = append(n.Entries, Entry{Key: key, KeyPos: keyPos, Value: val})
	}
	for _, e := range kvs {
		if !e.merge {
			add(e.key, e.keyPos, e.val)
			continue
		}
		var sources []*Node
		switch e.val.Kind {
		case Map:
			sources = []*Node{e.val}
		case Seq:
			sources = e.val.Items
		}
		for _, src := range sources {
			if src.Kind != Map {
				c.errf(e.keyPos, "merge key << needs a mapping or a list of mappings, not %s", src.Kind)
				continue
			}
			for _, me := range src.Entries {
				if _, ok := explicit[me.Key]; !ok {
					add(me.Key, me.KeyPos, me.Value)
				}
			}
		}
		if len(sources) == 0 {
			c.errf(e.keyPos, "merge key << needs a mapping or a list of mappings, not %s", e.val.Kind)
		}
	}
	if len(values) > 0 && !values[0].IsFlowStyle && len(n.Entries) > 0 {
		// A block mapping starts at its first key (goccy gives the ':').
		n.Pos = n.Entries[0].KeyPos
	}
	return n
}

// size counts the nodes of the tree as a walker would visit them, with
// aliases expanded; it stops counting past maxNodes.
func (n *Node) size() int {
	memo := map[*Node]int{}
	var walk func(*Node) int
	walk = func(n *Node) int {
		if s, ok := memo[n]; ok {
			return s
		}
		memo[n] = maxNodes + 1 // a cycle counts as too large
		s := 1
		for _, e := range n.Entries {
			s += walk(e.Value)
			if s > maxNodes {
				break
			}
		}
		for _, it := range n.Items {
			s += walk(it)
			if s > maxNodes {
				break
			}
		}
		memo[n] = s
		return s
	}
	return walk(n)
}
