/* ref_shape.c — reference CPU kernels for the shape and data-movement ops: Reshape, Transpose,
 * Flatten, Concat, Split, Slice, Gather, Squeeze, Unsqueeze, Expand, Tile, Pad, Trilu, Identity,
 * Dropout (inference), Constant, Shape, ConstantOfShape, Range.
 *
 * Data movement works on bytes by element size, so every dtype (f32, f16, bf16, i64, i32,
 * bool) takes the same path. Output dims come from shape inference (infer_shape.c); the kernels
 * read only what they need beyond them (Slice's starts and steps, Gather's indices, Pad's pads).
 * Most copies go through one strided-copy walker (Transpose, Slice, Expand and Tile are all
 * "dense output, strided input"). Not here: Cast (elementwise), any arithmetic.
 */
#include <math.h>
#include <string.h>

#include "../../engine/error.h"
#include "../kernel.h"
#include "cpu_tables.h"
#include "shape_geom.h"

/* ---- helpers ------------------------------------------------------------------------------ */

#define WALK_MAX (2 * ZN_MAX_RANK) /* Tile walks (repeat, dim) pairs */

static int64_t int_at(const zn_view *v, int64_t i) {
    if (v->dtype == ZN_I32) return ((const int32_t *)v->data)[i];
    return ((const int64_t *)v->data)[i];
}

static bool is_int_idx(zn_dtype t) { return t == ZN_I64 || t == ZN_I32; }

static bool present(const zn_exec_ctx *ctx, int i) {
    return i < ctx->n_in && ctx->in[i].dtype != ZN_DTYPE_UNDEFINED && ctx->in[i].data;
}

static bool node_has(const zn_kernel_node *n, int i) {
    return i < n->n_in && n->in[i].dtype != ZN_DTYPE_UNDEFINED;
}

static void dense_strides(int rank, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

/* Copies n elements of size esz from src (element stride sst, possibly 0) to dense dst. */
static void copy_run(char *dst, const char *src, int64_t n, int64_t sst, size_t esz) {
    if (sst == 1) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    switch (esz) {
    case 1: for (int64_t j = 0; j < n; j++) memcpy(dst + j, src + j * sst, 1); break;
    case 2: for (int64_t j = 0; j < n; j++) memcpy(dst + 2 * j, src + 2 * j * sst, 2); break;
    case 4: for (int64_t j = 0; j < n; j++) memcpy(dst + 4 * j, src + 4 * j * sst, 4); break;
    case 8: for (int64_t j = 0; j < n; j++) memcpy(dst + 8 * j, src + 8 * j * sst, 8); break;
    default:
        for (int64_t j = 0; j < n; j++) memcpy(dst + (size_t)j * esz, src + (size_t)(j * sst) * esz, esz);
    }
}

/* dst: dense (dims) = src[sum idx[d] * st[d]] (element strides, may be 0 or negative). */
static void strided_copy(void *dst_, const void *src_, int rank, const int64_t *dims,
                         const int64_t *st, size_t esz) {
    char *dst = dst_;
    const char *src = src_;
    int64_t outer = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0) return;
        if (i < rank - 1) outer *= dims[i];
    }
    if (rank == 0) {
        memcpy(dst, src, esz);
        return;
    }
    int64_t inner = dims[rank - 1], ist = st[rank - 1];
    int64_t idx[WALK_MAX] = {0};
    int64_t off = 0; /* elements */
    for (int64_t o = 0; o < outer; o++) {
        copy_run(dst, src + off * (int64_t)esz, inner, ist, esz);
        dst += (size_t)inner * esz;
        for (int d = rank - 2; d >= 0; d--) {
            idx[d]++;
            off += st[d];
            if (idx[d] < dims[d]) break;
            off -= st[d] * dims[d];
            idx[d] = 0;
        }
    }
}

static bool valid_dt(zn_dtype t) { return zn_dtype_valid(t); }

/* in[0] and out[0] of one dtype, a valid one */
static bool same_dtype_supports(const zn_kernel_node *n) {
    return n->n_in >= 1 && n->n_out >= 1 && valid_dt(n->in[0].dtype) &&
           n->out[0].dtype == n->in[0].dtype;
}

