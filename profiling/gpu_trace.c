/* gpu_trace.c — the CUPTI activity parser and aggregator (gpu_trace.h).
 *
 * Layout of the state, all under one mutex:
 *   corr[]      correlationId -> external id, a direct-mapped table indexed by the id's low bits
 *               (ids grow by one per API call, so an entry is overwritten only after 2^bits
 *               newer calls; the full id is kept and compared)
 *   gnodes      graph node id -> (slot, step), open addressing
 *   names       mangled kernel name -> display name, open addressing (names are few)
 *   sites       (name, step, grid, block, dynamic smem) -> count / total / min / max
 *   steps[]     per step count and total
 *   rings       per slot, the last RUN_RING runs' H2D / D2H / compute / busy accumulators;
 *               a run leaves its ring (into the per-run statistics) when a newer run pushes
 *               it out, or at collect time (in a copy)
 *   pending[]   device records whose correlation has not arrived yet
 * The profile helpers at the end (free / copy / node lookup) are built everywhere. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alloc.h"
#include "profiling/gpu_trace.h"

#if defined(ZN_WITH_CUDA)
#define ZN_GPU_TRACE_ON 1
#elif defined(__has_include)
#if __has_include(<cupti_activity.h>)
#define ZN_GPU_TRACE_ON 1
#endif
#endif

/* ---- kernel names: built everywhere (no CUPTI needed) ----------------------------------------- */

typedef char *(*demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static demangle_fn g_demangle;
static pthread_once_t g_demangle_once = PTHREAD_ONCE_INIT;

/* abi::__cxa_demangle is extern "C" in libstdc++: take it from the process (CUDA libraries load
 * libstdc++) or load libstdc++ for it. The handle is kept for the process's life. */
static void find_demangler(void) {
    void *f = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (!f) {
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h) f = dlsym(h, "__cxa_demangle");
    }
    memcpy(&g_demangle, &f, sizeof g_demangle < sizeof f ? sizeof g_demangle : sizeof f);
}

bool zn_gpu_demangler_available(void) {
    pthread_once(&g_demangle_once, find_demangler);
    return g_demangle != NULL;
}

/* Cuts "void ns::k<T, (int)4>(T*, int)" to "ns::k<T, (int)4>": the parameter list is the first
 * '(' outside <...> and {...} that is not "(anonymous namespace)". */
static void shorten(const char *s, char *out, size_t cap) {
    if (!strncmp(s, "void ", 5)) s += 5;
    size_t end = strlen(s);
    int angle = 0, brace = 0;
    for (size_t i = 0; s[i]; i++) {
        char ch = s[i];
        if (ch == '<') angle++;
        else if (ch == '>' && angle > 0) angle--;
        else if (ch == '{') brace++;
        else if (ch == '}' && brace > 0) brace--;
        else if (ch == '(' && angle == 0 && brace == 0) {
            static const char anon[] = "(anonymous namespace)";
            if (!strncmp(s + i, anon, sizeof anon - 1)) {
                i += sizeof anon - 2;
                continue;
            }
            if (i > 0) end = i;
            break;
        }
    }
    if (cap == 0) return;
    if (end >= cap) {
        /* keep the start (namespace and name), mark the cut */
        size_t keep = cap > 4 ? cap - 4 : cap - 1;
        memcpy(out, s, keep);
        if (cap > 4) memcpy(out + keep, "...", 4);
        else out[keep] = 0;
        return;
    }
    memcpy(out, s, end);
    out[end] = 0;
}

void zn_gpu_kernel_display_name(const char *mangled, char *out, size_t cap) {
    if (!cap) return;
    if (!mangled || !*mangled) {
        snprintf(out, cap, "?");
        return;
    }
    char *dm = NULL;
    if (!strncmp(mangled, "_Z", 2) && zn_gpu_demangler_available()) {
        int status = -1;
        dm = g_demangle(mangled, NULL, NULL, &status);
        if (status != 0) {
            free(dm);
            dm = NULL;
        }
    }
    shorten(dm ? dm : mangled, out, cap);
    free(dm); /* __cxa_demangle allocates with malloc */
}

/* ---- profile helpers: built everywhere -------------------------------------------------------- */

void zn_gpu_profile_free(zn_gpu_profile *p) {
    if (!p) return;
    zn_free(p->nodes);
    zn_free(p->kernels);
    memset(p, 0, sizeof *p);
}

zn_status zn_gpu_profile_copy(zn_gpu_profile *dst, const zn_gpu_profile *src) {
    *dst = *src;
    dst->nodes = NULL;
    dst->kernels = NULL;
    if (src->n_nodes > 0) {
        if (!(dst->nodes = zn_malloc((size_t)src->n_nodes * sizeof *dst->nodes))) goto oom;
        memcpy(dst->nodes, src->nodes, (size_t)src->n_nodes * sizeof *dst->nodes);
    }
    if (src->n_kernels > 0) {
        if (!(dst->kernels = zn_malloc((size_t)src->n_kernels * sizeof *dst->kernels))) goto oom;
        memcpy(dst->kernels, src->kernels, (size_t)src->n_kernels * sizeof *dst->kernels);
    }
    return ZN_OK;
oom:
    zn_gpu_profile_free(dst);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory copying a GPU profile");
}

