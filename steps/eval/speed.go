package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/tokenizer"
	"github.com/bitflow-dev/bitflow/steps/records"
)

// measureSpeed times greedy generation with the KV cache on the fake-quant
// and the packed paths, on one thread and on threads threads: prefill
// tokens/s over the prompts' forward passes, decode tokens/s over the
// steps that follow. The first prompt of each configuration is run once
// untimed, so that page faults and table setup are not measured.
func measureSpeed(ctx context.Context, m *model.Model, tok *tokenizer.Tokenizer, recs []records.Record, prompts, newTokens, threads int) (Speed, error) {
	var prompts32 [][]int32
	for _, r := range recs {
		if len(prompts32) == prompts {
			break
		}
		ids := tok.Encode(tokenizer.Template(r.Prompt))
		if len(ids)+newTokens <= m.Config().BlockSize {
			prompts32 = append(prompts32, ids)
		}
	}
	var s Speed
	for _, c := range []struct {
		packed bool
		dst    *PathSpeed
	}{{false, &s.FakeQuant}, {true, &s.Packed}} {
		inf := m.Inference(c.packed)
		for _, t := range []struct {
			n   int
			dst *TPS
		}{{1, &c.dst.OneThread}, {threads, &c.dst.AllThreads}} {
			if err := ctx.Err(); err != nil {
				return s, err
			}
			inf.SetThreads(t.n)
			tps, err := timeGeneration(inf, prompts32, newTokens)
			if err != nil {
				return s, err
			}
			*t.dst = tps
		}
	}
	return s, nil
}

func timeGeneration(inf *model.Inference, prompts [][]int32, newTokens int) (TPS, error) {
	var out TPS
	if len(prompts) == 0 {
		return out, nil
	}
	opt := model.GenerateOptions{MaxNewTokens: newTokens, EOS: -1} // no early stop: a fixed amount of work
	if _, err := inf.Generate(prompts[0], opt); err != nil {
		return out, err
	}
	var prefill, decode time.Duration
	for _, p := range prompts {
		g, err := inf.Generate(p, opt)
		if err != nil {
			return out, err
		}
		prefill += g.Prefill
		decode += g.Decode
		out.PrefillTokens += len(p)
		// The first generated token comes from the prefill's logits; the
		// decode steps are the forward passes after it.
		out.DecodeTokens += max(len(g.Tokens)-1, 0)
	}
	if prefill > 0 {
		out.PrefillTPS = float64(out.PrefillTokens) / prefill.Seconds()
	}
	if decode > 0 {
		out.DecodeTPS = float64(out.DecodeTokens) / decode.Seconds()
	}
	return out, nil
}

// writeJSONL writes one JSON object per line without HTML escaping.
func writeJSONL[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return bw.Flush()
}
