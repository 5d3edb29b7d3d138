/* test_passes.c — the optimisation passes (engine/passes/): for each pass a small graph that
 * hits its pattern (the fused node count and op after compiling, and outputs equal to the
 * unoptimised reference plan on random inputs) and graphs that just miss it (an extra reader
 * of an intermediate, a wrong constant, a graph output in the middle), which must stay as they
 * were; then every zoo model at small shapes and every ONNX fixture that loads, optimised
 * against the reference plan, with the expected fusion counts on the zoo models.
 *
 * Fixtures come from tests/fixtures (override with ZN_FIXTURES).
 */
#include <dirent.h>

#include "test_util.h"

#include "engine/graph.h"
#include "engine/onnx.h"
#include "engine/passes/passes.h"
#include "engine/tensor_io.h"
#include "engine/zenith.h"
#include "suites/zoo.h"

/* ---- building small graphs ------------------------------------------------------------------ */

static int input(zn_graph *g, const char *name, int rank, const int64_t *dims) {
    zn_dim d[ZN_MAX_RANK];
    for (int i = 0; i < rank; i++) d[i] = (zn_dim){dims[i], -1};
    int t = zn_graph_add_input(g, name, ZN_F32, rank, d);
    assert_true(t >= 0);
    return t;
}

static int scalar(zn_graph *g, const char *name, float v) {
    int t = zn_graph_add_const(g, name, ZN_F32, 0, NULL, &v);
    assert_true(t >= 0);
    return t;
}

static int rand_const(zn_graph *g, tu_rng *r, const char *name, int rank, const int64_t *dims,
                      float lo, float hi) {
    int t = zn_graph_add_const(g, name, ZN_F32, rank, dims, NULL);
    assert_true(t >= 0);
    const zn_shape *s = zn_graph_tensor_shape(g, t);
    tu_fill(r, zn_graph_tensor_data(g, t), zn_shape_numel(s), lo, hi);
    return t;
}

static int i64s(zn_graph *g, const char *name, int n, const int64_t *v) {
    int64_t d = n;
    int t = zn_graph_add_const(g, name, ZN_I64, 1, &d, v);
    assert_true(t >= 0);
    return t;
}

static int op1(zn_graph *g, zn_op op, int x) {
    int t = zn_graph_op(g, op, NULL, 1, &x);
    assert_true(t >= 0);
    return t;
}

static int op2(zn_graph *g, zn_op op, int x, int y) {
    int in[2] = {x, y};
    int t = zn_graph_op(g, op, NULL, 2, in);
    assert_true(t >= 0);
    return t;
}

static int last_node(const zn_graph *g) { return zn_graph_num_nodes(g) - 1; }

static void output(zn_graph *g, int t) { assert_int_equal(zn_graph_mark_output(g, t), ZN_OK); }

/* ---- compiling and comparing ----------------------------------------------------------------- */

static zn_plan *compile(const zn_graph *g, bool reference) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CPU; /* the CPU pipeline: auto would pick a GPU where there is one */
    cfg.threads = 2;
    cfg.reference = reference;
    zn_plan *p = NULL;
    zn_status st = zn_compile(g, &cfg, &p);
    if (st != ZN_OK)
        print_error("compile %s: %s (node %s) hint: %s\n", zn_graph_name(g), zn_last_error()->message,
                    zn_last_error()->node, zn_last_error()->hint);
    assert_int_equal(st, ZN_OK);
    return p;
}

#define MAX_IO 8

typedef struct io_set {
    int n;
    zn_view v[MAX_IO];
} io_set;

static void io_free(io_set *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i].data);
    s->n = 0;
}

/* Random inputs for a plan: floats U(-2, 2), integers 0. */
static void random_inputs(const zn_plan *p, tu_rng *r, io_set *in) {
    in->n = zn_plan_num_inputs(p);
    assert_true(in->n <= MAX_IO);
    for (int i = 0; i < in->n; i++) {
        zn_io_info io = zn_plan_input(p, i);
        in->v[i] = tu_view(io.dtype, NULL, io.rank, io.dims);
        int64_t n = zn_view_numel(&in->v[i]);
        in->v[i].data = calloc((size_t)(n ? n : 1), zn_dtype_size(io.dtype));
        assert_non_null(in->v[i].data);
        if (io.dtype == ZN_F32) tu_fill(r, in->v[i].data, n, -2.0f, 2.0f);
    }
}

static void run_plan(const zn_plan *p, const io_set *in, io_set *out) {
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(p, &s), ZN_OK);
    zn_view ov[MAX_IO];
    memset(ov, 0, sizeof ov);
    out->n = zn_plan_num_outputs(p);
    assert_true(out->n <= MAX_IO);
    zn_status st = zn_session_run(s, in->v, in->n, ov, out->n);
    if (st != ZN_OK) print_error("run: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    for (int o = 0; o < out->n; o++) {
        out->v[o] = ov[o];
        size_t bytes = zn_view_bytes(&ov[o]);
        out->v[o].data = malloc(bytes ? bytes : 1);
        assert_non_null(out->v[o].data);
        memcpy(out->v[o].data, ov[o].data, bytes);
    }
    zn_session_free(s);
}

