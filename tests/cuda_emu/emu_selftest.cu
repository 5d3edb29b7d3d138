/* emu_selftest.cu — checks of the CUDA emulation itself (make test-emu builds it only there, through
 * launch_transform.pl like the kernels): that what the kernels rely on behaves as on a GPU, and that
 * what a GPU leaves undefined is caught rather than quietly computed.
 *
 *   shuffles      __shfl_xor/_sync/_up/_down with widths, against the PTX rules worked by hand
 *   barriers      a shared-memory tree reduction over 2-D blocks; exited threads count as arrived
 *   faults        a shuffle naming an exited lane, a deadlock, too much dynamic shared memory
 *   copies        a copy in the wrong direction or past an allocation fails with invalid value
 *   capture       work recorded between Begin/EndCapture runs only on launch; cudaMalloc inside
 *                 a capture fails and invalidates it; deferred execution until synchronisation
 *
 * Prints (on stderr, beside the emulation's own lines) one line per failed check and exits 1 if
 * any failed. Not here: the engine's kernels (tests/test_cuda.c runs them), the libraries
 * (emu_libs.cpp, reached through test_cuda's cases).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "emu-selftest: FAILED %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            failures++;                                                           \
        }                                                                         \
    } while (0)

/* ---- kernels ---- */

// out: (4, 32): the four shuffles of each lane's value lane * 10
__global__ void shuffles_kernel(int *out) {
    const int lane = threadIdx.x, v = lane * 10;
    out[lane] = __shfl_xor_sync(0xffffffffu, v, 5);         /* lane ^ 5 */
    out[32 + lane] = __shfl_sync(0xffffffffu, v, 3, 8);     /* lane 3 of each 8-lane segment */
    out[64 + lane] = __shfl_up_sync(0xffffffffu, v, 2, 16); /* lane - 2 within 16, else own */
    out[96 + lane] = __shfl_down_sync(0xffffffffu, v, 4);   /* lane + 4, else own */
}

// out[b] = sum of x over block b's (bx, by) threads, through a shared-memory tree
__global__ void block_sum_kernel(float *out, const float *x) {
    __shared__ float sh[256];
    const int t = threadIdx.y * blockDim.x + threadIdx.x, n = blockDim.x * blockDim.y;
    sh[t] = x[blockIdx.x * n + t];
    __syncthreads();
    for (int h = n / 2; h > 0; h /= 2) {
        if (t < h) sh[t] += sh[t + h];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = sh[0];
}

// threads past `live` return at once; the others still meet at barriers
__global__ void early_exit_kernel(int *out, int live) {
    __shared__ int sh[64];
    const int t = threadIdx.x;
    if (t >= live) return;
    sh[t] = t;
    __syncthreads();
    out[t] = sh[(t + 1) % live];
}

// lanes 16..31 exit; the rest shuffle with a full mask: undefined, so a fault
__global__ void exited_lane_kernel(int *out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}

// half the block waits at __syncthreads, the other half at a __syncwarp of its warp with a lane
// of the first half: nobody can go on
__global__ void deadlock_kernel(int *out) {
    if (threadIdx.x < 16) __syncthreads();
    else __syncwarp();
    out[threadIdx.x] = 1;
}

__global__ void dynamic_smem_kernel(int *out) {
    extern __shared__ __align__(16) unsigned char buf[];
    buf[threadIdx.x] = (unsigned char)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = buf[(threadIdx.x + 1) % blockDim.x];
}

__global__ void add_one_kernel(int *x, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] += 1;
}

/* ---- checks ---- */

static void test_shuffles(void) {
    int *d, h[128];
    cudaMalloc((void **)&d, sizeof h);
    shuffles_kernel<<<1, 32>>>(d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    for (int l = 0; l < 32; l++) {
        CHECK(h[l] == (l ^ 5) * 10, "xor lane %d: %d", l, h[l]);
        CHECK(h[32 + l] == ((l & ~7) + 3) * 10, "idx width 8 lane %d: %d", l, h[32 + l]);
        int up = (l % 16) >= 2 ? l - 2 : l;
        CHECK(h[64 + l] == up * 10, "up width 16 lane %d: %d", l, h[64 + l]);
        int down = l + 4 <= 31 ? l + 4 : l;
        CHECK(h[96 + l] == down * 10, "down lane %d: %d", l, h[96 + l]);
    }
    cudaFree(d);
}

static void test_barriers(void) {
    enum { BX = 16, BY = 8, BLOCKS = 5, N = BX * BY * BLOCKS };
    float hx[N], hy[BLOCKS], *x, *y;
    for (int i = 0; i < N; i++) hx[i] = (float)(i % 97) - 40.0f;
    cudaMalloc((void **)&x, sizeof hx);
    cudaMalloc((void **)&y, sizeof hy);
    cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice);
    block_sum_kernel<<<BLOCKS, dim3(BX, BY)>>>(y, x);
    cudaMemcpy(hy, y, sizeof hy, cudaMemcpyDeviceToHost);
    for (int b = 0; b < BLOCKS; b++) {
        float want = 0;
        for (int i = 0; i < BX * BY; i++) want += hx[b * BX * BY + i];
        CHECK(hy[b] == want, "block %d sum %g, want %g", b, hy[b], want);
    }
    int *o, ho[64];
    cudaMalloc((void **)&o, sizeof ho);
    early_exit_kernel<<<1, 64>>>(o, 40);
    CHECK(cudaDeviceSynchronize() == cudaSuccess, "early exit: exited threads must count as arrived");
    cudaMemcpy(ho, o, sizeof ho, cudaMemcpyDeviceToHost);
    for (int t = 0; t < 40; t++) CHECK(ho[t] == (t + 1) % 40, "early exit thread %d: %d", t, ho[t]);
    cudaFree(x);
    cudaFree(y);
    cudaFree(o);
}

