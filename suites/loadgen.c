/* loadgen.c — running the scenarios: settings, the live snapshot, the issuing loops (stream,
 * server with its scheduler thread and batching workers, offline / accuracy worker pool), and
 * collecting the measurements. Judging the numbers is validity.c; the seeded schedule and
 * sample draws are schedule.c. Drives an abstract zn_sut; knows nothing of the engine.
 *
 * Threads: the caller's thread runs the stream loop or the server scheduler; workers (one per
 * SUT worker) call sut->run. Each worker accumulates into its own histograms (merged at the
 * end); the per-query ring and the live snapshot have their own locks. */
#include "loadgen.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "engine/alloc.h"
#include "engine/error.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define SPIN_NS INT64_C(50000)          /* spin the last 50 us before a scheduled arrival */
#define SLEEP_SLICE_NS INT64_C(20000000) /* re-check the stop flag at least every 20 ms */
#define LIVE_CACHE_NS INT64_C(50000000)  /* live percentiles recomputed at most every 50 ms */
#define LIVE_CK 16                       /* live QPS checkpoints, one per 100 ms */
#define DEFAULT_KEEP 100000

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec to_ts(int64_t ns) {
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const scenario_names[ZN_SCENARIO_COUNT] = {"single-stream", "multi-stream",
                                                              "server", "offline"};
static const char *const mode_names[ZN_TEST_MODE_COUNT] = {"performance", "accuracy",
                                                           "find-peak"};
static const char *const state_names[] = {"idle", "warming up", "running", "draining", "done"};

const char *zn_scenario_name(zn_scenario s) {
    return (unsigned)s < ZN_SCENARIO_COUNT ? scenario_names[s] : "?";
}
const char *zn_test_mode_name(zn_test_mode m) {
    return (unsigned)m < ZN_TEST_MODE_COUNT ? mode_names[m] : "?";
}
const char *zn_run_state_name(zn_run_state s) {
    return (unsigned)s <= ZN_RUN_DONE ? state_names[s] : "?";
}

/* Case-insensitive, '_' and '-' alike. */
static int name_eq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return *a == *b;
}

zn_status zn_scenario_parse(const char *name, zn_scenario *out) {
    for (int i = 0; name && i < ZN_SCENARIO_COUNT; i++)
        if (name_eq(name, scenario_names[i])) {
            *out = (zn_scenario)i;
            return ZN_OK;
        }
    zn_status st = zn_error_set(ZN_ERR_INVALID_ARGUMENT, "unknown scenario '%s'", name ? name : "");
    zn_error_hint("use one of: single-stream, multi-stream, server, offline");
    return st;
}

zn_status zn_test_mode_parse(const char *name, zn_test_mode *out) {
    for (int i = 0; name && i < ZN_TEST_MODE_COUNT; i++)
        if (name_eq(name, mode_names[i])) {
            *out = (zn_test_mode)i;
            return ZN_OK;
        }
    zn_status st = zn_error_set(ZN_ERR_INVALID_ARGUMENT, "unknown test mode '%s'", name ? name : "");
    zn_error_hint("use one of: performance, accuracy, find-peak");
    return st;
}

/* ---- settings --------------------------------------------------------------------------- */

zn_test_settings zn_test_settings_default(zn_scenario sc) {
    zn_test_settings s;
    memset(&s, 0, sizeof s);
    s.scenario = sc;
    s.mode = ZN_TEST_PERFORMANCE;
    s.min_duration_ms = 2000;
    s.max_duration_ms = 60000;
    s.target_latency_percentile = sc == ZN_SCENARIO_SINGLE_STREAM ? 90 : 99;
    s.samples_per_query = sc == ZN_SCENARIO_MULTI_STREAM ? 8 : 1;
    s.total_sample_count = 1024;
    s.performance_sample_count = 0;
    // LoadGen's published seeds (mlperf.conf); any fixed value makes runs repeatable.
    s.schedule_seed = 7575108116881280410ull;
    s.sample_seed = 198141574272810017ull;
    s.warmup_queries = 1;
    s.max_batch = 1;
    switch (sc) {
    /* quick runs: enough queries for MLPerf's early-stopping estimate at the metric's
     * percentile (p90 needs 64 queries, p99 needs 459) and no more */
    case ZN_SCENARIO_SINGLE_STREAM: s.min_query_count = 64; break;
    case ZN_SCENARIO_MULTI_STREAM: s.min_query_count = 512; break;
    case ZN_SCENARIO_SERVER:
        s.min_query_count = 512;
        s.target_qps = 100;
        s.target_latency_ns = 100 * NS_PER_MS;
        break;
    case ZN_SCENARIO_OFFLINE:
    default:
        s.min_query_count = 1024;
        s.max_batch = 8;
        break;
    }
    return s;
}

zn_test_settings zn_test_settings_mlperf(zn_scenario sc) {
    zn_test_settings s = zn_test_settings_default(sc);
    s.min_duration_ms = 600000;
    s.max_duration_ms = 0;
    switch (sc) {
    case ZN_SCENARIO_SINGLE_STREAM: s.min_query_count = 1024; break;
    case ZN_SCENARIO_MULTI_STREAM: s.min_query_count = 270336; break;
    case ZN_SCENARIO_SERVER: s.min_query_count = 270336; break;
    case ZN_SCENARIO_OFFLINE:
    default: s.min_query_count = 24576; break;
    }
    return s;
}