/* ---- aliasing ops: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout ---------------- */

static bool alias_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n) || zn_view_numel(&n->in[0]) != zn_view_numel(&n->out[0])) return false;
    if (n->op == ZN_OP_DROPOUT) {
        if (n->n_out > 1 && n->out[1].dtype != ZN_BOOL) return false;
        if (node_has(n, 2)) { /* training_mode must be a constant false */
            const zn_view *t = &n->in[2];
            if (!t->data || t->dtype != ZN_BOOL || ((const uint8_t *)t->data)[0]) return false;
        }
    }
    return true;
}

/* out[0] = in[0]'s bytes (nothing to do when the runtime aliased them) */
static zn_status alias_run(const zn_exec_ctx *ctx) {
    if (ctx->out[0].data != ctx->in[0].data)
        memcpy(ctx->out[0].data, ctx->in[0].data, zn_view_bytes(&ctx->out[0]));
    if (ctx->node->op == ZN_OP_DROPOUT && ctx->n_out > 1 && ctx->out[1].data)
        memset(ctx->out[1].data, 1, (size_t)zn_view_numel(&ctx->out[1])); /* mask: all kept */
    return ZN_OK;
}

/* ---- Transpose ---------------------------------------------------------------------------- */

static bool transpose_perm(const zn_kernel_node *n, int rank, int64_t *perm) {
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "perm", perm, ZN_MAX_RANK);
    if (np < 0) {
        for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        return true;
    }
    if (np != rank) return false;
    bool seen[ZN_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]]) return false;
        seen[perm[i]] = true;
    }
    return true;
}

static bool transpose_supports(const zn_kernel_node *n) {
    int64_t perm[ZN_MAX_RANK];
    return same_dtype_supports(n) && transpose_perm(n, n->in[0].rank, perm);
}

/* y: (x.dims[perm[0]], ...) */
static zn_status transpose_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t perm[ZN_MAX_RANK], st_in[ZN_MAX_RANK], st[ZN_MAX_RANK];
    if (!transpose_perm(ctx->node, x->rank, perm))
        return zn_error_set(ZN_ERR_RUNTIME, "Transpose: perm does not fit rank %d", x->rank);
    dense_strides(x->rank, x->dims, st_in);
    for (int i = 0; i < x->rank; i++) st[i] = st_in[perm[i]];
    strided_copy(ctx->out[0].data, x->data, x->rank, ctx->out[0].dims, st, zn_dtype_size(x->dtype));
    return ZN_OK;
}

/* ---- Concat / Split ----------------------------------------------------------------------- */

static bool concat_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n)) return false;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i].dtype != n->in[0].dtype || n->in[i].rank != n->out[0].rank) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    return axis >= -n->out[0].rank && axis < n->out[0].rank;
}

static zn_status concat_run(const zn_exec_ctx *ctx) {
    const zn_view *y = &ctx->out[0];
    int64_t axis = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "axis", 0);
    if (axis < 0) axis += y->rank;
    size_t esz = zn_dtype_size(y->dtype);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; d++) outer *= y->dims[d];
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < ctx->n_in; i++) {
            const zn_view *x = &ctx->in[i];
            int64_t chunk = 1;
            for (int d = (int)axis; d < x->rank; d++) chunk *= x->dims[d];
            size_t bytes = (size_t)chunk * esz;
            if (!bytes) continue;
            memcpy(dst, (const char *)x->data + (size_t)o * bytes, bytes);
            dst += bytes;
        }
    return ZN_OK;
}

static bool split_supports(const zn_kernel_node *n) {
    if (n->n_in < 1 || !valid_dt(n->in[0].dtype)) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    if (axis < -n->in[0].rank || axis >= n->in[0].rank) return false;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k].dtype != n->in[0].dtype || n->out[k].rank != n->in[0].rank) return false;
    return true;
}

