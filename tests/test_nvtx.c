/* test_nvtx.c — the NVTX ranges Zenith emits, read back through an NVTX injection.
 *
 * The test links a small NVTX tool statically: NVTX v3 looks for a tool on its first call, and
 * after the NVTX_INJECTION64_PATH library it binds the weak symbol InitializeInjectionNvtx2_fnptr,
 * which this file defines. The tool's callbacks record every range push/pop (domain, message,
 * colour) so the test can check the names and the nesting: "compile" around the passes,
 * "<node> [<Op>]" for each plan step inside "query <n>", in plan order. The NVTX_DISABLE build of
 * the wrapper is compiled into this file as well (under other names, bottom of the file) to show
 * it emits nothing. Skipped when the NVTX headers are missing (no CUDA toolkit) or a real tool
 * is attached through NVTX_INJECTION64_PATH. */
#include "test_util.h"

#include "engine/zenith.h"
#include "profiling/nvtx.h"
#include "profiling/profile.h"

#if defined(__has_include)
#if __has_include(<nvtx3/nvToolsExt.h>)
#define HAVE_NVTX 1
#endif
#endif

/* The wrapper built with -DNVTX_DISABLE, renamed (defined at the bottom). */
bool off_zn_nvtx_compiled(void);
bool off_zn_nvtx_enabled(void);
zn_nvtx_string off_zn_nvtx_register(const char *s);
void off_zn_nvtx_push(const char *message, uint32_t argb);
void off_zn_nvtx_pop(void);
void off_zn_nvtx_compile_begin(void);
void off_zn_nvtx_compile_end(void);
void off_zn_nvtx_pass_begin(void *user, const char *pass);
void off_zn_nvtx_pass_end(void *user, const char *pass);
void off_zn_nvtx_query_begin(int64_t n);
void off_zn_nvtx_query_end(void);

#ifdef HAVE_NVTX

/* This file defines InitializeInjectionNvtx2_fnptr (below); the NVTX loader reads it. */
#define NVTX_STATIC_INJECTION_IMPL 1
extern int (*InitializeInjectionNvtx2_fnptr)(const void *(*)(uint32_t));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#include <nvtx3/nvToolsExt.h>
#pragma GCC diagnostic pop

/* ---- the recording tool --------------------------------------------------------------------- */

enum { MAX_EVENTS = 8192, MAX_STRINGS = 512 };

typedef struct event {
    int push;             /* 1 push, 0 pop */
    const void *domain;
    char message[192];
    uint32_t color;
} event;

static struct {
    int initialised;
    char domain_name[64];
    char strings[MAX_STRINGS][192];
    int n_strings;
    event events[MAX_EVENTS];
    int n_events;
    int overflow;
} tool;

static int fake_domain_storage;

static nvtxDomainHandle_t NVTX_API tool_domain_create(const char *name) {
    snprintf(tool.domain_name, sizeof tool.domain_name, "%s", name);
    return (nvtxDomainHandle_t)(void *)&fake_domain_storage;
}

static nvtxStringHandle_t NVTX_API tool_register_string(nvtxDomainHandle_t d, const char *s) {
    (void)d;
    if (tool.n_strings >= MAX_STRINGS) return NULL;
    snprintf(tool.strings[tool.n_strings], sizeof tool.strings[0], "%s", s);
    return (nvtxStringHandle_t)(void *)tool.strings[tool.n_strings++];
}

static event *next_event(void) {
    if (tool.n_events >= MAX_EVENTS) {
        tool.overflow = 1;
        return NULL;
    }
    return &tool.events[tool.n_events++];
}

static int NVTX_API tool_push(nvtxDomainHandle_t d, const nvtxEventAttributes_t *a) {
    event *e = next_event();
    if (!e) return 0;
    e->push = 1;
    e->domain = d;
    e->color = a->colorType == NVTX_COLOR_ARGB ? a->color : 0;
    if (a->messageType == NVTX_MESSAGE_TYPE_ASCII)
        snprintf(e->message, sizeof e->message, "%s", a->message.ascii);
    else if (a->messageType == NVTX_MESSAGE_TYPE_REGISTERED)
        snprintf(e->message, sizeof e->message, "%s", (const char *)(const void *)a->message.registered);
    else
        snprintf(e->message, sizeof e->message, "<message type %d>", a->messageType);
    return 0;
}

