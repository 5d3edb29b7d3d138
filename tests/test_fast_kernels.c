/* test_fast_kernels.c — the fast CPU kernels (fast_tables.h) and zn_sgemm (gemm.h) against
 * the reference kernels and a plain double-precision GEMM, on fresh random inputs: odd sizes
 * and SIMD tails, 1xN / Nx1, transposes, leading dims wider than the rows, alpha/beta, every
 * epilogue, prepacked operands, one thread vs two, and every SIMD path this CPU can run plus
 * the portable one (forced through the zn_gemm_force_path test hook). Fused ops (ZnLinear,
 * ZnConv, ZnAttention) are checked against ref_fused.c. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/fast_tables.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threadpool.h"

static tu_rng rng;

static int setup(void **state) {
    (void)state;
    rng = tu_rng_new(tu_seed());
    return 0;
}

static int64_t pick(const int64_t *v, int n) { return v[tu_next(&rng) % (uint64_t)n]; }
static int64_t rand_between(int64_t lo, int64_t hi) {
    return lo + (int64_t)(tu_next(&rng) % (uint64_t)(hi - lo + 1));
}

static float *rand_buf(int64_t n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    assert_non_null(p);
    tu_fill(&rng, p, n, lo, hi);
    return p;
}

/* ==================================== zn_sgemm =========================================== */

static double act_ref(zn_gemm_act act, double v) {
    switch (act) {
    case ZN_GEMM_ACT_RELU: return v < 0 ? 0 : v;
    case ZN_GEMM_ACT_GELU_ERF: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case ZN_GEMM_ACT_GELU_TANH:
        return 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    default: return v;
    }
}

/* The plain triple loop in double, with the epilogue written out. */
static void gemm_ref(const zn_gemm_args *g, const float *c_in, float *out) {
    for (int64_t i = 0; i < g->M; i++)
        for (int64_t j = 0; j < g->N; j++) {
            double s = 0;
            for (int64_t k = 0; k < g->K; k++) {
                double a = g->trans_a ? g->A[k * g->lda + i] : g->A[i * g->lda + k];
                double b = g->trans_b ? g->B[j * g->ldb + k] : g->B[k * g->ldb + j];
                s += a * b;
            }
            double v = g->alpha * s;
            if (g->beta != 0.0f) v += (double)g->beta * c_in[i * g->ldc + j];
            if (g->bias_col) v += g->bias_col[j];
            if (g->bias_row) v += g->bias_row[i];
            if (g->residual) v += g->residual[i * g->ldr + j];
            out[i * g->N + j] = (float)act_ref(g->act, v);
        }
}

static const int64_t SIZES[] = {1, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33, 47, 64, 127, 129};
#define N_SIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

/* One random GEMM (shape from SIZES unless given), checked against gemm_ref. */
static void check_gemm(zn_threadpool *pool, int64_t M, int64_t N, int64_t K, bool prepack) {
    zn_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = M;
    g.N = N;
    g.K = K;
    g.trans_a = tu_next(&rng) & 1;
    g.trans_b = tu_next(&rng) & 1;
    int64_t pad = (tu_next(&rng) & 1) ? rand_between(1, 9) : 0;
    g.lda = (g.trans_a ? M : K) + pad;
    g.ldb = (g.trans_b ? K : N) + pad;
    g.ldc = N + pad;
    const float alphas[] = {1.0f, 0.5f, -1.25f}, betas[] = {0.0f, 1.0f, 0.75f};
    g.alpha = alphas[tu_next(&rng) % 3];
    g.beta = betas[tu_next(&rng) % 3];
    int64_t a_rows = g.trans_a ? K : M, b_rows = g.trans_b ? N : K;
    float *A = rand_buf(a_rows * g.lda, -1, 1), *B = rand_buf(b_rows * g.ldb, -1, 1);
    float *C = rand_buf(M * g.ldc, -1, 1), *C0 = malloc(sizeof(float) * (size_t)(M * g.ldc));
    float *want = malloc(sizeof(float) * (size_t)(M * N));
    float *bc = rand_buf(N, -1, 1), *br = rand_buf(M, -1, 1), *res = rand_buf(M * (N + 3), -1, 1);
    assert_non_null(C0);
    assert_non_null(want);
    if (g.beta == 0.0f)
        for (int64_t i = 0; i < M * g.ldc; i++) C[i] = NAN; /* must not leak through */
    memcpy(C0, C, sizeof(float) * (size_t)(M * g.ldc));
    g.A = A;
    g.B = B;
    g.C = C;
    unsigned e = (unsigned)tu_next(&rng);
    if (e & 1) g.bias_col = bc;
    if (e & 2) g.bias_row = br;
    if (e & 4) {
        g.residual = res;
        g.ldr = N + 3;
    }
    g.act = (zn_gemm_act)((e >> 3) % 4);
    zn_gemm_packed *pa = NULL, *pb = NULL;
    if (prepack) {
        if (e & 32) pa = zn_gemm_pack_a(g.trans_a, M, K, A, g.lda);
        else pb = zn_gemm_pack_b(g.trans_b, K, N, B, g.ldb);
        assert_true(pa || pb);
        g.packed_a = pa;
        g.packed_b = pb;
    }
    gemm_ref(&g, C0, want);
    assert_int_equal(zn_sgemm(pool, &g), ZN_OK);
    for (int64_t i = 0; i < M; i++) {
        tu_assert_close(C + i * g.ldc, want + i * N, N, 2e-6 * (double)(K + 4), 1e-5);
        for (int64_t j = N; j < g.ldc; j++) /* the padding between rows is untouched */
            assert_memory_equal(&C[i * g.ldc + j], &C0[i * g.ldc + j], sizeof(float));
    }
    zn_gemm_packed_free(pa);
    zn_gemm_packed_free(pb);
    free(A);
    free(B);
    free(C);
    free(C0);
    free(want);
    free(bc);
    free(br);
    free(res);
}

