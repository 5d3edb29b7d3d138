/* cuda_emu.h — the device side of the CUDA emulation (make test-emu): what the kernel files
 * (kernels/cuda/NAME.cu) need to compile with g++ as host C++ and run on the CPU. Forced in front
 * of every .cu file with -include; the emulation's own files (emu_*.cpp) include it too.
 *
 * The toolkit's headers give the host API's declarations and types (cuda_runtime.h) and __half /
 * __nv_bfloat16 with host conversions (round to nearest even). This file adds what only nvcc
 * provides: threadIdx / blockIdx / blockDim / gridDim; __syncthreads and __syncwarp, real
 * barriers over the block's threads (fibers, one block at a time per OS thread); the warp
 * shuffles with PTX shfl.sync's lane rules; __shared__ memory (static: thread_local, so one copy
 * per running block; dynamic: a per-launch buffer ending at a guard page, refilled with 0xff for
 * each block); the intrinsics the kernels use; and the launch. nvcc's launch syntax is not C++,
 * so tests/cuda_emu/launch_transform.pl rewrites
 *     kernel<<<grid, block, smem, stream>>>(args)
 * into
 *     kernel | ::zn_emu::cfg("kernel", grid, block, smem, stream)(args)
 * and `extern __shared__ T name[];` into a pointer to the launch's dynamic shared memory.
 *
 * Inline PTX cannot compile for the CPU: a kernel using it calls the C++ versions below instead,
 * under #ifdef ZN_CUDA_EMU (attention.cu: cp.async, ldmatrix, mma.sync).
 * Not here: atomics, cooperative groups, textures, other PTX (no kernel uses them).
 */
#ifndef ZN_CUDA_EMU_H
#define ZN_CUDA_EMU_H

#ifndef __cplusplus
#error "cuda_emu.h is C++ (the emulated .cu files and the emulation's runtime)"
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace zn_emu {

/* Which CUDA thread of the running block a fiber is (emu_device.cpp). */
struct fiber_id {
    uint3 tid;       /* threadIdx */
    unsigned linear; /* x + y * bx + z * bx * by */
};

/* Per OS thread: the CUDA thread running on it and its block. Plain data (no constructor) so
 * that the kernels reach it with one TLS access. */
struct tls_state {
    const fiber_id *cur;
    uint3 block_idx, block_dim, grid_dim;
    unsigned char *dyn_smem; /* this launch's dynamic shared memory (a guard page follows it) */
    size_t dyn_smem_bytes;
};
extern __thread tls_state tls;

/* Barriers and warp exchanges (emu_device.cpp). */
void syncthreads();
void syncwarp(unsigned mask);
enum shfl_mode { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_BFLY };
/* shfl.sync: b = the lane / offset / xor mask, c = the clamp word ((32 - width) << 8 | 31, or
 * (32 - width) << 8 for up); the value's bytes travel as 64 bits. */
uint64_t shfl(shfl_mode mode, unsigned mask, uint64_t v, int b, int c);

/* The inline PTX of attention.cu's tensor-core kernel, with the PTX ISA's fragment layouts:
 * cp.async of 16 bytes (a copy lands only when a cp.async.wait_group covering its committed
 * group runs, or when the thread exits: reading the buffer without waiting shows), ldmatrix .x4
 * (.trans) of b16 (lane 8i+j gives row j of matrix i; every address 16-byte aligned and inside
 * the dynamic shared memory) and mma.sync m16n8k16 row.col, f32 += f16 / bf16 (fp32 products and
 * sums). The last two are warp collectives over all 32 lanes. */
void cp_async16(void *smem, const void *gmem);
void cp_async_commit();
void cp_async_wait(int n);
void ldmatrix_x4(uint32_t (&r)[4], const void *row, bool trans);
void mma_m16n8k16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, bool bf16);

/* ---- launches ---- */

/* A kernel with its arguments converted to its parameter types, run once per CUDA thread. */
struct kernel_call {
    const void *fn;
    virtual ~kernel_call() {}
    virtual void run_thread() = 0;
};

template <class... P> struct kernel_call_t final : kernel_call {
    void (*k)(P...);
    std::tuple<std::decay_t<P>...> params;
    template <class Tup, size_t... I>
    kernel_call_t(void (*kp)(P...), Tup &&args, std::index_sequence<I...>)
        : k(kp), params(std::get<I>(std::forward<Tup>(args))...) {
        fn = reinterpret_cast<const void *>(kp);
    }
    void run_thread() override { std::apply(k, params); } /* by value: each thread its own copy */
};

struct launch_cfg {
    const char *name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
};

/* Queues (or, in a capture, records) a launch; configuration errors go to cudaGetLastError. */
void launch(const launch_cfg &c, std::shared_ptr<kernel_call> call);

template <class... A> struct pending_launch {
    launch_cfg cfg;
    std::tuple<A...> args;
};

struct cfg_builder {
    launch_cfg c;
    template <class... A> pending_launch<std::decay_t<A>...> operator()(A &&...a) const {
        return {c, std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)};
    }
};

inline cfg_builder cfg(const char *name, dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = 0) {
    return cfg_builder{launch_cfg{name, grid, block, smem, stream}};
}

template <class... P, class... A> void operator|(void (*k)(P...), pending_launch<A...> &&p) {
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
    launch(p.cfg, std::make_shared<kernel_call_t<P...>>(k, std::move(p.args), std::index_sequence_for<A...>{}));
}

} // namespace zn_emu

/* ---- what nvcc provides ---- */

#undef __shared__
#define __shared__ thread_local /* block scope: static per OS thread = per running block */
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

#define threadIdx (::zn_emu::tls.cur->tid)
#define blockIdx (::zn_emu::tls.block_idx)
#define blockDim (::zn_emu::tls.block_dim)
#define gridDim (::zn_emu::tls.grid_dim)
static constexpr int warpSize = 32;

static inline void __syncthreads() { ::zn_emu::syncthreads(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { ::zn_emu::syncwarp(mask); }

template <class T> static inline uint64_t zn_emu_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffled values are at most 8 bytes");
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    return u;
}
template <class T> static inline T zn_emu_from_bits(uint64_t u) {
    T v;
    memcpy(&v, &u, sizeof v);
    return v;
}

template <class T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return zn_emu_from_bits<T>(
        ::zn_emu::shfl(::zn_emu::SHFL_IDX, mask, zn_emu_bits(v), src, ((32 - width) << 8) | 0x1f));
}
template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return zn_emu_from_bits<T>(::zn_emu::shfl(::zn_emu::SHFL_UP, mask, zn_emu_bits(v), (int)delta, (32 - width) << 8));
}
template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return zn_emu_from_bits<T>(
        ::zn_emu::shfl(::zn_emu::SHFL_DOWN, mask, zn_emu_bits(v), (int)delta, ((32 - width) << 8) | 0x1f));
}
template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return zn_emu_from_bits<T>(
        ::zn_emu::shfl(::zn_emu::SHFL_BFLY, mask, zn_emu_bits(v), lane_mask, ((32 - width) << 8) | 0x1f));
}

/* cuda_runtime.h's C++ overloads taking the kernel itself (nvcc only) */
template <class T> static inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, T *entry) {
    return ::cudaFuncGetAttributes(a, reinterpret_cast<const void *>(entry));
}
template <class T> static inline cudaError_t cudaFuncSetAttribute(T *entry, cudaFuncAttribute attr, int value) {
    return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(entry), attr, value);
}

static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
static inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float __saturatef(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline size_t __cvta_generic_to_shared(const void *p) { return (size_t)p; }

#endif
