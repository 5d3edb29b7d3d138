/* fuse_norm.c — the normalization and activation patterns exporters write op by op, and
 * residual Add + LayerNorm:
 *
 *   LayerNorm  x -> ReduceMean(-1) -> Sub(x, mean) = d -> Pow(d, 2) | Mul(d, d) -> ReduceMean(-1)
 *              -> Add(eps) -> Sqrt -> Div(d, .) [-> Mul(gamma)] [-> Add(beta)]
 *              => LayerNormalization(x, gamma, beta; axis -1, epsilon eps)
 *   GELU (erf) x / 1.41421 (or x * 0.70711) -> Erf -> Add(1) -> Mul with x and with 0.5 in any
 *              of the orders exporters use                       => Gelu(x)
 *   GELU(tanh) 0.5 x (1 + tanh(0.79788 (x + 0.044715 x^3))), x^3 as Pow(x, 3) or x*x*x
 *                                                                => Gelu(x; approximate tanh)
 *   Add + LN   LayerNormalization(Add(a, b)) => ZnAddLayerNorm(a, b, gamma, beta); when the sum
 *              has other readers it becomes ZnAddLayerNorm's second output.
 *
 * Not here: LayerNorm over more than the last axis, RMSNorm, GELU written with Sigmoid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* ============================== LayerNorm ============================================== */

