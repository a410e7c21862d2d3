package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16RoundTrip decodes every fp16 bit pattern and encodes it back.
func TestF16RoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		x := f16ToF32(uint16(h))
		got := f32ToF16(x)
		if math.IsNaN(float64(x)) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x encodes to %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("%#04x decodes to %g, which encodes to %#04x", h, x, got)
		}
	}
}

// TestF16Rounding checks the encoder on fixed cases: ties to even in the
// normal and the subnormal range, overflow, underflow, specials.
func TestF16Rounding(t *testing.T) {
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	for _, c := range []struct {
		x    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff},
		{65519, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {-1e9, 0xfc00},
		{1 + p(-11), 0x3c00},   // tie, even stays
		{1 + 3*p(-11), 0x3c02}, // tie, odd rounds up
		{1 + p(-11) + p(-20), 0x3c01},
		{p(-14), 0x0400},          // smallest normal
		{p(-24), 0x0001},          // smallest subnormal
		{p(-25), 0x0000},          // tie to even: zero
		{1.5 * p(-25), 0x0001},    // above the tie
		{3 * p(-25), 0x0002},      // tie between 1 and 2 subnormal steps: even
		{p(-14) - p(-25), 0x0400}, // rounds up into the normal range
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.Inf(1)), 0x7c00},
	} {
		if got := f32ToF16(c.x); got != c.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", c.x, got, c.want)
		}
	}
	if h := f32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN encodes to %#04x", h)
	}
}

// TestF16Nearest checks on random values that the encoding is the nearest
// fp16 (ties to the even pattern).
func TestF16Nearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		x := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-28)))
		if math.Abs(float64(x)) > 65504 {
			continue
		}
		h := f32ToF16(x)
		d := math.Abs(float64(f16ToF32(h)) - float64(x))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7fff >= 0x7c00 || (h&0x7fff == 0 && nb&0x8000 != h&0x8000) {
				continue
			}
			dn := math.Abs(float64(f16ToF32(nb)) - float64(x))
			if dn < d || (dn == d && h&1 == 1) {
				t.Fatalf("f32ToF16(%g) = %#04x (%g), but %#04x (%g) is nearer or the even tie", x, h, f16ToF32(h), nb, f16ToF32(nb))
			}
		}
	}
}
