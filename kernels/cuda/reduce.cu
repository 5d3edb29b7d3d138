/* reduce.cu — CUDA kernels for ReduceMean / ReduceSum / ReduceMax / ReduceMin / ReduceProd and
 * ArgMax.
 *
 * Semantics are the CPU reference's (kernels/cpu/ref_reduce.c): axes from the `axes` attribute
 * or a constant i64 input 1 (negative axes count from the end, duplicates allowed); no axes
 * reduce everything, or nothing with noop_with_empty_axes=1; keepdims only changes the output
 * shape, never its layout. Float dtypes (f32/f16/bf16) accumulate in fp32; Sum/Max/Min/Prod
 * also run on i64 and i32, accumulating in i64 with wrapping (so i32 results wrap as i32 math
 * would). Max/Min propagate NaN; an empty reduction gives the identity (0, 1, -inf, +inf, and
 * NaN for Mean). ArgMax gives i64: the first maximum (the last with select_last_index=1), NaN
 * counting as the largest value with the first NaN winning.
 *
 * Prepare drops size-1 dims and merges adjacent dims that are both kept or both reduced, so the
 * input is (outer, len, inner) whenever the reduced dims are one contiguous block:
 *   rows     inner == 1: a warp per output (len <= 1024) or a block per output (longer),
 *            the block version splitting long rows over several blocks when there are too few
 *            rows to fill the GPU (partials in the step's scratch, then a finalize kernel);
 *   columns  inner > 1: a 2-D block, x across inner (coalesced), y across len, a shared-memory
 *            tree over y; split over len the same way;
 *   strided  anything else (reduced dims not contiguous, or len <= 16): a thread per output
 *            walking the reduced dims with an odometer.
 * No reduced dim of size > 1 left means a device copy (ArgMax: zeros).
 * Not here: Softmax (norm.cu), shape inference (engine/infer_reduce.c), ReduceL1/L2/LogSum*
 * (not Zenith ops). Refused: axes that are not a compile-time constant, Mean on integers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>

#include "common.cuh"

#define RED_BLOCK 256          /* threads of every reduction block */
#define RED_SMALL_LEN 16       /* reductions this short run as a thread per output */
#define RED_WARP_LEN 1024      /* rows up to this long run as a warp per output */
#define RED_TARGET_BLOCKS 1024 /* about the resident blocks of an H100 (132 SMs x 8) */
#define RED_MAX_GRID (65535LL * 8)

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_ARGMAX };

enum {
    RK_NONE,    /* empty output: nothing to do */
    RK_COPY,    /* nothing reduced (all reduced dims have size 1): a copy */
    RK_ZEROS,   /* ArgMax over an axis of size 1: zeros */
    RK_ROWS_WARP,
    RK_ROWS_BLOCK,
    RK_COLS,
    RK_STRIDED,
};

/* Everything up to the spec table has internal linkage: template kernels and helpers of the same
 * name in other kernel files cannot collide at link time. */
