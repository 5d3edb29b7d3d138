/* nvtx.h — NVTX ranges for Nsight Systems: a thin wrapper over NVTX v3's C API.
 *
 * Every range lives in one domain, "Zenith": "compile", one per optimisation pass (the pass
 * name), "query <n>" around each query a scenario issues, and "<node> [<Op>]" around each step
 * of a session run (pushed by the profiler's observer, profiling/profile.h). Node ranges are
 * coloured by op kind from a small palette (zn_nvtx_op_color); node names are registered
 * strings, so a range push costs no string copy.
 *
 * Costs nothing when no tool listens: the first call initialises NVTX; if no tool attached
 * (no NVTX_INJECTION64_PATH, no static injection) the domain comes back NULL and every function
 * here returns after one branch. The profiler checks zn_nvtx_enabled() once and leaves the NVTX
 * calls out of its observer entirely.
 *
 * Compiled out: with -DNVTX_DISABLE, or when <nvtx3/nvToolsExt.h> is not on the include path
 * (no CUDA toolkit), every function is a no-op and zn_nvtx_enabled() is false.
 *
 * What it is not: a profiler (timing is profile.h) or a CUPTI collector. Ranges are per thread
 * (push/pop nest on the calling thread); sessions run on one thread each, so they nest right.
 */
#ifndef ZN_NVTX_H
#define ZN_NVTX_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/types.h"

/* Whether the NVTX calls are compiled into this build (false under NVTX_DISABLE or without
 * the NVTX headers). */
bool zn_nvtx_compiled(void);
/* Compiled in AND a tool (Nsight Systems, an injection library) is listening. Thread-safe; the
 * first call initialises NVTX and creates the "Zenith" domain. */
bool zn_nvtx_enabled(void);

/* ARGB colours. */
#define ZN_NVTX_COLOR_COMPILE 0xFF4E79A7u
#define ZN_NVTX_COLOR_PASS 0xFF76B7B2u
#define ZN_NVTX_COLOR_QUERY 0xFF59A14Fu
/* The colour of an op kind's node ranges: GEMM/conv, attention-like fused ops, normalisation,
 * reductions and softmax, activations and arithmetic, data movement and shape ops. */
uint32_t zn_nvtx_op_color(zn_op op);

/* A string registered once in the Zenith domain (NULL when NVTX is not enabled). */
typedef const void *zn_nvtx_string;
zn_nvtx_string zn_nvtx_register(const char *s);

/* Push a range with a plain message / a registered one; pop the innermost. */
void zn_nvtx_push(const char *message, uint32_t argb);
void zn_nvtx_push_registered(zn_nvtx_string s, uint32_t argb);
void zn_nvtx_pop(void);

/* The named ranges of the flow. */
void zn_nvtx_compile_begin(void);                      /* "compile" */
void zn_nvtx_compile_end(void);
/* "<pass>": shaped as callbacks (user is unused) so a compile hook can point at them. */
void zn_nvtx_pass_begin(void *user, const char *pass);
void zn_nvtx_pass_end(void *user, const char *pass);
void zn_nvtx_query_begin(int64_t n);                   /* "query <n>" */
void zn_nvtx_query_end(void);

#endif
