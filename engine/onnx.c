/* onnx.c — ONNX ModelProto -> zn_graph (see onnx.h).
 *
 * Three steps: parse (ModelProto, GraphProto, NodeProto fields into small structs that point
 * into the file's bytes), order (resolve every node input by name, reporting missing
 * initializers and cycles with the node's name and byte offset, then sort topologically), and
 * emit (initializers and inputs first, then each node with the opset rewrites). Nothing here
 * recurses: subgraphs (If/Loop bodies) are never parsed, only rejected with their op.
 * It is not shape inference and does no optimisation.
 */
#include "onnx.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "log.h"
#include "pb.h"
#include "tensor_io.h"

#define MAX_NODES 1000000
#define MAX_TENSORS 2000000
#define MAX_NODE_IO 4096
#define MAX_ATTRS 1024
#define MAX_ATTR_ELEMS (1 << 24)
#define MAX_NAME_LEN 4096

/* AttributeProto.AttributeType */
enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4, AT_GRAPH = 5, AT_FLOATS = 6,
       AT_INTS = 7, AT_STRINGS = 8, AT_TENSORS = 9, AT_GRAPHS = 10, AT_SPARSE_TENSOR = 11,
       AT_SPARSE_TENSORS = 12, AT_TYPE_PROTO = 13, AT_TYPE_PROTOS = 14 };

static const char *attr_type_name(int t) {
    static const char *n[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS",
                              "INTS", "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR",
                              "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    return (t >= 0 && t < (int)(sizeof n / sizeof n[0])) ? n[t] : "?";
}

/* ---- a string -> int map (open addressing; owns its keys) -------------------------------- */

typedef struct name_map {
    char **keys;
    int *vals;
    size_t cap, n;
} name_map;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void map_free(name_map *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int map_get(const name_map *m, const char *k) {
    if (!m->cap) return -1;
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (strcmp(m->keys[i], k) == 0) return m->vals[i];
    }
}

/* Inserts or replaces; 0 on success, -1 out of memory. */
static int map_put(name_map *m, const char *k, int v) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        char **keys = calloc(cap, sizeof *keys);
        int *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t j = hash_str(m->keys[i]) & (cap - 1);
            while (keys[j]) j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t i = hash_str(k) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], k) == 0) {
            m->vals[i] = v;
            return 0;
        }
    m->keys[i] = strdup(k);
    if (!m->keys[i]) return -1;
    m->vals[i] = v;
    m->n++;
    return 0;
}

/* ---- parsed structures ------------------------------------------------------------------- */

typedef struct onode {
    char *name;     /* never NULL: generated "<op>_<index>" when the file has none */
    char *op_type;
    char *domain;
    int n_in, n_out, n_attr;
    char **in, **out;
    zn_pb_field *attr;  /* raw AttributeProto fields, parsed when the node is emitted */
    size_t off;
    int op;         /* zn_op or -1 */
} onode;

typedef struct fvec {
    zn_pb_field *v;
    int n, cap;
} fvec;

typedef struct importer {
    zn_graph *g;
    const char *base_dir;
    zn_pb root;          /* reader over the whole file (for offsets and sub-readers) */
    int64_t opset;
    onode *nodes;
    int n_nodes;
    fvec f_nodes, f_inits, f_inputs, f_outputs;
    name_map tensors;    /* ONNX name -> tensor id */
    name_map init_names; /* initializer name -> 1 */
    name_map out_names;  /* graph output name -> 1 */
    int n_generated;
} importer;

static int fvec_push(fvec *v, const zn_pb_field *f, int max, const char *what) {
    if (v->n >= max) {
        zn_error_set(ZN_ERR_MODEL_FORMAT, "more than %d %s at byte %zu; the model is too large "
                     "or corrupted", max, what, f->offset);
        return -1;
    }
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 16;
        zn_pb_field *p = realloc(v->v, sizeof *p * (size_t)cap);
        if (!p) {
            zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading the model");
            return -1;
        }
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = *f;
    return 0;
}

static int strv_push(char ***v, int *n, char *s, size_t off) {
    if (*n >= MAX_NODE_IO) {
        free(s);
        zn_error_set(ZN_ERR_MODEL_FORMAT, "node at byte %zu has more than %d inputs or outputs",
                     off, MAX_NODE_IO);
        return -1;
    }
    char **p = realloc(*v, sizeof(char *) * (size_t)(*n + 1));
    if (!p) {
        free(s);
        zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory reading the model");
        return -1;
    }
    *v = p;
    (*v)[(*n)++] = s;
    return 0;
}

static void onode_free(onode *n) {
    free(n->name);
    free(n->op_type);
    free(n->domain);
    for (int i = 0; i < n->n_in; i++) free(n->in[i]);
    for (int i = 0; i < n->n_out; i++) free(n->out[i]);
    free(n->in);
    free(n->out);
    free(n->attr);
}

static void importer_free(importer *im) {
    for (int i = 0; i < im->n_nodes; i++) onode_free(&im->nodes[i]);
    free(im->nodes);
    free(im->f_nodes.v);
    free(im->f_inits.v);
    free(im->f_inputs.v);
    free(im->f_outputs.v);
    map_free(&im->tensors);
    map_free(&im->init_names);
    map_free(&im->out_names);
}

static zn_status oom(void) { return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory importing the model"); }

/* ---- NodeProto --------------------------------------------------------------------------- */

static zn_status parse_node(importer *im, const zn_pb_field *nf, int index, onode *n) {
    zn_pb r;
    zn_status st;
    memset(n, 0, sizeof *n);
    n->off = nf->offset;
    n->op = -1;
    if ((st = zn_pb_sub(&im->root, nf, "NodeProto", &r)) != ZN_OK) return st;
    /* nf came from the graph reader; rebase depth */
    r.depth = 3;
    zn_pb_field f;
    int rc;
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        char *s;
        switch (f.num) {
        case 1: /* input */
        case 2: /* output */
            if (!(s = zn_pb_strdup(&r, &f, f.num == 1 ? "input" : "output", MAX_NAME_LEN)))
                return zn_last_error()->status;
            if (f.num == 1 ? strv_push(&n->in, &n->n_in, s, f.offset)
                           : strv_push(&n->out, &n->n_out, s, f.offset))
                return zn_last_error()->status;
            break;
        case 3: case 4: case 7: {
            char **dst = f.num == 3 ? &n->name : f.num == 4 ? &n->op_type : &n->domain;
            if (!(s = zn_pb_strdup(&r, &f, f.num == 3 ? "name" : f.num == 4 ? "op_type" : "domain",
                                   MAX_NAME_LEN)))
                return zn_last_error()->status;
            free(*dst);
            *dst = s;
            break;
        }
        case 5: { /* attribute */
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "attribute")) != ZN_OK) return st;
            if (n->n_attr >= MAX_ATTRS)
                return zn_error_set(ZN_ERR_MODEL_FORMAT, "node at byte %zu has more than %d "
                                    "attributes", n->off, MAX_ATTRS);
            zn_pb_field *p = realloc(n->attr, sizeof *p * (size_t)(n->n_attr + 1));
            if (!p) return oom();
            n->attr = p;
            n->attr[n->n_attr++] = f;
            break;
        }
        default:
            break; /* doc_string, overload, metadata */
        }
    }
    if (rc < 0) return ZN_ERR_MODEL_FORMAT;
    if (!n->op_type || !n->op_type[0])
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "node %d at byte %zu has no op_type", index,
                            n->off);
    if (!n->name || !n->name[0]) {
        free(n->name);
        size_t l = strlen(n->op_type) + 24;
        n->name = malloc(l);
        if (!n->name) return oom();
        snprintf(n->name, l, "%s_%d", n->op_type, index);
    }
    return ZN_OK;
}

/* ---- ValueInfoProto / TypeProto ---------------------------------------------------------- */

