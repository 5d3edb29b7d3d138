/* charts.c — the report charts (charts.h), drawn on the png.h canvas.
 *
 * Layout: a 1200x700 white canvas, a title (text scale 3) and a subtitle (scale 2) at the top,
 * one plot area with light grid lines at "nice" ticks (1, 2, 5 x 10^k), tick labels and axis
 * labels at scale 2, legends in a boxed corner. Latency axes pick a unit (ns, µs, ms, s) from
 * the data's range; every axis label names its unit.
 *
 * What it is not: a general plotting library; each chart's layout is fixed here. */
#include "reports/charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint32_t zn_chart_colors[ZN_CHART_SERIES] = {0x1F4E99, 0xE08A00, 0x2E9E4F, 0x7B2D7B};
static const zn_fill series_fill[ZN_CHART_SERIES] = {ZN_FILL_SOLID, ZN_FILL_HATCH, ZN_FILL_CROSSHATCH, ZN_FILL_DOTS};
static const zn_marker series_marker[ZN_CHART_SERIES] = {ZN_MARK_CIRCLE, ZN_MARK_TRIANGLE, ZN_MARK_DIAMOND,
                                                         ZN_MARK_CROSS};
static const int series_dash[ZN_CHART_SERIES] = {0, 10, 4, 2};

#define W ZN_CHART_W
#define H ZN_CHART_H
#define INK 0x202020
#define MUTED 0x606060
#define GRID 0xE4E4E4
#define TS 2 /* text scale for labels */

int zn_chart_px_x(const zn_chart_axes *a, double v) {
    double span = a->xmax - a->xmin;
    if (!(span > 0)) return a->x0;
    return a->x0 + (int)lround((v - a->xmin) / span * (a->x1 - a->x0));
}

int zn_chart_px_y(const zn_chart_axes *a, double v) {
    double span = a->ymax - a->ymin;
    if (!(span > 0)) return a->y1;
    return a->y1 - (int)lround((v - a->ymin) / span * (a->y1 - a->y0));
}

/* ---- numbers and units ------------------------------------------------------------------------ */

typedef struct unit {
    double div;
    const char *name;
} unit;

static unit ns_unit(double max_ns) {
    if (max_ns >= 2e9) return (unit){1e9, "s"};
    if (max_ns >= 2e6) return (unit){1e6, "ms"};
    if (max_ns >= 2e3) return (unit){1e3, "\xC2\xB5s"};
    return (unit){1, "ns"};
}

static unit plain_unit(void) { return (unit){1, ""}; }

/* A tick step of 1, 2 or 5 x 10^k giving at most max_ticks intervals over range. */
static double nice_step(double range, int max_ticks) {
    if (!(range > 0) || !isfinite(range)) return 1;
    double raw = range / max_ticks;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return step * mag;
}

/* Value v in unit u, with as many decimals as the tick step needs. */
static const char *fmt_tick(double v, double step, unit u, char *buf, size_t cap) {
    double s = step / u.div;
    int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (dec > 6) dec = 6;
    double x = v / u.div;
    if (fabs(x) < 1e-12 * (fabs(s) + 1)) x = 0;
    if (fabs(x) >= 1e6 && u.div == 1 && dec == 0) {
        if (fabs(x) >= 1e9) snprintf(buf, cap, "%gG", x / 1e9);
        else snprintf(buf, cap, "%gM", x / 1e6);
    } else {
        snprintf(buf, cap, "%.*f", dec, x);
    }
    return buf;
}

/* Human value with unit: "1.23 ms". */
static const char *fmt_ns(double ns, char *buf, size_t cap) {
    unit u = ns_unit(fabs(ns) * 2.0001);
    double x = ns / u.div;
    snprintf(buf, cap, x >= 100 ? "%.0f %s" : x >= 10 ? "%.1f %s" : "%.2f %s", x, u.name);
    return buf;
}

static const char *fmt_rate(double v, char *buf, size_t cap) {
    if (v >= 1e6) snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, cap, "%.1fk", v / 1e3);
    else if (v >= 100) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%.2f", v);
    return buf;
}

/* Data range -> a range that starts and ends on ticks. */
static void nice_range(double lo, double hi, int max_ticks, bool from_zero, double *olo, double *ohi, double *ostep) {
    if (from_zero && lo > 0) lo = 0;
    if (!(hi > lo)) hi = lo + (lo != 0 ? fabs(lo) * 0.1 : 1);
    double step = nice_step(hi - lo, max_ticks);
    *olo = floor(lo / step + 1e-9) * step;
    *ohi = ceil(hi / step - 1e-9) * step;
    if (*ohi <= *olo) *ohi = *olo + step;
    *ostep = step;
}

/* ---- frame, axes, legend ---------------------------------------------------------------------- */

static zn_status frame(zn_canvas *c, const char *title, const char *subtitle) {
    zn_status st = zn_canvas_init(c, W, H, 0xFFFFFF);
    if (st != ZN_OK) return st;
    char buf[256];
    zn_canvas_text(c, 30, 16, zn_text_fit(title, W - 60, 3, buf, sizeof buf), INK, 3);
    if (subtitle && *subtitle) zn_canvas_text(c, 30, 52, zn_text_fit(subtitle, W - 60, TS, buf, sizeof buf), MUTED, TS);
    return ZN_OK;
}

static void default_area(zn_chart_axes *a) {
    a->x0 = 140;
    a->x1 = W - 40;
    a->y0 = 90;
    a->y1 = H - 100;
}

/* Grid, axis lines, ticks and labels. xstep/ystep: tick spacing in data units (0 = no ticks on
 * that axis). */