namespace {

/* ============================== accumulators and reducers ===================================== */

/* Accumulator of a value: fp32 for float dtypes, i64 for integers. */
template <class T> struct acc_of { typedef float type; };
template <> struct acc_of<int64_t> { typedef int64_t type; };
template <> struct acc_of<int32_t> { typedef int64_t type; };
template <class T> using acc_t = typename acc_of<T>::type;

template <class T> __device__ __forceinline__ acc_t<T> to_acc(T x) { return (acc_t<T>)x; }
template <> __device__ __forceinline__ float to_acc<__half>(__half x) { return __half2float(x); }
template <> __device__ __forceinline__ float to_acc<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T> __device__ __forceinline__ T from_acc(acc_t<T> v) { return (T)v; }
template <> __device__ __forceinline__ __half from_acc<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_acc<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ __forceinline__ int32_t from_acc<int32_t>(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* The identities of Max and Min in T's range (what an empty reduction gives). */
template <class T> __device__ __forceinline__ acc_t<T> lowest() { return -INFINITY; }
template <> __device__ __forceinline__ int64_t lowest<int64_t>() { return INT64_MIN; }
template <> __device__ __forceinline__ int64_t lowest<int32_t>() { return INT32_MIN; }
template <class T> __device__ __forceinline__ acc_t<T> highest() { return INFINITY; }
template <> __device__ __forceinline__ int64_t highest<int64_t>() { return INT64_MAX; }
template <> __device__ __forceinline__ int64_t highest<int32_t>() { return INT32_MAX; }

__device__ __forceinline__ float add_acc(float a, float b) { return a + b; }
__device__ __forceinline__ int64_t add_acc(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
__device__ __forceinline__ float mul_acc(float a, float b) { return a * b; }
__device__ __forceinline__ int64_t mul_acc(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
/* NaN-propagating for floats: a NaN on either side wins */
__device__ __forceinline__ float max_acc(float a, float b) { return (isnan(a) || a > b) ? a : b; }
__device__ __forceinline__ float min_acc(float a, float b) { return (isnan(a) || a < b) ? a : b; }
__device__ __forceinline__ int64_t max_acc(int64_t a, int64_t b) { return a > b ? a : b; }
__device__ __forceinline__ int64_t min_acc(int64_t a, int64_t b) { return a < b ? a : b; }

/* A reducer: in_t -> acc_t (load), an associative and commutative combine with an identity,
 * and the store of a finished accumulator as out_t. The kernels below only use these. */
template <class T> struct red_plain {
    typedef T in_t;
    typedef T out_t;
    typedef acc_t<T> acc;
    __device__ acc load(T x, int64_t) const { return to_acc<T>(x); }
    __device__ void store(T *out, int64_t i, acc a) const { out[i] = from_acc<T>(a); }
};
template <class T> struct red_sum : red_plain<T> {
    __device__ acc_t<T> identity() const { return 0; }
    __device__ acc_t<T> combine(acc_t<T> a, acc_t<T> b) const { return add_acc(a, b); }
};
template <class T> struct red_mean : red_plain<T> {
    float count; /* reduced elements */
    __device__ float identity() const { return 0.0f; }
    __device__ float combine(float a, float b) const { return a + b; }
    __device__ void store(T *out, int64_t i, float a) const { out[i] = from_acc<T>(a / count); }
};
template <class T> struct red_prod : red_plain<T> {
    __device__ acc_t<T> identity() const { return 1; }
    __device__ acc_t<T> combine(acc_t<T> a, acc_t<T> b) const { return mul_acc(a, b); }
};
template <class T> struct red_max : red_plain<T> {
    __device__ acc_t<T> identity() const { return lowest<T>(); }
    __device__ acc_t<T> combine(acc_t<T> a, acc_t<T> b) const { return max_acc(a, b); }
};
template <class T> struct red_min : red_plain<T> {
    __device__ acc_t<T> identity() const { return highest<T>(); }
    __device__ acc_t<T> combine(acc_t<T> a, acc_t<T> b) const { return min_acc(a, b); }
};

/* ArgMax: (value, index) pairs; index -1 is the identity (no element seen). */
template <class V> struct argmax_pair {
    V v;
    int64_t i;
};

/* Whether b beats a: NaN beats numbers and the lower index wins between NaNs; between equal
 * values the lower index wins, or the higher one with select_last_index. This total order makes
 * the combine associative and commutative, and matches the reference's sequential scan. */
__device__ __forceinline__ bool argmax_beats(float bv, int64_t bi, float av, int64_t ai, bool last) {
    const bool an = isnan(av), bn = isnan(bv);
    if (an || bn) return (an && bn) ? bi < ai : bn;
    if (bv != av) return bv > av;
    return last ? bi > ai : bi < ai;
}
__device__ __forceinline__ bool argmax_beats(int64_t bv, int64_t bi, int64_t av, int64_t ai, bool last) {
    if (bv != av) return bv > av;
    return last ? bi > ai : bi < ai;
}

template <class T> struct red_argmax {
    typedef T in_t;
    typedef int64_t out_t;
    typedef argmax_pair<acc_t<T>> acc;
    int last; /* select_last_index */
    __device__ acc identity() const { return acc{acc_t<T>(0), -1}; }
    __device__ acc load(T x, int64_t k) const { return acc{to_acc<T>(x), k}; }
    __device__ acc combine(acc a, acc b) const {
        if (a.i < 0) return b;
        if (b.i < 0) return a;
        return argmax_beats(b.v, b.i, a.v, a.i, last != 0) ? b : a;
    }
    __device__ void store(int64_t *out, int64_t i, acc a) const { out[i] = a.i; }
};

/* Reducer R's accumulator type (red_plain's subclasses get it from the base). */
template <class R> using racc_t = typename R::acc;

__device__ __forceinline__ float shfl_xor(float v, int o) { return __shfl_xor_sync(0xffffffffu, v, o); }
__device__ __forceinline__ int64_t shfl_xor(int64_t v, int o) {
    return (int64_t)__shfl_xor_sync(0xffffffffu, (long long)v, o);
}
template <class V> __device__ __forceinline__ argmax_pair<V> shfl_xor(argmax_pair<V> p, int o) {
    p.v = shfl_xor(p.v, o);
    p.i = shfl_xor(p.i, o);
    return p;
}

template <class R, class A> __device__ __forceinline__ A warp_reduce(const R &r, A a) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) a = r.combine(a, shfl_xor(a, o));
    return a;
}

/* The reduction of a over the block (1-D, a multiple of 32 threads); valid in thread 0. sh: 32
 * accumulators; the leading barrier lets the block call this in a loop. */
template <class R, class A> __device__ __forceinline__ A block_reduce(const R &r, A a, A *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    a = warp_reduce(r, a);
    __syncthreads();
    if (lane == 0) sh[warp] = a;
    __syncthreads();
    if (warp == 0) {
        a = lane < nw ? sh[lane] : r.identity();
        a = warp_reduce(r, a);
    }
    return a;
}

/* ============================== kernels ======================================================= */

/* x: (rows, len) -> out: (rows); a warp per row. */
template <class R>
__global__ void reduce_rows_warp_kernel(typename R::out_t *out, const typename R::in_t *x, R r, int64_t rows,
                                        int64_t len) {
    const int lane = threadIdx.x & 31;
    const int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int64_t n_warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
    for (int64_t row = warp; row < rows; row += n_warps) { /* uniform across the warp */
        const typename R::in_t *xr = x + row * len;
        racc_t<R> a = r.identity();
        for (int64_t k = lane; k < len; k += 32) a = r.combine(a, r.load(xr[k], k));
        a = warp_reduce(r, a);
        if (lane == 0) r.store(out, row, a);
    }
}

/* x: (rows, len) -> out: (rows); a block per (row, split): split s covers [s * chunk, (s+1) *
 * chunk) of len. One split stores the result; several store partials: (rows, splits). */
template <class R>
__global__ void reduce_rows_block_kernel(typename R::out_t *out, racc_t<R> *partial, const typename R::in_t *x, R r,
                                         int64_t rows, int64_t len, int64_t chunk, int splits) {
    __shared__ racc_t<R> sh[32];
    const int s = blockIdx.y;
    const int64_t k0 = (int64_t)s * chunk, k1 = k0 + chunk < len ? k0 + chunk : len;
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) { /* uniform across the block */
        const typename R::in_t *xr = x + row * len;
        racc_t<R> a = r.identity();
        for (int64_t k = k0 + threadIdx.x; k < k1; k += blockDim.x) a = r.combine(a, r.load(xr[k], k));
        a = block_reduce(r, a, sh);
        if (threadIdx.x == 0) {
            if (splits == 1) r.store(out, row, a);
            else partial[row * splits + s] = a;
        }
    }
}

/* x: (outer, len, inner) -> out: (outer, inner). Block (bx, by), bx * by <= RED_BLOCK, both powers
 * of two: a tile is bx consecutive columns of one outer index; threads y stride over the split's
 * part of len, then a shared-memory tree over y. Partials as in reduce_rows_block_kernel, indexed
 * by output element. */
template <class R>
__global__ void reduce_cols_kernel(typename R::out_t *out, racc_t<R> *partial, const typename R::in_t *x, R r,
                                   int64_t outer, int64_t len, int64_t inner, int64_t chunk, int splits) {
    __shared__ racc_t<R> sh[RED_BLOCK];
    const int tx = threadIdx.x, ty = threadIdx.y, bx = blockDim.x, by = blockDim.y;
    const int s = blockIdx.y;
    const int64_t k0 = (int64_t)s * chunk, k1 = k0 + chunk < len ? k0 + chunk : len;
    const int64_t tiles_per_outer = (inner + bx - 1) / bx, tiles = outer * tiles_per_outer;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) { /* uniform across the block */
        const int64_t o = t / tiles_per_outer;
        const int64_t c = (t - o * tiles_per_outer) * bx + tx;
        racc_t<R> a = r.identity();
        if (c < inner) {
            const typename R::in_t *xc = x + o * len * inner + c;
            for (int64_t k = k0 + ty; k < k1; k += by) a = r.combine(a, r.load(xc[k * inner], k));
        }
        sh[ty * bx + tx] = a;
        __syncthreads();
        for (int h = by >> 1; h > 0; h >>= 1) {
            if (ty < h) sh[ty * bx + tx] = r.combine(sh[ty * bx + tx], sh[(ty + h) * bx + tx]);
            __syncthreads();
        }
        if (ty == 0 && c < inner) {
            a = sh[tx];
            if (splits == 1) r.store(out, o * inner + c, a);
            else partial[(o * inner + c) * splits + s] = a;
        }
        __syncthreads(); /* sh is rewritten by the next tile */
    }
}

