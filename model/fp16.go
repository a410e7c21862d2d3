package model

import (
	"math"
	"sync"
)

// IEEE 754 binary16 ("fp16") conversions for the fp16 tables. Go has no
// half type; values are kept as their uint16 bit patterns.

// f32ToF16 returns the fp16 nearest to x, ties to even: values beyond the
// largest finite fp16 (65504) round to infinity, tiny ones to subnormals or
// zero (keeping the sign), NaN stays NaN.
func f32ToF16(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 127+15: // beyond fp16's exponent range
		return sign | 0x7c00
	case exp >= 127-14: // normal fp16: 10 of 23 mantissa bits, rounded
		h := uint32(exp-127+15)<<10 | mant>>13
		h += roundBit(mant, 13)
		// A carry out of the mantissa bumps the exponent, which is exactly
		// the next binade (and 0x7c00, infinity, past the largest finite).
		return sign | uint16(h)
	case exp >= 127-25: // subnormal fp16: value = m * 2^-24
		m := mant | 0x800000     // the implicit bit
		shift := uint(126 - exp) // h = m * 2^(exp-126)
		h := m >> shift
		h += roundBit(m, shift)
		return sign | uint16(h)
	}
	return sign // underflows to zero
}

// roundBit returns 1 when dropping the low shift bits of m must round the
// kept part up: above half, or exactly half with an odd kept part.
func roundBit(m uint32, shift uint) uint32 {
	half := uint32(1) << (shift - 1)
	rest := m & (half<<1 - 1)
	if rest > half || (rest == half && (m>>shift)&1 == 1) {
		return 1
	}
	return 0
}

// f16Decode maps every fp16 bit pattern to its float32 value (exact).
var f16Decode = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range 1 << 16 {
		t[h] = f16ToF32Slow(uint16(h))
	}
	return &t
})

// f16ToF32 returns the float32 value of the fp16 h.
func f16ToF32(h uint16) float32 { return f16Decode()[h] }

// f16ToF32Slow decodes h bit by bit.
func f16ToF32Slow(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
	}
	v := float32(mant) * (1.0 / (1 << 24)) // subnormal: m * 2^-24
	if sign != 0 {
		v = -v
	}
	return v
}
