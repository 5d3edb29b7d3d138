/* test_tui.c — the workbench's drawing and layout logic, rendered into off-screen canvases:
 * canvas primitives, histogram scaling on known bucket data (linear and log axes), the
 * percentile table against an independent sort, sorting a table by every column, sparklines,
 * the "terminal too small" screen, the ASCII fallback, the setup form's keys, whole screens at
 * 80x24 and 200x60, click targets, and the runs folder (save, list newest first).
 *
 * The TUI's files live in app/ (not in libzenith.a), so this suite compiles the ones that do
 * not touch the terminal straight in. term.c and app.c (ncurses, threads) are driven in a real
 * terminal instead (README). */
#include "tests/test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "engine/alloc.h"

#include "app/runs.c"
#include "app/tui/canvas.c"
#include "app/tui/frame.c"
#include "app/tui/history.c"
#include "app/tui/live.c"
#include "app/tui/results.c"
#include "app/tui/setup.c"
#include "app/tui/widgets.c"

#define FULL 0x2588u /* U+2588 full block */

/* Cells of column x, rows [y0, y1), that hold ch. */
static int count_in_column(const tui_canvas *c, int x, int y0, int y1, uint32_t ch) {
    int n = 0;
    for (int y = y0; y < y1; y++) n += tui_canvas_ch(c, y, x) == ch;
    return n;
}

static bool canvas_has(const tui_canvas *c, const char *text) { return tui_canvas_find(c, text, NULL, NULL); }

static bool canvas_all_ascii(const tui_canvas *c) {
    for (int i = 0; i < c->h * c->w; i++)
        if (c->cells[i].ch >= 0x80) return false;
    return true;
}

/* ---- canvas ------------------------------------------------------------------------------------ */

static void test_canvas_text_and_clipping(void **state) {
    (void)state;
    tui_canvas c;
    assert_int_equal(tui_canvas_init(&c, 5, 10, true), 0);
    assert_int_equal(tui_put_str(&c, 1, 2, TUI_R_VALUE, -1, "héllo"), 5);
    char row[64];
    tui_canvas_row(&c, 1, row, sizeof row);
    assert_string_equal(row, "  héllo   ");
    assert_int_equal(tui_canvas_role(&c, 1, 3), TUI_R_VALUE);
    /* clipped at the right edge and by maxw; outside is ignored */
    assert_int_equal(tui_put_str(&c, 2, 7, TUI_R_NORMAL, -1, "abcdef"), 3);
    assert_int_equal(tui_put_str(&c, 3, 0, TUI_R_NORMAL, 2, "abcdef"), 2);
    tui_put_str(&c, 9, 0, TUI_R_NORMAL, -1, "nowhere");
    tui_put_str(&c, -1, 0, TUI_R_NORMAL, -1, "nowhere");
    tui_canvas_row(&c, 2, row, sizeof row);
    assert_string_equal(row, "       abc");
    int y, x;
    assert_true(tui_canvas_find(&c, "llo", &y, &x));
    assert_int_equal(y, 1);
    assert_int_equal(x, 4);
    assert_int_equal(tui_put_right(&c, 4, 10, TUI_R_NORMAL, "end"), 3);
    assert_int_equal(tui_canvas_ch(&c, 4, 9), 'd');
    /* control characters never reach the terminal */
    tui_put_str(&c, 0, 0, TUI_R_NORMAL, -1, "a\tb");
    assert_int_equal(tui_canvas_ch(&c, 0, 1), '?');
    tui_canvas_free(&c);
}

static void test_canvas_box_and_hits(void **state) {
    (void)state;
    tui_canvas c;
    tui_canvas_init(&c, 6, 20, true);
    tui_box(&c, (tui_rect){0, 0, 4, 12}, TUI_R_BORDER, "Hi");
    assert_int_equal(tui_canvas_ch(&c, 0, 0), 0x250C);
    assert_int_equal(tui_canvas_ch(&c, 3, 11), 0x2518);
    assert_int_equal(tui_canvas_ch(&c, 2, 0), 0x2502);
    assert_true(canvas_has(&c, " Hi "));
    tui_rect in = tui_inner((tui_rect){0, 0, 4, 12});
    assert_int_equal(in.y, 1);
    assert_int_equal(in.w, 10);
    tui_add_hit(&c, (tui_rect){1, 1, 2, 5}, 7, 42);
    tui_add_hit(&c, (tui_rect){2, 2, 1, 1}, 8, 43); /* later (on top) wins */
    int arg = 0;
    assert_int_equal(tui_hit_at(&c, 1, 3, &arg), 7);
    assert_int_equal(arg, 42);
    assert_int_equal(tui_hit_at(&c, 2, 2, &arg), 8);
    assert_int_equal(tui_hit_at(&c, 5, 19, &arg), -1);
    /* ASCII glyphs */
    tui_canvas a;
    tui_canvas_init(&a, 4, 8, false);
    tui_box(&a, (tui_rect){0, 0, 4, 8}, TUI_R_BORDER, NULL);
    assert_int_equal(tui_canvas_ch(&a, 0, 0), '+');
    assert_int_equal(tui_canvas_ch(&a, 0, 1), '-');
    assert_int_equal(tui_canvas_ch(&a, 1, 0), '|');
    tui_put_str(&a, 1, 1, TUI_R_NORMAL, -1, "é");
    assert_int_equal(tui_canvas_ch(&a, 1, 1), '?');
    tui_canvas_free(&a);
    tui_canvas_free(&c);
}

