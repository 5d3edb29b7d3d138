/* compare.h — two or more run records side by side: the first is the baseline, every other is
 * compared with it.
 *
 * For each other run: every latency percentile and the throughput with the ratio ("1.42x
 * faster"), whether the difference in latency is beyond the noise, per-op and per-node time
 * deltas sorted by impact, and the settings and environment that differ (a comparison across
 * machines, seeds, builds or precisions says so).
 *
 * Significance: a percentile bootstrap of the ratio of median latencies (baseline / other) over
 * the per-query latencies the records hold (rec->results.queries): 2000 resamples of each run,
 * seeded (the same records give the same interval), the 95% interval; the difference is
 * significant when the interval excludes 1. Runs with more than 20000 kept queries are thinned
 * to 20000 evenly spaced ones first. When a record holds no per-query latencies the test is
 * reported as not available. The bootstrap sees query-to-query noise only; run-to-run drift on
 * a busy machine is larger, which the report says.
 *
 * Runs of different models are refused (ZN_ERR_INVALID_ARGUMENT) unless allow_different_models.
 *
 * What it is not: a renderer of one run (markdown.c) or a regression gate. */
#ifndef ZN_COMPARE_H
#define ZN_COMPARE_H

#include <stdbool.h>

#include "reports/run_record.h"

#define ZN_COMPARE_MAX_RUNS 16
#define ZN_COMPARE_MAX_NOTES 32
#define ZN_COMPARE_MAX_DELTAS 12

typedef struct zn_compare_opts {
    bool allow_different_models;
    int n_boot;              /* bootstrap resamples (0 = 2000) */
    double confidence;       /* (0 = 0.95) */
    uint64_t seed;           /* bootstrap seed (0 = a fixed default) */
    int max_samples;         /* per run before thinning (0 = 20000) */
} zn_compare_opts;

typedef struct zn_compare_metric {
    char name[24];           /* "p50", ..., "samples/s" */
    bool lower_is_better;    /* latencies */
    double base, other;      /* ns for latencies */
    double speedup;          /* > 1: the other run is better (base/other for latency, other/base for rates) */
    char verdict[48];        /* "1.43x faster", "1.10x slower", "same" */
} zn_compare_metric;

typedef struct zn_compare_delta {
    char name[200];          /* op kind, or "node [Op]" */
    double base_ns, other_ns;  /* time per run */
    double delta_ns;         /* other - base */
} zn_compare_delta;

typedef struct zn_compare_run {
    int index;               /* into the records */
    int n_metrics;
    zn_compare_metric metrics[10];
    /* bootstrap of median(base) / median(other) */
    bool test_available;
    double median_ratio, ci_lo, ci_hi;
    bool significant;
    int n_base, n_other;     /* latencies used */
    int n_ops, n_nodes;
    zn_compare_delta ops[ZN_COMPARE_MAX_DELTAS], nodes[ZN_COMPARE_MAX_DELTAS];
} zn_compare_run;

typedef struct zn_compare {
    int n_records;
    zn_compare_opts opts;
    int n_runs;              /* n_records - 1 */
    zn_compare_run runs[ZN_COMPARE_MAX_RUNS];
    int n_notes;             /* differences in settings and environment, in words */
    char notes[ZN_COMPARE_MAX_NOTES][320];
    bool different_machines, different_models;
} zn_compare;

void zn_compare_opts_default(zn_compare_opts *o);
/* recs[0] is the baseline; 2 <= n <= ZN_COMPARE_MAX_RUNS. Records without results are refused. */
zn_status zn_compare_records(const zn_record *const *recs, int n, const zn_compare_opts *opts, zn_compare *out);
/* The comparison as markdown; chart_rel (may be NULL) is linked under the table. names[i]
 * (may be NULL) label the runs (e.g. their file names). malloc'd; free(). */
char *zn_compare_to_markdown(const zn_compare *c, const zn_record *const *recs, const char *const *names,
                             const char *chart_rel);
/* Writes md_path and the chart "<stem>-compare.png" next to it. */
zn_status zn_compare_write_report(const zn_compare *c, const zn_record *const *recs, const char *const *names,
                                  const char *md_path);
/* A short label of a run for tables and legends: "resnet50 cpu f32 b1 t2 @host". */
void zn_compare_run_label(const zn_record *rec, char *buf, size_t cap);

#endif
