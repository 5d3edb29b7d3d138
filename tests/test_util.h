/* test_util.h — helpers shared by the cmocka suites: seeded random data, tolerant compares,
 * view construction. Header-only so each test is one file. */
#ifndef ZN_TEST_UTIL_H
#define ZN_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "engine/types.h"
#include "kernels/kernel.h"

/* xorshift64*: fast, seedable, the same sequence on every machine. */
typedef struct { uint64_t s; } tu_rng;
static inline tu_rng tu_rng_new(uint64_t seed) { tu_rng r = {seed * 0x9E3779B97F4A7C15ull + 1}; return r; }
static inline uint64_t tu_next(tu_rng *r) {
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}
/* uniform in [lo, hi) */
static inline float tu_uniform(tu_rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)((tu_next(r) >> 40) * (1.0 / 16777216.0));
}
static inline void tu_fill(tu_rng *r, float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = tu_uniform(r, lo, hi);
}
/* A fresh seed per run (printed so a failure can be replayed with ZN_TEST_SEED). */
static inline uint64_t tu_seed(void) {
    const char *e = getenv("ZN_TEST_SEED");
    static uint64_t seed;
    if (!seed) {
        seed = e ? strtoull(e, NULL, 10) : (uint64_t)time(NULL);
        fprintf(stderr, "[ seed     ] ZN_TEST_SEED=%llu\n", (unsigned long long)seed);
    }
    return seed;
}

/* Element i of a tensor of any dtype, as a double (NaN for an undefined dtype). */
static inline double tu_elem(const void *data, zn_dtype dt, int64_t i) {
    switch (dt) {
    case ZN_F32: return ((const float *)data)[i];
    case ZN_F16: return zn_f16_to_f32(((const uint16_t *)data)[i]);
    case ZN_BF16: return zn_bf16_to_f32(((const uint16_t *)data)[i]);
    case ZN_I64: return (double)((const int64_t *)data)[i];
    case ZN_I32: return ((const int32_t *)data)[i];
    case ZN_BOOL: return ((const uint8_t *)data)[i] != 0;
    default: return NAN;
    }
}

static inline zn_view tu_view(zn_dtype dt, void *data, int rank, const int64_t *dims) {
    zn_view v;
    memset(&v, 0, sizeof v);
    v.dtype = dt;
    v.rank = rank;
    for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
    v.data = data;
    return v;
}

/* Fails with the first index whose |a-b| > atol + rtol*|b| (or a NaN mismatch). */
#define tu_assert_close(a, b, n, atol, rtol) tu_assert_close_(a, b, n, atol, rtol, __FILE__, __LINE__)
static inline void tu_assert_close_(const float *a, const float *b, int64_t n, double atol,
                                    double rtol, const char *file, int line) {
    for (int64_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (isnan(x) != isnan(y) || fabs(x - y) > atol + rtol * fabs(y)) {
            char msg[200];
            snprintf(msg, sizeof msg, "index %lld: got %.9g, want %.9g (atol %g rtol %g)",
                     (long long)i, x, y, atol, rtol);
            print_error("%s\n", msg);
            _fail(file, line);
            return;
        }
    }
}

/* The first kernel of `op` in a table (e.g. &zn_ref_elementwise_table); NULL if none. */
static inline const zn_kernel_spec *tu_find_kernel(const zn_kernel_table *t, zn_op op) {
    for (int i = 0; i < t->count; i++)
        if (t->specs[i].op == op) return &t->specs[i];
    return NULL;
}

/* Runs one kernel the way the runtime does: supports -> prepare -> run -> release.
 * `in` may carry constant data (it is visible to supports/prepare as constant input data when
 * const_inputs is true). out views must have dtype/rank/dims and data set. Returns run's status,
 * or ZN_ERR_UNSUPPORTED when supports() refuses the node. */
static inline zn_status tu_run_kernel(const zn_kernel_spec *k, const zn_attr *attrs, int n_attrs,
                                      const zn_view *in, int n_in, zn_view *out, int n_out) {
    zn_kernel_node node;
    memset(&node, 0, sizeof node);
    node.op = k->op;
    node.name = "test_node";
    node.attrs = attrs;
    node.n_attrs = n_attrs;
    node.n_in = n_in;
    node.in = in;
    node.n_out = n_out;
    node.out = out;
    if (k->supports && !k->supports(&node)) return ZN_ERR_UNSUPPORTED;
    zn_kernel_prep prep = {0};
    if (k->prepare) {
        zn_status st = k->prepare(&node, &prep);
        if (st != ZN_OK) return st;
    }
    void *scratch = prep.scratch_bytes ? calloc(1, prep.scratch_bytes) : NULL;
    zn_exec_ctx ctx = {&node, n_in, in, n_out, out, prep.state, scratch, NULL, NULL};
    zn_status st = k->run(&ctx);
    free(scratch);
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

/* Attribute constructors for tests (static storage is the caller's: pass arrays that outlive
 * the call). */
static inline zn_attr tu_attr_int(const char *name, int64_t v) {
    zn_attr a; memset(&a, 0, sizeof a); a.name = (char *)name; a.type = ZN_ATTR_INT; a.i = v; return a;
}
static inline zn_attr tu_attr_float(const char *name, float v) {
    zn_attr a; memset(&a, 0, sizeof a); a.name = (char *)name; a.type = ZN_ATTR_FLOAT; a.f = v; return a;
}
static inline zn_attr tu_attr_string(const char *name, const char *v) {
    zn_attr a; memset(&a, 0, sizeof a); a.name = (char *)name; a.type = ZN_ATTR_STRING; a.s = (char *)v; return a;
}
static inline zn_attr tu_attr_ints(const char *name, int64_t *v, int n) {
    zn_attr a; memset(&a, 0, sizeof a); a.name = (char *)name; a.type = ZN_ATTR_INTS; a.ints = v; a.n = n; return a;
}

#endif
