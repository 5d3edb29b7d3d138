/* peak.c — find-peak by bracketing then bisection (peak.h). */
#include "suites/peak.h"

#include "engine/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void zn_peak_opts_default(zn_peak_opts *o) {
    memset(o, 0, sizeof *o);
    o->start_qps = 10;
    o->precision = 0.02;
    o->max_steps = 40;
}

/* One step: run at qps, record the point. Returns the run's status. */
static zn_status step(const zn_peak_opts *o, zn_peak_run_fn run_at, void *user, zn_peak_result *out, double qps,
                      bool *valid) {
    zn_test_results r;
    memset(&r, 0, sizeof r);
    zn_status st = run_at(user, qps, &r);
    if (st != ZN_OK) {
        zn_test_results_free(&r);
        return st;
    }
    zn_peak_point *p = &out->points[out->n_points++];
    memset(p, 0, sizeof *p);
    p->qps = qps;
    p->achieved_qps = r.completed_qps > 0 ? r.completed_qps : r.qps_with_overhead;
    p->latency_ns = r.target_percentile_ns;
    p->bound_ns = r.settings.target_latency_ns;
    p->percentile = r.settings.target_latency_percentile;
    p->valid = r.verdict == ZN_VERDICT_VALID && !r.interrupted;
    snprintf(p->reason, sizeof p->reason, "%s", p->valid ? "" : r.invalid_reason);
    *valid = p->valid;
    zn_test_results_free(&r);
    if (o->on_step) o->on_step(o->step_user, out->n_points, qps, p->valid, p->latency_ns);
    return ZN_OK;
}

zn_status zn_peak_search(const zn_peak_opts *opts, zn_peak_run_fn run_at, void *user, zn_peak_result *out) {
    memset(out, 0, sizeof *out);
    zn_peak_opts o;
    if (opts) o = *opts;
    else zn_peak_opts_default(&o);
    if (!run_at) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "find-peak: no run callback");
    if (o.start_qps == 0) o.start_qps = 10;
    if (o.precision == 0) o.precision = 0.02;
    if (o.max_steps <= 0 || o.max_steps > ZN_PEAK_MAX_POINTS) o.max_steps = o.max_steps <= 0 ? 40 : ZN_PEAK_MAX_POINTS;
    if (!(o.start_qps > 0) || !isfinite(o.start_qps)) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "find-peak: start QPS %g is not a positive rate", o.start_qps);
        zn_error_hint("pass --target-qps with a positive starting rate, e.g. --target-qps 10");
        return ZN_ERR_INVALID_ARGUMENT;
    }
    if (!(o.precision > 0 && o.precision < 1)) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "find-peak: precision %g is outside (0, 1)", o.precision);
        zn_error_hint("use a relative precision such as 0.02 (2%%)");
        return ZN_ERR_INVALID_ARGUMENT;
    }
    if (o.min_qps <= 0) o.min_qps = o.start_qps / 1024;
    if (o.max_qps <= 0) o.max_qps = o.start_qps * 1048576.0;
    out->precision = o.precision;

    double lo = 0, hi = 0;   /* lo: highest VALID; hi: lowest INVALID */
    bool v;
    zn_status st;
    double q = o.start_qps;
    /* ---- bracketing ---- */
    for (;;) {
        if (out->n_points >= o.max_steps) goto out_of_steps;
        if ((st = step(&o, run_at, user, out, q, &v)) != ZN_OK) return st;
        if (v) {
            if (q > lo) lo = q;
            if (hi > 0) break;
            if (q * 2 > o.max_qps) {
                snprintf(out->note, sizeof out->note, "every rate up to %.4g QPS was VALID; the search stopped at the maximum", q);
                goto done;
            }
            q *= 2;
        } else {
            if (hi == 0 || q < hi) hi = q;
            if (lo > 0) break;
            if (q / 2 < o.min_qps) {
                snprintf(out->note, sizeof out->note, "no rate down to %.4g QPS was VALID", q);
                goto done;
            }
            q /= 2;
        }
    }
    /* ---- bisection ---- */
    while ((hi - lo) / lo > o.precision) {
        if (out->n_points >= o.max_steps) goto out_of_steps;
        q = 0.5 * (lo + hi);
        if ((st = step(&o, run_at, user, out, q, &v)) != ZN_OK) return st;
        if (v) lo = q;
        else hi = q;
    }
    out->converged = true;
    snprintf(out->note, sizeof out->note, "converged after %d runs: %.4g QPS VALID, %.4g QPS INVALID (within %.3g%%)",
             out->n_points, lo, hi, 100 * o.precision);
    goto done;
out_of_steps:
    snprintf(out->note, sizeof out->note, "stopped after %d runs before reaching the precision", out->n_points);
done:
    out->found = lo > 0;
    out->peak_qps = lo;
    out->lo_qps = lo;
    out->hi_qps = hi;
    return ZN_OK;
}
