package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchConfig is the small student of the benchmarks: n_layer 4, n_head 4,
// n_embd 128, block 256, vocab 512, bitlinear with absmax activations.
func benchConfig() Config { return DefaultConfig() }

// BenchmarkTrainStep measures training throughput (tokens/s) of the small
// student at batch 8 x 256 with the CE loss.
func BenchmarkTrainStep(b *testing.B) {
	for _, variant := range []string{VariantBitLinear, VariantLinear} {
		b.Run(variant, func(b *testing.B) {
			cfg := benchConfig()
			cfg.LinearVariantAttn, cfg.LinearVariantMLP = variant, variant
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
			const B, T = 8, 256
			rng := rand.New(rand.NewPCG(2, 2))
			batch := &Batch{B: B, T: T, Inputs: randIDs(rng, B*T, cfg.VocabSize), Targets: randIDs(rng, B*T, cfg.VocabSize)}
			if _, err := tr.TrainStep(batch); err != nil { // allocate activations outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := tr.TrainStep(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkDecode measures KV-cache decoding (tokens/s, one token per step
// after a 16-token prefill, 128 steps per op) on the fake-quant and the
// packed ternary path.
func BenchmarkDecode(b *testing.B) {
	cfg := benchConfig()
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, packed := range []bool{false, true} {
		name := "fakequant"
		if packed {
			name = "packed"
		}
		b.Run(name, func(b *testing.B) {
			inf := m.Inference(packed)
			s := inf.NewSession(cfg.BlockSize)
			prompt := randIDs(rand.New(rand.NewPCG(3, 3)), 16, cfg.VocabSize)
			const steps = 128
			b.ResetTimer()
			for range b.N {
				s.Reset()
				logits, err := s.Forward(prompt)
				if err != nil {
					b.Fatal(err)
				}
				next := int32(argmax(logits[15*cfg.VocabSize:]))
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
		})
	}
}

// BenchmarkMatmul measures the seam's GFLOPS on every path this CPU runs
// (avx512, avx2, go: BenchmarkMatmul/<path>/<shape>) at the small student's
// training shapes (batch 8 x 256 = 2048 rows): the forward products of the
// q/k/v/o, gate/up, down and head projections, the input-gradient product
// (a b, accumulating) and the weight-gradient product (a^T b form); a
// decode step; and square products of n = 256, 512 and 1024.
func BenchmarkMatmul(b *testing.B) {
	const N = 2048
	shapes := []struct {
		name    string
		m, n, k int
		transA  bool
		acc     bool
	}{
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
	saved := gemmImpl
	defer func() { gemmImpl = saved }()
	for _, path := range gemmPaths() {
		b.Run(path, func(b *testing.B) {
			if err := setGemmPath(path); err != nil {
				b.Fatal(err)
			}
			for _, s := range shapes {
				b.Run(s.name, func(b *testing.B) {
					rng := rand.New(rand.NewPCG(4, 4))
					a := randVec(rng, s.m*s.k, 1)
					w := randVec(rng, s.k*s.n, 1)
					c := make([]float32, s.m*s.n)
					lda := s.k
					if s.transA {
						lda = s.m
					}
					matmul(c, s.n, a, lda, s.transA, w, s.n, s.m, s.n, s.k, s.acc) // warm the pools
					b.ResetTimer()
					for range b.N {
						matmul(c, s.n, a, lda, s.transA, w, s.n, s.m, s.n, s.k, s.acc)
					}
					flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOPS")
				})
			}
		})
	}
}

// ExampleModel_Inference prints the small student's dense fp32 bytes and
// its packed bytes (2-bit projections, fp32 scales, embedding, head, norms).
func ExampleModel_Inference() {
	m, _ := New(benchConfig(), 1)
	fmt.Println(m.DenseBytes(), m.Inference(true).Bytes())
	// Output: 4749824 817664
}
