package cli

import (
	"fmt"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/diff"
)

func init() {
	register(&command{
		name:    "diff",
		args:    "RUN RUN [RUN...]",
		summary: "Compare runs or sweeps: params, steps, metrics and outputs by content.",
		help: `Each RUN is a run ID, a unique prefix of one, or "latest". The first run is
the base; every other run is compared with it:

  params    the workflow params (and --set) that differ
  steps     matched by name: status and ActionID changes, added and removed steps
  outputs   every output's digest, same or changed
  metrics   the action records' metrics and the numeric fields of measurement
            reports (eval, baseline, dryrun), with absolute and relative deltas
  content   for each changed output, by what it holds: JSON field by field,
            JSONL metric logs per key (lines, last value, minimum), Parquet
            (schema, rows, per-column min/max/mean and list lengths), safetensors
            checkpoints (per-tensor L2 and relative L2 of the difference, shape
            changes, and for ternary projections the number of weights whose
            ternary value flips, quantized exactly as the model does), and
            directory outputs file by file

When both runs are sweeps, their points are matched by point ID (else by
name) and compared point by point, with steps named as in the workflow; when
only one is, the diff says so. Unchanged rows are left out unless --all.

The exit code is 0 whenever the diff was computed, with or without
differences; 2 for a bad command line or an unknown run; 4 when the store
cannot be read.

Examples:
  bitflow diff 0197a3 latest              what changed between two runs
  bitflow diff 0197a3 0197b8 0197c2 --md  two runs against one base, as Markdown
  bitflow diff 0197a3 latest --json       everything, as one JSON object`,
		setup: func(c *ctx) func([]string) error {
			var md, all bool
			var limit int
			c.addJSON("print the diff as one JSON object (every row, changed or not)")
			c.fs.BoolVar(&md, "md", false, "print the diff as Markdown tables")
			c.fs.BoolVar(&all, "all", false, "show unchanged steps, metrics and columns too")
			c.fs.IntVar(&limit, "limit", 40, "show at most this many rows per table (0: all)")
			return func(args []string) error {
				if len(args) < 2 {
					return usageErr("expected at least two runs: RUN RUN [RUN...]")
				}
				if md && c.json {
					return usageErr("--json and --md exclude each other")
				}
				st, err := c.openExistingStore()
				if err != nil {
					return err
				}
				ids := make([]string, len(args))
				for i, a := range args {
					if ids[i], err = st.ResolveRun(a); err != nil {
						return usageErr("%v", err)
					}
				}
				rep, err := diff.Runs(st, ids, diff.Options{Measurement: measurementOutput})
				if err != nil {
					return storeErr(err)
				}
				if c.json {
					return c.printJSON(rep)
				}
				d := diffDoc(rep, all, limit)
				if md {
					return d.writeMarkdown(c.stdout)
				}
				return d.writeText(c.stdout)
			}
		},
	})
}

// measurementOutput reports whether a kind declares output as a
// measurement report.
func measurementOutput(kind, output string) bool {
	k, ok := registry.Get(kind)
	if !ok {
		return false
	}
	for _, p := range k.Params().Outputs {
		if p.Name == output {
			return p.Measurement
		}
	}
	return false
}

func runLabel(r diff.RunInfo) string {
	// Full IDs: time-ordered UUIDs of nearby runs share long prefixes.
	s := fmt.Sprintf("%s (%s, %s", r.ID, r.Workflow, r.Status)
	if r.Sweep {
		s += ", sweep"
	}
	return s + ")"
}

// diffDoc lays a report out as sections per compared run.
func diffDoc(rep *diff.Report, all bool, limit int) *doc {
	d := &doc{}
	for _, c := range rep.Comparisons {
		d.heading(1, "diff %s -> %s", runLabel(rep.Base), runLabel(c.Other))
		paramSection(d, c)
		stepSections(d, c.Steps, all, limit, true)
		metricSection(d, "metrics", c.Metrics, all, limit)
		contentSections(d, c.Steps, all, limit)
		if c.Sweep != nil {
			sweepSection(d, c.Sweep, all, limit)
		}
	}
	return d
}

func paramSection(d *doc, c diff.Comparison) {
	if len(c.Params) == 0 && c.Sets == nil {
		d.heading(2, "params: same")
		return
	}
	d.heading(2, "params: %d changed", len(c.Params))
	var rows [][]string
	for _, v := range c.Params {
		rows = append(rows, []string{v.Key, fmtAny(v.Base), fmtAny(v.Other), v.Change})
	}
	if c.Sets != nil {
		set := func(v any) string {
			if v == "" {
				return "-"
			}
			return fmtAny(v)
		}
		rows = append(rows, []string{"--set", set(c.Sets.Base), set(c.Sets.Other), c.Sets.Change})
	}
	d.table([]string{"PARAM", "BASE", "OTHER", "CHANGE"}, rows, 0)
}

