// Package explorations reads exploration (sweep) files, written in the
// grammar of nanoGPT's exploration runner, and expands them into points:
// named sets of parameter values, in the reference runner's order and with
// its names. The grammar is ../shared/spec/explorations.md; the expected
// expansions of real files are ../shared/conformance/explorations/.
//
// The package knows nothing of workflows, steps or models: a point is a name
// and an ordered mapping of values.
package explorations

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bitflow-dev/bitflow/internal/yamlnode"
)

// maxPoints bounds an expansion. The largest real exploration has under a
// thousand points; a file that multiplies out past this is a mistake more
// often than an intent, and expanding it would take memory without bound.
const maxPoints = 100_000

// maxWork bounds the intermediate configs built on the way to the points
// (named groups multiply before any point exists).
const maxWork = 10 * maxPoints

// Exploration is an expanded exploration file.
type Exploration struct {
	// File is the name the file was read under, as used in messages.
	File string
	// Stem is the file name without directory and extension, the first
	// part of every point's name.
	Stem string
	// Workflow and Report are bitflow's reserved keys: the workflow the
	// points run and the metrics to tabulate. They are never params.
	Workflow string
	Report   []string
	// Points are the combinations in the reference runner's order.
	Points []Point
	// Defects are constructs the reference runner accepts but mishandles
	// (the legacy conditions form, which never matches). Expansion keeps
	// the reference's behaviour; Check turns them into an error for
	// running a sweep.
	Defects []*Error
}

// Check returns the defects as an error (nil if there are none): bitflow
// runs no sweep whose file relies on the reference runner's defects.
func (e *Exploration) Check() error {
	if len(e.Defects) == 0 {
		return nil
	}
	return Errors(e.Defects)
}

// ExpandFile reads and expands the exploration file at path; path is also
// the file name in messages.
func ExpandFile(path string) (*Exploration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Expand(path, data)
}

// Expand expands an exploration file's contents. name is the file's name:
// its stem starts every point name, it appears in messages, and a .json
// extension reads the contents as JSON (a list of configs) instead of YAML.
func Expand(name string, data []byte) (*Exploration, error) {
	isJSON := strings.EqualFold(filepath.Ext(name), ".json")
	x := &expander{file: name, legacySeen: map[yamlnode.Pos]bool{}}
	if err := x.checkText(data, isJSON); err != nil {
		return nil, err
	}
	docs, err := yamlnode.Parse(data)
	if err != nil {
		if docs == nil || !x.onlyDuplicateKeys(err) {
			return nil, x.parseError(err)
		}
	}
	configs, err := x.configs(docs, isJSON)
	if err != nil {
		return nil, err
	}
	out := &Exploration{File: name, Stem: stem(name)}
	for _, cfg := range configs {
		cfg, wf := cfg.pop(keyWorkflow)
		cfg, rep := cfg.pop(keyReport)
		if err := x.reserved(out, wf, rep); err != nil {
			return nil, err
		}
		points, err := x.config(cfg, out.Stem)
		if err != nil {
			return nil, err
		}
		if len(out.Points)+len(points) > maxPoints {
			return nil, errAt(name, cfg.pos, "", "the exploration expands to more than %d points", maxPoints)
		}
		out.Points = append(out.Points, points...)
	}
	out.Defects = x.defects
	return out, nil
}

// stem is Python's PurePath(name).stem, which the reference uses as the
// base of run names.
func stem(name string) string {
	base := name
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.LastIndexByte(base, '.'); 0 < i && i < len(base)-1 {
		return base[:i]
	}
	return base
}

// expander holds what one file's expansion shares.
type expander struct {
	file       string
	static     map[string]*dict
	variation  map[string]*dict
	work       int
	defects    []*Error
	legacySeen map[yamlnode.Pos]bool
	// where the file's workflow and report were first set
	workflowAt, reportAt *yamlnode.Pos
}

// spend counts n intermediate results against maxWork.
func (x *expander) spend(n int, pos yamlnode.Pos, key string) error {
	x.work += n
	if x.work > maxWork {
		return errAt(x.file, pos, key, "the exploration expands to more than %d points", maxPoints)
	}
	return nil
}

