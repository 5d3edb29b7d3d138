/* attention.cu — ZnAttention on CUDA: softmax(Q K^T * scale + mask) V per head, fused in the
 * flash-attention manner (online softmax over key tiles; the (Sq, Sk) scores never reach global
 * memory). Semantics are the reference's (kernels/cpu/ref_fused.c, engine/ops.def).
 *
 * fp16 / bf16: tensor cores through mma.sync m16n8k16 with fp32 accumulation and fp32 softmax
 * statistics. A block of 4 warps owns 64 query rows of one (batch, head), 16 rows a warp; it
 * walks the keys in tiles of 64, staging K and V in shared memory with cp.async double
 * buffering (tile t+1 is in flight while tile t is used). Each warp keeps S = Q K^T (16 x 64)
 * and its output rows (16 x D) in registers, rescales them with the running row maximum, and
 * feeds P (rounded to the I/O type) straight from the accumulators into the P V mma. Shared
 * rows are padded by 16 bytes so ldmatrix reads them without bank conflicts.
 * fp32: a CUDA-core kernel with the same online softmax: 4 warps own 32 query rows (8 a warp),
 * one lane per key of a 32-key tile for the scores and one lane per output column for P V.
 *
 * Masking: keys past Sk, keys j > i + Sk - Sq when causal, and the additive mask (any shape that
 * broadcasts to (B, H, Sq, Sk), read through per-dim strides, 0 where it broadcasts). A row whose
 * every key is masked by -inf (or, causally, has no key at all) gives NaN as the reference does;
 * a finite mask (BERT's -10000 or the dtype's lowest value) gives the reference's finite
 * result, since the running maximum starts at -inf and differences are taken before scaling.
 *
 * Not here: head dims other than 32, 64 and 128, Dv != D, a mask dtype other than Q's, dropout,
 * KV caches, and the split-K (flash-decoding) form for a handful of long queries; supports()
 * refuses them and the node runs on the CPU.
 */
#include "common.cuh"

#include <math.h>
#include <type_traits>

/* ---- kernels -------------------------------------------------------------------------------- */

#define ATT_LOG2E 1.4426950408889634f

struct attn_args {
    const void *q, *k, *v; /* (B, Sq, H*D), (B, Sk, H*D), (B, Sk, H*D) */
    const void *mask;      /* broadcasting to (B, H, Sq, Sk), or NULL */
    void *y;               /* (B, Sq, H*D) */
    int64_t ms[4];         /* mask strides over (B, H, Sq, Sk); 0 where it broadcasts */
    int H, Sq, Sk;
    float scale;
    int causal;
    int aligned; /* q, k, v, y 16-byte aligned: vector copies */
};

/* Last key row `row` may see: Sk - 1, or row + Sk - Sq when causal (negative: none). */
__device__ __forceinline__ int last_visible_key(const attn_args &g, int row) {
    const int last = g.Sk - 1;
    if (!g.causal) return last;
    const int c = row + g.Sk - g.Sq;
    return c < last ? c : last;
}

/* Key tiles of `tile` keys that a block of query rows [q0, q0 + rows) has to visit. */
__device__ __forceinline__ int key_tiles(const attn_args &g, int q0, int rows, int tile) {
    int64_t end = g.Sk; /* one past the last key any row of the block sees */
    if (g.causal) {
        const int64_t last = (int64_t)q0 + rows - 1 + g.Sk - g.Sq;
        end = last + 1 < end ? last + 1 : end;
        if (end < 0) end = 0;
    }
    return (int)((end + tile - 1) / tile);
}

/* The mask row of (b, h, row); rows past Sq read row Sq - 1 (their output is not stored). */
template <typename T>
__device__ __forceinline__ const T *mask_row(const attn_args &g, int b, int h, int row) {
    if (!g.mask) return nullptr;
    const int r = row < g.Sq ? row : g.Sq - 1;
    return static_cast<const T *>(g.mask) + b * g.ms[0] + h * g.ms[1] + r * g.ms[2];
}

