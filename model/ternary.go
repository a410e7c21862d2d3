package model

import (
	"strconv"
	"strings"
)

// The ternary quantizers of spec §2, one weight at a time. prepare (the
// training forward), the packed inference model and TernaryCodes all call
// these, so a tool that inspects a checkpoint's ternary values sees exactly
// the values the model computes with.

// bitlinearDelta returns the bitlinear threshold Delta = 0.7 mean|W|.
func bitlinearDelta(w []float32) float32 { return 0.7 * meanAbs(w) }

// bitlinearCode returns Q = sign(w) [|w| > delta].
func bitlinearCode(w, delta float32) float32 {
	switch {
	case w > delta:
		return 1
	case w < -delta:
		return -1
	}
	return 0
}

// code1p58 returns clamp(round(w/(gamma+1e-5)), -1, 1), gamma = mean|W|.
func code1p58(w, gamma float32) float32 {
	return min(max(roundEven(w/(gamma+1e-5)), -1), 1)
}

// TernaryCodes returns the ternary value (-1, 0 or 1) of every latent weight
// w of a projection of the given variant, as the model quantizes it; nil
// for variants that are not ternary (linear, adaptive_bit_linear).
func TernaryCodes(variant string, w []float32) []int8 {
	out := make([]int8, len(w))
	switch variant {
	case VariantBitLinear:
		delta := bitlinearDelta(w)
		for i, v := range w {
			out[i] = int8(bitlinearCode(v, delta))
		}
	case Variant1p58:
		gamma := meanAbs(w)
		for i, v := range w {
			out[i] = int8(code1p58(v, gamma))
		}
	default:
		return nil
	}
	return out
}

// ProjectionVariant returns the linear variant of the projection whose
// weight tensor is called name in a checkpoint of this config
// (blocks.{i}.attn.q_proj.weight and the like), or "" when name is not a
// projection weight of this config.
func (c Config) ProjectionVariant(name string) string {
	rest, ok := strings.CutPrefix(name, "blocks.")
	if !ok {
		return ""
	}
	idx, rest, ok := strings.Cut(rest, ".")
	if i, err := strconv.Atoi(idx); !ok || err != nil || i < 0 || i >= c.NLayer {
		return ""
	}
	for _, s := range Sites {
		if rest == s.Name+".weight" {
			return c.SiteVariant(s.Site)
		}
	}
	return ""
}
