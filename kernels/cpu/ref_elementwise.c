/* ref_elementwise.c — reference CPU kernels for element-wise ops: activations, unary math,
 * broadcasting binary arithmetic, variadic Min/Max, comparisons, logic, Where, Clip and Cast.
 *
 * Plain and obviously right: float math is done in f32 (libm: expf, erff, tanhf, ...);
 * Add/Sub/Mul/Div/Min/Max/Neg/Abs/Relu/Equal/Less/Greater/Where also run on i64 and i32
 * because shape arithmetic flows through them. Integer arithmetic wraps (two's complement)
 * and integer division by zero gives 0 instead of trapping. Unary kernels are in-place safe
 * (out[0].data may equal in[0].data); binary kernels are not flagged in-place. Broadcasting
 * goes through kernels/cpu/broadcast.h. Not here: shape inference (engine/infer_elementwise.c),
 * SIMD kernels, f16/bf16 arithmetic (only Cast and Where touch those dtypes).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/error.h"
#include "broadcast.h"
#include "cpu_tables.h"
#include "threadpool.h"

#define GRAIN (1 << 15)

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool is_num(zn_dtype t) { return t == ZN_F32 || t == ZN_I64 || t == ZN_I32; }

static bool node_io(const zn_kernel_node *n, int min_in, int max_in) {
    if (n->n_in < min_in || n->n_in > max_in || n->n_out < 1) return false;
    for (int i = 0; i < min_in; i++)
        if (!present(&n->in[i])) return false;
    return true;
}

/* Whether the present inputs broadcast to out[0]'s shape. */
static bool broadcasts(const zn_kernel_node *n, int n_in) {
    for (int i = 0; i < n_in; i++) {
        zn_bcast b;
        const zn_view *v = &n->in[i];
        if (!zn_bcast_init_views(&b, &n->out[0], 1, &v)) return false;
    }
    return true;
}

static zn_status bcast_error(const char *op) {
    return zn_error_set(ZN_ERR_SHAPE, "%s: inputs do not broadcast to the output shape "
                        "(re-run shape inference so output dims match the inputs)", op);
}

/* ============================== unary ops ============================================== */

typedef struct unary_job {
    const void *x;
    void *y;
    float alpha, beta;
    int mode;
} unary_job;

#define UNARY_F32(NAME, EXPR)                                                      \
    static void NAME##_f32(void *arg, int64_t b, int64_t e) {                     \
        const unary_job *j = arg;                                                  \
        const float *x = j->x;                                                     \
        float *y = j->y;                                                           \
        const float alpha = j->alpha, beta = j->beta;                              \
        (void)alpha;                                                               \
        (void)beta;                                                                \
        for (int64_t i = b; i < e; i++) {                                          \
            float v = x[i];                                                        \
            y[i] = (EXPR);                                                         \
        }                                                                          \
    }

#define UNARY_INT(NAME, T, SFX, EXPR)                                              \
    static void NAME##_##SFX(void *arg, int64_t b, int64_t e) {                   \
        const unary_job *j = arg;                                                  \
        const T *x = j->x;                                                         \
        T *y = j->y;                                                               \
        for (int64_t i = b; i < e; i++) {                                          \
            T v = x[i];                                                            \
            y[i] = (EXPR);                                                         \
        }                                                                          \
    }

static inline float gelu_erf(float v) { return 0.5f * v * (1.0f + erff(v * (float)M_SQRT1_2)); }
static inline float gelu_tanh(float v) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}
static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

