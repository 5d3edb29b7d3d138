/* test_onnx.c — the protobuf reader, TensorProto/.npy I/O and the ONNX importer.
 *
 * Fixtures come from tests/fixtures/make_fixtures.py (override the folder with ZN_FIXTURES):
 * every onnx/<case>/ is loaded, its structure spot-checked, compiled on the reference plan and
 * run on test_data_set_0, and the outputs compared with output_K.pb (computed by numpy or
 * PyTorch, independently of Zenith). Every onnx_bad/ model must fail with the right status
 * and a message naming the problem. Hand-written byte buffers cover the wire-format edge
 * cases, and seeded random mutations of a valid model must never crash the loader.
 */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/graph.h"
#include "engine/log.h"
#include "engine/onnx.h"
#include "engine/pb.h"
#include "engine/tensor_io.h"
#include "engine/zenith.h"

static const char *fixtures(void) {
    const char *e = getenv("ZN_FIXTURES");
    return e && *e ? e : "tests/fixtures";
}

static char *fx_path(char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", fixtures(), rel);
    return buf;
}

static zn_graph *load_case(const char *name) {
    char p[512], rel[256];
    snprintf(rel, sizeof rel, "onnx/%s/model.onnx", name);
    zn_graph *g = NULL;
    zn_status st = zn_graph_from_onnx(fx_path(p, sizeof p, rel), NULL, &g);
    if (st != ZN_OK) print_error("loading %s: %s\n", name, zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    assert_non_null(g);
    return g;
}

/* The first live node of op in g (-1 if none). */
static int find_node(const zn_graph *g, zn_op op) {
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op) return i;
    return -1;
}

static int count_nodes(const zn_graph *g, zn_op op) {
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

/* ---- wire format ------------------------------------------------------------------------- */

static void test_pb_varints(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed());
    for (int i = 0; i < 2000; i++) {
        uint64_t v = tu_next(&r) >> (tu_next(&r) % 64);
        zn_pb_buf b = {0};
        zn_pb_put_uint(&b, 1 + (uint32_t)(tu_next(&r) % 1000), v);
        zn_pb rd = zn_pb_reader(b.data, b.len, 0, "T");
        zn_pb_field f;
        assert_int_equal(zn_pb_next(&rd, &f), 1);
        assert_int_equal(f.wire, ZN_PB_VARINT);
        assert_true(f.v == v);
        assert_int_equal(zn_pb_next(&rd, &f), 0);
        /* every proper prefix is an error, never a read past the end */
        for (size_t n = 1; n < b.len; n++) {
            uint8_t *cut = malloc(n);
            memcpy(cut, b.data, n);
            zn_pb rc = zn_pb_reader(cut, n, 0, "T");
            assert_int_equal(zn_pb_next(&rc, &f), -1);
            free(cut);
        }
        zn_pb_buf_free(&b);
    }
    /* 11-byte varint */
    const uint8_t longv[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    zn_pb rd = zn_pb_reader(longv, sizeof longv, 0, "T");
    zn_pb_field f;
    assert_int_equal(zn_pb_next(&rd, &f), -1);
    assert_int_equal(zn_last_error()->status, ZN_ERR_MODEL_FORMAT);
}

static void test_pb_malformed(void **state) {
    (void)state;
    zn_pb_field f;
    /* length past the end: field 7, length 100, 3 bytes of data */
    const uint8_t past[] = {0x08, 0x07, 0x3a, 100, 1, 2, 3};
    zn_pb r = zn_pb_reader(past, sizeof past, 1000, "ModelProto");
    assert_int_equal(zn_pb_next(&r, &f), 1);
    assert_int_equal(zn_pb_next(&r, &f), -1);
    assert_non_null(strstr(zn_last_error()->message, "at byte 1002"));
    assert_non_null(strstr(zn_last_error()->message, "100 bytes"));
    /* truncated fixed32 and fixed64 */
    const uint8_t f32t[] = {0x15, 1, 2};
    r = zn_pb_reader(f32t, sizeof f32t, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), -1);
    const uint8_t f64t[] = {0x11, 1, 2, 3, 4, 5, 6, 7};
    r = zn_pb_reader(f64t, sizeof f64t, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), -1);
    /* groups and field number 0 */
    const uint8_t grp[] = {0x0b};
    r = zn_pb_reader(grp, 1, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), -1);
    const uint8_t zero[] = {0x00, 0x01};
    r = zn_pb_reader(zero, 2, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), -1);
    /* fixed values decode little-endian */
    const uint8_t fx[] = {0x15, 0x78, 0x56, 0x34, 0x12, 0x19, 1, 0, 0, 0, 0, 0, 0, 0x80};
    r = zn_pb_reader(fx, sizeof fx, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), 1);
    assert_int_equal(f.wire, ZN_PB_I32);
    assert_true(f.v == 0x12345678u);
    assert_int_equal(zn_pb_next(&r, &f), 1);
    assert_true(f.v == 0x8000000000000001ull);
    /* packed varints cut in the middle of a value */
    const uint8_t pk[] = {0x0a, 0x03, 0x01, 0x82, 0x83};
    r = zn_pb_reader(pk, sizeof pk, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), 1);
    assert_int_equal(zn_pb_scalar_count(&r, &f, ZN_PB_VARINT, "dims"), -1);
    const uint8_t pk2[] = {0x0a, 0x04, 0x01, 0x82, 0x03, 0x05};
    r = zn_pb_reader(pk2, sizeof pk2, 0, "T");
    assert_int_equal(zn_pb_next(&r, &f), 1);
    assert_int_equal(zn_pb_scalar_count(&r, &f, ZN_PB_VARINT, "dims"), 3);
    uint64_t v[3];
    assert_int_equal(zn_pb_scalar_get(&r, &f, ZN_PB_VARINT, v, 3), ZN_OK);
    assert_true(v[0] == 1 && v[1] == 386 && v[2] == 5);
    /* nesting deeper than the limit */
    zn_pb_field nf = {.num = 1, .wire = ZN_PB_LEN, .data = pk, .len = 0};
    zn_pb deep = zn_pb_reader(pk, 0, 0, "T"), sub;
    deep.depth = ZN_PB_MAX_DEPTH;
    assert_int_equal(zn_pb_sub(&deep, &nf, "X", &sub), ZN_ERR_MODEL_FORMAT);
}