static zn_status bad(const char *setting, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static zn_status bad(const char *setting, const char *fix, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    zn_status st = zn_error_set(ZN_ERR_INVALID_ARGUMENT, "test setting %s: %s", setting, msg);
    zn_error_hint("%s", fix);
    return st;
}

zn_status zn_test_settings_validate(const zn_test_settings *s) {
    if ((unsigned)s->scenario >= ZN_SCENARIO_COUNT)
        return bad("scenario", "use single-stream, multi-stream, server or offline",
                   "%d is not a scenario", (int)s->scenario);
    if ((unsigned)s->mode >= ZN_TEST_MODE_COUNT)
        return bad("mode", "use performance, accuracy or find-peak", "%d is not a test mode",
                   (int)s->mode);
    if (s->min_duration_ms < 0 || s->max_duration_ms < 0)
        return bad("duration", "durations are >= 0 (max 0 = no maximum)", "min %lld ms, max %lld ms",
                   (long long)s->min_duration_ms, (long long)s->max_duration_ms);
    if (s->min_query_count < 0 || s->max_query_count < 0)
        return bad("query count", "query counts are >= 0 (max 0 = no maximum)", "min %lld, max %lld",
                   (long long)s->min_query_count, (long long)s->max_query_count);
    if (!(s->target_latency_percentile > 0 && s->target_latency_percentile < 100))
        return bad("target_latency_percentile", "use a percentile such as 90 or 99",
                   "%g is not in (0, 100)", s->target_latency_percentile);
    if (s->scenario == ZN_SCENARIO_MULTI_STREAM &&
        (s->samples_per_query < 1 || s->samples_per_query > (1 << 20)))
        return bad("samples_per_query", "use 1..1048576 (MLPerf multi-stream uses 8)", "%d",
                   s->samples_per_query);
    if (s->total_sample_count < 1)
        return bad("total_sample_count", "give the number of samples in the data set (>= 1)",
                   "%lld", (long long)s->total_sample_count);
    if (s->performance_sample_count < 0 || s->performance_sample_count > s->total_sample_count)
        return bad("performance_sample_count",
                   "use 0 (default) or at most the data set's sample count",
                   "%lld with a data set of %lld samples", (long long)s->performance_sample_count,
                   (long long)s->total_sample_count);
    if (s->scenario == ZN_SCENARIO_SERVER && s->mode == ZN_TEST_PERFORMANCE) {
        if (!(s->target_qps > 0 && s->target_qps < 1e9))
            return bad("target_qps", "pass --target-qps Q with Q > 0", "%g", s->target_qps);
        if (s->target_latency_ns <= 0)
            return bad("target_latency_ns", "pass --latency-bound, e.g. 15ms", "%lld",
                       (long long)s->target_latency_ns);
    }
    if (s->scenario == ZN_SCENARIO_OFFLINE && !(s->target_qps >= 0 && s->target_qps < 1e12))
        return bad("target_qps", "use 0 (estimate from the warm-up) or the expected samples/s",
                   "%g", s->target_qps);
    if (s->max_batch < 0 || s->max_batch > (1 << 20))
        return bad("max_batch", "use 1..1048576 (0 = 1)", "%d", s->max_batch);
    if (s->max_queue_delay_ns < 0)
        return bad("max_queue_delay_ns", "use >= 0", "%lld", (long long)s->max_queue_delay_ns);
    if (s->n_workers < 0)
        return bad("n_workers", "use >= 1, or 0 for the SUT's count", "%d", s->n_workers);
    if (s->warmup_queries < 0 || s->warmup_ms < 0)
        return bad("warm-up", "use >= 0", "%lld queries, %lld ms", (long long)s->warmup_queries,
                   (long long)s->warmup_ms);
    if (s->keep_queries < 0)
        return bad("keep_queries", "use >= 0 (0 = 100000)", "%lld", (long long)s->keep_queries);
    return ZN_OK;
}

/* ---- live snapshot ---------------------------------------------------------------------- */

struct zn_live {
    pthread_mutex_t mu;
    atomic_int stop;
    zn_run_state state;
    zn_scenario scenario;
    int64_t t0;     // monotonic ns of the measured start; 0 before
    int64_t t_end;  // when it reached DONE
    int64_t min_dur_ns, min_q;
    int count_samples;  // OFFLINE: min progress in samples
    int64_t issued, done, samples, queue_depth;
    zn_hist lat, lag;
    int64_t cache_t, p50, p90, p99, lag99;
    int64_t ck_t[LIVE_CK], ck_n[LIVE_CK];
    int ck_head, ck_len;
};

zn_live *zn_live_new(void) {
    zn_live *l = zn_calloc(1, sizeof *l);
    if (!l) return NULL;
    if (pthread_mutex_init(&l->mu, NULL)) {
        zn_free(l);
        return NULL;
    }
    atomic_init(&l->stop, 0);
    zn_hist_init(&l->lat);
    zn_hist_init(&l->lag);
    return l;
}

void zn_live_free(zn_live *l) {
    if (!l) return;
    pthread_mutex_destroy(&l->mu);
    zn_free(l);
}

void zn_loadgen_request_stop(zn_live *l) {
    if (l) atomic_store(&l->stop, 1);
}

void zn_live_read(zn_live *l, zn_live_snapshot *o) {
    memset(o, 0, sizeof *o);
    if (!l) return;
    int64_t now = now_ns();
    pthread_mutex_lock(&l->mu);
    o->state = l->state;
    o->scenario = l->scenario;
    o->elapsed_s = l->t0 ? (double)(now - l->t0) / 1e9 : 0;
    if (l->state == ZN_RUN_DONE && l->t0) o->elapsed_s = (double)(l->t_end - l->t0) / 1e9;
    o->queries_issued = l->issued;
    o->queries_done = l->done;
    o->samples_done = l->samples;
    o->queue_depth = l->queue_depth;
    if (now - l->cache_t >= LIVE_CACHE_NS || l->state == ZN_RUN_DONE) {
        l->p50 = zn_hist_percentile(&l->lat, 50);
        l->p90 = zn_hist_percentile(&l->lat, 90);
        l->p99 = zn_hist_percentile(&l->lat, 99);
        l->lag99 = zn_hist_percentile(&l->lag, 99);
        l->cache_t = now;
    }
    o->p50_ns = l->p50;
    o->p90_ns = l->p90;
    o->p99_ns = l->p99;
    o->issue_lag_p99_ns = l->lag99;
    o->qps_total = o->elapsed_s > 0 ? (double)l->done / o->elapsed_s : 0;
    // Current QPS: from the newest checkpoint at least 1 s old (or the oldest we have).
    if (l->ck_len) {
        int pick = (l->ck_head + LIVE_CK - l->ck_len) % LIVE_CK;
        for (int i = l->ck_len; i >= 1; i--) {
            int k = (l->ck_head + LIVE_CK - i) % LIVE_CK;
            if (now - l->ck_t[k] >= 1000000000) pick = k;
        }
        double dt = (double)(now - l->ck_t[pick]) / 1e9;
        o->qps = dt > 0.05 ? (double)(l->done - l->ck_n[pick]) / dt : o->qps_total;
    }
    if (l->state == ZN_RUN_DONE) o->qps = o->qps_total;
    double prog_q = l->count_samples ? (double)l->samples : (double)l->done;
    o->min_duration_progress = l->min_dur_ns > 0 ? fmin(1.0, o->elapsed_s * 1e9 / (double)l->min_dur_ns) : 1;
    o->min_queries_progress = l->min_q > 0 ? fmin(1.0, prog_q / (double)l->min_q) : 1;
    if (!l->t0) o->min_duration_progress = 0;
    o->stop_requested = atomic_load(&l->stop);
    pthread_mutex_unlock(&l->mu);
}

static void live_begin(zn_live *l, const zn_test_settings *s) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->state = ZN_RUN_WARMUP;
    l->scenario = s->scenario;
    l->t0 = l->t_end = 0;
    l->min_dur_ns = s->mode == ZN_TEST_PERFORMANCE ? s->min_duration_ms * NS_PER_MS : 0;
    l->min_q = s->mode == ZN_TEST_PERFORMANCE ? s->min_query_count : s->total_sample_count;
    l->count_samples = s->scenario == ZN_SCENARIO_OFFLINE || s->mode == ZN_TEST_ACCURACY;
    l->issued = l->done = l->samples = l->queue_depth = 0;
    zn_hist_init(&l->lat);
    zn_hist_init(&l->lag);
    l->cache_t = 0;
    l->ck_head = l->ck_len = 0;
    pthread_mutex_unlock(&l->mu);
}

