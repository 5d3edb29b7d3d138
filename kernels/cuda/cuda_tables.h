/* cuda_tables.h — the kernel tables the CUDA backend contributes to the registry (one per
 * source file in kernels/cuda/). Only included when the build defines ZN_WITH_CUDA. */
#ifndef ZN_CUDA_TABLES_H
#define ZN_CUDA_TABLES_H

#include "../kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const zn_kernel_table zn_cuda_copy_table;        /* copy.cu: ZnCopy, aliases (Reshape, ...) */
extern const zn_kernel_table zn_cuda_gemm_table;        /* gemm.cu: MatMul, Gemm, ZnLinear (cuBLASLt) */
extern const zn_kernel_table zn_cuda_attention_table;   /* attention.cu: ZnAttention */
extern const zn_kernel_table zn_cuda_norm_table;        /* norm.cu: LayerNorm, ZnAddLayerNorm, Softmax */
extern const zn_kernel_table zn_cuda_elementwise_table; /* elementwise.cu: unary, binary, fused bias ops, Cast, Where */
extern const zn_kernel_table zn_cuda_reduce_table;      /* reduce.cu: Reduce*, ArgMax */
extern const zn_kernel_table zn_cuda_shape_table;       /* shape.cu: Transpose, Concat, Split, Slice, Gather, ... */
extern const zn_kernel_table zn_cuda_conv_table;        /* conv.cu: Conv, ZnConv, pooling, BatchNorm (cuDNN) */

#ifdef __cplusplus
}
#endif
#endif
