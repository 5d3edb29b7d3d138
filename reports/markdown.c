/* markdown.c — a run record as the markdown report a user pastes into a pull request:
 * headline verdict, methodology, system, model, compile summary, settings, results, verdict
 * with each rule and the recommendations, where the time goes (top nodes and ops), the GPU
 * (device, clocks during the run, the H2D / compute / D2H split, top nodes and kernels by GPU
 * time) for CUDA runs, accuracy, and the command that reproduces the run.
 *
 * Times are shown with units and, in the results table, also as exact nanoseconds, so numbers
 * can be checked against the JSON. zn_record_write_report (charts.h) also draws the charts
 * (charts.c) next to the markdown file and links them under the tables they illustrate.
 * What it is not: a comparison of two runs (compare.c) or the charts themselves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/charts.h"
#include "reports/run_record.h"
#include "reports/strbuf.h"

/* Relative file names of the charts drawn for this report ("" = not drawn). */
typedef struct chart_links {
    char hist[512], time[512], qps[512], ops[512], nodes[512], peak[512], gpu_nodes[512], gpu_kernels[512];
} chart_links;

/* Rotating buffers for formatted values inside one zn_sb_printf() call. */
static char *fbuf(void) {
    static __thread char bufs[16][64];
    static __thread int next;
    return bufs[next++ & 15];
}

static const char *fmt_ns(double ns) {
    char *b = fbuf();
    double a = fabs(ns);
    if (a >= 1e9)
        snprintf(b, 64, "%.3f s", ns / 1e9);
    else if (a >= 1e6)
        snprintf(b, 64, "%.3f ms", ns / 1e6);
    else if (a >= 1e3)
        snprintf(b, 64, "%.1f µs", ns / 1e3);
    else
        snprintf(b, 64, "%.0f ns", ns);
    return b;
}

static const char *fmt_bytes(double v) {
    char *b = fbuf();
    if (v >= 1024.0 * 1024 * 1024)
        snprintf(b, 64, "%.2f GiB", v / (1024.0 * 1024 * 1024));
    else if (v >= 1024.0 * 1024)
        snprintf(b, 64, "%.1f MiB", v / (1024.0 * 1024));
    else if (v >= 1024.0)
        snprintf(b, 64, "%.1f KiB", v / 1024.0);
    else
        snprintf(b, 64, "%.0f B", v);
    return b;
}

