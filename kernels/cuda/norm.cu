/* norm.cu — CUDA kernels for the row-wise normalizations: LayerNormalization, ZnAddLayerNorm
 * (y = LN(a + b), optionally also writing a + b) and Softmax over the last axis.
 *
 * Every op here reduces independent rows of a (rows, D) view, so one kernel shape serves all:
 * a group of `tpr` threads (one warp, or up to 8 warps for long rows) owns a row; it loads the
 * row into registers (16-byte vectors when the pointers are aligned and D divides into
 * vectors), reduces in fp32 (warp shuffles, then shared memory across the warps of a group) and
 * writes the result from the registers. Rows too long for the registers take a three-pass path
 * that re-reads the row from global memory (L2) instead. Statistics are fp32 and two-pass (mean,
 * then the sum of squared deviations) as in the references (kernels/cpu/ref_norm.c,
 * ref_reduce.c); I/O is fp32, fp16 or bf16. Every element is read before any of its row is
 * written, so LayerNormalization and Softmax may run in place (out == in).
 *
 * Not here: Softmax over an inner axis (supports() refuses it unless the dims after the axis
 * are all 1), ZnAddLayerNorm operands that broadcast other than by repeating a trailing block
 * of the output (e.g. (B,1,D) against (B,S,D)), mixed dtypes, rows of more than 2^30
 * elements, BatchNormalization (conv.cu, cuDNN).
 */
#include "common.cuh"

#include <limits.h>

/* ---- kernels -------------------------------------------------------------------------------- */

/* Threads per row at most; vectors a thread holds at most; the block of short rows; the longest
 * row (c + stride stays in int). */
enum { MAX_ROW_THREADS = 256, MAX_NV = 8, ROWS_BLOCK = 128, MAX_ROW_LEN = 1 << 30 };

/* VEC consecutive elements p[i .. i+VEC) as floats; when VEC > 1 they are 16 aligned bytes. */
template <typename T, int VEC>
__device__ __forceinline__ void load_vec(const T *p, int64_t i, float (&v)[VEC]) {
    if constexpr (VEC == 1) {
        v[0] = zn_ld(p, i);
    } else {
        static_assert(VEC * sizeof(T) == 16, "vectors are 16 bytes");
        const uint4 u = *reinterpret_cast<const uint4 *>(p + i);
        const T *e = reinterpret_cast<const T *>(&u);
#pragma unroll
        for (int k = 0; k < VEC; k++) v[k] = zn_ld(e, k);
    }
}

template <typename T, int VEC>
__device__ __forceinline__ void store_vec(T *p, int64_t i, const float (&v)[VEC]) {
    if constexpr (VEC == 1) {
        zn_st(p, i, v[0]);
    } else {
        static_assert(VEC * sizeof(T) == 16, "vectors are 16 bytes");
        uint4 u;
        T *e = reinterpret_cast<T *>(&u);
#pragma unroll
        for (int k = 0; k < VEC; k++) zn_st(e, k, v[k]);
        *reinterpret_cast<uint4 *>(p + i) = u;
    }
}

/* v rounded to T and back: what a tensor of dtype T holds after storing v. */
template <typename T> __device__ __forceinline__ float round_to(float v) {
    const T t = zn_from_float<T>(v);
    return zn_ld(&t, 0);
}

/* A LayerNorm parameter (Scale or B) at c..c+VEC: one value per element, or one for all. */
template <typename T, int VEC>
__device__ __forceinline__ void load_param(const T *p, int per_element, int c, float (&v)[VEC]) {
    if (per_element) {
        load_vec<T, VEC>(p, c, v);
    } else {
        const float s = zn_ld(p, 0);
#pragma unroll
        for (int k = 0; k < VEC; k++) v[k] = s;
    }
}

/* Sum (or max) over the `tpr` threads of a row group. tpr is 32 (one warp) or a multiple of 32
 * equal to blockDim.x / rows_per_block; it is uniform over the block, so every thread reaches
 * the barriers. red: a slot per warp of each group (at most 4 groups, 32 warps each). */
