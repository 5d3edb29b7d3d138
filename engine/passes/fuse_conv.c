/* fuse_conv.c — convolution passes:
 *
 *   Conv(X, W[, b]) -> BatchNormalization(scale, B, mean, var)   (inference, constants)
 *   => Conv(X, W * a, (b - mean) * a + B)  with a = scale / sqrt(var + eps), per out channel
 *
 *   Conv(X, W[, b]) [-> Add(residual)] [-> Relu]
 *   => ZnConv(X, W, b, residual; Conv's attributes, activation)   y = act(conv + b + residual)
 *
 * The folded weights are new constants computed in double; the originals go when nothing
 * else reads them. Not here: BatchNorm before a Conv, BN after a Conv with non-constant
 * weights, activations other than ReLU.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static bool const_f32(const zn_graph *g, int t, int64_t numel) {
    return zn_pass_is_const(g, t) && g->tensors[t].dtype == ZN_F32 &&
           (numel < 0 || zn_shape_numel(&g->tensors[t].shape) == numel);
}

static int fold_bn(zn_pass_ctx *c, int bi) {
    zn_graph *g = c->g;
    const zn_node *bn = &g->nodes[bi];
    if (bn->n_inputs != 5 || zn_attrs_int(bn->attrs, bn->n_attrs, "training_mode", 0) != 0) return 0;
    for (int k = 1; k < bn->n_outputs; k++)
        if (c->uses[bn->outputs[k]] || zn_pass_is_output(g, bn->outputs[k])) return 0;
    int ci = zn_pass_single_producer(c, bn->inputs[0], ZN_OP_CONV);
    if (ci < 0) return 0;
    const zn_node *conv = &g->nodes[ci];
    int W = conv->inputs[1], b = conv->n_inputs > 2 ? conv->inputs[2] : -1;
    if (!const_f32(g, W, -1) || g->tensors[W].shape.rank < 3) return 0;
    int64_t Co = g->tensors[W].shape.dims[0].value;
    if (b >= 0 && !const_f32(g, b, Co)) return 0;
    for (int k = 1; k < 5; k++)
        if (!const_f32(g, bn->inputs[k], Co)) return 0;
    double eps = zn_attrs_float(bn->attrs, bn->n_attrs, "epsilon", 1e-5f);
    int64_t per = zn_shape_numel(&g->tensors[W].shape) / (Co ? Co : 1);
    float *nw = malloc(sizeof(float) * (size_t)(Co * per > 0 ? Co * per : 1));
    float *nb = malloc(sizeof(float) * (size_t)(Co ? Co : 1));
    if (!nw || !nb) {
        free(nw);
        free(nb);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory folding BatchNorm '%s'", bn->name);
        return -1;
    }
    const float *w = g->tensors[W].data, *bias = b >= 0 ? g->tensors[b].data : NULL;
    const float *sc = g->tensors[bn->inputs[1]].data, *sh = g->tensors[bn->inputs[2]].data;
    const float *mu = g->tensors[bn->inputs[3]].data, *var = g->tensors[bn->inputs[4]].data;
    for (int64_t o = 0; o < Co; o++) {
        double a = (double)sc[o] / sqrt((double)var[o] + eps);
        for (int64_t i = 0; i < per; i++) nw[o * per + i] = (float)((double)w[o * per + i] * a);
        nb[o] = (float)(((bias ? (double)bias[o] : 0.0) - (double)mu[o]) * a + (double)sh[o]);
    }
    int64_t wd[ZN_MAX_RANK];
    int wr = g->tensors[W].shape.rank;
    for (int d = 0; d < wr; d++) wd[d] = g->tensors[W].shape.dims[d].value;
    char nm[ZN_MAX_NAME + 16];
    snprintf(nm, sizeof nm, "%s.weight_folded", conv->name);
    int tw = zn_pass_new_const(g, nm, ZN_F32, wr, wd, nw);
    snprintf(nm, sizeof nm, "%s.bias_folded", g->nodes[ci].name);
    int tb = tw < 0 ? -1 : zn_pass_new_const(g, nm, ZN_F32, 1, &Co, nb);
    free(nw);
    free(nb);
    if (tw < 0 || tb < 0) return -1;
    /* the BN node becomes the Conv (it keeps the output tensor), the Conv dies */
    zn_attr *attrs = NULL;
    conv = &g->nodes[ci];
    if (zn_attrs_copy(&attrs, conv->attrs, conv->n_attrs) != ZN_OK) return -1;
    int n_attrs = conv->n_attrs;
    int in[3] = {conv->inputs[0], tw, tb};
    char *name = strdup(conv->name);
    g->nodes[ci].dead = true;
    if (zn_pass_rewrite(g, bi, ZN_OP_CONV, 3, in) != ZN_OK) {
        zn_attrs_free(attrs, n_attrs);
        free(name);
        return -1;
    }
    zn_node *n = &g->nodes[bi];
    n->attrs = attrs;
    n->n_attrs = n_attrs;
    n->n_outputs = 1;
    if (name) {
        free(n->name);
        n->name = name;
    }
    return 1;
}

