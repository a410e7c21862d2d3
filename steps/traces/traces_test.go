package traces

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
	"github.com/bitflow-dev/bitflow/steps/teacher"
)

const tokFile = `{"model": "byte-level test tokenizer"}`

// fixture writes a split of n prompts and a tokenizer file.
func fixture(t *testing.T, n int) (recs []records.Record, in memInputs) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		recs = append(recs, records.Record{Prompt: fmt.Sprintf("Record user %d: name N%d", i, i*7), Answer: fmt.Sprintf(`{"id":%d}`, i)})
	}
	var buf bytes.Buffer
	if err := records.Encode(&buf, recs); err != nil {
		t.Fatal(err)
	}
	in = memInputs{InputPrompts: filepath.Join(dir, "train.jsonl"), InputTokenizer: filepath.Join(dir, "tokenizer.json")}
	if err := os.WriteFile(in[InputPrompts], buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in[InputTokenizer], []byte(tokFile), 0o644); err != nil {
		t.Fatal(err)
	}
	return recs, in
}

type runResult struct {
	traces, stats []byte
	metrics       map[string]float64
	progress      int
}

// runKind runs the kind once with the given partial directory.
func runKind(t *testing.T, ctx context.Context, f *fakeTeacher, in memInputs, partial string, over map[string]any) (runResult, error) {
	t.Helper()
	outDir := t.TempDir()
	out := memOutputs{OutputTraces: filepath.Join(outDir, "traces"), OutputStats: filepath.Join(outDir, "stats")}
	var res runResult
	env := &steps.Env{
		Params: params(over), Dir: t.TempDir(), Partial: partial, CPUs: 1, Log: &bytes.Buffer{},
		Progress: func(steps.Progress) { res.progress++ },
		Metrics:  func(m map[string]float64) { res.metrics = m },
	}
	err := Kind{Open: openFake(f), LoadTokenizer: loadByteTok}.Run(ctx, env, in, out)
	if err != nil {
		return res, err
	}
	if res.traces, err = os.ReadFile(out[OutputTraces]); err != nil {
		t.Fatal(err)
	}
	if res.stats, err = os.ReadFile(out[OutputStats]); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

var smallRun = map[string]any{"num_prompts": int64(14), "chunk_prompts": int64(3), "top_k": int64(4), "max_tokens": int64(8), "seed": int64(5)}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestRunRows checks the rows against the teacher's answers, recomputed
// independently: the seeded prompt order, the per-position seeds, the
// request settings, the projection and the end rows; and the stats.
func TestRunRows(t *testing.T) {
	recs, in := fixture(t, 20)
	f := &fakeTeacher{maxLen: 12}
	res, err := runKind(t, context.Background(), f, in, t.TempDir(), smallRun)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "traces.parquet")
	os.WriteFile(path, res.traces, 0o644)
	rows, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tokFile))
	tokHash := hex.EncodeToString(sum[:])
	order := PromptOrder(5, 20, 14)
	ref := &fakeTeacher{maxLen: 12}
	var want []Row
	var st Stats
	st.FinishReasons = map[string]int{}
	for pos, ri := range order {
		c, _ := ref.Complete(context.Background(), teacher.Request{Prompt: recs[ri].Prompt, MaxTokens: 8, Temperature: 0.8, TopP: 0.95, TopLogprobs: 4, Seed: PromptSeed(5, pos)})
		for i, tk := range c.Tokens {
			p, err := Project(tk.Top, byteTok{}, 4)
			if err != nil {
				t.Fatal(err)
			}
			ids := widen(studentIDs(byteTok{}, tk.Text))
			first := int64(-1)
			if len(ids) > 0 {
				first = ids[0]
			} else {
				st.EmptySamples++
			}
			want = append(want, Row{PromptIdx: int64(pos), StepIdx: int64(i), TeacherSampleID: first, TeacherSampleText: tk.Text,
				TopKIDs: p.IDs, TopKLogprobs: p.Logprobs, OtherLogprob: p.Other, IsStructToken: model.IsStructural(tk.Text),
				TemplateHash: TemplateHash(), TokenizerHash: tokHash, TeacherSampleLogprob: tk.Logprob, StudentIDs: ids, PromptText: recs[ri].Prompt})
			st.DroppedAlternatives += p.Dropped
			st.StudentTokens += len(ids)
		}
		if c.FinishReason == "stop" {
			want = append(want, endRow(int64(pos), int64(len(c.Tokens))))
			w := &want[len(want)-1]
			w.TokenizerHash, w.PromptText, w.IsStructToken = tokHash, recs[ri].Prompt, false
			st.EndRows++
			st.StudentTokens++
		}
		st.TeacherTokens += len(c.Tokens)
		st.FinishReasons[c.FinishReason]++
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(normRow(rows[i]), normRow(want[i])) {
			t.Fatalf("row %d:\n%+v\nwant\n%+v", i, rows[i], want[i])
		}
	}
	var got Stats
	if err := json.Unmarshal(res.stats, &got); err != nil {
		t.Fatal(err)
	}
	if got.Prompts != 14 || got.Rows != len(want) || got.TeacherTokens != st.TeacherTokens || got.EndRows != st.EndRows ||
		got.StudentTokens != st.StudentTokens || got.DroppedAlternatives != st.DroppedAlternatives || got.EmptySamples != st.EmptySamples ||
		got.K != 4 || got.RowGroups != 5 || !reflect.DeepEqual(got.FinishReasons, st.FinishReasons) ||
		got.TemplateHash != TemplateHash() || got.TokenizerHash != tokHash {
		t.Errorf("stats %+v, want %+v", got, st)
	}
	eosAlternatives := 0
	for _, r := range rows {
		if r.TeacherSampleText != tokenizer.EOS && slices.Contains(r.TopKIDs, 0) {
			eosAlternatives++
		}
	}
	if st.DroppedAlternatives == 0 || st.EndRows == 0 || st.FinishReasons["length"] == 0 || eosAlternatives == 0 {
		t.Errorf("the fixture misses a case: %+v, %d rows with EOS among the alternatives", st, eosAlternatives)
	}
	if res.metrics["prompts_sampled"] != 14 || res.metrics["tokens_per_s"] <= 0 || res.progress != 14 {
		t.Errorf("metrics %v, %d progress reports", res.metrics, res.progress)
	}
	// The stats are a measurement: they hold the collection's speed.
	if got.SampledPrompts != 14 || got.TokensPerS == nil || *got.TokensPerS != res.metrics["tokens_per_s"] {
		t.Errorf("stats: %d prompts sampled at %v tokens/s, metrics %v", got.SampledPrompts, got.TokensPerS, res.metrics)
	}
}

