// cupti_smoke.cu — the CUPTI collector (profiling/cupti.h) on a real GPU, apart from the CUDA
// backend: toy kernels launched between the observer's hooks, eagerly and as a captured CUDA
// graph, then the profile checked: every kernel tied to its step, per-run split present, no
// records dropped, and the collector's overhead per launch. Not part of `make test` (it needs
// a GPU); build and run from the repository root after `make`:
//
//   nvcc -O2 -std=c++17 -I. -arch=sm_90 tests/gpu/cupti_smoke.cu build/libzenith.a
//        -L/usr/local/cuda/lib64 -lcupti -lcublasLt -lcublas -lcudnn -lcjson -lpng16 -o build/cupti_smoke
//   (one command line)
//   build/cupti_smoke            (exit 0: all checks passed)
//   nsys profile build/cupti_smoke   (must print that CUPTI is taken, and exit 0)
//
// What it is not: a test of the backend's kernels or of the runtime's own hooks.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <cuda_runtime.h>

extern "C" {
#include "engine/zenith.h"
#include "profiling/cupti.h"
#include "profiling/gpu_trace.h"
}

// ---- kernels ------------------------------------------------------------------------------------

// x: (n,) -> x * a + b, `iters` times (a few microseconds at n = 1 << 16)
__global__ void axpb(float *x, int n, float a, float b, int iters) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    for (int k = 0; k < iters; k++) v = v * a + b;
    x[i] = v;
}

template <int N> __global__ void scale(float *x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= (float)N * 0.5f;
}

// ---- the fake session: the plan's three steps, launched between the observer's hooks ----------

static const int kN = 1 << 16;
static int g_fail;

#define CHECK(cond, ...)                                           \
    do {                                                           \
        if (!(cond)) {                                             \
            std::printf("FAIL %s:%d: ", __FILE__, __LINE__);       \
            std::printf(__VA_ARGS__);                              \
            std::printf("\n");                                     \
            g_fail = 1;                                            \
        }                                                          \
    } while (0)
#define CUDA(x) CHECK((x) == cudaSuccess, "%s", #x)

// One run: H2D, step 0 (axpb), step 1 (scale<2> twice + a memset), step 2 (scale<3>), D2H.
static void body(const zn_observer *o, cudaStream_t s, float *d, float *h) {
    cudaMemcpyAsync(d, h, kN * sizeof(float), cudaMemcpyHostToDevice, s);
    dim3 grid((kN + 255) / 256), block(256);
    o->step_begin(o->user, nullptr, 0);
    axpb<<<grid, block, 0, s>>>(d, kN, 1.0001f, 0.5f, 64);
    o->step_end(o->user, nullptr, 0);
    o->step_begin(o->user, nullptr, 1);
    scale<2><<<grid, block, 0, s>>>(d, kN);
    cudaMemsetAsync(d + kN - 16, 0, 16 * sizeof(float), s);
    scale<2><<<grid, block, 0, s>>>(d, kN);
    o->step_end(o->user, nullptr, 1);
    o->step_begin(o->user, nullptr, 2);
    scale<3><<<grid, block, 0, s>>>(d, kN);
    o->step_end(o->user, nullptr, 2);
    cudaMemcpyAsync(h, d, kN * sizeof(float), cudaMemcpyDeviceToHost, s);
}

static double now_us() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static zn_plan *three_step_plan() {
    // relu(relu(relu(x))): three steps named s0, s1, s2 (compiled for the CPU: only names matter)
    zn_graph *g = zn_graph_new("smoke");
    zn_dim d = {4, -1};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, &d);
    int a = zn_graph_op(g, ZN_OP_RELU, "s0", 1, &x);
    int b = zn_graph_op(g, ZN_OP_RELU, "s1", 1, &a);
    int c = zn_graph_op(g, ZN_OP_RELU, "s2", 1, &b);
    zn_graph_mark_output(g, c);
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CPU;
    cfg.no_passes = true;
    zn_plan *p = nullptr;
    if (zn_compile(g, &cfg, &p) != ZN_OK) std::printf("compile: %s\n", zn_last_error()->message);
    zn_graph_free(g);
    return p;
}

static void print_profile(const zn_gpu_profile &p) {
    std::printf("runs %lld  kernels %lld  copies %lld  memsets %lld  graph %lld\n", (long long)p.runs,
                (long long)p.kernel_count, (long long)p.memcpy_count, (long long)p.memset_count,
                (long long)p.graph_records);
    std::printf("attributed %lld  run-level %lld  unattributed %lld  stale %lld  late %lld  dropped %lld\n",
                (long long)p.attributed, (long long)p.run_level, (long long)p.unattributed, (long long)p.stale,
                (long long)p.late, (long long)p.dropped);
    std::printf("per run: h2d %.1f us  compute %.1f us (busy %.1f us)  d2h %.1f us\n", p.h2d.mean / 1e3,
                p.compute.mean / 1e3, p.busy.mean / 1e3, p.d2h.mean / 1e3);
    for (int i = 0; i < p.n_nodes; i++)
        std::printf("  node %-4s count %6lld  %.2f us/run\n", p.nodes[i].name, (long long)p.nodes[i].count,
                    p.nodes[i].per_run_ns / 1e3);
    for (int i = 0; i < p.n_kernels; i++)
        std::printf("  kernel %-24s node %-4s grid %d block %d regs %d calls %lld mean %.2f us\n", p.kernels[i].name,
                    p.kernels[i].node, p.kernels[i].grid[0], p.kernels[i].block[0], p.kernels[i].regs,
                    (long long)p.kernels[i].count, p.kernels[i].mean_ns / 1e3);
}

