package model

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
)

// forEachGemmPath runs f as a subtest on every matmul path this CPU runs
// (avx512, avx2, go), restoring the default path after.
func forEachGemmPath(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := gemmImpl
	defer func() { gemmImpl = saved }()
	for _, p := range gemmPaths() {
		if err := setGemmPath(p); err != nil {
			t.Fatal(err)
		}
		t.Run(p, f)
	}
}

// gemmCase is one matmul call on random operands with leading dimensions
// wider than the rows and a guard band past the last element of c.
type gemmCase struct {
	m, n, k        int
	transA, acc    bool
	lda, ldb, ldc  int
	a, b, c0       []float32
	guard, padding int
}

func newGemmCase(rng *rand.Rand, m, n, k int, transA, acc bool) *gemmCase {
	g := &gemmCase{m: m, n: n, k: k, transA: transA, acc: acc, ldb: n + 5, ldc: n + 3, guard: 37}
	rows, cols := m, k
	if transA {
		rows, cols = k, m
	}
	g.lda = cols + 2
	g.a = randVec(rng, rows*g.lda, 1)
	g.b = randVec(rng, k*g.ldb, 1)
	g.c0 = randVec(rng, m*g.ldc+g.guard, 1)
	return g
}

func (g *gemmCase) run() []float32 {
	c := append([]float32(nil), g.c0...)
	matmul(c, g.ldc, g.a, g.lda, g.transA, g.b, g.ldb, g.m, g.n, g.k, g.acc)
	return c
}

func (g *gemmCase) aAt(i, p int) float32 {
	if g.transA {
		return g.a[p*g.lda+i]
	}
	return g.a[i*g.lda+p]
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("m %d n %d k %d transA %v acc %v", g.m, g.n, g.k, g.transA, g.acc)
}

// check compares c with a float64 reference: each element within the
// float32 error bound of a k-term sum, 2(k+1) eps (sum |a b| + |c0|), and
// every element outside the m x n matrix (row padding, guard band) unchanged.
func (g *gemmCase) check(t *testing.T, c []float32) {
	t.Helper()
	const eps = 1.0 / (1 << 24)
	for i := range g.m {
		for j := range g.ldc {
			at := i*g.ldc + j
			if j >= g.n {
				if math.Float32bits(c[at]) != math.Float32bits(g.c0[at]) {
					t.Fatalf("%v: wrote the padding at [%d,%d]", g, i, j)
				}
				continue
			}
			var want, mag float64
			if g.acc {
				want, mag = float64(g.c0[at]), math.Abs(float64(g.c0[at]))
			}
			for p := range g.k {
				pr := float64(g.aAt(i, p)) * float64(g.b[p*g.ldb+j])
				want += pr
				mag += math.Abs(pr)
			}
			if d := math.Abs(float64(c[at]) - want); !(d <= 2*float64(g.k+1)*eps*mag) {
				t.Fatalf("%v: c[%d,%d] = %g, want %g (error %g, bound %g)", g, i, j, c[at], want, d, 2*float64(g.k+1)*eps*mag)
			}
		}
	}
	for at := g.m * g.ldc; at < len(c); at++ {
		if math.Float32bits(c[at]) != math.Float32bits(g.c0[at]) {
			t.Fatalf("%v: wrote past the end of c at %d", g, at)
		}
	}
}

// gemmSizes are the dimensions of the shape tests: tiny, around the tile
// sizes (6, 14, 16, 32), and around the blocks (kc 256, mc 96/112).
var gemmSizes = []int{1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 64, 65, 100, 127, 129, 256, 300}

// gemmShapes returns every (m,n,k) of gemmSizes up to 33 and a fixed random
// sample of the others, each of the larger sizes at least once per position.
func gemmShapes() [][3]int {
	var small, all []int
	for _, s := range gemmSizes {
		if s <= 33 {
			small = append(small, s)
		}
	}
	var shapes [][3]int
	for _, m := range small {
		for _, n := range small {
			for _, k := range small {
				shapes = append(shapes, [3]int{m, n, k})
			}
		}
	}
	all = gemmSizes
	rng := rand.New(rand.NewPCG(7, 7))
	for _, s := range all[len(small):] {
		shapes = append(shapes,
			[3]int{s, all[rng.IntN(len(all))], all[rng.IntN(len(all))]},
			[3]int{all[rng.IntN(len(all))], s, all[rng.IntN(len(all))]},
			[3]int{all[rng.IntN(len(all))], all[rng.IntN(len(all))], s})
	}
	for range 40 {
		shapes = append(shapes, [3]int{all[rng.IntN(len(all))], all[rng.IntN(len(all))], all[rng.IntN(len(all))]})
	}
	return append(shapes, [3]int{300, 300, 300}, [3]int{129, 257, 513}, [3]int{1, 300, 2048})
}

// TestMatmulShapes checks every path against the float64 reference on
// many shapes with ragged edges, both forms of a, overwrite and accumulate.
func TestMatmulShapes(t *testing.T) {
	shapes := gemmShapes()
	forEachGemmPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, s := range shapes {
			for _, transA := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					g := newGemmCase(rng, s[0], s[1], s[2], transA, acc)
					g.check(t, g.run())
				}
			}
		}
	})
}

