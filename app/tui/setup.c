/* setup.c — the setup screen: a form of the run's settings (screens.h). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tui/screens.h"
#include "suites/zoo.h"

static const char *const BACKENDS[] = {"auto", "cpu", "cuda"};
static const char *const PRECISIONS[] = {"fp32", "fp16", "bf16"};
static const char *const MODES[] = {"default", "reduce-overhead", "max-autotune"};

static const char *const LABELS[TUI_F_COUNT] = {
    "Model", "Backend", "Precision", "Compile mode", "Threads", "Batch", "Scenario", "Min duration",
    "Max duration", "Min queries", "Target QPS", "Latency bound", "Samples/query", "Max batch", "Workers", "",
};

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

void tui_setup_init(tui_setup *s, const char *dir) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < zn_zoo_count() && s->n_models < TUI_MAX_MODELS; i++) {
        const zn_zoo_entry *e = zn_zoo_at(i);
        snprintf(s->models[s->n_models], TUI_MODEL_PATH, "%s", e->name);
        snprintf(s->model_desc[s->n_models], sizeof s->model_desc[0], "%s", e->description ? e->description : "");
        s->n_models++;
    }
    s->n_zoo = s->n_models;
    if (dir) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int first = s->n_models;
        while (d && (e = readdir(d)) != NULL && s->n_models < TUI_MAX_MODELS) {
            size_t n = strlen(e->d_name);
            if (n > 5 && !strcmp(e->d_name + n - 5, ".onnx")) {
                snprintf(s->models[s->n_models], TUI_MODEL_PATH, "%s%s%s", strcmp(dir, ".") ? dir : "",
                         strcmp(dir, ".") ? "/" : "", e->d_name);
                snprintf(s->model_desc[s->n_models], sizeof s->model_desc[0], "ONNX file in this folder");
                s->n_models++;
            }
        }
        if (d) closedir(d);
        qsort(s->models[first], (size_t)(s->n_models - first), sizeof s->models[0], cmp_str);
    }
    s->model = 0;
    s->backend = ZN_BACKEND_AUTO;
    s->precision = ZN_PRECISION_F32;
    s->mode = ZN_MODE_DEFAULT;
    s->scenario = ZN_SCENARIO_SINGLE_STREAM;
    tui_setup_scenario_defaults(s);
    s->field = TUI_F_MODEL;
}

void tui_setup_scenario_defaults(tui_setup *s) {
    zn_test_settings d = zn_test_settings_default(s->scenario);
    s->duration_s = (double)d.min_duration_ms / 1000.0;
    s->max_duration_s = (double)d.max_duration_ms / 1000.0;
    s->min_queries = d.min_query_count;
    s->target_qps = d.target_qps;
    s->latency_bound_ms = (double)d.target_latency_ns / 1e6;
    s->spq = d.samples_per_query;
    s->max_batch = d.max_batch;
    s->workers = s->scenario == ZN_SCENARIO_SERVER || s->scenario == ZN_SCENARIO_OFFLINE ? 1 : 1;
}

bool tui_setup_field_visible(const tui_setup *s, int f) {
    switch (f) {
    case TUI_F_TARGET_QPS: return s->scenario == ZN_SCENARIO_SERVER || s->scenario == ZN_SCENARIO_OFFLINE;
    case TUI_F_LATENCY_BOUND: return s->scenario == ZN_SCENARIO_SERVER;
    case TUI_F_SPQ: return s->scenario == ZN_SCENARIO_MULTI_STREAM;
    case TUI_F_MAX_BATCH:
    case TUI_F_WORKERS: return s->scenario == ZN_SCENARIO_SERVER || s->scenario == ZN_SCENARIO_OFFLINE;
    default: return f >= 0 && f < TUI_F_COUNT;
    }
}

const char *tui_setup_model(const tui_setup *s) {
    if (s->model >= 0 && s->model < s->n_models) return s->models[s->model];
    return s->path[0] ? s->path : "(type a path)";
}

void tui_setup_settings(const tui_setup *s, zn_test_settings *ts, zn_compile_config *cfg, int *batch) {
    *ts = zn_test_settings_default(s->scenario);
    ts->min_duration_ms = (int64_t)llround(s->duration_s * 1000);
    ts->max_duration_ms = (int64_t)llround(s->max_duration_s * 1000);
    ts->min_query_count = s->min_queries;
    if (s->scenario == ZN_SCENARIO_SERVER || s->scenario == ZN_SCENARIO_OFFLINE) {
        ts->target_qps = s->target_qps;
        ts->max_batch = s->max_batch;
        ts->n_workers = s->workers;
    }
    if (s->scenario == ZN_SCENARIO_SERVER) ts->target_latency_ns = (int64_t)llround(s->latency_bound_ms * 1e6);
    if (s->scenario == ZN_SCENARIO_MULTI_STREAM) ts->samples_per_query = s->spq;
    *cfg = zn_compile_config_default();
    cfg->backend = (zn_backend)s->backend;
    cfg->precision = (zn_precision)s->precision;
    cfg->mode = (zn_mode)s->mode;
    cfg->threads = s->threads;
    *batch = s->batch;
}

static void fmt_secs(double s, char *buf, int cap) {
    if (s >= 120 && fmod(s, 60) == 0) snprintf(buf, (size_t)cap, "%.0f min", s / 60);
    else snprintf(buf, (size_t)cap, "%g s", s);
}

void tui_setup_describe(const tui_setup *s, char *buf, int cap) {
    char mn[32], mx[32];
    fmt_secs(s->duration_s, mn, sizeof mn);
    fmt_secs(s->max_duration_s, mx, sizeof mx);
    const char *what = s->scenario == ZN_SCENARIO_OFFLINE ? "samples" : "queries";
    char limit[64];
    if (s->max_duration_s > 0) snprintf(limit, sizeof limit, "at most %s", mx);
    else snprintf(limit, sizeof limit, "no maximum");
    switch (s->scenario) {
    case ZN_SCENARIO_SERVER: {
        double sched = s->target_qps > 0 ? (double)s->min_queries / s->target_qps : 0;
        double need = sched > s->duration_s ? sched : s->duration_s;
        snprintf(buf, (size_t)cap,
                 "%s server: Poisson arrivals at %g QPS, p99 <= %g ms; about %.1f s (%s) + load/compile",
                 tui_setup_model(s), s->target_qps, s->latency_bound_ms, need, limit);
        break;
    }
    case ZN_SCENARIO_OFFLINE:
        snprintf(buf, (size_t)cap, "%s offline: >= %lld %s in batches of %d over >= %s (%s) + load/compile",
                 tui_setup_model(s), (long long)s->min_queries, what, s->max_batch, mn, limit);
        break;
    case ZN_SCENARIO_MULTI_STREAM:
        snprintf(buf, (size_t)cap, "%s multi-stream: %d samples/query, >= %s and >= %lld %s (%s) + load/compile",
                 tui_setup_model(s), s->spq, mn, (long long)s->min_queries, what, limit);
        break;
    default:
        snprintf(buf, (size_t)cap, "%s single-stream: one query at a time, >= %s and >= %lld %s (%s) + load/compile",
                 tui_setup_model(s), mn, (long long)s->min_queries, what, limit);
        break;
    }
}

/* ---- editing ---------------------------------------------------------------------------------- */

