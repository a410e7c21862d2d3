// Package records reads and writes the prompt/answer JSONL files that flow
// between steps (corpus splits, samples): one {"prompt": ..., "answer": ...}
// object per line.
package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Record is one prompt with its reference answer.
type Record struct {
	Prompt string `json:"prompt"`
	Answer string `json:"answer"`
}

// maxLine bounds one JSONL line (a record), so a corrupt file cannot make a
// reader allocate without limit.
const maxLine = 64 << 20

// Read reads a JSONL file of records. Blank lines are skipped; a line that
// is not a record is an error naming the file and line.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, path)
}

// Decode reads records from r; name labels errors.
func Decode(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Record
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec struct {
			Prompt *string `json:"prompt"`
			Answer *string `json:"answer"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: not a JSON record: %w", name, line, err)
		}
		if rec.Prompt == nil || rec.Answer == nil {
			return nil, fmt.Errorf("%s:%d: a record needs string fields \"prompt\" and \"answer\"", name, line)
		}
		out = append(out, Record{Prompt: *rec.Prompt, Answer: *rec.Answer})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Encode writes records as JSONL, one per line, in a fixed byte form
// (no HTML escaping), so equal records give equal bytes.
func Encode(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}
