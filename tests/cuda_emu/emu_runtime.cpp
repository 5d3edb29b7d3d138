/* emu_runtime.cpp — the CUDA runtime API of the emulation: one emulated H100 whose memory is host
 * memory, streams that queue work and run it when the host synchronises, events, and stream
 * capture into graphs that replay the recorded work.
 *
 * Work is deferred, as on a GPU: a launch or async copy only queues on its stream; the queue runs
 * (on the synchronising thread, in order) at cudaStreamSynchronize, cudaDeviceSynchronize, a
 * synchronous copy or memset (the legacy stream's queue), cudaFree and cudaStreamDestroy. So host
 * code that reads a result before synchronising, or rewrites a buffer a queued copy still reads,
 * sees the wrong bytes here as it could on a GPU. Copies from pageable host memory are staged at
 * the call and copies into it run at once, as CUDA does. Non-blocking streams do not wait for the
 * legacy stream (blocking streams are not modelled: the engine creates none).
 *
 * Checked and reported on stderr ("cuda-emu: ..."), each returning the error CUDA would: copies
 * whose direction does not match the pointers or that overrun an allocation, frees of unknown
 * pointers, launch configurations out of range or asking for more dynamic shared memory than the
 * kernel was opted into, a kernel fault (emu_device.cpp; reported at the next synchronisation as
 * cudaErrorLaunchFailure, not sticky), and calls a thread-local capture prohibits (allocation,
 * synchronous copies, synchronising the capturing stream, pageable copies into the graph): the
 * call fails and the capture ends with cudaErrorStreamCaptureInvalidated. New allocations are
 * filled with 0xff bytes (NaN as floats) so that reading memory nothing wrote shows.
 * Not here: the kernels' own execution (emu_device.cpp), cuBLASLt / cuDNN / CUPTI (emu_libs.cpp),
 * unified or managed memory, peer access, more than one device.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_profiler_api.h>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "emu_internal.h"

/* ---- the handles ---- */

struct CUstream_st {
    std::mutex mu; /* the queue and the capture */
    std::deque<zn_emu::work> queue;
    std::mutex exec; /* one thread runs the queue at a time */
    cudaError_t error = cudaSuccess; /* the first execution error since the last synchronisation */
    bool legacy = false;
    CUgraph_st *capture = nullptr;
    bool capture_invalid = false;
};

struct CUgraph_st {
    std::vector<zn_emu::work> nodes;
};

struct CUgraphExec_st {
    std::vector<zn_emu::work> nodes;
};

struct CUevent_st {
    cudaStream_t stream = nullptr; /* where it was last recorded */
    bool recorded = false, done = false;
    double t_ms = 0;
};

namespace zn_emu {

static const size_t TOTAL_MEMORY = (size_t)80 << 30;
static const int MAX_DYNAMIC_SMEM = 227 << 10; /* sharedMemPerBlockOptin of an H100 */
static const int DEFAULT_DYNAMIC_SMEM = 48 << 10;

struct allocation {
    size_t bytes;
    bool device;
};

static std::mutex g_mu; /* allocations, streams, function attributes */
static std::map<uintptr_t, allocation> g_allocs;
static size_t g_device_bytes;
static std::set<cudaStream_t> g_streams;
static std::map<const void *, int> g_max_dyn_smem;
static CUstream_st g_legacy_stream;
static thread_local cudaError_t t_last_error = cudaSuccess;
static thread_local cudaStream_t t_capturing; /* this thread's stream in capture, if any */

void report(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cuda-emu: %s\n", buf);
}

static cudaError_t fail(cudaError_t e) {
    t_last_error = e;
    return e;
}

static cudaStream_t resolve(cudaStream_t s) {
    if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread) return &g_legacy_stream;
    return s;
}

static bool known_stream(cudaStream_t s) {
    if (s == &g_legacy_stream) return true;
    std::lock_guard<std::mutex> l(g_mu);
    return g_streams.count(s) != 0;
}

/* A call the capture in progress on this thread prohibits: the capture is invalidated. */
static bool prohibited_in_capture(const char *call) {
    cudaStream_t s = t_capturing;
    if (!s) return false;
    std::lock_guard<std::mutex> l(s->mu);
    if (s->capture && !s->capture_invalid)
        report("%s during a stream capture (thread-local mode prohibits it): the capture is invalidated", call);
    s->capture_invalid = true;
    return true;
}