/* ---- histogram ------------------------------------------------------------------------------- */

static void test_histogram_scaling_known_data(void **state) {
    (void)state;
    zn_hist *h = malloc(sizeof *h);
    zn_hist_init(h);
    zn_hist_record_n(h, 1000, 100);
    zn_hist_record_n(h, 2000, 50);
    zn_hist_record_n(h, 3000, 25);
    int64_t lo, hi;
    assert_false(tui_hist_range(h, &lo, &hi)); /* 3000 / 1000 < 4: linear */
    assert_int_equal(lo, 1000);
    assert_int_equal(hi, 3000);
    tui_hist_bins *b = malloc(sizeof *b);
    tui_hist_bin(h, lo, hi, 3, false, b);
    assert_int_equal(b->counts[0], 100);
    assert_int_equal(b->counts[1], 50);
    assert_int_equal(b->counts[2], 25);
    assert_int_equal(b->peak, 100);
    assert_int_equal(b->total, 175);
    /* bar heights in eighths: the peak fills 8 rows, the others in proportion */
    assert_int_equal(tui_bar_eighths(100, 100, 8), 64);
    assert_int_equal(tui_bar_eighths(50, 100, 8), 32);
    assert_int_equal(tui_bar_eighths(25, 100, 8), 16);
    assert_int_equal(tui_bar_eighths(1, 1000, 8), 1); /* visible however small */
    assert_int_equal(tui_bar_eighths(0, 1000, 8), 0);

    /* drawn: 30 columns, 10 rows = 8 of bars + a marker row + an axis row */
    tui_canvas c;
    tui_canvas_init(&c, 10, 30, true);
    tui_draw_histogram(&c, (tui_rect){0, 0, 10, 30}, h);
    tui_hist_bin(h, lo, hi, 30, false, b);
    /* columns by bucket midpoint over [1000, 3000] in 30 columns: 1000 is in [1000,1004) ->
     * mid 1001 -> column 0; 2000 in [2000,2008) -> 2003 -> 1003*30/2001 = 15.04 -> 15; 3000 in
     * [2992,3008) -> 2999 -> 29.97 -> 29 */
    int c1 = 0, c2 = 15, c3 = 29;
    assert_int_equal(b->counts[c1], 100);
    assert_int_equal(b->counts[c2], 50);
    assert_int_equal(b->counts[c3], 25);
    assert_int_equal(count_in_column(&c, c1, 0, 8, FULL), 8);
    assert_int_equal(count_in_column(&c, c2, 0, 8, FULL), 4);
    assert_int_equal(count_in_column(&c, c3, 0, 8, FULL), 2);
    assert_int_equal(count_in_column(&c, 7, 0, 8, ' '), 8); /* an empty column stays empty */
    /* the axis row names the range; the marker row places p50 at its column */
    assert_true(canvas_has(&c, "1.00 us"));
    assert_true(canvas_has(&c, "3.00 us"));
    int y, x;
    assert_true(tui_canvas_find(&c, "^p50", &y, &x));
    assert_int_equal(y, 8);
    assert_int_equal(x, c1);
    tui_canvas_free(&c);
    free(b);
    free(h);
}

static void test_histogram_partial_cells_and_log_axis(void **state) {
    (void)state;
    zn_hist *h = malloc(sizeof *h);
    zn_hist_init(h);
    zn_hist_record_n(h, 100, 80);   /* exact buckets below 128 */
    zn_hist_record_n(h, 110, 30);   /* 30/80 of 8 rows = 3 rows exactly */
    zn_hist_record_n(h, 120, 5);    /* 5/80 * 64 = 4 eighths: half a cell */
    tui_canvas c;
    tui_canvas_init(&c, 10, 21, true);
    tui_draw_histogram(&c, (tui_rect){0, 0, 10, 21}, h);
    tui_hist_bins *b = malloc(sizeof *b);
    int64_t lo, hi;
    tui_hist_range(h, &lo, &hi);
    tui_hist_bin(h, lo, hi, 21, false, b);
    int c2 = tui_hist_col(b, 110), c3 = tui_hist_col(b, 120);
    assert_int_equal(count_in_column(&c, c2, 0, 8, FULL), 3);
    assert_int_equal(tui_canvas_ch(&c, 7, c3), 0x2584); /* lower half block */
    assert_int_equal(count_in_column(&c, c3, 0, 7, ' '), 7);

    /* a long tail switches to a log axis: 1 us and 1 ms land in the first and last columns,
     * 31.6 us (the geometric middle) in the middle one */
    zn_hist_init(h);
    zn_hist_record_n(h, 1000, 10);
    zn_hist_record_n(h, 31623, 10);
    zn_hist_record_n(h, 1000000, 10);
    assert_true(tui_hist_range(h, &lo, &hi));
    tui_hist_bin(h, lo, hi, 21, true, b);
    assert_int_equal(tui_hist_col(b, 1000), 0);
    assert_int_equal(tui_hist_col(b, 1000000), 20);
    assert_int_equal(tui_hist_col(b, 31623), 10);
    tui_canvas_resize(&c, 10, 44);
    tui_draw_histogram(&c, (tui_rect){0, 0, 10, 44}, h);
    assert_true(canvas_has(&c, "log")); /* the middle label says so */
    assert_int_equal(count_in_column(&c, 0, 0, 8, FULL), 8);
    assert_int_equal(count_in_column(&c, 22, 0, 8, FULL), 8); /* 44 * log(31.6)/log(1000) = 22 */
    assert_int_equal(count_in_column(&c, 43, 0, 8, FULL), 8);
    assert_int_equal(count_in_column(&c, 11, 0, 8, ' '), 8);
    free(b);
    tui_canvas_free(&c);
    free(h);
}

