/* ref_norm.c — reference CPU kernels for normalization and the fused element-wise ops:
 * LayerNormalization, BatchNormalization (inference only), ZnAddLayerNorm, ZnAddRelu,
 * ZnBiasRelu and ZnBiasGelu.
 *
 * f32 only; per-row statistics accumulate in double (two passes: mean, then variance).
 * LayerNormalization's Scale and B hold either one value per normalized element (the product
 * of X's dims from `axis` on) or a single value. Not here: training-mode BatchNormalization
 * (supports() refuses it), shape inference (engine/infer_norm.c), SIMD variants.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/error.h"
#include "broadcast.h"
#include "cpu_tables.h"
#include "threadpool.h"

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool has_out(const zn_exec_ctx *ctx, int k) {
    return ctx->n_out > k && present(&ctx->out[k]) && ctx->out[k].data;
}
static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

/* ============================== layer norm (shared) ==================================== */

typedef struct ln_job {
    const float *x;    /* (rows, D) */
    float *y;          /* (rows, D); may equal x */
    const float *g;    /* (D) or (1) */
    const float *b;    /* (D), (1) or NULL */
    int64_t gs, bs;    /* 1: per element, 0: one value */
    float *mean, *inv; /* (rows) or NULL */
    int64_t D;
    float eps;
} ln_job;

static void ln_range(void *arg, int64_t r0, int64_t r1) {
    const ln_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        double s = 0.0;
        for (int64_t i = 0; i < D; i++) s += x[i];
        double mean = D ? s / (double)D : 0.0;
        double v = 0.0;
        for (int64_t i = 0; i < D; i++) {
            double d = x[i] - mean;
            v += d * d;
        }
        double var = D ? v / (double)D : 0.0;
        double inv = 1.0 / sqrt(var + (double)j->eps);
        const float m = (float)mean, is = (float)inv;
        for (int64_t i = 0; i < D; i++) {
            float t = (x[i] - m) * is * j->g[i * j->gs];
            y[i] = j->b ? t + j->b[i * j->bs] : t;
        }
        if (j->mean) j->mean[r] = m;
        if (j->inv) j->inv[r] = is;
    }
}

/* x, y: (rows, D) over the dims from `axis`; mean/inv: (rows) or NULL */
static void layernorm(zn_threadpool *pool, float *y, float *mean, float *inv, const float *x,
                      const zn_view *g, const zn_view *b, int64_t rows, int64_t D, float eps) {
    ln_job j = {x, y, g->data, b ? b->data : NULL, zn_view_numel(g) == 1 ? 0 : 1,
                b && zn_view_numel(b) == 1 ? 0 : 1, mean, inv, D, eps};
    int64_t grain = (1 << 14) / (D + 1) + 1;
    zn_parallel_for(pool, rows, grain, ln_range, &j);
}

/* Splits x's shape at `axis`: rows = prod(dims[:axis]), D = prod(dims[axis:]). */
static void split_at(const zn_view *x, int axis, int64_t *rows, int64_t *D) {
    *rows = 1;
    *D = 1;
    for (int d = 0; d < x->rank; d++) *(d < axis ? rows : D) *= x->dims[d];
}

static bool param_ok(const zn_view *p, int64_t D) {
    if (p->dtype != ZN_F32) return false;
    int64_t n = zn_view_numel(p);
    return n == D || n == 1;
}

static zn_status layernorm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), x->rank);
    float eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    int64_t rows, D;
    split_at(x, axis, &rows, &D);
    const zn_view *b = ctx->n_in > 2 && present(&ctx->in[2]) ? &ctx->in[2] : NULL;
    layernorm(ctx->pool, ctx->out[0].data, has_out(ctx, 1) ? ctx->out[1].data : NULL,
              has_out(ctx, 2) ? ctx->out[2].data : NULL, x->data, &ctx->in[1], b, rows, D, eps);
    return ZN_OK;
}

static bool sup_layernorm(const zn_kernel_node *n) {
    if (n->n_in < 2 || n->n_in > 3 || n->n_out < 1 || n->n_out > 3) return false;
    const zn_view *x = &n->in[0];
    if (x->dtype != ZN_F32 || x->rank < 1 || n->out[0].dtype != ZN_F32) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -x->rank || axis >= x->rank) return false;
    int64_t rows, D;
    split_at(x, norm_axis(axis, x->rank), &rows, &D);
    if (!param_ok(&n->in[1], D)) return false;
    if (n->n_in > 2 && present(&n->in[2]) && !param_ok(&n->in[2], D)) return false;
    for (int k = 1; k < n->n_out; k++)
        if (present(&n->out[k]) && n->out[k].dtype != ZN_F32) return false;
    return true;
}

