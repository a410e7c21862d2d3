package traces

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Column names of the traces file, in order: the seed's ten, then
// teacher_sample_logprob, student_ids and prompt_text.
const (
	ColPromptIdx            = "prompt_idx"
	ColStepIdx              = "step_idx"
	ColTeacherSampleID      = "teacher_sample_id"
	ColTeacherSampleText    = "teacher_sample_text"
	ColTopKIDs              = "topk_ids"
	ColTopKLogprobs         = "topk_logprobs"
	ColOtherLogprob         = "other_logprob"
	ColIsStructToken        = "is_struct_token"
	ColTemplateHash         = "template_hash"
	ColTokenizerHash        = "tokenizer_hash"
	ColTeacherSampleLogprob = "teacher_sample_logprob"
	ColStudentIDs           = "student_ids"
	ColPromptText           = "prompt_text"
)

// Schema is the Arrow schema of the traces file. No column is nullable.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: ColPromptIdx, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColStepIdx, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColTeacherSampleID, Type: arrow.PrimitiveTypes.Int64},
	{Name: ColTeacherSampleText, Type: arrow.BinaryTypes.String},
	{Name: ColTopKIDs, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)},
	{Name: ColTopKLogprobs, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float64)},
	{Name: ColOtherLogprob, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColIsStructToken, Type: arrow.FixedWidthTypes.Boolean},
	{Name: ColTemplateHash, Type: arrow.BinaryTypes.String},
	{Name: ColTokenizerHash, Type: arrow.BinaryTypes.String},
	{Name: ColTeacherSampleLogprob, Type: arrow.PrimitiveTypes.Float64},
	{Name: ColStudentIDs, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)},
	{Name: ColPromptText, Type: arrow.BinaryTypes.String},
}, nil)

// dictColumns are dictionary-encoded: prompt_text (spec) and the two hash
// columns, which hold one value per file.
var dictColumns = []string{ColPromptText, ColTemplateHash, ColTokenizerHash}

// writerProperties fixes every writer setting that shapes the bytes, so
// that equal rows give an equal file. Pages are uncompressed: the
// compressors' assembly and pure-Go paths are not promised to emit the same
// bytes on every platform, while uncompressed pages are a pure function of
// the values (and logprobs hardly compress). Dictionary encoding is kept
// for dictColumns whatever its estimated cost, and off elsewhere. The
// writer adds no timestamps; its created_by names the arrow-go version
// (pinned in go.mod; the golden test catches an upgrade that changes bytes).
func writerProperties() *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithVersion(parquet.V2_6),
		parquet.WithDataPageVersion(parquet.DataPageV1),
		parquet.WithCompression(compress.Codecs.Uncompressed),
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(true),
		parquet.WithPageIndexEnabled(false),
		parquet.WithBloomFilterEnabled(false),
		parquet.WithMaxRowGroupLength(1 << 40), // one Write = one row group
		parquet.WithDataPageSize(1 << 20),
		parquet.WithDictionaryPageSizeLimit(1 << 20),
		parquet.WithBatchSize(1024),
	}
	for _, c := range dictColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, true), parquet.WithDictionaryCostFallbackFor(c, false))
	}
	return parquet.NewWriterProperties(opts...)
}

// Writer writes a traces file one row group at a time.
type Writer struct {
	fw  *pqarrow.FileWriter
	mem memory.Allocator
}

// NewWriter starts a traces file on w.
func NewWriter(w io.Writer) (*Writer, error) {
	mem := memory.NewGoAllocator()
	// Hide any Close method: the Parquet writer would close w with the
	// footer, and w is the caller's.
	w = struct{ io.Writer }{w}
	fw, err := pqarrow.NewFileWriter(Schema, w, writerProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, fmt.Errorf("traces writer: %w", err)
	}
	return &Writer{fw: fw, mem: mem}, nil
}

// WriteGroup writes rows as one row group. An empty group is not written.
func (w *Writer) WriteGroup(rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	rec := buildRecord(w.mem, rows)
	defer rec.Release()
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("traces row group: %w", err)
	}
	return nil
}

// Close writes the footer. It does not close the underlying writer.
func (w *Writer) Close() error {
	if err := w.fw.Close(); err != nil {
		return fmt.Errorf("traces footer: %w", err)
	}
	return nil
}

