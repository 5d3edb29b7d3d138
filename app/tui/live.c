/* live.c — the live screen: the running scenario as the UI samples it on each tick
 * (screens.h). The view keeps its own rolling history for the sparklines; it never calls into
 * the run: app.c hands it snapshots. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/tui/screens.h"

void tui_series_push(tui_series *s, double v) {
    if (s->n == TUI_SERIES) {
        memmove(s->v, s->v + 1, (TUI_SERIES - 1) * sizeof s->v[0]);
        s->n--;
    }
    s->v[s->n++] = v;
}

int tui_live_init(tui_live_view *v) {
    memset(v, 0, sizeof *v);
    v->tick_ms = 250;
    v->hist = malloc(sizeof *v->hist);
    if (!v->hist) return -1;
    zn_hist_init(v->hist);
    return 0;
}

void tui_live_free(tui_live_view *v) {
    free(v->hist);
    v->hist = NULL;
    if (v->have_prof) zn_profile_free(&v->prof);
    v->have_prof = false;
    if (v->have_gpu) zn_gpu_profile_free(&v->gpu);
    v->have_gpu = false;
}

void tui_live_begin(tui_live_view *v, const char *title, const zn_test_settings *ts) {
    zn_hist *h = v->hist;
    bool paused = v->paused;
    int tick = v->tick_ms;
    if (v->have_prof) zn_profile_free(&v->prof);
    if (v->have_gpu) zn_gpu_profile_free(&v->gpu);
    memset(v, 0, sizeof *v);
    v->hist = h;
    if (h) zn_hist_init(h);
    v->paused = paused;
    v->tick_ms = tick;
    snprintf(v->title, sizeof v->title, "%s", title);
    v->settings = *ts;
    snprintf(v->stage, sizeof v->stage, "starting");
}

void tui_live_gpu(tui_live_view *v, zn_gpu_profile *gp) {
    if (!gp) return;
    if (v->paused) {
        zn_gpu_profile_free(gp);
        return;
    }
    if (v->have_gpu) zn_gpu_profile_free(&v->gpu);
    v->gpu = *gp;
    memset(gp, 0, sizeof *gp);
    v->have_gpu = true;
}

void tui_live_sample(tui_live_view *v, const zn_live_snapshot *snap, const zn_hist *h, zn_profile *prof) {
    bool final = snap->state == ZN_RUN_DONE;
    if (v->paused && !final) {
        if (prof) zn_profile_free(prof);
        return;
    }
    v->snap = *snap;
    v->have_snap = true;
    if (h && v->hist) *v->hist = *h;
    if (prof) {
        if (v->have_prof) zn_profile_free(&v->prof);
        v->prof = *prof;
        memset(prof, 0, sizeof *prof);
        v->have_prof = true;
    }
    /* one point per tick of the measured part (none during warm-up) */
    if (snap->state == ZN_RUN_RUNNING || snap->state == ZN_RUN_DRAINING || (final && snap->queries_done > 0)) {
        if (snap->queries_done > 0) {
            tui_series_push(&v->p50, (double)snap->p50_ns);
            tui_series_push(&v->p90, (double)snap->p90_ns);
            tui_series_push(&v->p99, (double)snap->p99_ns);
        }
        tui_series_push(&v->qps, snap->qps);
        tui_series_push(&v->lag, (double)snap->issue_lag_p99_ns);
        tui_series_push(&v->depth, (double)snap->queue_depth);
        v->last_sample_s = snap->elapsed_s;
    }
}

