/* test_ref_reduce.c — the reference reduction, ArgMax and Softmax kernels
 * (kernels/cpu/ref_reduce.c) and their shape inference (engine/infer_reduce.c): hand values,
 * every axis combination of rank-3/4 tensors against a plain double implementation, axes as
 * attribute vs input, keepdims, empty axes, NaN, Softmax on every axis, error messages. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/threadpool.h"

#define T (&zn_ref_reduce_table)

static const zn_kernel_spec *kern(zn_op op) {
    const zn_kernel_spec *k = tu_find_kernel(T, op);
    assert_non_null(k);
    return k;
}

static void assert_msg(const char *s) {
    const char *m = zn_last_error()->message;
    if (!strstr(m, s)) fail_msg("message \"%s\" lacks \"%s\"", m, s);
}

/* infer then run; out data must hold the result */
static zn_status infer_run(zn_op op, const zn_attr *attrs, int na, const zn_view *in, int n_in,
                           zn_view *out, void *data) {
    zn_kernel_node n = {op, "n", attrs, na, n_in, in, 1, out, 0};
    memset(out, 0, sizeof *out);
    zn_status st = zn_infer_reduce(&n, out);
    if (st != ZN_OK) return st;
    out->data = data;
    return tu_run_kernel(kern(op), attrs, na, in, n_in, out, 1);
}

/* ---- reductions ------------------------------------------------------------------------ */

static void test_reduce_hand(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    int64_t d[2] = {2, 3};
    zn_view in = tu_view(ZN_F32, x, 2, d), out;
    int64_t ax1[1] = {1}, ax0[1] = {0}, axm1[1] = {-1};
    zn_attr a1[2] = {tu_attr_ints("axes", ax1, 1), tu_attr_int("keepdims", 1)};
    assert_int_equal(infer_run(ZN_OP_REDUCE_SUM, a1, 2, &in, 1, &out, y), ZN_OK);
    assert_true(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 1);
    tu_assert_close(y, ((float[]){6, 15}), 2, 0, 0);
    zn_attr a0[2] = {tu_attr_ints("axes", ax0, 1), tu_attr_int("keepdims", 0)};
    assert_int_equal(infer_run(ZN_OP_REDUCE_MEAN, a0, 2, &in, 1, &out, y), ZN_OK);
    assert_true(out.rank == 1 && out.dims[0] == 3);
    tu_assert_close(y, ((float[]){2.5f, 3.5f, 4.5f}), 3, 0, 0);
    assert_int_equal(infer_run(ZN_OP_REDUCE_MAX, NULL, 0, &in, 1, &out, y), ZN_OK); /* all axes */
    assert_true(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == 1);
    tu_assert_close(y, ((float[]){6}), 1, 0, 0);
    zn_attr am[1] = {tu_attr_ints("axes", axm1, 1)};
    assert_int_equal(infer_run(ZN_OP_REDUCE_MIN, am, 1, &in, 1, &out, y), ZN_OK);
    tu_assert_close(y, ((float[]){1, 4}), 2, 0, 0);
    assert_int_equal(infer_run(ZN_OP_REDUCE_PROD, am, 1, &in, 1, &out, y), ZN_OK);
    tu_assert_close(y, ((float[]){6, 120}), 2, 0, 0);
    /* axes as input (opset 13/18) */
    zn_view in2[2] = {in, tu_view(ZN_I64, ax0, 1, (int64_t[]){1})};
    assert_int_equal(infer_run(ZN_OP_REDUCE_SUM, NULL, 0, in2, 2, &out, y), ZN_OK);
    assert_true(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == 3);
    tu_assert_close(y, ((float[]){5, 7, 9}), 3, 0, 0);
}

