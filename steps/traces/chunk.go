package traces

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// chunkFormat versions the chunk files kept in a step's partial directory;
// a file of another format is recomputed, never misread.
const chunkFormat = 1

// chunk is the finished work of one group of prompts: the rows of the
// prompts at positions [First, First+Count) of the seeded order, which
// become one row group of the traces file, and what building them counted.
type chunk struct {
	Format       int
	Index        int
	First, Count int
	Rows         []Row
	Stats        []promptStats // one per prompt
}

// chunkPath is where chunk i is kept. Zero-padded so a listing sorts.
func chunkPath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("chunk-%06d.gob", i))
}

// saveChunk writes c atomically: to a temporary file that is synced and
// then renamed, so a kill at any instant leaves either no chunk file or a
// complete one. gob keeps float64 exactly, -Inf included.
func saveChunk(dir string, c *chunk) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("partial dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".chunk-*.tmp")
	if err != nil {
		return fmt.Errorf("chunk %d: %w", c.Index, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	err = gob.NewEncoder(f).Encode(c)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, chunkPath(dir, c.Index))
	}
	if err != nil {
		return fmt.Errorf("chunk %d: %w", c.Index, err)
	}
	if d, err := os.Open(dir); err == nil {
		// Best effort: make the rename itself durable.
		d.Sync()
		d.Close()
	}
	return nil
}

// errStaleChunk marks a chunk file that exists but cannot be used.
var errStaleChunk = errors.New("stale chunk")

// loadChunk reads chunk i if it was finished before. It returns (nil, nil)
// if there is none, and an error wrapping errStaleChunk if the file is
// unreadable or does not hold chunk i of this plan (the caller recomputes
// it).
func loadChunk(dir string, i, first, count int) (*chunk, error) {
	f, err := os.Open(chunkPath(dir, i))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chunk %d: %w", i, err)
	}
	defer f.Close()
	var c chunk
	if err := gob.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("chunk %d: %w: %v", i, errStaleChunk, err)
	}
	if c.Format != chunkFormat || c.Index != i || c.First != first || c.Count != count || len(c.Stats) != count {
		return nil, fmt.Errorf("chunk %d: %w: format %d, prompts %d+%d", i, errStaleChunk, c.Format, c.First, c.Count)
	}
	return &c, nil
}