double tui_live_time_left(const tui_live_view *v) {
    if (!v->have_snap) return -1;
    const zn_live_snapshot *s = &v->snap;
    if (s->state == ZN_RUN_DONE) return 0;
    if (s->state != ZN_RUN_RUNNING && s->state != ZN_RUN_DRAINING) return -1;
    double min_s = (double)v->settings.min_duration_ms / 1000.0;
    double left = min_s - s->elapsed_s;
    if (left < 0) left = 0;
    if (s->min_queries_progress < 1) {
        double rate = s->qps > 0 ? s->qps : s->qps_total;
        if (rate <= 0) return -1;
        /* progress is in queries (samples offline): scale by what is left of the count */
        double total = (double)v->settings.min_query_count;
        double left_q = total * (1 - s->min_queries_progress);
        if (v->settings.scenario == ZN_SCENARIO_OFFLINE && s->queries_done > 0)
            rate *= (double)s->samples_done / (double)s->queries_done;
        double lq = left_q / rate;
        if (lq > left) left = lq;
    }
    if (v->settings.max_duration_ms > 0) {
        double cap = (double)v->settings.max_duration_ms / 1000.0 - s->elapsed_s;
        if (cap < 0) cap = 0;
        if (left > cap) left = cap;
    }
    return left;
}

tui_action tui_live_key(tui_live_view *v, int key) {
    switch (key) {
    case 'p':
    case ' ': v->paused = !v->paused; break;
    case '+':
    case '=': v->tick_ms = v->tick_ms >= 2000 ? 5000 : v->tick_ms >= 1000 ? 2000 : v->tick_ms >= 500 ? 1000
                                                 : v->tick_ms >= 250 ? 500 : v->tick_ms >= 100 ? 250 : 100;
        break;
    case '-':
    case '_': v->tick_ms = v->tick_ms <= 100 ? 50 : v->tick_ms <= 250 ? 100 : v->tick_ms <= 500 ? 250
                                                 : v->tick_ms <= 1000 ? 500 : v->tick_ms <= 2000 ? 1000 : 2000;
        break;
    case 's':
    case 'x': return v->finished ? TUI_ACT_NONE : TUI_ACT_STOP;
    case TUI_KEY_ENTER:
    case 'r': return v->finished ? TUI_ACT_RESULTS : TUI_ACT_NONE;
    default: break;
    }
    return TUI_ACT_NONE;
}

/* ---- drawing ---------------------------------------------------------------------------------- */

static void metric_line(tui_canvas *c, int y, int x, int w, const char *label, const char *value,
                        const tui_series *s, bool from_zero) {
    tui_put_str(c, y, x, TUI_R_LABEL, 6, label);
    tui_put_right(c, y, x + 17, TUI_R_VALUE, value);
    if (w > 20) tui_draw_sparkline(c, y, x + 19, w - 19, s->v, s->n, from_zero, TUI_R_SPARK);
}