/* plain double reference over a mask of reduced axes */
static void ref_reduce(zn_op op, const float *x, int rank, const int64_t *dims, unsigned mask,
                       float *y, int64_t on) {
    double *acc = calloc((size_t)on + 1, sizeof(double));
    int64_t *cnt = calloc((size_t)on + 1, sizeof(int64_t));
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, o = 0, mul = 1;
        for (int d = rank - 1; d >= 0; d--) {
            int64_t idx = rem % dims[d];
            rem /= dims[d];
            if (!(mask >> d & 1)) {
                o += idx * mul;
                mul *= dims[d];
            }
        }
        double v = x[i];
        if (cnt[o] == 0) acc[o] = v;
        else if (op == ZN_OP_REDUCE_SUM || op == ZN_OP_REDUCE_MEAN) acc[o] += v;
        else if (op == ZN_OP_REDUCE_PROD) acc[o] *= v;
        else if (op == ZN_OP_REDUCE_MAX) acc[o] = v > acc[o] ? v : acc[o];
        else acc[o] = v < acc[o] ? v : acc[o];
        cnt[o]++;
    }
    for (int64_t o = 0; o < on; o++) y[o] = (float)(op == ZN_OP_REDUCE_MEAN ? acc[o] / (double)cnt[o] : acc[o]);
    free(acc);
    free(cnt);
}

static void test_reduce_all_axes(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    const zn_op ops[] = {ZN_OP_REDUCE_SUM, ZN_OP_REDUCE_MEAN, ZN_OP_REDUCE_MAX,
                         ZN_OP_REDUCE_MIN, ZN_OP_REDUCE_PROD};
    const int64_t shapes[2][4] = {{3, 4, 5, 0}, {2, 3, 4, 5}};
    const int ranks[2] = {3, 4};
    float x[120], y[120], want[120];
    for (int s = 0; s < 2; s++) {
        int rank = ranks[s];
        const int64_t *dims = shapes[s];
        zn_view in = tu_view(ZN_F32, x, rank, dims);
        int64_t n = zn_view_numel(&in);
        for (unsigned mask = 1; mask < (1u << rank); mask++) {
            int64_t axes[4];
            int na = 0;
            for (int d = 0; d < rank; d++)
                if (mask >> d & 1) /* mix positive and negative spellings */
                    axes[na++] = (tu_next(&r) & 1) ? d : d - rank;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
                tu_fill(&r, x, n, ops[k] == ZN_OP_REDUCE_PROD ? 0.5f : -2.0f, 1.5f);
                for (int keep = 0; keep < 2; keep++) {
                    /* expected shape */
                    int er = 0;
                    int64_t ed[4], on = 1;
                    for (int d = 0; d < rank; d++) {
                        if (!(mask >> d & 1)) { ed[er++] = dims[d]; on *= dims[d]; }
                        else if (keep) ed[er++] = 1;
                    }
                    ref_reduce(ops[k], x, rank, dims, mask, want, on);
                    for (int form = 0; form < 2; form++) {
                        zn_attr at[2] = {tu_attr_int("keepdims", keep), tu_attr_ints("axes", axes, na)};
                        zn_view ins[2] = {in, tu_view(ZN_I64, axes, 1, (int64_t[]){na})};
                        zn_view out;
                        memset(y, 0xff, sizeof y);
                        assert_int_equal(infer_run(ops[k], at, form ? 1 : 2, ins, form ? 2 : 1, &out, y), ZN_OK);
                        assert_int_equal(out.rank, er);
                        for (int d = 0; d < er; d++) assert_int_equal(out.dims[d], ed[d]);
                        tu_assert_close(y, want, on, 1e-5, 1e-5);
                    }
                }
            }
        }
    }
}

