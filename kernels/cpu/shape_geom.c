/* shape_geom.c — see shape_geom.h. */
#include "shape_geom.h"

#include <string.h>

static int64_t int_at(const zn_view *v, int64_t i) {
    if (v->dtype == ZN_I32) return ((const int32_t *)v->data)[i];
    return ((const int64_t *)v->data)[i];
}

bool zn_slice_params(const zn_view *x, const zn_view *in, int n_in, int64_t *start, int64_t *step) {
    int r = x->rank;
    for (int d = 0; d < r; d++) { start[d] = 0; step[d] = 1; }
    const zn_view *vs = &in[1], *ve = &in[2];
    int64_t n = zn_view_numel(vs);
    if (zn_view_numel(ve) != n || n > r) return false;
    const zn_view *va = n_in > 3 && in[3].dtype != ZN_DTYPE_UNDEFINED ? &in[3] : NULL;
    const zn_view *vt = n_in > 4 && in[4].dtype != ZN_DTYPE_UNDEFINED ? &in[4] : NULL;
    if ((va && zn_view_numel(va) != n) || (vt && zn_view_numel(vt) != n)) return false;
    bool seen[ZN_MAX_RANK] = {false};
    for (int64_t i = 0; i < n; i++) {
        int64_t a = va ? int_at(va, i) : i;
        if (a < 0) a += r;
        if (a < 0 || a >= r || seen[a]) return false;
        seen[a] = true;
        /* ends only decide the output size, which shape inference fixed */
        int64_t dim = x->dims[a], s = int_at(vs, i), t = vt ? int_at(vt, i) : 1;
        if (t == 0) return false;
        if (dim > 0 && t > dim) t = dim; /* a larger step takes one element all the same */
        if (dim > 0 && t < -dim) t = -dim;
        if (s < 0) s += dim;
        if (t > 0) s = s < 0 ? 0 : (s > dim ? dim : s);
        else s = s < 0 ? 0 : (s > dim - 1 ? dim - 1 : s);
        start[a] = s;
        step[a] = t;
    }
    return true;
}

int zn_pad_mode(const zn_attr *attrs, int n_attrs) {
    const char *m = zn_attrs_string(attrs, n_attrs, "mode", "constant");
    if (strcmp(m, "constant") == 0) return ZN_PAD_CONSTANT;
    if (strcmp(m, "reflect") == 0) return ZN_PAD_REFLECT;
    if (strcmp(m, "edge") == 0) return ZN_PAD_EDGE;
    return -1;
}

bool zn_pad_begins(const zn_view *x, const zn_view *pads, const zn_view *axes, int64_t *pb) {
    int r = x->rank;
    int64_t na = axes ? zn_view_numel(axes) : r;
    if (na > r || zn_view_numel(pads) != 2 * na) return false;
    for (int d = 0; d < r; d++) pb[d] = 0;
    for (int64_t i = 0; i < na; i++) {
        int64_t a = axes ? int_at(axes, i) : i;
        if (a < 0) a += r;
        if (a < 0 || a >= r) return false;
        pb[a] = int_at(pads, i);
    }
    return true;
}
