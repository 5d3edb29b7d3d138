/* run_record.h — the run record: everything about one benchmark run, as plain C data, and its
 * JSON form (schema version 1). Every report, chart and comparison is rendered from a record,
 * so a record holds no pointers into engine objects: one loaded from JSON is self-contained.
 *
 *   zn_record_init          schema/tool version, creation time (UTC), run id
 *   zn_record_fill_system   system and build info (system_info.c)
 *   zn_record_fill_from_plan  model and compile summary
 *   zn_record_fill_results  settings, results, histograms, rules, the per-query records
 *   zn_record_fill_profile  per-node / per-op timing
 *   zn_record_fill_gpu      GPU facts (device, NVML samples) and the CUPTI kernel profile
 *   zn_record_add_accuracy  one output's comparison against its reference
 *   zn_record_mark_interrupted / _failed   status + reason; the verdict becomes INVALID
 *   zn_record_write_json / read_json / to_json_string
 *   zn_record_write_markdown (markdown.c), zn_record_write_mlperf_summary (mlperf_log.c)
 *
 * Files are written to "<path>.tmp.<pid>" and renamed, so a reader never sees half a record.
 * Nothing here prints; errors go through zn_error_set with a hint.
 */
#ifndef ZN_RUN_RECORD_H
#define ZN_RUN_RECORD_H

#include <stdint.h>

#include "engine/zenith.h"
#include "profiling/gpu_monitor.h"
#include "profiling/gpu_trace.h"
#include "profiling/profile.h"
#include "suites/accuracy.h"
#include "suites/histogram.h"
#include "suites/loadgen.h"
#include "suites/peak.h"

#define ZN_RECORD_SCHEMA_VERSION 1
#define ZN_TOOL_VERSION "0.1.0"
#define ZN_RECORD_MAX_IO 16
#define ZN_RECORD_MAX_QUERIES 100000  /* per-query records stored at most (the latest) */
#define ZN_RECORD_MAX_ACCURACY 16

typedef struct zn_record_tensor {
    char name[ZN_MAX_NAME];
    char dtype[8];            /* "f32" */
    int rank;
    int64_t dims[ZN_MAX_RANK];
} zn_record_tensor;

typedef struct zn_record_model {
    char name[ZN_MAX_NAME];
    char source[8];           /* "zoo" | "onnx" */
    char path[512];           /* ONNX file ("" for the zoo) */
    char producer[64], producer_version[32];
    int64_t opset;
    int n_inputs, n_outputs;
    zn_record_tensor inputs[ZN_RECORD_MAX_IO], outputs[ZN_RECORD_MAX_IO];
    int64_t params, param_bytes;
    int batch;                /* leading dim of the first input (samples per run) */
    double flops_per_run, flops_per_sample;
} zn_record_model;

typedef struct zn_record_fusion {
    char op[32];
    int count;
} zn_record_fusion;

typedef struct zn_record_compile {
    char backend[8], precision[8], mode[24];
    int threads;
    int nodes_before, nodes_after, steps;
    int n_passes;
    zn_pass_report passes[ZN_MAX_PASSES];
    int n_fusions;
    zn_record_fusion fusions[ZN_MAX_PASSES * 2];
    int64_t planned_peak_bytes, naive_bytes, weight_bytes, scratch_bytes;
    int inplace_count;
    double compile_ms;
    double flops;
    /* CUDA plans (zero on the CPU; absent in older records) */
    int device_steps, cpu_fallback_steps, copy_steps;
    int64_t device_arena_bytes, device_weight_bytes;
    bool cuda_graph;
    char note[640];   /* why auto chose the CPU, why no CUDA graph */
} zn_record_compile;

typedef struct zn_system_info {
    char hostname[64];
    char os[64];              /* "Linux" */
    char kernel[128];         /* uname release + version */
    char arch[32];
    char cpu_model[128];
    int cores_online, cores_configured;
    char simd[256];           /* "sse4.2 avx avx2 fma avx512f ..." */
    int64_t mem_total_bytes, mem_available_bytes;
    char gpu[128];            /* "none" when absent */
    char driver[128];         /* "none" when absent */
} zn_system_info;

