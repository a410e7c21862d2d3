package builtin_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bitflow-dev/bitflow/runner"
	"github.com/bitflow-dev/bitflow/runner/store"
	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/builtin"
	"github.com/bitflow-dev/bitflow/workflows"
)

var update = flag.Bool("update", false, "record the golden digests of kinds whose version has none")

const goldenFile = "testdata/golden.json"

// TestKindVersionsAreGolden runs every built-in kind on its fixture
// (testdata/fixtures/KIND.yaml) and compares the output digests with those
// committed for the kind's current version (design §3). A change of
// results without a version bump fails here; after a bump, -update records
// the new version's digests (old versions' entries stay as history).
func TestKindVersionsAreGolden(t *testing.T) {
	golden := map[string]map[string]string{}
	if b, err := os.ReadFile(goldenFile); err == nil {
		if err := json.Unmarshal(b, &golden); err != nil {
			t.Fatal(err)
		}
	}
	reg := builtin.Registry()
	changed := false
	for _, name := range reg.Names() {
		kind, _ := reg.Get(name)
		key := name + "@" + kind.Version()
		t.Run(name, func(t *testing.T) {
			fixture := filepath.Join("testdata", "fixtures", name+".yaml")
			w, err := workflows.LoadFile(fixture, runner.LoaderKinds(reg))
			if err != nil {
				t.Fatalf("kind %s needs a golden fixture: %v", name, err)
			}
			p, err := runner.NewPlan(w, reg, runner.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			rec, err := (&runner.Runner{Store: st, Jobs: 1}).Execute(context.Background(), p)
			if err != nil {
				t.Fatalf("fixture failed: %v", err)
			}
			got := map[string]string{}
			for _, s := range rec.Steps {
				for out, o := range s.Outputs {
					got[s.Name+"."+out] = goldenDigest(t, st, reg, s.Kind, out, o)
				}
			}
			want, ok := golden[key]
			if !ok {
				if !*update {
					t.Fatalf("no golden digests for %s: run go test ./steps/builtin -update and commit %s", key, goldenFile)
				}
				golden[key], changed = got, true
				return
			}
			for _, k := range sortedKeys(got) {
				if got[k] != want[k] {
					t.Errorf("%s: output %s is %s, golden %s: the kind's results changed; bump its Version", key, k, got[k], want[k])
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: outputs %v, golden %v", key, sortedKeys(got), sortedKeys(want))
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
