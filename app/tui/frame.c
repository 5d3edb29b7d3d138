/* frame.c — the frame around the screens: the top bar with the screens' names, the message
 * line, the key hints, the help overlay and the "terminal too small" screen (screens.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app/tui/screens.h"

static const char *const SCREEN_NAMES[TUI_SCR_COUNT] = {"Setup", "Live", "Results", "History", "Compare"};

int tui_state_init(tui_state *st, const char *dir) {
    memset(st, 0, sizeof *st);
    tui_setup_init(&st->setup, dir);
    if (tui_live_init(&st->live) != 0) return -1;
    tui_results_init(&st->results);
    tui_history_init(&st->history);
    tui_compare_init(&st->compare);
    st->screen = TUI_SCR_SETUP;
    return 0;
}

void tui_state_free(tui_state *st) {
    tui_live_free(&st->live);
    tui_results_free(&st->results);
    tui_history_free(&st->history);
    tui_compare_free(&st->compare);
}

void tui_set_msg(tui_state *st, tui_role role, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    st->msg_role = role;
}

/* "k:label" pairs separated by '|' -> key in KEY role, label in HINT role. */
static void draw_hints(tui_canvas *c, int y, const char *spec) {
    tui_fill(c, (tui_rect){y, 0, 1, c->w}, ' ', TUI_R_HINT);
    int x = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon) continue;
        *colon = 0;
        int need = tui_utf8_len(tok) + tui_utf8_len(colon + 1) + 3;
        if (x + need > c->w) break;
        x += 1;
        x += tui_put_str(c, y, x, TUI_R_KEY, -1, tok);
        x += 1;
        x += tui_put_str(c, y, x, TUI_R_HINT, -1, colon + 1);
        x += 1;
    }
}

static const char *hints_for(const tui_state *st, bool utf8, char *buf, int cap) {
    switch (st->screen) {
    case TUI_SCR_SETUP:
        if (st->setup.editing) return "Enter:accept|Esc:cancel|Bksp:erase";
        snprintf(buf, (size_t)cap, "%s:field|%s:change|e:type|%s|?:help|q:quit", utf8 ? "↑↓" : "up/dn",
                 utf8 ? "←→" : "lt/rt", st->run_active ? "2:live view" : "Enter:start");
        return buf;
    case TUI_SCR_LIVE:
        snprintf(buf, (size_t)cap, "p:%s|s:stop|+/-:tick %dms|%s|?:help|q:quit", st->live.paused ? "resume" : "pause",
                 st->live.tick_ms, st->live.finished ? "Enter:results" : "1:setup");
        return buf;
    case TUI_SCR_RESULTS: return "Tab:view|j/k:move|</>:sort|i:invert|w:write report|?:help|q:quit";
    case TUI_SCR_HISTORY: return "Enter:open|space:mark|c:compare|R:reload|</>:sort|?:help|q:quit";
    case TUI_SCR_COMPARE: return "j/k:move|4:history|?:help|q:quit";
    default: return "?:help|q:quit";
    }
}

static void draw_top(tui_canvas *c, const tui_state *st) {
    tui_fill(c, (tui_rect){0, 0, 1, c->w}, ' ', TUI_R_TITLE);
    int x = tui_put_str(c, 0, 1, TUI_R_TITLE, -1, "zenith-bench") + 2;
    for (int i = 0; i < TUI_SCR_COUNT; i++) {
        char t[32];
        snprintf(t, sizeof t, " %d %s ", i + 1, SCREEN_NAMES[i]);
        int n = tui_put_str(c, 0, x, i == (int)st->screen ? TUI_R_TAB_ACTIVE : TUI_R_TAB, -1, t);
        tui_add_hit(c, (tui_rect){0, x, 1, n}, TUI_HIT_TAB, i);
        x += n;
    }
    char right[96] = "";
    const zn_live_snapshot *s = &st->live.snap;
    if (st->run_active && st->live.have_snap && s->state != ZN_RUN_IDLE)
        snprintf(right, sizeof right, "%s %.1fs", zn_run_state_name(s->state), s->elapsed_s);
    else if (st->run_active)
        snprintf(right, sizeof right, "%s", st->live.stage);
    else if (st->live.finished)
        snprintf(right, sizeof right, "run finished");
    int n = tui_utf8_len(right);
    if (n && x + n + 2 <= c->w) tui_put_str(c, 0, c->w - n - 1, st->run_active ? TUI_R_TAB_ACTIVE : TUI_R_TITLE, n, right);
}

