/* device.h — the GPU as the engine sees it: discovery, memory, per-session streams, async
 * copies, CUDA graph capture and replay.
 *
 * Implemented by kernels/cuda/device.cu in CUDA builds and by engine/device_none.c otherwise
 * (every call then fails with ZN_ERR_NO_DEVICE saying the build has no CUDA backend), so the
 * compiler and the runtime are written once for both builds. No call prints or exits.
 */
#ifndef ZN_DEVICE_H
#define ZN_DEVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zn_cuda_ctx;

typedef struct zn_device_info {
    int ordinal;
    char name[256];          /* "NVIDIA H100 80GB HBM3" */
    char pci_bus_id[32];
    int cc_major, cc_minor;  /* compute capability */
    int sm_count;
    size_t total_bytes;      /* global memory */
    size_t free_bytes;       /* at the time of the probe */
    size_t l2_bytes;
    int mem_bus_bits;
    int sm_clock_khz;        /* peak clocks the device reports */
    int mem_clock_khz;
    int driver_version;      /* 13000 = 13.0 (cudaDriverGetVersion) */
    int runtime_version;     /* cudaRuntimeGetVersion */
} zn_device_info;

/* Whether this build has the CUDA backend at all. */
bool zn_device_compiled(void);

/* The device Zenith uses (ordinal $ZENITH_CUDA_DEVICE, default 0). ZN_ERR_NO_DEVICE with the
 * reason (no driver, no device, a driver older than the runtime) and the fix in the hint. The
 * result is cached: only the first call touches the driver. */
zn_status zn_device_probe(zn_device_info *out);

/* Memory. `what` names the buffer in the out-of-memory error ("weights of 'bert-base'"), which
 * also gives the bytes asked and the bytes free. */
zn_status zn_device_alloc(void **p, size_t bytes, const char *what);
void zn_device_free(void *p);
zn_status zn_pinned_alloc(void **p, size_t bytes, const char *what); /* page-locked host memory */
void zn_pinned_free(void *p);
zn_status zn_device_upload(void *dst, const void *src, size_t bytes);   /* synchronous H2D */
zn_status zn_device_download(void *dst, const void *src, size_t bytes); /* synchronous D2H */
zn_status zn_device_memset(void *dst, int value, size_t bytes);        /* synchronous */

/* A process-wide context on the default stream for prepare-time work (algorithm queries,
 * weight re-layout); NULL when there is no device.
 * zn_device_prepare_begin/end is a process-wide lock held around everything that may
 * synchronise the whole device or use that shared context: kernel prepare() calls (cuDNN and
 * cuBLASLt handles must not be used by two threads at once), weight uploads, session creation
 * and teardown, plan teardown, and each session's one CUDA graph capture (a device-wide sync
 * on another thread can invalidate a capture even in thread-local mode). Not held on the hot
 * path: runs and graph replays never take it. */
struct zn_cuda_ctx *zn_device_prepare_ctx(void);
void zn_device_prepare_begin(void);
void zn_device_prepare_end(void);
/* Waits for all work on the device (the end of a CUDA compile: uploads and prepare-time work
 * ran on the legacy stream, which non-blocking session streams do not wait for). */
zn_status zn_device_synchronize(void);
zn_status zn_device_memset_async(struct zn_cuda_ctx *c, void *dst, int value, size_t bytes);

/* Per-session execution context: a non-blocking stream and library handles bound to it. */
zn_status zn_cuda_ctx_new(struct zn_cuda_ctx **out);
void zn_cuda_ctx_free(struct zn_cuda_ctx *c);

typedef enum zn_copy_kind { ZN_COPY_H2D, ZN_COPY_D2H, ZN_COPY_D2D } zn_copy_kind;
zn_status zn_cuda_copy_async(struct zn_cuda_ctx *c, void *dst, const void *src, size_t bytes, zn_copy_kind kind);
/* Waits for everything queued on the session's stream; kernel execution errors surface here. */
zn_status zn_cuda_sync(struct zn_cuda_ctx *c);

/* CUDA graphs: everything launched on the stream between begin and end is recorded, not run;
 * end instantiates it. Launch replays it on the stream. */
zn_status zn_cuda_capture_begin(struct zn_cuda_ctx *c);
zn_status zn_cuda_capture_end(struct zn_cuda_ctx *c, void **graph_exec, int *n_nodes);
zn_status zn_cuda_graph_launch(struct zn_cuda_ctx *c, void *graph_exec);
void zn_cuda_graph_free(void *graph_exec);

/* cudaProfilerStart/Stop around the measured window (nsys --capture-range=cudaProfilerApi). */
void zn_device_profiler_start(void);
void zn_device_profiler_stop(void);

#ifdef __cplusplus
}
#endif
#endif
