/* screens.h — the workbench's screens as plain state plus draw and key functions:
 *
 *   setup     pick a model, backend, precision, compile mode, threads, scenario and settings
 *   live      the running scenario: histogram, rolling percentiles/QPS, validity progress,
 *             top nodes, server lag and queue depth
 *   results   verdict, recommendations, percentiles, per-node/per-op tables, accuracy; for CUDA
 *             runs the GPU facts, a GPU column in the node table and a per-kernel table
 *   history   past run records from the runs folder; compare two side by side
 *
 * Each screen draws into a tui_canvas rectangle (so tests render them off-screen) and turns
 * keys into state changes or an action for the app (app.c) to carry out (start a run, write a
 * report, ...). Nothing here touches the terminal, threads or the runner.
 *
 * What it is not: the event loop (app.c) or the terminal (term.c).
 */
#ifndef ZN_TUI_SCREENS_H
#define ZN_TUI_SCREENS_H

#include <stdbool.h>
#include <stdint.h>

#include "app/runs.h"
#include "app/tui/canvas.h"
#include "app/tui/widgets.h"
#include "profiling/gpu_trace.h"
#include "profiling/profile.h"
#include "reports/run_record.h"
#include "suites/loadgen.h"

/* The smallest terminal the layouts fit; below it a "terminal too small" screen. */
#define TUI_MIN_W 64
#define TUI_MIN_H 20

/* Keys as the screens see them: printable ASCII as itself, the rest below. */
enum {
    TUI_KEY_ENTER = '\n',
    TUI_KEY_TAB = '\t',
    TUI_KEY_ESC = 27,
    TUI_KEY_BACKSPACE = 127,
    TUI_KEY_UP = 0x110000,
    TUI_KEY_DOWN,
    TUI_KEY_LEFT,
    TUI_KEY_RIGHT,
    TUI_KEY_PGUP,
    TUI_KEY_PGDN,
    TUI_KEY_HOME,
    TUI_KEY_END,
    TUI_KEY_BTAB,
    TUI_KEY_F1,
    TUI_KEY_F5,
    TUI_KEY_RESIZE,
    TUI_KEY_MOUSE,
};

typedef enum tui_screen_id {
    TUI_SCR_SETUP = 0,
    TUI_SCR_LIVE,
    TUI_SCR_RESULTS,
    TUI_SCR_HISTORY,
    TUI_SCR_COMPARE,
    TUI_SCR_COUNT
} tui_screen_id;

/* What a key asks the app to do. */
typedef enum tui_action {
    TUI_ACT_NONE = 0,
    TUI_ACT_START,          /* setup: start the run */
    TUI_ACT_STOP,           /* live: stop early */
    TUI_ACT_RESULTS,        /* live: open the finished run's results */
    TUI_ACT_WRITE,          /* results: write markdown + JSON */
    TUI_ACT_OPEN_RUN,       /* history: open the selected record in results */
    TUI_ACT_COMPARE,        /* history: compare the two marked records */
    TUI_ACT_RELOAD,         /* history: list the folder again */
    TUI_ACT_QUIT,
} tui_action;

/* Click targets the frame and screens register (besides the table's own). */
enum {
    TUI_HIT_TAB = 100,       /* arg: screen id */
    TUI_HIT_FIELD,           /* arg: setup field */
    TUI_HIT_RESULT_TAB,      /* arg: results tab */
    TUI_HIT_BUTTON,          /* arg: a key to simulate */
};

/* ---- setup ---------------------------------------------------------------------------------- */

typedef enum tui_field {
    TUI_F_MODEL = 0,
    TUI_F_BACKEND,
    TUI_F_PRECISION,
    TUI_F_MODE,
    TUI_F_THREADS,
    TUI_F_BATCH,
    TUI_F_SCENARIO,
    TUI_F_DURATION,
    TUI_F_MAX_DURATION,
    TUI_F_MIN_QUERIES,
    TUI_F_TARGET_QPS,
    TUI_F_LATENCY_BOUND,
    TUI_F_SPQ,
    TUI_F_MAX_BATCH,
    TUI_F_WORKERS,
    TUI_F_START,
    TUI_F_COUNT
} tui_field;

