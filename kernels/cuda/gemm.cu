/* gemm.cu — MatMul, Gemm and ZnLinear on the GPU: cuBLASLt with fused epilogues
 * (cuda.*_lt, priority 10) and a plain shared-memory tiled GEMM of our own (cuda.*_tiled,
 * priority 5: a max-autotune candidate, and a path the tests can check without cuBLAS).
 *
 * Row-major tensors meet column-major cuBLASLt through Y^T (N,M) = op(B)^T (N,K) @ op(A)^T (K,M):
 * a row-major (R,C) matrix is a column-major (C,R) one in the same bytes, so nothing is copied;
 * cuBLASLt's "A" is our B, its "B" is our A and its D is Y. The bias (N) is then a per-row
 * vector of D, which is what CUBLASLT_EPILOGUE_BIAS broadcasts. MatMul's batch dims become one
 * strided-batched call (a weight shared by every batch folds the batches into M instead); a
 * broadcast pattern no single stride expresses is left to the tiled kernel, which decodes any
 * batch broadcast per block.
 *
 * Epilogues: bias, relu and gelu_tanh fuse into cuBLASLt (its GELU is the tanh form). Exact
 * gelu (erf), and any activation after a residual, run as a small in-place element-wise kernel
 * after the matmul: the residual enters as C with beta = 1, and we do not rely on cuBLASLt
 * applying its activation after beta * C. Gemm's C is C itself when it is (M,N), the bias
 * epilogue when it is (N)/(1,N) with alpha = beta = 1, otherwise broadcast into Y by a kernel
 * first and read back in place (C = D).
 *
 * Prepare asks cuBLASLt's heuristic once (32 MiB workspace at most, 16-byte alignment assumed)
 * and keeps the algorithm; descriptors are rebuilt on the stack at each run (a few host calls,
 * no allocation) because sessions share the state and the bias pointer is only known then.
 * Everything in run() is graph-capturable: launches and cublasLtMatmul on the session's stream.
 * Not here: int8/fp8 GEMMs, split-K or stream-K of our own, pointer-array batching, attention.
 */
#include <cublasLt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/device.h"
#include "common.cuh"

extern "C" { /* C headers without their own extern "C" guard */
#include "../../engine/log.h"
#include "../cpu/matmul_layout.h"
}

#define LT_MAX_WORKSPACE ((uint64_t)32 << 20) /* the most workspace the heuristic may ask for */
#define LT_WORKSPACE_ALIGN 256                 /* workspace start inside our scratch */
#define LT_MIN_ALIGN 16u                       /* bytes; the planner gives 64, constants more */

#define TILE_M 64        /* output rows per block */
#define TILE_N 64        /* output columns per block */
#define TILE_K 16        /* depth of one shared-memory stage */
#define TILE_PAD 2       /* row padding: conflict-free stores for either load order */
#define TILE_THREADS 256 /* 16 x 16 threads, each 4 x 4 outputs strided by 16 */
#define TILE_MAX_GRID_Y 65535

enum { ACT_NONE, ACT_RELU, ACT_GELU, ACT_GELU_TANH, ACT_BAD };

/* Output batch bi -> element offsets into A and B: bi decomposes over dims (last fastest);
 * a stride of 0 is a broadcast dim. */
typedef struct gemm_batch {
    int rank;
    int64_t dims[ZN_MAX_RANK];
    int64_t a_stride[ZN_MAX_RANK], b_stride[ZN_MAX_RANK];
} gemm_batch;

/* ---- kernels -------------------------------------------------------------------------------- */

__device__ __forceinline__ float act_apply(int act, float v) {
    switch (act) {
    case ACT_RELU: return v < 0.0f ? 0.0f : v;
    case ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    case ACT_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    default: return v;
    }
}

__device__ __forceinline__ void batch_offsets(const gemm_batch &b, int64_t bi, int64_t *ao, int64_t *bo) {
    int64_t oa = 0, ob = 0;
    for (int d = b.rank - 1; d >= 0; d--) {
        int64_t idx = bi % b.dims[d];
        bi /= b.dims[d];
        oa += idx * b.a_stride[d];
        ob += idx * b.b_stride[d];
    }
    *ao = oa;
    *bo = ob;
}

/* Everything the tiled kernel reads, by value. Element (m,k) of op(A) is a[m*a_sm + k*a_sk],
 * (k,n) of op(B) is b[k*b_sk + n*b_sn], (m,n) of C is c[m*c_sm + n*c_sn] (0: broadcast). */
template <typename T> struct tiled_args {
    const T *a, *b, *c, *bias; /* c, bias: NULL when absent */
    T *y;                      /* (batches, M, N) */
    int64_t M, N, K, batches;
    int64_t a_sm, a_sk, b_sk, b_sn, c_sm, c_sn;
    float alpha, beta;
    int act;
    gemm_batch batch;
};

