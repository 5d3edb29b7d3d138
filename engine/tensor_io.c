/* tensor_io.c — TensorProto and .npy readers/writers (see tensor_io.h). Every size read from a
 * file is checked against the bytes actually present before anything is allocated for it. */
#include "tensor_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* TensorProto field numbers (onnx.proto) */
enum {
    TP_DIMS = 1, TP_DATA_TYPE = 2, TP_SEGMENT = 3, TP_FLOAT_DATA = 4, TP_INT32_DATA = 5,
    TP_STRING_DATA = 6, TP_INT64_DATA = 7, TP_NAME = 8, TP_RAW_DATA = 9, TP_DOUBLE_DATA = 10,
    TP_UINT64_DATA = 11, TP_EXTERNAL_DATA = 13, TP_DATA_LOCATION = 14,
};
enum { ONNX_FLOAT = 1, ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_STRING = 8, ONNX_BOOL = 9,
       ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11, ONNX_BFLOAT16 = 16 };

const char *zn_onnx_dtype_name(int t) {
    static const char *names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
        "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
        "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4",
        "FLOAT4E2M1",
    };
    if (t >= 0 && t < (int)(sizeof names / sizeof names[0])) return names[t];
    return "?";
}

int64_t zn_tensor_file_numel(const zn_tensor_file *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

size_t zn_tensor_file_bytes(const zn_tensor_file *t) {
    return (size_t)zn_tensor_file_numel(t) * zn_dtype_size(t->dtype);
}

void zn_tensor_file_free(zn_tensor_file *t) {
    if (!t) return;
    free(t->data);
    t->data = NULL;
}

zn_status zn_file_read_all(const char *path, int64_t max_bytes, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return zn_error_set(ZN_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return zn_error_set(ZN_ERR_IO, "%s is not a regular file", path);
    }
    if (max_bytes > 0 && st.st_size > max_bytes) {
        fclose(f);
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "%s is %lld bytes, over the limit of %lld "
                            "bytes (raise max_bytes to load it)", path, (long long)st.st_size,
                            (long long)max_bytes);
    }
    size_t n = (size_t)st.st_size;
    void *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading %s (%zu bytes)", path, n);
    }
    if (n && fread(b, 1, n, f) != n) {
        free(b);
        fclose(f);
        return zn_error_set(ZN_ERR_IO, "short read from %s", path);
    }
    fclose(f);
    *buf = b;
    *len = n;
    return ZN_OK;
}

/* ---- TensorProto decoding ---------------------------------------------------------------- */

static zn_dtype dtype_from_onnx(int t) {
    switch (t) {
    case ONNX_FLOAT: return ZN_F32;
    case ONNX_INT32: return ZN_I32;
    case ONNX_INT64: return ZN_I64;
    case ONNX_BOOL: return ZN_BOOL;
    case ONNX_FLOAT16: return ZN_F16;
    case ONNX_BFLOAT16: return ZN_BF16;
    case ONNX_DOUBLE: return ZN_F32; /* converted */
    default: return ZN_DTYPE_UNDEFINED;
    }
}

/* "123" -> 123 (strict decimal, <= 2^62); -1 on anything else */
static int64_t parse_dec(const uint8_t *s, size_t n) {
    if (n == 0 || n > 19) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > ((int64_t)1 << 62) ? -1 : v;
}

typedef struct ext_info {
    const uint8_t *loc;
    size_t loc_len;
    int64_t offset, length; /* -1: absent */
    size_t field_off;
} ext_info;

/* Reads `want` bytes of external data into a new malloc'd buffer (*dst), allocating only after
 * the file is known to hold them. */