static void test_reduce_empty_axes_and_noop(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    int64_t d[2] = {2, 3}, none[1] = {0};
    zn_view in[2] = {tu_view(ZN_F32, x, 2, d), tu_view(ZN_I64, none, 1, (int64_t[]){0})}, out;
    /* an empty axes input reduces everything */
    assert_int_equal(infer_run(ZN_OP_REDUCE_SUM, NULL, 0, in, 2, &out, y), ZN_OK);
    assert_true(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == 1);
    tu_assert_close(y, ((float[]){21}), 1, 0, 0);
    /* ... unless noop_with_empty_axes: identity */
    zn_attr noop = tu_attr_int("noop_with_empty_axes", 1);
    assert_int_equal(infer_run(ZN_OP_REDUCE_SUM, &noop, 1, in, 2, &out, y), ZN_OK);
    assert_true(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 3);
    tu_assert_close(y, x, 6, 0, 0);
    assert_int_equal(infer_run(ZN_OP_REDUCE_MEAN, &noop, 1, in, 1, &out, y), ZN_OK);
    tu_assert_close(y, x, 6, 0, 0);
    /* keepdims=0 over all axes gives a scalar */
    zn_attr k0 = tu_attr_int("keepdims", 0);
    assert_int_equal(infer_run(ZN_OP_REDUCE_MEAN, &k0, 1, in, 1, &out, y), ZN_OK);
    assert_int_equal(out.rank, 0);
    tu_assert_close(y, ((float[]){3.5f}), 1, 0, 0);
    /* a rank-0 input */
    float s = 4.0f;
    zn_view sc = tu_view(ZN_F32, &s, 0, NULL);
    assert_int_equal(infer_run(ZN_OP_REDUCE_PROD, NULL, 0, &sc, 1, &out, y), ZN_OK);
    assert_int_equal(out.rank, 0);
    tu_assert_close(y, ((float[]){4}), 1, 0, 0);
}

static void test_reduce_zero_size_and_nan(void **state) {
    (void)state;
    float x[6] = {1, NAN, 3, 4, 5, 6}, y[3];
    int64_t d[2] = {2, 3}, ax1[1] = {1};
    zn_attr a = tu_attr_ints("axes", ax1, 1);
    zn_view in = tu_view(ZN_F32, x, 2, d), out;
    const zn_op ops[] = {ZN_OP_REDUCE_MAX, ZN_OP_REDUCE_MIN, ZN_OP_REDUCE_SUM, ZN_OP_REDUCE_MEAN, ZN_OP_REDUCE_PROD};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(infer_run(ops[i], &a, 1, &in, 1, &out, y), ZN_OK);
        assert_true(isnan(y[0]));
        assert_false(isnan(y[1]));
    }
    /* NaN first, then a larger value: Max still NaN */
    float z[2] = {NAN, 100}, zy[1];
    zn_view zin = tu_view(ZN_F32, z, 1, (int64_t[]){2});
    assert_int_equal(infer_run(ZN_OP_REDUCE_MAX, NULL, 0, &zin, 1, &out, zy), ZN_OK);
    assert_true(isnan(zy[0]));
    /* reducing an empty dim: the identities */
    int64_t d0[2] = {2, 0};
    zn_view e = tu_view(ZN_F32, x, 2, d0);
    float want[5] = {-INFINITY, INFINITY, 0, NAN, 1};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(infer_run(ops[i], &a, 1, &e, 1, &out, y), ZN_OK);
        assert_true(out.dims[0] == 2 && out.dims[1] == 1);
        tu_assert_close(y, ((float[]){want[i], want[i]}), 2, 0, 0);
    }
}

static void test_reduce_i64(void **state) {
    (void)state;
    int64_t x[6] = {1, -2, 3, 4, 5, -6}, y[3];
    int64_t d[2] = {2, 3}, ax0[1] = {0};
    zn_attr a[2] = {tu_attr_ints("axes", ax0, 1), tu_attr_int("keepdims", 0)};
    zn_view in = tu_view(ZN_I64, x, 2, d), out;
    assert_int_equal(infer_run(ZN_OP_REDUCE_SUM, a, 2, &in, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){5, 3, -3}), 24);
    assert_int_equal(infer_run(ZN_OP_REDUCE_PROD, a, 2, &in, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){4, -10, -18}), 24);
    assert_int_equal(infer_run(ZN_OP_REDUCE_MAX, a, 2, &in, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){4, 5, 3}), 24);
    assert_int_equal(infer_run(ZN_OP_REDUCE_MIN, a, 2, &in, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){1, -2, -6}), 24);
    /* ReduceMean on integers is not handled: refused, not crashed on */
    assert_int_equal(infer_run(ZN_OP_REDUCE_MEAN, a, 2, &in, 1, &out, y), ZN_ERR_UNSUPPORTED);
}

/* ---- ArgMax ---------------------------------------------------------------------------- */

