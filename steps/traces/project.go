package traces

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bitflow-dev/bitflow/steps/teacher"
)

// OtherFloor is the "other" logprob of a projected row whose kept mass
// reached 1 through rounding: log(1e-8), the seed's clamp.
var OtherFloor = math.Log(1e-8)

// Encoder is the part of a tokenizer the projection needs.
type Encoder interface {
	// EncodeOrdinary encodes text as plain text: special-token strings in it
	// are not recognized.
	EncodeOrdinary(text string) []int32
	// SpecialID returns the id of the special token spelled text, if any.
	SpecialID(text string) (int32, bool)
}

// studentIDs is the student encoding of a teacher token's text. A token
// whose text is exactly a special token's (the teacher's EOS among its
// alternatives, above all) is that special: encoding it as plain text
// would put the teacher's wish to stop on the student's "<" piece.
func studentIDs(enc Encoder, text string) []int32 {
	if id, ok := enc.SpecialID(text); ok {
		return []int32{id}
	}
	return enc.EncodeOrdinary(text)
}

// Projection is the teacher's top-K distribution at one position, projected
// onto the student vocabulary.
type Projection struct {
	// IDs are distinct student ids, most likely first; equal logprobs are
	// ordered by id, ascending, so the order never depends on the teacher's.
	IDs      []int64
	Logprobs []float64
	// Other is log(1 - sum exp(Logprobs)), the mass outside IDs.
	Other float64
	// Flagged: the kept mass reached 1 through rounding and Other was
	// clamped to OtherFloor.
	Flagged bool
	// Dropped counts alternatives whose text encodes to no student token;
	// their mass went to Other.
	Dropped int
}

// Project applies the seed's projection rule to a teacher's alternatives:
//  1. each alternative's text is encoded with enc (as plain text, unless it
//     spells a special token exactly: see studentIDs); its id is the first
//     student token, and alternatives that encode to nothing are dropped
//     (their mass stays in Other);
//  2. alternatives landing on the same id are merged by log-sum-exp
//     (probabilities add); the list is sorted by logprob, descending, and
//     cut to the k most likely (k <= 0: no cut; the cut mass joins Other);
//  3. S = sum exp(l_j); Other = log(1 - S), computed as log1mexp(LSE(l)) so
//     that it keeps full precision for S near 1 and for tiny S; if S >= 1
//     through rounding, Other = OtherFloor and the row is Flagged.
//
// A NaN or +Inf logprob is an error: it is no probability.
func Project(alts []teacher.Alternative, enc Encoder, k int) (Projection, error) {
	var p Projection
	groups := map[int64][]float64{}
	for _, a := range alts {
		if math.IsNaN(a.Logprob) || math.IsInf(a.Logprob, 1) {
			return p, fmt.Errorf("alternative %q: logprob %v", a.Text, a.Logprob)
		}
		ids := studentIDs(enc, a.Text)
		if len(ids) == 0 {
			p.Dropped++
			continue
		}
		groups[int64(ids[0])] = append(groups[int64(ids[0])], a.Logprob)
	}
	type entry struct {
		id int64
		lp float64
	}
	merged := make([]entry, 0, len(groups))
	for id, lps := range groups {
		merged = append(merged, entry{id, logSumExp(lps)})
	}
	slices.SortFunc(merged, func(a, b entry) int {
		if c := cmp.Compare(b.lp, a.lp); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	if k > 0 && len(merged) > k {
		merged = merged[:k]
	}
	p.IDs = make([]int64, len(merged))
	p.Logprobs = make([]float64, len(merged))
	for i, e := range merged {
		p.IDs[i], p.Logprobs[i] = e.id, e.lp
	}
	lse := logSumExp(p.Logprobs)
	if lse >= 0 {
		p.Other, p.Flagged = OtherFloor, true
	} else {
		p.Other = log1mexp(lse)
	}
	return p, nil
}

// logSumExp returns log(sum exp(x_i)), shifted by the maximum so that no
// term overflows; -Inf for no terms (or only -Inf terms).
func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// log1mexp returns log(1 - exp(x)) for x < 0 without cancellation
// (Maechler 2012): log(-expm1(x)) near 0, where 1 - exp(x) is tiny, and
// log1p(-exp(x)) below -ln 2, where exp(x) is tiny.
func log1mexp(x float64) float64 {
	if x > -math.Ln2 {
		return math.Log(-math.Expm1(x))
	}
	return math.Log1p(-math.Exp(x))
}
