/* samples.c — synthetic and loaded sample sets. */
#include "samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/alloc.h"
#include "engine/graph.h"

struct zn_sample_set {
    int n_inputs;
    zn_io_info *info;
    int count, cap;
    zn_view *views; /* count * n_inputs, data owned */
};

/* Ops that pass values through unchanged, so an index input can reach its Gather via them. */
static bool passes_values(zn_op op) {
    return op == ZN_OP_CAST || op == ZN_OP_RESHAPE || op == ZN_OP_UNSQUEEZE || op == ZN_OP_SQUEEZE ||
           op == ZN_OP_FLATTEN || op == ZN_OP_IDENTITY || op == ZN_OP_EXPAND;
}

/* Smallest table size among Gathers that use tensor t (or a value-preserving descendant) as
 * indices; 0 when none. depth bounds the search. */
static int64_t gather_limit(const zn_graph *g, int t, int depth, char *why, size_t cap) {
    if (depth > 4) return 0;
    int64_t best = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] != t) continue;
            int64_t lim = 0;
            if (n->op == ZN_OP_GATHER && k == 1) {
                const zn_tensor *data = &g->tensors[n->inputs[0]];
                int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
                if (axis < 0) axis += data->shape.rank;
                if (axis >= 0 && axis < data->shape.rank) {
                    lim = data->shape.dims[axis].value;
                    if (why && (best == 0 || lim < best))
                        snprintf(why, cap, "indices into %s (%lld rows)", data->name, (long long)lim);
                }
            } else if (passes_values(n->op) && k == 0) {
                lim = gather_limit(g, n->outputs[0], depth + 1, why, cap);
            }
            if (lim > 0 && (best == 0 || lim < best)) best = lim;
        }
    }
    return best;
}

zn_value_range zn_input_value_range(const zn_plan *plan, int input) {
    const zn_graph *g = zn_plan_graph(plan);
    zn_io_info io = zn_plan_input(plan, input);
    zn_value_range r = {-1.0, 1.0, "uniform floats"};
    if (io.dtype == ZN_BOOL) {
        r.lo = 1; r.hi = 2;
        snprintf(r.why, sizeof r.why, "all true");
    } else if (!zn_dtype_is_float(io.dtype)) {
        char why[96] = "";
        int64_t lim = gather_limit(g, zn_graph_input(g, input), 0, why, sizeof why);
        if (strcasestr(io.name, "mask")) {
            r.lo = 1; r.hi = 2;
            snprintf(r.why, sizeof r.why, "attention mask: all ones");
        } else if (lim > 0) {
            r.lo = 0; r.hi = (double)lim;
            snprintf(r.why, sizeof r.why, "%s", why);
        } else {
            r.lo = 0; r.hi = 2;
            snprintf(r.why, sizeof r.why, "small non-negative integers (no table found)");
        }
    }
    return r;
}

zn_status zn_samples_new(const zn_plan *plan, zn_sample_set **out) {
    zn_sample_set *s = calloc(1, sizeof *s);
    if (!s) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for a sample set");
    s->n_inputs = zn_plan_num_inputs(plan);
    s->info = calloc((size_t)(s->n_inputs ? s->n_inputs : 1), sizeof *s->info);
    if (!s->info) {
        free(s);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for a sample set");
    }
    for (int i = 0; i < s->n_inputs; i++) s->info[i] = zn_plan_input(plan, i);
    *out = s;
    return ZN_OK;
}