static void test_argmax(void **state) {
    (void)state;
    float x[6] = {1, 5, 5, 7, 2, 7};
    int64_t d[2] = {2, 3}, y[6];
    zn_view in = tu_view(ZN_F32, x, 2, d), out;
    zn_attr a[3] = {tu_attr_int("axis", 1), tu_attr_int("keepdims", 1), tu_attr_int("select_last_index", 0)};
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, a, 3, &in, 1, &out, y), ZN_OK);
    assert_true(out.dtype == ZN_I64 && out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 1);
    assert_memory_equal(y, ((int64_t[]){1, 0}), 16);
    a[2].i = 1;
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, a, 3, &in, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){2, 2}), 16);
    /* default axis 0, keepdims 0, negative axis */
    a[0].i = -2;
    a[1].i = 0;
    a[2].i = 0;
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, a, 3, &in, 1, &out, y), ZN_OK);
    assert_true(out.rank == 1 && out.dims[0] == 3);
    assert_memory_equal(y, ((int64_t[]){1, 0, 1}), 24);
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, NULL, 0, &in, 1, &out, y), ZN_OK);
    assert_true(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == 3);
    /* NaN wins (first NaN, as numpy) */
    float xn[4] = {1, NAN, 9, NAN};
    zn_view nin = tu_view(ZN_F32, xn, 1, (int64_t[]){4});
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, NULL, 0, &nin, 1, &out, y), ZN_OK);
    assert_int_equal(y[0], 1);
    /* i64 input */
    int64_t xi[6] = {3, 9, 2, 9, 1, 0};
    zn_view iin = tu_view(ZN_I64, xi, 2, d);
    a[0].i = 1;
    assert_int_equal(infer_run(ZN_OP_ARG_MAX, a, 1, &iin, 1, &out, y), ZN_OK);
    assert_memory_equal(y, ((int64_t[]){1, 0}), 16);
    /* random, every axis of a rank-4 tensor */
    tu_rng r = tu_rng_new(tu_seed() + 1);
    int64_t d4[4] = {2, 3, 4, 5};
    float x4[120];
    int64_t y4[120];
    for (int i = 0; i < 120; i++) x4[i] = (float)(tu_next(&r) % 7); /* ties happen */
    zn_view in4 = tu_view(ZN_F32, x4, 4, d4);
    for (int axis = 0; axis < 4; axis++)
        for (int last = 0; last < 2; last++) {
            zn_attr at[2] = {tu_attr_int("axis", axis), tu_attr_int("select_last_index", last)};
            assert_int_equal(infer_run(ZN_OP_ARG_MAX, at, 2, &in4, 1, &out, y4), ZN_OK);
            int64_t outer = 1, inner = 1;
            for (int k = 0; k < axis; k++) outer *= d4[k];
            for (int k = axis + 1; k < 4; k++) inner *= d4[k];
            for (int64_t o = 0; o < outer; o++)
                for (int64_t i = 0; i < inner; i++) {
                    int64_t best = 0;
                    for (int64_t k = 1; k < d4[axis]; k++) {
                        float v = x4[(o * d4[axis] + k) * inner + i];
                        float b = x4[(o * d4[axis] + best) * inner + i];
                        if (v > b || (last && v == b)) best = k;
                    }
                    assert_int_equal(y4[o * inner + i], best);
                }
        }
}

/* ---- Softmax --------------------------------------------------------------------------- */

static void ref_softmax(const float *x, float *y, int rank, const int64_t *dims, int axis) {
    int64_t outer = 1, inner = 1, len = dims[axis];
    for (int k = 0; k < axis; k++) outer *= dims[k];
    for (int k = axis + 1; k < rank; k++) inner *= dims[k];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < len; k++) m = fmax(m, x[(o * len + k) * inner + i]);
            for (int64_t k = 0; k < len; k++) s += exp(x[(o * len + k) * inner + i] - m);
            for (int64_t k = 0; k < len; k++)
                y[(o * len + k) * inner + i] = (float)(exp(x[(o * len + k) * inner + i] - m) / s);
        }
}