// checkText rejects what PyYAML's reader rejects before parsing: bytes that
// are not UTF-8 and control characters other than tab and line breaks.
func (x *expander) checkText(data []byte, isJSON bool) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return errAt(x.file, yamlnode.Pos{Line: line, Col: col}, "", "the file is not valid UTF-8")
		case !isJSON && !yamlPrintable(r):
			return errAt(x.file, yamlnode.Pos{Line: line, Col: col}, "", "control character %U is not allowed in YAML", r)
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// yamlPrintable is PyYAML's Reader.NON_PRINTABLE, inverted.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (0x20 <= r && r <= 0x7e) || r == 0x85 ||
		(0xa0 <= r && r <= 0xd7ff) || (0xe000 <= r && r <= 0xfffd) || (0x10000 <= r && r <= 0x10ffff)
}

func (x *expander) parseError(err error) error {
	var ye yamlnode.Errors
	if !errors.As(err, &ye) {
		return &Error{File: x.file, Msg: err.Error()}
	}
	out := make(Errors, len(ye))
	for i, e := range ye {
		out[i] = &Error{File: x.file, Line: e.Pos.Line, Col: e.Pos.Col, Msg: e.Msg}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// onlyDuplicateKeys reports whether every problem yamlnode found is a
// duplicate key, and records each as a defect. PyYAML accepts duplicate
// keys (the last value wins, in the first one's place) and real files
// repeat keys with the same value (gqa.yaml), so expansion goes on with the
// tree yamlnode keeps, which holds the first value; since the reference
// would take the last, running the sweep is refused (see Check).
func (x *expander) onlyDuplicateKeys(err error) bool {
	var ye yamlnode.Errors
	if !errors.As(err, &ye) {
		return false
	}
	for _, e := range ye {
		// yamlnode has no error kinds; its message is the only signal.
		if !strings.HasPrefix(e.Msg, "duplicate key ") {
			return false
		}
	}
	for _, e := range ye {
		key := strings.TrimPrefix(e.Msg, "duplicate key ")
		if i := strings.Index(key, " (first at"); i >= 0 {
			key = key[:i]
		}
		if k, uerr := strconv.Unquote(key); uerr == nil {
			key = k
		}
		x.defects = append(x.defects, errAt(x.file, e.Pos, key,
			"%s; PyYAML keeps the last value, bitflow expanded with the first: remove one of them", e.Msg))
	}
	return true
}

// configs splits the documents into configs: a single document that is a
// list holds one config per element (always so for JSON); otherwise each
// document is one. An empty file has none.
func (x *expander) configs(docs []*yamlnode.Node, isJSON bool) ([]*dict, error) {
	r := &reader{file: x.file, json: isJSON}
	if len(docs) == 0 || len(docs) == 1 && docs[0].Kind == yamlnode.Null && docs[0].Raw == "" {
		if isJSON {
			return nil, errAt(x.file, yamlnode.Pos{Line: 1, Col: 1}, "", "a JSON exploration must be a list of configs")
		}
		return nil, nil
	}
	nodes := docs
	if len(docs) == 1 && docs[0].Kind == yamlnode.Seq {
		nodes = docs[0].Items
	} else if isJSON {
		return nil, errAt(x.file, docs[0].Pos, "", "a JSON exploration must be a list of configs")
	}
	var out []*dict
	for _, n := range nodes {
		v, err := r.value(n)
		if err != nil {
			return nil, err
		}
		d, ok := v.(*dict)
		if !ok {
			return nil, errAt(x.file, n.Pos, "", "a config must be a mapping, not %s", kindOf(v))
		}
		out = append(out, d)
	}
	return out, nil
}

// reserved records the file's workflow and report; configs that repeat
// them must agree.
func (x *expander) reserved(out *Exploration, wf, rep *entry) error {
	if wf != nil {
		s, ok := wf.val.(string)
		if !ok || s == "" {
			return errAt(x.file, wf.pos, wf.key, "must be a workflow file or name, not %s", kindOf(wf.val))
		}
		if x.workflowAt != nil && s != out.Workflow {
			return errAt(x.file, wf.pos, wf.key, "%q differs from %q (at %s); a file runs one workflow", s, out.Workflow, *x.workflowAt)
		}
		out.Workflow, x.workflowAt = s, &wf.pos
	}
	if rep != nil {
		var metrics []string
		for _, v := range asList(rep.val) {
			s, ok := v.(string)
			if !ok || s == "" {
				return errAt(x.file, rep.pos, rep.key, "must list metric names, not %s", kindOf(v))
			}
			metrics = append(metrics, s)
		}
		if x.reportAt != nil && !equalStrings(metrics, out.Report) {
			return errAt(x.file, rep.pos, rep.key, "differs from the report at %s; a file has one report", *x.reportAt)
		}
		out.Report, x.reportAt = metrics, &rep.pos
	}
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
