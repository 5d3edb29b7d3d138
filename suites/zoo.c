/* zoo.c — the model zoo's registry (names, descriptions, default bindings, look-up with
 * "did you mean") and the builder toolkit the zoo's model files share: seeded weight fills and
 * layer helpers written on the public graph-builder API.
 *
 * It does not define any model (see zoo_mlp.c, zoo_cnn.c, zoo_transformer.c) and knows
 * nothing about compiling or running graphs.
 */
#include "suites/zoo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- registry ----------------------------------------------------------------------------- */

static const zn_zoo_entry zoo_entries[] = {
    {"mlp", "3-layer perceptron 784-512-512-10, softmax head", "classification",
     1, {{"batch", 1}}, zn_zoo_build_mlp},
    {"mnist-cnn", "2 conv + 2 dense layers, 28x28 grey images, 10 classes", "classification",
     1, {{"batch", 1}}, zn_zoo_build_mnist_cnn},
    {"resnet50", "ResNet-50 v1.5, 224x224, ImageNet head", "classification",
     3, {{"batch", 1}, {"height", 224}, {"width", 224}}, zn_zoo_build_resnet50},
    {"bert-base", "BERT-base uncased encoder, 12 layers, hidden 768, with pooler", "encoder",
     2, {{"batch", 1}, {"seq", 128}}, zn_zoo_build_bert_base},
    {"gpt2-small", "GPT-2 124M, 12 layers, hidden 768, tied LM head", "language model",
     2, {{"batch", 1}, {"seq", 128}}, zn_zoo_build_gpt2_small},
};

#define ZOO_COUNT ((int)(sizeof zoo_entries / sizeof zoo_entries[0]))

int zn_zoo_count(void) { return ZOO_COUNT; }

const zn_zoo_entry *zn_zoo_at(int i) {
    return (i >= 0 && i < ZOO_COUNT) ? &zoo_entries[i] : NULL;
}

const zn_zoo_entry *zn_zoo_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < ZOO_COUNT; i++)
        if (strcasecmp(zoo_entries[i].name, name) == 0) return &zoo_entries[i];
    return NULL;
}

/* Case-insensitive Levenshtein distance (names are short; longer input is clipped). */
static int edit_distance(const char *a, const char *b) {
    enum { N = 64 };
    int la = (int)strnlen(a, N - 1), lb = (int)strnlen(b, N - 1);
    int prev[N], cur[N];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int ca = a[i - 1], cb = b[j - 1];
            if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
            if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
            int best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

zn_status zn_zoo_build(const char *name, const zn_zoo_options *opt, zn_graph **out) {
    if (!out) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_zoo_build: out is NULL");
    *out = NULL;
    const zn_zoo_entry *e = zn_zoo_find(name);
    if (!e) {
        char list[256] = "";
        size_t len = 0;
        int best = -1, best_d = 1 << 30;
        for (int i = 0; i < ZOO_COUNT; i++) {
            len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s",
                                    i ? ", " : "", zoo_entries[i].name);
            if (len >= sizeof list) len = sizeof list - 1;
            int d = name ? edit_distance(name, zoo_entries[i].name) : 1 << 30;
            if (d < best_d) best_d = d, best = i;
        }
        zn_status st = zn_error_set(ZN_ERR_NOT_FOUND,
                                    "unknown model '%s': the built-in zoo has no such model",
                                    name ? name : "(null)");
        if (best >= 0 && name && best_d <= (int)strlen(name) / 2 + 2)
            zn_error_hint("did you mean %s?", zoo_entries[best].name);
        zn_error_hint("the zoo has: %s (`zenith-bench models` lists them); or give an .onnx file",
                      list);
        return st;
    }
    return e->build(opt, out);
}

zn_status zn_zoo_build_bound(const char *name, const zn_zoo_options *opt, zn_graph **out) {
    zn_status st = zn_zoo_build(name, opt, out);
    if (st != ZN_OK) return st;
    const zn_zoo_entry *e = zn_zoo_find(name);
    for (int i = 0; i < e->n_defaults; i++) {
        st = zn_graph_bind_symbol(*out, e->defaults[i].symbol, e->defaults[i].value);
        if (st != ZN_OK) {
            zn_error_prefix("binding %s=%lld in zoo model %s", e->defaults[i].symbol,
                            (long long)e->defaults[i].value, e->name);
            zn_graph_free(*out);
            *out = NULL;
            return st;
        }
    }
    return ZN_OK;
}

/* ---- random streams ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* xorshift64* seeded from (seed, tensor name); never zero. */
static uint64_t stream_seed(uint64_t seed, const char *name) {
    uint64_t s = splitmix64(seed ^ splitmix64(fnv1a(name)));
    return s ? s : 0x2545F4914F6CDD1Dull;
}

