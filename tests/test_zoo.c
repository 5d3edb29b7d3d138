/* test_zoo.c — the built-in model zoo: registry and look-up errors, the structure of every
 * model (validation, inferred output shapes, exact parameter counts, FLOPs, op counts, names),
 * seeded weights (same seed same bytes, other seed other bytes, init statistics), and running
 * each model: finite, repeatable outputs, concurrent sessions equal to a single one, the MLP
 * and the MNIST CNN against a plain forward pass written here, and BERT's padding mask and
 * GPT-2's causal mask checked by what they must leave unchanged.
 */
#include <pthread.h>

#include "test_util.h"
#include "engine/graph.h"
#include "engine/zenith.h"
#include "suites/zoo.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static zn_graph *build_ok(const char *name, uint64_t seed) {
    zn_zoo_options opt = {seed};
    zn_graph *g = NULL;
    zn_status st = zn_zoo_build(name, &opt, &g);
    if (st != ZN_OK) print_error("building %s: %s\n", name, zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    assert_non_null(g);
    return g;
}

static int64_t numel_of(const zn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i].value;
    return n;
}

/* Elements of float constants, counted here (independently of zn_graph_get_stats); the part
 * whose name ends in `suffix_a` or `suffix_b` goes to *matching. */
static int64_t float_const_elements(const zn_graph *g, const char *suffix_a, const char *suffix_b,
                                    int64_t *matching) {
    int64_t total = 0, m = 0;
    for (int t = 0; t < zn_graph_num_tensors(g); t++) {
        if (!zn_graph_tensor_data(g, t) || zn_graph_tensor_dtype(g, t) != ZN_F32) continue;
        int64_t n = numel_of(zn_graph_tensor_shape(g, t));
        total += n;
        const char *name = zn_graph_tensor_name(g, t);
        size_t ln = strlen(name);
        const char *sfx[2] = {suffix_a, suffix_b};
        for (int k = 0; k < 2; k++) {
            if (!sfx[k]) continue;
            size_t ls = strlen(sfx[k]);
            if (ln >= ls && strcmp(name + ln - ls, sfx[k]) == 0) {
                m += n;
                break;
            }
        }
    }
    if (matching) *matching = m;
    return total;
}

