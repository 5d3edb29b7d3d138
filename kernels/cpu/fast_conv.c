/* fast_conv.c — fast CPU kernels for Conv and the fused ZnConv (im2col + zn_sgemm with weights
 * packed at prepare time; bias, residual and ReLU in the GEMM epilogue), MaxPool, AveragePool
 * and GlobalAveragePool.
 *
 * fp32, NCHW with 1 to 3 spatial dims, the same semantics and attribute handling as
 * ref_conv.c (whose geometry code this file repeats). A 1x1, stride-1, unpadded conv is a
 * GEMM on the input itself (no im2col); other convs gather columns into the per-session
 * scratch (rows of unit-stride windows are memcpy'd). 1-D/2-D pools reduce a window's input
 * rows into one row with AVX2, then each output takes its taps from that row; 3-D pools run
 * a plain loop with the window bounds hoisted. GlobalAveragePool sums planes with AVX2.
 * Depthwise-like convs (under 4 output channels per group) stay with the reference. Not here:
 * NHWC, Winograd/FFT convs, MaxPool's Indices output, integer pooling.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#include "../../engine/alloc.h"
#include "../../engine/error.h"
#include "../kernel.h"
#include "conv_geom.h"
#include "fast_math.h"
#include "fast_tables.h"
#include "gemm.h"
#include "threadpool.h"

/* ---- Conv --------------------------------------------------------------------------------- */

/* Group counts where every group is a GEMM of a few rows (depthwise) are left to the reference
 * kernel: packing buys nothing there. */
static bool conv_supports(const zn_kernel_node *n) {
    zn_conv_geom g;
    int64_t group;
    if (n->n_in > (n->op == ZN_OP_CONV_FUSED ? 4 : 3)) return false;
    if (!zn_f32_views(n->in, n->n_in) || !zn_f32_views(n->out, n->n_out) || !zn_conv_node_geom(n, &g, &group))
        return false;
    if (n->n_in >= 3 && n->in[2].dtype != ZN_DTYPE_UNDEFINED &&
        (n->in[2].rank != 1 || n->in[2].dims[0] != n->in[1].dims[0]))
        return false;
    if (n->op == ZN_OP_CONV_FUSED) { /* ZnConv: + residual (y's dims), then none | relu */
        const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
        if (strcmp(a, "none") != 0 && strcmp(a, "relu") != 0) return false;
        if (n->n_in == 4 && n->in[3].dtype != ZN_DTYPE_UNDEFINED) {
            const zn_view *r = &n->in[3], *y = &n->out[0];
            if (r->rank != y->rank) return false;
            for (int d = 0; d < y->rank; d++)
                if (r->dims[d] != y->dims[d]) return false;
        }
    }
    return n->in[1].dims[0] / group >= 4;
}

typedef struct conv_state {
    int64_t groups;
    zn_gemm_packed *w[]; /* per group: W_g (M/group, C/group * k_sz) packed as op(A) */
} conv_state;

static void conv_release(void *state) {
    conv_state *s = state;
    if (!s) return;
    for (int64_t i = 0; i < s->groups; i++) zn_gemm_packed_free(s->w[i]);
    zn_free(s);
}

static zn_status conv_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    zn_conv_geom g;
    int64_t group;
    if (!zn_conv_node_geom(n, &g, &group))
        return zn_error_set(ZN_ERR_UNSUPPORTED, "Conv: attributes do not fit the shapes");
    int64_t cg = n->in[0].dims[1] / group, mg = n->in[1].dims[0] / group, kk = cg * g.k_sz;
    prep->scratch_bytes = zn_conv_pointwise(&g) ? 0 : (size_t)(kk * g.out_sz) * sizeof(float);
    const float *w = n->in[1].data;
    if (!w || kk <= 0 || mg <= 0) return ZN_OK;
    conv_state *s = zn_calloc(1, sizeof *s + (size_t)group * sizeof(zn_gemm_packed *));
    if (!s) goto fail;
    s->groups = group;
    for (int64_t gi = 0; gi < group; gi++) {
        s->w[gi] = zn_gemm_pack_a(false, mg, kk, w + gi * mg * kk, kk);
        if (!s->w[gi]) goto fail;
    }
    prep->state = s;
    return ZN_OK;
