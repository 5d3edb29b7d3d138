/* cmd_run.c — `zenith-bench run` (and `zenith-bench --report out.md ...`): a headless
 * benchmark run. Parses the options, drives the runner (runner.c) on the main thread while a
 * progress thread reads the live snapshot, prints the summary, and writes the run record and
 * the reports. Ctrl-C stops the scenario early; the record is still written, marked INVALID
 * with the reason.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "reports/charts.h"
#include "reports/metrics.h"
#include "reports/sweep.h"
#include "runner.h"
#include "runs.h"

#define SWEEP_MAX 8 /* values per swept option */

/* A comma list given for a sweepable option: "--batch 1,8,32". */
typedef struct sweep_list {
    int n;
    char values[SWEEP_MAX][32];
} sweep_list;

typedef struct run_cli {
    zn_runner_opts r;
    const char *report, *json, *mlperf_dir, *metrics, *csv;
    bool quiet;
    bool mlperf;
    sweep_list batch, threads, precision, qps; /* n == 0: not swept */
} run_cli;

static void run_usage(FILE *f) {
    fputs("usage: zenith-bench run --model NAME|FILE.onnx [options]\n"
          "\n"
          "model and compile\n"
          "  --model NAME|FILE        a built-in model (`zenith-bench models`) or an ONNX file\n"
          "  --backend B              auto | cpu | cuda                    (default auto)\n"
          "  --precision P            fp32 | tf32 | fp16 | bf16 (tf32, fp16, bf16: CUDA)\n"
          "  --mode M                 default | reduce-overhead | max-autotune\n"
          "  --threads N              threads per session (default: cores / workers)\n"
          "  --batch N                samples' batch dim (default 1)\n"
          "  --shape INPUT:DIMS       bind an input's shape, e.g. input_ids:1x128 (repeatable)\n"
          "  --seed N                 weights of zoo models, synthetic inputs, schedule (default 42)\n"
          "scenario (MLPerf LoadGen semantics)\n"
          "  --scenario S             single-stream | multi-stream | server | offline\n"
          "  --test-mode M            performance | accuracy | find-peak  (default performance;\n"
          "                           find-peak searches the highest server QPS meeting the bound)\n"
          "  --duration T             minimum duration, with units: 500ms, 10s, 2m\n"
          "  --max-duration T         stop after this long whatever the other rules say\n"
          "  --min-queries N          minimum queries (offline: samples)\n"
          "  --max-queries N          stop after this many queries\n"
          "  --target-qps Q           server: Poisson arrival rate; offline: expected samples/s\n"
          "  --latency-bound T        server: the bound at the percentile (default 100ms)\n"
          "  --latency-percentile P   percentile of the bound / metric (server 99, single-stream 90)\n"
          "  --samples-per-query N    multi-stream (default 8)\n"
          "  --max-batch N            dynamic batching: samples per engine run (server, offline)\n"
          "  --max-queue-delay T      dynamic batching: longest wait for a batch to fill\n"
          "  --workers N              concurrent sessions (server, offline; default 1)\n"
          "  --warmup N               untimed queries first (default 1)\n"
          "  --mlperf                 MLPerf's official minimums (600 s, 1024+ queries)\n"
          "  --data DIR               reference data (test_data_set folders) for accuracy mode\n"
          "  --no-profile             no per-node timing\n"
          "sweeps\n"
          "  --batch, --threads, --precision and --target-qps take comma lists (--batch 1,8,32):\n"
          "  every combination runs, and --report writes one table and chart across them\n"
          "output\n"
          "  --report FILE.md         markdown report with PNG charts beside it\n"
          "  --metrics FILE.prom      Prometheus text exposition (histogram, counters, per-op time)\n"
          "  --csv FILE.csv           per-query latencies\n"
          "  --json FILE.json         the run record (re-render with `zenith-bench report`)\n"
          "  --mlperf-log DIR         DIR/mlperf_log_summary.txt in LoadGen's layout\n"
          "  -q, --quiet              no progress on stderr\n",
          f);
}

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. 1 matched, 0 not this
 * option, -1 matched without a value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != 0) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

