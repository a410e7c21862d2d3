package traces

import (
	"slices"
	"testing"
)

func TestSplitMixReference(t *testing.T) {
	// The published SplitMix64 outputs for state 0.
	s := splitMix{}
	for i, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := s.next(); got != want {
			t.Errorf("output %d = %#x, want %#x", i, got, want)
		}
	}
	if mix64(0) != 0xe220a8397b1dcdaf {
		t.Errorf("mix64(0) = %#x", mix64(0))
	}
}

func TestPromptOrder(t *testing.T) {
	full := PromptOrder(7, 50, 50)
	if got := slices.Sorted(slices.Values(full)); !slices.Equal(got, seq(50)) {
		t.Fatalf("not a permutation: %v", full)
	}
	if slices.Equal(full, seq(50)) {
		t.Error("the order is not shuffled")
	}
	// Taking fewer keeps the same prefix: raising num_prompts adds prompts.
	for _, take := range []int{0, 1, 10, 49} {
		if got := PromptOrder(7, 50, take); !slices.Equal(got, full[:take]) {
			t.Errorf("take %d: %v, want %v", take, got, full[:take])
		}
	}
	if got := PromptOrder(7, 5, 10); len(got) != 5 {
		t.Errorf("take beyond n: %v", got)
	}
	if slices.Equal(PromptOrder(8, 50, 50), full) {
		t.Error("seed does not change the order")
	}
	if !slices.Equal(PromptOrder(7, 50, 50), full) {
		t.Error("order is not deterministic")
	}
	if got := PromptOrder(1, 1, 1); !slices.Equal(got, []int{0}) {
		t.Errorf("single prompt: %v", got)
	}
}

func TestPromptSeedsAreDistinct(t *testing.T) {
	seen := map[uint64]bool{}
	for _, seed := range []int64{0, 1, -1} {
		for pos := range 1000 {
			s := PromptSeed(seed, pos)
			if seen[s] {
				t.Fatalf("seed (%d, %d) repeats", seed, pos)
			}
			seen[s] = true
		}
	}
}

func TestBelowIsInRange(t *testing.T) {
	s := splitMix{state: 3}
	counts := make([]int, 3)
	for range 3000 {
		counts[s.below(3)]++
	}
	for i, c := range counts {
		if c < 900 || c > 1100 {
			t.Errorf("value %d drawn %d times of 3000", i, c)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
