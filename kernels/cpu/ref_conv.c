/* ref_conv.c — reference CPU kernels for Conv, MaxPool, AveragePool and GlobalAveragePool.
 *
 * fp32, NCHW (N, C, spatial...) with 1 to 3 spatial dims; 1-D and 2-D are run as 3-D with unit
 * leading spatial dims. Conv is im2col into the per-session scratch plus zn_ref_sgemm per group
 * (a 1x1, stride 1, unpadded conv skips im2col). The pools are direct loops over the window,
 * parallel over (N, C) planes. Output dims come from shape inference (infer_conv.c); the
 * kernels only re-derive the pads that auto_pad implies. Not here: MaxPool's Indices output,
 * integer pooling, NHWC layouts, Winograd or any other fast convolution.
 */
#include <math.h>
#include <string.h>

#include "../../engine/error.h"
#include "../kernel.h"
#include "conv_geom.h"
#include "cpu_tables.h"
#include "ref_gemm.h"
#include "threadpool.h"

/* ---- Conv --------------------------------------------------------------------------------- */

static bool conv_supports(const zn_kernel_node *n) {
    zn_conv_geom g;
    int64_t group;
    if (!zn_f32_views(n->in, n->n_in) || !zn_f32_views(n->out, n->n_out) || !zn_conv_node_geom(n, &g, &group))
        return false;
    if (n->n_in == 3 && n->in[2].dtype != ZN_DTYPE_UNDEFINED &&
        (n->in[2].rank != 1 || n->in[2].dims[0] != n->in[1].dims[0]))
        return false;
    return true;
}

static zn_status conv_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    zn_conv_geom g;
    int64_t group;
    if (!zn_conv_node_geom(n, &g, &group))
        return zn_error_set(ZN_ERR_UNSUPPORTED, "Conv: attributes do not fit the shapes");
    int64_t cg = n->in[0].dims[1] / group;
    prep->scratch_bytes = zn_conv_pointwise(&g) ? 0 : (size_t)(cg * g.k_sz * g.out_sz) * sizeof(float);
    return ZN_OK;
}

typedef struct im2col_job {
    const zn_conv_geom *g;
    const float *x; /* (Cg, in...) */
    float *col;     /* (Cg * k_sz, out_sz) */
} im2col_job;

static void im2col_rows(void *arg, int64_t begin, int64_t end) {
    const im2col_job *j = arg;
    const zn_conv_geom *g = j->g;
    for (int64_t r = begin; r < end; r++) {
        int64_t c = r / g->k_sz, rem = r % g->k_sz;
        int64_t kd = rem / (g->k[1] * g->k[2]);
        int64_t kh = rem / g->k[2] % g->k[1];
        int64_t kw = rem % g->k[2];
        const float *src = j->x + c * g->in_sz;
        float *dst = j->col + r * g->out_sz;
        for (int64_t od = 0; od < g->out[0]; od++) {
            int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                float *drow = dst + (od * g->out[1] + oh) * g->out[2];
                if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) {
                    memset(drow, 0, sizeof(float) * (size_t)g->out[2]);
                    continue;
                }
                const float *srow = src + (id * g->in[1] + ih) * g->in[2];
                for (int64_t ow = 0; ow < g->out[2]; ow++) {
                    int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                    drow[ow] = (iw >= 0 && iw < g->in[2]) ? srow[iw] : 0.0f;
                }
            }
        }
    }
}

