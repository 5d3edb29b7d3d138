/* fuse_linear.c — linear layers with their epilogue, and weight prepacking:
 *
 *   MatMul(X, W) [-> Add(bias)] [-> Add(residual)] [-> Relu | Gelu]
 *   Gemm(X, W, bias; alpha 1, beta 1, transA 0) [-> Add(residual)] [-> Relu | Gelu]
 *   => ZnLinear(X, W, bias, residual; transB, activation)   y = act(X W + bias + residual)
 *
 * W must be 2-D, bias hold one value per output column, the residual have the output's exact
 * shape. A Gemm with nothing to fuse stays a Gemm. Prepacking turns a constant W stored
 * (N, K) (transB = 1, torch.nn.Linear as exported) into a (K, N) copy at compile time so the
 * GEMM streams rows of W; kernels may pack further in their prepare(). Not here: MatMul with
 * batched (rank > 2) weights, Gemm with transA or alpha/beta other than 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static int64_t last_dim(const zn_graph *g, int t) {
    const zn_shape *s = &g->tensors[t].shape;
    return s->rank ? s->dims[s->rank - 1].value : -1;
}

/* A bias: f32, N values along the last dim with leading dims 1. */
static bool bias_ok(const zn_graph *g, int b, int64_t N) {
    const zn_tensor *t = &g->tensors[b];
    if (t->dtype != ZN_F32 || zn_shape_numel(&t->shape) != N || t->shape.rank < 1) return false;
    return t->shape.dims[t->shape.rank - 1].value == N;
}

static int match_linear(zn_pass_ctx *c, int anchor) {
    zn_graph *g = c->g;
    const zn_node *a = &g->nodes[anchor];
    int X = a->inputs[0], W = a->inputs[1], bias = -1, res = -1;
    if (g->tensors[X].dtype != ZN_F32 || g->tensors[W].dtype != ZN_F32) return 0;
    if (g->tensors[W].shape.rank != 2 || g->tensors[X].shape.rank < 1) return 0;
    int64_t transB = 0;
    if (a->op == ZN_OP_GEMM) {
        if (zn_attrs_int(a->attrs, a->n_attrs, "transA", 0) != 0) return 0;
        if (zn_attrs_float(a->attrs, a->n_attrs, "alpha", 1.0f) != 1.0f) return 0;
        if (g->tensors[X].shape.rank != 2) return 0;
        transB = zn_attrs_int(a->attrs, a->n_attrs, "transB", 0) != 0;
        if (a->n_inputs > 2 && a->inputs[2] >= 0) {
            if (zn_attrs_float(a->attrs, a->n_attrs, "beta", 1.0f) != 1.0f) return 0;
            bias = a->inputs[2];
        }
    }
    int y = a->outputs[0];
    int64_t N = last_dim(g, y);
    if (bias >= 0 && !bias_ok(g, bias, N)) return 0;
    int nodes[4] = {anchor, -1, -1, -1}, nn = 1, last = anchor, other;
    int cur = y;
    int n = zn_pass_sole_consumer(c, cur);
    if (a->op == ZN_OP_MATMUL && n >= 0 && g->nodes[n].op == ZN_OP_ADD &&
        (other = zn_pass_other_input(&g->nodes[n], cur)) >= 0 && other != cur && bias_ok(g, other, N) &&
        zn_pass_same_shape(g, g->nodes[n].outputs[0], cur)) {
        bias = other;
        nodes[nn++] = last = n;
        cur = g->nodes[n].outputs[0];
        n = zn_pass_sole_consumer(c, cur);
    }
    if (n >= 0 && g->nodes[n].op == ZN_OP_ADD && (other = zn_pass_other_input(&g->nodes[n], cur)) >= 0 &&
        other != cur && g->tensors[other].dtype == ZN_F32 && zn_pass_same_shape(g, other, cur) &&
        zn_pass_same_shape(g, g->nodes[n].outputs[0], cur)) {
        res = other;
        nodes[nn++] = last = n;
        cur = g->nodes[n].outputs[0];
        n = zn_pass_sole_consumer(c, cur);
    }
    const char *act = "none";
    if (n >= 0 && g->nodes[n].op == ZN_OP_RELU) act = "relu";
    else if (n >= 0 && g->nodes[n].op == ZN_OP_GELU) {
        const zn_node *ge = &g->nodes[n];
        const char *ap = zn_attrs_string(ge->attrs, ge->n_attrs, "approximate", "none");
        act = strcmp(ap, "tanh") == 0 ? "gelu_tanh" : strcmp(ap, "none") == 0 ? "gelu" : "none";
    }
    if (strcmp(act, "none") != 0) nodes[nn++] = last = n;
    if (last == anchor) return 0; /* nothing to fuse */
    if (a->op == ZN_OP_GEMM && res < 0 && strcmp(act, "none") == 0) return 0;
    int in[4] = {X, W, bias, res};
    int n_in = res >= 0 ? 4 : bias >= 0 ? 3 : 2;
    char name[ZN_MAX_NAME];
    snprintf(name, sizeof name, "%s", g->nodes[anchor].name);
    zn_pass_kill(g, nn, nodes);
    g->nodes[last].dead = false;
    if (zn_pass_rewrite(g, last, ZN_OP_LINEAR, n_in, in) != ZN_OK) return -1;
    char *nm = strdup(name);
    if (nm) {
        free(g->nodes[last].name);
        g->nodes[last].name = nm;
    }
    if (zn_graph_set_attr_int(g, last, "transB", transB) != ZN_OK ||
        zn_graph_set_attr_string(g, last, "activation", act) != ZN_OK)
        return -1;
    return 1;
}

