package explorations

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// conformanceDir finds ../shared/conformance/explorations beside the module
// root (the directory holding go.mod), as laid out in development and CI.
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	conf := filepath.Join(filepath.Dir(dir), "shared", "conformance", "explorations")
	if _, err := os.Stat(conf); err != nil {
		t.Fatalf("conformance data not found beside the module root: %v", err)
	}
	return conf
}

type expectedFile struct {
	File   string          `json:"file"`
	Points json.RawMessage `json:"points"`
	Error  *string         `json:"error"`
}

// errorKey pulls the parameter a reference error message names.
var errorKey = regexp.MustCompile(`'([^']+)'`)

func TestConformance(t *testing.T) {
	dir := conformanceDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no expected files in %s", dir)
	}
	for _, expPath := range files {
		name := strings.TrimSuffix(filepath.Base(expPath), ".expected.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatal(err)
			}
			var want expectedFile
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(filepath.Join(dir, want.File))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Expand(want.File, src)
			if want.Error != nil {
				checkRejected(t, want, got, err)
				return
			}
			if err != nil {
				t.Fatalf("expand: %v", err)
			}
			js, err := got.PointsJSON()
			if err != nil {
				t.Fatal(err)
			}
			comparePoints(t, js, want.Points)
		})
	}
}

// checkRejected asserts a positioned error that names the key the
// reference's message names.
func checkRejected(t *testing.T, want expectedFile, got *Exploration, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("expanded to %d points; the reference rejects the file: %s", len(got.Points), *want.Error)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.File != want.File || e.Line == 0 || e.Col == 0 {
		t.Errorf("error %q lacks a position in %s", err, want.File)
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d:%d: ", want.File, e.Line, e.Col)) {
		t.Errorf("error %q does not start with file:line:col", err)
	}
	if m := errorKey.FindStringSubmatch(*want.Error); m != nil {
		if e.Key != m[1] || !strings.Contains(err.Error(), m[1]) {
			t.Errorf("error %q names key %q; the reference names %q", err, e.Key, m[1])
		}
	}
}

// comparePoints compares two JSON lists of points token by token, so that
// key order and the text of numbers (8.0 is not 8) count, and whitespace
// does not; it reports the first point that differs.
func comparePoints(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w []json.RawMessage
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(g) && i < len(w); i++ {
		gt, wt := tokens(t, g[i]), tokens(t, w[i])
		if gt != wt {
			t.Fatalf("point %d differs:\n got %s\nwant %s", i, g[i], w[i])
		}
	}
	if len(g) != len(w) {
		t.Fatalf("got %d points, want %d", len(g), len(w))
	}
}

// tokens renders a JSON value as its token stream with number text kept.
func tokens(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%T:%v\n", tok, tok)
	}
}
