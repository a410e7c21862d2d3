package runner

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/workflows"
)

// Parameter types are checked when planning, after ${{ params.* }}
// substitution and --set, and each problem points at the `with:` value.
func TestPlanReportsBadParamTypes(t *testing.T) {
	tests := []struct {
		name string
		with string
		sets []string
		want []string // every error, in order
	}{
		{"wrong literal type", `{value: 3}`, nil,
			[]string{`test.yaml:7:19: step "a": with.value: expected a string, got the integer 3 (quote it if it is meant as text)`}},
		{"enum violation", `{value: x, mode: slow}`, nil,
			[]string{`test.yaml:7:28: step "a": with.mode: "slow" is not one of fast, exact`}},
		{"param of the wrong type", `{value: x, sleep_ms: "${{ params.n }}"}`, nil,
			[]string{`test.yaml:7:32: step "a": with.sleep_ms: expected an integer, got the string "ten" (from params.n)`}},
		{"--set of the wrong type", `{value: x, fail: "${{ params.flag }}"}`, []string{"flag=maybe"},
			[]string{`test.yaml:7:28: step "a": with.fail: expected true or false, got the string "maybe" (from params.flag)`}},
		{"interpolated is a string, not the param", `{value: x, sleep_ms: "1${{ params.n }}"}`, nil,
			[]string{`test.yaml:7:32: step "a": with.sleep_ms: expected an integer, got the string "1ten"`}},
		{"every problem at once", `{value: [x], sleep_ms: "${{ params.flag }}", block: 1}`, nil,
			[]string{
				`test.yaml:7:19: step "a": with.value: expected a string, got a list (quote it if it is meant as text)`,
				`test.yaml:7:34: step "a": with.sleep_ms: expected an integer, got true (from params.flag)`,
				`test.yaml:7:63: step "a": with.block: expected true or false, got the integer 1`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			src := "params:\n  n: ten\n  flag: true\nsteps:\n  a:\n    uses: rec\n    with: " + tt.with + "\n"
			w, err := workflows.Load("test.yaml", []byte(src), LoaderKinds(e.reg))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			_, err = NewPlan(w, e.reg, Options{Sets: tt.sets})
			var errs workflows.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("plan: %v, want workflow errors", err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// --set reads its value as YAML, but an empty value is the empty string
// (what `--set name=` means), not null, which reached commands as "null".
func TestSetValues(t *testing.T) {
	src := `
params:
  word: hello
steps:
  a:
    run: echo "[${{ params.word }}]" > ${{ outputs.out }}
    outputs: [out]
`
	tests := []struct {
		set  string
		want any
		cmd  string
	}{
		{"word=", "", `echo "[]"`},
		{"word= ", " ", `echo "[ ]"`},
		{"word=hi", "hi", `echo "[hi]"`},
		{"word=3", int64(3), `echo "[3]"`},
		{"word=null", nil, `echo "[null]"`},
		{`word=""`, "", `echo "[]"`},
		{"word=[a, b]", []any{"a", "b"}, `echo "[["a","b"]]"`},
	}
	for _, tt := range tests {
		e := newEnv(t)
		p := e.plan(src, Options{Sets: []string{tt.set}})
		if got := p.Params["word"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("--set %s: param %#v, want %#v", tt.set, got, tt.want)
		}
		if got := p.Node("a").Params.String("run"); !strings.HasPrefix(got, tt.cmd+" > ") {
			t.Errorf("--set %s: command %q, want %q", tt.set, got, tt.cmd)
		}
	}
}