static zn_status read_external(const ext_info *e, const char *base_dir, const char *what,
                               const char *tname, size_t want, void **dst) {
    *dst = NULL;
    if (!e->loc)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu) has external data but "
                            "no 'location' key", what, tname, e->field_off);
    char loc[1024];
    if (e->loc_len == 0 || e->loc_len >= sizeof loc || memchr(e->loc, 0, e->loc_len))
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu): bad external data "
                            "location", what, tname, e->field_off);
    memcpy(loc, e->loc, e->loc_len);
    loc[e->loc_len] = '\0';
    /* reject absolute paths and any '..' component: data must sit next to the model */
    bool escape = loc[0] == '/' || loc[0] == '\\';
    for (const char *p = loc; *p && !escape;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') escape = true;
        p += n;
        if (*p) p++;
    }
    if (escape)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s': external data location '%s' leaves "
                            "the model's directory (absolute path or '..'); keep weight files "
                            "next to the model", what, tname, loc);
    if (!base_dir)
        return zn_error_set(ZN_ERR_UNSUPPORTED, "%s '%s' stores its data in external file '%s', "
                            "but the model was loaded from memory with no base directory; load "
                            "it from its file instead", what, tname, loc);
    char path[4096];
    int pn = snprintf(path, sizeof path, "%s/%s", base_dir, loc);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return zn_error_set(ZN_ERR_IO, "external data path too long: %s/%s", base_dir, loc);
    int64_t off = e->offset < 0 ? 0 : e->offset;
    if (e->length >= 0 && (uint64_t)e->length != (uint64_t)want)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s': external data length %lld does not "
                            "match its shape and dtype (%zu bytes)", what, tname,
                            (long long)e->length, want);
    FILE *f = fopen(path, "rb");
    if (!f)
        return zn_error_set(ZN_ERR_IO, "%s '%s': external data file %s is missing (%s); copy "
                            "it next to the model", what, tname, path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return zn_error_set(ZN_ERR_IO, "%s '%s': external data %s is not a regular file", what,
                            tname, path);
    }
    if ((uint64_t)st.st_size < (uint64_t)off || (uint64_t)st.st_size - (uint64_t)off < want) {
        fclose(f);
        return zn_error_set(ZN_ERR_IO, "%s '%s': external data file %s is too short: needs "
                            "%zu bytes at offset %lld, file has %lld bytes (truncated copy?)",
                            what, tname, path, want, (long long)off, (long long)st.st_size);
    }
    void *buf = malloc(want ? want : 1);
    if (!buf) {
        fclose(f);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for %s '%s' (%zu bytes)", what,
                            tname, want);
    }
    if (fseeko(f, (off_t)off, SEEK_SET) != 0 || (want && fread(buf, 1, want, f) != want)) {
        fclose(f);
        free(buf);
        return zn_error_set(ZN_ERR_IO, "%s '%s': cannot read %zu bytes from %s", what, tname,
                            want, path);
    }
    fclose(f);
    *dst = buf;
    return ZN_OK;
}

