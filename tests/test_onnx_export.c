/* test_onnx_export.c — the ONNX exporter (engine/onnx_export.c): zoo graphs written to a file,
 * read back by the importer and run with the reference plan give bit-identical outputs; the
 * opset rewrites (Gelu decomposed below opset 20, axes moved between attribute and input, Clip's
 * bounds) compute what a plain C implementation computes; fused ops and SiLU are refused. */
#include "test_util.h"

#include <unistd.h>

#include "engine/graph.h"
#include "engine/onnx.h"
#include "engine/onnx_export.h"
#include "engine/zenith.h"
#include "suites/zoo.h"

/* A temporary file name; the caller unlinks it. */
static void tmp_path(char *buf, size_t cap) {
    const char *dir = getenv("TMPDIR");
    snprintf(buf, cap, "%s/zn_export_XXXXXX", dir && *dir ? dir : P_tmpdir);
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
}

typedef struct binding { const char *sym; int64_t v; } binding;

/* Compiles g (reference kernels, no passes) and runs it on inputs made from seed: floats
 * U(-1,1), integer inputs ids in [0,100) (masks named "*mask*": ones). Returns the outputs
 * (malloc'd copies) and their element counts. */
static void run_reference(zn_graph *g, uint64_t seed, int *n_out, float **outs, int64_t *out_n) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.reference = true;
    cfg.threads = 1;
    zn_plan *plan = NULL;
    zn_status st = zn_compile(g, &cfg, &plan);
    if (st != ZN_OK) print_error("compile: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    int ni = zn_plan_num_inputs(plan);
    zn_view in[8];
    void *bufs[8] = {0};
    assert_true(ni <= 8);
    tu_rng r = tu_rng_new(seed);
    for (int i = 0; i < ni; i++) {
        zn_io_info io = zn_plan_input(plan, i);
        int64_t n = 1;
        for (int k = 0; k < io.rank; k++) n *= io.dims[k];
        bufs[i] = malloc((size_t)n * zn_dtype_size(io.dtype) + 1);
        assert_non_null(bufs[i]);
        for (int64_t k = 0; k < n; k++) {
            if (io.dtype == ZN_F32) ((float *)bufs[i])[k] = tu_uniform(&r, -1.0f, 1.0f);
            else if (io.dtype == ZN_I64)
                ((int64_t *)bufs[i])[k] = strstr(io.name, "mask") ? 1 : (int64_t)(tu_next(&r) % 100);
            else fail_msg("unexpected input dtype %s", zn_dtype_name(io.dtype));
        }
        in[i] = tu_view(io.dtype, bufs[i], io.rank, io.dims);
    }
    *n_out = zn_plan_num_outputs(plan);
    assert_true(*n_out <= 4);
    zn_view ov[4];
    memset(ov, 0, sizeof ov);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(plan, &s), ZN_OK);
    st = zn_session_run(s, in, ni, ov, *n_out);
    if (st != ZN_OK) print_error("run: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    for (int o = 0; o < *n_out; o++) {
        assert_int_equal(ov[o].dtype, ZN_F32);
        out_n[o] = zn_view_numel(&ov[o]);
        outs[o] = malloc(sizeof(float) * (size_t)out_n[o] + 1);
        assert_non_null(outs[o]);
        memcpy(outs[o], ov[o].data, sizeof(float) * (size_t)out_n[o]);
    }
    zn_session_free(s);
    zn_plan_free(plan);
    for (int i = 0; i < ni; i++) free(bufs[i]);
}

static void bind_all(zn_graph *g, const binding *b, int nb) {
    for (int i = 0; i < nb; i++) assert_int_equal(zn_graph_bind_symbol(g, b[i].sym, b[i].v), ZN_OK);
}

