/* onnx.h — the ONNX importer: a serialized ModelProto (opsets 1 to 21; 11 to 18 are the ones
 * tested) into a zn_graph.
 *
 * Graph inputs (minus initializers) with symbolic dims, initializers (raw_data, the typed
 * fields, external data files next to the model), Constant nodes, attributes, and the opset
 * differences of the ops Zenith has (Softmax's 2-D coercion before 13; axes moving from
 * attributes to inputs; Pad/Reshape/Slice attributes becoming constant inputs). Parsing is a
 * bounds-checked wire-format reader (pb.h): bad files fail with ZN_ERR_MODEL_FORMAT naming the
 * byte offset, unsupported ops with ZN_ERR_UNSUPPORTED naming the op, node, opset and the
 * nearest supported op. It does not run shape inference or any pass; the graph it returns has
 * passed zn_graph_validate.
 */
#ifndef ZN_ONNX_H
#define ZN_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "zenith.h"

typedef struct zn_onnx_options {
    int64_t max_bytes; /* refuse files larger; 0 = 4 GiB */
} zn_onnx_options;

/* Loads path; external data files are looked up in path's directory. opt may be NULL. */
zn_status zn_graph_from_onnx(const char *path, const zn_onnx_options *opt, zn_graph **out);
/* base_dir: where external data files are looked up (NULL: external data is an error). */
zn_status zn_graph_from_onnx_buffer(const void *buf, size_t len, const char *base_dir,
                                    const zn_onnx_options *opt, zn_graph **out);

#endif