static void test_softmax(void **state) {
    (void)state;
    float x[3] = {1, 2, 3}, y[3];
    zn_view in = tu_view(ZN_F32, x, 1, (int64_t[]){3}), out;
    assert_int_equal(infer_run(ZN_OP_SOFTMAX, NULL, 0, &in, 1, &out, y), ZN_OK);
    tu_assert_close(y, ((float[]){0.0900305732f, 0.244728471f, 0.665240956f}), 3, 1e-7, 1e-6);
    /* large values do not overflow */
    float big[3] = {1000, 1001, 1002};
    in.data = big;
    assert_int_equal(infer_run(ZN_OP_SOFTMAX, NULL, 0, &in, 1, &out, y), ZN_OK);
    tu_assert_close(y, ((float[]){0.0900305732f, 0.244728471f, 0.665240956f}), 3, 1e-7, 1e-6);
    /* NaN poisons its row only */
    float xn[4] = {1, NAN, 1, 2};
    float yn[4];
    zn_view nin = tu_view(ZN_F32, xn, 2, (int64_t[]){2, 2});
    assert_int_equal(infer_run(ZN_OP_SOFTMAX, NULL, 0, &nin, 1, &out, yn), ZN_OK);
    assert_true(isnan(yn[0]) && isnan(yn[1]));
    tu_assert_close(yn + 2, ((float[]){0.268941421f, 0.731058579f}), 2, 1e-7, 1e-6);
    /* every axis of rank-3 and rank-4 tensors, positive and negative spellings, in place */
    tu_rng r = tu_rng_new(tu_seed() + 2);
    const int64_t shapes[2][4] = {{3, 5, 7, 0}, {2, 3, 4, 5}};
    const int ranks[2] = {3, 4};
    float xs[120], ys[120], want[120];
    for (int s = 0; s < 2; s++)
        for (int axis = -ranks[s]; axis < ranks[s]; axis++) {
            zn_view v = tu_view(ZN_F32, xs, ranks[s], shapes[s]);
            int64_t n = zn_view_numel(&v);
            tu_fill(&r, xs, n, -8, 8);
            ref_softmax(xs, want, ranks[s], shapes[s], axis < 0 ? axis + ranks[s] : axis);
            zn_attr a = tu_attr_int("axis", axis);
            assert_int_equal(infer_run(ZN_OP_SOFTMAX, &a, 1, &v, 1, &out, ys), ZN_OK);
            tu_assert_close(ys, want, n, 1e-7, 1e-5);
            assert_true(kern(ZN_OP_SOFTMAX)->flags & ZN_KERNEL_INPLACE);
            assert_int_equal(infer_run(ZN_OP_SOFTMAX, &a, 1, &v, 1, &out, xs), ZN_OK);
            assert_memory_equal(xs, ys, (size_t)n * sizeof(float));
        }
    /* through a 2-thread pool */
    zn_threadpool *pool = zn_threadpool_new(2);
    assert_non_null(pool);
    int64_t dl[2] = {512, 64};
    float *a = malloc(512 * 64 * 4), *b = malloc(512 * 64 * 4), *w = malloc(512 * 64 * 4);
    tu_fill(&r, a, 512 * 64, -5, 5);
    ref_softmax(a, w, 2, dl, 1);
    zn_view pin = tu_view(ZN_F32, a, 2, dl), pout = tu_view(ZN_F32, b, 2, dl);
    zn_kernel_node node = {ZN_OP_SOFTMAX, "sm", NULL, 0, 1, &pin, 1, &pout, 0};
    zn_exec_ctx ctx = {&node, 1, &pin, 1, &pout, NULL, NULL, pool, NULL};
    assert_int_equal(kern(ZN_OP_SOFTMAX)->run(&ctx), ZN_OK);
    tu_assert_close(b, w, 512 * 64, 1e-7, 1e-5);
    free(a);
    free(b);
    free(w);
    zn_threadpool_free(pool);
}

/* ---- inference errors and the table ---------------------------------------------------- */

