/* test_ref_conv.c — the reference Conv / MaxPool / AveragePool / GlobalAveragePool kernels and
 * their shape inference, against hand-computed values and direct loops in double precision. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/threadpool.h"

static zn_status run_pool(const zn_kernel_spec *k, const zn_attr *attrs, int n_attrs,
                          const zn_view *in, int n_in, zn_view *out, int n_out,
                          zn_threadpool *pool) {
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    node.op = k->op;
    node.name = "test_node";
    node.attrs = attrs;
    node.n_attrs = n_attrs;
    node.n_in = n_in;
    node.in = in;
    node.n_out = n_out;
    node.out = out;
    if (k->supports && !k->supports(&node)) return ZN_ERR_UNSUPPORTED;
    zn_kernel_prep prep = {0};
    if (k->prepare && k->prepare(&node, &prep) != ZN_OK) return ZN_ERR_RUNTIME;
    void *scratch = prep.scratch_bytes ? malloc(prep.scratch_bytes) : NULL;
    zn_exec_ctx ctx = {&node, n_in, in, n_out, out, prep.state, scratch, pool, NULL};
    zn_status st = k->run(&ctx);
    free(scratch);
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

static zn_status infer(zn_op op, const zn_attr *attrs, int n_attrs, const zn_view *in, int n_in,
                       zn_view *out, int n_out) {
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.name = "n";
    node.attrs = attrs;
    node.n_attrs = n_attrs;
    node.n_in = n_in;
    node.in = in;
    node.n_out = n_out;
    node.out = out;
    return zn_infer_conv(&node, out);
}

static int64_t numel(int rank, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= d[i];
    return n;
}

/* ---- hand-computed ------------------------------------------------------------------------ */

static void test_conv_hand(void **state) {
    (void)state;
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {0.5f}, y[4];
    float want[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    int64_t dx[] = {1, 1, 3, 3}, dw[] = {1, 1, 2, 2}, db[] = {1};
    zn_view in[3] = {tu_view(ZN_F32, x, 4, dx), tu_view(ZN_F32, w, 4, dw), tu_view(ZN_F32, b, 1, db)};
    zn_view out;
    assert_int_equal(infer(ZN_OP_CONV, NULL, 0, in, 3, &out, 1), ZN_OK);
    assert_int_equal(out.rank, 4);
    assert_int_equal(out.dims[2], 2);
    assert_int_equal(out.dims[3], 2);
    out.data = y;
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_conv_table, ZN_OP_CONV);
    assert_non_null(k);
    assert_string_equal(k->name, "ref.conv");
    assert_int_equal(tu_run_kernel(k, NULL, 0, in, 3, &out, 1), ZN_OK);
    tu_assert_close(y, want, 4, 0, 0);

    /* pads 1, stride 2: corners of the padded 5x5 grid */
    int64_t pads[] = {1, 1, 1, 1}, strides[] = {2, 2};
    zn_attr at[] = {tu_attr_ints("pads", pads, 4), tu_attr_ints("strides", strides, 2)};
    /* windows start at -1: (0,0) sees x[0][0] only, (1,1) sees rows 1..2 x cols 1..2 */
    float y2[4], want2[4] = {1 + 0.5f, 2 + 3 + 0.5f, 4 + 7 + 0.5f, 5 + 6 + 8 + 9 + 0.5f};
    assert_int_equal(infer(ZN_OP_CONV, at, 2, in, 3, &out, 1), ZN_OK);
    assert_int_equal(out.dims[2], 2);
    out.data = y2;
    assert_int_equal(tu_run_kernel(k, at, 2, in, 3, &out, 1), ZN_OK);
    tu_assert_close(y2, want2, 4, 0, 0);
}

