/* profile.c — the per-session timing observers and their merge into a zn_profile (profile.h).
 *
 * Each slot owns a cache-line aligned array of step counters that only its session's thread
 * writes; collect() reads them after the sessions stopped. Not thread-safe beyond that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/alloc.h"
#include "profiling/nvtx.h"
#include "profiling/profile.h"

typedef struct step_stat {
    int64_t count, total, min, max;
} step_stat;

typedef struct prof_slot {
    zn_profiler *owner;
    int64_t t0;         /* start of the step being timed */
    int64_t run_t0;
    int64_t runs, run_ns;
    step_stat *steps;   /* [n_steps], zn_aligned_alloc: no false sharing with other slots */
    zn_observer obs;
    bool active;
} prof_slot;

struct zn_profiler {
    const zn_plan *plan;
    int n_steps;
    int n_slots;
    unsigned flags;
    bool nvtx;                     /* node ranges live */
    prof_slot *slots;              /* [n_slots] */
    zn_nvtx_string *nvtx_names;    /* [n_steps] "<node> [<Op>]" */
    uint32_t *nvtx_colors;         /* [n_steps] */
};

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- observers: the hot path ---------------------------------------------------------------- */

static void on_run_begin(void *user, const zn_session *s) {
    (void)s;
    prof_slot *sl = user;
    sl->run_t0 = now_ns();
}

static void on_run_end(void *user, const zn_session *s, zn_status st) {
    (void)s;
    (void)st;
    prof_slot *sl = user;
    sl->run_ns += now_ns() - sl->run_t0;
    sl->runs++;
}

static void on_step_begin(void *user, const zn_session *s, int step) {
    (void)s;
    (void)step;
    prof_slot *sl = user;
    sl->t0 = now_ns();
}

static inline void record_step(prof_slot *sl, int step, int64_t dt) {
    step_stat *c = &sl->steps[step];
    c->count++;
    c->total += dt;
    if (dt < c->min) c->min = dt;
    if (dt > c->max) c->max = dt;
}

static void on_step_end(void *user, const zn_session *s, int step) {
    (void)s;
    int64_t t1 = now_ns();
    prof_slot *sl = user;
    record_step(sl, step, t1 - sl->t0);
}

/* Timing and NVTX: the range encloses the timed interval. */
static void on_step_begin_nvtx(void *user, const zn_session *s, int step) {
    (void)s;
    prof_slot *sl = user;
    const zn_profiler *p = sl->owner;
    zn_nvtx_push_registered(p->nvtx_names[step], p->nvtx_colors[step]);
    sl->t0 = now_ns();
}

static void on_step_end_nvtx(void *user, const zn_session *s, int step) {
    (void)s;
    int64_t t1 = now_ns();
    prof_slot *sl = user;
    record_step(sl, step, t1 - sl->t0);
    zn_nvtx_pop();
}

/* NVTX only. */
static void on_step_begin_nvtx_only(void *user, const zn_session *s, int step) {
    (void)s;
    const zn_profiler *p = ((prof_slot *)user)->owner;
    zn_nvtx_push_registered(p->nvtx_names[step], p->nvtx_colors[step]);
}

