/* test_profile.c — the per-node profiler: counts per node equal the runs, totals and shares
 * add up, op-kind aggregation matches a plain re-aggregation of the node list, several sessions
 * merge, reset clears, and an inactive profiler removes the observer. Never asserts a time. */
#include "test_util.h"

#include <pthread.h>

#include "engine/zenith.h"
#include "profiling/profile.h"

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

/* y = relu(relu(x @ W1 + b) @ W2), x: (4,16), W1: (16,8), W2: (8,8) */
static zn_graph *small_graph(uint64_t seed) {
    zn_graph *g = zn_graph_new("profile-test");
    zn_dim dims[2] = {D(4), D(16)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    float w1[16 * 8], b[8], w2[8 * 8];
    tu_rng r = tu_rng_new(seed);
    tu_fill(&r, w1, 128, -1, 1);
    tu_fill(&r, b, 8, -1, 1);
    tu_fill(&r, w2, 64, -1, 1);
    int64_t d1[2] = {16, 8}, db[1] = {8}, d2[2] = {8, 8};
    int W1 = zn_graph_add_const(g, "W1", ZN_F32, 2, d1, w1);
    int B = zn_graph_add_const(g, "b", ZN_F32, 1, db, b);
    int W2 = zn_graph_add_const(g, "W2", ZN_F32, 2, d2, w2);
    int in1[2] = {x, W1};
    int mm1 = zn_graph_op(g, ZN_OP_MATMUL, "mm1", 2, in1);
    int in2[2] = {mm1, B};
    int add = zn_graph_op(g, ZN_OP_ADD, "add", 2, in2);
    int relu1 = zn_graph_op(g, ZN_OP_RELU, "relu1", 1, &add);
    int in3[2] = {relu1, W2};
    int mm2 = zn_graph_op(g, ZN_OP_MATMUL, "mm2", 2, in3);
    int relu2 = zn_graph_op(g, ZN_OP_RELU, "relu2", 1, &mm2);
    zn_graph_mark_output(g, relu2);
    return g;
}

typedef struct fixture {
    zn_graph *g;
    zn_plan *plan;
    float x[4 * 16], y[4 * 8];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->g = small_graph(tu_seed());
    zn_compile_config cfg = zn_compile_config_default();
    cfg.no_passes = true; /* keep the five nodes as built */
    cfg.threads = 1;
    if (zn_compile(f->g, &cfg, &f->plan) != ZN_OK) return -1;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    tu_fill(&r, f->x, 64, -1, 1);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    zn_plan_free(f->plan);
    zn_graph_free(f->g);
    free(f);
    return 0;
}

static void run_n(fixture *f, zn_session *s, int n, float *y) {
    int64_t xd[2] = {4, 16}, yd[2] = {4, 8};
    zn_view in = tu_view(ZN_F32, f->x, 2, xd);
    for (int i = 0; i < n; i++) {
        zn_view out = tu_view(ZN_F32, y, 2, yd);
        assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_OK);
    }
}

static const zn_profile_node *find_node(const zn_profile *pr, const char *name) {
    for (int i = 0; i < pr->n_nodes; i++)
        if (!strcmp(pr->nodes[i].name, name)) return &pr->nodes[i];
    return NULL;
}

