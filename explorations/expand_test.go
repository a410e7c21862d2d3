package explorations

import (
	"errors"
	"strings"
	"testing"
)

// render writes points one a line, "NAME {params}", for table tests.
func render(points []Point) string {
	lines := make([]string, len(points))
	for i, p := range points {
		var b strings.Builder
		writeJSON(&b, p.Params, false)
		lines[i] = p.Name + " " + b.String()
	}
	return strings.Join(lines, "\n")
}

// The expected expansions below agree with the reference runner's (checked
// against it with PyYAML when they were written).
var expandTests = []struct {
	name, src, want string
}{
	{"product, last key fastest", "a: [1, 2]\nb: [x, y]\n",
		`t-1-x {"a": 1, "b": "x"}
t-1-y {"a": 1, "b": "y"}
t-2-x {"a": 2, "b": "x"}
t-2-y {"a": 2, "b": "y"}`},
	{"scalar is one value", "a: 8.0\nb: 1e-6\n", `t-8.0-1e-6 {"a": 8.0, "b": "1e-6"}`},
	{"empty list, no points", "a: []\nb: [1]\n", ``},
	{"list of lists", "a: [[1, 2], ['p', q]]\n",
		`t-[1, 2] {"a": [1, 2]}
t-['p', 'q'] {"a": ["p", "q"]}`},
	{"null is kept", "a: [null, 1]\n",
		`t-None {"a": null}
t-1 {"a": 1}`},
	{"default drops the key", "a: [default, 2]\nb: [1]\n",
		`t-1 {"b": 1}
t-2-1 {"a": 2, "b": 1}`},
	{"int range", "n: {range: {start: 1, end: 7, step: 3}}\n",
		`t-1 {"n": 1}
t-4 {"n": 4}
t-7 {"n": 7}`},
	{"int range, default step, downwards", "n: {range: {start: 2, end: 3}}\nm: {range: {start: 3, end: 1, step: -2}}\n",
		`t-2-3 {"n": 2, "m": 3}
t-3-3 {"n": 3, "m": 3}`},
	{"float range, default step 0.1", "x: {range: {start: 0.0, end: 0.3}}\n",
		`t-0.0 {"x": 0.0}
t-0.1 {"x": 0.1}
t-0.2 {"x": 0.2}
t-0.30000000000000004 {"x": 0.30000000000000004}`},
	{"float range, integer step", "x: {range: {start: 0.5, end: 4, step: 2}}\n",
		`t-0.5 {"x": 0.5}
t-2.5 {"x": 2.5}
t-4.5 {"x": 4.5}`},
	{"conditions mapping", "opt: [adam, sgd]\nmom:\n  conditions: {opt: sgd}\n  options: [0.9, 0.99]\n",
		`t-adam {"opt": "adam"}
t-sgd-0.9 {"opt": "sgd", "mom": 0.9}
t-sgd-0.99 {"opt": "sgd", "mom": 0.99}`},
	{"conditions list of mappings, conditionals go last", "c:\n  conditions: [{a: 1}, {a: 3}]\n  options: z\na: [1, 2, 3]\nb: [true]\n",
		`t-1-True-z {"a": 1, "b": true, "c": "z"}
t-2-True {"a": 2, "b": true}
t-3-True-z {"a": 3, "b": true, "c": "z"}`},
	{"conditions compare as Python (1 == True)", "a: [true]\nc: {conditions: {a: 1}, options: [k]}\n",
		`t-True-k {"a": true, "c": "k"}`},
	{"conditions without options drop the match", "a: [1, 2]\nc: {conditions: {a: 1}}\n",
		`t-2 {"a": 2}`},
	{"common_group first, out of names", "common_group: {seed: [7], off: default}\na: [1]\nseed: 7\n",
		`t-1 {"seed": 7, "a": 1}`},
	{"parameter_groups: parent keys first", "parameter_groups:\n  - b: [1, 2]\n  - b: 3\n    c: [x]\na: [0]\n",
		`t-0-1 {"a": 0, "b": 1}
t-0-2 {"a": 0, "b": 2}
t-0-3-x {"a": 0, "b": 3, "c": "x"}`},
	{"nested parameter_groups", "parameter_groups:\n  - a: 1\n    parameter_groups: [{b: 1}, {b: 2}]\n  - a: 2\n",
		`t-1-1 {"a": 1, "b": 1}
t-1-2 {"a": 1, "b": 2}
t-2 {"a": 2}`},
	{"equal values merge, the later one stays", "a: [1]\nparameter_groups: [{a: [1.0]}]\n",
		`t-1.0 {"a": 1.0}`},
	{"static group: fragment, keys hidden", `named_static_groups:
  - named_group: qk
    qk_norm: [true]
    scale: [true]
named_group_static: [qk]
lr: [0.1]
`, `t-qk-0.1 {"lr": 0.1, "qk_norm": true, "scale": true}`},
	{"variation group: values in the name", `named_variation_groups:
  - named_group: bits
    act_bits: [8.0, 16.0]
named_group_variations: [bits]
loss: [ce]
`, `t-ce-8.0 {"loss": "ce", "act_bits": 8.0}
t-ce-16.0 {"loss": "ce", "act_bits": 16.0}`},
	// A group's parameter_groups expand only after every group has been
	// merged, so their keys come last and vary slowest (as in the reference).
	{"variation groups multiply; their parameter_groups last", `named_variation_groups:
  - named_group: a
    parameter_groups: [{x: 1}, {x: 2}]
  - named_group: b
    named_group_alternates: [c, d]
  - named_group: c
    y: c
  - named_group: d
    y: d
named_group_variations: [a, b]
`, `t-c-1 {"y": "c", "x": 1}
t-c-2 {"y": "c", "x": 2}
t-d-1 {"y": "d", "x": 1}
t-d-2 {"y": "d", "x": 2}`},
	{"alternates: one branch each, branch fragment first", `named_static_groups:
  - named_group: rope
    rotary: true
  - named_group: abs
    rotary: false
  - named_group: ln
    pre_ln: true
named_group_static: [ln]
named_group_alternates: [rope, abs]
n: [1, 2]
`, `t-rope-ln-1 {"n": 1, "rotary": true, "pre_ln": true}
t-rope-ln-2 {"n": 2, "rotary": true, "pre_ln": true}
t-abs-ln-1 {"n": 1, "rotary": false, "pre_ln": true}
t-abs-ln-2 {"n": 2, "rotary": false, "pre_ln": true}`},
	{"settings merge first; nested static in static", `named_static_groups:
  - named_group: inner
    k: [1]
  - named_group: outer
    named_group_static: [inner]
    named_group_settings: {s: [2]}
named_group_static: [outer]
`, `t-inner-outer {"s": 2, "k": 1}`},
	{"multi-valued static group: names collide", `named_static_groups:
  - named_group: g
    v: [1, 2]
named_group_static: [g]
`, `t-g {"v": 1}
t-g {"v": 2}`},
	{"run name override and ${RUN_NAME}", "a: [1]\nout: [\"dir/${RUN_NAME}\"]\n_hidden: [3]\n",
		`t-1 {"a": 1, "out": "dir/${RUN_NAME}", "_hidden": 3}`},
	{"run_name_override replaces the name", "a: [1, 2]\nrun_name_override: fixed\n",
		`fixed {"a": 1, "run_name_override": "fixed"}
fixed {"a": 2, "run_name_override": "fixed"}`},
	{"documents expand in order", "a: 1\n---\na: 2\n", "t-1 {\"a\": 1}\nt-2 {\"a\": 2}"},
	{"one list document holds the configs", "- a: 1\n- b: 2\n", "t-1 {\"a\": 1}\nt-2 {\"b\": 2}"},
	{"empty file", "", ``},
	{"no keys: one point named by the stem", "common_group: {a: 1}\n", `t {"a": 1}`},
}

