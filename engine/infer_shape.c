/* infer_shape.c — output dtype and shape of the shape and data-movement ops (see infer.h for
 * the contract): Reshape, Transpose, Flatten, Concat, Split, Slice, Gather, Squeeze, Unsqueeze,
 * Expand, Tile, Pad, Trilu, Identity, Dropout, Constant, Shape, ConstantOfShape, Range.
 *
 * Data-dependent ops need their shape-giving inputs (Reshape's shape, Slice's starts/ends/axes/
 * steps, Expand's shape, Tile's repeats, Pad's pads/axes, Split's split, Squeeze/Unsqueeze's
 * axes, ConstantOfShape's input, Range's scalars) to be compile-time constants; when one is
 * computed at run time the error says so and suggests binding input shapes with --shape, which
 * lets constant folding turn Shape->Gather->Concat chains into constants. Not a kernel.
 */
#include "infer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *dims_str(char *buf, size_t cap, int rank, const int64_t *dims) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

static bool has_in(const zn_kernel_node *n, int i) {
    return i < n->n_in && n->in[i].dtype != ZN_DTYPE_UNDEFINED;
}

static int64_t numel(const zn_view *v) { return zn_view_numel(v); }

/* Reads constant integer input i (i64 or i32) into out (at most cap values). */
static zn_status const_ints(const zn_kernel_node *n, int i, const char *what, int64_t *out,
                            int cap, int *count) {
    const char *op = zn_op_name(n->op);
    const zn_view *v = &n->in[i];
    if (!v->data) {
        zn_error_set(ZN_ERR_UNSUPPORTED, "%s's %s input is computed at run time; Zenith needs it "
                     "constant at compile time", op, what);
        zn_error_hint("bind the model's input shapes with --shape (e.g. --shape input:1x3x224x224) "
                      "so the shape computation folds to a constant");
        return ZN_ERR_UNSUPPORTED;
    }
    if (v->dtype != ZN_I64 && v->dtype != ZN_I32)
        return zn_error_set(ZN_ERR_SHAPE, "%s's %s input must be i64 (or i32), got %s", op, what,
                            zn_dtype_name(v->dtype));
    if (v->rank > 1)
        return zn_error_set(ZN_ERR_SHAPE, "%s's %s input must be 1-D, got rank %d", op, what, v->rank);
    int64_t cnt = numel(v);
    if (cnt > cap)
        return zn_error_set(ZN_ERR_SHAPE, "%s's %s input has %lld values; at most %d fit", op, what,
                            (long long)cnt, cap);
    for (int64_t k = 0; k < cnt; k++)
        out[k] = v->dtype == ZN_I64 ? ((const int64_t *)v->data)[k] : ((const int32_t *)v->data)[k];
    *count = (int)cnt;
    return ZN_OK;
}

/* axis in [-rank, rank) (or [-rank, rank] when inclusive) -> [0, rank) */
static zn_status norm_axis(const zn_kernel_node *n, int64_t axis, int rank, bool inclusive,
                           int64_t *out) {
    int64_t hi = inclusive ? rank : rank - 1;
    if (axis < -rank || axis > hi)
        return zn_error_set(ZN_ERR_SHAPE, "%s axis %lld is out of range for rank %d (valid: %d..%lld)",
                            zn_op_name(n->op), (long long)axis, rank, -rank, (long long)hi);
    *out = axis < 0 ? axis + rank : axis;
    return ZN_OK;
}

static void copy_shape(zn_view *o, const zn_view *x) {
    o->dtype = x->dtype;
    o->rank = x->rank;
    for (int i = 0; i < x->rank; i++) o->dims[i] = x->dims[i];
}

/* ---- per op ------------------------------------------------------------------------------- */

