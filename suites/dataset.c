/* dataset.c — model-zoo test_data_set folders. */
#include "dataset.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads <dir>/<stem>_<k>.pb or .npy; ZN_ERR_NOT_FOUND when neither exists. */
static zn_status read_one(const char *dir, const char *stem, int k, zn_tensor_file *t) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s_%d.pb", dir, stem, k);
    if (file_exists(path)) return zn_tensor_read_pb(path, t);
    snprintf(path, sizeof path, "%s/%s_%d.npy", dir, stem, k);
    if (file_exists(path)) return zn_tensor_read_npy(path, t);
    return ZN_ERR_NOT_FOUND;
}

zn_status zn_dataset_load(const char *dir, zn_dataset *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    zn_status st;
    for (int k = 0; k < ZN_DATASET_MAX_TENSORS; k++) {
        st = read_one(dir, "input", k, &d->inputs[k]);
        if (st == ZN_ERR_NOT_FOUND) break;
        if (st != ZN_OK) goto fail;
        d->n_inputs++;
    }
    for (int k = 0; k < ZN_DATASET_MAX_TENSORS; k++) {
        st = read_one(dir, "output", k, &d->outputs[k]);
        if (st == ZN_ERR_NOT_FOUND) break;
        if (st != ZN_OK) goto fail;
        d->n_outputs++;
    }
    if (d->n_inputs == 0) {
        zn_error_set(ZN_ERR_NOT_FOUND, "%s holds no input_0.pb or input_0.npy", dir);
        zn_error_hint("a data set folder holds input_K.pb and output_K.pb (ONNX model-zoo layout)");
        return ZN_ERR_NOT_FOUND;
    }
    return ZN_OK;
fail:
    zn_error_prefix("data set %s", dir);
    zn_dataset_free(d);
    return st;
}

void zn_dataset_free(zn_dataset *d) {
    for (int k = 0; k < d->n_inputs; k++) zn_tensor_file_free(&d->inputs[k]);
    for (int k = 0; k < d->n_outputs; k++) zn_tensor_file_free(&d->outputs[k]);
    d->n_inputs = d->n_outputs = 0;
}

static int by_set_number(const void *a, const void *b) {
    const char *x = strrchr(*(char *const *)a, '_'), *y = strrchr(*(char *const *)b, '_');
    return atoi(x ? x + 1 : "0") - atoi(y ? y + 1 : "0");
}

int zn_dataset_find(const char *dir, char **paths, int cap) {
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/input_0.pb", dir);
    bool direct = file_exists(probe);
    snprintf(probe, sizeof probe, "%s/input_0.npy", dir);
    direct |= file_exists(probe);
    if (direct) {
        if (cap < 1) return 0;
        paths[0] = strdup(dir);
        return paths[0] ? 1 : 0;
    }
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < cap) {
        if (strncmp(e->d_name, "test_data_set_", 14) != 0) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        paths[n] = malloc(len);
        if (!paths[n]) break;
        snprintf(paths[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(dp);
    qsort(paths, (size_t)n, sizeof *paths, by_set_number);
    return n;
}

zn_view zn_tensor_file_view(const zn_tensor_file *t) {
    zn_view v;
    memset(&v, 0, sizeof v);
    v.dtype = t->dtype;
    v.rank = t->rank;
    memcpy(v.dims, t->dims, sizeof v.dims);
    v.data = t->data;
    return v;
}
