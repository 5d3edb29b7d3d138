/* test_charts.c — the report charts decoded with libpng: size, known data in the right pixels
 * (the p90 marker at the x of the known p90, a bar reaching the pixel of its value, a query's
 * point where its issue time and latency put it), byte-identical files for the same record, the
 * markdown report linking its charts, and the sweep report. */
#include "test_util.h"
#include "record_fixture.h"

#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "reports/charts.h"
#include "reports/sweep.h"



static char tmpdir[64];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/zn_charts_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name) {
    static char b[4][256];
    static int k;
    char *p = b[k++ & 3];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

typedef struct img {
    int w, h;
    uint8_t *px;
} img;

static img load(const char *path) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&pi, path));
    pi.format = PNG_FORMAT_RGB;
    img m = {(int)pi.width, (int)pi.height, malloc(PNG_IMAGE_SIZE(pi))};
    assert_true(png_image_finish_read(&pi, NULL, m.px, 0, NULL));
    return m;
}

static uint32_t at(const img *m, int x, int y) {
    if (x < 0 || y < 0 || x >= m->w || y >= m->h) return 0xFFFFFFFF;
    const uint8_t *p = m->px + 3 * ((size_t)y * m->w + x);
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void assert_same_file(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *x = slurp(a, &na), *y = slurp(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, na);
    free(x);
    free(y);
}

/* Latencies around 2 ms with random spread; returns malloc'd. */
static int64_t *lats(tu_rng *r, int n, double base) {
    int64_t *l = malloc((size_t)n * sizeof *l);
    for (int i = 0; i < n; i++) l[i] = (int64_t)(base * (0.6 + 0.8 * tu_uniform(r, 0, 1)));
    return l;
}

static void test_histogram_marks_percentiles(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int n = 500 + (int)(tu_next(&r) % 1000);
    int64_t *l = lats(&r, n, 2e6);
    zn_record rec;
    fx_record(&rec, "mlp", l, n, 0, 0);
    zn_chart_axes a;
    assert_int_equal(zn_chart_latency_hist(&rec, tpath("h1.png"), &a), ZN_OK);
    assert_int_equal(zn_chart_latency_hist(&rec, tpath("h2.png"), NULL), ZN_OK);
    assert_same_file(tpath("h1.png"), tpath("h2.png"));
    img m = load(tpath("h1.png"));
    assert_int_equal(m.w, ZN_CHART_W);
    assert_int_equal(m.h, ZN_CHART_H);
    /* the axis range holds every value, and the p90 marker is drawn at p90's x */
    assert_true(a.xmin <= (double)rec.results.lat_min_ns && a.xmax >= (double)rec.results.lat_max_ns);
    struct {
        int64_t v;
        uint32_t color;
    } mk[3] = {{rec.results.p50_ns, ZN_CHART_COLOR_P50}, {rec.results.p90_ns, ZN_CHART_COLOR_P90},
               {rec.results.p99_ns, ZN_CHART_COLOR_P99}};
    for (int k = 0; k < 3; k++) {
        int x = zn_chart_px_x(&a, (double)mk[k].v), hits = 0, far = 0;
        for (int y = a.y0; y < a.y1; y++) {
            hits += at(&m, x, y) == mk[k].color;
            far += at(&m, x + 6, y) == mk[k].color && at(&m, x - 6, y) == mk[k].color;
        }
        assert_true(hits > (a.y1 - a.y0) / 4); /* dashed lines are at least half on */
        assert_true(far < 20);                  /* a line, not a smear (labels excepted) */
    }
    /* no bar left of the bin (of 80 across the axis) that holds the minimum */
    double bw = (a.xmax - a.xmin) / 80, bin0 = a.xmin + floor(((double)rec.results.lat_min_ns - a.xmin) / bw) * bw;
    int bar = 0;
    for (int x = a.x0 + 2; x < zn_chart_px_x(&a, bin0) - 1; x++)
        bar += at(&m, x, a.y1 - 3) == zn_chart_colors[0];
    assert_int_equal(bar, 0);
    free(m.px);
    free(l);
    zn_record_free(&rec);
}

static void test_latency_over_run_places_points(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    int n = 300;
    int64_t *l = lats(&r, n, 1e6);
    int k = 100 + (int)(tu_next(&r) % 100);
    l[k] = 9000000; /* one stall, far above the rest */
    zn_record rec;
    fx_record(&rec, "mlp", l, n, 0, 0);
    zn_chart_axes a;
    assert_int_equal(zn_chart_latency_time(&rec, tpath("t.png"), &a), ZN_OK);
    img m = load(tpath("t.png"));
    const zn_query_record *q = &rec.results.queries[k];
    int x = zn_chart_px_x(&a, (double)q->issue_ns), y = zn_chart_px_y(&a, (double)q->latency_ns);
    assert_int_equal(at(&m, x, y), zn_chart_colors[0]);
    assert_true(a.ymax >= 9000000);
    free(m.px);
    free(l);
    zn_record_free(&rec);
}

static void test_op_bars_reach_their_value(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 2);
    int n = 200;
    int64_t *l = lats(&r, n, 3e6);
    zn_record rec;
    fx_record(&rec, "cnn", l, n, 0, 1);
    zn_chart_axes a;
    assert_int_equal(zn_chart_op_bars(&rec, tpath("ops.png"), &a), ZN_OK);
    img m = load(tpath("ops.png"));
    int nb = rec.profile.n_ops;
    int slot = (a.y1 - a.y0) / nb;
    for (int i = 0; i < nb; i++) {
        double v = (double)rec.profile.ops[i].total_ns / (double)rec.profile.runs;
        int y = a.y0 + i * slot + slot / 2, x = zn_chart_px_x(&a, v);
        assert_int_equal(at(&m, x - 1, y), zn_chart_colors[0]);
        assert_int_not_equal(at(&m, x + 3, y), zn_chart_colors[0]);
    }
    assert_int_equal(zn_chart_node_bars(&rec, tpath("nodes.png"), NULL), ZN_OK);
    free(m.px);
    /* no profile, not a server run: nothing to draw */
    zn_record bare;
    fx_record(&bare, "cnn", l, n, 0, 0);
    assert_int_equal(zn_chart_op_bars(&bare, tpath("x.png"), NULL), ZN_ERR_NOT_FOUND);
    assert_int_equal(zn_chart_server_qps(&bare, tpath("x.png"), NULL), ZN_ERR_NOT_FOUND);
    assert_int_equal(access(tpath("x.png"), F_OK), -1);
    zn_record_free(&bare);
    free(l);
    zn_record_free(&rec);
}

