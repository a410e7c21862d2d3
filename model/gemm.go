package model

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// impl is gonum's pure-Go BLAS. It splits a product into 64x64 output blocks,
// gives each block to one goroutine and sums the inner dimension block by
// block in ascending order, so every output element sees the same sequence of
// float32 multiply-adds whatever GOMAXPROCS is.
var impl gonum.Implementation

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
func matmul(c []float32, ldc int, a []float32, lda int, transA bool, b []float32, ldb int, m, n, k int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	beta := float32(0)
	if acc {
		beta = 1
	}
	if k == 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
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