static inline uint64_t stream_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Fast approximate N(0,1): the sum of four 16-bit uniforms (Irwin-Hall, variance matched;
 * bounded at +-3.46 sigma, which suits weight init). */
static inline float stream_normal(uint64_t *s) {
    uint64_t r = stream_next(s);
    uint32_t sum = (uint32_t)(r & 0xFFFF) + (uint32_t)((r >> 16) & 0xFFFF) +
                   (uint32_t)((r >> 32) & 0xFFFF) + (uint32_t)(r >> 48);
    /* mean 4 * 65535/2, sd 65536 * sqrt(4/12) */
    return ((float)sum - 131070.0f) * (1.0f / 37837.23f);
}

static inline float stream_uniform(uint64_t *s) { /* [0, 1) */
    return (float)(stream_next(s) >> 40) * (1.0f / 16777216.0f);
}

/* ---- builder ------------------------------------------------------------------------------- */

/* Records the first failure; keeps the graph's own error detail when it set one. */
static void zb_fail(zn_zoo_builder *b, zn_status st, const char *what) {
    if (b->st != ZN_OK) return;
    if (zn_last_error()->status != ZN_OK) {
        b->st = zn_last_error()->status;
        zn_error_prefix("building zoo model %s, %s", zn_graph_name(b->g), what);
    } else {
        b->st = zn_error_set(st, "building zoo model %s: could not add %s", zn_graph_name(b->g),
                             what);
    }
}

zn_status zn_zb_begin(zn_zoo_builder *b, const char *graph_name, const zn_zoo_options *opt) {
    memset(b, 0, sizeof *b);
    b->seed = (opt && opt->seed) ? opt->seed : 42;
    b->last_node = -1;
    zn_error_clear();
    b->g = zn_graph_new(graph_name);
    if (!b->g) b->st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory creating graph %s",
                                    graph_name);
    return b->st;
}

zn_status zn_zb_finish(zn_zoo_builder *b, zn_graph **out) {
    if (b->st != ZN_OK) {
        zn_graph_free(b->g);
        b->g = NULL;
        *out = NULL;
        return b->st;
    }
    *out = b->g;
    b->g = NULL;
    return ZN_OK;
}

const char *zn_zb_name(zn_zoo_builder *b, const char *fmt, ...) {
    char *buf = b->name_buf[b->name_next];
    b->name_next = (b->name_next + 1) % 16;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, ZN_MAX_NAME, fmt, ap);
    va_end(ap);
    return buf;
}

zn_dim zn_zb_sym(zn_zoo_builder *b, const char *symbol) {
    zn_dim d = {-1, -1};
    if (b->st != ZN_OK) return d;
    d.sym = zn_graph_symbol(b->g, symbol);
    if (d.sym < 0) zb_fail(b, ZN_ERR_INVALID_ARGUMENT, symbol);
    return d;
}

zn_dim zn_zb_dim(int64_t value) {
    zn_dim d = {value, -1};
    return d;
}

int zn_zb_input(zn_zoo_builder *b, const char *name, zn_dtype dt, int rank, const zn_dim *dims) {
    if (b->st != ZN_OK) return -1;
    int t = zn_graph_add_input(b->g, name, dt, rank, dims);
    if (t < 0) zb_fail(b, ZN_ERR_INVALID_ARGUMENT, name);
    return t;
}

static float *zb_const_f32(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims,
                           int *id, int64_t *numel) {
    *id = -1;
    if (b->st != ZN_OK) return NULL;
    int t = zn_graph_add_const(b->g, name, ZN_F32, rank, dims, NULL);
    float *p = t >= 0 ? zn_graph_tensor_data(b->g, t) : NULL;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    if (t < 0 || (!p && n > 0)) {
        zb_fail(b, ZN_ERR_OUT_OF_MEMORY, name);
        return NULL;
    }
    *id = t;
    *numel = n;
    return p;
}

int zn_zb_normal(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims, float mean,
                 float std) {
    int t;
    int64_t n;
    float *p = zb_const_f32(b, name, rank, dims, &t, &n);
    if (!p) return t;
    if (std == 0.0f) {
        for (int64_t i = 0; i < n; i++) p[i] = mean;
        return t;
    }
    /* four interleaved streams (element i from stream i % 4): independent dependency chains
     * run 3-4x faster than one, and the values stay a pure function of (seed, name, i) */
    uint64_t s[4];
    s[0] = stream_seed(b->seed, name);
    for (int k = 1; k < 4; k++) s[k] = splitmix64(s[k - 1]) | 1;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) p[i + k] = mean + std * stream_normal(&s[k]);
    for (int k = 0; i < n; i++, k++) p[i] = mean + std * stream_normal(&s[k]);
    return t;
}

