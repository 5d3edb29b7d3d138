/* graph.c — the IR: builder, queries, symbols and binding, clone and compaction.
 *
 * Validation and topological sorting live in validate.c; shape inference and folding in
 * shape_infer.c. Small strings and arrays use plain malloc; constant data (the big part) goes
 * through the counting allocator so reports can show it.
 */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Grows an array of `elem` bytes so that index n fits; 0 on success. */
static int grow(void **arr, int *cap, int n, size_t elem) {
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc <= n) nc *= 2;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p) return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return 0;
}

zn_graph *zn_graph_new(const char *name) {
    zn_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->name = dup_str(name ? name : "graph");
    if (!g->name) {
        free(g);
        return NULL;
    }
    return g;
}

void zn_attrs_free(zn_attr *attrs, int n) {
    for (int i = 0; i < n; i++) {
        free(attrs[i].name);
        free(attrs[i].s);
        free(attrs[i].ints);
        free(attrs[i].floats);
        if (attrs[i].t) {
            zn_free(attrs[i].t->data);
            free(attrs[i].t);
        }
    }
    free(attrs);
}

static void node_clear(zn_node *n) {
    free(n->name);
    free(n->inputs);
    free(n->outputs);
    zn_attrs_free(n->attrs, n->n_attrs);
    memset(n, 0, sizeof *n);
}

void zn_graph_free(zn_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_tensors; i++) {
        free(g->tensors[i].name);
        zn_free(g->tensors[i].data);
    }
    for (int i = 0; i < g->n_nodes; i++) node_clear(&g->nodes[i]);
    for (int i = 0; i < g->n_symbols; i++) free(g->symbols[i]);
    free(g->symbols);
    free(g->name_index);
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    free(g);
}

const char *zn_graph_name(const zn_graph *g) { return g->name; }
zn_model_meta *zn_graph_meta(zn_graph *g) { return &g->meta; }
const zn_model_meta *zn_graph_meta_const(const zn_graph *g) { return &g->meta; }

/* ---- symbols ----------------------------------------------------------------------------- */

int zn_graph_symbol(zn_graph *g, const char *name) {
    for (int i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], name) == 0) return i;
    char **p = realloc(g->symbols, sizeof(char *) * (size_t)(g->n_symbols + 1));
    if (!p) return -1;
    g->symbols = p;
    g->symbols[g->n_symbols] = dup_str(name);
    if (!g->symbols[g->n_symbols]) return -1;
    return g->n_symbols++;
}

const char *zn_graph_symbol_name(const zn_graph *g, int sym) {
    return (sym >= 0 && sym < g->n_symbols) ? g->symbols[sym] : "?";
}

int zn_graph_num_symbols(const zn_graph *g) { return g->n_symbols; }

/* ---- tensors ----------------------------------------------------------------------------- */

/* FNV-1a: tensor names are short; the table keeps importing a 20k-node graph linear. */
static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void index_insert(zn_graph *g, int t) {
    uint32_t mask = (uint32_t)g->name_index_cap - 1;
    uint32_t i = name_hash(g->tensors[t].name) & mask;
    while (g->name_index[i]) i = (i + 1) & mask;
    g->name_index[i] = t + 1;
}

/* Rebuilds the index at a capacity keeping the load factor under 1/2; -1 when out of memory
 * (the index is then dropped and look-ups fall back to a scan). */
static int index_rebuild(zn_graph *g, int want) {
    int cap = 64;
    while (cap < 2 * want) cap *= 2;
    int *idx = calloc((size_t)cap, sizeof(int));
    free(g->name_index);
    g->name_index = idx;
    g->name_index_cap = idx ? cap : 0;
    if (!idx) return -1;
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].name) index_insert(g, t);
    return 0;
}

