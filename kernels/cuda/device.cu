/* device.cu — engine/device.h on the CUDA runtime: device discovery with errors that say why
 * and what to do, memory with out-of-memory errors that name the buffer, per-session contexts
 * (stream + cuBLASLt + cuDNN handles), async copies, CUDA graph capture/replay.
 *
 * The probe runs once per process (cached under a mutex) so `auto` asks the driver only once.
 * Not here: kernels (the other .cu files), what to allocate (the planner and runtime decide).
 */
#include <cublasLt.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/device.h"
#include "../../engine/error.h"
#include "cuda_ctx.h"

/* ---- probe ---------------------------------------------------------------------------------- */

/* An empty kernel: whether it has an image for the device tells whether this build's code
 * (sm_90 SASS + compute_90 PTX) can run there at all. */
__global__ void zn_probe_kernel(void) {}

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static bool probed;
static zn_status probe_status;
static zn_error probe_error;   /* the error to replay on later calls */
static zn_device_info probe_info;

static int env_device(void) {
    const char *s = getenv("ZENITH_CUDA_DEVICE");
    if (!s || !*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v < 0 || v > 1024) ? -1 : (int)v;
}

static zn_status probe_once(zn_device_info *info) {
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver); /* 0 when no driver is installed */
    if (driver == 0) {
        zn_error_set(ZN_ERR_NO_DEVICE, "no CUDA driver: libcuda.so.1 was not found or did not load");
        zn_error_hint("install the NVIDIA driver, or use --backend cpu");
        return ZN_ERR_NO_DEVICE;
    }
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver) {
        zn_error_set(ZN_ERR_NO_DEVICE, "the CUDA driver (%d.%d) is older than the CUDA runtime Zenith was built with (%d.%d)",
                     driver / 1000, driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
        zn_error_hint("update the NVIDIA driver, or use --backend cpu");
        return ZN_ERR_NO_DEVICE;
    }
    if (e != cudaSuccess || count == 0) {
        zn_error_set(ZN_ERR_NO_DEVICE, "no CUDA device: %s",
                     e != cudaSuccess ? cudaGetErrorString(e) : "the driver reports 0 GPUs");
        zn_error_hint("check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --backend cpu");
        return ZN_ERR_NO_DEVICE;
    }
    int dev = env_device();
    if (dev < 0 || dev >= count) {
        zn_error_set(ZN_ERR_NO_DEVICE, "ZENITH_CUDA_DEVICE=%s does not name one of the %d CUDA device%s",
                     getenv("ZENITH_CUDA_DEVICE"), count, count == 1 ? "" : "s");
        zn_error_hint("set ZENITH_CUDA_DEVICE to 0..%d or unset it", count - 1);
        return ZN_ERR_NO_DEVICE;
    }
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, dev)) != cudaSuccess || (e = cudaSetDevice(dev)) != cudaSuccess) {
        zn_error_set(ZN_ERR_NO_DEVICE, "CUDA device %d is not usable: %s", dev, cudaGetErrorString(e));
        zn_error_hint("check nvidia-smi (is the GPU in an exclusive or prohibited compute mode?)");
        return ZN_ERR_NO_DEVICE;
    }
    cudaFuncAttributes fa;
    if ((e = cudaFuncGetAttributes(&fa, zn_probe_kernel)) != cudaSuccess) {
        cudaGetLastError();
        zn_error_set(ZN_ERR_NO_DEVICE, "CUDA device %d (%s, compute capability %d.%d) cannot run this build's kernels: %s",
                     dev, p.name, p.major, p.minor, cudaGetErrorString(e));
        zn_error_hint("this build targets sm_90 (H100/H200) and newer; rebuild with "
                      "NVCC_ARCH='-gencode arch=compute_%d%d,code=sm_%d%d' for this GPU, or use --backend cpu",
                      p.major, p.minor, p.major, p.minor);
        return ZN_ERR_NO_DEVICE;
    }
    memset(info, 0, sizeof *info);
    info->ordinal = dev;
    snprintf(info->name, sizeof info->name, "%s", p.name);
    cudaDeviceGetPCIBusId(info->pci_bus_id, (int)sizeof info->pci_bus_id, dev);
    info->cc_major = p.major;
    info->cc_minor = p.minor;
    info->sm_count = p.multiProcessorCount;
    info->total_bytes = p.totalGlobalMem;
    info->l2_bytes = (size_t)p.l2CacheSize;
    info->mem_bus_bits = p.memoryBusWidth;
    int clk = 0;
    if (cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, dev) == cudaSuccess) info->sm_clock_khz = clk;
    if (cudaDeviceGetAttribute(&clk, cudaDevAttrMemoryClockRate, dev) == cudaSuccess) info->mem_clock_khz = clk;
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) info->free_bytes = free_b;
    info->driver_version = driver;
    info->runtime_version = runtime;
    cudaGetLastError(); /* clear a sticky-free error from optional queries */
    return ZN_OK;
}

extern "C" bool zn_device_compiled(void) { return true; }

