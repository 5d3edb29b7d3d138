/* device_passes.c — the two rewrites a CUDA plan needs after the optimisation passes:
 *
 * 1. Precision lowering (--precision fp16|bf16). Every f32 tensor becomes the half type:
 *    float constants are converted once here (round to nearest even), each f32 graph input
 *    gets a Cast to half after it, each f32 graph output a Cast back to f32 before it (so the
 *    caller's buffers stay f32), and Cast(to=f32) nodes inside the graph are retargeted. Kernels
 *    read and write half and accumulate in fp32. A node that no device kernel computes in half
 *    is wrapped: its half inputs are cast to f32 and its outputs cast back, so it runs in f32
 *    (on the device, or on the CPU after placement).
 * 2. Placement. Each node runs on the device when a device kernel accepts it, else on the host
 *    (a CPU fallback). Graph inputs live on the device; a node's outputs live where it runs.
 *    Wherever a node reads a tensor that lives in the other space, a ZnCopy node is inserted
 *    (one per tensor and direction, shared by all readers), so every transfer is a visible step
 *    that the compile summary counts and the profiler times. Constants need no copy: the plan
 *    keeps them on both sides as needed.
 *
 * Which nodes have device kernels is a predicate the caller passes (compile.c asks the
 * registry), so these rewrites are tested on the CPU with made-up predicates.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../plan.h"
#include "passes.h"

static bool is_half(zn_dtype t) { return t == ZN_F16 || t == ZN_BF16; }

/* settle the graph after a rewrite: topological order, shapes and dtypes */
static zn_status settle(zn_graph *g) {
    zn_status st = zn_graph_validate(g);
    if (st != ZN_OK) return st;
    return zn_graph_infer_shapes(g, false);
}

/* A Cast node reading tensor `from`; returns the node id (its output is a new tensor). */
static int add_cast(zn_graph *g, int from, zn_dtype to, const char *tag) {
    char name[ZN_MAX_NAME + 32];
    snprintf(name, sizeof name, "%s/%s_%s", g->tensors[from].name, tag, zn_dtype_name(to));
    int out;
    int id = zn_graph_add_node(g, ZN_OP_CAST, name, 1, &from, 1, NULL, &out);
    if (id < 0) return -1;
    if (zn_graph_set_attr_int(g, id, "to", to) != ZN_OK) return -1;
    return id;
}

/* Node `id`'s output k is redirected to a fresh tensor; a Cast(to) from it writes the original
 * tensor, which keeps its id, name and flags (graph outputs stay outputs, consumers keep
 * reading it). Returns the Cast's node id or -1. */
static int cast_after(zn_graph *g, int id, int k, zn_dtype to, const char *tag) {
    int orig = g->nodes[id].outputs[k];
    int c = add_cast(g, orig, to, tag);
    if (c < 0) return -1;
    int fresh = g->nodes[c].outputs[0];
    g->nodes[id].outputs[k] = fresh;
    g->tensors[fresh].producer = id;
    g->nodes[c].inputs[0] = fresh;
    g->nodes[c].outputs[0] = orig;
    g->tensors[orig].producer = c;
    return c;
}

/* f32 -> half, finite values kept finite: fp16 tops out at 65504 (and FLT_MAX rounds to inf
 * even in bf16), and exporters write masks as (1 - mask) * finfo(f32).min, which would turn
 * into -inf and then NaN (0 * -inf). Clamping to the largest finite value is what ONNX
 * Runtime's float16 converter does too. */
static uint16_t to_half(float v, zn_dtype dt, int *clamped) {
    uint16_t h = dt == ZN_F16 ? zn_f32_to_f16(v) : zn_f32_to_bf16(v);
    float back = dt == ZN_F16 ? zn_f16_to_f32(h) : zn_bf16_to_f32(h);
    if (isfinite(v) && isinf(back)) {
        (*clamped)++;
        uint16_t max = dt == ZN_F16 ? 0x7BFF : 0x7F7F; /* largest finite magnitude */
        h = (uint16_t)(v < 0 ? max | 0x8000 : max);
    }
    return h;
}

/* n f32 values as a new half buffer (zn_free); NULL when out of memory. */
static uint16_t *to_half_buffer(const float *f, int64_t n, zn_dtype dt, int *clamped) {
    uint16_t *h = zn_aligned_alloc(sizeof(uint16_t) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; h && i < n; i++) h[i] = to_half(f[i], dt, clamped);
    return h;
}