UNARY_F32(relu, v < 0.0f ? 0.0f : v)
UNARY_INT(relu, int64_t, i64, v < 0 ? 0 : v)
UNARY_INT(relu, int32_t, i32, v < 0 ? 0 : v)
UNARY_F32(leaky, v < 0.0f ? alpha * v : v)
UNARY_F32(sigmoid, 1.0f / (1.0f + expf(-v)))
UNARY_F32(tanh, tanhf(v))
UNARY_F32(gelu, gelu_erf(v))
UNARY_F32(gelu_t, gelu_tanh(v))
UNARY_F32(erf, erff(v))
UNARY_F32(silu, v / (1.0f + expf(-v)))
UNARY_F32(hsig, clampf(alpha * v + beta, 0.0f, 1.0f))
UNARY_F32(hswish, v * clampf(v / 6.0f + 0.5f, 0.0f, 1.0f))
UNARY_F32(softplus, (v > 0.0f ? v : 0.0f) + log1pf(expf(-fabsf(v))))
UNARY_F32(clip, clampf(v, alpha, beta))
UNARY_F32(sqrt, sqrtf(v))
UNARY_F32(neg, -v)
UNARY_INT(neg, int64_t, i64, (int64_t)(0u - (uint64_t)v))
UNARY_INT(neg, int32_t, i32, (int32_t)(0u - (uint32_t)v))
UNARY_F32(exp, expf(v))
UNARY_F32(log, logf(v))
UNARY_F32(abs, fabsf(v))
UNARY_INT(abs, int64_t, i64, v < 0 ? (int64_t)(0u - (uint64_t)v) : v)
UNARY_INT(abs, int32_t, i32, v < 0 ? (int32_t)(0u - (uint32_t)v) : v)
UNARY_F32(recip, 1.0f / v)
UNARY_F32(floor, floorf(v))
UNARY_F32(ceil, ceilf(v))
UNARY_INT(not, uint8_t, b8, (uint8_t)!v)

static zn_status run_unary(const zn_exec_ctx *ctx, zn_range_fn fn, float alpha, float beta) {
    unary_job j = {ctx->in[0].data, ctx->out[0].data, alpha, beta, 0};
    zn_parallel_for(ctx->pool, zn_view_numel(&ctx->out[0]), GRAIN, fn, &j);
    return ZN_OK;
}

#define RUN_F32(NAME, FN)                                                          \
    static zn_status NAME##_run(const zn_exec_ctx *ctx) { return run_unary(ctx, FN, 0.0f, 0.0f); }

RUN_F32(sigmoid, sigmoid_f32)
RUN_F32(tanh, tanh_f32)
RUN_F32(erf, erf_f32)
RUN_F32(silu, silu_f32)
RUN_F32(hswish, hswish_f32)
RUN_F32(softplus, softplus_f32)
RUN_F32(sqrt, sqrt_f32)
RUN_F32(exp, exp_f32)
RUN_F32(log, log_f32)
RUN_F32(recip, recip_f32)
RUN_F32(floor, floor_f32)
RUN_F32(ceil, ceil_f32)
RUN_F32(not, not_b8)

#define RUN_NUM(NAME)                                                              \
    static zn_status NAME##_run(const zn_exec_ctx *ctx) {                          \
        switch (ctx->in[0].dtype) {                                                \
        case ZN_F32: return run_unary(ctx, NAME##_f32, 0.0f, 0.0f);                \
        case ZN_I64: return run_unary(ctx, NAME##_i64, 0.0f, 0.0f);                \
        case ZN_I32: return run_unary(ctx, NAME##_i32, 0.0f, 0.0f);                \
        default: return zn_error_set(ZN_ERR_UNSUPPORTED, #NAME ": dtype %s not handled", \
                                     zn_dtype_name(ctx->in[0].dtype));             \
        }                                                                          \
    }

RUN_NUM(relu)
RUN_NUM(neg)
RUN_NUM(abs)

static zn_status leaky_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    return run_unary(ctx, leaky_f32, zn_attrs_float(n->attrs, n->n_attrs, "alpha", 0.01f), 0.0f);
}

static zn_status hsig_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    return run_unary(ctx, hsig_f32, zn_attrs_float(n->attrs, n->n_attrs, "alpha", 0.2f),
                     zn_attrs_float(n->attrs, n->n_attrs, "beta", 0.5f));
}

static bool gelu_tanh_mode(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
    return strcmp(a, "tanh") == 0;
}

static zn_status gelu_run(const zn_exec_ctx *ctx) {
    return run_unary(ctx, gelu_tanh_mode(ctx->node) ? gelu_t_f32 : gelu_f32, 0.0f, 0.0f);
}

