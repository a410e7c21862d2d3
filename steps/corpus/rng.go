package corpus

// rng is SplitMix64, written out here rather than taken from math/rand so
// that the corpus a seed gives can never change with the Go release (its
// outputs are the step's results).
type rng struct{ s uint64 }

// newRNG returns the generator of one stream of a seed; streams keep the
// record generator and the split shuffle independent of each other.
func newRNG(seed int64, stream uint64) *rng {
	return &rng{s: uint64(seed) ^ stream*0xD1B54A32D192ED03}
}

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// intn returns a uniform integer in [0, n), n > 0 (rejection sampling, so
// without modulo bias).
func (r *rng) intn(n int) int {
	bound := uint64(n)
	threshold := -bound % bound
	for {
		if x := r.next(); x >= threshold {
			return int(x % bound)
		}
	}
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// pick returns a uniform element of xs.
func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// shuffle permutes n elements uniformly (Fisher-Yates).
func (r *rng) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}
