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
// Inference (inference.go) is the forward-only path with a KV cache. Its
// projections are fp32 (DenseProj) or packed 2-bit ternary (TernaryProj,
// integer kernels in packed_kernel.go); its embedding and head fp32 or, for
// models too large for fp32 (the 7B dry run), fp16 or int8 tables generated
// row by row from a seed (F16Table, Int8Table, seeded.go).
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