int zn_zb_uniform(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims, float lo,
                  float hi) {
    int t;
    int64_t n;
    float *p = zb_const_f32(b, name, rank, dims, &t, &n);
    if (!p) return t;
    uint64_t s = stream_seed(b->seed, name);
    for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * stream_uniform(&s);
    return t;
}

int zn_zb_fill(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims, float v) {
    return zn_zb_normal(b, name, rank, dims, v, 0.0f);
}

int zn_zb_i64s(zn_zoo_builder *b, const char *name, int n, const int64_t *values) {
    if (b->st != ZN_OK) return -1;
    int64_t dims[1] = {n};
    int t = zn_graph_add_const(b->g, name, ZN_I64, 1, dims, values);
    if (t < 0) zb_fail(b, ZN_ERR_INVALID_ARGUMENT, name);
    return t;
}

int zn_zb_i64_scalar(zn_zoo_builder *b, const char *name, int64_t value) {
    if (b->st != ZN_OK) return -1;
    int t = zn_graph_add_const(b->g, name, ZN_I64, 0, NULL, &value);
    if (t < 0) zb_fail(b, ZN_ERR_INVALID_ARGUMENT, name);
    return t;
}

int zn_zb_scalar_node(zn_zoo_builder *b, const char *name, float value) {
    int t = zn_zb_op(b, ZN_OP_CONSTANT, name, NULL, 0, NULL);
    if (b->st != ZN_OK) return -1;
    zn_status st = zn_graph_set_attr_tensor(b->g, b->last_node, "value", ZN_F32, 0, NULL, &value);
    if (st != ZN_OK) zb_fail(b, st, name);
    return b->st == ZN_OK ? t : -1;
}

int zn_zb_op(zn_zoo_builder *b, zn_op op, const char *name, const char *out_name, int n_in,
             const int *inputs) {
    if (b->st != ZN_OK) return -1;
    int out = -1;
    const char *names[1] = {out_name};
    int node = zn_graph_add_node(b->g, op, name, n_in, inputs, 1, out_name ? names : NULL, &out);
    if (node < 0 || out < 0) {
        zb_fail(b, ZN_ERR_INVALID_GRAPH, name);
        return -1;
    }
    b->last_node = node;
    return out;
}

int zn_zb_node(zn_zoo_builder *b, zn_op op, const char *name, int n_in, const int *inputs,
               int n_out, int *outs) {
    if (b->st != ZN_OK) return -1;
    for (int k = 0; k < n_out; k++) outs[k] = -1;
    int node = zn_graph_add_node(b->g, op, name, n_in, inputs, n_out, NULL, outs);
    for (int k = 0; k < n_out; k++)
        if (outs[k] < 0) node = -1;
    if (node < 0) {
        zb_fail(b, ZN_ERR_INVALID_GRAPH, name);
        return -1;
    }
    b->last_node = node;
    return node;
}

int zn_zb_unsqueeze(zn_zoo_builder *b, const char *name, int x, int n_axes, const int64_t *axes) {
    int in[2] = {x, zn_zb_i64s(b, zn_zb_name(b, "%s.axes", name), n_axes, axes)};
    return zn_zb_op(b, ZN_OP_UNSQUEEZE, name, NULL, 2, in);
}

int zn_zb_op1(zn_zoo_builder *b, zn_op op, const char *name, int x) {
    return zn_zb_op(b, op, name, NULL, 1, &x);
}

int zn_zb_op2(zn_zoo_builder *b, zn_op op, const char *name, int x, int y) {
    int in[2] = {x, y};
    return zn_zb_op(b, op, name, NULL, 2, in);
}

static void zb_attr_done(zn_zoo_builder *b, zn_status st, const char *attr) {
    if (st != ZN_OK) zb_fail(b, st, attr);
}

void zn_zb_attr_int(zn_zoo_builder *b, const char *attr, int64_t v) {
    if (b->st != ZN_OK) return;
    zb_attr_done(b, zn_graph_set_attr_int(b->g, b->last_node, attr, v), attr);
}

void zn_zb_attr_float(zn_zoo_builder *b, const char *attr, float v) {
    if (b->st != ZN_OK) return;
    zb_attr_done(b, zn_graph_set_attr_float(b->g, b->last_node, attr, v), attr);
}

void zn_zb_attr_string(zn_zoo_builder *b, const char *attr, const char *v) {
    if (b->st != ZN_OK) return;
    zb_attr_done(b, zn_graph_set_attr_string(b->g, b->last_node, attr, v), attr);
}

void zn_zb_attr_ints(zn_zoo_builder *b, const char *attr, int n, const int64_t *v) {
    if (b->st != ZN_OK) return;
    zb_attr_done(b, zn_graph_set_attr_ints(b->g, b->last_node, attr, v, n), attr);
}

/* ---- layers -------------------------------------------------------------------------------- */