const zn_gpu_node *zn_gpu_profile_node(const zn_gpu_profile *p, const char *name) {
    if (!p || !name) return NULL;
    for (int i = 0; i < p->n_nodes; i++)
        if (!strcmp(p->nodes[i].name, name)) return &p->nodes[i];
    return NULL;
}

#ifdef ZN_GPU_TRACE_ON

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cupti_activity.h>
#pragma GCC diagnostic pop

_Static_assert(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1 == ZN_GPU_XID_KIND, "ZN_GPU_XID_KIND is CUSTOM1");

bool zn_gpu_trace_compiled(void) { return true; }

/* ---- per-run statistics: count / min / max / sum and a log-linear histogram ------------------ */

#define LH_SUB 6                                  /* 64 sub-buckets per power of two: 1.6 % */
#define LH_MAX_EXP 40                             /* values clamp at 2^41 ns (~37 min) */
#define LH_BUCKETS (((LH_MAX_EXP - LH_SUB + 1) << LH_SUB) + (1 << LH_SUB))

typedef struct loghist {
    int64_t count, min, max;
    double sum;
    uint32_t *b; /* [LH_BUCKETS] */
} loghist;

static int lh_index(int64_t v) {
    if (v < 0) v = 0;
    if (v >= ((int64_t)2 << LH_MAX_EXP)) v = ((int64_t)2 << LH_MAX_EXP) - 1;
    if (v < (1 << LH_SUB)) return (int)v;
    int e = 63 - __builtin_clzll((unsigned long long)v);
    return ((e - LH_SUB + 1) << LH_SUB) + (int)((v >> (e - LH_SUB)) - (1 << LH_SUB));
}

/* Middle of bucket i. */
static int64_t lh_mid(int i) {
    if (i < (1 << LH_SUB)) return i;
    int e = (i >> LH_SUB) + LH_SUB - 1;
    int64_t m = (int64_t)((i & ((1 << LH_SUB) - 1)) + (1 << LH_SUB));
    int64_t w = (int64_t)1 << (e - LH_SUB);
    return m * w + w / 2;
}

static void lh_add(loghist *h, int64_t v) {
    if (v < 0) v = 0;
    if (!h->count || v < h->min) h->min = v;
    if (!h->count || v > h->max) h->max = v;
    h->count++;
    h->sum += (double)v;
    h->b[lh_index(v)]++;
}

