package workflows

import (
	"strings"
	"testing"
)

func TestParseExprs(t *testing.T) {
	tests := []struct {
		in    string
		want  []string // Scope.Name of each expression found
		error string
	}{
		{"plain text", nil, ""},
		{"echo ${{ params.x }} > ${{outputs.out}}", []string{"params.x", "outputs.out"}, ""},
		{"${{  inputs.a-b_c  }}", []string{"inputs.a-b_c"}, ""},
		{"${{ env.HOME }} ${{ params.y }}", []string{"params.y"}, `unknown expression "${{ env.HOME }}"`},
		{"${{ params.x", nil, "unterminated expression"},
		{"${{ params.x ${{ params.y }}", nil, "unterminated expression"},
		{"${{ params. }}", nil, "unknown expression"},
		{"$ {{ not one }}", nil, ""},
	}
	for _, tt := range tests {
		exprs, err := ParseExprs(tt.in)
		var got []string
		for _, e := range exprs {
			got = append(got, e.Scope+"."+e.Name)
			if !strings.HasPrefix(tt.in[e.Start:e.End], "${{") || !strings.HasSuffix(tt.in[e.Start:e.End], "}}") {
				t.Errorf("%q: bad span %d:%d", tt.in, e.Start, e.End)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q: got %v, want %v", tt.in, got, tt.want)
		}
		if (err == nil) != (tt.error == "") || err != nil && !strings.Contains(err.Error(), tt.error) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.error)
		}
	}
}

func TestExpandAndWholeExpr(t *testing.T) {
	got, err := Expand("a ${{ params.x }} b ${{ inputs.y }}", func(e Expr) (string, bool, error) {
		if e.Scope == "params" {
			return "X", true, nil
		}
		return "", false, nil
	})
	if err != nil || got != "a X b ${{ inputs.y }}" {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if e, ok := WholeExpr("  ${{ params.lr }} "); !ok || e.Name != "lr" {
		t.Errorf("WholeExpr did not match a lone expression")
	}
	if _, ok := WholeExpr("lr=${{ params.lr }}"); ok {
		t.Errorf("WholeExpr matched an expression inside text")
	}
}
