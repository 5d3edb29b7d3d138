/* onnx_export.h — writes a zn_graph as an ONNX ModelProto file, so that other runtimes (ONNX
 * Runtime, PyTorch through onnx2torch) can run exactly the weights Zenith runs.
 *
 * What it writes: ir_version 8 with opset 17 of the default domain (or the opset asked for,
 * 13 to 21, with the IR version that goes with it), graph inputs with their dims (symbolic dims
 * as dim_param, so a peer binds "batch" and "seq" itself), graph outputs with their element
 * type, every constant a node reads as an initializer (raw_data, little-endian), and the nodes
 * with attributes of every kind. Attribute/input forms that moved between opsets (axes of
 * Squeeze/Unsqueeze/Reduce*, Split's split, Clip's bounds) are written in the target opset's
 * form, and Gelu below opset 20 is written as its Erf (or Tanh) decomposition, the pattern
 * PyTorch's exporter produces.
 *
 * What it refuses: Zenith's fused ops (Zn*, produced by the optimisation passes: export the
 * graph before compiling, not zn_plan_graph) and SiLU, which ONNX does not have. It does not
 * write external data (a model over 2 GiB fails) and runs no shape inference.
 */
#ifndef ZN_ONNX_EXPORT_H
#define ZN_ONNX_EXPORT_H

#include <stdint.h>

#include "zenith.h"

typedef struct zn_onnx_export_options {
    int64_t opset;        /* default-domain opset, 13 to 21; 0 means 17 */
    const char *producer; /* producer_name; NULL means "zenith" */
} zn_onnx_export_options;

/* Writes g to path (ir_version 8, opset 17). The graph is not modified. */
zn_status zn_graph_to_onnx(const zn_graph *g, const char *path);
/* The same with options (opt may be NULL). */
zn_status zn_graph_to_onnx_opts(const zn_graph *g, const char *path,
                                const zn_onnx_export_options *opt);

#endif
