/* onnx_export.c — zn_graph -> ONNX ModelProto file (see onnx_export.h).
 *
 * Three parts: dtype propagation (the graph may not have been through shape inference, yet
 * graph outputs and Gelu's decomposition constants need element types), node emission into a
 * buffer of NodeProto fields (with the opset rewrites), and assembly: the ModelProto is written
 * straight to the file with each initializer's raw bytes taken from the graph's own memory, so
 * a 440 MB model is never copied into one buffer. It is not an ONNX checker and does not read
 * models back (onnx.c does).
 */
#include "onnx_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "pb.h"

#define DEFAULT_OPSET 17

/* AttributeProto.AttributeType */
enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_FLOATS = 6, AT_INTS = 7 };

/* A constant the exporter makes (axes moved to inputs, Gelu's scalars). Owns name and data. */
typedef struct gen_const {
    char *name;
    zn_dtype dtype;
    int rank;
    int64_t dims[ZN_MAX_RANK];
    void *data;
} gen_const;

typedef struct exporter {
    const zn_graph *g;
    int64_t opset;
    zn_pb_buf nodes;    /* GraphProto.node fields, ready to copy */
    zn_dtype *dt;       /* element type per tensor (propagated) */
    gen_const *gen;
    int n_gen, cap_gen;
    char **names;       /* names the exporter made (constants and intermediates) */
    int n_names, cap_names;
    int n_fresh;
} exporter;

static zn_status oom(void) {
    return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory exporting the model to ONNX");
}

static zn_status buf_status(const zn_pb_buf *b) { return b->failed ? oom() : ZN_OK; }

/* ---- names ------------------------------------------------------------------------------- */

static bool name_taken(const exporter *ex, const char *nm) {
    if (zn_graph_find_tensor(ex->g, nm) >= 0) return true;
    for (int i = 0; i < ex->n_names; i++)
        if (!strcmp(ex->names[i], nm)) return true;
    return false;
}

/* A tensor name nobody uses yet, "<base><suffix>" when free; NULL when out of memory. The
 * string stays owned by the exporter. */
static const char *fresh_name(exporter *ex, const char *base, const char *suffix) {
    char nm[ZN_MAX_NAME + 64];
    snprintf(nm, sizeof nm, "%.120s%s", base, suffix);
    while (name_taken(ex, nm)) snprintf(nm, sizeof nm, "%.120s%s_%d", base, suffix, ++ex->n_fresh);
    if (ex->n_names == ex->cap_names) {
        int cap = ex->cap_names ? ex->cap_names * 2 : 32;
        char **p = realloc(ex->names, sizeof *p * (size_t)cap);
        if (!p) return NULL;
        ex->names = p;
        ex->cap_names = cap;
    }
    char *s = strdup(nm);
    if (!s) return NULL;
    ex->names[ex->n_names++] = s;
    return s;
}

/* Adds a constant (data copied); returns its name or NULL (error set). */
static const char *add_const(exporter *ex, const char *base, const char *suffix, zn_dtype dt,
                             int rank, const int64_t *dims, const void *data) {
    const char *nm = fresh_name(ex, base, suffix);
    if (!nm) goto fail;
    if (ex->n_gen == ex->cap_gen) {
        int cap = ex->cap_gen ? ex->cap_gen * 2 : 16;
        gen_const *p = realloc(ex->gen, sizeof *p * (size_t)cap);
        if (!p) goto fail;
        ex->gen = p;
        ex->cap_gen = cap;
    }
    gen_const *c = &ex->gen[ex->n_gen];
    memset(c, 0, sizeof *c);
    int64_t n = 1;
    for (int k = 0; k < rank; k++) {
        c->dims[k] = dims[k];
        n *= dims[k];
    }
    size_t bytes = (size_t)n * zn_dtype_size(dt);
    c->name = strdup(nm);
    c->data = malloc(bytes ? bytes : 1);
    if (!c->name || !c->data) {
        free(c->name);
        free(c->data);
        goto fail;
    }
    if (bytes) memcpy(c->data, data, bytes);
    c->dtype = dt;
    c->rank = rank;
    ex->n_gen++;
    return nm;
fail:
    oom();
    return NULL;
}

/* A scalar constant of dtype dt (f32, f16 or bf16) holding v. */
static const char *add_scalar(exporter *ex, const char *base, const char *suffix, zn_dtype dt,
                              float v) {
    uint16_t h;
    switch (dt) {
    case ZN_F32: return add_const(ex, base, suffix, dt, 0, NULL, &v);
    case ZN_F16: h = zn_f32_to_f16(v); return add_const(ex, base, suffix, dt, 0, NULL, &h);
    case ZN_BF16: h = zn_f32_to_bf16(v); return add_const(ex, base, suffix, dt, 0, NULL, &h);
    default:
        zn_error_set(ZN_ERR_UNSUPPORTED, "cannot write a %s constant for '%s' (float types only)",
                     zn_dtype_name(dt), base);
        return NULL;
    }
}

