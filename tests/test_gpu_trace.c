/* test_gpu_trace.c — the CUPTI activity parser (profiling/gpu_trace.h) on synthetic activity
 * buffers built here from the real CUPTI structs (CUpti_ActivityKernel10, Memcpy6, Memset4,
 * API, ExternalCorrelation) and walked by a stand-in for cuptiActivityGetNextRecord:
 *
 *   eager runs      kernels tied to their step by the step's external id, copies to the run,
 *                   per-node totals, launch sites, the H2D / compute / D2H split per run
 *   graph replays   kernels tied to the run by the graph launch's correlation and to the step
 *                   by graphNodeId through the capture map and its clone
 *   ordering        device records before their correlation (another buffer) wait and resolve;
 *                   those that never resolve count as unattributed at finish
 *   epochs          warm-up records arriving after a reset are dropped as stale
 *   correlations    memcpys resolve through runtimeCorrelationId; driver-API correlations count
 *   bookkeeping     dropped records, late runs, the launch-site cap, malformed buffers,
 *                   several sessions, the external id layout, kernel names (demangled)
 *
 * Builds without the CUPTI headers (make sanitize) skip with a message. Never needs a GPU. */
#include "test_util.h"

#include "engine/alloc.h"
#include "profiling/gpu_trace.h"

#if defined(ZN_WITH_CUDA)
#define HAVE_CUPTI 1
#elif defined(__has_include)
#if __has_include(<cupti_activity.h>)
#define HAVE_CUPTI 1
#endif
#endif

/* the external id layout is pure arithmetic: tested everywhere */
static void test_xid_layout(void **state) {
    (void)state;
    uint64_t x = zn_gpu_xid(3, 17, 123456, 42);
    assert_int_equal(zn_gpu_xid_epoch(x), 3);
    assert_int_equal(zn_gpu_xid_slot(x), 17);
    assert_int_equal(zn_gpu_xid_run(x), 123456);
    assert_int_equal(zn_gpu_xid_step(x), 42);
    uint64_t r = zn_gpu_xid(15, ZN_GPU_MAX_SLOTS - 1, ZN_GPU_RUN_MASK + 5u, -1);
    assert_int_equal(zn_gpu_xid_epoch(r), 15);
    assert_int_equal(zn_gpu_xid_slot(r), ZN_GPU_MAX_SLOTS - 1);
    assert_int_equal(zn_gpu_xid_run(r), 4); /* modulo 2^28 */
    assert_int_equal(zn_gpu_xid_step(r), -1);
    assert_int_equal(zn_gpu_xid_step(zn_gpu_xid(1, 0, 0, ZN_GPU_MAX_STEPS - 1)), ZN_GPU_MAX_STEPS - 1);
    assert_true(zn_gpu_xid(1, 0, 0, -1) != 0); /* epoch >= 1: never the empty id */
}

static void test_kernel_names(void **state) {
    (void)state;
    char b[ZN_GPU_KERNEL_NAME];
    /* not mangled (cuBLASLt / cuDNN kernels): kept */
    zn_gpu_kernel_display_name("sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64", b, sizeof b);
    assert_string_equal(b, "sm90_xmma_gemm_f16f16_f16f32_f32_tn_n_tilesize128x128x64");
    zn_gpu_kernel_display_name(NULL, b, sizeof b);
    assert_string_equal(b, "?");
    /* demangled forms (what __cxa_demangle gives) are shortened the same way */
    zn_gpu_kernel_display_name("void zn::cuda::ln<__half, 256>(__half*, __half const*, int)", b, sizeof b);
    assert_string_equal(b, "zn::cuda::ln<__half, 256>");
    zn_gpu_kernel_display_name("void k<(int)4, {lambda(int)#1}>(float*)", b, sizeof b);
    assert_string_equal(b, "k<(int)4, {lambda(int)#1}>");
    char small[8];
    zn_gpu_kernel_display_name("averyveryverylongname", small, sizeof small);
    assert_string_equal(small, "aver...");
    if (!zn_gpu_demangler_available()) {
        fprintf(stderr, "[ note     ] no __cxa_demangle in this process: mangled names stay mangled\n");
        return;
    }
    zn_gpu_kernel_display_name("_Z6vecAddPfS_S_i", b, sizeof b);
    assert_string_equal(b, "vecAdd");
    zn_gpu_kernel_display_name("_ZN2zn4cuda9layernormI6half_tLi256EEEvPT_PKS3_i", b, sizeof b);
    assert_string_equal(b, "zn::cuda::layernorm<half_t, 256>");
    zn_gpu_kernel_display_name("_ZN12_GLOBAL__N_111anon_kernelEPf", b, sizeof b);
    assert_string_equal(b, "(anonymous namespace)::anon_kernel");
    zn_gpu_kernel_display_name("_Zgarbage", b, sizeof b); /* not demanglable: kept */
    assert_string_equal(b, "_Zgarbage");
}

