/* fast_elementwise.c — AVX2 kernels (priority 10) for the element-wise and row-wise ops that
 * transformer and CNN graphs spend their non-GEMM time in: Softmax over the last axis,
 * LayerNormalization and ZnAddLayerNorm, Gelu / ZnBiasGelu (erf or tanh form), Relu /
 * ZnBiasRelu / ZnAddRelu, Sigmoid, Tanh, Exp, and Add/Sub/Mul/Div with broadcasting.
 *
 * f32 only. Every supports() also requires AVX2+FMA on the running CPU, so on other CPUs and
 * for every case a kernel does not take (other dtypes, softmax over an inner axis, a
 * per-scalar LayerNorm scale) the reference kernel of the op runs instead: the reference is
 * the portable fallback. Vector math (exp, erf, tanh) comes from fast_math.h; row statistics
 * accumulate in f32 over 8-wide lanes (the reference uses double; results agree to ~1e-6).
 * Not here: f16/bf16, integer arithmetic, reductions other than the row-wise ones above.
 */
#include <math.h>
#include <string.h>

#include <immintrin.h>

#include "../../engine/error.h"
#include "../kernel.h"
#include "broadcast.h"
#include "fast_math.h"
#include "fast_tables.h"
#include "gemm.h"
#include "threadpool.h"

#define GRAIN (1 << 14)

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

static bool cpu_ok(void) { return zn_gemm_path_available(ZN_GEMM_PATH_AVX2); }

static bool io_f32(const zn_kernel_node *n, int n_in) {
    if (n->n_in != n_in || n->n_out < 1) return false;
    for (int i = 0; i < n_in; i++)
        if (n->in[i].dtype != ZN_F32) return false;
    return n->out[0].dtype == ZN_F32 && cpu_ok();
}

/* ============================== unary ops ============================================== */

typedef enum uop { U_RELU, U_SIGMOID, U_TANH, U_EXP, U_GELU, U_GELU_TANH } uop;

typedef struct unary_job {
    const float *x, *bias; /* bias: (C) added before the op, or NULL */
    float *y;
    int64_t C;             /* row length when bias is set */
    uop op;
} unary_job;

ZN_AVX2 static inline __m256 apply8(uop op, __m256 v) {
    switch (op) {
    case U_RELU: return _mm256_max_ps(_mm256_setzero_ps(), v);
    case U_SIGMOID: return zn_v8_sigmoid(v);
    case U_TANH: return zn_v8_tanh(v);
    case U_EXP: return zn_v8_exp(v);
    case U_GELU: return zn_v8_gelu_erf(v);
    default: return zn_v8_gelu_tanh(v);
    }
}

/* y[0:n) = op(x[0:n) + b[0:n)) (b may be NULL) */
ZN_AVX2 static void unary_span(uop op, float *y, const float *x, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
        _mm256_storeu_ps(y + i, apply8(op, v));
    }
    if (i < n) {
        __m256i mk = zn_v8_tail_mask(n - i);
        __m256 v = _mm256_maskload_ps(x + i, mk);
        if (b) v = _mm256_add_ps(v, _mm256_maskload_ps(b + i, mk));
        _mm256_maskstore_ps(y + i, mk, apply8(op, v));
    }
}

static void unary_range(void *arg, int64_t b, int64_t e) {
    const unary_job *j = arg;
    if (!j->bias) {
        unary_span(j->op, j->y + b, j->x + b, NULL, e - b);
        return;
    }
    for (int64_t r = b; r < e; r++) unary_span(j->op, j->y + r * j->C, j->x + r * j->C, j->bias, j->C);
}

static uop gelu_op(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
    return strcmp(a, "tanh") == 0 ? U_GELU_TANH : U_GELU;
}

static uop op_of(const zn_kernel_node *n) {
    switch (n->op) {
    case ZN_OP_RELU:
    case ZN_OP_BIAS_RELU: return U_RELU;
    case ZN_OP_SIGMOID: return U_SIGMOID;
    case ZN_OP_TANH: return U_TANH;
    case ZN_OP_EXP: return U_EXP;
    default: return gelu_op(n);
    }
}

static zn_status unary_run(const zn_exec_ctx *ctx) {
    unary_job j = {ctx->in[0].data, NULL, ctx->out[0].data, 0, op_of(ctx->node)};
    zn_parallel_for(ctx->pool, zn_view_numel(&ctx->out[0]), GRAIN, unary_range, &j);
    return ZN_OK;
}

