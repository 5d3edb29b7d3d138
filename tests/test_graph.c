/* test_graph.c — the IR: builder, validation errors (each names the node and the fix),
 * symbols and binding, shape inference with folding, statistics. */
#include "test_util.h"

#include "engine/graph.h"

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

/* x: (2,3) -> Relu -> Add(bias (3)) -> y */
static zn_graph *small_graph(void) {
    zn_graph *g = zn_graph_new("small");
    zn_dim dims[2] = {D(2), D(3)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    float bias[3] = {1, 2, 3};
    int64_t bd[1] = {3};
    int b = zn_graph_add_const(g, "bias", ZN_F32, 1, bd, bias);
    int r = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &x);
    int in[2] = {r, b};
    int y = zn_graph_op(g, ZN_OP_ADD, "add", 2, in);
    zn_graph_mark_output(g, y);
    return g;
}

static void test_builder_and_queries(void **state) {
    (void)state;
    zn_graph *g = small_graph();
    assert_int_equal(zn_graph_num_inputs(g), 1);
    assert_int_equal(zn_graph_num_outputs(g), 1);
    assert_int_equal(zn_graph_num_nodes(g), 2);
    assert_int_equal(zn_graph_find_tensor(g, "bias"), 1);
    assert_string_equal(zn_graph_tensor_name(g, zn_graph_output(g, 0)), "add");
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    const zn_shape *s = zn_graph_tensor_shape(g, zn_graph_output(g, 0));
    assert_int_equal(s->rank, 2);
    assert_int_equal(s->dims[0].value, 2);
    assert_int_equal(s->dims[1].value, 3);
    zn_graph_stats st;
    zn_graph_get_stats(g, &st);
    assert_int_equal(st.params, 3);
    assert_int_equal(st.nodes, 2);
    assert_int_equal(st.node_count_by_op[ZN_OP_RELU], 1);
    assert_true(st.flops == 12.0); /* 6 elements per element-wise op */
    zn_graph *c = zn_graph_clone(g);
    assert_non_null(c);
    assert_int_equal(zn_graph_num_nodes(c), 2);
    assert_memory_equal(zn_graph_tensor_data(c, 1), zn_graph_tensor_data(g, 1), 12);
    assert_ptr_not_equal(zn_graph_tensor_data(c, 1), zn_graph_tensor_data(g, 1));
    zn_graph_free(c);
    zn_graph_free(g);
}