/* partial: (n_out, splits) -> out: (n_out) */
template <class R>
__global__ void reduce_finalize_kernel(typename R::out_t *out, const racc_t<R> *partial, R r, int64_t n_out,
                                       int splits) {
    ZN_GRID_STRIDE(j, n_out) {
        racc_t<R> a = r.identity();
        for (int s = 0; s < splits; s++) a = r.combine(a, partial[j * splits + s]);
        r.store(out, j, a);
    }
}

/* The walk of reduce_strided_kernel: output element j decomposes over the kept dims (row-major,
 * the output's layout) into a base offset; the reduced dims are walked from there. */
struct reduce_walk {
    int n_kept, n_red;                /* >= 1 each */
    int64_t count;                    /* product of red_dims */
    int64_t kept_dims[ZN_MAX_RANK], kept_strides[ZN_MAX_RANK];
    int64_t red_dims[ZN_MAX_RANK], red_strides[ZN_MAX_RANK];
};

/* x: any dense layout -> out: (n_out); a thread per output. The innermost reduced dim is a plain
 * loop, the others an odometer; k counts reduced elements in row-major order (ArgMax's index). */
template <class R>
__global__ void reduce_strided_kernel(typename R::out_t *out, const typename R::in_t *x, R r, reduce_walk w,
                                      int64_t n_out) {
    const int last = w.n_red - 1;
    const int64_t run = w.red_dims[last], run_stride = w.red_strides[last];
    ZN_GRID_STRIDE(j, n_out) {
        int64_t rem = j, off = 0;
        for (int d = w.n_kept - 1; d >= 0; d--) {
            const int64_t q = rem / w.kept_dims[d];
            off += (rem - q * w.kept_dims[d]) * w.kept_strides[d];
            rem = q;
        }
        int64_t idx[ZN_MAX_RANK];
        for (int d = 0; d < last; d++) idx[d] = 0;
        racc_t<R> a = r.identity();
        for (int64_t k0 = 0; k0 < w.count; k0 += run) {
            for (int64_t t = 0; t < run; t++) a = r.combine(a, r.load(x[off + t * run_stride], k0 + t));
            for (int d = last - 1; d >= 0; d--) { /* next run: advance the outer reduced dims */
                idx[d]++;
                off += w.red_strides[d];
                if (idx[d] < w.red_dims[d]) break;
                off -= idx[d] * w.red_strides[d];
                idx[d] = 0;
            }
        }
        r.store(out, j, a);
    }
}