static void test_histogram_random_conservation(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    zn_hist *h = malloc(sizeof *h);
    tui_hist_bins *b = malloc(sizeof *b);
    for (int trial = 0; trial < 20; trial++) {
        zn_hist_init(h);
        int n = 1 + (int)(tu_next(&r) % 5000);
        for (int i = 0; i < n; i++) zn_hist_record(h, 1000 + (int64_t)(tu_next(&r) % 200000));
        int cols = 1 + (int)(tu_next(&r) % 200);
        int64_t lo, hi;
        bool lg = tui_hist_range(h, &lo, &hi);
        tui_hist_bin(h, lo, hi, cols, lg, b);
        uint64_t sum = 0, peak = 0;
        for (int i = 0; i < b->n; i++) {
            sum += b->counts[i];
            if (b->counts[i] > peak) peak = b->counts[i];
        }
        assert_int_equal(sum, (uint64_t)n);   /* every value lands in exactly one column */
        assert_int_equal(peak, b->peak);
        assert_true(b->above <= (uint64_t)n / 500 + 16); /* only the tail past p99.9 */
        /* columns are monotone in value */
        for (int64_t v = lo; v < hi; v += (hi - lo) / 97 + 1)
            assert_true(tui_hist_col(b, v) <= tui_hist_col(b, v + (hi - lo) / 97 + 1));
        /* bar heights: the plain formula */
        int rows = 1 + (int)(tu_next(&r) % 30);
        for (int i = 0; i < b->n; i++) {
            int want = b->counts[i] ? (int)lround((double)b->counts[i] * rows * 8 / (double)b->peak) : 0;
            if (b->counts[i] && want < 1) want = 1;
            assert_int_equal(tui_bar_eighths(b->counts[i], b->peak, rows), want);
        }
    }
    free(b);
    free(h);
}

/* ---- percentiles ----------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_percentile_table(void **state) {
    (void)state;
    zn_hist *h = malloc(sizeof *h);
    zn_hist_init(h);
    for (int v = 1; v <= 100; v++) zn_hist_record(h, v);
    tui_pct_row rows[9];
    assert_int_equal(tui_percentiles_from_hist(h, rows), 9);
    assert_string_equal(rows[0].label, "min");
    assert_int_equal(rows[0].ns, 1);
    assert_string_equal(rows[1].label, "p50");
    assert_int_equal(rows[1].ns, 51); /* rank floor(100 * 0.5) of 1..100 */
    assert_int_equal(rows[2].ns, 91);
    assert_int_equal(rows[5].ns, 100);
    assert_int_equal(rows[7].ns, 100);
    assert_int_equal(rows[8].ns, 51); /* mean 50.5 rounded */
    tui_canvas c;
    tui_canvas_init(&c, 9, 24, true);
    tui_draw_percentiles(&c, (tui_rect){0, 0, 9, 24}, rows, 9);
    char row[128];
    tui_canvas_row(&c, 1, row, sizeof row);
    assert_non_null(strstr(row, "p50"));
    assert_non_null(strstr(row, "51 ns"));
    tui_canvas_row(&c, 2, row, sizeof row);
    assert_non_null(strstr(row, "p90"));
    assert_non_null(strstr(row, "91 ns"));

    /* random exact values (< 128 ns: one bucket each) against a plain sort */
    tu_rng r = tu_rng_new(tu_seed() + 1);
    int64_t vals[2000];
    int n = 100 + (int)(tu_next(&r) % 1900);
    zn_hist_init(h);
    for (int i = 0; i < n; i++) {
        vals[i] = (int64_t)(tu_next(&r) % 128);
        zn_hist_record(h, vals[i]);
    }
    qsort(vals, (size_t)n, sizeof vals[0], cmp_i64);
    static const double ps[7] = {0, 50, 90, 95, 97, 99, 99.9};
    tui_percentiles_from_hist(h, rows);
    for (int i = 0; i < 7; i++) {
        int64_t rank = (int64_t)floor(n * ps[i] / 100.0);
        if (rank > n - 1) rank = n - 1;
        assert_int_equal(rows[i].ns, vals[rank]);
    }
    assert_int_equal(rows[7].ns, vals[n - 1]);
    tui_canvas_free(&c);
    free(h);
}

