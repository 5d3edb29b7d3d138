/* fast_math.h — AVX2+FMA vector math shared by the fast CPU kernels (gemm.c epilogue,
 * fast_elementwise.c): exp, erf, tanh, sigmoid and the two GELU forms on 8 floats at a time.
 *
 * Header-only, static inline, each function compiled for target("avx2,fma") so callers with
 * the same (or a wider) target inline them; callers must check the CPU first. Accuracy: exp
 * ~2 ulp over the full range (denormal results and overflow to inf included, NaN kept); erf
 * and tanh are rational approximations (Eigen's) within a few ulp. Not here: a scalar or
 * AVX-512 variant (scalar code uses libm). Also here: horizontal sum/max and a softmax row
 * (fast_elementwise.c's Softmax and fast_linalg.c's ZnAttention share it).
 */
#ifndef ZN_FAST_MATH_H
#define ZN_FAST_MATH_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#define ZN_AVX2 __attribute__((target("avx2,fma")))

/* exp(x): 2^n * p(r), r = x - n ln2, n split in two halves so denormals and inf come out right */
ZN_AVX2 static inline __m256 zn_v8_exp(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-104.0f), hi = _mm256_set1_ps(89.0f);
    __m256 nan_mask = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    __m256 t = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), t);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_blendv_ps(y, x, nan_mask);
}

/* erf(x): odd rational approximation on (-3.92, 3.92), exactly +-1 outside */
ZN_AVX2 static inline __m256 zn_v8_erf(__m256 x) {
    __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    c = _mm256_blendv_ps(c, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    __m256 x2 = _mm256_mul_ps(c, c);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, c);
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    __m256 y = _mm256_div_ps(p, q);
    /* |x| >= 3.92: erf rounds to +-1 in f32; exact there so 1 + erf(x) is exactly 0 */
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(3.92f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(sign, x), _mm256_set1_ps(1.0f));
    return _mm256_blendv_ps(y, one, big);
}

/* tanh(x): odd rational approximation on (-7.9, 7.9), x itself for tiny |x|, +-1 outside */
ZN_AVX2 static inline __m256 zn_v8_tanh(__m256 x) {
    const __m256 lim = _mm256_set1_ps(7.90531110763549805f);
    __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_sub_ps(_mm256_setzero_ps(), lim)), lim);
    __m256 x2 = _mm256_mul_ps(c, c);
    __m256 p = _mm256_set1_ps(-2.76076847742355e-16f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.00018790482477e-13f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-8.60467152213735e-11f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(5.12229709037114e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.48572235717979e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(6.37261928875436e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(4.89352455891786e-03f));
    p = _mm256_mul_ps(p, c);
    __m256 q = _mm256_set1_ps(1.19825839466702e-06f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(1.18534705686654e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(2.26843463243900e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(4.89352518554385e-03f));
    __m256 y = _mm256_div_ps(p, q);
    __m256 tiny = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x),
                                _mm256_set1_ps(0.0004f), _CMP_LT_OQ);
    y = _mm256_blendv_ps(y, x, tiny);
    /* |x| >= 7.9: +-1 exactly (tanh is within 2.7e-7 of it), so 1 + tanh(x) is exactly 0 */
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(sign, x), lim, _CMP_GE_OQ);
    y = _mm256_blendv_ps(y, _mm256_or_ps(_mm256_and_ps(sign, x), _mm256_set1_ps(1.0f)), big);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

ZN_AVX2 static inline __m256 zn_v8_sigmoid(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, zn_v8_exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

ZN_AVX2 static inline __m256 zn_v8_gelu_erf(__m256 x) {
    __m256 e = zn_v8_erf(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

ZN_AVX2 static inline __m256 zn_v8_gelu_tanh(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    __m256 in = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
                              _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x),
                         _mm256_add_ps(_mm256_set1_ps(1.0f), zn_v8_tanh(in)));
}

/* The first n (< 8) floats of p as a vector, zeros after; and the matching store. */
ZN_AVX2 static inline __m256i zn_v8_tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

ZN_AVX2 static inline float zn_v8_hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

ZN_AVX2 static inline float zn_v8_hmax(__m256 v) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

/* y[0:n) = softmax(x[0:lim)) padded with zeros up to n (lim <= n: a causal row); y may be x.
 * A NaN among the first lim (or lim <= 0) gives NaN, as the reference does. */
ZN_AVX2 static inline void zn_softmax_row_avx2(float *y, const float *x, int64_t lim, int64_t n) {
    if (lim <= 0) { /* no visible key: 0/0, as the reference computes it */
        for (int64_t i = 0; i < n; i++) y[i] = NAN;
        return;
    }
    __m256 vm = _mm256_set1_ps(-INFINITY), nan_seen = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= lim; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        vm = _mm256_max_ps(vm, v);
        nan_seen = _mm256_or_ps(nan_seen, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    float mx = zn_v8_hmax(vm);
    for (; i < lim; i++) {
        if (x[i] > mx) mx = x[i];
        if (x[i] != x[i]) mx = x[i];
    }
    if (_mm256_movemask_ps(nan_seen)) mx = NAN;
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vs = _mm256_setzero_ps();
    for (i = 0; i + 8 <= lim; i += 8) {
        __m256 e = zn_v8_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(y + i, e);
        vs = _mm256_add_ps(vs, e);
    }
    if (i < lim) {
        __m256i mk = zn_v8_tail_mask(lim - i);
        __m256 e = zn_v8_exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, mk), vmx));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mk));
        _mm256_maskstore_ps(y + i, mk, e);
        vs = _mm256_add_ps(vs, e);
    }
    const float inv = 1.0f / zn_v8_hsum(vs);
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= lim; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vinv));
    for (; i < lim; i++) y[i] *= inv;
    for (i = lim; i < n; i++) y[i] = 0.0f;
}

#endif
