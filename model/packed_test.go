package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPackedMatchesFakeQuant runs the packed ternary path (2-bit weights,
// integer activations and accumulation) against the fake-quant training
// forward at A8 and A4, for both ternary variants.
func TestPackedMatchesFakeQuant(t *testing.T) {
	for _, variant := range []string{VariantBitLinear, Variant1p58} {
		for _, act := range []string{ActQuantAbsmaxToken, ActQuantClip4} {
			for _, bits := range []int{8, 4} {
				cfg := tinyConfig(variant)
				cfg.ActQuant = act
				cfg.LinearVariantMLPUp = VariantLinear // a dense site stays dense
				m := trainedish(t, cfg, 5)
				m.SetActBits(bits)
				T := cfg.BlockSize
				ids := randIDs(rand.New(rand.NewPCG(6, 6)), T, cfg.VocabSize)
				full, err := m.Forward(ids, nil, 1, T)
				if err != nil {
					t.Fatal(err)
				}
				inf := m.Inference(true)
				if _, ok := inf.Blocks[0].Q.(*TernaryProj); !ok {
					t.Fatalf("q projection is %T, want packed", inf.Blocks[0].Q)
				}
				if _, ok := inf.Blocks[0].Up.(*DenseProj); !ok {
					t.Fatalf("linear up projection is %T, want dense", inf.Blocks[0].Up)
				}
				// Each packed projection against its fake-quant twin on the
				// same input: only the summation order differs.
				dense := m.Inference(false)
				rng := rand.New(rand.NewPCG(7, 7))
				for bi := range inf.Blocks {
					pb, db := inf.Blocks[bi], dense.Blocks[bi]
					for j, pp := range []Proj{pb.Q, pb.K, pb.V, pb.O, pb.Gate, pb.Up, pb.Down} {
						dp := []Proj{db.Q, db.K, db.V, db.O, db.Gate, db.Up, db.Down}[j]
						in, out := pp.Dims()
						x := randVec(rng, 3*in, 1)
						a, b := make([]float32, 3*out), make([]float32, 3*out)
						pp.Forward(a, x, 3, bits)
						dp.Forward(b, x, 3, bits)
						var sc float64
						for _, v := range b {
							sc = math.Max(sc, math.Abs(float64(v)))
						}
						if d := maxAbsDiff(a, b); d > 1e-5*sc {
							t.Errorf("%s/%s A%d block %d site %d: packed differs by %g of %g", variant, act, bits, bi, j, d, sc)
						}
					}
				}
				// End to end, a last-bit difference may move an activation
				// across a rounding boundary in a later layer, so the
				// tolerance is one quantization step's worth, not float eps:
				// 2e-3 at A8, scaled by the step (1/qmax) at fewer bits.
				tol := 2e-3 * 127 / float64(int(1)<<(bits-1)-1)
				got, err := inf.NewSession(T).Forward(ids)
				if err != nil {
					t.Fatal(err)
				}
				var scale float64
				for _, v := range full {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				if d := maxAbsDiff(got, full); d > tol*scale {
					t.Errorf("%s/%s A%d: packed logits differ by %g (max |logit| %g)", variant, act, bits, d, scale)
				}
			}
		}
	}
}

// TestPackedBytes counts dense and packed memory from the tensors and
// checks them against the arithmetic of the shapes.
func TestPackedBytes(t *testing.T) {
	cfg := tinyConfig(VariantBitLinear)
	m := trainedish(t, cfg, 7)
	C, V, I, H, L := cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.MLPHidden, cfg.NLayer
	proj := 3*C*I + I*C + 2*C*H + H*C
	scales := 3*I + C + 2*H + C
	dense := 4 * (2*V*C + L*(2*C+proj+scales) + C)
	if got := m.DenseBytes(); got != int64(dense) {
		t.Errorf("DenseBytes = %d, want %d", got, dense)
	}
	rows := func(in, out int) int { return out * ((in + 3) / 4) }
	packedW := 3*rows(C, I) + rows(I, C) + 2*rows(C, H) + rows(H, C)
	packed := 4*(2*V*C+L*2*C+C) + L*(packedW+4*scales)
	if got := m.Inference(true).Bytes(); got != int64(packed) {
		t.Errorf("packed Bytes = %d, want %d", got, packed)
	}
	if got := m.Inference(false).Bytes(); got != int64(4*(2*V*C+L*(2*C+proj)+C)) {
		t.Errorf("fake-quant Bytes = %d", got)
	}
}

func TestTernaryProjSetGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	p := RandomTernaryProj(7, 5, true, 0.5, rng)
	counts := map[int]int{}
	for o := range 5 {
		for i := range 7 {
			counts[p.Get(o, i)]++
		}
	}
	if counts[-1] == 0 || counts[0] == 0 || counts[1] == 0 || len(counts) != 3 {
		t.Errorf("random codes %v", counts)
	}
	for o := range 5 {
		for i := range 7 {
			q := (o+i)%3 - 1
			p.Set(o, i, q)
			if p.Get(o, i) != q {
				t.Fatalf("Get(%d,%d) = %d after Set %d", o, i, p.Get(o, i), q)
			}
		}
	}
	// Integer path against a dense reference: y = (sum Q x_int) * scale / s.
	x := []float32{0.3, -1.2, 0.05, 2.0, -0.7, 0.9, -2.5}
	out := make([]float32, 5)
	p.Forward(out, x, 1, 8)
	s := absmaxScale(x, 8)
	for o := range 5 {
		var acc float64
		for i, v := range x {
			acc += float64(p.Get(o, i)) * float64(min(max(roundEven(v*s), -128), 127))
		}
		want := acc / float64(s) * 0.5
		if math.Abs(float64(out[o])-want) > 1e-5 {
			t.Errorf("out[%d] = %g, want %g", o, out[o], want)
		}
	}
	if p.Bytes() != 5*2+5*4 {
		t.Errorf("Bytes = %d", p.Bytes())
	}
}