int zn_graph_find_tensor(const zn_graph *g, const char *name) {
    if (!g->name_index) {
        for (int i = g->n_tensors - 1; i >= 0; i--)
            if (g->tensors[i].name && strcmp(g->tensors[i].name, name) == 0) return i;
        return -1;
    }
    uint32_t mask = (uint32_t)g->name_index_cap - 1;
    for (uint32_t i = name_hash(name) & mask; g->name_index[i]; i = (i + 1) & mask) {
        int t = g->name_index[i] - 1;
        if (t < g->n_tensors && strcmp(g->tensors[t].name, name) == 0) return t;
    }
    return -1;
}

/* A new tensor with a unique name (a numeric suffix is added when `name` is taken). */
static int new_tensor(zn_graph *g, const char *name) {
    if (grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors, sizeof(zn_tensor))) return -1;
    char buf[ZN_MAX_NAME + 16];
    snprintf(buf, sizeof buf, "%s", name);
    for (int k = 1; zn_graph_find_tensor(g, buf) >= 0; k++) snprintf(buf, sizeof buf, "%s_%d", name, k);
    zn_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = dup_str(buf);
    if (!t->name) return -1;
    t->producer = -1;
    int id = g->n_tensors++;
    if (2 * g->n_tensors > g->name_index_cap) index_rebuild(g, g->n_tensors);
    else index_insert(g, id);
    return id;
}

static int push_id(int **arr, int *n, int *cap, int v) {
    if (grow((void **)arr, cap, *n, sizeof(int))) return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

int zn_graph_add_input(zn_graph *g, const char *name, zn_dtype dtype, int rank, const zn_dim *dims) {
    if (!name || rank < 0 || rank > ZN_MAX_RANK || !zn_dtype_valid(dtype)) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "graph input '%s': bad dtype or rank %d (max %d)",
                     name ? name : "?", rank, ZN_MAX_RANK);
        return -1;
    }
    if (zn_graph_find_tensor(g, name) >= 0) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "graph input '%s' is declared twice", name);
        return -1;
    }
    int t = new_tensor(g, name);
    if (t < 0 || push_id(&g->inputs, &g->n_inputs, &g->cap_inputs, t)) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory adding input '%s'", name);
        return -1;
    }
    zn_tensor *x = &g->tensors[t];
    x->dtype = dtype;
    x->flags = ZN_TENSOR_INPUT;
    x->shape.rank = rank;
    for (int i = 0; i < rank; i++) x->shape.dims[i] = dims[i];
    return t;
}

int zn_graph_add_const(zn_graph *g, const char *name, zn_dtype dtype, int rank,
                       const int64_t *dims, const void *data) {
    if (!name || rank < 0 || rank > ZN_MAX_RANK || !zn_dtype_valid(dtype)) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "constant '%s': bad dtype or rank %d (max %d)",
                     name ? name : "?", rank, ZN_MAX_RANK);
        return -1;
    }
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] > 0 && numel > (INT64_C(1) << 40) / dims[i])) {
            zn_error_set(ZN_ERR_INVALID_ARGUMENT, "constant '%s': dim %d is %lld (negative or too large)",
                         name, i, (long long)dims[i]);
            return -1;
        }
        numel *= dims[i];
    }
    size_t bytes = (size_t)numel * zn_dtype_size(dtype);
    void *copy = zn_aligned_alloc(bytes ? bytes : 1);
    if (!copy) {
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory: constant '%s' needs %zu bytes", name, bytes);
        return -1;
    }
    if (data) memcpy(copy, data, bytes);
    else memset(copy, 0, bytes);
    int t = new_tensor(g, name);
    if (t < 0) {
        zn_free(copy);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory adding constant '%s'", name);
        return -1;
    }
    zn_tensor *x = &g->tensors[t];
    x->dtype = dtype;
    x->flags = ZN_TENSOR_CONST;
    x->shape = zn_shape_make(rank, dims);
    x->data = copy;
    return t;
}

