/* strbuf.h — a growable string the report renderers print into (markdown, MLPerf summary,
 * Prometheus text, compare and sweep reports). An allocation failure is sticky: later prints do
 * nothing and the caller checks `oom` once at the end. */
#ifndef ZN_STRBUF_H
#define ZN_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct zn_sb {
    char *s;        /* NUL-terminated once anything was printed; the caller frees it */
    size_t len, cap;
    bool oom;
} zn_sb;

void zn_sb_printf(zn_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