fail:
    conv_release(s);
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "Conv '%s': no memory to prepack its weights",
                        n->name ? n->name : "?");
}

typedef struct im2col_job {
    const zn_conv_geom *g;
    const float *x; /* (Cg, in...) */
    float *col;     /* (Cg * k_sz, out_sz) */
} im2col_job;

static void im2col_rows(void *arg, int64_t begin, int64_t end) {
    const im2col_job *j = arg;
    const zn_conv_geom *g = j->g;
    const int64_t OW = g->out[2], IW = g->in[2], sw = g->s[2];
    for (int64_t r = begin; r < end; r++) {
        int64_t c = r / g->k_sz, rem = r % g->k_sz;
        int64_t kd = rem / (g->k[1] * g->k[2]);
        int64_t kh = rem / g->k[2] % g->k[1];
        int64_t kw = rem % g->k[2];
        const float *src = j->x + c * g->in_sz;
        float *dst = j->col + r * g->out_sz;
        /* the ow range whose iw = ow*sw - pb + kw*dw lies inside [0, IW) */
        const int64_t off = kw * g->d[2] - g->pb[2];
        int64_t ow0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
        int64_t ow1 = IW - off <= 0 ? 0 : (IW - off + sw - 1) / sw;
        if (ow1 > OW) ow1 = OW;
        if (ow0 > ow1) ow0 = ow1;
        for (int64_t od = 0; od < g->out[0]; od++) {
            int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                float *drow = dst + (od * g->out[1] + oh) * OW;
                if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) {
                    memset(drow, 0, sizeof(float) * (size_t)OW);
                    continue;
                }
                const float *srow = src + (id * g->in[1] + ih) * IW;
                for (int64_t ow = 0; ow < ow0; ow++) drow[ow] = 0.0f;
                if (sw == 1 && ow1 > ow0) {
                    memcpy(drow + ow0, srow + ow0 + off, sizeof(float) * (size_t)(ow1 - ow0));
                } else {
                    for (int64_t ow = ow0; ow < ow1; ow++) drow[ow] = srow[ow * sw + off];
                }
                for (int64_t ow = ow1; ow < OW; ow++) drow[ow] = 0.0f;
            }
        }
    }
}

/* y: (N, M, out...) = conv(x: (N, C, in...), w: (M, C/group, k...)) + b: (M); ZnConv adds
 * res: (N, M, out...) and applies relu, all in the GEMM epilogue */
