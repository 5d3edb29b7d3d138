/* test_planner.c — memory planner invariants, on hand-made graphs and every built-in model:
 * no two tensors live at the same step share bytes (unless they are one storage group by
 * design: aliases and in-place pairs), planned peak <= naive sum, scratch is disjoint too. */
#include "test_util.h"

#include "engine/plan.h"
#include "suites/zoo.h"

typedef struct interval {
    size_t lo, hi;   /* bytes [lo, hi) */
    int first, last; /* steps, inclusive */
    int root;        /* storage group: tensor id, or -1 - step for scratch */
} interval;

/* Recomputes lifetimes from the plan's steps (independently of the planner) and checks that
 * intervals of different storage groups never overlap in both time and bytes. */
static void check_plan_invariants(const zn_plan *p) {
    const zn_graph *g = p->graph;
    int nt = g->n_tensors;
    int *first = malloc(sizeof(int) * (size_t)nt), *last = malloc(sizeof(int) * (size_t)nt);
    for (int t = 0; t < nt; t++) first[t] = last[t] = -1;
    for (int s = 0; s < p->n_steps; s++) {
        const zn_node *n = &g->nodes[p->steps[s].node];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) last[n->inputs[k]] = s;
        for (int k = 0; k < n->n_outputs; k++) {
            first[n->outputs[k]] = s;
            if (last[n->outputs[k]] < s) last[n->outputs[k]] = s;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) last[g->outputs[i]] = p->n_steps;
    interval *iv = calloc((size_t)(nt + p->n_steps), sizeof *iv);
    int n = 0;
    for (int t = 0; t < nt; t++) {
        if (p->slots[t].kind != ZN_SLOT_ARENA || first[t] < 0) continue;
        size_t bytes = (size_t)zn_shape_numel(&g->tensors[t].shape) * zn_dtype_size(g->tensors[t].dtype);
        assert_true(p->slots[t].offset + bytes <= p->arena_bytes);
        assert_int_equal(p->slots[t].offset % 64, 0);
        int r = t;
        while (p->slots[r].root != r) r = p->slots[r].root;
        iv[n++] = (interval){p->slots[t].offset, p->slots[t].offset + bytes, first[t], last[t], r};
    }
    for (int s = 0; s < p->n_steps; s++) {
        if (!p->steps[s].scratch_bytes) continue;
        size_t off = p->steps[s].scratch_offset;
        assert_true(off + p->steps[s].scratch_bytes <= p->arena_bytes);
        iv[n++] = (interval){off, off + p->steps[s].scratch_bytes, s, s, -1 - s};
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            if (iv[a].root == iv[b].root) continue;
            bool time = !(iv[a].last < iv[b].first || iv[b].last < iv[a].first);
            bool bytes = iv[a].lo < iv[b].hi && iv[b].lo < iv[a].hi;
            if (time && bytes) {
                print_error("overlap: group %d [%zu,%zu) steps %d-%d and group %d [%zu,%zu) steps %d-%d\n", iv[a].root,
                            iv[a].lo, iv[a].hi, iv[a].first, iv[a].last, iv[b].root, iv[b].lo, iv[b].hi, iv[b].first,
                            iv[b].last);
                fail();
            }
        }
    assert_true(p->summary.planned_peak_bytes <= p->summary.naive_bytes);
    assert_int_equal(p->summary.planned_peak_bytes, p->arena_bytes);
    free(iv);
    free(first);
    free(last);
}

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