static void axes_draw(zn_canvas *c, const zn_chart_axes *a, double xstep, unit xu, const char *xlabel, double ystep,
                      unit yu, const char *ylabel) {
    char buf[64];
    int th = zn_text_height(TS);
    if (ystep > 0)
        for (double v = a->ymin; v <= a->ymax + ystep * 1e-6; v += ystep) {
            int y = zn_chart_px_y(a, v);
            zn_canvas_line(c, a->x0, y, a->x1, y, GRID, 1, 0);
            zn_canvas_line(c, a->x0 - 6, y, a->x0, y, INK, 1, 0);
            const char *s = fmt_tick(v, ystep, yu, buf, sizeof buf);
            zn_canvas_text(c, a->x0 - 10 - zn_text_width(s, TS), y - th / 2 + 1, s, INK, TS);
        }
    if (xstep > 0)
        for (double v = a->xmin; v <= a->xmax + xstep * 1e-6; v += xstep) {
            int x = zn_chart_px_x(a, v);
            zn_canvas_line(c, x, a->y0, x, a->y1, GRID, 1, 0);
            zn_canvas_line(c, x, a->y1, x, a->y1 + 6, INK, 1, 0);
            const char *s = fmt_tick(v, xstep, xu, buf, sizeof buf);
            zn_canvas_text(c, x - zn_text_width(s, TS) / 2, a->y1 + 12, s, INK, TS);
        }
    zn_canvas_line(c, a->x0, a->y0, a->x0, a->y1, INK, 2, 0);
    zn_canvas_line(c, a->x0, a->y1, a->x1, a->y1, INK, 2, 0);
    if (xlabel) zn_canvas_text(c, (a->x0 + a->x1) / 2 - zn_text_width(xlabel, TS) / 2, a->y1 + 44, xlabel, INK, TS);
    if (ylabel) {
        int wdt = zn_text_width(ylabel, TS);
        zn_canvas_text_up(c, 16, (a->y0 + a->y1) / 2 + wdt / 2, ylabel, INK, TS);
    }
}

typedef enum lkind { L_BOX, L_LINE, L_MARK } lkind;

typedef struct legend_item {
    const char *label;
    lkind kind;
    uint32_t color;
    zn_fill fill;
    zn_marker marker;
    int dash;
} legend_item;

/* A boxed legend with its top right corner at (right, top). */
static void legend(zn_canvas *c, int right, int top, const legend_item *it, int n) {
    int th = zn_text_height(TS), row = th + 10, wmax = 0;
    for (int i = 0; i < n; i++) {
        int w = zn_text_width(it[i].label, TS);
        if (w > wmax) wmax = w;
    }
    int bw = 16 + 40 + 10 + wmax + 14, bh = n * row + 12;
    int x = right - bw, y = top;
    zn_canvas_fill(c, x, y, x + bw, y + bh, 0xFFFFFF);
    zn_canvas_rect(c, x, y, x + bw, y + bh, 0xA0A0A0);
    for (int i = 0; i < n; i++) {
        int cy = y + 8 + i * row + th / 2, sx = x + 12;
        switch (it[i].kind) {
        case L_BOX: zn_canvas_fill_pattern(c, sx, cy - 8, sx + 40, cy + 9, it[i].color, it[i].fill); break;
        case L_LINE:
            zn_canvas_line(c, sx, cy, sx + 40, cy, it[i].color, 3, it[i].dash);
            if (it[i].marker != ZN_MARK_DOT) zn_canvas_marker(c, sx + 20, cy, 11, it[i].color, it[i].marker);
            break;
        case L_MARK: zn_canvas_marker(c, sx + 20, cy, 11, it[i].color, it[i].marker); break;
        }
        zn_canvas_text(c, sx + 50, cy - th / 2 + 1, it[i].label, INK, TS);
    }
}

/* Legend items in one row, starting at (x, y). */
static void legend_row(zn_canvas *c, int x, int y, const legend_item *it, int n) {
    int th = zn_text_height(TS);
    for (int i = 0; i < n; i++) {
        zn_canvas_fill_pattern(c, x, y, x + 40, y + th + 2, it[i].color, it[i].fill);
        x += 50;
        x += zn_canvas_text(c, x, y + 1, it[i].label, INK, TS) + 30;
    }
}

/* A labelled vertical marker line across the plot (label at the top, stacked by `slot`). */
static void vmarker(zn_canvas *c, const zn_chart_axes *a, double v, uint32_t color, int dash, const char *label,
                    int slot) {
    int x = zn_chart_px_x(a, v);
    if (x < a->x0 || x > a->x1) return;
    zn_canvas_line(c, x, a->y0, x, a->y1 - 1, color, 3, dash);
    int tw = zn_text_width(label, TS), th = zn_text_height(TS);
    int tx = x + 8, ty = a->y0 + 6 + slot * (th + 8);
    if (tx + tw > a->x1 - 4) tx = x - 8 - tw;
    zn_canvas_fill(c, tx - 3, ty - 3, tx + tw + 3, ty + th + 3, 0xFFFFFF);
    zn_canvas_text(c, tx, ty, label, color, TS);
}

static void hmarker(zn_canvas *c, const zn_chart_axes *a, double v, uint32_t color, int dash, const char *label) {
    int y = zn_chart_px_y(a, v);
    if (y < a->y0 || y > a->y1) return;
    zn_canvas_line(c, a->x0 + 1, y, a->x1, y, color, 2, dash);
    if (label) {
        int tw = zn_text_width(label, TS), th = zn_text_height(TS);
        int tx = a->x1 - tw - 6, ty = y - th - 6;
        if (ty < a->y0) ty = y + 6;
        zn_canvas_fill(c, tx - 3, ty - 3, tx + tw + 3, ty + th + 3, 0xFFFFFF);
        zn_canvas_text(c, tx, ty, label, color, TS);
    }
}

static zn_status finish(zn_canvas *c, const char *path, const zn_chart_axes *a, zn_chart_axes *out) {
    zn_status st = zn_canvas_write_png(c, path);
    zn_canvas_free(c);
    if (st == ZN_OK && out) *out = *a;
    if (st != ZN_OK) zn_error_prefix("chart %s", path);
    return st;
}

static const char *model_name(const zn_record *rec) { return rec && rec->model.name[0] ? rec->model.name : "?"; }

