/* ref_linalg.c — reference CPU kernels for MatMul and Gemm, and zn_ref_sgemm (ref_gemm.h).
 *
 * fp32 only, dense row-major. The GEMM is plain C in i-k-j order (the inner loop is a
 * contiguous axpy over four k at a time that the compiler vectorises), blocked over K and N,
 * with rows (or column blocks, when there are few rows) spread over the thread pool. It is
 * the reference the faster GEMMs are checked against, not a tuned BLAS: B is packed per block
 * but A is not, there is no register tiling beyond the 4-k axpy and no SIMD intrinsics.
 */
#include "ref_gemm.h"

#include <string.h>

#include "../../engine/error.h"
#include "../kernel.h"
#include "cpu_tables.h"
#include "matmul_layout.h"
#include "threadpool.h"

/* ---- sgemm -------------------------------------------------------------------------------- */

#define KB 64  /* k rows of B per block (B block: KB x NB floats = 64 KiB) */
#define NB 256 /* columns per block: a row of C's block stays in L1 across the k loop */

typedef struct sgemm_job {
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
    int64_t col_block; /* column tasks: width of one task */
} sgemm_job;

/* c[0..n) += a0*b0 + a1*b1 + a2*b2 + a3*b3. The fixed-width inner loop is what GCC's -O2
 * vectoriser accepts (no epilogue inside), the tail is scalar. */
static inline void axpy4(float *restrict c, float a0, float a1, float a2, float a3,
                         const float *restrict b0, const float *restrict b1,
                         const float *restrict b2, const float *restrict b3, int64_t n) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int u = 0; u < 8; u++)
            c[j + u] += a0 * b0[j + u] + a1 * b1[j + u] + a2 * b2[j + u] + a3 * b3[j + u];
    for (; j < n; j++) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
}

static inline void axpy1(float *restrict c, float a, const float *restrict b, int64_t n) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int u = 0; u < 8; u++) c[j + u] += a * b[j + u];
    for (; j < n; j++) c[j] += a * b[j];
}

/* C[i0:i1, j0:j1] of the job. */
static void sgemm_tile(const sgemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    float pack[KB * NB]; /* the current block of op(B), (kc, nb) */
    for (int64_t i = i0; i < i1; i++) {
        float *c = g->C + i * g->ldc;
        if (g->beta == 0.0f) {
            for (int64_t j = j0; j < j1; j++) c[j] = 0.0f;
        } else if (g->beta != 1.0f) {
            for (int64_t j = j0; j < j1; j++) c[j] *= g->beta;
        }
    }
    if (g->alpha == 0.0f || g->K == 0) return;
    for (int64_t jb = j0; jb < j1; jb += NB) {
        int64_t nb = j1 - jb < NB ? j1 - jb : NB;
        for (int64_t kb = 0; kb < g->K; kb += KB) {
            int64_t kc = g->K - kb < KB ? g->K - kb : KB;
            /* op(B)[kb:kb+kc, jb:jb+nb] -> pack (kc, nb): contiguous rows, few TLB pages */
            if (g->tb) { /* B: (N,K) */
                for (int64_t jj = 0; jj < nb; jj++) {
                    const float *src = g->B + (jb + jj) * g->ldb + kb;
                    for (int64_t kk = 0; kk < kc; kk++) pack[kk * nb + jj] = src[kk];
                }
            } else {
                for (int64_t kk = 0; kk < kc; kk++)
                    memcpy(pack + kk * nb, g->B + (kb + kk) * g->ldb + jb, sizeof(float) * (size_t)nb);
            }
            const float *bp = pack;
            int64_t bs = nb;
            for (int64_t i = i0; i < i1; i++) {
                float *c = g->C + i * g->ldc + jb;
                float a[KB];
                if (g->ta)
                    for (int64_t kk = 0; kk < kc; kk++) a[kk] = g->alpha * g->A[(kb + kk) * g->lda + i];
                else
                    for (int64_t kk = 0; kk < kc; kk++) a[kk] = g->alpha * g->A[i * g->lda + kb + kk];
                int64_t kk = 0;
                for (; kk + 4 <= kc; kk += 4)
                    axpy4(c, a[kk], a[kk + 1], a[kk + 2], a[kk + 3], bp + kk * bs,
                          bp + (kk + 1) * bs, bp + (kk + 2) * bs, bp + (kk + 3) * bs, nb);
                for (; kk < kc; kk++) axpy1(c, a[kk], bp + kk * bs, nb);
            }
        }
    }
}

