//go:build !purego

package model

import "golang.org/x/sys/cpu"

//go:generate go run packed_gen.go

// simdTernarySets returns the packed ternary kernel sets of packed_amd64.s
// this CPU runs, fastest first: AVX-512 VNNI (vpdpbusd on two rows per ZMM
// register; with VBMI also the AVX-512 activation quantizer) and AVX2
// (vpmaddubsw/vpmaddwd, one row per YMM register, and an AVX2 quantizer).
func simdTernarySets() []*ternaryKernelSet {
	var s []*ternaryKernelSet
	x := &cpu.X86
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VNNI && x.HasAVX2 {
		k := &ternaryKernelSet{name: "avx512vnni", kern: ternaryVNNIKernels, epi: ternaryEpiAVX512, epiWidth: 16}
		k.absMax, k.quant = ternaryAbsMaxAVX2, ternaryQuantAVX2
		if x.HasAVX512VBMI {
			k.absMax, k.quant = ternaryAbsMaxAVX512, ternaryQuantAVX512
		}
		s = append(s, k)
	}
	if x.HasAVX2 {
		s = append(s, &ternaryKernelSet{name: "avx2", kern: ternaryAVX2Kernels, epi: ternaryEpiAVX2, epiWidth: 8,
			absMax: ternaryAbsMaxAVX2, quant: ternaryQuantAVX2})
	}
	return s
}