static void run_subtitle(const zn_record *rec, char *buf, size_t cap) {
    snprintf(buf, cap, "%s, %s, %s %s, %d thread%s, %s", model_name(rec),
             rec->settings.scenario[0] ? rec->settings.scenario : "?", rec->compile.backend, rec->compile.precision,
             rec->compile.threads, rec->compile.threads == 1 ? "" : "s", zn_record_verdict(rec));
}

static zn_status no_data(const char *what) {
    return zn_error_set(ZN_ERR_NOT_FOUND, "no %s in the run record to chart", what);
}

/* ---- latency histogram ------------------------------------------------------------------------ */

#define HIST_BINS 80

zn_status zn_chart_latency_hist(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    const zn_record_results *r = &rec->results;
    const zn_record_hist *h = &r->latency;
    if (!r->present || h->count == 0 || h->n_buckets == 0) return no_data("latency histogram");
    /* x range: min .. max, or .. p99.9 when a far tail would squash the body */
    double lo = (double)h->min, hi = (double)h->max + 1;
    if (r->p999_ns > 0 && hi > 3.0 * (double)r->p99_ns && (double)r->p999_ns * 1.2 < hi) hi = (double)r->p999_ns * 1.2;
    zn_chart_axes a;
    default_area(&a);
    double xstep;
    nice_range(lo, hi, 10, false, &a.xmin, &a.xmax, &xstep);
    if (a.xmin < 0) a.xmin = 0;
    /* re-bin: each record bucket spread evenly over [lo, hi) */
    double bins[HIST_BINS] = {0}, bw = (a.xmax - a.xmin) / HIST_BINS;
    uint64_t hidden = 0;
    for (int k = 0; k < h->n_buckets; k++) {
        const zn_hist_bucket *b = &h->buckets[k];
        /* the exact min and max bound the first and last buckets' spread */
        double blo = fmax((double)b->lo, (double)h->min), bhi = fmin((double)b->hi, (double)h->max + 1);
        if (bhi <= blo) bhi = blo + 1;
        if (blo >= a.xmax) {
            hidden += b->count;
            continue;
        }
        double width = bhi - blo;
        if (width <= 1) { /* an exact bucket: all of it at its value */
            int i = (int)((blo - a.xmin) / bw);
            if (i >= 0 && i < HIST_BINS) bins[i] += (double)b->count;
            continue;
        }
        int i0 = (int)floor((blo - a.xmin) / bw), i1 = (int)floor((bhi - a.xmin) / bw);
        for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < HIST_BINS; i++) {
            double s = a.xmin + i * bw, e = s + bw;
            double ov = fmin(e, bhi) - fmax(s, blo);
            if (ov > 0) bins[i] += (double)b->count * ov / width;
        }
        if (bhi > a.xmax) hidden += (uint64_t)llround((double)b->count * (bhi - a.xmax) / width);
    }
    double ymax = 0;
    for (int i = 0; i < HIST_BINS; i++) ymax = fmax(ymax, bins[i]);
    double ystep;
    nice_range(0, ymax * 1.12, 8, true, &a.ymin, &a.ymax, &ystep);

    zn_canvas c;
    char title[256], sub[256], xl[64], yl[96], b1[32], b2[32];
    snprintf(title, sizeof title, "Query latency histogram (%llu queries)", (unsigned long long)h->count);
    run_subtitle(rec, sub, sizeof sub);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    unit xu = ns_unit(a.xmax);
    snprintf(xl, sizeof xl, "query latency (%s)", xu.name);
    snprintf(yl, sizeof yl, "queries per bin (bin %s)", fmt_ns(bw, b1, sizeof b1));
    axes_draw(&c, &a, xstep, xu, xl, ystep, plain_unit(), yl);
    for (int i = 0; i < HIST_BINS; i++) {
        if (bins[i] <= 0) continue;
        int x0 = zn_chart_px_x(&a, a.xmin + i * bw), x1 = zn_chart_px_x(&a, a.xmin + (i + 1) * bw);
        int y = zn_chart_px_y(&a, bins[i]);
        if (y > a.y1 - 1) y = a.y1 - 1; /* a visible sliver for tiny counts */
        zn_canvas_fill(&c, x0 + 1, y, x1, a.y1, zn_chart_colors[0]);
    }
    struct {
        const char *name;
        int64_t v;
        uint32_t color;
        int dash;
    } m[3] = {{"p50", r->p50_ns, ZN_CHART_COLOR_P50, 0},
              {"p90", r->p90_ns, ZN_CHART_COLOR_P90, 12},
              {"p99", r->p99_ns, ZN_CHART_COLOR_P99, 5}};
    for (int i = 0; i < 3; i++) {
        char lab[64];
        snprintf(lab, sizeof lab, "%s %s", m[i].name, fmt_ns((double)m[i].v, b1, sizeof b1));
        vmarker(&c, &a, (double)m[i].v, m[i].color, m[i].dash, lab, i);
    }
    if (hidden > 0) {
        char note[160];
        snprintf(note, sizeof note, "%llu slowest not shown (max %s)", (unsigned long long)hidden,
                 fmt_ns((double)h->max, b2, sizeof b2));
        zn_canvas_text(&c, a.x1 - zn_text_width(note, TS), a.y1 + 72, note, MUTED, TS);
    }
    return finish(&c, path, &a, axes);
}

/* ---- latency over the run --------------------------------------------------------------------- */