static void test_profile_helpers(void **state) {
    (void)state;
    zn_gpu_profile p;
    memset(&p, 0, sizeof p);
    p.n_nodes = 2;
    p.nodes = zn_calloc(2, sizeof *p.nodes);
    snprintf(p.nodes[0].name, sizeof p.nodes[0].name, "a");
    snprintf(p.nodes[1].name, sizeof p.nodes[1].name, "b");
    p.nodes[1].total_ns = 7;
    p.n_kernels = 1;
    p.kernels = zn_calloc(1, sizeof *p.kernels);
    snprintf(p.kernels[0].name, sizeof p.kernels[0].name, "k");
    zn_gpu_profile q;
    assert_int_equal(zn_gpu_profile_copy(&q, &p), ZN_OK);
    zn_gpu_profile_free(&p);
    assert_null(p.nodes);
    assert_int_equal(zn_gpu_profile_node(&q, "b")->total_ns, 7);
    assert_null(zn_gpu_profile_node(&q, "c"));
    assert_string_equal(q.kernels[0].name, "k");
    zn_gpu_profile_free(&q);
    zn_gpu_profile_free(NULL);
}

#ifdef HAVE_CUPTI

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cupti_activity.h>
#pragma GCC diagnostic pop

/* ---- synthetic buffers -------------------------------------------------------------------------- */

/* Records are laid out back to back at 8-byte boundaries, as CUPTI does; the walker knows each
 * kind's size, like cuptiActivityGetNextRecord. */
static size_t rec_size(CUpti_ActivityKind k) {
    switch (k) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: return sizeof(CUpti_ActivityKernel10);
    case CUPTI_ACTIVITY_KIND_MEMCPY: return sizeof(CUpti_ActivityMemcpy6);
    case CUPTI_ACTIVITY_KIND_MEMSET: return sizeof(CUpti_ActivityMemset4);
    case CUPTI_ACTIVITY_KIND_RUNTIME:
    case CUPTI_ACTIVITY_KIND_DRIVER: return sizeof(CUpti_ActivityAPI);
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: return sizeof(CUpti_ActivityExternalCorrelation);
    default: return 0;
    }
}

static int walk(uint8_t *buf, size_t valid, const void **rec) {
    size_t off = 0;
    if (*rec) {
        const CUpti_Activity *r = *rec;
        off = (size_t)((const uint8_t *)*rec - buf) + rec_size(r->kind);
    }
    off = (off + 7) & ~(size_t)7;
    if (off >= valid) return 0;
    const CUpti_Activity *r = (const CUpti_Activity *)(buf + off);
    size_t n = rec_size(r->kind);
    if (!n || off + n > valid) return -1;
    *rec = r;
    return 1;
}

typedef struct tbuf {
    uint8_t *b;
    size_t len, cap;
} tbuf;