/* y[z] (M,N) = act(alpha * op(A)[z] @ op(B)[z] + beta * C + bias), fp32 accumulation.
 * Grid: (ceil(M/64), ceil(N/64), min(batches, 65535)); block: 256 threads. Each block stages
 * 64x16 of op(A) and 16x64 of op(B) in shared memory as fp32 (zero outside the matrix, so any
 * M, N, K works) and each thread accumulates rows ty+16i, columns tx+16j (i, j < 4): the
 * shared reads are broadcasts or 16 consecutive words, and the stores are coalesced. Loads
 * walk whichever of m/k (n/k) is contiguous in memory. */
template <typename T>
__global__ void __launch_bounds__(TILE_THREADS) gemm_tiled_kernel(const tiled_args<T> g) {
    __shared__ float as[TILE_K][TILE_M + TILE_PAD]; /* as[k][m] = op(A)[m0 + m, k0 + k] */
    __shared__ float bs[TILE_K][TILE_N + TILE_PAD]; /* bs[k][n] = op(B)[k0 + k, n0 + n] */
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t m0 = (int64_t)blockIdx.x * TILE_M, n0 = (int64_t)blockIdx.y * TILE_N;
    const bool a_k_fast = g.a_sk == 1, b_n_fast = g.b_sn == 1;
    for (int64_t z = blockIdx.z; z < g.batches; z += gridDim.z) {
        int64_t ao, bo;
        batch_offsets(g.batch, z, &ao, &bo);
        const T *a = g.a + ao, *b = g.b + bo;
        float acc[4][4];
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
            for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
        for (int64_t k0 = 0; k0 < g.K; k0 += TILE_K) {
#pragma unroll
            for (int r = 0; r < TILE_M * TILE_K / TILE_THREADS; r++) {
                int e = tid + r * TILE_THREADS;
                int lm = a_k_fast ? e / TILE_K : e % TILE_M;
                int lk = a_k_fast ? e % TILE_K : e / TILE_M;
                int64_t m = m0 + lm, k = k0 + lk;
                as[lk][lm] = m < g.M && k < g.K ? zn_ld(a, m * g.a_sm + k * g.a_sk) : 0.0f;
            }
#pragma unroll
            for (int r = 0; r < TILE_N * TILE_K / TILE_THREADS; r++) {
                int e = tid + r * TILE_THREADS;
                int ln = b_n_fast ? e % TILE_N : e / TILE_K;
                int lk = b_n_fast ? e / TILE_N : e % TILE_K;
                int64_t n = n0 + ln, k = k0 + lk;
                bs[lk][ln] = n < g.N && k < g.K ? zn_ld(b, k * g.b_sk + n * g.b_sn) : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < TILE_K; kk++) {
                float av[4], bv[4];
#pragma unroll
                for (int i = 0; i < 4; i++) av[i] = as[kk][ty + 16 * i];
#pragma unroll
                for (int j = 0; j < 4; j++) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
            __syncthreads();
        }
        T *y = g.y + z * g.M * g.N;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int64_t m = m0 + ty + 16 * i;
            if (m >= g.M) continue;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int64_t n = n0 + tx + 16 * j;
                if (n >= g.N) continue;
                float v = g.alpha == 0.0f ? 0.0f : g.alpha * acc[i][j]; /* alpha = 0: A, B unread */
                if (g.c) v += g.beta * zn_ld(g.c, m * g.c_sm + n * g.c_sn);
                if (g.bias) v += zn_ld(g.bias, n);
                zn_st(y, m * g.N + n, act_apply(g.act, v));
            }
        }
    }
}

/* y[i] = act(y[i]) in place: y (n), after a cuBLASLt matmul whose epilogue could not do it. */
template <typename T, int ACT> __global__ void activation_kernel(T *y, int64_t n) {
    ZN_GRID_STRIDE(i, n) zn_st(y, i, act_apply(ACT, zn_ld(y, i)));
}

/* y (M,N) = c broadcast: y[m,n] = c[m*c_sm + n*c_sn], copied bit for bit. */
template <typename T>
__global__ void broadcast_c_kernel(T *y, const T *c, int64_t M, int64_t N, int64_t c_sm, int64_t c_sn) {
    ZN_GRID_STRIDE(i, M * N) {
        int64_t m = i / N, n = i - m * N;
        y[i] = c[m * c_sm + n * c_sn];
    }
}

/* ---- the problem: one (strided-batched) GEMM in row-major terms ---------------------------- */

/* Y: (batches, M, N) = act(alpha * op(A) @ op(B) + beta * C + bias), op(A): (M,K) (stored
 * (K,M) when ta), op(B): (K,N) (stored (N,K) when tb). C: (c_rows, c_cols), each M or N or 1,
 * only when batches == 1; bias: (N). Inputs: A = in[0], B = in[1]. */
