/* broadcast.h — ONNX/numpy multidirectional broadcasting for CPU kernels: a plan that maps
 * each output element to an element of up to ZN_BCAST_MAX_IN inputs, and a driver that walks
 * the output in contiguous segments.
 *
 * The plan right-aligns every input against the output, gives broadcast dims stride 0 and
 * merges adjacent dims that every operand walks the same way, so the common cases collapse:
 * equal shapes -> one segment of stride 1 for everyone; scalar operand -> stride 0; bias over
 * the last dim -> rows of C with the bias at offset 0, stride 1. Kernels receive a segment
 * (output offset, per-input offset, per-input stride 0 or 1, length) and run a contiguous
 * inner loop. This is not shape inference (see engine/infer_elementwise.c) and does not check
 * dtypes; it works in elements, not bytes.
 */
#ifndef ZN_BROADCAST_H
#define ZN_BROADCAST_H

#include <stdbool.h>
#include <stdint.h>

#include "../../engine/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zn_threadpool;

#define ZN_BCAST_MAX_IN 3

typedef struct zn_bcast {
    int n_in;
    int rank;                                       /* after merging; >= 1 */
    int64_t dims[ZN_MAX_RANK];                      /* merged output dims */
    int64_t strides[ZN_BCAST_MAX_IN][ZN_MAX_RANK];  /* element strides per input (0: broadcast) */
    int64_t numel;                                  /* output elements */
    int64_t inner;                                  /* dims[rank-1]: segment length */
    int64_t inner_stride[ZN_BCAST_MAX_IN];          /* 0 or 1 */
} zn_bcast;

/* Plans the walk of an output of shape (out_rank, out_dims) over n_in inputs. Returns false
 * when an input does not broadcast to the output shape (rank too big or a dim that is neither
 * 1 nor equal). */
bool zn_bcast_init(zn_bcast *b, int out_rank, const int64_t *out_dims, int n_in,
                   const int *in_ranks, const int64_t *const *in_dims);

/* Convenience over views: inputs in[0..n_in) against out's shape. */
bool zn_bcast_init_views(zn_bcast *b, const zn_view *out, int n_in, const zn_view *const *in);

/* One contiguous run of output elements [out_off, out_off + n); input k's elements are
 * in_off[k] + i * in_stride[k] for i in [0, n). */
typedef void (*zn_bcast_fn)(void *arg, int64_t out_off, const int64_t *in_off,
                            const int64_t *in_stride, int64_t n);

/* Calls fn over segments covering the whole output, in parallel over the pool when the
 * output is large (pool may be NULL). Segments never cross a row of the merged inner dim. */
void zn_bcast_for(const zn_bcast *b, struct zn_threadpool *pool, zn_bcast_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif
