/* test_ref_elementwise.c — the reference element-wise kernels (kernels/cpu/ref_elementwise.c),
 * the broadcasting helper (kernels/cpu/broadcast.c) and element-wise shape inference
 * (engine/infer_elementwise.c): hand-computed values, random inputs against plain double
 * implementations written here, broadcasting, in-place aliasing, Cast rounding, NaN, errors. */
#include "tests/test_util.h"

#include <ctype.h>

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/broadcast.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/threadpool.h"

#define T (&zn_ref_elementwise_table)

static const zn_kernel_spec *kern(zn_op op) {
    const zn_kernel_spec *k = tu_find_kernel(T, op);
    assert_non_null(k);
    return k;
}

static zn_view v1(zn_dtype dt, void *data, int64_t n) { return tu_view(dt, data, 1, &n); }

/* y = op(x) on n f32 values */
static zn_status unary(zn_op op, const zn_attr *attrs, int na, const float *x, float *y, int64_t n) {
    zn_view in = v1(ZN_F32, (void *)x, n), out = v1(ZN_F32, y, n);
    return tu_run_kernel(kern(op), attrs, na, &in, 1, &out, 1);
}

/* ---- a plain double-precision reference ------------------------------------------------- */

static double d_sig(double x) { return 1.0 / (1.0 + exp(-x)); }
static double d_relu(double x) { return x < 0 ? 0 : x; }
static double d_leaky(double x) { return x < 0 ? 0.01 * x : x; }
static double d_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double d_gelu_t(double x) { return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
static double d_silu(double x) { return x * d_sig(x); }
static double d_hsig(double x) { double v = 0.2 * x + 0.5; return v < 0 ? 0 : v > 1 ? 1 : v; }
static double d_hswish(double x) { double v = x / 6 + 0.5; return x * (v < 0 ? 0 : v > 1 ? 1 : v); }
static double d_softplus(double x) { return log(1 + exp(x)); }
static double d_neg(double x) { return -x; }
static double d_recip(double x) { return 1 / x; }

typedef struct unary_case {
    zn_op op;
    double (*ref)(double);
    float lo, hi;
    const char *gelu_mode; /* for Gelu */
} unary_case;

static const unary_case unary_cases[] = {
    {ZN_OP_RELU, d_relu, -5, 5, NULL},       {ZN_OP_LEAKY_RELU, d_leaky, -5, 5, NULL},
    {ZN_OP_SIGMOID, d_sig, -12, 12, NULL},   {ZN_OP_TANH, tanh, -6, 6, NULL},
    {ZN_OP_GELU, d_gelu, -6, 6, NULL},       {ZN_OP_GELU, d_gelu_t, -6, 6, "tanh"},
    {ZN_OP_ERF, erf, -4, 4, NULL},           {ZN_OP_SILU, d_silu, -10, 10, NULL},
    {ZN_OP_HARD_SIGMOID, d_hsig, -5, 5, NULL}, {ZN_OP_HARD_SWISH, d_hswish, -5, 5, NULL},
    {ZN_OP_SOFTPLUS, d_softplus, -20, 20, NULL}, {ZN_OP_SQRT, sqrt, 0, 100, NULL},
    {ZN_OP_NEG, d_neg, -5, 5, NULL},         {ZN_OP_EXP, exp, -20, 20, NULL},
    {ZN_OP_LOG, log, 0.001f, 100, NULL},     {ZN_OP_ABS, fabs, -5, 5, NULL},
    {ZN_OP_RECIPROCAL, d_recip, 0.1f, 10, NULL}, {ZN_OP_FLOOR, floor, -5, 5, NULL},
    {ZN_OP_CEIL, ceil, -5, 5, NULL},
};

/* ---- unary ------------------------------------------------------------------------------- */

static void check_unary_hand(zn_op op, const zn_attr *attrs, int na, const float *x, const float *want) {
    float y[5];
    assert_int_equal(unary(op, attrs, na, x, y, 5), ZN_OK);
    tu_assert_close(y, want, 5, 1e-6, 1e-5);
}

static void test_unary_hand(void **state) {
    (void)state;
    const float x[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
    const float p[5] = {0.5f, 1.0f, 2.0f, 4.0f, 10.0f};
    zn_attr tanh_mode = tu_attr_string("approximate", "tanh");
    zn_attr alpha = tu_attr_float("alpha", 0.5f);
    check_unary_hand(ZN_OP_RELU, NULL, 0, x, (float[]){0, 0, 0, 0.5f, 2});
    check_unary_hand(ZN_OP_LEAKY_RELU, NULL, 0, x, (float[]){-0.02f, -0.005f, 0, 0.5f, 2});
    check_unary_hand(ZN_OP_LEAKY_RELU, &alpha, 1, x, (float[]){-1.0f, -0.25f, 0, 0.5f, 2});
    check_unary_hand(ZN_OP_SIGMOID, NULL, 0, x, (float[]){0.119202922f, 0.377540669f, 0.5f, 0.622459331f, 0.880797078f});
    check_unary_hand(ZN_OP_TANH, NULL, 0, x, (float[]){-0.96402758f, -0.462117157f, 0, 0.462117157f, 0.96402758f});
    check_unary_hand(ZN_OP_GELU, NULL, 0, x, (float[]){-0.0455002639f, -0.154268769f, 0, 0.345731231f, 1.95449974f});
    check_unary_hand(ZN_OP_GELU, &tanh_mode, 1, x, (float[]){-0.0454023059f, -0.15428599f, 0, 0.34571401f, 1.95459769f});
    check_unary_hand(ZN_OP_ERF, NULL, 0, x, (float[]){-0.995322265f, -0.520499878f, 0, 0.520499878f, 0.995322265f});
    check_unary_hand(ZN_OP_SILU, NULL, 0, x, (float[]){-0.238405844f, -0.188770334f, 0, 0.311229666f, 1.76159416f});
    check_unary_hand(ZN_OP_HARD_SIGMOID, NULL, 0, x, (float[]){0.1f, 0.4f, 0.5f, 0.6f, 0.9f});
    check_unary_hand(ZN_OP_HARD_SWISH, NULL, 0, x, (float[]){-0.333333333f, -0.208333333f, 0, 0.291666667f, 1.66666667f});
    check_unary_hand(ZN_OP_SOFTPLUS, NULL, 0, x, (float[]){0.126928011f, 0.474076984f, 0.693147181f, 0.974076984f, 2.12692801f});
    check_unary_hand(ZN_OP_EXP, NULL, 0, x, (float[]){0.135335283f, 0.60653066f, 1, 1.64872127f, 7.3890561f});
    check_unary_hand(ZN_OP_NEG, NULL, 0, x, (float[]){2, 0.5f, 0, -0.5f, -2});
    check_unary_hand(ZN_OP_ABS, NULL, 0, x, (float[]){2, 0.5f, 0, 0.5f, 2});
    check_unary_hand(ZN_OP_FLOOR, NULL, 0, x, (float[]){-2, -1, 0, 0, 2});
    check_unary_hand(ZN_OP_CEIL, NULL, 0, x, (float[]){-2, -0.0f, 0, 1, 2});
    check_unary_hand(ZN_OP_SQRT, NULL, 0, p, (float[]){0.707106781f, 1, 1.41421356f, 2, 3.16227766f});
    check_unary_hand(ZN_OP_LOG, NULL, 0, p, (float[]){-0.693147181f, 0, 0.693147181f, 1.38629436f, 2.30258509f});
    check_unary_hand(ZN_OP_RECIPROCAL, NULL, 0, p, (float[]){2, 1, 0.5f, 0.25f, 0.1f});
    /* HardSigmoid with its own alpha/beta */
    zn_attr ab[2] = {tu_attr_float("alpha", 1.0f), tu_attr_float("beta", 0.0f)};
    check_unary_hand(ZN_OP_HARD_SIGMOID, ab, 2, x, (float[]){0, 0, 0, 0.5f, 1});
}

static void test_unary_random_and_inplace(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    for (size_t c = 0; c < sizeof unary_cases / sizeof unary_cases[0]; c++) {
        const unary_case *uc = &unary_cases[c];
        int64_t n = 1 + (int64_t)(tu_next(&r) % 3000);
        float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
        float *want = malloc((size_t)n * sizeof(float));
        tu_fill(&r, x, n, uc->lo, uc->hi);
        for (int64_t i = 0; i < n; i++) want[i] = (float)uc->ref(x[i]);
        zn_attr a = tu_attr_string("approximate", uc->gelu_mode ? uc->gelu_mode : "none");
        assert_int_equal(unary(uc->op, &a, 1, x, y, n), ZN_OK);
        tu_assert_close(y, want, n, 2e-6, 2e-5);
        /* in place: out[0].data == in[0].data gives the same bits */
        assert_true(kern(uc->op)->flags & ZN_KERNEL_INPLACE);
        assert_int_equal(unary(uc->op, &a, 1, x, x, n), ZN_OK);
        assert_memory_equal(x, y, (size_t)n * sizeof(float));
        free(x);
        free(y);
        free(want);
    }
}

static void test_unary_int(void **state) {
    (void)state;
    int64_t x64[5] = {-3, -1, 0, 2, INT64_MIN}, y64[5];
    int32_t x32[5] = {-3, -1, 0, 2, 7}, y32[5];
    zn_view in64 = v1(ZN_I64, x64, 5), out64 = v1(ZN_I64, y64, 5);
    zn_view in32 = v1(ZN_I32, x32, 5), out32 = v1(ZN_I32, y32, 5);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_RELU), NULL, 0, &in64, 1, &out64, 1), ZN_OK);
    int64_t relu64[5] = {0, 0, 0, 2, 0};
    assert_memory_equal(y64, relu64, sizeof relu64);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_NEG), NULL, 0, &in64, 1, &out64, 1), ZN_OK);
    int64_t neg64[5] = {3, 1, 0, -2, INT64_MIN}; /* wraps, no trap */
    assert_memory_equal(y64, neg64, sizeof neg64);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_ABS), NULL, 0, &in32, 1, &out32, 1), ZN_OK);
    int32_t abs32[5] = {3, 1, 0, 2, 7};
    assert_memory_equal(y32, abs32, sizeof abs32);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_RELU), NULL, 0, &in32, 1, &in32, 1), ZN_OK); /* in place */
    int32_t relu32[5] = {0, 0, 0, 2, 7};
    assert_memory_equal(x32, relu32, sizeof relu32);
    /* float-only ops refuse integers */
    assert_int_equal(tu_run_kernel(kern(ZN_OP_SQRT), NULL, 0, &in64, 1, &out64, 1), ZN_ERR_UNSUPPORTED);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_EXP), NULL, 0, &in32, 1, &out32, 1), ZN_ERR_UNSUPPORTED);
}