int zn_graph_add_node(zn_graph *g, zn_op op, const char *name, int n_in, const int *inputs,
                      int n_out, const char *const *out_names, int *outputs) {
    if (op < 0 || op >= ZN_OP_COUNT || n_in < 0 || n_out < 1 || n_in > 4096 || n_out > 4096) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "add node '%s': bad op or input/output count",
                     name ? name : "?");
        return -1;
    }
    for (int i = 0; i < n_in; i++) {
        if (inputs[i] < -1 || inputs[i] >= g->n_tensors) {
            zn_error_set(ZN_ERR_INVALID_ARGUMENT, "add node '%s' (%s): input %d refers to tensor id %d, which does not exist",
                         name ? name : "?", zn_op_name(op), i, inputs[i]);
            return -1;
        }
    }
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof(zn_node))) goto oom;
    int id = g->n_nodes;
    zn_node *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    char nm[ZN_MAX_NAME];
    if (name && *name) snprintf(nm, sizeof nm, "%s", name);
    else snprintf(nm, sizeof nm, "%s_%d", zn_op_name(op), id);
    n->op = op;
    n->name = dup_str(nm);
    n->inputs = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
    n->outputs = malloc(sizeof(int) * (size_t)n_out);
    if (!n->name || !n->inputs || !n->outputs) {
        node_clear(n);
        goto oom;
    }
    n->n_inputs = n_in;
    if (n_in) memcpy(n->inputs, inputs, sizeof(int) * (size_t)n_in);
    g->n_nodes++; /* the node exists from here; its outputs follow */
    for (int k = 0; k < n_out; k++) {
        char tn[ZN_MAX_NAME + 16];
        if (out_names && out_names[k]) snprintf(tn, sizeof tn, "%s", out_names[k]);
        else if (n_out == 1) snprintf(tn, sizeof tn, "%s", nm);
        else snprintf(tn, sizeof tn, "%s:%d", nm, k);
        int t = new_tensor(g, tn);
        if (t < 0) goto oom;
        n = &g->nodes[id]; /* tensors array moved, nodes did not, but keep it obvious */
        g->tensors[t].producer = id;
        n->outputs[k] = t;
        n->n_outputs = k + 1;
        if (outputs) outputs[k] = t;
    }
    return id;
oom:
    zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory adding node '%s'", name ? name : "?");
    return -1;
}

int zn_graph_op(zn_graph *g, zn_op op, const char *name, int n_in, const int *inputs) {
    int out = -1;
    if (zn_graph_add_node(g, op, name, n_in, inputs, 1, NULL, &out) < 0) return -1;
    return out;
}

zn_status zn_graph_mark_output(zn_graph *g, int tensor) {
    if (tensor < 0 || tensor >= g->n_tensors)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "mark output: tensor id %d does not exist", tensor);
    if (g->tensors[tensor].flags & ZN_TENSOR_OUTPUT) return ZN_OK;
    if (push_id(&g->outputs, &g->n_outputs, &g->cap_outputs, tensor))
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory marking an output");
    g->tensors[tensor].flags |= ZN_TENSOR_OUTPUT;
    return ZN_OK;
}

/* ---- attributes ---------------------------------------------------------------------------- */

zn_attr *zn_node_attr_add(zn_node *n, const char *name, zn_attr_type type) {
    for (int i = 0; i < n->n_attrs; i++) {
        if (strcmp(n->attrs[i].name, name) == 0) { /* replace */
            zn_attr *a = &n->attrs[i];
            free(a->s); free(a->ints); free(a->floats);
            if (a->t) { zn_free(a->t->data); free(a->t); }
            char *keep = a->name;
            memset(a, 0, sizeof *a);
            a->name = keep;
            a->type = type;
            return a;
        }
    }
    zn_attr *p = realloc(n->attrs, sizeof(zn_attr) * (size_t)(n->n_attrs + 1));
    if (!p) return NULL;
    n->attrs = p;
    zn_attr *a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = dup_str(name);
    if (!a->name) return NULL;
    a->type = type;
    n->n_attrs++;
    return a;
}

static zn_attr *attr_for(zn_graph *g, int node, const char *name, zn_attr_type type) {
    if (node < 0 || node >= g->n_nodes || !name) {
        zn_error_set(ZN_ERR_INVALID_ARGUMENT, "set attribute '%s': node id %d does not exist",
                     name ? name : "?", node);
        return NULL;
    }
    zn_attr *a = zn_node_attr_add(&g->nodes[node], name, type);
    if (!a) zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory setting attribute '%s'", name);
    return a;
}