static int64_t lh_pct(const loghist *h, double p) {
    if (!h->count) return 0;
    int64_t rank = (int64_t)(p / 100.0 * (double)h->count + 0.999999);
    if (rank < 1) rank = 1;
    int64_t seen = 0;
    for (int i = 0; i < LH_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            int64_t v = lh_mid(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

static zn_gpu_stat lh_stat(const loghist *h) {
    zn_gpu_stat s;
    memset(&s, 0, sizeof s);
    s.count = h->count;
    if (!h->count) return s;
    s.min = h->min;
    s.max = h->max;
    s.mean = h->sum / (double)h->count;
    s.p50 = lh_pct(h, 50);
    s.p90 = lh_pct(h, 90);
    s.p99 = lh_pct(h, 99);
    return s;
}

/* ---- the state ---------------------------------------------------------------------------------- */

enum { DEV_KERNEL = 1, DEV_MEMCPY, DEV_MEMSET };
enum { STAT_H2D, STAT_COMPUTE, STAT_D2H, STAT_BUSY, N_STATS };

/* The fields of a device activity the aggregation uses (a record may wait in `pending`). */
typedef struct dev_rec {
    uint8_t kind, copy_kind;
    uint32_t corr, corr2;      /* correlationId; memcpy: also runtimeCorrelationId (0: none) */
    uint64_t start, end;
    uint64_t graph_node;
    uint64_t bytes;
    int name;                  /* kernels: index into names */
    int32_t grid[3], block[3], cluster[3];
    int32_t regs, smem_static, smem_dynamic;
} dev_rec;

typedef struct name_ent {
    char *mangled;             /* NULL: empty slot */
    uint64_t hash;
    int id;
} name_ent;

typedef struct site_key {
    int name, step;
    int32_t grid[3], block[3];
    int32_t smem_dynamic;
} site_key;

typedef struct site {
    bool used;
    site_key k;
    uint64_t hash;
    int32_t regs, smem_static, cluster[3];
    int64_t count, total, min, max;
} site;

typedef struct gnode {
    uint64_t id;               /* 0: empty */
    int slot, step;
} gnode;

#define RUN_RING 8
typedef struct run_acc {
    bool used, has_compute;
    uint32_t run;
    int64_t h2d, d2h, busy;
    uint64_t c0, c1;           /* compute span */
} run_acc;

#define PENDING_MAX 65536

struct zn_gpu_trace {
    pthread_mutex_t mu;
    int n_steps, n_slots;
    char (*step_name)[ZN_MAX_NAME];
    char (*step_op)[32];
    char (*step_kernel)[64];
    unsigned epoch;
    /* correlation table */
    uint32_t corr_mask;
    uint32_t *corr_id;
    uint64_t *corr_xid;        /* 0: empty (a valid id has epoch >= 1) */
    uint64_t corr_added;       /* correlations seen: retry pending when it moved */
    uint64_t corr_at_retry;
    /* graph nodes */
    gnode *gn;
    size_t gn_cap, gn_n;
    /* kernel names */
    name_ent *nm;
    size_t nm_cap, nm_n;
    char **display;            /* [nm_n] display names */
    size_t display_cap;
    /* launch sites */
    site *sites;
    size_t site_cap, site_n;
    /* per step */
    int64_t *step_count, *step_total;
    /* per run */
    run_acc *rings;            /* [n_slots * RUN_RING] */
    uint32_t *newest;          /* [n_slots] newest run seen */
    bool *have_newest;
    loghist stats[N_STATS];
    /* pending */
    dev_rec *pending;
    size_t pend_n, pend_cap;
    /* totals */
    zn_gpu_profile tot;        /* scalar counters only (no arrays) */
    uint64_t t_first, t_last;
};

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void copy_name(char *dst, size_t n, const char *s) { snprintf(dst, n, "%s", s ? s : ""); }

zn_status zn_gpu_trace_new(int n_steps, const zn_gpu_step_desc *steps, int n_slots, int corr_bits,
                           zn_gpu_trace **out) {
    *out = NULL;
    if (n_steps < 0 || n_steps > ZN_GPU_MAX_STEPS || n_slots < 1 || n_slots > ZN_GPU_MAX_SLOTS)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "GPU trace: %d steps and %d sessions do not fit (at most %d and %d)",
                            n_steps, n_slots, ZN_GPU_MAX_STEPS, ZN_GPU_MAX_SLOTS);
    if (corr_bits <= 0) corr_bits = 19;
    if (corr_bits < 4) corr_bits = 4;
    if (corr_bits > 24) corr_bits = 24;
    zn_gpu_trace *t = zn_calloc(1, sizeof *t);
    if (!t) goto oom;
    pthread_mutex_init(&t->mu, NULL);
    t->n_steps = n_steps;
    t->n_slots = n_slots;
    t->epoch = 1;
    size_t ns = n_steps > 0 ? (size_t)n_steps : 1;
    t->step_name = zn_calloc(ns, sizeof *t->step_name);
    t->step_op = zn_calloc(ns, sizeof *t->step_op);
    t->step_kernel = zn_calloc(ns, sizeof *t->step_kernel);
    t->step_count = zn_calloc(ns, sizeof *t->step_count);
    t->step_total = zn_calloc(ns, sizeof *t->step_total);
    t->corr_mask = (1u << corr_bits) - 1;
    t->corr_id = zn_calloc((size_t)t->corr_mask + 1, sizeof *t->corr_id);
    t->corr_xid = zn_calloc((size_t)t->corr_mask + 1, sizeof *t->corr_xid);
    t->rings = zn_calloc((size_t)n_slots * RUN_RING, sizeof *t->rings);
    t->newest = zn_calloc((size_t)n_slots, sizeof *t->newest);
    t->have_newest = zn_calloc((size_t)n_slots, sizeof *t->have_newest);
    if (!t->step_name || !t->step_op || !t->step_kernel || !t->step_count || !t->step_total || !t->corr_id ||
        !t->corr_xid || !t->rings || !t->newest || !t->have_newest)
        goto oom;
    for (int k = 0; k < N_STATS; k++)
        if (!(t->stats[k].b = zn_calloc(LH_BUCKETS, sizeof *t->stats[k].b))) goto oom;
    for (int i = 0; i < n_steps && steps; i++) {
        copy_name(t->step_name[i], sizeof t->step_name[i], steps[i].node);
        copy_name(t->step_op[i], sizeof t->step_op[i], steps[i].op);
        copy_name(t->step_kernel[i], sizeof t->step_kernel[i], steps[i].kernel);
    }
    *out = t;
    return ZN_OK;
oom:
    zn_gpu_trace_free(t);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a GPU trace for %d steps", n_steps);
}

zn_status zn_gpu_trace_new_for_plan(const zn_plan *plan, int n_slots, zn_gpu_trace **out) {
    *out = NULL;
    if (!plan) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "GPU trace: no plan");
    int n = zn_plan_num_steps(plan);
    zn_gpu_step_desc *d = zn_calloc(n > 0 ? (size_t)n : 1, sizeof *d);
    if (!d) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a GPU trace");
    for (int i = 0; i < n; i++) {
        zn_step_info si = zn_plan_step(plan, i);
        d[i].node = si.node;
        d[i].op = zn_op_name(si.op);
        d[i].kernel = si.kernel;
    }
    zn_status st = zn_gpu_trace_new(n, d, n_slots, 0, out);
    zn_free(d);
    return st;
}

void zn_gpu_trace_free(zn_gpu_trace *t) {
    if (!t) return;
    zn_free(t->step_name);
    zn_free(t->step_op);
    zn_free(t->step_kernel);
    zn_free(t->step_count);
    zn_free(t->step_total);
    zn_free(t->corr_id);
    zn_free(t->corr_xid);
    zn_free(t->gn);
    for (size_t i = 0; i < t->nm_cap; i++) zn_free(t->nm ? t->nm[i].mangled : NULL);
    zn_free(t->nm);
    for (size_t i = 0; i < t->nm_n; i++) zn_free(t->display[i]);
    zn_free(t->display);
    zn_free(t->sites);
    zn_free(t->rings);
    zn_free(t->newest);
    zn_free(t->have_newest);
    for (int k = 0; k < N_STATS; k++) zn_free(t->stats[k].b);
    zn_free(t->pending);
    pthread_mutex_destroy(&t->mu);
    zn_free(t);
}

/* ---- hash tables ------------------------------------------------------------------------------ */

/* The id of a kernel name, interned on first sight; -1 out of memory. */
static int name_id(zn_gpu_trace *t, const char *mangled) {
    if (!mangled) mangled = "";
    size_t len = strlen(mangled);
    uint64_t h = fnv(mangled, len, 0xcbf29ce484222325ull);
    if ((t->nm_n + 1) * 2 > t->nm_cap) {
        size_t cap = t->nm_cap ? t->nm_cap * 2 : 64;
        name_ent *nm = zn_calloc(cap, sizeof *nm);
        if (!nm) return -1;
        for (size_t i = 0; i < t->nm_cap; i++) {
            if (!t->nm[i].mangled) continue;
            size_t j = t->nm[i].hash & (cap - 1);
            while (nm[j].mangled) j = (j + 1) & (cap - 1);
            nm[j] = t->nm[i];
        }
        zn_free(t->nm);
        t->nm = nm;
        t->nm_cap = cap;
    }
    size_t j = h & (t->nm_cap - 1);
    while (t->nm[j].mangled) {
        if (t->nm[j].hash == h && !strcmp(t->nm[j].mangled, mangled)) return t->nm[j].id;
        j = (j + 1) & (t->nm_cap - 1);
    }
    if (t->nm_n == t->display_cap) {
        size_t cap = t->display_cap ? t->display_cap * 2 : 32;
        char **d = zn_realloc(t->display, cap * sizeof *d);
        if (!d) return -1;
        t->display = d;
        t->display_cap = cap;
    }
    char disp[ZN_GPU_KERNEL_NAME];
    zn_gpu_kernel_display_name(mangled, disp, sizeof disp);
    char *m = zn_strdup(mangled), *dd = zn_strdup(disp);
    if (!m || !dd) {
        zn_free(m);
        zn_free(dd);
        return -1;
    }
    t->nm[j] = (name_ent){m, h, (int)t->nm_n};
    t->display[t->nm_n] = dd;
    return (int)t->nm_n++;
}

static site *site_get(zn_gpu_trace *t, const site_key *k) {
    uint64_t h = fnv(k, sizeof *k, 0xcbf29ce484222325ull);
    if ((t->site_n + 1) * 2 > t->site_cap) {
        size_t cap = t->site_cap ? t->site_cap * 2 : 256;
        site *s = zn_calloc(cap, sizeof *s);
        if (!s) return NULL;
        for (size_t i = 0; i < t->site_cap; i++) {
            if (!t->sites[i].used) continue;
            size_t j = t->sites[i].hash & (cap - 1);
            while (s[j].used) j = (j + 1) & (cap - 1);
            s[j] = t->sites[i];
        }
        zn_free(t->sites);
        t->sites = s;
        t->site_cap = cap;
    }
    size_t j = h & (t->site_cap - 1);
    while (t->sites[j].used) {
        if (t->sites[j].hash == h && !memcmp(&t->sites[j].k, k, sizeof *k)) return &t->sites[j];
        j = (j + 1) & (t->site_cap - 1);
    }
    site *s = &t->sites[j];
    memset(s, 0, sizeof *s);
    s->used = true;
    s->k = *k;
    s->hash = h;
    t->site_n++;
    return s;
}

static gnode *gnode_find(const zn_gpu_trace *t, uint64_t id) {
    if (!id || !t->gn_cap) return NULL;
    size_t j = mix64(id) & (t->gn_cap - 1);
    while (t->gn[j].id) {
        if (t->gn[j].id == id) return &t->gn[j];
        j = (j + 1) & (t->gn_cap - 1);
    }
    return NULL;
}

static void gnode_put(zn_gpu_trace *t, uint64_t id, int slot, int step) {
    if (!id) return;
    gnode *g = gnode_find(t, id);
    if (g) {
        g->slot = slot;
        g->step = step;
        return;
    }
    if ((t->gn_n + 1) * 2 > t->gn_cap) {
        size_t cap = t->gn_cap ? t->gn_cap * 2 : 1024;
        gnode *n = zn_calloc(cap, sizeof *n);
        if (!n) return; /* the node stays unmapped: its records count at the run level */
        for (size_t i = 0; i < t->gn_cap; i++) {
            if (!t->gn[i].id) continue;
            size_t j = mix64(t->gn[i].id) & (cap - 1);
            while (n[j].id) j = (j + 1) & (cap - 1);
            n[j] = t->gn[i];
        }
        zn_free(t->gn);
        t->gn = n;
        t->gn_cap = cap;
    }
    size_t j = mix64(id) & (t->gn_cap - 1);
    while (t->gn[j].id) j = (j + 1) & (t->gn_cap - 1);
    t->gn[j] = (gnode){id, slot, step};
    t->gn_n++;
}

void zn_gpu_trace_graph_node(zn_gpu_trace *t, uint64_t node_id, int slot, int step) {
    if (!t || step < 0 || step >= t->n_steps) return;
    pthread_mutex_lock(&t->mu);
    gnode_put(t, node_id, slot, step);
    pthread_mutex_unlock(&t->mu);
}

void zn_gpu_trace_graph_node_cloned(zn_gpu_trace *t, uint64_t original_id, uint64_t clone_id) {
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    gnode *g = gnode_find(t, original_id);
    if (g) {
        int slot = g->slot, step = g->step; /* gnode_put may move the table */
        gnode_put(t, clone_id, slot, step);
    }
    pthread_mutex_unlock(&t->mu);
}

/* ---- per-run accumulation ---------------------------------------------------------------------- */

static void run_finalize(zn_gpu_trace *t, run_acc *a) {
    if (!a->used) return;
    lh_add(&t->stats[STAT_H2D], a->h2d);
    lh_add(&t->stats[STAT_D2H], a->d2h);
    lh_add(&t->stats[STAT_COMPUTE], a->has_compute ? (int64_t)(a->c1 - a->c0) : 0);
    lh_add(&t->stats[STAT_BUSY], a->busy);
    a->used = false;
}

/* The accumulator of (slot, run); NULL when the run is too old to have one (late). */
static run_acc *run_get(zn_gpu_trace *t, int slot, uint32_t run) {
    run_acc *ring = &t->rings[(size_t)slot * RUN_RING];
    for (int i = 0; i < RUN_RING; i++)
        if (ring[i].used && ring[i].run == run) return &ring[i];
    uint32_t newest = t->newest[slot];
    bool newer = !t->have_newest[slot] || ((run - newest) & ZN_GPU_RUN_MASK) < (ZN_GPU_RUN_MASK >> 1);
    if (newer) {
        t->newest[slot] = run;
        t->have_newest[slot] = true;
        newest = run;
    }
    uint32_t age = (newest - run) & ZN_GPU_RUN_MASK;
    if (age >= RUN_RING) return NULL;
    /* a free entry, else the oldest one if it is older than this run */
    run_acc *victim = NULL;
    uint32_t victim_age = 0;
    for (int i = 0; i < RUN_RING; i++) {
        if (!ring[i].used) {
            victim = &ring[i];
            victim_age = ZN_GPU_RUN_MASK;
            break;
        }
        uint32_t a = (newest - ring[i].run) & ZN_GPU_RUN_MASK;
        if (!victim || a > victim_age) {
            victim = &ring[i];
            victim_age = a;
        }
    }
    if (victim->used && victim_age <= age) return NULL;
    run_finalize(t, victim);
    memset(victim, 0, sizeof *victim);
    victim->used = true;
    victim->run = run;
    return victim;
}

/* ---- device records ------------------------------------------------------------------------------ */

static inline uint64_t dur(const dev_rec *r) { return r->end > r->start ? r->end - r->start : 0; }

static bool corr_lookup(const zn_gpu_trace *t, uint32_t corr, uint64_t *xid) {
    if (!corr) return false;
    uint32_t i = corr & t->corr_mask;
    if (t->corr_xid[i] && t->corr_id[i] == corr) {
        *xid = t->corr_xid[i];
        return true;
    }
    return false;
}

static bool is_h2d(const dev_rec *r) {
    return r->kind == DEV_MEMCPY && (r->copy_kind == CUPTI_ACTIVITY_MEMCPY_KIND_HTOD ||
                                     r->copy_kind == CUPTI_ACTIVITY_MEMCPY_KIND_HTOA);
}
static bool is_d2h(const dev_rec *r) {
    return r->kind == DEV_MEMCPY && (r->copy_kind == CUPTI_ACTIVITY_MEMCPY_KIND_DTOH ||
                                     r->copy_kind == CUPTI_ACTIVITY_MEMCPY_KIND_ATOH);
}

/* Counts a record whose correlation is known (xid != 0) or given up on (xid == 0). */
static void account(zn_gpu_trace *t, const dev_rec *r, uint64_t xid) {
    zn_gpu_profile *p = &t->tot;
    int step = -1, slot = -1;
    bool have_run = false;
    uint32_t run = 0;
    if (xid) {
        if (zn_gpu_xid_epoch(xid) != (t->epoch & 0xFu)) {
            p->stale++;
            return;
        }
        slot = zn_gpu_xid_slot(xid);
        run = zn_gpu_xid_run(xid);
        step = zn_gpu_xid_step(xid);
        have_run = slot < t->n_slots;
        if (!have_run) slot = -1;
    }
    if (step < 0 && r->graph_node) {
        const gnode *g = gnode_find(t, r->graph_node);
        if (g) step = g->step;
    }
    if (step >= t->n_steps) step = -1;

    uint64_t d = dur(r);
    if (r->start || r->end) {
        if (!t->t_first || r->start < t->t_first) t->t_first = r->start;
        if (r->end > t->t_last) t->t_last = r->end;
    }
    if (r->graph_node) p->graph_records++;
    switch (r->kind) {
    case DEV_KERNEL:
        p->kernel_count++;
        p->kernel_ns += (int64_t)d;
        break;
    case DEV_MEMCPY:
        p->memcpy_count++;
        p->memcpy_ns += (int64_t)d;
        if (is_h2d(r)) {
            p->h2d_bytes += (int64_t)r->bytes;
            p->h2d_ns += (int64_t)d;
        } else if (is_d2h(r)) {
            p->d2h_bytes += (int64_t)r->bytes;
            p->d2h_ns += (int64_t)d;
        }
        break;
    default:
        p->memset_count++;
        p->memset_ns += (int64_t)d;
        break;
    }
    if (step >= 0) {
        p->attributed++;
        t->step_count[step]++;
        t->step_total[step] += (int64_t)d;
    } else if (have_run) {
        p->run_level++;
    } else {
        p->unattributed++;
    }
    if (r->kind == DEV_KERNEL && r->name >= 0) {
        site_key k;
        memset(&k, 0, sizeof k);
        k.name = r->name;
        k.step = step;
        memcpy(k.grid, r->grid, sizeof k.grid);
        memcpy(k.block, r->block, sizeof k.block);
        k.smem_dynamic = r->smem_dynamic;
        site *s = site_get(t, &k);
        if (s) {
            s->regs = r->regs;
            s->smem_static = r->smem_static;
            memcpy(s->cluster, r->cluster, sizeof s->cluster);
            if (!s->count || (int64_t)d < s->min) s->min = (int64_t)d;
            if ((int64_t)d > s->max) s->max = (int64_t)d;
            s->count++;
            s->total += (int64_t)d;
        }
    }
    if (!have_run) return;
    run_acc *a = run_get(t, slot, run);
    if (!a) {
        p->late++;
        return;
    }
    if (is_h2d(r)) {
        a->h2d += (int64_t)d;
    } else if (is_d2h(r)) {
        a->d2h += (int64_t)d;
    } else {
        a->busy += (int64_t)d;
        if (r->start || r->end) {
            if (!a->has_compute || r->start < a->c0) a->c0 = r->start;
            if (!a->has_compute || r->end > a->c1) a->c1 = r->end;
            a->has_compute = true;
        }
    }
}

/* Resolves and counts a record, or parks it until its correlation arrives. */
static void device_record(zn_gpu_trace *t, const dev_rec *r) {
    uint64_t xid;
    if (corr_lookup(t, r->corr, &xid) || corr_lookup(t, r->corr2, &xid)) {
        account(t, r, xid);
        return;
    }
    if (t->pend_n == t->pend_cap) {
        if (t->pend_cap >= PENDING_MAX) {
            account(t, r, 0); /* too many waiting: give up on this one */
            return;
        }
        size_t cap = t->pend_cap ? t->pend_cap * 2 : 256;
        dev_rec *n = zn_realloc(t->pending, cap * sizeof *n);
        if (!n) {
            account(t, r, 0);
            return;
        }
        t->pending = n;
        t->pend_cap = cap;
    }
    t->pending[t->pend_n++] = *r;
}

static void retry_pending(zn_gpu_trace *t, bool give_up) {
    if (!give_up && t->corr_added == t->corr_at_retry) return;
    t->corr_at_retry = t->corr_added;
    size_t keep = 0;
    for (size_t i = 0; i < t->pend_n; i++) {
        const dev_rec *r = &t->pending[i];
        uint64_t xid;
        if (corr_lookup(t, r->corr, &xid) || corr_lookup(t, r->corr2, &xid))
            account(t, r, xid);
        else if (give_up)
            account(t, r, 0);
        else
            t->pending[keep++] = *r;
    }
    t->pend_n = keep;
}

static void add_record_locked(zn_gpu_trace *t, const CUpti_Activity *rec) {
    dev_rec r;
    memset(&r, 0, sizeof r);
    r.name = -1;
    switch (rec->kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
        r.kind = DEV_KERNEL;
        r.corr = k->correlationId;
        r.start = k->start;
        r.end = k->end;
        r.graph_node = k->graphNodeId;
        r.name = name_id(t, k->name);
        r.grid[0] = k->gridX, r.grid[1] = k->gridY, r.grid[2] = k->gridZ;
        r.block[0] = k->blockX, r.block[1] = k->blockY, r.block[2] = k->blockZ;
        r.cluster[0] = (int32_t)k->clusterX, r.cluster[1] = (int32_t)k->clusterY, r.cluster[2] = (int32_t)k->clusterZ;
        r.regs = k->registersPerThread;
        r.smem_static = k->staticSharedMemory;
        r.smem_dynamic = k->dynamicSharedMemory;
        device_record(t, &r);
        break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const CUpti_ActivityMemcpy6 *m = (const CUpti_ActivityMemcpy6 *)rec;
        r.kind = DEV_MEMCPY;
        r.copy_kind = m->copyKind;
        r.corr = m->correlationId;
        r.corr2 = m->runtimeCorrelationId;
        r.start = m->start;
        r.end = m->end;
        r.graph_node = m->graphNodeId;
        r.bytes = m->bytes;
        device_record(t, &r);
        break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
        const CUpti_ActivityMemset4 *m = (const CUpti_ActivityMemset4 *)rec;
        r.kind = DEV_MEMSET;
        r.corr = m->correlationId;
        r.start = m->start;
        r.end = m->end;
        r.graph_node = m->graphNodeId;
        r.bytes = m->bytes;
        device_record(t, &r);
        break;
    }
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        const CUpti_ActivityExternalCorrelation *x = (const CUpti_ActivityExternalCorrelation *)rec;
        if (x->externalKind != (CUpti_ExternalCorrelationKind)ZN_GPU_XID_KIND || !zn_gpu_xid_epoch(x->externalId) ||
            !x->correlationId)
            break; /* another tool's id, or not one of ours (epoch 0 is never used) */
        uint32_t i = x->correlationId & t->corr_mask;
        t->corr_id[i] = x->correlationId;
        t->corr_xid[i] = x->externalId;
        t->corr_added++;
        break;
    }
    case CUPTI_ACTIVITY_KIND_RUNTIME:
    case CUPTI_ACTIVITY_KIND_DRIVER:
        t->tot.api_records++;
        break;
    default: break;
    }
}

