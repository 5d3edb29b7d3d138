/* test_ref_linalg.c — the reference MatMul / Gemm kernels, zn_ref_sgemm and their shape
 * inference, against hand-computed values and a plain double-precision triple loop. */
#include "tests/test_util.h"

#include "engine/error.h"
#include "engine/infer.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/ref_gemm.h"
#include "kernels/cpu/threadpool.h"

/* Runs a kernel with an explicit thread pool (tu_run_kernel runs serially). */
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
    void *scratch = prep.scratch_bytes ? calloc(1, prep.scratch_bytes) : NULL;
    zn_exec_ctx ctx = {&node, n_in, in, n_out, out, prep.state, scratch, pool, NULL};
    zn_status st = k->run(&ctx);
    free(scratch);
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

static zn_status infer(zn_op op, const zn_attr *attrs, int n_attrs, const zn_view *in, int n_in,
                       zn_view *out) {
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    node.op = op;
    node.name = "n";
    node.attrs = attrs;
    node.n_attrs = n_attrs;
    node.n_in = n_in;
    node.in = in;
    node.n_out = 1;
    node.out = out;
    return zn_infer_linalg(&node, out);
}

static int64_t numel(int rank, const int64_t *d) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= d[i];
    return n;
}

/* ---- MatMul ------------------------------------------------------------------------------- */

static void test_matmul_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4, 5, 6};     /* (2,3) */
    float b[] = {7, 8, 9, 10, 11, 12};  /* (3,2) */
    float y[4], want[] = {58, 64, 139, 154};
    int64_t da[] = {2, 3}, db[] = {3, 2}, dy[] = {2, 2};
    zn_view in[2] = {tu_view(ZN_F32, a, 2, da), tu_view(ZN_F32, b, 2, db)};
    zn_view out = tu_view(ZN_F32, y, 2, dy);
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_MATMUL);
    assert_non_null(k);
    assert_string_equal(k->name, "ref.matmul");
    assert_int_equal(tu_run_kernel(k, NULL, 0, in, 2, &out, 1), ZN_OK);
    tu_assert_close(y, want, 4, 0, 0);

    /* 1-D @ 1-D: a dot product, a scalar result */
    int64_t d3[] = {3};
    float v1[] = {1, 2, 3}, v2[] = {4, 5, 6}, dot = 0, want_dot = 32;
    zn_view in2[2] = {tu_view(ZN_F32, v1, 1, d3), tu_view(ZN_F32, v2, 1, d3)};
    zn_view o2;
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in2, 2, &o2), ZN_OK);
    assert_int_equal(o2.rank, 0);
    o2.data = &dot;
    assert_int_equal(tu_run_kernel(k, NULL, 0, in2, 2, &o2, 1), ZN_OK);
    tu_assert_close(&dot, &want_dot, 1, 0, 0);
}

/* numpy matmul in double, with broadcasting and 1-D promotion, independent of the kernel. */
static void naive_matmul(const float *a, int ra, const int64_t *da, const float *b, int rb,
                         const int64_t *db, float *y) {
    int64_t pa[ZN_MAX_RANK + 1], pb[ZN_MAX_RANK + 1];
    int qa = ra, qb = rb;
    if (ra == 1) { pa[0] = 1; pa[1] = da[0]; qa = 2; } else memcpy(pa, da, sizeof(int64_t) * (size_t)ra);
    if (rb == 1) { pb[0] = db[0]; pb[1] = 1; qb = 2; } else memcpy(pb, db, sizeof(int64_t) * (size_t)rb);
    int64_t M = pa[qa - 2], K = pa[qa - 1], N = pb[qb - 1];
    int br = (qa > qb ? qa : qb) - 2;
    int64_t bd[ZN_MAX_RANK], ad[ZN_MAX_RANK], bdd[ZN_MAX_RANK];
    int64_t nb = 1;
    for (int d = 0; d < br; d++) {
        int ia = d - (br - (qa - 2)), ib = d - (br - (qb - 2));
        ad[d] = ia >= 0 ? pa[ia] : 1;
        bdd[d] = ib >= 0 ? pb[ib] : 1;
        bd[d] = ad[d] > bdd[d] ? ad[d] : bdd[d];
        nb *= bd[d];
    }
    for (int64_t t = 0; t < nb; t++) {
        int64_t rem = t, oa = 0, ob = 0, sa = 1, sb = 1;
        for (int d = br - 1; d >= 0; d--) {
            int64_t idx = rem % bd[d];
            rem /= bd[d];
            oa += (ad[d] == 1 ? 0 : idx) * sa;
            ob += (bdd[d] == 1 ? 0 : idx) * sb;
            sa *= ad[d];
            sb *= bdd[d];
        }
        const float *A = a + oa * M * K, *B = b + ob * K * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)A[i * K + k] * B[k * N + j];
                y[t * M * N + i * N + j] = (float)s;
            }
    }
}