/* ---- fp16 / bf16: tensor cores ---- */

enum { ATT_WARPS = 4, ATT_THREADS = ATT_WARPS * 32, ATT_BM = ATT_WARPS * 16, ATT_BN = 64 };

__device__ __forceinline__ uint32_t smem_addr(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

#ifndef ZN_CUDA_EMU
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(smem)), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

/* Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i; r[i] is this
 * lane's pair of matrix i (row lane/4, cols 2*(lane%4) + {0,1}; transposed with _trans). */
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

/* c (16x8, f32) += a (16x16, row) * b (16x8, col). Fragments as in the PTX ISA: with g = lane/4,
 * t = lane%4, c = {(g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1)}; a = pairs (g, 2t..), (g+8, 2t..),
 * (g, 2t+8..), (g+8, 2t+8..); b = pairs (k = 2t.., n = g), (k = 2t+8.., n = g). */
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma_16816<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                 "{%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                                         uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
                 "{%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
#else /* make test-emu: the same instructions in C++ over the warp's lanes (tests/cuda_emu/) */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem) { zn_emu::cp_async16(smem, gmem); }
__device__ __forceinline__ void cp_async_commit() { zn_emu::cp_async_commit(); }
template <int N> __device__ __forceinline__ void cp_async_wait() { zn_emu::cp_async_wait(N); }
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *p) { zn_emu::ldmatrix_x4(r, p, false); }
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *p) { zn_emu::ldmatrix_x4(r, p, true); }
template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    zn_emu::mma_m16n8k16(c, a, b0, b1, std::is_same<T, __nv_bfloat16>::value);
}
#endif

/* Two floats as one 32-bit pair of T, lo in the low half (the lower column). */
template <typename T> __device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <> __device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
    const __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t *>(&h);
}
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t *>(&h);
}

/* Rows [r0, r0 + ROWS) of a (n_rows, D) matrix whose row r is at src + r * ld, into s
 * (ROWS, D + 8); rows at or past n_rows become zeros (a zero V row times p = 0 adds nothing,
 * where garbage could be NaN). Asynchronous when aligned; the caller commits and waits. */
template <typename T, int D, int ROWS>
__device__ __forceinline__ void load_tile(T *s, const T *src, int64_t ld, int r0, int n_rows, bool aligned) {
    constexpr int CH = D / 8; /* 16-byte chunks a row */
    for (int c = threadIdx.x; c < ROWS * CH; c += ATT_THREADS) {
        const int r = c / CH, col = (c % CH) * 8;
        T *dst = s + r * (D + 8) + col;
        if (r0 + r < n_rows) {
            const T *gp = src + (int64_t)(r0 + r) * ld + col;
            if (aligned) {
                cp_async16(dst, gp);
            } else {
#pragma unroll
                for (int e = 0; e < 8; e++) dst[e] = gp[e];
            }
        } else {
            *reinterpret_cast<uint4 *>(dst) = make_uint4(0u, 0u, 0u, 0u);
        }
    }
}

/* Shared memory of attention_mma_kernel<T, D>: Q (BM, D+8), K and V (2, BN, D+8) each. */
template <typename T, int D> constexpr size_t attention_mma_smem() {
    return sizeof(T) * (size_t)(D + 8) * (ATT_BM + 4 * ATT_BN);
}

