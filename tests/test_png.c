/* test_png.c — the chart canvas: drawing primitives against a plain pixel model, the font's
 * geometry, PNG encoding decoded back with libpng (size, every pixel), byte-identical output for
 * the same drawing, and no time chunk. */
#include "test_util.h"

#include <png.h>
#include <unistd.h>

#include "reports/png.h"

/* Decodes PNG bytes to RGB with libpng's simplified API. Returns malloc'd pixels. */
static uint8_t *decode(const uint8_t *buf, size_t len, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, buf, len));
    img.format = PNG_FORMAT_RGB;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

static void test_rects_match_a_plain_model(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int w = 97 + (int)(tu_next(&r) % 50), h = 61 + (int)(tu_next(&r) % 40);
    zn_canvas c;
    assert_int_equal(zn_canvas_init(&c, w, h, 0xFFFFFF), ZN_OK);
    uint32_t *model = malloc((size_t)w * h * sizeof *model);
    for (int i = 0; i < w * h; i++) model[i] = 0xFFFFFF;
    for (int k = 0; k < 40; k++) {
        int x0 = (int)(tu_next(&r) % (w + 20)) - 10, x1 = (int)(tu_next(&r) % (w + 20)) - 10;
        int y0 = (int)(tu_next(&r) % (h + 20)) - 10, y1 = (int)(tu_next(&r) % (h + 20)) - 10;
        uint32_t col = (uint32_t)(tu_next(&r) & 0xFFFFFF);
        zn_canvas_fill(&c, x0, y0, x1, y1, col);
        int ax = x0 < x1 ? x0 : x1, bx = x0 < x1 ? x1 : x0, ay = y0 < y1 ? y0 : y1, by = y0 < y1 ? y1 : y0;
        for (int y = ay; y < by; y++)
            for (int x = ax; x < bx; x++)
                if (x >= 0 && y >= 0 && x < w && y < h) model[y * w + x] = col;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) assert_int_equal(zn_canvas_get(&c, x, y), model[y * w + x]);
    /* encode, decode: same size, same pixels */
    uint8_t *png;
    size_t len;
    assert_int_equal(zn_canvas_encode_png(&c, &png, &len), ZN_OK);
    int dw, dh;
    uint8_t *px = decode(png, len, &dw, &dh);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    for (int i = 0; i < w * h; i++) {
        uint32_t v = (uint32_t)px[3 * i] << 16 | (uint32_t)px[3 * i + 1] << 8 | px[3 * i + 2];
        assert_int_equal(v, model[i]);
    }
    free(px);
    free(png);
    free(model);
    zn_canvas_free(&c);
}

static void test_same_drawing_same_bytes_no_time_chunk(void **state) {
    (void)state;
    uint8_t *a[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        zn_canvas c;
        assert_int_equal(zn_canvas_init(&c, 300, 200, 0xFFFFFF), ZN_OK);
        zn_canvas_line(&c, 0, 0, 299, 199, 0x1F4E99, 3, 0);
        zn_canvas_line(&c, 0, 199, 299, 0, 0xE08A00, 2, 6);
        zn_canvas_text(&c, 10, 10, "p99 12.3 \xC2\xB5s x\xC3\x97", 0x202020, 2);
        zn_canvas_fill_pattern(&c, 50, 50, 120, 150, 0x2E9E4F, ZN_FILL_HATCH);
        zn_canvas_marker(&c, 200, 100, 11, 0x7B2D7B, ZN_MARK_CIRCLE);
        assert_int_equal(zn_canvas_encode_png(&c, &a[k], &n[k]), ZN_OK);
        zn_canvas_free(&c);
    }
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(a[0], a[1], n[0]);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    assert_memory_equal(a[0], sig, 8);
    for (size_t i = 0; i + 4 <= n[0]; i++) {
        assert_false(memcmp(a[0] + i, "tIME", 4) == 0);
        assert_false(memcmp(a[0] + i, "tEXt", 4) == 0);
    }
    free(a[0]);
    free(a[1]);
}

