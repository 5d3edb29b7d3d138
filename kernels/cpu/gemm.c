/* gemm.c — zn_sgemm (gemm.h): a GotoBLAS/BLIS-style packed GEMM with run-time SIMD dispatch.
 *
 * Loops, outermost first: NC columns of C, KC of the inner dimension (op(B)'s KC x NC block is
 * packed into NR-wide panels), MC rows (op(A)'s MC x KC block packed into MR-high panels),
 * then the micro-kernel over MR x NR tiles: MR*NR/8 (or /16) accumulators in registers, one
 * broadcast of A and NR/8 loads of B per k. Paths: AVX-512 (14x32), AVX2+FMA (6x16), portable
 * C (4x16); the path is picked once from CPUID (or forced by the test hook / ZN_GEMM_PATH).
 * The pool splits C into a grid of independent rectangles (one per thread, each packing its
 * own slices into a per-thread buffer). Operands packed ahead of time (zn_gemm_pack_a/_b)
 * skip the packing. The epilogue (bias, residual, activation) runs on each tile right after
 * its last K block, while the tile is still in L1. Not here: complex, double, int8 or
 * half-precision GEMMs; strided (non-unit column stride) operands.
 */
#include "gemm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#include "../../engine/alloc.h"
#include "../../engine/error.h"
#include "fast_math.h"
#include "threadpool.h"

#define ZN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

/* c (MR x NR tile, row stride ldc) = alpha * a_panel @ b_panel + beta * c (beta 0: no read) */
typedef void (*ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                           float alpha, float beta);

typedef struct epilogue {
    const float *bias_col, *bias_row, *residual;
    int64_t ldr;
    zn_gemm_act act;
} epilogue;

/* applies the epilogue to the (m, n) tile at C[i0, j0] (c points at it) */
typedef void (*epi_fn)(const epilogue *e, float *c, int64_t ldc, int64_t i0, int64_t j0,
                       int64_t m, int64_t n);

typedef struct path_desc {
    zn_gemm_path path;
    const char *name;
    int mr, nr;
    int64_t kc, mc, nc;
    ukernel_fn kernel;
    epi_fn epi;
} path_desc;

struct zn_gemm_packed {
    zn_gemm_path path;
    bool is_a;  /* panels of MR rows of op(A), else NR columns of op(B) */
    int64_t K, L; /* L: M for A, N for B */
    int64_t lpad; /* L rounded up to the panel width */
    int64_t kc;   /* K block the panels were cut with */
    float *data;  /* K blocks one after another: block at pc holds lpad * kc floats */
};

/* ==================================== micro-kernels ======================================= */

/* ---- portable C: 4 x 16 ---------------------------------------------------------------- */

#define SC_MR 4
#define SC_NR 16

static void ukr_scalar(int64_t kc, const float *restrict a, const float *restrict b,
                       float *restrict c, int64_t ldc, float alpha, float beta) {
    float acc[SC_MR][SC_NR];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        for (int r = 0; r < SC_MR; r++) {
            const float av = a[r];
            for (int j = 0; j < SC_NR; j++) acc[r][j] += av * b[j];
        }
        a += SC_MR;
        b += SC_NR;
    }
    for (int r = 0; r < SC_MR; r++) {
        float *cr = c + r * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < SC_NR; j++) cr[j] = alpha * acc[r][j];
        else
            for (int j = 0; j < SC_NR; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
}

static inline float act_scalar(zn_gemm_act act, float v) {
    switch (act) {
    case ZN_GEMM_ACT_RELU: return v < 0.0f ? 0.0f : v;
    case ZN_GEMM_ACT_GELU_ERF: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ZN_GEMM_ACT_GELU_TANH:
        return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    default: return v;
    }
}

static void epi_scalar(const epilogue *e, float *c, int64_t ldc, int64_t i0, int64_t j0,
                       int64_t m, int64_t n) {
    for (int64_t i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        const float br = e->bias_row ? e->bias_row[i0 + i] : 0.0f;
        const float *res = e->residual ? e->residual + (i0 + i) * e->ldr + j0 : NULL;
        for (int64_t j = 0; j < n; j++) {
            float v = cr[j] + br;
            if (e->bias_col) v += e->bias_col[j0 + j];
            if (res) v += res[j];
            cr[j] = act_scalar(e->act, v);
        }
    }
}

