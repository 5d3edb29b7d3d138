/* test_cuda.c — the CUDA backend against the CPU reference, table-driven (after ggml's
 * test-backend-ops): every op case below is built as a one- or two-node graph with the builder
 * API, compiled twice — the reference plan on the CPU (cfg.reference) and the CUDA backend at
 * each precision — run on fresh seeded random inputs, and the outputs compared:
 *
 *   |got - want| <= rtol * (|want| + rms(want))      rtol: fp32 1e-5, tf32 1e-3, fp16 1e-2,
 *                                                     bf16 2e-2 (times the case's `tol`)
 *
 * The rms term is the absolute part of the criterion: a GEMM's rounding error scales with the
 * typical magnitude of its outputs, not with the (possibly cancelled) value of each one. Integer
 * and bool outputs must be equal; a non-finite output where the reference is finite always fails.
 * For fp16/bf16/tf32 every float input and weight is first rounded to that precision, so the
 * reference and the device see the same values and only the device's rounding is measured.
 *
 * Each case's node must run on a "cuda." kernel, unless the backend has no kernel for the op at
 * all (reported as a "not supported" line, not a failure) or the case is marked MAY_FALLBACK
 * (an unusual form a kernel may refuse: then the CPU fallback's result is still checked). Whole
 * models (the zoo at small shapes, the ONNX fixtures with their reference outputs), CUDA graphs
 * (reduce-overhead mode equals default mode, new inputs between replays), and two sessions on
 * two threads follow.
 *
 * Without a GPU (or in a CUDA=0 build) the GPU tests print "skipped: <reason>" (the reason comes
 * from zn_device_probe) and are skipped; what needs no GPU always runs: every op with a CUDA
 * kernel in the registry has a case here, every case is well formed (it runs on the reference
 * plan and matches the CPU's fast kernels), and --backend cuda / auto behave as documented.
 * `make test-emu` runs everything here against the CUDA backend emulated on the CPU
 * (tests/cuda_emu/, built with ZN_CUDA_EMU): the zoo's large models then run at smaller shapes
 * and the two-thread test makes fewer runs.
 *
 * Replay a failure with the printed ZN_TEST_SEED; ZN_CUDA_CASE=substring runs only matching
 * cases. Not here: timing (scripts/bench_gpu.py), the kernels' own unit details.
 */
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/graph.h"
#include "engine/log.h"
#include "engine/onnx.h"
#include "engine/tensor_io.h"
#include "engine/zenith.h"
#include "kernels/registry.h"
#include "suites/zoo.h"

/* ======================================= the device ====================================== */

static bool gpu_present;
static char gpu_reason[ZN_ERROR_MSG + ZN_ERROR_HINT + 16];

static int group_setup(void **state) {
    (void)state;
    zn_device_info info;
    memset(&info, 0, sizeof info);
    zn_error_clear();
    zn_status st = zn_device_probe(&info);
    gpu_present = st == ZN_OK;
    if (gpu_present) {
        snprintf(gpu_reason, sizeof gpu_reason, "%s (sm_%d%d, %d SMs, %.1f GiB)", info.name,
                 info.cc_major, info.cc_minor, info.sm_count, info.total_bytes / 1073741824.0);
        print_message("[ device   ] %s\n", gpu_reason);
    } else {
        const zn_error *e = zn_last_error();
        snprintf(gpu_reason, sizeof gpu_reason, "%s", e->message[0] ? e->message : zn_status_name(st));
        print_message("[ device   ] none: %s%s%s%s\n", gpu_reason, e->hint[0] ? " (hint: " : "",
                      e->hint[0] ? e->hint : "", e->hint[0] ? ")" : "");
    }
    (void)tu_seed();
    return 0;
}

static struct zn_cuda_ctx *variant_ctx; /* the direct kernel runs' stream (run_variants) */

static int group_teardown(void **state) {
    (void)state;
    zn_cuda_ctx_free(variant_ctx);
    variant_ctx = NULL;
    return 0;
}

/* Skips the calling test (cmocka skip()) when there is no GPU, saying why. */
#define NEED_GPU()                                                                 \
    do {                                                                           \
        if (!gpu_present) {                                                        \
            print_message("[ skipped  ] %s: skipped: %s\n", __func__, gpu_reason); \
            skip();                                                                \
        }                                                                          \
    } while (0)

/* ======================================= precisions ====================================== */

typedef enum { P_FP32, P_TF32, P_FP16, P_BF16, P_COUNT } prec_id;
static const char *const prec_names[P_COUNT] = {"fp32", "tf32", "fp16", "bf16"};
static const double prec_rtol[P_COUNT] = {1e-5, 1e-3, 1e-2, 2e-2};

/* The zn_precision for a test precision; -1 when this build has none (tf32 is optional). */
static int prec_config(prec_id p) {
    switch (p) {
    case P_FP32: return ZN_PRECISION_F32;
    case P_TF32: return zn_precision_parse("tf32");
    case P_FP16: return ZN_PRECISION_F16;
    case P_BF16: return ZN_PRECISION_BF16;
    default: return -1;
    }
}

/* x rounded to what the precision stores, so the reference sees the device's input values. */
static float quantize(prec_id p, float x) {
    switch (p) {
    case P_FP16: return zn_f16_to_f32(zn_f32_to_f16(x));
    case P_BF16: return zn_bf16_to_f32(zn_f32_to_bf16(x));
    case P_TF32: {
        if (!isfinite(x)) return x;
        uint32_t u;
        memcpy(&u, &x, 4);
        u += 0xFFFu + ((u >> 13) & 1u); /* round to nearest even at 10 mantissa bits */
        u &= ~0x1FFFu;
        memcpy(&x, &u, 4);
        return x;
    }
    default: return x;
    }
}

/* ======================================= the case table ================================== */

typedef enum in_kind {
    IN_END = 0,  /* end of the input list */
    IN_NONE,     /* an omitted optional input */
    IN_RAND,     /* f32 graph input, U(lo, hi) */
    IN_INTF,     /* f32 graph input holding integers in [lo, hi) (ties for Equal, ArgMax) */
    IN_MASK,     /* f32 graph input: additive padding mask, 0 for the first keys of a row, -1e4 after */
    IN_IDX,      /* i64 graph input, integers in [lo, hi) */
    IN_BOOL,     /* bool graph input, random */
    IN_CONST,    /* f32 constant (weights), U(lo, hi) */
    IN_CIDX,     /* i64 constant, integers in [lo, hi) */
    IN_VALS,     /* constant of the given values (shape tensors, axes, scalars) */
} in_kind;

typedef struct in_spec {
    in_kind kind;
    zn_dtype dtype;   /* IN_VALS only; the others imply theirs */
    float lo, hi;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    int n_vals;
    double vals[16];
} in_spec;

typedef struct attr_spec {
    const char *name;
    char type;        /* 'i' int, 'f' float, 's' string, 'I' ints */
    int64_t i;
    float f;
    const char *s;
    int n;
    int64_t ints[8];
} attr_spec;

enum {
    MAY_FALLBACK = 1u << 0, /* an unusual form: running on the CPU fallback is not a failure */
    FP32_ONLY = 1u << 1,    /* meaningful only at fp32/tf32 (Cast to f16 under bf16 lowering) */
};

#define MAX_IN 8
#define MAX_ATTR 6
typedef struct op_case {
    const char *name;
    zn_op op;
    in_spec in[MAX_IN];       /* until IN_END */
    attr_spec attr[MAX_ATTR]; /* until name == NULL */
    int n_out;                /* 0: 1 */
    const char *then;         /* a unary op applied to output 0 (two-node graph), or NULL */
    float tol;                /* tolerance multiplier (0: 1) */
    unsigned flags;
} op_case;

/* Argument counting for the shape and value lists below (1 to 16 arguments). */
#define NARG(...) NARG_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define NARG_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, n, ...) n
#define DIMS(...) .rank = NARG(__VA_ARGS__), .dims = {__VA_ARGS__}

/* inputs */
#define X(lo_, hi_, ...) {.kind = IN_RAND, .lo = (lo_), .hi = (hi_), DIMS(__VA_ARGS__)}
#define XS(lo_, hi_) {.kind = IN_RAND, .lo = (lo_), .hi = (hi_), .rank = 0}
#define XI(lo_, hi_, ...) {.kind = IN_INTF, .lo = (lo_), .hi = (hi_), DIMS(__VA_ARGS__)}
#define MASK(...) {.kind = IN_MASK, DIMS(__VA_ARGS__)}
#define IDX(lo_, hi_, ...) {.kind = IN_IDX, .lo = (lo_), .hi = (hi_), DIMS(__VA_ARGS__)}
#define BOOLS(...) {.kind = IN_BOOL, DIMS(__VA_ARGS__)}
#define W(lo_, hi_, ...) {.kind = IN_CONST, .lo = (lo_), .hi = (hi_), DIMS(__VA_ARGS__)}
#define WS(lo_, hi_) {.kind = IN_CONST, .lo = (lo_), .hi = (hi_), .rank = 0}
#define CIDX(lo_, hi_, ...) {.kind = IN_CIDX, .lo = (lo_), .hi = (hi_), DIMS(__VA_ARGS__)}
#define IV(...) {.kind = IN_VALS, .dtype = ZN_I64, .rank = 1, .dims = {NARG(__VA_ARGS__)}, \
                 .n_vals = NARG(__VA_ARGS__), .vals = {__VA_ARGS__}}
#define IS(v) {.kind = IN_VALS, .dtype = ZN_I64, .rank = 0, .n_vals = 1, .vals = {(v)}}
#define FS(v) {.kind = IN_VALS, .dtype = ZN_F32, .rank = 0, .n_vals = 1, .vals = {(v)}}
#define NONE {.kind = IN_NONE}
/* attributes */
#define AI(nm, v) {.name = (nm), .type = 'i', .i = (v)}
#define AF(nm, v) {.name = (nm), .type = 'f', .f = (v)}
#define AS(nm, v) {.name = (nm), .type = 's', .s = (v)}
#define AIS(nm, ...) {.name = (nm), .type = 'I', .n = NARG(__VA_ARGS__), .ints = {__VA_ARGS__}}

#define CASE(nm, op_) .name = (nm), .op = ZN_OP_##op_
#define LARGE_END 1099511627776.0 /* 2^40: "to the end" in Slice */

