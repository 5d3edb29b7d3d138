/* test_histogram.c — the log-linear latency histogram against plain sorting: percentiles within
 * 1% of exact on a million random values from several distributions, exact summaries, merge,
 * bucket geometry, extreme values, iteration and the compact (run record) round trip. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "suites/histogram.h"

#define N_BIG 1000000

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Standard normal by Box-Muller from the test rng. */
static double normal(tu_rng *r) {
    double u1 = ((tu_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

typedef enum { DIST_UNIFORM, DIST_LOGNORMAL, DIST_BIMODAL, DIST_COUNT } dist;

static int64_t draw(tu_rng *r, dist d) {
    switch (d) {
    case DIST_UNIFORM: return 1000 + (int64_t)(tu_next(r) % 10000000);  // 1 us .. 10 ms
    case DIST_LOGNORMAL: return (int64_t)(1e6 * exp(normal(r)));          // median 1 ms
    default: {
        double x = (tu_next(r) & 1) ? 2e5 + 1e4 * normal(r) : 5e7 + 5e6 * normal(r);
        return x < 1 ? 1 : (int64_t)x;
    }
    }
}

/* Percentiles within 1% of the exact order statistic (LoadGen's index floor(n p)), and the
 * summaries exactly (mean/stddev computed plainly here). */
static void test_percentiles_vs_exact(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() ^ 0x4157);
    int64_t *v = malloc(N_BIG * sizeof *v);
    zn_hist *h = malloc(sizeof *h);
    assert_non_null(v);
    assert_non_null(h);
    const double ps[] = {0, 0.1, 1, 10, 25, 50, 75, 90, 95, 97, 99, 99.9, 99.99, 100};
    for (int d = 0; d < DIST_COUNT; d++) {
        zn_hist_init(h);
        long double sum = 0;
        for (int i = 0; i < N_BIG; i++) {
            v[i] = draw(&r, (dist)d);
            zn_hist_record(h, v[i]);
            sum += v[i];
        }
        qsort(v, N_BIG, sizeof *v, cmp_i64);
        assert_int_equal(zn_hist_count(h), N_BIG);
        assert_int_equal(zn_hist_min(h), v[0]);
        assert_int_equal(zn_hist_max(h), v[N_BIG - 1]);
        long double mean = sum / N_BIG, var = 0;
        for (int i = 0; i < N_BIG; i++) var += ((long double)v[i] - mean) * ((long double)v[i] - mean);
        double sd = (double)sqrtl(var / N_BIG);
        assert_true(fabs(zn_hist_mean(h) - (double)mean) <= 1e-9 * (double)mean);
        assert_true(fabs(zn_hist_stddev(h) - sd) <= 1e-6 * sd);
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            int64_t idx = (int64_t)floor((double)N_BIG * ps[k] / 100.0);
            if (idx > N_BIG - 1) idx = N_BIG - 1;
            int64_t exact = v[idx], got = zn_hist_percentile(h, ps[k]);
            /* N*p/100 may round to either neighbouring rank (99.99% of 1e6 is 999899.99.. in
             * double): in a sparse tail neighbours differ by more than 1%, so accept them */
            bool close = false;
            for (int64_t j = idx > 0 ? idx - 1 : 0; j <= idx + 1 && j < N_BIG; j++)
                close |= fabs((double)(got - v[j])) <= 0.01 * (double)v[j];
            if (!close) {
                print_error("dist %d p%g: got %lld, exact %lld\n", d, ps[k], (long long)got,
                            (long long)exact);
                free(v);
                free(h);
                fail();
            }
        }
    }
    free(v);
    free(h);
}

/* Merging per-thread histograms equals recording everything into one. */
static void test_merge_equals_all(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() ^ 0x3E26);
    zn_hist *all = malloc(sizeof *all), *parts = malloc(3 * sizeof *parts);
    assert_non_null(all);
    assert_non_null(parts);
    zn_hist_init(all);
    for (int k = 0; k < 3; k++) zn_hist_init(&parts[k]);
    for (int i = 0; i < 200000; i++) {
        int64_t x = draw(&r, (dist)(i % DIST_COUNT));
        zn_hist_record(all, x);
        zn_hist_record(&parts[tu_next(&r) % 3], x);
    }
    zn_hist_merge(&parts[0], &parts[1]);
    zn_hist_merge(&parts[0], &parts[2]);
    assert_int_equal(parts[0].count, all->count);
    assert_int_equal(parts[0].min, all->min);
    assert_int_equal(parts[0].max, all->max);
    assert_true(parts[0].sum == all->sum);
    assert_true(parts[0].sum_sq == all->sum_sq);
    assert_memory_equal(parts[0].buckets, all->buckets, sizeof all->buckets);
    // Merging an empty histogram changes nothing (its min sentinel must not leak).
    zn_hist empty;
    zn_hist_init(&empty);
    zn_hist_merge(&parts[0], &empty);
    assert_int_equal(parts[0].min, all->min);
    free(all);
    free(parts);
}