static const char *fmt_count(double v) {
    char *b = fbuf();
    if (v >= 1e12)
        snprintf(b, 64, "%.2f T", v / 1e12);
    else if (v >= 1e9)
        snprintf(b, 64, "%.2f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(b, 64, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(b, 64, "%.1f k", v / 1e3);
    else
        snprintf(b, 64, "%.0f", v);
    return b;
}

static const char *dims_str(const zn_record_tensor *t) {
    char *b = fbuf();
    size_t at = 0;
    b[0] = 0;
    for (int d = 0; d < t->rank && at < 60; d++)
        at += (size_t)snprintf(b + at, 64 - at, "%s%lld", d ? "×" : "", (long long)t->dims[d]);
    if (!t->rank) snprintf(b, 64, "scalar");
    return b;
}

/* Markdown table cells: no '|' or newlines. */
/* A table cell: '|' and newlines would break the table. Rule details run to ~250 chars. */
static const char *cell(const char *s) {
    static __thread char bufs[4][512];
    static __thread int next;
    char *b = bufs[next++ & 3];
    size_t i = 0;
    for (; s && *s && i + 1 < sizeof bufs[0]; s++) b[i++] = (*s == '|' || *s == '\n') ? ' ' : *s;
    b[i] = 0;
    return b;
}

static const char *metric_text(const zn_record_results *r) {
    char *b = fbuf();
    if (!strcmp(r->metric_unit, "ns"))
        snprintf(b, 64, "%s", fmt_ns(r->metric_value));
    else
        snprintf(b, 64, "%.2f %s", r->metric_value, r->metric_unit);
    return b;
}

static void section_methodology(zn_sb *b, const zn_record *rec) {
    const zn_record_settings *s = &rec->settings;
    zn_sb_printf(b, "## Methodology\n\n");
    zn_sb_printf(b, "Zenith ran the model in the **%s** scenario (%s mode), following MLPerf LoadGen's rules: ",
        s->scenario[0] ? s->scenario : "?", s->test_mode[0] ? s->test_mode : "performance");
    if (!strcmp(s->scenario, "server"))
        zn_sb_printf(b, "queries arrive as a seeded Poisson process at %.1f QPS and latency counts from each query's "
               "scheduled arrival, so queueing in a saturated system is measured; ",
            s->target_qps);
    else if (!strcmp(s->scenario, "offline"))
        zn_sb_printf(b, "all samples are issued at once and processed in batches of up to %d; ", s->max_batch);
    else
        zn_sb_printf(b, "one query of %d sample%s at a time, the next issued when the last completes; ",
            s->samples_per_query > 0 ? s->samples_per_query : 1, s->samples_per_query > 1 ? "s" : "");
    zn_sb_printf(b, "the run lasts until both the minimum duration (%lld ms) and the minimum query count (%lld) are met",
        (long long)s->min_duration_ms, (long long)s->min_query_count);
    if (s->max_duration_ms > 0) zn_sb_printf(b, ", at most %lld ms", (long long)s->max_duration_ms);
    zn_sb_printf(b, ". %lld warm-up quer%s ran first and are not counted. ", (long long)s->warmup_queries,
        s->warmup_queries == 1 ? "y" : "ies");
    zn_sb_printf(b, "Times come from CLOCK_MONOTONIC; percentiles come from a log-linear histogram accurate to 0.4%% "
           "and use LoadGen's rank definition. Seeds: schedule %llu, samples %llu, weights %llu: the same seeds "
           "and settings give the same queries and inputs.",
        (unsigned long long)s->schedule_seed, (unsigned long long)s->sample_seed, (unsigned long long)s->weight_seed);
    if (rec->has_profile)
        zn_sb_printf(b, " Per-node times come from the runtime's observer (two clock reads per node) over %lld runs.",
            (long long)rec->profile.runs);
    if (rec->has_gpu_profile)
        zn_sb_printf(b, " GPU times come from CUPTI's activity records (each kernel's, copy's and memset's start and "
               "end on the device), tied to the node and run that launched them by external correlation ids "
               "(CUDA graph replays by the graph node each step captured).");
    zn_sb_printf(b, "\n\n");
}

static void section_system(zn_sb *b, const zn_record *rec) {
    const zn_system_info *y = &rec->system;
    const zn_build_info *u = &rec->build;
    zn_sb_printf(b, "## System\n\n| | |\n|---|---|\n");
    zn_sb_printf(b, "| Host | %s |\n", cell(y->hostname));
    zn_sb_printf(b, "| CPU | %s |\n", cell(y->cpu_model));
    zn_sb_printf(b, "| Cores | %d online (%d configured) |\n", y->cores_online, y->cores_configured);
    zn_sb_printf(b, "| SIMD | %s |\n", cell(y->simd));
    zn_sb_printf(b, "| Memory | %s total, %s available |\n", fmt_bytes((double)y->mem_total_bytes),
        fmt_bytes((double)y->mem_available_bytes));
    zn_sb_printf(b, "| OS | %s %s (%s) |\n", cell(y->os), cell(y->kernel), cell(y->arch));
    zn_sb_printf(b, "| GPU | %s |\n", cell(y->gpu));
    zn_sb_printf(b, "| Driver | %s |\n", cell(y->driver));
    zn_sb_printf(b, "| Zenith | %s, commit %s, backends: %s |\n", cell(u->version), cell(u->git_commit), cell(u->backends));
    zn_sb_printf(b, "| Compiler | %s |\n", cell(u->compiler));
    zn_sb_printf(b, "| Flags | `%s` |\n\n", cell(u->flags));
}

static void section_model(zn_sb *b, const zn_record *rec) {
    const zn_record_model *m = &rec->model;
    zn_sb_printf(b, "## Model\n\n| | |\n|---|---|\n");
    zn_sb_printf(b, "| Name | %s |\n", cell(m->name));
    zn_sb_printf(b, "| Source | %s%s%s |\n", cell(m->source), m->path[0] ? ": " : "", m->path[0] ? cell(m->path) : "");
    if (m->producer[0]) zn_sb_printf(b, "| Producer | %s %s, opset %lld |\n", cell(m->producer), cell(m->producer_version), (long long)m->opset);
    for (int i = 0; i < m->n_inputs; i++)
        zn_sb_printf(b, "| Input | `%s` %s [%s] |\n", cell(m->inputs[i].name), m->inputs[i].dtype, dims_str(&m->inputs[i]));
    for (int i = 0; i < m->n_outputs; i++)
        zn_sb_printf(b, "| Output | `%s` %s [%s] |\n", cell(m->outputs[i].name), m->outputs[i].dtype, dims_str(&m->outputs[i]));
    zn_sb_printf(b, "| Parameters | %s (%s) |\n", fmt_count((double)m->params), fmt_bytes((double)m->param_bytes));
    zn_sb_printf(b, "| FLOPs | %s per run, %s per sample (batch %d) |\n\n", fmt_count(m->flops_per_run),
        fmt_count(m->flops_per_sample), m->batch);
}

static void section_compile(zn_sb *b, const zn_record *rec) {
    const zn_record_compile *c = &rec->compile;
    zn_sb_printf(b, "## Compile summary\n\n| | |\n|---|---|\n");
    zn_sb_printf(b, "| Backend | %s, %s, mode %s, %d thread%s |\n", c->backend, c->precision, c->mode, c->threads,
        c->threads == 1 ? "" : "s");
    zn_sb_printf(b, "| Nodes | %d → %d (%d steps) |\n", c->nodes_before, c->nodes_after, c->steps);
    double saved = c->naive_bytes > 0 ? 100.0 * (1.0 - (double)c->planned_peak_bytes / (double)c->naive_bytes) : 0;
    zn_sb_printf(b, "| Activation memory | %s planned vs %s naive (%.0f%% saved, %d in place) |\n",
        fmt_bytes((double)c->planned_peak_bytes), fmt_bytes((double)c->naive_bytes), saved, c->inplace_count);
    zn_sb_printf(b, "| Weights / scratch | %s / %s |\n", fmt_bytes((double)c->weight_bytes), fmt_bytes((double)c->scratch_bytes));
    if (!strcmp(c->backend, "cuda")) {
        zn_sb_printf(b, "| GPU steps | %d on the GPU, %d on the CPU (no CUDA kernel), %d host/device copies |\n",
            c->device_steps, c->cpu_fallback_steps, c->copy_steps);
        zn_sb_printf(b, "| GPU memory | %s activation arena per session, %s of weights |\n",
            fmt_bytes((double)c->device_arena_bytes), fmt_bytes((double)c->device_weight_bytes));
        zn_sb_printf(b, "| CUDA graph | %s |\n", c->cuda_graph ? "each session's run captured once and replayed" : "no (eager launches)");
    }
    if (c->note[0]) zn_sb_printf(b, "| Note | %s |\n", cell(c->note));
    zn_sb_printf(b, "| Compile time | %.1f ms |\n\n", c->compile_ms);
    if (c->n_passes > 0) {
        zn_sb_printf(b, "| Pass | Changes | Time | Detail |\n|---|---:|---:|---|\n");
        for (int i = 0; i < c->n_passes; i++)
            zn_sb_printf(b, "| %s | %d | %.2f ms | %s |\n", cell(c->passes[i].name), c->passes[i].changes, c->passes[i].ms,
                cell(c->passes[i].detail));
        zn_sb_printf(b, "\n");
    }
    if (c->n_fusions > 0) {
        zn_sb_printf(b, "Fusions:");
        for (int i = 0; i < c->n_fusions; i++) zn_sb_printf(b, "%s %s ×%d", i ? "," : "", c->fusions[i].op, c->fusions[i].count);
        zn_sb_printf(b, "\n\n");
    }
}

static void section_settings(zn_sb *b, const zn_record *rec) {
    const zn_record_settings *s = &rec->settings;
    zn_sb_printf(b, "## Settings\n\n| Setting | Value |\n|---|---|\n");
    zn_sb_printf(b, "| scenario | %s |\n| test mode | %s |\n", s->scenario, s->test_mode);
    zn_sb_printf(b, "| min duration | %lld ms |\n| max duration | %lld ms |\n", (long long)s->min_duration_ms,
        (long long)s->max_duration_ms);
    zn_sb_printf(b, "| min queries | %lld |\n| max queries | %lld |\n", (long long)s->min_query_count,
        (long long)s->max_query_count);
    zn_sb_printf(b, "| target QPS | %g |\n", s->target_qps);
    zn_sb_printf(b, "| latency bound | %s at p%g |\n", s->target_latency_ns ? fmt_ns((double)s->target_latency_ns) : "none",
        s->target_latency_percentile);
    zn_sb_printf(b, "| samples per query | %d |\n", s->samples_per_query);
    zn_sb_printf(b, "| sample count (total / performance) | %lld / %lld |\n", (long long)s->total_sample_count,
        (long long)s->performance_sample_count);
    zn_sb_printf(b, "| seeds (schedule / sample / weights) | %llu / %llu / %llu |\n", (unsigned long long)s->schedule_seed,
        (unsigned long long)s->sample_seed, (unsigned long long)s->weight_seed);
    zn_sb_printf(b, "| warm-up | %lld queries, %lld ms |\n", (long long)s->warmup_queries, (long long)s->warmup_ms);
    zn_sb_printf(b, "| dynamic batching | max batch %d, max queue delay %s |\n", s->max_batch,
        fmt_ns((double)s->max_queue_delay_ns));
    zn_sb_printf(b, "| workers / threads | %d / %d |\n", s->n_workers, s->threads);
    zn_sb_printf(b, "| backend / precision / mode | %s / %s / %s |\n", s->backend, s->precision, s->compile_mode);
    zn_sb_printf(b, "| batch | %d |\n\n", s->batch);
}

static void image(zn_sb *b, const char *alt, const char *rel) {
    if (rel && rel[0]) zn_sb_printf(b, "![%s](%s)\n\n", alt, rel);
}

static void section_results(zn_sb *b, const zn_record *rec, const chart_links *ch) {
    const zn_record_results *r = &rec->results;
    zn_sb_printf(b, "## Results\n\n");
    if (!r->present) {
        zn_sb_printf(b, "No results: the run ended before the scenario produced any.\n\n");
        return;
    }
    zn_sb_printf(b, "| Statistic | Value | Exact |\n|---|---:|---:|\n");
    zn_sb_printf(b, "| %s | %s | %.6g |\n", r->metric_name[0] ? cell(r->metric_name) : "metric", metric_text(r), r->metric_value);
    zn_sb_printf(b, "| queries / samples | %lld / %lld | |\n", (long long)r->query_count, (long long)r->sample_count);
    zn_sb_printf(b, "| duration | %s | %lld ns |\n", fmt_ns((double)r->duration_ns), (long long)r->duration_ns);
    zn_sb_printf(b, "| QPS with harness overhead | %.2f | |\n", r->qps_with_overhead);
    zn_sb_printf(b, "| QPS without harness overhead | %.2f | |\n", r->qps_without_overhead);
    zn_sb_printf(b, "| samples/s | %.2f | |\n", r->samples_per_second);
    if (r->harness_overhead_ns > 0)
        zn_sb_printf(b, "| harness cost per query (issue + complete) | %s | %.0f ns |\n", fmt_ns(r->harness_overhead_ns),
            r->harness_overhead_ns);
    if (!strcmp(rec->settings.scenario, "server"))
        zn_sb_printf(b, "| scheduled / completed QPS | %.2f / %.2f | |\n", r->scheduled_qps, r->completed_qps);
    struct {
        const char *name;
        int64_t v;
    } lat[] = {{"latency min", r->lat_min_ns}, {"latency mean", r->lat_mean_ns}, {"latency p50", r->p50_ns},
               {"latency p90", r->p90_ns},     {"latency p95", r->p95_ns},       {"latency p97", r->p97_ns},
               {"latency p99", r->p99_ns},     {"latency p99.9", r->p999_ns},    {"latency max", r->lat_max_ns}};
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        zn_sb_printf(b, "| %s | %s | %lld ns |\n", lat[i].name, fmt_ns((double)lat[i].v), (long long)lat[i].v);
    zn_sb_printf(b, "| coefficient of variation | %.3f%s | |\n", r->cv, r->noisy ? " (noisy)" : "");
    if (r->es_applicable)
        zn_sb_printf(b, "| early-stopping estimate | %s | %lld ns |\n", fmt_ns((double)r->es_latency_ns),
            (long long)r->es_latency_ns);
    if (r->issue_lag.count > 0)
        zn_sb_printf(b, "| issue lag max | %s | %lld ns |\n", fmt_ns((double)r->issue_lag.max), (long long)r->issue_lag.max);
    if (r->overlatency_count > 0) zn_sb_printf(b, "| queries over the bound | %lld | |\n", (long long)r->overlatency_count);
    zn_sb_printf(b, "\n");
    if (ch) {
        image(b, "Latency histogram with p50, p90 and p99 marked", ch->hist);
        image(b, "Latency of each query over the run", ch->time);
        image(b, "Offered vs achieved QPS over the run", ch->qps);
    }
}

static void section_verdict(zn_sb *b, const zn_record *rec) {
    const zn_record_results *r = &rec->results;
    zn_sb_printf(b, "## Verdict and recommendations\n\n**%s**", zn_record_verdict(rec));
    if (strcmp(rec->status, "completed") != 0)
        zn_sb_printf(b, ": the run was %s (%s).", rec->status, rec->reason);
    else if (r->invalid_reason[0])
        zn_sb_printf(b, ": %s.", r->invalid_reason);
    zn_sb_printf(b, "\n\n");
    if (r->n_rules > 0) {
        zn_sb_printf(b, "| Rule | Result | Detail |\n|---|---|---|\n");
        for (int i = 0; i < r->n_rules; i++)
            zn_sb_printf(b, "| %s | %s | %s |\n", cell(r->rules[i].name), r->rules[i].passed ? "pass" : "**FAIL**",
                cell(r->rules[i].detail));
        zn_sb_printf(b, "\n");
    }
    int n = 0;
    for (int i = 0; i < r->n_recommendations; i++, n++) zn_sb_printf(b, "- %s\n", r->recommendations[i]);
    bool said_noise = false;
    for (int i = 0; i < r->n_recommendations; i++) said_noise |= strstr(r->recommendations[i], "CV") != NULL;
    if (r->present && r->noisy && !said_noise) {
        zn_sb_printf(b, "- The latency varies a lot between queries (CV %.2f): close other programs, pin the threads "
               "(--threads) and run longer before comparing percentiles.\n",
            r->cv);
        n++;
    }
    if (rec->has_profile && rec->profile.n_ops > 0 && rec->profile.ops[0].share > 0.5) {
        zn_sb_printf(b, "- %s takes %.0f%% of the compute time: its kernels are where optimisation pays.\n",
            rec->profile.ops[0].op, 100 * rec->profile.ops[0].share);
        n++;
    }
    if (!n) zn_sb_printf(b, "No recommendations.\n");
    zn_sb_printf(b, "\n");
}

static void section_profile(zn_sb *b, const zn_record *rec, int top_n, const chart_links *ch) {
    zn_sb_printf(b, "## Where the time goes\n\n");
    if (!rec->has_profile || rec->profile.n_nodes == 0) {
        zn_sb_printf(b, "No per-node profile in this run.\n\n");
        return;
    }
    const zn_profile *p = &rec->profile;
    double overhead = p->run_ns > 0 ? 100.0 * (double)(p->run_ns - p->total_ns) / (double)p->run_ns : 0;
    zn_sb_printf(b, "%lld runs; %s in nodes out of %s inside runs (%.1f%% runtime overhead).\n\n", (long long)p->runs,
        fmt_ns((double)p->total_ns), fmt_ns((double)p->run_ns), overhead);
    int n = p->n_nodes < top_n ? p->n_nodes : top_n;
    zn_sb_printf(b, "Top %d nodes by time:\n\n| # | Node | Op | Kernel | Calls | Total | Mean | Share |\n"
           "|---:|---|---|---|---:|---:|---:|---:|\n", n);
    for (int i = 0; i < n; i++) {
        const zn_profile_node *x = &p->nodes[i];
        zn_sb_printf(b, "| %d | `%s` | %s | %s | %lld | %s | %s | %.1f%% |\n", i + 1, cell(x->name), cell(x->op),
            cell(x->kernel), (long long)x->count, fmt_ns((double)x->total_ns), fmt_ns(x->mean_ns), 100 * x->share);
    }
    if (ch && ch->nodes[0]) {
        zn_sb_printf(b, "\n");
        image(b, "Top nodes by time per run", ch->nodes);
    }
    n = p->n_ops < top_n ? p->n_ops : top_n;
    zn_sb_printf(b, "\nTop %d ops by time:\n\n| # | Op | Nodes | Calls | Total | Mean | Share |\n"
           "|---:|---|---:|---:|---:|---:|---:|\n", n);
    for (int i = 0; i < n; i++) {
        const zn_profile_op *x = &p->ops[i];
        zn_sb_printf(b, "| %d | %s | %d | %lld | %s | %s | %.1f%% |\n", i + 1, cell(x->op), x->nodes, (long long)x->count,
            fmt_ns((double)x->total_ns), fmt_ns(x->mean_ns), 100 * x->share);
    }
    zn_sb_printf(b, "\n");
    if (ch) image(b, "Time per run by op kind", ch->ops);
}

/* ---- GPU: the device, its clocks during the run, and where the GPU time goes ------------------ */

static const char *fmt_mhz_range(int lo, int hi) {
    char *b = fbuf();
    if (lo <= 0 && hi <= 0) snprintf(b, 64, "n/a");
    else if (lo == hi) snprintf(b, 64, "%d MHz", hi);
    else snprintf(b, 64, "%d–%d MHz", lo, hi);
    return b;
}

static void stat_row(zn_sb *b, const char *name, const zn_gpu_stat *x) {
    zn_sb_printf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, fmt_ns(x->mean), fmt_ns((double)x->min),
        fmt_ns((double)x->p50), fmt_ns((double)x->p90), fmt_ns((double)x->p99), fmt_ns((double)x->max));
}