bool find_allocation(const void *p, bool *device, size_t *bytes_after) {
    std::lock_guard<std::mutex> l(g_mu);
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return false;
    --it;
    if (a >= it->first + (it->second.bytes ? it->second.bytes : 1)) return false;
    *device = it->second.device;
    *bytes_after = it->first + it->second.bytes - a;
    return true;
}

cudaError_t enqueue(cudaStream_t s, work w, const char *what) {
    s = resolve(s);
    if (!known_stream(s)) {
        report("%s on an unknown or destroyed stream %p", what, (void *)s);
        return fail(cudaErrorInvalidResourceHandle);
    }
    std::lock_guard<std::mutex> l(s->mu);
    if (s->capture) s->capture->nodes.push_back(std::move(w));
    else s->queue.push_back(std::move(w));
    return cudaSuccess;
}

/* Runs s's queue; returns the first execution error since the stream's last synchronisation,
 * and clears it when `take` (a synchronisation of this stream, not a side effect of another call). */
static cudaError_t run_queue(cudaStream_t s, bool take = true) {
    std::lock_guard<std::mutex> x(s->exec);
    for (;;) {
        work w;
        {
            std::lock_guard<std::mutex> l(s->mu);
            if (s->queue.empty()) break;
            w = std::move(s->queue.front());
            s->queue.pop_front();
        }
        cudaError_t e = w();
        if (e != cudaSuccess && s->error == cudaSuccess) s->error = e;
    }
    cudaError_t e = s->error;
    if (take) s->error = cudaSuccess;
    return e;
}

/* Held while one thread runs every stream's queue, and by cudaStreamDestroy around the delete, so
 * that another thread's cudaFree never runs a stream that is being destroyed. */
static std::mutex g_life;

static cudaError_t run_all_queues(bool take) {
    std::lock_guard<std::mutex> life(g_life);
    std::vector<cudaStream_t> all{&g_legacy_stream};
    {
        std::lock_guard<std::mutex> l(g_mu);
        all.insert(all.end(), g_streams.begin(), g_streams.end());
    }
    cudaError_t first = cudaSuccess;
    for (cudaStream_t s : all) {
        cudaError_t e = run_queue(s, take);
        if (first == cudaSuccess) first = e;
    }
    return first;
}

static bool stream_capturing(cudaStream_t s) {
    std::lock_guard<std::mutex> l(s->mu);
    return s->capture != nullptr;
}

/* ---- kernel launches (cuda_emu.h) ---- */

static int max_dynamic_smem(const void *fn) {
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_max_dyn_smem.find(fn);
    return it == g_max_dyn_smem.end() ? DEFAULT_DYNAMIC_SMEM : it->second;
}

/* ZN_EMU_STATS=1: how many times each kernel ran, printed at exit (which kernels the tests reach) */
static std::mutex g_stats_mu;
static std::map<std::string, uint64_t> *g_stats;

static void print_stats() {
    std::lock_guard<std::mutex> l(g_stats_mu);
    fprintf(stderr, "cuda-emu: kernels executed:");
    for (const auto &kv : *g_stats) fprintf(stderr, " %s %llu", kv.first.c_str(), (unsigned long long)kv.second);
    fprintf(stderr, "\n");
}

static void count_kernel(const char *name) {
    static const bool on = [] {
        const char *e = getenv("ZN_EMU_STATS");
        return e && *e && strcmp(e, "0") != 0;
    }();
    if (!on) return;
    std::lock_guard<std::mutex> l(g_stats_mu);
    if (!g_stats) {
        g_stats = new std::map<std::string, uint64_t>;
        atexit(print_stats);
    }
    (*g_stats)[name]++;
}