static zn_status conv_run(const zn_exec_ctx *ctx) {
    zn_conv_geom g;
    int64_t group;
    if (!zn_conv_node_geom(ctx->node, &g, &group))
        return zn_error_set(ZN_ERR_RUNTIME, "Conv: attributes do not fit the shapes");
    const conv_state *s = ctx->state;
    const zn_view *X = &ctx->in[0], *W = &ctx->in[1];
    const float *x = X->data, *w = W->data;
    const float *bias = ctx->n_in >= 3 && ctx->in[2].dtype != ZN_DTYPE_UNDEFINED ? ctx->in[2].data : NULL;
    const float *res = NULL;
    zn_gemm_act act = ZN_GEMM_ACT_NONE;
    if (ctx->node->op == ZN_OP_CONV_FUSED) {
        const zn_kernel_node *nd = ctx->node;
        if (ctx->n_in == 4 && ctx->in[3].dtype != ZN_DTYPE_UNDEFINED) res = ctx->in[3].data;
        if (strcmp(zn_attrs_string(nd->attrs, nd->n_attrs, "activation", "none"), "relu") == 0)
            act = ZN_GEMM_ACT_RELU;
    }
    float *y = ctx->out[0].data;
    int64_t N = X->dims[0], C = X->dims[1], M = W->dims[0];
    int64_t cg = C / group, mg = M / group, kk = cg * g.k_sz;
    bool pointwise = zn_conv_pointwise(&g);
    if (!pointwise && !ctx->scratch && kk * g.out_sz > 0)
        return zn_error_set(ZN_ERR_RUNTIME, "Conv needs %lld bytes of scratch and got none",
                            (long long)(kk * g.out_sz * 4));
    for (int64_t n = 0; n < N; n++) {
        for (int64_t gi = 0; gi < group; gi++) {
            const float *xg = x + (n * C + gi * cg) * g.in_sz;
            const float *b = xg;
            if (!pointwise) {
                im2col_job j = {&g, xg, ctx->scratch};
                int64_t grain = g.out_sz >= 4096 ? 1 : 4096 / (g.out_sz ? g.out_sz : 1);
                zn_parallel_for(ctx->pool, kk, grain, im2col_rows, &j);
                b = ctx->scratch;
            }
            zn_gemm_args a = {.M = mg, .N = g.out_sz, .K = kk, .alpha = 1.0f, .beta = 0.0f,
                              .A = w + gi * mg * kk, .lda = kk, .B = b, .ldb = g.out_sz,
                              .C = y + (n * M + gi * mg) * g.out_sz, .ldc = g.out_sz,
                              .packed_a = s ? s->w[gi] : NULL,
                              .bias_row = bias ? bias + gi * mg : NULL,
                              .residual = res ? res + (n * M + gi * mg) * g.out_sz : NULL,
                              .ldr = g.out_sz, .act = act};
            zn_status st = zn_sgemm(ctx->pool, &a);
            if (st != ZN_OK) return st;
        }
    }
    return ZN_OK;
}

/* ---- MaxPool / AveragePool ---------------------------------------------------------------- */

typedef struct pool_job {
    zn_conv_geom g;
    const float *x;
    float *y;
    bool is_max, count_pad;
} pool_job;

/* [lo, hi) of window taps t (0..k) whose input index o*s - pb + t*d lies in [0, in); and the
 * count of taps inside the padded extent [-pb, in + pe). */
static void tap_range(int64_t o, int64_t s, int64_t pb, int64_t pe, int64_t d, int64_t k,
                      int64_t in, int64_t *lo, int64_t *hi, int64_t *padded) {
    int64_t base = o * s - pb;
    int64_t l = 0, h = k, pc = 0;
    while (l < k && base + l * d < 0) l++;
    while (h > l && base + (h - 1) * d >= in) h--;
    for (int64_t t = 0; t < k; t++) {
        int64_t i = base + t * d;
        if (i >= -pb && i < in + pe) pc++;
    }
    *lo = l;
    *hi = h;
    *padded = pc;
}

static void pool_planes(void *arg, int64_t begin, int64_t end) {
    const pool_job *j = arg;
    const zn_conv_geom *g = &j->g;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * g->in_sz;
        float *y = j->y + p * g->out_sz;
        for (int64_t od = 0; od < g->out[0]; od++) {
            int64_t a0, a1, pa;
            tap_range(od, g->s[0], g->pb[0], g->pe[0], g->d[0], g->k[0], g->in[0], &a0, &a1, &pa);
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                int64_t b0, b1, pbn;
                tap_range(oh, g->s[1], g->pb[1], g->pe[1], g->d[1], g->k[1], g->in[1], &b0, &b1, &pbn);
                for (int64_t ow = 0; ow < g->out[2]; ow++) {
                    int64_t c0, c1, pcn;
                    tap_range(ow, g->s[2], g->pb[2], g->pe[2], g->d[2], g->k[2], g->in[2], &c0,
                              &c1, &pcn);
                    float mx = -INFINITY, sum = 0.0f;
                    for (int64_t a = a0; a < a1; a++) {
                        int64_t i0 = od * g->s[0] - g->pb[0] + a * g->d[0];
                        for (int64_t b = b0; b < b1; b++) {
                            int64_t i1 = oh * g->s[1] - g->pb[1] + b * g->d[1];
                            const float *row = x + (i0 * g->in[1] + i1) * g->in[2];
                            const int64_t base = ow * g->s[2] - g->pb[2];
                            for (int64_t c = c0; c < c1; c++) {
                                float v = row[base + c * g->d[2]];
                                if (v > mx || isnan(v)) mx = isnan(mx) ? mx : v;
                                sum += v;
                            }
                        }
                    }
                    float r;
                    if (j->is_max) {
                        r = mx;
                    } else {
                        int64_t div = j->count_pad ? pa * pbn * pcn : (a1 - a0) * (b1 - b0) * (c1 - c0);
                        r = div > 0 ? sum / (float)div : 0.0f;
                    }
                    y[(od * g->out[1] + oh) * g->out[2] + ow] = r;
                }
            }
        }
    }
}