/* ============================== BatchNormalization ===================================== */

static zn_status batchnorm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *xv = &ctx->in[0];
    float eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    const int64_t N = xv->dims[0], C = xv->dims[1];
    int64_t S = 1;
    for (int d = 2; d < xv->rank; d++) S *= xv->dims[d];
    const float *scale = ctx->in[1].data, *bias = ctx->in[2].data;
    const float *mean = ctx->in[3].data, *var = ctx->in[4].data;
    const float *x = xv->data;
    float *y = ctx->out[0].data;
    /* x, y: (N, C, S) */
    for (int64_t c = 0; c < C; c++) {
        double a = (double)scale[c] / sqrt((double)var[c] + (double)eps);
        float fa = (float)a, fb = (float)((double)bias[c] - (double)mean[c] * a);
        for (int64_t i = 0; i < N; i++) {
            const float *xi = x + (i * C + c) * S;
            float *yi = y + (i * C + c) * S;
            for (int64_t s = 0; s < S; s++) yi[s] = xi[s] * fa + fb;
        }
    }
    return ZN_OK;
}

static bool sup_batchnorm(const zn_kernel_node *n) {
    if (n->n_in != 5 || n->n_out != 1) return false;
    if (zn_attrs_int(n->attrs, n->n_attrs, "training_mode", 0) != 0) return false;
    const zn_view *x = &n->in[0];
    if (x->dtype != ZN_F32 || x->rank < 2 || n->out[0].dtype != ZN_F32) return false;
    for (int i = 1; i < 5; i++)
        if (n->in[i].dtype != ZN_F32 || zn_view_numel(&n->in[i]) != x->dims[1]) return false;
    return true;
}

/* ============================== fused ops ============================================== */

typedef struct add_job {
    const float *a, *b;
    float *o;
    int relu;
} add_job;

static void add_seg(void *arg, int64_t oo, const int64_t *io, const int64_t *is, int64_t n) {
    const add_job *j = arg;
    const float *A = j->a + io[0], *B = j->b + io[1];
    float *O = j->o + oo;
    for (int64_t i = 0; i < n; i++) {
        float v = A[i * is[0]] + B[i * is[1]];
        O[i] = (j->relu && v < 0.0f) ? 0.0f : v;
    }
}

/* o = a + b (relu'd when asked), broadcasting to o's shape */
static zn_status add_bcast(const zn_exec_ctx *ctx, const zn_view *a, const zn_view *b,
                           zn_view *o, int relu) {
    zn_bcast plan;
    const zn_view *ins[2] = {a, b};
    if (!zn_bcast_init_views(&plan, o, 2, ins))
        return zn_error_set(ZN_ERR_SHAPE, "%s: inputs do not broadcast to the output shape "
                            "(re-run shape inference so output dims match the inputs)",
                            zn_op_name(ctx->node->op));
    add_job j = {a->data, b->data, o->data, relu};
    zn_bcast_for(&plan, ctx->pool, add_seg, &j);
    return ZN_OK;
}

static zn_status addrelu_run(const zn_exec_ctx *ctx) {
    return add_bcast(ctx, &ctx->in[0], &ctx->in[1], &ctx->out[0], 1);
}

static bool broadcasts(const zn_kernel_node *n, const zn_view *o) {
    zn_bcast plan;
    const zn_view *ins[2] = {&n->in[0], &n->in[1]};
    return zn_bcast_init_views(&plan, o, 2, ins);
}

static bool sup_addrelu(const zn_kernel_node *n) {
    return n->n_in == 2 && n->n_out == 1 && n->in[0].dtype == ZN_F32 &&
           n->in[1].dtype == ZN_F32 && n->out[0].dtype == ZN_F32 && broadcasts(n, &n->out[0]);
}

/* ZnAddLayerNorm: s = a + b (into y, copied to out 1 when wanted), then y = LN(s) in place. */
static zn_status addln_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    zn_view *y = &ctx->out[0];
    zn_status st = add_bcast(ctx, &ctx->in[0], &ctx->in[1], y, 0);
    if (st != ZN_OK) return st;
    if (has_out(ctx, 1)) memcpy(ctx->out[1].data, y->data, zn_view_bytes(y));
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), y->rank);
    float eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    int64_t rows, D;
    split_at(y, axis, &rows, &D);
    const zn_view *b = ctx->n_in > 3 && present(&ctx->in[3]) ? &ctx->in[3] : NULL;
    layernorm(ctx->pool, y->data, NULL, NULL, y->data, &ctx->in[2], b, rows, D, eps);
    return ZN_OK;
}

