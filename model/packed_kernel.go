package model

import (
	"encoding/binary"
	"sync"
)

// The packed ternary kernels. The integer path turns every packed byte (four
// 2-bit codes) into table lookups: per group of four inputs, a table holds
// the 256 possible sums sum_k Q(b,k) x_k of the group's integer activations,
// so sum_i Q_oi x_i = sum_j table_j[code byte j of row o].
//
// For fewer than four tokens (decode) each token has its own int16 table
// and each lookup serves four multiply-adds. For four tokens or more
// (prefill) tokens go by quads: one uint64 table entry packs the sums of
// four tokens in 16-bit lanes, biased by laneBias so that they are never
// negative (|sum| <= 4*128 <= laneBias), so one load and one 64-bit add serve
// sixteen multiply-adds. A lane is flushed into int32 accumulators before
// it could overflow into its neighbour (at most maxLaneAdds group sums).
//
// At the 7B shapes a prefill's tables (2 KiB per group and quad: 4 MiB for 8
// tokens at In 4096) do not fit in a core's L2, and looking them up at random
// straight from L3 is what made the first version of this kernel slow
// (about 4 GOPS at 8 tokens, under 1 at 32). So the prefill is tiled: a chunk
// of about prefillRows output rows walks the groups tileGroups at a time
// (one uint64 of codes per row), and for each quad the 16 KiB tile of tables
// of those groups stays in L1 while all the chunk's rows add their lookups
// to their lanes. Each chunk reads the tables once, hence large chunks.
//
// Every sum is an exact integer, so the results do not depend on the tiling
// or on how the work is split between threads.

// Blocking of the integer kernels.
const (
	prefillRows = 1024 // about the output rows of a parallel chunk (see prefillChunk)
	decodeRows  = 256  // output rows per parallel chunk when decoding
	tileGroups  = 8    // code bytes per uint64 load
	// laneBias makes a 16-bit lane's group sum non-negative.
	laneBias = 512
	// maxLaneAdds is how many group sums (each at most 2*laneBias) a lane
	// may hold: 63*1024 < 2^16.
	maxLaneAdds = 63
)

// ternaryScratch holds one Forward's integer activations, group tables and
// float activations. It comes from a pool shared by every projection, so a
// model with hundreds of projections holds one set of buffers, sized for its
// largest, instead of one set per projection (for the 7B dry run the
// difference is about a gigabyte).
type ternaryScratch struct {
	xi    []int8    // (n4, 4*RowBytes) integer activations, zero padded
	s     []float32 // (n) activation scales
	tab   []int16   // decode: (n, RowBytes, 256) per-token tables
	quad  []uint64  // prefill: (n4/4, RowBytes, 256) quad tables, quad-major
	acc   []int32   // prefill: (Out, n4) integer sums
	lanes []uint64  // prefill: (n4/4, Out) lanes of the sums, chunk by chunk
	xf    []float32 // (n, 4*RowBytes) float activations, zero padded
	corr  []int32   // SIMD path: (n) sums of the integer activations
}

var ternaryScratchPool = sync.Pool{New: func() any { return new(ternaryScratch) }}

// grow returns b resized to n, reallocated only when its capacity is short.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// TernaryScratchBytes returns the scratch memory a Forward of n tokens
// through an in x out projection takes on the integer path: the integer
// activations (n rounded up to a quad n4 from four tokens on) and their
// scales, the group tables (512 bytes per group and token), and for a
// prefill the integer sums and their lanes (4*n4 + 2*n4 bytes per output).
// Projections share one pooled scratch, so a forward needs this for its
// largest projection only. These are the pure-Go kernels' buffers; the SIMD
// path (packed_simd.go) takes less, n*(4*RowBytes rounded up to 128, plus
// 8, plus 4*out) bytes, since it builds no tables (below this figure
// whenever out <= 32*in).
func TernaryScratchBytes(in, out, n int) int64 {
	rb, n4 := int64((in+3)/4), int64(n)
	b := 4 * n4 // scales
	if n >= 4 {
		n4 = (n4 + 3) &^ 3
		b += 6 * n4 * int64(out)
	}
	return b + n4*4*rb + 512*rb*n4
}