/* ---- AVX2 + FMA: 6 x 16, 12 ymm accumulators -------------------------------------------- */

#define AVX2_MR 6
#define AVX2_NR 16
#ifndef AVX2_KC /* blocking: KC x NR panel of B in L1 (16 KiB), MC x KC block of A in L2 */
#define AVX2_KC 256
#endif
#ifndef AVX2_MC
#define AVX2_MC 144
#endif

ZN_AVX2 static inline void store_row8(float *c, __m256 acc, __m256 va, float beta) {
    __m256 v = _mm256_mul_ps(acc, va);
    if (beta == 0.0f) _mm256_storeu_ps(c, v);
    else if (beta == 1.0f) _mm256_storeu_ps(c, _mm256_add_ps(v, _mm256_loadu_ps(c)));
    else _mm256_storeu_ps(c, _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(c), v));
}

ZN_AVX2 static void ukr_avx2(int64_t kc, const float *restrict a, const float *restrict b,
                             float *restrict c, int64_t ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int r = 0; r < AVX2_MR; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av = _mm256_broadcast_ss(a);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40);
        c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50);
        c51 = _mm256_fmadd_ps(av, b1, c51);
        a += AVX2_MR;
        b += AVX2_NR;
    }
    const __m256 va = _mm256_set1_ps(alpha);
    store_row8(c, c00, va, beta);
    store_row8(c + 8, c01, va, beta);
    c += ldc;
    store_row8(c, c10, va, beta);
    store_row8(c + 8, c11, va, beta);
    c += ldc;
    store_row8(c, c20, va, beta);
    store_row8(c + 8, c21, va, beta);
    c += ldc;
    store_row8(c, c30, va, beta);
    store_row8(c + 8, c31, va, beta);
    c += ldc;
    store_row8(c, c40, va, beta);
    store_row8(c + 8, c41, va, beta);
    c += ldc;
    store_row8(c, c50, va, beta);
    store_row8(c + 8, c51, va, beta);
}

ZN_AVX2 static inline __m256 act_avx2(zn_gemm_act act, __m256 v) {
    switch (act) {
    case ZN_GEMM_ACT_RELU: return _mm256_max_ps(_mm256_setzero_ps(), v);
    case ZN_GEMM_ACT_GELU_ERF: return zn_v8_gelu_erf(v);
    case ZN_GEMM_ACT_GELU_TANH: return zn_v8_gelu_tanh(v);
    default: return v;
    }
}

ZN_AVX2 static void epi_avx2(const epilogue *e, float *c, int64_t ldc, int64_t i0, int64_t j0,
                             int64_t m, int64_t n) {
    for (int64_t i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        const __m256 br = _mm256_set1_ps(e->bias_row ? e->bias_row[i0 + i] : 0.0f);
        const float *res = e->residual ? e->residual + (i0 + i) * e->ldr + j0 : NULL;
        const float *bc = e->bias_col ? e->bias_col + j0 : NULL;
        for (int64_t j = 0; j < n; j += 8) {
            if (j + 8 <= n) {
                __m256 v = _mm256_add_ps(_mm256_loadu_ps(cr + j), br);
                if (bc) v = _mm256_add_ps(v, _mm256_loadu_ps(bc + j));
                if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + j));
                _mm256_storeu_ps(cr + j, act_avx2(e->act, v));
            } else {
                __m256i mk = zn_v8_tail_mask(n - j);
                __m256 v = _mm256_add_ps(_mm256_maskload_ps(cr + j, mk), br);
                if (bc) v = _mm256_add_ps(v, _mm256_maskload_ps(bc + j, mk));
                if (res) v = _mm256_add_ps(v, _mm256_maskload_ps(res + j, mk));
                _mm256_maskstore_ps(cr + j, mk, act_avx2(e->act, v));
            }
        }
    }
}

/* ---- AVX-512: 14 x 32, 28 zmm accumulators ----------------------------------------------- */

#define AVX512_MR 14
#define AVX512_NR 32

ZN_AVX512 static inline void store_row16(float *c, __m512 acc, __m512 va, float beta) {
    __m512 v = _mm512_mul_ps(acc, va);
    if (beta == 0.0f) _mm512_storeu_ps(c, v);
    else if (beta == 1.0f) _mm512_storeu_ps(c, _mm512_add_ps(v, _mm512_loadu_ps(c)));
    else _mm512_storeu_ps(c, _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(c), v));
}

