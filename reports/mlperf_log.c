/* mlperf_log.c — a run record as MLPerf LoadGen's mlperf_log_summary.txt: the results summary
 * (scenario metric, "Result is", each constraint, early stopping), the additional stats and the
 * test parameters, in LoadGen's layout, so tools that parse LoadGen summaries read ours.
 *
 * What it is not: mlperf_log_detail.txt or an accuracy log; the fields LoadGen has and Zenith
 * does not (accuracy log sampling, performance_issue_*) are written with their neutral values. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/run_record.h"

typedef struct sb {
    char *s;
    size_t len, cap;
    bool oom;
} sb;

__attribute__((format(printf, 2, 3))) static void out(sb *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

static const char *lg_scenario(const char *s) {
    if (!strcmp(s, "single-stream")) return "SingleStream";
    if (!strcmp(s, "multi-stream")) return "MultiStream";
    if (!strcmp(s, "server")) return "Server";
    if (!strcmp(s, "offline")) return "Offline";
    return s[0] ? s : "Unknown";
}

static const char *lg_mode(const char *m) {
    if (!strcmp(m, "accuracy")) return "AccuracyOnly";
    if (!strcmp(m, "find-peak")) return "FindPeakPerformance";
    return "PerformanceOnly";
}

/* "90th", "99.9th" */
static void ordinal(char *buf, size_t n, double p) {
    if (p == (double)(long)p)
        snprintf(buf, n, "%ldth", (long)p);
    else
        snprintf(buf, n, "%gth", p);
}

static const zn_rule_outcome *rule(const zn_record_results *r, const char *name) {
    for (int i = 0; i < r->n_rules; i++)
        if (!strcmp(r->rules[i].name, name)) return &r->rules[i];
    return NULL;
}

static void rule_line(sb *b, const zn_record_results *r, const char *name, const char *label) {
    const zn_rule_outcome *x = rule(r, name);
    if (x) out(b, "  %s : %s\n", label, x->passed ? "Yes" : "NO");
}

static const char *bar = "================================================\n";