void zn_gpu_trace_add_record(zn_gpu_trace *t, const void *record) {
    if (!t || !record) return;
    pthread_mutex_lock(&t->mu);
    add_record_locked(t, record);
    pthread_mutex_unlock(&t->mu);
}

int64_t zn_gpu_trace_add_buffer(zn_gpu_trace *t, uint8_t *buf, size_t valid, zn_gpu_record_next next) {
    if (!t || !buf || !next) return 0;
    int64_t n = 0;
    int rc;
    const void *rec = NULL;
    pthread_mutex_lock(&t->mu);
    while ((rc = next(buf, valid, &rec)) == 1) {
        add_record_locked(t, rec);
        n++;
    }
    retry_pending(t, false);
    pthread_mutex_unlock(&t->mu);
    return rc < 0 ? -1 : n;
}

void zn_gpu_trace_add_dropped(zn_gpu_trace *t, uint64_t n) {
    if (!t || !n) return;
    pthread_mutex_lock(&t->mu);
    t->tot.dropped += (int64_t)n;
    pthread_mutex_unlock(&t->mu);
}

unsigned zn_gpu_trace_reset(zn_gpu_trace *t) {
    if (!t) return 0;
    pthread_mutex_lock(&t->mu);
    t->epoch = t->epoch % 15 + 1; /* 1..15, never 0 */
    memset(&t->tot, 0, sizeof t->tot);
    t->t_first = t->t_last = 0;
    for (int i = 0; i < t->n_steps; i++) t->step_count[i] = t->step_total[i] = 0;
    if (t->sites) memset(t->sites, 0, t->site_cap * sizeof *t->sites);
    t->site_n = 0;
    memset(t->rings, 0, (size_t)t->n_slots * RUN_RING * sizeof *t->rings);
    memset(t->have_newest, 0, (size_t)t->n_slots * sizeof *t->have_newest);
    for (int k = 0; k < N_STATS; k++) {
        uint32_t *b = t->stats[k].b;
        memset(b, 0, LH_BUCKETS * sizeof *b);
        memset(&t->stats[k], 0, sizeof t->stats[k]);
        t->stats[k].b = b;
    }
    t->pend_n = 0;
    unsigned e = t->epoch;
    pthread_mutex_unlock(&t->mu);
    return e;
}

