package traces

import "math/bits"

// Seeds are derived with SplitMix64 written out here rather than taken from
// math/rand: the prompt order and the sampling seeds are part of the traces'
// bytes, so the generator must never change under us with a Go release.

// Domain tags keep the seed streams of different uses independent, so the
// prompt order and the per-prompt sampling seeds never share values.
const (
	tagOrder  = 0x6f72646572000001 // "order"
	tagSample = 0x73616d706c650002 // "sample"
)

// mix64 is SplitMix64's output function applied to x + the golden gamma.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// splitMix is a SplitMix64 stream.
type splitMix struct{ state uint64 }

func (s *splitMix) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below returns a uniform integer in [0, n) by Lemire's multiply-and-reject
// method, so that no index is favoured however large n is.
func (s *splitMix) below(n uint64) uint64 {
	hi, lo := bits.Mul64(s.next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(s.next(), n)
		}
	}
	return hi
}

// PromptOrder returns the first take indices of a seeded shuffle of [0, n):
// the order in which prompts of a split are sampled. The shuffle is a
// forward Fisher-Yates, so its first k entries depend only on (seed, n, k):
// raising num_prompts keeps every prompt already chosen in its place.
func PromptOrder(seed int64, n, take int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	take = min(take, n)
	rng := splitMix{state: mix64(uint64(seed) ^ tagOrder)}
	for i := 0; i < take && i < n-1; i++ {
		j := i + int(rng.below(uint64(n-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:take]
}

// PromptSeed is the sampling seed of the prompt at position pos of the
// seeded order. It depends only on (seed, pos), so a prompt's trace is the
// same whatever the concurrency, the chunking or a resume in between.
func PromptSeed(seed int64, pos int) uint64 {
	return mix64(mix64(uint64(seed)^tagSample) + uint64(pos))
}