/* The hand-written cases. ZnLinear's and ZnAttention's combinations are generated below. */
static const op_case table[] = {
    /* ---- linear algebra ---- */
    {CASE("matmul_odd", MATMUL), .in = {X(-1, 1, 37, 67), X(-1, 1, 67, 45)}},
    {CASE("matmul_batched_bcast", MATMUL), .in = {X(-1, 1, 2, 3, 17, 33), X(-1, 1, 3, 33, 29)}},
    {CASE("matmul_weight", MATMUL), .in = {X(-1, 1, 4, 16, 96), W(-.2f, .2f, 96, 80)}},
    {CASE("matmul_gemv", MATMUL), .in = {X(-1, 1, 1, 256), W(-.2f, .2f, 256, 33)}},
    {CASE("matmul_aligned", MATMUL), .in = {X(-1, 1, 128, 256), W(-.2f, .2f, 256, 128)}, .tol = 2},
    {CASE("matmul_k1", MATMUL), .in = {X(-1, 1, 9, 1), X(-1, 1, 1, 13)}},
    {CASE("matmul_1d", MATMUL), .in = {X(-1, 1, 40), X(-1, 1, 3, 40, 7)}, .flags = MAY_FALLBACK},
    {CASE("matmul_then_softmax", MATMUL), .in = {X(-1, 1, 2, 9, 48), W(-.3f, .3f, 48, 77)},
     .then = "Softmax"},
    {CASE("gemm_transb_bias", GEMM), .in = {X(-1, 1, 33, 70), W(-.2f, .2f, 50, 70), W(-1, 1, 50)},
     .attr = {AI("transB", 1)}},
    {CASE("gemm_plain", GEMM), .in = {X(-1, 1, 16, 64), W(-.2f, .2f, 64, 24)}},
    {CASE("gemm_alpha_beta_transa", GEMM), .in = {X(-1, 1, 70, 33), W(-.2f, .2f, 70, 50), W(-1, 1, 33, 50)},
     .attr = {AI("transA", 1), AF("alpha", 0.5f), AF("beta", 2.0f)}, .flags = MAY_FALLBACK},
    {CASE("gemm_bias_row", GEMM), .in = {X(-1, 1, 5, 64), W(-.2f, .2f, 64, 32), W(-1, 1, 1, 32)}},
    {CASE("linear_bert_ffn", LINEAR), .in = {X(-1, 1, 2, 64, 768), W(-.08f, .08f, 768, 3072), W(-1, 1, 3072)},
     .attr = {AS("activation", "gelu")}, .tol = 3},
    {CASE("linear_qkv_transb", LINEAR), .in = {X(-1, 1, 1, 128, 768), W(-.08f, .08f, 2304, 768), W(-1, 1, 2304)},
     .attr = {AI("transB", 1)}, .tol = 3},
    {CASE("linear_m1_residual", LINEAR), .in = {X(-1, 1, 1, 1, 768), W(-.08f, .08f, 768, 768), W(-1, 1, 768),
                                                X(-1, 1, 1, 1, 768)},
     .tol = 3},
    {CASE("linear_then_tanh", LINEAR), .in = {X(-1, 1, 3, 40), W(-.3f, .3f, 40, 24), W(-1, 1, 24)},
     .attr = {AS("activation", "relu")}, .then = "Tanh"},

    /* ---- convolution and pooling ---- */
    {CASE("conv3x3_pad1_bias", CONV), .in = {X(-1, 1, 2, 8, 15, 17), W(-.3f, .3f, 16, 8, 3, 3), W(-1, 1, 16)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1)}},
    {CASE("conv3x3_s2_nobias", CONV), .in = {X(-1, 1, 1, 16, 14, 14), W(-.2f, .2f, 32, 16, 3, 3)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("strides", 2, 2), AIS("pads", 1, 1, 1, 1)}},
    {CASE("conv1x1", CONV), .in = {X(-1, 1, 2, 32, 7, 9), W(-.3f, .3f, 24, 32, 1, 1), W(-1, 1, 24)},
     .attr = {AIS("kernel_shape", 1, 1)}},
    {CASE("conv7x7_s2_stem", CONV), .in = {X(-1, 1, 1, 3, 32, 32), W(-.2f, .2f, 16, 3, 7, 7), W(-1, 1, 16)},
     .attr = {AIS("kernel_shape", 7, 7), AIS("strides", 2, 2), AIS("pads", 3, 3, 3, 3)}},
    {CASE("conv_depthwise", CONV), .in = {X(-1, 1, 1, 16, 12, 12), W(-.5f, .5f, 16, 1, 3, 3)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1), AI("group", 16)}, .flags = MAY_FALLBACK},
    {CASE("conv_dilated_group2", CONV), .in = {X(-1, 1, 1, 8, 13, 13), W(-.3f, .3f, 8, 4, 3, 3)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 2, 2, 2, 2), AIS("dilations", 2, 2), AI("group", 2)},
     .flags = MAY_FALLBACK},
    {CASE("conv_asym_pads", CONV), .in = {X(-1, 1, 1, 4, 9, 10), W(-.3f, .3f, 6, 4, 3, 3)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 0, 1, 2, 0)}, .flags = MAY_FALLBACK},
    {CASE("conv1d", CONV), .in = {X(-1, 1, 2, 4, 31), W(-.3f, .3f, 6, 4, 5), W(-1, 1, 6)},
     .attr = {AIS("kernel_shape", 5), AIS("pads", 2, 2)}, .flags = MAY_FALLBACK},
    {CASE("conv_then_relu", CONV), .in = {X(-1, 1, 1, 8, 10, 10), W(-.3f, .3f, 8, 8, 3, 3), W(-1, 1, 8)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1)}, .then = "Relu"},
    {CASE("znconv_relu_residual", CONV_FUSED),
     .in = {X(-1, 1, 2, 16, 14, 14), W(-.2f, .2f, 16, 16, 3, 3), W(-1, 1, 16), X(-1, 1, 2, 16, 14, 14)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1), AS("activation", "relu")}},
    {CASE("znconv_1x1_s2_relu", CONV_FUSED), .in = {X(-1, 1, 1, 32, 14, 14), W(-.3f, .3f, 64, 32, 1, 1), W(-1, 1, 64)},
     .attr = {AIS("kernel_shape", 1, 1), AIS("strides", 2, 2), AS("activation", "relu")}},
    {CASE("znconv_residual_nobias", CONV_FUSED),
     .in = {X(-1, 1, 1, 8, 9, 11), W(-.3f, .3f, 8, 8, 3, 3), NONE, X(-1, 1, 1, 8, 9, 11)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1)}},
    {CASE("znconv_stem_relu", CONV_FUSED), .in = {X(-1, 1, 2, 3, 30, 30), W(-.2f, .2f, 16, 3, 7, 7), W(-1, 1, 16)},
     .attr = {AIS("kernel_shape", 7, 7), AIS("strides", 2, 2), AIS("pads", 3, 3, 3, 3), AS("activation", "relu")}},
    {CASE("maxpool3x3_s2_p1", MAX_POOL), .in = {X(-3, -1, 2, 8, 15, 15)}, /* negative: pads must be -inf */
     .attr = {AIS("kernel_shape", 3, 3), AIS("strides", 2, 2), AIS("pads", 1, 1, 1, 1)}},
    {CASE("maxpool2x2", MAX_POOL), .in = {X(-1, 1, 1, 4, 8, 9)}, .attr = {AIS("kernel_shape", 2, 2), AIS("strides", 2, 2)}},
    {CASE("avgpool3x3_p1_exclude", AVERAGE_POOL), .in = {X(-1, 1, 2, 5, 9, 7)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1)}},
    {CASE("avgpool3x3_p1_include", AVERAGE_POOL), .in = {X(-1, 1, 2, 5, 9, 7)},
     .attr = {AIS("kernel_shape", 3, 3), AIS("pads", 1, 1, 1, 1), AI("count_include_pad", 1)}},
    {CASE("avgpool2x2_s2", AVERAGE_POOL), .in = {X(-1, 1, 1, 6, 8, 8)},
     .attr = {AIS("kernel_shape", 2, 2), AIS("strides", 2, 2)}},
    {CASE("gap_resnet_head", GLOBAL_AVERAGE_POOL), .in = {X(-1, 1, 2, 256, 7, 7)}},
    {CASE("gap_odd", GLOBAL_AVERAGE_POOL), .in = {X(-1, 1, 1, 5, 3, 5)}},
    {CASE("batchnorm", BATCH_NORM),
     .in = {X(-1, 1, 2, 16, 9, 9), W(.5f, 1.5f, 16), W(-.5f, .5f, 16), W(-.5f, .5f, 16), W(.5f, 2, 16)},
     .attr = {AF("epsilon", 1e-5f)}},
    {CASE("batchnorm_input_params", BATCH_NORM), /* folded on the device at each run */
     .in = {X(-1, 1, 2, 8, 5, 5), X(.5f, 1.5f, 8), X(-.5f, .5f, 8), X(-.5f, .5f, 8), X(.5f, 2, 8)},
     .attr = {AF("epsilon", 1e-5f)}},

    /* ---- activations ---- */
    {CASE("relu", RELU), .in = {X(-3, 3, 3, 37, 41)}},
    {CASE("relu_large", RELU), .in = {X(-3, 3, 1048579)}},
    {CASE("leaky_relu", LEAKY_RELU), .in = {X(-3, 3, 3, 37, 41)}, .attr = {AF("alpha", 0.1f)}},
    {CASE("sigmoid", SIGMOID), .in = {X(-6, 6, 3, 37, 41)}},
    {CASE("tanh", TANH), .in = {X(-4, 4, 3, 37, 41)}},
    {CASE("gelu", GELU), .in = {X(-4, 4, 3, 37, 41)}},
    {CASE("gelu_tanh", GELU), .in = {X(-4, 4, 3, 37, 41)}, .attr = {AS("approximate", "tanh")}},
    {CASE("erf", ERF), .in = {X(-3, 3, 3, 37, 41)}},
    {CASE("silu", SILU), .in = {X(-6, 6, 3, 37, 41)}},
    {CASE("hard_sigmoid", HARD_SIGMOID), .in = {X(-4, 4, 3, 37, 41)}, .attr = {AF("alpha", 0.2f), AF("beta", 0.5f)}},
    {CASE("hard_swish", HARD_SWISH), .in = {X(-4, 4, 3, 37, 41)}},
    {CASE("softplus", SOFTPLUS), .in = {X(-5, 5, 3, 37, 41)}},
    {CASE("clip_inputs", CLIP), .in = {X(-3, 3, 3, 37, 41), FS(-1.5), FS(2.0)}},
    {CASE("clip_max_only", CLIP), .in = {X(-3, 3, 5, 33), NONE, FS(0.5)}},
    {CASE("clip_attrs", CLIP), .in = {X(-3, 3, 5, 33)}, .attr = {AF("min", -0.25f), AF("max", 1.0f)}},
    {CASE("softmax_1000", SOFTMAX), .in = {X(-5, 5, 8, 1000)}, .attr = {AI("axis", -1)}},
    {CASE("softmax_77", SOFTMAX), .in = {X(-5, 5, 2, 4, 77)}},
    {CASE("softmax_4096", SOFTMAX), .in = {X(-5, 5, 3, 4096)}},
    {CASE("softmax_width1", SOFTMAX), .in = {X(-5, 5, 5, 1)}},
    {CASE("softmax_axis1", SOFTMAX), .in = {X(-5, 5, 2, 7, 5)}, .attr = {AI("axis", 1)}, .flags = MAY_FALLBACK},
    {CASE("layernorm_768", LAYER_NORM), .in = {X(-2, 2, 4, 37, 768), W(.5f, 1.5f, 768), W(-.5f, .5f, 768)},
     .attr = {AI("axis", -1), AF("epsilon", 1e-5f)}},
    {CASE("layernorm_odd_nobias", LAYER_NORM), .in = {X(-2, 2, 3, 100), W(.5f, 1.5f, 100)}, .attr = {AF("epsilon", 1e-6f)}},
    {CASE("layernorm_offset_input", LAYER_NORM), .in = {X(9, 11, 6, 256), W(.5f, 1.5f, 256), W(-.5f, .5f, 256)}},
    {CASE("layernorm_axis_m2", LAYER_NORM), .in = {X(-2, 2, 2, 6, 10), W(.5f, 1.5f, 6, 10), W(-.5f, .5f, 6, 10)},
     .attr = {AI("axis", -2)}, .flags = MAY_FALLBACK},
    {CASE("layernorm_then_gelu", LAYER_NORM), .in = {X(-2, 2, 2, 9, 64), W(.5f, 1.5f, 64), W(-.5f, .5f, 64)},
     .then = "Gelu"},

    /* ---- element-wise arithmetic and broadcasting ---- */
    {CASE("add", ADD), .in = {X(-1, 1, 3, 37, 41), X(-1, 1, 3, 37, 41)}},
    {CASE("add_bias_row", ADD), .in = {X(-1, 1, 4, 37, 64), W(-1, 1, 64)}},
    {CASE("add_bcast_both", ADD), .in = {X(-1, 1, 4, 1, 5), X(-1, 1, 3, 1)}},
    {CASE("add_scalar", ADD), .in = {X(-1, 1, 7, 9), WS(-1, 1)}},
    {CASE("add_then_sigmoid", ADD), .in = {X(-2, 2, 6, 50), X(-2, 2, 50)}, .then = "Sigmoid"},
    {CASE("sub_bcast", SUB), .in = {X(-1, 1, 2, 3, 1, 7), X(-1, 1, 3, 5, 1)}},
    {CASE("mul", MUL), .in = {X(-2, 2, 3, 37, 41), X(-2, 2, 3, 37, 41)}},
    {CASE("mul_channel", MUL), .in = {X(-2, 2, 2, 16, 5, 5), W(-2, 2, 16, 1, 1)}},
    {CASE("div", DIV), .in = {X(-2, 2, 4, 33), X(.5f, 2, 4, 1)}},
    {CASE("pow", POW), .in = {X(.5f, 2, 4, 33), X(-2, 2, 4, 33)}},
    {CASE("pow_square", POW), .in = {X(-2, 2, 4, 33), FS(2.0)}},
    {CASE("pow_sqrt", POW), .in = {X(.1f, 4, 4, 33), FS(0.5)}},
    {CASE("min3_bcast", MIN), .in = {X(-1, 1, 3, 1, 5), X(-1, 1, 4, 1), X(-1, 1, 5)}},
    {CASE("max2", MAX), .in = {X(-1, 1, 6, 35), X(-1, 1, 6, 35)}},
    {CASE("max1", MAX), .in = {X(-1, 1, 6, 35)}},
    {CASE("sqrt", SQRT), .in = {X(.01f, 4, 3, 37, 41)}},
    {CASE("neg", NEG), .in = {X(-3, 3, 3, 37, 41)}},
    {CASE("exp", EXP), .in = {X(-4, 4, 3, 37, 41)}},
    {CASE("log", LOG), .in = {X(.05f, 5, 3, 37, 41)}},
    {CASE("abs", ABS), .in = {X(-3, 3, 3, 37, 41)}},
    {CASE("reciprocal", RECIPROCAL), .in = {X(.5f, 3, 3, 37, 41)}},
    {CASE("floor", FLOOR), .in = {X(-5, 5, 3, 37, 41)}},
    {CASE("ceil", CEIL), .in = {X(-5, 5, 3, 37, 41)}},

    /* ---- comparison and logic ---- */
    {CASE("equal_float", EQUAL), .in = {XI(-3, 3, 5, 40), XI(-3, 3, 5, 40)}},
    {CASE("equal_i64_bcast", EQUAL), .in = {IDX(0, 4, 5, 40), IDX(0, 4, 40)}},
    {CASE("less", LESS), .in = {X(-1, 1, 5, 40), X(-1, 1, 5, 40)}},
    {CASE("greater_bcast", GREATER), .in = {X(-1, 1, 5, 40), X(-1, 1, 40)}},
    {CASE("not", NOT), .in = {BOOLS(5, 40)}},
    {CASE("and_bcast", AND), .in = {BOOLS(5, 40), BOOLS(40)}},
    {CASE("or", OR), .in = {BOOLS(5, 40), BOOLS(5, 40)}},
    {CASE("where_bcast", WHERE), .in = {BOOLS(2, 1, 7), X(-1, 1, 2, 5, 7), X(-1, 1, 7)}},

    /* ---- reductions ---- */
    {CASE("reduce_mean_last", REDUCE_MEAN), .in = {X(-1, 1, 4, 37, 768)}, .attr = {AIS("axes", -1), AI("keepdims", 1)}},
    {CASE("reduce_mean_input_axes", REDUCE_MEAN), .in = {X(-1, 1, 3, 50, 7), IV(1)}, .attr = {AI("keepdims", 0)}},
    {CASE("reduce_mean_spatial", REDUCE_MEAN), .in = {X(-1, 1, 2, 16, 7, 7)}, .attr = {AIS("axes", 2, 3)}},
    {CASE("reduce_sum_outer", REDUCE_SUM), .in = {X(-1, 1, 5, 6, 7), IV(0, 2)}},
    {CASE("reduce_sum_all", REDUCE_SUM), .in = {X(-1, 1, 9, 31)}, .attr = {AI("keepdims", 0)}},
    {CASE("reduce_max", REDUCE_MAX), .in = {X(-1, 1, 4, 300)}, .attr = {AIS("axes", 1)}},
    {CASE("reduce_min", REDUCE_MIN), .in = {X(-1, 1, 4, 5, 6)}, .attr = {AIS("axes", 0), AI("keepdims", 0)}},
    {CASE("reduce_prod", REDUCE_PROD), .in = {X(.9f, 1.1f, 3, 20)}, .attr = {AIS("axes", 1)}},
    {CASE("reduce_mean_then_abs", REDUCE_MEAN), .in = {X(-1, 1, 6, 129)}, .attr = {AIS("axes", -1)}, .then = "Abs"},
    {CASE("argmax_last", ARG_MAX), .in = {X(-1, 1, 6, 1000)}, .attr = {AI("axis", -1)}},
    {CASE("argmax_axis0", ARG_MAX), .in = {X(-1, 1, 5, 7)}, .attr = {AI("axis", 0), AI("keepdims", 0)}},
    {CASE("argmax_ties_last", ARG_MAX), .in = {XI(0, 3, 4, 9)}, .attr = {AI("axis", 1), AI("select_last_index", 1)},
     .flags = MAY_FALLBACK},
    /* rows past a warp's length (a block per row; few rows: split, then a finalize pass), long columns */
    {CASE("reduce_sum_long_rows_split", REDUCE_SUM), .in = {X(-1, 1, 3, 5000)}, .attr = {AIS("axes", -1)}},
    {CASE("reduce_min_many_long_rows", REDUCE_MIN), .in = {X(-1, 1, 600, 1100)}, .attr = {AIS("axes", -1)}},
    {CASE("reduce_max_long_cols_split", REDUCE_MAX), .in = {X(-1, 1, 2, 3000, 3)}, .attr = {AIS("axes", 1)}},
    {CASE("argmax_long_row_split", ARG_MAX), .in = {X(-1, 1, 2, 4000)}, .attr = {AI("axis", 1)}},

    /* ---- shape and data movement ---- */
    {CASE("reshape", RESHAPE), .in = {X(-1, 1, 2, 3, 20), IV(0, -1, 4)}},
    {CASE("reshape_flat", RESHAPE), .in = {X(-1, 1, 2, 3, 20), IV(-1)}},
    {CASE("transpose_heads", TRANSPOSE), .in = {X(-1, 1, 2, 5, 7, 9)}, .attr = {AIS("perm", 0, 2, 1, 3)}},
    {CASE("transpose_nhwc", TRANSPOSE), .in = {X(-1, 1, 2, 3, 5, 6)}, .attr = {AIS("perm", 0, 2, 3, 1)}},
    {CASE("transpose_2d", TRANSPOSE), .in = {X(-1, 1, 37, 45)}},
    {CASE("transpose_odd", TRANSPOSE), .in = {X(-1, 1, 3, 4, 5, 6)}, .attr = {AIS("perm", 3, 1, 0, 2)}},
    {CASE("transpose_then_exp", TRANSPOSE), .in = {X(-1, 1, 4, 33)}, .then = "Exp"},
    {CASE("flatten", FLATTEN), .in = {X(-1, 1, 2, 3, 4, 5)}, .attr = {AI("axis", 1)}},
    {CASE("flatten_axis0", FLATTEN), .in = {X(-1, 1, 2, 3, 4)}, .attr = {AI("axis", 0)}},
    {CASE("concat3_axis1", CONCAT), .in = {X(-1, 1, 2, 3, 5), X(-1, 1, 2, 1, 5), W(-1, 1, 2, 4, 5)}, .attr = {AI("axis", 1)}},
    {CASE("concat_last", CONCAT), .in = {X(-1, 1, 3, 7), X(-1, 1, 3, 2)}, .attr = {AI("axis", -1)}},
    {CASE("concat_axis0", CONCAT), .in = {X(-1, 1, 2, 9), X(-1, 1, 5, 9)}},
    {CASE("split_sizes_attr", SPLIT), .in = {X(-1, 1, 2, 10, 3)}, .attr = {AI("axis", 1), AIS("split", 2, 3, 5)}, .n_out = 3},
    {CASE("split_num_outputs", SPLIT), .in = {X(-1, 1, 4, 9)}, .attr = {AI("axis", -1), AI("num_outputs", 2)}, .n_out = 2},
    {CASE("split_input", SPLIT), .in = {X(-1, 1, 8, 3), IV(4, 4)}, .n_out = 2},
    {CASE("slice_simple", SLICE), .in = {X(-1, 1, 4, 10, 6), IV(1), IV(-1), IV(1)}},
    {CASE("slice_steps", SLICE), .in = {X(-1, 1, 5, 4, 10), IV(0, 1), IV(4, 9), IV(0, 2), IV(2, 3)}},
    {CASE("slice_to_end", SLICE), .in = {X(-1, 1, 3, 12), IV(2), IV(LARGE_END), IV(-1)}},
    {CASE("slice_reverse", SLICE), .in = {X(-1, 1, 3, 12), IV(-1), IV(-LARGE_END), IV(1), IV(-1)}, .flags = MAY_FALLBACK},
    {CASE("gather_embedding", GATHER), .in = {W(-1, 1, 100, 32), IDX(0, 100, 2, 7)}},
    {CASE("gather_axis1", GATHER), .in = {X(-1, 1, 3, 10, 4), IDX(0, 10, 5)}, .attr = {AI("axis", 1)}},
    {CASE("gather_scalar_index", GATHER), .in = {X(-1, 1, 2, 7, 16), IS(0)}, .attr = {AI("axis", 1)}},
    {CASE("gather_negative", GATHER), .in = {X(-1, 1, 10, 6), IDX(-10, 10, 8)}, .flags = MAY_FALLBACK},
    {CASE("gather_const_indices", GATHER), .in = {X(-1, 1, 12, 5), CIDX(0, 12, 3, 2)}},
    {CASE("gather_then_relu", GATHER), .in = {W(-1, 1, 50, 16), IDX(0, 50, 3, 5)}, .then = "Relu"},
    {CASE("squeeze_input", SQUEEZE), .in = {X(-1, 1, 3, 1, 5), IV(1)}},
    {CASE("squeeze_attr", SQUEEZE), .in = {X(-1, 1, 1, 4, 1, 3)}, .attr = {AIS("axes", 0, 2)}},
    {CASE("unsqueeze", UNSQUEEZE), .in = {X(-1, 1, 3, 5), IV(1, 3)}},
    {CASE("expand", EXPAND), .in = {X(-1, 1, 3, 1), IV(2, 3, 4)}},
    {CASE("expand_rows", EXPAND), .in = {X(-1, 1, 1, 5), IV(4, 1)}},
    {CASE("tile", TILE), .in = {X(-1, 1, 2, 3, 4), IV(1, 2, 3)}},
    {CASE("pad_constant", PAD), .in = {X(-1, 1, 1, 3, 5, 5), IV(0, 0, 1, 2, 0, 0, 2, 1), FS(1.5)}},
    {CASE("pad_reflect", PAD), .in = {X(-1, 1, 2, 6, 7), IV(0, 1, 2, 0, 2, 1)}, .attr = {AS("mode", "reflect")},
     .flags = MAY_FALLBACK},
    {CASE("pad_edge", PAD), .in = {X(-1, 1, 2, 6, 7), IV(0, 2, 1, 0, 1, 3)}, .attr = {AS("mode", "edge")},
     .flags = MAY_FALLBACK},
    {CASE("cast_f32_i64", CAST), .in = {X(-5, 5, 4, 33)}, .attr = {AI("to", ZN_I64)}},
    {CASE("cast_i64_f32", CAST), .in = {IDX(-100, 100, 4, 33)}, .attr = {AI("to", ZN_F32)}},
    {CASE("cast_f32_f16", CAST), .in = {X(-5, 5, 4, 33)}, .attr = {AI("to", ZN_F16)}, .flags = FP32_ONLY},
    {CASE("cast_bool_f32", CAST), .in = {BOOLS(4, 33)}, .attr = {AI("to", ZN_F32)}},
    {CASE("cast_f32_bool", CAST), .in = {XI(-2, 2, 4, 33)}, .attr = {AI("to", ZN_BOOL)}},
    {CASE("trilu_upper", TRILU), .in = {X(-1, 1, 2, 5, 7)}},
    {CASE("trilu_lower_k", TRILU), .in = {X(-1, 1, 2, 6, 6), IS(-1)}, .attr = {AI("upper", 0)}},
    {CASE("trilu_upper_k2", TRILU), .in = {X(-1, 1, 9, 4), IS(2)}},
    {CASE("identity", IDENTITY), .in = {X(-1, 1, 3, 5)}},
    {CASE("dropout_inference", DROPOUT), .in = {X(-1, 1, 3, 5)}},

    /* ---- fused ops ---- */
    {CASE("add_layernorm_768", ADD_LAYER_NORM),
     .in = {X(-2, 2, 2, 37, 768), X(-2, 2, 2, 37, 768), W(.5f, 1.5f, 768), W(-.5f, .5f, 768)},
     .attr = {AF("epsilon", 1e-12f)}, .n_out = 2},
    {CASE("add_layernorm_odd_nobeta", ADD_LAYER_NORM), .in = {X(-2, 2, 5, 100), X(-2, 2, 5, 100), W(.5f, 1.5f, 100)},
     .attr = {AF("epsilon", 1e-5f)}},
    {CASE("add_layernorm_bias_bcast", ADD_LAYER_NORM), .in = {X(-2, 2, 3, 9, 64), W(-2, 2, 64), W(.5f, 1.5f, 64),
                                                               W(-.5f, .5f, 64)},
     .flags = MAY_FALLBACK},
    {CASE("add_relu", ADD_RELU), .in = {X(-1, 1, 2, 16, 7, 7), X(-1, 1, 2, 16, 7, 7)}},
    {CASE("add_relu_bcast", ADD_RELU), .in = {X(-1, 1, 4, 33), X(-1, 1, 33)}},
    {CASE("bias_relu", BIAS_RELU), .in = {X(-1, 1, 4, 37, 96), W(-1, 1, 96)}},
    {CASE("bias_gelu", BIAS_GELU), .in = {X(-2, 2, 4, 37, 96), W(-1, 1, 96)}},
    {CASE("bias_gelu_tanh", BIAS_GELU), .in = {X(-2, 2, 3, 3072), W(-1, 1, 3072)}, .attr = {AS("approximate", "tanh")}},
    {CASE("attention_causal_128", ATTENTION), .in = {X(-2, 2, 2, 128, 128), X(-2, 2, 2, 128, 128), X(-1, 1, 2, 128, 128)},
     .attr = {AI("num_heads", 2), AF("scale", 0.125f), AI("causal", 1)}, .tol = 2},
    {CASE("attention_causal_mask_77", ATTENTION),
     .in = {X(-2, 2, 2, 77, 128), X(-2, 2, 2, 77, 128), X(-1, 1, 2, 77, 128), MASK(2, 1, 1, 77)},
     .attr = {AI("num_heads", 2), AF("scale", 0.125f), AI("causal", 1)}, .tol = 2},
    {CASE("attention_decode_1x77_causal", ATTENTION),
     .in = {X(-2, 2, 2, 1, 256), X(-2, 2, 2, 77, 256), X(-1, 1, 2, 77, 256)},
     .attr = {AI("num_heads", 4), AF("scale", 0.125f), AI("causal", 1)}, .tol = 2},
    {CASE("attention_chunk_16x128_causal", ATTENTION),
     .in = {X(-2, 2, 1, 16, 128), X(-2, 2, 1, 128, 128), X(-1, 1, 1, 128, 128)},
     .attr = {AI("num_heads", 2), AF("scale", 0.125f), AI("causal", 1)}, .tol = 2},
    {CASE("attention_bert_12x64", ATTENTION),
     .in = {X(-2, 2, 1, 128, 768), X(-2, 2, 1, 128, 768), X(-1, 1, 1, 128, 768), MASK(1, 1, 1, 128)},
     .attr = {AI("num_heads", 12), AF("scale", 0.125f)}, .tol = 2},
    {CASE("attention_no_mask_odd", ATTENTION), .in = {X(-2, 2, 3, 45, 96), X(-2, 2, 3, 45, 96), X(-1, 1, 3, 45, 96)},
     .attr = {AI("num_heads", 3), AF("scale", 0.17677669f)}, .tol = 2},
    {CASE("attention_dv_ne_d", ATTENTION), .in = {X(-2, 2, 2, 33, 128), X(-2, 2, 2, 33, 128), X(-1, 1, 2, 33, 64)},
     .attr = {AI("num_heads", 2), AF("scale", 0.125f)}, .tol = 2, .flags = MAY_FALLBACK},
    {CASE("attention_full_mask", ATTENTION),
     .in = {X(-2, 2, 2, 20, 64), X(-2, 2, 2, 20, 64), X(-1, 1, 2, 20, 64), MASK(2, 2, 20, 20)},
     .attr = {AI("num_heads", 2), AF("scale", 0.17677669f)}, .tol = 2, .flags = MAY_FALLBACK},
    {CASE("attention_decode_1x1024", ATTENTION),
     .in = {X(-2, 2, 2, 1, 128), X(-2, 2, 2, 1024, 128), X(-1, 1, 2, 1024, 128), MASK(2, 1, 1, 1024)},
     .attr = {AI("num_heads", 2), AF("scale", 0.125f), AI("causal", 1)}, .tol = 3},
    /* causal with Sq > Sk: the first Sq - Sk rows see no key and are NaN, as in the reference */
    {CASE("attention_causal_rows_without_keys", ATTENTION),
     .in = {X(-2, 2, 1, 20, 64), X(-2, 2, 1, 8, 64), X(-1, 1, 1, 8, 64)},
     .attr = {AI("num_heads", 1), AF("scale", 0.125f), AI("causal", 1)}, .tol = 2},
    {CASE("attention_then_tanh", ATTENTION), .in = {X(-2, 2, 2, 24, 64), X(-2, 2, 2, 24, 64), X(-1, 1, 2, 24, 64)},
     .attr = {AI("num_heads", 1), AF("scale", 0.125f)}, .then = "Tanh", .tol = 2},
};
#define N_TABLE ((int)(sizeof table / sizeof table[0]))