// q, k, v, y: (B, S, H*D); grid (ceil(Sq / BM), H, B), ATT_THREADS threads
template <typename T, int D>
__global__ void __launch_bounds__(ATT_THREADS) attention_mma_kernel(const attn_args g) {
    constexpr int LDS = D + 8; /* shared row stride (elements): 16-byte pad */
    constexpr int NT_S = ATT_BN / 8, NT_O = D / 8;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T *sQ = reinterpret_cast<T *>(smem_raw); /* (BM, LDS) */
    T *sK = sQ + ATT_BM * LDS;               /* (2, BN, LDS) */
    T *sV = sK + 2 * ATT_BN * LDS;           /* (2, BN, LDS) */

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int gr = lane / 4, tc = lane % 4; /* fragment row (0..7) and column pair (0..3) */
    const int q0 = blockIdx.x * ATT_BM, h = blockIdx.y, b = blockIdx.z;
    const int64_t HD = (int64_t)g.H * D;
    const T *Q = static_cast<const T *>(g.q) + (int64_t)b * g.Sq * HD + (int64_t)h * D;
    const T *K = static_cast<const T *>(g.k) + (int64_t)b * g.Sk * HD + (int64_t)h * D;
    const T *V = static_cast<const T *>(g.v) + (int64_t)b * g.Sk * HD + (int64_t)h * D;
    T *Y = static_cast<T *>(g.y) + (int64_t)b * g.Sq * HD + (int64_t)h * D;
    const bool aligned = g.aligned != 0;
    const int n_tiles = key_tiles(g, q0, ATT_BM, ATT_BN);

    /* this thread's two query rows (fragment rows gr and gr + 8 of the warp's 16) */
    const int wr = warp * 16;
    const int rows[2] = {q0 + wr + gr, q0 + wr + gr + 8};
    const int lim[2] = {last_visible_key(g, rows[0]), last_visible_key(g, rows[1])};
    const T *mrow[2] = {mask_row<T>(g, b, h, rows[0]), mask_row<T>(g, b, h, rows[1])};
    const bool one_mask_row = mrow[0] == mrow[1];
    const int64_t mcol = g.ms[3];

    float o[NT_O][4];
#pragma unroll
    for (int j = 0; j < NT_O; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m_run[2] = {-INFINITY, -INFINITY}; /* running row maximum */
    float l_run[2] = {0.0f, 0.0f};           /* this thread's part of the running row sum */

    /* groups: Q, tile 0, then one per iteration (possibly empty) */
    load_tile<T, D, ATT_BM>(sQ, Q, HD, q0, g.Sq, aligned);
    cp_async_commit();
    if (n_tiles > 0) {
        load_tile<T, D, ATT_BN>(sK, K, HD, 0, g.Sk, aligned);
        load_tile<T, D, ATT_BN>(sV, V, HD, 0, g.Sk, aligned);
    }
    cp_async_commit();

    for (int t = 0; t < n_tiles; t++) {
        const int buf = t & 1, kv0 = t * ATT_BN;
        if (t + 1 < n_tiles) { /* the other buffer was released by the barrier ending t - 1 */
            load_tile<T, D, ATT_BN>(sK + (buf ^ 1) * ATT_BN * LDS, K, HD, kv0 + ATT_BN, g.Sk, aligned);
            load_tile<T, D, ATT_BN>(sV + (buf ^ 1) * ATT_BN * LDS, V, HD, kv0 + ATT_BN, g.Sk, aligned);
        }
        cp_async_commit();
        cp_async_wait<1>(); /* all but the group just committed: Q and tile t are in */
        __syncthreads();
        const T *kt = sK + buf * ATT_BN * LDS, *vt = sV + buf * ATT_BN * LDS;

        /* s (16 x BN) = Q_w K_t^T */
        float s[NT_S][4];
#pragma unroll
        for (int j = 0; j < NT_S; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            uint32_t a[4];
            ldmatrix_x4(a, sQ + (wr + (lane & 15)) * LDS + kk * 16 + (lane >> 4) * 8);
#pragma unroll
            for (int jp = 0; jp < ATT_BN / 16; jp++) {
                uint32_t bk[4]; /* keys 16jp + 8*(lane>>4) + lane%8, dims 16kk + 8*((lane>>3)&1) */
                ldmatrix_x4(bk, kt + (jp * 16 + ((lane >> 4) << 3) + (lane & 7)) * LDS + kk * 16 +
                                    ((lane >> 3) & 1) * 8);
                mma_16816<T>(s[2 * jp], a, bk[0], bk[1]);
                mma_16816<T>(s[2 * jp + 1], a, bk[2], bk[3]);
            }
        }

        /* scale, mask, and the new row maxima */
        float mx[2] = {m_run[0], m_run[1]};
#pragma unroll
        for (int j = 0; j < NT_S; j++) {
#pragma unroll
            for (int e = 0; e < 2; e++) { /* column 2tc + e of n-tile j */
                const int key = kv0 + j * 8 + 2 * tc + e;
                float add[2] = {0.0f, 0.0f};
                if (mrow[0] && key < g.Sk) {
                    add[0] = zn_ld(mrow[0], key * mcol);
                    add[1] = one_mask_row ? add[0] : zn_ld(mrow[1], key * mcol);
                }
#pragma unroll
                for (int hr = 0; hr < 2; hr++) { /* rows gr, gr + 8: elements e, 2 + e */
                    float &x = s[j][2 * hr + e];
                    x = key <= lim[hr] ? x * g.scale + add[hr] : -INFINITY;
                    mx[hr] = fmaxf(mx[hr], x);
                }
            }
        }
        float base[2];
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
            mx[hr] = fmaxf(mx[hr], __shfl_xor_sync(0xffffffffu, mx[hr], 1));
            mx[hr] = fmaxf(mx[hr], __shfl_xor_sync(0xffffffffu, mx[hr], 2));
            base[hr] = mx[hr] == -INFINITY ? 0.0f : mx[hr]; /* nothing visible yet: exp(-inf) = 0 */
            const float alpha = exp2f((m_run[hr] - base[hr]) * ATT_LOG2E);
            m_run[hr] = mx[hr];
            l_run[hr] *= alpha;
#pragma unroll
            for (int j = 0; j < NT_O; j++) {
                o[j][2 * hr] *= alpha;
                o[j][2 * hr + 1] *= alpha;
            }
        }
#pragma unroll
        for (int j = 0; j < NT_S; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int hr = e >> 1;
                s[j][e] = exp2f((s[j][e] - base[hr]) * ATT_LOG2E);
                l_run[hr] += s[j][e];
            }

        /* o (16 x D) += P (16 x BN) V_t: P's accumulators are the A fragments */
#pragma unroll
        for (int kk = 0; kk < ATT_BN / 16; kk++) {
            const uint32_t pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                                    pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                    pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int jp = 0; jp < D / 16; jp++) {
                uint32_t bv[4]; /* keys 16kk + 8*((lane>>3)&1) + lane%8, dims 16jp + 8*(lane>>4) */
                ldmatrix_x4_trans(bv, vt + (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * LDS + jp * 16 +
                                          (lane >> 4) * 8);
                mma_16816<T>(o[2 * jp], pa, bv[0], bv[1]);
                mma_16816<T>(o[2 * jp + 1], pa, bv[2], bv[3]);
            }
        }
        __syncthreads(); /* every warp is done with buffer `buf` before it is refilled */
    }
    cp_async_wait<0>();
    __syncthreads(); /* Q's copies have landed even when there was no tile */

    /* y = o / l, staged through the warp's own rows of sQ for 16-byte stores */
    float inv[2];
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        float l = l_run[hr];
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        inv[hr] = 1.0f / l; /* l == 0 (nothing visible): 0 * inf = NaN, as the reference */
    }
