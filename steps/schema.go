package steps

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Schema describes a kind: what `bitflow kinds` prints and what the runner
// validates a step's `with:` and inputs against.
type Schema struct {
	Doc     string
	Params  []Param
	Inputs  []Port
	Outputs []Port
	// CPUs is how many CPU slots a step of this kind takes by default
	// (0 means 1; AllCPUs means every slot the run has).
	CPUs int
}

// AllCPUs as Schema.CPUs makes a kind take every CPU slot of the run.
const AllCPUs = -1

// Type is a parameter type.
type Type string

// Parameter types. Values arrive as the YAML decoder produced them and are
// normalised by Check: ints stay int64, floats become float64 (an integer is
// accepted for a float), lists are []any and maps map[string]any.
const (
	String Type = "string"
	Int    Type = "int"
	Float  Type = "float"
	Bool   Type = "bool"
	List   Type = "list"
	Map    Type = "map"
	Any    Type = "any"
)

// Param is one parameter of a kind.
type Param struct {
	Name string
	Type Type
	// Default is used when the step does not set the parameter; nil with
	// Required false means the parameter is simply absent.
	Default  any
	Required bool
	// Enum, if set, lists the allowed values of a string parameter.
	Enum []string
	Doc  string
	// Meta marks a parameter that cannot change results (a concurrency
	// limit, a timeout): it is kept out of the step's key, so changing it
	// never recomputes anything (design §3: metadata is kept out by type).
	Meta bool
}

// Port is an input or output of a kind.
type Port struct {
	Name     string
	Optional bool // inputs only
	// Measurement marks an output that holds wall-clock figures, which
	// `--verify` compares without its timing fields.
	Measurement bool
	Doc         string
}

// Param returns the parameter called name, or nil.
func (s Schema) Param(name string) *Param {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i]
		}
	}
	return nil
}

// ParamError is a problem with one parameter value.
type ParamError struct {
	Name string
	Msg  string
}

func (e *ParamError) Error() string { return fmt.Sprintf("%s: %s", e.Name, e.Msg) }

// Resolve checks given values against the schema and fills in defaults. It
// returns every problem found, one per parameter.
func (s Schema) Resolve(given map[string]any) (Values, []*ParamError) {
	out := Values{}
	var errs []*ParamError
	for _, p := range s.Params {
		v, ok := given[p.Name]
		if !ok {
			if p.Required {
				errs = append(errs, &ParamError{p.Name, "required parameter is missing"})
			} else if p.Default != nil {
				out[p.Name] = p.Default
			}
			continue
		}
		cv, err := p.Check(v)
		if err != nil {
			errs = append(errs, &ParamError{p.Name, err.Error()})
			continue
		}
		out[p.Name] = cv
	}
	for name := range given {
		if s.Param(name) == nil {
			errs = append(errs, &ParamError{name, "unknown parameter"})
		}
	}
	slices.SortFunc(errs, func(a, b *ParamError) int { return strings.Compare(a.Name, b.Name) })
	return out, errs
}

// Check validates one value and returns it in normal form.
func (p Param) Check(v any) (any, error) {
	switch p.Type {
	case Any:
		return v, nil
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected a string, got %s (quote it if it is meant as text)", describe(v))
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
		}
		return s, nil
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		}
		return nil, fmt.Errorf("expected an integer, got %s", describe(v))
	case Float:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("expected a finite number, got %v", x)
			}
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
		return nil, fmt.Errorf("expected a number, got %s", describe(v))
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("expected true or false, got %s", describe(v))
	case List:
		if l, ok := v.([]any); ok {
			return l, nil
		}
		return nil, fmt.Errorf("expected a list, got %s", describe(v))
	case Map:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("expected a mapping, got %s", describe(v))
	}
	panic(fmt.Sprintf("steps: parameter %q has unknown type %q", p.Name, p.Type))
}

// describe names a value's type and shows it, for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64, int:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// Values holds a step's checked parameters. The accessors panic on a
// missing or mistyped parameter: the schema guarantees both, so that would
// be a bug in the kind, not bad input.
type Values map[string]any

func (v Values) get(name string) any {
	x, ok := v[name]
	if !ok {
		panic(fmt.Sprintf("steps: parameter %q is not set", name))
	}
	return x
}

// String returns a string parameter.
func (v Values) String(name string) string { return v.get(name).(string) }

// Int returns an integer parameter.
func (v Values) Int(name string) int { return int(v.get(name).(int64)) }

// Float returns a number parameter.
func (v Values) Float(name string) float64 { return v.get(name).(float64) }

// Bool returns a boolean parameter.
func (v Values) Bool(name string) bool { return v.get(name).(bool) }

// List returns a list parameter.
func (v Values) List(name string) []any { return v.get(name).([]any) }

// Map returns a mapping parameter.
func (v Values) Map(name string) map[string]any { return v.get(name).(map[string]any) }

// Has reports whether the parameter is set.
func (v Values) Has(name string) bool { _, ok := v[name]; return ok }

// Normalizer is implemented by kinds with measurement outputs (reports that
// hold wall-clock figures). Normalize returns an output's bytes without its
// timing fields, so that `bitflow run --verify` can check that everything
// else is reproducible.
type Normalizer interface {
	Normalize(output string, data []byte) ([]byte, error)
}