static void gemm_all_paths(void (*body)(zn_gemm_path path)) {
    for (int p = ZN_GEMM_PATH_SCALAR; p <= ZN_GEMM_PATH_AVX512; p++) {
        if (!zn_gemm_path_available((zn_gemm_path)p)) {
            print_message("[ skipped  ] gemm path %s: not on this CPU\n", zn_gemm_path_name((zn_gemm_path)p));
            continue;
        }
        assert_true(zn_gemm_force_path((zn_gemm_path)p));
        body((zn_gemm_path)p);
    }
    assert_true(zn_gemm_force_path(ZN_GEMM_PATH_AUTO));
}

static void body_random(zn_gemm_path path) {
    (void)path;
    for (int it = 0; it < 120; it++)
        check_gemm(NULL, pick(SIZES, N_SIZES), pick(SIZES, N_SIZES), pick(SIZES, N_SIZES), it % 3 == 0);
}

static void test_gemm_random_shapes(void **state) {
    (void)state;
    gemm_all_paths(body_random);
}

static void body_edges(zn_gemm_path path) {
    (void)path;
    /* 1xN, Nx1, K = 1, and sizes that cross the KC / MC blocks */
    const int64_t shapes[][3] = {{1, 300, 70}, {300, 1, 70}, {1, 1, 1}, {1, 1, 600}, {37, 45, 1},
                                 {200, 50, 300}, {20, 40, 520}, {150, 33, 257}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        check_gemm(NULL, shapes[s][0], shapes[s][1], shapes[s][2], false);
        check_gemm(NULL, shapes[s][0], shapes[s][1], shapes[s][2], true);
    }
}

static void test_gemm_edges(void **state) {
    (void)state;
    gemm_all_paths(body_edges);
}

static void body_threads(zn_gemm_path path) {
    (void)path;
    zn_threadpool *pool = zn_threadpool_new(2);
    assert_non_null(pool);
    for (int it = 0; it < 8; it++)
        check_gemm(pool, rand_between(1, 200), rand_between(1, 200), rand_between(1, 300), it & 1);
    /* the split must not change a single bit: K blocking is the same on every thread */
    int64_t M = 97, N = 211, K = 301;
    float *A = rand_buf(M * K, -1, 1), *B = rand_buf(K * N, -1, 1);
    float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
    zn_gemm_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .A = A, .lda = K, .B = B,
                      .ldb = N, .C = C1, .ldc = N, .act = ZN_GEMM_ACT_GELU_ERF};
    assert_int_equal(zn_sgemm(NULL, &g), ZN_OK);
    g.C = C2;
    assert_int_equal(zn_sgemm(pool, &g), ZN_OK);
    assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
    free(A);
    free(B);
    free(C1);
    free(C2);
    zn_threadpool_free(pool);
}

static void test_gemm_threads(void **state) {
    (void)state;
    gemm_all_paths(body_threads);
}

static void test_gemm_k0_alpha0(void **state) {
    (void)state;
    float C[6] = {1, 2, 3, 4, 5, 6}, A[6] = {1, 1, 1, 1, 1, 1}, bias[3] = {1, -10, 0};
    zn_gemm_args g = {.M = 2, .N = 3, .K = 0, .alpha = 1.0f, .beta = 2.0f, .A = A, .lda = 1,
                      .B = A, .ldb = 3, .C = C, .ldc = 3, .bias_col = bias, .act = ZN_GEMM_ACT_RELU};
    assert_int_equal(zn_sgemm(NULL, &g), ZN_OK);
    float want[6] = {3, 0, 6, 9, 0, 12};
    tu_assert_close(C, want, 6, 0, 0);
    g.K = 2;
    g.alpha = 0.0f;
    g.beta = 0.0f;
    g.bias_col = NULL;
    g.act = ZN_GEMM_ACT_NONE;
    assert_int_equal(zn_sgemm(NULL, &g), ZN_OK);
    float zero[6] = {0};
    tu_assert_close(C, zero, 6, 0, 0);
    assert_false(zn_gemm_force_path((zn_gemm_path)99));
    assert_string_equal(zn_gemm_path_name(ZN_GEMM_PATH_SCALAR), "scalar");
}

