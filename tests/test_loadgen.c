/* test_loadgen.c — the scenario engine against fake systems under test (sleeping, failing,
 * counting): the Poisson schedule (KS test), determinism of seeds, each validity rule flipping
 * the verdict, dynamic batching limits, accuracy coverage, server throughput, the stop flag,
 * SUT failures, the live snapshot, and early stopping against a plain binomial sum.
 * No timing assertions beyond coarse sanity with generous slack. */
#include "tests/test_util.h"

#include <pthread.h>
#include <stdatomic.h>

#include "engine/error.h"
#include "suites/loadgen.h"

/* ---- the fake SUT ------------------------------------------------------------------------ */

typedef struct fake {
    int64_t sleep_ns;        /* per call */
    int max_batch_allowed;   /* 0 = no check */
    atomic_int max_seen;
    atomic_int violations;   /* batches over max_batch_allowed */
    atomic_long calls;
    long fail_after;         /* > 0: the call with this number fails */
    atomic_int *counts;      /* per-sample issue counts, or NULL */
    int64_t n_counts;
    atomic_int out_of_range;
    int64_t *seq;            /* first seq_cap sample indices issued, in order (worker 0) */
    int64_t seq_cap;
    atomic_long seq_n;
} fake;

static zn_status fake_run(void *user, int worker, const int64_t *samples, int n) {
    fake *f = user;
    (void)worker;
    long call = atomic_fetch_add(&f->calls, 1) + 1;
    if (f->fail_after > 0 && call == f->fail_after)
        return zn_error_set(ZN_ERR_RUNTIME, "fake kernel exploded on call %ld", call);
    int seen = atomic_load(&f->max_seen);
    while (n > seen && !atomic_compare_exchange_weak(&f->max_seen, &seen, n)) {
    }
    if (f->max_batch_allowed > 0 && n > f->max_batch_allowed) atomic_fetch_add(&f->violations, 1);
    for (int i = 0; i < n; i++) {
        if (f->counts) {
            if (samples[i] < 0 || samples[i] >= f->n_counts) atomic_fetch_add(&f->out_of_range, 1);
            else atomic_fetch_add(&f->counts[samples[i]], 1);
        }
        if (f->seq) {
            long k = atomic_fetch_add(&f->seq_n, 1);
            if (k < f->seq_cap) f->seq[k] = samples[i];
        }
    }
    if (f->sleep_ns > 0) {
        struct timespec ts = {.tv_sec = f->sleep_ns / 1000000000, .tv_nsec = f->sleep_ns % 1000000000};
        nanosleep(&ts, NULL);
    }
    return ZN_OK;
}

static fake *fake_new(int64_t sleep_ns) {
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->sleep_ns = sleep_ns;
    return f;
}

static void fake_free(fake *f) {
    free(f->counts);
    free(f->seq);
    free(f);
}

static zn_sut sut_of(fake *f, int workers) {
    zn_sut s = {.user = f, .n_workers = workers, .run = fake_run};
    return s;
}

static zn_test_results *results_new(void) {
    zn_test_results *r = calloc(1, sizeof *r);
    assert_non_null(r);
    return r;
}

static const zn_rule_outcome *rule(const zn_test_results *r, const char *name) {
    for (int i = 0; i < r->n_rules; i++)
        if (!strcmp(r->rules[i].name, name)) return &r->rules[i];
    return NULL;
}

static int has_rec(const zn_test_results *r, const char *needle) {
    for (int i = 0; i < r->n_recommendations; i++)
        if (strstr(r->recommendations[i], needle)) return 1;
    return 0;
}

static void dump(const zn_test_results *r) {
    fprintf(stderr, "  verdict %s (%s); %lld queries, %.3f s\n",
            r->verdict == ZN_VERDICT_VALID ? "VALID" : "INVALID", r->invalid_reason,
            (long long)r->query_count, r->duration_ns / 1e9);
    for (int i = 0; i < r->n_rules; i++)
        fprintf(stderr, "    %-18s %s  %s\n", r->rules[i].name, r->rules[i].passed ? "ok  " : "FAIL",
                r->rules[i].detail);
    for (int i = 0; i < r->n_recommendations; i++)
        fprintf(stderr, "    rec: %s\n", r->recommendations[i]);
}