typedef struct gemm_problem {
    zn_dtype dtype; /* of every input and the output */
    int64_t M, N, K, batches;
    bool ta, tb;
    float alpha, beta;
    int act;
    int c_in;    /* input index of C, or -1 (Gemm's C with beta = 0 is dropped here) */
    int64_t c_rows, c_cols;
    int bias_in; /* input index of the bias, or -1 */
    gemm_batch batch;
} gemm_problem;

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool in_present(const zn_kernel_node *n, int i) { return i < n->n_in && present(&n->in[i]); }

static int activation_of(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
    if (!strcmp(a, "none")) return ACT_NONE;
    if (!strcmp(a, "relu")) return ACT_RELU;
    if (!strcmp(a, "gelu")) return ACT_GELU;
    if (!strcmp(a, "gelu_tanh")) return ACT_GELU_TANH;
    return ACT_BAD;
}

/* The float dtype every present input and the single output share. */
static bool one_float_dtype(const zn_kernel_node *n, zn_dtype *dt) {
    if (n->n_out != 1 || !zn_is_float_dtype(n->out[0].dtype)) return false;
    for (int i = 0; i < n->n_in; i++)
        if (in_present(n, i) && n->in[i].dtype != n->out[0].dtype) return false;
    *dt = n->out[0].dtype;
    return true;
}

/* MatMul, numpy semantics (kernels/cpu/matmul_layout.h): a: (batch_a..., M, K) or (K),
 * b: (batch_b..., K, N) or (K), batch dims broadcast. */
static bool matmul_problem(const zn_kernel_node *n, gemm_problem *p) {
    if (n->n_in != 2 || !in_present(n, 0) || !in_present(n, 1)) return false;
    if (n->in[0].rank < 1 || n->in[1].rank < 1) return false;
    zn_matmul_layout L;
    if (zn_matmul_layout_init(&L, &n->in[0], &n->in[1], &n->out[0]) != ZN_OK) return false;
    p->M = L.M;
    p->N = L.N;
    p->K = L.K;
    p->batches = L.batches;
    p->batch.rank = (int)L.batch_rank;
    for (int d = 0; d < p->batch.rank; d++) {
        p->batch.dims[d] = L.out_batch[d];
        p->batch.a_stride[d] = L.a_bstride[d];
        p->batch.b_stride[d] = L.b_bstride[d];
    }
    return true;
}

/* Gemm: a: (M,K) or (K,M) with transA, b: (K,N) or (N,K) with transB, c: (), (1), (N), (1,N),
 * (M,1), (1,1) or (M,N); y: (M,N) = alpha * op(a) @ op(b) + beta * c. */
static bool gemm_problem_init(const zn_kernel_node *n, gemm_problem *p) {
    if (n->n_in < 2 || n->n_in > 3 || !in_present(n, 0) || !in_present(n, 1)) return false;
    const zn_view *A = &n->in[0], *B = &n->in[1], *Y = &n->out[0];
    if (A->rank != 2 || B->rank != 2 || Y->rank != 2) return false;
    p->ta = zn_attrs_int(n->attrs, n->n_attrs, "transA", 0) != 0;
    p->tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    p->M = A->dims[p->ta ? 1 : 0];
    p->K = A->dims[p->ta ? 0 : 1];
    p->N = B->dims[p->tb ? 0 : 1];
    if (B->dims[p->tb ? 1 : 0] != p->K || Y->dims[0] != p->M || Y->dims[1] != p->N) return false;
    p->alpha = zn_attrs_float(n->attrs, n->n_attrs, "alpha", 1.0f);
    float beta = zn_attrs_float(n->attrs, n->n_attrs, "beta", 1.0f);
    if (in_present(n, 2)) {
        const zn_view *C = &n->in[2];
        int64_t cm = 1, cn = 1;
        if (C->rank > 2) return false;
        if (C->rank == 1) cn = C->dims[0];
        if (C->rank == 2) {
            cm = C->dims[0];
            cn = C->dims[1];
        }
        if ((cm != 1 && cm != p->M) || (cn != 1 && cn != p->N)) return false;
        if (beta != 0.0f) {
            p->c_in = 2;
            p->c_rows = cm;
            p->c_cols = cn;
            p->beta = beta;
        }
    }
    return true;
}

/* ZnLinear: x: (..., K), w: (K,N) or (N,K) with transB, bias: N values, residual: y's shape;
 * y: (..., N) = act(x @ w + bias + residual), x's leading dims flattened into M. */
