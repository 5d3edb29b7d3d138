/* peak.h — find-peak for the server scenario: the highest offered QPS whose run is VALID
 * (its latency at the bound percentile meets the bound, and every other LoadGen rule holds).
 *
 * The search is over an abstract runner, run_at(user, qps, out): one short, complete server run
 * at that target QPS, its results in *out (zn_test_results, freed here). So it is testable with
 * a fake, and the app supplies a closure that runs the real scenario.
 *
 *   1. bracketing: from start_qps, double while runs are VALID (or halve while INVALID) until one
 *      VALID and one INVALID rate bracket the peak;
 *   2. bisection between them until (hi - lo) / lo <= precision;
 *   3. the answer is the highest VALID rate seen (the lower bracket).
 *
 * Every step is recorded (offered QPS, achieved QPS, latency at the bound percentile, valid),
 * which is the curve of latency against offered load the report charts.
 *
 * What it is not: a noise model. A single run decides each step; near the peak, repeated runs of
 * one rate may disagree, which is why the precision should not be tighter than the run-to-run
 * spread (2% by default). */
#ifndef ZN_PEAK_H
#define ZN_PEAK_H

#include <stdbool.h>
#include <stdint.h>

#include "suites/loadgen.h"

#define ZN_PEAK_MAX_POINTS 64

typedef zn_status (*zn_peak_run_fn)(void *user, double qps, zn_test_results *out);
/* Called after every step (progress for the app); may be NULL. */
typedef void (*zn_peak_step_fn)(void *user, int step, double qps, bool valid, int64_t latency_ns);

typedef struct zn_peak_opts {
    double start_qps;       /* first rate tried (> 0; 0 = 10) */
    double precision;       /* relative width of the final bracket (0 = 0.02) */
    double min_qps;         /* give up below this (0 = start_qps / 1024) */
    double max_qps;         /* give up above this (0 = start_qps * 2^20) */
    int max_steps;          /* runs at most (0 = 40; at most ZN_PEAK_MAX_POINTS) */
    zn_peak_step_fn on_step;
    void *step_user;
} zn_peak_opts;

typedef struct zn_peak_point {
    double qps;             /* offered (target) QPS */
    double achieved_qps;    /* completed QPS of the run */
    int64_t latency_ns;     /* latency at the bound percentile */
    int64_t bound_ns;       /* the latency bound */
    double percentile;      /* the bound percentile */
    bool valid;
    char reason[ZN_LOADGEN_TEXT];   /* why INVALID ("" when valid) */
} zn_peak_point;

typedef struct zn_peak_result {
    bool found;             /* a VALID rate was found */
    bool converged;         /* the bracket reached the precision */
    double peak_qps;        /* highest VALID rate (0 when none) */
    double lo_qps, hi_qps;  /* final bracket: lo VALID, hi INVALID (hi 0 when never INVALID) */
    double precision;
    int n_points;
    zn_peak_point points[ZN_PEAK_MAX_POINTS];   /* in the order run */
    char note[ZN_LOADGEN_TEXT];                 /* how it ended, in words */
} zn_peak_result;

void zn_peak_opts_default(zn_peak_opts *o);
/* Runs the search. ZN_OK whenever the search ran (check found/converged); a run_at failure is
 * returned as is, with the points so far in *out; ZN_ERR_INVALID_ARGUMENT for bad options. */
zn_status zn_peak_search(const zn_peak_opts *o, zn_peak_run_fn run_at, void *user, zn_peak_result *out);

#endif
