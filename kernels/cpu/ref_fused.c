/* ref_fused.c — reference CPU kernels of the fused ops the passes produce: ZnLinear,
 * ZnAttention and ZnConv (semantics in engine/ops.def).
 *
 * f32 only. The GEMMs go through zn_ref_sgemm and ZnConv through the reference Conv kernel,
 * followed by a plain epilogue (bias, residual, activation), so a fused node computes what its
 * unfused pattern computed, in the same order, up to rounding. Not here: SIMD or blocked
 * attention (flash-style) variants, shape inference (engine/infer_fused.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/error.h"
#include "cpu_tables.h"
#include "ref_gemm.h"
#include "threadpool.h"

enum { ACT_NONE, ACT_RELU, ACT_GELU, ACT_GELU_TANH, ACT_BAD };

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool in_present(const zn_kernel_node *n, int i) { return i < n->n_in && present(&n->in[i]); }

static int activation(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
    if (!strcmp(a, "none")) return ACT_NONE;
    if (!strcmp(a, "relu")) return ACT_RELU;
    if (!strcmp(a, "gelu")) return ACT_GELU;
    if (!strcmp(a, "gelu_tanh")) return ACT_GELU_TANH;
    return ACT_BAD;
}

static inline float act_apply(int act, float v) {
    switch (act) {
    case ACT_RELU: return v < 0.0f ? 0.0f : v;
    case ACT_GELU: return 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2));
    case ACT_GELU_TANH:
        return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    default: return v;
    }
}

static bool same_dims(const zn_view *a, const zn_view *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* ---- epilogue: y (rows, N) = act(y + bias[n] + res[r, n]) ------------------------------------ */

typedef struct epi_job {
    float *y;
    const float *bias; /* (N) or NULL */
    const float *res;  /* (rows, N) or NULL */
    int64_t N;
    int act;
} epi_job;

static void epi_range(void *arg, int64_t r0, int64_t r1) {
    const epi_job *j = arg;
    for (int64_t r = r0; r < r1; r++) {
        float *y = j->y + r * j->N;
        const float *res = j->res ? j->res + r * j->N : NULL;
        for (int64_t c = 0; c < j->N; c++) {
            float v = y[c];
            if (j->bias) v += j->bias[c];
            if (res) v += res[c];
            y[c] = act_apply(j->act, v);
        }
    }
}

static void epilogue(zn_threadpool *pool, float *y, const float *bias, const float *res, int64_t rows,
                     int64_t N, int act) {
    if (!bias && !res && act == ACT_NONE) return;
    if (rows <= 0 || N <= 0) return;
    epi_job j = {y, bias, res, N, act};
    zn_parallel_for(pool, rows, (1 << 14) / N + 1, epi_range, &j);
}

/* ============================== ZnLinear ================================================ */

static bool linear_supports(const zn_kernel_node *n) {
    if (n->n_in < 2 || n->n_in > 4 || n->n_out != 1) return false;
    for (int i = 0; i < n->n_in; i++)
        if (in_present(n, i) && n->in[i].dtype != ZN_F32) return false;
    if (!in_present(n, 0) || !in_present(n, 1) || n->out[0].dtype != ZN_F32) return false;
    const zn_view *x = &n->in[0], *w = &n->in[1], *y = &n->out[0];
    if (x->rank < 1 || w->rank != 2 || activation(n) == ACT_BAD) return false;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    if (x->dims[x->rank - 1] != K || y->rank != x->rank || y->dims[y->rank - 1] != N) return false;
    if (in_present(n, 2) && zn_view_numel(&n->in[2]) != N) return false;
    if (in_present(n, 3) && !same_dims(&n->in[3], y)) return false;
    return true;
}

