/* loadgen.h — MLPerf-LoadGen-style scenarios: issue queries to a system under test (SUT),
 * time them, and judge the run (VALID / INVALID with each rule's outcome).
 *
 * Vocabulary and semantics follow MLPerf LoadGen:
 *   SINGLE_STREAM  one sample per query; the next query is issued when the last completes;
 *                  metric: p90 query latency.
 *   MULTI_STREAM   samples_per_query samples per query (8 in MLPerf), issued the same way;
 *                  metric: p99 query latency.
 *   SERVER         queries (one sample each) arrive as a Poisson process at target_qps from a
 *                  seeded generator and overlap; n workers serve them with dynamic batching;
 *                  metric: the scheduled QPS, valid only if the latency bound holds at the bound
 *                  percentile (99 by default).
 *   OFFLINE        all samples issued at once as one query, split into batches of max_batch
 *                  across the workers; metric: samples per second.
 *
 * The SUT is abstract (zn_sut: a run() callback per worker), so this module knows nothing of
 * the engine; the app wires a session per worker into it. Nothing here prints.
 *
 * Timing: CLOCK_MONOTONIC. Latency of a query = completion time - its issue time, where for
 * SERVER the issue time is the *scheduled* arrival (so queueing in a saturated system counts:
 * no coordinated omission); the lag between the scheduled arrival and the actual enqueue is
 * recorded separately as the issue lag.
 */
#ifndef ZN_LOADGEN_H
#define ZN_LOADGEN_H

#include <stdint.h>

#include "engine/types.h"
#include "suites/histogram.h"

/* ---- vocabulary ------------------------------------------------------------------------- */

typedef enum zn_scenario {
    ZN_SCENARIO_SINGLE_STREAM = 0,
    ZN_SCENARIO_MULTI_STREAM,
    ZN_SCENARIO_SERVER,
    ZN_SCENARIO_OFFLINE,
    ZN_SCENARIO_COUNT
} zn_scenario;

typedef enum zn_test_mode {
    ZN_TEST_PERFORMANCE = 0,  /* timed, judged by the rules below */
    ZN_TEST_ACCURACY,         /* every sample of the data set exactly once; no timing rules */
    ZN_TEST_FIND_PEAK,        /* search for the highest valid server QPS: zn_peak_search
                                 (suites/peak.h) runs PERFORMANCE runs; zn_loadgen_run itself
                                 refuses this mode */
    ZN_TEST_MODE_COUNT
} zn_test_mode;

/* "single-stream", "multi-stream", "server", "offline"; "?" when out of range. */
const char *zn_scenario_name(zn_scenario s);
/* "performance", "accuracy", "find-peak". */
const char *zn_test_mode_name(zn_test_mode m);
/* Parse the names above (also accepts '_' for '-', any case). ZN_ERR_INVALID_ARGUMENT with a
 * hint listing the valid names otherwise. */
zn_status zn_scenario_parse(const char *name, zn_scenario *out);
zn_status zn_test_mode_parse(const char *name, zn_test_mode *out);

/* ---- settings --------------------------------------------------------------------------- */

typedef struct zn_test_settings {
    zn_scenario scenario;
    zn_test_mode mode;

    /* Stop rules: the run goes on until BOTH min_duration_ms and min_query_count are met, or
     * until max_duration_ms or max_query_count is reached (0 = no maximum). SERVER applies
     * them to the *schedule* (stop scheduling once the last scheduled arrival is past the min
     * duration and enough queries are scheduled, then wait for them all), as LoadGen does.
     * OFFLINE issues one query of offline_sample_count() samples; min_query_count is then
     * the minimum number of samples (LoadGen's offline min sample count). */
    int64_t min_duration_ms;
    int64_t max_duration_ms;
    int64_t min_query_count;
    int64_t max_query_count;

    /* SERVER: the Poisson arrival rate. OFFLINE: the expected throughput (samples/s) used to
     * size the query to cover the min duration; 0 = estimate it from the warm-up. Unused by
     * the stream scenarios. */
    double target_qps;
    /* SERVER: the latency bound, enforced at target_latency_percentile. SINGLE/MULTI_STREAM:
     * 0, or a value that is only reported against. Nanoseconds. */
    int64_t target_latency_ns;
    /* In (0, 100): the percentile the metric / bound is judged at (90 single-stream, 99 the
     * others). */
    double target_latency_percentile;

    int samples_per_query;            /* MULTI_STREAM (8 in MLPerf); forced to 1 elsewhere */
    int64_t total_sample_count;       /* samples in the data set: indices are 0..total-1 */
    /* The performance sample set: queries draw from this many samples (the ones the SUT keeps
     * loaded); 0 = min(total_sample_count, 1024). See zn_loadgen_performance_set(). */
    int64_t performance_sample_count;

    uint64_t schedule_seed;           /* SERVER arrival times */
    uint64_t sample_seed;             /* which samples each query carries */

    /* Warm-up, not counted in the results: this many queries (OFFLINE: batches) first, and/or
     * until warmup_ms has passed. Both 0 = no warm-up. */
    int64_t warmup_queries;
    int64_t warmup_ms;

    /* Dynamic batching (SERVER: queries waiting are merged up to max_batch, waiting at most
     * max_queue_delay_ns (from the oldest query's enqueue) for a batch to fill; OFFLINE and
     * accuracy mode: the batch size). 1 / 0 = no batching. */
    int max_batch;
    int64_t max_queue_delay_ns;

    /* Concurrent workers (each calls sut->run for its own index); 0 = sut->n_workers. The
     * stream scenarios use one worker. */
    int n_workers;

    /* The per-query ring kept for charts and CSV (the last this-many queries); 0 = 100000. */
    int64_t keep_queries;
} zn_test_settings;

