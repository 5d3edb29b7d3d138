/* conv.cu — CUDA kernels for Conv, ZnConv (y = act(conv(X, W) + bias + residual), act none or
 * relu), MaxPool, AveragePool, GlobalAveragePool and inference BatchNormalization.
 *
 * Conv and ZnConv run on cuDNN 9 (legacy API, link with -lcudnn): prepare() builds the
 * descriptors, asks cuDNN's heuristics for an algorithm and, when the node has a bias, a
 * residual or a ReLU, fuses them with cudnnConvolutionBiasActivationForward (CUDNN_ACTIVATION_
 * IDENTITY is only accepted with IMPLICIT_PRECOMP_GEMM, so an identity epilogue is fused only
 * when that is the chosen algorithm; otherwise a small epilogue kernel follows the convolution).
 * Every candidate is tried once at prepare on scratch buffers, so a configuration cuDNN refuses
 * is found at compile time and the next candidate (or the native kernel) is used instead. FFT
 * algorithms are not used (cuFFT plans inside cuDNN; large workspaces).
 * cuDNN pads symmetrically: an asymmetric pad (SAME_UPPER with an even window, stride-2 ONNX
 * exports) pads the difference explicitly into scratch and lets cuDNN pad the rest.
 * A native convolution (implicit GEMM with 64x64 tiles for dense convs, one thread per output
 * for depthwise / narrow groups) is a second, lower-priority kernel: the non-cuDNN path for
 * tests and a candidate for max-autotune, and the fallback when cuDNN has no algorithm.
 * The pools, GlobalAveragePool and BatchNormalization are kernels of this file (the pools
 * handle asymmetric pads, dilations and ceil_mode windows exactly like kernels/cpu/ref_conv.c).
 *
 * Tensors are NCHW, dense, f32 / f16 / bf16 with one dtype per node; compute and accumulate in
 * fp32. Not here: 1-D and 3-D convolutions (the CPU runs them), MaxPool's Indices output,
 * storage_order=1, training-mode BatchNormalization, NHWC layouts, cuDNN's graph (backend) API.
 */
#include <cudnn.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.cuh"
#include "../../engine/device.h"
extern "C" {
#include "../../engine/log.h"
#include "../cpu/conv_geom.h"
}

/* ---- node helpers (host) -------------------------------------------------------------------- */

enum { ACT_NONE, ACT_RELU, ACT_BAD };

/* Most workspace a cuDNN algorithm may ask for; bigger ones are skipped. */
#define CONV_MAX_WORKSPACE ((size_t)256 << 20)
/* Alignment of the pieces of the scratch (padded input, cuDNN workspace). */
#define CONV_SCRATCH_ALIGN ((size_t)256)

static bool present(const zn_view *v) { return v->dtype != ZN_DTYPE_UNDEFINED; }
static bool in_present(const zn_kernel_node *n, int i) { return i < n->n_in && present(&n->in[i]); }