/* Clip bounds: inputs 1 and 2 (opset >= 11, scalars) or attributes min/max; absent: none. */
static float clip_bound(const zn_exec_ctx *ctx, int idx, const char *attr, float dflt) {
    if (ctx->n_in > idx && present(&ctx->in[idx]) && ctx->in[idx].data)
        return ((const float *)ctx->in[idx].data)[0];
    const zn_kernel_node *n = ctx->node;
    return zn_attrs_float(n->attrs, n->n_attrs, attr, dflt);
}

static zn_status clip_run(const zn_exec_ctx *ctx) {
    return run_unary(ctx, clip_f32, clip_bound(ctx, 1, "min", -INFINITY),
                     clip_bound(ctx, 2, "max", INFINITY));
}

static bool sup_unary_f32(const zn_kernel_node *n) {
    return node_io(n, 1, 1) && n->in[0].dtype == ZN_F32 && n->out[0].dtype == ZN_F32;
}
static bool sup_unary_num(const zn_kernel_node *n) {
    return node_io(n, 1, 1) && is_num(n->in[0].dtype) && n->out[0].dtype == n->in[0].dtype;
}
static bool sup_unary_bool(const zn_kernel_node *n) {
    return node_io(n, 1, 1) && n->in[0].dtype == ZN_BOOL && n->out[0].dtype == ZN_BOOL;
}
static bool sup_gelu(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
    return sup_unary_f32(n) && (strcmp(a, "none") == 0 || strcmp(a, "tanh") == 0);
}
static bool sup_clip(const zn_kernel_node *n) {
    if (!node_io(n, 1, 3) || n->in[0].dtype != ZN_F32 || n->out[0].dtype != ZN_F32) return false;
    for (int i = 1; i < n->n_in; i++) {
        if (!present(&n->in[i])) continue;
        if (n->in[i].dtype != ZN_F32 || zn_view_numel(&n->in[i]) != 1) return false;
    }
    return true;
}

/* ============================== binary ops ============================================= */

typedef struct bin_job {
    const void *a, *b;
    void *o;
} bin_job;

/* One segment of o = EXPR(x, y) with the four stride cases as separate contiguous loops. */
#define BIN_SEG(NAME, TI, TO, EXPR)                                                \
    static void NAME(void *arg, int64_t oo, const int64_t *io, const int64_t *is, int64_t n) { \
        const bin_job *j = arg;                                                    \
        const TI *A = (const TI *)j->a + io[0];                                    \
        const TI *B = (const TI *)j->b + io[1];                                    \
        TO *O = (TO *)j->o + oo;                                                   \
        if (is[0] && is[1]) {                                                      \
            for (int64_t i = 0; i < n; i++) { TI x = A[i], y = B[i]; O[i] = (TO)(EXPR); } \
        } else if (is[0]) {                                                        \
            const TI y = B[0];                                                     \
            for (int64_t i = 0; i < n; i++) { TI x = A[i]; O[i] = (TO)(EXPR); }    \
        } else if (is[1]) {                                                        \
            const TI x = A[0];                                                     \
            for (int64_t i = 0; i < n; i++) { TI y = B[i]; O[i] = (TO)(EXPR); }    \
        } else {                                                                   \
            const TI x = A[0], y = B[0];                                           \
            const TO r = (TO)(EXPR);                                               \
            for (int64_t i = 0; i < n; i++) O[i] = r;                              \
        }                                                                          \
    }

/* wrapping integer arithmetic (no signed-overflow UB) */
#define WRAP(T, U, x, op, y) ((T)((U)(x) op (U)(y)))
#define IDIV(T, MIN, x, y) ((y) == 0 ? (T)0 : ((x) == (MIN) && (y) == -1) ? (x) : (T)((x) / (y)))
#define MAXF(x, y) ((isnan(x) || (x) > (y)) ? (x) : (y)) /* NaN-propagating */
#define MINF(x, y) ((isnan(x) || (x) < (y)) ? (x) : (y))
#define MAXI(x, y) ((x) > (y) ? (x) : (y))
#define MINI(x, y) ((x) < (y) ? (x) : (y))

