/* shape.cu — CUDA kernels for the data-movement ops: Transpose, Concat, Split, Slice, Gather,
 * Expand, Tile, Pad, Trilu, Shape, ConstantOfShape.
 *
 * Semantics are the reference kernels' (kernels/cpu/ref_shape.c); output dims come from shape
 * inference (engine/infer_shape.c). Everything moves bytes: kernels are templated on an unsigned
 * integer of the element's size (1, 2, 4, 8 bytes; 16 when a copy can be widened), never on the
 * dtype's meaning, so f32, f16, bf16, i64, i32 and bool all take the same paths.
 *
 * Every parameter that is not data (perm, starts/ends/axes/steps, pads and the pad value,
 * repeats, k, split sizes, the target shape) must be a compile-time constant: prepare() turns
 * them and the static shapes into a small plan kept in the state, and run() only adds the
 * pointers, picks a vector width from their alignment and launches (no allocation, no sync, no
 * host read of device data: every run() can be captured in a CUDA graph). A node whose
 * parameters are computed at run time is refused; the CPU fallback handles it.
 *
 * The paths:
 *   strided walk     dense output reading its input at element strides (0 and negative allowed):
 *                    Transpose when the last dim stays last, Slice, Expand, Tile. Dims are
 *                    coalesced at prepare; when the innermost run is contiguous and aligned the
 *                    copy is widened to 4/8/16-byte elements. Index math is 32-bit (multiply-shift
 *                    division) below 2^31 elements, 64-bit above.
 *   tiled transpose  Transpose when the input's contiguous dim moves: 32x32 tiles through shared
 *                    memory, so reads and writes are both coalesced; other dims are batches.
 *   parts            Concat and Split in one launch each, blockIdx.y = the part (<= 64).
 *   Gather, Pad (constant / reflect / edge), Trilu: one thread per output element.
 *   Shape            the dims, uploaded at prepare, copied device to device at run.
 *   ConstantOfShape  cudaMemsetAsync when the value is one repeated byte, a fill kernel otherwise.
 *
 * Gather: the CPU reference reports an out-of-range index; a kernel cannot, so here an index
 * below -dim reads row 0 and one at or above dim reads row dim-1 (negative indices in range wrap
 * as in the reference). Constant indices were already checked by shape inference.
 *
 * Not here: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (aliases: copy.cu), Cast
 * (elementwise.cu), Constant and Range (folded at compile time or left to the CPU).
 */
#include <stdlib.h>
#include <string.h>

#include "../../engine/device.h"
#include "../cpu/shape_geom.h"
#include "common.cuh"

#define WALK_MAX (2 * ZN_MAX_RANK) /* Tile walks (repeat, dim) pairs */
#define MAX_PARTS 64               /* Concat inputs, Split outputs (ops.def's limit) */
#define BLOCK 256                  /* threads per block of the element-wise kernels */
#define TILE 32                    /* tiled transpose: TILE x TILE elements per tile, */
#define TILE_ROWS 8                /* read and written by TILE x TILE_ROWS threads */
#define TILED_MIN 16               /* both transposed dims at least this long to use tiles */
#define INDEX32_MAX 0x7fffffffLL   /* 32-bit index math up to this many elements */

/* Unrolls a device loop; nothing in the host pass of the host-and-device index functions. */
#ifdef __CUDA_ARCH__
#define UNROLL _Pragma("unroll")
#else
#define UNROLL
#endif

/* ---- byte types and 32-bit division ------------------------------------------------------- */

/* Calls the body with `T` = the unsigned integer of `width` bytes (uint4 for 16). */
#define DISPATCH_WIDTH(width, ...)                                                             \
    switch (width) {                                                                           \
    case 1: { typedef uint8_t T; __VA_ARGS__; } break;                                         \
    case 2: { typedef uint16_t T; __VA_ARGS__; } break;                                        \
    case 4: { typedef uint32_t T; __VA_ARGS__; } break;                                        \
    case 8: { typedef uint64_t T; __VA_ARGS__; } break;                                        \
    case 16: { typedef uint4 T; __VA_ARGS__; } break;                                          \
    default: return zn_error_set(ZN_ERR_RUNTIME, "no copy of %d-byte elements", (int)(width)); \
    }

/* The same for element sizes only (kernels that build values: T(0), T(constant)). */
#define DISPATCH_ELEM(esz, ...)                                                                \
    switch (esz) {                                                                             \
    case 1: { typedef uint8_t T; __VA_ARGS__; } break;                                         \
    case 2: { typedef uint16_t T; __VA_ARGS__; } break;                                        \
    case 4: { typedef uint32_t T; __VA_ARGS__; } break;                                        \
    case 8: { typedef uint64_t T; __VA_ARGS__; } break;                                        \
    default: return zn_error_set(ZN_ERR_RUNTIME, "no copy of %d-byte elements", (int)(esz));   \
    }

/* Division by a divisor fixed at launch as a multiply-high, an add and a shift (Granlund and
 * Montgomery's round-up method, as in PyTorch's IntDivider): exact for dividend and divisor
 * both below 2^31, which is when the 32-bit paths use it. */
struct fast_div {
    uint32_t d, mul, shift;
};

static fast_div fast_div_make(int64_t d) { /* 1 <= d <= INDEX32_MAX */
    fast_div f;
    uint32_t s = 0;
    while ((1ull << s) < (uint64_t)d) s++;
    f.d = (uint32_t)d;
    f.shift = s;
    f.mul = (uint32_t)(((1ull << 32) * ((1ull << s) - (uint64_t)d)) / (uint64_t)d + 1);
    return f;
}

__host__ __device__ __forceinline__ uint32_t fast_div_q(const fast_div &f, uint32_t n) {
#ifdef __CUDA_ARCH__
    uint32_t t = __umulhi(n, f.mul);
#else
    uint32_t t = (uint32_t)(((uint64_t)n * f.mul) >> 32);
#endif
    return (t + n) >> f.shift;
}

/* ---- plans (built at prepare) and kernel arguments (passed by value) ---------------------- */

/* The strided walk: a dense output of `rank` dims (outermost first) whose element at index
 * (c0, c1, ...) is input element base + sum c_d * st[d]. */
struct walk {
    int rank;
    int64_t dims[WALK_MAX];
    int64_t st[WALK_MAX]; /* input element strides: 0 broadcasts, negative walks backwards */
};

/* The tiled transpose. A: the input's contiguous dim; B: the output's contiguous dim; the rest
 * are batches. Input element (batch, b, a) = in_batch + b * sB + a; output element
 * (batch, a, b) = out_batch + a * oA + b. */
struct tile_args {
    int64_t nA, nB;
    int64_t sB;    /* input stride of B */
    int64_t oA;    /* output stride of A */
    int64_t batch; /* product of the batch dims */
    int nbatch;
    int64_t bdim[ZN_MAX_RANK], bin[ZN_MAX_RANK], bout[ZN_MAX_RANK]; /* innermost first */
};

