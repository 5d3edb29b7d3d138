/* canvas.h — the TUI's off-screen drawing surface: a grid of cells (one code point and one
 * colour role each) that every widget and screen draws into. The ncurses layer (term.c) only
 * copies a finished canvas to the terminal, so everything drawn can be tested by rendering into
 * a canvas and reading its text back (tui_canvas_row, tui_canvas_find).
 *
 * Text goes in as UTF-8; each code point takes one cell (the glyphs the widgets use are all
 * single-width; wide characters in user text are not measured). Drawing outside the canvas is
 * clipped, never an error. The canvas also carries the glyph set (Unicode or ASCII, chosen from
 * the locale) and a list of click targets ("hits") that screens register while drawing, so a
 * mouse click maps back to what was drawn there.
 *
 * What it is not: a terminal, a window system or a layout engine.
 */
#ifndef ZN_TUI_CANVAS_H
#define ZN_TUI_CANVAS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Colour roles: what a cell means, not what colour it is. term.c maps each role to a colour
 * pair and an attribute (and to attributes only on monochrome terminals or with NO_COLOR). */
typedef enum tui_role {
    TUI_R_NORMAL = 0,
    TUI_R_TITLE,       /* the top bar */
    TUI_R_TAB,         /* a screen's name in the top bar */
    TUI_R_TAB_ACTIVE,  /* the current screen's */
    TUI_R_BORDER,
    TUI_R_HEADING,     /* a box's title, a table header */
    TUI_R_LABEL,
    TUI_R_VALUE,
    TUI_R_DIM,
    TUI_R_GOOD,        /* VALID, passed rules, faster */
    TUI_R_BAD,         /* INVALID, failed rules, slower, errors */
    TUI_R_WARN,
    TUI_R_SELECTED,    /* the selected row / field */
    TUI_R_BAR,         /* histogram bars, progress fill */
    TUI_R_SPARK,       /* sparklines */
    TUI_R_KEY,         /* a key in the hint line: "q" */
    TUI_R_HINT,        /* the hint line itself */
    TUI_R_COUNT
} tui_role;

typedef struct tui_cell {
    uint32_t ch;       /* Unicode code point; ' ' when blank */
    uint8_t role;      /* tui_role */
} tui_cell;

typedef struct tui_rect {
    int y, x, h, w;
} tui_rect;

/* The glyphs widgets draw with: Unicode box drawing and blocks, or plain ASCII. */
typedef struct tui_glyphs {
    uint32_t hl, vl, tl, tr, bl, br;   /* box lines and corners */
    uint32_t eighths[9];               /* vertical bar of 0..8 eighths of a cell */
    uint32_t spark[8];                 /* sparkline levels, lowest first */
    uint32_t hfill[9];                 /* horizontal bar of 0..8 eighths (progress) */
    uint32_t hempty;                   /* progress bar, unfilled part */
    uint32_t up, down, check, cross;   /* sort arrows, pass / fail marks */
} tui_glyphs;

const tui_glyphs *tui_glyphs_for(bool utf8);

#define TUI_MAX_HITS 256

/* A click target: a rectangle and what it means to the screen that drew it. */
typedef struct tui_hit {
    tui_rect r;
    int id;
    int arg;
} tui_hit;

typedef struct tui_canvas {
    int h, w;
    bool utf8;
    const tui_glyphs *g;
    tui_cell *cells;           /* [h * w] */
    int n_hits;
    tui_hit hits[TUI_MAX_HITS];
} tui_canvas;

/* 0 on success, -1 out of memory (the canvas is then empty but valid). */
int tui_canvas_init(tui_canvas *c, int h, int w, bool utf8);
int tui_canvas_resize(tui_canvas *c, int h, int w);  /* contents are cleared */
void tui_canvas_free(tui_canvas *c);
void tui_canvas_clear(tui_canvas *c);                 /* blanks, role NORMAL, no hits */

/* ---- drawing (all clipped to the canvas) ---- */
void tui_put_ch(tui_canvas *c, int y, int x, uint32_t ch, tui_role role);
/* UTF-8 text at (y, x), at most maxw cells (maxw < 0: to the right edge). Returns the cells
 * written. Control characters are drawn as '?'. */
int tui_put_str(tui_canvas *c, int y, int x, tui_role role, int maxw, const char *s);
int tui_printf(tui_canvas *c, int y, int x, tui_role role, int maxw, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Right-aligned so the text ends at column x_end - 1. */
int tui_put_right(tui_canvas *c, int y, int x_end, tui_role role, const char *s);
void tui_fill(tui_canvas *c, tui_rect r, uint32_t ch, tui_role role);
/* Sets the role of the cells in r, keeping their characters (highlighting a row). */
void tui_set_role(tui_canvas *c, tui_rect r, tui_role role);
void tui_hline(tui_canvas *c, int y, int x, int w, tui_role role);
/* A frame around r with an optional title in its top edge. */
void tui_box(tui_canvas *c, tui_rect r, tui_role role, const char *title);
/* r shrunk by one cell on every side (the inside of a box). */
tui_rect tui_inner(tui_rect r);

/* ---- click targets ---- */
void tui_add_hit(tui_canvas *c, tui_rect r, int id, int arg);
/* The id of the last-registered target containing (y, x) (so overlays win), -1 if none. */
int tui_hit_at(const tui_canvas *c, int y, int x, int *arg);

/* ---- reading back (tests, and the ncurses blit) ---- */
uint32_t tui_canvas_ch(const tui_canvas *c, int y, int x);      /* 0 outside */
tui_role tui_canvas_role(const tui_canvas *c, int y, int x);
/* Row y as UTF-8 (trailing blanks kept), NUL-terminated; returns its length in bytes. */
size_t tui_canvas_row(const tui_canvas *c, int y, char *buf, size_t cap);
/* First occurrence of text (UTF-8, within one row), scanning rows top to bottom. */
bool tui_canvas_find(const tui_canvas *c, const char *text, int *y, int *x);

/* ---- text helpers ---- */
/* Copies src into dst[cap], truncating (on a byte boundary) and always terminating. */
void tui_copy(char *dst, size_t cap, const char *src);
int tui_utf8_len(const char *s);   /* code points (= cells) in s */
/* Decodes one code point from s (advancing *s); invalid bytes give U+FFFD. */
uint32_t tui_utf8_next(const char **s);
/* Appends cp as UTF-8 to buf (at least 5 bytes free); returns the bytes written. */
int tui_utf8_put(char *buf, uint32_t cp);

#endif
