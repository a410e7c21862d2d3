package runner_test

import (
	"testing"

	"github.com/bitflow-dev/bitflow/runner/runnerbench"
)

// The benchmark bodies are in runner/runnerbench, shared with the one-table
// report of `make bench` (internal/benchtable).

// BenchmarkPlan1000 loads, validates and plans a 1,000-step workflow.
func BenchmarkPlan1000(b *testing.B) { runnerbench.BenchPlan(b, 1000) }

// BenchmarkCachedRerun1000 is a no-op rerun of a 1,000-step workflow whose
// results are all in the store: load, plan, key every step, verify every
// cached output, and record the run.
func BenchmarkCachedRerun1000(b *testing.B) { runnerbench.BenchCachedRerun(b, 1000) }

// BenchmarkCachedRerun200 is the same at the size compared with Snakemake.
func BenchmarkCachedRerun200(b *testing.B) { runnerbench.BenchCachedRerun(b, 200) }