/* A walk as the kernel reads it: innermost dim first, with 32-bit divisors. */
struct walk_args {
    int rank; /* >= 1 */
    int64_t n;
    int64_t dim[WALK_MAX];
    int64_t st[WALK_MAX];
    fast_div div[WALK_MAX]; /* the 32-bit path only */
};

/* Concat / Split: the whole tensor is (outer, row); part k is (outer, len[k]) and sits at
 * columns [at[k], at[k] + len[k]) of each row. Units: the launch's element width. */
struct parts_args {
    int64_t outer, row;
    void *ptr[MAX_PARTS];
    int64_t len[MAX_PARTS], at[MAX_PARTS];
    fast_div div[MAX_PARTS]; /* len[k], the 32-bit path only */
};

/* Gather: x (outer, dim, inner) -> y (outer, ni, inner). Units: the launch's width. */
struct gather_args {
    int64_t n, inner, ni, dim;
    fast_div div_inner, div_ni; /* the 32-bit path only */
};


/* Pad: y dims odim, x dims xdim (dense strides xst), begin pads pb; innermost first. */
struct pad_args {
    int rank, mode;
    uint64_t value; /* the constant's bytes, little-endian, zero-extended */
    int64_t n;
    int64_t odim[ZN_MAX_RANK], xdim[ZN_MAX_RANK], pb[ZN_MAX_RANK], xst[ZN_MAX_RANK];
    fast_div div[ZN_MAX_RANK]; /* odim, the 32-bit path only */
};

/* Trilu: x, y (mats, N, M); keep j - i >= k (upper) or j - i <= k (lower). */
struct trilu_args {
    int64_t n, N, M, k;
    int upper;
    fast_div div_m, div_n; /* the 32-bit path only */
};

/* ---- index math (host and device, so it can be checked on the host) ---------------------- */

/* Input element offset of dense output element i. */
template <bool WIDE>
__host__ __device__ __forceinline__ int64_t walk_offset(const walk_args &a, int64_t i) {
    int64_t off = 0;
    if (WIDE) {
        int64_t rem = i;
UNROLL
        for (int k = 0; k < WALK_MAX; k++) {
            if (k == a.rank - 1) {
                off += rem * a.st[k];
                break;
            }
            int64_t q = rem / a.dim[k];
            off += (rem - q * a.dim[k]) * a.st[k];
            rem = q;
        }
    } else {
        uint32_t rem = (uint32_t)i;
UNROLL
        for (int k = 0; k < WALK_MAX; k++) {
            if (k == a.rank - 1) {
                off += (int64_t)rem * a.st[k];
                break;
            }
            uint32_t q = fast_div_q(a.div[k], rem);
            off += (int64_t)(rem - q * a.div[k].d) * a.st[k];
            rem = q;
        }
    }
    return off;
}

/* Offsets of batch z's first element in the input and the output of a tiled transpose. */
__host__ __device__ __forceinline__ void tile_bases(const tile_args &a, int64_t z, int64_t *in, int64_t *out) {
    int64_t i = 0, o = 0;
UNROLL
    for (int k = 0; k < ZN_MAX_RANK; k++) {
        if (k >= a.nbatch) break;
        int64_t q = z / a.bdim[k], c = z - q * a.bdim[k];
        i += c * a.bin[k];
        o += c * a.bout[k];
        z = q;
    }
    *in = i;
    *out = o;
}

/* Thread (tx, ty) reads its share of tile (a0.., b0..): tile[b - b0][a - a0] = x(b, a); a warp
 * reads TILE consecutive a (coalesced). src points at the batch's first element. */
template <typename T>
__host__ __device__ __forceinline__ void tile_load(T (*tile)[TILE + 1], const T *src, const tile_args &a,
                                                   int64_t a0, int64_t b0, int tx, int ty) {
    for (int r = ty; r < TILE; r += TILE_ROWS) {
        int64_t b = b0 + r, x = a0 + tx;
        if (b < a.nB && x < a.nA) tile[r][tx] = src[b * a.sB + x];
    }
}

/* ... and writes y(a, b) = tile[b - b0][a - a0]; a warp writes TILE consecutive b. The +1
 * column keeps the column reads free of bank conflicts. */
template <typename T>
__host__ __device__ __forceinline__ void tile_store(T *dst, const T (*tile)[TILE + 1], const tile_args &a,
                                                    int64_t a0, int64_t b0, int tx, int ty) {
    for (int r = ty; r < TILE; r += TILE_ROWS) {
        int64_t x = a0 + r, b = b0 + tx;
        if (x < a.nA && b < a.nB) dst[x * a.oA + b] = tile[tx][r];
    }
}

/* Index in the whole tensor of element e of part k. */
template <bool WIDE>
__host__ __device__ __forceinline__ int64_t parts_offset(const parts_args &a, int k, int64_t e) {
    int64_t len = a.len[k];
    int64_t o = WIDE ? e / len : (int64_t)fast_div_q(a.div[k], (uint32_t)e);
    return o * a.row + a.at[k] + (e - o * len);
}

/* Input index of output element e (indices clamped into [0, dim), see the header). */
template <bool WIDE, typename I>
__host__ __device__ __forceinline__ int64_t gather_offset(const gather_args &a, const I *idx, int64_t e) {
    int64_t o, i, j;
    if (WIDE) {
        int64_t t = e / a.inner;
        j = e - t * a.inner;
        o = t / a.ni;
        i = t - o * a.ni;
    } else {
        uint32_t t = fast_div_q(a.div_inner, (uint32_t)e);
        j = (uint32_t)e - t * a.div_inner.d;
        uint32_t q = fast_div_q(a.div_ni, t);
        i = t - q * a.div_ni.d;
        o = q;
    }
    int64_t v = (int64_t)idx[i];
    if (v < 0) v += a.dim;
    v = v < 0 ? 0 : (v >= a.dim ? a.dim - 1 : v);
    return (o * a.dim + v) * a.inner + j;
}

/* Position in x of output position s along a dim of x-length n; -1: the constant. */
__host__ __device__ __forceinline__ int64_t pad_map(int64_t s, int64_t n, int mode) {
    if (s >= 0 && s < n) return s;
    if (mode == ZN_PAD_CONSTANT) return -1;
    if (mode == ZN_PAD_EDGE || n == 1) return s < 0 ? 0 : n - 1;
    int64_t period = 2 * (n - 1); /* reflect: the edge element is not repeated */
    s = ((s % period) + period) % period;
    return s >= n ? period - s : s;
}

/* Input offset of output element e; -1 where the output is the constant. */
template <bool WIDE>
__host__ __device__ __forceinline__ int64_t pad_offset(const pad_args &a, int64_t e) {
    int64_t off = 0;
    int64_t rem = e;
UNROLL
    for (int k = 0; k < ZN_MAX_RANK; k++) {
        if (k >= a.rank) break;
        int64_t c;
        if (k == a.rank - 1) {
            c = rem;
        } else if (WIDE) {
            int64_t q = rem / a.odim[k];
            c = rem - q * a.odim[k];
            rem = q;
        } else {
            uint32_t q = fast_div_q(a.div[k], (uint32_t)rem);
            c = (uint32_t)rem - q * a.div[k].d;
            rem = q;
        }
        int64_t s = pad_map(c - a.pb[k], a.xdim[k], a.mode);
        if (s < 0) return -1;
        off += s * a.xst[k];
    }
    return off;
}

