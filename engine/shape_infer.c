/* shape_infer.c — graph-wide dtype/shape inference, constant folding, FLOPs and parameters.
 *
 * Inference walks the nodes in topological order and asks the op's group (infer_*.c) for the
 * output dtypes and shapes; every input dim must be concrete by then (bind symbolic dims
 * first). With folding on, a node whose inputs are all constants is evaluated right away with
 * its reference kernel and its outputs become constants: this is what turns the exporters'
 * shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Range, ConstantOfShape)
 * into static shapes, and it is the constant-folding pass's engine as well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/registry.h"
#include "alloc.h"
#include "graph.h"
#include "infer.h"
#include "log.h"

/* Folding a node whose output is larger than this would bloat the weights; leave it to run. */
#define ZN_MAX_FOLD_ELEMENTS (INT64_C(64) << 20)

zn_status zn_infer_node(const zn_kernel_node *n, zn_view *out) {
    switch (n->op) {
    case ZN_OP_MATMUL: case ZN_OP_GEMM:
        return zn_infer_linalg(n, out);
    case ZN_OP_CONV: case ZN_OP_MAX_POOL: case ZN_OP_AVERAGE_POOL: case ZN_OP_GLOBAL_AVERAGE_POOL:
        return zn_infer_conv(n, out);
    case ZN_OP_REDUCE_MEAN: case ZN_OP_REDUCE_SUM: case ZN_OP_REDUCE_MAX: case ZN_OP_REDUCE_MIN:
    case ZN_OP_REDUCE_PROD: case ZN_OP_ARG_MAX: case ZN_OP_SOFTMAX:
        return zn_infer_reduce(n, out);
    case ZN_OP_LAYER_NORM: case ZN_OP_BATCH_NORM: case ZN_OP_ADD_LAYER_NORM: case ZN_OP_ADD_RELU:
    case ZN_OP_BIAS_RELU: case ZN_OP_BIAS_GELU:
        return zn_infer_norm(n, out);
    case ZN_OP_RESHAPE: case ZN_OP_TRANSPOSE: case ZN_OP_FLATTEN: case ZN_OP_CONCAT: case ZN_OP_SPLIT:
    case ZN_OP_SLICE: case ZN_OP_GATHER: case ZN_OP_SQUEEZE: case ZN_OP_UNSQUEEZE: case ZN_OP_EXPAND:
    case ZN_OP_TILE: case ZN_OP_PAD: case ZN_OP_TRILU: case ZN_OP_IDENTITY: case ZN_OP_DROPOUT: case ZN_OP_COPY:
    case ZN_OP_CONSTANT: case ZN_OP_SHAPE: case ZN_OP_CONSTANT_OF_SHAPE: case ZN_OP_RANGE:
        return zn_infer_shape_ops(n, out);
    case ZN_OP_LINEAR: case ZN_OP_ATTENTION: case ZN_OP_CONV_FUSED:
        return zn_infer_fused(n, out);
    default:
        return zn_infer_elementwise(n, out);
    }
}

static zn_status unbound_error(const zn_graph *g, const zn_node *n, int k, const zn_tensor *t) {
    char sh[128];
    zn_shape_format(g, &t->shape, sh, sizeof sh);
    const char *sym = "?";
    for (int d = 0; d < t->shape.rank; d++)
        if (t->shape.dims[d].value < 0 && t->shape.dims[d].sym >= 0)
            sym = zn_graph_symbol_name(g, t->shape.dims[d].sym);
    zn_error_set(ZN_ERR_SHAPE, "node '%s' (%s): input %d '%s' has shape %s with unbound dims",
                 n->name, zn_op_name(n->op), k, t->name, sh);
    if (strcmp(sym, "?") != 0)
        zn_error_hint("bind the symbolic dim '%s' with --shape INPUT:dims or --batch N", sym);
    else
        zn_error_hint("bind every input's dims with --shape INPUT:1x128");
    return ZN_ERR_SHAPE;
}

