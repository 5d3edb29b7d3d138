/* term.h — the one module that owns the terminal (ncurses): start and restore it, map colour
 * roles to colours through a table (attributes only on monochrome terminals or with NO_COLOR),
 * copy a finished canvas to the screen, read keys and mouse clicks.
 *
 * Restoring the terminal is guaranteed on every way out: tui_term_done() is idempotent and is
 * also registered with atexit(); SIGINT/SIGTERM/SIGHUP only set a flag the event loop reads;
 * crash signals (SEGV, BUS, FPE, ILL, ABRT) call endwin() first, then die with the signal.
 * Resizes arrive as TUI_KEY_RESIZE (ncurses' own SIGWINCH handler only sets its flag).
 *
 * What it is not: a widget set. Nothing but this file includes curses.h.
 */
#ifndef ZN_TUI_TERM_H
#define ZN_TUI_TERM_H

#include <signal.h>
#include <stdbool.h>

#include "app/tui/canvas.h"

/* Set by SIGINT / SIGTERM / SIGHUP while the TUI runs (the number of the signal). */
extern volatile sig_atomic_t tui_term_signal;

/* Starts curses. utf8: whether the locale is UTF-8 (force_ascii overrides). 0, or -1 when the
 * terminal cannot be driven (not a terminal, unknown TERM). */
int tui_term_init(bool force_ascii, bool *utf8);
void tui_term_done(void);
bool tui_term_active(void);
bool tui_term_has_color(void);
void tui_term_size(int *h, int *w);
void tui_term_blit(const tui_canvas *c);
/* Waits up to timeout_ms for a key (screens.h codes). -1 on timeout or an interrupting signal.
 * TUI_KEY_MOUSE fills *my, *mx with a left click; the wheel comes back as UP / DOWN. */
int tui_term_getkey(int timeout_ms, int *my, int *mx);

#endif