/* Quick defaults for interactive use: min duration 2 s, max duration 60 s, min queries 64 single-stream / 512 multi-stream (8 samples/query) / 512 server
 * (100 QPS, 100 ms bound at p99, max batch 1) / 1024 samples offline (max batch 8), one warm-up
 * query, seeds fixed (LoadGen's defaults), total/performance sample count 1024. */
zn_test_settings zn_test_settings_default(zn_scenario s);
/* MLPerf's official minimums: 600 s min duration; single-stream 1024 queries (p90),
 * multi-stream 270336 queries of 8 samples (p99), server 270336 queries (p99), offline 24576
 * samples. target_qps / target_latency_ns stay at the quick defaults: they are per model. */
zn_test_settings zn_test_settings_mlperf(zn_scenario s);
/* Checks ranges and combinations; ZN_ERR_INVALID_ARGUMENT with a message naming the setting
 * and a hint naming the fix. */
zn_status zn_test_settings_validate(const zn_test_settings *s);

/* The performance sample set (sorted ascending is NOT implied: the order is the seeded draw):
 * writes performance_sample_count (resolved as above) indices into out (caller-sized) and
 * returns how many. A SUT may preload exactly these. Same seed -> same set. */
int64_t zn_loadgen_performance_set(const zn_test_settings *s, int64_t *out, int64_t cap);
/* The samples OFFLINE issues in performance mode for a given expected throughput:
 * max(min_query_count, ceil(1.1 * qps * min_duration)), capped by max_query_count if set. */
int64_t zn_loadgen_offline_sample_count(const zn_test_settings *s, double qps);

/* ---- the system under test -------------------------------------------------------------- */

typedef struct zn_sut {
    void *user;
    int n_workers;                  /* concurrent issuers the SUT supports (sessions) */
    /* Run one batch of samples (indices into the data set) on `worker` (0..n_workers-1),
     * blocking until done. Called concurrently for different workers, never concurrently for
     * the same worker. A non-OK status ends the run: the results are INVALID with the reason
     * and zn_loadgen_run returns that status. */
    zn_status (*run)(void *user, int worker, const int64_t *samples, int n_samples);
} zn_sut;

/* ---- live snapshot ---------------------------------------------------------------------- */

typedef enum zn_run_state {
    ZN_RUN_IDLE = 0,   /* not started */
    ZN_RUN_WARMUP,
    ZN_RUN_RUNNING,
    ZN_RUN_DRAINING,   /* no more queries issued; waiting for the ones in flight */
    ZN_RUN_DONE,
} zn_run_state;

const char *zn_run_state_name(zn_run_state s);  /* "idle", "warming up", "running", ... */

typedef struct zn_live zn_live;  /* opaque: a mutex + counters + a histogram */

typedef struct zn_live_snapshot {
    zn_run_state state;
    zn_scenario scenario;
    double elapsed_s;               /* since the measured part started (0 during warm-up) */
    int64_t queries_issued;
    int64_t queries_done;
    int64_t samples_done;
    double qps;                     /* queries completed per second over the last ~1 s */
    double qps_total;               /* queries_done / elapsed_s */
    int64_t p50_ns, p90_ns, p99_ns; /* over all measured queries so far */
    int64_t issue_lag_p99_ns;       /* SERVER */
    int64_t queue_depth;            /* SERVER: queries enqueued and not yet taken by a worker */
    double min_duration_progress;   /* 0..1 */
    double min_queries_progress;    /* 0..1 */
    int stop_requested;
} zn_live_snapshot;

zn_live *zn_live_new(void);        /* NULL when out of memory */
void zn_live_free(zn_live *live);
/* Consistent copy of the current state; any thread, any time. Percentiles are recomputed at
 * most every ~50 ms (cheap for a UI polling at any rate). */
