/* fuse_attention.c — the multi-head attention subgraph into one ZnAttention node:
 *
 *   Q (B,Sq,H*D) -> Reshape (B,Sq,H,D) -> Transpose(0,2,1,3) = q  (B,H,Sq,D)
 *   K (B,Sk,H*D) -> Reshape (B,Sk,H,D) -> Transpose(0,2,3,1) = kt (B,H,D,Sk)
 *   V (B,Sk,H*Dv)-> Reshape (B,Sk,H,Dv)-> Transpose(0,2,1,3) = v  (B,H,Sk,Dv)
 *   MatMul(q, kt) [-> Div(c) | Mul(c)] [-> Add(mask)] -> Softmax(-1) -> MatMul(., v)
 *   -> Transpose(0,2,1,3) -> Reshape (B,Sq,H*Dv)
 *   => ZnAttention(Q, K, V, mask; num_heads H, scale 1/c or c, causal)
 *
 * A constant (S,S) mask that is 0 on and below the diagonal and <= -1e4 above it (GPT-2's
 * causal bias) becomes causal=1 with no mask input. Every intermediate must have one reader
 * and not be a graph output. Not here: attention already in head-split form with no
 * reshapes around it, K given untransposed to a MatMul with transB, grouped-query attention.
 */
#include <stdio.h>
#include <string.h>

#include "passes.h"

static bool perm_is(const zn_node *n, int64_t a, int64_t b, int64_t c2, int64_t d) {
    int64_t p[ZN_MAX_RANK];
    if (zn_attrs_ints(n->attrs, n->n_attrs, "perm", p, ZN_MAX_RANK) != 4) return false;
    return p[0] == a && p[1] == b && p[2] == c2 && p[3] == d;
}

static int64_t dim(const zn_graph *g, int t, int d) { return g->tensors[t].shape.dims[d].value; }

/* t = Transpose(perm)(Reshape(X)) with X rank 3 and the reshape splitting X's last dim into
 * (H, D). Returns X, or -1; appends the two nodes. */
static int head_split(const zn_pass_ctx *c, int t, bool keys, int *nodes, int *nn, int64_t *H,
                      int64_t *D) {
    const zn_graph *g = c->g;
    int tr = zn_pass_single_producer(c, t, ZN_OP_TRANSPOSE);
    if (tr < 0 || !(keys ? perm_is(&g->nodes[tr], 0, 2, 3, 1) : perm_is(&g->nodes[tr], 0, 2, 1, 3)))
        return -1;
    int r = zn_pass_single_producer(c, g->nodes[tr].inputs[0], ZN_OP_RESHAPE);
    if (r < 0) return -1;
    int x = g->nodes[r].inputs[0], rs = g->nodes[r].outputs[0];
    if (g->tensors[x].shape.rank != 3 || g->tensors[rs].shape.rank != 4 || g->tensors[x].dtype != ZN_F32)
        return -1;
    if (dim(g, rs, 0) != dim(g, x, 0) || dim(g, rs, 1) != dim(g, x, 1) ||
        dim(g, rs, 2) * dim(g, rs, 3) != dim(g, x, 2))
        return -1;
    *H = dim(g, rs, 2);
    *D = dim(g, rs, 3);
    nodes[(*nn)++] = tr;
    nodes[(*nn)++] = r;
    return x;
}

/* GPT-2's causal bias: (S,S) values 0 for j <= i and <= -1e4 for j > i. */
static bool is_causal_mask(const zn_graph *g, int m, int64_t S) {
    if (!zn_pass_is_const(g, m) || g->tensors[m].dtype != ZN_F32) return false;
    const zn_shape *s = &g->tensors[m].shape;
    if (s->rank < 2 || zn_shape_numel(s) != S * S) return false;
    if (s->dims[s->rank - 1].value != S || s->dims[s->rank - 2].value != S) return false;
    const float *v = g->tensors[m].data;
    for (int64_t i = 0; i < S; i++)
        for (int64_t j = 0; j < S; j++) {
            float x = v[i * S + j];
            if (j <= i ? x != 0.0f : !(x <= -1e4f)) return false;
        }
    return true;
}

