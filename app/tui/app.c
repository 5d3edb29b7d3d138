/* app.c — the workbench's event loop (tui.h): owns the state, the terminal session and the run
 * thread. Each tick (250 ms by default, + / - to change) it samples the run's live snapshot,
 * latency histogram and approximate per-node profile (and on CUDA flushes CUPTI for the GPU time
 * per node), whatever the keyboard does; keys and
 * clicks become screen actions. The run goes through zn_runner_run on a background thread, like
 * the headless command; the UI never blocks it (it only takes the snapshot's lock briefly).
 *
 * What it is not: drawing (screens, widgets) or terminal handling (term.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/runner.h"
#include "app/runs.h"
#include "app/tui/screens.h"
#include "app/tui/term.h"
#include "app/tui/tui.h"
#include "engine/log.h"

#define MAX_ARGS 40

/* One run on its thread. Fields below `mu` are shared with the runner thread under it. */
typedef struct run_job {
    pthread_t th;
    bool started;
    zn_runner_opts opts;
    zn_live *live;
    zn_record rec;
    zn_status st;
    const char *stage_failed;
    atomic_int done;
    volatile int interrupted;
    char model[TUI_MODEL_PATH];
    int argc;
    char *argv[MAX_ARGS];
    char argbuf[MAX_ARGS][64];
    char err[512], hint[512];
    pthread_mutex_t mu;
    char stage[32], detail[256];
    zn_profiler *prof;
    zn_cupti *cupti;          /* CUDA runs: the kernel trace, flushed each tick for the live view */
} run_job;

typedef struct app {
    tui_state st;
    tui_canvas cv;
    run_job job;
    zn_hist *hist_tmp;
    bool quit;
    int exit_code;
    char cwd[1024];
} app;

/* ---- log sink: library warnings go to the message line, never onto the screen -------------- */

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log_msg[400];
static int g_log_new;