static void test_dangling_input(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("dangling");
    zn_dim dims[1] = {D(4)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    /* a tensor created as a node output, then its producer removed */
    int t = zn_graph_op(g, ZN_OP_RELU, "gone", 1, &x);
    int in[2] = {x, t};
    int y = zn_graph_op(g, ZN_OP_ADD, "user", 2, in);
    zn_graph_mark_output(g, y);
    g->nodes[0].dead = true; /* "gone" no longer produces t */
    assert_int_equal(zn_graph_validate(g), ZN_ERR_INVALID_GRAPH);
    const zn_error *e = zn_last_error();
    assert_non_null(strstr(e->message, "user"));
    assert_non_null(strstr(e->message, "gone"));
    assert_non_null(strstr(e->hint, "graph input"));
    assert_string_equal(e->node, "user");
    zn_graph_free(g);
}

static void test_cycle(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("cycle");
    zn_dim dims[1] = {D(4)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    int a_out, b_out;
    int in_a[2] = {x, x};
    int na = zn_graph_add_node(g, ZN_OP_ADD, "a", 2, in_a, 1, NULL, &a_out);
    int nb = zn_graph_add_node(g, ZN_OP_RELU, "b", 1, &a_out, 1, NULL, &b_out);
    (void)nb;
    g->nodes[na].inputs[1] = b_out; /* a reads b, b reads a */
    zn_graph_mark_output(g, b_out);
    assert_int_equal(zn_graph_validate(g), ZN_ERR_INVALID_GRAPH);
    assert_non_null(strstr(zn_last_error()->message, "cycle"));
    assert_true(zn_last_error()->node[0] != 0);
    zn_graph_free(g);
}

static void test_arity_and_attr_type(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("arity");
    zn_dim dims[1] = {D(4)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    int y = zn_graph_op(g, ZN_OP_ADD, "add1", 1, &x); /* Add needs 2 */
    zn_graph_mark_output(g, y);
    assert_int_equal(zn_graph_validate(g), ZN_ERR_INVALID_GRAPH);
    assert_non_null(strstr(zn_last_error()->message, "add1"));
    assert_non_null(strstr(zn_last_error()->message, "2 to 2"));
    zn_graph_free(g);

    g = zn_graph_new("attr");
    x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    int out;
    int n = zn_graph_add_node(g, ZN_OP_SOFTMAX, "sm", 1, &x, 1, NULL, &out);
    zn_graph_set_attr_string(g, n, "axis", "last");
    zn_graph_mark_output(g, out);
    assert_int_equal(zn_graph_validate(g), ZN_ERR_INVALID_GRAPH);
    assert_non_null(strstr(zn_last_error()->message, "'axis' must be an int"));
    zn_graph_free(g);

    /* a missing required input (-1 in a required slot) */
    g = zn_graph_new("missing");
    x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    int in[2] = {x, -1};
    y = zn_graph_op(g, ZN_OP_MUL, "mul", 2, in);
    zn_graph_mark_output(g, y);
    assert_int_equal(zn_graph_validate(g), ZN_ERR_INVALID_GRAPH);
    assert_non_null(strstr(zn_last_error()->message, "required input 1"));
    zn_graph_free(g);
}

static void test_shape_mismatch_names_node(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("mm");
    zn_dim a[2] = {D(2), D(3)}, b[2] = {D(4), D(5)};
    int x = zn_graph_add_input(g, "a", ZN_F32, 2, a);
    int w = zn_graph_add_input(g, "b", ZN_F32, 2, b);
    int in[2] = {x, w};
    int y = zn_graph_op(g, ZN_OP_MATMUL, "proj", 2, in);
    zn_graph_mark_output(g, y);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_ERR_SHAPE);
    assert_string_equal(zn_last_error()->node, "proj");
    assert_non_null(strstr(zn_last_error()->shapes, "[2,3]"));
    zn_graph_free(g);
}

static void test_symbols_and_binding(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("sym");
    int batch = zn_graph_symbol(g, "batch");
    assert_int_equal(zn_graph_symbol(g, "batch"), batch);
    zn_dim dims[2] = {{-1, batch}, D(8)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    int y = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &x);
    zn_graph_mark_output(g, y);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    /* unbound: inference says which symbol to bind and how */
    assert_int_equal(zn_graph_infer_shapes(g, false), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->hint, "batch"));
    /* a fixed dim cannot be rebound */
    int64_t bad[2] = {4, 9};
    assert_int_equal(zn_graph_bind_input_shape(g, "x", 2, bad), ZN_ERR_SHAPE);
    assert_non_null(strstr(zn_last_error()->message, "fixed"));
    int64_t wrong_rank[1] = {4};
    assert_int_equal(zn_graph_bind_input_shape(g, "x", 1, wrong_rank), ZN_ERR_SHAPE);
    assert_int_equal(zn_graph_bind_input_shape(g, "nope", 1, wrong_rank), ZN_ERR_NOT_FOUND);
    assert_non_null(strstr(zn_last_error()->hint, "x"));
    assert_int_equal(zn_graph_bind_symbol(g, "seq", 4), ZN_ERR_NOT_FOUND);
    int64_t good[2] = {4, 8};
    assert_int_equal(zn_graph_bind_input_shape(g, "x", 2, good), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, false), ZN_OK);
    assert_int_equal(zn_graph_tensor_shape(g, zn_graph_output(g, 0))->dims[0].value, 4);
    zn_graph_free(g);
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to a static Reshape. */
static void test_fold_shape_arithmetic(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("fold");
    zn_dim dims[3] = {D(2), D(3), D(4)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 3, dims);
    int shape = zn_graph_op(g, ZN_OP_SHAPE, "shape", 1, &x);
    int64_t zero = 0, one = 1, dims1[1] = {1};
    int idx = zn_graph_add_const(g, "idx0", ZN_I64, 0, NULL, &zero);
    int gin[2] = {shape, idx};
    int n0 = zn_graph_op(g, ZN_OP_GATHER, "gather", 2, gin);
    int ax = zn_graph_add_const(g, "axes", ZN_I64, 1, dims1, &zero);
    int uin[2] = {n0, ax};
    int n0u = zn_graph_op(g, ZN_OP_UNSQUEEZE, "unsq", 2, uin);
    int64_t minus1 = -1;
    int m1 = zn_graph_add_const(g, "m1", ZN_I64, 1, dims1, &minus1);
    int cin[2] = {n0u, m1};
    int cat_out;
    int cat = zn_graph_add_node(g, ZN_OP_CONCAT, "concat", 2, cin, 1, NULL, &cat_out);
    zn_graph_set_attr_int(g, cat, "axis", 0);
    int rin[2] = {x, cat_out};
    int y = zn_graph_op(g, ZN_OP_RESHAPE, "reshape", 2, rin);
    zn_graph_mark_output(g, y);
    (void)one;
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    /* only the Reshape is left; its shape input is now a constant [2, -1] */
    assert_int_equal(zn_graph_num_nodes(g), 1);
    assert_int_equal(g->nodes[0].op, ZN_OP_RESHAPE);
    const zn_tensor *target = &g->tensors[g->nodes[0].inputs[1]];
    assert_true(target->flags & ZN_TENSOR_CONST);
    assert_int_equal(((int64_t *)target->data)[0], 2);
    assert_int_equal(((int64_t *)target->data)[1], -1);
    const zn_shape *s = zn_graph_tensor_shape(g, zn_graph_output(g, 0));
    assert_int_equal(s->rank, 2);
    assert_int_equal(s->dims[1].value, 12);
    zn_graph_free(g);
}

static void test_bad_builder_arguments(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("bad");
    zn_dim dims[1] = {D(4)};
    assert_int_equal(zn_graph_add_input(g, "x", ZN_DTYPE_UNDEFINED, 1, dims), -1);
    assert_int_equal(zn_last_error()->status, ZN_ERR_INVALID_ARGUMENT);
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, dims);
    assert_true(x >= 0);
    assert_int_equal(zn_graph_add_input(g, "x", ZN_F32, 1, dims), -1); /* duplicate */
    int bogus = 99;
    assert_int_equal(zn_graph_op(g, ZN_OP_RELU, "r", 1, &bogus), -1);
    int64_t neg[1] = {-3};
    assert_int_equal(zn_graph_add_const(g, "c", ZN_F32, 1, neg, NULL), -1);
    assert_int_equal(zn_graph_mark_output(g, 1234), ZN_ERR_INVALID_ARGUMENT);
    zn_graph_free(g);
}

