/* validate.c — structural checks of a graph and its topological order.
 *
 * Checks, each reported with the node and the fix: input/output arity against ops.def,
 * attribute types against the op's schema, tensors consumed but never produced (dangling),
 * tensors produced twice, cycles, graph outputs nothing produces. Nodes are re-sorted into
 * topological order (stable: the builder's order is kept where it is already valid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "log.h"

/* The schema type of `attr` for op, or NULL when the schema does not list it. */
static const char *schema_type(const char *schema, const char *attr, char *buf, size_t cap) {
    size_t alen = strlen(attr);
    const char *p = schema;
    while (*p) {
        while (*p == ' ') p++;
        const char *colon = strchr(p, ':');
        if (!colon) break;
        const char *end = strchr(colon, ' ');
        if (!end) end = colon + strlen(colon);
        if ((size_t)(colon - p) == alen && strncmp(p, attr, alen) == 0) {
            size_t tl = (size_t)(end - colon - 1);
            if (tl >= cap) tl = cap - 1;
            memcpy(buf, colon + 1, tl);
            buf[tl] = 0;
            return buf;
        }
        p = end;
    }
    return NULL;
}

static bool attr_type_ok(zn_attr_type t, const char *want) {
    if (strcmp(want, "i") == 0) return t == ZN_ATTR_INT;
    if (strcmp(want, "f") == 0) return t == ZN_ATTR_FLOAT || t == ZN_ATTR_INT;
    if (strcmp(want, "s") == 0) return t == ZN_ATTR_STRING;
    if (strcmp(want, "is") == 0) return t == ZN_ATTR_INTS || t == ZN_ATTR_INT;
    if (strcmp(want, "fs") == 0) return t == ZN_ATTR_FLOATS || t == ZN_ATTR_FLOAT;
    if (strcmp(want, "t") == 0) return t == ZN_ATTR_TENSOR;
    return false;
}

static const char *attr_type_word(const char *t) {
    if (strcmp(t, "i") == 0) return "an int";
    if (strcmp(t, "f") == 0) return "a float";
    if (strcmp(t, "s") == 0) return "a string";
    if (strcmp(t, "is") == 0) return "a list of ints";
    if (strcmp(t, "fs") == 0) return "a list of floats";
    return "a tensor";
}

static zn_status node_error(const zn_graph *g, const zn_node *n, zn_status st) {
    char shapes[256];
    zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
    zn_error_set_node(n->name, zn_op_name(n->op), shapes);
    return st;
}

static zn_status check_node(const zn_graph *g, const zn_node *n) {
    const zn_op_info *info = zn_op_get_info(n->op);
    if (n->n_inputs < info->min_inputs || n->n_inputs > info->max_inputs) {
        zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s) has %d inputs; %s takes %d to %d",
                     n->name, info->name, n->n_inputs, info->name, info->min_inputs, info->max_inputs);
        zn_error_hint("check the exporter's opset or the builder call for '%s'", n->name);
        return node_error(g, n, ZN_ERR_INVALID_GRAPH);
    }
    for (int i = 0; i < info->min_inputs; i++) {
        if (n->inputs[i] < 0) {
            zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s): required input %d is missing",
                         n->name, info->name, i);
            zn_error_hint("only inputs after the first %d of %s are optional", info->min_inputs, info->name);
            return node_error(g, n, ZN_ERR_INVALID_GRAPH);
        }
    }
    if (n->n_outputs < info->min_outputs || n->n_outputs > info->max_outputs) {
        zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s) has %d outputs; %s gives %d to %d",
                     n->name, info->name, n->n_outputs, info->name, info->min_outputs, info->max_outputs);
        return node_error(g, n, ZN_ERR_INVALID_GRAPH);
    }
    for (int a = 0; a < n->n_attrs; a++) {
        char want[8];
        const zn_attr *at = &n->attrs[a];
        if (!schema_type(info->attr_schema, at->name, want, sizeof want)) {
            ZN_LOGD("graph", "node '%s' (%s): attribute '%s' is not used by Zenith; ignored",
                    n->name, info->name, at->name);
            continue;
        }
        if (!attr_type_ok(at->type, want)) {
            zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s): attribute '%s' must be %s",
                         n->name, info->name, at->name, attr_type_word(want));
            return node_error(g, n, ZN_ERR_INVALID_GRAPH);
        }
    }
    return ZN_OK;
}