zn_status zn_chart_latency_time(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    const zn_record_results *r = &rec->results;
    if (!r->present || r->n_queries == 0 || !r->queries) return no_data("per-query records");
    int64_t n = r->n_queries;
    double tmin = INFINITY, tmax = 0, lmax = 0;
    for (int64_t i = 0; i < n; i++) {
        const zn_query_record *q = &r->queries[i];
        tmin = fmin(tmin, (double)q->issue_ns);
        tmax = fmax(tmax, (double)q->issue_ns);
        lmax = fmax(lmax, (double)q->latency_ns);
    }
    bool server = !strcmp(rec->settings.scenario, "server");
    double bound = server ? (double)rec->settings.target_latency_ns : 0;
    if (bound > 0 && bound < lmax * 2) lmax = fmax(lmax, bound);
    zn_chart_axes a;
    default_area(&a);
    double xstep, ystep;
    nice_range(tmin < 0 ? tmin : 0, tmax > 0 ? tmax : 1, 10, true, &a.xmin, &a.xmax, &xstep);
    nice_range(0, lmax * 1.08, 8, true, &a.ymin, &a.ymax, &ystep);

    zn_canvas c;
    char title[256], sub[256], xl[64], yl[64], b1[32];
    snprintf(title, sizeof title, "Latency of each query over the run (%lld queries)", (long long)n);
    run_subtitle(rec, sub, sizeof sub);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    unit xu = ns_unit(a.xmax), yu = ns_unit(a.ymax);
    snprintf(xl, sizeof xl, "issue time since the measured start (%s)", xu.name);
    snprintf(yl, sizeof yl, "query latency (%s)", yu.name);
    axes_draw(&c, &a, xstep, xu, xl, ystep, yu, yl);
    int size = n < 3000 ? 4 : n < 30000 ? 3 : 2;
    for (int64_t i = 0; i < n; i++) {
        const zn_query_record *q = &r->queries[i];
        zn_canvas_marker(&c, zn_chart_px_x(&a, (double)q->issue_ns), zn_chart_px_y(&a, (double)q->latency_ns), size,
                         zn_chart_colors[0], ZN_MARK_DOT);
    }
    char l50[64], l99[64], lb[64];
    snprintf(l50, sizeof l50, "p50 %s", fmt_ns((double)r->p50_ns, b1, sizeof b1));
    snprintf(l99, sizeof l99, "p99 %s", fmt_ns((double)r->p99_ns, b1, sizeof b1));
    hmarker(&c, &a, (double)r->p50_ns, ZN_CHART_COLOR_P50, 0, NULL);
    hmarker(&c, &a, (double)r->p99_ns, ZN_CHART_COLOR_P99, 8, NULL);
    legend_item it[4] = {{"each query", L_MARK, zn_chart_colors[0], 0, ZN_MARK_DOT, 0},
                         {l50, L_LINE, ZN_CHART_COLOR_P50, 0, ZN_MARK_DOT, 0},
                         {l99, L_LINE, ZN_CHART_COLOR_P99, 0, ZN_MARK_DOT, 8}};
    int ni = 3;
    if (bound > 0 && zn_chart_px_y(&a, bound) >= a.y0) {
        snprintf(lb, sizeof lb, "bound %s at p%g", fmt_ns(bound, b1, sizeof b1), rec->settings.target_latency_percentile);
        hmarker(&c, &a, bound, ZN_CHART_COLOR_BOUND, 4, NULL);
        it[ni++] = (legend_item){lb, L_LINE, ZN_CHART_COLOR_BOUND, 0, ZN_MARK_DOT, 4};
    }
    legend(&c, a.x1 - 6, a.y0 + 6, it, ni);
    return finish(&c, path, &a, axes);
}

/* ---- horizontal bars (ops, nodes) ------------------------------------------------------------- */

#define MAX_BARS 15

typedef struct hbar {
    char label[160];
    double value;    /* ns per run */
    double share;
} hbar;

static zn_status hbars_x(const zn_record *rec, const char *title, const char *what, const char *share,
                         const hbar *bars, int n, const char *path, zn_chart_axes *axes);

static zn_status hbars(const zn_record *rec, const char *title, const hbar *bars, int n, const char *path,
                       zn_chart_axes *axes) {
    return hbars_x(rec, title, "time per inference run", "share of the time in nodes", bars, n, path, axes);
}

/* The x axis label reads "<what> (<unit>), <share>". */
static zn_status hbars_x(const zn_record *rec, const char *title, const char *what, const char *share,
                         const hbar *bars, int n, const char *path, zn_chart_axes *axes) {
    zn_chart_axes a;
    default_area(&a);
    /* room for the labels on the left */
    int lw = 0;
    for (int i = 0; i < n; i++) {
        int w = zn_text_width(bars[i].label, TS);
        if (w > lw) lw = w;
    }
    if (lw > 420) lw = 420;
    a.x0 = 30 + lw + 14;
    a.x1 = W - 200; /* room for the value labels */
    double vmax = 0;
    for (int i = 0; i < n; i++) vmax = fmax(vmax, bars[i].value);
    double xstep;
    nice_range(0, vmax, 8, true, &a.xmin, &a.xmax, &xstep);
    a.ymin = 0;
    a.ymax = n;
    zn_canvas c;
    char sub[256], xl[96], buf[200], b1[32];
    run_subtitle(rec, sub, sizeof sub);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    unit xu = ns_unit(a.xmax);
    snprintf(xl, sizeof xl, "%s (%s), %s", what, xu.name, share);
    axes_draw(&c, &a, xstep, xu, xl, 0, plain_unit(), NULL);
    int slot = (a.y1 - a.y0) / (n > 0 ? n : 1), th = zn_text_height(TS);
    for (int i = 0; i < n; i++) {
        int y0 = a.y0 + i * slot + slot / 6, y1 = a.y0 + (i + 1) * slot - slot / 6;
        if (y1 - y0 > 44) {
            int mid = (y0 + y1) / 2;
            y0 = mid - 22;
            y1 = mid + 22;
        }
        int x1 = zn_chart_px_x(&a, bars[i].value);
        zn_canvas_fill(&c, a.x0 + 1, y0, x1 + 1, y1, zn_chart_colors[0]);
        const char *l = zn_text_fit(bars[i].label, lw, TS, buf, sizeof buf);
        int ly = (y0 + y1) / 2 - th / 2 + 1;
        zn_canvas_text(&c, a.x0 - 10 - zn_text_width(l, TS), ly, l, INK, TS);
        char v[64];
        snprintf(v, sizeof v, "%s  %.1f%%", fmt_ns(bars[i].value, b1, sizeof b1), 100 * bars[i].share);
        zn_canvas_text(&c, x1 + 8, ly, v, INK, TS);
    }
    return finish(&c, path, &a, axes);
}