static void *put(tbuf *t, size_t n) {
    size_t off = (t->len + 7) & ~(size_t)7;
    if (off + n > t->cap) {
        t->cap = (off + n) * 2 + 4096;
        t->b = realloc(t->b, t->cap);
        assert_non_null(t->b);
    }
    memset(t->b + t->len, 0, off + n - t->len);
    t->len = off + n;
    return t->b + off;
}

static void put_ext(tbuf *t, uint32_t corr, uint64_t xid) {
    CUpti_ActivityExternalCorrelation *x = put(t, sizeof *x);
    x->kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
    x->externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM1;
    x->externalId = xid;
    x->correlationId = corr;
}

static void put_api(tbuf *t, CUpti_ActivityKind kind, uint32_t corr) {
    CUpti_ActivityAPI *a = put(t, sizeof *a);
    a->kind = kind;
    a->correlationId = corr;
    a->start = 1;
    a->end = 2;
}

static void put_kernel(tbuf *t, const char *name, uint32_t corr, uint64_t start, uint64_t end, int grid,
                       int block, uint64_t graph_node) {
    CUpti_ActivityKernel10 *k = put(t, sizeof *k);
    k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k->name = name;
    k->correlationId = corr;
    k->start = start;
    k->end = end;
    k->gridX = grid, k->gridY = 1, k->gridZ = 1;
    k->blockX = block, k->blockY = 1, k->blockZ = 1;
    k->registersPerThread = 32;
    k->staticSharedMemory = 1024;
    k->dynamicSharedMemory = 0;
    k->graphNodeId = graph_node;
}

static void put_memcpy(tbuf *t, uint8_t kind, uint32_t corr, uint32_t rt_corr, uint64_t start, uint64_t end,
                       uint64_t bytes) {
    CUpti_ActivityMemcpy6 *m = put(t, sizeof *m);
    m->kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    m->copyKind = kind;
    m->correlationId = corr;
    m->runtimeCorrelationId = rt_corr;
    m->start = start;
    m->end = end;
    m->bytes = bytes;
    m->copyCount = 1;
}

static void put_memset(tbuf *t, uint32_t corr, uint64_t start, uint64_t end) {
    CUpti_ActivityMemset4 *m = put(t, sizeof *m);
    m->kind = CUPTI_ACTIVITY_KIND_MEMSET;
    m->correlationId = corr;
    m->start = start;
    m->end = end;
    m->bytes = 64;
}

static void feed(zn_gpu_trace *t, tbuf *b) {
    assert_true(zn_gpu_trace_add_buffer(t, b->b, b->len, walk) >= 0);
    b->len = 0;
}

/* fc1 (Gemm) -> relu (Relu) -> fc2 (Gemm) */
static const zn_gpu_step_desc STEPS[3] = {
    {"fc1", "Gemm", "cuda.linear_lt"}, {"relu", "Relu", "cuda.relu"}, {"fc2", "Gemm", "cuda.linear_lt"}};
static const char GEMM[] = "_Z4gemmILi128EEvPfPKfi";          /* void gemm<128>(float*, float const*, int) */
static const char RELU[] = "_Z4reluPfi";                      /* void relu(float*, int) */

static zn_gpu_trace *new_trace(int slots, int corr_bits) {
    zn_gpu_trace *t;
    assert_int_equal(zn_gpu_trace_new(3, STEPS, slots, corr_bits, &t), ZN_OK);
    return t;
}

/* One eager run of `slot` at time t0 (ns): H2D 1000 ns at the run level, fc1 (two kernels:
 * gemm 4000 ns, a memset 100 ns), relu 500 ns, fc2 gemm 3000 ns, D2H 800 ns at the run level.
 * Correlation ids start at *corr and are advanced. */
