package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// doc is a rendered-agnostic report: headings, paragraphs and tables,
// written out as aligned text or as Markdown, so that `bitflow diff` has
// one description of what it shows and two renderings of it.
type doc struct {
	blocks []docBlock
}

type docBlock struct {
	level int    // heading level (1, 2, 3); 0 for a paragraph or table
	text  string // heading or paragraph text
	table *docTable
}

type docTable struct {
	header []string
	rows   [][]string
	more   int // rows left out by the limit
}

func (d *doc) heading(level int, format string, args ...any) {
	d.blocks = append(d.blocks, docBlock{level: level, text: fmt.Sprintf(format, args...)})
}

func (d *doc) para(format string, args ...any) {
	d.blocks = append(d.blocks, docBlock{text: fmt.Sprintf(format, args...)})
}

// table adds a table of at most limit rows (0: all).
func (d *doc) table(header []string, rows [][]string, limit int) {
	t := &docTable{header: header, rows: rows}
	if limit > 0 && len(rows) > limit {
		t.rows, t.more = rows[:limit], len(rows)-limit
	}
	d.blocks = append(d.blocks, docBlock{table: t})
}

// writeText writes the doc as indented, aligned plain text.
func (d *doc) writeText(w io.Writer) error {
	indent := ""
	for i, b := range d.blocks {
		switch {
		case b.table != nil:
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "%s%s\n", indent, strings.Join(b.table.header, "\t"))
			for _, r := range b.table.rows {
				fmt.Fprintf(tw, "%s%s\n", indent, strings.Join(r, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if b.table.more > 0 {
				fmt.Fprintf(w, "%s... %d more (--limit 0 shows all)\n", indent, b.table.more)
			}
		case b.level > 0:
			if i > 0 {
				fmt.Fprintln(w)
			}
			indent = strings.Repeat("  ", b.level-1)
			fmt.Fprintf(w, "%s%s\n", indent, b.text)
			indent += "  "
		default:
			fmt.Fprintf(w, "%s%s\n", indent, b.text)
		}
	}
	return nil
}

// writeMarkdown writes the doc as Markdown: headings from ##, pipe tables.
func (d *doc) writeMarkdown(w io.Writer) error {
	for i, b := range d.blocks {
		if i > 0 {
			fmt.Fprintln(w)
		}
		switch {
		case b.table != nil:
			fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(mdCells(b.table.header), " | "), strings.Repeat("---|", len(b.table.header)))
			for _, r := range b.table.rows {
				fmt.Fprintf(w, "| %s |\n", strings.Join(mdCells(r), " | "))
			}
			if b.table.more > 0 {
				fmt.Fprintf(w, "\n*%d more rows (`--limit 0` shows all)*\n", b.table.more)
			}
		case b.level > 0:
			fmt.Fprintf(w, "%s %s\n", strings.Repeat("#", b.level+1), b.text)
		default:
			fmt.Fprintf(w, "%s\n", b.text)
		}
	}
	return nil
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		if c == "" {
			c = " "
		}
		out[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	return out
}

// fmtAny formats a param, metric or JSON value for a table cell.
func fmtAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return clip(x)
	case float64:
		return fmtNum(x)
	case bool, int, int64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return clip(fmt.Sprint(v))
	}
	return clip(string(b))
}

// maxCell bounds a value shown in a table; --json has every value whole.
const maxCell = 48

// clip shortens s to maxCell runes, on one line.
func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-3]) + "..."
	}
	return s
}

// fmtNum shows a number with up to six significant digits.
func fmtNum(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

// fmtAbs shows a delta with its sign; fmtRel a relative delta in percent.
func fmtAbs(p *float64) string {
	if p == nil {
		return ""
	}
	s := fmtNum(*p)
	if *p > 0 {
		s = "+" + s
	}
	return s
}

func fmtRel(p *float64) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%+.2f%%", 100**p)
}

// arrow shows a value's change: "a -> b", or "a" when both are equal.
func arrow(a, b string) string {
	if a == b {
		return a
	}
	return a + " -> " + b
}