static void test_pool_hand(void **state) {
    (void)state;
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1); /* 4x4: 1..16 */
    int64_t dx[] = {1, 1, 4, 4}, ks[] = {3, 3}, st[] = {2, 2}, pads[] = {1, 1, 1, 1};
    zn_view in = tu_view(ZN_F32, x, 4, dx);
    zn_attr at[4] = {tu_attr_ints("kernel_shape", ks, 2), tu_attr_ints("strides", st, 2),
                     tu_attr_ints("pads", pads, 4), tu_attr_int("count_include_pad", 0)};
    zn_view out;
    assert_int_equal(infer(ZN_OP_AVERAGE_POOL, at, 4, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dims[2], 2);
    assert_int_equal(out.dims[3], 2);
    float y[4];
    out.data = y;
    const zn_kernel_spec *avg = tu_find_kernel(&zn_ref_conv_table, ZN_OP_AVERAGE_POOL);
    assert_int_equal(tu_run_kernel(avg, at, 4, &in, 1, &out, 1), ZN_OK);
    /* window (0,0): rows -1..1, cols -1..1 -> {1,2,5,6}; (0,1): cols 1..3 -> {2,3,4,6,7,8} */
    float want[4] = {(1 + 2 + 5 + 6) / 4.0f, (2 + 3 + 4 + 6 + 7 + 8) / 6.0f,
                     (5 + 6 + 9 + 10 + 13 + 14) / 6.0f, (6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16) / 9.0f};
    tu_assert_close(y, want, 4, 1e-6, 1e-6);
    at[3] = tu_attr_int("count_include_pad", 1);
    assert_int_equal(tu_run_kernel(avg, at, 4, &in, 1, &out, 1), ZN_OK);
    float want_pad[4] = {(1 + 2 + 5 + 6) / 9.0f, (2 + 3 + 4 + 6 + 7 + 8) / 9.0f,
                         (5 + 6 + 9 + 10 + 13 + 14) / 9.0f, want[3]};
    tu_assert_close(y, want_pad, 4, 1e-6, 1e-6);

    /* MaxPool 2x2 stride 2 on 5x5 with ceil_mode: out 3x3, the last windows hang over */
    float x5[25];
    for (int i = 0; i < 25; i++) x5[i] = (float)((i * 7) % 25);
    int64_t d5[] = {1, 1, 5, 5}, k2[] = {2, 2};
    zn_view in5 = tu_view(ZN_F32, x5, 4, d5);
    zn_attr mat[3] = {tu_attr_ints("kernel_shape", k2, 2), tu_attr_ints("strides", k2, 2),
                      tu_attr_int("ceil_mode", 1)};
    assert_int_equal(infer(ZN_OP_MAX_POOL, mat, 3, &in5, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dims[2], 3);
    assert_int_equal(out.dims[3], 3);
    assert_int_equal(infer(ZN_OP_MAX_POOL, mat, 2, &in5, 1, &out, 1), ZN_OK); /* floor */
    assert_int_equal(out.dims[2], 2);
    assert_int_equal(infer(ZN_OP_MAX_POOL, mat, 3, &in5, 1, &out, 1), ZN_OK);
    float y9[9], want9[9];
    for (int oh = 0; oh < 3; oh++)
        for (int ow = 0; ow < 3; ow++) {
            float m = -1;
            for (int a = 0; a < 2; a++)
                for (int c = 0; c < 2; c++) {
                    int ih = oh * 2 + a, iw = ow * 2 + c;
                    if (ih < 5 && iw < 5 && x5[ih * 5 + iw] > m) m = x5[ih * 5 + iw];
                }
            want9[oh * 3 + ow] = m;
        }
    out.data = y9;
    const zn_kernel_spec *mx = tu_find_kernel(&zn_ref_conv_table, ZN_OP_MAX_POOL);
    assert_int_equal(tu_run_kernel(mx, mat, 3, &in5, 1, &out, 1), ZN_OK);
    tu_assert_close(y9, want9, 9, 0, 0);

    /* ceil_mode where the last window would start in the end padding: in 4, k 2, s 2, pads 0,1 */
    int64_t d4[] = {1, 1, 4}, k1[] = {2}, s1[] = {2}, p1[] = {0, 1};
    zn_view in4 = tu_view(ZN_F32, x, 3, d4);
    zn_attr cat[4] = {tu_attr_ints("kernel_shape", k1, 1), tu_attr_ints("strides", s1, 1),
                      tu_attr_ints("pads", p1, 2), tu_attr_int("ceil_mode", 1)};
    assert_int_equal(infer(ZN_OP_MAX_POOL, cat, 4, &in4, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dims[2], 2);
}

static void test_gap(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    int64_t dx[] = {2, 3, 5, 7};
    float x[210], y[6], want[6];
    tu_fill(&r, x, 210, -1, 1);
    for (int p = 0; p < 6; p++) {
        double s = 0;
        for (int i = 0; i < 35; i++) s += x[p * 35 + i];
        want[p] = (float)(s / 35);
    }
    zn_view in = tu_view(ZN_F32, x, 4, dx), out;
    assert_int_equal(infer(ZN_OP_GLOBAL_AVERAGE_POOL, NULL, 0, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.rank, 4);
    assert_int_equal(out.dims[1], 3);
    assert_int_equal(out.dims[2], 1);
    assert_int_equal(out.dims[3], 1);
    out.data = y;
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_conv_table, ZN_OP_GLOBAL_AVERAGE_POOL);
    assert_int_equal(tu_run_kernel(k, NULL, 0, &in, 1, &out, 1), ZN_OK);
    tu_assert_close(y, want, 6, 1e-6, 1e-5);
}

/* ---- random against direct loops ---------------------------------------------------------- */

typedef struct conv_case {
    int nsp;
    int64_t N, C, in[3], M, group, k[3], s[3], d[3], pads[6];
    const char *auto_pad;
    bool bias;
} conv_case;

/* pads actually used, from the output sizes (computed independently of the kernel) */
static void case_pads(const conv_case *c, const int64_t *out, int64_t *pb, int64_t *pe) {
    for (int i = 0; i < c->nsp; i++) {
        int64_t ek = (c->k[i] - 1) * c->d[i] + 1;
        if (c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0) {
            int64_t total = (out[i] - 1) * c->s[i] + ek - c->in[i];
            if (total < 0) total = 0;
            pb[i] = strcmp(c->auto_pad, "SAME_UPPER") == 0 ? total / 2 : (total + 1) / 2;
            pe[i] = total - pb[i];
        } else if (c->auto_pad && strcmp(c->auto_pad, "VALID") == 0) {
            pb[i] = pe[i] = 0;
        } else {
            pb[i] = c->pads[i];
            pe[i] = c->pads[c->nsp + i];
        }
    }
}

static int build_attrs(const conv_case *c, zn_attr *at, int64_t *pads_buf) {
    int na = 0;
    at[na++] = tu_attr_int("group", c->group);
    at[na++] = tu_attr_ints("strides", (int64_t *)c->s, c->nsp);
    at[na++] = tu_attr_ints("dilations", (int64_t *)c->d, c->nsp);
    if (c->auto_pad) at[na++] = tu_attr_string("auto_pad", c->auto_pad);
    else {
        memcpy(pads_buf, c->pads, sizeof(int64_t) * 6);
        at[na++] = tu_attr_ints("pads", pads_buf, 2 * c->nsp);
    }
    return na;
}

static void naive_conv(const conv_case *c, const float *x, const float *w, const float *b,
                       const int64_t *out, const int64_t *pb, float *y) {
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1}, D[3] = {1, 1, 1}, P[3] = {0, 0, 0};
    int off = 3 - c->nsp;
    for (int i = 0; i < c->nsp; i++) {
        I[off + i] = c->in[i]; O[off + i] = out[i]; K[off + i] = c->k[i];
        S[off + i] = c->s[i]; D[off + i] = c->d[i]; P[off + i] = pb[i];
    }
    int64_t cg = c->C / c->group, mg = c->M / c->group;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++) {
            int64_t g = m / mg;
            for (int64_t o0 = 0; o0 < O[0]; o0++)
                for (int64_t o1 = 0; o1 < O[1]; o1++)
                    for (int64_t o2 = 0; o2 < O[2]; o2++) {
                        double acc = b ? b[m] : 0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t k0 = 0; k0 < K[0]; k0++)
                                for (int64_t k1 = 0; k1 < K[1]; k1++)
                                    for (int64_t k2 = 0; k2 < K[2]; k2++) {
                                        int64_t i0 = o0 * S[0] - P[0] + k0 * D[0];
                                        int64_t i1 = o1 * S[1] - P[1] + k1 * D[1];
                                        int64_t i2 = o2 * S[2] - P[2] + k2 * D[2];
                                        if (i0 < 0 || i0 >= I[0] || i1 < 0 || i1 >= I[1] || i2 < 0 || i2 >= I[2]) continue;
                                        int64_t xc = g * cg + ci;
                                        double xv = x[(((n * c->C + xc) * I[0] + i0) * I[1] + i1) * I[2] + i2];
                                        double wv = w[(((m * cg + ci) * K[0] + k0) * K[1] + k1) * K[2] + k2];
                                        acc += xv * wv;
                                    }
                        y[(((n * c->M + m) * O[0] + o0) * O[1] + o1) * O[2] + o2] = (float)acc;
                    }
        }
}

