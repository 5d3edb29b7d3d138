/* infer.h — per-op output dtype and shape inference on concrete shapes.
 *
 * Each function reads the node's inputs (n->in[i]: dtype, rank, dims; data non-NULL only for
 * compile-time constants, which data-dependent ops such as Reshape, Expand, Slice, Range,
 * ConstantOfShape, Tile, Pad, Split and the axes inputs need) and the attributes, and fills
 * out[k].dtype / rank / dims for every output (out[k].data is left alone). On bad shapes it
 * returns zn_error_set(ZN_ERR_SHAPE, ...) with a message naming the mismatch and the fix,
 * e.g. "MatMul inner dims differ: A is [2,3], B is [4,5] (A's last dim must equal B's
 * second-to-last)". The dispatcher adds the node's name and input shapes to the error.
 *
 * Groups (one file each), matching the reference kernel tables in kernels/cpu/:
 *   infer_elementwise.c  unary/binary arithmetic, activations, comparisons, logic, Where,
 *                        Clip, Min/Max, Cast
 *   infer_reduce.c       Reduce*, ArgMax, Softmax
 *   infer_norm.c         LayerNormalization, BatchNormalization, the fused Zn* ops
 *   infer_linalg.c       MatMul, Gemm
 *   infer_conv.c         Conv, MaxPool, AveragePool, GlobalAveragePool
 *   infer_shape.c        Reshape ... Range (shape and data movement ops), Identity, Dropout,
 *                        Constant
 */
#ifndef ZN_INFER_H
#define ZN_INFER_H

#include "../kernels/kernel.h"

zn_status zn_infer_node(const zn_kernel_node *n, zn_view *out);

zn_status zn_infer_elementwise(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_reduce(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_norm(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_linalg(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_conv(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_shape_ops(const zn_kernel_node *n, zn_view *out);
zn_status zn_infer_fused(const zn_kernel_node *n, zn_view *out); /* infer_fused.c: ZnLinear, ZnAttention, ZnConv */

/* Multidirectional (numpy) broadcast of two shapes; ZN_ERR_SHAPE with both shapes named when
 * they do not broadcast. */
zn_status zn_broadcast_shapes(int ra, const int64_t *a, int rb, const int64_t *b,
                              int *rank_out, int64_t *dims_out);

#endif