static zn_status infer_reshape(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t sh[ZN_MAX_RANK];
    int cnt;
    zn_status st = const_ints(n, 1, "shape", sh, ZN_MAX_RANK, &cnt);
    if (st != ZN_OK) return st;
    bool allowzero = zn_attrs_int(n->attrs, n->n_attrs, "allowzero", 0) != 0;
    char sx[160], ss[160];
    dims_str(sx, sizeof sx, x->rank, x->dims);
    dims_str(ss, sizeof ss, cnt, sh);
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < cnt; i++) {
        int64_t d = sh[i];
        if (d == -1) {
            if (infer_at >= 0)
                return zn_error_set(ZN_ERR_SHAPE, "Reshape of %s to %s: more than one -1", sx, ss);
            infer_at = i;
            continue;
        }
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return zn_error_set(ZN_ERR_SHAPE, "Reshape of %s to %s: 0 at position %d copies an "
                                    "input dim that does not exist", sx, ss, i);
            d = x->dims[i];
        }
        if (d < 0)
            return zn_error_set(ZN_ERR_SHAPE, "Reshape of %s to %s: dim %lld is invalid", sx, ss,
                                (long long)d);
        out[0].dims[i] = d;
        known *= d;
    }
    int64_t total = numel(x);
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0) {
            zn_error_set(ZN_ERR_SHAPE, "Reshape cannot turn %s (%lld elements) into %s: the "
                         "other dims multiply to %lld", sx, (long long)total, ss, (long long)known);
            zn_error_hint("check the input shapes (--shape)");
            return ZN_ERR_SHAPE;
        }
        out[0].dims[infer_at] = total / known;
        known *= total / known;
    }
    if (known != total) {
        zn_error_set(ZN_ERR_SHAPE, "Reshape cannot turn %s (%lld elements) into %s (%lld elements)",
                     sx, (long long)total, ss, (long long)known);
        zn_error_hint("check the input shapes (--shape)");
        return ZN_ERR_SHAPE;
    }
    out[0].rank = cnt;
    out[0].dtype = x->dtype;
    return ZN_OK;
}

static zn_status infer_transpose(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t perm[ZN_MAX_RANK];
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "perm", perm, ZN_MAX_RANK);
    if (np < 0) {
        for (int i = 0; i < x->rank; i++) perm[i] = x->rank - 1 - i;
        np = x->rank;
    }
    bool seen[ZN_MAX_RANK] = {false}, ok = np == x->rank;
    for (int i = 0; ok && i < np; i++) {
        ok = perm[i] >= 0 && perm[i] < x->rank && !seen[perm[i]];
        if (ok) seen[perm[i]] = true;
    }
    if (!ok) {
        char sx[160], sp[160];
        return zn_error_set(ZN_ERR_SHAPE, "Transpose perm %s is not a permutation of the %d dims "
                            "of %s", dims_str(sp, sizeof sp, np < ZN_MAX_RANK ? np : ZN_MAX_RANK, perm),
                            x->rank, dims_str(sx, sizeof sx, x->rank, x->dims));
    }
    out[0].dtype = x->dtype;
    out[0].rank = x->rank;
    for (int i = 0; i < x->rank; i++) out[0].dims[i] = x->dims[perm[i]];
    return ZN_OK;
}

static zn_status infer_flatten(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t axis = 0;
    zn_status st = norm_axis(n, zn_attrs_int(n->attrs, n->n_attrs, "axis", 1), x->rank, true, &axis);
    if (st != ZN_OK) return st;
    int64_t a = 1, b = 1;
    for (int i = 0; i < x->rank; i++) *(i < axis ? &a : &b) *= x->dims[i];
    out[0].dtype = x->dtype;
    out[0].rank = 2;
    out[0].dims[0] = a;
    out[0].dims[1] = b;
    return ZN_OK;
}

