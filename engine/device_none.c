/* device_none.c — device.h for builds without the CUDA backend: every call says so.
 * (CUDA builds get kernels/cuda/device.cu instead; this file is then empty.) */
#include "device.h"

#ifndef ZN_WITH_CUDA

#include <stddef.h>

#include "error.h"

static zn_status not_built(void) {
    zn_error_set(ZN_ERR_NO_DEVICE, "this build of Zenith has no CUDA backend (nvcc was not found when it was built)");
    zn_error_hint("use --backend cpu, or rebuild on a machine with the CUDA toolkit (make clean && make)");
    return ZN_ERR_NO_DEVICE;
}

bool zn_device_compiled(void) { return false; }
zn_status zn_device_probe(zn_device_info *out) {
    (void)out;
    return not_built();
}
zn_status zn_device_alloc(void **p, size_t bytes, const char *what) {
    (void)bytes, (void)what;
    *p = NULL;
    return not_built();
}
void zn_device_free(void *p) { (void)p; }
zn_status zn_pinned_alloc(void **p, size_t bytes, const char *what) {
    (void)bytes, (void)what;
    *p = NULL;
    return not_built();
}
void zn_pinned_free(void *p) { (void)p; }
zn_status zn_device_upload(void *dst, const void *src, size_t bytes) {
    (void)dst, (void)src, (void)bytes;
    return not_built();
}
zn_status zn_device_download(void *dst, const void *src, size_t bytes) {
    (void)dst, (void)src, (void)bytes;
    return not_built();
}
zn_status zn_device_memset(void *dst, int value, size_t bytes) {
    (void)dst, (void)value, (void)bytes;
    return not_built();
}
struct zn_cuda_ctx *zn_device_prepare_ctx(void) { return NULL; }
void zn_device_prepare_begin(void) {}
void zn_device_prepare_end(void) {}
zn_status zn_device_synchronize(void) { return not_built(); }
zn_status zn_device_memset_async(struct zn_cuda_ctx *c, void *dst, int value, size_t bytes) {
    (void)c, (void)dst, (void)value, (void)bytes;
    return not_built();
}
zn_status zn_cuda_ctx_new(struct zn_cuda_ctx **out) {
    *out = NULL;
    return not_built();
}
void zn_cuda_ctx_free(struct zn_cuda_ctx *c) { (void)c; }
zn_status zn_cuda_copy_async(struct zn_cuda_ctx *c, void *dst, const void *src, size_t bytes, zn_copy_kind kind) {
    (void)c, (void)dst, (void)src, (void)bytes, (void)kind;
    return not_built();
}
zn_status zn_cuda_sync(struct zn_cuda_ctx *c) {
    (void)c;
    return not_built();
}
zn_status zn_cuda_capture_begin(struct zn_cuda_ctx *c) {
    (void)c;
    return not_built();
}
zn_status zn_cuda_capture_end(struct zn_cuda_ctx *c, void **graph_exec, int *n_nodes) {
    (void)c, (void)n_nodes;
    *graph_exec = NULL;
    return not_built();
}
zn_status zn_cuda_graph_launch(struct zn_cuda_ctx *c, void *graph_exec) {
    (void)c, (void)graph_exec;
    return not_built();
}
void zn_cuda_graph_free(void *graph_exec) { (void)graph_exec; }
void zn_device_profiler_start(void) {}
void zn_device_profiler_stop(void) {}

#else
/* ISO C forbids an empty translation unit */
typedef int zn_device_none_unused;
#endif
