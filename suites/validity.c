/* validity.c — judging a loadgen run: derived statistics, the scenario's metric, MLPerf's
 * early-stopping estimate, each validity rule with its outcome in words, the verdict and the
 * recommendations. Works on a zn_test_results alone (no clocks, no threads), so a saved run
 * can be judged again. */
#include "loadgen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- early stopping ---------------------------------------------------------------------
 *
 * MLPerf LoadGen's early stopping (loadgen/early_stopping.cc, results.cc) replaces "run N
 * queries and take the percentile" by a statistical guarantee. Treat each query as a
 * Bernoulli trial that is "over" (latency above some value) with probability q. If the
 * system meets percentile p, q <= 1 - p. Having seen t queries over and h under, the chance
 * of seeing t or fewer overs in n = h + t trials if q were exactly 1 - p is the binomial CDF
 *     P[Binomial(h + t, 1 - p) <= t] = I_p(h, t + 1)
 * (I = the regularized incomplete beta function). When that chance is below 1 - confidence
 * (1% for MLPerf's 99%), we may conclude with 99% confidence that the true over-fraction is
 * below 1 - p. zn_early_stopping_min_passing(t) is the smallest h for which that holds.
 *
 * SERVER: t = queries over the latency bound; the run passes early stopping if it ran at
 *   least h(t) + t queries.
 * SINGLE/MULTI-STREAM: the largest t with h(t) + t <= n gives the estimate: the t-th largest
 *   latency (0-based sorted index n - t; the t - 1 highest are "discarded"), a p-th
 *   percentile latency that holds with 99% confidence. With fewer than h(1) + 1 queries there
 *   is no estimate (64 queries for p90, 662 for p99 — LoadGen's "need to process at least").
 * Our latencies come from the histogram, so the estimate is within its 0.4% bucket error.
 * ------------------------------------------------------------------------------------------ */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double betacf(double a, double b, double x) {
    const double eps = 1e-15, tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

static double lgam(double x) {
    int sign;
    return lgamma_r(x, &sign);  // lgamma() writes a global; this runs on any thread
}

/* Regularized incomplete beta I_x(a, b). */
static double ibeta(double x, double a, double b) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lfront = lgam(a + b) - lgam(a) - lgam(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lfront) * betacf(a, b, x) / a;
    return 1 - exp(lfront) * betacf(b, a, 1 - x) / b;
}

/* P[Binomial(h + t, 1 - p) <= t], p a fraction. */
static double odds(int64_t h, int64_t t, double p) { return ibeta(p, (double)h, (double)t + 1); }

int64_t zn_early_stopping_min_passing(int64_t t, double percentile, double confidence) {
    double p = percentile / 100.0;
    if (t < 0) t = 0;
    if (!(p > 0 && p < 1) || !(confidence > 0 && confidence < 1)) return INT64_MAX / 4;
    double alpha = 1 - confidence;
    if (odds(1, t, p) < alpha) return 1;
    int64_t lo = 1, hi = 2;  // odds(lo) >= alpha; grow hi until odds(hi) < alpha
    while (odds(hi, t, p) >= alpha) {
        lo = hi;
        if (hi > INT64_MAX / 8) return hi;
        hi *= 2;
    }
    while (hi - lo > 1) {  // invariant: odds(lo) >= alpha > odds(hi)
        int64_t mid = lo + (hi - lo) / 2;
        if (odds(mid, t, p) < alpha) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* ---- text helpers ------------------------------------------------------------------------ */

static void fmt_time(char *buf, size_t cap, double ns) {
    double a = fabs(ns);
    if (a >= 1e9) snprintf(buf, cap, "%.2f s", ns / 1e9);
    else if (a >= 1e6) snprintf(buf, cap, "%.2f ms", ns / 1e6);
    else if (a >= 1e3) snprintf(buf, cap, "%.1f us", ns / 1e3);
    else snprintf(buf, cap, "%.0f ns", ns);
}

/* 2-3 significant digits, for suggested settings ("about 420"). */
static double round_sig(double x) {
    if (!(x > 0)) return 0;
    double mag = pow(10, floor(log10(x)) - 1);
    return floor(x / mag) * mag;
}

static zn_rule_outcome *add_rule(zn_test_results *r, const char *name, int passed,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static zn_rule_outcome *add_rule(zn_test_results *r, const char *name, int passed,
                                 const char *fmt, ...) {
    if (r->n_rules >= ZN_LOADGEN_MAX_RULES) return NULL;
    zn_rule_outcome *o = &r->rules[r->n_rules++];
    snprintf(o->name, sizeof o->name, "%s", name);
    o->passed = passed;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
    return o;
}

static void add_rec(zn_test_results *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_rec(zn_test_results *r, const char *fmt, ...) {
    if (r->n_recommendations >= ZN_LOADGEN_MAX_RECS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->recommendations[r->n_recommendations++], ZN_LOADGEN_TEXT, fmt, ap);
    va_end(ap);
}

/* The target QPS we would suggest to a server run that missed its bound: below the target
 * and below the capacity the SUT showed (queries per busy second times workers). */
static double suggest_qps(const zn_test_results *r) {
    double target = r->settings.target_qps;
    double s = 0.8 * target;
    if (r->qps_without_overhead > 0 && 0.8 * r->qps_without_overhead < 0.9 * target)
        s = 0.8 * r->qps_without_overhead;
    return round_sig(s);
}

/* ---- the judge ---------------------------------------------------------------------------- */

static void derive_stats(zn_test_results *r) {
    const zn_test_settings *s = &r->settings;
    const zn_hist *L = &r->latency;
    r->lat_min_ns = zn_hist_min(L);
    r->lat_max_ns = zn_hist_max(L);
    r->lat_mean_ns = (int64_t)llround(zn_hist_mean(L));
    r->p50_ns = zn_hist_percentile(L, 50);
    r->p90_ns = zn_hist_percentile(L, 90);
    r->p95_ns = zn_hist_percentile(L, 95);
    r->p97_ns = zn_hist_percentile(L, 97);
    r->p99_ns = zn_hist_percentile(L, 99);
    r->p999_ns = zn_hist_percentile(L, 99.9);
    r->target_percentile_ns = zn_hist_percentile(L, s->target_latency_percentile);
    r->cv = zn_hist_cv(L);
    // A CV above 0.1 means the latency spread is more than 10% of the mean: percentiles from
    // such a run move noticeably between runs, so comparisons need care.
    r->noisy = zn_hist_count(L) >= 2 && r->cv > 0.1;

    double dur_s = (double)r->duration_ns / 1e9;
    int nw = r->n_workers > 0 ? r->n_workers : 1;
    double busy_per_worker_s = (double)r->sut_busy_ns / nw / 1e9;
    double q = (double)r->query_count, n = (double)r->sample_count;
    r->samples_per_second = dur_s > 0 ? n / dur_s : 0;
    r->target_qps = s->target_qps;
    r->scheduled_qps = r->completed_qps = 0;
    switch (s->scenario) {
    case ZN_SCENARIO_SINGLE_STREAM:
    case ZN_SCENARIO_MULTI_STREAM:
        // LoadGen: (queries - 1) / time of the last issue; the last query's own time is the
        // open end of the range.
        r->qps_with_overhead = r->last_issue_ns > 0 && q > 1 ? (q - 1) / (r->last_issue_ns / 1e9)
                               : dur_s > 0 ? q / dur_s : 0;
        r->qps_without_overhead = busy_per_worker_s > 0 ? q / busy_per_worker_s : 0;
        break;
    case ZN_SCENARIO_SERVER:
        r->scheduled_qps = r->last_issue_ns > 0 && r->scheduled_count > 1
                               ? (double)(r->scheduled_count - 1) / (r->last_issue_ns / 1e9) : 0;
        r->completed_qps = dur_s > 0 && q > 1 ? (q - 1) / dur_s : 0;
        r->qps_with_overhead = r->completed_qps;
        r->qps_without_overhead = busy_per_worker_s > 0 ? n / busy_per_worker_s : 0;
        break;
    case ZN_SCENARIO_OFFLINE:
    default:
        r->qps_with_overhead = r->samples_per_second;
        r->qps_without_overhead = busy_per_worker_s > 0 ? n / busy_per_worker_s : 0;
        break;
    }

    if (s->mode == ZN_TEST_ACCURACY) {
        snprintf(r->metric_name, sizeof r->metric_name, "samples checked");
        snprintf(r->metric_unit, sizeof r->metric_unit, "samples");
        r->metric_value = n;
        return;
    }
    switch (s->scenario) {
    case ZN_SCENARIO_SINGLE_STREAM:
    case ZN_SCENARIO_MULTI_STREAM:
        snprintf(r->metric_name, sizeof r->metric_name, "p%g latency", s->target_latency_percentile);
        snprintf(r->metric_unit, sizeof r->metric_unit, "ns");
        r->metric_value = (double)r->target_percentile_ns;
        break;
    case ZN_SCENARIO_SERVER:
        // LoadGen's server metric: "scheduled samples per second", valid only with the bound met.
        snprintf(r->metric_name, sizeof r->metric_name, "scheduled QPS");
        snprintf(r->metric_unit, sizeof r->metric_unit, "queries/s");
        r->metric_value = r->scheduled_qps;
        break;
    default:
        snprintf(r->metric_name, sizeof r->metric_name, "samples per second");
        snprintf(r->metric_unit, sizeof r->metric_unit, "samples/s");
        r->metric_value = r->samples_per_second;
        break;
    }
}

static void judge_early_stopping(zn_test_results *r) {
    const zn_test_settings *s = &r->settings;
    double pct = s->target_latency_percentile;
    int64_t n = r->query_count;
    const double conf = 0.99;
    char a[32], b[32];
    r->es_applicable = 1;
    if (s->scenario == ZN_SCENARIO_SERVER) {
        int64_t t = r->overlatency_count;
        int64_t h = zn_early_stopping_min_passing(t, pct, conf);
        r->es_queries_needed = h + t;
        r->es_passed = n >= h + t;
        fmt_time(a, sizeof a, (double)s->target_latency_ns);
        if (r->es_passed) {
            add_rule(r, "early_stopping", 1,
                     "%lld of %lld queries over the %s bound: p%g <= bound holds with 99%% "
                     "confidence (needs >= %lld queries)",
                     (long long)t, (long long)n, a, pct, (long long)(h + t));
        } else {
            add_rule(r, "early_stopping", 0,
                     "%lld of %lld queries over the %s bound: p%g <= bound is not established "
                     "with 99%% confidence; %lld more queries, all under the bound, would be needed",
                     (long long)t, (long long)n, a, pct, (long long)(h + t - n));
            if (!r->interrupted) {
                double more_s = r->scheduled_qps > 0 ? (double)(h + t - n) / r->scheduled_qps : 0;
                add_rec(r, "run at least %lld more queries (increase the duration by about %.0f s) "
                           "or reduce target QPS so fewer queries exceed the bound",
                        (long long)(h + t - n), ceil(more_s));
            }
        }
        return;
    }
    // Stream scenarios: the estimate.
    int64_t h1 = zn_early_stopping_min_passing(1, pct, conf);
    if (n < h1 + 1) {
        r->es_passed = 0;
        r->es_latency_ns = 0;
        r->es_queries_needed = h1 + 1;
        r->es_discarded = 0;
        add_rule(r, "early_stopping", 0,
                 "only %lld queries: a p%g estimate with 99%% confidence needs at least %lld",
                 (long long)n, pct, (long long)(h1 + 1));
        if (!r->interrupted)
            add_rec(r, "increase --min-queries to at least %lld for an early-stopping estimate",
                    (long long)(h1 + 1));
        return;
    }
    // Largest t with h(t) + t <= n (h(t) + t grows with t; t = 1 qualifies).
    int64_t lo = 1, hi = n;  // f(lo) <= n < f(hi)
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (zn_early_stopping_min_passing(mid, pct, conf) + mid <= n) lo = mid;
        else hi = mid;
    }
    int64_t t = lo;
    r->es_passed = 1;
    r->es_queries_needed = h1 + 1;
    r->es_discarded = t - 1;
    r->es_latency_ns = zn_hist_value_at_rank(&r->latency, (uint64_t)(n - t));
    fmt_time(a, sizeof a, (double)r->es_latency_ns);
    fmt_time(b, sizeof b, (double)r->target_percentile_ns);
    add_rule(r, "early_stopping", 1,
             "p%g estimate %s with 99%% confidence from %lld queries (the %lld highest "
             "discarded; measured p%g %s; needs >= %lld queries)",
             pct, a, (long long)n, (long long)(t - 1), pct, b, (long long)(h1 + 1));
}

void zn_loadgen_judge(zn_test_results *r) {
    const zn_test_settings *s = &r->settings;
    r->n_rules = 0;
    r->n_recommendations = 0;
    r->invalid_reason[0] = 0;
    r->es_applicable = r->es_passed = 0;
    r->es_latency_ns = r->es_queries_needed = r->es_discarded = 0;
    derive_stats(r);

    char a[32], b[32];
    double dur_s = (double)r->duration_ns / 1e9;
    double min_s = (double)s->min_duration_ms / 1e3;
    double max_s = (double)s->max_duration_ms / 1e3;

    add_rule(r, "completed", !r->interrupted, "%s",
             r->interrupted ? (r->stop_reason[0] ? r->stop_reason : "stopped early")
                            : "ran to its stop rules");

    if (s->mode == ZN_TEST_ACCURACY) {
        add_rule(r, "accuracy_coverage", r->sample_count == s->total_sample_count,
                 "%lld of %lld samples issued, each once", (long long)r->sample_count,
                 (long long)s->total_sample_count);
        goto verdict;
    }

    /* min_duration: stream and offline judge the measured duration; server the last
     * scheduled arrival (LoadGen: final_query_scheduled_time). */
    {
        int64_t measured = s->scenario == ZN_SCENARIO_SERVER ? r->last_issue_ns : r->duration_ns;
        double m_s = (double)measured / 1e9;
        int ok = measured >= s->min_duration_ms * INT64_C(1000000);
        add_rule(r, "min_duration", ok, "measured %.2f s %s %.2f s%s", m_s, ok ? ">=" : "<", min_s,
                 s->scenario == ZN_SCENARIO_SERVER ? " (last scheduled arrival)" : "");
        if (!ok && !r->interrupted) {
            if (s->max_duration_ms > 0 && s->max_duration_ms < s->min_duration_ms)
                add_rec(r, "the max duration (%.2f s) is below the min duration (%.2f s): raise "
                           "the max duration to at least %.0f s",
                        max_s, min_s, ceil(min_s));
            else if (s->scenario == ZN_SCENARIO_OFFLINE)
                add_rec(r, "increase the expected QPS (--target-qps) to about %.0f so the offline "
                           "query covers the min duration",
                        round_sig(r->samples_per_second));
            else if (s->max_query_count > 0 && r->scheduled_count + r->query_count > 0)
                add_rec(r, "max queries (%lld) ended the run before the min duration: raise it to "
                           "about %.0f%s",
                        (long long)s->max_query_count,
                        round_sig(1.1 * (double)s->max_query_count * min_s / (m_s > 0 ? m_s : 1)),
                        s->scenario == ZN_SCENARIO_SERVER ? " or increase target QPS" : "");
            else
                add_rec(r, "increase --duration to at least %.0f s", ceil(min_s));
        }
    }

    /* min_queries (offline: samples). */
    {
        int offline = s->scenario == ZN_SCENARIO_OFFLINE;
        int64_t measured = offline ? r->sample_count : r->query_count;
        const char *what = offline ? "samples" : "queries";
        int ok = measured >= s->min_query_count;
        add_rule(r, "min_queries", ok, "%lld %s %s %lld", (long long)measured, what, ok ? ">=" : "<",
                 (long long)s->min_query_count);
        if (!ok && !r->interrupted) {
            double rate = dur_s > 0 ? (double)measured / dur_s : 0;
            if (s->max_query_count > 0 && s->max_query_count < s->min_query_count)
                add_rec(r, "max queries (%lld) is below min queries (%lld): raise --max-queries",
                        (long long)s->max_query_count, (long long)s->min_query_count);
            else if (rate > 0)
                add_rec(r, "at %.1f %s/s the min %s take about %.0f s: raise the max duration to "
                           "at least that (increase --duration) or lower --min-queries",
                        rate, what, what, ceil(1.1 * (double)s->min_query_count / rate));
            else
                add_rec(r, "increase --duration or lower --min-queries");
        }
    }

    /* latency_constraint: enforced for SERVER; reported for the stream scenarios. */
    if (s->scenario == ZN_SCENARIO_SERVER) {
        int64_t n = r->query_count;
        // Exact: the p-th percentile (0-based rank floor(n p)) is <= bound exactly when at most
        // n - 1 - floor(n p) queries are over the bound.
        int64_t allowed = n > 0 ? n - 1 - (int64_t)floor((double)n * s->target_latency_percentile / 100.0) : 0;
        int ok = n > 0 && r->overlatency_count <= allowed;
        fmt_time(a, sizeof a, (double)r->target_percentile_ns);
        fmt_time(b, sizeof b, (double)s->target_latency_ns);
        add_rule(r, "latency_constraint", ok, "p%g latency %s %s bound %s (%lld of %lld queries over)",
                 s->target_latency_percentile, a, ok ? "<=" : ">", b,
                 (long long)r->overlatency_count, (long long)n);
        if (!ok && n > 0) {
            int64_t svc = zn_hist_percentile(&r->service, s->target_latency_percentile);
            if (svc > s->target_latency_ns) {
                fmt_time(a, sizeof a, (double)svc);
                add_rec(r, "the SUT's own p%g service time (%s) exceeds the bound (%s): no target "
                           "QPS can meet it; raise --latency-bound or make the model faster "
                           "(smaller --batch, another backend or precision)",
                        s->target_latency_percentile, a, b);
            } else {
                add_rec(r, "reduce target QPS to about %.0f (target %.1f; the SUT served at most "
                           "about %.0f QPS with %d workers)",
                        suggest_qps(r), s->target_qps, r->qps_without_overhead, r->n_workers);
            }
        }
    } else if (s->scenario != ZN_SCENARIO_OFFLINE) {
        fmt_time(a, sizeof a, (double)r->target_percentile_ns);
        if (s->target_latency_ns > 0) {
            fmt_time(b, sizeof b, (double)s->target_latency_ns);
            add_rule(r, "latency_constraint", 1,
                     "p%g latency %s (bound %s reported only; %s has no latency constraint)",
                     s->target_latency_percentile, a, b, zn_scenario_name(s->scenario));
        } else {
            add_rule(r, "latency_constraint", 1, "p%g latency %s (reported; %s has no latency bound)",
                     s->target_latency_percentile, a, zn_scenario_name(s->scenario));
        }
    }

    if (s->scenario != ZN_SCENARIO_OFFLINE) judge_early_stopping(r);

    /* target_qps (SERVER): did completions keep up with the schedule? LoadGen reports the
     * scheduled and completed rates; we require completed >= scheduled * (1 - tol), where tol
     * is 1% or one latency bound of final drain relative to the run, whichever is larger (a
     * healthy run's last query still needs up to one bound to complete). */
    if (s->scenario == ZN_SCENARIO_SERVER) {
        double last_s = (double)r->last_issue_ns / 1e9;
        double tol = 0.01;
        if (last_s > 0 && (double)s->target_latency_ns / 1e9 / last_s > tol)
            tol = (double)s->target_latency_ns / 1e9 / last_s;
        int ok = r->query_count > 1 && r->completed_qps >= r->scheduled_qps * (1 - tol);
        add_rule(r, "target_qps", ok,
                 "completed %.1f QPS %s scheduled %.1f QPS x (1 - %.1f%%) (target %.1f QPS)",
                 r->completed_qps, ok ? ">=" : "<", r->scheduled_qps, tol * 100, s->target_qps);
        if (!ok && !r->interrupted && r->query_count > 1)
            add_rec(r, "the SUT fell behind the schedule: reduce target QPS to about %.0f",
                    suggest_qps(r));
    }

verdict:
    r->verdict = ZN_VERDICT_VALID;
    for (int i = 0; i < r->n_rules; i++) {
        if (r->rules[i].passed) continue;
        if (r->verdict == ZN_VERDICT_VALID) {
            if (!strcmp(r->rules[i].name, "completed"))
                snprintf(r->invalid_reason, sizeof r->invalid_reason, "%s", r->rules[i].detail);
            else
                snprintf(r->invalid_reason, sizeof r->invalid_reason, "%s: %s", r->rules[i].name,
                         r->rules[i].detail);
        }
        r->verdict = ZN_VERDICT_INVALID;
    }
    if (r->noisy && s->mode == ZN_TEST_PERFORMANCE)
        add_rec(r, "latency varies a lot (CV %.2f > 0.1): close other programs, pin threads, or "
                   "run longer before comparing percentiles",
                r->cv);
}
