/* autotune.c — max-autotune: time every kernel that supports a node and keep the fastest.
 *
 * Each candidate is prepared and run on the node's real shapes with its constant inputs (the
 * weights) and seeded random activations, once to warm up and then AUTOTUNE_RUNS times; the
 * best time wins (the minimum is the least noisy estimate of what a kernel can do). Ties go to
 * the registry's order, so autotuning never picks a slower kernel than priority would. This
 * costs compile time (a few runs of the model), which is what the mode is for.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels/cpu/threadpool.h"
#include "alloc.h"
#include "plan.h"

#define AUTOTUNE_RUNS 3

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Small values that keep every op finite (logs, divisions, exps). */
static void fill_random(zn_view *v, uint64_t *seed) {
    int64_t n = zn_view_numel(v);
    if (v->dtype == ZN_F32) {
        float *x = v->data;
        for (int64_t i = 0; i < n; i++) {
            *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = 0.25f + (float)((*seed >> 40) & 0xffff) / 131072.0f; /* [0.25, 0.75) */
        }
    } else {
        memset(v->data, 0, zn_view_bytes(v)); /* index 0 is valid for any table */
    }
}

/* Time of one candidate in ns, or -1 when it cannot run here. On success *prep holds its state. */
static int64_t time_candidate(const zn_kernel_spec *k, const zn_kernel_node *kn, zn_view *in, zn_view *out,
                              zn_threadpool *pool, zn_kernel_prep *prep) {
    memset(prep, 0, sizeof *prep);
    if (k->prepare && k->prepare(kn, prep) != ZN_OK) return -1;
    void *scratch = prep->scratch_bytes ? zn_aligned_alloc(prep->scratch_bytes) : NULL;
    if (prep->scratch_bytes && !scratch) goto fail;
    zn_exec_ctx ctx = {kn, kn->n_in, in, kn->n_out, out, prep->state, scratch, pool, NULL};
    if (k->run(&ctx) != ZN_OK) goto fail; /* warm-up */
    int64_t best = -1;
    for (int r = 0; r < AUTOTUNE_RUNS; r++) {
        int64_t t0 = now_ns();
        if (k->run(&ctx) != ZN_OK) goto fail;
        int64_t t = now_ns() - t0;
        if (best < 0 || t < best) best = t;
    }
    zn_free(scratch);
    return best;
fail:
    zn_free(scratch);
    if (k->release && prep->state) k->release(prep->state);
    memset(prep, 0, sizeof *prep);
    return -1;
}

zn_status zn_autotune_step(zn_step *st, const zn_kernel_spec *const *cands, int found, int threads, bool *changed) {
    *changed = false;
    const zn_kernel_node *kn = &st->kn;
    zn_view *in = calloc((size_t)(kn->n_in + kn->n_out), sizeof(zn_view));
    void **owned = calloc((size_t)(kn->n_in + kn->n_out), sizeof(void *));
    zn_threadpool *pool = threads > 1 ? zn_threadpool_acquire(threads) : NULL;
    zn_status status = ZN_OK;
    if (!in || !owned) {
        status = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory autotuning '%s'", kn->name);
        goto done;
    }
    zn_view *out = in + kn->n_in;
    uint64_t seed = 42;
    for (int i = 0; i < kn->n_in + kn->n_out; i++) {
        in[i] = i < kn->n_in ? kn->in[i] : kn->out[i - kn->n_in];
        if (in[i].dtype == ZN_DTYPE_UNDEFINED || in[i].data) continue; /* omitted, or a constant */
        owned[i] = zn_aligned_alloc(zn_view_bytes(&in[i]) + 64);
        if (!owned[i]) {
            status = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory autotuning '%s'", kn->name);
            goto done;
        }
        in[i].data = owned[i];
        if (i < kn->n_in) fill_random(&in[i], &seed);
    }
    int best = -1;
    int64_t best_ns = 0;
    zn_kernel_prep best_prep = {0};
    for (int c = 0; c < found; c++) {
        zn_kernel_prep prep;
        int64_t t = time_candidate(cands[c], kn, in, out, pool, &prep);
        if (t < 0) continue;
        if (best < 0 || t < best_ns) {
            if (best >= 0 && cands[best]->release && best_prep.state) cands[best]->release(best_prep.state);
            best = c;
            best_ns = t;
            best_prep = prep;
        } else if (cands[c]->release && prep.state) {
            cands[c]->release(prep.state);
        }
    }
    if (best < 0) { /* nothing ran: keep the priority choice, prepared the normal way */
        st->kernel = cands[0];
        goto done;
    }
    st->kernel = cands[best];
    st->state = best_prep.state;
    st->scratch_bytes = best_prep.scratch_bytes;
    *changed = best != 0;
done:
    for (int i = 0; owned && i < kn->n_in + kn->n_out; i++) zn_free(owned[i]);
    free(owned);
    free(in);
    zn_threadpool_release(pool);
    return status;
}
