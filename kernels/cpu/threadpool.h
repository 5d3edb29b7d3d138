/* threadpool.h — a fixed pool of worker threads and a blocking parallel-for.
 *
 * One parallel_for runs at a time per pool (the caller's thread takes part); a second caller
 * meanwhile runs its range serially. Kernels receive the pool in their exec context; NULL means
 * run serially. */
#ifndef ZN_THREADPOOL_H
#define ZN_THREADPOOL_H

#include <stdint.h>

typedef struct zn_threadpool zn_threadpool;

/* Calls fn(arg, begin, end) over disjoint chunks covering [0, n). */
typedef void (*zn_range_fn)(void *arg, int64_t begin, int64_t end);

/* threads <= 1 gives a pool that runs everything on the caller's thread. NULL on failure. */
zn_threadpool *zn_threadpool_new(int threads);
void zn_threadpool_free(zn_threadpool *pool);
int zn_threadpool_size(const zn_threadpool *pool);

/* The process-wide pool of `threads` threads, shared by every session that asks for that size
 * (reference counted; the first acquire creates it, the last release frees it). Sessions of a
 * server run share it instead of each starting its own workers. NULL on failure. */
zn_threadpool *zn_threadpool_acquire(int threads);
void zn_threadpool_release(zn_threadpool *pool);

/* Splits [0, n) into at most `threads` chunks of at least `grain` items. pool may be NULL.
 * When another caller is using the pool at that moment, the range runs on the caller's thread
 * instead of waiting: concurrent sessions never block each other and the machine is never
 * oversubscribed. */
void zn_parallel_for(zn_threadpool *pool, int64_t n, int64_t grain, zn_range_fn fn, void *arg);

#endif