static int zb_bias(zn_zoo_builder *b, const char *name, int64_t n) {
    const char *bn = zn_zb_name(b, "%s.bias", name);
    return b->bias_range > 0.0f ? zn_zb_uniform(b, bn, 1, &n, -b->bias_range, b->bias_range)
                                : zn_zb_fill(b, bn, 1, &n, 0.0f);
}

// x: (N, cin, H, W) -> (N, cout, H', W')
int zn_zb_conv(zn_zoo_builder *b, const char *name, int x, int64_t cin, int64_t cout, int64_t k,
               int64_t stride, int64_t pad, bool has_bias) {
    int64_t wd[4] = {cout, cin, k, k};
    float he = sqrtf(2.0f / (float)(cin * k * k));
    int in[3];
    in[0] = x;
    in[1] = zn_zb_normal(b, zn_zb_name(b, "%s.weight", name), 4, wd, 0.0f, he);
    if (has_bias) in[2] = zb_bias(b, name, cout);
    int y = zn_zb_op(b, ZN_OP_CONV, name, NULL, has_bias ? 3 : 2, in);
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pads[4] = {pad, pad, pad, pad};
    int64_t dil[2] = {1, 1};
    zn_zb_attr_ints(b, "kernel_shape", 2, ks);
    zn_zb_attr_ints(b, "strides", 2, st);
    zn_zb_attr_ints(b, "pads", 4, pads);
    zn_zb_attr_ints(b, "dilations", 2, dil);
    zn_zb_attr_int(b, "group", 1);
    return y;
}

// x: (N, C, H, W) -> same
int zn_zb_batchnorm(zn_zoo_builder *b, const char *name, int x, int64_t c, float gamma0) {
    int in[5];
    in[0] = x;
    /* Inference statistics near the identity, perturbed so that folding BN into the conv is
     * observable: gamma in gamma0*[0.9,1.1], beta, mean in +-0.05, var in [0.8,1.2]. */
    in[1] = zn_zb_uniform(b, zn_zb_name(b, "%s.weight", name), 1, &c, 0.9f * gamma0, 1.1f * gamma0);
    in[2] = zn_zb_uniform(b, zn_zb_name(b, "%s.bias", name), 1, &c, -0.05f, 0.05f);
    in[3] = zn_zb_uniform(b, zn_zb_name(b, "%s.running_mean", name), 1, &c, -0.05f, 0.05f);
    in[4] = zn_zb_uniform(b, zn_zb_name(b, "%s.running_var", name), 1, &c, 0.8f, 1.2f);
    int y = zn_zb_op(b, ZN_OP_BATCH_NORM, name, NULL, 5, in);
    zn_zb_attr_float(b, "epsilon", 1e-5f);
    zn_zb_attr_float(b, "momentum", 0.9f);
    return y;
}

// x: (N, in) -> (N, out)
int zn_zb_gemm(zn_zoo_builder *b, const char *name, const char *out_name, int x, int64_t in,
               int64_t out, float std) {
    int64_t wd[2] = {out, in};
    if (std == 0.0f) std = sqrtf(2.0f / (float)in);
    int ins[3];
    ins[0] = x;
    ins[1] = zn_zb_normal(b, zn_zb_name(b, "%s.weight", name), 2, wd, 0.0f, std);
    ins[2] = zb_bias(b, name, out);
    int y = zn_zb_op(b, ZN_OP_GEMM, name, out_name, 3, ins);
    zn_zb_attr_float(b, "alpha", 1.0f);
    zn_zb_attr_float(b, "beta", 1.0f);
    zn_zb_attr_int(b, "transB", 1);
    return y;
}

// x: (..., in) -> (..., out)
int zn_zb_linear(zn_zoo_builder *b, const char *name, int x, int64_t in, int64_t out, float std) {
    int64_t wd[2] = {in, out};
    int w = zn_zb_normal(b, zn_zb_name(b, "%s.weight", name), 2, wd, 0.0f, std);
    int bias = zb_bias(b, name, out);
    int y = zn_zb_op2(b, ZN_OP_MATMUL, name, x, w);
    return zn_zb_op2(b, ZN_OP_ADD, zn_zb_name(b, "%s.add_bias", name), y, bias);
}

// x: (..., c) -> same
int zn_zb_layernorm(zn_zoo_builder *b, const char *name, const char *out_name, int x, int64_t c,
                    float eps) {
    int in[3];
    in[0] = x;
    in[1] = zn_zb_fill(b, zn_zb_name(b, "%s.weight", name), 1, &c, 1.0f);
    in[2] = zn_zb_fill(b, zn_zb_name(b, "%s.bias", name), 1, &c, 0.0f);
    int y = zn_zb_op(b, ZN_OP_LAYER_NORM, name, out_name, 3, in);
    zn_zb_attr_int(b, "axis", -1);
    zn_zb_attr_float(b, "epsilon", eps);
    return y;
}