typedef struct mm_case {
    int ra, rb;
    int64_t da[4], db[4];
    int ry;
    int64_t dy[4];
} mm_case;

static void test_matmul_random(void **state) {
    (void)state;
    static const mm_case cases[] = {
        {2, 2, {1, 1}, {1, 1}, 2, {1, 1}},
        {2, 2, {1, 17}, {17, 1}, 2, {1, 1}},
        {2, 2, {13, 1}, {1, 7}, 2, {13, 7}},   /* K = 1 */
        {2, 2, {1, 31}, {31, 300}, 2, {1, 300}},
        {2, 2, {29, 67}, {67, 1}, 2, {29, 1}},
        {2, 2, {37, 131}, {131, 263}, 2, {37, 263}}, /* primes, crosses the K and N blocks */
        {1, 2, {5}, {5, 3}, 1, {3}},
        {2, 1, {4, 5}, {5}, 1, {4}},
        {1, 3, {6}, {2, 6, 3}, 2, {2, 3}},
        {3, 1, {2, 3, 6}, {6}, 2, {2, 3}},
        {3, 2, {3, 5, 7}, {7, 11}, 3, {3, 5, 11}},
        {2, 3, {5, 7}, {3, 7, 11}, 3, {3, 5, 11}},
        {4, 3, {2, 1, 4, 5}, {3, 5, 6}, 4, {2, 3, 4, 6}},
        {4, 4, {2, 1, 3, 4}, {1, 5, 4, 2}, 4, {2, 5, 3, 2}},
    };
    tu_rng r = tu_rng_new(tu_seed());
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_MATMUL);
    zn_threadpool *pool = zn_threadpool_new(2);
    assert_non_null(pool);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const mm_case *mc = &cases[c];
        int64_t na = numel(mc->ra, mc->da), nb = numel(mc->rb, mc->db), ny = numel(mc->ry, mc->dy);
        float *a = malloc(sizeof(float) * (size_t)na), *b = malloc(sizeof(float) * (size_t)nb);
        float *y = malloc(sizeof(float) * (size_t)ny), *y2 = malloc(sizeof(float) * (size_t)ny);
        float *want = malloc(sizeof(float) * (size_t)ny);
        tu_fill(&r, a, na, -1, 1);
        tu_fill(&r, b, nb, -1, 1);
        zn_view in[2] = {tu_view(ZN_F32, a, mc->ra, mc->da), tu_view(ZN_F32, b, mc->rb, mc->db)};
        zn_view out;
        assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in, 2, &out), ZN_OK);
        assert_int_equal(out.rank, mc->ry);
        for (int i = 0; i < mc->ry; i++) assert_int_equal(out.dims[i], mc->dy[i]);
        out.data = y;
        assert_int_equal(tu_run_kernel(k, NULL, 0, in, 2, &out, 1), ZN_OK);
        naive_matmul(a, mc->ra, mc->da, b, mc->rb, mc->db, want);
        tu_assert_close(y, want, ny, 1e-5, 1e-5);
        out.data = y2;
        assert_int_equal(run_pool(k, NULL, 0, in, 2, &out, 1, pool), ZN_OK);
        tu_assert_close(y2, y, ny, 1e-6, 1e-6);
        free(a); free(b); free(y); free(y2); free(want);
    }
    zn_threadpool_free(pool);
}

