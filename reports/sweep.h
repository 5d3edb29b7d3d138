/* sweep.h — one report over a parameter sweep (llama-bench style): N run records of the same
 * model that differ in batch, threads, precision, target QPS, ... become one markdown table
 * (the parameters that vary, then p50, p90, p99, QPS, samples/s, verdict) and one chart
 * (throughput and latency per configuration).
 *
 * The parameters shown are found by comparing the records: any of backend, precision, mode,
 * batch, threads, max batch, workers, target QPS and scenario that is not the same in all.
 *
 * What it is not: the sweep driver. The app runs every combination (see the lead's runner)
 * and hands the records here. */
#ifndef ZN_SWEEP_H
#define ZN_SWEEP_H

#include "reports/run_record.h"

#define ZN_SWEEP_MAX_RUNS 32

/* "batch=8 threads=2" from the parameters that differ across recs, into buf. */
void zn_sweep_label(const zn_record *const *recs, int n, int i, char *buf, size_t cap);
/* The table (and a link to chart_rel when not NULL). malloc'd; free(). */
char *zn_sweep_to_markdown(const zn_record *const *recs, int n, const char *chart_rel);
/* Writes md_path and "<stem>-sweep.png" next to it. 1 <= n <= ZN_SWEEP_MAX_RUNS. */
zn_status zn_sweep_write_report(const zn_record *const *recs, int n, const char *md_path);

#endif
