/* test_ref_shape.c — the reference shape / data-movement kernels and their shape inference:
 * hand-computed cases, random inputs against plain index arithmetic written here, every dtype
 * by element size, and the error messages. */
#include "tests/test_util.h"

#include <limits.h>

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/cpu_tables.h"

/* ---- harness ------------------------------------------------------------------------------ */

static zn_status infer_n(zn_op op, const zn_attr *attrs, int na, const zn_view *in, int n_in,
                         zn_view *out, int n_out) {
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    memset(out, 0, sizeof(zn_view) * (size_t)n_out);
    node.op = op;
    node.name = "n";
    node.attrs = attrs;
    node.n_attrs = na;
    node.n_in = n_in;
    node.in = in;
    node.n_out = n_out;
    node.out = out;
    return zn_infer_shape_ops(&node, out);
}

/* infer, allocate the outputs (free with free_outs), run the reference kernel */
static zn_status run_op(zn_op op, const zn_attr *attrs, int na, const zn_view *in, int n_in,
                        zn_view *out, int n_out) {
    zn_status st = infer_n(op, attrs, na, in, n_in, out, n_out);
    if (st != ZN_OK) return st;
    for (int k = 0; k < n_out; k++) out[k].data = calloc((size_t)zn_view_numel(&out[k]) + 1, 8);
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_shape_table, op);
    assert_non_null(k);
    assert_int_equal(k->backend, ZN_BACKEND_CPU);
    assert_int_equal(k->priority, 0);
    return tu_run_kernel(k, attrs, na, in, n_in, out, n_out);
}

static void free_outs(zn_view *out, int n) {
    for (int k = 0; k < n; k++) {
        free(out[k].data);
        out[k].data = NULL;
    }
}

static void assert_dims(const zn_view *v, int rank, const int64_t *dims) {
    assert_int_equal(v->rank, rank);
    for (int i = 0; i < rank; i++) assert_int_equal(v->dims[i], dims[i]);
}

static void assert_i64(const int64_t *a, const int64_t *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) assert_int_equal(a[i], b[i]);
}

