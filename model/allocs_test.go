package model

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestTrainStepAllocs requires a training step of the default student
// (n_layer 4, n_head 4, n_embd 128, block 256, vocab 512, bitlinear with
// absmax activations) at batch 8 to allocate nothing after warm-up: with
// testing.AllocsPerRun, which runs at GOMAXPROCS 1, and at GOMAXPROCS 2,
// where the kernels' helper goroutines run too (counted from the
// process-wide malloc count).
func TestTrainStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if testing.Short() {
		t.Skip("trains the default student")
	}
	if gemmImpl == nil {
		t.Skip("gonum's matmul (the go path) allocates; the SIMD paths do not")
	}
	cfg := DefaultConfig()
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.MaxIters = 1 << 30
	tr, err := NewTrainer(m, tc, 1)
	if err != nil {
		t.Fatal(err)
	}
	const B = 8
	T := cfg.BlockSize
	rng := rand.New(rand.NewPCG(2, 2))
	b := &Batch{B: B, T: T, Inputs: randIDs(rng, B*T, cfg.VocabSize), Targets: randIDs(rng, B*T, cfg.VocabSize)}
	step := func() {
		if _, err := tr.TrainStep(b); err != nil {
			t.Fatal(err)
		}
	}
	step() // allocates the activations
	if n := testing.AllocsPerRun(2, step); n != 0 {
		t.Errorf("GOMAXPROCS 1: %v allocations per training step, want 0", n)
	}
	// At GOMAXPROCS 2 the kernels' helpers join in; their jobs and
	// scratch come from free lists the collector does not empty, so after
	// warm-up (which fills the lists, lets the helpers go idle and block
	// once, and gives the collector its worker goroutine for the new P)
	// no step may allocate.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	step()
	step()
	runtime.GC()
	time.Sleep(50 * time.Millisecond) // the helpers go idle and block
	step()
	step()
	// On a loaded machine (other test binaries running) a helper can be
	// descheduled and park in the runtime, which allocates a wait record
	// now and then: up to 3 windows of 8 steps are tried, and one must
	// allocate nothing. An allocation made by every step fails all of them.
	const runs, tries = 8, 3
	var n uint64
	for range tries {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			step()
		}
		runtime.ReadMemStats(&after)
		if n = after.Mallocs - before.Mallocs; n == 0 {
			return
		}
	}
	t.Errorf("GOMAXPROCS 2: %d allocations in the last %d training steps, want 0", n, runs)
}
