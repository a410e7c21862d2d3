package model

import (
	"fmt"
	"math/rand/v2"
)

// F16Table is a (V,C) table of fp16 values: an embedding (Lookup) and, read
// as W (V,C), a head C -> V computing out = x W^T (Forward), so a tied model
// can use one table for both. Values are decoded to float32 exactly; the
// products are taken in float32.
type F16Table struct {
	V, C int
	Data []uint16 // (V,C) fp16 bit patterns
	// Threads bounds the goroutines of Forward (0: GOMAXPROCS); the results
	// do not depend on it.
	Threads int
}

// NewF16Table returns the table (V,C) of w rounded to fp16 (nearest, ties to
// even).
func NewF16Table(V, C int, w []float32) *F16Table {
	if len(w) != V*C {
		panic(fmt.Sprintf("model: NewF16Table with %d values for %dx%d", len(w), V, C))
	}
	t := &F16Table{V: V, C: C, Data: make([]uint16, V*C)}
	for i, x := range w {
		t.Data[i] = f32ToF16(x)
	}
	return t
}

// RandomF16Table returns a (V,C) table of N(0, std^2) values rounded to fp16,
// row v drawn from its own stream of seed (rows are filled on at most threads
// goroutines, 0: GOMAXPROCS, with the same result for any count). No fp32
// copy of the table is made.
func RandomF16Table(V, C int, std float64, seed uint64, threads int) *F16Table {
	t := &F16Table{V: V, C: C, Data: make([]uint16, V*C)}
	parallelForN(threads, V, 64, func(lo, hi int) {
		for v := lo; v < hi; v++ {
			src := rowPCG(seed, v)
			rng := rand.New(&src)
			for i := range t.Data[v*C : (v+1)*C] {
				t.Data[v*C+i] = f32ToF16(float32(rng.NormFloat64() * std))
			}
		}
	})
	return t
}

// At returns the value at row v, column i.
func (t *F16Table) At(v, i int) float32 { return f16ToF32(t.Data[v*t.C+i]) }

// Lookup performs out (n,C) = table[ids], decoded to float32.
func (t *F16Table) Lookup(out []float32, ids []int32) {
	for r, id := range ids {
		t.decodeRow(out[r*t.C:(r+1)*t.C], int(id), 0)
	}
}

// Forward performs out (n,V) = inp (n,C) * W^T with W the table; the
// activations are not quantized (actBits is ignored: the head is never
// quantized, spec §1).
func (t *F16Table) Forward(out, inp []float32, n, actBits int) {
	tableForward(t, out, inp, n, t.V, t.C, t.Threads)
}

// Shape returns V and C (as an Embedding).
func (t *F16Table) Shape() (int, int) { return t.V, t.C }

// Dims returns In = C and Out = V (as a head).
func (t *F16Table) Dims() (int, int) { return t.C, t.V }

// Bytes returns 2 bytes per value.
func (t *F16Table) Bytes() int64 { return 2 * int64(len(t.Data)) }

// SetThreads sets Threads.
func (t *F16Table) SetThreads(n int) { t.Threads = n }

func (t *F16Table) decodeRow(dst []float32, v, i0 int) {
	dec := f16Decode()
	for i, h := range t.Data[v*t.C+i0:][:len(dst)] {
		dst[i] = dec[h]
	}
}

func (t *F16Table) rowScale(int) float32 { return 1 }
