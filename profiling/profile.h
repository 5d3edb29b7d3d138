/* profile.h — per-node timing through the runtime's observer, plus NVTX node ranges.
 *
 * A zn_profiler belongs to one plan and has one slot per session (worker). Each slot is an
 * observer (zn_session_set_observer via zn_profiler_attach) writing only its own counters:
 * per step, count / total / min / max nanoseconds, and per run the wall time inside
 * zn_session_run. The hot path is two CLOCK_MONOTONIC reads, an add and two compares into
 * the step's slot: no locks, no allocation, no sharing between threads. zn_profiler_collect()
 * merges the slots (call it while no session runs, e.g. after the scenario) into a zn_profile:
 * per node and per op kind, sorted by total time, with each one's share of the run.
 *
 * With ZN_PROFILE_NVTX and a tool listening (nvtx.h), the same observer pushes a range named
 * "<node> [<Op>]" (a registered string, coloured by op kind) around each step; the clock reads
 * sit inside the range so the NVTX calls are not timed. Without a tool the NVTX calls are left
 * out of the observer.
 *
 * What it is not: a GPU timer (CUDA kernels are asynchronous; CUPTI is separate) or a sampler.
 */
#ifndef ZN_PROFILE_H
#define ZN_PROFILE_H

#include <stdint.h>

#include "engine/zenith.h"

/* ---- the merged profile (plain data: no pointers into engine objects) --------------------- */

typedef struct zn_profile_node {
    char name[ZN_MAX_NAME];
    char op[32];             /* op name, "MatMul" */
    char kernel[64];         /* the kernel the plan chose */
    int64_t count;           /* times the step ran */
    int64_t total_ns, min_ns, max_ns;
    double mean_ns;
    double share;            /* total_ns / profile total_ns */
} zn_profile_node;

typedef struct zn_profile_op {
    char op[32];
    int nodes;               /* steps of this op in the plan */
    int64_t count, total_ns;
    double mean_ns;          /* per execution of one node */
    double share;
} zn_profile_op;

typedef struct zn_profile {
    int64_t runs;            /* session runs observed (all sessions) */
    int64_t run_ns;          /* wall time inside those runs, summed over sessions */
    int64_t total_ns;        /* sum of the nodes' totals (<= run_ns; the rest is runtime overhead) */
    int n_nodes;
    zn_profile_node *nodes;  /* sorted by total_ns, largest first (zn_malloc) */
    int n_ops;
    zn_profile_op *ops;      /* sorted by total_ns, largest first (zn_malloc) */
} zn_profile;

void zn_profile_free(zn_profile *pr);   /* frees the arrays and zeroes *pr; NULL is fine */
/* Deep copy (dst is overwritten; free it with zn_profile_free). */
zn_status zn_profile_copy(zn_profile *dst, const zn_profile *src);

/* ---- the profiler --------------------------------------------------------------------------- */

#define ZN_PROFILE_TIMING 1u   /* per-node timing */
#define ZN_PROFILE_NVTX 2u     /* "<node> [<Op>]" NVTX ranges (when a tool listens) */

typedef struct zn_profiler zn_profiler;

/* A profiler for `plan` (which must outlive it) with n_slots session slots. */
zn_status zn_profiler_new(const zn_plan *plan, int n_slots, unsigned flags, zn_profiler **out);
void zn_profiler_free(zn_profiler *p);
/* Sets slot `slot`'s observer on the session (one slot per session; the session must be of the
 * profiler's plan). When nothing is active (no timing, NVTX without a tool) it removes the
 * session's observer so the runtime pays nothing. */
zn_status zn_profiler_attach(zn_profiler *p, int slot, zn_session *s);
/* The slot's observer, for callers that chain observers themselves; NULL when nothing is
 * active. Valid while the profiler lives. */
const zn_observer *zn_profiler_observer(zn_profiler *p, int slot);
/* Whether the NVTX node ranges are live (ZN_PROFILE_NVTX asked and a tool listens). */
bool zn_profiler_nvtx_active(const zn_profiler *p);
/* Zeroes every slot's counters (after warm-up). No session may be running. */
void zn_profiler_reset(zn_profiler *p);
/* Merges the slots into *out (overwritten; free with zn_profile_free). No session may be
 * running. */
zn_status zn_profiler_collect(const zn_profiler *p, zn_profile *out);

/* Added for live views (the TUI's top nodes): the same merge as zn_profiler_collect, but
 * callable WHILE sessions run. It reads the counters without locks, so the result is
 * approximate: a step's count, total, min and max may be a step apart from each other and
 * from the run totals, and a read racing zn_profiler_reset may see half-cleared slots. Good
 * for a display refreshed every fraction of a second; use collect for the record. */
zn_status zn_profiler_peek(const zn_profiler *p, zn_profile *out);

#endif
