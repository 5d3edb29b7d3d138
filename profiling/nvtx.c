/* nvtx.c — the NVTX v3 wrapper declared in nvtx.h: one "Zenith" domain, registered strings,
 * coloured push/pop. NVTX v3 is header-only (it finds a tool through NVTX_INJECTION64_PATH or a
 * static injection on the first call), so nothing is linked.
 *
 * Two builds in one file: the real one when <nvtx3/nvToolsExt.h> is found and NVTX_DISABLE is
 * not defined, and a no-op one otherwise. */
#include <stdio.h>
#include <string.h>

#include "profiling/nvtx.h"

#if !defined(NVTX_DISABLE) && defined(__has_include)
#if __has_include(<nvtx3/nvToolsExt.h>)
#define ZN_NVTX_ON 1
#endif
#endif

uint32_t zn_nvtx_op_color(zn_op op) {
    enum { GEMM, FUSED, NORM, REDUCE, ACT, MOVE };
    static const uint32_t palette[] = {
        [GEMM] = 0xFFE15759u,   /* red: matmul, gemm, conv */
        [FUSED] = 0xFFB07AA1u,  /* purple: fused ops */
        [NORM] = 0xFFF28E2Bu,   /* orange: normalisation */
        [REDUCE] = 0xFFEDC948u, /* yellow: reductions, softmax, pooling */
        [ACT] = 0xFF59A14Fu,    /* green: activations and arithmetic */
        [MOVE] = 0xFF9C9C9Cu,   /* grey: shape and data movement */
    };
    /* By name, so fused ops added later fall into a kind without editing this table. */
    static const char *const move[] = {"Reshape", "Transpose", "Flatten", "Concat", "Split", "Slice",
                                       "Gather", "Squeeze", "Unsqueeze", "Expand", "Tile", "Pad",
                                       "Cast", "Identity", "Dropout", "Constant", "Shape",
                                       "ConstantOfShape", "Range", "Trilu"};
    const char *name = zn_op_name(op);
    int kind = ACT;
    if (!name) name = "";
    if (!strncmp(name, "Zn", 2))
        kind = FUSED;
    else if (strstr(name, "MatMul") || strstr(name, "Gemm") || strstr(name, "Conv"))
        kind = GEMM;
    else if (strstr(name, "Normalization"))
        kind = NORM;
    else if (strstr(name, "Reduce") || strstr(name, "Softmax") || strstr(name, "Pool") || strstr(name, "ArgMax"))
        kind = REDUCE;
    else
        for (size_t i = 0; i < sizeof move / sizeof move[0]; i++)
            if (!strcmp(name, move[i])) kind = MOVE;
    return palette[kind];
}

#ifdef ZN_NVTX_ON

#include <pthread.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#include <nvtx3/nvToolsExt.h>
#pragma GCC diagnostic pop

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static nvtxDomainHandle_t g_domain; /* NULL: no tool listening */

static void nvtx_init(void) { g_domain = nvtxDomainCreateA("Zenith"); }

static inline nvtxDomainHandle_t domain(void) {
    pthread_once(&g_once, nvtx_init);
    return g_domain;
}

bool zn_nvtx_compiled(void) { return true; }
bool zn_nvtx_enabled(void) { return domain() != NULL; }

zn_nvtx_string zn_nvtx_register(const char *s) {
    nvtxDomainHandle_t d = domain();
    if (!d || !s) return NULL;
    return (zn_nvtx_string)nvtxDomainRegisterStringA(d, s);
}

static inline nvtxEventAttributes_t attrs(uint32_t argb) {
    nvtxEventAttributes_t a = {0};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.colorType = NVTX_COLOR_ARGB;
    a.color = argb;
    return a;
}

void zn_nvtx_push(const char *message, uint32_t argb) {
    nvtxDomainHandle_t d = domain();
    if (!d) return;
    nvtxEventAttributes_t a = attrs(argb);
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = message;
    nvtxDomainRangePushEx(d, &a);
}

void zn_nvtx_push_registered(zn_nvtx_string s, uint32_t argb) {
    nvtxDomainHandle_t d = domain();
    if (!d) return;
    nvtxEventAttributes_t a = attrs(argb);
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = (nvtxStringHandle_t)s;
    nvtxDomainRangePushEx(d, &a);
}

void zn_nvtx_pop(void) {
    nvtxDomainHandle_t d = domain();
    if (d) nvtxDomainRangePop(d);
}

void zn_nvtx_query_begin(int64_t n) {
    if (!domain()) return;
    char msg[40];
    snprintf(msg, sizeof msg, "query %lld", (long long)n);
    zn_nvtx_push(msg, ZN_NVTX_COLOR_QUERY);
}

#else /* no NVTX: every call is a no-op */

bool zn_nvtx_compiled(void) { return false; }
bool zn_nvtx_enabled(void) { return false; }
zn_nvtx_string zn_nvtx_register(const char *s) {
    (void)s;
    return NULL;
}
void zn_nvtx_push(const char *message, uint32_t argb) {
    (void)message;
    (void)argb;
}
void zn_nvtx_push_registered(zn_nvtx_string s, uint32_t argb) {
    (void)s;
    (void)argb;
}
void zn_nvtx_pop(void) {}
void zn_nvtx_query_begin(int64_t n) { (void)n; }

#endif

void zn_nvtx_compile_begin(void) { zn_nvtx_push("compile", ZN_NVTX_COLOR_COMPILE); }
void zn_nvtx_compile_end(void) { zn_nvtx_pop(); }
void zn_nvtx_pass_begin(void *user, const char *pass) {
    (void)user;
    zn_nvtx_push(pass, ZN_NVTX_COLOR_PASS);
}
void zn_nvtx_pass_end(void *user, const char *pass) {
    (void)user;
    (void)pass;
    zn_nvtx_pop();
}
void zn_nvtx_query_end(void) { zn_nvtx_pop(); }
