package diff

import (
	"bytes"
	"fmt"
	"math"
)

// Series compares one numeric key across the lines of two JSONL files
// (a training metrics log: one object per log interval).
type Series struct {
	Key    string       `json:"key"`
	Change string       `json:"change"`
	Base   *SeriesStats `json:"base,omitempty"`
	Other  *SeriesStats `json:"other,omitempty"`
	// Last and Min are the deltas of the last and smallest value; Count the
	// change in the number of lines holding the key.
	Last  *Delta `json:"last_delta,omitempty"`
	Min   *Delta `json:"min_delta,omitempty"`
	Count int    `json:"count_delta"`
}

// SeriesStats summarises one key of one file.
type SeriesStats struct {
	Count int     `json:"count"`
	Last  float64 `json:"last"`
	Min   float64 `json:"min"`
}

// Delta is a numeric change: other - base, and that over |base|.
type Delta struct {
	Abs *float64 `json:"abs,omitempty"`
	Rel *float64 `json:"rel,omitempty"`
}

// CompareJSONL compares two JSONL files per numeric key (nested keys
// flattened as in CompareJSON), returning every key with its change.
func CompareJSONL(a, b []byte) ([]Series, error) {
	sa, err := seriesStats(a)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	sb, err := seriesStats(b)
	if err != nil {
		return nil, fmt.Errorf("other: %w", err)
	}
	var out []Series
	for _, k := range unionKeys(sa, sb) {
		s := Series{Key: k, Base: sa[k], Other: sb[k]}
		switch {
		case s.Base == nil:
			s.Change = Added
		case s.Other == nil:
			s.Change = Removed
		case *s.Base == *s.Other:
			s.Change = Same
		default:
			s.Change = Changed
		}
		if s.Base != nil && s.Other != nil {
			s.Last = delta(s.Base.Last, s.Other.Last)
			s.Min = delta(s.Base.Min, s.Other.Min)
			s.Count = s.Other.Count - s.Base.Count
		}
		out = append(out, s)
	}
	return out, nil
}

func delta(a, b float64) *Delta {
	abs, rel := deltas(a, b)
	return &Delta{Abs: abs, Rel: rel}
}

func seriesStats(b []byte) (map[string]*SeriesStats, error) {
	out := map[string]*SeriesStats{}
	n := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		fields, err := numericFields(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		for k, v := range fields {
			s := out[k]
			if s == nil {
				s = &SeriesStats{Min: math.Inf(1)}
				out[k] = s
			}
			s.Count++
			s.Last = v
			s.Min = min(s.Min, v)
		}
	}
	return out, nil
}