/* Whether element e of a Trilu keeps its value. */
template <bool WIDE>
__host__ __device__ __forceinline__ bool trilu_keep(const trilu_args &a, int64_t e) {
    int64_t i, j;
    if (WIDE) {
        int64_t t = e / a.M;
        j = e - t * a.M;
        i = t % a.N;
    } else {
        uint32_t t = fast_div_q(a.div_m, (uint32_t)e);
        j = (uint32_t)e - t * a.div_m.d;
        i = t - fast_div_q(a.div_n, t) * a.div_n.d;
    }
    return a.upper ? j - i >= a.k : j - i <= a.k;
}

/* ---- kernels ------------------------------------------------------------------------------ */

/* y (dense) = x walked at a's strides */
template <typename T, bool WIDE>
__global__ void walk_copy_kernel(T *__restrict__ y, const T *__restrict__ x, const __grid_constant__ walk_args a) {
    ZN_GRID_STRIDE(i, a.n) y[i] = x[walk_offset<WIDE>(a, i)];
}

/* y (batch..., A, B) = x (batch..., B, A) through shared-memory tiles; block (TILE, TILE_ROWS),
 * grid (tiles of A, tiles of B, batches), each dimension grid-strided. */
template <typename T>
__global__ void transpose_tiled_kernel(T *__restrict__ y, const T *__restrict__ x, const __grid_constant__ tile_args a) {
    __shared__ T tile[TILE][TILE + 1];
    int64_t tiles_a = (a.nA + TILE - 1) / TILE, tiles_b = (a.nB + TILE - 1) / TILE;
    int tx = threadIdx.x, ty = threadIdx.y;
    /* the loop bounds depend on the block only, so every thread reaches each barrier */
    for (int64_t z = blockIdx.z; z < a.batch; z += gridDim.z) {
        int64_t in0, out0;
        tile_bases(a, z, &in0, &out0);
        for (int64_t tb = blockIdx.y; tb < tiles_b; tb += gridDim.y)
            for (int64_t ta = blockIdx.x; ta < tiles_a; ta += gridDim.x) {
                tile_load<T>(tile, x + in0, a, ta * TILE, tb * TILE, tx, ty);
                __syncthreads();
                tile_store<T>(y + out0, tile, a, ta * TILE, tb * TILE, tx, ty);
                __syncthreads();
            }
    }
}

/* Concat (SPLIT false): whole[..] = part k; Split: part k = whole[..]. blockIdx.y = k. */
template <typename T, bool SPLIT, bool WIDE>
__global__ void parts_kernel(T *whole, const __grid_constant__ parts_args a) {
    int k = blockIdx.y;
    T *part = (T *)a.ptr[k];
    int64_t total = a.outer * a.len[k];
    ZN_GRID_STRIDE(e, total) {
        int64_t w = parts_offset<WIDE>(a, k, e);
        if (SPLIT) part[e] = whole[w];
        else whole[w] = part[e];
    }
}

/* y (outer, ni, inner) = x (outer, dim, inner) at rows idx (ni) */
template <typename T, typename I, bool WIDE>
__global__ void gather_kernel(T *__restrict__ y, const T *__restrict__ x, const I *__restrict__ idx,
                              const __grid_constant__ gather_args a) {
    ZN_GRID_STRIDE(e, a.n) y[e] = x[gather_offset<WIDE, I>(a, idx, e)];
}

/* y = x padded per dim (begin pads a.pb; the constant, or x reflected or repeated at its edges) */
template <typename T, bool WIDE>
__global__ void pad_kernel(T *__restrict__ y, const T *__restrict__ x, const __grid_constant__ pad_args a) {
    T value = (T)a.value;
    ZN_GRID_STRIDE(e, a.n) {
        int64_t s = pad_offset<WIDE>(a, e);
        y[e] = s < 0 ? value : x[s];
    }
}

/* y (mats, N, M) = x with the other side of diagonal k zeroed; y may be x */
template <typename T, bool WIDE>
__global__ void trilu_kernel(T *y, const T *x, const __grid_constant__ trilu_args a) {
    ZN_GRID_STRIDE(e, a.n) y[e] = trilu_keep<WIDE>(a, e) ? x[e] : (T)0;
}

/* y (n) = value */
template <typename T>
__global__ void fill_kernel(T *y, int64_t n, T value) {
    ZN_GRID_STRIDE(i, n) y[i] = value;
}

/* ---- host helpers ------------------------------------------------------------------------- */

static bool node_has(const zn_kernel_node *n, int i) { return i < n->n_in && n->in[i].dtype != ZN_DTYPE_UNDEFINED; }

static bool is_int_idx(zn_dtype t) { return t == ZN_I64 || t == ZN_I32; }

/* a present input that is a compile-time constant of integers */
static bool const_ints(const zn_kernel_node *n, int i) {
    return node_has(n, i) && is_int_idx(n->in[i].dtype) && n->in[i].data;
}

static int64_t int_at(const zn_view *v, int64_t i) {
    if (v->dtype == ZN_I32) return ((const int32_t *)v->data)[i];
    return ((const int64_t *)v->data)[i];
}

static int elem_size(zn_dtype t) {
    size_t s = zn_dtype_size(t);
    return s == 1 || s == 2 || s == 4 || s == 8 ? (int)s : 0;
}

/* in[0] and out[0] of one dtype whose elements we can move */
static bool same_dtype_supports(const zn_kernel_node *n) {
    return n->n_in >= 1 && n->n_out >= 1 && elem_size(n->in[0].dtype) && n->out[0].dtype == n->in[0].dtype;
}

