/* samples.h — sample sets: the inputs a benchmark feeds the model, one zn_view per plan input
 * per sample. Synthetic sets are seeded (same seed, same inputs) and respect each input's
 * value range: token ids stay inside the embedding table they index, masks are 1, float
 * inputs are uniform in [-1, 1). Loaded sets come from ONNX test_data_set_N folders. */
#ifndef ZN_SAMPLES_H
#define ZN_SAMPLES_H

#include "engine/zenith.h"

typedef struct zn_sample_set zn_sample_set;

/* The value range synthetic data uses for a plan input: integers in [lo, hi), floats in
 * [lo, hi). `why` says where the range came from ("indices of embeddings.word (30522 rows)"). */
typedef struct zn_value_range {
    double lo, hi;
    char why[96];
} zn_value_range;
zn_value_range zn_input_value_range(const zn_plan *plan, int input);

zn_status zn_samples_synthetic(const zn_plan *plan, int count, uint64_t seed, zn_sample_set **out);
/* Adds one sample whose inputs are copied from `inputs` (one view per plan input). */
zn_status zn_samples_add(zn_sample_set *set, const zn_view *inputs);
/* An empty set for a plan, to fill with zn_samples_add. */
zn_status zn_samples_new(const zn_plan *plan, zn_sample_set **out);
int zn_samples_count(const zn_sample_set *set);
int zn_samples_num_inputs(const zn_sample_set *set);
/* The inputs of sample `index` (modulo the set's size): an array of zn_samples_num_inputs views. */
const zn_view *zn_samples_get(const zn_sample_set *set, int64_t index);
void zn_samples_free(zn_sample_set *set);

#endif