static zn_status convert_const(zn_tensor *t, zn_dtype dt, int *clamped) {
    uint16_t *h = to_half_buffer(t->data, zn_shape_numel(&t->shape), dt, clamped);
    if (!h) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory converting '%s' to %s", t->name, zn_dtype_name(dt));
    zn_free(t->data);
    t->data = h;
    t->dtype = dt;
    return ZN_OK;
}

static zn_status convert_attr_tensor(zn_attr_tensor *at, zn_dtype dt, int *clamped) {
    int64_t n = 1;
    for (int d = 0; d < at->rank; d++) n *= at->dims[d];
    uint16_t *h = to_half_buffer(at->data, n, dt, clamped);
    if (!h) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory lowering an attribute to %s", zn_dtype_name(dt));
    zn_free(at->data);
    at->data = h;
    at->dtype = dt;
    return ZN_OK;
}

static bool touches_half(const zn_graph *g, const zn_node *n) {
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && is_half(g->tensors[n->inputs[k]].dtype)) return true;
    for (int k = 0; k < n->n_outputs; k++)
        if (is_half(g->tensors[n->outputs[k]].dtype)) return true;
    return false;
}

int zn_pass_lower_precision(zn_graph *g, zn_dtype dt, zn_node_pred has_half_kernel, void *user, char *detail,
                            size_t cap) {
    if (!is_half(dt)) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "precision lowering to %s: only f16 and bf16 are lowered", zn_dtype_name(dt));
        return -1;
    }
    int n_orig = g->n_nodes, consts = 0, boundary = 0, wrapped = 0, clamped = 0;
    /* inner Casts to f32 now produce half (before the boundary casts, which must stay f32) */
    for (int i = 0; i < n_orig; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->op == ZN_OP_CAST && zn_attrs_int(n->attrs, n->n_attrs, "to", 0) == ZN_F32 &&
            zn_graph_set_attr_int(g, i, "to", dt) != ZN_OK)
            return -1;
        if (n->op == ZN_OP_CONSTANT_OF_SHAPE) {
            zn_attr *a = (zn_attr *)zn_attrs_find(n->attrs, n->n_attrs, "value");
            if (a && a->type == ZN_ATTR_TENSOR && a->t && a->t->dtype == ZN_F32 && convert_attr_tensor(a->t, dt, &clamped) != ZN_OK)
                return -1;
        }
    }
    for (int t = 0; t < g->n_tensors; t++) {
        zn_tensor *x = &g->tensors[t];
        if ((x->flags & ZN_TENSOR_CONST) && x->data && x->dtype == ZN_F32 && !(x->flags & ZN_TENSOR_OUTPUT)) {
            if (convert_const(x, dt, &clamped) != ZN_OK) return -1;
            consts++;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (g->tensors[t].dtype != ZN_F32) continue;
        int c = add_cast(g, t, dt, "in");
        if (c < 0) return -1;
        zn_pass_replace_uses(g, t, g->nodes[c].outputs[0]);
        g->nodes[c].inputs[0] = t; /* the cast itself keeps reading the input */
        boundary++;
    }
    /* the outputs that are f32 before settle() gives every tensor its lowered dtype: an output
     * the model itself makes half (a Cast to f16) stays half */
    bool *out_f32 = malloc(sizeof(bool) * (size_t)(g->n_outputs ? g->n_outputs : 1));
    if (!out_f32) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory lowering precision");
        return -1;
    }
    for (int i = 0; i < g->n_outputs; i++) out_f32[i] = g->tensors[g->outputs[i]].dtype == ZN_F32;
    zn_status st = settle(g);
    bool failed = st != ZN_OK;
    /* outputs that became half get a cast back to f32; the caller's buffers stay f32 */
    for (int i = 0; i < g->n_outputs && !failed; i++) {
        int t = g->outputs[i], p = g->tensors[t].producer;
        if (!out_f32[i] || !is_half(g->tensors[t].dtype) || p < 0 || (g->tensors[t].flags & ZN_TENSOR_INPUT)) continue;
        int k = 0;
        while (k < g->nodes[p].n_outputs && g->nodes[p].outputs[k] != t) k++;
        if (k == g->nodes[p].n_outputs) continue;
        int c = cast_after(g, p, k, ZN_F32, "out");
        if (c < 0) {
            failed = true;
            break;
        }
        /* other readers of the output inside the graph read the half tensor */
        int half = g->nodes[c].inputs[0];
        zn_pass_replace_uses(g, t, half);
        g->nodes[c].inputs[0] = half;
        boundary++;
    }
    free(out_f32);
    if (failed || (st = settle(g)) != ZN_OK) return -1;

    /* nodes no device kernel computes in half run in f32 between casts */
    int n_now = g->n_nodes;
    for (int i = 0; i < n_now; i++) {
        if (g->nodes[i].dead || g->nodes[i].op == ZN_OP_CAST || !touches_half(g, &g->nodes[i])) continue;
        if (has_half_kernel(g, i, user)) continue;
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int t = g->nodes[i].inputs[k];
            if (t < 0 || !is_half(g->tensors[t].dtype)) continue;
            int c = add_cast(g, t, ZN_F32, "f32");
            if (c < 0) return -1;
            g->nodes[i].inputs[k] = g->nodes[c].outputs[0];
        }
        for (int k = 0; k < g->nodes[i].n_outputs; k++) {
            int t = g->nodes[i].outputs[k];
            if (!is_half(g->tensors[t].dtype)) continue;
            if (cast_after(g, i, k, g->tensors[t].dtype, "half") < 0) return -1;
        }
        wrapped++;
    }
    if (wrapped && (st = settle(g)) != ZN_OK) return -1;
    if (detail)
        snprintf(detail, cap, "%d constants converted to %s (%d values clamped to the largest finite half), %d boundary casts, "
                 "%d node%s kept in f32 (no %s kernel)", consts, zn_dtype_name(dt), clamped, boundary, wrapped,
                 wrapped == 1 ? "" : "s", zn_dtype_name(dt));
    return consts + boundary + wrapped;
}

