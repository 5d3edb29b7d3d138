/* ref_reduce.c — reference CPU kernels for reductions (ReduceMean/Sum/Max/Min/Prod), ArgMax
 * and Softmax.
 *
 * Reductions take their axes from the `axes` attribute (older opsets) or from constant input 1
 * (i64; ReduceSum from opset 13, the rest from 18); no axes means all axes, or identity with
 * noop_with_empty_axes=1. f32 accumulates in double; Sum/Max/Min/Prod also run on i64
 * (wrapping). Max/Min propagate NaN; an empty reduction gives the identity (0, 1, -inf, +inf;
 * NaN for Mean). Softmax follows opset 13 (one axis, default -1) and subtracts the max.
 * Not here: shape inference (engine/infer_reduce.c), fast SIMD paths.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/error.h"
#include "cpu_tables.h"
#include "threadpool.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD };

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

static int reduce_kind(zn_op op) {
    switch (op) {
    case ZN_OP_REDUCE_SUM: return R_SUM;
    case ZN_OP_REDUCE_MEAN: return R_MEAN;
    case ZN_OP_REDUCE_MAX: return R_MAX;
    case ZN_OP_REDUCE_MIN: return R_MIN;
    default: return R_PROD;
    }
}

/* Which axes of an input of rank `rank` are reduced. Returns false on a bad axis or a
 * non-constant axes input. *noop is set when the op is the identity. */
static bool reduce_axes(const zn_kernel_node *n, const zn_view *in, int n_in, int rank,
                        bool *mask, bool *noop) {
    int64_t axes[ZN_MAX_RANK * 2];
    int count = -1;
    if (n_in > 1 && present(&in[1])) {
        if (in[1].dtype != ZN_I64 || !in[1].data || in[1].rank > 1) return false;
        int64_t c = zn_view_numel(&in[1]);
        if (c > ZN_MAX_RANK * 2) return false;
        count = (int)c;
        memcpy(axes, in[1].data, (size_t)count * sizeof(int64_t));
    } else {
        count = zn_attrs_ints(n->attrs, n->n_attrs, "axes", axes, ZN_MAX_RANK * 2);
        if (count > ZN_MAX_RANK * 2) return false;
    }
    *noop = false;
    for (int i = 0; i < rank; i++) mask[i] = false;
    if (count <= 0) {
        if (zn_attrs_int(n->attrs, n->n_attrs, "noop_with_empty_axes", 0)) *noop = true;
        else
            for (int i = 0; i < rank; i++) mask[i] = true;
        return true;
    }
    for (int i = 0; i < count; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) return false;
        mask[a] = true;
    }
    return true;
}

/* Accumulates x into acc (one accumulator per output element, dense over the kept dims).
 * The walk goes row by row over the input's last dim so the inner loop is contiguous. */
#define REDUCE_WALK(NAME, T, ACC, COMBINE)                                         \
    static void NAME(ACC *acc, const T *x, int rank, const int64_t *dims,         \
                     const bool *mask) {                                           \
        int64_t ost[ZN_MAX_RANK];                                                  \
        int64_t s = 1;                                                             \
        for (int d = rank - 1; d >= 0; d--) {                                      \
            ost[d] = mask[d] ? 0 : s;                                              \
            if (!mask[d]) s *= dims[d];                                            \
        }                                                                          \
        const int64_t L = dims[rank - 1];                                          \
        int64_t rows = 1;                                                          \
        for (int d = 0; d < rank - 1; d++) rows *= dims[d];                        \
        if (L == 0) return;                                                        \
        int64_t idx[ZN_MAX_RANK] = {0};                                            \
        int64_t base = 0;                                                          \
        for (int64_t r = 0; r < rows; r++, x += L) {                               \
            if (mask[rank - 1]) {                                                  \
                ACC a = acc[base];                                                 \
                for (int64_t j = 0; j < L; j++) { ACC v = (ACC)x[j]; COMBINE(a, v); } \
                acc[base] = a;                                                     \
            } else {                                                               \
                ACC *o = acc + base;                                               \
                for (int64_t j = 0; j < L; j++) { ACC v = (ACC)x[j]; COMBINE(o[j], v); } \
            }                                                                      \
            for (int d = rank - 2; d >= 0; d--) {                                  \
                idx[d]++;                                                          \
                base += ost[d];                                                    \
                if (idx[d] < dims[d]) break;                                       \
                base -= idx[d] * ost[d];                                           \
                idx[d] = 0;                                                        \
            }                                                                      \
        }                                                                          \
    }

#define C_SUM(a, v) ((a) += (v))
#define C_PROD(a, v) ((a) *= (v))
#define C_MAXF(a, v) ((a) = (isnan(v) || (v) > (a)) ? (v) : (a))
#define C_MINF(a, v) ((a) = (isnan(v) || (v) < (a)) ? (v) : (a))
#define C_MAXI(a, v) ((a) = (v) > (a) ? (v) : (a))
#define C_MINI(a, v) ((a) = (v) < (a) ? (v) : (a))
#define C_SUMI(a, v) ((a) = (int64_t)((uint64_t)(a) + (uint64_t)(v)))
#define C_PRODI(a, v) ((a) = (int64_t)((uint64_t)(a) * (uint64_t)(v)))