/* 64-bit hash of every constant's name, dtype, shape and bytes. */
static uint64_t weights_hash(const zn_graph *g) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int t = 0; t < zn_graph_num_tensors(g); t++) {
        const void *data = zn_graph_tensor_data(g, t);
        if (!data) continue;
        for (const char *c = zn_graph_tensor_name(g, t); *c; c++)
            h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
        const zn_shape *s = zn_graph_tensor_shape(g, t);
        h = (h ^ (uint64_t)zn_graph_tensor_dtype(g, t)) * 0x100000001b3ull;
        for (int d = 0; d < s->rank; d++) h = (h ^ (uint64_t)s->dims[d].value) * 0x100000001b3ull;
        size_t bytes = (size_t)numel_of(s) * zn_dtype_size(zn_graph_tensor_dtype(g, t));
        const uint8_t *p = data;
        size_t i = 0;
        for (; i + 8 <= bytes; i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            h = (h ^ w) * 0x100000001b3ull;
            h ^= h >> 29;
        }
        for (; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static const float *const_f32(const zn_graph *g, const char *name, int64_t *n) {
    int t = zn_graph_find_tensor(g, name);
    if (t < 0) print_error("no tensor named %s\n", name);
    assert_true(t >= 0);
    assert_int_equal(zn_graph_tensor_dtype(g, t), ZN_F32);
    const float *p = zn_graph_tensor_data(g, t);
    assert_non_null(p);
    if (n) *n = numel_of(zn_graph_tensor_shape(g, t));
    return p;
}

/* ---- expectations per model ---------------------------------------------------------------- */

typedef struct expect_out {
    const char *name;
    int rank;
    int64_t dims[4];
} expect_out;

typedef struct expect_model {
    const char *name;
    const char *inputs[2];
    zn_dtype input_dtype;
    expect_out outs[2];
    int64_t float_elements;   /* float constants of the unfolded graph */
    double flops_lo, flops_hi;/* at the default bindings */
    const char *some_tensors[4];
} expect_model;

static const expect_model expected[] = {
    {"mlp", {"x", NULL}, ZN_F32, {{"probs", 2, {1, 10}}},
     /* 784*512+512 + 512*512+512 + 512*10+10 */
     669706, 1.30e6, 1.45e6, {"fc1.weight", "fc3.bias", "relu2", NULL}},
    {"mnist-cnn", {"image", NULL}, ZN_F32, {{"logits", 2, {1, 10}}},
     /* conv1 32*9+32, conv2 64*32*9+64, fc1 3136*128+128, fc2 128*10+10 */
     421642, 8.4e6, 9.2e6, {"conv1.weight", "conv2.bias", "fc1.weight", "pool2"}},
    {"resnet50", {"image", NULL}, ZN_F32, {{"logits", 2, {1, 1000}}},
     /* torchvision's 25,557,032 learnable + 26,560 BN channels * 2 running stats */
     25557032 + 53120, 7.9e9, 8.8e9,
     {"layer3.2.conv1", "layer4.0.downsample.1.running_var", "layer1.0.bn3.weight", "fc.weight"}},
    {"bert-base", {"input_ids", "attention_mask"}, ZN_I64,
     {{"last_hidden_state", 3, {1, 128, 768}}, {"pooler_output", 2, {1, 768}}},
     /* HF BertModel incl. pooler; the scalars (1, -10000, 8) are Constant nodes, not weights */
     109482240, 21.5e9, 23.5e9,
     {"encoder.layer.0.attention.self.query", "encoder.layer.11.output.LayerNorm.weight",
      "embeddings.position_embeddings.weight", "pooler.dense.weight"}},
    {"gpt2-small", {"input_ids", NULL}, ZN_I64, {{"logits", 3, {1, 128, 50257}}},
     /* HF GPT2LMHeadModel: the LM head is tied to wte, which the graph holds once (the
      * transpose is a node until folding) */
     124439808, 31.0e9, 34.0e9,
     {"transformer.wte.weight", "transformer.h.11.mlp.c_fc.weight", "transformer.h.0.attn.c_attn",
      "transformer.ln_f.bias"}},
};
#define N_EXPECTED ((int)(sizeof expected / sizeof expected[0]))

/* ---- registry ------------------------------------------------------------------------------ */

static void test_registry(void **state) {
    (void)state;
    assert_int_equal(zn_zoo_count(), N_EXPECTED);
    for (int i = 0; i < zn_zoo_count(); i++) {
        const zn_zoo_entry *e = zn_zoo_at(i);
        assert_non_null(e);
        assert_string_equal(e->name, expected[i].name);
        assert_ptr_equal(zn_zoo_find(e->name), e);
        assert_true(e->description && strlen(e->description) > 10);
        assert_true(e->task && *e->task);
        assert_non_null(e->build);
        assert_true(e->n_defaults >= 1 && e->n_defaults <= 4);
        assert_string_equal(e->defaults[0].symbol, "batch");
        for (int j = 0; j < e->n_defaults; j++) assert_true(e->defaults[j].value > 0);
    }
    assert_null(zn_zoo_at(-1));
    assert_null(zn_zoo_at(zn_zoo_count()));
    assert_null(zn_zoo_find("resnet5"));
    assert_null(zn_zoo_find(""));
    assert_null(zn_zoo_find(NULL));
    assert_ptr_equal(zn_zoo_find("ResNet50"), zn_zoo_find("resnet50"));
}

static void test_unknown_name(void **state) {
    (void)state;
    zn_graph *g = (zn_graph *)(uintptr_t)1;
    zn_zoo_options opt = {0};
    assert_int_equal(zn_zoo_build("resnet5", &opt, &g), ZN_ERR_NOT_FOUND);
    assert_null(g);
    const zn_error *e = zn_last_error();
    assert_int_equal(e->status, ZN_ERR_NOT_FOUND);
    assert_non_null(strstr(e->message, "resnet5"));
    assert_non_null(strstr(e->hint, "did you mean resnet50"));
    for (int i = 0; i < zn_zoo_count(); i++) assert_non_null(strstr(e->hint, zn_zoo_at(i)->name));

    g = (zn_graph *)(uintptr_t)1;
    assert_int_equal(zn_zoo_build_bound("gtp2-smal", NULL, &g), ZN_ERR_NOT_FOUND);
    assert_null(g);
    assert_non_null(strstr(zn_last_error()->hint, "did you mean gpt2-small"));

    /* nothing near: the list, but no guess */
    assert_int_equal(zn_zoo_build("qqqqqqqqqqqqqqqqqqqq", NULL, &g), ZN_ERR_NOT_FOUND);
    assert_null(strstr(zn_last_error()->hint, "did you mean"));
    assert_non_null(strstr(zn_last_error()->hint, "bert-base"));
}

/* ---- structure ----------------------------------------------------------------------------- */

static void check_structure(const expect_model *x) {
    const zn_zoo_entry *e = zn_zoo_find(x->name);
    assert_non_null(e);
    zn_graph *g = build_ok(x->name, 0);
    assert_string_equal(zn_graph_name(g), x->name);

    /* inputs: named, dtype, batch (and seq) symbolic */
    int n_in = x->inputs[1] ? 2 : 1;
    assert_int_equal(zn_graph_num_inputs(g), n_in);
    for (int i = 0; i < n_in; i++) {
        int t = zn_graph_input(g, i);
        assert_string_equal(zn_graph_tensor_name(g, t), x->inputs[i]);
        assert_int_equal(zn_graph_tensor_dtype(g, t), x->input_dtype);
        const zn_shape *s = zn_graph_tensor_shape(g, t);
        assert_true(s->dims[0].value < 0 && s->dims[0].sym >= 0);
        assert_string_equal(zn_graph_symbol_name(g, s->dims[0].sym), "batch");
        if (x->input_dtype == ZN_I64) {
            assert_true(s->dims[1].value < 0);
            assert_string_equal(zn_graph_symbol_name(g, s->dims[1].sym), "seq");
        }
    }
    /* every default names a symbol the graph has */
    for (int j = 0; j < e->n_defaults; j++) {
        bool found = false;
        for (int s = 0; s < zn_graph_num_symbols(g); s++)
            found |= strcmp(zn_graph_symbol_name(g, s), e->defaults[j].symbol) == 0;
        assert_true(found);
    }
    assert_int_equal(zn_graph_validate(g), ZN_OK);

    /* node names: given by the builder (never the "<Op>_<id>" fallback) and unique */
    for (int i = 0; i < g->n_nodes; i++) {
        const char *ni = g->nodes[i].name;
        size_t lop = strlen(zn_op_name(g->nodes[i].op));
        bool fallback = strncmp(ni, zn_op_name(g->nodes[i].op), lop) == 0 && ni[lop] == '_' &&
                        strspn(ni + lop + 1, "0123456789") == strlen(ni + lop + 1);
        assert_false(fallback);
        for (int j = i + 1; j < g->n_nodes; j++) {
            if (strcmp(ni, g->nodes[j].name) == 0) print_error("duplicate node name %s\n", ni);
            assert_true(strcmp(ni, g->nodes[j].name) != 0);
        }
    }
    for (int k = 0; k < 4 && x->some_tensors[k]; k++) {
        if (zn_graph_find_tensor(g, x->some_tensors[k]) < 0)
            print_error("%s has no tensor %s\n", x->name, x->some_tensors[k]);
        assert_true(zn_graph_find_tensor(g, x->some_tensors[k]) >= 0);
    }

    /* parameters: exact, counted here and by the engine */
    int64_t running = 0;
    int64_t total = float_const_elements(g, ".running_mean", ".running_var", &running);
    assert_int_equal(total, x->float_elements);
    zn_graph_stats st;
    assert_int_equal(zn_graph_get_stats(g, &st), ZN_OK);
    assert_int_equal(st.params, x->float_elements);
    assert_int_equal(st.param_bytes, 4 * x->float_elements);
    if (strcmp(x->name, "resnet50") == 0) {
        assert_int_equal(running, 53120);
        assert_int_equal(total - running, 25557032);
        assert_int_equal(st.node_count_by_op[ZN_OP_CONV], 53);
        assert_int_equal(st.node_count_by_op[ZN_OP_BATCH_NORM], 53);
        assert_int_equal(st.node_count_by_op[ZN_OP_ADD], 16);
        assert_int_equal(st.node_count_by_op[ZN_OP_RELU], 49);
        assert_int_equal(st.node_count_by_op[ZN_OP_GEMM], 1);
    } else if (strcmp(x->name, "bert-base") == 0) {
        assert_int_equal(st.node_count_by_op[ZN_OP_LAYER_NORM], 25);
        assert_int_equal(st.node_count_by_op[ZN_OP_SOFTMAX], 12);
        assert_int_equal(st.node_count_by_op[ZN_OP_GELU], 12);
        assert_int_equal(st.node_count_by_op[ZN_OP_MATMUL], 12 * 8);
        assert_int_equal(st.node_count_by_op[ZN_OP_TANH], 1);
    } else if (strcmp(x->name, "gpt2-small") == 0) {
        assert_int_equal(st.node_count_by_op[ZN_OP_LAYER_NORM], 25);
        assert_int_equal(st.node_count_by_op[ZN_OP_SPLIT], 12);
        assert_int_equal(st.node_count_by_op[ZN_OP_GELU], 12);
        assert_int_equal(st.node_count_by_op[ZN_OP_MATMUL], 12 * 6 + 1);
        assert_int_equal(st.node_count_by_op[ZN_OP_TRILU], 1);
    }

    /* defaults bound + inference with folding: the outputs' shapes and the FLOPs */
    for (int j = 0; j < e->n_defaults; j++)
        assert_int_equal(zn_graph_bind_symbol(g, e->defaults[j].symbol, e->defaults[j].value),
                         ZN_OK);
    zn_status s = zn_graph_infer_shapes(g, true);
    if (s != ZN_OK)
        print_error("%s: infer: %s (node %s)\n", x->name, zn_last_error()->message,
                    zn_last_error()->node);
    assert_int_equal(s, ZN_OK);
    int n_out = x->outs[1].name ? 2 : 1;
    assert_int_equal(zn_graph_num_outputs(g), n_out);
    for (int o = 0; o < n_out; o++) {
        int t = zn_graph_output(g, o);
        assert_string_equal(zn_graph_tensor_name(g, t), x->outs[o].name);
        assert_int_equal(zn_graph_tensor_dtype(g, t), ZN_F32);
        const zn_shape *sh = zn_graph_tensor_shape(g, t);
        assert_int_equal(sh->rank, x->outs[o].rank);
        for (int d = 0; d < sh->rank; d++) assert_int_equal(sh->dims[d].value, x->outs[o].dims[d]);
    }
    assert_int_equal(zn_graph_get_stats(g, &st), ZN_OK);
    fprintf(stderr, "[ zoo      ] %-10s params %lld (unfolded), %.4g GFLOPs at defaults, "
            "%d nodes after folding\n",
            x->name, (long long)x->float_elements, st.flops / 1e9, st.nodes);
    assert_true(st.flops >= x->flops_lo && st.flops <= x->flops_hi);
    zn_graph_free(g);

    /* zn_zoo_build_bound binds every default */
    assert_int_equal(zn_zoo_build_bound(x->name, NULL, &g), ZN_OK);
    for (int i = 0; i < zn_graph_num_inputs(g); i++)
        assert_true(zn_shape_is_concrete(zn_graph_tensor_shape(g, zn_graph_input(g, i))));
    zn_graph_free(g);
}

static void test_structure_mlp(void **state) { (void)state; check_structure(&expected[0]); }
static void test_structure_mnist_cnn(void **state) { (void)state; check_structure(&expected[1]); }
static void test_structure_resnet50(void **state) { (void)state; check_structure(&expected[2]); }
static void test_structure_bert(void **state) { (void)state; check_structure(&expected[3]); }
static void test_structure_gpt2(void **state) { (void)state; check_structure(&expected[4]); }

/* ResNet at other resolutions: height and width are free symbols. */
static void test_resnet_sizes(void **state) {
    (void)state;
    zn_graph *g = build_ok("resnet50", 0);
    assert_int_equal(zn_graph_bind_symbol(g, "batch", 2), ZN_OK);
    assert_int_equal(zn_graph_bind_symbol(g, "height", 64), ZN_OK);
    assert_int_equal(zn_graph_bind_symbol(g, "width", 96), ZN_OK);
    assert_int_equal(zn_graph_validate(g), ZN_OK);
    assert_int_equal(zn_graph_infer_shapes(g, true), ZN_OK);
    const zn_shape *s = zn_graph_tensor_shape(g, zn_graph_output(g, 0));
    assert_int_equal(s->dims[0].value, 2);
    assert_int_equal(s->dims[1].value, 1000);
    /* the last stage runs at 1/32 of the input: 2x3 */
    int t = zn_graph_find_tensor(g, "layer4.2.relu3");
    assert_true(t >= 0);
    s = zn_graph_tensor_shape(g, t);
    assert_int_equal(s->rank, 4);
    assert_int_equal(s->dims[1].value, 2048);
    assert_int_equal(s->dims[2].value, 2);
    assert_int_equal(s->dims[3].value, 3);
    zn_graph_free(g);
}

/* ---- weights ------------------------------------------------------------------------------- */

static void test_seeds(void **state) {
    (void)state;
    for (int i = 0; i < zn_zoo_count(); i++) {
        const char *name = zn_zoo_at(i)->name;
        zn_graph *a = build_ok(name, 42);
        uint64_t ha = weights_hash(a);
        zn_graph_free(a);
        zn_graph *b = build_ok(name, 0); /* 0 means 42 */
        uint64_t hb = weights_hash(b);
        zn_graph_free(b);
        zn_graph *c = build_ok(name, 7);
        uint64_t hc = weights_hash(c);
        assert_true(ha == hb);
        assert_true(ha != hc);
        zn_graph_free(c);
    }
    /* byte-for-byte on a small model, and a different seed changes every weight tensor */
    zn_graph *a = build_ok("mnist-cnn", 5), *b = build_ok("mnist-cnn", 5);
    zn_graph *c = build_ok("mnist-cnn", 6);
    assert_int_equal(zn_graph_num_tensors(a), zn_graph_num_tensors(b));
    for (int t = 0; t < zn_graph_num_tensors(a); t++) {
        const void *pa = zn_graph_tensor_data(a, t);
        if (!pa || zn_graph_tensor_dtype(a, t) != ZN_F32) continue;
        size_t bytes = (size_t)numel_of(zn_graph_tensor_shape(a, t)) * 4;
        assert_memory_equal(pa, zn_graph_tensor_data(b, t), bytes);
        assert_memory_not_equal(pa, zn_graph_tensor_data(c, t), bytes);
    }
    zn_graph_free(a);
    zn_graph_free(b);
    zn_graph_free(c);
}

static void check_moments(const float *p, int64_t n, double mean, double sd, double tol) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += p[i], s2 += (double)p[i] * p[i];
    double m = s / (double)n, v = s2 / (double)n - m * m;
    if (fabs(m - mean) > tol * sd + 1e-9 || fabs(sqrt(v) - sd) > tol * sd)
        print_error("mean %g sd %g, want %g %g\n", m, sqrt(v), mean, sd);
    assert_true(fabs(m - mean) <= tol * sd + 1e-9);
    assert_true(fabs(sqrt(v) - sd) <= tol * sd);
}

/* Init distributions: He-normal convs, N(0, 0.02) transformer weights, LN 1/0, BN near identity. */
static void test_init_statistics(void **state) {
    (void)state;
    uint64_t seed = tu_seed() | 1;
    int64_t n;
    zn_graph *g = build_ok("resnet50", seed);
    const float *w = const_f32(g, "layer3.0.conv2.weight", &n);   // (256, 256, 3, 3)
    assert_int_equal(n, 256 * 256 * 9);
    check_moments(w, n, 0.0, sqrt(2.0 / (256 * 9)), 0.02);
    w = const_f32(g, "conv1.weight", &n);
    check_moments(w, n, 0.0, sqrt(2.0 / (3 * 49)), 0.05);
    w = const_f32(g, "layer2.1.bn2.running_var", &n);
    for (int64_t i = 0; i < n; i++) assert_true(w[i] >= 0.8f && w[i] <= 1.2f);
    w = const_f32(g, "layer2.1.bn3.weight", &n);                  // last BN of a branch
    for (int64_t i = 0; i < n; i++) assert_true(w[i] > 0.1f && w[i] < 0.3f);
    zn_graph_free(g);

    g = build_ok("bert-base", seed);
    w = const_f32(g, "embeddings.word_embeddings.weight", &n);
    assert_int_equal(n, 30522 * 768);
    check_moments(w, n, 0.0, 0.02, 0.01);
    float mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(w[i]));
    assert_true(mx > 0.06f && mx < 0.0701f); /* sum-of-uniforms normal: bounded by 3.46 sd */
    w = const_f32(g, "encoder.layer.5.attention.output.LayerNorm.weight", &n);
    for (int64_t i = 0; i < n; i++) assert_true(w[i] == 1.0f);
    w = const_f32(g, "encoder.layer.5.intermediate.dense.bias", &n);
    for (int64_t i = 0; i < n; i++) assert_true(w[i] == 0.0f);
    /* different tensors get different streams */
    int64_t n2;
    const float *q = const_f32(g, "encoder.layer.0.attention.self.query.weight", &n);
    const float *k = const_f32(g, "encoder.layer.0.attention.self.key.weight", &n2);
    assert_int_equal(n, n2);
    assert_memory_not_equal(q, k, (size_t)n * 4);
    zn_graph_free(g);
}