static void test_conv_random(void **state) {
    (void)state;
    static const conv_case cases[] = {
        /* nsp N C  in          M group k          s          d          pads                auto  bias */
        {2, 1, 3, {7, 9}, 4, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, true},
        {2, 2, 4, {8, 7}, 6, 2, {3, 2}, {2, 1}, {1, 1}, {0, 1, 2, 0}, NULL, true},    /* groups, asymmetric pads */
        {2, 1, 5, {9, 9}, 5, 5, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, false},   /* depthwise */
        {2, 1, 4, {6, 6}, 8, 4, {3, 3}, {2, 2}, {1, 1}, {0}, "SAME_UPPER", true},     /* depthwise x2 */
        {2, 1, 3, {10, 11}, 2, 1, {3, 3}, {1, 2}, {2, 2}, {2, 0, 1, 3}, NULL, true}, /* dilations */
        {2, 1, 2, {7, 8}, 3, 1, {2, 3}, {2, 3}, {1, 1}, {0}, "SAME_UPPER", false},
        {2, 1, 2, {7, 8}, 3, 1, {2, 3}, {2, 3}, {1, 1}, {0}, "SAME_LOWER", true},
        {2, 2, 2, {7, 8}, 3, 1, {2, 3}, {2, 2}, {1, 2}, {0}, "VALID", true},
        {2, 2, 16, {5, 5}, 7, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, true},   /* pointwise */
        {2, 1, 6, {9, 9}, 4, 2, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, NULL, false},   /* strided 1x1 */
        {1, 2, 3, {17}, 4, 1, {5}, {2}, {1}, {2, 1}, NULL, true},                     /* 1-D */
        {1, 1, 4, {13}, 4, 4, {3}, {1}, {3}, {0}, "SAME_LOWER", true},
        {3, 1, 2, {5, 6, 7}, 3, 1, {3, 2, 3}, {1, 2, 2}, {1, 1, 1}, {1, 0, 1, 1, 1, 0}, NULL, true}, /* 3-D */
        {3, 2, 4, {4, 5, 5}, 4, 2, {2, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0}, "SAME_UPPER", false},
        {2, 2, 8, {40, 37}, 16, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, true}, /* big enough to thread */
    };
    tu_rng r = tu_rng_new(tu_seed());
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_conv_table, ZN_OP_CONV);
    zn_threadpool *pool = zn_threadpool_new(2);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const conv_case *c = &cases[ci];
        int rank = 2 + c->nsp;
        int64_t dx[5] = {c->N, c->C}, dw[5] = {c->M, c->C / c->group}, db[1] = {c->M};
        for (int i = 0; i < c->nsp; i++) { dx[2 + i] = c->in[i]; dw[2 + i] = c->k[i]; }
        int64_t nx = numel(rank, dx), nw = numel(rank, dw);
        float *x = malloc(sizeof(float) * (size_t)nx), *w = malloc(sizeof(float) * (size_t)nw), b[16];
        tu_fill(&r, x, nx, -1, 1);
        tu_fill(&r, w, nw, -1, 1);
        tu_fill(&r, b, c->M, -1, 1);
        zn_attr at[5];
        int64_t pads_buf[6];
        int na = build_attrs(c, at, pads_buf);
        zn_view in[3] = {tu_view(ZN_F32, x, rank, dx), tu_view(ZN_F32, w, rank, dw), tu_view(ZN_F32, b, 1, db)};
        int n_in = c->bias ? 3 : 2;
        zn_view out;
        zn_status ist = infer(ZN_OP_CONV, at, na, in, n_in, &out, 1);
        if (ist != ZN_OK) print_error("case %zu: %s\n", ci, zn_last_error()->message);
        assert_int_equal(ist, ZN_OK);
        assert_int_equal(out.rank, rank);
        assert_int_equal(out.dims[1], c->M);
        /* the output sizes, by the ONNX formulas */
        for (int i = 0; i < c->nsp; i++) {
            int64_t ek = (c->k[i] - 1) * c->d[i] + 1, want;
            if (c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0) want = (c->in[i] + c->s[i] - 1) / c->s[i];
            else if (c->auto_pad) want = (c->in[i] - ek) / c->s[i] + 1;
            else want = (c->in[i] + c->pads[i] + c->pads[c->nsp + i] - ek) / c->s[i] + 1;
            assert_int_equal(out.dims[2 + i], want);
        }
        int64_t ny = numel(rank, out.dims);
        float *y = malloc(sizeof(float) * (size_t)ny), *y2 = malloc(sizeof(float) * (size_t)ny);
        float *want = malloc(sizeof(float) * (size_t)ny);
        int64_t pb[3], pe[3];
        case_pads(c, &out.dims[2], pb, pe);
        naive_conv(c, x, w, c->bias ? b : NULL, &out.dims[2], pb, want);
        out.data = y;
        assert_int_equal(tu_run_kernel(k, at, na, in, n_in, &out, 1), ZN_OK);
        tu_assert_close(y, want, ny, 1e-5, 1e-5);
        out.data = y2;
        assert_int_equal(run_pool(k, at, na, in, n_in, &out, 1, pool), ZN_OK);
        tu_assert_close(y2, y, ny, 1e-6, 1e-6);
        free(x); free(w); free(y); free(y2); free(want);
    }
    zn_threadpool_free(pool);
}