static int bad(const char *opt, const char *v, const char *hint) {
    return cli_usage_error(hint, "bad %s value '%s'", opt, v);
}

static int split_list(const char *v, sweep_list *sl) {
    sl->n = 0;
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof sl->values[0] || sl->n >= SWEEP_MAX) return -1;
        memcpy(sl->values[sl->n], p, len);
        sl->values[sl->n][len] = 0;
        sl->n++;
        p += len + (comma ? 1 : 0);
        if (comma && !*p) return -1;
    }
    return sl->n >= 1 ? 0 : -1;
}

static int check_sweep_value(const char *name, const char *v) {
    long n;
    double d;
    if (!strcmp(name, "--batch") && cli_parse_long(v, 1, 65536, &n)) return bad(name, v, "give whole numbers from 1 to 65536");
    if (!strcmp(name, "--threads") && cli_parse_long(v, 1, 1024, &n)) return bad(name, v, "give whole numbers from 1 to 1024");
    if (!strcmp(name, "--precision") && zn_precision_parse(v) < 0) return bad(name, v, "use fp32, tf32, fp16 or bf16");
    if (!strcmp(name, "--target-qps") && cli_parse_double(v, 1e-3, 1e7, &d)) return bad(name, v, "give positive rates");
    return 0;
}

static int parse_run(int argc, char **argv, run_cli *o) {
    memset(o, 0, sizeof *o);
    o->r.cfg = zn_compile_config_default();
    o->r.model.seed = 42;
    o->r.data_seed = 42;
    o->r.argc = argc;
    o->r.argv = argv;
    /* scenario-dependent defaults are applied after parsing; remember what was given */
    const char *scenario = "single-stream", *mode = "performance";
    const char *duration = NULL, *max_duration = NULL, *min_q = NULL, *max_q = NULL, *qps = NULL, *bound = NULL,
               *pct = NULL, *spq = NULL, *max_batch = NULL, *delay = NULL, *workers = NULL, *warmup = NULL,
               *seed = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return -1;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { o->quiet = true; continue; }
        if (!strcmp(a, "--mlperf")) { o->mlperf = true; continue; }
        if (!strcmp(a, "--no-profile")) { o->r.no_profile = true; continue; }
        static const char *const with_value[] = {
            "--model", "--backend", "--precision", "--mode", "--threads", "--batch", "--shape", "--seed",
            "--scenario", "--test-mode", "--duration", "--max-duration", "--min-queries", "--max-queries",
            "--target-qps", "--latency-bound", "--latency-percentile", "--samples-per-query", "--max-batch",
            "--max-queue-delay", "--workers", "--warmup", "--data", "--report", "--json", "--mlperf-log",
            "--metrics", "--csv"};
        int which = -1, r = 0;
        for (int k = 0; k < (int)(sizeof with_value / sizeof *with_value) && which < 0; k++)
            if ((r = opt_value(argc, argv, &i, with_value[k], &v)) != 0) which = k;
        if (which < 0) return cli_usage_error("see zenith-bench run --help", "unknown option '%s'", a);
        const char *name = with_value[which];
        if (r < 0) return cli_usage_error("see zenith-bench run --help", "%s needs a value", name);
        long n;
        sweep_list *sl = !strcmp(name, "--batch") ? &o->batch : !strcmp(name, "--threads") ? &o->threads
                       : !strcmp(name, "--precision") ? &o->precision : !strcmp(name, "--target-qps") ? &o->qps : NULL;
        if (sl && strchr(v, ',')) {
            if (split_list(v, sl) != 0)
                return cli_usage_error("give at most 8 comma-separated values, e.g. --batch 1,8,32", "bad %s list '%s'",
                                       name, v);
            v = sl->values[0]; /* validated below like a single value; the sweep applies the rest */
            for (int k = 1; k < sl->n; k++) {
                int rc = check_sweep_value(name, sl->values[k]);
                if (rc) return rc;
            }
        }
        if (!strcmp(name, "--model")) o->r.model.model = v;
        else if (!strcmp(name, "--backend")) {
            int b = zn_backend_parse(v);
            if (b < 0) return bad(name, v, "use auto, cpu or cuda");
            o->r.cfg.backend = (zn_backend)b;
        } else if (!strcmp(name, "--precision")) {
            int p = zn_precision_parse(v);
            if (p < 0) return bad(name, v, "use fp32, tf32, fp16 or bf16");
            o->r.cfg.precision = (zn_precision)p;
        } else if (!strcmp(name, "--mode")) {
            int m = zn_mode_parse(v);
            if (m < 0) return bad(name, v, "use default, reduce-overhead or max-autotune");
            o->r.cfg.mode = (zn_mode)m;
        } else if (!strcmp(name, "--threads")) {
            if (cli_parse_long(v, 1, 1024, &n)) return bad(name, v, "give a whole number from 1 to 1024");
            o->r.cfg.threads = (int)n;
        } else if (!strcmp(name, "--batch")) {
            if (cli_parse_long(v, 1, 65536, &n)) return bad(name, v, "give a whole number from 1 to 65536");
            o->r.model.batch = (int)n;
        } else if (!strcmp(name, "--shape")) {
            if (o->r.model.n_shapes >= CLI_MAX_SHAPES)
                return cli_usage_error(NULL, "too many --shape options (at most %d)", CLI_MAX_SHAPES);
            if (cli_parse_shape_arg(v, &o->r.model.shapes[o->r.model.n_shapes]))
                return bad(name, v, "write it as INPUT:DIMS with positive dims, e.g. --shape input_ids:1x128");
            o->r.model.n_shapes++;
        } else if (!strcmp(name, "--scenario")) scenario = v;
        else if (!strcmp(name, "--test-mode")) mode = v;
        else if (!strcmp(name, "--duration")) duration = v;
        else if (!strcmp(name, "--max-duration")) max_duration = v;
        else if (!strcmp(name, "--min-queries")) min_q = v;
        else if (!strcmp(name, "--max-queries")) max_q = v;
        else if (!strcmp(name, "--target-qps")) qps = v;
        else if (!strcmp(name, "--latency-bound")) bound = v;
        else if (!strcmp(name, "--latency-percentile")) pct = v;
        else if (!strcmp(name, "--samples-per-query")) spq = v;
        else if (!strcmp(name, "--max-batch")) max_batch = v;
        else if (!strcmp(name, "--max-queue-delay")) delay = v;
        else if (!strcmp(name, "--workers")) workers = v;
        else if (!strcmp(name, "--warmup")) warmup = v;
        else if (!strcmp(name, "--seed")) seed = v;
        else if (!strcmp(name, "--data")) o->r.data_dir = v;
        else if (!strcmp(name, "--report")) o->report = v;
        else if (!strcmp(name, "--json")) o->json = v;
        else if (!strcmp(name, "--mlperf-log")) o->mlperf_dir = v;
        else if (!strcmp(name, "--metrics")) o->metrics = v;
        else if (!strcmp(name, "--csv")) o->csv = v;
    }
    if (!o->r.model.model)
        return cli_usage_error("name one: zenith-bench run --model resnet50 (see zenith-bench models)", "no model given");

    zn_scenario sc;
    zn_test_mode tm;
    if (zn_scenario_parse(scenario, &sc) != ZN_OK)
        return bad("--scenario", scenario, "use single-stream, multi-stream, server or offline");
    if (zn_test_mode_parse(mode, &tm) != ZN_OK) return bad("--test-mode", mode, "use performance or accuracy");
    zn_test_settings *s = &o->r.settings;
    *s = o->mlperf ? zn_test_settings_mlperf(sc) : zn_test_settings_default(sc);
    s->mode = tm;
    double ms, d;
    long n;
    if (duration) {
        if (cli_parse_duration_ms(duration, &ms)) return bad("--duration", duration, "give a time with a unit, e.g. 500ms, 10s or 2m");
        s->min_duration_ms = (int64_t)ms;
    }
    if (max_duration) {
        if (cli_parse_duration_ms(max_duration, &ms) || ms <= 0)
            return bad("--max-duration", max_duration, "give a positive time with a unit, e.g. 30s");
        s->max_duration_ms = (int64_t)ms;
    }
    if (min_q) {
        if (cli_parse_long(min_q, 1, 1000000000L, &n)) return bad("--min-queries", min_q, "give a whole number of at least 1");
        s->min_query_count = n;
    }
    if (max_q) {
        if (cli_parse_long(max_q, 1, 1000000000L, &n)) return bad("--max-queries", max_q, "give a whole number of at least 1");
        s->max_query_count = n;
    }
    if (qps) {
        if (cli_parse_double(qps, 1e-3, 1e7, &d)) return bad("--target-qps", qps, "give a positive rate, e.g. 100");
        s->target_qps = d;
    }
    if (bound) {
        if (cli_parse_duration_ms(bound, &ms) || ms <= 0) return bad("--latency-bound", bound, "give a time with a unit, e.g. 15ms");
        s->target_latency_ns = (int64_t)(ms * 1e6);
    }
    if (pct) {
        if (cli_parse_double(pct, 1, 99.999, &d)) return bad("--latency-percentile", pct, "give a percentile like 90 or 99");
        s->target_latency_percentile = d;
    }
    if (spq) {
        if (cli_parse_long(spq, 1, 4096, &n)) return bad("--samples-per-query", spq, "give a whole number from 1 to 4096");
        s->samples_per_query = (int)n;
    }
    if (max_batch) {
        if (cli_parse_long(max_batch, 1, 4096, &n)) return bad("--max-batch", max_batch, "give a whole number from 1 to 4096");
        s->max_batch = (int)n;
    }
    if (delay) {
        if (cli_parse_duration_ms(delay, &ms)) return bad("--max-queue-delay", delay, "give a time with a unit, e.g. 2ms");
        s->max_queue_delay_ns = (int64_t)(ms * 1e6);
    }
    if (workers) {
        if (cli_parse_long(workers, 1, 256, &n)) return bad("--workers", workers, "give a whole number from 1 to 256");
        s->n_workers = (int)n;
    }
    if (warmup) {
        if (cli_parse_long(warmup, 0, 1000000L, &n)) return bad("--warmup", warmup, "give a whole number of at least 0");
        s->warmup_queries = n;
    }
    if (seed) {
        if (cli_parse_long(seed, 0, 0x7fffffffL, &n)) return bad("--seed", seed, "give a whole number from 0 to 2147483647");
        o->r.model.seed = (uint64_t)n;
        o->r.data_seed = (uint64_t)n;
        s->schedule_seed = (uint64_t)n;
        s->sample_seed = (uint64_t)n + 1;
    }
    if (s->max_duration_ms && s->min_duration_ms > s->max_duration_ms)
        return cli_usage_error("make --max-duration at least --duration", "--duration is longer than --max-duration");
    if (zn_test_settings_validate(s) != ZN_OK) {
        cli_print_error("settings");
        return ZN_EXIT_USAGE;
    }
    return 0;
}