/* ============================== plan (prepare) ================================================ */

/* What prepare computes once per plan. */
typedef struct reduce_state {
    int op;                 /* R_* */
    int kind;               /* RK_* */
    int64_t out_numel;      /* output elements */
    int64_t count;          /* reduced elements per output (Mean's divisor) */
    int64_t outer, len, inner;
    int64_t chunk;          /* split length over len (ROWS_BLOCK, COLS) */
    int splits;             /* blocks per output along len; > 1: partials in scratch */
    int bx, by;             /* COLS block shape */
    int last;               /* ArgMax select_last_index */
    reduce_walk walk;       /* STRIDED */
} reduce_state;

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

static int reduce_op(zn_op op) {
    switch (op) {
    case ZN_OP_REDUCE_SUM: return R_SUM;
    case ZN_OP_REDUCE_MEAN: return R_MEAN;
    case ZN_OP_REDUCE_MAX: return R_MAX;
    case ZN_OP_REDUCE_MIN: return R_MIN;
    case ZN_OP_REDUCE_PROD: return R_PROD;
    default: return R_ARGMAX;
    }
}

/* Which dims of in[0] are reduced (the reference's reduce_axes). False on a bad axis or an axes
 * input that is not a constant 1-D i64 tensor. No axes: all dims, or none with
 * noop_with_empty_axes (the identity, which a mask of no dims computes). */