/* Ops with no case by design: ZnCopy is inserted by the compiler around CPU fallbacks (every
 * fallback case and every model exercises it); Constant, Shape, ConstantOfShape and Range only
 * have constant inputs once shapes are bound, so they are folded at compile time. */
static bool exempt_op(zn_op op) {
    const char *nm = zn_op_name(op);
    return !strcmp(nm, "ZnCopy") || op == ZN_OP_CONSTANT || op == ZN_OP_SHAPE ||
           op == ZN_OP_CONSTANT_OF_SHAPE || op == ZN_OP_RANGE;
}

/* ---- generated cases: ZnLinear's epilogue combinations, ZnAttention's head dims x seqs ---- */

#define MAX_GEN 64
static op_case gen[MAX_GEN];
static char gen_names[MAX_GEN][64];
static int n_gen;

/* A new generated case, zeroed; its name is written into *name (64 bytes). */
static op_case *gen_add(char **name) {
    ZN_ASSERT(n_gen < MAX_GEN);
    op_case *k = &gen[n_gen];
    memset(k, 0, sizeof *k);
    *name = gen_names[n_gen];
    k->name = gen_names[n_gen++];
    return k;
}

static void set_dims(in_spec *s, in_kind kind, float lo, float hi, int rank, const int64_t *dims) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->lo = lo;
    s->hi = hi;
    s->rank = rank;
    for (int d = 0; d < rank; d++) s->dims[d] = dims[d];
}

