/* plan.h — the compiled plan's internals, shared by compile.c, planner.c and runtime.c. */
#ifndef ZN_PLAN_H
#define ZN_PLAN_H

#include "graph.h"

/* Where a tensor's bytes live while a session runs. */
typedef enum zn_slot_kind {
    ZN_SLOT_NONE = 0, /* not used by any step */
    ZN_SLOT_CONST,    /* the plan graph's constant data (shared, read-only) */
    ZN_SLOT_INPUT,    /* the caller's input buffer, set per run */
    ZN_SLOT_ARENA,    /* offset into the session's arena */
} zn_slot_kind;

typedef struct zn_slot {
    zn_slot_kind kind;
    int input_index;  /* ZN_SLOT_INPUT: which plan input */
    size_t offset;    /* ZN_SLOT_ARENA: byte offset */
    size_t bytes;
    int root;         /* tensor whose storage this one shares (itself when none) */
    bool on_device;   /* ZN_SLOT_ARENA: in the session's device arena (CUDA plans), else host */
} zn_slot;

typedef struct zn_step {
    int node;                      /* index into the plan graph's nodes */
    const zn_kernel_spec *kernel;
    zn_kernel_node kn;             /* kn.in / kn.out point into `views` */
    zn_view *views;                /* n_in + n_out: shapes, constant data */
    void *state;                   /* from prepare(); shared read-only by sessions */
    size_t scratch_bytes;
    size_t scratch_offset;         /* in the arena of the step's space */
    double flops;
    bool on_device;                /* a CUDA kernel (its views and scratch are device memory) */
} zn_step;

struct zn_plan {
    zn_graph *graph;               /* owned: optimised, concrete shapes */
    zn_compile_config cfg;
    zn_compile_summary summary;
    int n_steps;
    zn_step *steps;
    zn_slot *slots;                /* one per graph tensor */
    size_t arena_bytes;            /* host arena */
    /* CUDA plans */
    bool device;                   /* the plan runs on the GPU (graph inputs live on the device) */
    size_t dev_arena_bytes;        /* device arena per session */
    void **dev_const;              /* per tensor: device copy of a constant a CUDA step reads */
    bool graph_capturable;         /* no step syncs the host: reduce-overhead captures a CUDA graph */
};

/* planner.c: fills plan->slots, step scratch offsets, arena size and the summary's
 * planned/naive bytes and in-place count. */
zn_status zn_plan_memory(zn_plan *plan);

/* autotune.c: times cands[0..found) on the step's node and keeps the fastest in st->kernel,
 * with its prepared state (st->state, st->scratch_bytes). *changed when that is not cands[0].
 * When no candidate runs, st->kernel = cands[0] and the state is left for the caller to prepare. */
zn_status zn_autotune_step(zn_step *st, const zn_kernel_spec *const *cands, int found, int threads, bool *changed);

/* passes: each returns the number of changes it made, or a negative value with the error set */
int zn_pass_dce(zn_graph *g);

#endif