static bool sup_unary(const zn_kernel_node *n) {
    if (!io_f32(n, 1) || n->n_out != 1) return false;
    if (zn_view_numel(&n->in[0]) != zn_view_numel(&n->out[0])) return false;
    if (n->op == ZN_OP_GELU) {
        const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
        return strcmp(a, "none") == 0 || strcmp(a, "tanh") == 0;
    }
    return true;
}

/* ZnBiasRelu / ZnBiasGelu: x: (..., C), bias: (C) */
static zn_status bias_act_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t C = x->dims[x->rank - 1];
    if (C == 0) return ZN_OK;
    unary_job j = {x->data, ctx->in[1].data, ctx->out[0].data, C, op_of(ctx->node)};
    zn_parallel_for(ctx->pool, zn_view_numel(x) / C, GRAIN / C + 1, unary_range, &j);
    return ZN_OK;
}

static bool sup_bias_act(const zn_kernel_node *n) {
    if (!io_f32(n, 2) || n->n_out != 1) return false;
    const zn_view *x = &n->in[0];
    if (x->rank < 1 || zn_view_numel(&n->in[1]) != x->dims[x->rank - 1]) return false;
    if (zn_view_numel(&n->out[0]) != zn_view_numel(x)) return false;
    if (n->op == ZN_OP_BIAS_GELU) {
        const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
        return strcmp(a, "none") == 0 || strcmp(a, "tanh") == 0;
    }
    return true;
}

/* ============================== binary ops (broadcasting) ============================== */

typedef enum bop { B_ADD, B_SUB, B_MUL, B_DIV, B_ADD_RELU } bop;

typedef struct bin_job {
    const float *a, *b;
    float *o;
    bop op;
} bin_job;

ZN_AVX2 static inline __m256 bin8(bop op, __m256 x, __m256 y) {
    switch (op) {
    case B_ADD: return _mm256_add_ps(x, y);
    case B_SUB: return _mm256_sub_ps(x, y);
    case B_MUL: return _mm256_mul_ps(x, y);
    case B_DIV: return _mm256_div_ps(x, y);
    default: return _mm256_max_ps(_mm256_setzero_ps(), _mm256_add_ps(x, y));
    }
}

/* one segment: input k's elements are in_off[k] + i * in_stride[k] (stride 0 or 1) */
ZN_AVX2 static void bin_seg(void *arg, int64_t oo, const int64_t *io, const int64_t *is, int64_t n) {
    const bin_job *j = arg;
    const float *A = j->a + io[0], *B = j->b + io[1];
    float *O = j->o + oo;
    const bop op = j->op;
    if (n <= 0) return;
    int64_t i = 0;
    const __m256 a0 = _mm256_set1_ps(A[0]), b0 = _mm256_set1_ps(B[0]);
    for (; i + 8 <= n; i += 8) {
        __m256 x = is[0] ? _mm256_loadu_ps(A + i) : a0;
        __m256 y = is[1] ? _mm256_loadu_ps(B + i) : b0;
        _mm256_storeu_ps(O + i, bin8(op, x, y));
    }
    if (i < n) {
        __m256i mk = zn_v8_tail_mask(n - i);
        __m256 x = is[0] ? _mm256_maskload_ps(A + i, mk) : a0;
        __m256 y = is[1] ? _mm256_maskload_ps(B + i, mk) : b0;
        if (op == B_DIV) y = _mm256_blendv_ps(_mm256_set1_ps(1.0f), y, _mm256_castsi256_ps(mk));
        _mm256_maskstore_ps(O + i, mk, bin8(op, x, y));
    }
}

static bool sup_binary(const zn_kernel_node *n) {
    if (!io_f32(n, 2) || n->n_out != 1) return false;
    zn_bcast plan;
    const zn_view *ins[2] = {&n->in[0], &n->in[1]};
    return zn_bcast_init_views(&plan, &n->out[0], 2, ins);
}

static zn_status binary_run(const zn_exec_ctx *ctx) {
    zn_bcast plan;
    const zn_view *ins[2] = {&ctx->in[0], &ctx->in[1]};
    if (!zn_bcast_init_views(&plan, &ctx->out[0], 2, ins))
        return zn_error_set(ZN_ERR_SHAPE, "%s: inputs do not broadcast to the output shape "
                            "(re-run shape inference so output dims match the inputs)",
                            zn_op_name(ctx->node->op));
    bop op = B_ADD;
    switch (ctx->node->op) {
    case ZN_OP_SUB: op = B_SUB; break;
    case ZN_OP_MUL: op = B_MUL; break;
    case ZN_OP_DIV: op = B_DIV; break;
    case ZN_OP_ADD_RELU: op = B_ADD_RELU; break;
    default: break;
    }
    bin_job j = {ctx->in[0].data, ctx->in[1].data, ctx->out[0].data, op};
    zn_bcast_for(&plan, ctx->pool, bin_seg, &j);
    return ZN_OK;
}

