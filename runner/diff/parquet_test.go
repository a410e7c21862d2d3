package diff

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/bitflow-dev/bitflow/steps/traces"
)

// writeParquet writes one record batch built by fill.
func writeParquet(t *testing.T, sc *arrow.Schema, fill func(b *array.RecordBuilder)) []byte {
	t.Helper()
	mem := memory.NewGoAllocator()
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	fill(rb)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(sc, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDiffCompareParquet(t *testing.T) {
	ints := arrow.ListOf(arrow.PrimitiveTypes.Int64)
	scA := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
		{Name: "toks", Type: ints},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}, nil)
	a := writeParquet(t, scA, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
		b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.5, 1.5, 1}, nil)
		lb := b.Field(2).(*array.ListBuilder)
		for _, n := range []int{1, 2, 3} {
			lb.Append(true)
			for range n {
				lb.ValueBuilder().(*array.Int64Builder).Append(7)
			}
		}
		b.Field(3).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	})
	scB := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "score", Type: arrow.PrimitiveTypes.Float32},
		{Name: "toks", Type: ints},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	b := writeParquet(t, scB, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
		b.Field(1).(*array.Float32Builder).AppendValues([]float32{0.5, 2, 1, 0.5}, nil)
		lb := b.Field(2).(*array.ListBuilder)
		for _, n := range []int{4, 4, 4, 4} {
			lb.Append(true)
			for range n {
				lb.ValueBuilder().(*array.Int64Builder).Append(7)
			}
		}
		b.Field(3).(*array.BooleanBuilder).AppendValues([]bool{true, false, true, true}, nil)
	})
	d, err := CompareParquet(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseRows != 3 || d.OtherRows != 4 {
		t.Errorf("rows %d -> %d, want 3 -> 4", d.BaseRows, d.OtherRows)
	}
	schema := map[string]string{}
	for _, v := range d.Schema {
		schema[v.Key] = v.Change
	}
	if len(schema) != 3 || schema["score"] != Changed || schema["name"] != Removed || schema["flag"] != Added {
		t.Errorf("schema changes: %+v", d.Schema)
	}
	cols := map[string]ColumnDiff{}
	for _, c := range d.Columns {
		cols[c.Name] = c
	}
	id := cols["id"]
	if id.Change != Changed || *id.Base.Min != 1 || *id.Base.Max != 3 || *id.Other.Max != 4 {
		t.Errorf("id: %+v", id)
	}
	checkDelta(t, "id mean", id.Mean.Abs, id.Mean.Rel, 0.5, 0.25)
	sc := cols["score"]
	if *sc.Base.Mean != 1 || *sc.Other.Max != 2 || sc.Other.Type != "float32" {
		t.Errorf("score: %+v %+v", sc.Base, sc.Other)
	}
	toks := cols["toks"]
	if toks.Base.Len == nil || *toks.Base.Len.Min != 1 || *toks.Base.Len.Max != 3 || *toks.Other.Len.Mean != 4 {
		t.Errorf("toks lengths: %+v %+v", toks.Base.Len, toks.Other.Len)
	}
	checkDelta(t, "toks mean length", toks.Mean.Abs, toks.Mean.Rel, 2, 1)
	if f := cols["flag"]; f.Change != Added || *f.Other.Mean != 0.75 {
		t.Errorf("flag: %+v", f)
	}
	if n := cols["name"]; n.Change != Removed || n.Base.Count != 3 || n.Base.Mean != nil {
		t.Errorf("name: %+v", n)
	}
	same, err := CompareParquet(a, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range same.Columns {
		if c.Change != Same {
			t.Errorf("%s differs from itself", c.Name)
		}
	}
}

// TestDiffCompareTracesFiles compares two files of the traces kind's writer
// through CompareBytes, as bitflow diff sees a traces output.
func TestDiffCompareTracesFiles(t *testing.T) {
	write := func(rows ...traces.Row) []byte {
		var buf bytes.Buffer
		w, err := traces.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteGroup(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	row := traces.Row{TopKIDs: []int64{1, 2}, TopKLogprobs: []float64{-0.1, -2}, OtherLogprob: -3, StudentIDs: []int64{5}}
	row2 := row
	row2.StepIdx, row2.OtherLogprob = 1, -5
	c, err := CompareBytes("traces", write(row), write(row, row2))
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != FormatParquet || c.Parquet == nil || c.Note != "" {
		t.Fatalf("%+v", c)
	}
	if c.Parquet.BaseRows != 1 || c.Parquet.OtherRows != 2 || len(c.Parquet.Schema) != 0 {
		t.Errorf("rows %d -> %d, schema %+v", c.Parquet.BaseRows, c.Parquet.OtherRows, c.Parquet.Schema)
	}
	for _, col := range c.Parquet.Columns {
		if col.Name == traces.ColOtherLogprob {
			checkDelta(t, "other_logprob mean", col.Mean.Abs, col.Mean.Rel, -1, -1.0/3)
		}
	}
}
