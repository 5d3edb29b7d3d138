/* matmul_layout.h — MatMul's numpy semantics as numbers, shared by the reference and the fast
 * kernels: a 1-D A is (1,K) and a 1-D B is (K,1); batch dims broadcast. Batch bi of the output
 * reads A and B at the offsets zn_matmul_batch_offsets gives. */
#ifndef ZN_MATMUL_LAYOUT_H
#define ZN_MATMUL_LAYOUT_H

#include "../kernel.h"

typedef struct zn_matmul_layout {
    int64_t M, N, K;
    int64_t batches;       /* product of the output's batch dims */
    bool b_batched;        /* B has batch dims of its own (else one B serves every batch) */
    int64_t batch_rank;
    int64_t out_batch[ZN_MAX_RANK];
    int64_t a_bstride[ZN_MAX_RANK], b_bstride[ZN_MAX_RANK]; /* per out batch dim, elements */
} zn_matmul_layout;

/* y: (batch..., M, N) = a: (batch_a..., M, K) @ b: (batch_b..., K, N). ZN_ERR_RUNTIME when the
 * views disagree (inner dims, batch broadcast, output size). */
zn_status zn_matmul_layout_init(zn_matmul_layout *L, const zn_view *A, const zn_view *B, const zn_view *Y);
void zn_matmul_batch_offsets(const zn_matmul_layout *L, int64_t bi, int64_t *ao, int64_t *bo);

#endif
