package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/bitflow-dev/bitflow/steps"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// Units of plain text.
const (
	unitParagraph = "paragraph"
	unitLine      = "line"
	unitFile      = "file"
)

// readFiles reads the records of the step's files, in the order of their
// paths (the runner sorts them) and, within a file, in file order. A
// .jsonl file holds records with prompt and answer; any other file is
// UTF-8 plain text, cut into records by unit, each with an empty prompt
// (language modelling: everything is answer).
func readFiles(ctx context.Context, files []steps.File, unit string) ([]records.Record, error) {
	if len(files) == 0 {
		return nil, errors.New("task files: the step has no files; list text or JSONL files under files:")
	}
	var out []records.Record
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Rel, err)
		}
		var recs []records.Record
		if strings.HasSuffix(strings.ToLower(f.Rel), ".jsonl") {
			recs, err = records.Decode(bytes.NewReader(data), f.Rel)
		} else {
			recs, err = textRecords(data, f.Rel, unit)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	if len(out) == 0 {
		return nil, errors.New("task files: the files hold no records")
	}
	return out, nil
}

// textRecords cuts plain text into records. Line ends are normalized to
// "\n" and trailing spaces of lines dropped; blank lines only separate.
func textRecords(data []byte, name, unit string) ([]records.Record, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("%s:%d: not UTF-8 text", name, i+1)
		}
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	var out []records.Record
	add := func(s string) {
		if s != "" {
			out = append(out, records.Record{Prompt: "", Answer: s})
		}
	}
	switch unit {
	case unitLine:
		for _, l := range lines {
			add(l)
		}
	case unitFile:
		add(strings.Trim(strings.Join(lines, "\n"), "\n"))
	default:
		var para []string
		for _, l := range append(lines, "") {
			if l == "" {
				add(strings.Join(para, "\n"))
				para = para[:0]
				continue
			}
			para = append(para, l)
		}
	}
	return out, nil
}
