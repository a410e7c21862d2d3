package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one plot in both formats: PNG for slides and viewers, SVG for
// the HTML page (crisp at any zoom, its text searchable).
type Figure struct {
	Name  string `json:"name"` // file stem: quality_vs_bits, loss_curves
	Title string `json:"title"`
	PNG   []byte `json:"-"`
	SVG   []byte `json:"-"`
}

const (
	plotW = 7 * vg.Inch
	plotH = 4.5 * vg.Inch
	dpi   = 144 // PNG resolution: legible when shown at half size on a HiDPI screen
	// maxLabelled is how many points get their name beside their marker;
	// beyond it the names overlap, and markers carry the point's number
	// in the points table instead.
	maxLabelled = 16
)

// init switches gonum's default face from serif to sans: plots are read
// at small sizes beside tables, where sans is more legible. Only bitflow's
// own plots use gonum/plot in this process.
func init() {
	plot.DefaultFont.Variant = "Sans"
	plotter.DefaultFont.Variant = "Sans"
}

// shapes puts the filled glyphs first (gonum's default list starts with
// hollow ones, which vanish at marker size on a busy plot).
var shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}

// QualityVsBits plots one marker per point: its quality against its
// student's total bits, coloured by the varying param with the fewest
// values and labelled by the point.
func QualityVsBits(r *Report) (*Figure, error) {
	p := newPlot()
	p.Title.Text = "Quality against total bits"
	p.X.Label.Text = "total bits" + bitsUnit(r.Bits)
	p.Y.Label.Text = r.Quality
	if r.Quality == "" {
		p.Y.Label.Text = "quality (no metric found)"
	}
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = siTicks{}
	key, values := groupParam(r)
	lg := newLegend()
	var all plotter.XYLabels
	for g, val := range values {
		var xys plotter.XYs
		for i, pt := range r.Points {
			if pt.Quality == nil || pt.TotalBits == nil || (key != "" && paramString(pt.Params, key) != val) {
				continue
			}
			xys = append(xys, plotter.XY{X: *pt.TotalBits, Y: *pt.Quality})
			label := pt.Label
			if len(r.Points) > maxLabelled {
				label = strconv.Itoa(i + 1)
			}
			all.XYs = append(all.XYs, plotter.XY{X: *pt.TotalBits, Y: *pt.Quality})
			all.Labels = append(all.Labels, label)
		}
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = plotutil.Color(g)
		s.GlyphStyle.Shape = shapes[g%len(shapes)]
		s.GlyphStyle.Radius = vg.Points(4)
		p.Add(s)
		if key != "" {
			name := key + "=" + val
			if val == "" {
				name = key + " unset"
			}
			lg.Add(name, s)
		}
	}
	if len(all.XYs) > 0 {
		labels, err := plotter.NewLabels(all)
		if err != nil {
			return nil, err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Font.Size = vg.Points(8)
		}
		labels.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(-2.5)}
		p.Add(labels)
		pad(&p.X, all.XYs, func(xy plotter.XY) float64 { return xy.X })
		pad(&p.Y, all.XYs, func(xy plotter.XY) float64 { return xy.Y })
	} else {
		p.Title.Text += " (no point has both)"
	}
	return render("quality_vs_bits", p, lg)
}

// LossCurves plots each point's training loss against step, one line per
// point.
func LossCurves(r *Report) (*Figure, error) {
	p := newPlot()
	p.Title.Text = "Training loss per point"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Add(plotter.NewGrid())
	lg := newLegend()
	n := 0
	for i, pt := range r.Points {
		if len(pt.Curve) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(pt.Curve))
		for j, c := range pt.Curve {
			xys[j] = plotter.XY{X: c.X, Y: c.Y}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("loss curve of %s: %w", pt.Name, err)
		}
		l.Color = plotutil.Color(n)
		l.Dashes = plotutil.Dashes(n / len(plotutil.DefaultColors))
		l.Width = vg.Points(1.2)
		p.Add(l)
		label := pt.Label
		if len(r.Points) > maxLabelled {
			label = strconv.Itoa(i+1) + " " + label
		}
		lg.Add(label, l)
		n++
	}
	if n == 0 {
		p.Title.Text += " (no metrics recorded)"
	}
	return render("loss_curves", p, lg)
}

