/* matmul_layout.c — MatMul's batch broadcasting (see matmul_layout.h). */
#include "matmul_layout.h"

#include <string.h>

#include "../../engine/error.h"

zn_status zn_matmul_layout_init(zn_matmul_layout *L, const zn_view *A, const zn_view *B, const zn_view *Y) {
    memset(L, 0, sizeof *L);
    int ra = A->rank, rb = B->rank;
    int64_t M = ra >= 2 ? A->dims[ra - 2] : 1;
    int64_t K = A->dims[ra - 1];
    int64_t N = rb >= 2 ? B->dims[rb - 1] : 1;
    int64_t Kb = rb >= 2 ? B->dims[rb - 2] : B->dims[0];
    if (K != Kb)
        return zn_error_set(ZN_ERR_RUNTIME, "MatMul inner dims differ at run time (%lld vs %lld)",
                            (long long)K, (long long)Kb);
    int abr = ra > 2 ? ra - 2 : 0, bbr = rb > 2 ? rb - 2 : 0;
    L->M = M;
    L->N = N;
    L->K = K;
    L->b_batched = bbr > 0;
    L->batch_rank = abr > bbr ? abr : bbr;
    int64_t batches = 1;
    int64_t sa = M * K, sb = K * N;
    for (int64_t d = L->batch_rank - 1; d >= 0; d--) {
        int64_t ia = d - (L->batch_rank - abr), ib = d - (L->batch_rank - bbr);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        int64_t dout = da > db ? da : db;
        if ((da != dout && da != 1) || (db != dout && db != 1))
            return zn_error_set(ZN_ERR_RUNTIME, "MatMul batch dims do not broadcast at run time");
        L->out_batch[d] = dout;
        L->a_bstride[d] = da == 1 ? 0 : sa;
        L->b_bstride[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        batches *= dout;
    }
    L->batches = batches;
    if (zn_view_numel(Y) != batches * M * N)
        return zn_error_set(ZN_ERR_RUNTIME, "MatMul output holds %lld elements, expected %lld",
                            (long long)zn_view_numel(Y), (long long)(batches * M * N));
    return ZN_OK;
}

void zn_matmul_batch_offsets(const zn_matmul_layout *L, int64_t bi, int64_t *ao, int64_t *bo) {
    int64_t oa = 0, ob = 0;
    for (int64_t d = L->batch_rank - 1; d >= 0; d--) {
        int64_t idx = bi % L->out_batch[d];
        bi /= L->out_batch[d];
        oa += idx * L->a_bstride[d];
        ob += idx * L->b_bstride[d];
    }
    *ao = oa;
    *bo = ob;
}
