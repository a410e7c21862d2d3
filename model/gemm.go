package model

import (
	"fmt"
	"os"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// impl is gonum's pure-Go BLAS, the "go" path of matmul. It splits a
// product into 64x64 output blocks, gives each block to one goroutine and
// sums the inner dimension block by block in ascending order, so every
// output element sees the same sequence of float32 multiply-adds whatever
// GOMAXPROCS is.
var impl gonum.Implementation

// gemmSets are the SIMD kernel sets this CPU runs, fastest first (empty on
// other architectures and with the purego build tag).
var gemmSets = simdGemmSets()

// gemmImpl is the implementation matmul uses: a SIMD kernel set, or nil for
// gonum. It is the fastest set unless the environment variable BITFLOW_GEMM
// names another path (avx512, avx2 or go); a path this CPU cannot run is
// ignored. Tests and benchmarks switch it with setGemmPath.
var gemmImpl = defaultGemm(os.Getenv("BITFLOW_GEMM"))

func defaultGemm(env string) *gemmKernelSet {
	if env == "go" {
		return nil
	}
	for _, s := range gemmSets {
		if s.name == env {
			return s
		}
	}
	if len(gemmSets) > 0 {
		return gemmSets[0]
	}
	return nil
}

// gemmPaths lists the matmul paths this CPU runs, fastest first; "go" is
// always last.
func gemmPaths() []string {
	var p []string
	for _, s := range gemmSets {
		p = append(p, s.name)
	}
	return append(p, "go")
}

// gemmPath names the path matmul uses.
func gemmPath() string {
	if gemmImpl == nil {
		return "go"
	}
	return gemmImpl.name
}

// setGemmPath makes matmul use the named path. It is not safe to call while
// matmul runs.
func setGemmPath(name string) error {
	if name == "go" {
		gemmImpl = nil
		return nil
	}
	for _, s := range gemmSets {
		if s.name == name {
			gemmImpl = s
			return nil
		}
	}
	return fmt.Errorf("model: matmul path %q is not available on this CPU (have %v)", name, gemmPaths())
}

// matmul performs c = op(a) * b (or c += op(a) * b when acc is true), row-major:
// c is (m,n) with leading dimension ldc; op(a) is a (m,k) with leading
// dimension lda, or, when transA is true, a is stored as (k,m) and transposed;
// b is (k,n) with leading dimension ldb.
//
// matmul is the single matrix-multiply seam of the package: a faster kernel
// may replace it if it keeps the contract that each c element is a sum over
// the inner index in ascending order, one float32 product added at a time.
// That contract is why only the non-transposed b forms are offered: gonum's
// a*b and a^T*b kernels are axpy based (element order independent of memory
// alignment), while its a*b^T kernel reduces dot products in an order that
// depends on the address of b. Callers keep transposed copies instead.
//
// The SIMD paths (gemm_blocked.go) add each product with a fused
// multiply-add, starting from c's value when acc is true: one rounding per
// product instead of gonum's two, so their results differ from the go
// path's in the last bits, but not from each other's (AVX2 and AVX-512 give
// the same bits) nor with the number of threads.
func matmul(c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	if s := gemmImpl; s != nil {
		gemmBlocked(s, c, ldc, a, lda, transA, b, ldb, m, n, k, acc)
		return
	}
	beta := float32(0)
	if acc {
		beta = 1
	}
	tA := blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	impl.Sgemm(tA, blas.NoTrans, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

// transpose performs dst (cols,rows) = src (rows,cols)^T, with leading
// dimensions lds for src and ldd for dst.
func transpose(dst []float32, ldd int, src []float32, lds int, rows, cols int) {
	for i := range rows {
		row := src[i*lds : i*lds+cols]
		for j, v := range row {
			dst[j*ldd+i] = v
		}
	}
}

// MatmulPath names the matmul path this process uses: "avx512" or "avx2"
// (whose results are bit-identical: both compute each output as one chain of
// fused multiply-adds in ascending k) or "go" (gonum, which rounds each
// product before adding it and so gives slightly different bits).
func MatmulPath() string { return gemmPath() }