static void test_text_geometry(void **state) {
    (void)state;
    assert_int_equal(zn_text_width("", 2), 0);
    assert_int_equal(zn_text_width("A", 1), ZN_FONT_W);
    assert_int_equal(zn_text_width("abc", 2), (3 * ZN_FONT_ADVANCE - 1) * 2);
    assert_int_equal(zn_text_width("\xC2\xB5s", 1), 2 * ZN_FONT_ADVANCE - 1); /* µ is one glyph */
    zn_canvas c;
    assert_int_equal(zn_canvas_init(&c, 100, 40, 0xFFFFFF), ZN_OK);
    int wdt = zn_canvas_text(&c, 5, 5, "HI", 0x000000, 2);
    assert_int_equal(wdt, zn_text_width("HI", 2));
    /* ink only inside the text box, and some ink in it */
    int ink = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 100; x++)
            if (zn_canvas_get(&c, x, y) == 0) {
                ink++;
                assert_true(x >= 5 && x < 5 + wdt && y >= 5 && y < 5 + zn_text_height(2));
            }
    assert_true(ink > 20);
    /* 'H' has its left stem full height (7 rows of capital): column 5..6, rows 5..18 */
    for (int y = 5; y < 5 + 14; y++) assert_int_equal(zn_canvas_get(&c, 5, y), 0);
    /* rotated text occupies a tall box */
    zn_canvas_fill(&c, 0, 0, 100, 40, 0xFFFFFF);
    zn_canvas_text_up(&c, 10, 35, "ab", 0x000000, 1);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 100; x++)
            if (zn_canvas_get(&c, x, y) == 0) assert_true(x >= 10 && x < 10 + ZN_FONT_H && y <= 35 && y > 35 - 12);
    char buf[64];
    const char *f = zn_text_fit("a rather long label", 60, 1, buf, sizeof buf);
    assert_true(zn_text_width(f, 1) <= 60);
    assert_non_null(strstr(f, ".."));
    assert_string_equal(zn_text_fit("short", 60, 1, buf, sizeof buf), "short");
    zn_canvas_free(&c);
}

static void test_lines_and_clipping(void **state) {
    (void)state;
    zn_canvas c;
    assert_int_equal(zn_canvas_init(&c, 50, 50, 0xFFFFFF), ZN_OK);
    zn_canvas_line(&c, 3, 7, 40, 30, 0xFF0000, 1, 0);
    assert_int_equal(zn_canvas_get(&c, 3, 7), 0xFF0000);
    assert_int_equal(zn_canvas_get(&c, 40, 30), 0xFF0000);
    /* a horizontal line has exactly its length in pixels */
    zn_canvas_line(&c, 5, 45, 24, 45, 0x00FF00, 1, 0);
    int n = 0;
    for (int x = 0; x < 50; x++) n += zn_canvas_get(&c, x, 45) == 0x00FF00;
    assert_int_equal(n, 20);
    /* dashed: 5 on, 5 off */
    zn_canvas_line(&c, 0, 2, 49, 2, 0x0000FF, 1, 5);
    assert_int_equal(zn_canvas_get(&c, 0, 2), 0x0000FF);
    assert_int_equal(zn_canvas_get(&c, 5, 2), 0xFFFFFF);
    assert_int_equal(zn_canvas_get(&c, 10, 2), 0x0000FF);
    /* drawing far outside is clipped, not a crash */
    zn_canvas_line(&c, -1000, -1000, 1000, 1000, 0x123456, 5, 0);
    zn_canvas_fill(&c, -5, -5, 1000, 3, 0x654321);
    zn_canvas_text(&c, 45, 45, "clipped text", 0, 3);
    assert_int_equal(zn_canvas_get(&c, 0, 0), 0x654321);
    assert_int_equal(zn_canvas_get(&c, -1, 0), 0);
    zn_canvas_free(&c);
    zn_canvas bad;
    assert_int_equal(zn_canvas_init(&bad, 0, 10, 0), ZN_ERR_INVALID_ARGUMENT);
    assert_null(bad.px);
    zn_canvas_free(&bad);
}

static void test_write_file(void **state) {
    (void)state;
    char dir[] = "/tmp/zn_png_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/x.png", dir);
    zn_canvas c;
    assert_int_equal(zn_canvas_init(&c, 20, 10, 0x112233), ZN_OK);
    assert_int_equal(zn_canvas_write_png(&c, path), ZN_OK);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&img, path));
    assert_int_equal(img.width, 20);
    assert_int_equal(img.height, 10);
    png_image_free(&img);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", dir);
    assert_int_equal(zn_canvas_write_png(&c, bad), ZN_ERR_IO);
    zn_canvas_free(&c);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rects_match_a_plain_model),
        cmocka_unit_test(test_same_drawing_same_bytes_no_time_chunk),
        cmocka_unit_test(test_text_geometry),
        cmocka_unit_test(test_lines_and_clipping),
        cmocka_unit_test(test_write_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
