/* cupti.c — the CUPTI collector (cupti.h): subscription, activity kinds, buffers, the drain
 * thread and the per-session observers that push external correlation ids.
 *
 * Buffers: CUPTI asks for one (buffer_requested: 8 MiB, with a queue header in front of the
 * part CUPTI sees) and returns it full, or at a flush (buffer_completed, on CUPTI's thread or on
 * the flushing one), which only queues it under g_mu; drain() parses queued buffers in order,
 * one drainer at a time, on the drain thread or in zn_cupti_flush. CUPTI's callbacks are
 * process-wide, so the collector they feed is the global g_active; a buffer that completes when
 * none is active is freed.
 *
 * $ZENITH_CUPTI_DRIVER=0 leaves the driver API launch records off (they attribute kernels that
 * libraries launch through cuLaunchKernel directly, at one more record per launch). */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alloc.h"
#include "engine/log.h"
#include "profiling/cupti.h"

#ifdef ZN_WITH_CUDA

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cupti.h>
#pragma GCC diagnostic pop

#define BUF_BYTES ((size_t)8 << 20)
#define BUF_HEADER 64 /* a qbuf in front of what CUPTI sees; keeps CUPTI's part 8-byte aligned */

typedef struct qbuf {
    struct qbuf *next;
    size_t valid;
} qbuf;

typedef struct cupti_slot {
    zn_cupti *owner;
    int slot;
    uint32_t run;
    zn_observer obs;
    zn_observer inner;
} cupti_slot;

struct zn_cupti {
    zn_gpu_trace *trace;
    CUpti_SubscriberHandle sub;
    int n_slots;
    cupti_slot *slots;
    atomic_uint epoch;
    int n_kinds;
    CUpti_ActivityKind kinds[8];   /* enabled, to disable at stop */
    bool driver_apis;
    /* the queue, under g_mu */
    qbuf *head, *tail;
    uint64_t dropped;
    bool stop;
    pthread_cond_t cv;
    pthread_t th;
    bool thread_running;
    pthread_mutex_t drain_mu;      /* one drainer at a time: buffers parse in order */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static zn_cupti *g_active;
static char g_note[200] = "CUPTI not started";
static atomic_int g_said_taken, g_said_failed; /* each said once per process */

static _Thread_local zn_cupti *tl_owner; /* the step being run (or captured) on this thread */
static _Thread_local int tl_slot, tl_step = -1;

static const CUpti_CallbackId driver_launch_cbids[] = {
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel,           CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx,         CUPTI_DRIVER_TRACE_CBID_cuLaunchKernelEx_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel, CUPTI_DRIVER_TRACE_CBID_cuLaunchCooperativeKernel_ptsz,
    CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch,            CUPTI_DRIVER_TRACE_CBID_cuGraphLaunch_ptsz,
};

bool zn_cupti_compiled(void) { return true; }
const char *zn_cupti_note(void) { return g_note; }

static const char *cupti_err(CUptiResult r) {
    const char *s = NULL;
    if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s) s = "unknown CUPTI error";
    return s;
}

static void set_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&g_mu);
    vsnprintf(g_note, sizeof g_note, fmt, ap);
    pthread_mutex_unlock(&g_mu);
    va_end(ap);
}

/* ---- buffers --------------------------------------------------------------------------------------- */

static void CUPTIAPI buffer_requested(uint8_t **buf, size_t *size, size_t *max_records) {
    uint8_t *raw = malloc(BUF_HEADER + BUF_BYTES);
    *buf = raw ? raw + BUF_HEADER : NULL;
    *size = raw ? BUF_BYTES : 0;
    *max_records = 0;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buf, size_t size, size_t valid) {
    (void)size;
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) != CUPTI_SUCCESS) dropped = 0;
    if (!buf) return;
    qbuf *q = (qbuf *)(void *)(buf - BUF_HEADER);
    q->next = NULL;
    q->valid = valid;
    pthread_mutex_lock(&g_mu);
    zn_cupti *c = g_active;
    if (c) {
        c->dropped += dropped;
        if (valid > 0) {
            if (c->tail) c->tail->next = q;
            else c->head = q;
            c->tail = q;
            q = NULL;
            pthread_cond_signal(&c->cv);
        }
    }
    pthread_mutex_unlock(&g_mu);
    free(q); /* not queued */
}

