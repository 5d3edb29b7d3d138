/* cli.c — option parsing with units, model loading and binding, error printing. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"
#include "engine/onnx.h"
#include "suites/zoo.h"

volatile int cli_interrupted;

static void on_signal(int sig) {
    (void)sig;
    cli_interrupted = 1;
}

void cli_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_print_error(const char *context) {
    const zn_error *e = zn_last_error();
    if (context) fprintf(stderr, "error: %s: %s\n", context, e->message[0] ? e->message : zn_status_name(e->status));
    else fprintf(stderr, "error: %s\n", e->message[0] ? e->message : zn_status_name(e->status));
    if (e->node[0] && !strstr(e->message, e->node))
        fprintf(stderr, "  at node '%s' (%s)%s%s\n", e->node, e->op, e->shapes[0] ? ", inputs " : "", e->shapes);
    if (e->hint[0]) fprintf(stderr, "hint: %s\n", e->hint);
}

int cli_usage_error(const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (hint) fprintf(stderr, "hint: %s\n", hint);
    return ZN_EXIT_USAGE;
}

int cli_parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_parse_duration_ms(const char *s, double *ms) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0) return -1;
    double scale;
    if (!*end || !strcmp(end, "s") || !strcmp(end, "sec")) scale = 1e3;
    else if (!strcmp(end, "ms")) scale = 1;
    else if (!strcmp(end, "us")) scale = 1e-3;
    else if (!strcmp(end, "ns")) scale = 1e-6;
    else if (!strcmp(end, "m") || !strcmp(end, "min")) scale = 60e3;
    else if (!strcmp(end, "h")) scale = 3600e3;
    else return -1;
    *ms = v * scale;
    return 0;
}

int cli_parse_dims(const char *s, int64_t *dims, int *rank) {
    int r = 0;
    const char *p = s;
    if (!*p) return -1;
    while (*p) {
        if (r >= ZN_MAX_RANK) return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || end == p || v <= 0 || v > (1LL << 31)) return -1;
        dims[r++] = v;
        if (*end == 'x' || *end == 'X' || *end == ',') p = end + 1;
        else if (!*end) p = end;
        else return -1;
        if ((*end == 'x' || *end == 'X' || *end == ',') && !*p) return -1;
    }
    *rank = r;
    return 0;
}

int cli_parse_shape_arg(const char *arg, cli_shape *out) {
    const char *colon = strrchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof out->name) return -1;
    memcpy(out->name, arg, (size_t)(colon - arg));
    out->name[colon - arg] = 0;
    return cli_parse_dims(colon + 1, out->dims, &out->rank);
}

bool cli_is_model_file(const char *model) {
    size_t n = strlen(model);
    return strchr(model, '/') || (n > 5 && !strcmp(model + n - 5, ".onnx"));
}

/* Binds --batch: the "batch" symbol when the model has one, else the leading symbolic dim of
 * every input (what exporters name "batch_size", "N", "input_dim_0", ...). */
static zn_status bind_batch(zn_graph *g, int batch) {
    for (int s = 0; s < zn_graph_num_symbols(g); s++)
        if (!strcmp(zn_graph_symbol_name(g, s), "batch")) return zn_graph_bind_symbol(g, "batch", batch);
    bool bound = false;
    for (int i = 0; i < zn_graph_num_inputs(g); i++) {
        const zn_shape *sh = zn_graph_tensor_shape(g, zn_graph_input(g, i));
        if (sh->rank > 0 && sh->dims[0].value < 0 && sh->dims[0].sym >= 0) {
            zn_status st = zn_graph_bind_symbol(g, zn_graph_symbol_name(g, sh->dims[0].sym), batch);
            if (st != ZN_OK) return st;
            bound = true;
        }
    }
    if (!bound && batch != 1) {
        zn_error_set(ZN_ERR_SHAPE, "the model's inputs have a fixed batch size; batch %d was asked "
                                   "(--batch, times --max-batch when batching dynamically)", batch);
        zn_error_hint("leave --batch out and use --max-batch 1, or export the model with a dynamic batch dim");
        return ZN_ERR_SHAPE;
    }
    return ZN_OK;
}

zn_status cli_load_model(const cli_model_opts *o, zn_graph **out) {
    *out = NULL;
    zn_graph *g = NULL;
    zn_status st;
    const zn_zoo_entry *zoo = NULL;
    if (cli_is_model_file(o->model)) {
        st = zn_graph_from_onnx(o->model, NULL, &g);
        if (st != ZN_OK) return st;
    } else {
        zn_zoo_options zo = {.seed = o->seed};
        if ((st = zn_zoo_build(o->model, &zo, &g)) != ZN_OK) return st;
        zoo = zn_zoo_find(o->model);
    }
    /* explicit shapes first: they fix symbols the defaults must not override */
    for (int i = 0; i < o->n_shapes; i++) {
        st = zn_graph_bind_input_shape(g, o->shapes[i].name, o->shapes[i].rank, o->shapes[i].dims);
        if (st != ZN_OK) goto fail;
    }
    if (o->batch > 0 && (st = bind_batch(g, o->batch)) != ZN_OK) goto fail;
    if (o->keep_symbolic) {
        /* the caller binds every input from data */
    } else if (zoo) {
        for (int d = 0; d < zoo->n_defaults; d++) {
            /* bind defaults only for symbols still unbound somewhere */
            for (int i = 0; i < zn_graph_num_inputs(g); i++) {
                const zn_shape *sh = zn_graph_tensor_shape(g, zn_graph_input(g, i));
                bool unbound = false;
                for (int k = 0; k < sh->rank; k++)
                    if (sh->dims[k].value < 0 && sh->dims[k].sym >= 0 &&
                        !strcmp(zn_graph_symbol_name(g, sh->dims[k].sym), zoo->defaults[d].symbol))
                        unbound = true;
                if (unbound) {
                    if ((st = zn_graph_bind_symbol(g, zoo->defaults[d].symbol, zoo->defaults[d].value)) != ZN_OK)
                        goto fail;
                    break;
                }
            }
        }
    } else if (o->batch == 0) {
        /* ONNX: an unbound leading dim defaults to batch 1, as the other benchmark tools do */
        if ((st = bind_batch(g, 1)) != ZN_OK) goto fail;
    }
    *out = g;
    return ZN_OK;
fail:
    zn_graph_free(g);
    return st;
}

const char *cli_bytes(double b, char *buf, int cap) {
    if (b >= 1024.0 * 1024 * 1024) snprintf(buf, (size_t)cap, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) snprintf(buf, (size_t)cap, "%.1f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0) snprintf(buf, (size_t)cap, "%.1f KiB", b / 1024.0);
    else snprintf(buf, (size_t)cap, "%.0f B", b);
    return buf;
}

const char *cli_flops(double f, char *buf, int cap) {
    if (f < 0) snprintf(buf, (size_t)cap, "?");
    else if (f >= 1e9) snprintf(buf, (size_t)cap, "%.2f GFLOP", f / 1e9);
    else if (f >= 1e6) snprintf(buf, (size_t)cap, "%.2f MFLOP", f / 1e6);
    else snprintf(buf, (size_t)cap, "%.0f FLOP", f);
    return buf;
}

const char *cli_duration_ns(double ns, char *buf, int cap) {
    if (ns >= 1e9) snprintf(buf, (size_t)cap, "%.3f s", ns / 1e9);
    else if (ns >= 1e6) snprintf(buf, (size_t)cap, "%.2f ms", ns / 1e6);
    else snprintf(buf, (size_t)cap, "%.1f us", ns / 1e3);
    return buf;
}