#define R512_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define R512_FMA(r)                                   \
    do {                                              \
        const __m512 av = _mm512_set1_ps(a[r]);       \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);   \
        c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);   \
    } while (0)
#define R512_STORE(r)                                         \
    do {                                                      \
        store_row16(c + (r) * ldc, c##r##0, va, beta);        \
        store_row16(c + (r) * ldc + 16, c##r##1, va, beta);   \
    } while (0)

ZN_AVX512 static void ukr_avx512(int64_t kc, const float *restrict a, const float *restrict b,
                                 float *restrict c, int64_t ldc, float alpha, float beta) {
    R512_DECL(0) R512_DECL(1) R512_DECL(2) R512_DECL(3) R512_DECL(4) R512_DECL(5) R512_DECL(6)
    R512_DECL(7) R512_DECL(8) R512_DECL(9) R512_DECL(10) R512_DECL(11) R512_DECL(12) R512_DECL(13)
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        R512_FMA(0); R512_FMA(1); R512_FMA(2); R512_FMA(3); R512_FMA(4); R512_FMA(5); R512_FMA(6);
        R512_FMA(7); R512_FMA(8); R512_FMA(9); R512_FMA(10); R512_FMA(11); R512_FMA(12); R512_FMA(13);
        a += AVX512_MR;
        b += AVX512_NR;
    }
    const __m512 va = _mm512_set1_ps(alpha);
    R512_STORE(0); R512_STORE(1); R512_STORE(2); R512_STORE(3); R512_STORE(4); R512_STORE(5);
    R512_STORE(6); R512_STORE(7); R512_STORE(8); R512_STORE(9); R512_STORE(10); R512_STORE(11);
    R512_STORE(12); R512_STORE(13);
}

/* ==================================== dispatch ============================================ */

static const path_desc paths[] = {
    [ZN_GEMM_PATH_SCALAR] = {ZN_GEMM_PATH_SCALAR, "scalar", SC_MR, SC_NR, 256, 128, 4096,
                             ukr_scalar, epi_scalar},
    [ZN_GEMM_PATH_AVX2] = {ZN_GEMM_PATH_AVX2, "avx2", AVX2_MR, AVX2_NR, AVX2_KC, AVX2_MC, 4096,
                           ukr_avx2, epi_avx2},
    [ZN_GEMM_PATH_AVX512] = {ZN_GEMM_PATH_AVX512, "avx512", AVX512_MR, AVX512_NR, 384, 168,
                             4096, ukr_avx512, epi_avx2},
};

static zn_gemm_path forced_path; /* AUTO: none */
static bool have_avx2;           /* set once, in read_env (current_path runs it) */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

bool zn_gemm_path_available(zn_gemm_path path) {
    __builtin_cpu_init();
    switch (path) {
    case ZN_GEMM_PATH_AUTO:
    case ZN_GEMM_PATH_SCALAR: return true;
    case ZN_GEMM_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case ZN_GEMM_PATH_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               zn_gemm_path_available(ZN_GEMM_PATH_AVX2);
    }
    return false;
}

zn_gemm_path zn_gemm_best_path(void) {
    static zn_gemm_path best; /* computed once (racing threads compute the same answer) */
    zn_gemm_path b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (!b) {
        b = ZN_GEMM_PATH_SCALAR;
        if (zn_gemm_path_available(ZN_GEMM_PATH_AVX2)) b = ZN_GEMM_PATH_AVX2;
        if (zn_gemm_path_available(ZN_GEMM_PATH_AVX512)) b = ZN_GEMM_PATH_AVX512;
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    }
    return b;
}

const char *zn_gemm_path_name(zn_gemm_path path) {
    if (path == ZN_GEMM_PATH_AUTO) path = zn_gemm_best_path();
    return path >= ZN_GEMM_PATH_SCALAR && path <= ZN_GEMM_PATH_AVX512 ? paths[path].name : "?";
}

bool zn_gemm_force_path(zn_gemm_path path) {
    if (!zn_gemm_path_available(path)) return false;
    forced_path = path;
    return true;
}

static void read_env(void) {
    have_avx2 = zn_gemm_path_available(ZN_GEMM_PATH_AVX2);
    const char *e = getenv("ZN_GEMM_PATH");
    if (!e) return;
    for (int p = ZN_GEMM_PATH_SCALAR; p <= ZN_GEMM_PATH_AVX512; p++)
        if (strcmp(e, paths[p].name) == 0) zn_gemm_force_path((zn_gemm_path)p);
}

static const path_desc *current_path(void) {
    pthread_once(&env_once, read_env);
    zn_gemm_path p = forced_path ? forced_path : zn_gemm_best_path();
    return &paths[p];
}

/* ==================================== packing ============================================= */

/* dst (kc, 16) = rows of 16 floats at src + k * sk */
ZN_AVX2 static void copy16_avx2(float *restrict dst, const float *restrict src, int64_t sk,
                                int64_t kc) {
    for (int64_t k = 0; k < kc; k++) {
        const float *s = src + k * sk;
        _mm256_storeu_ps(dst + k * 16, _mm256_loadu_ps(s));
        _mm256_storeu_ps(dst + k * 16 + 8, _mm256_loadu_ps(s + 8));
    }
}

/* dst (kc, R) = the transpose of w (<= R) rows of kc floats at src + r * sl, zero rows after
 * w; R is 6 or 16. 8x8 blocks go through registers, the k tail is scalar. */
ZN_AVX2 static void transpose_pack_avx2(float *restrict dst, const float *restrict src,
                                        int64_t sl, int64_t kc, int64_t w, int R) {
    for (int rg = 0; rg < R; rg += 8) {
        const int rn = R - rg < 8 ? R - rg : 8; /* rows of this group stored per k */
        const float *rows[8];
        for (int r = 0; r < 8; r++) rows[r] = rg + r < w ? src + (rg + r) * sl : NULL;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 v[8];
            for (int r = 0; r < 8; r++) v[r] = rows[r] ? _mm256_loadu_ps(rows[r] + k) : _mm256_setzero_ps();
            __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
            __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
            __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
            __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            __m256 o[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
            for (int q = 0; q < 8; q++) { /* o[q]: the 8 rows' values at k + q */
                float *d = dst + (k + q) * R + rg;
                if (rn == 8) {
                    _mm256_storeu_ps(d, o[q]);
                } else { /* R == 6: 4 + 2 */
                    _mm_storeu_ps(d, _mm256_castps256_ps128(o[q]));
                    _mm_storel_pi((__m64 *)(d + 4), _mm256_extractf128_ps(o[q], 1));
                }
            }
        }
        for (; k < kc; k++)
            for (int r = 0; r < rn; r++) dst[k * R + rg + r] = rows[r] ? rows[r][k] : 0.0f;
    }
}

/* Packs X (kc, lc) into ceil(lc/R) panels of (kc, R), zero-padded on the right; element
 * (k, l) of X is src[k * sk + l * sl]. For op(B): X = op(B); for op(A): X = op(A)^T. */
static void pack_panels(float *restrict dst, const float *restrict src, int64_t sk, int64_t sl,
                        int64_t kc, int64_t lc, int R) {
    for (int64_t l0 = 0; l0 < lc; l0 += R) {
        const int64_t w = lc - l0 < R ? lc - l0 : R;
        const float *s = src + l0 * sl;
        if (sl == 1 && w == 16 && R == 16 && have_avx2) {
            copy16_avx2(dst, s, sk, kc);
        } else if (sl == 1) {
            for (int64_t k = 0; k < kc; k++) {
                memcpy(dst + k * R, s + k * sk, sizeof(float) * (size_t)w);
                for (int64_t r = w; r < R; r++) dst[k * R + r] = 0.0f;
            }
        } else if (sk == 1 && have_avx2 && (R == 6 || R == 16)) {
            transpose_pack_avx2(dst, s, sl, kc, w, R);
        } else if (sk == 1) {
            for (int64_t r = 0; r < w; r++) {
                const float *row = s + r * sl;
                for (int64_t k = 0; k < kc; k++) dst[k * R + r] = row[k];
            }
            for (int64_t r = w; r < R; r++)
                for (int64_t k = 0; k < kc; k++) dst[k * R + r] = 0.0f;
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int64_t r = 0; r < R; r++) dst[k * R + r] = r < w ? s[k * sk + r * sl] : 0.0f;
        }
        dst += kc * R;
    }
}