BIN_SEG(add_f32, float, float, x + y)
BIN_SEG(add_i64, int64_t, int64_t, WRAP(int64_t, uint64_t, x, +, y))
BIN_SEG(add_i32, int32_t, int32_t, WRAP(int32_t, uint32_t, x, +, y))
BIN_SEG(sub_f32, float, float, x - y)
BIN_SEG(sub_i64, int64_t, int64_t, WRAP(int64_t, uint64_t, x, -, y))
BIN_SEG(sub_i32, int32_t, int32_t, WRAP(int32_t, uint32_t, x, -, y))
BIN_SEG(mul_f32, float, float, x * y)
BIN_SEG(mul_i64, int64_t, int64_t, WRAP(int64_t, uint64_t, x, *, y))
BIN_SEG(mul_i32, int32_t, int32_t, WRAP(int32_t, uint32_t, x, *, y))
BIN_SEG(div_f32, float, float, x / y)
BIN_SEG(div_i64, int64_t, int64_t, IDIV(int64_t, INT64_MIN, x, y))
BIN_SEG(div_i32, int32_t, int32_t, IDIV(int32_t, INT32_MIN, x, y))
BIN_SEG(pow_f32, float, float, powf(x, y))
BIN_SEG(min_f32, float, float, MINF(x, y))
BIN_SEG(min_i64, int64_t, int64_t, MINI(x, y))
BIN_SEG(min_i32, int32_t, int32_t, MINI(x, y))
BIN_SEG(max_f32, float, float, MAXF(x, y))
BIN_SEG(max_i64, int64_t, int64_t, MAXI(x, y))
BIN_SEG(max_i32, int32_t, int32_t, MAXI(x, y))
BIN_SEG(eq_f32, float, uint8_t, x == y)
BIN_SEG(eq_i64, int64_t, uint8_t, x == y)
BIN_SEG(eq_i32, int32_t, uint8_t, x == y)
BIN_SEG(eq_b8, uint8_t, uint8_t, (x != 0) == (y != 0))
BIN_SEG(lt_f32, float, uint8_t, x < y)
BIN_SEG(lt_i64, int64_t, uint8_t, x < y)
BIN_SEG(lt_i32, int32_t, uint8_t, x < y)
BIN_SEG(gt_f32, float, uint8_t, x > y)
BIN_SEG(gt_i64, int64_t, uint8_t, x > y)
BIN_SEG(gt_i32, int32_t, uint8_t, x > y)
BIN_SEG(and_b8, uint8_t, uint8_t, (x != 0) & (y != 0))
BIN_SEG(or_b8, uint8_t, uint8_t, (x != 0) | (y != 0))

/* Per-dtype segment functions of one binary op (indexed by input dtype). */
typedef struct bin_fns {
    zn_bcast_fn f32, i64, i32, b8;
} bin_fns;

static zn_bcast_fn pick(const bin_fns *f, zn_dtype t) {
    switch (t) {
    case ZN_F32: return f->f32;
    case ZN_I64: return f->i64;
    case ZN_I32: return f->i32;
    case ZN_BOOL: return f->b8;
    default: return NULL;
    }
}

/* o = f(a, b) with broadcasting; views may be any of ctx's (o has the output's shape). */
static zn_status binary_apply(const zn_exec_ctx *ctx, zn_bcast_fn fn, const zn_view *a,
                              const zn_view *b, zn_view *o) {
    const zn_kernel_node *n = ctx->node;
    if (!fn)
        return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: dtype %s not handled by the reference kernel",
                            zn_op_name(n->op), zn_dtype_name(a->dtype));
    zn_bcast plan;
    const zn_view *ins[2] = {a, b};
    if (!zn_bcast_init_views(&plan, o, 2, ins)) return bcast_error(zn_op_name(n->op));
    bin_job j = {a->data, b->data, o->data};
    zn_bcast_for(&plan, ctx->pool, fn, &j);
    return ZN_OK;
}

