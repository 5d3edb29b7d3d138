/* gemm.h — the fast single-precision GEMM: packed, cache-blocked, SIMD micro-kernels chosen at
 * run time (AVX-512, AVX2+FMA, portable C), threaded over the pool, with a fused epilogue and
 * operands that can be packed once ahead of time (constant weights).
 *
 * Row-major throughout: C (M,N) = act(alpha * op(A) @ op(B) + beta * C + bias + residual).
 * It is not the reference (kernels/cpu/ref_gemm.h is, and the tests hold this one to it), and
 * it has no integer or half-precision variants.
 */
#ifndef ZN_GEMM_H
#define ZN_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../engine/types.h"

struct zn_threadpool;

typedef enum zn_gemm_act {
    ZN_GEMM_ACT_NONE = 0,
    ZN_GEMM_ACT_RELU,
    ZN_GEMM_ACT_GELU_ERF,  /* 0.5 x (1 + erf(x / sqrt 2)) */
    ZN_GEMM_ACT_GELU_TANH, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
} zn_gemm_act;

/* The SIMD path a GEMM runs on. AUTO: the best the CPU has (CPUID, checked once). */
typedef enum zn_gemm_path {
    ZN_GEMM_PATH_AUTO = 0,
    ZN_GEMM_PATH_SCALAR,
    ZN_GEMM_PATH_AVX2,
    ZN_GEMM_PATH_AVX512,
} zn_gemm_path;

/* An operand packed ahead of time into the micro-kernel's panel layout (see zn_gemm_pack_a /
 * zn_gemm_pack_b). Opaque; free with zn_gemm_packed_free. It is tied to the path it was
 * packed for and is read-only afterwards, so sessions on several threads may share it. */
typedef struct zn_gemm_packed zn_gemm_packed;

typedef struct zn_gemm_args {
    bool trans_a, trans_b; /* A is (K,M) / B is (N,K) when set */
    int64_t M, N, K;
    float alpha, beta;     /* beta == 0: C is written without being read (NaN does not leak) */
    const float *A;        /* (M,K) or (K,M), row stride lda; ignored when packed_a is set */
    int64_t lda;
    const float *B;        /* (K,N) or (N,K), row stride ldb; ignored when packed_b is set */
    int64_t ldb;
    float *C;              /* (M,N), row stride ldc */
    int64_t ldc;
    const zn_gemm_packed *packed_a; /* optional: op(A) packed by zn_gemm_pack_a */
    const zn_gemm_packed *packed_b; /* optional: op(B) packed by zn_gemm_pack_b */
    /* epilogue, applied in this order after the product: + bias + residual, then act */
    const float *bias_col; /* (N): one value per column, or NULL */
    const float *bias_row; /* (M): one value per row (conv output channels), or NULL */
    const float *residual; /* (M,N) with row stride ldr, or NULL; may not alias C */
    int64_t ldr;
    zn_gemm_act act;
} zn_gemm_args;

/* C = act(alpha * op(A) @ op(B) + beta * C + bias + residual). pool may be NULL (serial).
 * Must not be called from inside a parallel_for of the same pool (pass NULL there).
 * ZN_ERR_OUT_OF_MEMORY (error set) when the per-thread packing buffers cannot be had. */
zn_status zn_sgemm(struct zn_threadpool *pool, const zn_gemm_args *args);

/* Packs op(B) (K,N) (B is (N,K) when trans_b) for the current path; NULL when out of memory. */
zn_gemm_packed *zn_gemm_pack_b(bool trans_b, int64_t K, int64_t N, const float *B, int64_t ldb);
/* Packs op(A) (M,K) (A is (K,M) when trans_a) for the current path; NULL when out of memory. */
zn_gemm_packed *zn_gemm_pack_a(bool trans_a, int64_t M, int64_t K, const float *A, int64_t lda);
void zn_gemm_packed_free(zn_gemm_packed *p);
/* Bytes a packed operand holds (for memory reports). */
size_t zn_gemm_packed_bytes(const zn_gemm_packed *p);

/* The path AUTO resolves to on this CPU, and its name ("avx512", "avx2", "scalar"). */
zn_gemm_path zn_gemm_best_path(void);
const char *zn_gemm_path_name(zn_gemm_path path);
/* Whether this CPU can run `path`. */
bool zn_gemm_path_available(zn_gemm_path path);

/* Test hook: forces every later call (and pack) onto `path` (AUTO restores the default).
 * Returns false, changing nothing, when the CPU cannot run it. Not thread-safe against
 * concurrent GEMMs; tests and benchmarks only. The environment variable ZN_GEMM_PATH
 * (scalar|avx2|avx512) does the same at start-up. */
bool zn_gemm_force_path(zn_gemm_path path);

#endif
