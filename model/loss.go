package model

import (
	"fmt"
	"math"
)

// Loss function names (spec §4).
const (
	LossCE            = "cross_entropy"
	LossBitBalanced   = "bit_balanced_cross_entropy"
	LossKD            = "kd"
	LossBitBalancedKD = "bit_balanced_kd"
)

// LossConfig holds the loss parameters of spec §4 with their names as JSON
// tags. DefaultLossConfig gives the defaults.
type LossConfig struct {
	Fn               string  `json:"loss_fn"`
	KDTau            float64 `json:"kd_tau"`
	KDTauSquared     bool    `json:"kd_tau_squared"`
	KDCEWeight       float64 `json:"kd_ce_weight"`
	FormatLossWeight float64 `json:"format_loss_weight"`
	BitLossWeight    float64 `json:"bit_loss_weight"`
	BitLossNormalize bool    `json:"bit_loss_normalize"`
}

// DefaultLossConfig returns cross entropy with the spec's KD defaults
// (tau 1.3, CE weight 0.25, format weight 0.2) and bit weight 1e-6.
func DefaultLossConfig() LossConfig {
	return LossConfig{Fn: LossCE, KDTau: 1.3, KDCEWeight: 0.25, FormatLossWeight: 0.2, BitLossWeight: 1e-6}
}

// Validate reports an unknown loss function or a bad temperature.
func (lc LossConfig) Validate() error {
	switch lc.Fn {
	case LossCE, LossBitBalanced, LossKD, LossBitBalancedKD:
	default:
		return fmt.Errorf("loss_fn: unknown loss %q", lc.Fn)
	}
	if !(lc.KDTau > 0) {
		return fmt.Errorf("kd_tau: must be positive, got %g", lc.KDTau)
	}
	return nil
}

// IsKD reports whether the loss uses teacher buckets.
func (lc LossConfig) IsKD() bool { return lc.Fn == LossKD || lc.Fn == LossBitBalancedKD }

// HasBitPenalty reports whether the loss adds the bit penalty.
func (lc LossConfig) HasBitPenalty() bool {
	return lc.Fn == LossBitBalanced || lc.Fn == LossBitBalancedKD
}

// LossResult holds a loss value and its parts. Loss is the task loss; the
// bit penalty, when the loss function has one, is reported in BitPenalty
// and added to Loss only by the trainer's total.
type LossResult struct {
	Loss        float64 // task loss: CE, or KL + w_ce CE + w_f F
	KL          float64 // L_KL (times tau^2 if kd_tau_squared)
	CE          float64
	Format      float64
	FormatCount int
	ValidTokens int
}

// TaskLoss computes the task loss of lc.Fn for logits (B,T,V) and, when
// dlogits is not nil, overwrites dlogits (B,T,V) with its gradient. Positions
// are trained when Batch.trained says so; N = max(1, their number).
//   - CE = -(1/N) sum log softmax(z_t)[y_t];
//   - F = the same CE over the trained structural positions (0 if none);
//   - KL = (1/N) sum over trained positions of KL(q || p) on the K+1 buckets
//     (see kdRow), times tau^2 if kd_tau_squared;
//   - cross_entropy losses: Loss = CE; kd losses: Loss = KL + w_ce CE + w_f F.
//
// Bad teacher ids (out of range or repeated) are errors.
func TaskLoss(dlogits, logits []float32, b *Batch, V int, lc LossConfig) (LossResult, error) {
	if err := lc.Validate(); err != nil {
		return LossResult{}, err
	}
	kd := lc.IsKD()
	if err := b.Check(kd); err != nil {
		return LossResult{}, err
	}
	n := b.B * b.T
	if len(logits) != n*V || (dlogits != nil && len(dlogits) != n*V) {
		panic(fmt.Sprintf("model: TaskLoss with %d logits for %d positions of %d", len(logits), n, V))
	}
	var res LossResult
	for i := range n {
		if b.trained(i) {
			if int(b.Targets[i]) >= V {
				return res, fmt.Errorf("target id %d at position %d outside vocabulary of %d", b.Targets[i], i, V)
			}
			res.ValidTokens++
			if b.Struct != nil && b.Struct[i] {
				res.FormatCount++
			}
		}
	}
	N := float64(max(1, res.ValidTokens))
	NF := float64(max(1, res.FormatCount))
	// Per-position weights of each part in the total.
	ceW, fW, klW := 1/N, 0.0, 0.0
	if kd {
		ceW, fW, klW = lc.KDCEWeight/N, lc.FormatLossWeight/NF, 1/N
		if lc.KDTauSquared {
			klW *= lc.KDTau * lc.KDTau
		}
	}
	sc := lossScratchPool.get()
	defer lossScratchPool.put(sc)
	if cap(sc.ce) < n {
		sc.ce, sc.kl, sc.errs = make([]float64, n), make([]float64, n), make([]error, n)
	}
	ce, kl, errs := sc.ce[:n], sc.kl[:n], sc.errs[:n]
	clear(ce)
	clear(kl)
	clear(errs)
	runPooled(&lossPool, n, grainFor(n, 4*V), lossKernel{dlogits: dlogits, logits: logits, b: b, V: V,
		ceW: ceW, fW: fW, klW: klW, tau: lc.KDTau, kd: kd, ce: ce, kl: kl, errs: errs})
	var ceSum, fSum, klSum float64
	for i := range n {
		if errs[i] != nil {
			return res, fmt.Errorf("position %d: %w", i, errs[i])
		}
		if !b.trained(i) {
			continue
		}
		ceSum += ce[i]
		klSum += kl[i]
		if b.Struct != nil && b.Struct[i] {
			fSum += ce[i]
		}
	}
	res.CE = ceSum / N
	res.Format = fSum / NF
	res.KL = klSum / N
	if kd && lc.KDTauSquared {
		res.KL *= lc.KDTau * lc.KDTau
	}
	if kd {
		res.Loss = res.KL + lc.KDCEWeight*res.CE + lc.FormatLossWeight*res.Format
	} else {
		res.Loss = res.CE
	}
	clear(errs) // drop the references
	return res, nil
}

