/* error.h — zn_status plus a thread-local detail record (message, context, suggestions).
 *
 * Fallible calls set the detail with zn_error_set() and return its status; callers add context
 * as the error climbs (the node it happened in, the file offset). The app turns the record into
 * `error:` / `hint:` lines. Nothing here prints. */
#ifndef ZN_ERROR_H
#define ZN_ERROR_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZN_ERROR_MSG 512
#define ZN_ERROR_HINT 512

typedef struct zn_error {
    zn_status status;
    char message[ZN_ERROR_MSG];
    char node[ZN_MAX_NAME];   /* node name, when the error is about one */
    char op[64];              /* its op type */
    char shapes[256];         /* input shapes and dtypes, as "x: f32[1,3,224,224], ..." */
    char hint[ZN_ERROR_HINT]; /* suggestions: "pass --shape input_ids:1x128" */
} zn_error;

/* Replaces the detail record; returns status so callers can `return zn_error_set(...)`. */
zn_status zn_error_set(zn_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds the node context (first call wins, so the innermost node is kept). */
void zn_error_set_node(const char *node, const char *op, const char *shapes);
/* Appends a suggestion to the hint ("; " separated). */
void zn_error_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefixes the message with context: "loading model.onnx: <old message>". */
void zn_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const zn_error *zn_last_error(void);
void zn_error_clear(void);
const char *zn_status_name(zn_status s);

/* Programmer errors only: aborts with file:line. Bad input is never a ZN_ASSERT. */
#define ZN_ASSERT(cond) \
    ((cond) ? (void)0 : zn_assert_fail(#cond, __FILE__, __LINE__))
void zn_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif
