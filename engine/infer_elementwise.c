/* infer_elementwise.c — output dtype and shape of the element-wise ops (activations, unary
 * math, broadcasting arithmetic, variadic Min/Max, comparisons, logic, Where, Clip, Cast),
 * and zn_broadcast_shapes, the numpy/ONNX multidirectional broadcast every group uses.
 *
 * Rules: arithmetic inputs share one dtype (Pow's exponent may be any numeric dtype);
 * comparisons give bool; Not/And/Or take bool; Where takes a bool condition and two values of
 * one dtype; Cast gives `to`. It does not check that a kernel exists for the dtype (that is
 * the registry's job) and it does not look at data.
 */
#include "infer.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static void fmt_dims(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t len = 0;
    len += (size_t)snprintf(buf + len, cap - len, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

zn_status zn_broadcast_shapes(int ra, const int64_t *a, int rb, const int64_t *b,
                              int *rank_out, int64_t *dims_out) {
    int r = ra > rb ? ra : rb;
    int64_t dims[ZN_MAX_RANK];
    if (r > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_SHAPE, "broadcast result has rank %d, more than the %d Zenith "
                            "supports (reshape the inputs to fewer dims)", r, ZN_MAX_RANK);
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1) {
            dims[i] = da;
        } else if (da == 1) {
            dims[i] = db;
        } else {
            char sa[160], sb[160];
            fmt_dims(sa, sizeof sa, ra, a);
            fmt_dims(sb, sizeof sb, rb, b);
            return zn_error_set(ZN_ERR_SHAPE, "shapes %s and %s do not broadcast: dim %d is %lld "
                                "vs %lld (aligned from the right, dims must be equal or 1; "
                                "Reshape/Unsqueeze one input or fix its shape)",
                                sa, sb, i, (long long)da, (long long)db);
        }
    }
    *rank_out = r;
    for (int i = 0; i < r; i++) dims_out[i] = dims[i];
    return ZN_OK;
}

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

static void set_out(zn_view *o, zn_dtype t, int rank, const int64_t *dims) {
    o->dtype = t;
    o->rank = rank;
    for (int i = 0; i < rank; i++) o->dims[i] = dims[i];
}

static zn_status need_inputs(const zn_kernel_node *n, int k) {
    if (n->n_in < k)
        return zn_error_set(ZN_ERR_INVALID_GRAPH, "%s needs %d inputs, got %d (check the model's "
                            "node inputs)", zn_op_name(n->op), k, n->n_in);
    for (int i = 0; i < k; i++)
        if (!present(&n->in[i]))
            return zn_error_set(ZN_ERR_INVALID_GRAPH, "%s: input %d is missing (it is required)",
                                zn_op_name(n->op), i);
    return ZN_OK;
}

static zn_status same_dtype(const zn_kernel_node *n, int i, int j) {
    zn_dtype a = n->in[i].dtype, b = n->in[j].dtype;
    if (a == b) return ZN_OK;
    return zn_error_set(ZN_ERR_SHAPE, "%s: input dtypes differ: input %d is %s, input %d is %s "
                        "(insert a Cast so both inputs are %s)", zn_op_name(n->op), i,
                        zn_dtype_name(a), j, zn_dtype_name(b), zn_dtype_name(a));
}

static zn_status need_dtype(const zn_kernel_node *n, int i, zn_dtype want) {
    if (n->in[i].dtype == want) return ZN_OK;
    return zn_error_set(ZN_ERR_SHAPE, "%s: input %d must be %s, got %s (insert a Cast to %s)",
                        zn_op_name(n->op), i, zn_dtype_name(want), zn_dtype_name(n->in[i].dtype),
                        zn_dtype_name(want));
}

/* out = broadcast of inputs [0, k) */
static zn_status broadcast_inputs(const zn_kernel_node *n, int first, int k, int *rank,
                                  int64_t *dims) {
    *rank = n->in[first].rank;
    for (int i = 0; i < *rank; i++) dims[i] = n->in[first].dims[i];
    for (int i = first + 1; i < k; i++) {
        zn_status st = zn_broadcast_shapes(*rank, dims, n->in[i].rank, n->in[i].dims, rank, dims);
        if (st != ZN_OK) {
            zn_error_prefix("%s", zn_op_name(n->op));
            return st;
        }
    }
    return ZN_OK;
}

