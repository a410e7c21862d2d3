package traces

import (
	"cmp"
	"fmt"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math"
	"slices"
)

// Dist is the teacher's distribution for one target position: ids with
// their logprobs, most likely first, and the logprob of the rest of the
// vocabulary. The zero Dist (no ids, Other = log 1) is what untrained
// positions carry: all mass on "other", which no loss ever reads.
type Dist struct {
	IDs      []int32
	Logprobs []float32
	Other    float32
}

// oneHot is the teacher distribution inside a multi-token teacher token:
// the next student id is certain.
func oneHot(id int32) Dist {
	return Dist{IDs: []int32{id}, Logprobs: []float32{0}, Other: float32(math.Inf(-1))}
}

// Sequence is one prompt's training sequence: position t reads Inputs[t]
// and is trained (LossMask) to predict Targets[t] with CE and Teacher[t]
// with KD.
type Sequence struct {
	PromptIdx int64
	Inputs    []int32
	Targets   []int32 // -1 where there is no next token (the last position of an uncut sequence)
	LossMask  []bool  // false on prompt positions and where Targets is -1
	Struct    []bool  // the target belongs to a structural teacher token
	Teacher   []Dist
}

// Sequences builds the student's training sequences from traces rows (spec
// "Training sequences"), one per prompt, in the order prompts first appear:
//   - the input is the student encoding (specials recognized) of
//     tokenizer.Template(prompt) followed by the concatenated student_ids of the
//     prompt's rows in step order (the end row of a completion the teacher
//     stopped contributes EOS);
//   - the position before the first student token of a teacher token is
//     trained on that token's projected top-K + other (KD) and its first
//     student id (CE); inside a multi-token teacher token a position is
//     trained on the next student id with a one-hot teacher;
//   - Struct marks every position whose target belongs to a structural
//     teacher token (all its student tokens, since the format loss is about
//     producing that token);
//   - positions whose target is a prompt token are not trained (they keep
//     that target with LossMask false); the last prompt position predicts
//     the first teacher token and is trained;
//   - a gap in step_idx (or a first step other than 0) ends the sequence
//     there: later rows lack their context and are left out;
//   - rows whose text encodes to nothing add no position;
//   - a sequence longer than blockSize is cut to its first blockSize
//     positions (the last kept position keeps its target, the first token
//     cut off); sequences with no trained position are left out.
//
// Rows of another prompt template, with mismatched top-K lists, duplicate
// steps or ids outside int32 are errors.
func Sequences(rows []Row, tok Tokenizer, blockSize int) ([]Sequence, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("block size must be at least 1, got %d", blockSize)
	}
	tpl := TemplateHash()
	groups := map[int64][]Row{}
	var order []int64
	for _, r := range rows {
		if r.TemplateHash != tpl {
			return nil, fmt.Errorf("prompt %d step %d: traces use template %.12s, not this build's %.12s", r.PromptIdx, r.StepIdx, r.TemplateHash, tpl)
		}
		if _, ok := groups[r.PromptIdx]; !ok {
			order = append(order, r.PromptIdx)
		}
		groups[r.PromptIdx] = append(groups[r.PromptIdx], r)
	}
	var out []Sequence
	for _, p := range order {
		s, err := sequence(groups[p], tok, blockSize)
		if err != nil {
			return nil, fmt.Errorf("prompt %d: %w", p, err)
		}
		if slices.Contains(s.LossMask, true) {
			out = append(out, s)
		}
	}
	return out, nil
}

// sequence builds one prompt's sequence from its rows.
func sequence(rows []Row, tok Tokenizer, blockSize int) (Sequence, error) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return cmp.Compare(a.StepIdx, b.StepIdx) })
	s := Sequence{PromptIdx: rows[0].PromptIdx}
	// add appends token id; the position before it (if any) gets it as
	// target.
	add := func(id int32, train, structural bool, d Dist) {
		if n := len(s.Inputs); n > 0 {
			s.Targets = append(s.Targets, id)
			s.LossMask = append(s.LossMask, train)
			s.Struct = append(s.Struct, structural)
			s.Teacher = append(s.Teacher, d)
		}
		s.Inputs = append(s.Inputs, id)
	}
	for _, id := range tok.Encode(tokenizer.Template(rows[0].PromptText)) {
		add(id, false, false, Dist{})
	}
	for want, r := range rows {
		if r.PromptText != rows[0].PromptText {
			return s, fmt.Errorf("step %d: prompt text differs from step %d's", r.StepIdx, rows[0].StepIdx)
		}
		if r.StepIdx < int64(want) {
			return s, fmt.Errorf("step %d appears twice", r.StepIdx)
		}
		if r.StepIdx > int64(want) {
			break // a gap: the rest lacks its context
		}
		d, err := rowDist(r)
		if err != nil {
			return s, fmt.Errorf("step %d: %w", r.StepIdx, err)
		}
		for j, id64 := range r.StudentIDs {
			id, err := toID(id64)
			if err != nil {
				return s, fmt.Errorf("step %d student ids: %w", r.StepIdx, err)
			}
			if j == 0 {
				add(id, true, r.IsStructToken, d)
			} else {
				add(id, true, r.IsStructToken, oneHot(id))
			}
		}
	}
	// The last input has no next token.
	s.Targets = append(s.Targets, -1)
	s.LossMask = append(s.LossMask, false)
	s.Struct = append(s.Struct, false)
	s.Teacher = append(s.Teacher, Dist{})
	if len(s.Inputs) > blockSize {
		s.Inputs, s.Targets, s.LossMask = s.Inputs[:blockSize], s.Targets[:blockSize], s.LossMask[:blockSize]
		s.Struct, s.Teacher = s.Struct[:blockSize], s.Teacher[:blockSize]
	}
	return s, nil
}

// rowDist is a row's projected distribution as a Dist.
func rowDist(r Row) (Dist, error) {
	if len(r.TopKIDs) != len(r.TopKLogprobs) {
		return Dist{}, fmt.Errorf("%d top-K ids but %d logprobs", len(r.TopKIDs), len(r.TopKLogprobs))
	}
	d := Dist{IDs: make([]int32, len(r.TopKIDs)), Logprobs: make([]float32, len(r.TopKIDs)), Other: float32(r.OtherLogprob)}
	for i, id := range r.TopKIDs {
		v, err := toID(id)
		if err != nil {
			return Dist{}, fmt.Errorf("top-K ids: %w", err)
		}
		d.IDs[i], d.Logprobs[i] = v, float32(r.TopKLogprobs[i])
	}
	return d, nil
}

func toID(id int64) (int32, error) {
	if id < 0 || id > math.MaxInt32 {
		return 0, fmt.Errorf("id %d is not a token id", id)
	}
	return int32(id), nil
}
