/* test_peak.c — find-peak against a fake server whose latency at the bound percentile is a
 * known function of the offered QPS: the search converges to the crossing within its precision
 * from below and from above, records every step, reports no valid rate when there is none, and
 * passes a run failure through. */
#include "test_util.h"

#include "engine/error.h"
#include "suites/peak.h"

typedef struct fake {
    double cross;     /* the rate where the latency meets the bound */
    int64_t bound_ns;
    int calls;
    int fail_at;      /* call number that fails (0 = never) */
} fake;

/* latency = bound * qps / cross: VALID exactly when qps <= cross. */
static zn_status fake_run(void *user, double qps, zn_test_results *out) {
    fake *f = user;
    f->calls++;
    if (f->fail_at && f->calls == f->fail_at) return zn_error_set(ZN_ERR_RUNTIME, "fake SUT failed");
    memset(out, 0, sizeof *out);
    out->settings.scenario = ZN_SCENARIO_SERVER;
    out->settings.target_qps = qps;
    out->settings.target_latency_ns = f->bound_ns;
    out->settings.target_latency_percentile = 99;
    out->target_percentile_ns = (int64_t)((double)f->bound_ns * qps / f->cross);
    out->completed_qps = qps * 0.99;
    out->verdict = qps <= f->cross ? ZN_VERDICT_VALID : ZN_VERDICT_INVALID;
    if (out->verdict) snprintf(out->invalid_reason, sizeof out->invalid_reason, "p99 over the bound");
    return ZN_OK;
}

static void check(double cross, double start) {
    fake f = {cross, 10000000, 0, 0};
    zn_peak_opts o;
    zn_peak_opts_default(&o);
    o.start_qps = start;
    zn_peak_result r;
    assert_int_equal(zn_peak_search(&o, fake_run, &f, &r), ZN_OK);
    assert_true(r.found && r.converged);
    assert_true(r.lo_qps <= cross && r.hi_qps > cross);
    assert_true((r.hi_qps - r.lo_qps) / r.lo_qps <= o.precision);
    assert_true(r.peak_qps == r.lo_qps);
    assert_true(r.peak_qps >= cross * (1 - o.precision));
    assert_int_equal(r.n_points, f.calls);
    /* every step is a point with its verdict and latency */
    for (int i = 0; i < r.n_points; i++) {
        assert_int_equal(r.points[i].valid, r.points[i].qps <= cross);
        assert_int_equal(r.points[i].bound_ns, 10000000);
        assert_true(r.points[i].valid || r.points[i].reason[0]);
    }
    /* 10% above the answer is INVALID, the answer VALID */
    assert_true(r.peak_qps * 1.1 > cross);
}

static void test_converges_from_below_and_above(void **state) {
    (void)state;
    tu_rng g = tu_rng_new(tu_seed());
    for (int k = 0; k < 20; k++) {
        double cross = 5 + 5000 * tu_uniform(&g, 0, 1);
        check(cross, 10);                 /* usually from below: doubling */
        check(cross, cross * 7.3);        /* from above: halving */
        check(cross, cross);              /* right on it */
    }
}

static void test_no_valid_rate_and_failures(void **state) {
    (void)state;
    fake f = {0.001, 10000000, 0, 0};
    zn_peak_opts o;
    zn_peak_opts_default(&o);
    o.start_qps = 100;
    zn_peak_result r;
    assert_int_equal(zn_peak_search(&o, fake_run, &f, &r), ZN_OK);
    assert_false(r.found);
    assert_true(r.peak_qps == 0);
    assert_non_null(strstr(r.note, "no rate"));
    fake g = {500, 10000000, 0, 4};
    assert_int_equal(zn_peak_search(&o, fake_run, &g, &r), ZN_ERR_RUNTIME);
    assert_int_equal(r.n_points, 3);
    o.precision = 2;
    assert_int_equal(zn_peak_search(&o, fake_run, &g, &r), ZN_ERR_INVALID_ARGUMENT);
    o.precision = 0.02;
    o.max_steps = 5;
    fake h = {12345, 10000000, 0, 0};
    assert_int_equal(zn_peak_search(&o, fake_run, &h, &r), ZN_OK);
    assert_false(r.converged);
    assert_true(r.n_points <= 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_converges_from_below_and_above),
        cmocka_unit_test(test_no_valid_rate_and_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
