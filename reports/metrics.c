/* metrics.c — Prometheus text exposition and the per-query CSV (metrics.h). */
#include "reports/metrics.h"
#include "reports/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A label value with \\, " and newlines escaped, as the format requires. */
static const char *esc(const char *s, char *buf, size_t cap) {
    size_t i = 0;
    for (; s && *s && i + 3 < cap; s++) {
        if (*s == '\\' || *s == '"') {
            buf[i++] = '\\';
            buf[i++] = *s;
        } else if (*s == '\n') {
            buf[i++] = '\\';
            buf[i++] = 'n';
        } else {
            buf[i++] = *s;
        }
    }
    buf[i] = 0;
    return buf;
}

static char *finish(zn_sb *b, const char *what) {
    if (b->oom || !b->s) {
        free(b->s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing the %s", what);
        return NULL;
    }
    return b->s;
}

char *zn_record_to_prometheus(const zn_record *rec) {
    zn_sb b = {0};
    char m[256], sc[64], be[32], pr[32], lab[512], opb[128];
    const zn_record_results *r = &rec->results;
    snprintf(lab, sizeof lab, "model=\"%s\",scenario=\"%s\",backend=\"%s\",precision=\"%s\"",
             esc(rec->model.name, m, sizeof m), esc(rec->settings.scenario, sc, sizeof sc),
             esc(rec->settings.backend[0] ? rec->settings.backend : rec->compile.backend, be, sizeof be),
             esc(rec->settings.precision[0] ? rec->settings.precision : rec->compile.precision, pr, sizeof pr));

    zn_sb_printf(&b, "# HELP zenith_query_latency_seconds Latency of each measured query (issue to completion).\n"
            "# TYPE zenith_query_latency_seconds histogram\n");
    const zn_record_hist *h = &r->latency;
    static const double mant[3] = {1, 2, 5};
    for (int e = -6; e <= 2; e++)
        for (int k = 0; k < 3; k++) {
            double le_s = mant[k];
            for (int i = 0; i < (e < 0 ? -e : e); i++) le_s = e < 0 ? le_s / 10 : le_s * 10;
            double le_ns = le_s * 1e9;
            uint64_t cum = 0;
            for (int j = 0; j < h->n_buckets; j++) {
                double mid = 0.5 * ((double)h->buckets[j].lo + (double)(h->buckets[j].hi - 1));
                if (mid <= le_ns) cum += h->buckets[j].count;
            }
            zn_sb_printf(&b, "zenith_query_latency_seconds_bucket{%s,le=\"%g\"} %llu\n", lab, le_s, (unsigned long long)cum);
        }
    zn_sb_printf(&b, "zenith_query_latency_seconds_bucket{%s,le=\"+Inf\"} %llu\n", lab, (unsigned long long)h->count);
    zn_sb_printf(&b, "zenith_query_latency_seconds_sum{%s} %.9g\n", lab, h->sum / 1e9);
    zn_sb_printf(&b, "zenith_query_latency_seconds_count{%s} %llu\n", lab, (unsigned long long)h->count);

    zn_sb_printf(&b, "# HELP zenith_queries_total Measured queries completed.\n# TYPE zenith_queries_total counter\n");
    zn_sb_printf(&b, "zenith_queries_total{%s} %lld\n", lab, (long long)r->query_count);
    zn_sb_printf(&b, "# HELP zenith_samples_total Measured samples completed.\n# TYPE zenith_samples_total counter\n");
    zn_sb_printf(&b, "zenith_samples_total{%s} %lld\n", lab, (long long)r->sample_count);

    zn_sb_printf(&b, "# HELP zenith_query_latency_percentile_seconds Query latency at a percentile (LoadGen's rank rule).\n"
            "# TYPE zenith_query_latency_percentile_seconds gauge\n");
    struct {
        const char *q;
        int64_t v;
    } pc[4] = {{"0.5", r->p50_ns}, {"0.9", r->p90_ns}, {"0.99", r->p99_ns}, {"0.999", r->p999_ns}};
    for (int i = 0; i < 4; i++)
        zn_sb_printf(&b, "zenith_query_latency_percentile_seconds{%s,quantile=\"%s\"} %.9g\n", lab, pc[i].q, (double)pc[i].v / 1e9);
    zn_sb_printf(&b, "# HELP zenith_throughput_samples_per_second Measured samples per second.\n"
            "# TYPE zenith_throughput_samples_per_second gauge\n");
    zn_sb_printf(&b, "zenith_throughput_samples_per_second{%s} %.9g\n", lab, r->samples_per_second);
    zn_sb_printf(&b, "# HELP zenith_qps Queries per second with harness overhead.\n# TYPE zenith_qps gauge\n");
    zn_sb_printf(&b, "zenith_qps{%s} %.9g\n", lab, r->qps_with_overhead);
    zn_sb_printf(&b, "# HELP zenith_run_valid 1 when the run is VALID under LoadGen's rules, else 0.\n"
            "# TYPE zenith_run_valid gauge\n");
    zn_sb_printf(&b, "zenith_run_valid{%s} %d\n", lab, strcmp(zn_record_verdict(rec), "VALID") == 0);

    if (rec->has_profile && rec->profile.n_ops > 0) {
        zn_sb_printf(&b, "# HELP zenith_op_time_seconds Time per inference run spent in nodes of an op kind.\n"
                "# TYPE zenith_op_time_seconds gauge\n");
        double runs = rec->profile.runs > 0 ? (double)rec->profile.runs : 1;
        for (int i = 0; i < rec->profile.n_ops; i++)
            zn_sb_printf(&b, "zenith_op_time_seconds{%s,op=\"%s\"} %.9g\n", lab, esc(rec->profile.ops[i].op, opb, sizeof opb),
                (double)rec->profile.ops[i].total_ns / runs / 1e9);
    }
    return finish(&b, "Prometheus metrics");
}

zn_status zn_record_write_prometheus(const zn_record *rec, const char *path) {
    char *s = zn_record_to_prometheus(rec);
    if (!s) return zn_last_error()->status;
    zn_status st = zn_write_file_atomic(path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("--metrics");
    return st;
}

zn_status zn_record_write_latency_csv(const zn_record *rec, const char *path) {
    zn_sb b = {0};
    const zn_record_results *r = &rec->results;
    zn_sb_printf(&b, "query,issue_ns,latency_ns,samples,worker\n");
    for (int64_t i = 0; i < r->n_queries && r->queries; i++) {
        const zn_query_record *q = &r->queries[i];
        zn_sb_printf(&b, "%lld,%lld,%lld,%d,%d\n", (long long)(r->n_queries_dropped + i), (long long)q->issue_ns, (long long)q->latency_ns, (int)q->n_samples,
            (int)q->worker);
    }
    char *s = finish(&b, "latency CSV");
    if (!s) return zn_last_error()->status;
    zn_status st = zn_write_file_atomic(path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("--csv");
    return st;
}
