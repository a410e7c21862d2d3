// Package model is the numerical core of bitflow: a decoder-only transformer
// whose projections are full precision, ternary (BitNet) or adaptive-bit,
// trained on the CPU with explicit forward and backward passes over flat
// float32 buffers (spec/model.md).
//
// The layout follows llm.c: every layer is a pair of free functions,
// xForward(out, inp, weights..., sizes) and xBackward(dinp, dweights..., dout,
// ...); gradients are d-prefixed and accumulated with += into buffers zeroed
// once per step; parameters and gradients each live in one flat allocation
// with per-tensor views. All matrix products go through one seam, matmul, in
// gemm.go.
//
// Determinism: every kernel partitions its work by output, so each output
// element has exactly one writer and is summed in a fixed order; chunk
// boundaries depend on the problem size only, never on GOMAXPROCS. Random
// numbers come from explicit seeded PCG generators whose state is saved in
// checkpoints. Same inputs, same bits, at any thread count.
//
// The package imports only the standard library and gonum; it knows nothing
// of YAML, stores or logging, and touches files only in the checkpoint
// helpers that are given paths.
package model