/* ---- progress and signals ---------------------------------------------------------------- */

static zn_live *g_live;
static volatile int g_interrupted;

static void on_signal(int sig) {
    (void)sig;
    g_interrupted = 1;
    zn_loadgen_request_stop(g_live); /* one atomic store: async-signal-safe */
}

typedef struct progress {
    zn_live *live;
    atomic_int done;
    bool tty;
    const char *stage;
} progress;

static void *progress_main(void *arg) {
    progress *p = arg;
    double last_line = 0;
    while (!atomic_load(&p->done)) {
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (atomic_load(&p->done)) break;
        zn_live_snapshot s;
        zn_live_read(p->live, &s);
        if (s.state == ZN_RUN_IDLE) continue;
        char b50[32], b90[32], b99[32];
        char line[256];
        snprintf(line, sizeof line, "%-10s %6.1f s  %lld queries  %.1f qps  p50 %s  p90 %s  p99 %s", zn_run_state_name(s.state),
                 s.elapsed_s, (long long)s.queries_done, s.qps, cli_duration_ns((double)s.p50_ns, b50, 32),
                 cli_duration_ns((double)s.p90_ns, b90, 32), cli_duration_ns((double)s.p99_ns, b99, 32));
        if (p->tty) {
            fprintf(stderr, "\r\033[K%s", line);
        } else if (s.elapsed_s - last_line >= 5.0) {
            fprintf(stderr, "%s\n", line);
            last_line = s.elapsed_s;
        }
    }
    if (p->tty) fputs("\r\033[K", stderr);
    return NULL;
}