zn_status zn_graph_validate(zn_graph *g) {
    zn_status st = ZN_OK;
    int *state = NULL, *order = NULL, *indeg = NULL, *queue = NULL;
    int **users = NULL, *n_users = NULL;
    /* producers: recompute from the nodes, catching tensors produced twice */
    for (int t = 0; t < g->n_tensors; t++)
        if (!(g->tensors[t].flags & (ZN_TENSOR_INPUT | ZN_TENSOR_CONST))) g->tensors[t].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        if ((st = check_node(g, n)) != ZN_OK) return st;
        for (int k = 0; k < n->n_outputs; k++) {
            zn_tensor *t = &g->tensors[n->outputs[k]];
            if (t->producer >= 0 || (t->flags & (ZN_TENSOR_INPUT | ZN_TENSOR_CONST))) {
                zn_error_set(ZN_ERR_INVALID_GRAPH, "tensor '%s' is produced twice (by node '%s' and %s)",
                             t->name, n->name,
                             t->producer >= 0 ? g->nodes[t->producer].name : "as a graph input or constant");
                zn_error_hint("every tensor must have exactly one producer; rename one of them");
                return node_error(g, n, ZN_ERR_INVALID_GRAPH);
            }
            t->producer = i;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int ti = n->inputs[k];
            if (ti < 0) continue;
            zn_tensor *t = &g->tensors[ti];
            if (t->producer < 0 && !(t->flags & (ZN_TENSOR_INPUT | ZN_TENSOR_CONST))) {
                zn_error_set(ZN_ERR_INVALID_GRAPH,
                             "node '%s' (%s) reads tensor '%s' (input %d), which nothing produces",
                             n->name, zn_op_name(n->op), t->name, k);
                zn_error_hint("declare '%s' as a graph input or an initializer, or fix the name", t->name);
                return node_error(g, n, ZN_ERR_INVALID_GRAPH);
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        zn_tensor *t = &g->tensors[g->outputs[i]];
        if (t->producer < 0 && !(t->flags & (ZN_TENSOR_INPUT | ZN_TENSOR_CONST)))
            return zn_error_set(ZN_ERR_INVALID_GRAPH, "graph output '%s' is produced by no node", t->name);
    }

    /* Kahn's algorithm, taking ready nodes in their current order. */
    int nn = g->n_nodes;
    indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    order = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    queue = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    n_users = calloc((size_t)(nn ? nn : 1), sizeof(int));
    users = calloc((size_t)(nn ? nn : 1), sizeof(int *));
    state = calloc((size_t)(nn ? nn : 1), sizeof(int));
    if (!indeg || !order || !queue || !n_users || !users || !state) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory validating the graph");
        goto done;
    }
    for (int i = 0; i < nn; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int ti = n->inputs[k];
            if (ti < 0 || g->tensors[ti].producer < 0) continue;
            int p = g->tensors[ti].producer;
            int *u = realloc(users[p], sizeof(int) * (size_t)(n_users[p] + 1));
            if (!u) {
                st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory validating the graph");
                goto done;
            }
            users[p] = u;
            users[p][n_users[p]++] = i;
            indeg[i]++;
        }
    }
    /* A min-ordered ready set keeps the original order when it is valid: a simple scan. */
    int done_count = 0, live = 0;
    for (int i = 0; i < nn; i++) live += !g->nodes[i].dead;
    int qn = 0;
    for (int i = 0; i < nn; i++)
        if (!g->nodes[i].dead && indeg[i] == 0) queue[qn++] = i;
    int qh = 0;
    while (qh < qn) {
        int i = queue[qh++];
        order[done_count++] = i;
        state[i] = 1;
        for (int u = 0; u < n_users[i]; u++)
            if (--indeg[users[i][u]] == 0) queue[qn++] = users[i][u];
    }
    if (done_count != live) {
        int culprit = -1;
        for (int i = 0; i < nn && culprit < 0; i++)
            if (!g->nodes[i].dead && !state[i]) culprit = i;
        zn_node *n = &g->nodes[culprit];
        zn_error_set(ZN_ERR_INVALID_GRAPH, "the graph has a cycle through node '%s' (%s)", n->name,
                     zn_op_name(n->op));
        zn_error_hint("a node's output feeds back into its own inputs; ONNX graphs must be acyclic");
        st = node_error(g, n, ZN_ERR_INVALID_GRAPH);
        goto done;
    }
    /* Reorder nodes (dead ones are dropped here) and fix producers. */
    zn_node *sorted = malloc(sizeof(zn_node) * (size_t)(nn ? nn : 1));
    if (!sorted) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory validating the graph");
        goto done;
    }
    for (int i = 0; i < done_count; i++) sorted[i] = g->nodes[order[i]];
    for (int i = 0; i < nn; i++)
        if (g->nodes[i].dead) {
            free(g->nodes[i].name);
            free(g->nodes[i].inputs);
            free(g->nodes[i].outputs);
            zn_attrs_free(g->nodes[i].attrs, g->nodes[i].n_attrs);
        }
    memcpy(g->nodes, sorted, sizeof(zn_node) * (size_t)done_count);
    free(sorted);
    g->n_nodes = done_count;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_outputs; k++) g->tensors[g->nodes[i].outputs[k]].producer = i;
done:
    if (users)
        for (int i = 0; i < nn; i++) free(users[i]);
    free(users);
    free(n_users);
    free(indeg);
    free(order);
    free(queue);
    free(state);
    return st;
}