/* ---- running ------------------------------------------------------------------------------- */

typedef struct run_case {
    const char *name;
    zn_zoo_binding bind[4];
    int n_bind;
} run_case;

static const run_case run_cases[] = {
    {"mlp", {{"batch", 3}}, 1},
    {"mnist-cnn", {{"batch", 2}}, 1},
    {"resnet50", {{"batch", 1}, {"height", 64}, {"width", 64}}, 3},
    {"bert-base", {{"batch", 1}, {"seq", 16}}, 2},
    {"gpt2-small", {{"batch", 1}, {"seq", 8}}, 2},
};

typedef struct model_run {
    zn_graph *g;
    zn_plan *plan;
    int n_in, n_out;
    zn_view in[2];
    void *in_data[2];
    float *out[2];        /* copies of the outputs of the first run */
    int64_t out_n[2];
} model_run;

static zn_plan *compile_ok(const zn_graph *g) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 2;
    zn_plan *plan = NULL;
    zn_status st = zn_compile(g, &cfg, &plan);
    if (st != ZN_OK)
        print_error("compile %s: %s (node %s) hint: %s\n", zn_graph_name(g),
                    zn_last_error()->message,
                    zn_last_error()->node, zn_last_error()->hint);
    assert_int_equal(st, ZN_OK);
    return plan;
}

