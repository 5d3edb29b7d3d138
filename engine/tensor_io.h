/* tensor_io.h — tensors in files: serialized ONNX TensorProto (.pb, the model-zoo
 * test_data_set_N/input_K.pb layout) and NumPy .npy, read into dense malloc'd buffers, and
 * written back (reference data, tests).
 *
 * Also the TensorProto decoder the ONNX importer uses for initializers and attribute tensors
 * (raw_data, the typed fields, external data files). It is not a model loader (onnx.h) and
 * knows nothing about graphs.
 */
#ifndef ZN_TENSOR_IO_H
#define ZN_TENSOR_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "pb.h"

typedef struct zn_tensor_file {
    char name[128];      /* truncated if longer */
    zn_dtype dtype;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    void *data;          /* malloc'd, dense row-major; free with zn_tensor_file_free */
} zn_tensor_file;

/* Largest dim accepted anywhere (2^40). */
#define ZN_TENSOR_MAX_DIM ((int64_t)1 << 40)

zn_status zn_tensor_read_pb(const char *path, zn_tensor_file *out);
zn_status zn_tensor_read_npy(const char *path, zn_tensor_file *out);
zn_status zn_tensor_write_pb(const char *path, const zn_tensor_file *t);
zn_status zn_tensor_write_npy(const char *path, const zn_tensor_file *t);
void zn_tensor_file_free(zn_tensor_file *t);
/* Elements and bytes of t (dims are trusted: they come from a reader or the caller). */
int64_t zn_tensor_file_numel(const zn_tensor_file *t);
size_t zn_tensor_file_bytes(const zn_tensor_file *t);

/* The ONNX TensorProto.DataType name ("FLOAT", "DOUBLE", "UINT8", ...), "?" if unknown. */
const char *zn_onnx_dtype_name(int onnx_dtype);

typedef struct zn_tensor_decode_info {
    char *name;          /* full name, malloc'd (NULL if the caller did not ask) */
    int onnx_dtype;      /* the dtype in the file (DOUBLE when converted to f32) */
    bool converted;      /* DOUBLE data converted to f32 */
    bool external;       /* data came from an external file */
} zn_tensor_decode_info;

/* Decodes one TensorProto message (`msg` is a reader over exactly its bytes). External data
 * (data_location = EXTERNAL) is read from base_dir/location; base_dir NULL makes it an error.
 * `what` names the tensor's role for messages ("initializer", "attribute 'value'").
 * info may be NULL. On error `out` holds nothing to free. */
zn_status zn_tensor_decode(const zn_pb *msg, const char *base_dir, const char *what,
                           zn_tensor_file *out, zn_tensor_decode_info *info);

/* Reads a whole file into a malloc'd buffer; ZN_ERR_IO when it is missing or unreadable,
 * ZN_ERR_INVALID_ARGUMENT when it is larger than max_bytes (> 0). */
zn_status zn_file_read_all(const char *path, int64_t max_bytes, void **buf, size_t *len);

#endif
