/* test_device_passes.c — the CUDA plan's graph rewrites, checked on the CPU: placement (CPU
 * fallbacks with ZnCopy steps around them) and precision lowering (fp16/bf16 with boundary
 * casts, nodes without half kernels wrapped in casts).
 *
 * Which nodes "have device kernels" is a made-up predicate, so no GPU is needed. The rewritten
 * graphs run on the CPU reference kernels (ZnCopy is a memcpy there, Cast converts to and from
 * half) and must give the original graph's outputs: exactly for placement, within half
 * rounding for lowering.
 */
#include "test_util.h"

#include "engine/graph.h"
#include "engine/plan.h"
#include "kernels/registry.h"
#include "engine/passes/passes.h"
#include "engine/zenith.h"
#include "suites/zoo.h"

/* x (2, 8) -> MatMul W (8, 16) -> Add b (16) -> Relu -> r (output 0) -> Softmax -> s (output 1) */
static zn_graph *small_graph(uint64_t seed) {
    tu_rng rng = tu_rng_new(seed);
    zn_graph *g = zn_graph_new("small");
    zn_dim xd[2] = {{2, -1}, {8, -1}};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, xd);
    float w[8 * 16], b[16];
    tu_fill(&rng, w, 8 * 16, -1, 1);
    tu_fill(&rng, b, 16, -0.5f, 0.5f);
    int64_t wd[2] = {8, 16}, bd[1] = {16};
    int W = zn_graph_add_const(g, "W", ZN_F32, 2, wd, w);
    int B = zn_graph_add_const(g, "b", ZN_F32, 1, bd, b);
    int mm_in[2] = {x, W};
    int a = zn_graph_op(g, ZN_OP_MATMUL, "mm", 2, mm_in);
    int add_in[2] = {a, B};
    int c = zn_graph_op(g, ZN_OP_ADD, "add", 2, add_in);
    int r = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &c);
    int s = zn_graph_op(g, ZN_OP_SOFTMAX, "softmax", 1, &r);
    assert_int_equal(zn_graph_mark_output(g, r), ZN_OK);
    assert_int_equal(zn_graph_mark_output(g, s), ZN_OK);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    return g;
}

/* Runs g on the CPU reference kernels (no passes); out0 (2,16), out1 (2,16). */
static void run_reference(const zn_graph *g, const float *x, float *out0, float *out1) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.reference = true;
    cfg.threads = 1;
    zn_plan *plan = NULL;
    zn_status st = zn_compile(g, &cfg, &plan);
    if (st != ZN_OK) fprintf(stderr, "compile: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(plan, &s), ZN_OK);
    int64_t xd[2] = {2, 8};
    zn_view in = tu_view(ZN_F32, (void *)x, 2, xd);
    zn_view out[2];
    memset(out, 0, sizeof out);
    out[0].data = out0;
    out[1].data = out1;
    assert_int_equal(zn_session_run(s, &in, 1, out, 2), ZN_OK);
    assert_int_equal(out[0].dtype, ZN_F32);
    assert_int_equal(out[1].dtype, ZN_F32);
    zn_session_free(s);
    zn_plan_free(plan);
}

static int count_op(const zn_graph *g, zn_op op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static const zn_node *node_named(const zn_graph *g, const char *name) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    return NULL;
}

static bool all_but(const zn_graph *g, int node, void *user) { return g->nodes[node].op != *(const zn_op *)user; }
static bool only_cast(const zn_graph *g, int node, void *user) {
    (void)user;
    return g->nodes[node].op == ZN_OP_CAST;
}
static bool every(const zn_graph *g, int node, void *user) {
    (void)g, (void)node, (void)user;
    return true;
}

/* Relu has no device kernel: one copy to the host before it, one back for Softmax; its output
 * (a graph output) stays on the host. The rewritten graph computes the same values. */
