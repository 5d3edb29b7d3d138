/* passes.h — the optimisation pipeline that zn_compile runs on its copy of the graph, and the
 * helpers the passes in engine/passes/ share.
 *
 * Each pass rewrites the graph in place and returns how many patterns it changed (or -1 with
 * the error set). Passes match on op types, constant inputs and attributes, and only rewrite
 * a pattern whose intermediate tensors have exactly one consumer and are not graph outputs, so
 * every rewrite keeps the graph's outputs (within fp32 rounding). A fused node takes the place
 * of its pattern's last node and keeps that node's output tensor, so consumers need no
 * rewiring; the pipeline re-sorts, compacts and re-infers shapes after every pass that changed
 * something. Not here: kernel choice, precision lowering, memory planning (compile.c).
 */
#ifndef ZN_PASSES_H
#define ZN_PASSES_H

#include <stdio.h>

#include "../graph.h"

/* Runs every pass in order (dead code, layout-only ops, CSE, LayerNorm and GELU patterns,
 * Add+LayerNorm, attention, linear epilogues, Conv+BN folding, Conv epilogues, weight
 * prepacking, dead code again), filling sum->passes (name, changes, ms, detail) and
 * sum->fusions_by_op, with cfg->observer's pass_begin/pass_end around each pass. */
zn_status zn_run_passes(zn_graph *g, const zn_compile_config *cfg, zn_compile_summary *sum);

/* One line per live node: "name  Op  in: f32[1,16,768], ... -> out: f32[...]", plus the graph's
 * inputs and outputs. malloc'd; the caller frees it. NULL when out of memory. */
char *zn_graph_to_text(const zn_graph *g);

/* ---- internal to engine/passes/ ------------------------------------------------------------ */

/* What a pass sees: the graph plus consumer lists, rebuilt by zn_pass_refresh. */
typedef struct zn_pass_ctx {
    zn_graph *g;
    int *uses;        /* consumer count per tensor (live nodes) */
    int *cons_start;  /* consumers of tensor t: cons[cons_start[t] .. cons_start[t+1]) */
    int *cons;        /* node ids */
    int fused[ZN_OP_COUNT]; /* nodes produced by op, accumulated over passes */
    char detail[160]; /* the running pass's summary line */
} zn_pass_ctx;

zn_status zn_pass_refresh(zn_pass_ctx *c);
void zn_pass_ctx_free(zn_pass_ctx *c);

/* The live node producing t, or -1 (input, constant, dead producer). */
int zn_pass_producer(const zn_pass_ctx *c, int t);
/* Its producer when t has exactly one consumer and is not a graph output, and the producer's
 * op is `op`; -1 otherwise. */
int zn_pass_single_producer(const zn_pass_ctx *c, int t, zn_op op);
/* The one consumer of t when t has exactly one and is not a graph output; -1 otherwise. */
int zn_pass_sole_consumer(const zn_pass_ctx *c, int t);
bool zn_pass_is_output(const zn_graph *g, int t);
bool zn_pass_is_const(const zn_graph *g, int t);
/* An f32 constant holding one value (any rank); writes it to *v. */
bool zn_pass_const_scalar(const zn_graph *g, int t, float *v);
bool zn_pass_near(float v, float want, float rtol);
/* For a binary node (Add/Mul/...) with input `t` on one side: the other input; -1 if neither
 * input is t. */
int zn_pass_other_input(const zn_node *n, int t);
/* Concrete dims of t's shape equal to those of u's. */
bool zn_pass_same_shape(const zn_graph *g, int t, int u);
/* Rewrites node `id` into `op` with the given inputs; attributes are dropped. */
zn_status zn_pass_rewrite(zn_graph *g, int id, zn_op op, int n_in, const int *inputs);
/* Marks nodes dead. */
void zn_pass_kill(zn_graph *g, int n, const int *ids);
/* Replaces every use of tensor `from` by `to` in live nodes (not graph outputs). */
void zn_pass_replace_uses(zn_graph *g, int from, int to);
/* A new f32/i64 constant named after `base`; returns its id or -1 (error set). */
int zn_pass_new_const(zn_graph *g, const char *base, zn_dtype dt, int rank, const int64_t *dims,
                      const void *data);

/* The passes (each: changes made, or -1 with the error set; details go to c->detail). */
int zn_pass_layout(zn_pass_ctx *c);        /* layout.c: Identity, Dropout, Transpose, Reshape */
int zn_pass_cse(zn_pass_ctx *c);           /* cse.c */
int zn_pass_layernorm(zn_pass_ctx *c);     /* fuse_norm.c: op-by-op LayerNorm */
int zn_pass_gelu(zn_pass_ctx *c);          /* fuse_norm.c: op-by-op GELU (erf, tanh) */
int zn_pass_add_layernorm(zn_pass_ctx *c); /* fuse_norm.c: Add + LayerNormalization */
int zn_pass_attention(zn_pass_ctx *c);     /* fuse_attention.c */
int zn_pass_linear(zn_pass_ctx *c);        /* fuse_linear.c: MatMul/Gemm + epilogue */
int zn_pass_prepack(zn_pass_ctx *c);       /* fuse_linear.c: constant weights to (K, N) */
int zn_pass_conv_bn(zn_pass_ctx *c);       /* fuse_conv.c: BatchNorm folded into Conv */
int zn_pass_conv(zn_pass_ctx *c);          /* fuse_conv.c: Conv + residual + ReLU */

/* ---- device rewrites (device_passes.c), run by zn_compile for CUDA plans ------------------ */

/* Whether node `node` of g has a device kernel (in its current dtypes). */
typedef bool (*zn_node_pred)(const zn_graph *g, int node, void *user);

/* Lowers every f32 tensor to dt (ZN_F16 / ZN_BF16) with casts at the graph's f32 inputs and
 * outputs; nodes for which has_half_kernel is false are wrapped in casts to run in f32.
 * Returns the number of changes (constants converted + casts) or -1 with the error set. */
int zn_pass_lower_precision(zn_graph *g, zn_dtype dt, zn_node_pred has_half_kernel, void *user,
                            char *detail, size_t cap);
/* Places each node on the device (on_device true) or the host, graph inputs on the device, and
 * inserts a ZnCopy wherever a node reads a tensor from the other space. Returns the copies
 * inserted (and *n_fallback = nodes on the host) or -1 with the error set. */
int zn_pass_place(zn_graph *g, zn_node_pred on_device, void *user, int *n_fallback, char *detail,
                  size_t cap);

#endif
