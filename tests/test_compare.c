/* test_compare.c — comparing run records: a run against itself (ratio 1.00, not significant),
 * a run 0.7x faster ("1.43x faster", significant), a deterministic interval, refusing different
 * models unless allowed, machine/seed differences called out, op deltas sorted by impact, and
 * the markdown with its chart. */
#include "test_util.h"
#include "record_fixture.h"

#include <unistd.h>

#include "engine/alloc.h"
#include "reports/compare.h"



/* Latencies: a base of 1-3 ms with a random spread (seeded). */
static int64_t *lats(tu_rng *r, int n, double scale) {
    int64_t *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) l[i] = (int64_t)(scale * (1e6 + 2e6 * tu_uniform(r, 0, 1)));
    return l;
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Median written plainly: sort and take the middle (mean of the two for even n). */
static double plain_median(const int64_t *v, int n) {
    int64_t *s = malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_i64);
    double m = n % 2 ? (double)s[n / 2] : 0.5 * ((double)s[n / 2 - 1] + (double)s[n / 2]);
    free(s);
    return m;
}

static zn_compare_opts fast_opts(void) {
    zn_compare_opts o;
    zn_compare_opts_default(&o);
    o.n_boot = 400;
    return o;
}

static void test_self_compare_is_not_significant(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int n = 400 + (int)(tu_next(&r) % 400);
    int64_t *l = lats(&r, n, 1);
    zn_record a;
    fx_record(&a, "mlp", l, n, 0, 1);
    const zn_record *rs[2] = {&a, &a};
    zn_compare_opts o = fast_opts();
    zn_compare *c = calloc(1, sizeof *c);
    assert_int_equal(zn_compare_records(rs, 2, &o, c), ZN_OK);
    const zn_compare_run *x = &c->runs[0];
    assert_true(x->test_available);
    assert_true(fabs(x->median_ratio - 1.0) < 1e-12);
    assert_false(x->significant);
    assert_true(x->ci_lo <= 1.0 && x->ci_hi >= 1.0);
    for (int m = 0; m < x->n_metrics; m++) {
        assert_true(fabs(x->metrics[m].speedup - 1.0) < 1e-12);
        assert_string_equal(x->metrics[m].verdict, "same (1.00x)");
    }
    assert_int_equal(c->n_notes, 0);
    assert_false(c->different_machines);
    for (int i = 0; i < x->n_ops; i++) assert_true(x->ops[i].delta_ns == 0);
    free(c);
    free(l);
    zn_record_free(&a);
}

