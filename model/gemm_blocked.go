package model

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// gemmKernelFunc computes one register tile of c, rows x nr (rows fixed by
// the function, nr by its kernel set):
//
//	c[i*ldc+j] = fma(a[i*rsa+p*csa], b[p*rsb+j], c[i*ldc+j]) for p = 0 .. k-1
//
// in ascending p, starting from c's values when load != 0, else from zero.
// k >= 1; a, b and c must hold every element addressed.
type gemmKernelFunc func(k int, a *float32, rsa, csa int, b *float32, rsb int, c *float32, ldc int, load int)

// gemmKernelSet is one SIMD implementation of matmul: register-tile
// kernels of 1..mr rows and nr columns, and its cache blocking.
type gemmKernelSet struct {
	name   string
	mr, nr int
	kern   []gemmKernelFunc // kern[r] computes r rows; kern[0] is nil
	kc     int              // depth of a k-block: a kc x nr panel of b stays in L1
	mc     int              // rows of a task (a multiple of mr): its a block stays in L2
}

// gemmParallelMin is the size m*n*k (4M multiply-adds, ~40us on one core)
// below which matmul runs on the calling goroutine alone: the attention
// products (called from parallel workers already) and decode steps are
// below it, and a helper's wake-up would cost as much as it saves.
const gemmParallelMin = 1 << 22

// gemmBlocked is matmul on a kernel set. Blocking follows Goto/BLIS: c is
// cut into tasks of mc rows x nc columns; a task walks k in blocks of kc in
// ascending order, and for each block packs b's columns nr at a time into a
// contiguous kc x nr panel (zero padded past n) that every row tile of the
// task then reads from L1. a is read in place through its strides (a
// row-major or transposed a alike); a ragged last row tile uses a kernel
// with fewer rows, and a ragged last column tile goes through a small
// buffer.
//
// Every c element is computed by one kernel call per k-block, each
// continuing the previous one's fused multiply-add chain from the value it
// stored, in ascending k: the result depends neither on the blocking nor on
// how tasks are spread over threads, so tasks can be.
func gemmBlocked(ks *gemmKernelSet, c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int, acc bool) {
	// The kernels do not check bounds: check the extents here once.
	needA := (m-1)*lda + k
	if transA {
		needA = (k-1)*lda + m
	}
	if (transA && lda < m) || (!transA && lda < k) || ldb < n || ldc < n ||
		len(a) < needA || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("model: matmul: operands shorter than their shapes or leading dimensions too small: m %d n %d k %d lda %d ldb %d ldc %d, len a %d b %d c %d",
			m, n, k, lda, ldb, ldc, len(a), len(b), len(c)))
	}
	j := gemmJobs.get()
	j.gemmArgs = gemmArgs{ks: ks, c: c, ldc: ldc, a: a, lda: lda, transA: transA, b: b, ldb: ldb, m: m, n: n, k: k, acc: acc}
	j.next.Store(0)

	// k-blocks of nearly equal depth, at most ks.kc.
	kb := (k + ks.kc - 1) / ks.kc
	j.kc = (k + kb - 1) / kb
	// Tasks: row blocks of mc, and, when that leaves too few tasks for the
	// threads, column blocks too (multiples of nr).
	workers := runtime.GOMAXPROCS(0)
	if m*n*k < gemmParallelMin {
		workers = 1
	}
	j.mc, j.nc = ks.mc, roundUp(n, ks.nr)
	if workers > 1 {
		// Row blocks of at most mc, as many as a multiple of the threads,
		// with the row tiles spread evenly among them.
		tiles, per := ceilDiv(m, ks.mr), ks.mc/ks.mr
		mt := workers * ceilDiv(tiles, workers*per)
		j.mc = ceilDiv(tiles, mt) * ks.mr
		if mt = ceilDiv(m, j.mc); mt < workers {
			j.nc = max(ks.nr, roundUp(ceilDiv(n, ceilDiv(workers, mt)), ks.nr))
		}
	}
	j.mt, j.nt = ceilDiv(m, j.mc), ceilDiv(n, j.nc)
	tasks := j.mt * j.nt
	if workers > 1 && tasks > 1 {
		j.open(min(workers, tasks) - 1)
		helpers.offer(&j.ticket, min(workers, tasks)-1)
	}
	j.work()
	j.gate.retract()
	helpers.withdraw(&j.ticket)
	j.gemmArgs = gemmArgs{} // drop the references to the operands
	gemmJobs.put(j)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// gemmJob is one gemmBlocked call shared by the threads that run its tasks.