// normStats is the stats output without its timings (what --verify
// compares).
func normStats(t *testing.T, b []byte) string {
	t.Helper()
	n, err := Kind{}.Normalize(OutputStats, b)
	if err != nil {
		t.Fatal(err)
	}
	return string(n)
}

// TestNormalizeStats: two collections' stats that differ only in speed
// and resumption normalize to the same bytes; a different count does not.
func TestNormalizeStats(t *testing.T) {
	fast, slow := 900.0, 3.5
	a := Stats{Prompts: 4, Rows: 30, K: 4, FinishReasons: map[string]int{"stop": 4}, SampledPrompts: 4, TokensPerS: &fast}
	b := a
	b.SampledPrompts, b.TokensPerS = 1, &slow
	c := a
	c.TokensPerS = nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	jc, _ := json.Marshal(c)
	if na := normStats(t, ja); na != normStats(t, jb) || na != normStats(t, jc) {
		t.Errorf("speeds survive normalization:\n%s\n%s", na, normStats(t, jb))
	}
	b.Rows++
	jb, _ = json.Marshal(b)
	if normStats(t, ja) == normStats(t, jb) {
		t.Error("normalization hides a changed row count")
	}
	if n, err := (Kind{}).Normalize(OutputTraces, []byte("PAR1")); err != nil || string(n) != "PAR1" {
		t.Errorf("the traces output is not a measurement: %q %v", n, err)
	}
}

// normRow makes empty lists nil, as a gob or Parquet round trip may.
func normRow(r Row) Row {
	if len(r.TopKIDs) == 0 {
		r.TopKIDs = nil
	}
	if len(r.TopKLogprobs) == 0 {
		r.TopKLogprobs = nil
	}
	if len(r.StudentIDs) == 0 {
		r.StudentIDs = nil
	}
	return r
}

