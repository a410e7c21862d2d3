package model

import (
	"math"
	"testing"
)

// ulpDiff is the distance in float32 units in the last place between a
// and b (both finite, of the same sign).
func ulpDiff(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// TestExp32 checks exp32 against float64 math.Exp rounded to float32 over
// its whole normal range, on a fine grid and near the ends.
func TestExp32(t *testing.T) {
	const maxULP = 3
	var worst int64
	check := func(x float32) {
		want := float32(math.Exp(float64(x)))
		got := exp32(x)
		if want == 0 || math.IsInf(float64(want), 0) || want < 0x1p-126 {
			return
		}
		if d := ulpDiff(got, want); d > worst {
			worst = d
			if d > maxULP {
				t.Fatalf("exp32(%g) = %g, want %g (%d ulp)", x, got, want, d)
			}
		}
	}
	for x := float32(-87.3); x < 88.7; x += 0.000731 {
		check(x)
	}
	for i := range 1 << 16 { // tiny arguments, both signs
		x := float32(i) * 1e-9
		check(x)
		check(-x)
	}
	t.Logf("worst error %d ulp", worst)
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g, want NaN", got)
	}
}

func BenchmarkExp32(b *testing.B) {
	var s float32
	for i := 0; b.Loop(); i++ {
		s += exp32(float32(i&1023) * -0.01)
	}
	_ = s
}

func BenchmarkExp64(b *testing.B) {
	var s float32
	for i := 0; b.Loop(); i++ {
		s += float32(math.Exp(float64(float32(i&1023) * -0.01)))
	}
	_ = s
}
