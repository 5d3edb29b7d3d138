/* gemm_bench.c — sgemm throughput of zn_sgemm against OpenBLAS, side by side in one run.
 *
 * For each case (M=128 with K,N in {768, 3072}, and 1024^3) and thread count (1 and 2 by
 * default), alternates Zenith and the peer for --reps rounds and prints the median GFLOP/s
 * of each and the ratio. Zenith runs twice: packing B per call ("zenith") and with B packed
 * ahead of time ("zenith-pk", the path constant weights take). OpenBLAS is the peer when built
 * with -DZN_WITH_OPENBLAS and -lopenblas; otherwise the peer column is the reference GEMM.
 * OpenBLAS runs with OPENBLAS_THREAD_TIMEOUT=4 (set here unless given) so its idle threads do
 * not spin on the cores Zenith's pool then needs. A benchmark, not a test: it asserts nothing.
 *
 *   gemm_bench [--reps N] [--threads 1,2] [--json FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/ref_gemm.h"
#include "kernels/cpu/threadpool.h"

#ifdef ZN_WITH_OPENBLAS
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
#define PEER "openblas"
#else
#define PEER "ref"
#endif

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct bcase {
    int64_t M, N, K;
} bcase;

/* seconds of one call, repeated until >= 20 ms have passed (per-call time) */
static double time_zenith(zn_threadpool *pool, zn_gemm_args *a) {
    int iters = 0;
    double t0 = now_s(), t;
    do {
        zn_sgemm(pool, a);
        iters++;
        t = now_s() - t0;
    } while (t < 0.02);
    return t / iters;
}

static double time_peer(zn_threadpool *pool, const bcase *c, const float *A, const float *B,
                        float *C) {
    int iters = 0;
    double t0 = now_s(), t;
    do {
#ifdef ZN_WITH_OPENBLAS
        (void)pool;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->M, (int)c->N, (int)c->K,
                    1.0f, A, (int)c->K, B, (int)c->N, 0.0f, C, (int)c->N);
#else
        zn_ref_sgemm(pool, false, false, c->M, c->N, c->K, 1.0f, A, c->K, B, c->N, 0.0f, C, c->N);
#endif
        iters++;
        t = now_s() - t0;
    } while (t < 0.02);
    return t / iters;
}

int main(int argc, char **argv) {
#ifdef ZN_WITH_OPENBLAS
    /* OpenBLAS's idle workers spin for a long while after each call and would take the second
     * core from Zenith's workers in the next measurement: make them sleep at once. OpenBLAS
     * reads this when it loads, so set it and start again. */
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
        execv("/proc/self/exe", argv);
    }
#endif
    int reps = 7;
    int thread_list[4] = {1, 2}, n_threads = 2;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_threads = 0;
            for (char *s = strtok(argv[++i], ","); s && n_threads < 4; s = strtok(NULL, ","))
                thread_list[n_threads++] = atoi(s);
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--reps N] [--threads 1,2] [--json FILE]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    const bcase cases[] = {
        {128, 768, 768}, {128, 3072, 768}, {128, 768, 3072}, {128, 3072, 3072}, {1024, 1024, 1024},
    };
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    FILE *jf = json ? fopen(json, "w") : NULL;
    if (json && !jf) {
        fprintf(stderr, "gemm_bench: cannot write %s\n", json);
        return 1;
    }
    if (jf) fprintf(jf, "{\"path\": \"%s\", \"peer\": \"%s\", \"results\": [\n",
                    zn_gemm_path_name(ZN_GEMM_PATH_AUTO), PEER);
    printf("sgemm GFLOP/s, medians of %d side-by-side rounds, path %s, peer %s\n", reps,
           zn_gemm_path_name(ZN_GEMM_PATH_AUTO), PEER);
    printf("%-20s %3s %10s %10s %10s %8s %8s\n", "case (MxNxK)", "thr", "zenith", "zenith-pk",
           PEER, "ratio", "ratio-pk");
    int first = 1;
    for (int ti = 0; ti < n_threads; ti++) {
        int thr = thread_list[ti];
        zn_threadpool *pool = zn_threadpool_new(thr);
#ifdef ZN_WITH_OPENBLAS
        openblas_set_num_threads(thr);
#endif
        for (int ci = 0; ci < n_cases; ci++) {
            const bcase *c = &cases[ci];
            float *A = malloc(sizeof(float) * (size_t)(c->M * c->K));
            float *B = malloc(sizeof(float) * (size_t)(c->K * c->N));
            float *C = malloc(sizeof(float) * (size_t)(c->M * c->N));
            double *tz = malloc(sizeof(double) * (size_t)reps * 3);
            if (!A || !B || !C || !tz || !pool) {
                fprintf(stderr, "gemm_bench: out of memory\n");
                return 1;
            }
            for (int64_t i = 0; i < c->M * c->K; i++) A[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
            for (int64_t i = 0; i < c->K * c->N; i++) B[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
            zn_gemm_packed *pb = zn_gemm_pack_b(false, c->K, c->N, B, c->N);
            zn_gemm_args a = {.M = c->M, .N = c->N, .K = c->K, .alpha = 1.0f, .beta = 0.0f,
                              .A = A, .lda = c->K, .B = B, .ldb = c->N, .C = C, .ldc = c->N};
            zn_gemm_args ap = a;
            ap.packed_b = pb;
            double *t1 = tz, *t2 = tz + reps, *t3 = tz + 2 * reps;
            time_zenith(pool, &a); /* warm-up: buffers, caches, threads */
            time_peer(pool, c, A, B, C);
            for (int r = 0; r < reps; r++) {
                t1[r] = time_zenith(pool, &a);
                t2[r] = time_zenith(pool, &ap);
                t3[r] = time_peer(pool, c, A, B, C);
            }
            double fl = 2.0 * (double)c->M * (double)c->N * (double)c->K * 1e-9;
            double gz = fl / median(t1, reps), gp = fl / median(t2, reps), go = fl / median(t3, reps);
            char name[64];
            snprintf(name, sizeof name, "%lldx%lldx%lld", (long long)c->M, (long long)c->N,
                     (long long)c->K);
            printf("%-20s %3d %10.1f %10.1f %10.1f %8.2f %8.2f\n", name, thr, gz, gp, go, gz / go,
                   gp / go);
            if (jf) {
                fprintf(jf, "%s  {\"case\": \"%s\", \"threads\": %d, \"zenith_gflops\": %.2f, "
                            "\"zenith_prepacked_gflops\": %.2f, \"peer_gflops\": %.2f}",
                        first ? "" : ",\n", name, thr, gz, gp, go);
                first = 0;
            }
            fflush(stdout);
            zn_gemm_packed_free(pb);
            free(A);
            free(B);
            free(C);
            free(tz);
        }
        zn_threadpool_free(pool);
    }
    if (jf) {
        fprintf(jf, "\n]}\n");
        fclose(jf);
    }
    return 0;
}