func TestExpand(t *testing.T) {
	for _, tt := range expandTests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Expand("dir/t.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := render(e.Points); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

var errorTests = []struct {
	name, src string
	line, col int
	key, msg  string
}{
	{"parent vs parameter_groups child", "n: [6, 8]\nparameter_groups:\n  - n: [6]\n", 3, 5, "n",
		"conflicting values when merging parameter_groups: [6, 8] (at 1:1) vs [6]"},
	{"group vs group", `named_static_groups:
  - named_group: a
    x: 1
  - named_group: b
    x: 2
named_group_static: [a, b]
`, 5, 5, "x", `conflicting values when merging named group "b": 1 (at 3:5) vs 2`},
	{"combination vs common_group", "common_group: {x: 1}\nx: [1, 2]\n", 2, 1, "x",
		"common_group sets 1 (at 1:16), which must not be overridden with 2"},
	{"static cycle", `named_static_groups:
  - named_group: a
    named_group_static: [b]
  - named_group: b
    named_group_static: [a]
named_group_static: [a]
`, 5, 5, "named_group_static", "cycle between named groups: a -> b -> a"},
	{"variation self-cycle", `named_variation_groups:
  - named_group: v
    named_group_variations: [v]
named_group_variations: [v]
`, 3, 5, "named_group_variations", "cycle between named groups: v -> v"},
	{"cycle through parameter_groups", `named_variation_groups:
  - named_group: v
    parameter_groups: [{named_group_variations: [v]}]
named_group_variations: [v]
`, 3, 5, "parameter_groups", "parameter_groups nested more than 64 deep"},
	{"unknown group", "named_group_static: [nope]\n", 1, 1, "named_group_static", `unknown static named group "nope"`},
	{"static group with two configurations", `named_static_groups:
  - named_group: s
    named_group_alternates: [p, q]
  - named_group: p
    a: 1
  - named_group: q
    a: 2
named_group_static: [s]
`, 8, 1, "named_group_static", `static named group "s" expands to 2 configurations`},
	{"duplicate group", "named_static_groups:\n  - named_group: a\n  - named_group: a\n", 3, 5, "named_group", `duplicate static group "a"`},
	{"common value with options", "common_group:\n  a: [1, 2]\n", 2, 3, "a", "must be a single option, not 2"},
	{"range int with float end", "n: {range: {start: 1, end: 2.5}}\n", 1, 1, "n", "range: start is an integer"},
	{"range zero step", "n: {range: {start: 1.0, end: 2, step: 0}}\n", 1, 1, "n", "range: step must not be zero"},
	{"range without end", "n: {range: {start: 1}}\n", 1, 1, "n", "range: end is missing"},
	{"group not a mapping", "parameter_groups: [1]\n", 1, 1, "parameter_groups", "each parameter group must be a mapping"},
	{"config not a mapping", "a: 1\n---\n- 2\n", 3, 1, "", "a config must be a mapping, not a list"},
	{"workflow inside a group", "parameter_groups: [{workflow: w.yaml}]\n", 1, 21, "workflow", "is reserved for bitflow"},
	{"workflows differ", "workflow: a.yaml\n---\nworkflow: b.yaml\n", 3, 1, "workflow", `"b.yaml" differs from "a.yaml" (at 1:1)`},
	{"too many points", "a: {range: {start: 1, end: 1000}}\nb: {range: {start: 1, end: 1000}}\n", 2, 1, "b", "exceed 100000 points"},
	{"syntax error", "a: [1, 2\n", 1, 4, "", "yaml:"},
}

func TestExpandErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Expand("t.yaml", []byte(tt.src))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if e.File != "t.yaml" || e.Line != tt.line || e.Col != tt.col || e.Key != tt.key || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %q (key %q)\nwant t.yaml:%d:%d: key %q, message containing %q", err, e.Key, tt.line, tt.col, tt.key, tt.msg)
			}
		})
	}
}

