package model

import (
	"math/rand/v2"
	"testing"
)

// Benchmark bodies of the packed ternary path, outside the _test files (as
// benchmarks.go) so that a report tool can run them through
// testing.Benchmark. Nothing in the package calls them.

// PackedPaths lists the packed ternary paths this CPU runs, fastest first
// ("go", the pure-Go kernels, is always last); PackedPath names the one in
// use (the fastest, or the one BITFLOW_PACKED names).
func PackedPaths() []string { return ternaryPaths() }

// withPackedPath runs f with the packed path switched to path ("" keeps the
// one in use). It must not run beside anything else that uses packed
// projections.
func withPackedPath(b *testing.B, path string, f func()) {
	if path != "" {
		saved := ternaryImpl
		defer func() { ternaryImpl = saved }()
		if err := setTernaryPath(path); err != nil {
			b.Fatal(err)
		}
	}
	f()
}

// BenchTernary measures one packed ternary projection in x out (random
// codes, integer activations at A8) over n tokens on the named path:
// GOPS, one op being one ternary weight applied to one token (a
// multiply-add of the dense equivalent), and tokens/s.
func BenchTernary(b *testing.B, path string, in, out, n int) {
	withPackedPath(b, path, func() {
		rng := rand.New(rand.NewPCG(1, 1))
		p := RandomTernaryProj(in, out, true, 0.01, rng)
		x := benchVec(rng, n*in)
		y := make([]float32, n*out)
		p.Forward(y, x, n, 8) // allocate the scratch outside the timing
		b.ResetTimer()
		for range b.N {
			p.Forward(y, x, n, 8)
		}
		sec := b.Elapsed().Seconds()
		b.ReportMetric(float64(in)*float64(out)*float64(n*b.N)/sec/1e9, "GOPS")
		b.ReportMetric(float64(n*b.N)/sec, "tokens/s")
	})
}

// BenchDecodePacked is BenchDecode of m's packed path on the named packed
// path.
func BenchDecodePacked(b *testing.B, m *Model, path string, steps int) {
	withPackedPath(b, path, func() { BenchDecode(b, m, true, steps) })
}
