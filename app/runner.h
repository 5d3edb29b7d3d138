/* runner.h — one benchmark run, end to end, as both the headless command and the TUI drive it:
 * load and bind the model, compile, build the sample set, wire one session per worker into a
 * LoadGen SUT, run the scenario (with per-node profiling and NVTX; on CUDA also the CUPTI
 * kernel trace, NVML samples and cudaProfilerStart/Stop around the measured window), check
 * accuracy, and fill the run record every report is rendered from.
 *
 * The runner prints nothing; a progress callback and the live snapshot are how callers watch.
 */
#ifndef ZN_RUNNER_H
#define ZN_RUNNER_H

#include "cli.h"
#include "profiling/cupti.h"
#include "profiling/profile.h"
#include "reports/run_record.h"
#include "suites/loadgen.h"

typedef struct zn_runner_opts {
    cli_model_opts model;
    zn_compile_config cfg;
    zn_test_settings settings;
    uint64_t data_seed;      /* synthetic inputs */
    int n_samples;           /* synthetic samples held in memory (0: 16) */
    const char *data_dir;    /* reference data (test_data_set folders) for accuracy mode */
    bool no_profile;         /* per-node timing off */
    volatile int *interrupted; /* checked between stages (Ctrl-C before the run starts) */
    int argc;                /* the command line, for the record */
    char **argv;
    /* ---- added for the TUI (leave zeroed for headless runs) ----
     * When set, called on the runner's thread with the run's profiler once its sessions are
     * attached and warmed up (just before the scenario starts), and with NULL before that
     * profiler is freed. Between the two calls a live view may zn_profiler_peek() it from
     * another thread; the callback is where that view takes its own lock, so a peek never
     * overlaps the free. Not called with --no-profile (no per-node timing to show). */
    void (*profiler_fn)(void *user, zn_profiler *p);
    void *profiler_user;
    /* ---- added for GPU profiling (issue 9; leave zeroed when not needed) ----
     * Like profiler_fn, with the run's CUPTI collector (CUDA runs with per-node timing, when
     * CUPTI is free): between the call with it and the call with NULL a live view may
     * zn_cupti_flush(c, false) and zn_cupti_collect(c, &p, false) from another thread. */
    void (*gpu_fn)(void *user, struct zn_cupti *c);
    void *gpu_user;
} zn_runner_opts;

/* Stages, for progress messages: "loading", "compiling", "preparing", "running", "checking". */
typedef void (*zn_runner_stage_fn)(void *user, const char *stage, const char *detail);

/* Runs everything. The record is always initialised and, whenever the model compiled, filled
 * (an interrupted or failed run is recorded with its status and reason). Returns:
 *   ZN_OK                      the run happened (the verdict may still be INVALID)
 *   ZN_ERR_INTERRUPTED         stopped early (zn_loadgen_request_stop on `live`)
 *   other                      load/compile/run failures; *stage_failed names the stage
 * live may be NULL. */
zn_status zn_runner_run(const zn_runner_opts *o, zn_live *live, zn_runner_stage_fn stage, void *user,
                        zn_record *rec, const char **stage_failed);

#endif