// lossScratch holds TaskLoss's per-position results.
type lossScratch struct {
	ce, kl []float64
	errs   []error
}

var lossScratchPool freeList[lossScratch]

// lossRow is a chunk's scratch of TaskLoss: p and mark of length V.
type lossRow struct {
	p    []float64
	mark []bool
}

var lossRowPool freeList[lossRow]

// lossKernel computes TaskLoss's rows [lo,hi): per-position CE and KL (and
// their errors) and, when dlogits is not nil, the rows' gradients.
type lossKernel struct {
	dlogits, logits []float32
	b               *Batch
	V               int
	ceW, fW, klW    float64
	tau             float64
	kd              bool
	ce, kl          []float64
	errs            []error
}

var lossPool freeList[lossKernel]

func (k *lossKernel) run(lo, hi int) {
	V, b := k.V, k.b
	sc := lossRowPool.get()
	if cap(sc.p) < V {
		sc.p, sc.mark = make([]float64, V), make([]bool, V)
	}
	p, mark := sc.p[:V], sc.mark[:V]
	for i := lo; i < hi; i++ {
		z := k.logits[i*V : (i+1)*V]
		var dz []float32
		if k.dlogits != nil {
			dz = k.dlogits[i*V : (i+1)*V]
			clear(dz)
		}
		if !b.trained(i) {
			continue
		}
		y := int(b.Targets[i])
		k.ce[i] = ceRow(p, z, y)
		w := k.ceW
		if b.Struct != nil && b.Struct[i] {
			w += k.fW
		}
		if dz != nil {
			for j := range dz {
				dz[j] = float32(w * p[j])
			}
			dz[y] -= float32(w)
		}
		if k.kd {
			K := b.K
			k.kl[i], k.errs[i] = kdRow(dz, p, mark, z, b.TopKIDs[i*K:(i+1)*K], b.TopKLogprobs[i*K:(i+1)*K],
				float64(b.OtherLogprob[i]), k.tau, k.klW)
		}
	}
	lossRowPool.put(sc)
}

// ceRow returns -log softmax(z)[y] and leaves softmax(z) in p.
func ceRow(p []float64, z []float32, y int) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for j, v := range z {
		p[j] = math.Exp(float64(v) - mx)
		s += p[j]
	}
	for j := range p {
		p[j] /= s
	}
	return mx + math.Log(s) - float64(z[y])
}

