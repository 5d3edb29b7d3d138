/* infer_conv.c — output dtype and shape of Conv, MaxPool, AveragePool and GlobalAveragePool
 * (see infer.h for the contract).
 *
 * NCHW with 1 to 3 spatial dims. Per spatial dim, with the effective kernel
 * ek = (k - 1) * dilation + 1:
 *   NOTSET      out = floor((in + pad_begin + pad_end - ek) / stride) + 1  (ceil for pools with
 *               ceil_mode=1, dropping a last window that would start in the end padding)
 *   SAME_*      out = ceil(in / stride)
 *   VALID       out = floor((in - ek) / stride) + 1
 * Not a kernel: ref_conv.c re-derives the SAME pads from these output sizes.
 */
#include "infer.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *dims_str(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

/* Spatial output sizes of x's dims [2..rank) for kernel ks. */
static zn_status window_out(const zn_kernel_node *n, const zn_view *x, const int64_t *ks,
                            bool ceil_mode, int64_t *out) {
    const char *op = zn_op_name(n->op);
    int nsp = x->rank - 2;
    int64_t st[3], dl[3], pads[6];
    int ns = zn_attrs_ints(n->attrs, n->n_attrs, "strides", st, 3);
    int nd = zn_attrs_ints(n->attrs, n->n_attrs, "dilations", dl, 3);
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "pads", pads, 6);
    if (ns >= 0 && ns != nsp)
        return zn_error_set(ZN_ERR_SHAPE, "%s has %d strides for %d spatial dims", op, ns, nsp);
    if (nd >= 0 && nd != nsp)
        return zn_error_set(ZN_ERR_SHAPE, "%s has %d dilations for %d spatial dims", op, nd, nsp);
    if (np >= 0 && np != 2 * nsp)
        return zn_error_set(ZN_ERR_SHAPE, "%s has %d pads for %d spatial dims (need begin and end "
                            "per dim: %d)", op, np, nsp, 2 * nsp);
    const char *ap = zn_attrs_string(n->attrs, n->n_attrs, "auto_pad", "NOTSET");
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same && !valid && strcmp(ap, "NOTSET") != 0)
        return zn_error_set(ZN_ERR_SHAPE, "%s: auto_pad '%s' is not one of NOTSET, SAME_UPPER, "
                            "SAME_LOWER, VALID", op, ap);
    for (int i = 0; i < nsp; i++) {
        int64_t in = x->dims[2 + i], k = ks[i];
        int64_t s = ns >= 0 ? st[i] : 1, d = nd >= 0 ? dl[i] : 1;
        int64_t pb = (np >= 0 && !same && !valid) ? pads[i] : 0;
        int64_t pe = (np >= 0 && !same && !valid) ? pads[nsp + i] : 0;
        if (k < 1 || s < 1 || d < 1 || pb < 0 || pe < 0)
            return zn_error_set(ZN_ERR_SHAPE, "%s spatial dim %d: kernel %lld, stride %lld, "
                                "dilation %lld must be >= 1 and pads (%lld,%lld) >= 0", op, i,
                                (long long)k, (long long)s, (long long)d, (long long)pb,
                                (long long)pe);
        int64_t ek = (k - 1) * d + 1;
        if (same) {
            out[i] = (in + s - 1) / s;
            continue;
        }
        int64_t num = in + pb + pe - ek;
        if (num < 0) {
            char sx[160];
            zn_error_set(ZN_ERR_SHAPE, "%s window does not fit: input %s has %lld along spatial "
                         "dim %d (%lld with pads) but the kernel spans %lld", op,
                         dims_str(sx, sizeof sx, x->rank, x->dims), (long long)in, i,
                         (long long)(in + pb + pe), (long long)ek);
            zn_error_hint("check the input's spatial size (--shape) or the kernel_shape/pads");
            return ZN_ERR_SHAPE;
        }
        int64_t o = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
        if (ceil_mode && (o - 1) * s >= in + pb) o--;
        out[i] = o;
    }
    return ZN_OK;
}

static zn_status check_spatial(const zn_kernel_node *n, const zn_view *x) {
    if (x->rank < 3 || x->rank > 5) {
        char sx[160];
        zn_error_set(ZN_ERR_SHAPE, "%s needs an input (N, C, spatial...) with 1 to 3 spatial dims; "
                     "got %s", zn_op_name(n->op), dims_str(sx, sizeof sx, x->rank, x->dims));
        zn_error_hint("Zenith's %s takes NCHW layouts; reshape a flat input first",
                      zn_op_name(n->op));
        return ZN_ERR_SHAPE;
    }
    if (!zn_dtype_is_float(x->dtype))
        return zn_error_set(ZN_ERR_SHAPE, "%s needs a float input, got %s", zn_op_name(n->op),
                            zn_dtype_name(x->dtype));
    return ZN_OK;
}

