/* emu_libs.cpp — the libraries of the CUDA emulation: cuBLASLt and cuDNN as small CPU references
 * with the real ones' semantics for what gemm.cu and conv.cu ask of them, and CUPTI absent.
 *
 * cuBLASLt: column-major D = epilogue(alpha * op(A) op(B) + beta * C) with per-matrix layouts
 * (rows, cols, ld, batch count, strided batch offset), op N/T, f32 / f16 / bf16 data with fp32
 * compute (TF32 rounds A and B first), epilogues DEFAULT, RELU, BIAS, RELU_BIAS, GELU, GELU_BIAS
 * (GELU is the tanh form; the bias has D's rows and type). The heuristic returns one algorithm
 * that asks for 1 MiB of workspace, which every matmul fills with garbage so that a workspace
 * overlapping live tensors shows; a call breaking the heuristic's alignment promise fails.
 * cuDNN: NCHW cross-correlation with symmetric pads, strides, dilations and groups;
 * cudnnConvolutionForward (y = alpha conv + beta y) and cudnnConvolutionBiasActivationForward
 * (y = act(alpha1 conv + alpha2 z + bias), act RELU or IDENTITY, IDENTITY only with
 * IMPLICIT_PRECOMP_GEMM as in real cuDNN). The heuristic lists FFT first (conv.cu must skip it),
 * then IMPLICIT_GEMM and IMPLICIT_PRECOMP_GEMM in an order that depends on the filter count (so
 * both the fused-identity and the unfused paths of conv.cu run), then GEMM; GEMM and PRECOMP ask
 * for workspace, filled with garbage like cuBLASLt's.
 * Both run as work on the stream (queued, captured into graphs) and accumulate in fp32.
 * ZN_EMU_NO_LIBS=1 makes both heuristics find nothing, to run the kernels' fallbacks.
 * CUPTI: every call fails with CUPTI_ERROR_NOT_INITIALIZED, as on a machine without the driver
 * support; profiling/cupti.c reports it unavailable.
 * Not here: other epilogues, matrix orders, scale types or pointer modes; cuDNN's other
 * layouts, 3-D convolutions, the graph API; anything about speed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>
#include <cudnn.h>
#include <cupti.h>

#include <vector>

#include "emu_internal.h"

using zn_emu::report;

/* ---- element access ---- */