#define TUI_MAX_MODELS 64
#define TUI_MODEL_PATH 512

typedef struct tui_setup {
    int n_models;                       /* zoo entries, then .onnx files of the folder */
    int n_zoo;
    char models[TUI_MAX_MODELS][TUI_MODEL_PATH];
    char model_desc[TUI_MAX_MODELS][96];
    int model;                          /* index into models; n_models = the typed path */
    char path[TUI_MODEL_PATH];          /* a typed ONNX path */
    int backend;                        /* zn_backend */
    int precision;                      /* zn_precision */
    int mode;                           /* zn_mode */
    int threads;                        /* 0 = auto */
    int batch;                          /* 0 = model default */
    zn_scenario scenario;
    double duration_s, max_duration_s;  /* min / max duration */
    int64_t min_queries;
    double target_qps;
    double latency_bound_ms;
    int spq, max_batch, workers;
    int field;                          /* selected field */
    bool editing;                       /* typing into the field */
    char edit[TUI_MODEL_PATH];
    char error[256];                    /* last input error, shown under the form */
} tui_setup;

/* Defaults: the first zoo model, auto backend, fp32, default mode, single-stream with the
 * quick settings (zn_test_settings_default). dir: the folder searched for .onnx files (NULL:
 * none). */
void tui_setup_init(tui_setup *s, const char *dir);
/* Resets the scenario-dependent settings to the scenario's defaults. */
void tui_setup_scenario_defaults(tui_setup *s);
bool tui_setup_field_visible(const tui_setup *s, int field);
const char *tui_setup_model(const tui_setup *s);   /* the chosen model name or path */
/* The settings, compile config and model binding the run will use. */
void tui_setup_settings(const tui_setup *s, zn_test_settings *ts, zn_compile_config *cfg, int *batch);
/* One line: what the run will do and how long it takes at most. */
void tui_setup_describe(const tui_setup *s, char *buf, int cap);
tui_action tui_setup_key(tui_setup *s, int key);
void tui_setup_draw(tui_canvas *c, tui_rect r, const tui_setup *s);

/* ---- live ------------------------------------------------------------------------------------ */

#define TUI_SERIES 1024

typedef struct tui_series {
    int n;
    double v[TUI_SERIES];   /* oldest first */
} tui_series;

void tui_series_push(tui_series *s, double v);

typedef struct tui_live_view {
    /* what is running */
    char title[768];                /* "mlp · cpu fp32 default · single-stream" */
    zn_test_settings settings;
    /* progress of the stages before the scenario */
    char stage[32], detail[256];
    bool finished;                  /* the runner returned */
    bool failed;                    /* ... without results */
    char final[1600];               /* the outcome line */
    /* the latest sample */
    bool have_snap;
    zn_live_snapshot snap;
    zn_hist *hist;                  /* latency histogram so far (owned) */
    bool have_prof;
    zn_profile prof;                /* top nodes so far (owned) */
    bool have_gpu;
    zn_gpu_profile gpu;             /* GPU time per node so far, CUDA runs (owned) */
    /* rolling history, one point per tick */
    tui_series p50, p90, p99, qps, lag, depth;
    double last_sample_s;           /* elapsed_s of the latest point */
    bool paused;
    int tick_ms;
} tui_live_view;

/* Allocates the histogram; 0 or -1 out of memory. */
int tui_live_init(tui_live_view *v);
void tui_live_free(tui_live_view *v);
/* Starts a new run's view (clears history, keeps tick and pause settings). */
void tui_live_begin(tui_live_view *v, const char *title, const zn_test_settings *ts);
/* One tick's sample: the snapshot, the histogram (may be NULL: keep the last), the profile
 * (may be NULL; taken over otherwise). Ignored while paused, except the final sample. */
