/* run_record.c — the run record (run_record.h): filling it from the engine's and the
 * scenario's structures, and its JSON form through cJSON.
 *
 * Flat structs travel through field tables (one entry per member, the JSON key is the member's
 * name, the type comes from _Generic), so writer and reader cannot drift apart. 64-bit
 * integers are JSON numbers while they fit a double exactly (|v| <= 2^53) and decimal strings
 * beyond (seeds); the reader takes either. Non-finite doubles are written as null.
 *
 * CUDA runs add a "gpu" object (device facts, NVML samples, the CUPTI trace) to schema 1:
 * optional, so older records read as before and older readers skip it.
 *
 * What it is not: a renderer (markdown.c, mlperf_log.c) or a comparison. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "engine/alloc.h"
#include "reports/run_record.h"

/* ---- field tables ---------------------------------------------------------------------------- */

typedef enum ftype { F_I32, F_I64, F_U64, F_DBL, F_STR, F_BOOL } ftype;

typedef struct field {
    const char *name;
    ftype type;
    size_t off, size;
} field;

#define FTYPE(x) _Generic((x), int: F_I32, int64_t: F_I64, uint64_t: F_U64, double: F_DBL, \
                          bool: F_BOOL, char *: F_STR)
#define F(S, m) {#m, FTYPE(((S *)0)->m), offsetof(S, m), sizeof(((S *)0)->m)}
#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static const field model_fields[] = {
    F(zn_record_model, name), F(zn_record_model, source), F(zn_record_model, path),
    F(zn_record_model, producer), F(zn_record_model, producer_version), F(zn_record_model, opset),
    F(zn_record_model, params), F(zn_record_model, param_bytes), F(zn_record_model, batch),
    F(zn_record_model, flops_per_run), F(zn_record_model, flops_per_sample),
};

static const field compile_fields[] = {
    F(zn_record_compile, backend), F(zn_record_compile, precision), F(zn_record_compile, mode),
    F(zn_record_compile, threads), F(zn_record_compile, nodes_before), F(zn_record_compile, nodes_after),
    F(zn_record_compile, steps), F(zn_record_compile, planned_peak_bytes), F(zn_record_compile, naive_bytes),
    F(zn_record_compile, weight_bytes), F(zn_record_compile, scratch_bytes),
    F(zn_record_compile, inplace_count), F(zn_record_compile, compile_ms), F(zn_record_compile, flops),
    F(zn_record_compile, device_steps), F(zn_record_compile, cpu_fallback_steps), F(zn_record_compile, copy_steps),
    F(zn_record_compile, device_arena_bytes), F(zn_record_compile, device_weight_bytes),
    F(zn_record_compile, cuda_graph), F(zn_record_compile, note),
};

static const field pass_fields[] = {
    F(zn_pass_report, name), F(zn_pass_report, changes), F(zn_pass_report, ms), F(zn_pass_report, detail),
};

static const field system_fields[] = {
    F(zn_system_info, hostname), F(zn_system_info, os), F(zn_system_info, kernel), F(zn_system_info, arch),
    F(zn_system_info, cpu_model), F(zn_system_info, cores_online), F(zn_system_info, cores_configured),
    F(zn_system_info, simd), F(zn_system_info, mem_total_bytes), F(zn_system_info, mem_available_bytes),
    F(zn_system_info, gpu), F(zn_system_info, driver),
};

static const field build_fields[] = {
    F(zn_build_info, version), F(zn_build_info, compiler), F(zn_build_info, flags),
    F(zn_build_info, git_commit), F(zn_build_info, backends),
};

static const field settings_fields[] = {
    F(zn_record_settings, scenario), F(zn_record_settings, test_mode),
    F(zn_record_settings, min_duration_ms), F(zn_record_settings, max_duration_ms),
    F(zn_record_settings, min_query_count), F(zn_record_settings, max_query_count),
    F(zn_record_settings, target_qps), F(zn_record_settings, target_latency_ns),
    F(zn_record_settings, target_latency_percentile), F(zn_record_settings, samples_per_query),
    F(zn_record_settings, total_sample_count), F(zn_record_settings, performance_sample_count),
    F(zn_record_settings, schedule_seed), F(zn_record_settings, sample_seed), F(zn_record_settings, weight_seed),
    F(zn_record_settings, warmup_queries), F(zn_record_settings, warmup_ms), F(zn_record_settings, max_batch),
    F(zn_record_settings, max_queue_delay_ns), F(zn_record_settings, n_workers),
    F(zn_record_settings, keep_queries), F(zn_record_settings, threads), F(zn_record_settings, backend),
    F(zn_record_settings, precision), F(zn_record_settings, compile_mode), F(zn_record_settings, batch),
};

static const field results_fields[] = {
    F(zn_record_results, query_count), F(zn_record_results, sample_count),
    F(zn_record_results, warmup_query_count), F(zn_record_results, scheduled_count),
    F(zn_record_results, duration_ns), F(zn_record_results, last_issue_ns), F(zn_record_results, n_workers),
    F(zn_record_results, qps_with_overhead), F(zn_record_results, qps_without_overhead),
    F(zn_record_results, sut_busy_ns), F(zn_record_results, samples_per_second),
    F(zn_record_results, target_qps), F(zn_record_results, scheduled_qps), F(zn_record_results, completed_qps),
    F(zn_record_results, lat_min_ns), F(zn_record_results, lat_mean_ns), F(zn_record_results, lat_max_ns),
    F(zn_record_results, p50_ns), F(zn_record_results, p90_ns), F(zn_record_results, p95_ns),
    F(zn_record_results, p97_ns), F(zn_record_results, p99_ns), F(zn_record_results, p999_ns),
    F(zn_record_results, target_percentile_ns), F(zn_record_results, overlatency_count),
    F(zn_record_results, cv), F(zn_record_results, noisy), F(zn_record_results, harness_overhead_ns),
    F(zn_record_results, metric_name),
    F(zn_record_results, metric_unit), F(zn_record_results, metric_value),
    F(zn_record_results, es_applicable), F(zn_record_results, es_passed), F(zn_record_results, es_latency_ns),
    F(zn_record_results, es_queries_needed), F(zn_record_results, es_discarded),
    F(zn_record_results, verdict), F(zn_record_results, interrupted), F(zn_record_results, stop_reason),
    F(zn_record_results, invalid_reason), F(zn_record_results, n_queries_dropped),
};

static const field rule_fields[] = {
    F(zn_rule_outcome, name), F(zn_rule_outcome, passed), F(zn_rule_outcome, detail),
};

static const field node_fields[] = {
    F(zn_profile_node, name), F(zn_profile_node, op), F(zn_profile_node, kernel), F(zn_profile_node, count),
    F(zn_profile_node, total_ns), F(zn_profile_node, min_ns), F(zn_profile_node, max_ns),
    F(zn_profile_node, mean_ns), F(zn_profile_node, share),
};

static const field op_fields[] = {
    F(zn_profile_op, op), F(zn_profile_op, nodes), F(zn_profile_op, count), F(zn_profile_op, total_ns),
    F(zn_profile_op, mean_ns), F(zn_profile_op, share),
};