/* Builds, binds, compiles and makes inputs: floats U(-1,1), ids uniform in the vocabulary,
 * attention mask 1 except the last quarter of the sequence. */
static void model_setup(model_run *m, const run_case *rc, tu_rng *rng) {
    memset(m, 0, sizeof *m);
    m->g = build_ok(rc->name, 0);
    for (int j = 0; j < rc->n_bind; j++)
        assert_int_equal(zn_graph_bind_symbol(m->g, rc->bind[j].symbol, rc->bind[j].value), ZN_OK);
    assert_int_equal(zn_graph_validate(m->g), ZN_OK);
    m->plan = compile_ok(m->g);
    m->n_in = zn_plan_num_inputs(m->plan);
    m->n_out = zn_plan_num_outputs(m->plan);
    assert_int_equal(m->n_in, zn_graph_num_inputs(m->g));
    assert_int_equal(m->n_out, zn_graph_num_outputs(m->g));
    int64_t vocab = strcmp(rc->name, "gpt2-small") == 0 ? 50257 : 30522;
    for (int i = 0; i < m->n_in; i++) {
        zn_io_info io = zn_plan_input(m->plan, i);
        zn_view v = tu_view(io.dtype, NULL, io.rank, io.dims);
        int64_t n = zn_view_numel(&v);
        m->in_data[i] = calloc((size_t)n, zn_dtype_size(io.dtype));
        v.data = m->in_data[i];
        if (io.dtype == ZN_F32) {
            tu_fill(rng, v.data, n, -1.0f, 1.0f);
        } else {
            assert_int_equal(io.dtype, ZN_I64);
            int64_t *p = v.data;
            bool is_mask = strcmp(io.name, "attention_mask") == 0;
            int64_t seq = io.dims[io.rank - 1];
            for (int64_t k = 0; k < n; k++)
                p[k] = is_mask ? (k % seq < seq - seq / 4)
                               : (int64_t)(tu_next(rng) % (uint64_t)vocab);
        }
        m->in[i] = v;
    }
}