static void section_gpu_device(zn_sb *b, const zn_record *rec) {
    const zn_gpu_facts *g = &rec->gpu;
    zn_sb_printf(b, "| | |\n|---|---|\n");
    zn_sb_printf(b, "| Device | %s (sm_%d%d, %d SMs, %s, L2 %s, %d-bit bus) |\n", cell(g->name), g->cc_major, g->cc_minor,
        g->sm_count, fmt_bytes((double)g->total_bytes), fmt_bytes((double)g->l2_bytes), g->mem_bus_bits);
    if (g->pci_bus_id[0]) zn_sb_printf(b, "| PCI bus | %s (CUDA device %d) |\n", cell(g->pci_bus_id), g->ordinal);
    zn_sb_printf(b, "| Peak clocks | SM %d MHz, memory %d MHz", g->sm_clock_mhz, g->mem_clock_mhz);
    if (g->sm_clock_max_mhz) zn_sb_printf(b, " (NVML max: SM %d MHz, memory %d MHz)", g->sm_clock_max_mhz, g->mem_clock_max_mhz);
    zn_sb_printf(b, " |\n| CUDA | driver API %s, runtime %s%s%s |\n", cell(g->driver_version), cell(g->runtime_version),
        g->nvml_driver[0] ? ", NVIDIA driver " : "", g->nvml_driver[0] ? cell(g->nvml_driver) : "");
    if (g->nvml && g->samples > 0) {
        zn_sb_printf(b, "| Clocks during the run | SM %s (mean %.0f MHz, busy samples), memory %s; %lld samples at %g Hz |\n",
            fmt_mhz_range(g->sm_mhz_min, g->sm_mhz_max), g->sm_mhz_mean, fmt_mhz_range(g->mem_mhz_min, g->mem_mhz_max),
            (long long)g->samples, g->sample_hz);
        zn_sb_printf(b, "| Temperature / power | %d–%d °C; %.0f W mean, %.0f W max", g->temp_c_min, g->temp_c_max,
            g->power_w_mean, g->power_w_max);
        if (g->power_limit_w > 0) zn_sb_printf(b, " of a %d W limit", g->power_limit_w);
        zn_sb_printf(b, " |\n| Clock event reasons | %s |\n", g->reasons ? cell(g->reasons_text) : "none (other than idle)");
    } else {
        zn_sb_printf(b, "| Clocks during the run | not sampled: %s |\n", g->nvml_note[0] ? cell(g->nvml_note) : "NVML not available");
    }
    zn_sb_printf(b, "| Kernel trace | %s |\n\n", g->cupti[0] ? cell(g->cupti) : "not collected");
    if (g->unstable && g->warning[0]) zn_sb_printf(b, "> **Warning:** %s.\n\n", g->warning);
}

