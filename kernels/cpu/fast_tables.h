/* fast_tables.h — the CPU backend's fast kernel tables (priority 10, SIMD paths picked at run
 * time), one per source file; the registry lists them beside the reference tables
 * (cpu_tables.h). Each kernel's supports() narrows to the cases it speeds up; everything else
 * falls to the reference kernel of the same op. */
#ifndef ZN_FAST_TABLES_H
#define ZN_FAST_TABLES_H

#include "../kernel.h"

extern const zn_kernel_table zn_fast_linalg_table;      /* fast_linalg.c: MatMul, Gemm, ZnLinear, ZnAttention */
extern const zn_kernel_table zn_fast_conv_table;        /* fast_conv.c: Conv, ZnConv, pools */
extern const zn_kernel_table zn_fast_elementwise_table; /* fast_elementwise.c */

#endif
