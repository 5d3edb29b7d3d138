/* cuda_ctx.h — what a CUDA kernel gets from its session through zn_exec_ctx.cuda.
 *
 * Plain C so that the engine (C) and the kernels (CUDA C++) share it. Handles are void* so C
 * files need no CUDA headers; kernels cast them (common.cuh has the accessors).
 */
#ifndef ZN_CUDA_CTX_H
#define ZN_CUDA_CTX_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zn_cuda_ctx {
    void *stream;     /* cudaStream_t: every launch and async copy of the session goes here */
    void *cublaslt;   /* cublasLtHandle_t */
    void *cudnn;      /* cudnnHandle_t, bound to `stream` */
    int device;       /* ordinal */
    int sm_count;
    int cc;           /* compute capability, major * 10 + minor (90 on H100/H200) */
    bool capturing;   /* the run is being captured as a CUDA graph: kernels must not sync the
                       * host, allocate or free */
} zn_cuda_ctx;

#ifdef __cplusplus
}
#endif
#endif