void launch(const launch_cfg &c, std::shared_ptr<kernel_call> call) {
    const dim3 &g = c.grid, &b = c.block;
    uint64_t threads = (uint64_t)b.x * b.y * b.z;
    if (!g.x || !g.y || !g.z || !b.x || !b.y || !b.z || threads > 1024 || b.z > 64 || g.y > 65535 || g.z > 65535 ||
        g.x > 0x7fffffffu) {
        report("kernel %s launched with grid (%u,%u,%u) and block (%u,%u,%u): invalid configuration", c.name, g.x, g.y,
               g.z, b.x, b.y, b.z);
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    int max_smem = max_dynamic_smem(call->fn);
    if (c.smem > (size_t)max_smem) {
        report("kernel %s launched with %zu bytes of dynamic shared memory; its limit is %d (cudaFuncSetAttribute "
               "MaxDynamicSharedMemorySize raises it up to %d)", c.name, c.smem, max_smem, MAX_DYNAMIC_SMEM);
        fail(cudaErrorInvalidValue);
        return;
    }
    launch_cfg cfg = c;
    cudaError_t e = enqueue(c.stream, [cfg, call]() {
        std::string why;
        count_kernel(cfg.name);
        if (execute_kernel(cfg, *call, &why)) return cudaSuccess;
        report("%s", why.c_str());
        return cudaErrorLaunchFailure;
    }, c.name);
    if (e != cudaSuccess) fail(e);
}

} // namespace zn_emu

using namespace zn_emu;

/* ---- device ---- */

extern "C" {

cudaError_t cudaDriverGetVersion(int *v) {
    *v = 13000;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }

cudaError_t cudaGetDevice(int *dev) {
    *dev = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev) {
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "NVIDIA H100 80GB HBM3 (CPU emulation)");
    p->totalGlobalMem = TOTAL_MEMORY;
    p->sharedMemPerBlock = DEFAULT_DYNAMIC_SMEM;
    p->sharedMemPerBlockOptin = MAX_DYNAMIC_SMEM;
    p->sharedMemPerMultiprocessor = 228 << 10;
    p->regsPerBlock = 65536;
    p->regsPerMultiprocessor = 65536;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsPerMultiProcessor = 2048;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->totalConstMem = 65536;
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 132;
    p->l2CacheSize = 50 << 20;
    p->memoryBusWidth = 5120;
    p->unifiedAddressing = 1;
    p->concurrentKernels = 1;
    p->asyncEngineCount = 3;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr attr, int dev) {
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    switch (attr) {
    case cudaDevAttrClockRate: *v = 1980000; return cudaSuccess;
    case cudaDevAttrMemoryClockRate: *v = 2619000; return cudaSuccess;
    case cudaDevAttrMultiProcessorCount: *v = 132; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = MAX_DYNAMIC_SMEM; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *v = 1024; return cudaSuccess;
    case cudaDevAttrWarpSize: *v = 32; return cudaSuccess;
    case cudaDevAttrL2CacheSize: *v = 50 << 20; return cudaSuccess;
    case cudaDevAttrGlobalMemoryBusWidth: *v = 5120; return cudaSuccess;
    default: *v = 0; return fail(cudaErrorInvalidValue);
    }
}

cudaError_t cudaDeviceGetPCIBusId(char *id, int len, int dev) {
    if (dev != 0) return fail(cudaErrorInvalidDevice);
    snprintf(id, (size_t)len, "0000:00:00.0");
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total_b) {
    std::lock_guard<std::mutex> l(g_mu);
    *total_b = TOTAL_MEMORY;
    *free_b = TOTAL_MEMORY - g_device_bytes;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
    if (prohibited_in_capture("cudaDeviceSynchronize")) return fail(cudaErrorStreamCaptureUnsupported);
    cudaError_t e = run_all_queues(true);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaGetLastError(void) {
    cudaError_t e = t_last_error;
    t_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void) { return t_last_error; }

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorLaunchFailure: return "unspecified launch failure (emulated kernel fault, see the cuda-emu line)";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorIllegalState: return "the operation is not permitted in the current state";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorNotSupported: return "operation not supported";
    default: return "unknown error";
    }
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, const void *fn) {
    memset(a, 0, sizeof *a);
    a->maxThreadsPerBlock = 1024;
    a->numRegs = 32;
    a->binaryVersion = 90;
    a->ptxVersion = 90;
    a->maxDynamicSharedSizeBytes = max_dynamic_smem(fn);
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *fn, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;
    if (value < 0 || value > MAX_DYNAMIC_SMEM) {
        report("cudaFuncSetAttribute(MaxDynamicSharedMemorySize, %d): above the device's %d bytes", value,
               MAX_DYNAMIC_SMEM);
        return fail(cudaErrorInvalidValue);
    }
    std::lock_guard<std::mutex> l(g_mu);
    g_max_dyn_smem[fn] = value;
    return cudaSuccess;
}