/* One output of a reduced row: max / mean of its taps (rows: window rows inside the input). */
static float pool_tap_row(const pool_job *j, const float *row, int64_t ow, const int64_t *c0,
                          const int64_t *c1, const int64_t *cp, int64_t pbn, int64_t rows) {
    const zn_conv_geom *g = &j->g;
    const int64_t base = ow * g->s[2] - g->pb[2];
    if (j->is_max) {
        float r = -INFINITY;
        for (int64_t c = c0[ow]; c < c1[ow]; c++) {
            float v = row[base + c * g->d[2]];
            if (v > r || isnan(v)) r = isnan(r) ? r : v;
        }
        return r;
    }
    float sum = 0.0f;
    for (int64_t c = c0[ow]; c < c1[ow]; c++) sum += row[base + c * g->d[2]];
    int64_t div = j->count_pad ? pbn * cp[ow] : rows * (c1[ow] - c0[ow]);
    return div > 0 ? sum / (float)div : 0.0f;
}

/* 2-D planes (zn_conv_geom's leading dim unit) on AVX2: per output row, the window's input rows are
 * first reduced into one row (max or sum, 8 columns at a time), then each output takes the
 * max / sum of its taps along that row. row: in[2] + 16 floats; taps: 3 * out[2]. */
ZN_AVX2 static void pool_planes_2d(const pool_job *j, int64_t begin, int64_t end, float *row,
                                   int64_t *taps) {
    const zn_conv_geom *g = &j->g;
    const int64_t IW = g->in[2], OW = g->out[2];
    int64_t *c0 = taps, *c1 = c0 + OW, *cp = c1 + OW;
    for (int64_t ow = 0; ow < OW; ow++)
        tap_range(ow, g->s[2], g->pb[2], g->pe[2], g->d[2], g->k[2], IW, &c0[ow], &c1[ow], &cp[ow]);
    int64_t lo = 0, hi = 0; /* [lo, hi): the outputs whose taps all lie inside the row */
    while (lo < OW && !(c0[lo] == 0 && c1[lo] == g->k[2])) lo++;
    hi = lo;
    while (hi < OW && c0[hi] == 0 && c1[hi] == g->k[2]) hi++;
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * g->in_sz;
        float *y = j->y + p * g->out_sz;
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            int64_t b0, b1, pbn;
            tap_range(oh, g->s[1], g->pb[1], g->pe[1], g->d[1], g->k[1], g->in[1], &b0, &b1, &pbn);
            int64_t i = 0;
            for (; i + 8 <= IW; i += 8) {
                __m256 acc = j->is_max ? ninf : _mm256_setzero_ps();
                for (int64_t b = b0; b < b1; b++) {
                    __m256 v = _mm256_loadu_ps(x + (oh * g->s[1] - g->pb[1] + b * g->d[1]) * IW + i);
                    if (j->is_max) {
                        __m256 nan_acc = _mm256_cmp_ps(acc, acc, _CMP_UNORD_Q);
                        acc = _mm256_blendv_ps(_mm256_max_ps(acc, v), acc, nan_acc);
                    } else {
                        acc = _mm256_add_ps(acc, v);
                    }
                }
                _mm256_storeu_ps(row + i, acc);
            }
            for (; i < IW; i++) {
                float acc = j->is_max ? -INFINITY : 0.0f;
                for (int64_t b = b0; b < b1; b++) {
                    float v = x[(oh * g->s[1] - g->pb[1] + b * g->d[1]) * IW + i];
                    if (j->is_max) {
                        if (v > acc || isnan(v)) acc = isnan(acc) ? acc : v;
                    } else {
                        acc += v;
                    }
                }
                row[i] = acc;
            }
            float *yr = y + oh * OW;
            for (int64_t ow = 0; ow < lo; ow++) yr[ow] = pool_tap_row(j, row, ow, c0, c1, cp, pbn, b1 - b0);
            int64_t ow = lo;
            /* interior outputs (every tap inside the row), 8 at a time through gathers */
            for (; ow + 8 <= hi; ow += 8) {
                __m256i idx = _mm256_add_epi32(
                    _mm256_set1_epi32((int)(ow * g->s[2] - g->pb[2])),
                    _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                       _mm256_set1_epi32((int)g->s[2])));
                const __m256i step = _mm256_set1_epi32((int)g->d[2]);
                __m256 acc = j->is_max ? ninf : _mm256_setzero_ps();
                const float *rb = row + ow * g->s[2] - g->pb[2];
                for (int64_t c = 0; c < g->k[2]; c++) {
                    __m256 v;
                    if (g->s[2] == 1) {
                        v = _mm256_loadu_ps(rb + c * g->d[2]);
                    } else if (g->s[2] == 2) { /* the even elements of 16 (row has 16 spare) */
                        __m256 l = _mm256_loadu_ps(rb + c * g->d[2]), h = _mm256_loadu_ps(rb + c * g->d[2] + 8);
                        v = _mm256_castpd_ps(_mm256_permute4x64_pd(
                            _mm256_castps_pd(_mm256_shuffle_ps(l, h, 0x88)), 0xD8));
                    } else {
                        v = _mm256_i32gather_ps(row, idx, 4);
                    }
                    if (j->is_max) {
                        __m256 nan_acc = _mm256_cmp_ps(acc, acc, _CMP_UNORD_Q);
                        acc = _mm256_blendv_ps(_mm256_max_ps(acc, v), acc, nan_acc);
                    } else {
                        acc = _mm256_add_ps(acc, v);
                    }
                    idx = _mm256_add_epi32(idx, step);
                }
                if (!j->is_max) {
                    int64_t div = (j->count_pad ? pbn : b1 - b0) * g->k[2];
                    acc = div > 0 ? _mm256_div_ps(acc, _mm256_set1_ps((float)div)) : _mm256_setzero_ps();
                }
                _mm256_storeu_ps(yr + ow, acc);
            }
            for (; ow < OW; ow++) yr[ow] = pool_tap_row(j, row, ow, c0, c1, cp, pbn, b1 - b0);
        }
    }
}

