package cli

import (
	"fmt"
	"strings"

	"github.com/bitflow-dev/bitflow/runner/diff"
)

// contentSections shows, for every changed output, what changed inside it.
func contentSections(d *doc, steps []diff.StepDiff, all bool, limit int) {
	for _, s := range steps {
		for _, o := range s.Outputs {
			c := o.Content
			if c == nil || c.Note != "" {
				continue
			}
			d.heading(2, "%s.%s (%s, %s bytes)", s.Name, o.Name, c.Format, arrow(fmt.Sprint(c.BaseSize), fmt.Sprint(c.OtherSize)))
			switch {
			case c.JSON != nil:
				jsonContent(d, c.JSON, limit)
			case c.JSONL != nil:
				jsonlContent(d, c.JSONL, all, limit)
			case c.Parquet != nil:
				parquetContent(d, c.Parquet, all, limit)
			case c.Checkpoint != nil:
				checkpointContent(d, c.Checkpoint, all, limit)
			case c.Tree != nil:
				var rows [][]string
				for _, v := range c.Tree {
					rows = append(rows, []string{v.Key, v.Change})
				}
				d.table([]string{"PATH", "CHANGE"}, rows, limit)
			default:
				d.para("%s", outputSummary(o))
			}
		}
	}
}

func jsonContent(d *doc, vals []diff.Value, limit int) {
	if len(vals) == 0 {
		d.para("the same JSON value, formatted differently")
		return
	}
	var rows [][]string
	for _, v := range vals {
		rows = append(rows, []string{v.Key, v.Change, fmtAny(v.Base), fmtAny(v.Other), fmtAbs(v.Abs), fmtRel(v.Rel)})
	}
	d.table([]string{"KEY", "CHANGE", "BASE", "OTHER", "ABS", "REL"}, rows, limit)
}

func jsonlContent(d *doc, ss []diff.Series, all bool, limit int) {
	var rows [][]string
	for _, s := range ss {
		if s.Change == diff.Same && !all {
			continue
		}
		stat := func(f func(*diff.SeriesStats) string) (string, string) {
			a, b := "-", "-"
			if s.Base != nil {
				a = f(s.Base)
			}
			if s.Other != nil {
				b = f(s.Other)
			}
			return a, b
		}
		la, lb := stat(func(x *diff.SeriesStats) string { return fmt.Sprint(x.Count) })
		ta, tb := stat(func(x *diff.SeriesStats) string { return fmtNum(x.Last) })
		ma, mb := stat(func(x *diff.SeriesStats) string { return fmtNum(x.Min) })
		rows = append(rows, []string{s.Key, s.Change, arrow(la, lb), arrow(ta, tb), deltaCell(s.Last), arrow(ma, mb), deltaCell(s.Min)})
	}
	if len(rows) > 0 {
		d.table([]string{"KEY", "CHANGE", "LINES", "LAST", "LAST DELTA", "MIN", "MIN DELTA"}, rows, limit)
	}
}

func deltaCell(dl *diff.Delta) string {
	if dl == nil || dl.Abs == nil {
		return ""
	}
	return strings.TrimSpace(fmtAbs(dl.Abs) + " " + paren(fmtRel(dl.Rel)))
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func parquetContent(d *doc, p *diff.ParquetDiff, all bool, limit int) {
	d.para("rows %s", arrow(fmt.Sprint(p.BaseRows), fmt.Sprint(p.OtherRows)))
	if len(p.Schema) > 0 {
		var rows [][]string
		for _, v := range p.Schema {
			rows = append(rows, []string{v.Key, v.Change, fmtAny(v.Base), fmtAny(v.Other)})
		}
		d.table([]string{"COLUMN", "SCHEMA", "BASE TYPE", "OTHER TYPE"}, rows, 0)
	}
	var rows [][]string
	for _, c := range p.Columns {
		if c.Change == diff.Same && !all {
			continue
		}
		what := "value"
		a, b := c.Base, c.Other
		if (a != nil && a.Len != nil) || (b != nil && b.Len != nil) {
			what = "length"
			a, b = lenStats(a), lenStats(b)
		}
		f := func(s *diff.ColumnStats, g func(*diff.ColumnStats) *float64) string {
			if s == nil || g(s) == nil {
				return "-"
			}
			return fmtNum(*g(s))
		}
		mn := func(s *diff.ColumnStats) *float64 { return s.Min }
		mx := func(s *diff.ColumnStats) *float64 { return s.Max }
		me := func(s *diff.ColumnStats) *float64 { return s.Mean }
		count := func(s *diff.ColumnStats) string {
			if s == nil {
				return "-"
			}
			return fmt.Sprint(s.Count)
		}
		rows = append(rows, []string{c.Name, c.Change, arrow(count(c.Base), count(c.Other)), what,
			arrow(f(a, mn), f(b, mn)), arrow(f(a, mx), f(b, mx)), arrow(f(a, me), f(b, me)), deltaCell(c.Mean)})
	}
	if len(rows) > 0 {
		d.table([]string{"COLUMN", "CHANGE", "COUNT", "STATS OF", "MIN", "MAX", "MEAN", "MEAN DELTA"}, rows, limit)
	}
}

func lenStats(s *diff.ColumnStats) *diff.ColumnStats {
	if s == nil {
		return nil
	}
	return s.Len
}

func checkpointContent(d *doc, c *diff.CheckpointDiff, all bool, limit int) {
	s := fmt.Sprintf("%d of %d tensors differ", c.TensorsChanged, len(c.Tensors))
	if c.TernaryWeights > 0 {
		s += fmt.Sprintf("; %d of %d ternary weights flip (%.3f%%)", c.Flips, c.TernaryWeights, 100*float64(c.Flips)/float64(c.TernaryWeights))
	}
	d.para("%s", s)
	if len(c.Metadata) > 0 {
		var rows [][]string
		for _, v := range c.Metadata {
			rows = append(rows, []string{v.Key, fmtAny(v.Base), fmtAny(v.Other)})
		}
		d.table([]string{"METADATA", "BASE", "OTHER"}, rows, limit)
	}
	var rows [][]string
	for _, t := range c.Tensors {
		if t.Change == diff.Same && !all {
			continue
		}
		l2, rel, flips := "", "", ""
		if t.L2 != nil {
			l2 = fmtNum(*t.L2)
		}
		if t.RelL2 != nil {
			rel = fmtNum(*t.RelL2)
		}
		if t.Flips != nil {
			flips = fmt.Sprintf("%d (%s)", *t.Flips, t.Variant)
		}
		rows = append(rows, []string{t.Name, t.Change, arrow(shape(t.BaseShape), shape(t.OtherShape)), l2, rel, flips})
	}
	if len(rows) > 0 {
		d.table([]string{"TENSOR", "CHANGE", "SHAPE", "L2", "REL L2", "FLIPS"}, rows, limit)
	}
}

func shape(s []int) string {
	if s == nil {
		return "-"
	}
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = fmt.Sprint(n)
	}
	return "(" + strings.Join(parts, ",") + ")"
}
