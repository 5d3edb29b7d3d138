/* gpu_trace.h — CUPTI activity records in, per-node GPU time out: the parser and aggregator
 * behind the CUPTI collector (cupti.h), written against plain buffers so it is tested without
 * a GPU (tests/test_gpu_trace.c builds buffers from the real CUPTI structs).
 *
 * What goes in: kernel (CONCURRENT_KERNEL / KERNEL), memcpy, memset, runtime and driver API and
 * external-correlation records, as cuptiActivityGetNextRecord hands them out; the number of
 * records CUPTI dropped; and, for CUDA graphs, which plan step created each graph node (the
 * collector learns it from CUPTI's resource callbacks while a session's run is captured).
 *
 * Attribution. The collector's observer pushes an external correlation id (kind
 * ZN_GPU_XID_KIND) around every session run and every step, so CUPTI writes an
 * EXTERNAL_CORRELATION record {externalId, correlationId} before each API record made inside
 * it. A kernel / memcpy / memset record carries the correlationId of the API call that launched
 * it (the runtime's or the driver's; memcpys also carry the runtime's), which leads back to the
 * external id:
 *
 *     external id (64 bits) = epoch << 60 | slot << 48 | run << 20 | (step + 1)
 *       step + 1   bits  0..19   the plan step, 0 = the run itself (outside any step: the
 *                                input / output copies, a CUDA graph launch)
 *       run        bits 20..47   the session's run counter, modulo 2^28
 *       slot       bits 48..59   the session slot (worker), 0..4095
 *       epoch      bits 60..63   1..15, bumped by zn_gpu_trace_reset (records of the warm-up
 *                                that arrive after the reset are recognised and dropped)
 *
 * A CUDA graph replay runs inside the run's id only (the runtime calls no step hooks then), so
 * its kernels and copies are tied to the run by correlationId and to the step by graphNodeId:
 * node ids are recorded per step at capture (zn_gpu_trace_graph_node) and mapped onto their
 * clones in the executable graph (zn_gpu_trace_graph_node_cloned), whose ids the records carry.
 *
 * Records may arrive before the correlation that names them (another buffer): they wait in a
 * bounded queue, are retried when new correlations arrive, and count as unattributed when
 * zn_gpu_trace_finish gives up on them.
 *
 * What comes out (zn_gpu_profile, plain data for the run record): per node GPU time, per
 * launch site (kernel x node x launch configuration) count / total / min / max with demangled
 * names, and per run the H2D / compute / D2H split as trtexec reports it (H2D latency = input
 * copies, GPU compute = first to last device activity of the run that is not an H2D/D2H copy,
 * D2H latency = output copies) plus the busy time inside compute.
 *
 * Thread safety: every function takes the trace's lock, so CUPTI's thread, the sessions
 * (graph node callbacks) and a UI thread (zn_gpu_trace_collect) may call concurrently.
 *
 * Built only where <cupti_activity.h> is on the include path (ZN_WITH_CUDA builds, or any build
 * that found the toolkit); elsewhere zn_gpu_trace_new fails with ZN_ERR_UNSUPPORTED and the
 * profile helpers still work (records with a GPU section are read and rendered everywhere).
 * What it is not: the collector (cupti.h: CUPTI calls, buffers, observers) or the NVML sampler
 * (gpu_monitor.h). */
#ifndef ZN_GPU_TRACE_H
#define ZN_GPU_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/zenith.h"

/* ---- external correlation ids ------------------------------------------------------------- */

#define ZN_GPU_XID_KIND 4          /* CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1 */
#define ZN_GPU_XID_STEP_BITS 20
#define ZN_GPU_XID_RUN_BITS 28
#define ZN_GPU_XID_SLOT_BITS 12
#define ZN_GPU_MAX_STEPS ((1 << ZN_GPU_XID_STEP_BITS) - 2)
#define ZN_GPU_MAX_SLOTS (1 << ZN_GPU_XID_SLOT_BITS)
#define ZN_GPU_RUN_MASK ((1u << ZN_GPU_XID_RUN_BITS) - 1)