static int NVTX_API tool_pop(nvtxDomainHandle_t d) {
    event *e = next_event();
    if (!e) return 0;
    e->push = 0;
    e->domain = d;
    return 0;
}

static int NVTX_API tool_init(NvtxGetExportTableFunc_t get) {
    const NvtxExportTableCallbacks *cb = get(NVTX_ETID_CALLBACKS);
    NvtxFunctionTable t = NULL;
    unsigned int size = 0;
    if (!cb || !cb->GetModuleFunctionTable(NVTX_CB_MODULE_CORE2, &t, &size)) return 0;
    if (size <= NVTX_CBID_CORE2_DomainCreateA) return 0;
    *t[NVTX_CBID_CORE2_DomainCreateA] = (NvtxFunctionPointer)tool_domain_create;
    *t[NVTX_CBID_CORE2_DomainRegisterStringA] = (NvtxFunctionPointer)tool_register_string;
    *t[NVTX_CBID_CORE2_DomainRangePushEx] = (NvtxFunctionPointer)tool_push;
    *t[NVTX_CBID_CORE2_DomainRangePop] = (NvtxFunctionPointer)tool_pop;
    tool.initialised = 1;
    return 1;
}

/* Strong definition: binds the NVTX loader's weak symbol to this tool. */
NvtxInitializeInjectionNvtxFunc_t InitializeInjectionNvtx2_fnptr = tool_init;

static int skip_reason(void) {
    if (getenv("NVTX_INJECTION64_PATH")) {
        fprintf(stderr, "[ skipped  ] an NVTX tool is attached through NVTX_INJECTION64_PATH\n");
        return 1;
    }
    if (!zn_nvtx_compiled()) {
        fprintf(stderr, "[ skipped  ] the library was built without NVTX (no -I<cuda>/include or NVTX_DISABLE)\n");
        return 1;
    }
    return 0;
}

/* ---- the graph ---------------------------------------------------------------------------- */

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

/* y = softmax(relu(x @ W + b)), x: (2,8), W: (8,4) */
static zn_plan *small_plan(zn_graph **gout) {
    zn_graph *g = zn_graph_new("nvtx-test");
    zn_dim dims[2] = {D(2), D(8)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    float w[32], b[4];
    tu_rng r = tu_rng_new(tu_seed());
    tu_fill(&r, w, 32, -1, 1);
    tu_fill(&r, b, 4, -1, 1);
    int64_t wd[2] = {8, 4}, bd[1] = {4};
    int W = zn_graph_add_const(g, "W", ZN_F32, 2, wd, w);
    int B = zn_graph_add_const(g, "b", ZN_F32, 1, bd, b);
    int in[2] = {x, W};
    int mm = zn_graph_op(g, ZN_OP_MATMUL, "proj", 2, in);
    int in2[2] = {mm, B};
    int add = zn_graph_op(g, ZN_OP_ADD, "bias", 2, in2);
    int relu = zn_graph_op(g, ZN_OP_RELU, "act", 1, &add);
    int sm = zn_graph_op(g, ZN_OP_SOFTMAX, "probs", 1, &relu);
    zn_graph_mark_output(g, sm);
    zn_compile_config cfg = zn_compile_config_default();
    cfg.no_passes = true;
    cfg.threads = 1;
    zn_plan *plan = NULL;
    assert_int_equal(zn_compile(g, &cfg, &plan), ZN_OK);
    *gout = g;
    return plan;
}

static void run_once(zn_session *s) {
    float x[16], y[8];
    tu_rng r = tu_rng_new(tu_seed() + 7);
    tu_fill(&r, x, 16, -1, 1);
    int64_t xd[2] = {2, 8}, yd[2] = {2, 4};
    zn_view in = tu_view(ZN_F32, x, 2, xd), out = tu_view(ZN_F32, y, 2, yd);
    assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_OK);
}

/* Checks events[*at] is a push of `name` (and colour when nonzero) in the Zenith domain. */
static void expect_push(int *at, const char *name, uint32_t color) {
    assert_true(*at < tool.n_events);
    const event *e = &tool.events[(*at)++];
    assert_int_equal(e->push, 1);
    assert_ptr_equal(e->domain, &fake_domain_storage);
    assert_string_equal(e->message, name);
    if (color) assert_int_equal(e->color, color);
}