// prefillChunk returns the rows of a prefill chunk: about prefillRows, as
// many as possible because each chunk reads all the tables once, in a
// number of chunks that is a multiple of four, so two or four threads
// share them evenly. (The integer sums are exact, so any chunking gives the
// same bits; the chunks still depend on Out only.)
func prefillChunk(out int) int {
	k := 4 * ((out + 4*prefillRows - 1) / (4 * prefillRows))
	return (out + k - 1) / k
}

// forwardInt is Forward with integer activations.
func (p *TernaryProj) forwardInt(sc *ternaryScratch, out, inp []float32, n, actBits int) {
	rb := p.RowBytes()
	w := 4 * rb
	n4 := n
	if n >= 4 {
		n4 = (n + 3) &^ 3
	}
	sc.xi, sc.s = grow(sc.xi, n4*w), grow(sc.s, n)
	xi, s := sc.xi, sc.s
	lo, hi := -float32(int(1)<<(actBits-1)), float32(int(1)<<(actBits-1)-1)
	for r := range n {
		x := inp[r*p.In : (r+1)*p.In]
		s[r] = absmaxScale(x, actBits)
		row := xi[r*w : (r+1)*w]
		for i, v := range x {
			row[i] = int8(min(max(roundEven(v*s[r]), lo), hi))
		}
		clear(row[p.In:])
	}
	clear(xi[n*w:]) // the padding tokens of the last quad
	if n < 4 {
		sc.tab = grow(sc.tab, rb*n*256)
		tab := sc.tab
		// Table gi = r*rb + g belongs to group g of token r.
		parallelForN(p.Threads, rb*n, 64, func(lo, hi int) {
			for gi := lo; gi < hi; gi++ {
				r, g := gi/rb, gi%rb
				buildGroupTable((*[256]int16)(tab[gi*256:]), xi[r*w+4*g:][:4])
			}
		})
		parallelForN(p.Threads, p.Out, decodeRows, func(olo, ohi int) {
			ternaryTileDecode(out, p.Out, p.Packed, rb, p.Scales, tab, s, n, olo, ohi)
		})
		return
	}
	nq := n4 / 4
	sc.quad, sc.acc, sc.lanes = grow(sc.quad, nq*rb*256), grow(sc.acc, p.Out*n4), grow(sc.lanes, p.Out*nq)
	quad, acc, lanes := sc.quad, sc.acc, sc.lanes
	// Table gi = q*rb + g belongs to group g of quad q.
	parallelForN(p.Threads, nq*rb, 32, func(lo, hi int) {
		for gi := lo; gi < hi; gi++ {
			q, g := gi/rb, gi%rb
			buildQuadTable((*[256]uint64)(quad[gi*256:]), xi[4*q*w+4*g:], w)
		}
	})
	parallelForN(p.Threads, p.Out, prefillChunk(p.Out), func(olo, ohi int) {
		ternaryTile(acc[olo*n4:ohi*n4], lanes[olo*nq:ohi*nq], n4, p.Packed[olo*rb:ohi*rb], rb, quad)
		for o := olo; o < ohi; o++ {
			a := acc[o*n4 : o*n4+n]
			for r, v := range a {
				out[r*p.Out+o] = float32(v) / s[r] * p.Scales[o]
			}
		}
	})
}

