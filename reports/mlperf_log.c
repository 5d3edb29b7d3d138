/* mlperf_log.c — a run record as MLPerf LoadGen's mlperf_log_summary.txt: the results summary
 * (scenario metric, "Result is", each constraint, early stopping), the additional stats and the
 * test parameters, in LoadGen's layout, so tools that parse LoadGen summaries read ours.
 *
 * What it is not: mlperf_log_detail.txt or an accuracy log; the fields LoadGen has and Zenith
 * does not (accuracy log sampling, performance_issue_*) are written with their neutral values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/run_record.h"
#include "reports/strbuf.h"

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

static void rule_line(zn_sb *b, const zn_record_results *r, const char *name, const char *label) {
    const zn_rule_outcome *x = rule(r, name);
    if (x) zn_sb_printf(b, "  %s : %s\n", label, x->passed ? "Yes" : "NO");
}

static const char *bar = "================================================\n";

char *zn_record_to_mlperf_summary(const zn_record *rec) {
    zn_sb b = {0};
    const zn_record_settings *st = &rec->settings;
    const zn_record_results *r = &rec->results;
    const char *scen = lg_scenario(st->scenario);
    bool server = !strcmp(scen, "Server"), offline = !strcmp(scen, "Offline");
    bool multi = !strcmp(scen, "MultiStream");
    char pct[16];
    ordinal(pct, sizeof pct, st->target_latency_percentile > 0 ? st->target_latency_percentile : (multi || server ? 99 : 90));

    zn_sb_printf(&b, "%sMLPerf Results Summary\n%s", bar, bar);
    zn_sb_printf(&b, "SUT name : Zenith %s (%s, %s)\n", rec->model.name, rec->compile.backend[0] ? rec->compile.backend : "cpu",
        rec->compile.precision[0] ? rec->compile.precision : "fp32");
    zn_sb_printf(&b, "Scenario : %s\n", scen);
    zn_sb_printf(&b, "Mode     : %s\n", lg_mode(st->test_mode));
    if (server)
        zn_sb_printf(&b, "Completed samples per second    : %.2f\n", r->completed_qps);
    else if (offline)
        zn_sb_printf(&b, "Samples per second: %g\n", r->samples_per_second);
    else
        zn_sb_printf(&b, "%s percentile latency (ns) : %lld\n", pct, (long long)r->target_percentile_ns);
    const char *verdict = zn_record_verdict(rec);
    zn_sb_printf(&b, "Result is : %s\n", !strcmp(verdict, "VALID") ? "VALID" : "INVALID");
    if (server) rule_line(&b, r, "latency_constraint", "Performance constraints satisfied");
    rule_line(&b, r, "min_duration", "Min duration satisfied");
    rule_line(&b, r, "min_queries", "Min queries satisfied");
    const zn_rule_outcome *es = rule(r, "early_stopping");
    if (es) zn_sb_printf(&b, "  Early stopping satisfied: %s\n", es->passed ? "Yes" : "NO");
    if (r->n_recommendations > 0 || strcmp(rec->status, "completed") != 0) {
        zn_sb_printf(&b, "Recommendations:\n");
        if (strcmp(rec->status, "completed") != 0) zn_sb_printf(&b, " * The test was %s: %s.\n", rec->status, rec->reason);
        for (int i = 0; i < r->n_recommendations; i++) zn_sb_printf(&b, " * %s\n", r->recommendations[i]);
    }
    if (r->es_applicable) {
        zn_sb_printf(&b, "Early Stopping Result:\n");
        if (server) {
            if (r->es_passed) {
                zn_sb_printf(&b, " * Run successful.\n");
            } else {
                zn_sb_printf(&b, " * Run unsuccessful.\n * Processed %lld queries.\n", (long long)r->query_count);
                zn_sb_printf(&b, " * Would need to run at least %lld more queries,\n with the run being successful if every "
                        "additional\n query were under latency.\n",
                    (long long)(r->es_queries_needed > r->query_count ? r->es_queries_needed - r->query_count : 0));
            }
        } else if (!offline) {
            if (r->es_passed) {
                zn_sb_printf(&b, " * Processed at least %lld queries (%lld).\n", (long long)r->es_queries_needed,
                    (long long)r->query_count);
                zn_sb_printf(&b, " * Would discard %lld highest latency queries.\n", (long long)r->es_discarded);
                zn_sb_printf(&b, " * Early stopping %s percentile estimate: %lld\n", pct, (long long)r->es_latency_ns);
            } else {
                zn_sb_printf(&b, " * Only processed %lld queries.\n * Need to process at least %lld queries for early "
                        "stopping.\n",
                    (long long)r->query_count, (long long)r->es_queries_needed);
            }
        }
    }

    zn_sb_printf(&b, "\n%sAdditional Stats\n%s", bar, bar);
    if (server) {
        zn_sb_printf(&b, "Scheduled samples per second : %.2f\n", r->scheduled_qps);
    } else if (!offline) {
        zn_sb_printf(&b, "QPS w/ loadgen overhead         : %.2f\n", r->qps_with_overhead);
        zn_sb_printf(&b, "QPS w/o loadgen overhead        : %.2f\n\n", r->qps_without_overhead);
    }
    zn_sb_printf(&b, "Min latency (ns)                : %lld\n", (long long)r->lat_min_ns);
    zn_sb_printf(&b, "Max latency (ns)                : %lld\n", (long long)r->lat_max_ns);
    zn_sb_printf(&b, "Mean latency (ns)               : %lld\n", (long long)r->lat_mean_ns);
    zn_sb_printf(&b, "50.00 percentile latency (ns)   : %lld\n", (long long)r->p50_ns);
    zn_sb_printf(&b, "90.00 percentile latency (ns)   : %lld\n", (long long)r->p90_ns);
    zn_sb_printf(&b, "95.00 percentile latency (ns)   : %lld\n", (long long)r->p95_ns);
    zn_sb_printf(&b, "97.00 percentile latency (ns)   : %lld\n", (long long)r->p97_ns);
    zn_sb_printf(&b, "99.00 percentile latency (ns)   : %lld\n", (long long)r->p99_ns);
    zn_sb_printf(&b, "99.90 percentile latency (ns)   : %lld\n", (long long)r->p999_ns);

    zn_sb_printf(&b, "\n%sTest Parameters Used\n%s", bar, bar);
    zn_sb_printf(&b, "samples_per_query : %d\n", st->samples_per_query > 0 ? st->samples_per_query : 1);
    zn_sb_printf(&b, "target_qps : %g\n", st->target_qps);
    zn_sb_printf(&b, "target_latency (ns): %lld\n", (long long)st->target_latency_ns);
    zn_sb_printf(&b, "max_async_queries : %d\n", server || offline ? 0 : 1);
    zn_sb_printf(&b, "min_duration (ms): %lld\n", (long long)st->min_duration_ms);
    zn_sb_printf(&b, "max_duration (ms): %lld\n", (long long)st->max_duration_ms);
    zn_sb_printf(&b, "min_query_count : %lld\n", (long long)st->min_query_count);
    zn_sb_printf(&b, "max_query_count : %lld\n", (long long)st->max_query_count);
    zn_sb_printf(&b, "qsl_rng_seed : %llu\n", (unsigned long long)st->sample_seed);
    zn_sb_printf(&b, "sample_index_rng_seed : %llu\n", (unsigned long long)st->sample_seed);
    zn_sb_printf(&b, "schedule_rng_seed : %llu\n", (unsigned long long)st->schedule_seed);
    zn_sb_printf(&b, "accuracy_log_rng_seed : 0\n");
    zn_sb_printf(&b, "accuracy_log_probability : 0\n");
    zn_sb_printf(&b, "accuracy_log_sampling_target : 0\n");
    zn_sb_printf(&b, "print_timestamps : 0\n");
    zn_sb_printf(&b, "performance_issue_unique : 0\n");
    zn_sb_printf(&b, "performance_issue_same : 0\n");
    zn_sb_printf(&b, "performance_issue_same_index : 0\n");
    zn_sb_printf(&b, "performance_sample_count : %lld\n", (long long)st->performance_sample_count);
    zn_sb_printf(&b, "\nNo warnings encountered during test.\n\n");
    if (strcmp(rec->status, "completed") != 0)
        zn_sb_printf(&b, "1 ERROR encountered: %s\n", rec->reason);
    else
        zn_sb_printf(&b, "No errors encountered during test.\n");
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
