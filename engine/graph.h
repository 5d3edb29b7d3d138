/* graph.h — the IR's internals, for the engine's own modules (shape inference, passes, compile,
 * ONNX import). Everyone else uses the id-based API in zenith.h.
 *
 * Tensors and nodes live in growable arrays; ids are indices. After zn_graph_validate the
 * node array is in topological order. Removing nodes (passes) marks them dead; compaction
 * happens in zn_graph_compact.
 */
#ifndef ZN_GRAPH_H
#define ZN_GRAPH_H

#include "zenith.h"
#include "../kernels/kernel.h"

enum {
    ZN_TENSOR_INPUT = 1u << 0,
    ZN_TENSOR_OUTPUT = 1u << 1,
    ZN_TENSOR_CONST = 1u << 2,
};

typedef struct zn_tensor {
    char *name;
    zn_dtype dtype;
    zn_shape shape;
    unsigned flags;
    void *data;      /* constant data (owned), NULL otherwise */
    int producer;    /* node id, or -1 for inputs and constants */
} zn_tensor;

typedef struct zn_node {
    zn_op op;
    char *name;
    int n_inputs;
    int *inputs;     /* tensor ids; -1 = omitted optional input */
    int n_outputs;
    int *outputs;
    int n_attrs;
    zn_attr *attrs;
    bool dead;       /* removed by a pass; dropped by zn_graph_compact */
} zn_node;

struct zn_graph {
    char *name;
    zn_tensor *tensors;
    int n_tensors, cap_tensors;
    zn_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;
    int n_inputs, cap_inputs;
    int *outputs;
    int n_outputs, cap_outputs;
    char **symbols;
    int n_symbols;
    zn_model_meta meta;
    /* tensor name -> id, open addressing (ids + 1; 0 = empty); rebuilt on compaction */
    int *name_index;
    int name_index_cap;
};

/* Drops dead nodes and tensors nothing references; keeps ids of inputs/outputs valid by
 * renumbering everything. */
void zn_graph_compact(zn_graph *g);
/* Consumers of each tensor: counts[t] and a flat list; caller frees with free(). */
int *zn_graph_consumer_counts(const zn_graph *g);
/* "x: f32[1,3,224,224], w: f32[64,3,7,7]" for error contexts. */
void zn_graph_describe_inputs(const zn_graph *g, const zn_node *n, char *buf, size_t cap);
/* "[1,batch,128]" */
void zn_shape_format(const zn_graph *g, const zn_shape *s, char *buf, size_t cap);
/* Builds the kernel's view of a node (views of inputs/outputs with shapes and constant data).
 * views must hold n_inputs + n_outputs entries. */
void zn_graph_kernel_node(const zn_graph *g, const zn_node *n, zn_view *views, zn_kernel_node *out);

/* Attribute helpers on nodes. */
zn_attr *zn_node_attr_add(zn_node *n, const char *name, zn_attr_type type);
void zn_attrs_free(zn_attr *attrs, int n);
zn_status zn_attrs_copy(zn_attr **dst, const zn_attr *src, int n);
/* Per-node FLOPs from concrete shapes (multiply-add = 2). */
double zn_node_flops(const zn_graph *g, const zn_node *n);

#endif
