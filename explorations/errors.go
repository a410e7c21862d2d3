package explorations

import (
	"fmt"
	"strings"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// Error is one problem in an exploration file, at the position it came from.
// Key names the parameter or grammar key involved; it is empty for problems
// that belong to no key (YAML syntax, a document that is not a mapping).
type Error struct {
	File      string
	Line, Col int
	Key       string
	Msg       string
}

// Error formats the problem as "file:line:col: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems in the order they were found.
type Errors []*Error

// Error joins the problems, one a line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives errors.As access to each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// errAt builds an error at pos for key.
func errAt(file string, pos yamlnode.Pos, key, format string, args ...any) *Error {
	return &Error{File: file, Line: pos.Line, Col: pos.Col, Key: key, Msg: fmt.Sprintf(format, args...)}
}