zn_status zn_samples_add(zn_sample_set *s, const zn_view *inputs) {
    if (s->count == s->cap) {
        int nc = s->cap ? s->cap * 2 : 8;
        zn_view *v = realloc(s->views, sizeof(zn_view) * (size_t)nc * (size_t)(s->n_inputs ? s->n_inputs : 1));
        if (!v) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for samples");
        s->views = v;
        s->cap = nc;
    }
    zn_view *dst = &s->views[(size_t)s->count * (size_t)s->n_inputs];
    for (int i = 0; i < s->n_inputs; i++) {
        const zn_io_info *io = &s->info[i];
        bool ok = inputs[i].dtype == io->dtype && inputs[i].rank == io->rank;
        for (int d = 0; ok && d < io->rank; d++) ok = inputs[i].dims[d] == io->dims[d];
        if (!ok) {
            for (int k = 0; k < i; k++) zn_free(dst[k].data);
            return zn_error_set(ZN_ERR_SHAPE, "sample input %d '%s' does not match the model's dtype/shape", i, io->name);
        }
        dst[i] = inputs[i];
        size_t bytes = zn_view_bytes(&inputs[i]);
        dst[i].data = zn_aligned_alloc(bytes ? bytes : 1);
        if (!dst[i].data) {
            for (int k = 0; k < i; k++) zn_free(dst[k].data);
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for samples");
        }
        memcpy(dst[i].data, inputs[i].data, bytes);
    }
    s->count++;
    return ZN_OK;
}

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

zn_status zn_samples_synthetic(const zn_plan *plan, int count, uint64_t seed, zn_sample_set **out) {
    *out = NULL;
    zn_sample_set *s;
    zn_status st = zn_samples_new(plan, &s);
    if (st != ZN_OK) return st;
    zn_view *tmp = calloc((size_t)(s->n_inputs ? s->n_inputs : 1), sizeof *tmp);
    zn_value_range *ranges = calloc((size_t)(s->n_inputs ? s->n_inputs : 1), sizeof *ranges);
    if (!tmp || !ranges) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for samples");
        goto done;
    }
    for (int i = 0; i < s->n_inputs; i++) ranges[i] = zn_input_value_range(plan, i);
    uint64_t state = seed;
    for (int c = 0; c < count && st == ZN_OK; c++) {
        for (int i = 0; i < s->n_inputs; i++) {
            const zn_io_info *io = &s->info[i];
            tmp[i].dtype = io->dtype;
            tmp[i].rank = io->rank;
            memcpy(tmp[i].dims, io->dims, sizeof io->dims);
            int64_t n = zn_view_numel(&tmp[i]);
            tmp[i].data = malloc((size_t)n * zn_dtype_size(io->dtype) + 1);
            if (!tmp[i].data) {
                st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for samples");
                break;
            }
            double lo = ranges[i].lo, span = ranges[i].hi - ranges[i].lo;
            for (int64_t e = 0; e < n; e++) {
                double u = (double)(splitmix(&state) >> 11) * (1.0 / 9007199254740992.0);
                double v = lo + u * span;
                switch (io->dtype) {
                case ZN_F32: ((float *)tmp[i].data)[e] = (float)v; break;
                case ZN_F16: ((uint16_t *)tmp[i].data)[e] = zn_f32_to_f16((float)v); break;
                case ZN_BF16: ((uint16_t *)tmp[i].data)[e] = zn_f32_to_bf16((float)v); break;
                case ZN_I64: ((int64_t *)tmp[i].data)[e] = (int64_t)v; break;
                case ZN_I32: ((int32_t *)tmp[i].data)[e] = (int32_t)v; break;
                case ZN_BOOL: ((uint8_t *)tmp[i].data)[e] = (uint8_t)((int64_t)v != 0); break;
                default: break;
                }
            }
        }
        if (st == ZN_OK) st = zn_samples_add(s, tmp);
        for (int i = 0; i < s->n_inputs; i++) {
            free(tmp[i].data);
            tmp[i].data = NULL;
        }
    }
done:
    free(tmp);
    free(ranges);
    if (st != ZN_OK) {
        zn_samples_free(s);
        return st;
    }
    *out = s;
    return ZN_OK;
}

int zn_samples_count(const zn_sample_set *s) { return s->count; }
int zn_samples_num_inputs(const zn_sample_set *s) { return s->n_inputs; }

const zn_view *zn_samples_get(const zn_sample_set *s, int64_t index) {
    if (s->count == 0) return NULL;
    return &s->views[(size_t)(index % s->count) * (size_t)s->n_inputs];
}

void zn_samples_free(zn_sample_set *s) {
    if (!s) return;
    for (int i = 0; i < s->count * s->n_inputs; i++) zn_free(s->views[i].data);
    free(s->views);
    free(s->info);
    free(s);
}