static zn_status infer_concat(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x0 = &n->in[0];
    int64_t axis = 0;
    zn_status st = norm_axis(n, zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), x0->rank, false, &axis);
    if (st != ZN_OK) return st;
    copy_shape(&out[0], x0);
    out[0].dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const zn_view *x = &n->in[i];
        bool ok = x->rank == x0->rank;
        for (int d = 0; ok && d < x->rank; d++) ok = d == axis || x->dims[d] == x0->dims[d];
        if (!ok) {
            char s0[160], si[160];
            return zn_error_set(ZN_ERR_SHAPE, "Concat along axis %lld: input %d is %s but input 0 "
                                "is %s (all dims but the axis must match)", (long long)axis, i,
                                dims_str(si, sizeof si, x->rank, x->dims),
                                dims_str(s0, sizeof s0, x0->rank, x0->dims));
        }
        if (x->dtype != x0->dtype)
            return zn_error_set(ZN_ERR_SHAPE, "Concat: input %d is %s but input 0 is %s", i,
                                zn_dtype_name(x->dtype), zn_dtype_name(x0->dtype));
        out[0].dims[axis] += x->dims[axis];
    }
    return ZN_OK;
}

static zn_status infer_split(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t axis = 0;
    zn_status st = norm_axis(n, zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), x->rank, false, &axis);
    if (st != ZN_OK) return st;
    int64_t dim = x->dims[axis], sizes[64];
    int cnt;
    char sx[160];
    dims_str(sx, sizeof sx, x->rank, x->dims);
    if (has_in(n, 1)) {
        st = const_ints(n, 1, "split", sizes, 64, &cnt);
        if (st != ZN_OK) return st;
    } else if ((cnt = zn_attrs_ints(n->attrs, n->n_attrs, "split", sizes, 64)) >= 0) {
    } else {
        int64_t parts = zn_attrs_int(n->attrs, n->n_attrs, "num_outputs", n->n_out);
        if (parts != n->n_out || parts < 1)
            return zn_error_set(ZN_ERR_SHAPE, "Split: num_outputs=%lld but the node has %d outputs",
                                (long long)parts, n->n_out);
        int64_t chunk = (dim + parts - 1) / parts;
        cnt = (int)parts;
        for (int k = 0; k < cnt; k++) sizes[k] = chunk;
        sizes[cnt - 1] = dim - chunk * (parts - 1);
        if (sizes[cnt - 1] < 0)
            return zn_error_set(ZN_ERR_SHAPE, "Split of %s into %lld parts along axis %lld: %lld "
                                "does not divide into that many non-empty parts", sx,
                                (long long)parts, (long long)axis, (long long)dim);
    }
    if (cnt != n->n_out)
        return zn_error_set(ZN_ERR_SHAPE, "Split gives %d sizes for %d outputs", cnt, n->n_out);
    int64_t total = 0;
    for (int k = 0; k < cnt; k++) {
        if (sizes[k] < 0)
            return zn_error_set(ZN_ERR_SHAPE, "Split: size %lld is negative", (long long)sizes[k]);
        total += sizes[k];
    }
    if (total != dim) {
        char ss[160];
        return zn_error_set(ZN_ERR_SHAPE, "Split sizes %s add up to %lld but %s has %lld along axis "
                            "%lld", dims_str(ss, sizeof ss, cnt, sizes), (long long)total, sx,
                            (long long)dim, (long long)axis);
    }
    for (int k = 0; k < cnt; k++) {
        copy_shape(&out[k], x);
        out[k].dims[axis] = sizes[k];
    }
    return ZN_OK;
}

