/* types.c — dtypes, f16/bf16 conversion, shapes, the op table and attribute look-ups. */
#include "types.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t zn_dtype_size(zn_dtype t) {
    switch (t) {
    case ZN_F32: case ZN_I32: return 4;
    case ZN_I64: return 8;
    case ZN_F16: case ZN_BF16: return 2;
    case ZN_BOOL: return 1;
    default: return 0;
    }
}

const char *zn_dtype_name(zn_dtype t) {
    switch (t) {
    case ZN_F32: return "f32";
    case ZN_F16: return "f16";
    case ZN_BF16: return "bf16";
    case ZN_I64: return "i64";
    case ZN_I32: return "i32";
    case ZN_BOOL: return "bool";
    default: return "?";
    }
}

bool zn_dtype_valid(zn_dtype t) { return zn_dtype_size(t) != 0; }
bool zn_dtype_is_float(zn_dtype t) { return t == ZN_F32 || t == ZN_F16 || t == ZN_BF16; }

const char *zn_backend_name(zn_backend b) {
    switch (b) {
    case ZN_BACKEND_AUTO: return "auto";
    case ZN_BACKEND_CPU: return "cpu";
    case ZN_BACKEND_CUDA: return "cuda";
    }
    return "?";
}

/* ---- half precision ---------------------------------------------------------------------- */

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t zn_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mant = x & 0x007fffffu;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    if (exp == 0xff) /* inf or nan (keep a quiet nan) */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    exp = exp - 127 + 15;
    if (exp >= 0x1f) return (uint16_t)(sign | 0x7c00u); /* overflow: inf */
    if (exp <= 0) {                                      /* subnormal or zero */
        if (exp < -10) return (uint16_t)sign;
        mant |= 0x00800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into exp: correct */
    return (uint16_t)h;
}

float zn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        float v = ldexpf((float)mant, -24); /* subnormal */
        return sign ? -v : v;
    }
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (mant << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

uint16_t zn_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* nan */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}

float zn_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* ---- shapes ------------------------------------------------------------------------------- */

bool zn_shape_is_concrete(const zn_shape *s) {
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i].value < 0) return false;
    return true;
}

int64_t zn_shape_numel(const zn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i].value < 0) return -1;
        n *= s->dims[i].value;
    }
    return n;
}

zn_shape zn_shape_make(int rank, const int64_t *dims) {
    zn_shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    for (int i = 0; i < rank && i < ZN_MAX_RANK; i++) {
        s.dims[i].value = dims[i];
        s.dims[i].sym = -1;
    }
    return s;
}

int64_t zn_view_numel(const zn_view *v) {
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++) n *= v->dims[i];
    return n;
}

size_t zn_view_bytes(const zn_view *v) { return (size_t)zn_view_numel(v) * zn_dtype_size(v->dtype); }

/* ---- op table ----------------------------------------------------------------------------- */

static const zn_op_info op_table[] = {
#define ZN_OP(e, name, min_in, max_in, min_out, max_out, schema) \
    {name, min_in, max_in, min_out, max_out, schema},
#include "ops.def"
#undef ZN_OP
};

/* Pins the table's size: adding an op means revisiting every switch over zn_op. */
_Static_assert(sizeof(op_table) / sizeof(op_table[0]) == ZN_OP_COUNT, "op table size");
_Static_assert(ZN_OP_COUNT == 76, "ops.def changed: update op-indexed code, then this count");

const zn_op_info *zn_op_get_info(zn_op op) {
    return (op >= 0 && op < ZN_OP_COUNT) ? &op_table[op] : NULL;
}

const char *zn_op_name(zn_op op) {
    const zn_op_info *i = zn_op_get_info(op);
    return i ? i->name : "?";
}

int zn_op_from_name(const char *name) {
    for (int i = 0; i < ZN_OP_COUNT; i++)
        if (strcmp(op_table[i].name, name) == 0) return i;
    return -1;
}

static int edit_distance_ci(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 1000;
    int prev[64], cur[64];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            cur[j] = v;
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

const char *zn_op_nearest_name(const char *name) {
    const char *best = NULL;
    int best_d = 1 << 30;
    for (int i = 0; i < ZN_OP_COUNT; i++) {
        if (strncmp(op_table[i].name, "Zn", 2) == 0) continue;
        /* a name that contains the query beats any edit distance:
         * "LayerNorm" means LayerNormalization, not Gemm */
        int d = strcasestr(op_table[i].name, name)
                    ? -1000 + abs((int)strlen(op_table[i].name) - (int)strlen(name))
                    : edit_distance_ci(name, op_table[i].name);
        if (d < best_d) { best_d = d; best = op_table[i].name; }
    }
    return best;
}

/* ---- attributes --------------------------------------------------------------------------- */

const zn_attr *zn_attrs_find(const zn_attr *attrs, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(attrs[i].name, name) == 0) return &attrs[i];
    return NULL;
}

int64_t zn_attrs_int(const zn_attr *attrs, int n, const char *name, int64_t dflt) {
    const zn_attr *a = zn_attrs_find(attrs, n, name);
    if (!a) return dflt;
    if (a->type == ZN_ATTR_INT) return a->i;
    if (a->type == ZN_ATTR_FLOAT) return (int64_t)a->f;
    return dflt;
}

float zn_attrs_float(const zn_attr *attrs, int n, const char *name, float dflt) {
    const zn_attr *a = zn_attrs_find(attrs, n, name);
    if (!a) return dflt;
    if (a->type == ZN_ATTR_FLOAT) return a->f;
    if (a->type == ZN_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *zn_attrs_string(const zn_attr *attrs, int n, const char *name, const char *dflt) {
    const zn_attr *a = zn_attrs_find(attrs, n, name);
    return (a && a->type == ZN_ATTR_STRING && a->s) ? a->s : dflt;
}

int zn_attrs_ints(const zn_attr *attrs, int n, const char *name, int64_t *out, int cap) {
    const zn_attr *a = zn_attrs_find(attrs, n, name);
    if (!a) return -1;
    if (a->type == ZN_ATTR_INT) {
        if (cap > 0) out[0] = a->i;
        return 1;
    }
    if (a->type != ZN_ATTR_INTS) return -1;
    for (int i = 0; i < a->n && i < cap; i++) out[i] = a->ints[i];
    return a->n;
}