/* ==================================== kernels vs reference =============================== */

/* Runs kernel k over (in, out) with a pool; inputs whose konst[i] is false are hidden from
 * supports/prepare (data NULL), the way the compiler shows activations. */
static zn_status run_kernel(const zn_kernel_spec *k, const zn_attr *attrs, int n_attrs,
                            const zn_view *in, const bool *konst, int n_in, zn_view *out,
                            int n_out, zn_threadpool *pool) {
    zn_view pin[8];
    assert_true(n_in <= 8);
    for (int i = 0; i < n_in; i++) {
        pin[i] = in[i];
        if (!konst || !konst[i]) pin[i].data = NULL;
    }
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    node.op = k->op;
    node.name = "test_node";
    node.attrs = attrs;
    node.n_attrs = n_attrs;
    node.n_in = n_in;
    node.in = pin;
    node.n_out = n_out;
    node.out = out;
    if (k->supports && !k->supports(&node)) return ZN_ERR_UNSUPPORTED;
    zn_kernel_prep prep = {0};
    if (k->prepare) {
        zn_status st = k->prepare(&node, &prep);
        if (st != ZN_OK) return st;
    }
    node.in = in;
    void *scratch = prep.scratch_bytes ? malloc(prep.scratch_bytes) : NULL;
    if (scratch) memset(scratch, 0xff, prep.scratch_bytes); /* NaN garbage: must be overwritten */
    zn_exec_ctx ctx = {&node, n_in, in, n_out, out, prep.state, scratch, pool, NULL};
    zn_status st = k->run(&ctx);
    free(scratch);
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

/* The fast kernel (must accept the node) and the reference on the same inputs; compares out[0]
 * (and out[1..n_out) when present). out views carry dims; data is allocated here. */
static void compare(const zn_kernel_table *fast_t, const zn_kernel_table *ref_t, zn_op op,
                    const zn_attr *attrs, int n_attrs, const zn_view *in, const bool *konst,
                    int n_in, const zn_view *out_shape, int n_out, zn_threadpool *pool,
                    double atol, double rtol) {
    const zn_kernel_spec *kf = tu_find_kernel(fast_t, op), *kr = tu_find_kernel(ref_t, op);
    assert_non_null(kf);
    assert_non_null(kr);
    assert_int_equal(kf->priority, 10);
    zn_view of[3], orf[3];
    for (int i = 0; i < n_out; i++) {
        of[i] = orf[i] = out_shape[i];
        int64_t n = zn_view_numel(&out_shape[i]);
        if (out_shape[i].dtype == ZN_DTYPE_UNDEFINED) continue;
        of[i].data = malloc(sizeof(float) * (size_t)(n ? n : 1));
        orf[i].data = malloc(sizeof(float) * (size_t)(n ? n : 1));
        assert_non_null(of[i].data);
        assert_non_null(orf[i].data);
        for (int64_t q = 0; q < n; q++) ((float *)of[i].data)[q] = NAN;
    }
    zn_status st = run_kernel(kf, attrs, n_attrs, in, konst, n_in, of, n_out, pool);
    if (st != ZN_OK) print_error("%s refused or failed: %s\n", kf->name, zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    assert_int_equal(run_kernel(kr, attrs, n_attrs, in, konst, n_in, orf, n_out, NULL), ZN_OK);
    for (int i = 0; i < n_out; i++) {
        if (out_shape[i].dtype == ZN_DTYPE_UNDEFINED) continue;
        tu_assert_close(of[i].data, orf[i].data, zn_view_numel(&out_shape[i]), atol, rtol);
        free(of[i].data);
        free(orf[i].data);
    }
}

static zn_view fview(float *data, int rank, const int64_t *dims) { return tu_view(ZN_F32, data, rank, dims); }

static int64_t numel(int rank, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= d[i];
    return n;
}

static bool have_avx2_quiet(void) { return zn_gemm_path_available(ZN_GEMM_PATH_AVX2); }

static bool have_avx2(void) {
    if (zn_gemm_path_available(ZN_GEMM_PATH_AVX2)) return true;
    print_message("[ skipped  ] element-wise kernels: no AVX2 on this CPU (reference runs)\n");
    return false;
}

/* Every third kernel run goes through the portable GEMM (packing included). */
static void force_path_for(int it) {
    assert_true(zn_gemm_force_path(it % 3 == 2 ? ZN_GEMM_PATH_SCALAR : ZN_GEMM_PATH_AUTO));
}

/* ---- MatMul / Gemm ------------------------------------------------------------------------ */

static void test_matmul(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 40; it++) {
        force_path_for(it);
        int64_t M = pick(SIZES, N_SIZES), N = pick(SIZES, N_SIZES), K = pick(SIZES, N_SIZES);
        int64_t da[4], db[4], dy[4];
        int ra, rb, ry;
        int kind = it % 4;
        if (kind == 0) { /* (M,K) @ (K,N) */
            ra = rb = ry = 2;
            da[0] = M, da[1] = K, db[0] = K, db[1] = N, dy[0] = M, dy[1] = N;
        } else if (kind == 1) { /* (2,3,M,K) @ (K,N): shared weights */
            ra = 4, rb = 2, ry = 4;
            da[0] = 2, da[1] = 3, da[2] = M, da[3] = K, db[0] = K, db[1] = N;
            dy[0] = 2, dy[1] = 3, dy[2] = M, dy[3] = N;
        } else if (kind == 2) { /* (3,M,K) @ (1,K,N) and (1,M,K) @ (3,K,N) broadcasts */
            ra = rb = ry = 3;
            bool left = it & 4;
            da[0] = left ? 3 : 1, da[1] = M, da[2] = K;
            db[0] = left ? 1 : 3, db[1] = K, db[2] = N;
            dy[0] = 3, dy[1] = M, dy[2] = N;
        } else { /* 1-D operands */
            ra = 1, rb = 2, ry = 1;
            da[0] = K, db[0] = K, db[1] = N, dy[0] = N;
        }
        float *a = rand_buf(numel(ra, da), -1, 1), *b = rand_buf(numel(rb, db), -1, 1);
        zn_view in[2] = {fview(a, ra, da), fview(b, rb, db)};
        zn_view out = fview(NULL, ry, dy);
        bool konst[2] = {false, (it & 2) != 0};
        compare(&zn_fast_linalg_table, &zn_ref_linalg_table, ZN_OP_MATMUL, NULL, 0, in, konst, 2,
                &out, 1, (it & 1) ? pool : NULL, 2e-6 * (double)(K + 4), 1e-5);
        free(a);
        free(b);
    }
    zn_gemm_force_path(ZN_GEMM_PATH_AUTO);
    zn_threadpool_free(pool);
}

static void test_gemm_kernel(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 40; it++) {
        force_path_for(it);
        int64_t M = pick(SIZES, N_SIZES), N = pick(SIZES, N_SIZES), K = pick(SIZES, N_SIZES);
        int ta = (int)(tu_next(&rng) & 1), tb = (int)(tu_next(&rng) & 1);
        float alpha = (it & 1) ? 1.0f : 0.7f, beta = (it & 2) ? 1.0f : -0.5f;
        zn_attr attrs[4] = {tu_attr_int("transA", ta), tu_attr_int("transB", tb),
                            tu_attr_float("alpha", alpha), tu_attr_float("beta", beta)};
        int64_t da[2] = {ta ? K : M, ta ? M : K}, db[2] = {tb ? N : K, tb ? K : N}, dy[2] = {M, N};
        int64_t dc[2] = {1, 1};
        int rc;
        switch (it % 5) {
        case 0: rc = 1, dc[0] = N; break;
        case 1: rc = 2, dc[0] = M, dc[1] = N; break;
        case 2: rc = 2, dc[0] = M, dc[1] = 1; break;
        case 3: rc = 0; break;
        default: rc = -1; break; /* no C */
        }
        float *a = rand_buf(M * K, -1, 1), *b = rand_buf(K * N, -1, 1), *c = rand_buf(M * N, -1, 1);
        zn_view in[3] = {fview(a, 2, da), fview(b, 2, db), fview(c, rc < 0 ? 0 : rc, dc)};
        bool konst[3] = {false, (it & 4) != 0, true};
        zn_view out = fview(NULL, 2, dy);
        compare(&zn_fast_linalg_table, &zn_ref_linalg_table, ZN_OP_GEMM, attrs, 4, in, konst,
                rc < 0 ? 2 : 3, &out, 1, (it & 8) ? pool : NULL, 2e-6 * (double)(K + 4), 1e-5);
        free(a);
        free(b);
        free(c);
    }
    zn_gemm_force_path(ZN_GEMM_PATH_AUTO);
    zn_threadpool_free(pool);
}

