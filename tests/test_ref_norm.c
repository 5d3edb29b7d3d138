/* test_ref_norm.c — the reference normalization and fused kernels (kernels/cpu/ref_norm.c) and
 * their shape inference (engine/infer_norm.c): LayerNormalization (any axis, Mean/InvStdDev
 * outputs), BatchNormalization, ZnAddLayerNorm, ZnAddRelu, ZnBiasRelu, ZnBiasGelu against
 * hand values and plain double implementations written here. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/threadpool.h"

#define T (&zn_ref_norm_table)

static const zn_kernel_spec *kern(zn_op op) {
    const zn_kernel_spec *k = tu_find_kernel(T, op);
    assert_non_null(k);
    return k;
}

static void assert_msg(const char *s) {
    const char *m = zn_last_error()->message;
    if (!strstr(m, s)) fail_msg("message \"%s\" lacks \"%s\"", m, s);
}

static zn_view none(void) { return tu_view(ZN_DTYPE_UNDEFINED, NULL, 0, NULL); }

/* infer all outputs, attach data[k], run */
static zn_status infer_run(zn_op op, const zn_attr *attrs, int na, const zn_view *in, int n_in,
                           zn_view *out, int n_out, void **data) {
    zn_kernel_node n = {op, "n", attrs, na, n_in, in, n_out, out, 0};
    memset(out, 0, sizeof *out * (size_t)n_out);
    zn_status st = zn_infer_norm(&n, out);
    if (st != ZN_OK) return st;
    for (int k = 0; k < n_out; k++) out[k].data = data[k];
    return tu_run_kernel(kern(op), attrs, na, in, n_in, out, n_out);
}

/* plain double layer norm of x viewed as (rows, D) */
static void ref_ln(const float *x, const float *g, int64_t gn, const float *b, int64_t bn,
                   int64_t rows, int64_t D, double eps, float *y, float *mean, float *inv) {
    for (int64_t r = 0; r < rows; r++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < D; i++) m += x[r * D + i];
        m /= (double)D;
        for (int64_t i = 0; i < D; i++) v += (x[r * D + i] - m) * (x[r * D + i] - m);
        v /= (double)D;
        double is = 1 / sqrt(v + eps);
        for (int64_t i = 0; i < D; i++)
            y[r * D + i] = (float)((x[r * D + i] - m) * is * g[gn == 1 ? 0 : i] + (b ? b[bn == 1 ? 0 : i] : 0));
        if (mean) mean[r] = (float)m;
        if (inv) inv[r] = (float)is;
    }
}

/* ---- LayerNormalization ---------------------------------------------------------------- */

static void test_layernorm_hand(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 2, 4, 6}, g[3] = {1, 2, 0.5f}, b[3] = {0, 1, -1}, y[6], m[2], is[2];
    int64_t d[2] = {2, 3}, d3[1] = {3};
    zn_view in[3] = {tu_view(ZN_F32, x, 2, d), tu_view(ZN_F32, g, 1, d3), tu_view(ZN_F32, b, 1, d3)};
    zn_view out[3];
    void *data[3] = {y, m, is};
    assert_int_equal(infer_run(ZN_OP_LAYER_NORM, NULL, 0, in, 3, out, 3, data), ZN_OK);
    tu_assert_close(y, ((float[]){-1.22473569f, 1, -0.387632157f, -1.22474258f, 1, -0.387628712f}), 6, 1e-6, 1e-5);
    tu_assert_close(m, ((float[]){2, 4}), 2, 1e-6, 0);
    tu_assert_close(is, ((float[]){1.22473569f, 0.612371288f}), 2, 1e-6, 1e-5);
    assert_true(out[1].rank == 2 && out[1].dims[0] == 2 && out[1].dims[1] == 1 && out[1].dtype == ZN_F32);
    /* without B and without the extra outputs */
    assert_int_equal(infer_run(ZN_OP_LAYER_NORM, NULL, 0, in, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){-1.22473569f, 0, 0.612367845f, -1.22474258f, 0, 0.612371288f}), 6, 1e-6, 1e-5);
    /* epsilon matters: a constant row gives 0 */
    float c[3] = {5, 5, 5};
    zn_view cin[2] = {tu_view(ZN_F32, c, 1, d3), in[1]};
    zn_attr eps = tu_attr_float("epsilon", 0.25f);
    assert_int_equal(infer_run(ZN_OP_LAYER_NORM, &eps, 1, cin, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){0, 0, 0}), 3, 0, 0);
}