/* Everything a profile of `runs` runs of the plan must satisfy. */
static void check_profile(const zn_plan *plan, const zn_profile *pr, int64_t runs) {
    int n_steps = zn_plan_num_steps(plan);
    assert_int_equal(pr->n_nodes, n_steps);
    assert_int_equal(pr->runs, runs);
    double share = 0;
    int64_t total = 0;
    for (int i = 0; i < n_steps; i++) {
        zn_step_info si = zn_plan_step(plan, i);
        const zn_profile_node *nd = find_node(pr, si.node);
        assert_non_null(nd);
        assert_string_equal(nd->op, zn_op_name(si.op));
        assert_string_equal(nd->kernel, si.kernel);
        assert_int_equal(nd->count, runs);
        assert_true(nd->total_ns > 0);
        assert_true(nd->min_ns >= 0 && nd->min_ns <= nd->max_ns);
        assert_true(nd->mean_ns >= (double)nd->min_ns && nd->mean_ns <= (double)nd->max_ns);
        assert_true(fabs(nd->mean_ns - (double)nd->total_ns / (double)runs) < 1e-6 * nd->mean_ns + 1e-9);
        share += nd->share;
        total += nd->total_ns;
    }
    assert_true(fabs(share - 1.0) < 1e-9);
    assert_int_equal(pr->total_ns, total);
    assert_true(pr->run_ns >= pr->total_ns); /* steps happen inside runs */
    for (int i = 1; i < pr->n_nodes; i++) assert_true(pr->nodes[i - 1].total_ns >= pr->nodes[i].total_ns);

    /* Op kinds: re-aggregate the node list plainly and compare. */
    double op_share = 0;
    int64_t op_count_sum = 0;
    for (int o = 0; o < pr->n_ops; o++) {
        const zn_profile_op *po = &pr->ops[o];
        int nodes = 0;
        int64_t count = 0, tot = 0;
        for (int i = 0; i < pr->n_nodes; i++)
            if (!strcmp(pr->nodes[i].op, po->op)) {
                nodes++;
                count += pr->nodes[i].count;
                tot += pr->nodes[i].total_ns;
            }
        assert_int_equal(po->nodes, nodes);
        assert_int_equal(po->count, count);
        assert_int_equal(po->total_ns, tot);
        assert_true(fabs(po->share - (double)tot / (double)pr->total_ns) < 1e-12);
        op_share += po->share;
        op_count_sum += po->count;
        if (o > 0) assert_true(pr->ops[o - 1].total_ns >= po->total_ns);
    }
    assert_true(fabs(op_share - 1.0) < 1e-9);
    assert_int_equal(op_count_sum, runs * n_steps);
}