static void test_nan_propagation(void **state) {
    (void)state;
    const zn_op ops[] = {ZN_OP_RELU, ZN_OP_LEAKY_RELU, ZN_OP_SIGMOID, ZN_OP_TANH, ZN_OP_GELU,
                         ZN_OP_ERF, ZN_OP_SILU, ZN_OP_HARD_SIGMOID, ZN_OP_HARD_SWISH,
                         ZN_OP_SOFTPLUS, ZN_OP_SQRT, ZN_OP_NEG, ZN_OP_EXP, ZN_OP_LOG, ZN_OP_ABS,
                         ZN_OP_RECIPROCAL, ZN_OP_FLOOR, ZN_OP_CEIL, ZN_OP_CLIP};
    float x[2] = {NAN, 1.0f}, y[2];
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        assert_int_equal(unary(ops[i], NULL, 0, x, y, 2), ZN_OK);
        assert_true(isnan(y[0]));
        assert_false(isnan(y[1]));
    }
    /* binary arithmetic and Min/Max propagate NaN from either side */
    const zn_op bops[] = {ZN_OP_ADD, ZN_OP_SUB, ZN_OP_MUL, ZN_OP_DIV, ZN_OP_POW, ZN_OP_MIN, ZN_OP_MAX};
    float a[3] = {NAN, 2.0f, 2.0f}, b[3] = {1.0f, NAN, 3.0f}, o[3]; /* pow(1, NaN) is 1 */
    for (size_t i = 0; i < sizeof bops / sizeof bops[0]; i++) {
        zn_view in[2] = {v1(ZN_F32, a, 3), v1(ZN_F32, b, 3)}, out = v1(ZN_F32, o, 3);
        assert_int_equal(tu_run_kernel(kern(bops[i]), NULL, 0, in, 2, &out, 1), ZN_OK);
        assert_true(isnan(o[0]));
        assert_true(isnan(o[1]));
        assert_false(isnan(o[2]));
    }
    /* comparisons with NaN are false (Equal too) */
    uint8_t c[3];
    zn_view in[2] = {v1(ZN_F32, a, 3), v1(ZN_F32, a, 3)}, out = v1(ZN_BOOL, c, 3);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_EQUAL), NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_int_equal(c[0], 0);
    assert_int_equal(c[1], 1);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_LESS), NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_int_equal(c[0], 0);
}

/* ---- Clip -------------------------------------------------------------------------------- */