/* One float from its source encoding in little-endian bytes. */
static float le_f32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static double le_f64(const uint8_t *p) {
    uint64_t u = 0;
    for (int k = 7; k >= 0; k--) u = (u << 8) | p[k];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Stores value i of a typed field (as raw uint64 from the wire) into dst. */
static void store_typed(void *dst, zn_dtype dt, int onnx_dt, int64_t i, uint64_t v) {
    switch (dt) {
    case ZN_F32:
        if (onnx_dt == ONNX_DOUBLE) {
            double d;
            memcpy(&d, &v, 8);
            ((float *)dst)[i] = (float)d;
        } else {
            uint32_t u = (uint32_t)v;
            memcpy((float *)dst + i, &u, 4);
        }
        break;
    case ZN_I32: ((int32_t *)dst)[i] = (int32_t)(uint32_t)v; break;
    case ZN_I64: ((int64_t *)dst)[i] = (int64_t)v; break;
    case ZN_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
    case ZN_F16: case ZN_BF16: ((uint16_t *)dst)[i] = (uint16_t)v; break;
    default: break;
    }
}

zn_status zn_tensor_decode(const zn_pb *msg, const char *base_dir, const char *what,
                           zn_tensor_file *out, zn_tensor_decode_info *info) {
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (!what) what = "tensor";
    zn_pb r = *msg;
    zn_pb_field f;
    int rc;
    int onnx_dt = 0, rank = 0;
    int64_t dims[ZN_MAX_RANK];
    const zn_pb_field *raw = NULL;
    zn_pb_field raw_f;
    int data_location = 0;
    ext_info ext = {NULL, 0, -1, -1, 0};
    const uint8_t *name_p = NULL;
    size_t name_len = 0;
    int64_t typed_count[16] = {0};
    size_t start = zn_pb_offset(msg, msg->p);
    zn_status st;
    char tname[160] = "?";

    /* pass 1: everything but the typed values */
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case TP_DIMS: {
            int64_t n = zn_pb_scalar_count(&r, &f, ZN_PB_VARINT, "dims");
            if (n < 0) return ZN_ERR_MODEL_FORMAT;
            if (rank + n > ZN_MAX_RANK)
                return zn_error_set(ZN_ERR_UNSUPPORTED, "%s at byte %zu has rank > %d "
                                    "(ZN_MAX_RANK), the most Zenith supports", what, f.offset,
                                    ZN_MAX_RANK);
            uint64_t v[ZN_MAX_RANK];
            if ((st = zn_pb_scalar_get(&r, &f, ZN_PB_VARINT, v, n)) != ZN_OK) return st;
            for (int64_t i = 0; i < n; i++) {
                int64_t d = (int64_t)v[i];
                if (d < 0 || d > ZN_TENSOR_MAX_DIM)
                    return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s at byte %zu has dim %lld; "
                                        "dims must be in [0, 2^40]", what, f.offset,
                                        (long long)d);
                dims[rank++] = d;
            }
            break;
        }
        case TP_DATA_TYPE:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_VARINT, "data_type")) != ZN_OK) return st;
            onnx_dt = f.v > 1000 ? 1000 : (int)f.v;
            break;
        case TP_SEGMENT:
            return zn_error_set(ZN_ERR_UNSUPPORTED, "%s at byte %zu is segmented (TensorProto."
                                "segment); re-save the model without segments", what, f.offset);
        case TP_NAME:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "name")) != ZN_OK) return st;
            name_p = f.data;
            name_len = f.len;
            break;
        case TP_RAW_DATA:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "raw_data")) != ZN_OK) return st;
            raw_f = f;
            raw = &raw_f;
            break;
        case TP_FLOAT_DATA: case TP_INT32_DATA: case TP_INT64_DATA: case TP_DOUBLE_DATA:
        case TP_UINT64_DATA: {
            int kind = f.num == TP_FLOAT_DATA ? ZN_PB_I32
                     : f.num == TP_DOUBLE_DATA ? ZN_PB_I64 : ZN_PB_VARINT;
            int64_t n = zn_pb_scalar_count(&r, &f, kind, "typed data");
            if (n < 0) return ZN_ERR_MODEL_FORMAT;
            typed_count[f.num] += n;
            break;
        }
        case TP_STRING_DATA:
            break; /* rejected below through the dtype */
        case TP_EXTERNAL_DATA: {
            zn_pb e;
            if ((st = zn_pb_sub(&r, &f, "StringStringEntryProto", &e)) != ZN_OK) return st;
            zn_pb_field kf, key = {0}, val = {0};
            int have_k = 0, have_v = 0;
            while ((rc = zn_pb_next(&e, &kf)) > 0) {
                if (kf.num == 1 && kf.wire == ZN_PB_LEN) { key = kf; have_k = 1; }
                else if (kf.num == 2 && kf.wire == ZN_PB_LEN) { val = kf; have_v = 1; }
            }
            if (rc < 0) return ZN_ERR_MODEL_FORMAT;
            if (!have_k || !have_v) break;
            ext.field_off = f.offset;
            if (key.len == 8 && !memcmp(key.data, "location", 8)) {
                ext.loc = val.data;
                ext.loc_len = val.len;
            } else if ((key.len == 6 && !memcmp(key.data, "offset", 6)) ||
                       (key.len == 6 && !memcmp(key.data, "length", 6))) {
                int64_t v = parse_dec(val.data, val.len);
                if (v < 0)
                    return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: external data %.6s at byte "
                                        "%zu is not a non-negative decimal number", what,
                                        (const char *)key.data, kf.offset);
                if (key.data[0] == 'o') ext.offset = v; else ext.length = v;
            }
            break;
        }
        case TP_DATA_LOCATION:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_VARINT, "data_location")) != ZN_OK) return st;
            data_location = (int)(f.v & 0xff);
            break;
        default:
            break; /* doc_string and future fields */
        }
    }
    if (rc < 0) return ZN_ERR_MODEL_FORMAT;

    if (name_p) {
        size_t n = name_len < sizeof tname - 1 ? name_len : sizeof tname - 1;
        memcpy(tname, name_p, n);
        tname[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (tname[i] == '\0') tname[i] = '?';
    }
    zn_dtype dt = dtype_from_onnx(onnx_dt);
    if (dt == ZN_DTYPE_UNDEFINED)
        return zn_error_set(ZN_ERR_UNSUPPORTED, "%s '%s' (at byte %zu) has dtype %s; Zenith "
                            "supports f32, f16, bf16, i64, i32, bool: export with float32",
                            what, tname, start, onnx_dt ? zn_onnx_dtype_name(onnx_dt) :
                            "UNDEFINED (data_type missing)");
    /* element count, overflow-checked */
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] && numel > INT64_MAX / 16 / dims[i])
            return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu): element count "
                                "is too large (overflows)", what, tname, start);
        numel *= dims[i];
    }
    size_t src_size = onnx_dt == ONNX_DOUBLE ? 8 : zn_dtype_size(dt);
    if (numel > ((int64_t)1 << 50) / (int64_t)src_size)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu) is impossibly large "
                            "(%lld elements)", what, tname, start, (long long)numel);
    size_t src_bytes = (size_t)numel * src_size;
    size_t bytes = (size_t)numel * zn_dtype_size(dt);

    int typed_field = dt == ZN_F32 ? (onnx_dt == ONNX_DOUBLE ? TP_DOUBLE_DATA : TP_FLOAT_DATA)
                    : dt == ZN_I64 ? TP_INT64_DATA : TP_INT32_DATA;
    int typed_kind = typed_field == TP_FLOAT_DATA ? ZN_PB_I32
                   : typed_field == TP_DOUBLE_DATA ? ZN_PB_I64 : ZN_PB_VARINT;
    /* check the bytes are there before allocating for them */
    if (data_location == 1) {
        /* checked against the file in read_external */
    } else if (raw) {
        if (raw->len != src_bytes)
            return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu): raw_data has %zu "
                                "bytes but shape and dtype %s need %zu", what, tname,
                                raw->offset, raw->len, zn_onnx_dtype_name(onnx_dt), src_bytes);
    } else if (typed_count[typed_field] != numel) {
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s' (at byte %zu) holds %lld values but "
                            "its shape needs %lld (missing or truncated data)", what, tname,
                            start, (long long)typed_count[typed_field], (long long)numel);
    }

    void *data = NULL;
    if (data_location == 1) {
        void *src;
        st = read_external(&ext, base_dir, what, tname, src_bytes, &src);
        if (st != ZN_OK) return st;
        if (onnx_dt != ONNX_DOUBLE) {
            data = src;
        } else {
            data = malloc(bytes ? bytes : 1);
            if (data)
                for (int64_t i = 0; i < numel; i++)
                    ((float *)data)[i] = (float)le_f64((const uint8_t *)src + 8 * i);
            free(src);
        }
    } else {
        data = malloc(bytes ? bytes : 1);
    }
    if (!data)
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for %s '%s' (%zu bytes)", what,
                            tname, bytes);
    if (data_location == 1) {
        /* done above */
    } else if (raw) {
        if (onnx_dt == ONNX_DOUBLE) {
            for (int64_t i = 0; i < numel; i++)
                ((float *)data)[i] = (float)le_f64(raw->data + 8 * i);
        } else if (dt == ZN_F32) {
            for (int64_t i = 0; i < numel; i++) ((float *)data)[i] = le_f32(raw->data + 4 * i);
        } else {
            memcpy(data, raw->data, bytes); /* little-endian host */
        }
    } else if (numel > 0) {
        /* pass 2: typed values, possibly spread over several fields */
        int64_t at = 0;
        r = *msg;
        uint64_t tmp[256];
        while ((rc = zn_pb_next(&r, &f)) > 0) {
            if ((int)f.num != typed_field) continue;
            int64_t n = zn_pb_scalar_count(&r, &f, typed_kind, "typed data");
            if (n < 0 || at + n > numel) {
                free(data);
                return zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s': inconsistent typed data",
                                    what, tname);
            }
            if (f.wire != ZN_PB_LEN) {
                store_typed(data, dt, onnx_dt, at++, f.v);
                continue;
            }
            /* decode the packed run in chunks */
            zn_pb_field sub = f;
            const uint8_t *p = f.data, *end = f.data + f.len;
            while (p < end) {
                int64_t k = 0;
                while (k < 256 && p < end) {
                    if (typed_kind == ZN_PB_VARINT) {
                        if (zn_pb_varint(&p, end, &tmp[k]) != 0) break;
                    } else {
                        int w = typed_kind == ZN_PB_I32 ? 4 : 8;
                        uint64_t v = 0;
                        for (int b = w - 1; b >= 0; b--) v = (v << 8) | p[b];
                        tmp[k] = v;
                        p += w;
                    }
                    k++;
                }
                if (k == 0) break;
                for (int64_t i = 0; i < k; i++) store_typed(data, dt, onnx_dt, at++, tmp[i]);
            }
            (void)sub;
        }
        if (rc < 0 || at != numel) {
            free(data);
            return rc < 0 ? ZN_ERR_MODEL_FORMAT
                          : zn_error_set(ZN_ERR_MODEL_FORMAT, "%s '%s': typed data ended early",
                                         what, tname);
        }
    }

    if (dt == ZN_BOOL) /* any nonzero byte is true; keep bools 0/1 */
        for (size_t i = 0; i < bytes; i++) ((uint8_t *)data)[i] = ((uint8_t *)data)[i] != 0;
    out->dtype = dt;
    out->rank = rank;
    memcpy(out->dims, dims, sizeof(int64_t) * (size_t)rank);
    out->data = data;
    {
        size_t n = name_len < sizeof out->name - 1 ? name_len : sizeof out->name - 1;
        if (n) memcpy(out->name, name_p, n);
        out->name[n] = '\0';
    }
    if (info) {
        info->onnx_dtype = onnx_dt;
        info->converted = onnx_dt == ONNX_DOUBLE;
        info->external = data_location == 1;
        if (name_p) {
            info->name = malloc(name_len + 1);
            if (!info->name) {
                free(data);
                out->data = NULL;
                return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
            }
            memcpy(info->name, name_p, name_len);
            info->name[name_len] = '\0';
        }
    }
    return ZN_OK;
}