static void exporter_free(exporter *ex) {
    zn_pb_buf_free(&ex->nodes);
    free(ex->dt);
    for (int i = 0; i < ex->n_gen; i++) {
        free(ex->gen[i].name);
        free(ex->gen[i].data);
    }
    free(ex->gen);
    for (int i = 0; i < ex->n_names; i++) free(ex->names[i]);
    free(ex->names);
}

/* ---- dtype propagation ------------------------------------------------------------------- */

static zn_dtype out_dtype(const exporter *ex, const zn_node *n, int k) {
    const zn_attr *as = n->attrs;
    int na = n->n_attrs;
    zn_dtype in0 = ZN_DTYPE_UNDEFINED;
    for (int i = 0; i < n->n_inputs && in0 == ZN_DTYPE_UNDEFINED; i++)
        if (n->inputs[i] >= 0) in0 = ex->dt[n->inputs[i]];
    switch (n->op) {
    case ZN_OP_CONSTANT: {
        const zn_attr *v = zn_attrs_find(as, na, "value");
        if (v && v->type == ZN_ATTR_TENSOR && v->t) return v->t->dtype;
        if (zn_attrs_find(as, na, "value_int") || zn_attrs_find(as, na, "value_ints")) return ZN_I64;
        return ZN_F32;
    }
    case ZN_OP_CONSTANT_OF_SHAPE: {
        const zn_attr *v = zn_attrs_find(as, na, "value");
        return v && v->type == ZN_ATTR_TENSOR && v->t ? v->t->dtype : ZN_F32;
    }
    case ZN_OP_SHAPE: case ZN_OP_ARG_MAX: return ZN_I64;
    case ZN_OP_CAST: return (zn_dtype)zn_attrs_int(as, na, "to", ZN_F32);
    case ZN_OP_EQUAL: case ZN_OP_LESS: case ZN_OP_GREATER: case ZN_OP_NOT: case ZN_OP_AND:
    case ZN_OP_OR:
        return ZN_BOOL;
    case ZN_OP_WHERE: return n->n_inputs > 1 && n->inputs[1] >= 0 ? ex->dt[n->inputs[1]] : in0;
    case ZN_OP_MAX_POOL: return k == 1 ? ZN_I64 : in0;
    case ZN_OP_DROPOUT: return k == 1 ? ZN_BOOL : in0;
    case ZN_OP_LAYER_NORM: return k >= 1 ? ZN_F32 : in0;
    default: return in0;
    }
}

static zn_status propagate_dtypes(exporter *ex) {
    const zn_graph *g = ex->g;
    if (!(ex->dt = calloc((size_t)g->n_tensors + 1, sizeof *ex->dt))) return oom();
    for (int t = 0; t < g->n_tensors; t++) ex->dt[t] = g->tensors[t].dtype;
    /* nodes are in topological order after validation; a few sweeps cover any that are not */
    for (int sweep = 0; sweep < 4; sweep++) {
        bool changed = false;
        for (int i = 0; i < g->n_nodes; i++) {
            const zn_node *n = &g->nodes[i];
            if (n->dead) continue;
            for (int k = 0; k < n->n_outputs; k++) {
                int t = n->outputs[k];
                if (zn_dtype_valid(ex->dt[t])) continue;
                zn_dtype d = out_dtype(ex, n, k);
                if (zn_dtype_valid(d)) {
                    ex->dt[t] = d;
                    changed = true;
                }
            }
        }
        if (!changed) break;
    }
    return ZN_OK;
}

/* ---- protobuf pieces --------------------------------------------------------------------- */

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_sub(zn_pb_buf *b, uint32_t num, const zn_pb_buf *sub) {
    zn_pb_put_bytes(b, num, sub->data, sub->len);
    if (sub->failed) b->failed = 1;
}

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* TensorProto fields except raw_data: dims (1), data_type (2), name (8). */
static void put_tensor_head(zn_pb_buf *b, const char *name, zn_dtype dt, int rank,
                            const int64_t *dims) {
    for (int k = 0; k < rank; k++) zn_pb_put_uint(b, 1, (uint64_t)dims[k]);
    zn_pb_put_uint(b, 2, (uint64_t)dt);
    if (name) zn_pb_put_string(b, 8, name);
}

static size_t tensor_bytes(zn_dtype dt, int rank, const int64_t *dims) {
    size_t n = 1;
    for (int k = 0; k < rank; k++) n *= (size_t)dims[k];
    return n * zn_dtype_size(dt);
}