static const field accuracy_fields[] = {
    F(zn_accuracy, count), F(zn_accuracy, max_abs_err), F(zn_accuracy, max_rel_err), F(zn_accuracy, cosine),
    F(zn_accuracy, mismatches), F(zn_accuracy, worst_index), F(zn_accuracy, nan_mismatch),
    F(zn_accuracy, has_top1), F(zn_accuracy, top1_rows), F(zn_accuracy, top1_agree), F(zn_accuracy, pass),
};

static const field peak_fields[] = {
    F(zn_peak_result, found), F(zn_peak_result, converged), F(zn_peak_result, peak_qps),
    F(zn_peak_result, lo_qps), F(zn_peak_result, hi_qps), F(zn_peak_result, precision),
    F(zn_peak_result, note),
};

static const field peak_point_fields[] = {
    F(zn_peak_point, qps), F(zn_peak_point, achieved_qps), F(zn_peak_point, latency_ns),
    F(zn_peak_point, bound_ns), F(zn_peak_point, percentile), F(zn_peak_point, valid),
    F(zn_peak_point, reason),
};

static const field gpu_facts_fields[] = {
    F(zn_gpu_facts, ordinal), F(zn_gpu_facts, name), F(zn_gpu_facts, pci_bus_id), F(zn_gpu_facts, cc_major),
    F(zn_gpu_facts, cc_minor), F(zn_gpu_facts, sm_count), F(zn_gpu_facts, total_bytes), F(zn_gpu_facts, l2_bytes),
    F(zn_gpu_facts, mem_bus_bits), F(zn_gpu_facts, sm_clock_mhz), F(zn_gpu_facts, mem_clock_mhz),
    F(zn_gpu_facts, driver_version), F(zn_gpu_facts, runtime_version), F(zn_gpu_facts, cupti), F(zn_gpu_facts, nvml),
    F(zn_gpu_facts, nvml_note), F(zn_gpu_facts, nvml_driver), F(zn_gpu_facts, sm_clock_max_mhz),
    F(zn_gpu_facts, mem_clock_max_mhz), F(zn_gpu_facts, power_limit_w), F(zn_gpu_facts, samples),
    F(zn_gpu_facts, sample_hz), F(zn_gpu_facts, sm_mhz_min), F(zn_gpu_facts, sm_mhz_max), F(zn_gpu_facts, sm_mhz_mean),
    F(zn_gpu_facts, mem_mhz_min), F(zn_gpu_facts, mem_mhz_max), F(zn_gpu_facts, temp_c_min), F(zn_gpu_facts, temp_c_max),
    F(zn_gpu_facts, power_w_mean), F(zn_gpu_facts, power_w_max), F(zn_gpu_facts, reasons),
    F(zn_gpu_facts, reasons_text), F(zn_gpu_facts, unstable), F(zn_gpu_facts, warning),
};

static const field gpu_prof_fields[] = {
    F(zn_gpu_profile, runs), F(zn_gpu_profile, window_ns), F(zn_gpu_profile, kernel_count),
    F(zn_gpu_profile, memcpy_count), F(zn_gpu_profile, memset_count), F(zn_gpu_profile, kernel_ns),
    F(zn_gpu_profile, memcpy_ns), F(zn_gpu_profile, memset_ns), F(zn_gpu_profile, h2d_bytes),
    F(zn_gpu_profile, d2h_bytes), F(zn_gpu_profile, h2d_ns), F(zn_gpu_profile, d2h_ns),
    F(zn_gpu_profile, graph_records), F(zn_gpu_profile, attributed), F(zn_gpu_profile, run_level),
    F(zn_gpu_profile, unattributed), F(zn_gpu_profile, stale), F(zn_gpu_profile, late), F(zn_gpu_profile, dropped),
    F(zn_gpu_profile, api_records), F(zn_gpu_profile, node_total_ns), F(zn_gpu_profile, kernel_total_ns),
    F(zn_gpu_profile, other_kernels), F(zn_gpu_profile, other_kernel_ns),
};

static const field gpu_stat_fields[] = {
    F(zn_gpu_stat, count), F(zn_gpu_stat, min), F(zn_gpu_stat, max), F(zn_gpu_stat, mean),
    F(zn_gpu_stat, p50), F(zn_gpu_stat, p90), F(zn_gpu_stat, p99),
};

static const field gpu_node_fields[] = {
    F(zn_gpu_node, name), F(zn_gpu_node, op), F(zn_gpu_node, kernel), F(zn_gpu_node, count),
    F(zn_gpu_node, total_ns), F(zn_gpu_node, per_run_ns), F(zn_gpu_node, share),
};

/* grid, block and cluster are [x, y, z] arrays, written and read by hand */
static const field gpu_kernel_fields[] = {
    F(zn_gpu_kernel, name), F(zn_gpu_kernel, node), F(zn_gpu_kernel, regs), F(zn_gpu_kernel, smem_static),
    F(zn_gpu_kernel, smem_dynamic), F(zn_gpu_kernel, count), F(zn_gpu_kernel, total_ns), F(zn_gpu_kernel, min_ns),
    F(zn_gpu_kernel, max_ns), F(zn_gpu_kernel, mean_ns), F(zn_gpu_kernel, share),
};

#define SAFE_INT 9007199254740992.0 /* 2^53 */

static void put_i64(cJSON *o, const char *k, int64_t v) {
    if (v >= -(int64_t)SAFE_INT && v <= (int64_t)SAFE_INT) {
        cJSON_AddNumberToObject(o, k, (double)v);
    } else {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)v);
        cJSON_AddStringToObject(o, k, b);
    }
}

static void put_u64(cJSON *o, const char *k, uint64_t v) {
    if (v <= (uint64_t)SAFE_INT) {
        cJSON_AddNumberToObject(o, k, (double)v);
    } else {
        char b[32];
        snprintf(b, sizeof b, "%llu", (unsigned long long)v);
        cJSON_AddStringToObject(o, k, b);
    }
}

/* Shortest of %.15g/%.16g/%.17g that reads back to the same double (cJSON's own printer stops
 * at "within an epsilon", which loses the last bit). */
static void put_dbl(cJSON *o, const char *k, double v) {
    if (!isfinite(v)) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    char b[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, sizeof b, "%.*g", prec, v);
        if (strtod(b, NULL) == v) break;
    }
    cJSON_AddRawToObject(o, k, b);
}

static int64_t json_i64(const cJSON *j) {
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (!(d == d)) return 0;
        if (d >= 9.2e18) return INT64_MAX;
        if (d <= -9.2e18) return INT64_MIN;
        return (int64_t)d;
    }
    if (cJSON_IsString(j)) return strtoll(j->valuestring, NULL, 10);
    if (cJSON_IsBool(j)) return cJSON_IsTrue(j);
    return 0;
}

static uint64_t json_u64(const cJSON *j) {
    if (cJSON_IsNumber(j)) return j->valuedouble <= 0 ? 0 : j->valuedouble >= 1.8e19 ? UINT64_MAX : (uint64_t)j->valuedouble;
    if (cJSON_IsString(j)) return strtoull(j->valuestring, NULL, 10);
    return 0;
}

static double json_dbl(const cJSON *j) {
    if (cJSON_IsNumber(j)) return j->valuedouble;
    if (cJSON_IsString(j)) return strtod(j->valuestring, NULL);
    return NAN; /* null: written for a non-finite value */
}

