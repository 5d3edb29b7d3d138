/* zenith.h — the public API of the Zenith inference engine.
 *
 *   graph (IR, built by a builder, the zoo or the ONNX importer)
 *     -> zn_compile(graph, config)  -> zn_plan   (immutable; shared by sessions)
 *     -> zn_session_new(plan)       -> zn_session (one per worker thread)
 *     -> zn_session_run(session, inputs, outputs)
 *
 * Every fallible call returns zn_status; the detail is in zn_last_error() (error.h). Nothing in
 * the library prints or exits; diagnostics go through the logger (log.h).
 */
#ifndef ZENITH_H
#define ZENITH_H

#include "error.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- graph IR (builder API) --------------------------------------------------------------
 * Tensors and nodes are referred to by integer ids. Node output tensors are created by
 * zn_graph_add_node with dtype/shape left for shape inference to fill. */

typedef struct zn_graph zn_graph;

zn_graph *zn_graph_new(const char *name);
void zn_graph_free(zn_graph *g);
zn_graph *zn_graph_clone(const zn_graph *g);

/* Symbolic dims ("batch", "seq"): an index into the graph's symbol table, created on first use. */
int zn_graph_symbol(zn_graph *g, const char *name);
const char *zn_graph_symbol_name(const zn_graph *g, int sym);
int zn_graph_num_symbols(const zn_graph *g);

/* A graph input. dims may mix concrete and symbolic zn_dim values. Returns the tensor id or -1
 * (duplicate name, bad rank/dtype). */
int zn_graph_add_input(zn_graph *g, const char *name, zn_dtype dtype, int rank, const zn_dim *dims);
/* A constant (weights). `data` is copied; pass NULL to get zero-filled storage to write through
 * zn_graph_tensor_data(). Returns the tensor id or -1. */
int zn_graph_add_const(zn_graph *g, const char *name, zn_dtype dtype, int rank,
                       const int64_t *dims, const void *data);
/* A node; creates n_out output tensors named "<name>:<k>" unless out_names gives names, and
 * writes their ids to outputs (may be NULL). inputs[k] = -1 marks an omitted optional input.
 * Returns the node id or -1. */
int zn_graph_add_node(zn_graph *g, zn_op op, const char *name, int n_in, const int *inputs,
                      int n_out, const char *const *out_names, int *outputs);
/* Convenience: a single-output node; returns its output tensor id or -1. */
int zn_graph_op(zn_graph *g, zn_op op, const char *name, int n_in, const int *inputs);
zn_status zn_graph_mark_output(zn_graph *g, int tensor);

/* Attributes of a node (copied). */
zn_status zn_graph_set_attr_int(zn_graph *g, int node, const char *name, int64_t v);
zn_status zn_graph_set_attr_float(zn_graph *g, int node, const char *name, float v);
zn_status zn_graph_set_attr_string(zn_graph *g, int node, const char *name, const char *v);
zn_status zn_graph_set_attr_ints(zn_graph *g, int node, const char *name, const int64_t *v, int n);
zn_status zn_graph_set_attr_floats(zn_graph *g, int node, const char *name, const float *v, int n);
zn_status zn_graph_set_attr_tensor(zn_graph *g, int node, const char *name, zn_dtype dtype,
                                   int rank, const int64_t *dims, const void *data);

/* Queries. */
int zn_graph_num_tensors(const zn_graph *g);
int zn_graph_num_nodes(const zn_graph *g);
int zn_graph_num_inputs(const zn_graph *g);
int zn_graph_num_outputs(const zn_graph *g);
int zn_graph_input(const zn_graph *g, int i);  /* tensor id */
int zn_graph_output(const zn_graph *g, int i); /* tensor id */
int zn_graph_find_tensor(const zn_graph *g, const char *name); /* -1 if none */
const char *zn_graph_tensor_name(const zn_graph *g, int t);
zn_dtype zn_graph_tensor_dtype(const zn_graph *g, int t);
const zn_shape *zn_graph_tensor_shape(const zn_graph *g, int t);
void *zn_graph_tensor_data(const zn_graph *g, int t); /* constant data or NULL */
const char *zn_graph_name(const zn_graph *g);

