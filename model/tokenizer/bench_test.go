package tokenizer

import (
	"strings"
	"testing"
)

// benchText is about 1 MB of pipeline-like text.
func benchText() string {
	var b strings.Builder
	for _, s := range sampleTexts(6000, 42) {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkEncode measures encoding throughput (MB/s) of a 1024-token
// tokenizer with a warm word cache, the steady state of a step.
func BenchmarkEncode(b *testing.B) {
	text := benchText()
	tok := mustTrain(b, sampleTexts(3000, 1), 1024)
	tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text)
	}
}

// BenchmarkEncodeCold measures encoding with an empty cache: every
// pre-token is merged.
func BenchmarkEncodeCold(b *testing.B) {
	text := benchText()
	tok := mustTrain(b, sampleTexts(3000, 1), 1024)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.cache = newWordCache()
		tok.Encode(text)
	}
}

// BenchmarkEncodeParallel measures encoding from all CPUs at once, each
// goroutine encoding one record at a time.
func BenchmarkEncodeParallel(b *testing.B) {
	texts := sampleTexts(2000, 42)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	tok := mustTrain(b, sampleTexts(3000, 1), 1024)
	b.SetBytes(int64(n))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, s := range texts {
				tok.Encode(s)
			}
		}
	})
}

// BenchmarkTrain measures training a 1024-token vocabulary on about 2 MB.
func BenchmarkTrain(b *testing.B) {
	texts := sampleTexts(12000, 42)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		mustTrain(b, texts, 1024)
	}
}