static zn_status run_binary(const zn_exec_ctx *ctx, const bin_fns *f) {
    return binary_apply(ctx, pick(f, ctx->in[0].dtype), &ctx->in[0], &ctx->in[1], &ctx->out[0]);
}

static const bin_fns ADD = {add_f32, add_i64, add_i32, NULL};
static const bin_fns SUB = {sub_f32, sub_i64, sub_i32, NULL};
static const bin_fns MUL = {mul_f32, mul_i64, mul_i32, NULL};
static const bin_fns DIV = {div_f32, div_i64, div_i32, NULL};
static const bin_fns MIN = {min_f32, min_i64, min_i32, NULL};
static const bin_fns MAX = {max_f32, max_i64, max_i32, NULL};
static const bin_fns EQ = {eq_f32, eq_i64, eq_i32, eq_b8};
static const bin_fns LT = {lt_f32, lt_i64, lt_i32, NULL};
static const bin_fns GT = {gt_f32, gt_i64, gt_i32, NULL};
static const bin_fns AND = {NULL, NULL, NULL, and_b8};
static const bin_fns OR = {NULL, NULL, NULL, or_b8};

static zn_status add_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &ADD); }
static zn_status sub_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &SUB); }
static zn_status mul_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &MUL); }
static zn_status div_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &DIV); }
static zn_status eq_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &EQ); }
static zn_status lt_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &LT); }
static zn_status gt_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &GT); }
static zn_status and_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &AND); }
static zn_status or_run(const zn_exec_ctx *ctx) { return run_binary(ctx, &OR); }

/* Pow: f32 base; an integer exponent is converted to f32 first. */
static zn_status pow_run(const zn_exec_ctx *ctx) {
    const zn_view *e = &ctx->in[1];
    if (e->dtype == ZN_F32) return binary_apply(ctx, pow_f32, &ctx->in[0], e, &ctx->out[0]);
    int64_t n = zn_view_numel(e);
    float *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!tmp) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "Pow: no memory for %lld exponents", (long long)n);
    for (int64_t i = 0; i < n; i++)
        tmp[i] = e->dtype == ZN_I64 ? (float)((const int64_t *)e->data)[i]
                                    : (float)((const int32_t *)e->data)[i];
    zn_view ev = *e;
    ev.dtype = ZN_F32;
    ev.data = tmp;
    zn_status st = binary_apply(ctx, pow_f32, &ctx->in[0], &ev, &ctx->out[0]);
    free(tmp);
    return st;
}

/* broadcast copy of one input into the output (any dtype, by element size) */
typedef struct copy_job {
    const void *x;
    void *o;
    size_t es;
} copy_job;

static void copy_seg(void *arg, int64_t oo, const int64_t *io, const int64_t *is, int64_t n) {
    const copy_job *j = arg;
    const char *x = (const char *)j->x + (size_t)io[0] * j->es;
    char *o = (char *)j->o + (size_t)oo * j->es;
    if (is[0]) {
        memcpy(o, x, (size_t)n * j->es);
    } else {
        for (int64_t i = 0; i < n; i++) memcpy(o + (size_t)i * j->es, x, j->es);
    }
}

/* Min / Max: variadic; the first pair goes into out, then out = f(out, in[k]). */
static zn_status run_variadic(const zn_exec_ctx *ctx, const bin_fns *f) {
    if (ctx->n_in == 1) {
        zn_bcast plan;
        const zn_view *x = &ctx->in[0];
        if (!zn_bcast_init_views(&plan, &ctx->out[0], 1, &x)) return bcast_error(zn_op_name(ctx->node->op));
        copy_job j = {x->data, ctx->out[0].data, zn_dtype_size(x->dtype)};
        zn_bcast_for(&plan, ctx->pool, copy_seg, &j);
        return ZN_OK;
    }
    zn_bcast_fn fn = pick(f, ctx->in[0].dtype);
    zn_status st = binary_apply(ctx, fn, &ctx->in[0], &ctx->in[1], &ctx->out[0]);
    for (int k = 2; k < ctx->n_in && st == ZN_OK; k++)
        st = binary_apply(ctx, fn, &ctx->out[0], &ctx->in[k], &ctx->out[0]);
    return st;
}