/* A chain of element-wise ops: in-place reuse must make the arena much smaller than naive. */
static void test_chain_reuses_memory(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("chain");
    zn_dim dims[2] = {D(64), D(1024)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    int t = x;
    zn_op ops[] = {ZN_OP_RELU, ZN_OP_SIGMOID, ZN_OP_TANH, ZN_OP_EXP, ZN_OP_NEG, ZN_OP_ABS, ZN_OP_SQRT, ZN_OP_RELU};
    for (int i = 0; i < 8; i++) t = zn_graph_op(g, ops[i], NULL, 1, &t);
    zn_graph_mark_output(g, t);
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CPU; /* the host arena's plan: auto would pick a GPU where there is one */
    cfg.threads = 1;
    zn_plan *p;
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_OK);
    check_plan_invariants(p);
    size_t one = 64 * 1024 * 4;
    assert_int_equal(p->summary.naive_bytes, 8 * one);
    assert_true(p->summary.planned_peak_bytes <= 2 * one);
    assert_true(p->summary.inplace_count >= 6);
    /* and the results are right: compare with the reference plan */
    zn_compile_config rc = cfg;
    rc.reference = true;
    zn_plan *ref;
    assert_int_equal(zn_compile(g, &rc, &ref), ZN_OK);
    float *in = malloc(one);
    tu_rng r = tu_rng_new(tu_seed());
    tu_fill(&r, in, 64 * 1024, -2, 2);
    int64_t d[2] = {64, 1024};
    zn_view iv = tu_view(ZN_F32, in, 2, d);
    zn_session *s1, *s2;
    assert_int_equal(zn_session_new(p, &s1), ZN_OK);
    assert_int_equal(zn_session_new(ref, &s2), ZN_OK);
    zn_view o1 = {0}, o2 = {0};
    assert_int_equal(zn_session_run(s1, &iv, 1, &o1, 1), ZN_OK);
    assert_int_equal(zn_session_run(s2, &iv, 1, &o2, 1), ZN_OK);
    /* the fast kernels use vectorised exp/tanh: equal to the reference within float rounding */
    tu_assert_close((float *)o1.data, (float *)o2.data, 64 * 1024, 1e-6, 1e-5);
    zn_session_free(s1);
    zn_session_free(s2);
    zn_plan_free(ref);
    zn_plan_free(p);
    zn_graph_free(g);
    free(in);
}

/* A tensor read by a later node must not be overwritten in place by an earlier consumer. */
static void test_no_inplace_when_still_needed(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("fanout");
    zn_dim dims[1] = {D(1000)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    int a = zn_graph_op(g, ZN_OP_RELU, "a", 1, &x);
    int b = zn_graph_op(g, ZN_OP_NEG, "b", 1, &a); /* a is still needed by c */
    int in[2] = {a, b};
    int c = zn_graph_op(g, ZN_OP_ADD, "c", 2, in); /* relu(x) - relu(x) = 0 */
    zn_graph_mark_output(g, c);
    zn_plan *p;
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CPU; /* the host arena's plan: auto would pick a GPU where there is one */
    cfg.threads = 1;
    assert_int_equal(zn_compile(g, &cfg, &p), ZN_OK);
    check_plan_invariants(p);
    float in_data[1000];
    tu_rng r = tu_rng_new(tu_seed());
    tu_fill(&r, in_data, 1000, -1, 1);
    int64_t d[1] = {1000};
    zn_view iv = tu_view(ZN_F32, in_data, 1, d);
    zn_session *s;
    assert_int_equal(zn_session_new(p, &s), ZN_OK);
    zn_view o = {0};
    assert_int_equal(zn_session_run(s, &iv, 1, &o, 1), ZN_OK);
    for (int i = 0; i < 1000; i++) assert_true(((float *)o.data)[i] == 0.0f);
    zn_session_free(s);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void check_zoo_model(const char *name, const char *sym, int64_t v, const char *sym2, int64_t v2) {
    zn_graph *g;
    zn_zoo_options zo = {0};
    assert_int_equal(zn_zoo_build(name, &zo, &g), ZN_OK);
    if (sym) assert_int_equal(zn_graph_bind_symbol(g, sym, v), ZN_OK);
    if (sym2) assert_int_equal(zn_graph_bind_symbol(g, sym2, v2), ZN_OK);
    assert_int_equal(zn_graph_bind_symbol(g, "batch", 2), ZN_OK);
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CPU; /* the host arena's plan: auto would pick a GPU where there is one */
    cfg.threads = 1;
    zn_plan *p;
    if (zn_compile(g, &cfg, &p) != ZN_OK) {
        print_error("%s: %s\n", name, zn_last_error()->message);
        fail();
    }
    check_plan_invariants(p);
    assert_true(p->summary.planned_peak_bytes < p->summary.naive_bytes);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_zoo_plans(void **state) {
    (void)state;
    check_zoo_model("mlp", NULL, 0, NULL, 0);
    check_zoo_model("mnist-cnn", NULL, 0, NULL, 0);
    check_zoo_model("resnet50", "height", 64, "width", 64);
    check_zoo_model("bert-base", "seq", 16, NULL, 0);
    check_zoo_model("gpt2-small", "seq", 8, NULL, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_reuses_memory),
        cmocka_unit_test(test_no_inplace_when_still_needed),
        cmocka_unit_test(test_zoo_plans),
    };
    return cmocka_run_group_tests_name("planner", tests, NULL, NULL);
}
