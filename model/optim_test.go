package model

import (
	"math"
	"testing"
)

// TestAdamW checks one update by hand and that decay touches only the 2-D
// weights.
func TestAdamW(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), m.Params...)
	o := NewAdamW(m, 0.9, 0.95, 1e-8, 0.1)
	const lr = 1e-2
	// Zero gradient: only decoupled decay moves parameters.
	m.ZeroGrad()
	o.Step(m.Params, m.Grads, lr)
	for _, tn := range m.Tensors() {
		for i := tn.Offset; i < tn.Offset+tn.Size(); i++ {
			want := before[i]
			if tn.Decay {
				want = float32(float64(before[i]) * (1 - lr*0.1))
			}
			if m.Params[i] != want {
				t.Fatalf("%s: decay step gave %g, want %g (decay %v)", tn.Name, m.Params[i], want, tn.Decay)
			}
		}
	}
	for _, name := range []string{"norm.weight", "blocks.0.attn.q_proj.scale", "blocks.1.mlp_norm.weight"} {
		found := false
		for _, tn := range m.Tensors() {
			if tn.Name == name {
				found = true
				if tn.Decay {
					t.Errorf("%s is decayed", name)
				}
			}
		}
		if !found {
			t.Errorf("no tensor %s", name)
		}
	}
	// Second step with gradient g = 0.5 on one scale (no decay): t = 2,
	// m = 0.05, v = 0.0125; m_hat = 0.05/0.19, v_hat = 0.0125/0.0975.
	i := m.lay.tensors[m.lay.index["norm.weight"]].Offset
	p0 := float64(m.Params[i])
	m.Grads[i] = 0.5
	o.Step(m.Params, m.Grads, lr)
	mh, vh := 0.05/(1-0.81), 0.0125/(1-0.95*0.95)
	want := p0 - lr*mh/(math.Sqrt(vh)+1e-8)
	if math.Abs(float64(m.Params[i])-want) > 1e-6 {
		t.Errorf("adam step %g, want %g", m.Params[i], want)
	}
}

func TestCosineLR(t *testing.T) {
	for _, tc := range []struct {
		it, warm, max int
		want          float64
	}{
		{0, 0, 100, 6e-4},
		{50, 0, 100, 3.3e-4},
		{100, 0, 100, 6e-5},
		{200, 0, 100, 6e-5},
		{0, 10, 110, 6e-4 / 11},
		{9, 10, 110, 6e-4 * 10 / 11},
		{10, 10, 110, 6e-4},
		{60, 10, 110, 3.3e-4},
	} {
		if got := CosineLR(tc.it, tc.warm, tc.max, 6e-4, 6e-5); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("CosineLR(%d, %d, %d) = %g, want %g", tc.it, tc.warm, tc.max, got, tc.want)
		}
	}
}

func TestClipGrads(t *testing.T) {
	g := make([]float32, 3*normChunk+5)
	g[0], g[len(g)-1] = 3, 4
	n := GradNorm(g)
	if n != 5 {
		t.Fatalf("norm %g", n)
	}
	ClipGrads(g, n, 1)
	if math.Abs(GradNorm(g)-1) > 1e-6 {
		t.Errorf("clipped norm %g", GradNorm(g))
	}
	h := []float32{0.3, 0.4}
	ClipGrads(h, GradNorm(h), 1)
	if h[0] != 0.3 || h[1] != 0.4 {
		t.Errorf("clip below the threshold changed %v", h)
	}
}
