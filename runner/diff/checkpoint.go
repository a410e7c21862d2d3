package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bitflow-dev/bitflow/model"
	"github.com/bitflow-dev/bitflow/model/safetensors"
)

// CheckpointDiff compares two safetensors checkpoints tensor by tensor.
type CheckpointDiff struct {
	// Metadata lists the changed __metadata__ entries; the config entry
	// is compared field by field (config.n_layer, ...).
	Metadata []Value      `json:"metadata,omitempty"`
	Tensors  []TensorDiff `json:"tensors"`
	// TensorsChanged counts tensors that are not identical.
	TensorsChanged int `json:"tensors_changed"`
	// Flips and TernaryWeights total the ternary projections' flips and
	// weights (both 0 when the checkpoint has no ternary projection).
	Flips          int64 `json:"flips"`
	TernaryWeights int64 `json:"ternary_weights"`
}

// TensorDiff compares one tensor. L2 is ||other - base||, RelL2 that over
// ||base|| (absent for a zero base); both need equal shapes.
type TensorDiff struct {
	Name       string   `json:"name"`
	Change     string   `json:"change"`
	BaseShape  []int    `json:"base_shape,omitempty"`
	OtherShape []int    `json:"other_shape,omitempty"`
	L2         *float64 `json:"l2,omitempty"`
	RelL2      *float64 `json:"rel_l2,omitempty"`
	// Variant is the linear variant of a ternary projection; Flips counts
	// its weights whose ternary value differs between the two checkpoints,
	// quantized as the model quantizes them (model.TernaryCodes).
	Variant string `json:"variant,omitempty"`
	Flips   *int64 `json:"flips,omitempty"`
}

// CompareCheckpoints compares two safetensors files.
func CompareCheckpoints(a, b []byte) (*CheckpointDiff, error) {
	fa, err := safetensors.Read(bytes.NewReader(a))
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	fb, err := safetensors.Read(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("other: %w", err)
	}
	d := &CheckpointDiff{Metadata: compareMaps(flatMetadata(fa.Metadata), flatMetadata(fb.Metadata), false)}
	for _, name := range unionKeys(fa.Tensors, fb.Tensors) {
		ta, hasA := fa.Tensors[name]
		tb, hasB := fb.Tensors[name]
		td := TensorDiff{Name: name, BaseShape: ta.Shape, OtherShape: tb.Shape}
		switch {
		case !hasA:
			td.Change = Added
		case !hasB:
			td.Change = Removed
		case !slices.Equal(ta.Shape, tb.Shape):
			td.Change = Changed
		default:
			td.L2, td.RelL2 = l2Diff(ta.Data, tb.Data)
			td.Change = Same
			if *td.L2 != 0 || !slices.Equal(ta.Data, tb.Data) {
				td.Change = Changed
			}
			va, vb := ternaryVariant(fa, name), ternaryVariant(fb, name)
			if ca, cb := model.TernaryCodes(va, ta.Data), model.TernaryCodes(vb, tb.Data); ca != nil && cb != nil {
				var flips int64
				for i := range ca {
					if ca[i] != cb[i] {
						flips++
					}
				}
				td.Variant, td.Flips = vb, &flips
				d.Flips += flips
				d.TernaryWeights += int64(len(ca))
			}
		}
		if td.Change != Same {
			d.TensorsChanged++
		}
		d.Tensors = append(d.Tensors, td)
	}
	return d, nil
}

// l2Diff returns ||b - a|| and ||b - a|| / ||a||, accumulated in float64.
func l2Diff(a, b []float32) (*float64, *float64) {
	var dd, aa float64
	for i := range a {
		x := float64(b[i]) - float64(a[i])
		dd += x * x
		aa += float64(a[i]) * float64(a[i])
	}
	l2 := math.Sqrt(dd)
	if aa == 0 {
		return &l2, nil
	}
	return &l2, finite(l2 / math.Sqrt(aa))
}

// ternaryVariant returns the ternary variant of the tensor called name in
// f, or "": a projection weight (*_proj.weight) is ternary when the
// checkpoint's config says its site is bitlinear or bitlinear_1p58, or,
// without a config, when it has a per-row .scale beside it (bitlinear).
func ternaryVariant(f *safetensors.File, name string) string {
	if !strings.HasSuffix(name, "_proj.weight") {
		return ""
	}
	if cfgJSON, ok := f.Metadata["config"]; ok {
		cfg := model.DefaultConfig()
		if json.Unmarshal([]byte(cfgJSON), &cfg) == nil {
			if v := cfg.ProjectionVariant(name); v != "" {
				return v
			}
		}
	}
	if _, ok := f.Tensors[strings.TrimSuffix(name, ".weight")+".scale"]; ok {
		return model.VariantBitLinear
	}
	return ""
}

// flatMetadata returns the metadata with JSON-valued entries (the config)
// flattened into their fields.
func flatMetadata(md map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range md {
		var obj map[string]any
		if strings.HasPrefix(v, "{") && json.Unmarshal([]byte(v), &obj) == nil {
			for fk, fv := range Flatten(obj) {
				out[k+"."+fk] = fv
			}
			continue
		}
		out[k] = v
	}
	return out
}