static void on_stage(void *user, const char *stage, const char *detail) {
    progress *p = user;
    if (!strcmp(stage, "note")) fprintf(stderr, "note: %s\n", detail); /* said even with --quiet */
    else if (p) fprintf(stderr, "%s %s ...\n", stage, detail);
}

/* ---- the summary on stdout ------------------------------------------------------------------ */

static void print_results(const zn_record *rec) {
    const zn_record_results *r = &rec->results;
    char a[32], b[32], c[32], d[32], e[32], f[32];
    printf("model      %s (%s), %d nodes after passes, %s/run\n", rec->model.name, rec->compile.backend,
           rec->compile.nodes_after, cli_flops(rec->model.flops_per_run, a, sizeof a));
    printf("memory     arena %s planned vs %s naive\n", cli_bytes((double)rec->compile.planned_peak_bytes, a, 32),
           cli_bytes((double)rec->compile.naive_bytes, b, 32));
    const zn_record_compile *cc = &rec->compile;
    if (!strcmp(cc->backend, "cuda"))
        printf("gpu steps  %d on the GPU, %d on the CPU (no CUDA kernel) with %d copies; %s of weights on the GPU; "
               "CUDA graph %s\n", cc->device_steps, cc->cpu_fallback_steps, cc->copy_steps,
               cli_bytes((double)cc->device_weight_bytes, a, 32), cc->cuda_graph ? "yes" : "no");
    if (!r->present) return;
    printf("scenario   %s, %s, %lld queries (%lld samples) in %.2f s\n", rec->settings.scenario, rec->settings.test_mode,
           (long long)r->query_count, (long long)r->sample_count, (double)r->duration_ns / 1e9);
    printf("latency    min %s  p50 %s  p90 %s  p99 %s  max %s  mean %s\n", cli_duration_ns((double)r->lat_min_ns, a, 32),
           cli_duration_ns((double)r->p50_ns, b, 32), cli_duration_ns((double)r->p90_ns, c, 32),
           cli_duration_ns((double)r->p99_ns, d, 32), cli_duration_ns((double)r->lat_max_ns, e, 32),
           cli_duration_ns((double)r->lat_mean_ns, f, 32));
    printf("throughput %.2f queries/s with harness overhead, %.2f without; %.2f samples/s\n", r->qps_with_overhead,
           r->qps_without_overhead, r->samples_per_second);
    printf("harness    %.0f ns to issue and complete a query (measured before the run)\n", r->harness_overhead_ns);
    if (!strcmp(r->metric_unit, "ns"))
        printf("metric     %s = %s\n", r->metric_name, cli_duration_ns(r->metric_value, a, 32));
    else
        printf("metric     %s = %.2f %s\n", r->metric_name, r->metric_value, r->metric_unit);
    if (r->noisy) printf("warning    noisy run: latency coefficient of variation %.2f (> 0.10)\n", r->cv);
    printf("verdict    %s\n", r->verdict);
    for (int i = 0; i < r->n_rules; i++)
        printf("  %-20s %-4s %s\n", r->rules[i].name, r->rules[i].passed ? "ok" : "FAIL", r->rules[i].detail);
    for (int i = 0; i < r->n_recommendations; i++) printf("  recommendation: %s\n", r->recommendations[i]);
    if (rec->has_profile && rec->profile.n_nodes) {
        printf("top nodes by time:\n");
        for (int i = 0; i < rec->profile.n_nodes && i < 5; i++)
            printf("  %5.1f%%  %-40s %s\n", rec->profile.nodes[i].share * 100, rec->profile.nodes[i].name,
                   rec->profile.nodes[i].op);
    }
    if (rec->has_gpu) { /* CUDA runs (issue 9): the device, its clocks, the kernel trace's summary */
        const zn_gpu_facts *g = &rec->gpu;
        printf("gpu        %s", g->name);
        if (g->nvml && g->samples) printf(", SM %d-%d MHz during the run", g->sm_mhz_min, g->sm_mhz_max);
        printf("; kernel trace: %s\n", g->cupti[0] ? g->cupti : "none");
        if (g->unstable) printf("warning    %s\n", g->warning);
    }
    if (rec->has_gpu_profile) {
        const zn_gpu_profile *p = &rec->gpu_profile;
        printf("gpu/run    H2D %s  compute %s (busy %s)  D2H %s; %lld of %lld device activities tied to nodes, "
               "%lld records dropped\n",
               cli_duration_ns(p->h2d.mean, a, 32), cli_duration_ns(p->compute.mean, b, 32),
               cli_duration_ns(p->busy.mean, c, 32), cli_duration_ns(p->d2h.mean, d, 32), (long long)p->attributed,
               (long long)(p->attributed + p->run_level + p->unattributed), (long long)p->dropped);
        for (int i = 0; i < p->n_nodes && i < 5 && p->nodes[i].total_ns > 0; i++)
            printf("  %5.1f%%  %-40s %s/run on the GPU\n", p->nodes[i].share * 100, p->nodes[i].name,
                   cli_duration_ns(p->nodes[i].per_run_ns, a, 32));
    }
    if (rec->accuracy.present) {
        printf("accuracy   %s\n", rec->accuracy.pass ? "PASS" : "FAIL");
        for (int i = 0; i < rec->accuracy.n_outputs; i++) {
            const zn_accuracy *x = &rec->accuracy.outputs[i].acc;
            printf("  %-24s max abs %.3g  max rel %.3g  cosine %.8f  %s\n", rec->accuracy.outputs[i].name, x->max_abs_err,
                   x->max_rel_err, x->cosine, x->pass ? "PASS" : "FAIL");
        }
    }
}

