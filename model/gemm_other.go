//go:build !amd64 || purego

package model

// simdGemmSets returns no kernel set: matmul uses gonum.
func simdGemmSets() []*gemmKernelSet { return nil }