/* Only the named rule fails (plus any listed in `also`). */
static void assert_only_failed(const zn_test_results *r, const char *name, const char *also) {
    if (r->verdict != ZN_VERDICT_INVALID) dump(r);
    assert_int_equal(r->verdict, ZN_VERDICT_INVALID);
    const zn_rule_outcome *o = rule(r, name);
    assert_non_null(o);
    if (o->passed) dump(r);
    assert_false(o->passed);
    for (int i = 0; i < r->n_rules; i++) {
        if (!strcmp(r->rules[i].name, name) || (also && strstr(also, r->rules[i].name))) continue;
        if (!r->rules[i].passed) dump(r);
        assert_true(r->rules[i].passed);
    }
}

static uint64_t seed2(uint64_t salt) {
    tu_rng r = tu_rng_new(tu_seed() ^ salt);
    return tu_next(&r);
}

/* ---- schedule ------------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov statistic of the gaps against Exp(qps). */
static double ks_exp(const int64_t *arr, int64_t n, double qps) {
    double *g = malloc((size_t)n * sizeof *g);
    assert_non_null(g);
    int64_t prev = 0;
    for (int64_t i = 0; i < n; i++) {
        g[i] = (double)(arr[i] - prev) / 1e9;
        prev = arr[i];
    }
    qsort(g, (size_t)n, sizeof *g, cmp_double);
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double f = 1 - exp(-qps * g[i]);
        double lo = f - (double)i / n, hi = (double)(i + 1) / n - f;
        if (lo > d) d = lo;
        if (hi > d) d = hi;
    }
    free(g);
    return d;
}

/* The gaps pass KS against Exp(target) at alpha = 0.01 (critical value 1.628/sqrt(n)). With a
 * fresh seed a correct generator fails 1% of the time, so a failure is retried once on an
 * independent seed: a real defect fails both, a false alarm both only 1e-4 of the time. */
static void test_schedule_poisson(void **state) {
    (void)state;
    enum { N = 20000 };
    int64_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    tu_rng r = tu_rng_new(tu_seed() ^ 0x5CED);
    double qps = 20 + (double)(tu_next(&r) % 5000);
    uint64_t seed = tu_next(&r);
    double crit = 1.628 / sqrt((double)N);
    zn_server_schedule(qps, seed, N, a);
    for (int i = 1; i < N; i++) assert_true(a[i] >= a[i - 1]);
    double d = ks_exp(a, N, qps);
    if (d > crit) {
        fprintf(stderr, "  KS D=%.4f > %.4f at qps %g; retrying on another seed\n", d, crit, qps);
        zn_server_schedule(qps, seed ^ 0xABCDEF12345ull, N, b);
        d = ks_exp(b, N, qps);
    }
    assert_true(d <= crit);
    // The mean gap is 1/qps (5 sigma: the gap's sd equals its mean).
    double mean = (double)a[N - 1] / N / 1e9;
    assert_true(fabs(mean * qps - 1) < 5 / sqrt((double)N));

    // Same seed, same schedule; another seed, another one. The streaming form matches.
    zn_server_schedule(qps, seed, N, b);
    assert_memory_equal(a, b, N * sizeof *a);
    zn_schedule sch;
    zn_schedule_init(&sch, qps, seed);
    for (int i = 0; i < 100; i++) assert_int_equal(zn_schedule_next(&sch), a[i]);
    zn_server_schedule(qps, seed + 1, N, b);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == b[i];
    assert_true(same < N / 100);
    free(a);
    free(b);
}

/* The performance set: in range, distinct, deterministic per seed. */
static void test_performance_set(void **state) {
    (void)state;
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_SINGLE_STREAM);
    tu_rng r = tu_rng_new(tu_seed() ^ 0x9E5);
    s.total_sample_count = 5000 + (int64_t)(tu_next(&r) % 100000);
    s.performance_sample_count = 1 + (int64_t)(tu_next(&r) % 3000);
    s.sample_seed = tu_next(&r);
    int64_t n = s.performance_sample_count;
    int64_t *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    char *seen = calloc((size_t)s.total_sample_count, 1);
    assert_int_equal(zn_loadgen_performance_set(&s, a, n), n);
    for (int64_t i = 0; i < n; i++) {
        assert_true(a[i] >= 0 && a[i] < s.total_sample_count);
        assert_false(seen[a[i]]);
        seen[a[i]] = 1;
    }
    assert_int_equal(zn_loadgen_performance_set(&s, b, n), n);
    assert_memory_equal(a, b, (size_t)n * sizeof *a);
    s.sample_seed ^= 1;
    zn_loadgen_performance_set(&s, b, n);
    if (n > 20) assert_true(memcmp(a, b, (size_t)n * sizeof *a) != 0);
    free(a);
    free(b);
    free(seen);
}

