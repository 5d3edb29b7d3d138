/* threadpool.c — persistent pthread workers and a blocking parallel-for.
 *
 * The caller runs chunk 0 itself. A job is published by bumping an atomic generation counter;
 * workers spin on it for a short while after each job (so the next op of a model, typically
 * microseconds later, starts without a futex wake-up) and then sleep on a condition variable.
 * The hand-off is Dekker-style on seq_cst atomics: a worker announces itself in `sleepers`
 * before its last look at the generation, and the caller reads `sleepers` after bumping it, so
 * either the worker sees the new job or the caller sees the sleeper and signals.
 * One job at a time per pool: a pool belongs to one session (or one caller) at a time.
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* How long an idle worker spins before sleeping, and how long the caller spins waiting for
 * the workers before yielding. Model ops follow each other within microseconds. */
#define SPIN_NS 200000

struct zn_threadpool {
    int threads;
    int n_workers;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    atomic_uint_fast64_t generation;
    atomic_int pending;   /* workers still running the current job */
    atomic_int sleepers;  /* workers blocked (or about to block) on work_cv */
    atomic_bool stop;
    atomic_flag busy;     /* a parallel_for is in progress */
    int refs;             /* zn_threadpool_acquire users (under shared_mu) */
    /* the current job: written before the generation bump, read after seeing it */
    zn_range_fn fn;
    void *arg;
    int64_t n, chunk;
};

typedef struct worker_arg {
    zn_threadpool *pool;
    int index; /* 1..n_workers; chunk 0 is the caller's */
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run_chunk(zn_threadpool *p, int index) {
    int64_t begin = (int64_t)index * p->chunk;
    int64_t end = begin + p->chunk;
    if (end > p->n) end = p->n;
    if (begin < end) p->fn(p->arg, begin, end);
}

/* Waits until the generation moves past `seen` or the pool stops; returns the new value. */
static uint64_t wait_for_job(zn_threadpool *p, uint64_t seen) {
    int64_t until = now_ns() + SPIN_NS;
    for (int i = 0;; i++) {
        uint64_t g = atomic_load(&p->generation);
        if (g != seen || atomic_load(&p->stop)) return g;
        cpu_relax();
        if ((i & 255) == 255 && now_ns() > until) break;
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    uint64_t g;
    while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->work_cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *opaque) {
    worker_arg *wa = opaque;
    zn_threadpool *p = wa->pool;
    uint64_t seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load(&p->stop)) break;
        run_chunk(p, wa->index);
        atomic_fetch_sub(&p->pending, 1);
    }
    free(wa);
    return NULL;
}

zn_threadpool *zn_threadpool_new(int threads) {
    zn_threadpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, false);
    atomic_flag_clear(&p->busy);
    if (p->threads > 1) {
        p->workers = calloc((size_t)p->threads - 1, sizeof(pthread_t));
        if (!p->workers) goto fail;
        for (int i = 1; i < p->threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (!wa) goto fail;
            wa->pool = p;
            wa->index = i;
            if (pthread_create(&p->workers[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                goto fail;
            }
            p->n_workers++;
        }
    }
    return p;
fail:
    p->threads = p->n_workers + 1;
    zn_threadpool_free(p);
    return NULL;
}

void zn_threadpool_free(zn_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    free(p);
}

int zn_threadpool_size(const zn_threadpool *p) { return p ? p->threads : 1; }

/* ---- the process-wide pools, one per thread count ------------------------------------------- */

#define MAX_SHARED 8
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static zn_threadpool *shared[MAX_SHARED];

zn_threadpool *zn_threadpool_acquire(int threads) {
    if (threads < 1) threads = 1;
    pthread_mutex_lock(&shared_mu);
    zn_threadpool *p = NULL;
    int free_slot = -1;
    for (int i = 0; i < MAX_SHARED; i++) {
        if (shared[i] && shared[i]->threads == threads) p = shared[i];
        else if (!shared[i] && free_slot < 0) free_slot = i;
    }
    if (!p) {
        p = zn_threadpool_new(threads);
        if (p && free_slot >= 0) shared[free_slot] = p;
        /* no free slot: a private pool, freed on release like the others */
    }
    if (p) p->refs++;
    pthread_mutex_unlock(&shared_mu);
    return p;
}

void zn_threadpool_release(zn_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&shared_mu);
    bool last = --p->refs == 0;
    if (last)
        for (int i = 0; i < MAX_SHARED; i++)
            if (shared[i] == p) shared[i] = NULL;
    pthread_mutex_unlock(&shared_mu);
    if (last) zn_threadpool_free(p);
}

void zn_parallel_for(zn_threadpool *p, int64_t n, int64_t grain, zn_range_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = (n + grain - 1) / grain;
    if (!p || p->n_workers == 0 || max_chunks < 2) {
        fn(arg, 0, n);
        return;
    }
    if (atomic_flag_test_and_set(&p->busy)) { /* another session has the pool right now */
        fn(arg, 0, n);
        return;
    }
    int64_t chunks = max_chunks < p->threads ? max_chunks : p->threads;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = (n + chunks - 1) / chunks;
    atomic_store(&p->pending, p->n_workers);
    atomic_fetch_add(&p->generation, 1); /* publishes the job (seq_cst) */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunk(p, 0);
    int64_t until = now_ns() + SPIN_NS;
    for (int i = 0; atomic_load(&p->pending) > 0; i++) {
        cpu_relax();
        if ((i & 255) == 255 && now_ns() > until) sched_yield();
    }
    atomic_flag_clear(&p->busy);
}
