/* alloc.c — counting allocator: bytes in use and the peak, for compile summaries and reports.
 *
 * Each block carries a 16-byte header just before the user pointer: the requested size and
 * the distance back to the raw malloc'd pointer (so aligned and plain blocks free alike). */
#include "alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zenith.h"

typedef struct block_header {
    size_t size;
    size_t offset; /* user pointer - raw pointer */
} block_header;

static atomic_size_t bytes_in_use;
static atomic_size_t bytes_peak;

static void count_add(size_t n) {
    size_t now = atomic_fetch_add(&bytes_in_use, n) + n;
    size_t peak = atomic_load(&bytes_peak);
    while (now > peak && !atomic_compare_exchange_weak(&bytes_peak, &peak, now)) {
    }
}

static void *alloc_aligned(size_t size, size_t align) {
    if (size > SIZE_MAX - align - sizeof(block_header)) return NULL;
    unsigned char *raw = malloc(size + align + sizeof(block_header));
    if (!raw) return NULL;
    uintptr_t user = ((uintptr_t)raw + sizeof(block_header) + align - 1) & ~(uintptr_t)(align - 1);
    block_header *h = (block_header *)user - 1;
    h->size = size;
    h->offset = (size_t)(user - (uintptr_t)raw);
    count_add(size);
    return (void *)user;
}

void *zn_malloc(size_t size) { return alloc_aligned(size, 16); }

void *zn_aligned_alloc(size_t size) { return alloc_aligned(size, 64); }

void *zn_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = zn_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void zn_free(void *p) {
    if (!p) return;
    block_header *h = (block_header *)p - 1;
    atomic_fetch_sub(&bytes_in_use, h->size);
    free((unsigned char *)p - h->offset);
}

void *zn_realloc(void *p, size_t size) {
    if (!p) return zn_malloc(size);
    block_header *h = (block_header *)p - 1;
    void *q = zn_malloc(size);
    if (!q) return NULL;
    memcpy(q, p, h->size < size ? h->size : size);
    zn_free(p);
    return q;
}

char *zn_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = zn_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

size_t zn_memory_in_use(void) { return atomic_load(&bytes_in_use); }
size_t zn_memory_peak(void) { return atomic_load(&bytes_peak); }
