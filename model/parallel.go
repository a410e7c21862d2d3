package model

import (
	"runtime"
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
	j.open(workers - 1)
	helpers.offer(&j.ticket, workers-1)
	j.work()
	j.gate.retract()
	helpers.withdraw(&j.ticket)
	j.k = nil // drop the reference to the kernel's operands
	forJobs.put(j)
}

// forJob is one parallelRun call shared by the goroutines that run its
// chunks.
type forJob struct {
	k                ranger
	n, grain, chunks int
	next             atomic.Int64 // next chunk to run
	gate             helpGate
	ticket           helpTicket // this job, as handed to helpers
}

var forJobs freeList[forJob]

// open lets up to want helpers join the job.
func (j *forJob) open(want int) {
	if j.ticket.job == nil {
		j.ticket.job = j
	}
	j.gate.open(want)
}

// help runs the job's chunks on a helper, if it may still join.
func (j *forJob) help() {
	if j.gate.join() {
		j.work()
		j.gate.leave()
	}
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

// retractSpins is how many times retract polls the helpers before it
// starts yielding its thread between polls: some tens of microseconds,
// about as long as a helper's last chunk of an elementwise kernel takes.
const retractSpins = 1 << 14

// helpGate admits helpers to a job: open offers slots, join takes one,
// leave gives it up, and retract closes the job and waits for those that
// joined. It is lock-free: a helper that read a job's ticket just before
// the job ended may call join while the job's struct is being reused, and
// a mutex there made the caller block and the runtime allocate a wait
// record now and then.
type helpGate struct {
	slots  atomic.Int32 // helpers that may still join
	active atomic.Int32 // helpers that joined (or are trying to) and have not left
}

// open lets up to want helpers join.
func (g *helpGate) open(want int) { g.slots.Store(int32(want)) }

// join takes a slot, if any is left. It counts itself active before it
// takes the slot, so that retract, which closes the slots before it reads
// active, never misses a helper that got in.
func (g *helpGate) join() bool {
	g.active.Add(1)
	for {
		s := g.slots.Load()
		if s <= 0 {
			g.active.Add(-1)
			return false
		}
		if g.slots.CompareAndSwap(s, s-1) {
			return true
		}
	}
}

// leave ends a helper's part in the job.
func (g *helpGate) leave() { g.active.Add(-1) }

// retract closes the job to helpers and waits for those that joined. The
// caller has run out of tasks, so they are finishing their last ones. It
// polls without the scheduler first: yielding on every poll (Gosched, which
// also wakes idle threads to look for work) cost ~10% of a training step's
// CPU, and blocking on a channel makes the runtime allocate wait records
// now and then.
func (g *helpGate) retract() {
	g.slots.Store(0)
	for i := 0; g.active.Load() != 0; i++ {
		if i >= retractSpins {
			runtime.Gosched()
		}
	}
}

// helpJob is a parallel call that helpers can join: help takes a helper
// slot if one is left, runs tasks until none is left and leaves.
type helpJob interface{ help() }

// helpTicket is a job as handed to helpers: a pointer-sized handle that
// can sit in an atomic mailbox. Each job struct holds its own, set once.
type helpTicket struct{ job helpJob }

// helpers are the goroutines, started on first need and kept, that help
// run the chunks of parallelRun and the tasks of matmul (one set for
// both, so at most GOMAXPROCS-1 of them compete for the cores).
//
// A helper blocks on a channel, which offer fills only for helpers idle
// at that moment (a non-blocking send); a helper that has just finished a
// job first polls a mailbox briefly, where offer also posts its job, so a
// region that follows right after another one finds it at once. Either
// way the caller never waits for a helper to arrive (a wake-up takes
// ~90us on this VM), only for those running its tasks to finish. Longer
// spinning, or polling with sleeps, measured slower: the two vCPUs share
// a core's resources, and a spinning helper slows the caller's serial
// work between regions.
var helpers helperSet

// helperSet is the type of helpers.
type helperSet struct {
	mu       spinLock
	started  int
	ch       chan *helpTicket
	mailbox  atomic.Pointer[helpTicket]
	spinning atomic.Int32 // helpers polling the mailbox
}

// helperSpins is how many mailbox polls a helper makes before it blocks
// on the channel: well under a microsecond.
const helperSpins = 1 << 8

// offer hands the job to up to want helpers: through the mailbox to
// those polling it, through the channel to those blocked on it.
func (h *helperSet) offer(t *helpTicket, want int) {
	h.mu.Lock()
	if h.ch == nil {
		h.ch = make(chan *helpTicket)
	}
	for ; h.started < want; h.started++ {
		go h.run()
	}
	h.mu.Unlock()
	sent := 0
	if n := int(h.spinning.Load()); n > 0 && h.mailbox.CompareAndSwap(nil, t) {
		sent = min(n, want)
	}
	for ; sent < want; sent++ {
		select {
		case h.ch <- t:
		default:
			return
		}
	}
}

// withdraw takes the job out of the mailbox, if it is there; the job is
// closed to helpers by then (retract), so a helper that still reads it
// cannot join.
func (h *helperSet) withdraw(t *helpTicket) {
	h.mailbox.CompareAndSwap(t, nil)
}

// run is a helper goroutine.
func (h *helperSet) run() {
	for {
		t := h.poll()
		if t == nil {
			t = <-h.ch
		}
		t.job.help()
	}
}

// poll polls the mailbox for a job helperSpins times, and returns nil if
// none came.
func (h *helperSet) poll() *helpTicket {
	h.spinning.Add(1)
	defer h.spinning.Add(-1)
	for range helperSpins {
		if t := h.mailbox.Load(); t != nil {
			return t
		}
	}
	return nil
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
	mu   spinLock
	free []*T
}

// spinLock is a mutex for critical sections of a few instructions that
// several threads enter at once now and then (the attention workers all
// take matmul jobs from one free list): a sync.Mutex that finds the lock
// taken parks the goroutine, and parking makes the runtime allocate a
// wait record now and then; spinLock polls, yielding the thread after a
// while so that it cannot starve a preempted holder.
type spinLock struct{ state atomic.Int32 }

func (l *spinLock) Lock() {
	for i := 0; !l.state.CompareAndSwap(0, 1); i++ {
		if i >= 64 {
			runtime.Gosched()
		}
	}
}

func (l *spinLock) Unlock() { l.state.Store(0) }

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
