/* infer_fused.c — output dtype and shape of the fused ops the passes produce: ZnLinear,
 * ZnAttention and ZnConv (see infer.h for the contract; ops.def for their semantics).
 *
 * ZnConv is Conv's shape (infer_conv.c) with the residual checked against it. Not here: the
 * fused element-wise and normalization ops (infer_norm.c).
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "infer.h"

static bool present(const zn_kernel_node *n, int i) {
    return i < n->n_in && n->in[i].dtype != ZN_DTYPE_UNDEFINED;
}

static void fmt_dims(char *buf, size_t cap, const zn_view *v) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < v->rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)v->dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

static bool same_dims(const zn_view *a, const zn_view *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* The fused ops compute in one float type: f32, or f16 / bf16 after precision lowering. */
static zn_status check_float(const zn_kernel_node *n, int upto) {
    zn_dtype t = n->in[0].dtype;
    for (int i = 0; i < upto && i < n->n_in; i++)
        if (present(n, i) && (n->in[i].dtype != t || (t != ZN_F32 && t != ZN_F16 && t != ZN_BF16)))
            return zn_error_set(ZN_ERR_SHAPE, "%s: input %d is %s, input 0 is %s; the fused op computes in one "
                                "float type (compile without passes to keep the original ops)",
                                zn_op_name(n->op), i, zn_dtype_name(n->in[i].dtype), zn_dtype_name(t));
    return ZN_OK;
}

static zn_status check_activation(const zn_kernel_node *n, bool gelu_ok) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
    if (!strcmp(a, "none") || !strcmp(a, "relu")) return ZN_OK;
    if (gelu_ok && (!strcmp(a, "gelu") || !strcmp(a, "gelu_tanh"))) return ZN_OK;
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: activation '%s' is not one of none, relu%s",
                        zn_op_name(n->op), a, gelu_ok ? ", gelu, gelu_tanh" : "");
}

static zn_status check_residual(const zn_kernel_node *n, int i, const zn_view *y) {
    if (!present(n, i) || same_dims(&n->in[i], y)) return ZN_OK;
    char a[160], b[160];
    fmt_dims(a, sizeof a, &n->in[i]);
    fmt_dims(b, sizeof b, y);
    return zn_error_set(ZN_ERR_SHAPE, "%s: residual has shape %s but the output is %s (they must "
                        "be equal)", zn_op_name(n->op), a, b);
}

static zn_status infer_linear(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = check_float(n, 4)) != ZN_OK || (st = check_activation(n, true)) != ZN_OK) return st;
    const zn_view *x = &n->in[0], *w = &n->in[1];
    char a[160], b[160];
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    if (x->rank < 1 || w->rank != 2) {
        fmt_dims(a, sizeof a, x);
        fmt_dims(b, sizeof b, w);
        return zn_error_set(ZN_ERR_SHAPE, "ZnLinear: X %s must have rank >= 1 and W %s rank 2", a, b);
    }
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    if (x->dims[x->rank - 1] != K) {
        fmt_dims(a, sizeof a, x);
        fmt_dims(b, sizeof b, w);
        return zn_error_set(ZN_ERR_SHAPE, "ZnLinear inner dims differ: X is %s, W is %s (transB=%d); "
                            "X's last dim must be %lld", a, b, tb, (long long)K);
    }
    out[0].dtype = n->in[0].dtype;
    out[0].rank = x->rank;
    for (int d = 0; d < x->rank; d++) out[0].dims[d] = x->dims[d];
    out[0].dims[x->rank - 1] = N;
    if (present(n, 2) && zn_view_numel(&n->in[2]) != N) {
        fmt_dims(a, sizeof a, &n->in[2]);
        return zn_error_set(ZN_ERR_SHAPE, "ZnLinear: bias %s must hold N = %lld values", a, (long long)N);
    }
    return check_residual(n, 3, &out[0]);
}

static zn_status infer_attention(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = check_float(n, 4)) != ZN_OK) return st;
    const zn_view *q = &n->in[0], *k = &n->in[1], *v = &n->in[2];
    int64_t H = zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 1);
    char a[160], b[160], c[160];
    fmt_dims(a, sizeof a, q);
    fmt_dims(b, sizeof b, k);
    fmt_dims(c, sizeof c, v);
    if (q->rank != 3 || k->rank != 3 || v->rank != 3 || H < 1 || q->dims[0] != k->dims[0] ||
        q->dims[0] != v->dims[0] || k->dims[1] != v->dims[1] || q->dims[2] != k->dims[2] ||
        q->dims[2] % H || v->dims[2] % H)
        return zn_error_set(ZN_ERR_SHAPE, "ZnAttention: Q %s, K %s, V %s with %lld heads do not fit "
                            "(need (B,Sq,H*D), (B,Sk,H*D), (B,Sk,H*Dv))", a, b, c, (long long)H);
    out[0].dtype = n->in[0].dtype;
    out[0].rank = 3;
    out[0].dims[0] = q->dims[0];
    out[0].dims[1] = q->dims[1];
    out[0].dims[2] = v->dims[2];
    if (present(n, 3)) {
        const zn_view *m = &n->in[3];
        int64_t full[4] = {q->dims[0], H, q->dims[1], k->dims[1]}, bd[ZN_MAX_RANK];
        int br;
        bool ok = m->rank <= 4 && zn_broadcast_shapes(4, full, m->rank, m->dims, &br, bd) == ZN_OK;
        for (int d = 0; ok && d < 4; d++) ok = bd[d] == full[d];
        if (!ok) {
            fmt_dims(a, sizeof a, m);
            return zn_error_set(ZN_ERR_SHAPE, "ZnAttention: mask %s does not broadcast to the scores "
                                "(B,H,Sq,Sk) = [%lld,%lld,%lld,%lld]", a, (long long)full[0],
                                (long long)full[1], (long long)full[2], (long long)full[3]);
        }
    }
    return ZN_OK;
}

static zn_status infer_conv_fused(const zn_kernel_node *n, zn_view *out) {
    zn_status st;
    if ((st = check_float(n, 4)) != ZN_OK || (st = check_activation(n, false)) != ZN_OK) return st;
    zn_kernel_node c = *n;
    c.op = ZN_OP_CONV;
    c.n_in = present(n, 2) ? 3 : 2;
    if ((st = zn_infer_conv(&c, out)) != ZN_OK) return st;
    return check_residual(n, 3, &out[0]);
}

zn_status zn_infer_fused(const zn_kernel_node *n, zn_view *out) {
    switch (n->op) {
    case ZN_OP_LINEAR: return infer_linear(n, out);
    case ZN_OP_ATTENTION: return infer_attention(n, out);
    case ZN_OP_CONV_FUSED: return infer_conv_fused(n, out);
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "zn_infer_fused: %s is not ZnLinear, ZnAttention or "
                            "ZnConv (dispatch it through zn_infer_node)", zn_op_name(n->op));
    }
}
