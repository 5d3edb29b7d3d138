/* results.c — the results screen: a finished (or loaded) run record's verdict, rules,
 * recommendations, percentiles, histogram, accuracy and per-node / per-op tables (screens.h);
 * for CUDA runs also the GPU (device, clocks, the H2D / compute / D2H split), a GPU column in
 * the node table and a per-kernel table (launch sites from the CUPTI trace). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tui/screens.h"

static const tui_col NODE_COLS[] = {
    {"Node", 24, false, false}, {"Op", 14, false, false},  {"Count", 8, true, true}, {"Mean", 10, true, true},
    {"Total", 10, true, true},  {"Share", 7, true, true},  {"GPU/run", 9, true, true}, {"Kernel", 0, false, false},
};
enum { NODE_GPU_COL = 6, NODE_KERNEL_COL = 7 };
static const tui_col KERNEL_COLS[] = {
    {"Kernel", 30, false, false}, {"Node", 20, false, false}, {"Calls", 8, true, true}, {"Mean", 10, true, true},
    {"Total", 10, true, true},    {"Share", 7, true, true},   {"Grid  Block  Regs  Smem", 0, false, false},
};

/* Node paths share their start: a cell keeps the end ("...layer.0/ffn/up"). */
static const char *name_tail(const char *s, int w, char *buf, size_t cap) {
    size_t n = strlen(s);
    if ((int)n <= w || w < 4) return s;
    snprintf(buf, cap, "...%s", s + n - (size_t)(w - 3));
    return buf;
}

static const char *bytes_short(int64_t v, char *buf, size_t cap) {
    if (v >= 1024 && v % 1024 == 0) snprintf(buf, cap, "%lldK", (long long)(v / 1024));
    else snprintf(buf, cap, "%lld", (long long)v);
    return buf;
}
static const tui_col OP_COLS[] = {
    {"Op", 22, false, false}, {"Nodes", 6, true, true}, {"Count", 9, true, true},
    {"Mean", 10, true, true}, {"Total", 10, true, true}, {"Share", 7, true, true},
};

void tui_results_init(tui_results_view *v) {
    memset(v, 0, sizeof *v);
    tui_table_init(&v->nodes, 8, NODE_COLS);
    tui_table_init(&v->ops, 6, OP_COLS);
    tui_table_init(&v->kernels, 7, KERNEL_COLS);
}

static void drop_record(tui_results_view *v) {
    if (v->rec) {
        zn_record_free(v->rec);
        free(v->rec);
        v->rec = NULL;
    }
    free(v->hist);
    v->hist = NULL;
}

void tui_results_free(tui_results_view *v) {
    drop_record(v);
    tui_table_free(&v->nodes);
    tui_table_free(&v->ops);
    tui_table_free(&v->kernels);
}

