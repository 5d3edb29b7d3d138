/* shape_geom.h — how the shape ops read their parameter inputs (Slice's starts/steps under
 * ONNX's clamping rules, Pad's mode and begin pads), shared by the reference CPU kernels and
 * the CUDA kernels so both read a node exactly the same way. Output sizes are shape
 * inference's (engine/infer_shape.c). */
#ifndef ZN_SHAPE_GEOM_H
#define ZN_SHAPE_GEOM_H

#include <stdbool.h>
#include <stdint.h>

#include "../../engine/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* in[1..4] = starts, ends, axes, steps (i32 or i64, data readable on the host; axes and steps
 * optional) of a Slice over x. Fills start/step for every dim of x (untouched dims: 0 and 1);
 * false when the inputs are malformed (lengths differ, repeated or out-of-range axis, step 0). */
bool zn_slice_params(const zn_view *x, const zn_view *in, int n_in, int64_t *start, int64_t *step);

enum { ZN_PAD_CONSTANT, ZN_PAD_REFLECT, ZN_PAD_EDGE };

/* Pad's "mode" attribute as ZN_PAD_*; -1 when unknown. */
int zn_pad_mode(const zn_attr *attrs, int n_attrs);

/* Per-dim begin pads of x from the pads input (and the optional axes input, NULL when absent),
 * host-readable i32/i64; false when they do not fit x. */
bool zn_pad_begins(const zn_view *x, const zn_view *pads, const zn_view *axes, int64_t *pb);

#ifdef __cplusplus
}
#endif
#endif