static zn_status min_run(const zn_exec_ctx *ctx) { return run_variadic(ctx, &MIN); }
static zn_status max_run(const zn_exec_ctx *ctx) { return run_variadic(ctx, &MAX); }

/* Supports for binary ops: equal input dtypes from `ok`, broadcastable to out[0]. */
static bool sup_binary_common(const zn_kernel_node *n, int min_in, int max_in, bool (*ok)(zn_dtype),
                              zn_dtype out_dt) {
    if (!node_io(n, min_in, max_in)) return false;
    zn_dtype t = n->in[0].dtype;
    if (!ok(t)) return false;
    for (int i = 1; i < n->n_in; i++)
        if (n->in[i].dtype != t) return false;
    if (n->out[0].dtype != (out_dt == ZN_DTYPE_UNDEFINED ? t : out_dt)) return false;
    return broadcasts(n, n->n_in);
}
static bool dt_bool(zn_dtype t) { return t == ZN_BOOL; }
static bool dt_eq(zn_dtype t) { return is_num(t) || t == ZN_BOOL; }

static bool sup_arith(const zn_kernel_node *n) { return sup_binary_common(n, 2, 2, is_num, ZN_DTYPE_UNDEFINED); }
static bool sup_minmax(const zn_kernel_node *n) { return sup_binary_common(n, 1, 8, is_num, ZN_DTYPE_UNDEFINED); }
static bool sup_cmp(const zn_kernel_node *n) { return sup_binary_common(n, 2, 2, is_num, ZN_BOOL); }
static bool sup_eq(const zn_kernel_node *n) { return sup_binary_common(n, 2, 2, dt_eq, ZN_BOOL); }
static bool sup_logic(const zn_kernel_node *n) { return sup_binary_common(n, 2, 2, dt_bool, ZN_BOOL); }
static bool sup_pow(const zn_kernel_node *n) {
    if (!node_io(n, 2, 2) || n->in[0].dtype != ZN_F32 || n->out[0].dtype != ZN_F32) return false;
    zn_dtype e = n->in[1].dtype;
    return (e == ZN_F32 || e == ZN_I64 || e == ZN_I32) && broadcasts(n, 2);
}

/* ============================== Where ================================================== */

typedef struct where_job {
    const uint8_t *c;
    const void *x, *y;
    void *o;
} where_job;

#define WHERE_SEG(NAME, T)                                                         \
    static void NAME(void *arg, int64_t oo, const int64_t *io, const int64_t *is, int64_t n) { \
        const where_job *j = arg;                                                  \
        const uint8_t *C = j->c + io[0];                                           \
        const T *X = (const T *)j->x + io[1];                                      \
        const T *Y = (const T *)j->y + io[2];                                      \
        T *O = (T *)j->o + oo;                                                     \
        const int64_t sc = is[0], sx = is[1], sy = is[2];                          \
        if (sc && sx && sy) {                                                      \
            for (int64_t i = 0; i < n; i++) O[i] = C[i] ? X[i] : Y[i];             \
        } else {                                                                   \
            for (int64_t i = 0; i < n; i++) O[i] = C[i * sc] ? X[i * sx] : Y[i * sy]; \
        }                                                                          \
    }

WHERE_SEG(where_1, uint8_t)
WHERE_SEG(where_2, uint16_t)
WHERE_SEG(where_4, uint32_t)
WHERE_SEG(where_8, uint64_t)

