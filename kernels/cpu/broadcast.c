/* broadcast.c — broadcasting plans and the segment walker (see broadcast.h). */
#include "broadcast.h"

#include <string.h>

#include "threadpool.h"

bool zn_bcast_init(zn_bcast *b, int out_rank, const int64_t *out_dims, int n_in,
                   const int *in_ranks, const int64_t *const *in_dims) {
    memset(b, 0, sizeof *b);
    if (n_in < 1 || n_in > ZN_BCAST_MAX_IN || out_rank < 0 || out_rank > ZN_MAX_RANK) return false;
    b->n_in = n_in;
    /* full-rank strides, broadcast dims get 0 */
    int64_t st[ZN_BCAST_MAX_IN][ZN_MAX_RANK];
    for (int k = 0; k < n_in; k++) {
        int r = in_ranks[k];
        if (r < 0 || r > out_rank) return false;
        int64_t s = 1;
        for (int d = out_rank - 1; d >= 0; d--) {
            int id = d - (out_rank - r);
            if (id < 0) {
                st[k][d] = 0;
                continue;
            }
            int64_t n = in_dims[k][id];
            if (n == out_dims[d]) {
                st[k][d] = n == 1 ? 0 : s;
            } else if (n == 1) {
                st[k][d] = 0;
            } else {
                return false;
            }
            s *= n;
        }
    }
    /* drop size-1 dims and merge dims every operand walks contiguously */
    int rank = 0;
    int64_t numel = 1;
    for (int d = 0; d < out_rank; d++) {
        numel *= out_dims[d];
        if (out_dims[d] == 1) continue;
        if (rank > 0) {
            bool merge = true;
            for (int k = 0; k < n_in; k++)
                if (b->strides[k][rank - 1] != st[k][d] * out_dims[d]) merge = false;
            if (merge) {
                b->dims[rank - 1] *= out_dims[d];
                for (int k = 0; k < n_in; k++) b->strides[k][rank - 1] = st[k][d];
                continue;
            }
        }
        b->dims[rank] = out_dims[d];
        for (int k = 0; k < n_in; k++) b->strides[k][rank] = st[k][d];
        rank++;
    }
    if (rank == 0) { /* scalar output (or all dims 1) */
        b->dims[0] = 1;
        rank = 1;
    }
    b->rank = rank;
    b->numel = numel;
    b->inner = b->dims[rank - 1];
    for (int k = 0; k < n_in; k++) b->inner_stride[k] = b->strides[k][rank - 1];
    return true;
}

bool zn_bcast_init_views(zn_bcast *b, const zn_view *out, int n_in, const zn_view *const *in) {
    int ranks[ZN_BCAST_MAX_IN];
    const int64_t *dims[ZN_BCAST_MAX_IN];
    if (n_in < 1 || n_in > ZN_BCAST_MAX_IN) return false;
    for (int k = 0; k < n_in; k++) {
        ranks[k] = in[k]->rank;
        dims[k] = in[k]->dims;
    }
    return zn_bcast_init(b, out->rank, out->dims, n_in, ranks, dims);
}

typedef struct walk_job {
    const zn_bcast *b;
    zn_bcast_fn fn;
    void *arg;
} walk_job;

static void walk_range(void *opaque, int64_t begin, int64_t end) {
    const walk_job *j = opaque;
    const zn_bcast *b = j->b;
    const int outer = b->rank - 1; /* dims[0..outer) are walked by the odometer */
    int64_t idx[ZN_MAX_RANK] = {0};
    int64_t off[ZN_BCAST_MAX_IN] = {0};
    int64_t row = begin / b->inner, col = begin % b->inner;
    for (int d = outer - 1; d >= 0; d--) {
        idx[d] = row % b->dims[d];
        row /= b->dims[d];
        for (int k = 0; k < b->n_in; k++) off[k] += idx[d] * b->strides[k][d];
    }
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = b->inner - col;
        if (n > end - pos) n = end - pos;
        int64_t seg_off[ZN_BCAST_MAX_IN];
        for (int k = 0; k < b->n_in; k++) seg_off[k] = off[k] + col * b->inner_stride[k];
        j->fn(j->arg, pos, seg_off, b->inner_stride, n);
        pos += n;
        col = 0;
        /* next row: advance the odometer */
        for (int d = outer - 1; d >= 0; d--) {
            idx[d]++;
            for (int k = 0; k < b->n_in; k++) off[k] += b->strides[k][d];
            if (idx[d] < b->dims[d]) break;
            for (int k = 0; k < b->n_in; k++) off[k] -= idx[d] * b->strides[k][d];
            idx[d] = 0;
        }
    }
}

void zn_bcast_for(const zn_bcast *b, struct zn_threadpool *pool, zn_bcast_fn fn, void *arg) {
    if (b->numel <= 0) return;
    walk_job j = {b, fn, arg};
    zn_parallel_for(pool, b->numel, 1 << 15, walk_range, &j);
}
