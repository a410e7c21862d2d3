package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyConfig is a small model for gradient checks: every dimension distinct,
// so a transposed index shows up as a wrong value, not a lucky one.
func tinyConfig(variant string) Config {
	c := DefaultConfig()
	c.NLayer, c.NHead, c.NEmbd, c.HeadDim, c.MLPHidden, c.BlockSize, c.VocabSize = 2, 2, 12, 4, 20, 16, 23
	c.LinearVariantAttn, c.LinearVariantMLP = variant, variant
	return c
}

func randIDs(rng *rand.Rand, n, V int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(V))
	}
	return ids
}

func randVec(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	return x
}

// fdCheck compares the analytic gradient grad of f with central differences
// (f(x+h) - f(x-h)) / 2h at the indices idx of x, perturbing x in place. f
// must recompute from x and accumulate in float64. It fails if the
// relative error ||g - fd|| / ||fd|| over idx exceeds tol, or if any single
// entry differs by more than tol relative to the largest entry.
func fdCheck(t *testing.T, name string, x, grad []float32, f func() float64, idx []int, h, tol float64) {
	t.Helper()
	var num, den, big float64
	fds := make([]float64, len(idx))
	for k, i := range idx {
		orig := x[i]
		x[i] = orig + float32(h)
		hp := float64(x[i]) - float64(orig)
		fp := f()
		x[i] = orig - float32(h)
		hm := float64(orig) - float64(x[i])
		fm := f()
		x[i] = orig
		fds[k] = (fp - fm) / (hp + hm)
		big = math.Max(big, math.Abs(fds[k]))
	}
	for k, i := range idx {
		d := float64(grad[i]) - fds[k]
		num += d * d
		den += fds[k] * fds[k]
		if math.Abs(d) > tol*big+1e-6 {
			t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i, grad[i], fds[k])
		}
	}
	if den == 0 {
		if num > 1e-12 {
			t.Errorf("%s: numeric gradient zero, analytic norm %.3g", name, math.Sqrt(num))
		}
		return
	}
	if r := math.Sqrt(num / den); r > tol {
		t.Errorf("%s: relative error %.3g > %.3g", name, r, tol)
	}
}

// sampleIdx returns up to k distinct indices of [0,n), always including 0
// and n-1.
func sampleIdx(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	perm := rng.Perm(n)[:k]
	perm[0], perm[1] = 0, n-1
	return perm
}

// dot64 returns sum x_i r_i in float64.
func dot64(x, r []float32) float64 {
	var s float64
	for i := range x {
		s += float64(x[i]) * float64(r[i])
	}
	return s
}