typedef struct vinfo {
    char *name;
    int elem_type;
    int has_shape;
    int rank;
    int64_t dim_value[ZN_MAX_RANK];
    char *dim_param[ZN_MAX_RANK]; /* NULL when the dim has no param */
    int dim_has_value[ZN_MAX_RANK];
    const char *non_tensor;       /* "a sequence", ... when not a tensor */
} vinfo;

static void vinfo_free(vinfo *v) {
    free(v->name);
    for (int i = 0; i < ZN_MAX_RANK; i++) free(v->dim_param[i]);
}

static zn_status parse_shape(const zn_pb *parent, const zn_pb_field *sf, vinfo *v) {
    zn_pb s;
    zn_status st;
    if ((st = zn_pb_sub(parent, sf, "TensorShapeProto", &s)) != ZN_OK) return st;
    v->has_shape = 1;
    zn_pb_field f;
    int rc;
    while ((rc = zn_pb_next(&s, &f)) > 0) {
        if (f.num != 1) continue;
        zn_pb d;
        if ((st = zn_pb_sub(&s, &f, "TensorShapeProto.Dimension", &d)) != ZN_OK) return st;
        if (v->rank >= ZN_MAX_RANK)
            return zn_error_set(ZN_ERR_UNSUPPORTED, "value '%s' at byte %zu has rank > %d "
                                "(ZN_MAX_RANK), the most Zenith supports",
                                v->name ? v->name : "?", f.offset, ZN_MAX_RANK);
        int k = v->rank++;
        zn_pb_field df;
        while ((rc = zn_pb_next(&d, &df)) > 0) {
            if (df.num == 1) {
                if ((st = zn_pb_expect(&d, &df, ZN_PB_VARINT, "dim_value")) != ZN_OK) return st;
                int64_t x = (int64_t)df.v;
                if (x < 0 || x > ZN_TENSOR_MAX_DIM)
                    return zn_error_set(ZN_ERR_MODEL_FORMAT, "value '%s' at byte %zu: dim %d is "
                                        "%lld; dims must be in [0, 2^40]", v->name ? v->name : "?",
                                        df.offset, k, (long long)x);
                v->dim_value[k] = x;
                v->dim_has_value[k] = 1;
            } else if (df.num == 2) {
                char *p = zn_pb_strdup(&d, &df, "dim_param", 256);
                if (!p) return zn_last_error()->status;
                free(v->dim_param[k]);
                v->dim_param[k] = p;
            }
        }
        if (rc < 0) return ZN_ERR_MODEL_FORMAT;
    }
    return rc < 0 ? ZN_ERR_MODEL_FORMAT : ZN_OK;
}

static zn_status parse_vinfo(const zn_pb *parent, const zn_pb_field *vf, vinfo *v) {
    zn_pb r;
    zn_status st;
    memset(v, 0, sizeof *v);
    if ((st = zn_pb_sub(parent, vf, "ValueInfoProto", &r)) != ZN_OK) return st;
    zn_pb_field f;
    int rc;
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        if (f.num == 1) {
            char *s = zn_pb_strdup(&r, &f, "name", MAX_NAME_LEN);
            if (!s) return zn_last_error()->status;
            free(v->name);
            v->name = s;
        } else if (f.num == 2) {
            zn_pb t;
            if ((st = zn_pb_sub(&r, &f, "TypeProto", &t)) != ZN_OK) return st;
            zn_pb_field tf;
            while ((rc = zn_pb_next(&t, &tf)) > 0) {
                if (tf.num == 1) {
                    zn_pb tt;
                    if ((st = zn_pb_sub(&t, &tf, "TypeProto.Tensor", &tt)) != ZN_OK) return st;
                    zn_pb_field ef;
                    while ((rc = zn_pb_next(&tt, &ef)) > 0) {
                        if (ef.num == 1) {
                            if ((st = zn_pb_expect(&tt, &ef, ZN_PB_VARINT, "elem_type")) != ZN_OK)
                                return st;
                            v->elem_type = ef.v > 1000 ? 1000 : (int)ef.v;
                        } else if (ef.num == 2) {
                            if ((st = parse_shape(&tt, &ef, v)) != ZN_OK) return st;
                        }
                    }
                    if (rc < 0) return ZN_ERR_MODEL_FORMAT;
                } else if (tf.num == 4) v->non_tensor = "a sequence";
                else if (tf.num == 5) v->non_tensor = "a map";
                else if (tf.num == 8) v->non_tensor = "a sparse tensor";
                else if (tf.num == 9) v->non_tensor = "an optional";
            }
            if (rc < 0) return ZN_ERR_MODEL_FORMAT;
        }
    }
    if (rc < 0) return ZN_ERR_MODEL_FORMAT;
    if (!v->name || !v->name[0])
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "graph input/output at byte %zu has no name",
                            vf->offset);
    return ZN_OK;
}

/* ---- attributes -------------------------------------------------------------------------- */

typedef struct oattr {
    char *name;
    int type;
    float f;
    int64_t i;
    const uint8_t *s;
    size_t s_len;
    zn_pb_field t;     /* TensorProto field */
    int has_f, has_i, has_s, has_t, n_strings, n_graphs, n_tensors, n_sparse;
    int64_t *ints;
    int n_ints;
    float *floats;
    int n_floats;
    size_t off;
} oattr;

static void oattr_free(oattr *a) {
    free(a->name);
    free(a->ints);
    free(a->floats);
}

static zn_status parse_attr(const zn_pb *root, const zn_pb_field *af, oattr *a) {
    zn_pb r;
    zn_status st;
    memset(a, 0, sizeof *a);
    a->off = af->offset;
    if ((st = zn_pb_sub(root, af, "AttributeProto", &r)) != ZN_OK) return st;
    r.depth = 4;
    zn_pb_field f;
    int rc;
    int64_t n_ints = 0, n_floats = 0;
    /* pass 1: scalars and counts */
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1: {
            char *s = zn_pb_strdup(&r, &f, "name", MAX_NAME_LEN);
            if (!s) return zn_last_error()->status;
            free(a->name);
            a->name = s;
            break;
        }
        case 20:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_VARINT, "type")) != ZN_OK) return st;
            a->type = f.v > 100 ? 100 : (int)f.v;
            break;
        case 2:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_I32, "f")) != ZN_OK) return st;
            {
                uint32_t u = (uint32_t)f.v;
                memcpy(&a->f, &u, 4);
            }
            a->has_f = 1;
            break;
        case 3:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_VARINT, "i")) != ZN_OK) return st;
            a->i = (int64_t)f.v;
            a->has_i = 1;
            break;
        case 4:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "s")) != ZN_OK) return st;
            a->s = f.data;
            a->s_len = f.len;
            a->has_s = 1;
            break;
        case 5:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "t")) != ZN_OK) return st;
            a->t = f;
            a->has_t = 1;
            break;
        case 7: case 8: {
            int64_t c = zn_pb_scalar_count(&r, &f, f.num == 7 ? ZN_PB_I32 : ZN_PB_VARINT,
                                           f.num == 7 ? "floats" : "ints");
            if (c < 0) return ZN_ERR_MODEL_FORMAT;
            if (f.num == 7) n_floats += c; else n_ints += c;
            if (n_floats > MAX_ATTR_ELEMS || n_ints > MAX_ATTR_ELEMS)
                return zn_error_set(ZN_ERR_MODEL_FORMAT, "attribute at byte %zu has more than "
                                    "%d values", a->off, MAX_ATTR_ELEMS);
            break;
        }
        case 6: a->n_graphs++; break;
        case 9: a->n_strings++; break;
        case 10: a->n_tensors++; break;
        case 11: a->n_graphs++; break;
        case 22: case 23: a->n_sparse++; break;
        default: break;
        }
    }
    if (rc < 0) return ZN_ERR_MODEL_FORMAT;
    if (!a->name || !a->name[0])
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "attribute at byte %zu has no name", a->off);
    if (a->type == 0) { /* very old files: infer the type from the field present */
        a->type = n_floats ? AT_FLOATS : n_ints ? AT_INTS : a->has_t ? AT_TENSOR
                : a->has_s ? AT_STRING : a->has_f ? AT_FLOAT : a->has_i ? AT_INT
                : a->n_strings ? AT_STRINGS : a->n_graphs ? AT_GRAPH : 0;
    }
    /* pass 2: repeated values */
    if (n_ints && !(a->ints = malloc(sizeof(int64_t) * (size_t)n_ints))) return oom();
    if (n_floats && !(a->floats = malloc(sizeof(float) * (size_t)n_floats))) return oom();
    r.p = af->data;
    uint64_t tmp[64];
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        if (f.num != 7 && f.num != 8) continue;
        int kind = f.num == 7 ? ZN_PB_I32 : ZN_PB_VARINT;
        int64_t c = zn_pb_scalar_count(&r, &f, kind, "values");
        if (c < 0) return ZN_ERR_MODEL_FORMAT;
        if (f.wire != ZN_PB_LEN) {
            tmp[0] = f.v;
            c = 1;
        }
        zn_pb_field sub = f;
        for (int64_t done = 0; done < c;) {
            int64_t k = c - done < 64 ? c - done : 64;
            if (f.wire == ZN_PB_LEN) {
                /* decode k values starting where the previous chunk ended */
                if ((st = zn_pb_scalar_get(&r, &sub, kind, tmp, k)) != ZN_OK) return st;
                /* advance sub past the k values */
                const uint8_t *p = sub.data;
                for (int64_t j = 0; j < k; j++) {
                    uint64_t dummy;
                    if (kind == ZN_PB_I32) p += 4;
                    else if (zn_pb_varint(&p, sub.data + sub.len, &dummy) != 0) return ZN_ERR_MODEL_FORMAT;
                }
                sub.len -= (size_t)(p - sub.data);
                sub.data = p;
            }
            for (int64_t j = 0; j < k; j++) {
                if (f.num == 8) {
                    a->ints[a->n_ints++] = (int64_t)tmp[j];
                } else {
                    uint32_t u = (uint32_t)tmp[j];
                    memcpy(&a->floats[a->n_floats++], &u, 4);
                }
            }
            done += k;
        }
    }
    return rc < 0 ? ZN_ERR_MODEL_FORMAT : ZN_OK;
}

