package model

import "fmt"

// Embedding is a token embedding table (V,C) in some storage format: the
// fp32 table of a trained model (DenseEmbedding), or the fp16 and int8 tables
// (F16Table, Int8Table) that keep a 7B model's embedding and head small.
type Embedding interface {
	// Lookup performs out (n,C) = table[ids] (n = len(ids)), decoded to
	// float32.
	Lookup(out []float32, ids []int32)
	// Shape returns the table's (V,C).
	Shape() (vocab, dim int)
	// Bytes returns the memory the table occupies, counted from its
	// buffers.
	Bytes() int64
}

// DenseEmbedding is an fp32 embedding table.
type DenseEmbedding struct {
	V, C  int
	Table []float32 // (V,C)
}

// NewDenseEmbedding returns the fp32 table (V,C) holding table.
func NewDenseEmbedding(V, C int, table []float32) *DenseEmbedding {
	if len(table) != V*C {
		panic(fmt.Sprintf("model: NewDenseEmbedding with %d values for %dx%d", len(table), V, C))
	}
	return &DenseEmbedding{V: V, C: C, Table: table}
}

// Lookup performs out (n,C) = Table[ids].
func (e *DenseEmbedding) Lookup(out []float32, ids []int32) {
	encoderForward(out, e.Table, ids, len(ids), e.C)
}

// Shape returns V and C.
func (e *DenseEmbedding) Shape() (int, int) { return e.V, e.C }

// Bytes returns 4 bytes per entry.
func (e *DenseEmbedding) Bytes() int64 { return 4 * int64(len(e.Table)) }

// rowDecoder is a (V,C) table stored in a compact format: decodeRow writes
// the float32 values of row v, columns [i0, i0+len(dst)), to dst (without
// the row's scale), and rowScale returns the factor every value of row v is
// multiplied by.
type rowDecoder interface {
	decodeRow(dst []float32, v, i0 int)
	rowScale(v int) float32
}

// Blocking of tableForward: headCols columns of a row are decoded at a
// time into a stack buffer and applied to headToks tokens.
const (
	headCols = 256
	headToks = 16
)

// tableForward performs out (n,V) = inp (n,C) * W^T for the (V,C) table W
// of t, W_vi = rowScale(v) * decodeRow(v)_i: a head C -> V read straight from
// its compact storage. Work is split by output rows v, each summed in a
// fixed order (columns ascending, four partial sums per block), so the
// result does not depend on threads.
func tableForward(t rowDecoder, out, inp []float32, n, V, C, threads int) {
	parallelForN(threads, V, 64, func(vlo, vhi int) {
		var w [headCols]float32
		for v := vlo; v < vhi; v++ {
			s := t.rowScale(v)
			for t0 := 0; t0 < n; t0 += headToks {
				T := min(headToks, n-t0)
				var acc [headToks]float32
				for i0 := 0; i0 < C; i0 += headCols {
					m := min(headCols, C-i0)
					t.decodeRow(w[:m], v, i0)
					r := 0
					for ; r+2 <= T; r += 2 {
						d0, d1 := dot2(w[:m], inp[(t0+r)*C+i0:][:m], inp[(t0+r+1)*C+i0:][:m])
						acc[r] += d0
						acc[r+1] += d1
					}
					if r < T {
						acc[r] += dot(w[:m], inp[(t0+r)*C+i0:][:m])
					}
				}
				for r := range T {
					out[(t0+r)*V+v] = acc[r] * s
				}
			}
		}
	})
}

// dot returns sum_i a_i b_i over len(a) values, in four interleaved partial
// sums added as (s0+s1)+(s2+s3), then the remainder in order. dot2 computes
// two such sums sharing a, with the same arithmetic per sum, so a token's
// logits do not depend on which tokens it is computed with.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 4 {
		x, y := a[:4:4], b[:4:4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		a, b = a[4:], b[4:]
	}
	s := (s0 + s1) + (s2 + s3)
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// dot2 returns dot(a, b) and dot(a, c), reading a once.
func dot2(a, b, c []float32) (float32, float32) {
	b, c = b[:len(a)], c[:len(a)]
	var s0, s1, s2, s3, t0, t1, t2, t3 float32
	for len(a) >= 4 {
		x, y, z := a[:4:4], b[:4:4], c[:4:4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		t0 += x[0] * z[0]
		t1 += x[1] * z[1]
		t2 += x[2] * z[2]
		t3 += x[3] * z[3]
		a, b, c = a[4:], b[4:], c[4:]
	}
	s, t := (s0+s1)+(s2+s3), (t0+t1)+(t2+t3)
	for i, x := range a {
		s += x * b[i]
		t += x * c[i]
	}
	return s, t
}