static void test_clip(void **state) {
    (void)state;
    float x[5] = {-3, -1, 0, 1, 3}, y[5];
    float lo = -1.5f, hi = 2.0f;
    zn_view out = v1(ZN_F32, y, 5);
    /* opset >= 11: min and max as scalar inputs */
    zn_view in[3] = {v1(ZN_F32, x, 5), tu_view(ZN_F32, &lo, 0, NULL), tu_view(ZN_F32, &hi, 0, NULL)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), NULL, 0, in, 3, &out, 1), ZN_OK);
    tu_assert_close(y, ((float[]){-1.5f, -1, 0, 1, 2}), 5, 0, 0);
    /* only max given: min input omitted */
    zn_view in_max[3] = {in[0], tu_view(ZN_DTYPE_UNDEFINED, NULL, 0, NULL), in[2]};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), NULL, 0, in_max, 3, &out, 1), ZN_OK);
    tu_assert_close(y, ((float[]){-3, -1, 0, 1, 2}), 5, 0, 0);
    /* only min given */
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), NULL, 0, in, 2, &out, 1), ZN_OK);
    tu_assert_close(y, ((float[]){-1.5f, -1, 0, 1, 3}), 5, 0, 0);
    /* older opsets: attributes */
    zn_attr at[2] = {tu_attr_float("min", 0.0f), tu_attr_float("max", 0.5f)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), at, 2, in, 1, &out, 1), ZN_OK);
    tu_assert_close(y, ((float[]){0, 0, 0, 0.5f, 0.5f}), 5, 0, 0);
    /* neither: unbounded */
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), NULL, 0, in, 1, &out, 1), ZN_OK);
    tu_assert_close(y, x, 5, 0, 0);
    /* a non-scalar bound is refused */
    float two[2] = {0, 1};
    zn_view bad[2] = {in[0], v1(ZN_F32, two, 2)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CLIP), NULL, 0, bad, 2, &out, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- binary ------------------------------------------------------------------------------ */

static void test_binary_hand(void **state) {
    (void)state;
    float a[4] = {1, -2, 3, 4}, b[4] = {2, 2, -4, 0.5f}, o[4];
    zn_view in[2] = {v1(ZN_F32, a, 4), v1(ZN_F32, b, 4)}, out = v1(ZN_F32, o, 4);
    struct { zn_op op; float want[4]; } cases[] = {
        {ZN_OP_ADD, {3, 0, -1, 4.5f}},
        {ZN_OP_SUB, {-1, -4, 7, 3.5f}},
        {ZN_OP_MUL, {2, -4, -12, 2}},
        {ZN_OP_DIV, {0.5f, -1, -0.75f, 8}},
        {ZN_OP_POW, {1, 4, 0.012345679f, 2}},
        {ZN_OP_MIN, {1, -2, -4, 0.5f}},
        {ZN_OP_MAX, {2, 2, 3, 4}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(tu_run_kernel(kern(cases[i].op), NULL, 0, in, 2, &out, 1), ZN_OK);
        tu_assert_close(o, cases[i].want, 4, 1e-7, 1e-6);
    }
    /* Pow with an integer exponent */
    int64_t e[4] = {3, 2, 0, -1};
    zn_view pin[2] = {in[0], v1(ZN_I64, e, 4)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_POW), NULL, 0, pin, 2, &out, 1), ZN_OK);
    tu_assert_close(o, ((float[]){1, 4, 1, 0.25f}), 4, 1e-7, 1e-6);
}

static void test_binary_int(void **state) {
    (void)state;
    /* a: (2,3) i64, b: (3) -> broadcast over rows */
    int64_t a[6] = {7, -7, 5, 0, 9, INT64_MAX}, b[3] = {2, 2, 0}, o[6];
    int64_t da[2] = {2, 3};
    zn_view in[2] = {tu_view(ZN_I64, a, 2, da), v1(ZN_I64, b, 3)}, out = tu_view(ZN_I64, o, 2, da);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_DIV), NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want_div[6] = {3, -3, 0, 0, 4, 0}; /* truncation toward zero; /0 gives 0 */
    assert_memory_equal(o, want_div, sizeof o);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_ADD), NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want_add[6] = {9, -5, 5, 2, 11, INT64_MAX};
    assert_memory_equal(o, want_add, sizeof o);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MUL), NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want_mul[6] = {14, -14, 0, 0, 18, 0};
    assert_memory_equal(o, want_mul, sizeof o);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_SUB), NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want_sub[6] = {5, -9, 5, -2, 7, INT64_MAX};
    assert_memory_equal(o, want_sub, sizeof o);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MAX), NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want_max[6] = {7, 2, 5, 2, 9, INT64_MAX};
    assert_memory_equal(o, want_max, sizeof o);
    /* i32 Min, Less, Greater, Equal */
    int32_t p[4] = {1, 5, -3, 4}, q[4] = {2, 5, -4, 4}, m[4];
    uint8_t c[4];
    zn_view in32[2] = {v1(ZN_I32, p, 4), v1(ZN_I32, q, 4)};
    zn_view out32 = v1(ZN_I32, m, 4), outb = v1(ZN_BOOL, c, 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MIN), NULL, 0, in32, 2, &out32, 1), ZN_OK);
    assert_memory_equal(m, ((int32_t[]){1, 5, -4, 4}), sizeof m);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_LESS), NULL, 0, in32, 2, &outb, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){1, 0, 0, 0}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_GREATER), NULL, 0, in32, 2, &outb, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 0, 1, 0}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_EQUAL), NULL, 0, in32, 2, &outb, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 1, 0, 1}), 4);
    /* mixed dtypes are refused, not crashed on */
    zn_view mixed[2] = {v1(ZN_I32, p, 4), v1(ZN_I64, b, 3)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_ADD), NULL, 0, mixed, 2, &out32, 1), ZN_ERR_UNSUPPORTED);
}

static void test_compare_logic_hand(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, -1}, b[4] = {1, 3, 2, -1};
    uint8_t c[4];
    zn_view in[2] = {v1(ZN_F32, a, 4), v1(ZN_F32, b, 4)}, out = v1(ZN_BOOL, c, 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_EQUAL), NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){1, 0, 0, 1}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_LESS), NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 1, 0, 0}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_GREATER), NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 0, 1, 0}), 4);
    /* truth tables */
    uint8_t p[4] = {0, 0, 1, 1}, q[4] = {0, 1, 0, 1};
    zn_view lin[2] = {v1(ZN_BOOL, p, 4), v1(ZN_BOOL, q, 4)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_AND), NULL, 0, lin, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 0, 0, 1}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_OR), NULL, 0, lin, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){0, 1, 1, 1}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_EQUAL), NULL, 0, lin, 2, &out, 1), ZN_OK);
    assert_memory_equal(c, ((uint8_t[]){1, 0, 0, 1}), 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_NOT), NULL, 0, lin, 1, &lin[0], 1), ZN_OK); /* in place */
    assert_memory_equal(p, ((uint8_t[]){1, 1, 0, 0}), 4);
    /* logic refuses non-bool */
    zn_view fin[2] = {v1(ZN_F32, a, 4), v1(ZN_F32, b, 4)};
    assert_int_equal(tu_run_kernel(kern(ZN_OP_AND), NULL, 0, fin, 2, &out, 1), ZN_ERR_UNSUPPORTED);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_NOT), NULL, 0, fin, 1, &out, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- broadcasting against a naive index mapping ------------------------------------------- */

