/* fast_linalg.c — fast CPU kernels for MatMul, Gemm and the fused ZnLinear and ZnAttention on
 * zn_sgemm (gemm.h), priority 10.
 *
 * fp32, the same semantics as ref_linalg.c (numpy MatMul with batch broadcasting; ONNX Gemm
 * with transA/transB, alpha, beta and a broadcast C). A constant B (weights) is packed once
 * at prepare time into the micro-kernel's panel layout, so run() packs only the activations.
 * Gemm's C goes into the GEMM epilogue when it is a row vector (bias), a column vector or a
 * full (M,N) matrix and beta is 1; other forms are written into Y first. ZnLinear's bias,
 * residual and activation run in the GEMM epilogue; ZnAttention is two GEMMs per head around
 * an AVX2 softmax (heads spread over the pool; it needs AVX2). Not here: f16/bf16,
 * integer MatMul, fusing an activation that follows the node (the fusion passes do that).
 */
#include <string.h>

#include "../../engine/alloc.h"
#include "../../engine/error.h"
#include "../kernel.h"
#include "fast_math.h"
#include "fast_tables.h"
#include "gemm.h"
#include "matmul_layout.h"
#include "threadpool.h"

static bool all_f32(const zn_kernel_node *n) {
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i].dtype != ZN_DTYPE_UNDEFINED && n->in[i].dtype != ZN_F32) return false;
    return n->n_out >= 1 && n->out[0].dtype == ZN_F32;
}

typedef struct packed_state {
    zn_gemm_packed *b; /* op(B) packed, or NULL when B is not constant */
} packed_state;

static void packed_release(void *state) {
    packed_state *s = state;
    if (!s) return;
    zn_gemm_packed_free(s->b);
    zn_free(s);
}

static zn_status pack_state(zn_kernel_prep *prep, bool tb, int64_t K, int64_t N, const float *b,
                            int64_t ldb) {
    packed_state *s = zn_malloc(sizeof *s);
    if (!s) goto fail;
    s->b = zn_gemm_pack_b(tb, K, N, b, ldb);
    if (!s->b) goto fail;
    prep->state = s;
    return ZN_OK;
fail:
    zn_free(s);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory to prepack a %lld x %lld weight; "
                        "free memory or run a smaller model", (long long)K, (long long)N);
}

/* ---- MatMul ------------------------------------------------------------------------------- */

static bool matmul_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || n->n_out != 1 || !all_f32(n)) return false;
    return n->in[0].rank >= 1 && n->in[1].rank >= 1;
}

/* a constant B that every batch shares: (K,N) or (K) */
static zn_status matmul_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    const zn_view *B = &n->in[1];
    if (!B->data || B->rank > 2) return ZN_OK;
    int64_t K = B->dims[0];
    int64_t N = B->rank == 2 ? B->dims[1] : 1;
    if (K <= 0 || N <= 0) return ZN_OK;
    return pack_state(prep, false, K, N, B->data, N);
}

typedef struct matmul_job {
    const float *a, *b;
    float *y;
    zn_matmul_layout L;
    int failed; /* set atomically by the threads */
} matmul_job;


static zn_status matmul_one(zn_threadpool *pool, const matmul_job *j, int64_t bi) {
    int64_t ao, bo;
    zn_matmul_batch_offsets(&j->L, bi, &ao, &bo);
    zn_gemm_args g = {.M = j->L.M, .N = j->L.N, .K = j->L.K, .alpha = 1.0f, .beta = 0.0f,
                      .A = j->a + ao, .lda = j->L.K, .B = j->b + bo, .ldb = j->L.N,
                      .C = j->y + bi * j->L.M * j->L.N, .ldc = j->L.N};
    return zn_sgemm(pool, &g);
}