static double per_run(const zn_record *rec, int64_t total_ns) {
    int64_t runs = rec->profile.runs > 0 ? rec->profile.runs : 1;
    return (double)total_ns / (double)runs;
}

zn_status zn_chart_op_bars(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    if (!rec->has_profile || rec->profile.n_ops == 0) return no_data("per-op profile");
    hbar bars[MAX_BARS];
    int n = rec->profile.n_ops < MAX_BARS ? rec->profile.n_ops : MAX_BARS;
    for (int i = 0; i < n; i++) {
        const zn_profile_op *o = &rec->profile.ops[i];
        snprintf(bars[i].label, sizeof bars[i].label, "%s (%d node%s)", o->op, o->nodes, o->nodes == 1 ? "" : "s");
        bars[i].value = per_run(rec, o->total_ns);
        bars[i].share = o->share;
    }
    char title[160];
    snprintf(title, sizeof title, "Time by op kind (%s%d of %d kinds)", n < rec->profile.n_ops ? "top " : "", n,
             rec->profile.n_ops);
    return hbars(rec, title, bars, n, path, axes);
}

zn_status zn_chart_node_bars(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    if (!rec->has_profile || rec->profile.n_nodes == 0) return no_data("per-node profile");
    hbar bars[MAX_BARS];
    int n = rec->profile.n_nodes < MAX_BARS ? rec->profile.n_nodes : MAX_BARS;
    for (int i = 0; i < n; i++) {
        const zn_profile_node *o = &rec->profile.nodes[i];
        char name[64];
        snprintf(bars[i].label, sizeof bars[i].label, "%s [%s]", zn_text_fit(o->name, 300, TS, name, sizeof name), o->op);
        bars[i].value = per_run(rec, o->total_ns);
        bars[i].share = o->share;
    }
    char title[160];
    snprintf(title, sizeof title, "Top %d nodes by time (of %d)", n, rec->profile.n_nodes);
    return hbars(rec, title, bars, n, path, axes);
}

/* ---- server: offered vs achieved QPS ---------------------------------------------------------- */

#define MAX_WINDOWS 200

/* Node paths share their start ("/encoder/layer.0/..."): keep the end, "..ffn/up". */
static const char *fit_tail(const char *s, int max_px, char *buf, size_t cap) {
    if (zn_text_width(s, TS) <= max_px) return zn_text_fit(s, max_px, TS, buf, cap);
    size_t n = strlen(s), k = 0;
    while (k < n) {
        snprintf(buf, cap, "..%s", s + k);
        if (zn_text_width(buf, TS) <= max_px) return buf;
        k++;
        while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80) k++; /* whole UTF-8 characters */
    }
    snprintf(buf, cap, "..");
    return buf;
}

/* "zn::cuda::ln<ns::T>" -> "ln<ns::T>": the namespaces before the name take room the bar
 * labels do not have (the report's kernel table keeps them). */
static const char *without_namespace(const char *s) {
    const char *name = s;
    for (const char *p = s; *p && *p != '<'; p++)
        if (p[0] == ':' && p[1] == ':') name = p + 2;
    return name;
}

zn_status zn_chart_gpu_node_bars(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    const zn_gpu_profile *p = &rec->gpu_profile;
    int have = 0;
    for (int i = 0; rec->has_gpu_profile && i < p->n_nodes; i++) have += p->nodes[i].total_ns > 0;
    if (!have) return no_data("per-node GPU profile");
    hbar bars[MAX_BARS];
    int n = have < MAX_BARS ? have : MAX_BARS;
    for (int i = 0; i < n; i++) {
        const zn_gpu_node *o = &p->nodes[i];
        char name[64];
        snprintf(bars[i].label, sizeof bars[i].label, "%s [%s]", fit_tail(o->name, 280, name, sizeof name), o->op);
        bars[i].value = o->per_run_ns;
        bars[i].share = o->share;
    }
    char title[160];
    snprintf(title, sizeof title, "Top %d nodes by GPU time (of %d with GPU work)", n, have);
    return hbars_x(rec, title, "GPU time per inference run", "share of the GPU time in nodes", bars, n, path, axes);
}

zn_status zn_chart_gpu_kernel_bars(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    const zn_gpu_profile *p = &rec->gpu_profile;
    if (!rec->has_gpu_profile || p->n_kernels == 0) return no_data("GPU kernel profile");
    hbar bars[MAX_BARS];
    int n = p->n_kernels < MAX_BARS ? p->n_kernels : MAX_BARS;
    double runs = p->runs > 0 ? (double)p->runs : 1;
    for (int i = 0; i < n; i++) {
        const zn_gpu_kernel *k = &p->kernels[i];
        char name[64], node[64];
        snprintf(bars[i].label, sizeof bars[i].label, "%s (%s)", zn_text_fit(without_namespace(k->name), 190, TS, name, sizeof name),
                 k->node[0] ? fit_tail(k->node, 166, node, sizeof node) : "?");
        bars[i].value = (double)k->total_ns / runs;
        bars[i].share = k->share;
    }
    char title[160];
    snprintf(title, sizeof title, "Top %d kernels by GPU time (of %d launch sites)", n, p->n_kernels + p->other_kernels);
    return hbars_x(rec, title, "GPU time per inference run", "share of all kernel time", bars, n, path, axes);
}

