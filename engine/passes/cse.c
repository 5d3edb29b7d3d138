/* cse.c — common-subexpression elimination: two live nodes with the same op, the same input
 * tensors and the same attributes compute the same outputs, so the later one is dropped and
 * its consumers read the earlier one's outputs. Small constants with equal contents (the
 * exporters' scalar 0.5, 1, 2 written once per use) are shared first, so nodes reading
 * "different" copies of one value match too.
 *
 * A node whose output is a graph output is kept. Not here: algebraic identities (x*1, x+0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

#define CSE_SMALL_CONST 64 /* elements: constants up to this size are compared by value */

static bool attr_equal(const zn_attr *a, const zn_attr *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case ZN_ATTR_INT: return a->i == b->i;
    case ZN_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case ZN_ATTR_STRING: return strcmp(a->s ? a->s : "", b->s ? b->s : "") == 0;
    case ZN_ATTR_INTS: return a->n == b->n && (a->n == 0 || memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n) == 0);
    case ZN_ATTR_FLOATS: return a->n == b->n && (a->n == 0 || memcmp(a->floats, b->floats, sizeof(float) * (size_t)a->n) == 0);
    case ZN_ATTR_TENSOR: {
        const zn_attr_tensor *x = a->t, *y = b->t;
        if (!x || !y) return x == y;
        if (x->dtype != y->dtype || x->rank != y->rank) return false;
        int64_t numel = 1;
        for (int d = 0; d < x->rank; d++) {
            if (x->dims[d] != y->dims[d]) return false;
            numel *= x->dims[d];
        }
        return memcmp(x->data, y->data, (size_t)numel * zn_dtype_size(x->dtype)) == 0;
    }
    }
    return false;
}

static bool attrs_equal(const zn_node *a, const zn_node *b) {
    if (a->n_attrs != b->n_attrs) return false;
    for (int i = 0; i < a->n_attrs; i++) {
        const zn_attr *o = zn_attrs_find(b->attrs, b->n_attrs, a->attrs[i].name);
        if (!o || !attr_equal(&a->attrs[i], o)) return false;
    }
    return true;
}

static bool nodes_equal(const zn_node *a, const zn_node *b) {
    if (a->op != b->op || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) return false;
    for (int k = 0; k < a->n_inputs; k++)
        if (a->inputs[k] != b->inputs[k]) return false;
    return attrs_equal(a, b);
}

static uint64_t node_hash(const zn_node *n) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)n->op;
    for (int k = 0; k < n->n_inputs; k++) h = (h ^ (uint64_t)(n->inputs[k] + 2)) * 1099511628211ull;
    return h ^ (uint64_t)n->n_outputs << 56;
}

/* Points every node input that reads a small constant at the first constant equal to it. */
static int share_constants(zn_graph *g) {
    int *canon = malloc(sizeof(int) * (size_t)(g->n_tensors ? g->n_tensors : 1));
    if (!canon) return -1;
    int shared = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        canon[t] = t;
        const zn_tensor *x = &g->tensors[t];
        if (!zn_pass_is_const(g, t)) continue;
        int64_t numel = zn_shape_numel(&x->shape);
        if (numel < 0 || numel > CSE_SMALL_CONST) continue;
        size_t bytes = (size_t)numel * zn_dtype_size(x->dtype);
        for (int u = 0; u < t; u++) {
            const zn_tensor *y = &g->tensors[u];
            if (canon[u] != u || !zn_pass_is_const(g, u) || y->dtype != x->dtype) continue;
            if (!zn_pass_same_shape(g, t, u) || memcmp(x->data, y->data, bytes) != 0) continue;
            canon[t] = u;
            break;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t >= 0 && canon[t] != t) {
                n->inputs[k] = canon[t];
                shared++;
            }
        }
    }
    free(canon);
    return shared;
}

int zn_pass_cse(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    int shared = share_constants(g);
    if (shared < 0) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory in common-subexpression elimination");
        return -1;
    }
    uint64_t *hash = malloc(sizeof(uint64_t) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!hash) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory in common-subexpression elimination");
        return -1;
    }
    int merged = 0;
    /* topological order: a node's inputs are already canonical when it is looked at */
    for (int j = 0; j < g->n_nodes; j++) {
        zn_node *b = &g->nodes[j];
        if (b->dead) continue;
        hash[j] = node_hash(b);
        if (b->n_inputs == 0) continue;
        bool out_is_graph_output = false;
        for (int k = 0; k < b->n_outputs; k++) out_is_graph_output |= zn_pass_is_output(g, b->outputs[k]);
        if (out_is_graph_output) continue;
        for (int i = 0; i < j; i++) {
            const zn_node *a = &g->nodes[i];
            if (a->dead || hash[i] != hash[j] || !nodes_equal(a, b)) continue;
            for (int k = 0; k < b->n_outputs; k++) zn_pass_replace_uses(g, b->outputs[k], a->outputs[k]);
            b->dead = true;
            merged++;
            break;
        }
    }
    free(hash);
    snprintf(c->detail, sizeof c->detail, "%d duplicate node%s merged, %d constant read%s shared",
             merged, merged == 1 ? "" : "s", shared, shared == 1 ? "" : "s");
    return merged + shared;
}