cudaError_t cudaProfilerStart(void) { return cudaSuccess; }
cudaError_t cudaProfilerStop(void) { return cudaSuccess; }

/* ---- memory ---- */

static cudaError_t allocate(void **p, size_t bytes, bool device) {
    *p = nullptr;
    size_t rounded = (bytes + 255) / 256 * 256;
    if (!rounded) rounded = 256;
    {
        std::lock_guard<std::mutex> l(g_mu);
        if (device && g_device_bytes + rounded > TOTAL_MEMORY) return fail(cudaErrorMemoryAllocation);
    }
    /* 256-byte aligned like cudaMalloc; under ASan exactly `bytes` long, so a kernel reading past
     * its tensor (into the rounding a GPU allocation has) is reported */
#if defined(__SANITIZE_ADDRESS__)
    const size_t span = bytes ? bytes : 1;
#else
    const size_t span = rounded;
#endif
    void *m = nullptr;
    if (posix_memalign(&m, 256, span) != 0) return fail(cudaErrorMemoryAllocation);
    memset(m, 0xff, span);
    std::lock_guard<std::mutex> l(g_mu);
    g_allocs[(uintptr_t)m] = allocation{bytes, device};
    if (device) g_device_bytes += rounded;
    *p = m;
    return cudaSuccess;
}

static cudaError_t release(void *p, bool device, const char *call) {
    if (!p) return cudaSuccess;
    std::lock_guard<std::mutex> l(g_mu);
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end() || it->second.device != device) {
        report("%s(%p): not the start of a %s allocation", call, p, device ? "device" : "pinned host");
        return fail(cudaErrorInvalidValue);
    }
    size_t rounded = (it->second.bytes + 255) / 256 * 256;
    if (device) g_device_bytes -= rounded ? rounded : 256;
    g_allocs.erase(it);
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes) {
    if (prohibited_in_capture("cudaMalloc")) return fail(cudaErrorStreamCaptureUnsupported);
    return allocate(p, bytes, true);
}

cudaError_t cudaFree(void *p) {
    if (prohibited_in_capture("cudaFree")) return fail(cudaErrorStreamCaptureUnsupported);
    run_all_queues(false); /* cudaFree waits for the device: no queued work may still use p */
    return release(p, true, "cudaFree");
}

cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int flags) {
    (void)flags;
    if (prohibited_in_capture("cudaHostAlloc")) return fail(cudaErrorStreamCaptureUnsupported);
    return allocate(p, bytes, false);
}

cudaError_t cudaMallocHost(void **p, size_t bytes) { return cudaHostAlloc(p, bytes, 0); }

cudaError_t cudaFreeHost(void *p) {
    if (prohibited_in_capture("cudaFreeHost")) return fail(cudaErrorStreamCaptureUnsupported);
    run_all_queues(false);
    return release(p, false, "cudaFreeHost");
}

static const char *kind_name(cudaMemcpyKind k) {
    switch (k) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    default: return "Default";
    }
}

/* One side of a copy: where p lies and whether `bytes` from it fit. */
struct side {
    bool known, device;
    size_t after;
};

static bool check_side(const char *call, const char *role, const void *p, size_t bytes, side *s) {
    s->known = find_allocation(p, &s->device, &s->after);
    if (!s->known) s->device = false;
    if (s->known && bytes > s->after) {
        report("%s: the %s %p has %zu bytes left in its %s allocation; %zu asked", call, role, p, s->after,
               s->device ? "device" : "pinned", bytes);
        return false;
    }
    return true;
}