int zn_pass_conv_bn(zn_pass_ctx *c) {
    int folded = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->g->nodes[i].dead || c->g->nodes[i].op != ZN_OP_BATCH_NORM) continue;
        int r = fold_bn(c, i);
        if (r < 0) return -1;
        folded += r;
    }
    c->fused[ZN_OP_CONV] += folded;
    snprintf(c->detail, sizeof c->detail, "%d BatchNormalization%s folded into the preceding Conv",
             folded, folded == 1 ? "" : "s");
    return folded;
}

static int fuse_conv(zn_pass_ctx *c, int ci) {
    zn_graph *g = c->g;
    const zn_node *conv = &g->nodes[ci];
    if (g->tensors[conv->inputs[0]].dtype != ZN_F32) return 0;
    int cur = conv->outputs[0], res = -1, last = ci, other;
    int nodes[3] = {ci, -1, -1}, nn = 1;
    int n = zn_pass_sole_consumer(c, cur);
    if (n >= 0 && g->nodes[n].op == ZN_OP_ADD && (other = zn_pass_other_input(&g->nodes[n], cur)) >= 0 &&
        other != cur && g->tensors[other].dtype == ZN_F32 && zn_pass_same_shape(g, other, cur) &&
        zn_pass_same_shape(g, g->nodes[n].outputs[0], cur)) {
        res = other;
        nodes[nn++] = last = n;
        cur = g->nodes[n].outputs[0];
        n = zn_pass_sole_consumer(c, cur);
    }
    bool relu = n >= 0 && g->nodes[n].op == ZN_OP_RELU;
    if (relu) nodes[nn++] = last = n;
    if (last == ci) return 0;
    zn_attr *attrs = NULL;
    if (zn_attrs_copy(&attrs, conv->attrs, conv->n_attrs) != ZN_OK) return -1;
    int n_attrs = conv->n_attrs;
    int in[4] = {conv->inputs[0], conv->inputs[1], conv->n_inputs > 2 ? conv->inputs[2] : -1, res};
    int n_in = res >= 0 ? 4 : in[2] >= 0 ? 3 : 2;
    char *name = strdup(conv->name);
    zn_pass_kill(g, nn, nodes);
    g->nodes[last].dead = false;
    if (zn_pass_rewrite(g, last, ZN_OP_CONV_FUSED, n_in, in) != ZN_OK) {
        zn_attrs_free(attrs, n_attrs);
        free(name);
        return -1;
    }
    zn_node *f = &g->nodes[last];
    f->attrs = attrs;
    f->n_attrs = n_attrs;
    if (name) {
        free(f->name);
        f->name = name;
    }
    if (zn_graph_set_attr_string(g, last, "activation", relu ? "relu" : "none") != ZN_OK) return -1;
    return 1;
}

int zn_pass_conv(zn_pass_ctx *c) {
    int fused = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->g->nodes[i].dead || c->g->nodes[i].op != ZN_OP_CONV) continue;
        int r = fuse_conv(c, i);
        if (r < 0) return -1;
        fused += r;
    }
    c->fused[ZN_OP_CONV_FUSED] += fused;
    snprintf(c->detail, sizeof c->detail, "%d Conv%s fused with their residual Add / ReLU", fused,
             fused == 1 ? "" : "s");
    return fused;
}