static zn_status infer_slice(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int r = x->rank;
    int64_t starts[ZN_MAX_RANK], ends[ZN_MAX_RANK], axes[ZN_MAX_RANK], steps[ZN_MAX_RANK];
    int ns, ne, na = -1, nt = -1;
    zn_status st = const_ints(n, 1, "starts", starts, ZN_MAX_RANK, &ns);
    if (st == ZN_OK) st = const_ints(n, 2, "ends", ends, ZN_MAX_RANK, &ne);
    if (st == ZN_OK && has_in(n, 3)) st = const_ints(n, 3, "axes", axes, ZN_MAX_RANK, &na);
    if (st == ZN_OK && has_in(n, 4)) st = const_ints(n, 4, "steps", steps, ZN_MAX_RANK, &nt);
    if (st != ZN_OK) return st;
    if (ne != ns || (na >= 0 && na != ns) || (nt >= 0 && nt != ns) || ns > r)
        return zn_error_set(ZN_ERR_SHAPE, "Slice: starts (%d), ends (%d), axes (%d), steps (%d) "
                            "must have one length, at most the rank %d", ns, ne, na, nt, r);
    copy_shape(&out[0], x);
    bool seen[ZN_MAX_RANK] = {false};
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? axes[i] : i;
        st = norm_axis(n, a, r, false, &a);
        if (st != ZN_OK) return st;
        if (seen[a]) return zn_error_set(ZN_ERR_SHAPE, "Slice: axis %lld appears twice", (long long)a);
        seen[a] = true;
        int64_t dim = x->dims[a], s = starts[i], e = ends[i], t = nt >= 0 ? steps[i] : 1;
        if (t == 0) return zn_error_set(ZN_ERR_SHAPE, "Slice: step 0 on axis %lld", (long long)a);
        if (t > dim && dim > 0) t = dim;     /* larger steps take one element too */
        if (t < -dim && dim > 0) t = -dim;
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        int64_t cnt;
        if (t > 0) {
            s = s < 0 ? 0 : (s > dim ? dim : s);
            e = e < 0 ? 0 : (e > dim ? dim : e);
            cnt = e > s ? (e - s + t - 1) / t : 0;
        } else {
            s = s < 0 ? 0 : (s > dim - 1 ? dim - 1 : s);
            e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
            cnt = s > e ? (s - e - t - 1) / -t : 0;
            if (dim == 0) cnt = 0; /* s clamps to 0 and e to -1 over an empty dim: nothing to take */
        }
        out[0].dims[a] = cnt;
    }
    return ZN_OK;
}

static zn_status infer_gather(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0], *ix = &n->in[1];
    int64_t axis = 0;
    if (x->rank < 1) return zn_error_set(ZN_ERR_SHAPE, "Gather needs data of rank >= 1, got a scalar");
    zn_status st = norm_axis(n, zn_attrs_int(n->attrs, n->n_attrs, "axis", 0), x->rank, false, &axis);
    if (st != ZN_OK) return st;
    if (ix->dtype != ZN_I64 && ix->dtype != ZN_I32)
        return zn_error_set(ZN_ERR_SHAPE, "Gather indices must be i64 or i32, got %s", zn_dtype_name(ix->dtype));
    int rank = x->rank - 1 + ix->rank;
    if (rank > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_SHAPE, "Gather result rank %d exceeds ZN_MAX_RANK (%d)", rank, ZN_MAX_RANK);
    int64_t dim = x->dims[axis];
    if (ix->data) /* constant indices: check them now */
        for (int64_t i = 0; i < numel(ix); i++) {
            int64_t v = ix->dtype == ZN_I64 ? ((const int64_t *)ix->data)[i] : ((const int32_t *)ix->data)[i];
            if (v < -dim || v >= dim) {
                char sx[160];
                return zn_error_set(ZN_ERR_SHAPE, "Gather index %lld is out of range for dim %lld "
                                    "(size %lld) of %s", (long long)v, (long long)axis,
                                    (long long)dim, dims_str(sx, sizeof sx, x->rank, x->dims));
            }
        }
    int r = 0;
    for (int d = 0; d < axis; d++) out[0].dims[r++] = x->dims[d];
    for (int d = 0; d < ix->rank; d++) out[0].dims[r++] = ix->dims[d];
    for (int d = (int)axis + 1; d < x->rank; d++) out[0].dims[r++] = x->dims[d];
    out[0].rank = r;
    out[0].dtype = x->dtype;
    return ZN_OK;
}