static void pool_planes_fast(void *arg, int64_t begin, int64_t end) {
    const pool_job *j = arg;
    float *row = malloc(sizeof(float) * (size_t)(j->g.in[2] + 16)); /* 16 spare: stride-2 loads */
    if (row) memset(row + j->g.in[2], 0, sizeof(float) * 16);
    int64_t *taps = malloc(sizeof(int64_t) * (size_t)(3 * j->g.out[2]));
    if (row && taps) pool_planes_2d(j, begin, end, row, taps);
    else pool_planes(arg, begin, end); /* no memory for one row: the plain loop needs none */
    free(row);
    free(taps);
}

static bool pool_supports(const zn_kernel_node *n) { return zn_pool_node_supported(n); }

static zn_status pool_run(const zn_exec_ctx *ctx) {
    pool_job j;
    memset(&j, 0, sizeof j);
    if (!zn_conv_geom_init(&j.g, ctx->node, &ctx->in[0], &ctx->out[0], NULL))
        return zn_error_set(ZN_ERR_RUNTIME, "%s: attributes do not fit the shapes",
                            zn_op_name(ctx->node->op));
    j.x = ctx->in[0].data;
    j.y = ctx->out[0].data;
    j.is_max = ctx->node->op == ZN_OP_MAX_POOL;
    j.count_pad = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "count_include_pad", 0) != 0;
    int64_t planes = ctx->in[0].dims[0] * ctx->in[0].dims[1];
    int64_t work = j.g.out_sz * j.g.k_sz;
    bool flat = j.g.in[0] == 1 && j.g.out[0] == 1 && j.g.k[0] == 1 && j.g.pb[0] == 0;
    zn_range_fn fn = flat && zn_gemm_path_available(ZN_GEMM_PATH_AVX2) ? pool_planes_fast : pool_planes;
    zn_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work ? work : 1), fn, &j);
    return ZN_OK;
}

