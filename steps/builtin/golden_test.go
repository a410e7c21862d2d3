package builtin_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/builtin"
	"github.com/bitflow-dev/bitflow/workflows"
)

var update = flag.Bool("update", false, "record golden digests that are missing or whose step inputs changed")

const goldenFile = "testdata/golden.json"

// fixtureOf names the fixture (testdata/fixtures/NAME.yaml) that exercises a
// kind; kinds that need a trained model share the tiny pipeline.
var fixtureOf = map[string]string{"train": "pipeline", "baseline": "pipeline", "traces": "pipeline", "eval": "pipeline"}

// runsTheModel lists the kinds whose outputs come out of model arithmetic.
// Their golden digests are recorded on the AVX2/AVX-512 matmul, whose
// results are bit-identical to each other; a CPU without them uses gonum,
// whose sums round differently, so there these kinds cannot be compared.
var runsTheModel = map[string]bool{"train": true, "baseline": true, "traces": true, "eval": true, "dryrun": true}

// goldenEntry is one output of one step of the kind under test: the
// ActionID it was computed under and the digest it must have.
type goldenEntry struct {
	Action string `json:"action"`
	Digest string `json:"digest"`
}

// TestKindVersionsAreGolden runs every built-in kind on its fixture and
// compares the outputs of the fixture's steps of that kind with the digests
// committed for the kind's version (design §3). The comparison is made only
// under the same ActionID, that is the same version, params and input
// digests: a different output there means the kind's results changed
// without a version bump, and fails. A changed ActionID means the fixture
// or an upstream kind changed; the entry is then out of date, and -update
// records it anew.
func TestKindVersionsAreGolden(t *testing.T) {
	golden := map[string]map[string]goldenEntry{}
	if b, err := os.ReadFile(goldenFile); err == nil {
		if err := json.Unmarshal(b, &golden); err != nil {
			t.Fatal(err)
		}
	}
	reg := builtin.Registry()
	storeDir := t.TempDir() // the outer test's: fixtures' stores outlive the subtests that share them
	runs := map[string]*store.RunRecord{}
	stores := map[string]*store.Store{}
	changed := false
	for _, name := range reg.Names() {
		kind, _ := reg.Get(name)
		key := name + "@" + kind.Version()
		t.Run(name, func(t *testing.T) {
			if runsTheModel[name] && model.MatmulPath() == "go" {
				t.Skipf("%s: golden digests are recorded with the SIMD matmul; this CPU (or BITFLOW_GEMM=go) uses gonum's, which rounds differently", key)
			}
			fx := fixtureOf[name]
			if fx == "" {
				fx = name
			}
			rec, st := runs[fx], stores[fx]
			if rec == nil {
				rec, st = runFixture(t, reg, fx, filepath.Join(storeDir, fx))
				runs[fx], stores[fx] = rec, st
			}
			got := map[string]goldenEntry{}
			for _, s := range rec.Steps {
				if s.Kind != name {
					continue
				}
				for out, o := range s.Outputs {
					got[s.Name+"."+out] = goldenEntry{Action: s.ActionID, Digest: goldenDigest(t, st, reg, s.Kind, out, o)}
				}
			}
			if len(got) == 0 {
				t.Fatalf("fixture %s has no step of kind %s", fx, name)
			}
			want := golden[key]
			stale := len(want) != len(got)
			for k, g := range got {
				w, ok := want[k]
				switch {
				case !ok || w.Action != g.Action:
					stale = true
				case w.Digest != g.Digest:
					t.Errorf("%s: %s is %s under the same key, golden %s: the kind's results changed; bump its Version", key, k, g.Digest, w.Digest)
				}
			}
			if stale && !t.Failed() {
				if !*update {
					t.Fatalf("%s: no golden digests for the fixture's current keys (new version, or the fixture or an upstream kind changed): run go test ./steps/builtin -update and commit %s", key, goldenFile)
				}
				golden[key], changed = got, true
			}
		})
	}
	if changed {
		b, _ := json.MarshalIndent(golden, "", "  ")
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runFixture(t *testing.T, reg *steps.Registry, name, dir string) (*store.RunRecord, *store.Store) {
	t.Helper()
	fixture := filepath.Join("testdata", "fixtures", name+".yaml")
	w, err := workflows.LoadFile(fixture, runner.LoaderKinds(reg))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	p, err := runner.NewPlan(w, reg, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := (&runner.Runner{Store: st, Jobs: 1}).Execute(context.Background(), p)
	if err != nil {
		for _, s := range rec.Steps {
			if s.Error != "" {
				t.Logf("%s: %s", s.Name, s.Error)
			}
		}
		t.Fatalf("fixture %s failed: %v", name, err)
	}
	return rec, st
}

// goldenDigest is an output's digest, or for a measurement output (a report
// holding wall-clock figures) the digest of its normalized bytes, which are
// what is reproducible about it.
func goldenDigest(t *testing.T, st *store.Store, reg *steps.Registry, kindName, out string, o store.Output) string {
	kind, _ := reg.Get(kindName)
	norm, ok := kind.(steps.Normalizer)
	if !ok {
		return string(o.Digest)
	}
	for _, p := range kind.Params().Outputs {
		if p.Name != out || !p.Measurement {
			continue
		}
		b, err := st.ReadObject(o.Digest)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := norm.Normalize(out, b)
		if err != nil {
			t.Fatalf("%s.%s: %v", kindName, out, err)
		}
		return "normalized:" + string(store.DigestOf(nb))
	}
	return string(o.Digest)
}
