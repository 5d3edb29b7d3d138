/* canvas.c — the off-screen cell grid the TUI draws into (canvas.h). No terminal I/O here. */
#include "canvas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tui_glyphs GLYPHS_UTF8 = {
    .hl = 0x2500, .vl = 0x2502, .tl = 0x250C, .tr = 0x2510, .bl = 0x2514, .br = 0x2518,
    /* ' ' and U+2581..U+2588 lower eighth .. full block */
    .eighths = {' ', 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588},
    .spark = {0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587, 0x2588},
    /* ' ' and U+258F..U+2589 left one eighth .. seven eighths, then the full block */
    .hfill = {' ', 0x258F, 0x258E, 0x258D, 0x258C, 0x258B, 0x258A, 0x2589, 0x2588},
    .hempty = 0x2591,
    .up = 0x25B2, .down = 0x25BC, .check = 0x2713, .cross = 0x2717,
};

static const tui_glyphs GLYPHS_ASCII = {
    .hl = '-', .vl = '|', .tl = '+', .tr = '+', .bl = '+', .br = '+',
    .eighths = {' ', '.', '.', '_', '_', '=', '=', '#', '#'},
    .spark = {'_', '.', '-', '-', '=', '=', '*', '#'},
    .hfill = {' ', ' ', ' ', ' ', '#', '#', '#', '#', '#'},
    .hempty = '.',
    .up = '^', .down = 'v', .check = '+', .cross = 'x',
};

const tui_glyphs *tui_glyphs_for(bool utf8) { return utf8 ? &GLYPHS_UTF8 : &GLYPHS_ASCII; }

int tui_canvas_init(tui_canvas *c, int h, int w, bool utf8) {
    memset(c, 0, sizeof *c);
    c->utf8 = utf8;
    c->g = tui_glyphs_for(utf8);
    return tui_canvas_resize(c, h, w);
}

int tui_canvas_resize(tui_canvas *c, int h, int w) {
    if (h < 0) h = 0;
    if (w < 0) w = 0;
    tui_cell *cells = calloc((size_t)(h * w > 0 ? h * w : 1), sizeof *cells);
    if (!cells) {
        free(c->cells);
        c->cells = NULL;
        c->h = c->w = 0;
        return -1;
    }
    free(c->cells);
    c->cells = cells;
    c->h = h;
    c->w = w;
    tui_canvas_clear(c);
    return 0;
}

void tui_canvas_free(tui_canvas *c) {
    free(c->cells);
    c->cells = NULL;
    c->h = c->w = 0;
}

void tui_canvas_clear(tui_canvas *c) {
    for (int i = 0; i < c->h * c->w; i++) {
        c->cells[i].ch = ' ';
        c->cells[i].role = TUI_R_NORMAL;
    }
    c->n_hits = 0;
}

void tui_put_ch(tui_canvas *c, int y, int x, uint32_t ch, tui_role role) {
    if (y < 0 || x < 0 || y >= c->h || x >= c->w) return;
    tui_cell *cell = &c->cells[y * c->w + x];
    cell->ch = ch;
    cell->role = (uint8_t)role;
}

uint32_t tui_utf8_next(const char **sp) {
    const unsigned char *s = (const unsigned char *)*sp;
    uint32_t cp;
    int n;
    if (s[0] < 0x80) {
        cp = s[0];
        n = 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        n = 2;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        n = 3;
    } else if ((s[0] & 0xF8) == 0xF0) {
        cp = s[0] & 0x07;
        n = 4;
    } else {
        *sp += 1;
        return 0xFFFD;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *sp += i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *sp += n;
    return cp;
}

int tui_utf8_put(char *buf, uint32_t cp) {
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int tui_utf8_len(const char *s) {
    int n = 0;
    while (*s) {
        tui_utf8_next(&s);
        n++;
    }
    return n;
}

int tui_put_str(tui_canvas *c, int y, int x, tui_role role, int maxw, const char *s) {
    if (!s) return 0;
    int n = 0;
    while (*s && (maxw < 0 || n < maxw) && x + n < c->w) {
        uint32_t cp = tui_utf8_next(&s);
        if (cp < 0x20 || cp == 0x7F) cp = '?';
        /* ASCII canvases show non-ASCII user text as '?' (the terminal may not render it) */
        if (!c->utf8 && cp >= 0x80) cp = '?';
        tui_put_ch(c, y, x + n, cp, role);
        n++;
    }
    return n;
}

int tui_printf(tui_canvas *c, int y, int x, tui_role role, int maxw, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return tui_put_str(c, y, x, role, maxw, buf);
}

int tui_put_right(tui_canvas *c, int y, int x_end, tui_role role, const char *s) {
    int n = tui_utf8_len(s);
    return tui_put_str(c, y, x_end - n, role, n, s);
}

void tui_fill(tui_canvas *c, tui_rect r, uint32_t ch, tui_role role) {
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) tui_put_ch(c, y, x, ch, role);
}

void tui_set_role(tui_canvas *c, tui_rect r, tui_role role) {
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++)
            if (y >= 0 && x >= 0 && y < c->h && x < c->w) c->cells[y * c->w + x].role = (uint8_t)role;
}