static bool linear_problem(const zn_kernel_node *n, gemm_problem *p) {
    if (n->n_in < 2 || n->n_in > 4 || !in_present(n, 0) || !in_present(n, 1)) return false;
    const zn_view *X = &n->in[0], *W = &n->in[1], *Y = &n->out[0];
    p->act = activation_of(n);
    if (X->rank < 1 || W->rank != 2 || Y->rank != X->rank || p->act == ACT_BAD) return false;
    p->tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    p->K = W->dims[p->tb ? 1 : 0];
    p->N = W->dims[p->tb ? 0 : 1];
    if (X->dims[X->rank - 1] != p->K || Y->dims[Y->rank - 1] != p->N) return false;
    p->M = 1;
    for (int d = 0; d + 1 < X->rank; d++) {
        if (Y->dims[d] != X->dims[d]) return false;
        p->M *= X->dims[d];
    }
    if (in_present(n, 2)) {
        if (zn_view_numel(&n->in[2]) != p->N) return false;
        p->bias_in = 2;
    }
    if (in_present(n, 3)) {
        const zn_view *R = &n->in[3];
        if (R->rank != Y->rank) return false;
        for (int d = 0; d < R->rank; d++)
            if (R->dims[d] != Y->dims[d]) return false;
        p->c_in = 3;
        p->c_rows = p->M;
        p->c_cols = p->N;
        p->beta = 1.0f;
    }
    return true;
}

static bool problem_of(const zn_kernel_node *n, gemm_problem *p) {
    memset(p, 0, sizeof *p);
    p->batches = 1;
    p->alpha = 1.0f;
    p->c_in = p->bias_in = -1;
    p->act = ACT_NONE;
    if (!one_float_dtype(n, &p->dtype)) return false;
    switch (n->op) {
    case ZN_OP_MATMUL: return matmul_problem(n, p);
    case ZN_OP_GEMM: return gemm_problem_init(n, p);
    case ZN_OP_LINEAR: return linear_problem(n, p);
    default: return false;
    }
}

/* The tiled kernel's grid fits: N tiles on grid.y (at most 65535), M tiles on grid.x. */
static bool tiled_fits(const gemm_problem *p) {
    return (p->N + TILE_N - 1) / TILE_N <= TILE_MAX_GRID_Y && (p->M + TILE_M - 1) / TILE_M <= INT_MAX;
}

/* The run's views are the ones prepare saw (the output's size and dtype, cheaply). */
static zn_status check_views(const zn_exec_ctx *ctx, const gemm_problem *p) {
    const zn_view *y = &ctx->out[0];
    if (ctx->n_out < 1 || y->dtype != p->dtype || zn_view_numel(y) != p->batches * p->M * p->N)
        return zn_error_set(ZN_ERR_RUNTIME, "%s '%s': shapes changed after compile", zn_op_name(ctx->node->op),
                            ctx->node->name);
    return ZN_OK;
}

/* ---- cuBLASLt plan -------------------------------------------------------------------------- */

/* A column-major matrix as cuBLASLt sees it; stride: elements between batches. */
typedef struct lt_matrix {
    uint64_t rows, cols;
    int64_t ld, stride;
} lt_matrix;

enum {
    LT_C_NONE,     /* beta = 0; D is passed as C */
    LT_C_INPUT,    /* C is input c_in, laid out like D */
    LT_C_EXPANDED, /* C is broadcast into D first, then read in place */
};

typedef struct lt_plan {
    cudaDataType_t type; /* A, B, C, D and bias */
    cublasComputeType_t compute;
    cublasOperation_t op_a, op_b;
    lt_matrix a, b, d; /* cuBLASLt's A = our B, its B = our A, D = Y; C shares D's layout */
    int32_t batches;
    cublasLtEpilogue_t epilogue;
    int bias_in; /* input whose (N) values the epilogue adds, or -1 */
    int c_mode;  /* LT_C_* */
    float alpha, beta;
    int post_act; /* activation_kernel after the matmul (ACT_NONE: none) */
    cublasLtMatmulAlgo_t algo;
    size_t workspace;
} lt_plan;

/* The descriptors of one call, initialised in caller-provided space (nothing to destroy). */
typedef struct lt_descs {
    cublasLtMatmulDescOpaque_t op;
    cublasLtMatrixLayoutOpaque_t a, b, d;
} lt_descs;

typedef struct gemm_state {
    gemm_problem p;
    bool use_lt; /* false: the tiled kernel runs (cuda.*_tiled, or cuBLASLt had no algorithm) */
    lt_plan lt;
} gemm_state;

static zn_status lt_error(cublasStatus_t s, const char *what) {
    return zn_error_set(ZN_ERR_RUNTIME, "%s failed: %s (%s)", what, cublasLtGetStatusString(s),
                        cublasLtGetStatusName(s));
}

/* The one stride S with offset(bi) == bi * S for every output batch bi: 0 when the operand is
 * broadcast over every batch, `unit` (one matrix) when it is dense over them; -1 otherwise. */
static int64_t linear_stride(const gemm_batch *b, const int64_t *strides, int64_t unit) {
    bool zero = true, dense = true;
    int64_t expect = unit;
    for (int d = b->rank - 1; d >= 0; d--) {
        if (b->dims[d] != 1) {
            zero = zero && strides[d] == 0;
            dense = dense && strides[d] == expect;
        }
        expect *= b->dims[d];
    }
    return zero ? 0 : dense ? unit : -1;
}