/* Flat index into an input of (r, d) for output flat index i of (ro, od). */
static int64_t bidx(int ro, const int64_t *od, int64_t i, int r, const int64_t *d) {
    int64_t idx[ZN_MAX_RANK];
    for (int k = ro - 1; k >= 0; k--) {
        idx[k] = od[k] ? i % od[k] : 0;
        i = od[k] ? i / od[k] : 0;
    }
    int64_t off = 0;
    for (int k = 0; k < r; k++) {
        int64_t v = idx[k + ro - r];
        off = off * d[k] + (d[k] == 1 ? 0 : v);
    }
    return off;
}

typedef struct shp { int r; int64_t d[4]; } shp;

static const shp bshapes[][2] = {
    {{3, {2, 3, 4}}, {1, {4}}},          /* bias over the last dim */
    {{3, {2, 3, 4}}, {0, {0}}},          /* rank-0 scalar */
    {{0, {0}}, {2, {2, 3}}},             /* scalar on the left */
    {{1, {1}}, {2, {5, 7}}},             /* size-1 vector */
    {{3, {2, 1, 4}}, {2, {3, 1}}},       /* both sides broadcast */
    {{4, {2, 3, 4, 5}}, {3, {3, 1, 5}}}, /* different ranks, middle 1 */
    {{2, {4, 1}}, {2, {1, 5}}},          /* outer product */
    {{2, {3, 4}}, {2, {3, 4}}},          /* equal */
    {{2, {0, 3}}, {1, {3}}},             /* zero-size */
    {{3, {2, 0, 3}}, {2, {1, 3}}},       /* zero-size in the middle */
    {{2, {1, 1}}, {1, {1}}},             /* all ones */
    {{2, {5, 1}}, {3, {2, 1, 6}}},       /* rank grows on the right operand */
    {{3, {70, 33, 40}}, {2, {33, 1}}},   /* big enough to split across segments */
};

static double d_binop(zn_op op, double x, double y) {
    switch (op) {
    case ZN_OP_ADD: return x + y;
    case ZN_OP_SUB: return x - y;
    case ZN_OP_MUL: return x * y;
    case ZN_OP_DIV: return x / y;
    case ZN_OP_POW: return pow(x, y);
    case ZN_OP_MIN: return x < y ? x : y;
    case ZN_OP_MAX: return x > y ? x : y;
    case ZN_OP_EQUAL: return x == y;
    case ZN_OP_LESS: return x < y;
    case ZN_OP_GREATER: return x > y;
    default: return NAN;
    }
}

static void test_broadcast_random(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    const zn_op ops[] = {ZN_OP_ADD, ZN_OP_SUB, ZN_OP_MUL, ZN_OP_DIV, ZN_OP_POW, ZN_OP_MIN,
                         ZN_OP_MAX, ZN_OP_EQUAL, ZN_OP_LESS, ZN_OP_GREATER};
    for (size_t s = 0; s < sizeof bshapes / sizeof bshapes[0]; s++) {
        const shp *A = &bshapes[s][0], *B = &bshapes[s][1];
        int ro;
        int64_t od[ZN_MAX_RANK];
        assert_int_equal(zn_broadcast_shapes(A->r, A->d, B->r, B->d, &ro, od), ZN_OK);
        zn_view va = tu_view(ZN_F32, NULL, A->r, A->d), vb = tu_view(ZN_F32, NULL, B->r, B->d);
        int64_t na = zn_view_numel(&va), nb = zn_view_numel(&vb);
        zn_view vo = tu_view(ZN_F32, NULL, ro, od);
        int64_t no = zn_view_numel(&vo);
        float *a = malloc((size_t)(na + 1) * 4), *b = malloc((size_t)(nb + 1) * 4);
        float *o = malloc((size_t)(no + 1) * 4), *want = malloc((size_t)(no + 1) * 4);
        uint8_t *ob = malloc((size_t)no + 1);
        va.data = a;
        vb.data = b;
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            zn_op op = ops[k];
            bool cmp = op == ZN_OP_EQUAL || op == ZN_OP_LESS || op == ZN_OP_GREATER;
            tu_fill(&r, a, na, op == ZN_OP_POW ? 0.1f : -3, 3);
            tu_fill(&r, b, nb, -3, 3);
            if (cmp) /* make some equal */
                for (int64_t i = 0; i < na; i++) a[i] = roundf(a[i]);
            if (cmp)
                for (int64_t i = 0; i < nb; i++) b[i] = roundf(b[i]);
            for (int64_t i = 0; i < no; i++) {
                double x = a[bidx(ro, od, i, A->r, A->d)], y = b[bidx(ro, od, i, B->r, B->d)];
                want[i] = (float)d_binop(op, x, y);
            }
            vo.dtype = cmp ? ZN_BOOL : ZN_F32;
            vo.data = cmp ? (void *)ob : (void *)o;
            zn_view in[2] = {va, vb};
            assert_int_equal(tu_run_kernel(kern(op), NULL, 0, in, 2, &vo, 1), ZN_OK);
            if (cmp)
                for (int64_t i = 0; i < no; i++) o[i] = ob[i];
            tu_assert_close(o, want, no, 1e-6, 1e-5);
        }
        free(a);
        free(b);
        free(o);
        free(want);
        free(ob);
    }
}

/* The same through a 2-thread pool (the kernels split work with zn_parallel_for). */
static void test_parallel_pool(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    assert_non_null(pool);
    tu_rng r = tu_rng_new(tu_seed() + 2);
    int64_t da[3] = {3, 200, 300}, db[1] = {300};
    const int64_t n = 3 * 200 * 300;
    float *a = malloc(n * 4), *b = malloc(300 * 4), *o = malloc(n * 4), *want = malloc(n * 4);
    tu_fill(&r, a, n, -2, 2);
    tu_fill(&r, b, 300, -2, 2);
    zn_view in[2] = {tu_view(ZN_F32, a, 3, da), tu_view(ZN_F32, b, 1, db)};
    zn_view out = tu_view(ZN_F32, o, 3, da);
    zn_kernel_node node = {ZN_OP_MUL, "mul", NULL, 0, 2, in, 1, &out, 0};
    zn_exec_ctx ctx = {&node, 2, in, 1, &out, NULL, NULL, pool, NULL};
    assert_int_equal(kern(ZN_OP_MUL)->run(&ctx), ZN_OK);
    for (int64_t i = 0; i < n; i++) want[i] = a[i] * b[i % 300];
    tu_assert_close(o, want, n, 0, 0);
    /* unary over the pool, in place */
    node.op = ZN_OP_TANH;
    node.n_in = 1;
    zn_exec_ctx uctx = {&node, 1, in, 1, in, NULL, NULL, pool, NULL};
    for (int64_t i = 0; i < n; i++) want[i] = (float)tanh(a[i]);
    assert_int_equal(kern(ZN_OP_TANH)->run(&uctx), ZN_OK);
    tu_assert_close(a, want, n, 1e-6, 1e-5);
    free(a);
    free(b);
    free(o);
    free(want);
    zn_threadpool_free(pool);
}

