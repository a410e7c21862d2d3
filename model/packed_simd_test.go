package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// forEachTernaryPath runs f on every packed path this CPU runs
// (avx512vnni, avx2, go), restoring the default afterwards.
func forEachTernaryPath(t *testing.T, f func(t *testing.T)) {
	saved := ternaryImpl
	defer func() { ternaryImpl = saved }()
	for _, path := range ternaryPaths() {
		if err := setTernaryPath(path); err != nil {
			t.Fatal(err)
		}
		t.Run(path, f)
	}
}

func TestTernaryPathSelection(t *testing.T) {
	if got := ternaryPaths(); got[len(got)-1] != "go" {
		t.Fatalf("paths %v do not end with go", got)
	}
	if defaultTernary("go") != nil {
		t.Error("BITFLOW_PACKED=go does not select the pure-Go kernels")
	}
	if len(ternarySets) > 0 && defaultTernary("nonsense") != ternarySets[0] {
		t.Error("an unknown BITFLOW_PACKED does not fall back to the fastest path")
	}
	if err := setTernaryPath("nonsense"); err == nil {
		t.Error("setTernaryPath accepted an unknown path")
	}
	t.Logf("packed paths %v, in use %s", ternaryPaths(), PackedPath())
}

// float32sIdentical compares bit patterns, so NaNs compare too.
func float32sIdentical(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestTernarySIMDExact runs every packed path over shapes with partial
// bytes, partial 32-byte chunks, rows shorter than a chunk, odd row counts
// (the VNNI kernel takes rows in pairs), every token remainder mod 4, A8, A4
// and A2, and projections large enough to be split between threads, against
// the direct integer sum: the outputs must be identical bit for bit.
func TestTernarySIMDExact(t *testing.T) {
	forEachTernaryPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, dims := range [][2]int{{1, 1}, {3, 2}, {37, 29}, {64, 8}, {127, 3}, {128, 128}, {129, 17},
			{130, 5}, {256, 33}, {260, 70}, {383, 9}, {512, 128}, {517, 300}, {1000, 64}, {1029, 1100}} {
			p := SeededTernaryProj(dims[0], dims[1], true, 1, uint64(dims[0]*7+dims[1]), 0)
			for o := range p.Scales {
				p.Scales[o] = float32(rng.Float64() + 0.5)
			}
			ns := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 17}
			if dims[1] > 500 {
				ns = []int{1, 3, 9} // 9 x 1029 x 1100 is split between threads
			}
			for _, n := range ns {
				checkTernaryAgainstDirectSum(t, p, randVec(rng, n*dims[0], 2), n)
			}
		}
	})
}

// TestTernarySIMDSpecialInputs checks rounding ties, zero rows, tiny and
// huge magnitudes and non-finite activations: every path must give the
// pure-Go path's bits (NaNs included).
func TestTernarySIMDSpecialInputs(t *testing.T) {
	const in, out = 300, 37
	p := SeededTernaryProj(in, out, true, 0.75, 9, 0)
	rows := map[string][]float32{}
	ties := make([]float32, in) // max 127 so s = 1: every x*s is a tie
	for i := range ties {
		ties[i] = float32(i%255-127) + 0.5
	}
	ties[0] = 127
	rows["ties"] = ties
	rows["zero"] = make([]float32, in)
	tiny := randVec(rand.New(rand.NewPCG(1, 2)), in, 1e-7)
	rows["tiny"] = tiny
	huge := randVec(rand.New(rand.NewPCG(3, 4)), in, 3e37)
	rows["huge"] = huge
	for _, bad := range []struct {
		name string
		at   int
		v    float32
	}{{"nan_vec", 5, float32(math.NaN())}, {"nan_tail", 299, float32(math.NaN())},
		{"inf_vec", 17, float32(math.Inf(1))}, {"ninf_tail", 290, float32(math.Inf(-1))}} {
		r := randVec(rand.New(rand.NewPCG(5, uint64(bad.at))), in, 1)
		r[bad.at] = bad.v
		rows[bad.name] = r
	}
	for name, row := range rows {
		for _, bits := range []int{8, 4} {
			saved := ternaryImpl
			ternaryImpl = nil
			want := make([]float32, 2*out)
			x := append(append([]float32(nil), row...), row...)
			p.Forward(want, x, 2, bits)
			ternaryImpl = saved
			forEachTernaryPath(t, func(t *testing.T) {
				got := make([]float32, 2*out)
				p.Forward(got, x, 2, bits)
				if !float32sIdentical(got, want) {
					t.Errorf("%s A%d: got %v, want %v", name, bits, got[:4], want[:4])
				}
			})
		}
	}
}