REDUCE_WALK(walk_sum_f, float, double, C_SUM)
REDUCE_WALK(walk_prod_f, float, double, C_PROD)
REDUCE_WALK(walk_max_f, float, double, C_MAXF)
REDUCE_WALK(walk_min_f, float, double, C_MINF)
REDUCE_WALK(walk_sum_i, int64_t, int64_t, C_SUMI)
REDUCE_WALK(walk_prod_i, int64_t, int64_t, C_PRODI)
REDUCE_WALK(walk_max_i, int64_t, int64_t, C_MAXI)
REDUCE_WALK(walk_min_i, int64_t, int64_t, C_MINI)

static zn_status reduce_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    zn_view *y = &ctx->out[0];
    int kind = reduce_kind(n->op);
    bool mask[ZN_MAX_RANK], noop;
    if (!reduce_axes(n, ctx->in, ctx->n_in, x->rank, mask, &noop))
        return zn_error_set(ZN_ERR_SHAPE, "%s: axes out of range for a rank-%d input "
                            "(axes must lie in [-%d, %d] and be a constant i64 input)",
                            zn_op_name(n->op), x->rank, x->rank, x->rank - 1);
    if (noop) {
        if (y->data != x->data) memmove(y->data, x->data, zn_view_bytes(x));
        return ZN_OK;
    }
    /* a rank-0 input reduces as a [1] */
    int rank = x->rank;
    int64_t one = 1;
    const int64_t *dims = x->dims;
    bool m1 = true;
    const bool *m = mask;
    if (rank == 0) {
        rank = 1;
        dims = &one;
        m = &m1;
    }
    int64_t on = zn_view_numel(y), count = 1;
    for (int d = 0; d < rank; d++)
        if (m[d]) count *= dims[d];
    if (x->dtype == ZN_F32) {
        double *acc = malloc((size_t)(on > 0 ? on : 1) * sizeof(double));
        if (!acc) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "%s: no memory for %lld accumulators",
                                      zn_op_name(n->op), (long long)on);
        double init = kind == R_PROD ? 1.0 : kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : 0.0;
        for (int64_t i = 0; i < on; i++) acc[i] = init;
        switch (kind) {
        case R_SUM: case R_MEAN: walk_sum_f(acc, x->data, rank, dims, m); break;
        case R_PROD: walk_prod_f(acc, x->data, rank, dims, m); break;
        case R_MAX: walk_max_f(acc, x->data, rank, dims, m); break;
        default: walk_min_f(acc, x->data, rank, dims, m); break;
        }
        float *out = y->data;
        for (int64_t i = 0; i < on; i++)
            out[i] = (float)(kind == R_MEAN ? acc[i] / (double)count : acc[i]);
        free(acc);
        return ZN_OK;
    }
    /* i64 */
    int64_t *out = y->data;
    int64_t init = kind == R_PROD ? 1 : kind == R_MAX ? INT64_MIN : kind == R_MIN ? INT64_MAX : 0;
    for (int64_t i = 0; i < on; i++) out[i] = init;
    switch (kind) {
    case R_SUM: walk_sum_i(out, x->data, rank, dims, m); break;
    case R_PROD: walk_prod_i(out, x->data, rank, dims, m); break;
    case R_MAX: walk_max_i(out, x->data, rank, dims, m); break;
    default: walk_min_i(out, x->data, rank, dims, m); break;
    }
    return ZN_OK;
}

static bool sup_reduce(const zn_kernel_node *n) {
    if (n->n_in < 1 || n->n_in > 2 || n->n_out != 1) return false;
    zn_dtype t = n->in[0].dtype;
    if (!(t == ZN_F32 || (t == ZN_I64 && n->op != ZN_OP_REDUCE_MEAN))) return false;
    if (n->out[0].dtype != t) return false;
    bool mask[ZN_MAX_RANK], noop;
    return reduce_axes(n, n->in, n->n_in, n->in[0].rank, mask, &noop);
}

/* ============================== ArgMax ================================================= */

/* x viewed as (outer, len, inner); y: (outer, inner) */
#define ARGMAX(NAME, T, GT)                                                        \
    static void NAME(int64_t *y, const T *x, int64_t outer, int64_t len, int64_t inner, \
                     bool last) {                                                  \
        for (int64_t o = 0; o < outer; o++) {                                      \
            const T *xo = x + o * len * inner;                                     \
            for (int64_t i = 0; i < inner; i++) {                                  \
                T best = xo[i];                                                    \
                int64_t bi = 0;                                                    \
                for (int64_t k = 1; k < len; k++) {                                \
                    T v = xo[k * inner + i];                                       \
                    if (GT(v, best) || (last && v == best)) { best = v; bi = k; }  \
                }                                                                  \
                y[o * inner + i] = bi;                                             \
            }                                                                      \
        }                                                                          \
    }