// kdRow returns KL(q || p) over the K+1 buckets of one position and, when dz
// is not nil, adds w times its gradient to dz. Teacher q =
// softmax([l_1..l_K, l_other] / tau) over the unpadded slots (id >= 0);
// student p = softmax(z / tau), p_k = p[id_k], and
// log p_other = LSE_{j not in ids}(z_j/tau) - LSE(z/tau), computed directly.
// Terms with q = 0 are 0 (0 log 0 = 0). The gradient is (p_j - q_j)/tau for
// j in ids and p_j (1 - q_other/p_other)/tau outside, with p_j/p_other
// evaluated as exp(z_j/tau - LSE_other). p and mark are scratch of length V.
func kdRow(dz []float32, p []float64, mark []bool, z []float32, ids []int32, lps []float32, lother, tau, w float64) (float64, error) {
	V := len(z)
	clear(mark)
	for _, id := range ids {
		if id < 0 {
			continue
		}
		if int(id) >= V {
			return 0, fmt.Errorf("teacher id %d outside vocabulary of %d", id, V)
		}
		if mark[id] {
			return 0, fmt.Errorf("teacher id %d appears twice", id)
		}
		mark[id] = true
	}
	// Student: log-sum-exp over all and over the complement, at temperature tau.
	mx, mxo := math.Inf(-1), math.Inf(-1)
	for j, v := range z {
		t := float64(v) / tau
		p[j] = t
		mx = math.Max(mx, t)
		if !mark[j] {
			mxo = math.Max(mxo, t)
		}
	}
	var s, so float64
	for j, t := range p {
		e := math.Exp(t - mx)
		s += e
		if !mark[j] && !math.IsInf(mxo, -1) {
			so += math.Exp(t - mxo)
		}
	}
	lse := mx + math.Log(s)
	lseOther := math.Inf(-1)
	if so > 0 {
		lseOther = mxo + math.Log(so)
	}
	// Teacher: softmax over the unpadded buckets and other.
	tmx := lother / tau
	for k, id := range ids {
		if id >= 0 {
			tmx = math.Max(tmx, float64(lps[k])/tau)
		}
	}
	var ts float64
	for k, id := range ids {
		if id >= 0 {
			ts += math.Exp(float64(lps[k])/tau - tmx)
		}
	}
	ts += math.Exp(lother/tau - tmx)
	logTs := tmx + math.Log(ts)
	var kl float64
	term := func(logq, logp float64) float64 {
		q := math.Exp(logq)
		if q == 0 {
			return 0
		}
		return q * (logq - logp)
	}
	for k, id := range ids {
		if id >= 0 {
			kl += term(float64(lps[k])/tau-logTs, p[id]-lse)
		}
	}
	logqOther := lother/tau - logTs
	qOther := math.Exp(logqOther)
	kl += term(logqOther, lseOther-lse)
	if dz != nil {
		for j, t := range p {
			pj := math.Exp(t - lse)
			g := pj
			if !mark[j] && qOther > 0 {
				g -= qOther * math.Exp(t-lseOther)
			}
			dz[j] += float32(w * g / tau)
		}
		for k, id := range ids {
			if id >= 0 {
				q := math.Exp(float64(lps[k])/tau - logTs)
				dz[id] -= float32(w * q / tau)
			}
		}
	}
	return kl, nil
}

// BitPenalty returns the bit metrics of spec §4: total = T = sum of the
// adaptive layers' bit_usage(), normalized = T/P, and the penalty term
// w * N_b with N_b = T/P if bit_loss_normalize else T. When grad is true it
// adds the term's gradient to the bit_params: w * numel(W) (/P) where
// min <= bit_param <= max (STE through the rounding).
func (m *Model) BitPenalty(lc LossConfig, grad bool) (total, normalized, term float64) {
	P := float64(m.NumParams())
	for i := range m.blocks {
		for _, l := range m.blocks[i].linears() {
			if l.Variant != VariantAdaptive {
				continue
			}
			total += l.BitUsage()
			if grad && l.bitInRange() {
				g := lc.BitLossWeight * float64(len(l.W))
				if lc.BitLossNormalize {
					g /= P
				}
				l.DBit[0] += float32(g)
			}
		}
	}
	normalized = total / P
	nb := total
	if lc.BitLossNormalize {
		nb = normalized
	}
	return total, normalized, lc.BitLossWeight * nb
}

// LayerBits returns each adaptive layer's bit width b, by layer name; nil
// when the model has no adaptive layer.
func (m *Model) LayerBits() map[string]float64 {
	var out map[string]float64
	for i := range m.blocks {
		for _, l := range m.blocks[i].linears() {
			if l.Variant == VariantAdaptive {
				if out == nil {
					out = map[string]float64{}
				}
				out[l.Name] = float64(l.Bits())
			}
		}
	}
	return out
}
