/* runtime.c — sessions: per-worker execution state over a shared, read-only plan.
 *
 * A session owns its arena (activations and scratch at the planner's offsets) and its own copy
 * of every step's views with data pointers resolved once at creation; it borrows the
 * process-wide thread pool of its thread count. Graph
 * inputs are the caller's buffers: the views that read them are patched at the start of each
 * run. The hot path is a loop over steps with one branch for the observer.
 *
 * Sessions of CUDA plans also own a stream (with cuBLASLt/cuDNN handles bound to it), a device
 * arena, a pinned host arena for CPU fallback steps and pinned staging buffers for the graph's
 * inputs and outputs: a run copies the caller's inputs into the input stage, queues the uploads,
 * the steps and the downloads on the stream, waits once, and hands out the output stage. In
 * reduce-overhead mode the second run is captured as a CUDA graph (the first warms the
 * libraries up) and every later run replays it; the step hooks of the observer fire during the
 * capture only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu/threadpool.h"
#include "../kernels/cuda/cuda_ctx.h"
#include "alloc.h"
#include "device.h"
#include "log.h"
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
    /* CUDA plans */
    zn_cuda_ctx *cuda;
    unsigned char *dev_arena;
    unsigned char *in_stage;  /* pinned: the graph's inputs back to back */
    unsigned char *out_stage; /* pinned: the device-resident graph outputs */
    size_t *in_off, *out_off; /* offsets into the stages (SIZE_MAX: output not on the device) */
    void *graph_exec;         /* the captured run (reduce-overhead) */
    long runs;
    bool capture_failed;
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

/* The bytes of tensor t in this session as a step on the device (or the host) reads them
 * (NULL for graph inputs of CPU plans, patched per run). */
static void *tensor_ptr(const zn_session *s, int t, bool on_device) {
    const zn_plan *p = s->plan;
    const zn_slot *slot = &p->slots[t];
    switch (slot->kind) {
    case ZN_SLOT_CONST:
        return on_device && p->dev_const ? p->dev_const[slot->root] : p->graph->tensors[slot->root].data;
    case ZN_SLOT_ARENA: return (slot->on_device ? s->dev_arena : s->arena) + slot->offset;
    default: return NULL;
    }
}