#pragma unroll
    for (int j = 0; j < NT_O; j++) {
        T *r0 = sQ + (wr + gr) * LDS + j * 8 + 2 * tc;
        *reinterpret_cast<uint32_t *>(r0) = pack2<T>(o[j][0] * inv[0], o[j][1] * inv[0]);
        *reinterpret_cast<uint32_t *>(r0 + 8 * LDS) = pack2<T>(o[j][2] * inv[1], o[j][3] * inv[1]);
    }
    __syncwarp();
    constexpr int CH = D / 8;
    for (int c = lane; c < 16 * CH; c += 32) {
        const int r = c / CH, col = (c % CH) * 8, row = q0 + wr + r;
        if (row >= g.Sq) continue;
        const T *src = sQ + (wr + r) * LDS + col;
        T *dst = Y + (int64_t)row * HD + col;
        if (aligned) {
            *reinterpret_cast<uint4 *>(dst) = *reinterpret_cast<const uint4 *>(src);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) dst[e] = src[e];
        }
    }
}

/* ---- fp32: CUDA cores ---- */

enum { F32_ROWS_WARP = 8, F32_BM = ATT_WARPS * F32_ROWS_WARP, F32_BN = 32 };

/* Shared memory of attention_f32_kernel<D>: Q (BM, D), K (BN, D+1), V (BN, D), P (BM, BN). */
template <int D> constexpr size_t attention_f32_smem() {
    return sizeof(float) * ((size_t)F32_BM * D + (size_t)F32_BN * (D + 1) + (size_t)F32_BN * D +
                            (size_t)F32_BM * F32_BN);
}

