/* charts.h — PNG charts rendered from run records (and from a find-peak search):
 *
 *   zn_chart_latency_hist   latency histogram with p50 / p90 / p99 marked
 *   zn_chart_latency_time   every measured query's latency against its issue time
 *   zn_chart_op_bars        time per run by op kind (bars, with shares)
 *   zn_chart_node_bars      the top nodes by time per run (bars)
 *   zn_chart_gpu_node_bars  CUDA runs: the top nodes by GPU time per run (CUPTI)
 *   zn_chart_gpu_kernel_bars  CUDA runs: the top kernels (launch sites) by GPU time per run
 *   zn_chart_server_qps     server runs: offered (scheduled) vs achieved (completed) QPS over time
 *   zn_chart_peak           find-peak: latency at the bound percentile against offered QPS
 *   zn_chart_sweep          a parameter sweep: throughput and latency per configuration
 *   zn_chart_compare        two or more runs side by side: percentiles and throughput
 *
 * Each writes one PNG (ZN_CHART_W x ZN_CHART_H) with a title, axis labels with units, a legend
 * where there are several series, and colours chosen to stay apart in greyscale (series also
 * differ by fill pattern, marker shape or dash). The bytes depend only on the input: the same
 * record gives the same file. When `axes` is not NULL it receives the plot area and the data
 * range, so a caller (a test) can find where a value was drawn.
 *
 * A chart that has no data to show (no per-query records, no profile, not a server run) is not
 * written and ZN_ERR_NOT_FOUND is returned; zn_record_write_report skips those quietly.
 *
 * What it is not: a plotting library. Layouts are fixed per chart. */
#ifndef ZN_CHARTS_H
#define ZN_CHARTS_H

#include "reports/png.h"
#include "reports/run_record.h"
#include "suites/peak.h"

#define ZN_CHART_W 1200
#define ZN_CHART_H 700

/* Series styles, in order: colour, fill pattern, marker, dash. The colours' luminances are far
 * apart (dark blue, orange, green, purple) so greyscale prints keep them distinct. */
#define ZN_CHART_SERIES 4
extern const uint32_t zn_chart_colors[ZN_CHART_SERIES];
#define ZN_CHART_COLOR_P50 0x1B7A3A
#define ZN_CHART_COLOR_P90 0xD17A00
#define ZN_CHART_COLOR_P99 0xB0201E
#define ZN_CHART_COLOR_BOUND 0x000000

/* The plot area of a chart ([x0, x1] x [y0, y1] in pixels, y0 at the top) and the data range
 * mapped onto it (for a chart with two panels: the first). Data units: latencies in ns, times
 * in ns, rates in 1/s. */
typedef struct zn_chart_axes {
    int x0, y0, x1, y1;
    double xmin, xmax, ymin, ymax;
} zn_chart_axes;

/* Pixel of a data value: x0 + (v - xmin) / (xmax - xmin) * (x1 - x0), rounded; y likewise
 * from the bottom (y1). */
int zn_chart_px_x(const zn_chart_axes *a, double v);
int zn_chart_px_y(const zn_chart_axes *a, double v);

zn_status zn_chart_latency_hist(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_latency_time(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_op_bars(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_node_bars(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_gpu_node_bars(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_gpu_kernel_bars(const zn_record *rec, const char *path, zn_chart_axes *axes);
zn_status zn_chart_server_qps(const zn_record *rec, const char *path, zn_chart_axes *axes);
/* rec (may be NULL) only names the model in the title. */
zn_status zn_chart_peak(const zn_peak_result *pk, const zn_record *rec, const char *path, zn_chart_axes *axes);
/* One bar group per record; labels[i] names record i (NULL: built from what differs). The
 * first panel (axes) is throughput in samples/s. */
zn_status zn_chart_sweep(const zn_record *const *recs, int n, const char *const *labels, const char *path,
                         zn_chart_axes *axes);
/* Grouped bars: p50, p90, p99, p99.9 (one bar per record; axes = this panel) and throughput. */
zn_status zn_chart_compare(const zn_record *const *recs, int n, const char *const *labels, const char *path,
                           zn_chart_axes *axes);

/* The markdown report with its charts (markdown.c): writes <stem>-<chart>.png next to md_path
 * (stem = the file name without ".md") and md_path itself, linking each chart by its relative
 * name under the table it illustrates: latency-hist and latency-time under Results, server-qps
 * there too for server runs, ops and nodes under "Where the time goes", gpu-nodes and
 * gpu-kernels under "GPU". Charts without data are left out. */
zn_status zn_record_write_report(const zn_record *rec, const char *md_path);

/* Chart file names for a report at md_path: "<dir>/<stem>-<name>.png" into path, and the name
 * relative to the report ("<stem>-<name>.png") into rel. */
void zn_chart_paths(const char *md_path, const char *name, char *path, size_t path_cap, char *rel, size_t rel_cap);

#endif
