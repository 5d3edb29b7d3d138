/* compare.c — comparing run records (compare.h): ratios, a seeded bootstrap of the ratio of
 * medians, per-op / per-node deltas, differences in settings and environment, and the markdown
 * with its chart. */
#include "reports/compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/charts.h"
#include "suites/loadgen.h"
#include "reports/strbuf.h"

void zn_compare_opts_default(zn_compare_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_boot = 2000;
    o->confidence = 0.95;
    o->seed = 0x5EEDC0DEull;
    o->max_samples = 20000;
}

void zn_compare_run_label(const zn_record *rec, char *buf, size_t cap) {
    snprintf(buf, cap, "%s %s %s b%d t%d @%s", rec->model.name[0] ? rec->model.name : "?", rec->settings.backend,
             rec->settings.precision, rec->settings.batch, rec->settings.threads,
             rec->system.hostname[0] ? rec->system.hostname : "?");
}

/* ---- statistics ------------------------------------------------------------------------------ */

static double quickselect(double *a, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/* Median: the mean of the two middle values for even n. a is reordered. */
static double median(double *a, int n) {
    if (n <= 0) return 0;
    double hi = quickselect(a, n, n / 2);
    if (n % 2) return hi;
    double lo = a[0];
    for (int i = 1; i < n / 2; i++) lo = a[i] > lo ? a[i] : lo; /* max of the lower half */
    return 0.5 * (lo + hi);
}

/* The record's latencies, thinned evenly to at most max. malloc'd. */
static double *latencies(const zn_record *rec, int max, int *n) {
    int64_t total = rec->results.n_queries;
    *n = 0;
    if (total <= 0 || !rec->results.queries) return NULL;
    int m = total > max ? max : (int)total;
    double *v = malloc((size_t)m * sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < m; i++) v[i] = (double)rec->results.queries[(int64_t)((double)i * (double)total / m)].latency_ns;
    *n = m;
    return v;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static zn_status bootstrap(const zn_record *a, const zn_record *b, const zn_compare_opts *o, zn_compare_run *r) {
    int na, nb;
    double *va = latencies(a, o->max_samples, &na), *vb = latencies(b, o->max_samples, &nb);
    double *ra = NULL, *rb = NULL, *ratios = NULL;
    zn_status st = ZN_OK;
    r->n_base = na;
    r->n_other = nb;
    if (na < 2 || nb < 2) goto done; /* not available */
    ra = malloc((size_t)na * sizeof *ra);
    rb = malloc((size_t)nb * sizeof *rb);
    ratios = malloc((size_t)o->n_boot * sizeof *ratios);
    if (!ra || !rb || !ratios) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "compare: no memory for the bootstrap");
        goto done;
    }
    memcpy(ra, va, (size_t)na * sizeof *ra);
    memcpy(rb, vb, (size_t)nb * sizeof *rb);
    double ma = median(ra, na), mb = median(rb, nb);
    r->median_ratio = mb > 0 ? ma / mb : 0;
    zn_rng rng;
    zn_rng_seed(&rng, o->seed);
    for (int k = 0; k < o->n_boot; k++) {
        for (int i = 0; i < na; i++) ra[i] = va[zn_rng_below(&rng, na)];
        for (int i = 0; i < nb; i++) rb[i] = vb[zn_rng_below(&rng, nb)];
        double x = median(ra, na), y = median(rb, nb);
        ratios[k] = y > 0 ? x / y : 0;
    }
    qsort(ratios, (size_t)o->n_boot, sizeof *ratios, cmp_double);
    double alpha = 1 - o->confidence;
    int lo = (int)floor(alpha / 2 * (o->n_boot - 1)), hi = (int)ceil((1 - alpha / 2) * (o->n_boot - 1));
    r->ci_lo = ratios[lo];
    r->ci_hi = ratios[hi];
    r->test_available = true;
    r->significant = r->ci_lo > 1.0 || r->ci_hi < 1.0;
done:
    free(va);
    free(vb);
    free(ra);
    free(rb);
    free(ratios);
    return st;
}