/* out[k]: x's slices along axis, sizes from the output dims */
static zn_status split_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t axis = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "axis", 0);
    if (axis < 0) axis += x->rank;
    size_t esz = zn_dtype_size(x->dtype);
    int64_t outer = 1, inner = 1, total = 0;
    for (int64_t d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->rank; d++) inner *= x->dims[d];
    for (int k = 0; k < ctx->n_out; k++) total += ctx->out[k].dims[axis];
    if (total != x->dims[axis])
        return zn_error_set(ZN_ERR_RUNTIME, "Split outputs cover %lld of %lld along axis %lld",
                            (long long)total, (long long)x->dims[axis], (long long)axis);
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < ctx->n_out; k++) {
            size_t bytes = (size_t)(ctx->out[k].dims[axis] * inner) * esz;
            if (bytes) memcpy((char *)ctx->out[k].data + (size_t)o * bytes, src, bytes);
            src += bytes;
        }
    return ZN_OK;
}

/* ---- Slice -------------------------------------------------------------------------------- */

/* Per-dim start and step for x under the ONNX clamping rules; false on bad input. */
static bool slice_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n) || n->in[0].rank != n->out[0].rank) return false;
    for (int i = 1; i < n->n_in; i++)
        if (node_has(n, i) && !is_int_idx(n->in[i].dtype)) return false;
    return n->n_in >= 3 && node_has(n, 1) && node_has(n, 2);
}

static zn_status slice_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t start[ZN_MAX_RANK], step[ZN_MAX_RANK], st_in[ZN_MAX_RANK], st[ZN_MAX_RANK];
    if (!zn_slice_params(x, ctx->in, ctx->n_in, start, step))
        return zn_error_set(ZN_ERR_RUNTIME, "Slice: starts/ends/axes/steps do not fit the input");
    dense_strides(x->rank, x->dims, st_in);
    int64_t off = 0;
    for (int d = 0; d < x->rank; d++) {
        if (ctx->out[0].dims[d] == 0) return ZN_OK;
        off += start[d] * st_in[d];
        st[d] = st_in[d] * step[d];
    }
    size_t esz = zn_dtype_size(x->dtype);
    strided_copy(ctx->out[0].data, (const char *)x->data + (size_t)off * esz, x->rank,
                 ctx->out[0].dims, st, esz);
    return ZN_OK;
}

/* ---- Gather ------------------------------------------------------------------------------- */

static bool gather_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || !is_int_idx(n->in[1].dtype)) return false;
    int64_t axis = zn_attrs_int(n->attrs, n->n_attrs, "axis", 0);
    return n->in[0].rank >= 1 && axis >= -n->in[0].rank && axis < n->in[0].rank;
}

/* y: x.dims[:axis] + idx.dims + x.dims[axis+1:] */
static zn_status gather_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0], *ix = &ctx->in[1];
    int64_t axis = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "axis", 0);
    if (axis < 0) axis += x->rank;
    size_t esz = zn_dtype_size(x->dtype);
    int64_t outer = 1, inner = 1, dim = x->dims[axis], ni = zn_view_numel(ix);
    for (int64_t d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = (int)axis + 1; d < x->rank; d++) inner *= x->dims[d];
    for (int64_t i = 0; i < ni; i++) {
        int64_t v = int_at(ix, i);
        if (v < -dim || v >= dim)
            return zn_error_set(ZN_ERR_RUNTIME,
                                "Gather index %lld (at position %lld) is out of range for dim %lld "
                                "of size %lld (valid: -%lld..%lld)",
                                (long long)v, (long long)i, (long long)axis, (long long)dim,
                                (long long)dim, (long long)(dim - 1));
    }
    size_t bytes = (size_t)inner * esz;
    char *dst = ctx->out[0].data;
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ni; i++) {
            int64_t v = int_at(ix, i);
            if (v < 0) v += dim;
            memcpy(dst, src + (size_t)(o * dim + v) * bytes, bytes);
            dst += bytes;
        }
    return ZN_OK;
}

/* ---- Expand / Tile ------------------------------------------------------------------------ */

static bool expand_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || n->out[0].rank < n->in[0].rank) return false;
    const zn_view *x = &n->in[0], *y = &n->out[0];
    for (int i = 0; i < x->rank; i++) {
        int64_t dx = x->dims[x->rank - 1 - i], dy = y->dims[y->rank - 1 - i];
        if (dx != dy && dx != 1) return false;
    }
    return true;
}