/* Outputs of b against the reference a: max |a-b| <= tol * max|a| (+ tiny), cosine >= cos_min. */
static void assert_outputs_match(const io_set *ref, const io_set *got, double tol, double cos_min,
                                 const char *what) {
    assert_int_equal(ref->n, got->n);
    for (int o = 0; o < ref->n; o++) {
        const zn_view *a = &ref->v[o], *b = &got->v[o];
        assert_int_equal(a->dtype, b->dtype);
        assert_int_equal(zn_view_numel(a), zn_view_numel(b));
        int64_t n = zn_view_numel(a);
        if (a->dtype != ZN_F32) {
            assert_memory_equal(a->data, b->data, zn_view_bytes(a));
            continue;
        }
        const float *x = a->data, *y = b->data;
        double err = 0, scale = 0, dot = 0, nx = 0, ny = 0;
        for (int64_t i = 0; i < n; i++) {
            if (isnan(x[i]) || isnan(y[i])) {
                if (isnan(x[i]) != isnan(y[i])) {
                    print_error("%s output %d index %lld: NaN mismatch\n", what, o, (long long)i);
                    fail();
                }
                continue;
            }
            err = fmax(err, fabs((double)x[i] - y[i]));
            scale = fmax(scale, fabs((double)x[i]));
            dot += (double)x[i] * y[i];
            nx += (double)x[i] * x[i];
            ny += (double)y[i] * y[i];
        }
        double cosine = nx > 0 && ny > 0 ? dot / sqrt(nx * ny) : 1.0;
        if (err > tol * scale + 1e-6 || cosine < cos_min) {
            print_error("%s output %d: max abs err %.3g (max |ref| %.3g, tol %.1g), cosine %.9f\n", what,
                        o, err, scale, tol, cosine);
            fail();
        }
    }
}

/* Compiles g as the reference plan and optimised; runs both on the same random inputs and
 * compares. Returns the optimised plan (caller frees). */
static zn_plan *check_equiv(const zn_graph *g, double tol, const io_set *given) {
    tu_rng r = tu_rng_new(tu_seed() ^ (uint64_t)zn_graph_num_nodes(g));
    zn_plan *ref = compile(g, true), *opt = compile(g, false);
    io_set in = {0}, a = {0}, b = {0};
    if (given) in = *given;
    else random_inputs(ref, &r, &in);
    run_plan(ref, &in, &a);
    run_plan(opt, &in, &b);
    assert_outputs_match(&a, &b, tol, 0.99999, zn_graph_name(g));
    if (!given) io_free(&in);
    io_free(&a);
    io_free(&b);
    zn_plan_free(ref);
    return opt;
}

static int count_op(const zn_plan *p, zn_op op) {
    zn_graph_stats s;
    assert_int_equal(zn_graph_get_stats(zn_plan_graph(p), &s), ZN_OK);
    return s.node_count_by_op[op];
}

static int count_nodes(const zn_plan *p) { return zn_graph_num_nodes(zn_plan_graph(p)); }

/* The first node of op in the plan's graph. */
static const zn_node *find_op(const zn_plan *p, zn_op op) {
    const zn_graph *g = zn_plan_graph(p);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == op) return &g->nodes[i];
    return NULL;
}

static const zn_pass_report *find_pass(const zn_plan *p, const char *name) {
    const zn_compile_summary *s = zn_plan_summary(p);
    for (int i = 0; i < s->n_passes; i++)
        if (strcmp(s->passes[i].name, name) == 0) return &s->passes[i];
    return NULL;
}

/* ---- dead code, layout, CSE ------------------------------------------------------------------- */