static bool same_dims(const zn_view *a, const zn_view *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

static bool nonempty_int(const zn_view *v) {
    int64_t n = zn_view_numel(v);
    return n > 0 && n <= INT_MAX;
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static int conv_activation(const zn_kernel_node *n) {
    if (n->op != ZN_OP_CONV_FUSED) return ACT_NONE;
    const char *a = zn_attrs_string(n->attrs, n->n_attrs, "activation", "none");
    if (!strcmp(a, "none")) return ACT_NONE;
    if (!strcmp(a, "relu")) return ACT_RELU;
    return ACT_BAD;
}

/* ---- kernels -------------------------------------------------------------------------------- */

/* What the native conv kernels need of a Conv node (2-D, NCHW). ph, pw: the begin pads. */
struct conv_params {
    int N, C, H, W;    /* x: (N, C, H, W) */
    int M, OH, OW;     /* y: (N, M, OH, OW) */
    int KH, KW, sh, sw, dh, dw, ph, pw;
    int cg, mg;        /* input / output channels per group; w: (M, cg, KH, KW) */
    int relu;
};

/* v + bias[m] + res[i], then the activation: what ref_fused.c does after the convolution. */
template <typename T>
__device__ __forceinline__ float conv_epilogue(float v, const T *bias, const T *res, int m, int64_t i, int relu) {
    if (bias) v += zn_ld(bias, m);
    if (res) v += zn_ld(res, i);
    if (relu) v = v < 0.0f ? 0.0f : v; /* NaN stays NaN, as in the reference */
    return v;
}

/* Direct convolution, one thread per output element: for depthwise and narrow-group convs where
 * a GEMM tile would be mostly empty.
 * y: (N, M, OH, OW) = conv(x: (N, C, H, W), w: (M, cg, KH, KW)); bias: (M) or NULL; res like y. */
template <typename T>
__global__ void conv_direct_kernel(T *y, const T *x, const T *w, const T *bias, const T *res, conv_params p) {
    const int64_t total = (int64_t)p.N * p.M * p.OH * p.OW;
    const int64_t plane = (int64_t)p.H * p.W;
    ZN_GRID_STRIDE(i, total) {
        const int ow = (int)(i % p.OW);
        int64_t t = i / p.OW;
        const int oh = (int)(t % p.OH);
        t /= p.OH;
        const int m = (int)(t % p.M);
        const int n = (int)(t / p.M);
        const int g = m / p.mg;
        const T *xg = x + ((int64_t)n * p.C + (int64_t)g * p.cg) * plane;
        const T *wm = w + (int64_t)m * p.cg * p.KH * p.KW;
        const int ih0 = oh * p.sh - p.ph, iw0 = ow * p.sw - p.pw;
        float acc = 0.0f;
        for (int c = 0; c < p.cg; c++) {
            const T *xc = xg + (int64_t)c * plane;
            const T *wc = wm + (int64_t)c * p.KH * p.KW;
            for (int kh = 0; kh < p.KH; kh++) {
                const int ih = ih0 + kh * p.dh;
                if (ih < 0 || ih >= p.H) continue;
                for (int kw = 0; kw < p.KW; kw++) {
                    const int iw = iw0 + kw * p.dw;
                    if (iw < 0 || iw >= p.W) continue;
                    acc += zn_ld(xc, (int64_t)ih * p.W + iw) * zn_ld(wc, (int64_t)kh * p.KW + kw);
                }
            }
        }
        zn_st(y, i, conv_epilogue(acc, bias, res, m, i, p.relu));
    }
}

/* Implicit GEMM per group g: Y_g (mg, P) = W_g (mg, K) x Xcol_g (K, P) with K = cg*KH*KW and
 * P = N*OH*OW; Xcol is gathered from x on the fly (zero outside the input). A block computes a
 * 64 (channels) x 64 (pixels) tile in 16-deep K slices staged in shared memory; each of the 256
 * threads owns a 4x4 micro-tile m = m0 + ty + 16i, p = p0 + tx + 16j (tx = tid % 16,
 * ty = tid / 16), so the pixel index runs fastest across a warp and the stores coalesce.
 * Grid: (ceil(P / 64), ceil(mg / 64), group). */
#define IG_BM 64
#define IG_BN 64
#define IG_BK 16
#define IG_THREADS 256

template <typename T>
__global__ void __launch_bounds__(IG_THREADS)
conv_igemm_kernel(T *y, const T *x, const T *w, const T *bias, const T *res, conv_params p) {
    __shared__ float w_tile[IG_BK][IG_BM + 4]; /* [k][m], padded against bank conflicts on store */
    __shared__ float x_tile[IG_BK][IG_BN];     /* [k][p] */
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int g = blockIdx.z;
    const int m0 = blockIdx.y * IG_BM; /* channel within the group */
    const int p0 = blockIdx.x * IG_BN;
    const int ohw = p.OH * p.OW, P = p.N * ohw, khw = p.KH * p.KW, K = p.cg * khw;
    const int64_t plane = (int64_t)p.H * p.W;

    /* The x_tile column this thread fills: pixel pl (fixed), rows tid / 64 + 4r. */
    const int pl = tid % IG_BN;
    const int pg = p0 + pl;
    const bool p_ok = pg < P;
    int n = 0, ih0 = 0, iw0 = 0;
    if (p_ok) {
        n = pg / ohw;
        const int r = pg % ohw;
        ih0 = (r / p.OW) * p.sh - p.ph;
        iw0 = (r % p.OW) * p.sw - p.pw;
    }
    const T *xg = x + ((int64_t)n * p.C + (int64_t)g * p.cg) * plane;
    /* The w_tile row this thread fills: k column kl (fixed), channels tid / 16 + 16r. */
    const int kl = tid % IG_BK;
    const T *wg = w + (int64_t)g * p.mg * K;

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += IG_BK) {
#pragma unroll
        for (int r = 0; r < 4; r++) {
            const int mm = tid / IG_BK + 16 * r; /* 0..63 */
            const int m = m0 + mm, k = k0 + kl;
            w_tile[kl][mm] = (m < p.mg && k < K) ? zn_ld(wg, (int64_t)m * K + k) : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < 4; r++) {
            const int kk = tid / IG_BN + 4 * r; /* 0..15 */
            const int k = k0 + kk;
            float v = 0.0f;
            if (p_ok && k < K) {
                const int c = k / khw, rem = k % khw;
                const int ih = ih0 + (rem / p.KW) * p.dh, iw = iw0 + (rem % p.KW) * p.dw;
                if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) v = zn_ld(xg, (int64_t)c * plane + (int64_t)ih * p.W + iw);
            }
            x_tile[kk][pl] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < IG_BK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = w_tile[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = x_tile[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int m = m0 + ty + 16 * i;
        if (m >= p.mg) continue;
        const int mo = g * p.mg + m;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int pj = p0 + tx + 16 * j;
            if (pj >= P) continue;
            const int nj = pj / ohw, pix = pj % ohw;
            const int64_t yi = ((int64_t)nj * p.M + mo) * ohw + pix;
            zn_st(y, yi, conv_epilogue(acc[i][j], bias, res, mo, yi, p.relu));
        }
    }
}

/* xp: (planes, Hp, Wp) = x: (planes, H, W) placed at (top, left), zeros around. */
template <typename T>
__global__ void pad_planes_kernel(T *xp, const T *x, int64_t planes, int H, int W, int Hp, int Wp, int top, int left) {
    const int64_t total = planes * Hp * Wp;
    ZN_GRID_STRIDE(i, total) {
        const int wp = (int)(i % Wp);
        const int64_t t = i / Wp;
        const int hp = (int)(t % Hp);
        const int64_t pl = t / Hp;
        const int h = hp - top, w = wp - left;
        xp[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(pl * H + h) * W + w] : zn_from_float<T>(0.0f);
    }
}

/* y: (N, M, S) = act(y + bias[m] + res), in place after a cuDNN convolution. */
template <typename T>
__global__ void bias_res_act_kernel(T *y, const T *bias, const T *res, int64_t total, int64_t S, int M, int relu) {
    ZN_GRID_STRIDE(i, total) {
        const int m = (int)((i / S) % M);
        zn_st(y, i, conv_epilogue(zn_ld(y, i), bias, res, m, i, relu));
    }
}

/* MaxPool / AveragePool over 1..3 spatial dims padded to 3 (zn_conv_geom), one thread per output.
 * x: (planes, in...) -> y: (planes, out...). A window position counts for count_include_pad when
 * it lies in [-pb, in + pe) (ceil_mode windows may reach past the end padding: those positions
 * count for nothing); max skips padding and propagates NaN; an empty window gives -inf (max) or
 * 0 (average). Same rules as ref_conv.c. */
template <typename T, bool IS_MAX>
__global__ void pool_kernel(T *y, const T *x, zn_conv_geom g, int64_t planes, bool count_pad) {
    const int64_t total = planes * g.out_sz;
    ZN_GRID_STRIDE(i, total) {
        const int64_t pl = i / g.out_sz, o = i % g.out_sz;
        const int64_t o2 = o % g.out[2], o1 = o / g.out[2] % g.out[1], o0 = o / (g.out[1] * g.out[2]);
        const T *xp = x + pl * g.in_sz;
        float mx = -INFINITY, sum = 0.0f;
        int64_t cnt = 0, cnt_pad = 0;
        for (int64_t a = 0; a < g.k[0]; a++) {
            const int64_t i0 = o0 * g.s[0] - g.pb[0] + a * g.d[0];
            if (i0 >= g.in[0] + g.pe[0]) break;
            for (int64_t b = 0; b < g.k[1]; b++) {
                const int64_t i1 = o1 * g.s[1] - g.pb[1] + b * g.d[1];
                if (i1 >= g.in[1] + g.pe[1]) break;
                for (int64_t c = 0; c < g.k[2]; c++) {
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + c * g.d[2];
                    if (i2 >= g.in[2] + g.pe[2]) break;
                    cnt_pad++;
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) continue;
                    const float v = zn_ld(xp, (i0 * g.in[1] + i1) * g.in[2] + i2);
                    if (IS_MAX) {
                        if (v > mx || isnan(v)) mx = isnan(mx) ? mx : v;
                    } else {
                        sum += v;
                    }
                    cnt++;
                }
            }
        }
        float r;
        if (IS_MAX) {
            r = mx;
        } else {
            const int64_t div = count_pad ? cnt_pad : cnt;
            r = div ? sum / (float)div : 0.0f;
        }
        zn_st(y, i, r);
    }
}

/* y: (planes) = mean of x: (planes, S); one warp per plane (the loop bound is warp-uniform). */
template <typename T>
__global__ void global_avg_pool_kernel(T *y, const T *x, int64_t planes, int64_t S) {
    const int lane = threadIdx.x % 32;
    const int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    const int64_t n_warps = (int64_t)gridDim.x * blockDim.x / 32;
    for (int64_t pl = warp; pl < planes; pl += n_warps) {
        const T *xp = x + pl * S;
        float s = 0.0f;
        for (int64_t i = lane; i < S; i += 32) s += zn_ld(xp, i);
        s = zn_warp_sum(s);
        if (lane == 0) zn_st(y, pl, S ? s / (float)S : 0.0f);
    }
}

/* a[c] = scale / sqrt(var + eps), b[c] = bias - mean * a (in double, as the reference), for
 * BatchNormalization parameters that are not constants. */
template <typename T>
__global__ void batchnorm_fold_kernel(float *a, float *b, const T *scale, const T *bias, const T *mean, const T *var,
                                      int64_t C, float eps) {
    ZN_GRID_STRIDE(c, C) {
        const double ac = (double)zn_ld(scale, c) / sqrt((double)zn_ld(var, c) + (double)eps);
        a[c] = (float)ac;
        b[c] = (float)((double)zn_ld(bias, c) - (double)zn_ld(mean, c) * ac);
    }
}

/* y: (N, C, S) = x * a[c] + b[c]; element-wise, so y may be x. */
template <typename T>
__global__ void batchnorm_kernel(T *y, const T *x, const float *a, const float *b, int64_t total, int64_t S, int64_t C) {
    ZN_GRID_STRIDE(i, total) {
        const int64_t c = i / S % C;
        zn_st(y, i, zn_ld(x, i) * a[c] + b[c]);
    }
}

/* ---- Conv / ZnConv: node checks and state (host) ---------------------------------------------- */

enum conv_mode {
    CONV_NATIVE_DIRECT,
    CONV_NATIVE_IGEMM,
    CONV_CUDNN_PLAIN, /* cudnnConvolutionForward, then bias_res_act_kernel when there is an epilogue */
    CONV_CUDNN_FUSED, /* cudnnConvolutionBiasActivationForward */
};

typedef struct conv_state {
    conv_mode mode;
    zn_dtype dtype;
    conv_params p;
    int group;
    bool epilogue; /* bias, residual or relu */
    /* cuDNN */
    cudnnTensorDescriptor_t x_desc, y_desc, bias_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnActivationDescriptor_t act_desc;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws_bytes;
    void *zero_bias; /* (M) zeros for a fused node without a bias */
    /* asymmetric pads: x is copied into (N, C, Hp, Wp) at (top, left) in scratch first */
    bool pad_copy;
    int Hp, Wp, top, left;
    size_t pad_bytes; /* aligned */
} conv_state;

/* The Conv / ZnConv nodes this file runs: 2-D, one float dtype, geometry that the output dims
 * agree with (floor formula), sizes that fit cuDNN's int dims. */
static bool conv_node_geom(const zn_kernel_node *n, zn_conv_geom *g, int64_t *group) {
    int max_in = n->op == ZN_OP_CONV_FUSED ? 4 : 3;
    if (n->n_in < 2 || n->n_in > max_in || n->n_out != 1) return false;
    const zn_view *x = &n->in[0], *w = &n->in[1], *y = &n->out[0];
    zn_dtype t = x->dtype;
    if (!zn_is_float_dtype(t) || w->dtype != t || y->dtype != t) return false;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return false;
    if (!nonempty_int(x) || !nonempty_int(w) || !nonempty_int(y)) return false;
    if (!zn_conv_node_geom(n, g, group) || g->nsp != 2 || *group > INT_MAX) return false;
    if (conv_activation(n) == ACT_BAD) return false;
    if (in_present(n, 2) && (n->in[2].dtype != t || n->in[2].rank != 1 || n->in[2].dims[0] != w->dims[0])) return false;
    if (in_present(n, 3) && (n->in[3].dtype != t || !same_dims(&n->in[3], y))) return false;
    int64_t padded = x->dims[0] * x->dims[1];
    for (int j = 1; j < 3; j++) {
        if (g->k[j] > (1 << 16) || g->s[j] > (1 << 16) || g->d[j] > (1 << 16) || g->pb[j] > (1 << 16) ||
            g->pe[j] > (1 << 16))
            return false;
        int64_t span = g->in[j] + g->pb[j] + g->pe[j] - ((g->k[j] - 1) * g->d[j] + 1);
        if (span < 0 || span / g->s[j] + 1 != g->out[j]) return false;
        padded *= g->in[j] + (g->pb[j] > g->pe[j] ? g->pb[j] - g->pe[j] : g->pe[j] - g->pb[j]);
        if (padded > INT_MAX) return false;
    }
    return true;
}

static bool conv_supports(const zn_kernel_node *n) {
    zn_conv_geom g;
    int64_t group;
    return conv_node_geom(n, &g, &group);
}

/* The native kernel for a node: the implicit GEMM when a group has enough output channels to
 * fill its 64-channel tiles (and the grid and its int tile offsets fit), else the direct kernel. */
static conv_mode native_mode(const conv_params *p, int group) {
    int64_t P = (int64_t)p->N * p->OH * p->OW;
    bool igemm = p->mg >= 16 && ((int64_t)p->mg + IG_BM - 1) / IG_BM <= 65535 && group <= 65535 &&
                 P <= INT_MAX - IG_BN;
    return igemm ? CONV_NATIVE_IGEMM : CONV_NATIVE_DIRECT;
}

/* Releases the cuDNN half of a state (descriptors, zero bias) and clears it. */
static void conv_free_cudnn(conv_state *s) {
    if (s->x_desc) cudnnDestroyTensorDescriptor(s->x_desc);
    if (s->y_desc) cudnnDestroyTensorDescriptor(s->y_desc);
    if (s->bias_desc) cudnnDestroyTensorDescriptor(s->bias_desc);
    if (s->w_desc) cudnnDestroyFilterDescriptor(s->w_desc);
    if (s->conv_desc) cudnnDestroyConvolutionDescriptor(s->conv_desc);
    if (s->act_desc) cudnnDestroyActivationDescriptor(s->act_desc);
    zn_device_free(s->zero_bias);
    s->x_desc = s->y_desc = s->bias_desc = NULL;
    s->w_desc = NULL;
    s->conv_desc = NULL;
    s->act_desc = NULL;
    s->zero_bias = NULL;
    s->pad_copy = false;
    s->pad_bytes = s->ws_bytes = 0;
}

static void conv_release(void *state) {
    conv_state *s = (conv_state *)state;
    if (!s) return;
    conv_free_cudnn(s);
    free(s);
}

static cudnnDataType_t cudnn_dtype(zn_dtype t) {
    return t == ZN_F16 ? CUDNN_DATA_HALF : t == ZN_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

/* The one call both the prepare-time trial and run() make. */
static cudnnStatus_t cudnn_conv_call(cudnnHandle_t h, const conv_state *s, const void *x, const void *w,
                                     const void *bias, const void *res, void *y, void *ws) {
    const float one = 1.0f, zero = 0.0f; /* host scalars: float for f32, f16 and bf16 data */
    if (s->mode == CONV_CUDNN_FUSED)
        return cudnnConvolutionBiasActivationForward(h, &one, s->x_desc, x, s->w_desc, w, s->conv_desc, s->algo, ws,
                                                     s->ws_bytes, res ? &one : &zero, s->y_desc, res ? res : y,
                                                     s->bias_desc, bias ? bias : s->zero_bias, s->act_desc,
                                                     s->y_desc, y);
    return cudnnConvolutionForward(h, &one, s->x_desc, x, s->w_desc, w, s->conv_desc, s->algo, ws, s->ws_bytes,
                                   &zero, s->y_desc, y);
}

/* Descriptors for x (padded when the pads are asymmetric), w, y, the bias (1, M, 1, 1), the
 * convolution (fp32 compute, groups, symmetric pads) and the activation. */
static bool cudnn_describe(conv_state *s, int act) {
    const conv_params *p = &s->p;
    cudnnDataType_t dt = cudnn_dtype(s->dtype);
    if (cudnnCreateTensorDescriptor(&s->x_desc) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateTensorDescriptor(&s->y_desc) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateTensorDescriptor(&s->bias_desc) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateFilterDescriptor(&s->w_desc) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateConvolutionDescriptor(&s->conv_desc) != CUDNN_STATUS_SUCCESS ||
        cudnnCreateActivationDescriptor(&s->act_desc) != CUDNN_STATUS_SUCCESS)
        return false;
    if (cudnnSetTensor4dDescriptor(s->x_desc, CUDNN_TENSOR_NCHW, dt, p->N, p->C, s->Hp, s->Wp) != CUDNN_STATUS_SUCCESS ||
        cudnnSetTensor4dDescriptor(s->y_desc, CUDNN_TENSOR_NCHW, dt, p->N, p->M, p->OH, p->OW) != CUDNN_STATUS_SUCCESS ||
        cudnnSetTensor4dDescriptor(s->bias_desc, CUDNN_TENSOR_NCHW, dt, 1, p->M, 1, 1) != CUDNN_STATUS_SUCCESS ||
        cudnnSetFilter4dDescriptor(s->w_desc, dt, CUDNN_TENSOR_NCHW, p->M, p->cg, p->KH, p->KW) != CUDNN_STATUS_SUCCESS)
        return false;
    /* after the explicit pad copy the remaining pads are symmetric: begin pad minus what the copy added */
    int pad_h = p->ph - s->top, pad_w = p->pw - s->left;
    if (cudnnSetConvolution2dDescriptor(s->conv_desc, pad_h, pad_w, p->sh, p->sw, p->dh, p->dw,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) != CUDNN_STATUS_SUCCESS ||
        cudnnSetConvolutionGroupCount(s->conv_desc, s->group) != CUDNN_STATUS_SUCCESS)
        return false;
    if (cudnnSetActivationDescriptor(s->act_desc, act == ACT_RELU ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                                     CUDNN_PROPAGATE_NAN, 0.0) != CUDNN_STATUS_SUCCESS)
        return false;
    int on, om, oh, ow;
    if (cudnnGetConvolution2dForwardOutputDim(s->conv_desc, s->x_desc, s->w_desc, &on, &om, &oh, &ow) !=
        CUDNN_STATUS_SUCCESS)
        return false;
    return on == p->N && om == p->M && oh == p->OH && ow == p->OW;
}

/* The math type to run a heuristic candidate with, or -1 to skip it. fp32 without TF32 is
 * pinned to FMA (cuDNN's default math may use TF32 on Ampere and later); nothing converts f32
 * or bf16 data down to f16. */
static int cudnn_math_for(const conv_state *s, bool tf32, cudnnMathType_t offered) {
    if (s->dtype == ZN_F32 && !tf32) return CUDNN_FMA_MATH;
    if (offered == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION && s->dtype != ZN_F16) return -1;
    return offered;
}

/* Device buffers for trying candidates at prepare: inputs and outputs of the node's sizes. */
typedef struct conv_trial {
    void *x, *w, *y, *bias, *res;
} conv_trial;

static void trial_free(conv_trial *t) {
    void *bufs[5] = {t->x, t->w, t->y, t->bias, t->res};
    for (int i = 0; i < 5; i++)
        if (bufs[i]) cudaFree(bufs[i]);
    memset(t, 0, sizeof *t);
}

static bool trial_alloc_one(void **p, size_t bytes) {
    if (cudaMalloc(p, bytes) != cudaSuccess) {
        *p = NULL;
        cudaGetLastError(); /* an allocation failure is not sticky: clear it */
        return false;
    }
    return cudaMemset(*p, 0, bytes) == cudaSuccess;
}

static bool trial_alloc(conv_trial *t, const conv_state *s, bool has_bias, bool has_res) {
    memset(t, 0, sizeof *t);
    size_t es = zn_dtype_size(s->dtype);
    const conv_params *p = &s->p;
    size_t xb = (size_t)p->N * p->C * s->Hp * s->Wp * es, wb = (size_t)p->M * p->cg * p->KH * p->KW * es;
    size_t yb = (size_t)p->N * p->M * p->OH * p->OW * es;
    bool ok = trial_alloc_one(&t->x, xb) && trial_alloc_one(&t->w, wb) && trial_alloc_one(&t->y, yb) &&
              (!has_bias || trial_alloc_one(&t->bias, (size_t)p->M * es)) && (!has_res || trial_alloc_one(&t->res, yb));
    if (!ok) trial_free(t);
    return ok;
}

/* Runs the chosen mode/algo once on the trial buffers: whether cuDNN accepts and runs it. */
static bool trial_run(cudnnHandle_t h, cudaStream_t stream, const conv_state *s, const conv_trial *t) {
    void *ws = NULL;
    if (s->ws_bytes && !trial_alloc_one(&ws, s->ws_bytes)) return false;
    cudnnStatus_t st = cudnn_conv_call(h, s, t->x, t->w, t->bias, t->res, t->y, ws);
    cudaError_t e = cudaStreamSynchronize(stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    else cudaGetLastError();
    if (ws) cudaFree(ws);
    return st == CUDNN_STATUS_SUCCESS && e == cudaSuccess;
}

/* The fused call without a residual passes alpha2 = 0 with z = y (y not yet written this run).
 * cuDNN does not document that z is then left unread; if it computed 0 * z, a NaN left in y's
 * arena slot by an earlier step would poison the output. Settled here on the device: y filled
 * with NaN bytes (0xFF is NaN in f32, f16 and bf16), the trial (x = w = bias = 0) must give
 * exactly +0 everywhere. */
static bool fused_ignores_z(cudnnHandle_t h, cudaStream_t stream, const conv_state *s, const conv_trial *t) {
    const conv_params *p = &s->p;
    size_t yb = (size_t)p->N * p->M * p->OH * p->OW * zn_dtype_size(s->dtype);
    if (cudaMemset(t->y, 0xFF, yb) != cudaSuccess || !trial_run(h, stream, s, t)) {
        cudaGetLastError();
        return false;
    }
    unsigned char *host = (unsigned char *)malloc(yb ? yb : 1);
    bool zero = host && cudaMemcpy(host, t->y, yb, cudaMemcpyDeviceToHost) == cudaSuccess;
    for (size_t i = 0; zero && i < yb; i++) zero = host[i] == 0;
    free(host);
    cudaGetLastError();
    cudaMemset(t->y, 0, yb);
    return zero;
}

static const char *conv_algo_name(cudnnConvolutionFwdAlgo_t a) {
    switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "implicit_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "implicit_precomp_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "direct";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "fft";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "fft_tiling";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "winograd";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "winograd_nonfused";
    default: return "?";
    }
}

/* FFT algorithms are left out: they plan cuFFT transforms inside cuDNN, which we do not trust
 * inside a CUDA graph capture, and they want large workspaces. */
static bool cudnn_algo_allowed(cudnnConvolutionFwdAlgo_t a) {
    return a != CUDNN_CONVOLUTION_FWD_ALGO_FFT && a != CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING;
}

/* Chooses a cuDNN algorithm and mode for s: heuristic candidates in order; for each, the fused
 * call when the node has an epilogue and cuDNN allows the fusion with that algorithm, else the
 * plain call; the first one that runs wins. NULL on success, else why no candidate ran (the
 * caller then uses the native kernel). */
static const char *cudnn_choose(const zn_kernel_node *n, conv_state *s, int act, bool has_bias, bool has_res) {
    zn_cuda_ctx *pctx = zn_device_prepare_ctx();
    if (!pctx || !pctx->cudnn) return "no CUDA device or cuDNN handle at prepare";
    cudnnHandle_t h = (cudnnHandle_t)pctx->cudnn;
    cudaStream_t stream = (cudaStream_t)pctx->stream;
    bool tf32 = (n->flags & ZN_KNODE_TF32) != 0;
    if (!cudnn_describe(s, act)) return "cuDNN refused the tensor/filter/convolution descriptors";
    cudnnMathType_t base = s->dtype != ZN_F32 ? CUDNN_TENSOR_OP_MATH : tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (cudnnSetConvolutionMathType(s->conv_desc, base) != CUDNN_STATUS_SUCCESS) return "cuDNN refused the math type";

    cudnnConvolutionFwdAlgoPerf_t perf[32];
    int max_count = 0, got = 0;
    if (cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count) != CUDNN_STATUS_SUCCESS || max_count < 1)
        return "cudnnGetConvolutionForwardAlgorithmMaxCount failed";
    if (max_count > 32) max_count = 32;
    if (cudnnGetConvolutionForwardAlgorithm_v7(h, s->x_desc, s->w_desc, s->conv_desc, s->y_desc, max_count, &got,
                                               perf) != CUDNN_STATUS_SUCCESS)
        return "cudnnGetConvolutionForwardAlgorithm_v7 failed";

    if (s->epilogue && !has_bias) {
        size_t bytes = (size_t)s->p.M * zn_dtype_size(s->dtype);
        if (zn_device_alloc(&s->zero_bias, bytes, "a zero conv bias") != ZN_OK ||
            zn_device_memset(s->zero_bias, 0, bytes) != ZN_OK) {
            zn_error_clear();
            zn_device_free(s->zero_bias);
            s->zero_bias = NULL;
        }
    }
    conv_trial trial;
    bool can_try = trial_alloc(&trial, s, has_bias, has_res);
    bool chosen = false;
    for (int i = 0; i < got && !chosen; i++) {
        int math = cudnn_math_for(s, tf32, perf[i].mathType);
        if (perf[i].status != CUDNN_STATUS_SUCCESS || math < 0 || !cudnn_algo_allowed(perf[i].algo)) continue;
        if (cudnnSetConvolutionMathType(s->conv_desc, (cudnnMathType_t)math) != CUDNN_STATUS_SUCCESS) continue;
        size_t ws = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, s->x_desc, s->w_desc, s->conv_desc, s->y_desc, perf[i].algo,
                                                    &ws) != CUDNN_STATUS_SUCCESS ||
            ws > CONV_MAX_WORKSPACE)
            continue;
        s->algo = perf[i].algo;
        s->ws_bytes = ws;
        if (!can_try) break; /* no memory to try it: the native kernel rather than an untried algorithm */
        bool fusable = s->epilogue && (has_bias || s->zero_bias) &&
                       (act == ACT_RELU || s->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
        if (fusable) {
            s->mode = CONV_CUDNN_FUSED;
            chosen = trial_run(h, stream, s, &trial) && (has_res || fused_ignores_z(h, stream, s, &trial));
        }
        if (!chosen) {
            s->mode = CONV_CUDNN_PLAIN;
            chosen = trial_run(h, stream, s, &trial);
        }
    }
    if (can_try) trial_free(&trial);
    if (chosen && s->mode != CONV_CUDNN_FUSED && s->zero_bias) {
        zn_device_free(s->zero_bias);
        s->zero_bias = NULL;
    }
    if (chosen)
        ZN_LOGD("cuda", "%s '%s': cuDNN %s (%s), workspace %zu bytes%s", zn_op_name(n->op), n->name ? n->name : "?",
                conv_algo_name(s->algo), s->mode == CONV_CUDNN_FUSED ? "fused bias/activation" : "plain",
                s->ws_bytes, s->pad_copy ? ", asymmetric pads copied" : "");
    return chosen ? NULL : "no heuristic candidate was accepted (status, workspace limit or trial run)";
}