// ternaryTile performs acc[o][r] = sum_j quad[r/4][j][codes[o][j]], lane
// r%4, minus the lanes' bias: the integer sums sum_i Q_oi x_ri of spec §7 for
// the rows o of packed (R, rb) and the tokens r of every quad, acc (R, n4),
// lanes (n4/4, R) scratch, quad (n4/4, rb, 256). The tile of one quad and
// tileGroups groups (16 KiB) stays in L1 while the rows go by; the lanes
// take several tiles before they are flushed into acc.
func ternaryTile(acc []int32, lanes []uint64, n4 int, packed []byte, rb int, quad []uint64) {
	nq := n4 / 4
	R := len(packed) / rb
	clear(lanes)
	clear(acc)
	added := 0
	full := rb &^ (tileGroups - 1)
	for j := 0; j < full; j += tileGroups {
		for q := range nq {
			addTile(lanes[q*R:(q+1)*R], packed, rb, j, (*[tileGroups * 256]uint64)(quad[(q*rb+j)*256:]))
		}
		if added += tileGroups; added+tileGroups > maxLaneAdds {
			flushLanes(acc, lanes, n4, R, added)
			added = 0
		}
	}
	for j := full; j < rb; j++ {
		for q := range nq {
			t := (*[256]uint64)(quad[(q*rb+j)*256:])
			for o, off := 0, j; o < R; o, off = o+1, off+rb {
				lanes[q*R+o] += t[packed[off]]
			}
		}
	}
	flushLanes(acc, lanes, n4, R, added+rb-full)
}

// addTile performs lanes[o] += sum_k t[k*256 + code byte j+k of row o] for
// the rows o of packed (len(lanes), rb): tileGroups groups of one quad.
func addTile(lanes []uint64, packed []byte, rb, j int, t *[tileGroups * 256]uint64) {
	off := j
	for o := range lanes {
		cw := binary.LittleEndian.Uint64(packed[off:])
		off += rb
		lanes[o] += t[uint8(cw)] + t[256+int(uint8(cw>>8))] +
			t[512+int(uint8(cw>>16))] + t[768+int(uint8(cw>>24))] +
			t[1024+int(uint8(cw>>32))] + t[1280+int(uint8(cw>>40))] +
			t[1536+int(uint8(cw>>48))] + t[1792+int(uint8(cw>>56))]
	}
}

// flushLanes performs acc[o][4q+k] += lane k of lanes[q][o] - added*laneBias
// and clears the lanes, acc (R, n4), lanes (n4/4, R).
func flushLanes(acc []int32, lanes []uint64, n4, R, added int) {
	bias := int32(laneBias * added)
	for i, l := range lanes {
		q, o := i/R, i%R
		a := (*[4]int32)(acc[o*n4+4*q:])
		a[0] += int32(uint16(l)) - bias
		a[1] += int32(uint16(l>>16)) - bias
		a[2] += int32(uint16(l>>32)) - bias
		a[3] += int32(uint16(l>>48)) - bias
		lanes[i] = 0
	}
}

// ternaryTileDecode performs out[r][o] = (sum_i Q_oi x_ri) / s[r] * scales[o]
// for the rows o in [olo, ohi) and fewer than four tokens r, with per-token
// int16 tables tab (n, RowBytes, 256).
func ternaryTileDecode(out []float32, ldo int, packed []byte, rb int, scales []float32, tab []int16, s []float32, n, olo, ohi int) {
	full := rb &^ (tileGroups - 1)
	for r := range n {
		tr := tab[r*rb*256 : (r+1)*rb*256]
		for o := olo; o < ohi; o++ {
			codes := packed[o*rb : (o+1)*rb]
			var a0, a1 int32
			for j := 0; j < full; j += tileGroups {
				cw := binary.LittleEndian.Uint64(codes[j:])
				t := (*[tileGroups * 256]int16)(tr[j*256:])
				a0 += int32(t[uint8(cw)]) + int32(t[256+int(uint8(cw>>8))]) +
					int32(t[512+int(uint8(cw>>16))]) + int32(t[768+int(uint8(cw>>24))])
				a1 += int32(t[1024+int(uint8(cw>>32))]) + int32(t[1280+int(uint8(cw>>40))]) +
					int32(t[1536+int(uint8(cw>>48))]) + int32(t[1792+int(uint8(cw>>56))])
			}
			for j := full; j < rb; j++ {
				a0 += int32(tr[j*256+int(codes[j])])
			}
			out[r*ldo+o] = float32(a0+a1) / s[r] * scales[o]
		}
	}
}

