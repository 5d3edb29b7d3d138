/* kernel.h — what a kernel is: a spec in a const table, a capability query and a run function.
 *
 * Kernels see a node only through zn_kernel_node (op, attributes, input/output shapes and
 * dtypes, constant input data); they never see the graph. A kernel's run() receives dense
 * row-major views whose memory the runtime owns. Every op has a reference CPU kernel (plain,
 * obviously right, the ground truth of the tests); faster kernels are extra entries with a
 * higher priority whose supports() narrows what they accept.
 */
#ifndef ZN_KERNEL_H
#define ZN_KERNEL_H

#include "../engine/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zn_threadpool;
struct zn_cuda_ctx;

/* zn_kernel_node.flags: how the plan was compiled, for kernels whose numerics it changes. */
enum {
    ZN_KNODE_TF32 = 1u << 0, /* fp32 GEMM/conv may use TF32 tensor cores (--precision tf32) */
};

/* A node as a kernel sees it at selection and prepare time. in[i].data is non-NULL only for
 * inputs that are compile-time constants (weights), so prepare() can prepack them. For a CUDA
 * kernel that pointer is host memory at prepare time; at run time every view (constants
 * included) points to device memory.
 * An omitted optional input has dtype ZN_DTYPE_UNDEFINED and rank 0. */
typedef struct zn_kernel_node {
    zn_op op;
    const char *name;
    const zn_attr *attrs;
    int n_attrs;
    int n_in;
    const zn_view *in;
    int n_out;
    const zn_view *out;
    unsigned flags;     /* ZN_KNODE_* */
} zn_kernel_node;

/* What prepare() hands back: immutable state shared by every session of a plan, and the
 * per-session scratch size run() needs (the memory planner places it). */
typedef struct zn_kernel_prep {
    void *state;
    size_t scratch_bytes;
} zn_kernel_prep;

typedef struct zn_exec_ctx {
    const zn_kernel_node *node;
    int n_in;
    const zn_view *in;
    int n_out;
    zn_view *out;
    const void *state;
    void *scratch;
    struct zn_threadpool *pool; /* NULL: run single-threaded */
    struct zn_cuda_ctx *cuda;   /* CUDA kernels: the session's stream and library handles
                                 * (kernels/cuda/cuda_ctx.h); NULL for CPU kernels */
} zn_exec_ctx;

enum {
    ZN_KERNEL_INPLACE = 1u << 0, /* out[0] may share in[0]'s memory (same size, element-wise) */
    ZN_KERNEL_ALIAS = 1u << 1,   /* out[0] is in[0]'s bytes unchanged (Reshape, Identity) */
    ZN_KERNEL_HOST_SYNC = 1u << 2, /* waits on the host (device->host copies): a plan with such a
                                    * step cannot be captured as one CUDA graph */
};

typedef struct zn_kernel_spec {
    const char *name;   /* "ref.matmul", "cpu.gemm_avx512", ... */
    zn_op op;
    zn_backend backend;
    zn_dtype dtype;     /* main compute dtype; ZN_DTYPE_UNDEFINED: decided by supports() */
    int priority;       /* the highest-priority kernel whose supports() accepts a node wins */
    unsigned flags;
    bool (*supports)(const zn_kernel_node *node);                   /* NULL: accepts all */
    zn_status (*prepare)(const zn_kernel_node *node, zn_kernel_prep *prep); /* optional */
    void (*release)(void *state);                                   /* optional */
    zn_status (*run)(const zn_exec_ctx *ctx);
} zn_kernel_spec;

/* A table of kernels that one source file contributes to the registry. */
typedef struct zn_kernel_table {
    const zn_kernel_spec *specs;
    int count;
} zn_kernel_table;

#define ZN_KERNEL_TABLE(var, array) \
    const zn_kernel_table var = {array, (int)(sizeof(array) / sizeof(array[0]))}

#ifdef __cplusplus
}
#endif

#endif
