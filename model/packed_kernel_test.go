package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// refTernaryInt computes the integer path of TernaryProj directly:
// out = float32(sum_i Q_oi xq_ri) / s_r * scale_o, the same expression as
// the kernels, so results must match bit for bit.
func refTernaryInt(p *TernaryProj, x []float32, n, bits int) []float32 {
	out := make([]float32, n*p.Out)
	lo, hi := -float32(int(1)<<(bits-1)), float32(int(1)<<(bits-1)-1)
	for r := range n {
		row := x[r*p.In : (r+1)*p.In]
		s := absmaxScale(row, bits)
		for o := range p.Out {
			var acc int32
			for i, v := range row {
				acc += int32(p.Get(o, i)) * int32(min(max(roundEven(v*s), lo), hi))
			}
			out[r*p.Out+o] = float32(acc) / s * p.Scales[o]
		}
	}
	return out
}

// TestTernaryKernelsExact runs the decode (n < 4) and prefill (quads of
// tokens, 16-bit lanes) kernels over shapes with partial bytes, partial
// 8-byte blocks and partial quads, against the direct integer sum, at
// several thread counts.
func TestTernaryKernelsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, dims := range [][2]int{{37, 29}, {64, 8}, {260, 70}, {517, 300}, {1000, 64}} {
		p := SeededTernaryProj(dims[0], dims[1], true, 1, uint64(dims[0]), 0)
		for o := range p.Scales {
			p.Scales[o] = float32(rng.Float64() + 0.5)
		}
		for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17, 33} {
			checkTernaryAgainstDirectSum(t, p, randVec(rng, n*dims[0], 2), n)
		}
	}
}

// TestTernaryLanesAtBounds drives the group sums to their extremes (all
// activations at +-127; rows of all +1, all -1, groups alternating +1 and -1,
// weights alternating) over a long row, so the 16-bit lanes reach their
// largest biased values between flushes.
func TestTernaryLanesAtBounds(t *testing.T) {
	const in, out, n = 4100, 4, 8
	p := NewTernaryProj(in, out, true)
	for i := range in {
		p.Set(0, i, 1)
		p.Set(1, i, -1)
		p.Set(2, i, 1-2*(i/4%2))
		p.Set(3, i, 1-2*(i%2))
	}
	x := make([]float32, n*in)
	for r := range n {
		for i := range in {
			x[r*in+i] = float32(1 - 2*(r%2)) // all +1 or all -1
		}
	}
	got := make([]float32, n*out)
	p.Forward(got, x, n, 8)
	if want := refTernaryInt(p, x, n, 8); !slices.Equal(got, want) {
		t.Fatalf("at the lane bounds: got %v, want %v", got[:out], want[:out])
	}
	if math.Abs(float64(got[0])-in) > 1e-3*in || math.Abs(float64(got[1])+in) > 1e-3*in {
		t.Errorf("all +-1 weights and activations: out %g, %g, want +-%d", got[0], got[1], in)
	}
}

// TestPackedInferenceThreads checks that the packed projections and the
// attention give the same logits at any GOMAXPROCS and Threads bound.
func TestPackedInferenceThreads(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	cfg.NEmbd, cfg.HeadDim, cfg.MLPHidden = 44, 11, 100
	cfg.RoPE = false // odd head_dim
	m := trainedish(t, cfg, 31)
	ids := randIDs(rand.New(rand.NewPCG(32, 32)), cfg.BlockSize, cfg.VocabSize)
	var ref []float32
	for _, threads := range []int{0, 1, 2, 7} {
		for _, procs := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("threads%d/procs%d", threads, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				inf := m.Inference(true)
				inf.SetThreads(threads)
				got, err := inf.NewSession(cfg.BlockSize).Forward(ids)
				if err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = append([]float32(nil), got...)
				} else if !slices.Equal(got, ref) {
					t.Errorf("logits differ by %g", maxAbsDiff(got, ref))
				}
			})
		}
	}
}

// checkTernaryAgainstDirectSum runs p on x (n tokens) at A8, A4 and A2 and
// on 1 and 3 threads, and fails unless every output has the bits of the
// direct integer sum.
func checkTernaryAgainstDirectSum(t *testing.T, p *TernaryProj, x []float32, n int) {
	t.Helper()
	for _, bits := range []int{8, 4, 2} {
		want := refTernaryInt(p, x, n, bits)
		for _, threads := range []int{1, 3} {
			p.Threads = threads
			got := make([]float32, n*p.Out)
			p.Forward(got, x, n, bits)
			if !slices.Equal(got, want) {
				t.Fatalf("%dx%d n=%d A%d threads %d: differs from the direct sum by %g",
					p.In, p.Out, n, bits, threads, maxAbsDiff(got, want))
			}
		}
	}
}