unsigned zn_gpu_trace_epoch(const zn_gpu_trace *t) { return t ? t->epoch : 0; }

void zn_gpu_trace_finish(zn_gpu_trace *t) {
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    retry_pending(t, true);
    pthread_mutex_unlock(&t->mu);
}

/* ---- collect ------------------------------------------------------------------------------------- */

static int cmp_node(const void *a, const void *b) {
    const zn_gpu_node *x = a, *y = b;
    if (x->total_ns != y->total_ns) return x->total_ns > y->total_ns ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_site(const void *a, const void *b) {
    const site *x = *(const site *const *)a, *y = *(const site *const *)b;
    if (x->total != y->total) return x->total > y->total ? -1 : 1;
    if (x->k.step != y->k.step) return x->k.step < y->k.step ? -1 : 1;
    return memcmp(&x->k, &y->k, sizeof x->k);
}

zn_status zn_gpu_trace_collect(zn_gpu_trace *t, zn_gpu_profile *out) {
    memset(out, 0, sizeof *out);
    if (!t) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "GPU trace: collect needs a trace");
    loghist tmp[N_STATS];
    memset(tmp, 0, sizeof tmp);
    const site **order = NULL;
    zn_status st = ZN_OK;
    pthread_mutex_lock(&t->mu);
    for (int k = 0; k < N_STATS; k++) {
        tmp[k] = t->stats[k];
        if (!(tmp[k].b = zn_malloc(LH_BUCKETS * sizeof *tmp[k].b))) goto oom;
        memcpy(tmp[k].b, t->stats[k].b, LH_BUCKETS * sizeof *tmp[k].b);
    }
    if (t->site_n && !(order = zn_malloc(t->site_n * sizeof *order))) goto oom;
    size_t ns = t->n_steps > 0 ? (size_t)t->n_steps : 1;
    if (!(out->nodes = zn_calloc(ns, sizeof *out->nodes))) goto oom;
    size_t keep = t->site_n < ZN_GPU_MAX_KERNELS ? t->site_n : ZN_GPU_MAX_KERNELS;
    if (keep && !(out->kernels = zn_calloc(keep, sizeof *out->kernels))) goto oom;

    /* scalars, then the open runs folded into copies of the statistics */
    zn_gpu_node *nodes = out->nodes;
    zn_gpu_kernel *kernels = out->kernels;
    *out = t->tot;
    out->nodes = nodes;
    out->kernels = kernels;
    out->window_ns = t->t_last > t->t_first ? (int64_t)(t->t_last - t->t_first) : 0;
    for (size_t i = 0; i < (size_t)t->n_slots * RUN_RING; i++) {
        const run_acc *a = &t->rings[i];
        if (!a->used) continue;
        lh_add(&tmp[STAT_H2D], a->h2d);
        lh_add(&tmp[STAT_D2H], a->d2h);
        lh_add(&tmp[STAT_COMPUTE], a->has_compute ? (int64_t)(a->c1 - a->c0) : 0);
        lh_add(&tmp[STAT_BUSY], a->busy);
    }
    out->h2d = lh_stat(&tmp[STAT_H2D]);
    out->compute = lh_stat(&tmp[STAT_COMPUTE]);
    out->d2h = lh_stat(&tmp[STAT_D2H]);
    out->busy = lh_stat(&tmp[STAT_BUSY]);
    out->runs = out->compute.count;

    out->n_nodes = t->n_steps;
    for (int i = 0; i < t->n_steps; i++) {
        zn_gpu_node *n = &out->nodes[i];
        copy_name(n->name, sizeof n->name, t->step_name[i]);
        copy_name(n->op, sizeof n->op, t->step_op[i]);
        copy_name(n->kernel, sizeof n->kernel, t->step_kernel[i]);
        n->count = t->step_count[i];
        n->total_ns = t->step_total[i];
        out->node_total_ns += n->total_ns;
    }
    for (int i = 0; i < t->n_steps; i++) {
        zn_gpu_node *n = &out->nodes[i];
        n->per_run_ns = out->runs > 0 ? (double)n->total_ns / (double)out->runs : 0;
        n->share = out->node_total_ns > 0 ? (double)n->total_ns / (double)out->node_total_ns : 0;
    }
    if (t->n_steps > 1) qsort(out->nodes, (size_t)t->n_steps, sizeof *out->nodes, cmp_node);

    size_t n_sites = 0;
    for (size_t i = 0; i < t->site_cap; i++)
        if (t->sites[i].used) order[n_sites++] = &t->sites[i];
    if (n_sites > 1) qsort(order, n_sites, sizeof *order, cmp_site);
    for (size_t i = 0; i < n_sites; i++) out->kernel_total_ns += order[i]->total;
    for (size_t i = 0; i < n_sites; i++) {
        const site *s = order[i];
        if (i >= keep) {
            out->other_kernels++;
            out->other_kernel_ns += s->total;
            continue;
        }
        zn_gpu_kernel *k = &out->kernels[i];
        copy_name(k->name, sizeof k->name, s->k.name >= 0 && (size_t)s->k.name < t->nm_n ? t->display[s->k.name] : "?");
        copy_name(k->node, sizeof k->node, s->k.step >= 0 ? t->step_name[s->k.step] : "");
        memcpy(k->grid, s->k.grid, sizeof k->grid);
        memcpy(k->block, s->k.block, sizeof k->block);
        memcpy(k->cluster, s->cluster, sizeof k->cluster);
        k->regs = s->regs;
        k->smem_static = s->smem_static;
        k->smem_dynamic = s->k.smem_dynamic;
        k->count = s->count;
        k->total_ns = s->total;
        k->min_ns = s->min;
        k->max_ns = s->max;
        k->mean_ns = s->count ? (double)s->total / (double)s->count : 0;
        k->share = out->kernel_total_ns > 0 ? (double)s->total / (double)out->kernel_total_ns : 0;
    }
    out->n_kernels = (int)keep;
    goto done;
oom:
    zn_gpu_profile_free(out);
    st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory collecting the GPU profile");
done:
    pthread_mutex_unlock(&t->mu);
    for (int k = 0; k < N_STATS; k++) zn_free(tmp[k].b);
    zn_free(order);
    return st;
}