static zn_gemm_packed *pack_operand(bool is_a, bool trans, int64_t K, int64_t L, const float *X,
                                    int64_t ld) {
    const path_desc *pd = current_path();
    const int R = is_a ? pd->mr : pd->nr;
    zn_gemm_packed *p = zn_malloc(sizeof *p);
    if (!p) return NULL;
    p->path = pd->path;
    p->is_a = is_a;
    p->K = K;
    p->L = L;
    p->lpad = (L + R - 1) / R * R;
    p->kc = pd->kc;
    size_t n = (size_t)(p->lpad * (K > 0 ? K : 1));
    p->data = zn_aligned_alloc(n * sizeof(float));
    if (!p->data) {
        zn_free(p);
        return NULL;
    }
    /* strides of X(k, l): op(B)(k, n) or op(A)(m, k) seen as (k, m) */
    int64_t sk, sl;
    if (is_a) {
        sk = trans ? ld : 1;
        sl = trans ? 1 : ld;
    } else {
        sk = trans ? 1 : ld;
        sl = trans ? ld : 1;
    }
    for (int64_t pc = 0; pc < K; pc += p->kc) {
        int64_t kc = K - pc < p->kc ? K - pc : p->kc;
        pack_panels(p->data + pc * p->lpad, X + pc * sk, sk, sl, kc, L, R);
    }
    return p;
}

