package model

import (
	"fmt"
	"testing"
)

// The benchmark bodies are in benchmarks.go, shared with the one-table
// report of `make bench` (internal/benchtable).

// benchConfig is the small student of the benchmarks: n_layer 4, n_head 4,
// n_embd 128, block 256, vocab 512, bitlinear with absmax activations.
func benchConfig() Config { return DefaultConfig() }

// BenchmarkTrainStep measures training throughput (tokens/s) of the small
// student at batch 8 x 256 with the CE loss, and its allocations per step
// after warm-up.
func BenchmarkTrainStep(b *testing.B) {
	for _, variant := range []string{VariantBitLinear, VariantLinear} {
		b.Run(variant, func(b *testing.B) {
			cfg := benchConfig()
			cfg.LinearVariantAttn, cfg.LinearVariantMLP = variant, variant
			BenchTrainStep(b, cfg, 8)
		})
	}
}

// BenchmarkDecode measures KV-cache decoding (tokens/s, one token per step
// after a 16-token prefill, 128 steps per op) on the fake-quant and the
// packed ternary path.
func BenchmarkDecode(b *testing.B) {
	m, err := New(benchConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, packed := range []bool{false, true} {
		name := "fakequant"
		if packed {
			name = "packed"
		}
		b.Run(name, func(b *testing.B) { BenchDecode(b, m, packed, 128) })
	}
}

// BenchmarkMatmul measures the seam's GFLOPS on every path this CPU runs
// (avx512, avx2, go: BenchmarkMatmul/<path>/<shape>) at MatmulShapes: the
// small student's training products (forward, input gradient, weight
// gradient), a decode step and square products of n = 256, 512 and 1024.
func BenchmarkMatmul(b *testing.B) {
	for _, path := range MatmulPaths() {
		b.Run(path, func(b *testing.B) {
			for _, s := range MatmulShapes() {
				b.Run(s.Name, func(b *testing.B) { BenchMatmul(b, path, s) })
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
