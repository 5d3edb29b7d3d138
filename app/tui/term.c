/* term.c — the ncurses layer (term.h): the only file that includes curses.h. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include "term.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "app/tui/screens.h"

volatile sig_atomic_t tui_term_signal;

static bool g_active;
static bool g_color;
static bool g_atexit;

/* Each role: colour pair (foreground, background; -1 = the terminal's default) and the
 * attribute with colour, and the attribute alone for monochrome / NO_COLOR. */
static const struct {
    short fg, bg;
    attr_t color_attr, mono_attr;
} ROLES[TUI_R_COUNT] = {
    [TUI_R_NORMAL] = {-1, -1, A_NORMAL, A_NORMAL},
    [TUI_R_TITLE] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [TUI_R_TAB] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [TUI_R_TAB_ACTIVE] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD},
    [TUI_R_BORDER] = {COLOR_BLUE, -1, A_NORMAL, A_NORMAL},
    [TUI_R_HEADING] = {COLOR_CYAN, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [TUI_R_LABEL] = {COLOR_CYAN, -1, A_NORMAL, A_NORMAL},
    [TUI_R_VALUE] = {-1, -1, A_BOLD, A_BOLD},
    [TUI_R_DIM] = {-1, -1, A_DIM, A_DIM},
    [TUI_R_GOOD] = {COLOR_GREEN, -1, A_BOLD, A_BOLD},
    [TUI_R_BAD] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [TUI_R_WARN] = {COLOR_YELLOW, -1, A_NORMAL, A_UNDERLINE},
    [TUI_R_SELECTED] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE},
    [TUI_R_BAR] = {COLOR_GREEN, -1, A_NORMAL, A_NORMAL},
    [TUI_R_SPARK] = {COLOR_MAGENTA, -1, A_NORMAL, A_NORMAL},
    [TUI_R_KEY] = {COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD},
    [TUI_R_HINT] = {-1, -1, A_NORMAL, A_NORMAL},
};

static void on_stop_signal(int sig) { tui_term_signal = sig; }

static void on_crash_signal(int sig) {
    /* restore the terminal first, then die of the same signal (core dump and all) */
    if (g_active) {
        endwin();
        g_active = false;
    }
    static const char msg[] = "zenith-bench: crashed; the terminal was restored\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND;
    static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof *crash; i++) sigaction(crash[i], &sa, NULL);
}

static void restore_signals(void) {
    static const int all[] = {SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) signal(all[i], SIG_DFL);
}

int tui_term_init(bool force_ascii, bool *utf8) {
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    *utf8 = !force_ascii && cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
    if (!isatty(0) || !isatty(1)) return -1;
    /* our handlers first: ncurses then leaves SIGINT/SIGTERM alone */
    install_signals();
    if (!g_atexit) {
        atexit(tui_term_done);
        g_atexit = true;
    }
    ESCDELAY = 25;
    if (!initscr()) {
        restore_signals();
        return -1;
    }
    g_active = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    curs_set(0);
    const char *no_color = getenv("NO_COLOR");
    g_color = has_colors() && !(no_color && *no_color);
    if (g_color) {
        start_color();
        use_default_colors();
        for (int r = 1; r < TUI_R_COUNT; r++) init_pair((short)r, ROLES[r].fg, ROLES[r].bg);
    }
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    return 0;
}

void tui_term_done(void) {
    if (!g_active) return;
    g_active = false;
    mousemask(0, NULL);
    curs_set(1);
    endwin();
    restore_signals();
}

bool tui_term_active(void) { return g_active; }
bool tui_term_has_color(void) { return g_color; }

void tui_term_size(int *h, int *w) {
    getmaxyx(stdscr, *h, *w);
}

void tui_term_blit(const tui_canvas *c) {
    int h, w;
    getmaxyx(stdscr, h, w);
    for (int y = 0; y < c->h && y < h; y++)
        for (int x = 0; x < c->w && x < w; x++) {
            const tui_cell *cell = &c->cells[y * c->w + x];
            int role = cell->role < TUI_R_COUNT ? cell->role : 0;
            attr_t attr = g_color ? ROLES[role].color_attr : ROLES[role].mono_attr;
            wchar_t wc[2] = {(wchar_t)cell->ch, 0};
            cchar_t cc;
            setcchar(&cc, wc, attr, g_color ? (short)role : 0, NULL);
            mvadd_wch(y, x, &cc);  /* ERR at the bottom-right corner is expected */
        }
    wnoutrefresh(stdscr);
    doupdate();
}

int tui_term_getkey(int timeout_ms, int *my, int *mx) {
    timeout(timeout_ms < 0 ? 0 : timeout_ms);
    wint_t ch;
    int r = get_wch(&ch);
    if (r == ERR) return -1;
    if (r == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: return TUI_KEY_UP;
        case KEY_DOWN: return TUI_KEY_DOWN;
        case KEY_LEFT: return TUI_KEY_LEFT;
        case KEY_RIGHT: return TUI_KEY_RIGHT;
        case KEY_PPAGE: return TUI_KEY_PGUP;
        case KEY_NPAGE: return TUI_KEY_PGDN;
        case KEY_HOME: return TUI_KEY_HOME;
        case KEY_END: return TUI_KEY_END;
        case KEY_BTAB: return TUI_KEY_BTAB;
        case KEY_ENTER: return TUI_KEY_ENTER;
        case KEY_BACKSPACE:
        case KEY_DC: return TUI_KEY_BACKSPACE;
        case KEY_RESIZE: return TUI_KEY_RESIZE;
        case KEY_F(1): return '?';
        case KEY_F(5): return TUI_KEY_F5;
        case KEY_F(10): return 'q';
        case KEY_MOUSE: {
            MEVENT ev;
            if (getmouse(&ev) != OK) return -1;
            if (ev.bstate & BUTTON4_PRESSED) return TUI_KEY_UP;
            if (ev.bstate & BUTTON5_PRESSED) return TUI_KEY_DOWN;
            if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) {
                *my = ev.y;
                *mx = ev.x;
                return TUI_KEY_MOUSE;
            }
            return -1;
        }
        default: return -1;
        }
    }
    if (ch == '\r' || ch == '\n') return TUI_KEY_ENTER;
    if (ch == 127 || ch == 8) return TUI_KEY_BACKSPACE;
    if (ch == '\t') return TUI_KEY_TAB;
    if (ch == 27) return TUI_KEY_ESC;
    if (ch == 3) return 'q';  /* Ctrl-C arriving as a key (raw terminals) */
    return (int)ch;
}