void tui_results_set(tui_results_view *v, zn_record *rec, const char *source) {
    drop_record(v);
    v->rec = rec;
    snprintf(v->source, sizeof v->source, "%s", source ? source : "");
    v->scroll = 0;
    tui_table_clear(&v->nodes);
    tui_table_clear(&v->ops);
    tui_table_clear(&v->kernels);
    if (!rec) return;
    if (rec->results.present && rec->results.latency.count) {
        v->hist = malloc(sizeof *v->hist);
        if (v->hist && zn_record_hist_to_hist(&rec->results.latency, v->hist) != ZN_OK) {
            free(v->hist);
            v->hist = NULL;
        }
    }
    if (rec->has_profile) {
        char a[32], b[32];
        for (int i = 0; i < rec->profile.n_nodes; i++) {
            const zn_profile_node *n = &rec->profile.nodes[i];
            int r = tui_table_add(&v->nodes);
            if (r < 0) break;
            tui_table_set(&v->nodes, r, 0, 0, "%s", n->name);
            tui_table_set(&v->nodes, r, 1, 0, "%s", n->op);
            tui_table_set(&v->nodes, r, 2, (double)n->count, "%lld", (long long)n->count);
            tui_table_set(&v->nodes, r, 3, n->mean_ns, "%s", tui_fmt_ns(n->mean_ns, a, 32));
            tui_table_set(&v->nodes, r, 4, (double)n->total_ns, "%s", tui_fmt_ns((double)n->total_ns, b, 32));
            tui_table_set(&v->nodes, r, 5, n->share, "%.1f%%", n->share * 100);
            const zn_gpu_node *g = rec->has_gpu_profile ? zn_gpu_profile_node(&rec->gpu_profile, n->name) : NULL;
            if (g) tui_table_set(&v->nodes, r, NODE_GPU_COL, g->per_run_ns, "%s", tui_fmt_ns(g->per_run_ns, a, 32));
            tui_table_set(&v->nodes, r, NODE_KERNEL_COL, 0, "%s", n->kernel);
        }
        for (int i = 0; i < rec->profile.n_ops; i++) {
            const zn_profile_op *o = &rec->profile.ops[i];
            int r = tui_table_add(&v->ops);
            if (r < 0) break;
            tui_table_set(&v->ops, r, 0, 0, "%s", o->op);
            tui_table_set(&v->ops, r, 1, o->nodes, "%d", o->nodes);
            tui_table_set(&v->ops, r, 2, (double)o->count, "%lld", (long long)o->count);
            tui_table_set(&v->ops, r, 3, o->mean_ns, "%s", tui_fmt_ns(o->mean_ns, a, 32));
            tui_table_set(&v->ops, r, 4, (double)o->total_ns, "%s", tui_fmt_ns((double)o->total_ns, b, 32));
            tui_table_set(&v->ops, r, 5, o->share, "%.1f%%", o->share * 100);
        }
    }
    if (rec->has_gpu_profile) {
        char a[32], b[32];
        const zn_gpu_profile *gp = &rec->gpu_profile;
        /* no host profile (only the GPU's): the node rows come from the GPU profile */
        for (int i = 0; !rec->has_profile && i < gp->n_nodes; i++) {
            const zn_gpu_node *n = &gp->nodes[i];
            int r = tui_table_add(&v->nodes);
            if (r < 0) break;
            tui_table_set(&v->nodes, r, 0, 0, "%s", n->name);
            tui_table_set(&v->nodes, r, 1, 0, "%s", n->op);
            tui_table_set(&v->nodes, r, NODE_GPU_COL, n->per_run_ns, "%s", tui_fmt_ns(n->per_run_ns, a, 32));
            tui_table_set(&v->nodes, r, NODE_KERNEL_COL, 0, "%s", n->kernel);
        }
        for (int i = 0; i < gp->n_kernels; i++) {
            const zn_gpu_kernel *k = &gp->kernels[i];
            int r = tui_table_add(&v->kernels);
            if (r < 0) break;
            tui_table_set(&v->kernels, r, 0, 0, "%s", k->name);
            char tail[ZN_MAX_NAME];
            tui_table_set(&v->kernels, r, 1, 0, "%s", k->node[0] ? name_tail(k->node, 20, tail, sizeof tail) : "?");
            tui_table_set(&v->kernels, r, 2, (double)k->count, "%lld", (long long)k->count);
            tui_table_set(&v->kernels, r, 3, k->mean_ns, "%s", tui_fmt_ns(k->mean_ns, a, 32));
            tui_table_set(&v->kernels, r, 4, (double)k->total_ns, "%s", tui_fmt_ns((double)k->total_ns, b, 32));
            tui_table_set(&v->kernels, r, 5, k->share, "%.1f%%", k->share * 100);
            char sm[32];
            tui_table_set(&v->kernels, r, 6, 0, "%dx%dx%d  %dx%dx%d  %d  %s", k->grid[0], k->grid[1], k->grid[2],
                          k->block[0], k->block[1], k->block[2], k->regs,
                          bytes_short((int64_t)k->smem_static + k->smem_dynamic, sm, sizeof sm));
        }
    }
    /* by total time, largest first, until the user picks another column */
    tui_table_sort(&v->nodes, rec->has_profile ? 4 : NODE_GPU_COL, true);
    tui_table_sort(&v->ops, 4, true);
    tui_table_sort(&v->kernels, 4, true);
}

/* The table of a tab (NULL: the summary). */
static tui_table *tab_table(tui_results_view *v) {
    switch (v->tab) {
    case TUI_RES_NODES: return &v->nodes;
    case TUI_RES_OPS: return &v->ops;
    case TUI_RES_KERNELS: return &v->kernels;
    default: return NULL;
    }
}