static void test_op_table(void **state) {
    (void)state;
    assert_int_equal(zn_op_from_name("LayerNormalization"), ZN_OP_LAYER_NORM);
    assert_int_equal(zn_op_from_name("Nope"), -1);
    assert_string_equal(zn_op_nearest_name("LayerNorm"), "LayerNormalization");
    assert_string_equal(zn_op_nearest_name("matmul"), "MatMul");
    for (int op = 0; op < ZN_OP_COUNT; op++) {
        const zn_op_info *i = zn_op_get_info((zn_op)op);
        assert_true(i->min_inputs <= i->max_inputs);
        assert_true(i->min_outputs >= 1 && i->min_outputs <= i->max_outputs);
    }
}

static void test_half_conversions(void **state) {
    (void)state;
    assert_int_equal(zn_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(zn_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(zn_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(zn_f32_to_f16(1e6f), 0x7c00);
    assert_true(zn_f16_to_f32(0x0001) == ldexpf(1, -24));
    assert_int_equal(zn_f32_to_bf16(1.0f), 0x3f80);
    assert_true(zn_bf16_to_f32(0x3f80) == 1.0f);
    tu_rng r = tu_rng_new(tu_seed());
    for (int i = 0; i < 10000; i++) {
        float f = tu_uniform(&r, -1000, 1000);
        float h = zn_f16_to_f32(zn_f32_to_f16(f));
        float b = zn_bf16_to_f32(zn_f32_to_bf16(f));
        assert_true(fabsf(h - f) <= fabsf(f) * (1.0f / 2048) + 1e-7f);
        assert_true(fabsf(b - f) <= fabsf(f) * (1.0f / 256));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_and_queries),
        cmocka_unit_test(test_dangling_input),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_arity_and_attr_type),
        cmocka_unit_test(test_shape_mismatch_names_node),
        cmocka_unit_test(test_symbols_and_binding),
        cmocka_unit_test(test_fold_shape_arithmetic),
        cmocka_unit_test(test_bad_builder_arguments),
        cmocka_unit_test(test_op_table),
        cmocka_unit_test(test_half_conversions),
    };
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