/* ReduceMean over the last axis only, keepdims 1. */
static bool mean_last_axis(const zn_graph *g, const zn_node *n) {
    if (n->op != ZN_OP_REDUCE_MEAN || n->inputs[0] < 0) return false;
    int rank = g->tensors[n->inputs[0]].shape.rank;
    if (zn_attrs_int(n->attrs, n->n_attrs, "keepdims", 1) != 1) return false;
    int64_t axes[ZN_MAX_RANK];
    int na = zn_attrs_ints(n->attrs, n->n_attrs, "axes", axes, ZN_MAX_RANK);
    if (na < 0 && n->n_inputs > 1 && n->inputs[1] >= 0) {
        int t = n->inputs[1];
        if (!zn_pass_is_const(g, t) || g->tensors[t].dtype != ZN_I64) return false;
        int64_t cnt = zn_shape_numel(&g->tensors[t].shape);
        if (cnt != 1) return false;
        axes[0] = *(const int64_t *)g->tensors[t].data;
        na = 1;
    }
    return na == 1 && rank >= 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

/* gamma/beta: f32 with D values along the last dim (leading dims 1), or one value. */
static bool param_ok(const zn_graph *g, int p, int x, int64_t D) {
    const zn_tensor *t = &g->tensors[p];
    if (t->dtype != ZN_F32 || t->shape.rank > g->tensors[x].shape.rank) return false;
    int64_t n = zn_shape_numel(&t->shape);
    if (n == 1) return true;
    return n == D && t->shape.rank >= 1 && t->shape.dims[t->shape.rank - 1].value == D;
}

/* The binary node (op) that is t's sole consumer, with its other operand in *other. */
static int sole_binary(const zn_pass_ctx *c, int t, zn_op op, int *other) {
    int n = zn_pass_sole_consumer(c, t);
    if (n < 0 || c->g->nodes[n].op != op) return -1;
    *other = zn_pass_other_input(&c->g->nodes[n], t);
    return *other >= 0 ? n : -1;
}

static int match_layernorm(zn_pass_ctx *c, int m1) {
    zn_graph *g = c->g;
    const zn_node *mean = &g->nodes[m1];
    if (!mean_last_axis(g, mean)) return 0;
    int x = mean->inputs[0];
    const zn_shape *xs = &g->tensors[x].shape;
    if (g->tensors[x].dtype != ZN_F32 || xs->rank < 1) return 0;
    int64_t D = xs->dims[xs->rank - 1].value;
    int sub = zn_pass_sole_consumer(c, mean->outputs[0]);
    if (sub < 0 || g->nodes[sub].op != ZN_OP_SUB || g->nodes[sub].inputs[0] != x ||
        g->nodes[sub].inputs[1] != mean->outputs[0])
        return 0;
    int d = g->nodes[sub].outputs[0];
    if (zn_pass_is_output(g, d) || c->uses[d] < 2 || c->uses[d] > 3) return 0;
    /* d's readers: the square and the Div */
    int sq = -1, div = -1;
    for (int k = c->cons_start[d]; k < c->cons_start[d + 1]; k++) {
        const zn_node *n = &g->nodes[c->cons[k]];
        float e;
        if (n->op == ZN_OP_DIV && n->inputs[0] == d) div = c->cons[k];
        else if (n->op == ZN_OP_POW && n->inputs[0] == d && zn_pass_const_scalar(g, n->inputs[1], &e) && e == 2.0f)
            sq = c->cons[k];
        else if (n->op == ZN_OP_MUL && n->inputs[0] == d && n->inputs[1] == d) sq = c->cons[k];
        else return 0;
    }
    if (sq < 0 || div < 0) return 0;
    if (c->uses[d] != (g->nodes[sq].op == ZN_OP_MUL ? 3 : 2)) return 0;
    int m2 = zn_pass_sole_consumer(c, g->nodes[sq].outputs[0]);
    if (m2 < 0 || !mean_last_axis(g, &g->nodes[m2])) return 0;
    int eps_t, add = sole_binary(c, g->nodes[m2].outputs[0], ZN_OP_ADD, &eps_t);
    float eps;
    if (add < 0 || !zn_pass_const_scalar(g, eps_t, &eps) || eps < 0) return 0;
    int sqrt_n = zn_pass_sole_consumer(c, g->nodes[add].outputs[0]);
    if (sqrt_n < 0 || g->nodes[sqrt_n].op != ZN_OP_SQRT) return 0;
    int s = g->nodes[sqrt_n].outputs[0];
    if (zn_pass_sole_consumer(c, s) != div || g->nodes[div].inputs[1] != s) return 0;
    /* optional affine tail */
    int nodes[10] = {m1, sub, sq, m2, add, sqrt_n, div, -1, -1}, nn = 7;
    int last = div, gamma = -1, beta = -1, other;
    int mul = sole_binary(c, g->nodes[div].outputs[0], ZN_OP_MUL, &other);
    if (mul >= 0 && param_ok(g, other, x, D)) {
        gamma = other;
        nodes[nn++] = last = mul;
        int ad = sole_binary(c, g->nodes[mul].outputs[0], ZN_OP_ADD, &other);
        if (ad >= 0 && param_ok(g, other, x, D)) {
            beta = other;
            nodes[nn++] = last = ad;
        }
    }
    if (!zn_pass_same_shape(g, g->nodes[last].outputs[0], x)) return 0;
    if (gamma < 0) { /* no scale: ones */
        float *ones = malloc(sizeof(float) * (size_t)(D > 0 ? D : 1));
        if (!ones) {
            zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory fusing LayerNorm");
            return -1;
        }
        for (int64_t i = 0; i < D; i++) ones[i] = 1.0f;
        char nm[ZN_MAX_NAME + 8];
        snprintf(nm, sizeof nm, "%s.gamma", g->nodes[m1].name);
        gamma = zn_pass_new_const(g, nm, ZN_F32, 1, &D, ones);
        free(ones);
        if (gamma < 0) return -1;
    }
    int in[3] = {x, gamma, beta};
    zn_pass_kill(g, nn - 1, nodes);
    if (zn_pass_rewrite(g, last, ZN_OP_LAYER_NORM, beta >= 0 ? 3 : 2, in) != ZN_OK) return -1;
    if (zn_graph_set_attr_int(g, last, "axis", -1) != ZN_OK ||
        zn_graph_set_attr_float(g, last, "epsilon", eps) != ZN_OK)
        return -1;
    return 1;
}

int zn_pass_layernorm(zn_pass_ctx *c) {
    int fused = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->g->nodes[i].dead || c->g->nodes[i].op != ZN_OP_REDUCE_MEAN) continue;
        int r = match_layernorm(c, i);
        if (r < 0) return -1;
        fused += r;
    }
    c->fused[ZN_OP_LAYER_NORM] += fused;
    snprintf(c->detail, sizeof c->detail, "%d LayerNorm pattern%s fused", fused, fused == 1 ? "" : "s");
    return fused;
}

/* ============================== GELU =================================================== */

/* x's producer-side input of a binary node with a constant scalar near `want`; -1 if not. */
static int scaled_input(const zn_graph *g, const zn_node *n, float want, float rtol) {
    float v;
    if (n->n_inputs != 2) return -1;
    if (zn_pass_const_scalar(g, n->inputs[1], &v) && zn_pass_near(v, want, rtol)) return n->inputs[0];
    if (n->op != ZN_OP_DIV && zn_pass_const_scalar(g, n->inputs[0], &v) && zn_pass_near(v, want, rtol))
        return n->inputs[1];
    return -1;
}