/* AttributeProto (5) of any kind onto a NodeProto buffer. */
static void put_attr(zn_pb_buf *nb, const zn_attr *a) {
    zn_pb_buf ab = {0};
    zn_pb_put_string(&ab, 1, a->name);
    switch (a->type) {
    case ZN_ATTR_INT:
        zn_pb_put_uint(&ab, 20, AT_INT);
        zn_pb_put_uint(&ab, 3, (uint64_t)a->i);
        break;
    case ZN_ATTR_FLOAT:
        zn_pb_put_uint(&ab, 20, AT_FLOAT);
        zn_pb_put_fixed32(&ab, 2, float_bits(a->f));
        break;
    case ZN_ATTR_STRING:
        zn_pb_put_uint(&ab, 20, AT_STRING);
        zn_pb_put_string(&ab, 4, a->s ? a->s : "");
        break;
    case ZN_ATTR_INTS:
        zn_pb_put_uint(&ab, 20, AT_INTS);
        for (int k = 0; k < a->n; k++) zn_pb_put_uint(&ab, 8, (uint64_t)a->ints[k]);
        break;
    case ZN_ATTR_FLOATS:
        zn_pb_put_uint(&ab, 20, AT_FLOATS);
        for (int k = 0; k < a->n; k++) zn_pb_put_fixed32(&ab, 7, float_bits(a->floats[k]));
        break;
    case ZN_ATTR_TENSOR: {
        zn_pb_put_uint(&ab, 20, AT_TENSOR);
        zn_pb_buf tb = {0};
        const zn_attr_tensor *t = a->t;
        put_tensor_head(&tb, NULL, t->dtype, t->rank, t->dims);
        zn_pb_put_bytes(&tb, 9, t->data, tensor_bytes(t->dtype, t->rank, t->dims));
        put_sub(&ab, 5, &tb);
        zn_pb_buf_free(&tb);
        break;
    }
    }
    put_sub(nb, 5, &ab);
    zn_pb_buf_free(&ab);
}

static void put_attr_ints(zn_pb_buf *nb, const char *name, const int64_t *v, int n) {
    zn_attr a = {.name = (char *)name, .type = ZN_ATTR_INTS, .n = n, .ints = (int64_t *)v};
    put_attr(nb, &a);
}

static void put_attr_int(zn_pb_buf *nb, const char *name, int64_t v) {
    zn_attr a = {.name = (char *)name, .type = ZN_ATTR_INT, .i = v};
    put_attr(nb, &a);
}

static const char *tname(const exporter *ex, int t) { return t >= 0 ? ex->g->tensors[t].name : ""; }

/* A node with up to two inputs, one output and no attributes (the decompositions). */
static zn_status emit_simple(exporter *ex, const char *op_type, const char *name, const char *a,
                             const char *b, const char *out) {
    zn_pb_buf nb = {0};
    zn_pb_put_string(&nb, 1, a);
    if (b) zn_pb_put_string(&nb, 1, b);
    zn_pb_put_string(&nb, 2, out);
    zn_pb_put_string(&nb, 3, name);
    zn_pb_put_string(&nb, 4, op_type);
    put_sub(&ex->nodes, 1, &nb);
    zn_pb_buf_free(&nb);
    return buf_status(&ex->nodes);
}

/* ---- nodes ------------------------------------------------------------------------------- */

static zn_status node_error(const zn_node *n, zn_status st) {
    zn_error_set_node(n->name, zn_op_name(n->op), NULL);
    return st;
}

/* Gelu below opset 20: PyTorch's decompositions.
 *   erf:  y = (x * (erf(x / sqrt 2) + 1)) * 0.5
 *   tanh: y = (x * (tanh(sqrt(2/pi) * (x + 0.044715 x^3)) + 1)) * 0.5 */