static void put_fields(cJSON *o, const void *base, const field *f, int n) {
    const char *b = base;
    for (int i = 0; i < n; i++) {
        const void *p = b + f[i].off;
        switch (f[i].type) {
        case F_I32: cJSON_AddNumberToObject(o, f[i].name, *(const int *)p); break;
        case F_I64: put_i64(o, f[i].name, *(const int64_t *)p); break;
        case F_U64: put_u64(o, f[i].name, *(const uint64_t *)p); break;
        case F_DBL: put_dbl(o, f[i].name, *(const double *)p); break;
        case F_BOOL: cJSON_AddBoolToObject(o, f[i].name, *(const bool *)p); break;
        case F_STR: cJSON_AddStringToObject(o, f[i].name, (const char *)p); break;
        }
    }
}

static void get_fields(const cJSON *o, void *base, const field *f, int n) {
    char *b = base;
    for (int i = 0; i < n; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, f[i].name);
        if (!j) continue; /* absent: older writer; stays zero */
        void *p = b + f[i].off;
        switch (f[i].type) {
        case F_I32: *(int *)p = (int)json_i64(j); break;
        case F_I64: *(int64_t *)p = json_i64(j); break;
        case F_U64: *(uint64_t *)p = json_u64(j); break;
        case F_DBL: *(double *)p = json_dbl(j); break;
        case F_BOOL: *(bool *)p = cJSON_IsTrue(j) || (cJSON_IsNumber(j) && j->valuedouble != 0); break;
        case F_STR:
            if (cJSON_IsString(j)) snprintf((char *)p, f[i].size, "%s", j->valuestring);
            break;
        }
    }
}