static void test_dce(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("dce");
    int64_t d[2] = {3, 4};
    int x = input(g, "x", 2, d);
    int y = op1(g, ZN_OP_RELU, x);
    op1(g, ZN_OP_EXP, op1(g, ZN_OP_SIGMOID, x)); /* reaches no output */
    output(g, y);
    zn_plan *p = check_equiv(g, 0, NULL);
    assert_int_equal(count_nodes(p), 1);
    assert_int_equal(count_op(p, ZN_OP_EXP), 0);
    const zn_pass_report *r = find_pass(p, "dead-code-elimination");
    assert_non_null(r);
    assert_int_equal(r->changes, 2);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_layout_hit(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("layout");
    int64_t d[3] = {2, 3, 4};
    int x = input(g, "x", 3, d);
    int t = op1(g, ZN_OP_IDENTITY, x);
    int dr = zn_graph_op(g, ZN_OP_DROPOUT, NULL, 1, &t);
    int t1 = op1(g, ZN_OP_TRANSPOSE, dr);
    int64_t p1[3] = {0, 2, 1};
    zn_graph_set_attr_ints(g, last_node(g), "perm", p1, 3);
    int t2 = op1(g, ZN_OP_TRANSPOSE, t1); /* the inverse */
    zn_graph_set_attr_ints(g, last_node(g), "perm", p1, 3);
    int64_t s1[2] = {6, 4}, s2[2] = {4, 6}, s3[3] = {2, 3, 4};
    int r1 = op2(g, ZN_OP_RESHAPE, t2, i64s(g, "s1", 2, s1));
    int r2 = op2(g, ZN_OP_RESHAPE, r1, i64s(g, "s2", 2, s2));
    int r3 = op2(g, ZN_OP_RESHAPE, r2, i64s(g, "s3", 3, s3)); /* back to x's shape */
    output(g, op1(g, ZN_OP_RELU, r3));
    zn_plan *p = check_equiv(g, 0, NULL);
    assert_int_equal(count_nodes(p), 1); /* only the Relu is left */
    assert_int_equal(count_op(p, ZN_OP_RELU), 1);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_layout_miss(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("layout-miss");
    int64_t d[3] = {2, 3, 4};
    int x = input(g, "x", 3, d);
    int t1 = op1(g, ZN_OP_TRANSPOSE, x);
    int64_t p1[3] = {0, 2, 1}, p2[3] = {1, 0, 2};
    zn_graph_set_attr_ints(g, last_node(g), "perm", p1, 3);
    int t2 = op1(g, ZN_OP_TRANSPOSE, t1); /* not the inverse: composed into one */
    zn_graph_set_attr_ints(g, last_node(g), "perm", p2, 3);
    output(g, op1(g, ZN_OP_RELU, t2));
    int id = op1(g, ZN_OP_IDENTITY, x); /* a graph output: stays */
    output(g, id);
    zn_plan *p = check_equiv(g, 0, NULL);
    assert_int_equal(count_op(p, ZN_OP_TRANSPOSE), 1);
    assert_int_equal(count_op(p, ZN_OP_IDENTITY), 1);
    const zn_node *n = find_op(p, ZN_OP_TRANSPOSE);
    int64_t perm[3];
    assert_int_equal(zn_attrs_ints(n->attrs, n->n_attrs, "perm", perm, 3), 3);
    /* y[i] = t1[p2[i]] = x[p1[p2[i]]] */
    assert_true(perm[0] == 2 && perm[1] == 0 && perm[2] == 1);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_cse(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("cse");
    int64_t d[2] = {3, 5};
    int x = input(g, "x", 2, d);
    int a = op2(g, ZN_OP_MUL, x, scalar(g, "half_a", 0.5f));
    int b = op2(g, ZN_OP_MUL, x, scalar(g, "half_b", 0.5f)); /* same value, another constant */
    int s1 = op1(g, ZN_OP_SOFTMAX, a);
    zn_graph_set_attr_int(g, last_node(g), "axis", 1);
    int s2 = op1(g, ZN_OP_SOFTMAX, b);
    zn_graph_set_attr_int(g, last_node(g), "axis", 1);
    int s3 = op1(g, ZN_OP_SOFTMAX, b); /* differs in an attribute: stays */
    zn_graph_set_attr_int(g, last_node(g), "axis", 0);
    output(g, op2(g, ZN_OP_ADD, op2(g, ZN_OP_ADD, s1, s2), s3));
    zn_plan *p = check_equiv(g, 1e-6, NULL);
    assert_int_equal(count_op(p, ZN_OP_MUL), 1);
    assert_int_equal(count_op(p, ZN_OP_SOFTMAX), 2);
    assert_true(find_pass(p, "cse")->changes >= 2);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* ---- LayerNorm and GELU patterns ---------------------------------------------------------------- */

enum { LN_OK, LN_EXTRA_READER, LN_POW3, LN_AXIS0, LN_OUTPUT_MID };

/* x (2,5,8) -> the op-by-op LayerNorm as exporters write it */
static zn_graph *layernorm_graph(int variant, bool affine) {
    tu_rng r = tu_rng_new(tu_seed() + 1);
    zn_graph *g = zn_graph_new("layernorm");
    int64_t d[3] = {2, 5, 8}, c = 8;
    int x = input(g, "x", 3, d);
    int64_t ax = variant == LN_AXIS0 ? 0 : -1;
    int m = op1(g, ZN_OP_REDUCE_MEAN, x);
    zn_graph_set_attr_ints(g, last_node(g), "axes", &ax, 1);
    int dd = op2(g, ZN_OP_SUB, x, m);
    int sq = op2(g, ZN_OP_POW, dd, scalar(g, "two", variant == LN_POW3 ? 3.0f : 2.0f));
    int v = op1(g, ZN_OP_REDUCE_MEAN, sq);
    zn_graph_set_attr_ints(g, last_node(g), "axes", &ax, 1);
    int e = op2(g, ZN_OP_ADD, v, scalar(g, "eps", 1e-5f));
    int s = op1(g, ZN_OP_SQRT, e);
    int y = op2(g, ZN_OP_DIV, dd, s);
    if (affine) {
        y = op2(g, ZN_OP_MUL, y, rand_const(g, &r, "gamma", 1, &c, 0.5f, 1.5f));
        y = op2(g, ZN_OP_ADD, y, rand_const(g, &r, "beta", 1, &c, -0.5f, 0.5f));
    }
    output(g, y);
    if (variant == LN_EXTRA_READER) output(g, op1(g, ZN_OP_NEG, s));
    if (variant == LN_OUTPUT_MID) output(g, v);
    return g;
}

static void test_layernorm_hit(void **state) {
    (void)state;
    for (int affine = 0; affine < 2; affine++) {
        zn_graph *g = layernorm_graph(LN_OK, affine);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_nodes(p), 1);
        assert_int_equal(count_op(p, ZN_OP_LAYER_NORM), 1);
        assert_int_equal(zn_plan_summary(p)->fusions_by_op[ZN_OP_LAYER_NORM], 1);
        const zn_node *n = find_op(p, ZN_OP_LAYER_NORM);
        assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 0), 1e-5f, 1e-12);
        assert_int_equal(n->n_inputs, affine ? 3 : 2);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

static void test_layernorm_miss(void **state) {
    (void)state;
    const int variants[] = {LN_EXTRA_READER, LN_POW3, LN_AXIS0, LN_OUTPUT_MID};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        zn_graph *g = layernorm_graph(variants[i], true);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_op(p, ZN_OP_LAYER_NORM), 0);
        assert_int_equal(count_op(p, ZN_OP_REDUCE_MEAN), 2);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

enum { GELU_DIV_TAIL_HALF, GELU_MUL_HALF_FIRST, GELU_HALF_TIMES_ADD, GELU_TANH_POW, GELU_TANH_CUBE,
       GELU_WRONG_CONST, GELU_EXTRA_READER, GELU_TANH_WRONG };

/* x (4, 6) -> GELU written op by op, in the orders exporters use */
static zn_graph *gelu_graph(int v) {
    zn_graph *g = zn_graph_new("gelu");
    int64_t d[2] = {4, 6};
    int x = input(g, "x", 2, d);
    int inner, e;
    bool tanh_form = v == GELU_TANH_POW || v == GELU_TANH_CUBE || v == GELU_TANH_WRONG;
    if (tanh_form) {
        int cube = v == GELU_TANH_CUBE ? op2(g, ZN_OP_MUL, op2(g, ZN_OP_MUL, x, x), x)
                                       : op2(g, ZN_OP_POW, x, scalar(g, "three", 3.0f));
        int m1 = op2(g, ZN_OP_MUL, scalar(g, "c", v == GELU_TANH_WRONG ? 0.05f : 0.044715f), cube);
        int a1 = op2(g, ZN_OP_ADD, x, m1);
        inner = op2(g, ZN_OP_MUL, scalar(g, "k", 0.7978845608f), a1);
        e = op1(g, ZN_OP_TANH, inner);
    } else if (v == GELU_MUL_HALF_FIRST) {
        inner = op2(g, ZN_OP_MUL, x, scalar(g, "rsqrt2", 0.70710678f));
        e = op1(g, ZN_OP_ERF, inner);
    } else {
        inner = op2(g, ZN_OP_DIV, x, scalar(g, "sqrt2", v == GELU_WRONG_CONST ? 1.5f : 1.4142135f));
        e = op1(g, ZN_OP_ERF, inner);
    }
    int a = op2(g, ZN_OP_ADD, e, scalar(g, "one", 1.0f));
    int y;
    if (v == GELU_MUL_HALF_FIRST || tanh_form) {
        int h = op2(g, ZN_OP_MUL, scalar(g, "half", 0.5f), x);
        y = op2(g, ZN_OP_MUL, h, a);
    } else if (v == GELU_HALF_TIMES_ADD) {
        y = op2(g, ZN_OP_MUL, x, op2(g, ZN_OP_MUL, a, scalar(g, "half", 0.5f)));
    } else {
        y = op2(g, ZN_OP_MUL, op2(g, ZN_OP_MUL, x, a), scalar(g, "half", 0.5f));
    }
    output(g, y);
    if (v == GELU_EXTRA_READER) output(g, op1(g, ZN_OP_NEG, e));
    return g;
}

static void test_gelu_hit(void **state) {
    (void)state;
    const int hits[] = {GELU_DIV_TAIL_HALF, GELU_MUL_HALF_FIRST, GELU_HALF_TIMES_ADD, GELU_TANH_POW,
                        GELU_TANH_CUBE};
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        zn_graph *g = gelu_graph(hits[i]);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_nodes(p), 1);
        assert_int_equal(count_op(p, ZN_OP_GELU), 1);
        const zn_node *n = find_op(p, ZN_OP_GELU);
        bool tanh_form = hits[i] == GELU_TANH_POW || hits[i] == GELU_TANH_CUBE;
        assert_string_equal(zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none"),
                            tanh_form ? "tanh" : "none");
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

static void test_gelu_miss(void **state) {
    (void)state;
    const int misses[] = {GELU_WRONG_CONST, GELU_EXTRA_READER, GELU_TANH_WRONG};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        zn_graph *g = gelu_graph(misses[i]);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_op(p, ZN_OP_GELU), 0);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

/* ---- Add + LayerNorm --------------------------------------------------------------------------- */

static zn_graph *add_ln_graph(bool sum_is_output, bool from_sub) {
    tu_rng r = tu_rng_new(tu_seed() + 2);
    zn_graph *g = zn_graph_new("add-ln");
    int64_t d[3] = {2, 3, 16}, c = 16;
    int a = input(g, "a", 3, d), b = input(g, "b", 3, d);
    int s = op2(g, from_sub ? ZN_OP_SUB : ZN_OP_ADD, a, b);
    int in[3] = {s, rand_const(g, &r, "gamma", 1, &c, 0.5f, 1.5f), rand_const(g, &r, "beta", 1, &c, -1, 1)};
    int y = zn_graph_op(g, ZN_OP_LAYER_NORM, NULL, 3, in);
    zn_graph_set_attr_float(g, last_node(g), "epsilon", 1e-6f);
    output(g, y);
    if (sum_is_output) output(g, s);
    return g;
}

static void test_add_layernorm(void **state) {
    (void)state;
    for (int keep = 0; keep < 2; keep++) {
        zn_graph *g = add_ln_graph(keep, false);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_nodes(p), 1);
        const zn_node *n = find_op(p, ZN_OP_ADD_LAYER_NORM);
        assert_non_null(n);
        assert_int_equal(n->n_outputs, keep ? 2 : 1);
        assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "epsilon", 0), 1e-6f, 1e-12);
        zn_plan_free(p);
        zn_graph_free(g);
    }
    zn_graph *g = add_ln_graph(false, true); /* miss: Sub, not Add */
    zn_plan *p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_op(p, ZN_OP_ADD_LAYER_NORM), 0);
    assert_int_equal(count_op(p, ZN_OP_LAYER_NORM), 1);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* ---- linear ----------------------------------------------------------------------------------- */

