/* planner.c — the memory planner: activation offsets in one arena from tensor lifetimes.
 *
 * 1. Storage groups. A tensor produced by an ALIAS kernel (Reshape, Identity, ...) shares its
 *    input's storage. A tensor produced by an INPLACE kernel joins its first input's group when
 *    that group dies at this step, lives in the arena, is not a graph output and has the same
 *    size. Everything else starts a group of its own.
 * 2. Lifetimes. A group lives from the step that first writes it to the last step that reads
 *    any member; graph outputs live to the end of the run. A step's scratch is a group living
 *    for that step only.
 * 3. Placement. Groups are placed largest first at the lowest 64-byte-aligned offset that does
 *    not overlap any already placed group whose lifetime intersects its own (greedy by size,
 *    the heuristic TFLite and ONNX Runtime planners use). The arena is the highest end.
 * The summary reports the arena size against the naive sum of every activation's bytes.
 * CUDA plans have two arenas, placed independently: the device arena (outputs and scratch of
 * CUDA steps, and the graph inputs, which a run uploads before its first step) and a host
 * arena (outputs and scratch of CPU fallback steps).
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define ALIGN 64
#define ALIGN_UP(x) (((x) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

typedef struct group {
    size_t bytes;
    int first, last; /* step interval, inclusive */
    size_t offset;
    int root;        /* tensor id, or -1 - step for scratch groups */
    bool on_device;  /* groups of the two arenas never overlap-check each other */
} group;

/* Where a step's outputs live: with the step, except a ZnCopy's, which live where it copies to. */
static bool outputs_on_device(const zn_plan *plan, const zn_step *st) {
    const zn_node *n = &plan->graph->nodes[st->node];
    if (!plan->device) return false; /* a CPU plan (ZnCopy is a memcpy there) */
    if (n->op == ZN_OP_COPY) return !strcmp(zn_attrs_string(n->attrs, n->n_attrs, "to", ""), "device");
    return st->on_device;
}