/* The schema type letters of `attr` in op's schema ("i", "fs", ...), or NULL. */
static const char *schema_type(zn_op op, const char *attr, char *buf, size_t cap) {
    const char *p = zn_op_get_info(op)->attr_schema;
    size_t alen = strlen(attr);
    while (*p) {
        while (*p == ' ') p++;
        const char *colon = strchr(p, ':');
        if (!colon) break;
        const char *end = strchr(colon, ' ');
        if (!end) end = colon + strlen(colon);
        if ((size_t)(colon - p) == alen && strncmp(p, attr, alen) == 0) {
            size_t tl = (size_t)(end - colon - 1);
            if (tl >= cap) tl = cap - 1;
            memcpy(buf, colon + 1, tl);
            buf[tl] = 0;
            return buf;
        }
        p = end;
    }
    return NULL;
}

static bool attr_fits(int type, const char *want) {
    if (!strcmp(want, "i")) return type == AT_INT;
    if (!strcmp(want, "f")) return type == AT_FLOAT || type == AT_INT;
    if (!strcmp(want, "s")) return type == AT_STRING;
    if (!strcmp(want, "is")) return type == AT_INTS || type == AT_INT;
    if (!strcmp(want, "fs")) return type == AT_FLOATS || type == AT_FLOAT;
    if (!strcmp(want, "t")) return type == AT_TENSOR;
    return false;
}

/* Legacy attributes that carry no meaning for inference. */
static bool attr_ignorable(const char *name) {
    return !strcmp(name, "is_test") || !strcmp(name, "consumed_inputs") ||
           !strcmp(name, "broadcast") || !strcmp(name, "training_mode");
}

static zn_status node_fail(const onode *n, zn_status st) {
    zn_error_set_node(n->name, n->op_type, NULL);
    return st;
}

/* Decodes a TENSOR attribute into tf. */
static zn_status attr_tensor(importer *im, const onode *n, const oattr *a, zn_tensor_file *tf) {
    zn_pb t;
    memset(tf, 0, sizeof *tf);
    if (!a->has_t)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "node '%s': attribute '%s' (at byte %zu) is a "
                            "TENSOR but holds no tensor", n->name, a->name, a->off);
    zn_status st = zn_pb_sub(&im->root, &a->t, "TensorProto", &t);
    if (st != ZN_OK) return st;
    t.depth = 5;
    char what[160];
    snprintf(what, sizeof what, "node '%.60s' attribute '%.40s'", n->name, a->name);
    return zn_tensor_decode(&t, im->base_dir, what, tf, NULL);
}

/* Copies one attribute onto graph node `id` (after checking it against the op's schema). */
static zn_status apply_attr(importer *im, const onode *n, int id, const oattr *a) {
    char want[8];
    zn_op op = (zn_op)n->op;
    if (!schema_type(op, a->name, want, sizeof want)) {
        if (!attr_ignorable(a->name))
            ZN_LOGW("onnx", "node '%s' (%s): attribute '%s' (%s) is not used by Zenith; ignored",
                    n->name, n->op_type, a->name, attr_type_name(a->type));
        return ZN_OK;
    }
    if (!attr_fits(a->type, want)) {
        zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (%s, at byte %zu): attribute '%s' has type "
                     "%s, which Zenith does not handle for %s", n->name, n->op_type, a->off,
                     a->name, attr_type_name(a->type), n->op_type);
        return node_fail(n, ZN_ERR_UNSUPPORTED);
    }
    zn_graph *g = im->g;
    switch (a->type) {
    case AT_INT: return zn_graph_set_attr_int(g, id, a->name, a->i);
    case AT_FLOAT: return zn_graph_set_attr_float(g, id, a->name, a->f);
    case AT_STRING: {
        if (a->s_len > MAX_NAME_LEN || (a->s_len && memchr(a->s, 0, a->s_len)))
            return zn_error_set(ZN_ERR_MODEL_FORMAT, "node '%s': attribute '%s' at byte %zu is "
                                "not a valid string", n->name, a->name, a->off);
        char *s = malloc(a->s_len + 1);
        if (!s) return oom();
        if (a->s_len) memcpy(s, a->s, a->s_len); /* a STRING with no s field is "" */
        s[a->s_len] = 0;
        zn_status st = zn_graph_set_attr_string(g, id, a->name, s);
        free(s);
        return st;
    }
    case AT_INTS: {
        static const int64_t none = 0; /* an empty list: never pass NULL on */
        return zn_graph_set_attr_ints(g, id, a->name, a->n_ints ? a->ints : &none, a->n_ints);
    }
    case AT_FLOATS: {
        static const float none = 0;
        return zn_graph_set_attr_floats(g, id, a->name, a->n_floats ? a->floats : &none, a->n_floats);
    }
    case AT_TENSOR: {
        zn_tensor_file tf;
        zn_status st = attr_tensor(im, n, a, &tf);
        if (st != ZN_OK) return node_fail(n, st);
        st = zn_graph_set_attr_tensor(g, id, a->name, tf.dtype, tf.rank, tf.dims, tf.data);
        zn_tensor_file_free(&tf);
        return st;
    }
    default:
        return ZN_OK;
    }
}

/* ---- emitting nodes ---------------------------------------------------------------------- */

/* A tensor name not used yet, derived from base. */
static void fresh_name(importer *im, const char *base, const char *suffix, char *buf, size_t cap) {
    snprintf(buf, cap, "%.100s%s", base, suffix);
    while (map_get(&im->tensors, buf) >= 0 || zn_graph_find_tensor(im->g, buf) >= 0)
        snprintf(buf, cap, "%.100s%s_%d", base, suffix, ++im->n_generated);
}