static void model_teardown(model_run *m) {
    for (int i = 0; i < 2; i++) free(m->in_data[i]), free(m->out[i]);
    zn_plan_free(m->plan);
    zn_graph_free(m->g);
}

/* One run on session s; the outputs are copied to fresh buffers (caller frees). */
static zn_status run_once(zn_session *s, model_run *m, float **outs, int64_t *out_n) {
    zn_view ov[2];
    memset(ov, 0, sizeof ov);
    zn_status st = zn_session_run(s, m->in, m->n_in, ov, m->n_out);
    if (st != ZN_OK) return st;
    for (int o = 0; o < m->n_out; o++) {
        if (ov[o].dtype != ZN_F32 || !ov[o].data) return ZN_ERR_RUNTIME;
        out_n[o] = zn_view_numel(&ov[o]);
        outs[o] = malloc((size_t)out_n[o] * 4);
        if (!outs[o]) return ZN_ERR_OUT_OF_MEMORY;
        memcpy(outs[o], ov[o].data, (size_t)out_n[o] * 4);
    }
    return ZN_OK;
}

typedef struct thread_arg {
    const zn_plan *plan;
    model_run *m;
    float *outs[2];
    int64_t out_n[2];
    zn_status st;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *a = p;
    zn_session *s = NULL;
    a->st = zn_session_new(a->plan, &s);
    if (a->st == ZN_OK) {
        for (int rep = 0; rep < 2 && a->st == ZN_OK; rep++) {
            for (int o = 0; o < 2; o++) free(a->outs[o]), a->outs[o] = NULL;
            a->st = run_once(s, a->m, a->outs, a->out_n);
        }
    }
    zn_session_free(s);
    return NULL;
}