void zn_session_free(zn_session *s) {
    if (!s) return;
    zn_threadpool_release(s->pool);
    if (s->plan->device) {
        zn_device_probe(NULL); /* this thread may not have the device current yet */
        zn_device_prepare_begin(); /* cudaFree synchronises the device: not during a capture */
        zn_cuda_graph_free(s->graph_exec);
        zn_cuda_ctx_free(s->cuda); /* waits for the stream first */
        zn_device_free(s->dev_arena);
        zn_pinned_free(s->arena);
        zn_pinned_free(s->in_stage);
        zn_pinned_free(s->out_stage);
        free(s->in_off);
        free(s->out_off);
        zn_device_prepare_end();
    } else {
        zn_free(s->arena);
    }
    free(s->views);
    free(s->ctx);
    free(s->patches);
    free(s);
}

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* Stream, arenas and staging buffers of a CUDA plan's session. */
static zn_status device_session_init(zn_session *s) {
    const zn_plan *p = s->plan;
    const zn_graph *g = p->graph;
    zn_status st;
    if ((st = zn_cuda_ctx_new(&s->cuda)) != ZN_OK) return st;
    char what[ZN_MAX_NAME + 64];
    snprintf(what, sizeof what, "the activation arena of a %s session", g->name);
    if ((st = zn_device_alloc((void **)&s->dev_arena, p->dev_arena_bytes, what)) != ZN_OK) return st;
    /* on the session's stream: the legacy stream's work would not be ordered before its runs */
    if ((st = zn_device_memset_async(s->cuda, s->dev_arena, 0, p->dev_arena_bytes ? p->dev_arena_bytes : 1)) != ZN_OK)
        return st;
    if (p->arena_bytes && (st = zn_pinned_alloc((void **)&s->arena, p->arena_bytes, "the host arena of CPU fallback steps")) != ZN_OK)
        return st;
    s->in_off = calloc((size_t)(g->n_inputs + 1), sizeof(size_t));
    s->out_off = calloc((size_t)(g->n_outputs + 1), sizeof(size_t));
    if (!s->in_off || !s->out_off) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a session");
    size_t in_bytes = 0, out_bytes = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        s->in_off[i] = in_bytes;
        in_bytes += align64(p->slots[g->inputs[i]].bytes);
    }
    for (int o = 0; o < g->n_outputs; o++) {
        const zn_slot *slot = &p->slots[g->outputs[o]];
        s->out_off[o] = SIZE_MAX;
        if (slot->kind != ZN_SLOT_ARENA || !slot->on_device) continue;
        s->out_off[o] = out_bytes;
        out_bytes += align64(slot->bytes);
    }
    if ((st = zn_pinned_alloc((void **)&s->in_stage, in_bytes, "the input staging buffer")) != ZN_OK) return st;
    if ((st = zn_pinned_alloc((void **)&s->out_stage, out_bytes, "the output staging buffer")) != ZN_OK) return st;
    return ZN_OK;
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
    s->views = calloc(n_views ? n_views : 1, sizeof(zn_view));
    s->ctx = calloc((size_t)(plan->n_steps ? plan->n_steps : 1), sizeof(zn_exec_ctx));
    s->patches = calloc(n_views ? n_views : 1, sizeof(input_patch));
    if (!s->views || !s->ctx || !s->patches) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a session");
        goto fail;
    }
    if (plan->device) {
        zn_device_prepare_begin(); /* allocations and clears: not while another session captures */
        zn_status dst = device_session_init(s);
        zn_device_prepare_end();
        if (dst != ZN_OK) goto fail;
    } else {
        s->arena = zn_aligned_alloc(plan->arena_bytes ? plan->arena_bytes : 1);
        if (!s->arena) {
            zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory: a session needs an arena of %zu bytes",
                         plan->arena_bytes);
            goto fail;
        }
    }
    /* Arenas start zeroed so that a kernel reading memory it should not reads zeros, the same
     * in every session (deterministic), instead of garbage. */
    if (s->arena) memset(s->arena, 0, plan->arena_bytes);
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
            v[k].data = tensor_ptr(s, t, st->on_device);
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
        c->scratch = st->scratch_bytes ? (st->on_device ? s->dev_arena : s->arena) + st->scratch_offset : NULL;
        c->pool = s->pool;
        c->cuda = s->cuda;
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

/* The steps, with the observer's step hooks; on error the node is named. */
static zn_status run_steps(zn_session *s) {
    const zn_plan *p = s->plan;
    for (int i = 0; i < p->n_steps; i++) {
        if (s->has_obs && s->obs.step_begin) s->obs.step_begin(s->obs.user, s, i);
        zn_status st = p->steps[i].kernel->run(&s->ctx[i]);
        if (s->has_obs && s->obs.step_end) s->obs.step_end(s->obs.user, s, i);
        if (st != ZN_OK) {
            const zn_node *n = &p->graph->nodes[p->steps[i].node];
            char shapes[256];
            zn_graph_describe_inputs(p->graph, n, shapes, sizeof shapes);
            zn_error_set_node(n->name, zn_op_name(n->op), shapes);
            return st;
        }
    }
    return ZN_OK;
}

/* Everything a device run queues on the stream: uploads from the input stage, the steps,
 * downloads of device-resident outputs into the output stage. */
static zn_status device_body(zn_session *s) {
    const zn_plan *p = s->plan;
    const zn_graph *g = p->graph;
    zn_status st;
    for (int i = 0; i < g->n_inputs; i++) {
        const zn_slot *slot = &p->slots[g->inputs[i]];
        if ((st = zn_cuda_copy_async(s->cuda, s->dev_arena + slot->offset, s->in_stage + s->in_off[i], slot->bytes,
                                     ZN_COPY_H2D)) != ZN_OK)
            return st;
    }
    if ((st = run_steps(s)) != ZN_OK) return st;
    for (int o = 0; o < g->n_outputs; o++) {
        if (s->out_off[o] == SIZE_MAX) continue;
        const zn_slot *slot = &p->slots[g->outputs[o]];
        if ((st = zn_cuda_copy_async(s->cuda, s->out_stage + s->out_off[o], s->dev_arena + slot->offset, slot->bytes,
                                     ZN_COPY_D2H)) != ZN_OK)
            return st;
    }
    return ZN_OK;
}

/* Captures the body as the session's CUDA graph (s->graph_exec, nothing executes). On failure
 * graph_exec stays NULL and the session runs eagerly from then on. */
