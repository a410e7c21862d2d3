package traces

import (
	"math"
	"slices"
	"testing"

	"github.com/bitflow-dev/bitflow/model"
)

func TestBatchPadsAndAligns(t *testing.T) {
	full, err := Sequences(singleTokenRows(0), byteTok{}, 64)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := Sequences(singleTokenRows(1), byteTok{}, 9)
	if err != nil {
		t.Fatal(err)
	}
	bt := Batch([]Sequence{full[0], cut[0]}, 0, 2, byteTok{}.PadID())
	if err := bt.Check(true); err != nil {
		t.Fatal(err)
	}
	if bt.B != 2 || bt.T != 11 || bt.K != 2 {
		t.Fatalf("shape %dx%d K %d", bt.B, bt.T, bt.K)
	}
	const pad = 1
	const lb, la, lsq = 127, 101, 95 // byteTok ids of '{', 'a', '['
	F, T := false, true
	wantInputs := []int32{
		2, 14, 108, 109, 14, 14, 3, 14, lb, la, 0,
		2, 14, 108, 109, 14, 14, 3, 14, lb, pad, pad,
	}
	wantTargets := []int32{
		14, 108, 109, 14, 14, 3, 14, lb, la, 0, -1,
		14, 108, 109, 14, 14, 3, 14, lb, la, -1, -1,
	}
	wantValid := []bool{
		T, T, T, T, T, T, T, T, T, T, T,
		T, T, T, T, T, T, T, T, T, F, F,
	}
	wantMask := []bool{
		F, F, F, F, F, F, F, T, T, T, F,
		F, F, F, F, F, F, F, T, T, F, F,
	}
	wantStruct := []bool{
		F, F, F, F, F, F, F, T, F, F, F,
		F, F, F, F, F, F, F, T, F, F, F,
	}
	for name, eq := range map[string]bool{
		"inputs": slices.Equal(bt.Inputs, wantInputs), "targets": slices.Equal(bt.Targets, wantTargets),
		"valid": slices.Equal(bt.Valid, wantValid), "loss mask": slices.Equal(bt.LossMask, wantMask),
		"struct": slices.Equal(bt.Struct, wantStruct),
	} {
		if !eq {
			t.Errorf("%s differ:\ninputs %v\ntargets %v\nvalid %v\nmask %v\nstruct %v", name, bt.Inputs, bt.Targets, bt.Valid, bt.LossMask, bt.Struct)
		}
	}
	// Teacher buckets: trained positions carry their row's projection (or
	// one-hot), every other position empty slots and other = log 1.
	type slot struct {
		ids   []int32
		lps   []float32
		other float32
	}
	empty := slot{[]int32{-1, -1}, []float32{0, 0}, 0}
	brace := slot{[]int32{lb, lsq}, []float32{-0.1, -2.5}, -3}
	a := slot{[]int32{la, -1}, []float32{-0.5, 0}, -0.9327521295671886}
	eos := slot{[]int32{0, -1}, []float32{0, 0}, negInf32}
	want := []slot{
		empty, empty, empty, empty, empty, empty, empty, brace, a, eos, empty,
		empty, empty, empty, empty, empty, empty, empty, brace, a, empty, empty,
	}
	for i, w := range want {
		ids, lps := bt.TopKIDs[i*2:i*2+2], bt.TopKLogprobs[i*2:i*2+2]
		if !slices.Equal(ids, w.ids) || !slices.Equal(lps, w.lps) || bt.OtherLogprob[i] != w.other {
			t.Errorf("position %d: ids %v lps %v other %v, want %v %v %v", i, ids, lps, bt.OtherLogprob[i], w.ids, w.lps, w.other)
		}
	}

	// The batch is what the KD loss takes: valid ids, finite loss.
	V := 260
	logits := make([]float32, bt.B*bt.T*V)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	lc := model.DefaultLossConfig()
	lc.Fn = model.LossKD
	res, err := model.TaskLoss(nil, logits, bt, V, lc)
	if err != nil {
		t.Fatal(err)
	}
	if res.ValidTokens != 5 || res.FormatCount != 2 || math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		t.Errorf("loss %+v", res)
	}
}

func TestBatchFixedLength(t *testing.T) {
	seqs, err := Sequences(singleTokenRows(0), byteTok{}, 64)
	if err != nil {
		t.Fatal(err)
	}
	bt := Batch(seqs, 16, 3, 1)
	if err := bt.Check(true); err != nil {
		t.Fatal(err)
	}
	if bt.T != 16 || bt.Inputs[15] != 1 || bt.Valid[15] || bt.Targets[15] != -1 || bt.TopKIDs[15*3] != -1 {
		t.Errorf("padding to 16: %v %v %v", bt.Inputs, bt.Valid, bt.Targets)
	}
	defer func() {
		if recover() == nil {
			t.Error("a sequence longer than T did not panic")
		}
	}()
	Batch(seqs, 4, 3, 1)
}

func TestFitDistFoldsTheCutMassIntoOther(t *testing.T) {
	d := Dist{IDs: []int32{5, 6, 7}, Logprobs: []float32{float32(math.Log(.5)), float32(math.Log(.2)), float32(math.Log(.1))}, Other: float32(math.Log(.2))}
	ids, lps := []int32{-1, -1}, []float32{0, 0}
	other := fitDist(ids, lps, d)
	if !slices.Equal(ids, []int32{5, 6}) || lps[0] != d.Logprobs[0] || lps[1] != d.Logprobs[1] {
		t.Errorf("kept %v %v", ids, lps)
	}
	if math.Abs(float64(other)-math.Log(.3)) > 1e-6 {
		t.Errorf("other %v, want log .3 = %v", other, math.Log(.3))
	}
	// A one-hot (other -Inf) cut keeps a finite other.
	oh := Dist{IDs: []int32{1, 2}, Logprobs: []float32{0, -30}, Other: negInf32}
	ids = []int32{-1}
	if o := fitDist(ids, []float32{0}, oh); o != -30 || ids[0] != 1 {
		t.Errorf("one-hot cut: other %v ids %v", o, ids)
	}
}