static zn_status conv_prepare_impl(const zn_kernel_node *n, zn_kernel_prep *prep, bool use_cudnn) {
    zn_conv_geom g;
    int64_t group;
    if (!conv_node_geom(n, &g, &group))
        return zn_error_set(ZN_ERR_UNSUPPORTED, "%s '%s': attributes or shapes this kernel does not handle",
                            zn_op_name(n->op), n->name ? n->name : "?");
    conv_state *s = (conv_state *)calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory preparing %s", zn_op_name(n->op));
    const zn_view *x = &n->in[0], *w = &n->in[1], *y = &n->out[0];
    int act = conv_activation(n);
    bool has_bias = in_present(n, 2), has_res = in_present(n, 3);
    s->dtype = x->dtype;
    s->group = (int)group;
    conv_params *p = &s->p;
    p->N = (int)x->dims[0], p->C = (int)x->dims[1], p->H = (int)x->dims[2], p->W = (int)x->dims[3];
    p->M = (int)w->dims[0], p->OH = (int)y->dims[2], p->OW = (int)y->dims[3];
    p->KH = (int)g.k[1], p->KW = (int)g.k[2], p->sh = (int)g.s[1], p->sw = (int)g.s[2];
    p->dh = (int)g.d[1], p->dw = (int)g.d[2], p->ph = (int)g.pb[1], p->pw = (int)g.pb[2];
    p->cg = (int)(x->dims[1] / group), p->mg = (int)(w->dims[0] / group);
    p->relu = act == ACT_RELU;
    s->epilogue = has_bias || has_res || act == ACT_RELU;
    s->mode = native_mode(p, s->group);

    if (use_cudnn) {
        /* cuDNN pads both ends alike: copy the difference explicitly (at the top/left when the
         * begin pad is the larger, at the bottom/right otherwise). */
        int64_t pe_h = g.pe[1], pe_w = g.pe[2];
        s->top = p->ph > pe_h ? (int)(p->ph - pe_h) : 0;
        s->left = p->pw > pe_w ? (int)(p->pw - pe_w) : 0;
        s->Hp = p->H + (int)(p->ph > pe_h ? p->ph - pe_h : pe_h - p->ph);
        s->Wp = p->W + (int)(p->pw > pe_w ? p->pw - pe_w : pe_w - p->pw);
        s->pad_copy = s->Hp != p->H || s->Wp != p->W;
        s->pad_bytes = s->pad_copy ? align_up((size_t)p->N * p->C * s->Hp * s->Wp * zn_dtype_size(s->dtype),
                                              CONV_SCRATCH_ALIGN)
                                   : 0;
        const char *why = cudnn_choose(n, s, act, has_bias, has_res);
        if (!why) {
            size_t need = s->pad_bytes + s->ws_bytes;
            prep->scratch_bytes = need ? need + CONV_SCRATCH_ALIGN : 0; /* slack to align the base */
        } else {
            ZN_LOGW("cuda", "%s '%s': no cuDNN convolution (%s); using the native CUDA kernel", zn_op_name(n->op),
                    n->name ? n->name : "?", why);
            conv_free_cudnn(s);
            s->mode = native_mode(p, s->group);
        }
    }
    prep->state = s;
    return ZN_OK;
}