/* Rows [r0, r0 + ROWS) of a (n_rows, D) fp32 matrix with row stride ld into s (ROWS, LD);
 * rows at or past n_rows become zeros. */
template <int D, int ROWS, int LD>
__device__ __forceinline__ void load_rows_f32(float *s, const float *src, int64_t ld, int r0, int n_rows,
                                              bool aligned) {
    constexpr int CH = D / 4;
    for (int c = threadIdx.x; c < ROWS * CH; c += ATT_THREADS) {
        const int r = c / CH, col = (c % CH) * 4;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (r0 + r < n_rows) {
            const float *gp = src + (int64_t)(r0 + r) * ld + col;
            if (aligned) v = *reinterpret_cast<const float4 *>(gp);
            else v = make_float4(gp[0], gp[1], gp[2], gp[3]);
        }
        float *d = s + r * LD + col;
        d[0] = v.x;
        d[1] = v.y;
        d[2] = v.z;
        d[3] = v.w;
    }
}

// q, k, v, y: (B, S, H*D) fp32; grid (ceil(Sq / F32_BM), H, B), ATT_THREADS threads
template <int D>
__global__ void __launch_bounds__(ATT_THREADS) attention_f32_kernel(const attn_args g) {
    constexpr int NC = D / 32; /* output columns a lane: lane + 32c */
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float *sQ = reinterpret_cast<float *>(smem_raw); /* (BM, D) */
    float *sK = sQ + F32_BM * D;                     /* (BN, D + 1): lane-per-key reads, no conflicts */
    float *sV = sK + F32_BN * (D + 1);               /* (BN, D) */
    float *sP = sV + F32_BN * D;                     /* (BM, BN) */

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int q0 = blockIdx.x * F32_BM, h = blockIdx.y, b = blockIdx.z;
    const int64_t HD = (int64_t)g.H * D;
    const float *Q = static_cast<const float *>(g.q) + (int64_t)b * g.Sq * HD + (int64_t)h * D;
    const float *K = static_cast<const float *>(g.k) + (int64_t)b * g.Sk * HD + (int64_t)h * D;
    const float *V = static_cast<const float *>(g.v) + (int64_t)b * g.Sk * HD + (int64_t)h * D;
    float *Y = static_cast<float *>(g.y) + (int64_t)b * g.Sq * HD + (int64_t)h * D;
    const bool aligned = g.aligned != 0;
    const int n_tiles = key_tiles(g, q0, F32_BM, F32_BN);
    const int wr = warp * F32_ROWS_WARP; /* the warp's first row in the block */

    float o[F32_ROWS_WARP][NC], m_run[F32_ROWS_WARP], l_run[F32_ROWS_WARP];
#pragma unroll
    for (int r = 0; r < F32_ROWS_WARP; r++) {
        m_run[r] = -INFINITY;
        l_run[r] = 0.0f;
#pragma unroll
        for (int c = 0; c < NC; c++) o[r][c] = 0.0f;
    }

    load_rows_f32<D, F32_BM, D>(sQ, Q, HD, q0, g.Sq, aligned);
    for (int t = 0; t < n_tiles; t++) {
        const int kv0 = t * F32_BN, key = kv0 + lane;
        __syncthreads(); /* Q is in; the previous tile is no longer read */
        load_rows_f32<D, F32_BN, D + 1>(sK, K, HD, kv0, g.Sk, aligned);
        load_rows_f32<D, F32_BN, D>(sV, V, HD, kv0, g.Sk, aligned);
        __syncthreads();

        float s[F32_ROWS_WARP];
#pragma unroll
        for (int r = 0; r < F32_ROWS_WARP; r++) s[r] = 0.0f;
        const float *kr = sK + lane * (D + 1);
#pragma unroll 4
        for (int d = 0; d < D; d += 4) {
            const float k0 = kr[d], k1 = kr[d + 1], k2 = kr[d + 2], k3 = kr[d + 3];
#pragma unroll
            for (int r = 0; r < F32_ROWS_WARP; r++) {
                const float4 qv = *reinterpret_cast<const float4 *>(sQ + (wr + r) * D + d);
                s[r] = fmaf(qv.x, k0, fmaf(qv.y, k1, fmaf(qv.z, k2, fmaf(qv.w, k3, s[r]))));
            }
        }

#pragma unroll
        for (int r = 0; r < F32_ROWS_WARP; r++) {
            const int row = q0 + wr + r;
            float x = -INFINITY;
            if (key <= last_visible_key(g, row)) {
                const float *m = mask_row<float>(g, b, h, row);
                x = s[r] * g.scale + (m ? m[key * g.ms[3]] : 0.0f);
            }
            const float mx = fmaxf(m_run[r], zn_warp_max(x));
            const float base = mx == -INFINITY ? 0.0f : mx;
            const float alpha = exp2f((m_run[r] - base) * ATT_LOG2E);
            const float p = exp2f((x - base) * ATT_LOG2E);
            m_run[r] = mx;
            l_run[r] = l_run[r] * alpha + p;
#pragma unroll
            for (int c = 0; c < NC; c++) o[r][c] *= alpha;
            sP[(wr + r) * F32_BN + lane] = p;
        }
        __syncwarp();
#pragma unroll 4
        for (int j = 0; j < F32_BN; j++) {
            float vv[NC];
#pragma unroll
            for (int c = 0; c < NC; c++) vv[c] = sV[j * D + lane + 32 * c];
#pragma unroll
            for (int r = 0; r < F32_ROWS_WARP; r++) {
                const float p = sP[(wr + r) * F32_BN + j];
#pragma unroll
                for (int c = 0; c < NC; c++) o[r][c] = fmaf(p, vv[c], o[r][c]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < F32_ROWS_WARP; r++) {
        const int row = q0 + wr + r;
        const float inv = 1.0f / zn_warp_sum(l_run[r]); /* 0 (nothing visible): NaN, as the reference */
        if (row >= g.Sq) continue;
#pragma unroll
        for (int c = 0; c < NC; c++) Y[(int64_t)row * HD + lane + 32 * c] = o[r][c] * inv;
    }
}

/* ---- launchers ------------------------------------------------------------------------------ */

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

/* The node as the kernels see it. */
typedef struct attn_geom {
    zn_dtype dtype;
    int64_t B, H, Sq, Sk, D;
    bool has_mask;
    int64_t ms[4];
    float scale;
    bool causal;
} attn_geom;

/* Checks what the kernels handle and fills j: Q (B, Sq, H*D), K (B, Sk, H*D), V (B, Sk, H*D),
 * mask broadcasting to (B, H, Sq, Sk), y (B, Sq, H*D), one float dtype for all, D in
 * {32, 64, 128}, B and H within the grid's y and z limits. */
static bool attn_geometry(const zn_kernel_node *n, int n_in, const zn_view *in, const zn_view *out,
                          attn_geom *j) {
    if (n_in < 3 || n_in > 4) return false;
    const zn_view *q = &in[0], *k = &in[1], *v = &in[2], *y = &out[0];
    const zn_dtype t = q->dtype;
    if (!zn_is_float_dtype(t) || k->dtype != t || v->dtype != t || y->dtype != t) return false;
    const int64_t H = zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 1);
    if (q->rank != 3 || k->rank != 3 || v->rank != 3 || y->rank != 3 || H < 1 || H > 65535) return false;
    if (q->dims[2] % H || q->dims[2] != k->dims[2] || v->dims[2] != q->dims[2]) return false; /* Dv == D */
    if (k->dims[0] != q->dims[0] || v->dims[0] != q->dims[0] || v->dims[1] != k->dims[1]) return false;
    const int64_t B = q->dims[0], Sq = q->dims[1], Sk = k->dims[1], D = q->dims[2] / H;
    if (D != 32 && D != 64 && D != 128) return false;
    if (B > 65535 || Sq > (1 << 30) || Sk > (1 << 30)) return false;
    if (y->dims[0] != B || y->dims[1] != Sq || y->dims[2] != q->dims[2]) return false;
    j->dtype = t;
    j->B = B;
    j->H = H;
    j->Sq = Sq;
    j->Sk = Sk;
    j->D = D;
    j->has_mask = n_in > 3 && present(&in[3]);
    j->ms[0] = j->ms[1] = j->ms[2] = j->ms[3] = 0;
    if (j->has_mask) {
        const zn_view *m = &in[3];
        if (m->dtype != t || m->rank > 4) return false;
        const int64_t full[4] = {B, H, Sq, Sk};
        int64_t stride = 1;
        for (int d = 3; d >= 0; d--) {
            const int md = d - (4 - m->rank);
            const int64_t sz = md >= 0 ? m->dims[md] : 1;
            if (sz != 1 && sz != full[d]) return false;
            j->ms[d] = sz == 1 ? 0 : stride;
            stride *= sz;
        }
    }
    j->scale = zn_attrs_float(n->attrs, n->n_attrs, "scale", 1.0f);
    j->causal = zn_attrs_int(n->attrs, n->n_attrs, "causal", 0) != 0;
    return true;
}

static bool node_geometry(const zn_kernel_node *n, attn_geom *j) {
    return n->n_out == 1 && attn_geometry(n, n->n_in, n->in, n->out, j);
}

/* One kernel instance: its block rows, dynamic shared memory and launch. */
template <typename T, int D> struct attn_impl {
    static constexpr bool tensor_cores = !std::is_same<T, float>::value;
    static constexpr int block_rows = tensor_cores ? (int)ATT_BM : (int)F32_BM;
    static constexpr size_t smem() {
        if constexpr (tensor_cores) return attention_mma_smem<T, D>();
        else return attention_f32_smem<D>();
    }
    static const void *fn() {
        if constexpr (tensor_cores) return reinterpret_cast<const void *>(&attention_mma_kernel<T, D>);
        else return reinterpret_cast<const void *>(&attention_f32_kernel<D>);
    }
    static void launch(const attn_args &g, dim3 grid, cudaStream_t s) {
        if constexpr (tensor_cores) attention_mma_kernel<T, D><<<grid, ATT_THREADS, smem(), s>>>(g);
        else attention_f32_kernel<D><<<grid, ATT_THREADS, smem(), s>>>(g);
    }
};

/* Calls f(attn_impl<T, D>{}) for the geometry's dtype and head dim; f returns a zn_status. */
template <typename T, typename F> static zn_status with_head_dim(int64_t D, F &&f) {
    switch (D) {
    case 32: return f(attn_impl<T, 32>{});
    case 64: return f(attn_impl<T, 64>{});
    case 128: return f(attn_impl<T, 128>{});
    default: return zn_error_set(ZN_ERR_UNSUPPORTED, "ZnAttention: head dim %lld", (long long)D);
    }
}

template <typename F> static zn_status with_instance(const attn_geom &j, F &&f) {
    switch (j.dtype) {
    case ZN_F32: return with_head_dim<float>(j.D, f);
    case ZN_F16: return with_head_dim<__half>(j.D, f);
    case ZN_BF16: return with_head_dim<__nv_bfloat16>(j.D, f);
    default: return zn_error_set(ZN_ERR_UNSUPPORTED, "ZnAttention: dtype %s", zn_dtype_name(j.dtype));
    }
}

static bool sup_attention_mma(const zn_kernel_node *n) {
    attn_geom j;
    return node_geometry(n, &j) && (j.dtype == ZN_F16 || j.dtype == ZN_BF16);
}

static bool sup_attention_f32(const zn_kernel_node *n) {
    attn_geom j;
    return node_geometry(n, &j) && j.dtype == ZN_F32;
}

/* Opts the chosen kernel into its dynamic shared memory (above 48 KiB for D = 128) once per
 * plan, so run() launches without touching function attributes. */
static zn_status attention_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    attn_geom j;
    if (!node_geometry(n, &j))
        return zn_error_set(ZN_ERR_SHAPE, "ZnAttention '%s': inputs do not fit (re-run shape inference)", n->name);
    zn_status st = with_instance(j, [](auto impl) {
        using I = decltype(impl);
        return zn_cuda_status(cudaFuncSetAttribute(I::fn(), cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   (int)I::smem()),
                              "ZnAttention: cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    });
    if (st != ZN_OK) return st;
    prep->state = nullptr;
    prep->scratch_bytes = 0;
    return ZN_OK;
}

static zn_status attention_run(const zn_exec_ctx *ctx) {
    attn_geom j;
    if (ctx->n_out != 1 || !attn_geometry(ctx->node, ctx->n_in, ctx->in, ctx->out, &j))
        return zn_error_set(ZN_ERR_RUNTIME, "ZnAttention: inputs do not fit the node");
    const zn_view *y = &ctx->out[0];
    if (j.B == 0 || j.Sq == 0) return ZN_OK;
    if (j.Sk == 0) /* no keys: zeros, as the reference */
        return zn_cuda_status(cudaMemsetAsync(y->data, 0, zn_view_bytes(y), zn_stream(ctx)),
                              "ZnAttention: cudaMemsetAsync of an empty-key output");
    attn_args g;
    g.q = ctx->in[0].data;
    g.k = ctx->in[1].data;
    g.v = ctx->in[2].data;
    g.mask = j.has_mask ? ctx->in[3].data : nullptr;
    g.y = y->data;
    for (int d = 0; d < 4; d++) g.ms[d] = j.ms[d];
    g.H = (int)j.H;
    g.Sq = (int)j.Sq;
    g.Sk = (int)j.Sk;
    g.scale = j.scale;
    g.causal = j.causal;
    g.aligned = aligned16(g.q) && aligned16(g.k) && aligned16(g.v) && aligned16(g.y);
    return with_instance(j, [&](auto impl) {
        using I = decltype(impl);
        const dim3 grid((unsigned)((j.Sq + I::block_rows - 1) / I::block_rows), (unsigned)j.H, (unsigned)j.B);
        I::launch(g, grid, zn_stream(ctx));
        return zn_cuda_launched(I::tensor_cores ? "attention_mma_kernel" : "attention_f32_kernel");
    });
}

/* ============================== table ================================================== */

static const zn_kernel_spec specs[] = {
    {"cuda.attention_mma", ZN_OP_ATTENTION, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, sup_attention_mma,
     attention_prepare, nullptr, attention_run},
    {"cuda.attention_f32", ZN_OP_ATTENTION, ZN_BACKEND_CUDA, ZN_F32, 10, 0, sup_attention_f32,
     attention_prepare, nullptr, attention_run},
};

ZN_KERNEL_TABLE(zn_cuda_attention_table, specs);