/* ---- Gemm --------------------------------------------------------------------------------- */

static void test_gemm_hand(void **state) {
    (void)state;
    /* A^T given: A = [[1,2],[3,4]] stored transposed; B = I; C = (N) = [10, 20]; alpha 2, beta 0.5 */
    float at[] = {1, 3, 2, 4}, b[] = {1, 0, 0, 1}, c[] = {10, 20}, y[4];
    float want[] = {2 * 1 + 5, 2 * 2 + 10, 2 * 3 + 5, 2 * 4 + 10};
    int64_t d22[] = {2, 2}, d2[] = {2};
    zn_view in[3] = {tu_view(ZN_F32, at, 2, d22), tu_view(ZN_F32, b, 2, d22), tu_view(ZN_F32, c, 1, d2)};
    zn_view out = tu_view(ZN_F32, y, 2, d22);
    zn_attr attrs[] = {tu_attr_int("transA", 1), tu_attr_float("alpha", 2), tu_attr_float("beta", 0.5f)};
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_GEMM);
    assert_non_null(k);
    assert_string_equal(k->name, "ref.gemm");
    assert_int_equal(tu_run_kernel(k, attrs, 3, in, 3, &out, 1), ZN_OK);
    tu_assert_close(y, want, 4, 0, 0);
}

static void test_gemm_random(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    const zn_kernel_spec *k = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_GEMM);
    zn_threadpool *pool = zn_threadpool_new(2);
    static const int64_t sizes[][3] = {{1, 1, 1}, {1, 70, 3}, {7, 1, 5}, {5, 3, 1}, {23, 141, 97}, {3, 300, 67}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int cs = 0; cs < 6; cs++) { /* none, scalar, (N), (M,1), (M,N), (1,N) */
                    float *a = malloc(sizeof(float) * (size_t)(M * K));
                    float *b = malloc(sizeof(float) * (size_t)(K * N));
                    float *c = malloc(sizeof(float) * (size_t)(M * N));
                    float *y = malloc(sizeof(float) * (size_t)(M * N));
                    float *y2 = malloc(sizeof(float) * (size_t)(M * N));
                    float *want = malloc(sizeof(float) * (size_t)(M * N));
                    tu_fill(&r, a, M * K, -1, 1);
                    tu_fill(&r, b, K * N, -1, 1);
                    tu_fill(&r, c, M * N, -1, 1);
                    int64_t da[2] = {ta ? K : M, ta ? M : K}, db[2] = {tb ? N : K, tb ? K : N};
                    int64_t dc[2] = {0, 0};
                    int rc = 0;
                    switch (cs) {
                    case 1: rc = 0; break;
                    case 2: rc = 1; dc[0] = N; break;
                    case 3: rc = 2; dc[0] = M; dc[1] = 1; break;
                    case 4: rc = 2; dc[0] = M; dc[1] = N; break;
                    case 5: rc = 2; dc[0] = 1; dc[1] = N; break;
                    default: break;
                    }
                    float alpha = tu_uniform(&r, -2, 2), beta = tu_uniform(&r, -2, 2);
                    zn_attr attrs[] = {tu_attr_int("transA", ta), tu_attr_int("transB", tb),
                                       tu_attr_float("alpha", alpha), tu_attr_float("beta", beta)};
                    zn_view in[3] = {tu_view(ZN_F32, a, 2, da), tu_view(ZN_F32, b, 2, db),
                                     tu_view(ZN_F32, c, rc, dc)};
                    int n_in = cs ? 3 : 2;
                    zn_view out;
                    assert_int_equal(infer(ZN_OP_GEMM, attrs, 4, in, n_in, &out), ZN_OK);
                    assert_int_equal(out.rank, 2);
                    assert_int_equal(out.dims[0], M);
                    assert_int_equal(out.dims[1], N);
                    for (int64_t i = 0; i < M; i++)
                        for (int64_t j = 0; j < N; j++) {
                            double acc = 0;
                            for (int64_t q = 0; q < K; q++)
                                acc += (double)(ta ? a[q * M + i] : a[i * K + q]) *
                                       (tb ? b[j * K + q] : b[q * N + j]);
                            double cv = 0;
                            switch (cs) {
                            case 1: cv = c[0]; break;
                            case 2: cv = c[j]; break;
                            case 3: cv = c[i]; break;
                            case 4: cv = c[i * N + j]; break;
                            case 5: cv = c[j]; break;
                            default: break;
                            }
                            want[i * N + j] = (float)(alpha * acc + beta * cv);
                        }
                    for (int64_t i = 0; i < M * N; i++) y[i] = NAN; /* must be overwritten */
                    out.data = y;
                    assert_int_equal(tu_run_kernel(k, attrs, 4, in, n_in, &out, 1), ZN_OK);
                    tu_assert_close(y, want, M * N, 1e-4, 1e-4);
                    out.data = y2;
                    assert_int_equal(run_pool(k, attrs, 4, in, n_in, &out, 1, pool), ZN_OK);
                    tu_assert_close(y2, y, M * N, 1e-6, 1e-6);
                    free(a); free(b); free(c); free(y); free(y2); free(want);
                }
    }
    zn_threadpool_free(pool);
}