/* ---- early stopping ------------------------------------------------------------------------ */

/* P[Binomial(n, q) <= t], summed plainly in log space. */
static double binom_cdf(int64_t n, double q, int64_t t) {
    double s = 0;
    for (int64_t x = 0; x <= t && x <= n; x++) {
        double lc = lgamma((double)n + 1) - lgamma((double)x + 1) - lgamma((double)(n - x) + 1);
        s += exp(lc + x * log(q) + (n - x) * log1p(-q));
    }
    return s;
}

static void test_early_stopping_min_passing(void **state) {
    (void)state;
    // t = 0 has a closed form: p^h < 0.01.
    assert_int_equal(zn_early_stopping_min_passing(0, 99, 0.99), 459);
    assert_int_equal(zn_early_stopping_min_passing(0, 90, 0.99), 44);
    tu_rng r = tu_rng_new(tu_seed() ^ 0xE5);
    const double pcts[] = {90, 95, 99};
    for (int k = 0; k < 12; k++) {
        double pct = pcts[k % 3];
        int64_t t = (int64_t)(tu_next(&r) % 300);
        int64_t h = zn_early_stopping_min_passing(t, pct, 0.99);
        double q = 1 - pct / 100;
        // h passes, h - 1 does not.
        assert_true(binom_cdf(h + t, q, t) < 0.01);
        assert_true(h == 1 || binom_cdf(h - 1 + t, q, t) >= 0.01);
    }
}

/* ---- validity rules ----------------------------------------------------------------------- */

static zn_test_settings quick_ss(void) {
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_SINGLE_STREAM);
    s.min_duration_ms = 100;
    s.max_duration_ms = 20000;
    s.min_query_count = 100;
    s.sample_seed = seed2(0x55);
    return s;
}