static void test_place_fallback_copies(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    zn_graph *g = small_graph(seed);
    float x[16], want0[32], want1[32], got0[32], got1[32];
    tu_rng rng = tu_rng_new(seed + 1);
    tu_fill(&rng, x, 16, -2, 2);
    run_reference(g, x, want0, want1);

    zn_op relu = ZN_OP_RELU;
    int fallback = -1;
    char detail[160];
    int copies = zn_pass_place(g, all_but, &relu, &fallback, detail, sizeof detail);
    assert_int_equal(copies, 2);
    assert_int_equal(fallback, 1);
    assert_non_null(strstr(detail, "1 node on the CPU"));
    assert_int_equal(count_op(g, ZN_OP_COPY), 2);
    const zn_node *r = node_named(g, "relu");
    assert_non_null(r);
    const zn_node *to_host = &g->nodes[g->tensors[r->inputs[0]].producer];
    assert_int_equal(to_host->op, ZN_OP_COPY);
    assert_string_equal(zn_attrs_string(to_host->attrs, to_host->n_attrs, "to", ""), "host");
    const zn_node *sm = node_named(g, "softmax");
    const zn_node *to_dev = &g->nodes[g->tensors[sm->inputs[0]].producer];
    assert_int_equal(to_dev->op, ZN_OP_COPY);
    assert_string_equal(zn_attrs_string(to_dev->attrs, to_dev->n_attrs, "to", ""), "device");

    run_reference(g, x, got0, got1);
    assert_memory_equal(got0, want0, sizeof want0);
    assert_memory_equal(got1, want1, sizeof want1);
    zn_graph_free(g);
}

/* Everything on the device: no copies; a graph input read by a CPU node gets one copy. */
static void test_place_inputs_live_on_device(void **state) {
    (void)state;
    zn_graph *g = small_graph(7);
    assert_int_equal(zn_pass_place(g, every, NULL, NULL, NULL, 0), 0);
    zn_graph_free(g);
    g = small_graph(7);
    zn_op mm = ZN_OP_MATMUL;
    int fallback = 0;
    assert_int_equal(zn_pass_place(g, all_but, &mm, &fallback, NULL, 0), 2); /* x to host, mm out to device */
    assert_int_equal(fallback, 1);
    const zn_node *m = node_named(g, "mm");
    int xin = m->inputs[0];
    assert_int_equal(g->nodes[g->tensors[xin].producer].op, ZN_OP_COPY);
    assert_int_equal(m->inputs[1], zn_graph_find_tensor(g, "W")); /* constants are never copied */
    zn_graph_free(g);
}

/* Pure lowering: weights become half, the graph's input and outputs stay f32 behind casts, and
 * every activation in between is half. */
static void test_lower_precision_dtypes(void **state) {
    (void)state;
    const zn_dtype half[2] = {ZN_F16, ZN_BF16};
    for (int h = 0; h < 2; h++) {
        zn_graph *g = small_graph(11);
        char detail[160];
        int n = zn_pass_lower_precision(g, half[h], every, NULL, detail, sizeof detail);
        assert_true(n == 2 + 3); /* W, b; casts after x and before r and s */
        assert_int_equal(g->tensors[zn_graph_find_tensor(g, "W")].dtype, half[h]);
        assert_int_equal(g->tensors[g->inputs[0]].dtype, ZN_F32);
        for (int o = 0; o < g->n_outputs; o++) assert_int_equal(g->tensors[g->outputs[o]].dtype, ZN_F32);
        assert_string_equal(g->tensors[g->outputs[0]].name, "relu"); /* the interface keeps its names */
        assert_int_equal(count_op(g, ZN_OP_CAST), 3);
        for (int i = 0; i < g->n_nodes; i++) {
            const zn_node *nd = &g->nodes[i];
            if (nd->dead || nd->op == ZN_OP_CAST) continue;
            for (int k = 0; k < nd->n_inputs; k++) assert_int_equal(g->tensors[nd->inputs[k]].dtype, half[h]);
            assert_int_equal(g->tensors[nd->outputs[0]].dtype, half[h]);
        }
        /* Softmax reads Relu's half output, not the f32 graph output */
        const zn_node *sm = node_named(g, "softmax");
        assert_int_equal(g->tensors[sm->inputs[0]].dtype, half[h]);
        zn_graph_free(g);
    }
}

