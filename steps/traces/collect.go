package traces

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// collector samples the teacher on the chosen prompts and writes the traces
// file. Prompts are grouped into fixed chunks of chunkPrompts consecutive
// positions of the seeded order; chunk i is row group i of the file (empty
// chunks aside). A finished chunk is saved in the partial directory before
// anything else happens to it, and the file is written from the chunks in
// order, so what a chunk holds never depends on when, by which worker or in
// which run it was computed: a resumed run gives the same bytes.
type collector struct {
	recs         []records.Record
	order        []int // positions -> record indices
	chunkPrompts int
	partial      string
	req          teacher.Request // MaxTokens, Temperature, TopP, TopLogprobs; Prompt and Seed per prompt
	seed         int64
	k            int
	tok          Tokenizer
	tplHash      string
	tokHash      string
	concurrency  int
	open         func(context.Context) (teacher.Provider, error)
	env          *steps.Env
	log          io.Writer
}

// progress is what a collection did in this run (not in earlier ones).
type progress struct {
	resumed       int // prompts taken from saved chunks
	sampled       int // prompts sampled now
	teacherTokens int // teacher tokens generated now
	elapsed       time.Duration
}

func (c *collector) numChunks() int {
	return (len(c.order) + c.chunkPrompts - 1) / c.chunkPrompts
}

func (c *collector) bounds(i int) (first, count int) {
	first = i * c.chunkPrompts
	return first, min(c.chunkPrompts, len(c.order)-first)
}

type promptResult struct {
	pos   int
	rows  []Row
	stats promptStats
	err   error
}

// run collects every chunk and writes the row groups to w in order; it
// returns the summed per-prompt stats in position order.
func (c *collector) run(ctx context.Context, w *Writer) ([]promptStats, progress, error) {
	start := time.Now()
	var pr progress
	n := c.numChunks()
	ready := map[int]*chunk{}
	var todo []int
	for i := range n {
		first, count := c.bounds(i)
		ch, err := loadChunk(c.partial, i, first, count)
		if errors.Is(err, errStaleChunk) {
			fmt.Fprintf(c.log, "recomputing %v\n", err)
			ch, err = nil, nil
		}
		if err != nil {
			return nil, pr, err
		}
		if ch != nil {
			ready[i] = ch
			pr.resumed += count
			continue
		}
		for pos := first; pos < first+count; pos++ {
			todo = append(todo, pos)
		}
	}
	if pr.resumed > 0 {
		fmt.Fprintf(c.log, "resuming: %d of %d prompts already collected\n", pr.resumed, len(c.order))
	}

	var stats []promptStats
	next := 0
	flush := func() error {
		for ; ready[next] != nil; next++ {
			if err := w.WriteGroup(ready[next].Rows); err != nil {
				return err
			}
			stats = append(stats, ready[next].Stats...)
			delete(ready, next)
		}
		return nil
	}
	if err := flush(); err != nil {
		return nil, pr, err
	}
	if len(todo) > 0 {
		if err := c.sampleAll(ctx, todo, ready, flush, &pr, start); err != nil {
			return nil, pr, err
		}
	}
	if next != n {
		return nil, pr, fmt.Errorf("internal: wrote %d of %d chunks", next, n)
	}
	pr.elapsed = time.Since(start)
	return stats, pr, nil
}

// sampleAll samples the prompts at positions todo with c.concurrency
// requests in flight. Finished chunks are saved and handed to flush as they
// complete; on an error or cancellation the unfinished ones are abandoned
// (the saved ones stay for the next run).
func (c *collector) sampleAll(ctx context.Context, todo []int, ready map[int]*chunk, flush func() error, pr *progress, start time.Time) error {
	p, err := c.open(ctx)
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	results := make(chan promptResult)
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pos := range jobs {
				r := c.sampleOne(ctx, p, pos)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, pos := range todo {
			select {
			case jobs <- pos:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	// A chunk's prompts finish in any order; their rows wait in slots by
	// position until the last one arrives.
	type building struct {
		rows  [][]Row
		stats []promptStats
		left  int
	}
	pending := map[int]*building{}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	done := len(c.order) - len(todo)
	for r := range results {
		if firstErr != nil {
			continue // draining the workers
		}
		if r.err != nil {
			fail(r.err)
			continue
		}
		ci := r.pos / c.chunkPrompts
		first, count := c.bounds(ci)
		b := pending[ci]
		if b == nil {
			b = &building{rows: make([][]Row, count), stats: make([]promptStats, count), left: count}
			pending[ci] = b
		}
		b.rows[r.pos-first], b.stats[r.pos-first] = r.rows, r.stats
		b.left--
		done++
		pr.sampled++
		pr.teacherTokens += r.stats.TeacherTokens
		if b.left == 0 {
			delete(pending, ci)
			ch := &chunk{Format: chunkFormat, Index: ci, First: first, Count: count, Stats: b.stats}
			for _, rows := range b.rows {
				ch.Rows = append(ch.Rows, rows...)
			}
			if err := saveChunk(c.partial, ch); err != nil {
				fail(err)
				continue
			}
			ready[ci] = ch
			if err := flush(); err != nil {
				fail(err)
				continue
			}
		}
		secs := max(time.Since(start).Seconds(), 1e-9)
		c.env.Report(steps.Progress{Done: float64(done), Total: float64(len(c.order)), Unit: "prompts",
			Fields: map[string]float64{"tokens_per_s": float64(pr.teacherTokens) / secs}})
	}
	if firstErr != nil || done < len(c.order) {
		if err := parent.Err(); err != nil {
			// A cancelled run reports the cancellation, not the failures
			// it caused (workers may also drop results once it happens).
			return err
		}
	}
	if firstErr == nil && done < len(c.order) {
		return fmt.Errorf("internal: %d of %d prompts sampled", done, len(c.order))
	}
	return firstErr
}

// sampleOne asks the teacher for the completion of the prompt at pos and
// turns it into rows.
func (c *collector) sampleOne(ctx context.Context, p teacher.Provider, pos int) promptResult {
	prompt := c.recs[c.order[pos]].Prompt
	req := c.req
	req.Prompt, req.Seed = prompt, PromptSeed(c.seed, pos)
	comp, err := p.Complete(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return promptResult{pos: pos, err: ctx.Err()}
		}
		return promptResult{pos: pos, err: fmt.Errorf("prompt %d: %w", pos, err)}
	}
	rows, st, err := rowsFor(pos, prompt, comp, c.tok, c.k, c.tplHash, c.tokHash)
	if err != nil {
		return promptResult{pos: pos, err: fmt.Errorf("prompt %d: %w", pos, err)}
	}
	return promptResult{pos: pos, rows: rows, stats: st}
}