static void dense_strides(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

static int64_t dims_numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

static unsigned grid_cap(int64_t n) { return (unsigned)(n < 1 ? 1 : (n > 65535 ? 65535 : n)); }

static bool aligned(const void *p, int width) { return ((uintptr_t)p & (uintptr_t)(width - 1)) == 0; }

static void *state_alloc(size_t bytes) {
    void *s = calloc(1, bytes);
    if (!s) zn_error_set(ZN_ERR_OUT_OF_MEMORY, "CUDA shape kernel: %zu bytes of host state", bytes);
    return s;
}

static void state_free(void *state) { free(state); }

/* Drops size-1 dims and merges each dim into its outer neighbour when the input is contiguous
 * across the two (st[outer] == st[inner] * dims[inner]). Leaves at least one dim. */
static void walk_simplify(walk *w) {
    int r = 0;
    for (int d = 0; d < w->rank; d++) {
        if (w->dims[d] == 1) continue;
        if (r > 0 && w->st[r - 1] == w->st[d] * w->dims[d]) {
            w->dims[r - 1] *= w->dims[d];
            w->st[r - 1] = w->st[d];
            continue;
        }
        w->dims[r] = w->dims[d];
        w->st[r] = w->st[d];
        r++;
    }
    if (r == 0) {
        w->dims[0] = 1;
        w->st[0] = 0;
        r = 1;
    }
    w->rank = r;
}

/* Regroups esz-byte elements into the widest of 16/8/4/2 bytes that the walk allows: the
 * innermost dim contiguous and a multiple of the group, every other stride and the base a
 * multiple of it, both pointers aligned to it. Updates w and *base; returns the width in bytes. */
static int walk_widen(walk *w, int64_t *base, int esz, const void *x, const void *y) {
    int r = w->rank;
    for (int width = 16; width > esz; width /= 2) {
        int64_t f = width / esz;
        bool ok = w->st[r - 1] == 1 && w->dims[r - 1] % f == 0 && *base % f == 0 && aligned(x, width) &&
                  aligned(y, width);
        for (int d = 0; ok && d < r - 1; d++) ok = w->st[d] % f == 0;
        if (!ok) continue;
        w->dims[r - 1] /= f;
        for (int d = 0; d < r - 1; d++) w->st[d] /= f;
        *base /= f;
        return width;
    }
    return esz;
}

/* The launch form of walk w (n elements): innermost first, divisors when n fits 32 bits. */
static walk_args walk_args_make(const walk *w, int64_t n) {
    walk_args a;
    memset(&a, 0, sizeof a);
    a.rank = w->rank;
    a.n = n;
    for (int k = 0; k < w->rank; k++) {
        int d = w->rank - 1 - k;
        a.dim[k] = w->dims[d];
        a.st[k] = w->st[d];
        if (n <= INDEX32_MAX) a.div[k] = fast_div_make(w->dims[d]);
    }
    return a;
}

/* Everything a walk launch needs, from the plan and the pointers. */
struct walk_launch_plan {
    walk_args a;
    int width;       /* bytes per launched element */
    const char *src; /* x plus the base offset */
};

/* false: nothing to copy (an empty output) */
static bool walk_plan(const walk *w0, int64_t base, int esz, const void *x, const void *y, walk_launch_plan *p) {
    walk w = *w0;
    int64_t n = dims_numel(w.rank, w.dims);
    if (n == 0) return false;
    p->width = walk_widen(&w, &base, esz, x, y);
    p->src = (const char *)x + base * p->width;
    p->a = walk_args_make(&w, n / (p->width / esz));
    return true;
}

/* y (dense, w's dims) = x + base walked at w's strides */
static zn_status walk_launch(const zn_exec_ctx *ctx, const walk *w, int64_t base, int esz, const void *x, void *y,
                             const char *name) {
    walk_launch_plan p;
    if (!walk_plan(w, base, esz, x, y, &p)) return ZN_OK;
    cudaStream_t s = zn_stream(ctx);
    unsigned grid = zn_grid_for(p.a.n, BLOCK);
    bool wide = p.a.n > INDEX32_MAX;
    DISPATCH_WIDTH(p.width, {
        if (wide) walk_copy_kernel<T, true><<<grid, BLOCK, 0, s>>>((T *)y, (const T *)p.src, p.a);
        else walk_copy_kernel<T, false><<<grid, BLOCK, 0, s>>>((T *)y, (const T *)p.src, p.a);
    });
    return zn_cuda_launched(name);
}

/* State of the walk-based ops (Slice, Expand, Tile; Transpose adds the tiles). */
struct walk_state {
    int esz;
    int64_t base; /* input element where the walk starts (Slice's starts) */
    walk w;
    bool tiled; /* Transpose only: use t instead of w */
    tile_args t;
};

/* A zeroed state; prepare hands it over in prep->state only when it succeeds (the compiler
 * drops the state of a failed prepare). */
static walk_state *walk_state_new(const zn_kernel_node *n) {
    walk_state *s = (walk_state *)state_alloc(sizeof *s);
    if (s) s->esz = elem_size(n->in[0].dtype);
    return s;
}

static zn_status walk_state_run(const zn_exec_ctx *ctx, const char *name) {
    const walk_state *s = (const walk_state *)ctx->state;
    return walk_launch(ctx, &s->w, s->base, s->esz, ctx->in[0].data, ctx->out[0].data, name);
}

/* ---- Transpose ---------------------------------------------------------------------------- */

/* perm attribute (default: reversed dims); false when it is not a permutation of rank dims */
static bool transpose_perm(const zn_kernel_node *n, int rank, int64_t *perm) {
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "perm", perm, ZN_MAX_RANK);
    if (np < 0) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return true;
    }
    if (np != rank) return false;
    bool seen[ZN_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]]) return false;
        seen[perm[i]] = true;
    }
    return true;
}

static bool transpose_supports(const zn_kernel_node *n) {
    int64_t perm[ZN_MAX_RANK];
    return n->n_in == 1 && same_dtype_supports(n) && n->out[0].rank == n->in[0].rank &&
           transpose_perm(n, n->in[0].rank, perm);
}

/* Tiles for walk w (a transpose, simplified) when the input's contiguous dim is not the output's
 * last and both are long enough; false: the plain walk serves better. */
static bool transpose_tiles(const walk *w, tile_args *t) {
    int r = w->rank, p = -1;
    for (int d = 0; d < r; d++)
        if (w->st[d] == 1) p = d;
    if (r < 2 || p < 0 || p == r - 1 || w->dims[p] < TILED_MIN || w->dims[r - 1] < TILED_MIN ||
        dims_numel(r, w->dims) == 0)
        return false;
    int64_t ost[WALK_MAX];
    dense_strides(r, w->dims, ost);
    memset(t, 0, sizeof *t);
    t->nA = w->dims[p];
    t->nB = w->dims[r - 1];
    t->sB = w->st[r - 1];
    t->oA = ost[p];
    t->batch = 1;
    for (int d = r - 2; d >= 0; d--) { /* innermost first */
        if (d == p) continue;
        t->bdim[t->nbatch] = w->dims[d];
        t->bin[t->nbatch] = w->st[d];
        t->bout[t->nbatch] = ost[d];
        t->nbatch++;
        t->batch *= w->dims[d];
    }
    return true;
}

/* y: (x.dims[perm[0]], ...) as a walk over y with x's strides permuted */
static zn_status transpose_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    walk_state *s = walk_state_new(n);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    const zn_view *x = &n->in[0];
    int64_t perm[ZN_MAX_RANK], st_in[ZN_MAX_RANK];
    transpose_perm(n, x->rank, perm);
    dense_strides(x->rank, x->dims, st_in);
    s->w.rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        s->w.dims[d] = x->dims[perm[d]];
        s->w.st[d] = st_in[perm[d]];
    }
    walk_simplify(&s->w);
    s->tiled = transpose_tiles(&s->w, &s->t);
    prep->state = s;
    return ZN_OK;
}

