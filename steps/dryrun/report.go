package dryrun

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/bitflow-dev/bitflow/model"
)

// Report is dryrun_7b_memory.json: the seed's report (config, params, one
// entry per phase with its time and memory) plus the analytic and counted
// memory breakdowns and the A8 -> A4 check. Timings and memory measurements
// are what Normalize strips; everything else is deterministic.
type Report struct {
	Timestamp  string      `json:"timestamp"`
	ConfigName string      `json:"config_name"`
	Config     ModelShape  `json:"config"`
	Seed       int64       `json:"seed"`
	SeqLen     int         `json:"seq_len"`
	EmbedDType string      `json:"embed_dtype"`
	ActQuant   string      `json:"act_quant"`
	Tokens     []int32     `json:"tokens"`
	Params     Params      `json:"params"`
	Memory     MemoryCheck `json:"memory"`
	Runs       []Run       `json:"runs"`
	Flip       FlipCheck   `json:"flip_check"`
	// Threads is how many goroutines the kernels used (the step's CPU
	// slots); a measurement condition, not a result.
	Threads int `json:"threads"`
}

// ModelShape is the configuration's shape.
type ModelShape struct {
	NLayer    int    `json:"n_layer"`
	NHead     int    `json:"n_head"`
	NEmbd     int    `json:"n_embd"`
	HeadDim   int    `json:"head_dim"`
	MLPHidden int    `json:"mlp_hidden"`
	VocabSize int    `json:"vocab_size"`
	BlockSize int    `json:"block_size"`
	RoPE      bool   `json:"rope"`
	Linear    string `json:"linear_variant"`
}

func shapeOf(c model.Config) ModelShape {
	return ModelShape{NLayer: c.NLayer, NHead: c.NHead, NEmbd: c.NEmbd, HeadDim: c.HeadDim, MLPHidden: c.MLPHidden,
		VocabSize: c.VocabSize, BlockSize: c.BlockSize, RoPE: c.RoPE, Linear: c.LinearVariantAttn}
}

// MemoryCheck compares the analytic breakdown with the bytes counted from
// the tensors, and the measured peak with the budget.
type MemoryCheck struct {
	Analytic Breakdown `json:"analytic"`
	Counted  Breakdown `json:"counted"`
	// InferenceBytes is model.Inference.Bytes of the built model.
	InferenceBytes int64 `json:"inference_bytes"`
	// WeightsMatch: every weight component and the total agree between
	// the analytic figures, the counted ones and InferenceBytes.
	WeightsMatch bool `json:"weights_match"`
	// DenseFP32Bytes is what the same parameters take in fp32 (4 bytes
	// each, scales included), for scale.
	DenseFP32Bytes int64 `json:"dense_fp32_bytes"`
	BudgetBytes    int64 `json:"budget_bytes"`
	// PeakRSS is the largest measured peak of all phases, and FitsBudget
	// whether it stays below BudgetBytes (measurements).
	PeakRSS    int64 `json:"peak_rss_bytes"`
	FitsBudget bool  `json:"fits_budget"`
}

// Run is one phase: building the weights, or a forward pass.
type Run struct {
	Phase   string `json:"phase"` // build, A8_forward, A4_forward
	ActBits int    `json:"act_bits,omitempty"`
	// LogitsShape is (seq_len, V); LogitsSHA256 the digest of the logits'
	// float32 bits (little-endian), which pins the numerics; LogitsRMS
	// their root mean square.
	LogitsShape  []int   `json:"logits_shape,omitempty"`
	LogitsSHA256 string  `json:"logits_sha256,omitempty"`
	LogitsRMS    float64 `json:"logits_rms,omitempty"`
	Finite       bool    `json:"finite"`
	// Measurements.
	TimeS        float64 `json:"time_s"`
	TokensPerSec float64 `json:"tokens_per_s,omitempty"`
	Memory       Memory  `json:"memory"`
}

