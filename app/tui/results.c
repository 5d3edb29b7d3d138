/* results.c — the results screen: a finished (or loaded) run record's verdict, rules,
 * recommendations, percentiles, histogram, accuracy and per-node / per-op tables (screens.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tui/screens.h"

static const tui_col NODE_COLS[] = {
    {"Node", 24, false, false}, {"Op", 14, false, false},  {"Count", 8, true, true}, {"Mean", 10, true, true},
    {"Total", 10, true, true},  {"Share", 7, true, true},  {"Kernel", 0, false, false},
};
static const tui_col OP_COLS[] = {
    {"Op", 22, false, false}, {"Nodes", 6, true, true}, {"Count", 9, true, true},
    {"Mean", 10, true, true}, {"Total", 10, true, true}, {"Share", 7, true, true},
};

void tui_results_init(tui_results_view *v) {
    memset(v, 0, sizeof *v);
    tui_table_init(&v->nodes, 7, NODE_COLS);
    tui_table_init(&v->ops, 6, OP_COLS);
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
}

void tui_results_set(tui_results_view *v, zn_record *rec, const char *source) {
    drop_record(v);
    v->rec = rec;
    snprintf(v->source, sizeof v->source, "%s", source ? source : "");
    v->scroll = 0;
    tui_table_clear(&v->nodes);
    tui_table_clear(&v->ops);
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
            tui_table_set(&v->nodes, r, 6, 0, "%s", n->kernel);
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
    /* by total time, largest first, until the user picks another column */
    tui_table_sort(&v->nodes, 4, true);
    tui_table_sort(&v->ops, 4, true);
}

tui_action tui_results_key(tui_results_view *v, int key) {
    tui_table *t = v->tab == TUI_RES_NODES ? &v->nodes : v->tab == TUI_RES_OPS ? &v->ops : NULL;
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
    static const char *const tabs[TUI_RES_TABS] = {"Summary", "Nodes", "Ops"};
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
    tui_table *t = v->tab == TUI_RES_NODES ? &v->nodes : &v->ops;
    if (t->nrows == 0) {
        tui_put_str(c, body.y + 1, body.x + 2, TUI_R_DIM, body.w - 4, "no per-node profile in this record (run without --no-profile)");
        return;
    }
    if (t == &v->nodes) {
        /* the node name takes what the fixed columns leave, within reason */
        int fixed = 14 + 8 + 10 + 10 + 7 + 6;
        int name_w = body.w - fixed - 18;
        t->cols[0].width = name_w < 16 ? 16 : name_w > 48 ? 48 : name_w;
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
