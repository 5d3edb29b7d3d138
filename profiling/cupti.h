/* cupti.h — the CUPTI Activity API collector: per-kernel GPU timing tied back to the plan's
 * nodes, for the run record, the report and the TUI.
 *
 *   zn_cupti_start      subscribe, enable CONCURRENT_KERNEL, MEMCPY, MEMSET, RUNTIME (plus the
 *                       driver's launch calls) and EXTERNAL_CORRELATION, register the buffer
 *                       callbacks and the graph-node resource callbacks, start the drain thread
 *   zn_cupti_observer   per session: pushes the external correlation id of the run and of each
 *                       step (layout in gpu_trace.h) around the inner observer (the profiler's),
 *                       so its NVTX range and its clock reads stay innermost; while a run is
 *                       captured as a CUDA graph it also tells the resource callback which step
 *                       is creating graph nodes
 *   zn_cupti_reset      after the warm-up: everything so far is flushed and forgotten
 *   zn_cupti_flush      each UI tick (completed buffers only) and at the end (forced)
 *   zn_cupti_collect    the zn_gpu_profile so far
 *   zn_cupti_stop       disables everything, unsubscribes, frees
 *
 * Off the hot path: CUPTI hands full buffers to a callback on its own thread, which only queues
 * them; a drain thread (woken by the queue, and every 200 ms) and zn_cupti_flush parse them into
 * the trace. A session's hooks cost two cuptiActivityPush/PopExternalCorrelationId calls per
 * step and per run and a thread-local store.
 *
 * CUPTI allows one subscriber per process. Under Nsight Systems, Nsight Compute or another
 * profiler the subscription (or an enable) fails: zn_cupti_start says so once through the
 * logger ("CUPTI is taken by <tool>: kernel timing off, NVTX ranges only") and returns
 * ZN_ERR_UNSUPPORTED; the run goes on with NVTX only. One collector at a time per process.
 *
 * Built only with the CUDA backend (ZN_WITH_CUDA, linked with -lcupti); elsewhere every call
 * reports "not available". What it is not: the parser (gpu_trace.h) or NVML (gpu_monitor.h). */
#ifndef ZN_CUPTI_H
#define ZN_CUPTI_H

#include <stdbool.h>

#include "engine/zenith.h"
#include "profiling/gpu_trace.h"

typedef struct zn_cupti zn_cupti;

/* Whether this build has the collector. */
bool zn_cupti_compiled(void);

/* Starts collecting for `plan`, run by n_slots sessions. On failure *out is NULL and the error
 * says why (ZN_ERR_UNSUPPORTED: not built, or CUPTI taken by another tool). */
zn_status zn_cupti_start(const zn_plan *plan, int n_slots, zn_cupti **out);
void zn_cupti_stop(zn_cupti *c);

/* The observer for session slot `slot`, calling `inner` (may be NULL; copied) inside its own
 * hooks. Valid while the collector lives; set it on the session with zn_session_set_observer. */
const zn_observer *zn_cupti_observer(zn_cupti *c, int slot, const zn_observer *inner);

/* Forgets everything so far (call with the sessions idle and their streams synchronised). */
void zn_cupti_reset(zn_cupti *c);
/* Hands CUPTI's buffers to the parser: completed ones (forced = false, cheap, for live views)
 * or all of them (forced, at the end, after the sessions finished). */
zn_status zn_cupti_flush(zn_cupti *c, bool forced);
/* The profile so far (*out overwritten; zn_gpu_profile_free it). At the end call
 * zn_cupti_flush(c, true) first; collect then also gives up on records still waiting. */
zn_status zn_cupti_collect(zn_cupti *c, zn_gpu_profile *out, bool final);

/* One line for the record: "kernels traced with CUPTI", or why not. */
const char *zn_cupti_note(void);

#endif
