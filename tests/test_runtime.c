/* test_runtime.c — compile and sessions: observer hooks, input checking, caller-owned output
 * buffers, several sessions of one plan at once, compile errors, the registry's queries. */
#include "test_util.h"

#include <pthread.h>

#include "engine/plan.h"
#include "kernels/registry.h"

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

/* y = softmax(relu(x @ W + b)), x: (4,16), W: (16,8) */
static zn_graph *mlp_graph(uint64_t seed) {
    zn_graph *g = zn_graph_new("tiny");
    zn_dim dims[2] = {D(4), D(16)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    float w[16 * 8], b[8];
    tu_rng r = tu_rng_new(seed);
    tu_fill(&r, w, 128, -1, 1);
    tu_fill(&r, b, 8, -1, 1);
    int64_t wd[2] = {16, 8}, bd[1] = {8};
    int W = zn_graph_add_const(g, "W", ZN_F32, 2, wd, w);
    int B = zn_graph_add_const(g, "b", ZN_F32, 1, bd, b);
    int in[2] = {x, W};
    int mm = zn_graph_op(g, ZN_OP_MATMUL, "mm", 2, in);
    int in2[2] = {mm, B};
    int add = zn_graph_op(g, ZN_OP_ADD, "add", 2, in2);
    int relu = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &add);
    int sm = zn_graph_op(g, ZN_OP_SOFTMAX, "softmax", 1, &relu);
    zn_graph_mark_output(g, sm);
    return g;
}

/* The same computation written out in the test. */
static void mlp_expected(const zn_graph *g, const float *x, float *y) {
    const float *w = zn_graph_tensor_data(g, zn_graph_find_tensor(g, "W"));
    const float *b = zn_graph_tensor_data(g, zn_graph_find_tensor(g, "b"));
    for (int i = 0; i < 4; i++) {
        double h[8], sum = 0, mx = -1e30;
        for (int j = 0; j < 8; j++) {
            double acc = b[j];
            for (int k = 0; k < 16; k++) acc += (double)x[i * 16 + k] * w[k * 8 + j];
            h[j] = acc > 0 ? acc : 0;
            if (h[j] > mx) mx = h[j];
        }
        for (int j = 0; j < 8; j++) sum += exp(h[j] - mx);
        for (int j = 0; j < 8; j++) y[i * 8 + j] = (float)(exp(h[j] - mx) / sum);
    }
}

typedef struct counts {
    int run_begin, run_end, step_begin, step_end, last_step;
    zn_status last_status;
} counts;
static void on_run_begin(void *u, const zn_session *s) { (void)s; ((counts *)u)->run_begin++; }
static void on_run_end(void *u, const zn_session *s, zn_status st) {
    (void)s;
    ((counts *)u)->run_end++;
    ((counts *)u)->last_status = st;
}
static void on_step_begin(void *u, const zn_session *s, int step) {
    (void)s;
    counts *c = u;
    assert_int_equal(step, c->last_step + 1); /* steps in order */
    c->step_begin++;
}
static void on_step_end(void *u, const zn_session *s, int step) {
    (void)s;
    ((counts *)u)->step_end++;
    ((counts *)u)->last_step = step;
}