/* ============================== Softmax (last axis) ==================================== */

typedef struct rows_job {
    const float *x, *x2;   /* x2: second addend (ZnAddLayerNorm) or NULL */
    float *y, *sum_out;    /* sum_out: a + b copy (ZnAddLayerNorm's out 1) or NULL */
    const float *g, *b;    /* LayerNorm scale (D) and bias (D) or NULL */
    float *mean, *inv;     /* (rows) or NULL */
    int64_t D;
    float eps;
} rows_job;

static void softmax_rows(void *arg, int64_t r0, int64_t r1) {
    const rows_job *j = arg;
    for (int64_t r = r0; r < r1; r++) zn_softmax_row_avx2(j->y + r * j->D, j->x + r * j->D, j->D, j->D);
}

static bool sup_softmax(const zn_kernel_node *n) {
    if (!io_f32(n, 1) || n->n_out != 1) return false;
    int r = n->in[0].rank;
    if (r < 1) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    return axis == -1 || axis == r - 1;
}

static zn_status softmax_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t D = x->dims[x->rank - 1];
    if (D == 0) return ZN_OK;
    rows_job j = {.x = x->data, .y = ctx->out[0].data, .D = D};
    zn_parallel_for(ctx->pool, zn_view_numel(x) / D, GRAIN / D + 1, softmax_rows, &j);
    return ZN_OK;
}

/* ============================== LayerNorm / ZnAddLayerNorm ============================= */

ZN_AVX2 static void layernorm_rows(void *arg, int64_t r0, int64_t r1) {
    const rows_job *j = arg;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * D;
        float *y = j->y + r * D;
        if (j->x2) { /* y = a + b first (and the sum output), then normalise y in place */
            const float *x2 = j->x2 + r * D;
            float *so = j->sum_out ? j->sum_out + r * D : NULL;
            int64_t i = 0;
            for (; i + 8 <= D; i += 8) {
                __m256 s = _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(x2 + i));
                _mm256_storeu_ps(y + i, s);
                if (so) _mm256_storeu_ps(so + i, s);
            }
            for (; i < D; i++) {
                y[i] = x[i] + x2[i];
                if (so) so[i] = y[i];
            }
            x = y;
        }
        __m256 vs = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 8 <= D; i += 8) vs = _mm256_add_ps(vs, _mm256_loadu_ps(x + i));
        float s = zn_v8_hsum(vs);
        for (; i < D; i++) s += x[i];
        const float mean = s / (float)D;
        const __m256 vmean = _mm256_set1_ps(mean);
        __m256 vv = _mm256_setzero_ps();
        for (i = 0; i + 8 <= D; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmean);
            vv = _mm256_fmadd_ps(d, d, vv);
        }
        float v = zn_v8_hsum(vv);
        for (; i < D; i++) v += (x[i] - mean) * (x[i] - mean);
        const float inv = (float)(1.0 / sqrt((double)(v / (float)D) + (double)j->eps));
        const __m256 vinv = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= D; i += 8) {
            __m256 t = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmean), vinv),
                                     _mm256_loadu_ps(j->g + i));
            if (j->b) t = _mm256_add_ps(t, _mm256_loadu_ps(j->b + i));
            _mm256_storeu_ps(y + i, t);
        }
        for (; i < D; i++) {
            float t = (x[i] - mean) * inv * j->g[i];
            y[i] = j->b ? t + j->b[i] : t;
        }
        if (j->mean) j->mean[r] = mean;
        if (j->inv) j->inv[r] = inv;
    }
}

static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

static int64_t trailing(const zn_view *x, int axis) {
    int64_t D = 1;
    for (int d = axis; d < x->rank; d++) D *= x->dims[d];
    return D;
}

/* scale and bias must hold one value per normalised element (single values: the reference) */
static bool ln_params(const zn_kernel_node *n, int first, int64_t D) {
    if (n->in[first].dtype != ZN_F32 || zn_view_numel(&n->in[first]) != D) return false;
    if (n->n_in > first + 1 && present(&n->in[first + 1]) &&
        (n->in[first + 1].dtype != ZN_F32 || zn_view_numel(&n->in[first + 1]) != D))
        return false;
    return true;
}