static void live_set_state(zn_live *l, zn_run_state st, int64_t t0) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->state = st;
    if (st == ZN_RUN_DONE) l->t_end = now_ns();
    if (t0) {
        l->t0 = t0;
        l->ck_t[0] = t0;
        l->ck_n[0] = 0;
        l->ck_head = 1;
        l->ck_len = 1;
    }
    pthread_mutex_unlock(&l->mu);
}

static void live_issue(zn_live *l, int64_t n, int64_t queue_depth) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->issued += n;
    if (queue_depth >= 0) l->queue_depth = queue_depth;
    pthread_mutex_unlock(&l->mu);
}

/* ---- the run context -------------------------------------------------------------------- */

typedef struct acc {
    zn_hist lat, service, lag;
    int64_t busy_ns, queries, samples, overlat, last_done;
} acc;

typedef struct pending {
    int64_t sched, enq, sample;  // ns since t0; sample index
} pending;

typedef struct ctx {
    zn_test_settings s;  // resolved
    const zn_sut *sut;
    zn_live *live;
    atomic_int *stop;
    atomic_int local_stop;
    int nw;
    int64_t t0;
    acc *acc;  // [nw]
    int64_t *perf;
    int64_t n_perf;

    pthread_mutex_t ring_mu;
    zn_query_record *ring;
    int64_t ring_cap, ring_n;

    pthread_mutex_t fail_mu;
    atomic_int failed;
    zn_status fail_status;
    char fail_msg[ZN_ERROR_MSG];

    // Offline / accuracy: the shared work cursor.
    pthread_mutex_t work_mu;
    zn_rng sample_rng;
    int64_t cursor, total_work, deadline;
    int batch;

    // Server: the queue.
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    pending *q;
    int64_t q_cap, q_head, q_len;
    int q_done;
    int64_t abandoned;  /* SERVER: queries still queued when the drain passed its deadline */
} ctx;

