/* pb.c — protobuf wire-format reader and writer (see pb.h). Bounds-checked everywhere; no
 * recursion; no allocation except in zn_pb_strdup and the writer. */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

static const char *wire_name(int w) {
    switch (w) {
    case ZN_PB_VARINT: return "varint";
    case ZN_PB_I64: return "fixed64";
    case ZN_PB_LEN: return "length-delimited";
    case 3: return "start-group";
    case 4: return "end-group";
    case ZN_PB_I32: return "fixed32";
    default: return "invalid";
    }
}

zn_pb zn_pb_reader(const void *buf, size_t len, size_t base_off, const char *what) {
    zn_pb r;
    r.base = (const uint8_t *)buf;
    r.p = r.base;
    r.end = r.base + len;
    r.base_off = base_off;
    r.depth = 0;
    r.what = what ? what : "message";
    return r;
}

size_t zn_pb_offset(const zn_pb *r, const uint8_t *p) { return r->base_off + (size_t)(p - r->base); }

int zn_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    const uint8_t *q = *p;
    for (int i = 0; i < 10; i++) {
        if (q >= end) return -1;
        uint8_t c = *q++;
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *p = q;
            *v = x;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

int zn_pb_next(zn_pb *r, zn_pb_field *f) {
    if (r->p >= r->end) return 0;
    memset(f, 0, sizeof *f);
    f->offset = zn_pb_offset(r, r->p);
    uint64_t key;
    if (zn_pb_varint(&r->p, r->end, &key) != 0) {
        zn_error_set(ZN_ERR_MODEL_FORMAT,
                     "%s: truncated or malformed field tag at byte %zu (file cut short or not "
                     "a protobuf)", r->what, f->offset);
        return -1;
    }
    f->num = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    if (f->num == 0 || key >> 32) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: invalid field number %llu at byte %zu (not a "
                     "protobuf, or corrupted)", r->what, (unsigned long long)(key >> 3), f->offset);
        return -1;
    }
    switch (f->wire) {
    case ZN_PB_VARINT:
        if (zn_pb_varint(&r->p, r->end, &f->v) != 0) {
            zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: field #%u at byte %zu: truncated varint",
                         r->what, f->num, f->offset);
            return -1;
        }
        return 1;
    case ZN_PB_I64:
        if (r->end - r->p < 8) {
            zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: field #%u at byte %zu: fixed64 runs past "
                         "the end of the data", r->what, f->num, f->offset);
            return -1;
        }
        f->v = 0;
        for (int i = 7; i >= 0; i--) f->v = (f->v << 8) | r->p[i];
        r->p += 8;
        return 1;
    case ZN_PB_I32:
        if (r->end - r->p < 4) {
            zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: field #%u at byte %zu: fixed32 runs past "
                         "the end of the data", r->what, f->num, f->offset);
            return -1;
        }
        f->v = (uint64_t)r->p[0] | (uint64_t)r->p[1] << 8 | (uint64_t)r->p[2] << 16 |
               (uint64_t)r->p[3] << 24;
        r->p += 4;
        return 1;
    case ZN_PB_LEN: {
        uint64_t n;
        if (zn_pb_varint(&r->p, r->end, &n) != 0) {
            zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: field #%u at byte %zu: truncated length",
                         r->what, f->num, f->offset);
            return -1;
        }
        if (n > (uint64_t)(r->end - r->p)) {
            zn_error_set(ZN_ERR_MODEL_FORMAT,
                         "%s: field #%u at byte %zu claims %llu bytes but only %zu remain (file "
                         "truncated?)", r->what, f->num, f->offset, (unsigned long long)n,
                         (size_t)(r->end - r->p));
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: field #%u at byte %zu has unsupported wire type "
                     "%d (%s); not a valid ONNX protobuf", r->what, f->num, f->offset, f->wire,
                     wire_name(f->wire));
        return -1;
    }
}

zn_status zn_pb_expect(const zn_pb *r, const zn_pb_field *f, int wire, const char *name) {
    if (f->wire == wire) return ZN_OK;
    return zn_error_set(ZN_ERR_MODEL_FORMAT,
                        "%s field %s (#%u) at byte %zu has wire type %s; expected %s (wrong "
                        "field type: file corrupted or not ONNX)", r->what, name, f->num,
                        f->offset, wire_name(f->wire), wire_name(wire));
}

zn_status zn_pb_sub(const zn_pb *r, const zn_pb_field *f, const char *what, zn_pb *out) {
    zn_status st = zn_pb_expect(r, f, ZN_PB_LEN, what);
    if (st != ZN_OK) return st;
    if (r->depth + 1 > ZN_PB_MAX_DEPTH)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s at byte %zu: messages nested deeper than "
                            "%d levels", what, f->offset, ZN_PB_MAX_DEPTH);
    *out = *r;
    out->p = f->data;
    out->end = f->data + f->len;
    out->depth = r->depth + 1;
    out->what = what;
    return ZN_OK;
}