static int by_size_desc(const void *a, const void *b) {
    const group *x = *(const group *const *)a, *y = *(const group *const *)b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

/* Root of a tensor's storage group (slots[t].root chains are at most one hop after updates). */
static int root_of(const zn_slot *slots, int t) {
    while (slots[t].root != t) t = slots[t].root;
    return t;
}

zn_status zn_plan_memory(zn_plan *plan) {
    zn_graph *g = plan->graph;
    int nt = g->n_tensors, ns = plan->n_steps;
    zn_slot *slots = calloc((size_t)(nt ? nt : 1), sizeof *slots);
    int *first = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    int *last = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    group *groups = calloc((size_t)(nt + ns + 1), sizeof *groups);
    group **order = malloc(sizeof(group *) * (size_t)(nt + ns + 1));
    int *group_of = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    zn_status st = ZN_OK;
    if (!slots || !first || !last || !groups || !order || !group_of) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory planning memory");
        goto done;
    }
    for (int t = 0; t < nt; t++) {
        slots[t].root = t;
        slots[t].bytes = (size_t)zn_shape_numel(&g->tensors[t].shape) * zn_dtype_size(g->tensors[t].dtype);
        first[t] = -1;
        last[t] = -1;
        group_of[t] = -1;
        if (g->tensors[t].flags & ZN_TENSOR_CONST) slots[t].kind = ZN_SLOT_CONST;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        slots[g->inputs[i]].kind = ZN_SLOT_INPUT;
        slots[g->inputs[i]].input_index = i;
    }
    /* device plans: inputs are uploaded into the device arena before step 0 */
    for (int i = 0; plan->device && i < g->n_inputs; i++) {
        int t = g->inputs[i];
        slots[t].kind = ZN_SLOT_ARENA;
        slots[t].on_device = true;
        first[t] = 0;
    }
    /* lifetimes of individual tensors */
    for (int s = 0; s < ns; s++) {
        const zn_node *n = &g->nodes[plan->steps[s].node];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) last[n->inputs[k]] = s;
        for (int k = 0; k < n->n_outputs; k++) {
            first[n->outputs[k]] = s;
            if (last[n->outputs[k]] < s) last[n->outputs[k]] = s;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) last[g->outputs[i]] = ns;

    /* storage groups */
    int ng = 0;
    size_t naive = 0;
    int inplace = 0;
    for (int i = 0; plan->device && i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (group_of[t] >= 0) continue; /* listed twice */
        naive += ALIGN_UP(slots[t].bytes);
        groups[ng].bytes = ALIGN_UP(slots[t].bytes ? slots[t].bytes : 1);
        groups[ng].first = 0;
        groups[ng].last = last[t] < 0 ? 0 : last[t];
        groups[ng].root = t;
        groups[ng].on_device = true;
        group_of[t] = ng++;
    }
    for (int s = 0; s < ns; s++) {
        const zn_step *step = &plan->steps[s];
        const zn_node *n = &g->nodes[step->node];
        unsigned flags = step->kernel->flags;
        bool out_dev = outputs_on_device(plan, step);
        for (int k = 0; k < n->n_outputs; k++) {
            int t = n->outputs[k];
            if (slots[t].kind != ZN_SLOT_NONE) continue;
            naive += ALIGN_UP(slots[t].bytes);
            int in0 = n->n_inputs > 0 ? n->inputs[0] : -1;
            bool is_output = (g->tensors[t].flags & ZN_TENSOR_OUTPUT) != 0;
            if (k == 0 && in0 >= 0 && (flags & ZN_KERNEL_ALIAS) && slots[in0].bytes == slots[t].bytes &&
                !(slots[root_of(slots, in0)].kind == ZN_SLOT_ARENA && slots[root_of(slots, in0)].on_device != out_dev)) {
                int r = root_of(slots, in0);
                /* a graph output aliasing a constant or input would be handed out as writable
                 * session memory; give it storage of its own instead */
                if (!(is_output && slots[r].kind != ZN_SLOT_ARENA)) {
                    slots[t] = slots[r];
                    slots[t].root = r;
                    slots[t].bytes = slots[r].bytes;
                    if (group_of[r] >= 0 && groups[group_of[r]].last < last[t])
                        groups[group_of[r]].last = last[t];
                    continue;
                }
            }
            if (k == 0 && in0 >= 0 && (flags & ZN_KERNEL_INPLACE) && !is_output) {
                int r = root_of(slots, in0);
                int gi = group_of[r];
                if (slots[r].kind == ZN_SLOT_ARENA && slots[r].on_device == out_dev && gi >= 0 && groups[gi].last == s &&
                    slots[r].bytes == slots[t].bytes && !(g->tensors[r].flags & ZN_TENSOR_OUTPUT)) {
                    slots[t].kind = ZN_SLOT_ARENA;
                    slots[t].root = r;
                    if (groups[gi].last < last[t]) groups[gi].last = last[t];
                    inplace++;
                    continue;
                }
            }
            slots[t].kind = ZN_SLOT_ARENA;
            slots[t].on_device = out_dev;
            groups[ng].bytes = ALIGN_UP(slots[t].bytes ? slots[t].bytes : 1);
            groups[ng].first = s;
            groups[ng].last = last[t] < s ? s : last[t];
            groups[ng].root = t;
            groups[ng].on_device = out_dev;
            group_of[t] = ng++;
        }
        /* alias members that outlive their root extend the group */
    }
    /* a second sweep: every member's last use extends its root's group */
    for (int t = 0; t < nt; t++) {
        if (slots[t].kind != ZN_SLOT_ARENA) continue;
        int r = root_of(slots, t);
        int gi = group_of[r];
        if (gi >= 0 && groups[gi].last < last[t]) groups[gi].last = last[t];
    }
    for (int s = 0; s < ns; s++) {
        if (!plan->steps[s].scratch_bytes) continue;
        groups[ng].bytes = ALIGN_UP(plan->steps[s].scratch_bytes);
        groups[ng].first = groups[ng].last = s;
        groups[ng].root = -1 - s;
        groups[ng].on_device = plan->steps[s].on_device;
        naive += groups[ng].bytes;
        ng++;
    }

    /* greedy placement, largest first */
    for (int i = 0; i < ng; i++) order[i] = &groups[i];
    qsort(order, (size_t)ng, sizeof *order, by_size_desc);
    size_t arena = 0, dev_arena = 0;
    for (int i = 0; i < ng; i++) {
        group *x = order[i];
        size_t offset = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                const group *y = order[j];
                if (y->on_device != x->on_device) continue;               /* other arena */
                if (y->last < x->first || x->last < y->first) continue; /* not live together */
                if (offset + x->bytes <= y->offset || y->offset + y->bytes <= offset) continue;
                offset = y->offset + y->bytes;
                moved = true;
            }
        }
        x->offset = offset;
        size_t *end = x->on_device ? &dev_arena : &arena;
        if (offset + x->bytes > *end) *end = offset + x->bytes;
    }
    for (int i = 0; i < ng; i++) {
        if (groups[i].root >= 0) slots[groups[i].root].offset = groups[i].offset;
        else plan->steps[-1 - groups[i].root].scratch_offset = groups[i].offset;
    }
    for (int t = 0; t < nt; t++) {
        int r = root_of(slots, t);
        if (r != t) {
            slots[t].kind = slots[r].kind;
            slots[t].on_device = slots[r].on_device;
            slots[t].offset = slots[r].offset;
            slots[t].input_index = slots[r].input_index;
        }
    }
    free(plan->slots);
    plan->slots = slots;
    slots = NULL;
    plan->arena_bytes = arena;
    plan->dev_arena_bytes = dev_arena;
    plan->summary.planned_peak_bytes = arena + dev_arena;
    plan->summary.device_arena_bytes = dev_arena;
    plan->summary.naive_bytes = naive;
    plan->summary.inplace_count = inplace;
done:
    free(slots);
    free(first);
    free(last);
    free(groups);
    free(order);
    free(group_of);
    return st;
}