/* ---- Conv and pools ----------------------------------------------------------------------- */

static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    int64_t o = (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
    return o < 1 ? 1 : o;
}

static void test_conv(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 40; it++) {
        force_path_for(it);
        int nsp = it % 5 == 4 ? 1 : (it % 7 == 6 ? 3 : 2);
        int64_t group = (it % 6 == 5) ? 2 : 1;
        int64_t N = rand_between(1, 2), C = group * rand_between(1, 6), M = group * rand_between(4, 20);
        int64_t ks[3], st[3], dl[3], pads[6], xd[5] = {N, C}, wd[5] = {M, C / group}, yd[5] = {N, M};
        bool pointwise = it % 4 == 0;
        for (int i = 0; i < nsp; i++) {
            int64_t in = rand_between(nsp == 3 ? 2 : 3, nsp == 3 ? 6 : 19);
            ks[i] = pointwise ? 1 : rand_between(1, 3);
            st[i] = pointwise ? 1 : rand_between(1, 2);
            dl[i] = pointwise ? 1 : rand_between(1, 2);
            pads[i] = pointwise ? 0 : rand_between(0, 2);
            pads[nsp + i] = pointwise ? 0 : rand_between(0, 2);
            if ((ks[i] - 1) * dl[i] + 1 > in + pads[i] + pads[nsp + i]) dl[i] = 1;
            if (ks[i] > in + pads[i] + pads[nsp + i]) ks[i] = 1;
            xd[2 + i] = in;
            wd[2 + i] = ks[i];
            yd[2 + i] = out_dim(in, ks[i], st[i], dl[i], pads[i], pads[nsp + i]);
        }
        int r = nsp + 2;
        zn_attr attrs[5] = {tu_attr_ints("kernel_shape", ks, nsp), tu_attr_ints("strides", st, nsp),
                            tu_attr_ints("dilations", dl, nsp), tu_attr_ints("pads", pads, 2 * nsp),
                            tu_attr_int("group", group)};
        float *x = rand_buf(numel(r, xd), -1, 1), *w = rand_buf(numel(r, wd), -1, 1);
        float *b = rand_buf(M, -1, 1);
        int64_t bd[1] = {M};
        zn_view in[3] = {fview(x, r, xd), fview(w, r, wd), fview(b, 1, bd)};
        bool konst[3] = {false, (it & 1) == 0, true};
        zn_view out = fview(NULL, r, yd);
        int64_t K = (C / group) * numel(nsp, ks);
        compare(&zn_fast_conv_table, &zn_ref_conv_table, ZN_OP_CONV, attrs, 5, in, konst,
                (it & 2) ? 3 : 2, &out, 1, (it & 4) ? pool : NULL, 2e-6 * (double)(K + 4), 1e-5);
        free(x);
        free(w);
        free(b);
    }
    zn_gemm_force_path(ZN_GEMM_PATH_AUTO);
    zn_threadpool_free(pool);
}

