/* markdown.c — a run record as the markdown report a user pastes into a pull request:
 * headline verdict, methodology, system, model, compile summary, settings, results, verdict
 * with each rule and the recommendations, where the time goes (top nodes and ops), accuracy,
 * and the command that reproduces the run.
 *
 * Times are shown with units and, in the results table, also as exact nanoseconds, so numbers
 * can be checked against the JSON. zn_record_write_report (charts.h) also draws the charts
 * (charts.c) next to the markdown file and links them under the tables they illustrate.
 * What it is not: a comparison of two runs (compare.c) or the charts themselves. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/charts.h"
#include "reports/run_record.h"

/* Relative file names of the charts drawn for this report ("" = not drawn). */
typedef struct chart_links {
    char hist[512], time[512], qps[512], ops[512], nodes[512], peak[512];
} chart_links;

typedef struct sb {
    char *s;
    size_t len, cap;
    bool oom;
} sb;

__attribute__((format(printf, 2, 3))) static void out(sb *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

/* Rotating buffers for formatted values inside one out() call. */
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

static void section_methodology(sb *b, const zn_record *rec) {
    const zn_record_settings *s = &rec->settings;
    out(b, "## Methodology\n\n");
    out(b, "Zenith ran the model in the **%s** scenario (%s mode), following MLPerf LoadGen's rules: ",
        s->scenario[0] ? s->scenario : "?", s->test_mode[0] ? s->test_mode : "performance");
    if (!strcmp(s->scenario, "server"))
        out(b, "queries arrive as a seeded Poisson process at %.1f QPS and latency counts from each query's "
               "scheduled arrival, so queueing in a saturated system is measured; ",
            s->target_qps);
    else if (!strcmp(s->scenario, "offline"))
        out(b, "all samples are issued at once and processed in batches of up to %d; ", s->max_batch);
    else
        out(b, "one query of %d sample%s at a time, the next issued when the last completes; ",
            s->samples_per_query > 0 ? s->samples_per_query : 1, s->samples_per_query > 1 ? "s" : "");
    out(b, "the run lasts until both the minimum duration (%lld ms) and the minimum query count (%lld) are met",
        (long long)s->min_duration_ms, (long long)s->min_query_count);
    if (s->max_duration_ms > 0) out(b, ", at most %lld ms", (long long)s->max_duration_ms);
    out(b, ". %lld warm-up quer%s ran first and are not counted. ", (long long)s->warmup_queries,
        s->warmup_queries == 1 ? "y" : "ies");
    out(b, "Times come from CLOCK_MONOTONIC; percentiles come from a log-linear histogram accurate to 0.4%% "
           "and use LoadGen's rank definition. Seeds: schedule %llu, samples %llu, weights %llu: the same seeds "
           "and settings give the same queries and inputs.",
        (unsigned long long)s->schedule_seed, (unsigned long long)s->sample_seed, (unsigned long long)s->weight_seed);
    if (rec->has_profile)
        out(b, " Per-node times come from the runtime's observer (two clock reads per node) over %lld runs.",
            (long long)rec->profile.runs);
    out(b, "\n\n");
}

static void section_system(sb *b, const zn_record *rec) {
    const zn_system_info *y = &rec->system;
    const zn_build_info *u = &rec->build;
    out(b, "## System\n\n| | |\n|---|---|\n");
    out(b, "| Host | %s |\n", cell(y->hostname));
    out(b, "| CPU | %s |\n", cell(y->cpu_model));
    out(b, "| Cores | %d online (%d configured) |\n", y->cores_online, y->cores_configured);
    out(b, "| SIMD | %s |\n", cell(y->simd));
    out(b, "| Memory | %s total, %s available |\n", fmt_bytes((double)y->mem_total_bytes),
        fmt_bytes((double)y->mem_available_bytes));
    out(b, "| OS | %s %s (%s) |\n", cell(y->os), cell(y->kernel), cell(y->arch));
    out(b, "| GPU | %s |\n", cell(y->gpu));
    out(b, "| Driver | %s |\n", cell(y->driver));
    out(b, "| Zenith | %s, commit %s, backends: %s |\n", cell(u->version), cell(u->git_commit), cell(u->backends));
    out(b, "| Compiler | %s |\n", cell(u->compiler));
    out(b, "| Flags | `%s` |\n\n", cell(u->flags));
}

static void section_model(sb *b, const zn_record *rec) {
    const zn_record_model *m = &rec->model;
    out(b, "## Model\n\n| | |\n|---|---|\n");
    out(b, "| Name | %s |\n", cell(m->name));
    out(b, "| Source | %s%s%s |\n", cell(m->source), m->path[0] ? ": " : "", m->path[0] ? cell(m->path) : "");
    if (m->producer[0]) out(b, "| Producer | %s %s, opset %lld |\n", cell(m->producer), cell(m->producer_version), (long long)m->opset);
    for (int i = 0; i < m->n_inputs; i++)
        out(b, "| Input | `%s` %s [%s] |\n", cell(m->inputs[i].name), m->inputs[i].dtype, dims_str(&m->inputs[i]));
    for (int i = 0; i < m->n_outputs; i++)
        out(b, "| Output | `%s` %s [%s] |\n", cell(m->outputs[i].name), m->outputs[i].dtype, dims_str(&m->outputs[i]));
    out(b, "| Parameters | %s (%s) |\n", fmt_count((double)m->params), fmt_bytes((double)m->param_bytes));
    out(b, "| FLOPs | %s per run, %s per sample (batch %d) |\n\n", fmt_count(m->flops_per_run),
        fmt_count(m->flops_per_sample), m->batch);
}

static void section_compile(sb *b, const zn_record *rec) {
    const zn_record_compile *c = &rec->compile;
    out(b, "## Compile summary\n\n| | |\n|---|---|\n");
    out(b, "| Backend | %s, %s, mode %s, %d thread%s |\n", c->backend, c->precision, c->mode, c->threads,
        c->threads == 1 ? "" : "s");
    out(b, "| Nodes | %d → %d (%d steps) |\n", c->nodes_before, c->nodes_after, c->steps);
    double saved = c->naive_bytes > 0 ? 100.0 * (1.0 - (double)c->planned_peak_bytes / (double)c->naive_bytes) : 0;
    out(b, "| Activation memory | %s planned vs %s naive (%.0f%% saved, %d in place) |\n",
        fmt_bytes((double)c->planned_peak_bytes), fmt_bytes((double)c->naive_bytes), saved, c->inplace_count);
    out(b, "| Weights / scratch | %s / %s |\n", fmt_bytes((double)c->weight_bytes), fmt_bytes((double)c->scratch_bytes));
    out(b, "| Compile time | %.1f ms |\n\n", c->compile_ms);
    if (c->n_passes > 0) {
        out(b, "| Pass | Changes | Time | Detail |\n|---|---:|---:|---|\n");
        for (int i = 0; i < c->n_passes; i++)
            out(b, "| %s | %d | %.2f ms | %s |\n", cell(c->passes[i].name), c->passes[i].changes, c->passes[i].ms,
                cell(c->passes[i].detail));
        out(b, "\n");
    }
    if (c->n_fusions > 0) {
        out(b, "Fusions:");
        for (int i = 0; i < c->n_fusions; i++) out(b, "%s %s ×%d", i ? "," : "", c->fusions[i].op, c->fusions[i].count);
        out(b, "\n\n");
    }
}

static void section_settings(sb *b, const zn_record *rec) {
    const zn_record_settings *s = &rec->settings;
    out(b, "## Settings\n\n| Setting | Value |\n|---|---|\n");
    out(b, "| scenario | %s |\n| test mode | %s |\n", s->scenario, s->test_mode);
    out(b, "| min duration | %lld ms |\n| max duration | %lld ms |\n", (long long)s->min_duration_ms,
        (long long)s->max_duration_ms);
    out(b, "| min queries | %lld |\n| max queries | %lld |\n", (long long)s->min_query_count,
        (long long)s->max_query_count);
    out(b, "| target QPS | %g |\n", s->target_qps);
    out(b, "| latency bound | %s at p%g |\n", s->target_latency_ns ? fmt_ns((double)s->target_latency_ns) : "none",
        s->target_latency_percentile);
    out(b, "| samples per query | %d |\n", s->samples_per_query);
    out(b, "| sample count (total / performance) | %lld / %lld |\n", (long long)s->total_sample_count,
        (long long)s->performance_sample_count);
    out(b, "| seeds (schedule / sample / weights) | %llu / %llu / %llu |\n", (unsigned long long)s->schedule_seed,
        (unsigned long long)s->sample_seed, (unsigned long long)s->weight_seed);
    out(b, "| warm-up | %lld queries, %lld ms |\n", (long long)s->warmup_queries, (long long)s->warmup_ms);
    out(b, "| dynamic batching | max batch %d, max queue delay %s |\n", s->max_batch,
        fmt_ns((double)s->max_queue_delay_ns));
    out(b, "| workers / threads | %d / %d |\n", s->n_workers, s->threads);
    out(b, "| backend / precision / mode | %s / %s / %s |\n", s->backend, s->precision, s->compile_mode);
    out(b, "| batch | %d |\n\n", s->batch);
}

static void image(sb *b, const char *alt, const char *rel) {
    if (rel && rel[0]) out(b, "![%s](%s)\n\n", alt, rel);
}

static void section_results(sb *b, const zn_record *rec, const chart_links *ch) {
    const zn_record_results *r = &rec->results;
    out(b, "## Results\n\n");
    if (!r->present) {
        out(b, "No results: the run ended before the scenario produced any.\n\n");
        return;
    }
    out(b, "| Statistic | Value | Exact |\n|---|---:|---:|\n");
    out(b, "| %s | %s | %.6g |\n", r->metric_name[0] ? cell(r->metric_name) : "metric", metric_text(r), r->metric_value);
    out(b, "| queries / samples | %lld / %lld | |\n", (long long)r->query_count, (long long)r->sample_count);
    out(b, "| duration | %s | %lld ns |\n", fmt_ns((double)r->duration_ns), (long long)r->duration_ns);
    out(b, "| QPS with harness overhead | %.2f | |\n", r->qps_with_overhead);
    out(b, "| QPS without harness overhead | %.2f | |\n", r->qps_without_overhead);
    out(b, "| samples/s | %.2f | |\n", r->samples_per_second);
    if (r->harness_overhead_ns > 0)
        out(b, "| harness cost per query (issue + complete) | %s | %.0f ns |\n", fmt_ns(r->harness_overhead_ns),
            r->harness_overhead_ns);
    if (!strcmp(rec->settings.scenario, "server"))
        out(b, "| scheduled / completed QPS | %.2f / %.2f | |\n", r->scheduled_qps, r->completed_qps);
    struct {
        const char *name;
        int64_t v;
    } lat[] = {{"latency min", r->lat_min_ns}, {"latency mean", r->lat_mean_ns}, {"latency p50", r->p50_ns},
               {"latency p90", r->p90_ns},     {"latency p95", r->p95_ns},       {"latency p97", r->p97_ns},
               {"latency p99", r->p99_ns},     {"latency p99.9", r->p999_ns},    {"latency max", r->lat_max_ns}};
    for (size_t i = 0; i < sizeof lat / sizeof lat[0]; i++)
        out(b, "| %s | %s | %lld ns |\n", lat[i].name, fmt_ns((double)lat[i].v), (long long)lat[i].v);
    out(b, "| coefficient of variation | %.3f%s | |\n", r->cv, r->noisy ? " (noisy)" : "");
    if (r->es_applicable)
        out(b, "| early-stopping estimate | %s | %lld ns |\n", fmt_ns((double)r->es_latency_ns),
            (long long)r->es_latency_ns);
    if (r->issue_lag.count > 0)
        out(b, "| issue lag max | %s | %lld ns |\n", fmt_ns((double)r->issue_lag.max), (long long)r->issue_lag.max);
    if (r->overlatency_count > 0) out(b, "| queries over the bound | %lld | |\n", (long long)r->overlatency_count);
    out(b, "\n");
    if (ch) {
        image(b, "Latency histogram with p50, p90 and p99 marked", ch->hist);
        image(b, "Latency of each query over the run", ch->time);
        image(b, "Offered vs achieved QPS over the run", ch->qps);
    }
}

static void section_verdict(sb *b, const zn_record *rec) {
    const zn_record_results *r = &rec->results;
    out(b, "## Verdict and recommendations\n\n**%s**", zn_record_verdict(rec));
    if (strcmp(rec->status, "completed") != 0)
        out(b, ": the run was %s (%s).", rec->status, rec->reason);
    else if (r->invalid_reason[0])
        out(b, ": %s.", r->invalid_reason);
    out(b, "\n\n");
    if (r->n_rules > 0) {
        out(b, "| Rule | Result | Detail |\n|---|---|---|\n");
        for (int i = 0; i < r->n_rules; i++)
            out(b, "| %s | %s | %s |\n", cell(r->rules[i].name), r->rules[i].passed ? "pass" : "**FAIL**",
                cell(r->rules[i].detail));
        out(b, "\n");
    }
    int n = 0;
    for (int i = 0; i < r->n_recommendations; i++, n++) out(b, "- %s\n", r->recommendations[i]);
    bool said_noise = false;
    for (int i = 0; i < r->n_recommendations; i++) said_noise |= strstr(r->recommendations[i], "CV") != NULL;
    if (r->present && r->noisy && !said_noise) {
        out(b, "- The latency varies a lot between queries (CV %.2f): close other programs, pin the threads "
               "(--threads) and run longer before comparing percentiles.\n",
            r->cv);
        n++;
    }
    if (rec->has_profile && rec->profile.n_ops > 0 && rec->profile.ops[0].share > 0.5) {
        out(b, "- %s takes %.0f%% of the compute time: its kernels are where optimisation pays.\n",
            rec->profile.ops[0].op, 100 * rec->profile.ops[0].share);
        n++;
    }
    if (!n) out(b, "No recommendations.\n");
    out(b, "\n");
}

static void section_profile(sb *b, const zn_record *rec, int top_n, const chart_links *ch) {
    out(b, "## Where the time goes\n\n");
    if (!rec->has_profile || rec->profile.n_nodes == 0) {
        out(b, "No per-node profile in this run.\n\n");
        return;
    }
    const zn_profile *p = &rec->profile;
    double overhead = p->run_ns > 0 ? 100.0 * (double)(p->run_ns - p->total_ns) / (double)p->run_ns : 0;
    out(b, "%lld runs; %s in nodes out of %s inside runs (%.1f%% runtime overhead).\n\n", (long long)p->runs,
        fmt_ns((double)p->total_ns), fmt_ns((double)p->run_ns), overhead);
    int n = p->n_nodes < top_n ? p->n_nodes : top_n;
    out(b, "Top %d nodes by time:\n\n| # | Node | Op | Kernel | Calls | Total | Mean | Share |\n"
           "|---:|---|---|---|---:|---:|---:|---:|\n", n);
    for (int i = 0; i < n; i++) {
        const zn_profile_node *x = &p->nodes[i];
        out(b, "| %d | `%s` | %s | %s | %lld | %s | %s | %.1f%% |\n", i + 1, cell(x->name), cell(x->op),
            cell(x->kernel), (long long)x->count, fmt_ns((double)x->total_ns), fmt_ns(x->mean_ns), 100 * x->share);
    }
    if (ch && ch->nodes[0]) {
        out(b, "\n");
        image(b, "Top nodes by time per run", ch->nodes);
    }
    n = p->n_ops < top_n ? p->n_ops : top_n;
    out(b, "\nTop %d ops by time:\n\n| # | Op | Nodes | Calls | Total | Mean | Share |\n"
           "|---:|---|---:|---:|---:|---:|---:|\n", n);
    for (int i = 0; i < n; i++) {
        const zn_profile_op *x = &p->ops[i];
        out(b, "| %d | %s | %d | %lld | %s | %s | %.1f%% |\n", i + 1, cell(x->op), x->nodes, (long long)x->count,
            fmt_ns((double)x->total_ns), fmt_ns(x->mean_ns), 100 * x->share);
    }
    out(b, "\n");
    if (ch) image(b, "Time per run by op kind", ch->ops);
}

static void section_accuracy(sb *b, const zn_record *rec) {
    out(b, "## Accuracy\n\n");
    const zn_record_accuracy *a = &rec->accuracy;
    if (!a->present) {
        out(b, "Not checked in this run (use `--test-mode accuracy --data DIR` or `zenith-bench check`).\n\n");
        return;
    }
    out(b, "**%s**\n\n| Output | Elements | Max abs err | Max rel err | Cosine | Mismatches | Top-1 | Result |\n"
           "|---|---:|---:|---:|---:|---:|---:|---|\n",
        a->pass ? "PASS" : "FAIL");
    for (int i = 0; i < a->n_outputs; i++) {
        const zn_accuracy *x = &a->outputs[i].acc;
        char top1[48] = "n/a";
        if (x->has_top1) snprintf(top1, sizeof top1, "%lld/%lld", (long long)x->top1_agree, (long long)x->top1_rows);
        out(b, "| `%s` | %lld | %.3g | %.3g | %.6f | %lld | %s | %s |\n", cell(a->outputs[i].name), (long long)x->count,
            x->max_abs_err, x->max_rel_err, x->cosine, (long long)x->mismatches, top1, x->pass ? "pass" : "**FAIL**");
    }
    out(b, "\n");
}

/* find-peak: every step of the search, and the curve of latency against offered load. */
static void section_peak(sb *b, const zn_record *rec, const chart_links *ch) {
    if (!rec->has_peak) return;
    const zn_peak_result *pk = &rec->peak;
    out(b, "## Peak search\n\n");
    if (pk->found)
        out(b, "Highest offered load meeting the bound: **%.2f QPS** (bracket %.2f VALID .. %.2f INVALID, "
               "precision %.0f%%). %s\n\n",
            pk->peak_qps, pk->lo_qps, pk->hi_qps, 100 * pk->precision, pk->note);
    else
        out(b, "No offered load met the bound. %s\n\n", pk->note);
    out(b, "Bracketing by doubling, then bisection; each step is a short server run judged by the same rules. "
           "The results above are a confirmation run at the peak.\n\n");
    out(b, "| Step | Offered QPS | Achieved QPS | Latency at p%g | Bound | Verdict |\n|---:|---:|---:|---:|---:|---|\n",
        pk->n_points ? pk->points[0].percentile : 99.0);
    for (int i = 0; i < pk->n_points && i < ZN_PEAK_MAX_POINTS; i++) {
        const zn_peak_point *p = &pk->points[i];
        out(b, "| %d | %.2f | %.2f | %s | %s | %s |\n", i + 1, p->qps, p->achieved_qps, fmt_ns((double)p->latency_ns),
            fmt_ns((double)p->bound_ns), p->valid ? "VALID" : cell(p->reason[0] ? p->reason : "INVALID"));
    }
    out(b, "\n");
    if (ch && ch->peak[0]) out(b, "![latency against offered load](%s)\n\n", ch->peak);
}

static char *render(const zn_record *rec, int top_n, const chart_links *ch) {
    if (top_n <= 0) top_n = 10;
    sb b = {0};
    const zn_record_results *r = &rec->results;
    const char *verdict = zn_record_verdict(rec);
    out(&b, "# Zenith benchmark: %s, %s — %s\n\n", rec->model.name[0] ? rec->model.name : "?",
        rec->settings.scenario[0] ? rec->settings.scenario : "?", verdict);
    if (r->present)
        out(&b, "> **%s**: %s %s on %s (%s, %s, %d thread%s).", verdict, r->metric_name[0] ? r->metric_name : "metric",
            metric_text(r), rec->system.cpu_model[0] ? rec->system.cpu_model : "?", rec->compile.backend,
            rec->compile.precision, rec->compile.threads, rec->compile.threads == 1 ? "" : "s");
    else
        out(&b, "> **%s**: no results.", verdict);
    if (strcmp(rec->status, "completed") != 0) out(&b, " Run %s: %s.", rec->status, rec->reason);
    out(&b, "\n>\n> Run `%s`, %s, zenith-bench %s, record schema %d.\n\n", rec->run_id, rec->created, rec->tool_version,
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
    section_accuracy(&b, rec);
    out(&b, "## Reproduce\n\n```\n%s\n```\n", rec->command_line[0] ? rec->command_line : "zenith-bench run ...");
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
        (st = chart(rec, md_path, "nodes", zn_chart_node_bars, ch.nodes, sizeof ch.nodes)) != ZN_OK) {
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