enum { LIN_FULL, LIN_GELU, LIN_EXTRA_READER, LIN_BAD_BIAS };

static zn_graph *linear_graph(int v) {
    tu_rng r = tu_rng_new(tu_seed() + 3);
    zn_graph *g = zn_graph_new("linear");
    int64_t xd[3] = {2, 3, 8}, wd[2] = {8, 6}, yd[3] = {2, 3, 6}, n = 6, bad[2] = {3, 1};
    int x = input(g, "x", 3, xd), res = input(g, "res", 3, yd);
    int mm = op2(g, ZN_OP_MATMUL, x, rand_const(g, &r, "w", 2, wd, -0.5f, 0.5f));
    int bias = v == LIN_BAD_BIAS ? rand_const(g, &r, "b", 2, bad, -1, 1) : rand_const(g, &r, "b", 1, &n, -1, 1);
    int y = op2(g, ZN_OP_ADD, mm, bias);
    if (v == LIN_GELU) {
        y = op1(g, ZN_OP_GELU, y);
    } else {
        y = op2(g, ZN_OP_ADD, res, y);
        y = op1(g, ZN_OP_RELU, y);
    }
    output(g, y);
    if (v == LIN_EXTRA_READER) output(g, op1(g, ZN_OP_NEG, mm));
    return g;
}