static bool sup_addln(const zn_kernel_node *n) {
    if (n->n_in < 3 || n->n_in > 4 || n->n_out < 1 || n->n_out > 2) return false;
    const zn_view *y = &n->out[0];
    if (n->in[0].dtype != ZN_F32 || n->in[1].dtype != ZN_F32 || y->dtype != ZN_F32) return false;
    if (y->rank < 1 || !broadcasts(n, y)) return false;
    if (n->n_out > 1 && present(&n->out[1])) {
        const zn_view *s = &n->out[1];
        if (s->dtype != ZN_F32 || zn_view_numel(s) != zn_view_numel(y)) return false;
    }
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -y->rank || axis >= y->rank) return false;
    int64_t rows, D;
    split_at(y, norm_axis(axis, y->rank), &rows, &D);
    if (!param_ok(&n->in[2], D)) return false;
    return !(n->n_in > 3 && present(&n->in[3]) && !param_ok(&n->in[3], D));
}

/* ZnBiasRelu / ZnBiasGelu: x: (..., C), bias: (C) */
typedef struct bias_job {
    const float *x, *bias;
    float *y;
    int64_t C;
    int act; /* 0 relu, 1 gelu (erf), 2 gelu (tanh) */
} bias_job;

static void bias_range(void *arg, int64_t r0, int64_t r1) {
    const bias_job *j = arg;
    const int64_t C = j->C;
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * C;
        float *y = j->y + r * C;
        switch (j->act) {
        case 0:
            for (int64_t c = 0; c < C; c++) {
                float v = x[c] + j->bias[c];
                y[c] = v < 0.0f ? 0.0f : v;
            }
            break;
        case 1:
            for (int64_t c = 0; c < C; c++) {
                float v = x[c] + j->bias[c];
                y[c] = 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2));
            }
            break;
        default:
            for (int64_t c = 0; c < C; c++) {
                float v = x[c] + j->bias[c];
                y[c] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
            }
            break;
        }
    }
}

static zn_status bias_act_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    int act = 0;
    if (n->op == ZN_OP_BIAS_GELU)
        act = strcmp(zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none"), "tanh") == 0 ? 2 : 1;
    int64_t C = x->dims[x->rank - 1];
    if (C == 0) return ZN_OK;
    bias_job j = {x->data, ctx->in[1].data, ctx->out[0].data, C, act};
    zn_parallel_for(ctx->pool, zn_view_numel(x) / C, (1 << 14) / C + 1, bias_range, &j);
    return ZN_OK;
}

static bool sup_bias_act(const zn_kernel_node *n) {
    if (n->n_in != 2 || n->n_out != 1) return false;
    const zn_view *x = &n->in[0];
    if (x->dtype != ZN_F32 || n->in[1].dtype != ZN_F32 || n->out[0].dtype != ZN_F32) return false;
    if (x->rank < 1 || zn_view_numel(&n->in[1]) != x->dims[x->rank - 1]) return false;
    if (n->op == ZN_OP_BIAS_GELU) {
        const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
        if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0) return false;
    }
    return true;
}

/* ============================== table ================================================== */

#define K(name, OP, flags, sup, run) \
    {"ref." name, ZN_OP_##OP, ZN_BACKEND_CPU, ZN_F32, 0, flags, sup, NULL, NULL, run}

static const zn_kernel_spec specs[] = {
    K("layernormalization", LAYER_NORM, ZN_KERNEL_INPLACE, sup_layernorm, layernorm_run),
    K("batchnormalization", BATCH_NORM, ZN_KERNEL_INPLACE, sup_batchnorm, batchnorm_run),
    K("znaddlayernorm", ADD_LAYER_NORM, 0, sup_addln, addln_run),
    K("znaddrelu", ADD_RELU, 0, sup_addrelu, addrelu_run),
    K("znbiasrelu", BIAS_RELU, ZN_KERNEL_INPLACE, sup_bias_act, bias_act_run),
    K("znbiasgelu", BIAS_GELU, ZN_KERNEL_INPLACE, sup_bias_act, bias_act_run),
};

ZN_KERNEL_TABLE(zn_ref_norm_table, specs);