static bool reduce_mask(const zn_kernel_node *n, bool *mask) {
    const int rank = n->in[0].rank;
    int64_t axes[ZN_MAX_RANK * 2];
    int count;
    if (n->op == ZN_OP_ARG_MAX) {
        axes[0] = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
        count = 1;
    } else if (n->n_in > 1 && present(&n->in[1])) {
        const zn_view *a = &n->in[1];
        if (a->dtype != ZN_I64 || !a->data || a->rank > 1) return false;
        const int64_t c = zn_view_numel(a);
        if (c > ZN_MAX_RANK * 2) return false;
        count = (int)c;
        memcpy(axes, a->data, (size_t)count * sizeof(int64_t));
    } else {
        count = zn_attrs_ints(n->attrs, n->n_attrs, "axes", axes, ZN_MAX_RANK * 2);
        if (count > ZN_MAX_RANK * 2) return false;
    }
    for (int d = 0; d < rank; d++) mask[d] = false;
    if (count <= 0) {
        if (!zn_attrs_int(n->attrs, n->n_attrs, "noop_with_empty_axes", 0))
            for (int d = 0; d < rank; d++) mask[d] = true;
        return true;
    }
    for (int i = 0; i < count; i++) {
        const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank) return false;
        mask[a] = true;
    }
    return true;
}