typedef struct worker_arg {
    ctx *c;
    int w;
    int64_t *smp;    // [batch]
    pending *pend;   // [batch] (server)
    int64_t *issue;  // [batch]
    int64_t *lag;    // [batch]
} worker_arg;

static int should_stop(ctx *c) { return atomic_load(c->stop) || atomic_load(&c->failed); }

static void fail(ctx *c, zn_status st) {
    pthread_mutex_lock(&c->fail_mu);
    if (!atomic_load(&c->failed)) {
        const zn_error *e = zn_last_error();  // this thread's record: what the SUT set
        if (e && e->status == st && e->message[0])
            snprintf(c->fail_msg, sizeof c->fail_msg, "%s", e->message);
        else
            snprintf(c->fail_msg, sizeof c->fail_msg, "run() returned %s", zn_status_name(st));
        c->fail_status = st;
        atomic_store(&c->failed, 1);
    }
    pthread_mutex_unlock(&c->fail_mu);
}

static int call_sut(ctx *c, int w, const int64_t *smp, int n, int64_t *t1, int64_t *t2) {
    *t1 = now_ns();
    zn_status st = c->sut->run(c->sut->user, w, smp, n);
    *t2 = now_ns();
    if (st != ZN_OK) {
        fail(c, st);
        return 0;
    }
    return 1;
}

/* Books one SUT call that carried n_q queries (issue[i] = their issue times, absolute ns;
 * lag[i] their issue lags or NULL), started at t1 and ended at t2. */
static void record(ctx *c, int w, int n_q, const int64_t *issue, const int64_t *lag, int n_samples,
                   int64_t t1, int64_t t2) {
    acc *a = &c->acc[w];
    int per_q = n_q > 0 ? n_samples / n_q : 0;
    int64_t bound = c->s.target_latency_ns;
    for (int i = 0; i < n_q; i++) {
        int64_t lat = t2 - issue[i];
        zn_hist_record(&a->lat, lat);
        if (lag) zn_hist_record(&a->lag, lag[i]);
        if (bound > 0 && lat > bound) a->overlat++;
    }
    zn_hist_record(&a->service, t2 - t1);
    a->busy_ns += t2 - t1;
    a->queries += n_q;
    a->samples += n_samples;
    if (t2 > a->last_done) a->last_done = t2;

    if (c->ring_cap > 0) {
        pthread_mutex_lock(&c->ring_mu);
        for (int i = 0; i < n_q; i++) {
            zn_query_record *q = &c->ring[c->ring_n % c->ring_cap];
            q->issue_ns = issue[i] - c->t0;
            q->start_ns = t1 - c->t0;
            q->latency_ns = t2 - issue[i];
            q->n_samples = per_q;
            q->worker = w;
            c->ring_n++;
        }
        pthread_mutex_unlock(&c->ring_mu);
    }

    zn_live *l = c->live;
    if (l) {
        pthread_mutex_lock(&l->mu);
        for (int i = 0; i < n_q; i++) {
            zn_hist_record(&l->lat, t2 - issue[i]);
            if (lag) zn_hist_record(&l->lag, lag[i]);
        }
        l->done += n_q;
        l->samples += n_samples;
        int last = (l->ck_head + LIVE_CK - 1) % LIVE_CK;
        if (l->ck_len == 0 || t2 - l->ck_t[last] >= 100 * NS_PER_MS) {
            l->ck_t[l->ck_head] = t2;
            l->ck_n[l->ck_head] = l->done;
            l->ck_head = (l->ck_head + 1) % LIVE_CK;
            if (l->ck_len < LIVE_CK) l->ck_len++;
        }
        pthread_mutex_unlock(&l->mu);
    }
}

/* Warm-up: round-robin over the workers, one call at a time, nothing recorded. Returns the
 * throughput seen (samples per second over all workers, assuming they scale), 0 if none. */
static double warmup(ctx *c, int batch, int64_t *n_done) {
    const zn_test_settings *s = &c->s;
    int64_t n = s->warmup_queries;
    if (n > 0 && n < c->nw) n = c->nw;  // every worker (session) runs at least once
    int64_t until = s->warmup_ms > 0 ? now_ns() + s->warmup_ms * NS_PER_MS : 0;
    zn_rng r;
    zn_rng_seed(&r, s->sample_seed ^ 0x3A2F1u);  // measured draws do not depend on the warm-up
    int64_t i = 0, busy = 0, samples = 0;
    while (!should_stop(c) && (i < n || (until && now_ns() < until))) {
        int64_t smp_buf[64];
        int64_t *smp = batch <= 64 ? smp_buf : zn_malloc((size_t)batch * sizeof *smp);
        if (!smp) break;
        for (int j = 0; j < batch; j++) smp[j] = c->perf[zn_rng_below(&r, c->n_perf)];
        int64_t t1, t2;
        int ok = call_sut(c, (int)(i % c->nw), smp, batch, &t1, &t2);
        if (smp != smp_buf) zn_free(smp);
        if (!ok) break;
        busy += t2 - t1;
        samples += batch;
        i++;
    }
    *n_done = i;
    return busy > 0 ? (double)samples * c->nw / ((double)busy / 1e9) : 0;
}