// buildGroupTable performs t[b] = sum_k Q(b,k) x_k for every byte b, Q(b,k)
// the k-th 2-bit code of b, from two 16-entry half tables (integer adds).
func buildGroupTable(t *[256]int16, x []int8) {
	x = x[:4]
	var v [4][4]int16 // v[k][c] = Q(c) x_k for a 2-bit code c
	for k, xk := range x {
		v[k][codePlus], v[k][codeMinus] = int16(xk), -int16(xk)
	}
	var lo, hi [16]int16
	for c := range 16 {
		lo[c] = v[0][c&3] + v[1][c>>2]
		hi[c] = v[2][c&3] + v[3][c>>2]
	}
	for h := range 16 {
		row, hv := (*[16]int16)(t[16*h:]), hi[h]
		for l, lv := range lo {
			row[l] = lv + hv
		}
	}
}

// buildQuadTable performs lane r of t[b] = sum_k Q(b,k) x_rk + laneBias for
// every byte b and the four tokens r of a quad, whose group activations are
// x[r*stride:][:4]. A byte is two 4-bit halves, each two codes: the half
// tables lo and hi are sums of per-code lane vectors, every lane offset by
// laneBias/4 per code so that it stays non-negative and no add carries
// across lanes.
func buildQuadTable(t *[256]uint64, x []int8, stride int) {
	const off = laneBias / 4
	var v [4][4]uint64 // v[k][c]: lanes of Q(c) x_rk + off, c a 2-bit code
	for r := range 4 {
		xr := x[r*stride:][:4]
		for k, xk := range xr {
			w := int64(xk)
			v[k][codeZero] |= uint64(off) << (16 * r)
			v[k][codePlus] |= uint64(off+w) << (16 * r)
			v[k][codeMinus] |= uint64(off-w) << (16 * r)
			v[k][3] |= uint64(off) << (16 * r)
		}
	}
	var lo, hi [16]uint64
	for c := range 16 {
		lo[c] = v[0][c&3] + v[1][c>>2]
		hi[c] = v[2][c&3] + v[3][c>>2]
	}
	for h := range 16 {
		row, hv := (*[16]uint64)(t[16*h:]), hi[h]
		for l, lv := range lo {
			row[l] = lv + hv
		}
	}
}

// forwardFloat is Forward with float activations (act_quant clip4 or none).
func (p *TernaryProj) forwardFloat(sc *ternaryScratch, out, inp []float32, n int) {
	rb := p.RowBytes()
	w := 4 * rb
	sc.xf = grow(sc.xf, n*w)
	xf := sc.xf
	for r := range n {
		copy(xf[r*w:], inp[r*p.In:(r+1)*p.In])
		clear(xf[r*w+p.In : (r+1)*w])
	}
	parallelForN(p.Threads, p.Out, grainFor(p.Out, n*p.In), func(olo, ohi int) {
		for o := olo; o < ohi; o++ {
			codes := p.Packed[o*rb : (o+1)*rb]
			for r := range n {
				out[r*p.Out+o] = dotTernaryFloat(codes, xf[r*w:(r+1)*w]) * p.Scales[o]
			}
		}
	})
}

// dotTernaryFloat returns sum_i Q_i x_i for packed codes and float x.
func dotTernaryFloat(codes []byte, x []float32) float32 {
	var acc float32
	for j, b := range codes {
		c := &ternaryLUT[b]
		xs := x[4*j : 4*j+4 : 4*j+4]
		acc += float32(c[0])*xs[0] + float32(c[1])*xs[1] + float32(c[2])*xs[2] + float32(c[3])*xs[3]
	}
	return acc
}
