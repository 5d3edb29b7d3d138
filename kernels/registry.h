/* registry.h — the kernel registry: every backend's kernel tables and the capability queries
 * the compiler uses to choose a kernel per node. */
#ifndef ZN_REGISTRY_H
#define ZN_REGISTRY_H

#include "kernel.h"

/* Kernels for `node` on `backend` whose supports() accepts it, highest priority first.
 * Returns the number found (at most cap are written). */
int zn_registry_query(const zn_kernel_node *node, zn_backend backend,
                      const zn_kernel_spec **out, int cap);

/* The reference CPU kernel of an op (ground truth; fallback of last resort). NULL if none. */
const zn_kernel_spec *zn_registry_reference(zn_op op);

/* Whether any kernel of `backend` is registered for `op` (shape-independent). */
bool zn_registry_has_op(zn_op op, zn_backend backend);

/* Whole tables, for listing and tests. */
int zn_registry_count(void);
const zn_kernel_spec *zn_registry_at(int i);

#endif