static void draw_metrics(tui_canvas *c, tui_rect r, const tui_live_view *v) {
    tui_box(c, r, TUI_R_BORDER, "Latency & throughput");
    tui_rect in = tui_inner(r);
    in.x += 1;
    in.w -= 2;
    if (in.h < 1 || in.w < 10) return;
    const zn_live_snapshot *s = &v->snap;
    char a[32], b[32];
    int y = in.y;
    /* state line */
    if (!v->have_snap || s->state == ZN_RUN_IDLE) {
        tui_printf(c, y, in.x, v->failed ? TUI_R_BAD : TUI_R_WARN, in.w, "%s %s", v->stage, v->detail);
    } else {
        tui_role role = s->state == ZN_RUN_DONE ? TUI_R_GOOD : s->state == ZN_RUN_WARMUP ? TUI_R_WARN : TUI_R_VALUE;
        if (s->stop_requested && s->state != ZN_RUN_DONE) role = TUI_R_WARN;
        int n = tui_printf(c, y, in.x, role, in.w, "%s%s", zn_run_state_name(s->state),
                           s->stop_requested && s->state != ZN_RUN_DONE ? " (stopping)" : "");
        double left = tui_live_time_left(v);
        if (left >= 0 && s->state != ZN_RUN_DONE)
            tui_printf(c, y, in.x + n + 1, TUI_R_NORMAL, in.w - n - 1, " %.1f s  ~%.1f s left", s->elapsed_s, left);
        else
            tui_printf(c, y, in.x + n + 1, TUI_R_NORMAL, in.w - n - 1, " %.1f s", s->elapsed_s);
    }
    if (v->paused) tui_put_right(c, y, in.x + in.w, TUI_R_WARN, "PAUSED");
    y++;
    if (y < in.y + in.h) metric_line(c, y++, in.x, in.w, "p50", tui_fmt_ns((double)s->p50_ns, a, 32), &v->p50, false);
    if (y < in.y + in.h) metric_line(c, y++, in.x, in.w, "p90", tui_fmt_ns((double)s->p90_ns, a, 32), &v->p90, false);
    if (y < in.y + in.h) metric_line(c, y++, in.x, in.w, "p99", tui_fmt_ns((double)s->p99_ns, a, 32), &v->p99, false);
    snprintf(b, sizeof b, "%.1f", s->qps);
    if (y < in.y + in.h) metric_line(c, y++, in.x, in.w, "QPS", b, &v->qps, true);
    if (v->settings.scenario == ZN_SCENARIO_SERVER) {
        if (y < in.y + in.h)
            metric_line(c, y++, in.x, in.w, "lag99", tui_fmt_ns((double)s->issue_lag_p99_ns, a, 32), &v->lag, true);
        snprintf(b, sizeof b, "%lld", (long long)s->queue_depth);
        if (y < in.y + in.h) metric_line(c, y++, in.x, in.w, "queue", b, &v->depth, true);
    }
    if (y < in.y + in.h)
        tui_printf(c, y++, in.x, TUI_R_DIM, in.w, "%s done  %s issued  %s samples  avg %.1f qps",
                   tui_fmt_count((double)s->queries_done, a, 32), tui_fmt_count((double)s->queries_issued, b, 32),
                   tui_fmt_count((double)s->samples_done, (char[32]){0}, 32), s->qps_total);
}

/* One validity rule's line: name, a progress bar, the numbers. */
static void rule_line(tui_canvas *c, int y, tui_rect in, const char *name, double frac, tui_role role,
                      const char *text) {
    int name_w = 13, text_w = tui_utf8_len(text);
    int bar_w = in.w - name_w - text_w - 2;
    if (bar_w > 24) bar_w = 24;
    tui_put_str(c, y, in.x, TUI_R_LABEL, name_w, name);
    if (bar_w >= 4) {
        tui_draw_progress(c, y, in.x + name_w, bar_w, frac, role);
        tui_put_str(c, y, in.x + name_w + bar_w + 1, frac >= 1 ? TUI_R_GOOD : TUI_R_NORMAL, in.w - name_w - bar_w - 1, text);
    } else {
        tui_put_str(c, y, in.x + name_w, frac >= 1 ? TUI_R_GOOD : TUI_R_NORMAL, in.w - name_w, text);
    }
}

