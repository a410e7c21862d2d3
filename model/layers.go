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
	runPooled(&rmsnormFwdPool, N, grainFor(N, 3*C), rmsnormFwd{out: out, rms: rms, inp: inp, g: g, C: C})
}

// rmsnormQuantForward is rmsnormForward fused with absmaxTokenForward at
// bits: each row is normalized and then quantized while it is in cache,
// into xq (N,C). out (N,C) receives the unquantized rows when not nil;
// when nil they are never stored. Same operations, same bits as the two
// passes.
func rmsnormQuantForward(out, xq, rms, inp, g []float32, N, C, bits int) {
	runPooled(&rmsnormFwdPool, N, grainFor(N, 6*C), rmsnormFwd{out: out, xq: xq, rms: rms, inp: inp, g: g, C: C, bits: bits})
}

// rmsnormFwd is the kernel of rmsnormForward and rmsnormQuantForward.
type rmsnormFwd struct {
	out, xq, rms, inp, g []float32
	C, bits              int
}

var rmsnormFwdPool freeList[rmsnormFwd]

func (k *rmsnormFwd) run(lo, hi int) {
	C := k.C
	for i := lo; i < hi; i++ {
		x := k.inp[i*C : (i+1)*C]
		if k.xq == nil {
			k.rms[i] = rmsnormRow(k.out[i*C:(i+1)*C], x, k.g)
			continue
		}
		q := k.xq[i*C : (i+1)*C]
		if k.out == nil {
			k.rms[i] = rmsnormRow(q, x, k.g)
			absmaxTokenRow(q, q, k.bits)
			continue
		}
		y := k.out[i*C : (i+1)*C]
		k.rms[i] = rmsnormRow(y, x, k.g)
		absmaxTokenRow(q, y, k.bits)
	}
}

// rmsnormRow normalizes one row as rmsnormForward and returns r.
func rmsnormRow(out, x, g []float32) float32 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	r := float32(math.Sqrt(ss / float64(len(x))))
	inv := 1 / (r + rmsEps)
	g = g[:len(x)]
	out = out[:len(x)]
	for j, v := range x {
		out[j] = v * inv * g[j]
	}
	return r
}

// rmsnormBackward accumulates dinp (N,C) and dg (C) for y = x / (r + eps) * g:
// with d = r + eps and dn = dout*g,
// dx_j += dn_j/d - (sum_i dn_i x_i) x_j / (d^2 C r), dg_j += sum_rows dout_j x_j / d.
func rmsnormBackward(dinp, dg, dout, inp, g, rms []float32, N, C int) {
	k := rmsnormBwd{dinp: dinp, dg: dg, dout: dout, inp: inp, g: g, rms: rms, N: N, C: C}
	runPooled(&rmsnormBwdPool, N, grainFor(N, 4*C), k)
	// dg is a reduction over rows: split by column so each dg_j has one
	// writer and sums its rows in order.
	k.dgPass = true
	runPooled(&rmsnormBwdPool, C, rmsnormDgCols, k)
}

// rmsnormDgCols is the column chunk of rmsnormBackward's dg pass: each
// chunk walks the rows once, reading a cache line per row.
const rmsnormDgCols = 16

type rmsnormBwd struct {
	dinp, dg, dout, inp, g, rms []float32
	N, C                        int
	dgPass                      bool
}

var rmsnormBwdPool freeList[rmsnormBwd]

func (k *rmsnormBwd) run(lo, hi int) {
	C := k.C
	if k.dgPass {
		var s [rmsnormDgCols]float64
		w := hi - lo
		for i := range k.N {
			d := float64(k.rms[i]) + rmsEps
			dy, x := k.dout[i*C+lo:i*C+hi], k.inp[i*C+lo:i*C+hi]
			for j := range w {
				s[j] += float64(dy[j]) * float64(x[j]) / d
			}
		}
		for j := range w {
			k.dg[lo+j] += float32(s[j])
		}
		return
	}
	g := k.g[:C]
	for i := lo; i < hi; i++ {
		x, dy, dx := k.inp[i*C:(i+1)*C], k.dout[i*C:(i+1)*C], k.dinp[i*C:(i+1)*C]
		r := float64(k.rms[i])
		d := r + rmsEps
		var dot float64
		for j, v := range x {
			dot += float64(dy[j]) * float64(g[j]) * float64(v)
		}
		var kk float64
		if r > 0 {
			kk = dot / (d * d * float64(C) * r)
		}
		for j, v := range x {
			dx[j] += float32(float64(dy[j])*float64(g[j])/d - kk*float64(v))
		}
	}
}

// swigluForward performs h = SiLU(g) * u elementwise over n values.
func swigluForward(h, g, u []float32, n int) {
	runPooled(&swigluFwdPool, n, 1<<13, swigluFwd{h: h, g: g, u: u})
}

