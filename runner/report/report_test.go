package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"github.com/bitflow-dev/bitflow/internal/jsonpath"
	"image/png"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func load(t *testing.T, failed, adaptive bool) *Report {
	t.Helper()
	st, id := fixtureSweep(t, failed, adaptive)
	r, err := Load(st, id, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReportLoadsSweepMetricsQualityBitsAndCurves(t *testing.T) {
	r := load(t, false, true)
	if want := []string{"loss_fn", "bit_loss_weight"}; !reflect.DeepEqual(r.Varying, want) {
		t.Errorf("varying %v, want %v", r.Varying, want)
	}
	if r.Quality != "eval.report.qei_metrics.student_quality" || r.Bits != bitsFromTrain {
		t.Errorf("quality %q, bits %q", r.Quality, r.Bits)
	}
	p := r.Points[1]
	if p.Label != "bit_balanced_cross_entropy-1e-05" || p.Status != "ok" {
		t.Errorf("label %q status %q", p.Label, p.Status)
	}
	// the metrics column reads the JSON report and the last JSONL line
	if want := []string{"2.9", "1.6"}; !reflect.DeepEqual(p.Values, want) {
		t.Errorf("values %v, want %v", p.Values, want)
	}
	if p.Quality == nil || *p.Quality != 0.55 {
		t.Errorf("quality %v", p.Quality)
	}
	if p.TotalBits == nil || *p.TotalBits != 100000*5*50/50 || p.BitsFrom != "total_bits" {
		t.Errorf("total bits %v from %q, want the last total_bits", p.TotalBits, p.BitsFrom)
	}
	if len(p.Curve) != 4 || p.Curve[0] != (XY{10, 6.1}) || p.Curve[3].X != 40 {
		t.Errorf("curve %v", p.Curve)
	}
	if len(r.Tables) != 4 || r.Tables[0].Columns[1] != "student_tps" || len(r.Tables[2].Rows) != 1 {
		t.Errorf("tables %+v: want qei_metrics in the report's key order, and the shared baseline once", r.Tables)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %v", r.Notes)
	}
}

func TestReportBitsFallBackToPackedBytes(t *testing.T) {
	r := load(t, false, false)
	if r.Bits != bitsFromPacked {
		t.Fatalf("bits from %q", r.Bits)
	}
	if p := r.Points[2]; p.TotalBits == nil || *p.TotalBits != 8*52000 {
		t.Errorf("total bits %v, want packed_bytes*8", p.TotalBits)
	}
}

func TestReportFailedPointIsExplained(t *testing.T) {
	r := load(t, true, true)
	p := r.Points[3]
	if p.Status != "failed" || p.Quality != nil || p.Curve != nil {
		t.Errorf("failed point: %+v", p)
	}
	if len(r.Notes) == 0 {
		t.Error("no note says why the failed point has no figures")
	}
	if !slices.Contains(r.Varying, "steps") {
		t.Errorf("varying %v lacks steps", r.Varying)
	}
}

func TestReportMetricFromJSONLIsLastLineHoldingKey(t *testing.T) {
	data := []byte("{\"loss\":3,\"a\":{\"b\":1}}\n{\"loss\":2}\n{\"val\":9}\n")
	v, err := jsonpath.Extract(data, []string{"loss"})
	if err != nil || format(v) != "2" {
		t.Errorf("loss = %v, %v; want 2", v, err)
	}
	if v, err := jsonpath.Extract(data, []string{"a", "b"}); err != nil || format(v) != "1" {
		t.Errorf("a.b = %v, %v", v, err)
	}
	if _, err := jsonpath.Extract(data, []string{"nope"}); !errors.Is(err, jsonpath.ErrNoKey) {
		t.Errorf("missing key: %v", err)
	}
	if v, err := jsonpath.Extract([]byte(`{"r":[{"x":1e-06}]}`), []string{"r", "0", "x"}); err != nil || format(v) != "1e-06" {
		t.Errorf("array index: %v, %v", v, err)
	}
	if _, err := ParseMetric("eval"); err == nil {
		t.Error("ParseMetric accepted a reference without output")
	}
}

func TestReportPlotsArePNGAndSVG(t *testing.T) {
	r := load(t, false, true)
	figs, err := Figures(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		img, err := png.Decode(bytes.NewReader(f.PNG))
		if err != nil {
			t.Fatalf("%s: PNG: %v", f.Name, err)
		}
		if b := img.Bounds(); b.Dx() < 7*dpi || b.Dy() != 45*dpi/10 {
			t.Errorf("%s: PNG is %dx%d, want at least %dx%d", f.Name, b.Dx(), b.Dy(), 7*dpi, 45*dpi/10)
		}
		text := svgText(t, f.SVG)
		for _, p := range r.Points {
			if !strings.Contains(text, p.Label) {
				t.Errorf("%s: SVG has no label %q", f.Name, p.Label)
			}
		}
	}
	if text := svgText(t, figs[0].SVG); !strings.Contains(text, "loss_fn=cross_entropy") {
		t.Error("quality plot: no legend entry for the grouping param")
	}
}

// svgText parses an SVG strictly as XML and returns its text content.
func svgText(t *testing.T, b []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = x.Name.Local
			}
		case xml.CharData:
			text.Write(x)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return text.String()
}