static zn_status expand_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0], *y = &ctx->out[0];
    int64_t st_in[ZN_MAX_RANK], st[ZN_MAX_RANK];
    dense_strides(x->rank, x->dims, st_in);
    int lead = y->rank - x->rank;
    for (int d = 0; d < y->rank; d++) {
        int xd = d - lead;
        st[d] = (xd < 0 || x->dims[xd] == 1) ? 0 : st_in[xd];
    }
    strided_copy(y->data, x->data, y->rank, y->dims, st, zn_dtype_size(x->dtype));
    return ZN_OK;
}

static bool tile_supports(const zn_kernel_node *n) {
    if (n->n_in != 2 || !same_dtype_supports(n) || n->out[0].rank != n->in[0].rank) return false;
    for (int d = 0; d < n->in[0].rank; d++) {
        int64_t dx = n->in[0].dims[d], dy = n->out[0].dims[d];
        if (dx == 0 ? dy != 0 : dy % dx != 0) return false;
    }
    return true;
}

/* y: (r0*d0, r1*d1, ...) walked as (r0, d0, r1, d1, ...) with stride 0 over the repeats */
static zn_status tile_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0], *y = &ctx->out[0];
    int64_t st_in[ZN_MAX_RANK], dims[WALK_MAX], st[WALK_MAX];
    if (zn_view_numel(y) == 0) return ZN_OK;
    dense_strides(x->rank, x->dims, st_in);
    for (int d = 0; d < x->rank; d++) {
        dims[2 * d] = y->dims[d] / x->dims[d];
        st[2 * d] = 0;
        dims[2 * d + 1] = x->dims[d];
        st[2 * d + 1] = st_in[d];
    }
    strided_copy(y->data, x->data, 2 * x->rank, dims, st, zn_dtype_size(x->dtype));
    return ZN_OK;
}

/* ---- Pad ---------------------------------------------------------------------------------- */


static bool pad_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n) || n->in[0].rank != n->out[0].rank) return false;
    if (zn_pad_mode(n->attrs, n->n_attrs) < 0) return false;
    if (!node_has(n, 1) || !is_int_idx(n->in[1].dtype)) return false;
    if (node_has(n, 2) && (n->in[2].dtype != n->in[0].dtype || zn_view_numel(&n->in[2]) != 1)) return false;
    if (node_has(n, 3) && !is_int_idx(n->in[3].dtype)) return false;
    int mode = zn_pad_mode(n->attrs, n->n_attrs);
    for (int d = 0; d < n->in[0].rank; d++) /* edge/reflect need something to repeat */
        if (mode != ZN_PAD_CONSTANT && n->in[0].dims[d] == 0 && n->out[0].dims[d] != 0) return false;
    return true;
}

static zn_status pad_prepare(const zn_kernel_node *n, zn_kernel_prep *prep) {
    int64_t total = 0;
    for (int d = 0; d < n->out[0].rank; d++) total += n->out[0].dims[d];
    prep->scratch_bytes = (size_t)total * sizeof(int64_t);
    return ZN_OK;
}

static int64_t pad_map(int64_t src, int64_t in, int mode) {
    if (src >= 0 && src < in) return src;
    if (mode == ZN_PAD_CONSTANT) return -1;
    if (mode == ZN_PAD_EDGE || in == 1) return src < 0 ? 0 : in - 1;
    int64_t period = 2 * (in - 1); /* reflect, edge not repeated */
    src = ((src % period) + period) % period;
    return src >= in ? period - src : src;
}