static void test_layernorm_random_axes(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int64_t d[4] = {2, 3, 4, 5};
    float x[120], g[120], b[120], y[120], want[120], m[120], is[120], wm[120], wi[120];
    for (int axis = -4; axis < 4; axis++) {
        int a = axis < 0 ? axis + 4 : axis;
        int64_t rows = 1, D = 1;
        for (int k = 0; k < 4; k++) *(k < a ? &rows : &D) *= d[k];
        tu_fill(&r, x, 120, -3, 5);
        tu_fill(&r, g, D, 0.5f, 2);
        tu_fill(&r, b, D, -1, 1);
        bool scalar_g = axis == 2; /* also cover a one-value scale */
        int64_t gd[4];
        for (int k = a; k < 4; k++) gd[k - a] = d[k];
        zn_view in[3] = {tu_view(ZN_F32, x, 4, d),
                         scalar_g ? tu_view(ZN_F32, g, 1, (int64_t[]){1}) : tu_view(ZN_F32, g, 4 - a, gd),
                         tu_view(ZN_F32, b, 4 - a, gd)};
        zn_view out[3];
        void *data[3] = {y, m, is};
        zn_attr at = tu_attr_int("axis", axis);
        assert_int_equal(infer_run(ZN_OP_LAYER_NORM, &at, 1, in, 3, out, 3, data), ZN_OK);
        ref_ln(x, g, scalar_g ? 1 : D, b, D, rows, D, 1e-5, want, wm, wi);
        tu_assert_close(y, want, 120, 1e-5, 1e-5);
        tu_assert_close(m, wm, rows, 1e-6, 1e-5);
        tu_assert_close(is, wi, rows, 1e-6, 1e-5);
        /* Mean / InvStdDev shape: X's dims with those >= axis set to 1 */
        for (int k = 1; k < 3; k++) {
            assert_int_equal(out[k].rank, 4);
            for (int j = 0; j < 4; j++) assert_int_equal(out[k].dims[j], j >= a ? 1 : d[j]);
        }
        /* in place */
        assert_true(kern(ZN_OP_LAYER_NORM)->flags & ZN_KERNEL_INPLACE);
        data[0] = x;
        assert_int_equal(infer_run(ZN_OP_LAYER_NORM, &at, 1, in, 3, out, 1, data), ZN_OK);
        assert_memory_equal(x, y, sizeof y);
    }
    /* through a 2-thread pool */
    zn_threadpool *pool = zn_threadpool_new(2);
    int64_t dl[2] = {600, 96};
    float *px = malloc(600 * 96 * 4), *py = malloc(600 * 96 * 4), *pw = malloc(600 * 96 * 4);
    tu_fill(&r, px, 600 * 96, -2, 2);
    tu_fill(&r, g, 96, 0.5f, 2);
    ref_ln(px, g, 96, NULL, 0, 600, 96, 1e-5, pw, NULL, NULL);
    zn_view pin[2] = {tu_view(ZN_F32, px, 2, dl), tu_view(ZN_F32, g, 1, (int64_t[]){96})};
    zn_view pout = tu_view(ZN_F32, py, 2, dl);
    zn_kernel_node node = {ZN_OP_LAYER_NORM, "ln", NULL, 0, 2, pin, 1, &pout, 0};
    zn_exec_ctx ctx = {&node, 2, pin, 1, &pout, NULL, NULL, pool, NULL};
    assert_int_equal(kern(ZN_OP_LAYER_NORM)->run(&ctx), ZN_OK);
    tu_assert_close(py, pw, 600 * 96, 1e-5, 1e-5);
    free(px);
    free(py);
    free(pw);
    zn_threadpool_free(pool);
}

