/* history.c — the history screen (past run records from the runs folder) and the compare
 * screen (two records side by side with their differences) (screens.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tui/screens.h"

static const tui_col HIST_COLS[] = {
    {"", 2, false, false},          {"Created", 20, false, false}, {"Model", 14, false, false},
    {"Scenario", 13, false, false}, {"Backend", 9, false, false},  {"Verdict", 8, false, false},
    {"p50", 10, true, true},        {"Metric", 0, false, false},
};

void tui_history_init(tui_history_view *v) {
    memset(v, 0, sizeof *v);
    tui_table_init(&v->table, 8, HIST_COLS);
    v->marks[0] = v->marks[1] = -1;
}

void tui_history_free(tui_history_view *v) {
    zn_runs_list_free(v->list);
    v->list = NULL;
    v->n = 0;
    tui_table_free(&v->table);
}

static void fill_table(tui_history_view *v) {
    int sel = v->table.sel;
    tui_table_clear(&v->table);
    for (int i = 0; i < v->n; i++) {
        const zn_run_summary *s = &v->list[i];
        int r = tui_table_add(&v->table);
        if (r < 0) break;
        char a[32], m[64];
        bool marked = i == v->marks[0] || i == v->marks[1];
        tui_table_set(&v->table, r, 0, marked ? 1 : 0, "%s", marked ? (i == v->marks[0] ? "A" : "B") : "");
        tui_table_set(&v->table, r, 1, (double)i, "%s", s->created);
        tui_table_set(&v->table, r, 2, 0, "%s", s->model);
        tui_table_set(&v->table, r, 3, 0, "%s", s->scenario);
        tui_table_set(&v->table, r, 4, 0, "%s %s", s->backend, s->precision);
        tui_table_set(&v->table, r, 5, 0, "%s", s->verdict);
        tui_table_set(&v->table, r, 6, (double)s->p50_ns, "%s", s->queries ? tui_fmt_ns((double)s->p50_ns, a, 32) : "-");
        if (!s->metric_name[0]) snprintf(m, sizeof m, "%s", s->status);
        else if (!strcmp(s->metric_unit, "ns")) snprintf(m, sizeof m, "%s %s", s->metric_name, tui_fmt_ns(s->metric_value, a, 32));
        else snprintf(m, sizeof m, "%s %.1f", s->metric_name, s->metric_value);
        tui_table_set(&v->table, r, 7, s->metric_value, "%s", m);
    }
    v->table.sel = sel;
    tui_table_move(&v->table, 0);
}

void tui_history_load(tui_history_view *v, const char *dir) {
    zn_runs_list_free(v->list);
    v->list = NULL;
    v->n = v->skipped = 0;
    v->error[0] = 0;
    v->marks[0] = v->marks[1] = -1;
    if (dir) snprintf(v->dir, sizeof v->dir, "%s", dir);
    else if (zn_runs_dir(v->dir, sizeof v->dir, false) != ZN_OK)
        tui_copy(v->error, sizeof v->error, zn_last_error()->message);
    if (v->dir[0] && zn_runs_list(v->dir, &v->list, &v->n, &v->skipped) != ZN_OK)
        tui_copy(v->error, sizeof v->error, zn_last_error()->message);
    fill_table(v);
}

const zn_run_summary *tui_history_selected(const tui_history_view *v) {
    if (v->n == 0 || v->table.nrows == 0) return NULL;
    int i = v->table.order[v->table.sel];
    return i >= 0 && i < v->n ? &v->list[i] : NULL;
}

tui_action tui_history_key(tui_history_view *v, int key) {
    tui_table *t = &v->table;
    switch (key) {
    case 'j':
    case TUI_KEY_DOWN: tui_table_move(t, 1); break;
    case 'k':
    case TUI_KEY_UP: tui_table_move(t, -1); break;
    case TUI_KEY_PGDN: tui_table_move(t, 10); break;
    case TUI_KEY_PGUP: tui_table_move(t, -10); break;
    case 'g':
    case TUI_KEY_HOME: t->sel = 0; break;
    case 'G':
    case TUI_KEY_END: tui_table_move(t, t->nrows); break;
    case TUI_KEY_ENTER:
    case 'o': return tui_history_selected(v) ? TUI_ACT_OPEN_RUN : TUI_ACT_NONE;
    case ' ':
    case 'm': {
        if (!tui_history_selected(v)) break;
        int i = t->order[t->sel];
        if (v->marks[0] == i) v->marks[0] = v->marks[1], v->marks[1] = -1;
        else if (v->marks[1] == i) v->marks[1] = -1;
        else if (v->marks[0] < 0) v->marks[0] = i;
        else if (v->marks[1] < 0) v->marks[1] = i;
        else v->marks[1] = i;
        int keep_sort = t->sort_col;
        bool desc = t->sort_desc;
        fill_table(v);
        if (keep_sort >= 0) tui_table_sort(t, keep_sort, desc);
        tui_table_move(t, 1);
        break;
    }
    case 'c': return v->marks[0] >= 0 && v->marks[1] >= 0 ? TUI_ACT_COMPARE : TUI_ACT_NONE;
    case 'R':
    case TUI_KEY_F5: return TUI_ACT_RELOAD;
    case '>':
    case '.': tui_table_sort(t, (t->sort_col + 1) % t->ncols, t->cols[(t->sort_col + 1) % t->ncols].numeric); break;
    case '<':
    case ',': {
        int col = (t->sort_col + t->ncols - 1) % t->ncols;
        tui_table_sort(t, col, t->cols[col].numeric);
        break;
    }
    case 'i':
        if (t->sort_col >= 0) tui_table_sort(t, t->sort_col, !t->sort_desc);
        break;
    default: break;
    }
    return TUI_ACT_NONE;
}

void tui_history_draw(tui_canvas *c, tui_rect r, tui_history_view *v) {
    if (r.h < 4 || r.w < 20) return;
    char head[1200];
    snprintf(head, sizeof head, "Runs folder: %s  (%d record%s%s)", v->dir[0] ? v->dir : "?", v->n, v->n == 1 ? "" : "s",
             v->skipped ? ", some unreadable files skipped" : "");
    tui_put_str(c, r.y, r.x + 1, TUI_R_LABEL, r.w - 2, head);
    if (v->error[0]) {
        tui_put_str(c, r.y + 2, r.x + 2, TUI_R_BAD, r.w - 4, v->error);
        return;
    }
    if (v->n == 0) {
        tui_put_str(c, r.y + 2, r.x + 2, TUI_R_DIM, r.w - 4,
                    "no runs yet: every finished run is saved here (set ZENITH_RUNS_DIR to use another folder)");
        return;
    }
    char marks[160];
    snprintf(marks, sizeof marks, "compare: A %s, B %s%s", v->marks[0] >= 0 ? "marked" : "-",
             v->marks[1] >= 0 ? "marked" : "-", v->marks[0] >= 0 && v->marks[1] >= 0 ? "  (c to compare)" : "  (space marks)");
    tui_put_str(c, r.y + 1, r.x + 1, TUI_R_DIM, r.w - 2, marks);
    tui_table_draw(c, (tui_rect){r.y + 2, r.x + 1, r.h - 2, r.w - 2}, &v->table, true);
}

/* ---- compare --------------------------------------------------------------------------------- */