static void test_format(void **state) {
    (void)state;
    char b[32];
    assert_string_equal(tui_fmt_ns(850, b, 32), "850 ns");
    assert_string_equal(tui_fmt_ns(12345, b, 32), "12.3 us");
    assert_string_equal(tui_fmt_ns(1234567, b, 32), "1.235 ms");
    assert_string_equal(tui_fmt_ns(2.5e9, b, 32), "2.500 s");
    assert_string_equal(tui_fmt_delta(100, 103.2, b, 32), "+3.2%");
    assert_string_equal(tui_fmt_delta(0, 5, b, 32), "n/a");
    assert_string_equal(tui_fmt_count(12345, b, 32), "12.3k");
}

/* ---- table ----------------------------------------------------------------------------------- */

static void test_table_sort_every_column(void **state) {
    (void)state;
    static const tui_col cols[3] = {{"Name", 10, false, false}, {"Time", 8, true, true}, {"Share", 6, true, true}};
    tui_table t;
    tui_table_init(&t, 3, cols);
    tu_rng r = tu_rng_new(tu_seed() + 2);
    int n = 50;
    for (int i = 0; i < n; i++) {
        int row = tui_table_add(&t);
        assert_int_equal(row, i);
        double k1 = (double)(tu_next(&r) % 20); /* ties on purpose */
        double k2 = (double)(tu_next(&r) % 1000) / 10;
        tui_table_set(&t, row, 0, 0, "n%03d", (int)(tu_next(&r) % 100));
        tui_table_set(&t, row, 1, k1, "%.0f", k1);
        tui_table_set(&t, row, 2, k2, "%.1f", k2);
    }
    for (int col = 0; col < 3; col++)
        for (int desc = 0; desc < 2; desc++) {
            tui_table_sort(&t, col, desc);
            for (int i = 1; i < n; i++) {
                int a = t.order[i - 1], b = t.order[i];
                int cmp = cols[col].numeric ? (t.rows[a].key[col] > t.rows[b].key[col]) - (t.rows[a].key[col] < t.rows[b].key[col])
                                            : strcmp(t.rows[a].text[col], t.rows[b].text[col]);
                if (desc) cmp = -cmp;
                assert_true(cmp <= 0);
                if (cmp == 0) assert_true(a < b); /* ties keep insertion order */
            }
        }
    /* toggling: a new numeric column sorts descending, the same column again flips */
    tui_table_toggle_sort(&t, 1);
    assert_int_equal(t.sort_col, 1);
    assert_true(t.sort_desc);
    tui_table_toggle_sort(&t, 1);
    assert_false(t.sort_desc);
    tui_table_toggle_sort(&t, 0);
    assert_false(t.sort_desc); /* text ascending first */

    /* drawn: the header marks the sort column; the first row is the smallest name; clicking
     * the Share header is a target for column 2 */
    tui_canvas c;
    tui_canvas_init(&c, 8, 30, true);
    tui_table_draw(&c, (tui_rect){0, 0, 8, 30}, &t, true);
    assert_true(canvas_has(&c, "Name\xE2\x96\xB2")); /* Name + up arrow */
    char row[128];
    tui_canvas_row(&c, 1, row, sizeof row);
    assert_non_null(strstr(row, tui_table_at(&t, 0)->text[0]));
    assert_int_equal(tui_canvas_role(&c, 1, 0), TUI_R_SELECTED);
    int arg = -1;
    assert_int_equal(tui_hit_at(&c, 0, 22, &arg), TUI_HIT_TABLE_COL);
    assert_int_equal(arg, 2);
    /* the selection scrolls into view */
    t.sel = n - 1;
    tui_canvas_clear(&c);
    tui_table_draw(&c, (tui_rect){0, 0, 8, 30}, &t, true);
    tui_canvas_row(&c, 7, row, sizeof row);
    assert_non_null(strstr(row, tui_table_at(&t, n - 1)->text[0]));
    tui_canvas_free(&c);
    tui_table_free(&t);
}

static void test_sparkline_and_progress(void **state) {
    (void)state;
    tui_canvas c;
    tui_canvas_init(&c, 2, 10, true);
    double v[5] = {0, 1, 2, 3, 4};
    assert_int_equal(tui_draw_sparkline(&c, 0, 0, 10, v, 5, true, TUI_R_SPARK), 7);
    assert_int_equal(tui_canvas_ch(&c, 0, 5), 0x2581); /* right-aligned: the 0 in column 5 */
    assert_int_equal(tui_canvas_ch(&c, 0, 9), 0x2588);
    assert_int_equal(tui_canvas_ch(&c, 0, 4), ' ');
    assert_int_equal(tui_spark_level(2, 0, 4), 4); /* 3.5 rounds up */
    assert_int_equal(tui_spark_level(5, 5, 5), 0);  /* flat */
    tui_draw_progress(&c, 1, 0, 10, 0.5, TUI_R_BAR);
    assert_int_equal(count_in_column(&c, 4, 1, 2, FULL), 1);
    assert_int_equal(tui_canvas_ch(&c, 1, 5), 0x2591);
    tui_canvas a;
    tui_canvas_init(&a, 1, 10, false);
    tui_draw_progress(&a, 0, 0, 10, 0.3, TUI_R_BAR);
    char row[32];
    tui_canvas_row(&a, 0, row, sizeof row);
    assert_string_equal(row, "###.......");
    tui_canvas_free(&a);
    tui_canvas_free(&c);
}