static void section_gpu(zn_sb *b, const zn_record *rec, int top_n, const chart_links *ch) {
    if (!rec->has_gpu && !rec->has_gpu_profile) return;
    zn_sb_printf(b, "## GPU\n\n");
    if (rec->has_gpu) section_gpu_device(b, rec);
    if (!rec->has_gpu_profile) {
        zn_sb_printf(b, "No GPU kernel trace in this run%s%s.\n\n", rec->gpu.cupti[0] ? ": " : "",
            rec->gpu.cupti[0] ? rec->gpu.cupti : "");
        return;
    }
    const zn_gpu_profile *p = &rec->gpu_profile;
    double runs = p->runs > 0 ? (double)p->runs : 1;
    zn_sb_printf(b, "### GPU time per run\n\n%lld runs traced: %lld kernels, %lld copies and %lld memsets "
           "(%lld from CUDA graph replays). The split below is trtexec's: host-to-device copies, GPU compute "
           "from the first to the last device activity of the run, device-to-host copies.\n\n",
        (long long)p->runs, (long long)p->kernel_count, (long long)p->memcpy_count, (long long)p->memset_count,
        (long long)p->graph_records);
    zn_sb_printf(b, "| Per run | Mean | Min | p50 | p90 | p99 | Max |\n|---|---:|---:|---:|---:|---:|---:|\n");
    stat_row(b, "H2D latency", &p->h2d);
    stat_row(b, "GPU compute", &p->compute);
    stat_row(b, "D2H latency", &p->d2h);
    stat_row(b, "GPU busy (inside compute)", &p->busy);
    double per_run_nodes = (double)p->node_total_ns / runs;
    zn_sb_printf(b, "\nNodes take %s of GPU time per run", fmt_ns(per_run_nodes));
    if (p->compute.mean > 0)
        zn_sb_printf(b, ", %.1f%% of the compute time (the rest is gaps between kernels, launch latency and "
               "activity outside nodes)", 100.0 * per_run_nodes / p->compute.mean);
    zn_sb_printf(b, ". %s copied to the device and %s back per run.\n\n", fmt_bytes((double)p->h2d_bytes / runs),
        fmt_bytes((double)p->d2h_bytes / runs));
    int64_t all = p->attributed + p->run_level + p->unattributed;
    zn_sb_printf(b, "Attribution: %lld of %lld device activities to a node, %lld to a run outside any node "
           "(input and output copies), %lld to nothing",
        (long long)p->attributed, (long long)all, (long long)p->run_level, (long long)p->unattributed);
    if (p->stale) zn_sb_printf(b, "; %lld from the warm-up dropped", (long long)p->stale);
    if (p->late) zn_sb_printf(b, "; %lld arrived too late for the per-run split", (long long)p->late);
    zn_sb_printf(b, "; CUPTI dropped %lld records.\n\n", (long long)p->dropped);
    if (p->dropped > 0 || p->unattributed > 0)
        zn_sb_printf(b, "> **Warning:** %s%s%s: per-node GPU times are incomplete.\n\n",
            p->dropped ? "CUPTI dropped records (its buffers filled faster than they were read)" : "",
            p->dropped && p->unattributed ? "; " : "",
            p->unattributed ? "some device activity could not be tied to a node" : "");

    int n = 0;
    for (int i = 0; i < p->n_nodes; i++) n += p->nodes[i].total_ns > 0;
    if (n > top_n) n = top_n;
    if (n > 0) {
        zn_sb_printf(b, "Top %d nodes by GPU time:\n\n| # | Node | Op | Kernel | Activities / run | GPU / run | Share |%s\n"
               "|---:|---|---|---|---:|---:|---:|%s\n",
            n, rec->has_profile ? " Host / run |" : "", rec->has_profile ? "---:|" : "");
        for (int i = 0; i < n; i++) {
            const zn_gpu_node *x = &p->nodes[i];
            zn_sb_printf(b, "| %d | `%s` | %s | %s | %.1f | %s | %.1f%% |", i + 1, cell(x->name), cell(x->op), cell(x->kernel),
                (double)x->count / runs, fmt_ns(x->per_run_ns), 100 * x->share);
            if (rec->has_profile) {
                const zn_profile_node *h = NULL;
                for (int k = 0; k < rec->profile.n_nodes && !h; k++)
                    if (!strcmp(rec->profile.nodes[k].name, x->name)) h = &rec->profile.nodes[k];
                zn_sb_printf(b, " %s |", h ? fmt_ns(h->mean_ns) : "");
            }
            zn_sb_printf(b, "\n");
        }
        zn_sb_printf(b, "\n");
        if (rec->has_profile)
            zn_sb_printf(b, "Host / run is the time the host spent in the node's step: launching, for GPU kernels.\n\n");
        if (ch) image(b, "Top nodes by GPU time per run", ch->gpu_nodes);
    }
    n = p->n_kernels < top_n ? p->n_kernels : top_n;
    if (n > 0) {
        zn_sb_printf(b, "Top %d kernels by GPU time (one row per kernel, node and launch configuration):\n\n"
               "| # | Kernel | Node | Grid | Block | Regs | Shared mem | Calls | Mean | Total | Share |\n"
               "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|\n", n);
        for (int i = 0; i < n; i++) {
            const zn_gpu_kernel *k = &p->kernels[i];
            zn_sb_printf(b, "| %d | `%s` | %s | %d×%d×%d | %d×%d×%d | %d | %s | %lld | %s | %s | %.1f%% |\n", i + 1,
                cell(k->name), k->node[0] ? cell(k->node) : "?", k->grid[0], k->grid[1], k->grid[2], k->block[0],
                k->block[1], k->block[2], k->regs, fmt_bytes((double)k->smem_static + k->smem_dynamic),
                (long long)k->count, fmt_ns(k->mean_ns), fmt_ns((double)k->total_ns), 100 * k->share);
        }
        if (p->n_kernels > n || p->other_kernels > 0) {
            double rest = (double)p->other_kernel_ns;
            for (int i = n; i < p->n_kernels; i++) rest += (double)p->kernels[i].total_ns;
            zn_sb_printf(b, "\n%d more launch sites take %s.\n", p->n_kernels - n + p->other_kernels, fmt_ns(rest));
        }
        zn_sb_printf(b, "\n");
        if (ch) image(b, "Top kernels by GPU time per run", ch->gpu_kernels);
    }
}