static zn_status transpose_run(const zn_exec_ctx *ctx) {
    const walk_state *s = (const walk_state *)ctx->state;
    if (!s->tiled) return walk_state_run(ctx, "transpose_walk");
    const tile_args *t = &s->t;
    int64_t tiles_a = (t->nA + TILE - 1) / TILE, tiles_b = (t->nB + TILE - 1) / TILE;
    dim3 grid(grid_cap(tiles_a), grid_cap(tiles_b), grid_cap(t->batch)), block(TILE, TILE_ROWS);
    cudaStream_t stream = zn_stream(ctx);
    const void *x = ctx->in[0].data;
    void *y = ctx->out[0].data;
    DISPATCH_ELEM(s->esz, transpose_tiled_kernel<T><<<grid, block, 0, stream>>>((T *)y, (const T *)x, *t));
    return zn_cuda_launched("transpose_tiled");
}

/* ---- Concat / Split ----------------------------------------------------------------------- */

/* The whole tensor is (outer, sum len); part k is (outer, len[k]), in elements. */
struct parts_state {
    int esz, n;
    int64_t outer;
    int64_t len[MAX_PARTS];
};

/* Parts along `axis` of the parts' views (the inputs of a Concat, the outputs of a Split). */
static zn_status parts_prepare(const zn_view *parts, int count, int64_t axis, zn_dtype dtype,
                               zn_kernel_prep *prep) {
    parts_state *s = (parts_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    s->esz = elem_size(dtype);
    s->n = count;
    s->outer = 1;
    for (int64_t d = 0; d < axis; d++) s->outer *= parts[0].dims[d];
    for (int k = 0; k < count; k++) {
        s->len[k] = 1;
        for (int d = (int)axis; d < parts[k].rank; d++) s->len[k] *= parts[k].dims[d];
    }
    prep->state = s;
    return ZN_OK;
}

/* Everything a parts launch needs, from the plan and the pointers. */
struct parts_launch_plan {
    parts_args a;
    int width;
    int64_t max_total; /* the longest part's elements (of width), 0: nothing to copy */
};

static void parts_plan(const parts_state *s, void *const *ptrs, const void *whole, parts_launch_plan *p) {
    int width = 16;
    for (; width > s->esz; width /= 2) {
        bool ok = aligned(whole, width);
        for (int k = 0; ok && k < s->n; k++)
            ok = (s->len[k] * s->esz) % width == 0 && (s->len[k] == 0 || aligned(ptrs[k], width));
        if (ok) break;
    }
    int64_t f = width / s->esz;
    parts_args *a = &p->a;
    memset(a, 0, sizeof *a);
    a->outer = s->outer;
    p->width = width;
    p->max_total = 0;
    for (int k = 0; k < s->n; k++) {
        a->ptr[k] = ptrs[k];
        a->len[k] = s->len[k] / f;
        a->at[k] = a->row;
        a->row += a->len[k];
        int64_t total = s->outer * a->len[k];
        if (total > p->max_total) p->max_total = total;
    }
    if (p->max_total <= INDEX32_MAX)
        for (int k = 0; k < s->n; k++)
            if (a->len[k] > 0) a->div[k] = fast_div_make(a->len[k]);
}

static zn_status parts_launch(const zn_exec_ctx *ctx, void *const *ptrs, void *whole, bool split) {
    const parts_state *s = (const parts_state *)ctx->state;
    parts_launch_plan p;
    parts_plan(s, ptrs, whole, &p);
    if (p.max_total == 0) return ZN_OK;
    dim3 grid(zn_grid_for(p.max_total, BLOCK), (unsigned)s->n);
    cudaStream_t st = zn_stream(ctx);
    bool wide = p.max_total > INDEX32_MAX;
    DISPATCH_WIDTH(p.width, {
        T *w = (T *)whole;
        if (split && wide) parts_kernel<T, true, true><<<grid, BLOCK, 0, st>>>(w, p.a);
        else if (split) parts_kernel<T, true, false><<<grid, BLOCK, 0, st>>>(w, p.a);
        else if (wide) parts_kernel<T, false, true><<<grid, BLOCK, 0, st>>>(w, p.a);
        else parts_kernel<T, false, false><<<grid, BLOCK, 0, st>>>(w, p.a);
    });
    return zn_cuda_launched(split ? "split" : "concat");
}

static int64_t axis_attr(const zn_kernel_node *n, int rank) {
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    return axis < 0 ? axis + rank : axis;
}

static bool concat_supports(const zn_kernel_node *n) {
    if (n->n_in > MAX_PARTS || n->n_out != 1 || !same_dtype_supports(n)) return false;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i].dtype != n->in[0].dtype || n->in[i].rank != n->out[0].rank) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    return axis >= -n->out[0].rank && axis < n->out[0].rank;
}

static zn_status concat_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    return parts_prepare(n->in, n->n_in, axis_attr(n, n->out[0].rank), n->out[0].dtype, prep);
}

/* y: the inputs side by side along axis */
static zn_status concat_run(const zn_exec_ctx *ctx) {
    void *ptrs[MAX_PARTS];
    for (int k = 0; k < ctx->n_in; k++) ptrs[k] = ctx->in[k].data;
    return parts_launch(ctx, ptrs, ctx->out[0].data, false);
}

static bool split_supports(const zn_kernel_node *n) {
    if (n->n_out > MAX_PARTS || n->n_in < 1 || !elem_size(n->in[0].dtype)) return false;
    if (node_has(n, 1) && !const_ints(n, 1)) return false; /* split sizes computed at run time */
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    if (axis < -n->in[0].rank || axis >= n->in[0].rank) return false;
    int64_t a = axis < 0 ? axis + n->in[0].rank : axis, total = 0;
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k].dtype != n->in[0].dtype || n->out[k].rank != n->in[0].rank) return false;
        total += n->out[k].dims[a];
    }
    return total == n->in[0].dims[a]; /* the outputs cover x (the reference's check) */
}

static zn_status split_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    return parts_prepare(n->out, n->n_out, axis_attr(n, n->in[0].rank), n->in[0].dtype, prep);
}

/* out[k]: x's slices along axis, sizes from the output dims */
static zn_status split_run(const zn_exec_ctx *ctx) {
    void *ptrs[MAX_PARTS];
    for (int k = 0; k < ctx->n_out; k++) ptrs[k] = ctx->out[k].data;
    return parts_launch(ctx, ptrs, ctx->in[0].data, true);
}

/* ---- Slice -------------------------------------------------------------------------------- */

static bool slice_supports(const zn_kernel_node *n) {
    if (n->n_in < 3 || !same_dtype_supports(n) || n->in[0].rank != n->out[0].rank) return false;
    if (!const_ints(n, 1) || !const_ints(n, 2)) return false;
    /* shape inference gives one element for a negative step over an empty dim; there is
     * nothing to read it from */
    if (zn_view_numel(&n->in[0]) == 0 && zn_view_numel(&n->out[0]) != 0) return false;
    for (int i = 3; i < n->n_in; i++)
        if (node_has(n, i) && !const_ints(n, i)) return false;
    int64_t start[ZN_MAX_RANK], step[ZN_MAX_RANK];
    return zn_slice_params(&n->in[0], n->in, n->n_in, start, step);
}