/* zn_ref_sgemm directly: leading dimensions wider than the matrix, beta scaling, beta == 0
 * overwriting NaN, and the row-parallel and column-parallel paths. */
static void test_sgemm_strided(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    zn_threadpool *pool = zn_threadpool_new(2);
    static const int64_t sizes[][3] = {{3, 700, 19}, {64, 65, 130}, {2, 513, 7}};
    for (size_t s = 0; s < 3; s++) {
        int64_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
        float *a = malloc(sizeof(float) * (size_t)(M * lda));
        float *b = malloc(sizeof(float) * (size_t)(K * ldb));
        float *c0 = malloc(sizeof(float) * (size_t)(M * ldc));
        float *c1 = malloc(sizeof(float) * (size_t)(M * ldc));
        float *want = malloc(sizeof(float) * (size_t)(M * ldc));
        tu_fill(&r, a, M * lda, -1, 1);
        tu_fill(&r, b, K * ldb, -1, 1);
        tu_fill(&r, c0, M * ldc, -1, 1);
        for (int pass = 0; pass < 2; pass++) {
            float beta = pass ? 0.0f : 0.75f;
            memcpy(c1, c0, sizeof(float) * (size_t)(M * ldc));
            if (pass)
                for (int64_t i = 0; i < M * ldc; i++) c1[i] = NAN;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < ldc; j++) {
                    if (j >= N) { want[i * ldc + j] = c1[i * ldc + j]; continue; }
                    double acc = 0;
                    for (int64_t q = 0; q < K; q++) acc += (double)a[i * lda + q] * b[q * ldb + j];
                    want[i * ldc + j] = (float)(1.5 * acc + (beta != 0 ? beta * c1[i * ldc + j] : 0));
                }
            zn_ref_sgemm(pass ? pool : NULL, false, false, M, N, K, 1.5f, a, lda, b, ldb, beta, c1, ldc);
            tu_assert_close(c1, want, M * ldc, 1e-4, 1e-4); /* padding columns left alone */
        }
        free(a); free(b); free(c0); free(c1); free(want);
    }
    zn_threadpool_free(pool);
}

