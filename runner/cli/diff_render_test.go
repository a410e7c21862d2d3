package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/runner/diff"
)

// TestDiffRenderSections renders the sections the end-to-end test's exec
// workflow cannot produce: checkpoints, Parquet and sweep points.
func TestDiffRenderSections(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	n := func(x int64) *int64 { return &x }
	ckpt := &diff.Content{Format: diff.FormatSafetensors, BaseSize: 10, OtherSize: 10, Checkpoint: &diff.CheckpointDiff{
		Tensors: []diff.TensorDiff{
			{Name: "blocks.0.attn.q_proj.weight", Change: diff.Changed, BaseShape: []int{2, 4}, OtherShape: []int{2, 4}, L2: f(0.5), RelL2: f(0.25), Variant: "bitlinear", Flips: n(2)},
			{Name: "wte.weight", Change: diff.Same, BaseShape: []int{3}, OtherShape: []int{3}, L2: f(0)},
		},
		TensorsChanged: 1, Flips: 2, TernaryWeights: 8,
	}}
	pq := &diff.Content{Format: diff.FormatParquet, Parquet: &diff.ParquetDiff{BaseRows: 3, OtherRows: 4,
		Schema: []diff.Value{{Key: "flag", Change: diff.Added, Other: "bool"}},
		Columns: []diff.ColumnDiff{{Name: "toks", Change: diff.Changed,
			Base:  &diff.ColumnStats{Count: 3, Len: &diff.ColumnStats{Min: f(1), Max: f(3), Mean: f(2)}},
			Other: &diff.ColumnStats{Count: 4, Len: &diff.ColumnStats{Min: f(4), Max: f(4), Mean: f(4)}},
			Mean:  &diff.Delta{Abs: f(2), Rel: f(1)}}},
	}}
	rep := &diff.Report{Base: diff.RunInfo{ID: "A", Workflow: "w", Status: "ok", Sweep: true}, Comparisons: []diff.Comparison{{
		Other: diff.RunInfo{ID: "B", Workflow: "w", Status: "ok", Sweep: true},
		Steps: []diff.StepDiff{{Name: "train", Kind: "train", Change: diff.Changed, BaseStatus: "ran", OtherStatus: "ran",
			Outputs: []diff.OutputDiff{
				{Name: "checkpoint", Change: diff.Changed, Content: ckpt},
				{Name: "traces", Change: diff.Changed, Content: pq},
			}}},
		Sweep: &diff.SweepDiff{Points: []diff.PointDiff{
			{Name: "p1", ID: "i1", Change: diff.Changed, Params: []diff.Value{{Key: "lr", Change: diff.Changed, Base: 0.1, Other: 0.2}},
				Steps: []diff.StepDiff{{Name: "train", Kind: "train", Change: diff.Changed}}},
			{Name: "p2", ID: "i2", Change: diff.Removed},
		}},
	}}}
	var text, md bytes.Buffer
	d := diffDoc(rep, false, 40)
	if err := d.writeText(&text); err != nil {
		t.Fatal(err)
	}
	if err := d.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"1 of 2 tensors differ; 2 of 8 ternary weights flip (25.000%)",
		"blocks.0.attn.q_proj.weight  changed  (2,4)  0.5  0.25    2 (bitlinear)",
		"rows 3 -> 4",
		"flag    added",
		"toks    changed  3 -> 4  length    1 -> 4  3 -> 4  2 -> 4  +2 (+100.00%)",
		"sweep points: 1 changed, 1 removed",
		"p1     i1  changed  lr=0.1 -> 0.2  1 of 1",
		"point p1",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "wte.weight") {
		t.Error("an unchanged tensor is shown without --all")
	}
	for _, want := range []string{"### train.checkpoint (safetensors, 10 bytes)", "| blocks.0.attn.q_proj.weight | changed | (2,4) | 0.5 | 0.25 | 2 (bitlinear) |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}