/* ---- lifecycle and filling ------------------------------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

void zn_record_init(zn_record *rec) {
    memset(rec, 0, sizeof *rec);
    rec->schema_version = ZN_RECORD_SCHEMA_VERSION;
    copy_str(rec->tool_version, sizeof rec->tool_version, ZN_TOOL_VERSION);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(rec->created, sizeof rec->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char stamp[24];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned tag = (unsigned)(ts.tv_nsec ^ ((long)getpid() << 12)) & 0xffffffu;
    snprintf(rec->run_id, sizeof rec->run_id, "%s-%06x", stamp, tag);
    copy_str(rec->status, sizeof rec->status, "completed");
}

static void hist_free(zn_record_hist *h) {
    zn_free(h->buckets);
    memset(h, 0, sizeof *h);
}

void zn_record_free(zn_record *rec) {
    if (!rec) return;
    hist_free(&rec->results.latency);
    hist_free(&rec->results.service);
    hist_free(&rec->results.issue_lag);
    zn_free(rec->results.queries);
    zn_profile_free(&rec->profile);
    zn_gpu_profile_free(&rec->gpu_profile);
    memset(rec, 0, sizeof *rec);
}

void zn_record_fill_system(zn_record *rec) {
    zn_system_info_collect(&rec->system);
    zn_build_info_collect(&rec->build);
}

void zn_record_set_command_line(zn_record *rec, int argc, char **argv) {
    size_t at = 0;
    rec->command_line[0] = 0;
    for (int i = 0; i < argc && at + 1 < sizeof rec->command_line; i++) {
        const char *a = argv[i];
        bool quote = strpbrk(a, " \t\"'$") != NULL || !*a;
        int w = snprintf(rec->command_line + at, sizeof rec->command_line - at, quote ? "%s'%s'" : "%s%s",
                         i ? " " : "", a);
        if (w < 0) break;
        at += (size_t)w;
    }
}

static void io_tensor(zn_record_tensor *t, zn_io_info io) {
    copy_str(t->name, sizeof t->name, io.name);
    copy_str(t->dtype, sizeof t->dtype, zn_dtype_name(io.dtype));
    t->rank = io.rank < 0 ? 0 : io.rank > ZN_MAX_RANK ? ZN_MAX_RANK : io.rank;
    for (int d = 0; d < t->rank; d++) t->dims[d] = io.dims[d];
}

zn_status zn_record_fill_from_plan(zn_record *rec, const zn_plan *plan, const char *model_name,
                                   const char *source, const char *path) {
    if (!plan) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "run record: no plan to describe");
    zn_record_model *m = &rec->model;
    const zn_graph *g = zn_plan_graph(plan);
    copy_str(m->name, sizeof m->name, model_name ? model_name : zn_graph_name(g));
    copy_str(m->source, sizeof m->source, source ? source : "zoo");
    copy_str(m->path, sizeof m->path, path);
    const zn_model_meta *meta = zn_graph_meta_const(g);
    if (meta) {
        copy_str(m->producer, sizeof m->producer, meta->producer);
        copy_str(m->producer_version, sizeof m->producer_version, meta->producer_version);
        m->opset = meta->opset;
    }
    m->n_inputs = zn_plan_num_inputs(plan);
    if (m->n_inputs > ZN_RECORD_MAX_IO) m->n_inputs = ZN_RECORD_MAX_IO;
    for (int i = 0; i < m->n_inputs; i++) io_tensor(&m->inputs[i], zn_plan_input(plan, i));
    m->n_outputs = zn_plan_num_outputs(plan);
    if (m->n_outputs > ZN_RECORD_MAX_IO) m->n_outputs = ZN_RECORD_MAX_IO;
    for (int i = 0; i < m->n_outputs; i++) io_tensor(&m->outputs[i], zn_plan_output(plan, i));
    zn_graph_stats stats;
    if (zn_graph_get_stats(g, &stats) == ZN_OK) {
        m->params = stats.params;
        m->param_bytes = stats.param_bytes;
    }
    const zn_compile_summary *s = zn_plan_summary(plan);
    m->batch = m->n_inputs > 0 && m->inputs[0].rank > 0 && m->inputs[0].dims[0] > 0 ? (int)m->inputs[0].dims[0] : 1;
    m->flops_per_run = s->flops;
    m->flops_per_sample = s->flops / m->batch;

    zn_record_compile *c = &rec->compile;
    copy_str(c->backend, sizeof c->backend, zn_backend_name(s->backend));
    copy_str(c->precision, sizeof c->precision, zn_precision_name(s->precision));
    copy_str(c->mode, sizeof c->mode, zn_mode_name(s->mode));
    c->threads = s->threads;
    c->nodes_before = s->nodes_before;
    c->nodes_after = s->nodes_after;
    c->steps = zn_plan_num_steps(plan);
    c->n_passes = s->n_passes < ZN_MAX_PASSES ? s->n_passes : ZN_MAX_PASSES;
    memcpy(c->passes, s->passes, sizeof c->passes);
    c->n_fusions = 0;
    for (int op = 0; op < ZN_OP_COUNT && c->n_fusions < N(c->fusions); op++)
        if (s->fusions_by_op[op] > 0) {
            copy_str(c->fusions[c->n_fusions].op, sizeof c->fusions[0].op, zn_op_name((zn_op)op));
            c->fusions[c->n_fusions++].count = s->fusions_by_op[op];
        }
    c->planned_peak_bytes = (int64_t)s->planned_peak_bytes;
    c->naive_bytes = (int64_t)s->naive_bytes;
    c->weight_bytes = (int64_t)s->weight_bytes;
    c->scratch_bytes = (int64_t)s->scratch_bytes;
    c->inplace_count = s->inplace_count;
    c->compile_ms = s->compile_ms;
    c->flops = s->flops;
    c->device_steps = s->device_steps;
    c->cpu_fallback_steps = s->cpu_fallback_steps;
    c->copy_steps = s->copy_steps;
    c->device_arena_bytes = (int64_t)s->device_arena_bytes;
    c->device_weight_bytes = (int64_t)s->device_weight_bytes;
    c->cuda_graph = s->cuda_graph;
    copy_str(c->note, sizeof c->note, s->note);

    zn_record_settings *st = &rec->settings;
    st->threads = s->threads;
    copy_str(st->backend, sizeof st->backend, c->backend);
    copy_str(st->precision, sizeof st->precision, c->precision);
    copy_str(st->compile_mode, sizeof st->compile_mode, c->mode);
    st->batch = m->batch;
    return ZN_OK;
}

zn_status zn_record_hist_from_hist(zn_record_hist *out, const zn_hist *h) {
    memset(out, 0, sizeof *out);
    zn_hist_compact c;
    zn_status st = zn_hist_export(h, &c);
    if (st != ZN_OK) return st;
    if (c.n > 0) {
        out->buckets = zn_calloc((size_t)c.n, sizeof *out->buckets);
        if (!out->buckets) {
            zn_hist_compact_free(&c);
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "run record: no memory for %d histogram buckets", c.n);
        }
    }
    for (int k = 0; k < c.n; k++) {
        zn_hist_bucket *b = &out->buckets[k];
        b->index = c.index[k];
        b->count = c.counts[k];
        zn_hist_bucket_bounds(b->index, &b->lo, &b->hi);
    }
    out->n_buckets = c.n;
    out->count = c.count;
    out->min = c.min;
    out->max = c.max;
    out->sum = c.sum;
    out->sum_sq = c.sum_sq;
    zn_hist_compact_free(&c);
    return ZN_OK;
}

zn_status zn_record_hist_to_hist(const zn_record_hist *in, zn_hist *h) {
    zn_hist_compact c;
    memset(&c, 0, sizeof c);
    c.n = in->n_buckets;
    if (c.n > 0) {
        c.index = zn_malloc((size_t)c.n * sizeof *c.index);
        c.counts = zn_malloc((size_t)c.n * sizeof *c.counts);
        if (!c.index || !c.counts) {
            zn_hist_compact_free(&c);
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "run record: no memory for %d histogram buckets", c.n);
        }
    }
    for (int k = 0; k < c.n; k++) {
        c.index[k] = in->buckets[k].index;
        c.counts[k] = in->buckets[k].count;
    }
    c.count = in->count;
    c.min = in->min;
    c.max = in->max;
    c.sum = in->sum;
    c.sum_sq = in->sum_sq;
    c.sub_bits = ZN_HIST_SUB_BITS;
    zn_status st = zn_hist_import(h, &c);
    zn_hist_compact_free(&c);
    return st;
}

zn_status zn_record_fill_results(zn_record *rec, const zn_test_results *r) {
    const zn_test_settings *s = &r->settings;
    zn_record_settings *st = &rec->settings;
    copy_str(st->scenario, sizeof st->scenario, zn_scenario_name(s->scenario));
    copy_str(st->test_mode, sizeof st->test_mode, zn_test_mode_name(s->mode));
    st->min_duration_ms = s->min_duration_ms;
    st->max_duration_ms = s->max_duration_ms;
    st->min_query_count = s->min_query_count;
    st->max_query_count = s->max_query_count;
    st->target_qps = s->target_qps;
    st->target_latency_ns = s->target_latency_ns;
    st->target_latency_percentile = s->target_latency_percentile;
    st->samples_per_query = s->samples_per_query;
    st->total_sample_count = s->total_sample_count;
    st->performance_sample_count = s->performance_sample_count;
    st->schedule_seed = s->schedule_seed;
    st->sample_seed = s->sample_seed;
    st->warmup_queries = s->warmup_queries;
    st->warmup_ms = s->warmup_ms;
    st->max_batch = s->max_batch;
    st->max_queue_delay_ns = s->max_queue_delay_ns;
    st->n_workers = s->n_workers;
    st->keep_queries = s->keep_queries;

    zn_record_results *o = &rec->results;
    hist_free(&o->latency);
    hist_free(&o->service);
    hist_free(&o->issue_lag);
    zn_free(o->queries);
    memset(o, 0, sizeof *o);
    o->present = true;
    o->query_count = r->query_count;
    o->sample_count = r->sample_count;
    o->warmup_query_count = r->warmup_query_count;
    o->scheduled_count = r->scheduled_count;
    o->duration_ns = r->duration_ns;
    o->last_issue_ns = r->last_issue_ns;
    o->n_workers = r->n_workers;
    o->qps_with_overhead = r->qps_with_overhead;
    o->qps_without_overhead = r->qps_without_overhead;
    o->sut_busy_ns = r->sut_busy_ns;
    o->samples_per_second = r->samples_per_second;
    o->target_qps = r->target_qps;
    o->scheduled_qps = r->scheduled_qps;
    o->completed_qps = r->completed_qps;
    o->lat_min_ns = r->lat_min_ns;
    o->lat_mean_ns = r->lat_mean_ns;
    o->lat_max_ns = r->lat_max_ns;
    o->p50_ns = r->p50_ns;
    o->p90_ns = r->p90_ns;
    o->p95_ns = r->p95_ns;
    o->p97_ns = r->p97_ns;
    o->p99_ns = r->p99_ns;
    o->p999_ns = r->p999_ns;
    o->target_percentile_ns = r->target_percentile_ns;
    o->overlatency_count = r->overlatency_count;
    o->cv = r->cv;
    o->noisy = r->noisy;
    copy_str(o->metric_name, sizeof o->metric_name, r->metric_name);
    copy_str(o->metric_unit, sizeof o->metric_unit, r->metric_unit);
    o->metric_value = r->metric_value;
    o->es_applicable = r->es_applicable;
    o->es_passed = r->es_passed;
    o->es_latency_ns = r->es_latency_ns;
    o->es_queries_needed = r->es_queries_needed;
    o->es_discarded = r->es_discarded;
    copy_str(o->verdict, sizeof o->verdict, r->verdict == ZN_VERDICT_VALID ? "VALID" : "INVALID");
    o->interrupted = r->interrupted;
    copy_str(o->stop_reason, sizeof o->stop_reason, r->stop_reason);
    copy_str(o->invalid_reason, sizeof o->invalid_reason, r->invalid_reason);
    o->n_rules = r->n_rules < 0 ? 0 : r->n_rules > ZN_LOADGEN_MAX_RULES ? ZN_LOADGEN_MAX_RULES : r->n_rules;
    memcpy(o->rules, r->rules, sizeof o->rules);
    o->n_recommendations = r->n_recommendations < 0 ? 0
                           : r->n_recommendations > ZN_LOADGEN_MAX_RECS ? ZN_LOADGEN_MAX_RECS
                                                                        : r->n_recommendations;
    memcpy(o->recommendations, r->recommendations, sizeof o->recommendations);

    zn_status err;
    if ((err = zn_record_hist_from_hist(&o->latency, &r->latency)) != ZN_OK) return err;
    if ((err = zn_record_hist_from_hist(&o->service, &r->service)) != ZN_OK) return err;
    if ((err = zn_record_hist_from_hist(&o->issue_lag, &r->issue_lag)) != ZN_OK) return err;

    int64_t kept = r->queries ? r->n_queries_kept : 0;
    int64_t keep = kept < ZN_RECORD_MAX_QUERIES ? kept : ZN_RECORD_MAX_QUERIES;
    o->n_queries_dropped = r->n_queries_dropped + (kept - keep);
    if (keep > 0) {
        o->queries = zn_malloc((size_t)keep * sizeof *o->queries);
        if (!o->queries)
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "run record: no memory for %lld query records", (long long)keep);
        memcpy(o->queries, r->queries + (kept - keep), (size_t)keep * sizeof *o->queries);
    }
    o->n_queries = keep;

    if (r->interrupted) {
        copy_str(rec->status, sizeof rec->status, "interrupted");
        copy_str(rec->reason, sizeof rec->reason, r->stop_reason[0] ? r->stop_reason : "stopped early");
    }
    return ZN_OK;
}

zn_status zn_record_fill_profile(zn_record *rec, const zn_profile *pr) {
    zn_profile_free(&rec->profile);
    rec->has_profile = false;
    if (!pr) return ZN_OK;
    zn_status st = zn_profile_copy(&rec->profile, pr);
    if (st == ZN_OK) rec->has_profile = true;
    return st;
}

zn_status zn_record_fill_gpu(zn_record *rec, const zn_gpu_facts *facts, const zn_gpu_profile *prof) {
    rec->has_gpu = facts != NULL;
    if (facts) rec->gpu = *facts;
    else memset(&rec->gpu, 0, sizeof rec->gpu);
    zn_gpu_profile_free(&rec->gpu_profile);
    rec->has_gpu_profile = false;
    if (!prof) return ZN_OK;
    zn_status st = zn_gpu_profile_copy(&rec->gpu_profile, prof);
    if (st == ZN_OK) rec->has_gpu_profile = true;
    return st;
}

zn_status zn_record_add_accuracy(zn_record *rec, const char *output, const zn_accuracy *acc) {
    zn_record_accuracy *a = &rec->accuracy;
    if (a->n_outputs >= ZN_RECORD_MAX_ACCURACY)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "run record: at most %d outputs' accuracy are kept",
                            ZN_RECORD_MAX_ACCURACY);
    if (!a->present) {
        a->present = true;
        a->pass = true;
    }
    zn_record_accuracy_output *o = &a->outputs[a->n_outputs++];
    copy_str(o->name, sizeof o->name, output);
    o->acc = *acc;
    a->pass = a->pass && acc->pass;
    return ZN_OK;
}

static void mark(zn_record *rec, const char *status, const char *reason) {
    copy_str(rec->status, sizeof rec->status, status);
    copy_str(rec->reason, sizeof rec->reason, reason);
    if (rec->results.present) {
        copy_str(rec->results.verdict, sizeof rec->results.verdict, "INVALID");
        if (!rec->results.invalid_reason[0])
            copy_str(rec->results.invalid_reason, sizeof rec->results.invalid_reason, reason);
    }
}

void zn_record_mark_interrupted(zn_record *rec, const char *reason) {
    mark(rec, "interrupted", reason && *reason ? reason : "interrupted");
    rec->results.interrupted = 1;
}

void zn_record_mark_failed(zn_record *rec, const char *reason) { mark(rec, "failed", reason && *reason ? reason : "failed"); }

const char *zn_record_verdict(const zn_record *rec) {
    if (strcmp(rec->status, "completed") != 0) return "INVALID";
    if (!rec->results.present) return "NONE";
    return strcmp(rec->results.verdict, "VALID") == 0 ? "VALID" : "INVALID";
}

/* ---- JSON: write ------------------------------------------------------------------------------ */