zn_status zn_chart_server_qps(const zn_record *rec, const char *path, zn_chart_axes *axes) {
    const zn_record_results *r = &rec->results;
    if (strcmp(rec->settings.scenario, "server") != 0) return no_data("server run");
    if (!r->present || r->n_queries < 2 || !r->queries) return no_data("per-query records");
    int64_t n = r->n_queries;
    double t0 = INFINITY, tend = 0;
    for (int64_t i = 0; i < n; i++) {
        t0 = fmin(t0, (double)r->queries[i].issue_ns);
        tend = fmax(tend, (double)(r->queries[i].issue_ns + r->queries[i].latency_ns));
    }
    if (t0 > 0) t0 = 0;
    /* a window of a nice length giving 20-60 windows */
    double win = nice_step(tend - t0, 40);
    int nw = (int)ceil((tend - t0) / win);
    if (nw < 1) nw = 1;
    if (nw > MAX_WINDOWS) nw = MAX_WINDOWS;
    double offered[MAX_WINDOWS] = {0}, achieved[MAX_WINDOWS] = {0};
    for (int64_t i = 0; i < n; i++) {
        int a = (int)(((double)r->queries[i].issue_ns - t0) / win);
        int b = (int)(((double)(r->queries[i].issue_ns + r->queries[i].latency_ns) - t0) / win);
        if (a >= 0 && a < nw) offered[a] += 1;
        if (b >= 0 && b < nw) achieved[b] += 1;
    }
    double ymax = rec->settings.target_qps;
    for (int i = 0; i < nw; i++) {
        offered[i] /= win / 1e9;
        achieved[i] /= win / 1e9;
        ymax = fmax(ymax, fmax(offered[i], achieved[i]));
    }
    zn_chart_axes a;
    default_area(&a);
    double xstep, ystep;
    nice_range(t0, t0 + nw * win, 10, true, &a.xmin, &a.xmax, &xstep);
    nice_range(0, ymax * 1.25, 8, true, &a.ymin, &a.ymax, &ystep);
    zn_canvas c;
    char title[200], sub[256], xl[96], b1[32], lt[64];
    snprintf(title, sizeof title, "Server: offered vs achieved QPS (target %s QPS)",
             fmt_rate(rec->settings.target_qps, b1, sizeof b1));
    run_subtitle(rec, sub, sizeof sub);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    unit xu = ns_unit(a.xmax);
    snprintf(xl, sizeof xl, "time since the measured start (%s); windows of %s", xu.name, fmt_ns(win, b1, sizeof b1));
    axes_draw(&c, &a, xstep, xu, xl, ystep, plain_unit(), "queries per second");
    if (rec->settings.target_qps > 0) hmarker(&c, &a, rec->settings.target_qps, ZN_CHART_COLOR_BOUND, 4, NULL);
    const double *ser[2] = {offered, achieved};
    for (int s = 0; s < 2; s++) {
        int px = 0, py = 0;
        for (int i = 0; i < nw; i++) {
            int x = zn_chart_px_x(&a, t0 + (i + 0.5) * win), y = zn_chart_px_y(&a, ser[s][i]);
            if (i) zn_canvas_line(&c, px, py, x, y, zn_chart_colors[s], 3, series_dash[s]);
            px = x;
            py = y;
        }
        for (int i = 0; i < nw; i++)
            zn_canvas_marker(&c, zn_chart_px_x(&a, t0 + (i + 0.5) * win), zn_chart_px_y(&a, ser[s][i]), 9,
                             zn_chart_colors[s], series_marker[s]);
    }
    snprintf(lt, sizeof lt, "target %s QPS", fmt_rate(rec->settings.target_qps, b1, sizeof b1));
    legend_item it[3] = {{"offered (scheduled arrivals)", L_LINE, zn_chart_colors[0], 0, series_marker[0], series_dash[0]},
                         {"achieved (completions)", L_LINE, zn_chart_colors[1], 0, series_marker[1], series_dash[1]},
                         {lt, L_LINE, ZN_CHART_COLOR_BOUND, 0, ZN_MARK_DOT, 4}};
    legend(&c, a.x1 - 6, a.y0 + 6, it, rec->settings.target_qps > 0 ? 3 : 2);
    return finish(&c, path, &a, axes);
}

/* ---- find-peak curve -------------------------------------------------------------------------- */

static int cmp_point(const void *x, const void *y) {
    const zn_peak_point *a = x, *b = y;
    return (a->qps > b->qps) - (a->qps < b->qps);
}

