/* elementwise.cu — CUDA kernels for the element-wise ops: activations and unary math, the
 * broadcasting binary arithmetic, variadic Min/Max (up to 3 inputs), comparisons, logic, Where,
 * Cast, Clip, and the fused ZnAddRelu / ZnBiasRelu / ZnBiasGelu.
 *
 * Semantics are the CPU reference's (kernels/cpu/ref_elementwise.c, ref_norm.c), expression for
 * expression: float ops load f32/f16/bf16 and compute in fp32 (Relu keeps NaN, Min/Max propagate
 * it); integer ops wrap (two's complement) and integer division by zero gives 0; Cast truncates
 * float -> integer toward zero, saturates out of range, maps NaN to 0, wraps i64 -> i32 and
 * rounds to nearest-even into f16/bf16.
 *
 * Broadcasting is planned once, at prepare, from the static shapes with the CPU planner
 * (kernels/cpu/broadcast.h: size-1 dims dropped, dims every operand walks the same way merged,
 * stride 0 where an input broadcasts) and handed to the kernel by value. Two kernels run
 * every op:
 *   ew_flat   the output walked flat; each input is FULL (x[i]), SCALAR (x[0]) or ROW
 *             (x[i % C]: a bias over the last dim). Covers same-shape, scalar-operand and bias
 *             cases; 16-byte vector loads and stores when every walked pointer is aligned and
 *             a ROW's C is a multiple of the vector width.
 *   ew_bcast  everything else: per-element coordinates over up to 8 merged dims, by 32-bit
 *             magic-number division (plain 64-bit division for outputs of 2^31+ elements).
 * Kernels that read in[0] at the index they write are flagged ZN_KERNEL_INPLACE: the planner
 * only aliases out[0] with in[0] when their byte sizes match, which for a broadcasting op means
 * in[0] already has the output's shape, so each thread reads x[i] before it writes y[i].
 *
 * Not here: shape inference (engine/infer_elementwise.c), Softmax and the normalizations
 * (norm.cu), reductions (reduce.cu). Refused (they fall back to the CPU): Clip bounds and other
 * parameters that are not compile-time constants, Min/Max with more than 3 inputs, dtypes
 * outside f32/f16/bf16/i64/i32/bool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>

#include "../cpu/broadcast.h"
#include "common.cuh"

#define EW_BLOCK 256

typedef uint8_t zn_bool8; /* ZN_BOOL: one byte, nonzero is true */

/* Everything up to the spec table has internal linkage: template kernels and helpers of the same
 * name in other kernel files cannot collide at link time. */
