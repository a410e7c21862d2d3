package diff

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/bitflow-dev/bitflow/model/safetensors"
)

// writeSafetensors writes tensors (1-D unless shapes says otherwise).
func writeSafetensors(t *testing.T, w io.Writer, tensors map[string][]float32, shapes map[string][]int, md map[string]string) {
	t.Helper()
	var ts []safetensors.Tensor
	for _, name := range sortedKeys(tensors) {
		shape := shapes[name]
		if shape == nil {
			shape = []int{len(tensors[name])}
		}
		ts = append(ts, safetensors.Tensor{Name: name, Shape: shape, Data: tensors[name]})
	}
	if err := safetensors.Write(w, ts, md); err != nil {
		t.Fatal(err)
	}
}

func TestDiffCompareCheckpoints(t *testing.T) {
	const q = "blocks.0.attn.q_proj"
	shapes := map[string][]int{q + ".weight": {2, 4}}
	// Bitlinear by its .scale sibling: Delta = 0.7 mean|W|.
	// base  mean|W| = 4.3/8, Delta 0.37625: codes 1 -1 0 0 | -1 1 0 1
	// other mean|W| = 4.5/8, Delta 0.39375: codes 1 -1 1 0 |  0 1 0 1
	// so two flips (weights 2 and 4), and ||other-base|| = sqrt(0.4^2+0.2^2).
	var a, b bytes.Buffer
	writeSafetensors(t, &a, map[string][]float32{
		q + ".weight": {1, -1, 0.1, 0.2, -0.5, 0.5, 0, 1},
		q + ".scale":  {1, 1},
		"wte.weight":  {1, 2, 3},
		"head.weight": {1, 2},
		"old":         {1},
	}, shapes, map[string]string{"step": "10"})
	writeSafetensors(t, &b, map[string][]float32{
		q + ".weight": {1, -1, 0.5, 0.2, -0.3, 0.5, 0, 1},
		q + ".scale":  {1, 1},
		"wte.weight":  {1, 2, 3},
		"head.weight": {1, 2, 3},
		"new":         {1},
	}, shapes, map[string]string{"step": "20"})
	d, err := CompareCheckpoints(a.Bytes(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]TensorDiff{}
	for _, td := range d.Tensors {
		m[td.Name] = td
	}
	w := m[q+".weight"]
	if w.Change != Changed || w.Flips == nil || *w.Flips != 2 || w.Variant != "bitlinear" {
		t.Fatalf("projection: %+v", w)
	}
	wantL2 := math.Sqrt(sq(0.5-float64(float32(0.1))) + sq(float64(float32(-0.3))+0.5))
	if math.Abs(*w.L2-wantL2) > 1e-12 {
		t.Errorf("L2 %g, want %g", *w.L2, wantL2)
	}
	if want := wantL2 / math.Sqrt(3.55); math.Abs(*w.RelL2-want) > 1e-6 {
		t.Errorf("relative L2 %g, want %g", *w.RelL2, want)
	}
	if m[q+".scale"].Change != Same || m[q+".scale"].Flips != nil || m["wte.weight"].Change != Same {
		t.Errorf("unchanged tensors: %+v %+v", m[q+".scale"], m["wte.weight"])
	}
	if h := m["head.weight"]; h.Change != Changed || h.L2 != nil || len(h.OtherShape) != 1 || h.OtherShape[0] != 3 {
		t.Errorf("reshaped tensor: %+v", h)
	}
	if m["old"].Change != Removed || m["new"].Change != Added {
		t.Errorf("old %+v new %+v", m["old"], m["new"])
	}
	if d.TensorsChanged != 4 || d.Flips != 2 || d.TernaryWeights != 8 {
		t.Errorf("summary: %d changed, %d flips of %d", d.TensorsChanged, d.Flips, d.TernaryWeights)
	}
	if len(d.Metadata) != 1 || d.Metadata[0].Key != "step" {
		t.Errorf("metadata: %+v", d.Metadata)
	}
}

// TestDiffCheckpointVariantFromConfig takes the variant from the config
// metadata: bitlinear_1p58 quantizes by round(w/(gamma+1e-5)), gamma =
// mean|W|, so 0.2/0.575 rounds to 0 and 0.4/0.625 to 1: one flip.
func TestDiffCheckpointVariantFromConfig(t *testing.T) {
	const k = "blocks.0.attn.k_proj.weight"
	md := map[string]string{"config": `{"n_layer": 1, "linear_variant_attn": "bitlinear_1p58", "linear_variant_mlp": "linear"}`}
	var a, b bytes.Buffer
	writeSafetensors(t, &a, map[string][]float32{k: {1, -1, 0.1, 0.2}, "blocks.0.mlp.up_proj.weight": {1, 0}}, nil, md)
	md2 := map[string]string{"config": `{"n_layer": 1, "linear_variant_attn": "bitlinear_1p58", "linear_variant_mlp": "linear", "act_bits_after": 3}`}
	writeSafetensors(t, &b, map[string][]float32{k: {1, -1, 0.1, 0.4}, "blocks.0.mlp.up_proj.weight": {0, 1}}, nil, md2)
	d, err := CompareCheckpoints(a.Bytes(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, td := range d.Tensors {
		switch td.Name {
		case k:
			if td.Flips == nil || *td.Flips != 1 || td.Variant != "bitlinear_1p58" {
				t.Errorf("1p58 projection: %+v", td)
			}
		default:
			if td.Flips != nil {
				t.Errorf("%s (linear) has flips", td.Name)
			}
		}
	}
	if len(d.Metadata) != 1 || d.Metadata[0].Key != "config.act_bits_after" {
		t.Errorf("metadata: %+v", d.Metadata)
	}
}

func sq(x float64) float64 { return x * x }