template <bool MAX>
__device__ __forceinline__ float group_reduce(float v, int tpr, float (*red)[32]) {
    v = MAX ? zn_warp_max(v) : zn_warp_sum(v);
    if (tpr == 32) return v;
    const int group = threadIdx.x / tpr, warp = (threadIdx.x % tpr) / 32, n_warps = tpr / 32;
    __syncthreads(); /* every thread has read red in the previous reduction */
    if ((threadIdx.x & 31) == 0) red[group][warp] = v;
    __syncthreads();
    float r = red[group][0];
    for (int w = 1; w < n_warps; w++) r = MAX ? fmaxf(r, red[group][w]) : r + red[group][w];
    return r;
}

/* An operand of a LayerNorm: its numel n divides rows * D; it is either dense (rows, D) or a
 * trailing block of the output's shape repeated over the leading dims, so that output element
 * (r, c) reads flat index (r * D + c) % n. */
struct ln_src {
    const void *p;
    int64_t n;
};

struct ln_args {
    ln_src a, b;              /* LayerNorm: x is a, b.p == NULL. ZnAddLayerNorm: a + b */
    const void *gamma, *beta; /* (D) or (1); beta may be NULL */
    int gamma_per_elem, beta_per_elem;
    void *y;                  /* (rows, D) */
    void *sum;                /* ZnAddLayerNorm's a + b (rows, D), or NULL */
    void *mean, *inv_std;     /* LayerNorm's (rows) statistics, or NULL */
    int stats_f32;            /* statistics dtype: f32, else the I/O dtype */
    int64_t rows;
    int D;
    int tpr;                  /* threads per row */
    float eps;
};

/* Where operand s's elements for output row `row` start: its row (row % (n / D)) when n is a
 * multiple of D, else -1 (n divides D: element c is at c % n). Computed once a row, it keeps
 * the 64-bit division out of the per-vector path. */
__device__ __forceinline__ int64_t src_row(const ln_src &s, int64_t row, int D) {
    return s.n >= (int64_t)D ? (row % (s.n / D)) * D : -1;
}

/* Offset of output element (row, c) in s, given src_row. When VEC > 1, c is a multiple of VEC
 * and n % VEC == 0, so the VEC elements from the offset are contiguous and aligned. */
__device__ __forceinline__ int64_t src_offset(const ln_src &s, int64_t base, int c) {
    return base >= 0 ? base + c : c % s.n;
}

/* Row bases of a LayerNorm's operands. */
struct ln_row {
    int64_t row, a, b;
};

__device__ __forceinline__ ln_row ln_row_at(const ln_args &g, int64_t row) {
    return {row, src_row(g.a, row, g.D), g.b.p ? src_row(g.b, row, g.D) : 0};
}

/* The LayerNorm input at (row, c .. c+VEC): x, or a + b rounded to T (what the unfused Add
 * stores), also written to the sum output when write_sum and there is one. */
template <typename T, int VEC>
__device__ __forceinline__ void ln_input(const ln_args &g, const ln_row &r, int c, bool write_sum,
                                         float (&v)[VEC]) {
    load_vec<T, VEC>(static_cast<const T *>(g.a.p), src_offset(g.a, r.a, c), v);
    if (!g.b.p) return;
    float w[VEC];
    load_vec<T, VEC>(static_cast<const T *>(g.b.p), src_offset(g.b, r.b, c), w);
#pragma unroll
    for (int k = 0; k < VEC; k++) v[k] = round_to<T>(v[k] + w[k]);
    if (write_sum && g.sum) store_vec<T, VEC>(static_cast<T *>(g.sum), r.row * g.D + c, v);
}

/* y = (x - mean) * inv_std * gamma + beta at (row, c .. c+VEC), x given in v. */
template <typename T, int VEC>
__device__ __forceinline__ void ln_output(const ln_args &g, int64_t row, int c, const float (&v)[VEC],
                                          float mean, float inv_std) {
    float gm[VEC], bt[VEC], out[VEC];
    load_param<T, VEC>(static_cast<const T *>(g.gamma), g.gamma_per_elem, c, gm);
    if (g.beta) load_param<T, VEC>(static_cast<const T *>(g.beta), g.beta_per_elem, c, bt);
#pragma unroll
    for (int k = 0; k < VEC; k++) {
        const float t = (v[k] - mean) * inv_std * gm[k];
        out[k] = g.beta ? t + bt[k] : t;
    }
    store_vec<T, VEC>(static_cast<T *>(g.y), row * g.D + c, out);
}

