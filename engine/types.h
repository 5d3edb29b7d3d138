/* types.h — the small value types every Zenith module shares: status codes, dtypes, shapes,
 * the op enum (generated from ops.def), attributes and tensor views.
 *
 * This header is a leaf: it includes only the C library, so kernels/ can use it without
 * depending on the graph or the compiler. It is not the public API (that is zenith.h, which
 * includes this file).
 */
#ifndef ZN_TYPES_H
#define ZN_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZN_MAX_RANK 8
#define ZN_MAX_NAME 128

/* ---- status ----------------------------------------------------------------------------- */

typedef enum zn_status {
    ZN_OK = 0,
    ZN_ERR_INVALID_ARGUMENT, /* a caller passed something malformed */
    ZN_ERR_INVALID_GRAPH,    /* graph validation failed (dangling input, cycle, arity, ...) */
    ZN_ERR_SHAPE,            /* shapes or dtypes do not fit the op */
    ZN_ERR_UNSUPPORTED,      /* op, dtype or attribute that no kernel handles */
    ZN_ERR_MODEL_FORMAT,     /* a model file that cannot be parsed */
    ZN_ERR_IO,               /* a file could not be read or written */
    ZN_ERR_OUT_OF_MEMORY,
    ZN_ERR_NOT_FOUND,        /* a named thing (model, tensor, symbol) does not exist */
    ZN_ERR_NO_DEVICE,        /* a backend that needs a device found none */
    ZN_ERR_RUNTIME,          /* a kernel failed while running */
    ZN_ERR_INTERRUPTED,
    ZN_STATUS_COUNT
} zn_status;

/* ---- dtypes ----------------------------------------------------------------------------- */

/* Values match ONNX TensorProto.DataType so the importer and Cast's `to` map directly. */
typedef enum zn_dtype {
    ZN_DTYPE_UNDEFINED = 0,
    ZN_F32 = 1,
    ZN_BOOL = 9,
    ZN_I32 = 6,
    ZN_I64 = 7,
    ZN_F16 = 10,
    ZN_BF16 = 16,
} zn_dtype;

size_t zn_dtype_size(zn_dtype t);          /* bytes per element; 0 for undefined */
const char *zn_dtype_name(zn_dtype t);     /* "f32", "i64", ... ; "?" for undefined */
bool zn_dtype_valid(zn_dtype t);
bool zn_dtype_is_float(zn_dtype t);

/* f16 and bf16 conversions (round to nearest even), used by Cast and precision lowering. */
uint16_t zn_f32_to_f16(float f);
float zn_f16_to_f32(uint16_t h);
uint16_t zn_f32_to_bf16(float f);
float zn_bf16_to_f32(uint16_t h);

/* ---- shapes ----------------------------------------------------------------------------- */

/* A dim is concrete (value >= 0) or symbolic (value < 0, sym = index into the graph's symbol
 * table, e.g. "batch"), or unknown (value < 0, sym < 0). */
typedef struct zn_dim {
    int64_t value;
    int sym;
} zn_dim;

typedef struct zn_shape {
    int rank;
    zn_dim dims[ZN_MAX_RANK];
} zn_shape;

bool zn_shape_is_concrete(const zn_shape *s);
int64_t zn_shape_numel(const zn_shape *s);   /* -1 when not concrete */
zn_shape zn_shape_make(int rank, const int64_t *dims);

/* ---- ops -------------------------------------------------------------------------------- */

typedef enum zn_op {
#define ZN_OP(e, name, min_in, max_in, min_out, max_out, schema) ZN_OP_##e,
#include "ops.def"
#undef ZN_OP
    ZN_OP_COUNT
} zn_op;

typedef struct zn_op_info {
    const char *name;
    int min_inputs, max_inputs, min_outputs, max_outputs;
    const char *attr_schema;
} zn_op_info;

const zn_op_info *zn_op_get_info(zn_op op);
const char *zn_op_name(zn_op op);
/* Op by name (exact); -1 when none. */
int zn_op_from_name(const char *name);
/* The op whose name is nearest to `name` (case-insensitive edit distance), for "did you mean". */
const char *zn_op_nearest_name(const char *name);

/* ---- attributes ------------------------------------------------------------------------- */

typedef enum zn_attr_type {
    ZN_ATTR_INT,
    ZN_ATTR_FLOAT,
    ZN_ATTR_STRING,
    ZN_ATTR_INTS,
    ZN_ATTR_FLOATS,
    ZN_ATTR_TENSOR,
} zn_attr_type;

/* A tensor held by an attribute (Constant's value, ConstantOfShape's value). Owns `data`. */
typedef struct zn_attr_tensor {
    zn_dtype dtype;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    void *data;
} zn_attr_tensor;

typedef struct zn_attr {
    char *name;
    zn_attr_type type;
    int64_t i;
    float f;
    char *s;
    int n;              /* element count of ints / floats */
    int64_t *ints;
    float *floats;
    zn_attr_tensor *t;
} zn_attr;

/* Attribute look-ups with the default used when the attribute is absent. */
const zn_attr *zn_attrs_find(const zn_attr *attrs, int n, const char *name);
int64_t zn_attrs_int(const zn_attr *attrs, int n, const char *name, int64_t dflt);
float zn_attrs_float(const zn_attr *attrs, int n, const char *name, float dflt);
const char *zn_attrs_string(const zn_attr *attrs, int n, const char *name, const char *dflt);
/* Copies up to `cap` ints into out; returns the count present, or -1 when absent. */
int zn_attrs_ints(const zn_attr *attrs, int n, const char *name, int64_t *out, int cap);

/* ---- backends -------------------------------------------------------------------------- */

typedef enum zn_backend {
    ZN_BACKEND_AUTO = 0, /* CUDA when built and a device is present, else CPU */
    ZN_BACKEND_CPU,
    ZN_BACKEND_CUDA,
} zn_backend;

const char *zn_backend_name(zn_backend b);

/* ---- tensor views ----------------------------------------------------------------------- */

/* A dense, row-major tensor in memory. Kernels receive and fill these. */
typedef struct zn_view {
    zn_dtype dtype;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    void *data;
} zn_view;

int64_t zn_view_numel(const zn_view *v);
size_t zn_view_bytes(const zn_view *v);

#ifdef __cplusplus
}
#endif

#endif