/* y: x[start_d + i_d * step_d] as a walk from the starts with the steps as strides */
static zn_status slice_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    walk_state *s = walk_state_new(n);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    int64_t start[ZN_MAX_RANK], step[ZN_MAX_RANK], st_in[ZN_MAX_RANK];
    if (!zn_slice_params(x, n->in, n->n_in, start, step)) {
        free(s);
        return zn_error_set(ZN_ERR_RUNTIME, "Slice: starts/ends/axes/steps do not fit the input");
    }
    dense_strides(x->rank, x->dims, st_in);
    s->w.rank = y->rank;
    for (int d = 0; d < y->rank; d++) {
        s->w.dims[d] = y->dims[d];
        s->w.st[d] = st_in[d] * step[d];
        s->base += start[d] * st_in[d];
    }
    if (dims_numel(y->rank, y->dims) == 0) s->base = 0; /* nothing is read */
    walk_simplify(&s->w);
    prep->state = s;
    return ZN_OK;
}

static zn_status slice_run(const zn_exec_ctx *ctx) { return walk_state_run(ctx, "slice"); }

/* ---- Gather ------------------------------------------------------------------------------- */

struct gather_state {
    int esz;
    zn_dtype idx_dtype;
    int64_t outer, dim, inner, ni; /* x (outer, dim, inner), indices (ni) */
};

static bool gather_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || !is_int_idx(n->in[1].dtype)) return false;
    int r = n->in[0].rank;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    if (r < 1 || axis < -r || axis >= r) return false;
    /* nothing to gather from: every index is out of range, which the reference reports */
    return n->in[0].dims[axis < 0 ? axis + r : axis] > 0 || zn_view_numel(&n->out[0]) == 0;
}

static zn_status gather_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    gather_state *s = (gather_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    const zn_view *x = &n->in[0];
    int64_t axis = axis_attr(n, x->rank);
    s->esz = elem_size(x->dtype);
    s->idx_dtype = n->in[1].dtype;
    s->outer = dims_numel((int)axis, x->dims);
    s->dim = x->dims[axis];
    s->inner = dims_numel(x->rank - (int)axis - 1, x->dims + axis + 1);
    s->ni = zn_view_numel(&n->in[1]);
    prep->state = s;
    return ZN_OK;
}

struct gather_launch_plan {
    gather_args a;
    int width;
};

/* false: nothing to gather */
static bool gather_plan(const gather_state *s, const void *x, const void *y, gather_launch_plan *p) {
    int64_t n = s->outer * s->ni * s->inner;
    if (n == 0) return false;
    int width = 16;
    while (width > s->esz && !((s->inner * s->esz) % width == 0 && aligned(x, width) && aligned(y, width)))
        width /= 2;
    int64_t f = width / s->esz;
    gather_args *a = &p->a;
    memset(a, 0, sizeof *a);
    a->n = n / f;
    a->inner = s->inner / f;
    a->ni = s->ni;
    a->dim = s->dim;
    if (a->n <= INDEX32_MAX) {
        a->div_inner = fast_div_make(a->inner);
        a->div_ni = fast_div_make(a->ni);
    }
    p->width = width;
    return true;
}

/* y: x.dims[:axis] + idx.dims + x.dims[axis+1:] */
static zn_status gather_run(const zn_exec_ctx *ctx) {
    const gather_state *s = (const gather_state *)ctx->state;
    const void *x = ctx->in[0].data, *idx = ctx->in[1].data;
    void *y = ctx->out[0].data;
    gather_launch_plan p;
    if (!gather_plan(s, x, y, &p)) return ZN_OK;
    unsigned grid = zn_grid_for(p.a.n, BLOCK);
    cudaStream_t st = zn_stream(ctx);
    bool wide = p.a.n > INDEX32_MAX, i64 = s->idx_dtype == ZN_I64;
    DISPATCH_WIDTH(p.width, {
        const T *xs = (const T *)x;
        T *ys = (T *)y;
        const int64_t *i8 = (const int64_t *)idx;
        const int32_t *i4 = (const int32_t *)idx;
        if (i64 && wide) gather_kernel<T, int64_t, true><<<grid, BLOCK, 0, st>>>(ys, xs, i8, p.a);
        else if (i64) gather_kernel<T, int64_t, false><<<grid, BLOCK, 0, st>>>(ys, xs, i8, p.a);
        else if (wide) gather_kernel<T, int32_t, true><<<grid, BLOCK, 0, st>>>(ys, xs, i4, p.a);
        else gather_kernel<T, int32_t, false><<<grid, BLOCK, 0, st>>>(ys, xs, i4, p.a);
    });
    return zn_cuda_launched("gather");
}

/* ---- Expand / Tile ------------------------------------------------------------------------ */

static bool expand_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || !const_ints(n, 1) || n->out[0].rank < n->in[0].rank)
        return false;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    for (int i = 0; i < x->rank; i++) {
        int64_t dx = x->dims[x->rank - 1 - i], dy = y->dims[y->rank - 1 - i];
        if (dx != dy && dx != 1) return false;
    }
    return true;
}

/* y: x broadcast to y's dims: a walk with stride 0 over the new and the size-1 dims */
static zn_status expand_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    walk_state *s = walk_state_new(n);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    int64_t st_in[ZN_MAX_RANK];
    dense_strides(x->rank, x->dims, st_in);
    int lead = y->rank - x->rank;
    s->w.rank = y->rank;
    for (int d = 0; d < y->rank; d++) {
        int xd = d - lead;
        s->w.dims[d] = y->dims[d];
        s->w.st[d] = (xd < 0 || x->dims[xd] == 1) ? 0 : st_in[xd];
    }
    walk_simplify(&s->w);
    prep->state = s;
    return ZN_OK;
}

static zn_status expand_run(const zn_exec_ctx *ctx) { return walk_state_run(ctx, "expand"); }

static bool tile_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || !const_ints(n, 1) || n->out[0].rank != n->in[0].rank)
        return false;
    for (int d = 0; d < n->in[0].rank; d++) {
        int64_t dx = n->in[0].dims[d], dy = n->out[0].dims[d];
        if (dx == 0 ? dy != 0 : dy % dx != 0) return false;
    }
    return true;
}

/* y: (r0*d0, r1*d1, ...) walked as (r0, d0, r1, d1, ...) with stride 0 over the repeats */
static zn_status tile_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    walk_state *s = walk_state_new(n);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    int64_t st_in[ZN_MAX_RANK];
    dense_strides(x->rank, x->dims, st_in);
    prep->state = s;
    if (zn_view_numel(y) == 0) { /* an empty walk: run copies nothing */
        s->w.rank = 1;
        s->w.dims[0] = 0;
        return ZN_OK;
    }
    s->w.rank = 2 * x->rank;
    for (int d = 0; d < x->rank; d++) {
        s->w.dims[2 * d] = y->dims[d] / x->dims[d];
        s->w.st[2 * d] = 0;
        s->w.dims[2 * d + 1] = x->dims[d];
        s->w.st[2 * d + 1] = st_in[d];
    }
    walk_simplify(&s->w);
    return ZN_OK;
}

static zn_status tile_run(const zn_exec_ctx *ctx) { return walk_state_run(ctx, "tile"); }

