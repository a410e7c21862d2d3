package traces

import (
	"bytes"
	"context"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// sampleGroups are two row groups of hand-built rows covering the edge
// values: an empty top-K, an empty student encoding, -Inf other, a
// multi-byte text.
func sampleGroups() [][]Row {
	tpl, tokh := TemplateHash(), "ab12"
	return [][]Row{
		{
			{PromptIdx: 0, StepIdx: 0, TeacherSampleID: 127, TeacherSampleText: "{", TopKIDs: []int64{127, 38}, TopKLogprobs: []float64{-0.1, -2.5},
				OtherLogprob: -3.25, IsStructToken: true, TemplateHash: tpl, TokenizerHash: tokh, TeacherSampleLogprob: -0.1, StudentIDs: []int64{127}, PromptText: "Record 1"},
			{PromptIdx: 0, StepIdx: 1, TeacherSampleID: 199, TeacherSampleText: "é", TopKIDs: []int64{}, TopKLogprobs: []float64{},
				OtherLogprob: 0, TemplateHash: tpl, TokenizerHash: tokh, TeacherSampleLogprob: -7.5, StudentIDs: []int64{199, 173}, PromptText: "Record 1"},
			{PromptIdx: 1, StepIdx: 0, TeacherSampleID: -1, TeacherSampleText: "", TopKIDs: []int64{5}, TopKLogprobs: []float64{math.Inf(-1)},
				OtherLogprob: OtherFloor, TemplateHash: tpl, TokenizerHash: tokh, TeacherSampleLogprob: -1e-300, StudentIDs: []int64{}, PromptText: "Record 2"},
		},
		{
			{PromptIdx: 2, StepIdx: 0, TeacherSampleID: 0, TeacherSampleText: tokenizer.EOS, TopKIDs: []int64{0}, TopKLogprobs: []float64{0},
				OtherLogprob: math.Inf(-1), TemplateHash: tpl, TokenizerHash: tokh, TeacherSampleLogprob: 0, StudentIDs: []int64{0}, PromptText: "Record 3"},
		},
	}
}

func writeFile(t *testing.T, path string, groups [][]Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if err := w.WriteGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.parquet")
	groups := sampleGroups()
	first := writeFile(t, path, append(groups, nil)) // an empty group is skipped
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(groups...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	// Same rows, same bytes.
	if again := writeFile(t, filepath.Join(t.TempDir(), "again.parquet"), groups); !bytes.Equal(first, again) {
		t.Error("writing the same rows twice gives different bytes")
	}
}

// TestParquetColumnsWithArrow reads the file with arrow-go's own reader and
// checks every column's name, type and values, and the file's layout: row
// groups, dictionary encoding, no compression, no timestamps.
func TestParquetColumnsWithArrow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.parquet")
	groups := sampleGroups()
	writeFile(t, path, groups)

	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	if md.NumRowGroups() != 2 || md.RowGroup(0).NumRows() != 3 || md.RowGroup(1).NumRows() != 1 {
		t.Errorf("row groups: %d (%d, %d rows)", md.NumRowGroups(), md.RowGroup(0).NumRows(), md.RowGroup(1).NumRows())
	}
	if md.KeyValueMetadata().Len() != 0 {
		t.Errorf("unexpected key-value metadata %v", md.KeyValueMetadata())
	}
	if want := parquet.DefaultCreatedBy; md.GetCreatedBy() != want {
		t.Errorf("created_by %q, want %q", md.GetCreatedBy(), want)
	}
	rg := md.RowGroup(0)
	for i := range rg.NumColumns() {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		name := cc.PathInSchema()[0]
		if cc.Compression() != compress.Codecs.Uncompressed {
			t.Errorf("%s: compression %v", name, cc.Compression())
		}
		dict := cc.HasDictionaryPage()
		if wantDict := slices.Contains(dictColumns, name); dict != wantDict {
			t.Errorf("%s: dictionary page %v, want %v", name, dict, wantDict)
		}
	}

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	wantTypes := []struct {
		name string
		id   arrow.Type
		elem arrow.Type // for lists
	}{
		{"prompt_idx", arrow.INT64, 0}, {"step_idx", arrow.INT64, 0}, {"teacher_sample_id", arrow.INT64, 0},
		{"teacher_sample_text", arrow.STRING, 0}, {"topk_ids", arrow.LIST, arrow.INT64}, {"topk_logprobs", arrow.LIST, arrow.FLOAT64},
		{"other_logprob", arrow.FLOAT64, 0}, {"is_struct_token", arrow.BOOL, 0}, {"template_hash", arrow.STRING, 0},
		{"tokenizer_hash", arrow.STRING, 0}, {"teacher_sample_logprob", arrow.FLOAT64, 0}, {"student_ids", arrow.LIST, arrow.INT64},
		{"prompt_text", arrow.STRING, 0},
	}
	sc := tbl.Schema()
	if sc.NumFields() != len(wantTypes) {
		t.Fatalf("%d columns: %v", sc.NumFields(), sc)
	}
	for i, w := range wantTypes {
		f := sc.Field(i)
		if f.Name != w.name || f.Type.ID() != w.id || f.Nullable {
			t.Errorf("column %d: %s %s nullable=%v, want %s %s", i, f.Name, f.Type, f.Nullable, w.name, w.id)
		}
		if w.id == arrow.LIST && f.Type.(*arrow.ListType).Elem().ID() != w.elem {
			t.Errorf("column %s: %s, want list<%s>", f.Name, f.Type, w.elem)
		}
	}

	rows := slices.Concat(groups...)
	tr := array.NewTableReader(tbl, 100)
	defer tr.Release()
	r := 0
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			w := rows[r]
			col := func(name string) arrow.Array { return rec.Column(sc.FieldIndices(name)[0]) }
			i64 := func(name string) int64 { return col(name).(*array.Int64).Value(i) }
			f64 := func(name string) float64 { return col(name).(*array.Float64).Value(i) }
			str := func(name string) string { return col(name).(*array.String).Value(i) }
			list := func(name string) any {
				l := col(name).(*array.List)
				lo, hi := l.ValueOffsets(i)
				switch v := l.ListValues().(type) {
				case *array.Int64:
					return slices.Clone(v.Int64Values()[lo:hi])
				case *array.Float64:
					return slices.Clone(v.Float64Values()[lo:hi])
				}
				return nil
			}
			got := Row{
				PromptIdx: i64("prompt_idx"), StepIdx: i64("step_idx"), TeacherSampleID: i64("teacher_sample_id"),
				TeacherSampleText: str("teacher_sample_text"), TopKIDs: list("topk_ids").([]int64),
				TopKLogprobs: list("topk_logprobs").([]float64), OtherLogprob: f64("other_logprob"),
				IsStructToken: col("is_struct_token").(*array.Boolean).Value(i), TemplateHash: str("template_hash"),
				TokenizerHash: str("tokenizer_hash"), TeacherSampleLogprob: f64("teacher_sample_logprob"),
				StudentIDs: list("student_ids").([]int64), PromptText: str("prompt_text"),
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("row %d:\n%+v\nwant\n%+v", r, got, w)
			}
			r++
		}
	}
	if r != len(rows) {
		t.Errorf("%d rows, want %d", r, len(rows))
	}
}

func TestReadRejectsOtherSchemas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.parquet")
	sc := arrow.NewSchema([]arrow.Field{{Name: "prompt_idx", Type: arrow.PrimitiveTypes.Int32}}, nil)
	bld := array.NewRecordBuilder(memory.NewGoAllocator(), sc)
	bld.Field(0).(*array.Int32Builder).Append(1)
	rec := bld.NewRecordBatch()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	f.Close()
	if _, err := Read(path); err == nil {
		t.Error("a file of another schema was read")
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.parquet")); err == nil {
		t.Error("a missing file was read")
	}
}

func TestReadEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.parquet")
	writeFile(t, path, nil)
	rows, err := Read(path)
	if err != nil || len(rows) != 0 {
		t.Errorf("empty file: %d rows, %v", len(rows), err)
	}
}