static void test_supports(void **state) {
    (void)state;
    int64_t d2[] = {2, 2}, d3[] = {2, 2, 2};
    int64_t buf[8] = {0};
    zn_view in[2] = {tu_view(ZN_I64, buf, 2, d2), tu_view(ZN_I64, buf, 2, d2)};
    zn_view out = tu_view(ZN_I64, buf, 2, d2);
    const zn_kernel_spec *mm = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_MATMUL);
    const zn_kernel_spec *gm = tu_find_kernel(&zn_ref_linalg_table, ZN_OP_GEMM);
    assert_int_equal(tu_run_kernel(mm, NULL, 0, in, 2, &out, 1), ZN_ERR_UNSUPPORTED);
    float f[8] = {0};
    zn_view fin[2] = {tu_view(ZN_F32, f, 3, d3), tu_view(ZN_F32, f, 2, d2)};
    zn_view fout = tu_view(ZN_F32, f, 2, d2);
    assert_int_equal(tu_run_kernel(gm, NULL, 0, fin, 2, &fout, 1), ZN_ERR_UNSUPPORTED);
    assert_int_equal(mm->backend, ZN_BACKEND_CPU);
    assert_int_equal(mm->priority, 0);
}

static void test_infer_errors(void **state) {
    (void)state;
    int64_t d23[] = {2, 3}, d45[] = {4, 5}, d4[] = {4}, b1[] = {2, 3, 4}, b2[] = {3, 4, 5};
    zn_view in[3] = {tu_view(ZN_F32, NULL, 2, d23), tu_view(ZN_F32, NULL, 2, d45)};
    zn_view out;
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in, 2, &out), ZN_ERR_SHAPE);
    const char *m = zn_last_error()->message;
    assert_non_null(strstr(m, "A is [2,3]"));
    assert_non_null(strstr(m, "B is [4,5]"));
    assert_non_null(strstr(m, "second-to-last"));

    in[1] = tu_view(ZN_F32, NULL, 1, d4);
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in, 2, &out), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[4]"));

    in[0] = tu_view(ZN_F32, NULL, 3, b1);
    in[1] = tu_view(ZN_F32, NULL, 3, b2);
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in, 2, &out), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[2,3,4]"));
    assert_non_null(strstr(zn_last_error()->message, "broadcast"));

    in[1] = tu_view(ZN_F16, NULL, 2, d45);
    assert_int_equal(infer(ZN_OP_MATMUL, NULL, 0, in, 2, &out), ZN_ERR_SHAPE);

    /* Gemm: inner dims, and a C that does not broadcast */
    int64_t d34[] = {3, 4}, d24[] = {2, 4}, d5[] = {5};
    in[0] = tu_view(ZN_F32, NULL, 2, d23);
    in[1] = tu_view(ZN_F32, NULL, 2, d45);
    assert_int_equal(infer(ZN_OP_GEMM, NULL, 0, in, 2, &out), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[2,3]"));
    in[1] = tu_view(ZN_F32, NULL, 2, d34);
    in[2] = tu_view(ZN_F32, NULL, 1, d5);
    assert_int_equal(infer(ZN_OP_GEMM, NULL, 0, in, 3, &out), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[5]"));
    assert_non_null(strstr(zn_last_error()->message, "(2,4)"));
    in[2] = tu_view(ZN_F32, NULL, 2, d24);
    assert_int_equal(infer(ZN_OP_GEMM, NULL, 0, in, 3, &out), ZN_OK);
    zn_attr tb = tu_attr_int("transB", 1);
    assert_int_equal(infer(ZN_OP_GEMM, &tb, 1, in, 3, &out), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "transB=1"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_hand),   cmocka_unit_test(test_matmul_random),
        cmocka_unit_test(test_gemm_hand),     cmocka_unit_test(test_gemm_random),
        cmocka_unit_test(test_sgemm_strided), cmocka_unit_test(test_supports),
        cmocka_unit_test(test_infer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