// x: (M, K), w: (K, N) or (N, K) with transB, y: (M, N)
static zn_status linear_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0], *w = &ctx->in[1];
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    int64_t M = K ? zn_view_numel(x) / K : 0;
    if (!K) M = zn_view_numel(&ctx->out[0]) / (N ? N : 1);
    float *y = ctx->out[0].data;
    if (K == 0) memset(y, 0, sizeof(float) * (size_t)(M * N));
    else
        zn_ref_sgemm(ctx->pool, false, tb, M, N, K, 1.0f, x->data, K, w->data, tb ? K : N, 0.0f, y, N);
    const float *bias = ctx->n_in > 2 && present(&ctx->in[2]) ? ctx->in[2].data : NULL;
    const float *res = ctx->n_in > 3 && present(&ctx->in[3]) ? ctx->in[3].data : NULL;
    epilogue(ctx->pool, y, bias, res, M, N, activation(n));
    return ZN_OK;
}

/* ============================== ZnConv ================================================== */

static const zn_kernel_spec *ref_conv(void) {
    for (int i = 0; i < zn_ref_conv_table.count; i++)
        if (zn_ref_conv_table.specs[i].op == ZN_OP_CONV && zn_ref_conv_table.specs[i].priority == 0)
            return &zn_ref_conv_table.specs[i];
    return NULL;
}

/* The plain Conv node inside a ZnConv node (no residual; no bias when omitted). */
static zn_kernel_node as_conv(const zn_kernel_node *n) {
    zn_kernel_node c = *n;
    c.op = ZN_OP_CONV;
    c.n_in = in_present(n, 2) ? 3 : 2;
    return c;
}

static bool conv_supports(const zn_kernel_node *n) {
    const zn_kernel_spec *k = ref_conv();
    if (!k || n->n_in < 2 || n->n_in > 4 || n->n_out != 1) return false;
    int act = activation(n);
    if (act != ACT_NONE && act != ACT_RELU) return false;
    if (in_present(n, 3) && (n->in[3].dtype != ZN_F32 || !same_dims(&n->in[3], &n->out[0]))) return false;
    zn_kernel_node c = as_conv(n);
    return !k->supports || k->supports(&c);
}

static zn_status conv_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    const zn_kernel_spec *k = ref_conv();
    zn_kernel_node c = as_conv(n);
    return k->prepare ? k->prepare(&c, prep) : ZN_OK;
}

static void conv_release(void *state) {
    const zn_kernel_spec *k = ref_conv();
    if (k && k->release) k->release(state);
}

static zn_status conv_run(const zn_exec_ctx *ctx) {
    const zn_kernel_spec *k = ref_conv();
    zn_kernel_node c = as_conv(ctx->node);
    zn_exec_ctx cc = *ctx;
    cc.node = &c;
    cc.n_in = c.n_in;
    zn_status st = k->run(&cc);
    if (st != ZN_OK) return st;
    const zn_view *y = &ctx->out[0];
    const float *res = ctx->n_in > 3 && present(&ctx->in[3]) ? ctx->in[3].data : NULL;
    /* y: (N, C, spatial) viewed as (numel / last, last) rows */
    int64_t last = y->rank ? y->dims[y->rank - 1] : 1;
    if (last > 0) epilogue(ctx->pool, y->data, NULL, res, zn_view_numel(y) / last, last, activation(ctx->node));
    return ZN_OK;
}

/* ============================== ZnAttention ============================================= */

typedef struct attn_job {
    const float *q, *k, *v, *mask;
    float *y, *scores;
    int64_t B, H, Sq, Sk, D, Dv;
    int64_t ms[4]; /* mask strides over (B, H, Sq, Sk); 0 where it broadcasts */
    float scale;
    bool causal;
} attn_job;