/* ---- metrics, deltas, notes ------------------------------------------------------------------ */

static void metric(zn_compare_run *r, const char *name, bool lower_better, double base, double other) {
    zn_compare_metric *m = &r->metrics[r->n_metrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->lower_is_better = lower_better;
    m->base = base;
    m->other = other;
    m->speedup = lower_better ? (other > 0 ? base / other : 0) : (base > 0 ? other / base : 0);
    if (!(m->speedup > 0)) snprintf(m->verdict, sizeof m->verdict, "n/a");
    else if (fabs(m->speedup - 1) < 0.005) snprintf(m->verdict, sizeof m->verdict, "same (1.00x)");
    else if (m->speedup > 1) snprintf(m->verdict, sizeof m->verdict, "%.2fx faster", m->speedup);
    else snprintf(m->verdict, sizeof m->verdict, "%.2fx slower", 1 / m->speedup);
}

static int cmp_delta(const void *x, const void *y) {
    const zn_compare_delta *a = x, *b = y;
    double da = fabs(a->delta_ns), db = fabs(b->delta_ns);
    if (da != db) return (da < db) - (da > db);
    return strcmp(a->name, b->name);
}

static double runs_of(const zn_record *r) { return r->profile.runs > 0 ? (double)r->profile.runs : 1; }

/* Per-op (nodes = false) or per-node deltas, by name, largest |delta| first. */
static int deltas(const zn_record *a, const zn_record *b, bool nodes, zn_compare_delta *out, int cap) {
    if (!a->has_profile || !b->has_profile) return 0;
    int na = nodes ? a->profile.n_nodes : a->profile.n_ops, nb = nodes ? b->profile.n_nodes : b->profile.n_ops;
    int n = 0;
    zn_compare_delta *all = calloc((size_t)(na + nb) + 1, sizeof *all);
    if (!all) return 0;
#define NAME_OF(rec, i) (nodes ? (rec)->profile.nodes[i].name : (rec)->profile.ops[i].op)
#define TOTAL_OF(rec, i) (nodes ? (rec)->profile.nodes[i].total_ns : (rec)->profile.ops[i].total_ns)
    for (int i = 0; i < na; i++) {
        zn_compare_delta *d = &all[n++];
        if (nodes) snprintf(d->name, sizeof d->name, "%s [%s]", a->profile.nodes[i].name, a->profile.nodes[i].op);
        else snprintf(d->name, sizeof d->name, "%s", a->profile.ops[i].op);
        d->base_ns = (double)TOTAL_OF(a, i) / runs_of(a);
        for (int j = 0; j < nb; j++)
            if (!strcmp(NAME_OF(a, i), NAME_OF(b, j))) {
                d->other_ns = (double)TOTAL_OF(b, j) / runs_of(b);
                break;
            }
    }
    for (int j = 0; j < nb; j++) {
        bool seen = false;
        for (int i = 0; i < na && !seen; i++) seen = !strcmp(NAME_OF(a, i), NAME_OF(b, j));
        if (seen) continue;
        zn_compare_delta *d = &all[n++];
        if (nodes) snprintf(d->name, sizeof d->name, "%s [%s]", b->profile.nodes[j].name, b->profile.nodes[j].op);
        else snprintf(d->name, sizeof d->name, "%s", b->profile.ops[j].op);
        d->other_ns = (double)TOTAL_OF(b, j) / runs_of(b);
    }
#undef NAME_OF
#undef TOTAL_OF
    for (int i = 0; i < n; i++) all[i].delta_ns = all[i].other_ns - all[i].base_ns;
    qsort(all, (size_t)n, sizeof *all, cmp_delta);
    int k = n < cap ? n : cap;
    memcpy(out, all, (size_t)k * sizeof *out);
    free(all);
    return k;
}

__attribute__((format(printf, 2, 3))) static void note(zn_compare *c, const char *fmt, ...) {
    if (c->n_notes >= ZN_COMPARE_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes[c->n_notes++], sizeof c->notes[0], fmt, ap);
    va_end(ap);
}

static char L(int i) { return (char)('A' + i % 26); }

static void diff_str(zn_compare *c, int i, const char *what, const char *a, const char *b) {
    if (strcmp(a, b) != 0) note(c, "%s differs: %s (A) vs %s (%c)", what, a[0] ? a : "?", b[0] ? b : "?", L(i));
}

static void diff_num(zn_compare *c, int i, const char *what, double a, double b) {
    if (a != b) note(c, "%s differs: %g (A) vs %g (%c)", what, a, b, L(i));
}

static void env_notes(zn_compare *c, const zn_record *a, const zn_record *b, int i) {
    if (strcmp(a->system.hostname, b->system.hostname) != 0 || strcmp(a->system.cpu_model, b->system.cpu_model) != 0 ||
        strcmp(a->system.gpu, b->system.gpu) != 0) {
        c->different_machines = true;
        note(c, "**different machines**: A ran on %s (%s, %d cores, GPU %s), %c on %s (%s, %d cores, GPU %s); "
                "the ratios mix the machines with the code",
             a->system.hostname, a->system.cpu_model, a->system.cores_online, a->system.gpu[0] ? a->system.gpu : "none",
             L(i), b->system.hostname, b->system.cpu_model, b->system.cores_online,
             b->system.gpu[0] ? b->system.gpu : "none");
    } else if (a->system.cores_online != b->system.cores_online) {
        diff_num(c, i, "cores online", a->system.cores_online, b->system.cores_online);
    }
    const zn_record_settings *x = &a->settings, *y = &b->settings;
    if (x->schedule_seed != y->schedule_seed || x->sample_seed != y->sample_seed || x->weight_seed != y->weight_seed)
        note(c, "**different seeds** (schedule / sample / weights): %llu / %llu / %llu (A) vs %llu / %llu / %llu (%c): "
                "the queries and inputs differ",
             (unsigned long long)x->schedule_seed, (unsigned long long)x->sample_seed,
             (unsigned long long)x->weight_seed, (unsigned long long)y->schedule_seed,
             (unsigned long long)y->sample_seed, (unsigned long long)y->weight_seed, L(i));
    diff_str(c, i, "scenario", x->scenario, y->scenario);
    diff_str(c, i, "test mode", x->test_mode, y->test_mode);
    diff_str(c, i, "backend", x->backend, y->backend);
    diff_str(c, i, "precision", x->precision, y->precision);
    diff_str(c, i, "compile mode", x->compile_mode, y->compile_mode);
    diff_num(c, i, "threads", x->threads, y->threads);
    diff_num(c, i, "batch", x->batch, y->batch);
    diff_num(c, i, "max batch", x->max_batch, y->max_batch);
    diff_num(c, i, "workers", x->n_workers, y->n_workers);
    diff_num(c, i, "samples per query", x->samples_per_query, y->samples_per_query);
    diff_num(c, i, "target QPS", x->target_qps, y->target_qps);
    diff_num(c, i, "latency bound (ns)", (double)x->target_latency_ns, (double)y->target_latency_ns);
    diff_num(c, i, "min duration (ms)", (double)x->min_duration_ms, (double)y->min_duration_ms);
    diff_num(c, i, "min queries", (double)x->min_query_count, (double)y->min_query_count);
    diff_str(c, i, "build commit", a->build.git_commit, b->build.git_commit);
    diff_str(c, i, "zenith version", a->build.version, b->build.version);
    diff_str(c, i, "compiler", a->build.compiler, b->build.compiler);
    diff_str(c, i, "build flags", a->build.flags, b->build.flags);
    if (strcmp(zn_record_verdict(b), "VALID") != 0 && i > 0)
        note(c, "run %c is %s%s%s", L(i), zn_record_verdict(b), b->results.invalid_reason[0] ? ": " : "",
             b->results.invalid_reason);
    if (b->results.noisy) note(c, "run %c is noisy (latency CV %.2f): its percentiles move between runs", L(i), b->results.cv);
}

zn_status zn_compare_records(const zn_record *const *recs, int n, const zn_compare_opts *opts, zn_compare *out) {
    memset(out, 0, sizeof *out);
    if (opts) out->opts = *opts;
    else zn_compare_opts_default(&out->opts);
    zn_compare_opts *o = &out->opts;
    if (o->n_boot <= 0) o->n_boot = 2000;
    if (!(o->confidence > 0 && o->confidence < 1)) o->confidence = 0.95;
    if (o->seed == 0) o->seed = 0x5EEDC0DEull;
    if (o->max_samples <= 0) o->max_samples = 20000;
    if (n < 2 || n > ZN_COMPARE_MAX_RUNS) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "compare needs 2 to %d run records, got %d", ZN_COMPARE_MAX_RUNS, n);
        zn_error_hint("zenith-bench compare A.json B.json [more.json ...]");
        return ZN_ERR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < n; i++)
        if (!recs[i]->results.present) {
            zn_error_set(ZN_ERR_INVALID_ARGUMENT, "run %c (%s) has no results to compare", L(i), recs[i]->run_id);
            zn_error_hint("compare records of runs that completed a scenario");
            return ZN_ERR_INVALID_ARGUMENT;
        }
    const zn_record *a = recs[0];
    for (int i = 1; i < n; i++)
        if (strcmp(a->model.name, recs[i]->model.name) != 0 || strcmp(a->model.path, recs[i]->model.path) != 0)
            out->different_models = true;
    if (out->different_models && !o->allow_different_models) {
        for (int i = 1; i < n; i++)
            if (strcmp(a->model.name, recs[i]->model.name) != 0 || strcmp(a->model.path, recs[i]->model.path) != 0) {
                zn_error_set(ZN_ERR_INVALID_ARGUMENT, "run A is of model '%s' and run %c of model '%s'; refusing to compare different models",
                             a->model.name, L(i), recs[i]->model.name);
                break;
            }
        zn_error_hint("pass --allow-different-models to compare them anyway");
        return ZN_ERR_INVALID_ARGUMENT;
    }
    out->n_records = n;
    out->n_runs = n - 1;
    if (out->different_models) note(out, "**different models**: compared because --allow-different-models was given");
    for (int i = 1; i < n; i++) {
        const zn_record *b = recs[i];
        zn_compare_run *r = &out->runs[i - 1];
        r->index = i;
        const zn_record_results *x = &a->results, *y = &b->results;
        metric(r, "p50", true, (double)x->p50_ns, (double)y->p50_ns);
        metric(r, "p90", true, (double)x->p90_ns, (double)y->p90_ns);
        metric(r, "p95", true, (double)x->p95_ns, (double)y->p95_ns);
        metric(r, "p99", true, (double)x->p99_ns, (double)y->p99_ns);
        metric(r, "p99.9", true, (double)x->p999_ns, (double)y->p999_ns);
        metric(r, "mean", true, (double)x->lat_mean_ns, (double)y->lat_mean_ns);
        metric(r, "QPS", false, x->qps_with_overhead, y->qps_with_overhead);
        metric(r, "samples/s", false, x->samples_per_second, y->samples_per_second);
        zn_status st = bootstrap(a, b, o, r);
        if (st != ZN_OK) return st;
        r->n_ops = deltas(a, b, false, r->ops, ZN_COMPARE_MAX_DELTAS);
        r->n_nodes = deltas(a, b, true, r->nodes, ZN_COMPARE_MAX_DELTAS);
        env_notes(out, a, b, i);
    }
    if (strcmp(zn_record_verdict(a), "VALID") != 0)
        note(out, "run A (the baseline) is %s%s%s", zn_record_verdict(a), a->results.invalid_reason[0] ? ": " : "",
             a->results.invalid_reason);
    if (a->results.noisy) note(out, "run A is noisy (latency CV %.2f): its percentiles move between runs", a->results.cv);
    return ZN_OK;
}