static void check_run(const run_case *rc) {
    tu_rng rng = tu_rng_new(tu_seed() ^ 0x5a5a);
    model_run m;
    model_setup(&m, rc, &rng);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(m.plan, &s), ZN_OK);
    zn_status st = run_once(s, &m, m.out, m.out_n);
    if (st != ZN_OK)
        print_error("run %s: %s (node %s)\n", rc->name, zn_last_error()->message,
                    zn_last_error()->node);
    assert_int_equal(st, ZN_OK);
    for (int o = 0; o < m.n_out; o++) {
        zn_io_info io = zn_plan_output(m.plan, o);
        int64_t want = 1;
        for (int d = 0; d < io.rank; d++) want *= io.dims[d];
        assert_int_equal(m.out_n[o], want);
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t k = 0; k < m.out_n[o]; k++) {
            if (!isfinite(m.out[o][k]))
                print_error("%s output %d [%lld] = %g\n", rc->name, o, (long long)k, m.out[o][k]);
            assert_true(isfinite(m.out[o][k]));
            lo = fminf(lo, m.out[o][k]);
            hi = fmaxf(hi, m.out[o][k]);
        }
        assert_true(hi > lo); /* not all equal */
        assert_true(hi - lo < 1e3f);
    }
    /* the same session again: identical */
    float *again[2] = {0};
    int64_t again_n[2];
    assert_int_equal(run_once(s, &m, again, again_n), ZN_OK);
    for (int o = 0; o < m.n_out; o++) {
        assert_memory_equal(again[o], m.out[o], (size_t)m.out_n[o] * 4);
        free(again[o]);
    }
    zn_session_free(s);

    /* two sessions of the plan on two threads at once: identical to the single session */
    thread_arg args[2];
    pthread_t th[2];
    memset(args, 0, sizeof args);
    for (int i = 0; i < 2; i++) {
        args[i].plan = m.plan;
        args[i].m = &m;
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(args[i].st, ZN_OK);
        for (int o = 0; o < m.n_out; o++) {
            assert_int_equal(args[i].out_n[o], m.out_n[o]);
            assert_memory_equal(args[i].outs[o], m.out[o], (size_t)m.out_n[o] * 4);
            free(args[i].outs[o]);
        }
    }
    model_teardown(&m);
}