static void test_valid_single_stream(void **state) {
    (void)state;
    fake *f = fake_new(100000);
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_ss();
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    if (r->verdict != ZN_VERDICT_VALID) dump(r);
    assert_int_equal(r->verdict, ZN_VERDICT_VALID);
    assert_string_equal(r->invalid_reason, "");
    assert_true(r->query_count >= 100);
    assert_int_equal(r->sample_count, r->query_count);
    assert_int_equal(atomic_load(&f->calls), r->query_count + r->warmup_query_count);
    assert_true(r->duration_ns >= 100 * 1000000);
    assert_true(r->lat_min_ns >= f->sleep_ns);  // a call cannot be faster than its sleep
    assert_true(r->p50_ns <= r->p90_ns && r->p90_ns <= r->p99_ns && r->p99_ns <= r->lat_max_ns);
    assert_int_equal(r->target_percentile_ns, r->p90_ns);
    assert_true(r->metric_value == (double)r->p90_ns);
    assert_true(r->es_applicable && r->es_passed && r->es_latency_ns >= r->p90_ns);
    assert_true(r->qps_with_overhead > 0 && r->qps_without_overhead >= r->qps_with_overhead * 0.5);
    // Ring: every query, in issue order.
    assert_int_equal(r->n_queries_kept, r->query_count);
    for (int64_t i = 1; i < r->n_queries_kept; i++)
        assert_true(r->queries[i].issue_ns >= r->queries[i - 1].issue_ns);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static void test_rule_min_duration(void **state) {
    (void)state;
    fake *f = fake_new(200000);
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_ss();
    s.min_query_count = 64;
    s.min_duration_ms = 2000;
    s.max_duration_ms = 150;  // the max ends the run before the min is met
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_only_failed(r, "min_duration", NULL);
    assert_non_null(strstr(rule(r, "min_duration")->detail, "< 2.00 s"));
    assert_non_null(strstr(r->invalid_reason, "min_duration"));
    assert_true(has_rec(r, "max duration"));
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static void test_rule_min_queries(void **state) {
    (void)state;
    fake *f = fake_new(500000);
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_ss();
    s.min_duration_ms = 0;
    s.max_duration_ms = 200;
    s.min_query_count = 100000;  // far more than 200 ms of 0.5 ms queries
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_only_failed(r, "min_queries", "early_stopping");  // early stopping may fail too
    assert_true(has_rec(r, "--min-queries"));
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static void test_rule_early_stopping(void **state) {
    (void)state;
    fake *f = fake_new(0);
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_ss();
    s.min_duration_ms = 0;
    s.min_query_count = 20;
    s.max_query_count = 20;  // p90 needs 64 queries for an estimate
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(r->query_count, 20);
    assert_only_failed(r, "early_stopping", NULL);
    assert_int_equal(r->es_queries_needed, 64);
    assert_true(has_rec(r, "--min-queries to at least 64"));
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static zn_test_settings quick_server(double qps, int64_t bound_ns, int64_t min_ms) {
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_SERVER);
    s.target_qps = qps;
    s.target_latency_ns = bound_ns;
    s.min_duration_ms = min_ms;
    s.max_duration_ms = 30000;
    s.min_query_count = 0;
    s.schedule_seed = seed2(0x5C);
    s.sample_seed = seed2(0x5A);
    return s;
}

/* The bound is below what the SUT needs for one query: INVALID latency_constraint, and the
 * advice says no QPS helps (raise the bound). */
static void test_rule_latency_bound_below_service(void **state) {
    (void)state;
    fake *f = fake_new(2000000);  // 2 ms per query
    zn_sut sut = sut_of(f, 2);
    zn_test_settings s = quick_server(100, 1000000, 300);  // bound 1 ms
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_only_failed(r, "latency_constraint", "early_stopping min_queries target_qps");
    assert_false(rule(r, "early_stopping")->passed);
    assert_true(r->overlatency_count > 0);
    assert_true(has_rec(r, "--latency-bound"));
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* Overloaded: target QPS twice the SUT's capacity. Queueing blows the bound: INVALID
 * latency_constraint with "reduce target QPS to about N", N below the target. */
static void test_rule_latency_overload(void **state) {
    (void)state;
    fake *f = fake_new(2000000);  // 2 ms, one worker: capacity about 500 QPS
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_server(1000, 30000000, 300);
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_only_failed(r, "latency_constraint", "early_stopping min_queries target_qps");
    const char *rec = NULL;
    for (int i = 0; i < r->n_recommendations; i++)
        if (strstr(r->recommendations[i], "reduce target QPS to about ")) rec = r->recommendations[i];
    if (!rec) dump(r);
    assert_non_null(rec);
    double suggested = atof(strstr(rec, "about ") + 6);
    assert_true(suggested > 0 && suggested < 1000);
    // The queueing shows: latency (from the scheduled arrival) far above the service time.
    assert_true(r->p99_ns > 5 * zn_hist_percentile(&r->service, 99));
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* A server run at 500 QPS on a fake of 200 us with 2 workers keeps up: completed QPS within 2%
 * of the scheduled QPS, the scheduled within 5 sigma of the target, VALID. */
static void test_server_throughput(void **state) {
    (void)state;
    fake *f = fake_new(200000);
    zn_sut sut = sut_of(f, 2);
    zn_test_settings s = quick_server(500, 50000000, 2000);
    s.min_query_count = 500;
    zn_live *live = zn_live_new();
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, live, r), ZN_OK);
    if (r->verdict != ZN_VERDICT_VALID) dump(r);
    assert_int_equal(r->verdict, ZN_VERDICT_VALID);
    assert_int_equal(r->query_count, r->scheduled_count);
    double n = (double)r->query_count;
    assert_true(fabs(r->completed_qps - r->scheduled_qps) <= 0.02 * r->scheduled_qps);
    assert_true(fabs(r->scheduled_qps - 500) <= 500 * 5 / sqrt(n));
    assert_true(r->metric_value == r->scheduled_qps);
    assert_int_equal(zn_hist_count(&r->issue_lag), r->query_count);
    assert_true(r->last_issue_ns >= 2000 * INT64_C(1000000));
    zn_live_snapshot snap;
    zn_live_read(live, &snap);
    assert_int_equal(snap.state, ZN_RUN_DONE);
    assert_int_equal(snap.queries_done, r->query_count);
    assert_int_equal(snap.queries_issued, r->scheduled_count);
    assert_true(snap.min_duration_progress == 1.0 && snap.min_queries_progress == 1.0);
    zn_live_free(live);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* ---- dynamic batching ------------------------------------------------------------------- */

/* Saturated: batches fill up to max_batch and never beyond. */
static void test_batching_max_batch(void **state) {
    (void)state;
    fake *f = fake_new(1000000);  // 1 ms per call
    f->max_batch_allowed = 4;
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_server(3000, 1000000000, 300);
    s.max_batch = 4;
    s.max_queue_delay_ns = 500000;
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(atomic_load(&f->violations), 0);
    assert_int_equal(atomic_load(&f->max_seen), 4);
    assert_int_equal(r->query_count, r->scheduled_count);
    for (int64_t i = 0; i < r->n_queries_kept; i++) assert_true(r->queries[i].n_samples <= 4);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* Light load with a large max_batch: a query waits for company at most max_queue_delay
 * (plus its issue lag and scheduling slack), and batching does happen. */
static void test_batching_queue_delay(void **state) {
    (void)state;
    fake *f = fake_new(100000);
    f->max_batch_allowed = 64;
    zn_sut sut = sut_of(f, 2);
    const int64_t delay = 2000000;  // 2 ms
    zn_test_settings s = quick_server(1000, 1000000000, 300);
    s.max_batch = 64;
    s.max_queue_delay_ns = delay;
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(atomic_load(&f->violations), 0);
    assert_true(atomic_load(&f->max_seen) >= 2);
    assert_int_equal(r->n_queries_dropped, 0);
    int64_t worst = 0;
    for (int64_t i = 0; i < r->n_queries_kept; i++) {
        int64_t held = r->queries[i].start_ns - r->queries[i].issue_ns;
        if (held > worst) worst = held;
    }
    const int64_t slack = 30000000;  // 30 ms: a loaded 2-core machine, sanitizers
    if (worst > delay + zn_hist_max(&r->issue_lag) + slack)
        fprintf(stderr, "  worst hold %lld ns\n", (long long)worst);
    assert_true(worst <= delay + zn_hist_max(&r->issue_lag) + slack);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* ---- accuracy ----------------------------------------------------------------------------- */

static void check_accuracy(zn_scenario sc, int workers, int max_batch, int64_t total) {
    fake *f = fake_new(0);
    f->counts = calloc((size_t)total, sizeof *f->counts);
    f->n_counts = total;
    f->max_batch_allowed = sc == ZN_SCENARIO_MULTI_STREAM ? 8 : max_batch;
    zn_sut sut = sut_of(f, workers);
    zn_test_settings s = zn_test_settings_default(sc);
    s.mode = ZN_TEST_ACCURACY;
    s.total_sample_count = total;
    s.max_batch = max_batch;
    s.warmup_queries = 0;
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(atomic_load(&f->out_of_range), 0);
    for (int64_t i = 0; i < total; i++) {
        if (atomic_load(&f->counts[i]) != 1)
            fprintf(stderr, "  %s: sample %lld issued %d times\n", zn_scenario_name(sc),
                    (long long)i, atomic_load(&f->counts[i]));
        assert_int_equal(atomic_load(&f->counts[i]), 1);
    }
    assert_int_equal(r->sample_count, total);
    assert_int_equal(r->verdict, ZN_VERDICT_VALID);
    assert_int_equal(atomic_load(&f->violations), 0);
    assert_true(r->metric_value == (double)total);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static void test_accuracy_every_sample_once(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() ^ 0xACC);
    check_accuracy(ZN_SCENARIO_OFFLINE, 2, 1 + (int)(tu_next(&r) % 16), 500 + (int64_t)(tu_next(&r) % 3000));
    check_accuracy(ZN_SCENARIO_SERVER, 3, 1 + (int)(tu_next(&r) % 8), 100 + (int64_t)(tu_next(&r) % 1000));
    check_accuracy(ZN_SCENARIO_SINGLE_STREAM, 1, 1, 1 + (int64_t)(tu_next(&r) % 500));
    check_accuracy(ZN_SCENARIO_MULTI_STREAM, 1, 1, 1 + (int64_t)(tu_next(&r) % 500));
}

/* ---- other scenarios ---------------------------------------------------------------------- */

static void test_offline_and_multistream(void **state) {
    (void)state;
    fake *f = fake_new(100000);
    f->max_batch_allowed = 8;
    zn_sut sut = sut_of(f, 2);
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_OFFLINE);
    s.min_duration_ms = 0;
    s.min_query_count = 1000;
    s.target_qps = 1000;  // with min duration 0: exactly min_query_count samples
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(r->sample_count, zn_loadgen_offline_sample_count(&s, 1000));
    assert_int_equal(r->sample_count, 1000);
    assert_int_equal(r->query_count, 125);  // batches of 8
    assert_int_equal(atomic_load(&f->violations), 0);
    assert_int_equal(r->verdict, ZN_VERDICT_VALID);
    assert_true(r->metric_value == r->samples_per_second && r->metric_value > 0);
    zn_test_results_free(r);
    // Offline sizing: 1.1 x qps x min duration when that is more than the minimum.
    s.min_duration_ms = 2000;
    assert_int_equal(zn_loadgen_offline_sample_count(&s, 1000), 2200);

    fake *g = fake_new(0);
    g->max_batch_allowed = 8;
    sut = sut_of(g, 1);
    s = zn_test_settings_default(ZN_SCENARIO_MULTI_STREAM);
    s.min_duration_ms = 0;
    s.min_query_count = 700;  // p99 needs 662 for an estimate
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(r->query_count, 700);
    assert_int_equal(r->sample_count, 700 * 8);
    assert_int_equal(atomic_load(&g->max_seen), 8);
    if (r->verdict != ZN_VERDICT_VALID) dump(r);
    assert_int_equal(r->verdict, ZN_VERDICT_VALID);
    assert_int_equal(r->target_percentile_ns, r->p99_ns);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
    fake_free(g);
}

/* Same seeds, same inputs; another sample seed, other inputs. */
static void test_determinism(void **state) {
    (void)state;
    int64_t *seqs[3];
    zn_test_settings s = quick_ss();
    s.min_duration_ms = 0;
    s.min_query_count = 300;
    s.max_query_count = 300;
    s.warmup_queries = 0;
    s.total_sample_count = 5000;
    s.performance_sample_count = 700;
    for (int k = 0; k < 3; k++) {
        fake *f = fake_new(0);
        f->seq_cap = 300;
        f->seq = calloc(300, sizeof *f->seq);
        zn_sut sut = sut_of(f, 1);
        if (k == 2) s.sample_seed ^= 0x1234;
        zn_test_results *r = results_new();
        assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
        assert_int_equal(atomic_load(&f->seq_n), 300);
        seqs[k] = f->seq;
        f->seq = NULL;
        zn_test_results_free(r);
        free(r);
        fake_free(f);
    }
    assert_memory_equal(seqs[0], seqs[1], 300 * sizeof(int64_t));
    // Every issued sample belongs to the performance set.
    int64_t n_perf = s.performance_sample_count ? s.performance_sample_count
                                                : (s.total_sample_count < 1024 ? s.total_sample_count : 1024);
    int64_t *perf = malloc((size_t)n_perf * sizeof *perf);
    s.sample_seed ^= 0x1234;  // back to the seed of runs 0 and 1
    assert_int_equal(zn_loadgen_performance_set(&s, perf, n_perf), n_perf);
    for (int i = 0; i < 300; i++) {
        int found = 0;
        for (int64_t j = 0; j < n_perf && !found; j++) found = perf[j] == seqs[0][i];
        assert_true(found);
    }
    free(perf);
    assert_true(memcmp(seqs[0], seqs[2], 300 * sizeof(int64_t)) != 0);
    for (int k = 0; k < 3; k++) free(seqs[k]);
}

/* ---- stop flag, failures, live, settings ------------------------------------------------- */

typedef struct stopper {
    zn_live *live;
    int64_t after_ns;
    atomic_int saw_running;
    atomic_long max_done_seen;
    atomic_int nonmonotone;
} stopper;

static void *stop_thread(void *arg) {
    stopper *st = arg;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long prev = 0;
    for (;;) {
        zn_live_snapshot snap;
        zn_live_read(st->live, &snap);
        if (snap.state == ZN_RUN_RUNNING) atomic_store(&st->saw_running, 1);
        if (snap.queries_done < prev) atomic_store(&st->nonmonotone, 1);
        prev = (long)snap.queries_done;
        atomic_store(&st->max_done_seen, prev);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000000000 + (t.tv_nsec - t0.tv_nsec) >= st->after_ns) break;
        struct timespec nap = {0, 5000000};
        nanosleep(&nap, NULL);
    }
    zn_loadgen_request_stop(st->live);
    return NULL;
}

static void check_stop(zn_scenario sc) {
    fake *f = fake_new(1000000);
    zn_sut sut = sut_of(f, 2);
    zn_test_settings s = sc == ZN_SCENARIO_SERVER ? quick_server(200, 100000000, 600000)
                                                  : zn_test_settings_default(sc);
    s.min_duration_ms = 600000;  // ten minutes: only the stop ends it
    s.max_duration_ms = 0;
    zn_live *live = zn_live_new();
    stopper st = {.live = live, .after_ns = 200000000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stop_thread, &st), 0);
    zn_test_results *r = results_new();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    zn_status rc = zn_loadgen_run(&s, &sut, live, r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(th, NULL);
    assert_int_equal(rc, ZN_ERR_INTERRUPTED);
    assert_true(b.tv_sec - a.tv_sec < 30);  // coarse: it did not run to the min duration
    assert_true(r->interrupted);
    assert_int_equal(r->verdict, ZN_VERDICT_INVALID);
    assert_non_null(strstr(r->invalid_reason, "stopped early by the user"));
    assert_false(rule(r, "completed")->passed);
    assert_true(r->query_count > 0);
    assert_true(atomic_load(&st.saw_running));
    assert_false(atomic_load(&st.nonmonotone));
    zn_live_snapshot snap;
    zn_live_read(live, &snap);
    assert_int_equal(snap.state, ZN_RUN_DONE);
    assert_true(snap.stop_requested);
    zn_live_free(live);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

static void test_stop_flag(void **state) {
    (void)state;
    check_stop(ZN_SCENARIO_SINGLE_STREAM);
    check_stop(ZN_SCENARIO_SERVER);
    check_stop(ZN_SCENARIO_OFFLINE);
}

static void test_sut_failure(void **state) {
    (void)state;
    const zn_scenario scs[] = {ZN_SCENARIO_SINGLE_STREAM, ZN_SCENARIO_SERVER, ZN_SCENARIO_OFFLINE};
    for (int k = 0; k < 3; k++) {
        fake *f = fake_new(100000);
        f->fail_after = 30;
        zn_sut sut = sut_of(f, 2);
        zn_test_settings s = scs[k] == ZN_SCENARIO_SERVER ? quick_server(1000, 100000000, 60000)
                                                          : zn_test_settings_default(scs[k]);
        s.min_duration_ms = 60000;
        zn_test_results *r = results_new();
        assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_ERR_RUNTIME);
        assert_non_null(strstr(zn_last_error()->message, "fake kernel exploded"));
        assert_true(r->interrupted);
        assert_int_equal(r->verdict, ZN_VERDICT_INVALID);
        assert_non_null(strstr(r->invalid_reason, "the SUT failed: fake kernel exploded"));
        zn_test_results_free(r);
        free(r);
        fake_free(f);
    }
}

static void test_settings_and_names(void **state) {
    (void)state;
    for (int i = 0; i < ZN_SCENARIO_COUNT; i++) {
        zn_scenario sc;
        assert_int_equal(zn_scenario_parse(zn_scenario_name((zn_scenario)i), &sc), ZN_OK);
        assert_int_equal(sc, i);
        zn_test_settings d = zn_test_settings_default((zn_scenario)i);
        assert_int_equal(zn_test_settings_validate(&d), ZN_OK);
        zn_test_settings m = zn_test_settings_mlperf((zn_scenario)i);
        assert_int_equal(zn_test_settings_validate(&m), ZN_OK);
        assert_int_equal(m.min_duration_ms, 600000);
    }
    zn_scenario sc;
    assert_int_equal(zn_scenario_parse("SINGLE_STREAM", &sc), ZN_OK);
    assert_int_equal(sc, ZN_SCENARIO_SINGLE_STREAM);
    assert_int_equal(zn_scenario_parse("streaming", &sc), ZN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zn_last_error()->hint, "multi-stream"));
    zn_test_mode m;
    assert_int_equal(zn_test_mode_parse("find-peak", &m), ZN_OK);
    assert_int_equal(m, ZN_TEST_FIND_PEAK);
    assert_int_equal(zn_test_settings_mlperf(ZN_SCENARIO_MULTI_STREAM).min_query_count, 270336);
    assert_int_equal(zn_test_settings_mlperf(ZN_SCENARIO_MULTI_STREAM).samples_per_query, 8);
    assert_int_equal(zn_test_settings_mlperf(ZN_SCENARIO_OFFLINE).min_query_count, 24576);
    assert_int_equal(zn_test_settings_mlperf(ZN_SCENARIO_SINGLE_STREAM).min_query_count, 1024);
    assert_true(zn_test_settings_mlperf(ZN_SCENARIO_SINGLE_STREAM).target_latency_percentile == 90);

    fake *f = fake_new(0);
    zn_sut sut = sut_of(f, 1);
    zn_test_results *r = results_new();
    zn_test_settings s = zn_test_settings_default(ZN_SCENARIO_SERVER);
    s.mode = ZN_TEST_FIND_PEAK;
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zn_last_error()->message, "find-peak"));
    s.mode = ZN_TEST_PERFORMANCE;
    s.target_qps = 0;
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zn_last_error()->message, "target_qps"));
    s = zn_test_settings_default(ZN_SCENARIO_OFFLINE);
    s.n_workers = 4;  // more than the SUT has
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_ERR_INVALID_ARGUMENT);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
}