static zn_status conv_prepare_cudnn(const zn_kernel_node *n, zn_kernel_prep *prep) {
    return conv_prepare_impl(n, prep, true);
}

static zn_status conv_prepare_native(const zn_kernel_node *n, zn_kernel_prep *prep) {
    return conv_prepare_impl(n, prep, false);
}

/* ---- launchers ------------------------------------------------------------------------------ */

template <typename T>
static zn_status launch_conv_native(const zn_exec_ctx *ctx, const conv_state *s, const void *bias, const void *res) {
    const conv_params &p = s->p;
    cudaStream_t st = zn_stream(ctx);
    T *y = (T *)ctx->out[0].data;
    const T *x = (const T *)ctx->in[0].data, *w = (const T *)ctx->in[1].data;
    if (s->mode == CONV_NATIVE_IGEMM) {
        int64_t P = (int64_t)p.N * p.OH * p.OW;
        dim3 grid((unsigned)((P + IG_BN - 1) / IG_BN), (unsigned)(((int64_t)p.mg + IG_BM - 1) / IG_BM),
                  (unsigned)s->group);
        conv_igemm_kernel<T><<<grid, IG_THREADS, 0, st>>>(y, x, w, (const T *)bias, (const T *)res, p);
        return zn_cuda_launched("conv_igemm_kernel");
    }
    int64_t total = (int64_t)p.N * p.M * p.OH * p.OW;
    conv_direct_kernel<T><<<zn_grid_for(total, 256), 256, 0, st>>>(y, x, w, (const T *)bias, (const T *)res, p);
    return zn_cuda_launched("conv_direct_kernel");
}

