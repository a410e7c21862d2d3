package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSweepExpandPrintsTheConformancePoints checks the command's wiring on
// one real file (the explorations package checks every file).
func TestSweepExpandPrintsTheConformancePoints(t *testing.T) {
	dir, _ := filepath.Abs("../../../shared/conformance/explorations")
	file := filepath.Join(dir, "bit_balanced_vs_cross_entropy.yaml")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("conformance data not found beside the checkout: %v", err)
	}
	r := bitflow(t, t.TempDir(), "sweep", "expand", "--json", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got, want any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "bit_balanced_vs_cross_entropy.expected.json"))
	var exp struct{ Points any }
	json.Unmarshal(b, &exp)
	want = exp.Points
	if !reflect.DeepEqual(got, want) {
		t.Error("points differ from the expected expansion")
	}
	r = bitflow(t, t.TempDir(), "sweep", "expand", filepath.Join(dir, "flash_lobo.yaml"))
	if r.code != 3 {
		t.Errorf("an invalid exploration exits %d, want 3: %s", r.code, r.stderr)
	}
}