/* ---- single-stream / multi-stream ------------------------------------------------------- */

static int64_t run_stream(ctx *c) {
    const zn_test_settings *s = &c->s;
    int spq = s->samples_per_query;
    int64_t *smp = zn_malloc((size_t)spq * sizeof *smp);
    if (!smp) return -1;
    zn_rng_seed(&c->sample_rng, s->sample_seed);
    int64_t min_dur = s->min_duration_ms * NS_PER_MS, max_dur = s->max_duration_ms * NS_PER_MS;
    c->t0 = now_ns();
    live_set_state(c->live, ZN_RUN_RUNNING, c->t0);
    int64_t q = 0, last_issue = 0, done_el = 0;  // done_el: the last completion, since t0
    for (;;) {
        if (should_stop(c)) break;
        // The min duration is judged on the last completion (the measured duration), the max
        // on the clock.
        if (done_el >= min_dur && q >= s->min_query_count) break;
        int64_t el = now_ns() - c->t0;
        if ((max_dur > 0 && el >= max_dur) || (s->max_query_count > 0 && q >= s->max_query_count))
            break;
        for (int j = 0; j < spq; j++) smp[j] = c->perf[zn_rng_below(&c->sample_rng, c->n_perf)];
        live_issue(c->live, 1, -1);
        int64_t t1, t2;
        if (!call_sut(c, 0, smp, spq, &t1, &t2)) break;
        record(c, 0, 1, &t1, NULL, spq, t1, t2);
        last_issue = t1 - c->t0;
        done_el = t2 - c->t0;
        q++;
    }
    zn_free(smp);
    return last_issue;
}

/* ---- offline / accuracy: a pool of workers sharing a cursor ----------------------------- */

static void *pool_worker(void *arg) {
    worker_arg *k = arg;
    ctx *c = k->c;
    int accuracy = c->s.mode == ZN_TEST_ACCURACY;
    for (;;) {
        pthread_mutex_lock(&c->work_mu);
        if (should_stop(c) || c->cursor >= c->total_work || (c->deadline && now_ns() >= c->deadline)) {
            pthread_mutex_unlock(&c->work_mu);
            break;
        }
        int64_t left = c->total_work - c->cursor;
        int nb = left < c->batch ? (int)left : c->batch;
        for (int j = 0; j < nb; j++)
            k->smp[j] = accuracy ? c->cursor + j : c->perf[zn_rng_below(&c->sample_rng, c->n_perf)];
        c->cursor += nb;
        pthread_mutex_unlock(&c->work_mu);
        live_issue(c->live, 1, -1);
        int64_t t1, t2;
        if (!call_sut(c, k->w, k->smp, nb, &t1, &t2)) break;
        record(c, k->w, 1, &t1, NULL, nb, t1, t2);
    }
    return NULL;
}

/* ---- server ----------------------------------------------------------------------------- */

static int q_push(ctx *c, pending p) {
    if (c->q_len == c->q_cap) {
        int64_t cap = c->q_cap ? c->q_cap * 2 : 1024;
        pending *nq = zn_malloc((size_t)cap * sizeof *nq);
        if (!nq) return 0;
        for (int64_t i = 0; i < c->q_len; i++) nq[i] = c->q[(c->q_head + i) % c->q_cap];
        zn_free(c->q);
        c->q = nq;
        c->q_cap = cap;
        c->q_head = 0;
    }
    c->q[(c->q_head + c->q_len) % c->q_cap] = p;
    c->q_len++;
    return 1;
}

static void *server_worker(void *arg) {
    worker_arg *k = arg;
    ctx *c = k->c;
    int mb = c->s.max_batch;
    int64_t delay = c->s.max_queue_delay_ns;
    /* A saturated system can hold a long queue when the schedule ends; past the max duration
     * plus a grace (the latency bound, at least 1 s) the rest is abandoned: those queries count
     * as over the bound, so the run is INVALID instead of draining for minutes. */
    int64_t grace = c->s.target_latency_ns > NS_PER_S ? c->s.target_latency_ns : NS_PER_S;
    pthread_mutex_lock(&c->q_mu);
    for (;;) {
        if (should_stop(c)) break;
        if (c->q_done && c->deadline && c->q_len > 0 && now_ns() > c->deadline + grace) {
            c->abandoned += c->q_len;
            c->q_head = (c->q_head + c->q_len) % c->q_cap;
            c->q_len = 0;
            pthread_cond_broadcast(&c->q_cv);
            break;
        }
        if (c->q_len == 0) {
            if (c->q_done) break;
            pthread_cond_wait(&c->q_cv, &c->q_mu);
            continue;
        }
        // Dynamic batching: with fewer than max_batch waiting, hold the oldest for at most
        // max_queue_delay (from its enqueue) for the batch to fill.
        if (c->q_len < mb && delay > 0 && !c->q_done) {
            int64_t deadline = c->t0 + c->q[c->q_head].enq + delay;
            if (now_ns() < deadline) {
                struct timespec ts = to_ts(deadline);
                pthread_cond_timedwait(&c->q_cv, &c->q_mu, &ts);
                continue;
            }
        }
        int n = c->q_len < mb ? (int)c->q_len : mb;
        for (int i = 0; i < n; i++) {
            k->pend[i] = c->q[c->q_head];
            c->q_head = (c->q_head + 1) % c->q_cap;
        }
        c->q_len -= n;
        int64_t depth = c->q_len;
        if (c->q_len > 0) pthread_cond_signal(&c->q_cv);
        pthread_mutex_unlock(&c->q_mu);

        if (c->live) {
            pthread_mutex_lock(&c->live->mu);
            c->live->queue_depth = depth;
            pthread_mutex_unlock(&c->live->mu);
        }
        for (int i = 0; i < n; i++) {
            k->smp[i] = k->pend[i].sample;
            k->issue[i] = c->t0 + k->pend[i].sched;  // latency from the SCHEDULED arrival
            k->lag[i] = k->pend[i].enq - k->pend[i].sched;
        }
        int64_t t1, t2;
        int ok = call_sut(c, k->w, k->smp, n, &t1, &t2);
        if (ok) record(c, k->w, n, k->issue, k->lag, n, t1, t2);
        pthread_mutex_lock(&c->q_mu);
        if (!ok) {
            pthread_cond_broadcast(&c->q_cv);
            break;
        }
    }
    pthread_mutex_unlock(&c->q_mu);
    return NULL;
}

