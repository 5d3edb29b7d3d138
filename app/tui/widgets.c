/* widgets.c — histogram, sparkline, progress bar, sortable table, percentile table and rule
 * list, drawn into a tui_canvas (widgets.h). */
#include "widgets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- formatting ------------------------------------------------------------------------------ */

const char *tui_fmt_ns(double ns, char *buf, int cap) {
    double a = fabs(ns);
    if (a < 1e3) snprintf(buf, (size_t)cap, "%.0f ns", ns);
    else if (a < 1e4) snprintf(buf, (size_t)cap, "%.2f us", ns / 1e3);
    else if (a < 1e6) snprintf(buf, (size_t)cap, "%.1f us", ns / 1e3);
    else if (a < 1e7) snprintf(buf, (size_t)cap, "%.3f ms", ns / 1e6);
    else if (a < 1e8) snprintf(buf, (size_t)cap, "%.2f ms", ns / 1e6);
    else if (a < 1e9) snprintf(buf, (size_t)cap, "%.1f ms", ns / 1e6);
    else snprintf(buf, (size_t)cap, "%.3f s", ns / 1e9);
    return buf;
}

const char *tui_fmt_count(double v, char *buf, int cap) {
    double a = fabs(v);
    if (a < 1e4) snprintf(buf, (size_t)cap, "%.0f", v);
    else if (a < 1e6) snprintf(buf, (size_t)cap, "%.1fk", v / 1e3);
    else if (a < 1e9) snprintf(buf, (size_t)cap, "%.2fM", v / 1e6);
    else snprintf(buf, (size_t)cap, "%.2fG", v / 1e9);
    return buf;
}

const char *tui_fmt_delta(double a, double b, char *buf, int cap) {
    if (a == 0) snprintf(buf, (size_t)cap, "n/a");
    else snprintf(buf, (size_t)cap, "%+.1f%%", (b - a) / a * 100.0);
    return buf;
}

/* ---- histogram ------------------------------------------------------------------------------- */

bool tui_hist_range(const zn_hist *h, int64_t *lo, int64_t *hi) {
    *lo = zn_hist_min(h);
    *hi = zn_hist_percentile(h, 99.9);
    if (*hi <= *lo) *hi = *lo + 1;
    return *hi > TUI_HIST_LOG_RATIO * (*lo > 0 ? *lo : 1);
}

int tui_hist_col(const tui_hist_bins *b, int64_t v) {
    if (b->n <= 0) return 0;
    if (v <= b->lo) return 0;
    if (v >= b->hi) return b->n - 1;
    double col;
    if (b->log) col = log((double)v / (double)b->lo) / log((double)(b->hi + 1) / (double)b->lo) * b->n;
    else col = (double)(v - b->lo) * b->n / (double)(b->hi - b->lo + 1);
    return col < 0 ? 0 : col >= b->n ? b->n - 1 : (int)col;
}

int64_t tui_hist_col_start(const tui_hist_bins *b, int col) {
    if (b->log) return (int64_t)llround((double)b->lo * pow((double)(b->hi + 1) / (double)b->lo, (double)col / b->n));
    return b->lo + (int64_t)((double)(b->hi - b->lo + 1) * col / b->n);
}

void tui_hist_bin(const zn_hist *h, int64_t lo, int64_t hi, int n, bool log_axis, tui_hist_bins *out) {
    memset(out, 0, sizeof *out);
    if (n > TUI_HIST_MAX_COLS) n = TUI_HIST_MAX_COLS;
    if (n < 1) n = 1;
    if (log_axis && lo < 1) lo = 1;
    if (hi <= lo) hi = lo + 1;
    out->n = n;
    out->lo = lo;
    out->hi = hi;
    out->log = log_axis;
    int cur = 0;
    zn_hist_bucket b;
    int64_t vmin = zn_hist_min(h), vmax = zn_hist_max(h);
    while (zn_hist_next(h, &cur, &b)) {
        int64_t mid = b.lo + (b.hi - b.lo - 1) / 2;
        if (mid < vmin) mid = vmin;
        if (mid > vmax) mid = vmax;
        if (mid > hi) out->above += b.count;
        out->counts[tui_hist_col(out, mid)] += b.count;
        out->total += b.count;
    }
    for (int i = 0; i < n; i++)
        if (out->counts[i] > out->peak) out->peak = out->counts[i];
}

