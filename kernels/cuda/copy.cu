/* copy.cu — the CUDA kernels that only move or keep bytes: ZnCopy between host and device
 * (the copies the compiler makes explicit around CPU fallbacks) and the alias ops (Reshape,
 * Flatten, Squeeze, Unsqueeze, Identity, Dropout) whose output is their input's bytes.
 *
 * Alias outputs normally share their input's storage (the planner arranges it) and the run is
 * empty; when the planner had to give an output storage of its own (a graph output aliasing a
 * constant or an input) the run copies device to device on the stream.
 * A copy to the host waits for the stream: the CPU kernel after it reads the bytes at once.
 * A copy to the device also waits, because the host arena region it reads may be reused by the
 * next CPU step. Both are flagged ZN_KERNEL_HOST_SYNC, so a plan with CPU fallbacks is run
 * eagerly rather than captured as one CUDA graph.
 */
#include <string.h>

#include "common.cuh"

/* ---- launchers ------------------------------------------------------------------------------ */

static bool copy_supports(const zn_kernel_node *n) {
    const char *to = zn_attrs_string(n->attrs, n->n_attrs, "to", "");
    return n->in[0].dtype == n->out[0].dtype && (!strcmp(to, "host") || !strcmp(to, "device"));
}

static zn_status copy_run(const zn_exec_ctx *ctx) {
    const char *to = zn_attrs_string(ctx->node->attrs, ctx->node->n_attrs, "to", "");
    bool to_host = !strcmp(to, "host");
    size_t bytes = zn_view_bytes(&ctx->out[0]);
    if (!bytes) return ZN_OK;
    /* cudaMemcpyDefault (unified addressing) rather than a fixed direction: the source of a copy
     * to the device can be a constant's device copy when a CPU step aliased it */
    ZN_CUDA_TRY(cudaMemcpyAsync(ctx->out[0].data, ctx->in[0].data, bytes, cudaMemcpyDefault, zn_stream(ctx)),
                to_host ? "copying a tensor to the host for a CPU step" : "copying a CPU step's output to the GPU");
    ZN_CUDA_TRY(cudaStreamSynchronize(zn_stream(ctx)), "waiting for a host<->device copy");
    return ZN_OK;
}

static bool alias_supports(const zn_kernel_node *n) {
    if (n->in[0].dtype != n->out[0].dtype || zn_view_numel(&n->in[0]) != zn_view_numel(&n->out[0])) return false;
    if (n->op == ZN_OP_DROPOUT) {
        if (n->n_out > 1 && n->out[1].dtype != ZN_DTYPE_UNDEFINED && n->out[1].dtype != ZN_BOOL) return false;
        if (n->n_in > 2 && n->in[2].dtype != ZN_DTYPE_UNDEFINED) { /* training_mode: a constant false */
            const zn_view *t = &n->in[2];
            if (!t->data || t->dtype != ZN_BOOL || ((const unsigned char *)t->data)[0]) return false;
        }
    }
    return true;
}

static zn_status alias_run(const zn_exec_ctx *ctx) {
    size_t bytes = zn_view_bytes(&ctx->out[0]);
    if (ctx->out[0].data != ctx->in[0].data && bytes)
        ZN_CUDA_TRY(cudaMemcpyAsync(ctx->out[0].data, ctx->in[0].data, bytes, cudaMemcpyDeviceToDevice, zn_stream(ctx)),
                    "copying an aliased tensor");
    if (ctx->node->op == ZN_OP_DROPOUT && ctx->n_out > 1 && ctx->out[1].data && ctx->out[1].dtype == ZN_BOOL)
        ZN_CUDA_TRY(cudaMemsetAsync(ctx->out[1].data, 1, (size_t)zn_view_numel(&ctx->out[1]), zn_stream(ctx)),
                    "writing Dropout's mask"); /* inference: every element kept */
    return ZN_OK;
}

/* ---- table ---------------------------------------------------------------------------------- */

#define ALIAS(nm, op) \
    {nm, op, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, ZN_KERNEL_ALIAS, alias_supports, NULL, NULL, alias_run}

static const zn_kernel_spec specs[] = {
    {"cuda.copy", ZN_OP_COPY, ZN_BACKEND_CUDA, ZN_DTYPE_UNDEFINED, 10, ZN_KERNEL_HOST_SYNC, copy_supports, NULL, NULL,
     copy_run},
    ALIAS("cuda.reshape", ZN_OP_RESHAPE),
    ALIAS("cuda.flatten", ZN_OP_FLATTEN),
    ALIAS("cuda.squeeze", ZN_OP_SQUEEZE),
    ALIAS("cuda.unsqueeze", ZN_OP_UNSQUEEZE),
    ALIAS("cuda.identity", ZN_OP_IDENTITY),
    ALIAS("cuda.dropout", ZN_OP_DROPOUT),
};

ZN_KERNEL_TABLE(zn_cuda_copy_table, specs);