static cJSON *tensor_json(const zn_record_tensor *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", t->dtype);
    cJSON *dims = cJSON_AddArrayToObject(o, "dims");
    for (int d = 0; d < t->rank; d++) cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)t->dims[d]));
    return o;
}

static cJSON *hist_json(const zn_record_hist *h) {
    cJSON *o = cJSON_CreateObject();
    put_u64(o, "count", h->count);
    put_i64(o, "min", h->min);
    put_i64(o, "max", h->max);
    put_dbl(o, "sum", h->sum);
    put_dbl(o, "sum_sq", h->sum_sq);
    cJSON_AddNumberToObject(o, "sub_bits", ZN_HIST_SUB_BITS);
    /* [lower_ns, upper_ns, count]: values v with lower <= v < upper */
    cJSON *b = cJSON_AddArrayToObject(o, "buckets");
    for (int k = 0; k < h->n_buckets; k++) {
        char row[96];
        snprintf(row, sizeof row, "[%lld,%lld,%llu]", (long long)h->buckets[k].lo, (long long)h->buckets[k].hi,
                 (unsigned long long)h->buckets[k].count);
        cJSON_AddItemToArray(b, cJSON_CreateRaw(row));
    }
    return o;
}

static void put_int3(cJSON *o, const char *k, const int *v) {
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
}

/* "gpu": {"device": {facts}, "trace": {profile}}; either may be absent. */
static void gpu_json(cJSON *g, const zn_record *rec) {
    if (rec->has_gpu) put_fields(cJSON_AddObjectToObject(g, "device"), &rec->gpu, gpu_facts_fields, N(gpu_facts_fields));
    if (!rec->has_gpu_profile) return;
    const zn_gpu_profile *p = &rec->gpu_profile;
    cJSON *t = cJSON_AddObjectToObject(g, "trace");
    put_fields(t, p, gpu_prof_fields, N(gpu_prof_fields));
    put_fields(cJSON_AddObjectToObject(t, "h2d"), &p->h2d, gpu_stat_fields, N(gpu_stat_fields));
    put_fields(cJSON_AddObjectToObject(t, "compute"), &p->compute, gpu_stat_fields, N(gpu_stat_fields));
    put_fields(cJSON_AddObjectToObject(t, "d2h"), &p->d2h, gpu_stat_fields, N(gpu_stat_fields));
    put_fields(cJSON_AddObjectToObject(t, "busy"), &p->busy, gpu_stat_fields, N(gpu_stat_fields));
    cJSON *nodes = cJSON_AddArrayToObject(t, "nodes");
    for (int i = 0; i < p->n_nodes; i++) {
        cJSON *x = cJSON_CreateObject();
        put_fields(x, &p->nodes[i], gpu_node_fields, N(gpu_node_fields));
        cJSON_AddItemToArray(nodes, x);
    }
    cJSON *kernels = cJSON_AddArrayToObject(t, "kernels");
    for (int i = 0; i < p->n_kernels; i++) {
        const zn_gpu_kernel *k = &p->kernels[i];
        cJSON *x = cJSON_CreateObject();
        put_fields(x, k, gpu_kernel_fields, N(gpu_kernel_fields));
        put_int3(x, "grid", k->grid);
        put_int3(x, "block", k->block);
        put_int3(x, "cluster", k->cluster);
        cJSON_AddItemToArray(kernels, x);
    }
}

