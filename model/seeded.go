package model

import "math/rand/v2"

// Seeded generation of large weights (the 7B dry run). Each row of a tensor
// has its own PCG stream, derived from the tensor's seed and the row index,
// so rows can be drawn in parallel and the tensor does not depend on the
// thread count; nothing is ever materialized as a dense fp32 matrix.

// DeriveSeed returns a seed for a part of something seeded with seed, e.g.
// DeriveSeed(seed, layer, site) for one projection: a splitmix64 chain, so
// nearby paths give unrelated seeds.
func DeriveSeed(seed uint64, path ...uint64) uint64 {
	s := splitmix64(seed)
	for _, p := range path {
		s = splitmix64(s ^ splitmix64(p+0x9e3779b97f4a7c15))
	}
	return s
}

// splitmix64 is the finalizer of Steele et al.'s SplitMix64 generator.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// rowPCG returns the generator of row of the tensor seeded with seed (a
// value, so that a million rows do not make a million allocations).
func rowPCG(seed uint64, row int) rand.PCG {
	var p rand.PCG
	p.Seed(seed, splitmix64(uint64(row)))
	return p
}

// ternaryBytes81 lists the 81 packed bytes whose four codes are all valid
// (0, +1 or -1; code 3 is unused): entry i holds the base-3 digits of i, digit
// d standing for the weight d-1.
var ternaryBytes81 = func() (t [81]byte) {
	code := [3]byte{codeMinus, codeZero, codePlus}
	for i := range 81 {
		v := i
		for k := range 4 {
			t[i] |= code[v%3] << (2 * k)
			v /= 3
		}
	}
	return t
}()

// SeededTernaryProj returns a packed projection whose weights Q_oi are
// drawn uniformly from {-1, 0, +1}, four at a time straight into the packed
// bytes (a byte is one of the 81 valid ones, drawn by rejection from 8 random
// bits: the 243 values below 3*81 are kept, the rest redrawn), row o from its
// own stream of seed, with every scale set to scale. It allocates only the
// codes and the scales; rows are filled on at most threads goroutines (0:
// GOMAXPROCS) with the same result for any thread count.
func SeededTernaryProj(in, out int, intActs bool, scale float32, seed uint64, threads int) *TernaryProj {
	p := NewTernaryProj(in, out, intActs)
	rb := p.RowBytes()
	// The last byte of a row keeps only the codes of real inputs.
	lastMask := byte(0xff)
	if r := in % 4; r != 0 {
		lastMask = byte(1)<<(2*r) - 1
	}
	parallelForN(threads, out, 64, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			src := rowPCG(seed, o)
			row := p.Packed[o*rb : (o+1)*rb]
			var bits uint64
			left := 0
			for j := range row {
				for {
					if left == 0 {
						bits, left = src.Uint64(), 8
					}
					c := byte(bits)
					bits >>= 8
					left--
					if c < 243 {
						row[j] = ternaryBytes81[c%81]
						break
					}
				}
			}
			row[rb-1] &= lastMask
		}
	})
	fill(p.Scales, scale)
	return p
}