// swigluForwardSig is swigluForward that also stores sigma(g) in sg (n) for
// swigluBackwardSig, which then computes no exponential.
func swigluForwardSig(h, sg, g, u []float32, n int) {
	runPooled(&swigluFwdPool, n, 1<<13, swigluFwd{h: h, sg: sg, g: g, u: u})
}

// swigluQuantForward is swigluForwardSig fused with absmaxTokenForward: it
// computes h row by row (rows of H values, n/H rows), quantizes each row at
// bits into xq while it is in cache, and stores h itself only when h is not
// nil. Same operations, same bits as the separate passes.
func swigluQuantForward(h, xq, sg, g, u []float32, n, H, bits int) {
	rows := n / H
	runPooled(&swigluFwdPool, rows, grainFor(rows, 8*H), swigluFwd{h: h, xq: xq, sg: sg, g: g, u: u, H: H, bits: bits})
}

// swigluFwd is the kernel of the swiglu forwards: elementwise over [lo,hi)
// when H is 0, else over rows [lo,hi) of H values.
type swigluFwd struct {
	h, xq, sg, g, u []float32
	H, bits         int
}

var swigluFwdPool freeList[swigluFwd]

func (k *swigluFwd) run(lo, hi int) {
	if k.H == 0 {
		k.elems(k.h, lo, hi)
		return
	}
	H := k.H
	for r := lo; r < hi; r++ {
		q := k.xq[r*H : (r+1)*H]
		if k.h == nil {
			k.elems(k.xq, r*H, (r+1)*H)
			absmaxTokenRow(q, q, k.bits)
			continue
		}
		k.elems(k.h, r*H, (r+1)*H)
		absmaxTokenRow(q, k.h[r*H:(r+1)*H], k.bits)
	}
}

// elems performs h[i] = SiLU(g[i]) * u[i] over [lo,hi), storing sigma(g[i])
// in sg when sg is not nil.
func (k *swigluFwd) elems(h []float32, lo, hi int) {
	g, u, h := k.g[lo:hi], k.u[lo:hi], h[lo:hi]
	if k.sg == nil {
		for i, x := range g {
			h[i] = silu(x) * u[i]
		}
		return
	}
	sg := k.sg[lo:hi]
	for i, x := range g {
		s := sigmoid(x)
		sg[i] = s
		h[i] = x * s * u[i] // silu(x) * u[i]
	}
}

// swigluBackward accumulates dg += dh * u * SiLU'(g) and du += dh * SiLU(g),
// with SiLU'(g) = sigma(g) (1 + g (1 - sigma(g))).
func swigluBackward(dg, du, dh, g, u []float32, n int) {
	runPooled(&swigluBwdPool, n, 1<<13, swigluBwd{dg: dg, du: du, dh: dh, g: g, u: u})
}

// swigluBackwardSig is swigluBackward given sg = sigma(g) from
// swigluForwardSig.
func swigluBackwardSig(dg, du, dh, sg, g, u []float32, n int) {
	runPooled(&swigluBwdPool, n, 1<<13, swigluBwd{dg: dg, du: du, dh: dh, sg: sg, g: g, u: u})
}

type swigluBwd struct{ dg, du, dh, sg, g, u []float32 }

var swigluBwdPool freeList[swigluBwd]

func (k *swigluBwd) run(lo, hi int) {
	dg, du, dh, g, u := k.dg[lo:hi], k.du[lo:hi], k.dh[lo:hi], k.g[lo:hi], k.u[lo:hi]
	if k.sg == nil {
		for i, x := range g {
			sg := sigmoid(x)
			dg[i] += dh[i] * u[i] * sg * (1 + x*(1-sg))
			du[i] += dh[i] * x * sg
		}
		return
	}
	sgs := k.sg[lo:hi]
	for i, x := range g {
		sg := sgs[i]
		dg[i] += dh[i] * u[i] * sg * (1 + x*(1-sg))
		du[i] += dh[i] * x * sg
	}
}

func sigmoid(x float32) float32 { return 1 / (1 + exp32(-x)) }
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
	runPooled(&ropePool, N, grainFor(N, 3*NH*HD), ropeKernel{x: x, cos: cos, sin: sin, T: T, pos0: pos0, NH: NH, HD: HD, sign: sign})
}

type ropeKernel struct {
	x, cos, sin     []float32
	T, pos0, NH, HD int
	sign            float32
}

var ropePool freeList[ropeKernel]

func (k *ropeKernel) run(lo, hi int) {
	half, NH, HD := k.HD/2, k.NH, k.HD
	for n := lo; n < hi; n++ {
		p := k.pos0 + n%k.T
		c, s := k.cos[p*half:(p+1)*half], k.sin[p*half:(p+1)*half]
		for h := range NH {
			v := k.x[(n*NH+h)*HD : (n*NH+h+1)*HD]
			for i := range half {
				x1, x2 := v[i], v[i+half]
				si := k.sign * s[i]
				v[i] = x1*c[i] - x2*si
				v[i+half] = x2*c[i] + x1*si
			}
		}
	}
}