void zn_live_read(zn_live *live, zn_live_snapshot *out);
/* Ends the run early (Ctrl-C, the TUI's stop key). Async-signal-safe (one atomic store), so a
 * signal handler may call it. The results are then marked interrupted and INVALID with the
 * reason "stopped early by the user". */
void zn_loadgen_request_stop(zn_live *live);

/* ---- added for the TUI: the live latency histogram --------------------------------------
 * Copies the histogram of every measured query's latency so far (the one the snapshot's
 * percentiles come from) into *out, under the snapshot's lock (a ~40 KB copy: cheap at a UI's
 * tick). Empty before the measured part starts; live NULL gives an empty histogram. */
void zn_live_read_hist(zn_live *live, zn_hist *out);

/* ---- results ---------------------------------------------------------------------------- */

typedef enum zn_verdict { ZN_VERDICT_VALID = 0, ZN_VERDICT_INVALID } zn_verdict;

#define ZN_LOADGEN_MAX_RULES 8
#define ZN_LOADGEN_MAX_RECS 6
#define ZN_LOADGEN_TEXT 256

/* One validity rule. Names: "min_duration", "min_queries", "latency_constraint",
 * "early_stopping", "target_qps", "completed" (not interrupted / SUT did not fail). */
typedef struct zn_rule_outcome {
    char name[32];
    int passed;
    char detail[ZN_LOADGEN_TEXT];   /* "measured 1.8 s < 2.0 s" */
} zn_rule_outcome;

/* One measured query, for charts and CSV. Times are ns since the measured start. */
typedef struct zn_query_record {
    int64_t issue_ns;       /* scheduled (SERVER) or actual issue time */
    int64_t start_ns;       /* when the SUT call carrying it began (start - issue = queueing
                               and batching delay; 0-ish for the stream scenarios) */
    int64_t latency_ns;     /* completion - issue */
    int32_t n_samples;
    int32_t worker;
} zn_query_record;

typedef struct zn_test_results {
    zn_test_settings settings;      /* as run, defaults resolved (workers, counts, seeds) */

    /* ---- counts and time ---- */
    int64_t query_count;            /* measured queries completed (warm-up excluded); OFFLINE and
                                       ACCURACY count batches (LoadGen counts one offline query) */
    int64_t sample_count;           /* measured samples completed */
    int64_t warmup_query_count;
    int64_t scheduled_count;        /* SERVER: queries scheduled (issued) in the measured part */
    int64_t duration_ns;            /* measured start -> last completion */
    int64_t last_issue_ns;          /* stream: last actual issue; SERVER: last scheduled arrival */
    int n_workers;

    /* ---- throughput ----
     * qps_with_overhead: what the harness achieved. Single/multi-stream: (queries-1) / last
     *   issue time (LoadGen's definition); SERVER: completed queries per second,
     *   (queries-1) / last completion time; OFFLINE: samples / duration.
     * qps_without_overhead: what the SUT alone could do. Defined here as
     *   (SERVER, OFFLINE: samples; streams: queries) / (sut_busy_ns / n_workers), where
     *   sut_busy_ns is the summed wall time spent inside sut->run() over all workers. For
     *   single-stream this equals LoadGen's 1 / mean latency (latency ~ time inside run()). */
    double qps_with_overhead;
    double qps_without_overhead;
    int64_t sut_busy_ns;
    double samples_per_second;      /* sample_count / duration */
    double target_qps;              /* SERVER / OFFLINE setting */
    double scheduled_qps;           /* SERVER: (queries-1) / last scheduled arrival */
    double completed_qps;           /* SERVER: (queries-1) / last completion */

    /* ---- latency ----
     * latency: per query (OFFLINE: per batch, from the batch's call to its return).
     * service: time inside sut->run() per call (per batch). issue_lag: SERVER only. */
    zn_hist latency;
    zn_hist service;
    zn_hist issue_lag;
    int64_t lat_min_ns, lat_mean_ns, lat_max_ns;
    int64_t p50_ns, p90_ns, p95_ns, p97_ns, p99_ns, p999_ns;
    int64_t target_percentile_ns;   /* latency at settings.target_latency_percentile */
    int64_t overlatency_count;      /* SERVER: queries with latency > target_latency_ns */

    /* Coefficient of variation of the query latency (stddev / mean). Above 0.1 the run is
     * flagged noisy: percentiles of a noisy run move between runs; reports warn. */
    double cv;
    int noisy;

    /* ---- the scenario's metric ----
     * single-stream "p90 latency" (ns), multi-stream "p99 latency" (ns), server "scheduled
     * QPS" (queries/s), offline "samples/s". Accuracy mode: "samples checked". */
    char metric_name[48];
    char metric_unit[16];           /* "ns", "queries/s", "samples/s", "samples" */
    double metric_value;

    /* ---- MLPerf early stopping (see loadgen.c: early_stopping_*) ----
     * Stream scenarios: the latency at the target percentile that holds with 99% confidence
     * given the number of queries run (the t-th largest latency, t from a binomial test);
     * es_passed = enough queries for any estimate. SERVER: passed when the number of queries
     * over the bound is small enough that the bound percentile holds with 99% confidence;
     * es_queries_needed then says how many queries (all under the bound) would make it pass. */
    int es_applicable;
    int es_passed;
    int64_t es_latency_ns;          /* stream: the estimate; 0 if not enough queries */
    int64_t es_queries_needed;      /* minimum queries for the estimate / to pass */
    int64_t es_discarded;           /* stream: highest-latency queries the estimate skips */

    /* ---- verdict ---- */
    zn_verdict verdict;
    int interrupted;                /* stop flag, or the SUT failed */
    char stop_reason[ZN_LOADGEN_TEXT];  /* why it was interrupted: "stopped early by the user",
                                           "the SUT failed: ..."; "" otherwise */
    char invalid_reason[ZN_LOADGEN_TEXT];   /* first failed rule's detail; "" when VALID */
    int n_rules;
    zn_rule_outcome rules[ZN_LOADGEN_MAX_RULES];
    int n_recommendations;
    char recommendations[ZN_LOADGEN_MAX_RECS][ZN_LOADGEN_TEXT]; /* "reduce target QPS to about 420" */

    /* ---- per-query ring: the last `n_queries_kept` measured queries, in issue order ----
     * Owned by the results (zn_malloc); release with zn_test_results_free. */
    zn_query_record *queries;
    int64_t n_queries_kept;
    int64_t n_queries_dropped;      /* older queries that fell out of the ring */
} zn_test_results;

