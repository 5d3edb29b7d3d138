/* test_metrics.c — the Prometheus text exposition checked by a small parser written here (metric
 * and label names, label escapes, HELP/TYPE before samples, histogram buckets cumulative and
 * increasing in le, +Inf equal to _count, counters equal to the record), and the per-query CSV. */
#include "test_util.h"

#include <ctype.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "reports/metrics.h"


/* A record of n queries with latencies lat[i] ns (server at qps when qps > 0), filled through
 * zn_record_fill_results like a real run; with a made-up profile when with_profile. */
static void fx_record(zn_record *rec, const char *model, const int64_t *lat, int n, double qps, int with_profile) {
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

/* ---- a small exposition-format parser --------------------------------------------------------- */

typedef struct sample {
    char name[128];
    int n_labels;
    char keys[8][64], vals[8][128];
    double value;
} sample;

static bool name_ok(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':')) return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')) return false;
    return true;
}

/* Parses one sample line; fails the test on a malformed one. */
static sample parse_sample(const char *line) {
    sample s;
    memset(&s, 0, sizeof s);
    const char *p = line;
    size_t n = strcspn(p, "{ ");
    assert_true(name_ok(p, n));
    memcpy(s.name, p, n);
    p += n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t k = strcspn(p, "=");
            assert_true(name_ok(p, k));
            assert_true(s.n_labels < 8);
            memcpy(s.keys[s.n_labels], p, k);
            p += k;
            assert_int_equal(*p++, '=');
            assert_int_equal(*p++, '"');
            size_t v = 0;
            while (*p != '"') {
                assert_true(*p != 0 && *p != '\n');
                if (*p == '\\') {
                    p++;
                    assert_true(*p == '\\' || *p == '"' || *p == 'n');
                    s.vals[s.n_labels][v++] = *p == 'n' ? '\n' : *p;
                } else {
                    s.vals[s.n_labels][v++] = *p;
                }
                p++;
            }
            p++;
            s.n_labels++;
            if (*p == ',') p++;
            else assert_int_equal(*p, '}');
        }
        p++;
    }
    assert_int_equal(*p++, ' ');
    char *end;
    if (!strcmp(p, "+Inf")) s.value = INFINITY;
    else {
        s.value = strtod(p, &end);
        assert_true(end != p && *end == 0);
    }
    return s;
}

static const char *label(const sample *s, const char *k) {
    for (int i = 0; i < s->n_labels; i++)
        if (!strcmp(s->keys[i], k)) return s->vals[i];
    return NULL;
}

static void test_prometheus_parses(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int n = 200 + (int)(tu_next(&r) % 500);
    int64_t *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) l[i] = 1000 + (int64_t)(tu_next(&r) % 50000000); /* 1 µs .. 50 ms */
    zn_record rec;
    fx_record(&rec, "we\"ird\\model", l, n, 0, 1);
    char *text = zn_record_to_prometheus(&rec);
    assert_non_null(text);
    char types[32][128], type_of[32][16];
    int n_types = 0, n_buckets = 0;
    double last_le = -1, last_cum = -1, inf = -1, count = -1, sum = -1;
    bool saw_q = false, saw_s = false;
    int ops = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            char kw[8], name[128], rest[16];
            assert_true(sscanf(line, "# %7s %127s %15s", kw, name, rest) >= 2);
            assert_true(!strcmp(kw, "HELP") || !strcmp(kw, "TYPE"));
            if (!strcmp(kw, "TYPE")) {
                assert_true(!strcmp(rest, "counter") || !strcmp(rest, "gauge") || !strcmp(rest, "histogram"));
                snprintf(types[n_types], 128, "%s", name);
                snprintf(type_of[n_types++], 16, "%s", rest);
            }
            continue;
        }
        sample s = parse_sample(line);
        /* a sample belongs to the family typed before it */
        int fam = -1;
        for (int i = 0; i < n_types; i++)
            if (!strncmp(s.name, types[i], strlen(types[i]))) fam = i;
        assert_true(fam >= 0);
        assert_string_equal(label(&s, "model"), "we\"ird\\model");
        assert_string_equal(label(&s, "scenario"), "single-stream");
        assert_non_null(label(&s, "backend"));
        if (!strcmp(s.name, "zenith_query_latency_seconds_bucket")) {
            const char *le = label(&s, "le");
            assert_non_null(le);
            double v = !strcmp(le, "+Inf") ? INFINITY : strtod(le, NULL);
            assert_true(v > last_le);
            assert_true(s.value >= last_cum);
            /* independent count of latencies at or below le, to the histogram's precision */
            if (isfinite(v)) {
                int64_t exact = 0, loose = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double)l[i] <= v * 1e9 * 0.99;
                    loose += (double)l[i] <= v * 1e9 * 1.01;
                }
                assert_true(s.value >= (double)exact && s.value <= (double)loose);
            } else {
                inf = s.value;
            }
            last_le = v;
            last_cum = s.value;
            n_buckets++;
        } else if (!strcmp(s.name, "zenith_query_latency_seconds_count")) {
            count = s.value;
        } else if (!strcmp(s.name, "zenith_query_latency_seconds_sum")) {
            sum = s.value;
        } else if (!strcmp(s.name, "zenith_queries_total")) {
            assert_string_equal(type_of[fam], "counter");
            assert_true(s.value == (double)n);
            saw_q = true;
        } else if (!strcmp(s.name, "zenith_samples_total")) {
            assert_true(s.value == (double)n);
            saw_s = true;
        } else if (!strcmp(s.name, "zenith_op_time_seconds")) {
            const char *op = label(&s, "op");
            assert_non_null(op);
            assert_string_equal(op, rec.profile.ops[ops].op);
            assert_true(fabs(s.value - (double)rec.profile.ops[ops].total_ns / (double)rec.profile.runs / 1e9) < 1e-12);
            ops++;
        }
    }
    assert_true(n_buckets > 10);
    assert_true(inf == (double)n && count == (double)n);
    double exact_sum = 0;
    for (int i = 0; i < n; i++) exact_sum += (double)l[i] / 1e9;
    assert_true(fabs(sum - exact_sum) < 1e-6 * exact_sum);
    assert_true(saw_q && saw_s);
    assert_int_equal(ops, rec.profile.n_ops);
    free(text);
    free(l);
    zn_record_free(&rec);
}

static void test_latency_csv(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    int n = 50 + (int)(tu_next(&r) % 100);
    int64_t *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) l[i] = 1000 + (int64_t)(tu_next(&r) % 9000000);
    zn_record rec;
    fx_record(&rec, "mlp", l, n, 100, 0);
    char dir[] = "/tmp/zn_metrics_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], prom[128];
    snprintf(path, sizeof path, "%s/q.csv", dir);
    snprintf(prom, sizeof prom, "%s/m.prom", dir);
    assert_int_equal(zn_record_write_latency_csv(&rec, path), ZN_OK);
    assert_int_equal(zn_record_write_prometheus(&rec, prom), ZN_OK);
    FILE *f = fopen(path, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "query,issue_ns,latency_ns,samples,worker\n");
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        long long q, issue, lat;
        int s, w;
        assert_int_equal(sscanf(line, "%lld,%lld,%lld,%d,%d", &q, &issue, &lat, &s, &w), 5);
        assert_int_equal(q, rows);
        assert_int_equal(lat, l[rows]);
        assert_int_equal(issue, rec.results.queries[rows].issue_ns);
        assert_int_equal(s, 1);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, n);
    unlink(path);
    unlink(prom);
    rmdir(dir);
    free(l);
    zn_record_free(&rec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_parses),
        cmocka_unit_test(test_latency_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