static int cupti_next(uint8_t *buf, size_t valid, const void **rec) {
    CUpti_Activity *r = (CUpti_Activity *)(uintptr_t)*rec;
    CUptiResult s = cuptiActivityGetNextRecord(buf, valid, &r);
    if (s == CUPTI_SUCCESS) {
        *rec = r;
        return 1;
    }
    return s == CUPTI_ERROR_MAX_LIMIT_REACHED ? 0 : -1;
}

/* Parses every queued buffer, in order. */
static void drain(zn_cupti *c) {
    pthread_mutex_lock(&c->drain_mu);
    for (;;) {
        pthread_mutex_lock(&g_mu);
        qbuf *q = c->head;
        if (q) {
            c->head = q->next;
            if (!c->head) c->tail = NULL;
        }
        uint64_t dropped = c->dropped;
        c->dropped = 0;
        pthread_mutex_unlock(&g_mu);
        zn_gpu_trace_add_dropped(c->trace, dropped);
        if (!q) break;
        if (zn_gpu_trace_add_buffer(c->trace, (uint8_t *)q + BUF_HEADER, q->valid, cupti_next) < 0)
            ZN_LOGD("cupti", "an activity buffer ended in a malformed record; the rest of it was skipped");
        free(q);
    }
    pthread_mutex_unlock(&c->drain_mu);
}