static void eager_run(tbuf *b, unsigned epoch, int slot, uint32_t run, uint64_t t0, uint32_t *corr) {
    uint32_t c;
    uint64_t at = t0;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, -1));
    put_api(b, CUPTI_ACTIVITY_KIND_RUNTIME, c);
    put_memcpy(b, CUPTI_ACTIVITY_MEMCPY_KIND_HTOD, c + 100000, c, at, at + 1000, 4096); /* runtime corr only */
    at += 1200;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, 0));
    put_api(b, CUPTI_ACTIVITY_KIND_RUNTIME, c);
    put_kernel(b, GEMM, c, at, at + 4000, 64, 128, 0);
    at += 4100;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, 0));
    put_api(b, CUPTI_ACTIVITY_KIND_RUNTIME, c);
    put_memset(b, c, at, at + 100);
    at += 200;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, 1));
    put_api(b, CUPTI_ACTIVITY_KIND_DRIVER, c); /* a driver-API launch (cuLaunchKernel) */
    put_kernel(b, RELU, c, at, at + 500, 32, 256, 0);
    at += 600;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, 2));
    put_api(b, CUPTI_ACTIVITY_KIND_RUNTIME, c);
    put_kernel(b, GEMM, c, at, at + 3000, 32, 128, 0);
    at += 3100;
    c = (*corr)++;
    put_ext(b, c, zn_gpu_xid(epoch, slot, run, -1));
    put_api(b, CUPTI_ACTIVITY_KIND_RUNTIME, c);
    put_memcpy(b, CUPTI_ACTIVITY_MEMCPY_KIND_DTOH, c, c, at, at + 800, 2048);
}

static const zn_gpu_node *node(const zn_gpu_profile *p, const char *name) {
    const zn_gpu_node *n = zn_gpu_profile_node(p, name);
    assert_non_null(n);
    return n;
}

static void test_eager_runs(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 0);
    unsigned e = zn_gpu_trace_reset(t);
    assert_int_equal(e, 2);
    tbuf b = {0};
    uint32_t corr = 10;
    for (uint32_t r = 0; r < 50; r++) {
        eager_run(&b, e, 0, r, 1000000 + (uint64_t)r * 100000, &corr);
        if (r % 7 == 6) feed(t, &b); /* buffers end between runs and inside them */
    }
    feed(t, &b);
    zn_gpu_trace_finish(t);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.runs, 50);
    assert_int_equal(p.kernel_count, 150);
    assert_int_equal(p.memset_count, 50);
    assert_int_equal(p.memcpy_count, 100);
    assert_int_equal(p.attributed, 200);   /* kernels + memsets */
    assert_int_equal(p.run_level, 100);    /* the copies */
    assert_int_equal(p.unattributed, 0);
    assert_int_equal(p.stale, 0);
    assert_int_equal(p.api_records, 300);
    assert_int_equal(p.h2d_bytes, 50 * 4096);
    assert_int_equal(p.d2h_bytes, 50 * 2048);
    /* nodes: sorted by total; per run = total / runs */
    assert_int_equal(p.n_nodes, 3);
    assert_string_equal(p.nodes[0].name, "fc1");
    assert_int_equal(node(&p, "fc1")->total_ns, 50 * 4100);
    assert_int_equal(node(&p, "fc1")->count, 100);
    assert_int_equal(node(&p, "relu")->total_ns, 50 * 500);
    assert_int_equal(node(&p, "fc2")->total_ns, 50 * 3000);
    assert_true(node(&p, "fc2")->per_run_ns == 3000.0);
    assert_string_equal(node(&p, "fc2")->kernel, "cuda.linear_lt");
    assert_string_equal(node(&p, "relu")->op, "Relu");
    assert_int_equal(p.node_total_ns, 50 * 7600);
    double shares = 0;
    for (int i = 0; i < p.n_nodes; i++) shares += p.nodes[i].share;
    assert_true(fabs(shares - 1.0) < 1e-12);
    /* launch sites: gemm from fc1 (grid 64) and from fc2 (grid 32), relu */
    assert_int_equal(p.n_kernels, 3);
    assert_int_equal(p.kernels[0].total_ns, 50 * 4000);
    assert_string_equal(p.kernels[0].node, "fc1");
    assert_int_equal(p.kernels[0].grid[0], 64);
    assert_int_equal(p.kernels[0].block[0], 128);
    assert_int_equal(p.kernels[0].regs, 32);
    assert_int_equal(p.kernels[0].smem_static, 1024);
    assert_int_equal(p.kernels[0].count, 50);
    assert_int_equal(p.kernels[0].min_ns, 4000);
    assert_int_equal(p.kernels[0].max_ns, 4000);
    assert_string_equal(p.kernels[1].node, "fc2");
    assert_string_equal(p.kernels[2].node, "relu");
    if (zn_gpu_demangler_available()) {
        assert_string_equal(p.kernels[0].name, "gemm<128>");
        assert_string_equal(p.kernels[2].name, "relu");
    }
    assert_int_equal(p.kernel_total_ns, 50 * 7500);
    /* the split: H2D 1000, compute from the first kernel to the last (4100+200+600+3000), D2H 800 */
    assert_int_equal(p.h2d.count, 50);
    assert_true(p.h2d.mean == 1000.0);
    assert_true(p.d2h.mean == 800.0);
    assert_int_equal(p.compute.min, 7900);
    assert_int_equal(p.compute.max, 7900);
    assert_int_equal(p.compute.p50, 7900); /* clamped to [min, max] */
    assert_true(p.busy.mean == 7600.0);
    assert_int_equal(p.window_ns, 49 * 100000 + 1200 + 7900 + 100 + 800);
    zn_gpu_profile_free(&p);
    free(b.b);
    zn_gpu_trace_free(t);
}