template <typename T> __device__ __forceinline__ void store_stat(void *p, int f32, int64_t i, float v) {
    if (f32) static_cast<float *>(p)[i] = v;
    else zn_st(static_cast<T *>(p), i, v);
}

/* LayerNorm / ZnAddLayerNorm over rows of D. Block: ROWS_BLOCK threads holding
 * ROWS_BLOCK / tpr rows, or tpr threads holding one. NV > 0: thread `lane` of a row holds the
 * vectors lane, lane + tpr, ... (at most NV) in registers; NV == 0: the row is streamed three
 * times (sum, squared deviations, output). */
template <typename T, int VEC, int NV>
__global__ void __launch_bounds__(MAX_ROW_THREADS) layernorm_kernel(const ln_args g) {
    __shared__ float red[ROWS_BLOCK / 32][32];
    const int tpr = g.tpr, lane = threadIdx.x % tpr;
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / tpr) + threadIdx.x / tpr;
    const bool active = row < g.rows; /* inactive groups still join the barriers */
    const int D = g.D, stride = tpr * VEC;
    const ln_row at = ln_row_at(g, active ? row : 0);
    float sum = 0.0f, sq = 0.0f;
    if constexpr (NV > 0) {
        float v[NV][VEC];
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (active && c < D) {
                ln_input<T, VEC>(g, at, c, true, v[k]);
#pragma unroll
                for (int e = 0; e < VEC; e++) sum += v[k][e];
            }
        }
        const float mean = group_reduce<false>(sum, tpr, red) / (float)D;
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (active && c < D) {
#pragma unroll
                for (int e = 0; e < VEC; e++) {
                    const float d = v[k][e] - mean;
                    sq += d * d;
                }
            }
        }
        const float inv_std = 1.0f / sqrtf(group_reduce<false>(sq, tpr, red) / (float)D + g.eps);
        if (!active) return; /* no barrier follows */
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (c < D) ln_output<T, VEC>(g, row, c, v[k], mean, inv_std);
        }
        if (lane == 0 && g.mean) store_stat<T>(g.mean, g.stats_f32, row, mean);
        if (lane == 0 && g.inv_std) store_stat<T>(g.inv_std, g.stats_f32, row, inv_std);
    } else {
        float v[VEC];
        if (active)
            for (int c = lane * VEC; c < D; c += stride) {
                ln_input<T, VEC>(g, at, c, true, v);
                for (int e = 0; e < VEC; e++) sum += v[e];
            }
        const float mean = group_reduce<false>(sum, tpr, red) / (float)D;
        if (active)
            for (int c = lane * VEC; c < D; c += stride) {
                ln_input<T, VEC>(g, at, c, false, v); /* the sum is out */
                for (int e = 0; e < VEC; e++) {
                    const float d = v[e] - mean;
                    sq += d * d;
                }
            }
        const float inv_std = 1.0f / sqrtf(group_reduce<false>(sq, tpr, red) / (float)D + g.eps);
        if (!active) return;
        for (int c = lane * VEC; c < D; c += stride) {
            ln_input<T, VEC>(g, at, c, false, v); /* the sum is out */
            ln_output<T, VEC>(g, row, c, v, mean, inv_std);
        }
        if (lane == 0 && g.mean) store_stat<T>(g.mean, g.stats_f32, row, mean);
        if (lane == 0 && g.inv_std) store_stat<T>(g.inv_std, g.stats_f32, row, inv_std);
    }
}

struct softmax_args {
    const void *x;
    void *y; /* (rows, L); may equal x */
    int64_t rows;
    int L;
    int tpr;
};

/* y = exp(x - max) / sum(exp(x - max)) over rows of L; same row layout as layernorm_kernel.
 * A NaN in a row (or a row of -inf) gives a row of NaN, as the reference does. */
