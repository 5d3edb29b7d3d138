/* pipeline.c — zn_run_passes (the order the passes run in, their reports in the compile
 * summary) and the small graph-rewriting helpers every pass shares.
 *
 * After each pass that changed something the graph is compacted, re-sorted topologically
 * (zn_graph_validate) and its shapes re-inferred, so the next pass sees a clean graph. Not
 * here: the patterns themselves (one file per family of passes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../alloc.h"
#include "../plan.h"
#include "passes.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- helpers ------------------------------------------------------------------------------- */

void zn_pass_ctx_free(zn_pass_ctx *c) {
    free(c->uses);
    free(c->cons_start);
    free(c->cons);
    c->uses = c->cons_start = c->cons = NULL;
}

zn_status zn_pass_refresh(zn_pass_ctx *c) {
    zn_graph *g = c->g;
    zn_pass_ctx_free(c);
    int nt = g->n_tensors ? g->n_tensors : 1;
    c->uses = calloc((size_t)nt, sizeof(int));
    c->cons_start = calloc((size_t)nt + 1, sizeof(int));
    int total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) total += g->nodes[i].n_inputs;
    c->cons = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!c->uses || !c->cons_start || !c->cons) {
        zn_pass_ctx_free(c);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory in the optimisation passes");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) c->uses[n->inputs[k]]++;
    }
    for (int t = 0; t < g->n_tensors; t++) c->cons_start[t + 1] = c->cons_start[t] + c->uses[t];
    int *fill = calloc((size_t)nt, sizeof(int));
    if (!fill) {
        zn_pass_ctx_free(c);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory in the optimisation passes");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0) continue;
            /* a node reading t twice (Mul(x, x)) is listed once per read */
            c->cons[c->cons_start[t] + fill[t]++] = i;
        }
    }
    free(fill);
    return ZN_OK;
}

bool zn_pass_is_output(const zn_graph *g, int t) {
    return t >= 0 && (g->tensors[t].flags & ZN_TENSOR_OUTPUT) != 0;
}

bool zn_pass_is_const(const zn_graph *g, int t) {
    return t >= 0 && (g->tensors[t].flags & ZN_TENSOR_CONST) && g->tensors[t].data;
}

int zn_pass_producer(const zn_pass_ctx *c, int t) {
    if (t < 0) return -1;
    int p = c->g->tensors[t].producer;
    if (p < 0 || p >= c->g->n_nodes || c->g->nodes[p].dead) return -1;
    return p;
}

int zn_pass_sole_consumer(const zn_pass_ctx *c, int t) {
    if (t < 0 || c->uses[t] != 1 || zn_pass_is_output(c->g, t)) return -1;
    int n = c->cons[c->cons_start[t]];
    /* lists are rebuilt between passes; within one, a consumer may have died in a rewrite */
    return c->g->nodes[n].dead ? -1 : n;
}

int zn_pass_single_producer(const zn_pass_ctx *c, int t, zn_op op) {
    if (t < 0 || c->uses[t] != 1 || zn_pass_is_output(c->g, t)) return -1;
    int p = zn_pass_producer(c, t);
    return (p >= 0 && c->g->nodes[p].op == op) ? p : -1;
}

bool zn_pass_const_scalar(const zn_graph *g, int t, float *v) {
    if (!zn_pass_is_const(g, t) || g->tensors[t].dtype != ZN_F32) return false;
    if (zn_shape_numel(&g->tensors[t].shape) != 1) return false;
    *v = *(const float *)g->tensors[t].data;
    return true;
}

bool zn_pass_near(float v, float want, float rtol) {
    return fabsf(v - want) <= rtol * fabsf(want);
}

int zn_pass_other_input(const zn_node *n, int t) {
    if (n->n_inputs != 2) return -1;
    if (n->inputs[0] == t) return n->inputs[1];
    if (n->inputs[1] == t) return n->inputs[0];
    return -1;
}

bool zn_pass_same_shape(const zn_graph *g, int t, int u) {
    const zn_shape *a = &g->tensors[t].shape, *b = &g->tensors[u].shape;
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d].value < 0 || a->dims[d].value != b->dims[d].value) return false;
    return true;
}

