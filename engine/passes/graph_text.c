/* graph_text.c — the graph as text, one line per node, for `zenith-bench inspect --after-passes`
 * and for debugging passes:
 *
 *   enc.0.attn  ZnAttention {num_heads=12, scale=0.125, causal=0}  q: f32[1,16,768], ... -> ctx: f32[1,16,768]
 *
 * Not a serialisation format (nothing parses it back) and it never prints: the caller gets a
 * malloc'd string and decides where it goes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap * 2;
        while (nc <= b->len + (size_t)n) nc *= 2;
        char *p = realloc(b->s, nc);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
}

static void tensor_text(sbuf *b, const zn_graph *g, int t) {
    if (t < 0) {
        sb_printf(b, "(omitted)");
        return;
    }
    const zn_tensor *x = &g->tensors[t];
    char sh[160];
    zn_shape_format(g, &x->shape, sh, sizeof sh);
    sb_printf(b, "%s: %s%s%s", x->name, zn_dtype_name(x->dtype), sh,
              (x->flags & ZN_TENSOR_CONST) ? " const" : "");
}

/* " {axis=-1, perm=[0,2,1,3], activation=gelu}"; tensors as <tensor> */
static void attrs_text(sbuf *b, const zn_node *n) {
    if (n->n_attrs == 0) return;
    sb_printf(b, " {");
    for (int i = 0; i < n->n_attrs; i++) {
        const zn_attr *a = &n->attrs[i];
        sb_printf(b, "%s%s=", i ? ", " : "", a->name);
        switch (a->type) {
        case ZN_ATTR_INT: sb_printf(b, "%lld", (long long)a->i); break;
        case ZN_ATTR_FLOAT: sb_printf(b, "%g", (double)a->f); break;
        case ZN_ATTR_STRING: sb_printf(b, "%s", a->s ? a->s : ""); break;
        case ZN_ATTR_INTS:
            sb_printf(b, "[");
            for (int k = 0; k < a->n; k++) sb_printf(b, "%s%lld", k ? "," : "", (long long)a->ints[k]);
            sb_printf(b, "]");
            break;
        case ZN_ATTR_FLOATS:
            sb_printf(b, "[");
            for (int k = 0; k < a->n; k++) sb_printf(b, "%s%g", k ? "," : "", (double)a->floats[k]);
            sb_printf(b, "]");
            break;
        case ZN_ATTR_TENSOR: sb_printf(b, "<tensor>"); break;
        }
    }
    sb_printf(b, "}");
}

char *zn_graph_to_text(const zn_graph *g) {
    sbuf b = {malloc(4096), 0, 4096, false};
    if (!b.s) return NULL;
    b.s[0] = 0;
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++) live += !g->nodes[i].dead;
    sb_printf(&b, "graph %s: %d nodes\n", g->name, live);
    for (int i = 0; i < g->n_inputs; i++) {
        sb_printf(&b, "  input   ");
        tensor_text(&b, g, g->inputs[i]);
        sb_printf(&b, "\n");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        sb_printf(&b, "  %s  %s", n->name, zn_op_name(n->op));
        attrs_text(&b, n);
        sb_printf(&b, "  ");
        for (int k = 0; k < n->n_inputs; k++) {
            if (k) sb_printf(&b, ", ");
            tensor_text(&b, g, n->inputs[k]);
        }
        sb_printf(&b, " -> ");
        for (int k = 0; k < n->n_outputs; k++) {
            if (k) sb_printf(&b, ", ");
            tensor_text(&b, g, n->outputs[k]);
        }
        sb_printf(&b, "\n");
    }
    for (int i = 0; i < g->n_outputs; i++) {
        sb_printf(&b, "  output  ");
        tensor_text(&b, g, g->outputs[i]);
        sb_printf(&b, "\n");
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