static void test_server_qps_and_peak(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 3);
    int n = 2000;
    int64_t *l = lats(&r, n, 4e6);
    zn_record rec;
    fx_record(&rec, "bert", l, n, 250, 0);
    zn_chart_axes a;
    assert_int_equal(zn_chart_server_qps(&rec, tpath("q.png"), &a), ZN_OK);
    /* the fixture issues exactly 250 QPS: the offered line sits at the target's pixel row */
    img m = load(tpath("q.png"));
    int y = zn_chart_px_y(&a, 250), x = (a.x0 + a.x1) / 2, hit = 0;
    for (int dy = -3; dy <= 3; dy++) hit += at(&m, x, y + dy) == zn_chart_colors[0] || at(&m, x, y + dy) == zn_chart_colors[1];
    assert_true(hit > 0);
    free(m.px);
    zn_peak_result pk;
    memset(&pk, 0, sizeof pk);
    for (int i = 0; i < 6; i++) {
        zn_peak_point *p = &pk.points[pk.n_points++];
        p->qps = 50.0 * (i + 1);
        p->latency_ns = 2000000 * (i + 1);
        p->bound_ns = 7000000;
        p->percentile = 99;
        p->valid = p->latency_ns <= p->bound_ns;
    }
    pk.found = true;
    pk.peak_qps = 150;
    assert_int_equal(zn_chart_peak(&pk, &rec, tpath("p.png"), &a), ZN_OK);
    m = load(tpath("p.png"));
    assert_int_equal(at(&m, zn_chart_px_x(&a, 100), zn_chart_px_y(&a, 4000000)), zn_chart_colors[0]); /* VALID point */
    free(m.px);
    free(l);
    zn_record_free(&rec);
}

