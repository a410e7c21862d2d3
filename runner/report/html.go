package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html.tmpl
var pageSrc string

// page is parsed once; html/template escapes every value that comes from
// the store (names, params, metric strings, error texts).
var page = template.Must(template.New("page").Parse(pageSrc))

// view is what the template shows, every value already a string so the
// template stays a layout.
type view struct {
	Title, Kind, ID, Short string
	Header                 [][2]string
	Params                 [][2]string
	IsSweep                bool
	PointCols              []string
	PointRows              []pointRow
	Figures                []figView
	BitsNote               string
	Tables                 []Table
	Steps                  [][]string
	Notes                  []string
}

type pointRow struct {
	Status string
	Cells  []string
}

type figView struct {
	Title, Name string
	SVG         template.HTML
}

// HTML writes the report as one self-contained page: CSS inline, plots as
// inline SVG, nothing fetched from anywhere. The bytes depend only on the
// store's contents (the only times shown are the run's own), so a report
// can itself be diffed or cached.
func HTML(w io.Writer, r *Report, figs []*Figure) error {
	v := view{ID: r.Run.ID, Short: ShortID(r.Run.ID), Kind: "Run", IsSweep: r.Sweep != nil, BitsNote: r.Bits, Notes: r.Notes, Tables: r.Tables}
	if v.IsSweep {
		v.Kind = "Sweep"
	}
	v.Title = fmt.Sprintf("bitflow %s %s — %s", strings.ToLower(v.Kind), v.Short, r.Run.Workflow)
	run := r.Run
	v.Header = [][2]string{{"run", run.ID}, {"workflow", run.Workflow}, {"file", run.File}, {"status", run.Status}}
	if !run.Started.IsZero() {
		v.Header = append(v.Header, [2]string{"started", run.Started.UTC().Format(time.RFC3339)})
	}
	if !run.Finished.IsZero() {
		v.Header = append(v.Header, [2]string{"finished", run.Finished.UTC().Format(time.RFC3339)},
			[2]string{"took", duration(run.Finished.Sub(run.Started).Seconds())})
	}
	v.Header = append(v.Header, [2]string{"host", run.Host}, [2]string{"bitflow", run.Version})
	if sw := r.Sweep; sw != nil {
		v.Header = append(v.Header, [2]string{"exploration", sw.File}, [2]string{"points", strconv.Itoa(len(sw.Points))})
	}
	for _, k := range sortedKeys(run.Params) {
		v.Params = append(v.Params, [2]string{k, paramString(run.Params, k)})
	}
	if v.IsSweep {
		v.PointCols, v.PointRows = pointsTable(r)
	} else if len(r.Points) == 1 {
		// A plain run has no points table: its plotted figures go here.
		if p := r.Points[0]; p.Quality != nil {
			v.Header = append(v.Header, [2]string{r.Quality, strconv.FormatFloat(*p.Quality, 'g', -1, 64)})
		}
		if p := r.Points[0]; p.TotalBits != nil {
			v.Header = append(v.Header, [2]string{"total bits", groupDigits(*p.TotalBits) + " (" + p.BitsFrom + ")"})
		}
	}
	for _, f := range figs {
		v.Figures = append(v.Figures, figView{Title: f.Title, Name: f.Name, SVG: inlineSVG(f.SVG)})
	}
	for _, s := range run.Steps {
		note := s.Reason // why it ran; a failure's error says more
		if s.Error != "" {
			note = s.Error
		}
		v.Steps = append(v.Steps, []string{s.Name, s.Kind, s.Status, shortHex(s.ActionID), duration(s.Duration), firstLine(note)})
	}
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// pointsTable lays out one row per point: its number (the plots' marker
// labels when there are many points), name, status, the params that
// vary, the report metrics, and the plotted quality and total bits.
func pointsTable(r *Report) ([]string, []pointRow) {
	cols := append([]string{"#", "point", "status"}, r.Varying...)
	cols = append(cols, r.Metrics...)
	showQ := r.Quality != "" && !slices.Contains(r.Metrics, r.Quality)
	if showQ {
		cols = append(cols, r.Quality)
	}
	cols = append(cols, "total bits")
	var rows []pointRow
	for i, p := range r.Points {
		cells := []string{strconv.Itoa(i + 1), p.Name, p.Status}
		for _, k := range r.Varying {
			cells = append(cells, paramString(p.Params, k))
		}
		cells = append(cells, p.Values...)
		if showQ {
			q := ""
			if p.Quality != nil {
				q = strconv.FormatFloat(*p.Quality, 'g', -1, 64)
			}
			cells = append(cells, q)
		}
		bits := ""
		if p.TotalBits != nil {
			bits = groupDigits(*p.TotalBits)
			if r.Bits == bitsMixed {
				bits += " (" + p.BitsFrom + ")"
			}
		}
		rows = append(rows, pointRow{Status: p.Status, Cells: append(cells, bits)})
	}
	return cols, rows
}

// inlineSVG drops the XML prolog and comment, which HTML does not want
// inside a page. The SVG's text was escaped by its writer.
func inlineSVG(b []byte) template.HTML {
	if i := bytes.Index(b, []byte("<svg")); i >= 0 {
		b = b[i:]
	}
	return template.HTML(b) //nolint:gosec // produced by gonum's SVG writer, which escapes text
}

// ShortID is the first block of a run ID, enough to address it.
func ShortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

func shortHex(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func duration(s float64) string {
	switch {
	case s <= 0:
		return ""
	case s < 1:
		return fmt.Sprintf("%dms", int(math.Round(s*1000)))
	case s < 60:
		return fmt.Sprintf("%.2fs", s)
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// groupDigits writes a whole number with thousands separators (bits run
// to millions).
func groupDigits(f float64) string {
	s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