zn_status zn_chart_peak(const zn_peak_result *pk, const zn_record *rec, const char *path, zn_chart_axes *axes) {
    if (!pk || pk->n_points == 0) return no_data("find-peak steps");
    zn_peak_point pts[ZN_PEAK_MAX_POINTS];
    int n = pk->n_points;
    memcpy(pts, pk->points, (size_t)n * sizeof *pts);
    qsort(pts, (size_t)n, sizeof *pts, cmp_point);
    double qmax = 0, lmax = 0, bound = 0, pct = 99;
    for (int i = 0; i < n; i++) {
        qmax = fmax(qmax, pts[i].qps);
        lmax = fmax(lmax, (double)pts[i].latency_ns);
        if (pts[i].bound_ns > 0) bound = (double)pts[i].bound_ns;
        if (pts[i].percentile > 0) pct = pts[i].percentile;
    }
    /* very slow invalid points would squash the rest: cap the axis at 4x the bound */
    double ycap = bound > 0 ? fmin(lmax, 4 * bound) : lmax;
    ycap = fmax(ycap, bound);
    zn_chart_axes a;
    default_area(&a);
    double xstep, ystep;
    nice_range(0, qmax * 1.05, 10, true, &a.xmin, &a.xmax, &xstep);
    nice_range(0, ycap * 1.1, 8, true, &a.ymin, &a.ymax, &ystep);
    zn_canvas c;
    char title[200], sub[512], yl[96], b1[32], b2[32];
    if (pk->found)
        snprintf(title, sizeof title, "Find-peak: %s QPS is the highest valid rate", fmt_rate(pk->peak_qps, b1, sizeof b1));
    else
        snprintf(title, sizeof title, "Find-peak: no valid rate found");
    snprintf(sub, sizeof sub, "%s, server; %d runs; %s", model_name(rec), n, pk->note);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    unit yu = ns_unit(a.ymax);
    snprintf(yl, sizeof yl, "p%g latency (%s)", pct, yu.name);
    axes_draw(&c, &a, xstep, plain_unit(), "offered load (queries per second)", ystep, yu, yl);
    char lb[64] = "", lp[64];
    if (bound > 0) {
        snprintf(lb, sizeof lb, "bound %s", fmt_ns(bound, b2, sizeof b2));
        hmarker(&c, &a, bound, ZN_CHART_COLOR_BOUND, 4, NULL);
    }
    int px = 0, py = 0;
    for (int i = 0; i < n; i++) {
        int x = zn_chart_px_x(&a, pts[i].qps), y = zn_chart_px_y(&a, fmin((double)pts[i].latency_ns, a.ymax));
        if (i) zn_canvas_line(&c, px, py, x, y, 0xA0A0A0, 2, 0);
        px = x;
        py = y;
    }
    for (int i = 0; i < n; i++) {
        int x = zn_chart_px_x(&a, pts[i].qps), y = zn_chart_px_y(&a, fmin((double)pts[i].latency_ns, a.ymax));
        if (pts[i].valid) zn_canvas_marker(&c, x, y, 13, zn_chart_colors[0], ZN_MARK_CIRCLE);
        else zn_canvas_marker(&c, x, y, 13, ZN_CHART_COLOR_P99, ZN_MARK_CROSS);
    }
    if (pk->found) {
        snprintf(lp, sizeof lp, "peak %s QPS", fmt_rate(pk->peak_qps, b1, sizeof b1));
        vmarker(&c, &a, pk->peak_qps, ZN_CHART_COLOR_P50, 10, lp, 0);
    }
    legend_item it[3] = {{"VALID run", L_MARK, zn_chart_colors[0], 0, ZN_MARK_CIRCLE, 0},
                         {"INVALID run", L_MARK, ZN_CHART_COLOR_P99, 0, ZN_MARK_CROSS, 0},
                         {lb, L_LINE, ZN_CHART_COLOR_BOUND, 0, ZN_MARK_DOT, 4}};
    legend(&c, a.x0 + 20 + 330, a.y0 + 50, it, bound > 0 ? 3 : 2);
    return finish(&c, path, &a, axes);
}

/* ---- grouped vertical bars (sweep, compare) --------------------------------------------------- */

#define MAX_GROUPS 32

/* vals[g * ns + s]; draws bars into the area a (ranges computed here). */
static void vbars(zn_canvas *c, zn_chart_axes *a, int ng, const char *const *glabels, int ns, const double *vals,
                  unit yu, const char *ylabel, bool value_labels, bool per_series_style) {
    double vmax = 0;
    for (int i = 0; i < ng * ns; i++) vmax = fmax(vmax, vals[i]);
    double ystep;
    nice_range(0, vmax * 1.15, 6, true, &a->ymin, &a->ymax, &ystep);
    a->xmin = 0;
    a->xmax = ng;
    axes_draw(c, a, 0, plain_unit(), NULL, ystep, yu, ylabel);
    int gw = (a->x1 - a->x0) / (ng > 0 ? ng : 1);
    int pad = gw / 8 > 4 ? gw / 8 : 4, bw = (gw - 2 * pad) / (ns > 0 ? ns : 1);
    if (bw > 90) bw = 90;
    char buf[128], b1[32];
    for (int g = 0; g < ng; g++) {
        int gx = a->x0 + g * gw, used = bw * ns, bx = gx + (gw - used) / 2;
        for (int s = 0; s < ns; s++) {
            double v = vals[g * ns + s];
            int y = zn_chart_px_y(a, v), x0 = bx + s * bw + 2, x1 = bx + (s + 1) * bw - 2;
            int st = per_series_style ? s : g;
            zn_canvas_fill_pattern(c, x0, y, x1, a->y1, zn_chart_colors[st % ZN_CHART_SERIES],
                                   series_fill[st % ZN_CHART_SERIES]);
            if (value_labels) {
                const char *t = yu.div == 1 && yu.name[0] == 0 ? fmt_rate(v, b1, sizeof b1) : fmt_ns(v, b1, sizeof b1);
                int sc = zn_text_width(t, TS) <= bw || ns == 1 ? TS : 1, tw = zn_text_width(t, sc);
                if (tw <= bw || ns == 1) zn_canvas_text(c, (x0 + x1) / 2 - tw / 2, y - zn_text_height(sc) - 5, t, INK, sc);
            }
        }
        if (glabels && glabels[g]) {
            const char *l = zn_text_fit(glabels[g], gw - 6, TS, buf, sizeof buf);
            zn_canvas_text(c, gx + gw / 2 - zn_text_width(l, TS) / 2, a->y1 + 10, l, INK, TS);
        }
    }
}

static const char *letter(int i, char *buf, size_t cap) {
    snprintf(buf, cap, "%c", 'A' + (i % 26));
    return buf;
}