static cJSON *record_json(const zn_record *rec) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddNumberToObject(root, "schema_version", rec->schema_version);
    cJSON_AddStringToObject(root, "tool", "zenith-bench");
    cJSON_AddStringToObject(root, "tool_version", rec->tool_version);
    cJSON_AddStringToObject(root, "created", rec->created);
    cJSON_AddStringToObject(root, "run_id", rec->run_id);
    cJSON_AddStringToObject(root, "command_line", rec->command_line);
    cJSON_AddStringToObject(root, "status", rec->status);
    cJSON_AddStringToObject(root, "reason", rec->reason);
    cJSON_AddStringToObject(root, "verdict", zn_record_verdict(rec));

    cJSON *m = cJSON_AddObjectToObject(root, "model");
    put_fields(m, &rec->model, model_fields, N(model_fields));
    cJSON *ins = cJSON_AddArrayToObject(m, "inputs");
    for (int i = 0; i < rec->model.n_inputs; i++) cJSON_AddItemToArray(ins, tensor_json(&rec->model.inputs[i]));
    cJSON *outs = cJSON_AddArrayToObject(m, "outputs");
    for (int i = 0; i < rec->model.n_outputs; i++) cJSON_AddItemToArray(outs, tensor_json(&rec->model.outputs[i]));

    cJSON *c = cJSON_AddObjectToObject(root, "compile");
    put_fields(c, &rec->compile, compile_fields, N(compile_fields));
    cJSON *passes = cJSON_AddArrayToObject(c, "passes");
    for (int i = 0; i < rec->compile.n_passes; i++) {
        cJSON *p = cJSON_CreateObject();
        put_fields(p, &rec->compile.passes[i], pass_fields, N(pass_fields));
        cJSON_AddItemToArray(passes, p);
    }
    cJSON *fus = cJSON_AddArrayToObject(c, "fusions");
    for (int i = 0; i < rec->compile.n_fusions; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "op", rec->compile.fusions[i].op);
        cJSON_AddNumberToObject(p, "count", rec->compile.fusions[i].count);
        cJSON_AddItemToArray(fus, p);
    }

    put_fields(cJSON_AddObjectToObject(root, "system"), &rec->system, system_fields, N(system_fields));
    put_fields(cJSON_AddObjectToObject(root, "build"), &rec->build, build_fields, N(build_fields));
    put_fields(cJSON_AddObjectToObject(root, "settings"), &rec->settings, settings_fields, N(settings_fields));

    if (rec->results.present) {
        const zn_record_results *r = &rec->results;
        cJSON *o = cJSON_AddObjectToObject(root, "results");
        put_fields(o, r, results_fields, N(results_fields));
        cJSON *rules = cJSON_AddArrayToObject(o, "rules");
        for (int i = 0; i < r->n_rules; i++) {
            cJSON *p = cJSON_CreateObject();
            put_fields(p, &r->rules[i], rule_fields, N(rule_fields));
            cJSON_AddItemToArray(rules, p);
        }
        cJSON *recs = cJSON_AddArrayToObject(o, "recommendations");
        for (int i = 0; i < r->n_recommendations; i++)
            cJSON_AddItemToArray(recs, cJSON_CreateString(r->recommendations[i]));
        cJSON_AddItemToObject(o, "latency", hist_json(&r->latency));
        cJSON_AddItemToObject(o, "service", hist_json(&r->service));
        cJSON_AddItemToObject(o, "issue_lag", hist_json(&r->issue_lag));
        cJSON *q = cJSON_AddObjectToObject(o, "queries");
        cJSON *fields = cJSON_AddArrayToObject(q, "fields");
        static const char *const qf[] = {"issue_ns", "start_ns", "latency_ns", "samples", "worker"};
        for (int i = 0; i < N(qf); i++) cJSON_AddItemToArray(fields, cJSON_CreateString(qf[i]));
        cJSON *rows = cJSON_AddArrayToObject(q, "rows");
        for (int64_t i = 0; i < r->n_queries; i++) {
            const zn_query_record *x = &r->queries[i];
            char row[128];
            snprintf(row, sizeof row, "[%lld,%lld,%lld,%d,%d]", (long long)x->issue_ns, (long long)x->start_ns,
                     (long long)x->latency_ns, (int)x->n_samples, (int)x->worker);
            cJSON_AddItemToArray(rows, cJSON_CreateRaw(row));
        }
    } else {
        cJSON_AddNullToObject(root, "results");
    }

    if (rec->has_profile) {
        const zn_profile *pr = &rec->profile;
        cJSON *p = cJSON_AddObjectToObject(root, "profile");
        put_i64(p, "runs", pr->runs);
        put_i64(p, "run_ns", pr->run_ns);
        put_i64(p, "total_ns", pr->total_ns);
        cJSON *nodes = cJSON_AddArrayToObject(p, "nodes");
        for (int i = 0; i < pr->n_nodes; i++) {
            cJSON *x = cJSON_CreateObject();
            put_fields(x, &pr->nodes[i], node_fields, N(node_fields));
            cJSON_AddItemToArray(nodes, x);
        }
        cJSON *ops = cJSON_AddArrayToObject(p, "ops");
        for (int i = 0; i < pr->n_ops; i++) {
            cJSON *x = cJSON_CreateObject();
            put_fields(x, &pr->ops[i], op_fields, N(op_fields));
            cJSON_AddItemToArray(ops, x);
        }
    } else {
        cJSON_AddNullToObject(root, "profile");
    }

    if (rec->accuracy.present) {
        cJSON *a = cJSON_AddObjectToObject(root, "accuracy");
        cJSON_AddBoolToObject(a, "pass", rec->accuracy.pass);
        cJSON *outs2 = cJSON_AddArrayToObject(a, "outputs");
        for (int i = 0; i < rec->accuracy.n_outputs; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", rec->accuracy.outputs[i].name);
            put_fields(x, &rec->accuracy.outputs[i].acc, accuracy_fields, N(accuracy_fields));
            cJSON_AddItemToArray(outs2, x);
        }
    } else {
        cJSON_AddNullToObject(root, "accuracy");
    }

    if (rec->has_peak) {
        cJSON *pk = cJSON_AddObjectToObject(root, "peak");
        put_fields(pk, &rec->peak, peak_fields, N(peak_fields));
        cJSON *pts = cJSON_AddArrayToObject(pk, "points");
        for (int i = 0; i < rec->peak.n_points && i < ZN_PEAK_MAX_POINTS; i++) {
            cJSON *x = cJSON_CreateObject();
            put_fields(x, &rec->peak.points[i], peak_point_fields, N(peak_point_fields));
            cJSON_AddItemToArray(pts, x);
        }
    }
    if (rec->has_gpu || rec->has_gpu_profile) gpu_json(cJSON_AddObjectToObject(root, "gpu"), rec);
    return root;
}

char *zn_record_to_json_string(const zn_record *rec) {
    cJSON *root = record_json(rec);
    char *s = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!s) zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory serialising the run record");
    return s;
}

zn_status zn_write_file_atomic(const char *path, const char *data, size_t len) {
    if (!path || !*path) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "no output path given");
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return zn_error_set(ZN_ERR_IO, "cannot write '%s': the path is too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        zn_error_set(ZN_ERR_IO, "cannot write '%s': %s", path, strerror(e));
        zn_error_hint("check that the directory exists and is writable, or choose another path");
        return ZN_ERR_IO;
    }
    size_t w = fwrite(data, 1, len, f);
    int e = errno;
    int bad = w != len || fflush(f) != 0 || fsync(fileno(f)) != 0;
    if (bad) e = errno ? errno : e;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        zn_error_set(ZN_ERR_IO, "cannot write '%s': %s", path, strerror(e));
        zn_error_hint("the disk may be full; free space or choose another path");
        return ZN_ERR_IO;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        zn_error_set(ZN_ERR_IO, "cannot write '%s': renaming the temporary file failed: %s", path, strerror(e));
        zn_error_hint("check that '%s' is not a directory and its directory is writable", path);
        return ZN_ERR_IO;
    }
    return ZN_OK;
}