/* ---- screens ---------------------------------------------------------------------------------- */

/* A plausible single-stream live state: 500 queries around 2 ms. */
static void fake_live(tui_state *st) {
    zn_test_settings ts = zn_test_settings_default(ZN_SCENARIO_SINGLE_STREAM);
    tui_live_begin(&st->live, "mlp  cpu fp32 default  single-stream", &ts);
    st->run_active = true;
    zn_hist *h = malloc(sizeof *h);
    zn_hist_init(h);
    for (int i = 0; i < 500; i++) zn_hist_record(h, 2000000 + (i % 50) * 10000);
    for (int k = 1; k <= 8; k++) {
        zn_live_snapshot s;
        memset(&s, 0, sizeof s);
        s.state = ZN_RUN_RUNNING;
        s.scenario = ZN_SCENARIO_SINGLE_STREAM;
        s.elapsed_s = 0.125 * k;
        s.queries_done = s.queries_issued = s.samples_done = 60 * k;
        s.qps = 240;
        s.qps_total = 240;
        s.p50_ns = zn_hist_percentile(h, 50);
        s.p90_ns = zn_hist_percentile(h, 90);
        s.p99_ns = zn_hist_percentile(h, 99);
        s.min_duration_progress = s.elapsed_s / 2.0;
        s.min_queries_progress = 1;
        tui_live_sample(&st->live, &s, h, NULL);
    }
    free(h);
    st->screen = TUI_SCR_LIVE;
}

static void test_live_screen_sizes(void **state) {
    (void)state;
    static const int sizes[2][2] = {{24, 80}, {60, 200}};
    for (int k = 0; k < 2; k++) {
        tui_state *st = malloc(sizeof *st);
        assert_int_equal(tui_state_init(st, NULL), 0);
        fake_live(st);
        tui_canvas c;
        tui_canvas_init(&c, sizes[k][0], sizes[k][1], true);
        tui_render(&c, st);
        assert_true(canvas_has(&c, "Latency histogram (500 queries)"));
        assert_true(canvas_has(&c, "p50"));
        char p50[32];
        tui_fmt_ns((double)st->live.snap.p50_ns, p50, sizeof p50);
        assert_true(canvas_has(&c, p50));
        assert_true(canvas_has(&c, "min duration"));
        assert_true(canvas_has(&c, "early stop"));
        assert_true(canvas_has(&c, "1.0/2.0 s"));
        assert_true(canvas_has(&c, "~1.0 s left")); /* 2 s minimum, 1 s elapsed */
        assert_true(canvas_has(&c, "s stop"));
        assert_false(canvas_has(&c, "Terminal too small"));
        /* the top bar says which screen is active, and clicking it is a target */
        int y, x, arg = -1;
        assert_true(tui_canvas_find(&c, "2 Live", &y, &x));
        assert_int_equal(tui_canvas_role(&c, y, x), TUI_R_TAB_ACTIVE);
        assert_int_equal(tui_hit_at(&c, y, x, &arg), TUI_HIT_TAB);
        assert_int_equal(arg, TUI_SCR_LIVE);
        /* sparklines: 8 samples drawn */
        assert_int_equal(st->live.p50.n, 8);
        /* pause freezes the data */
        tui_live_key(&st->live, 'p');
        zn_live_snapshot s = st->live.snap;
        s.queries_done += 1000;
        tui_live_sample(&st->live, &s, NULL, NULL);
        assert_int_equal(st->live.p50.n, 8);
        tui_canvas_clear(&c);
        tui_render(&c, st);
        assert_true(canvas_has(&c, "PAUSED"));
        tui_canvas_free(&c);
        tui_state_free(st);
        free(st);
    }
}