static void log_sink(void *user, zn_log_level level, const char *module, const char *msg) {
    (void)user;
    if (level > ZN_LOG_WARN) return;
    pthread_mutex_lock(&g_log_mu);
    snprintf(g_log_msg, sizeof g_log_msg, "%s: %s", module ? module : "zenith", msg);
    g_log_new = 1;
    pthread_mutex_unlock(&g_log_mu);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the run thread ------------------------------------------------------------------------- */

static void on_stage(void *user, const char *stage, const char *detail) {
    run_job *j = user;
    pthread_mutex_lock(&j->mu);
    snprintf(j->stage, sizeof j->stage, "%s", stage);
    snprintf(j->detail, sizeof j->detail, "%s", detail ? detail : "");
    pthread_mutex_unlock(&j->mu);
}

static void on_profiler(void *user, zn_profiler *p) {
    run_job *j = user;
    pthread_mutex_lock(&j->mu);
    j->prof = p;
    pthread_mutex_unlock(&j->mu);
}

static void on_gpu(void *user, zn_cupti *c) {
    run_job *j = user;
    pthread_mutex_lock(&j->mu);
    j->cupti = c;
    pthread_mutex_unlock(&j->mu);
}

static void *run_main(void *arg) {
    run_job *j = arg;
    j->st = zn_runner_run(&j->opts, j->live, on_stage, j, &j->rec, &j->stage_failed);
    if (j->st != ZN_OK) {
        const zn_error *e = zn_last_error();
        snprintf(j->err, sizeof j->err, "%s", e->message);
        snprintf(j->hint, sizeof j->hint, "%s", e->hint);
    }
    atomic_store(&j->done, 1);
    return NULL;
}

static void add_arg(run_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_arg(run_job *j, const char *fmt, ...) {
    if (j->argc >= MAX_ARGS - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->argbuf[j->argc], sizeof j->argbuf[0], fmt, ap);
    va_end(ap);
    j->argv[j->argc] = j->argbuf[j->argc];
    j->argc++;
    j->argv[j->argc] = NULL;
}

static void start_run(app *a) {
    tui_state *st = &a->st;
    run_job *j = &a->job;
    if (st->run_active) {
        tui_set_msg(st, TUI_R_WARN, "a run is in progress: stop it (2, then s) before starting another");
        return;
    }
    zn_test_settings ts;
    zn_compile_config cfg;
    int batch;
    tui_setup_settings(&st->setup, &ts, &cfg, &batch);
    if (zn_test_settings_validate(&ts) != ZN_OK) {
        tui_set_msg(st, TUI_R_BAD, "%s (%s)", zn_last_error()->message, zn_last_error()->hint);
        return;
    }
    zn_live *live = zn_live_new();
    if (!live) {
        tui_set_msg(st, TUI_R_BAD, "out of memory");
        return;
    }
    if (j->live) zn_live_free(j->live);
    memset(j, 0, offsetof(run_job, mu));
    j->live = live;
    snprintf(j->model, sizeof j->model, "%s", tui_setup_model(&st->setup));
    /* the record's command line: the headless command that repeats this run */
    add_arg(j, "zenith-bench");
    add_arg(j, "run");
    add_arg(j, "--model=%s", j->model);
    add_arg(j, "--backend=%s", zn_backend_name(cfg.backend));
    add_arg(j, "--precision=%s", zn_precision_name(cfg.precision));
    add_arg(j, "--mode=%s", zn_mode_name(cfg.mode));
    if (cfg.threads) add_arg(j, "--threads=%d", cfg.threads);
    if (batch) add_arg(j, "--batch=%d", batch);
    add_arg(j, "--scenario=%s", zn_scenario_name(ts.scenario));
    add_arg(j, "--duration=%lldms", (long long)ts.min_duration_ms);
    add_arg(j, "--max-duration=%lldms", (long long)ts.max_duration_ms);
    add_arg(j, "--min-queries=%lld", (long long)ts.min_query_count);
    if (ts.scenario == ZN_SCENARIO_SERVER || ts.scenario == ZN_SCENARIO_OFFLINE) {
        if (ts.target_qps > 0) add_arg(j, "--target-qps=%g", ts.target_qps);
        add_arg(j, "--max-batch=%d", ts.max_batch);
        add_arg(j, "--workers=%d", ts.n_workers);
    }
    if (ts.scenario == ZN_SCENARIO_SERVER) add_arg(j, "--latency-bound=%gms", (double)ts.target_latency_ns / 1e6);
    if (ts.scenario == ZN_SCENARIO_MULTI_STREAM) add_arg(j, "--samples-per-query=%d", ts.samples_per_query);

    zn_runner_opts *o = &j->opts;
    o->model.model = j->model;
    o->model.batch = batch;
    o->model.seed = 42;
    o->data_seed = 42;
    o->cfg = cfg;
    o->settings = ts;
    o->interrupted = &j->interrupted;
    o->argc = j->argc;
    o->argv = j->argv;
    o->profiler_fn = on_profiler;
    o->profiler_user = j;
    o->gpu_fn = on_gpu;
    o->gpu_user = j;
    pthread_mutex_lock(&j->mu);
    snprintf(j->stage, sizeof j->stage, "starting");
    j->detail[0] = 0;
    j->prof = NULL;
    j->cupti = NULL;
    pthread_mutex_unlock(&j->mu);

    char title[768], thr[32];
    if (cfg.threads) snprintf(thr, sizeof thr, "%d threads", cfg.threads);
    else snprintf(thr, sizeof thr, "auto threads");
    snprintf(title, sizeof title, "%s  %s %s %s  %s  %s", j->model, zn_backend_name(cfg.backend),
             zn_precision_name(cfg.precision), zn_mode_name(cfg.mode), thr, zn_scenario_name(ts.scenario));
    tui_live_begin(&st->live, title, &ts);
    atomic_init(&j->done, 0);
    if (pthread_create(&j->th, NULL, run_main, j) != 0) {
        tui_set_msg(st, TUI_R_BAD, "could not start the run thread (%s)", strerror(errno));
        return;
    }
    j->started = true;
    st->run_active = true;
    st->screen = TUI_SCR_LIVE;
    st->msg[0] = 0;
}

/* The run thread finished: join it, save its record, show the outcome. */
static void finish_run(app *a) {
    tui_state *st = &a->st;
    run_job *j = &a->job;
    pthread_join(j->th, NULL);
    j->started = false;
    st->run_active = false;
    /* the final sample, complete even when paused */
    zn_live_snapshot snap;
    zn_live_read(j->live, &snap);
    zn_live_read_hist(j->live, a->hist_tmp);
    if (snap.state == ZN_RUN_DONE || snap.queries_done > 0) {
        snap.state = ZN_RUN_DONE;
        bool paused = st->live.paused;
        st->live.paused = false;
        tui_live_sample(&st->live, &snap, a->hist_tmp, NULL);
        st->live.paused = paused;
    }
    st->live.finished = true;
    bool have = j->rec.results.present || j->rec.model.name[0];
    char saved[1200] = "";
    if (have && zn_runs_save(&j->rec, saved, sizeof saved) != ZN_OK)
        snprintf(saved, sizeof saved, "(not saved: %s)", zn_last_error()->message);
    if (!j->rec.results.present) {
        st->live.failed = true;
        snprintf(st->live.stage, sizeof st->live.stage, "%s failed:", j->stage_failed ? j->stage_failed : "run");
        tui_copy(st->live.detail, sizeof st->live.detail, j->err);
        snprintf(st->live.final, sizeof st->live.final, "%s failed: %s%s%s", j->stage_failed ? j->stage_failed : "run",
                 j->err[0] ? j->err : "stopped", j->hint[0] ? "  hint: " : "", j->hint);
    } else {
        const char *v = zn_record_verdict(&j->rec);
        snprintf(st->live.final, sizeof st->live.final, "run finished: %s%s%s  Enter: results  (saved %s)", v,
                 j->rec.reason[0] ? " - " : "", j->rec.reason, saved);
        st->live.failed = strcmp(v, "VALID") != 0;
    }
    if (have) {
        zn_record *r = malloc(sizeof *r);
        if (r) {
            *r = j->rec;  /* the view takes the record over */
            memset(&j->rec, 0, sizeof j->rec);
            tui_results_set(&st->results, r, saved[0] == '(' ? "" : saved);
            st->have_results = true;
        }
    }
    zn_record_free(&j->rec);
    zn_live_free(j->live);
    j->live = NULL;
    st->msg[0] = 0;
}

/* One tick: sample the run. */
static void tick(app *a) {
    tui_state *st = &a->st;
    run_job *j = &a->job;
    pthread_mutex_lock(&g_log_mu);
    if (g_log_new) {
        tui_set_msg(st, TUI_R_WARN, "%s", g_log_msg);
        g_log_new = 0;
    }
    pthread_mutex_unlock(&g_log_mu);
    if (!st->run_active) return;
    zn_live_snapshot snap;
    zn_live_read(j->live, &snap);
    zn_profile pr;
    bool have_pr = false;
    bool want = !st->live.paused && st->screen == TUI_SCR_LIVE;
    pthread_mutex_lock(&j->mu);
    snprintf(st->live.stage, sizeof st->live.stage, "%s", j->stage);
    snprintf(st->live.detail, sizeof st->live.detail, "%s", j->detail);
    if (want && j->prof && snap.state != ZN_RUN_IDLE) have_pr = zn_profiler_peek(j->prof, &pr) == ZN_OK;
    /* CUDA: hand CUPTI's completed buffers to the parser, then read the GPU time per node */
    zn_gpu_profile gp;
    bool have_gp = want && j->cupti && snap.state != ZN_RUN_IDLE && zn_cupti_flush(j->cupti, false) == ZN_OK &&
                   zn_cupti_collect(j->cupti, &gp, false) == ZN_OK;
    pthread_mutex_unlock(&j->mu);
    if (have_gp) tui_live_gpu(&st->live, &gp);
    if (want) zn_live_read_hist(j->live, a->hist_tmp);
    tui_live_sample(&st->live, &snap, want ? a->hist_tmp : NULL, have_pr ? &pr : NULL);
    if (atomic_load(&j->done)) finish_run(a);
}

static void stop_run(app *a, const char *why) {
    run_job *j = &a->job;
    if (!a->st.run_active) return;
    j->interrupted = 1;
    zn_loadgen_request_stop(j->live);
    tui_set_msg(&a->st, TUI_R_WARN, "%s", why);
}

/* ---- actions ---------------------------------------------------------------------------------- */

static void open_screen(app *a, tui_screen_id s) {
    a->st.screen = s;
    a->st.help = false;
    if (s == TUI_SCR_HISTORY) tui_history_load(&a->st.history, NULL);
}

static zn_record *load_record(app *a, const char *path) {
    zn_record *r = malloc(sizeof *r);
    if (!r) return NULL;
    if (zn_record_read_json(path, r) != ZN_OK) {
        tui_set_msg(&a->st, TUI_R_BAD, "%s", zn_last_error()->message);
        zn_record_free(r);
        free(r);
        return NULL;
    }
    return r;
}

static void do_action(app *a, tui_action act) {
    tui_state *st = &a->st;
    switch (act) {
    case TUI_ACT_START: start_run(a); break;
    case TUI_ACT_STOP: stop_run(a, "stopping early: the run will be recorded as INVALID"); break;
    case TUI_ACT_RESULTS:
        if (st->have_results) open_screen(a, TUI_SCR_RESULTS);
        else tui_set_msg(st, TUI_R_WARN, "this run left no results");
        break;
    case TUI_ACT_WRITE: {
        char md[1400], js[1400];
        if (tui_results_write(&st->results, a->cwd, md, sizeof md, js, sizeof js) == ZN_OK)
            tui_set_msg(st, TUI_R_GOOD, "wrote %s and %s", md, js);
        else
            tui_set_msg(st, TUI_R_BAD, "%s  %s", zn_last_error()->message, zn_last_error()->hint);
        break;
    }
    case TUI_ACT_OPEN_RUN: {
        const zn_run_summary *s = tui_history_selected(&st->history);
        zn_record *r = s ? load_record(a, s->path) : NULL;
        if (r) {
            tui_results_set(&st->results, r, s->path);
            st->have_results = true;
            open_screen(a, TUI_SCR_RESULTS);
        }
        break;
    }
    case TUI_ACT_COMPARE: {
        tui_history_view *h = &st->history;
        zn_record *x = load_record(a, h->list[h->marks[0]].path);
        zn_record *y = x ? load_record(a, h->list[h->marks[1]].path) : NULL;
        if (x && y) {
            tui_compare_set(&st->compare, x, y);
            open_screen(a, TUI_SCR_COMPARE);
        } else if (x) {
            zn_record_free(x);
            free(x);
        }
        break;
    }
    case TUI_ACT_RELOAD: tui_history_load(&st->history, NULL); break;
    case TUI_ACT_QUIT: a->quit = true; break;
    default: break;
    }
}

static tui_table *current_table(app *a) {
    tui_state *st = &a->st;
    if (st->screen == TUI_SCR_RESULTS && st->results.tab == TUI_RES_NODES) return &st->results.nodes;
    if (st->screen == TUI_SCR_RESULTS && st->results.tab == TUI_RES_OPS) return &st->results.ops;
    if (st->screen == TUI_SCR_RESULTS && st->results.tab == TUI_RES_KERNELS) return &st->results.kernels;
    if (st->screen == TUI_SCR_HISTORY) return &st->history.table;
    if (st->screen == TUI_SCR_COMPARE) return &st->compare.table;
    return NULL;
}

static void handle_key(app *a, int key);

static void handle_click(app *a, int y, int x) {
    tui_state *st = &a->st;
    int arg = 0;
    int id = tui_hit_at(&a->cv, y, x, &arg);
    if (st->help) {
        st->help = false;
        return;
    }
    tui_table *t = current_table(a);
    switch (id) {
    case TUI_HIT_TAB: open_screen(a, (tui_screen_id)arg); break;
    case TUI_HIT_FIELD:
        if (st->setup.editing) break;
        if (st->setup.field == arg && arg != TUI_F_START) tui_setup_key(&st->setup, TUI_KEY_RIGHT);
        else st->setup.field = arg;
        if (arg == TUI_F_START) do_action(a, TUI_ACT_START);
        break;
    case TUI_HIT_RESULT_TAB: st->results.tab = arg; break;
    case TUI_HIT_TABLE_COL:
        if (t) tui_table_toggle_sort(t, arg);
        break;
    case TUI_HIT_TABLE_ROW:
        if (!t) break;
        if (t->sel == arg && st->screen == TUI_SCR_HISTORY) do_action(a, TUI_ACT_OPEN_RUN);
        else t->sel = arg;
        break;
    case TUI_HIT_BUTTON: handle_key(a, arg); break;
    default: break;
    }
}

static void handle_key(app *a, int key) {
    tui_state *st = &a->st;
    if (st->help) {  /* any key closes the help */
        st->help = false;
        return;
    }
    if (st->screen == TUI_SCR_SETUP && st->setup.editing) {
        do_action(a, tui_setup_key(&st->setup, key));
        return;
    }
    switch (key) {
    case 'q':
    case 'Q': a->quit = true; return;
    case '?': st->help = true; return;
    case TUI_KEY_ESC:
        if (st->screen == TUI_SCR_COMPARE) open_screen(a, TUI_SCR_HISTORY);
        st->msg[0] = 0;
        return;
    default: break;
    }
    bool setup_number = st->screen == TUI_SCR_SETUP && st->setup.field >= TUI_F_THREADS &&
                        st->setup.field <= TUI_F_WORKERS && st->setup.field != TUI_F_SCENARIO;
    if (key >= '1' && key <= '5' && !setup_number) {
        open_screen(a, (tui_screen_id)(key - '1'));
        return;
    }
    tui_action act = TUI_ACT_NONE;
    switch (st->screen) {
    case TUI_SCR_SETUP: act = tui_setup_key(&st->setup, key); break;
    case TUI_SCR_LIVE: act = tui_live_key(&st->live, key); break;
    case TUI_SCR_RESULTS: act = tui_results_key(&st->results, key); break;
    case TUI_SCR_HISTORY: act = tui_history_key(&st->history, key); break;
    case TUI_SCR_COMPARE: act = tui_compare_key(&st->compare, key); break;
    default: break;
    }
    do_action(a, act);
}

/* ---- main ------------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fputs("usage: zenith-bench tui [--model NAME|FILE.onnx] [--scenario S] [--ascii]\n"
          "\n"
          "The interactive workbench: set up a run, watch it live, read the results, browse and\n"
          "compare past runs. Finished runs are kept in $ZENITH_RUNS_DIR (default\n"
          "$XDG_DATA_HOME/zenith/runs or ~/.local/share/zenith/runs). Press ? inside for the keys.\n"
          "  --model M      preselect a model\n"
          "  --scenario S   preselect a scenario\n"
          "  --ascii        draw with ASCII only (also automatic when the locale is not UTF-8)\n"
          "  NO_COLOR=1     no colours (attributes only)\n",
          f);
}

int tui_main(int argc, char **argv) {
    bool ascii = false;
    const char *model = NULL, *scenario = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return ZN_EXIT_OK;
        }
        if (!strcmp(argv[i], "--ascii")) ascii = true;
        else if (!strncmp(argv[i], "--model=", 8)) model = argv[i] + 8;
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strncmp(argv[i], "--scenario=", 11)) scenario = argv[i] + 11;
        else if (!strcmp(argv[i], "--scenario") && i + 1 < argc) scenario = argv[++i];
        else return cli_usage_error("see zenith-bench tui --help", "unknown tui option '%s'", argv[i]);
    }
    if (!isatty(0) || !isatty(1))
        return cli_usage_error("run it in a terminal, or use `zenith-bench run` for a headless run",
                               "the workbench needs a terminal");
    app *a = calloc(1, sizeof *a);
    if (!a || !(a->hist_tmp = malloc(sizeof *a->hist_tmp)) || tui_state_init(&a->st, ".") != 0) {
        fprintf(stderr, "error: out of memory\n");
        if (a) free(a->hist_tmp);
        free(a);
        return ZN_EXIT_FAIL;
    }
    pthread_mutex_init(&a->job.mu, NULL);
    if (!getcwd(a->cwd, sizeof a->cwd)) snprintf(a->cwd, sizeof a->cwd, ".");
    tui_state *st = &a->st;
    if (model) {
        st->setup.model = st->setup.n_models;
        for (int i = 0; i < st->setup.n_models; i++)
            if (!strcmp(st->setup.models[i], model)) st->setup.model = i;
        if (st->setup.model == st->setup.n_models) snprintf(st->setup.path, sizeof st->setup.path, "%s", model);
    }
    if (scenario) {
        zn_scenario sc;
        if (zn_scenario_parse(scenario, &sc) != ZN_OK) {
            tui_state_free(st);
            free(a->hist_tmp);
            free(a);
            return cli_usage_error("use single-stream, multi-stream, server or offline", "bad --scenario '%s'", scenario);
        }
        st->setup.scenario = sc;
        tui_setup_scenario_defaults(&st->setup);
    }

    bool utf8 = false;
    if (tui_term_init(ascii, &utf8) != 0) {
        tui_term_done();
        tui_state_free(st);
        free(a->hist_tmp);
        free(a);
        fprintf(stderr, "error: cannot drive this terminal (TERM=%s)\nhint: set TERM (e.g. xterm-256color) or use `zenith-bench run`\n",
                getenv("TERM") ? getenv("TERM") : "");
        return ZN_EXIT_USAGE;
    }
    zn_log_set_sink(log_sink, NULL);
    int h, w;
    tui_term_size(&h, &w);
    tui_canvas_init(&a->cv, h, w, utf8);

    int64_t next_tick = now_ms();
    bool dirty = true;
    while (!a->quit) {
        if (tui_term_signal) {
            a->exit_code = ZN_EXIT_INTERRUPTED;
            break;
        }
        int64_t now = now_ms();
        if (now >= next_tick) {
            tick(a);
            next_tick += st->live.tick_ms;
            if (next_tick <= now) next_tick = now + st->live.tick_ms;
            dirty = true;
        }
        if (dirty) {
            tui_render(&a->cv, st);
            tui_term_blit(&a->cv);
            dirty = false;
        }
        int wait = (int)(next_tick - now_ms());
        int my = 0, mx = 0;
        int key = tui_term_getkey(wait < 0 ? 0 : wait, &my, &mx);
        if (key < 0) continue;
        dirty = true;
        if (key == TUI_KEY_RESIZE) {
            tui_term_size(&h, &w);
            tui_canvas_resize(&a->cv, h, w);
            continue;
        }
        if (a->cv.w < TUI_MIN_W || a->cv.h < TUI_MIN_H) {  /* the too-small screen: only quit */
            if (key == 'q' || key == 'Q') a->quit = true;
            continue;
        }
        if (key == TUI_KEY_MOUSE) handle_click(a, my, mx);
        else handle_key(a, key);
    }

    /* a run still going is stopped and recorded (INVALID), like a headless Ctrl-C */
    if (st->run_active) {
        stop_run(a, "stopping the run before quitting ...");
        tui_render(&a->cv, st);
        tui_term_blit(&a->cv);
        while (!atomic_load(&a->job.done)) usleep(20000);
        finish_run(a);
    }
    tui_term_done();
    zn_log_set_sink(NULL, NULL);
    if (st->live.finished && st->results.source[0]) fprintf(stderr, "run record: %s\n", st->results.source);
    if (a->exit_code == ZN_EXIT_INTERRUPTED) fprintf(stderr, "interrupted\n");
    int rc = a->exit_code;
    tui_canvas_free(&a->cv);
    tui_state_free(st);
    pthread_mutex_destroy(&a->job.mu);
    free(a->hist_tmp);
    free(a);
    return rc;
}
