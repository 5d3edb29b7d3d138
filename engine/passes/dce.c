/* dce.c — dead-code elimination: drops nodes none of whose outputs reach a graph output. */
#include <stdlib.h>

#include "../plan.h"

int zn_pass_dce(zn_graph *g) {
    char *live = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
    if (!live) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory in dead-code elimination");
        return -1;
    }
    for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = 1;
    int removed = 0;
    /* nodes are in topological order: one backward sweep finds everything live */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        bool used = false;
        for (int k = 0; k < n->n_outputs; k++) used |= live[n->outputs[k]] != 0;
        if (!used) {
            n->dead = true;
            removed++;
            continue;
        }
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) live[n->inputs[k]] = 1;
    }
    free(live);
    if (removed) zn_graph_compact(g);
    return removed;
}
