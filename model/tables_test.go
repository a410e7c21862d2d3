package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// table is what the fp16 and int8 tables share: an embedding and a head.
type table interface {
	Embedding
	Proj
	At(v, i int) float32
}

// TestTablesAgainstFP32 checks the fp16 and int8 tables built from an fp32
// matrix against it: each stored value within the format's rounding, the
// lookups exact to the stored values, and the head product within the
// rounding of the stored values plus float32 summation.
func TestTablesAgainstFP32(t *testing.T) {
	const V, C, n = 37, 301, 19 // C not a multiple of the 256-column block
	rng := rand.New(rand.NewPCG(3, 4))
	w := randVec(rng, V*C, 0.02)
	x := randVec(rng, n*C, 1)
	for _, tc := range []struct {
		name string
		t    table
		// tol returns the allowed |stored - w| of row v.
		tol   func(v int) float64
		bytes int64
	}{
		{"fp16", NewF16Table(V, C, w), func(int) float64 { return 0.02 * 6 * math.Ldexp(1, -11) }, 2 * V * C},
		{"int8", NewInt8Table(V, C, w), nil, V*C + 4*V},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := tc.t
			if tc.tol == nil {
				it := tab.(*Int8Table)
				tc.tol = func(v int) float64 { return float64(it.Scales[v])/2 + 1e-9 }
			}
			for v := range V {
				for i := range C {
					if d := math.Abs(float64(tab.At(v, i)) - float64(w[v*C+i])); d > tc.tol(v) {
						t.Fatalf("value (%d,%d) = %g, fp32 %g", v, i, tab.At(v, i), w[v*C+i])
					}
				}
			}
			ids := []int32{5, 0, 36, 5}
			emb := make([]float32, len(ids)*C)
			tab.Lookup(emb, ids)
			for r, id := range ids {
				for i := range C {
					if emb[r*C+i] != tab.At(int(id), i) {
						t.Fatalf("lookup row %d col %d = %g, stored %g", r, i, emb[r*C+i], tab.At(int(id), i))
					}
				}
			}
			if in, out := tab.Dims(); in != C || out != V {
				t.Errorf("Dims = %d, %d", in, out)
			}
			if v, c := tab.Shape(); v != V || c != C {
				t.Errorf("Shape = %d, %d", v, c)
			}
			if tab.Bytes() != tc.bytes {
				t.Errorf("Bytes = %d, want %d", tab.Bytes(), tc.bytes)
			}
			got := make([]float32, n*V)
			tab.Forward(got, x, n, 8)
			// A token's logits do not depend on the tokens beside it.
			alone := make([]float32, V)
			for _, r := range []int{0, 7, n - 1} {
				tab.Forward(alone, x[r*C:(r+1)*C], 1, 8)
				if !slices.Equal(alone, got[r*V:(r+1)*V]) {
					t.Fatalf("token %d alone differs from token %d of %d", r, r, n)
				}
			}
			for r := range n {
				for v := range V {
					var stored, ref, mag float64
					for i := range C {
						xi := float64(x[r*C+i])
						stored += float64(tab.At(v, i)) * xi
						ref += float64(w[v*C+i]) * xi
						mag += math.Abs(xi)
					}
					g := float64(got[r*V+v])
					if d := math.Abs(g - stored); d > 1e-6*mag*0.02 {
						t.Fatalf("out(%d,%d) = %g, stored values give %g", r, v, g, stored)
					}
					if d := math.Abs(g - ref); d > tc.tol(v)*mag {
						t.Fatalf("out(%d,%d) = %g, fp32 reference %g", r, v, g, ref)
					}
				}
			}
		})
	}
}

// TestRandomTables checks that seeded tables do not depend on the thread
// count, differ between seeds and have the requested spread.
func TestRandomTables(t *testing.T) {
	const V, C, std = 300, 64, 0.02
	f1, f4 := RandomF16Table(V, C, std, 7, 1), RandomF16Table(V, C, std, 7, 4)
	if !slices.Equal(f1.Data, f4.Data) {
		t.Error("fp16 table depends on the thread count")
	}
	if slices.Equal(f1.Data, RandomF16Table(V, C, std, 8, 1).Data) {
		t.Error("fp16 tables of different seeds are equal")
	}
	i1, i4 := RandomInt8Table(V, C, std, 7, 1), RandomInt8Table(V, C, std, 7, 4)
	if !slices.Equal(i1.Data, i4.Data) || !slices.Equal(i1.Scales, i4.Scales) {
		t.Error("int8 table depends on the thread count")
	}
	for _, tab := range []table{f1, i1} {
		var s, s2 float64
		for v := range V {
			for i := range C {
				x := float64(tab.At(v, i))
				s += x
				s2 += x * x
			}
		}
		mean, sd := s/(V*C), math.Sqrt(s2/(V*C))
		if math.Abs(mean) > 0.001 || math.Abs(sd-std) > 0.001 {
			t.Errorf("%T: mean %g, std %g, want 0, %g", tab, mean, sd, std)
		}
	}
}

// TestInferenceWithTables runs a trained model's packed inference with its
// embedding and head converted to fp16 and to int8, against the fp32 ones.
func TestInferenceWithTables(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	m := trainedish(t, cfg, 12)
	T, V, C := cfg.BlockSize, cfg.VocabSize, cfg.NEmbd
	ids := randIDs(rand.New(rand.NewPCG(13, 13)), T, V)
	ref, err := m.Inference(true).NewSession(T).Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	ref = append([]float32(nil), ref...)
	head := make([]float32, V*C)
	transpose(head, C, m.Inference(true).Head.(*DenseProj).WT, V, C, V)
	var scale float64
	for _, v := range ref {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for _, tc := range []struct {
		name        string
		embed, head table
		tol         float64 // of the largest |logit|
	}{
		{"fp16", NewF16Table(V, C, m.wte), NewF16Table(V, C, head), 0.005},
		{"int8", NewInt8Table(V, C, m.wte), NewInt8Table(V, C, head), 0.02},
	} {
		inf := m.Inference(true)
		inf.Embed, inf.Head = tc.embed, tc.head
		inf.SetThreads(1)
		got, err := inf.NewSession(T).Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		d := maxAbsDiff(got, ref)
		if d > tc.tol*scale || d == 0 {
			t.Errorf("%s: logits differ from fp32 by %g (max |logit| %g)", tc.name, d, scale)
		}
		t.Logf("%s: logits differ from fp32 by %g (max |logit| %g)", tc.name, d, scale)
		if want := m.Inference(true).Bytes() - 8*int64(V*C) + tc.embed.Bytes() + tc.head.Bytes(); inf.Bytes() != want {
			t.Errorf("%s: Bytes = %d, want %d", tc.name, inf.Bytes(), want)
		}
	}
}