static void make_generated_cases(void) {
    if (n_gen) return;
    /* ZnLinear: 4 activations x bias x residual x transB = 32 cases over 5 shapes (odd sizes hit
     * the tile edges; rank 3 inputs, M = 1) */
    static const char *const acts[4] = {"none", "relu", "gelu", "gelu_tanh"};
    static const struct { int rank; int64_t x[3]; int64_t N; } shapes[5] = {
        {2, {37, 67}, 45}, {3, {2, 13, 96}, 128}, {2, {1, 256}, 33}, {3, {3, 7, 64}, 64}, {2, {129, 65}, 127},
    };
    for (int ci = 0; ci < 32; ci++) {
        int act = ci & 3, bias = (ci >> 2) & 1, res = (ci >> 3) & 1, tb = (ci >> 4) & 1, sh = ci % 5;
        char *name;
        op_case *k = gen_add(&name);
        snprintf(name, sizeof gen_names[0], "linear_%s%s%s%s_s%d", acts[act], bias ? "_bias" : "",
                 res ? "_res" : "", tb ? "_transb" : "", sh);
        k->op = ZN_OP_LINEAR;
        int rank = shapes[sh].rank;
        int64_t K = shapes[sh].x[rank - 1], N = shapes[sh].N, y[3];
        float a = 4.5f / sqrtf((float)K); /* outputs of std ~1.5: every activation's curved part */
        set_dims(&k->in[0], IN_RAND, -1, 1, rank, shapes[sh].x);
        int64_t wd[2] = {tb ? N : K, tb ? K : N};
        set_dims(&k->in[1], IN_CONST, -a, a, 2, wd);
        if (bias) set_dims(&k->in[2], IN_CONST, -1, 1, 1, &N);
        else k->in[2].kind = IN_NONE;
        memcpy(y, shapes[sh].x, sizeof y);
        y[rank - 1] = N;
        if (res) set_dims(&k->in[3], IN_RAND, -1, 1, rank, y);
        if (!res && !bias) k->in[2].kind = IN_END; /* X, W only */
        k->attr[0] = (attr_spec){.name = "activation", .type = 's', .s = acts[act]};
        k->attr[1] = (attr_spec){.name = "transB", .type = 'i', .i = tb};
    }
    /* ZnAttention with a padding mask (B,1,1,Sk): head dims 32/64/128 x seq 1/77/128/512 */
    static const int64_t hd[3] = {32, 64, 128}, seqs[4] = {1, 77, 128, 512};
    for (int d = 0; d < 3; d++)
        for (int s = 0; s < 4; s++) {
            int64_t B = seqs[s] >= 512 ? 1 : 2, H = 2, S = seqs[s], D = hd[d];
            char *name;
            op_case *k = gen_add(&name);
            snprintf(name, sizeof gen_names[0], "attention_mask_d%d_s%d", (int)D, (int)S);
            k->op = ZN_OP_ATTENTION;
            int64_t qd[3] = {B, S, H * D}, md[4] = {B, 1, 1, S};
            set_dims(&k->in[0], IN_RAND, -2, 2, 3, qd);
            set_dims(&k->in[1], IN_RAND, -2, 2, 3, qd);
            set_dims(&k->in[2], IN_RAND, -1, 1, 3, qd);
            set_dims(&k->in[3], IN_MASK, 0, 0, 4, md);
            k->attr[0] = (attr_spec){.name = "num_heads", .type = 'i', .i = H};
            k->attr[1] = (attr_spec){.name = "scale", .type = 'f', .f = 1.0f / sqrtf((float)D)};
            k->tol = S >= 512 ? 5 : 3;
        }
    /* and the causal form at each head dim, seq 128 */
    for (int d = 0; d < 3; d++) {
        int64_t D = hd[d], qd[3] = {2, 128, 2 * D};
        char *name;
        op_case *k = gen_add(&name);
        snprintf(name, sizeof gen_names[0], "attention_causal_d%d_s128", (int)D);
        k->op = ZN_OP_ATTENTION;
        for (int i = 0; i < 3; i++) set_dims(&k->in[i], IN_RAND, i == 2 ? -1 : -2, i == 2 ? 1 : 2, 3, qd);
        k->attr[0] = (attr_spec){.name = "num_heads", .type = 'i', .i = 2};
        k->attr[1] = (attr_spec){.name = "scale", .type = 'f', .f = 1.0f / sqrtf((float)D)};
        k->attr[2] = (attr_spec){.name = "causal", .type = 'i', .i = 1};
        k->tol = 2;
    }
}

static int n_cases(void) { return N_TABLE + n_gen; }
static const op_case *case_at(int i) { return i < N_TABLE ? &table[i] : &gen[i - N_TABLE]; }

static bool case_selected(const op_case *c) {
    const char *f = getenv("ZN_CUDA_CASE");
    return !f || !*f || strstr(c->name, f) != NULL;
}

static int case_n_in(const op_case *c) {
    int n = 0;
    while (n < MAX_IN && c->in[n].kind != IN_END) n++;
    return n;
}

static zn_op then_op(const op_case *c) {
    int op = c->then ? zn_op_from_name(c->then) : -1;
    ZN_ASSERT(!c->then || op >= 0);
    return (zn_op)op;
}

/* ======================================= building and running ============================ */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int64_t numel_of(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    return n;
}

/* Data for one input spec (graph input or constant): malloc'd, in the spec's dtype. */
static void *make_data(const in_spec *s, prec_id p, tu_rng *r, zn_dtype *dt) {
    int64_t n = numel_of(s->rank, s->dims);
    size_t cap = (size_t)(n > 0 ? n : 1);
    switch (s->kind) {
    case IN_RAND: case IN_INTF: case IN_MASK: case IN_CONST: {
        float *x = malloc(cap * sizeof(float));
        assert_non_null(x);
        int64_t keys = s->rank ? s->dims[s->rank - 1] : 1;
        for (int64_t i = 0; i < n; i++) {
            float v;
            if (s->kind == IN_INTF) v = floorf(tu_uniform(r, s->lo, s->hi));
            else if (s->kind == IN_MASK) {
                int64_t row = i / keys, valid = keys - (row * 7 + 3) % keys; /* 1..keys visible */
                v = i % keys < valid ? 0.0f : -10000.0f;
            } else v = tu_uniform(r, s->lo, s->hi);
            x[i] = quantize(p, v);
        }
        *dt = ZN_F32;
        return x;
    }
    case IN_IDX: case IN_CIDX: {
        int64_t *x = malloc(cap * sizeof(int64_t)), span = (int64_t)s->hi - (int64_t)s->lo;
        assert_non_null(x);
        for (int64_t i = 0; i < n; i++) x[i] = (int64_t)s->lo + (int64_t)(tu_next(r) % (uint64_t)span);
        *dt = ZN_I64;
        return x;
    }
    case IN_BOOL: {
        uint8_t *x = malloc(cap);
        assert_non_null(x);
        for (int64_t i = 0; i < n; i++) x[i] = (uint8_t)(tu_next(r) >> 63);
        *dt = ZN_BOOL;
        return x;
    }
    case IN_VALS: {
        void *x = malloc(cap * 8);
        assert_non_null(x);
        for (int64_t i = 0; i < n && i < s->n_vals; i++) {
            if (s->dtype == ZN_I64) ((int64_t *)x)[i] = (int64_t)s->vals[i];
            else ((float *)x)[i] = quantize(p, (float)s->vals[i]);
        }
        *dt = s->dtype;
        return x;
    }
    default: *dt = ZN_DTYPE_UNDEFINED; return NULL;
    }
}

static bool is_graph_input(in_kind k) {
    return k == IN_RAND || k == IN_INTF || k == IN_MASK || k == IN_IDX || k == IN_BOOL;
}

/* The case's graph: its node "op" (and "then"); constants drawn from `seed`. */
static zn_graph *build_case(const op_case *c, prec_id p, uint64_t seed) {
    tu_rng r = tu_rng_new(seed);
    zn_graph *g = zn_graph_new(c->name);
    assert_non_null(g);
    int n_in = case_n_in(c), ids[MAX_IN];
    for (int i = 0; i < n_in; i++) {
        const in_spec *s = &c->in[i];
        char name[16];
        if (s->kind == IN_NONE) {
            ids[i] = -1;
            continue;
        }
        if (is_graph_input(s->kind)) {
            zn_dim dims[ZN_MAX_RANK];
            for (int d = 0; d < s->rank; d++) dims[d] = (zn_dim){s->dims[d], -1};
            zn_dtype dt = s->kind == IN_IDX ? ZN_I64 : s->kind == IN_BOOL ? ZN_BOOL : ZN_F32;
            snprintf(name, sizeof name, "x%d", i);
            ids[i] = zn_graph_add_input(g, name, dt, s->rank, dims);
        } else {
            zn_dtype dt;
            void *data = make_data(s, p, &r, &dt);
            snprintf(name, sizeof name, "w%d", i);
            ids[i] = zn_graph_add_const(g, name, dt, s->rank, s->dims, data);
            free(data);
        }
        assert_true(ids[i] >= 0);
    }
    int n_out = c->n_out ? c->n_out : 1, outs[8];
    int node = zn_graph_add_node(g, c->op, "op", n_in, ids, n_out, NULL, outs);
    if (node < 0) print_error("%s: %s\n", c->name, zn_last_error()->message);
    assert_true(node >= 0);
    for (int a = 0; a < MAX_ATTR && c->attr[a].name; a++) {
        const attr_spec *at = &c->attr[a];
        zn_status st = ZN_OK;
        switch (at->type) {
        case 'i': st = zn_graph_set_attr_int(g, node, at->name, at->i); break;
        case 'f': st = zn_graph_set_attr_float(g, node, at->name, at->f); break;
        case 's': st = zn_graph_set_attr_string(g, node, at->name, at->s); break;
        case 'I': st = zn_graph_set_attr_ints(g, node, at->name, at->ints, at->n); break;
        default: fail_msg("%s: bad attribute type '%c'", c->name, at->type);
        }
        assert_int_equal(st, ZN_OK);
    }
    if (c->then) {
        int t = zn_graph_op(g, then_op(c), "then", 1, &outs[0]);
        assert_true(t >= 0);
        assert_int_equal(zn_graph_mark_output(g, t), ZN_OK);
        for (int k = 1; k < n_out; k++) assert_int_equal(zn_graph_mark_output(g, outs[k]), ZN_OK);
    } else {
        for (int k = 0; k < n_out; k++) assert_int_equal(zn_graph_mark_output(g, outs[k]), ZN_OK);
    }
    return g;
}

/* Fresh values for the case's graph inputs (in graph-input order). */
typedef struct inputs {
    int n;
    zn_view v[MAX_IN];
} inputs;

static void make_inputs(const op_case *c, prec_id p, uint64_t seed, inputs *in) {
    tu_rng r = tu_rng_new(seed);
    memset(in, 0, sizeof *in);
    for (int i = 0; i < case_n_in(c); i++) {
        const in_spec *s = &c->in[i];
        if (!is_graph_input(s->kind)) continue;
        zn_dtype dt;
        void *data = make_data(s, p, &r, &dt);
        in->v[in->n++] = tu_view(dt, data, s->rank, s->dims);
    }
}

static void free_inputs(inputs *in) {
    for (int i = 0; i < in->n; i++) free(in->v[i].data);
    in->n = 0;
}

/* The views a plan wants: our f32 data converted when the plan takes its inputs lowered
 * (zn_session_run takes host f32 today; this keeps the tests right if that changes). */
static void plan_inputs(const zn_plan *plan, const zn_view *in, int n, zn_view *out, void **tmp) {
    for (int i = 0; i < n; i++) {
        zn_io_info io = zn_plan_input(plan, i);
        out[i] = in[i];
        tmp[i] = NULL;
        if (io.dtype == in[i].dtype || in[i].dtype != ZN_F32 || (io.dtype != ZN_F16 && io.dtype != ZN_BF16))
            continue;
        int64_t ne = zn_view_numel(&in[i]);
        uint16_t *h = malloc((size_t)(ne > 0 ? ne : 1) * 2);
        assert_non_null(h);
        for (int64_t k = 0; k < ne; k++) {
            float v = ((const float *)in[i].data)[k];
            h[k] = io.dtype == ZN_F16 ? zn_f32_to_f16(v) : zn_f32_to_bf16(v);
        }
        out[i].dtype = io.dtype;
        out[i].data = h;
        tmp[i] = h;
    }
}

/* One run with caller-visible, copied outputs (freed by free_outputs). */
typedef struct outputs {
    int n;
    zn_view v[8];
} outputs;

static zn_status run_plan(zn_session *s, const zn_plan *plan, const zn_view *in, int n_in, outputs *o) {
    zn_view iv[MAX_IN], ov[8];
    void *tmp[MAX_IN];
    memset(o, 0, sizeof *o);
    memset(ov, 0, sizeof ov);
    int n_out = zn_plan_num_outputs(plan);
    ZN_ASSERT(n_out <= 8 && n_in <= MAX_IN);
    plan_inputs(plan, in, n_in, iv, tmp);
    zn_status st = zn_session_run(s, iv, n_in, ov, n_out);
    for (int i = 0; i < n_in; i++) free(tmp[i]);
    if (st != ZN_OK) return st;
    for (int k = 0; k < n_out; k++) {
        size_t bytes = zn_view_bytes(&ov[k]);
        o->v[k] = ov[k];
        o->v[k].data = malloc(bytes ? bytes : 1);
        assert_non_null(o->v[k].data);
        if (bytes) memcpy(o->v[k].data, ov[k].data, bytes);
    }
    o->n = n_out;
    return ZN_OK;
}

static void free_outputs(outputs *o) {
    for (int k = 0; k < o->n; k++) free(o->v[k].data);
    o->n = 0;
}

/* ---- comparing ---- */

typedef struct cmp_stats {
    double max_err_rms;  /* max |got - want| / rms(want) */
    double cosine;       /* of got and want as vectors (floats) */
    double rms;
    int64_t n;
} cmp_stats;

/* 0 when got matches want under |got - want| <= rtol * (|want| + rms(want)); else writes the
 * worst element into err. Integers and bools must be equal. */