int tui_bar_eighths(uint64_t count, uint64_t peak, int rows) {
    if (count == 0 || peak == 0 || rows <= 0) return 0;
    long e = lround((double)count * rows * 8.0 / (double)peak);
    if (e < 1) e = 1;
    if (e > rows * 8) e = rows * 8;
    return (int)e;
}

/* Places "^label" at column col of row y within [x0, x0+w), flipping to "label^" when it would
 * run off the right edge; returns the first and last cell used. */
static void put_marker(tui_canvas *c, int y, int x0, int w, int col, const char *label, tui_role role,
                       const int *busy_lo, const int *busy_hi, int n_busy) {
    char text[32];
    int len = (int)strlen(label) + 1;
    int start = x0 + col;
    if (col + len > w) {
        snprintf(text, sizeof text, "%s^", label);
        start = x0 + col - len + 1;
    } else {
        snprintf(text, sizeof text, "^%s", label);
    }
    for (int i = 0; i < n_busy; i++)
        if (start <= busy_hi[i] && start + len - 1 >= busy_lo[i]) {
            tui_put_ch(c, y, x0 + col, '^', role); /* no room for the label: the mark alone */
            return;
        }
    tui_put_str(c, y, start, role, len, text);
}

void tui_draw_histogram(tui_canvas *c, tui_rect r, const zn_hist *h) {
    if (r.h < 1 || r.w < 4) return;
    if (!h || zn_hist_count(h) == 0) {
        tui_put_str(c, r.y + (r.h - 1) / 2, r.x + (r.w > 20 ? (r.w - 20) / 2 : 0), TUI_R_DIM, r.w,
                    "waiting for queries");
        return;
    }
    int marker_row = r.h >= 4;
    int rows = r.h - 1 - marker_row;
    if (rows < 1) rows = 1;
    int64_t lo, hi;
    bool log_axis = tui_hist_range(h, &lo, &hi);
    tui_hist_bins *b = malloc(sizeof *b);
    if (!b) return;
    tui_hist_bin(h, lo, hi, r.w, log_axis, b);
    int c50 = tui_hist_col(b, zn_hist_percentile(h, 50));
    int c99 = tui_hist_col(b, zn_hist_percentile(h, 99));
    for (int col = 0; col < b->n; col++) {
        int e = tui_bar_eighths(b->counts[col], b->peak, rows);
        tui_role role = col == c99 && c99 != c50 ? TUI_R_WARN : TUI_R_BAR;
        for (int j = 0; j < rows; j++) {
            int cell = e - 8 * j;
            if (cell <= 0) break;
            if (cell > 8) cell = 8;
            tui_put_ch(c, r.y + rows - 1 - j, r.x + col, c->g->eighths[cell], role);
        }
    }
    /* axis labels: lo at the left, the middle, hi (+ when values lie beyond) at the right */
    char a[32], m[32], z[40], t[32];
    int y_axis = r.y + r.h - 1;
    tui_fmt_ns((double)lo, a, sizeof a);
    tui_fmt_ns((double)tui_hist_col_start(b, b->n / 2), m, sizeof m);
    if (log_axis) snprintf(m + strlen(m), sizeof m - strlen(m), " log");
    tui_fmt_ns((double)hi, t, sizeof t);
    snprintf(z, sizeof z, "%s%s", t, b->above ? "+" : "");
    int la = (int)strlen(a), lm = (int)strlen(m), lz = (int)strlen(z);
    tui_put_str(c, y_axis, r.x, TUI_R_DIM, r.w, a);
    if (la + lz + 2 <= r.w) tui_put_right(c, y_axis, r.x + r.w, TUI_R_DIM, z);
    if (la + lm + lz + 4 <= r.w) tui_put_str(c, y_axis, r.x + (r.w - lm) / 2, TUI_R_DIM, lm, m);
    if (marker_row) {
        int y = r.y + r.h - 2;
        int busy_lo[1], busy_hi[1];
        int n = (int)strlen("p50") + 1;
        int s50 = c50 + n > r.w ? r.x + c50 - n + 1 : r.x + c50;
        put_marker(c, y, r.x, r.w, c50, "p50", TUI_R_GOOD, NULL, NULL, 0);
        busy_lo[0] = s50;
        busy_hi[0] = s50 + n - 1;
        if (c99 != c50) put_marker(c, y, r.x, r.w, c99, "p99", TUI_R_WARN, busy_lo, busy_hi, 1);
    }
    free(b);
}

