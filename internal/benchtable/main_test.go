package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestShort runs the whole table at -short (a tiny model, two matmul shapes,
// a 20-step workflow, one iteration each) so the tool does not rot; it checks
// that every row is there and measured, not how fast anything is.
func TestShort(t *testing.T) {
	var out, progress bytes.Buffer
	if err := run([]string{"-short", "-benchtime", "1x", "-json"}, &out, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := []string{"matmul qkvo_fwd_2048x128x128", "matmul square_256", "train bitlinear student", "train step allocations",
		"decode fake-quant (KV cache)", "decode packed ternary (KV cache)", "decode packed / fake-quant", "cached rerun, 20-step workflow"}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(want), rep.Rows)
	}
	for i, r := range rep.Rows {
		if r.Metric != want[i] {
			t.Errorf("row %d is %q, want %q", i, r.Metric, want[i])
		}
		if r.Value <= 0 && r.Unit != "allocs/step" {
			t.Errorf("%s: %v %s", r.Metric, r.Value, r.Unit)
		}
		if r.Threads < 1 {
			t.Errorf("%s: threads %d", r.Metric, r.Threads)
		}
	}
	var table bytes.Buffer
	if err := printTable(&table, &rep); err != nil {
		t.Fatal(err)
	}
	for _, w := range append(want, "metric", "GFLOPS", "tokens/s") {
		if !strings.Contains(table.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, table.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-cpu", "0"}, {"-cpu", "x"}, {"-count", "0"}, {"-steps", "0"}, {"extra"},
		{"-torch", "torch_student.py", "-python", "/nonexistent/python3"}} {
		var out, errs bytes.Buffer
		if err := run(args, &out, &errs); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 9: "9", 0.391: "0.39", 12.34: "12.3", 132.4: "132", 97113.2: "97,113", 1234567: "1,234,567"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLastFields(t *testing.T) {
	kv := lastFields([]byte("warning\ntorch 1.13.0a0 threads=1 variant=bitlinear params=1187456 train_tokens_per_s=3961 decode_tokens_per_s_no_kv_cache=128.4\n\n"))
	if kv["torch"] != "1.13.0a0" || kv["train_tokens_per_s"] != "3961" || kv["decode_tokens_per_s_no_kv_cache"] != "128.4" {
		t.Errorf("%v", kv)
	}
}
