/* conv_geom.c — Conv and pooling window geometry (see conv_geom.h). */
#include "conv_geom.h"

#include <string.h>

bool zn_conv_geom_init(zn_conv_geom *g, const zn_kernel_node *n, const zn_view *x, const zn_view *y,
                       const zn_view *w) {
    memset(g, 0, sizeof *g);
    int nsp = x->rank - 2;
    if (nsp < 1 || nsp > 3 || y->rank != x->rank) return false;
    g->nsp = nsp;
    int64_t ks[3], st[3], dl[3], pads[6];
    int nk = zn_attrs_ints(n->attrs, n->n_attrs, "kernel_shape", ks, 3);
    if (nk < 0 && w) {
        if (w->rank != x->rank) return false;
        for (int i = 0; i < nsp; i++) ks[i] = w->dims[2 + i];
        nk = nsp;
    }
    if (nk != nsp) return false;
    int ns = zn_attrs_ints(n->attrs, n->n_attrs, "strides", st, 3);
    int nd = zn_attrs_ints(n->attrs, n->n_attrs, "dilations", dl, 3);
    int np = zn_attrs_ints(n->attrs, n->n_attrs, "pads", pads, 6);
    if ((ns >= 0 && ns != nsp) || (nd >= 0 && nd != nsp) || (np >= 0 && np != 2 * nsp)) return false;
    const char *ap = zn_attrs_string(n->attrs, n->n_attrs, "auto_pad", "NOTSET");
    bool same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0) return false;
    int off = 3 - nsp;
    for (int i = 0; i < 3; i++) {
        g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
        g->pb[i] = g->pe[i] = 0;
    }
    for (int i = 0; i < nsp; i++) {
        int j = off + i;
        g->in[j] = x->dims[2 + i];
        g->out[j] = y->dims[2 + i];
        g->k[j] = ks[i];
        g->s[j] = ns >= 0 ? st[i] : 1;
        g->d[j] = nd >= 0 ? dl[i] : 1;
        if (g->k[j] < 1 || g->s[j] < 1 || g->d[j] < 1) return false;
        if (same_upper || same_lower) {
            int64_t total = (g->out[j] - 1) * g->s[j] + (g->k[j] - 1) * g->d[j] + 1 - g->in[j];
            if (total < 0) total = 0;
            g->pb[j] = same_upper ? total / 2 : total - total / 2;
            g->pe[j] = total - g->pb[j];
        } else if (!valid && np >= 0) {
            g->pb[j] = pads[i];
            g->pe[j] = pads[nsp + i];
            if (g->pb[j] < 0 || g->pe[j] < 0) return false;
        }
    }
    g->in_sz = g->in[0] * g->in[1] * g->in[2];
    g->out_sz = g->out[0] * g->out[1] * g->out[2];
    g->k_sz = g->k[0] * g->k[1] * g->k[2];
    return true;
}

bool zn_f32_views(const zn_view *v, int n) {
    for (int i = 0; i < n; i++)
        if (v[i].dtype != ZN_DTYPE_UNDEFINED && v[i].dtype != ZN_F32) return false;
    return true;
}

bool zn_conv_pointwise(const zn_conv_geom *g) {
    for (int i = 0; i < 3; i++)
        if (g->k[i] != 1 || g->s[i] != 1 || g->pb[i] != 0 || g->pe[i] != 0) return false;
    return true;
}

bool zn_conv_node_geom(const zn_kernel_node *n, zn_conv_geom *g, int64_t *group) {
    if (n->n_in < 2 || n->n_out != 1) return false;
    const zn_view *x = &n->in[0], *w = &n->in[1], *y = &n->out[0];
    if (!zn_conv_geom_init(g, n, x, y, w) || w->rank != x->rank) return false;
    for (int i = 0; i < g->nsp; i++)
        if (w->dims[2 + i] != g->k[3 - g->nsp + i]) return false;
    *group = zn_attrs_int(n->attrs, n->n_attrs, "group", 1);
    int64_t C = x->dims[1], M = w->dims[0];
    if (*group < 1 || C % *group || M % *group || w->dims[1] != C / *group) return false;
    return y->dims[0] == x->dims[0] && y->dims[1] == M;
}

bool zn_pool_node_supported(const zn_kernel_node *n) {
    zn_conv_geom g;
    if (n->n_in != 1 || n->n_out != 1) return false;
    if (n->in[0].dtype != ZN_F32 || n->out[0].dtype != ZN_F32) return false;
    if (!zn_conv_geom_init(&g, n, &n->in[0], &n->out[0], NULL)) return false;
    if (zn_attrs_int(n->attrs, n->n_attrs, "storage_order", 0) != 0) return false;
    return n->out[0].dims[0] == n->in[0].dims[0] && n->out[0].dims[1] == n->in[0].dims[1];
}