static int64_t pow2_at_least(int64_t v) {
    int64_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

/* Blocks per output along len so that about RED_TARGET_BLOCKS blocks run, each with at least
 * min_chunk elements of len; sets chunk and returns the split count. */
static int choose_splits(int64_t units, int64_t len, int64_t min_chunk, int64_t *chunk) {
    int64_t s = 1;
    if (units < RED_TARGET_BLOCKS / 2 && len > min_chunk) {
        s = (RED_TARGET_BLOCKS + units - 1) / units;
        if (s > len / min_chunk) s = len / min_chunk;
        if (s > 65535) s = 65535;
        if (s < 1) s = 1;
    }
    *chunk = (len + s - 1) / s;
    if (*chunk < 1) *chunk = 1;
    const int64_t used = (len + *chunk - 1) / *chunk; /* no empty trailing split */
    return used < 1 ? 1 : (int)used;
}

/* The kernel and its geometry for an input of shape dims with reduced dims mask. */
static void plan_reduce(reduce_state *s, int rank, const int64_t *dims, const bool *mask) {
    s->out_numel = 1;
    s->count = 1;
    for (int d = 0; d < rank; d++) {
        if (mask[d]) s->count *= dims[d];
        else s->out_numel *= dims[d];
    }
    s->splits = 1;
    s->chunk = 1;
    reduce_walk *w = &s->walk;
    if (s->out_numel == 0) {
        s->kind = RK_NONE;
        return;
    }
    if (s->count == 0) { /* an empty reduction: every output is the identity */
        s->kind = RK_STRIDED;
        w->n_kept = w->n_red = 1;
        w->count = 0;
        w->kept_dims[0] = s->out_numel;
        w->red_dims[0] = 0;
        return;
    }
    /* drop size-1 dims, merge neighbours that are both kept or both reduced */
    int64_t size[ZN_MAX_RANK];
    bool red[ZN_MAX_RANK];
    int ng = 0, n_red = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 1) continue;
        if (ng > 0 && red[ng - 1] == mask[d]) {
            size[ng - 1] *= dims[d];
            continue;
        }
        size[ng] = dims[d];
        red[ng] = mask[d];
        n_red += mask[d];
        ng++;
    }
    if (n_red == 0) {
        s->kind = s->op == R_ARGMAX ? RK_ZEROS : RK_COPY;
        return;
    }
    int64_t stride[ZN_MAX_RANK], st = 1; /* of each group in the dense input */
    for (int g = ng - 1; g >= 0; g--) {
        stride[g] = st;
        st *= size[g];
    }
    if (n_red == 1) {
        s->outer = s->inner = 1;
        bool before = true;
        for (int g = 0; g < ng; g++) {
            if (red[g]) {
                s->len = size[g];
                before = false;
            } else if (before) {
                s->outer *= size[g];
            } else {
                s->inner *= size[g];
            }
        }
        if (s->len > RED_SMALL_LEN) {
            if (s->inner == 1 && s->len <= RED_WARP_LEN) {
                s->kind = RK_ROWS_WARP;
            } else if (s->inner == 1) {
                s->kind = RK_ROWS_BLOCK;
                s->splits = choose_splits(s->outer, s->len, RED_BLOCK * 8, &s->chunk);
            } else {
                s->kind = RK_COLS;
                s->bx = (int)(s->inner < 32 ? pow2_at_least(s->inner) : 32);
                int64_t by = pow2_at_least(s->len);
                s->by = (int)(by < RED_BLOCK / s->bx ? by : RED_BLOCK / s->bx);
                int64_t tiles = s->outer * ((s->inner + s->bx - 1) / s->bx);
                s->splits = choose_splits(tiles, s->len, (int64_t)s->by * 8, &s->chunk);
            }
            return;
        }
    }
    /* the general walk (also short reductions: a thread per output reads them best) */
    s->kind = RK_STRIDED;
    w->n_kept = w->n_red = 0;
    w->count = s->count;
    for (int g = 0; g < ng; g++) {
        if (red[g]) {
            w->red_dims[w->n_red] = size[g];
            w->red_strides[w->n_red++] = stride[g];
        } else {
            w->kept_dims[w->n_kept] = size[g];
            w->kept_strides[w->n_kept++] = stride[g];
        }
    }
    if (w->n_kept == 0) { /* one output */
        w->kept_dims[0] = 1;
        w->kept_strides[0] = 0;
        w->n_kept = 1;
    }
}

/* Bytes of one partial accumulator of this op and dtype. */
static size_t acc_bytes(int op, zn_dtype t) {
    const bool ints = t == ZN_I64 || t == ZN_I32;
    if (op == R_ARGMAX) return ints ? sizeof(argmax_pair<int64_t>) : sizeof(argmax_pair<float>);
    return ints ? sizeof(int64_t) : sizeof(float);
}

static zn_status reduce_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    bool mask[ZN_MAX_RANK];
    if (!reduce_mask(n, mask))
        return zn_error_set(ZN_ERR_SHAPE, "%s: axes out of range for a rank-%d input (axes must lie in "
                            "[-%d, %d] and be a constant i64 input)", zn_op_name(n->op), n->in[0].rank,
                            n->in[0].rank, n->in[0].rank - 1);
    reduce_state *s = (reduce_state *)calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "%s: no memory for the kernel state", zn_op_name(n->op));
    s->op = reduce_op(n->op);
    s->last = n->op == ZN_OP_ARG_MAX && zn_attrs_int(n->attrs, n->n_attrs, "select_last_index", 0) != 0;
    plan_reduce(s, n->in[0].rank, n->in[0].dims, mask);
    prep->state = s;
    prep->scratch_bytes = s->splits > 1 ? (size_t)s->out_numel * (size_t)s->splits * acc_bytes(s->op, n->in[0].dtype) : 0;
    return ZN_OK;
}