/* The cuBLASLt form of p; false when one call cannot express it. fuse_act: let cuBLASLt's
 * epilogue apply relu / gelu_tanh when nothing is added after the product but the bias. */
static bool lt_plan_init(const gemm_problem *p, unsigned flags, bool fuse_act, lt_plan *pl) {
    memset(pl, 0, sizeof *pl);
    if (p->M < 1 || p->N < 1 || p->K < 1 || p->batches < 1) return false;
    if (p->M > INT_MAX || p->N > INT_MAX || p->K > INT_MAX || p->batches > INT_MAX) return false;
    int64_t sa = linear_stride(&p->batch, p->batch.a_stride, p->M * p->K);
    int64_t sb = linear_stride(&p->batch, p->batch.b_stride, p->K * p->N);
    if (p->batches > 1 && (sa < 0 || sb < 0)) return false;
    int64_t M = p->M, N = p->N, K = p->K, batches = p->batches;
    if (batches > 1 && sb == 0 && sa == M * K && !p->ta && M * batches <= INT_MAX) {
        M *= batches; /* one B for every batch: a's batches are rows of one (batches*M, K) */
        batches = 1;
    }
    pl->type = p->dtype == ZN_F16 ? CUDA_R_16F : p->dtype == ZN_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    pl->compute = p->dtype == ZN_F32 && (flags & ZN_KNODE_TF32) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    /* cuBLASLt's A = op(B)^T (N,K): B (K,N) row-major is (N,K) column-major; B (N,K) is (K,N) */
    pl->op_a = p->tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    pl->a = p->tb ? lt_matrix{(uint64_t)K, (uint64_t)N, K, sb} : lt_matrix{(uint64_t)N, (uint64_t)K, N, sb};
    /* cuBLASLt's B = op(A)^T (K,M): A (M,K) row-major is (K,M) column-major; A (K,M) is (M,K) */
    pl->op_b = p->ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    pl->b = p->ta ? lt_matrix{(uint64_t)M, (uint64_t)K, M, sa} : lt_matrix{(uint64_t)K, (uint64_t)M, K, sa};
    pl->d = lt_matrix{(uint64_t)N, (uint64_t)M, N, M * N}; /* Y^T: (N,M) column-major */
    pl->batches = (int32_t)batches;
    pl->alpha = p->alpha;
    pl->bias_in = p->bias_in;
    if (p->c_in < 0) {
        pl->c_mode = LT_C_NONE;
    } else if (p->c_rows == p->M && p->c_cols == p->N) {
        pl->c_mode = LT_C_INPUT;
        pl->beta = p->beta;
    } else if (p->c_rows == 1 && p->c_cols == p->N && p->alpha == 1.0f && p->beta == 1.0f && p->bias_in < 0) {
        pl->c_mode = LT_C_NONE; /* Gemm's C is a bias: (N) or (1,N) added as it is */
        pl->bias_in = p->c_in;
    } else {
        pl->c_mode = LT_C_EXPANDED;
        pl->beta = p->beta;
    }
    bool bias = pl->bias_in >= 0, fusable = fuse_act && pl->c_mode == LT_C_NONE;
    if (fusable && p->act == ACT_RELU) {
        pl->epilogue = bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    } else if (fusable && p->act == ACT_GELU_TANH) {
        pl->epilogue = bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    } else {
        pl->epilogue = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
        pl->post_act = p->act;
    }
    return true;
}

static cublasStatus_t lt_layout(cublasLtMatrixLayoutOpaque_t *l, cudaDataType_t type, const lt_matrix *m,
                                int32_t batches) {
    cublasStatus_t s = cublasLtMatrixLayoutInit(l, type, m->rows, m->cols, m->ld);
    if (s == CUBLAS_STATUS_SUCCESS && batches > 1)
        s = cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batches, sizeof batches);
    if (s == CUBLAS_STATUS_SUCCESS && batches > 1)
        s = cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &m->stride,
                                             sizeof m->stride);
    return s;
}

/* Fills ds for plan pl; bias: the bias vector's device address (or, for the heuristic, any
 * address with the alignment the real one will have). */