extern "C" zn_status zn_device_probe(zn_device_info *out) {
    pthread_mutex_lock(&probe_lock);
    if (!probed) {
        zn_error_clear();
        probe_status = probe_once(&probe_info);
        probe_error = *zn_last_error();
        probed = true;
    }
    zn_status st = probe_status;
    zn_device_info info = probe_info;
    zn_error err = probe_error;
    pthread_mutex_unlock(&probe_lock);
    if (st != ZN_OK) {
        zn_error_set(st, "%s", err.message);
        if (err.hint[0]) zn_error_hint("%s", err.hint);
        return st;
    }
    if (out) *out = info;
    /* every thread that uses the device must have it current */
    cudaSetDevice(info.ordinal);
    return ZN_OK;
}

/* ---- memory --------------------------------------------------------------------------------- */

static zn_status oom(const char *kind, size_t bytes, const char *what, cudaError_t e) {
    size_t free_b = 0, total_b = 0;
    cudaGetLastError();
    cudaMemGetInfo(&free_b, &total_b);
    if (e == cudaErrorMemoryAllocation) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of %s memory allocating %s: %zu bytes (%.1f MiB) asked, %.1f MiB free of %.1f MiB",
                     kind, what ? what : "a buffer", bytes, bytes / 1048576.0, free_b / 1048576.0, total_b / 1048576.0);
        zn_error_hint("lower --batch or --max-batch, use --precision fp16, or run fewer concurrent sessions");
        return ZN_ERR_OUT_OF_MEMORY;
    }
    return zn_error_set(ZN_ERR_RUNTIME, "allocating %s (%zu bytes of %s memory): %s", what ? what : "a buffer",
                        bytes, kind, cudaGetErrorString(e));
}

extern "C" zn_status zn_device_alloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *p = NULL;
        return oom("GPU", bytes, what, e);
    }
    return ZN_OK;
}

extern "C" void zn_device_free(void *p) {
    if (p) cudaFree(p);
}

extern "C" zn_status zn_pinned_alloc(void **p, size_t bytes, const char *what) {
    *p = NULL;
    cudaError_t e = cudaHostAlloc(p, bytes ? bytes : 1, cudaHostAllocPortable);
    if (e != cudaSuccess) {
        *p = NULL;
        return oom("pinned host", bytes, what, e);
    }
    return ZN_OK;
}

extern "C" void zn_pinned_free(void *p) {
    if (p) cudaFreeHost(p);
}