static int write_outputs(const run_cli *o, const zn_record *rec) {
    int rc = 0;
    if (o->json) {
        if (zn_record_write_json(rec, o->json) != ZN_OK) { cli_print_error("--json"); rc = 1; }
        else fprintf(stderr, "wrote %s\n", o->json);
    }
    if (o->report) {
        if (zn_record_write_report(rec, o->report) != ZN_OK) { cli_print_error("--report"); rc = 1; }
        else fprintf(stderr, "wrote %s (charts beside it)\n", o->report);
    }
    if (o->metrics) {
        if (zn_record_write_prometheus(rec, o->metrics) != ZN_OK) { cli_print_error("--metrics"); rc = 1; }
        else fprintf(stderr, "wrote %s\n", o->metrics);
    }
    if (o->csv) {
        if (zn_record_write_latency_csv(rec, o->csv) != ZN_OK) { cli_print_error("--csv"); rc = 1; }
        else fprintf(stderr, "wrote %s\n", o->csv);
    }
    if (o->mlperf_dir) {
        if (zn_record_write_mlperf_summary(rec, o->mlperf_dir) != ZN_OK) { cli_print_error("--mlperf-log"); rc = 1; }
        else fprintf(stderr, "wrote %s/mlperf_log_summary.txt\n", o->mlperf_dir);
    }
    return rc;
}