/* step -1: the run itself. run is taken modulo 2^28. */
static inline uint64_t zn_gpu_xid(unsigned epoch, int slot, uint32_t run, int step) {
    return (uint64_t)(epoch & 0xFu) << 60 | (uint64_t)((unsigned)slot & 0xFFFu) << 48 |
           (uint64_t)(run & ZN_GPU_RUN_MASK) << 20 | (uint64_t)((unsigned)(step + 1) & 0xFFFFFu);
}
static inline unsigned zn_gpu_xid_epoch(uint64_t x) { return (unsigned)(x >> 60); }
static inline int zn_gpu_xid_slot(uint64_t x) { return (int)((x >> 48) & 0xFFFu); }
static inline uint32_t zn_gpu_xid_run(uint64_t x) { return (uint32_t)((x >> 20) & ZN_GPU_RUN_MASK); }
static inline int zn_gpu_xid_step(uint64_t x) { return (int)(x & 0xFFFFFu) - 1; }

/* ---- the profile: plain data (no pointers into engine objects) ------------------------------ */

#define ZN_GPU_MAX_KERNELS 200      /* launch sites kept (largest total first); the rest summed */
#define ZN_GPU_KERNEL_NAME 256

/* One plan step's device work. */
typedef struct zn_gpu_node {
    char name[ZN_MAX_NAME];
    char op[32];
    char kernel[64];          /* the Zenith kernel the plan chose ("cuda.linear_lt") */
    int64_t count;            /* device activities (kernels, copies, memsets) attributed */
    int64_t total_ns;         /* their summed durations */
    double per_run_ns;        /* total_ns / the profile's runs */
    double share;             /* of the summed node time */
} zn_gpu_node;

/* One launch site: a kernel launched by one node with one configuration. */
typedef struct zn_gpu_kernel {
    char name[ZN_GPU_KERNEL_NAME];  /* demangled, without the parameter list */
    char node[ZN_MAX_NAME];         /* "" when the launching node is unknown */
    int grid[3], block[3], cluster[3];
    int regs;                       /* registers per thread */
    int smem_static, smem_dynamic;  /* bytes per block */
    int64_t count, total_ns, min_ns, max_ns;
    double mean_ns;
    double share;                   /* of all kernel time */
} zn_gpu_kernel;

/* A per-run quantity over the runs seen (ns). */
typedef struct zn_gpu_stat {
    int64_t count;
    int64_t min, max;
    double mean;
    int64_t p50, p90, p99;    /* from a log-linear histogram, 1.6% buckets */
} zn_gpu_stat;

typedef struct zn_gpu_profile {
    int64_t runs;             /* session runs with device activity seen */
    int64_t window_ns;        /* first to last device timestamp */
    /* device activity totals */
    int64_t kernel_count, memcpy_count, memset_count;
    int64_t kernel_ns, memcpy_ns, memset_ns;
    int64_t h2d_bytes, d2h_bytes, h2d_ns, d2h_ns;
    int64_t graph_records;    /* activities that came from CUDA graph replays */
    /* attribution of device activities */
    int64_t attributed;       /* to a step */
    int64_t run_level;        /* to a run but outside any step (input/output copies) */
    int64_t unattributed;     /* no Zenith correlation: launched outside runs, or lost */
    int64_t stale;            /* from before the last reset (warm-up), not counted */
    int64_t late;             /* counted per node, arrived too late for the per-run split */
    int64_t dropped;          /* records CUPTI dropped (its buffers were full) */
    int64_t api_records;      /* runtime / driver API records seen */
    /* per run, as trtexec splits it */
    zn_gpu_stat h2d, compute, d2h, busy;
    int64_t node_total_ns;    /* summed over nodes */
    int64_t kernel_total_ns;  /* over launch sites, kept or not */
    int n_nodes;
    zn_gpu_node *nodes;       /* sorted by total_ns, largest first (zn_malloc) */
    int n_kernels;
    zn_gpu_kernel *kernels;   /* sorted by total_ns, largest first (zn_malloc) */
    int other_kernels;        /* launch sites beyond ZN_GPU_MAX_KERNELS */
    int64_t other_kernel_ns;
} zn_gpu_profile;

