package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "a.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}},
		{Name: "b.bit_param", Shape: []int{1}, Data: []float32{8}},
	}
	var buf bytes.Buffer
	if err := Write(&buf, in, map[string]string{"step": "7"}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	hl := binary.LittleEndian.Uint64(raw)
	if hl%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", hl)
	}
	// The header is plain JSON with the reference layout.
	var h map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &h); err != nil {
		t.Fatal(err)
	}
	if string(h["b.bit_param"]) != `{"dtype":"F32","shape":[1],"data_offsets":[24,28]}` {
		t.Errorf("header entry = %s", h["b.bit_param"])
	}
	if len(raw) != 8+int(hl)+28 {
		t.Errorf("file length %d", len(raw))
	}
	f, err := Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["step"] != "7" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	for _, want := range in {
		got, err := f.Get(want.Name, want.Shape...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want.Data[i]) {
				t.Errorf("%s[%d] = %v, want %v", want.Name, i, got[i], want.Data[i])
			}
		}
	}
	if _, err := f.Get("nope"); !errors.Is(err, ErrMissing) {
		t.Errorf("Get(nope) = %v", err)
	}
	if _, err := f.Get("a.weight", 3, 2); err == nil {
		t.Error("wrong shape accepted")
	}
}

func TestReadRejectsCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{{Name: "x", Shape: []int{4}, Data: make([]float32, 4)}}, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for name, b := range map[string][]byte{
		"truncated data":   good[:len(good)-1],
		"truncated header": good[:10],
		"huge header":      append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...),
		"bad json":         append(append([]byte{}, good[:8]...), bytes.Repeat([]byte{'x'}, len(good)-8)...),
	} {
		if _, err := Read(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := Write(&buf, []Tensor{{Name: "x", Shape: []int{3}, Data: make([]float32, 4)}}, nil); err == nil {
		t.Error("shape mismatch written")
	}
}