/* Validates a copy; *pageable_src / *pageable_dst: the host side is pageable memory. */
static cudaError_t check_copy(const char *call, void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                              bool *pageable_src, bool *pageable_dst) {
    side d, s;
    if (!check_side(call, "destination", dst, bytes, &d) || !check_side(call, "source", src, bytes, &s))
        return fail(cudaErrorInvalidValue);
    bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind != cudaMemcpyDefault && (d.device != want_dst_dev || s.device != want_src_dev)) {
        report("%s(%s): the destination %p is %s memory and the source %p is %s memory", call, kind_name(kind), dst,
               d.device ? "device" : d.known ? "pinned host" : "pageable host", src,
               s.device ? "device" : s.known ? "pinned host" : "pageable host");
        return fail(cudaErrorInvalidValue);
    }
    *pageable_src = !s.known;
    *pageable_dst = !d.known;
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    if (prohibited_in_capture("cudaMemcpy")) return fail(cudaErrorStreamCaptureUnsupported);
    bool ps, pd;
    cudaError_t e = check_copy("cudaMemcpy", dst, src, bytes, kind, &ps, &pd);
    if (e != cudaSuccess) return e;
    e = run_queue(&g_legacy_stream); /* after the legacy stream's earlier work */
    if (bytes) memmove(dst, src, bytes);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    bool ps, pd;
    cudaError_t e = check_copy("cudaMemcpyAsync", dst, src, bytes, kind, &ps, &pd);
    if (e != cudaSuccess || !bytes) return e;
    cudaStream_t s = resolve(stream);
    if ((ps || pd) && known_stream(s) && stream_capturing(s)) {
        report("cudaMemcpyAsync of pageable host memory (%p -> %p) into a captured graph", src, dst);
        std::lock_guard<std::mutex> l(s->mu);
        s->capture_invalid = true;
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    if (pd) { /* into pageable memory: CUDA returns once the copy is done */
        e = enqueue(s, [=]() {
            memmove(dst, src, bytes);
            return cudaSuccess;
        }, "cudaMemcpyAsync");
        if (e == cudaSuccess) e = run_queue(s);
        return e == cudaSuccess ? e : fail(e);
    }
    if (ps) { /* from pageable memory: staged now, the caller may reuse it at once */
        auto staged = std::make_shared<std::vector<unsigned char>>((const unsigned char *)src,
                                                                   (const unsigned char *)src + bytes);
        return enqueue(s, [=]() {
            memcpy(dst, staged->data(), bytes);
            return cudaSuccess;
        }, "cudaMemcpyAsync");
    }
    return enqueue(s, [=]() {
        memmove(dst, src, bytes);
        return cudaSuccess;
    }, "cudaMemcpyAsync");
}