static void test_broadcast_plan(void **state) {
    (void)state;
    zn_bcast b;
    /* equal shapes merge into one contiguous run */
    int64_t d[3] = {2, 3, 4};
    int ranks[2] = {3, 3};
    const int64_t *dims[2] = {d, d};
    assert_true(zn_bcast_init(&b, 3, d, 2, ranks, dims));
    assert_int_equal(b.rank, 1);
    assert_int_equal(b.inner, 24);
    assert_int_equal(b.inner_stride[0], 1);
    assert_int_equal(b.inner_stride[1], 1);
    /* scalar operand: stride 0 */
    int ranks_s[2] = {3, 0};
    assert_true(zn_bcast_init(&b, 3, d, 2, ranks_s, dims));
    assert_int_equal(b.rank, 1);
    assert_int_equal(b.inner_stride[1], 0);
    /* bias over the last dim: rows of 4 */
    int64_t bias[1] = {4};
    int ranks_b[2] = {3, 1};
    const int64_t *dims_b[2] = {d, bias};
    assert_true(zn_bcast_init(&b, 3, d, 2, ranks_b, dims_b));
    assert_int_equal(b.rank, 2);
    assert_int_equal(b.inner, 4);
    assert_int_equal(b.strides[1][0], 0);
    /* refusals */
    int64_t bad[1] = {3};
    const int64_t *dims_bad[2] = {d, bad};
    assert_false(zn_bcast_init(&b, 3, d, 2, ranks_b, dims_bad));
    int ranks_big[2] = {3, 4};
    int64_t big[4] = {1, 2, 3, 4};
    const int64_t *dims_big[2] = {d, big};
    assert_false(zn_bcast_init(&b, 3, d, 2, ranks_big, dims_big));
    /* a kernel refuses an output shape its inputs do not broadcast to */
    float x[4] = {0}, y[4] = {0}, o[6];
    int64_t od[1] = {6};
    zn_view in[2] = {v1(ZN_F32, x, 4), v1(ZN_F32, y, 4)}, out = tu_view(ZN_F32, o, 1, od);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_ADD), NULL, 0, in, 2, &out, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- Min/Max variadic ------------------------------------------------------------------- */

static void test_minmax_variadic(void **state) {
    (void)state;
    /* a: (2,3), b: (3), c: (2,1) */
    float a[6] = {1, 5, 3, -1, 0, 9}, b[3] = {2, 2, 2}, c[2] = {4, -2}, o[6];
    int64_t da[2] = {2, 3}, db[1] = {3}, dc[2] = {2, 1};
    zn_view in[3] = {tu_view(ZN_F32, a, 2, da), tu_view(ZN_F32, b, 1, db), tu_view(ZN_F32, c, 2, dc)};
    zn_view out = tu_view(ZN_F32, o, 2, da);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MAX), NULL, 0, in, 3, &out, 1), ZN_OK);
    tu_assert_close(o, ((float[]){4, 5, 4, 2, 2, 9}), 6, 0, 0);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MIN), NULL, 0, in, 3, &out, 1), ZN_OK);
    tu_assert_close(o, ((float[]){1, 2, 2, -2, -2, -2}), 6, 0, 0);
    /* one input: a copy */
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MIN), NULL, 0, in, 1, &out, 1), ZN_OK);
    tu_assert_close(o, a, 6, 0, 0);
    /* one input broadcast to a bigger output is a broadcast copy */
    zn_view in_b = tu_view(ZN_F32, b, 1, db);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MAX), NULL, 0, &in_b, 1, &out, 1), ZN_OK);
    tu_assert_close(o, ((float[]){2, 2, 2, 2, 2, 2}), 6, 0, 0);
    /* NaN in the third input propagates */
    c[1] = NAN;
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MAX), NULL, 0, in, 3, &out, 1), ZN_OK);
    assert_false(isnan(o[0]));
    assert_true(isnan(o[3]) && isnan(o[4]) && isnan(o[5]));
    /* i64, 4 inputs */
    int64_t p[2] = {1, 8}, q[2] = {3, 2}, s[2] = {0, 9}, t[2] = {-5, 4}, m[2];
    zn_view iin[4] = {v1(ZN_I64, p, 2), v1(ZN_I64, q, 2), v1(ZN_I64, s, 2), v1(ZN_I64, t, 2)};
    zn_view iout = v1(ZN_I64, m, 2);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MIN), NULL, 0, iin, 4, &iout, 1), ZN_OK);
    assert_memory_equal(m, ((int64_t[]){-5, 2}), sizeof m);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_MAX), NULL, 0, iin, 4, &iout, 1), ZN_OK);
    assert_memory_equal(m, ((int64_t[]){3, 9}), sizeof m);
}

/* ---- Where ----------------------------------------------------------------------------- */