static void unravel(int64_t i, int rank, const int64_t *dims, int64_t *idx) {
    for (int d = rank - 1; d >= 0; d--) {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
}

static int64_t ravel(int rank, const int64_t *dims, const int64_t *idx) {
    int64_t o = 0;
    for (int d = 0; d < rank; d++) o = o * dims[d] + idx[d];
    return o;
}

static bool msg_has(const char *s) { return strstr(zn_last_error()->message, s) != NULL; }

static int64_t I64MAX = INT64_MAX, I64MIN = INT64_MIN;

/* ---- Reshape / Flatten / Squeeze / Unsqueeze / Identity / Dropout ------------------------- */

static void test_reshape(void **state) {
    (void)state;
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    int64_t dx[] = {2, 3, 4}, sh[] = {0, -1, 2}, d1[] = {3};
    zn_view in[2] = {tu_view(ZN_F32, x, 3, dx), tu_view(ZN_I64, sh, 1, d1)};
    zn_view out;
    assert_int_equal(run_op(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t want[] = {2, 6, 2};
    assert_dims(&out, 3, want);
    tu_assert_close(out.data, x, 24, 0, 0);
    free_outs(&out, 1);

    /* aliasing: out shares in's memory -> the kernel leaves it alone */
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_shape_table, ZN_OP_RESHAPE);
    assert_true(k->flags & ZN_KERNEL_ALIAS);
    assert_int_equal(infer_n(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_OK);
    out.data = x;
    assert_int_equal(tu_run_kernel(k, NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_true(x[23] == 23.0f);

    /* allowzero=1: 0 is a real 0 (needs an empty input) */
    int64_t dz[] = {0, 3}, shz[] = {3, 0};
    zn_attr az = tu_attr_int("allowzero", 1);
    in[0] = tu_view(ZN_F32, x, 2, dz);
    int64_t d2[] = {2};
    in[1] = tu_view(ZN_I64, shz, 1, d2);
    assert_int_equal(infer_n(ZN_OP_RESHAPE, &az, 1, in, 2, &out, 1), ZN_OK);
    assert_int_equal(out.dims[1], 0);
    assert_int_equal(out.dims[0], 3);
    assert_int_equal(infer_n(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE); /* 0 copies 3 -> 9 != 0 */

    /* errors */
    in[0] = tu_view(ZN_F32, x, 3, dx);
    int64_t bad[] = {5, -1};
    in[1] = tu_view(ZN_I64, bad, 1, d2);
    assert_int_equal(infer_n(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("[2,3,4]"));
    assert_true(msg_has("[5,-1]"));
    int64_t two[] = {-1, -1};
    in[1] = tu_view(ZN_I64, two, 1, d2);
    assert_int_equal(infer_n(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
    in[1] = tu_view(ZN_I64, NULL, 1, d2); /* computed at run time */
    assert_int_equal(infer_n(ZN_OP_RESHAPE, NULL, 0, in, 2, &out, 1), ZN_ERR_UNSUPPORTED);
    assert_true(msg_has("Reshape's shape input is computed at run time"));
    assert_non_null(strstr(zn_last_error()->hint, "--shape"));
}

static void test_flatten_squeeze_unsqueeze(void **state) {
    (void)state;
    int64_t x[30];
    for (int i = 0; i < 30; i++) x[i] = i * 3;
    int64_t dx[] = {2, 1, 3, 5};
    zn_view in[2] = {tu_view(ZN_I64, x, 4, dx)};
    zn_view out;
    static const struct { int64_t axis, a, b; } fl[] = {{0, 1, 30}, {1, 2, 15}, {2, 2, 15}, {-1, 6, 5}, {4, 30, 1}, {-4, 1, 30}};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        zn_attr a = tu_attr_int("axis", fl[i].axis);
        assert_int_equal(run_op(ZN_OP_FLATTEN, &a, 1, in, 1, &out, 1), ZN_OK);
        int64_t want[] = {fl[i].a, fl[i].b};
        assert_dims(&out, 2, want);
        assert_i64(out.data, x, 30);
        free_outs(&out, 1);
    }
    assert_int_equal(run_op(ZN_OP_FLATTEN, NULL, 0, in, 1, &out, 1), ZN_OK); /* default axis 1 */
    assert_int_equal(out.dims[0], 2);
    free_outs(&out, 1);
    zn_attr a5 = tu_attr_int("axis", 5);
    assert_int_equal(infer_n(ZN_OP_FLATTEN, &a5, 1, in, 1, &out, 1), ZN_ERR_SHAPE);

    /* Squeeze: no axes drops every 1; axes attribute (old opsets) and input (13+), negative */
    int64_t d0[] = {1, 2, 1, 3, 1};
    in[0] = tu_view(ZN_I64, x, 5, d0);
    assert_int_equal(run_op(ZN_OP_SQUEEZE, NULL, 0, in, 1, &out, 1), ZN_OK);
    int64_t w1[] = {2, 3};
    assert_dims(&out, 2, w1);
    assert_i64(out.data, x, 6);
    free_outs(&out, 1);
    int64_t ax[] = {-1, 0}, dax[] = {2};
    zn_attr aa = tu_attr_ints("axes", ax, 2);
    assert_int_equal(run_op(ZN_OP_SQUEEZE, &aa, 1, in, 1, &out, 1), ZN_OK);
    int64_t w2[] = {2, 1, 3};
    assert_dims(&out, 3, w2);
    free_outs(&out, 1);
    in[1] = tu_view(ZN_I64, ax, 1, dax);
    assert_int_equal(run_op(ZN_OP_SQUEEZE, NULL, 0, in, 2, &out, 1), ZN_OK);
    assert_dims(&out, 3, w2);
    free_outs(&out, 1);
    int64_t ax1[] = {1};
    int64_t d1[] = {1};
    in[1] = tu_view(ZN_I64, ax1, 1, d1);
    assert_int_equal(infer_n(ZN_OP_SQUEEZE, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("[1,2,1,3,1]"));

    /* Unsqueeze: axes against the output rank, negative allowed */
    int64_t d23[] = {2, 3}, uax[] = {0, -1, 2};
    int64_t d3[] = {3};
    in[0] = tu_view(ZN_I64, x, 2, d23);
    in[1] = tu_view(ZN_I64, uax, 1, d3);
    assert_int_equal(run_op(ZN_OP_UNSQUEEZE, NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t w3[] = {1, 2, 1, 3, 1};
    assert_dims(&out, 5, w3);
    assert_i64(out.data, x, 6);
    free_outs(&out, 1);
    zn_attr ua = tu_attr_ints("axes", uax, 2);
    assert_int_equal(run_op(ZN_OP_UNSQUEEZE, &ua, 1, in, 1, &out, 1), ZN_OK);
    int64_t w4[] = {1, 2, 3, 1};
    assert_dims(&out, 4, w4);
    free_outs(&out, 1);
    int64_t dup[] = {1, -3}, d2[] = {2};
    in[1] = tu_view(ZN_I64, dup, 1, d2); /* -3 of rank 4 is 1 again */
    assert_int_equal(infer_n(ZN_OP_UNSQUEEZE, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
}

static void test_identity_dropout(void **state) {
    (void)state;
    uint16_t h[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[] = {2, 3};
    zn_view in = tu_view(ZN_F16, h, 2, d);
    zn_view out[2];
    assert_int_equal(run_op(ZN_OP_IDENTITY, NULL, 0, &in, 1, out, 1), ZN_OK);
    assert_int_equal(out[0].dtype, ZN_F16);
    assert_memory_equal(out[0].data, h, sizeof h);
    free_outs(out, 1);
    assert_int_equal(run_op(ZN_OP_DROPOUT, NULL, 0, &in, 1, out, 2), ZN_OK);
    assert_int_equal(out[1].dtype, ZN_BOOL);
    assert_memory_equal(out[0].data, h, sizeof h);
    for (int i = 0; i < 6; i++) assert_int_equal(((uint8_t *)out[1].data)[i], 1);
    free_outs(out, 2);
    /* training_mode=true is not inference: refused */
    float ratio = 0.5f;
    uint8_t train = 1;
    zn_view ins[3] = {in, tu_view(ZN_F32, &ratio, 0, NULL), tu_view(ZN_BOOL, &train, 0, NULL)};
    assert_int_equal(run_op(ZN_OP_DROPOUT, NULL, 0, ins, 3, out, 1), ZN_ERR_UNSUPPORTED);
    free_outs(out, 1);
    train = 0;
    assert_int_equal(run_op(ZN_OP_DROPOUT, NULL, 0, ins, 3, out, 1), ZN_OK);
    free_outs(out, 1);
}

/* ---- Transpose ---------------------------------------------------------------------------- */

static void test_transpose(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int64_t dx[] = {2, 3, 4, 5};
    static const int64_t perms[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 2, 1, 3}, {1, 3, 0, 2}, {2, 0, 3, 1}};
    static const zn_dtype dts[] = {ZN_F32, ZN_I64, ZN_F16, ZN_BOOL, ZN_BF16, ZN_I32};
    uint8_t x[120 * 8];
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)tu_next(&r);
    for (size_t di = 0; di < sizeof dts / sizeof dts[0]; di++)
        for (size_t p = 0; p <= sizeof perms / sizeof perms[0]; p++) {
            zn_view in = tu_view(dts[di], x, 4, dx), out;
            int64_t perm[4];
            bool dflt = p == sizeof perms / sizeof perms[0];
            if (dflt) for (int i = 0; i < 4; i++) perm[i] = 3 - i;
            else memcpy(perm, perms[p], sizeof perm);
            zn_attr a = tu_attr_ints("perm", perm, 4);
            assert_int_equal(run_op(ZN_OP_TRANSPOSE, &a, dflt ? 0 : 1, &in, 1, &out, 1), ZN_OK);
            size_t esz = zn_dtype_size(dts[di]);
            for (int64_t o = 0; o < 120; o++) {
                int64_t oi[4], ii[4];
                unravel(o, 4, out.dims, oi);
                for (int d = 0; d < 4; d++) ii[perm[d]] = oi[d];
                assert_memory_equal((char *)out.data + o * (int64_t)esz, x + ravel(4, dx, ii) * (int64_t)esz, esz);
            }
            assert_int_equal(out.dims[0], dx[perm[0]]);
            free_outs(&out, 1);
        }
    int64_t bad[] = {0, 0, 1, 2};
    zn_attr a = tu_attr_ints("perm", bad, 4);
    zn_view in = tu_view(ZN_F32, x, 4, dx), out;
    assert_int_equal(infer_n(ZN_OP_TRANSPOSE, &a, 1, &in, 1, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("[0,0,1,2]"));
}

/* ---- Concat / Split ----------------------------------------------------------------------- */

static void test_concat(void **state) {
    (void)state;
    int64_t a[2 * 1 * 3], b[2 * 4 * 3], c[2 * 2 * 3];
    for (int i = 0; i < 6; i++) a[i] = 100 + i;
    for (int i = 0; i < 24; i++) b[i] = 200 + i;
    for (int i = 0; i < 12; i++) c[i] = 300 + i;
    int64_t da[] = {2, 1, 3}, db[] = {2, 4, 3}, dc[] = {2, 2, 3};
    zn_view in[3] = {tu_view(ZN_I64, a, 3, da), tu_view(ZN_I64, b, 3, db), tu_view(ZN_I64, c, 3, dc)};
    for (int v = 0; v < 2; v++) {
        zn_attr ax = tu_attr_int("axis", v ? -2 : 1);
        zn_view out;
        assert_int_equal(run_op(ZN_OP_CONCAT, &ax, 1, in, 3, &out, 1), ZN_OK);
        int64_t want_d[] = {2, 7, 3};
        assert_dims(&out, 3, want_d);
        const int64_t *y = out.data;
        for (int64_t n = 0; n < 2; n++)
            for (int64_t j = 0; j < 7; j++)
                for (int64_t k = 0; k < 3; k++) {
                    int64_t want = j < 1 ? a[(n * 1 + j) * 3 + k]
                                 : j < 5 ? b[(n * 4 + j - 1) * 3 + k]
                                         : c[(n * 2 + j - 5) * 3 + k];
                    assert_int_equal(y[(n * 7 + j) * 3 + k], want);
                }
        free_outs(&out, 1);
    }
    zn_attr ax0 = tu_attr_int("axis", 0);
    zn_view out;
    assert_int_equal(infer_n(ZN_OP_CONCAT, &ax0, 1, in, 3, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("[2,4,3]"));
    assert_true(msg_has("[2,1,3]"));
}

static void test_split(void **state) {
    (void)state;
    float x[2 * 7];
    for (int i = 0; i < 14; i++) x[i] = (float)i;
    int64_t dx[] = {2, 7};
    zn_view out[3];
    /* 1) split attribute, 2) split input, 3) num_outputs (7 -> 3,3,1), 4) equal split of 6 */
    int64_t sp[] = {2, 4, 1}, d3[] = {3};
    zn_attr attrs[2] = {tu_attr_int("axis", -1), tu_attr_ints("split", sp, 3)};
    zn_view in[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_I64, sp, 1, d3)};
    for (int way = 0; way < 3; way++) {
        int64_t want_sz[3] = {2, 4, 1};
        zn_attr at[2] = {attrs[0], attrs[1]};
        int na = 2, n_in = 1;
        if (way == 1) { na = 1; n_in = 2; }
        if (way == 2) { at[1] = tu_attr_int("num_outputs", 3); want_sz[0] = 3; want_sz[1] = 3; want_sz[2] = 1; }
        assert_int_equal(run_op(ZN_OP_SPLIT, at, na, in, n_in, out, 3), ZN_OK);
        int64_t off = 0;
        for (int k = 0; k < 3; k++) {
            assert_int_equal(out[k].dims[0], 2);
            assert_int_equal(out[k].dims[1], want_sz[k]);
            for (int64_t n = 0; n < 2; n++)
                for (int64_t j = 0; j < want_sz[k]; j++)
                    assert_true(((float *)out[k].data)[n * want_sz[k] + j] == x[n * 7 + off + j]);
            off += want_sz[k];
        }
        free_outs(out, 3);
    }
    int64_t d6[] = {6, 2};
    zn_view in6 = tu_view(ZN_F32, x, 2, d6);
    assert_int_equal(run_op(ZN_OP_SPLIT, NULL, 0, &in6, 1, out, 3), ZN_OK);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(out[k].dims[0], 2);
        tu_assert_close(out[k].data, x + 4 * k, 4, 0, 0);
    }
    free_outs(out, 3);
    int64_t badsp[] = {2, 2, 2};
    zn_attr bad[2] = {tu_attr_int("axis", 1), tu_attr_ints("split", badsp, 3)};
    assert_int_equal(infer_n(ZN_OP_SPLIT, bad, 2, in, 1, out, 3), ZN_ERR_SHAPE);
    assert_true(msg_has("[2,2,2]"));
    assert_true(msg_has("[2,7]"));
}

/* ---- Slice -------------------------------------------------------------------------------- */

static void slice_1d(const int64_t *x, int64_t n, int64_t s, int64_t e, int64_t t,
                     const int64_t *want, int64_t nwant) {
    int64_t dx[] = {n}, d1[] = {1};
    zn_view in[5] = {tu_view(ZN_I64, (void *)x, 1, dx), tu_view(ZN_I64, &s, 1, d1),
                     tu_view(ZN_I64, &e, 1, d1), tu_view(ZN_DTYPE_UNDEFINED, NULL, 0, NULL),
                     tu_view(ZN_I64, &t, 1, d1)};
    zn_view out;
    assert_int_equal(run_op(ZN_OP_SLICE, NULL, 0, in, 5, &out, 1), ZN_OK);
    assert_int_equal(out.rank, 1);
    assert_int_equal(out.dims[0], nwant);
    assert_i64(out.data, want, nwant);
    free_outs(&out, 1);
}

static void test_slice(void **state) {
    (void)state;
    int64_t x[10];
    for (int i = 0; i < 10; i++) x[i] = i;
    { int64_t w[] = {7, 8, 9}; slice_1d(x, 10, -3, I64MAX, 1, w, 3); }
    { int64_t w[] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}; slice_1d(x, 10, -1, I64MIN, -1, w, 10); }
    { int64_t w[] = {9, 7, 5, 3, 1}; slice_1d(x, 10, 100, -100, -2, w, 5); }
    { int64_t w[] = {8, 5}; slice_1d(x, 10, -2, 2, -3, w, 2); }
    { int64_t w[] = {2, 5, 8}; slice_1d(x, 10, 2, 100, 3, w, 3); }
    { int64_t w[] = {0}; slice_1d(x, 10, 12, 20, 1, w, 0); }
    { int64_t w[] = {0}; slice_1d(x, 10, 3, 3, 1, w, 0); }
    { int64_t w[] = {0}; slice_1d(x, 10, 0, 1, I64MAX, w, 1); }
    { int64_t w[] = {9}; slice_1d(x, 10, 9, 0, I64MIN, w, 1); }
    { int64_t w[] = {4, 3, 2, 1, 0}; slice_1d(x, 10, 4, -20, -1, w, 5); }

    /* random 3-D slices with i32 params, negative axes and steps, against index arithmetic */
    tu_rng r = tu_rng_new(tu_seed() + 3);
    int64_t dx[] = {5, 6, 7};
    float data[210];
    for (int i = 0; i < 210; i++) data[i] = (float)i;
    for (int trial = 0; trial < 200; trial++) {
        int32_t s[3], e[3], ax[3], st[3];
        int na = 1 + (int)(tu_next(&r) % 3);
        bool used[3] = {false};
        for (int i = 0; i < na; i++) {
            int a;
            do a = (int)(tu_next(&r) % 3); while (used[a]);
            used[a] = true;
            ax[i] = tu_next(&r) % 2 ? a : a - 3;
            int dim = (int)dx[a];
            s[i] = (int32_t)(tu_next(&r) % (uint64_t)(4 * dim)) - 2 * dim;
            e[i] = (int32_t)(tu_next(&r) % (uint64_t)(4 * dim)) - 2 * dim;
            st[i] = (int32_t)(tu_next(&r) % 7) - 3;
            if (st[i] == 0) st[i] = 1;
        }
        int64_t dn[] = {na};
        zn_view in[5] = {tu_view(ZN_F32, data, 3, dx), tu_view(ZN_I32, s, 1, dn), tu_view(ZN_I32, e, 1, dn),
                         tu_view(ZN_I32, ax, 1, dn), tu_view(ZN_I32, st, 1, dn)};
        zn_view out;
        assert_int_equal(run_op(ZN_OP_SLICE, NULL, 0, in, 5, &out, 1), ZN_OK);
        /* reference: enumerate indices per axis the python way */
        int64_t sel[3][16], cnt[3];
        for (int d = 0; d < 3; d++) {
            cnt[d] = dx[d];
            for (int64_t i = 0; i < dx[d]; i++) sel[d][i] = i;
        }
        for (int i = 0; i < na; i++) {
            int a = ax[i] < 0 ? ax[i] + 3 : ax[i];
            int64_t dim = dx[a], ss = s[i], ee = e[i], tt = st[i];
            if (ss < 0) ss += dim;
            if (ee < 0) ee += dim;
            /* the spec's clamping: starts to [0, dim] (step > 0) or [0, dim-1] (step < 0),
             * ends to [0, dim] or [-1, dim-1] */
            int64_t slo = 0, shi = tt > 0 ? dim : dim - 1, elo = tt > 0 ? 0 : -1, ehi = shi;
            ss = ss < slo ? slo : ss > shi ? shi : ss;
            ee = ee < elo ? elo : ee > ehi ? ehi : ee;
            cnt[a] = 0;
            for (int64_t j = ss; tt > 0 ? j < ee : j > ee; j += tt) sel[a][cnt[a]++] = j;
        }
        assert_int_equal(out.dims[0], cnt[0]);
        assert_int_equal(out.dims[1], cnt[1]);
        assert_int_equal(out.dims[2], cnt[2]);
        const float *y = out.data;
        for (int64_t i = 0; i < cnt[0]; i++)
            for (int64_t j = 0; j < cnt[1]; j++)
                for (int64_t k = 0; k < cnt[2]; k++)
                    assert_true(y[(i * cnt[1] + j) * cnt[2] + k] == data[(sel[0][i] * 6 + sel[1][j]) * 7 + sel[2][k]]);
        free_outs(&out, 1);
    }
    /* errors: step 0, computed starts */
    int64_t z = 0, one = 1, d1[] = {1};
    zn_view in[5] = {tu_view(ZN_F32, data, 3, dx), tu_view(ZN_I64, &z, 1, d1), tu_view(ZN_I64, &one, 1, d1),
                     tu_view(ZN_I64, &z, 1, d1), tu_view(ZN_I64, &z, 1, d1)};
    zn_view out;
    assert_int_equal(infer_n(ZN_OP_SLICE, NULL, 0, in, 5, &out, 1), ZN_ERR_SHAPE);
    in[1].data = NULL;
    assert_int_equal(infer_n(ZN_OP_SLICE, NULL, 0, in, 3, &out, 1), ZN_ERR_UNSUPPORTED);
    assert_true(msg_has("starts"));
}

/* ---- Gather ------------------------------------------------------------------------------- */

static void test_gather(void **state) {
    (void)state;
    float x[3 * 4];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    int64_t dx[] = {3, 4};
    int64_t idx[] = {2, -3, 0, -1}, di[] = {2, 2};
    zn_view in[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_I64, idx, 2, di)};
    zn_view out;
    assert_int_equal(run_op(ZN_OP_GATHER, NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t wd[] = {2, 2, 4};
    assert_dims(&out, 3, wd);
    int rows[] = {2, 0, 0, 2};
    for (int i = 0; i < 4; i++) tu_assert_close((float *)out.data + 4 * i, x + 4 * rows[i], 4, 0, 0);
    free_outs(&out, 1);

    /* axis -1 with i32 indices, bool data */
    uint8_t b[12];
    for (int i = 0; i < 12; i++) b[i] = (uint8_t)(i % 3 == 0);
    int32_t i32[] = {3, -4, 1};
    int64_t d3[] = {3};
    zn_attr ax = tu_attr_int("axis", -1);
    zn_view in2[2] = {tu_view(ZN_BOOL, b, 2, dx), tu_view(ZN_I32, i32, 1, d3)};
    assert_int_equal(run_op(ZN_OP_GATHER, &ax, 1, in2, 2, &out, 1), ZN_OK);
    int64_t wd2[] = {3, 3};
    assert_dims(&out, 2, wd2);
    for (int rr = 0; rr < 3; rr++)
        for (int j = 0; j < 3; j++) {
            int col = i32[j] < 0 ? i32[j] + 4 : i32[j];
            assert_int_equal(((uint8_t *)out.data)[rr * 3 + j], b[rr * 4 + col]);
        }
    free_outs(&out, 1);

    /* scalar index drops the axis */
    int64_t s = 1;
    zn_view in3[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_I64, &s, 0, NULL)};
    assert_int_equal(run_op(ZN_OP_GATHER, NULL, 0, in3, 2, &out, 1), ZN_OK);
    int64_t wd3[] = {4};
    assert_dims(&out, 1, wd3);
    tu_assert_close(out.data, x + 4, 4, 0, 0);
    free_outs(&out, 1);

    /* out of range: constant indices fail at inference, run-time ones in the kernel */
    int64_t oob[] = {0, 3};
    int64_t d2[] = {2};
    zn_view in4[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_I64, oob, 1, d2)};
    assert_int_equal(infer_n(ZN_OP_GATHER, NULL, 0, in4, 2, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("3"));
    in4[1].data = NULL;
    assert_int_equal(infer_n(ZN_OP_GATHER, NULL, 0, in4, 2, &out, 1), ZN_OK);
    in4[1].data = oob;
    float y[8];
    out.data = y;
    assert_int_equal(tu_run_kernel(tu_find_kernel(&zn_ref_shape_table, ZN_OP_GATHER), NULL, 0, in4, 2, &out, 1),
                     ZN_ERR_RUNTIME);
    assert_true(msg_has("index 3"));
    assert_true(msg_has("size 3"));
    float fidx[] = {0};
    zn_view in5[2] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_F32, fidx, 1, d2)};
    assert_int_equal(tu_run_kernel(tu_find_kernel(&zn_ref_shape_table, ZN_OP_GATHER), NULL, 0, in5, 2, &out, 1),
                     ZN_ERR_UNSUPPORTED);
}

/* ---- Expand / Tile ------------------------------------------------------------------------ */

static void test_expand_tile(void **state) {
    (void)state;
    int32_t x[3] = {10, 20, 30};
    int64_t dx[] = {3, 1}, sh[] = {2, 1, 4}, d3[] = {3};
    zn_view in[2] = {tu_view(ZN_I32, x, 2, dx), tu_view(ZN_I64, sh, 1, d3)};
    zn_view out;
    assert_int_equal(run_op(ZN_OP_EXPAND, NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t wd[] = {2, 3, 4};
    assert_dims(&out, 3, wd);
    for (int i = 0; i < 24; i++) assert_int_equal(((int32_t *)out.data)[i], x[(i / 4) % 3]);
    free_outs(&out, 1);
    /* bidirectional: the shape may be smaller than the input */
    int64_t sh2[] = {1, 5}, d2[] = {2};
    in[1] = tu_view(ZN_I64, sh2, 1, d2);
    assert_int_equal(run_op(ZN_OP_EXPAND, NULL, 0, in, 2, &out, 1), ZN_OK);
    int64_t wd2[] = {3, 5};
    assert_dims(&out, 2, wd2);
    for (int i = 0; i < 15; i++) assert_int_equal(((int32_t *)out.data)[i], x[i / 5]);
    free_outs(&out, 1);
    int64_t bad[] = {4, 2};
    in[1] = tu_view(ZN_I64, bad, 1, d2);
    assert_int_equal(infer_n(ZN_OP_EXPAND, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
    assert_true(msg_has("[3,1]"));
    assert_true(msg_has("[4,2]"));

    /* Tile: (2,3) x (2,2) and a random 3-D against modulo indexing */
    float t[6] = {1, 2, 3, 4, 5, 6};
    int64_t dt[] = {2, 3}, rep[] = {2, 2};
    zn_view tin[2] = {tu_view(ZN_F32, t, 2, dt), tu_view(ZN_I64, rep, 1, d2)};
    assert_int_equal(run_op(ZN_OP_TILE, NULL, 0, tin, 2, &out, 1), ZN_OK);
    float want[24] = {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6};
    int64_t wt[] = {4, 6};
    assert_dims(&out, 2, wt);
    tu_assert_close(out.data, want, 24, 0, 0);
    free_outs(&out, 1);
    int64_t x3[2 * 3 * 2], d33[] = {2, 3, 2}, rep3[] = {3, 1, 2};
    for (int i = 0; i < 12; i++) x3[i] = i * i;
    zn_view tin3[2] = {tu_view(ZN_I64, x3, 3, d33), tu_view(ZN_I64, rep3, 1, d3)};
    assert_int_equal(run_op(ZN_OP_TILE, NULL, 0, tin3, 2, &out, 1), ZN_OK);
    int64_t wt3[] = {6, 3, 4};
    assert_dims(&out, 3, wt3);
    for (int64_t o = 0; o < 72; o++) {
        int64_t oi[3], ii[3];
        unravel(o, 3, wt3, oi);
        for (int d = 0; d < 3; d++) ii[d] = oi[d] % d33[d];
        assert_int_equal(((int64_t *)out.data)[o], x3[ravel(3, d33, ii)]);
    }
    free_outs(&out, 1);
    tin[1].dims[0] = 1;
    assert_int_equal(infer_n(ZN_OP_TILE, NULL, 0, tin, 2, &out, 1), ZN_ERR_SHAPE);
}

/* ---- Pad ---------------------------------------------------------------------------------- */

static void test_pad(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6}; /* (2,3) */
    int64_t dx[] = {2, 3}, pads[] = {1, 2, 0, 1}, d4[] = {4}, d0[] = {1};
    float cv = 9;
    zn_view in[4] = {tu_view(ZN_F32, x, 2, dx), tu_view(ZN_I64, pads, 1, d4), tu_view(ZN_F32, &cv, 0, d0),
                     tu_view(ZN_DTYPE_UNDEFINED, NULL, 0, NULL)};
    zn_view out;
    /* constant */
    assert_int_equal(run_op(ZN_OP_PAD, NULL, 0, in, 3, &out, 1), ZN_OK);
    int64_t wd[] = {3, 6};
    assert_dims(&out, 2, wd);
    float wc[18] = {9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9};
    tu_assert_close(out.data, wc, 18, 0, 0);
    free_outs(&out, 1);
    /* edge (numpy.pad mode='edge') */
    zn_attr me = tu_attr_string("mode", "edge");
    assert_int_equal(run_op(ZN_OP_PAD, &me, 1, in, 2, &out, 1), ZN_OK);
    float we[18] = {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6};
    tu_assert_close(out.data, we, 18, 0, 0);
    free_outs(&out, 1);
    /* reflect (numpy.pad mode='reflect') */
    zn_attr mr = tu_attr_string("mode", "reflect");
    assert_int_equal(run_op(ZN_OP_PAD, &mr, 1, in, 2, &out, 1), ZN_OK);
    float wr[18] = {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5};
    tu_assert_close(out.data, wr, 18, 0, 0);
    free_outs(&out, 1);
    /* reflect wider than the dim: 1-D [1,2,3] pads (4, 5) */
    int64_t p1[] = {4, 5}, d2[] = {2}, d3[] = {3};
    zn_view in1[2] = {tu_view(ZN_F32, x, 1, d3), tu_view(ZN_I64, p1, 1, d2)};
    assert_int_equal(run_op(ZN_OP_PAD, &mr, 1, in1, 2, &out, 1), ZN_OK);
    float wr1[12] = {1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
    tu_assert_close(out.data, wr1, 12, 0, 0);
    free_outs(&out, 1);
    /* axes input (negative) and negative pads (crop), default constant 0, i64 data */
    int64_t xi[6] = {1, 2, 3, 4, 5, 6}, pa[] = {-1, 2}, axes[] = {-1}, d1[] = {1};
    zn_view in2[4] = {tu_view(ZN_I64, xi, 2, dx), tu_view(ZN_I64, pa, 1, d2), tu_view(ZN_DTYPE_UNDEFINED, NULL, 0, NULL),
                      tu_view(ZN_I64, axes, 1, d1)};
    assert_int_equal(run_op(ZN_OP_PAD, NULL, 0, in2, 4, &out, 1), ZN_OK);
    int64_t wd2[] = {2, 4};
    assert_dims(&out, 2, wd2);
    int64_t wi[8] = {2, 3, 0, 0, 5, 6, 0, 0};
    assert_i64(out.data, wi, 8);
    free_outs(&out, 1);
    /* f16 constant value by element size */
    uint16_t h[3] = {0x3c00, 0x4000, 0x4200}, hv = 0xbc00;
    zn_view in3[3] = {tu_view(ZN_F16, h, 1, d3), tu_view(ZN_I64, p1, 1, d2), tu_view(ZN_F16, &hv, 0, NULL)};
    p1[0] = 1; p1[1] = 0;
    assert_int_equal(run_op(ZN_OP_PAD, NULL, 0, in3, 3, &out, 1), ZN_OK);
    uint16_t wh[4] = {0xbc00, 0x3c00, 0x4000, 0x4200};
    assert_memory_equal(out.data, wh, sizeof wh);
    free_outs(&out, 1);
    /* errors and refusals */
    zn_attr mw = tu_attr_string("mode", "wrap");
    assert_int_equal(infer_n(ZN_OP_PAD, &mw, 1, in, 2, &out, 1), ZN_ERR_UNSUPPORTED);
    int64_t crop[] = {-3, 0, 0, 0};
    in[1] = tu_view(ZN_I64, crop, 1, d4);
    assert_int_equal(infer_n(ZN_OP_PAD, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
    in[1] = tu_view(ZN_I64, pads, 1, d3);
    assert_int_equal(infer_n(ZN_OP_PAD, NULL, 0, in, 2, &out, 1), ZN_ERR_SHAPE);
}

/* ---- Trilu -------------------------------------------------------------------------------- */

static void test_trilu(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 5);
    float x[2 * 3 * 5];
    tu_fill(&r, x, 30, 1, 2);
    int64_t dx[] = {2, 3, 5};
    for (int upper = 0; upper < 2; upper++)
        for (int64_t k = -4; k <= 6; k++) {
            zn_attr a = tu_attr_int("upper", upper);
            zn_view in[2] = {tu_view(ZN_F32, x, 3, dx), tu_view(ZN_I64, &k, 0, NULL)};
            zn_view out;
            bool use_k = k != 0;
            assert_int_equal(run_op(ZN_OP_TRILU, &a, upper ? (k % 2 ? 0 : 1) : 1, in, use_k ? 2 : 1, &out, 1), ZN_OK);
            for (int b = 0; b < 2; b++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 5; j++) {
                        bool keep = upper ? j - i >= k : j - i <= k;
                        float want = keep ? x[(b * 3 + i) * 5 + j] : 0;
                        assert_true(((float *)out.data)[(b * 3 + i) * 5 + j] == want);
                    }
            free_outs(&out, 1);
        }
    int64_t d1[] = {4};
    zn_view in1 = tu_view(ZN_F32, x, 1, d1), out;
    assert_int_equal(infer_n(ZN_OP_TRILU, NULL, 0, &in1, 1, &out, 1), ZN_ERR_SHAPE);
}

/* ---- Constant / Shape / ConstantOfShape / Range ------------------------------------------- */

static void test_constant(void **state) {
    (void)state;
    zn_view out;
    int32_t tv[6] = {1, -2, 3, -4, 5, -6};
    zn_attr_tensor t = {ZN_I32, 2, {3, 2}, tv};
    zn_attr a;
    memset(&a, 0, sizeof a);
    a.name = "value";
    a.type = ZN_ATTR_TENSOR;
    a.t = &t;
    assert_int_equal(run_op(ZN_OP_CONSTANT, &a, 1, NULL, 0, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_I32);
    int64_t wd[] = {3, 2};
    assert_dims(&out, 2, wd);
    assert_memory_equal(out.data, tv, sizeof tv);
    free_outs(&out, 1);

    zn_attr vf = tu_attr_float("value_float", 2.5f);
    assert_int_equal(run_op(ZN_OP_CONSTANT, &vf, 1, NULL, 0, &out, 1), ZN_OK);
    assert_int_equal(out.rank, 0);
    assert_true(((float *)out.data)[0] == 2.5f);
    free_outs(&out, 1);

    float fl[3] = {1.5f, -2, 3};
    zn_attr vfs;
    memset(&vfs, 0, sizeof vfs);
    vfs.name = "value_floats";
    vfs.type = ZN_ATTR_FLOATS;
    vfs.floats = fl;
    vfs.n = 3;
    assert_int_equal(run_op(ZN_OP_CONSTANT, &vfs, 1, NULL, 0, &out, 1), ZN_OK);
    assert_int_equal(out.dims[0], 3);
    tu_assert_close(out.data, fl, 3, 0, 0);
    free_outs(&out, 1);

    zn_attr vi = tu_attr_int("value_int", -7);
    assert_int_equal(run_op(ZN_OP_CONSTANT, &vi, 1, NULL, 0, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_I64);
    assert_int_equal(((int64_t *)out.data)[0], -7);
    free_outs(&out, 1);

    int64_t iv[4] = {4, 3, 2, 1};
    zn_attr vis = tu_attr_ints("value_ints", iv, 4);
    assert_int_equal(run_op(ZN_OP_CONSTANT, &vis, 1, NULL, 0, &out, 1), ZN_OK);
    assert_int_equal(out.dims[0], 4);
    assert_i64(out.data, iv, 4);
    free_outs(&out, 1);

    zn_attr vs = tu_attr_string("value_string", "x");
    assert_int_equal(infer_n(ZN_OP_CONSTANT, &vs, 1, NULL, 0, &out, 1), ZN_ERR_UNSUPPORTED);
}

static void test_shape_op(void **state) {
    (void)state;
    int64_t dx[] = {2, 3, 5, 7};
    zn_view in = tu_view(ZN_F32, NULL, 4, dx), out;
    float dummy[210];
    in.data = dummy;
    static const struct { int has_s, has_e; int64_t s, e; int n; int64_t first; } cases[] = {
        {0, 0, 0, 0, 4, 2}, {1, 0, 1, 0, 3, 3}, {1, 0, -1, 0, 1, 7}, {0, 1, 0, -1, 3, 2},
        {1, 1, -3, 3, 2, 3}, {1, 1, 2, 100, 2, 5}, {1, 1, -100, 1, 1, 2}, {1, 1, 3, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zn_attr at[2];
        int na = 0;
        if (cases[i].has_s) at[na++] = tu_attr_int("start", cases[i].s);
        if (cases[i].has_e) at[na++] = tu_attr_int("end", cases[i].e);
        assert_int_equal(run_op(ZN_OP_SHAPE, at, na, &in, 1, &out, 1), ZN_OK);
        assert_int_equal(out.dtype, ZN_I64);
        assert_int_equal(out.rank, 1);
        assert_int_equal(out.dims[0], cases[i].n);
        if (cases[i].n) assert_int_equal(((int64_t *)out.data)[0], cases[i].first);
        if (cases[i].n == 4) assert_i64(out.data, dx, 4);
        free_outs(&out, 1);
    }
}

static void test_constant_of_shape(void **state) {
    (void)state;
    int64_t sh[] = {2, 3}, d2[] = {2}, d0[] = {0};
    zn_view in = tu_view(ZN_I64, sh, 1, d2), out;
    assert_int_equal(run_op(ZN_OP_CONSTANT_OF_SHAPE, NULL, 0, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_F32);
    assert_dims(&out, 2, sh);
    float z[6] = {0};
    tu_assert_close(out.data, z, 6, 0, 0);
    free_outs(&out, 1);
    int64_t v = 7;
    zn_attr_tensor t = {ZN_I64, 1, {1}, &v};
    zn_attr a;
    memset(&a, 0, sizeof a);
    a.name = "value";
    a.type = ZN_ATTR_TENSOR;
    a.t = &t;
    assert_int_equal(run_op(ZN_OP_CONSTANT_OF_SHAPE, &a, 1, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_I64);
    for (int i = 0; i < 6; i++) assert_int_equal(((int64_t *)out.data)[i], 7);
    free_outs(&out, 1);
    in = tu_view(ZN_I64, sh, 1, d0); /* empty shape: a scalar */
    assert_int_equal(run_op(ZN_OP_CONSTANT_OF_SHAPE, &a, 1, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.rank, 0);
    assert_int_equal(((int64_t *)out.data)[0], 7);
    free_outs(&out, 1);
    in = tu_view(ZN_I64, NULL, 1, d2);
    assert_int_equal(infer_n(ZN_OP_CONSTANT_OF_SHAPE, NULL, 0, &in, 1, &out, 1), ZN_ERR_UNSUPPORTED);
    assert_true(msg_has("computed at run time"));
}

static void test_range(void **state) {
    (void)state;
    zn_view out;
    float fs = 0, fl = 1, fd = 0.3f;
    zn_view fin[3] = {tu_view(ZN_F32, &fs, 0, NULL), tu_view(ZN_F32, &fl, 0, NULL), tu_view(ZN_F32, &fd, 0, NULL)};
    assert_int_equal(run_op(ZN_OP_RANGE, NULL, 0, fin, 3, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_F32);
    assert_int_equal(out.dims[0], 4);
    float wf[4] = {0, 0.3f, 0.6f, 0.9f};
    tu_assert_close(out.data, wf, 4, 1e-6, 1e-6);
    free_outs(&out, 1);

    int64_t is = 10, il = 2, id = -3;
    zn_view iin[3] = {tu_view(ZN_I64, &is, 0, NULL), tu_view(ZN_I64, &il, 0, NULL), tu_view(ZN_I64, &id, 0, NULL)};
    assert_int_equal(run_op(ZN_OP_RANGE, NULL, 0, iin, 3, &out, 1), ZN_OK);
    int64_t wi[3] = {10, 7, 4};
    assert_int_equal(out.dims[0], 3);
    assert_i64(out.data, wi, 3);
    free_outs(&out, 1);
    il = 11; /* wrong direction: empty */
    assert_int_equal(run_op(ZN_OP_RANGE, NULL, 0, iin, 3, &out, 1), ZN_OK);
    assert_int_equal(out.dims[0], 0);
    free_outs(&out, 1);

    int32_t s32 = -5, l32 = 6, d32 = 4;
    zn_view i32in[3] = {tu_view(ZN_I32, &s32, 0, NULL), tu_view(ZN_I32, &l32, 0, NULL), tu_view(ZN_I32, &d32, 0, NULL)};
    assert_int_equal(run_op(ZN_OP_RANGE, NULL, 0, i32in, 3, &out, 1), ZN_OK);
    assert_int_equal(out.dims[0], 3);
    int32_t w32[3] = {-5, -1, 3};
    assert_memory_equal(out.data, w32, sizeof w32);
    free_outs(&out, 1);

    id = 0;
    assert_int_equal(infer_n(ZN_OP_RANGE, NULL, 0, iin, 3, &out, 1), ZN_ERR_SHAPE);
    iin[1].data = NULL;
    assert_int_equal(infer_n(ZN_OP_RANGE, NULL, 0, iin, 3, &out, 1), ZN_ERR_UNSUPPORTED);
    assert_true(msg_has("limit"));
}

static void test_table(void **state) {
    (void)state;
    static const zn_op ops[] = {ZN_OP_RESHAPE, ZN_OP_TRANSPOSE, ZN_OP_FLATTEN, ZN_OP_CONCAT, ZN_OP_SPLIT,
                                ZN_OP_SLICE, ZN_OP_GATHER, ZN_OP_SQUEEZE, ZN_OP_UNSQUEEZE, ZN_OP_EXPAND,
                                ZN_OP_TILE, ZN_OP_PAD, ZN_OP_TRILU, ZN_OP_IDENTITY, ZN_OP_DROPOUT,
                                ZN_OP_CONSTANT, ZN_OP_SHAPE, ZN_OP_CONSTANT_OF_SHAPE, ZN_OP_RANGE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const zn_kernel_spec *k = tu_find_kernel(&zn_ref_shape_table, ops[i]);
        assert_non_null(k);
        assert_non_null(k->supports);
        assert_int_equal(strncmp(k->name, "ref.", 4), 0);
        bool alias = ops[i] == ZN_OP_RESHAPE || ops[i] == ZN_OP_FLATTEN || ops[i] == ZN_OP_SQUEEZE ||
                     ops[i] == ZN_OP_UNSQUEEZE || ops[i] == ZN_OP_IDENTITY || ops[i] == ZN_OP_DROPOUT;
        assert_int_equal((k->flags & ZN_KERNEL_ALIAS) != 0, alias);
    }
    assert_int_equal(tu_find_kernel(&zn_ref_shape_table, ZN_OP_CAST), NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape),     cmocka_unit_test(test_flatten_squeeze_unsqueeze),
        cmocka_unit_test(test_identity_dropout), cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_concat),      cmocka_unit_test(test_split),
        cmocka_unit_test(test_slice),       cmocka_unit_test(test_gather),
        cmocka_unit_test(test_expand_tile), cmocka_unit_test(test_pad),
        cmocka_unit_test(test_trilu),       cmocka_unit_test(test_constant),
        cmocka_unit_test(test_shape_op),    cmocka_unit_test(test_constant_of_shape),
        cmocka_unit_test(test_range),       cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