// TestRunDoesNotDependOnConcurrency compares the bytes of runs with one and
// many requests in flight, and one and several threads.
func TestRunDoesNotDependOnConcurrency(t *testing.T) {
	_, in := fixture(t, 20)
	base, err := runKind(t, context.Background(), &fakeTeacher{maxLen: 12}, in, t.TempDir(), with(smallRun, "concurrency", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []struct{ procs, conc int64 }{{1, 8}, {4, 3}, {8, 16}} {
		runtime.GOMAXPROCS(int(c.procs))
		got, err := runKind(t, context.Background(), &fakeTeacher{maxLen: 12}, in, t.TempDir(), with(smallRun, "concurrency", c.conc))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.traces, base.traces) || normStats(t, got.stats) != normStats(t, base.stats) {
			t.Errorf("GOMAXPROCS %d concurrency %d: different bytes", c.procs, c.conc)
		}
	}
}

// TestRunResumes interrupts collections (a cancelled context, a failing
// teacher), reruns them on the same partial directory and compares the
// final bytes with an uninterrupted run's; the rerun samples only what the
// interrupted one had not saved.
func TestRunResumes(t *testing.T) {
	_, in := fixture(t, 20)
	opts := with(smallRun, "concurrency", int64(2))
	want, err := runKind(t, context.Background(), &fakeTeacher{maxLen: 12}, in, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		stop func(cancel context.CancelFunc) func(n int64) error
		is   error
	}{
		{"cancelled", func(cancel context.CancelFunc) func(int64) error {
			return func(n int64) error {
				if n >= 8 {
					cancel()
					return context.Canceled
				}
				return nil
			}
		}, context.Canceled},
		{"teacher fails", func(context.CancelFunc) func(int64) error {
			return func(n int64) error {
				if n >= 10 {
					return errBoom
				}
				return nil
			}
		}, errBoom},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			partial := filepath.Join(t.TempDir(), "partial") // created by the kind
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := runKind(t, ctx, &fakeTeacher{maxLen: 12, after: tc.stop(cancel)}, in, partial, opts)
			if !errors.Is(err, tc.is) {
				t.Fatalf("interrupted run: %v, want %v", err, tc.is)
			}
			saved, _ := filepath.Glob(filepath.Join(partial, "chunk-*.gob"))
			if len(saved) == 0 || len(saved) >= 5 {
				t.Fatalf("%d of 5 chunks saved", len(saved))
			}
			f := &fakeTeacher{maxLen: 12}
			got, err := runKind(t, context.Background(), f, in, partial, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.traces, want.traces) || normStats(t, got.stats) != normStats(t, want.stats) {
				t.Error("the resumed run's bytes differ from an uninterrupted run's")
			}
			var st Stats
			if err := json.Unmarshal(got.stats, &st); err != nil || st.SampledPrompts != 14-3*len(saved) || st.TokensPerS == nil {
				t.Errorf("resumed stats: %d prompts sampled at %v tokens/s (%v), %d chunks saved", st.SampledPrompts, st.TokensPerS, err, len(saved))
			}
			if resumed := got.metrics["prompts_resumed"]; resumed != float64(3*len(saved)) || f.calls.Load() != int64(14-3*len(saved)) {
				t.Errorf("resumed %v prompts, sampled %d, with %d chunks saved", resumed, f.calls.Load(), len(saved))
			}
			// A finished collection's rerun samples nothing.
			f = &fakeTeacher{maxLen: 12}
			if got, err = runKind(t, context.Background(), f, in, partial, opts); err != nil || f.calls.Load() != 0 || !bytes.Equal(got.traces, want.traces) {
				t.Errorf("rerun of a complete collection: %v, %d calls", err, f.calls.Load())
			}
		})
	}
}

func TestRunRecomputesAStaleChunk(t *testing.T) {
	_, in := fixture(t, 20)
	partial := t.TempDir()
	want, err := runKind(t, context.Background(), &fakeTeacher{maxLen: 12}, in, partial, smallRun)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(chunkPath(partial, 1), []byte("torn"), 0o644)
	os.Remove(chunkPath(partial, 3))
	f := &fakeTeacher{maxLen: 12}
	got, err := runKind(t, context.Background(), f, in, partial, smallRun)
	if err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != 6 || !bytes.Equal(got.traces, want.traces) {
		t.Errorf("%d calls; same bytes: %v", f.calls.Load(), bytes.Equal(got.traces, want.traces))
	}
}

func TestRunRejectsBadSettings(t *testing.T) {
	_, in := fixture(t, 3)
	for name, over := range map[string]map[string]any{
		"top_p": with(smallRun, "top_p", 0.0), "top_k": with(smallRun, "top_k", int64(0)),
		"chunk_prompts": with(smallRun, "chunk_prompts", int64(0)), "temperature": with(smallRun, "temperature", -1.0),
		"num_prompts": with(smallRun, "num_prompts", int64(0)), "concurrency": with(smallRun, "concurrency", int64(0)),
	} {
		if _, err := runKind(t, context.Background(), &fakeTeacher{maxLen: 3}, in, t.TempDir(), over); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	env := &steps.Env{Params: params(smallRun), Dir: t.TempDir()}
	noEOS := func(string) (Tokenizer, error) { return badEOS{}, nil }
	err := Kind{Open: openFake(&fakeTeacher{}), LoadTokenizer: noEOS}.Run(context.Background(), env, in, memOutputs{})
	if err == nil || !strings.Contains(err.Error(), "EOS") {
		t.Errorf("a tokenizer without EOS: %v", err)
	}
}

type badEOS struct{ byteTok }

func (badEOS) EOSID() int32 { return 7 }