static void test_pools(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 40; it++) {
        zn_op op = it % 2 ? ZN_OP_MAX_POOL : ZN_OP_AVERAGE_POOL;
        int nsp = it % 5 == 4 ? 1 : 2;
        int64_t xd[4] = {rand_between(1, 2), rand_between(1, 5)}, yd[4] = {xd[0], xd[1]};
        int64_t ks[2], st[2], pads[4], dl[2] = {1, 1};
        for (int i = 0; i < nsp; i++) {
            xd[2 + i] = rand_between(3, 17);
            ks[i] = rand_between(1, 3);
            st[i] = rand_between(1, 3);
            pads[i] = rand_between(0, ks[i] - 1);
            pads[nsp + i] = rand_between(0, ks[i] - 1);
            if (op == ZN_OP_MAX_POOL && it % 3 == 0) dl[i] = 2;
            int64_t o = out_dim(xd[2 + i], ks[i], st[i], dl[i], pads[i], pads[nsp + i]);
            if (it % 4 == 1 && (o - 1) * st[i] < xd[2 + i] + pads[i] - 1) o++; /* ceil_mode */
            yd[2 + i] = o;
        }
        int r = nsp + 2;
        zn_attr attrs[5] = {tu_attr_ints("kernel_shape", ks, nsp), tu_attr_ints("strides", st, nsp),
                            tu_attr_ints("pads", pads, 2 * nsp), tu_attr_int("count_include_pad", it % 3 == 2),
                            tu_attr_ints("dilations", dl, nsp)};
        float *x = rand_buf(numel(r, xd), -2, 2);
        if (it % 7 == 3) x[0] = NAN;
        zn_view in = fview(x, r, xd), out = fview(NULL, r, yd);
        compare(&zn_fast_conv_table, &zn_ref_conv_table, op, attrs, op == ZN_OP_MAX_POOL ? 5 : 4,
                &in, NULL, 1, &out, 1, (it & 1) ? pool : NULL, 1e-6, 1e-5);
        free(x);
    }
    int64_t xd[4] = {2, 3, 7, 9}, yd[4] = {2, 3, 1, 1};
    float *x = rand_buf(numel(4, xd), -1, 1);
    zn_view in = fview(x, 4, xd), out = fview(NULL, 4, yd);
    compare(&zn_fast_conv_table, &zn_ref_conv_table, ZN_OP_GLOBAL_AVERAGE_POOL, NULL, 0, &in,
            NULL, 1, &out, 1, pool, 1e-6, 1e-5);
    free(x);
    zn_threadpool_free(pool);
}

/* ---- fused: ZnLinear, ZnConv, ZnAttention ------------------------------------------------- */