static zn_status emit_gelu(exporter *ex, const zn_node *n) {
    const char *x = tname(ex, n->inputs[0]), *y = tname(ex, n->outputs[0]), *nm = n->name;
    zn_dtype dt = ex->dt[n->inputs[0]];
    if (!zn_dtype_valid(dt)) dt = ZN_F32;
    const char *approx = zn_attrs_string(n->attrs, n->n_attrs, "approximate", "none");
    bool tanh_form = !strcmp(approx, "tanh");
    if (!tanh_form && strcmp(approx, "none"))
        return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (Gelu): approximate='%s'"
                                          " is neither 'none' nor 'tanh'", nm, approx));
    char nn[ZN_MAX_NAME + 32];
    const char *one = add_scalar(ex, nm, "/one", dt, 1.0f);
    const char *half = add_scalar(ex, nm, "/half", dt, 0.5f);
    if (!one || !half) return zn_last_error()->status;
    const char *inner; /* erf(...) or tanh(...) */
    zn_status st;
    if (!tanh_form) {
        const char *sqrt2 = add_scalar(ex, nm, "/sqrt2", dt, 1.41421353816986083984375f);
        const char *t1 = fresh_name(ex, nm, "/div"), *t2 = fresh_name(ex, nm, "/erf");
        if (!sqrt2) return zn_last_error()->status;
        if (!t1 || !t2) return oom();
        snprintf(nn, sizeof nn, "%s/div", nm);
        if ((st = emit_simple(ex, "Div", nn, x, sqrt2, t1)) != ZN_OK) return st;
        snprintf(nn, sizeof nn, "%s/erf", nm);
        if ((st = emit_simple(ex, "Erf", nn, t1, NULL, t2)) != ZN_OK) return st;
        inner = t2;
    } else {
        const char *three = add_scalar(ex, nm, "/three", dt, 3.0f);
        const char *c = add_scalar(ex, nm, "/coef", dt, 0.044715f);
        const char *k = add_scalar(ex, nm, "/sqrt_2_over_pi", dt, 0.7978845834732056f);
        if (!three || !c || !k) return zn_last_error()->status;
        /* x^3 -> * 0.044715 -> + x -> * sqrt(2/pi) -> tanh */
        const char *p = fresh_name(ex, nm, "/pow"), *q = fresh_name(ex, nm, "/mul_coef"),
                   *r = fresh_name(ex, nm, "/add_x"), *s = fresh_name(ex, nm, "/mul_k"),
                   *u = fresh_name(ex, nm, "/tanh");
        if (!p || !q || !r || !s || !u) return oom();
        snprintf(nn, sizeof nn, "%s/pow", nm);
        if ((st = emit_simple(ex, "Pow", nn, x, three, p)) != ZN_OK) return st;
        snprintf(nn, sizeof nn, "%s/mul_coef", nm);
        if ((st = emit_simple(ex, "Mul", nn, p, c, q)) != ZN_OK) return st;
        snprintf(nn, sizeof nn, "%s/add_x", nm);
        if ((st = emit_simple(ex, "Add", nn, x, q, r)) != ZN_OK) return st;
        snprintf(nn, sizeof nn, "%s/mul_k", nm);
        if ((st = emit_simple(ex, "Mul", nn, r, k, s)) != ZN_OK) return st;
        snprintf(nn, sizeof nn, "%s/tanh", nm);
        if ((st = emit_simple(ex, "Tanh", nn, s, NULL, u)) != ZN_OK) return st;
        const char *prev = u;
        inner = prev;
    }
    const char *t3 = fresh_name(ex, nm, "/add_one"), *t4 = fresh_name(ex, nm, "/mul_x");
    if (!t3 || !t4) return oom();
    snprintf(nn, sizeof nn, "%s/add_one", nm);
    if ((st = emit_simple(ex, "Add", nn, inner, one, t3)) != ZN_OK) return st;
    snprintf(nn, sizeof nn, "%s/mul_x", nm);
    if ((st = emit_simple(ex, "Mul", nn, x, t3, t4)) != ZN_OK) return st;
    return emit_simple(ex, "Mul", nm, t4, half, y);
}

/* Reads a constant integer tensor (i64 or i32, rank <= 1) into out; -1 when not constant. */
static int const_ints(const zn_graph *g, int t, int64_t *out, int cap) {
    if (t < 0 || !g->tensors[t].data) return -1;
    const zn_tensor *c = &g->tensors[t];
    int64_t n = zn_shape_numel(&c->shape);
    if (c->shape.rank > 1 || n < 0 || n > cap) return -1;
    for (int64_t i = 0; i < n; i++) {
        if (c->dtype == ZN_I64) out[i] = ((const int64_t *)c->data)[i];
        else if (c->dtype == ZN_I32) out[i] = ((const int32_t *)c->data)[i];
        else return -1;
    }
    return (int)n;
}