static void matmul_batches(void *arg, int64_t begin, int64_t end) {
    matmul_job *j = arg;
    for (int64_t bi = begin; bi < end; bi++)
        if (matmul_one(NULL, j, bi) != ZN_OK) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

/* y: (batch..., M, N) = a: (batch_a..., M, K) @ b: (batch_b..., K, N), numpy semantics */
static zn_status matmul_run(const zn_exec_ctx *ctx) {
    const zn_view *A = &ctx->in[0], *B = &ctx->in[1];
    zn_view *Y = &ctx->out[0];
    const packed_state *ps = ctx->state;
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
        zn_gemm_args g = {.M = batches * M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f,
                          .A = j.a, .lda = K, .B = j.b, .ldb = N, .C = j.y, .ldc = N,
                          .packed_b = ps ? ps->b : NULL};
        return zn_sgemm(ctx->pool, &g);
    }
    int threads = zn_threadpool_size(ctx->pool);
    if (batches >= threads && threads > 1) {
        zn_parallel_for(ctx->pool, batches, 1, matmul_batches, &j);
        if (j.failed)
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "MatMul: no memory for the GEMM packing "
                                "buffers (free memory or run with fewer threads)");
        return ZN_OK;
    }
    for (int64_t bi = 0; bi < batches; bi++) {
        zn_status st = matmul_one(ctx->pool, &j, bi);
        if (st != ZN_OK) return st;
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

static zn_status gemm_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    const zn_view *B = &n->in[1];
    if (!B->data) return ZN_OK;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? B->dims[1] : B->dims[0], N = tb ? B->dims[0] : B->dims[1];
    if (K <= 0 || N <= 0) return ZN_OK;
    return pack_state(prep, tb, K, N, B->data, B->dims[1]);
}

/* y: (M,N) = alpha * op(a) @ op(b) + beta * c, c broadcast to (M,N) */
static zn_status gemm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *A = &ctx->in[0], *B = &ctx->in[1];
    zn_view *Y = &ctx->out[0];
    const packed_state *ps = ctx->state;
    bool ta = zn_attrs_int(n->attrs, n->n_attrs, "transA", 0) != 0;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    float alpha = zn_attrs_float(n->attrs, n->n_attrs, "alpha", 1.0f);
    float beta = zn_attrs_float(n->attrs, n->n_attrs, "beta", 1.0f);
    int64_t M = ta ? A->dims[1] : A->dims[0];
    int64_t K = ta ? A->dims[0] : A->dims[1];
    int64_t Kb = tb ? B->dims[1] : B->dims[0];
    int64_t N = tb ? B->dims[0] : B->dims[1];
    if (K != Kb || Y->rank != 2 || Y->dims[0] != M || Y->dims[1] != N)
        return zn_error_set(ZN_ERR_RUNTIME, "Gemm shapes changed after compile (re-compile the "
                            "plan for these input shapes)");
    float *y = Y->data;
    zn_gemm_args g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                      .beta = 0.0f, .A = A->data, .lda = A->dims[1], .B = B->data,
                      .ldb = B->dims[1], .C = y, .ldc = N, .packed_b = ps ? ps->b : NULL};
    const zn_view *Cv = ctx->n_in == 3 && ctx->in[2].dtype != ZN_DTYPE_UNDEFINED ? &ctx->in[2] : NULL;
    if (Cv && beta != 0.0f) {
        const float *c = Cv->data;
        int64_t cm = 1, cn = 1;
        if (Cv->rank == 1) cn = Cv->dims[0];
        if (Cv->rank == 2) {
            cm = Cv->dims[0];
            cn = Cv->dims[1];
        }
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
            return zn_error_set(ZN_ERR_RUNTIME, "Gemm's C does not broadcast to (%lld,%lld)",
                                (long long)M, (long long)N);
        if (beta == 1.0f && cm == 1 && cn == N && N > 1) {
            g.bias_col = c;
        } else if (beta == 1.0f && cm == M && cn == 1 && M > 1) {
            g.bias_row = c;
        } else if (beta == 1.0f && cm == M && cn == N) {
            g.residual = c;
            g.ldr = N;
        } else {
            for (int64_t i = 0; i < M; i++)
                for (int64_t q = 0; q < N; q++)
                    y[i * N + q] = beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : q)];
            g.beta = 1.0f;
        }
    }
    return zn_sgemm(ctx->pool, &g);
}

/* ---- ZnLinear: y = act(x W + bias + residual) ----------------------------------------- */

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool in_present(const zn_kernel_node *n, int i) { return i < n->n_in && present(&n->in[i]); }

static bool same_dims(const zn_view *a, const zn_view *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* "none" | "relu" | "gelu" | "gelu_tanh"; false for anything else */
static bool activation(const zn_kernel_node *n, zn_gemm_act *act) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
    if (!strcmp(a, "none")) *act = ZN_GEMM_ACT_NONE;
    else if (!strcmp(a, "relu")) *act = ZN_GEMM_ACT_RELU;
    else if (!strcmp(a, "gelu")) *act = ZN_GEMM_ACT_GELU_ERF;
    else if (!strcmp(a, "gelu_tanh")) *act = ZN_GEMM_ACT_GELU_TANH;
    else return false;
    return true;
}