static void test_znlinear(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    const char *acts[] = {"none", "relu", "gelu", "gelu_tanh"};
    for (int it = 0; it < 32; it++) {
        force_path_for(it);
        int64_t B = rand_between(1, 3), S = pick(SIZES, N_SIZES), K = pick(SIZES, N_SIZES),
                N = pick(SIZES, N_SIZES);
        int tb = it & 1;
        int64_t dx[3] = {B, S, K}, dw[2] = {tb ? N : K, tb ? K : N}, dbias[1] = {N}, dy[3] = {B, S, N};
        float *x = rand_buf(B * S * K, -1, 1), *w = rand_buf(K * N, -1, 1), *bias = rand_buf(N, -1, 1);
        float *res = rand_buf(B * S * N, -1, 1);
        zn_attr attrs[2] = {tu_attr_int("transB", tb), tu_attr_string("activation", acts[(it / 2) % 4])};
        zn_view in[4] = {fview(x, 3, dx), fview(w, 2, dw), fview(bias, 1, dbias), fview(res, 3, dy)};
        if (it % 3 == 1) in[2].dtype = ZN_DTYPE_UNDEFINED; /* omitted bias */
        bool konst[4] = {false, (it & 4) != 0, true, false};
        zn_view out = fview(NULL, 3, dy);
        compare(&zn_fast_linalg_table, &zn_ref_fused_table, ZN_OP_LINEAR, attrs, 2, in, konst,
                (it & 8) ? 4 : 3, &out, 1, (it & 16) ? pool : NULL, 2e-6 * (double)(K + 4), 1e-5);
        free(x);
        free(w);
        free(bias);
        free(res);
    }
    zn_gemm_force_path(ZN_GEMM_PATH_AUTO);
    zn_threadpool_free(pool);
}

static void test_znconv(void **state) {
    (void)state;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 24; it++) {
        force_path_for(it);
        int64_t N = rand_between(1, 2), C = rand_between(1, 9), M = rand_between(4, 24);
        int64_t H = rand_between(3, 15), W = rand_between(3, 15);
        bool pw = it % 3 == 0;
        int64_t k = pw ? 1 : 3, s = pw ? 1 : rand_between(1, 2), p = pw ? 0 : 1;
        int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {p, p, p, p};
        int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, k, k}, bd[1] = {M};
        int64_t yd[4] = {N, M, out_dim(H, k, s, 1, p, p), out_dim(W, k, s, 1, p, p)};
        float *x = rand_buf(numel(4, xd), -1, 1), *w = rand_buf(numel(4, wd), -1, 1);
        float *b = rand_buf(M, -1, 1), *r = rand_buf(numel(4, yd), -1, 1);
        zn_attr attrs[4] = {tu_attr_ints("kernel_shape", ks, 2), tu_attr_ints("strides", st, 2),
                            tu_attr_ints("pads", pads, 4),
                            tu_attr_string("activation", (it & 1) ? "relu" : "none")};
        zn_view in[4] = {fview(x, 4, xd), fview(w, 4, wd), fview(b, 1, bd), fview(r, 4, yd)};
        if (it % 4 == 2) in[2].dtype = ZN_DTYPE_UNDEFINED;
        bool konst[4] = {false, (it & 2) == 0, true, false};
        zn_view out = fview(NULL, 4, yd);
        compare(&zn_fast_conv_table, &zn_ref_fused_table, ZN_OP_CONV_FUSED, attrs, 4, in, konst,
                (it & 4) ? 4 : 3, &out, 1, (it & 8) ? pool : NULL, 2e-6 * (double)(C * k * k + 4), 1e-5);
        free(x);
        free(w);
        free(b);
        free(r);
    }
    zn_gemm_force_path(ZN_GEMM_PATH_AUTO);
    zn_threadpool_free(pool);
}

static void test_znattention(void **state) {
    (void)state;
    if (!have_avx2_quiet()) return;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 24; it++) {
        int64_t B = rand_between(1, 2), H = rand_between(1, 4), D = pick(SIZES, 9), Dv = pick(SIZES, 9);
        int64_t Sq = pick(SIZES, N_SIZES), Sk = (it & 1) ? Sq : pick(SIZES, N_SIZES);
        if (Sq > Sk && (it & 2)) Sq = Sk; /* causal with every row seeing a key */
        int64_t dq[3] = {B, Sq, H * D}, dk[3] = {B, Sk, H * D}, dv[3] = {B, Sk, H * Dv};
        int64_t dy[3] = {B, Sq, H * Dv};
        int mrank = it % 3 == 0 ? 4 : 2;
        int64_t dm[4] = {B, 1, 1, Sk};
        if (mrank == 2) dm[0] = Sq, dm[1] = Sk;
        float *q = rand_buf(numel(3, dq), -1, 1), *k = rand_buf(numel(3, dk), -1, 1);
        float *v = rand_buf(numel(3, dv), -1, 1), *m = rand_buf(numel(mrank, dm), -3, 0);
        zn_attr attrs[3] = {tu_attr_int("num_heads", H), tu_attr_float("scale", 0.125f),
                            tu_attr_int("causal", (it & 2) ? 1 : 0)};
        zn_view in[4] = {fview(q, 3, dq), fview(k, 3, dk), fview(v, 3, dv), fview(m, mrank, dm)};
        zn_view out = fview(NULL, 3, dy);
        compare(&zn_fast_linalg_table, &zn_ref_fused_table, ZN_OP_ATTENTION, attrs, 3, in, NULL,
                (it & 4) ? 4 : 3, &out, 1, (it & 8) ? pool : NULL, 2e-6 * (double)(D + Sk + 4), 1e-5);
        free(q);
        free(k);
        free(v);
        free(m);
    }
    zn_threadpool_free(pool);
}