static void test_faster_run_is_significant(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    int n = 500 + (int)(tu_next(&r) % 300);
    int64_t *la = lats(&r, n, 1), *lb = malloc((size_t)n * sizeof *lb);
    for (int i = 0; i < n; i++) lb[i] = la[i] * 7 / 10;
    zn_record a, b;
    fx_record(&a, "mlp", la, n, 0, 1);
    fx_record(&b, "mlp", lb, n, 0, 1);
    snprintf(b.settings.precision, 8, "f16");
    b.profile.ops[0].total_ns /= 2; /* the biggest op got faster: its delta leads */
    const zn_record *rs[2] = {&a, &b};
    zn_compare_opts o = fast_opts();
    zn_compare *c = calloc(1, sizeof *c), *c2 = calloc(1, sizeof *c2);
    assert_int_equal(zn_compare_records(rs, 2, &o, c), ZN_OK);
    const zn_compare_run *x = &c->runs[0];
    assert_true(x->significant);
    assert_true(x->ci_lo > 1.0);
    double expect = plain_median(la, n) / plain_median(lb, n);
    assert_true(fabs(x->median_ratio - expect) < 1e-9);
    assert_true(fabs(x->median_ratio - 1 / 0.7) < 0.01);
    /* p50 from the histograms: 1/0.7 within the histogram's 0.4% per value */
    assert_string_equal(x->metrics[0].name, "p50");
    assert_true(fabs(x->metrics[0].speedup - 1 / 0.7) < 0.012);
    assert_non_null(strstr(x->metrics[0].verdict, "x faster"));
    /* deterministic: the same records and seed give the same interval */
    assert_int_equal(zn_compare_records(rs, 2, &o, c2), ZN_OK);
    assert_true(c2->runs[0].ci_lo == x->ci_lo && c2->runs[0].ci_hi == x->ci_hi);
    /* sorted by impact */
    assert_string_equal(x->ops[0].name, a.profile.ops[0].op);
    for (int i = 1; i < x->n_ops; i++) assert_true(fabs(x->ops[i - 1].delta_ns) >= fabs(x->ops[i].delta_ns));
    /* the precision difference is called out */
    bool said = false;
    for (int i = 0; i < c->n_notes; i++) said |= strstr(c->notes[i], "precision differs") != NULL;
    assert_true(said);
    /* the slower direction reads "slower" */
    const zn_record *rev[2] = {&b, &a};
    assert_int_equal(zn_compare_records(rev, 2, &o, c2), ZN_OK);
    assert_non_null(strstr(c2->runs[0].metrics[0].verdict, "x slower"));
    assert_true(c2->runs[0].significant && c2->runs[0].ci_hi < 1.0);
    /* markdown and chart */
    char dir[] = "/tmp/zn_cmp_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char md[128], png[128];
    snprintf(md, sizeof md, "%s/diff.md", dir);
    snprintf(png, sizeof png, "%s/diff-compare.png", dir);
    const char *names[2] = {"a.json", "b.json"};
    assert_int_equal(zn_compare_write_report(c, rs, names, md), ZN_OK);
    assert_int_equal(access(png, F_OK), 0);
    char *text = zn_compare_to_markdown(c, rs, names, "diff-compare.png");
    assert_non_null(strstr(text, "median latency is 1.43x faster")); /* exact per-query medians */
    assert_non_null(strstr(text, "Beyond the noise"));
    assert_non_null(strstr(text, "bootstrap"));
    assert_non_null(strstr(text, "](diff-compare.png)"));
    free(text);
    unlink(md);
    unlink(png);
    rmdir(dir);
    free(c);
    free(c2);
    free(la);
    free(lb);
    zn_record_free(&a);
    zn_record_free(&b);
}

static void test_refuses_different_models(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 2);
    int n = 100;
    int64_t *l = lats(&r, n, 1);
    zn_record a, b;
    fx_record(&a, "resnet50", l, n, 0, 0);
    fx_record(&b, "bert-base", l, n, 0, 0);
    snprintf(b.system.hostname, 64, "hostB");
    b.settings.schedule_seed = 99;
    const zn_record *rs[2] = {&a, &b};
    zn_compare_opts o = fast_opts();
    zn_compare *c = calloc(1, sizeof *c);
    assert_int_equal(zn_compare_records(rs, 2, &o, c), ZN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zn_last_error()->message, "different models"));
    assert_non_null(strstr(zn_last_error()->hint, "--allow-different-models"));
    o.allow_different_models = true;
    assert_int_equal(zn_compare_records(rs, 2, &o, c), ZN_OK);
    assert_true(c->different_models);
    assert_true(c->different_machines);
    bool seeds = false, machines = false;
    for (int i = 0; i < c->n_notes; i++) {
        seeds |= strstr(c->notes[i], "different seeds") != NULL;
        machines |= strstr(c->notes[i], "different machines") != NULL;
    }
    assert_true(seeds && machines);
    /* fewer than two records, or a record without results */
    assert_int_equal(zn_compare_records(rs, 1, &o, c), ZN_ERR_INVALID_ARGUMENT);
    zn_record empty;
    zn_record_init(&empty);
    const zn_record *re[2] = {&a, &empty};
    assert_int_equal(zn_compare_records(re, 2, &o, c), ZN_ERR_INVALID_ARGUMENT);
    zn_record_free(&empty);
    free(c);
    free(l);
    zn_record_free(&a);
    zn_record_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_compare_is_not_significant),
        cmocka_unit_test(test_faster_run_is_significant),
        cmocka_unit_test(test_refuses_different_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