void zn_gpu_profile_free(zn_gpu_profile *p);                 /* NULL is fine; zeroes */
zn_status zn_gpu_profile_copy(zn_gpu_profile *dst, const zn_gpu_profile *src);
/* The node of that name (NULL when absent). */
const zn_gpu_node *zn_gpu_profile_node(const zn_gpu_profile *p, const char *name);

/* ---- the trace ------------------------------------------------------------------------------ */

typedef struct zn_gpu_trace zn_gpu_trace;

/* What a step is called; copied. */
typedef struct zn_gpu_step_desc {
    const char *node, *op, *kernel;
} zn_gpu_step_desc;

/* Whether this build has the parser (the CUPTI headers were found). */
bool zn_gpu_trace_compiled(void);

/* n_steps steps, n_slots sessions. corr_bits: log2 of the correlation table (0: 19, 512 Ki
 * correlations in flight, 8 MiB); tests pass small values. */
zn_status zn_gpu_trace_new(int n_steps, const zn_gpu_step_desc *steps, int n_slots, int corr_bits,
                           zn_gpu_trace **out);
/* The same, with the steps of a plan. */
zn_status zn_gpu_trace_new_for_plan(const zn_plan *plan, int n_slots, zn_gpu_trace **out);
void zn_gpu_trace_free(zn_gpu_trace *t);

/* One activity record (a CUpti_Activity *). Kinds not listed above are counted and ignored. */
void zn_gpu_trace_add_record(zn_gpu_trace *t, const void *record);

/* Walks a buffer: next(buf, valid, &rec) returns 1 with the next record, 0 at the end, -1 on a
 * malformed buffer (cupti.c wraps cuptiActivityGetNextRecord; *rec starts NULL). */
typedef int (*zn_gpu_record_next)(uint8_t *buf, size_t valid, const void **rec);
/* Adds every record, then retries the records waiting for a correlation. Returns the number of
 * records, or -1 when the walk failed (the records before the failure count). */
int64_t zn_gpu_trace_add_buffer(zn_gpu_trace *t, uint8_t *buf, size_t valid, zn_gpu_record_next next);

void zn_gpu_trace_add_dropped(zn_gpu_trace *t, uint64_t n);

/* CUDA graphs: node `node_id` was created while `slot` captured step `step`; an executable
 * graph's node `clone_id` was cloned from `original_id`. Kept across resets. */
void zn_gpu_trace_graph_node(zn_gpu_trace *t, uint64_t node_id, int slot, int step);
void zn_gpu_trace_graph_node_cloned(zn_gpu_trace *t, uint64_t original_id, uint64_t clone_id);

/* Forgets the counts and waiting records (after the warm-up) and starts a new epoch, which it
 * returns: ids pushed from now on must carry it. */
unsigned zn_gpu_trace_reset(zn_gpu_trace *t);
unsigned zn_gpu_trace_epoch(const zn_gpu_trace *t);

/* End of the run: waiting records are retried once more and the rest counted unattributed. */
void zn_gpu_trace_finish(zn_gpu_trace *t);

/* The profile so far (*out overwritten; free with zn_gpu_profile_free). Runs still open count
 * in the per-run split. Callable at any time. */
zn_status zn_gpu_trace_collect(zn_gpu_trace *t, zn_gpu_profile *out);

/* ---- kernel names --------------------------------------------------------------------------- */

/* A kernel's display name into out: demangled (abi::__cxa_demangle, found at run time in the
 * process's libstdc++, so C builds need no C++ runtime), without the return type and the
 * parameter list: "void zn::ln<__half>(__half*, int)" -> "zn::ln<__half>". Names that are not
 * mangled, or when no demangler is found, are shortened the same way. */
void zn_gpu_kernel_display_name(const char *mangled, char *out, size_t cap);
/* Whether a demangler was found in the process. */
bool zn_gpu_demangler_available(void);

#endif