static bool numeric_field(int f) { return f >= TUI_F_THREADS && f <= TUI_F_WORKERS && f != TUI_F_SCENARIO; }

static void field_text(const tui_setup *s, int f, char *buf, int cap) {
    switch (f) {
    case TUI_F_MODEL: snprintf(buf, (size_t)cap, "%s", tui_setup_model(s)); break;
    case TUI_F_BACKEND: snprintf(buf, (size_t)cap, "%s", BACKENDS[s->backend]); break;
    case TUI_F_PRECISION: snprintf(buf, (size_t)cap, "%s", PRECISIONS[s->precision]); break;
    case TUI_F_MODE: snprintf(buf, (size_t)cap, "%s", MODES[s->mode]); break;
    case TUI_F_THREADS:
        if (s->threads) snprintf(buf, (size_t)cap, "%d", s->threads);
        else snprintf(buf, (size_t)cap, "auto");
        break;
    case TUI_F_BATCH:
        if (s->batch) snprintf(buf, (size_t)cap, "%d", s->batch);
        else snprintf(buf, (size_t)cap, "model default");
        break;
    case TUI_F_SCENARIO: snprintf(buf, (size_t)cap, "%s", zn_scenario_name(s->scenario)); break;
    case TUI_F_DURATION: snprintf(buf, (size_t)cap, "%g s", s->duration_s); break;
    case TUI_F_MAX_DURATION:
        if (s->max_duration_s > 0) snprintf(buf, (size_t)cap, "%g s", s->max_duration_s);
        else snprintf(buf, (size_t)cap, "none");
        break;
    case TUI_F_MIN_QUERIES: snprintf(buf, (size_t)cap, "%lld", (long long)s->min_queries); break;
    case TUI_F_TARGET_QPS:
        if (s->scenario == ZN_SCENARIO_OFFLINE && s->target_qps <= 0) snprintf(buf, (size_t)cap, "estimate");
        else snprintf(buf, (size_t)cap, "%g", s->target_qps);
        break;
    case TUI_F_LATENCY_BOUND: snprintf(buf, (size_t)cap, "%g ms", s->latency_bound_ms); break;
    case TUI_F_SPQ: snprintf(buf, (size_t)cap, "%d", s->spq); break;
    case TUI_F_MAX_BATCH: snprintf(buf, (size_t)cap, "%d", s->max_batch); break;
    case TUI_F_WORKERS: snprintf(buf, (size_t)cap, "%d", s->workers); break;
    default: buf[0] = 0;
    }
}