/* ---- BatchNormalization ---------------------------------------------------------------- */

static void test_batchnorm(void **state) {
    (void)state;
    float x[4] = {1, 3, 2, -2}, s[2] = {2, 1}, b[2] = {0.5f, 0}, m[2] = {1, 0}, v[2] = {4, 1}, y[4];
    int64_t d[3] = {1, 2, 2}, dc[1] = {2};
    zn_view in[5] = {tu_view(ZN_F32, x, 3, d), tu_view(ZN_F32, s, 1, dc), tu_view(ZN_F32, b, 1, dc),
                     tu_view(ZN_F32, m, 1, dc), tu_view(ZN_F32, v, 1, dc)};
    zn_view out[1];
    void *data[1] = {y};
    assert_int_equal(infer_run(ZN_OP_BATCH_NORM, NULL, 0, in, 5, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){0.5f, 2.4999975f, 1.99999f, -1.99999f}), 4, 1e-6, 1e-5);
    /* random (N, C, H, W) and (N, C) */
    tu_rng r = tu_rng_new(tu_seed() + 1);
    const int64_t shapes[2][4] = {{2, 3, 4, 5}, {7, 3, 0, 0}};
    const int ranks[2] = {4, 2};
    float xr[120], yr[120], want[120], sr[3], br[3], mr[3], vr[3];
    for (int t = 0; t < 2; t++) {
        zn_view xv = tu_view(ZN_F32, xr, ranks[t], shapes[t]);
        int64_t n = zn_view_numel(&xv), C = 3, S = n / (shapes[t][0] * C);
        tu_fill(&r, xr, n, -3, 3);
        tu_fill(&r, sr, 3, 0.5f, 2);
        tu_fill(&r, br, 3, -1, 1);
        tu_fill(&r, mr, 3, -1, 1);
        tu_fill(&r, vr, 3, 0.1f, 2);
        for (int64_t i = 0; i < n; i++) {
            int64_t c = (i / S) % C;
            want[i] = (float)(sr[c] * (xr[i] - mr[c]) / sqrt((double)vr[c] + 1e-3) + br[c]);
        }
        int64_t d3[1] = {3};
        zn_view rin[5] = {xv, tu_view(ZN_F32, sr, 1, d3), tu_view(ZN_F32, br, 1, d3),
                          tu_view(ZN_F32, mr, 1, d3), tu_view(ZN_F32, vr, 1, d3)};
        zn_attr eps = tu_attr_float("epsilon", 1e-3f);
        void *rd[1] = {yr};
        assert_int_equal(infer_run(ZN_OP_BATCH_NORM, &eps, 1, rin, 5, out, 1, rd), ZN_OK);
        tu_assert_close(yr, want, n, 1e-5, 1e-5);
    }
    /* training mode is refused */
    zn_attr train = tu_attr_int("training_mode", 1);
    assert_int_equal(infer_run(ZN_OP_BATCH_NORM, &train, 1, in, 5, out, 1, data), ZN_ERR_UNSUPPORTED);
}

/* ---- fused ------------------------------------------------------------------------------ */

