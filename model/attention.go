package model

import "math"

// attnRowBlock is the query-row block of the attention products: rows
// [r0,r1) only need keys [0,r1), so blocking skips most of the masked upper
// triangle while each score is still one dot product over head_dim.
const attnRowBlock = 64

// attentionForward performs, for every batch row b and head h,
// out (B,T,NH*HD) = softmax(mask(q k^T / sqrt(HD))) v and stores the
// probabilities in att (B,NH,T,T). Query t sees the keys t2 <= t with
// valid[b*T+t2] true (valid nil = all valid); a query that sees no key gets
// zero probabilities and a zero output. kT is scratch (B,NH,HD,T).
// Work is split by (b,h): each unit writes only its own rows of att and
// columns of out.
func attentionForward(out, att, kT, q, k, v []float32, valid []bool, B, T, NH, HD int) {
	runPooled(&attnFwdPool, B*NH, 1, attnFwd{out: out, att: att, kT: kT, q: q, k: k, v: v, valid: valid, T: T, NH: NH, HD: HD})
}

type attnFwd struct {
	out, att, kT, q, k, v []float32
	valid                 []bool
	T, NH, HD             int
}

var attnFwdPool freeList[attnFwd]

func (a *attnFwd) run(lo, hi int) {
	T, NH, HD := a.T, a.NH, a.HD
	I := NH * HD
	scale := float32(1 / math.Sqrt(float64(HD)))
	for u := lo; u < hi; u++ {
		b, h := u/NH, u%NH
		base := b*T*I + h*HD
		kTu := a.kT[u*HD*T : (u+1)*HD*T]
		transpose(kTu, T, a.k[base:], I, T, HD)
		attU := a.att[u*T*T : (u+1)*T*T]
		var vrow []bool
		if a.valid != nil {
			vrow = a.valid[b*T : (b+1)*T]
		}
		for r0 := 0; r0 < T; r0 += attnRowBlock {
			r1 := min(r0+attnRowBlock, T)
			matmul(attU[r0*T:], T, a.q[base+r0*I:], I, false, kTu, T, r1-r0, r1, HD, false)
			for t := r0; t < r1; t++ {
				row := attU[t*T : (t+1)*T]
				var vr []bool
				if vrow != nil {
					vr = vrow[:t+1]
				}
				softmaxMasked(row[:t+1], scale, vr)
				clear(row[t+1:])
			}
			matmul(a.out[base+r0*I:], I, attU[r0*T:], T, false, a.v[base:], I, r1-r0, HD, r1, false)
		}
	}
}

// softmaxMasked performs row = softmax(row*scale) over the entries whose
// valid flag is true (valid nil = all) and sets the others to 0. If no entry
// is valid the row becomes all zeros.
func softmaxMasked(row []float32, scale float32, valid []bool) {
	mx := float32(math.Inf(-1))
	for j := range row {
		if valid == nil || valid[j] {
			row[j] *= scale
			mx = max(mx, row[j])
		}
	}
	if math.IsInf(float64(mx), -1) {
		clear(row)
		return
	}
	var sum float64
	for j := range row {
		if valid != nil && !valid[j] {
			row[j] = 0
			continue
		}
		e := exp32(row[j] - mx)
		row[j] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for j := range row {
		row[j] *= inv
	}
}

// attentionBackward accumulates dq, dk, dv (B,T,NH*HD) from dout (B,T,NH*HD)
// for attentionForward, using its stored probabilities att (B,NH,T,T).
// With P = att and dP = dout v^T: dv += P^T dout;
// dS = P * (dP - rowsum(P*dP)) / sqrt(HD); dq += dS k; dk += dS^T q.
// datt (B,NH,T,T) and vT (B,NH,HD,T) are scratch. Work is split by (b,h),
// which owns its slices of dq, dk and dv.
func attentionBackward(dq, dk, dv, datt, vT, dout, q, k, v, att []float32, B, T, NH, HD int) {
	runPooled(&attnBwdPool, B*NH, 1, attnBwd{dq: dq, dk: dk, dv: dv, datt: datt, vT: vT, dout: dout, q: q, k: k, v: v, att: att, T: T, NH: NH, HD: HD})
}

type attnBwd struct {
	dq, dk, dv, datt, vT, dout, q, k, v, att []float32
	T, NH, HD                                int
}

var attnBwdPool freeList[attnBwd]

func (a *attnBwd) run(lo, hi int) {
	T, NH, HD := a.T, a.NH, a.HD
	I := NH * HD
	scale := float32(1 / math.Sqrt(float64(HD)))
	for u := lo; u < hi; u++ {
		b, h := u/NH, u%NH
		base := b*T*I + h*HD
		vTu := a.vT[u*HD*T : (u+1)*HD*T]
		transpose(vTu, T, a.v[base:], I, T, HD)
		attU, dsU := a.att[u*T*T:(u+1)*T*T], a.datt[u*T*T:(u+1)*T*T]
		for r0 := 0; r0 < T; r0 += attnRowBlock {
			r1 := min(r0+attnRowBlock, T)
			matmul(dsU[r0*T:], T, a.dout[base+r0*I:], I, false, vTu, T, r1-r0, r1, HD, false)
			for t := r0; t < r1; t++ {
				p, ds := attU[t*T:t*T+t+1], dsU[t*T:t*T+r1]
				var dot float64
				for j, pj := range p {
					dot += float64(pj) * float64(ds[j])
				}
				d := float32(dot)
				for j, pj := range p {
					ds[j] = pj * (ds[j] - d) * scale
				}
				clear(ds[t+1:])
			}
			matmul(a.dv[base:], I, attU[r0*T:], T, true, a.dout[base+r0*I:], I, r1, HD, r1-r0, true)
			matmul(a.dq[base+r0*I:], I, dsU[r0*T:], T, false, a.k[base:], I, r1-r0, HD, r1, true)
			matmul(a.dk[base:], I, dsU[r0*T:], T, true, a.q[base+r0*I:], I, r1, HD, r1-r0, true)
		}
	}
}