template <typename T, int VEC, int NV>
__global__ void __launch_bounds__(MAX_ROW_THREADS) softmax_kernel(const softmax_args g) {
    __shared__ float red[ROWS_BLOCK / 32][32];
    const int tpr = g.tpr, lane = threadIdx.x % tpr;
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / tpr) + threadIdx.x / tpr;
    const bool active = row < g.rows;
    const int L = g.L, stride = tpr * VEC;
    const T *x = static_cast<const T *>(g.x) + (active ? row * L : 0);
    T *y = static_cast<T *>(g.y) + (active ? row * L : 0);
    float mx = -INFINITY, sum = 0.0f;
    if constexpr (NV > 0) {
        float v[NV][VEC];
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (active && c < L) {
                load_vec<T, VEC>(x, c, v[k]);
#pragma unroll
                for (int e = 0; e < VEC; e++) mx = fmaxf(mx, v[k][e]);
            }
        }
        mx = group_reduce<true>(mx, tpr, red);
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (active && c < L) {
#pragma unroll
                for (int e = 0; e < VEC; e++) {
                    v[k][e] = expf(v[k][e] - mx);
                    sum += v[k][e];
                }
            }
        }
        const float inv = 1.0f / group_reduce<false>(sum, tpr, red);
        if (!active) return;
#pragma unroll
        for (int k = 0; k < NV; k++) {
            const int c = (lane + k * tpr) * VEC;
            if (c < L) {
#pragma unroll
                for (int e = 0; e < VEC; e++) v[k][e] *= inv;
                store_vec<T, VEC>(y, c, v[k]);
            }
        }
    } else {
        float v[VEC];
        if (active)
            for (int c = lane * VEC; c < L; c += stride) {
                load_vec<T, VEC>(x, c, v);
                for (int e = 0; e < VEC; e++) mx = fmaxf(mx, v[e]);
            }
        mx = group_reduce<true>(mx, tpr, red);
        if (active)
            for (int c = lane * VEC; c < L; c += stride) {
                load_vec<T, VEC>(x, c, v);
                for (int e = 0; e < VEC; e++) sum += expf(v[e] - mx);
            }
        const float inv = 1.0f / group_reduce<false>(sum, tpr, red);
        if (!active) return;
        for (int c = lane * VEC; c < L; c += stride) {
            load_vec<T, VEC>(x, c, v);
            for (int e = 0; e < VEC; e++) v[e] = expf(v[e] - mx) * inv;
            store_vec<T, VEC>(y, c, v);
        }
    }
}

/* ---- launchers ------------------------------------------------------------------------------ */

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool in_present(const zn_kernel_node *n, int i) { return i < n->n_in && present(&n->in[i]); }
static bool out_present(const zn_kernel_node *n, int k) { return k < n->n_out && present(&n->out[k]); }
static bool aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }
static int norm_axis(int64_t axis, int rank) { return (int)(axis < 0 ? axis + rank : axis); }

/* How rows of D elements are spread: `vec` elements per load, `tpr` threads per row (32..256),
 * `nv` vectors per thread held in registers (1, 2, 4, 8; 0: streamed), the launch geometry. */
typedef struct row_plan {
    int vec, tpr, nv;
    unsigned block, grid;
} row_plan;

static row_plan plan_rows(int64_t rows, int64_t D, int vec) {
    row_plan p;
    p.vec = vec;
    const int64_t nvec = D / vec; /* D % vec == 0 when vec > 1 */
    /* about four vectors a thread: enough bytes in flight, few registers */
    p.tpr = 32;
    while (p.tpr < MAX_ROW_THREADS && (int64_t)p.tpr * 4 < nvec) p.tpr *= 2;
    const int64_t per = (nvec + p.tpr - 1) / p.tpr;
    p.nv = per <= 1 ? 1 : per <= 2 ? 2 : per <= 4 ? 4 : per <= MAX_NV ? 8 : 0;
    p.block = (unsigned)(p.tpr < ROWS_BLOCK ? ROWS_BLOCK : p.tpr);
    const int64_t rows_per_block = p.block / p.tpr;
    p.grid = (unsigned)((rows + rows_per_block - 1) / rows_per_block);
    return p;
}