static cublasStatus_t lt_describe(const lt_plan *pl, const void *bias, lt_descs *ds) {
    cublasStatus_t s = cublasLtMatmulDescInit(&ds->op, pl->compute, CUDA_R_32F);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(&ds->op, CUBLASLT_MATMUL_DESC_TRANSA, &pl->op_a, sizeof pl->op_a);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(&ds->op, CUBLASLT_MATMUL_DESC_TRANSB, &pl->op_b, sizeof pl->op_b);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(&ds->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &pl->epilogue, sizeof pl->epilogue);
    if (s == CUBLAS_STATUS_SUCCESS && pl->bias_in >= 0)
        s = cublasLtMatmulDescSetAttribute(&ds->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
    if (s == CUBLAS_STATUS_SUCCESS) s = lt_layout(&ds->a, pl->type, &pl->a, pl->batches);
    if (s == CUBLAS_STATUS_SUCCESS) s = lt_layout(&ds->b, pl->type, &pl->b, pl->batches);
    if (s == CUBLAS_STATUS_SUCCESS) s = lt_layout(&ds->d, pl->type, &pl->d, pl->batches);
    return s;
}

/* The heuristic's best algorithm for pl (into pl->algo, pl->workspace); *found = false when it
 * has none for this configuration. */
static zn_status lt_choose_algo(cublasLtHandle_t h, lt_plan *pl, bool *found) {
    *found = false;
    lt_descs ds;
    const void *bias_probe = (const void *)(uintptr_t)LT_MIN_ALIGN; /* aligned to exactly 16 */
    cublasStatus_t s = lt_describe(pl, pl->bias_in >= 0 ? bias_probe : NULL, &ds);
    if (s != CUBLAS_STATUS_SUCCESS) return lt_error(s, "describing a cuBLASLt matmul");
    cublasLtMatmulPreferenceOpaque_t pref;
    uint64_t max_ws = LT_MAX_WORKSPACE;
    uint32_t align = LT_MIN_ALIGN;
    s = cublasLtMatmulPreferenceInit(&pref);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(&pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws,
                                                 sizeof max_ws);
    const cublasLtMatmulPreferenceAttributes_t aligns[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4 && s == CUBLAS_STATUS_SUCCESS; i++)
        s = cublasLtMatmulPreferenceSetAttribute(&pref, aligns[i], &align, sizeof align);
    if (s != CUBLAS_STATUS_SUCCESS) return lt_error(s, "setting cuBLASLt heuristic preferences");
    /* a few candidates, the first that cublasLtMatmulAlgoCheck (host-side) confirms for these
     * exact descriptors: a NOT_SUPPORTED at run time would fail the node instead of falling back */
    enum { LT_CANDIDATES = 4 };
    cublasLtMatmulHeuristicResult_t r[LT_CANDIDATES];
    memset(r, 0, sizeof r);
    int count = 0;
    s = cublasLtMatmulAlgoGetHeuristic(h, &ds.op, &ds.a, &ds.b, &ds.d, &ds.d, &pref, LT_CANDIDATES, r, &count);
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) return ZN_OK;
    if (s != CUBLAS_STATUS_SUCCESS) return lt_error(s, "cublasLtMatmulAlgoGetHeuristic");
    for (int i = 0; i < count && i < LT_CANDIDATES; i++) {
        if (r[i].state != CUBLAS_STATUS_SUCCESS) continue;
        cublasLtMatmulHeuristicResult_t chk;
        memset(&chk, 0, sizeof chk);
        if (cublasLtMatmulAlgoCheck(h, &ds.op, &ds.a, &ds.b, &ds.d, &ds.d, &r[i].algo, &chk) != CUBLAS_STATUS_SUCCESS ||
            chk.state != CUBLAS_STATUS_SUCCESS || chk.workspaceSize > LT_MAX_WORKSPACE)
            continue;
        pl->algo = r[i].algo;
        pl->workspace = chk.workspaceSize > r[i].workspaceSize ? chk.workspaceSize : r[i].workspaceSize;
        *found = true;
        return ZN_OK;
    }
    return ZN_OK;
}

/* ---- launchers ------------------------------------------------------------------------------ */

template <typename T> static zn_status tiled_launch_t(const zn_exec_ctx *ctx, const gemm_problem *p) {
    if (p->M == 0 || p->N == 0 || p->batches == 0) return ZN_OK;
    tiled_args<T> g;
    g.a = (const T *)ctx->in[0].data;
    g.b = (const T *)ctx->in[1].data;
    g.c = p->c_in >= 0 ? (const T *)ctx->in[p->c_in].data : nullptr;
    g.bias = p->bias_in >= 0 ? (const T *)ctx->in[p->bias_in].data : nullptr;
    g.y = (T *)ctx->out[0].data;
    g.M = p->M;
    g.N = p->N;
    g.K = p->K;
    g.batches = p->batches;
    g.a_sm = p->ta ? 1 : p->K; /* a: (K,M) when ta, else (M,K) */
    g.a_sk = p->ta ? p->M : 1;
    g.b_sk = p->tb ? 1 : p->N; /* b: (N,K) when tb, else (K,N) */
    g.b_sn = p->tb ? p->K : 1;
    g.c_sm = p->c_rows == 1 ? 0 : p->c_cols;
    g.c_sn = p->c_cols == 1 ? 0 : 1;
    g.alpha = p->alpha;
    g.beta = p->beta;
    g.act = p->act;
    g.batch = p->batch;
    dim3 grid((unsigned)((p->M + TILE_M - 1) / TILE_M), (unsigned)((p->N + TILE_N - 1) / TILE_N),
              (unsigned)(p->batches < 65535 ? p->batches : 65535));
    gemm_tiled_kernel<T><<<grid, TILE_THREADS, 0, zn_stream(ctx)>>>(g);
    return zn_cuda_launched("gemm_tiled_kernel");
}

