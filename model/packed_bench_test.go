package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkTernaryPrefill measures the packed ternary projection at the 7B
// shapes (q/k/v/o 4096x4096, gate/up 4096->11008, down 11008->4096) over a
// prefill of n tokens at A8: tokens/s through one projection and GOPS, where
// one op is one ternary weight applied to one token (a multiply-add of the
// dense equivalent).
func BenchmarkTernaryPrefill(b *testing.B) {
	for _, s := range []struct {
		name    string
		in, out int
	}{
		{"4096x4096", 4096, 4096},
		{"4096x11008", 4096, 11008},
		{"11008x4096", 11008, 4096},
	} {
		for _, n := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/n=%d", s.name, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				p := RandomTernaryProj(s.in, s.out, true, 0.01, rng)
				x := randVec(rng, n*s.in, 1)
				y := make([]float32, n*s.out)
				p.Forward(y, x, n, 8) // allocate scratch outside the timing
				b.ResetTimer()
				for range b.N {
					p.Forward(y, x, n, 8)
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(n*b.N)/sec, "tokens/s")
				b.ReportMetric(float64(s.in)*float64(s.out)*float64(n*b.N)/sec/1e9, "GOPS")
			})
		}
	}
}

// BenchmarkTernaryKernel measures the packed projection on every packed
// path this CPU runs (BenchmarkTernaryKernel/<path>/<in>x<out>/n=<n>): the
// small student's shapes (q/k/v/o 128x128, gate/up 128->512, down 512->128)
// at a decode step and a 16-token prefill, and a 7B q projection
// (4096x4096) at a decode step and 8 tokens. GOPS counts one ternary
// weight applied to one token as one op.
func BenchmarkTernaryKernel(b *testing.B) {
	shapes := []struct{ in, out, n int }{
		{128, 128, 1}, {128, 512, 1}, {512, 128, 1}, {128, 512, 16}, {4096, 4096, 1}, {4096, 4096, 8},
	}
	for _, path := range PackedPaths() {
		for _, s := range shapes {
			b.Run(fmt.Sprintf("%s/%dx%d/n=%d", path, s.in, s.out, s.n), func(b *testing.B) {
				BenchTernary(b, path, s.in, s.out, s.n)
			})
		}
	}
}

// BenchmarkDecodePaths measures KV-cache decoding of the small student
// (as BenchmarkDecode) on the fake-quant path and on every packed path
// this CPU runs (BenchmarkDecodePaths/packed-<path>).
func BenchmarkDecodePaths(b *testing.B) {
	m, err := New(benchConfig(), 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fakequant", func(b *testing.B) { BenchDecode(b, m, false, 128) })
	for _, path := range PackedPaths() {
		b.Run("packed-"+path, func(b *testing.B) { BenchDecodePacked(b, m, path, 128) })
	}
}

// BenchmarkTableHead measures the 7B head (4096 -> 32000) read from its
// fp16 and int8 tables over n tokens: tokens/s and GFLOPS (2 per weight
// and token).
func BenchmarkTableHead(b *testing.B) {
	const V, C = 32000, 4096
	for _, dtype := range []string{"fp16", "int8"} {
		var head Proj = RandomF16Table(V, C, 0.02, 1, 0)
		if dtype == "int8" {
			head = RandomInt8Table(V, C, 0.02, 1, 0)
		}
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/n=%d", dtype, n), func(b *testing.B) {
				x := randVec(rand.New(rand.NewPCG(2, 2)), n*C, 1)
				y := make([]float32, n*V)
				b.ResetTimer()
				for range b.N {
					head.Forward(y, x, n, 8)
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(n*b.N)/sec, "tokens/s")
				b.ReportMetric(2*V*C*float64(n*b.N)/sec/1e9, "GFLOPS")
			})
		}
	}
}