/* ModelProto buffers written by hand: the importer must fail cleanly with a useful message. */
static void test_onnx_handwritten(void **state) {
    (void)state;
    zn_graph *g = (zn_graph *)1;
    /* graph (#7) sent as a varint: wrong wire type */
    const uint8_t wrong[] = {0x08, 0x08, 0x38, 0x01};
    assert_int_equal(zn_graph_from_onnx_buffer(wrong, sizeof wrong, NULL, NULL, &g), ZN_ERR_MODEL_FORMAT);
    assert_null(g);
    assert_non_null(strstr(zn_last_error()->message, "graph"));
    assert_non_null(strstr(zn_last_error()->message, "wire type varint"));
    /* empty, no graph, no opset */
    assert_int_equal(zn_graph_from_onnx_buffer("", 0, NULL, NULL, &g), ZN_ERR_MODEL_FORMAT);
    const uint8_t nograph[] = {0x08, 0x08};
    assert_int_equal(zn_graph_from_onnx_buffer(nograph, sizeof nograph, NULL, NULL, &g), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "not an ONNX model"));
    const uint8_t noopset[] = {0x08, 0x08, 0x3a, 0x00};
    assert_int_equal(zn_graph_from_onnx_buffer(noopset, sizeof noopset, NULL, NULL, &g), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "opset"));
    /* a graph with no outputs */
    const uint8_t noout[] = {0x08, 0x08, 0x3a, 0x00, 0x42, 0x02, 0x10, 0x0d};
    assert_int_equal(zn_graph_from_onnx_buffer(noout, sizeof noout, NULL, NULL, &g), ZN_ERR_INVALID_GRAPH);
    /* found by fuzz_onnx: attribute 'mode' declared STRING with no s field (reads as "") */
    static const uint8_t no_s[] = {
        0x08, 0x08, 0x12, 0x0f, 0x7a, 0x65, 0x6e, 0x69, 0x74, 0x68, 0x2d, 0x66, 0x69, 0x78, 0x74, 0x75,
        0x72, 0x65, 0x73, 0x1a, 0x01, 0x31, 0x3a, 0x89, 0x01, 0x0a, 0x22, 0x0a, 0x01, 0x78, 0x0a, 0x01,
        0x70, 0x12, 0x01, 0x79, 0x22, 0x03, 0x50, 0x61, 0x64, 0x2a, 0x12, 0x0a, 0x04, 0x6d, 0x6f, 0x64,
        0x65, 0x2a, 0x07, 0x72, 0x65, 0x66, 0x6c, 0x65, 0x63, 0x74, 0xa0, 0x01, 0x03, 0x12, 0x0e, 0x6f,
        0x70, 0x5f, 0x70, 0x61, 0x64, 0x5f, 0x72, 0x65, 0x66, 0x6c, 0x65, 0x63, 0x74, 0x2a, 0x29, 0x08,
        0x04, 0x10, 0x07, 0x42, 0x01, 0x70, 0x4a, 0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5a, 0x13, 0x0a, 0x01, 0x78, 0x12, 0x0e, 0x0a,
        0x0c, 0x08, 0x01, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x02, 0x0a, 0x02, 0x08, 0x03, 0x62, 0x13, 0x0a,
        0x01, 0x79, 0x12, 0x0e, 0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08, 0x0a, 0x02, 0x08, 0x04, 0x0a, 0x02,
        0x08, 0x07, 0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d,
    };
    assert_int_equal(zn_graph_from_onnx_buffer(no_s, sizeof no_s, NULL, NULL, &g), ZN_OK);
    assert_string_equal(zn_attrs_string(g->nodes[0].attrs, g->nodes[0].n_attrs, "mode", "?"), "");
    zn_graph_free(g);
    /* a size limit below the buffer's size */
    zn_onnx_options opt = {.max_bytes = 4};
    assert_int_equal(zn_graph_from_onnx_buffer(noout, sizeof noout, NULL, &opt, &g), ZN_ERR_INVALID_ARGUMENT);
    /* a tensor whose dims claim 2^40 elements but carry 4 bytes of raw data */
    zn_pb_buf t = {0};
    zn_pb_put_uint(&t, 1, (uint64_t)1 << 20);
    zn_pb_put_uint(&t, 1, (uint64_t)1 << 20);
    zn_pb_put_uint(&t, 2, 1);
    zn_pb_put_string(&t, 8, "w");
    zn_pb_put_bytes(&t, 9, "abcd", 4);
    zn_pb gr = zn_pb_reader(t.data, t.len, 0, "TensorProto");
    zn_tensor_file tf;
    assert_int_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "raw_data has 4 bytes"));
    assert_null(tf.data);
    zn_pb_buf_free(&t);
    /* 2^31 x 2^31 elements: caught as too large before any size arithmetic overflows */
    zn_pb_put_uint(&t, 1, (uint64_t)1 << 31);
    zn_pb_put_uint(&t, 1, (uint64_t)1 << 31);
    zn_pb_put_uint(&t, 2, 1);
    zn_pb_put_bytes(&t, 9, "abcd", 4);
    gr = zn_pb_reader(t.data, t.len, 0, "TensorProto");
    assert_int_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "large"));
    zn_pb_buf_free(&t);
    /* a negative dim (10-byte varint) and rank 9 */
    for (int k = 0; k < 9; k++) zn_pb_put_uint(&t, 1, k == 0 ? (uint64_t)-5 : 1);
    gr = zn_pb_reader(t.data, t.len, 0, "TensorProto");
    assert_int_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "-5"));
    zn_pb_buf_free(&t);
    for (int k = 0; k < 9; k++) zn_pb_put_uint(&t, 1, 1);
    gr = zn_pb_reader(t.data, t.len, 0, "TensorProto");
    assert_int_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_ERR_UNSUPPORTED);
    assert_non_null(strstr(zn_last_error()->message, "ZN_MAX_RANK"));
    zn_pb_buf_free(&t);
    /* found by fuzz_onnx: external data claiming 1.4e10 elements must fail before any
     * allocation of that size (no base directory here) */
    static const uint8_t ext_huge[] = {
        0x10, 0x0b, 0x0a, 0x06, 0x01, 0x6f, 0x6a, 0x66, 0x66, 0x73, 0x65, 0x74,
        0x12, 0x01, 0x30, 0x6a, 0x0d, 0x0a, 0x06, 0x6c, 0x65, 0x6e, 0x67, 0x74,
        0x68, 0x12, 0x03, 0x31, 0x32, 0x38, 0x70, 0x01, 0x2a, 0x02, 0x08, 0x48,
    };
    gr = zn_pb_reader(ext_huge, sizeof ext_huge, 0, "TensorProto");
    assert_int_not_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_OK);
    assert_null(tf.data);
    /* typed int64_data, unpacked (one field per value) and packed, mixed */
    zn_pb_put_uint(&t, 1, 3);
    zn_pb_put_uint(&t, 2, 7);
    zn_pb_put_uint(&t, 7, (uint64_t)-2);
    {
        zn_pb_buf pk = {0};
        zn_pb_put_varint(&pk, 300);
        zn_pb_put_varint(&pk, 5);
        zn_pb_put_bytes(&t, 7, pk.data, pk.len);
        zn_pb_buf_free(&pk);
    }
    gr = zn_pb_reader(t.data, t.len, 0, "TensorProto");
    assert_int_equal(zn_tensor_decode(&gr, NULL, "initializer", &tf, NULL), ZN_OK);
    assert_int_equal(tf.dtype, ZN_I64);
    assert_true(((int64_t *)tf.data)[0] == -2 && ((int64_t *)tf.data)[1] == 300 &&
                ((int64_t *)tf.data)[2] == 5);
    zn_tensor_file_free(&tf);
    zn_pb_buf_free(&t);
}