zn_gemm_packed *zn_gemm_pack_b(bool trans_b, int64_t K, int64_t N, const float *B, int64_t ldb) {
    return pack_operand(false, trans_b, K, N, B, ldb);
}

zn_gemm_packed *zn_gemm_pack_a(bool trans_a, int64_t M, int64_t K, const float *A, int64_t lda) {
    return pack_operand(true, trans_a, K, M, A, lda);
}

void zn_gemm_packed_free(zn_gemm_packed *p) {
    if (!p) return;
    zn_free(p->data);
    zn_free(p);
}

size_t zn_gemm_packed_bytes(const zn_gemm_packed *p) {
    return p ? (size_t)(p->lpad * (p->K > 0 ? p->K : 1)) * sizeof(float) : 0;
}

/* ==================================== per-thread buffers ================================== */

typedef struct workspace {
    float *p;
    size_t cap; /* floats */
} workspace;

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static bool ws_key_ok;

static void ws_destroy(void *v) {
    workspace *w = v;
    zn_free(w->p);
    free(w);
}

static void ws_init(void) { ws_key_ok = pthread_key_create(&ws_key, ws_destroy) == 0; }

/* A 64-byte aligned buffer of at least `floats` owned by the calling thread (freed when the
 * thread exits); NULL when out of memory. */
static float *ws_get(size_t floats) {
    pthread_once(&ws_once, ws_init);
    if (!ws_key_ok) return NULL;
    workspace *w = pthread_getspecific(ws_key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return NULL;
        if (pthread_setspecific(ws_key, w) != 0) {
            free(w);
            return NULL;
        }
    }
    if (w->cap < floats) {
        zn_free(w->p);
        w->p = zn_aligned_alloc(floats * sizeof(float));
        w->cap = w->p ? floats : 0;
    }
    return w->p;
}

/* ==================================== driver ============================================== */

typedef struct gemm_job {
    const zn_gemm_args *g;
    const path_desc *pd;
    epilogue epi;
    bool has_epi;
    int tm, tn;           /* thread grid */
    int64_t m_step, n_step; /* rows / columns per grid cell (multiples of MR / NR) */
    int failed;             /* a thread could not get its buffers (set atomically) */
} gemm_job;