static bool linear_supports(const zn_kernel_node *n) {
    zn_gemm_act act;
    if (n->n_in < 2 || n->n_in > 4 || n->n_out != 1 || !all_f32(n)) return false;
    if (!in_present(n, 0) || !in_present(n, 1) || !activation(n, &act)) return false;
    const zn_view *x = &n->in[0], *w = &n->in[1], *y = &n->out[0];
    if (x->rank < 1 || w->rank != 2) return false;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    if (x->dims[x->rank - 1] != K || y->rank != x->rank || y->dims[y->rank - 1] != N) return false;
    if (in_present(n, 2) && zn_view_numel(&n->in[2]) != N) return false;
    if (in_present(n, 3) && !same_dims(&n->in[3], y)) return false;
    return true;
}

static zn_status linear_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    const zn_view *w = &n->in[1];
    if (!w->data) return ZN_OK;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    if (K <= 0 || N <= 0) return ZN_OK;
    return pack_state(prep, tb, K, N, w->data, w->dims[1]);
}

/* x: (M, K) (leading dims flattened), w: (K, N) or (N, K) with transB, y: (M, N) */
static zn_status linear_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0], *w = &ctx->in[1];
    const packed_state *ps = ctx->state;
    zn_gemm_act act = ZN_GEMM_ACT_NONE;
    activation(n, &act);
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    int64_t M = N ? zn_view_numel(&ctx->out[0]) / N : 0;
    zn_gemm_args g = {.trans_b = tb, .M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f,
                      .A = x->data, .lda = K, .B = w->data, .ldb = w->dims[1],
                      .C = ctx->out[0].data, .ldc = N, .packed_b = ps ? ps->b : NULL,
                      .bias_col = in_present(n, 2) ? ctx->in[2].data : NULL,
                      .residual = in_present(n, 3) ? ctx->in[3].data : NULL, .ldr = N, .act = act};
    return zn_sgemm(ctx->pool, &g);
}

/* ---- ZnAttention: softmax(Q K^T * scale + mask) V per head ---------------------------- */

typedef struct attn_job {
    const float *q, *k, *v, *mask;
    float *y, *scores;
    int64_t B, H, Sq, Sk, D, Dv;
    int64_t ms[4]; /* mask strides over (B, H, Sq, Sk); 0 where it broadcasts */
    float scale;
    bool causal;
    zn_threadpool *inner; /* pool for the GEMMs when heads are not spread over it */
    int failed; /* set atomically by the threads */
} attn_job;

ZN_AVX2 static void attn_heads(void *arg, int64_t t0, int64_t t1) {
    attn_job *j = arg;
    const int64_t HD = j->H * j->D, HDv = j->H * j->Dv;
    for (int64_t t = t0; t < t1; t++) {
        int64_t b = t / j->H, h = t % j->H;
        float *s = j->scores + t * j->Sq * j->Sk; /* (Sq, Sk) */
        zn_gemm_args g1 = {.trans_b = true, .M = j->Sq, .N = j->Sk, .K = j->D, .alpha = j->scale,
                           .A = j->q + b * j->Sq * HD + h * j->D, .lda = HD,
                           .B = j->k + b * j->Sk * HD + h * j->D, .ldb = HD, .C = s, .ldc = j->Sk};
        if (zn_sgemm(j->inner, &g1) != ZN_OK) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            return;
        }
        for (int64_t i = 0; i < j->Sq; i++) {
            float *row = s + i * j->Sk;
            if (j->mask) {
                const float *m = j->mask + b * j->ms[0] + h * j->ms[1] + i * j->ms[2];
                for (int64_t c = 0; c < j->Sk; c++) row[c] += m[c * j->ms[3]];
            }
            int64_t lim = j->causal ? i + (j->Sk - j->Sq) + 1 : j->Sk; /* visible keys */
            if (lim > j->Sk) lim = j->Sk;
            zn_softmax_row_avx2(row, row, lim, j->Sk);
        }
        zn_gemm_args g2 = {.M = j->Sq, .N = j->Dv, .K = j->Sk, .alpha = 1.0f, .A = s, .lda = j->Sk,
                           .B = j->v + b * j->Sk * HDv + h * j->Dv, .ldb = HDv,
                           .C = j->y + b * j->Sq * HDv + h * j->Dv, .ldc = HDv};
        if (zn_sgemm(j->inner, &g2) != ZN_OK) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            return;
        }
    }
}