// The plausibility band of the A8 -> A4 relative L2 difference of the
// logits. Requantizing every projection input from 8 to 4 bits is a large
// change (an absmax step of max|x|/7 instead of max|x|/127, about 15% noise
// per projection input against 1%), so outputs that agree to better than 1%
// mean the flip did not take effect; a difference of 1 or more means the A4
// logits are no closer to the A8 ones than zero is: the quantized network
// has lost the signal rather than perturbed it. The random, untrained
// networks of this kind land inside: about 0.34 for tiny, 0.71 for 7b and
// 0.73 for seed (the errors of 32 layers add up; a trained model adapts to
// A4 during the last tenth of its budget, these do not).
const (
	FlipMinRelDiff = 0.01
	FlipMaxRelDiff = 1.0
)

// FlipCheck compares the logits of the A8 and the A4 phase.
type FlipCheck struct {
	// RelL2Diff is ||z4 - z8|| / ||z8|| over all logits; Cosine their
	// cosine similarity; Top1Agreement the fraction of positions whose
	// argmax agrees.
	RelL2Diff     float64    `json:"rel_l2_diff"`
	Cosine        float64    `json:"cosine"`
	Top1Agreement float64    `json:"top1_agreement"`
	Band          [2]float64 `json:"band"`
	Finite        bool       `json:"finite"`
	Plausible     bool       `json:"plausible"`
	Verdict       string     `json:"verdict"`
}

// compareFlip returns the check of a8 against a4, logits (n,V).
func compareFlip(a8, a4 []float32, n, V int) FlipCheck {
	f := FlipCheck{Band: [2]float64{FlipMinRelDiff, FlipMaxRelDiff}, Finite: finite(a8) && finite(a4)}
	if !f.Finite {
		f.Verdict = "non-finite logits"
		return f
	}
	var d2, n8, n4, dot float64
	for i := range a8 {
		x, y := float64(a8[i]), float64(a4[i])
		d2 += (y - x) * (y - x)
		n8 += x * x
		n4 += y * y
		dot += x * y
	}
	f.RelL2Diff = math.Sqrt(d2 / max(n8, 1e-300))
	f.Cosine = dot / max(math.Sqrt(n8*n4), 1e-300)
	agree := 0
	for r := range n {
		if argmax(a8[r*V:(r+1)*V]) == argmax(a4[r*V:(r+1)*V]) {
			agree++
		}
	}
	f.Top1Agreement = float64(agree) / float64(n)
	switch {
	case f.RelL2Diff < FlipMinRelDiff:
		f.Verdict = fmt.Sprintf("implausible: A4 logits differ from A8 by %.3g < %g, as if the flip had no effect", f.RelL2Diff, FlipMinRelDiff)
	case f.RelL2Diff >= FlipMaxRelDiff:
		f.Verdict = fmt.Sprintf("implausible: A4 logits differ from A8 by %.3g >= %g, uncorrelated", f.RelL2Diff, FlipMaxRelDiff)
	default:
		f.Plausible = true
		f.Verdict = fmt.Sprintf("plausible: relative L2 difference %.3g within [%g, %g)", f.RelL2Diff, FlipMinRelDiff, FlipMaxRelDiff)
	}
	return f
}

func finite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// logitsDigest returns the hex SHA-256 of x's float32 bits, little-endian.
func logitsDigest(x []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, v := range x {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

// Normalize implements steps.Normalizer: the report without its timestamp,
// thread count, timings and memory measurements (the analytic and counted
// breakdowns stay: they are deterministic).
func (Kind) Normalize(output string, data []byte) ([]byte, error) {
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", output, err)
	}
	rep.Timestamp, rep.Threads = "", 0
	rep.Memory.PeakRSS, rep.Memory.FitsBudget = 0, false
	for i := range rep.Runs {
		rep.Runs[i].TimeS, rep.Runs[i].TokensPerSec = 0, 0
		rep.Runs[i].Memory = Memory{}
	}
	return json.Marshal(rep)
}