static void on_step_end_nvtx_only(void *user, const zn_session *s, int step) {
    (void)user;
    (void)s;
    (void)step;
    zn_nvtx_pop();
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void slot_clear(prof_slot *sl, int n_steps) {
    sl->runs = sl->run_ns = 0;
    for (int i = 0; i < n_steps; i++) {
        sl->steps[i].count = sl->steps[i].total = sl->steps[i].max = 0;
        sl->steps[i].min = INT64_MAX;
    }
}

zn_status zn_profiler_new(const zn_plan *plan, int n_slots, unsigned flags, zn_profiler **out) {
    *out = NULL;
    if (!plan || n_slots < 1 || n_slots > 4096)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "profiler: need a plan and 1..4096 session slots (got %d)",
                            n_slots);
    zn_profiler *p = zn_calloc(1, sizeof *p);
    if (!p) goto oom;
    p->plan = plan;
    p->n_steps = zn_plan_num_steps(plan);
    p->n_slots = n_slots;
    p->flags = flags;
    p->nvtx = (flags & ZN_PROFILE_NVTX) && zn_nvtx_enabled();
    size_t steps = p->n_steps > 0 ? (size_t)p->n_steps : 1;
    p->slots = zn_calloc((size_t)n_slots, sizeof *p->slots);
    if (!p->slots) goto oom;
    for (int k = 0; k < n_slots; k++) {
        prof_slot *sl = &p->slots[k];
        sl->owner = p;
        sl->steps = zn_aligned_alloc(steps * sizeof *sl->steps);
        if (!sl->steps) goto oom;
        slot_clear(sl, p->n_steps);
        sl->obs.user = sl;
        bool timing = flags & ZN_PROFILE_TIMING;
        sl->active = timing || p->nvtx;
        if (timing) {
            sl->obs.run_begin = on_run_begin;
            sl->obs.run_end = on_run_end;
            sl->obs.step_begin = p->nvtx ? on_step_begin_nvtx : on_step_begin;
            sl->obs.step_end = p->nvtx ? on_step_end_nvtx : on_step_end;
        } else if (p->nvtx) {
            sl->obs.step_begin = on_step_begin_nvtx_only;
            sl->obs.step_end = on_step_end_nvtx_only;
        }
    }
    if (p->nvtx) {
        p->nvtx_names = zn_calloc(steps, sizeof *p->nvtx_names);
        p->nvtx_colors = zn_calloc(steps, sizeof *p->nvtx_colors);
        if (!p->nvtx_names || !p->nvtx_colors) goto oom;
        for (int i = 0; i < p->n_steps; i++) {
            zn_step_info si = zn_plan_step(plan, i);
            char label[ZN_MAX_NAME + 48];
            snprintf(label, sizeof label, "%s [%s]", si.node ? si.node : "?", zn_op_name(si.op));
            p->nvtx_names[i] = zn_nvtx_register(label);
            p->nvtx_colors[i] = zn_nvtx_op_color(si.op);
        }
    }
    *out = p;
    return ZN_OK;
oom:
    zn_profiler_free(p);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a profiler for %d sessions", n_slots);
}

void zn_profiler_free(zn_profiler *p) {
    if (!p) return;
    if (p->slots)
        for (int k = 0; k < p->n_slots; k++) zn_free(p->slots[k].steps);
    zn_free(p->slots);
    zn_free(p->nvtx_names);
    zn_free(p->nvtx_colors);
    zn_free(p);
}

const zn_observer *zn_profiler_observer(zn_profiler *p, int slot) {
    if (!p || slot < 0 || slot >= p->n_slots || !p->slots[slot].active) return NULL;
    return &p->slots[slot].obs;
}

zn_status zn_profiler_attach(zn_profiler *p, int slot, zn_session *s) {
    if (!p || !s || slot < 0 || slot >= p->n_slots)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "profiler: slot %d is out of range (the profiler has %d)",
                            slot, p ? p->n_slots : 0);
    if (zn_session_plan(s) != p->plan)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                            "profiler: the session runs another plan than the one the profiler was made for");
    zn_session_set_observer(s, zn_profiler_observer(p, slot));
    return ZN_OK;
}

bool zn_profiler_nvtx_active(const zn_profiler *p) { return p && p->nvtx; }

void zn_profiler_reset(zn_profiler *p) {
    if (!p) return;
    for (int k = 0; k < p->n_slots; k++) slot_clear(&p->slots[k], p->n_steps);
}

/* ---- merge ---------------------------------------------------------------------------------- */

static int cmp_node(const void *a, const void *b) {
    const zn_profile_node *x = a, *y = b;
    if (x->total_ns != y->total_ns) return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_op(const void *a, const void *b) {
    const zn_profile_op *x = a, *y = b;
    if (x->total_ns != y->total_ns) return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->op, y->op);
}

