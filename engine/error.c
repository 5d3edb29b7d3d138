/* error.c — the thread-local error detail record behind zn_status. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local zn_error last_error;

zn_status zn_error_set(zn_status status, const char *fmt, ...) {
    memset(&last_error, 0, sizeof last_error);
    last_error.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof last_error.message, fmt, ap);
    va_end(ap);
    return status;
}

void zn_error_set_node(const char *node, const char *op, const char *shapes) {
    if (last_error.node[0] || last_error.op[0]) return;
    if (node) snprintf(last_error.node, sizeof last_error.node, "%s", node);
    if (op) snprintf(last_error.op, sizeof last_error.op, "%s", op);
    if (shapes) snprintf(last_error.shapes, sizeof last_error.shapes, "%s", shapes);
}

void zn_error_hint(const char *fmt, ...) {
    size_t len = strlen(last_error.hint);
    if (len + 3 >= sizeof last_error.hint) return;
    if (len) {
        memcpy(last_error.hint + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error.hint + len, sizeof last_error.hint - len, fmt, ap);
    va_end(ap);
}

void zn_error_prefix(const char *fmt, ...) {
    char prefix[ZN_ERROR_MSG], old[ZN_ERROR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error.message, sizeof old);
    size_t lp = strnlen(prefix, sizeof prefix - 3);
    memcpy(last_error.message, prefix, lp);
    memcpy(last_error.message + lp, ": ", 2);
    size_t room = sizeof last_error.message - lp - 3;
    size_t lo = strnlen(old, room);
    memcpy(last_error.message + lp + 2, old, lo);
    last_error.message[lp + 2 + lo] = '\0';
}

const zn_error *zn_last_error(void) { return &last_error; }

void zn_error_clear(void) { memset(&last_error, 0, sizeof last_error); }

const char *zn_status_name(zn_status s) {
    static const char *names[] = {
        "ok", "invalid argument", "invalid graph", "shape error", "unsupported",
        "model format error", "I/O error", "out of memory", "not found", "no device",
        "runtime error", "interrupted",
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == ZN_STATUS_COUNT, "status names");
    return (s >= 0 && s < ZN_STATUS_COUNT) ? names[s] : "?";
}

void zn_assert_fail(const char *cond, const char *file, int line) {
    /* Programmer error: the one place the library may write to stderr and stop. */
    fprintf(stderr, "zenith: internal assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}
