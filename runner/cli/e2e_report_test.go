package cli_test

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFlow's steps stand in for the pipeline's: a training log (JSONL)
// and an eval report (JSON) with the fields the report reads.
const reportFlow = `name: tiny
params:
  lr: 0.5
steps:
  student:
    run: |
      echo lr=${{ params.lr }} > ${{ outputs.checkpoint }}
      printf '{"step":10,"loss":4.5,"total_bits":2048}\n{"step":20,"loss":3.25,"total_bits":1536}\n' > ${{ outputs.metrics }}
    outputs: [checkpoint, metrics]
  eval:
    run: echo '{"memory":{"packed_bytes":512},"qei_metrics":{"student_quality":0.75,"qei":2.5}}' > ${{ outputs.report }}
    inputs: {ckpt: student.checkpoint}
    outputs: [report]
`

func TestReportOfARunIsOneSelfContainedPage(t *testing.T) {
	dir := workdir(t, reportFlow)
	run(t, dir, 0, "flow.yaml")
	r := bitflow(t, dir, "report", "latest", "-o", "x.html", "--plots", "plots", "--store", "store")
	if r.code != 0 || !strings.Contains(r.stdout, "wrote x.html") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.html"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"<h1>Run ", "tiny", "<code>lr=0.5</code>", "student", "eval",
		"<td>0.75</td>", "<td>2.5</td>", `id="quality_vs_bits"`, `id="loss_curves"`, "adaptive layers, training metrics"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Count(s, "<svg") != 2 || strings.Contains(s, `src="http`) || strings.Contains(s, "<script") {
		t.Error("the page should inline two SVG plots and fetch nothing")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v", err)
		}
	}
	for _, name := range []string{"quality_vs_bits", "loss_curves"} {
		f, err := os.Open(filepath.Join(dir, "plots", name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 600 {
			t.Errorf("%s.png: %v", name, err)
		}
		if svg, err := os.ReadFile(filepath.Join(dir, "plots", name+".svg")); err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s.svg: %v", name, err)
		}
	}

	// Without -o the page is named after the run; the same run gives the
	// same bytes.
	r = bitflow(t, dir, "report", "latest", "--store", "store")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := strings.TrimSpace(strings.TrimPrefix(r.stdout, "wrote "))
	if !strings.HasPrefix(out, "report-") || !strings.HasSuffix(out, ".html") {
		t.Fatalf("default output %q", out)
	}
	again, err := os.ReadFile(filepath.Join(dir, out))
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("the second report differs from the first (%v)", err)
	}

	if r := bitflow(t, dir, "report", "--store", "store"); r.code != 2 {
		t.Errorf("report without RUN: exit %d, want 2", r.code)
	}
	if r := bitflow(t, dir, "report", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
		t.Errorf("report --help: exit %d\n%s", r.code, r.stdout)
	}
}