zn_status zn_pass_rewrite(zn_graph *g, int id, zn_op op, int n_in, const int *inputs) {
    zn_node *n = &g->nodes[id];
    int *in = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
    if (!in) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory rewriting node '%s'", n->name);
    memcpy(in, inputs, sizeof(int) * (size_t)n_in);
    free(n->inputs);
    n->inputs = in;
    n->n_inputs = n_in;
    n->op = op;
    zn_attrs_free(n->attrs, n->n_attrs);
    n->attrs = NULL;
    n->n_attrs = 0;
    return ZN_OK;
}

void zn_pass_kill(zn_graph *g, int n, const int *ids) {
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0) g->nodes[ids[i]].dead = true;
}

void zn_pass_replace_uses(zn_graph *g, int from, int to) {
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) n->inputs[k] = to;
    }
}

int zn_pass_new_const(zn_graph *g, const char *base, zn_dtype dt, int rank, const int64_t *dims,
                      const void *data) {
    char name[ZN_MAX_NAME + 16];
    snprintf(name, sizeof name, "%s", base);
    return zn_graph_add_const(g, name, dt, rank, dims, data);
}

/* ---- the pipeline -------------------------------------------------------------------------- */

typedef int (*pass_fn)(zn_pass_ctx *c);

typedef struct pass_def {
    const char *name;
    pass_fn fn;
} pass_def;

static int pass_dce(zn_pass_ctx *c) {
    int n = zn_pass_dce(c->g);
    if (n >= 0)
        snprintf(c->detail, sizeof c->detail, "%d node%s whose outputs reach no graph output removed",
                 n, n == 1 ? "" : "s");
    return n;
}

static const pass_def pipeline[] = {
    {"dead-code-elimination", pass_dce},
    {"layout-cleanup", zn_pass_layout},
    {"cse", zn_pass_cse},
    {"layernorm-pattern", zn_pass_layernorm},
    {"gelu-pattern", zn_pass_gelu},
    {"add-layernorm", zn_pass_add_layernorm},
    {"attention", zn_pass_attention},
    {"linear-epilogue", zn_pass_linear},
    {"conv-bn-folding", zn_pass_conv_bn},
    {"conv-epilogue", zn_pass_conv},
    {"weight-prepack", zn_pass_prepack},
    {"dead-code-elimination", pass_dce},
};

static void report(zn_compile_summary *s, const char *name, int changes, double ms, const char *detail) {
    if (s->n_passes >= ZN_MAX_PASSES) return;
    zn_pass_report *p = &s->passes[s->n_passes++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->changes = changes;
    p->ms = ms;
    snprintf(p->detail, sizeof p->detail, "%s", detail);
}

/* Compaction, topological order and shapes after a pass that rewrote the graph. */
static zn_status settle(zn_graph *g) {
    zn_graph_compact(g);
    zn_status st = zn_graph_validate(g);
    if (st != ZN_OK) return st;
    return zn_graph_infer_shapes(g, false);
}

zn_status zn_run_passes(zn_graph *g, const zn_compile_config *cfg, zn_compile_summary *sum) {
    zn_pass_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    zn_status st = ZN_OK;
    const zn_compile_observer *obs = cfg ? cfg->observer : NULL;
    for (size_t p = 0; p < sizeof pipeline / sizeof pipeline[0]; p++) {
        const pass_def *pd = &pipeline[p];
        double t0 = now_ms();
        if (obs && obs->pass_begin) obs->pass_begin(obs->user, pd->name);
        c.detail[0] = 0;
        int changes = -1;
        if ((st = zn_pass_refresh(&c)) == ZN_OK) {
            changes = pd->fn(&c);
            if (changes < 0) st = zn_last_error()->status ? zn_last_error()->status : ZN_ERR_RUNTIME;
            else if (changes > 0) st = settle(g);
        }
        if (obs && obs->pass_end) obs->pass_end(obs->user, pd->name);
        if (st != ZN_OK) {
            zn_error_prefix("pass %s", pd->name);
            break;
        }
        if (!c.detail[0]) snprintf(c.detail, sizeof c.detail, "%d change%s", changes, changes == 1 ? "" : "s");
        report(sum, pd->name, changes, now_ms() - t0, c.detail);
    }
    for (int op = 0; op < ZN_OP_COUNT; op++) sum->fusions_by_op[op] += c.fused[op];
    zn_pass_ctx_free(&c);
    return st;
}