tui_action tui_results_key(tui_results_view *v, int key) {
    tui_table *t = tab_table(v);
    switch (key) {
    case TUI_KEY_TAB:
    case 'l':
    case TUI_KEY_RIGHT: v->tab = (v->tab + 1) % TUI_RES_TABS; break;
    case TUI_KEY_BTAB:
    case 'h':
    case TUI_KEY_LEFT: v->tab = (v->tab + TUI_RES_TABS - 1) % TUI_RES_TABS; break;
    case 'w': return v->rec ? TUI_ACT_WRITE : TUI_ACT_NONE;
    case 'j':
    case TUI_KEY_DOWN:
        if (t) tui_table_move(t, 1);
        else v->scroll++;
        break;
    case 'k':
    case TUI_KEY_UP:
        if (t) tui_table_move(t, -1);
        else if (v->scroll > 0) v->scroll--;
        break;
    case TUI_KEY_PGDN:
        if (t) tui_table_move(t, 10);
        else v->scroll += 10;
        break;
    case TUI_KEY_PGUP:
        if (t) tui_table_move(t, -10);
        else v->scroll = v->scroll > 10 ? v->scroll - 10 : 0;
        break;
    case 'g':
    case TUI_KEY_HOME:
        if (t) t->sel = 0;
        else v->scroll = 0;
        break;
    case 'G':
    case TUI_KEY_END:
        if (t) t->sel = t->nrows - 1;
        break;
    case '>':
    case '.':
        if (t) tui_table_sort(t, (t->sort_col + 1) % t->ncols, t->cols[(t->sort_col + 1) % t->ncols].numeric);
        break;
    case '<':
    case ',':
        if (t) {
            int col = (t->sort_col + t->ncols - 1) % t->ncols;
            tui_table_sort(t, col, t->cols[col].numeric);
        }
        break;
    case 'i':
        if (t && t->sort_col >= 0) tui_table_sort(t, t->sort_col, !t->sort_desc);
        break;
    default: break;
    }
    return TUI_ACT_NONE;
}

/* ---- drawing ---------------------------------------------------------------------------------- */

/* The summary's text lines, drawn from line `first` on (scrolling). */
typedef struct lines {
    tui_canvas *c;
    tui_rect r;
    int n, first;
} lines;

static int line_y(lines *L) {
    int i = L->n++ - L->first;
    return i >= 0 && i < L->r.h ? L->r.y + i : -1;
}

/* Word-wraps text over as many lines as it needs: the first after `first_x` cells, the rest
 * indented by `indent`. */
static void wrapped(lines *L, int first_x, int indent, tui_role role, const char *text) {
    const char *p = text;
    int x = first_x;
    while (*p) {
        int w = L->r.w - x;
        if (w < 8) w = 8;
        int len = (int)strlen(p), take = len;
        if (len > w) {
            take = w;
            while (take > w / 2 && p[take] != ' ') take--;
            if (p[take] != ' ') take = w;
        }
        int y = line_y(L);
        if (y >= 0) tui_put_str(L->c, y, L->r.x + x, role, take, p);
        p += take;
        while (*p == ' ') p++;
        x = indent;
    }
}

/* CUDA runs: the device, its clocks, the per-run split and how much of the trace was tied to
 * nodes. */
