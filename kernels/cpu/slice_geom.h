/* slice_geom.h — Slice's per-dim start and step under ONNX's clamping rules, shared by the
 * reference CPU kernel and the CUDA kernel so both read a Slice exactly the same way.
 * (The output size, which the ends decide, is shape inference's: engine/infer_shape.c.) */
#ifndef ZN_SLICE_GEOM_H
#define ZN_SLICE_GEOM_H

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

#ifdef __cplusplus
}
#endif
#endif
