/* zoo.h — the built-in model zoo: graph builders for well-known networks (mlp, mnist-cnn,
 * resnet50, bert-base, gpt2-small) with seeded random weights.
 *
 * The graphs have the real architectures, parameter counts and FLOPs, so they benchmark like
 * the trained models; the weights are random (seeded, reproducible, nothing is downloaded), so
 * their outputs mean nothing. Inputs use symbolic dims ("batch", "seq", "height", "width");
 * each entry lists the defaults zn_zoo_build_bound binds.
 *
 * The second half of this header is the builder toolkit the zoo's own files share
 * (suites/zoo*.c); it is not meant for callers outside suites/.
 */
#ifndef ZN_ZOO_H
#define ZN_ZOO_H

#include "engine/zenith.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zn_zoo_options {
    uint64_t seed;      /* weights; 0 means the default seed 42 */
} zn_zoo_options;

typedef struct zn_zoo_binding { const char *symbol; int64_t value; } zn_zoo_binding;

typedef struct zn_zoo_entry {
    const char *name;          /* "resnet50" */
    const char *description;   /* one line: "ResNet-50 v1.5, 224x224, ImageNet head" */
    const char *task;          /* "classification", "language model", "encoder" */
    int n_defaults;
    zn_zoo_binding defaults[4];/* default values of its symbolic dims: {"batch",1},{"seq",128} */
    zn_status (*build)(const zn_zoo_options *opt, zn_graph **out);
} zn_zoo_entry;

int zn_zoo_count(void);
const zn_zoo_entry *zn_zoo_at(int i);
const zn_zoo_entry *zn_zoo_find(const char *name);  /* NULL if unknown */
/* Builds the graph with symbolic dims left symbolic. Unknown name: ZN_ERR_NOT_FOUND with a
   hint listing the zoo names (and the nearest one as "did you mean ..."). */
zn_status zn_zoo_build(const char *name, const zn_zoo_options *opt, zn_graph **out);
/* zn_zoo_build + bind every default not overridden: convenience for tests and the app. */
zn_status zn_zoo_build_bound(const char *name, const zn_zoo_options *opt, zn_graph **out);

/* ---- the builders (one per model; suites/zoo_mlp.c, zoo_cnn.c, zoo_transformer.c) ---------- */

zn_status zn_zoo_build_mlp(const zn_zoo_options *opt, zn_graph **out);
zn_status zn_zoo_build_mnist_cnn(const zn_zoo_options *opt, zn_graph **out);
zn_status zn_zoo_build_resnet50(const zn_zoo_options *opt, zn_graph **out);
zn_status zn_zoo_build_bert_base(const zn_zoo_options *opt, zn_graph **out);
zn_status zn_zoo_build_gpt2_small(const zn_zoo_options *opt, zn_graph **out);

/* ---- builder toolkit (internal to suites/zoo*.c) --------------------------------------------
 * A zn_zoo_builder wraps the graph being built with a sticky status: after the first failure
 * every helper does nothing and returns -1, so a builder is written as straight-line code and
 * checks once at the end (zn_zoo_builder_finish). Helpers return tensor ids.
 *
 * Weights are filled from a per-tensor random stream seeded by (seed, tensor name), so a
 * tensor's values do not depend on the order in which tensors are created. */

typedef struct zn_zoo_builder {
    zn_graph *g;
    uint64_t seed;
    zn_status st;        /* first failure, ZN_OK while building works */
    float bias_range;    /* layer biases ~ U(-bias_range, bias_range); 0: zero biases */
    int last_node;       /* node id of the most recent node, for zn_zb_attr_* */
    char name_buf[16][ZN_MAX_NAME];
    int name_next;
} zn_zoo_builder;

zn_status zn_zb_begin(zn_zoo_builder *b, const char *graph_name, const zn_zoo_options *opt);
/* Returns the builder's status; on success *out is the graph, on failure the graph is freed
 * and *out is NULL. */
zn_status zn_zb_finish(zn_zoo_builder *b, zn_graph **out);

