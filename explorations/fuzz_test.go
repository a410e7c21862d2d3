package explorations

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExpand checks that no input panics, that every failure is a
// positioned *Error for the file, and that every success renders.
func FuzzExpand(f *testing.F) {
	for _, tt := range expandTests {
		f.Add(tt.src, false)
	}
	for _, tt := range errorTests {
		f.Add(tt.src, false)
	}
	f.Add(`[{"a": [1, 2.0, "x"], "parameter_groups": [{"b": null}]}]`, true)
	f.Add("a: &x [1, 2]\nb: *x\nc:\n  <<: {d: 1}\n", false)
	if files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "conformance", "explorations", "*.yaml")); len(files) > 0 {
		for _, p := range files[:min(len(files), 8)] {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(string(data), false)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string, isJSON bool) {
		name := "f.yaml"
		if isJSON {
			name = "f.json"
		}
		e, err := Expand(name, []byte(src))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.File != name {
				t.Fatalf("error %v (%T) is not an *Error for %s", err, err, name)
			}
			return
		}
		if _, err := e.PointsJSON(); err != nil {
			t.Fatal(err)
		}
		out, _ := Disambiguate(e.Points)
		seen := map[string]string{}
		for _, p := range out {
			if id, ok := seen[p.Name]; ok && id != p.ID() {
				t.Fatalf("name %q names two different points", p.Name)
			}
			seen[p.Name] = p.ID()
		}
		_ = e.Check()
	})
}