static void section_accuracy(zn_sb *b, const zn_record *rec) {
    zn_sb_printf(b, "## Accuracy\n\n");
    const zn_record_accuracy *a = &rec->accuracy;
    if (!a->present) {
        zn_sb_printf(b, "Not checked in this run (use `--test-mode accuracy --data DIR` or `zenith-bench check`).\n\n");
        return;
    }
    zn_sb_printf(b, "**%s**\n\n| Output | Elements | Max abs err | Max rel err | Cosine | Mismatches | Top-1 | Result |\n"
           "|---|---:|---:|---:|---:|---:|---:|---|\n",
        a->pass ? "PASS" : "FAIL");
    for (int i = 0; i < a->n_outputs; i++) {
        const zn_accuracy *x = &a->outputs[i].acc;
        char top1[48] = "n/a";
        if (x->has_top1) snprintf(top1, sizeof top1, "%lld/%lld", (long long)x->top1_agree, (long long)x->top1_rows);
        zn_sb_printf(b, "| `%s` | %lld | %.3g | %.3g | %.6f | %lld | %s | %s |\n", cell(a->outputs[i].name), (long long)x->count,
            x->max_abs_err, x->max_rel_err, x->cosine, (long long)x->mismatches, top1, x->pass ? "pass" : "**FAIL**");
    }
    zn_sb_printf(b, "\n");
}