/* Exports zoo model `name` (symbolic) at `opset`, re-imports it, binds both and compares. */
static void roundtrip_zoo(const char *name, const binding *b, int nb, int64_t opset) {
    zn_graph *g = NULL, *h = NULL;
    assert_int_equal(zn_zoo_build(name, NULL, &g), ZN_OK);
    char path[256];
    tmp_path(path, sizeof path);
    zn_onnx_export_options eo = {.opset = opset};
    zn_status st = zn_graph_to_onnx_opts(g, path, &eo);
    if (st != ZN_OK) print_error("export %s: %s\n", name, zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    st = zn_graph_from_onnx(path, NULL, &h);
    if (st != ZN_OK) print_error("import %s: %s\n", name, zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    unlink(path);

    /* metadata, inputs (symbolic dims by name), outputs */
    assert_int_equal(zn_graph_meta_const(h)->opset, opset);
    assert_int_equal(zn_graph_meta_const(h)->ir_version, opset <= 18 ? 8 : opset <= 20 ? 9 : 10);
    assert_string_equal(zn_graph_meta_const(h)->producer, "zenith");
    assert_int_equal(zn_graph_num_inputs(h), zn_graph_num_inputs(g));
    assert_int_equal(zn_graph_num_outputs(h), zn_graph_num_outputs(g));
    for (int i = 0; i < zn_graph_num_inputs(g); i++) {
        int tg = zn_graph_input(g, i), th = zn_graph_input(h, i);
        assert_string_equal(zn_graph_tensor_name(g, tg), zn_graph_tensor_name(h, th));
        assert_int_equal(zn_graph_tensor_dtype(g, tg), zn_graph_tensor_dtype(h, th));
        const zn_shape *sg = zn_graph_tensor_shape(g, tg), *sh = zn_graph_tensor_shape(h, th);
        assert_int_equal(sg->rank, sh->rank);
        for (int k = 0; k < sg->rank; k++) {
            assert_true(sg->dims[k].value == sh->dims[k].value);
            if (sg->dims[k].value < 0)
                assert_string_equal(zn_graph_symbol_name(g, sg->dims[k].sym),
                                    zn_graph_symbol_name(h, sh->dims[k].sym));
        }
    }
    for (int i = 0; i < zn_graph_num_outputs(g); i++)
        assert_string_equal(zn_graph_tensor_name(g, zn_graph_output(g, i)),
                            zn_graph_tensor_name(h, zn_graph_output(h, i)));

    bind_all(g, b, nb);
    bind_all(h, b, nb);
    uint64_t seed = tu_seed();
    int ng, nh;
    float *og[4] = {0}, *oh[4] = {0};
    int64_t ngn[4], nhn[4];
    run_reference(g, seed, &ng, og, ngn);
    run_reference(h, seed, &nh, oh, nhn);
    assert_int_equal(ng, nh);
    for (int o = 0; o < ng; o++) {
        assert_int_equal(ngn[o], nhn[o]);
        if (memcmp(og[o], oh[o], sizeof(float) * (size_t)ngn[o]) != 0) {
            tu_assert_close(oh[o], og[o], ngn[o], 0, 0); /* names the first differing element */
            fail_msg("%s output %d differs", name, o);
        }
        free(og[o]);
        free(oh[o]);
    }
    zn_graph_free(g);
    zn_graph_free(h);
}

static void test_roundtrip_mlp(void **state) {
    (void)state;
    binding b[] = {{"batch", 3}};
    roundtrip_zoo("mlp", b, 1, 17);
}

static void test_roundtrip_mnist_cnn(void **state) {
    (void)state;
    binding b[] = {{"batch", 2}};
    roundtrip_zoo("mnist-cnn", b, 1, 17);
}

static void test_roundtrip_resnet50(void **state) {
    (void)state;
    binding b[] = {{"batch", 1}, {"height", 32}, {"width", 32}};
    roundtrip_zoo("resnet50", b, 3, 17);
}

/* opset 20 keeps Gelu an ONNX op, so the re-imported graph is the same graph: bit-identical */
static void test_roundtrip_bert_base(void **state) {
    (void)state;
    binding b[] = {{"batch", 1}, {"seq", 6}};
    roundtrip_zoo("bert-base", b, 2, 20);
}

/* ---- opset rewrites, checked against plain C ---------------------------------------------- */

typedef struct small_graph {
    zn_graph *g;
    int x;
} small_graph;

static double plain_gelu(double x, bool tanh_form) {
    if (tanh_form) return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

/* y = Gelu(x) (erf), z = Gelu(x) (tanh), x: (2, 5); exported at opset 17 (decomposed). */
static void test_gelu_decomposed(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("gelu");
    zn_dim d[2] = {{2, -1}, {5, -1}};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, d);
    int y, z;
    const char *yn[1] = {"y"}, *zn_[1] = {"z"};
    zn_graph_add_node(g, ZN_OP_GELU, "gelu_erf", 1, &x, 1, yn, &y);
    int n2 = zn_graph_add_node(g, ZN_OP_GELU, "gelu_tanh", 1, &x, 1, zn_, &z);
    assert_int_equal(zn_graph_set_attr_string(g, n2, "approximate", "tanh"), ZN_OK);
    zn_graph_mark_output(g, y);
    zn_graph_mark_output(g, z);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    char path[256];
    tmp_path(path, sizeof path);
    assert_int_equal(zn_graph_to_onnx(g, path), ZN_OK);
    zn_graph *h = NULL;
    assert_int_equal(zn_graph_from_onnx(path, NULL, &h), ZN_OK);
    unlink(path);
    /* no Gelu node survives at opset 17 */
    zn_graph_stats st;
    assert_int_equal(zn_graph_get_stats(h, &st), ZN_OK);
    assert_int_equal(st.node_count_by_op[ZN_OP_GELU], 0);
    assert_true(st.node_count_by_op[ZN_OP_ERF] == 1 && st.node_count_by_op[ZN_OP_TANH] == 1);
    int n;
    float *o[4];
    int64_t on[4];
    uint64_t seed = tu_seed();
    run_reference(h, seed, &n, o, on);
    assert_int_equal(n, 2);
    /* the same inputs, made the same way */
    tu_rng r = tu_rng_new(seed);
    float xv[10], want_y[10], want_z[10];
    for (int i = 0; i < 10; i++) {
        xv[i] = tu_uniform(&r, -1.0f, 1.0f);
        want_y[i] = (float)plain_gelu(xv[i], false);
        want_z[i] = (float)plain_gelu(xv[i], true);
    }
    tu_assert_close(o[0], want_y, 10, 1e-6, 1e-5);
    tu_assert_close(o[1], want_z, 10, 1e-6, 1e-5);
    for (int i = 0; i < n; i++) free(o[i]);
    zn_graph_free(g);
    zn_graph_free(h);
}

/* Unsqueeze with an axes attribute, ReduceMean with an axes input, Clip with min/max
 * attributes, Split with a split attribute: written in opset 17's forms and computed right. */
static void test_axes_forms(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("forms");
    zn_dim d[2] = {{3, -1}, {4, -1}};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, d);
    int64_t one = 1, ax_d = 1, ax[1] = {1};
    int u = zn_graph_op(g, ZN_OP_UNSQUEEZE, "unsq", 1, &x); /* (3,1,4) */
    assert_int_equal(zn_graph_set_attr_ints(g, zn_graph_num_nodes(g) - 1, "axes", &one, 1), ZN_OK);
    int axes = zn_graph_add_const(g, "mean_axes", ZN_I64, 1, &ax_d, ax);
    int rin[2] = {u, axes};
    int m = zn_graph_op(g, ZN_OP_REDUCE_MEAN, "mean", 2, rin); /* (3,1,4): mean over size-1 axis */
    assert_int_equal(zn_graph_set_attr_int(g, zn_graph_num_nodes(g) - 1, "keepdims", 0), ZN_OK);
    int c = zn_graph_op(g, ZN_OP_CLIP, "clip", 1, &m); /* (3,4) */
    assert_int_equal(zn_graph_set_attr_float(g, zn_graph_num_nodes(g) - 1, "min", -0.25f), ZN_OK);
    assert_int_equal(zn_graph_set_attr_float(g, zn_graph_num_nodes(g) - 1, "max", 0.5f), ZN_OK);
    int outs[2];
    const char *on_[2] = {"a", "b"};
    int sn = zn_graph_add_node(g, ZN_OP_SPLIT, "split", 1, &c, 2, on_, outs);
    int64_t sp[2] = {1, 3};
    assert_int_equal(zn_graph_set_attr_ints(g, sn, "split", sp, 2), ZN_OK);
    assert_int_equal(zn_graph_set_attr_int(g, sn, "axis", 1), ZN_OK);
    zn_graph_mark_output(g, outs[0]);
    zn_graph_mark_output(g, outs[1]);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    char path[256];
    tmp_path(path, sizeof path);
    zn_status st = zn_graph_to_onnx(g, path);
    if (st != ZN_OK) print_error("export: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    zn_graph *h = NULL;
    st = zn_graph_from_onnx(path, NULL, &h);
    if (st != ZN_OK) print_error("import: %s\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    unlink(path);
    /* the forms: Unsqueeze and Split got constant inputs, ReduceMean an attribute, Clip inputs */
    for (int i = 0; i < h->n_nodes; i++) {
        const zn_node *nd = &h->nodes[i];
        int want = nd->op == ZN_OP_UNSQUEEZE ? 2 : nd->op == ZN_OP_REDUCE_MEAN ? 1
                 : nd->op == ZN_OP_CLIP ? 3 : nd->op == ZN_OP_SPLIT ? 2 : -1;
        if (want >= 0) assert_int_equal(nd->n_inputs, want);
        if (nd->op == ZN_OP_REDUCE_MEAN) {
            int64_t a[4];
            assert_int_equal(zn_attrs_ints(nd->attrs, nd->n_attrs, "axes", a, 4), 1);
            assert_int_equal(a[0], 1);
        }
        if (nd->op != ZN_OP_CONSTANT) assert_null(zn_attrs_find(nd->attrs, nd->n_attrs, "min"));
    }
    int n;
    float *o[4];
    int64_t onum[4];
    uint64_t seed = tu_seed();
    run_reference(h, seed, &n, o, onum);
    assert_int_equal(n, 2);
    assert_int_equal(onum[0], 3);
    assert_int_equal(onum[1], 9);
    tu_rng r = tu_rng_new(seed);
    float xv[12];
    for (int i = 0; i < 12; i++) xv[i] = tu_uniform(&r, -1.0f, 1.0f);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            float v = fminf(fmaxf(xv[i * 4 + j], -0.25f), 0.5f);
            float got = j == 0 ? o[0][i] : o[1][i * 3 + j - 1];
            assert_true(fabsf(got - v) <= 1e-6f);
        }
    for (int i = 0; i < n; i++) free(o[i]);
    zn_graph_free(g);
    zn_graph_free(h);
}

/* ---- refusals ----------------------------------------------------------------------------- */

static void test_refuses_fused_and_silu(void **state) {
    (void)state;
    char path[256];
    tmp_path(path, sizeof path);
    unlink(path);
    zn_dim d[1] = {{4, -1}};
    zn_op ops[2] = {ZN_OP_ADD_RELU, ZN_OP_SILU};
    for (int k = 0; k < 2; k++) {
        zn_graph *g = zn_graph_new("fused");
        int x = zn_graph_add_input(g, "x", ZN_F32, 1, d);
        int in[2] = {x, x};
        int y = zn_graph_op(g, ops[k], "bad_node", k == 0 ? 2 : 1, in);
        zn_graph_mark_output(g, y);
        assert_int_equal(zn_graph_validate(g), ZN_OK);
        assert_int_equal(zn_graph_to_onnx(g, path), ZN_ERR_UNSUPPORTED);
        const zn_error *e = zn_last_error();
        assert_non_null(strstr(e->message, "bad_node"));
        assert_non_null(strstr(e->message, k == 0 ? "fused" : "SiLU"));
        assert_string_equal(e->node, "bad_node");
        assert_int_equal(access(path, F_OK), -1); /* nothing written */
        zn_graph_free(g);
    }
}

static void test_bad_arguments(void **state) {
    (void)state;
    zn_graph *g = zn_graph_new("g");
    zn_dim d[1] = {{4, -1}};
    int x = zn_graph_add_input(g, "x", ZN_F32, 1, d);
    int y = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &x);
    zn_graph_mark_output(g, y);
    char path[256];
    tmp_path(path, sizeof path);
    zn_onnx_export_options eo = {.opset = 12};
    assert_int_equal(zn_graph_to_onnx_opts(g, path, &eo), ZN_ERR_INVALID_ARGUMENT);
    assert_int_equal(zn_graph_to_onnx(NULL, path), ZN_ERR_INVALID_ARGUMENT);
    unlink(path);
    /* a folder that does not exist */
    char bad[300];
    snprintf(bad, sizeof bad, "%s.missing/dir/model.onnx", path);
    assert_int_equal(zn_graph_to_onnx(g, bad), ZN_ERR_IO);
    assert_non_null(strstr(zn_last_error()->message, "model.onnx"));
    zn_graph_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_mlp),
        cmocka_unit_test(test_roundtrip_mnist_cnn),
        cmocka_unit_test(test_roundtrip_resnet50),
        cmocka_unit_test(test_roundtrip_bert_base),
        cmocka_unit_test(test_gelu_decomposed),
        cmocka_unit_test(test_axes_forms),
        cmocka_unit_test(test_refuses_fused_and_silu),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