static zn_status tiled_launch(const zn_exec_ctx *ctx, const gemm_problem *p) {
    zn_status st = ZN_OK;
    ZN_DISPATCH_FLOAT(p->dtype, st = tiled_launch_t<T>(ctx, p));
    return st;
}

template <typename T> static void activation_launch_t(T *y, int64_t n, int act, cudaStream_t stream) {
    unsigned grid = zn_grid_for(n, 256);
    switch (act) {
    case ACT_RELU: activation_kernel<T, ACT_RELU><<<grid, 256, 0, stream>>>(y, n); break;
    case ACT_GELU: activation_kernel<T, ACT_GELU><<<grid, 256, 0, stream>>>(y, n); break;
    case ACT_GELU_TANH: activation_kernel<T, ACT_GELU_TANH><<<grid, 256, 0, stream>>>(y, n); break;
    default: break;
    }
}

/* out[0] = act(out[0]) in place. */
static zn_status activation_launch(const zn_exec_ctx *ctx, int act) {
    zn_view *y = &ctx->out[0];
    int64_t n = zn_view_numel(y);
    if (act == ACT_NONE || n == 0) return ZN_OK;
    ZN_DISPATCH_FLOAT(y->dtype, activation_launch_t<T>((T *)y->data, n, act, zn_stream(ctx)));
    return zn_cuda_launched("gemm activation_kernel");
}

template <typename T> static void broadcast_c_launch_t(const zn_exec_ctx *ctx, const gemm_problem *p) {
    int64_t c_sm = p->c_rows == 1 ? 0 : p->c_cols, c_sn = p->c_cols == 1 ? 0 : 1;
    unsigned grid = zn_grid_for(p->M * p->N, 256);
    broadcast_c_kernel<T><<<grid, 256, 0, zn_stream(ctx)>>>((T *)ctx->out[0].data, (const T *)ctx->in[p->c_in].data,
                                                            p->M, p->N, c_sm, c_sn);
}

/* out[0] (M,N) = Gemm's C broadcast, before a matmul that reads it back as C. */
static zn_status broadcast_c_launch(const zn_exec_ctx *ctx, const gemm_problem *p) {
    ZN_DISPATCH_FLOAT(p->dtype, broadcast_c_launch_t<T>(ctx, p));
    return zn_cuda_launched("gemm broadcast_c_kernel");
}

static bool aligned(const void *ptr) { return ((uintptr_t)ptr % LT_MIN_ALIGN) == 0; }

/* Every pointer cuBLASLt will see has the alignment the heuristic was promised. */
static bool lt_pointers_aligned(const zn_exec_ctx *ctx, const gemm_state *st) {
    const lt_plan *pl = &st->lt;
    if (!aligned(ctx->in[0].data) || !aligned(ctx->in[1].data) || !aligned(ctx->out[0].data)) return false;
    if (pl->c_mode == LT_C_INPUT && !aligned(ctx->in[st->p.c_in].data)) return false;
    return pl->bias_in < 0 || aligned(ctx->in[pl->bias_in].data);
}

/* ---- specs ---------------------------------------------------------------------------------- */

static bool tiled_supports(const zn_kernel_node *n) {
    gemm_problem p;
    return problem_of(n, &p) && tiled_fits(&p);
}

static bool lt_supports(const zn_kernel_node *n) {
    gemm_problem p;
    lt_plan pl;
    return problem_of(n, &p) && tiled_fits(&p) && lt_plan_init(&p, n->flags, true, &pl);
}

static void gemm_release(void *state) { free(state); }

static zn_status new_state(const zn_kernel_node *n, gemm_state **out) {
    *out = NULL;
    gemm_state *st = (gemm_state *)calloc(1, sizeof *st);
    if (!st) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory preparing %s '%s'", zn_op_name(n->op), n->name);
    if (!problem_of(n, &st->p)) {
        free(st);
        return zn_error_set(ZN_ERR_SHAPE, "%s '%s': inputs do not fit the node (re-run shape inference)",
                            zn_op_name(n->op), n->name);
    }
    *out = st;
    return ZN_OK;
}

static zn_status tiled_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    gemm_state *st;
    zn_status s = new_state(n, &st);
    if (s != ZN_OK) return s;
    prep->state = st;
    prep->scratch_bytes = 0;
    return ZN_OK;
}

/* Plan with the activation fused into cuBLASLt's epilogue; when the heuristic has nothing for
 * that, plan it unfused; when it has nothing at all, the tiled kernel runs the node. */