static void test_linear_hit(void **state) {
    (void)state;
    zn_graph *g = linear_graph(LIN_FULL);
    zn_plan *p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_nodes(p), 1);
    const zn_node *n = find_op(p, ZN_OP_LINEAR);
    assert_non_null(n);
    assert_int_equal(n->n_inputs, 4);
    assert_string_equal(zn_attrs_string(n->attrs, n->n_attrs, "activation", ""), "relu");
    assert_int_equal(zn_plan_summary(p)->fusions_by_op[ZN_OP_LINEAR], 1);
    zn_plan_free(p);
    zn_graph_free(g);

    g = linear_graph(LIN_GELU);
    p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_nodes(p), 1);
    n = find_op(p, ZN_OP_LINEAR);
    assert_non_null(n);
    assert_int_equal(n->n_inputs, 3);
    assert_string_equal(zn_attrs_string(n->attrs, n->n_attrs, "activation", ""), "gelu");
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_linear_miss(void **state) {
    (void)state;
    zn_graph *g = linear_graph(LIN_EXTRA_READER); /* MatMul's output read twice */
    zn_plan *p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_op(p, ZN_OP_LINEAR), 0);
    assert_int_equal(count_op(p, ZN_OP_MATMUL), 1);
    zn_plan_free(p);
    zn_graph_free(g);
    g = linear_graph(LIN_BAD_BIAS); /* (3,1) is no per-column bias; Add(res) is not the next op */
    p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_op(p, ZN_OP_LINEAR), 0);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* Gemm (transB=1) + Relu -> ZnLinear; a lone Gemm stays, both get prepacked weights. */
static void test_gemm_prepack(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 4);
    zn_graph *g = zn_graph_new("gemm");
    int64_t xd[2] = {3, 10}, w1d[2] = {7, 10}, w2d[2] = {4, 7}, n1 = 7, n2 = 4;
    int x = input(g, "x", 2, xd);
    int in1[3] = {x, rand_const(g, &r, "w1", 2, w1d, -1, 1), rand_const(g, &r, "b1", 1, &n1, -1, 1)};
    int h = zn_graph_op(g, ZN_OP_GEMM, "fc1", 3, in1);
    zn_graph_set_attr_int(g, last_node(g), "transB", 1);
    h = op1(g, ZN_OP_RELU, h);
    int in2[3] = {h, rand_const(g, &r, "w2", 2, w2d, -1, 1), rand_const(g, &r, "b2", 1, &n2, -1, 1)};
    int y = zn_graph_op(g, ZN_OP_GEMM, "fc2", 3, in2);
    zn_graph_set_attr_int(g, last_node(g), "transB", 1);
    output(g, y);
    zn_plan *p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_op(p, ZN_OP_LINEAR), 1);
    assert_int_equal(count_op(p, ZN_OP_GEMM), 1);
    const zn_graph *pg = zn_plan_graph(p);
    for (int i = 0; i < pg->n_nodes; i++) {
        const zn_node *n = &pg->nodes[i];
        assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "transB", 0), 0);
        const zn_shape *w = zn_graph_tensor_shape(pg, n->inputs[1]);
        assert_int_equal(w->dims[0].value, i == 0 ? 10 : 7); /* (K, N) */
    }
    assert_int_equal(find_pass(p, "weight-prepack")->changes, 2);
    zn_plan_free(p);
    zn_graph_free(g);

    /* miss: W is a graph input, not a constant: nothing to pack at compile time */
    g = zn_graph_new("gemm-miss");
    x = input(g, "x", 2, xd);
    int in3[2] = {x, input(g, "w", 2, w1d)};
    y = zn_graph_op(g, ZN_OP_GEMM, "fc", 2, in3);
    zn_graph_set_attr_int(g, last_node(g), "transB", 1);
    output(g, y);
    p = check_equiv(g, 1e-5, NULL);
    const zn_node *n = find_op(p, ZN_OP_GEMM);
    assert_non_null(n);
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "transB", 0), 1);
    assert_int_equal(find_pass(p, "weight-prepack")->changes, 0);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* ---- attention -------------------------------------------------------------------------------- */

enum { ATT_MASK, ATT_CAUSAL, ATT_MUL_SCALE, ATT_PROBS_OUTPUT, ATT_SCALE_INPUT };

