/* runtime.c — sessions: per-worker execution state over a shared, read-only plan.
 *
 * A session owns its arena (activations and scratch at the planner's offsets) and its own copy
 * of every step's views with data pointers resolved once at creation; it borrows the
 * process-wide thread pool of its thread count. Graph
 * inputs are the caller's buffers: the views that read them are patched at the start of each
 * run. The hot path is a loop over steps with one branch for the observer.
 */
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu/threadpool.h"
#include "alloc.h"
#include "plan.h"

typedef struct input_patch {
    zn_view *view;  /* a view reading a graph input */
    int input;      /* which plan input */
} input_patch;

struct zn_session {
    const zn_plan *plan;
    unsigned char *arena;
    zn_view *views;          /* all steps' views, back to back */
    zn_exec_ctx *ctx;        /* one per step */
    input_patch *patches;
    int n_patches;
    zn_threadpool *pool;
    zn_observer obs;
    bool has_obs;
};

const zn_plan *zn_session_plan(const zn_session *s) { return s->plan; }

void zn_session_set_observer(zn_session *s, const zn_observer *obs) {
    if (obs) {
        s->obs = *obs;
        s->has_obs = true;
    } else {
        memset(&s->obs, 0, sizeof s->obs);
        s->has_obs = false;
    }
}

/* The bytes of tensor t in this session (NULL for graph inputs, patched per run). */
static void *tensor_ptr(const zn_session *s, int t) {
    const zn_plan *p = s->plan;
    const zn_slot *slot = &p->slots[t];
    switch (slot->kind) {
    case ZN_SLOT_CONST: return p->graph->tensors[slot->root].data;
    case ZN_SLOT_ARENA: return s->arena + slot->offset;
    default: return NULL;
    }
}

void zn_session_free(zn_session *s) {
    if (!s) return;
    zn_threadpool_release(s->pool);
    zn_free(s->arena);
    free(s->views);
    free(s->ctx);
    free(s->patches);
    free(s);
}

zn_status zn_session_new(const zn_plan *plan, zn_session **out) {
    *out = NULL;
    zn_session *s = calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a session");
    s->plan = plan;
    const zn_graph *g = plan->graph;
    size_t n_views = 0;
    for (int i = 0; i < plan->n_steps; i++) {
        const zn_node *n = &g->nodes[plan->steps[i].node];
        n_views += (size_t)(n->n_inputs + n->n_outputs);
    }
    s->arena = zn_aligned_alloc(plan->arena_bytes ? plan->arena_bytes : 1);
    s->views = calloc(n_views ? n_views : 1, sizeof(zn_view));
    s->ctx = calloc((size_t)(plan->n_steps ? plan->n_steps : 1), sizeof(zn_exec_ctx));
    s->patches = calloc(n_views ? n_views : 1, sizeof(input_patch));
    if (!s->arena || !s->views || !s->ctx || !s->patches) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory: a session needs an arena of %zu bytes",
                     plan->arena_bytes);
        goto fail;
    }
    /* Arenas start zeroed so that a kernel reading memory it should not reads zeros, the same
     * in every session (deterministic), instead of garbage. */
    memset(s->arena, 0, plan->arena_bytes);
    /* the process-wide pool for this thread count: concurrent sessions share its workers */
    if (plan->cfg.threads > 1 && !(s->pool = zn_threadpool_acquire(plan->cfg.threads))) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "could not start %d worker threads", plan->cfg.threads);
        goto fail;
    }
    zn_view *v = s->views;
    for (int i = 0; i < plan->n_steps; i++) {
        const zn_step *st = &plan->steps[i];
        const zn_node *n = &g->nodes[st->node];
        int nv = n->n_inputs + n->n_outputs;
        memcpy(v, st->views, sizeof(zn_view) * (size_t)nv);
        for (int k = 0; k < nv; k++) {
            int t = k < n->n_inputs ? n->inputs[k] : n->outputs[k - n->n_inputs];
            if (t < 0) continue;
            v[k].data = tensor_ptr(s, t);
            if (plan->slots[t].kind == ZN_SLOT_INPUT) {
                s->patches[s->n_patches].view = &v[k];
                s->patches[s->n_patches].input = plan->slots[t].input_index;
                s->n_patches++;
            }
        }
        zn_exec_ctx *c = &s->ctx[i];
        c->node = &st->kn;
        c->n_in = n->n_inputs;
        c->in = v;
        c->n_out = n->n_outputs;
        c->out = v + n->n_inputs;
        c->state = st->state;
        c->scratch = st->scratch_bytes ? s->arena + st->scratch_offset : NULL;
        c->pool = s->pool;
        v += nv;
    }
    *out = s;
    return ZN_OK;