/* Capture: nodes created per step, cloned at instantiation; replays carry only the launch's
 * correlation (run level) and the clone's graphNodeId. */
static void test_graph_replays(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(2, 0);
    /* capture (during warm-up: before the reset, which must keep the map) */
    for (int s = 0; s < 2; s++) {
        for (int step = 0; step < 3; step++) zn_gpu_trace_graph_node(t, 500 + (uint64_t)(10 * s + step), s, step);
        for (int step = 0; step < 3; step++)
            zn_gpu_trace_graph_node_cloned(t, 500 + (uint64_t)(10 * s + step), 9000 + (uint64_t)(10 * s + step));
    }
    zn_gpu_trace_graph_node_cloned(t, 77, 78);        /* an unknown original: ignored */
    zn_gpu_trace_graph_node(t, 1, 0, 99);             /* a step out of range: ignored */
    unsigned e = zn_gpu_trace_reset(t);
    tbuf b = {0};
    uint32_t corr = 1;
    for (uint32_t r = 0; r < 20; r++)
        for (int s = 0; s < 2; s++) {
            uint64_t at = 5000000 + (uint64_t)r * 20000 + (uint64_t)s * 7;
            uint32_t c = corr++;
            put_ext(&b, c, zn_gpu_xid(e, s, r, -1));
            put_api(&b, CUPTI_ACTIVITY_KIND_RUNTIME, c); /* cudaGraphLaunch */
            put_kernel(&b, GEMM, c, at, at + 2000, 64, 128, 9000 + (uint64_t)(10 * s));
            put_kernel(&b, RELU, c, at + 2000, at + 2300, 32, 256, 9001 + (uint64_t)(10 * s));
            put_kernel(&b, GEMM, c, at + 2300, at + 3800, 32, 128, 9002 + (uint64_t)(10 * s));
            put_kernel(&b, RELU, c, at + 3800, at + 3900, 32, 256, 4242); /* a node nobody mapped */
        }
    feed(t, &b);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.runs, 40);
    assert_int_equal(p.graph_records, 160);
    assert_int_equal(p.attributed, 120);
    assert_int_equal(p.run_level, 40);
    assert_int_equal(p.unattributed, 0);
    assert_int_equal(node(&p, "fc1")->total_ns, 40 * 2000);
    assert_int_equal(node(&p, "relu")->total_ns, 40 * 300);
    assert_int_equal(node(&p, "fc2")->total_ns, 40 * 1500);
    assert_int_equal(p.compute.min, 3900);
    assert_int_equal(p.compute.max, 3900);
    assert_int_equal(p.h2d.max, 0);
    zn_gpu_profile_free(&p);
    free(b.b);
    zn_gpu_trace_free(t);
}