/* Adds a constant tensor (named after base+suffix) and returns its id, or -1 (error set). */
static int add_const_named(importer *im, const char *base, const char *suffix, zn_dtype dt,
                           int rank, const int64_t *dims, const void *data) {
    char nm[160];
    fresh_name(im, base, suffix, nm, sizeof nm);
    int t = zn_graph_add_const(im->g, nm, dt, rank, dims, data);
    if (t >= 0 && map_put(&im->tensors, nm, t)) {
        oom();
        return -1;
    }
    return t;
}

/* Adds one graph node; outputs named by out_names (NULL entries: generated). */
static int add_node(importer *im, zn_op op, const char *name, int n_in, const int *in, int n_out,
                    const char *const *out_names, int *outs) {
    int id = zn_graph_add_node(im->g, op, name, n_in, in, n_out, out_names, outs);
    if (id < 0) return -1;
    for (int k = 0; k < n_out; k++) {
        if (out_names && out_names[k] && map_put(&im->tensors, out_names[k], outs[k])) {
            oom();
            return -1;
        }
    }
    return id;
}

static bool is_graph_input(const zn_graph *g, int t) {
    for (int i = 0; i < zn_graph_num_inputs(g); i++)
        if (zn_graph_input(g, i) == t) return true;
    return false;
}

/* Rank of a tensor when it is known before shape inference (inputs, constants); else -1. */
static int static_rank(const importer *im, int t) {
    if (t < 0) return -1;
    if (zn_graph_tensor_data(im->g, t) || is_graph_input(im->g, t))
        return zn_graph_tensor_shape(im->g, t)->rank;
    return -1;
}

static const oattr *find_attr(const oattr *as, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(as[i].name, name)) return &as[i];
    return NULL;
}

static zn_status emit_constant(importer *im, const onode *n, const oattr *as, int n_attr) {
    if (n->n_out < 1 || !n->out[0][0])
        return node_fail(n, zn_error_set(ZN_ERR_MODEL_FORMAT, "Constant node '%s' (at byte %zu) "
                                         "has no output", n->name, n->off));
    const oattr *a = NULL;
    for (int i = 0; i < n_attr; i++) {
        const char *nm = as[i].name;
        if (!strcmp(nm, "sparse_value") || !strcmp(nm, "value_string") ||
            !strcmp(nm, "value_strings")) {
            zn_error_set(ZN_ERR_UNSUPPORTED, "Constant node '%s' (opset %lld) uses '%s', which "
                         "Zenith does not support (only dense numeric constants)", n->name,
                         (long long)im->opset, nm);
            return node_fail(n, ZN_ERR_UNSUPPORTED);
        }
        if (!strcmp(nm, "value") || !strcmp(nm, "value_float") || !strcmp(nm, "value_floats") ||
            !strcmp(nm, "value_int") || !strcmp(nm, "value_ints"))
            a = &as[i];
    }
    if (!a)
        return node_fail(n, zn_error_set(ZN_ERR_MODEL_FORMAT, "Constant node '%s' (at byte %zu) "
                                         "has no value attribute", n->name, n->off));
    const char *out = n->out[0];
    char renamed[200];
    if (map_get(&im->out_names, out) >= 0) { /* add_outputs puts an Identity under the name */
        snprintf(renamed, sizeof renamed, "%.150s/const", out);
        out = renamed;
    }
    int t = -1;
    if (!strcmp(a->name, "value")) {
        if (a->type != AT_TENSOR)
            return node_fail(n, zn_error_set(ZN_ERR_MODEL_FORMAT, "Constant node '%s': 'value' "
                                             "is not a tensor", n->name));
        zn_tensor_file tf;
        zn_status st = attr_tensor(im, n, a, &tf);
        if (st != ZN_OK) return node_fail(n, st);
        t = zn_graph_add_const(im->g, out, tf.dtype, tf.rank, tf.dims, tf.data);
        zn_tensor_file_free(&tf);
    } else if (!strcmp(a->name, "value_float") && a->type == AT_FLOAT) {
        t = zn_graph_add_const(im->g, out, ZN_F32, 0, NULL, &a->f);
    } else if (!strcmp(a->name, "value_int") && a->type == AT_INT) {
        t = zn_graph_add_const(im->g, out, ZN_I64, 0, NULL, &a->i);
    } else if (!strcmp(a->name, "value_floats") && a->type == AT_FLOATS) {
        int64_t d = a->n_floats;
        t = zn_graph_add_const(im->g, out, ZN_F32, 1, &d, a->floats);
    } else if (!strcmp(a->name, "value_ints") && a->type == AT_INTS) {
        int64_t d = a->n_ints;
        t = zn_graph_add_const(im->g, out, ZN_I64, 1, &d, a->ints);
    } else {
        return node_fail(n, zn_error_set(ZN_ERR_MODEL_FORMAT, "Constant node '%s': attribute "
                                         "'%s' has the wrong type %s", n->name, a->name,
                                         attr_type_name(a->type)));
    }
    if (t < 0) return node_fail(n, zn_last_error()->status);
    if (map_put(&im->tensors, n->out[0], t)) return oom();
    return ZN_OK;
}

/* Softmax below opset 13: "coerce to 2-D at axis" semantics. */
static zn_status emit_softmax_legacy(importer *im, const onode *n, int x, const oattr *as,
                                     int n_attr) {
    const oattr *ax = find_attr(as, n_attr, "axis");
    int64_t axis = ax && ax->type == AT_INT ? ax->i : 1;
    int rank = static_rank(im, x);
    if (axis == -1 || (rank > 0 && axis == rank - 1)) {
        /* the reduced block is the last dim: identical to opset-13 Softmax */
        const char *outs[1] = {n->out[0]};
        int o, id = add_node(im, ZN_OP_SOFTMAX, n->name, 1, &x, 1, outs, &o);
        if (id < 0) return node_fail(n, zn_last_error()->status);
        return zn_graph_set_attr_int(im->g, id, "axis", axis);
    }
    char nm[200], tn[160];
    int shape_t, flat_t, sm_t, out_t, id;
    snprintf(nm, sizeof nm, "%.100s/shape", n->name);
    fresh_name(im, n->name, "/shape", tn, sizeof tn);
    const char *o1[1] = {tn};
    if ((id = add_node(im, ZN_OP_SHAPE, nm, 1, &x, 1, o1, &shape_t)) < 0) goto fail;
    snprintf(nm, sizeof nm, "%.100s/flatten", n->name);
    fresh_name(im, n->name, "/flatten", tn, sizeof tn);
    if ((id = add_node(im, ZN_OP_FLATTEN, nm, 1, &x, 1, o1, &flat_t)) < 0) goto fail;
    if (zn_graph_set_attr_int(im->g, id, "axis", axis) != ZN_OK) goto fail;
    snprintf(nm, sizeof nm, "%.100s/softmax2d", n->name);
    fresh_name(im, n->name, "/softmax2d", tn, sizeof tn);
    if ((id = add_node(im, ZN_OP_SOFTMAX, nm, 1, &flat_t, 1, o1, &sm_t)) < 0) goto fail;
    if (zn_graph_set_attr_int(im->g, id, "axis", -1) != ZN_OK) goto fail;
    int rin[2] = {sm_t, shape_t};
    const char *o2[1] = {n->out[0]};
    if ((id = add_node(im, ZN_OP_RESHAPE, n->name, 2, rin, 1, o2, &out_t)) < 0) goto fail;
    return ZN_OK;
fail:
    return node_fail(n, zn_last_error()->status);
}