/* ---- tensor files ------------------------------------------------------------------------ */

static void test_tensor_roundtrip(void **state) {
    (void)state;
    tu_rng r = tu_rng_new(tu_seed() + 1);
    char pb[512], npy[512];
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = P_tmpdir;
    snprintf(pb, sizeof pb, "%s/zn_test_onnx_%d.pb", tmp, (int)getpid());
    snprintf(npy, sizeof npy, "%s/zn_test_onnx_%d.npy", tmp, (int)getpid());
    const zn_dtype dts[] = {ZN_F32, ZN_F16, ZN_BF16, ZN_I64, ZN_I32, ZN_BOOL};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        zn_tensor_file t;
        memset(&t, 0, sizeof t);
        snprintf(t.name, sizeof t.name, "t%zu", k);
        t.dtype = dts[k];
        t.rank = 1 + (int)(tu_next(&r) % 4);
        for (int i = 0; i < t.rank; i++) t.dims[i] = 1 + (int64_t)(tu_next(&r) % 5);
        size_t bytes = zn_tensor_file_bytes(&t);
        t.data = malloc(bytes);
        for (size_t i = 0; i < bytes; i++) ((uint8_t *)t.data)[i] = (uint8_t)tu_next(&r);
        if (t.dtype == ZN_BOOL)
            for (size_t i = 0; i < bytes; i++) ((uint8_t *)t.data)[i] &= 1;
        if (t.dtype == ZN_F32) /* keep floats finite so NaN payloads don't matter */
            for (size_t i = 0; i < bytes / 4; i++) ((float *)t.data)[i] = tu_uniform(&r, -9, 9);
        assert_int_equal(zn_tensor_write_pb(pb, &t), ZN_OK);
        zn_tensor_file u;
        assert_int_equal(zn_tensor_read_pb(pb, &u), ZN_OK);
        assert_int_equal(u.dtype, t.dtype);
        assert_int_equal(u.rank, t.rank);
        assert_memory_equal(u.dims, t.dims, sizeof(int64_t) * (size_t)t.rank);
        assert_memory_equal(u.data, t.data, bytes);
        assert_string_equal(u.name, t.name);
        zn_tensor_file_free(&u);
        if (t.dtype != ZN_BF16) {
            assert_int_equal(zn_tensor_write_npy(npy, &t), ZN_OK);
            assert_int_equal(zn_tensor_read_npy(npy, &u), ZN_OK);
            assert_int_equal(u.dtype, t.dtype);
            assert_int_equal(u.rank, t.rank);
            assert_memory_equal(u.dims, t.dims, sizeof(int64_t) * (size_t)t.rank);
            assert_memory_equal(u.data, t.data, bytes);
            zn_tensor_file_free(&u);
        }
        zn_tensor_file_free(&t);
    }
    /* a .npy that is cut short or has a bad header */
    FILE *f = fopen(npy, "wb");
    fputs("\x93NUMPY\x01\x00\x30\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", f);
    fclose(f);
    zn_tensor_file u;
    assert_int_equal(zn_tensor_read_npy(npy, &u), ZN_ERR_MODEL_FORMAT);
    assert_null(u.data);
    f = fopen(npy, "wb");
    fputs("not numpy", f);
    fclose(f);
    assert_int_equal(zn_tensor_read_npy(npy, &u), ZN_ERR_MODEL_FORMAT);
    assert_int_equal(zn_tensor_read_pb("/nonexistent/x.pb", &u), ZN_ERR_IO);
    unlink(pb);
    unlink(npy);
}