typedef struct pool_case {
    int nsp;
    int64_t N, C, in[3], k[3], s[3], d[3], pads[6];
    const char *auto_pad;
    int ceil_mode, count_pad;
} pool_case;

static void test_pool_random(void **state) {
    (void)state;
    static const pool_case cases[] = {
        {2, 1, 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, NULL, 0, 0},
        {2, 2, 3, {7, 8}, {3, 2}, {2, 2}, {1, 1}, {1, 0, 1, 1}, NULL, 1, 0},
        {2, 2, 3, {7, 8}, {3, 2}, {2, 2}, {1, 1}, {1, 0, 1, 1}, NULL, 1, 1},
        {2, 1, 1, {9, 10}, {2, 3}, {3, 2}, {2, 1}, {0, 0, 0, 0}, NULL, 1, 1},
        {2, 1, 2, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, "SAME_UPPER", 0, 0},
        {2, 1, 2, {6, 7}, {3, 3}, {2, 2}, {1, 1}, {0}, "SAME_LOWER", 0, 1},
        {2, 1, 2, {6, 7}, {3, 2}, {1, 2}, {1, 1}, {0}, "VALID", 0, 0},
        {1, 2, 2, {11}, {3}, {2}, {1}, {1, 2}, NULL, 1, 1},
        {3, 1, 2, {5, 6, 5}, {2, 3, 2}, {2, 2, 1}, {1, 1, 1}, {0, 1, 0, 1, 1, 1}, NULL, 1, 0},
        {2, 2, 8, {30, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, 0, 0}, /* big enough to thread */
    };
    tu_rng r = tu_rng_new(tu_seed() + 7);
    zn_threadpool *pool = zn_threadpool_new(2);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        for (int is_max = 0; is_max < 2; is_max++) {
            const pool_case *c = &cases[ci];
            int rank = 2 + c->nsp;
            int64_t dx[5] = {c->N, c->C};
            for (int i = 0; i < c->nsp; i++) dx[2 + i] = c->in[i];
            int64_t nx = numel(rank, dx);
            float *x = malloc(sizeof(float) * (size_t)nx);
            tu_fill(&r, x, nx, -1, 1);
            zn_attr at[7];
            int na = 0;
            int64_t pads[6];
            memcpy(pads, c->pads, sizeof pads);
            at[na++] = tu_attr_ints("kernel_shape", (int64_t *)c->k, c->nsp);
            at[na++] = tu_attr_ints("strides", (int64_t *)c->s, c->nsp);
            at[na++] = tu_attr_ints("dilations", (int64_t *)c->d, c->nsp);
            at[na++] = tu_attr_int("ceil_mode", c->ceil_mode);
            if (!is_max) at[na++] = tu_attr_int("count_include_pad", c->count_pad);
            if (c->auto_pad) at[na++] = tu_attr_string("auto_pad", c->auto_pad);
            else at[na++] = tu_attr_ints("pads", pads, 2 * c->nsp);
            zn_op op = is_max ? ZN_OP_MAX_POOL : ZN_OP_AVERAGE_POOL;
            zn_view in = tu_view(ZN_F32, x, rank, dx), out;
            assert_int_equal(infer(op, at, na, &in, 1, &out, 1), ZN_OK);
            int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1}, D[3] = {1, 1, 1},
                    PB[3] = {0, 0, 0}, PE[3] = {0, 0, 0};
            int off = 3 - c->nsp;
            for (int i = 0; i < c->nsp; i++) {
                int64_t ek = (c->k[i] - 1) * c->d[i] + 1, o;
                int64_t pb = c->auto_pad ? 0 : c->pads[i], pe = c->auto_pad ? 0 : c->pads[c->nsp + i];
                if (c->auto_pad && c->auto_pad[0] == 'S') {
                    o = (c->in[i] + c->s[i] - 1) / c->s[i];
                    int64_t total = (o - 1) * c->s[i] + ek - c->in[i];
                    if (total < 0) total = 0;
                    pb = strcmp(c->auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
                    pe = total - pb;
                } else {
                    double q = (double)(c->in[i] + pb + pe - ek) / (double)c->s[i];
                    o = (int64_t)(c->ceil_mode ? ceil(q) : floor(q)) + 1;
                    if (c->ceil_mode && (o - 1) * c->s[i] >= c->in[i] + pb) o--;
                }
                assert_int_equal(out.dims[2 + i], o);
                I[off + i] = c->in[i]; O[off + i] = o; K[off + i] = c->k[i]; S[off + i] = c->s[i];
                D[off + i] = c->d[i]; PB[off + i] = pb; PE[off + i] = pe;
            }
            int64_t ny = numel(rank, out.dims);
            float *y = malloc(sizeof(float) * (size_t)ny), *y2 = malloc(sizeof(float) * (size_t)ny);
            float *want = malloc(sizeof(float) * (size_t)ny);
            int64_t oi = 0;
            for (int64_t p = 0; p < c->N * c->C; p++)
                for (int64_t o0 = 0; o0 < O[0]; o0++)
                    for (int64_t o1 = 0; o1 < O[1]; o1++)
                        for (int64_t o2 = 0; o2 < O[2]; o2++) {
                            double m = -1e30, s = 0;
                            int64_t cnt = 0, cntp = 0;
                            for (int64_t a = 0; a < K[0]; a++)
                                for (int64_t bb = 0; bb < K[1]; bb++)
                                    for (int64_t cc = 0; cc < K[2]; cc++) {
                                        int64_t i0 = o0 * S[0] - PB[0] + a * D[0];
                                        int64_t i1 = o1 * S[1] - PB[1] + bb * D[1];
                                        int64_t i2 = o2 * S[2] - PB[2] + cc * D[2];
                                        if (i0 >= I[0] + PE[0] || i1 >= I[1] + PE[1] || i2 >= I[2] + PE[2]) continue;
                                        cntp++;
                                        if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= I[0] || i1 >= I[1] || i2 >= I[2]) continue;
                                        double v = x[((p * I[0] + i0) * I[1] + i1) * I[2] + i2];
                                        if (v > m) m = v;
                                        s += v;
                                        cnt++;
                                    }
                            want[oi++] = (float)(is_max ? m : s / (double)(c->count_pad ? cntp : cnt));
                        }
            const zn_kernel_spec *k = tu_find_kernel(&zn_ref_conv_table, op);
            out.data = y;
            assert_int_equal(tu_run_kernel(k, at, na, &in, 1, &out, 1), ZN_OK);
            tu_assert_close(y, want, ny, 1e-6, 1e-5);
            out.data = y2;
            assert_int_equal(run_pool(k, at, na, &in, 1, &out, 1, pool), ZN_OK);
            tu_assert_close(y2, y, ny, 0, 0);
            free(x); free(y); free(y2); free(want);
        }
    zn_threadpool_free(pool);
}