void tui_live_sample(tui_live_view *v, const zn_live_snapshot *snap, const zn_hist *h, zn_profile *prof);
/* The GPU profile so far (taken over; NULL keeps the last): the top nodes gain a GPU column.
 * Ignored while paused. */
void tui_live_gpu(tui_live_view *v, zn_gpu_profile *gp);
/* Seconds left until the stop rules are met (estimated from the current QPS), capped by the
 * max duration; -1 when unknown. */
double tui_live_time_left(const tui_live_view *v);
tui_action tui_live_key(tui_live_view *v, int key);
void tui_live_draw(tui_canvas *c, tui_rect r, tui_live_view *v);

/* ---- results --------------------------------------------------------------------------------- */

enum { TUI_RES_SUMMARY = 0, TUI_RES_NODES, TUI_RES_OPS, TUI_RES_KERNELS, TUI_RES_TABS };

typedef struct tui_results_view {
    zn_record *rec;                 /* owned; NULL: nothing yet */
    char source[1024];              /* the runs-folder file it came from / was saved to */
    zn_hist *hist;                  /* rec's latency histogram (owned) */
    int tab;
    tui_table nodes, ops;
    tui_table kernels;              /* GPU launch sites (CUDA runs with a CUPTI trace) */
    int scroll;                     /* summary tab */
} tui_results_view;

void tui_results_init(tui_results_view *v);
void tui_results_free(tui_results_view *v);
/* Shows rec (taken over: freed by the view). */
void tui_results_set(tui_results_view *v, zn_record *rec, const char *source);
tui_action tui_results_key(tui_results_view *v, int key);
void tui_results_draw(tui_canvas *c, tui_rect r, tui_results_view *v);
/* Writes <dir>/zenith-<model>-<scenario>-<stamp>.md and .json; the paths go to md/json. */
zn_status tui_results_write(const tui_results_view *v, const char *dir, char *md, int md_cap, char *json,
                            int json_cap);

/* ---- history and compare -------------------------------------------------------------------- */

typedef struct tui_history_view {
    char dir[1024];
    zn_run_summary *list;
    int n, skipped;
    char error[256];
    tui_table table;
    int marks[2];                   /* marked list indices for compare, -1 = none */
} tui_history_view;

void tui_history_init(tui_history_view *v);
void tui_history_free(tui_history_view *v);
/* Lists dir (NULL: the runs folder) again. */
void tui_history_load(tui_history_view *v, const char *dir);
/* The list entry under the selection, NULL when empty. */
const zn_run_summary *tui_history_selected(const tui_history_view *v);
tui_action tui_history_key(tui_history_view *v, int key);
void tui_history_draw(tui_canvas *c, tui_rect r, tui_history_view *v);

typedef struct tui_compare_view {
    zn_record *a, *b;               /* owned */
    tui_table table;
} tui_compare_view;

void tui_compare_init(tui_compare_view *v);
void tui_compare_free(tui_compare_view *v);
/* Takes both records over and builds the side-by-side table. */
void tui_compare_set(tui_compare_view *v, zn_record *a, zn_record *b);
tui_action tui_compare_key(tui_compare_view *v, int key);
void tui_compare_draw(tui_canvas *c, tui_rect r, tui_compare_view *v);

/* ---- the whole frame ------------------------------------------------------------------------ */

typedef struct tui_state {
    tui_screen_id screen;
    bool help;
    bool run_active;                /* a run is in progress */
    bool have_results;
    char msg[512];                  /* the message line */
    tui_role msg_role;
    tui_setup setup;
    tui_live_view live;
    tui_results_view results;
    tui_history_view history;
    tui_compare_view compare;
} tui_state;

int tui_state_init(tui_state *st, const char *dir);
void tui_state_free(tui_state *st);
void tui_set_msg(tui_state *st, tui_role role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Draws the frame (top bar with the screens, the current screen, message and key hints, the
 * help overlay) or the "terminal too small" screen. */
void tui_render(tui_canvas *c, tui_state *st);
void tui_draw_too_small(tui_canvas *c);
void tui_draw_help(tui_canvas *c, tui_screen_id screen);

#endif
