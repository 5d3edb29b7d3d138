/* layout.c — removal of ops that only shuffle layout or do nothing at inference:
 * Identity, Dropout (inference), a Transpose with the identity permutation, a Transpose of a
 * Transpose (composed into one, dropped when the composition is the identity), a Reshape of a
 * Reshape/Flatten/Squeeze/Unsqueeze (one Reshape of the original tensor), and any of those
 * that leaves the shape as it was.
 *
 * A node whose output is a graph output stays (the output's name is part of the model's
 * interface). Not here: transposes folded into the ops that consume them (attention,
 * prepack).
 */
#include <stdio.h>
#include <string.h>

#include "../plan.h"
#include "passes.h"

static bool is_reshape_like(zn_op op) {
    return op == ZN_OP_RESHAPE || op == ZN_OP_FLATTEN || op == ZN_OP_SQUEEZE || op == ZN_OP_UNSQUEEZE;
}

/* perm of a Transpose node (default: reversed dims); false when malformed. */
static bool get_perm(const zn_graph *g, const zn_node *n, int64_t *perm, int *rank) {
    const zn_shape *x = &g->tensors[n->inputs[0]].shape;
    int r = x->rank;
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "perm", perm, ZN_MAX_RANK);
    if (np < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        np = r;
    }
    if (np != r) return false;
    for (int i = 0; i < r; i++)
        if (perm[i] < 0 || perm[i] >= r) return false;
    *rank = r;
    return true;
}

/* Output y of node id replaced by its input x everywhere; the node dies. */
static bool bypass(zn_graph *g, int id) {
    zn_node *n = &g->nodes[id];
    int x = n->inputs[0], y = n->outputs[0];
    if (zn_pass_is_output(g, y)) return false;
    if (g->tensors[x].dtype != g->tensors[y].dtype) return false;
    zn_pass_replace_uses(g, y, x);
    n->dead = true;
    return true;
}

int zn_pass_layout(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    int removed = 0, merged = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead || n->n_inputs < 1 || n->inputs[0] < 0) continue;
        int y = n->outputs[0];
        switch (n->op) {
        case ZN_OP_IDENTITY:
            removed += bypass(g, i);
            break;
        case ZN_OP_DROPOUT: {
            /* inference: y = x, unless training_mode is given and not a constant false */
            if (n->n_outputs > 1 && (c->uses[n->outputs[1]] || zn_pass_is_output(g, n->outputs[1]))) break;
            if (n->n_inputs > 2 && n->inputs[2] >= 0) {
                int t = n->inputs[2];
                if (!zn_pass_is_const(g, t) || *(const uint8_t *)g->tensors[t].data) break;
            }
            removed += bypass(g, i);
            break;
        }
        case ZN_OP_TRANSPOSE: {
            int64_t p2[ZN_MAX_RANK], p1[ZN_MAX_RANK], q[ZN_MAX_RANK];
            int r2, r1;
            if (!get_perm(g, n, p2, &r2)) break;
            int pi = zn_pass_producer(c, n->inputs[0]);
            if (pi >= 0 && g->nodes[pi].op == ZN_OP_TRANSPOSE && get_perm(g, &g->nodes[pi], p1, &r1) &&
                r1 == r2) {
                /* y[i] = t[p2[i]] = x[p1[p2[i]]] */
                for (int k = 0; k < r2; k++) q[k] = p1[p2[k]];
                n->inputs[0] = g->nodes[pi].inputs[0];
                if (zn_graph_set_attr_ints(g, i, "perm", q, r2) != ZN_OK) return -1;
                n = &g->nodes[i];
                memcpy(p2, q, sizeof q);
                merged++;
            }
            bool ident = true;
            for (int k = 0; k < r2; k++) ident &= p2[k] == k;
            if (ident) removed += bypass(g, i);
            break;
        }
        default:
            if (!is_reshape_like(n->op)) break;
            if (zn_pass_same_shape(g, n->inputs[0], y)) {
                removed += bypass(g, i);
                break;
            }
            if (n->op != ZN_OP_RESHAPE) break;
            int pi = zn_pass_producer(c, n->inputs[0]);
            if (pi < 0 || !is_reshape_like(g->nodes[pi].op)) break;
            /* Reshape(Reshape(x)) -> Reshape(x, y's concrete shape) */
            const zn_shape *ys = &g->tensors[y].shape;
            if (!zn_shape_is_concrete(ys)) break;
            int64_t dims[ZN_MAX_RANK], rank = ys->rank;
            bool zero = false;
            for (int d = 0; d < ys->rank; d++) zero |= (dims[d] = ys->dims[d].value) == 0;
            if (zero) break; /* 0 would mean "copy the input's dim" */
            char nm[ZN_MAX_NAME + 8];
            snprintf(nm, sizeof nm, "%s.shape", n->name);
            int sh = zn_pass_new_const(g, nm, ZN_I64, 1, &rank, dims);
            if (sh < 0) return -1;
            n = &g->nodes[i];
            int x = g->nodes[pi].inputs[0];
            int in[2] = {x, sh};
            if (zn_pass_rewrite(g, i, ZN_OP_RESHAPE, 2, in) != ZN_OK) return -1;
            if (zn_pass_same_shape(g, x, y)) removed += bypass(g, i);
            merged++;
            break;
        }
    }
    snprintf(c->detail, sizeof c->detail, "%d layout-only node%s removed, %d transpose/reshape pair%s merged",
             removed, removed == 1 ? "" : "s", merged, merged == 1 ? "" : "s");
    if (removed + merged) {
        /* nodes left without consumers (the first of a merged pair) go now */
        int dead = zn_pass_dce(g);
        if (dead < 0) return -1;
    }
    return removed + merged;
}
