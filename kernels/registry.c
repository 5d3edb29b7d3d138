/* registry.c — every backend's kernel tables in one list, and the capability queries. */
#include "registry.h"

#include "cpu/cpu_tables.h"
#include "cpu/fast_tables.h"
#ifdef ZN_WITH_CUDA
#include "cuda/cuda_tables.h"
#endif

static const zn_kernel_table *const tables[] = {
    &zn_ref_elementwise_table, &zn_ref_reduce_table, &zn_ref_norm_table,
    &zn_ref_linalg_table,      &zn_ref_conv_table,   &zn_ref_shape_table,
    &zn_ref_fused_table,
    &zn_fast_linalg_table, &zn_fast_conv_table, &zn_fast_elementwise_table,
#ifdef ZN_WITH_CUDA
    &zn_cuda_copy_table, &zn_cuda_conv_table, &zn_cuda_attention_table, &zn_cuda_norm_table,
    &zn_cuda_gemm_table, &zn_cuda_shape_table, &zn_cuda_elementwise_table, &zn_cuda_reduce_table,
#endif
};
#define N_TABLES ((int)(sizeof(tables) / sizeof(tables[0])))

int zn_registry_count(void) {
    int n = 0;
    for (int t = 0; t < N_TABLES; t++) n += tables[t]->count;
    return n;
}

const zn_kernel_spec *zn_registry_at(int i) {
    for (int t = 0; t < N_TABLES; t++) {
        if (i < tables[t]->count) return &tables[t]->specs[i];
        i -= tables[t]->count;
    }
    return NULL;
}

int zn_registry_query(const zn_kernel_node *node, zn_backend backend, const zn_kernel_spec **out,
                      int cap) {
    int n = 0;
    for (int t = 0; t < N_TABLES; t++) {
        for (int i = 0; i < tables[t]->count; i++) {
            const zn_kernel_spec *k = &tables[t]->specs[i];
            if (k->op != node->op || k->backend != backend) continue;
            if (k->supports && !k->supports(node)) continue;
            /* insertion by priority, highest first; ties keep table order */
            int pos = n < cap ? n : cap;
            while (pos > 0 && out[pos - 1]->priority < k->priority) {
                if (pos < cap) out[pos] = out[pos - 1];
                pos--;
            }
            if (pos < cap) out[pos] = k;
            n++;
        }
    }
    return n;
}

const zn_kernel_spec *zn_registry_reference(zn_op op) {
    for (int t = 0; t < N_TABLES; t++)
        for (int i = 0; i < tables[t]->count; i++) {
            const zn_kernel_spec *k = &tables[t]->specs[i];
            if (k->op == op && k->backend == ZN_BACKEND_CPU && k->priority == 0) return k;
        }
    return NULL;
}

bool zn_registry_has_op(zn_op op, zn_backend backend) {
    for (int t = 0; t < N_TABLES; t++)
        for (int i = 0; i < tables[t]->count; i++)
            if (tables[t]->specs[i].op == op && tables[t]->specs[i].backend == backend) return true;
    return false;
}
