/* cpu_tables.h — the CPU backend's kernel tables, one per source file; the registry lists them.
 * Reference kernels (priority 0, backend CPU, name "ref.<op>") cover every op in ops.def. */
#ifndef ZN_CPU_TABLES_H
#define ZN_CPU_TABLES_H

#include "../kernel.h"

extern const zn_kernel_table zn_ref_elementwise_table; /* ref_elementwise.c */
extern const zn_kernel_table zn_ref_reduce_table;      /* ref_reduce.c */
extern const zn_kernel_table zn_ref_norm_table;        /* ref_norm.c (incl. fused Zn* ops) */
extern const zn_kernel_table zn_ref_linalg_table;      /* ref_linalg.c */
extern const zn_kernel_table zn_ref_conv_table;        /* ref_conv.c (conv and pooling) */
extern const zn_kernel_table zn_ref_shape_table;       /* ref_shape.c */
extern const zn_kernel_table zn_ref_fused_table;       /* ref_fused.c (ZnLinear, ZnAttention, ZnConv) */

#endif
