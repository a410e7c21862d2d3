package cli

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/bitflow-dev/bitflow/explorations"
	"github.com/bitflow-dev/bitflow/runner"
)

// TestShippedExplorationsPlan plans every shipped exploration against its
// workflow without running it: all points are distinct, every param is
// one the workflow has and accepts, and the steps that do not depend on a
// point's params are shared by all points.
func TestShippedExplorationsPlan(t *testing.T) {
	// From the repository root, as `make` runs bitflow, so that the
	// explorations' ../workflows/ paths name the checkout's files.
	t.Chdir("../..")
	want := map[string]struct {
		points, nodes int
	}{
		"bit_balanced_vs_cross_entropy": {43, 8 + 43*2},
		"bit_balanced_small":            {4, 8 + 4*2},
	}
	if got := explorations.ShippedNames(); len(got) != len(want) {
		t.Errorf("shipped explorations %v; add new ones to this test", got)
	}
	c := newCtx(context.Background(), lookup("sweep"), io.Discard, io.Discard)
	for name, w := range want {
		x, err := expandExploration(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := x.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		specs, _ := sweepPoints(c, x)
		wf, err := sweepWorkflow(x, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if wf.File != "workflows/bitnet_kd.yaml" && wf.File != "workflows/quickstart.yaml" {
			t.Errorf("%s runs %s, not the checkout's workflow", name, wf.File)
		}
		sw, err := runner.NewSweep(wf, registry, x.Stem, specs, runner.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, renderError(err))
		}
		if len(sw.Points) != w.points || len(sw.Plan.Nodes) != w.nodes {
			t.Errorf("%s: %d points, %d steps; want %d and %d", name, len(sw.Points), len(sw.Plan.Nodes), w.points, w.nodes)
		}
		for _, n := range sw.Plan.Nodes {
			if strings.Contains(n.Name, "@") != (n.Step.Name == "student" || n.Step.Name == "eval") {
				t.Errorf("%s: step %s: only the student and its eval differ per point", name, n.Name)
			}
		}
	}
}