static cudaError_t check_memset(const char *call, void *dst, size_t bytes) {
    bool device;
    size_t after;
    if (!find_allocation(dst, &device, &after) || !device) {
        report("%s(%p): not device memory", call, dst);
        return fail(cudaErrorInvalidValue);
    }
    if (bytes > after) {
        report("%s(%p, %zu bytes): only %zu bytes left in the allocation", call, dst, bytes, after);
        return fail(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

cudaError_t cudaMemset(void *dst, int value, size_t bytes) {
    if (prohibited_in_capture("cudaMemset")) return fail(cudaErrorStreamCaptureUnsupported);
    cudaError_t e = check_memset("cudaMemset", dst, bytes);
    if (e != cudaSuccess) return e;
    e = run_queue(&g_legacy_stream);
    memset(dst, value, bytes);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaMemsetAsync(void *dst, int value, size_t bytes, cudaStream_t stream) {
    cudaError_t e = check_memset("cudaMemsetAsync", dst, bytes);
    if (e != cudaSuccess) return e;
    return enqueue(stream, [=]() {
        memset(dst, value, bytes);
        return cudaSuccess;
    }, "cudaMemsetAsync");
}

/* ---- streams ---- */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags) {
    (void)flags;
    *s = new CUstream_st;
    std::lock_guard<std::mutex> l(g_mu);
    g_streams.insert(*s);
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!s || s == &g_legacy_stream || !known_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    run_queue(s, false);
    std::lock_guard<std::mutex> life(g_life);
    {
        std::lock_guard<std::mutex> l(g_mu);
        g_streams.erase(s);
    }
    if (t_capturing == s) t_capturing = nullptr;
    delete s->capture;
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    cudaStream_t s = resolve(stream);
    if (!known_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    if (stream_capturing(s)) {
        report("cudaStreamSynchronize of a stream being captured: the capture is invalidated");
        std::lock_guard<std::mutex> l(s->mu);
        s->capture_invalid = true;
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    cudaError_t e = run_queue(s);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
    (void)mode; /* thread-local semantics whatever the mode: the engine asks for thread-local */
    cudaStream_t s = resolve(stream);
    if (s == &g_legacy_stream || !known_stream(s)) {
        report("cudaStreamBeginCapture on the legacy stream or an unknown stream");
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    {
        std::lock_guard<std::mutex> l(s->mu);
        if (s->capture) return fail(cudaErrorIllegalState);
        s->capture = new CUgraph_st;
        s->capture_invalid = false;
    }
    run_queue(s, false); /* work queued before the capture is not part of it */
    t_capturing = s;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *g) {
    cudaStream_t s = resolve(stream);
    *g = nullptr;
    if (!known_stream(s)) return fail(cudaErrorInvalidResourceHandle);
    std::lock_guard<std::mutex> l(s->mu);
    if (!s->capture) return fail(cudaErrorIllegalState);
    if (t_capturing == s) t_capturing = nullptr;
    CUgraph_st *graph = s->capture;
    s->capture = nullptr;
    if (s->capture_invalid) {
        delete graph;
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    *g = graph;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *st) {
    cudaStream_t s = resolve(stream);
    std::lock_guard<std::mutex> l(s->mu);
    *st = !s->capture ? cudaStreamCaptureStatusNone
                      : s->capture_invalid ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

/* ---- graphs ---- */

cudaError_t cudaGraphGetNodes(cudaGraph_t g, cudaGraphNode_t *nodes, size_t *n) {
    if (!g) return fail(cudaErrorInvalidValue);
    if (nodes) return fail(cudaErrorNotSupported); /* the emulation's nodes have no handles */
    *n = g->nodes.size();
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags) {
    (void)flags;
    if (!g) return fail(cudaErrorInvalidValue);
    *exec = new CUgraphExec_st{g->nodes};
    return cudaSuccess;
}

cudaError_t cudaGraphUpload(cudaGraphExec_t exec, cudaStream_t stream) {
    (void)stream;
    return exec ? cudaSuccess : fail(cudaErrorInvalidValue);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return fail(cudaErrorInvalidValue);
    for (const work &w : exec->nodes) {
        cudaError_t e = enqueue(stream, w, "cudaGraphLaunch");
        if (e != cudaSuccess) return e;
    }
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}

/* ---- events ---- */

static double now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned int flags) {
    (void)flags;
    *ev = new CUevent_st;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *ev) { return cudaEventCreateWithFlags(ev, 0); }

cudaError_t cudaEventDestroy(cudaEvent_t ev) {
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t stream) {
    if (!ev) return fail(cudaErrorInvalidResourceHandle);
    ev->stream = resolve(stream);
    ev->recorded = true;
    ev->done = false;
    return enqueue(stream, [ev]() {
        ev->done = true;
        ev->t_ms = now_ms();
        return cudaSuccess;
    }, "cudaEventRecord");
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev) {
    if (!ev) return fail(cudaErrorInvalidResourceHandle);
    if (!ev->recorded) return cudaSuccess;
    cudaError_t e = run_queue(ev->stream);
    return e == cudaSuccess ? e : fail(e);
}

cudaError_t cudaEventQuery(cudaEvent_t ev) { return cudaEventSynchronize(ev); }

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a || !b || !a->done || !b->done) return fail(cudaErrorNotReady);
    *ms = (float)(b->t_ms - a->t_ms);
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t ev, unsigned int flags) {
    (void)flags;
    if (!ev) return fail(cudaErrorInvalidResourceHandle);
    if (!ev->recorded) return cudaSuccess;
    cudaStream_t other = ev->stream;
    return enqueue(stream, [other]() {
        run_queue(other, false);
        return cudaSuccess;
    }, "cudaStreamWaitEvent");
}

} /* extern "C" */
