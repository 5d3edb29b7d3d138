/* infer_linalg.c — output dtype and shape of MatMul and Gemm (see infer.h for the contract).
 *
 * MatMul follows numpy.matmul: a 1-D operand is promoted (a: (K) -> (1,K), b: (K) -> (K,1)) and
 * the promoted dim is dropped from the result; the batch dims broadcast. Gemm takes 2-D A and B
 * (optionally transposed) and a C that broadcasts unidirectionally to (M,N). Not a kernel.
 */
#include "infer.h"

#include <stdio.h>

#include "error.h"

static const char *dims_str(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

static zn_status infer_matmul(const zn_kernel_node *n, zn_view *out) {
    const zn_view *a = &n->in[0], *b = &n->in[1];
    char sa[160], sb[160];
    dims_str(sa, sizeof sa, a->rank, a->dims);
    dims_str(sb, sizeof sb, b->rank, b->dims);
    if (a->rank < 1 || b->rank < 1) {
        zn_error_set(ZN_ERR_SHAPE, "MatMul needs operands of rank >= 1: A is %s, B is %s", sa, sb);
        zn_error_hint("a scalar factor is a Mul, not a MatMul");
        return ZN_ERR_SHAPE;
    }
    if (a->dtype != b->dtype || !zn_dtype_is_float(a->dtype))
        return zn_error_set(ZN_ERR_SHAPE,
                            "MatMul operands must share one float dtype: A is %s%s, B is %s%s",
                            zn_dtype_name(a->dtype), sa, zn_dtype_name(b->dtype), sb);
    int ra = a->rank, rb = b->rank;
    int64_t K = a->dims[ra - 1];
    int64_t Kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0];
    if (K != Kb) {
        zn_error_set(ZN_ERR_SHAPE,
                     "MatMul inner dims differ: A is %s, B is %s (A's last dim must equal B's %s)",
                     sa, sb, rb >= 2 ? "second-to-last" : "only dim");
        zn_error_hint("check the model's input shapes (--shape) or transpose one operand");
        return ZN_ERR_SHAPE;
    }
    int abr = ra > 2 ? ra - 2 : 0, bbr = rb > 2 ? rb - 2 : 0;
    int br = abr > bbr ? abr : bbr;
    int rank = br + (ra >= 2) + (rb >= 2);
    if (rank > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_SHAPE, "MatMul result rank %d exceeds ZN_MAX_RANK (%d)", rank,
                            ZN_MAX_RANK);
    for (int d = 0; d < br; d++) {
        int ia = d - (br - abr), ib = d - (br - bbr);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            zn_error_set(ZN_ERR_SHAPE,
                         "MatMul batch dims do not broadcast: A is %s, B is %s (batch dim %d is "
                         "%lld vs %lld; each must be equal or 1)",
                         sa, sb, d, (long long)da, (long long)db);
            zn_error_hint("check the model's input shapes (--shape)");
            return ZN_ERR_SHAPE;
        }
        out[0].dims[d] = da == 1 ? db : da;
    }
    int r = br;
    if (ra >= 2) out[0].dims[r++] = a->dims[ra - 2];
    if (rb >= 2) out[0].dims[r++] = b->dims[rb - 1];
    out[0].rank = r;
    out[0].dtype = a->dtype;
    return ZN_OK;
}

static zn_status infer_gemm(const zn_kernel_node *n, zn_view *out) {
    const zn_view *a = &n->in[0], *b = &n->in[1];
    char sa[160], sb[160], sc[160];
    dims_str(sa, sizeof sa, a->rank, a->dims);
    dims_str(sb, sizeof sb, b->rank, b->dims);
    if (a->rank != 2 || b->rank != 2) {
        zn_error_set(ZN_ERR_SHAPE, "Gemm needs 2-D A and B: A is %s, B is %s", sa, sb);
        zn_error_hint("use MatMul for batched or 1-D operands, or Flatten the input first");
        return ZN_ERR_SHAPE;
    }
    if (a->dtype != b->dtype || !zn_dtype_is_float(a->dtype))
        return zn_error_set(ZN_ERR_SHAPE,
                            "Gemm operands must share one float dtype: A is %s%s, B is %s%s",
                            zn_dtype_name(a->dtype), sa, zn_dtype_name(b->dtype), sb);
    bool ta = zn_attrs_int(n->attrs, n->n_attrs, "transA", 0) != 0;
    bool tb = zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) != 0;
    int64_t M = a->dims[ta ? 1 : 0], K = a->dims[ta ? 0 : 1];
    int64_t Kb = b->dims[tb ? 1 : 0], N = b->dims[tb ? 0 : 1];
    if (K != Kb) {
        zn_error_set(ZN_ERR_SHAPE,
                     "Gemm inner dims differ: A is %s (transA=%d), B is %s (transB=%d): op(A) has "
                     "K=%lld columns, op(B) has K=%lld rows",
                     sa, ta, sb, tb, (long long)K, (long long)Kb);
        zn_error_hint("check transA/transB and the input shapes (--shape)");
        return ZN_ERR_SHAPE;
    }
    if (n->n_in >= 3 && n->in[2].dtype != ZN_DTYPE_UNDEFINED) {
        const zn_view *c = &n->in[2];
        dims_str(sc, sizeof sc, c->rank, c->dims);
        int64_t cm = 1, cn = 1;
        bool ok = c->rank <= 2;
        if (c->rank == 1) cn = c->dims[0];
        if (c->rank == 2) { cm = c->dims[0]; cn = c->dims[1]; }
        ok = ok && (cm == 1 || cm == M) && (cn == 1 || cn == N);
        if (!ok)
            return zn_error_set(ZN_ERR_SHAPE,
                                "Gemm's C is %s and does not broadcast to the result (%lld,%lld) "
                                "(C must be a scalar, (N), (1,N), (M,1) or (M,N))",
                                sc, (long long)M, (long long)N);
        if (c->dtype != a->dtype)
            return zn_error_set(ZN_ERR_SHAPE, "Gemm's C is %s but A is %s: they must match",
                                zn_dtype_name(c->dtype), zn_dtype_name(a->dtype));
    }
    out[0].dtype = a->dtype;
    out[0].rank = 2;
    out[0].dims[0] = M;
    out[0].dims[1] = N;
    return ZN_OK;
}

zn_status zn_infer_linalg(const zn_kernel_node *n, zn_view *out) {
    switch (n->op) {
    case ZN_OP_MATMUL:
        if (n->n_in != 2) return zn_error_set(ZN_ERR_INVALID_GRAPH, "MatMul takes 2 inputs, got %d", n->n_in);
        return infer_matmul(n, out);
    case ZN_OP_GEMM:
        if (n->n_in < 2) return zn_error_set(ZN_ERR_INVALID_GRAPH, "Gemm takes 2 or 3 inputs, got %d", n->n_in);
        return infer_gemm(n, out);
    default:
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_infer_linalg does not handle %s",
                            zn_op_name(n->op));
    }
}