/* Sleeps until absolute monotonic time `target`: clock_nanosleep to ~50 us before, then
 * spins. Returns 0 if a stop was requested meanwhile. */
static int sleep_until(ctx *c, int64_t target) {
    for (;;) {
        if (should_stop(c)) return 0;
        int64_t now = now_ns();
        if (now >= target) return 1;
        if (target - now > SPIN_NS) {
            int64_t wake = target - SPIN_NS;
            if (wake - now > SLEEP_SLICE_NS) wake = now + SLEEP_SLICE_NS;
            struct timespec ts = to_ts(wake);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            continue;
        }
        while (now_ns() < target) cpu_relax();
        return 1;
    }
}

/* The scheduler (caller's thread): Poisson arrivals until both minimums are covered by the
 * schedule, or a maximum is reached. Returns the last scheduled arrival (ns since t0); -1 when
 * out of memory. */
static int64_t run_server_schedule(ctx *c, int64_t *n_scheduled) {
    const zn_test_settings *s = &c->s;
    zn_schedule sch;
    zn_schedule_init(&sch, s->target_qps, s->schedule_seed);
    zn_rng_seed(&c->sample_rng, s->sample_seed);
    int64_t min_dur = s->min_duration_ms * NS_PER_MS, max_dur = s->max_duration_ms * NS_PER_MS;
    int64_t n = 0, last = 0, ret = 0;
    // Linux lets a sleep overshoot by the thread's timer slack (50 us by default): ask for
    // none while scheduling, and give the caller's setting back afterwards.
    int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (old_slack > 0) prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
    for (;;) {
        if (should_stop(c)) break;
        if (n >= s->min_query_count && last >= min_dur) break;
        if (s->max_query_count > 0 && n >= s->max_query_count) break;
        int64_t a = zn_schedule_next(&sch);
        if (max_dur > 0 && a > max_dur) break;
        int64_t sample = c->perf[zn_rng_below(&c->sample_rng, c->n_perf)];
        if (!sleep_until(c, c->t0 + a)) break;
        pending p = {.sched = a, .enq = now_ns() - c->t0, .sample = sample};
        pthread_mutex_lock(&c->q_mu);
        int ok = q_push(c, p);
        int64_t depth = c->q_len;
        if (ok) pthread_cond_signal(&c->q_cv);
        pthread_mutex_unlock(&c->q_mu);
        if (!ok) {
            ret = -1;
            break;
        }
        live_issue(c->live, 1, depth);
        n++;
        last = a;
    }
    if (old_slack > 0) prctl(PR_SET_TIMERSLACK, (unsigned long)old_slack, 0, 0, 0);
    pthread_mutex_lock(&c->q_mu);
    c->q_done = 1;
    pthread_cond_broadcast(&c->q_cv);
    pthread_mutex_unlock(&c->q_mu);
    *n_scheduled = n;
    return ret < 0 ? ret : last;
}

/* ---- the run ---------------------------------------------------------------------------- */