static zn_status warn_axes_form(importer *im, const onode *n, const oattr *as, int n_attr,
                                int n_in, const char *attr, int64_t since) {
    bool has_attr = find_attr(as, n_attr, attr) != NULL;
    bool has_input = n_in >= 2;
    if (im->opset >= since && has_attr)
        ZN_LOGW("onnx", "node '%s' (%s): '%s' is an attribute, but from opset %lld it is an "
                "input (model opset %lld); importing it anyway", n->name, n->op_type, attr,
                (long long)since, (long long)im->opset);
    if (im->opset < since && has_input)
        ZN_LOGW("onnx", "node '%s' (%s): '%s' is an input, but before opset %lld it is an "
                "attribute (model opset %lld); importing it anyway", n->name, n->op_type, attr,
                (long long)since, (long long)im->opset);
    return ZN_OK;
}

static zn_status unsupported_op(const importer *im, const onode *n, const char *why) {
    const char *near = zn_op_nearest_name(n->op_type);
    zn_error_set(ZN_ERR_UNSUPPORTED, "unsupported op %s%s%s in node '%s' (at byte %zu, opset "
                 "%lld)%s; nearest supported op: %s", n->op_type,
                 n->domain && n->domain[0] ? " from domain " : "",
                 n->domain && n->domain[0] ? n->domain : "", n->name, n->off,
                 (long long)im->opset, why, near ? near : "none");
    zn_error_hint("did you mean %s? See `zenith-bench inspect` for the ops Zenith supports",
                  near ? near : "?");
    return node_fail(n, ZN_ERR_UNSUPPORTED);
}

/* Maps an op type to a zn_op (-1 when Zenith has no such ONNX op). */
static int map_op(const char *op_type) {
    if (!strncmp(op_type, "Zn", 2)) return -1;
    return zn_op_from_name(op_type);
}

static int cast_to_from_string(const char *s) {
    for (int t = 1; t < 24; t++)
        if (!strcmp(zn_onnx_dtype_name(t), s)) return t;
    return -1;
}

static zn_status emit_node(importer *im, const onode *n) {
    zn_status st = ZN_OK;
    oattr *as = NULL;
    int n_attr = 0;
    int *in = NULL;
    const char **outs = NULL;
    int *out_ids = NULL;
    char **gen = NULL;
    int n_in = n->n_in, n_out = n->n_out;

    if (n->n_attr && !(as = calloc((size_t)n->n_attr, sizeof *as))) return oom();
    for (; n_attr < n->n_attr; n_attr++) {
        if ((st = parse_attr(&im->root, &n->attr[n_attr], &as[n_attr])) != ZN_OK) {
            oattr_free(&as[n_attr]);
            node_fail(n, st);
            goto done;
        }
        const oattr *a = &as[n_attr];
        int ty = a->type;
        if (ty == AT_INT || ty == AT_FLOAT || ty == AT_STRING || ty == AT_INTS ||
            ty == AT_FLOATS || ty == AT_TENSOR)
            continue;
        char w[8];
        if (n->op == ZN_OP_CONSTANT) {
            if (!strcmp(a->name, "sparse_value")) continue; /* reported by emit_constant */
        } else if (schema_type((zn_op)n->op, a->name, w, sizeof w)) {
            st = zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (%s, opset %lld): attribute '%s' "
                              "has type %s, which Zenith does not support", n->name, n->op_type,
                              (long long)im->opset, a->name, attr_type_name(ty));
            n_attr++;
            node_fail(n, st);
            goto done;
        }
        ZN_LOGW("onnx", "node '%s' (%s): attribute '%s' (%s) is not used by Zenith; ignored",
                n->name, n->op_type, a->name, attr_type_name(ty));
    }

    if (n->op == ZN_OP_CONSTANT) {
        st = emit_constant(im, n, as, n_attr);
        goto done;
    }

    /* inputs: names -> tensor ids; trailing omitted inputs dropped */
    while (n_in > 0 && !n->in[n_in - 1][0]) n_in--;
    in = malloc(sizeof(int) * (size_t)(n_in + 4));
    if (!in) { st = oom(); goto done; }
    for (int i = 0; i < n_in; i++) {
        if (!n->in[i][0]) { in[i] = -1; continue; }
        in[i] = map_get(&im->tensors, n->in[i]);
        if (in[i] < 0) { /* resolved by the ordering step; cannot happen */
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s': input '%s' is unknown", n->name,
                              n->in[i]);
            node_fail(n, st);
            goto done;
        }
    }
    /* outputs: trailing omitted outputs dropped, inner ones named */
    while (n_out > 0 && !n->out[n_out - 1][0]) n_out--;
    if (n_out == 0) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "node '%s' (%s, at byte %zu) has no outputs",
                          n->name, n->op_type, n->off);
        node_fail(n, st);
        goto done;
    }
    outs = calloc((size_t)n_out, sizeof *outs);
    gen = calloc((size_t)n_out, sizeof *gen);
    out_ids = calloc((size_t)n_out, sizeof *out_ids);
    if (!outs || !gen || !out_ids) { st = oom(); goto done; }
    for (int k = 0; k < n_out; k++) {
        if (n->out[k][0]) { outs[k] = n->out[k]; continue; }
        char tn[160], suf[24];
        snprintf(suf, sizeof suf, ":unused%d", k);
        fresh_name(im, n->name, suf, tn, sizeof tn);
        if (!(gen[k] = strdup(tn))) { st = oom(); goto done; }
        outs[k] = gen[k];
    }

    const zn_op_info *info = zn_op_get_info((zn_op)n->op);
    zn_op op = (zn_op)n->op;
    char cname[200];

    /* opset rewrites that change inputs */
    if (op == ZN_OP_SOFTMAX && im->opset < 13) {
        if (n_in != 1 || in[0] < 0) {
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (Softmax) needs exactly 1 input",
                              n->name);
            node_fail(n, st);
            goto done;
        }
        st = emit_softmax_legacy(im, n, in[0], as, n_attr);
        goto done;
    }
    if (op == ZN_OP_PAD && im->opset < 11) {
        const oattr *pads = find_attr(as, n_attr, "pads");
        if (!pads) pads = find_attr(as, n_attr, "paddings");
        if (!pads || pads->type != AT_INTS || n_in != 1) {
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (Pad, opset %lld) needs one "
                              "input and a 'pads' attribute", n->name, (long long)im->opset);
            node_fail(n, st);
            goto done;
        }
        int64_t d = pads->n_ints;
        snprintf(cname, sizeof cname, "%.100s", n->name);
        if ((in[1] = add_const_named(im, cname, "/pads", ZN_I64, 1, &d, pads->ints)) < 0) goto fail_last;
        n_in = 2;
        const oattr *val = find_attr(as, n_attr, "value");
        if (val && val->type == AT_FLOAT) {
            if ((in[2] = add_const_named(im, cname, "/value", ZN_F32, 0, NULL, &val->f)) < 0) goto fail_last;
            n_in = 3;
        }
    }
    if (op == ZN_OP_RESHAPE && im->opset < 5 && n_in == 1) {
        const oattr *sh = find_attr(as, n_attr, "shape");
        if (sh && sh->type == AT_INTS) {
            int64_t d = sh->n_ints;
            if ((in[1] = add_const_named(im, n->name, "/shape", ZN_I64, 1, &d, sh->ints)) < 0) goto fail_last;
            n_in = 2;
        }
    }
    if (op == ZN_OP_SLICE && im->opset < 10 && n_in == 1) {
        static const char *keys[3] = {"starts", "ends", "axes"};
        for (int k = 0; k < 3; k++) {
            const oattr *v = find_attr(as, n_attr, keys[k]);
            if (!v || v->type != AT_INTS) break;
            int64_t d = v->n_ints;
            char suf[16];
            snprintf(suf, sizeof suf, "/%s", keys[k]);
            if ((in[n_in] = add_const_named(im, n->name, suf, ZN_I64, 1, &d, v->ints)) < 0) goto fail_last;
            n_in++;
        }
    }
    /* forms that our ops accept both ways: warn when the form does not match the opset */
    if (op == ZN_OP_SPLIT) warn_axes_form(im, n, as, n_attr, n_in, "split", 13);
    if (op == ZN_OP_SQUEEZE || op == ZN_OP_UNSQUEEZE || op == ZN_OP_REDUCE_SUM)
        warn_axes_form(im, n, as, n_attr, n_in, "axes", 13);
    if (op == ZN_OP_REDUCE_MEAN || op == ZN_OP_REDUCE_MAX || op == ZN_OP_REDUCE_MIN ||
        op == ZN_OP_REDUCE_PROD)
        warn_axes_form(im, n, as, n_attr, n_in, "axes", 18);

    if (n_in < info->min_inputs || n_in > info->max_inputs || n_out > info->max_outputs) {
        st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s, at byte %zu, opset %lld) has %d "
                          "inputs and %d outputs; Zenith's %s takes %d to %d inputs and gives "
                          "%d to %d outputs", n->name, n->op_type, n->off, (long long)im->opset,
                          n_in, n_out, info->name, info->min_inputs, info->max_inputs,
                          info->min_outputs, info->max_outputs);
        node_fail(n, st);
        goto done;
    }

    {
        int id = add_node(im, op, n->name, n_in, in, n_out, outs, out_ids);
        if (id < 0) goto fail_last;
        for (int i = 0; i < n_attr; i++) {
            const oattr *a = &as[i];
            if (a->type != AT_INT && a->type != AT_FLOAT && a->type != AT_STRING &&
                a->type != AT_INTS && a->type != AT_FLOATS && a->type != AT_TENSOR)
                continue;
            if (op == ZN_OP_PAD && im->opset < 11 &&
                (!strcmp(a->name, "pads") || !strcmp(a->name, "paddings") || !strcmp(a->name, "value")))
                continue;
            if ((op == ZN_OP_RESHAPE && im->opset < 5 && !strcmp(a->name, "shape")) ||
                (op == ZN_OP_SLICE && im->opset < 10))
                continue;
            if (op == ZN_OP_CAST && a->type == AT_STRING && !strcmp(a->name, "to")) {
                char s[32];
                snprintf(s, sizeof s, "%.*s", (int)(a->s_len < 31 ? a->s_len : 31), (const char *)a->s);
                int code = cast_to_from_string(s);
                if (code < 0) {
                    st = zn_error_set(ZN_ERR_MODEL_FORMAT, "node '%s' (Cast): unknown type '%s'",
                                      n->name, s);
                    node_fail(n, st);
                    goto done;
                }
                if ((st = zn_graph_set_attr_int(im->g, id, "to", code)) != ZN_OK) goto done;
                continue;
            }
            if ((st = apply_attr(im, n, id, a)) != ZN_OK) goto done;
        }
        if (op == ZN_OP_CAST) {
            int64_t to = zn_attrs_int(im->g->nodes[id].attrs, im->g->nodes[id].n_attrs, "to", 0);
            if (!zn_dtype_valid((zn_dtype)to)) {
                st = zn_error_set(ZN_ERR_UNSUPPORTED, "node '%s' (Cast, at byte %zu) casts to %s; "
                                  "Zenith supports f32, f16, bf16, i64, i32, bool", n->name, n->off,
                                  zn_onnx_dtype_name((int)to));
                node_fail(n, st);
                goto done;
            }
        }
    }
    goto done;