zn_status zn_tensor_read_pb(const char *path, zn_tensor_file *out) {
    memset(out, 0, sizeof *out);
    void *buf;
    size_t len;
    zn_status st = zn_file_read_all(path, (int64_t)1 << 34, &buf, &len);
    if (st != ZN_OK) return st;
    zn_pb r = zn_pb_reader(buf, len, 0, "TensorProto");
    st = zn_tensor_decode(&r, NULL, "tensor", out, NULL);
    free(buf);
    if (st != ZN_OK) zn_error_prefix("reading %s", path);
    return st;
}

zn_status zn_tensor_write_pb(const char *path, const zn_tensor_file *t) {
    if (!zn_dtype_valid(t->dtype) || t->rank < 0 || t->rank > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_tensor_write_pb: bad dtype or rank");
    zn_pb_buf b = {0};
    for (int i = 0; i < t->rank; i++) zn_pb_put_uint(&b, TP_DIMS, (uint64_t)t->dims[i]);
    zn_pb_put_uint(&b, TP_DATA_TYPE, (uint64_t)t->dtype);
    if (t->name[0]) zn_pb_put_bytes(&b, TP_NAME, t->name, strnlen(t->name, sizeof t->name));
    zn_pb_put_bytes(&b, TP_RAW_DATA, t->data, zn_tensor_file_bytes(t));
    if (b.failed) {
        zn_pb_buf_free(&b);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory writing %s", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        zn_pb_buf_free(&b);
        return zn_error_set(ZN_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    bool ok = fwrite(b.data, 1, b.len, f) == b.len;
    ok = (fclose(f) == 0) && ok;
    zn_pb_buf_free(&b);
    return ok ? ZN_OK : zn_error_set(ZN_ERR_IO, "cannot write %s", path);
}

/* ---- .npy -------------------------------------------------------------------------------- */

/* The value text after 'key': in a .npy header dict, or NULL. */
static const char *npy_key(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

zn_status zn_tensor_read_npy(const char *path, zn_tensor_file *out) {
    memset(out, 0, sizeof *out);
    void *vbuf;
    size_t len;
    zn_status st = zn_file_read_all(path, (int64_t)1 << 34, &vbuf, &len);
    if (st != ZN_OK) return st;
    const uint8_t *buf = vbuf;
    char hdr[4096];
    size_t hlen, hstart;
    bool f64 = false;
    zn_dtype dt = ZN_DTYPE_UNDEFINED;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "%s is not a .npy file (no \\x93NUMPY magic)", path);
        goto fail;
    }
    if (buf[6] == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12) goto truncated;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        st = zn_error_set(ZN_ERR_UNSUPPORTED, "%s: .npy format version %d is not supported",
                          path, buf[6]);
        goto fail;
    }
    if (hlen >= sizeof hdr || hstart + hlen > len) goto truncated;
    memcpy(hdr, buf + hstart, hlen);
    hdr[hlen] = '\0';
    const char *d = npy_key(hdr, "descr");
    const char *fo = npy_key(hdr, "fortran_order");
    const char *sh = npy_key(hdr, "shape");
    if (!d || !fo || !sh) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: .npy header lacks descr/fortran_order/shape",
                          path);
        goto fail;
    }
    static const struct { const char *s; zn_dtype t; bool f64; } descrs[] = {
        {"'<f4'", ZN_F32, false}, {"'<f8'", ZN_F32, true}, {"'<f2'", ZN_F16, false},
        {"'<i8'", ZN_I64, false}, {"'<i4'", ZN_I32, false}, {"'|b1'", ZN_BOOL, false},
    };
    for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
        if (!strncmp(d, descrs[i].s, strlen(descrs[i].s))) {
            dt = descrs[i].t;
            f64 = descrs[i].f64;
        }
    if (dt == ZN_DTYPE_UNDEFINED) {
        char what[16] = {0};
        snprintf(what, sizeof what, "%.10s", d);
        st = zn_error_set(ZN_ERR_UNSUPPORTED, "%s: .npy dtype %s is not supported (use float32, "
                          "float16, int64, int32 or bool)", path, what);
        goto fail;
    }
    if (strncmp(fo, "False", 5) != 0) {
        st = zn_error_set(ZN_ERR_UNSUPPORTED, "%s: Fortran-order .npy is not supported; save "
                          "with np.ascontiguousarray", path);
        goto fail;
    }
    if (*sh != '(') goto badshape;
    sh++;
    for (;;) {
        while (*sh == ' ' || *sh == ',') sh++;
        if (*sh == ')') break;
        if (*sh < '0' || *sh > '9') goto badshape;
        char *e;
        errno = 0;
        long long v = strtoll(sh, &e, 10);
        if (errno || v < 0 || v > ZN_TENSOR_MAX_DIM) goto badshape;
        if (out->rank >= ZN_MAX_RANK) {
            st = zn_error_set(ZN_ERR_UNSUPPORTED, "%s: rank > %d (ZN_MAX_RANK)", path, ZN_MAX_RANK);
            goto fail;
        }
        out->dims[out->rank++] = v;
        sh = e;
    }
    int64_t numel = 1;
    for (int i = 0; i < out->rank; i++) {
        if (out->dims[i] && numel > ((int64_t)1 << 50) / out->dims[i]) goto badshape;
        numel *= out->dims[i];
    }
    size_t esz = f64 ? 8 : zn_dtype_size(dt);
    size_t body = hstart + hlen;
    if ((uint64_t)numel > (uint64_t)(len - body) / esz) goto truncated;
    out->dtype = dt;
    size_t bytes = (size_t)numel * zn_dtype_size(dt);
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
        goto fail;
    }
    if (f64)
        for (int64_t i = 0; i < numel; i++) ((float *)out->data)[i] = (float)le_f64(buf + body + 8 * i);
    else
        memcpy(out->data, buf + body, bytes);
    {
        const char *base = strrchr(path, '/');
        snprintf(out->name, sizeof out->name, "%s", base ? base + 1 : path);
        char *dot = strrchr(out->name, '.');
        if (dot) *dot = '\0';
    }
    free(vbuf);
    return ZN_OK;