fail:
    zn_session_free(s);
    return zn_last_error()->status;
}

static zn_status check_input(const zn_graph *g, int i, const zn_view *in) {
    const zn_tensor *t = &g->tensors[g->inputs[i]];
    bool ok = in->dtype == t->dtype && in->rank == t->shape.rank && in->data;
    for (int d = 0; ok && d < in->rank; d++) ok = in->dims[d] == t->shape.dims[d].value;
    if (ok) return ZN_OK;
    char want[128];
    zn_shape_format(g, &t->shape, want, sizeof want);
    zn_error_set(ZN_ERR_SHAPE, "input %d '%s': expected %s%s%s", i, t->name, zn_dtype_name(t->dtype),
                 want, in->data ? "" : " (data is NULL)");
    zn_error_hint("the plan was compiled for these shapes; recompile to run others");
    return ZN_ERR_SHAPE;
}

zn_status zn_session_run(zn_session *s, const zn_view *inputs, int n_inputs, zn_view *outputs,
                         int n_outputs) {
    const zn_plan *p = s->plan;
    const zn_graph *g = p->graph;
    if (n_inputs != g->n_inputs || n_outputs != g->n_outputs)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "run: the plan takes %d inputs and %d outputs (got %d and %d)",
                            g->n_inputs, g->n_outputs, n_inputs, n_outputs);
    for (int i = 0; i < n_inputs; i++) {
        zn_status st = check_input(g, i, &inputs[i]);
        if (st != ZN_OK) return st;
    }
    for (int k = 0; k < s->n_patches; k++) s->patches[k].view->data = inputs[s->patches[k].input].data;

    zn_status st = ZN_OK;
    if (s->has_obs && s->obs.run_begin) s->obs.run_begin(s->obs.user, s);
    for (int i = 0; i < p->n_steps; i++) {
        if (s->has_obs && s->obs.step_begin) s->obs.step_begin(s->obs.user, s, i);
        st = p->steps[i].kernel->run(&s->ctx[i]);
        if (s->has_obs && s->obs.step_end) s->obs.step_end(s->obs.user, s, i);
        if (st != ZN_OK) {
            const zn_node *n = &g->nodes[p->steps[i].node];
            char shapes[256];
            zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
            zn_error_set_node(n->name, zn_op_name(n->op), shapes);
            break;
        }
    }
    if (s->has_obs && s->obs.run_end) s->obs.run_end(s->obs.user, s, st);
    if (st != ZN_OK) return st;

    for (int o = 0; o < n_outputs; o++) {
        int t = g->outputs[o];
        const zn_tensor *x = &g->tensors[t];
        const void *src = p->slots[t].kind == ZN_SLOT_INPUT ? inputs[p->slots[t].input_index].data
                                                            : tensor_ptr(s, t);
        zn_view *ov = &outputs[o];
        ov->dtype = x->dtype;
        ov->rank = x->shape.rank;
        for (int d = 0; d < ov->rank; d++) ov->dims[d] = x->shape.dims[d].value;
        if (ov->data && ov->data != src) memcpy(ov->data, src, zn_view_bytes(ov));
        else ov->data = (void *)src;
    }
    return ZN_OK;
}
