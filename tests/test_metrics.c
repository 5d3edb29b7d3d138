/* test_metrics.c — the Prometheus text exposition checked by a small parser written here (metric
 * and label names, label escapes, HELP/TYPE before samples, histogram buckets cumulative and
 * increasing in le, +Inf equal to _count, counters equal to the record), and the per-query CSV. */
#include "test_util.h"
#include "record_fixture.h"

#include <ctype.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "reports/metrics.h"



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
