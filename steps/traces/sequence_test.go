package traces

import (
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The prompt "hi" templated and encoded by byteTok:
// <|user|> \n h i \n \n <|assistant|> \n
var hiIDs = []int32{2, 14, 108, 109, 14, 14, 3, 14}

var negInf32 = float32(math.Inf(-1))

// row builds a hand-made traces row of prompt "hi" (or text p).
func row(prompt int64, step int64, text string, ids []int64, lps []float64, other float64) Row {
	return Row{
		PromptIdx: prompt, StepIdx: step, TeacherSampleText: text, TopKIDs: ids, TopKLogprobs: lps, OtherLogprob: other,
		IsStructToken: strings.ContainsAny(text, "{}[]:,\""), TemplateHash: TemplateHash(), TokenizerHash: "t",
		StudentIDs: widen(byteTok{}.EncodeOrdinary(text)), PromptText: "hi",
	}
}

// endRow is the row of a completion the teacher stopped.
func endRow(prompt, step int64) Row {
	r := row(prompt, step, "", []int64{0}, []float64{0}, math.Inf(-1))
	r.TeacherSampleText, r.StudentIDs = tokenizer.EOS, []int64{0}
	return r
}

// promptPart is the untrained part of a sequence of prompt "hi": positions
// 0..6 predict the prompt's next token.
func promptPart() Sequence {
	return Sequence{
		Inputs:   append([]int32{}, hiIDs...),
		Targets:  append([]int32{}, hiIDs[1:]...),
		LossMask: make([]bool, 7),
		Struct:   make([]bool, 7),
		Teacher:  make([]Dist, 7),
	}
}

// then appends the next input id, which is also the target of the
// position before it.
func (s Sequence) then(id int32, train, structural bool, d Dist) Sequence {
	s.Inputs = append(s.Inputs, id)
	s.Targets = append(s.Targets, id)
	s.LossMask = append(s.LossMask, train)
	s.Struct = append(s.Struct, structural)
	s.Teacher = append(s.Teacher, d)
	return s
}

// last closes a sequence: its last position has no target.
func (s Sequence) last() Sequence {
	s.Targets = append(s.Targets, -1)
	s.LossMask = append(s.LossMask, false)
	s.Struct = append(s.Struct, false)
	s.Teacher = append(s.Teacher, Dist{})
	return s
}

func dist(ids []int32, lps []float32, other float32) Dist {
	return Dist{IDs: ids, Logprobs: lps, Other: other}
}

// singleTokenRows: "{" (structural), "a", then the end row.
func singleTokenRows(prompt int64) []Row {
	return []Row{
		row(prompt, 0, "{", []int64{int64(b('{')), int64(b('['))}, []float64{-0.1, -2.5}, -3),
		row(prompt, 1, "a", []int64{int64(b('a'))}, []float64{-0.5}, -0.9327521295671886),
		endRow(prompt, 2),
	}
}

func TestSequences(t *testing.T) {
	dBrace := dist([]int32{b('{'), b('[')}, []float32{-0.1, -2.5}, -3)
	dA := dist([]int32{b('a')}, []float32{-0.5}, -0.9327521295671886)
	dEOS := dist([]int32{0}, []float32{0}, negInf32)
	single := promptPart().
		then(b('{'), true, true, dBrace). // the last prompt position predicts "{"
		then(b('a'), true, false, dA).
		then(0, true, false, dEOS).
		last()

	tests := []struct {
		name  string
		rows  []Row
		block int
		want  []Sequence
	}{
		{name: "single-token teacher tokens and the end row", rows: singleTokenRows(0), block: 64, want: []Sequence{single}},
		{name: "rows in any order", rows: reversed(singleTokenRows(0)), block: 64, want: []Sequence{single}},
		{name: "multi-token teacher tokens get one-hot targets inside",
			rows: []Row{
				row(0, 0, "é", []int64{199, int64(b('e'))}, []float64{-0.2, -1.8}, -4),
				row(0, 1, "", []int64{int64(b('x'))}, []float64{-0.7}, -0.7), // encodes to nothing: no position
				row(0, 2, "\":", []int64{int64(b('"'))}, []float64{-0.05}, -3.0),
			},
			block: 64,
			want: []Sequence{promptPart().
				then(199, true, false, dist([]int32{199, b('e')}, []float32{-0.2, -1.8}, -4)).
				then(173, true, false, oneHot(173)).
				then(b('"'), true, true, dist([]int32{b('"')}, []float32{-0.05}, -3)).
				then(b(':'), true, true, oneHot(b(':'))).
				last()}},
		{name: "a step_idx gap ends the sequence; a prompt starting with a gap is left out",
			rows: []Row{
				row(0, 0, "{", []int64{int64(b('{')), int64(b('['))}, []float64{-0.1, -2.5}, -3),
				row(0, 1, "a", []int64{int64(b('a'))}, []float64{-0.5}, -0.9327521295671886),
				row(0, 3, "z", []int64{int64(b('z'))}, []float64{-0.1}, -2.3),
				row(1, 1, "q", []int64{int64(b('q'))}, []float64{-0.1}, -2.3),
			},
			block: 64,
			want: []Sequence{promptPart().
				then(b('{'), true, true, dBrace).
				then(b('a'), true, false, dA).
				last()}},
		{name: "cut at block_size: the last kept position keeps its target",
			rows: singleTokenRows(0), block: 9,
			want: []Sequence{promptPart().
				then(b('{'), true, true, dBrace).
				// Position 8 predicts "a", which was cut from the inputs.
				withTarget(b('a'), true, false, dA)}},
		{name: "a sequence cut inside its prompt has nothing to train", rows: singleTokenRows(0), block: 5, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sequences(tc.rows, byteTok{}, tc.block)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d sequences, want %d", len(got), len(tc.want))
			}
			for i := range got {
				checkSequence(t, got[i], tc.want[i])
			}
		})
	}
}

