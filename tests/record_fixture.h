/* record_fixture.h — a made-up but self-consistent run record for the report tests (charts,
 * compare, metrics): n queries with given latencies, filled through zn_record_fill_results
 * like a real run, optionally with a profile. Header-only, like test_util.h. */
#ifndef ZN_RECORD_FIXTURE_H
#define ZN_RECORD_FIXTURE_H

#include "engine/alloc.h"
#include "reports/run_record.h"

/* A record of n queries with latencies lat[i] ns (server at qps when qps > 0), filled through
 * zn_record_fill_results like a real run; with a made-up profile when with_profile. */
static inline void fx_record(zn_record *rec, const char *model, const int64_t *lat, int n, double qps, int with_profile) {
    zn_record_init(rec);
    snprintf(rec->model.name, sizeof rec->model.name, "%s", model);
    snprintf(rec->compile.backend, 8, "cpu"); snprintf(rec->compile.precision, 8, "f32"); rec->compile.threads = 2;
    snprintf(rec->system.hostname, 64, "hostA"); snprintf(rec->system.cpu_model, 128, "Test CPU @ 2.0GHz");
    snprintf(rec->build.git_commit, 48, "abc123");
    zn_test_results t; memset(&t, 0, sizeof t);
    zn_test_settings *s = &t.settings;
    s->scenario = qps > 0 ? ZN_SCENARIO_SERVER : ZN_SCENARIO_SINGLE_STREAM;
    s->mode = ZN_TEST_PERFORMANCE; s->min_duration_ms = 1000; s->min_query_count = 100;
    s->target_qps = qps; s->target_latency_ns = qps > 0 ? 15000000 : 0;
    s->target_latency_percentile = qps > 0 ? 99 : 90; s->samples_per_query = 1; s->schedule_seed = 1; s->sample_seed = 2;
    zn_hist_init(&t.latency); zn_hist_init(&t.service); zn_hist_init(&t.issue_lag);
    t.queries = zn_malloc((size_t)n * sizeof *t.queries); t.n_queries_kept = n;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        zn_hist_record(&t.latency, lat[i]);
        t.queries[i] = (zn_query_record){at, at, lat[i], 1, 0};
        at += qps > 0 ? (int64_t)(1e9 / qps) : lat[i];
    }
    t.query_count = n; t.sample_count = n; t.duration_ns = at; t.n_workers = 1;
    t.qps_with_overhead = n / (at / 1e9); t.samples_per_second = n / (at / 1e9);
    t.completed_qps = qps > 0 ? n / (at / 1e9) : 0; t.scheduled_qps = qps;
    t.lat_min_ns = zn_hist_min(&t.latency); t.lat_max_ns = zn_hist_max(&t.latency); t.lat_mean_ns = (int64_t)zn_hist_mean(&t.latency);
    t.p50_ns = zn_hist_percentile(&t.latency, 50); t.p90_ns = zn_hist_percentile(&t.latency, 90);
    t.p95_ns = zn_hist_percentile(&t.latency, 95); t.p97_ns = zn_hist_percentile(&t.latency, 97);
    t.p99_ns = zn_hist_percentile(&t.latency, 99); t.p999_ns = zn_hist_percentile(&t.latency, 99.9);
    t.target_percentile_ns = zn_hist_percentile(&t.latency, s->target_latency_percentile);
    snprintf(t.metric_name, 48, "p90 latency"); snprintf(t.metric_unit, 16, "ns"); t.metric_value = (double)t.p90_ns;
    t.verdict = ZN_VERDICT_VALID;
    zn_record_fill_results(rec, &t);
    zn_free(t.queries);
    snprintf(rec->settings.backend, 8, "cpu"); snprintf(rec->settings.precision, 8, "f32"); rec->settings.threads = 2; rec->settings.batch = 1;
    if (with_profile) {
        static const char *ops[] = {"MatMul", "Conv", "Add", "Relu", "LayerNormalization", "Softmax"};
        zn_profile p; memset(&p, 0, sizeof p);
        p.runs = n; p.n_ops = 6; p.n_nodes = 20;
        p.ops = zn_calloc(6, sizeof *p.ops); p.nodes = zn_calloc(20, sizeof *p.nodes);
        int64_t tot = 0;
        for (int i = 0; i < 20; i++) {
            zn_profile_node *x = &p.nodes[i];
            snprintf(x->name, sizeof x->name, "/encoder/layer.%d/block_%d/op", i / 3, i);
            snprintf(x->op, 32, "%s", ops[i % 6]); snprintf(x->kernel, 64, "ref");
            x->count = n; x->total_ns = (int64_t)(20 - i) * 100000 * n; x->mean_ns = (double)x->total_ns / n; tot += x->total_ns;
        }
        for (int i = 0; i < 6; i++) {
            snprintf(p.ops[i].op, 32, "%s", ops[i]); p.ops[i].nodes = 4 - i / 2;
            p.ops[i].count = n * p.ops[i].nodes; p.ops[i].total_ns = (int64_t)(6 - i) * (6 - i) * 300000 * n;
        }
        int64_t otot = 0; for (int i = 0; i < 6; i++) otot += p.ops[i].total_ns;
        for (int i = 0; i < 6; i++) p.ops[i].share = (double)p.ops[i].total_ns / otot;
        for (int i = 0; i < 20; i++) p.nodes[i].share = (double)p.nodes[i].total_ns / tot;
        p.total_ns = otot; p.run_ns = otot + otot / 20;
        zn_record_fill_profile(rec, &p);
        zn_profile_free(&p);
    }
}

#endif