static bool attn_geometry(const zn_kernel_node *n, attn_job *j) {
    if (n->n_in < 3 || n->n_in > 4 || n->n_out != 1) return false;
    for (int i = 0; i < n->n_in; i++)
        if (in_present(n, i) && n->in[i].dtype != ZN_F32) return false;
    const zn_view *q = &n->in[0], *k = &n->in[1], *v = &n->in[2], *y = &n->out[0];
    int64_t H = zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 1);
    if (q->rank != 3 || k->rank != 3 || v->rank != 3 || y->rank != 3 || H < 1) return false;
    if (y->dtype != ZN_F32 || q->dims[2] % H || v->dims[2] % H || q->dims[2] != k->dims[2]) return false;
    if (k->dims[0] != q->dims[0] || v->dims[0] != q->dims[0] || v->dims[1] != k->dims[1]) return false;
    memset(j, 0, sizeof *j);
    j->B = q->dims[0];
    j->H = H;
    j->Sq = q->dims[1];
    j->Sk = k->dims[1];
    j->D = q->dims[2] / H;
    j->Dv = v->dims[2] / H;
    if (y->dims[0] != j->B || y->dims[1] != j->Sq || y->dims[2] != v->dims[2]) return false;
    if (in_present(n, 3)) {
        const zn_view *m = &n->in[3];
        if (m->rank > 4) return false;
        int64_t full[4] = {j->B, j->H, j->Sq, j->Sk}, stride = 1;
        for (int d = 3; d >= 0; d--) {
            int md = d - (4 - m->rank);
            int64_t sz = md >= 0 ? m->dims[md] : 1;
            if (sz != 1 && sz != full[d]) return false;
            j->ms[d] = sz == 1 ? 0 : stride;
            stride *= sz;
        }
    }
    j->scale = zn_attrs_float(n->attrs, n->n_attrs, "scale", 1.0f);
    j->causal = zn_attrs_int(n->attrs, n->n_attrs, "causal", 0) != 0;
    return true;
}

static bool attn_supports(const zn_kernel_node *n) {
    attn_job j;
    return zn_gemm_path_available(ZN_GEMM_PATH_AVX2) && attn_geometry(n, &j);
}

static zn_status attn_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    attn_job j;
    if (!attn_geometry(n, &j))
        return zn_error_set(ZN_ERR_SHAPE, "ZnAttention '%s': inputs do not fit (re-run shape "
                            "inference)", n->name ? n->name : "?");
    prep->scratch_bytes = sizeof(float) * (size_t)(j.B * j.H * j.Sq * j.Sk);
    return ZN_OK;
}

static zn_status attn_run(const zn_exec_ctx *ctx) {
    attn_job j;
    if (!attn_geometry(ctx->node, &j))
        return zn_error_set(ZN_ERR_RUNTIME, "ZnAttention: inputs do not fit the node");
    if (j.B * j.H * j.Sq * j.Sk > 0 && !ctx->scratch)
        return zn_error_set(ZN_ERR_RUNTIME, "ZnAttention needs scratch for its scores and got "
                            "none (the plan must reserve prepare()'s scratch_bytes)");
    j.q = ctx->in[0].data;
    j.k = ctx->in[1].data;
    j.v = ctx->in[2].data;
    j.mask = in_present(ctx->node, 3) ? ctx->in[3].data : NULL;
    j.y = ctx->out[0].data;
    j.scores = ctx->scratch;
    if (j.Sk == 0) {
        memset(j.y, 0, zn_view_bytes(&ctx->out[0]));
        return ZN_OK;
    }
    int threads = zn_threadpool_size(ctx->pool);
    if (j.B * j.H >= threads) {
        zn_parallel_for(ctx->pool, j.B * j.H, 1, attn_heads, &j);
    } else {
        j.inner = ctx->pool;
        attn_heads(&j, 0, j.B * j.H);
    }
    if (j.failed)
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "ZnAttention: no memory for the GEMM packing "
                            "buffers (free memory or run with fewer threads)");
    return ZN_OK;
}

static const zn_kernel_spec specs[] = {
    {"cpu.matmul", ZN_OP_MATMUL, ZN_BACKEND_CPU, ZN_F32, 10, 0, matmul_supports, matmul_prepare,
     packed_release, matmul_run},
    {"cpu.gemm", ZN_OP_GEMM, ZN_BACKEND_CPU, ZN_F32, 10, 0, gemm_supports, gemm_prepare,
     packed_release, gemm_run},
    {"cpu.znlinear", ZN_OP_LINEAR, ZN_BACKEND_CPU, ZN_F32, 10, 0, linear_supports, linear_prepare,
     packed_release, linear_run},
    {"cpu.znattention", ZN_OP_ATTENTION, ZN_BACKEND_CPU, ZN_F32, 10, 0, attn_supports,
     attn_prepare, NULL, attn_run},
};

ZN_KERNEL_TABLE(zn_fast_linalg_table, specs);