static void draw_gpu_summary(lines *L, const zn_record *rec) {
    if (!rec->has_gpu && !rec->has_gpu_profile) return;
    tui_canvas *c = L->c;
    int x = L->r.x, w = L->r.w, y;
    char a[32], b[32], d[32], e[32], line[512];
    const zn_gpu_facts *g = &rec->gpu;
    if ((y = line_y(L)) >= 0) {
        tui_put_str(c, y, x, TUI_R_HEADING, 5, "GPU");
        if (rec->has_gpu)
            tui_printf(c, y, x + 5, TUI_R_NORMAL, w - 5, "%s  sm_%d%d  %d SMs  CUDA %s", g->name, g->cc_major, g->cc_minor,
                       g->sm_count, g->runtime_version);
    }
    if (rec->has_gpu) {
        if (g->nvml && g->samples > 0)
            snprintf(line, sizeof line, "SM clock %d-%d MHz (peak %d), %d-%d C, %.0f W mean over %lld samples", g->sm_mhz_min,
                     g->sm_mhz_max, g->sm_clock_max_mhz ? g->sm_clock_max_mhz : g->sm_clock_mhz, g->temp_c_min,
                     g->temp_c_max, g->power_w_mean, (long long)g->samples);
        else
            snprintf(line, sizeof line, "clocks not sampled: %s", g->nvml_note[0] ? g->nvml_note : "NVML not available");
        wrapped(L, 2, 4, g->nvml ? TUI_R_NORMAL : TUI_R_DIM, line);
        if (g->unstable && g->warning[0]) wrapped(L, 2, 4, TUI_R_WARN, g->warning);
    }
    if (!rec->has_gpu_profile) {
        snprintf(line, sizeof line, "no kernel trace: %s", g->cupti[0] ? g->cupti : "not collected");
        wrapped(L, 2, 4, TUI_R_DIM, line);
        return;
    }
    const zn_gpu_profile *p = &rec->gpu_profile;
    snprintf(line, sizeof line, "per run: H2D %s  compute %s (busy %s)  D2H %s", tui_fmt_ns(p->h2d.mean, a, 32),
             tui_fmt_ns(p->compute.mean, b, 32), tui_fmt_ns(p->busy.mean, d, 32), tui_fmt_ns(p->d2h.mean, e, 32));
    wrapped(L, 2, 4, TUI_R_VALUE, line);
    int64_t all = p->attributed + p->run_level + p->unattributed;
    snprintf(line, sizeof line, "%lld runs, %lld/%lld device activities tied to nodes, %lld to runs, %lld to nothing; "
             "%lld records dropped", (long long)p->runs, (long long)p->attributed, (long long)all, (long long)p->run_level,
             (long long)p->unattributed, (long long)p->dropped);
    wrapped(L, 2, 4, p->unattributed || p->dropped ? TUI_R_WARN : TUI_R_DIM, line);
}