func buildRecord(mem memory.Allocator, rows []Row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, Schema)
	defer b.Release()
	b.Reserve(len(rows))
	i64 := func(i int) *array.Int64Builder { return b.Field(i).(*array.Int64Builder) }
	f64 := func(i int) *array.Float64Builder { return b.Field(i).(*array.Float64Builder) }
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	lst := func(i int) *array.ListBuilder { return b.Field(i).(*array.ListBuilder) }
	for _, r := range rows {
		i64(0).Append(r.PromptIdx)
		i64(1).Append(r.StepIdx)
		i64(2).Append(r.TeacherSampleID)
		str(3).Append(r.TeacherSampleText)
		lst(4).Append(true)
		lst(4).ValueBuilder().(*array.Int64Builder).AppendValues(r.TopKIDs, nil)
		lst(5).Append(true)
		lst(5).ValueBuilder().(*array.Float64Builder).AppendValues(r.TopKLogprobs, nil)
		f64(6).Append(r.OtherLogprob)
		b.Field(7).(*array.BooleanBuilder).Append(r.IsStructToken)
		str(8).Append(r.TemplateHash)
		str(9).Append(r.TokenizerHash)
		f64(10).Append(r.TeacherSampleLogprob)
		lst(11).Append(true)
		lst(11).ValueBuilder().(*array.Int64Builder).AppendValues(r.StudentIDs, nil)
		str(12).Append(r.PromptText)
	}
	return b.NewRecordBatch()
}

// Read reads every row of a traces file, in file order. It checks the
// file's columns and types against Schema first, so a file of another shape
// is an error naming the column, not a panic.
func Read(path string) ([]Row, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	defer pf.Close()
	mem := memory.NewGoAllocator()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, mem)
	if err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	if err := CheckSchema(sc); err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	defer rr.Release()
	rows := make([]Row, 0, pf.NumRows())
	for rr.Next() {
		rows = appendRows(rows, rr.RecordBatch())
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	return rows, nil
}

// CheckSchema reports a schema that is not the traces schema: a missing,
// extra, misplaced or mistyped column. List element names and nullability
// are not compared (Parquet readers name list elements differently).
func CheckSchema(sc *arrow.Schema) error {
	if sc.NumFields() != Schema.NumFields() {
		return fmt.Errorf("%d columns, want %d", sc.NumFields(), Schema.NumFields())
	}
	for i, want := range Schema.Fields() {
		got := sc.Field(i)
		if got.Name != want.Name {
			return fmt.Errorf("column %d is %q, want %q", i, got.Name, want.Name)
		}
		if !sameType(got.Type, want.Type) {
			return fmt.Errorf("column %q has type %s, want %s", got.Name, got.Type, want.Type)
		}
	}
	return nil
}

func sameType(got, want arrow.DataType) bool {
	if wl, ok := want.(*arrow.ListType); ok {
		gl, ok := got.(*arrow.ListType)
		return ok && arrow.TypeEqual(gl.Elem(), wl.Elem())
	}
	return arrow.TypeEqual(got, want)
}

func appendRows(rows []Row, rec arrow.RecordBatch) []Row {
	i64 := func(i int) *array.Int64 { return rec.Column(i).(*array.Int64) }
	f64 := func(i int) *array.Float64 { return rec.Column(i).(*array.Float64) }
	// Strings are cloned: arrow's Value aliases the record's buffers.
	str := func(i, r int) string { return strings.Clone(rec.Column(i).(*array.String).Value(r)) }
	lst := func(i int) *array.List { return rec.Column(i).(*array.List) }
	ints := func(l *array.List, r int) []int64 {
		lo, hi := l.ValueOffsets(r)
		return append([]int64{}, l.ListValues().(*array.Int64).Int64Values()[lo:hi]...)
	}
	floats := func(l *array.List, r int) []float64 {
		lo, hi := l.ValueOffsets(r)
		return append([]float64{}, l.ListValues().(*array.Float64).Float64Values()[lo:hi]...)
	}
	structs := rec.Column(7).(*array.Boolean)
	for r := 0; r < int(rec.NumRows()); r++ {
		rows = append(rows, Row{
			PromptIdx: i64(0).Value(r), StepIdx: i64(1).Value(r), TeacherSampleID: i64(2).Value(r),
			TeacherSampleText: str(3, r), TopKIDs: ints(lst(4), r), TopKLogprobs: floats(lst(5), r),
			OtherLogprob: f64(6).Value(r), IsStructToken: structs.Value(r),
			TemplateHash: str(8, r), TokenizerHash: str(9, r),
			TeacherSampleLogprob: f64(10).Value(r), StudentIDs: ints(lst(11), r), PromptText: str(12, r),
		})
	}
	return rows
}