// TestTernaryKernelsDirect calls every SIMD kernel on random codes and
// random int8 activations (all of -128..127, beyond what the quantizer
// produces), row counts odd and even and chunk counts from 0, against a
// scalar sum of u(code) x in the chunk layout.
func TestTernaryKernelsDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	u := [4]int32{1, 2, 0, 1}
	for _, k := range ternarySets {
		for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 19} {
			for chunks := range 4 {
				rb := 32*chunks + 5 // the kernels stop at the whole chunks
				codes := make([]byte, rows*rb)
				for i := range codes {
					codes[i] = byte(rng.UintN(256))
				}
				xw := 128*chunks + 128
				for T := 1; T <= 4; T++ {
					x := make([]int8, T*xw)
					for i := range x {
						x[i] = int8(rng.UintN(256))
					}
					const ldo = 21
					got := make([]int32, T*ldo)
					for i := range got {
						got[i] = -7
					}
					k.kern[T-1](&codes[0], rb, rows, chunks, &x[0], xw, &got[0], ldo)
					for tk := range T {
						for r := range rows {
							var want int32
							for c := range chunks {
								for j := range 32 {
									b := codes[r*rb+32*c+j]
									for q := range 4 {
										want += u[(b>>(2*q))&3] * int32(x[tk*xw+128*c+32*q+j])
									}
								}
							}
							if got[tk*ldo+r] != want {
								t.Fatalf("%s T%d rows %d chunks %d: token %d row %d = %d, want %d",
									k.name, T, rows, chunks, tk, r, got[tk*ldo+r], want)
							}
						}
						for r := rows; r < ldo; r++ {
							if got[tk*ldo+r] != -7 {
								t.Fatalf("%s T%d rows %d: wrote past the rows", k.name, T, rows)
							}
						}
					}
				}
			}
		}
	}
}

// TestTernaryQuantRow checks the SIMD quantizer against the Go one (every
// path's quantRow against the scalar loop of forwardInt, permuted).
func TestTernaryQuantRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	goSet := &ternaryKernelSet{name: "go-quant"}
	for _, k := range append(slices.Clone(ternarySets), goSet) {
		for _, in := range []int{1, 15, 16, 100, 128, 129, 256, 300, 1024} {
			rb := (in + 3) / 4
			full := rb / 32
			xw := 128 * ((rb + 31) / 32)
			for _, bits := range []int{8, 4, 2} {
				x := randVec(rng, in, 3)
				dst := make([]int8, xw)
				for i := range dst {
					dst[i] = 99 // must be overwritten or cleared
				}
				s, corr := k.quantRow(dst, x, full, bits)
				ws := absmaxScale(x, bits)
				if s != ws {
					t.Fatalf("%s in %d A%d: scale %g, want %g", k.name, in, bits, s, ws)
				}
				lo, hi := -float32(int(1)<<(bits-1)), float32(int(1)<<(bits-1)-1)
				var wc int32
				for i := range xw {
					var want int8
					c, rem := i/128, i%128
					if src := 128*c + 4*(rem%32) + rem/32; src < in {
						want = int8(min(max(roundEven(x[src]*ws), lo), hi))
						if src < 128*full {
							wc += int32(want)
						}
					}
					if dst[i] != want {
						t.Fatalf("%s in %d A%d: byte %d = %d, want %d", k.name, in, bits, i, dst[i], want)
					}
				}
				if corr != wc {
					t.Fatalf("%s in %d A%d: sum %d, want %d", k.name, in, bits, corr, wc)
				}
			}
		}
	}
}

// TestPackedPathsSameLogits decodes with every packed path: the logits of
// a prefill and of single-token steps must be identical, at one and two
// threads, A8 and A4.
func TestPackedPathsSameLogits(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	cfg.NEmbd, cfg.HeadDim, cfg.MLPHidden = 160, 40, 260 // a whole chunk and a partial one
	m := trainedish(t, cfg, 11)
	ids := randIDs(rand.New(rand.NewPCG(12, 12)), cfg.BlockSize, cfg.VocabSize)
	for _, bits := range []int{8, 4} {
		m.SetActBits(bits)
		var ref []float32
		for _, threads := range []int{1, 2} {
			forEachTernaryPath(t, func(t *testing.T) {
				inf := m.Inference(true)
				inf.SetThreads(threads)
				s := inf.NewSession(cfg.BlockSize)
				var got []float32
				half := cfg.BlockSize / 2
				l, err := s.Forward(ids[:half])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, l...)
				for _, id := range ids[half:] {
					l, err := s.Forward([]int32{id})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, l...)
				}
				if ref == nil {
					ref = got
				} else if !slices.Equal(got, ref) {
					t.Errorf("A%d threads %d: logits differ by %g", bits, threads, maxAbsDiff(got, ref))
				}
			})
		}
	}
}

func ExamplePackedPath() {
	fmt.Println(PackedPath() != "")
	// Output: true
}