/* Steps a numeric value: small values by 1, larger by about 10%. */
static double step(double v, int dir, double lo, double hi, bool integer) {
    double d = fabs(v) < 10 ? 1 : pow(10, floor(log10(fabs(v)))) / (fabs(v) < 20 ? 2 : 1);
    if (!integer && fabs(v) < 1 && v != 0) d = 0.1;
    v += dir * d;
    if (integer) v = round(v);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
}

static void change(tui_setup *s, int f, int dir) {
    switch (f) {
    case TUI_F_MODEL: {
        int n = s->n_models + 1; /* the last slot is the typed path */
        s->model = ((s->model + dir) % n + n) % n;
        break;
    }
    case TUI_F_BACKEND: s->backend = (s->backend + dir + 3) % 3; break;
    case TUI_F_PRECISION: s->precision = (s->precision + dir + 3) % 3; break;
    case TUI_F_MODE: s->mode = (s->mode + dir + 3) % 3; break;
    case TUI_F_THREADS: s->threads = (int)step(s->threads, dir, 0, 1024, true); break;
    case TUI_F_BATCH: s->batch = (int)step(s->batch, dir, 0, 65536, true); break;
    case TUI_F_SCENARIO:
        s->scenario = (zn_scenario)(((int)s->scenario + dir + ZN_SCENARIO_COUNT) % ZN_SCENARIO_COUNT);
        tui_setup_scenario_defaults(s);
        break;
    case TUI_F_DURATION: s->duration_s = step(s->duration_s, dir, 0, 86400, false); break;
    case TUI_F_MAX_DURATION: s->max_duration_s = step(s->max_duration_s, dir, 0, 86400, false); break;
    case TUI_F_MIN_QUERIES: s->min_queries = (int64_t)step((double)s->min_queries, dir, 1, 1e9, true); break;
    case TUI_F_TARGET_QPS: s->target_qps = step(s->target_qps, dir, 0, 1e7, false); break;
    case TUI_F_LATENCY_BOUND: s->latency_bound_ms = step(s->latency_bound_ms, dir, 0.01, 1e6, false); break;
    case TUI_F_SPQ: s->spq = (int)step(s->spq, dir, 1, 4096, true); break;
    case TUI_F_MAX_BATCH: s->max_batch = (int)step(s->max_batch, dir, 1, 4096, true); break;
    case TUI_F_WORKERS: s->workers = (int)step(s->workers, dir, 1, 256, true); break;
    default: break;
    }
}

/* Commits the text typed into the field; false (and s->error) when it does not parse. */
static bool commit(tui_setup *s) {
    int f = s->field;
    s->editing = false;
    s->error[0] = 0;
    if (f == TUI_F_MODEL) {
        snprintf(s->path, sizeof s->path, "%s", s->edit);
        s->model = s->n_models;
        for (int i = 0; i < s->n_models; i++)
            if (!strcmp(s->models[i], s->edit)) s->model = i;
        return true;
    }
    char *end = NULL;
    double v = strtod(s->edit, &end);
    while (end && *end == ' ') end++;
    /* accept a unit on times: "500ms", "2s", "1m" */
    double scale = 1;
    if (end && (f == TUI_F_DURATION || f == TUI_F_MAX_DURATION)) {
        if (!strcmp(end, "ms")) scale = 1e-3;
        else if (!strcmp(end, "m") || !strcmp(end, "min")) scale = 60;
        else if (!strcmp(end, "s") || !*end) scale = 1;
        else end = NULL;
    } else if (end && f == TUI_F_LATENCY_BOUND) {
        if (!strcmp(end, "s")) scale = 1e3;
        else if (!strcmp(end, "us")) scale = 1e-3;
        else if (!strcmp(end, "ms") || !*end) scale = 1;
        else end = NULL;
    } else if (end && *end) {
        end = NULL;
    }
    if (!end || end == s->edit || !(v >= 0) || v > 1e9) {
        snprintf(s->error, sizeof s->error, "'%.60s' is not a valid %s: type a number%s", s->edit, LABELS[f],
                 f == TUI_F_DURATION || f == TUI_F_MAX_DURATION ? " of seconds (or 500ms, 2m)" : "");
        return false;
    }
    v *= scale;
    switch (f) {
    case TUI_F_THREADS: s->threads = (int)v; break;
    case TUI_F_BATCH: s->batch = (int)v; break;
    case TUI_F_DURATION: s->duration_s = v; break;
    case TUI_F_MAX_DURATION: s->max_duration_s = v; break;
    case TUI_F_MIN_QUERIES: s->min_queries = v < 1 ? 1 : (int64_t)v; break;
    case TUI_F_TARGET_QPS: s->target_qps = v; break;
    case TUI_F_LATENCY_BOUND: s->latency_bound_ms = v > 0 ? v : 0.01; break;
    case TUI_F_SPQ: s->spq = v < 1 ? 1 : (int)v; break;
    case TUI_F_MAX_BATCH: s->max_batch = v < 1 ? 1 : (int)v; break;
    case TUI_F_WORKERS: s->workers = v < 1 ? 1 : (int)v; break;
    default: break;
    }
    return true;
}