/* No half kernels at all: every node is wrapped in casts and runs in f32, so the lowered graph
 * runs on the CPU reference kernels and gives the f32 results within half rounding. */
static void test_lower_precision_wrapped_runs(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    const zn_dtype half[2] = {ZN_F16, ZN_BF16};
    for (int h = 0; h < 2; h++) {
        zn_graph *g = small_graph(seed + 3);
        float x[16], want0[32], want1[32], got0[32], got1[32];
        tu_rng rng = tu_rng_new(seed + 4);
        tu_fill(&rng, x, 16, -2, 2);
        run_reference(g, x, want0, want1);
        char detail[160];
        assert_true(zn_pass_lower_precision(g, half[h], only_cast, NULL, detail, sizeof detail) > 0);
        assert_non_null(strstr(detail, "4 nodes kept in f32"));
        for (int i = 0; i < g->n_nodes; i++) { /* every compute node now works in f32 */
            const zn_node *nd = &g->nodes[i];
            if (nd->dead || nd->op == ZN_OP_CAST) continue;
            assert_int_equal(g->tensors[nd->outputs[0]].dtype, ZN_F32);
        }
        run_reference(g, x, got0, got1);
        /* W, b and every intermediate rounded to half: bf16 keeps 8 bits of mantissa */
        double tol = half[h] == ZN_F16 ? 1e-2 : 6e-2;
        tu_assert_close(got0, want0, 32, tol, tol);
        tu_assert_close(got1, want1, 32, tol, tol);
        zn_graph_free(g);
    }
}

/* Lowering then placement, as zn_compile does them: Relu has no kernel at all, so it runs in
 * f32 on the CPU between casts and copies, and the result still matches. */
static void test_lower_then_place(void **state) {
    (void)state;
    uint64_t seed = tu_seed();
    zn_graph *g = small_graph(seed + 5);
    float x[16], want0[32], want1[32], got0[32], got1[32];
    tu_rng rng = tu_rng_new(seed + 6);
    tu_fill(&rng, x, 16, -2, 2);
    run_reference(g, x, want0, want1);
    /* the CPU can run casts and the placement test needs every node runnable there, so the
     * "device" supports only Cast in half and everything but Relu in f32 */
    assert_true(zn_pass_lower_precision(g, ZN_F16, only_cast, NULL, NULL, 0) > 0);
    zn_op relu = ZN_OP_RELU;
    int fallback = 0;
    int copies = zn_pass_place(g, all_but, &relu, &fallback, NULL, 0);
    assert_int_equal(fallback, 1);
    assert_true(copies >= 2);
    run_reference(g, x, got0, got1);
    tu_assert_close(got0, want0, 32, 1e-2, 1e-2);
    tu_assert_close(got1, want1, 32, 1e-2, 1e-2);
    zn_graph_free(g);
}

/* Cast(to=f32) inside the graph is retargeted to the half type; a non-half target is refused. */
static void test_lower_precision_retargets_casts(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("casts");
    zn_dim d[1] = {{4, -1}};
    int m = zn_graph_add_input(g, "mask", ZN_I64, 1, d);
    int c = zn_graph_add_node(g, ZN_OP_CAST, "cast", 1, &m, 1, NULL, NULL);
    assert_true(c >= 0);
    assert_int_equal(zn_graph_set_attr_int(g, c, "to", ZN_F32), ZN_OK);
    assert_int_equal(zn_graph_mark_output(g, g->nodes[c].outputs[0]), ZN_OK);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    assert_true(zn_pass_lower_precision(g, ZN_BF16, every, NULL, NULL, 0) > 0);
    const zn_node *cast = node_named(g, "cast");
    assert_int_equal(zn_attrs_int(cast->attrs, cast->n_attrs, "to", 0), ZN_BF16);
    assert_int_equal(g->tensors[g->outputs[0]].dtype, ZN_F32); /* behind the output cast */
    assert_int_equal(zn_pass_lower_precision(g, ZN_F32, every, NULL, NULL, 0), -1);
    assert_int_equal(zn_last_error()->status, ZN_ERR_INVALID_ARGUMENT);
    zn_graph_free(g);
}

