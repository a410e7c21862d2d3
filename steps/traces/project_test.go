package traces

import (
	"math"
	"slices"
	"testing"

	"github.com/bitflow-dev/bitflow/steps/teacher"
)

func alts(kv ...any) []teacher.Alternative {
	var out []teacher.Alternative
	for i := 0; i < len(kv); i += 2 {
		out = append(out, teacher.Alternative{Text: kv[i].(string), Logprob: kv[i+1].(float64)})
	}
	return out
}

func ln(x float64) float64 { return math.Log(x) }

func TestProject(t *testing.T) {
	inf := math.Inf(-1)
	tests := []struct {
		name    string
		alts    []teacher.Alternative
		k       int
		ids     []int64
		lps     []float64
		other   float64
		tol     float64 // absolute tolerance on logprobs and other
		flagged bool
		dropped int
	}{
		{name: "collisions merge by log-sum-exp",
			alts: alts("name", ln(.3), "x", ln(.1), "na", ln(.2), "n", ln(.05)), k: 20,
			ids: []int64{int64(b('n')), int64(b('x'))}, lps: []float64{ln(.55), ln(.1)}, other: ln(.35), tol: 1e-14},
		{name: "empty encodings are dropped with their mass",
			alts: alts("", ln(.5), "a", ln(.25)), k: 20,
			ids: []int64{int64(b('a'))}, lps: []float64{ln(.25)}, other: ln(.75), tol: 1e-14, dropped: 1},
		{name: "sorted by logprob, ties by id",
			alts: alts("c", ln(.2), "a", ln(.2), "b", ln(.3)), k: 20,
			ids: []int64{int64(b('b')), int64(b('a')), int64(b('c'))}, lps: []float64{ln(.3), ln(.2), ln(.2)}, other: ln(.3), tol: 1e-14},
		{name: "cut to k after merging; the cut mass joins other",
			alts: alts("a", ln(.1), "b", ln(.4), "bb", ln(.1), "c", ln(.3)), k: 2,
			ids: []int64{int64(b('b')), int64(b('c'))}, lps: []float64{ln(.5), ln(.3)}, other: ln(.2), tol: 1e-14},
		{name: "S above 1 through rounding is clamped and flagged",
			alts: alts("a", ln(.6), "b", ln(.4)+1e-12), k: 20,
			ids: []int64{int64(b('a')), int64(b('b'))}, lps: []float64{ln(.6), ln(.4) + 1e-12}, other: OtherFloor, flagged: true},
		{name: "S exactly 1 is clamped and flagged",
			alts: alts("a", 0.0), k: 20,
			ids: []int64{int64(b('a'))}, lps: []float64{0}, other: OtherFloor, flagged: true},
		{name: "S just below 1 keeps full precision",
			// 1 - exp(-1e-10) = 1e-10 - 5e-21 + ...; the naive log(1 - exp(l))
			// is off by 8e-8 here.
			alts: alts("a", -1e-10), k: 20,
			ids: []int64{int64(b('a'))}, lps: []float64{-1e-10}, other: math.Log(1e-10) - 5e-11, tol: 1e-13},
		{name: "tiny S keeps full precision",
			// log(1 - e^-50) = -e^-50 - e^-100/2; the naive form gives 0.
			alts: alts("a", -50.0), k: 20,
			ids: []int64{int64(b('a'))}, lps: []float64{-50}, other: -math.Exp(-50), tol: 1e-36},
		{name: "an alternative spelling a special token is that special",
			alts: alts("<|endoftext|>", ln(.35), "<", ln(.2), "<|user", ln(.1)), k: 20,
			ids: []int64{0, int64(b('<'))}, lps: []float64{ln(.35), ln(.3)}, other: ln(.35), tol: 1e-14},
		{name: "no alternatives: all mass is other",
			alts: nil, k: 20, ids: []int64{}, lps: []float64{}, other: 0},
		{name: "only empty encodings",
			alts: alts("", ln(.9)), k: 20, ids: []int64{}, lps: []float64{}, other: 0, dropped: 1},
		{name: "a zero-probability alternative stays, with no mass",
			alts: alts("a", inf, "b", ln(.5)), k: 20,
			ids: []int64{int64(b('b')), int64(b('a'))}, lps: []float64{ln(.5), inf}, other: ln(.5), tol: 1e-14},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Project(tc.alts, byteTok{}, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.IDs, tc.ids) {
				t.Errorf("ids %v, want %v", p.IDs, tc.ids)
			}
			if len(p.Logprobs) != len(tc.lps) {
				t.Fatalf("logprobs %v, want %v", p.Logprobs, tc.lps)
			}
			for i := range tc.lps {
				if !near(p.Logprobs[i], tc.lps[i], tc.tol) {
					t.Errorf("logprob %d = %.17g, want %.17g", i, p.Logprobs[i], tc.lps[i])
				}
			}
			if !near(p.Other, tc.other, tc.tol) {
				t.Errorf("other = %.17g, want %.17g", p.Other, tc.other)
			}
			if p.Flagged != tc.flagged || p.Dropped != tc.dropped {
				t.Errorf("flagged %v dropped %d, want %v %d", p.Flagged, p.Dropped, tc.flagged, tc.dropped)
			}
		})
	}
}

func near(got, want, tol float64) bool {
	if math.IsInf(want, 0) || tol == 0 {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

func TestProjectRejectsNonProbabilities(t *testing.T) {
	for _, lp := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := Project(alts("a", lp), byteTok{}, 20); err == nil {
			t.Errorf("logprob %v accepted", lp)
		}
	}
}

func TestLog1mexpMatchesDirectFormWhereItIsAccurate(t *testing.T) {
	for _, x := range []float64{-0.01, -0.5, -math.Ln2, -0.7, -1, -3, -10} {
		want := math.Log(1 - math.Exp(x))
		if got := log1mexp(x); math.Abs(got-want) > 1e-12*math.Abs(want) {
			t.Errorf("log1mexp(%g) = %.17g, want %.17g", x, got, want)
		}
	}
}