func TestReservedKeys(t *testing.T) {
	src := "workflow: flows/kd.yaml\nreport: [eval.qei, student.loss]\nlr: [0.1]\n---\nworkflow: flows/kd.yaml\nlr: [0.2]\n"
	e, err := Expand("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if e.Workflow != "flows/kd.yaml" || strings.Join(e.Report, ",") != "eval.qei,student.loss" {
		t.Errorf("workflow %q, report %q", e.Workflow, e.Report)
	}
	if got, want := render(e.Points), "s-0.1 {\"lr\": 0.1}\ns-0.2 {\"lr\": 0.2}"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestLegacyConditions: the reference never matches [[k, v]] conditions and
// expand reproduces that, but the file is flagged so that a sweep refuses it.
func TestLegacyConditions(t *testing.T) {
	src := "opt: [adam, sgd]\nmom:\n  conditions:\n    - [opt, sgd]\n  options: [0.9]\n"
	e, err := Expand("l.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(e.Points), "l-adam {\"opt\": \"adam\"}\nl-sgd {\"opt\": \"sgd\"}"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	err = e.Check()
	want := `l.yaml:3:3: conditions: the legacy form ['opt', 'sgd'] never matches`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `write {opt: "sgd"}`) {
		t.Errorf("Check() = %v, want %q...", err, want)
	}
	var one *Error
	if !errors.As(err, &one) || one.Key != "conditions" {
		t.Errorf("Check() error is not a positioned *Error: %#v", err)
	}
}

func TestDuplicateKeysAreDefects(t *testing.T) {
	e, err := Expand("d.yaml", []byte("a: [1]\na: [1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Points) != 1 || e.Check() == nil || !strings.Contains(e.Check().Error(), `d.yaml:2:1: a: duplicate key "a"`) {
		t.Errorf("points %v, check %v", render(e.Points), e.Check())
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"a/b/sweep.yaml": "sweep", "x.tar.yaml": "x.tar", ".yaml": ".yaml", "noext": "noext", "a.": "a.", `c:\d\e.yml`: "e",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}
