package model

import (
	"slices"
	"testing"
)

// TestSeededTernaryProj checks the generated codes: only valid codes, zero
// past the last input, uniform over {-1, 0, +1}, and the same whatever the
// thread count.
func TestSeededTernaryProj(t *testing.T) {
	const in, out = 1003, 700 // a partial last byte
	p := SeededTernaryProj(in, out, true, 0.25, 42, 1)
	for _, threads := range []int{2, 5} {
		if q := SeededTernaryProj(in, out, true, 0.25, 42, threads); !slices.Equal(p.Packed, q.Packed) {
			t.Errorf("codes differ at %d threads", threads)
		}
	}
	if slices.Equal(p.Packed, SeededTernaryProj(in, out, true, 0.25, 43, 1).Packed) {
		t.Error("different seeds give the same codes")
	}
	counts := map[int]int{}
	rb := p.RowBytes()
	for o := range out {
		for j, b := range p.Packed[o*rb : (o+1)*rb] {
			for k := range 4 {
				c := b >> (2 * k) & 3
				if c == 3 {
					t.Fatalf("row %d byte %d holds the unused code 3", o, j)
				}
				if 4*j+k >= in && c != codeZero {
					t.Fatalf("row %d: padding input %d has code %d", o, 4*j+k, c)
				}
			}
		}
		for i := range in {
			counts[p.Get(o, i)]++
		}
	}
	for q := -1; q <= 1; q++ {
		if f := float64(counts[q]) / (in * out); f < 0.33 || f > 0.337 {
			t.Errorf("weight %d has frequency %.4f, want 1/3", q, f)
		}
	}
	for _, s := range p.Scales {
		if s != 0.25 {
			t.Fatalf("scale %g", s)
		}
	}
}

func TestDeriveSeed(t *testing.T) {
	seen := map[uint64]bool{}
	for a := range uint64(20) {
		for b := range uint64(20) {
			s := DeriveSeed(7, a, b)
			if seen[s] {
				t.Fatalf("DeriveSeed(7, %d, %d) repeats", a, b)
			}
			seen[s] = true
		}
	}
	if DeriveSeed(1, 2) == DeriveSeed(2, 1) || DeriveSeed(1) == DeriveSeed(1, 0) {
		t.Error("seed paths collide")
	}
}