static void test_out_of_order_and_finish(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 0);
    unsigned e = zn_gpu_trace_epoch(t);
    tbuf dev = {0}, api = {0};
    /* the kernels' buffer comes first; their correlations come in the next one */
    put_kernel(&dev, GEMM, 11, 100, 1100, 64, 128, 0);
    put_kernel(&dev, RELU, 12, 1100, 1300, 32, 256, 0);
    put_kernel(&dev, RELU, 13, 1300, 1400, 32, 256, 0); /* never correlated */
    feed(t, &dev);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.kernel_count, 0); /* waiting */
    zn_gpu_profile_free(&p);
    put_ext(&api, 11, zn_gpu_xid(e, 0, 0, 0));
    put_ext(&api, 12, zn_gpu_xid(e, 0, 0, 1));
    put_ext(&api, 99, 0x1234);              /* another kind of id (not ours): ignored */
    {
        CUpti_ActivityExternalCorrelation *x = put(&api, sizeof *x);
        x->kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
        x->externalKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0; /* another tool's kind */
        x->externalId = zn_gpu_xid(e, 0, 0, 2);
        x->correlationId = 13;
    }
    feed(t, &api);
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.kernel_count, 2);
    assert_int_equal(p.attributed, 2);
    assert_int_equal(node(&p, "fc1")->total_ns, 1000);
    zn_gpu_profile_free(&p);
    zn_gpu_trace_finish(t);
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.kernel_count, 3);
    assert_int_equal(p.unattributed, 1);
    assert_int_equal(node(&p, "fc2")->total_ns, 0);
    zn_gpu_profile_free(&p);
    free(dev.b);
    free(api.b);
    zn_gpu_trace_free(t);
}

/* Warm-up records that arrive after the reset carry the old epoch: dropped. A reset also
 * forgets what was counted and what waited. */
static void test_stale_epoch(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 0);
    unsigned old = zn_gpu_trace_epoch(t);
    tbuf b = {0};
    uint32_t corr = 1;
    eager_run(&b, old, 0, 0, 1000, &corr);
    feed(t, &b);
    put_kernel(&b, GEMM, 5000, 1, 2, 1, 1, 0); /* waits forever */
    feed(t, &b);
    zn_gpu_trace_add_dropped(t, 3);
    unsigned e = zn_gpu_trace_reset(t);
    assert_true(e != old && e >= 1 && e <= 15);
    eager_run(&b, old, 0, 1, 900000, &corr);   /* late warm-up records */
    eager_run(&b, e, 0, 0, 1000000, &corr);
    feed(t, &b);
    zn_gpu_trace_add_dropped(t, 2);
    zn_gpu_trace_finish(t);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.stale, 6);
    assert_int_equal(p.runs, 1);
    assert_int_equal(p.kernel_count, 3);
    assert_int_equal(p.unattributed, 0); /* the waiting one went with the reset */
    assert_int_equal(p.dropped, 2);
    assert_int_equal(node(&p, "fc1")->total_ns, 4100);
    zn_gpu_profile_free(&p);
    /* epochs cycle through 1..15 */
    for (int i = 0; i < 40; i++) {
        unsigned x = zn_gpu_trace_reset(t);
        assert_true(x >= 1 && x <= 15);
    }
    free(b.b);
    zn_gpu_trace_free(t);
}

