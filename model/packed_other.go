//go:build !amd64 || purego

package model

// simdTernarySets returns no kernel set: TernaryProj uses the pure-Go
// kernels.
func simdTernarySets() []*ternaryKernelSet { return nil }