static void reduce_release(void *state) { free(state); }

/* ============================== launchers ===================================================== */

static unsigned grid_cap(int64_t blocks) {
    if (blocks < 1) return 1;
    return (unsigned)(blocks > RED_MAX_GRID ? RED_MAX_GRID : blocks);
}

/* out[0] = reduction of in[0] by r, on the session's stream, with the plan prepare made. */
template <class R> static zn_status reduce_launch(const zn_exec_ctx *ctx, const R &r, const char *name) {
    const reduce_state *s = (const reduce_state *)ctx->state;
    typedef typename R::in_t TI;
    typedef typename R::out_t TO;
    typedef racc_t<R> A;
    TO *out = (TO *)ctx->out[0].data;
    const TI *x = (const TI *)ctx->in[0].data;
    A *partial = (A *)ctx->scratch;
    cudaStream_t stream = zn_stream(ctx);
    switch (s->kind) {
    case RK_NONE: return ZN_OK;
    case RK_COPY: {
        const size_t bytes = (size_t)s->out_numel * sizeof(TO);
        if ((const void *)out != (const void *)x)
            ZN_CUDA_TRY(cudaMemcpyAsync(out, x, bytes, cudaMemcpyDeviceToDevice, stream),
                        "a reduction over size-1 dims (a device copy)");
        return ZN_OK;
    }
    case RK_ZEROS:
        ZN_CUDA_TRY(cudaMemsetAsync(out, 0, (size_t)s->out_numel * sizeof(TO), stream),
                    "ArgMax over an axis of size 1 (zeros)");
        return ZN_OK;
    case RK_ROWS_WARP: {
        const int64_t warps_per_block = RED_BLOCK / 32;
        reduce_rows_warp_kernel<R><<<grid_cap((s->outer + warps_per_block - 1) / warps_per_block), RED_BLOCK, 0,
                                     stream>>>(out, x, r, s->outer, s->len);
        return zn_cuda_launched(name);
    }
    case RK_ROWS_BLOCK: {
        dim3 grid(grid_cap(s->outer), (unsigned)s->splits);
        reduce_rows_block_kernel<R><<<grid, RED_BLOCK, 0, stream>>>(out, partial, x, r, s->outer, s->len, s->chunk,
                                                                   s->splits);
        break;
    }
    case RK_COLS: {
        dim3 block((unsigned)s->bx, (unsigned)s->by);
        dim3 grid(grid_cap(s->outer * ((s->inner + s->bx - 1) / s->bx)), (unsigned)s->splits);
        reduce_cols_kernel<R><<<grid, block, 0, stream>>>(out, partial, x, r, s->outer, s->len, s->inner, s->chunk,
                                                         s->splits);
        break;
    }
    default: /* RK_STRIDED */
        reduce_strided_kernel<R><<<zn_grid_for(s->out_numel, RED_BLOCK), RED_BLOCK, 0, stream>>>(out, x, r, s->walk,
                                                                                              s->out_numel);
        return zn_cuda_launched(name);
    }
    zn_status st = zn_cuda_launched(name);
    if (st != ZN_OK || s->splits == 1) return st;
    reduce_finalize_kernel<R><<<zn_grid_for(s->out_numel, RED_BLOCK), RED_BLOCK, 0, stream>>>(out, partial, r,
                                                                                          s->out_numel, s->splits);
    return zn_cuda_launched(name);
}