namespace {

/* ============================== device helpers ================================================ */

/* Compute types: f16/bf16 are computed in fp32, everything else in its own type. */
template <class T> struct cv_of { typedef T type; };
template <> struct cv_of<__half> { typedef float type; };
template <> struct cv_of<__nv_bfloat16> { typedef float type; };
template <class T> using cv_t = typename cv_of<T>::type;

template <class T> __device__ __forceinline__ cv_t<T> to_cv(T x) { return x; }
template <> __device__ __forceinline__ float to_cv<__half>(__half x) { return __half2float(x); }
template <> __device__ __forceinline__ float to_cv<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T> __device__ __forceinline__ T from_cv(cv_t<T> v) { return v; }
template <> __device__ __forceinline__ __half from_cv<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_cv<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

/* N elements moved as one aligned access (N * sizeof(T) is 2, 4, 8 or 16 bytes). */
template <class T, int N> struct alignas(sizeof(T) * N) vec_t {
    T v[N];
};

/* Wrapping integer arithmetic (no signed-overflow UB); the float versions are plain. */
__device__ __forceinline__ float add_(float a, float b) { return a + b; }
__device__ __forceinline__ int64_t add_(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
__device__ __forceinline__ int32_t add_(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
__device__ __forceinline__ float sub_(float a, float b) { return a - b; }
__device__ __forceinline__ int64_t sub_(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
__device__ __forceinline__ int32_t sub_(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
__device__ __forceinline__ float mul_(float a, float b) { return a * b; }
__device__ __forceinline__ int64_t mul_(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
__device__ __forceinline__ int32_t mul_(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
__device__ __forceinline__ float div_(float a, float b) { return a / b; }
/* integer division truncates; x / 0 gives 0 and MIN / -1 gives MIN (the reference's choices) */
__device__ __forceinline__ int64_t div_(int64_t a, int64_t b) {
    return b == 0 ? 0 : (a == INT64_MIN && b == -1) ? a : a / b;
}
__device__ __forceinline__ int32_t div_(int32_t a, int32_t b) {
    return b == 0 ? 0 : (a == INT32_MIN && b == -1) ? a : a / b;
}
/* NaN-propagating for floats: a NaN on either side wins */
__device__ __forceinline__ float min_(float a, float b) { return (isnan(a) || a < b) ? a : b; }
__device__ __forceinline__ float max_(float a, float b) { return (isnan(a) || a > b) ? a : b; }
__device__ __forceinline__ int64_t min_(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max_(int64_t a, int64_t b) { return a > b ? a : b; }
__device__ __forceinline__ int32_t min_(int32_t a, int32_t b) { return a < b ? a : b; }
__device__ __forceinline__ int32_t max_(int32_t a, int32_t b) { return a > b ? a : b; }
__device__ __forceinline__ float neg_(float v) { return -v; }
__device__ __forceinline__ int64_t neg_(int64_t v) { return (int64_t)(0u - (uint64_t)v); }
__device__ __forceinline__ int32_t neg_(int32_t v) { return (int32_t)(0u - (uint32_t)v); }
__device__ __forceinline__ float abs_(float v) { return fabsf(v); }
__device__ __forceinline__ int64_t abs_(int64_t v) { return v < 0 ? neg_(v) : v; }
__device__ __forceinline__ int32_t abs_(int32_t v) { return v < 0 ? neg_(v) : v; }
template <class V> __device__ __forceinline__ zn_bool8 eq_(V a, V b) { return a == b; }
template <> __device__ __forceinline__ zn_bool8 eq_<zn_bool8>(zn_bool8 a, zn_bool8 b) { return (a != 0) == (b != 0); }

__device__ __forceinline__ float clampf_(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
__device__ __forceinline__ float gelu_erf_(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }
__device__ __forceinline__ float gelu_tanh_(float v) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

/* float -> integer: truncate toward zero, saturate out of range, NaN -> 0 */
__device__ __forceinline__ int64_t f2i64_(float v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0f) return INT64_MAX;
    if (v <= -9223372036854775808.0f) return INT64_MIN;
    return (int64_t)v;
}
__device__ __forceinline__ int32_t f2i32_(float v) {
    if (v != v) return 0;
    if (v >= 2147483647.0f) return INT32_MAX;
    if (v <= -2147483648.0f) return INT32_MIN;
    return (int32_t)v;
}

/* ============================== ops (functors on compute types) =============================== */

struct op_relu {
    template <class V> __device__ V operator()(V v) const { return v < V(0) ? V(0) : v; }
};
struct op_neg {
    template <class V> __device__ V operator()(V v) const { return neg_(v); }
};
struct op_abs {
    template <class V> __device__ V operator()(V v) const { return abs_(v); }
};
struct op_leaky {
    float alpha;
    __device__ float operator()(float v) const { return v < 0.0f ? alpha * v : v; }
};
struct op_sigmoid {
    __device__ float operator()(float v) const { return 1.0f / (1.0f + expf(-v)); }
};
struct op_tanh {
    __device__ float operator()(float v) const { return tanhf(v); }
};
struct op_gelu_erf {
    __device__ float operator()(float v) const { return gelu_erf_(v); }
};
struct op_gelu_tanh {
    __device__ float operator()(float v) const { return gelu_tanh_(v); }
};
struct op_erf {
    __device__ float operator()(float v) const { return erff(v); }
};
struct op_silu {
    __device__ float operator()(float v) const { return v / (1.0f + expf(-v)); }
};
struct op_hardsigmoid {
    float alpha, beta;
    __device__ float operator()(float v) const { return clampf_(alpha * v + beta, 0.0f, 1.0f); }
};
struct op_hardswish {
    __device__ float operator()(float v) const { return v * clampf_(v / 6.0f + 0.5f, 0.0f, 1.0f); }
};
struct op_softplus {
    __device__ float operator()(float v) const { return (v > 0.0f ? v : 0.0f) + log1pf(expf(-fabsf(v))); }
};
struct op_clip {
    float lo, hi;
    __device__ float operator()(float v) const { return clampf_(v, lo, hi); }
};
struct op_sqrt {
    __device__ float operator()(float v) const { return sqrtf(v); }
};
struct op_exp {
    __device__ float operator()(float v) const { return expf(v); }
};
struct op_log {
    __device__ float operator()(float v) const { return logf(v); }
};
struct op_reciprocal {
    __device__ float operator()(float v) const { return 1.0f / v; }
};
struct op_floor {
    __device__ float operator()(float v) const { return floorf(v); }
};
struct op_ceil {
    __device__ float operator()(float v) const { return ceilf(v); }
};
struct op_not {
    __device__ zn_bool8 operator()(zn_bool8 v) const { return (zn_bool8)!v; }
};

struct op_add {
    template <class V> __device__ V operator()(V a, V b) const { return add_(a, b); }
};
struct op_sub {
    template <class V> __device__ V operator()(V a, V b) const { return sub_(a, b); }
};
struct op_mul {
    template <class V> __device__ V operator()(V a, V b) const { return mul_(a, b); }
};
struct op_div {
    template <class V> __device__ V operator()(V a, V b) const { return div_(a, b); }
};
/* Pow: f32 compute; an integer exponent is converted to f32 first (as the reference does) */
struct op_pow {
    template <class E> __device__ float operator()(float x, E e) const { return powf(x, (float)e); }
};
/* variadic Min / Max: one input is a copy; three fold left to right */
struct op_min {
    template <class V> __device__ V operator()(V a) const { return a; }
    template <class V> __device__ V operator()(V a, V b) const { return min_(a, b); }
    template <class V> __device__ V operator()(V a, V b, V c) const { return min_(min_(a, b), c); }
};
struct op_max {
    template <class V> __device__ V operator()(V a) const { return a; }
    template <class V> __device__ V operator()(V a, V b) const { return max_(a, b); }
    template <class V> __device__ V operator()(V a, V b, V c) const { return max_(max_(a, b), c); }
};
struct op_equal {
    template <class V> __device__ zn_bool8 operator()(V a, V b) const { return eq_(a, b); }
};
struct op_less {
    template <class V> __device__ zn_bool8 operator()(V a, V b) const { return a < b; }
};
struct op_greater {
    template <class V> __device__ zn_bool8 operator()(V a, V b) const { return a > b; }
};
struct op_and {
    __device__ zn_bool8 operator()(zn_bool8 a, zn_bool8 b) const { return (a != 0) & (b != 0); }
};
struct op_or {
    __device__ zn_bool8 operator()(zn_bool8 a, zn_bool8 b) const { return (a != 0) | (b != 0); }
};
/* Where moves values as unsigned integers of their size, so every dtype's bits pass unchanged */
struct op_where {
    template <class V> __device__ V operator()(zn_bool8 c, V x, V y) const { return c ? x : y; }
};
/* ZnAddRelu and ZnBiasRelu: relu(a + b); ZnBiasGelu: gelu(x + bias) */
struct op_add_relu {
    __device__ float operator()(float a, float b) const {
        float v = a + b;
        return v < 0.0f ? 0.0f : v;
    }
};
struct op_add_gelu_erf {
    __device__ float operator()(float a, float b) const { return gelu_erf_(a + b); }
};
struct op_add_gelu_tanh {
    __device__ float operator()(float a, float b) const { return gelu_tanh_(a + b); }
};

/* Cast TI -> TO on compute types: float sources convert from fp32, integer and bool sources
 * from i64 (bool as 0/1), exactly as the reference's cast_range. */
template <class TI, class TO> struct op_cast {
    __device__ cv_t<TO> operator()(cv_t<TI> x) const {
        if constexpr (std::is_same<cv_t<TI>, float>::value) {
            if constexpr (std::is_same<cv_t<TO>, float>::value) return x; /* rounded by from_cv */
            else if constexpr (std::is_same<TO, int64_t>::value) return f2i64_(x);
            else if constexpr (std::is_same<TO, int32_t>::value) return f2i32_(x);
            else return (zn_bool8)(x != 0.0f);
        } else {
            const int64_t ib = std::is_same<TI, zn_bool8>::value ? (int64_t)(x != 0) : (int64_t)x;
            if constexpr (std::is_same<cv_t<TO>, float>::value) return (float)ib;
            else if constexpr (std::is_same<TO, int64_t>::value) return ib;
            else if constexpr (std::is_same<TO, int32_t>::value) return (int32_t)(uint32_t)(uint64_t)ib;
            else return (zn_bool8)(ib != 0);
        }
    }
};

/* ============================== kernels ======================================================= */

enum { IN_FULL = 0, IN_SCALAR = 1, IN_ROW = 2 }; /* how ew_flat reads an input */

/* The inputs of one launch: device pointers and, for ew_flat, how each is read. */
struct ew_inputs {
    const void *p[ZN_BCAST_MAX_IN];
    int mode[ZN_BCAST_MAX_IN];
};

/* The broadcast walk of ew_bcast (built at prepare from a zn_bcast). */
struct ew_bcast_plan {
    int rank;  /* merged dims, 1..ZN_MAX_RANK */
    int idx32; /* output has < 2^31 elements: 32-bit coordinates, magic-number division */
    int64_t dims[ZN_MAX_RANK];
    int64_t strides[ZN_BCAST_MAX_IN][ZN_MAX_RANK]; /* elements; 0 where the input broadcasts */
    uint32_t magic[ZN_MAX_RANK];                   /* n / dims[d] == (umulhi(n, magic) + n) >> shift */
    uint32_t shift[ZN_MAX_RANK];
};

/* Result of op on the first NIN operands (the others are never read). */
template <int NIN, class Op, class A, class B, class C>
__device__ __forceinline__ auto ew_eval(const Op &op, const A &a, const B &b, const C &c) {
    if constexpr (NIN == 1) return op(a);
    else if constexpr (NIN == 2) return op(a, b);
    else return op(a, b, c);
}

/* V consecutive elements of one input, starting at output element e (col = e % C for ROW). */
template <class T, int V>
__device__ __forceinline__ void ld_vec(cv_t<T> (&r)[V], const void *p, int mode, int64_t e, int64_t col) {
    const T *x = (const T *)p;
    if (mode == IN_SCALAR) {
        const cv_t<T> s = to_cv<T>(x[0]);
#pragma unroll
        for (int j = 0; j < V; j++) r[j] = s;
        return;
    }
    const vec_t<T, V> t = *reinterpret_cast<const vec_t<T, V> *>(x + (mode == IN_FULL ? e : col));
#pragma unroll
    for (int j = 0; j < V; j++) r[j] = to_cv<T>(t.v[j]);
}

template <class T> __device__ __forceinline__ cv_t<T> ld_one(const void *p, int mode, int64_t i, int64_t col) {
    const T *x = (const T *)p;
    return to_cv<T>(x[mode == IN_FULL ? i : (mode == IN_ROW ? col : 0)]);
}

/* x % C without the 64-bit division when there is no ROW input (C == 1). */
__device__ __forceinline__ int64_t col_of(int64_t x, int64_t C) { return C == 1 ? 0 : x % C; }

/* out: (n) = op(in...) with every input FULL, SCALAR or ROW (x[i % C]). vec: the V-wide path
 * (the launcher checked that every FULL/ROW pointer and out are V-element aligned and that C % V
 * == 0 when an input is ROW); the n % V tail elements then go one per thread. */
template <int NIN, class Op, class TO, class TA, class TB, class TC, int V>
__global__ void ew_flat_kernel(TO *out, ew_inputs in, Op op, int64_t n, int64_t C, int vec) {
    const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t nthr = (int64_t)gridDim.x * blockDim.x;
    int64_t done = 0;
    if (vec) {
        const int64_t nv = n / V;
        int64_t col = col_of(tid * V, C); /* column of element v * V, then kept without division */
        const int64_t step = col_of(nthr * V, C);
        for (int64_t v = tid; v < nv; v += nthr) {
            const int64_t e = v * V;
            cv_t<TA> a[V];
            cv_t<TB> b[V];
            cv_t<TC> c[V];
            ld_vec<TA, V>(a, in.p[0], in.mode[0], e, col);
            if constexpr (NIN > 1) ld_vec<TB, V>(b, in.p[1], in.mode[1], e, col);
            if constexpr (NIN > 2) ld_vec<TC, V>(c, in.p[2], in.mode[2], e, col);
            vec_t<TO, V> o;
#pragma unroll
            for (int j = 0; j < V; j++) o.v[j] = from_cv<TO>(ew_eval<NIN>(op, a[j], b[j], c[j]));
            *reinterpret_cast<vec_t<TO, V> *>(out + e) = o;
            col += step;
            if (col >= C) col -= C;
        }
        done = nv * V;
    }
    int64_t col = col_of(done + tid, C);
    const int64_t step = col_of(nthr, C);
    for (int64_t i = done + tid; i < n; i += nthr) {
        cv_t<TA> a = ld_one<TA>(in.p[0], in.mode[0], i, col);
        cv_t<TB> b;
        cv_t<TC> c;
        if constexpr (NIN > 1) b = ld_one<TB>(in.p[1], in.mode[1], i, col);
        if constexpr (NIN > 2) c = ld_one<TC>(in.p[2], in.mode[2], i, col);
        out[i] = from_cv<TO>(ew_eval<NIN>(op, a, b, c));
        col += step;
        if (col >= C) col -= C;
    }
}

/* Element offsets of output element i in each input. */
template <int NIN>
__device__ __forceinline__ void ew_offsets(const ew_bcast_plan &p, int64_t i, int64_t (&off)[ZN_BCAST_MAX_IN]) {
    if (p.idx32) {
        uint32_t r = (uint32_t)i;
        uint32_t o[NIN];
#pragma unroll
        for (int k = 0; k < NIN; k++) o[k] = 0;
#pragma unroll
        for (int d = ZN_MAX_RANK - 1; d >= 1; d--) {
            if (d >= p.rank) continue;
            const uint32_t q = (__umulhi(r, p.magic[d]) + r) >> p.shift[d];
            const uint32_t c = r - q * (uint32_t)p.dims[d];
#pragma unroll
            for (int k = 0; k < NIN; k++) o[k] += c * (uint32_t)p.strides[k][d];
            r = q;
        }
#pragma unroll
        for (int k = 0; k < NIN; k++) off[k] = (int64_t)(o[k] + r * (uint32_t)p.strides[k][0]);
    } else {
        int64_t r = i;
#pragma unroll
        for (int k = 0; k < NIN; k++) off[k] = 0;
#pragma unroll
        for (int d = ZN_MAX_RANK - 1; d >= 1; d--) {
            if (d >= p.rank) continue;
            const int64_t q = r / p.dims[d];
            const int64_t c = r - q * p.dims[d];
#pragma unroll
            for (int k = 0; k < NIN; k++) off[k] += c * p.strides[k][d];
            r = q;
        }
#pragma unroll
        for (int k = 0; k < NIN; k++) off[k] += r * p.strides[k][0];
    }
}

/* out: (n) = op(in...) with general broadcasting: p maps each output element to its inputs. */
template <int NIN, class Op, class TO, class TA, class TB, class TC>
__global__ void ew_bcast_kernel(TO *out, ew_inputs in, Op op, ew_bcast_plan p, int64_t n) {
    ZN_GRID_STRIDE(i, n) {
        int64_t off[ZN_BCAST_MAX_IN];
        ew_offsets<NIN>(p, i, off);
        cv_t<TA> a = to_cv<TA>(((const TA *)in.p[0])[off[0]]);
        cv_t<TB> b;
        cv_t<TC> c;
        if constexpr (NIN > 1) b = to_cv<TB>(((const TB *)in.p[1])[off[1]]);
        if constexpr (NIN > 2) c = to_cv<TC>(((const TC *)in.p[2])[off[2]]);
        out[i] = from_cv<TO>(ew_eval<NIN>(op, a, b, c));
    }
}

/* ============================== plan (prepare) ================================================ */

/* What prepare computes once per plan. */
typedef struct ew_state {
    int n_in;                      /* inputs walked (1..3) */
    int64_t numel;                 /* output elements */
    int flat;                      /* 1: ew_flat with mode[]; 0: ew_bcast with plan */
    int mode[ZN_BCAST_MAX_IN];     /* IN_FULL / IN_SCALAR / IN_ROW */
    int64_t row;                   /* C of ROW inputs; 1 when there is none */
    ew_bcast_plan plan;
    float alpha, beta;             /* LeakyRelu alpha; HardSigmoid alpha, beta; Clip lo, hi */
    int gelu_tanh;                 /* Gelu / ZnBiasGelu approximate="tanh" */
} ew_state;

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }

/* d in [1, 2^31): magic and shift such that n / d == (umulhi(n, magic) + n) >> shift for every
 * n in [0, 2^31) (Granlund-Montgomery, as in PyTorch's IntDivider). */
static void fastdiv_init(uint32_t d, uint32_t *magic, uint32_t *shift) {
    uint32_t s = 0;
    while (s < 31 && (1ull << s) < d) s++;
    *magic = (uint32_t)(((1ull << 32) * ((1ull << s) - d)) / d + 1);
    *shift = s;
}

/* Inputs of a 1- or 2-dim merged plan as FULL / SCALAR / ROW; false when one is none of them. */
static bool flat_modes(const zn_bcast *b, int *mode, int64_t *row) {
    *row = 1;
    if (b->rank == 1) {
        for (int k = 0; k < b->n_in; k++) {
            if (b->strides[k][0] == 1) mode[k] = IN_FULL;
            else if (b->strides[k][0] == 0) mode[k] = IN_SCALAR;
            else return false;
        }
        return true;
    }
    if (b->rank != 2) return false;
    const int64_t C = b->dims[1];
    for (int k = 0; k < b->n_in; k++) {
        const int64_t s0 = b->strides[k][0], s1 = b->strides[k][1];
        if (s0 == C && s1 == 1) mode[k] = IN_FULL;
        else if (s0 == 0 && s1 == 0) mode[k] = IN_SCALAR;
        else if (s0 == 0 && s1 == 1) mode[k] = IN_ROW;
        else return false;
    }
    *row = C;
    return true;
}

/* inputs [0, n_in) broadcast to out[0]: flat modes when they fit, else the general walk */
static zn_status plan_broadcast(ew_state *s, const zn_kernel_node *n, int n_in) {
    zn_bcast b;
    const zn_view *ins[ZN_BCAST_MAX_IN];
    for (int k = 0; k < n_in; k++) ins[k] = &n->in[k];
    if (!zn_bcast_init_views(&b, &n->out[0], n_in, ins))
        return zn_error_set(ZN_ERR_SHAPE, "%s: inputs do not broadcast to the output shape "
                            "(re-run shape inference so output dims match the inputs)", zn_op_name(n->op));
    s->n_in = n_in;
    s->numel = b.numel;
    s->flat = flat_modes(&b, s->mode, &s->row);
    ew_bcast_plan *p = &s->plan;
    p->rank = b.rank;
    p->idx32 = b.numel <= INT32_MAX;
    for (int d = 0; d < b.rank; d++) {
        p->dims[d] = b.dims[d];
        for (int k = 0; k < n_in; k++) p->strides[k][d] = b.strides[k][d];
        if (p->idx32 && b.dims[d] >= 1) fastdiv_init((uint32_t)b.dims[d], &p->magic[d], &p->shift[d]);
    }
    return ZN_OK;
}

/* x: (..., C), bias: (C) -> x FULL, bias ROW */
static void plan_bias(ew_state *s, const zn_kernel_node *n) {
    const zn_view *x = &n->in[0];
    s->n_in = 2;
    s->numel = zn_view_numel(x);
    s->flat = 1;
    s->mode[0] = IN_FULL;
    s->mode[1] = IN_ROW;
    s->row = x->dims[x->rank - 1] > 0 ? x->dims[x->rank - 1] : 1;
}

/* one input read at the index written */
static void plan_same(ew_state *s, const zn_kernel_node *n) {
    s->n_in = 1;
    s->numel = zn_view_numel(&n->out[0]);
    s->flat = 1;
    s->mode[0] = IN_FULL;
    s->row = 1;
}

/* A constant scalar (Clip's min / max) as fp32; host memory at prepare time. */
static float host_scalar(const zn_view *v) {
    switch (v->dtype) {
    case ZN_F16: return zn_f16_to_f32(*(const uint16_t *)v->data);
    case ZN_BF16: return zn_bf16_to_f32(*(const uint16_t *)v->data);
    default: return *(const float *)v->data;
    }
}

/* Clip bounds: constant inputs 1 and 2 (opset >= 11) or attributes min / max; absent: none. */
static float clip_bound(const zn_kernel_node *n, int idx, const char *attr, float dflt) {
    if (n->n_in > idx && present(&n->in[idx]) && n->in[idx].data) return host_scalar(&n->in[idx]);
    return zn_attrs_float(n->attrs, n->n_attrs, attr, dflt);
}

static bool gelu_is_tanh(const zn_kernel_node *n) {
    return strcmp(zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none"), "tanh") == 0;
}

static zn_status ew_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    ew_state *s = (ew_state *)calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "%s: no memory for the kernel state", zn_op_name(n->op));
    zn_status st = ZN_OK;
    switch (n->op) {
    case ZN_OP_BIAS_RELU: case ZN_OP_BIAS_GELU:
        plan_bias(s, n);
        break;
    case ZN_OP_ADD: case ZN_OP_SUB: case ZN_OP_MUL: case ZN_OP_DIV: case ZN_OP_POW:
    case ZN_OP_EQUAL: case ZN_OP_LESS: case ZN_OP_GREATER: case ZN_OP_AND: case ZN_OP_OR:
    case ZN_OP_ADD_RELU:
        st = plan_broadcast(s, n, 2);
        break;
    case ZN_OP_MIN: case ZN_OP_MAX:
        st = plan_broadcast(s, n, n->n_in);
        break;
    case ZN_OP_WHERE:
        st = plan_broadcast(s, n, 3);
        break;
    default:
        plan_same(s, n);
        break;
    }
    switch (n->op) {
    case ZN_OP_LEAKY_RELU: s->alpha = zn_attrs_float(n->attrs, n->n_attrs, "alpha", 0.01f); break;
    case ZN_OP_HARD_SIGMOID:
        s->alpha = zn_attrs_float(n->attrs, n->n_attrs, "alpha", 0.2f);
        s->beta = zn_attrs_float(n->attrs, n->n_attrs, "beta", 0.5f);
        break;
    case ZN_OP_CLIP:
        s->alpha = clip_bound(n, 1, "min", -INFINITY);
        s->beta = clip_bound(n, 2, "max", INFINITY);
        break;
    case ZN_OP_GELU: case ZN_OP_BIAS_GELU: s->gelu_tanh = gelu_is_tanh(n); break;
    default: break;
    }
    if (st != ZN_OK) {
        free(s);
        return st;
    }
    prep->state = s;
    prep->scratch_bytes = 0;
    return ZN_OK;
}

static void ew_release(void *state) { free(state); }

/* ============================== launchers ===================================================== */

static bool aligned_to(const void *p, size_t bytes) { return ((uintptr_t)p % bytes) == 0; }

/* Elements per 16-byte access of the widest operand. */
template <int NIN, class TO, class TA, class TB, class TC> constexpr int ew_vec_width() {
    size_t w = sizeof(TO) > sizeof(TA) ? sizeof(TO) : sizeof(TA);
    if (NIN > 1 && sizeof(TB) > w) w = sizeof(TB);
    if (NIN > 2 && sizeof(TC) > w) w = sizeof(TC);
    return (int)(16 / w);
}

/* Whether input k can be read V elements at a time. */
static bool input_vec_ok(const ew_state *s, int k, const void *p, size_t elem, int V) {
    if (s->mode[k] == IN_SCALAR) return true;
    if (s->mode[k] == IN_ROW && s->row % V != 0) return false;
    return aligned_to(p, elem * (size_t)V);
}

/* out[0] = op(in[0..NIN)) on the session's stream, with the plan prepare made. */
template <int NIN, class Op, class TO, class TA, class TB = TA, class TC = TA>
static zn_status ew_launch(const zn_exec_ctx *ctx, const Op &op, const char *name) {
    const ew_state *s = (const ew_state *)ctx->state;
    if (s->numel == 0) return ZN_OK;
    TO *out = (TO *)ctx->out[0].data;
    ew_inputs in;
    memset(&in, 0, sizeof in);
    for (int k = 0; k < NIN; k++) {
        in.p[k] = ctx->in[k].data;
        in.mode[k] = s->mode[k];
    }
    cudaStream_t stream = zn_stream(ctx);
    if (s->flat) {
        constexpr int V = ew_vec_width<NIN, TO, TA, TB, TC>();
        bool vec = V > 1 && aligned_to(out, sizeof(TO) * V) && input_vec_ok(s, 0, in.p[0], sizeof(TA), V);
        if (NIN > 1) vec = vec && input_vec_ok(s, 1, in.p[1], sizeof(TB), V);
        if (NIN > 2) vec = vec && input_vec_ok(s, 2, in.p[2], sizeof(TC), V);
        const int64_t items = vec ? s->numel / V : s->numel;
        ew_flat_kernel<NIN, Op, TO, TA, TB, TC, V>
            <<<zn_grid_for(items, EW_BLOCK), EW_BLOCK, 0, stream>>>(out, in, op, s->numel, s->row, vec ? 1 : 0);
    } else if constexpr (NIN > 1) {
        ew_bcast_kernel<NIN, Op, TO, TA, TB, TC>
            <<<zn_grid_for(s->numel, EW_BLOCK), EW_BLOCK, 0, stream>>>(out, in, op, s->plan, s->numel);
    } else {
        return zn_error_set(ZN_ERR_RUNTIME, "%s: a one-input op was planned as a broadcast", name);
    }
    return zn_cuda_launched(name);
}

/* ---- dtype dispatch ---- */

/* Same dtype in and out: f32 / f16 / bf16, plus i64 / i32 when ints. */
template <int NIN, class Op>
static zn_status launch_same(const zn_exec_ctx *ctx, const Op &op, const char *name, bool ints) {
    switch (ctx->in[0].dtype) {
    case ZN_F32: return ew_launch<NIN, Op, float, float>(ctx, op, name);
    case ZN_F16: return ew_launch<NIN, Op, __half, __half>(ctx, op, name);
    case ZN_BF16: return ew_launch<NIN, Op, __nv_bfloat16, __nv_bfloat16>(ctx, op, name);
    case ZN_I64: if (ints) return ew_launch<NIN, Op, int64_t, int64_t>(ctx, op, name); break;
    case ZN_I32: if (ints) return ew_launch<NIN, Op, int32_t, int32_t>(ctx, op, name); break;
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: dtype %s not handled", name, zn_dtype_name(ctx->in[0].dtype));
}

template <class Op> static zn_status launch_float1(const zn_exec_ctx *ctx, const Op &op, const char *name) {
    return launch_same<1>(ctx, op, name, false);
}

/* Two inputs of one dtype, a bool out (Equal also takes bools). */
template <class Op> static zn_status launch_to_bool(const zn_exec_ctx *ctx, const Op &op, const char *name) {
    switch (ctx->in[0].dtype) {
    case ZN_F32: return ew_launch<2, Op, zn_bool8, float>(ctx, op, name);
    case ZN_F16: return ew_launch<2, Op, zn_bool8, __half>(ctx, op, name);
    case ZN_BF16: return ew_launch<2, Op, zn_bool8, __nv_bfloat16>(ctx, op, name);
    case ZN_I64: return ew_launch<2, Op, zn_bool8, int64_t>(ctx, op, name);
    case ZN_I32: return ew_launch<2, Op, zn_bool8, int32_t>(ctx, op, name);
    case ZN_BOOL: return ew_launch<2, Op, zn_bool8, zn_bool8>(ctx, op, name);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: dtype %s not handled", name, zn_dtype_name(ctx->in[0].dtype));
}

static zn_status unary_run(const zn_exec_ctx *ctx) {
    const ew_state *s = (const ew_state *)ctx->state;
    switch (ctx->node->op) {
    case ZN_OP_RELU: return launch_same<1>(ctx, op_relu(), "cuda.relu", true);
    case ZN_OP_NEG: return launch_same<1>(ctx, op_neg(), "cuda.neg", true);
    case ZN_OP_ABS: return launch_same<1>(ctx, op_abs(), "cuda.abs", true);
    case ZN_OP_LEAKY_RELU: return launch_float1(ctx, op_leaky{s->alpha}, "cuda.leakyrelu");
    case ZN_OP_SIGMOID: return launch_float1(ctx, op_sigmoid(), "cuda.sigmoid");
    case ZN_OP_TANH: return launch_float1(ctx, op_tanh(), "cuda.tanh");
    case ZN_OP_GELU:
        return s->gelu_tanh ? launch_float1(ctx, op_gelu_tanh(), "cuda.gelu")
                            : launch_float1(ctx, op_gelu_erf(), "cuda.gelu");
    case ZN_OP_ERF: return launch_float1(ctx, op_erf(), "cuda.erf");
    case ZN_OP_SILU: return launch_float1(ctx, op_silu(), "cuda.silu");
    case ZN_OP_HARD_SIGMOID: return launch_float1(ctx, op_hardsigmoid{s->alpha, s->beta}, "cuda.hardsigmoid");
    case ZN_OP_HARD_SWISH: return launch_float1(ctx, op_hardswish(), "cuda.hardswish");
    case ZN_OP_SOFTPLUS: return launch_float1(ctx, op_softplus(), "cuda.softplus");
    case ZN_OP_CLIP: return launch_float1(ctx, op_clip{s->alpha, s->beta}, "cuda.clip");
    case ZN_OP_SQRT: return launch_float1(ctx, op_sqrt(), "cuda.sqrt");
    case ZN_OP_EXP: return launch_float1(ctx, op_exp(), "cuda.exp");
    case ZN_OP_LOG: return launch_float1(ctx, op_log(), "cuda.log");
    case ZN_OP_RECIPROCAL: return launch_float1(ctx, op_reciprocal(), "cuda.reciprocal");
    case ZN_OP_FLOOR: return launch_float1(ctx, op_floor(), "cuda.floor");
    case ZN_OP_CEIL: return launch_float1(ctx, op_ceil(), "cuda.ceil");
    case ZN_OP_NOT: return ew_launch<1, op_not, zn_bool8, zn_bool8>(ctx, op_not(), "cuda.not");
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "cuda unary: op %s not handled", zn_op_name(ctx->node->op));
}

static zn_status binary_run(const zn_exec_ctx *ctx) {
    switch (ctx->node->op) {
    case ZN_OP_ADD: return launch_same<2>(ctx, op_add(), "cuda.add", true);
    case ZN_OP_SUB: return launch_same<2>(ctx, op_sub(), "cuda.sub", true);
    case ZN_OP_MUL: return launch_same<2>(ctx, op_mul(), "cuda.mul", true);
    case ZN_OP_DIV: return launch_same<2>(ctx, op_div(), "cuda.div", true);
    case ZN_OP_EQUAL: return launch_to_bool(ctx, op_equal(), "cuda.equal");
    case ZN_OP_LESS: return launch_to_bool(ctx, op_less(), "cuda.less");
    case ZN_OP_GREATER: return launch_to_bool(ctx, op_greater(), "cuda.greater");
    case ZN_OP_AND: return ew_launch<2, op_and, zn_bool8, zn_bool8>(ctx, op_and(), "cuda.and");
    case ZN_OP_OR: return ew_launch<2, op_or, zn_bool8, zn_bool8>(ctx, op_or(), "cuda.or");
    case ZN_OP_ADD_RELU: return launch_same<2>(ctx, op_add_relu(), "cuda.znaddrelu", false);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "cuda binary: op %s not handled", zn_op_name(ctx->node->op));
}

/* Min / Max over 1..3 inputs in one pass. */
template <class Op> static zn_status launch_variadic(const zn_exec_ctx *ctx, const Op &op, const char *name) {
    switch (((const ew_state *)ctx->state)->n_in) {
    case 1: return launch_same<1>(ctx, op, name, true);
    case 2: return launch_same<2>(ctx, op, name, true);
    case 3: return launch_same<3>(ctx, op, name, true);
    default: return zn_error_set(ZN_ERR_UNSUPPORTED, "%s: more than 3 inputs", name);
    }
}

static zn_status minmax_run(const zn_exec_ctx *ctx) {
    return ctx->node->op == ZN_OP_MIN ? launch_variadic(ctx, op_min(), "cuda.min")
                                      : launch_variadic(ctx, op_max(), "cuda.max");
}

/* Pow: base T (float dtypes), exponent E (float dtypes or i64 / i32). */
template <class T> static zn_status launch_pow(const zn_exec_ctx *ctx) {
    const char *name = "cuda.pow";
    switch (ctx->in[1].dtype) {
    case ZN_F32: return ew_launch<2, op_pow, T, T, float>(ctx, op_pow(), name);
    case ZN_F16: return ew_launch<2, op_pow, T, T, __half>(ctx, op_pow(), name);
    case ZN_BF16: return ew_launch<2, op_pow, T, T, __nv_bfloat16>(ctx, op_pow(), name);
    case ZN_I64: return ew_launch<2, op_pow, T, T, int64_t>(ctx, op_pow(), name);
    case ZN_I32: return ew_launch<2, op_pow, T, T, int32_t>(ctx, op_pow(), name);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "Pow: exponent dtype %s not handled", zn_dtype_name(ctx->in[1].dtype));
}

static zn_status pow_run(const zn_exec_ctx *ctx) {
    ZN_DISPATCH_FLOAT(ctx->in[0].dtype, return launch_pow<T>(ctx));
    return ZN_OK;
}

/* Where: the values move as unsigned integers of their size. */
static zn_status where_run(const zn_exec_ctx *ctx) {
    const char *name = "cuda.where";
    switch (zn_dtype_size(ctx->in[1].dtype)) {
    case 1: return ew_launch<3, op_where, uint8_t, zn_bool8, uint8_t, uint8_t>(ctx, op_where(), name);
    case 2: return ew_launch<3, op_where, uint16_t, zn_bool8, uint16_t, uint16_t>(ctx, op_where(), name);
    case 4: return ew_launch<3, op_where, uint32_t, zn_bool8, uint32_t, uint32_t>(ctx, op_where(), name);
    case 8: return ew_launch<3, op_where, uint64_t, zn_bool8, uint64_t, uint64_t>(ctx, op_where(), name);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "Where: dtype %s not handled", zn_dtype_name(ctx->in[1].dtype));
}

/* ZnBiasRelu / ZnBiasGelu: x (..., C) FULL, bias (C) ROW. */
static zn_status bias_run(const zn_exec_ctx *ctx) {
    const ew_state *s = (const ew_state *)ctx->state;
    if (ctx->node->op == ZN_OP_BIAS_RELU) return launch_same<2>(ctx, op_add_relu(), "cuda.znbiasrelu", false);
    return s->gelu_tanh ? launch_same<2>(ctx, op_add_gelu_tanh(), "cuda.znbiasgelu", false)
                        : launch_same<2>(ctx, op_add_gelu_erf(), "cuda.znbiasgelu", false);
}

/* Cast: from TI to the dtype of out[0]. */
template <class TI> static zn_status launch_cast_from(const zn_exec_ctx *ctx) {
    const char *name = "cuda.cast";
    switch (ctx->out[0].dtype) {
    case ZN_F32: return ew_launch<1, op_cast<TI, float>, float, TI>(ctx, op_cast<TI, float>(), name);
    case ZN_F16: return ew_launch<1, op_cast<TI, __half>, __half, TI>(ctx, op_cast<TI, __half>(), name);
    case ZN_BF16:
        return ew_launch<1, op_cast<TI, __nv_bfloat16>, __nv_bfloat16, TI>(ctx, op_cast<TI, __nv_bfloat16>(), name);
    case ZN_I64: return ew_launch<1, op_cast<TI, int64_t>, int64_t, TI>(ctx, op_cast<TI, int64_t>(), name);
    case ZN_I32: return ew_launch<1, op_cast<TI, int32_t>, int32_t, TI>(ctx, op_cast<TI, int32_t>(), name);
    case ZN_BOOL: return ew_launch<1, op_cast<TI, zn_bool8>, zn_bool8, TI>(ctx, op_cast<TI, zn_bool8>(), name);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "Cast: target dtype %s not handled", zn_dtype_name(ctx->out[0].dtype));
}

static zn_status cast_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    zn_view *y = &ctx->out[0];
    if (x->dtype == y->dtype) { /* a copy */
        size_t bytes = zn_view_bytes(y);
        if (bytes && x->data != y->data)
            ZN_CUDA_TRY(cudaMemcpyAsync(y->data, x->data, bytes, cudaMemcpyDeviceToDevice, zn_stream(ctx)),
                        "Cast to the same dtype (a device copy)");
        return ZN_OK;
    }
    switch (x->dtype) {
    case ZN_F32: return launch_cast_from<float>(ctx);
    case ZN_F16: return launch_cast_from<__half>(ctx);
    case ZN_BF16: return launch_cast_from<__nv_bfloat16>(ctx);
    case ZN_I64: return launch_cast_from<int64_t>(ctx);
    case ZN_I32: return launch_cast_from<int32_t>(ctx);
    case ZN_BOOL: return launch_cast_from<zn_bool8>(ctx);
    default: break;
    }
    return zn_error_set(ZN_ERR_UNSUPPORTED, "Cast: source dtype %s not handled", zn_dtype_name(x->dtype));
}

/* ============================== supports ====================================================== */

static bool dt_float(zn_dtype t) { return zn_is_float_dtype(t); }
static bool dt_num(zn_dtype t) { return dt_float(t) || t == ZN_I64 || t == ZN_I32; }
static bool dt_bool(zn_dtype t) { return t == ZN_BOOL; }
static bool dt_eq(zn_dtype t) { return dt_num(t) || t == ZN_BOOL; }
static bool dt_any(zn_dtype t) { return dt_num(t) || t == ZN_BOOL; }

/* n_in in [min_in, max_in], an output, the first min_in inputs present. */
static bool node_io(const zn_kernel_node *n, int min_in, int max_in) {
    if (n->n_in < min_in || n->n_in > max_in || n->n_out < 1) return false;
    for (int i = 0; i < min_in; i++)
        if (!present(&n->in[i])) return false;
    return true;
}

/* inputs [0, k) all broadcast to out[0]'s shape */
static bool broadcasts(const zn_kernel_node *n, int k) {
    zn_bcast b;
    const zn_view *ins[ZN_BCAST_MAX_IN];
    for (int i = 0; i < k; i++) ins[i] = &n->in[i];
    return zn_bcast_init_views(&b, &n->out[0], k, ins);
}

/* one input, out[0] of its dtype and size */
static bool sup_unary_of(const zn_kernel_node *n, bool (*ok)(zn_dtype)) {
    return node_io(n, 1, 1) && ok(n->in[0].dtype) && n->out[0].dtype == n->in[0].dtype &&
           zn_view_numel(&n->out[0]) == zn_view_numel(&n->in[0]);
}
static bool sup_unary_float(const zn_kernel_node *n) { return sup_unary_of(n, dt_float); }
static bool sup_unary_num(const zn_kernel_node *n) { return sup_unary_of(n, dt_num); }
static bool sup_unary_bool(const zn_kernel_node *n) { return sup_unary_of(n, dt_bool); }

static bool sup_gelu_attr(const zn_kernel_node *n) {
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
    return strcmp(a, "none") == 0 || strcmp(a, "tanh") == 0;
}
static bool sup_gelu(const zn_kernel_node *n) { return sup_unary_float(n) && sup_gelu_attr(n); }

/* Clip: float x; min / max, when given as inputs, are constant scalars of x's dtype. */
static bool sup_clip(const zn_kernel_node *n) {
    if (!node_io(n, 1, 3) || !dt_float(n->in[0].dtype) || n->out[0].dtype != n->in[0].dtype) return false;
    if (zn_view_numel(&n->out[0]) != zn_view_numel(&n->in[0])) return false;
    for (int i = 1; i < n->n_in; i++) {
        const zn_view *b = &n->in[i];
        if (!present(b)) continue;
        if (b->dtype != n->in[0].dtype || zn_view_numel(b) != 1 || !b->data) return false;
    }
    return true;
}

/* inputs of one dtype accepted by ok, broadcasting to out[0] of dtype out_dt (UNDEFINED: the
 * inputs' dtype) */
static bool sup_bcast_common(const zn_kernel_node *n, int min_in, int max_in, bool (*ok)(zn_dtype), zn_dtype out_dt) {
    if (!node_io(n, min_in, max_in)) return false;
    const zn_dtype t = n->in[0].dtype;
    if (!ok(t)) return false;
    for (int i = 1; i < n->n_in; i++)
        if (n->in[i].dtype != t) return false;
    if (n->out[0].dtype != (out_dt == ZN_DTYPE_UNDEFINED ? t : out_dt)) return false;
    return broadcasts(n, n->n_in);
}
static bool sup_arith(const zn_kernel_node *n) { return sup_bcast_common(n, 2, 2, dt_num, ZN_DTYPE_UNDEFINED); }
static bool sup_cmp(const zn_kernel_node *n) { return sup_bcast_common(n, 2, 2, dt_num, ZN_BOOL); }
static bool sup_eq(const zn_kernel_node *n) { return sup_bcast_common(n, 2, 2, dt_eq, ZN_BOOL); }
static bool sup_logic(const zn_kernel_node *n) { return sup_bcast_common(n, 2, 2, dt_bool, ZN_BOOL); }
static bool sup_addrelu(const zn_kernel_node *n) { return sup_bcast_common(n, 2, 2, dt_float, ZN_DTYPE_UNDEFINED); }

/* Min / Max: 1..3 inputs (the op allows 8; more than 3 fall back to the CPU); one input is a copy
 * of its own shape */
static bool sup_minmax(const zn_kernel_node *n) {
    if (!sup_bcast_common(n, 1, ZN_BCAST_MAX_IN, dt_num, ZN_DTYPE_UNDEFINED)) return false;
    return n->n_in > 1 || zn_view_numel(&n->out[0]) == zn_view_numel(&n->in[0]);
}

static bool sup_pow(const zn_kernel_node *n) {
    if (!node_io(n, 2, 2) || !dt_float(n->in[0].dtype) || n->out[0].dtype != n->in[0].dtype) return false;
    return dt_num(n->in[1].dtype) && broadcasts(n, 2);
}

static bool sup_where(const zn_kernel_node *n) {
    if (!node_io(n, 3, 3) || n->in[0].dtype != ZN_BOOL) return false;
    const zn_dtype t = n->in[1].dtype;
    if (!dt_any(t) || n->in[2].dtype != t || n->out[0].dtype != t) return false;
    return broadcasts(n, 3);
}

static bool sup_cast(const zn_kernel_node *n) {
    if (!node_io(n, 1, 1)) return false;
    const int64_t to = zn_attrs_int(n->attrs, n->n_attrs, "to", 0);
    return dt_any(n->in[0].dtype) && to >= 0 && to <= 64 && dt_any((zn_dtype)to) &&
           n->out[0].dtype == (zn_dtype)to && zn_view_numel(&n->out[0]) == zn_view_numel(&n->in[0]);
}

/* x: (..., C) float, bias: C values of x's dtype */
static bool sup_bias_act(const zn_kernel_node *n) {
    if (n->n_in != 2 || n->n_out != 1 || !present(&n->in[0]) || !present(&n->in[1])) return false;
    const zn_view *x = &n->in[0];
    if (!dt_float(x->dtype) || n->in[1].dtype != x->dtype || n->out[0].dtype != x->dtype) return false;
    if (x->rank < 1 || zn_view_numel(&n->in[1]) != x->dims[x->rank - 1]) return false;
    if (zn_view_numel(&n->out[0]) != zn_view_numel(x)) return false;
    return n->op != ZN_OP_BIAS_GELU || sup_gelu_attr(n);
}

} // namespace

/* ============================== table ========================================================= */

#define K(name, OP, dt, flags, sup, run) \
    {"cuda." name, ZN_OP_##OP, ZN_BACKEND_CUDA, dt, 10, flags, sup, ew_prepare, ew_release, run}
#define IP ZN_KERNEL_INPLACE
#define ANY ZN_DTYPE_UNDEFINED

static const zn_kernel_spec specs[] = {
    K("relu", RELU, ANY, IP, sup_unary_num, unary_run),
    K("leakyrelu", LEAKY_RELU, ANY, IP, sup_unary_float, unary_run),
    K("sigmoid", SIGMOID, ANY, IP, sup_unary_float, unary_run),
    K("tanh", TANH, ANY, IP, sup_unary_float, unary_run),
    K("gelu", GELU, ANY, IP, sup_gelu, unary_run),
    K("erf", ERF, ANY, IP, sup_unary_float, unary_run),
    K("silu", SILU, ANY, IP, sup_unary_float, unary_run),
    K("hardsigmoid", HARD_SIGMOID, ANY, IP, sup_unary_float, unary_run),
    K("hardswish", HARD_SWISH, ANY, IP, sup_unary_float, unary_run),
    K("softplus", SOFTPLUS, ANY, IP, sup_unary_float, unary_run),
    K("clip", CLIP, ANY, IP, sup_clip, unary_run),
    K("sqrt", SQRT, ANY, IP, sup_unary_float, unary_run),
    K("neg", NEG, ANY, IP, sup_unary_num, unary_run),
    K("exp", EXP, ANY, IP, sup_unary_float, unary_run),
    K("log", LOG, ANY, IP, sup_unary_float, unary_run),
    K("abs", ABS, ANY, IP, sup_unary_num, unary_run),
    K("reciprocal", RECIPROCAL, ANY, IP, sup_unary_float, unary_run),
    K("floor", FLOOR, ANY, IP, sup_unary_float, unary_run),
    K("ceil", CEIL, ANY, IP, sup_unary_float, unary_run),
    K("not", NOT, ZN_BOOL, IP, sup_unary_bool, unary_run),
    K("add", ADD, ANY, IP, sup_arith, binary_run),
    K("sub", SUB, ANY, IP, sup_arith, binary_run),
    K("mul", MUL, ANY, IP, sup_arith, binary_run),
    K("div", DIV, ANY, IP, sup_arith, binary_run),
    K("pow", POW, ANY, IP, sup_pow, pow_run),
    K("min", MIN, ANY, IP, sup_minmax, minmax_run),
    K("max", MAX, ANY, IP, sup_minmax, minmax_run),
    K("equal", EQUAL, ANY, 0, sup_eq, binary_run),
    K("less", LESS, ANY, 0, sup_cmp, binary_run),
    K("greater", GREATER, ANY, 0, sup_cmp, binary_run),
    K("and", AND, ZN_BOOL, IP, sup_logic, binary_run),
    K("or", OR, ZN_BOOL, IP, sup_logic, binary_run),
    K("where", WHERE, ANY, 0, sup_where, where_run),
    K("cast", CAST, ANY, 0, sup_cast, cast_run),
    K("znaddrelu", ADD_RELU, ANY, IP, sup_addrelu, binary_run),
    K("znbiasrelu", BIAS_RELU, ANY, IP, sup_bias_act, bias_run),
    K("znbiasgelu", BIAS_GELU, ANY, IP, sup_bias_act, bias_run),
};

ZN_KERNEL_TABLE(zn_cuda_elementwise_table, specs);