/* ---- sparkline ------------------------------------------------------------------------------- */

int tui_spark_level(double v, double lo, double hi) {
    if (!(hi > lo)) return 0;
    long l = lround((v - lo) / (hi - lo) * 7.0);
    return l < 0 ? 0 : l > 7 ? 7 : (int)l;
}

int tui_draw_sparkline(tui_canvas *c, int y, int x, int w, const double *v, int n, bool from_zero, tui_role role) {
    if (w <= 0 || n <= 0) return -1;
    int k = n < w ? n : w;
    const double *s = v + (n - k);
    double lo = from_zero ? 0 : s[0], hi = s[0];
    for (int i = 0; i < k; i++) {
        if (s[i] > hi) hi = s[i];
        if (!from_zero && s[i] < lo) lo = s[i];
    }
    int level = -1;
    for (int i = 0; i < k; i++) {
        level = tui_spark_level(s[i], lo, hi);
        tui_put_ch(c, y, x + (w - k) + i, c->g->spark[level], role);
    }
    return level;
}

/* ---- progress bar ---------------------------------------------------------------------------- */

void tui_draw_progress(tui_canvas *c, int y, int x, int w, double frac, tui_role fill) {
    if (w <= 0) return;
    if (!(frac > 0)) frac = 0;
    if (frac > 1) frac = 1;
    if (!c->utf8) {
        int full = (int)lround(frac * w);
        for (int i = 0; i < w; i++) tui_put_ch(c, y, x + i, i < full ? '#' : '.', i < full ? fill : TUI_R_DIM);
        return;
    }
    int e = (int)lround(frac * w * 8);
    for (int i = 0; i < w; i++) {
        int cell = e - 8 * i;
        if (cell >= 8) tui_put_ch(c, y, x + i, c->g->hfill[8], fill);
        else if (cell > 0) tui_put_ch(c, y, x + i, c->g->hfill[cell], fill);
        else tui_put_ch(c, y, x + i, c->g->hempty, TUI_R_DIM);
    }
}

/* ---- table ----------------------------------------------------------------------------------- */

void tui_table_init(tui_table *t, int ncols, const tui_col *cols) {
    memset(t, 0, sizeof *t);
    t->ncols = ncols > TUI_TABLE_MAX_COLS ? TUI_TABLE_MAX_COLS : ncols;
    for (int i = 0; i < t->ncols; i++) t->cols[i] = cols[i];
    t->sort_col = -1;
}

void tui_table_free(tui_table *t) {
    free(t->rows);
    free(t->order);
    t->rows = NULL;
    t->order = NULL;
    t->nrows = t->cap = 0;
}

void tui_table_clear(tui_table *t) {
    t->nrows = 0;
    t->sel = t->top = 0;
}