static void move_field(tui_setup *s, int dir) {
    int f = s->field;
    for (int i = 0; i < TUI_F_COUNT; i++) {
        f = (f + dir + TUI_F_COUNT) % TUI_F_COUNT;
        if (tui_setup_field_visible(s, f)) break;
    }
    s->field = f;
}

static void begin_edit(tui_setup *s, const char *initial) {
    s->editing = true;
    s->error[0] = 0;
    snprintf(s->edit, sizeof s->edit, "%s", initial);
}

/* Checks what Enter would start; false with s->error set when it cannot start. */
static bool ready(tui_setup *s) {
    if (s->model >= s->n_models && !s->path[0]) {
        snprintf(s->error, sizeof s->error, "no model: pick one with left/right or type an ONNX path (e)");
        s->field = TUI_F_MODEL;
        return false;
    }
    if (s->max_duration_s > 0 && s->duration_s > s->max_duration_s) {
        snprintf(s->error, sizeof s->error, "min duration is longer than max duration: raise the max or set it to 0");
        s->field = TUI_F_MAX_DURATION;
        return false;
    }
    s->error[0] = 0;
    return true;
}

tui_action tui_setup_key(tui_setup *s, int key) {
    if (s->editing) {
        size_t n = strlen(s->edit);
        if (key == TUI_KEY_ENTER) {
            commit(s);
        } else if (key == TUI_KEY_ESC) {
            s->editing = false;
        } else if (key == TUI_KEY_BACKSPACE || key == 8) {
            if (n) s->edit[n - 1] = 0;
        } else if (key >= 32 && key < 127 && n + 1 < sizeof s->edit) {
            s->edit[n] = (char)key;
            s->edit[n + 1] = 0;
        }
        return TUI_ACT_NONE;
    }
    switch (key) {
    case TUI_KEY_UP:
    case 'k': move_field(s, -1); break;
    case TUI_KEY_DOWN:
    case 'j':
    case TUI_KEY_TAB: move_field(s, +1); break;
    case TUI_KEY_BTAB: move_field(s, -1); break;
    case TUI_KEY_HOME:
    case 'g': s->field = TUI_F_MODEL; break;
    case TUI_KEY_END:
    case 'G': s->field = TUI_F_START; break;
    case TUI_KEY_LEFT:
    case 'h': change(s, s->field, -1); break;
    case TUI_KEY_RIGHT:
    case 'l': change(s, s->field, +1); break;
    case 'e':
        if (s->field == TUI_F_MODEL) begin_edit(s, s->model < s->n_models ? "" : s->path);
        else if (numeric_field(s->field)) begin_edit(s, "");
        break;
    case TUI_KEY_ENTER:
    case TUI_KEY_F5:
        if (s->field == TUI_F_MODEL && s->model >= s->n_models) {
            begin_edit(s, s->path);
            break;
        }
        return ready(s) ? TUI_ACT_START : TUI_ACT_NONE;
    default:
        if (numeric_field(s->field) && ((key >= '0' && key <= '9') || key == '.')) {
            char first[2] = {(char)key, 0};
            begin_edit(s, first);
        } else if (s->field == TUI_F_MODEL && (key == '/' || key == '~')) {
            char first[2] = {(char)key, 0};
            begin_edit(s, first);
        }
        break;
    }
    return TUI_ACT_NONE;
}