/* C[m0:m1, n0:n1] of the job: the whole Goto loop nest over one rectangle. */
static bool gemm_region(const gemm_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const zn_gemm_args *g = j->g;
    const path_desc *pd = j->pd;
    const int MR = pd->mr, NR = pd->nr;
    const zn_gemm_packed *pa = g->packed_a, *pb = g->packed_b;
    const int64_t KC = pa ? pa->kc : pb ? pb->kc : pd->kc;
    const int64_t MC = pd->mc, NC = pd->nc;
    const int64_t mspan = m1 - m0 < MC ? m1 - m0 : MC, nspan = n1 - n0 < NC ? n1 - n0 : NC;
    const int64_t kspan = g->K < KC ? g->K : KC;
    const bool one_ic = m1 - m0 <= MC;
    size_t a_sz = pa ? 0 : (size_t)((mspan + MR - 1) / MR * MR * kspan);
    size_t b_sz = pb ? 0 : (size_t)((one_ic ? NR : (nspan + NR - 1) / NR * NR) * kspan);
    float *ws = ws_get(a_sz + b_sz + (size_t)(MR * NR) + 16);
    if (!ws) return false;
    float *abuf = ws, *bbuf = ws + a_sz, *tmp = ws + a_sz + b_sz;
    /* strides of op(A)^T (k, m) and op(B) (k, n) */
    const int64_t ak = g->trans_a ? g->lda : 1, am = g->trans_a ? 1 : g->lda;
    const int64_t bk = g->trans_b ? 1 : g->ldb, bn = g->trans_b ? g->ldb : 1;

    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = n1 - jc < NC ? n1 - jc : NC;
        for (int64_t pc = 0; pc < g->K; pc += KC) {
            const int64_t kc = g->K - pc < KC ? g->K - pc : KC;
            const float beta = pc == 0 ? g->beta : 1.0f;
            const bool last = pc + kc >= g->K;
            /* B is packed one NR panel at a time inside the first MC block, right before the
             * micro-kernels use it (it is still in L1; later MC blocks reuse the panels) */
            const float *bp = pb ? pb->data + pc * pb->lpad + jc * kc /* jc: multiple of NR */
                                 : bbuf;
            for (int64_t ic = m0; ic < m1; ic += MC) {
                const int64_t mc = m1 - ic < MC ? m1 - ic : MC;
                const float *ap;
                if (pa) {
                    ap = pa->data + pc * pa->lpad + ic * kc; /* ic is a multiple of MR */
                } else {
                    pack_panels(abuf, g->A + pc * ak + ic * am, ak, am, kc, mc, MR);
                    ap = abuf;
                }
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t nr = nc - jr < NR ? nc - jr : NR;
                    /* one MC block: each panel is used once, so one L1-resident slot will do */
                    float *bslot = one_ic ? bbuf : bbuf + jr * kc;
                    if (!pb && ic == m0)
                        pack_panels(bslot, g->B + pc * bk + (jc + jr) * bn, bk, bn, kc, nr, NR);
                    const float *bpanel = pb ? bp + jr * kc : bslot;
                    /* rows of B far apart (one cache line of the next panel per k row):
                     * prefetch the next panel while this one is in use, a share per tile */
                    const bool pf = !pb && ic == m0 && bn == 1 && jr + NR < nc;
                    const int64_t n_tiles = (mc + MR - 1) / MR, pf_rows = (kc + n_tiles - 1) / n_tiles;
                    const int64_t pf_last = (nc - jr - NR < NR ? nc - jr - NR : NR) - 1;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int64_t mr = mc - ir < MR ? mc - ir : MR;
                        if (pf) {
                            int64_t k0 = ir / MR * pf_rows, k1 = k0 + pf_rows < kc ? k0 + pf_rows : kc;
                            const float *nb = g->B + pc * bk + jc + jr + NR;
                            for (int64_t k = k0; k < k1; k++) {
                                _mm_prefetch((const char *)(nb + k * bk), _MM_HINT_T0);
                                _mm_prefetch((const char *)(nb + k * bk + pf_last), _MM_HINT_T0);
                            }
                        }
                        float *c = g->C + (ic + ir) * g->ldc + jc + jr;
                        if (mr == MR && nr == NR) {
                            pd->kernel(kc, ap + ir * kc, bpanel, c, g->ldc, g->alpha, beta);
                        } else {
                            pd->kernel(kc, ap + ir * kc, bpanel, tmp, NR, g->alpha, 0.0f);
                            for (int64_t i = 0; i < mr; i++) {
                                float *cr = c + i * g->ldc;
                                const float *tr = tmp + i * NR;
                                if (beta == 0.0f)
                                    for (int64_t q = 0; q < nr; q++) cr[q] = tr[q];
                                else
                                    for (int64_t q = 0; q < nr; q++) cr[q] = tr[q] + beta * cr[q];
                            }
                        }
                        if (last && j->has_epi)
                            pd->epi(&j->epi, c, g->ldc, ic + ir, jc + jr, mr, nr);
                    }
                }
            }
        }
    }
    return true;
}