static void expect_pop(int *at) {
    assert_true(*at < tool.n_events);
    const event *e = &tool.events[(*at)++];
    assert_int_equal(e->push, 0);
    assert_ptr_equal(e->domain, &fake_domain_storage);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_ranges_names_and_nesting(void **state) {
    (void)state;
    if (skip_reason()) skip();
    assert_true(zn_nvtx_enabled()); /* the first call loads the tool */
    assert_true(tool.initialised);
    assert_string_equal(tool.domain_name, "Zenith");
    tool.n_events = 0;

    /* compile with its passes */
    zn_nvtx_compile_begin();
    zn_graph *g;
    zn_plan *plan = small_plan(&g);
    zn_nvtx_pass_begin(NULL, "constant-folding");
    zn_nvtx_pass_end(NULL, "constant-folding");
    zn_nvtx_pass_begin(NULL, "dead-code-elimination");
    zn_nvtx_pass_end(NULL, "dead-code-elimination");
    zn_nvtx_compile_end();

    zn_profiler *p;
    assert_int_equal(zn_profiler_new(plan, 1, ZN_PROFILE_TIMING | ZN_PROFILE_NVTX, &p), ZN_OK);
    assert_true(zn_profiler_nvtx_active(p));
    zn_session *s;
    assert_int_equal(zn_session_new(plan, &s), ZN_OK);
    assert_int_equal(zn_profiler_attach(p, 0, s), ZN_OK);
    int queries = 2 + (int)(tu_seed() % 3);
    for (int q = 0; q < queries; q++) {
        zn_nvtx_query_begin(q);
        run_once(s);
        zn_nvtx_query_end();
    }
    assert_false(tool.overflow);

    int at = 0;
    expect_push(&at, "compile", ZN_NVTX_COLOR_COMPILE);
    expect_push(&at, "constant-folding", ZN_NVTX_COLOR_PASS);
    expect_pop(&at);
    expect_push(&at, "dead-code-elimination", ZN_NVTX_COLOR_PASS);
    expect_pop(&at);
    expect_pop(&at);
    int n_steps = zn_plan_num_steps(plan);
    assert_int_equal(n_steps, 4);
    for (int q = 0; q < queries; q++) {
        char qname[32];
        snprintf(qname, sizeof qname, "query %d", q);
        expect_push(&at, qname, ZN_NVTX_COLOR_QUERY);
        for (int i = 0; i < n_steps; i++) {
            zn_step_info si = zn_plan_step(plan, i);
            char name[256];
            snprintf(name, sizeof name, "%s [%s]", si.node, zn_op_name(si.op));
            expect_push(&at, name, zn_nvtx_op_color(si.op));
            expect_pop(&at);
        }
        expect_pop(&at);
    }
    assert_int_equal(at, tool.n_events);

    /* The node names the test expects, spelled out (plan order is the topological order). */
    const char *names[4] = {"proj [MatMul]", "bias [Add]", "act [Relu]", "probs [Softmax]"};
    for (int i = 0; i < 4; i++) assert_string_equal(tool.events[7 + 2 * i].message, names[i]);

    /* Nesting: replaying the pushes and pops never underflows and every node range sits at
     * depth 2, directly inside a query range. */
    int depth = 0;
    char stack[8][192];
    for (int k = 0; k < tool.n_events; k++) {
        const event *e = &tool.events[k];
        if (e->push) {
            assert_true(depth < 8);
            if (strchr(e->message, '[')) {
                assert_int_equal(depth, 1);
                assert_memory_equal(stack[0], "query ", 6);
            }
            snprintf(stack[depth++], sizeof stack[0], "%s", e->message);
        } else {
            assert_true(depth > 0);
            depth--;
        }
    }
    assert_int_equal(depth, 0);

    /* NVTX only (no timing): the same node ranges. */
    zn_profiler *p2;
    assert_int_equal(zn_profiler_new(plan, 1, ZN_PROFILE_NVTX, &p2), ZN_OK);
    assert_int_equal(zn_profiler_attach(p2, 0, s), ZN_OK);
    tool.n_events = 0;
    run_once(s);
    assert_int_equal(tool.n_events, 2 * n_steps);
    at = 0;
    for (int i = 0; i < n_steps; i++) {
        expect_push(&at, names[i], 0);
        expect_pop(&at);
    }

    /* Timing only: no ranges. */
    zn_profiler *p3;
    assert_int_equal(zn_profiler_new(plan, 1, ZN_PROFILE_TIMING, &p3), ZN_OK);
    assert_false(zn_profiler_nvtx_active(p3));
    assert_int_equal(zn_profiler_attach(p3, 0, s), ZN_OK);
    tool.n_events = 0;
    run_once(s);
    assert_int_equal(tool.n_events, 0);

    zn_session_free(s);
    zn_profiler_free(p);
    zn_profiler_free(p2);
    zn_profiler_free(p3);
    zn_plan_free(plan);
    zn_graph_free(g);
}

static void test_disabled_build_emits_nothing(void **state) {
    (void)state;
    if (skip_reason()) skip();
    assert_true(zn_nvtx_enabled());
    assert_false(off_zn_nvtx_compiled());
    assert_false(off_zn_nvtx_enabled());
    assert_null(off_zn_nvtx_register("x"));
    tool.n_events = 0;
    off_zn_nvtx_compile_begin();
    off_zn_nvtx_pass_begin(NULL, "p");
    off_zn_nvtx_pass_end(NULL, "p");
    off_zn_nvtx_compile_end();
    off_zn_nvtx_query_begin(1);
    off_zn_nvtx_push("n", 0);
    off_zn_nvtx_pop();
    off_zn_nvtx_query_end();
    assert_int_equal(tool.n_events, 0);
    /* ... while the enabled build, same calls, emits. */
    zn_nvtx_query_begin(1);
    zn_nvtx_query_end();
    assert_int_equal(tool.n_events, 2);
}

#else /* no NVTX headers: nothing to observe */

static void test_ranges_names_and_nesting(void **state) {
    (void)state;
    assert_false(zn_nvtx_compiled());
    assert_false(zn_nvtx_enabled());
    skip();
}

static void test_disabled_build_emits_nothing(void **state) {
    (void)state;
    assert_false(off_zn_nvtx_enabled());
    skip();
}

#endif

static void test_palette(void **state) {
    (void)state;
    /* Kinds get different colours; ops of one kind share one; every colour is opaque. */
    assert_int_not_equal(zn_nvtx_op_color(ZN_OP_MATMUL), zn_nvtx_op_color(ZN_OP_RELU));
    assert_int_not_equal(zn_nvtx_op_color(ZN_OP_MATMUL), zn_nvtx_op_color(ZN_OP_RESHAPE));
    assert_int_not_equal(zn_nvtx_op_color(ZN_OP_SOFTMAX), zn_nvtx_op_color(ZN_OP_RELU));
    assert_int_equal(zn_nvtx_op_color(ZN_OP_MATMUL), zn_nvtx_op_color(ZN_OP_GEMM));
    assert_int_equal(zn_nvtx_op_color(ZN_OP_ADD), zn_nvtx_op_color(ZN_OP_RELU));
    assert_int_equal(zn_nvtx_op_color(ZN_OP_TRANSPOSE), zn_nvtx_op_color(ZN_OP_RESHAPE));
    for (int op = 0; op < ZN_OP_COUNT; op++) assert_int_equal(zn_nvtx_op_color((zn_op)op) >> 24, 0xFF);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_names_and_nesting),
        cmocka_unit_test(test_disabled_build_emits_nothing),
        cmocka_unit_test(test_palette),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- the NVTX_DISABLE build of the wrapper, under off_ names ------------------------------- */
#define NVTX_DISABLE 1
#define zn_nvtx_compiled off_zn_nvtx_compiled
#define zn_nvtx_enabled off_zn_nvtx_enabled
#define zn_nvtx_op_color off_zn_nvtx_op_color
#define zn_nvtx_register off_zn_nvtx_register
#define zn_nvtx_push off_zn_nvtx_push
#define zn_nvtx_push_registered off_zn_nvtx_push_registered
#define zn_nvtx_pop off_zn_nvtx_pop
#define zn_nvtx_compile_begin off_zn_nvtx_compile_begin
#define zn_nvtx_compile_end off_zn_nvtx_compile_end
#define zn_nvtx_pass_begin off_zn_nvtx_pass_begin
#define zn_nvtx_pass_end off_zn_nvtx_pass_end
#define zn_nvtx_query_begin off_zn_nvtx_query_begin
#define zn_nvtx_query_end off_zn_nvtx_query_end
#include "profiling/nvtx.c"
