package eval

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/steps/baseline"
	"github.com/bitflow-dev/bitflow/steps/quality"
)

// Report is mini_evaluation_report.json: the seed's sections (model_meta,
// eval_config, qei_metrics, results) with the quality, speed and memory
// measurements they are computed from.
type Report struct {
	Timestamp  string     `json:"timestamp"`
	ModelMeta  ModelMeta  `json:"model_meta"`
	EvalConfig EvalConfig `json:"eval_config"`
	Quality    Quality    `json:"quality"`
	Speed      Speed      `json:"speed"`
	Memory     Memory     `json:"memory"`
	QEIMetrics QEIMetrics `json:"qei_metrics"`
	Results    []Result   `json:"results"`
}

// ModelMeta describes the evaluated checkpoint.
type ModelMeta struct {
	Checkpoint      string       `json:"checkpoint_digest"`
	Config          model.Config `json:"config"`
	Params          int          `json:"params"`
	Step            int          `json:"step"`
	SeenTokens      int64        `json:"seen_tokens"`
	FlipDone        bool         `json:"flip_done"`
	ActBits         int          `json:"act_bits"`
	TokenizerDigest string       `json:"tokenizer_digest"`
}

// EvalConfig records how the evaluation was made.
type EvalConfig struct {
	MaxPrompts     int    `json:"max_prompts"`
	MaxNewTokens   int    `json:"max_new_tokens"`
	SpeedPrompts   int    `json:"speed_prompts"`
	SpeedNewTokens int    `json:"speed_new_tokens"`
	Threads        int    `json:"threads"`
	TestDigest     string `json:"test_digest"`
}

// Quality is the task quality of the greedy answers plus held-out losses.
type Quality struct {
	quality.Summary
	HeldOutCE   float64  `json:"held_out_ce"`
	KLToTeacher *float64 `json:"kl_to_teacher,omitempty"`
}

// Speed holds tokens/s per path and thread count.
type Speed struct {
	FakeQuant PathSpeed `json:"fake_quant"`
	Packed    PathSpeed `json:"packed"`
}

// PathSpeed is one inference path on one thread and on all the step's CPUs.
type PathSpeed struct {
	OneThread  TPS `json:"one_thread"`
	AllThreads TPS `json:"all_threads"`
}

// TPS is prefill and decode throughput with the KV cache.
type TPS struct {
	PrefillTPS    float64 `json:"prefill_tps"`
	DecodeTPS     float64 `json:"decode_tps"`
	PrefillTokens int     `json:"prefill_tokens"`
	DecodeTokens  int     `json:"decode_tokens"`
}

// Memory is counted from the tensors: the fp32 training weights and the
// packed inference model (2-bit ternary weights, fp32 scales, fp32
// embedding, head and norms; other projections dense).
type Memory struct {
	DenseFP32Bytes int64   `json:"dense_fp32_bytes"`
	PackedBytes    int64   `json:"packed_bytes"`
	Compression    float64 `json:"compression"`
}

// QEIMetrics is the seed's qei_metrics section, measured. GB are 1e9 bytes.
type QEIMetrics struct {
	StudentTPS      float64  `json:"student_tps"`
	TeacherTPS      float64  `json:"teacher_tps"`
	StudentMemoryGB float64  `json:"student_memory_gb"`
	TeacherMemoryGB float64  `json:"teacher_memory_gb"`
	StudentQuality  float64  `json:"student_quality"`
	TeacherQuality  float64  `json:"teacher_quality"`
	QEI             *float64 `json:"qei"`
	QEISpeed        *float64 `json:"qei_speed"`
	Note            string   `json:"note,omitempty"`
}

// Result is one test prompt's answer.
type Result struct {
	Index        int           `json:"idx"`
	Prompt       string        `json:"prompt"`
	Reference    string        `json:"reference"`
	Completion   string        `json:"completion"`
	FinishReason string        `json:"finish_reason"`
	Tokens       int           `json:"completion_tokens"`
	Quality      quality.Score `json:"quality"`
}

func modelMeta(m *model.Model, meta model.CheckpointMeta, digest string) ModelMeta {
	return ModelMeta{Checkpoint: digest, Config: m.Config().Resolved(), Params: m.NumParams(), Step: meta.Step,
		SeenTokens: meta.SeenTokens, FlipDone: meta.FlipDone, ActBits: m.ActBits(), TokenizerDigest: meta.TokenizerDigest}
}

const gb = 1e9

// computeQEI fills qei_metrics from the measurements and the teacher's
// baseline. QEI is undefined (null, with a note) when the teacher's quality
// or memory is zero.
func (r *Report) computeQEI(t *baseline.Report, teacherMemoryGB float64) error {
	q := &r.QEIMetrics
	q.StudentTPS = r.Speed.Packed.AllThreads.DecodeTPS
	q.TeacherTPS = t.Metrics.AvgDecodeTPS
	q.StudentMemoryGB = float64(r.Memory.PackedBytes) / gb
	q.TeacherMemoryGB = float64(t.MemoryBytes) / gb
	if teacherMemoryGB > 0 {
		q.TeacherMemoryGB = teacherMemoryGB
	}
	q.StudentQuality = r.Quality.FieldAccuracy
	q.TeacherQuality = t.Quality.FieldAccuracy
	switch {
	case q.TeacherMemoryGB <= 0:
		return errors.New("the teacher's memory is unknown: its baseline counted none (a remote teacher); set teacher_memory_gb")
	case q.TeacherQuality <= 0:
		q.Note = "QEI is undefined: the teacher's field accuracy is 0"
		return nil
	}
	qei := (q.StudentQuality / q.TeacherQuality) / (q.StudentMemoryGB / q.TeacherMemoryGB)
	q.QEI = &qei
	if q.TeacherTPS > 0 {
		s := qei * q.StudentTPS / q.TeacherTPS
		q.QEISpeed = &s
	} else {
		q.Note = "QEI_speed is undefined: the teacher's decode tokens/s is 0"
	}
	return nil
}

// Normalize implements steps.Normalizer: the report without its timestamp,
// speeds and the QEI_speed that depends on them.
func (Kind) Normalize(output string, data []byte) ([]byte, error) {
	if output != "report" {
		return data, nil
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", output, err)
	}
	r.Timestamp, r.EvalConfig.Threads = "", 0
	r.Speed = Speed{}
	r.QEIMetrics.StudentTPS, r.QEIMetrics.TeacherTPS, r.QEIMetrics.QEISpeed = 0, 0, nil
	return json.Marshal(r)
}