/* Rows the launch can index: the grid must stay within 2^31 - 1 blocks. */
static bool rows_fit(int64_t rows) { return rows >= 0 && rows <= (int64_t)INT_MAX; }

/* Calls BODY with the compile-time NV of plan p (a constexpr int named NV_). */
#define NORM_DISPATCH_NV(nv, BODY)                                         \
    switch (nv) {                                                        \
    case 1: { constexpr int NV_ = 1; BODY; } break;                      \
    case 2: { constexpr int NV_ = 2; BODY; } break;                      \
    case 4: { constexpr int NV_ = 4; BODY; } break;                      \
    case 8: { constexpr int NV_ = 8; BODY; } break;                      \
    default: { constexpr int NV_ = 0; BODY; } break;                     \
    }

template <typename T>
static void launch_layernorm(const ln_args &g0, const row_plan &p, cudaStream_t s) {
    ln_args g = g0;
    g.tpr = p.tpr;
    if (p.vec > 1) {
        constexpr int V = 16 / sizeof(T);
        NORM_DISPATCH_NV(p.nv, (layernorm_kernel<T, V, NV_><<<p.grid, p.block, 0, s>>>(g)));
    } else {
        NORM_DISPATCH_NV(p.nv, (layernorm_kernel<T, 1, NV_><<<p.grid, p.block, 0, s>>>(g)));
    }
}

template <typename T>
static void launch_softmax(const softmax_args &g0, const row_plan &p, cudaStream_t s) {
    softmax_args g = g0;
    g.tpr = p.tpr;
    if (p.vec > 1) {
        constexpr int V = 16 / sizeof(T);
        NORM_DISPATCH_NV(p.nv, (softmax_kernel<T, V, NV_><<<p.grid, p.block, 0, s>>>(g)));
    } else {
        NORM_DISPATCH_NV(p.nv, (softmax_kernel<T, 1, NV_><<<p.grid, p.block, 0, s>>>(g)));
    }
}

/* Splits x's shape at `axis`: rows = prod(dims[:axis]), D = prod(dims[axis:]). */
static void split_at(const zn_view *x, int axis, int64_t *rows, int64_t *D) {
    *rows = 1;
    *D = 1;
    for (int d = 0; d < x->rank; d++) *(d < axis ? rows : D) *= x->dims[d];
}

/* Scale or B: dtype t and D values or one. */
static bool param_ok(const zn_view *p, zn_dtype t, int64_t D) {
    if (p->dtype != t) return false;
    int64_t n = zn_view_numel(p);
    return n == D || n == 1;
}

/* Whether operand v reaches the output shape y by repeating a trailing block: right-aligned
 * against y, its dims are 1 up to some point and equal to y's from there on. */
static bool trailing_block(const zn_view *v, const zn_view *y) {
    if (v->rank > y->rank) return false;
    bool ones = true; /* still in the leading run of 1s */
    for (int d = 0; d < v->rank; d++) {
        const int64_t vd = v->dims[d], yd = y->dims[y->rank - v->rank + d];
        if (ones && vd == 1 && yd != 1) continue;
        ones = false;
        if (vd != yd) return false;
    }
    return true;
}

/* An operand's element count n, valid for src_offset: a multiple of D, or a divisor of it. */
static bool src_fits(int64_t n, int64_t D) { return n >= 1 && (n % D == 0 || D % n == 0); }

/* ============================== LayerNormalization ===================================== */

static bool sup_layernorm(const zn_kernel_node *n) {
    if (n->n_in < 2 || n->n_in > 3 || n->n_out < 1 || n->n_out > 3) return false;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    const zn_dtype t = x->dtype;
    if (!zn_is_float_dtype(t) || y->dtype != t || x->rank < 1) return false;
    if (zn_view_numel(y) != zn_view_numel(x)) return false;
    const int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -x->rank || axis >= x->rank) return false;
    int64_t rows, D;
    split_at(x, norm_axis(axis, x->rank), &rows, &D);
    if (D < 1 || D > MAX_ROW_LEN || !rows_fit(rows)) return false;
    if (!param_ok(&n->in[1], t, D)) return false;
    if (in_present(n, 2) && !param_ok(&n->in[2], t, D)) return false;
    for (int k = 1; k < n->n_out; k++) {
        if (!out_present(n, k)) continue;
        const zn_view *s = &n->out[k];
        if ((s->dtype != ZN_F32 && s->dtype != t) || zn_view_numel(s) != rows) return false;
    }
    /* Mean and InvStdDev share one dtype flag in the kernel */
    if (out_present(n, 1) && out_present(n, 2) && n->out[1].dtype != n->out[2].dtype) return false;
    return true;
}