template <typename T>
static zn_status launch_pad(const zn_exec_ctx *ctx, const conv_state *s, void *xp) {
    const conv_params &p = s->p;
    int64_t planes = (int64_t)p.N * p.C;
    pad_planes_kernel<T><<<zn_grid_for(planes * s->Hp * s->Wp, 256), 256, 0, zn_stream(ctx)>>>(
        (T *)xp, (const T *)ctx->in[0].data, planes, p.H, p.W, s->Hp, s->Wp, s->top, s->left);
    return zn_cuda_launched("pad_planes_kernel");
}

template <typename T>
static zn_status launch_bias_res_act(const zn_exec_ctx *ctx, const conv_state *s, const void *bias, const void *res) {
    const conv_params &p = s->p;
    int64_t S = (int64_t)p.OH * p.OW, total = (int64_t)p.N * p.M * S;
    bias_res_act_kernel<T><<<zn_grid_for(total, 256), 256, 0, zn_stream(ctx)>>>(
        (T *)ctx->out[0].data, (const T *)bias, (const T *)res, total, S, p.M, p.relu);
    return zn_cuda_launched("bias_res_act_kernel");
}

static zn_status conv_run_cudnn(const zn_exec_ctx *ctx, const conv_state *s, const void *bias, const void *res) {
    const void *x = ctx->in[0].data;
    char *scratch = NULL;
    if (s->pad_bytes + s->ws_bytes) {
        if (!ctx->scratch)
            return zn_error_set(ZN_ERR_RUNTIME, "%s needs %zu bytes of scratch and got none",
                                zn_op_name(ctx->node->op), s->pad_bytes + s->ws_bytes);
        scratch = (char *)align_up((size_t)(uintptr_t)ctx->scratch, CONV_SCRATCH_ALIGN);
    }
    if (s->pad_copy) {
        zn_status st = ZN_OK;
        ZN_DISPATCH_FLOAT(s->dtype, st = launch_pad<T>(ctx, s, scratch));
        if (st != ZN_OK) return st;
        x = scratch;
    }
    void *ws = s->ws_bytes ? scratch + s->pad_bytes : NULL;
    cudnnStatus_t cs = cudnn_conv_call((cudnnHandle_t)ctx->cuda->cudnn, s, x, ctx->in[1].data, bias, res,
                                       ctx->out[0].data, ws);
    if (cs != CUDNN_STATUS_SUCCESS)
        return zn_error_set(ZN_ERR_RUNTIME, "%s: %s (algorithm %s) failed: %s", zn_op_name(ctx->node->op),
                            s->mode == CONV_CUDNN_FUSED ? "cudnnConvolutionBiasActivationForward"
                                                        : "cudnnConvolutionForward",
                            conv_algo_name(s->algo), cudnnGetErrorString(cs));
    if (s->mode == CONV_CUDNN_PLAIN && s->epilogue) {
        zn_status st = ZN_OK;
        ZN_DISPATCH_FLOAT(s->dtype, st = launch_bias_res_act<T>(ctx, s, bias, res));
        return st;
    }
    return ZN_OK;
}