/* ---- element-wise ------------------------------------------------------------------------- */

static const int64_t LENS[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 768, 1029};
#define N_LENS ((int)(sizeof LENS / sizeof LENS[0]))

static void test_unary(void **state) {
    (void)state;
    if (!have_avx2()) return;
    zn_threadpool *pool = zn_threadpool_new(2);
    const zn_op ops[] = {ZN_OP_RELU, ZN_OP_SIGMOID, ZN_OP_TANH, ZN_OP_EXP, ZN_OP_GELU, ZN_OP_GELU};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (int it = 0; it < 6; it++) {
            int64_t d[2] = {rand_between(1, 5), pick(LENS, N_LENS)};
            if (it == 5) d[0] = 200; /* large enough to split over threads */
            float range = ops[o] == ZN_OP_EXP ? 80.0f : 12.0f;
            float *x = rand_buf(d[0] * d[1], -range, range);
            if (it == 1) {
                x[0] = NAN;
                if (d[0] * d[1] > 2) x[1] = INFINITY, x[2] = -INFINITY;
            }
            if (it == 2) /* small magnitudes: relative accuracy near 0 */
                for (int64_t i = 0; i < d[0] * d[1]; i++) x[i] *= 1e-4f;
            zn_attr attrs[1] = {tu_attr_string("approximate", o == 5 ? "tanh" : "none")};
            zn_view in = fview(x, 2, d), out = fview(NULL, 2, d);
            compare(&zn_fast_elementwise_table, &zn_ref_elementwise_table, ops[o], attrs, ops[o] == ZN_OP_GELU ? 1 : 0, &in, NULL, 1, &out, 1,
                    (it & 1) ? pool : NULL, 1e-6, 4e-6);
            free(x);
        }
    }
    zn_threadpool_free(pool);
}

static void test_bias_act(void **state) {
    (void)state;
    if (!have_avx2()) return;
    const zn_op ops[] = {ZN_OP_BIAS_RELU, ZN_OP_BIAS_GELU, ZN_OP_BIAS_GELU};
    for (int o = 0; o < 3; o++)
        for (int it = 0; it < 6; it++) {
            int64_t d[3] = {rand_between(1, 3), rand_between(1, 9), pick(LENS, N_LENS)}, bd[1] = {d[2]};
            float *x = rand_buf(numel(3, d), -5, 5), *b = rand_buf(d[2], -1, 1);
            zn_attr attrs[1] = {tu_attr_string("approximate", o == 2 ? "tanh" : "none")};
            zn_view in[2] = {fview(x, 3, d), fview(b, 1, bd)}, out = fview(NULL, 3, d);
            compare(&zn_fast_elementwise_table, &zn_ref_norm_table, ops[o], attrs, o ? 1 : 0, in,
                    NULL, 2, &out, 1, NULL, 1e-6, 4e-6);
            free(x);
            free(b);
        }
}

static void test_binary(void **state) {
    (void)state;
    if (!have_avx2()) return;
    zn_threadpool *pool = zn_threadpool_new(2);
    const zn_op ops[] = {ZN_OP_ADD, ZN_OP_SUB, ZN_OP_MUL, ZN_OP_DIV, ZN_OP_ADD_RELU};
    for (int o = 0; o < 5; o++)
        for (int it = 0; it < 8; it++) {
            int64_t d[3] = {rand_between(1, 4), rand_between(1, 6), pick(LENS, N_LENS)};
            int64_t da[3] = {d[0], d[1], d[2]}, db[3] = {d[0], d[1], d[2]};
            int rb = 3;
            switch (it % 4) {
            case 1: rb = 1, db[0] = d[2]; break;           /* bias over the last dim */
            case 2: db[2] = 1; break;                       /* column broadcast */
            case 3: rb = 0; break;                          /* scalar */
            default: break;
            }
            if (it >= 4) { /* swap roles: the broadcast operand on the left */
                int64_t t[3];
                memcpy(t, da, sizeof t);
                memcpy(da, db, sizeof t);
                memcpy(db, t, sizeof t);
            }
            int ra = it >= 4 ? rb : 3, rbb = it >= 4 ? 3 : rb;
            float *a = rand_buf(numel(ra, da), -3, 3), *b = rand_buf(numel(rbb, db), 0.5f, 3);
            zn_view in[2] = {fview(a, ra, da), fview(b, rbb, db)}, out = fview(NULL, 3, d);
            compare(&zn_fast_elementwise_table,
                    ops[o] == ZN_OP_ADD_RELU ? &zn_ref_norm_table : &zn_ref_elementwise_table,
                    ops[o], NULL, 0, in, NULL, 2, &out, 1, (it & 1) ? pool : NULL, 0, 1e-6);
            free(a);
            free(b);
        }
    zn_threadpool_free(pool);
}