template <class T> static zn_status reduce_typed(const zn_exec_ctx *ctx) {
    const reduce_state *s = (const reduce_state *)ctx->state;
    switch (s->op) {
    case R_SUM: return reduce_launch(ctx, red_sum<T>(), "cuda.reducesum");
    case R_MAX: return reduce_launch(ctx, red_max<T>(), "cuda.reducemax");
    case R_MIN: return reduce_launch(ctx, red_min<T>(), "cuda.reducemin");
    case R_PROD: return reduce_launch(ctx, red_prod<T>(), "cuda.reduceprod");
    case R_MEAN:
        if constexpr (std::is_same<acc_t<T>, float>::value) {
            red_mean<T> r;
            r.count = (float)s->count;
            return reduce_launch(ctx, r, "cuda.reducemean");
        }
        break;
    case R_ARGMAX: {
        red_argmax<T> r;
        r.last = s->last;
        return reduce_launch(ctx, r, "cuda.argmax");
    }
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: dtype %s not handled", zn_op_name(ctx->node->op),
                        zn_dtype_name(ctx->in[0].dtype));
}

static zn_status reduce_run(const zn_exec_ctx *ctx) {
    switch (ctx->in[0].dtype) {
    case ZN_F32: return reduce_typed<float>(ctx);
    case ZN_F16: return reduce_typed<__half>(ctx);
    case ZN_BF16: return reduce_typed<__nv_bfloat16>(ctx);
    case ZN_I64: return reduce_typed<int64_t>(ctx);
    case ZN_I32: return reduce_typed<int32_t>(ctx);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: dtype %s not handled", zn_op_name(ctx->node->op),
                        zn_dtype_name(ctx->in[0].dtype));
}

/* ============================== supports ====================================================== */

/* Elements of in[0] left after reducing the dims in mask. */
static int64_t kept_numel(const zn_view *x, const bool *mask) {
    int64_t n = 1;
    for (int d = 0; d < x->rank; d++)
        if (!mask[d]) n *= x->dims[d];
    return n;
}

/* ReduceMean: f32/f16/bf16; ReduceSum/Max/Min/Prod: those and i64/i32; constant valid axes. */
static bool sup_reduce(const zn_kernel_node *n) {
    if (n->n_in < 1 || n->n_in > 2 || n->n_out != 1 || !present(&n->in[0])) return false;
    const zn_dtype t = n->in[0].dtype;
    const bool ints = t == ZN_I64 || t == ZN_I32;
    if (!(zn_is_float_dtype(t) || (ints && n->op != ZN_OP_REDUCE_MEAN))) return false;
    if (n->out[0].dtype != t) return false;
    bool mask[ZN_MAX_RANK];
    if (!reduce_mask(n, mask)) return false;
    return zn_view_numel(&n->out[0]) == kept_numel(&n->in[0], mask);
}

/* ArgMax: f32/f16/bf16/i64/i32 in, i64 out, a non-empty axis in range. */
static bool sup_argmax(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1 || !present(&n->in[0])) return false;
    const zn_view *x = &n->in[0];
    if (!(zn_is_float_dtype(x->dtype) || x->dtype == ZN_I64 || x->dtype == ZN_I32)) return false;
    if (n->out[0].dtype != ZN_I64 || x->rank < 1) return false;
    const int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    if (axis < -x->rank || axis >= x->rank) return false;
    bool mask[ZN_MAX_RANK];
    if (!reduce_mask(n, mask)) return false;
    if (x->dims[axis < 0 ? axis + x->rank : axis] == 0) return false;
    return zn_view_numel(&n->out[0]) == kept_numel(x, mask);
}

} // namespace

/* ============================== table ========================================================= */

#define K(name, OP, sup) \
    {"cuda." name, ZN_OP_##OP, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, sup, reduce_prepare, reduce_release, reduce_run}

static const zn_kernel_spec specs[] = {
    K("reducemean", REDUCE_MEAN, sup_reduce),
    K("reducesum", REDUCE_SUM, sup_reduce),
    K("reducemax", REDUCE_MAX, sup_reduce),
    K("reducemin", REDUCE_MIN, sup_reduce),
    K("reduceprod", REDUCE_PROD, sup_reduce),
    K("argmax", ARG_MAX, sup_argmax),
};

ZN_KERNEL_TABLE(zn_cuda_reduce_table, specs);