/* y: (N, M, OH, OW) = act(conv(x: (N, C, H, W), w: (M, C/group, KH, KW)) + bias: (M) + res: y's shape) */
static zn_status conv_run(const zn_exec_ctx *ctx) {
    const conv_state *s = (const conv_state *)ctx->state;
    if (!s || !ctx->cuda) return zn_error_set(ZN_ERR_RUNTIME, "%s run without its prepared state or CUDA context",
                                              zn_op_name(ctx->node->op));
    const void *bias = ctx->n_in > 2 && present(&ctx->in[2]) ? ctx->in[2].data : NULL;
    const void *res = ctx->n_in > 3 && present(&ctx->in[3]) ? ctx->in[3].data : NULL;
    if (s->mode == CONV_CUDNN_PLAIN || s->mode == CONV_CUDNN_FUSED) return conv_run_cudnn(ctx, s, bias, res);
    zn_status st = ZN_OK;
    ZN_DISPATCH_FLOAT(s->dtype, st = launch_conv_native<T>(ctx, s, bias, res));
    return st;
}

/* ---- pools ---------------------------------------------------------------------------------- */

static bool pool_supports(const zn_kernel_node *n) {
    zn_conv_geom g;
    if (n->n_in != 1 || n->n_out < 1 || n->n_out > 2) return false;
    if (n->n_out == 2 && present(&n->out[1])) return false; /* MaxPool's Indices */
    const zn_view *x = &n->in[0], *y = &n->out[0];
    if (!zn_is_float_dtype(x->dtype) || y->dtype != x->dtype) return false;
    if (zn_view_numel(x) <= 0 || zn_view_numel(y) <= 0) return false;
    if (!zn_conv_geom_init(&g, n, x, y, NULL)) return false;
    if (zn_attrs_int(n->attrs, n->n_attrs, "storage_order", 0) != 0) return false;
    return y->dims[0] == x->dims[0] && y->dims[1] == x->dims[1];
}

