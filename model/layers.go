package model

import "math"

// rmsEps is added outside the root, as in the seed: y = x / (sqrt(mean(x^2)) + eps) * g.
const rmsEps = 1e-6

// encoderForward performs out (N,C) = wte[ids] (V,C), one row per token.
func encoderForward(out, wte []float32, ids []int32, N, C int) {
	for i := range N {
		id := int(ids[i])
		copy(out[i*C:(i+1)*C], wte[id*C:(id+1)*C])
	}
}

// encoderBackward performs dwte[ids[i]] += dout[i] for every token i, in
// token order. It stays serial: rows of dwte are shared between tokens, and a
// fixed order keeps the sums reproducible.
func encoderBackward(dwte, dout []float32, ids []int32, N, C int) {
	for i := range N {
		id := int(ids[i])
		d := dwte[id*C : (id+1)*C]
		for j, v := range dout[i*C : (i+1)*C] {
			d[j] += v
		}
	}
}

// rmsnormForward performs out (N,C) = x / (r + eps) * g per row of inp (N,C),
// with r = sqrt(mean(x^2)) stored in rms (N).
func rmsnormForward(out, rms, inp, g []float32, N, C int) {
	parallelFor(N, grainFor(N, 3*C), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rms[i] = rmsnormRow(out[i*C:(i+1)*C], inp[i*C:(i+1)*C], g)
		}
	})
}

// rmsnormRow normalizes one row as rmsnormForward and returns r.
func rmsnormRow(out, x, g []float32) float32 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	r := float32(math.Sqrt(ss / float64(len(x))))
	inv := 1 / (r + rmsEps)
	for j, v := range x {
		out[j] = v * inv * g[j]
	}
	return r
}

// rmsnormBackward accumulates dinp (N,C) and dg (C) for y = x / (r + eps) * g:
// with d = r + eps and dn = dout*g,
// dx_j += dn_j/d - (sum_i dn_i x_i) x_j / (d^2 C r), dg_j += sum_rows dout_j x_j / d.
func rmsnormBackward(dinp, dg, dout, inp, g, rms []float32, N, C int) {
	parallelFor(N, grainFor(N, 4*C), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x, dy, dx := inp[i*C:(i+1)*C], dout[i*C:(i+1)*C], dinp[i*C:(i+1)*C]
			r := float64(rms[i])
			d := r + rmsEps
			var dot float64
			for j, v := range x {
				dot += float64(dy[j]) * float64(g[j]) * float64(v)
			}
			var k float64
			if r > 0 {
				k = dot / (d * d * float64(C) * r)
			}
			for j, v := range x {
				dx[j] += float32(float64(dy[j])*float64(g[j])/d - k*float64(v))
			}
		}
	})
	// dg is a reduction over rows: split by column so each dg_j has one
	// writer and sums its rows in order.
	parallelFor(C, grainFor(C, 2*N), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var s float64
			for i := range N {
				s += float64(dout[i*C+j]) * float64(inp[i*C+j]) / (float64(rms[i]) + rmsEps)
			}
			dg[j] += float32(s)
		}
	})
}

// swigluForward performs h = SiLU(g) * u elementwise over n values.
func swigluForward(h, g, u []float32, n int) {
	parallelFor(n, 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			h[i] = silu(g[i]) * u[i]
		}
	})
}

// swigluBackward accumulates dg += dh * u * SiLU'(g) and du += dh * SiLU(g),
// with SiLU'(g) = sigma(g) (1 + g (1 - sigma(g))).
func swigluBackward(dg, du, dh, g, u []float32, n int) {
	parallelFor(n, 1<<13, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sg := sigmoid(g[i])
			dg[i] += dh[i] * u[i] * sg * (1 + g[i]*(1-sg))
			du[i] += dh[i] * g[i] * sg
		}
	})
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
func silu(x float32) float32    { return x * sigmoid(x) }

// ropeTables returns cos and sin (T, HD/2) for positions 0..T-1 with theta
// 10000: angle(p, i) = p * 10000^(-2i/HD).
func ropeTables(T, HD int) (cos, sin []float32) {
	half := HD / 2
	cos, sin = make([]float32, T*half), make([]float32, T*half)
	for p := range T {
		for i := range half {
			a := float64(p) * math.Pow(10000, -2*float64(i)/float64(HD))
			cos[p*half+i], sin[p*half+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	return cos, sin
}

// ropeForward rotates x (N,NH,HD) in place, the row of token n at position
// pos[n] = pos0 + n%T, pairing dims i and i+HD/2 as Hugging Face's rotate_half:
// (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin).
func ropeForward(x, cos, sin []float32, N, T, pos0, NH, HD int) {
	ropeApply(x, cos, sin, N, T, pos0, NH, HD, 1)
}

// ropeBackward performs dx = R^T dy in place on d (N,NH,HD): the rotation is
// orthogonal, so its backward rotates by the negated angle.
func ropeBackward(d, cos, sin []float32, N, T, pos0, NH, HD int) {
	ropeApply(d, cos, sin, N, T, pos0, NH, HD, -1)
}

func ropeApply(x, cos, sin []float32, N, T, pos0, NH, HD int, sign float32) {
	half := HD / 2
	parallelFor(N, grainFor(N, 3*NH*HD), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			p := pos0 + n%T
			c, s := cos[p*half:(p+1)*half], sin[p*half:(p+1)*half]
			for h := range NH {
				v := x[(n*NH+h)*HD : (n*NH+h+1)*HD]
				for i := range half {
					x1, x2 := v[i], v[i+half]
					si := sign * s[i]
					v[i] = x1*c[i] - x2*si
					v[i+half] = x2*c[i] + x1*si
				}
			}
		}
	})
}