int tui_table_add(tui_table *t) {
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        tui_row *rows = realloc(t->rows, (size_t)cap * sizeof *rows);
        if (!rows) return -1;
        t->rows = rows;
        int *order = realloc(t->order, (size_t)cap * sizeof *order);
        if (!order) return -1;
        t->order = order;
        t->cap = cap;
    }
    int i = t->nrows++;
    memset(&t->rows[i], 0, sizeof t->rows[i]);
    t->order[i] = i;
    return i;
}

void tui_table_set(tui_table *t, int row, int col, double key, const char *fmt, ...) {
    if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->rows[row].text[col], TUI_TABLE_CELL, fmt, ap);
    va_end(ap);
    t->rows[row].key[col] = key;
}

/* qsort has no context argument: the table being sorted travels in these (UI thread only). */
static const tui_table *g_sort_table;

static int cmp_rows(const void *pa, const void *pb) {
    const tui_table *t = g_sort_table;
    int a = *(const int *)pa, b = *(const int *)pb, col = t->sort_col, r = 0;
    if (t->cols[col].numeric) {
        double ka = t->rows[a].key[col], kb = t->rows[b].key[col];
        r = ka < kb ? -1 : ka > kb ? 1 : 0;
    } else {
        r = strcmp(t->rows[a].text[col], t->rows[b].text[col]);
    }
    if (t->sort_desc) r = -r;
    if (r == 0) r = a < b ? -1 : a > b ? 1 : 0;  /* stable: insertion order breaks ties */
    return r;
}

void tui_table_sort(tui_table *t, int col, bool desc) {
    for (int i = 0; i < t->nrows; i++) t->order[i] = i;
    if (col < 0 || col >= t->ncols) {
        t->sort_col = -1;
        return;
    }
    t->sort_col = col;
    t->sort_desc = desc;
    if (t->nrows < 2) return; /* also: an empty table has no order array to hand qsort */
    g_sort_table = t;
    qsort(t->order, (size_t)t->nrows, sizeof *t->order, cmp_rows);
    g_sort_table = NULL;
}

void tui_table_toggle_sort(tui_table *t, int col) {
    if (col < 0 || col >= t->ncols) return;
    if (col == t->sort_col) tui_table_sort(t, col, !t->sort_desc);
    else tui_table_sort(t, col, t->cols[col].numeric);
}

const tui_row *tui_table_at(const tui_table *t, int i) {
    if (i < 0 || i >= t->nrows) return NULL;
    return &t->rows[t->order[i]];
}

void tui_table_move(tui_table *t, int delta) {
    t->sel += delta;
    if (t->sel >= t->nrows) t->sel = t->nrows - 1;
    if (t->sel < 0) t->sel = 0;
}