static int compare_view(const zn_view *got, const zn_view *want, double rtol, char *err, size_t cap,
                        cmp_stats *cs) {
    cmp_stats local;
    if (!cs) cs = &local;
    memset(cs, 0, sizeof *cs);
    if (got->dtype != want->dtype) {
        snprintf(err, cap, "dtype %s, want %s", zn_dtype_name(got->dtype), zn_dtype_name(want->dtype));
        return 1;
    }
    if (got->rank != want->rank || memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)want->rank)) {
        snprintf(err, cap, "shape differs (rank %d vs %d)", got->rank, want->rank);
        return 1;
    }
    int64_t n = zn_view_numel(want);
    cs->n = n;
    if (!zn_dtype_is_float(want->dtype)) {
        for (int64_t i = 0; i < n; i++) {
            double a = tu_elem(got->data, got->dtype, i), b = tu_elem(want->data, want->dtype, i);
            if (a != b) {
                snprintf(err, cap, "index %lld: got %.17g, want %.17g (%s, must be equal)", (long long)i, a, b,
                         zn_dtype_name(want->dtype));
                return 1;
            }
        }
        cs->cosine = 1;
        return 0;
    }
    if (want->dtype == ZN_F16 && rtol < 1e-3) rtol = 1e-3; /* a lowered output holds no more */
    if (want->dtype == ZN_BF16 && rtol < 8e-3) rtol = 8e-3;
    double ss = 0, dot = 0, gg = 0;
    int64_t nf = 0;
    for (int64_t i = 0; i < n; i++) {
        double b = tu_elem(want->data, want->dtype, i);
        if (isfinite(b)) ss += b * b, nf++;
    }
    cs->rms = nf ? sqrt(ss / (double)nf) : 0;
    double atol = rtol * (cs->rms > 1e-6 ? cs->rms : 1e-6), worst = 0;
    int64_t wi = -1;
    for (int64_t i = 0; i < n; i++) {
        double a = tu_elem(got->data, got->dtype, i), b = tu_elem(want->data, want->dtype, i);
        if (!isfinite(b)) {
            bool same = isnan(b) ? isnan(a) : (a == b);
            if (!same) {
                snprintf(err, cap, "index %lld: got %.9g, want %.9g", (long long)i, a, b);
                return 1;
            }
            continue;
        }
        if (!isfinite(a)) {
            snprintf(err, cap, "index %lld: got %.9g where the reference is finite (%.9g)", (long long)i, a, b);
            return 1;
        }
        double d = fabs(a - b), excess = d / (atol + rtol * fabs(b));
        if (excess > worst) worst = excess, wi = i;
        if (cs->rms > 0 && d / cs->rms > cs->max_err_rms) cs->max_err_rms = d / cs->rms;
        dot += a * b;
        gg += a * a;
    }
    cs->cosine = ss > 0 && gg > 0 ? dot / sqrt(ss * gg) : (ss == gg ? 1 : 0);
    if (worst > 1) {
        snprintf(err, cap, "index %lld: got %.9g, want %.9g (|err| %.3g > %.3g = %.0e x (|want| + rms %.3g)); "
                 "max |err|/rms %.3g", (long long)wi, tu_elem(got->data, got->dtype, wi),
                 tu_elem(want->data, want->dtype, wi),
                 fabs(tu_elem(got->data, got->dtype, wi) - tu_elem(want->data, want->dtype, wi)),
                 atol + rtol * fabs(tu_elem(want->data, want->dtype, wi)), rtol, cs->rms, cs->max_err_rms);
        return 1;
    }
    return 0;
}

/* ---- one case on one backend/precision ---- */

typedef struct dut {
    zn_backend backend;
    prec_id prec;
    bool check_cuda_kernels; /* the node must run on a cuda.* kernel */
    double rtol;
} dut;

#define MAX_SPECS 1024
typedef struct tally {
    int passed, failed, not_supported, skipped;
    int variants, variant_failed;    /* kernels run directly (run_variants) */
    bool variant_seen[MAX_SPECS];    /* by registry index */
    bool reported_op[ZN_OP_COUNT];   /* "not supported" said once per op */
} tally;

static const char *step_kernel(const zn_plan *plan, const char *node, zn_op op, bool *found) {
    int n = zn_plan_num_steps(plan);
    for (int i = 0; i < n; i++) {
        zn_step_info si = zn_plan_step(plan, i);
        if (si.node && !strcmp(si.node, node) && si.op == op) {
            *found = true;
            return si.kernel ? si.kernel : "?";
        }
    }
    *found = false;
    return "";
}

/* Whether the node "node" (op) ran where it should; reports "not supported" lines. Returns
 * false (and writes err) only for a failure. */
static bool check_kernel(const op_case *c, const dut *d, const zn_plan *plan, const char *node, zn_op op,
                         tally *t, char *err, size_t cap) {
    if (!d->check_cuda_kernels) return true;
    bool found;
    const char *k = step_kernel(plan, node, op, &found);
    if (!found) {
        print_message("[ note     ] %s %s: node '%s' (%s) is not a step of the plan (removed by compile)\n",
                      c->name, prec_names[d->prec], node, zn_op_name(op));
        return true;
    }
    if (!strncmp(k, "cuda.", 5)) return true;
    if (!zn_registry_has_op(op, ZN_BACKEND_CUDA)) {
        if (!t->reported_op[op])
            print_message("[ not supported ] %s: no CUDA kernel for this op (ran on %s)\n", zn_op_name(op), k);
        t->reported_op[op] = true;
        t->not_supported++;
        return true;
    }
    if (c->flags & MAY_FALLBACK) {
        print_message("[ not supported ] %s %s: %s fell back to %s (allowed for this case)\n", c->name,
                      prec_names[d->prec], zn_op_name(op), k);
        t->not_supported++;
        return true;
    }
    snprintf(err, cap, "node '%s' (%s) ran on '%s', not a cuda.* kernel, though the CUDA backend has "
             "kernels for %s (their supports() refused this case; mark it MAY_FALLBACK if intended)",
             node, zn_op_name(op), k, zn_op_name(op));
    return false;
}

/* --precision fp16/bf16 lowers every float tensor; a node no device kernel computes in half is
 * wrapped in casts and runs in f32. That is correct but slower, so it is reported as a "not
 * supported" line (Cast says its own output type and is left out). */
static void check_lowered(const op_case *c, const dut *d, const zn_plan *plan, tally *t) {
    if ((d->prec != P_FP16 && d->prec != P_BF16) || c->op == ZN_OP_CAST) return;
    bool found;
    const char *k = step_kernel(plan, "op", c->op, &found);
    if (!found || strncmp(k, "cuda.", 5)) return;
    const zn_graph *pg = zn_plan_graph(plan);
    zn_dtype want = d->prec == P_FP16 ? ZN_F16 : ZN_BF16;
    for (int i = 0; i < pg->n_nodes; i++) {
        const zn_node *n = &pg->nodes[i];
        if (n->dead || strcmp(n->name, "op") || n->op != c->op) continue;
        for (int o = 0; o < n->n_outputs; o++) {
            zn_dtype dt = n->outputs[o] >= 0 ? zn_graph_tensor_dtype(pg, n->outputs[o]) : ZN_DTYPE_UNDEFINED;
            if (zn_dtype_is_float(dt) && dt != want) {
                print_message("[ not supported ] %s %s: %s runs in %s on the device (%s has no %s form)\n", c->name,
                              prec_names[d->prec], zn_op_name(c->op), zn_dtype_name(dt), k, prec_names[d->prec]);
                t->not_supported++;
                return;
            }
        }
    }
}

/* ---- every CUDA kernel variant of a case, run directly ----------------------------------------
 * A plan runs the highest-priority kernel a node's supports() accepts; lower-priority variants
 * (max-autotune candidates, fallbacks of our own) would go untested. So every CUDA kernel of the
 * case's op whose supports() accepts the node as the compiler would hand it over (floats in the
 * precision's dtype, constants as host data at prepare time) is prepared and run here on the
 * device, and its outputs compared with the reference plan's like the plan's were. */

static zn_dtype lowered(prec_id p) { return p == P_FP16 ? ZN_F16 : p == P_BF16 ? ZN_BF16 : ZN_F32; }

/* n floats as dtype dt (f32, f16 or bf16), malloc'd. */
static void *floats_as(const float *x, int64_t n, zn_dtype dt) {
    void *out = malloc((size_t)(n > 0 ? n : 1) * zn_dtype_size(dt));
    assert_non_null(out);
    for (int64_t i = 0; i < n; i++) {
        if (dt == ZN_F32) ((float *)out)[i] = x[i];
        else ((uint16_t *)out)[i] = dt == ZN_F16 ? zn_f32_to_f16(x[i]) : zn_f32_to_bf16(x[i]);
    }
    return out;
}

/* A float view's data widened to f32 (malloc'd). */
static zn_view view_as_f32(const zn_view *v) {
    zn_view o = *v;
    int64_t n = zn_view_numel(v);
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    assert_non_null(f);
    for (int64_t i = 0; i < n; i++) f[i] = (float)tu_elem(v->data, v->dtype, i);
    o.dtype = ZN_F32;
    o.data = f;
    return o;
}

typedef struct variant_io {
    zn_view in[MAX_IN], out[8];   /* as supports()/prepare() see them: data only for constants */
    void *host[MAX_IN];           /* every input's host data, to upload */
    zn_view din[MAX_IN], dout[8]; /* on the device, as run() sees them */
    zn_attr attrs[MAX_ATTR];
    int n_in, n_out, n_attrs;
} variant_io;

static void variant_io_free(variant_io *v) {
    for (int i = 0; i < v->n_in; i++) free(v->host[i]);
    memset(v, 0, sizeof *v);
}

/* Memory for a direct run: the device's for a CUDA kernel, the host's for a CPU one (the host
 * self-check runs the CPU kernels through the same code). */
static zn_status mem_alloc(bool dev, void **p, size_t bytes) {
    if (dev) return zn_device_alloc(p, bytes ? bytes : 1, "a test tensor");
    *p = malloc(bytes ? bytes : 1);
    return *p ? ZN_OK : ZN_ERR_OUT_OF_MEMORY;
}
static void mem_free(bool dev, void *p) {
    if (dev) zn_device_free(p);
    else free(p);
}
static zn_status mem_copy(bool dev, void *dst, const void *src, size_t bytes, bool to_dev) {
    if (!bytes) return ZN_OK;
    if (!dev) {
        memcpy(dst, src, bytes);
        return ZN_OK;
    }
    return to_dev ? zn_device_upload(dst, src, bytes) : zn_device_download(dst, src, bytes);
}

/* The node of case c at precision p on the host: inputs from the graph's constants and the
 * run's graph inputs, outputs shaped like the reference plan's. */
static void variant_node(const op_case *c, prec_id p, const zn_graph *g, const inputs *in, const outputs *ro,
                         variant_io *v) {
    memset(v, 0, sizeof *v);
    zn_dtype low = lowered(p);
    int gi = 0;
    v->n_in = case_n_in(c);
    for (int i = 0; i < v->n_in; i++) {
        const in_spec *s = &c->in[i];
        zn_view *x = &v->in[i];
        if (s->kind == IN_NONE) continue; /* dtype undefined, rank 0 */
        const void *src;
        zn_dtype dt;
        if (is_graph_input(s->kind)) {
            src = in->v[gi].data;
            dt = in->v[gi++].dtype;
        } else {
            char name[16];
            snprintf(name, sizeof name, "w%d", i);
            int t = zn_graph_find_tensor(g, name);
            assert_true(t >= 0);
            src = zn_graph_tensor_data(g, t);
            dt = zn_graph_tensor_dtype(g, t);
        }
        *x = tu_view(dt, NULL, s->rank, s->dims);
        int64_t n = zn_view_numel(x);
        if (dt == ZN_F32) {
            v->host[i] = floats_as(src, n, low);
            x->dtype = low;
        } else {
            v->host[i] = malloc(zn_view_bytes(x) ? zn_view_bytes(x) : 1);
            assert_non_null(v->host[i]);
            memcpy(v->host[i], src, zn_view_bytes(x));
        }
        if (!is_graph_input(s->kind)) x->data = v->host[i]; /* a constant: visible at prepare time */
    }
    v->n_out = ro->n;
    for (int k = 0; k < ro->n; k++) {
        v->out[k] = ro->v[k];
        v->out[k].data = NULL;
        if (v->out[k].dtype == ZN_F32) v->out[k].dtype = low;
    }
    for (int a = 0; a < MAX_ATTR && c->attr[a].name; a++) {
        const attr_spec *at = &c->attr[a];
        zn_attr *z = &v->attrs[v->n_attrs++];
        memset(z, 0, sizeof *z);
        z->name = (char *)at->name;
        switch (at->type) {
        case 'i': z->type = ZN_ATTR_INT; z->i = at->i; break;
        case 'f': z->type = ZN_ATTR_FLOAT; z->f = at->f; break;
        case 's': z->type = ZN_ATTR_STRING; z->s = (char *)at->s; break;
        default: z->type = ZN_ATTR_INTS; z->ints = (int64_t *)at->ints; z->n = at->n; break;
        }
        /* lowering retargets Cast(to=f32) to the half type */
        if (c->op == ZN_OP_CAST && !strcmp(at->name, "to") && at->i == ZN_F32) z->i = low;
    }
}

/* Prepares and runs kernel k on the device with the node's data; the outputs, downloaded (in the
 * kernel's dtypes), go to got. Returns ZN_OK, or a status with the message in err. */
static zn_status variant_run(const zn_kernel_spec *k, const zn_kernel_node *node, variant_io *v, outputs *got,
                             char *err, size_t cap) {
    zn_kernel_prep prep = {0};
    void *scratch = NULL;
    zn_status st = ZN_OK;
    bool dev = k->backend == ZN_BACKEND_CUDA;
    memset(got, 0, sizeof *got);
    if (dev && !variant_ctx && (st = zn_cuda_ctx_new(&variant_ctx)) != ZN_OK) {
        snprintf(err, cap, "creating a CUDA context: %.400s", zn_last_error()->message);
        return st;
    }
    if (k->prepare && (st = k->prepare(node, &prep)) != ZN_OK) {
        snprintf(err, cap, "prepare: %.400s", zn_last_error()->message);
        return st;
    }
    for (int i = 0; i < v->n_in + v->n_out && st == ZN_OK; i++) {
        bool is_in = i < v->n_in;
        zn_view *h = is_in ? &v->in[i] : &v->out[i - v->n_in], *dv = is_in ? &v->din[i] : &v->dout[i - v->n_in];
        *dv = *h;
        dv->data = NULL;
        if (h->dtype == ZN_DTYPE_UNDEFINED) continue;
        size_t bytes = zn_view_bytes(h);
        st = mem_alloc(dev, &dv->data, bytes);
        if (st == ZN_OK && is_in) st = mem_copy(dev, dv->data, v->host[i], bytes, true);
        if (st == ZN_OK && !is_in && bytes) /* NaN-filled: an element the kernel forgets shows */
            st = dev ? zn_device_memset(dv->data, 0xff, bytes) : (memset(dv->data, 0xff, bytes), ZN_OK);
    }
    if (st == ZN_OK && prep.scratch_bytes) st = mem_alloc(dev, &scratch, prep.scratch_bytes);
    if (st != ZN_OK) {
        snprintf(err, cap, "device memory: %.400s", zn_last_error()->message);
        goto done;
    }
    zn_kernel_node run_node = *node;
    run_node.in = v->din;
    run_node.out = v->dout;
    zn_exec_ctx ex = {.node = &run_node, .n_in = v->n_in, .in = v->din, .n_out = v->n_out, .out = v->dout,
                      .state = prep.state, .scratch = scratch, .pool = NULL, .cuda = dev ? variant_ctx : NULL};
    if ((st = k->run(&ex)) == ZN_OK && dev) st = zn_cuda_sync(variant_ctx);
    if (st != ZN_OK) {
        snprintf(err, cap, "run: %.400s", zn_last_error()->message);
        goto done;
    }
    got->n = v->n_out;
    for (int o = 0; o < v->n_out; o++) {
        zn_view h = v->dout[o];
        size_t bytes = zn_view_bytes(&h);
        h.data = malloc(bytes ? bytes : 1);
        assert_non_null(h.data);
        st = mem_copy(dev, h.data, v->dout[o].data, bytes, false);
        got->v[o] = h;
        if (st != ZN_OK) {
            snprintf(err, cap, "download: %.400s", zn_last_error()->message);
            goto done;
        }
    }
done:
    mem_free(dev, scratch);
    for (int i = 0; i < v->n_in; i++) mem_free(dev, v->din[i].data), v->din[i].data = NULL;
    for (int o = 0; o < v->n_out; o++) mem_free(dev, v->dout[o].data), v->dout[o].data = NULL;
    if (k->release && prep.state) k->release(prep.state);
    return st;
}