zn_status zn_infer_elementwise(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    const zn_view *x = n->n_in > 0 ? &n->in[0] : NULL;
    switch (n->op) {
    case ZN_OP_RELU: case ZN_OP_LEAKY_RELU: case ZN_OP_SIGMOID: case ZN_OP_TANH:
    case ZN_OP_GELU: case ZN_OP_ERF: case ZN_OP_SILU: case ZN_OP_HARD_SIGMOID:
    case ZN_OP_HARD_SWISH: case ZN_OP_SOFTPLUS: case ZN_OP_SQRT: case ZN_OP_NEG:
    case ZN_OP_EXP: case ZN_OP_LOG: case ZN_OP_ABS: case ZN_OP_RECIPROCAL:
    case ZN_OP_FLOOR: case ZN_OP_CEIL:
        if ((st = need_inputs(n, 1)) != ZN_OK) return st;
        if (n->op == ZN_OP_GELU) {
            const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
            if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
                return zn_error_set(ZN_ERR_UNSUPPORTED, "Gelu: approximate=\"%s\" is not known "
                                    "(use \"none\" or \"tanh\")", a);
        }
        set_out(&out[0], x->dtype, x->rank, x->dims);
        return ZN_OK;
    case ZN_OP_NOT:
        if ((st = need_inputs(n, 1)) != ZN_OK) return st;
        if ((st = need_dtype(n, 0, ZN_BOOL)) != ZN_OK) return st;
        set_out(&out[0], ZN_BOOL, x->rank, x->dims);
        return ZN_OK;
    case ZN_OP_CLIP:
        if ((st = need_inputs(n, 1)) != ZN_OK) return st;
        for (int i = 1; i < n->n_in; i++) {
            if (!present(&n->in[i])) continue;
            if ((st = same_dtype(n, 0, i)) != ZN_OK) return st;
            if (zn_view_numel(&n->in[i]) != 1) {
                char s[160];
                fmt_dims(s, sizeof s, n->in[i].rank, n->in[i].dims);
                return zn_error_set(ZN_ERR_SHAPE, "Clip: %s must be a scalar, got shape %s "
                                    "(pass a single value)", i == 1 ? "min" : "max", s);
            }
        }
        set_out(&out[0], x->dtype, x->rank, x->dims);
        return ZN_OK;
    case ZN_OP_ADD: case ZN_OP_SUB: case ZN_OP_MUL: case ZN_OP_DIV:
    case ZN_OP_EQUAL: case ZN_OP_LESS: case ZN_OP_GREATER:
    case ZN_OP_AND: case ZN_OP_OR: case ZN_OP_POW: {
        if ((st = need_inputs(n, 2)) != ZN_OK) return st;
        zn_dtype t = x->dtype;
        if (n->op == ZN_OP_AND || n->op == ZN_OP_OR) {
            if ((st = need_dtype(n, 0, ZN_BOOL)) != ZN_OK) return st;
            if ((st = need_dtype(n, 1, ZN_BOOL)) != ZN_OK) return st;
        } else if (n->op == ZN_OP_POW) {
            zn_dtype e = n->in[1].dtype;
            if (e == ZN_BOOL || !zn_dtype_valid(e))
                return zn_error_set(ZN_ERR_SHAPE, "Pow: exponent dtype %s is not numeric "
                                    "(insert a Cast to %s)", zn_dtype_name(e), zn_dtype_name(t));
        } else if ((st = same_dtype(n, 0, 1)) != ZN_OK) {
            return st;
        }
        if ((st = broadcast_inputs(n, 0, 2, &rank, dims)) != ZN_OK) return st;
        bool cmp = n->op == ZN_OP_EQUAL || n->op == ZN_OP_LESS || n->op == ZN_OP_GREATER;
        set_out(&out[0], cmp ? ZN_BOOL : t, rank, dims);
        return ZN_OK;
    }
    case ZN_OP_MIN: case ZN_OP_MAX:
        if ((st = need_inputs(n, n->n_in > 0 ? n->n_in : 1)) != ZN_OK) return st;
        for (int i = 1; i < n->n_in; i++)
            if ((st = same_dtype(n, 0, i)) != ZN_OK) return st;
        if ((st = broadcast_inputs(n, 0, n->n_in, &rank, dims)) != ZN_OK) return st;
        set_out(&out[0], x->dtype, rank, dims);
        return ZN_OK;
    case ZN_OP_WHERE:
        if ((st = need_inputs(n, 3)) != ZN_OK) return st;
        if ((st = need_dtype(n, 0, ZN_BOOL)) != ZN_OK) return st;
        if ((st = same_dtype(n, 1, 2)) != ZN_OK) return st;
        if ((st = broadcast_inputs(n, 0, 3, &rank, dims)) != ZN_OK) return st;
        set_out(&out[0], n->in[1].dtype, rank, dims);
        return ZN_OK;
    case ZN_OP_CAST: {
        if ((st = need_inputs(n, 1)) != ZN_OK) return st;
        int64_t to = zn_attrs_int(n->attrs, n->n_attrs, "to", -1);
        if (to < 0 || to > 64 || !zn_dtype_valid((zn_dtype)to))
            return zn_error_set(ZN_ERR_UNSUPPORTED, "Cast: to=%lld is not a dtype Zenith handles "
                                "(use 1 f32, 6 i32, 7 i64, 9 bool, 10 f16 or 16 bf16)", (long long)to);
        set_out(&out[0], (zn_dtype)to, x->rank, x->dims);
        return ZN_OK;
    }
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "zn_infer_elementwise: %s is not an element-wise op "
                            "(dispatch it through zn_infer_node)", zn_op_name(n->op));
    }
}