/* ---- supports and inference errors -------------------------------------------------------- */

static void test_supports(void **state) {
    (void)state;
    float x[16] = {0}, y[16];
    int64_t i64buf[16];
    int64_t dx[] = {1, 1, 4, 4}, ks[] = {2, 2}, dy[] = {1, 1, 3, 3};
    zn_view in = tu_view(ZN_F32, x, 4, dx);
    zn_view out[2] = {tu_view(ZN_F32, y, 4, dy), tu_view(ZN_I64, i64buf, 4, dy)};
    zn_attr at = tu_attr_ints("kernel_shape", ks, 2);
    const zn_kernel_spec *mx = tu_find_kernel(&zn_ref_conv_table, ZN_OP_MAX_POOL);
    assert_int_equal(tu_run_kernel(mx, &at, 1, &in, 1, out, 2), ZN_ERR_UNSUPPORTED); /* Indices */
    assert_int_equal(tu_run_kernel(mx, &at, 1, &in, 1, out, 1), ZN_OK);
    assert_int_equal(tu_run_kernel(mx, NULL, 0, &in, 1, out, 1), ZN_ERR_UNSUPPORTED); /* no kernel */
    zn_view xi = tu_view(ZN_I64, i64buf, 4, dx);
    zn_view ins[2] = {xi, xi};
    zn_view oi = tu_view(ZN_I64, i64buf, 4, dy);
    const zn_kernel_spec *cv = tu_find_kernel(&zn_ref_conv_table, ZN_OP_CONV);
    assert_int_equal(tu_run_kernel(cv, NULL, 0, ins, 2, &oi, 1), ZN_ERR_UNSUPPORTED);
    zn_attr bad = tu_attr_string("auto_pad", "SAME_MIDDLE");
    zn_attr at2[2] = {at, bad};
    assert_int_equal(tu_run_kernel(mx, at2, 2, &in, 1, out, 1), ZN_ERR_UNSUPPORTED);
}