static void gemm_cells(void *arg, int64_t begin, int64_t end) {
    gemm_job *j = arg;
    const zn_gemm_args *g = j->g;
    for (int64_t cell = begin; cell < end; cell++) {
        int64_t m0 = (cell / j->tn) * j->m_step, n0 = (cell % j->tn) * j->n_step;
        int64_t m1 = m0 + j->m_step < g->M ? m0 + j->m_step : g->M;
        int64_t n1 = n0 + j->n_step < g->N ? n0 + j->n_step : g->N;
        if (m0 < m1 && n0 < n1 && !gemm_region(j, m0, m1, n0, n1))
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    }
}

/* C = beta * C, then the epilogue over all of C (K == 0 or alpha == 0: no product). */
static void scale_only(const gemm_job *j) {
    const zn_gemm_args *g = j->g;
    for (int64_t i = 0; i < g->M; i++) {
        float *c = g->C + i * g->ldc;
        if (g->beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)g->N);
        else if (g->beta != 1.0f)
            for (int64_t q = 0; q < g->N; q++) c[q] *= g->beta;
        if (j->has_epi) j->pd->epi(&j->epi, c, g->ldc, i, 0, 1, g->N);
    }
}

static int64_t round_up(int64_t v, int64_t r) { return (v + r - 1) / r * r; }

zn_status zn_sgemm(struct zn_threadpool *pool, const zn_gemm_args *args) {
    const zn_gemm_args *g = args;
    if (g->M <= 0 || g->N <= 0) return ZN_OK;
    gemm_job j;
    memset(&j, 0, sizeof j);
    j.g = g;
    const zn_gemm_packed *pk = g->packed_a ? g->packed_a : g->packed_b;
    const path_desc *cur = current_path();
    j.pd = pk ? &paths[pk->path] : cur;
    if (g->packed_a && g->packed_b && g->packed_a->path != g->packed_b->path)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_sgemm: A and B were packed for different "
                            "SIMD paths (pack both after the same zn_gemm_force_path)");
    if ((g->packed_a && (g->packed_a->L != g->M || g->packed_a->K != g->K)) ||
        (g->packed_b && (g->packed_b->L != g->N || g->packed_b->K != g->K)))
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_sgemm: a packed operand's shape does not "
                            "match M, N, K (re-pack it for this call's shapes)");
    j.epi = (epilogue){g->bias_col, g->bias_row, g->residual, g->ldr, g->act};
    j.has_epi = g->bias_col || g->bias_row || g->residual || g->act != ZN_GEMM_ACT_NONE;
    if (g->K == 0 || g->alpha == 0.0f) {
        scale_only(&j);
        return ZN_OK;
    }
    /* thread grid: the split of C that minimises one thread's work (padded tiles plus the
     * packing of its own A rows and B columns, weighted as ~16 multiply-adds per element) */
    const int MR = j.pd->mr, NR = j.pd->nr;
    int threads = zn_threadpool_size(pool);
    double flops = 2.0 * (double)g->M * (double)g->N * (double)g->K;
    if (flops < 4e5) threads = 1;
    int best_tm = 1, best_tn = 1;
    double best_cost = -1.0;
    for (int tm = 1; tm <= threads; tm++) {
        if (threads % tm) continue;
        int tn = threads / tm;
        int64_t ms = round_up((g->M + tm - 1) / tm, MR), ns = round_up((g->N + tn - 1) / tn, NR);
        if ((g->M + ms - 1) / ms < tm || (g->N + ns - 1) / ns < tn) continue; /* idle cells */
        double cost = (double)ms * (double)ns +
                      16.0 * (double)((g->packed_a ? 0 : ms) + (g->packed_b ? 0 : ns));
        if (best_cost < 0 || cost < best_cost) {
            best_cost = cost;
            best_tm = tm;
            best_tn = tn;
        }
    }
    j.tm = best_tm;
    j.tn = best_tn;
    j.m_step = round_up((g->M + best_tm - 1) / best_tm, MR);
    j.n_step = round_up((g->N + best_tn - 1) / best_tn, NR);
    if (best_tm * best_tn == 1) gemm_cells(&j, 0, 1);
    else zn_parallel_for(pool, best_tm * best_tn, 1, gemm_cells, &j);
    if (j.failed)
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "zn_sgemm: no memory for the packing buffers "
                            "(%lld x %lld x %lld); free memory or lower the thread count",
                            (long long)g->M, (long long)g->N, (long long)g->K);
    return ZN_OK;
}