/* y: (N, M, out...) = conv(x: (N, C, in...), w: (M, C/group, k...)) + b: (M) */
static zn_status conv_run(const zn_exec_ctx *ctx) {
    zn_conv_geom g;
    int64_t group;
    if (!zn_conv_node_geom(ctx->node, &g, &group))
        return zn_error_set(ZN_ERR_RUNTIME, "Conv: attributes do not fit the shapes");
    const zn_view *X = &ctx->in[0], *W = &ctx->in[1];
    const float *x = X->data, *w = W->data;
    const float *bias = ctx->n_in == 3 && ctx->in[2].dtype != ZN_DTYPE_UNDEFINED ? ctx->in[2].data : NULL;
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
            float *yg = y + (n * M + gi * mg) * g.out_sz;
            zn_ref_sgemm(ctx->pool, false, false, mg, g.out_sz, kk, 1.0f, w + gi * mg * kk, kk,
                         b, g.out_sz, 0.0f, yg, g.out_sz);
        }
        if (bias)
            for (int64_t m = 0; m < M; m++) {
                float *row = y + (n * M + m) * g.out_sz;
                for (int64_t i = 0; i < g.out_sz; i++) row[i] += bias[m];
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

static void pool_planes(void *arg, int64_t begin, int64_t end) {
    const pool_job *j = arg;
    const zn_conv_geom *g = &j->g;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * g->in_sz;
        float *y = j->y + p * g->out_sz;
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++)
                for (int64_t ow = 0; ow < g->out[2]; ow++) {
                    int64_t o[3] = {od, oh, ow};
                    float mx = -INFINITY;
                    double sum = 0;
                    int64_t cnt = 0, cnt_pad = 0;
                    for (int64_t a = 0; a < g->k[0]; a++) {
                        int64_t i0 = o[0] * g->s[0] - g->pb[0] + a * g->d[0];
                        if (i0 < -g->pb[0] || i0 >= g->in[0] + g->pe[0]) continue;
                        for (int64_t b = 0; b < g->k[1]; b++) {
                            int64_t i1 = o[1] * g->s[1] - g->pb[1] + b * g->d[1];
                            if (i1 < -g->pb[1] || i1 >= g->in[1] + g->pe[1]) continue;
                            for (int64_t c = 0; c < g->k[2]; c++) {
                                int64_t i2 = o[2] * g->s[2] - g->pb[2] + c * g->d[2];
                                if (i2 < -g->pb[2] || i2 >= g->in[2] + g->pe[2]) continue;
                                cnt_pad++;
                                if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] ||
                                    i2 < 0 || i2 >= g->in[2])
                                    continue;
                                float v = x[(i0 * g->in[1] + i1) * g->in[2] + i2];
                                if (v > mx || isnan(v)) mx = isnan(mx) ? mx : v;
                                sum += v;
                                cnt++;
                            }
                        }
                    }
                    float r;
                    if (j->is_max) r = mx;
                    else {
                        int64_t div = j->count_pad ? cnt_pad : cnt;
                        r = div ? (float)(sum / (double)div) : 0.0f;
                    }
                    y[(od * g->out[1] + oh) * g->out[2] + ow] = r;
                }
    }
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
    zn_parallel_for(ctx->pool, planes, work >= 8192 ? 1 : 8192 / (work ? work : 1), pool_planes, &j);
    return ZN_OK;
}

/* ---- GlobalAveragePool -------------------------------------------------------------------- */

typedef struct gap_job {
    const float *x;
    float *y;
    int64_t sz;
} gap_job;

static void gap_planes(void *arg, int64_t begin, int64_t end) {
    const gap_job *j = arg;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * j->sz;
        double s = 0;
        for (int64_t i = 0; i < j->sz; i++) s += x[i];
        j->y[p] = j->sz ? (float)(s / (double)j->sz) : 0.0f;
    }
}

static bool gap_supports(const zn_kernel_node *n) {
    return n->n_in == 1 && n->n_out == 1 && n->in[0].dtype == ZN_F32 &&
           n->out[0].dtype == ZN_F32 && n->in[0].rank >= 3;
}

/* y: (N, C, 1...) = mean over the spatial dims of x: (N, C, spatial...) */
static zn_status gap_run(const zn_exec_ctx *ctx) {
    const zn_view *X = &ctx->in[0];
    gap_job j = {X->data, ctx->out[0].data, 1};
    for (int i = 2; i < X->rank; i++) j.sz *= X->dims[i];
    int64_t planes = X->dims[0] * X->dims[1];
    zn_parallel_for(ctx->pool, planes, j.sz >= 4096 ? 1 : 4096 / (j.sz ? j.sz : 1), gap_planes, &j);
    return ZN_OK;
}

static const zn_kernel_spec specs[] = {
    {"ref.conv", ZN_OP_CONV, ZN_BACKEND_CPU, ZN_F32, 0, 0, conv_supports, conv_prepare, NULL, conv_run},
    {"ref.maxpool", ZN_OP_MAX_POOL, ZN_BACKEND_CPU, ZN_F32, 0, 0, pool_supports, NULL, NULL, pool_run},
    {"ref.averagepool", ZN_OP_AVERAGE_POOL, ZN_BACKEND_CPU, ZN_F32, 0, 0, pool_supports, NULL, NULL, pool_run},
    {"ref.globalaveragepool", ZN_OP_GLOBAL_AVERAGE_POOL, ZN_BACKEND_CPU, ZN_F32, 0, 0, gap_supports, NULL, NULL, gap_run},
};

ZN_KERNEL_TABLE(zn_ref_conv_table, specs);
