package diff

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Content formats, detected from an output's bytes (and, where the bytes
// leave it open, its name).
const (
	FormatJSON        = "json"
	FormatJSONL       = "jsonl"
	FormatParquet     = "parquet"
	FormatSafetensors = "safetensors"
	FormatText        = "text"
	FormatBinary      = "binary"
	FormatTree        = "tree"
)

// Content is the content-aware comparison of two versions of one output.
// Exactly one of the format-specific fields is set, matching Format.
type Content struct {
	Format     string          `json:"format"`
	BaseSize   int64           `json:"base_size"`
	OtherSize  int64           `json:"other_size"`
	JSON       []Value         `json:"json,omitempty"`
	JSONL      []Series        `json:"jsonl,omitempty"`
	Parquet    *ParquetDiff    `json:"parquet,omitempty"`
	Checkpoint *CheckpointDiff `json:"checkpoint,omitempty"`
	Tree       []Value         `json:"tree,omitempty"`
	Text       *TextDiff       `json:"text,omitempty"`
	// Note explains a comparison that could not be made in full (the two
	// versions have different formats, a file does not parse).
	Note string `json:"note,omitempty"`
}

// TextDiff compares text that has no structure bitflow knows.
type TextDiff struct {
	BaseLines  int `json:"base_lines"`
	OtherLines int `json:"other_lines"`
	// FirstDiff is the 1-based number of the first line that differs.
	FirstDiff int `json:"first_diff_line"`
}

// Detect returns the format of an output called name with bytes b.
// Binary formats are recognised by their framing (Parquet's PAR1 magic at
// both ends, safetensors' length-prefixed JSON header); JSON by parsing;
// JSONL as several lines each holding one JSON object (or one, when the
// output's name says metrics or jsonl).
func Detect(name string, b []byte) string {
	if len(b) >= 12 && bytes.HasPrefix(b, []byte("PAR1")) && bytes.HasSuffix(b, []byte("PAR1")) {
		return FormatParquet
	}
	if len(b) >= 10 {
		n := binary.LittleEndian.Uint64(b[:8])
		if n >= 2 && n <= uint64(len(b)-8) && b[8] == '{' {
			return FormatSafetensors
		}
	}
	t := bytes.TrimSpace(b)
	// One line of JSON is both formats: a metrics log says which by name.
	if lower := strings.ToLower(name); (strings.Contains(lower, "jsonl") || strings.Contains(lower, "metrics")) && isJSONL(t) {
		return FormatJSONL
	}
	if len(t) > 0 && (t[0] == '{' || t[0] == '[' || strings.Contains(strings.ToLower(name), "json")) && json.Valid(t) {
		return FormatJSON
	}
	if isJSONL(t) {
		return FormatJSONL
	}
	if utf8.Valid(b) {
		return FormatText
	}
	return FormatBinary
}

func isJSONL(t []byte) bool {
	lines := 0
	for line := range bytes.SplitSeq(t, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return false
		}
		lines++
	}
	return lines > 0
}

// CompareBytes compares two versions of an output called name.
// A version that does not parse as its detected format is reported in
// Note; only an internal failure is an error.
func CompareBytes(name string, a, b []byte) (*Content, error) {
	fa, fb := Detect(name, a), Detect(name, b)
	c := &Content{Format: fa, BaseSize: int64(len(a)), OtherSize: int64(len(b))}
	if fa != fb {
		c.Format = FormatBinary
		c.Note = fmt.Sprintf("the format changed: %s -> %s", fa, fb)
		return c, nil
	}
	var err error
	switch fa {
	case FormatJSON:
		c.JSON, err = CompareJSON(a, b)
	case FormatJSONL:
		c.JSONL, err = CompareJSONL(a, b)
		if err == nil && len(c.JSONL) == 0 {
			// No numeric keys (generated samples): compare the lines.
			c.JSONL, c.Text = nil, compareText(a, b)
		}
	case FormatParquet:
		c.Parquet, err = CompareParquet(a, b)
	case FormatSafetensors:
		c.Checkpoint, err = CompareCheckpoints(a, b)
	case FormatText:
		c.Text = compareText(a, b)
	}
	if err != nil {
		c.Note = err.Error()
	}
	return c, nil
}

func compareText(a, b []byte) *TextDiff {
	la := strings.Split(string(a), "\n")
	lb := strings.Split(string(b), "\n")
	d := &TextDiff{BaseLines: lineCount(a), OtherLines: lineCount(b)}
	for i := 0; i < max(len(la), len(lb)); i++ {
		if i >= len(la) || i >= len(lb) || la[i] != lb[i] {
			d.FirstDiff = i + 1
			break
		}
	}
	return d
}

func lineCount(b []byte) int {
	n := bytes.Count(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}