/* Fails fast on unwritable output paths, before spending minutes on a run. */
static int check_writable(const char *path, const char *opt) {
    if (!path) return 0;
    char probe[1100];
    snprintf(probe, sizeof probe, "%s.probe.%d", path, (int)getpid());
    FILE *f = fopen(probe, "w");
    if (!f) {
        fprintf(stderr, "error: %s %s: cannot write there (%s)\n", opt, path, strerror(errno));
        fprintf(stderr, "hint: choose a path in a folder that exists and that you can write\n");
        return ZN_EXIT_USAGE;
    }
    fclose(f);
    unlink(probe);
    return 0;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* "out.json" + "batch=8 threads=2" -> "out-batch8-threads2.json" */
static void sweep_path(const char *path, const char *label, char *buf, size_t cap) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path) : strlen(path);
    char lab[96];
    size_t n = 0;
    for (const char *p = label; *p && n + 1 < sizeof lab; p++)
        if (*p == ' ') lab[n++] = '-';
        else if (*p != '=') lab[n++] = *p;
    lab[n] = 0;
    snprintf(buf, cap, "%.*s-%s%s", (int)stem, path, lab, dot && stem < strlen(path) ? path + stem : "");
}

/* Every combination of the swept options, one run each; one report across them. */
static int run_sweep(run_cli *o) {
    sweep_list one = {1, {""}};
    const sweep_list *lb = o->batch.n ? &o->batch : &one, *lt = o->threads.n ? &o->threads : &one;
    const sweep_list *lp = o->precision.n ? &o->precision : &one, *lq = o->qps.n ? &o->qps : &one;
    int total = lb->n * lt->n * lp->n * lq->n;
    if (total > ZN_SWEEP_MAX_RUNS)
        return cli_usage_error("sweep fewer values", "the sweep has %d combinations; at most %d", total, ZN_SWEEP_MAX_RUNS);
    zn_record *recs = calloc((size_t)total, sizeof *recs);
    if (!recs) {
        fprintf(stderr, "error: out of memory\n");
        return ZN_EXIT_FAIL;
    }
    install_signals();
    o->r.interrupted = &g_interrupted;
    int n = 0, rc = ZN_EXIT_OK;
    for (int ib = 0; ib < lb->n; ib++)
        for (int it = 0; it < lt->n; it++)
            for (int ip = 0; ip < lp->n; ip++)
                for (int iq = 0; iq < lq->n && !g_interrupted; iq++) {
                    zn_runner_opts r = o->r;
                    if (o->batch.n) r.model.batch = atoi(lb->values[ib]);
                    if (o->threads.n) r.cfg.threads = atoi(lt->values[it]);
                    if (o->precision.n) r.cfg.precision = (zn_precision)zn_precision_parse(lp->values[ip]);
                    if (o->qps.n) r.settings.target_qps = atof(lq->values[iq]);
                    if (!o->quiet) fprintf(stderr, "sweep %d/%d ...\n", n + 1, total);
                    zn_live *live = zn_live_new();
                    if (!live) break;
                    g_live = live;
                    const char *stage_failed = "";
                    zn_status st = zn_runner_run(&r, live, NULL, NULL, &recs[n], &stage_failed);
                    g_live = NULL;
                    zn_live_free(live);
                    if (st != ZN_OK && !recs[n].results.present) {
                        cli_print_error(stage_failed);
                        rc = ZN_EXIT_FAIL;
                    }
                    n++;
                }
    const zn_record *ptrs[ZN_SWEEP_MAX_RUNS];
    for (int i = 0; i < n; i++) ptrs[i] = &recs[i];
    printf("%-36s %12s %12s %12s %12s  %s\n", "configuration", "p50", "p90", "p99", "samples/s", "verdict");
    for (int i = 0; i < n; i++) {
        char label[128], a[32], b[32], c[32];
        zn_sweep_label(ptrs, n, i, label, sizeof label);
        const zn_record_results *res = &recs[i].results;
        printf("%-36s %12s %12s %12s %12.2f  %s\n", label, cli_duration_ns((double)res->p50_ns, a, 32),
               cli_duration_ns((double)res->p90_ns, b, 32), cli_duration_ns((double)res->p99_ns, c, 32),
               res->samples_per_second, zn_record_verdict(&recs[i]));
        if (o->json) {
            char path[1200];
            sweep_path(o->json, label, path, sizeof path);
            if (zn_record_write_json(&recs[i], path) != ZN_OK) {
                cli_print_error("--json");
                rc = ZN_EXIT_FAIL;
            } else {
                fprintf(stderr, "wrote %s\n", path);
            }
        }
        if (strcmp(zn_record_verdict(&recs[i]), "VALID") != 0 && rc == ZN_EXIT_OK) rc = ZN_EXIT_FAIL;
    }
    if (o->report && n > 0) {
        if (zn_sweep_write_report(ptrs, n, o->report) != ZN_OK) {
            cli_print_error("--report");
            rc = ZN_EXIT_FAIL;
        } else {
            fprintf(stderr, "wrote %s (sweep table and chart)\n", o->report);
        }
    }
    for (int i = 0; i < total; i++) zn_record_free(&recs[i]);
    free(recs);
    return g_interrupted ? ZN_EXIT_INTERRUPTED : rc;
}