int zn_pass_linear(zn_pass_ctx *c) {
    int fused = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        const zn_node *n = &c->g->nodes[i];
        if (n->dead || (n->op != ZN_OP_MATMUL && n->op != ZN_OP_GEMM)) continue;
        int r = match_linear(c, i);
        if (r < 0) return -1;
        fused += r;
    }
    c->fused[ZN_OP_LINEAR] += fused;
    snprintf(c->detail, sizeof c->detail, "%d linear layer%s fused with their bias/residual/activation",
             fused, fused == 1 ? "" : "s");
    return fused;
}

/* ---- prepacking ----------------------------------------------------------------------------- */

int zn_pass_prepack(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    int packed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead || (n->op != ZN_OP_LINEAR && n->op != ZN_OP_GEMM)) continue;
        if (zn_attrs_int(n->attrs, n->n_attrs, "transB", 0) == 0) continue;
        int W = n->inputs[1];
        if (!zn_pass_is_const(g, W) || g->tensors[W].dtype != ZN_F32 || g->tensors[W].shape.rank != 2) continue;
        int64_t N = g->tensors[W].shape.dims[0].value, K = g->tensors[W].shape.dims[1].value;
        float *t = malloc(sizeof(float) * (size_t)(N * K > 0 ? N * K : 1));
        if (!t) {
            zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory prepacking the weights of '%s'", n->name);
            return -1;
        }
        const float *w = g->tensors[W].data; /* (N, K) -> t: (K, N) */
        for (int64_t r = 0; r < N; r++)
            for (int64_t k = 0; k < K; k++) t[k * N + r] = w[r * K + k];
        char nm[ZN_MAX_NAME + 16];
        snprintf(nm, sizeof nm, "%s.packed", g->tensors[W].name);
        int64_t dims[2] = {K, N};
        int nw = zn_pass_new_const(g, nm, ZN_F32, 2, dims, t);
        free(t);
        if (nw < 0) return -1;
        n = &g->nodes[i];
        n->inputs[1] = nw;
        if (zn_graph_set_attr_int(g, i, "transB", 0) != ZN_OK) return -1;
        packed++;
    }
    snprintf(c->detail, sizeof c->detail, "%d weight matri%s transposed to (K, N) at compile time", packed,
             packed == 1 ? "x" : "ces");
    return packed;
}