static void test_add_layernorm(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 2);
    int64_t da[3] = {2, 3, 8};
    float a[48], b[48], g[24], be[24], y[48], s[48], want[48], ws[48];
    /* b: same shape, then a bias over the last dim; axis -1 and 1 */
    for (int t = 0; t < 4; t++) {
        bool bias = t & 1;
        int axis = t < 2 ? -1 : 1;
        int64_t D = axis == -1 ? 8 : 24, rows = 48 / D;
        tu_fill(&r, a, 48, -2, 2);
        tu_fill(&r, b, 48, -2, 2);
        tu_fill(&r, g, D, 0.5f, 1.5f);
        tu_fill(&r, be, D, -1, 1);
        for (int i = 0; i < 48; i++) ws[i] = a[i] + b[bias ? i % 8 : i];
        ref_ln(ws, g, D, be, D, rows, D, 1e-5, want, NULL, NULL);
        int64_t dg[2] = {3, 8};
        zn_view in[4] = {tu_view(ZN_F32, a, 3, da),
                         bias ? tu_view(ZN_F32, b, 1, (int64_t[]){8}) : tu_view(ZN_F32, b, 3, da),
                         axis == -1 ? tu_view(ZN_F32, g, 1, (int64_t[]){8}) : tu_view(ZN_F32, g, 2, dg),
                         axis == -1 ? tu_view(ZN_F32, be, 1, (int64_t[]){8}) : tu_view(ZN_F32, be, 2, dg)};
        zn_view out[2];
        void *data[2] = {y, s};
        zn_attr at = tu_attr_int("axis", axis);
        assert_int_equal(infer_run(ZN_OP_ADD_LAYER_NORM, &at, 1, in, 4, out, 2, data), ZN_OK);
        assert_true(out[0].rank == 3 && out[1].rank == 3 && out[1].dims[2] == 8);
        tu_assert_close(y, want, 48, 1e-5, 1e-5);
        tu_assert_close(s, ws, 48, 0, 0);
        /* without beta and without the sum output */
        ref_ln(ws, g, D, NULL, 0, rows, D, 1e-5, want, NULL, NULL);
        assert_int_equal(infer_run(ZN_OP_ADD_LAYER_NORM, &at, 1, in, 3, out, 1, data), ZN_OK);
        tu_assert_close(y, want, 48, 1e-5, 1e-5);
    }
}

static void test_add_relu(void **state) {
    (void)state;
    float a[6] = {1, -2, 3, -4, 5, -6}, b[3] = {1, 1, -4}, y[6];
    int64_t da[2] = {2, 3}, db[1] = {3};
    zn_view in[2] = {tu_view(ZN_F32, a, 2, da), tu_view(ZN_F32, b, 1, db)}, out[1];
    void *data[1] = {y};
    assert_int_equal(infer_run(ZN_OP_ADD_RELU, NULL, 0, in, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){2, 0, 0, 0, 6, 0}), 6, 0, 0);
    /* scalar, and broadcasting on both sides */
    float s = 0.5f, c[2] = {-1, 2}, y2[6];
    zn_view in2[2] = {tu_view(ZN_F32, &s, 0, NULL), in[0]};
    void *data2[1] = {y2};
    assert_int_equal(infer_run(ZN_OP_ADD_RELU, NULL, 0, in2, 2, out, 1, data2), ZN_OK);
    tu_assert_close(y2, ((float[]){1.5f, 0, 3.5f, 0, 5.5f, 0}), 6, 0, 0);
    int64_t dc[2] = {2, 1};
    zn_view in3[2] = {tu_view(ZN_F32, c, 2, dc), in[1]};
    assert_int_equal(infer_run(ZN_OP_ADD_RELU, NULL, 0, in3, 2, out, 1, data2), ZN_OK);
    assert_true(out[0].rank == 2 && out[0].dims[0] == 2 && out[0].dims[1] == 3);
    tu_assert_close(y2, ((float[]){0, 0, 0, 3, 3, 0}), 6, 0, 0);
    /* NaN passes through relu */
    a[0] = NAN;
    assert_int_equal(infer_run(ZN_OP_ADD_RELU, NULL, 0, in, 2, out, 1, data), ZN_OK);
    assert_true(isnan(y[0]));
}

