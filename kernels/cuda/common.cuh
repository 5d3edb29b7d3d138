/* common.cuh — what every CUDA kernel file shares: error mapping, stream access, the float
 * dtypes as templates (fp32 / fp16 / bf16, accumulating in fp32), launch geometry.
 *
 * Layout of a kernel file (DESIGN.md §5): a kernels section (__global__ functions), then a
 * launchers section (host functions taking the zn_exec_ctx, launching on the session's stream
 * and checking the launch), then the spec table registered in cuda_tables.h.
 */
#ifndef ZN_CUDA_COMMON_CUH
#define ZN_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "../../engine/error.h"
#include "../kernel.h"
#include "cuda_ctx.h"
#include "cuda_tables.h"

/* ---- host side ------------------------------------------------------------------------------ */

static inline cudaStream_t zn_stream(const zn_exec_ctx *ctx) { return (cudaStream_t)ctx->cuda->stream; }

/* A failed CUDA runtime call as a zn_status naming what was being done. */
static inline zn_status zn_cuda_status(cudaError_t e, const char *what) {
    if (e == cudaSuccess) return ZN_OK;
    if (e == cudaErrorMemoryAllocation)
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "%s: out of GPU memory", what);
    return zn_error_set(ZN_ERR_RUNTIME, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

/* After a <<<>>> launch: launch-configuration errors surface here (execution errors surface at
 * the session's next synchronisation). */
static inline zn_status zn_cuda_launched(const char *kernel) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return ZN_OK;
    return zn_error_set(ZN_ERR_RUNTIME, "CUDA kernel %s failed to launch: %s", kernel, cudaGetErrorString(e));
}

#define ZN_CUDA_TRY(call, what)                            \
    do {                                                   \
        zn_status zn_s_ = zn_cuda_status((call), (what));  \
        if (zn_s_ != ZN_OK) return zn_s_;                  \
    } while (0)

/* Blocks for a grid-stride loop over n items: enough to fill the GPU, never above the grid
 * limit. */
static inline unsigned zn_grid_for(int64_t n, int block) {
    int64_t b = (n + block - 1) / block;
    if (b < 1) b = 1;
    if (b > 65535LL * 8) b = 65535LL * 8;
    return (unsigned)b;
}

static inline bool zn_is_float_dtype(zn_dtype t) { return t == ZN_F32 || t == ZN_F16 || t == ZN_BF16; }

/* Calls BODY with `T` bound to the C++ type of a float dtype; returns ZN_ERR_UNSUPPORTED for
 * others. Use inside a function returning zn_status. */
#define ZN_DISPATCH_FLOAT(dtype, BODY)                                                         \
    switch (dtype) {                                                                           \
    case ZN_F32: { typedef float T; BODY; } break;                                             \
    case ZN_F16: { typedef __half T; BODY; } break;                                            \
    case ZN_BF16: { typedef __nv_bfloat16 T; BODY; } break;                                    \
    default:                                                                                   \
        return zn_error_set(ZN_ERR_UNSUPPORTED, "dtype %s is not a float type", zn_dtype_name(dtype)); \
    }

/* ---- device side ---------------------------------------------------------------------------- */

/* Loads and stores through fp32: every kernel computes and accumulates in fp32. */
template <typename T> __device__ __forceinline__ float zn_ld(const T *p, int64_t i);
template <> __device__ __forceinline__ float zn_ld<float>(const float *p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float zn_ld<__half>(const __half *p, int64_t i) { return __half2float(p[i]); }
template <> __device__ __forceinline__ float zn_ld<__nv_bfloat16>(const __nv_bfloat16 *p, int64_t i) {
    return __bfloat162float(p[i]);
}

template <typename T> __device__ __forceinline__ T zn_from_float(float v);
template <> __device__ __forceinline__ float zn_from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half zn_from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 zn_from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

template <typename T> __device__ __forceinline__ void zn_st(T *p, int64_t i, float v) { p[i] = zn_from_float<T>(v); }

#define ZN_GRID_STRIDE(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__device__ __forceinline__ float zn_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float zn_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

#endif