/* Runs a node's reference kernel on constant inputs and turns its outputs into constants. */
static zn_status fold_node(zn_graph *g, int ni, zn_view *views) {
    zn_node *n = &g->nodes[ni];
    const zn_kernel_spec *k = zn_registry_reference(n->op);
    if (!k) return ZN_OK; /* nothing to fold with; it will run */
    zn_kernel_node kn;
    zn_graph_kernel_node(g, n, views, &kn);
    for (int o = 0; o < n->n_outputs; o++) {
        int64_t numel = zn_view_numel(&views[n->n_inputs + o]);
        if (numel > ZN_MAX_FOLD_ELEMENTS) return ZN_OK;
    }
    if (k->supports && !k->supports(&kn)) return ZN_OK;
    zn_kernel_prep prep = {0};
    void *scratch = NULL;
    void *outs[64] = {0};
    zn_status st = ZN_OK;
    if (n->n_outputs > 64) return ZN_OK;
    if (k->prepare && (st = k->prepare(&kn, &prep)) != ZN_OK) return st;
    if (prep.scratch_bytes && !(scratch = zn_aligned_alloc(prep.scratch_bytes))) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory folding '%s'", n->name);
        goto done;
    }
    zn_view *ov = views + n->n_inputs;
    for (int o = 0; o < n->n_outputs; o++) {
        size_t bytes = zn_view_bytes(&ov[o]);
        outs[o] = zn_aligned_alloc(bytes ? bytes : 1);
        if (!outs[o]) {
            st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory folding '%s'", n->name);
            goto done;
        }
        ov[o].data = outs[o];
    }
    zn_exec_ctx ctx = {&kn, n->n_inputs, views, n->n_outputs, ov, prep.state, scratch, NULL, NULL};
    if ((st = k->run(&ctx)) != ZN_OK) goto done;
    for (int o = 0; o < n->n_outputs; o++) {
        zn_tensor *t = &g->tensors[n->outputs[o]];
        t->data = outs[o];
        outs[o] = NULL;
        t->flags |= ZN_TENSOR_CONST;
        t->producer = -1;
    }
    n->dead = true;
done:
    for (int o = 0; o < n->n_outputs; o++) zn_free(outs[o]);
    zn_free(scratch);
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

zn_status zn_graph_infer_shapes(zn_graph *g, bool fold) {
    zn_view views[ZN_MAX_RANK * 20 + 200];
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->n_inputs + n->n_outputs > (int)(sizeof views / sizeof views[0]))
            return zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' has too many inputs and outputs", n->name);
        bool all_const = true;
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] < 0) continue;
            const zn_tensor *t = &g->tensors[n->inputs[k]];
            if (!zn_shape_is_concrete(&t->shape) || !zn_dtype_valid(t->dtype)) {
                zn_status st = unbound_error(g, n, k, t);
                char shapes[256];
                zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
                zn_error_set_node(n->name, zn_op_name(n->op), shapes);
                return st;
            }
            if (!(t->flags & ZN_TENSOR_CONST)) all_const = false;
        }
        zn_kernel_node kn;
        zn_graph_kernel_node(g, n, views, &kn);
        zn_view *out = views + n->n_inputs;
        for (int o = 0; o < n->n_outputs; o++) memset(&out[o], 0, sizeof out[o]);
        zn_status st = zn_infer_node(&kn, out);
        if (st != ZN_OK) {
            char shapes[256];
            zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
            zn_error_set_node(n->name, zn_op_name(n->op), shapes);
            return st;
        }
        for (int o = 0; o < n->n_outputs; o++) {
            zn_tensor *t = &g->tensors[n->outputs[o]];
            t->dtype = out[o].dtype;
            t->shape = zn_shape_make(out[o].rank, out[o].dims);
        }
        /* Shape reads only its input's (now concrete) dims, so it folds whatever the data */
        if (fold && (all_const || n->op == ZN_OP_SHAPE)) {
            /* views were built before the outputs had shapes: rebuild them */
            zn_graph_kernel_node(g, n, views, &kn);
            if ((st = fold_node(g, i, views)) != ZN_OK) {
                char shapes[256];
                zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
                zn_error_set_node(n->name, zn_op_name(n->op), shapes);
                return st;
            }
            folded += n->dead;
        }
    }
    if (folded) {
        ZN_LOGD("infer", "folded %d constant nodes", folded);
        zn_graph_compact(g);
    }
    return ZN_OK;
}

/* ---- statistics ------------------------------------------------------------------------------ */