template <typename T>
static zn_status launch_pool(const zn_exec_ctx *ctx, const zn_conv_geom &g, bool is_max, bool count_pad) {
    int64_t planes = ctx->in[0].dims[0] * ctx->in[0].dims[1];
    unsigned grid = zn_grid_for(planes * g.out_sz, 256);
    T *y = (T *)ctx->out[0].data;
    const T *x = (const T *)ctx->in[0].data;
    if (is_max) pool_kernel<T, true><<<grid, 256, 0, zn_stream(ctx)>>>(y, x, g, planes, count_pad);
    else pool_kernel<T, false><<<grid, 256, 0, zn_stream(ctx)>>>(y, x, g, planes, count_pad);
    return zn_cuda_launched(is_max ? "pool_kernel<max>" : "pool_kernel<avg>");
}

/* y: (N, C, out...) = max / mean over the windows of x: (N, C, in...) */
static zn_status pool_run(const zn_exec_ctx *ctx) {
    zn_conv_geom g;
    if (!ctx->cuda) return zn_error_set(ZN_ERR_RUNTIME, "%s run without a CUDA context", zn_op_name(ctx->node->op));
    if (!zn_conv_geom_init(&g, ctx->node, &ctx->in[0], &ctx->out[0], NULL))
        return zn_error_set(ZN_ERR_RUNTIME, "%s: attributes do not fit the shapes", zn_op_name(ctx->node->op));
    bool is_max = ctx->node->op == ZN_OP_MAX_POOL;
    bool count_pad = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "count_include_pad", 0) != 0;
    zn_status st = ZN_OK;
    ZN_DISPATCH_FLOAT(ctx->in[0].dtype, st = launch_pool<T>(ctx, g, is_max, count_pad));
    return st;
}

static bool gap_supports(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1) return false;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    if (!zn_is_float_dtype(x->dtype) || y->dtype != x->dtype || x->rank < 3) return false;
    if (zn_view_numel(x) <= 0) return false;
    return zn_view_numel(y) == x->dims[0] * x->dims[1];
}

template <typename T>
static zn_status launch_gap(const zn_exec_ctx *ctx, int64_t planes, int64_t S) {
    global_avg_pool_kernel<T><<<zn_grid_for(planes * 32, 256), 256, 0, zn_stream(ctx)>>>(
        (T *)ctx->out[0].data, (const T *)ctx->in[0].data, planes, S);
    return zn_cuda_launched("global_avg_pool_kernel");
}

/* y: (N, C, 1...) = mean over the spatial dims of x: (N, C, spatial...) */
static zn_status gap_run(const zn_exec_ctx *ctx) {
    if (!ctx->cuda) return zn_error_set(ZN_ERR_RUNTIME, "GlobalAveragePool run without a CUDA context");
    const zn_view *x = &ctx->in[0];
    int64_t S = 1;
    for (int d = 2; d < x->rank; d++) S *= x->dims[d];
    zn_status st = ZN_OK;
    ZN_DISPATCH_FLOAT(x->dtype, st = launch_gap<T>(ctx, x->dims[0] * x->dims[1], S));
    return st;
}

/* ---- BatchNormalization --------------------------------------------------------------------- */

typedef struct bn_state {
    float *a, *b; /* device (C): folded constants; NULL when folded per run into scratch */
    float eps;
} bn_state;