static void draw_summary(tui_canvas *c, tui_rect r, tui_results_view *v) {
    const zn_record *rec = v->rec;
    const zn_record_results *res = &rec->results;
    int right_w = r.w >= 100 ? 44 : 24;
    tui_rect left = {r.y, r.x, r.h, r.w - right_w - 1};
    tui_rect right = {r.y, r.x + r.w - right_w, r.h, right_w};
    char a[32];
    lines L = {c, left, 0, v->scroll};
    int y;
    const char *verdict = zn_record_verdict(rec);
    if ((y = line_y(&L)) >= 0) {
        tui_put_str(c, y, left.x, TUI_R_LABEL, 9, "Verdict");
        int n = tui_put_str(c, y, left.x + 9, !strcmp(verdict, "VALID") ? TUI_R_GOOD : TUI_R_BAD, -1, verdict);
        tui_printf(c, y, left.x + 10 + n, TUI_R_DIM, left.w - 10 - n, "(%s%s%s)", rec->status, rec->reason[0] ? ": " : "",
                   rec->reason);
    }
    if ((y = line_y(&L)) >= 0)
        tui_printf(c, y, left.x, TUI_R_NORMAL, left.w, "%s  %s %s %s  %d threads  %s %s", rec->model.name,
                   rec->compile.backend, rec->compile.precision, rec->compile.mode, rec->compile.threads,
                   rec->settings.scenario, rec->settings.test_mode);
    if (res->present) {
        if ((y = line_y(&L)) >= 0) {
            if (!strcmp(res->metric_unit, "ns"))
                tui_printf(c, y, left.x, TUI_R_VALUE, left.w, "%s = %s", res->metric_name, tui_fmt_ns(res->metric_value, a, 32));
            else
                tui_printf(c, y, left.x, TUI_R_VALUE, left.w, "%s = %.2f %s", res->metric_name, res->metric_value,
                           res->metric_unit);
        }
        char line[256];
        snprintf(line, sizeof line, "%lld queries (%lld samples) in %.2f s; %.1f QPS (%.1f without harness overhead)",
                 (long long)res->query_count, (long long)res->sample_count, (double)res->duration_ns / 1e9,
                 res->qps_with_overhead, res->qps_without_overhead);
        wrapped(&L, 0, 2, TUI_R_NORMAL, line);
        if (res->noisy && (y = line_y(&L)) >= 0)
            tui_printf(c, y, left.x, TUI_R_WARN, left.w, "noisy: latency CV %.2f > 0.10", res->cv);
        if ((y = line_y(&L)) >= 0) tui_put_str(c, y, left.x, TUI_R_HEADING, left.w, "Rules");
        for (int i = 0; i < res->n_rules; i++) {
            const zn_rule_outcome *ro = &res->rules[i];
            int y0 = L.n - L.first;
            if (y0 >= 0 && y0 < left.h) {
                tui_put_ch(c, left.y + y0, left.x, ro->passed ? c->g->check : c->g->cross, ro->passed ? TUI_R_GOOD : TUI_R_BAD);
                tui_put_str(c, left.y + y0, left.x + 2, TUI_R_LABEL, 18, ro->name);
            }
            wrapped(&L, 21, 21, ro->passed ? TUI_R_NORMAL : TUI_R_BAD, ro->detail);
        }
        if (res->n_recommendations && (y = line_y(&L)) >= 0)
            tui_put_str(c, y, left.x, TUI_R_HEADING, left.w, "Recommendations");
        for (int i = 0; i < res->n_recommendations; i++) {
            int y0 = L.n - L.first;
            if (y0 >= 0 && y0 < left.h) tui_put_ch(c, left.y + y0, left.x, '-', TUI_R_WARN);
            wrapped(&L, 2, 2, TUI_R_WARN, res->recommendations[i]);
        }
    } else if ((y = line_y(&L)) >= 0) {
        tui_put_str(c, y, left.x, TUI_R_BAD, left.w, "no results: the run did not reach the scenario");
    }
    if ((y = line_y(&L)) >= 0) {
        if (!rec->accuracy.present)
            tui_put_str(c, y, left.x, TUI_R_DIM, left.w, "Accuracy  not checked (run with test mode accuracy)");
        else {
            tui_put_str(c, y, left.x, TUI_R_HEADING, 10, "Accuracy");
            tui_put_str(c, y, left.x + 10, rec->accuracy.pass ? TUI_R_GOOD : TUI_R_BAD, -1,
                        rec->accuracy.pass ? "PASS against the reference" : "FAIL against the reference");
        }
    }
    for (int i = 0; rec->accuracy.present && i < rec->accuracy.n_outputs; i++) {
        const zn_accuracy *x = &rec->accuracy.outputs[i].acc;
        if ((y = line_y(&L)) >= 0)
            tui_printf(c, y, left.x, x->pass ? TUI_R_NORMAL : TUI_R_BAD, left.w, "  %s  max abs %.3g  max rel %.3g  cos %.6f  %s",
                       rec->accuracy.outputs[i].name, x->max_abs_err, x->max_rel_err, x->cosine, x->pass ? "ok" : "FAIL");
    }
    draw_gpu_summary(&L, rec);
    if (v->source[0]) {
        char src[1100];
        snprintf(src, sizeof src, "record: %s", v->source);
        wrapped(&L, 0, 2, TUI_R_DIM, src);
    }
    if (L.n - L.first > left.h && v->scroll < L.n - left.h) tui_put_right(c, left.y + left.h - 1, left.x + left.w, TUI_R_DIM, "more (j)");
    if (v->scroll > L.n - 1) v->scroll = L.n > 0 ? L.n - 1 : 0;

    /* right: percentiles then the histogram */
    tui_rect pb = {right.y, right.x, 11, right.w};
    if (pb.h > right.h) pb.h = right.h;
    tui_box(c, pb, TUI_R_BORDER, "Percentiles");
    if (res->present) {
        tui_pct_row rows[9] = {
            {"min", res->lat_min_ns}, {"p50", res->p50_ns}, {"p90", res->p90_ns},  {"p95", res->p95_ns},
            {"p97", res->p97_ns},     {"p99", res->p99_ns}, {"p99.9", res->p999_ns}, {"max", res->lat_max_ns},
            {"mean", res->lat_mean_ns},
        };
        tui_rect pin = tui_inner(pb);
        pin.x += 1;
        pin.w -= 2;
        tui_draw_percentiles(c, pin, rows, 9);
    }
    if (right.h - pb.h >= 5 && v->hist) {
        tui_rect hb = {right.y + pb.h, right.x, right.h - pb.h, right.w};
        tui_box(c, hb, TUI_R_BORDER, "Histogram");
        tui_rect hin = tui_inner(hb);
        tui_draw_histogram(c, hin, v->hist);
    }
}