/* Every kernel of d's backend for the case's op that accepts its node; failures are printed and
 * counted. */
static void run_variants(const op_case *c, const dut *d, const zn_graph *g, const inputs *in, const outputs *ro,
                         double rtol, tally *t) {
    variant_io v;
    variant_node(c, d->prec, g, in, ro, &v);
    zn_kernel_node node = {.op = c->op, .name = "op", .attrs = v.attrs, .n_attrs = v.n_attrs, .n_in = v.n_in,
                           .in = v.in, .n_out = v.n_out, .out = v.out,
                           .flags = d->prec == P_TF32 ? ZN_KNODE_TF32 : 0u};
    for (int i = 0; i < zn_registry_count(); i++) {
        const zn_kernel_spec *k = zn_registry_at(i);
        if (k->backend != d->backend || k->op != c->op || (k->supports && !k->supports(&node))) continue;
        char err[1024] = "";
        outputs got;
        zn_status st = variant_run(k, &node, &v, &got, err, sizeof err);
        for (int o = 0; st == ZN_OK && o < ro->n; o++) {
            char why[400];
            /* a lowered output against the f32 reference: compared as f32 */
            bool widen = ro->v[o].dtype == ZN_F32 && zn_dtype_is_float(got.v[o].dtype) && got.v[o].dtype != ZN_F32;
            zn_view g32 = widen ? view_as_f32(&got.v[o]) : got.v[o];
            if (compare_view(&g32, &ro->v[o], rtol, why, sizeof why, NULL)) {
                snprintf(err, sizeof err, "output %d: %s", o, why);
                st = ZN_ERR_RUNTIME;
            }
            if (widen) free(g32.data);
        }
        free_outputs(&got);
        t->variants++;
        if (i < MAX_SPECS) t->variant_seen[i] = true;
        if (st != ZN_OK) {
            print_error("[  FAILED  ] %s %s, kernel %s run directly: %s\n             replay: ZN_TEST_SEED=%llu "
                        "ZN_CUDA_CASE=%s\n", c->name, prec_names[d->prec], k->name, err,
                        (unsigned long long)tu_seed(), c->name);
            t->variant_failed++;
        }
    }
    variant_io_free(&v);
}

static zn_status compile_case(const zn_graph *g, const dut *d, bool reference, zn_plan **plan) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 2;
    if (reference) {
        cfg.reference = true;
        cfg.backend = ZN_BACKEND_CPU;
    } else {
        cfg.backend = d->backend;
        cfg.precision = (zn_precision)prec_config(d->prec);
        cfg.no_passes = true; /* the node under test stays as built */
    }
    return zn_compile(g, &cfg, plan);
}

#define ITERS 2 /* fresh inputs per session: a kernel must not keep state from its last run */

/* Runs one case; returns 0 when it passed (or was not supported), 1 when it failed. */
static int run_case(const op_case *c, const dut *d, uint64_t seed, tally *t) {
    char err[2048] = "";
    int rc = 1;
    zn_plan *ref = NULL, *dev = NULL;
    zn_session *rs = NULL, *ds = NULL;
    inputs in = {0};
    outputs ro = {0}, dout = {0};
    uint64_t cseed = seed ^ hash_str(c->name) ^ ((uint64_t)d->prec << 56);
    zn_graph *g = build_case(c, d->prec, cseed);
    zn_status st = compile_case(g, d, true, &ref);
    if (st != ZN_OK) {
        snprintf(err, sizeof err, "reference compile: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
        goto done;
    }
    st = compile_case(g, d, false, &dev);
    if (st != ZN_OK) {
        const zn_error *e = zn_last_error();
        bool lacks = st == ZN_ERR_UNSUPPORTED && !zn_registry_has_op(c->op, d->backend);
        if (lacks || (st == ZN_ERR_UNSUPPORTED && (c->flags & MAY_FALLBACK))) {
            print_message("[ not supported ] %s %s: %s\n", c->name, prec_names[d->prec], e->message);
            t->not_supported++;
            rc = 0;
            goto done;
        }
        snprintf(err, sizeof err, "compile on %s: %s [node %s] %s", zn_backend_name(d->backend), e->message,
                 e->node, e->hint);
        goto done;
    }
    if (!check_kernel(c, d, dev, "op", c->op, t, err, sizeof err)) goto done;
    if (c->then && !check_kernel(c, d, dev, "then", then_op(c), t, err, sizeof err)) goto done;
    check_lowered(c, d, dev, t);
    if ((st = zn_session_new(ref, &rs)) != ZN_OK || (st = zn_session_new(dev, &ds)) != ZN_OK) {
        snprintf(err, sizeof err, "session: %s", zn_last_error()->message);
        goto done;
    }
    double rtol = d->rtol * (c->tol > 0 ? c->tol : 1);
    for (int it = 0; it < ITERS; it++) {
        make_inputs(c, d->prec, cseed + 1 + (uint64_t)it, &in);
        if ((st = run_plan(rs, ref, in.v, in.n, &ro)) != ZN_OK) {
            snprintf(err, sizeof err, "reference run: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
            goto done;
        }
        if ((st = run_plan(ds, dev, in.v, in.n, &dout)) != ZN_OK) {
            snprintf(err, sizeof err, "run: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
            goto done;
        }
        if (dout.n != ro.n) {
            snprintf(err, sizeof err, "%d outputs, want %d", dout.n, ro.n);
            goto done;
        }
        for (int k = 0; k < ro.n; k++) {
            char why[400];
            if (compare_view(&dout.v[k], &ro.v[k], rtol, why, sizeof why, NULL)) {
                snprintf(err, sizeof err, "output %d (run %d): %s", k, it, why);
                goto done;
            }
        }
        if (it == 0 && !c->then) run_variants(c, d, g, &in, &ro, rtol, t);
        free_outputs(&ro);
        free_outputs(&dout);
        free_inputs(&in);
    }
    rc = 0;
done:
    if (rc) {
        print_error("[  FAILED  ] %s %s: %s\n             replay: ZN_TEST_SEED=%llu ZN_CUDA_CASE=%s\n", c->name,
                    prec_names[d->prec], err, (unsigned long long)tu_seed(), c->name);
        t->failed++;
    } else {
        t->passed++;
    }
    free_outputs(&ro);
    free_outputs(&dout);
    free_inputs(&in);
    zn_session_free(rs);
    zn_session_free(ds);
    zn_plan_free(ref);
    zn_plan_free(dev);
    zn_graph_free(g);
    return rc;
}

static void run_all_cases(const dut *d) {
    make_generated_cases();
    tally t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < n_cases(); i++) {
        const op_case *c = case_at(i);
        if (!case_selected(c)) continue;
        if ((c->flags & FP32_ONLY) && d->prec != P_FP32 && d->prec != P_TF32) {
            t.skipped++;
            continue;
        }
        run_case(c, d, tu_seed(), &t);
    }
    print_message("[ %-8s ] %s on %s: %d passed, %d failed, %d not supported, %d skipped (of %d cases)\n",
                  "cases", prec_names[d->prec], zn_backend_name(d->backend), t.passed, t.failed,
                  t.not_supported, t.skipped, n_cases());
    {
        char unused[2048] = "";
        int n_unused = 0;
        const char *filter = getenv("ZN_CUDA_CASE");
        if (filter && *filter) snprintf(unused, sizeof unused, " (not listed: ZN_CUDA_CASE selects cases)");
        for (int i = 0; i < zn_registry_count() && i < MAX_SPECS && !(filter && *filter); i++) {
            const zn_kernel_spec *k = zn_registry_at(i);
            if (k->backend != d->backend || t.variant_seen[i] || exempt_op(k->op)) continue;
            size_t len = strlen(unused);
            snprintf(unused + len, sizeof unused - len, " %s", k->name);
            n_unused++;
        }
        print_message("[ variants ] %s on %s: every accepting kernel run directly: %d runs, %d failed; kernels no "
                      "case reached:%s\n", prec_names[d->prec], zn_backend_name(d->backend), t.variants,
                      t.variant_failed, n_unused || unused[0] ? unused : " none");
    }
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.variant_failed, 0);
}

/* ======================================= host-only tests ================================= */

/* Every op with a CUDA kernel in the registry has a case, so a new kernel cannot go untested. */
static void test_every_cuda_op_has_a_case(void **state) {
    (void)state;
    make_generated_cases();
    bool covered[ZN_OP_COUNT] = {false};
    for (int i = 0; i < n_cases(); i++) {
        const op_case *c = case_at(i);
        covered[c->op] = true;
        if (c->then) covered[then_op(c)] = true;
    }
    int cuda_specs = 0, missing = 0;
    bool seen[ZN_OP_COUNT] = {false};
    for (int i = 0; i < zn_registry_count(); i++) {
        const zn_kernel_spec *k = zn_registry_at(i);
        if (k->backend != ZN_BACKEND_CUDA) continue;
        cuda_specs++;
        assert_true(k->op >= 0 && k->op < ZN_OP_COUNT);
        assert_non_null(k->name);
        if (strncmp(k->name, "cuda.", 5)) {
            print_error("CUDA kernel '%s' (%s): CUDA kernel names start with \"cuda.\"\n", k->name, zn_op_name(k->op));
            missing++;
        }
        seen[k->op] = true;
        if (!covered[k->op] && !exempt_op(k->op)) {
            print_error("CUDA kernel '%s' implements %s, which has no case in tests/test_cuda.c's table: add one\n",
                        k->name, zn_op_name(k->op));
            missing++;
        }
    }
    int ops = 0, uncovered = 0;
    char list[1024] = "";
    for (int op = 0; op < ZN_OP_COUNT; op++) {
        ops += seen[op];
        if (!covered[op] && !exempt_op((zn_op)op)) {
            uncovered++;
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, " %s", zn_op_name((zn_op)op));
        }
    }
    print_message("[ coverage ] %d CUDA kernels over %d ops in the registry%s; %d cases; ops without a case:%s\n",
                  cuda_specs, ops, zn_device_compiled() ? "" : " (a build without CUDA)", n_cases(),
                  uncovered ? list : " none");
    assert_int_equal(missing, 0);
}

/* Every case is well formed: it compiles and runs on the reference plan with finite outputs, and
 * the CPU backend's fast kernels agree with it. This runs the whole harness (build, inputs,
 * compare, tally) without a GPU, so the table is right before it reaches one. */
static void test_case_table_on_cpu(void **state) {
    (void)state;
    dut d = {.backend = ZN_BACKEND_CPU, .prec = P_FP32, .check_cuda_kernels = false, .rtol = 1e-4};
    run_all_cases(&d);
}

/* The comparison itself: it accepts rounding-sized differences and rejects the rest. */
static void test_compare_criterion(void **state) {
    (void)state;
    float want[4] = {1.0f, -2.0f, 0.0f, 1e-3f}, got[4];
    int64_t dims[1] = {4};
    zn_view w = tu_view(ZN_F32, want, 1, dims), g = tu_view(ZN_F32, got, 1, dims);
    char err[400];
    memcpy(got, want, sizeof got);
    got[2] = 1e-6f; /* near zero: judged against rms (~1.1), not against |want| = 0 */
    assert_int_equal(compare_view(&g, &w, 1e-5, err, sizeof err, NULL), 0);
    got[0] = 1.0001f;
    assert_int_equal(compare_view(&g, &w, 1e-5, err, sizeof err, NULL), 1);
    assert_non_null(strstr(err, "index 0"));
    assert_int_equal(compare_view(&g, &w, 1e-3, err, sizeof err, NULL), 0);
    got[0] = NAN;
    assert_int_equal(compare_view(&g, &w, 1, err, sizeof err, NULL), 1);
    assert_non_null(strstr(err, "finite"));
    got[0] = INFINITY;
    assert_int_equal(compare_view(&g, &w, 1, err, sizeof err, NULL), 1);
    int64_t iw[2] = {3, 4}, ig[2] = {3, 5}, d2[1] = {2};
    zn_view wi = tu_view(ZN_I64, iw, 1, d2), gi = tu_view(ZN_I64, ig, 1, d2);
    assert_int_equal(compare_view(&gi, &wi, 1, err, sizeof err, NULL), 1);
    ig[1] = 4;
    assert_int_equal(compare_view(&gi, &wi, 0, err, sizeof err, NULL), 0);
    assert_int_equal(compare_view(&g, &wi, 1, err, sizeof err, NULL), 1); /* dtype */
    /* quantizing: exactly representable afterwards, within half an ulp */
    for (int p = P_TF32; p < P_COUNT; p++) {
        float x = 1.2345678f, q = quantize((prec_id)p, x);
        assert_true(quantize((prec_id)p, q) == q);
        double ulp = p == P_BF16 ? 1.0 / 128 : 1.0 / 1024;
        assert_true(fabs(q - x) <= ulp / 2 * 1.0000001);
    }
}

/* A tiny graph for the error paths: y = relu(x W), x (2,8). */
static zn_graph *tiny_graph(void) {
    zn_graph *g = zn_graph_new("tiny");
    zn_dim xd[2] = {{2, -1}, {8, -1}};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, xd);
    float w[8 * 4];
    for (int i = 0; i < 32; i++) w[i] = (float)(i % 7) * 0.1f - 0.3f;
    int64_t wd[2] = {8, 4};
    int in[2] = {x, zn_graph_add_const(g, "W", ZN_F32, 2, wd, w)};
    int mm = zn_graph_op(g, ZN_OP_MATMUL, "mm", 2, in);
    zn_graph_mark_output(g, zn_graph_op(g, ZN_OP_RELU, "relu", 1, &mm));
    return g;
}

