/* widgets.h — the TUI's drawing blocks, each rendering into a tui_canvas rectangle:
 * latency histogram, sparkline, progress bar, sortable table, percentile table, rule list, plus
 * the number formatting they share. Pure functions of their data: no terminal, no globals, so
 * the tests draw them off-screen and read the text back.
 *
 * What it is not: a layout manager (screens place widgets) or a data source (screens pass
 * plain data in).
 */
#ifndef ZN_TUI_WIDGETS_H
#define ZN_TUI_WIDGETS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/tui/canvas.h"
#include "suites/histogram.h"
#include "suites/loadgen.h"

/* ---- formatting ---- */
/* "850 ns", "12.3 us", "1.23 ms", "1.234 s": 3-4 significant digits. Returns buf. */
const char *tui_fmt_ns(double ns, char *buf, int cap);
/* "987", "12.3k", "4.56M". */
const char *tui_fmt_count(double v, char *buf, int cap);
/* Signed relative change "+3.2%" / "-12.0%" of b against a; "n/a" when a is 0. */
const char *tui_fmt_delta(double a, double b, char *buf, int cap);

/* ---- latency histogram ----
 * The histogram's buckets are folded into `n` equal-width columns over [lo, hi] (by each
 * bucket's midpoint); values above hi land in the last column and are counted in `above`,
 * below lo in the first. Bars are scaled so the tallest column fills the height, in eighths
 * of a cell; a non-empty column is at least one eighth tall. */
#define TUI_HIST_MAX_COLS 512

typedef struct tui_hist_bins {
    int n;
    bool log;          /* columns equal in log(value) rather than in value */
    int64_t lo, hi;
    uint64_t counts[TUI_HIST_MAX_COLS];
    uint64_t peak;     /* largest column */
    uint64_t above;    /* values beyond hi, folded into the last column */
    uint64_t total;
} tui_hist_bins;

/* The range the views show: [min, p99.9] (so one stray outlier does not squash the shape),
 * widened to [min, min+1] when everything is equal. Returns whether the axis should be
 * logarithmic: when hi > TUI_HIST_LOG_RATIO * lo (a long tail would otherwise leave the body
 * of the distribution in one column). */
#define TUI_HIST_LOG_RATIO 4
bool tui_hist_range(const zn_hist *h, int64_t *lo, int64_t *hi);
/* Columns over [lo, hi]: equal widths, or equal ratios when log (lo is then at least 1). */
void tui_hist_bin(const zn_hist *h, int64_t lo, int64_t hi, int n, bool log, tui_hist_bins *out);
/* The value where column col starts. */
int64_t tui_hist_col_start(const tui_hist_bins *b, int col);
/* The column a value falls in for the bins' range. */
int tui_hist_col(const tui_hist_bins *b, int64_t v);
/* Bar height in eighths of a cell for `count` when `peak` fills `rows` rows. */
int tui_bar_eighths(uint64_t count, uint64_t peak, int rows);
/* Draws bars over r (all but the last two rows), a row marking the p50 / p99 columns and an
 * axis row of labels (lo, middle, hi; "log" when the axis is) at the bottom. An empty histogram says "waiting for queries". */
void tui_draw_histogram(tui_canvas *c, tui_rect r, const zn_hist *h);

/* ---- sparkline ----
 * The last w values of v[0..n) (oldest first), one cell each, right-aligned; levels scale from
 * 0 (from_zero) or the shown minimum to the shown maximum. A flat series sits at the lowest
 * level. Returns the level drawn for the last value (-1 when none), for tests. */
int tui_spark_level(double v, double lo, double hi);
int tui_draw_sparkline(tui_canvas *c, int y, int x, int w, const double *v, int n, bool from_zero, tui_role role);

/* ---- progress bar: frac in [0,1] over w cells (eighths with Unicode, whole cells in ASCII) */
void tui_draw_progress(tui_canvas *c, int y, int x, int w, double frac, tui_role fill);

/* ---- sortable table ----
 * Rows hold each column's text and a numeric key; sorting a numeric column compares keys
 * (ties keep the insertion order), a text column compares text. Clicking a header cell is a
 * TUI_HIT_TABLE_COL target with the column index as its argument. */
#define TUI_TABLE_MAX_COLS 8
#define TUI_TABLE_CELL 64
#define TUI_HIT_TABLE_COL 9001
#define TUI_HIT_TABLE_ROW 9002

typedef struct tui_col {
    const char *title;
    int width;          /* cells; the last column may take the rest (width 0) */
    bool right;         /* right-aligned (numbers) */
    bool numeric;       /* sort by key; descending first */
} tui_col;

typedef struct tui_row {
    char text[TUI_TABLE_MAX_COLS][TUI_TABLE_CELL];
    double key[TUI_TABLE_MAX_COLS];
} tui_row;

typedef struct tui_table {
    int ncols;
    tui_col cols[TUI_TABLE_MAX_COLS];
    int nrows, cap;
    tui_row *rows;      /* insertion order */
    int *order;         /* display order: indices into rows */
    int sort_col;       /* -1: insertion order */
    bool sort_desc;
    int sel;            /* selected display row */
    int top;            /* first display row shown */
} tui_table;

void tui_table_init(tui_table *t, int ncols, const tui_col *cols);
void tui_table_free(tui_table *t);
void tui_table_clear(tui_table *t);            /* rows only; columns and sort stay */
/* Appends a row; returns its index or -1 out of memory. */
int tui_table_add(tui_table *t);
void tui_table_set(tui_table *t, int row, int col, double key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sorts by col (desc for numeric columns unless asked); re-sorting the same column flips. */
void tui_table_sort(tui_table *t, int col, bool desc);
void tui_table_toggle_sort(tui_table *t, int col);
/* The row (insertion index) shown at display position i. */
const tui_row *tui_table_at(const tui_table *t, int i);
/* Moves the selection by delta rows (clamped). */
void tui_table_move(tui_table *t, int delta);
void tui_table_draw(tui_canvas *c, tui_rect r, tui_table *t, bool focused);

/* ---- percentile table: label / value rows ("p50  1.23 ms") from a finished histogram or a
 * record's numbers. */
typedef struct tui_pct_row {
    const char *label;
    int64_t ns;
} tui_pct_row;
/* Fills rows for min, p50, p90, p95, p97, p99, p99.9, max, mean from h; returns the count (9). */
int tui_percentiles_from_hist(const zn_hist *h, tui_pct_row *rows);
void tui_draw_percentiles(tui_canvas *c, tui_rect r, const tui_pct_row *rows, int n);

/* ---- rule list: a pass/fail mark, the rule's name, its detail (clipped) */
void tui_draw_rules(tui_canvas *c, tui_rect r, const zn_rule_outcome *rules, int n);

#endif
