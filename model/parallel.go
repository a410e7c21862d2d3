package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ranger is a kernel whose work over [0, n) can be split into chunks: run
// performs the chunk [lo, hi) and writes only that chunk's outputs.
type ranger interface{ run(lo, hi int) }

// rangeFunc adapts a function to ranger.
type rangeFunc func(lo, hi int)

func (f rangeFunc) run(lo, hi int) { f(lo, hi) }

// parallelFor calls fn(lo, hi) for consecutive chunks [lo, hi) covering
// [0, n), each chunk at most grain long. The chunk boundaries depend only on
// n and grain, never on GOMAXPROCS: a kernel that writes only the outputs of
// its own chunk therefore gives bit-identical results at any thread count.
// The calling goroutine runs chunks itself, joined by up to GOMAXPROCS-1
// helper goroutines that are idle at that moment (see parallelRun).
func parallelFor(n, grain int, fn func(lo, hi int)) {
	parallelRun(0, n, grain, rangeFunc(fn))
}

// parallelForN is parallelFor on at most threads goroutines (0 or less means
// GOMAXPROCS; more than GOMAXPROCS is capped to it). The chunks, and so the
// results, are the same for every threads: it only bounds how many run at
// once, which lets a step keep to the CPU slots it holds without changing
// the process-wide GOMAXPROCS that concurrent steps share.
func parallelForN(threads, n, grain int, fn func(lo, hi int)) {
	parallelRun(threads, n, grain, rangeFunc(fn))
}

// parallelRun runs k over the chunks of parallelForN(threads, n, grain).
// It allocates nothing: the job comes from a pool and is handed to helper
// goroutines that live for the process. A closure passed as a ranger is
// heap-allocated by its caller, so the training step's kernels pass
// pointers to pooled argument structs instead (runPooled).
//
// As matmul's helpers, a job is offered only to helpers idle at that moment
// and a helper joins it only while chunks are left: the caller never waits
// for a helper to wake up, only for those running its chunks to finish.
func parallelRun(threads, n, grain int, k ranger) {
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
			k.run(lo, min(lo+grain, n))
		}
		return
	}
	j := forJobs.get()
	j.k, j.n, j.grain, j.chunks = k, n, grain, chunks
	j.next.Store(0)
	j.offer(workers - 1)
	j.work()
	j.retract()
	j.k = nil // drop the reference to the kernel's operands
	forJobs.put(j)
}

// forJob is one parallelRun call shared by the goroutines that run its
// chunks.
type forJob struct {
	k                ranger
	n, grain, chunks int
	next             atomic.Int64 // next chunk to run
	mu               sync.Mutex
	slots            int          // helpers that may still join
	active           atomic.Int32 // helpers that joined and have not left
}

var forJobs freeList[forJob]

// forHelpers are the goroutines, started on first need and kept, that help
// run parallelRun's chunks.
var forHelpers struct {
	mu      sync.Mutex
	started int
	ch      chan *forJob
}

// work runs chunks until none is left.
func (j *forJob) work() {
	chunks := int64(j.chunks)
	for {
		c := j.next.Add(1) - 1
		if c >= chunks {
			return
		}
		lo := int(c) * j.grain
		j.k.run(lo, min(lo+j.grain, j.n))
	}
}

// offer hands the job to up to want idle helpers.
func (j *forJob) offer(want int) {
	j.mu.Lock()
	j.slots = want
	j.mu.Unlock()
	h := &forHelpers
	h.mu.Lock()
	if h.ch == nil {
		h.ch = make(chan *forJob)
	}
	for ; h.started < want; h.started++ {
		go forHelper(h.ch)
	}
	h.mu.Unlock()
	for range want {
		select {
		case h.ch <- j:
		default:
			return
		}
	}
}

// join takes one of the job's helper slots, if any is left.
func (j *forJob) join() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.slots == 0 {
		return false
	}
	j.slots--
	j.active.Add(1)
	return true
}

// leave ends a helper's part in the job.
func (j *forJob) leave() { j.active.Add(-1) }

// retractSpins is how many times retract polls the helpers before it
// starts yielding its thread between polls: some tens of microseconds,
// about as long as a helper's last chunk of an elementwise kernel takes.
const retractSpins = 1 << 14

// retract closes the job to helpers and waits for those that joined. The
// caller has run out of chunks, so they are finishing their last ones. It
// polls without the scheduler first: yielding on every poll (Gosched, which
// also wakes idle threads to look for work) cost ~10% of a training step's
// CPU, and blocking on a channel makes the runtime allocate wait records
// now and then.
func (j *forJob) retract() {
	j.mu.Lock()
	j.slots = 0
	j.mu.Unlock()
	for i := 0; j.active.Load() != 0; i++ {
		if i >= retractSpins {
			runtime.Gosched()
		}
	}
}

// forHelper runs the jobs it is handed. A job may have been finished and
// its struct reused by another call by the time the helper wakes; join
// then fails (or succeeds for that call, which is as good).
func forHelper(ch chan *forJob) {
	for j := range ch {
		if j.join() {
			j.work()
			j.leave()
		}
	}
}

// runPooled runs the kernel args (a struct whose pointer type P implements
// ranger) over the chunks of parallelFor(n, grain), without allocating: the
// struct it runs from is a copy of args taken from pool (one pool per
// kernel type), cleared and returned after the call.
func runPooled[T any, P interface {
	*T
	ranger
}](pool *freeList[T], n, grain int, args T) {
	p := pool.get()
	*p = args
	parallelRun(0, n, grain, P(p))
	var zero T
	*p = zero
	pool.put(p)
}

// freeList is a pool of *T that, unlike sync.Pool, the garbage collector
// does not empty: once it holds as many as are ever in use at once, get
// and put allocate nothing, so a training step allocates nothing even
// across collections.
type freeList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// get returns a free *T, or a new zero one.
func (f *freeList[T]) get() *T {
	f.mu.Lock()
	if n := len(f.free); n > 0 {
		p := f.free[n-1]
		f.free = f.free[:n-1]
		f.mu.Unlock()
		return p
	}
	f.mu.Unlock()
	return new(T)
}

// put returns p to the list.
func (f *freeList[T]) put(p *T) {
	f.mu.Lock()
	f.free = append(f.free, p)
	f.mu.Unlock()
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

// parallelTranspose is transpose split over the rows of dst (the columns
// of src).
func parallelTranspose(dst []float32, ldd int, src []float32, lds int, rows, cols int) {
	runPooled(&transposePool, cols, 32, transposeKernel{dst: dst, src: src, ldd: ldd, lds: lds, rows: rows})
}

type transposeKernel struct {
	dst, src       []float32
	ldd, lds, rows int
}

var transposePool freeList[transposeKernel]

// run writes the rows [lo,hi) of dst, reading src a row at a time.
func (k *transposeKernel) run(lo, hi int) {
	for i := range k.rows {
		row := k.src[i*k.lds+lo : i*k.lds+hi]
		for j, v := range row {
			k.dst[(lo+j)*k.ldd+i] = v
		}
	}
}