static void attn_range(void *arg, int64_t t0, int64_t t1) {
    const attn_job *j = arg;
    const int64_t HD = j->H * j->D, HDv = j->H * j->Dv;
    for (int64_t t = t0; t < t1; t++) {
        int64_t b = t / j->H, h = t % j->H;
        float *s = j->scores + t * j->Sq * j->Sk; /* (Sq, Sk) */
        const float *q = j->q + b * j->Sq * HD + h * j->D;   /* rows of stride HD */
        const float *k = j->k + b * j->Sk * HD + h * j->D;
        const float *v = j->v + b * j->Sk * HDv + h * j->Dv;
        float *y = j->y + b * j->Sq * HDv + h * j->Dv;
        zn_ref_sgemm(NULL, false, true, j->Sq, j->Sk, j->D, j->scale, q, HD, k, HD, 0.0f, s, j->Sk);
        for (int64_t i = 0; i < j->Sq; i++) {
            float *row = s + i * j->Sk;
            if (j->mask) {
                const float *m = j->mask + b * j->ms[0] + h * j->ms[1] + i * j->ms[2];
                for (int64_t c = 0; c < j->Sk; c++) row[c] += m[c * j->ms[3]];
            }
            int64_t lim = j->causal ? i + (j->Sk - j->Sq) : j->Sk - 1; /* last visible key */
            float mx = -INFINITY;
            for (int64_t c = 0; c <= lim && c < j->Sk; c++)
                if (isnan(row[c]) || row[c] > mx) mx = row[c];
            double sum = 0.0;
            for (int64_t c = 0; c < j->Sk; c++) {
                float e = c <= lim ? expf(row[c] - mx) : 0.0f;
                row[c] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int64_t c = 0; c < j->Sk; c++) row[c] *= inv;
        }
        zn_ref_sgemm(NULL, false, false, j->Sq, j->Dv, j->Sk, 1.0f, s, j->Sk, v, HDv, 0.0f, y, HDv);
    }
}

static bool attn_geometry(const zn_kernel_node *n, attn_job *j) {
    if (n->n_in < 3 || n->n_in > 4 || n->n_out != 1) return false;
    for (int i = 0; i < n->n_in; i++)
        if (in_present(n, i) && n->in[i].dtype != ZN_F32) return false;
    const zn_view *q = &n->in[0], *k = &n->in[1], *v = &n->in[2], *y = &n->out[0];
    int64_t H = zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 1);
    if (q->rank != 3 || k->rank != 3 || v->rank != 3 || y->rank != 3 || H < 1) return false;
    if (q->dims[2] % H || v->dims[2] % H || q->dims[2] != k->dims[2]) return false;
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
    return attn_geometry(n, &j);
}

static zn_status attn_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    attn_job j;
    if (!attn_geometry(n, &j))
        return zn_error_set(ZN_ERR_SHAPE, "ZnAttention '%s': inputs do not fit (re-run shape inference)", n->name);
    prep->scratch_bytes = sizeof(float) * (size_t)(j.B * j.H * j.Sq * j.Sk);
    return ZN_OK;
}

static zn_status attn_run(const zn_exec_ctx *ctx) {
    attn_job j;
    if (!attn_geometry(ctx->node, &j))
        return zn_error_set(ZN_ERR_RUNTIME, "ZnAttention: inputs do not fit the node");
    if (j.B * j.H * j.Sq * j.Sk > 0 && !ctx->scratch)
        return zn_error_set(ZN_ERR_RUNTIME, "ZnAttention needs scratch for its scores and got none");
    j.q = ctx->in[0].data;
    j.k = ctx->in[1].data;
    j.v = ctx->in[2].data;
    j.mask = ctx->n_in > 3 && present(&ctx->in[3]) ? ctx->in[3].data : NULL;
    j.y = ctx->out[0].data;
    j.scores = ctx->scratch;
    if (j.Sk == 0) {
        memset(j.y, 0, zn_view_bytes(&ctx->out[0]));
        return ZN_OK;
    }
    zn_parallel_for(ctx->pool, j.B * j.H, 1, attn_range, &j);
    return ZN_OK;
}

/* ============================== table =================================================== */

static const zn_kernel_spec specs[] = {
    {"ref.znlinear", ZN_OP_LINEAR, ZN_BACKEND_CPU, ZN_F32, 0, 0, linear_supports, NULL, NULL, linear_run},
    {"ref.znattention", ZN_OP_ATTENTION, ZN_BACKEND_CPU, ZN_F32, 0, 0, attn_supports, attn_prepare, NULL, attn_run},
    {"ref.znconv", ZN_OP_CONV_FUSED, ZN_BACKEND_CPU, ZN_F32, 0, 0, conv_supports, conv_prepare, conv_release, conv_run},
};

ZN_KERNEL_TABLE(zn_ref_fused_table, specs);
