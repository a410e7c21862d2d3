//go:build !purego

package model

import "golang.org/x/sys/cpu"

//go:generate go run gemm_gen.go

// simdGemmSets returns the kernel sets of gemm_amd64.s this CPU runs,
// fastest first. Blocking: a kc x nr panel of b (32 KiB for AVX-512, 16 KiB
// for AVX2) stays in L1 while the row tiles of a task stream their a rows
// (mc x kc, 112 KiB / 96 KiB) from L2.
func simdGemmSets() []*gemmKernelSet {
	var s []*gemmKernelSet
	if cpu.X86.HasAVX512F {
		s = append(s, &gemmKernelSet{name: "avx512", mr: 14, nr: 32, kern: sgemmAVX512Kernels[:], kc: 256, mc: 112})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		s = append(s, &gemmKernelSet{name: "avx2", mr: 6, nr: 16, kern: sgemmAVX2Kernels[:], kc: 256, mc: 96})
	}
	return s
}