static void test_tensor_fixture_pb(void **state) {
    (void)state;
    char p[512];
    zn_tensor_file t;
    assert_int_equal(zn_tensor_read_pb(fx_path(p, sizeof p, "onnx/op_argmax/test_data_set_0/output_0.pb"), &t), ZN_OK);
    assert_int_equal(t.dtype, ZN_I64);
    assert_int_equal(t.rank, 2);
    assert_true(t.dims[0] == 2 && t.dims[1] == 4);
    for (int i = 0; i < 8; i++) assert_true(((int64_t *)t.data)[i] >= 0 && ((int64_t *)t.data)[i] < 3);
    zn_tensor_file_free(&t);
    /* a model is not a tensor */
    assert_int_not_equal(zn_tensor_read_pb(fx_path(p, sizeof p, "onnx/op_conv/model.onnx"), &t), ZN_OK);
    assert_null(t.data);
}

/* ---- importer structure ------------------------------------------------------------------ */

static void test_import_structure(void **state) {
    (void)state;
    zn_graph *g = load_case("op_conv");
    const zn_model_meta *m = zn_graph_meta_const(g);
    assert_string_equal(m->producer, "zenith-fixtures");
    assert_int_equal(m->opset, 13);
    assert_int_equal(m->ir_version, 8);
    assert_int_equal(zn_graph_num_inputs(g), 1);
    assert_int_equal(zn_graph_num_outputs(g), 1);
    int c = find_node(g, ZN_OP_CONV);
    assert_true(c >= 0);
    const zn_node *n = &g->nodes[c];
    assert_string_equal(n->name, "conv0");
    assert_int_equal(n->n_inputs, 3);
    int64_t ks[4];
    assert_int_equal(zn_attrs_ints(n->attrs, n->n_attrs, "kernel_shape", ks, 4), 2);
    assert_true(ks[0] == 3 && ks[1] == 3);
    assert_int_equal(zn_attrs_ints(n->attrs, n->n_attrs, "pads", ks, 4), 4);
    assert_int_equal(zn_attrs_find(n->attrs, n->n_attrs, "strides")->type, ZN_ATTR_INTS);
    int w = n->inputs[1];
    assert_non_null(zn_graph_tensor_data(g, w));
    const zn_shape *ws = zn_graph_tensor_shape(g, w);
    assert_int_equal(ws->rank, 4);
    assert_true(ws->dims[0].value == 4 && ws->dims[1].value == 2 && ws->dims[3].value == 3);
    zn_graph_free(g);

    /* attribute kinds: float, string, tensor, int */
    g = load_case("op_leakyrelu");
    n = &g->nodes[find_node(g, ZN_OP_LEAKY_RELU)];
    assert_int_equal(zn_attrs_find(n->attrs, n->n_attrs, "alpha")->type, ZN_ATTR_FLOAT);
    assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "alpha", 0), 0.1f, 1e-7);
    zn_graph_free(g);
    g = load_case("op_pad_reflect");
    n = &g->nodes[find_node(g, ZN_OP_PAD)];
    assert_string_equal(zn_attrs_string(n->attrs, n->n_attrs, "mode", ""), "reflect");
    zn_graph_free(g);
    g = load_case("op_constantofshape");
    n = &g->nodes[find_node(g, ZN_OP_CONSTANT_OF_SHAPE)];
    const zn_attr *a = zn_attrs_find(n->attrs, n->n_attrs, "value");
    assert_non_null(a);
    assert_int_equal(a->type, ZN_ATTR_TENSOR);
    assert_int_equal(a->t->dtype, ZN_F32);
    assert_float_equal(((float *)a->t->data)[0], 2.5f, 0);
    zn_graph_free(g);
    g = load_case("op_gemm");
    n = &g->nodes[find_node(g, ZN_OP_GEMM)];
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "transB", 0), 1);
    assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "beta", 0), 2.0f, 0);
    zn_graph_free(g);

    /* Constant nodes become constants (no Constant node is left) */
    g = load_case("op_constant");
    assert_int_equal(count_nodes(g, ZN_OP_CONSTANT), 0);
    int c3 = zn_graph_find_tensor(g, "c3");
    assert_true(c3 >= 0);
    const int64_t *cv = zn_graph_tensor_data(g, c3);
    assert_true(cv[0] == 12 && cv[1] == 2);
    int c1 = zn_graph_find_tensor(g, "c1");
    assert_int_equal(zn_graph_tensor_shape(g, c1)->rank, 0);
    assert_float_equal(*(float *)zn_graph_tensor_data(g, c1), 0.25f, 0);
    zn_graph_free(g);

    /* symbolic dims: a named one and a fresh one for the dim with neither value nor name */
    g = load_case("symbolic_dims");
    int x = zn_graph_input(g, 0);
    const zn_shape *s = zn_graph_tensor_shape(g, x);
    assert_int_equal(s->rank, 3);
    assert_true(s->dims[0].value < 0 && s->dims[1].value < 0 && s->dims[2].value == 4);
    assert_string_equal(zn_graph_symbol_name(g, s->dims[0].sym), "batch");
    assert_string_equal(zn_graph_symbol_name(g, s->dims[1].sym), "x_dim1");
    zn_graph_free(g);

    /* typed fields and external data give the same kind of constants as raw_data */
    g = load_case("typed_fields");
    int tw = zn_graph_find_tensor(g, "w");
    assert_int_equal(zn_graph_tensor_dtype(g, tw), ZN_F32);
    assert_int_equal(zn_graph_tensor_shape(g, tw)->rank, 2);
    int ts = zn_graph_find_tensor(g, "s");
    assert_true(*(int64_t *)zn_graph_tensor_data(g, ts) == -1);
    zn_graph_free(g);
    g = load_case("external_data");
    int ew = zn_graph_find_tensor(g, "w");
    assert_true(ew >= 0);
    assert_true(zn_graph_tensor_shape(g, ew)->dims[1].value == 8);
    const float *wd = zn_graph_tensor_data(g, ew);
    float sum = 0;
    for (int i = 0; i < 32; i++) sum += fabsf(wd[i]);
    assert_true(sum > 1.0f);
    zn_graph_free(g);

    /* outputs that are an initializer and an input go through an Identity; unused nodes stay */
    g = load_case("output_is_initializer");
    assert_int_equal(zn_graph_num_outputs(g), 3);
    assert_int_equal(g->tensors[zn_graph_output(g, 1)].producer >= 0, 1);
    assert_int_equal(g->nodes[g->tensors[zn_graph_output(g, 1)].producer].op, ZN_OP_IDENTITY);
    assert_string_equal(zn_graph_tensor_name(g, zn_graph_output(g, 1)), "w");
    assert_int_equal(count_nodes(g, ZN_OP_NEG), 1);
    zn_graph_free(g);

    /* initializers listed as inputs (IR 3) are not inputs */
    g = load_case("initializer_as_input");
    assert_int_equal(zn_graph_num_inputs(g), 1);
    assert_string_equal(zn_graph_tensor_name(g, zn_graph_input(g, 0)), "x");
    zn_graph_free(g);
}