fail_last:
    st = zn_last_error()->status;
    if (st == ZN_OK) st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' could not be added", n->name);
    node_fail(n, st);
done:
    for (int i = 0; i < n_attr; i++) oattr_free(&as[i]);
    free(as);
    free(in);
    if (gen)
        for (int k = 0; k < n_out; k++) free(gen[k]);
    free(gen);
    free(outs);
    free(out_ids);
    return st;
}

/* ---- ordering ---------------------------------------------------------------------------- */

/* Resolves node inputs by name and returns a topological order of im->nodes in *order. */
static zn_status order_nodes(importer *im, int **order_out) {
    int nn = im->n_nodes;
    zn_status st = ZN_OK;
    name_map prod = {0};
    int *indeg = calloc((size_t)nn + 1, sizeof(int));
    int *n_users = calloc((size_t)nn + 1, sizeof(int));
    int *start = calloc((size_t)nn + 2, sizeof(int));
    int *users = NULL, *queue = malloc(sizeof(int) * ((size_t)nn + 1));
    *order_out = NULL;
    if (!indeg || !n_users || !start || !queue) { st = oom(); goto done; }
    for (int i = 0; i < nn; i++) {
        onode *n = &im->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            const char *o = n->out[k];
            if (!o[0]) continue;
            int p = map_get(&prod, o);
            if (p >= 0) {
                st = zn_error_set(ZN_ERR_INVALID_GRAPH, "tensor '%s' is produced by two nodes, "
                                  "'%s' and '%s' (at byte %zu); ONNX tensors have one producer",
                                  o, im->nodes[p].name, n->name, n->off);
                node_fail(n, st);
                goto done;
            }
            if (map_get(&im->tensors, o) >= 0) {
                st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (at byte %zu) writes tensor "
                                  "'%s', which is already a graph input or initializer", n->name,
                                  n->off, o);
                node_fail(n, st);
                goto done;
            }
            if (map_put(&prod, o, i)) { st = oom(); goto done; }
        }
    }
    /* edges producer -> consumer, CSR */
    size_t n_edges = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < nn; i++) {
            onode *n = &im->nodes[i];
            for (int k = 0; k < n->n_in; k++) {
                const char *nm = n->in[k];
                if (!nm[0]) continue;
                int p = map_get(&prod, nm);
                if (p < 0) {
                    if (map_get(&im->tensors, nm) >= 0) continue;
                    if (pass == 0) {
                        st = zn_error_set(ZN_ERR_INVALID_GRAPH, "node '%s' (%s, at byte %zu) "
                                          "reads '%s' (input %d), which is not produced by any "
                                          "node, not a graph input and not an initializer "
                                          "(missing initializer?)", n->name, n->op_type, n->off,
                                          nm, k);
                        zn_error_hint("the model file may be incomplete; re-export it, or add "
                                      "'%s' as an initializer", nm);
                        node_fail(n, st);
                        goto done;
                    }
                    continue;
                }
                if (pass == 0) {
                    n_users[p]++;
                    indeg[i]++;
                    n_edges++;
                } else {
                    users[start[p] + n_users[p]++] = i;
                }
            }
        }
        if (pass == 0) {
            for (int i = 0; i < nn; i++) start[i + 1] = start[i] + n_users[i];
            memset(n_users, 0, sizeof(int) * (size_t)nn);
            if (!(users = malloc(sizeof(int) * (n_edges + 1)))) { st = oom(); goto done; }
        }
    }
    int qn = 0, qh = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0) queue[qn++] = i;
    while (qh < qn) {
        int i = queue[qh++];
        for (int u = start[i]; u < start[i] + n_users[i]; u++)
            if (--indeg[users[u]] == 0) queue[qn++] = users[u];
    }
    if (qn != nn) {
        int c = -1;
        for (int i = 0; i < nn && c < 0; i++)
            if (indeg[i] > 0) c = i;
        /* walk up unfinished producers: after nn steps we are on the cycle itself */
        for (int step = 0; step < nn; step++) {
            onode *m = &im->nodes[c];
            int next = -1;
            for (int k = 0; k < m->n_in && next < 0; k++) {
                int p = m->in[k][0] ? map_get(&prod, m->in[k]) : -1;
                if (p >= 0 && indeg[p] > 0) next = p;
            }
            if (next < 0) break;
            c = next;
        }
        onode *n = &im->nodes[c];
        const char *via = "?", *from = "?";
        for (int k = 0; k < n->n_in; k++) {
            int p = n->in[k][0] ? map_get(&prod, n->in[k]) : -1;
            if (p >= 0 && indeg[p] > 0) {
                via = n->in[k];
                from = im->nodes[p].name;
                break;
            }
        }
        st = zn_error_set(ZN_ERR_INVALID_GRAPH, "the graph has a cycle: node '%s' (%s, at byte "
                          "%zu) reads '%s', which depends on its own output through node '%s'",
                          n->name, n->op_type, n->off, via, from);
        zn_error_hint("ONNX graphs must be acyclic; the model file is broken");
        node_fail(n, st);
        goto done;
    }
    *order_out = queue;
    queue = NULL;