/* Every bucket is contiguous with the next, no wider than 1/128 of its lower bound, and a
 * value falls in the bucket whose bounds contain it. */
static void test_bucket_geometry(void **state) {
    (void)state;
    int64_t prev_hi = 0;
    for (int i = 0; i < ZN_HIST_BUCKETS; i++) {
        int64_t lo, hi;
        zn_hist_bucket_bounds(i, &lo, &hi);
        assert_int_equal(lo, prev_hi);
        assert_true(hi > lo);
        assert_true(hi - lo == 1 || (hi - lo) * 128 <= lo);
        assert_int_equal(zn_hist_bucket_index(lo), i);
        assert_int_equal(zn_hist_bucket_index(hi - 1), i);
        prev_hi = hi;
    }
    assert_int_equal(prev_hi, ZN_HIST_MAX_VALUE);
    tu_rng r = tu_rng_new(tu_seed() ^ 0x6E0);
    for (int k = 0; k < 100000; k++) {
        int64_t v = (int64_t)(tu_next(&r) >> (20 + tu_next(&r) % 44));
        int i = zn_hist_bucket_index(v);
        int64_t lo, hi;
        zn_hist_bucket_bounds(i, &lo, &hi);
        assert_true(lo <= v && v < hi);
    }
}

/* 1 ns and 1 hour side by side; values beyond the tracked range; negatives; empty. */
static void test_extremes(void **state) {
    (void)state;
    zn_hist h;
    zn_hist_init(&h);
    assert_int_equal(zn_hist_percentile(&h, 50), 0);
    assert_int_equal(zn_hist_min(&h), 0);
    assert_int_equal(zn_hist_max(&h), 0);
    assert_true(zn_hist_mean(&h) == 0 && zn_hist_stddev(&h) == 0);

    const int64_t hour = INT64_C(3600) * 1000000000;
    zn_hist_record(&h, 1);
    zn_hist_record(&h, hour);
    assert_int_equal(zn_hist_min(&h), 1);
    assert_int_equal(zn_hist_max(&h), hour);
    assert_int_equal(zn_hist_percentile(&h, 0), 1);
    assert_int_equal(zn_hist_percentile(&h, 100), hour);
    assert_true(zn_hist_mean(&h) == (1.0 + (double)hour) / 2);
    assert_true(fabs(zn_hist_stddev(&h) - ((double)hour - 1) / 2) <= 1e-9 * (double)hour);
    // Many hour-long values: the sum of squares (~1.3e25 each) must not overflow.
    zn_hist_record_n(&h, hour, 1000000);
    assert_true(fabs(zn_hist_mean(&h) - (double)hour) <= 1e-6 * (double)hour);
    assert_true(zn_hist_stddev(&h) < 1e-2 * (double)hour);
    int64_t p50 = zn_hist_percentile(&h, 50);
    assert_true(fabs((double)(p50 - hour)) <= 0.01 * (double)hour);

    // Beyond the tracked range: last bucket, but max/min/mean stay exact.
    zn_hist g;
    zn_hist_init(&g);
    int64_t huge = INT64_C(1) << 55;
    zn_hist_record(&g, huge);
    zn_hist_record(&g, -5);  // recorded as 0
    assert_int_equal(zn_hist_max(&g), huge);
    assert_int_equal(zn_hist_min(&g), 0);
    assert_int_equal(zn_hist_percentile(&g, 100), huge);
    assert_int_equal(g.buckets[ZN_HIST_BUCKETS - 1], 1);
    assert_true(zn_hist_mean(&g) == (double)huge / 2);
}