zn_status zn_graph_set_attr_int(zn_graph *g, int node, const char *name, int64_t v) {
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_INT);
    if (!a) return zn_last_error()->status;
    a->i = v;
    return ZN_OK;
}

zn_status zn_graph_set_attr_float(zn_graph *g, int node, const char *name, float v) {
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_FLOAT);
    if (!a) return zn_last_error()->status;
    a->f = v;
    return ZN_OK;
}

zn_status zn_graph_set_attr_string(zn_graph *g, int node, const char *name, const char *v) {
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_STRING);
    if (!a) return zn_last_error()->status;
    a->s = dup_str(v ? v : "");
    return a->s ? ZN_OK : zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
}

zn_status zn_graph_set_attr_ints(zn_graph *g, int node, const char *name, const int64_t *v, int n) {
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_INTS);
    if (!a) return zn_last_error()->status;
    a->ints = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!a->ints) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
    if (n > 0) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n = n;
    return ZN_OK;
}

zn_status zn_graph_set_attr_floats(zn_graph *g, int node, const char *name, const float *v, int n) {
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_FLOATS);
    if (!a) return zn_last_error()->status;
    a->floats = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!a->floats) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
    if (n > 0) memcpy(a->floats, v, sizeof(float) * (size_t)n);
    a->n = n;
    return ZN_OK;
}

zn_status zn_graph_set_attr_tensor(zn_graph *g, int node, const char *name, zn_dtype dtype,
                                   int rank, const int64_t *dims, const void *data) {
    if (rank < 0 || rank > ZN_MAX_RANK || !zn_dtype_valid(dtype))
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "tensor attribute '%s': bad dtype or rank", name);
    zn_attr *a = attr_for(g, node, name, ZN_ATTR_TENSOR);
    if (!a) return zn_last_error()->status;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= dims[i];
    a->t = calloc(1, sizeof *a->t);
    if (!a->t) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
    size_t bytes = (size_t)numel * zn_dtype_size(dtype);
    a->t->data = zn_malloc(bytes ? bytes : 1);
    if (!a->t->data) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
    if (bytes) memcpy(a->t->data, data, bytes);
    a->t->dtype = dtype;
    a->t->rank = rank;
    for (int i = 0; i < rank; i++) a->t->dims[i] = dims[i];
    return ZN_OK;
}

zn_status zn_attrs_copy(zn_attr **dst, const zn_attr *src, int n) {
    *dst = NULL;
    if (n == 0) return ZN_OK;
    zn_attr *d = calloc((size_t)n, sizeof *d);
    if (!d) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory copying attributes");
    for (int i = 0; i < n; i++) {
        d[i] = src[i];
        d[i].name = dup_str(src[i].name);
        d[i].s = src[i].s ? dup_str(src[i].s) : NULL;
        d[i].ints = NULL;
        d[i].floats = NULL;
        d[i].t = NULL;
        if (src[i].ints) {
            d[i].ints = malloc(sizeof(int64_t) * (size_t)(src[i].n ? src[i].n : 1));
            if (d[i].ints) memcpy(d[i].ints, src[i].ints, sizeof(int64_t) * (size_t)src[i].n);
        }
        if (src[i].floats) {
            d[i].floats = malloc(sizeof(float) * (size_t)(src[i].n ? src[i].n : 1));
            if (d[i].floats) memcpy(d[i].floats, src[i].floats, sizeof(float) * (size_t)src[i].n);
        }
        if (src[i].t) {
            d[i].t = malloc(sizeof *d[i].t);
            if (d[i].t) {
                *d[i].t = *src[i].t;
                int64_t numel = 1;
                for (int k = 0; k < src[i].t->rank; k++) numel *= src[i].t->dims[k];
                size_t bytes = (size_t)numel * zn_dtype_size(src[i].t->dtype);
                d[i].t->data = zn_malloc(bytes ? bytes : 1);
                if (d[i].t->data && bytes) memcpy(d[i].t->data, src[i].t->data, bytes);
            }
        }
        if (!d[i].name || (src[i].s && !d[i].s) || (src[i].ints && !d[i].ints) ||
            (src[i].floats && !d[i].floats) || (src[i].t && (!d[i].t || !d[i].t->data))) {
            zn_attrs_free(d, i + 1);
            return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory copying attributes");
        }
    }
    *dst = d;
    return ZN_OK;
}