static void test_where(void **state) {
    (void)state;
    uint8_t c[4] = {1, 0, 0, 1};
    float x[4] = {1, 2, 3, 4}, y[4] = {-1, -2, -3, -4}, o[4];
    zn_view in[3] = {v1(ZN_BOOL, c, 4), v1(ZN_F32, x, 4), v1(ZN_F32, y, 4)};
    zn_view out = v1(ZN_F32, o, 4);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_WHERE), NULL, 0, in, 3, &out, 1), ZN_OK);
    tu_assert_close(o, ((float[]){1, -2, -3, 4}), 4, 0, 0);

    /* 3-way broadcast: cond (2,1,3), x (4,1), y scalar; i64, f16 and bool values */
    tu_rng r = tu_rng_new(tu_seed() + 3);
    int64_t dc[3] = {2, 1, 3}, dx[2] = {4, 1}, od[3] = {2, 4, 3};
    uint8_t cc[6];
    for (int i = 0; i < 6; i++) cc[i] = (uint8_t)(tu_next(&r) & 1);
    int64_t xi[4], yi = -7, oi[24];
    uint16_t xh[4], yh = zn_f32_to_f16(-7.0f), oh[24];
    uint8_t xb[4] = {1, 0, 1, 0}, yb = 1, obb[24];
    for (int i = 0; i < 4; i++) {
        xi[i] = (int64_t)(tu_next(&r) % 100);
        xh[i] = zn_f32_to_f16((float)xi[i]);
    }
    zn_view win[3] = {tu_view(ZN_BOOL, cc, 3, dc), tu_view(ZN_I64, xi, 2, dx), tu_view(ZN_I64, &yi, 0, NULL)};
    zn_view wout = tu_view(ZN_I64, oi, 3, od);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_WHERE), NULL, 0, win, 3, &wout, 1), ZN_OK);
    win[1] = tu_view(ZN_F16, xh, 2, dx);
    win[2] = tu_view(ZN_F16, &yh, 0, NULL);
    wout = tu_view(ZN_F16, oh, 3, od);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_WHERE), NULL, 0, win, 3, &wout, 1), ZN_OK);
    win[1] = tu_view(ZN_BOOL, xb, 2, dx);
    win[2] = tu_view(ZN_BOOL, &yb, 0, NULL);
    wout = tu_view(ZN_BOOL, obb, 3, od);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_WHERE), NULL, 0, win, 3, &wout, 1), ZN_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++) {
                int f = (i * 4 + j) * 3 + k;
                bool cond = cc[i * 3 + k];
                assert_int_equal(oi[f], cond ? xi[j] : yi);
                assert_int_equal(oh[f], cond ? xh[j] : yh);
                assert_int_equal(obb[f], cond ? xb[j] : yb);
            }
    /* a non-bool condition is refused */
    win[0] = tu_view(ZN_F32, x, 1, (int64_t[]){4});
    assert_int_equal(tu_run_kernel(kern(ZN_OP_WHERE), NULL, 0, win, 3, &wout, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- Cast ----------------------------------------------------------------------------- */

static zn_status cast(zn_dtype from, const void *x, zn_dtype to, void *y, int64_t n) {
    zn_attr a = tu_attr_int("to", to);
    zn_view in = v1(from, (void *)x, n), out = v1(to, y, n);
    return tu_run_kernel(kern(ZN_OP_CAST), &a, 1, &in, 1, &out, 1);
}

static void test_cast_hand(void **state) {
    (void)state;
    float f[6] = {2.7f, -2.7f, 0.0f, -0.0f, 0.5f, NAN};
    int64_t i64[6];
    int32_t i32[6];
    uint8_t b[6];
    assert_int_equal(cast(ZN_F32, f, ZN_I64, i64, 5), ZN_OK);
    assert_memory_equal(i64, ((int64_t[]){2, -2, 0, 0, 0}), 5 * 8);
    assert_int_equal(cast(ZN_F32, f, ZN_I32, i32, 5), ZN_OK);
    assert_memory_equal(i32, ((int32_t[]){2, -2, 0, 0, 0}), 5 * 4);
    assert_int_equal(cast(ZN_F32, f, ZN_BOOL, b, 6), ZN_OK);
    assert_memory_equal(b, ((uint8_t[]){1, 1, 0, 0, 1, 1}), 6); /* NaN is true, like numpy */
    float back[6];
    assert_int_equal(cast(ZN_BOOL, b, ZN_F32, back, 6), ZN_OK);
    tu_assert_close(back, ((float[]){1, 1, 0, 0, 1, 1}), 6, 0, 0);
    /* i64 -> f32, i64 -> i32 (wraps like numpy), i32 -> i64, i64 -> bool */
    int64_t big[4] = {16777217, -3, 4294967298LL, 0};
    assert_int_equal(cast(ZN_I64, big, ZN_F32, back, 4), ZN_OK);
    tu_assert_close(back, ((float[]){16777216.0f, -3, 4294967296.0f, 0}), 4, 0, 0);
    assert_int_equal(cast(ZN_I64, big, ZN_I32, i32, 4), ZN_OK);
    assert_memory_equal(i32, ((int32_t[]){16777217, -3, 2, 0}), 16);
    assert_int_equal(cast(ZN_I32, i32, ZN_I64, i64, 4), ZN_OK);
    assert_memory_equal(i64, ((int64_t[]){16777217, -3, 2, 0}), 32);
    assert_int_equal(cast(ZN_I64, big, ZN_BOOL, b, 4), ZN_OK);
    assert_memory_equal(b, ((uint8_t[]){1, 1, 1, 0}), 4);
    /* out of range saturates instead of invoking undefined behaviour */
    float huge[3] = {1e30f, -1e30f, 3e9f};
    assert_int_equal(cast(ZN_F32, huge, ZN_I64, i64, 2), ZN_OK);
    assert_true(i64[0] == INT64_MAX && i64[1] == INT64_MIN);
    assert_int_equal(cast(ZN_F32, huge, ZN_I32, i32, 3), ZN_OK);
    assert_true(i32[0] == INT32_MAX && i32[1] == INT32_MIN && i32[2] == INT32_MAX);
    /* f16 / bf16 rounding: nearest, ties to even */
    float r[5] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65520.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f};
    uint16_t h[5];
    assert_int_equal(cast(ZN_F32, r, ZN_F16, h, 3), ZN_OK);
    assert_int_equal(h[0], 0x3c00); /* tie -> even (1.0) */
    assert_int_equal(h[1], 0x3c02); /* tie -> even (1 + 2^-9) */
    assert_int_equal(h[2], 0x7c00); /* rounds up to inf */
    assert_int_equal(cast(ZN_F32, r + 3, ZN_BF16, h, 2), ZN_OK);
    assert_int_equal(h[0], 0x3f80); /* tie -> even (1.0) */
    assert_int_equal(h[1], 0x3f82);
    /* f16 <-> bf16 and to integers */
    uint16_t hv[3] = {zn_f32_to_f16(-2.5f), zn_f32_to_f16(3.75f), zn_f32_to_f16(0.0f)}, bv[3];
    assert_int_equal(cast(ZN_F16, hv, ZN_BF16, bv, 3), ZN_OK);
    assert_true(zn_bf16_to_f32(bv[0]) == -2.5f && zn_bf16_to_f32(bv[1]) == 3.75f);
    assert_int_equal(cast(ZN_BF16, bv, ZN_I64, i64, 3), ZN_OK);
    assert_memory_equal(i64, ((int64_t[]){-2, 3, 0}), 24);
    assert_int_equal(cast(ZN_I64, i64, ZN_F16, hv, 3), ZN_OK);
    assert_true(zn_f16_to_f32(hv[0]) == -2.0f && zn_f16_to_f32(hv[1]) == 3.0f);
    /* same dtype: a copy */
    float same[2];
    assert_int_equal(cast(ZN_F32, f, ZN_F32, same, 2), ZN_OK);
    tu_assert_close(same, f, 2, 0, 0);
    /* an unknown `to` is refused */
    zn_attr bad = tu_attr_int("to", 3);
    zn_view in = v1(ZN_F32, f, 2), out = v1((zn_dtype)3, i64, 2);
    assert_int_equal(tu_run_kernel(kern(ZN_OP_CAST), &bad, 1, &in, 1, &out, 1), ZN_ERR_UNSUPPORTED);
}

static void test_cast_roundtrip(void **state) {
    (void)state;
    /* every finite f16 / bf16 value survives half -> f32 -> half */
    uint16_t *h = malloc(65536 * 2), *h2 = malloc(65536 * 2);
    float *f = malloc(65536 * 4);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    const zn_dtype halves[2] = {ZN_F16, ZN_BF16};
    for (int t = 0; t < 2; t++) {
        assert_int_equal(cast(halves[t], h, ZN_F32, f, 65536), ZN_OK);
        assert_int_equal(cast(ZN_F32, f, halves[t], h2, 65536), ZN_OK);
        for (int i = 0; i < 65536; i++)
            if (!isnan(f[i])) assert_int_equal(h2[i], h[i]);
            else assert_true(isnan(halves[t] == ZN_F16 ? zn_f16_to_f32(h2[i]) : zn_bf16_to_f32(h2[i])));
    }
    /* random f32 -> f16 -> f32: relative error <= 2^-11; -> bf16: <= 2^-8 */
    tu_rng r = tu_rng_new(tu_seed() + 4);
    float x[1000], y[1000];
    tu_fill(&r, x, 1000, -1000, 1000);
    assert_int_equal(cast(ZN_F32, x, ZN_F16, h, 1000), ZN_OK);
    assert_int_equal(cast(ZN_F16, h, ZN_F32, y, 1000), ZN_OK);
    tu_assert_close(y, x, 1000, 1e-4, 1.0 / 2048);
    assert_int_equal(cast(ZN_F32, x, ZN_BF16, h, 1000), ZN_OK);
    assert_int_equal(cast(ZN_BF16, h, ZN_F32, y, 1000), ZN_OK);
    tu_assert_close(y, x, 1000, 0, 1.0 / 256);
    /* f32 -> i32 -> f32 truncates toward zero */
    int32_t iv[1000];
    assert_int_equal(cast(ZN_F32, x, ZN_I32, iv, 1000), ZN_OK);
    for (int i = 0; i < 1000; i++) assert_int_equal(iv[i], (int32_t)trunc(x[i]));
    free(h);
    free(h2);
    free(f);
}

/* ---- table ----------------------------------------------------------------------------- */

static void test_table(void **state) {
    (void)state;
    const zn_op unary_ops[] = {ZN_OP_RELU, ZN_OP_LEAKY_RELU, ZN_OP_SIGMOID, ZN_OP_TANH,
                               ZN_OP_GELU, ZN_OP_ERF, ZN_OP_SILU, ZN_OP_HARD_SIGMOID,
                               ZN_OP_HARD_SWISH, ZN_OP_SOFTPLUS, ZN_OP_CLIP, ZN_OP_SQRT,
                               ZN_OP_NEG, ZN_OP_EXP, ZN_OP_LOG, ZN_OP_ABS, ZN_OP_RECIPROCAL,
                               ZN_OP_FLOOR, ZN_OP_CEIL, ZN_OP_NOT};
    const zn_op other[] = {ZN_OP_ADD, ZN_OP_SUB, ZN_OP_MUL, ZN_OP_DIV, ZN_OP_POW, ZN_OP_MIN,
                           ZN_OP_MAX, ZN_OP_EQUAL, ZN_OP_LESS, ZN_OP_GREATER, ZN_OP_AND,
                           ZN_OP_OR, ZN_OP_WHERE, ZN_OP_CAST};
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        assert_true(kern(unary_ops[i])->flags & ZN_KERNEL_INPLACE);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) assert_non_null(kern(other[i]));
    assert_int_equal(T->count, (int)(sizeof unary_ops / sizeof unary_ops[0] + sizeof other / sizeof other[0]));
    for (int i = 0; i < T->count; i++) {
        const zn_kernel_spec *k = &T->specs[i];
        char want[64] = "ref.";
        const char *name = zn_op_name(k->op);
        size_t j = 0;
        for (; name[j]; j++) want[4 + j] = (char)tolower((unsigned char)name[j]);
        want[4 + j] = 0;
        assert_string_equal(k->name, want);
        assert_int_equal(k->backend, ZN_BACKEND_CPU);
        assert_int_equal(k->priority, 0);
        assert_non_null(k->run);
        assert_non_null(k->supports);
    }
    /* Gelu refuses an unknown approximation */
    float x[1] = {0}, y[1];
    zn_attr bogus = tu_attr_string("approximate", "bogus");
    assert_int_equal(unary(ZN_OP_GELU, &bogus, 1, x, y, 1), ZN_ERR_UNSUPPORTED);
}