static int cmp_query(const void *a, const void *b) {
    const zn_query_record *x = a, *y = b;
    if (x->issue_ns != y->issue_ns) return x->issue_ns < y->issue_ns ? -1 : 1;
    return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

void zn_test_results_free(zn_test_results *r) {
    if (!r) return;
    zn_free(r->queries);
    r->queries = NULL;
    r->n_queries_kept = 0;
}

static void results_zero(zn_test_results *r) {
    memset(r, 0, sizeof *r);
    zn_hist_init(&r->latency);
    zn_hist_init(&r->service);
    zn_hist_init(&r->issue_lag);
}

zn_status zn_loadgen_run(const zn_test_settings *settings, const zn_sut *sut, zn_live *live,
                         zn_test_results *out) {
    results_zero(out);
    if (!settings || !sut || !sut->run || sut->n_workers < 1) {
        zn_status st = zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                                    "loadgen: no settings, or a SUT without a run() callback or "
                                    "with n_workers < 1");
        zn_error_hint("give the SUT a run callback and at least one worker");
        return st;
    }
    zn_status st = zn_test_settings_validate(settings);
    if (st != ZN_OK) return st;
    if (settings->mode == ZN_TEST_FIND_PEAK) {
        /* find-peak is a search over many performance runs (suites/peak.c) */
        st = zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_loadgen_run runs one scenario; find-peak is a search");
        zn_error_hint("call zn_peak_search (suites/peak.h) with a run callback at each offered QPS");
        return st;
    }
    if (settings->n_workers > sut->n_workers) {
        st = zn_error_set(ZN_ERR_INVALID_ARGUMENT,
                          "loadgen: %d workers asked for, but the SUT supports %d",
                          settings->n_workers, sut->n_workers);
        zn_error_hint("lower --threads/workers to at most %d, or create more sessions",
                      sut->n_workers);
        return st;
    }

    ctx *c = zn_calloc(1, sizeof *c);
    worker_arg *args = NULL;
    pthread_t *threads = NULL;
    int n_threads = 0;
    if (!c) goto oom;
    c->s = *settings;
    zn_test_settings *s = &c->s;
    int stream = s->scenario == ZN_SCENARIO_SINGLE_STREAM || s->scenario == ZN_SCENARIO_MULTI_STREAM;
    int accuracy = s->mode == ZN_TEST_ACCURACY;
    if (s->scenario != ZN_SCENARIO_MULTI_STREAM) s->samples_per_query = 1;
    if (s->max_batch < 1) s->max_batch = 1;
    if (s->performance_sample_count <= 0)
        s->performance_sample_count = s->total_sample_count < 1024 ? s->total_sample_count : 1024;
    if (s->keep_queries <= 0) s->keep_queries = DEFAULT_KEEP;
    c->nw = stream ? 1 : (s->n_workers > 0 ? s->n_workers : sut->n_workers);
    s->n_workers = c->nw;
    c->sut = sut;
    c->live = live;
    atomic_init(&c->local_stop, 0);
    c->stop = live ? &live->stop : &c->local_stop;
    /* a stop requested before the run began (Ctrl-C while compiling) still applies: callers
     * use a fresh zn_live per run */
    atomic_init(&c->failed, 0);
    pthread_mutex_init(&c->ring_mu, NULL);
    pthread_mutex_init(&c->fail_mu, NULL);
    pthread_mutex_init(&c->work_mu, NULL);
    pthread_mutex_init(&c->q_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->q_cv, &ca);
    pthread_condattr_destroy(&ca);

    c->acc = zn_calloc((size_t)c->nw, sizeof *c->acc);
    c->perf = zn_malloc((size_t)s->performance_sample_count * sizeof *c->perf);
    c->ring_cap = s->keep_queries;
    c->ring = zn_malloc((size_t)c->ring_cap * sizeof *c->ring);
    args = zn_calloc((size_t)c->nw, sizeof *args);
    threads = zn_calloc((size_t)c->nw, sizeof *threads);
    if (!c->acc || !c->perf || !c->ring || !args || !threads) goto oom;
    for (int w = 0; w < c->nw; w++) {
        zn_hist_init(&c->acc[w].lat);
        zn_hist_init(&c->acc[w].service);
        zn_hist_init(&c->acc[w].lag);
    }
    c->n_perf = zn_loadgen_performance_set(s, c->perf, s->performance_sample_count);
    int batch = s->scenario == ZN_SCENARIO_MULTI_STREAM ? s->samples_per_query
                : stream                                ? 1
                                                        : s->max_batch;
    for (int w = 0; w < c->nw; w++) {
        args[w].c = c;
        args[w].w = w;
        args[w].smp = zn_malloc((size_t)batch * sizeof(int64_t));
        args[w].issue = zn_malloc((size_t)batch * sizeof(int64_t));
        args[w].lag = zn_malloc((size_t)batch * sizeof(int64_t));
        args[w].pend = zn_malloc((size_t)batch * sizeof(pending));
        if (!args[w].smp || !args[w].issue || !args[w].lag || !args[w].pend) goto oom;
    }

    live_begin(live, s);
    int64_t warm_n = 0;
    double warm_rate = warmup(c, batch, &warm_n);
    out->warmup_query_count = warm_n;

    int64_t last_issue = 0, n_sched = 0;
    int oom_mid = 0;
    if (accuracy || s->scenario == ZN_SCENARIO_OFFLINE) {
        zn_rng_seed(&c->sample_rng, s->sample_seed);
        c->batch = batch;
        if (accuracy) {
            c->total_work = s->total_sample_count;
        } else {
            double qps = s->target_qps > 0 ? s->target_qps : warm_rate;
            c->total_work = zn_loadgen_offline_sample_count(s, qps);
        }
        c->t0 = now_ns();
        c->deadline = !accuracy && s->max_duration_ms > 0 ? c->t0 + s->max_duration_ms * NS_PER_MS : 0;
        live_set_state(live, ZN_RUN_RUNNING, c->t0);
        for (int w = 0; w < c->nw; w++) {
            if (pthread_create(&threads[w], NULL, pool_worker, &args[w])) break;
            n_threads++;
        }
        if (n_threads == 0) pool_worker(&args[0]);
        for (int w = 0; w < n_threads; w++) pthread_join(threads[w], NULL);
    } else if (stream) {
        last_issue = run_stream(c);
        if (last_issue < 0) oom_mid = 1;
    } else {  // server
        c->t0 = now_ns();
        c->deadline = s->max_duration_ms > 0 ? c->t0 + s->max_duration_ms * NS_PER_MS : 0;
        live_set_state(live, ZN_RUN_RUNNING, c->t0);
        for (int w = 0; w < c->nw; w++) {
            if (pthread_create(&threads[w], NULL, server_worker, &args[w])) break;
            n_threads++;
        }
        if (n_threads == 0) {
            st = zn_error_set(ZN_ERR_RUNTIME, "loadgen: could not start any worker thread");
            zn_error_hint("check the process's thread limit (ulimit -u)");
            goto cleanup;
        }
        last_issue = run_server_schedule(c, &n_sched);
        if (last_issue < 0) oom_mid = 1;
        live_set_state(live, ZN_RUN_DRAINING, 0);
        for (int w = 0; w < n_threads; w++) pthread_join(threads[w], NULL);
    }
    if (oom_mid) goto oom;

    /* ---- collect ---- */
    out->settings = *s;
    out->n_workers = c->nw;
    int64_t last_done = c->t0;
    for (int w = 0; w < c->nw; w++) {
        acc *a = &c->acc[w];
        zn_hist_merge(&out->latency, &a->lat);
        zn_hist_merge(&out->service, &a->service);
        zn_hist_merge(&out->issue_lag, &a->lag);
        out->query_count += a->queries;
        out->sample_count += a->samples;
        out->sut_busy_ns += a->busy_ns;
        out->overlatency_count += a->overlat;
        if (a->last_done > last_done) last_done = a->last_done;
    }
    out->overlatency_count += c->abandoned;
    out->duration_ns = last_done - c->t0;
    out->last_issue_ns = last_issue;
    out->scheduled_count = s->scenario == ZN_SCENARIO_SERVER ? n_sched : out->query_count;
    int64_t kept = c->ring_n < c->ring_cap ? c->ring_n : c->ring_cap;
    qsort(c->ring, (size_t)kept, sizeof *c->ring, cmp_query);
    out->queries = c->ring;
    c->ring = NULL;
    out->n_queries_kept = kept;
    out->n_queries_dropped = c->ring_n - kept;

    st = ZN_OK;
    if (atomic_load(&c->failed)) {
        out->interrupted = 1;
        snprintf(out->stop_reason, sizeof out->stop_reason, "the SUT failed: %.230s", c->fail_msg);
        st = zn_error_set(c->fail_status, "the SUT failed during the %s run: %s",
                          zn_scenario_name(s->scenario), c->fail_msg);
    } else if (atomic_load(c->stop)) {
        out->interrupted = 1;
        snprintf(out->stop_reason, sizeof out->stop_reason, "stopped early by the user");
        st = zn_error_set(ZN_ERR_INTERRUPTED, "the %s run was stopped early by the user",
                          zn_scenario_name(s->scenario));
    }
    zn_loadgen_judge(out);
    live_set_state(live, ZN_RUN_DONE, 0);
    goto cleanup;

oom:
    zn_test_results_free(out);
    results_zero(out);
    st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "loadgen: out of memory setting up the run");
    zn_error_hint("lower keep_queries (the per-query ring) or the performance sample count");
    live_set_state(live, ZN_RUN_DONE, 0);