/* ---- running ---------------------------------------------------------------------------- */

/* Runs the scenario. `out` is always filled (and must be released with zn_test_results_free)
 * when the return is ZN_OK, ZN_ERR_INTERRUPTED (stop requested: INVALID, interrupted) or the
 * SUT's own failure status (INVALID with the SUT's message as the reason); for
 * ZN_ERR_INVALID_ARGUMENT / ZN_ERR_UNSUPPORTED / ZN_ERR_OUT_OF_MEMORY it is zeroed (safe to
 * free). `live` may be NULL. An INVALID verdict by itself is still ZN_OK: the run happened. */
zn_status zn_loadgen_run(const zn_test_settings *s, const zn_sut *sut, zn_live *live,
                         zn_test_results *out);
void zn_test_results_free(zn_test_results *r);

/* Derives everything after the raw measurements: percentiles, throughput, metric, noise flag,
 * early stopping, rules, verdict and recommendations, from settings, the counts, times,
 * histograms, overlatency_count, sut_busy_ns, n_workers, interrupted and stop_reason.
 * zn_loadgen_run calls it; a report may call it again on a loaded record. */
void zn_loadgen_judge(zn_test_results *r);

/* Harness overhead: runs n single-stream queries against a SUT whose run() returns at once,
 * and returns the mean ns per query (issue + bookkeeping + completion). Negative on error. */
double zn_loadgen_measure_overhead(int64_t n);

/* ---- seeded randomness and the server schedule (exposed for tests and reports) ----------
 * xoshiro256** seeded through splitmix64: the same numbers on every machine. */
typedef struct zn_rng {
    uint64_t s[4];
} zn_rng;

void zn_rng_seed(zn_rng *r, uint64_t seed);
uint64_t zn_rng_next(zn_rng *r);
int64_t zn_rng_below(zn_rng *r, int64_t n);  /* uniform in [0, n), n >= 1 */
double zn_rng_open01(zn_rng *r);             /* uniform in (0, 1] */

/* Poisson arrivals: exponential gaps with mean 1/qps; arrival times accumulate in double
 * precision and are rounded to ns. Same seed -> same schedule. */
typedef struct zn_schedule {
    zn_rng rng;
    double qps;
    double t_ns;      /* the last arrival, unrounded */
} zn_schedule;

void zn_schedule_init(zn_schedule *sch, double qps, uint64_t seed);
int64_t zn_schedule_next(zn_schedule *sch);   /* next arrival, ns since the start */
/* The first n arrival times into arrival_ns[n]. */
void zn_server_schedule(double qps, uint64_t seed, int64_t n, int64_t *arrival_ns);

/* ---- early stopping (exposed for tests) ---------------------------------------------------
 * The minimum number h of queries under the latency such that, with t queries over it, the
 * fraction over is at most (1 - percentile/100) with `confidence` (MLPerf: 0.99):
 * smallest h with P[Binomial(h + t, 1 - p) <= t] <= 1 - confidence. */
int64_t zn_early_stopping_min_passing(int64_t t, double percentile, double confidence);

#endif