void tui_draw_too_small(tui_canvas *c) {
    tui_canvas_clear(c);
    char a[64];
    snprintf(a, sizeof a, "need %dx%d, have %dx%d", TUI_MIN_W, TUI_MIN_H, c->w, c->h);
    const char *lines[3] = {"Terminal too small", a, "enlarge it, or press q to quit"};
    for (int i = 0; i < 3; i++) {
        int n = tui_utf8_len(lines[i]);
        int y = c->h / 2 - 1 + i;
        int x = (c->w - n) / 2;
        if (x < 0) x = 0;
        if (y < 0) y = i;
        tui_put_str(c, y, x, i == 0 ? TUI_R_BAD : TUI_R_NORMAL, c->w, lines[i]);
    }
}

void tui_draw_help(tui_canvas *c, tui_screen_id screen) {
    static const char *const global[] = {
        "1-5 / click   switch screen: setup, live, results, history, compare",
        "arrows, hjkl  move / change      PgUp PgDn g G   page, top, bottom",
        "?             this help (any key closes it)",
        "q, Ctrl-C     quit (a run in progress is stopped and recorded)",
    };
    static const char *const per[TUI_SCR_COUNT][6] = {
        {"Setup", "up/down field, left/right change the value", "digits or e: type a value, Enter accepts",
         "Enter: start the run (from any field)", "Model: pick a built-in model or an .onnx file here;",
         "       the last choice takes a typed path (e)"},
        {"Live", "p / space: pause the display (the run goes on)", "s: stop early (recorded as INVALID)",
         "+ / -: refresh tick (default 250 ms)", "Enter / r: results once the run has finished", ""},
        {"Results", "Tab / h l: summary, per-node, per-op tables", "j k: move; < >: sort column; i: invert",
         "click a column header to sort by it", "w: write the report (markdown + JSON) to this folder", ""},
        {"History", "runs saved in the runs folder ($ZENITH_RUNS_DIR)", "Enter: open in results; space: mark A / B",
         "c: compare the marked two; R: reload", "< >: sort column; i: invert", ""},
        {"Compare", "two runs side by side; B vs A change", "green: B better, red: B worse", "j k: move", "", ""},
    };
    int w = 72 < c->w - 4 ? 72 : c->w - 4, h = 16 < c->h - 2 ? 16 : c->h - 2;
    tui_rect r = {(c->h - h) / 2, (c->w - w) / 2, h, w};
    tui_fill(c, r, ' ', TUI_R_NORMAL);
    tui_box(c, r, TUI_R_BORDER, "Help");
    tui_rect in = tui_inner(r);
    int y = in.y;
    tui_put_str(c, y++, in.x + 1, TUI_R_HEADING, in.w - 2, "Everywhere");
    for (int i = 0; i < 4 && y < in.y + in.h; i++) tui_put_str(c, y++, in.x + 2, TUI_R_NORMAL, in.w - 3, global[i]);
    y++;
    if (screen < TUI_SCR_COUNT && y < in.y + in.h)
        tui_printf(c, y++, in.x + 1, TUI_R_HEADING, in.w - 2, "%s screen", per[screen][0]);
    for (int i = 1; screen < TUI_SCR_COUNT && i < 6 && y < in.y + in.h; i++)
        if (per[screen][i][0]) tui_put_str(c, y++, in.x + 2, TUI_R_NORMAL, in.w - 3, per[screen][i]);
    if (in.h >= 2)
        tui_put_str(c, in.y + in.h - 1, in.x + 1, TUI_R_DIM, in.w - 2,
                    "runs folder: $ZENITH_RUNS_DIR, else $XDG_DATA_HOME/zenith/runs");
    tui_add_hit(c, r, TUI_HIT_BUTTON, '?');
}

void tui_render(tui_canvas *c, tui_state *st) {
    tui_canvas_clear(c);
    if (c->w < TUI_MIN_W || c->h < TUI_MIN_H) {
        tui_draw_too_small(c);
        return;
    }
    draw_top(c, st);
    tui_rect body = {1, 0, c->h - 3, c->w};
    switch (st->screen) {
    case TUI_SCR_SETUP: tui_setup_draw(c, body, &st->setup); break;
    case TUI_SCR_LIVE: tui_live_draw(c, body, &st->live); break;
    case TUI_SCR_RESULTS: tui_results_draw(c, body, &st->results); break;
    case TUI_SCR_HISTORY: tui_history_draw(c, body, &st->history); break;
    case TUI_SCR_COMPARE: tui_compare_draw(c, body, &st->compare); break;
    default: break;
    }
    int ym = c->h - 2;
    if (st->msg[0]) tui_put_str(c, ym, 1, st->msg_role, c->w - 2, st->msg);
    else if (st->live.finished && st->live.final[0] && st->screen == TUI_SCR_LIVE)
        tui_put_str(c, ym, 1, st->live.failed ? TUI_R_BAD : TUI_R_GOOD, c->w - 2, st->live.final);
    char buf[256];
    draw_hints(c, c->h - 1, hints_for(st, c->utf8, buf, sizeof buf));
    if (st->help) tui_draw_help(c, st->screen);
}