/* Free-form model metadata shown by `inspect` and recorded in run records. */
typedef struct zn_model_meta {
    char producer[64];
    char producer_version[32];
    char domain[64];
    int64_t opset;     /* 0 when not from ONNX */
    int64_t ir_version;
} zn_model_meta;
zn_model_meta *zn_graph_meta(zn_graph *g);
const zn_model_meta *zn_graph_meta_const(const zn_graph *g);

/* Binds a symbolic dim to a value for every tensor that uses it. */
zn_status zn_graph_bind_symbol(zn_graph *g, const char *sym, int64_t value);
/* Replaces a graph input's shape (`--shape input_ids:1x128`): binds the symbols it had and
 * checks concrete dims agree. */
zn_status zn_graph_bind_input_shape(zn_graph *g, const char *input, int rank, const int64_t *dims);

/* Structural checks: dangling inputs, cycles (nodes are re-sorted topologically), arity,
 * attribute types. The error names the node and the fix. */
zn_status zn_graph_validate(zn_graph *g);
/* Fills every tensor's dtype and shape from the inputs; with `fold` set, evaluates nodes whose
 * inputs are all constant (shape arithmetic) and turns their outputs into constants. */
zn_status zn_graph_infer_shapes(zn_graph *g, bool fold);

/* Counts for `models` and `inspect` (after shape inference; FLOPs count a multiply-add as 2). */
typedef struct zn_graph_stats {
    int64_t params;          /* elements of float constants */
    int64_t param_bytes;
    double flops;            /* -1 when shapes are not concrete */
    int nodes;
    int node_count_by_op[ZN_OP_COUNT];
} zn_graph_stats;
zn_status zn_graph_get_stats(const zn_graph *g, zn_graph_stats *out);

/* ---- compile ----------------------------------------------------------------------------- */

/* f32: IEEE fp32 everywhere. tf32: fp32 tensors, GEMM/conv on TF32 tensor cores (CUDA).
 * f16 / bf16: every float tensor lowered at compile time (weights converted once), fp32
 * accumulation (CUDA). */
typedef enum zn_precision { ZN_PRECISION_F32 = 0, ZN_PRECISION_F16, ZN_PRECISION_BF16, ZN_PRECISION_TF32 } zn_precision;
typedef enum zn_mode {
    ZN_MODE_DEFAULT = 0,
    ZN_MODE_REDUCE_OVERHEAD, /* CUDA graphs, no per-run allocation */
    ZN_MODE_MAX_AUTOTUNE,    /* time every applicable kernel per node, keep the fastest */
} zn_mode;

/* Hooks around each compile phase (NVTX ranges attach here; the engine knows nothing of them). */
typedef struct zn_compile_observer {
    void *user;
    void (*pass_begin)(void *user, const char *pass);
    void (*pass_end)(void *user, const char *pass);
} zn_compile_observer;

typedef struct zn_compile_config {
    zn_backend backend;
    zn_precision precision;
    zn_mode mode;
    int threads;        /* 0: one per online core */
    int max_batch;      /* 0: the batch the graph's inputs were bound to */
    bool reference;     /* reference kernels only, no passes: the ground-truth plan */
    bool no_passes;     /* skip optimisation passes (folding of shape arithmetic still runs) */
    const zn_compile_observer *observer; /* NULL: none */
} zn_compile_config;

zn_compile_config zn_compile_config_default(void);
const char *zn_precision_name(zn_precision p);
const char *zn_mode_name(zn_mode m);
int zn_precision_parse(const char *s); /* -1 if unknown */
int zn_mode_parse(const char *s);
int zn_backend_parse(const char *s);

typedef struct zn_plan zn_plan;

#define ZN_MAX_PASSES 16
typedef struct zn_pass_report {
    char name[32];
    int changes;        /* nodes removed, fused or folded */
    double ms;
    char detail[160];
} zn_pass_report;