/* printf into one of 16 rotating name buffers (valid for the next 15 calls). */
const char *zn_zb_name(zn_zoo_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Inputs and constants. */
int zn_zb_input(zn_zoo_builder *b, const char *name, zn_dtype dt, int rank, const zn_dim *dims);
zn_dim zn_zb_sym(zn_zoo_builder *b, const char *symbol);
zn_dim zn_zb_dim(int64_t value);
/* f32 constant of N(mean, std) values (std 0: all equal to mean). */
int zn_zb_normal(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims,
                 float mean, float std);
/* f32 constant of U(lo, hi) values. */
int zn_zb_uniform(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims,
                  float lo, float hi);
int zn_zb_fill(zn_zoo_builder *b, const char *name, int rank, const int64_t *dims, float v);
/* i64 constants: rank 1 of n values, or rank 0 (scalar). */
int zn_zb_i64s(zn_zoo_builder *b, const char *name, int n, const int64_t *values);
int zn_zb_i64_scalar(zn_zoo_builder *b, const char *name, int64_t value);
/* A Constant node holding an f32 scalar: not a weight (zn_graph_get_stats does not count it
 * as a parameter until folding turns it into a constant tensor). */
int zn_zb_scalar_node(zn_zoo_builder *b, const char *name, float value);

/* A node with one output (named out_name, or "<name>:0" when out_name is NULL); returns the
 * output tensor. Attributes set afterwards with zn_zb_attr_* go to this node. */
int zn_zb_op(zn_zoo_builder *b, zn_op op, const char *name, const char *out_name,
             int n_in, const int *inputs);
int zn_zb_op1(zn_zoo_builder *b, zn_op op, const char *name, int x);
/* A node with n_out outputs (ids written to outs); returns the node id or -1. */
int zn_zb_node(zn_zoo_builder *b, zn_op op, const char *name, int n_in, const int *inputs,
               int n_out, int *outs);
/* Unsqueeze with the axes as a constant input "<name>.axes" (opset 13 form). */
int zn_zb_unsqueeze(zn_zoo_builder *b, const char *name, int x, int n_axes, const int64_t *axes);
int zn_zb_op2(zn_zoo_builder *b, zn_op op, const char *name, int x, int y);
void zn_zb_attr_int(zn_zoo_builder *b, const char *attr, int64_t v);
void zn_zb_attr_float(zn_zoo_builder *b, const char *attr, float v);
void zn_zb_attr_string(zn_zoo_builder *b, const char *attr, const char *v);
void zn_zb_attr_ints(zn_zoo_builder *b, const char *attr, int n, const int64_t *v);

/* Layers (weights named "<name>.weight", "<name>.bias", ...). */
/* Conv2d, He-normal weight (cout, cin/group... group 1 here, k, k); bias zero when has_bias. */
int zn_zb_conv(zn_zoo_builder *b, const char *name, int x, int64_t cin, int64_t cout,
               int64_t k, int64_t stride, int64_t pad, bool has_bias);
/* BatchNormalization (eps 1e-5) with gamma ~ gamma0, beta ~ 0, running mean ~ 0, var ~ 1. */
int zn_zb_batchnorm(zn_zoo_builder *b, const char *name, int x, int64_t c, float gamma0);
/* Gemm(x, W, bias) with W (out, in), transB=1: torch.nn.Linear as exported. std 0: He. */
int zn_zb_gemm(zn_zoo_builder *b, const char *name, const char *out_name, int x, int64_t in,
               int64_t out, float std);
/* MatMul(x, W) + bias with W (in, out): the transformer form. x: (..., in) -> (..., out). */
int zn_zb_linear(zn_zoo_builder *b, const char *name, int x, int64_t in, int64_t out, float std);
/* LayerNormalization over the last axis; gamma 1, beta 0. */
int zn_zb_layernorm(zn_zoo_builder *b, const char *name, const char *out_name, int x,
                    int64_t c, float eps);

#ifdef __cplusplus
}
#endif
#endif