/* Runs `cmd` through the shell; returns its exit status and the first cap-1 bytes of its output. */
static int run_shell(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --backend cuda with no device: ZN_ERR_NO_DEVICE whose message names the reason the probe gave;
 * the command line says so with exit status 3. */
static void test_backend_cuda_without_device(void **state) {
    (void)state;
    if (gpu_present) {
        print_message("[ skipped  ] %s: skipped: a GPU is present (%s); the no-device path needs a machine "
                      "without one\n", __func__, gpu_reason);
        skip();
    }
    zn_graph *g = tiny_graph();
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_CUDA;
    zn_plan *plan = NULL;
    assert_int_equal(zn_compile(g, &cfg, &plan), ZN_ERR_NO_DEVICE);
    assert_null(plan);
    const zn_error *e = zn_last_error();
    char said[ZN_ERROR_MSG + ZN_ERROR_HINT + 4];
    snprintf(said, sizeof said, "%s | %s", e->message, e->hint);
    print_message("[ no GPU   ] --backend cuda: %s\n", said);
    assert_true(e->message[0] != '\0');
    if (!strstr(said, gpu_reason))
        fail_msg("the error does not name the probe's reason \"%s\"; it says \"%s\"", gpu_reason, said);
    /* fp16 on a machine without the device: the same error, not the CPU's "fp32 only" */
    cfg.precision = ZN_PRECISION_F16;
    assert_int_equal(zn_compile(g, &cfg, &plan), ZN_ERR_NO_DEVICE);
    zn_graph_free(g);

    const char *bin = getenv("ZN_TEST_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        print_message("[ note     ] ZN_TEST_BIN is not set (make test sets it): the command-line check is skipped\n");
        return;
    }
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' run --model mlp --backend cuda --duration 0s --min-queries 1 --no-profile 2>&1",
             bin);
    int rc = run_shell(cmd, out, sizeof out);
    if (rc != 3 || !strstr(out, "error:"))
        fail_msg("zenith-bench run --backend cuda: exit %d (want 3) and output:\n%s", rc, out);
    if (!strstr(out, gpu_reason)) fail_msg("the command's error does not name the reason \"%s\":\n%s", gpu_reason, out);
}

/* --backend auto: the CPU when there is no device, the GPU when there is one. */
static void test_backend_auto(void **state) {
    (void)state;
    zn_graph *g = tiny_graph();
    zn_compile_config cfg = zn_compile_config_default();
    cfg.backend = ZN_BACKEND_AUTO;
    cfg.threads = 1;
    zn_plan *plan = NULL;
    zn_status st = zn_compile(g, &cfg, &plan);
    if (st != ZN_OK) fail_msg("compile with --backend auto: %s", zn_last_error()->message);
    zn_backend want = gpu_present && zn_device_compiled() ? ZN_BACKEND_CUDA : ZN_BACKEND_CPU;
    assert_int_equal(zn_plan_summary(plan)->backend, want);
    print_message("[ auto     ] --backend auto chose %s (%s)\n", zn_backend_name(zn_plan_summary(plan)->backend),
                  gpu_reason);
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(plan, &s), ZN_OK);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i / 8 - 1;
    int64_t xd[2] = {2, 8};
    zn_view in = tu_view(ZN_F32, x, 2, xd), out;
    memset(&out, 0, sizeof out);
    assert_int_equal(zn_session_run(s, &in, 1, &out, 1), ZN_OK);
    assert_int_equal(out.dtype, ZN_F32);
    assert_int_equal(zn_view_numel(&out), 8);
    const float *w = zn_graph_tensor_data(g, zn_graph_find_tensor(g, "W"));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            double acc = 0;
            for (int k = 0; k < 8; k++) acc += (double)x[i * 8 + k] * w[k * 4 + j];
            assert_float_equal(((float *)out.data)[i * 4 + j], acc > 0 ? acc : 0, 1e-5);
        }
    zn_session_free(s);
    zn_plan_free(plan);
    zn_graph_free(g);
}

/* ======================================= GPU: op cases =================================== */

static void cases_at(prec_id p) {
    int cp = prec_config(p);
    if (cp < 0) {
        print_message("[ skipped  ] %s: not supported: this build has no %s precision "
                      "(zn_precision_parse(\"%s\") = -1)\n", prec_names[p], prec_names[p], prec_names[p]);
        skip();
    }
    dut d = {.backend = ZN_BACKEND_CUDA, .prec = p, .check_cuda_kernels = true, .rtol = prec_rtol[p]};
    run_all_cases(&d);
}

static void test_cuda_cases_fp32(void **state) { (void)state; NEED_GPU(); cases_at(P_FP32); }
static void test_cuda_cases_tf32(void **state) { (void)state; NEED_GPU(); cases_at(P_TF32); }
static void test_cuda_cases_fp16(void **state) { (void)state; NEED_GPU(); cases_at(P_FP16); }
static void test_cuda_cases_bf16(void **state) { (void)state; NEED_GPU(); cases_at(P_BF16); }

/* ======================================= GPU: whole models =============================== */

typedef struct zoo_case {
    const char *name;
    zn_zoo_binding bind[4];
    int n_bind;
} zoo_case;

static const zoo_case zoo_cases[] = {
    {"mlp", {{"batch", 3}}, 1},
    {"mnist-cnn", {{"batch", 2}}, 1},
#ifndef ZN_CUDA_EMU
    {"resnet50", {{"batch", 2}, {"height", 64}, {"width", 64}}, 3},
    {"bert-base", {{"batch", 2}, {"seq", 32}}, 2},
    {"gpt2-small", {{"batch", 1}, {"seq", 16}}, 2},
#else /* make test-emu: the kernels run emulated on the CPU; the same models at smaller shapes */
    {"resnet50", {{"batch", 1}, {"height", 32}, {"width", 32}}, 3},
    {"bert-base", {{"batch", 2}, {"seq", 8}}, 2},
    {"gpt2-small", {{"batch", 1}, {"seq", 8}}, 2},
#endif
};
#define N_ZOO ((int)(sizeof zoo_cases / sizeof zoo_cases[0]))

static zn_graph *zoo_graph(const zoo_case *zc) {
    zn_graph *g = NULL;
    zn_zoo_options opt = {.seed = 0};
    zn_status st = zn_zoo_build(zc->name, &opt, &g);
    if (st != ZN_OK) fail_msg("zoo %s: %s", zc->name, zn_last_error()->message);
    for (int j = 0; j < zc->n_bind; j++)
        assert_int_equal(zn_graph_bind_symbol(g, zc->bind[j].symbol, zc->bind[j].value), ZN_OK);
    return g;
}

/* Inputs for a zoo plan: floats U(-1,1), token ids in the vocabulary, the attention mask 1 but
 * for the last quarter of the second sequence. */
static void zoo_inputs(const zoo_case *zc, const zn_plan *plan, uint64_t seed, inputs *in) {
    tu_rng r = tu_rng_new(seed);
    memset(in, 0, sizeof *in);
    int64_t vocab = !strcmp(zc->name, "gpt2-small") ? 50257 : 30522;
    in->n = zn_plan_num_inputs(plan);
    ZN_ASSERT(in->n <= MAX_IN);
    for (int i = 0; i < in->n; i++) {
        zn_io_info io = zn_plan_input(plan, i);
        zn_dtype dt = io.dtype == ZN_F16 || io.dtype == ZN_BF16 ? ZN_F32 : io.dtype;
        zn_view v = tu_view(dt, NULL, io.rank, io.dims);
        int64_t n = zn_view_numel(&v);
        v.data = calloc((size_t)(n > 0 ? n : 1), zn_dtype_size(dt));
        assert_non_null(v.data);
        if (dt == ZN_F32) {
            tu_fill(&r, v.data, n, -1, 1);
        } else {
            assert_int_equal(dt, ZN_I64);
            int64_t *p = v.data, seq = io.dims[io.rank - 1];
            bool mask = strstr(io.name, "mask") != NULL;
            for (int64_t k = 0; k < n; k++)
                p[k] = mask ? !(k >= seq && k % seq >= seq - seq / 4) : (int64_t)(tu_next(&r) % (uint64_t)vocab);
        }
        in->v[i] = v;
    }
}

static zn_status compile_model(const zn_graph *g, zn_backend b, prec_id p, zn_mode mode, bool reference,
                               zn_plan **plan) {
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 4;
    cfg.backend = b;
    cfg.reference = reference;
    cfg.mode = mode;
    if (!reference) cfg.precision = (zn_precision)prec_config(p);
    zn_status st = zn_compile(g, &cfg, plan);
    if (st != ZN_OK)
        print_error("compile %s (%s, %s%s): %s [node %s] %s\n", zn_graph_name(g), zn_backend_name(b),
                    reference ? "reference" : prec_names[p], mode == ZN_MODE_REDUCE_OVERHEAD ? ", reduce-overhead" : "",
                    zn_last_error()->message, zn_last_error()->node, zn_last_error()->hint);
    return st;
}

/* "212 steps: 208 on CUDA, 2 on the CPU (Gather), 2 copies" */
static void describe_steps(const zn_plan *plan, char *buf, size_t cap) {
    int n = zn_plan_num_steps(plan), cuda = 0, cpu = 0;
    char cpu_ops[256] = "";
    for (int i = 0; i < n; i++) {
        zn_step_info si = zn_plan_step(plan, i);
        if (si.kernel && !strncmp(si.kernel, "cuda.", 5)) {
            cuda++;
        } else if (strcmp(zn_op_name(si.op), "ZnCopy")) {
            cpu++;
            size_t len = strlen(cpu_ops);
            if (!strstr(cpu_ops, zn_op_name(si.op)) && len < sizeof cpu_ops - 40)
                snprintf(cpu_ops + len, sizeof cpu_ops - len, "%s%s", len ? ", " : "", zn_op_name(si.op));
        }
    }
    snprintf(buf, cap, "%d steps: %d on CUDA, %d on the CPU%s%s%s, %d copies", n, cuda, cpu, cpu ? " (" : "",
             cpu_ops, cpu ? ")" : "", zn_plan_summary(plan)->copy_steps);
}

/* Whole-model tolerance: fp32 within 1e-3 x (|want| + rms); lowered precisions within 5e-2 and
 * a cosine similarity of at least 0.999 (a dozen layers of fp16 rounding, against fp32 weights). */
static int compare_model(const outputs *got, const outputs *want, prec_id p, const char *what, char *line,
                         size_t cap) {
    double rtol = p == P_FP32 ? 1e-3 : p == P_TF32 ? 1e-2 : 5e-2, min_cos = p == P_FP32 ? 0.99999 : 0.999;
    int bad = 0;
    size_t len = 0;
    line[0] = '\0';
    for (int k = 0; k < want->n; k++) {
        char err[400];
        cmp_stats cs;
        int r = compare_view(&got->v[k], &want->v[k], rtol, err, sizeof err, &cs);
        if (!r && cs.cosine < min_cos) {
            snprintf(err, sizeof err, "cosine similarity %.6f < %.5f", cs.cosine, min_cos);
            r = 1;
        }
        if (r) {
            print_error("[  FAILED  ] %s output %d: %s\n", what, k, err);
            bad++;
        }
        len += (size_t)snprintf(line + len, len < cap ? cap - len : 0, "%sout%d max|err|/rms %.2g cos %.7f",
                                k ? ", " : "", k, cs.max_err_rms, cs.cosine);
    }
    return bad;
}

/* The zoo models (the first n) on backend b at precision p against the reference plan. */
static void zoo_at(zn_backend b, prec_id p, int n) {
    int bad = 0;
    for (int m = 0; m < n && m < N_ZOO; m++) {
        const zoo_case *zc = &zoo_cases[m];
        zn_graph *g = zoo_graph(zc);
        zn_plan *ref = NULL, *dev = NULL;
        zn_session *rs = NULL, *ds = NULL;
        inputs in = {0};
        outputs ro = {0}, dout = {0};
        char what[96], line[512], steps[400];
        snprintf(what, sizeof what, "%s %s %s", zc->name, zn_backend_name(b), prec_names[p]);
        if (compile_model(g, ZN_BACKEND_CPU, P_FP32, ZN_MODE_DEFAULT, true, &ref) != ZN_OK ||
            compile_model(g, b, p, ZN_MODE_DEFAULT, false, &dev) != ZN_OK) {
            bad++;
            goto next;
        }
        assert_int_equal(zn_session_new(ref, &rs), ZN_OK);
        assert_int_equal(zn_session_new(dev, &ds), ZN_OK);
        zoo_inputs(zc, dev, tu_seed() ^ hash_str(zc->name), &in);
        if (run_plan(rs, ref, in.v, in.n, &ro) != ZN_OK || run_plan(ds, dev, in.v, in.n, &dout) != ZN_OK) {
            print_error("[  FAILED  ] %s: run: %s [node %s]\n", what, zn_last_error()->message, zn_last_error()->node);
            bad++;
            goto next;
        }
        bad += compare_model(&dout, &ro, p, what, line, sizeof line);
        describe_steps(dev, steps, sizeof steps);
        print_message("[ model    ] %-16s %s; %s\n", what, line, steps);
    next:
        free_outputs(&ro);
        free_outputs(&dout);
        free_inputs(&in);
        zn_session_free(rs);
        zn_session_free(ds);
        zn_plan_free(ref);
        zn_plan_free(dev);
        zn_graph_free(g);
    }
    assert_int_equal(bad, 0);
}

static void test_cuda_zoo_fp32(void **state) { (void)state; NEED_GPU(); zoo_at(ZN_BACKEND_CUDA, P_FP32, N_ZOO); }
static void test_cuda_zoo_fp16(void **state) { (void)state; NEED_GPU(); zoo_at(ZN_BACKEND_CUDA, P_FP16, N_ZOO); }

/* ---- the ONNX fixtures, against the reference outputs stored beside them ---- */

static const char *fixtures(void) {
    const char *e = getenv("ZN_FIXTURES");
    return e && *e ? e : "tests/fixtures";
}

/* Fixtures whose result moves by a whole unit when an input is rounded to fp16: compared in
 * fp32 only. */