/* y: x with pads (begin..., end...) per dim; negative pads crop */
static zn_status pad_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0], *y = &ctx->out[0];
    int mode = zn_pad_mode(ctx->node->attrs, ctx->node->n_attrs);
    int64_t pb[ZN_MAX_RANK];
    const zn_view *axes = present(ctx, 3) ? &ctx->in[3] : NULL;
    if (!zn_pad_begins(x, &ctx->in[1], axes, pb))
        return zn_error_set(ZN_ERR_RUNTIME, "Pad: pads/axes do not fit the input's rank %d", x->rank);
    size_t esz = zn_dtype_size(x->dtype);
    char cval[8] = {0};
    if (present(ctx, 2)) memcpy(cval, ctx->in[2].data, esz);
    if (zn_view_numel(y) == 0) return ZN_OK;
    int r = y->rank;
    if (r == 0) {
        memcpy(y->data, x->data, esz);
        return ZN_OK;
    }
    int64_t *map[ZN_MAX_RANK], st_in[ZN_MAX_RANK];
    int64_t *m = ctx->scratch;
    if (!m) return zn_error_set(ZN_ERR_RUNTIME, "Pad needs scratch and got none");
    for (int d = 0; d < r; d++) {
        map[d] = m;
        for (int64_t o = 0; o < y->dims[d]; o++) m[o] = pad_map(o - pb[d], x->dims[d], mode);
        m += y->dims[d];
    }
    dense_strides(x->rank, x->dims, st_in);
    int64_t inner = y->dims[r - 1], outer = zn_view_numel(y) / inner;
    int64_t idx[ZN_MAX_RANK] = {0};
    char *dst = y->data;
    const char *src = x->data;
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        bool constant_row = false;
        for (int d = 0; d < r - 1; d++) {
            int64_t s = map[d][idx[d]];
            if (s < 0) { constant_row = true; break; }
            off += s * st_in[d];
        }
        for (int64_t j = 0; j < inner; j++) {
            int64_t s = constant_row ? -1 : map[r - 1][j];
            memcpy(dst + (size_t)j * esz, s < 0 ? cval : src + (size_t)(off + s) * esz, esz);
        }
        dst += (size_t)inner * esz;
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < y->dims[d]) break;
            idx[d] = 0;
        }
    }
    return ZN_OK;
}

/* ---- Trilu -------------------------------------------------------------------------------- */

static bool trilu_supports(const zn_kernel_node *n) {
    if (!same_dtype_supports(n) || n->in[0].rank < 2) return false;
    return !node_has(n, 1) || (is_int_idx(n->in[1].dtype) && zn_view_numel(&n->in[1]) == 1);
}

/* y: (..., N, M) = x with the elements below (upper=1) or above (upper=0) diagonal k zeroed */
static zn_status trilu_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    bool upper = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "upper", 1) != 0;
    int64_t k = present(ctx, 1) ? int_at(&ctx->in[1], 0) : 0;
    int64_t N = x->dims[x->rank - 2], M = x->dims[x->rank - 1];
    int64_t mats = (N * M != 0) ? zn_view_numel(x) / (N * M) : 0;
    size_t esz = zn_dtype_size(x->dtype);
    char *y = ctx->out[0].data;
    if (y != x->data) memcpy(y, x->data, zn_view_bytes(x));
    for (int64_t b = 0; b < mats; b++)
        for (int64_t i = 0; i < N; i++) {
            char *row = y + (size_t)((b * N + i) * M) * esz;
            int64_t lo, hi; /* zero columns [lo, hi) */
            if (upper) { lo = 0; hi = i + k; }     /* keep j - i >= k */
            else { lo = i + k + 1; hi = M; }       /* keep j - i <= k */
            if (lo < 0) lo = 0;
            if (hi > M) hi = M;
            if (hi > lo) memset(row + (size_t)lo * esz, 0, (size_t)(hi - lo) * esz);
        }
    return ZN_OK;
}

/* ---- Constant / Shape / ConstantOfShape / Range ------------------------------------------- */

static bool constant_supports(const zn_kernel_node *n) {
    if (n->n_out != 1) return false;
    const zn_attr *a;
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value")) && a->type == ZN_ATTR_TENSOR && a->t)
        return a->t->dtype == n->out[0].dtype && valid_dt(a->t->dtype);
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_float")) || (a = zn_attrs_find(n->attrs, n->n_attrs, "value_floats")))
        return n->out[0].dtype == ZN_F32;
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_int")) || (a = zn_attrs_find(n->attrs, n->n_attrs, "value_ints")))
        return n->out[0].dtype == ZN_I64;
    return false;
}