/* ---- shape inference ------------------------------------------------------------------- */

static zn_status infer(zn_op op, const zn_attr *attrs, int na, const zn_view *in, int n_in, zn_view *out) {
    zn_kernel_node n = {op, "n", attrs, na, n_in, in, 1, out, 0};
    memset(out, 0, sizeof *out);
    return zn_infer_elementwise(&n, out);
}

static void assert_shape(const zn_view *v, zn_dtype dt, int rank, const int64_t *dims) {
    assert_int_equal(v->dtype, dt);
    assert_int_equal(v->rank, rank);
    for (int i = 0; i < rank; i++) assert_int_equal(v->dims[i], dims[i]);
}

static void assert_msg(const char *s) {
    const char *m = zn_last_error()->message;
    if (!strstr(m, s)) fail_msg("message \"%s\" lacks \"%s\"", m, s);
}

static void test_infer_elementwise(void **state) {
    (void)state;
    zn_view out;
    int64_t d23[2] = {2, 3}, d4[1] = {4}, d3[1] = {3}, d2131[4] = {2, 1, 3, 1}, d51[2] = {5, 1};
    /* unary keeps dtype and shape */
    zn_view x = tu_view(ZN_F32, NULL, 2, d23);
    assert_int_equal(infer(ZN_OP_GELU, NULL, 0, &x, 1, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 2, d23);
    zn_attr bogus = tu_attr_string("approximate", "fast");
    assert_int_equal(infer(ZN_OP_GELU, &bogus, 1, &x, 1, &out), ZN_ERR_UNSUPPORTED);
    assert_msg("fast");
    /* data is left alone */
    float sentinel;
    out.data = &sentinel;
    zn_kernel_node nn = {ZN_OP_RELU, "n", NULL, 0, 1, &x, 1, &out, 0};
    assert_int_equal(zn_infer_elementwise(&nn, &out), ZN_OK);
    assert_ptr_equal(out.data, &sentinel);
    /* broadcasting */
    int64_t d31[2] = {3, 1};
    zn_view ab[2] = {tu_view(ZN_F32, NULL, 4, d2131), tu_view(ZN_F32, NULL, 2, d31)};
    assert_int_equal(infer(ZN_OP_ADD, NULL, 0, ab, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 4, d2131);
    ab[1] = tu_view(ZN_F32, NULL, 1, d3);
    assert_int_equal(infer(ZN_OP_MUL, NULL, 0, ab, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 4, (int64_t[]){2, 1, 3, 3});
    /* scalar */
    ab[1] = tu_view(ZN_F32, NULL, 0, NULL);
    assert_int_equal(infer(ZN_OP_SUB, NULL, 0, ab, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 4, d2131);
    /* zero-size dims broadcast with 1 and keep 0 */
    int64_t d03[2] = {0, 3}, d13[2] = {1, 3};
    zn_view z[2] = {tu_view(ZN_F32, NULL, 2, d03), tu_view(ZN_F32, NULL, 2, d13)};
    assert_int_equal(infer(ZN_OP_DIV, NULL, 0, z, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 2, d03);
    /* comparisons give bool */
    zn_view c[2] = {tu_view(ZN_I64, NULL, 2, d23), tu_view(ZN_I64, NULL, 1, d3)};
    assert_int_equal(infer(ZN_OP_LESS, NULL, 0, c, 2, &out), ZN_OK);
    assert_shape(&out, ZN_BOOL, 2, d23);
    /* mismatched shapes: both named */
    zn_view bad[2] = {tu_view(ZN_F32, NULL, 2, d23), tu_view(ZN_F32, NULL, 1, d4)};
    assert_int_equal(infer(ZN_OP_ADD, NULL, 0, bad, 2, &out), ZN_ERR_SHAPE);
    assert_msg("[2,3]");
    assert_msg("[4]");
    assert_msg("Add");
    /* zero does not broadcast with 2 */
    int64_t d0[1] = {0}, d2[1] = {2};
    zn_view bad0[2] = {tu_view(ZN_F32, NULL, 1, d0), tu_view(ZN_F32, NULL, 1, d2)};
    assert_int_equal(infer(ZN_OP_MAX, NULL, 0, bad0, 2, &out), ZN_ERR_SHAPE);
    assert_msg("[0]");
    /* mismatched dtypes: both named, Cast suggested */
    zn_view mixed[2] = {tu_view(ZN_F32, NULL, 2, d23), tu_view(ZN_I64, NULL, 2, d23)};
    assert_int_equal(infer(ZN_OP_MUL, NULL, 0, mixed, 2, &out), ZN_ERR_SHAPE);
    assert_msg("f32");
    assert_msg("i64");
    assert_msg("Cast");
    assert_int_equal(infer(ZN_OP_EQUAL, NULL, 0, mixed, 2, &out), ZN_ERR_SHAPE);
    /* Pow's exponent may differ */
    assert_int_equal(infer(ZN_OP_POW, NULL, 0, mixed, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 2, d23);
    /* Min/Max variadic: 3 inputs */
    zn_view v3[3] = {tu_view(ZN_F32, NULL, 1, d3), tu_view(ZN_F32, NULL, 2, d51), tu_view(ZN_F32, NULL, 0, NULL)};
    assert_int_equal(infer(ZN_OP_MIN, NULL, 0, v3, 3, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 2, (int64_t[]){5, 3});
    v3[2] = tu_view(ZN_F32, NULL, 1, d4);
    assert_int_equal(infer(ZN_OP_MAX, NULL, 0, v3, 3, &out), ZN_ERR_SHAPE);
    assert_msg("[5,3]");
    assert_msg("[4]");
    /* logic needs bool */
    zn_view l[2] = {tu_view(ZN_BOOL, NULL, 1, d3), tu_view(ZN_F32, NULL, 1, d3)};
    assert_int_equal(infer(ZN_OP_AND, NULL, 0, l, 2, &out), ZN_ERR_SHAPE);
    assert_msg("bool");
    l[1].dtype = ZN_BOOL;
    assert_int_equal(infer(ZN_OP_OR, NULL, 0, l, 2, &out), ZN_OK);
    assert_shape(&out, ZN_BOOL, 1, d3);
    assert_int_equal(infer(ZN_OP_NOT, NULL, 0, &x, 1, &out), ZN_ERR_SHAPE);
    /* Where: bool cond, equal value dtypes, 3-way broadcast */
    int64_t d21[2] = {2, 1};
    zn_view w[3] = {tu_view(ZN_BOOL, NULL, 2, d21), tu_view(ZN_I64, NULL, 1, d3), tu_view(ZN_I64, NULL, 0, NULL)};
    assert_int_equal(infer(ZN_OP_WHERE, NULL, 0, w, 3, &out), ZN_OK);
    assert_shape(&out, ZN_I64, 2, d23);
    w[0].dtype = ZN_F32;
    assert_int_equal(infer(ZN_OP_WHERE, NULL, 0, w, 3, &out), ZN_ERR_SHAPE);
    assert_msg("bool");
    w[0].dtype = ZN_BOOL;
    w[2].dtype = ZN_F32;
    assert_int_equal(infer(ZN_OP_WHERE, NULL, 0, w, 3, &out), ZN_ERR_SHAPE);
    assert_msg("Cast");
    /* Clip: bounds must be scalars of the input's dtype */
    float lo = 0;
    zn_view cl[3] = {x, tu_view(ZN_F32, &lo, 0, NULL), tu_view(ZN_F32, NULL, 1, d2)};
    assert_int_equal(infer(ZN_OP_CLIP, NULL, 0, cl, 2, &out), ZN_OK);
    assert_shape(&out, ZN_F32, 2, d23);
    assert_int_equal(infer(ZN_OP_CLIP, NULL, 0, cl, 3, &out), ZN_ERR_SHAPE);
    assert_msg("[2]");
    /* Cast: `to` */
    zn_attr to = tu_attr_int("to", ZN_F16);
    assert_int_equal(infer(ZN_OP_CAST, &to, 1, &x, 1, &out), ZN_OK);
    assert_shape(&out, ZN_F16, 2, d23);
    to.i = 8; /* ONNX string */
    assert_int_equal(infer(ZN_OP_CAST, &to, 1, &x, 1, &out), ZN_ERR_UNSUPPORTED);
    /* ops of another group are refused */
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, ab, 2, &out), ZN_ERR_UNSUPPORTED);
    /* missing input */
    assert_int_equal(infer(ZN_OP_ADD, NULL, 0, ab, 1, &out), ZN_ERR_INVALID_GRAPH);
}

static void test_broadcast_shapes(void **state) {
    (void)state;
    int r;
    int64_t d[ZN_MAX_RANK];
    int64_t a[3] = {8, 1, 6}, b[2] = {7, 1};
    assert_int_equal(zn_broadcast_shapes(3, a, 2, b, &r, d), ZN_OK);
    assert_int_equal(r, 3);
    assert_true(d[0] == 8 && d[1] == 7 && d[2] == 6);
    assert_int_equal(zn_broadcast_shapes(0, NULL, 0, NULL, &r, d), ZN_OK);
    assert_int_equal(r, 0);
    int64_t c[2] = {7, 2};
    assert_int_equal(zn_broadcast_shapes(3, a, 2, c, &r, d), ZN_ERR_SHAPE);
    assert_msg("[8,1,6]");
    assert_msg("[7,2]");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_hand),
        cmocka_unit_test(test_unary_random_and_inplace),
        cmocka_unit_test(test_unary_int),
        cmocka_unit_test(test_nan_propagation),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_binary_hand),
        cmocka_unit_test(test_binary_int),
        cmocka_unit_test(test_compare_logic_hand),
        cmocka_unit_test(test_broadcast_random),
        cmocka_unit_test(test_parallel_pool),
        cmocka_unit_test(test_broadcast_plan),
        cmocka_unit_test(test_minmax_variadic),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_cast_hand),
        cmocka_unit_test(test_cast_roundtrip),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_infer_elementwise),
        cmocka_unit_test(test_broadcast_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