static void test_import_opsets(void **state) {
    (void)state;
    /* Softmax axis=1 on a rank-3 input: opset 11 coerces to 2-D, opset 13 is single-axis */
    zn_graph *g = load_case("softmax_axis1_opset11");
    assert_int_equal(count_nodes(g, ZN_OP_FLATTEN), 1);
    assert_int_equal(count_nodes(g, ZN_OP_RESHAPE), 1);
    const zn_node *n = &g->nodes[find_node(g, ZN_OP_SOFTMAX)];
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), -1);
    n = &g->nodes[find_node(g, ZN_OP_FLATTEN)];
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), 1);
    assert_string_equal(zn_graph_tensor_name(g, zn_graph_output(g, 0)), "y");
    zn_graph_free(g);
    g = load_case("softmax_axis1_opset13");
    assert_int_equal(zn_graph_num_nodes(g), 1);
    n = &g->nodes[0];
    assert_int_equal(n->op, ZN_OP_SOFTMAX);
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "axis", -1), 1);
    zn_graph_free(g);
    g = load_case("softmax_last_opset11"); /* axis is the last dim: no rewrite */
    assert_int_equal(zn_graph_num_nodes(g), 1);
    zn_graph_free(g);
    g = load_case("softmax_default_opset11"); /* default axis 1, rank unknown at import */
    assert_int_equal(count_nodes(g, ZN_OP_FLATTEN), 1);
    zn_graph_free(g);
    /* Pad before 11: pads and value become constant inputs */
    g = load_case("op_pad_attr_opset2");
    n = &g->nodes[find_node(g, ZN_OP_PAD)];
    assert_int_equal(n->n_inputs, 3);
    const int64_t *pads = zn_graph_tensor_data(g, n->inputs[1]);
    assert_non_null(pads);
    assert_true(pads[0] == 0 && pads[1] == 1 && pads[2] == 1 && pads[3] == 2);
    assert_float_equal(*(float *)zn_graph_tensor_data(g, n->inputs[2]), 1.5f, 0);
    assert_null(zn_attrs_find(n->attrs, n->n_attrs, "pads"));
    zn_graph_free(g);
    /* Clip before 11 keeps min/max attributes; from 11 they are inputs (an omitted one is -1) */
    g = load_case("clip_attr_opset6");
    n = &g->nodes[find_node(g, ZN_OP_CLIP)];
    assert_int_equal(n->n_inputs, 1);
    assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "min", 0), -0.5f, 0);
    assert_float_equal(zn_attrs_float(n->attrs, n->n_attrs, "max", 0), 0.75f, 0);
    zn_graph_free(g);
    g = load_case("clip_max_only_opset13");
    n = &g->nodes[find_node(g, ZN_OP_CLIP)];
    assert_int_equal(n->n_inputs, 3);
    assert_int_equal(n->inputs[1], -1);
    zn_graph_free(g);
    /* axes as attributes before 13/18, inputs after: both pass through */
    g = load_case("op_split_attr_opset11");
    n = &g->nodes[find_node(g, ZN_OP_SPLIT)];
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(n->n_outputs, 2);
    assert_int_equal(zn_attrs_find(n->attrs, n->n_attrs, "split")->type, ZN_ATTR_INTS);
    zn_graph_free(g);
    g = load_case("op_split_num_outputs_opset18");
    n = &g->nodes[find_node(g, ZN_OP_SPLIT)];
    assert_int_equal(zn_attrs_int(n->attrs, n->n_attrs, "num_outputs", 0), 3);
    assert_int_equal(zn_graph_meta_const(g)->opset, 18);
    zn_graph_free(g);
    g = load_case("op_squeeze_input_opset13");
    assert_int_equal(g->nodes[find_node(g, ZN_OP_SQUEEZE)].n_inputs, 2);
    zn_graph_free(g);
    g = load_case("op_reducemean_input_opset18");
    assert_int_equal(g->nodes[find_node(g, ZN_OP_REDUCE_MEAN)].n_inputs, 2);
    zn_graph_free(g);
    g = load_case("op_reducesum_attr_opset11");
    n = &g->nodes[find_node(g, ZN_OP_REDUCE_SUM)];
    assert_int_equal(n->n_inputs, 1);
    assert_int_equal(zn_attrs_ints(n->attrs, n->n_attrs, "axes", (int64_t[4]){0}, 4), 2);
    zn_graph_free(g);
    g = load_case("op_gelu_opset20");
    assert_int_equal(count_nodes(g, ZN_OP_GELU), 1);
    zn_graph_free(g);
}