void tui_table_draw(tui_canvas *c, tui_rect r, tui_table *t, bool focused) {
    if (r.h < 1 || r.w < 1) return;
    int xs[TUI_TABLE_MAX_COLS], ws[TUI_TABLE_MAX_COLS];
    int x = r.x;
    for (int i = 0; i < t->ncols; i++) {
        xs[i] = x;
        ws[i] = t->cols[i].width > 0 ? t->cols[i].width : r.x + r.w - x;
        if (xs[i] + ws[i] > r.x + r.w) ws[i] = r.x + r.w - xs[i];
        if (ws[i] < 0) ws[i] = 0;
        x += ws[i] + 1;
    }
    /* header */
    tui_fill(c, (tui_rect){r.y, r.x, 1, r.w}, ' ', TUI_R_HEADING);
    for (int i = 0; i < t->ncols && ws[i] > 0; i++) {
        char h[TUI_TABLE_CELL + 8];
        int n = snprintf(h, sizeof h, "%s", t->cols[i].title);
        if (i == t->sort_col && n < (int)sizeof h - 5) n += tui_utf8_put(h + n, t->sort_desc ? c->g->down : c->g->up);
        h[n] = 0;
        if (t->cols[i].right) {
            int len = tui_utf8_len(h);
            tui_put_str(c, r.y, xs[i] + (ws[i] > len ? ws[i] - len : 0), TUI_R_HEADING, ws[i], h);
        } else {
            tui_put_str(c, r.y, xs[i], TUI_R_HEADING, ws[i], h);
        }
        tui_add_hit(c, (tui_rect){r.y, xs[i], 1, ws[i]}, TUI_HIT_TABLE_COL, i);
    }
    int body = r.h - 1;
    if (body <= 0) return;
    if (t->sel >= t->nrows) t->sel = t->nrows - 1;
    if (t->sel < 0) t->sel = 0;
    if (t->sel < t->top) t->top = t->sel;
    if (t->sel >= t->top + body) t->top = t->sel - body + 1;
    if (t->top > t->nrows - body) t->top = t->nrows - body > 0 ? t->nrows - body : 0;
    if (t->top < 0) t->top = 0;
    for (int j = 0; j < body && t->top + j < t->nrows; j++) {
        int di = t->top + j, y = r.y + 1 + j;
        const tui_row *row = tui_table_at(t, di);
        bool sel = focused && di == t->sel;
        if (sel) tui_fill(c, (tui_rect){y, r.x, 1, r.w}, ' ', TUI_R_SELECTED);
        for (int i = 0; i < t->ncols && ws[i] > 0; i++) {
            tui_role role = sel ? TUI_R_SELECTED : i == 0 ? TUI_R_VALUE : TUI_R_NORMAL;
            const char *s = row->text[i];
            int len = tui_utf8_len(s);
            int xx = t->cols[i].right && ws[i] > len ? xs[i] + ws[i] - len : xs[i];
            tui_put_str(c, y, xx, role, ws[i], s);
        }
        tui_add_hit(c, (tui_rect){y, r.x, 1, r.w}, TUI_HIT_TABLE_ROW, di);
    }
}

/* ---- percentiles ----------------------------------------------------------------------------- */

int tui_percentiles_from_hist(const zn_hist *h, tui_pct_row *rows) {
    static const char *const labels[] = {"min", "p50", "p90", "p95", "p97", "p99", "p99.9", "max", "mean"};
    static const double pcts[] = {0, 50, 90, 95, 97, 99, 99.9, 100, -1};
    for (int i = 0; i < 9; i++) {
        rows[i].label = labels[i];
        rows[i].ns = pcts[i] < 0 ? (int64_t)llround(zn_hist_mean(h)) : zn_hist_percentile(h, pcts[i]);
    }
    return 9;
}

void tui_draw_percentiles(tui_canvas *c, tui_rect r, const tui_pct_row *rows, int n) {
    int vw = r.w - 7 > 12 ? 12 : r.w - 7;
    for (int i = 0; i < n && i < r.h; i++) {
        char v[32];
        tui_put_str(c, r.y + i, r.x, TUI_R_LABEL, 6, rows[i].label);
        tui_fmt_ns((double)rows[i].ns, v, sizeof v);
        if (vw > 0) tui_put_right(c, r.y + i, r.x + 7 + vw, TUI_R_VALUE, v);
    }
}

/* ---- rules ----------------------------------------------------------------------------------- */

void tui_draw_rules(tui_canvas *c, tui_rect r, const zn_rule_outcome *rules, int n) {
    for (int i = 0; i < n && i < r.h; i++) {
        int y = r.y + i;
        tui_put_ch(c, y, r.x, rules[i].passed ? c->g->check : c->g->cross, rules[i].passed ? TUI_R_GOOD : TUI_R_BAD);
        tui_put_str(c, y, r.x + 2, TUI_R_LABEL, 18 < r.w - 2 ? 18 : r.w - 2, rules[i].name);
        if (r.w > 22) tui_put_str(c, y, r.x + 21, TUI_R_NORMAL, r.w - 21, rules[i].detail);
    }
}
