package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Expr is one `${{ scope.name }}` reference inside a string.
type Expr struct {
	Scope string // params, inputs or outputs
	Name  string
	// Start and End delimit the whole `${{ ... }}` in the string.
	Start, End int
}

func (e Expr) String() string { return "${{ " + e.Scope + "." + e.Name + " }}" }

var exprBody = regexp.MustCompile(`^\s*(params|inputs|outputs)\.([A-Za-z_][A-Za-z0-9_-]*)\s*$`)

// ParseExprs finds every `${{ ... }}` in s. Malformed or unknown
// expressions are reported together in the error (each quoted); the valid
// ones are returned in any case.
func ParseExprs(s string) ([]Expr, error) {
	var out []Expr
	var errs []error
	for off := 0; ; {
		i := strings.Index(s[off:], "${{")
		if i < 0 {
			return out, errors.Join(errs...)
		}
		start := off + i
		j := strings.Index(s[start+3:], "}}")
		if nested := strings.Index(s[start+3:], "${{"); j < 0 || nested >= 0 && nested < j {
			errs = append(errs, fmt.Errorf("unterminated expression %q (missing \"}}\")", clip(s[start:])))
			return out, errors.Join(errs...)
		}
		end := start + 3 + j + 2
		off = end
		m := exprBody.FindStringSubmatch(s[start+3 : end-2])
		if m == nil {
			errs = append(errs, fmt.Errorf("unknown expression %q: use ${{ params.NAME }}, ${{ inputs.NAME }} or ${{ outputs.NAME }}", s[start:end]))
			continue
		}
		out = append(out, Expr{Scope: m[1], Name: m[2], Start: start, End: end})
	}
}

// Expand replaces every expression of s with what fn returns for it.
// Expressions fn declines (ok false) are left as they are.
func Expand(s string, fn func(Expr) (string, bool, error)) (string, error) {
	exprs, err := ParseExprs(s)
	if err != nil || len(exprs) == 0 {
		return s, err
	}
	var b strings.Builder
	last := 0
	for _, e := range exprs {
		rep, ok, err := fn(e)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		b.WriteString(s[last:e.Start])
		b.WriteString(rep)
		last = e.End
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// WholeExpr reports whether s consists of exactly one expression (with
// optional surrounding spaces), in which case a parameter keeps its type
// (`lr: ${{ params.lr }}` stays a number).
func WholeExpr(s string) (Expr, bool) {
	exprs, err := ParseExprs(s)
	if err != nil || len(exprs) != 1 {
		return Expr{}, false
	}
	e := exprs[0]
	if strings.TrimSpace(s[:e.Start]) != "" || strings.TrimSpace(s[e.End:]) != "" {
		return Expr{}, false
	}
	return e, true
}

func clip(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