/* ---- placement ------------------------------------------------------------------------------ */

enum { SPACE_NONE = 0, SPACE_HOST = 1, SPACE_DEVICE = 2 };

int zn_pass_place(zn_graph *g, zn_node_pred on_device, void *user, int *n_fallback, char *detail, size_t cap) {
    int nn = g->n_nodes, nt = g->n_tensors;
    unsigned char *where = calloc((size_t)(nt ? nt : 1), 1);
    unsigned char *dev = calloc((size_t)(nn ? nn : 1), 1);
    int *copy_of = malloc(sizeof(int) * 2 * (size_t)(nt ? nt : 1)); /* [t][0]: host copy, [t][1]: device copy */
    int copies = 0, fallback = 0, ret = -1;
    if (!where || !dev || !copy_of) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory placing nodes");
        goto done;
    }
    for (int t = 0; t < 2 * nt; t++) copy_of[t] = -1;
    for (int i = 0; i < g->n_inputs; i++) where[g->inputs[i]] = SPACE_DEVICE;
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].dead) continue;
        dev[i] = on_device(g, i, user) ? 1 : 0;
        if (!dev[i]) fallback++;
        for (int k = 0; k < g->nodes[i].n_outputs; k++)
            where[g->nodes[i].outputs[k]] = dev[i] ? SPACE_DEVICE : SPACE_HOST;
    }
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].dead) continue;
        int want = dev[i] ? SPACE_DEVICE : SPACE_HOST;
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int t = g->nodes[i].inputs[k];
            if (t < 0 || t >= nt || where[t] == SPACE_NONE || where[t] == want) continue;
            int *slot = &copy_of[2 * t + (want == SPACE_DEVICE)];
            if (*slot < 0) {
                char name[ZN_MAX_NAME + 16];
                snprintf(name, sizeof name, "%s/to_%s", g->tensors[t].name, want == SPACE_DEVICE ? "device" : "host");
                int out;
                int c = zn_graph_add_node(g, ZN_OP_COPY, name, 1, &t, 1, NULL, &out);
                if (c < 0 || zn_graph_set_attr_string(g, c, "to", want == SPACE_DEVICE ? "device" : "host") != ZN_OK)
                    goto done;
                *slot = out;
                copies++;
            }
            g->nodes[i].inputs[k] = *slot;
        }
    }
    if (copies && settle(g) != ZN_OK) goto done;
    if (n_fallback) *n_fallback = fallback;
    if (detail)
        snprintf(detail, cap, "%d node%s on the CPU (no CUDA kernel), %d host<->device cop%s inserted", fallback,
                 fallback == 1 ? "" : "s", copies, copies == 1 ? "y" : "ies");
    ret = copies;
done:
    free(where);
    free(dev);
    free(copy_of);
    return ret;
}