done:
    map_free(&prod);
    free(indeg);
    free(n_users);
    free(start);
    free(users);
    free(queue);
    return st;
}

/* ---- graph ------------------------------------------------------------------------------- */

static zn_status dtype_check(int onnx_dt, const char *role, const char *name, size_t off) {
    if (zn_dtype_valid((zn_dtype)onnx_dt)) return ZN_OK;
    return zn_error_set(ZN_ERR_UNSUPPORTED, "%s %s (at byte %zu) has dtype %s; Zenith supports "
                        "f32, f16, bf16, i64, i32, bool: export with float32", role, name, off,
                        onnx_dt ? zn_onnx_dtype_name(onnx_dt) : "UNDEFINED (no elem_type)");
}

static zn_status add_inputs(importer *im) {
    zn_status st = ZN_OK;
    for (int i = 0; i < im->f_inputs.n; i++) {
        vinfo v;
        zn_pb_field *f = &im->f_inputs.v[i];
        if ((st = parse_vinfo(&im->root, f, &v)) != ZN_OK) { vinfo_free(&v); return st; }
        if (map_get(&im->init_names, v.name) >= 0) { /* an initializer listed as input (IR < 4) */
            vinfo_free(&v);
            continue;
        }
        if (map_get(&im->tensors, v.name) >= 0) {
            st = zn_error_set(ZN_ERR_MODEL_FORMAT, "graph input '%s' (at byte %zu) is declared "
                              "twice", v.name, f->offset);
            vinfo_free(&v);
            return st;
        }
        if (v.non_tensor) {
            st = zn_error_set(ZN_ERR_UNSUPPORTED, "graph input '%s' is %s; Zenith takes tensor "
                              "inputs only", v.name, v.non_tensor);
        } else if ((st = dtype_check(v.elem_type, "input", v.name, f->offset)) != ZN_OK) {
        } else if (!v.has_shape) {
            st = zn_error_set(ZN_ERR_UNSUPPORTED, "graph input '%s' has no shape (unknown rank); "
                              "re-export with static or named dims", v.name);
        } else {
            zn_dim dims[ZN_MAX_RANK];
            for (int k = 0; k < v.rank; k++) {
                if (v.dim_has_value[k]) {
                    dims[k].value = v.dim_value[k];
                    dims[k].sym = -1;
                } else {
                    char sym[300];
                    if (v.dim_param[k] && v.dim_param[k][0])
                        snprintf(sym, sizeof sym, "%s", v.dim_param[k]);
                    else
                        snprintf(sym, sizeof sym, "%.200s_dim%d", v.name, k);
                    dims[k].value = -1;
                    dims[k].sym = zn_graph_symbol(im->g, sym);
                    if (dims[k].sym < 0) st = oom();
                }
            }
            int t = st == ZN_OK ? zn_graph_add_input(im->g, v.name, (zn_dtype)v.elem_type, v.rank, dims) : -1;
            if (st == ZN_OK && t < 0) st = zn_last_error()->status;
            if (st == ZN_OK && map_put(&im->tensors, v.name, t)) st = oom();
        }
        vinfo_free(&v);
        if (st != ZN_OK) return st;
    }
    return ZN_OK;
}

static zn_status add_initializers(importer *im) {
    for (int i = 0; i < im->f_inits.n; i++) {
        zn_pb r;
        zn_status st = zn_pb_sub(&im->root, &im->f_inits.v[i], "TensorProto", &r);
        if (st != ZN_OK) return st;
        r.depth = 3;
        zn_tensor_file tf;
        zn_tensor_decode_info info;
        if ((st = zn_tensor_decode(&r, im->base_dir, "initializer", &tf, &info)) != ZN_OK) return st;
        if (!info.name || !info.name[0]) {
            st = zn_error_set(ZN_ERR_MODEL_FORMAT, "initializer at byte %zu has no name",
                              im->f_inits.v[i].offset);
        } else if (map_get(&im->tensors, info.name) >= 0) {
            st = zn_error_set(ZN_ERR_MODEL_FORMAT, "initializer '%s' (at byte %zu) is declared "
                              "twice", info.name, im->f_inits.v[i].offset);
        } else {
            if (info.converted)
                ZN_LOGW("onnx", "initializer '%s' is DOUBLE; converted to f32", info.name);
            /* an initializer that is also a graph output gets an Identity later, which takes
             * the name; the constant itself is renamed */
            char nm[200];
            const char *use = info.name;
            if (map_get(&im->out_names, info.name) >= 0) {
                snprintf(nm, sizeof nm, "%.150s/const", info.name);
                use = nm;
            }
            int t = zn_graph_add_const(im->g, use, tf.dtype, tf.rank, tf.dims, tf.data);
            if (t < 0) st = zn_last_error()->status;
            else if (map_put(&im->tensors, info.name, t) || map_put(&im->init_names, info.name, 1))
                st = oom();
        }
        free(info.name);
        zn_tensor_file_free(&tf);
        if (st != ZN_OK) return st;
    }
    return ZN_OK;
}

static zn_status add_outputs(importer *im) {
    for (int i = 0; i < im->f_outputs.n; i++) {
        vinfo v;
        zn_status st = parse_vinfo(&im->root, &im->f_outputs.v[i], &v);
        if (st != ZN_OK) { vinfo_free(&v); return st; }
        int t = map_get(&im->tensors, v.name);
        if (t < 0) {
            st = zn_error_set(ZN_ERR_INVALID_GRAPH, "graph output '%s' is not produced by any "
                              "node", v.name);
        } else {
            bool is_const = zn_graph_tensor_data(im->g, t) != NULL;
            if (is_const || is_graph_input(im->g, t)) {
                /* outputs must be computed tensors: pass the value through an Identity */
                char nm[200];
                snprintf(nm, sizeof nm, "%.150s/identity", v.name);
                const char *on[1] = {v.name};
                int o;
                if (zn_graph_add_node(im->g, ZN_OP_IDENTITY, nm, 1, &t, 1, on, &o) < 0)
                    st = zn_last_error()->status;
                else
                    t = o;
            }
            if (st == ZN_OK) st = zn_graph_mark_output(im->g, t);
        }
        vinfo_free(&v);
        if (st != ZN_OK) return st;
    }
    return ZN_OK;
}