/* From e = erf(...) or tanh(...): Add(e, 1), then the products with x and 0.5. Fills nodes and
 * returns the last node, or -1. */
static int gelu_tail(const zn_pass_ctx *c, int x, int e, int *nodes, int *nn) {
    const zn_graph *g = c->g;
    int one_t, add = sole_binary(c, e, ZN_OP_ADD, &one_t);
    float one;
    if (add < 0 || !zn_pass_const_scalar(g, one_t, &one) || one != 1.0f) return -1;
    nodes[(*nn)++] = add;
    int o, m1 = sole_binary(c, g->nodes[add].outputs[0], ZN_OP_MUL, &o);
    if (m1 < 0) return -1;
    nodes[(*nn)++] = m1;
    float half;
    if (o == x || (zn_pass_const_scalar(g, o, &half) && half == 0.5f)) {
        int o2, m2 = sole_binary(c, g->nodes[m1].outputs[0], ZN_OP_MUL, &o2);
        if (m2 < 0) return -1;
        bool ok = o == x ? zn_pass_const_scalar(g, o2, &half) && half == 0.5f : o2 == x;
        if (!ok) return -1;
        nodes[(*nn)++] = m2;
        return m2;
    }
    int h = zn_pass_single_producer(c, o, ZN_OP_MUL);
    if (h < 0 || scaled_input(g, &g->nodes[h], 0.5f, 0.0f) != x) return -1;
    nodes[(*nn)++] = h;
    return m1;
}

static int match_gelu_erf(zn_pass_ctx *c, int erf, int *nodes, int *nn, int *x) {
    const zn_graph *g = c->g;
    int t = g->nodes[erf].inputs[0];
    int p = zn_pass_single_producer(c, t, ZN_OP_DIV);
    if (p >= 0) *x = scaled_input(g, &g->nodes[p], 1.41421356f, 1e-3f);
    else if ((p = zn_pass_single_producer(c, t, ZN_OP_MUL)) >= 0)
        *x = scaled_input(g, &g->nodes[p], 0.70710678f, 1e-3f);
    if (p < 0 || *x < 0) return -1;
    nodes[(*nn)++] = p;
    nodes[(*nn)++] = erf;
    return gelu_tail(c, *x, g->nodes[erf].outputs[0], nodes, nn);
}

/* p = x^3 as Pow(x, 3) or Mul(Mul(x, x), x); returns x or -1 (nodes appended). */
static int cube_of(const zn_pass_ctx *c, int p, int *nodes, int *nn) {
    const zn_graph *g = c->g;
    int n = zn_pass_single_producer(c, p, ZN_OP_POW);
    float e;
    if (n >= 0) {
        if (!zn_pass_const_scalar(g, g->nodes[n].inputs[1], &e) || e != 3.0f) return -1;
        nodes[(*nn)++] = n;
        return g->nodes[n].inputs[0];
    }
    if ((n = zn_pass_single_producer(c, p, ZN_OP_MUL)) < 0) return -1;
    const zn_node *m = &g->nodes[n];
    for (int side = 0; side < 2; side++) {
        int sq = zn_pass_single_producer(c, m->inputs[side], ZN_OP_MUL);
        int x = m->inputs[1 - side];
        if (sq >= 0 && g->nodes[sq].inputs[0] == x && g->nodes[sq].inputs[1] == x) {
            nodes[(*nn)++] = n;
            nodes[(*nn)++] = sq;
            return x;
        }
    }
    return -1;
}

static int match_gelu_tanh(zn_pass_ctx *c, int th, int *nodes, int *nn, int *x) {
    const zn_graph *g = c->g;
    int m2 = zn_pass_single_producer(c, g->nodes[th].inputs[0], ZN_OP_MUL);
    if (m2 < 0) return -1;
    int a1t = scaled_input(g, &g->nodes[m2], 0.7978845608f, 1e-3f);
    int a1 = zn_pass_single_producer(c, a1t, ZN_OP_ADD);
    if (a1 < 0) return -1;
    nodes[(*nn)++] = th;
    nodes[(*nn)++] = m2;
    nodes[(*nn)++] = a1;
    for (int side = 0; side < 2; side++) {
        int cand = g->nodes[a1].inputs[side];
        int m1 = zn_pass_single_producer(c, g->nodes[a1].inputs[1 - side], ZN_OP_MUL);
        if (m1 < 0) continue;
        int p = scaled_input(g, &g->nodes[m1], 0.044715f, 1e-3f);
        int save = *nn;
        nodes[(*nn)++] = m1;
        if (p >= 0 && cube_of(c, p, nodes, nn) == cand) {
            *x = cand;
            return gelu_tail(c, cand, g->nodes[th].outputs[0], nodes, nn);
        }
        *nn = save;
    }
    return -1;
}