static void test_too_small_and_ascii(void **state) {
    (void)state;
    tui_state *st = malloc(sizeof *st);
    assert_int_equal(tui_state_init(st, NULL), 0);
    fake_live(st);
    tui_canvas c;
    tui_canvas_init(&c, TUI_MIN_H - 1, 100, true);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "Terminal too small"));
    char need[64];
    snprintf(need, sizeof need, "need %dx%d, have 100x%d", TUI_MIN_W, TUI_MIN_H, TUI_MIN_H - 1);
    assert_true(canvas_has(&c, need));
    tui_canvas_resize(&c, 30, TUI_MIN_W - 1);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "Terminal too small"));
    tui_canvas_resize(&c, TUI_MIN_H, TUI_MIN_W);
    tui_render(&c, st);
    assert_false(canvas_has(&c, "Terminal too small"));
    tui_canvas_free(&c);

    /* a non-UTF-8 locale: every screen draws with ASCII only */
    tui_canvas_init(&c, 24, 80, false);
    for (int s = 0; s < TUI_SCR_COUNT; s++) {
        st->screen = (tui_screen_id)s;
        tui_render(&c, st);
        assert_true(canvas_all_ascii(&c));
    }
    st->screen = TUI_SCR_LIVE;
    tui_render(&c, st);
    assert_true(canvas_has(&c, "+ Latency histogram"));
    assert_true(canvas_has(&c, "up/dn") || canvas_has(&c, "s stop"));
    int y, x;
    assert_true(tui_canvas_find(&c, "^p50", &y, &x));
    assert_int_equal(tui_canvas_ch(&c, y - 1, x), '#'); /* the p50 column's bar */
    st->help = true;
    tui_render(&c, st);
    assert_true(canvas_has(&c, "Help"));
    assert_true(canvas_all_ascii(&c));
    tui_canvas_free(&c);
    tui_state_free(st);
    free(st);
}

static void test_setup_keys(void **state) {
    (void)state;
    tui_setup s;
    tui_setup_init(&s, NULL);
    assert_true(s.n_models >= 2);
    assert_string_equal(tui_setup_model(&s), zn_zoo_at(0)->name);
    tui_setup_key(&s, TUI_KEY_RIGHT);
    assert_string_equal(tui_setup_model(&s), zn_zoo_at(1)->name);
    tui_setup_key(&s, 'h');
    assert_int_equal(s.model, 0);
    /* down to the scenario (vim keys), right: multi-stream with its defaults */
    while (s.field != TUI_F_SCENARIO) tui_setup_key(&s, 'j');
    tui_setup_key(&s, TUI_KEY_RIGHT);
    assert_int_equal(s.scenario, ZN_SCENARIO_MULTI_STREAM);
    assert_true(tui_setup_field_visible(&s, TUI_F_SPQ));
    assert_false(tui_setup_field_visible(&s, TUI_F_LATENCY_BOUND));
    tui_setup_key(&s, TUI_KEY_RIGHT);
    assert_int_equal(s.scenario, ZN_SCENARIO_SERVER);
    /* typing a duration with a unit */
    tui_setup_key(&s, 'j');
    assert_int_equal(s.field, TUI_F_DURATION);
    tui_setup_key(&s, '5');
    assert_true(s.editing);
    tui_setup_key(&s, '0');
    tui_setup_key(&s, '0');
    tui_setup_key(&s, 'm');
    tui_setup_key(&s, 's');
    assert_int_equal(tui_setup_key(&s, TUI_KEY_ENTER), TUI_ACT_NONE);
    assert_false(s.editing);
    assert_true(fabs(s.duration_s - 0.5) < 1e-9);
    /* a bad value is refused with a message */
    tui_setup_key(&s, '1');
    tui_setup_key(&s, 'x');
    tui_setup_key(&s, TUI_KEY_ENTER);
    assert_true(s.error[0] != 0);
    assert_true(fabs(s.duration_s - 0.5) < 1e-9);
    /* what the run will do */
    char d[512];
    tui_setup_describe(&s, d, sizeof d);
    assert_non_null(strstr(d, "server"));
    assert_non_null(strstr(d, "at most 60 s"));
    zn_test_settings ts;
    zn_compile_config cfg;
    int batch;
    tui_setup_settings(&s, &ts, &cfg, &batch);
    assert_int_equal(ts.scenario, ZN_SCENARIO_SERVER);
    assert_int_equal(ts.min_duration_ms, 500);
    assert_true(ts.target_latency_ns > 0);
    assert_int_equal(zn_test_settings_validate(&ts), ZN_OK);
    /* Enter starts */
    assert_int_equal(tui_setup_key(&s, TUI_KEY_ENTER), TUI_ACT_START);
    /* drawn: the form and the description */
    tui_canvas c;
    tui_canvas_init(&c, 24, 80, true);
    tui_setup_draw(&c, (tui_rect){1, 0, 21, 80}, &s);
    assert_true(canvas_has(&c, "Scenario"));
    assert_true(canvas_has(&c, "server"));
    assert_true(canvas_has(&c, "Run: "));
    assert_true(canvas_has(&c, "[ Start run ]"));
    int arg = -1, y, x;
    assert_true(tui_canvas_find(&c, "Scenario", &y, &x));
    assert_int_equal(tui_hit_at(&c, y, x, &arg), TUI_HIT_FIELD);
    assert_int_equal(arg, TUI_F_SCENARIO);
    tui_canvas_free(&c);
}

