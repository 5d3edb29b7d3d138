/* infer_reduce.c — output dtype and shape of ReduceMean/Sum/Max/Min/Prod, ArgMax and Softmax.
 *
 * Reduce axes come from the `axes` attribute or from input 1, which must then be a compile-time
 * constant i64 tensor (the output shape depends on it). Negative axes count from the end; no
 * axes reduce everything, unless noop_with_empty_axes=1 (identity). keepdims (default 1) keeps
 * reduced dims as 1. ArgMax gives i64; Softmax keeps its input's shape. Data is not read except
 * the axes input.
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

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

/* out gets x's dtype and shape; out->data is left alone */
static void set_like(zn_view *out, const zn_view *x) {
    out->dtype = x->dtype;
    out->rank = x->rank;
    for (int i = 0; i < x->rank; i++) out->dims[i] = x->dims[i];
}

static zn_status axis_error(const zn_kernel_node *n, const char *what, int64_t axis,
                            const zn_view *x) {
    char s[160];
    fmt_dims(s, sizeof s, x->rank, x->dims);
    return zn_error_set(ZN_ERR_SHAPE, "%s: %s %lld is out of range for input shape %s "
                        "(use an axis in [%d, %d])", zn_op_name(n->op), what, (long long)axis, s,
                        -x->rank, x->rank > 0 ? x->rank - 1 : 0);
}

static zn_status infer_reduce_op(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t axes[ZN_MAX_RANK * 2];
    int count;
    if (n->n_in > 1 && present(&n->in[1])) {
        const zn_view *a = &n->in[1];
        if (a->dtype != ZN_I64)
            return zn_error_set(ZN_ERR_SHAPE, "%s: axes input is %s, it must be i64 (insert a Cast "
                                "to i64)", zn_op_name(n->op), zn_dtype_name(a->dtype));
        if (!a->data)
            return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: the axes input is not a constant, so the "
                                "output shape is unknown (make axes a constant initializer)",
                                zn_op_name(n->op));
        int64_t c = zn_view_numel(a);
        if (a->rank > 1 || c > ZN_MAX_RANK * 2)
            return zn_error_set(ZN_ERR_SHAPE, "%s: axes must be a 1-D list of at most %d axes",
                                zn_op_name(n->op), ZN_MAX_RANK);
        count = (int)c;
        memcpy(axes, a->data, (size_t)count * sizeof(int64_t));
    } else {
        count = zn_attrs_ints(n->attrs, n->n_attrs, "axes", axes, ZN_MAX_RANK * 2);
        if (count > ZN_MAX_RANK * 2)
            return zn_error_set(ZN_ERR_SHAPE, "%s: %d axes given, more than the input's rank %d",
                                zn_op_name(n->op), count, x->rank);
    }
    bool keep = zn_attrs_int(n->attrs, n->n_attrs, "keepdims", 1) != 0;
    bool mask[ZN_MAX_RANK] = {false};
    if (count <= 0) {
        if (zn_attrs_int(n->attrs, n->n_attrs, "noop_with_empty_axes", 0)) {
            set_like(&out[0], x);
            return ZN_OK;
        }
        for (int d = 0; d < x->rank; d++) mask[d] = true;
    }
    for (int i = 0; i < count; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
        if (a < 0 || a >= x->rank) return axis_error(n, "axis", axes[i], x);
        mask[a] = true;
    }
    out[0].dtype = x->dtype;
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!mask[d]) out[0].dims[r++] = x->dims[d];
        else if (keep) out[0].dims[r++] = 1;
    }
    out[0].rank = r;
    return ZN_OK;
}

zn_status zn_infer_reduce(const zn_kernel_node *n, zn_view *out) {
    if (n->n_in < 1 || !present(&n->in[0]))
        return zn_error_set(ZN_ERR_INVALID_GRAPH, "%s: input 0 is missing (it is required)",
                            zn_op_name(n->op));
    const zn_view *x = &n->in[0];
    switch (n->op) {
    case ZN_OP_REDUCE_MEAN: case ZN_OP_REDUCE_SUM: case ZN_OP_REDUCE_MAX:
    case ZN_OP_REDUCE_MIN: case ZN_OP_REDUCE_PROD:
        return infer_reduce_op(n, out);
    case ZN_OP_ARG_MAX: {
        int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
        if (axis < -x->rank || axis >= x->rank) return axis_error(n, "axis", axis, x);
        int a = (int)(axis < 0 ? axis + x->rank : axis);
        if (x->dims[a] == 0) {
            char s[160];
            fmt_dims(s, sizeof s, x->rank, x->dims);
            return zn_error_set(ZN_ERR_SHAPE, "ArgMax: axis %d of input shape %s is empty (there is "
                                "no maximum; check the input shape)", a, s);
        }
        bool keep = zn_attrs_int(n->attrs, n->n_attrs, "keepdims", 1) != 0;
        int r = 0;
        for (int d = 0; d < x->rank; d++) {
            if (d != a) out[0].dims[r++] = x->dims[d];
            else if (keep) out[0].dims[r++] = 1;
        }
        out[0].rank = r;
        out[0].dtype = ZN_I64;
        return ZN_OK;
    }
    case ZN_OP_SOFTMAX: {
        int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
        if (x->rank > 0 && (axis < -x->rank || axis >= x->rank)) return axis_error(n, "axis", axis, x);
        set_like(&out[0], x);
        return ZN_OK;
    }
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "zn_infer_reduce: %s is not a reduction "
                            "(dispatch it through zn_infer_node)", zn_op_name(n->op));
    }
}