// withTarget closes a cut sequence: its last position predicts a token
// that is not among the inputs.
func (s Sequence) withTarget(target int32, train, structural bool, d Dist) Sequence {
	s.Targets = append(s.Targets, target)
	s.LossMask = append(s.LossMask, train)
	s.Struct = append(s.Struct, structural)
	s.Teacher = append(s.Teacher, d)
	return s
}

func reversed(rows []Row) []Row {
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = r
	}
	return out
}

func checkSequence(t *testing.T, got, want Sequence) {
	t.Helper()
	n := len(want.Inputs)
	if len(got.Inputs) != n || len(got.Targets) != n || len(got.LossMask) != n || len(got.Struct) != n || len(got.Teacher) != n {
		t.Fatalf("lengths %d %d %d %d %d, want %d", len(got.Inputs), len(got.Targets), len(got.LossMask), len(got.Struct), len(got.Teacher), n)
	}
	for p := range n {
		if got.Inputs[p] != want.Inputs[p] || got.Targets[p] != want.Targets[p] || got.LossMask[p] != want.LossMask[p] || got.Struct[p] != want.Struct[p] {
			t.Errorf("position %d: input %d target %d mask %v struct %v, want %d %d %v %v", p,
				got.Inputs[p], got.Targets[p], got.LossMask[p], got.Struct[p], want.Inputs[p], want.Targets[p], want.LossMask[p], want.Struct[p])
		}
		if !sameDist(got.Teacher[p], want.Teacher[p]) {
			t.Errorf("position %d: teacher %+v, want %+v", p, got.Teacher[p], want.Teacher[p])
		}
	}
}

func sameDist(a, b Dist) bool {
	if len(a.IDs) == 0 && len(b.IDs) == 0 {
		return len(a.Logprobs) == 0 && len(b.Logprobs) == 0 && a.Other == b.Other
	}
	return reflect.DeepEqual(a, b)
}

func TestSequencesErrors(t *testing.T) {
	bad := singleTokenRows(0)
	bad[1].TemplateHash = "other"
	dup := append(singleTokenRows(0), row(0, 1, "b", nil, nil, 0))
	mismatch := singleTokenRows(0)
	mismatch[0].TopKLogprobs = mismatch[0].TopKLogprobs[:1]
	negative := singleTokenRows(0)
	negative[1].StudentIDs = []int64{-1}
	for name, rows := range map[string][]Row{"template": bad, "duplicate step": dup, "top-K lengths": mismatch, "negative id": negative} {
		if _, err := Sequences(rows, byteTok{}, 64); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Sequences(singleTokenRows(0), byteTok{}, 0); err == nil {
		t.Error("block size 0 accepted")
	}
}