/* ---- malformed models -------------------------------------------------------------------- */

typedef struct bad_case {
    const char *file;
    zn_status status;
    const char *words[4]; /* each must appear in the message */
} bad_case;

static void test_import_malformed(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"truncated.onnx", ZN_ERR_MODEL_FORMAT, {"at byte", "truncated"}},
        {"not_onnx.onnx", ZN_ERR_MODEL_FORMAT, {"at byte"}},
        {"unknown_op.onnx", ZN_ERR_UNSUPPORTED, {"Softsign", "act1", "opset 13", "nearest supported op: "}},
        {"custom_domain.onnx", ZN_ERR_UNSUPPORTED, {"FusedGelu", "com.microsoft", "fg"}},
        {"missing_initializer.onnx", ZN_ERR_INVALID_GRAPH, {"'W'", "mm", "missing initializer"}},
        {"cycle.onnx", ZN_ERR_INVALID_GRAPH, {"cycle"}},
        {"negative_dim.onnx", ZN_ERR_MODEL_FORMAT, {"-3", "'x'"}},
        {"double_input.onnx", ZN_ERR_UNSUPPORTED, {"DOUBLE", "float32"}},
        {"rank9.onnx", ZN_ERR_UNSUPPORTED, {"ZN_MAX_RANK"}},
        {"duplicate_producer.onnx", ZN_ERR_INVALID_GRAPH, {"'y'", "r1", "r2"}},
        {"raw_data_short.onnx", ZN_ERR_MODEL_FORMAT, {"'b'", "20 bytes"}},
        {"sparse_constant.onnx", ZN_ERR_UNSUPPORTED, {"sparse_value"}},
        {"external_escape.onnx", ZN_ERR_MODEL_FORMAT, {"..", "'w'"}},
        {"external_missing/model.onnx", ZN_ERR_IO, {"weights.bin", "missing"}},
        {"external_short/model.onnx", ZN_ERR_IO, {"weights.bin", "too short"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256], p[512];
        snprintf(rel, sizeof rel, "onnx_bad/%s", cases[i].file);
        zn_graph *g = (zn_graph *)1;
        zn_status st = zn_graph_from_onnx(fx_path(p, sizeof p, rel), NULL, &g);
        const char *msg = zn_last_error()->message;
        if (st != cases[i].status) print_error("%s: got %s: %s\n", cases[i].file, zn_status_name(st), msg);
        assert_int_equal(st, cases[i].status);
        assert_null(g);
        for (int k = 0; k < 4 && cases[i].words[k]; k++) {
            if (!strstr(msg, cases[i].words[k]))
                print_error("%s: message lacks '%s': %s\n", cases[i].file, cases[i].words[k], msg);
            assert_non_null(strstr(msg, cases[i].words[k]));
        }
    }
    /* the unsupported-op message names the nearest op the table really has */
    char p[512];
    zn_graph *g;
    zn_graph_from_onnx(fx_path(p, sizeof p, "onnx_bad/unknown_op.onnx"), NULL, &g);
    char want[96];
    snprintf(want, sizeof want, "nearest supported op: %s", zn_op_nearest_name("Softsign"));
    assert_non_null(strstr(zn_last_error()->message, want));
    assert_string_equal(zn_last_error()->node, "act1");
    /* external data from a buffer with no base directory */
    void *buf;
    size_t len;
    assert_int_equal(zn_file_read_all(fx_path(p, sizeof p, "onnx/external_data/model.onnx"), 0, &buf, &len), ZN_OK);
    assert_int_equal(zn_graph_from_onnx_buffer(buf, len, NULL, NULL, &g), ZN_ERR_UNSUPPORTED);
    assert_non_null(strstr(zn_last_error()->message, "weights.bin"));
    free(buf);
}