/* ---- GlobalAveragePool -------------------------------------------------------------------- */

typedef struct gap_job {
    const float *x;
    float *y;
    int64_t sz;
    bool avx2;
} gap_job;

ZN_AVX2 static float sum_avx2(const float *x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    if (i + 8 <= n) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        i += 8;
    }
    if (i < n) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + i, zn_v8_tail_mask(n - i)));
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

static void gap_planes(void *arg, int64_t begin, int64_t end) {
    const gap_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * j->sz;
        float s = 0.0f;
        if (j->avx2) {
            s = sum_avx2(x, j->sz);
        } else {
            for (int64_t i = 0; i < j->sz; i++) s += x[i];
        }
        j->y[p] = j->sz ? s / (float)j->sz : 0.0f;
    }
}

static bool gap_supports(const zn_kernel_node *n) {
    return n->n_in == 1 && n->n_out == 1 && n->in[0].dtype == ZN_F32 &&
           n->out[0].dtype == ZN_F32 && n->in[0].rank >= 3;
}

/* y: (N, C, 1...) = mean over the spatial dims of x: (N, C, spatial...) */
static zn_status gap_run(const zn_exec_ctx *ctx) {
    const zn_view *X = &ctx->in[0];
    gap_job j = {X->data, ctx->out[0].data, 1, zn_gemm_path_available(ZN_GEMM_PATH_AVX2)};
    for (int i = 2; i < X->rank; i++) j.sz *= X->dims[i];
    int64_t planes = X->dims[0] * X->dims[1];
    zn_parallel_for(ctx->pool, planes, j.sz >= 4096 ? 1 : 4096 / (j.sz ? j.sz : 1), gap_planes, &j);
    return ZN_OK;
}

static const zn_kernel_spec specs[] = {
    {"cpu.conv", ZN_OP_CONV, ZN_BACKEND_CPU, ZN_F32, 10, 0, conv_supports, conv_prepare,
     conv_release, conv_run},
    {"cpu.znconv", ZN_OP_CONV_FUSED, ZN_BACKEND_CPU, ZN_F32, 10, 0, conv_supports, conv_prepare,
     conv_release, conv_run},
    {"cpu.maxpool", ZN_OP_MAX_POOL, ZN_BACKEND_CPU, ZN_F32, 10, 0, pool_supports, NULL, NULL, pool_run},
    {"cpu.averagepool", ZN_OP_AVERAGE_POOL, ZN_BACKEND_CPU, ZN_F32, 10, 0, pool_supports, NULL,
     NULL, pool_run},
    {"cpu.globalaveragepool", ZN_OP_GLOBAL_AVERAGE_POOL, ZN_BACKEND_CPU, ZN_F32, 10, 0,
     gap_supports, NULL, NULL, gap_run},
};

ZN_KERNEL_TABLE(zn_fast_conv_table, specs);