// bitsUnit names the x axis's source in a few words.
func bitsUnit(src string) string {
	switch src {
	case bitsFromTrain:
		return " (adaptive layers, training metrics)"
	case bitsFromPacked:
		return " (packed model, eval report)"
	}
	return " (see the report for each point's source)"
}

// groupParam picks the varying param with the fewest distinct values (at
// least two; ties go to the first by name) to colour points by, and lists
// its values in order of first appearance. With no varying param there is
// one group.
func groupParam(r *Report) (string, []string) {
	key, best := "", []string{""}
	for _, k := range r.Varying {
		var vals []string
		seen := map[string]bool{}
		for _, pt := range r.Points {
			v := paramString(pt.Params, k)
			if !seen[v] {
				seen[v] = true
				vals = append(vals, v)
			}
		}
		if len(vals) >= 2 && (key == "" || len(vals) < len(best)) {
			key, best = k, vals
		}
	}
	return key, best
}

// pad widens an axis by 8% of the data's span on each side, so markers
// at the extremes are not cut by the axes.
func pad(a *plot.Axis, xys plotter.XYs, get func(plotter.XY) float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xy := range xys {
		lo, hi = math.Min(lo, get(xy)), math.Max(hi, get(xy))
	}
	m := 0.08 * (hi - lo)
	if m == 0 {
		m = math.Max(0.1*math.Abs(hi), 1e-3)
	}
	a.Min, a.Max = lo-m, hi+m
}

// siTicks labels big numbers as 250k, 1.5M, 3G: total bits run to
// millions, and six-digit tick labels crowd each other.
type siTicks struct{}

func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = si(ts[i].Value)
		}
	}
	return ts
}

func si(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 4, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func newPlot() *plot.Plot {
	p := plot.New()
	p.Title.Padding = vg.Points(8)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	return p
}

func newLegend() plot.Legend {
	lg := plot.NewLegend()
	lg.TextStyle.Font.Size = vg.Points(9)
	lg.Padding = vg.Points(4)
	lg.Top, lg.Left = true, true
	return lg
}

// render draws p with the legend in a strip to its right (so it never
// hides data, however many points), growing the figure to fit the legend,
// and encodes it as PNG and SVG.
func render(name string, p *plot.Plot, lg plot.Legend) (*Figure, error) {
	w, h := plotW, plotH
	probe := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: w, Y: h}}}
	rect := lg.Rectangle(probe)
	legendW := vg.Points(12) // a margin on the right even without a legend
	if rect.Size().X > 0 {
		legendW += rect.Size().X + vg.Points(4)
	}
	h = vg.Length(math.Max(float64(h), float64(rect.Size().Y+vg.Points(40))))
	draws := func(c vg.CanvasSizer) {
		dc := draw.New(c)
		p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
		lg.Draw(draw.Crop(dc, w, vg.Points(-4), 0, vg.Points(-30)))
	}
	fig := &Figure{Name: name, Title: p.Title.Text}

	img := vgimg.NewWith(vgimg.UseWH(w+legendW, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	draws(img)
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, fmt.Errorf("plot %s: png: %w", name, err)
	}
	fig.PNG = pb.Bytes()

	svg := vgsvg.New(w+legendW, h)
	draws(svg)
	var sb bytes.Buffer
	if _, err := svg.WriteTo(&sb); err != nil {
		return nil, fmt.Errorf("plot %s: svg: %w", name, err)
	}
	fig.SVG = sb.Bytes()
	return fig, nil
}

// Figures draws every plot of the report, in the page's order.
func Figures(r *Report) ([]*Figure, error) {
	q, err := QualityVsBits(r)
	if err != nil {
		return nil, err
	}
	l, err := LossCurves(r)
	if err != nil {
		return nil, err
	}
	return []*Figure{q, l}, nil
}