/* Seeded random mutations and every truncation of valid models: the loader returns (OK or an
 * error), never crashes; ASan/UBSan runs make this a real check. */
static void test_import_mutations(void **state) {
    (void)state;
    static const char *models[] = {"onnx/torch_tiny_block/model.onnx", "onnx/op_constant/model.onnx",
                                   "onnx/softmax_axis1_opset11/model.onnx", "onnx/op_pad_attr_opset2/model.onnx"};
    tu_rng r = tu_rng_new(tu_seed() + 7);
    int ok = 0, failed = 0;
    zn_log_level lvl = zn_log_get_level();
    zn_log_set_level(ZN_LOG_ERROR); /* mutated attribute names draw warnings */
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        char p[512];
        void *buf;
        size_t len;
        if (zn_file_read_all(fx_path(p, sizeof p, models[m]), 0, &buf, &len) != ZN_OK) {
            print_error("missing fixture %s\n", models[m]);
            fail();
        }
        uint8_t *mut = malloc(len);
        for (size_t cut = 0; cut < len; cut += 1 + len / 300) {
            zn_graph *g = NULL;
            zn_status st = zn_graph_from_onnx_buffer(buf, cut, NULL, NULL, &g);
            assert_true(st != ZN_OK || g != NULL);
            st == ZN_OK ? ok++ : failed++;
            zn_graph_free(g);
        }
        for (int it = 0; it < 300; it++) {
            memcpy(mut, buf, len);
            int nflip = 1 + (int)(tu_next(&r) % 4);
            for (int k = 0; k < nflip; k++) {
                size_t at = tu_next(&r) % len;
                switch (tu_next(&r) % 3) {
                case 0: mut[at] ^= (uint8_t)(1u << (tu_next(&r) % 8)); break;
                case 1: mut[at] = (uint8_t)tu_next(&r); break;
                default: mut[at] = (uint8_t)(tu_next(&r) % 2 ? 0xff : 0x80); break;
                }
            }
            zn_graph *g = NULL;
            zn_status st = zn_graph_from_onnx_buffer(mut, len, NULL, NULL, &g);
            assert_true(st != ZN_OK || g != NULL);
            if (st != ZN_OK) assert_true(zn_last_error()->message[0] != '\0');
            st == ZN_OK ? ok++ : failed++;
            zn_graph_free(g);
        }
        free(mut);
        free(buf);
    }
    zn_log_set_level(lvl);
    assert_true(failed > 0); /* truncations must be caught */
    (void)ok;
}

/* ---- numerics: every fixture on the reference plan vs its test_data_set_0 ---------------- */