/* An output the model itself makes half (Cast to f16) stays f16: only f32 outputs get a cast back
 * to f32 (found by make test-emu: fixture op_cast_i64_f16 at fp16 came back f32). */
static void test_lower_precision_keeps_half_outputs(void **state) {
    (void)state;
    for (int h = 0; h < 2; h++) {
        zn_graph *g = zn_graph_new("half_out");
        zn_dim d[1] = {{4, -1}};
        int x = zn_graph_add_input(g, "x", ZN_I64, 1, d);
        int c = zn_graph_add_node(g, ZN_OP_CAST, "to_f16", 1, &x, 1, NULL, NULL);
        assert_true(c >= 0);
        assert_int_equal(zn_graph_set_attr_int(g, c, "to", ZN_F16), ZN_OK);
        assert_int_equal(zn_graph_mark_output(g, g->nodes[c].outputs[0]), ZN_OK);
        assert_int_equal(zn_graph_validate(g), ZN_OK);
        assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
        assert_true(zn_pass_lower_precision(g, h ? ZN_BF16 : ZN_F16, every, NULL, NULL, 0) >= 0);
        assert_int_equal(g->tensors[g->outputs[0]].dtype, ZN_F16);
        assert_int_equal(g->tensors[g->outputs[0]].producer, c); /* no cast appended */
        zn_graph_free(g);
    }
}

/* Exporters' masks use finfo(f32).min: in fp16 it must become -65504, not -inf (0 * -inf would
 * be NaN in every unmasked score); in bf16 the largest finite value. */
static void test_lower_precision_clamps_to_finite_half(void **state) {
    (void)state;
    for (int h = 0; h < 2; h++) {
        zn_graph *g = zn_graph_new("mask");
        zn_dim d[1] = {{4, -1}};
        int x = zn_graph_add_input(g, "x", ZN_F32, 1, d);
        float big[4] = {-3.4028235e38f, 3.0e38f, 1.0f, -1.0e5f};
        int64_t cd[1] = {4};
        int c = zn_graph_add_const(g, "min_value", ZN_F32, 1, cd, big);
        int in[2] = {x, c};
        int y = zn_graph_op(g, ZN_OP_MUL, "scale", 2, in);
        assert_int_equal(zn_graph_mark_output(g, y), ZN_OK);
        assert_int_equal(zn_graph_validate(g), ZN_OK);
        assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
        char detail[200];
        zn_dtype dt = h ? ZN_BF16 : ZN_F16;
        assert_true(zn_pass_lower_precision(g, dt, every, NULL, detail, sizeof detail) > 0);
        const uint16_t *v = g->tensors[zn_graph_find_tensor(g, "min_value")].data;
        if (dt == ZN_F16) {
            assert_non_null(strstr(detail, "3 values clamped"));
            assert_true(zn_f16_to_f32(v[0]) == -65504.0f);
            assert_true(zn_f16_to_f32(v[1]) == 65504.0f);
            assert_true(zn_f16_to_f32(v[3]) == -65504.0f);
        } else { /* FLT_MAX rounds up to inf in bf16 too; 3e38 does not */
            assert_non_null(strstr(detail, "1 values clamped"));
            assert_true(isfinite(zn_bf16_to_f32(v[0])) && zn_bf16_to_f32(v[0]) < -3.3e38f);
            assert_true(isfinite(zn_bf16_to_f32(v[1])) && zn_bf16_to_f32(v[1]) > 2.9e38f);
        }
        assert_true(zn_f16_to_f32(v[2]) == 1.0f || dt == ZN_BF16);
        zn_graph_free(g);
    }
}