int cmd_run(int argc, char **argv) {
    run_cli o;
    int rc = parse_run(argc, argv, &o);
    if (rc != 0) return rc < 0 ? ZN_EXIT_OK : rc;
    if ((rc = check_writable(o.json, "--json")) || (rc = check_writable(o.report, "--report")) ||
        (rc = check_writable(o.metrics, "--metrics")) || (rc = check_writable(o.csv, "--csv")))
        return rc;
    if (o.batch.n > 1 || o.threads.n > 1 || o.precision.n > 1 || o.qps.n > 1) return run_sweep(&o);

    zn_live *live = zn_live_new();
    if (!live) {
        fprintf(stderr, "error: out of memory\n");
        return ZN_EXIT_FAIL;
    }
    g_live = live;
    o.r.interrupted = &g_interrupted;
    install_signals();

    progress p = {.live = live, .tty = isatty(2) != 0};
    atomic_init(&p.done, 0);
    pthread_t th;
    bool th_started = !o.quiet && pthread_create(&th, NULL, progress_main, &p) == 0;

    zn_record rec;
    const char *stage_failed = "";
    zn_status st = zn_runner_run(&o.r, live, on_stage, o.quiet ? NULL : &p, &rec, &stage_failed);
    atomic_store(&p.done, 1);
    if (th_started) pthread_join(th, NULL);

    if (st != ZN_OK && st != ZN_ERR_INTERRUPTED && !rec.results.present) {
        cli_print_error(stage_failed);
        rc = (!strcmp(stage_failed, "load") || !strcmp(stage_failed, "compile")) ? ZN_EXIT_MODEL : ZN_EXIT_FAIL;
        /* a run that got as far as compiling still leaves its record */
        if (rec.model.name[0]) write_outputs(&o, &rec);
    } else {
        print_results(&rec);
        if (st == ZN_ERR_INTERRUPTED) fprintf(stderr, "interrupted: %s\n", rec.reason[0] ? rec.reason : "stopped by the user");
        else if (st != ZN_OK) cli_print_error("run");
        int wrc = write_outputs(&o, &rec);
        char saved[1200];
        if (zn_runs_save(&rec, saved, sizeof saved) == ZN_OK) {
            if (!o.quiet) fprintf(stderr, "saved %s\n", saved);
        } else if (!o.quiet) {
            fprintf(stderr, "note: the run was not saved to the runs folder: %s\n", zn_last_error()->message);
        }
        if (st == ZN_ERR_INTERRUPTED) rc = ZN_EXIT_INTERRUPTED;
        else if (st != ZN_OK || strcmp(zn_record_verdict(&rec), "VALID") != 0 ||
                 (rec.accuracy.present && !rec.accuracy.pass))
            rc = rec.accuracy.present && !rec.accuracy.pass ? ZN_EXIT_MISMATCH : ZN_EXIT_FAIL;
        else rc = wrc ? ZN_EXIT_FAIL : ZN_EXIT_OK;
    }
    zn_record_free(&rec);
    g_live = NULL;
    zn_live_free(live);
    return rc;
}