double zn_node_flops(const zn_graph *g, const zn_node *n) {
    if (n->n_outputs < 1) return 0;
    const zn_tensor *y = &g->tensors[n->outputs[0]];
    if (y->dtype == ZN_DTYPE_UNDEFINED) return -1; /* shapes not inferred yet */
    double out = (double)zn_shape_numel(&y->shape);
    if (out < 0) return -1;
    const zn_shape *a = n->n_inputs > 0 && n->inputs[0] >= 0 ? &g->tensors[n->inputs[0]].shape : NULL;
    const zn_shape *b = n->n_inputs > 1 && n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]].shape : NULL;
    switch (n->op) {
    case ZN_OP_MATMUL:
        return a && a->rank ? 2.0 * out * (double)a->dims[a->rank - 1].value : 0;
    case ZN_OP_GEMM: {
        int64_t ta = zn_attrs_int(n->attrs, n->n_attrs, "transA", 0);
        return a && a->rank == 2 ? 2.0 * out * (double)a->dims[ta ? 0 : 1].value : 0;
    }
    case ZN_OP_LINEAR: /* X (..., K) */
        return a && a->rank ? 2.0 * out * (double)a->dims[a->rank - 1].value : 0;
    case ZN_OP_ATTENTION: { /* Q (B,Sq,H*D), K (B,Sk,H*D), V (B,Sk,H*Dv): QK^T, softmax, PV */
        const zn_shape *v = n->n_inputs > 2 && n->inputs[2] >= 0 ? &g->tensors[n->inputs[2]].shape : NULL;
        if (!a || !b || !v || a->rank != 3 || b->rank != 3 || v->rank != 3) return 0;
        double H = (double)zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 1);
        double scores = (double)a->dims[0].value * H * (double)a->dims[1].value * (double)b->dims[1].value;
        return scores * (2.0 * (double)a->dims[2].value / H + 2.0 * (double)v->dims[2].value / H + 5.0);
    }
    case ZN_OP_CONV: case ZN_OP_CONV_FUSED: {
        if (!b || b->rank < 3) return 0;
        double k = (double)b->dims[1].value; /* C_in / group */
        for (int d = 2; d < b->rank; d++) k *= (double)b->dims[d].value;
        return 2.0 * out * k;
    }
    case ZN_OP_MAX_POOL: case ZN_OP_AVERAGE_POOL: {
        int64_t ks[ZN_MAX_RANK];
        int nk = zn_attrs_ints(n->attrs, n->n_attrs, "kernel_shape", ks, ZN_MAX_RANK);
        double k = 1;
        for (int d = 0; d < nk; d++) k *= (double)ks[d];
        return out * k;
    }
    case ZN_OP_GLOBAL_AVERAGE_POOL:
        return a ? (double)zn_shape_numel(a) : 0;
    case ZN_OP_SOFTMAX: case ZN_OP_LAYER_NORM: case ZN_OP_ADD_LAYER_NORM: case ZN_OP_BATCH_NORM:
        return 5.0 * out;
    case ZN_OP_GELU: case ZN_OP_BIAS_GELU: case ZN_OP_ERF:
        return 8.0 * out;
    case ZN_OP_RESHAPE: case ZN_OP_TRANSPOSE: case ZN_OP_FLATTEN: case ZN_OP_CONCAT: case ZN_OP_SPLIT:
    case ZN_OP_SLICE: case ZN_OP_GATHER: case ZN_OP_SQUEEZE: case ZN_OP_UNSQUEEZE: case ZN_OP_EXPAND:
    case ZN_OP_TILE: case ZN_OP_PAD: case ZN_OP_CAST: case ZN_OP_IDENTITY: case ZN_OP_DROPOUT: case ZN_OP_COPY:
    case ZN_OP_CONSTANT: case ZN_OP_SHAPE: case ZN_OP_CONSTANT_OF_SHAPE: case ZN_OP_RANGE: case ZN_OP_TRILU:
        return 0;
    case ZN_OP_REDUCE_MEAN: case ZN_OP_REDUCE_SUM: case ZN_OP_REDUCE_MAX: case ZN_OP_REDUCE_MIN:
    case ZN_OP_REDUCE_PROD: case ZN_OP_ARG_MAX:
        return a ? (double)zn_shape_numel(a) : 0;
    default:
        return out;
    }
}

zn_status zn_graph_get_stats(const zn_graph *g, zn_graph_stats *s) {
    memset(s, 0, sizeof *s);
    for (int t = 0; t < g->n_tensors; t++) {
        const zn_tensor *x = &g->tensors[t];
        if (!(x->flags & ZN_TENSOR_CONST) || !zn_dtype_is_float(x->dtype)) continue;
        int64_t n = zn_shape_numel(&x->shape);
        s->params += n;
        s->param_bytes += n * (int64_t)zn_dtype_size(x->dtype);
    }
    bool concrete = true;
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        s->nodes++;
        s->node_count_by_op[n->op]++;
        double f = zn_node_flops(g, n);
        if (f < 0) concrete = false;
        else s->flops += f;
    }
    if (!concrete) s->flops = -1;
    return ZN_OK;
}