truncated:
    st = zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: .npy file is truncated", path);
    goto fail;
badshape:
    st = zn_error_set(ZN_ERR_MODEL_FORMAT, "%s: bad shape in .npy header", path);
fail:
    free(vbuf);
    free(out->data);
    memset(out, 0, sizeof *out);
    return st;
}

zn_status zn_tensor_write_npy(const char *path, const zn_tensor_file *t) {
    const char *descr;
    switch (t->dtype) {
    case ZN_F32: descr = "<f4"; break;
    case ZN_F16: descr = "<f2"; break;
    case ZN_I64: descr = "<i8"; break;
    case ZN_I32: descr = "<i4"; break;
    case ZN_BOOL: descr = "|b1"; break;
    default:
        return zn_error_set(ZN_ERR_UNSUPPORTED, "zn_tensor_write_npy: dtype %s has no .npy form",
                            zn_dtype_name(t->dtype));
    }
    if (t->rank < 0 || t->rank > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_tensor_write_npy: bad rank");
    char shape[256] = "(";
    for (int i = 0; i < t->rank; i++) {
        size_t l = strlen(shape);
        snprintf(shape + l, sizeof shape - l, "%lld,%s", (long long)t->dims[i],
                 i + 1 < t->rank ? " " : "");
    }
    strcat(shape, ")");
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    for (int i = 0; i < pad; i++) hdr[n++] = ' ';
    hdr[n++] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f) return zn_error_set(ZN_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)n, (uint8_t)(n >> 8)};
    size_t bytes = zn_tensor_file_bytes(t);
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
              (bytes == 0 || fwrite(t->data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    return ok ? ZN_OK : zn_error_set(ZN_ERR_IO, "cannot write %s", path);
}
