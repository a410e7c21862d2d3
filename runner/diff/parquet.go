package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ParquetDiff compares two Parquet files: their row counts, their schemas
// (columns added, removed or retyped) and per-column statistics.
type ParquetDiff struct {
	BaseRows  int64        `json:"base_rows"`
	OtherRows int64        `json:"other_rows"`
	Schema    []Value      `json:"schema,omitempty"`
	Columns   []ColumnDiff `json:"columns"`
}

// ColumnDiff is one column's statistics in both files.
type ColumnDiff struct {
	Name   string       `json:"name"`
	Change string       `json:"change"`
	Base   *ColumnStats `json:"base,omitempty"`
	Other  *ColumnStats `json:"other,omitempty"`
	// Mean is the delta of the column's mean (numbers and booleans) or of
	// its mean list length (lists).
	Mean *Delta `json:"mean_delta,omitempty"`
}

// ColumnStats summarises a column: for numbers (and booleans, as 0/1) the
// range and mean of its values, for lists the range and mean of their
// lengths. Nulls are counted and otherwise skipped.
type ColumnStats struct {
	Type  string   `json:"type"`
	Count int64    `json:"count"`
	Nulls int64    `json:"nulls"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
	Mean  *float64 `json:"mean,omitempty"`
	// Len holds the list length statistics of a list column.
	Len *ColumnStats `json:"len,omitempty"`
}

// CompareParquet reads both files completely and compares them.
func CompareParquet(a, b []byte) (*ParquetDiff, error) {
	sa, ra, err := parquetStats(a)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	sb, rb, err := parquetStats(b)
	if err != nil {
		return nil, fmt.Errorf("other: %w", err)
	}
	d := &ParquetDiff{BaseRows: ra, OtherRows: rb}
	ta, tb := map[string]string{}, map[string]string{}
	for k, s := range sa {
		ta[k] = s.Type
	}
	for k, s := range sb {
		tb[k] = s.Type
	}
	d.Schema = compareMaps(ta, tb, false)
	for _, k := range unionKeys(sa, sb) {
		c := ColumnDiff{Name: k, Base: sa[k], Other: sb[k]}
		switch {
		case c.Base == nil:
			c.Change = Added
		case c.Other == nil:
			c.Change = Removed
		case sameStats(c.Base, c.Other):
			c.Change = Same
		default:
			c.Change = Changed
		}
		if c.Base != nil && c.Other != nil {
			ma, mb := c.Base.Mean, c.Other.Mean
			if c.Base.Len != nil && c.Other.Len != nil {
				ma, mb = c.Base.Len.Mean, c.Other.Len.Mean
			}
			if ma != nil && mb != nil {
				c.Mean = delta(*ma, *mb)
			}
		}
		d.Columns = append(d.Columns, c)
	}
	return d, nil
}

func sameStats(a, b *ColumnStats) bool {
	eq := func(x, y *float64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if a.Type != b.Type || a.Count != b.Count || a.Nulls != b.Nulls || !eq(a.Min, b.Min) || !eq(a.Max, b.Max) || !eq(a.Mean, b.Mean) {
		return false
	}
	if (a.Len == nil) != (b.Len == nil) {
		return false
	}
	return a.Len == nil || sameStats(a.Len, b.Len)
}

// parquetStats reads a Parquet file and returns each top-level column's
// statistics and the row count.
func parquetStats(b []byte) (map[string]*ColumnStats, int64, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("parquet: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.NewGoAllocator())
	if err != nil {
		return nil, 0, fmt.Errorf("parquet: %w", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, 0, fmt.Errorf("parquet: %w", err)
	}
	acc := make([]*statsAcc, sc.NumFields())
	for i, f := range sc.Fields() {
		acc[i] = &statsAcc{ColumnStats: ColumnStats{Type: f.Type.String()}}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("parquet: %w", err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range acc {
			acc[i].add(rec.Column(i))
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("parquet: %w", err)
	}
	out := make(map[string]*ColumnStats, len(acc))
	for i, f := range sc.Fields() {
		out[f.Name] = acc[i].finish()
	}
	return out, pf.NumRows(), nil
}

// statsAcc accumulates ColumnStats over record batches.
type statsAcc struct {
	ColumnStats
	sum, lo, hi float64
	n           int64 // values that entered sum
	lens        *statsAcc
}

func (s *statsAcc) value(v float64) {
	if s.n == 0 {
		s.lo, s.hi = v, v
	}
	s.lo, s.hi = min(s.lo, v), max(s.hi, v)
	s.sum += v
	s.n++
}

func (s *statsAcc) add(col arrow.Array) {
	n := col.Len()
	s.Count += int64(n)
	s.Nulls += int64(col.NullN())
	if l, ok := col.(array.ListLike); ok {
		if s.lens == nil {
			s.lens = &statsAcc{ColumnStats: ColumnStats{Type: "length"}}
		}
		for i := range n {
			if col.IsNull(i) {
				continue
			}
			lo, hi := l.ValueOffsets(i)
			s.lens.Count++
			s.lens.value(float64(hi - lo))
		}
		return
	}
	get := numericGetter(col)
	if get == nil {
		return
	}
	for i := range n {
		if !col.IsNull(i) {
			s.value(get(i))
		}
	}
}

func (s *statsAcc) finish() *ColumnStats {
	st := s.ColumnStats
	if s.n > 0 {
		lo, hi, mean := s.lo, s.hi, s.sum/float64(s.n)
		st.Min, st.Max, st.Mean = finite(lo), finite(hi), finite(mean)
	}
	if s.lens != nil {
		st.Len = s.lens.finish()
	}
	return &st
}

// numericGetter returns a reader of col's values as float64, or nil when
// the column is not numeric (strings, binaries, structs).
func numericGetter(col arrow.Array) func(int) float64 {
	switch c := col.(type) {
	case *array.Int8:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int16:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int32:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Int64:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint8:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint16:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint32:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Uint64:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Float32:
		return func(i int) float64 { return float64(c.Value(i)) }
	case *array.Float64:
		return func(i int) float64 { return c.Value(i) }
	case *array.Boolean:
		return func(i int) float64 {
			if c.Value(i) {
				return 1
			}
			return 0
		}
	}
	return nil
}