static zn_status rt(cudaError_t e, const char *what) {
    if (e == cudaSuccess) return ZN_OK;
    cudaGetLastError();
    return zn_error_set(ZN_ERR_RUNTIME, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

extern "C" zn_status zn_device_upload(void *dst, const void *src, size_t bytes) {
    return rt(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "copying to the GPU");
}

extern "C" zn_status zn_device_download(void *dst, const void *src, size_t bytes) {
    return rt(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "copying from the GPU");
}

extern "C" zn_status zn_device_memset(void *dst, int value, size_t bytes) {
    return rt(cudaMemset(dst, value, bytes), "clearing GPU memory");
}

/* ---- contexts ------------------------------------------------------------------------------- */

static zn_status ctx_init(zn_cuda_ctx *c, bool own_stream) {
    zn_device_info info;
    zn_status st = zn_device_probe(&info);
    if (st != ZN_OK) return st;
    c->device = info.ordinal;
    c->sm_count = info.sm_count;
    c->cc = info.cc_major * 10 + info.cc_minor;
    cudaStream_t s = 0;
    if (own_stream && (st = rt(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "creating a CUDA stream")) != ZN_OK)
        return st;
    c->stream = s;
    cublasLtHandle_t lt;
    cublasStatus_t bs = cublasLtCreate(&lt);
    if (bs != CUBLAS_STATUS_SUCCESS)
        return zn_error_set(ZN_ERR_RUNTIME, "cublasLtCreate failed: %s", cublasLtGetStatusString(bs));
    c->cublaslt = lt;
    cudnnHandle_t dnn;
    cudnnStatus_t ds = cudnnCreate(&dnn);
    if (ds != CUDNN_STATUS_SUCCESS)
        return zn_error_set(ZN_ERR_RUNTIME, "cudnnCreate failed: %s", cudnnGetErrorString(ds));
    c->cudnn = dnn;
    if ((ds = cudnnSetStream(dnn, s)) != CUDNN_STATUS_SUCCESS)
        return zn_error_set(ZN_ERR_RUNTIME, "cudnnSetStream failed: %s", cudnnGetErrorString(ds));
    return ZN_OK;
}

static void ctx_release(zn_cuda_ctx *c) {
    if (c->cudnn) cudnnDestroy((cudnnHandle_t)c->cudnn);
    if (c->cublaslt) cublasLtDestroy((cublasLtHandle_t)c->cublaslt);
    if (c->stream) cudaStreamDestroy((cudaStream_t)c->stream);
    memset(c, 0, sizeof *c);
}

extern "C" zn_status zn_cuda_ctx_new(zn_cuda_ctx **out) {
    *out = NULL;
    zn_cuda_ctx *c = (zn_cuda_ctx *)calloc(1, sizeof *c);
    if (!c) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating a CUDA context");
    zn_status st = ctx_init(c, true);
    if (st != ZN_OK) {
        ctx_release(c);
        free(c);
        return st;
    }
    *out = c;
    return ZN_OK;
}

extern "C" void zn_cuda_ctx_free(zn_cuda_ctx *c) {
    if (!c) return;
    cudaSetDevice(c->device); /* the freeing thread may never have used the device */
    if (c->stream) cudaStreamSynchronize((cudaStream_t)c->stream);
    ctx_release(c);
    free(c);
}

/* Prepare-time work shares one cuDNN/cuBLASLt handle and the default stream: one compile's
 * kernel preparation at a time (zn_device_prepare_begin/end). */
static pthread_mutex_t prepare_use_lock = PTHREAD_MUTEX_INITIALIZER;

extern "C" void zn_device_prepare_begin(void) { pthread_mutex_lock(&prepare_use_lock); }
extern "C" void zn_device_prepare_end(void) { pthread_mutex_unlock(&prepare_use_lock); }

extern "C" zn_status zn_device_synchronize(void) {
    return rt(cudaDeviceSynchronize(), "finishing the GPU work of compilation (weight uploads, kernel preparation)");
}

extern "C" zn_status zn_device_memset_async(zn_cuda_ctx *c, void *dst, int value, size_t bytes) {
    return rt(cudaMemsetAsync(dst, value, bytes, (cudaStream_t)c->stream), "clearing GPU memory");
}

static pthread_mutex_t prepare_lock = PTHREAD_MUTEX_INITIALIZER;
static zn_cuda_ctx prepare_ctx;
static bool prepare_ready;

extern "C" zn_cuda_ctx *zn_device_prepare_ctx(void) {
    pthread_mutex_lock(&prepare_lock);
    if (!prepare_ready) {
        if (ctx_init(&prepare_ctx, false) == ZN_OK) prepare_ready = true;
        else ctx_release(&prepare_ctx);
    }
    zn_cuda_ctx *c = prepare_ready ? &prepare_ctx : NULL;
    pthread_mutex_unlock(&prepare_lock);
    return c;
}

/* ---- streams, copies, graphs ---------------------------------------------------------------- */

extern "C" zn_status zn_cuda_copy_async(zn_cuda_ctx *c, void *dst, const void *src, size_t bytes, zn_copy_kind kind) {
    if (!bytes) return ZN_OK;
    cudaMemcpyKind k = kind == ZN_COPY_H2D ? cudaMemcpyHostToDevice
                       : kind == ZN_COPY_D2H ? cudaMemcpyDeviceToHost
                                             : cudaMemcpyDeviceToDevice;
    return rt(cudaMemcpyAsync(dst, src, bytes, k, (cudaStream_t)c->stream), "queueing a copy on the session's stream");
}

extern "C" zn_status zn_cuda_sync(zn_cuda_ctx *c) {
    return rt(cudaStreamSynchronize((cudaStream_t)c->stream), "running the session's GPU work");
}

extern "C" zn_status zn_cuda_capture_begin(zn_cuda_ctx *c) {
    /* thread-local mode: other sessions' threads may keep launching while this one captures */
    zn_status st = rt(cudaStreamBeginCapture((cudaStream_t)c->stream, cudaStreamCaptureModeThreadLocal),
                      "starting CUDA graph capture");
    if (st == ZN_OK) c->capturing = true;
    return st;
}

extern "C" zn_status zn_cuda_capture_end(zn_cuda_ctx *c, void **graph_exec, int *n_nodes) {
    *graph_exec = NULL;
    cudaGraph_t g = NULL;
    c->capturing = false;
    zn_status st = rt(cudaStreamEndCapture((cudaStream_t)c->stream, &g), "ending CUDA graph capture");
    if (st != ZN_OK) return st;
    size_t n = 0;
    cudaGraphGetNodes(g, NULL, &n);
    if (n_nodes) *n_nodes = (int)n;
    cudaGraphExec_t exec = NULL;
    st = rt(cudaGraphInstantiate(&exec, g, 0), "instantiating the captured CUDA graph");
    cudaGraphDestroy(g);
    if (st != ZN_OK) return st;
    if ((st = rt(cudaGraphUpload(exec, (cudaStream_t)c->stream), "uploading the CUDA graph")) != ZN_OK) {
        cudaGraphExecDestroy(exec);
        return st;
    }
    *graph_exec = exec;
    return ZN_OK;
}

extern "C" zn_status zn_cuda_graph_launch(zn_cuda_ctx *c, void *graph_exec) {
    return rt(cudaGraphLaunch((cudaGraphExec_t)graph_exec, (cudaStream_t)c->stream), "launching the CUDA graph");
}

extern "C" void zn_cuda_graph_free(void *graph_exec) {
    if (graph_exec) cudaGraphExecDestroy((cudaGraphExec_t)graph_exec);
}

extern "C" void zn_device_profiler_start(void) { cudaProfilerStart(); }
extern "C" void zn_device_profiler_stop(void) { cudaProfilerStop(); }
