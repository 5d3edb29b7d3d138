/* alloc.h — the counting allocator (redis zmalloc style): every engine allocation of real size
 * (weights, arenas, plans) goes through here so reports can show bytes in use and the peak. */
#ifndef ZN_ALLOC_H
#define ZN_ALLOC_H

#include <stddef.h>

void *zn_malloc(size_t size);
void *zn_calloc(size_t n, size_t size);
void *zn_realloc(void *p, size_t size);
/* 64-byte aligned (SIMD loads, cache lines); free with zn_free like the others. */
void *zn_aligned_alloc(size_t size);
void zn_free(void *p);
char *zn_strdup(const char *s);

#endif
