/* png.h — a small RGB canvas for the report charts: pixels, rectangles, lines (solid or
 * dashed), markers of several shapes, hatched fills, and text in an embedded 5x9 bitmap font
 * (printable ASCII plus µ and ×), scaled by whole numbers; written as an 8-bit RGB PNG through
 * libpng with fixed settings (compression level, filters, no tIME or text chunks), so the same
 * drawing gives the same bytes.
 *
 * Coordinates are pixels, (0,0) top left, x to the right, y down. Everything is clipped to the
 * canvas, so callers may draw partly outside it. Colours are 0xRRGGBB.
 *
 * What it is not: an anti-aliased renderer or a PNG reader (tests decode with libpng). */
#ifndef ZN_PNG_H
#define ZN_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "engine/error.h"

#define ZN_FONT_W 5          /* glyph cell, unscaled */
#define ZN_FONT_H 9          /* rows 0-6 capitals, 7-8 descenders */
#define ZN_FONT_ADVANCE 6    /* glyph + one column of space */
#define ZN_FONT_LINE 11      /* line height, unscaled */

typedef struct zn_canvas {
    int w, h;
    uint8_t *px;             /* [h][w][3] RGB (malloc) */
} zn_canvas;

typedef enum zn_marker {
    ZN_MARK_DOT = 0,         /* filled square, `size` across */
    ZN_MARK_CIRCLE,          /* filled circle */
    ZN_MARK_RING,            /* circle outline */
    ZN_MARK_CROSS,           /* x */
    ZN_MARK_TRIANGLE,        /* filled, point up */
    ZN_MARK_DIAMOND,         /* filled */
} zn_marker;

typedef enum zn_fill {
    ZN_FILL_SOLID = 0,
    ZN_FILL_HATCH,           /* diagonal lines on white */
    ZN_FILL_CROSSHATCH,
    ZN_FILL_DOTS,
} zn_fill;

/* A w x h canvas filled with `bg`. ZN_ERR_INVALID_ARGUMENT for sizes outside 1..16384. */
zn_status zn_canvas_init(zn_canvas *c, int w, int h, uint32_t bg);
void zn_canvas_free(zn_canvas *c);

void zn_canvas_set(zn_canvas *c, int x, int y, uint32_t rgb);
uint32_t zn_canvas_get(const zn_canvas *c, int x, int y);     /* 0 outside */
/* Filled rectangle [x0, x1) x [y0, y1) (corners in any order). */
void zn_canvas_fill(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb);
/* A rectangle with a fill pattern in `rgb` (hatches on white) and a 1-pixel outline. */
void zn_canvas_fill_pattern(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, zn_fill fill);
/* Outline of [x0, x1) x [y0, y1). */
void zn_canvas_rect(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb);
/* A line `width` pixels thick between the end points (inclusive). dash = 0 solid, otherwise
 * the on/off run length in pixels. */
void zn_canvas_line(zn_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb, int width, int dash);
void zn_canvas_marker(zn_canvas *c, int x, int y, int size, uint32_t rgb, zn_marker m);

/* Text at (x, y) = the top left of the first glyph cell; `scale` >= 1. UTF-8 µ and × are
 * drawn; other non-ASCII bytes as '?'. Returns the width drawn. */
int zn_canvas_text(zn_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale);
/* Rotated a quarter turn anticlockwise (reads bottom to top): (x, y) is the bottom left. */
int zn_canvas_text_up(zn_canvas *c, int x, int y, const char *s, uint32_t rgb, int scale);
int zn_text_width(const char *s, int scale);      /* pixels */
int zn_text_height(int scale);                    /* ZN_FONT_H * scale */
/* Cuts s to at most max_px wide (adding ".." when cut) into buf. */
const char *zn_text_fit(const char *s, int max_px, int scale, char *buf, size_t cap);

/* Encodes as PNG (8-bit RGB, zlib level 9, adaptive filters, no time or text chunks).
 * *out is malloc'd (free()). */
zn_status zn_canvas_encode_png(const zn_canvas *c, uint8_t **out, size_t *len);
/* Encodes and writes atomically (temporary name, then rename). */
zn_status zn_canvas_write_png(const zn_canvas *c, const char *path);

#endif