static zn_status emit_node(exporter *ex, const zn_node *n) {
    const zn_graph *g = ex->g;
    const char *opn = zn_op_name(n->op);
    if (!strncmp(opn, "Zn", 2))
        return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' is %s, a fused Zenith op "
                                          "that ONNX does not have; export the graph before "
                                          "optimisation (the zoo graph or the imported model, "
                                          "not the compiled plan's graph)", n->name, opn));
    if (n->op == ZN_OP_SILU)
        return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' is SiLU, which is not an "
                                          "ONNX op; write it as Mul(x, Sigmoid(x)) before "
                                          "exporting", n->name));
    int64_t since = n->op == ZN_OP_LAYER_NORM ? 17 : (n->op == ZN_OP_TRILU || n->op == ZN_OP_HARD_SWISH) ? 14 : 0;
    if (ex->opset < since)
        return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' is %s, which ONNX has "
                                          "from opset %lld; export with opset %lld or newer",
                                          n->name, opn, (long long)since, (long long)since));
    if (n->op == ZN_OP_GELU && ex->opset < 20) return emit_gelu(ex, n);

    /* attributes and inputs in the target opset's form */
    const char *extra_in[2] = {NULL, NULL}; /* inputs that were attributes */
    int n_in = n->n_inputs;
    bool skip_attr[64] = {false};
    int64_t axes[ZN_MAX_RANK * 8];
    int n_axes_attr = -1; /* axes moved from input 1 to an attribute */
    bool add_num_outputs = false;
    char base[ZN_MAX_NAME + 8];
    snprintf(base, sizeof base, "%s", n->name);
    if (n->n_attrs > 64)
        return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' has %d attributes; the "
                                          "exporter takes 64", n->name, n->n_attrs));
    for (int i = 0; i < n->n_attrs; i++) {
        const zn_attr *a = &n->attrs[i];
        int64_t axes_since = 0;
        switch (n->op) {
        case ZN_OP_SQUEEZE: case ZN_OP_UNSQUEEZE: case ZN_OP_REDUCE_SUM: axes_since = 13; break;
        case ZN_OP_REDUCE_MEAN: case ZN_OP_REDUCE_MAX: case ZN_OP_REDUCE_MIN: case ZN_OP_REDUCE_PROD:
            axes_since = 18;
            break;
        default: break;
        }
        if (axes_since && !strcmp(a->name, "axes") && ex->opset >= axes_since) {
            skip_attr[i] = true;
            if (n_in < 2) {
                int64_t d = a->n;
                if (!(extra_in[0] = add_const(ex, base, "/axes", ZN_I64, 1, &d, a->ints)))
                    return zn_last_error()->status;
            }
        } else if (axes_since == 18 && !strcmp(a->name, "noop_with_empty_axes") && ex->opset < 18) {
            skip_attr[i] = true;
            if (a->i != 0)
                return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (%s) sets "
                                                  "noop_with_empty_axes, which ONNX has from opset "
                                                  "18; export with opset 18", n->name, opn));
        } else if (n->op == ZN_OP_SPLIT && !strcmp(a->name, "split")) {
            skip_attr[i] = true;
            if (n_in < 2) {
                int64_t d = a->n;
                if (!(extra_in[0] = add_const(ex, base, "/split", ZN_I64, 1, &d, a->ints)))
                    return zn_last_error()->status;
            }
        } else if (n->op == ZN_OP_SPLIT && !strcmp(a->name, "num_outputs") && ex->opset < 18) {
            skip_attr[i] = true; /* an equal split is Split's default before 18 */
        } else if (n->op == ZN_OP_CLIP && (!strcmp(a->name, "min") || !strcmp(a->name, "max"))) {
            skip_attr[i] = true;
            zn_dtype dt = zn_dtype_valid(ex->dt[n->inputs[0]]) ? ex->dt[n->inputs[0]] : ZN_F32;
            int slot = a->name[1] == 'i' ? 0 : 1;
            if (n_in < 2 + slot &&
                !(extra_in[slot] = add_scalar(ex, base, slot ? "/max" : "/min", dt, a->f)))
                return zn_last_error()->status;
        } else if ((n->op == ZN_OP_BATCH_NORM && (!strcmp(a->name, "spatial") ||
                                                  (!strcmp(a->name, "training_mode") && a->i == 0))) ||
                   (n->op == ZN_OP_CAST && !strcmp(a->name, "saturate") && ex->opset < 19) ||
                   (n->op == ZN_OP_DROPOUT && !strcmp(a->name, "ratio"))) {
            skip_attr[i] = true; /* not in the target opset's schema; no effect on inference */
        }
    }
    /* axes given as an input, but the target opset wants the attribute */
    bool reduce18 = n->op == ZN_OP_REDUCE_MEAN || n->op == ZN_OP_REDUCE_MAX ||
                    n->op == ZN_OP_REDUCE_MIN || n->op == ZN_OP_REDUCE_PROD;
    if (reduce18 && ex->opset < 18 && n_in >= 2) {
        if (n->inputs[1] >= 0) {
            n_axes_attr = const_ints(g, n->inputs[1], axes, (int)(sizeof axes / sizeof *axes));
            if (n_axes_attr < 0)
                return node_error(n, zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (%s) takes its axes "
                                                  "from a computed tensor, which ONNX allows from "
                                                  "opset 18; export with opset 18", n->name, opn));
        }
        n_in = 1;
    }
    if (n->op == ZN_OP_SPLIT && ex->opset >= 18 && !extra_in[0] && (n_in < 2 || n->inputs[1] < 0) &&
        !zn_attrs_find(n->attrs, n->n_attrs, "num_outputs"))
        add_num_outputs = true;

    zn_pb_buf nb = {0};
    for (int k = 0; k < n_in; k++) zn_pb_put_string(&nb, 1, tname(ex, n->inputs[k]));
    if (n->op == ZN_OP_CLIP) {
        /* Clip(x, min, max): pad with "" when only max moved */
        if (extra_in[0] || extra_in[1]) {
            if (n_in < 2) zn_pb_put_string(&nb, 1, extra_in[0] ? extra_in[0] : "");
            if (extra_in[1] && n_in < 3) zn_pb_put_string(&nb, 1, extra_in[1]);
        }
    } else if (extra_in[0]) {
        zn_pb_put_string(&nb, 1, extra_in[0]);
    }
    for (int k = 0; k < n->n_outputs; k++) zn_pb_put_string(&nb, 2, tname(ex, n->outputs[k]));
    zn_pb_put_string(&nb, 3, n->name);
    zn_pb_put_string(&nb, 4, opn);
    for (int i = 0; i < n->n_attrs; i++)
        if (!skip_attr[i]) put_attr(&nb, &n->attrs[i]);
    if (n_axes_attr >= 0) put_attr_ints(&nb, "axes", axes, n_axes_attr);
    if (add_num_outputs) put_attr_int(&nb, "num_outputs", n->n_outputs);
    put_sub(&ex->nodes, 1, &nb);
    zn_pb_buf_free(&nb);
    return buf_status(&ex->nodes);
}