void tui_results_draw(tui_canvas *c, tui_rect r, tui_results_view *v) {
    if (r.h < 4 || r.w < 20) return;
    if (!v->rec) {
        tui_put_str(c, r.y + 1, r.x + 2, TUI_R_DIM, r.w - 4,
                    "no results yet: run a benchmark (1 Setup) or open one from the history (4)");
        return;
    }
    static const char *const tabs[TUI_RES_TABS] = {"Summary", "Nodes", "Ops", "Kernels"};
    int x = r.x + 1;
    for (int i = 0; i < TUI_RES_TABS; i++) {
        char t[32];
        snprintf(t, sizeof t, " %s ", tabs[i]);
        int n = tui_put_str(c, r.y, x, i == v->tab ? TUI_R_TAB_ACTIVE : TUI_R_TAB, -1, t);
        tui_add_hit(c, (tui_rect){r.y, x, 1, n}, TUI_HIT_RESULT_TAB, i);
        x += n + 1;
    }
    char info[256];
    snprintf(info, sizeof info, "%s  %s", v->rec->model.name, v->rec->created);
    if (x + tui_utf8_len(info) + 2 < r.x + r.w) tui_put_right(c, r.y, r.x + r.w - 1, TUI_R_DIM, info);
    tui_rect body = {r.y + 1, r.x, r.h - 1, r.w};
    if (v->tab == TUI_RES_SUMMARY) {
        draw_summary(c, (tui_rect){body.y, body.x + 1, body.h, body.w - 2}, v);
        return;
    }
    tui_table *t = tab_table(v);
    if (t->nrows == 0) {
        tui_put_str(c, body.y + 1, body.x + 2, TUI_R_DIM, body.w - 4,
                    t == &v->kernels ? "no GPU kernel trace in this record (CUDA runs, with CUPTI free)"
                                     : "no per-node profile in this record (run without --no-profile)");
        return;
    }
    if (t == &v->nodes) {
        /* the node name takes what the fixed columns leave, within reason */
        int fixed = 14 + 8 + 10 + 10 + 7 + 9 + 7;
        int name_w = body.w - fixed - 20;
        t->cols[0].width = name_w < 16 ? 16 : name_w > 48 ? 48 : name_w;
    } else if (t == &v->kernels) {
        int fixed = 20 + 8 + 10 + 10 + 7 + 7;  /* and ~26 for the launch configuration */
        int name_w = body.w - fixed - 30;
        t->cols[0].width = name_w < 20 ? 20 : name_w > 72 ? 72 : name_w;
    }
    tui_table_draw(c, (tui_rect){body.y, body.x + 1, body.h, body.w - 2}, t, true);
}

zn_status tui_results_write(const tui_results_view *v, const char *dir, char *md, int md_cap, char *json, int json_cap) {
    const zn_record *rec = v->rec;
    if (!rec) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "no results to write");
    char stamp[32], model[96];
    size_t k = 0;
    for (const char *s = rec->created; *s && k + 1 < sizeof stamp; s++)
        if (*s != '-' && *s != ':') stamp[k++] = *s;
    stamp[k] = 0;
    k = 0;
    for (const char *s = rec->model.name; *s && k + 1 < sizeof model; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_' || ch == '.';
        model[k++] = ok ? ch : '_';
    }
    model[k] = 0;
    const char *d = dir && *dir ? dir : ".";
    snprintf(md, (size_t)md_cap, "%s/zenith-%s-%s-%s.md", d, model, rec->settings.scenario[0] ? rec->settings.scenario : "run", stamp);
    snprintf(json, (size_t)json_cap, "%s/zenith-%s-%s-%s.json", d, model,
             rec->settings.scenario[0] ? rec->settings.scenario : "run", stamp);
    zn_status st = zn_record_write_markdown(rec, md);
    if (st != ZN_OK) return st;
    return zn_record_write_json(rec, json);
}
