/* dataset.h — reference data in the ONNX model-zoo layout: a folder test_data_set_N holding
 * input_K.pb / output_K.pb (serialized TensorProto) or input_K.npy / output_K.npy, K from 0
 * in the order of the graph's inputs and outputs. */
#ifndef ZN_DATASET_H
#define ZN_DATASET_H

#include "engine/tensor_io.h"

#define ZN_DATASET_MAX_TENSORS 64

typedef struct zn_dataset {
    char dir[1024];
    int n_inputs, n_outputs;
    zn_tensor_file inputs[ZN_DATASET_MAX_TENSORS];
    zn_tensor_file outputs[ZN_DATASET_MAX_TENSORS];
} zn_dataset;

/* Loads one test_data_set folder (.pb preferred, .npy otherwise). ZN_ERR_NOT_FOUND when it
 * holds no input_0. */
zn_status zn_dataset_load(const char *dir, zn_dataset *out);
void zn_dataset_free(zn_dataset *d);

/* Finds data-set folders: `dir` itself when it holds input_0.*, else its test_data_set_*
 * subfolders in numeric order. Writes up to cap malloc'd paths; returns the count. */
int zn_dataset_find(const char *dir, char **paths, int cap);

/* A zn_view over a loaded tensor. */
zn_view zn_tensor_file_view(const zn_tensor_file *t);

#endif