static bool bn_params_constant(const zn_kernel_node *n) {
    for (int i = 1; i < 5; i++)
        if (!n->in[i].data) return false;
    return true;
}

static bool bn_supports(const zn_kernel_node *n) {
    if (n->n_in != 5 || n->n_out != 1) return false;
    if (zn_attrs_int(n->attrs, n->n_attrs, "training_mode", 0) != 0) return false;
    const zn_view *x = &n->in[0];
    if (!zn_is_float_dtype(x->dtype) || x->rank < 2 || n->out[0].dtype != x->dtype || !same_dims(x, &n->out[0]))
        return false;
    if (zn_view_numel(x) <= 0) return false;
    bool folded = bn_params_constant(n);
    for (int i = 1; i < 5; i++) {
        if (!zn_is_float_dtype(n->in[i].dtype) || zn_view_numel(&n->in[i]) != x->dims[1]) return false;
        if (!folded && n->in[i].dtype != x->dtype) return false; /* folded on the GPU with x's type */
    }
    return true;
}

static float host_param(const zn_view *v, int64_t i) {
    switch (v->dtype) {
    case ZN_F16: return zn_f16_to_f32(((const uint16_t *)v->data)[i]);
    case ZN_BF16: return zn_bf16_to_f32(((const uint16_t *)v->data)[i]);
    default: return ((const float *)v->data)[i];
    }
}

static void bn_release(void *state) {
    bn_state *s = (bn_state *)state;
    if (!s) return;
    zn_device_free(s->a);
    zn_device_free(s->b);
    free(s);
}

/* Folds constant scale/bias/mean/var into per-channel a, b on the host (in double, like the
 * reference) and uploads them; otherwise asks for 2*C floats of scratch to fold them per run. */
static zn_status bn_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    bn_state *s = (bn_state *)calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory preparing BatchNormalization");
    s->eps = zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 1e-5f);
    int64_t C = n->in[0].dims[1];
    if (!bn_params_constant(n)) {
        prep->scratch_bytes = (size_t)(2 * C) * sizeof(float);
        prep->state = s;
        return ZN_OK;
    }
    float *ha = (float *)malloc((size_t)C * sizeof(float)), *hb = (float *)malloc((size_t)C * sizeof(float));
    zn_status st = ZN_OK;
    if (!ha || !hb) st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory preparing BatchNormalization");
    for (int64_t c = 0; st == ZN_OK && c < C; c++) {
        double a = (double)host_param(&n->in[1], c) / sqrt((double)host_param(&n->in[4], c) + (double)s->eps);
        ha[c] = (float)a;
        hb[c] = (float)((double)host_param(&n->in[2], c) - (double)host_param(&n->in[3], c) * a);
    }
    size_t bytes = (size_t)C * sizeof(float);
    if (st == ZN_OK) st = zn_device_alloc((void **)&s->a, bytes, "BatchNormalization scale");
    if (st == ZN_OK) st = zn_device_alloc((void **)&s->b, bytes, "BatchNormalization shift");
    if (st == ZN_OK) st = zn_device_upload(s->a, ha, bytes);
    if (st == ZN_OK) st = zn_device_upload(s->b, hb, bytes);
    free(ha);
    free(hb);
    if (st != ZN_OK) {
        bn_release(s);
        return st;
    }
    prep->state = s;
    return ZN_OK;
}

template <typename T>
static zn_status launch_bn(const zn_exec_ctx *ctx, const bn_state *s) {
    const zn_view *x = &ctx->in[0];
    int64_t C = x->dims[1], S = 1;
    for (int d = 2; d < x->rank; d++) S *= x->dims[d];
    cudaStream_t st = zn_stream(ctx);
    const float *a = s->a, *b = s->b;
    if (!a) {
        if (!ctx->scratch) return zn_error_set(ZN_ERR_RUNTIME, "BatchNormalization needs scratch and got none");
        float *fa = (float *)ctx->scratch, *fb = fa + C;
        batchnorm_fold_kernel<T><<<zn_grid_for(C, 256), 256, 0, st>>>(
            fa, fb, (const T *)ctx->in[1].data, (const T *)ctx->in[2].data, (const T *)ctx->in[3].data,
            (const T *)ctx->in[4].data, C, s->eps);
        zn_status z = zn_cuda_launched("batchnorm_fold_kernel");
        if (z != ZN_OK) return z;
        a = fa, b = fb;
    }
    int64_t total = zn_view_numel(x);
    batchnorm_kernel<T><<<zn_grid_for(total, 256), 256, 0, st>>>((T *)ctx->out[0].data, (const T *)x->data, a, b,
                                                                 total, S, C);
    return zn_cuda_launched("batchnorm_kernel");
}

/* y: (N, C, ...) = x * a[c] + b[c], a = scale / sqrt(var + eps), b = bias - mean * a */
static zn_status bn_run(const zn_exec_ctx *ctx) {
    const bn_state *s = (const bn_state *)ctx->state;
    if (!s || !ctx->cuda) return zn_error_set(ZN_ERR_RUNTIME, "BatchNormalization run without its prepared state or CUDA context");
    zn_status st = ZN_OK;
    ZN_DISPATCH_FLOAT(ctx->in[0].dtype, st = launch_bn<T>(ctx, s));
    return st;
}

/* ---- table ---------------------------------------------------------------------------------- */

static const zn_kernel_spec specs[] = {
    {"cuda.conv_cudnn", ZN_OP_CONV, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, conv_supports, conv_prepare_cudnn,
     conv_release, conv_run},
    {"cuda.znconv_cudnn", ZN_OP_CONV_FUSED, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, conv_supports,
     conv_prepare_cudnn, conv_release, conv_run},
    {"cuda.conv_native", ZN_OP_CONV, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 1, 0, conv_supports, conv_prepare_native,
     conv_release, conv_run},
    {"cuda.znconv_native", ZN_OP_CONV_FUSED, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 1, 0, conv_supports,
     conv_prepare_native, conv_release, conv_run},
    {"cuda.maxpool", ZN_OP_MAX_POOL, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, pool_supports, NULL, NULL, pool_run},
    {"cuda.averagepool", ZN_OP_AVERAGE_POOL, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, pool_supports, NULL, NULL,
     pool_run},
    {"cuda.globalaveragepool", ZN_OP_GLOBAL_AVERAGE_POOL, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, 0, gap_supports,
     NULL, NULL, gap_run},
    {"cuda.batchnorm", ZN_OP_BATCH_NORM, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, ZN_KERNEL_INPLACE, bn_supports,
     bn_prepare, bn_release, bn_run},
};

ZN_KERNEL_TABLE(zn_cuda_conv_table, specs);