zn_status zn_record_write_json(const zn_record *rec, const char *path) {
    char *s = zn_record_to_json_string(rec);
    if (!s) return zn_last_error()->status;
    size_t n = strlen(s);
    char *buf = realloc(s, n + 2);
    if (buf) {
        s = buf;
        s[n++] = '\n';
        s[n] = 0;
    }
    zn_status st = zn_write_file_atomic(path, s, n);
    free(s);
    if (st != ZN_OK) zn_error_prefix("run record");
    return st;
}

/* ---- JSON: read ------------------------------------------------------------------------------- */

static void tensor_read(const cJSON *j, zn_record_tensor *t) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (cJSON_IsString(x)) copy_str(t->name, sizeof t->name, x->valuestring);
    x = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    if (cJSON_IsString(x)) copy_str(t->dtype, sizeof t->dtype, x->valuestring);
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(j, "dims");
    t->rank = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, dims) {
        if (t->rank >= ZN_MAX_RANK) break;
        t->dims[t->rank++] = json_i64(d);
    }
}

static zn_status hist_read(const cJSON *j, zn_record_hist *h, const char *what) {
    memset(h, 0, sizeof *h);
    if (!cJSON_IsObject(j)) return ZN_OK;
    const cJSON *x;
    h->count = json_u64(cJSON_GetObjectItemCaseSensitive(j, "count"));
    h->min = json_i64(cJSON_GetObjectItemCaseSensitive(j, "min"));
    h->max = json_i64(cJSON_GetObjectItemCaseSensitive(j, "max"));
    h->sum = json_dbl(cJSON_GetObjectItemCaseSensitive(j, "sum"));
    h->sum_sq = json_dbl(cJSON_GetObjectItemCaseSensitive(j, "sum_sq"));
    x = cJSON_GetObjectItemCaseSensitive(j, "sub_bits");
    if (x && json_i64(x) != ZN_HIST_SUB_BITS)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "the %s histogram uses %lld sub-bucket bits, this build %d", what,
                            (long long)json_i64(x), ZN_HIST_SUB_BITS);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "buckets");
    int n = cJSON_GetArraySize(b);
    if (n > ZN_HIST_BUCKETS) return zn_error_set(ZN_ERR_MODEL_FORMAT, "the %s histogram has %d buckets", what, n);
    if (n > 0) {
        h->buckets = zn_calloc((size_t)n, sizeof *h->buckets);
        if (!h->buckets) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d histogram buckets", n);
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, b) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 3)
            return zn_error_set(ZN_ERR_MODEL_FORMAT, "the %s histogram has a bucket that is not [lower, upper, count]",
                                what);
        zn_hist_bucket *k = &h->buckets[h->n_buckets++];
        k->lo = json_i64(cJSON_GetArrayItem(row, 0));
        k->hi = json_i64(cJSON_GetArrayItem(row, 1));
        k->count = json_u64(cJSON_GetArrayItem(row, 2));
        k->index = zn_hist_bucket_index(k->lo);
    }
    return ZN_OK;
}

static zn_status results_read(const cJSON *j, zn_record_results *r) {
    r->present = true;
    get_fields(j, r, results_fields, N(results_fields));
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "rules")) {
        if (r->n_rules >= ZN_LOADGEN_MAX_RULES) break;
        get_fields(x, &r->rules[r->n_rules++], rule_fields, N(rule_fields));
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "recommendations")) {
        if (r->n_recommendations >= ZN_LOADGEN_MAX_RECS) break;
        if (cJSON_IsString(x))
            copy_str(r->recommendations[r->n_recommendations++], ZN_LOADGEN_TEXT, x->valuestring);
    }
    zn_status st;
    if ((st = hist_read(cJSON_GetObjectItemCaseSensitive(j, "latency"), &r->latency, "latency")) != ZN_OK) return st;
    if ((st = hist_read(cJSON_GetObjectItemCaseSensitive(j, "service"), &r->service, "service")) != ZN_OK) return st;
    if ((st = hist_read(cJSON_GetObjectItemCaseSensitive(j, "issue_lag"), &r->issue_lag, "issue lag")) != ZN_OK)
        return st;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "queries"), "rows");
    int n = cJSON_GetArraySize(rows);
    if (n > ZN_RECORD_MAX_QUERIES) n = ZN_RECORD_MAX_QUERIES;
    if (n > 0) {
        r->queries = zn_calloc((size_t)n, sizeof *r->queries);
        if (!r->queries) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d query records", n);
    }
    cJSON_ArrayForEach(x, rows) {
        if (r->n_queries >= n) break;
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) < 5)
            return zn_error_set(ZN_ERR_MODEL_FORMAT, "a query record is not [issue, start, latency, samples, worker]");
        zn_query_record *q = &r->queries[r->n_queries++];
        q->issue_ns = json_i64(cJSON_GetArrayItem(x, 0));
        q->start_ns = json_i64(cJSON_GetArrayItem(x, 1));
        q->latency_ns = json_i64(cJSON_GetArrayItem(x, 2));
        q->n_samples = (int32_t)json_i64(cJSON_GetArrayItem(x, 3));
        q->worker = (int32_t)json_i64(cJSON_GetArrayItem(x, 4));
    }
    return ZN_OK;
}

static zn_status profile_read(const cJSON *j, zn_profile *pr) {
    pr->runs = json_i64(cJSON_GetObjectItemCaseSensitive(j, "runs"));
    pr->run_ns = json_i64(cJSON_GetObjectItemCaseSensitive(j, "run_ns"));
    pr->total_ns = json_i64(cJSON_GetObjectItemCaseSensitive(j, "total_ns"));
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(j, "ops");
    int nn = cJSON_GetArraySize(nodes), no = cJSON_GetArraySize(ops);
    if (nn > 0 && !(pr->nodes = zn_calloc((size_t)nn, sizeof *pr->nodes)))
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d profile nodes", nn);
    if (no > 0 && !(pr->ops = zn_calloc((size_t)no, sizeof *pr->ops)))
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d profile ops", no);
    const cJSON *x;
    cJSON_ArrayForEach(x, nodes) {
        if (pr->n_nodes >= nn) break;
        get_fields(x, &pr->nodes[pr->n_nodes++], node_fields, N(node_fields));
    }
    cJSON_ArrayForEach(x, ops) {
        if (pr->n_ops >= no) break;
        get_fields(x, &pr->ops[pr->n_ops++], op_fields, N(op_fields));
    }
    return ZN_OK;
}

static void get_int3(const cJSON *o, const char *k, int *v) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    for (int i = 0; i < 3; i++) v[i] = cJSON_IsArray(a) ? (int)json_i64(cJSON_GetArrayItem(a, i)) : 0;
}

