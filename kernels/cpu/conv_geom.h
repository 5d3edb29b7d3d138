/* conv_geom.h — the window geometry of Conv and pooling nodes, shared by the reference and the
 * fast CPU kernels: kernel shape (from the attribute or W), strides, dilations and pads with
 * auto_pad resolved, padded to 3 spatial dims (unit dims in front). */
#ifndef ZN_CONV_GEOM_H
#define ZN_CONV_GEOM_H

#include "../kernel.h"

/* The window geometry of one node, padded to 3 spatial dims (unit dims in front). */
typedef struct zn_conv_geom {
    int nsp;                /* spatial dims of the node: 1..3 */
    int64_t in[3], out[3];  /* spatial sizes */
    int64_t k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_sz, out_sz, k_sz; /* products */
} zn_conv_geom;

/* Reads kernel_shape (or W's spatial dims when w != NULL and the attribute is absent), strides,
 * dilations and pads (auto_pad resolved against the output sizes). False when an attribute does
 * not fit the rank. */
bool zn_conv_geom_init(zn_conv_geom *g, const zn_kernel_node *n, const zn_view *x, const zn_view *y,
                       const zn_view *w);
/* Every view f32 (omitted optional inputs allowed). */
bool zn_f32_views(const zn_view *v, int n);
/* 1x1 window, stride 1, no padding: the conv is a plain GEMM, no im2col. */
bool zn_conv_pointwise(const zn_conv_geom *g);
/* The geometry and group of a Conv node (X, W[, B] -> Y); false when they do not fit. */
bool zn_conv_node_geom(const zn_kernel_node *n, zn_conv_geom *g, int64_t *group);

/* A MaxPool / AveragePool node the CPU kernels run: f32, one output (no Indices), default
 * storage order, geometry that fits, N and C kept. */
bool zn_pool_node_supported(const zn_kernel_node *n);

#endif
