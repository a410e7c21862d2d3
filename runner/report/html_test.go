package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/store"
)

func renderPage(t *testing.T, r *Report) []byte {
	t.Helper()
	figs, err := Figures(r)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := HTML(&b, r, figs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportHTMLHasPointsMetricsAndInlinePlots(t *testing.T) {
	r := load(t, true, true)
	b := renderPage(t, r)
	s := string(b)
	for _, want := range []string{
		"toy-bit_balanced_cross_entropy-1e-06", "toy-bit_balanced_cross_entropy-1e-05", "toy-cross_entropy",
		"toy-&lt;nan&gt;",              // names are escaped
		"NaN &lt;at step 3&gt;",        // so are step errors
		"<td>2.9</td>", "<td>1.6</td>", // report metrics: JSON and last JSONL line
		"<td>1e-06</td>",   // varying params as the exploration writes them
		"<td>600,000</td>", // total bits
		`id="quality_vs_bits"`, `id="loss_curves"`,
		"qei_metrics", "avg_decode_tps",
		"2025-03-01T12:00:00Z",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(s, "<svg"); n != 2 {
		t.Errorf("%d inline SVGs, want 2", n)
	}
	for _, bad := range []string{`src="http`, `href="http`, "<script", "<link", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the page is not self-contained: it has %q", bad)
		}
	}
	if strings.Contains(s, "<nan>") || strings.Contains(s, "<at step") {
		t.Error("unescaped text from the store")
	}
	wellFormed(t, b)
}

// wellFormed parses the page strictly as XML (it is written as polyglot
// XHTML, the inline SVG included), which catches any unbalanced tag.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 || roots != 1 {
		t.Fatalf("depth %d at the end, %d root elements", depth, roots)
	}
}

func TestReportHTMLIsDeterministic(t *testing.T) {
	st, id := fixtureSweep(t, true, true)
	var pages [][]byte
	for range 2 {
		r, err := Load(st, id, Options{})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, renderPage(t, r))
	}
	if !bytes.Equal(pages[0], pages[1]) {
		t.Error("the same store gave two different pages")
	}
}

func TestReportOfPlainRunIsOnePoint(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rl, err := st.CreateRun()
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := st.PutBytes([]byte("{\"step\":1,\"loss\":4}\n{\"step\":2,\"loss\":3}\n"))
	rep, _ := st.PutBytes([]byte(`{"memory":{"packed_bytes":1000},"qei_metrics":{"student_quality":0.5}}`))
	out := func(d store.Digest) store.Output { return store.Output{Digest: d, Size: -1, Type: store.TypeFile} }
	rec := &store.RunRecord{ID: rl.ID, Workflow: "demo", Status: store.RunOK, Steps: []store.StepRecord{
		{Name: "train", Kind: "exec", Status: store.StepRan, Outputs: map[string]store.Output{"metrics": out(metrics)}},
		{Name: "eval", Kind: "exec", Status: store.StepRan, Outputs: map[string]store.Output{"report": out(rep)}},
	}}
	if err := rl.Finish(rec); err != nil {
		t.Fatal(err)
	}
	r, err := Load(st, rl.ID, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Points) != 1 || r.Points[0].Name != "demo" {
		t.Fatalf("points %+v", r.Points)
	}
	p := r.Points[0]
	if p.Quality == nil || *p.Quality != 0.5 || p.TotalBits == nil || *p.TotalBits != 8000 || len(p.Curve) != 2 {
		t.Errorf("point %+v: want quality 0.5, 8000 bits (packed_bytes), a 2-step curve", p)
	}
	s := string(renderPage(t, r))
	if strings.Contains(s, "<h2>Points</h2>") || !strings.Contains(s, "<h1>Run ") {
		t.Error("a plain run's page has a points table or is called a sweep")
	}
	if !strings.Contains(s, "<th>total bits</th><td>8,000 (packed_bytes)</td>") {
		t.Error("a plain run's header lacks its total bits")
	}
}