static zn_status gpu_read(const cJSON *g, zn_record *rec) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(g, "device");
    if (cJSON_IsObject(d)) {
        rec->has_gpu = true;
        get_fields(d, &rec->gpu, gpu_facts_fields, N(gpu_facts_fields));
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(g, "trace");
    if (!cJSON_IsObject(t)) return ZN_OK;
    zn_gpu_profile *p = &rec->gpu_profile;
    rec->has_gpu_profile = true;
    get_fields(t, p, gpu_prof_fields, N(gpu_prof_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(t, "h2d"), &p->h2d, gpu_stat_fields, N(gpu_stat_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(t, "compute"), &p->compute, gpu_stat_fields, N(gpu_stat_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(t, "d2h"), &p->d2h, gpu_stat_fields, N(gpu_stat_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(t, "busy"), &p->busy, gpu_stat_fields, N(gpu_stat_fields));
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(t, "nodes");
    const cJSON *kernels = cJSON_GetObjectItemCaseSensitive(t, "kernels");
    int nn = cJSON_GetArraySize(nodes), nk = cJSON_GetArraySize(kernels);
    if (nn > 0 && !(p->nodes = zn_calloc((size_t)nn, sizeof *p->nodes)))
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d GPU profile nodes", nn);
    if (nk > 0 && !(p->kernels = zn_calloc((size_t)nk, sizeof *p->kernels)))
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for %d GPU kernels", nk);
    const cJSON *x;
    cJSON_ArrayForEach(x, nodes) {
        if (p->n_nodes >= nn) break;
        get_fields(x, &p->nodes[p->n_nodes++], gpu_node_fields, N(gpu_node_fields));
    }
    cJSON_ArrayForEach(x, kernels) {
        if (p->n_kernels >= nk) break;
        zn_gpu_kernel *k = &p->kernels[p->n_kernels++];
        get_fields(x, k, gpu_kernel_fields, N(gpu_kernel_fields));
        get_int3(x, "grid", k->grid);
        get_int3(x, "block", k->block);
        get_int3(x, "cluster", k->cluster);
    }
    return ZN_OK;
}

/* Line and column of a byte offset, for parse errors. */
static void line_col(const char *s, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && s[i]; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static zn_status from_json(const char *json, zn_record *rec, const char *where) {
    zn_record_init(rec);
    rec->created[0] = rec->run_id[0] = rec->status[0] = 0;
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        int line = 0, col = 0;
        if (e && e >= json) line_col(json, (size_t)(e - json), &line, &col);
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s is not valid JSON (error near line %d, column %d)", where, line, col);
        zn_error_hint("the file may be truncated or edited by hand; re-run the benchmark to write it again");
        return ZN_ERR_MODEL_FORMAT;
    }
    zn_status st = ZN_OK;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(v)) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s is not a Zenith run record (no \"schema_version\")", where);
        zn_error_hint("pass a file written by `zenith-bench run --json FILE`");
        st = ZN_ERR_MODEL_FORMAT;
        goto done;
    }
    rec->schema_version = (int)json_i64(v);
    if (rec->schema_version > ZN_RECORD_SCHEMA_VERSION || rec->schema_version < 1) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s has run-record schema version %d; this zenith-bench reads versions 1 to %d",
                     where, rec->schema_version, ZN_RECORD_SCHEMA_VERSION);
        zn_error_hint("it was written by a newer zenith-bench: upgrade zenith-bench to read it");
        st = ZN_ERR_MODEL_FORMAT;
        goto done;
    }
    static const field top[] = {
        F(zn_record, tool_version), F(zn_record, created), F(zn_record, run_id),
        F(zn_record, command_line), F(zn_record, status), F(zn_record, reason),
    };
    get_fields(root, rec, top, N(top));

    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    get_fields(m, &rec->model, model_fields, N(model_fields));
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(m, "inputs")) {
        if (rec->model.n_inputs >= ZN_RECORD_MAX_IO) break;
        tensor_read(x, &rec->model.inputs[rec->model.n_inputs++]);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(m, "outputs")) {
        if (rec->model.n_outputs >= ZN_RECORD_MAX_IO) break;
        tensor_read(x, &rec->model.outputs[rec->model.n_outputs++]);
    }

    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "compile");
    get_fields(c, &rec->compile, compile_fields, N(compile_fields));
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(c, "passes")) {
        if (rec->compile.n_passes >= ZN_MAX_PASSES) break;
        get_fields(x, &rec->compile.passes[rec->compile.n_passes++], pass_fields, N(pass_fields));
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(c, "fusions")) {
        if (rec->compile.n_fusions >= N(rec->compile.fusions)) break;
        zn_record_fusion *fu = &rec->compile.fusions[rec->compile.n_fusions++];
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(x, "op");
        if (cJSON_IsString(op)) copy_str(fu->op, sizeof fu->op, op->valuestring);
        fu->count = (int)json_i64(cJSON_GetObjectItemCaseSensitive(x, "count"));
    }

    get_fields(cJSON_GetObjectItemCaseSensitive(root, "system"), &rec->system, system_fields, N(system_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(root, "build"), &rec->build, build_fields, N(build_fields));
    get_fields(cJSON_GetObjectItemCaseSensitive(root, "settings"), &rec->settings, settings_fields,
               N(settings_fields));

    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (cJSON_IsObject(r) && (st = results_read(r, &rec->results)) != ZN_OK) goto bad;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "profile");
    if (cJSON_IsObject(p)) {
        rec->has_profile = true;
        if ((st = profile_read(p, &rec->profile)) != ZN_OK) goto bad;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "accuracy");
    if (cJSON_IsObject(a)) {
        rec->accuracy.present = true;
        rec->accuracy.pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "pass"));
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(a, "outputs")) {
            if (rec->accuracy.n_outputs >= ZN_RECORD_MAX_ACCURACY) break;
            zn_record_accuracy_output *o = &rec->accuracy.outputs[rec->accuracy.n_outputs++];
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(x, "name");
            if (cJSON_IsString(nm)) copy_str(o->name, sizeof o->name, nm->valuestring);
            get_fields(x, &o->acc, accuracy_fields, N(accuracy_fields));
        }
    }
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(root, "peak");
    if (cJSON_IsObject(pk)) {
        rec->has_peak = true;
        get_fields(pk, &rec->peak, peak_fields, N(peak_fields));
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(pk, "points")) {
            if (rec->peak.n_points >= ZN_PEAK_MAX_POINTS) break;
            get_fields(x, &rec->peak.points[rec->peak.n_points++], peak_point_fields, N(peak_point_fields));
        }
    }
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    if (cJSON_IsObject(gpu) && (st = gpu_read(gpu, rec)) != ZN_OK) goto bad;
    goto done;
bad:
    zn_error_prefix("reading %s", where);
done:
    cJSON_Delete(root);
    return st;
}

zn_status zn_record_from_json_string(const char *json, zn_record *rec) { return from_json(json, rec, "the run record"); }

zn_status zn_record_read_json(const char *path, zn_record *rec) {
    zn_record_init(rec);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        zn_error_set(ZN_ERR_IO, "cannot read run record '%s': %s", path, strerror(e));
        zn_error_hint("pass the file written by `zenith-bench run --json FILE`");
        return ZN_ERR_IO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 + 1 > cap) {
            cap = (cap ? cap * 2 : 131072);
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return zn_error_set(ZN_ERR_IO, "cannot read run record '%s': read error", path);
    }
    buf[len] = 0;
    char where[600];
    snprintf(where, sizeof where, "'%s'", path);
    zn_status st = from_json(buf, rec, where);
    free(buf);
    return st;
}