/* Every zoo model, after the optimisation passes, lowers to f16 and bf16 with every node
 * (fused ones included) accepting half inputs in shape inference, and keeps f32 at its
 * interface. */
static void test_lower_precision_zoo(void **state) {
    (void)state;
    const char *models[] = {"mlp", "mnist-cnn", "resnet50", "bert-base", "gpt2-small"};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        for (int h = 0; h < 2; h++) {
            zn_graph *g = NULL;
            assert_int_equal(zn_zoo_build_bound(models[m], NULL, &g), ZN_OK);
            assert_int_equal(zn_graph_validate(g), ZN_OK);
            assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
            zn_compile_config cfg = zn_compile_config_default();
            zn_compile_summary sum;
            memset(&sum, 0, sizeof sum);
            assert_int_equal(zn_run_passes(g, &cfg, &sum), ZN_OK);
            int n = zn_pass_lower_precision(g, h ? ZN_BF16 : ZN_F16, every, NULL, NULL, 0);
            if (n < 0) fprintf(stderr, "%s: %s\n", models[m], zn_last_error()->message);
            assert_true(n > 0);
            for (int o = 0; o < g->n_outputs; o++) {
                zn_dtype dt = g->tensors[g->outputs[o]].dtype;
                assert_true(dt == ZN_F32 || dt == ZN_I64);
            }
            assert_int_equal(zn_pass_place(g, every, NULL, NULL, NULL, 0), 0);
            zn_graph_free(g);
        }
    }
}

/* The planner's two arenas on a placed graph (bert-base with its embedding Gathers on the CPU):
 * device steps' outputs and the graph inputs live on the device, host steps' outputs and the
 * ZnCopy-to-host outputs on the host, and within each arena no two tensors live at the same
 * step share bytes. The plan is assembled by hand (no GPU needed: nothing is allocated). */
typedef struct span { size_t lo, hi; int first, last, root; bool dev; } span;