static zn_status constant_run(const zn_exec_ctx *ctx) {
    const zn_kernel_node *n = ctx->node;
    const zn_view *y = &ctx->out[0];
    int64_t cnt = zn_view_numel(y);
    const zn_attr *a;
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value")) && a->type == ZN_ATTR_TENSOR && a->t) {
        int64_t tn = 1;
        for (int i = 0; i < a->t->rank; i++) tn *= a->t->dims[i];
        if (tn != cnt) return zn_error_set(ZN_ERR_RUNTIME, "Constant: value has %lld elements, output %lld",
                                           (long long)tn, (long long)cnt);
        if (cnt) memcpy(y->data, a->t->data, zn_view_bytes(y));
    } else if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_float"))) {
        ((float *)y->data)[0] = zn_attrs_float(n->attrs, n->n_attrs, "value_float", 0);
    } else if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_floats"))) {
        if (a->type != ZN_ATTR_FLOATS || a->n != cnt) return zn_error_set(ZN_ERR_RUNTIME, "Constant: value_floats count");
        if (cnt) memcpy(y->data, a->floats, sizeof(float) * (size_t)cnt);
    } else if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_int"))) {
        ((int64_t *)y->data)[0] = zn_attrs_int(n->attrs, n->n_attrs, "value_int", 0);
    } else if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_ints"))) {
        if (zn_attrs_ints(n->attrs, n->n_attrs, "value_ints", y->data, (int)cnt) != cnt)
            return zn_error_set(ZN_ERR_RUNTIME, "Constant: value_ints count");
    } else {
        return zn_error_set(ZN_ERR_RUNTIME, "Constant has no value attribute");
    }
    return ZN_OK;
}

static bool shape_supports(const zn_kernel_node *n) {
    return n->n_in == 1 && n->n_out == 1 && n->out[0].dtype == ZN_I64 && n->out[0].rank == 1;
}

/* y: (end - start) i64 = x.dims[start:end] (negative start/end count from the back, clamped) */
static zn_status shape_run(const zn_exec_ctx *ctx) {
    const zn_view *x = &ctx->in[0];
    int64_t r = x->rank;
    int64_t s = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "start", 0);
    int64_t e = zn_attrs_int(ctx->node->attrs, ctx->node->n_attrs, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : (s > r ? r : s);
    e = e < 0 ? 0 : (e > r ? r : e);
    int64_t *y = ctx->out[0].data;
    int64_t want = e > s ? e - s : 0;
    if (ctx->out[0].dims[0] != want)
        return zn_error_set(ZN_ERR_RUNTIME, "Shape: output holds %lld dims, expected %lld",
                            (long long)ctx->out[0].dims[0], (long long)want);
    for (int64_t i = s; i < e; i++) y[i - s] = x->dims[i];
    return ZN_OK;
}

static bool cos_supports(const zn_kernel_node *n) {
    if (n->n_in != 1 || n->n_out != 1 || n->in[0].dtype != ZN_I64 || !valid_dt(n->out[0].dtype)) return false;
    const zn_attr *a = zn_attrs_find(n->attrs, n->n_attrs, "value");
    if (!a) return n->out[0].dtype == ZN_F32;
    if (a->type != ZN_ATTR_TENSOR || !a->t || a->t->dtype != n->out[0].dtype) return false;
    int64_t tn = 1;
    for (int i = 0; i < a->t->rank; i++) tn *= a->t->dims[i];
    return tn == 1;
}

/* y: shape given by x (i64), every element = value (default f32 0) */
static zn_status cos_run(const zn_exec_ctx *ctx) {
    const zn_view *y = &ctx->out[0];
    const zn_attr *a = zn_attrs_find(ctx->node->attrs, ctx->node->n_attrs, "value");
    size_t esz = zn_dtype_size(y->dtype);
    char v[8] = {0};
    if (a && a->t) memcpy(v, a->t->data, esz);
    int64_t cnt = zn_view_numel(y);
    char *dst = y->data;
    for (int64_t i = 0; i < cnt; i++) memcpy(dst + (size_t)i * esz, v, esz);
    return ZN_OK;
}

static bool range_supports(const zn_kernel_node *n) {
    if (n->n_in != 3 || n->n_out != 1) return false;
    zn_dtype t = n->in[0].dtype;
    if (t != ZN_F32 && t != ZN_I64 && t != ZN_I32) return false;
    for (int i = 0; i < 3; i++)
        if (n->in[i].dtype != t || zn_view_numel(&n->in[i]) != 1) return false;
    return n->out[0].dtype == t && n->out[0].rank == 1;
}