/* axes of Squeeze/Unsqueeze: input 1 (opset 13) or attribute (before); -1 count when absent */
static zn_status squeeze_axes(const zn_kernel_node *n, int64_t *axes, int *cnt) {
    if (has_in(n, 1)) return const_ints(n, 1, "axes", axes, ZN_MAX_RANK, cnt);
    *cnt = zn_attrs_ints(n->attrs, n->n_attrs, "axes", axes, ZN_MAX_RANK);
    if (*cnt > ZN_MAX_RANK) return zn_error_set(ZN_ERR_SHAPE, "%s: too many axes (%d)", zn_op_name(n->op), *cnt);
    return ZN_OK;
}

static zn_status infer_squeeze(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t axes[ZN_MAX_RANK];
    int cnt;
    zn_status st = squeeze_axes(n, axes, &cnt);
    if (st != ZN_OK) return st;
    bool drop[ZN_MAX_RANK] = {false};
    char sx[160];
    dims_str(sx, sizeof sx, x->rank, x->dims);
    if (cnt < 0) {
        for (int d = 0; d < x->rank; d++) drop[d] = x->dims[d] == 1;
    } else {
        for (int i = 0; i < cnt; i++) {
            int64_t a = 0;
            st = norm_axis(n, axes[i], x->rank, false, &a);
            if (st != ZN_OK) return st;
            if (x->dims[a] != 1)
                return zn_error_set(ZN_ERR_SHAPE, "Squeeze axis %lld of %s has size %lld, not 1",
                                    (long long)axes[i], sx, (long long)x->dims[a]);
            drop[a] = true;
        }
    }
    int r = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) out[0].dims[r++] = x->dims[d];
    out[0].rank = r;
    out[0].dtype = x->dtype;
    return ZN_OK;
}

static zn_status infer_unsqueeze(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t axes[ZN_MAX_RANK];
    int cnt;
    zn_status st = squeeze_axes(n, axes, &cnt);
    if (st != ZN_OK) return st;
    if (cnt < 0) return zn_error_set(ZN_ERR_SHAPE, "Unsqueeze needs axes (an input from opset 13, an attribute before)");
    int r = x->rank + cnt;
    if (r > ZN_MAX_RANK)
        return zn_error_set(ZN_ERR_SHAPE, "Unsqueeze result rank %d exceeds ZN_MAX_RANK (%d)", r, ZN_MAX_RANK);
    bool ins[ZN_MAX_RANK] = {false};
    for (int i = 0; i < cnt; i++) {
        int64_t a = 0;
        st = norm_axis(n, axes[i], r, false, &a);
        if (st != ZN_OK) return st;
        if (ins[a]) return zn_error_set(ZN_ERR_SHAPE, "Unsqueeze: axis %lld appears twice", (long long)axes[i]);
        ins[a] = true;
    }
    int k = 0;
    for (int d = 0; d < r; d++) out[0].dims[d] = ins[d] ? 1 : x->dims[k++];
    out[0].rank = r;
    out[0].dtype = x->dtype;
    return ZN_OK;
}

static zn_status infer_expand(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t sh[ZN_MAX_RANK];
    int cnt;
    zn_status st = const_ints(n, 1, "shape", sh, ZN_MAX_RANK, &cnt);
    if (st != ZN_OK) return st;
    st = zn_broadcast_shapes(x->rank, x->dims, cnt, sh, &out[0].rank, out[0].dims); /* bidirectional */
    if (st != ZN_OK) return st;
    out[0].dtype = x->dtype;
    return ZN_OK;
}