char *zn_pb_strdup(const zn_pb *r, const zn_pb_field *f, const char *name, size_t max_len) {
    if (zn_pb_expect(r, f, ZN_PB_LEN, name) != ZN_OK) return NULL;
    if (f->len > max_len) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s field %s at byte %zu is %zu bytes long; the "
                     "limit is %zu", r->what, name, f->offset, f->len, max_len);
        return NULL;
    }
    if (f->len && memchr(f->data, 0, f->len)) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s field %s at byte %zu contains a NUL byte",
                     r->what, name, f->offset);
        return NULL;
    }
    char *s = malloc(f->len + 1);
    if (!s) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading %s", name);
        return NULL;
    }
    if (f->len) memcpy(s, f->data, f->len);
    s[f->len] = '\0';
    return s;
}

int64_t zn_pb_scalar_count(const zn_pb *r, const zn_pb_field *f, int kind, const char *name) {
    if (f->wire == kind) return 1;
    if (f->wire != ZN_PB_LEN) {
        zn_pb_expect(r, f, kind, name);
        return -1;
    }
    if (kind == ZN_PB_I32 || kind == ZN_PB_I64) {
        size_t w = kind == ZN_PB_I32 ? 4 : 8;
        if (f->len % w) {
            zn_error_set(ZN_ERR_MODEL_FORMAT, "%s field %s at byte %zu: packed length %zu is "
                         "not a multiple of %zu", r->what, name, f->offset, f->len, w);
            return -1;
        }
        return (int64_t)(f->len / w);
    }
    /* packed varints: count terminating bytes, the last must terminate */
    int64_t n = 0;
    for (size_t i = 0; i < f->len; i++)
        if (!(f->data[i] & 0x80)) n++;
    if (f->len && (f->data[f->len - 1] & 0x80)) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "%s field %s at byte %zu: packed varints end in the "
                     "middle of a value", r->what, name, f->offset);
        return -1;
    }
    return n;
}

zn_status zn_pb_scalar_get(const zn_pb *r, const zn_pb_field *f, int kind, uint64_t *out,
                           int64_t n) {
    if (f->wire != ZN_PB_LEN) {
        if (n >= 1) out[0] = f->v;
        return ZN_OK;
    }
    const uint8_t *p = f->data, *end = f->data + f->len;
    for (int64_t i = 0; i < n; i++) {
        if (kind == ZN_PB_VARINT) {
            if (zn_pb_varint(&p, end, &out[i]) != 0)
                return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: malformed packed varint at byte "
                                    "%zu", r->what, zn_pb_offset(r, p));
        } else {
            int w = kind == ZN_PB_I32 ? 4 : 8;
            if (end - p < w)
                return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: packed values run past the end "
                                    "at byte %zu", r->what, zn_pb_offset(r, p));
            uint64_t v = 0;
            for (int k = w - 1; k >= 0; k--) v = (v << 8) | p[k];
            out[i] = v;
            p += w;
        }
    }
    return ZN_OK;
}

/* ---- writer ------------------------------------------------------------------------------ */

void zn_pb_put_raw(zn_pb_buf *b, const void *p, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void zn_pb_put_varint(zn_pb_buf *b, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        tmp[n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
    zn_pb_put_raw(b, tmp, (size_t)n);
}

void zn_pb_put_tag(zn_pb_buf *b, uint32_t num, int wire) {
    zn_pb_put_varint(b, ((uint64_t)num << 3) | (uint64_t)wire);
}

void zn_pb_put_uint(zn_pb_buf *b, uint32_t num, uint64_t v) {
    zn_pb_put_tag(b, num, ZN_PB_VARINT);
    zn_pb_put_varint(b, v);
}

void zn_pb_put_bytes(zn_pb_buf *b, uint32_t num, const void *p, size_t n) {
    zn_pb_put_tag(b, num, ZN_PB_LEN);
    zn_pb_put_varint(b, n);
    zn_pb_put_raw(b, p, n);
}

void zn_pb_put_string(zn_pb_buf *b, uint32_t num, const char *s) {
    zn_pb_put_bytes(b, num, s, strlen(s));
}

void zn_pb_put_fixed32(zn_pb_buf *b, uint32_t num, uint32_t v) {
    uint8_t tmp[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    zn_pb_put_tag(b, num, ZN_PB_I32);
    zn_pb_put_raw(b, tmp, 4);
}

void zn_pb_buf_free(zn_pb_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}
