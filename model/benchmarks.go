package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmark bodies. They live outside the _test files so that both
// `go test -bench` (bench_test.go) and the one-table report of `make bench`
// (internal/benchtable, through testing.Benchmark) run the same code.
// Nothing in the package calls them.

// MatmulShape is one product of the matmul benchmarks: c (M,N) = op(a) (M,K)
// times b (K,N), with a stored transposed when TransA (the weight-gradient
// form) and added to c when Acc (the input-gradient form).
type MatmulShape struct {
	Name    string
	M, N, K int
	TransA  bool
	Acc     bool
}

// Flops is the number of floating-point operations of one product (a
// multiply and an add per term).
func (s MatmulShape) Flops() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// MatmulShapes are the products of the small student's training step at
// batch 8 x 256 (2048 rows): the forward products of the q/k/v/o, gate/up,
// down and head projections, the input-gradient product (a b, accumulating)
// and the weight-gradient product (a^T b form) of gate/up; a decode step;
// and square products of n = 256, 512 and 1024.
func MatmulShapes() []MatmulShape {
	const N = 2048
	return []MatmulShape{
		{"qkvo_fwd_2048x128x128", N, 128, 128, false, false},
		{"gateup_fwd_2048x512x128", N, 512, 128, false, false},
		{"down_fwd_2048x128x512", N, 128, 512, false, false},
		{"head_fwd_2048x512x128", N, 512, 128, false, false},
		{"gateup_dX_2048x128x512", N, 128, 512, false, true},
		{"gateup_dW_512x128x2048", 512, 128, N, true, false},
		{"decode_gateup_1x512x128", 1, 512, 128, false, false},
		{"square_256", 256, 256, 256, false, false},
		{"square_512", 512, 512, 512, false, false},
		{"square_1024", 1024, 1024, 1024, false, false},
	}
}

// MatmulPaths lists the matmul paths this CPU runs, fastest first ("go",
// gonum's, is always last); MatmulPath names the one in use (the fastest,
// or the one BITFLOW_GEMM names).
func MatmulPaths() []string { return gemmPaths() }

// BenchMatmul measures the GFLOPS of matmul on the named path ("" for the
// path in use) at shape s. It switches the package's path for its duration,
// so it must not run beside anything else that multiplies matrices.
func BenchMatmul(b *testing.B, path string, s MatmulShape) {
	if path != "" {
		saved := gemmImpl
		defer func() { gemmImpl = saved }()
		if err := setGemmPath(path); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(4, 4))
	a := benchVec(rng, s.M*s.K)
	w := benchVec(rng, s.K*s.N)
	c := make([]float32, s.M*s.N)
	lda := s.K
	if s.TransA {
		lda = s.M
	}
	matmul(c, s.N, a, lda, s.TransA, w, s.N, s.M, s.N, s.K, s.Acc) // warm the pools
	b.ResetTimer()
	for range b.N {
		matmul(c, s.N, a, lda, s.TransA, w, s.N, s.M, s.N, s.K, s.Acc)
	}
	b.ReportMetric(s.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// BenchTrainStep measures training throughput (tokens/s) of a model of
// config cfg on random batches of batchSize x cfg.BlockSize tokens with the
// default training config (CE loss, AdamW, gradient clipping). One step
// runs before the timer starts, so the allocations it reports (b.ReportAllocs)
// are those of a step after warm-up.
func BenchTrainStep(b *testing.B, cfg Config, batchSize int) {
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.MaxIters = 1 << 30
	tr, err := NewTrainer(m, tc, 1)
	if err != nil {
		b.Fatal(err)
	}
	B, T := batchSize, cfg.BlockSize
	rng := rand.New(rand.NewPCG(2, 2))
	batch := &Batch{B: B, T: T, Inputs: benchIDs(rng, B*T, cfg.VocabSize), Targets: benchIDs(rng, B*T, cfg.VocabSize)}
	if _, err := tr.TrainStep(batch); err != nil { // allocate activations outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := tr.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// DecodePrompt is the prompt length of BenchDecode.
const DecodePrompt = 16

// BenchDecode measures KV-cache decoding of m (tokens/s over steps tokens,
// one per Forward, after a DecodePrompt-token prefill that is timed too) on
// the fake-quant (packed false) or the packed ternary path. DecodePrompt +
// steps must not exceed the model's block size.
func BenchDecode(b *testing.B, m *Model, packed bool, steps int) {
	cfg := m.Config()
	if DecodePrompt+steps > cfg.BlockSize {
		b.Fatal(fmt.Sprintf("model: decode benchmark of %d+%d tokens exceeds block size %d", DecodePrompt, steps, cfg.BlockSize))
	}
	inf := m.Inference(packed)
	s := inf.NewSession(cfg.BlockSize)
	prompt := benchIDs(rand.New(rand.NewPCG(3, 3)), DecodePrompt, cfg.VocabSize)
	V := cfg.VocabSize
	b.ResetTimer()
	for range b.N {
		s.Reset()
		logits, err := s.Forward(prompt)
		if err != nil {
			b.Fatal(err)
		}
		next := int32(argmax(logits[(DecodePrompt-1)*V:]))
		for range steps {
			logits, err = s.Forward([]int32{next})
			if err != nil {
				b.Fatal(err)
			}
			next = int32(argmax(logits))
		}
	}
	b.ReportMetric(float64(steps*b.N)/b.Elapsed().Seconds(), "tokens/s")
	b.ReportMetric(float64(inf.Bytes()), "weight-bytes")
}

func benchIDs(rng *rand.Rand, n, V int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(V))
	}
	return ids
}

func benchVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