// TestMatmulFMAChain checks the SIMD paths bit for bit against their
// contract: every c element is c0 (or 0) followed by one correctly rounded
// float32 fused multiply-add per inner index, in ascending order. It also
// means AVX2 and AVX-512 give the same bits.
func TestMatmulFMAChain(t *testing.T) {
	if len(gemmSets) == 0 {
		t.Skip("no SIMD matmul on this CPU")
	}
	fma := func(a, b, c float32) float32 { // exact product and sum, one rounding
		x := new(big.Float).SetPrec(256).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(256).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetPrec(256).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	forEachGemmPath(t, func(t *testing.T) {
		if gemmImpl == nil {
			t.Skip("the go path adds rounded products")
		}
		rng := rand.New(rand.NewPCG(6, 6))
		for _, s := range [][3]int{{1, 1, 1}, {3, 17, 5}, {15, 33, 40}, {29, 47, 300}, {65, 16, 17}} {
			for _, transA := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					g := newGemmCase(rng, s[0], s[1], s[2], transA, acc)
					c := g.run()
					for i := range g.m {
						for j := range g.n {
							var want float32
							if acc {
								want = g.c0[i*g.ldc+j]
							}
							for p := range g.k {
								want = fma(g.aAt(i, p), g.b[p*g.ldb+j], want)
							}
							if got := c[i*g.ldc+j]; math.Float32bits(got) != math.Float32bits(want) {
								t.Fatalf("%v: c[%d,%d] = %g, want %g", g, i, j, got, want)
							}
						}
					}
				}
			}
		}
	})
}

// TestMatmulThreads requires bit-identical results at GOMAXPROCS 1, 2 and 4
// on every path, on shapes big enough to run in parallel, including a short
// wide one that is split by columns and a deep a^T b one.
func TestMatmulThreads(t *testing.T) {
	forEachGemmPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 8))
		for _, s := range [][3]int{{300, 257, 129}, {2048, 128, 128}, {20, 1000, 600}, {5, 1000, 600}, {129, 300, 2048}} {
			for _, transA := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					g := newGemmCase(rng, s[0], s[1], s[2], transA, acc)
					var c1 []float32
					for _, procs := range []int{1, 2, 4} {
						prev := runtime.GOMAXPROCS(procs)
						c := g.run()
						runtime.GOMAXPROCS(prev)
						if c1 == nil {
							c1 = c
							continue
						}
						for i := range c {
							if math.Float32bits(c[i]) != math.Float32bits(c1[i]) {
								t.Fatalf("%v: GOMAXPROCS %d: c[%d] = %g, want %g", g, procs, i, c[i], c1[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestMatmulConcurrent runs products from several goroutines at once (as
// the attention kernels do) and requires the results of one at a time.
func TestMatmulConcurrent(t *testing.T) {
	forEachGemmPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		var cases []*gemmCase
		var want [][]float32
		for i := range 8 {
			g := newGemmCase(rng, 100+i*37, 200, 150, i%2 == 0, i%3 == 0)
			cases = append(cases, g)
			want = append(want, g.run())
		}
		got := make([][]float32, len(cases))
		parallelFor(len(cases), 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				got[i] = cases[i].run()
			}
		})
		for i := range cases {
			for j := range want[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%v: c[%d] = %g, want %g", cases[i], j, got[i][j], want[i][j])
				}
			}
		}
	})
}

// TestMatmulNoAllocs requires a parallel SIMD product to allocate nothing
// once warm.
func TestMatmulNoAllocs(t *testing.T) {
	if len(gemmSets) == 0 {
		t.Skip("no SIMD matmul on this CPU")
	}
	if raceEnabled {
		t.Skip("the race detector drops pooled buffers")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	forEachGemmPath(t, func(t *testing.T) {
		if gemmImpl == nil {
			t.Skip("gonum allocates")
		}
		g := newGemmCase(rand.New(rand.NewPCG(10, 10)), 512, 200, 300, false, false)
		c := append([]float32(nil), g.c0...)
		f := func() { matmul(c, g.ldc, g.a, g.lda, false, g.b, g.ldb, g.m, g.n, g.k, false) }
		f()
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Fatalf("%v allocations per call", n)
		}
	})
}

// TestMatmulShortOperands requires a panic, not a read out of bounds, when
// an operand is shorter than its shape needs.
func TestMatmulShortOperands(t *testing.T) {
	forEachGemmPath(t, func(t *testing.T) {
		if gemmImpl == nil {
			t.Skip("gonum checks its own operands")
		}
		a, b, c := make([]float32, 9*10), make([]float32, 10*11), make([]float32, 9*11)
		for name, f := range map[string]func(){
			"a":  func() { matmul(c, 11, a[:len(a)-1], 10, false, b, 11, 9, 11, 10, false) },
			"b":  func() { matmul(c, 11, a, 10, false, b[:len(b)-1], 11, 9, 11, 10, false) },
			"c":  func() { matmul(c[:len(c)-1], 11, a, 10, false, b, 11, 9, 11, 10, false) },
			"aT": func() { matmul(c, 11, a[:len(a)-1], 9, true, b, 11, 9, 11, 10, false) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("short %s: no panic", name)
					}
				}()
				f()
			}()
		}
	})
}