/* find-peak: every step of the search, and the curve of latency against offered load. */
static void section_peak(zn_sb *b, const zn_record *rec, const chart_links *ch) {
    if (!rec->has_peak) return;
    const zn_peak_result *pk = &rec->peak;
    zn_sb_printf(b, "## Peak search\n\n");
    if (pk->found)
        zn_sb_printf(b, "Highest offered load meeting the bound: **%.2f QPS** (bracket %.2f VALID .. %.2f INVALID, "
               "precision %.0f%%). %s\n\n",
            pk->peak_qps, pk->lo_qps, pk->hi_qps, 100 * pk->precision, pk->note);
    else
        zn_sb_printf(b, "No offered load met the bound. %s\n\n", pk->note);
    zn_sb_printf(b, "Bracketing by doubling, then bisection; each step is a short server run judged by the same rules. "
           "The results above are a confirmation run at the peak.\n\n");
    zn_sb_printf(b, "| Step | Offered QPS | Achieved QPS | Latency at p%g | Bound | Verdict |\n|---:|---:|---:|---:|---:|---|\n",
        pk->n_points ? pk->points[0].percentile : 99.0);
    for (int i = 0; i < pk->n_points && i < ZN_PEAK_MAX_POINTS; i++) {
        const zn_peak_point *p = &pk->points[i];
        zn_sb_printf(b, "| %d | %.2f | %.2f | %s | %s | %s |\n", i + 1, p->qps, p->achieved_qps, fmt_ns((double)p->latency_ns),
            fmt_ns((double)p->bound_ns), p->valid ? "VALID" : cell(p->reason[0] ? p->reason : "INVALID"));
    }
    zn_sb_printf(b, "\n");
    if (ch && ch->peak[0]) zn_sb_printf(b, "![latency against offered load](%s)\n\n", ch->peak);
}