static void test_bias_act(void **state) {
    (void)state;
    float x[4] = {-1, 2, 0.5f, -3}, b[2] = {0.5f, -1}, y[4];
    int64_t dx[2] = {2, 2}, db[1] = {2};
    zn_view in[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_F32, b, 1, db)}, out[1];
    void *data[1] = {y};
    assert_int_equal(infer_run(ZN_OP_BIAS_RELU, NULL, 0, in, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){0, 1, 1, 0}), 4, 0, 0);
    /* x + b = {-0.5, 1, 1, -4}: gelu(-0.5) = -0.154268769, gelu(1) = 0.841344746 */
    assert_int_equal(infer_run(ZN_OP_BIAS_GELU, NULL, 0, in, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){-0.154268769f, 0.841344746f, 0.841344746f, -0.000126684967f}), 4, 1e-6, 1e-5);
    zn_attr th = tu_attr_string("approximate", "tanh");
    assert_int_equal(infer_run(ZN_OP_BIAS_GELU, &th, 1, in, 2, out, 1, data), ZN_OK);
    tu_assert_close(y, ((float[]){-0.15428599f, 0.841191990f, 0.841191990f, -0.0000702459482f}), 4, 1e-6, 1e-4);
    /* random, in place, all three variants */
    tu_rng r = tu_rng_new(tu_seed() + 3);
    int64_t d[3] = {3, 7, 16};
    float xr[336], xc[336], br[16], want[336];
    for (int v = 0; v < 3; v++) {
        tu_fill(&r, xr, 336, -4, 4);
        tu_fill(&r, br, 16, -1, 1);
        memcpy(xc, xr, sizeof xr);
        for (int i = 0; i < 336; i++) {
            double s = (double)xr[i] + br[i % 16];
            want[i] = (float)(v == 0 ? (s < 0 ? 0 : s)
                              : v == 1 ? 0.5 * s * (1 + erf(s / sqrt(2.0)))
                                       : 0.5 * s * (1 + tanh(sqrt(2 / M_PI) * (s + 0.044715 * s * s * s))));
        }
        zn_attr mode = tu_attr_string("approximate", v == 2 ? "tanh" : "none");
        zn_view rin[2] = {tu_view(ZN_F32, xr, 3, d), tu_view(ZN_F32, br, 1, (int64_t[]){16})};
        void *rd[1] = {xr}; /* in place */
        zn_op op = v == 0 ? ZN_OP_BIAS_RELU : ZN_OP_BIAS_GELU;
        assert_true(kern(op)->flags & ZN_KERNEL_INPLACE);
        assert_int_equal(infer_run(op, &mode, 1, rin, 2, out, 1, rd), ZN_OK);
        tu_assert_close(xr, want, 336, 1e-6, 1e-5);
    }
    /* a bias that does not match the last dim is refused by the kernel */
    float b3[3] = {0};
    zn_view bad[2] = {in[0], tu_view(ZN_F32, b3, 1, (int64_t[]){3})};
    out[0] = tu_view(ZN_F32, y, 2, dx);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_BIAS_RELU), NULL, 0, bad, 2, out, 1), ZN_ERR_UNSUPPORTED);
    zn_attr bogus = tu_attr_string("approximate", "fast");
    assert_int_equal(tu_run_kernel(kern(ZN_OP_BIAS_GELU), &bogus, 1, in, 2, out, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- inference errors and the table ---------------------------------------------------- */

static void test_infer_norm_errors(void **state) {
    (void)state;
    zn_view out[3];
    int64_t d[3] = {2, 3, 4}, d5[1] = {5}, d3[1] = {3}, d4[1] = {4}, d12[2] = {3, 4};
    /* LayerNorm: scale size must match the normalized dims */
    zn_view ln[3] = {tu_view(ZN_F32, NULL, 3, d), tu_view(ZN_F32, NULL, 1, d5), none()};
    zn_kernel_node n = {ZN_OP_LAYER_NORM, "n", NULL, 0, 2, ln, 3, out, 0};
    assert_int_equal(zn_infer_norm(&n, out), ZN_ERR_SHAPE);
    assert_msg("[2,3,4]");
    assert_msg("[5]");
    assert_msg("Scale");
    /* axis 1: scale (3,4) is right */
    zn_attr ax = tu_attr_int("axis", 1);
    n.attrs = &ax;
    n.n_attrs = 1;
    ln[1] = tu_view(ZN_F32, NULL, 2, d12);
    assert_int_equal(zn_infer_norm(&n, out), ZN_OK);
    assert_true(out[2].rank == 3 && out[2].dims[0] == 2 && out[2].dims[1] == 1 && out[2].dims[2] == 1);
    ax.i = 3;
    assert_int_equal(zn_infer_norm(&n, out), ZN_ERR_SHAPE);
    assert_msg("axis 3");
    ax.i = -1;
    ln[1] = tu_view(ZN_F32, NULL, 1, d4);
    ln[2] = tu_view(ZN_F16, NULL, 1, d4);
    n.n_in = 3;
    assert_int_equal(zn_infer_norm(&n, out), ZN_ERR_SHAPE);
    assert_msg("f16");
    assert_msg("Cast");
    /* BatchNorm: per-channel params, X needs a channel dim */
    zn_view bn[5] = {tu_view(ZN_F32, NULL, 3, d), tu_view(ZN_F32, NULL, 1, d3), tu_view(ZN_F32, NULL, 1, d3),
                     tu_view(ZN_F32, NULL, 1, d4), tu_view(ZN_F32, NULL, 1, d3)};
    zn_kernel_node nb = {ZN_OP_BATCH_NORM, "bn", NULL, 0, 5, bn, 1, out, 0};
    assert_int_equal(zn_infer_norm(&nb, out), ZN_ERR_SHAPE);
    assert_msg("input_mean");
    assert_msg("[4]");
    bn[3] = bn[1];
    assert_int_equal(zn_infer_norm(&nb, out), ZN_OK);
    assert_true(out[0].rank == 3 && out[0].dims[1] == 3);
    bn[0] = tu_view(ZN_F32, NULL, 1, d3);
    assert_int_equal(zn_infer_norm(&nb, out), ZN_ERR_SHAPE);
    assert_msg("[3]");
    /* fused: broadcast errors name both shapes; bias must match the last dim */
    zn_view ab[3] = {tu_view(ZN_F32, NULL, 3, d), tu_view(ZN_F32, NULL, 1, d3), tu_view(ZN_F32, NULL, 1, d4)};
    zn_kernel_node nf = {ZN_OP_ADD_RELU, "f", NULL, 0, 2, ab, 1, out, 0};
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_SHAPE);
    assert_msg("[2,3,4]");
    assert_msg("[3]");
    nf.op = ZN_OP_ADD_LAYER_NORM;
    nf.n_in = 3;
    nf.n_out = 2;
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_SHAPE);
    ab[1] = tu_view(ZN_F32, NULL, 1, d4);
    assert_int_equal(zn_infer_norm(&nf, out), ZN_OK);
    assert_true(out[1].rank == 3 && out[1].dims[2] == 4);
    ab[2] = tu_view(ZN_F32, NULL, 1, d3);
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_SHAPE);
    assert_msg("gamma");
    nf.op = ZN_OP_BIAS_GELU;
    nf.n_in = 2;
    nf.n_out = 1;
    ab[1] = tu_view(ZN_F32, NULL, 1, d3);
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_SHAPE);
    assert_msg("bias");
    assert_msg("[3]");
    ab[1] = tu_view(ZN_F32, NULL, 1, d4);
    assert_int_equal(zn_infer_norm(&nf, out), ZN_OK);
    ab[1].dtype = ZN_I64;
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_SHAPE);
    assert_msg("i64");
    /* wrong group */
    nf.op = ZN_OP_SOFTMAX;
    assert_int_equal(zn_infer_norm(&nf, out), ZN_ERR_UNSUPPORTED);
}

static void test_table(void **state) {
    (void)state;
    const zn_op ops[] = {ZN_OP_LAYER_NORM, ZN_OP_BATCH_NORM, ZN_OP_ADD_LAYER_NORM,
                         ZN_OP_ADD_RELU, ZN_OP_BIAS_RELU, ZN_OP_BIAS_GELU};
    const char *names[] = {"ref.layernormalization", "ref.batchnormalization", "ref.znaddlayernorm",
                           "ref.znaddrelu", "ref.znbiasrelu", "ref.znbiasgelu"};
    assert_int_equal(T->count, 6);
    for (int i = 0; i < 6; i++) {
        const zn_kernel_spec *k = kern(ops[i]);
        assert_string_equal(k->name, names[i]);
        assert_int_equal(k->backend, ZN_BACKEND_CPU);
        assert_int_equal(k->priority, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_hand),
        cmocka_unit_test(test_layernorm_random_axes),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_add_layernorm),
        cmocka_unit_test(test_add_relu),
        cmocka_unit_test(test_bias_act),
        cmocka_unit_test(test_infer_norm_errors),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