/* ---- graph inputs / outputs -------------------------------------------------------------- */

/* ValueInfoProto: name, tensor type with elem_type and the shape: rank < 0 writes none; dims
 * NULL writes the tensor's own dims (inputs: concrete values and dim_params); otherwise dims[k]
 * >= 0 is a value and < 0 an unknown dim. */
static void put_value_info(zn_pb_buf *b, uint32_t field, const exporter *ex, int t, int rank,
                           const int64_t *dims) {
    const zn_tensor *tt = &ex->g->tensors[t];
    zn_pb_buf shape = {0}, tensor = {0}, type = {0}, vi = {0};
    zn_dtype dt = ex->dt[t];
    zn_pb_put_uint(&tensor, 1, (uint64_t)(zn_dtype_valid(dt) ? dt : ZN_DTYPE_UNDEFINED));
    if (rank >= 0) {
        for (int k = 0; k < rank; k++) {
            zn_pb_buf dim = {0};
            if (dims) {
                if (dims[k] >= 0) zn_pb_put_uint(&dim, 1, (uint64_t)dims[k]);
            } else {
                const zn_dim *d = &tt->shape.dims[k];
                if (d->value >= 0) zn_pb_put_uint(&dim, 1, (uint64_t)d->value);
                else if (d->sym >= 0) zn_pb_put_string(&dim, 2, zn_graph_symbol_name(ex->g, d->sym));
            }
            put_sub(&shape, 1, &dim);
            zn_pb_buf_free(&dim);
        }
        put_sub(&tensor, 2, &shape);
    }
    put_sub(&type, 1, &tensor);
    zn_pb_put_string(&vi, 1, tt->name);
    put_sub(&vi, 2, &type);
    put_sub(b, field, &vi);
    zn_pb_buf_free(&shape);
    zn_pb_buf_free(&tensor);
    zn_pb_buf_free(&type);
    zn_pb_buf_free(&vi);
}

/* A copy of g with every symbolic input dim bound to v, shapes inferred (with folding, so that
 * shape arithmetic resolves); NULL when that fails. */
static zn_graph *inferred_copy(const zn_graph *g, int64_t v, bool *symbolic) {
    zn_graph *c = zn_graph_clone(g);
    if (!c) return NULL;
    for (int i = 0; i < c->n_inputs; i++) {
        const zn_shape *sh = &c->tensors[c->inputs[i]].shape;
        for (int k = 0; k < sh->rank; k++)
            if (sh->dims[k].value < 0 && sh->dims[k].sym >= 0) {
                *symbolic = true;
                if (zn_graph_bind_symbol(c, zn_graph_symbol_name(c, sh->dims[k].sym), v) != ZN_OK)
                    goto fail;
            }
    }
    if (zn_graph_infer_shapes(c, true) != ZN_OK) goto fail;
    return c;
fail:
    zn_graph_free(c);
    return NULL;
}

/* Shapes of computed tensors for value_info and graph outputs (ONNX's checker wants outputs'
 * ranks; onnx2torch reads LayerNorm's input shape from value_info). The graph is inferred twice,
 * with its symbolic dims bound to 64 and to 65: a dim equal in both is written as a value, one
 * that differs as unknown. Where inference fails rank[t] stays -1 and no shape is written. */
static void infer_all_shapes(const exporter *ex, int *rank, int64_t (*dims)[ZN_MAX_RANK]) {
    const zn_graph *g = ex->g;
    bool symbolic = false;
    for (int t = 0; t < g->n_tensors; t++) rank[t] = -1;
    zn_graph *a = inferred_copy(g, 64, &symbolic);
    zn_graph *b = a && symbolic ? inferred_copy(g, 65, &symbolic) : NULL;
    if (a && (!symbolic || b)) {
        for (int t = 0; t < g->n_tensors; t++) {
            int ta = zn_graph_find_tensor(a, g->tensors[t].name);
            int tb = b ? zn_graph_find_tensor(b, g->tensors[t].name) : ta;
            if (ta < 0 || tb < 0) continue;
            const zn_shape *sa = &a->tensors[ta].shape, *sb = &(b ? b : a)->tensors[tb].shape;
            if (!zn_shape_is_concrete(sa) || !zn_shape_is_concrete(sb) || sa->rank != sb->rank) continue;
            rank[t] = sa->rank;
            for (int k = 0; k < sa->rank; k++)
                dims[t][k] = sa->dims[k].value == sb->dims[k].value ? sa->dims[k].value : -1;
        }
    }
    zn_error_clear(); /* a failure here only costs the shapes */
    zn_graph_free(a);
    zn_graph_free(b);
}