static char *render(const zn_record *rec, int top_n, const chart_links *ch) {
    if (top_n <= 0) top_n = 10;
    zn_sb b = {0};
    const zn_record_results *r = &rec->results;
    const char *verdict = zn_record_verdict(rec);
    zn_sb_printf(&b, "# Zenith benchmark: %s, %s — %s\n\n", rec->model.name[0] ? rec->model.name : "?",
        rec->settings.scenario[0] ? rec->settings.scenario : "?", verdict);
    if (r->present)
        zn_sb_printf(&b, "> **%s**: %s %s on %s (%s, %s, %d thread%s).", verdict, r->metric_name[0] ? r->metric_name : "metric",
            metric_text(r), rec->has_gpu && rec->gpu.name[0] ? rec->gpu.name
                            : rec->system.cpu_model[0] ? rec->system.cpu_model : "?", rec->compile.backend,
            rec->compile.precision, rec->compile.threads, rec->compile.threads == 1 ? "" : "s");
    else
        zn_sb_printf(&b, "> **%s**: no results.", verdict);
    if (strcmp(rec->status, "completed") != 0) zn_sb_printf(&b, " Run %s: %s.", rec->status, rec->reason);
    zn_sb_printf(&b, "\n>\n> Run `%s`, %s, zenith-bench %s, record schema %d.\n\n", rec->run_id, rec->created, rec->tool_version,
        rec->schema_version);
    section_methodology(&b, rec);
    section_system(&b, rec);
    section_model(&b, rec);
    section_compile(&b, rec);
    section_settings(&b, rec);
    section_results(&b, rec, ch);
    section_peak(&b, rec, ch);
    section_verdict(&b, rec);
    section_profile(&b, rec, top_n, ch);
    section_gpu(&b, rec, top_n, ch);
    section_accuracy(&b, rec);
    zn_sb_printf(&b, "## Reproduce\n\n```\n%s\n```\n", rec->command_line[0] ? rec->command_line : "zenith-bench run ...");
    if (b.oom) {
        free(b.s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing the markdown report");
        return NULL;
    }
    return b.s;
}

zn_status zn_record_write_markdown(const zn_record *rec, const char *path) {
    char *s = zn_record_to_markdown(rec, 10);
    if (!s) return zn_last_error()->status;
    zn_status st = zn_write_file_atomic(path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("report");
    return st;
}

char *zn_record_to_markdown(const zn_record *rec, int top_n) { return render(rec, top_n, NULL); }

/* One chart: drawn and linked, skipped quietly when the record has nothing for it. */
static zn_status chart(const zn_record *rec, const char *md_path, const char *name,
                       zn_status (*draw)(const zn_record *, const char *, zn_chart_axes *), char *rel, size_t cap) {
    char path[4096];
    zn_chart_paths(md_path, name, path, sizeof path, rel, cap);
    zn_status st = draw(rec, path, NULL);
    if (st == ZN_ERR_NOT_FOUND) {
        rel[0] = 0;
        return ZN_OK;
    }
    return st;
}

zn_status zn_record_write_report(const zn_record *rec, const char *md_path) {
    chart_links ch;
    memset(&ch, 0, sizeof ch);
    zn_status st;
    if ((st = chart(rec, md_path, "latency-hist", zn_chart_latency_hist, ch.hist, sizeof ch.hist)) != ZN_OK ||
        (st = chart(rec, md_path, "latency-time", zn_chart_latency_time, ch.time, sizeof ch.time)) != ZN_OK ||
        (st = chart(rec, md_path, "server-qps", zn_chart_server_qps, ch.qps, sizeof ch.qps)) != ZN_OK ||
        (st = chart(rec, md_path, "ops", zn_chart_op_bars, ch.ops, sizeof ch.ops)) != ZN_OK ||
        (st = chart(rec, md_path, "nodes", zn_chart_node_bars, ch.nodes, sizeof ch.nodes)) != ZN_OK ||
        (st = chart(rec, md_path, "gpu-nodes", zn_chart_gpu_node_bars, ch.gpu_nodes, sizeof ch.gpu_nodes)) != ZN_OK ||
        (st = chart(rec, md_path, "gpu-kernels", zn_chart_gpu_kernel_bars, ch.gpu_kernels, sizeof ch.gpu_kernels)) != ZN_OK) {
        zn_error_prefix("report");
        return st;
    }
    if (rec->has_peak) {
        char path[4096];
        zn_chart_paths(md_path, "peak", path, sizeof path, ch.peak, sizeof ch.peak);
        st = zn_chart_peak(&rec->peak, rec, path, NULL);
        if (st == ZN_ERR_NOT_FOUND) ch.peak[0] = 0;
        else if (st != ZN_OK) {
            zn_error_prefix("report");
            return st;
        }
    }
    char *s = render(rec, 10, &ch);
    if (!s) return zn_last_error()->status;
    st = zn_write_file_atomic(md_path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("report");
    return st;
}