/* Runs one fixture case; returns 0 when the outputs match, else writes why into err. */
static int run_case(const char *dir, const char *name, char *err, size_t cap, bool *seen) {
    char p[1024];
    zn_graph *g = NULL;
    zn_plan *plan = NULL;
    zn_session *s = NULL;
    zn_tensor_file in[8], ref[8];
    zn_view iv[8], ov[8];
    int n_in = 0, n_ref = 0, rc = 1;
    memset(in, 0, sizeof in);
    memset(ref, 0, sizeof ref);
    snprintf(p, sizeof p, "%s/%s/model.onnx", dir, name);
    if (zn_graph_from_onnx(p, NULL, &g) != ZN_OK) {
        snprintf(err, cap, "load: %s", zn_last_error()->message);
        goto done;
    }
    for (int i = 0; i < g->n_nodes; i++) seen[g->nodes[i].op] = true;
    for (; n_in < zn_graph_num_inputs(g) && n_in < 8; n_in++) {
        snprintf(p, sizeof p, "%s/%s/test_data_set_0/input_%d.pb", dir, name, n_in);
        if (zn_tensor_read_pb(p, &in[n_in]) != ZN_OK ||
            zn_graph_bind_input_shape(g, zn_graph_tensor_name(g, zn_graph_input(g, n_in)),
                                      in[n_in].rank, in[n_in].dims) != ZN_OK) {
            snprintf(err, cap, "input %d: %s", n_in, zn_last_error()->message);
            n_in++;
            goto done;
        }
        iv[n_in] = tu_view(in[n_in].dtype, in[n_in].data, in[n_in].rank, in[n_in].dims);
    }
    for (; n_ref < zn_graph_num_outputs(g) && n_ref < 8; n_ref++) {
        snprintf(p, sizeof p, "%s/%s/test_data_set_0/output_%d.pb", dir, name, n_ref);
        if (zn_tensor_read_pb(p, &ref[n_ref]) != ZN_OK) {
            snprintf(err, cap, "output %d: %s", n_ref, zn_last_error()->message);
            n_ref++;
            goto done;
        }
    }
    zn_compile_config cfg = zn_compile_config_default();
    cfg.reference = true;
    cfg.threads = 1;
    cfg.backend = ZN_BACKEND_CPU;
    if (zn_compile(g, &cfg, &plan) != ZN_OK || zn_session_new(plan, &s) != ZN_OK) {
        snprintf(err, cap, "compile: %s %s%s%s", zn_last_error()->message, zn_last_error()->node[0] ? "[node " : "",
                 zn_last_error()->node, zn_last_error()->node[0] ? "]" : "");
        goto done;
    }
    memset(ov, 0, sizeof ov);
    if (zn_session_run(s, iv, n_in, ov, n_ref) != ZN_OK) {
        snprintf(err, cap, "run: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
        goto done;
    }
    for (int o = 0; o < n_ref; o++) {
        zn_view want = tu_view(ref[o].dtype, ref[o].data, ref[o].rank, ref[o].dims);
        if (ov[o].rank != want.rank || memcmp(ov[o].dims, want.dims, sizeof(int64_t) * (size_t)want.rank)) {
            snprintf(err, cap, "output %d: shape differs (rank %d vs %d)", o, ov[o].rank, want.rank);
            goto done;
        }
        if (ov[o].dtype != want.dtype) {
            snprintf(err, cap, "output %d: dtype %s, want %s", o, zn_dtype_name(ov[o].dtype),
                     zn_dtype_name(want.dtype));
            goto done;
        }
        double atol = want.dtype == ZN_F16 || want.dtype == ZN_BF16 ? 1e-2 : 1e-4;
        double rtol = want.dtype == ZN_F16 || want.dtype == ZN_BF16 ? 1e-2 : 1e-3;
        int64_t ne = zn_view_numel(&want);
        for (int64_t i = 0; i < ne; i++) {
            double a = tu_elem(ov[o].data, ov[o].dtype, i), b = tu_elem(want.data, want.dtype, i);
            if (isnan(a) != isnan(b) || fabs(a - b) > atol + rtol * fabs(b)) {
                snprintf(err, cap, "output %d index %lld: got %.7g, want %.7g", o, (long long)i, a, b);
                goto done;
            }
        }
    }
    rc = 0;
done:
    zn_session_free(s);
    zn_plan_free(plan);
    zn_graph_free(g);
    for (int i = 0; i < n_in; i++) zn_tensor_file_free(&in[i]);
    for (int i = 0; i < n_ref; i++) zn_tensor_file_free(&ref[i]);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_fixtures_run(void **state) {
    (void)state;
    char dir[512];
    fx_path(dir, sizeof dir, "onnx");
    DIR *d = opendir(dir);
    if (!d) {
        print_error("no fixtures at %s (run from the repo root or set ZN_FIXTURES)\n", dir);
        fail();
    }
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    int bad = 0;
    bool seen[ZN_OP_COUNT] = {false};
    for (int i = 0; i < n; i++) {
        char err[768] = "";
        if (run_case(dir, names[i], err, sizeof err, seen) != 0) {
            print_error("  %-32s %s\n", names[i], err);
            bad++;
        }
        free(names[i]);
    }
    print_message("[ fixtures ] %d of %d ONNX cases match their reference outputs\n", n - bad, n);
    assert_true(n >= 80);
    assert_int_equal(bad, 0);
    /* every op with an ONNX form is imported by some fixture (Constant nodes become
     * constants; SiLU is not an ONNX op; Zn* are Zenith's fused ops) */
    for (int op = 0; op < ZN_OP_COUNT; op++) {
        const char *nm = zn_op_name((zn_op)op);
        if (op == ZN_OP_CONSTANT || op == ZN_OP_SILU || !strncmp(nm, "Zn", 2)) continue;
        if (!seen[op]) print_error("no fixture imports op %s\n", nm);
        assert_true(seen[op]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_varints),
        cmocka_unit_test(test_pb_malformed),
        cmocka_unit_test(test_onnx_handwritten),
        cmocka_unit_test(test_tensor_roundtrip),
        cmocka_unit_test(test_tensor_fixture_pb),
        cmocka_unit_test(test_import_structure),
        cmocka_unit_test(test_import_opsets),
        cmocka_unit_test(test_import_malformed),
        cmocka_unit_test(test_import_mutations),
        cmocka_unit_test(test_fixtures_run),
    };
    return cmocka_run_group_tests_name("onnx", tests, NULL, NULL);
}
