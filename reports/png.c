/* png.c — the chart canvas (png.h): drawing primitives, the embedded bitmap font, and PNG
 * encoding through libpng with fixed settings so output bytes depend only on the pixels.
 *
 * The font is Zenith's own 5x9 design (printable ASCII, µ, ×): one byte per row, bit 4 the
 * leftmost column, rows 0-6 the capital height and rows 7-8 the descenders.
 *
 * What it is not: a general graphics library (no anti-aliasing, no alpha, no curves beyond
 * circles). */
#include "reports/png.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "reports/run_record.h"

static const uint8_t font[97][ZN_FONT_H] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /*   */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00, 0x00}, /* ! */
    {0x0a, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* " */
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a, 0x00, 0x00}, /* # */
    {0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04, 0x00, 0x00}, /* $ */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00, 0x00}, /* % */
    {0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d, 0x00, 0x00}, /* & */
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* quote */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00, 0x00}, /* ( */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00, 0x00}, /* ) */
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00, 0x00, 0x00}, /* star */
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00, 0x00, 0x00}, /* + */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x06, 0x02, 0x04}, /* , */
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00}, /* - */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c, 0x00, 0x00}, /* . */
    {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10, 0x00, 0x00}, /* / */
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e, 0x00, 0x00}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00}, /* 2 */
    {0x1e, 0x01, 0x01, 0x0e, 0x01, 0x01, 0x1e, 0x00, 0x00}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02, 0x00, 0x00}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e, 0x00, 0x00}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e, 0x00, 0x00}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e, 0x00, 0x00}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c, 0x00, 0x00}, /* 9 */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x00, 0x00}, /* : */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x04, 0x08, 0x00}, /* ; */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00, 0x00}, /* < */
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00}, /* = */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00, 0x00}, /* > */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00, 0x00}, /* ? */
    {0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0f, 0x00, 0x00}, /* @ */
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00}, /* A */
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e, 0x00, 0x00}, /* B */
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00}, /* C */
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c, 0x00, 0x00}, /* D */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f, 0x00, 0x00}, /* E */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00}, /* F */
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f, 0x00, 0x00}, /* G */
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00, 0x00}, /* H */
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00}, /* I */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c, 0x00, 0x00}, /* J */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00, 0x00}, /* K */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f, 0x00, 0x00}, /* L */
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00, 0x00}, /* M */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00}, /* N */
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00}, /* O */
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10, 0x00, 0x00}, /* P */
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d, 0x00, 0x00}, /* Q */
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11, 0x00, 0x00}, /* R */
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e, 0x00, 0x00}, /* S */
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00}, /* T */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00}, /* U */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00}, /* V */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a, 0x00, 0x00}, /* W */
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11, 0x00, 0x00}, /* X */
    {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00}, /* Y */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x00, 0x00}, /* Z */
    {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e, 0x00, 0x00}, /* [ */
    {0x10, 0x10, 0x08, 0x04, 0x02, 0x01, 0x01, 0x00, 0x00}, /* backslash */
    {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e, 0x00, 0x00}, /* ] */
    {0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ^ */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x00}, /* _ */
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ` */
    {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f, 0x00, 0x00}, /* a */
    {0x10, 0x10, 0x1e, 0x11, 0x11, 0x11, 0x1e, 0x00, 0x00}, /* b */
    {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e, 0x00, 0x00}, /* c */
    {0x01, 0x01, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x00, 0x00}, /* d */
    {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e, 0x00, 0x00}, /* e */
    {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08, 0x00, 0x00}, /* f */
    {0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* g */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}, /* h */
    {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00}, /* i */
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* j */
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00}, /* k */
    {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00, 0x00}, /* l */
    {0x00, 0x00, 0x1a, 0x15, 0x15, 0x15, 0x15, 0x00, 0x00}, /* m */
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00}, /* n */
    {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e, 0x00, 0x00}, /* o */
    {0x00, 0x00, 0x1e, 0x11, 0x11, 0x11, 0x1e, 0x10, 0x10}, /* p */
    {0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x01}, /* q */
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00}, /* r */
    {0x00, 0x00, 0x0f, 0x10, 0x0e, 0x01, 0x1e, 0x00, 0x00}, /* s */
    {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00}, /* t */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d, 0x00, 0x00}, /* u */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00, 0x00}, /* v */
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a, 0x00, 0x00}, /* w */
    {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00, 0x00}, /* x */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* y */
    {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f, 0x00, 0x00}, /* z */
    {0x03, 0x04, 0x04, 0x08, 0x04, 0x04, 0x03, 0x00, 0x00}, /* { */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x00}, /* | */
    {0x18, 0x04, 0x04, 0x02, 0x04, 0x04, 0x18, 0x00, 0x00}, /* } */
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00, 0x00}, /* ~ */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x1d, 0x10, 0x10}, /* mu */
    {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00, 0x00}, /* times */
};
#define GLYPH_MU 95
#define GLYPH_TIMES 96

zn_status zn_canvas_init(zn_canvas *c, int w, int h, uint32_t bg) {
    memset(c, 0, sizeof *c);
    if (w < 1 || h < 1 || w > 16384 || h > 16384)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "canvas size %dx%d is outside 1..16384", w, h);
    c->px = malloc((size_t)w * (size_t)h * 3);
    if (!c->px) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory for a %dx%d chart", w, h);
    c->w = w;
    c->h = h;
    zn_canvas_fill(c, 0, 0, w, h, bg);
    return ZN_OK;
}

void zn_canvas_free(zn_canvas *c) {
    if (!c) return;
    free(c->px);
    memset(c, 0, sizeof *c);
}

void zn_canvas_set(zn_canvas *c, int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = (uint8_t)(rgb >> 16);
    p[1] = (uint8_t)(rgb >> 8);
    p[2] = (uint8_t)rgb;
}

uint32_t zn_canvas_get(const zn_canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return 0;
    const uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void order(int *a, int *b) {
    if (*a > *b) {
        int t = *a;
        *a = *b;
        *b = t;
    }
}

void zn_canvas_fill(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb) {
    order(&x0, &x1);
    order(&y0, &y1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > c->w) x1 = c->w;
    if (y1 > c->h) y1 = c->h;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) zn_canvas_set(c, x, y, rgb);
}

void zn_canvas_rect(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb) {
    order(&x0, &x1);
    order(&y0, &y1);
    if (x1 <= x0 || y1 <= y0) return;
    zn_canvas_fill(c, x0, y0, x1, y0 + 1, rgb);
    zn_canvas_fill(c, x0, y1 - 1, x1, y1, rgb);
    zn_canvas_fill(c, x0, y0, x0 + 1, y1, rgb);
    zn_canvas_fill(c, x1 - 1, y0, x1, y1, rgb);
}

void zn_canvas_fill_pattern(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, zn_fill fill) {
    order(&x0, &x1);
    order(&y0, &y1);
    if (fill == ZN_FILL_SOLID) {
        zn_canvas_fill(c, x0, y0, x1, y1, rgb);
        return;
    }
    zn_canvas_fill(c, x0, y0, x1, y1, 0xFFFFFF);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            /* patterns anchored to the canvas, so neighbouring bars line up */
            bool on = false;
            if (fill == ZN_FILL_HATCH) on = ((x + y) % 6) < 2;
            else if (fill == ZN_FILL_CROSSHATCH) on = ((x + y) % 7) < 2 || ((x - y + 7000) % 7) < 2;
            else on = (x % 4) < 2 && (y % 4) < 2;
            if (on) zn_canvas_set(c, x, y, rgb);
        }
    zn_canvas_rect(c, x0, y0, x1, y1, rgb);
}

static void dot(zn_canvas *c, int x, int y, int width, uint32_t rgb) {
    int lo = -(width - 1) / 2, hi = width / 2;
    zn_canvas_fill(c, x + lo, y + lo, x + hi + 1, y + hi + 1, rgb);
}

void zn_canvas_line(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, int width, int dash) {
    if (width < 1) width = 1;
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, step = 0;
    for (;;) {
        if (dash <= 0 || (step / dash) % 2 == 0) dot(c, x0, y0, width, rgb);
        step++;
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

void zn_canvas_marker(zn_canvas *c, int x, int y, int size, uint32_t rgb, zn_marker m) {
    if (size < 1) size = 1;
    int r = size / 2;
    switch (m) {
    case ZN_MARK_DOT: zn_canvas_fill(c, x - r, y - r, x - r + size, y - r + size, rgb); break;
    case ZN_MARK_CIRCLE:
    case ZN_MARK_RING:
        for (int j = -r; j <= r; j++)
            for (int i = -r; i <= r; i++) {
                int d2 = i * i + j * j;
                bool in = d2 <= r * r + r;
                bool edge = in && d2 >= (r - 1) * (r - 1) - (r - 1) + 0;
                if (m == ZN_MARK_CIRCLE ? in : (in && (edge || r <= 1))) zn_canvas_set(c, x + i, y + j, rgb);
            }
        break;
    case ZN_MARK_CROSS:
        zn_canvas_line(c, x - r, y - r, x + r, y + r, rgb, 2, 0);
        zn_canvas_line(c, x - r, y + r, x + r, y - r, rgb, 2, 0);
        break;
    case ZN_MARK_TRIANGLE:
        for (int j = -r; j <= r; j++) {
            int half = (j + r) / 2;
            zn_canvas_fill(c, x - half, y + j, x + half + 1, y + j + 1, rgb);
        }
        break;
    case ZN_MARK_DIAMOND:
        for (int j = -r; j <= r; j++) {
            int half = r - abs(j);
            zn_canvas_fill(c, x - half, y + j, x + half + 1, y + j + 1, rgb);
        }
        break;
    }
}

/* Next glyph index from UTF-8 text; advances *s. */
static int next_glyph(const char **s) {
    const unsigned char *p = (const unsigned char *)*s;
    if (p[0] < 0x80) {
        (*s)++;
        return p[0] >= 32 && p[0] < 127 ? p[0] - 32 : '?' - 32;
    }
    if (p[0] == 0xC2 && p[1] == 0xB5) { (*s) += 2; return GLYPH_MU; }
    if (p[0] == 0xC3 && p[1] == 0x97) { (*s) += 2; return GLYPH_TIMES; }
    /* skip one UTF-8 sequence */
    int n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    int k = 1;
    while (k < n && p[k]) k++;
    *s += k;
    return '?' - 32;
}

int zn_text_width(const char *s, int scale) {
    int n = 0;
    while (s && *s) {
        next_glyph(&s);
        n++;
    }
    return n ? (n * ZN_FONT_ADVANCE - 1) * scale : 0;
}

int zn_text_height(int scale) { return ZN_FONT_H * scale; }

const char *zn_text_fit(const char *s, int max_px, int scale, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", s ? s : "");
    if (zn_text_width(buf, scale) <= max_px) return buf;
    size_t n = strlen(buf);
    while (n > 0) {
        n--;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80) n--; /* whole UTF-8 chars */
        if (n + 3 > cap) continue;
        memcpy(buf + n, "..", 3);
        if (zn_text_width(buf, scale) <= max_px) return buf;
    }
    buf[0] = 0;
    return buf;
}

/* One glyph; rot = 0 upright at top left (x, y), rot = 1 rotated anticlockwise with (x, y)
 * the bottom left of the text's baseline box. */
static void glyph(zn_canvas *c, int x, int y, int g, uint32_t rgb, int scale, int rot) {
    for (int row = 0; row < ZN_FONT_H; row++)
        for (int col = 0; col < ZN_FONT_W; col++) {
            if (!(font[g][row] & (0x10 >> col))) continue;
            if (!rot) zn_canvas_fill(c, x + col * scale, y + row * scale, x + (col + 1) * scale, y + (row + 1) * scale, rgb);
            else /* column -> up, row -> right */
                zn_canvas_fill(c, x + row * scale, y - (col + 1) * scale, x + (row + 1) * scale, y - col * scale, rgb);
        }
}

static int text(zn_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale, int rot) {
    if (scale < 1) scale = 1;
    int at = 0;
    while (s && *s) {
        int g = next_glyph(&s);
        glyph(c, rot ? x : x + at, rot ? y - at : y, g, rgb, scale, rot);
        at += ZN_FONT_ADVANCE * scale;
    }
    return at ? at - scale : 0;
}

int zn_canvas_text(zn_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale) {
    return text(c, x, y, s, rgb, scale, 0);
}

int zn_canvas_text_up(zn_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale) {
    return text(c, x, y, s, rgb, scale, 1);
}

/* ---- PNG ------------------------------------------------------------------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (m->oom) return;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n) cap *= 2;
        uint8_t *np = realloc(m->p, cap);
        if (!np) {
            m->oom = true;
            return;
        }
        m->p = np;
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

static void png_err(png_structp png, png_const_charp msg) {
    (void)msg;
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

zn_status zn_canvas_encode_png(const zn_canvas *c, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (!c->px) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "encoding a chart that was never drawn");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_err, png_warn);
    if (!png) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "libpng: cannot create a writer");
    png_infop info = png_create_info_struct(png);
    /* volatile: modified between setjmp and a possible longjmp */
    membuf *volatile m = calloc(1, sizeof *m);
    png_bytep *volatile rows = malloc((size_t)c->h * sizeof *rows);
    if (!info || !m || !rows) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(m);
        free(rows);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory to encode a %dx%d PNG", c->w, c->h);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(m->p);
        free(m);
        free(rows);
        return zn_error_set(ZN_ERR_RUNTIME, "libpng failed to encode a %dx%d chart", c->w, c->h);
    }
    png_set_write_fn(png, m, mem_write, mem_flush);
    png_set_compression_level(png, 9);
    png_set_compression_mem_level(png, 8);
    png_set_compression_strategy(png, 0 /* Z_DEFAULT_STRATEGY */);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    for (int y = 0; y < c->h; y++) rows[y] = c->px + (size_t)y * (size_t)c->w * 3;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (m->oom) {
        free(m->p);
        free(m);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "no memory to encode a %dx%d PNG", c->w, c->h);
    }
    *out = m->p;
    *len = m->len;
    free(m);
    return ZN_OK;
}

zn_status zn_canvas_write_png(const zn_canvas *c, const char *path) {
    uint8_t *buf;
    size_t n;
    zn_status st = zn_canvas_encode_png(c, &buf, &n);
    if (st != ZN_OK) return st;
    st = zn_write_file_atomic(path, (const char *)buf, n);
    free(buf);
    return st;
}
