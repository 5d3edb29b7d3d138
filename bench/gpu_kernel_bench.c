/* gpu_kernel_bench.c — single CUDA kernels of Zenith timed on the device: the fused attention
 * (ZnAttention) at BERT/GPT shapes and the fp16 GEMM (ZnLinear through cuBLASLt), for
 * scripts/bench_gpu.py, which times PyTorch's scaled_dot_product_attention and torch.matmul
 * (cuBLAS) on the same shapes the same way and prints them side by side.
 *
 * Each case builds the node as the compiler would hand it to a kernel (fp16 views), lets the
 * registry choose the CUDA kernel (the one a plan would run), prepares it, and times it with the
 * launch cost taken out: CALLS back-to-back runs are captured into one CUDA graph, the graph is
 * replayed until at least 20 ms have passed, and the time per call of each of --reps rounds is
 * kept; the median and the spread (min, max) are reported. A kernel that cannot be captured is
 * timed eagerly instead (said in the "timing" field). Nothing is checked for correctness here
 * (tests/test_cuda.c does that).
 *
 *   gpu_kernel_bench [--reps N] [--cases attention,gemm] [--json FILE]
 *
 * Exit status 0 done, 2 bad usage, 3 no CUDA device (the reason is printed).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/types.h"
#include "kernels/registry.h"

#define CALLS 20       /* kernel runs per captured graph */
#define MAX_REPS 64

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* xorshift: reproducible fp16 data in [-1, 1) */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float next_uniform(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((rng_state * 2685821657736338717ull) >> 40) / 8388608.0f - 1.0f;
}

typedef struct bench_case {
    const char *name;   /* "attention b1 s128 h12 d64 mask" */
    const char *kind;   /* "attention" | "gemm" */
    zn_op op;
    int64_t B, S, H, D; /* attention */
    bool mask, causal;
    int64_t M, N, K;    /* gemm: y (M,N) = x (M,K) W (K,N) */
    const char *act;    /* gemm epilogue: "none" | "gelu" (with a bias) */
} bench_case;