/* ---- assembly ---------------------------------------------------------------------------- */

typedef struct init_ref {
    const char *name;
    zn_dtype dtype;
    int rank;
    const int64_t *dims;
    const void *data;
} init_ref;

/* TensorProto bytes before raw_data's payload, including raw_data's tag and length. */
static void put_init_head(zn_pb_buf *b, const init_ref *r) {
    size_t bytes = tensor_bytes(r->dtype, r->rank, r->dims);
    put_tensor_head(b, r->name, r->dtype, r->rank, r->dims);
    zn_pb_put_tag(b, 9, ZN_PB_LEN);
    zn_pb_put_varint(b, bytes);
}

static int64_t ir_version_for(int64_t opset) {
    return opset <= 13 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

static zn_status write_all(FILE *f, const void *p, size_t n, const char *path) {
    if (n && fwrite(p, 1, n, f) != n)
        return zn_error_set(ZN_ERR_IO, "could not write %s (disk full?)", path);
    return ZN_OK;
}

zn_status zn_graph_to_onnx_opts(const zn_graph *g, const char *path,
                                const zn_onnx_export_options *opt) {
    if (!g || !path) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_graph_to_onnx: graph or path is NULL");
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1)
        return zn_error_set(ZN_ERR_UNSUPPORTED, "ONNX export writes raw_data little-endian and "
                            "this host is big-endian");
    exporter ex;
    memset(&ex, 0, sizeof ex);
    ex.g = g;
    ex.opset = opt && opt->opset ? opt->opset : DEFAULT_OPSET;
    if (ex.opset < 13 || ex.opset > 21)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "ONNX export supports opsets 13 to 21, not "
                            "%lld; use 17 (the default)", (long long)ex.opset);
    zn_status st;
    FILE *f = NULL;
    init_ref *inits = NULL;
    int n_init = 0, n_graph_init = 0;
    int *out_rank = NULL;
    int64_t (*out_dims)[ZN_MAX_RANK] = NULL;
    bool *used = NULL;
    zn_pb_buf head = {0}, tail = {0}, model = {0}, hb = {0}, opset = {0};
    if ((st = propagate_dtypes(&ex)) != ZN_OK) goto fail;
    if (!(used = calloc((size_t)g->n_tensors + 1, sizeof *used))) { st = oom(); goto fail; }
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags & ZN_TENSOR_INPUT) used[t] = true; /* "available" */

    /* nodes (each input must be available: topological order) */
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0 || g->tensors[t].data || used[t]) continue;
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' reads '%s' before it is computed; "
                              "validate the graph (zn_graph_validate) before exporting it",
                              n->name, g->tensors[t].name);
            goto fail;
        }
        if ((st = emit_node(&ex, n)) != ZN_OK) goto fail;
        for (int k = 0; k < n->n_outputs; k++) used[n->outputs[k]] = true;
    }
    /* initializers: the constants something reads, then the exporter's own */
    memset(used, 0, sizeof *used * (size_t)g->n_tensors);
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) used[n->inputs[k]] = true;
    }
    for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = true;
    if (!(inits = calloc((size_t)g->n_tensors + (size_t)ex.n_gen + 1, sizeof *inits))) { st = oom(); goto fail; }
    for (int t = 0; t < g->n_tensors; t++) {
        const zn_tensor *c = &g->tensors[t];
        if (!used[t] || !(c->flags & ZN_TENSOR_CONST) || !c->data) continue;
        if (!zn_shape_is_concrete(&c->shape)) {
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "constant '%s' has no concrete shape", c->name);
            goto fail;
        }
        init_ref *r = &inits[n_init++];
        r->name = c->name;
        r->dtype = c->dtype;
        r->rank = c->shape.rank;
        r->data = c->data;
        /* dims: zn_dim -> int64 in place is not possible (const graph); use a side array */
        int64_t *d = malloc(sizeof(int64_t) * (size_t)(c->shape.rank ? c->shape.rank : 1));
        if (!d) { st = oom(); goto fail; }
        for (int k = 0; k < c->shape.rank; k++) d[k] = c->shape.dims[k].value;
        r->dims = d;
        n_graph_init = n_init;
    }
    for (int i = 0; i < ex.n_gen; i++) {
        init_ref *r = &inits[n_init++];
        r->name = ex.gen[i].name;
        r->dtype = ex.gen[i].dtype;
        r->rank = ex.gen[i].rank;
        r->dims = ex.gen[i].dims;
        r->data = ex.gen[i].data;
    }

    /* GraphProto: head (nodes, name), initializers, tail (inputs, outputs) */
    zn_pb_put_raw(&head, ex.nodes.data, ex.nodes.len);
    zn_pb_put_string(&head, 2, zn_graph_name(g) ? zn_graph_name(g) : "zenith");
    for (int i = 0; i < g->n_inputs; i++)
        put_value_info(&tail, 11, &ex, g->inputs[i], g->tensors[g->inputs[i]].shape.rank, NULL);
    if (!(out_rank = calloc((size_t)g->n_tensors + 1, sizeof *out_rank)) ||
        !(out_dims = calloc((size_t)g->n_tensors + 1, sizeof *out_dims))) {
        st = oom();
        goto fail;
    }
    infer_all_shapes(&ex, out_rank, out_dims);
    for (int i = 0; i < g->n_outputs; i++)
        put_value_info(&tail, 12, &ex, g->outputs[i], out_rank[g->outputs[i]], out_dims[g->outputs[i]]);
    for (int i = 0; i < g->n_nodes; i++) { /* value_info: every other computed tensor */
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_outputs; k++) {
            int t = n->outputs[k];
            if (out_rank[t] >= 0 && !(g->tensors[t].flags & ZN_TENSOR_OUTPUT))
                put_value_info(&tail, 13, &ex, t, out_rank[t], out_dims[t]);
        }
    }
    uint64_t graph_len = head.len + tail.len;
    for (int i = 0; i < n_init; i++) {
        hb.len = 0;
        put_init_head(&hb, &inits[i]);
        uint64_t l = hb.len + tensor_bytes(inits[i].dtype, inits[i].rank, inits[i].dims);
        graph_len += varint_size((5u << 3) | ZN_PB_LEN) + varint_size(l) + l;
    }
    if (head.failed || tail.failed || hb.failed) { st = oom(); goto fail; }
    if (graph_len >= ((uint64_t)2 << 30)) {
        st = zn_error_set(ZN_ERR_UNSUPPORTED, "the model is %.2f GiB; protobuf (and so ONNX "
                          "without external data) stops at 2 GiB", (double)graph_len / (1 << 30));
        goto fail;
    }

    /* ModelProto fields before and after the graph */
    zn_pb_put_uint(&model, 1, (uint64_t)ir_version_for(ex.opset));
    zn_pb_put_string(&model, 2, opt && opt->producer ? opt->producer : "zenith");
    zn_pb_put_string(&model, 3, "0.1");
    zn_pb_put_tag(&model, 7, ZN_PB_LEN);
    zn_pb_put_varint(&model, graph_len);
    zn_pb_put_uint(&opset, 2, (uint64_t)ex.opset);
    if (model.failed || opset.failed) { st = oom(); goto fail; }

    if (!(f = fopen(path, "wb"))) {
        st = zn_error_set(ZN_ERR_IO, "could not create %s; check that the folder exists and is "
                          "writable", path);
        goto fail;
    }
    if ((st = write_all(f, model.data, model.len, path)) != ZN_OK) goto fail_file;
    if ((st = write_all(f, head.data, head.len, path)) != ZN_OK) goto fail_file;
    for (int i = 0; i < n_init; i++) {
        size_t bytes = tensor_bytes(inits[i].dtype, inits[i].rank, inits[i].dims);
        hb.len = 0;
        put_init_head(&hb, &inits[i]);
        uint8_t pre[16];
        zn_pb_buf pb = {0};
        zn_pb_put_tag(&pb, 5, ZN_PB_LEN);
        zn_pb_put_varint(&pb, hb.len + bytes);
        if (pb.failed || hb.failed || pb.len > sizeof pre) { zn_pb_buf_free(&pb); st = oom(); goto fail_file; }
        memcpy(pre, pb.data, pb.len);
        size_t npre = pb.len;
        zn_pb_buf_free(&pb);
        if ((st = write_all(f, pre, npre, path)) != ZN_OK ||
            (st = write_all(f, hb.data, hb.len, path)) != ZN_OK ||
            (st = write_all(f, inits[i].data, bytes, path)) != ZN_OK)
            goto fail_file;
    }
    if ((st = write_all(f, tail.data, tail.len, path)) != ZN_OK) goto fail_file;
    zn_pb_buf om = {0};
    put_sub(&om, 8, &opset);
    st = om.failed ? oom() : write_all(f, om.data, om.len, path);
    zn_pb_buf_free(&om);
    if (st != ZN_OK) goto fail_file;
    if (fclose(f) != 0) {
        f = NULL;
        st = zn_error_set(ZN_ERR_IO, "could not finish writing %s (disk full?)", path);
        goto fail_file;
    }
    f = NULL;
    st = ZN_OK;
    goto done;
fail_file:
    if (f) fclose(f);
    f = NULL;
    remove(path);
fail:
done:
    if (f) fclose(f);
    for (int i = 0; i < n_graph_init; i++) free((void *)inits[i].dims);
    free(inits);
    free(used);
    free(out_rank);
    free(out_dims);
    zn_pb_buf_free(&head);
    zn_pb_buf_free(&tail);
    zn_pb_buf_free(&model);
    zn_pb_buf_free(&hb);
    zn_pb_buf_free(&opset);
    exporter_free(&ex);
    return st;
}

zn_status zn_graph_to_onnx(const zn_graph *g, const char *path) {
    return zn_graph_to_onnx_opts(g, path, NULL);
}