static bool sup_layernorm(const zn_kernel_node *n) {
    if (n->n_in < 2 || n->n_in > 3 || n->n_out < 1 || n->n_out > 3 || !cpu_ok()) return false;
    const zn_view *x = &n->in[0];
    if (x->dtype != ZN_F32 || x->rank < 1 || n->out[0].dtype != ZN_F32) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -x->rank || axis >= x->rank) return false;
    int64_t D = trailing(x, norm_axis(axis, x->rank));
    if (D < 1 || !ln_params(n, 1, D)) return false;
    for (int k = 1; k < n->n_out; k++)
        if (present(&n->out[k]) && n->out[k].dtype != ZN_F32) return false;
    return true;
}

static float *opt_out(const zn_exec_ctx *ctx, int k) {
    return ctx->n_out > k && present(&ctx->out[k]) ? ctx->out[k].data : NULL;
}

static zn_status layernorm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), x->rank);
    int64_t D = trailing(x, axis);
    rows_job j = {.x = x->data, .y = ctx->out[0].data, .g = ctx->in[1].data,
                  .b = ctx->n_in > 2 && present(&ctx->in[2]) ? ctx->in[2].data : NULL,
                  .mean = opt_out(ctx, 1), .inv = opt_out(ctx, 2), .D = D,
                  .eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f)};
    zn_parallel_for(ctx->pool, zn_view_numel(x) / D, GRAIN / D + 1, layernorm_rows, &j);
    return ZN_OK;
}

/* ZnAddLayerNorm with a and b of the same shape as y (broadcast forms: the reference) */
static bool sup_addln(const zn_kernel_node *n) {
    if (n->n_in < 3 || n->n_in > 4 || n->n_out < 1 || n->n_out > 2 || !cpu_ok()) return false;
    const zn_view *y = &n->out[0];
    if (n->in[0].dtype != ZN_F32 || n->in[1].dtype != ZN_F32 || y->dtype != ZN_F32) return false;
    if (y->rank < 1 || n->in[0].rank != y->rank || n->in[1].rank != y->rank) return false;
    for (int d = 0; d < y->rank; d++)
        if (n->in[0].dims[d] != y->dims[d] || n->in[1].dims[d] != y->dims[d]) return false;
    if (n->n_out > 1 && present(&n->out[1]) &&
        (n->out[1].dtype != ZN_F32 || zn_view_numel(&n->out[1]) != zn_view_numel(y)))
        return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -y->rank || axis >= y->rank) return false;
    int64_t D = trailing(y, norm_axis(axis, y->rank));
    return D >= 1 && ln_params(n, 2, D);
}

static zn_status addln_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *y = &ctx->out[0];
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), y->rank);
    int64_t D = trailing(y, axis);
    rows_job j = {.x = ctx->in[0].data, .x2 = ctx->in[1].data, .y = y->data,
                  .sum_out = opt_out(ctx, 1), .g = ctx->in[2].data,
                  .b = ctx->n_in > 3 && present(&ctx->in[3]) ? ctx->in[3].data : NULL, .D = D,
                  .eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f)};
    zn_parallel_for(ctx->pool, zn_view_numel(y) / D, GRAIN / D + 1, layernorm_rows, &j);
    return ZN_OK;
}

/* ============================== table ================================================== */

#define K(name, OP, flags, sup, run) \
    {"cpu." name, ZN_OP_##OP, ZN_BACKEND_CPU, ZN_F32, 10, flags, sup, NULL, NULL, run}
#define IP ZN_KERNEL_INPLACE

static const zn_kernel_spec specs[] = {
    K("relu", RELU, IP, sup_unary, unary_run),
    K("sigmoid", SIGMOID, IP, sup_unary, unary_run),
    K("tanh", TANH, IP, sup_unary, unary_run),
    K("exp", EXP, IP, sup_unary, unary_run),
    K("gelu", GELU, IP, sup_unary, unary_run),
    K("znbiasrelu", BIAS_RELU, IP, sup_bias_act, bias_act_run),
    K("znbiasgelu", BIAS_GELU, IP, sup_bias_act, bias_act_run),
    K("add", ADD, 0, sup_binary, binary_run),
    K("sub", SUB, 0, sup_binary, binary_run),
    K("mul", MUL, 0, sup_binary, binary_run),
    K("div", DIV, 0, sup_binary, binary_run),
    K("znaddrelu", ADD_RELU, 0, sup_binary, binary_run),
    K("softmax", SOFTMAX, IP, sup_softmax, softmax_run),
    K("layernormalization", LAYER_NORM, IP, sup_layernorm, layernorm_run),
    K("znaddlayernorm", ADD_LAYER_NORM, 0, sup_addln, addln_run),
};

ZN_KERNEL_TABLE(zn_fast_elementwise_table, specs);
