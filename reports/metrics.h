/* metrics.h — a run record for other tools: the Prometheus text exposition format (version
 * 0.0.4) for dashboards, and a CSV of the per-query latencies.
 *
 * The .prom file holds, each with # HELP and # TYPE lines and the labels model, scenario,
 * backend and precision:
 *   zenith_query_latency_seconds      histogram: cumulative buckets at fixed 1-2-5 bounds from
 *                                     1 µs to 1000 s, le="+Inf" equal to _count, _sum, _count
 *   zenith_queries_total              counter: measured queries
 *   zenith_samples_total              counter: measured samples
 *   zenith_query_latency_percentile_seconds  gauge per quantile (0.5, 0.9, 0.99, 0.999)
 *   zenith_throughput_samples_per_second, zenith_qps  gauges
 *   zenith_run_valid                  gauge: 1 VALID, 0 otherwise
 *   zenith_op_time_seconds{op="MatMul"}  gauge: time per inference run by op kind
 * Bucket counts come from the record's log-linear histogram: a histogram bucket counts toward
 * le when its midpoint is at or below le (buckets are at most 0.8% wide).
 *
 * The CSV has a header line and one row per kept query:
 *   query,issue_ns,latency_ns,samples,worker
 * (query numbers count from the first measured query, so a ring that dropped old queries starts
 * above 0).
 *
 * What it is not: a metrics server (nothing listens; the file is for node_exporter's textfile
 * collector or a push gateway). */
#ifndef ZN_METRICS_H
#define ZN_METRICS_H

#include "reports/run_record.h"

char *zn_record_to_prometheus(const zn_record *rec);     /* malloc'd; free() */
zn_status zn_record_write_prometheus(const zn_record *rec, const char *path);
zn_status zn_record_write_latency_csv(const zn_record *rec, const char *path);

#endif