type gemmJob struct {
	gemmArgs
	next   atomic.Int64 // next task to run
	gate   helpGate
	ticket helpTicket // this job, as handed to helpers
}

// gemmArgs are a job's operands and blocking.
type gemmArgs struct {
	ks                 *gemmKernelSet
	c, a, b            []float32
	ldc, lda, ldb      int
	transA, acc        bool
	m, n, k            int
	kc, mc, nc, mt, nt int
}

// gemmJobs and gemmWorks are free lists, not sync.Pools: a collection
// empties a sync.Pool, and refilling it allocated now and then at
// GOMAXPROCS >= 2 (about one allocation per training step).
var gemmJobs freeList[gemmJob]

// gemmWork is a thread's scratch: a packed panel of b and a tile of c.
type gemmWork struct{ bp, tile []float32 }

var gemmWorks freeList[gemmWork]

// work runs tasks until none is left.
func (j *gemmJob) work() {
	w := gemmWorks.get()
	// The largest panel any product needs, so that a scratch struct taken
	// from the free list never has to grow.
	if n := j.ks.kc * j.ks.nr; cap(w.bp) < n {
		w.bp = make([]float32, n)
	}
	if n := j.ks.mr * j.ks.nr; cap(w.tile) < n {
		w.tile = make([]float32, n)
	}
	tasks := int64(j.mt * j.nt)
	for {
		t := j.next.Add(1) - 1
		if t >= tasks {
			break
		}
		j.task(w, int(t))
	}
	gemmWorks.put(w)
}

// task computes c's block t (row block t / nt, column block t % nt).
func (j *gemmJob) task(w *gemmWork, t int) {
	ks := j.ks
	mr, nr := ks.mr, ks.nr
	i0, j0 := t/j.nt*j.mc, t%j.nt*j.nc
	i1, j1 := min(i0+j.mc, j.m), min(j0+j.nc, j.n)
	rsa, csa := j.lda, 1
	if j.transA {
		rsa, csa = 1, j.lda
	}
	// With one or two row tiles a panel of b is read once or twice: reading
	// b in place beats copying it.
	direct := i1-i0 <= 2*mr
	for pc := 0; pc < j.k; pc += j.kc {
		kb := min(j.kc, j.k-pc)
		load := 0
		if j.acc || pc > 0 {
			load = 1
		}
		for jr := j0; jr < j1; jr += nr {
			nb := min(nr, j1-jr)
			bp, rsb := j.b[pc*j.ldb+jr:], j.ldb
			if nb < nr || !direct {
				bp, rsb = w.bp[:kb*nr], nr
				for p := range kb {
					src := j.b[(pc+p)*j.ldb+jr : (pc+p)*j.ldb+jr+nb]
					dst := bp[p*nr : p*nr+nr]
					copy(dst, src)
					clear(dst[nb:])
				}
			}
			for ir := i0; ir < i1; ir += mr {
				rows := min(mr, i1-ir)
				ap := &j.a[ir*rsa+pc*csa]
				if nb == nr {
					ks.kern[rows](kb, ap, rsa, csa, &bp[0], rsb, &j.c[ir*j.ldc+jr], j.ldc, load)
					continue
				}
				tile := w.tile[:rows*nr]
				if load != 0 {
					for i := range rows {
						copy(tile[i*nr:i*nr+nb], j.c[(ir+i)*j.ldc+jr:])
					}
				}
				ks.kern[rows](kb, ap, rsa, csa, &bp[0], rsb, &tile[0], nr, load)
				for i := range rows {
					copy(j.c[(ir+i)*j.ldc+jr:(ir+i)*j.ldc+jr+nb], tile[i*nr:])
				}
			}
		}
	}
}

// open lets up to want helpers (see helpers) join the job.
func (j *gemmJob) open(want int) {
	if j.ticket.job == nil {
		j.ticket.job = j
	}
	j.gate.open(want)
}

// help runs the job's tasks on a helper, if it may still join. A job may
// have been finished and its struct reused by another product by the time
// the helper comes; join then fails (or succeeds for that product, which
// is as good).
func (j *gemmJob) help() {
	if j.gate.join() {
		j.work()
		j.gate.leave()
	}
}