static int match_attention(zn_pass_ctx *c, int sm) {
    zn_graph *g = c->g;
    const zn_node *soft = &g->nodes[sm];
    int s_in = soft->inputs[0];
    if (g->tensors[s_in].shape.rank != 4 || g->tensors[s_in].dtype != ZN_F32) return 0;
    int64_t axis = zn_attrs_int(soft->attrs, soft->n_attrs, "axis", -1);
    if (axis != -1 && axis != 3) return 0;
    int nodes[24], nn = 0;
    nodes[nn++] = sm;
    int cur = s_in, mask = -1;
    float scale = 1.0f;
    int p = zn_pass_single_producer(c, cur, ZN_OP_ADD);
    if (p >= 0) {
        const zn_node *a = &g->nodes[p];
        int side = -1;
        for (int k = 0; k < 2 && side < 0; k++) {
            int q = zn_pass_producer(c, a->inputs[k]);
            zn_op op = q >= 0 ? g->nodes[q].op : ZN_OP_COUNT;
            if ((op == ZN_OP_MATMUL || op == ZN_OP_DIV || op == ZN_OP_MUL) &&
                zn_pass_same_shape(g, a->inputs[k], cur))
                side = k;
        }
        if (side < 0) return 0;
        mask = a->inputs[1 - side];
        if (g->tensors[mask].dtype != ZN_F32 || g->tensors[mask].shape.rank > 4) return 0;
        nodes[nn++] = p;
        cur = a->inputs[side];
    }
    float v;
    if ((p = zn_pass_single_producer(c, cur, ZN_OP_DIV)) >= 0) {
        if (!zn_pass_const_scalar(g, g->nodes[p].inputs[1], &v) || v == 0.0f) return 0;
        scale = 1.0f / v;
        nodes[nn++] = p;
        cur = g->nodes[p].inputs[0];
    } else if ((p = zn_pass_single_producer(c, cur, ZN_OP_MUL)) >= 0) {
        const zn_node *m = &g->nodes[p];
        int side = zn_pass_const_scalar(g, m->inputs[1], &v) ? 0 : zn_pass_const_scalar(g, m->inputs[0], &v) ? 1 : -1;
        if (side < 0) return 0;
        scale = v;
        nodes[nn++] = p;
        cur = m->inputs[side];
    }
    int mm1 = zn_pass_single_producer(c, cur, ZN_OP_MATMUL);
    if (mm1 < 0) return 0;
    nodes[nn++] = mm1;
    int mm2 = zn_pass_sole_consumer(c, soft->outputs[0]);
    if (mm2 < 0 || g->nodes[mm2].op != ZN_OP_MATMUL || g->nodes[mm2].inputs[0] != soft->outputs[0]) return 0;
    nodes[nn++] = mm2;
    int tc = zn_pass_sole_consumer(c, g->nodes[mm2].outputs[0]);
    if (tc < 0 || g->nodes[tc].op != ZN_OP_TRANSPOSE || !perm_is(&g->nodes[tc], 0, 2, 1, 3)) return 0;
    nodes[nn++] = tc;
    int rc = zn_pass_sole_consumer(c, g->nodes[tc].outputs[0]);
    if (rc < 0 || g->nodes[rc].op != ZN_OP_RESHAPE) return 0;
    int y = g->nodes[rc].outputs[0];
    int64_t Hq, Dq, Hk, Dk, Hv, Dv;
    int Q = head_split(c, g->nodes[mm1].inputs[0], false, nodes, &nn, &Hq, &Dq);
    int K = head_split(c, g->nodes[mm1].inputs[1], true, nodes, &nn, &Hk, &Dk);
    int V = head_split(c, g->nodes[mm2].inputs[1], false, nodes, &nn, &Hv, &Dv);
    if (Q < 0 || K < 0 || V < 0 || Hq != Hk || Hq != Hv || Dq != Dk) return 0;
    int64_t B = dim(g, Q, 0), Sq = dim(g, Q, 1), Sk = dim(g, K, 1);
    if (dim(g, K, 0) != B || dim(g, V, 0) != B || dim(g, V, 1) != Sk) return 0;
    if (g->tensors[y].shape.rank != 3 || dim(g, y, 0) != B || dim(g, y, 1) != Sq || dim(g, y, 2) != Hv * Dv)
        return 0;
    int causal = 0;
    if (mask >= 0 && Sq == Sk && is_causal_mask(g, mask, Sq)) {
        causal = 1;
        mask = -1;
    }
    zn_pass_kill(g, nn, nodes);
    int in[4] = {Q, K, V, mask};
    if (zn_pass_rewrite(g, rc, ZN_OP_ATTENTION, mask >= 0 ? 4 : 3, in) != ZN_OK) return -1;
    if (zn_graph_set_attr_int(g, rc, "num_heads", Hq) != ZN_OK ||
        zn_graph_set_attr_float(g, rc, "scale", scale) != ZN_OK ||
        zn_graph_set_attr_int(g, rc, "causal", causal) != ZN_OK)
        return -1;
    return 1;
}

int zn_pass_attention(zn_pass_ctx *c) {
    int fused = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->g->nodes[i].dead || c->g->nodes[i].op != ZN_OP_SOFTMAX) continue;
        int r = match_attention(c, i);
        if (r < 0) return -1;
        fused += r;
    }
    c->fused[ZN_OP_ATTENTION] += fused;
    snprintf(c->detail, sizeof c->detail, "%d attention subgraph%s fused", fused, fused == 1 ? "" : "s");
    return fused;
}
