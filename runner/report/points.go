package report

import (
	"bytes"
	"github.com/bitflow-dev/bitflow/internal/jsonpath"
	"strings"
)

// Where the x axis of the quality plot comes from. Training logs
// total_bits only for adaptive layers (spec model.md §4: the sum of
// b*numel(W), the quantity the bit-balanced loss trades against quality),
// so it is preferred when every point has it; a student without adaptive
// layers logs 0, and its size is then counted from the eval report's
// packed model, the bytes it really occupies at inference.
const (
	bitsFromTrain  = "total_bits of the student's training metrics (last line): bits of the adaptive layers' weights (spec model.md §4)"
	bitsFromPacked = "memory.packed_bytes x 8 of the eval report: the whole packed inference model (2-bit ternary weights, fp32 scales, embedding, head, norms)"
	bitsMixed      = "mixed: total_bits of the training metrics where logged (adaptive layers), else packed_bytes x 8 of the eval report; see each point's source"
)

// qualityMetric picks the y axis of the quality plot: the one asked for,
// else the eval report's field accuracy, else the sweep's first report
// metric — the first that is a number for some point.
func (l *loader) qualityMetric(r *Report, want string) string {
	if want != "" {
		return want
	}
	var cands []string
	for _, p := range r.Points {
		if wf := l.stepOfKind(p, "eval"); wf != "" {
			cands = append(cands, wf+".report.qei_metrics.student_quality")
			break
		}
	}
	cands = append(cands, "eval.report.qei_metrics.student_quality")
	if r.Sweep != nil && len(r.Sweep.Report) > 0 {
		cands = append(cands, r.Sweep.Report[0])
	}
	for _, c := range cands {
		for _, p := range r.Points {
			if v, err := l.metric(p, c); err == nil {
				if _, ok := number(v); ok {
					return c
				}
			}
		}
	}
	l.note("no quality metric found (eval.report.qei_metrics.student_quality or a report: metric); the quality plot is empty")
	return ""
}

// placePoints fills each point's quality, total bits and loss curve, and
// returns where the bits came from.
func (l *loader) placePoints(r *Report) string {
	train := make([]float64, len(r.Points))
	packed := make([]float64, len(r.Points))
	for i, p := range r.Points {
		if r.Quality != "" {
			if v, err := l.metric(p, r.Quality); err != nil {
				l.note("%s: quality %s: %v", p.Name, r.Quality, err)
			} else if f, ok := number(v); ok {
				p.Quality = &f
			}
		}
		ev := l.evalStep(p)
		if ev != "" {
			if b, err := l.output(p, ev, "report"); err == nil {
				if v, err := jsonpath.Extract(b, []string{"memory", "packed_bytes"}); err == nil {
					if f, ok := number(v); ok {
						packed[i] = 8 * f
					}
				}
			}
		}
		student := l.studentStep(p, ev)
		if student == "" {
			l.note("%s: no training step with a metrics output; no loss curve", p.Name)
			continue
		}
		b, err := l.output(p, student, "metrics")
		if err != nil {
			l.note("%s: loss curve: %v", p.Name, err)
			continue
		}
		p.Curve, train[i] = curve(b)
	}
	all := func(v []float64) bool {
		for i, x := range v {
			if x <= 0 && (r.Points[i].Quality != nil || r.Quality == "") {
				return false
			}
		}
		return true
	}
	src := bitsMixed
	switch {
	case all(train):
		src = bitsFromTrain
	case all(packed):
		src = bitsFromPacked
	}
	for i, p := range r.Points {
		x, from := train[i], "total_bits"
		if src == bitsFromPacked || (src == bitsMixed && x <= 0) {
			x, from = packed[i], "packed_bytes"
		}
		if x > 0 {
			p.TotalBits, p.BitsFrom = &x, from
		} else if p.Quality != nil {
			l.note("%s: total bits unknown (no total_bits in training metrics, no packed_bytes in an eval report)", p.Name)
		}
	}
	return src
}

// evalStep is the point's eval step: of kind eval, or named eval.
func (l *loader) evalStep(p *Point) string {
	if wf := l.stepOfKind(p, "eval"); wf != "" {
		return wf
	}
	if l.step(p, "eval") != nil {
		return "eval"
	}
	return ""
}

// studentStep finds the step that trained the evaluated model: the one
// whose checkpoint the eval report names (a teacher is also a train
// step), else a step named student, else the last step of the point in
// run order that has a metrics output.
func (l *loader) studentStep(p *Point, evalStep string) string {
	if evalStep != "" {
		if b, err := l.output(p, evalStep, "report"); err == nil {
			if v, err := jsonpath.Extract(b, []string{"model_meta", "checkpoint_digest"}); err == nil {
				want := strings.TrimPrefix(format(v), "sha256:")
				for _, wf := range sortedKeys(p.steps) {
					if s := l.step(p, wf); s != nil && s.Outputs["checkpoint"].Digest.Hex() == want && want != "" {
						return wf
					}
				}
			}
		}
	}
	if s := l.step(p, "student"); s != nil {
		if _, ok := s.Outputs["metrics"]; ok {
			return "student"
		}
	}
	byRun := map[string]string{}
	for wf, rs := range p.steps {
		if prev, dup := byRun[rs]; !dup || wf < prev {
			byRun[rs] = wf
		}
	}
	last := ""
	for _, s := range l.rec.Steps {
		if wf, ok := byRun[s.Name]; ok {
			if _, has := s.Outputs["metrics"]; has {
				last = wf
			}
		}
	}
	return last
}

// curve reads loss against step from a metrics log (JSONL, one line per
// log interval), and the last total_bits logged. A line without a step
// counts as the next interval.
func curve(b []byte) ([]XY, float64) {
	var xy []XY
	bits := 0.0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		v, err := jsonpath.Decode(line)
		if err != nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if f, ok := number(m["total_bits"]); ok {
			bits = f
		}
		loss, ok := number(m["loss"])
		if !ok {
			continue
		}
		x := float64(len(xy) + 1)
		for _, k := range []string{"step", "iter", "iteration"} {
			if f, ok := number(m[k]); ok {
				x = f
				break
			}
		}
		xy = append(xy, XY{x, loss})
	}
	return xy, bits
}