static void capture_once(zn_session *s) {
    zn_status st;
    if ((st = zn_cuda_capture_begin(s->cuda)) != ZN_OK) {
        s->capture_failed = true;
        ZN_LOGW("runtime", "CUDA graph capture could not start (%s); running eagerly", zn_last_error()->message);
        return;
    }
    zn_status body = device_body(s);
    char why[ZN_ERROR_MSG];
    snprintf(why, sizeof why, "%s", body != ZN_OK ? zn_last_error()->message : "");
    int nodes = 0;
    void *exec = NULL;
    st = zn_cuda_capture_end(s->cuda, &exec, &nodes);
    if (body != ZN_OK || st != ZN_OK) {
        s->capture_failed = true;
        ZN_LOGW("runtime", "CUDA graph capture failed (%s); this session runs eagerly",
                body != ZN_OK ? why : zn_last_error()->message);
        zn_cuda_graph_free(exec);
        return;
    }
    s->graph_exec = exec;
    ZN_LOGI("runtime", "captured the run of %s as a CUDA graph of %d nodes", s->plan->graph->name, nodes);
}

/* reduce-overhead: capture the body once (the run after the warm-up) and replay it. A capture
 * that fails (a library call that cannot be captured) is logged once; the session then runs
 * eagerly. */
static zn_status device_run(zn_session *s) {
    if (s->graph_exec) return zn_cuda_graph_launch(s->cuda, s->graph_exec);
    bool capture = s->plan->summary.cuda_graph && s->runs >= 1 && !s->capture_failed;
    if (!capture) return device_body(s);
    /* A device-wide synchronisation on another thread (a compile's weight upload, a cuDNN trial,
     * a session being freed) can invalidate a capture even in thread-local mode: those hold the
     * same lock, so the capture (once per session) waits for them and they for it. */
    zn_device_prepare_begin();
    capture_once(s);
    zn_device_prepare_end();
    return s->graph_exec ? zn_cuda_graph_launch(s->cuda, s->graph_exec) : device_body(s);
}

static _Thread_local bool device_bound; /* cudaSetDevice done on this thread */

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
    zn_status st = ZN_OK;
    if (p->device) {
        if (!device_bound) {
            if ((st = zn_device_probe(NULL)) != ZN_OK) return st;
            device_bound = true;
        }
        for (int i = 0; i < n_inputs; i++)
            memcpy(s->in_stage + s->in_off[i], inputs[i].data, p->slots[g->inputs[i]].bytes);
    } else {
        for (int k = 0; k < s->n_patches; k++) s->patches[k].view->data = inputs[s->patches[k].input].data;
    }

    if (s->has_obs && s->obs.run_begin) s->obs.run_begin(s->obs.user, s);
    if (p->device) {
        st = device_run(s);
        if (st == ZN_OK) {
            st = zn_cuda_sync(s->cuda); /* kernel execution errors surface here */
        } else {
            zn_error keep = *zn_last_error(); /* the step's error names the node: keep it */
            zn_cuda_sync(s->cuda);
            zn_error_set(keep.status, "%s", keep.message);
            if (keep.hint[0]) zn_error_hint("%s", keep.hint);
            if (keep.node[0]) zn_error_set_node(keep.node, keep.op, keep.shapes);
        }
        s->runs++;
    } else {
        st = run_steps(s);
    }
    if (s->has_obs && s->obs.run_end) s->obs.run_end(s->obs.user, s, st);
    if (st != ZN_OK) return st;

    for (int o = 0; o < n_outputs; o++) {
        int t = g->outputs[o];
        const zn_tensor *x = &g->tensors[t];
        const void *src = p->slots[t].kind == ZN_SLOT_INPUT     ? inputs[p->slots[t].input_index].data
                          : p->device && s->out_off[o] != SIZE_MAX ? (const void *)(s->out_stage + s->out_off[o])
                                                                   : tensor_ptr(s, t, false);
        zn_view *ov = &outputs[o];
        ov->dtype = x->dtype;
        ov->rank = x->shape.rank;
        for (int d = 0; d < ov->rank; d++) ov->dims[d] = x->shape.dims[d].value;
        if (ov->data && ov->data != src) memcpy(ov->data, src, zn_view_bytes(ov));
        else ov->data = (void *)src;
    }
    return ZN_OK;
}