static void test_compare_and_sweep_bars(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 4);
    int n = 400;
    int64_t *l1 = lats(&r, n, 2e6), *l2 = lats(&r, n, 1e6);
    zn_record a, b;
    fx_record(&a, "mlp", l1, n, 0, 0);
    fx_record(&b, "mlp", l2, n, 0, 0);
    b.settings.batch = 8;
    const zn_record *rs[2] = {&a, &b};
    zn_chart_axes ax;
    assert_int_equal(zn_chart_compare(rs, 2, NULL, tpath("c.png"), &ax), ZN_OK);
    img m = load(tpath("c.png"));
    /* A's bars are solid: the top of the tallest one is at the pixel row of A's p99.9 */
    int top = ax.y1;
    for (int x = ax.x0 + 2; x < ax.x1; x++)
        for (int y = ax.y0; y < ax.y1; y++)
            if (at(&m, x, y) == zn_chart_colors[0] && y < top) top = y;
    assert_true(abs(top - zn_chart_px_y(&ax, (double)a.results.p999_ns)) <= 1);
    free(m.px);
    assert_int_equal(zn_chart_sweep(rs, 2, NULL, tpath("s1.png"), &ax), ZN_OK);
    /* the first panel is throughput: A's bar top at A's samples/s */
    m = load(tpath("s1.png"));
    top = ax.y1;
    for (int x = ax.x0 + 2; x < ax.x0 + (ax.x1 - ax.x0) / 2; x++)
        for (int y = ax.y0; y < ax.y1; y++)
            if (at(&m, x, y) == zn_chart_colors[0] && y < top) top = y;
    assert_true(abs(top - zn_chart_px_y(&ax, a.results.samples_per_second)) <= 1);
    free(m.px);
    /* the sweep report: the varying parameter is the table's first column, the chart is linked */
    char lab[128];
    zn_sweep_label(rs, 2, 1, lab, sizeof lab);
    assert_string_equal(lab, "batch=8");
    assert_int_equal(zn_sweep_write_report(rs, 2, tpath("sweep.md")), ZN_OK);
    size_t len;
    char *md = (char *)slurp(tpath("sweep.md"), &len);
    md = realloc(md, len + 1);
    md[len] = 0;
    assert_non_null(strstr(md, "| batch | p50 (ms) |"));
    assert_non_null(strstr(md, "](sweep-sweep.png)"));
    assert_int_equal(access(tpath("sweep-sweep.png"), F_OK), 0);
    free(md);
    free(l1);
    free(l2);
    zn_record_free(&a);
    zn_record_free(&b);
}

static void test_report_links_charts(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 5);
    int n = 300;
    int64_t *l = lats(&r, n, 2e6);
    zn_record rec;
    fx_record(&rec, "cnn", l, n, 0, 1);
    assert_int_equal(zn_record_write_report(&rec, tpath("run.md")), ZN_OK);
    size_t len;
    char *md = (char *)slurp(tpath("run.md"), &len);
    md = realloc(md, len + 1);
    md[len] = 0;
    static const char *const names[] = {"run-latency-hist.png", "run-latency-time.png", "run-ops.png", "run-nodes.png"};
    for (int i = 0; i < 4; i++) {
        char link[64];
        snprintf(link, sizeof link, "](%s)", names[i]);
        assert_non_null(strstr(md, link));
        assert_int_equal(access(tpath(names[i]), F_OK), 0);
    }
    /* a single-stream run has no server chart; the histogram sits under the results table */
    assert_null(strstr(md, "server-qps"));
    assert_true(strstr(md, "## Results") < strstr(md, "run-latency-hist.png"));
    assert_true(strstr(md, "run-latency-hist.png") < strstr(md, "## Verdict"));
    assert_true(strstr(md, "Top 10 ops") < strstr(md, "run-ops.png"));
    free(md);
    /* the plain markdown has no images */
    char *plain = zn_record_to_markdown(&rec, 10);
    assert_null(strstr(plain, "!["));
    free(plain);
    char p[256], rel[64];
    zn_chart_paths("out/dir/x.md", "ops", p, sizeof p, rel, sizeof rel);
    assert_string_equal(p, "out/dir/x-ops.png");
    assert_string_equal(rel, "x-ops.png");
    free(l);
    zn_record_free(&rec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_marks_percentiles),
        cmocka_unit_test(test_latency_over_run_places_points),
        cmocka_unit_test(test_op_bars_reach_their_value),
        cmocka_unit_test(test_server_qps_and_peak),
        cmocka_unit_test(test_compare_and_sweep_bars),
        cmocka_unit_test(test_report_links_charts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