int zn_pass_gelu(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    int fused[2] = {0, 0};
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead || (n->op != ZN_OP_ERF && n->op != ZN_OP_TANH)) continue;
        int nodes[16], nn = 0, x = -1;
        bool tanh_form = n->op == ZN_OP_TANH;
        int last = tanh_form ? match_gelu_tanh(c, i, nodes, &nn, &x) : match_gelu_erf(c, i, nodes, &nn, &x);
        if (last < 0 || x < 0 || g->tensors[x].dtype != ZN_F32) continue;
        if (!zn_pass_same_shape(g, g->nodes[last].outputs[0], x)) continue;
        for (int k = 0; k < nn; k++)
            if (nodes[k] != last) g->nodes[nodes[k]].dead = true;
        if (zn_pass_rewrite(g, last, ZN_OP_GELU, 1, &x) != ZN_OK) return -1;
        if (tanh_form && zn_graph_set_attr_string(g, last, "approximate", "tanh") != ZN_OK) return -1;
        fused[tanh_form]++;
        /* consumer lists are stale around the rewritten nodes; later matches only read others */
    }
    c->fused[ZN_OP_GELU] += fused[0] + fused[1];
    snprintf(c->detail, sizeof c->detail, "%d GELU pattern%s fused (%d erf, %d tanh)",
             fused[0] + fused[1], fused[0] + fused[1] == 1 ? "" : "s", fused[0], fused[1]);
    return fused[0] + fused[1];
}

/* ============================== Add + LayerNorm ======================================== */

int zn_pass_add_layernorm(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    int fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *ln = &g->nodes[i];
        if (ln->dead || ln->op != ZN_OP_LAYER_NORM) continue;
        bool extra = false; /* Mean / InvStdDev outputs in use */
        for (int k = 1; k < ln->n_outputs; k++)
            extra |= c->uses[ln->outputs[k]] > 0 || zn_pass_is_output(g, ln->outputs[k]);
        if (extra) continue;
        int s = ln->inputs[0];
        int a = zn_pass_producer(c, s);
        if (a < 0 || g->nodes[a].op != ZN_OP_ADD) continue;
        const zn_node *add = &g->nodes[a];
        if (g->tensors[add->inputs[0]].dtype != ZN_F32 || g->tensors[add->inputs[1]].dtype != ZN_F32)
            continue;
        bool keep_sum = c->uses[s] > 1 || zn_pass_is_output(g, s);
        int y = ln->outputs[0];
        int in[4] = {add->inputs[0], add->inputs[1], ln->inputs[1],
                     ln->n_inputs > 2 ? ln->inputs[2] : -1};
        int64_t axis = zn_attrs_int(ln->attrs, ln->n_attrs, "axis", -1);
        float eps = zn_attrs_float(ln->attrs, ln->n_attrs, "epsilon", 1e-5f);
        g->nodes[a].dead = true;
        if (zn_pass_rewrite(g, i, ZN_OP_ADD_LAYER_NORM, in[3] >= 0 ? 4 : 3, in) != ZN_OK) return -1;
        ln = &g->nodes[i];
        int *outs = realloc(ln->outputs, sizeof(int) * 2);
        if (!outs) {
            zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory fusing Add + LayerNorm");
            return -1;
        }
        ln->outputs = outs;
        ln->outputs[0] = y;
        ln->n_outputs = 1;
        if (keep_sum) {
            ln->outputs[1] = s;
            ln->n_outputs = 2;
            g->tensors[s].producer = i;
        }
        if (zn_graph_set_attr_int(g, i, "axis", axis) != ZN_OK ||
            zn_graph_set_attr_float(g, i, "epsilon", eps) != ZN_OK)
            return -1;
        fused++;
    }
    c->fused[ZN_OP_ADD_LAYER_NORM] += fused;
    snprintf(c->detail, sizeof c->detail, "%d residual Add + LayerNorm pair%s fused", fused,
             fused == 1 ? "" : "s");
    return fused;
}