/* y[i] = start + i * delta, i < count (count from shape inference) */
static zn_status range_run(const zn_exec_ctx *ctx) {
    const zn_view *y = &ctx->out[0];
    int64_t cnt = y->dims[0];
    switch (y->dtype) {
    case ZN_F32: {
        float s = *(const float *)ctx->in[0].data, d = *(const float *)ctx->in[2].data;
        float *o = y->data;
        for (int64_t i = 0; i < cnt; i++) o[i] = s + (float)i * d;
        break;
    }
    case ZN_I64: {
        int64_t s = *(const int64_t *)ctx->in[0].data, d = *(const int64_t *)ctx->in[2].data;
        int64_t *o = y->data;
        for (int64_t i = 0; i < cnt; i++) o[i] = s + i * d;
        break;
    }
    case ZN_I32: {
        int32_t s = *(const int32_t *)ctx->in[0].data, d = *(const int32_t *)ctx->in[2].data;
        int32_t *o = y->data;
        for (int64_t i = 0; i < cnt; i++) o[i] = (int32_t)((int64_t)s + i * (int64_t)d);
        break;
    }
    default:
        return zn_error_set(ZN_ERR_RUNTIME, "Range: dtype %s", zn_dtype_name(y->dtype));
    }
    return ZN_OK;
}

/* ---- table -------------------------------------------------------------------------------- */

#define CPU ZN_BACKEND_CPU
#define ANY ZN_DTYPE_UNDEFINED
#define AL ZN_KERNEL_ALIAS

static const zn_kernel_spec specs[] = {
    {"ref.reshape", ZN_OP_RESHAPE, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    {"ref.transpose", ZN_OP_TRANSPOSE, CPU, ANY, 0, 0, transpose_supports, NULL, NULL, transpose_run},
    {"ref.flatten", ZN_OP_FLATTEN, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    {"ref.concat", ZN_OP_CONCAT, CPU, ANY, 0, 0, concat_supports, NULL, NULL, concat_run},
    {"ref.split", ZN_OP_SPLIT, CPU, ANY, 0, 0, split_supports, NULL, NULL, split_run},
    {"ref.slice", ZN_OP_SLICE, CPU, ANY, 0, 0, slice_supports, NULL, NULL, slice_run},
    {"ref.gather", ZN_OP_GATHER, CPU, ANY, 0, 0, gather_supports, NULL, NULL, gather_run},
    {"ref.squeeze", ZN_OP_SQUEEZE, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    {"ref.unsqueeze", ZN_OP_UNSQUEEZE, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    {"ref.expand", ZN_OP_EXPAND, CPU, ANY, 0, 0, expand_supports, NULL, NULL, expand_run},
    {"ref.tile", ZN_OP_TILE, CPU, ANY, 0, 0, tile_supports, NULL, NULL, tile_run},
    {"ref.pad", ZN_OP_PAD, CPU, ANY, 0, 0, pad_supports, pad_prepare, NULL, pad_run},
    {"ref.trilu", ZN_OP_TRILU, CPU, ANY, 0, 0, trilu_supports, NULL, NULL, trilu_run},
    {"ref.identity", ZN_OP_IDENTITY, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    /* ZnCopy between memory spaces is a real copy (never aliased); on the CPU both are host */
    {"ref.zncopy", ZN_OP_COPY, CPU, ANY, 0, 0, alias_supports, NULL, NULL, alias_run},
    {"ref.dropout", ZN_OP_DROPOUT, CPU, ANY, 0, AL, alias_supports, NULL, NULL, alias_run},
    {"ref.constant", ZN_OP_CONSTANT, CPU, ANY, 0, 0, constant_supports, NULL, NULL, constant_run},
    {"ref.shape", ZN_OP_SHAPE, CPU, ZN_I64, 0, 0, shape_supports, NULL, NULL, shape_run},
    {"ref.constantofshape", ZN_OP_CONSTANT_OF_SHAPE, CPU, ANY, 0, 0, cos_supports, NULL, NULL, cos_run},
    {"ref.range", ZN_OP_RANGE, CPU, ANY, 0, 0, range_supports, NULL, NULL, range_run},
};

ZN_KERNEL_TABLE(zn_ref_shape_table, specs);
