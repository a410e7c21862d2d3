package explorations

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// The reference runner reads files with PyYAML, which resolves plain scalars
// by YAML 1.1's rules, not by the YAML 1.2 core schema yamlnode follows:
// 1e-6 (no dot) and 1.0e6 (no exponent sign) are strings, yes/no/on/off are
// booleans, 010 is octal, 1:30 is sexagesimal. These are PyYAML's implicit
// resolvers (yaml/resolver.py), tried in its order for plain scalars only.
var (
	py11Bool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	py11Float = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	py11Int = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	py11Null      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	py11Timestamp = regexp.MustCompile(`^(?:[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?` +
		`|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?)$`)

	// jsonNumber is the number grammar of JSON; Python's json module reads it
	// as an int unless it has a fraction or an exponent.
	jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)
)

// reader turns yamlnode trees into exploration values (see dict).
type reader struct {
	file string
	json bool // resolve scalars as Python's json module does
}

func (r *reader) value(n *yamlnode.Node) (any, error) {
	switch n.Kind {
	case yamlnode.Map:
		d := &dict{pos: n.Pos, entries: make([]entry, 0, len(n.Entries))}
		for _, e := range n.Entries {
			v, err := r.value(e.Value)
			if err != nil {
				return nil, err
			}
			d.entries = append(d.entries, entry{e.Key, e.KeyPos, v})
		}
		return d, nil
	case yamlnode.Seq:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			if glued(it) {
				e := it.Entries[0]
				return nil, errAt(r.file, e.KeyPos, "", "%s:%s in a flow list inside a flow mapping is read as a mapping by bitflow's YAML parser but as one scalar by PyYAML; quote it",
					e.Key, e.Value.Raw)
			}
			v, err := r.value(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	if n.Kind == yamlnode.String && n.Quoted {
		return n.Str, nil
	}
	if r.json {
		return r.jsonScalar(n)
	}
	return r.py11Scalar(n)
}

// glued reports a list item that goccy/go-yaml read as a one-key mapping
// although no space follows the colon ([a:b] inside {k: [...]}): YAML and
// PyYAML read such text as one plain scalar. Rebuilding the scalar would
// be guesswork, so the reader refuses it.
func glued(n *yamlnode.Node) bool {
	if n.Kind != yamlnode.Map || len(n.Entries) != 1 {
		return false
	}
	e := n.Entries[0]
	return e.Value.IsScalar() && e.Value.Pos.Line == e.KeyPos.Line &&
		e.Value.Pos.Col == e.KeyPos.Col+utf8.RuneCountInString(e.Key)+1
}

// py11Scalar resolves a plain scalar as PyYAML does.
func (r *reader) py11Scalar(n *yamlnode.Node) (any, error) {
	raw := n.Raw
	if n.Kind == yamlnode.Null {
		raw = strings.TrimSpace(raw)
	}
	var v any
	var err error
	switch {
	case py11Bool.MatchString(raw):
		v = raw[0] == 'y' || raw[0] == 'Y' || raw[0] == 't' || raw[0] == 'T' || strings.EqualFold(raw, "on")
	case py11Float.MatchString(raw):
		v, err = py11Float64(raw)
	case py11Int.MatchString(raw):
		v, err = py11Int64(raw)
	case py11Null.MatchString(raw):
		v = nil
	case py11Timestamp.MatchString(raw):
		return nil, errAt(r.file, n.Pos, "", "%s is a YAML 1.1 timestamp, which explorations do not support; quote it to make it a string", raw)
	case raw == "=":
		// PyYAML tags a plain "=" as a value node and safe_load refuses it.
		return nil, errAt(r.file, n.Pos, "", "a plain = is not a value PyYAML can read; quote it")
	default:
		v = raw
	}
	if err != nil {
		return nil, errAt(r.file, n.Pos, "", "%v", err)
	}
	if tagged(n, v) {
		return n.Value(), nil
	}
	return v, nil
}

// tagged reports whether yamlnode gave the scalar a type that no implicit
// rule gives its text: that only happens under an explicit tag (!!float 1),
// which PyYAML honours too, so the node's own value stands.
func tagged(n *yamlnode.Node, py any) bool {
	switch py.(type) {
	case string:
		return false // PyYAML's rules win over YAML 1.2's for untagged text
	case bool:
		return n.Kind != yamlnode.Bool && n.Kind != yamlnode.String
	case int64:
		return n.Kind != yamlnode.Int && n.Kind != yamlnode.String
	case float64:
		return n.Kind != yamlnode.Float && n.Kind != yamlnode.String
	case nil:
		return n.Kind != yamlnode.Null && n.Kind != yamlnode.String
	}
	return false
}

// py11Float64 is PyYAML's construct_yaml_float.
func py11Float64(raw string) (float64, error) {
	v := strings.ToLower(strings.ReplaceAll(raw, "_", ""))
	sign := 1.0
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		parts := strings.Split(v, ":")
		total, base := 0.0, 1.0
		for i := len(parts) - 1; i >= 0; i-- {
			d, err := strconv.ParseFloat(parts[i], 64)
			if err != nil {
				return 0, err
			}
			total += d * base
			base *= 60
		}
		return sign * total, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && !isRangeErr(err) { // Python reads 1.0e+400 as inf
		return 0, err
	}
	return sign * f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// py11Int64 is PyYAML's construct_yaml_int. Python's ints are unbounded;
// bitflow's stop at 64 bits, and a larger one is an error, never a wrap.
func py11Int64(raw string) (int64, error) {
	v := strings.ReplaceAll(raw, "_", "")
	neg := v[0] == '-'
	if v[0] == '-' || v[0] == '+' {
		v = v[1:]
	}
	n := new(big.Int)
	ok := true
	switch {
	case v == "0":
	case strings.HasPrefix(v, "0b"):
		_, ok = n.SetString(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		_, ok = n.SetString(v[2:], 16)
	case v[0] == '0':
		_, ok = n.SetString(v, 8)
	case strings.Contains(v, ":"):
		base := big.NewInt(1)
		parts := strings.Split(v, ":")
		for i := len(parts) - 1; i >= 0; i-- {
			d, dok := new(big.Int).SetString(parts[i], 10)
			if !dok {
				ok = false
				break
			}
			n.Add(n, d.Mul(d, base))
			base.Mul(base, big.NewInt(60))
		}
	default:
		_, ok = n.SetString(v, 10)
	}
	if !ok {
		return 0, &strconv.NumError{Func: "int", Num: raw, Err: strconv.ErrSyntax}
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, &strconv.NumError{Func: "int", Num: raw, Err: strconv.ErrRange}
	}
	return n.Int64(), nil
}

// jsonScalar resolves an unquoted JSON scalar as Python's json.loads does
// (including its NaN and Infinity extensions).
func (r *reader) jsonScalar(n *yamlnode.Node) (any, error) {
	raw := n.Raw
	switch raw {
	case "null":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	m := jsonNumber.FindStringSubmatch(raw)
	if m == nil {
		return nil, errAt(r.file, n.Pos, "", "%q is not a JSON value", raw)
	}
	if m[1] == "" && m[2] == "" {
		i, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, errAt(r.file, n.Pos, "", "integer %s is out of range", raw)
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil && !isRangeErr(err) {
		return nil, errAt(r.file, n.Pos, "", "%v", err)
	}
	return f, nil
}