static void test_counts_totals_shares(void **state) {
    fixture *f = *state;
    assert_int_equal(zn_plan_num_steps(f->plan), 5);
    zn_profiler *p;
    assert_int_equal(zn_profiler_new(f->plan, 1, ZN_PROFILE_TIMING, &p), ZN_OK);
    zn_session *s;
    assert_int_equal(zn_session_new(f->plan, &s), ZN_OK);
    assert_int_equal(zn_profiler_attach(p, 0, s), ZN_OK);
    int n = 7 + (int)(tu_seed() % 9);
    run_n(f, s, n, f->y);
    zn_profile pr;
    assert_int_equal(zn_profiler_collect(p, &pr), ZN_OK);
    check_profile(f->plan, &pr, n);
    /* The graph has two MatMul and two Relu nodes and one Add. */
    int seen = 0;
    for (int o = 0; o < pr.n_ops; o++) {
        if (!strcmp(pr.ops[o].op, "MatMul")) assert_int_equal(pr.ops[o].nodes, 2), seen++;
        if (!strcmp(pr.ops[o].op, "Relu")) assert_int_equal(pr.ops[o].nodes, 2), seen++;
        if (!strcmp(pr.ops[o].op, "Add")) assert_int_equal(pr.ops[o].nodes, 1), seen++;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(pr.n_ops, 3);

    /* A copy is deep and equal. */
    zn_profile cp;
    assert_int_equal(zn_profile_copy(&cp, &pr), ZN_OK);
    assert_ptr_not_equal(cp.nodes, pr.nodes);
    assert_memory_equal(cp.nodes, pr.nodes, sizeof *pr.nodes * (size_t)pr.n_nodes);
    assert_memory_equal(cp.ops, pr.ops, sizeof *pr.ops * (size_t)pr.n_ops);
    zn_profile_free(&cp);
    zn_profile_free(&pr);

    /* Reset clears every counter; more runs count from zero. */
    zn_profiler_reset(p);
    assert_int_equal(zn_profiler_collect(p, &pr), ZN_OK);
    assert_int_equal(pr.runs, 0);
    assert_int_equal(pr.total_ns, 0);
    for (int i = 0; i < pr.n_nodes; i++) assert_int_equal(pr.nodes[i].count, 0);
    zn_profile_free(&pr);
    run_n(f, s, 3, f->y);
    assert_int_equal(zn_profiler_collect(p, &pr), ZN_OK);
    check_profile(f->plan, &pr, 3);
    zn_profile_free(&pr);

    zn_session_free(s);
    zn_profiler_free(p);
}

/* The observer does not change results. */
static void test_outputs_unchanged(void **state) {
    fixture *f = *state;
    zn_session *s;
    assert_int_equal(zn_session_new(f->plan, &s), ZN_OK);
    float plain[32], profiled[32];
    run_n(f, s, 1, plain);
    zn_profiler *p;
    assert_int_equal(zn_profiler_new(f->plan, 1, ZN_PROFILE_TIMING | ZN_PROFILE_NVTX, &p), ZN_OK);
    assert_int_equal(zn_profiler_attach(p, 0, s), ZN_OK);
    run_n(f, s, 1, profiled);
    assert_memory_equal(plain, profiled, sizeof plain);
    zn_session_free(s);
    zn_profiler_free(p);
}

typedef struct worker_arg {
    fixture *f;
    zn_session *s;
    int n;
    float y[32];
} worker_arg;

static void *worker(void *a) {
    worker_arg *w = a;
    int64_t xd[2] = {4, 16}, yd[2] = {4, 8};
    zn_view in = tu_view(ZN_F32, w->f->x, 2, xd);
    for (int i = 0; i < w->n; i++) {
        zn_view out = tu_view(ZN_F32, w->y, 2, yd);
        if (zn_session_run(w->s, &in, 1, &out, 1) != ZN_OK) return a;
    }
    return NULL;
}

static void test_sessions_merge(void **state) {
    fixture *f = *state;
    enum { W = 3 };
    zn_profiler *p;
    assert_int_equal(zn_profiler_new(f->plan, W, ZN_PROFILE_TIMING, &p), ZN_OK);
    worker_arg args[W];
    pthread_t th[W];
    int64_t total_runs = 0;
    for (int k = 0; k < W; k++) {
        args[k].f = f;
        args[k].n = 4 + k * 3;
        total_runs += args[k].n;
        assert_int_equal(zn_session_new(f->plan, &args[k].s), ZN_OK);
        assert_int_equal(zn_profiler_attach(p, k, args[k].s), ZN_OK);
    }
    for (int k = 0; k < W; k++) assert_int_equal(pthread_create(&th[k], NULL, worker, &args[k]), 0);
    for (int k = 0; k < W; k++) {
        void *ret;
        pthread_join(th[k], &ret);
        assert_null(ret);
    }
    zn_profile pr;
    assert_int_equal(zn_profiler_collect(p, &pr), ZN_OK);
    check_profile(f->plan, &pr, total_runs);
    zn_profile_free(&pr);
    for (int k = 0; k < W; k++) zn_session_free(args[k].s);
    zn_profiler_free(p);
}

static void test_inactive_and_errors(void **state) {
    fixture *f = *state;
    zn_profiler *p;
    /* No timing and no tool listening (tests run without an NVTX tool): nothing to observe. */
    assert_int_equal(zn_profiler_new(f->plan, 2, 0, &p), ZN_OK);
    assert_null(zn_profiler_observer(p, 0));
    assert_false(zn_profiler_nvtx_active(p));
    zn_profiler_free(p);

    assert_int_equal(zn_profiler_new(f->plan, 0, ZN_PROFILE_TIMING, &p), ZN_ERR_INVALID_ARGUMENT);
    assert_null(p);
    assert_int_equal(zn_profiler_new(f->plan, 2, ZN_PROFILE_TIMING, &p), ZN_OK);
    assert_non_null(zn_profiler_observer(p, 1));
    assert_null(zn_profiler_observer(p, 2));
    zn_session *s;
    assert_int_equal(zn_session_new(f->plan, &s), ZN_OK);
    assert_int_equal(zn_profiler_attach(p, 5, s), ZN_ERR_INVALID_ARGUMENT);

    /* A session of another plan is refused. */
    zn_plan *other;
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 1;
    assert_int_equal(zn_compile(f->g, &cfg, &other), ZN_OK);
    zn_session *s2;
    assert_int_equal(zn_session_new(other, &s2), ZN_OK);
    assert_int_equal(zn_profiler_attach(p, 0, s2), ZN_ERR_INVALID_ARGUMENT);
    zn_session_free(s2);
    zn_plan_free(other);

    /* Never-run slots give zero counts, not garbage minima. */
    zn_profile pr;
    assert_int_equal(zn_profiler_collect(p, &pr), ZN_OK);
    for (int i = 0; i < pr.n_nodes; i++) {
        assert_int_equal(pr.nodes[i].count, 0);
        assert_int_equal(pr.nodes[i].min_ns, 0);
        assert_true(pr.nodes[i].share == 0);
    }
    zn_profile_free(&pr);
    zn_session_free(s);
    zn_profiler_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_totals_shares),
        cmocka_unit_test(test_outputs_unchanged),
        cmocka_unit_test(test_sessions_merge),
        cmocka_unit_test(test_inactive_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