static void sgemm_rows(void *arg, int64_t begin, int64_t end) {
    const sgemm_job *g = arg;
    sgemm_tile(g, begin, end, 0, g->N);
}

static void sgemm_cols(void *arg, int64_t begin, int64_t end) {
    const sgemm_job *g = arg;
    int64_t j0 = begin * g->col_block, j1 = end * g->col_block;
    if (j1 > g->N) j1 = g->N;
    sgemm_tile(g, 0, g->M, j0, j1);
}

void zn_ref_sgemm(struct zn_threadpool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
                  int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                  int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    sgemm_job g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, 64};
    int threads = zn_threadpool_size(pool);
    double flops = 2.0 * (double)M * (double)N * (double)K;
    if (threads <= 1 || flops < 65536.0) {
        sgemm_tile(&g, 0, M, 0, N);
    } else if (M >= 2 * threads || N < 2 * g.col_block) {
        /* rows: at least ~16 KFLOP per task */
        int64_t per_row = 2 * N * (K > 0 ? K : 1);
        int64_t grain = per_row >= 16384 ? 1 : 16384 / per_row;
        zn_parallel_for(pool, M, grain, sgemm_rows, &g);
    } else {
        zn_parallel_for(pool, (N + g.col_block - 1) / g.col_block, 1, sgemm_cols, &g);
    }
}

/* ---- MatMul ------------------------------------------------------------------------------- */

static bool all_f32(const zn_kernel_node *n) {
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i].dtype != ZN_DTYPE_UNDEFINED && n->in[i].dtype != ZN_F32) return false;
    return n->n_out >= 1 && n->out[0].dtype == ZN_F32;
}

static bool matmul_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || n->n_out != 1 || !all_f32(n)) return false;
    return n->in[0].rank >= 1 && n->in[1].rank >= 1;
}

typedef struct matmul_job {
    const float *a, *b;
    float *y;
    zn_matmul_layout L;
} matmul_job;


static void matmul_batches(void *arg, int64_t begin, int64_t end) {
    const matmul_job *j = arg;
    for (int64_t bi = begin; bi < end; bi++) {
        int64_t ao, bo;
        zn_matmul_batch_offsets(&j->L, bi, &ao, &bo);
        zn_ref_sgemm(NULL, false, false, j->L.M, j->L.N, j->L.K, 1.0f, j->a + ao, j->L.K, j->b + bo,
                     j->L.N, 0.0f, j->y + bi * j->L.M * j->L.N, j->L.N);
    }
}

/* y: (batch..., M, N) = a: (batch_a..., M, K) @ b: (batch_b..., K, N), numpy semantics: a 1-D a
 * is (1,K) with M dropped from y, a 1-D b is (K,1) with N dropped; batch dims broadcast. */