static void test_infer_reduce_errors(void **state) {
    (void)state;
    int64_t d[3] = {2, 3, 4}, ax[1] = {3};
    zn_view x = tu_view(ZN_F32, NULL, 3, d), out;
    zn_kernel_node n = {ZN_OP_REDUCE_MEAN, "n", NULL, 0, 1, &x, 1, &out, 0};
    zn_attr a = tu_attr_ints("axes", ax, 1);
    n.attrs = &a;
    n.n_attrs = 1;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_SHAPE);
    assert_msg("[2,3,4]");
    assert_msg("3");
    ax[0] = -4;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_SHAPE);
    assert_msg("-4");
    /* axes input that is not a constant */
    zn_view ins[2] = {x, tu_view(ZN_I64, NULL, 1, (int64_t[]){1})};
    n.attrs = NULL;
    n.n_attrs = 0;
    n.in = ins;
    n.n_in = 2;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_UNSUPPORTED);
    assert_msg("constant");
    /* axes input of the wrong dtype */
    int32_t a32[1] = {0};
    ins[1] = tu_view(ZN_I32, a32, 1, (int64_t[]){1});
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_SHAPE);
    assert_msg("i64");
    /* ArgMax and Softmax axes */
    n.in = &x;
    n.n_in = 1;
    zn_attr ax5 = tu_attr_int("axis", 5);
    n.attrs = &ax5;
    n.n_attrs = 1;
    n.op = ZN_OP_ARG_MAX;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_SHAPE);
    assert_msg("[2,3,4]");
    n.op = ZN_OP_SOFTMAX;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_SHAPE);
    assert_msg("5");
    /* Softmax keeps shape and leaves data alone */
    ax5.i = -3;
    float sentinel;
    out.data = &sentinel;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_OK);
    assert_true(out.rank == 3 && out.dims[2] == 4 && out.dtype == ZN_F32 && out.data == &sentinel);
    /* wrong group */
    n.op = ZN_OP_ADD;
    assert_int_equal(zn_infer_reduce(&n, &out), ZN_ERR_UNSUPPORTED);
}

static void test_table(void **state) {
    (void)state;
    const zn_op ops[] = {ZN_OP_REDUCE_MEAN, ZN_OP_REDUCE_SUM, ZN_OP_REDUCE_MAX, ZN_OP_REDUCE_MIN,
                         ZN_OP_REDUCE_PROD, ZN_OP_ARG_MAX, ZN_OP_SOFTMAX};
    const char *names[] = {"ref.reducemean", "ref.reducesum", "ref.reducemax", "ref.reducemin",
                           "ref.reduceprod", "ref.argmax", "ref.softmax"};
    assert_int_equal(T->count, 7);
    for (int i = 0; i < 7; i++) {
        const zn_kernel_spec *k = kern(ops[i]);
        assert_string_equal(k->name, names[i]);
        assert_int_equal(k->backend, ZN_BACKEND_CPU);
        assert_int_equal(k->priority, 0);
    }
    /* supports() refuses bad axes and dtypes instead of crashing */
    float x[4] = {0};
    int64_t ax[1] = {2}, y[4];
    zn_attr a = tu_attr_ints("axes", ax, 1);
    zn_view in = tu_view(ZN_F32, x, 1, (int64_t[]){4}), out = tu_view(ZN_F32, y, 1, (int64_t[]){1});
    assert_int_equal(tu_run_kernel(kern(ZN_OP_REDUCE_SUM), &a, 1, &in, 1, &out, 1), ZN_ERR_UNSUPPORTED);
    zn_view bin = tu_view(ZN_BOOL, x, 1, (int64_t[]){4});
    assert_int_equal(tu_run_kernel(kern(ZN_OP_SOFTMAX), NULL, 0, &bin, 1, &out, 1), ZN_ERR_UNSUPPORTED);
    zn_attr axb = tu_attr_int("axis", 1);
    out.dtype = ZN_I64;
    assert_int_equal(tu_run_kernel(kern(ZN_OP_ARG_MAX), &axb, 1, &in, 1, &out, 1), ZN_ERR_UNSUPPORTED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_hand),
        cmocka_unit_test(test_reduce_all_axes),
        cmocka_unit_test(test_reduce_empty_axes_and_noop),
        cmocka_unit_test(test_reduce_zero_size_and_nan),
        cmocka_unit_test(test_reduce_i64),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_infer_reduce_errors),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