typedef struct zn_build_info {
    char version[16];         /* ZN_TOOL_VERSION */
    char compiler[128];
    char flags[512];
    char git_commit[48];
    char backends[64];        /* "cpu cuda" */
} zn_build_info;

/* Collects the machine's description / the build's (system_info.c). Never fails: unknown
 * fields read "unknown". */
void zn_system_info_collect(zn_system_info *out);
void zn_build_info_collect(zn_build_info *out);

typedef struct zn_record_settings {
    char scenario[16];        /* "single-stream" ... */
    char test_mode[16];       /* "performance" ... */
    int64_t min_duration_ms, max_duration_ms, min_query_count, max_query_count;
    double target_qps;
    int64_t target_latency_ns;
    double target_latency_percentile;
    int samples_per_query;
    int64_t total_sample_count, performance_sample_count;
    uint64_t schedule_seed, sample_seed, weight_seed;
    int64_t warmup_queries, warmup_ms;
    int max_batch;
    int64_t max_queue_delay_ns;
    int n_workers;
    int64_t keep_queries;
    /* from the compile config / command line */
    int threads;
    char backend[8], precision[8], compile_mode[24];
    int batch;
} zn_record_settings;

/* A histogram as its non-empty buckets plus the exact summary. */
typedef struct zn_record_hist {
    uint64_t count;
    int64_t min, max;
    double sum, sum_sq;
    int n_buckets;
    zn_hist_bucket *buckets;  /* [n_buckets] increasing (zn_malloc) */
} zn_record_hist;

typedef struct zn_record_results {
    bool present;
    int64_t query_count, sample_count, warmup_query_count, scheduled_count;
    int64_t duration_ns, last_issue_ns;
    int n_workers;
    double qps_with_overhead, qps_without_overhead;
    int64_t sut_busy_ns;
    double samples_per_second, target_qps, scheduled_qps, completed_qps;
    int64_t lat_min_ns, lat_mean_ns, lat_max_ns;
    int64_t p50_ns, p90_ns, p95_ns, p97_ns, p99_ns, p999_ns;
    int64_t target_percentile_ns, overlatency_count;
    double cv;
    int noisy;
    double harness_overhead_ns;   /* issuing + completing one query, measured before the run */
    char metric_name[48], metric_unit[16];
    double metric_value;
    int es_applicable, es_passed;
    int64_t es_latency_ns, es_queries_needed, es_discarded;
    char verdict[8];          /* "VALID" | "INVALID" */
    int interrupted;
    char stop_reason[ZN_LOADGEN_TEXT], invalid_reason[ZN_LOADGEN_TEXT];
    int n_rules;
    zn_rule_outcome rules[ZN_LOADGEN_MAX_RULES];
    int n_recommendations;
    char recommendations[ZN_LOADGEN_MAX_RECS][ZN_LOADGEN_TEXT];
    zn_record_hist latency, service, issue_lag;
    int64_t n_queries;        /* per-query records kept here (<= ZN_RECORD_MAX_QUERIES) */
    int64_t n_queries_dropped;
    zn_query_record *queries; /* (zn_malloc) */
} zn_record_results;

typedef struct zn_record_accuracy_output {
    char name[ZN_MAX_NAME];
    zn_accuracy acc;
} zn_record_accuracy_output;

typedef struct zn_record_accuracy {
    bool present;
    bool pass;                /* every output passed */
    int n_outputs;
    zn_record_accuracy_output outputs[ZN_RECORD_MAX_ACCURACY];
} zn_record_accuracy;

