package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Int8Table is a (V,C) table of int8 values with one fp32 scale per row,
// W_vi = Scales[v] * Q_vi (symmetric absmax per row: Scales[v] =
// max_i |w_vi| / 127, Q_vi = round(w_vi / Scales[v]), ties to even): an
// embedding (Lookup) and, read as W, a head C -> V computing out = x W^T
// (Forward). The products are taken in float32.
type Int8Table struct {
	V, C   int
	Data   []int8    // (V,C)
	Scales []float32 // (V)
	// Threads bounds the goroutines of Forward (0: GOMAXPROCS); the results
	// do not depend on it.
	Threads int
}

// NewInt8Table returns the table (V,C) of w quantized per row.
func NewInt8Table(V, C int, w []float32) *Int8Table {
	if len(w) != V*C {
		panic(fmt.Sprintf("model: NewInt8Table with %d values for %dx%d", len(w), V, C))
	}
	t := &Int8Table{V: V, C: C, Data: make([]int8, V*C), Scales: make([]float32, V)}
	for v := range V {
		t.quantizeRow(v, w[v*C:(v+1)*C])
	}
	return t
}

// RandomInt8Table returns a (V,C) table of N(0, std^2) values quantized per
// row, row v drawn from its own stream of seed into a one-row buffer (no fp32
// copy of the table is made), on at most threads goroutines (0: GOMAXPROCS)
// with the same result for any count.
func RandomInt8Table(V, C int, std float64, seed uint64, threads int) *Int8Table {
	t := &Int8Table{V: V, C: C, Data: make([]int8, V*C), Scales: make([]float32, V)}
	parallelForN(threads, V, 64, func(lo, hi int) {
		row := make([]float32, C)
		for v := lo; v < hi; v++ {
			src := rowPCG(seed, v)
			rng := rand.New(&src)
			for i := range row {
				row[i] = float32(rng.NormFloat64() * std)
			}
			t.quantizeRow(v, row)
		}
	})
	return t
}

// quantizeRow performs Scales[v] = max|w|/127, Q_v = round(w/Scales[v]); a
// zero row gets scale 0 and zero codes.
func (t *Int8Table) quantizeRow(v int, w []float32) {
	m := maxAbs(w)
	q := t.Data[v*t.C : (v+1)*t.C]
	if m == 0 {
		t.Scales[v] = 0
		clear(q)
		return
	}
	s := m / 127
	t.Scales[v] = s
	for i, x := range w {
		q[i] = int8(min(max(float32(math.RoundToEven(float64(x/s))), -127), 127))
	}
}

// At returns the value at row v, column i.
func (t *Int8Table) At(v, i int) float32 { return float32(t.Data[v*t.C+i]) * t.Scales[v] }

// Lookup performs out (n,C) = table[ids], dequantized to float32.
func (t *Int8Table) Lookup(out []float32, ids []int32) {
	for r, id := range ids {
		dst := out[r*t.C : (r+1)*t.C]
		t.decodeRow(dst, int(id), 0)
		s := t.Scales[id]
		for i := range dst {
			dst[i] *= s
		}
	}
}

// Forward performs out (n,V) = inp (n,C) * W^T with W the dequantized
// table: out_rv = Scales[v] * sum_i Q_vi x_ri. The activations are not
// quantized (actBits is ignored: the head is never quantized, spec §1).
func (t *Int8Table) Forward(out, inp []float32, n, actBits int) {
	tableForward(t, out, inp, n, t.V, t.C, t.Threads)
}

// Shape returns V and C (as an Embedding).
func (t *Int8Table) Shape() (int, int) { return t.V, t.C }

// Dims returns In = C and Out = V (as a head).
func (t *Int8Table) Dims() (int, int) { return t.C, t.V }

// Bytes returns one byte per value plus 4 bytes per row scale.
func (t *Int8Table) Bytes() int64 { return int64(len(t.Data)) + 4*int64(len(t.Scales)) }

// SetThreads sets Threads.
func (t *Int8Table) SetThreads(n int) { t.Threads = n }

func (t *Int8Table) decodeRow(dst []float32, v, i0 int) {
	for i, q := range t.Data[v*t.C+i0:][:len(dst)] {
		dst[i] = float32(q)
	}
}

func (t *Int8Table) rowScale(v int) float32 { return t.Scales[v] }