char *zn_record_to_mlperf_summary(const zn_record *rec) {
    sb b = {0};
    const zn_record_settings *st = &rec->settings;
    const zn_record_results *r = &rec->results;
    const char *scen = lg_scenario(st->scenario);
    bool server = !strcmp(scen, "Server"), offline = !strcmp(scen, "Offline");
    bool multi = !strcmp(scen, "MultiStream");
    char pct[16];
    ordinal(pct, sizeof pct, st->target_latency_percentile > 0 ? st->target_latency_percentile : (multi || server ? 99 : 90));

    out(&b, "%sMLPerf Results Summary\n%s", bar, bar);
    out(&b, "SUT name : Zenith %s (%s, %s)\n", rec->model.name, rec->compile.backend[0] ? rec->compile.backend : "cpu",
        rec->compile.precision[0] ? rec->compile.precision : "fp32");
    out(&b, "Scenario : %s\n", scen);
    out(&b, "Mode     : %s\n", lg_mode(st->test_mode));
    if (server)
        out(&b, "Completed samples per second    : %.2f\n", r->completed_qps);
    else if (offline)
        out(&b, "Samples per second: %g\n", r->samples_per_second);
    else
        out(&b, "%s percentile latency (ns) : %lld\n", pct, (long long)r->target_percentile_ns);
    const char *verdict = zn_record_verdict(rec);
    out(&b, "Result is : %s\n", !strcmp(verdict, "VALID") ? "VALID" : "INVALID");
    if (server) rule_line(&b, r, "latency_constraint", "Performance constraints satisfied");
    rule_line(&b, r, "min_duration", "Min duration satisfied");
    rule_line(&b, r, "min_queries", "Min queries satisfied");
    const zn_rule_outcome *es = rule(r, "early_stopping");
    if (es) out(&b, "  Early stopping satisfied: %s\n", es->passed ? "Yes" : "NO");
    if (r->n_recommendations > 0 || strcmp(rec->status, "completed") != 0) {
        out(&b, "Recommendations:\n");
        if (strcmp(rec->status, "completed") != 0) out(&b, " * The test was %s: %s.\n", rec->status, rec->reason);
        for (int i = 0; i < r->n_recommendations; i++) out(&b, " * %s\n", r->recommendations[i]);
    }
    if (r->es_applicable) {
        out(&b, "Early Stopping Result:\n");
        if (server) {
            if (r->es_passed) {
                out(&b, " * Run successful.\n");
            } else {
                out(&b, " * Run unsuccessful.\n * Processed %lld queries.\n", (long long)r->query_count);
                out(&b, " * Would need to run at least %lld more queries,\n with the run being successful if every "
                        "additional\n query were under latency.\n",
                    (long long)(r->es_queries_needed > r->query_count ? r->es_queries_needed - r->query_count : 0));
            }
        } else if (!offline) {
            if (r->es_passed) {
                out(&b, " * Processed at least %lld queries (%lld).\n", (long long)r->es_queries_needed,
                    (long long)r->query_count);
                out(&b, " * Would discard %lld highest latency queries.\n", (long long)r->es_discarded);
                out(&b, " * Early stopping %s percentile estimate: %lld\n", pct, (long long)r->es_latency_ns);
            } else {
                out(&b, " * Only processed %lld queries.\n * Need to process at least %lld queries for early "
                        "stopping.\n",
                    (long long)r->query_count, (long long)r->es_queries_needed);
            }
        }
    }

    out(&b, "\n%sAdditional Stats\n%s", bar, bar);
    if (server) {
        out(&b, "Scheduled samples per second : %.2f\n", r->scheduled_qps);
    } else if (!offline) {
        out(&b, "QPS w/ loadgen overhead         : %.2f\n", r->qps_with_overhead);
        out(&b, "QPS w/o loadgen overhead        : %.2f\n\n", r->qps_without_overhead);
    }
    out(&b, "Min latency (ns)                : %lld\n", (long long)r->lat_min_ns);
    out(&b, "Max latency (ns)                : %lld\n", (long long)r->lat_max_ns);
    out(&b, "Mean latency (ns)               : %lld\n", (long long)r->lat_mean_ns);
    out(&b, "50.00 percentile latency (ns)   : %lld\n", (long long)r->p50_ns);
    out(&b, "90.00 percentile latency (ns)   : %lld\n", (long long)r->p90_ns);
    out(&b, "95.00 percentile latency (ns)   : %lld\n", (long long)r->p95_ns);
    out(&b, "97.00 percentile latency (ns)   : %lld\n", (long long)r->p97_ns);
    out(&b, "99.00 percentile latency (ns)   : %lld\n", (long long)r->p99_ns);
    out(&b, "99.90 percentile latency (ns)   : %lld\n", (long long)r->p999_ns);

    out(&b, "\n%sTest Parameters Used\n%s", bar, bar);
    out(&b, "samples_per_query : %d\n", st->samples_per_query > 0 ? st->samples_per_query : 1);
    out(&b, "target_qps : %g\n", st->target_qps);
    out(&b, "target_latency (ns): %lld\n", (long long)st->target_latency_ns);
    out(&b, "max_async_queries : %d\n", server || offline ? 0 : 1);
    out(&b, "min_duration (ms): %lld\n", (long long)st->min_duration_ms);
    out(&b, "max_duration (ms): %lld\n", (long long)st->max_duration_ms);
    out(&b, "min_query_count : %lld\n", (long long)st->min_query_count);
    out(&b, "max_query_count : %lld\n", (long long)st->max_query_count);
    out(&b, "qsl_rng_seed : %llu\n", (unsigned long long)st->sample_seed);
    out(&b, "sample_index_rng_seed : %llu\n", (unsigned long long)st->sample_seed);
    out(&b, "schedule_rng_seed : %llu\n", (unsigned long long)st->schedule_seed);
    out(&b, "accuracy_log_rng_seed : 0\n");
    out(&b, "accuracy_log_probability : 0\n");
    out(&b, "accuracy_log_sampling_target : 0\n");
    out(&b, "print_timestamps : 0\n");
    out(&b, "performance_issue_unique : 0\n");
    out(&b, "performance_issue_same : 0\n");
    out(&b, "performance_issue_same_index : 0\n");
    out(&b, "performance_sample_count : %lld\n", (long long)st->performance_sample_count);
    out(&b, "\nNo warnings encountered during test.\n\n");
    if (strcmp(rec->status, "completed") != 0)
        out(&b, "1 ERROR encountered: %s\n", rec->reason);
    else
        out(&b, "No errors encountered during test.\n");
    if (b.oom) {
        free(b.s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing the MLPerf summary");
        return NULL;
    }
    return b.s;
}

zn_status zn_record_write_mlperf_summary(const zn_record *rec, const char *dir) {
    if (!dir || !*dir) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "--mlperf-log needs a directory");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        zn_error_set(ZN_ERR_IO, "cannot create the MLPerf log directory '%s': %s", dir, strerror(e));
        zn_error_hint("create its parent directory first or pass another --mlperf-log DIR");
        return ZN_ERR_IO;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/mlperf_log_summary.txt", dir) >= (int)sizeof path)
        return zn_error_set(ZN_ERR_IO, "the MLPerf log directory path '%s' is too long", dir);
    char *s = zn_record_to_mlperf_summary(rec);
    if (!s) return zn_last_error()->status;
    zn_status st = zn_write_file_atomic(path, s, strlen(s));
    free(s);
    return st;
}