#else /* no CUPTI headers: the trace cannot be built */

bool zn_gpu_trace_compiled(void) { return false; }

static zn_status no_cupti(void) {
    zn_error_set(ZN_ERR_UNSUPPORTED, "this build has no CUPTI headers: GPU kernel tracing is not available");
    zn_error_hint("rebuild with the CUDA toolkit installed (nvcc on the PATH or in /usr/local/cuda)");
    return ZN_ERR_UNSUPPORTED;
}

zn_status zn_gpu_trace_new(int n_steps, const zn_gpu_step_desc *steps, int n_slots, int corr_bits,
                           zn_gpu_trace **out) {
    (void)n_steps, (void)steps, (void)n_slots, (void)corr_bits;
    *out = NULL;
    return no_cupti();
}
zn_status zn_gpu_trace_new_for_plan(const zn_plan *plan, int n_slots, zn_gpu_trace **out) {
    (void)plan, (void)n_slots;
    *out = NULL;
    return no_cupti();
}
void zn_gpu_trace_free(zn_gpu_trace *t) { (void)t; }
void zn_gpu_trace_add_record(zn_gpu_trace *t, const void *record) { (void)t, (void)record; }
int64_t zn_gpu_trace_add_buffer(zn_gpu_trace *t, uint8_t *buf, size_t valid, zn_gpu_record_next next) {
    (void)t, (void)buf, (void)valid, (void)next;
    return 0;
}
void zn_gpu_trace_add_dropped(zn_gpu_trace *t, uint64_t n) { (void)t, (void)n; }
void zn_gpu_trace_graph_node(zn_gpu_trace *t, uint64_t node_id, int slot, int step) {
    (void)t, (void)node_id, (void)slot, (void)step;
}
void zn_gpu_trace_graph_node_cloned(zn_gpu_trace *t, uint64_t original_id, uint64_t clone_id) {
    (void)t, (void)original_id, (void)clone_id;
}
unsigned zn_gpu_trace_reset(zn_gpu_trace *t) {
    (void)t;
    return 0;
}
unsigned zn_gpu_trace_epoch(const zn_gpu_trace *t) {
    (void)t;
    return 0;
}
void zn_gpu_trace_finish(zn_gpu_trace *t) { (void)t; }
zn_status zn_gpu_trace_collect(zn_gpu_trace *t, zn_gpu_profile *out) {
    (void)t;
    memset(out, 0, sizeof *out);
    return no_cupti();
}

#endif