zn_status zn_profiler_collect(const zn_profiler *p, zn_profile *out) {
    memset(out, 0, sizeof *out);
    if (!p) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "profiler: collect needs a profiler");
    int n = p->n_steps;
    out->nodes = zn_calloc(n > 0 ? (size_t)n : 1, sizeof *out->nodes);
    out->ops = zn_calloc(ZN_OP_COUNT, sizeof *out->ops);
    int *op_index = zn_calloc(ZN_OP_COUNT, sizeof *op_index);
    if (!out->nodes || !out->ops || !op_index) {
        zn_free(op_index);
        zn_profile_free(out);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory merging the profile of %d steps", n);
    }
    for (int k = 0; k < p->n_slots; k++) {
        out->runs += p->slots[k].runs;
        out->run_ns += p->slots[k].run_ns;
    }
    for (int o = 0; o < ZN_OP_COUNT; o++) op_index[o] = -1;
    for (int i = 0; i < n; i++) {
        zn_step_info si = zn_plan_step(p->plan, i);
        zn_profile_node *nd = &out->nodes[i];
        snprintf(nd->name, sizeof nd->name, "%s", si.node ? si.node : "?");
        snprintf(nd->op, sizeof nd->op, "%s", zn_op_name(si.op));
        snprintf(nd->kernel, sizeof nd->kernel, "%s", si.kernel ? si.kernel : "?");
        nd->min_ns = INT64_MAX;
        for (int k = 0; k < p->n_slots; k++) {
            const step_stat *c = &p->slots[k].steps[i];
            nd->count += c->count;
            nd->total_ns += c->total;
            if (c->count && c->min < nd->min_ns) nd->min_ns = c->min;
            if (c->max > nd->max_ns) nd->max_ns = c->max;
        }
        if (!nd->count) nd->min_ns = 0;
        nd->mean_ns = nd->count ? (double)nd->total_ns / (double)nd->count : 0;
        out->total_ns += nd->total_ns;

        int op = (int)si.op;
        if (op < 0 || op >= ZN_OP_COUNT) continue;
        if (op_index[op] < 0) {
            op_index[op] = out->n_ops++;
            snprintf(out->ops[op_index[op]].op, sizeof out->ops[0].op, "%s", nd->op);
        }
        zn_profile_op *po = &out->ops[op_index[op]];
        po->nodes++;
        po->count += nd->count;
        po->total_ns += nd->total_ns;
    }
    zn_free(op_index);
    out->n_nodes = n;
    double total = (double)out->total_ns;
    for (int i = 0; i < n; i++) out->nodes[i].share = total > 0 ? out->nodes[i].total_ns / total : 0;
    for (int o = 0; o < out->n_ops; o++) {
        zn_profile_op *po = &out->ops[o];
        po->share = total > 0 ? po->total_ns / total : 0;
        po->mean_ns = po->count ? (double)po->total_ns / (double)po->count : 0;
    }
    if (n > 1) qsort(out->nodes, (size_t)n, sizeof *out->nodes, cmp_node);
    if (out->n_ops > 1) qsort(out->ops, (size_t)out->n_ops, sizeof *out->ops, cmp_op);
    return ZN_OK;
}

void zn_profile_free(zn_profile *pr) {
    if (!pr) return;
    zn_free(pr->nodes);
    zn_free(pr->ops);
    memset(pr, 0, sizeof *pr);
}

zn_status zn_profile_copy(zn_profile *dst, const zn_profile *src) {
    *dst = *src;
    dst->nodes = NULL;
    dst->ops = NULL;
    if (src->n_nodes > 0) {
        dst->nodes = zn_malloc((size_t)src->n_nodes * sizeof *dst->nodes);
        if (!dst->nodes) goto oom;
        memcpy(dst->nodes, src->nodes, (size_t)src->n_nodes * sizeof *dst->nodes);
    }
    if (src->n_ops > 0) {
        dst->ops = zn_malloc((size_t)src->n_ops * sizeof *dst->ops);
        if (!dst->ops) goto oom;
        memcpy(dst->ops, src->ops, (size_t)src->n_ops * sizeof *dst->ops);
    }
    return ZN_OK;
oom:
    zn_profile_free(dst);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory copying a profile");
}

/* ---- added for live views: racy read while sessions run (see profile.h) -------------------- */

zn_status zn_profiler_peek(const zn_profiler *p, zn_profile *out) {
    /* collect() only reads the slots; running sessions may update them meanwhile, which makes
     * the numbers approximate (documented) but never touches freed or unowned memory. */
    return zn_profiler_collect(p, out);
}