static double load_elem(const void *p, int64_t i, cudaDataType_t t) {
    switch (t) {
    case CUDA_R_16F: return __half2float(((const __half *)p)[i]);
    case CUDA_R_16BF: return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

static void store_elem(void *p, int64_t i, cudaDataType_t t, double v) {
    switch (t) {
    case CUDA_R_16F: ((__half *)p)[i] = __float2half_rn((float)v); break;
    case CUDA_R_16BF: ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn((float)v); break;
    default: ((float *)p)[i] = (float)v; break;
    }
}

static size_t type_size(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : 2; }

static float round_tf32(float x) {
    if (!isfinite(x)) return x;
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0xFFFu + ((u >> 13) & 1u);
    u &= ~0x1FFFu;
    memcpy(&x, &u, 4);
    return x;
}

/* x . y over n floats, in fp32 with eight partial sums (as a GPU's tiles would split it) */
static float dot(const float *x, const float *y, uint64_t n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int e = 0; e < 8; e++) acc[e] += x[i + e] * y[i + e];
    for (; i < n; i++) acc[i % 8] += x[i] * y[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ZN_EMU_NO_LIBS=1: the heuristics find nothing, so gemm.cu and conv.cu take their fallbacks
 * (the tiled GEMM, the native convolution) as on a machine whose libraries cannot help. */
static bool libs_off() {
    static const bool off = [] {
        const char *e = getenv("ZN_EMU_NO_LIBS");
        return e && *e && strcmp(e, "0") != 0;
    }();
    return off;
}

static void fill_garbage(void *ws, size_t bytes) {
    if (ws && bytes) memset(ws, 0xa5, bytes);
}

/* ==================================== cuBLASLt ==================================== */

struct cublasLtContext {
    int magic;
};

namespace {
const uint32_t LT_LAYOUT = 0x4c61794fu, LT_DESC = 0x44657363u, LT_PREF = 0x50726566u, LT_ALGO = 0x416c676fu;
const size_t LT_WORKSPACE = (size_t)1 << 20;

struct lt_layout {
    uint32_t magic;
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch;
    int64_t stride;
};

struct lt_desc {
    uint32_t magic;
    cublasComputeType_t compute;
    cudaDataType_t scale;
    int32_t transa, transb;
    uint32_t epilogue;
    const void *bias;
};

struct lt_pref {
    uint32_t magic;
    uint64_t max_ws;
    uint32_t align[4]; /* A, B, C, D */
};

struct lt_algo {
    uint32_t magic;
    uint32_t align[4];
};

static_assert(sizeof(lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout fits");
static_assert(sizeof(lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "descriptor fits");
static_assert(sizeof(lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "preference fits");
static_assert(sizeof(lt_algo) <= sizeof(cublasLtMatmulAlgo_t), "algorithm fits");

template <class T, class O> T *as(O *o, uint32_t magic) {
    T *t = reinterpret_cast<T *>(o);
    return t && t->magic == magic ? t : nullptr;
}

template <class V> cublasStatus_t set_attr(V *field, const void *buf, size_t size) {
    if (size != sizeof(V)) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(field, buf, sizeof(V));
    return CUBLAS_STATUS_SUCCESS;
}

/* The problem of a matmul: op(A) (m,k), op(B) (k,n), C and D (m,n); NOT_SUPPORTED for what the
 * emulation (and, for these cases, cuBLASLt) cannot do. */
struct lt_problem {
    const lt_desc *d;
    const lt_layout *a, *b, *c, *o;
    uint64_t m, n, k;
    int32_t batch;
};

cublasStatus_t lt_check(cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                        cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D, lt_problem *p, const char *call) {
    p->d = as<lt_desc>(op, LT_DESC);
    p->a = as<lt_layout>(A, LT_LAYOUT);
    p->b = as<lt_layout>(B, LT_LAYOUT);
    p->c = as<lt_layout>(C, LT_LAYOUT);
    p->o = as<lt_layout>(D, LT_LAYOUT);
    if (!p->d || !p->a || !p->b || !p->c || !p->o) {
        report("%s: a descriptor or layout that was not initialised", call);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const lt_desc &d = *p->d;
    cudaDataType_t t = p->o->type;
    if (p->a->type != t || p->b->type != t || p->c->type != t || (t != CUDA_R_32F && t != CUDA_R_16F && t != CUDA_R_16BF))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d.scale != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d.compute != CUBLAS_COMPUTE_32F && !(d.compute == CUBLAS_COMPUTE_32F_FAST_TF32 && t == CUDA_R_32F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    switch (d.epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT: case CUBLASLT_EPILOGUE_RELU: case CUBLASLT_EPILOGUE_BIAS:
    case CUBLASLT_EPILOGUE_RELU_BIAS: case CUBLASLT_EPILOGUE_GELU: case CUBLASLT_EPILOGUE_GELU_BIAS: break;
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    p->m = p->o->rows;
    p->n = p->o->cols;
    p->k = d.transa == CUBLAS_OP_N ? p->a->cols : p->a->rows;
    uint64_t am = d.transa == CUBLAS_OP_N ? p->a->rows : p->a->cols;
    uint64_t bk = d.transb == CUBLAS_OP_N ? p->b->rows : p->b->cols, bn = d.transb == CUBLAS_OP_N ? p->b->cols : p->b->rows;
    if ((d.transa != CUBLAS_OP_N && d.transa != CUBLAS_OP_T) || (d.transb != CUBLAS_OP_N && d.transb != CUBLAS_OP_T)) {
        report("%s: transa/transb other than N or T", call);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (am != p->m || bk != p->k || bn != p->n || p->c->rows != p->m || p->c->cols != p->n) {
        report("%s: shapes do not chain: op(A) %llux%llu, op(B) %llux%llu, C %llux%llu, D %llux%llu", call,
               (unsigned long long)am, (unsigned long long)p->k, (unsigned long long)bk, (unsigned long long)bn,
               (unsigned long long)p->c->rows, (unsigned long long)p->c->cols, (unsigned long long)p->m,
               (unsigned long long)p->n);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const lt_layout *ls[4] = {p->a, p->b, p->c, p->o};
    for (const lt_layout *l : ls)
        if (l->ld < (int64_t)(l->rows ? l->rows : 1)) {
            report("%s: a layout's ld %lld is below its %llu rows", call, (long long)l->ld,
                   (unsigned long long)l->rows);
            return CUBLAS_STATUS_INVALID_VALUE;
        }
    p->batch = p->o->batch;
    if (p->a->batch != p->batch || p->b->batch != p->batch || p->c->batch != p->batch) {
        report("%s: batch counts differ (A %d, B %d, C %d, D %d)", call, p->a->batch, p->b->batch, p->c->batch,
               p->batch);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if ((d.epilogue & CUBLASLT_EPILOGUE_BIAS) && !d.bias) {
        report("%s: a bias epilogue without CUBLASLT_MATMUL_DESC_BIAS_POINTER", call);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* The bytes matrix l spans from its start over all batches. */
size_t lt_span(const lt_layout *l) {
    if (!l->rows || !l->cols) return 0;
    size_t one = ((size_t)(l->cols - 1) * (size_t)l->ld + l->rows) * type_size(l->type);
    return one + (size_t)(l->batch - 1) * (size_t)l->stride * type_size(l->type);
}

bool lt_memory_ok(const char *role, const void *p, const lt_layout *l, bool device_only) {
    size_t span = lt_span(l), after;
    bool device;
    if (!span) return true;
    if (!zn_emu::find_allocation(p, &device, &after) || (device_only && !device) || after < span) {
        report("cublasLtMatmul: %s at %p spans %zu bytes, which do not lie in one device allocation", role, p, span);
        return false;
    }
    return true;
}
} // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    *h = new cublasLtContext{1};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasLtGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    default: return "CUBLAS_STATUS_INTERNAL_ERROR";
    }
}

const char *cublasLtGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    default: return "an internal operation failed";
    }
}

cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t l, size_t size, cudaDataType type, uint64_t rows,
                                                 uint64_t cols, int64_t ld) {
    if (size < sizeof(lt_layout)) return CUBLAS_STATUS_ALLOC_FAILED;
    memset(l, 0, size);
    lt_layout *x = reinterpret_cast<lt_layout *>(l);
    *x = lt_layout{LT_LAYOUT, type, rows, cols, ld, 1, 0};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t size) {
    lt_layout *x = as<lt_layout>(l, LT_LAYOUT);
    if (!x) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return set_attr(&x->batch, buf, size);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return set_attr(&x->stride, buf, size);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t op, size_t size, cublasComputeType_t compute,
                                               cudaDataType_t scale) {
    if (size < sizeof(lt_desc)) return CUBLAS_STATUS_ALLOC_FAILED;
    memset(op, 0, size);
    *reinterpret_cast<lt_desc *>(op) =
        lt_desc{LT_DESC, compute, scale, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT, nullptr};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t op, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size) {
    lt_desc *d = as<lt_desc>(op, LT_DESC);
    if (!d) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set_attr(&d->transa, buf, size);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set_attr(&d->transb, buf, size);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_attr(&d->epilogue, buf, size);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_attr(&d->bias, buf, size);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref, size_t size) {
    if (size < sizeof(lt_pref)) return CUBLAS_STATUS_ALLOC_FAILED;
    memset(pref, 0, size);
    *reinterpret_cast<lt_pref *>(pref) = lt_pref{LT_PREF, 0, {256, 256, 256, 256}};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t size) {
    lt_pref *p = as<lt_pref>(pref, LT_PREF);
    if (!p) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set_attr(&p->max_ws, buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_attr(&p->align[0], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_attr(&p->align[1], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_attr(&p->align[2], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_attr(&p->align[3], buf, size);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t A,
                                              cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C,
                                              cublasLtMatrixLayout_t D, cublasLtMatmulPreference_t pref,
                                              int requested, cublasLtMatmulHeuristicResult_t results[], int *count) {
    *count = 0;
    lt_problem p;
    const lt_pref *pr = as<lt_pref>(pref, LT_PREF);
    if (!h || !pr || requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t s = lt_check(op, A, B, C, D, &p, "cublasLtMatmulAlgoGetHeuristic");
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (pr->max_ws < LT_WORKSPACE || libs_off()) return CUBLAS_STATUS_NOT_SUPPORTED;
    memset(&results[0], 0, sizeof results[0]);
    lt_algo *a = reinterpret_cast<lt_algo *>(&results[0].algo);
    a->magic = LT_ALGO;
    memcpy(a->align, pr->align, sizeof a->align);
    results[0].workspaceSize = LT_WORKSPACE;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *count = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoCheck(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t A,
                                       cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D,
                                       const cublasLtMatmulAlgo_t *algo, cublasLtMatmulHeuristicResult_t *result) {
    lt_problem p;
    if (!h || !algo || reinterpret_cast<const lt_algo *>(algo)->magic != LT_ALGO) return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t s = lt_check(op, A, B, C, D, &p, "cublasLtMatmulAlgoCheck");
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    memset(result, 0, sizeof *result);
    result->algo = *algo;
    result->workspaceSize = LT_WORKSPACE;
    result->state = CUBLAS_STATUS_SUCCESS;
    result->wavesCount = 1.0f;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta,
                              const void *C, cublasLtMatrixLayout_t Cdesc, void *D, cublasLtMatrixLayout_t Ddesc,
                              const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes, cudaStream_t stream) {
    lt_problem p;
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    cublasStatus_t s = lt_check(op, Adesc, Bdesc, Cdesc, Ddesc, &p, "cublasLtMatmul");
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    const lt_algo *al = reinterpret_cast<const lt_algo *>(algo);
    if (!al || al->magic != LT_ALGO) {
        report("cublasLtMatmul: an algorithm the heuristic did not return");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const void *ptrs[4] = {A, B, C, D};
    static const char *const roles[4] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++)
        if ((uintptr_t)ptrs[i] % al->align[i]) {
            report("cublasLtMatmul: %s at %p breaks the %u-byte alignment the heuristic was promised", roles[i],
                   ptrs[i], al->align[i]);
            return CUBLAS_STATUS_NOT_SUPPORTED;
        }
    if (ws_bytes < LT_WORKSPACE || !ws) {
        report("cublasLtMatmul: %zu bytes of workspace at %p; the algorithm needs %zu", ws_bytes, ws, LT_WORKSPACE);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    const lt_desc d = *p.d;
    if (!lt_memory_ok("A", A, p.a, true) || !lt_memory_ok("B", B, p.b, true) || !lt_memory_ok("D", D, p.o, true) ||
        (*(const float *)beta != 0.0f && !lt_memory_ok("C", C, p.c, true)))
        return CUBLAS_STATUS_INVALID_VALUE;
    const lt_layout a = *p.a, b = *p.b, c = *p.c, o = *p.o;
    const float al_v = *(const float *)alpha, be_v = *(const float *)beta;
    const uint64_t m = p.m, n = p.n, k = p.k;
    const int32_t batches = p.batch;
    cudaError_t e = zn_emu::enqueue(stream, [=]() {
        fill_garbage(ws, LT_WORKSPACE);
        const cudaDataType_t t = o.type;
        const bool tf32 = d.compute == CUBLAS_COMPUTE_32F_FAST_TF32;
        const bool relu = (d.epilogue & ~CUBLASLT_EPILOGUE_BIAS) == CUBLASLT_EPILOGUE_RELU;
        const bool gelu = (d.epilogue & ~CUBLASLT_EPILOGUE_BIAS) == CUBLASLT_EPILOGUE_GELU;
        const bool bias = (d.epilogue & CUBLASLT_EPILOGUE_BIAS) != 0;
        /* op(A) as rows of k and op(B)^T as rows of k, in fp32: every dot product runs on contiguous data */
        std::vector<float> ra((size_t)m * k), rb((size_t)n * k);
        std::vector<double> out((size_t)m * n);
        for (int32_t z = 0; z < batches; z++) {
            const int64_t ao = z * a.stride, bo = z * b.stride, co = z * c.stride, oo = z * o.stride;
            for (uint64_t i = 0; i < m; i++)
                for (uint64_t kk = 0; kk < k; kk++) {
                    float x = (float)load_elem(A, ao + (d.transa == CUBLAS_OP_N ? (int64_t)(i + kk * a.ld)
                                                                                 : (int64_t)(kk + i * a.ld)), t);
                    ra[i * k + kk] = tf32 ? round_tf32(x) : x;
                }
            for (uint64_t j = 0; j < n; j++)
                for (uint64_t kk = 0; kk < k; kk++) {
                    float y = (float)load_elem(B, bo + (d.transb == CUBLAS_OP_N ? (int64_t)(kk + j * b.ld)
                                                                                 : (int64_t)(j + kk * b.ld)), t);
                    rb[j * k + kk] = tf32 ? round_tf32(y) : y;
                }
            for (uint64_t j = 0; j < n; j++)
                for (uint64_t i = 0; i < m; i++) {
                    double v = al_v * dot(&ra[i * k], &rb[j * k], k);
                    if (be_v != 0.0f) v += be_v * load_elem(C, co + (int64_t)(i + j * c.ld), t);
                    out[i + j * m] = v;
                }
            /* D may be C: every C element is read before D is written */
            for (uint64_t j = 0; j < n; j++)
                for (uint64_t i = 0; i < m; i++) {
                    double v = out[i + j * m];
                    if (bias) v += load_elem(d.bias, (int64_t)i, t);
                    if (relu) v = v > 0 ? v : 0;
                    if (gelu) v = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
                    store_elem(D, oo + (int64_t)(i + j * o.ld), t, v);
                }
        }
        return cudaSuccess;
    }, "cublasLtMatmul");
    return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

} /* extern "C" */

/* ==================================== cuDNN ==================================== */

struct cudnnContext {
    cudaStream_t stream;
};
struct cudnnTensorStruct {
    cudnnDataType_t type;
    int n, c, h, w;
    bool set;
};
struct cudnnFilterStruct {
    cudnnDataType_t type;
    int k, c, h, w;
    bool set;
};
struct cudnnConvolutionStruct {
    int pad_h, pad_w, u, v, dil_h, dil_w, groups;
    cudnnConvolutionMode_t mode;
    cudnnMathType_t math;
    bool set;
};
struct cudnnActivationStruct {
    cudnnActivationMode_t mode;
    bool set;
};

namespace {

cudaDataType_t dnn_type(cudnnDataType_t t) {
    return t == CUDNN_DATA_HALF ? CUDA_R_16F : t == CUDNN_DATA_BFLOAT16 ? CUDA_R_16BF : CUDA_R_32F;
}

bool dnn_type_ok(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16; }

/* The output dims of x conv w, or false when they are empty or the descriptors do not match. */
bool dnn_out_dims(const cudnnConvolutionStruct *cv, const cudnnTensorStruct *x, const cudnnFilterStruct *w, int *on,
                  int *oc, int *oh, int *ow) {
    if (!cv || !x || !w || !cv->set || !x->set || !w->set || cv->groups < 1) return false;
    if (x->c != w->c * cv->groups || w->k % cv->groups) return false;
    int eh = (w->h - 1) * cv->dil_h + 1, ew = (w->w - 1) * cv->dil_w + 1;
    *on = x->n;
    *oc = w->k;
    *oh = (x->h + 2 * cv->pad_h - eh) / cv->u + 1;
    *ow = (x->w + 2 * cv->pad_w - ew) / cv->v + 1;
    return *oh > 0 && *ow > 0;
}

size_t dnn_workspace(const cudnnTensorStruct *x, const cudnnFilterStruct *w, const cudnnTensorStruct *y,
                     cudnnConvolutionFwdAlgo_t algo) {
    switch (algo) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return 4096 + (size_t)w->c * w->h * w->w * 8;
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
        return (size_t)w->c * w->h * w->w * y->h * y->w * type_size(dnn_type(x->type));
    default: return 0;
    }
}

/* Validates a forward call; false (with a report) when cuDNN would refuse it. */
cudnnStatus_t dnn_check(const char *call, const cudnnTensorStruct *x, const cudnnFilterStruct *w,
                        const cudnnConvolutionStruct *cv, const cudnnTensorStruct *y, cudnnConvolutionFwdAlgo_t algo,
                        size_t ws_bytes, const void *ws) {
    int on, oc, oh, ow;
    if (!dnn_out_dims(cv, x, w, &on, &oc, &oh, &ow) || !y || !y->set) {
        report("%s: descriptors that are not set or do not fit together", call);
        return CUDNN_STATUS_BAD_PARAM;
    }
    if (y->n != on || y->c != oc || y->h != oh || y->w != ow) {
        report("%s: y is (%d,%d,%d,%d); the convolution gives (%d,%d,%d,%d)", call, y->n, y->c, y->h, y->w, on, oc, oh,
               ow);
        return CUDNN_STATUS_BAD_PARAM;
    }
    if (x->type != w->type || x->type != y->type || !dnn_type_ok(x->type)) return CUDNN_STATUS_NOT_SUPPORTED;
    if (cv->mode != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_NOT_SUPPORTED;
    if (algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
        algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED ||
        algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT)
        return CUDNN_STATUS_NOT_SUPPORTED; /* not emulated (and never returned by the heuristic but FFT) */
    size_t need = dnn_workspace(x, w, y, algo);
    if (ws_bytes < need || (need && !ws)) {
        report("%s: %zu bytes of workspace; the algorithm needs %zu", call, ws_bytes, need);
        return CUDNN_STATUS_BAD_PARAM;
    }
    return CUDNN_STATUS_SUCCESS;
}

bool dnn_memory_ok(const char *call, const char *role, const void *p, size_t bytes) {
    size_t after;
    bool device;
    if (!bytes) return true;
    if (!zn_emu::find_allocation(p, &device, &after) || !device || after < bytes) {
        report("%s: %s at %p (%zu bytes) is not inside one device allocation", call, role, p, bytes);
        return false;
    }
    return true;
}

struct dnn_call {
    cudnnTensorStruct x, y;
    cudnnFilterStruct w;
    cudnnConvolutionStruct cv;
    const void *xp, *wp, *zp, *bp;
    void *yp, *ws;
    size_t ws_bytes;
    double alpha, beta; /* beta: y's (plain) or z's (fused) factor */
    bool fused, relu;
};

cudaError_t dnn_run(const dnn_call &c) {
    fill_garbage(c.ws, c.ws_bytes);
    const cudaDataType_t t = dnn_type(c.x.type);
    const int G = c.cv.groups, cg = c.w.c, mg = c.w.k / G, KH = c.w.h, KW = c.w.w;
    const int64_t plane = (int64_t)c.x.h * c.x.w, oplane = (int64_t)c.y.h * c.y.w;
    std::vector<float> x((size_t)c.x.n * c.x.c * plane), w((size_t)c.w.k * cg * KH * KW);
    for (size_t i = 0; i < x.size(); i++) x[i] = (float)load_elem(c.xp, (int64_t)i, t);
    for (size_t i = 0; i < w.size(); i++) w[i] = (float)load_elem(c.wp, (int64_t)i, t);
    for (int n = 0; n < c.y.n; n++)
        for (int m = 0; m < c.y.c; m++) {
            const int g = m / mg;
            for (int oh = 0; oh < c.y.h; oh++)
                for (int ow = 0; ow < c.y.w; ow++) {
                    float acc = 0;
                    for (int ci = 0; ci < cg; ci++) {
                        const float *xc = &x[((size_t)n * c.x.c + (size_t)g * cg + ci) * plane];
                        const float *wc = &w[((size_t)m * cg + ci) * KH * KW];
                        for (int kh = 0; kh < KH; kh++) {
                            const int ih = oh * c.cv.u - c.cv.pad_h + kh * c.cv.dil_h;
                            if (ih < 0 || ih >= c.x.h) continue;
                            for (int kw = 0; kw < KW; kw++) {
                                const int iw = ow * c.cv.v - c.cv.pad_w + kw * c.cv.dil_w;
                                if (iw >= 0 && iw < c.x.w) acc += xc[(int64_t)ih * c.x.w + iw] * wc[kh * KW + kw];
                            }
                        }
                    }
                    const int64_t yi = ((int64_t)n * c.y.c + m) * oplane + (int64_t)oh * c.y.w + ow;
                    double v = c.alpha * acc;
                    if (c.fused) {
                        if (c.beta != 0) v += c.beta * load_elem(c.zp, yi, t);
                        v += load_elem(c.bp, m, t);
                        if (c.relu) v = v > 0 ? v : (v != v ? v : 0);
                    } else if (c.beta != 0) {
                        v += c.beta * load_elem(c.yp, yi, t);
                    }
                    store_elem(c.yp, yi, t, v);
                }
        }
    return cudaSuccess;
}

cudnnStatus_t dnn_enqueue(cudnnHandle_t h, const char *call, const dnn_call &c) {
    size_t es = type_size(dnn_type(c.x.type));
    size_t xb = (size_t)c.x.n * c.x.c * c.x.h * c.x.w * es, wb = (size_t)c.w.k * c.w.c * c.w.h * c.w.w * es;
    size_t yb = (size_t)c.y.n * c.y.c * c.y.h * c.y.w * es;
    if (!dnn_memory_ok(call, "x", c.xp, xb) || !dnn_memory_ok(call, "w", c.wp, wb) || !dnn_memory_ok(call, "y", c.yp, yb) ||
        (c.fused && c.beta != 0 && !dnn_memory_ok(call, "z", c.zp, yb)) ||
        (c.fused && !dnn_memory_ok(call, "bias", c.bp, (size_t)c.y.c * es)))
        return CUDNN_STATUS_BAD_PARAM;
    dnn_call copy = c;
    cudaError_t e = zn_emu::enqueue(h->stream, [copy]() { return dnn_run(copy); }, call);
    return e == cudaSuccess ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

} // namespace

extern "C" {

cudnnStatus_t cudnnCreate(cudnnHandle_t *h) {
    *h = new cudnnContext{nullptr};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t h) {
    delete h;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) {
    h->stream = s;
    return CUDNN_STATUS_SUCCESS;
}

const char *cudnnGetErrorString(cudnnStatus_t s) {
    switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    default: return "CUDNN_STATUS_INTERNAL_ERROR";
    }
}

#define DNN_CREATE_DESTROY(Name, Struct)                                         \
    cudnnStatus_t cudnnCreate##Name##Descriptor(Struct **d) {                    \
        *d = new Struct();                                                       \
        return CUDNN_STATUS_SUCCESS;                                             \
    }                                                                            \
    cudnnStatus_t cudnnDestroy##Name##Descriptor(Struct *d) {                    \
        delete d;                                                                \
        return CUDNN_STATUS_SUCCESS;                                             \
    }
DNN_CREATE_DESTROY(Tensor, cudnnTensorStruct)
DNN_CREATE_DESTROY(Filter, cudnnFilterStruct)
DNN_CREATE_DESTROY(Convolution, cudnnConvolutionStruct)
DNN_CREATE_DESTROY(Activation, cudnnActivationStruct)

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format, cudnnDataType_t type,
                                         int n, int c, int h, int w) {
    if (format != CUDNN_TENSOR_NCHW) return CUDNN_STATUS_NOT_SUPPORTED;
    if (n < 1 || c < 1 || h < 1 || w < 1 || !dnn_type_ok(type)) return CUDNN_STATUS_BAD_PARAM;
    *d = cudnnTensorStruct{type, n, c, h, w, true};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) {
    if (format != CUDNN_TENSOR_NCHW) return CUDNN_STATUS_NOT_SUPPORTED;
    if (k < 1 || c < 1 || h < 1 || w < 1 || !dnn_type_ok(type)) return CUDNN_STATUS_BAD_PARAM;
    *d = cudnnFilterStruct{type, k, c, h, w, true};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dil_h, int dil_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute) {
    if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h < 1 || dil_w < 1) return CUDNN_STATUS_BAD_PARAM;
    if (compute != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    int groups = d->set ? d->groups : 1;
    cudnnMathType_t math = d->set ? d->math : CUDNN_DEFAULT_MATH;
    *d = cudnnConvolutionStruct{pad_h, pad_w, u, v, dil_h, dil_w, groups, mode, math, true};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups) {
    if (groups < 1) return CUDNN_STATUS_BAD_PARAM;
    d->groups = groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t math) {
    d->math = math;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t d, cudnnActivationMode_t mode,
                                           cudnnNanPropagation_t nan, double coef) {
    (void)nan, (void)coef;
    d->mode = mode;
    d->set = true;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cv,
                                                    const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
                                                    int *n, int *c, int *h, int *wd) {
    return dnn_out_dims(cv, x, w, n, c, h, wd) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t h, int *count) {
    (void)h;
    *count = 8;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t w,
                                                     const cudnnConvolutionDescriptor_t cv,
                                                     const cudnnTensorDescriptor_t y, const int requested, int *returned,
                                                     cudnnConvolutionFwdAlgoPerf_t *perf) {
    (void)h;
    *returned = 0;
    int on, oc, oh, ow;
    if (!dnn_out_dims(cv, x, w, &on, &oc, &oh, &ow) || !y || !y->set) return CUDNN_STATUS_BAD_PARAM;
    /* FFT first (conv.cu skips it); the implicit GEMMs in an order that alternates with the filter
     * count, so both of conv.cu's paths run; then GEMM */
    if (libs_off()) return CUDNN_STATUS_SUCCESS;
    bool precomp_first = (w->k / 8) % 2 == 0;
    const cudnnConvolutionFwdAlgo_t order[4] = {
        CUDNN_CONVOLUTION_FWD_ALGO_FFT,
        precomp_first ? CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
        precomp_first ? CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
        CUDNN_CONVOLUTION_FWD_ALGO_GEMM};
    for (int i = 0; i < 4 && i < requested; i++) {
        memset(&perf[i], 0, sizeof perf[i]);
        perf[i].algo = order[i];
        perf[i].status = CUDNN_STATUS_SUCCESS;
        perf[i].time = (float)(i + 1);
        perf[i].memory = order[i] == CUDNN_CONVOLUTION_FWD_ALGO_FFT ? (size_t)1 << 24 : dnn_workspace(x, w, y, order[i]);
        perf[i].determinism = CUDNN_DETERMINISTIC;
        perf[i].mathType = cv->math;
        (*returned)++;
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                      const cudnnFilterDescriptor_t w,
                                                      const cudnnConvolutionDescriptor_t cv,
                                                      const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      size_t *bytes) {
    (void)h, (void)cv;
    *bytes = algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT ? (size_t)1 << 24 : dnn_workspace(x, w, y, algo);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd,
                                      const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cv, cudnnConvolutionFwdAlgo_t algo, void *ws,
                                      size_t ws_bytes, const void *beta, const cudnnTensorDescriptor_t yd, void *y) {
    cudnnStatus_t s = dnn_check("cudnnConvolutionForward", xd, wd, cv, yd, algo, ws_bytes, ws);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    dnn_call c{*xd, *yd, *wd, *cv, x, w, nullptr, nullptr, y, ws, ws_bytes, *(const float *)alpha, *(const float *)beta,
               false, false};
    return dnn_enqueue(h, "cudnnConvolutionForward", c);
}

cudnnStatus_t cudnnConvolutionBiasActivationForward(
    cudnnHandle_t h, const void *alpha1, const cudnnTensorDescriptor_t xd, const void *x, const cudnnFilterDescriptor_t wd,
    const void *w, const cudnnConvolutionDescriptor_t cv, cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes,
    const void *alpha2, const cudnnTensorDescriptor_t zd, const void *z, const cudnnTensorDescriptor_t bd,
    const void *bias, const cudnnActivationDescriptor_t act, const cudnnTensorDescriptor_t yd, void *y) {
    static const char *const call = "cudnnConvolutionBiasActivationForward";
    cudnnStatus_t s = dnn_check(call, xd, wd, cv, yd, algo, ws_bytes, ws);
    if (s != CUDNN_STATUS_SUCCESS) return s;
    if (!act || !act->set || (act->mode != CUDNN_ACTIVATION_RELU && act->mode != CUDNN_ACTIVATION_IDENTITY))
        return CUDNN_STATUS_NOT_SUPPORTED;
    if (act->mode == CUDNN_ACTIVATION_IDENTITY && algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return CUDNN_STATUS_NOT_SUPPORTED; /* as documented for cuDNN */
    if (!zd || !zd->set || zd->n != yd->n || zd->c != yd->c || zd->h != yd->h || zd->w != yd->w || zd->type != yd->type) {
        report("%s: z's descriptor differs from y's", call);
        return CUDNN_STATUS_BAD_PARAM;
    }
    if (!bd || !bd->set || bd->n != 1 || bd->c != yd->c || bd->h != 1 || bd->w != 1 || bd->type != yd->type) {
        report("%s: the bias descriptor is not (1, %d, 1, 1) of y's type", call, yd->c);
        return CUDNN_STATUS_BAD_PARAM;
    }
    dnn_call c{*xd, *yd, *wd, *cv, x, w, z, bias, y, ws, ws_bytes, *(const float *)alpha1, *(const float *)alpha2,
               true, act->mode == CUDNN_ACTIVATION_RELU};
    return dnn_enqueue(h, call, c);
}

/* ==================================== CUPTI ==================================== */

static const CUptiResult CUPTI_ABSENT = CUPTI_ERROR_NOT_INITIALIZED;

CUptiResult cuptiGetResultString(CUptiResult r, const char **str) {
    *str = r == CUPTI_SUCCESS ? "CUPTI_SUCCESS" : "CUPTI_ERROR_NOT_INITIALIZED (no CUPTI in the CUDA emulation)";
    return CUPTI_SUCCESS;
}
CUptiResult cuptiSubscribe_v2(CUpti_SubscriberHandle *sub, CUpti_CallbackFunc cb, void *user,
                              CUpti_SubscriberParams *params) {
    (void)cb, (void)user, (void)params;
    *sub = nullptr;
    return CUPTI_ABSENT;
}
CUptiResult cuptiUnsubscribe(CUpti_SubscriberHandle sub) {
    (void)sub;
    return CUPTI_ABSENT;
}
CUptiResult cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle sub, CUpti_CallbackDomain domain,
                                CUpti_CallbackId cbid) {
    (void)enable, (void)sub, (void)domain, (void)cbid;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc req, CUpti_BuffersCallbackCompleteFunc done) {
    (void)req, (void)done;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityEnable(CUpti_ActivityKind kind) {
    (void)kind;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityDisable(CUpti_ActivityKind kind) {
    (void)kind;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityEnableDriverApi(CUpti_CallbackId cbid, uint8_t enable) {
    (void)cbid, (void)enable;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityFlushAll(uint32_t flag) {
    (void)flag;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityGetNextRecord(uint8_t *buffer, size_t valid, CUpti_Activity **record) {
    (void)buffer, (void)valid;
    *record = nullptr;
    return CUPTI_ERROR_MAX_LIMIT_REACHED;
}
CUptiResult cuptiActivityGetNumDroppedRecords(CUcontext ctx, uint32_t stream, size_t *dropped) {
    (void)ctx, (void)stream;
    *dropped = 0;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityPushExternalCorrelationId(CUpti_ExternalCorrelationKind kind, uint64_t id) {
    (void)kind, (void)id;
    return CUPTI_ABSENT;
}
CUptiResult cuptiActivityPopExternalCorrelationId(CUpti_ExternalCorrelationKind kind, uint64_t *last) {
    (void)kind;
    *last = 0;
    return CUPTI_ABSENT;
}
CUptiResult cuptiGetGraphNodeId(CUgraphNode node, uint64_t *id) {
    (void)node;
    *id = 0;
    return CUPTI_ABSENT;
}

} /* extern "C" */