static const tui_col CMP_COLS[] = {
    {"", 22, false, false}, {"A", 20, true, false}, {"B", 20, true, false}, {"B vs A", 0, false, false},
};

void tui_compare_init(tui_compare_view *v) {
    memset(v, 0, sizeof *v);
    tui_table_init(&v->table, 4, CMP_COLS);
}

static void free_rec(zn_record **r) {
    if (*r) {
        zn_record_free(*r);
        free(*r);
        *r = NULL;
    }
}

void tui_compare_free(tui_compare_view *v) {
    free_rec(&v->a);
    free_rec(&v->b);
    tui_table_free(&v->table);
}

static void row_text(tui_table *t, const char *label, const char *a, const char *b) {
    int r = tui_table_add(t);
    if (r < 0) return;
    tui_table_set(t, r, 0, 0, "%s", label);
    tui_table_set(t, r, 1, 0, "%s", a);
    tui_table_set(t, r, 2, 0, "%s", b);
    tui_table_set(t, r, 3, strcmp(a, b) ? 1 : 0, "%s", strcmp(a, b) ? "differs" : "");
}

/* A numeric row; lower_better decides whether the change reads as better or worse. */
static void row_num(tui_table *t, const char *label, double a, double b, bool ns, bool lower_better) {
    int r = tui_table_add(t);
    if (r < 0) return;
    char x[32], y[32], d[48];
    if (ns) {
        tui_fmt_ns(a, x, sizeof x);
        tui_fmt_ns(b, y, sizeof y);
    } else {
        snprintf(x, sizeof x, "%.6g", a);
        snprintf(y, sizeof y, "%.6g", b);
    }
    tui_fmt_delta(a, b, d, sizeof d);
    double rel = a != 0 ? (b - a) / a : 0;
    const char *word = fabs(rel) < 0.01 ? "" : (rel < 0) == lower_better ? "  better" : "  worse";
    tui_table_set(t, r, 0, 0, "%s", label);
    tui_table_set(t, r, 1, a, "%s", x);
    tui_table_set(t, r, 2, b, "%s", y);
    tui_table_set(t, r, 3, rel, "%s%s", d, word);
}