static void draw_validity(tui_canvas *c, tui_rect r, const tui_live_view *v) {
    tui_box(c, r, TUI_R_BORDER, "Validity rules");
    tui_rect in = tui_inner(r);
    in.x += 1;
    in.w -= 2;
    if (in.h < 1 || in.w < 20) return;
    const zn_live_snapshot *s = &v->snap;
    const zn_test_settings *ts = &v->settings;
    bool perf = ts->mode == ZN_TEST_PERFORMANCE;
    char t[96], a[32], b[32];
    int y = in.y, end = in.y + in.h;
    double min_s = (double)ts->min_duration_ms / 1000.0;
    if (y < end && perf) {
        snprintf(t, sizeof t, "%.1f/%.1f s", s->elapsed_s < min_s ? s->elapsed_s : min_s, min_s);
        rule_line(c, y++, in, "min duration", s->min_duration_progress, TUI_R_BAR, t);
    }
    if (y < end) {
        bool samples = ts->scenario == ZN_SCENARIO_OFFLINE || ts->mode == ZN_TEST_ACCURACY;
        int64_t want = perf ? ts->min_query_count : ts->total_sample_count;
        int64_t have = samples ? s->samples_done : s->queries_done;
        snprintf(t, sizeof t, "%s/%s%s", tui_fmt_count((double)have, a, 32), tui_fmt_count((double)want, b, 32),
                 samples ? " smp" : "");
        rule_line(c, y++, in, perf ? "min queries" : "samples", s->min_queries_progress, TUI_R_BAR, t);
    }
    int64_t pct_ns = 0;
    double pct = ts->target_latency_percentile > 0 ? ts->target_latency_percentile : 90;
    if (v->hist && zn_hist_count(v->hist)) pct_ns = zn_hist_percentile(v->hist, pct);
    if (y < end && perf && ts->scenario != ZN_SCENARIO_OFFLINE) {
        tui_put_str(c, y, in.x, TUI_R_LABEL, 13, "latency");
        if (ts->scenario == ZN_SCENARIO_SERVER && ts->target_latency_ns > 0) {
            bool ok = pct_ns <= ts->target_latency_ns;
            tui_printf(c, y, in.x + 13, !s->queries_done ? TUI_R_DIM : ok ? TUI_R_GOOD : TUI_R_BAD, in.w - 13,
                       "p%g %s %s bound %s", pct, tui_fmt_ns((double)pct_ns, a, 32), ok ? "<=" : ">",
                       tui_fmt_ns((double)ts->target_latency_ns, b, 32));
        } else {
            tui_printf(c, y, in.x + 13, TUI_R_NORMAL, in.w - 13, "p%g %s (no bound)", pct,
                       tui_fmt_ns((double)pct_ns, a, 32));
        }
        y++;
    }
    if (y < end && perf && ts->scenario != ZN_SCENARIO_OFFLINE) {
        int64_t need;
        if (ts->scenario == ZN_SCENARIO_SERVER) {
            int64_t over = v->hist ? (int64_t)zn_hist_count_above(v->hist, ts->target_latency_ns) : 0;
            need = zn_early_stopping_min_passing(over, pct, 0.99) + over;
        } else {
            need = zn_early_stopping_min_passing(1, pct, 0.99) + 1;
        }
        double frac = need > 0 ? (double)s->queries_done / (double)need : 1;
        snprintf(t, sizeof t, "%s/%s q", tui_fmt_count((double)s->queries_done, a, 32),
                 tui_fmt_count((double)need, b, 32));
        rule_line(c, y++, in, "early stop", frac > 1 ? 1 : frac, TUI_R_BAR, t);
    }
    if (y < end && ts->max_duration_ms > 0) {
        double mx = (double)ts->max_duration_ms / 1000.0;
        snprintf(t, sizeof t, "%.0f s cap", mx);
        rule_line(c, y++, in, "max duration", s->elapsed_s / mx, TUI_R_DIM, t);
    }
    if (y < end) {
        double left = tui_live_time_left(v);
        if (s->state == ZN_RUN_DONE) tui_put_str(c, y, in.x, TUI_R_GOOD, in.w, "stop rules reached: run finished");
        else if (s->stop_requested) tui_put_str(c, y, in.x, TUI_R_WARN, in.w, "stopping early: the result will be INVALID");
        else if (left >= 0) tui_printf(c, y, in.x, TUI_R_VALUE, in.w, "time left   ~%.1f s", left);
        else tui_put_str(c, y, in.x, TUI_R_DIM, in.w, "time left   (after warm-up)");
    }
}