/* The ring keeps the last keep_queries queries and counts the rest as dropped; re-judging a
 * result gives the same verdict; the overhead probe runs. */
static void test_ring_judge_overhead(void **state) {
    (void)state;
    fake *f = fake_new(0);
    zn_sut sut = sut_of(f, 1);
    zn_test_settings s = quick_ss();
    s.min_duration_ms = 0;
    s.min_query_count = 1000;
    s.max_query_count = 1000;
    s.keep_queries = 100;
    zn_test_results *r = results_new();
    assert_int_equal(zn_loadgen_run(&s, &sut, NULL, r), ZN_OK);
    assert_int_equal(r->n_queries_kept, 100);
    assert_int_equal(r->n_queries_dropped, 900);
    zn_verdict v = r->verdict;
    int nrules = r->n_rules;
    zn_loadgen_judge(r);
    assert_int_equal(r->verdict, v);
    assert_int_equal(r->n_rules, nrules);
    zn_test_results_free(r);
    free(r);
    fake_free(f);
    double ns = zn_loadgen_measure_overhead(20000);
    fprintf(stderr, "  harness overhead: %.0f ns per query\n", ns);
    assert_true(ns > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_poisson),
        cmocka_unit_test(test_performance_set),
        cmocka_unit_test(test_early_stopping_min_passing),
        cmocka_unit_test(test_valid_single_stream),
        cmocka_unit_test(test_rule_min_duration),
        cmocka_unit_test(test_rule_min_queries),
        cmocka_unit_test(test_rule_early_stopping),
        cmocka_unit_test(test_rule_latency_bound_below_service),
        cmocka_unit_test(test_rule_latency_overload),
        cmocka_unit_test(test_server_throughput),
        cmocka_unit_test(test_batching_max_batch),
        cmocka_unit_test(test_batching_queue_delay),
        cmocka_unit_test(test_accuracy_every_sample_once),
        cmocka_unit_test(test_offline_and_multistream),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_sut_failure),
        cmocka_unit_test(test_settings_and_names),
        cmocka_unit_test(test_ring_judge_overhead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