void tui_compare_set(tui_compare_view *v, zn_record *a, zn_record *b) {
    free_rec(&v->a);
    free_rec(&v->b);
    v->a = a;
    v->b = b;
    tui_table *t = &v->table;
    tui_table_clear(t);
    if (!a || !b) return;
    char x[64], y[64];
    row_text(t, "created", a->created, b->created);
    row_text(t, "model", a->model.name, b->model.name);
    snprintf(x, sizeof x, "%s %s %s", a->compile.backend, a->compile.precision, a->compile.mode);
    snprintf(y, sizeof y, "%s %s %s", b->compile.backend, b->compile.precision, b->compile.mode);
    row_text(t, "backend / precision", x, y);
    snprintf(x, sizeof x, "%d", a->compile.threads);
    snprintf(y, sizeof y, "%d", b->compile.threads);
    row_text(t, "threads", x, y);
    row_text(t, "scenario", a->settings.scenario, b->settings.scenario);
    row_text(t, "verdict", zn_record_verdict(a), zn_record_verdict(b));
    row_text(t, "host", a->system.hostname, b->system.hostname);
    const zn_record_results *ra = &a->results, *rb = &b->results;
    if (ra->present && rb->present) {
        row_num(t, "queries", (double)ra->query_count, (double)rb->query_count, false, false);
        row_num(t, "QPS", ra->qps_with_overhead, rb->qps_with_overhead, false, false);
        row_num(t, "QPS w/o overhead", ra->qps_without_overhead, rb->qps_without_overhead, false, false);
        row_num(t, "samples/s", ra->samples_per_second, rb->samples_per_second, false, false);
        row_num(t, "latency min", (double)ra->lat_min_ns, (double)rb->lat_min_ns, true, true);
        row_num(t, "latency p50", (double)ra->p50_ns, (double)rb->p50_ns, true, true);
        row_num(t, "latency p90", (double)ra->p90_ns, (double)rb->p90_ns, true, true);
        row_num(t, "latency p99", (double)ra->p99_ns, (double)rb->p99_ns, true, true);
        row_num(t, "latency p99.9", (double)ra->p999_ns, (double)rb->p999_ns, true, true);
        row_num(t, "latency mean", (double)ra->lat_mean_ns, (double)rb->lat_mean_ns, true, true);
        row_num(t, "latency CV", ra->cv, rb->cv, false, true);
        if (!strcmp(ra->metric_name, rb->metric_name)) {
            bool ns = !strcmp(ra->metric_unit, "ns");
            row_num(t, ra->metric_name, ra->metric_value, rb->metric_value, ns, ns);
        }
    }
    row_num(t, "compile ms", a->compile.compile_ms, b->compile.compile_ms, false, true);
    row_num(t, "arena bytes", (double)a->compile.planned_peak_bytes, (double)b->compile.planned_peak_bytes, false, true);
    /* the ops that take the most time in A, per execution */
    if (a->has_profile && b->has_profile) {
        for (int i = 0; i < a->profile.n_ops && i < 8; i++) {
            const zn_profile_op *oa = &a->profile.ops[i];
            for (int j = 0; j < b->profile.n_ops; j++)
                if (!strcmp(b->profile.ops[j].op, oa->op)) {
                    char label[64];
                    snprintf(label, sizeof label, "op %s mean", oa->op);
                    row_num(t, label, oa->mean_ns, b->profile.ops[j].mean_ns, true, true);
                }
        }
    }
}

tui_action tui_compare_key(tui_compare_view *v, int key) {
    switch (key) {
    case 'j':
    case TUI_KEY_DOWN: tui_table_move(&v->table, 1); break;
    case 'k':
    case TUI_KEY_UP: tui_table_move(&v->table, -1); break;
    case TUI_KEY_PGDN: tui_table_move(&v->table, 10); break;
    case TUI_KEY_PGUP: tui_table_move(&v->table, -10); break;
    default: break;
    }
    return TUI_ACT_NONE;
}

void tui_compare_draw(tui_canvas *c, tui_rect r, tui_compare_view *v) {
    if (r.h < 4 || r.w < 20) return;
    if (!v->a || !v->b) {
        tui_put_str(c, r.y + 1, r.x + 2, TUI_R_DIM, r.w - 4, "mark two runs in the history (4, space) and press c");
        return;
    }
    tui_printf(c, r.y, r.x + 1, TUI_R_LABEL, r.w - 2, "A: %s %s   B: %s %s", v->a->model.name, v->a->created,
               v->b->model.name, v->b->created);
    tui_table *t = &v->table;
    int lw = (r.w - 4 - 22 - 14) / 2;
    t->cols[1].width = t->cols[2].width = lw < 12 ? 12 : lw > 28 ? 28 : lw;
    tui_table_draw(c, (tui_rect){r.y + 1, r.x + 1, r.h - 1, r.w - 2}, t, true);
    /* colour the change column: better green, worse red */
    for (int i = t->top; i < t->nrows && i - t->top < r.h - 2; i++) {
        const tui_row *row = tui_table_at(t, i);
        int y = r.y + 2 + (i - t->top);
        tui_role role = strstr(row->text[3], "better") ? TUI_R_GOOD : strstr(row->text[3], "worse") ? TUI_R_BAD
                        : strstr(row->text[3], "differs")                                      ? TUI_R_WARN
                                                                                               : TUI_R_NORMAL;
        int x3 = r.x + 1 + t->cols[0].width + 1 + t->cols[1].width + 1 + t->cols[2].width + 1;
        if (role != TUI_R_NORMAL && i != t->sel) tui_set_role(c, (tui_rect){y, x3, 1, r.x + r.w - 1 - x3}, role);
    }
}