/* A finished record made by hand: results, rules, a profile of three nodes. */
static zn_record *fake_record(const char *model, int64_t p50) {
    zn_record *rec = malloc(sizeof *rec);
    zn_record_init(rec);
    snprintf(rec->model.name, sizeof rec->model.name, "%s", model);
    snprintf(rec->settings.scenario, sizeof rec->settings.scenario, "single-stream");
    snprintf(rec->settings.test_mode, sizeof rec->settings.test_mode, "performance");
    snprintf(rec->compile.backend, sizeof rec->compile.backend, "cpu");
    snprintf(rec->compile.precision, sizeof rec->compile.precision, "fp32");
    zn_record_results *r = &rec->results;
    r->present = true;
    r->query_count = 1000;
    r->sample_count = 1000;
    r->duration_ns = 2000000000;
    r->lat_min_ns = p50 / 2;
    r->p50_ns = p50;
    r->p90_ns = p50 * 2;
    r->p95_ns = p50 * 3;
    r->p97_ns = p50 * 4;
    r->p99_ns = p50 * 5;
    r->p999_ns = p50 * 6;
    r->lat_max_ns = p50 * 7;
    r->lat_mean_ns = p50;
    snprintf(r->metric_name, sizeof r->metric_name, "p90 latency");
    snprintf(r->metric_unit, sizeof r->metric_unit, "ns");
    r->metric_value = (double)r->p90_ns;
    snprintf(r->verdict, sizeof r->verdict, "VALID");
    r->n_rules = 2;
    snprintf(r->rules[0].name, sizeof r->rules[0].name, "min_duration");
    r->rules[0].passed = 1;
    snprintf(r->rules[0].detail, sizeof r->rules[0].detail, "measured 2.00 s >= 2.00 s");
    snprintf(r->rules[1].name, sizeof r->rules[1].name, "min_queries");
    r->rules[1].passed = 1;
    snprintf(r->rules[1].detail, sizeof r->rules[1].detail, "1000 queries >= 64");
    r->n_recommendations = 1;
    snprintf(r->recommendations[0], sizeof r->recommendations[0], "pin threads before comparing percentiles");
    zn_hist *h = malloc(sizeof *h);
    zn_hist_init(h);
    for (int i = 0; i < 1000; i++) zn_hist_record(h, p50 + (i % 10) * 1000);
    zn_record_hist_from_hist(&r->latency, h);
    free(h);
    rec->has_profile = true;
    zn_profile *p = &rec->profile;
    p->n_nodes = 3;
    p->nodes = zn_calloc(3, sizeof *p->nodes);
    static const char *const names[3] = {"fc1", "relu", "fc2"};
    static const char *const ops[3] = {"Gemm", "Relu", "Gemm"};
    static const int64_t totals[3] = {5000, 100, 3000};
    for (int i = 0; i < 3; i++) {
        snprintf(p->nodes[i].name, sizeof p->nodes[i].name, "%s", names[i]);
        snprintf(p->nodes[i].op, sizeof p->nodes[i].op, "%s", ops[i]);
        p->nodes[i].count = 10 + i;
        p->nodes[i].total_ns = totals[i];
        p->nodes[i].mean_ns = (double)totals[i] / (double)(10 + i);
        p->nodes[i].share = (double)totals[i] / 8100.0;
    }
    p->total_ns = 8100;
    p->n_ops = 2;
    p->ops = zn_calloc(2, sizeof *p->ops);
    snprintf(p->ops[0].op, sizeof p->ops[0].op, "Gemm");
    p->ops[0].total_ns = 8000;
    p->ops[0].nodes = 2;
    snprintf(p->ops[1].op, sizeof p->ops[1].op, "Relu");
    p->ops[1].total_ns = 100;
    p->ops[1].nodes = 1;
    return rec;
}

static void test_results_screen(void **state) {
    (void)state;
    tui_state *st = malloc(sizeof *st);
    assert_int_equal(tui_state_init(st, NULL), 0);
    tui_results_set(&st->results, fake_record("mlp", 2000000), "runs/x.json");
    st->screen = TUI_SCR_RESULTS;
    tui_canvas c;
    tui_canvas_init(&c, 24, 80, true);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "VALID"));
    assert_true(canvas_has(&c, "p90 latency = 4.000 ms"));
    assert_true(canvas_has(&c, "min_duration"));
    assert_true(canvas_has(&c, "pin threads"));
    /* the percentile table: each row's value */
    static const char *const want[][2] = {{"p50", "2.000 ms"}, {"p90", "4.000 ms"}, {"p99", "10.00 ms"}, {"p99.9", "12.00 ms"}};
    for (int i = 0; i < 4; i++) {
        int y, x;
        assert_true(tui_canvas_find(&c, want[i][0], &y, &x));
        char row[512];
        tui_canvas_row(&c, y, row, sizeof row);
        assert_non_null(strstr(row, want[i][1]));
    }
    /* nodes tab: sorted by total, then by each column on request */
    tui_results_key(&st->results, TUI_KEY_TAB);
    assert_int_equal(st->results.tab, TUI_RES_NODES);
    tui_canvas_clear(&c);
    tui_render(&c, st);
    char row[512];
    tui_canvas_row(&c, 3, row, sizeof row);
    assert_non_null(strstr(row, "fc1"));
    tui_canvas_row(&c, 4, row, sizeof row);
    assert_non_null(strstr(row, "fc2"));
    tui_table_sort(&st->results.nodes, 0, false); /* by name */
    tui_canvas_clear(&c);
    tui_render(&c, st);
    tui_canvas_row(&c, 3, row, sizeof row);
    assert_non_null(strstr(row, "fc1"));
    tui_canvas_row(&c, 5, row, sizeof row);
    assert_non_null(strstr(row, "relu"));
    tui_results_key(&st->results, 'i'); /* invert */
    tui_canvas_clear(&c);
    tui_render(&c, st);
    tui_canvas_row(&c, 3, row, sizeof row);
    assert_non_null(strstr(row, "relu"));
    assert_int_equal(tui_results_key(&st->results, 'w'), TUI_ACT_WRITE);
    tui_canvas_free(&c);
    tui_state_free(st);
    free(st);
}