static void test_infer_errors(void **state) {
    (void)state;
    int64_t dx[] = {1, 3, 8, 8}, dw[] = {4, 2, 3, 3}, db[] = {5};
    zn_view in[3] = {tu_view(ZN_F32, NULL, 4, dx), tu_view(ZN_F32, NULL, 4, dw), tu_view(ZN_F32, NULL, 1, db)};
    zn_view out[2];
    zn_attr g2 = tu_attr_int("group", 2);
    assert_int_equal(infer(ZN_OP_CONV, &g2, 1, in, 2, out, 1), ZN_ERR_SHAPE);
    const char *m = zn_last_error()->message;
    assert_non_null(strstr(m, "C=3"));
    assert_non_null(strstr(m, "group=2"));
    assert_non_null(strstr(m, "[4,2,3,3]"));
    assert_true(zn_last_error()->hint[0] != '\0');

    int64_t dw1[] = {4, 3, 3, 3};
    in[1] = tu_view(ZN_F32, NULL, 4, dw1);
    assert_int_equal(infer(ZN_OP_CONV, NULL, 0, in, 3, out, 1), ZN_ERR_SHAPE); /* bias (5) vs M=4 */
    assert_non_null(strstr(zn_last_error()->message, "[5]"));
    assert_int_equal(infer(ZN_OP_CONV, NULL, 0, in, 2, out, 1), ZN_OK);
    assert_int_equal(out[0].dims[2], 6);

    int64_t ksbad[] = {5, 5};
    zn_attr kb = tu_attr_ints("kernel_shape", ksbad, 2);
    assert_int_equal(infer(ZN_OP_CONV, &kb, 1, in, 2, out, 1), ZN_ERR_SHAPE);

    int64_t dsmall[] = {1, 3, 2, 2};
    in[0] = tu_view(ZN_F32, NULL, 4, dsmall);
    assert_int_equal(infer(ZN_OP_CONV, NULL, 0, in, 2, out, 1), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[1,3,2,2]"));

    int64_t d2[] = {3, 8};
    in[0] = tu_view(ZN_F32, NULL, 2, d2);
    assert_int_equal(infer(ZN_OP_CONV, NULL, 0, in, 2, out, 1), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[3,8]"));

    /* pools: kernel_shape missing; wrong pads length; Indices output inferred as i64 */
    in[0] = tu_view(ZN_F32, NULL, 4, dx);
    assert_int_equal(infer(ZN_OP_MAX_POOL, NULL, 0, in, 1, out, 1), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "kernel_shape"));
    int64_t ks[] = {2, 2}, p3[] = {1, 1, 1};
    zn_attr pa[2] = {tu_attr_ints("kernel_shape", ks, 2), tu_attr_ints("pads", p3, 3)};
    assert_int_equal(infer(ZN_OP_AVERAGE_POOL, pa, 2, in, 1, out, 1), ZN_ERR_SHAPE);
    assert_int_equal(infer(ZN_OP_MAX_POOL, pa, 1, in, 1, out, 2), ZN_OK);
    assert_int_equal(out[1].dtype, ZN_I64);
    assert_int_equal(out[1].dims[3], 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_hand),   cmocka_unit_test(test_pool_hand),
        cmocka_unit_test(test_gap),         cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_pool_random), cmocka_unit_test(test_supports),
        cmocka_unit_test(test_infer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