/* Several sessions interleaved; runs far behind the newest count per node but not per run. */
static void test_slots_and_late_runs(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(3, 0);
    unsigned e = zn_gpu_trace_epoch(t);
    tbuf b = {0};
    uint32_t corr = 1;
    for (uint32_t r = 0; r < 30; r++)
        for (int s = 0; s < 3; s++) eager_run(&b, e, s, r, 1000000 * (uint64_t)s + 20000 * (uint64_t)r, &corr);
    feed(t, &b);
    eager_run(&b, e, 1, 3, 50, &corr); /* slot 1's run 3 again, 26 runs late */
    feed(t, &b);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.runs, 90);
    assert_int_equal(p.late, 6);
    assert_int_equal(node(&p, "relu")->count, 91);
    assert_int_equal(p.compute.min, 7900);
    zn_gpu_profile_free(&p);
    /* wrap-around of the 28-bit run counter keeps the order */
    zn_gpu_trace_reset(t);
    e = zn_gpu_trace_epoch(t);
    for (uint32_t r = ZN_GPU_RUN_MASK - 2; r != 3; r = (r + 1) & ZN_GPU_RUN_MASK) eager_run(&b, e, 0, r, 10, &corr);
    feed(t, &b);
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.runs, 6);
    assert_int_equal(p.late, 0);
    zn_gpu_profile_free(&p);
    free(b.b);
    zn_gpu_trace_free(t);
}

/* A small correlation table: an entry overwritten by a newer id no longer resolves the old one. */
static void test_correlation_table_wraps(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 4); /* 16 entries */
    unsigned e = zn_gpu_trace_epoch(t);
    tbuf b = {0};
    put_ext(&b, 3, zn_gpu_xid(e, 0, 0, 0));
    put_ext(&b, 3 + 16, zn_gpu_xid(e, 0, 0, 1)); /* same entry */
    put_kernel(&b, GEMM, 3, 0, 10, 1, 1, 0);     /* its correlation is gone: waits */
    put_kernel(&b, RELU, 19, 0, 20, 1, 1, 0);
    feed(t, &b);
    zn_gpu_trace_finish(t);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.attributed, 1);
    assert_int_equal(p.unattributed, 1);
    assert_int_equal(node(&p, "relu")->total_ns, 20);
    zn_gpu_profile_free(&p);
    free(b.b);
    zn_gpu_trace_free(t);
}

static void test_launch_site_cap_and_bad_buffer(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 0);
    unsigned e = zn_gpu_trace_epoch(t);
    tbuf b = {0};
    put_ext(&b, 1, zn_gpu_xid(e, 0, 0, 0));
    int n = ZN_GPU_MAX_KERNELS + 25;
    for (int i = 0; i < n; i++) put_kernel(&b, GEMM, 1, 0, (uint64_t)(1000 + i), i + 1, 128, 0);
    feed(t, &b);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.n_kernels, ZN_GPU_MAX_KERNELS);
    assert_int_equal(p.other_kernels, 25);
    int64_t kept = 0;
    for (int i = 0; i < p.n_kernels; i++) kept += p.kernels[i].total_ns;
    assert_int_equal(kept + p.other_kernel_ns, p.kernel_total_ns);
    assert_int_equal(p.kernels[0].grid[0], n); /* the longest first */
    zn_gpu_profile_free(&p);
    /* a record of a kind the walker does not know: the walk stops with -1, earlier ones count */
    put_ext(&b, 2, zn_gpu_xid(e, 0, 1, 1));
    put_kernel(&b, RELU, 2, 0, 5, 1, 1, 0);
    CUpti_Activity *bad = put(&b, 16);
    bad->kind = CUPTI_ACTIVITY_KIND_PC_SAMPLING;
    assert_int_equal(zn_gpu_trace_add_buffer(t, b.b, b.len, walk), -1);
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(node(&p, "relu")->total_ns, 5);
    zn_gpu_profile_free(&p);
    /* single records go in too; unknown kinds are ignored */
    CUpti_Activity other = {CUPTI_ACTIVITY_KIND_MARKER};
    zn_gpu_trace_add_record(t, &other);
    zn_gpu_trace_add_record(t, NULL);
    free(b.b);
    zn_gpu_trace_free(t);
}