cleanup:
    if (c) {
        if (args)
            for (int w = 0; w < c->nw; w++) {
                zn_free(args[w].smp);
                zn_free(args[w].issue);
                zn_free(args[w].lag);
                zn_free(args[w].pend);
            }
        zn_free(c->acc);
        zn_free(c->perf);
        zn_free(c->ring);
        zn_free(c->q);
        pthread_mutex_destroy(&c->ring_mu);
        pthread_mutex_destroy(&c->fail_mu);
        pthread_mutex_destroy(&c->work_mu);
        pthread_mutex_destroy(&c->q_mu);
        pthread_cond_destroy(&c->q_cv);
    }
    zn_free(args);
    zn_free(threads);
    zn_free(c);
    return st;
}

/* ---- harness overhead ------------------------------------------------------------------- */

static zn_status noop_run(void *user, int worker, const int64_t *samples, int n) {
    (void)user;
    (void)worker;
    (void)samples;
    (void)n;
    return ZN_OK;
}

double zn_loadgen_measure_overhead(int64_t n) {
    if (n < 1) n = 1;
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 0;
    s.max_duration_ms = 0;
    s.min_query_count = n;
    s.max_query_count = n;
    s.warmup_queries = 0;
    zn_sut sut = {.user = NULL, .n_workers = 1, .run = noop_run};
    zn_live *live = zn_live_new();  // a real run updates a live snapshot: count it
    zn_test_results *r = zn_malloc(sizeof *r);
    double ns = -1;
    if (live && r && zn_loadgen_run(&s, &sut, live, r) == ZN_OK && r->query_count > 0)
        ns = (double)r->duration_ns / (double)r->query_count;
    if (r) zn_test_results_free(r);
    zn_free(r);
    zn_live_free(live);
    return ns;
}

/* ---- added for the TUI: the live latency histogram (see loadgen.h) ----------------------- */

void zn_live_read_hist(zn_live *l, zn_hist *out) {
    if (!l) {
        zn_hist_init(out);
        return;
    }
    pthread_mutex_lock(&l->mu);
    *out = l->lat;
    pthread_mutex_unlock(&l->mu);
}