static const bench_case cases[] = {
    {"attention b1 s128 h12 d64 mask", "attention", ZN_OP_ATTENTION, 1, 128, 12, 64, true, false, 0, 0, 0, NULL},
    {"attention b32 s128 h12 d64 mask", "attention", ZN_OP_ATTENTION, 32, 128, 12, 64, true, false, 0, 0, 0, NULL},
    {"attention b1 s512 h12 d64 mask", "attention", ZN_OP_ATTENTION, 1, 512, 12, 64, true, false, 0, 0, 0, NULL},
    {"attention b8 s512 h12 d64 mask", "attention", ZN_OP_ATTENTION, 8, 512, 12, 64, true, false, 0, 0, 0, NULL},
    {"attention b1 s128 h12 d64 causal", "attention", ZN_OP_ATTENTION, 1, 128, 12, 64, false, true, 0, 0, 0, NULL},
    {"attention b32 s128 h12 d64 causal", "attention", ZN_OP_ATTENTION, 32, 128, 12, 64, false, true, 0, 0, 0, NULL},
    {"attention b1 s512 h12 d64 causal", "attention", ZN_OP_ATTENTION, 1, 512, 12, 64, false, true, 0, 0, 0, NULL},
    {"attention b8 s512 h12 d64 causal", "attention", ZN_OP_ATTENTION, 8, 512, 12, 64, false, true, 0, 0, 0, NULL},
    {"gemm 128x768x768", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 128, 768, 768, "none"},
    {"gemm 128x3072x768", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 128, 3072, 768, "none"},
    {"gemm 128x768x3072", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 128, 768, 3072, "none"},
    {"gemm 4096x3072x768", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 4096, 3072, 768, "none"},
    {"gemm 4096x768x3072", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 4096, 768, 3072, "none"},
    {"gemm 8192x8192x8192", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 8192, 8192, 8192, "none"},
    {"linear+bias+gelu 4096x3072x768", "gemm", ZN_OP_LINEAR, 0, 0, 0, 0, false, false, 4096, 3072, 768, "gelu"},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* The node of a case: views (fp16), attributes; host data for the constant weights of a GEMM. */
typedef struct node_buf {
    zn_view in[4], out[1];
    zn_attr attrs[3];
    int n_attrs, n_in;
    void *host_const[4]; /* host data of constant inputs, NULL for activations */
    double flops;
} node_buf;

static zn_view view(int rank, const int64_t *dims) {
    zn_view v;
    memset(&v, 0, sizeof v);
    v.dtype = ZN_F16;
    v.rank = rank;
    for (int d = 0; d < rank; d++) v.dims[d] = dims[d];
    return v;
}

static void *random_f16(int64_t n) {
    uint16_t *p = malloc((size_t)n * 2);
    if (!p) return NULL;
    for (int64_t i = 0; i < n; i++) p[i] = zn_f32_to_f16(next_uniform());
    return p;
}

static void make_node(const bench_case *c, node_buf *b) {
    memset(b, 0, sizeof *b);
    if (c->op == ZN_OP_ATTENTION) {
        int64_t q[3] = {c->B, c->S, c->H * c->D}, m[4] = {c->B, 1, 1, c->S};
        for (int i = 0; i < 3; i++) b->in[i] = view(3, q);
        b->n_in = 3;
        if (c->mask) b->in[b->n_in++] = view(4, m);
        b->out[0] = view(3, q);
        b->attrs[0] = (zn_attr){.name = (char *)"num_heads", .type = ZN_ATTR_INT, .i = c->H};
        b->attrs[1] = (zn_attr){.name = (char *)"scale", .type = ZN_ATTR_FLOAT, .f = 1.0f / sqrtf((float)c->D)};
        b->attrs[2] = (zn_attr){.name = (char *)"causal", .type = ZN_ATTR_INT, .i = c->causal};
        b->n_attrs = 3;
        /* QK^T and PV; causal does about half the work */
        b->flops = 4.0 * c->B * c->H * c->S * c->S * c->D * (c->causal ? 0.5 : 1.0);
    } else {
        int64_t x[2] = {c->M, c->K}, w[2] = {c->K, c->N}, bias[1] = {c->N}, y[2] = {c->M, c->N};
        b->in[0] = view(2, x);
        b->in[1] = view(2, w);
        b->host_const[1] = random_f16(c->K * c->N);
        b->n_in = 2;
        if (strcmp(c->act, "none")) {
            b->in[2] = view(1, bias);
            b->host_const[2] = random_f16(c->N);
            b->n_in = 3;
        }
        b->out[0] = view(2, y);
        b->attrs[0] = (zn_attr){.name = (char *)"activation", .type = ZN_ATTR_STRING, .s = (char *)c->act};
        b->attrs[1] = (zn_attr){.name = (char *)"transB", .type = ZN_ATTR_INT, .i = 0};
        b->n_attrs = 2;
        b->flops = 2.0 * c->M * c->N * c->K;
    }
}

typedef struct result {
    char kernel[64];
    char timing[16];   /* "graph" | "eager" | "" (not run) */
    char error[600];
    double us_median, us_min, us_max;
    double tflops;
} result;

/* Seconds per call: `calls` runs captured once, the graph replayed for >= 20 ms. Falls back to
 * eager launches (and says so) when the kernel cannot be captured. */
static zn_status time_rounds(const zn_kernel_spec *k, const zn_exec_ctx *ex, struct zn_cuda_ctx *cuda, int reps,
                             double *per_call, result *r) {
    void *graph = NULL;
    zn_status st = zn_cuda_capture_begin(cuda);
    for (int i = 0; st == ZN_OK && i < CALLS; i++) st = k->run(ex);
    if (st == ZN_OK) {
        st = zn_cuda_capture_end(cuda, &graph, NULL);
    } else {
        void *junk = NULL;
        zn_cuda_capture_end(cuda, &junk, NULL);
        zn_cuda_graph_free(junk);
    }
    zn_error_clear();
    snprintf(r->timing, sizeof r->timing, "%s", graph ? "graph" : "eager");
    for (int rep = 0; rep < reps; rep++) {
        long calls = 0;
        double t0 = now_s(), t;
        do {
            if (graph) {
                st = zn_cuda_graph_launch(cuda, graph);
                calls += CALLS;
            } else {
                st = k->run(ex);
                calls++;
            }
            if (st == ZN_OK && (calls % (graph ? CALLS * 10 : 200)) == 0) st = zn_cuda_sync(cuda);
            t = now_s() - t0;
        } while (st == ZN_OK && t < 0.02);
        if (st == ZN_OK) st = zn_cuda_sync(cuda);
        if (st != ZN_OK) break;
        per_call[rep] = (now_s() - t0) / (double)calls;
    }
    zn_cuda_graph_free(graph);
    return st;
}

static void run_case(const bench_case *c, struct zn_cuda_ctx *cuda, int reps, result *r) {
    memset(r, 0, sizeof *r);
    node_buf b;
    make_node(c, &b);
    zn_kernel_node node = {.op = c->op, .name = "bench", .attrs = b.attrs, .n_attrs = b.n_attrs,
                           .n_in = b.n_in, .in = b.in, .n_out = 1, .out = b.out, .flags = 0};
    const zn_kernel_spec *cands[8];
    void *dev[5] = {NULL};
    void *scratch = NULL;
    zn_kernel_prep prep = {0};
    const zn_kernel_spec *k = NULL;
    double per_call[MAX_REPS];
    zn_status st;
    /* constants are host memory at prepare time (as the compiler hands them) */
    for (int i = 0; i < b.n_in; i++) b.in[i].data = b.host_const[i];
    if (zn_registry_query(&node, ZN_BACKEND_CUDA, cands, 8) < 1) {
        snprintf(r->error, sizeof r->error, "no CUDA kernel accepts this node");
        goto done;
    }
    k = cands[0];
    snprintf(r->kernel, sizeof r->kernel, "%s", k->name);
    if (k->prepare && (st = k->prepare(&node, &prep)) != ZN_OK) {
        snprintf(r->error, sizeof r->error, "prepare: %s", zn_last_error()->message);
        goto done;
    }
    /* run time: every view on the device; activations random, constants uploaded */
    zn_view din[4], dout[1];
    for (int i = 0; i < b.n_in + 1; i++) {
        zn_view *v = i < b.n_in ? &b.in[i] : &b.out[0];
        size_t bytes = zn_view_bytes(v);
        if ((st = zn_device_alloc(&dev[i], bytes, "a benchmark tensor")) != ZN_OK) {
            snprintf(r->error, sizeof r->error, "%s", zn_last_error()->message);
            goto done;
        }
        void *host = i < b.n_in && b.host_const[i] ? b.host_const[i] : random_f16(zn_view_numel(v));
        if (i == 3 && c->mask) /* padding mask: the last quarter of the keys of odd batches masked */
            for (int64_t bb = 0; bb < c->B; bb++)
                for (int64_t j = 0; j < c->S; j++)
                    ((uint16_t *)host)[bb * c->S + j] = zn_f32_to_f16((bb & 1) && j >= c->S - c->S / 4 ? -10000.0f : 0.0f);
        st = host ? zn_device_upload(dev[i], host, bytes) : ZN_ERR_OUT_OF_MEMORY;
        if (!(i < b.n_in && b.host_const[i])) free(host);
        if (st != ZN_OK) {
            snprintf(r->error, sizeof r->error, "upload: %s", zn_last_error()->message);
            goto done;
        }
        if (i < b.n_in) {
            din[i] = b.in[i];
            din[i].data = dev[i];
        } else {
            dout[0] = b.out[0];
            dout[0].data = dev[i];
        }
    }
    if (prep.scratch_bytes && (st = zn_device_alloc(&scratch, prep.scratch_bytes, "kernel scratch")) != ZN_OK) {
        snprintf(r->error, sizeof r->error, "%s", zn_last_error()->message);
        goto done;
    }
    zn_kernel_node run_node = node;
    run_node.in = din;
    run_node.out = dout;
    zn_exec_ctx ex = {.node = &run_node, .n_in = b.n_in, .in = din, .n_out = 1, .out = dout, .state = prep.state,
                      .scratch = scratch, .pool = NULL, .cuda = cuda};
    for (int w = 0; w < 5; w++)
        if ((st = k->run(&ex)) != ZN_OK) break;
    if (st == ZN_OK) st = zn_cuda_sync(cuda);
    if (st != ZN_OK) {
        snprintf(r->error, sizeof r->error, "run: %s", zn_last_error()->message);
        goto done;
    }
    if ((st = time_rounds(k, &ex, cuda, reps, per_call, r)) != ZN_OK) {
        snprintf(r->error, sizeof r->error, "timing: %s", zn_last_error()->message);
        goto done;
    }
    qsort(per_call, (size_t)reps, sizeof per_call[0], cmp_d);
    r->us_median = 1e6 * (reps % 2 ? per_call[reps / 2] : 0.5 * (per_call[reps / 2 - 1] + per_call[reps / 2]));
    r->us_min = 1e6 * per_call[0];
    r->us_max = 1e6 * per_call[reps - 1];
    r->tflops = b.flops / (r->us_median * 1e-6) / 1e12;
done:
    if (k && k->release && prep.state) k->release(prep.state);
    zn_device_free(scratch);
    for (int i = 0; i < 5; i++) zn_device_free(dev[i]);
    for (int i = 0; i < 4; i++) free(b.host_const[i]);
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

int main(int argc, char **argv) {
    int reps = 7;
    const char *json = NULL, *only = "attention,gemm";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--cases") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--reps N] [--cases attention,gemm] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "gpu_kernel_bench: --reps must be 1 to %d\n", MAX_REPS);
        return 2;
    }
    zn_device_info info;
    if (zn_device_probe(&info) != ZN_OK) {
        fprintf(stderr, "gpu_kernel_bench: no CUDA device: %s\n", zn_last_error()->message);
        return 3;
    }
    struct zn_cuda_ctx *cuda = NULL;
    if (zn_cuda_ctx_new(&cuda) != ZN_OK) {
        fprintf(stderr, "gpu_kernel_bench: %s\n", zn_last_error()->message);
        return 3;
    }
    FILE *jf = json ? fopen(json, "w") : NULL;
    if (json && !jf) {
        fprintf(stderr, "gpu_kernel_bench: cannot write %s\n", json);
        zn_cuda_ctx_free(cuda);
        return 2;
    }
    printf("Zenith CUDA kernels on %s, fp16, %d rounds, %d calls per captured graph\n", info.name, reps, CALLS);
    printf("%-34s %-26s %10s %10s %10s %8s\n", "case", "kernel", "median us", "min us", "max us", "TFLOP/s");
    if (jf) {
        fprintf(jf, "{\"device\": ");
        json_str(jf, info.name);
        fprintf(jf, ", \"dtype\": \"f16\", \"reps\": %d, \"calls_per_graph\": %d, \"results\": [", reps, CALLS);
    }
    int written = 0;
    for (int i = 0; i < N_CASES; i++) {
        const bench_case *c = &cases[i];
        if (!strstr(only, c->kind)) continue;
        result r;
        run_case(c, cuda, reps, &r);
        if (r.error[0]) printf("%-34s %-26s not run: %s\n", c->name, r.kernel[0] ? r.kernel : "-", r.error);
        else
            printf("%-34s %-26s %10.2f %10.2f %10.2f %8.1f%s\n", c->name, r.kernel, r.us_median, r.us_min, r.us_max,
                   r.tflops, strcmp(r.timing, "graph") ? " (eager)" : "");
        fflush(stdout);
        if (jf) {
            fprintf(jf, "%s\n  {\"case\": ", written++ ? "," : "");
            json_str(jf, c->name);
            fprintf(jf, ", \"kind\": \"%s\", \"B\": %lld, \"S\": %lld, \"H\": %lld, \"D\": %lld, \"mask\": %s, "
                        "\"causal\": %s, \"M\": %lld, \"N\": %lld, \"K\": %lld, \"activation\": \"%s\", \"kernel\": ",
                    c->kind, (long long)c->B, (long long)c->S, (long long)c->H, (long long)c->D,
                    c->mask ? "true" : "false", c->causal ? "true" : "false", (long long)c->M, (long long)c->N,
                    (long long)c->K, c->act ? c->act : "");
            json_str(jf, r.kernel);
            fprintf(jf, ", \"timing\": \"%s\", \"error\": ", r.timing);
            json_str(jf, r.error);
            fprintf(jf, ", \"us_median\": %.4f, \"us_min\": %.4f, \"us_max\": %.4f, \"tflops\": %.3f}", r.us_median,
                    r.us_min, r.us_max, r.tflops);
        }
    }
    if (jf) {
        fprintf(jf, "\n]}\n");
        fclose(jf);
    }
    zn_cuda_ctx_free(cuda);
    return 0;
}