static void test_run_mlp(void **state) { (void)state; check_run(&run_cases[0]); }
static void test_run_mnist_cnn(void **state) { (void)state; check_run(&run_cases[1]); }
static void test_run_resnet50(void **state) { (void)state; check_run(&run_cases[2]); }
static void test_run_bert(void **state) { (void)state; check_run(&run_cases[3]); }
static void test_run_gpt2(void **state) { (void)state; check_run(&run_cases[4]); }

/* ---- the small models against a plain forward pass ------------------------------------------ */

/* y (n, out) = x (n, in) W^T + b, W (out, in) */
static void plain_linear(float *y, const float *x, const float *w, const float *b, int n, int in,
                         int out) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += (double)x[i * in + k] * w[o * in + k];
            y[i * out + o] = (float)s;
        }
}

static void plain_relu(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* a weight of the model under test, by name */
#define W(name) const_f32(m.g, name, NULL)

static void test_mlp_matches_plain(void **state) {
    (void)state;
    tu_rng rng = tu_rng_new(tu_seed() ^ 0x11);
    model_run m;
    model_setup(&m, &run_cases[0], &rng);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(m.plan, &s), ZN_OK);
    assert_int_equal(run_once(s, &m, m.out, m.out_n), ZN_OK);
    zn_session_free(s);

    const int B = 3;
    float h1[3 * 512], h2[3 * 512], y[3 * 10];
    plain_linear(h1, m.in_data[0], W("fc1.weight"), W("fc1.bias"), B, 784, 512);
    plain_relu(h1, B * 512);
    plain_linear(h2, h1, W("fc2.weight"), W("fc2.bias"), B, 512, 512);
    plain_relu(h2, B * 512);
    plain_linear(y, h2, W("fc3.weight"), W("fc3.bias"), B, 512, 10);
    for (int i = 0; i < B; i++) {
        double mx = -INFINITY, sum = 0;
        for (int k = 0; k < 10; k++) mx = fmax(mx, y[i * 10 + k]);
        for (int k = 0; k < 10; k++) sum += exp(y[i * 10 + k] - mx);
        for (int k = 0; k < 10; k++) y[i * 10 + k] = (float)(exp(y[i * 10 + k] - mx) / sum);
    }
    tu_assert_close(m.out[0], y, B * 10, 1e-5, 1e-4);
    model_teardown(&m);
}

/* x (C, H, W) -> y (O, H, W): 3x3, pad 1, bias; then ReLU */
static void plain_conv3_relu(float *y, const float *x, const float *w, const float *b, int C,
                             int O, int H, int W) {
    for (int o = 0; o < O; o++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = b[o];
                for (int c = 0; c < C; c++)
                    for (int di = 0; di < 3; di++)
                        for (int dj = 0; dj < 3; dj++) {
                            int yi = i + di - 1, xj = j + dj - 1;
                            if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
                            s += (double)x[(c * H + yi) * W + xj] *
                                 w[((o * C + c) * 3 + di) * 3 + dj];
                        }
                y[(o * H + i) * W + j] = s > 0 ? (float)s : 0.0f;
            }
}

/* 2x2 stride 2 max pool: (C, H, W) -> (C, H/2, W/2) */
static void plain_pool2(float *y, const float *x, int C, int H, int W) {
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H / 2; i++)
            for (int j = 0; j < W / 2; j++) {
                const float *p = x + (c * H + 2 * i) * W + 2 * j;
                y[(c * (H / 2) + i) * (W / 2) + j] =
                    fmaxf(fmaxf(p[0], p[1]), fmaxf(p[W], p[W + 1]));
            }
}