/* ---- queries ------------------------------------------------------------------------------- */

int zn_graph_num_tensors(const zn_graph *g) { return g->n_tensors; }
int zn_graph_num_nodes(const zn_graph *g) { return g->n_nodes; }
int zn_graph_num_inputs(const zn_graph *g) { return g->n_inputs; }
int zn_graph_num_outputs(const zn_graph *g) { return g->n_outputs; }
int zn_graph_input(const zn_graph *g, int i) { return (i >= 0 && i < g->n_inputs) ? g->inputs[i] : -1; }
int zn_graph_output(const zn_graph *g, int i) { return (i >= 0 && i < g->n_outputs) ? g->outputs[i] : -1; }

static const zn_tensor *tensor_at(const zn_graph *g, int t) {
    return (t >= 0 && t < g->n_tensors) ? &g->tensors[t] : NULL;
}
const char *zn_graph_tensor_name(const zn_graph *g, int t) {
    const zn_tensor *x = tensor_at(g, t);
    return x ? x->name : NULL;
}
zn_dtype zn_graph_tensor_dtype(const zn_graph *g, int t) {
    const zn_tensor *x = tensor_at(g, t);
    return x ? x->dtype : ZN_DTYPE_UNDEFINED;
}
const zn_shape *zn_graph_tensor_shape(const zn_graph *g, int t) {
    const zn_tensor *x = tensor_at(g, t);
    return x ? &x->shape : NULL;
}
void *zn_graph_tensor_data(const zn_graph *g, int t) {
    const zn_tensor *x = tensor_at(g, t);
    return x ? x->data : NULL;
}

/* ---- binding ------------------------------------------------------------------------------- */

zn_status zn_graph_bind_symbol(zn_graph *g, const char *sym, int64_t value) {
    int s = -1;
    for (int i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], sym) == 0) s = i;
    if (s < 0) {
        zn_error_set(ZN_ERR_NOT_FOUND, "the model has no symbolic dim named '%s'", sym);
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < g->n_symbols && len + 40 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", g->symbols[i]);
        if (g->n_symbols) zn_error_hint("its symbolic dims are: %s", list);
        else zn_error_hint("all of its dims are fixed; bind nothing");
        return ZN_ERR_NOT_FOUND;
    }
    if (value < 0 || value > (INT64_C(1) << 31))
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "symbolic dim '%s' = %lld is out of range", sym, (long long)value);
    for (int t = 0; t < g->n_tensors; t++) {
        zn_shape *sh = &g->tensors[t].shape;
        for (int d = 0; d < sh->rank; d++)
            if (sh->dims[d].value < 0 && sh->dims[d].sym == s) sh->dims[d].value = value;
    }
    return ZN_OK;
}