/* q, k, v (2, 5, 8) with 2 heads of 4 -> the exporters' attention subgraph */
static zn_graph *attention_graph(int v) {
    zn_graph *g = zn_graph_new("attention");
    const int64_t B = 2, S = 5, H = 2, D = 4;
    int64_t xd[3] = {B, S, H * D}, md[4] = {B, 1, 1, S};
    int q = input(g, "q", 3, xd), k = input(g, "k", 3, xd), vv = input(g, "v", 3, xd);
    int64_t heads[4] = {0, 0, H, D}, merged[3] = {0, 0, H * D};
    int hs = i64s(g, "heads", 4, heads), ms = i64s(g, "merged", 3, merged);
    int64_t pq[4] = {0, 2, 1, 3}, pk[4] = {0, 2, 3, 1};
    int qh = op1(g, ZN_OP_TRANSPOSE, op2(g, ZN_OP_RESHAPE, q, hs));
    zn_graph_set_attr_ints(g, last_node(g), "perm", pq, 4);
    int kh = op1(g, ZN_OP_TRANSPOSE, op2(g, ZN_OP_RESHAPE, k, hs));
    zn_graph_set_attr_ints(g, last_node(g), "perm", pk, 4);
    int vh = op1(g, ZN_OP_TRANSPOSE, op2(g, ZN_OP_RESHAPE, vv, hs));
    zn_graph_set_attr_ints(g, last_node(g), "perm", pq, 4);
    int s = op2(g, ZN_OP_MATMUL, qh, kh);
    if (v == ATT_MUL_SCALE) s = op2(g, ZN_OP_MUL, scalar(g, "scale", 0.5f), s);
    else if (v == ATT_SCALE_INPUT) s = op2(g, ZN_OP_DIV, s, input(g, "scale", 0, NULL));
    else s = op2(g, ZN_OP_DIV, s, scalar(g, "scale", 2.0f));
    int mask;
    if (v == ATT_CAUSAL) {
        int64_t cd[2] = {S, S};
        float cm[25];
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++) cm[i * S + j] = j > i ? -10000.0f : 0.0f;
        mask = zn_graph_add_const(g, "causal", ZN_F32, 2, cd, cm);
    } else {
        mask = input(g, "mask", 4, md);
    }
    s = op2(g, ZN_OP_ADD, s, mask);
    int pr = op1(g, ZN_OP_SOFTMAX, s);
    zn_graph_set_attr_int(g, last_node(g), "axis", -1);
    int c = op1(g, ZN_OP_TRANSPOSE, op2(g, ZN_OP_MATMUL, pr, vh));
    zn_graph_set_attr_ints(g, last_node(g), "perm", pq, 4);
    output(g, op2(g, ZN_OP_RESHAPE, c, ms));
    if (v == ATT_PROBS_OUTPUT) output(g, pr);
    return g;
}

static void test_attention_hit(void **state) {
    (void)state;
    const int hits[] = {ATT_MASK, ATT_CAUSAL, ATT_MUL_SCALE};
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        zn_graph *g = attention_graph(hits[i]);
        zn_plan *p = check_equiv(g, 1e-5, NULL);
        assert_int_equal(count_nodes(p), 1);
        const zn_node *n = find_op(p, ZN_OP_ATTENTION);
        assert_non_null(n);
        assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "num_heads", 0), 2);
        assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "scale", 0), 0.5f, 1e-7);
        assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "causal", -1), hits[i] == ATT_CAUSAL);
        assert_int_equal(n->n_inputs, hits[i] == ATT_CAUSAL ? 3 : 4);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

