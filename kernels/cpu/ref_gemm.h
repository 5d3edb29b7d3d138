/* ref_gemm.h — the reference single-precision GEMM that MatMul, Gemm and Conv (im2col) share.
 *
 * Plain C, fp32 accumulation, row-major, i-k-j loop order with cache blocking over K and N and
 * rows (or column blocks) spread over the thread pool. It is the ground truth the SIMD and
 * CUDA GEMMs are tested against, not the fastest GEMM Zenith has.
 */
#ifndef ZN_REF_GEMM_H
#define ZN_REF_GEMM_H

#include <stdbool.h>
#include <stdint.h>

struct zn_threadpool;

/* C = alpha * op(A) * op(B) + beta * C, all row-major.
 *   op(A): (M,K); A is (M,K) with row stride lda, or (K,M) when trans_a.
 *   op(B): (K,N); B is (K,N) with row stride ldb, or (N,K) when trans_b.
 *   C: (M,N) with row stride ldc. beta == 0 overwrites C (NaN in C does not leak through).
 * pool may be NULL (serial). Must not be called from inside a parallel_for of the same pool. */
void zn_ref_sgemm(struct zn_threadpool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
                  int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float beta, float *C, int64_t ldc);

#endif