/* ---- Pad ---------------------------------------------------------------------------------- */

static bool pad_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n) || n->in[0].rank != n->out[0].rank) return false;
    if (zn_pad_mode(n->attrs, n->n_attrs) < 0) return false;
    if (!const_ints(n, 1)) return false;
    if (node_has(n, 2) && (n->in[2].dtype != n->in[0].dtype || zn_view_numel(&n->in[2]) != 1 || !n->in[2].data))
        return false;
    if (node_has(n, 3) && !const_ints(n, 3)) return false;
    int mode = zn_pad_mode(n->attrs, n->n_attrs);
    for (int d = 0; d < n->in[0].rank; d++) /* edge/reflect need something to repeat */
        if (mode != ZN_PAD_CONSTANT && n->in[0].dims[d] == 0 && n->out[0].dims[d] != 0) return false;
    int64_t pb[ZN_MAX_RANK];
    return zn_pad_begins(&n->in[0], &n->in[1], node_has(n, 3) ? &n->in[3] : NULL, pb);
}

struct pad_state {
    int esz;
    pad_args a; /* divisors filled at prepare when a.n fits 32 bits */
};

/* Drops the unpadded size-1 dims of a pad (dims outermost first: o of y, x, begin pads pb);
 * returns the new rank (>= 1). */
static int pad_drop_ones(int rank, int64_t *o, int64_t *x, int64_t *pb) {
    int r = 0;
    for (int d = 0; d < rank; d++) {
        bool flat = pb[d] == 0 && o[d] == x[d]; /* no pad at either end */
        if (flat && o[d] == 1) continue;
        o[r] = o[d];
        x[r] = x[d];
        pb[r] = pb[d];
        r++;
    }
    if (r == 0) {
        o[0] = x[0] = 1;
        pb[0] = 0;
        r = 1;
    }
    return r;
}

/* Merges an unpadded dim into its outer neighbour when that one is unpadded too or the mode is
 * constant (a padded dim of rows then pads whole rows: begin pad pb * row, in range iff the
 * row index is). Returns the new rank. */
static int pad_merge(int rank, int64_t *o, int64_t *x, int64_t *pb, int mode) {
    int r = 1;
    for (int d = 1; d < rank; d++) {
        bool inner_flat = pb[d] == 0 && o[d] == x[d];
        bool outer_flat = pb[r - 1] == 0 && o[r - 1] == x[r - 1];
        if (inner_flat && (outer_flat || mode == ZN_PAD_CONSTANT)) {
            o[r - 1] *= o[d];
            x[r - 1] *= o[d];
            pb[r - 1] *= o[d];
            continue;
        }
        o[r] = o[d];
        x[r] = x[d];
        pb[r] = pb[d];
        r++;
    }
    return r;
}

/* y: x with pads (begin..., end...) per dim; negative pads crop */
static zn_status pad_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    const zn_view *x = &n->in[0], *y = &n->out[0];
    int64_t o[ZN_MAX_RANK], xd[ZN_MAX_RANK], pb[ZN_MAX_RANK], xst[ZN_MAX_RANK];
    if (!zn_pad_begins(x, &n->in[1], node_has(n, 3) ? &n->in[3] : NULL, pb))
        return zn_error_set(ZN_ERR_RUNTIME, "Pad: pads/axes do not fit the input's rank %d", x->rank);
    pad_state *s = (pad_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    prep->state = s;
    s->esz = elem_size(x->dtype);
    pad_args *a = &s->a;
    a->mode = zn_pad_mode(n->attrs, n->n_attrs);
    if (node_has(n, 2)) memcpy(&a->value, n->in[2].data, (size_t)s->esz); /* little-endian */
    a->n = zn_view_numel(y);
    if (a->n == 0) return ZN_OK;
    for (int d = 0; d < x->rank; d++) {
        o[d] = y->dims[d];
        xd[d] = x->dims[d];
    }
    int r = pad_drop_ones(x->rank, o, xd, pb);
    r = pad_merge(r, o, xd, pb, a->mode);
    dense_strides(r, xd, xst);
    a->rank = r;
    for (int k = 0; k < r; k++) {
        int d = r - 1 - k;
        a->odim[k] = o[d];
        a->xdim[k] = xd[d];
        a->pb[k] = pb[d];
        a->xst[k] = xst[d];
        if (a->n <= INDEX32_MAX) a->div[k] = fast_div_make(o[d]);
    }
    return ZN_OK;
}

static zn_status pad_run(const zn_exec_ctx *ctx) {
    const pad_state *s = (const pad_state *)ctx->state;
    if (s->a.n == 0) return ZN_OK;
    const void *x = ctx->in[0].data;
    void *y = ctx->out[0].data;
    unsigned grid = zn_grid_for(s->a.n, BLOCK);
    cudaStream_t st = zn_stream(ctx);
    bool wide = s->a.n > INDEX32_MAX;
    DISPATCH_ELEM(s->esz, {
        if (wide) pad_kernel<T, true><<<grid, BLOCK, 0, st>>>((T *)y, (const T *)x, s->a);
        else pad_kernel<T, false><<<grid, BLOCK, 0, st>>>((T *)y, (const T *)x, s->a);
    });
    return zn_cuda_launched("pad");
}

/* ---- Trilu -------------------------------------------------------------------------------- */

static bool trilu_supports(const zn_kernel_node *n) {
    if (n->n_in > 2 || !same_dtype_supports(n) || n->in[0].rank < 2 || n->out[0].rank != n->in[0].rank) return false;
    return !node_has(n, 1) || (const_ints(n, 1) && zn_view_numel(&n->in[1]) == 1);
}

struct trilu_state {
    int esz;
    trilu_args a;
};

static zn_status trilu_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    trilu_state *s = (trilu_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    prep->state = s;
    const zn_view *x = &n->in[0];
    trilu_args *a = &s->a;
    s->esz = elem_size(x->dtype);
    a->upper = zn_attrs_int(n->attrs, n->n_attrs, "upper", 1) != 0;
    a->k = node_has(n, 1) ? int_at(&n->in[1], 0) : 0;
    a->N = x->dims[x->rank - 2];
    a->M = x->dims[x->rank - 1];
    a->n = zn_view_numel(x);
    if (a->n > 0 && a->n <= INDEX32_MAX) {
        a->div_m = fast_div_make(a->M);
        a->div_n = fast_div_make(a->N);
    }
    return ZN_OK;
}

/* y: (..., N, M) = x with the elements below (upper=1) or above (upper=0) diagonal k zeroed */
static zn_status trilu_run(const zn_exec_ctx *ctx) {
    const trilu_state *s = (const trilu_state *)ctx->state;
    if (s->a.n == 0) return ZN_OK;
    const void *x = ctx->in[0].data;
    void *y = ctx->out[0].data;
    unsigned grid = zn_grid_for(s->a.n, BLOCK);
    cudaStream_t st = zn_stream(ctx);
    bool wide = s->a.n > INDEX32_MAX;
    DISPATCH_ELEM(s->esz, {
        if (wide) trilu_kernel<T, true><<<grid, BLOCK, 0, st>>>((T *)y, (const T *)x, s->a);
        else trilu_kernel<T, false><<<grid, BLOCK, 0, st>>>((T *)y, (const T *)x, s->a);
    });
    return zn_cuda_launched("trilu");
}