static bool fp32_only_fixture(const char *name) {
    static const char *const names[] = {"op_cast_f32_i64", "op_floor", "op_ceil", "op_equal", "op_less",
                                        "op_greater", "op_argmax", "op_range"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return true;
    return false;
}

/* One fixture on the CUDA backend; 0 when its outputs match output_K.pb. */
static int fixture_case(const char *dir, const char *name, zn_backend b, prec_id p, char *err, size_t cap) {
    char path[1024];
    zn_graph *g = NULL;
    zn_plan *plan = NULL;
    zn_session *s = NULL;
    zn_tensor_file tin[8], tref[8];
    inputs in = {0};
    outputs out = {0};
    int n_in = 0, n_ref = 0, rc = 1;
    memset(tin, 0, sizeof tin);
    memset(tref, 0, sizeof tref);
    snprintf(path, sizeof path, "%s/%s/model.onnx", dir, name);
    if (zn_graph_from_onnx(path, NULL, &g) != ZN_OK) {
        snprintf(err, cap, "load: %s", zn_last_error()->message);
        goto done;
    }
    for (; n_in < zn_graph_num_inputs(g) && n_in < 8; n_in++) {
        snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", dir, name, n_in);
        if (zn_tensor_read_pb(path, &tin[n_in]) != ZN_OK ||
            zn_graph_bind_input_shape(g, zn_graph_tensor_name(g, zn_graph_input(g, n_in)), tin[n_in].rank,
                                      tin[n_in].dims) != ZN_OK) {
            snprintf(err, cap, "input %d: %s", n_in, zn_last_error()->message);
            n_in++;
            goto done;
        }
        in.v[in.n++] = tu_view(tin[n_in].dtype, tin[n_in].data, tin[n_in].rank, tin[n_in].dims);
    }
    for (; n_ref < zn_graph_num_outputs(g) && n_ref < 8; n_ref++) {
        snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_%d.pb", dir, name, n_ref);
        if (zn_tensor_read_pb(path, &tref[n_ref]) != ZN_OK) {
            snprintf(err, cap, "output %d: %s", n_ref, zn_last_error()->message);
            n_ref++;
            goto done;
        }
    }
    if (compile_model(g, b, p, ZN_MODE_DEFAULT, false, &plan) != ZN_OK) {
        snprintf(err, cap, "compile: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
        goto done;
    }
    if (zn_session_new(plan, &s) != ZN_OK || run_plan(s, plan, in.v, in.n, &out) != ZN_OK) {
        snprintf(err, cap, "run: %s [node %s]", zn_last_error()->message, zn_last_error()->node);
        goto done;
    }
    for (int o = 0; o < n_ref && o < out.n; o++) {
        zn_view want = tu_view(tref[o].dtype, tref[o].data, tref[o].rank, tref[o].dims);
        if (p != P_FP32 && !zn_dtype_is_float(want.dtype)) continue; /* lowered: floats only */
        /* fp32: the tolerance test_onnx.c holds the reference plan to; fp16: 2e-2 of the scale */
        double rtol = p == P_FP32 ? 1e-4 : 2e-2;
        char why[400];
        if (compare_view(&out.v[o], &want, rtol, why, sizeof why, NULL)) {
            snprintf(err, cap, "output %d: %s", o, why);
            goto done;
        }
    }
    if (out.n != n_ref) {
        snprintf(err, cap, "%d outputs, want %d", out.n, n_ref);
        goto done;
    }
    rc = 0;
done:
    free_outputs(&out);
    zn_session_free(s);
    zn_plan_free(plan);
    zn_graph_free(g);
    for (int i = 0; i < n_in; i++) zn_tensor_file_free(&tin[i]);
    for (int i = 0; i < n_ref; i++) zn_tensor_file_free(&tref[i]);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void fixtures_at(zn_backend b, prec_id p) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/onnx", fixtures());
    DIR *d = opendir(dir);
    if (!d) fail_msg("no fixtures at %s (run from the repo root or set ZN_FIXTURES)", dir);
    char *names[512];
    int n = 0, bad = 0, skipped = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    zn_log_level lvl = zn_log_get_level();
    zn_log_set_level(ZN_LOG_ERROR); /* the importer's notes (a DOUBLE initializer converted) */
    for (int i = 0; i < n; i++) {
        char err[768] = "";
        if (p != P_FP32 && fp32_only_fixture(names[i])) {
            skipped++;
        } else if (fixture_case(dir, names[i], b, p, err, sizeof err)) {
            print_error("[  FAILED  ] fixture %-28s %s: %s\n", names[i], prec_names[p], err);
            bad++;
        }
        free(names[i]);
    }
    zn_log_set_level(lvl);
    print_message("[ fixtures ] %s on %s: %d of %d ONNX cases match their reference outputs (%d compared in fp32 "
                  "only)\n", prec_names[p], zn_backend_name(b), n - bad - skipped, n - skipped, skipped);
    assert_true(n >= 80);
    assert_int_equal(bad, 0);
}

static void test_cuda_fixtures_fp32(void **state) { (void)state; NEED_GPU(); fixtures_at(ZN_BACKEND_CUDA, P_FP32); }
static void test_cuda_fixtures_fp16(void **state) { (void)state; NEED_GPU(); fixtures_at(ZN_BACKEND_CUDA, P_FP16); }

/* The model harnesses above, run on the CPU backend: they work before they reach a GPU. */
static void test_model_harness_on_cpu(void **state) {
    (void)state;
    fixtures_at(ZN_BACKEND_CPU, P_FP32);
    zoo_at(ZN_BACKEND_CPU, P_FP32, 2); /* mlp, mnist-cnn: the big ones take the reference too long */
}

/* ======================================= GPU: CUDA graphs and threads ===================== */

/* Outputs of `plan` for inputs a and b, each from a fresh session run. */
static void expected_pair(const zn_plan *plan, const inputs *a, const inputs *b, outputs *oa, outputs *ob) {
    zn_session *s = NULL;
    assert_int_equal(zn_session_new(plan, &s), ZN_OK);
    assert_int_equal(run_plan(s, plan, a->v, a->n, oa), ZN_OK);
    assert_int_equal(run_plan(s, plan, b->v, b->n, ob), ZN_OK);
    zn_session_free(s);
}

static bool bitwise_equal(const outputs *x, const outputs *y) {
    if (x->n != y->n) return false;
    for (int k = 0; k < x->n; k++)
        if (zn_view_bytes(&x->v[k]) != zn_view_bytes(&y->v[k]) ||
            memcmp(x->v[k].data, y->v[k].data, zn_view_bytes(&x->v[k])))
            return false;
    return true;
}

static int same_outputs(const outputs *got, const outputs *want, double rtol, const char *what) {
    int bad = 0;
    if (got->n != want->n) {
        print_error("[  FAILED  ] %s: %d outputs, want %d\n", what, got->n, want->n);
        return 1;
    }
    for (int k = 0; k < want->n; k++) {
        char err[400];
        if (compare_view(&got->v[k], &want->v[k], rtol, err, sizeof err, NULL)) {
            print_error("[  FAILED  ] %s output %d: %s\n", what, k, err);
            bad++;
        }
    }
    return bad;
}

/* reduce-overhead (captured CUDA graphs) computes what default mode computes: the first run (the
 * capture) and the replays after it, with new inputs between replays (a graph that kept reading
 * the inputs of its capture would give A's outputs for B). */
static void test_cuda_reduce_overhead_matches_default(void **state) {
    (void)state;
    NEED_GPU();
    static const struct { int zoo; prec_id p; } runs[] = {{0, P_FP32}, {1, P_FP16}, {3, P_FP16}, {3, P_FP32}, {2, P_FP16}};
    int bad = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const zoo_case *zc = &zoo_cases[runs[r].zoo];
        prec_id p = runs[r].p;
        zn_graph *g = zoo_graph(zc);
        zn_plan *def = NULL, *ro = NULL;
        assert_int_equal(compile_model(g, ZN_BACKEND_CUDA, p, ZN_MODE_DEFAULT, false, &def), ZN_OK);
        assert_int_equal(compile_model(g, ZN_BACKEND_CUDA, p, ZN_MODE_REDUCE_OVERHEAD, false, &ro), ZN_OK);
        assert_int_equal(zn_plan_summary(ro)->mode, ZN_MODE_REDUCE_OVERHEAD);
        inputs a, b;
        outputs ea = {0}, eb = {0};
        zoo_inputs(zc, def, tu_seed() ^ 0xA, &a);
        zoo_inputs(zc, def, tu_seed() ^ 0xB, &b);
        expected_pair(def, &a, &b, &ea, &eb);
        zn_session *s = NULL;
        assert_int_equal(zn_session_new(ro, &s), ZN_OK);
        double rtol = p == P_FP32 ? 1e-5 : 1e-3;
        int identical = 0;
        const inputs *seq[4] = {&a, &b, &a, &b};
        const outputs *want[4] = {&ea, &eb, &ea, &eb};
        for (int i = 0; i < 4; i++) {
            outputs o = {0};
            char what[128];
            snprintf(what, sizeof what, "%s %s reduce-overhead run %d (%s)", zc->name, prec_names[p], i + 1,
                     i ? "replay" : "capture");
            zn_status st = run_plan(s, ro, seq[i]->v, seq[i]->n, &o);
            if (st != ZN_OK) {
                print_error("[  FAILED  ] %s: %s [node %s]\n", what, zn_last_error()->message, zn_last_error()->node);
                bad++;
                break;
            }
            bad += same_outputs(&o, want[i], rtol, what);
            identical += bitwise_equal(&o, want[i]);
            free_outputs(&o);
        }
        assert_false(bitwise_equal(&ea, &eb)); /* the two inputs really differ */
        print_message("[ graphs   ] %s %s: reduce-overhead equals default mode on 4 runs (%d bitwise identical)%s%s\n",
                      zc->name, prec_names[p], identical, zn_plan_summary(ro)->note[0] ? "; note: " : "",
                      zn_plan_summary(ro)->note);
        zn_session_free(s);
        free_outputs(&ea);
        free_outputs(&eb);
        free_inputs(&a);
        free_inputs(&b);
        zn_plan_free(def);
        zn_plan_free(ro);
        zn_graph_free(g);
    }
    assert_int_equal(bad, 0);
}

typedef struct worker {
    const zn_plan *plan;
    const inputs *in[2];
    const outputs *want[2];
    int first, iters, bad;
    double rtol;
    zn_status st;
    char err[512];
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    zn_session *s = NULL;
    w->st = zn_session_new(w->plan, &s);
    if (w->st != ZN_OK) {
        snprintf(w->err, sizeof w->err, "session: %.480s", zn_last_error()->message);
        return NULL;
    }
    for (int i = 0; i < w->iters && w->st == ZN_OK && !w->bad; i++) {
        int which = (w->first + i) & 1;
        outputs o = {0};
        w->st = run_plan(s, w->plan, w->in[which]->v, w->in[which]->n, &o);
        if (w->st != ZN_OK) {
            snprintf(w->err, sizeof w->err, "run %d: %.480s", i, zn_last_error()->message);
            break;
        }
        for (int k = 0; k < o.n && !w->bad; k++) {
            char why[400];
            if (compare_view(&o.v[k], &w->want[which]->v[k], w->rtol, why, sizeof why, NULL)) {
                snprintf(w->err, sizeof w->err, "run %d output %d: %s", i, k, why);
                w->bad = 1;
            }
        }
        free_outputs(&o);
    }
    zn_session_free(s);
    return NULL;
}

#ifndef ZN_CUDA_EMU
#define THREAD_RUNS 12
#else /* make test-emu: the kernels run emulated on the CPU; fewer runs */
#define THREAD_RUNS 3
#endif

/* Two sessions of one plan on two threads, each with its own stream (and, in reduce-overhead
 * mode, its own captured graph), running different inputs at the same time. */
static void test_cuda_two_sessions_two_threads(void **state) {
    (void)state;
    NEED_GPU();
    static const struct { int zoo; prec_id p; zn_mode mode; } runs[] = {
        {3, P_FP16, ZN_MODE_DEFAULT}, {3, P_FP16, ZN_MODE_REDUCE_OVERHEAD}, {2, P_FP32, ZN_MODE_REDUCE_OVERHEAD}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        const zoo_case *zc = &zoo_cases[runs[r].zoo];
        zn_graph *g = zoo_graph(zc);
        zn_plan *plan = NULL;
        assert_int_equal(compile_model(g, ZN_BACKEND_CUDA, runs[r].p, runs[r].mode, false, &plan), ZN_OK);
        inputs a, b;
        outputs ea = {0}, eb = {0};
        zoo_inputs(zc, plan, tu_seed() ^ 0xC, &a);
        zoo_inputs(zc, plan, tu_seed() ^ 0xD, &b);
        expected_pair(plan, &a, &b, &ea, &eb);
        worker w[2];
        pthread_t th[2];
        for (int t = 0; t < 2; t++) {
            memset(&w[t], 0, sizeof w[t]);
            w[t] = (worker){.plan = plan, .in = {&a, &b}, .want = {&ea, &eb}, .first = t, .iters = THREAD_RUNS,
                            .rtol = runs[r].p == P_FP32 ? 1e-5 : 1e-3};
            assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
        }
        for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
        for (int t = 0; t < 2; t++)
            if (w[t].st != ZN_OK || w[t].bad)
                fail_msg("%s %s %s, thread %d: %s", zc->name, prec_names[runs[r].p], zn_mode_name(runs[r].mode), t,
                         w[t].err);
        print_message("[ threads  ] %s %s %s: 2 sessions x %d runs on 2 threads match one session\n", zc->name,
                      prec_names[runs[r].p], zn_mode_name(runs[r].mode), THREAD_RUNS);
        free_outputs(&ea);
        free_outputs(&eb);
        free_inputs(&a);
        free_inputs(&b);
        zn_plan_free(plan);
        zn_graph_free(g);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        /* no GPU needed */
        cmocka_unit_test(test_every_cuda_op_has_a_case),
        cmocka_unit_test(test_compare_criterion),
        cmocka_unit_test(test_case_table_on_cpu),
        cmocka_unit_test(test_model_harness_on_cpu),
        cmocka_unit_test(test_backend_cuda_without_device),
        cmocka_unit_test(test_backend_auto),
        /* GPU: skipped, with the reason, without one */
        cmocka_unit_test(test_cuda_cases_fp32),
        cmocka_unit_test(test_cuda_cases_tf32),
        cmocka_unit_test(test_cuda_cases_fp16),
        cmocka_unit_test(test_cuda_cases_bf16),
        cmocka_unit_test(test_cuda_zoo_fp32),
        cmocka_unit_test(test_cuda_zoo_fp16),
        cmocka_unit_test(test_cuda_fixtures_fp32),
        cmocka_unit_test(test_cuda_fixtures_fp16),
        cmocka_unit_test(test_cuda_reduce_overhead_matches_default),
        cmocka_unit_test(test_cuda_two_sessions_two_threads),
    };
    return cmocka_run_group_tests_name("cuda", tests, group_setup, group_teardown);
}