/* Percentiles of the per-run compute time over a spread of values: within a bucket (1.6 %). */
static void test_split_percentiles(void **state) {
    (void)state;
    zn_gpu_trace *t = new_trace(1, 0);
    unsigned e = zn_gpu_trace_epoch(t);
    tbuf b = {0};
    uint32_t corr = 1;
    for (uint32_t r = 0; r < 1000; r++) {
        uint64_t at = (uint64_t)r * 10000000;
        uint64_t len = 10000 + (uint64_t)r * 1000; /* 10 us .. 1.009 ms */
        uint32_t c = corr++;
        put_ext(&b, c, zn_gpu_xid(e, 0, r, 1));
        put_kernel(&b, RELU, c, at, at + len, 1, 1, 0);
    }
    feed(t, &b);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.compute.count, 1000);
    assert_int_equal(p.compute.min, 10000);
    assert_int_equal(p.compute.max, 1009000);
    double want50 = 10000 + 499 * 1000.0, want99 = 10000 + 989 * 1000.0;
    assert_true(fabs((double)p.compute.p50 - want50) / want50 < 0.017);
    assert_true(fabs((double)p.compute.p99 - want99) / want99 < 0.017);
    assert_true(fabs(p.compute.mean - 509500.0) < 1e-6);
    zn_gpu_profile_free(&p);
    free(b.b);
    zn_gpu_trace_free(t);
}

static void test_plan_steps(void **state) {
    (void)state;
    zn_gpu_trace *t = NULL;
    assert_int_not_equal(zn_gpu_trace_new_for_plan(NULL, 1, &t), ZN_OK);
    assert_null(t);
    assert_int_not_equal(zn_gpu_trace_new(3, STEPS, 0, 0, &t), ZN_OK);
    assert_int_not_equal(zn_gpu_trace_new(3, STEPS, ZN_GPU_MAX_SLOTS + 1, 0, &t), ZN_OK);
    assert_int_equal(zn_gpu_trace_new(0, NULL, 1, 0, &t), ZN_OK);
    zn_gpu_profile p;
    assert_int_equal(zn_gpu_trace_collect(t, &p), ZN_OK);
    assert_int_equal(p.n_nodes, 0);
    assert_int_equal(p.runs, 0);
    zn_gpu_profile_free(&p);
    zn_gpu_trace_free(t);
}

#define CUPTI_TESTS                                                                                     \
    cmocka_unit_test(test_eager_runs), cmocka_unit_test(test_graph_replays),                             \
        cmocka_unit_test(test_out_of_order_and_finish), cmocka_unit_test(test_stale_epoch),              \
        cmocka_unit_test(test_slots_and_late_runs), cmocka_unit_test(test_correlation_table_wraps),      \
        cmocka_unit_test(test_launch_site_cap_and_bad_buffer), cmocka_unit_test(test_split_percentiles), \
        cmocka_unit_test(test_plan_steps),

#else

static void test_no_cupti(void **state) {
    (void)state;
    zn_gpu_trace *t = (zn_gpu_trace *)1;
    assert_int_equal(zn_gpu_trace_new(1, NULL, 1, 0, &t), ZN_ERR_UNSUPPORTED);
    assert_null(t);
    assert_false(zn_gpu_trace_compiled());
    skip(); /* the parser needs the CUPTI headers: nothing more to test in this build */
}
#define CUPTI_TESTS cmocka_unit_test(test_no_cupti),

#endif

int main(void) {
#ifndef HAVE_CUPTI
    fprintf(stderr, "[ note     ] no <cupti_activity.h> on the include path: the activity parser tests are "
                    "skipped (build with the CUDA toolkit to run them)\n");
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xid_layout),
        cmocka_unit_test(test_kernel_names),
        cmocka_unit_test(test_profile_helpers),
        CUPTI_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