// stepSections shows the steps and, with outputs, every output's digest.
func stepSections(d *doc, steps []diff.StepDiff, all bool, limit int, outputs bool) {
	counts := map[string]int{}
	var rows, outRows [][]string
	for _, s := range steps {
		counts[s.Change]++
		if s.Change != diff.Same || all {
			rows = append(rows, []string{s.Name, s.Kind, s.Change, arrow(s.BaseStatus, s.OtherStatus), arrow(short(s.BaseAction), short(s.OtherAction))})
		}
		for _, o := range s.Outputs {
			if o.Change == diff.Same && !all {
				continue
			}
			outRows = append(outRows, []string{s.Name + "." + o.Name, o.Change, arrow(short(string(o.Base)), short(string(o.Other))), outputSummary(o)})
		}
	}
	d.heading(2, "steps: %s", changeCounts(counts))
	if len(rows) > 0 {
		d.table([]string{"STEP", "KIND", "CHANGE", "STATUS", "ACTION"}, rows, limit)
	}
	if outputs && len(outRows) > 0 {
		d.heading(2, "outputs")
		d.table([]string{"OUTPUT", "CHANGE", "DIGEST", "CONTENT"}, outRows, limit)
	}
}

func changeCounts(m map[string]int) string {
	var parts []string
	for _, k := range []string{diff.Changed, diff.Added, diff.Removed, diff.Same} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func metricSection(d *doc, title string, vals []diff.Value, all bool, limit int) {
	var rows [][]string
	for _, v := range vals {
		if v.Change != diff.Same || all {
			rows = append(rows, []string{v.Key, fmtAny(v.Base), fmtAny(v.Other), fmtAbs(v.Abs), fmtRel(v.Rel)})
		}
	}
	if len(rows) == 0 {
		if len(vals) > 0 {
			d.heading(2, "%s: %d, all the same", title, len(vals))
		}
		return
	}
	d.heading(2, "%s: %d of %d differ", title, countChanged(vals), len(vals))
	d.table([]string{"METRIC", "BASE", "OTHER", "ABS", "REL"}, rows, limit)
}

func countChanged(vals []diff.Value) int {
	n := 0
	for _, v := range vals {
		if v.Change != diff.Same {
			n++
		}
	}
	return n
}

func sweepSection(d *doc, sw *diff.SweepDiff, all bool, limit int) {
	if sw.Note != "" {
		d.heading(2, "sweep")
		d.para("%s", sw.Note)
		return
	}
	counts := map[string]int{}
	var rows [][]string
	for _, p := range sw.Points {
		counts[p.Change]++
		if p.Change == diff.Same && !all {
			continue
		}
		var params []string
		for _, v := range p.Params {
			params = append(params, v.Key+"="+arrow(fmtAny(v.Base), fmtAny(v.Other)))
		}
		changed := 0
		for _, s := range p.Steps {
			if s.Change != diff.Same {
				changed++
			}
		}
		rows = append(rows, []string{p.Name, short(p.ID), p.Change, strings.Join(params, " "), fmt.Sprintf("%d of %d", changed, len(p.Steps))})
	}
	d.heading(2, "sweep points: %s", changeCounts(counts))
	if len(rows) > 0 {
		d.table([]string{"POINT", "ID", "CHANGE", "PARAMS", "STEPS CHANGED"}, rows, limit)
	}
	for _, p := range sw.Points {
		if p.Change != diff.Changed {
			continue
		}
		d.heading(2, "point %s", p.Name)
		stepSections(d, p.Steps, false, limit, false)
		metricSection(d, "metrics", p.Metrics, false, limit)
	}
}

// outputSummary says in a few words what changed in an output.
func outputSummary(o diff.OutputDiff) string {
	if o.Note != "" {
		return o.Note
	}
	c := o.Content
	if c == nil {
		return ""
	}
	switch {
	case c.Note != "":
		return c.Format + ": " + c.Note
	case c.JSON != nil:
		return "json: " + plural(len(c.JSON), "field differs", "fields differ")
	case c.JSONL != nil:
		return fmt.Sprintf("jsonl: %d of %d keys differ", changedSeries(c.JSONL), len(c.JSONL))
	case c.Parquet != nil:
		return fmt.Sprintf("parquet: rows %s", arrow(fmt.Sprint(c.Parquet.BaseRows), fmt.Sprint(c.Parquet.OtherRows)))
	case c.Checkpoint != nil:
		s := fmt.Sprintf("safetensors: %d of %d tensors differ", c.Checkpoint.TensorsChanged, len(c.Checkpoint.Tensors))
		if c.Checkpoint.TernaryWeights > 0 {
			s += fmt.Sprintf(", %d ternary flips", c.Checkpoint.Flips)
		}
		return s
	case c.Tree != nil:
		return "tree: " + plural(len(c.Tree), "entry differs", "entries differ")
	case c.Text != nil:
		return fmt.Sprintf("text: lines %s, first difference at line %d", arrow(fmt.Sprint(c.Text.BaseLines), fmt.Sprint(c.Text.OtherLines)), c.Text.FirstDiff)
	}
	return fmt.Sprintf("%s: %s bytes", c.Format, arrow(fmt.Sprint(c.BaseSize), fmt.Sprint(c.OtherSize)))
}

func changedSeries(ss []diff.Series) int {
	n := 0
	for _, s := range ss {
		if s.Change != diff.Same {
			n++
		}
	}
	return n
}

// plural is "1 thing is" or "n things are".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