static zn_status infer_tile(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int64_t rep[ZN_MAX_RANK];
    int cnt;
    zn_status st = const_ints(n, 1, "repeats", rep, ZN_MAX_RANK, &cnt);
    if (st != ZN_OK) return st;
    char sx[160], sr[160];
    if (cnt != x->rank)
        return zn_error_set(ZN_ERR_SHAPE, "Tile repeats %s must have one value per dim of %s",
                            dims_str(sr, sizeof sr, cnt, rep), dims_str(sx, sizeof sx, x->rank, x->dims));
    copy_shape(&out[0], x);
    for (int d = 0; d < cnt; d++) {
        if (rep[d] < 0)
            return zn_error_set(ZN_ERR_SHAPE, "Tile repeats %s: a negative repeat",
                                dims_str(sr, sizeof sr, cnt, rep));
        out[0].dims[d] *= rep[d];
    }
    return ZN_OK;
}

static zn_status infer_pad(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    int r = x->rank;
    const char *mode = zn_attrs_string(n->attrs, n->n_attrs, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge"))
        return zn_error_set(ZN_ERR_UNSUPPORTED, "Pad mode '%s' is not supported (constant, reflect, "
                            "edge are)", mode);
    int64_t pads[2 * ZN_MAX_RANK], axes[ZN_MAX_RANK];
    int np, na = r;
    zn_status st = const_ints(n, 1, "pads", pads, 2 * ZN_MAX_RANK, &np);
    if (st == ZN_OK && has_in(n, 3)) st = const_ints(n, 3, "axes", axes, ZN_MAX_RANK, &na);
    if (st != ZN_OK) return st;
    if (!has_in(n, 3))
        for (int i = 0; i < r; i++) axes[i] = i;
    char sx[160], sp[320];
    dims_str(sx, sizeof sx, r, x->dims);
    if (np != 2 * na)
        return zn_error_set(ZN_ERR_SHAPE, "Pad: pads %s need 2 values per padded axis (%d axes of %s)",
                            dims_str(sp, sizeof sp, np, pads), na, sx);
    if (has_in(n, 2) && (n->in[2].dtype != x->dtype || numel(&n->in[2]) != 1))
        return zn_error_set(ZN_ERR_SHAPE, "Pad: constant_value must be one %s value",
                            zn_dtype_name(x->dtype));
    copy_shape(&out[0], x);
    for (int i = 0; i < na; i++) {
        int64_t a = 0;
        st = norm_axis(n, axes[i], r, false, &a);
        if (st != ZN_OK) return st;
        int64_t d = x->dims[a] + pads[i] + pads[na + i];
        if (d < 0)
            return zn_error_set(ZN_ERR_SHAPE, "Pad: pads %s crop more than dim %lld of %s holds",
                                dims_str(sp, sizeof sp, np, pads), (long long)a, sx);
        if (strcmp(mode, "constant") && x->dims[a] == 0 && d > 0)
            return zn_error_set(ZN_ERR_SHAPE, "Pad mode '%s' cannot pad the empty dim %lld of %s",
                                mode, (long long)a, sx);
        out[0].dims[a] = d;
    }
    return ZN_OK;
}

static zn_status infer_constant(const zn_kernel_node *n, zn_view *out) {
    const zn_attr *a;
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value")) && a->type == ZN_ATTR_TENSOR && a->t) {
        out[0].dtype = a->t->dtype;
        out[0].rank = a->t->rank;
        for (int i = 0; i < a->t->rank; i++) out[0].dims[i] = a->t->dims[i];
        return ZN_OK;
    }
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_float"))) {
        out[0].dtype = ZN_F32;
        out[0].rank = 0;
        return ZN_OK;
    }
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_floats")) && a->type == ZN_ATTR_FLOATS) {
        out[0].dtype = ZN_F32;
        out[0].rank = 1;
        out[0].dims[0] = a->n;
        return ZN_OK;
    }
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_int"))) {
        out[0].dtype = ZN_I64;
        out[0].rank = 0;
        return ZN_OK;
    }
    if ((a = zn_attrs_find(n->attrs, n->n_attrs, "value_ints")) && a->type == ZN_ATTR_INTS) {
        out[0].dtype = ZN_I64;
        out[0].rank = 1;
        out[0].dims[0] = a->n;
        return ZN_OK;
    }
    zn_error_set(ZN_ERR_UNSUPPORTED, "Constant has none of value, value_float(s), value_int(s)");
    zn_error_hint("string and sparse constants are not supported");
    return ZN_ERR_UNSUPPORTED;
}