static void test_attention_miss(void **state) {
    (void)state;
    const int misses[] = {ATT_PROBS_OUTPUT, ATT_SCALE_INPUT};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        zn_graph *g = attention_graph(misses[i]);
        io_set in = {0};
        if (misses[i] == ATT_SCALE_INPUT) { /* a positive scale */
            tu_rng r = tu_rng_new(tu_seed() + 5);
            zn_plan *ref = compile(g, true);
            random_inputs(ref, &r, &in);
            for (int k = 0; k < in.n; k++)
                if (in.v[k].rank == 0) *(float *)in.v[k].data = 3.0f;
            zn_plan_free(ref);
        }
        zn_plan *p = check_equiv(g, 1e-5, misses[i] == ATT_SCALE_INPUT ? &in : NULL);
        io_free(&in);
        assert_int_equal(count_op(p, ZN_OP_ATTENTION), 0);
        assert_int_equal(count_op(p, ZN_OP_SOFTMAX), 1);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

/* ---- convolution ------------------------------------------------------------------------------ */

enum { CONV_BN_RES_RELU, CONV_BN_VAR_INPUT, CONV_EXTRA_READER };

/* x (1,3,6,6) -> Conv 3x3 (4) -> BN -> Add(res) -> Relu */
static zn_graph *conv_graph(int v) {
    tu_rng r = tu_rng_new(tu_seed() + 6);
    zn_graph *g = zn_graph_new("conv");
    int64_t xd[4] = {1, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, yd[4] = {1, 4, 6, 6}, c = 4;
    int x = input(g, "x", 4, xd), res = input(g, "res", 4, yd);
    int in[2] = {x, rand_const(g, &r, "w", 4, wd, -0.5f, 0.5f)};
    int y = zn_graph_op(g, ZN_OP_CONV, "conv", 2, in);
    int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    zn_graph_set_attr_ints(g, last_node(g), "kernel_shape", k, 2);
    zn_graph_set_attr_ints(g, last_node(g), "pads", pads, 4);
    int conv_out = y;
    int var = v == CONV_BN_VAR_INPUT ? input(g, "var", 1, &c) : rand_const(g, &r, "var", 1, &c, 0.5f, 1.5f);
    int bn[5] = {y, rand_const(g, &r, "gamma", 1, &c, 0.5f, 1.5f), rand_const(g, &r, "beta", 1, &c, -1, 1),
                 rand_const(g, &r, "mean", 1, &c, -0.5f, 0.5f), var};
    y = zn_graph_op(g, ZN_OP_BATCH_NORM, "bn", 5, bn);
    zn_graph_set_attr_float(g, last_node(g), "epsilon", 1e-5f);
    y = op1(g, ZN_OP_RELU, op2(g, ZN_OP_ADD, y, res));
    output(g, y);
    if (v == CONV_EXTRA_READER) output(g, op1(g, ZN_OP_NEG, conv_out));
    return g;
}

static void test_conv_hit(void **state) {
    (void)state;
    zn_graph *g = conv_graph(CONV_BN_RES_RELU);
    zn_plan *p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_nodes(p), 1);
    const zn_node *n = find_op(p, ZN_OP_CONV_FUSED);
    assert_non_null(n);
    assert_int_equal(n->n_inputs, 4); /* x, folded w, folded bias, residual */
    assert_string_equal(zn_attrs_string(n->attrs, n->n_attrs, "activation", ""), "relu");
    const zn_compile_summary *s = zn_plan_summary(p);
    assert_int_equal(s->fusions_by_op[ZN_OP_CONV], 1);       /* BN folded */
    assert_int_equal(s->fusions_by_op[ZN_OP_CONV_FUSED], 1);
    zn_plan_free(p);
    zn_graph_free(g);
}

static void test_conv_miss(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 7);
    zn_graph *g = conv_graph(CONV_BN_VAR_INPUT); /* running var not a constant */
    zn_plan *ref = compile(g, true);
    io_set in = {0};
    random_inputs(ref, &r, &in);
    zn_plan_free(ref);
    for (int k = 0; k < in.n; k++)
        if (in.v[k].rank == 1) /* var: positive */
            for (int j = 0; j < 4; j++) ((float *)in.v[k].data)[j] = 0.5f + (float)j;
    zn_plan *p = check_equiv(g, 1e-5, &in);
    io_free(&in);
    assert_int_equal(count_op(p, ZN_OP_BATCH_NORM), 1);
    assert_int_equal(count_op(p, ZN_OP_CONV), 1);
    zn_plan_free(p);
    zn_graph_free(g);

    g = conv_graph(CONV_EXTRA_READER); /* conv output read twice: no BN fold, no fusion */
    p = check_equiv(g, 1e-5, NULL);
    assert_int_equal(count_op(p, ZN_OP_BATCH_NORM), 1);
    assert_int_equal(count_op(p, ZN_OP_CONV_FUSED), 0);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* ---- text -------------------------------------------------------------------------------------- */

static void test_graph_text(void **state) {
    (void)state;
    zn_graph *g = attention_graph(ATT_MASK);
    zn_plan *p = compile(g, false);
    char *txt = zn_graph_to_text(zn_plan_graph(p));
    assert_non_null(txt);
    assert_non_null(strstr(txt, "ZnAttention"));
    assert_non_null(strstr(txt, "q: f32[2,5,8]"));
    assert_non_null(strstr(txt, "-> "));
    free(txt);
    zn_plan_free(p);
    zn_graph_free(g);
}

/* ---- the zoo ------------------------------------------------------------------------------------ */

typedef struct zoo_case {
    const char *name;
    zn_zoo_binding bind[3];
    int n_bind;
    int want[6][2]; /* {op, at least this many fused}, op -1 ends */
} zoo_case;

static const zoo_case zoo_cases[] = {
    {"mlp", {{"batch", 2}}, 1, {{ZN_OP_LINEAR, 2}, {-1, 0}}},
    {"mnist-cnn", {{"batch", 2}}, 1, {{ZN_OP_CONV_FUSED, 2}, {ZN_OP_LINEAR, 1}, {-1, 0}}},
    {"resnet50", {{"batch", 1}, {"height", 64}, {"width", 64}}, 3,
     {{ZN_OP_CONV, 53}, {ZN_OP_CONV_FUSED, 49}, {-1, 0}}},
    {"bert-base", {{"batch", 1}, {"seq", 16}}, 2,
     {{ZN_OP_ATTENTION, 12}, {ZN_OP_ADD_LAYER_NORM, 25}, {ZN_OP_LINEAR, 72}, {-1, 0}}},
    {"gpt2-small", {{"batch", 1}, {"seq", 8}}, 2,
     {{ZN_OP_ATTENTION, 12}, {ZN_OP_ADD_LAYER_NORM, 25}, {ZN_OP_LINEAR, 48}, {-1, 0}}},
};

static void zoo_inputs(const zn_plan *p, const char *model, tu_rng *r, io_set *in) {
    random_inputs(p, r, in);
    int64_t vocab = strcmp(model, "gpt2-small") == 0 ? 50257 : 30522;
    for (int i = 0; i < in->n; i++) {
        zn_view *v = &in->v[i];
        if (v->dtype != ZN_I64) continue;
        bool mask = strcmp(zn_plan_input(p, i).name, "attention_mask") == 0;
        int64_t n = zn_view_numel(v), seq = v->dims[v->rank - 1];
        for (int64_t k = 0; k < n; k++)
            ((int64_t *)v->data)[k] = mask ? (k % seq < seq - seq / 4) : (int64_t)(tu_next(r) % (uint64_t)vocab);
    }
}

static void test_zoo(void **state) {
    (void)state;
    for (size_t z = 0; z < sizeof zoo_cases / sizeof zoo_cases[0]; z++) {
        const zoo_case *zc = &zoo_cases[z];
        zn_graph *g = NULL;
        assert_int_equal(zn_zoo_build(zc->name, NULL, &g), ZN_OK);
        for (int b = 0; b < zc->n_bind; b++)
            assert_int_equal(zn_graph_bind_symbol(g, zc->bind[b].symbol, zc->bind[b].value), ZN_OK);
        tu_rng r = tu_rng_new(tu_seed() + z);
        zn_plan *ref = compile(g, true);
        io_set in = {0};
        zoo_inputs(ref, zc->name, &r, &in);
        zn_plan_free(ref);
        zn_plan *p = check_equiv(g, 1e-4, &in);
        io_free(&in);
        const zn_compile_summary *s = zn_plan_summary(p);
        char line[512];
        size_t len = (size_t)snprintf(line, sizeof line, "%s: %d -> %d nodes;", zc->name, s->nodes_before,
                                      s->nodes_after);
        for (int op = 0; op < ZN_OP_COUNT && len < sizeof line; op++)
            if (s->fusions_by_op[op])
                len += (size_t)snprintf(line + len, sizeof line - len, " %s %d", zn_op_name((zn_op)op),
                                        s->fusions_by_op[op]);
        print_message("[ fusions  ] %s\n", line);
        for (int k = 0; zc->want[k][0] >= 0; k++) {
            if (s->fusions_by_op[zc->want[k][0]] < zc->want[k][1])
                print_error("%s: %d %s fused, want %d\n", zc->name, s->fusions_by_op[zc->want[k][0]],
                            zn_op_name((zn_op)zc->want[k][0]), zc->want[k][1]);
            assert_true(s->fusions_by_op[zc->want[k][0]] >= zc->want[k][1]);
        }
        assert_true(s->nodes_after < s->nodes_before);
        zn_plan_free(p);
        zn_graph_free(g);
    }
}

/* ---- ONNX fixtures ------------------------------------------------------------------------------ */

static const char *fixtures(void) {
    const char *e = getenv("ZN_FIXTURES");
    return e && *e ? e : "tests/fixtures";
}

/* Loads dir/model.onnx and its test_data_set_0 inputs (binding the input shapes). */
static bool load_fixture(const char *dir, zn_graph **g, io_set *in) {
    char path[1600];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (zn_graph_from_onnx(path, NULL, g) != ZN_OK) return false;
    in->n = 0;
    for (int i = 0; i < MAX_IO; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        zn_tensor_file t;
        if (zn_tensor_read_pb(path, &t) != ZN_OK) break;
        if (i < zn_graph_num_inputs(*g)) {
            const char *name = zn_graph_tensor_name(*g, zn_graph_input(*g, i));
            if (zn_graph_bind_input_shape(*g, name, t.rank, t.dims) != ZN_OK) {
                zn_tensor_file_free(&t);
                break;
            }
        }
        in->v[i] = tu_view(t.dtype, t.data, t.rank, t.dims);
        t.data = NULL;
        zn_tensor_file_free(&t);
        in->n = i + 1;
    }
    if (in->n != zn_graph_num_inputs(*g)) {
        io_free(in);
        zn_graph_free(*g);
        *g = NULL;
        return false;
    }
    return true;
}

static void test_fixtures(void **state) {
    (void)state;
    char base[1024];
    snprintf(base, sizeof base, "%s/onnx", fixtures());
    DIR *d = opendir(base);
    if (!d) {
        print_message("[ skipped  ] no fixtures at %s (set ZN_FIXTURES)\n", base);
        skip();
        return;
    }
    int compared = 0, fused = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char dir[1400];
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        zn_graph *g = NULL;
        io_set in = {0};
        if (!load_fixture(dir, &g, &in)) continue;
        zn_plan *ref = NULL, *opt = NULL;
        zn_compile_config cfg = zn_compile_config_default();
        cfg.backend = ZN_BACKEND_CPU;
        cfg.threads = 2;
        cfg.reference = true;
        bool ok = zn_compile(g, &cfg, &ref) == ZN_OK;
        if (ok) {
            cfg.reference = false;
            zn_status st = zn_compile(g, &cfg, &opt);
            if (st != ZN_OK) print_error("%s: optimised compile failed: %s\n", e->d_name, zn_last_error()->message);
            assert_int_equal(st, ZN_OK); /* passes must never break a model the reference plan runs */
            io_set a = {0}, b = {0};
            run_plan(ref, &in, &a);
            run_plan(opt, &in, &b);
            assert_outputs_match(&a, &b, 1e-4, 0.99999, e->d_name);
            io_free(&a);
            io_free(&b);
            const zn_compile_summary *s = zn_plan_summary(opt);
            for (int op = 0; op < ZN_OP_COUNT; op++) fused += s->fusions_by_op[op];
            compared++;
        }
        zn_plan_free(ref);
        zn_plan_free(opt);
        io_free(&in);
        zn_graph_free(g);
    }
    closedir(d);
    print_message("[ fixtures ] %d fixture models compared, %d fused nodes\n", compared, fused);
    assert_true(compared >= 50);
    assert_true(fused >= 1); /* torch_tiny_cnn folds its BatchNorm at least */
}

int main(void) {
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dce),
        cmocka_unit_test(test_layout_hit),
        cmocka_unit_test(test_layout_miss),
        cmocka_unit_test(test_cse),
        cmocka_unit_test(test_layernorm_hit),
        cmocka_unit_test(test_layernorm_miss),
        cmocka_unit_test(test_gelu_hit),
        cmocka_unit_test(test_gelu_miss),
        cmocka_unit_test(test_add_layernorm),
        cmocka_unit_test(test_linear_hit),
        cmocka_unit_test(test_linear_miss),
        cmocka_unit_test(test_gemm_prepack),
        cmocka_unit_test(test_attention_hit),
        cmocka_unit_test(test_attention_miss),
        cmocka_unit_test(test_conv_hit),
        cmocka_unit_test(test_conv_miss),
        cmocka_unit_test(test_graph_text),
        cmocka_unit_test(test_zoo),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