static void test_softmax(void **state) {
    (void)state;
    if (!have_avx2()) return;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 16; it++) {
        int64_t d[3] = {rand_between(1, 3), rand_between(1, 20), pick(LENS, N_LENS)};
        float *x = rand_buf(numel(3, d), -20, 20);
        if (it == 3) x[d[2] > 1 ? 1 : 0] = NAN;
        zn_attr attrs[1] = {tu_attr_int("axis", it & 1 ? -1 : 2)};
        zn_view in = fview(x, 3, d), out = fview(NULL, 3, d);
        compare(&zn_fast_elementwise_table, &zn_ref_reduce_table, ZN_OP_SOFTMAX, attrs, 1, &in,
                NULL, 1, &out, 1, (it & 2) ? pool : NULL, 1e-7, 1e-5);
        free(x);
    }
    /* an inner axis is the reference's job */
    int64_t d[2] = {4, 5};
    float x[20] = {0};
    zn_attr attrs[1] = {tu_attr_int("axis", 0)};
    zn_view in = fview(x, 2, d), out = fview(x, 2, d);
    assert_int_equal(run_kernel(tu_find_kernel(&zn_fast_elementwise_table, ZN_OP_SOFTMAX), attrs, 1,
                                &in, NULL, 1, &out, 1, NULL),
                     ZN_ERR_UNSUPPORTED);
    zn_threadpool_free(pool);
}

static void test_layernorm(void **state) {
    (void)state;
    if (!have_avx2()) return;
    zn_threadpool *pool = zn_threadpool_new(2);
    for (int it = 0; it < 16; it++) {
        int64_t d[3] = {rand_between(1, 3), rand_between(1, 20), pick(LENS, N_LENS)};
        int axis = it % 4 == 3 ? 1 : 2;
        int64_t D = axis == 1 ? d[1] * d[2] : d[2];
        int64_t pd[2] = {d[1], d[2]}, pd1[1] = {D};
        float *x = rand_buf(numel(3, d), -4, 4), *g = rand_buf(D, 0.5f, 2), *b = rand_buf(D, -1, 1);
        for (int64_t i = 0; i < numel(3, d); i++) x[i] += 3.0f; /* a mean far from zero */
        zn_attr attrs[2] = {tu_attr_int("axis", axis), tu_attr_float("epsilon", 1e-5f)};
        zn_view in[3] = {fview(x, 3, d), axis == 1 ? fview(g, 2, pd) : fview(g, 1, pd1),
                         axis == 1 ? fview(b, 2, pd) : fview(b, 1, pd1)};
        int64_t sd[3] = {d[0], axis == 1 ? 1 : d[1], 1};
        zn_view outs[3] = {fview(NULL, 3, d), fview(NULL, 3, sd), fview(NULL, 3, sd)};
        int n_out = it % 2 ? 3 : 1;
        compare(&zn_fast_elementwise_table, &zn_ref_norm_table, ZN_OP_LAYER_NORM, attrs, 2, in,
                NULL, (it & 4) ? 2 : 3, outs, n_out, (it & 8) ? pool : NULL, 2e-5, 1e-4);
        /* ZnAddLayerNorm: y = LN(x + g') with the sum as a second output */
        float *x2 = rand_buf(numel(3, d), -1, 1);
        zn_view in2[4] = {fview(x, 3, d), fview(x2, 3, d), in[1], in[2]};
        zn_view outs2[2] = {fview(NULL, 3, d), fview(NULL, 3, d)};
        compare(&zn_fast_elementwise_table, &zn_ref_norm_table, ZN_OP_ADD_LAYER_NORM, attrs, 2,
                in2, NULL, (it & 4) ? 3 : 4, outs2, (it & 1) ? 2 : 1, (it & 8) ? pool : NULL,
                2e-5, 1e-4);
        free(x);
        free(x2);
        free(g);
        free(b);
    }
    zn_threadpool_free(pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_random_shapes),
        cmocka_unit_test(test_gemm_edges),
        cmocka_unit_test(test_gemm_threads),
        cmocka_unit_test(test_gemm_k0_alpha0),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_gemm_kernel),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_znlinear),
        cmocka_unit_test(test_znconv),
        cmocka_unit_test(test_znattention),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_bias_act),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_layernorm),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