static zn_status where_run(const zn_exec_ctx *ctx) {
    zn_bcast plan;
    const zn_view *ins[3] = {&ctx->in[0], &ctx->in[1], &ctx->in[2]};
    if (!zn_bcast_init_views(&plan, &ctx->out[0], 3, ins)) return bcast_error("Where");
    where_job j = {ctx->in[0].data, ctx->in[1].data, ctx->in[2].data, ctx->out[0].data};
    zn_bcast_fn fn;
    switch (zn_dtype_size(ctx->in[1].dtype)) {
    case 1: fn = where_1; break;
    case 2: fn = where_2; break;
    case 4: fn = where_4; break;
    case 8: fn = where_8; break;
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "Where: dtype %s not handled",
                            zn_dtype_name(ctx->in[1].dtype));
    }
    zn_bcast_for(&plan, ctx->pool, fn, &j);
    return ZN_OK;
}

static bool sup_where(const zn_kernel_node *n) {
    if (!node_io(n, 3, 3) || n->in[0].dtype != ZN_BOOL) return false;
    zn_dtype t = n->in[1].dtype;
    if (!zn_dtype_valid(t) || n->in[2].dtype != t || n->out[0].dtype != t) return false;
    return broadcasts(n, 3);
}

/* ============================== Cast =================================================== */

typedef struct cast_job {
    const void *x;
    void *y;
    zn_dtype from, to;
} cast_job;

/* float -> integer: truncate toward zero; saturate out of range; NaN -> 0 (ONNX leaves both
 * undefined; this avoids C's undefined behaviour). */
static int64_t f2i64(float v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0f) return INT64_MAX;
    if (v <= -9223372036854775808.0f) return INT64_MIN;
    return (int64_t)v;
}
static int32_t f2i32(float v) {
    if (v != v) return 0;
    if (v >= 2147483647.0f) return INT32_MAX;
    if (v <= -2147483648.0f) return INT32_MIN;
    return (int32_t)v;
}

#define CAST_CHUNK 1024

static void cast_range(void *arg, int64_t b, int64_t e) {
    const cast_job *j = arg;
    const bool src_float = zn_dtype_is_float(j->from);
    float fb[CAST_CHUNK];
    int64_t ib[CAST_CHUNK];
    for (int64_t c0 = b; c0 < e; c0 += CAST_CHUNK) {
        int64_t n = e - c0 < CAST_CHUNK ? e - c0 : CAST_CHUNK;
        /* load into f32 (float sources, exact) or i64 (integer and bool sources) */
        for (int64_t i = 0; i < n; i++) {
            int64_t k = c0 + i;
            switch (j->from) {
            case ZN_F32: fb[i] = ((const float *)j->x)[k]; break;
            case ZN_F16: fb[i] = zn_f16_to_f32(((const uint16_t *)j->x)[k]); break;
            case ZN_BF16: fb[i] = zn_bf16_to_f32(((const uint16_t *)j->x)[k]); break;
            case ZN_I64: ib[i] = ((const int64_t *)j->x)[k]; break;
            case ZN_I32: ib[i] = ((const int32_t *)j->x)[k]; break;
            case ZN_BOOL: ib[i] = ((const uint8_t *)j->x)[k] != 0; break;
            default: ib[i] = 0; break;
            }
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t k = c0 + i;
            float f = src_float ? fb[i] : (float)ib[i];
            switch (j->to) {
            case ZN_F32: ((float *)j->y)[k] = f; break;
            case ZN_F16: ((uint16_t *)j->y)[k] = zn_f32_to_f16(f); break;
            case ZN_BF16: ((uint16_t *)j->y)[k] = zn_f32_to_bf16(f); break;
            case ZN_I64: ((int64_t *)j->y)[k] = src_float ? f2i64(fb[i]) : ib[i]; break;
            case ZN_I32:
                ((int32_t *)j->y)[k] = src_float ? f2i32(fb[i]) : (int32_t)(uint32_t)(uint64_t)ib[i];
                break;
            case ZN_BOOL: ((uint8_t *)j->y)[k] = src_float ? fb[i] != 0.0f : ib[i] != 0; break;
            default: break;
            }
        }
    }
}

