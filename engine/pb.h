/* pb.h — a small protobuf wire-format reader and writer, written for hostile input.
 *
 * It is what the ONNX importer and the TensorProto readers parse with: no code generation, no
 * runtime dependency, and every limit in one place. A reader walks the fields of one message
 * (varint, fixed64, length-delimited, fixed32); every length is checked against the bytes that
 * remain, nested messages are opened as sub-readers with a depth limit, and every error names
 * the absolute byte offset ("at byte 1234"). It is not a schema compiler: callers switch on
 * field numbers themselves. Groups (wire types 3 and 4) are rejected.
 *
 * The writer is a growable byte buffer with tag/varint/bytes helpers, enough to write a
 * TensorProto (tests and reference data).
 */
#ifndef ZN_PB_H
#define ZN_PB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define ZN_PB_MAX_DEPTH 16

enum { ZN_PB_VARINT = 0, ZN_PB_I64 = 1, ZN_PB_LEN = 2, ZN_PB_I32 = 5 };

typedef struct zn_pb {
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* one past the message */
    const uint8_t *base; /* start of the whole buffer (for offsets in errors) */
    size_t base_off;     /* offset of `base` within the file */
    int depth;
    const char *what;    /* message name for errors ("GraphProto") */
} zn_pb;

typedef struct zn_pb_field {
    uint32_t num;
    int wire;
    uint64_t v;          /* varint / fixed32 / fixed64 value */
    const uint8_t *data; /* length-delimited payload */
    size_t len;
    size_t offset;       /* absolute offset of the field's tag */
} zn_pb_field;

/* A reader over buf[0..len); base_off is added to offsets reported in errors. */
zn_pb zn_pb_reader(const void *buf, size_t len, size_t base_off, const char *what);
/* Reads the next field: 1 = read, 0 = end of message, -1 = error (zn_error_set done,
 * ZN_ERR_MODEL_FORMAT). */
int zn_pb_next(zn_pb *r, zn_pb_field *f);
/* Opens a length-delimited field as a nested message. ZN_ERR_MODEL_FORMAT when the field is
 * not length-delimited or the depth limit is reached. */
zn_status zn_pb_sub(const zn_pb *r, const zn_pb_field *f, const char *what, zn_pb *out);
/* Absolute offset of a pointer inside the reader's buffer. */
size_t zn_pb_offset(const zn_pb *r, const uint8_t *p);

/* Field-type checks with a uniform message: "<what> field <name> (#n) at byte X has wire type
 * W; expected ...". */
zn_status zn_pb_expect(const zn_pb *r, const zn_pb_field *f, int wire, const char *name);
/* A string/bytes field copied to a NUL-terminated malloc'd string (NULL on failure, error
 * set). Rejects embedded NULs and lengths over max_len. */
char *zn_pb_strdup(const zn_pb *r, const zn_pb_field *f, const char *name, size_t max_len);

/* Repeated scalar fields arrive packed (one LEN field) or unpacked (one field per value).
 * zn_pb_scalar_count counts the values one field carries (kind: ZN_PB_VARINT, ZN_PB_I32 or
 * ZN_PB_I64 for the element encoding); -1 on a malformed field (error set).
 * zn_pb_scalar_get decodes them into out (as raw uint64: varints as read, fixed32 zero-extended). */
int64_t zn_pb_scalar_count(const zn_pb *r, const zn_pb_field *f, int kind, const char *name);
zn_status zn_pb_scalar_get(const zn_pb *r, const zn_pb_field *f, int kind, uint64_t *out,
                           int64_t n);

/* Low level: decodes a varint from [*p, end); returns 0 on success, -1 if truncated or longer
 * than 10 bytes. */
int zn_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* ---- writer ------------------------------------------------------------------------------ */

typedef struct zn_pb_buf {
    uint8_t *data;
    size_t len, cap;
    int failed;          /* an allocation failed; the content is incomplete */
} zn_pb_buf;

void zn_pb_put_raw(zn_pb_buf *b, const void *p, size_t n);
void zn_pb_put_varint(zn_pb_buf *b, uint64_t v);
void zn_pb_put_tag(zn_pb_buf *b, uint32_t num, int wire);
void zn_pb_put_uint(zn_pb_buf *b, uint32_t num, uint64_t v);            /* varint field */
void zn_pb_put_bytes(zn_pb_buf *b, uint32_t num, const void *p, size_t n); /* LEN field */
void zn_pb_put_string(zn_pb_buf *b, uint32_t num, const char *s);
void zn_pb_put_fixed32(zn_pb_buf *b, uint32_t num, uint32_t v);
void zn_pb_buf_free(zn_pb_buf *b);

#endif