/* NaN counts as the largest value (numpy's argmax: the first NaN wins) */
#define GT_F(v, b) (!isnan(b) && ((v) > (b) || isnan(v)))
#define GT_I(v, b) ((v) > (b))
ARGMAX(argmax_f32, float, GT_F)
ARGMAX(argmax_i64, int64_t, GT_I)
ARGMAX(argmax_i32, int32_t, GT_I)

static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

static zn_status argmax_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), x->rank);
    bool last = zn_attrs_int(n->attrs, n->n_attrs, "select_last_index", 0) != 0;
    int64_t outer = 1, inner = 1, len = x->dims[axis];
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    if (len == 0) return zn_error_set(ZN_ERR_SHAPE, "ArgMax: axis %d has size 0 (there is no maximum "
                                      "of an empty set; check the input shape)", axis);
    switch (x->dtype) {
    case ZN_F32: argmax_f32(ctx->out[0].data, x->data, outer, len, inner, last); break;
    case ZN_I64: argmax_i64(ctx->out[0].data, x->data, outer, len, inner, last); break;
    default: argmax_i32(ctx->out[0].data, x->data, outer, len, inner, last); break;
    }
    return ZN_OK;
}

static bool sup_argmax(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1) return false;
    zn_dtype t = n->in[0].dtype;
    if (t != ZN_F32 && t != ZN_I64 && t != ZN_I32) return false;
    if (n->out[0].dtype != ZN_I64 || n->in[0].rank < 1) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    return axis >= -n->in[0].rank && axis < n->in[0].rank;
}

/* ============================== Softmax ================================================ */

typedef struct softmax_job {
    const float *x;
    float *y;
    int64_t len, inner;
    bool oom;
} softmax_job;

/* rows [b, e) of outer; each is a (len, inner) block reduced over len */
static void softmax_range(void *arg, int64_t b, int64_t e) {
    softmax_job *j = arg;
    const int64_t len = j->len, inner = j->inner;
    float *mx = malloc((size_t)inner * sizeof(float));
    double *sum = malloc((size_t)inner * sizeof(double));
    if (!mx || !sum) {
        j->oom = true;
        goto done;
    }
    for (int64_t o = b; o < e; o++) {
        const float *x = j->x + o * len * inner;
        float *y = j->y + o * len * inner;
        for (int64_t i = 0; i < inner; i++) {
            mx[i] = x[i];
            sum[i] = 0.0;
        }
        for (int64_t k = 1; k < len; k++)
            for (int64_t i = 0; i < inner; i++) {
                float v = x[k * inner + i];
                if (isnan(v) || v > mx[i]) mx[i] = v;
            }
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++) {
                float ev = expf(x[k * inner + i] - mx[i]);
                y[k * inner + i] = ev;
                sum[i] += ev;
            }
        for (int64_t i = 0; i < inner; i++) mx[i] = (float)(1.0 / sum[i]); /* reuse as 1/sum */
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++) y[k * inner + i] *= mx[i];
    }
done:
    free(mx);
    free(sum);
}

static zn_status softmax_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    if (x->rank == 0) { /* a scalar is its own (only) class */
        *(float *)ctx->out[0].data = isnan(*(const float *)x->data) ? NAN : 1.0f;
        return ZN_OK;
    }
    int axis = norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), x->rank);
    int64_t outer = 1, inner = 1, len = x->dims[axis];
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    if (len == 0 || inner == 0) return ZN_OK;
    softmax_job j = {x->data, ctx->out[0].data, len, inner, false};
    int64_t grain = (1 << 14) / (len * inner) + 1;
    zn_parallel_for(ctx->pool, outer, grain, softmax_range, &j);
    if (j.oom) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "Softmax: no memory for %lld-wide scratch",
                                   (long long)inner);
    return ZN_OK;
}

static bool sup_softmax(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1) return false;
    if (n->in[0].dtype != ZN_F32 || n->out[0].dtype != ZN_F32) return false;
    int r = n->in[0].rank;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    return r == 0 || (axis >= -r && axis < r);
}

/* ============================== table ================================================== */

#define K(name, OP, dt, flags, sup, run) \
    {"ref." name, ZN_OP_##OP, ZN_BACKEND_CPU, dt, 0, flags, sup, NULL, NULL, run}

static const zn_kernel_spec specs[] = {
    K("reducemean", REDUCE_MEAN, ZN_F32, 0, sup_reduce, reduce_run),
    K("reducesum", REDUCE_SUM, ZN_DTYPE_UNDEFINED, 0, sup_reduce, reduce_run),
    K("reducemax", REDUCE_MAX, ZN_DTYPE_UNDEFINED, 0, sup_reduce, reduce_run),
    K("reducemin", REDUCE_MIN, ZN_DTYPE_UNDEFINED, 0, sup_reduce, reduce_run),
    K("reduceprod", REDUCE_PROD, ZN_DTYPE_UNDEFINED, 0, sup_reduce, reduce_run),
    K("argmax", ARG_MAX, ZN_DTYPE_UNDEFINED, 0, sup_argmax, argmax_run),
    K("softmax", SOFTMAX, ZN_F32, ZN_KERNEL_INPLACE, sup_softmax, softmax_run),
};

ZN_KERNEL_TABLE(zn_ref_reduce_table, specs);