static zn_status matmul_run(const zn_exec_ctx *ctx) {
    const zn_view *A = &ctx->in[0], *B = &ctx->in[1];
    zn_view *Y = &ctx->out[0];
    matmul_job j;
    memset(&j, 0, sizeof j);
    zn_status lst = zn_matmul_layout_init(&j.L, A, B, Y);
    if (lst != ZN_OK) return lst;
    j.a = A->data;
    j.b = B->data;
    j.y = Y->data;
    int64_t M = j.L.M, N = j.L.N, K = j.L.K, batches = j.L.batches;
    bool bbr = j.L.b_batched;
    if (!bbr) { /* b shared by every batch: a's batches are rows of one (batches*M, K) */
        zn_ref_sgemm(ctx->pool, false, false, batches * M, N, K, 1.0f, j.a, K, j.b, N, 0.0f, j.y, N);
        return ZN_OK;
    }
    int threads = zn_threadpool_size(ctx->pool);
    if (batches >= threads && threads > 1 && batches > 1) {
        zn_parallel_for(ctx->pool, batches, 1, matmul_batches, &j);
    } else {
        for (int64_t bi = 0; bi < batches; bi++) {
            int64_t ao, bo;
            zn_matmul_batch_offsets(&j.L, bi, &ao, &bo);
            zn_ref_sgemm(ctx->pool, false, false, M, N, K, 1.0f, j.a + ao, K, j.b + bo, N, 0.0f,
                         j.y + bi * M * N, N);
        }
    }
    return ZN_OK;
}

/* ---- Gemm --------------------------------------------------------------------------------- */

static bool gemm_supports(const zn_kernel_node *n) {
    if (n->n_in < 2 || n->n_in > 3 || n->n_out != 1 || !all_f32(n)) return false;
    if (n->in[0].rank != 2 || n->in[1].rank != 2) return false;
    if (n->n_in == 3 && n->in[2].dtype != ZN_DTYPE_UNDEFINED && n->in[2].rank > 2) return false;
    return true;
}

/* y: (M,N) = alpha * op(a) @ op(b) + beta * c, a: (M,K) or (K,M), b: (K,N) or (N,K), c
 * broadcast to (M,N) from (), (1), (N), (1,N), (M,1), (1,1) or (M,N). */
static zn_status gemm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *A = &ctx->in[0], *B = &ctx->in[1];
    zn_view *Y = &ctx->out[0];
    bool ta = zn_attrs_int(n->attrs, n->n_attrs, "transA", 0) != 0;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    float alpha = zn_attrs_float(n->attrs, n->n_attrs, "alpha", 1.0f);
    float beta = zn_attrs_float(n->attrs, n->n_attrs, "beta", 1.0f);
    int64_t M = ta ? A->dims[1] : A->dims[0];
    int64_t K = ta ? A->dims[0] : A->dims[1];
    int64_t Kb = tb ? B->dims[1] : B->dims[0];
    int64_t N = tb ? B->dims[0] : B->dims[1];
    if (K != Kb || Y->rank != 2 || Y->dims[0] != M || Y->dims[1] != N)
        return zn_error_set(ZN_ERR_RUNTIME, "Gemm shapes changed after compile");
    float *y = Y->data;
    const zn_view *Cv = ctx->n_in == 3 && ctx->in[2].dtype != ZN_DTYPE_UNDEFINED ? &ctx->in[2] : NULL;
    float gemm_beta = 0.0f;
    if (Cv && beta != 0.0f) {
        const float *c = Cv->data;
        int64_t cm = 1, cn = 1;
        if (Cv->rank == 1) cn = Cv->dims[0];
        if (Cv->rank == 2) { cm = Cv->dims[0]; cn = Cv->dims[1]; }
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
            return zn_error_set(ZN_ERR_RUNTIME, "Gemm's C does not broadcast to (%lld,%lld)",
                                (long long)M, (long long)N);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                y[i * N + j] = beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
        gemm_beta = 1.0f;
    }
    zn_ref_sgemm(ctx->pool, ta, tb, M, N, K, alpha, A->data, A->dims[1], B->data, B->dims[1],
                 gemm_beta, y, N);
    return ZN_OK;
}

static const zn_kernel_spec specs[] = {
    {"ref.matmul", ZN_OP_MATMUL, ZN_BACKEND_CPU, ZN_F32, 0, 0, matmul_supports, NULL, NULL, matmul_run},
    {"ref.gemm", ZN_OP_GEMM, ZN_BACKEND_CPU, ZN_F32, 0, 0, gemm_supports, NULL, NULL, gemm_run},
};

ZN_KERNEL_TABLE(zn_ref_linalg_table, specs);