/* ---- markdown -------------------------------------------------------------------------------- */

static const char *fmt_ns(double ns, char *b, size_t cap) {
    double a = fabs(ns);
    if (a >= 1e9) snprintf(b, cap, "%.3f s", ns / 1e9);
    else if (a >= 1e6) snprintf(b, cap, "%.3f ms", ns / 1e6);
    else if (a >= 1e3) snprintf(b, cap, "%.1f µs", ns / 1e3);
    else snprintf(b, cap, "%.0f ns", ns);
    return b;
}

static const char *fmt_val(const zn_compare_metric *m, double v, char *b, size_t cap) {
    if (m->lower_is_better) return fmt_ns(v, b, cap);
    snprintf(b, cap, "%.2f", v);
    return b;
}

static const char *cell(const char *s, char *b, size_t cap) {
    size_t i = 0;
    for (; s && *s && i + 1 < cap; s++) b[i++] = (*s == '|' || *s == '\n') ? '/' : *s;
    b[i] = 0;
    return b;
}

char *zn_compare_to_markdown(const zn_compare *c, const zn_record *const *recs, const char *const *names,
                             const char *chart_rel) {
    zn_sb b = {0};
    char t1[64], t2[64], t3[64], cb[512];
    const zn_record *a = recs[0];
    zn_sb_printf(&b, "# Zenith comparison: %d runs of %s, %s\n\n", c->n_records, a->model.name, a->settings.scenario);
    zn_sb_printf(&b, "| Run | Record | Model | Backend / precision / mode | Batch | Threads | Host | Commit | Verdict |\n"
            "|---|---|---|---|---:|---:|---|---|---|\n");
    for (int i = 0; i < c->n_records; i++) {
        const zn_record *r = recs[i];
        zn_sb_printf(&b, "| %c%s | %s | %s | %s / %s / %s | %d | %d | %s | %s | %s |\n", L(i), i == 0 ? " (baseline)" : "",
            cell(names && names[i] ? names[i] : r->run_id, cb, sizeof cb), r->model.name, r->settings.backend,
            r->settings.precision, r->settings.compile_mode, r->settings.batch, r->settings.threads, r->system.hostname,
            r->build.git_commit, zn_record_verdict(r));
    }
    zn_sb_printf(&b, "\n");
    for (int k = 0; k < c->n_runs; k++) {
        const zn_compare_run *r = &c->runs[k];
        char o = L(r->index);
        zn_sb_printf(&b, "## %c vs A\n\n| Metric | A | %c | %c vs A |\n|---|---:|---:|---|\n", o, o, o);
        for (int m = 0; m < r->n_metrics; m++) {
            const zn_compare_metric *x = &r->metrics[m];
            zn_sb_printf(&b, "| %s | %s | %s | %s |\n", x->name, fmt_val(x, x->base, t1, sizeof t1), fmt_val(x, x->other, t2, sizeof t2),
                x->verdict);
        }
        zn_sb_printf(&b, "\n");
        if (r->test_available) {
            char mv[48];
            if (fabs(r->median_ratio - 1) < 0.005) snprintf(mv, sizeof mv, "the same");
            else if (r->median_ratio > 1) snprintf(mv, sizeof mv, "%.2fx faster", r->median_ratio);
            else snprintf(mv, sizeof mv, "%.2fx slower", r->median_ratio > 0 ? 1 / r->median_ratio : 0);
            zn_sb_printf(&b, "**%s**: %c's median latency is %s: the ratio of median latencies A / %c is %.3f, 95%% bootstrap "
                    "interval [%.3f, %.3f] (%d resamples of %d and %d per-query latencies, seed %llu). %s\n\n",
                r->significant ? "Beyond the noise" : "Within the noise", o, mv, o, r->median_ratio, r->ci_lo, r->ci_hi,
                c->opts.n_boot, r->n_base, r->n_other, (unsigned long long)c->opts.seed,
                r->significant ? (r->median_ratio > 1 ? "The median latency is significantly lower." : "The median latency is significantly higher.")
                               : "The interval includes 1: no significant difference in the median.");
        } else {
            zn_sb_printf(&b, "Significance: not available (a record holds fewer than 2 per-query latencies).\n\n");
        }
        if (r->n_ops > 0) {
            zn_sb_printf(&b, "Per-op time per run, by impact:\n\n| Op | A | %c | Δ |\n|---|---:|---:|---:|\n", o);
            for (int i = 0; i < r->n_ops; i++)
                zn_sb_printf(&b, "| %s | %s | %s | %s%s |\n", cell(r->ops[i].name, cb, sizeof cb), fmt_ns(r->ops[i].base_ns, t1, sizeof t1),
                    fmt_ns(r->ops[i].other_ns, t2, sizeof t2), r->ops[i].delta_ns > 0 ? "+" : "",
                    fmt_ns(r->ops[i].delta_ns, t3, sizeof t3));
            zn_sb_printf(&b, "\n");
        }
        if (r->n_nodes > 0) {
            zn_sb_printf(&b, "Per-node time per run, by impact:\n\n| Node | A | %c | Δ |\n|---|---:|---:|---:|\n", o);
            for (int i = 0; i < r->n_nodes; i++)
                zn_sb_printf(&b, "| `%s` | %s | %s | %s%s |\n", cell(r->nodes[i].name, cb, sizeof cb),
                    fmt_ns(r->nodes[i].base_ns, t1, sizeof t1), fmt_ns(r->nodes[i].other_ns, t2, sizeof t2),
                    r->nodes[i].delta_ns > 0 ? "+" : "", fmt_ns(r->nodes[i].delta_ns, t3, sizeof t3));
            zn_sb_printf(&b, "\n");
        }
    }
    if (chart_rel && chart_rel[0]) zn_sb_printf(&b, "![Latency percentiles and throughput of each run](%s)\n\n", chart_rel);
    zn_sb_printf(&b, "## Differences in settings and environment\n\n");
    if (c->n_notes == 0) zn_sb_printf(&b, "None: same machine, seeds, settings and build.\n");
    for (int i = 0; i < c->n_notes; i++) zn_sb_printf(&b, "- %s\n", c->notes[i]);
    zn_sb_printf(&b, "\n## Method\n\nRatios are A's value over the other run's for latencies and the other run's over A's for "
            "throughput, so above 1 reads \"faster\". Significance comes from a percentile bootstrap of the ratio of "
            "median per-query latencies (%d resamples, %.0f%% interval, seeded, so the same records give the same "
            "interval); a difference is beyond the noise when the interval excludes 1. The bootstrap sees the "
            "query-to-query noise within each run; run-to-run drift (other load, thermal state) is not in it, so "
            "repeat a run before trusting a small difference.\n",
        c->opts.n_boot, 100 * c->opts.confidence);
    if (b.oom) {
        free(b.s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing the comparison");
        return NULL;
    }
    return b.s;
}

zn_status zn_compare_write_report(const zn_compare *c, const zn_record *const *recs, const char *const *names,
                                  const char *md_path) {
    char path[4096], rel[1024];
    zn_chart_paths(md_path, "compare", path, sizeof path, rel, sizeof rel);
    char labels[ZN_COMPARE_MAX_RUNS][256];
    const char *lp[ZN_COMPARE_MAX_RUNS];
    for (int i = 0; i < c->n_records; i++) {
        zn_compare_run_label(recs[i], labels[i], sizeof labels[i]);
        lp[i] = labels[i];
    }
    zn_status st = zn_chart_compare(recs, c->n_records, lp, path, NULL);
    if (st != ZN_OK) return st;
    char *s = zn_compare_to_markdown(c, recs, names, rel);
    if (!s) return zn_last_error()->status;
    st = zn_write_file_atomic(md_path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("comparison report");
    return st;
}