static zn_status lt_choose(const zn_kernel_node *n, gemm_state *st) {
    zn_cuda_ctx *pc = zn_device_prepare_ctx();
    if (!pc || !pc->cublaslt)
        return zn_error_set(ZN_ERR_NO_DEVICE, "%s '%s': no CUDA device to prepare cuBLASLt on", zn_op_name(n->op),
                            n->name);
    cublasLtHandle_t h = (cublasLtHandle_t)pc->cublaslt;
    bool found = false;
    zn_status s = ZN_OK;
    if (lt_plan_init(&st->p, n->flags, true, &st->lt)) {
        s = lt_choose_algo(h, &st->lt, &found);
        if (s == ZN_OK && !found && st->lt.post_act != st->p.act && lt_plan_init(&st->p, n->flags, false, &st->lt))
            s = lt_choose_algo(h, &st->lt, &found);
    }
    if (s != ZN_OK) return s;
    st->use_lt = found;
    if (!found)
        ZN_LOGW("cuda", "%s '%s': cuBLASLt has no algorithm for this GEMM (M=%lld N=%lld K=%lld, %s); using the "
                "tiled kernel", zn_op_name(n->op), n->name, (long long)st->p.M, (long long)st->p.N,
                (long long)st->p.K, zn_dtype_name(st->p.dtype));
    return ZN_OK;
}

static zn_status lt_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    gemm_state *st;
    zn_status s = new_state(n, &st);
    if (s != ZN_OK) return s;
    if ((s = lt_choose(n, st)) != ZN_OK) {
        free(st);
        return s;
    }
    prep->state = st;
    prep->scratch_bytes = st->use_lt && st->lt.workspace ? st->lt.workspace + LT_WORKSPACE_ALIGN : 0;
    return ZN_OK;
}

static zn_status tiled_run(const zn_exec_ctx *ctx) {
    const gemm_state *st = (const gemm_state *)ctx->state;
    zn_status s = check_views(ctx, &st->p);
    return s != ZN_OK ? s : tiled_launch(ctx, &st->p);
}

static zn_status lt_run(const zn_exec_ctx *ctx) {
    const gemm_state *st = (const gemm_state *)ctx->state;
    const lt_plan *pl = &st->lt;
    zn_status s = check_views(ctx, &st->p);
    if (s != ZN_OK) return s;
    if (!st->use_lt || !lt_pointers_aligned(ctx, st)) return tiled_launch(ctx, &st->p);
    void *y = ctx->out[0].data;
    const void *c = y;
    if (pl->c_mode == LT_C_INPUT) c = ctx->in[st->p.c_in].data;
    if (pl->c_mode == LT_C_EXPANDED && (s = broadcast_c_launch(ctx, &st->p)) != ZN_OK) return s;
    void *ws = NULL;
    if (pl->workspace) {
        if (!ctx->scratch)
            return zn_error_set(ZN_ERR_RUNTIME, "%s '%s' needs %zu bytes of cuBLASLt workspace and got none",
                                zn_op_name(ctx->node->op), ctx->node->name, pl->workspace);
        uintptr_t w = ((uintptr_t)ctx->scratch + LT_WORKSPACE_ALIGN - 1) & ~(uintptr_t)(LT_WORKSPACE_ALIGN - 1);
        ws = (void *)w;
    }
    lt_descs ds;
    cublasStatus_t bs = lt_describe(pl, pl->bias_in >= 0 ? ctx->in[pl->bias_in].data : NULL, &ds);
    if (bs != CUBLAS_STATUS_SUCCESS) return lt_error(bs, "describing a cuBLASLt matmul");
    /* Y^T = op(B)^T @ op(A)^T: cuBLASLt's A is in[1], its B is in[0] */
    bs = cublasLtMatmul((cublasLtHandle_t)ctx->cuda->cublaslt, &ds.op, &pl->alpha, ctx->in[1].data, &ds.a,
                        ctx->in[0].data, &ds.b, &pl->beta, c, &ds.d, y, &ds.d, &pl->algo, ws, pl->workspace,
                        zn_stream(ctx));
    if (bs != CUBLAS_STATUS_SUCCESS) return lt_error(bs, "cublasLtMatmul");
    return activation_launch(ctx, pl->post_act);
}

static const zn_kernel_spec specs[] = {
    {"cuda.matmul_lt", ZN_OP_MATMUL, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, lt_supports, lt_prepare,
     gemm_release, lt_run},
    {"cuda.gemm_lt", ZN_OP_GEMM, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, lt_supports, lt_prepare, gemm_release,
     lt_run},
    {"cuda.linear_lt", ZN_OP_LINEAR, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, lt_supports, lt_prepare,
     gemm_release, lt_run},
    {"cuda.matmul_tiled", ZN_OP_MATMUL, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 5, 0, tiled_supports, tiled_prepare,
     gemm_release, tiled_run},
    {"cuda.gemm_tiled", ZN_OP_GEMM, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 5, 0, tiled_supports, tiled_prepare,
     gemm_release, tiled_run},
    {"cuda.linear_tiled", ZN_OP_LINEAR, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 5, 0, tiled_supports, tiled_prepare,
     gemm_release, tiled_run},
};

ZN_KERNEL_TABLE(zn_cuda_gemm_table, specs);
