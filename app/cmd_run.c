/* cmd_run.c — `zenith-bench run`: compile a model and benchmark it headless.
 *
 * Loads the model (zoo or ONNX), binds shapes, compiles, builds a seeded synthetic sample set,
 * then issues single-stream queries until both --duration and --min-queries are met (or
 * Ctrl-C), and prints the latency distribution and throughput.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "suites/samples.h"

typedef struct run_opts {
    cli_model_opts model;
    zn_compile_config cfg;
    double duration_ms;
    long min_queries;
    long warmup;
    uint64_t seed;
    bool quiet;
} run_opts;

static void run_usage(FILE *f) {
    fputs("usage: zenith-bench run --model NAME|FILE.onnx [options]\n"
          "\n"
          "  --model NAME|FILE      a built-in model (see `zenith-bench models`) or an ONNX file\n"
          "  --backend B            auto | cpu | cuda                      (default auto)\n"
          "  --precision P          fp32 | fp16 | bf16                     (default fp32)\n"
          "  --mode M               default | reduce-overhead | max-autotune\n"
          "  --threads N            worker threads per session (default: all cores)\n"
          "  --batch N              bind the batch dim (default 1)\n"
          "  --shape INPUT:DIMS     bind an input's shape, e.g. input_ids:1x128 (repeatable)\n"
          "  --duration T           minimum run time, with units: 500ms, 5s, 1m (default 3s)\n"
          "  --min-queries N        minimum number of queries (default 10)\n"
          "  --warmup N             untimed queries first (default 2)\n"
          "  --seed N               seed for weights of zoo models and synthetic inputs (default 42)\n"
          "  -q, --quiet            no progress on stderr\n",
          f);
}

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != 0) return 0;
    if (*i + 1 >= argc) {
        *val = NULL;
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

static int parse_run_opts(int argc, char **argv, run_opts *o) {
    memset(o, 0, sizeof *o);
    o->cfg = zn_compile_config_default();
    o->duration_ms = 3000;
    o->min_queries = 10;
    o->warmup = 2;
    o->seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        long n;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            run_usage(stdout);
            return -1;
        }
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            o->quiet = true;
            continue;
        }
#define VALUE(name) ((r = opt_value(argc, argv, &i, name, &v)) != 0)
#define NEED(name) \
    if (r < 0) return cli_usage_error("see zenith-bench run --help", "%s needs a value", name)
        if (VALUE("--model")) {
            NEED("--model");
            o->model.model = v;
        } else if (VALUE("--backend")) {
            NEED("--backend");
            int b = zn_backend_parse(v);
            if (b < 0) return cli_usage_error("use auto, cpu or cuda", "unknown backend '%s'", v);
            o->cfg.backend = (zn_backend)b;
        } else if (VALUE("--precision")) {
            NEED("--precision");
            int p = zn_precision_parse(v);
            if (p < 0) return cli_usage_error("use fp32, fp16 or bf16", "unknown precision '%s'", v);
            o->cfg.precision = (zn_precision)p;
        } else if (VALUE("--mode")) {
            NEED("--mode");
            int m = zn_mode_parse(v);
            if (m < 0) return cli_usage_error("use default, reduce-overhead or max-autotune", "unknown mode '%s'", v);
            o->cfg.mode = (zn_mode)m;
        } else if (VALUE("--threads")) {
            NEED("--threads");
            if (cli_parse_long(v, 1, 1024, &n))
                return cli_usage_error("give a whole number from 1 to 1024", "bad --threads value '%s'", v);
            o->cfg.threads = (int)n;
        } else if (VALUE("--batch")) {
            NEED("--batch");
            if (cli_parse_long(v, 1, 65536, &n))
                return cli_usage_error("give a whole number from 1 to 65536", "bad --batch value '%s'", v);
            o->model.batch = (int)n;
        } else if (VALUE("--shape")) {
            NEED("--shape");
            if (o->model.n_shapes >= CLI_MAX_SHAPES)
                return cli_usage_error(NULL, "too many --shape options (at most %d)", CLI_MAX_SHAPES);
            if (cli_parse_shape_arg(v, &o->model.shapes[o->model.n_shapes]))
                return cli_usage_error("write it as INPUT:DIMS with positive dims, e.g. --shape input_ids:1x128",
                                       "bad --shape value '%s'", v);
            o->model.n_shapes++;
        } else if (VALUE("--duration")) {
            NEED("--duration");
            if (cli_parse_duration_ms(v, &o->duration_ms))
                return cli_usage_error("give a time with a unit, e.g. 500ms, 5s or 2m", "bad --duration value '%s'", v);
        } else if (VALUE("--min-queries")) {
            NEED("--min-queries");
            if (cli_parse_long(v, 1, 1000000000L, &n))
                return cli_usage_error("give a whole number of at least 1", "bad --min-queries value '%s'", v);
            o->min_queries = n;
        } else if (VALUE("--warmup")) {
            NEED("--warmup");
            if (cli_parse_long(v, 0, 1000000L, &n))
                return cli_usage_error("give a whole number of at least 0", "bad --warmup value '%s'", v);
            o->warmup = n;
        } else if (VALUE("--seed")) {
            NEED("--seed");
            if (cli_parse_long(v, 0, 0x7fffffffL, &n))
                return cli_usage_error("give a whole number from 0 to 2147483647", "bad --seed value '%s'", v);
            o->seed = (uint64_t)n;
        } else {
            return cli_usage_error("see zenith-bench run --help", "unknown option '%s'", argv[i]);
        }
#undef VALUE
#undef NEED
    }
    if (!o->model.model)
        return cli_usage_error("name one: zenith-bench run --model resnet50 (see zenith-bench models)",
                               "no model given");
    o->model.seed = o->seed;
    return 0;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *v, long n, double p) {
    long k = (long)ceil(p / 100.0 * (double)n) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return v[k];
}

static void print_summary(const run_opts *o, const zn_plan *plan) {
    const zn_compile_summary *s = zn_plan_summary(plan);
    char a[32], b[32], w[32], f[32];
    printf("model      %s\n", o->model.model);
    for (int i = 0; i < zn_plan_num_inputs(plan); i++) {
        zn_io_info io = zn_plan_input(plan, i);
        printf("input      %s: %s[", io.name, zn_dtype_name(io.dtype));
        for (int d = 0; d < io.rank; d++) printf("%s%lld", d ? "," : "", (long long)io.dims[d]);
        printf("]\n");
    }
    printf("compile    %s backend, %s, mode %s, %d threads, %.1f ms\n", zn_backend_name(s->backend),
           zn_precision_name(s->precision), zn_mode_name(s->mode), s->threads, s->compile_ms);
    printf("graph      %d nodes -> %d after passes, %s per run, weights %s\n", s->nodes_before, s->nodes_after,
           cli_flops(s->flops, f, sizeof f), cli_bytes((double)s->weight_bytes, w, sizeof w));
    printf("memory     arena %s planned vs %s naive (%d in place)\n",
           cli_bytes((double)s->planned_peak_bytes, a, sizeof a), cli_bytes((double)s->naive_bytes, b, sizeof b),
           s->inplace_count);
}

int cmd_run(int argc, char **argv) {
    run_opts o;
    int rc = parse_run_opts(argc, argv, &o);
    if (rc != 0) return rc < 0 ? ZN_EXIT_OK : rc;

    zn_graph *g = NULL;
    zn_plan *plan = NULL;
    zn_session *sess = NULL;
    zn_sample_set *samples = NULL;
    double *lat = NULL;
    zn_view *outs = NULL;
    rc = ZN_EXIT_MODEL;
    if (cli_load_model(&o.model, &g) != ZN_OK) {
        cli_print_error(NULL);
        goto done;
    }
    if (zn_compile(g, &o.cfg, &plan) != ZN_OK) {
        cli_print_error("compile");
        goto done;
    }
    print_summary(&o, plan);
    fflush(stdout);
    rc = ZN_EXIT_FAIL;
    if (zn_samples_synthetic(plan, 4, o.seed, &samples) != ZN_OK || zn_session_new(plan, &sess) != ZN_OK) {
        cli_print_error(NULL);
        goto done;
    }
    int n_out = zn_plan_num_outputs(plan);
    outs = calloc((size_t)n_out, sizeof *outs);
    long cap = 1 << 16;
    lat = malloc(sizeof(double) * (size_t)cap);
    if (!outs || !lat) {
        fprintf(stderr, "error: out of memory\n");
        goto done;
    }
    cli_install_signal_handlers();
    int n_in = zn_samples_num_inputs(samples);
    for (long q = 0; q < o.warmup && !cli_interrupted; q++) {
        for (int k = 0; k < n_out; k++) outs[k].data = NULL;
        if (zn_session_run(sess, zn_samples_get(samples, q), n_in, outs, n_out) != ZN_OK) {
            cli_print_error("run");
            goto done;
        }
    }
    long n = 0;
    bool tty = isatty(2) && !o.quiet;
    double start = now_ns(), last_print = start, busy = 0;
    while (!cli_interrupted) {
        double elapsed_ms = (now_ns() - start) / 1e6;
        if (elapsed_ms >= o.duration_ms && n >= o.min_queries) break;
        if (n == cap) {
            double *p = realloc(lat, sizeof(double) * (size_t)cap * 2);
            if (!p) break;
            lat = p;
            cap *= 2;
        }
        for (int k = 0; k < n_out; k++) outs[k].data = NULL;
        double t0 = now_ns();
        if (zn_session_run(sess, zn_samples_get(samples, n), n_in, outs, n_out) != ZN_OK) {
            cli_print_error("run");
            goto done;
        }
        double t1 = now_ns();
        lat[n++] = t1 - t0;
        busy += t1 - t0;
        if (!o.quiet && t1 - last_print > (tty ? 2.5e8 : 5e9)) {
            fprintf(stderr, tty ? "\r  %ld queries, %.1f s" : "  %ld queries, %.1f s\n", n, (t1 - start) / 1e9);
            last_print = t1;
        }
    }
    double wall = now_ns() - start;
    if (tty) fputs("\r\033[K", stderr);
    if (n == 0) {
        fprintf(stderr, "error: interrupted before any query completed\n");
        rc = ZN_EXIT_INTERRUPTED;
        goto done;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    double mean = busy / (double)n;
    int64_t batch = zn_plan_input(plan, 0).rank > 0 ? zn_plan_input(plan, 0).dims[0] : 1;
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    printf("queries    %ld in %.2f s (single-stream, batch %lld)%s\n", n, wall / 1e9, (long long)batch,
           cli_interrupted ? ", interrupted" : "");
    printf("latency    min %s  median %s  p90 %s  p99 %s  max %s  mean %s\n", cli_duration_ns(lat[0], b1, 32),
           cli_duration_ns(percentile(lat, n, 50), b2, 32), cli_duration_ns(percentile(lat, n, 90), b3, 32),
           cli_duration_ns(percentile(lat, n, 99), b4, 32), cli_duration_ns(lat[n - 1], b5, 32),
           cli_duration_ns(mean, b6, 32));
    double flops = zn_plan_summary(plan)->flops;
    printf("throughput %.2f queries/s, %.2f samples/s, %.2f GFLOP/s\n", (double)n / (wall / 1e9),
           (double)(n * batch) / (wall / 1e9), flops / percentile(lat, n, 50));
    rc = cli_interrupted ? ZN_EXIT_INTERRUPTED : ZN_EXIT_OK;
done:
    free(lat);
    free(outs);
    zn_session_free(sess);
    zn_samples_free(samples);
    zn_plan_free(plan);
    zn_graph_free(g);
    return rc;
}
