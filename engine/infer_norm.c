/* infer_norm.c — output dtype and shape of LayerNormalization, BatchNormalization and the fused
 * ops ZnAddLayerNorm, ZnAddRelu, ZnBiasRelu and ZnBiasGelu.
 *
 * LayerNormalization normalizes over X's dims from `axis` (default -1) on; Scale and B hold one
 * value per normalized element (or a single value); the optional Mean and InvStdDev outputs
 * are f32 with X's shape and the normalized dims set to 1. BatchNormalization's parameters hold
 * one value per channel (dim 1). Fused ops: the shape of their unfused pattern's result.
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

static void set_out(zn_view *o, zn_dtype t, int rank, const int64_t *dims) {
    o->dtype = t;
    o->rank = rank;
    for (int i = 0; i < rank; i++) o->dims[i] = dims[i];
}

static zn_status need_inputs(const zn_kernel_node *n, int k) {
    for (int i = 0; i < k; i++)
        if (i >= n->n_in || !present(&n->in[i]))
            return zn_error_set(ZN_ERR_INVALID_GRAPH, "%s: input %d is missing (it is required)",
                                zn_op_name(n->op), i);
    return ZN_OK;
}

static zn_status same_dtype(const zn_kernel_node *n, int i, int j) {
    zn_dtype a = n->in[i].dtype, b = n->in[j].dtype;
    if (a == b) return ZN_OK;
    return zn_error_set(ZN_ERR_SHAPE, "%s: input dtypes differ: input %d is %s, input %d is %s "
                        "(insert a Cast so both are %s)", zn_op_name(n->op), i, zn_dtype_name(a), j,
                        zn_dtype_name(b), zn_dtype_name(a));
}

/* A parameter (scale, bias, mean, ...) must hold `want` values (or 1 when one_ok). */
static zn_status param_size(const zn_kernel_node *n, int i, const char *what, int64_t want,
                            bool one_ok, const zn_view *x, const char *over) {
    const zn_view *p = &n->in[i];
    int64_t got = zn_view_numel(p);
    if (got == want || (one_ok && got == 1)) return ZN_OK;
    char sp[160], sx[160];
    fmt_dims(sp, sizeof sp, p->rank, p->dims);
    fmt_dims(sx, sizeof sx, x->rank, x->dims);
    return zn_error_set(ZN_ERR_SHAPE, "%s: %s has shape %s (%lld values) but input shape %s needs "
                        "%lld (one per element of %s)", zn_op_name(n->op), what, sp, (long long)got,
                        sx, (long long)want, over);
}

/* Product of x's dims from axis on; ZN_ERR_SHAPE when axis is out of range. */
static zn_status norm_size(const zn_kernel_node *n, int rank, const int64_t *dims, int *axis_out,
                           int64_t *D) {
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (rank < 1 || axis < -rank || axis >= rank) {
        char s[160];
        fmt_dims(s, sizeof s, rank, dims);
        return zn_error_set(ZN_ERR_SHAPE, "%s: axis %lld is out of range for input shape %s "
                            "(use an axis in [%d, %d])", zn_op_name(n->op), (long long)axis, s,
                            -rank, rank > 0 ? rank - 1 : 0);
    }
    int a = (int)(axis < 0 ? axis + rank : axis);
    *D = 1;
    for (int d = a; d < rank; d++) *D *= dims[d];
    *axis_out = a;
    return ZN_OK;
}

static zn_status infer_layernorm(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = need_inputs(n, 2)) != ZN_OK) return st;
    const zn_view *x = &n->in[0];
    int axis;
    int64_t D;
    if ((st = norm_size(n, x->rank, x->dims, &axis, &D)) != ZN_OK) return st;
    if ((st = same_dtype(n, 0, 1)) != ZN_OK) return st;
    if ((st = param_size(n, 1, "Scale", D, true, x, "the normalized dims")) != ZN_OK) return st;
    if (n->n_in > 2 && present(&n->in[2])) {
        if ((st = same_dtype(n, 0, 2)) != ZN_OK) return st;
        if ((st = param_size(n, 2, "B", D, true, x, "the normalized dims")) != ZN_OK) return st;
    }
    set_out(&out[0], x->dtype, x->rank, x->dims);
    int64_t sd[ZN_MAX_RANK];
    for (int d = 0; d < x->rank; d++) sd[d] = d >= axis ? 1 : x->dims[d];
    /* Mean / InvStdDev: f32 (ONNX's stash type), or the half type of a graph lowered to half,
     * so that their readers see one dtype */
    zn_dtype stats = x->dtype == ZN_F16 || x->dtype == ZN_BF16 ? x->dtype : ZN_F32;
    for (int k = 1; k < n->n_out && k < 3; k++) set_out(&out[k], stats, x->rank, sd);
    return ZN_OK;
}

