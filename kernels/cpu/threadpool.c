/* threadpool.c — persistent pthread workers and a blocking parallel-for.
 *
 * The caller runs chunk 0 itself; workers wait on a generation counter for the next job. One
 * job at a time per pool: a pool belongs to one session (or one caller) at a time. */
#include "threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct zn_threadpool {
    int threads;
    int n_workers;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t generation;
    int pending;        /* workers still running the current job */
    bool stop;
    /* the current job */
    zn_range_fn fn;
    void *arg;
    int64_t n, chunk;
};

typedef struct worker_arg {
    zn_threadpool *pool;
    int index; /* 1..n_workers; chunk 0 is the caller's */
} worker_arg;

static void run_chunk(zn_threadpool *p, int index) {
    int64_t begin = (int64_t)index * p->chunk;
    int64_t end = begin + p->chunk;
    if (end > p->n) end = p->n;
    if (begin < end) p->fn(p->arg, begin, end);
}

static void *worker_main(void *opaque) {
    worker_arg *wa = opaque;
    zn_threadpool *p = wa->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, wa->index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    free(wa);
    return NULL;
}

zn_threadpool *zn_threadpool_new(int threads) {
    zn_threadpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
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
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int zn_threadpool_size(const zn_threadpool *p) { return p ? p->threads : 1; }

void zn_parallel_for(zn_threadpool *p, int64_t n, int64_t grain, zn_range_fn fn, void *arg) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = (n + grain - 1) / grain;
    if (!p || p->n_workers == 0 || max_chunks < 2) {
        fn(arg, 0, n);
        return;
    }
    int64_t chunks = max_chunks < p->threads ? max_chunks : p->threads;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = (n + chunks - 1) / chunks;
    p->pending = p->n_workers;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