static void test_device_memory_plan(void **state) {
    (void)state;
    zn_graph *g = NULL;
    zn_zoo_options zo;
    memset(&zo, 0, sizeof zo);
    assert_int_equal(zn_zoo_build_bound("bert-base", NULL, &g), ZN_OK);
    assert_int_equal(zn_graph_bind_symbol(g, "seq", 16), ZN_OK);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    zn_compile_config cfg = zn_compile_config_default();
    zn_compile_summary sum;
    memset(&sum, 0, sizeof sum);
    assert_int_equal(zn_run_passes(g, &cfg, &sum), ZN_OK);
    zn_op gather = ZN_OP_GATHER;
    assert_true(zn_pass_place(g, all_but, &gather, NULL, NULL, 0) >= 2);

    zn_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.graph = g;
    plan.cfg = cfg;
    plan.device = true;
    plan.steps = calloc((size_t)g->n_nodes, sizeof(zn_step));
    for (int i = 0; i < g->n_nodes; i++) {
        zn_step *st = &plan.steps[plan.n_steps++];
        st->node = i;
        st->views = calloc((size_t)(g->nodes[i].n_inputs + g->nodes[i].n_outputs), sizeof(zn_view));
        zn_graph_kernel_node(g, &g->nodes[i], st->views, &st->kn);
        st->kernel = zn_registry_reference(g->nodes[i].op); /* flags (alias, in place) as on the CPU */
        st->on_device = g->nodes[i].op == ZN_OP_COPY || g->nodes[i].op != ZN_OP_GATHER;
        if (i % 7 == 0) st->scratch_bytes = 4096; /* some scratch in both arenas */
    }
    assert_int_equal(zn_plan_memory(&plan), ZN_OK);
    assert_true(plan.dev_arena_bytes > 0);
    assert_true(plan.arena_bytes > 0);
    assert_int_equal(plan.summary.device_arena_bytes, plan.dev_arena_bytes);

    int nt = g->n_tensors, ns = plan.n_steps;
    int *first = malloc(sizeof(int) * (size_t)nt), *last = malloc(sizeof(int) * (size_t)nt);
    for (int t = 0; t < nt; t++) first[t] = last[t] = -1;
    for (int i = 0; i < g->n_inputs; i++) first[g->inputs[i]] = 0;
    for (int st = 0; st < ns; st++) {
        const zn_node *n = &g->nodes[plan.steps[st].node];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) last[n->inputs[k]] = st;
        for (int k = 0; k < n->n_outputs; k++) {
            int t = n->outputs[k];
            first[t] = st;
            if (last[t] < st) last[t] = st;
            if (plan.slots[t].kind != ZN_SLOT_ARENA) continue;
            bool want = n->op == ZN_OP_COPY ? !strcmp(zn_attrs_string(n->attrs, n->n_attrs, "to", ""), "device")
                                            : plan.steps[st].on_device;
            assert_int_equal(plan.slots[t].on_device, want);
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        assert_int_equal(plan.slots[g->inputs[i]].kind, ZN_SLOT_ARENA);
        assert_true(plan.slots[g->inputs[i]].on_device);
    }
    for (int i = 0; i < g->n_outputs; i++) last[g->outputs[i]] = ns;
    span *sp = calloc((size_t)(nt + ns), sizeof *sp);
    int n = 0;
    for (int t = 0; t < nt; t++) {
        if (plan.slots[t].kind != ZN_SLOT_ARENA || first[t] < 0) continue;
        size_t bytes = (size_t)zn_shape_numel(&g->tensors[t].shape) * zn_dtype_size(g->tensors[t].dtype);
        bool dev = plan.slots[t].on_device;
        assert_true(plan.slots[t].offset + bytes <= (dev ? plan.dev_arena_bytes : plan.arena_bytes));
        int r = t;
        while (plan.slots[r].root != r) r = plan.slots[r].root;
        sp[n++] = (span){plan.slots[t].offset, plan.slots[t].offset + bytes, first[t], last[t], r, dev};
    }
    for (int st = 0; st < ns; st++) {
        if (!plan.steps[st].scratch_bytes) continue;
        bool dev = plan.steps[st].on_device;
        size_t off = plan.steps[st].scratch_offset;
        assert_true(off + plan.steps[st].scratch_bytes <= (dev ? plan.dev_arena_bytes : plan.arena_bytes));
        sp[n++] = (span){off, off + plan.steps[st].scratch_bytes, st, st, -1 - st, dev};
    }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            if (sp[a].root == sp[b].root || sp[a].dev != sp[b].dev) continue;
            bool time = !(sp[a].last < sp[b].first || sp[b].last < sp[a].first);
            bool bytes = sp[a].lo < sp[b].hi && sp[b].lo < sp[a].hi;
            if (time && bytes) {
                print_error("overlap in the %s arena: groups %d and %d\n", sp[a].dev ? "device" : "host", sp[a].root,
                            sp[b].root);
                fail();
            }
        }
    free(sp);
    free(first);
    free(last);
    for (int i = 0; i < plan.n_steps; i++) free(plan.steps[i].views);
    free(plan.steps);
    free(plan.slots);
    zn_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_place_fallback_copies),
        cmocka_unit_test(test_place_inputs_live_on_device),
        cmocka_unit_test(test_lower_precision_dtypes),
        cmocka_unit_test(test_lower_precision_wrapped_runs),
        cmocka_unit_test(test_lower_then_place),
        cmocka_unit_test(test_lower_precision_retargets_casts),
        cmocka_unit_test(test_lower_precision_keeps_half_outputs),
        cmocka_unit_test(test_lower_precision_zoo),
        cmocka_unit_test(test_lower_precision_clamps_to_finite_half),
        cmocka_unit_test(test_device_memory_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