int main() {
    const int runs = 200;
    zn_plan *plan = three_step_plan();
    if (!plan) return 2;
    cudaStream_t s;
    float *d, *h;
    int n_dev = 0;
    if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev == 0) {
        std::printf("cupti_smoke: no CUDA device here\n");
        return 2;
    }
    CUDA(cudaSetDevice(0));
    CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CUDA(cudaMalloc(&d, kN * sizeof(float)));
    CUDA(cudaMallocHost(&h, kN * sizeof(float)));
    std::memset(h, 0, kN * sizeof(float));
    zn_observer none = {nullptr, nullptr, nullptr, [](void *, const zn_session *, int) {},
                        [](void *, const zn_session *, int) {}};

    // launch cost without CUPTI
    for (int r = 0; r < 20; r++) body(&none, s, d, h);
    CUDA(cudaStreamSynchronize(s));
    double t0 = now_us();
    for (int r = 0; r < runs; r++) {
        body(&none, s, d, h);
        cudaStreamSynchronize(s);
    }
    double bare = (now_us() - t0) / runs;

    zn_cupti *c = nullptr;
    if (zn_cupti_start(plan, 1, &c) != ZN_OK) {
        std::printf("CUPTI not collecting: %s (%s)\n", zn_last_error()->message, zn_cupti_note());
        std::printf("(expected under nsys / ncu; elsewhere a failure)\n");
        return 0;
    }
    const zn_observer *o = zn_cupti_observer(c, 0, nullptr);

    // warm-up records, then the reset that must drop them
    for (int r = 0; r < 5; r++) {
        o->run_begin(o->user, nullptr);
        body(o, s, d, h);
        cudaStreamSynchronize(s);
        o->run_end(o->user, nullptr, ZN_OK);
    }
    zn_cupti_reset(c);

    // eager runs
    t0 = now_us();
    for (int r = 0; r < runs; r++) {
        o->run_begin(o->user, nullptr);
        body(o, s, d, h);
        cudaStreamSynchronize(s);
        o->run_end(o->user, nullptr, ZN_OK);
        if (r % 50 == 49) zn_cupti_flush(c, false); // as the UI tick does
    }
    double traced = (now_us() - t0) / runs;
    zn_cupti_flush(c, true);
    zn_gpu_profile p;
    CHECK(zn_cupti_collect(c, &p, true) == ZN_OK, "collect");
    std::printf("== eager: %.1f us/run without CUPTI, %.1f us/run with (+%.1f%%)\n", bare, traced,
                100 * (traced - bare) / bare);
    print_profile(p);
    CHECK(p.runs == runs, "runs %lld", (long long)p.runs);
    CHECK(p.kernel_count == 4LL * runs, "kernels %lld", (long long)p.kernel_count);
    CHECK(p.attributed == 5LL * runs, "attributed %lld (4 kernels + 1 memset per run)", (long long)p.attributed);
    CHECK(p.run_level == 2LL * runs, "run-level %lld (the two copies)", (long long)p.run_level);
    CHECK(p.unattributed == 0 && p.dropped == 0 && p.late == 0, "nothing lost");
    const zn_gpu_node *s1 = zn_gpu_profile_node(&p, "s1");
    CHECK(s1 && s1->count == 3LL * runs, "s1: 2 kernels + a memset per run");
    CHECK(p.compute.mean > 0 && p.busy.mean <= p.compute.mean, "compute span covers the busy time");
    CHECK(p.h2d.mean > 0 && p.d2h.mean > 0, "copies timed");
    zn_gpu_profile_free(&p);

    // graph: capture inside the hooks, then replays with the run's hooks only
    zn_cupti_reset(c);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    o->run_begin(o->user, nullptr);
    CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    body(o, s, d, h);
    CUDA(cudaStreamEndCapture(s, &graph));
    CUDA(cudaGraphInstantiate(&exec, graph, 0));
    o->run_end(o->user, nullptr, ZN_OK);
    for (int r = 0; r < runs; r++) {
        o->run_begin(o->user, nullptr);
        CUDA(cudaGraphLaunch(exec, s));
        cudaStreamSynchronize(s);
        o->run_end(o->user, nullptr, ZN_OK);
    }
    zn_cupti_flush(c, true);
    CHECK(zn_cupti_collect(c, &p, true) == ZN_OK, "collect");
    std::printf("== graph replays\n");
    print_profile(p);
    CHECK(p.graph_records == 7LL * runs, "graph records %lld", (long long)p.graph_records);
    CHECK(p.attributed == 5LL * runs, "graph nodes mapped to steps: attributed %lld", (long long)p.attributed);
    CHECK(p.unattributed == 0 && p.dropped == 0, "nothing lost");
    s1 = zn_gpu_profile_node(&p, "s1");
    CHECK(s1 && s1->count == 3LL * runs, "s1 in replays");
    zn_gpu_profile_free(&p);

    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    zn_cupti_stop(c);
    cudaFree(d);
    cudaFreeHost(h);
    cudaStreamDestroy(s);
    zn_plan_free(plan);
    std::printf(g_fail ? "cupti_smoke: FAILED\n" : "cupti_smoke: all checks passed\n");
    return g_fail;
}