/* count_above agrees with plain counting at bucket boundaries (where it is exact). */
static void test_count_above(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() ^ 0xC0A);
    enum { N = 50000 };
    int64_t *v = malloc(N * sizeof *v);
    zn_hist *h = malloc(sizeof *h);
    assert_non_null(v);
    assert_non_null(h);
    zn_hist_init(h);
    for (int i = 0; i < N; i++) {
        v[i] = draw(&r, DIST_LOGNORMAL);
        zn_hist_record(h, v[i]);
    }
    for (int k = 0; k < 200; k++) {
        int b = 1 + (int)(tu_next(&r) % (ZN_HIST_BUCKETS - 1));
        int64_t lo, hi;
        zn_hist_bucket_bounds(b, &lo, &hi);
        int64_t thr = hi - 1;  // the last value of bucket b: "above" = from bucket b+1 on
        uint64_t exact = 0;
        for (int i = 0; i < N; i++) exact += v[i] > thr;
        assert_int_equal(zn_hist_count_above(h, thr), exact);
    }
    free(v);
    free(h);
}

/* Iteration visits exactly the non-empty buckets, in order, and the compact form rebuilds
 * the histogram. */
static void test_iterate_and_round_trip(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() ^ 0x5E71);
    zn_hist *h = malloc(sizeof *h), *back = malloc(sizeof *back);
    assert_non_null(h);
    assert_non_null(back);
    zn_hist_init(h);
    for (int i = 0; i < 100000; i++) zn_hist_record(h, draw(&r, (dist)(i % DIST_COUNT)));

    int cur = 0, n = 0, last = -1;
    uint64_t total = 0;
    zn_hist_bucket b;
    while (zn_hist_next(h, &cur, &b)) {
        assert_true(b.index > last);
        assert_true(b.count > 0);
        assert_int_equal(b.count, h->buckets[b.index]);
        assert_true(b.lo < b.hi);
        last = b.index;
        total += b.count;
        n++;
    }
    assert_int_equal(total, h->count);

    zn_hist_compact c;
    assert_int_equal(zn_hist_export(h, &c), ZN_OK);
    assert_int_equal(c.n, n);
    assert_int_equal(c.count, h->count);
    assert_int_equal(zn_hist_import(back, &c), ZN_OK);
    assert_memory_equal(back->buckets, h->buckets, sizeof h->buckets);
    assert_int_equal(back->count, h->count);
    assert_int_equal(back->min, h->min);
    assert_int_equal(back->max, h->max);
    assert_true(fabs(zn_hist_mean(back) - zn_hist_mean(h)) <= 1e-9 * zn_hist_mean(h));
    assert_true(fabs(zn_hist_stddev(back) - zn_hist_stddev(h)) <= 1e-6 * zn_hist_stddev(h));
    for (double p = 0; p <= 100; p += 12.5)
        assert_int_equal(zn_hist_percentile(back, p), zn_hist_percentile(h, p));

    // A damaged record is refused with a message.
    c.counts[0] += 1;
    assert_int_equal(zn_hist_import(back, &c), ZN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(zn_last_error()->message, "damaged"));
    c.counts[0] -= 1;
    c.sub_bits = 5;
    assert_int_equal(zn_hist_import(back, &c), ZN_ERR_INVALID_ARGUMENT);
    zn_hist_compact_free(&c);

    // The empty histogram round-trips too.
    zn_hist_init(h);
    assert_int_equal(zn_hist_export(h, &c), ZN_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(zn_hist_import(back, &c), ZN_OK);
    assert_int_equal(zn_hist_count(back), 0);
    assert_int_equal(zn_hist_percentile(back, 99), 0);
    zn_hist_compact_free(&c);
    free(h);
    free(back);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_vs_exact),
        cmocka_unit_test(test_merge_equals_all),
        cmocka_unit_test(test_bucket_geometry),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_count_above),
        cmocka_unit_test(test_iterate_and_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