/* ---- Shape / ConstantOfShape -------------------------------------------------------------- */

static bool shape_supports(const zn_kernel_node *n) {
    return n->n_in == 1 && n->n_out == 1 && n->out[0].dtype == ZN_I64 && n->out[0].rank == 1;
}

/* The dims x.dims[start:end] (negative start/end count from the back, clamped), as the
 * reference; the count. */
static int64_t shape_dims(const zn_kernel_node *n, int64_t *out) {
    int64_t r = n->in[0].rank;
    int64_t s = zn_attrs_int(n->attrs, n->n_attrs, "start", 0);
    int64_t e = zn_attrs_int(n->attrs, n->n_attrs, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : (s > r ? r : s);
    e = e < 0 ? 0 : (e > r ? r : e);
    for (int64_t i = s; i < e; i++) out[i - s] = n->in[0].dims[i];
    return e > s ? e - s : 0;
}

struct shape_state {
    size_t bytes;
    void *dims; /* device: the output's i64 values */
};

static void shape_release(void *state) {
    shape_state *s = (shape_state *)state;
    if (s && s->dims) zn_device_free(s->dims);
    free(s);
}

static zn_status shape_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    int64_t dims[ZN_MAX_RANK];
    int64_t count = shape_dims(n, dims);
    if (n->out[0].dims[0] != count)
        return zn_error_set(ZN_ERR_RUNTIME, "Shape: output holds %lld dims, expected %lld",
                            (long long)n->out[0].dims[0], (long long)count);
    shape_state *s = (shape_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    prep->state = s;
    s->bytes = (size_t)count * sizeof(int64_t);
    if (!s->bytes) return ZN_OK;
    zn_status st = zn_device_alloc(&s->dims, s->bytes, "Shape's dims");
    if (st == ZN_OK) st = zn_device_upload(s->dims, dims, s->bytes);
    if (st != ZN_OK) { /* the compiler drops the state of a failed prepare: release it here */
        shape_release(s);
        prep->state = NULL;
    }
    return st;
}

/* y: (end - start) i64 = x.dims[start:end], known since prepare */
static zn_status shape_run(const zn_exec_ctx *ctx) {
    const shape_state *s = (const shape_state *)ctx->state;
    if (!s->bytes) return ZN_OK;
    return zn_cuda_status(cudaMemcpyAsync(ctx->out[0].data, s->dims, s->bytes, cudaMemcpyDeviceToDevice,
                                          zn_stream(ctx)),
                          "Shape: cudaMemcpyAsync of the dims");
}

static bool cos_supports(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1 || n->in[0].dtype != ZN_I64 || !n->in[0].data || !elem_size(n->out[0].dtype))
        return false;
    const zn_attr *a = zn_attrs_find(n->attrs, n->n_attrs, "value");
    if (!a) return n->out[0].dtype == ZN_F32;
    if (a->type != ZN_ATTR_TENSOR || !a->t || a->t->dtype != n->out[0].dtype || !a->t->data) return false;
    return dims_numel(a->t->rank, a->t->dims) == 1;
}

struct cos_state {
    int esz;
    int64_t n;
    uint64_t value; /* little-endian, zero-extended */
    bool one_byte;  /* every byte of the value is the same: a memset */
};

static zn_status cos_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    cos_state *s = (cos_state *)state_alloc(sizeof *s);
    if (!s) return ZN_ERR_OUT_OF_MEMORY;
    prep->state = s;
    const zn_attr *a = zn_attrs_find(n->attrs, n->n_attrs, "value");
    s->esz = elem_size(n->out[0].dtype);
    s->n = zn_view_numel(&n->out[0]);
    if (a && a->t) memcpy(&s->value, a->t->data, (size_t)s->esz); /* default: f32 0 */
    uint8_t b[8];
    memcpy(b, &s->value, sizeof b);
    s->one_byte = true;
    for (int i = 1; i < s->esz; i++) s->one_byte = s->one_byte && b[i] == b[0];
    return ZN_OK;
}

/* y: every element = value (default f32 0) */
static zn_status cos_run(const zn_exec_ctx *ctx) {
    const cos_state *s = (const cos_state *)ctx->state;
    if (s->n == 0) return ZN_OK;
    void *y = ctx->out[0].data;
    cudaStream_t st = zn_stream(ctx);
    if (s->one_byte)
        return zn_cuda_status(cudaMemsetAsync(y, (int)(s->value & 0xff), (size_t)s->n * (size_t)s->esz, st),
                              "ConstantOfShape: cudaMemsetAsync");
    DISPATCH_ELEM(s->esz, fill_kernel<T><<<zn_grid_for(s->n, BLOCK), BLOCK, 0, st>>>((T *)y, s->n, (T)s->value));
    return zn_cuda_launched("constantofshape");
}

/* ---- table -------------------------------------------------------------------------------- */

#define CUDA ZN_BACKEND_CUDA
#define ANY ZN_DTYPE_UNDEFINED

static const zn_kernel_spec specs[] = {
    {"cuda.transpose", ZN_OP_TRANSPOSE, CUDA, ANY, 10, 0, transpose_supports, transpose_prepare, state_free, transpose_run},
    {"cuda.concat", ZN_OP_CONCAT, CUDA, ANY, 10, 0, concat_supports, concat_prepare, state_free, concat_run},
    {"cuda.split", ZN_OP_SPLIT, CUDA, ANY, 10, 0, split_supports, split_prepare, state_free, split_run},
    {"cuda.slice", ZN_OP_SLICE, CUDA, ANY, 10, 0, slice_supports, slice_prepare, state_free, slice_run},
    {"cuda.gather", ZN_OP_GATHER, CUDA, ANY, 10, 0, gather_supports, gather_prepare, state_free, gather_run},
    {"cuda.expand", ZN_OP_EXPAND, CUDA, ANY, 10, 0, expand_supports, expand_prepare, state_free, expand_run},
    {"cuda.tile", ZN_OP_TILE, CUDA, ANY, 10, 0, tile_supports, tile_prepare, state_free, tile_run},
    {"cuda.pad", ZN_OP_PAD, CUDA, ANY, 10, 0, pad_supports, pad_prepare, state_free, pad_run},
    {"cuda.trilu", ZN_OP_TRILU, CUDA, ANY, 10, ZN_KERNEL_INPLACE, trilu_supports, trilu_prepare, state_free, trilu_run},
    {"cuda.shape", ZN_OP_SHAPE, CUDA, ZN_I64, 10, 0, shape_supports, shape_prepare, shape_release, shape_run},
    {"cuda.constantofshape", ZN_OP_CONSTANT_OF_SHAPE, CUDA, ANY, 10, 0, cos_supports, cos_prepare, state_free, cos_run},
};

ZN_KERNEL_TABLE(zn_cuda_shape_table, specs);