static zn_status infer_batchnorm(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = need_inputs(n, 5)) != ZN_OK) return st;
    const zn_view *x = &n->in[0];
    if (x->rank < 2) {
        char s[160];
        fmt_dims(s, sizeof s, x->rank, x->dims);
        return zn_error_set(ZN_ERR_SHAPE, "BatchNormalization: input shape %s has no channel dim "
                            "(X must be (N, C, ...))", s);
    }
    static const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 1; i < 5; i++) {
        if ((st = same_dtype(n, 0, i)) != ZN_OK) return st;
        if ((st = param_size(n, i, names[i], x->dims[1], false, x, "the channel dim 1")) != ZN_OK)
            return st;
    }
    set_out(&out[0], x->dtype, x->rank, x->dims);
    for (int k = 1; k < n->n_out && k < 3; k++) set_out(&out[k], x->dtype, 1, &x->dims[1]);
    return ZN_OK;
}

static zn_status infer_binary(const zn_kernel_node *n, int *rank, int64_t *dims) {
    zn_status st;
    if ((st = need_inputs(n, 2)) != ZN_OK) return st;
    if ((st = same_dtype(n, 0, 1)) != ZN_OK) return st;
    st = zn_broadcast_shapes(n->in[0].rank, n->in[0].dims, n->in[1].rank, n->in[1].dims, rank, dims);
    if (st != ZN_OK) zn_error_prefix("%s", zn_op_name(n->op));
    return st;
}

static zn_status infer_add_layernorm(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    int rank, axis;
    int64_t dims[ZN_MAX_RANK], D;
    if ((st = need_inputs(n, 3)) != ZN_OK) return st;
    if ((st = infer_binary(n, &rank, dims)) != ZN_OK) return st;
    if ((st = norm_size(n, rank, dims, &axis, &D)) != ZN_OK) return st;
    zn_view sum;
    memset(&sum, 0, sizeof sum);
    set_out(&sum, n->in[0].dtype, rank, dims);
    if ((st = same_dtype(n, 0, 2)) != ZN_OK) return st;
    if ((st = param_size(n, 2, "gamma", D, true, &sum, "the normalized dims")) != ZN_OK) return st;
    if (n->n_in > 3 && present(&n->in[3])) {
        if ((st = same_dtype(n, 0, 3)) != ZN_OK) return st;
        if ((st = param_size(n, 3, "beta", D, true, &sum, "the normalized dims")) != ZN_OK) return st;
    }
    for (int k = 0; k < n->n_out && k < 2; k++) set_out(&out[k], sum.dtype, rank, dims);
    return ZN_OK;
}

static zn_status infer_bias_act(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = need_inputs(n, 2)) != ZN_OK) return st;
    if ((st = same_dtype(n, 0, 1)) != ZN_OK) return st;
    const zn_view *x = &n->in[0];
    if (x->rank < 1) {
        return zn_error_set(ZN_ERR_SHAPE, "%s: x is a scalar; it needs a channel dim (..., C)",
                            zn_op_name(n->op));
    }
    int64_t C = x->dims[x->rank - 1];
    if ((st = param_size(n, 1, "bias", C, false, x, "x's last dim")) != ZN_OK) return st;
    set_out(&out[0], x->dtype, x->rank, x->dims);
    return ZN_OK;
}

zn_status zn_infer_norm(const zn_kernel_node *n, zn_view *out) {
    switch (n->op) {
    case ZN_OP_LAYER_NORM: return infer_layernorm(n, out);
    case ZN_OP_BATCH_NORM: return infer_batchnorm(n, out);
    case ZN_OP_ADD_LAYER_NORM: return infer_add_layernorm(n, out);
    case ZN_OP_ADD_RELU: {
        int rank;
        int64_t dims[ZN_MAX_RANK];
        zn_status st = infer_binary(n, &rank, dims);
        if (st != ZN_OK) return st;
        set_out(&out[0], n->in[0].dtype, rank, dims);
        return ZN_OK;
    }
    case ZN_OP_BIAS_RELU: case ZN_OP_BIAS_GELU: return infer_bias_act(n, out);
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "zn_infer_norm: %s is not a normalization or fused "
                            "op (dispatch it through zn_infer_node)", zn_op_name(n->op));
    }
}