static zn_status infer_shape_op(const zn_kernel_node *n, zn_view *out) {
    int64_t r = n->in[0].rank;
    int64_t s = zn_attrs_int(n->attrs, n->n_attrs, "start", 0);
    int64_t e = zn_attrs_int(n->attrs, n->n_attrs, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : (s > r ? r : s);
    e = e < 0 ? 0 : (e > r ? r : e);
    out[0].dtype = ZN_I64;
    out[0].rank = 1;
    out[0].dims[0] = e > s ? e - s : 0;
    return ZN_OK;
}

static zn_status infer_cos(const zn_kernel_node *n, zn_view *out) {
    int64_t sh[ZN_MAX_RANK];
    int cnt;
    if (n->in[0].dtype != ZN_I64)
        return zn_error_set(ZN_ERR_SHAPE, "ConstantOfShape's input must be i64, got %s",
                            zn_dtype_name(n->in[0].dtype));
    zn_status st = const_ints(n, 0, "shape", sh, ZN_MAX_RANK, &cnt);
    if (st != ZN_OK) return st;
    out[0].dtype = ZN_F32;
    const zn_attr *a = zn_attrs_find(n->attrs, n->n_attrs, "value");
    if (a) {
        int64_t tn = 1;
        if (a->type == ZN_ATTR_TENSOR && a->t)
            for (int i = 0; i < a->t->rank; i++) tn *= a->t->dims[i];
        if (a->type != ZN_ATTR_TENSOR || !a->t || tn != 1 || !zn_dtype_valid(a->t->dtype))
            return zn_error_set(ZN_ERR_SHAPE, "ConstantOfShape's value must be a one-element tensor");
        out[0].dtype = a->t->dtype;
    }
    for (int i = 0; i < cnt; i++) {
        if (sh[i] < 0) {
            char ss[160];
            return zn_error_set(ZN_ERR_SHAPE, "ConstantOfShape: shape %s has a negative dim",
                                dims_str(ss, sizeof ss, cnt, sh));
        }
        out[0].dims[i] = sh[i];
    }
    out[0].rank = cnt;
    return ZN_OK;
}

static zn_status infer_range(const zn_kernel_node *n, zn_view *out) {
    static const char *names[3] = {"start", "limit", "delta"};
    zn_dtype t = n->in[0].dtype;
    if (t != ZN_F32 && t != ZN_I64 && t != ZN_I32)
        return zn_error_set(ZN_ERR_SHAPE, "Range supports f32, i64 and i32, got %s", zn_dtype_name(t));
    double v[3];
    int64_t iv[3];
    for (int i = 0; i < 3; i++) {
        const zn_view *x = &n->in[i];
        if (x->dtype != t || numel(x) != 1)
            return zn_error_set(ZN_ERR_SHAPE, "Range's %s must be one %s value (got %s with %lld "
                                "elements)", names[i], zn_dtype_name(t), zn_dtype_name(x->dtype),
                                (long long)numel(x));
        if (!x->data) {
            zn_error_set(ZN_ERR_UNSUPPORTED, "Range's %s input is computed at run time; Zenith "
                         "needs it constant at compile time", names[i]);
            zn_error_hint("bind the model's input shapes with --shape (e.g. --shape input_ids:1x128) "
                          "so the computation folds to a constant");
            return ZN_ERR_UNSUPPORTED;
        }
        if (t == ZN_F32) v[i] = *(const float *)x->data;
        else iv[i] = t == ZN_I64 ? *(const int64_t *)x->data : *(const int32_t *)x->data;
    }
    int64_t cnt;
    if (t == ZN_F32) {
        if (v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
            return zn_error_set(ZN_ERR_SHAPE, "Range: start %g, limit %g, delta %g give no finite "
                                "count (delta must be non-zero)", v[0], v[1], v[2]);
        double c = ceil((v[1] - v[0]) / v[2]);
        cnt = c > 0 ? (int64_t)c : 0;
    } else {
        if (iv[2] == 0) return zn_error_set(ZN_ERR_SHAPE, "Range: delta must be non-zero");
        int64_t diff = iv[1] - iv[0];
        if (iv[2] > 0) cnt = diff > 0 ? (diff + iv[2] - 1) / iv[2] : 0;
        else cnt = diff < 0 ? (-diff - iv[2] - 1) / -iv[2] : 0;
    }
    out[0].dtype = t;
    out[0].rank = 1;
    out[0].dims[0] = cnt;
    return ZN_OK;
}

static zn_status infer_trilu(const zn_kernel_node *n, zn_view *out) {
    const zn_view *x = &n->in[0];
    if (x->rank < 2) {
        char sx[160];
        return zn_error_set(ZN_ERR_SHAPE, "Trilu needs rank >= 2 (it works on the last two dims), "
                            "got %s", dims_str(sx, sizeof sx, x->rank, x->dims));
    }
    if (has_in(n, 1) && numel(&n->in[1]) != 1)
        return zn_error_set(ZN_ERR_SHAPE, "Trilu's k must be a scalar");
    copy_shape(&out[0], x);
    return ZN_OK;
}

zn_status zn_infer_shape_ops(const zn_kernel_node *n, zn_view *out) {
    const zn_op_info *info = zn_op_get_info(n->op);
    if (info && (n->n_in < info->min_inputs || n->n_out < info->min_outputs))
        return zn_error_set(ZN_ERR_INVALID_GRAPH, "%s takes at least %d inputs and %d outputs, got "
                            "%d and %d", info->name, info->min_inputs, info->min_outputs, n->n_in,
                            n->n_out);
    switch (n->op) {
    case ZN_OP_RESHAPE: return infer_reshape(n, out);
    case ZN_OP_TRANSPOSE: return infer_transpose(n, out);
    case ZN_OP_FLATTEN: return infer_flatten(n, out);
    case ZN_OP_CONCAT: return infer_concat(n, out);
    case ZN_OP_SPLIT: return infer_split(n, out);
    case ZN_OP_SLICE: return infer_slice(n, out);
    case ZN_OP_GATHER: return infer_gather(n, out);
    case ZN_OP_SQUEEZE: return infer_squeeze(n, out);
    case ZN_OP_UNSQUEEZE: return infer_unsqueeze(n, out);
    case ZN_OP_EXPAND: return infer_expand(n, out);
    case ZN_OP_TILE: return infer_tile(n, out);
    case ZN_OP_PAD: return infer_pad(n, out);
    case ZN_OP_TRILU: return infer_trilu(n, out);
    case ZN_OP_IDENTITY: case ZN_OP_COPY: copy_shape(&out[0], &n->in[0]); return ZN_OK;
    case ZN_OP_DROPOUT:
        copy_shape(&out[0], &n->in[0]);
        if (n->n_out > 1) {
            copy_shape(&out[1], &n->in[0]);
            out[1].dtype = ZN_BOOL;
        }
        return ZN_OK;
    case ZN_OP_CONSTANT: return infer_constant(n, out);
    case ZN_OP_SHAPE: return infer_shape_op(n, out);
    case ZN_OP_CONSTANT_OF_SHAPE: return infer_cos(n, out);
    case ZN_OP_RANGE: return infer_range(n, out);
    default:
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_infer_shape_ops does not handle %s",
                            zn_op_name(n->op));
    }
}