void tui_setup_draw(tui_canvas *c, tui_rect r, const tui_setup *s) {
    tui_box(c, r, TUI_R_BORDER, "Set up a run");
    tui_rect in = tui_inner(r);
    int label_w = 15;
    int y = in.y;
    /* the form may not fit a short terminal: scroll so the selected field shows */
    int visible[TUI_F_COUNT], nv = 0, sel_i = 0;
    for (int f = 0; f < TUI_F_COUNT; f++)
        if (tui_setup_field_visible(s, f)) {
            if (f == s->field) sel_i = nv;
            visible[nv++] = f;
        }
    int rows = in.h - 4; /* leave the description (2 lines), the error and a gap */
    int first = 0;
    if (rows < nv && sel_i >= rows) first = sel_i - rows + 1;
    for (int i = first; i < nv && y < in.y + rows; i++, y++) {
        int f = visible[i];
        bool sel = f == s->field;
        tui_rect line = {y, in.x, 1, in.w};
        tui_add_hit(c, line, TUI_HIT_FIELD, f);
        if (f == TUI_F_START) {
            const char *btn = "[ Start run ]";
            tui_put_str(c, y, in.x + label_w + 2, sel ? TUI_R_SELECTED : TUI_R_KEY, -1, btn);
            tui_put_str(c, y, in.x + label_w + 2 + 14, TUI_R_DIM, in.w - label_w - 16, "Enter starts from any field");
            continue;
        }
        tui_put_str(c, y, in.x + 1, sel ? TUI_R_HEADING : TUI_R_LABEL, label_w, LABELS[f]);
        char val[TUI_MODEL_PATH + 8];
        if (sel && s->editing) snprintf(val, sizeof val, "%s_", s->edit);
        else field_text(s, f, val, sizeof val);
        int vx = in.x + label_w + 2;
        int vw = in.w - label_w - 3;
        bool choice = f == TUI_F_MODEL || f == TUI_F_BACKEND || f == TUI_F_PRECISION || f == TUI_F_MODE ||
                      f == TUI_F_SCENARIO;
        if (sel && !s->editing) {
            char boxed[TUI_MODEL_PATH + 16];
            snprintf(boxed, sizeof boxed, choice ? "< %s >" : "  %s  ", val);
            tui_put_str(c, y, vx, TUI_R_SELECTED, vw, boxed);
        } else {
            tui_put_str(c, y, vx + 2, sel ? TUI_R_SELECTED : TUI_R_VALUE, vw - 2, val);
        }
        /* a note to the right when there is room */
        int used = vx + tui_utf8_len(val) + 6;
        const char *note = NULL;
        char buf[128];
        if (f == TUI_F_MODEL && s->model < s->n_models) note = s->model_desc[s->model];
        else if (f == TUI_F_MODEL) note = "type the path of an .onnx file (e to edit)";
        else if (f == TUI_F_THREADS && !s->threads) note = "one per core / worker";
        else if (f == TUI_F_MIN_QUERIES && s->scenario == ZN_SCENARIO_OFFLINE) note = "samples";
        else if (f == TUI_F_TARGET_QPS && s->scenario == ZN_SCENARIO_OFFLINE) note = "expected samples/s";
        else if (f == TUI_F_SCENARIO) {
            snprintf(buf, sizeof buf, "metric: %s",
                     s->scenario == ZN_SCENARIO_SINGLE_STREAM  ? "p90 latency"
                     : s->scenario == ZN_SCENARIO_MULTI_STREAM ? "p99 latency"
                     : s->scenario == ZN_SCENARIO_SERVER       ? "QPS under the bound"
                                                               : "samples/s");
            note = buf;
        }
        if (note && used + 4 < in.x + in.w) tui_put_str(c, y, used, TUI_R_DIM, in.x + in.w - used, note);
    }
    char desc[512];
    tui_setup_describe(s, desc, sizeof desc);
    int yd = in.y + in.h - 3;
    tui_put_str(c, yd, in.x + 1, TUI_R_LABEL, 5, "Run: ");
    /* the description over two lines, broken at a space */
    int w = in.w - 7, len = (int)strlen(desc), take = len;
    if (len > w) {
        take = w;
        while (take > w / 2 && desc[take] != ' ') take--;
    }
    tui_put_str(c, yd, in.x + 6, TUI_R_VALUE, take, desc);
    if (take < len) tui_put_str(c, yd + 1, in.x + 6, TUI_R_VALUE, w, desc + take + (desc[take] == ' '));
    yd++;
    if (s->error[0]) tui_put_str(c, yd + 1, in.x + 1, TUI_R_BAD, in.w - 2, s->error);
    else if (s->editing)
        tui_put_str(c, yd + 1, in.x + 1, TUI_R_DIM, in.w - 2, "typing: Enter to accept, Esc to cancel");
}