static void draw_nodes(tui_canvas *c, tui_rect r, const tui_live_view *v) {
    tui_box(c, r, TUI_R_BORDER, "Top nodes by time");
    tui_rect in = tui_inner(r);
    in.x += 1;
    in.w -= 2;
    if (in.h < 1 || in.w < 20) return;
    if (!v->have_prof || v->prof.n_nodes == 0 || v->prof.total_ns == 0) {
        tui_put_str(c, in.y, in.x, TUI_R_DIM, in.w, v->have_prof ? "no node timings yet" : "per-node timing starts with the run");
        return;
    }
    /* CUDA runs: the node's GPU time per run next to the host's mean */
    bool gpu = v->have_gpu && v->gpu.runs > 0 && in.w >= 40;
    int op_w = in.w >= 60 ? 16 : 10, mean_w = 10, share_w = 6, gpu_w = gpu ? 10 : 0;
    int name_w = in.w - share_w - op_w - mean_w - gpu_w - 3;
    tui_put_str(c, in.y, in.x, TUI_R_HEADING, share_w, " share");
    tui_put_str(c, in.y, in.x + share_w + 1, TUI_R_HEADING, name_w, "node");
    tui_put_str(c, in.y, in.x + share_w + 2 + name_w, TUI_R_HEADING, op_w, "op");
    tui_put_right(c, in.y, in.x + in.w, TUI_R_HEADING, "mean");
    if (gpu) tui_put_right(c, in.y, in.x + in.w - mean_w, TUI_R_HEADING, "gpu");
    for (int i = 0; i < v->prof.n_nodes && i < in.h - 1; i++) {
        const zn_profile_node *n = &v->prof.nodes[i];
        int y = in.y + 1 + i;
        char a[32], sh[16];
        double share = v->prof.total_ns ? (double)n->total_ns / (double)v->prof.total_ns : 0;
        snprintf(sh, sizeof sh, "%5.1f%%", share * 100);
        tui_put_str(c, y, in.x, TUI_R_VALUE, share_w, sh);
        /* long names (encoder.layer.11.attention...) keep their distinctive end */
        int len = tui_utf8_len(n->name);
        if (len > name_w && name_w > 4) {
            const char *tail = n->name + strlen(n->name);
            for (int k = 0; k < name_w - 1 && tail > n->name; k++) tail--;
            tui_put_ch(c, y, in.x + share_w + 1, c->utf8 ? 0x2026 : '~', TUI_R_DIM);
            tui_put_str(c, y, in.x + share_w + 2, TUI_R_NORMAL, name_w - 1, tail);
        } else {
            tui_put_str(c, y, in.x + share_w + 1, TUI_R_NORMAL, name_w, n->name);
        }
        tui_put_str(c, y, in.x + share_w + 2 + name_w, TUI_R_DIM, op_w, n->op);
        tui_put_right(c, y, in.x + in.w, TUI_R_NORMAL, tui_fmt_ns(n->count ? (double)n->total_ns / (double)n->count : 0, a, 32));
        const zn_gpu_node *g = gpu ? zn_gpu_profile_node(&v->gpu, n->name) : NULL;
        if (g && g->count) tui_put_right(c, y, in.x + in.w - mean_w, TUI_R_VALUE, tui_fmt_ns(g->per_run_ns, a, 32));
    }
}

void tui_live_draw(tui_canvas *c, tui_rect r, tui_live_view *v) {
    if (r.h < 6 || r.w < 20) return;
    /* title line */
    tui_put_str(c, r.y, r.x + 1, TUI_R_VALUE, r.w - 2, v->title[0] ? v->title : "no run yet: set one up (1) and press Enter");
    int body_y = r.y + 1, body_h = r.h - 1;
    int top_h = body_h * 11 / 20;
    if (top_h < 9) top_h = body_h >= 16 ? 9 : body_h / 2;
    int bot_h = body_h - top_h;
    int left_w = r.w / 2;
    /* the histogram */
    tui_rect hb = {body_y, r.x, top_h, left_w};
    char title[96];
    if (v->hist && zn_hist_count(v->hist))
        snprintf(title, sizeof title, "Latency histogram (%llu queries)", (unsigned long long)zn_hist_count(v->hist));
    else
        snprintf(title, sizeof title, "Latency histogram");
    tui_box(c, hb, TUI_R_BORDER, title);
    tui_rect hin = tui_inner(hb);
    hin.x += 1;
    hin.w -= 2;
    tui_draw_histogram(c, hin, v->hist);
    draw_metrics(c, (tui_rect){body_y, r.x + left_w, top_h, r.w - left_w}, v);
    draw_validity(c, (tui_rect){body_y + top_h, r.x, bot_h, left_w}, v);
    draw_nodes(c, (tui_rect){body_y + top_h, r.x + left_w, bot_h, r.w - left_w}, v);
}