static void *drain_main(void *arg) {
    zn_cupti *c = arg;
    pthread_mutex_lock(&g_mu);
    while (!c->stop) {
        while (!c->stop && !c->head) pthread_cond_wait(&c->cv, &g_mu);
        if (c->stop) break;
        pthread_mutex_unlock(&g_mu);
        drain(c);
        pthread_mutex_lock(&g_mu);
    }
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

/* ---- graph nodes: which step created them (resource callbacks) ------------------------------------- */

static void CUPTIAPI on_callback(void *user, CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void *data) {
    zn_cupti *c = user;
    if (domain != CUPTI_CB_DOMAIN_RESOURCE || !data) return;
    const CUpti_GraphData *g = ((const CUpti_ResourceData *)data)->resourceDescriptor;
    if (!g) return;
    uint64_t id = 0, orig = 0;
    if (cbid == CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED) {
        if (tl_owner != c || tl_step < 0) return; /* made outside a step (input/output copies) */
        if (cuptiGetGraphNodeId(g->node, &id) == CUPTI_SUCCESS) zn_gpu_trace_graph_node(c->trace, id, tl_slot, tl_step);
    } else if (cbid == CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED) {
        if (cuptiGetGraphNodeId(g->originalNode, &orig) == CUPTI_SUCCESS &&
            cuptiGetGraphNodeId(g->node, &id) == CUPTI_SUCCESS)
            zn_gpu_trace_graph_node_cloned(c->trace, orig, id);
    }
}

/* ---- the observers: external correlation ids around runs and steps --------------------------------- */

static inline uint64_t xid(const cupti_slot *sl, int step) {
    return zn_gpu_xid(atomic_load_explicit(&sl->owner->epoch, memory_order_relaxed), sl->slot, sl->run, step);
}

static void on_run_begin(void *user, const zn_session *s) {
    cupti_slot *sl = user;
    sl->run++;
    cuptiActivityPushExternalCorrelationId((CUpti_ExternalCorrelationKind)ZN_GPU_XID_KIND, xid(sl, -1));
    if (sl->inner.run_begin) sl->inner.run_begin(sl->inner.user, s);
}

static void on_run_end(void *user, const zn_session *s, zn_status st) {
    cupti_slot *sl = user;
    if (sl->inner.run_end) sl->inner.run_end(sl->inner.user, s, st);
    uint64_t last;
    cuptiActivityPopExternalCorrelationId((CUpti_ExternalCorrelationKind)ZN_GPU_XID_KIND, &last);
}

static void on_step_begin(void *user, const zn_session *s, int step) {
    cupti_slot *sl = user;
    cuptiActivityPushExternalCorrelationId((CUpti_ExternalCorrelationKind)ZN_GPU_XID_KIND, xid(sl, step));
    tl_owner = sl->owner;
    tl_slot = sl->slot;
    tl_step = step;
    if (sl->inner.step_begin) sl->inner.step_begin(sl->inner.user, s, step);
}

static void on_step_end(void *user, const zn_session *s, int step) {
    cupti_slot *sl = user;
    if (sl->inner.step_end) sl->inner.step_end(sl->inner.user, s, step);
    tl_step = -1;
    uint64_t last;
    cuptiActivityPopExternalCorrelationId((CUpti_ExternalCorrelationKind)ZN_GPU_XID_KIND, &last);
}

const zn_observer *zn_cupti_observer(zn_cupti *c, int slot, const zn_observer *inner) {
    if (!c || slot < 0 || slot >= c->n_slots) return inner;
    cupti_slot *sl = &c->slots[slot];
    if (inner) sl->inner = *inner;
    else memset(&sl->inner, 0, sizeof sl->inner);
    return &sl->obs;
}

/* ---- lifecycle -------------------------------------------------------------------------------------- */

static void disable_all(zn_cupti *c) {
    for (int i = c->n_kinds - 1; i >= 0; i--) cuptiActivityDisable(c->kinds[i]);
    c->n_kinds = 0;
    if (c->driver_apis)
        for (size_t i = 0; i < sizeof driver_launch_cbids / sizeof driver_launch_cbids[0]; i++)
            cuptiActivityEnableDriverApi(driver_launch_cbids[i], 0);
    c->driver_apis = false;
}

static zn_status taken(const char *by) {
    char who[160];
    snprintf(who, sizeof who, "%s", by && *by ? by : "another tool (Nsight Systems, Nsight Compute, a debugger)");
    if (atomic_exchange(&g_said_taken, 1) == 0)
        ZN_LOGW("cupti", "CUPTI is taken by %s: GPU kernel timing is off, NVTX ranges only", who);
    set_note("CUPTI taken by %s: NVTX ranges only", who);
    zn_error_set(ZN_ERR_UNSUPPORTED, "CUPTI is taken by %s", who);
    zn_error_hint("kernel times come from that tool; run without it for Zenith's own GPU profile");
    return ZN_ERR_UNSUPPORTED;
}

static zn_status failed(const char *call, CUptiResult r) {
    char what[200];
    snprintf(what, sizeof what, "%s failed: %s", call, cupti_err(r));
    set_note("CUPTI unavailable (%s): no GPU kernel timing", what);
    if (atomic_exchange(&g_said_failed, 1) == 0) ZN_LOGW("cupti", "%s; GPU kernel timing is off", what);
    return zn_error_set(ZN_ERR_UNSUPPORTED, "CUPTI: %s", what);
}

static bool is_taken(CUptiResult r) {
    return r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED || r == CUPTI_ERROR_NOT_COMPATIBLE;
}

zn_status zn_cupti_start(const zn_plan *plan, int n_slots, zn_cupti **out) {
    *out = NULL;
    pthread_mutex_lock(&g_mu);
    bool busy = g_active != NULL;
    pthread_mutex_unlock(&g_mu);
    if (busy) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "a CUPTI collector is already running in this process");
    zn_cupti *c = zn_calloc(1, sizeof *c);
    if (!c) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory starting CUPTI");
    pthread_mutex_init(&c->drain_mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    zn_status st = zn_gpu_trace_new_for_plan(plan, n_slots, &c->trace);
    if (st != ZN_OK) goto fail;
    c->n_slots = n_slots;
    atomic_init(&c->epoch, zn_gpu_trace_epoch(c->trace));
    if (!(c->slots = zn_calloc((size_t)n_slots, sizeof *c->slots))) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory starting CUPTI");
        goto fail;
    }
    for (int k = 0; k < n_slots; k++) {
        cupti_slot *sl = &c->slots[k];
        sl->owner = c;
        sl->slot = k;
        sl->obs = (zn_observer){sl, on_run_begin, on_run_end, on_step_begin, on_step_end};
    }

    char old[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN + 64] = "";
    CUpti_SubscriberParams prm;
    memset(&prm, 0, sizeof prm);
    prm.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
    prm.subscriberName = "Zenith";
    prm.oldSubscriberName = old;
    prm.oldSubscriberSize = sizeof old;
    CUptiResult r = cuptiSubscribe_v2(&c->sub, on_callback, c, &prm);
    if (r != CUPTI_SUCCESS) {
        c->sub = NULL;
        st = is_taken(r) ? taken(old) : failed("cuptiSubscribe", r);
        goto fail;
    }
    if (cuptiEnableCallback(1, c->sub, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_GRAPHNODE_CREATED) != CUPTI_SUCCESS ||
        cuptiEnableCallback(1, c->sub, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_GRAPHNODE_CLONED) != CUPTI_SUCCESS)
        ZN_LOGW("cupti", "the graph-node callbacks could not be enabled: kernels of CUDA graph replays count per run, "
                         "not per node");
    if ((r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed)) != CUPTI_SUCCESS) {
        st = is_taken(r) ? taken(old) : failed("cuptiActivityRegisterCallbacks", r);
        goto fail;
    }
    pthread_mutex_lock(&g_mu);
    g_active = c;
    pthread_mutex_unlock(&g_mu);
    static const CUpti_ActivityKind kinds[] = {
        CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION, CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
        CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET,
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if ((r = cuptiActivityEnable(kinds[i])) != CUPTI_SUCCESS) {
            st = is_taken(r) ? taken(old) : failed("cuptiActivityEnable", r);
            goto fail;
        }
        c->kinds[c->n_kinds++] = kinds[i];
    }
    const char *drv = getenv("ZENITH_CUPTI_DRIVER");
    if (!drv || strcmp(drv, "0") != 0) {
        c->driver_apis = true;
        for (size_t i = 0; i < sizeof driver_launch_cbids / sizeof driver_launch_cbids[0]; i++)
            if ((r = cuptiActivityEnableDriverApi(driver_launch_cbids[i], 1)) != CUPTI_SUCCESS)
                ZN_LOGD("cupti", "driver API %u not traced: %s", (unsigned)driver_launch_cbids[i], cupti_err(r));
    }
    if (pthread_create(&c->th, NULL, drain_main, c) != 0) {
        st = zn_error_set(ZN_ERR_RUNTIME, "could not start the CUPTI drain thread");
        goto fail;
    }
    c->thread_running = true;
    set_note("%s", "kernels traced with CUPTI");
    *out = c;
    return ZN_OK;
