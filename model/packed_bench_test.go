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