typedef struct zn_compile_summary {
    zn_backend backend;
    zn_precision precision;
    zn_mode mode;
    int threads;
    int nodes_before, nodes_after;
    int n_passes;
    zn_pass_report passes[ZN_MAX_PASSES];
    int fusions_by_op[ZN_OP_COUNT];  /* fused nodes produced, by fused op */
    size_t planned_peak_bytes;       /* activation arena size */
    size_t naive_bytes;              /* sum of every activation's size */
    size_t weight_bytes;
    size_t scratch_bytes;
    int inplace_count;               /* outputs sharing their input's memory */
    double compile_ms;
    double flops;                    /* per run */
    /* CUDA plans */
    int device_steps;                /* steps running CUDA kernels */
    int cpu_fallback_steps;          /* steps with no CUDA kernel, run on the CPU */
    int copy_steps;                  /* host<->device copies inserted around the fallbacks */
    size_t device_arena_bytes;       /* per session, included in planned_peak_bytes */
    size_t device_weight_bytes;      /* weights uploaded once per plan */
    bool cuda_graph;                 /* reduce-overhead captures each session's run as a CUDA graph */
    char device_name[256];           /* the GPU the plan runs on */
    char note[640];                  /* why auto chose the CPU, why no CUDA graph, ... ("" if none) */
} zn_compile_summary;

/* Compiles a validated graph whose inputs are bound to concrete shapes. The graph is not
 * modified (the plan keeps its own copy). */
zn_status zn_compile(const zn_graph *g, const zn_compile_config *cfg, zn_plan **out);
void zn_plan_free(zn_plan *plan);
const zn_compile_summary *zn_plan_summary(const zn_plan *plan);
/* The optimised graph the plan runs (shapes concrete). */
const zn_graph *zn_plan_graph(const zn_plan *plan);

typedef struct zn_io_info {
    const char *name;
    zn_dtype dtype;
    int rank;
    int64_t dims[ZN_MAX_RANK];
} zn_io_info;
int zn_plan_num_inputs(const zn_plan *plan);
int zn_plan_num_outputs(const zn_plan *plan);
zn_io_info zn_plan_input(const zn_plan *plan, int i);
zn_io_info zn_plan_output(const zn_plan *plan, int i);

typedef struct zn_step_info {
    const char *node;    /* node name */
    zn_op op;
    const char *kernel;  /* chosen kernel's name */
    double flops;
    int64_t out_dims[ZN_MAX_RANK];
    int out_rank;
} zn_step_info;
int zn_plan_num_steps(const zn_plan *plan);
zn_step_info zn_plan_step(const zn_plan *plan, int i);

/* ---- sessions and observers -------------------------------------------------------------- */

typedef struct zn_session zn_session;

/* Hooks the runtime calls; profiling and NVTX attach here. Any hook may be NULL. */
typedef struct zn_observer {
    void *user;
    void (*run_begin)(void *user, const zn_session *s);
    void (*run_end)(void *user, const zn_session *s, zn_status st);
    void (*step_begin)(void *user, const zn_session *s, int step);
    void (*step_end)(void *user, const zn_session *s, int step);
} zn_observer;

zn_status zn_session_new(const zn_plan *plan, zn_session **out);
void zn_session_free(zn_session *s);
const zn_plan *zn_session_plan(const zn_session *s);
void zn_session_set_observer(zn_session *s, const zn_observer *obs); /* NULL removes */

/* inputs: one view per plan input, in order, shape equal to the plan's (dtype must match).
 * outputs: one per plan output; where data is NULL it is set to session-owned memory valid
 * until the next run, otherwise the result is copied there (dims and dtype are filled). */
zn_status zn_session_run(zn_session *s, const zn_view *inputs, int n_inputs,
                         zn_view *outputs, int n_outputs);

/* ---- memory accounting (counting allocator) ----------------------------------------------- */
size_t zn_memory_in_use(void);
size_t zn_memory_peak(void);

#ifdef __cplusplus
}
#endif
#endif