void tui_hline(tui_canvas *c, int y, int x, int w, tui_role role) {
    for (int i = 0; i < w; i++) tui_put_ch(c, y, x + i, c->g->hl, role);
}

void tui_box(tui_canvas *c, tui_rect r, tui_role role, const char *title) {
    if (r.h < 2 || r.w < 2) return;
    const tui_glyphs *g = c->g;
    tui_put_ch(c, r.y, r.x, g->tl, role);
    tui_put_ch(c, r.y, r.x + r.w - 1, g->tr, role);
    tui_put_ch(c, r.y + r.h - 1, r.x, g->bl, role);
    tui_put_ch(c, r.y + r.h - 1, r.x + r.w - 1, g->br, role);
    tui_hline(c, r.y, r.x + 1, r.w - 2, role);
    tui_hline(c, r.y + r.h - 1, r.x + 1, r.w - 2, role);
    for (int y = r.y + 1; y < r.y + r.h - 1; y++) {
        tui_put_ch(c, y, r.x, g->vl, role);
        tui_put_ch(c, y, r.x + r.w - 1, g->vl, role);
    }
    if (title && *title && r.w > 6) {
        tui_put_ch(c, r.y, r.x + 1, ' ', role);
        int n = tui_put_str(c, r.y, r.x + 2, TUI_R_HEADING, r.w - 5, title);
        tui_put_ch(c, r.y, r.x + 2 + n, ' ', role);
    }
}

tui_rect tui_inner(tui_rect r) {
    tui_rect i = {r.y + 1, r.x + 1, r.h - 2, r.w - 2};
    if (i.h < 0) i.h = 0;
    if (i.w < 0) i.w = 0;
    return i;
}

void tui_add_hit(tui_canvas *c, tui_rect r, int id, int arg) {
    if (c->n_hits >= TUI_MAX_HITS || r.h <= 0 || r.w <= 0) return;
    c->hits[c->n_hits++] = (tui_hit){r, id, arg};
}

int tui_hit_at(const tui_canvas *c, int y, int x, int *arg) {
    for (int i = c->n_hits - 1; i >= 0; i--) {
        const tui_rect *r = &c->hits[i].r;
        if (y >= r->y && y < r->y + r->h && x >= r->x && x < r->x + r->w) {
            if (arg) *arg = c->hits[i].arg;
            return c->hits[i].id;
        }
    }
    return -1;
}

uint32_t tui_canvas_ch(const tui_canvas *c, int y, int x) {
    if (y < 0 || x < 0 || y >= c->h || x >= c->w) return 0;
    return c->cells[y * c->w + x].ch;
}

tui_role tui_canvas_role(const tui_canvas *c, int y, int x) {
    if (y < 0 || x < 0 || y >= c->h || x >= c->w) return TUI_R_NORMAL;
    return (tui_role)c->cells[y * c->w + x].role;
}

size_t tui_canvas_row(const tui_canvas *c, int y, char *buf, size_t cap) {
    size_t n = 0;
    if (cap == 0) return 0;
    for (int x = 0; y >= 0 && y < c->h && x < c->w; x++) {
        char tmp[5];
        int k = tui_utf8_put(tmp, c->cells[y * c->w + x].ch);
        if (n + (size_t)k + 1 > cap) break;
        memcpy(buf + n, tmp, (size_t)k);
        n += (size_t)k;
    }
    buf[n] = 0;
    return n;
}

bool tui_canvas_find(const tui_canvas *c, const char *text, int *y, int *x) {
    /* compare code point by code point so the column is a cell index */
    uint32_t want[256];
    int n = 0;
    const char *s = text;
    while (*s && n < 256) want[n++] = tui_utf8_next(&s);
    if (n == 0) return false;
    for (int r = 0; r < c->h; r++)
        for (int col = 0; col + n <= c->w; col++) {
            int k = 0;
            while (k < n && c->cells[r * c->w + col + k].ch == want[k]) k++;
            if (k == n) {
                if (y) *y = r;
                if (x) *x = col;
                return true;
            }
        }
    return false;
}

void tui_copy(char *dst, size_t cap, const char *src) {
    if (!cap) return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}