zn_status zn_chart_compare(const zn_record *const *recs, int n, const char *const *labels, const char *path,
                           zn_chart_axes *axes) {
    if (n < 1 || n > MAX_GROUPS) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "compare chart: %d runs (1..%d)", n, MAX_GROUPS);
    int ns = n;
    double lat[4 * MAX_GROUPS], thr[MAX_GROUPS];
    double lmax = 0;
    for (int i = 0; i < n; i++) {
        const zn_record_results *r = &recs[i]->results;
        double v[4] = {(double)r->p50_ns, (double)r->p90_ns, (double)r->p99_ns, (double)r->p999_ns};
        for (int g = 0; g < 4; g++) {
            lat[g * ns + i] = v[g];
            lmax = fmax(lmax, v[g]);
        }
        thr[i] = r->samples_per_second;
    }
    zn_canvas c;
    char title[200], sub[256];
    snprintf(title, sizeof title, "Comparison of %d runs: latency percentiles and throughput", n);
    snprintf(sub, sizeof sub, "%s, %s; bars in the legend's order", model_name(recs[0]), recs[0]->settings.scenario);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    zn_chart_axes a;
    default_area(&a);
    a.x1 = 760;
    int nl0 = n < 8 ? n : 8;
    a.y0 = 84 + (zn_text_height(TS) + 10) * nl0 + 12 + 30; /* below the legend */
    unit yu = ns_unit(lmax * 1.15);
    char yl[64];
    snprintf(yl, sizeof yl, "query latency (%s)", yu.name);
    static const char *const groups[4] = {"p50", "p90", "p99", "p99.9"};
    vbars(&c, &a, 4, groups, ns, lat, yu, yl, n <= 4, true);
    zn_chart_axes t;
    t.x0 = 900;
    t.x1 = W - 30;
    t.y0 = a.y0;
    t.y1 = a.y1;
    /* the throughput panel's y label sits just left of it */
    double tmax = 0;
    for (int i = 0; i < n; i++) tmax = fmax(tmax, thr[i]);
    char lab[MAX_GROUPS][8];
    const char *tl[MAX_GROUPS];
    for (int i = 0; i < n; i++) tl[i] = letter(i, lab[i], sizeof lab[i]);
    vbars(&c, &t, n, tl, 1, thr, plain_unit(), NULL, true, false);
    const char *ty = "samples/s";
    zn_canvas_text_up(&c, t.x0 - 90, (t.y0 + t.y1) / 2 + zn_text_width(ty, TS) / 2, ty, INK, TS);
    zn_canvas_text(&c, t.x0, a.y1 + 44, "throughput", INK, TS);
    zn_canvas_text(&c, (a.x0 + a.x1) / 2 - zn_text_width("percentile", TS) / 2, a.y1 + 44, "percentile", INK, TS);
    /* legend across the top */
    legend_item it[MAX_GROUPS];
    char names[MAX_GROUPS][160];
    int nl = n < 8 ? n : 8;
    for (int i = 0; i < nl; i++) {
        char l[8];
        snprintf(names[i], sizeof names[i], "%s: %s", letter(i, l, sizeof l),
                 labels && labels[i] ? labels[i] : model_name(recs[i]));
        it[i] = (legend_item){names[i], L_BOX, zn_chart_colors[i % ZN_CHART_SERIES], series_fill[i % ZN_CHART_SERIES],
                              ZN_MARK_DOT, 0};
    }
    legend(&c, W - 30, 84, it, nl);
    return finish(&c, path, &a, axes);
}

zn_status zn_chart_sweep(const zn_record *const *recs, int n, const char *const *labels, const char *path,
                         zn_chart_axes *axes) {
    if (n < 1 || n > MAX_GROUPS) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "sweep chart: %d runs (1..%d)", n, MAX_GROUPS);
    double thr[MAX_GROUPS], lat[2 * MAX_GROUPS], lmax = 0;
    char lab[MAX_GROUPS][8];
    const char *gl[MAX_GROUPS];
    for (int i = 0; i < n; i++) {
        const zn_record_results *r = &recs[i]->results;
        thr[i] = r->samples_per_second;
        lat[i * 2] = (double)r->p50_ns;
        lat[i * 2 + 1] = (double)r->p99_ns;
        lmax = fmax(lmax, (double)r->p99_ns);
        gl[i] = labels && labels[i] ? labels[i] : letter(i, lab[i], sizeof lab[i]);
    }
    zn_canvas c;
    char title[200], sub[256];
    snprintf(title, sizeof title, "Sweep over %d configurations", n);
    snprintf(sub, sizeof sub, "%s, %s; throughput (top) and latency (bottom) per configuration", model_name(recs[0]),
             recs[0]->settings.scenario);
    zn_status st = frame(&c, title, sub);
    if (st != ZN_OK) return st;
    zn_chart_axes a, b;
    default_area(&a);
    a.y0 = 100;
    a.y1 = 330;
    vbars(&c, &a, n, NULL, 1, thr, plain_unit(), "samples/s", true, true);
    default_area(&b);
    b.y0 = 420;
    b.y1 = H - 70;
    unit yu = ns_unit(lmax * 1.15);
    char yl[64];
    snprintf(yl, sizeof yl, "latency (%s)", yu.name);
    vbars(&c, &b, n, gl, 2, lat, yu, yl, n <= 4, true);
    /* group labels under the top panel too */
    int gw = (a.x1 - a.x0) / n;
    char buf[128];
    for (int i = 0; i < n; i++) {
        const char *l = zn_text_fit(gl[i], gw - 6, TS, buf, sizeof buf);
        zn_canvas_text(&c, a.x0 + i * gw + gw / 2 - zn_text_width(l, TS) / 2, a.y1 + 10, l, INK, TS);
    }
    legend_item it[2] = {{"p50", L_BOX, zn_chart_colors[0], series_fill[0], ZN_MARK_DOT, 0},
                         {"p99", L_BOX, zn_chart_colors[1], series_fill[1], ZN_MARK_DOT, 0}};
    legend_row(&c, b.x0 + 10, b.y0 - 40, it, 2);
    return finish(&c, path, &a, axes);
}

/* ---- file names ------------------------------------------------------------------------------- */

void zn_chart_paths(const char *md_path, const char *name, char *path, size_t path_cap, char *rel, size_t rel_cap) {
    const char *slash = strrchr(md_path, '/');
    const char *base = slash ? slash + 1 : md_path;
    size_t dir_len = slash ? (size_t)(slash - md_path) + 1 : 0;
    size_t stem_len = strlen(base);
    if (stem_len > 3 && !strcmp(base + stem_len - 3, ".md")) stem_len -= 3;
    if (stem_len == 0) {
        base = "report";
        stem_len = 6;
    }
    snprintf(rel, rel_cap, "%.*s-%s.png", (int)stem_len, base, name);
    snprintf(path, path_cap, "%.*s%s", (int)dir_len, md_path, rel);
}