zn_status zn_graph_bind_input_shape(zn_graph *g, const char *input, int rank, const int64_t *dims) {
    int t = -1;
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->tensors[g->inputs[i]].name, input) == 0) t = g->inputs[i];
    if (t < 0) {
        zn_error_set(ZN_ERR_NOT_FOUND, "the model has no input named '%s'", input);
        char list[256] = "";
        size_t len = 0;
        for (int i = 0; i < g->n_inputs && len + 40 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    g->tensors[g->inputs[i]].name);
        zn_error_hint("its inputs are: %s", list);
        return ZN_ERR_NOT_FOUND;
    }
    zn_shape *sh = &g->tensors[t].shape;
    if (sh->rank != rank) {
        char have[128];
        zn_shape_format(g, sh, have, sizeof have);
        zn_error_set(ZN_ERR_SHAPE, "--shape for input '%s' has %d dims, but the input is %s (%d dims)",
                     input, rank, have, sh->rank);
        zn_error_hint("give %d dims, e.g. --shape %s:%s", sh->rank, input, sh->rank == 2 ? "1x128" : "1x...");
        return ZN_ERR_SHAPE;
    }
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0 || dims[d] > (INT64_C(1) << 31))
            return zn_error_set(ZN_ERR_SHAPE, "--shape %s: dim %d = %lld must be positive", input, d, (long long)dims[d]);
        if (sh->dims[d].value >= 0 && sh->dims[d].value != dims[d]) {
            char have[128];
            zn_shape_format(g, sh, have, sizeof have);
            zn_error_set(ZN_ERR_SHAPE, "--shape %s: dim %d is fixed to %lld by the model (%s); %lld was asked",
                         input, d, (long long)sh->dims[d].value, have, (long long)dims[d]);
            zn_error_hint("only symbolic dims can be bound; keep dim %d at %lld", d, (long long)sh->dims[d].value);
            return ZN_ERR_SHAPE;
        }
    }
    for (int d = 0; d < rank; d++) {
        if (sh->dims[d].value < 0 && sh->dims[d].sym >= 0) {
            zn_status st = zn_graph_bind_symbol(g, g->symbols[sh->dims[d].sym], dims[d]);
            if (st != ZN_OK) return st;
        }
        sh->dims[d].value = dims[d];
    }
    return ZN_OK;
}

/* ---- formatting ---------------------------------------------------------------------------- */

void zn_shape_format(const zn_graph *g, const zn_shape *s, char *buf, size_t cap) {
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < s->rank && n < cap; i++) {
        const char *sep = i ? "," : "";
        if (s->dims[i].value >= 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", sep, (long long)s->dims[i].value);
        else if (g && s->dims[i].sym >= 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, zn_graph_symbol_name(g, s->dims[i].sym));
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s?", sep);
    }
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

void zn_graph_describe_inputs(const zn_graph *g, const zn_node *n, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n->n_inputs && len + 8 < cap; i++) {
        int t = n->inputs[i];
        if (t < 0) {
            len += (size_t)snprintf(buf + len, cap - len, "%s(omitted)", i ? ", " : "");
            continue;
        }
        char sh[96];
        zn_shape_format(g, &g->tensors[t].shape, sh, sizeof sh);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s: %s%s", i ? ", " : "", g->tensors[t].name,
                                zn_dtype_name(g->tensors[t].dtype), sh);
    }
}

void zn_graph_kernel_node(const zn_graph *g, const zn_node *n, zn_view *views, zn_kernel_node *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n->n_inputs + n->n_outputs; i++) {
        int t = i < n->n_inputs ? n->inputs[i] : n->outputs[i - n->n_inputs];
        zn_view *v = &views[i];
        memset(v, 0, sizeof *v);
        if (t < 0) continue;
        const zn_tensor *x = &g->tensors[t];
        v->dtype = x->dtype;
        v->rank = x->shape.rank;
        for (int d = 0; d < x->shape.rank; d++) v->dims[d] = x->shape.dims[d].value;
        v->data = (x->flags & ZN_TENSOR_CONST) ? x->data : NULL;
    }
    out->op = n->op;
    out->name = n->name;
    out->attrs = n->attrs;
    out->n_attrs = n->n_attrs;
    out->n_in = n->n_inputs;
    out->in = views;
    out->n_out = n->n_outputs;
    out->out = views + n->n_inputs;
}

/* ---- clone and compaction ------------------------------------------------------------------- */

