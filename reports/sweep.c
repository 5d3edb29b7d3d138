/* sweep.c — the sweep report (sweep.h). */
#include "reports/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/charts.h"
#include "reports/strbuf.h"

typedef enum { P_BACKEND, P_PRECISION, P_MODE, P_BATCH, P_THREADS, P_MAX_BATCH, P_WORKERS, P_QPS, P_SCENARIO, P_COUNT } param;
static const char *const param_name[P_COUNT] = {"backend", "precision", "mode",   "batch",   "threads",
                                                "max_batch", "workers", "target_qps", "scenario"};

static void param_value(const zn_record *r, param p, char *buf, size_t cap) {
    const zn_record_settings *s = &r->settings;
    switch (p) {
    case P_BACKEND: snprintf(buf, cap, "%s", s->backend); break;
    case P_PRECISION: snprintf(buf, cap, "%s", s->precision); break;
    case P_MODE: snprintf(buf, cap, "%s", s->compile_mode); break;
    case P_BATCH: snprintf(buf, cap, "%d", s->batch); break;
    case P_THREADS: snprintf(buf, cap, "%d", s->threads); break;
    case P_MAX_BATCH: snprintf(buf, cap, "%d", s->max_batch); break;
    case P_WORKERS: snprintf(buf, cap, "%d", s->n_workers); break;
    case P_QPS: snprintf(buf, cap, "%g", s->target_qps); break;
    case P_SCENARIO: snprintf(buf, cap, "%s", s->scenario); break;
    default: buf[0] = 0;
    }
}

static bool varies(const zn_record *const *recs, int n, param p) {
    char a[64], b[64];
    param_value(recs[0], p, a, sizeof a);
    for (int i = 1; i < n; i++) {
        param_value(recs[i], p, b, sizeof b);
        if (strcmp(a, b) != 0) return true;
    }
    return false;
}

void zn_sweep_label(const zn_record *const *recs, int n, int i, char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (int p = 0; p < P_COUNT; p++) {
        if (!varies(recs, n, (param)p)) continue;
        char v[64];
        param_value(recs[i], (param)p, v, sizeof v);
        int w = snprintf(buf + at, cap - at, "%s%s=%s", at ? " " : "", param_name[p], v);
        if (w < 0 || (size_t)w >= cap - at) break;
        at += (size_t)w;
    }
    if (!at) snprintf(buf, cap, "run %d", i + 1);
}

static const char *ms(int64_t ns, char *buf, size_t cap) {
    snprintf(buf, cap, "%.3f", (double)ns / 1e6);
    return buf;
}

char *zn_sweep_to_markdown(const zn_record *const *recs, int n, const char *chart_rel) {
    zn_sb b = {0};
    const zn_record *a = recs[0];
    zn_sb_printf(&b, "# Zenith sweep: %s, %s, %d configurations\n\n", a->model.name, a->settings.scenario, n);
    bool var[P_COUNT];
    int nv = 0;
    for (int p = 0; p < P_COUNT; p++) nv += (var[p] = varies(recs, n, (param)p));
    zn_sb_printf(&b, "|");
    for (int p = 0; p < P_COUNT; p++)
        if (var[p]) zn_sb_printf(&b, " %s |", param_name[p]);
    if (!nv) zn_sb_printf(&b, " run |");
    zn_sb_printf(&b, " p50 (ms) | p90 (ms) | p99 (ms) | QPS | samples/s | verdict |\n|");
    for (int p = 0; p < P_COUNT; p++)
        if (var[p]) zn_sb_printf(&b, "---|");
    if (!nv) zn_sb_printf(&b, "---|");
    zn_sb_printf(&b, "---:|---:|---:|---:|---:|---|\n");
    double best = 0;
    int best_i = 0;
    for (int i = 0; i < n; i++) {
        const zn_record_results *r = &recs[i]->results;
        char v[64], t1[32], t2[32], t3[32];
        zn_sb_printf(&b, "|");
        for (int p = 0; p < P_COUNT; p++)
            if (var[p]) {
                param_value(recs[i], (param)p, v, sizeof v);
                zn_sb_printf(&b, " %s |", v);
            }
        if (!nv) zn_sb_printf(&b, " %d |", i + 1);
        zn_sb_printf(&b, " %s | %s | %s | %.2f | %.2f | %s |\n", ms(r->p50_ns, t1, sizeof t1), ms(r->p90_ns, t2, sizeof t2),
            ms(r->p99_ns, t3, sizeof t3), r->qps_with_overhead, r->samples_per_second, zn_record_verdict(recs[i]));
        if (r->samples_per_second > best) {
            best = r->samples_per_second;
            best_i = i;
        }
    }
    char lab[256];
    zn_sweep_label(recs, n, best_i, lab, sizeof lab);
    zn_sb_printf(&b, "\nHighest throughput: %s, %.2f samples/s.\n\n", lab, best);
    if (chart_rel && chart_rel[0]) zn_sb_printf(&b, "![Throughput and latency per configuration](%s)\n\n", chart_rel);
    zn_sb_printf(&b, "Host %s (%s), zenith-bench %s, commit %s. Each configuration is one run record; re-render or compare them "
            "with `zenith-bench report` / `zenith-bench compare`.\n",
        a->system.hostname, a->system.cpu_model, a->build.version, a->build.git_commit);
    if (b.oom || !b.s) {
        free(b.s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing the sweep report");
        return NULL;
    }
    return b.s;
}

zn_status zn_sweep_write_report(const zn_record *const *recs, int n, const char *md_path) {
    if (n < 1 || n > ZN_SWEEP_MAX_RUNS) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "a sweep report takes 1 to %d runs, got %d", ZN_SWEEP_MAX_RUNS, n);
        zn_error_hint("list fewer values per parameter");
        return ZN_ERR_INVALID_ARGUMENT;
    }
    char labels[ZN_SWEEP_MAX_RUNS][128];
    const char *lp[ZN_SWEEP_MAX_RUNS];
    for (int i = 0; i < n; i++) {
        zn_sweep_label(recs, n, i, labels[i], sizeof labels[i]);
        lp[i] = labels[i];
    }
    char path[4096], rel[1024];
    zn_chart_paths(md_path, "sweep", path, sizeof path, rel, sizeof rel);
    zn_status st = zn_chart_sweep(recs, n, lp, path, NULL);
    if (st != ZN_OK) return st;
    char *s = zn_sweep_to_markdown(recs, n, rel);
    if (!s) return zn_last_error()->status;
    st = zn_write_file_atomic(md_path, s, strlen(s));
    free(s);
    if (st != ZN_OK) zn_error_prefix("sweep report");
    return st;
}