static zn_status import_graph(importer *im, const zn_pb_field *gf) {
    zn_pb r;
    zn_status st = zn_pb_sub(&im->root, gf, "GraphProto", &r);
    if (st != ZN_OK) return st;
    r.depth = 1;
    char *gname = NULL;
    zn_pb_field f;
    int rc;
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        int bad = 0;
        switch (f.num) {
        case 1:
            bad = zn_pb_expect(&r, &f, ZN_PB_LEN, "node") ||
                  fvec_push(&im->f_nodes, &f, MAX_NODES, "nodes");
            break;
        case 2:
            free(gname);
            if (!(gname = zn_pb_strdup(&r, &f, "name", MAX_NAME_LEN))) return zn_last_error()->status;
            break;
        case 5:
            bad = zn_pb_expect(&r, &f, ZN_PB_LEN, "initializer") ||
                  fvec_push(&im->f_inits, &f, MAX_TENSORS, "initializers");
            break;
        case 11:
            bad = zn_pb_expect(&r, &f, ZN_PB_LEN, "input") ||
                  fvec_push(&im->f_inputs, &f, MAX_TENSORS, "inputs");
            break;
        case 12:
            bad = zn_pb_expect(&r, &f, ZN_PB_LEN, "output") ||
                  fvec_push(&im->f_outputs, &f, MAX_TENSORS, "outputs");
            break;
        case 15:
            free(gname);
            return zn_error_set(ZN_ERR_UNSUPPORTED, "the graph has sparse initializers (at byte "
                                "%zu), which Zenith does not support; densify them before "
                                "export", f.offset);
        default: break;
        }
        if (bad) {
            free(gname);
            return zn_last_error()->status;
        }
    }
    if (rc < 0) {
        free(gname);
        return ZN_ERR_MODEL_FORMAT;
    }
    im->g = zn_graph_new(gname && gname[0] ? gname : "onnx");
    free(gname);
    if (!im->g) return oom();

    /* graph output names first (initializers that are outputs need them) */
    for (int i = 0; i < im->f_outputs.n; i++) {
        vinfo v;
        if ((st = parse_vinfo(&r, &im->f_outputs.v[i], &v)) != ZN_OK) { vinfo_free(&v); return st; }
        int bad = map_put(&im->out_names, v.name, 1);
        vinfo_free(&v);
        if (bad) return oom();
    }
    if (im->f_outputs.n == 0)
        return zn_error_set(ZN_ERR_INVALID_GRAPH, "the graph declares no outputs");

    if ((st = add_initializers(im)) != ZN_OK) return st;
    if ((st = add_inputs(im)) != ZN_OK) return st;

    /* nodes: parse, check ops, order, emit */
    im->n_nodes = 0;
    if (im->f_nodes.n && !(im->nodes = calloc((size_t)im->f_nodes.n, sizeof(onode)))) return oom();
    for (int i = 0; i < im->f_nodes.n; i++) {
        onode *n = &im->nodes[i];
        st = parse_node(im, &im->f_nodes.v[i], i, n);
        im->n_nodes++;
        if (st != ZN_OK) return st;
        bool default_domain = !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
        n->op = default_domain ? map_op(n->op_type) : -1;
        if (!default_domain)
            return unsupported_op(im, n, "; Zenith imports only the default ONNX domain");
        if (n->op < 0) return unsupported_op(im, n, "");
    }
    int *order = NULL;
    if ((st = order_nodes(im, &order)) != ZN_OK) return st;
    for (int i = 0; i < im->n_nodes && st == ZN_OK; i++) st = emit_node(im, &im->nodes[order[i]]);
    free(order);
    if (st != ZN_OK) return st;

    if ((st = add_outputs(im)) != ZN_OK) return st;
    return zn_graph_validate(im->g);
}

static void copy_meta(char *dst, size_t cap, const zn_pb_field *f) {
    if (f->wire != ZN_PB_LEN) return;
    size_t n = f->len < cap - 1 ? f->len : cap - 1;
    memcpy(dst, f->data, n);
    dst[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20) dst[i] = '?';
}

zn_status zn_graph_from_onnx_buffer(const void *buf, size_t len, const char *base_dir,
                                    const zn_onnx_options *opt, zn_graph **out) {
    zn_status st = ZN_OK;
    importer im;
    memset(&im, 0, sizeof im);
    *out = NULL;
    int64_t max_bytes = opt && opt->max_bytes > 0 ? opt->max_bytes : ((int64_t)4 << 30);
    if (!buf && len) return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "zn_graph_from_onnx_buffer: NULL buffer");
    if ((uint64_t)len > (uint64_t)max_bytes)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "the model is %zu bytes, over the limit of "
                            "%lld (raise zn_onnx_options.max_bytes)", len, (long long)max_bytes);
    if (len == 0)
        return zn_error_set(ZN_ERR_MODEL_FORMAT, "not an ONNX model: the file is empty");
    im.base_dir = base_dir;
    im.root = zn_pb_reader(buf, len, 0, "ModelProto");

    zn_pb_field f, graph = {0};
    int rc, have_graph = 0, have_opset = 0;
    zn_model_meta meta;
    memset(&meta, 0, sizeof meta);
    zn_pb r = im.root;
    while ((rc = zn_pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_VARINT, "ir_version")) != ZN_OK) goto fail;
            meta.ir_version = (int64_t)f.v;
            break;
        case 2: case 3: case 4:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, f.num == 2 ? "producer_name" : f.num == 3
                                   ? "producer_version" : "domain")) != ZN_OK)
                goto fail;
            if (f.num == 2) copy_meta(meta.producer, sizeof meta.producer, &f);
            else if (f.num == 3) copy_meta(meta.producer_version, sizeof meta.producer_version, &f);
            else copy_meta(meta.domain, sizeof meta.domain, &f);
            break;
        case 7:
            if ((st = zn_pb_expect(&r, &f, ZN_PB_LEN, "graph")) != ZN_OK) goto fail;
            graph = f;
            have_graph = 1;
            break;
        case 8: {
            zn_pb o;
            if ((st = zn_pb_sub(&r, &f, "OperatorSetIdProto", &o)) != ZN_OK) goto fail;
            zn_pb_field of;
            bool dflt = true;
            int64_t version = -1;
            while ((rc = zn_pb_next(&o, &of)) > 0) {
                if (of.num == 1) {
                    if ((st = zn_pb_expect(&o, &of, ZN_PB_LEN, "domain")) != ZN_OK) goto fail;
                    dflt = of.len == 0 || (of.len == 7 && !memcmp(of.data, "ai.onnx", 7));
                } else if (of.num == 2) {
                    if ((st = zn_pb_expect(&o, &of, ZN_PB_VARINT, "version")) != ZN_OK) goto fail;
                    version = (int64_t)of.v;
                }
            }
            if (rc < 0) { st = ZN_ERR_MODEL_FORMAT; goto fail; }
            if (dflt && version >= 0) {
                im.opset = version;
                have_opset = 1;
            }
            break;
        }
        default:
            break;
        }
    }
    if (rc < 0) { st = ZN_ERR_MODEL_FORMAT; goto fail; }
    if (!have_graph) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "not an ONNX model: no graph (ModelProto.graph) "
                          "in %zu bytes", len);
        goto fail;
    }
    if (!have_opset) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "the model has no opset_import for the default "
                          "ONNX domain; re-export it with an opset (11 to 18)");
        goto fail;
    }
    if (im.opset < 1 || im.opset > 1000) {
        st = zn_error_set(ZN_ERR_MODEL_FORMAT, "the model declares opset %lld, which is not a "
                          "valid ONNX opset", (long long)im.opset);
        goto fail;
    }
    if (im.opset > 21)
        ZN_LOGW("onnx", "model opset %lld is newer than Zenith knows (21); importing with the "
                "newest semantics it has", (long long)im.opset);
    meta.opset = im.opset;
    if ((st = import_graph(&im, &graph)) != ZN_OK) goto fail;
    *zn_graph_meta(im.g) = meta;
    *out = im.g;
    im.g = NULL;
    importer_free(&im);
    return ZN_OK;
fail:
    if (st == ZN_OK) st = ZN_ERR_MODEL_FORMAT;
    if (zn_last_error()->status == ZN_OK) zn_error_set(st, "could not import the ONNX model");
    zn_graph_free(im.g);
    importer_free(&im);
    return st;
}

zn_status zn_graph_from_onnx(const char *path, const zn_onnx_options *opt, zn_graph **out) {
    *out = NULL;
    int64_t max_bytes = opt && opt->max_bytes > 0 ? opt->max_bytes : ((int64_t)4 << 30);
    void *buf;
    size_t len;
    zn_status st = zn_file_read_all(path, max_bytes, &buf, &len);
    if (st != ZN_OK) return st;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    if (slash == path) snprintf(dir, sizeof dir, "/");
    st = zn_graph_from_onnx_buffer(buf, len, dir, opt, out);
    free(buf);
    if (st != ZN_OK) zn_error_prefix("loading %s", path);
    return st;
}