fail:
    zn_cupti_stop(c);
    return st;
}

void zn_cupti_stop(zn_cupti *c) {
    if (!c) return;
    if (c->n_kinds || c->driver_apis) {
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
        disable_all(c);
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    }
    if (c->sub) cuptiUnsubscribe(c->sub);
    pthread_mutex_lock(&g_mu);
    if (g_active == c) g_active = NULL;
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&g_mu);
    if (c->thread_running) pthread_join(c->th, NULL);
    for (qbuf *q = c->head, *n; q; q = n) {
        n = q->next;
        free(q);
    }
    zn_gpu_trace_free(c->trace);
    zn_free(c->slots);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->drain_mu);
    zn_free(c);
}

void zn_cupti_reset(zn_cupti *c) {
    if (!c) return;
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    drain(c);
    atomic_store(&c->epoch, zn_gpu_trace_reset(c->trace));
}

zn_status zn_cupti_flush(zn_cupti *c, bool forced) {
    if (!c) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "CUPTI: no collector to flush");
    CUptiResult r = cuptiActivityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0);
    drain(c);
    if (r != CUPTI_SUCCESS) return zn_error_set(ZN_ERR_RUNTIME, "cuptiActivityFlushAll failed: %s", cupti_err(r));
    return ZN_OK;
}

zn_status zn_cupti_collect(zn_cupti *c, zn_gpu_profile *out, bool final) {
    if (!c) {
        memset(out, 0, sizeof *out);
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "CUPTI: no collector");
    }
    if (final) zn_gpu_trace_finish(c->trace);
    return zn_gpu_trace_collect(c->trace, out);
}

#else /* no CUDA backend: no collector */

bool zn_cupti_compiled(void) { return false; }
const char *zn_cupti_note(void) { return "not in this build (no CUDA backend)"; }

zn_status zn_cupti_start(const zn_plan *plan, int n_slots, zn_cupti **out) {
    (void)plan, (void)n_slots;
    *out = NULL;
    zn_error_set(ZN_ERR_UNSUPPORTED, "CUPTI is not available: this build has no CUDA backend");
    zn_error_hint("rebuild on a machine with the CUDA toolkit (make clean && make)");
    return ZN_ERR_UNSUPPORTED;
}
void zn_cupti_stop(zn_cupti *c) { (void)c; }
const zn_observer *zn_cupti_observer(zn_cupti *c, int slot, const zn_observer *inner) {
    (void)c, (void)slot;
    return inner;
}
void zn_cupti_reset(zn_cupti *c) { (void)c; }
zn_status zn_cupti_flush(zn_cupti *c, bool forced) {
    (void)c, (void)forced;
    return zn_error_set(ZN_ERR_UNSUPPORTED, "CUPTI is not available: this build has no CUDA backend");
}
zn_status zn_cupti_collect(zn_cupti *c, zn_gpu_profile *out, bool final) {
    (void)c, (void)final;
    memset(out, 0, sizeof *out);
    return zn_error_set(ZN_ERR_UNSUPPORTED, "CUPTI is not available: this build has no CUDA backend");
}

#endif
