package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor calls fn(lo, hi) for consecutive chunks [lo, hi) covering
// [0, n), each chunk at most grain long. The chunk boundaries depend only on
// n and grain, never on GOMAXPROCS: a kernel that writes only the outputs of
// its own chunk therefore gives bit-identical results at any thread count.
// Chunks are handed to at most GOMAXPROCS goroutines from a shared counter.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	parallelForN(0, n, grain, fn)
}

// parallelForN is parallelFor on at most threads goroutines (0 or less means
// GOMAXPROCS; more than GOMAXPROCS is capped to it). The chunks, and so the
// results, are the same for every threads: it only bounds how many run at
// once, which lets a step keep to the CPU slots it holds without changing
// the process-wide GOMAXPROCS that concurrent steps share.
func parallelForN(threads, n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers := runtime.GOMAXPROCS(0)
	if threads > 0 {
		workers = min(workers, threads)
	}
	workers = min(workers, chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1)) - 1
				if c >= chunks {
					return
				}
				lo := c * grain
				fn(lo, min(lo+grain, n))
			}
		}()
	}
	wg.Wait()
}

// grainFor returns a chunk length for n items of cost work each, so a chunk
// carries roughly 32k multiply-adds: big enough to amortise a goroutine hand-off,
// small enough to balance two to four cores. It depends only on its
// arguments, keeping parallelFor's chunking independent of the machine.
func grainFor(n, work int) int {
	const target = 1 << 15
	g := target / max(work, 1)
	return max(1, min(g, n))
}