typedef struct zn_record {
    int schema_version;
    char tool_version[16];
    char created[32];         /* ISO 8601 UTC: "2025-01-31T12:00:00Z" */
    char run_id[48];
    char command_line[1024];
    char status[16];          /* "completed" | "interrupted" | "failed" */
    char reason[ZN_LOADGEN_TEXT];
    zn_record_model model;
    zn_record_compile compile;
    zn_system_info system;
    zn_build_info build;
    zn_record_settings settings;
    zn_record_results results;
    bool has_profile;
    zn_profile profile;
    zn_record_accuracy accuracy;
    bool has_peak;            /* --test-mode find-peak: the search; results are the confirmation run */
    zn_peak_result peak;
    /* CUDA runs: the "gpu" object, an optional addition to schema 1 (older records have none) */
    bool has_gpu;             /* device facts and NVML samples */
    zn_gpu_facts gpu;
    bool has_gpu_profile;     /* per-node / per-kernel GPU time from CUPTI ("gpu"."trace") */
    zn_gpu_profile gpu_profile;
} zn_record;

/* Zeroes the record and sets schema and tool version, creation time, a fresh run id and status
 * "completed". Does no I/O. */
void zn_record_init(zn_record *rec);
void zn_record_free(zn_record *rec);   /* frees owned arrays; the record is then zeroed */

void zn_record_fill_system(zn_record *rec);                 /* system + build info */
void zn_record_set_command_line(zn_record *rec, int argc, char **argv);
/* Model (inputs, outputs, params, FLOPs) and compile summary from the plan. source: "zoo" or
 * "onnx"; path may be NULL. Also sets settings.threads/backend/precision/compile_mode/batch. */
zn_status zn_record_fill_from_plan(zn_record *rec, const zn_plan *plan, const char *model_name,
                                   const char *source, const char *path);
/* Settings (from r->settings), every scalar result, percentiles, rules, recommendations, the
 * histograms and the latest ZN_RECORD_MAX_QUERIES query records. An interrupted result sets
 * status "interrupted" with its stop reason. */
zn_status zn_record_fill_results(zn_record *rec, const zn_test_results *r);
zn_status zn_record_fill_profile(zn_record *rec, const zn_profile *pr);
/* GPU facts (NULL: none) and the CUPTI profile (NULL: none), copied. */
zn_status zn_record_fill_gpu(zn_record *rec, const zn_gpu_facts *facts, const zn_gpu_profile *prof);
/* Adds one output's comparison (up to ZN_RECORD_MAX_ACCURACY); keeps accuracy.pass the AND. */
zn_status zn_record_add_accuracy(zn_record *rec, const char *output, const zn_accuracy *acc);
/* status "interrupted" / "failed" with the reason; results (if any) become INVALID. */
void zn_record_mark_interrupted(zn_record *rec, const char *reason);
void zn_record_mark_failed(zn_record *rec, const char *reason);

/* The verdict a report shows: "VALID", "INVALID", or "NONE" when there are no results. */
const char *zn_record_verdict(const zn_record *rec);

/* Histogram conversions (a record's histogram back into a zn_hist for percentiles). */
zn_status zn_record_hist_from_hist(zn_record_hist *out, const zn_hist *h);
zn_status zn_record_hist_to_hist(const zn_record_hist *in, zn_hist *h);

/* JSON. to_json_string returns a malloc'd string (free()) or NULL with the error set. */
char *zn_record_to_json_string(const zn_record *rec);
zn_status zn_record_from_json_string(const char *json, zn_record *rec);
zn_status zn_record_write_json(const zn_record *rec, const char *path);
/* Reads a record written by this or an older schema version; a newer version, a broken file or
 * a file that is not a run record gives ZN_ERR_MODEL_FORMAT naming the path; a missing one
 * ZN_ERR_IO. *rec is initialised either way (zn_record_free it). */
zn_status zn_record_read_json(const char *path, zn_record *rec);

/* Renderers. */
char *zn_record_to_markdown(const zn_record *rec, int top_n);   /* malloc'd; free() */
zn_status zn_record_write_markdown(const zn_record *rec, const char *path);
char *zn_record_to_mlperf_summary(const zn_record *rec);        /* malloc'd; free() */
/* Writes DIR/mlperf_log_summary.txt (DIR is created when missing). */
zn_status zn_record_write_mlperf_summary(const zn_record *rec, const char *dir);

/* Atomic write helper: "<path>.tmp.<pid>" then rename. ZN_ERR_IO naming the path and a fix. */
zn_status zn_write_file_atomic(const char *path, const char *data, size_t len);

#endif