zn_graph *zn_graph_clone(const zn_graph *g) {
    zn_graph *c = zn_graph_new(g->name);
    if (!c) return NULL;
    c->meta = g->meta;
    for (int i = 0; i < g->n_symbols; i++)
        if (zn_graph_symbol(c, g->symbols[i]) < 0) goto fail;
    c->tensors = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(zn_tensor));
    c->nodes = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(zn_node));
    if (!c->tensors || !c->nodes) goto fail;
    c->cap_tensors = g->n_tensors ? g->n_tensors : 1;
    c->cap_nodes = g->n_nodes ? g->n_nodes : 1;
    for (int i = 0; i < g->n_tensors; i++) {
        const zn_tensor *s = &g->tensors[i];
        zn_tensor *d = &c->tensors[i];
        *d = *s;
        d->name = dup_str(s->name);
        d->data = NULL;
        c->n_tensors = i + 1;
        if (!d->name) goto fail;
        if (s->data) {
            size_t bytes = (size_t)zn_shape_numel(&s->shape) * zn_dtype_size(s->dtype);
            d->data = zn_aligned_alloc(bytes ? bytes : 1);
            if (!d->data) goto fail;
            memcpy(d->data, s->data, bytes);
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *s = &g->nodes[i];
        zn_node *d = &c->nodes[i];
        *d = *s;
        d->name = dup_str(s->name);
        d->inputs = malloc(sizeof(int) * (size_t)(s->n_inputs ? s->n_inputs : 1));
        d->outputs = malloc(sizeof(int) * (size_t)s->n_outputs);
        d->attrs = NULL;
        d->n_attrs = 0;
        c->n_nodes = i + 1;
        if (!d->name || !d->inputs || !d->outputs) goto fail;
        memcpy(d->inputs, s->inputs, sizeof(int) * (size_t)s->n_inputs);
        memcpy(d->outputs, s->outputs, sizeof(int) * (size_t)s->n_outputs);
        if (zn_attrs_copy(&d->attrs, s->attrs, s->n_attrs) != ZN_OK) goto fail;
        d->n_attrs = s->n_attrs;
    }
    for (int i = 0; i < g->n_inputs; i++)
        if (push_id(&c->inputs, &c->n_inputs, &c->cap_inputs, g->inputs[i])) goto fail;
    for (int i = 0; i < g->n_outputs; i++)
        if (push_id(&c->outputs, &c->n_outputs, &c->cap_outputs, g->outputs[i])) goto fail;
    index_rebuild(c, c->n_tensors);
    return c;
fail:
    zn_graph_free(c);
    zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory copying graph '%s'", g->name);
    return NULL;
}

void zn_graph_compact(zn_graph *g) {
    /* 1. drop dead nodes */
    int nn = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) node_clear(&g->nodes[i]);
        else g->nodes[nn++] = g->nodes[i];
    }
    g->n_nodes = nn;
    /* 2. keep tensors that are inputs, outputs or referenced by a live node */
    char *keep = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
    int *remap = malloc(sizeof(int) * (size_t)(g->n_tensors ? g->n_tensors : 1));
    if (!keep || !remap) { /* compaction is an optimisation; skipping it is safe */
        free(keep);
        free(remap);
        return;
    }
    for (int i = 0; i < g->n_inputs; i++) keep[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) keep[g->outputs[i]] = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) keep[g->nodes[i].inputs[k]] = 1;
        for (int k = 0; k < g->nodes[i].n_outputs; k++) keep[g->nodes[i].outputs[k]] = 1;
    }
    int nt = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (keep[t]) {
            remap[t] = nt;
            g->tensors[nt++] = g->tensors[t];
        } else {
            remap[t] = -1;
            free(g->tensors[t].name);
            zn_free(g->tensors[t].data);
        }
    }
    g->n_tensors = nt;
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) n->inputs[k] = remap[n->inputs[k]];
        for (int k = 0; k < n->n_outputs; k++) {
            n->outputs[k] = remap[n->outputs[k]];
            g->tensors[n->outputs[k]].producer = i;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = remap[g->outputs[i]];
    free(keep);
    free(remap);
    index_rebuild(g, g->n_tensors);
}

int *zn_graph_consumer_counts(const zn_graph *g) {
    int *c = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(int));
    if (!c) return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) c[g->nodes[i].inputs[k]]++;
    }
    return c;
}