static void *out_data(const zn_exec_ctx *ctx, int k) {
    return ctx->n_out > k && present(&ctx->out[k]) ? ctx->out[k].data : nullptr;
}

// x, y: (rows, D) split at `axis`; Scale, B: (D) or (1); Mean, InvStdDev: (rows)
static zn_status layernorm_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *x = &ctx->in[0];
    int64_t rows, D;
    split_at(x, norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), x->rank), &rows, &D);
    if (rows == 0) return ZN_OK;
    const zn_view *gamma = &ctx->in[1], *beta = ctx->n_in > 2 && present(&ctx->in[2]) ? &ctx->in[2] : nullptr;
    ln_args g = {};
    g.a = {x->data, rows * D};
    g.b = {nullptr, 0};
    g.gamma = gamma->data;
    g.gamma_per_elem = zn_view_numel(gamma) != 1;
    g.beta = beta ? beta->data : nullptr;
    g.beta_per_elem = beta && zn_view_numel(beta) != 1;
    g.y = ctx->out[0].data;
    g.sum = nullptr;
    g.mean = out_data(ctx, 1);
    g.inv_std = out_data(ctx, 2);
    g.stats_f32 = (g.mean ? ctx->out[1].dtype : g.inv_std ? ctx->out[2].dtype : ZN_F32) == ZN_F32;
    g.rows = rows;
    g.D = (int)D;
    g.eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    const int vec16 = (int)(16 / zn_dtype_size(x->dtype));
    const bool vec_ok = D % vec16 == 0 && aligned16(g.a.p) && aligned16(g.y) && aligned16(g.gamma) &&
                        (!g.beta || aligned16(g.beta));
    const row_plan p = plan_rows(rows, D, vec_ok ? vec16 : 1);
    ZN_DISPATCH_FLOAT(x->dtype, launch_layernorm<T>(g, p, zn_stream(ctx)));
    return zn_cuda_launched("layernorm_kernel");
}

/* ============================== ZnAddLayerNorm ========================================= */

static bool sup_addln(const zn_kernel_node *n) {
    if (n->n_in < 3 || n->n_in > 4 || n->n_out < 1 || n->n_out > 2) return false;
    const zn_view *a = &n->in[0], *b = &n->in[1], *y = &n->out[0];
    const zn_dtype t = y->dtype;
    if (!zn_is_float_dtype(t) || a->dtype != t || b->dtype != t || y->rank < 1) return false;
    if (!trailing_block(a, y) || !trailing_block(b, y)) return false;
    const int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -y->rank || axis >= y->rank) return false;
    int64_t rows, D;
    split_at(y, norm_axis(axis, y->rank), &rows, &D);
    if (D < 1 || D > MAX_ROW_LEN || !rows_fit(rows)) return false;
    if (!src_fits(zn_view_numel(a), D) || !src_fits(zn_view_numel(b), D)) return false;
    if (!param_ok(&n->in[2], t, D)) return false;
    if (in_present(n, 3) && !param_ok(&n->in[3], t, D)) return false;
    if (out_present(n, 1) && (n->out[1].dtype != t || zn_view_numel(&n->out[1]) != zn_view_numel(y)))
        return false;
    return true;
}