static void test_run_observer_and_outputs(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    zn_graph *g = mlp_graph(seed);
    zn_plan *p;
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 2;
    cfg.no_passes = true; /* one step per node, so the observer counts are known */
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_OK);
    assert_int_equal(zn_plan_num_steps(p), 4);
    assert_string_equal(zn_plan_step(p, 0).node, "mm");
    assert_int_equal(zn_plan_step(p, 0).flops, 2 * 4 * 8 * 16);
    assert_non_null(zn_plan_step(p, 0).kernel);
    zn_session *s;
    assert_int_equal(zn_session_new(p, &s), ZN_OK);
    counts c = {.last_step = -1};
    zn_observer obs = {&c, on_run_begin, on_run_end, on_step_begin, on_step_end};
    zn_session_set_observer(s, &obs);
    float x[64], want[32], got[32];
    tu_rng r = tu_rng_new(seed + 1);
    tu_fill(&r, x, 64, -1, 1);
    int64_t xd[2] = {4, 16};
    zn_view in = tu_view(ZN_F32, x, 2, xd);
    zn_view out = {0};
    out.data = got; /* caller-owned: the result is copied here */
    assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(c.run_begin, 1);
    assert_int_equal(c.run_end, 1);
    assert_int_equal(c.step_begin, 4);
    assert_int_equal(c.step_end, 4);
    assert_int_equal(c.last_status, ZN_OK);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[1], 8);
    mlp_expected(g, x, want);
    tu_assert_close(got, want, 32, 1e-6, 1e-5);
    /* without an observer, the same numbers */
    zn_session_set_observer(s, NULL);
    zn_view out2 = {0};
    assert_int_equal(zn_session_run(s, &in, 1, &out2, 1), ZN_OK);
    assert_memory_equal(out2.data, got, sizeof got);
    assert_int_equal(c.run_begin, 1);
    zn_session_free(s);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_bad_inputs(void **state) {
    (void)state;
    zn_graph *g = mlp_graph(1);
    zn_plan *p;
    assert_int_equal(zn_compile(g, NULL, &p), ZN_OK);
    zn_session *s;
    assert_int_equal(zn_session_new(p, &s), ZN_OK);
    float x[64] = {0};
    int64_t wrong[2] = {4, 15};
    zn_view in = tu_view(ZN_F32, x, 2, wrong);
    zn_view out = {0};
    assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "[4,16]"));
    int64_t right[2] = {4, 16};
    in = tu_view(ZN_I64, x, 2, right);
    assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_ERR_SHAPE);
    in = tu_view(ZN_F32, x, 2, right);
    assert_int_equal(zn_session_run(s, &in, 0, &out, 1), ZN_ERR_INVALID_ARGUMENT);
    zn_session_free(s);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_compile_errors(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("unbound");
    int sym = zn_graph_symbol(g, "batch");
    zn_dim dims[2] = {{-1, sym}, D(3)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    zn_graph_mark_output(g, zn_graph_op(g, ZN_OP_RELU, "r", 1, &x));
    zn_plan *p = NULL;
    assert_int_equal(zn_compile(g, NULL, &p), ZN_ERR_SHAPE);
    assert_null(p);
    assert_non_null(strstr(zn_last_error()->hint, "--shape x"));
    zn_compile_config cfg = zn_compile_config_default();
    assert_int_equal(zn_graph_bind_symbol(g, "batch", 2), ZN_OK);
    cfg.precision = ZN_PRECISION_F16;
    cfg.backend = ZN_BACKEND_CPU;
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_ERR_UNSUPPORTED);
    assert_non_null(strstr(zn_last_error()->hint, "fp32"));
    cfg.precision = ZN_PRECISION_F32;
    cfg.threads = -1;
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_ERR_INVALID_ARGUMENT);
    zn_graph_free(g);
}

typedef struct worker {
    zn_session *s;
    const zn_view *in;
    float out[32];
    int runs;
    zn_status st;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    for (int i = 0; i < w->runs && w->st == ZN_OK; i++) {
        zn_view o = {0};
        o.data = w->out;
        w->st = zn_session_run(w->s, w->in, 1, &o, 1);
    }
    return NULL;
}

static void test_concurrent_sessions(void **state) {
    (void)state;
    zn_graph *g = mlp_graph(7);
    zn_plan *p;
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 1;
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_OK);
    float x[64], want[32];
    tu_rng r = tu_rng_new(tu_seed());
    tu_fill(&r, x, 64, -1, 1);
    mlp_expected(g, x, want);
    int64_t xd[2] = {4, 16};
    zn_view in = tu_view(ZN_F32, x, 2, xd);
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        assert_int_equal(zn_session_new(p, &w[i].s), ZN_OK);
        w[i].in = &in;
        w[i].runs = 200;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].st, ZN_OK);
        tu_assert_close(w[i].out, want, 32, 1e-6, 1e-5);
        zn_session_free(w[i].s);
    }
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_registry_has_reference_for_every_op(void **state) {
    (void)state;
    for (int op = 0; op < ZN_OP_COUNT; op++) {
        const zn_kernel_spec *k = zn_registry_reference((zn_op)op);
        if (!k) {
            print_error("no reference kernel for %s\n", zn_op_name((zn_op)op));
            fail();
        }
        assert_int_equal(k->backend, ZN_BACKEND_CPU);
        assert_int_equal(k->priority, 0);
        assert_true(zn_registry_has_op((zn_op)op, ZN_BACKEND_CPU));
    }
    assert_true(zn_registry_count() >= ZN_OP_COUNT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_observer_and_outputs),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_concurrent_sessions),
        cmocka_unit_test(test_registry_has_reference_for_every_op),
    };
    return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