static zn_status infer_conv(const zn_kernel_node *n, zn_view *out) {
    if (n->n_in < 2) return zn_error_set(ZN_ERR_INVALID_GRAPH, "Conv takes 2 or 3 inputs, got %d", n->n_in);
    const zn_view *x = &n->in[0], *w = &n->in[1];
    zn_status st = check_spatial(n, x);
    if (st != ZN_OK) return st;
    char sx[160], sw[160];
    dims_str(sx, sizeof sx, x->rank, x->dims);
    dims_str(sw, sizeof sw, w->rank, w->dims);
    if (w->rank != x->rank)
        return zn_error_set(ZN_ERR_SHAPE, "Conv weight W is %s but X is %s: W must be (M, C/group, "
                            "kernel...) with X's rank", sw, sx);
    if (w->dtype != x->dtype)
        return zn_error_set(ZN_ERR_SHAPE, "Conv's X is %s but W is %s: they must match",
                            zn_dtype_name(x->dtype), zn_dtype_name(w->dtype));
    int64_t group = zn_attrs_int(n->attrs, n->n_attrs, "group", 1);
    int64_t C = x->dims[1], M = w->dims[0];
    if (group < 1 || C % group != 0 || w->dims[1] * group != C) {
        zn_error_set(ZN_ERR_SHAPE, "Conv channel mismatch: X is %s with C=%lld channels, group=%lld, "
                     "W is %s (W's dim 1 must be C/group)", sx, (long long)C, (long long)group, sw);
        zn_error_hint("check the input's channel count (--shape) and the Conv's group attribute");
        return ZN_ERR_SHAPE;
    }
    if (M % group != 0)
        return zn_error_set(ZN_ERR_SHAPE, "Conv: W is %s with M=%lld output channels, not a "
                            "multiple of group=%lld", sw, (long long)M, (long long)group);
    int nsp = x->rank - 2;
    int64_t ks[3];
    int nk = zn_attrs_ints(n->attrs, n->n_attrs, "kernel_shape", ks, 3);
    for (int i = 0; i < nsp; i++) {
        if (nk >= 0 && (nk != nsp || ks[i] != w->dims[2 + i])) {
            zn_error_set(ZN_ERR_SHAPE, "Conv kernel_shape attribute disagrees with W %s", sw);
            zn_error_hint("drop kernel_shape (it is read from W) or fix it");
            return ZN_ERR_SHAPE;
        }
        ks[i] = w->dims[2 + i];
    }
    if (n->n_in >= 3 && n->in[2].dtype != ZN_DTYPE_UNDEFINED) {
        const zn_view *b = &n->in[2];
        if (b->rank != 1 || b->dims[0] != M) {
            char sb[160];
            return zn_error_set(ZN_ERR_SHAPE, "Conv bias B is %s; it must be (M) = [%lld] for W %s",
                                dims_str(sb, sizeof sb, b->rank, b->dims), (long long)M, sw);
        }
    }
    st = window_out(n, x, ks, false, &out[0].dims[2]);
    if (st != ZN_OK) return st;
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = M;
    return ZN_OK;
}

static zn_status infer_pool(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    zn_status st = check_spatial(n, x);
    if (st != ZN_OK) return st;
    int nsp = x->rank - 2;
    int64_t ks[3];
    int nk = zn_attrs_ints(n->attrs, n->n_attrs, "kernel_shape", ks, 3);
    if (nk != nsp) {
        char sx[160];
        zn_error_set(ZN_ERR_SHAPE, "%s needs kernel_shape with %d values for input %s (got %d)",
                     zn_op_name(n->op), nsp, dims_str(sx, sizeof sx, x->rank, x->dims), nk < 0 ? 0 : nk);
        zn_error_hint("the model must set kernel_shape on %s", zn_op_name(n->op));
        return ZN_ERR_SHAPE;
    }
    bool ceil_mode = zn_attrs_int(n->attrs, n->n_attrs, "ceil_mode", 0) != 0;
    st = window_out(n, x, ks, ceil_mode, &out[0].dims[2]);
    if (st != ZN_OK) return st;
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = x->dims[1];
    if (n->n_out > 1) { /* MaxPool's Indices */
        out[1] = out[0];
        out[1].dtype = ZN_I64;
    }
    return ZN_OK;
}

static zn_status infer_gap(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    if (x->rank < 3) {
        char sx[160];
        return zn_error_set(ZN_ERR_SHAPE, "GlobalAveragePool needs (N, C, spatial...), got %s",
                            dims_str(sx, sizeof sx, x->rank, x->dims));
    }
    if (!zn_dtype_is_float(x->dtype))
        return zn_error_set(ZN_ERR_SHAPE, "GlobalAveragePool needs a float input, got %s",
                            zn_dtype_name(x->dtype));
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++) out[0].dims[i] = 1;
    return ZN_OK;
}

zn_status zn_infer_conv(const zn_kernel_node *n, zn_view *out) {
    switch (n->op) {
    case ZN_OP_CONV: return infer_conv(n, out);
    case ZN_OP_MAX_POOL:
    case ZN_OP_AVERAGE_POOL: return infer_pool(n, out);
    case ZN_OP_GLOBAL_AVERAGE_POOL: return infer_gap(n, out);
    default:
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_infer_conv does not handle %s",
                            zn_op_name(n->op));
    }
}