static void test_mnist_cnn_matches_plain(void **state) {
    (void)state;
    tu_rng rng = tu_rng_new(tu_seed() ^ 0x22);
    model_run m;
    model_setup(&m, &run_cases[1], &rng);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(m.plan, &s), ZN_OK);
    assert_int_equal(run_once(s, &m, m.out, m.out_n), ZN_OK);
    zn_session_free(s);

    float *a1 = malloc(sizeof(float) * 32 * 28 * 28), *p1 = malloc(sizeof(float) * 32 * 14 * 14);
    float *a2 = malloc(sizeof(float) * 64 * 14 * 14), *p2 = malloc(sizeof(float) * 3136);
    float h[128], y[2 * 10];
    for (int bi = 0; bi < 2; bi++) {
        const float *x = (const float *)m.in_data[0] + bi * 28 * 28;
        plain_conv3_relu(a1, x, W("conv1.weight"), W("conv1.bias"), 1, 32, 28, 28);
        plain_pool2(p1, a1, 32, 28, 28);
        plain_conv3_relu(a2, p1, W("conv2.weight"), W("conv2.bias"), 32, 64, 14, 14);
        plain_pool2(p2, a2, 64, 14, 14);
        plain_linear(h, p2, W("fc1.weight"), W("fc1.bias"), 1, 3136, 128);
        plain_relu(h, 128);
        plain_linear(y + bi * 10, h, W("fc2.weight"), W("fc2.bias"), 1, 128, 10);
    }
    tu_assert_close(m.out[0], y, 20, 1e-4, 1e-4);
    free(a1), free(p1), free(a2), free(p2);
    model_teardown(&m);
}
#undef W

/* ---- masks --------------------------------------------------------------------------------- */

/* Runs m with its current inputs into fresh output copies. */
static void rerun(model_run *m, float **outs, int64_t *out_n) {
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(m->plan, &s), ZN_OK);
    assert_int_equal(run_once(s, m, outs, out_n), ZN_OK);
    zn_session_free(s);
}

/* BERT: tokens behind attention_mask = 0 do not change the hidden states of the others;
 * changing an attended token does. */
static void test_bert_padding_mask(void **state) {
    (void)state;
    tu_rng rng = tu_rng_new(tu_seed() ^ 0x33);
    model_run m;
    model_setup(&m, &run_cases[3], &rng);      // seq 16: positions 12..15 are masked
    float *base[2] = {0}, *pad[2] = {0}, *chg[2] = {0};
    int64_t n[2];
    rerun(&m, base, n);
    int64_t *ids = m.in_data[0];
    for (int k = 12; k < 16; k++) ids[k] = (ids[k] + 1000) % 30522;
    rerun(&m, pad, n);
    tu_assert_close(pad[0], base[0], 12 * 768, 1e-5, 1e-4); /* unmasked rows unchanged */
    tu_assert_close(pad[1], base[1], 768, 1e-5, 1e-4);      /* pooler reads token 0 */
    ids[3] = (ids[3] + 1000) % 30522;
    rerun(&m, chg, n);
    double diff = 0;
    for (int k = 0; k < 768; k++) diff += fabs(chg[0][k] - base[0][k]); /* token 0 sees token 3 */
    assert_true(diff > 1e-3);
    for (int i = 0; i < 2; i++) free(base[i]), free(pad[i]), free(chg[i]);
    model_teardown(&m);
}

/* GPT-2: logits at positions before a changed token do not change; at and after it they do. */
static void test_gpt2_causal_mask(void **state) {
    (void)state;
    tu_rng rng = tu_rng_new(tu_seed() ^ 0x44);
    model_run m;
    model_setup(&m, &run_cases[4], &rng);      // seq 8
    float *base[1] = {0}, *chg[1] = {0};
    int64_t n[1];
    rerun(&m, base, n);
    int64_t *ids = m.in_data[0];
    ids[5] = (ids[5] + 777) % 50257;
    rerun(&m, chg, n);
    const int64_t V = 50257;
    tu_assert_close(chg[0], base[0], 5 * V, 1e-5, 1e-4);
    for (int pos = 5; pos < 8; pos++) {
        double diff = 0;
        for (int64_t k = 0; k < V; k++) diff += fabs(chg[0][pos * V + k] - base[0][pos * V + k]);
        assert_true(diff > 1e-3);
    }
    free(base[0]), free(chg[0]);
    model_teardown(&m);
}

int main(void) {
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_structure_mlp),
        cmocka_unit_test(test_structure_mnist_cnn),
        cmocka_unit_test(test_structure_resnet50),
        cmocka_unit_test(test_structure_bert),
        cmocka_unit_test(test_structure_gpt2),
        cmocka_unit_test(test_resnet_sizes),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_init_statistics),
        cmocka_unit_test(test_run_mlp),
        cmocka_unit_test(test_run_mnist_cnn),
        cmocka_unit_test(test_run_resnet50),
        cmocka_unit_test(test_run_bert),
        cmocka_unit_test(test_run_gpt2),
        cmocka_unit_test(test_mlp_matches_plain),
        cmocka_unit_test(test_mnist_cnn_matches_plain),
        cmocka_unit_test(test_bert_padding_mask),
        cmocka_unit_test(test_gpt2_causal_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