static zn_status cast_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    zn_view *y = &ctx->out[0];
    if (x->dtype == y->dtype) {
        if (x->data != y->data) memmove(y->data, x->data, zn_view_bytes(y));
        return ZN_OK;
    }
    cast_job j = {x->data, y->data, x->dtype, y->dtype};
    zn_parallel_for(ctx->pool, zn_view_numel(y), GRAIN, cast_range, &j);
    return ZN_OK;
}

static bool sup_cast(const zn_kernel_node *n) {
    if (!node_io(n, 1, 1)) return false;
    int64_t to = zn_attrs_int(n->attrs, n->n_attrs, "to", 0);
    return zn_dtype_valid(n->in[0].dtype) && zn_dtype_valid((zn_dtype)to) &&
           n->out[0].dtype == (zn_dtype)to;
}

/* ============================== table ================================================== */

#define K(name, OP, dt, flags, sup, run) \
    {"ref." name, ZN_OP_##OP, ZN_BACKEND_CPU, dt, 0, flags, sup, NULL, NULL, run}
#define IP ZN_KERNEL_INPLACE
#define ANY ZN_DTYPE_UNDEFINED

static const zn_kernel_spec specs[] = {
    K("relu", RELU, ANY, IP, sup_unary_num, relu_run),
    K("leakyrelu", LEAKY_RELU, ZN_F32, IP, sup_unary_f32, leaky_run),
    K("sigmoid", SIGMOID, ZN_F32, IP, sup_unary_f32, sigmoid_run),
    K("tanh", TANH, ZN_F32, IP, sup_unary_f32, tanh_run),
    K("gelu", GELU, ZN_F32, IP, sup_gelu, gelu_run),
    K("erf", ERF, ZN_F32, IP, sup_unary_f32, erf_run),
    K("silu", SILU, ZN_F32, IP, sup_unary_f32, silu_run),
    K("hardsigmoid", HARD_SIGMOID, ZN_F32, IP, sup_unary_f32, hsig_run),
    K("hardswish", HARD_SWISH, ZN_F32, IP, sup_unary_f32, hswish_run),
    K("softplus", SOFTPLUS, ZN_F32, IP, sup_unary_f32, softplus_run),
    K("clip", CLIP, ZN_F32, IP, sup_clip, clip_run),
    K("add", ADD, ANY, 0, sup_arith, add_run),
    K("sub", SUB, ANY, 0, sup_arith, sub_run),
    K("mul", MUL, ANY, 0, sup_arith, mul_run),
    K("div", DIV, ANY, 0, sup_arith, div_run),
    K("pow", POW, ZN_F32, 0, sup_pow, pow_run),
    K("min", MIN, ANY, 0, sup_minmax, min_run),
    K("max", MAX, ANY, 0, sup_minmax, max_run),
    K("sqrt", SQRT, ZN_F32, IP, sup_unary_f32, sqrt_run),
    K("neg", NEG, ANY, IP, sup_unary_num, neg_run),
    K("exp", EXP, ZN_F32, IP, sup_unary_f32, exp_run),
    K("log", LOG, ZN_F32, IP, sup_unary_f32, log_run),
    K("abs", ABS, ANY, IP, sup_unary_num, abs_run),
    K("reciprocal", RECIPROCAL, ZN_F32, IP, sup_unary_f32, recip_run),
    K("floor", FLOOR, ZN_F32, IP, sup_unary_f32, floor_run),
    K("ceil", CEIL, ZN_F32, IP, sup_unary_f32, ceil_run),
    K("equal", EQUAL, ANY, 0, sup_eq, eq_run),
    K("less", LESS, ANY, 0, sup_cmp, lt_run),
    K("greater", GREATER, ANY, 0, sup_cmp, gt_run),
    K("not", NOT, ZN_BOOL, IP, sup_unary_bool, not_run),
    K("and", AND, ZN_BOOL, 0, sup_logic, and_run),
    K("or", OR, ZN_BOOL, 0, sup_logic, or_run),
    K("where", WHERE, ANY, 0, sup_where, where_run),
    K("cast", CAST, ANY, 0, sup_cast, cast_run),
};

ZN_KERNEL_TABLE(zn_ref_elementwise_table, specs);