// a, b: trailing blocks of y's shape; y, a + b: (rows, D) split at `axis`; gamma, beta: (D) or (1)
static zn_status addln_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *y = &ctx->out[0];
    int64_t rows, D;
    split_at(y, norm_axis(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), y->rank), &rows, &D);
    if (rows == 0) return ZN_OK;
    const zn_view *gamma = &ctx->in[2], *beta = ctx->n_in > 3 && present(&ctx->in[3]) ? &ctx->in[3] : nullptr;
    ln_args g = {};
    g.a = {ctx->in[0].data, zn_view_numel(&ctx->in[0])};
    g.b = {ctx->in[1].data, zn_view_numel(&ctx->in[1])};
    g.gamma = gamma->data;
    g.gamma_per_elem = zn_view_numel(gamma) != 1;
    g.beta = beta ? beta->data : nullptr;
    g.beta_per_elem = beta && zn_view_numel(beta) != 1;
    g.y = y->data;
    g.sum = out_data(ctx, 1);
    g.mean = g.inv_std = nullptr;
    g.stats_f32 = 1;
    g.rows = rows;
    g.D = (int)D;
    g.eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    const int vec16 = (int)(16 / zn_dtype_size(y->dtype));
    const bool vec_ok = D % vec16 == 0 && g.a.n % vec16 == 0 && g.b.n % vec16 == 0 &&
                        aligned16(g.a.p) && aligned16(g.b.p) && aligned16(g.y) &&
                        (!g.sum || aligned16(g.sum)) && aligned16(g.gamma) && (!g.beta || aligned16(g.beta));
    const row_plan p = plan_rows(rows, D, vec_ok ? vec16 : 1);
    ZN_DISPATCH_FLOAT(y->dtype, launch_layernorm<T>(g, p, zn_stream(ctx)));
    return zn_cuda_launched("layernorm_kernel (ZnAddLayerNorm)");
}

/* ============================== Softmax ================================================ */

/* The softmax axis and length; the dims after the axis must all be 1 (rows of L). */
static bool softmax_rows(const zn_view *x, const zn_kernel_node *n, int64_t *rows, int64_t *L) {
    if (x->rank < 1) return false;
    const int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", -1);
    if (axis < -x->rank || axis >= x->rank) return false;
    const int a = norm_axis(axis, x->rank);
    for (int d = a + 1; d < x->rank; d++)
        if (x->dims[d] != 1) return false;
    int64_t r = 1;
    for (int d = 0; d < a; d++) r *= x->dims[d];
    *rows = r;
    *L = x->dims[a];
    return true;
}

static bool sup_softmax(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1) return false;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    if (!zn_is_float_dtype(x->dtype) || y->dtype != x->dtype) return false;
    if (zn_view_numel(y) != zn_view_numel(x)) return false;
    int64_t rows, L;
    if (!softmax_rows(x, n, &rows, &L)) return false;
    return L <= MAX_ROW_LEN && rows_fit(rows);
}

// x, y: (rows, L), softmax over L
static zn_status softmax_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t rows, L;
    if (!softmax_rows(x, ctx->node, &rows, &L))
        return zn_error_set(ZN_ERR_RUNTIME, "Softmax: input shape does not fit the node");
    if (rows == 0 || L == 0) return ZN_OK;
    softmax_args g = {x->data, ctx->out[0].data, rows, (int)L, 32};
    const int vec16 = (int)(16 / zn_dtype_size(x->dtype));
    const bool vec_ok = L % vec16 == 0 && aligned16(g.x) && aligned16(g.y);
    const row_plan p = plan_rows(rows, L, vec_ok ? vec16 : 1);
    ZN_DISPATCH_FLOAT(x->dtype, launch_softmax<T>(g, p, zn_stream(ctx)));
    return zn_cuda_launched("softmax_kernel");
}

/* ============================== table ================================================== */

static const zn_kernel_spec specs[] = {
    {"cuda.layernorm", ZN_OP_LAYER_NORM, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, ZN_KERNEL_INPLACE,
     sup_layernorm, nullptr, nullptr, layernorm_run},
    {"cuda.add_layernorm", ZN_OP_ADD_LAYER_NORM, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, sup_addln,
     nullptr, nullptr, addln_run},
    {"cuda.softmax", ZN_OP_SOFTMAX, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, ZN_KERNEL_INPLACE,
     sup_softmax, nullptr, nullptr, softmax_run},
};

ZN_KERNEL_TABLE(zn_cuda_norm_table, specs);