/* ---- runs folder ------------------------------------------------------------------------------ */

static void test_runs_folder(void **state) {
    (void)state;
    char dir[] = "/tmp/zn_test_tui_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    setenv("ZENITH_RUNS_DIR", sub, 1);
    char got[1024];
    assert_int_equal(zn_runs_dir(got, sizeof got, true), ZN_OK);
    assert_string_equal(got, sub);
    struct stat sb;
    assert_int_equal(stat(sub, &sb), 0);
    zn_record *a = fake_record("m/one", 1000000), *b = fake_record("two", 3000000);
    snprintf(a->created, sizeof a->created, "2025-01-01T10:00:00Z");
    snprintf(b->created, sizeof b->created, "2025-02-01T10:00:00Z");
    char pa[1200], pb[1200], pa2[1200];
    assert_int_equal(zn_runs_save(a, pa, sizeof pa), ZN_OK);
    assert_int_equal(zn_runs_save(b, pb, sizeof pb), ZN_OK);
    assert_int_equal(zn_runs_save(a, pa2, sizeof pa2), ZN_OK); /* same name taken: -2 */
    assert_non_null(strstr(pa, "20250101T100000Z-m_one-single-stream.json"));
    assert_non_null(strstr(pa2, "20250101T100000Z-m_one-single-stream-2.json"));
    zn_run_summary *list;
    int n, skipped;
    assert_int_equal(zn_runs_list(NULL, &list, &n, &skipped), ZN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(skipped, 0);
    assert_string_equal(list[0].model, "two"); /* newest first */
    assert_string_equal(list[0].verdict, "VALID");
    assert_int_equal(list[0].p50_ns, 3000000);
    assert_string_equal(list[1].model, "m/one");
    /* the history screen shows them; marking two and comparing builds the diff table */
    tui_history_view *h = malloc(sizeof *h);
    tui_history_init(h);
    tui_history_load(h, NULL);
    assert_int_equal(h->n, 3);
    tui_canvas c;
    tui_canvas_init(&c, 24, 100, true);
    tui_history_draw(&c, (tui_rect){1, 0, 21, 100}, h);
    assert_true(canvas_has(&c, "two"));
    assert_true(canvas_has(&c, "3.000 ms"));
    tui_history_key(h, ' ');
    tui_history_key(h, ' ');
    assert_int_equal(tui_history_key(h, 'c'), TUI_ACT_COMPARE);
    tui_compare_view *cv = malloc(sizeof *cv);
    tui_compare_init(cv);
    zn_record *ra = malloc(sizeof *ra), *rb = malloc(sizeof *rb);
    assert_int_equal(zn_record_read_json(h->list[h->marks[0]].path, ra), ZN_OK);
    assert_int_equal(zn_record_read_json(h->list[h->marks[1]].path, rb), ZN_OK);
    tui_compare_set(cv, ra, rb);
    tui_canvas_clear(&c);
    tui_compare_draw(&c, (tui_rect){1, 0, 22, 100}, cv);
    assert_true(canvas_has(&c, "latency p50"));
    assert_true(canvas_has(&c, "-66.7%  better")); /* 3 ms -> 1 ms */
    tui_compare_free(cv);
    free(cv);
    tui_canvas_free(&c);
    tui_history_free(h);
    free(h);
    /* a broken file is skipped, not fatal */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/broken.json", sub);
    FILE *f = fopen(bad, "w");
    fputs("{not json", f);
    fclose(f);
    zn_runs_list_free(list);
    assert_int_equal(zn_runs_list(sub, &list, &n, &skipped), ZN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(skipped, 1);
    zn_runs_list_free(list);
    unlink(bad);
    unlink(pa);
    unlink(pb);
    unlink(pa2);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", dir);
    rmdir(sub);
    rmdir(dir);
    unsetenv("ZENITH_RUNS_DIR");
    zn_record_free(a);
    zn_record_free(b);
    free(a);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canvas_text_and_clipping),
        cmocka_unit_test(test_canvas_box_and_hits),
        cmocka_unit_test(test_histogram_scaling_known_data),
        cmocka_unit_test(test_histogram_partial_cells_and_log_axis),
        cmocka_unit_test(test_histogram_random_conservation),
        cmocka_unit_test(test_percentile_table),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_table_sort_every_column),
        cmocka_unit_test(test_sparkline_and_progress),
        cmocka_unit_test(test_live_screen_sizes),
        cmocka_unit_test(test_too_small_and_ascii),
        cmocka_unit_test(test_setup_keys),
        cmocka_unit_test(test_results_screen),
        cmocka_unit_test(test_runs_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