static void test_faults(void) {
    int *o;
    cudaMalloc((void **)&o, 64 * sizeof(int));
    fprintf(stderr, "emu-selftest: the next three cuda-emu lines are expected\n");
    exited_lane_kernel<<<1, 32>>>(o);
    CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure, "a shuffle naming exited lanes must fault");
    deadlock_kernel<<<1, 32>>>(o);
    CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure, "a deadlock must be reported");
    dynamic_smem_kernel<<<1, 64, 64 << 10>>>(o); /* above the 48 KiB default without opting in */
    CHECK(cudaGetLastError() == cudaErrorInvalidValue, "64 KiB of dynamic shared memory without opting in");
    CHECK(cudaFuncSetAttribute(dynamic_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 << 10) ==
              cudaSuccess, "opting in to 64 KiB");
    dynamic_smem_kernel<<<1, 64, 64 << 10>>>(o);
    CHECK(cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess, "64 KiB after opting in");
    int h[64];
    cudaMemcpy(h, o, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[63] == 0 && h[5] == 6, "dynamic shared memory contents");
    cudaFree(o);
}

static void test_copies(void) {
    int *d, h[16] = {0};
    cudaMalloc((void **)&d, sizeof h);
    fprintf(stderr, "emu-selftest: the next two cuda-emu lines are expected\n");
    CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue, "wrong direction");
    cudaGetLastError();
    CHECK(cudaMemcpy(d, h, sizeof h + 4, cudaMemcpyHostToDevice) == cudaErrorInvalidValue, "past the allocation");
    cudaGetLastError();
    CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyDefault) == cudaSuccess, "cudaMemcpyDefault");
    cudaFree(d);
}

static void test_streams_and_capture(void) {
    enum { N = 1000 };
    int *d, *pinned;
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaMalloc((void **)&d, N * sizeof(int));
    cudaHostAlloc((void **)&pinned, N * sizeof(int), cudaHostAllocPortable);
    for (int i = 0; i < N; i++) pinned[i] = i;
    cudaMemcpyAsync(d, pinned, N * sizeof(int), cudaMemcpyHostToDevice, s);
    add_one_kernel<<<4, 128, 0, s>>>(d, N);
    cudaMemcpyAsync(pinned, d, N * sizeof(int), cudaMemcpyDeviceToHost, s);
    CHECK(pinned[7] == 7, "work must wait for the synchronisation (deferred like a GPU's)");
    cudaStreamSynchronize(s);
    CHECK(pinned[7] == 8, "after synchronising: %d", pinned[7]);

    cudaGraph_t g;
    cudaGraphExec_t exec;
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess, "begin capture");
    add_one_kernel<<<4, 128, 0, s>>>(d, N);
    cudaMemcpyAsync(pinned, d, N * sizeof(int), cudaMemcpyDeviceToHost, s);
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess, "end capture");
    size_t nodes = 0;
    cudaGraphGetNodes(g, NULL, &nodes);
    CHECK(nodes == 2, "captured %zu nodes, want 2", nodes);
    cudaStreamSynchronize(s);
    CHECK(pinned[7] == 8, "captured work must not run: %d", pinned[7]);
    cudaGraphInstantiate(&exec, g, 0);
    cudaGraphLaunch(exec, s);
    cudaGraphLaunch(exec, s);
    cudaStreamSynchronize(s);
    CHECK(pinned[7] == 10, "two replays: %d, want 10", pinned[7]);

    fprintf(stderr, "emu-selftest: the next cuda-emu line is expected\n");
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    void *p;
    CHECK(cudaMalloc(&p, 16) == cudaErrorStreamCaptureUnsupported, "cudaMalloc inside a capture");
    cudaGraph_t bad;
    CHECK(cudaStreamEndCapture(s, &bad) == cudaErrorStreamCaptureInvalidated && !bad, "invalidated capture");
    cudaGetLastError();
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(g);
    cudaFreeHost(pinned);
    cudaFree(d);
    cudaStreamDestroy(s);
}

int main(void) {
    test_shuffles();
    test_barriers();
    test_faults();
    test_copies();
    test_streams_and_capture();
    fprintf(stderr, "emu-selftest: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
