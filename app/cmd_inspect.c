/* cmd_inspect.c — `zenith-bench inspect`: what a model is, all at once: metadata, inputs and
 * outputs (symbolic dims shown, then bound), node count by op, parameters, FLOPs at the bound
 * shapes, and whether every node has a kernel on the CPU backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "engine/device.h"
#include "engine/graph.h"
#include "engine/onnx.h"
#include "engine/passes/passes.h"
#include "kernels/registry.h"

static void inspect_usage(FILE *f) {
    fputs("usage: zenith-bench inspect --model NAME|FILE.onnx [--batch N] [--shape INPUT:DIMS ...] [--after-passes]\n"
          "\n"
          "Prints the model's producer and opset, inputs and outputs, node count by op, parameters,\n"
          "FLOPs at the bound shapes (a multiply-add counts 2) and which nodes no kernel supports.\n"
          "--after-passes also compiles the model and prints what each optimisation pass changed and\n"
          "the optimised graph, one node per line.\n",
          f);
}

static void print_io(const zn_graph *g, int t) {
    char sh[128];
    zn_shape_format(g, zn_graph_tensor_shape(g, t), sh, sizeof sh);
    printf("  %-28s %-5s %s\n", zn_graph_tensor_name(g, t), zn_dtype_name(zn_graph_tensor_dtype(g, t)), sh);
}

/* CUDA builds: which nodes have a CUDA kernel (fp32 dtypes as the graph has them) and which
 * would run on the CPU between copies. A capability query: no device is needed. */
static void print_cuda_coverage(const zn_graph *g, const char *label) {
    if (!zn_device_compiled()) return;
    int with = 0, total = 0, listed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        zn_view views[64 + 16];
        if (n->dead || n->n_inputs + n->n_outputs > 80) continue;
        zn_kernel_node kn;
        zn_graph_kernel_node(g, n, views, &kn);
        const zn_kernel_spec *k[1];
        total++;
        if (zn_registry_query(&kn, ZN_BACKEND_CUDA, k, 1) > 0) {
            with++;
            continue;
        }
        char shapes[256];
        zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
        if (!listed++) printf("cuda        %s: no CUDA kernel for (these run on the CPU, with copies around them):\n", label);
        if (listed <= 20) printf("  %s (%s) with %s\n", n->name, zn_op_name(n->op), shapes);
    }
    if (listed > 20) printf("  ... and %d more\n", listed - 20);
    printf("cuda        %s: %d of %d nodes have a CUDA kernel\n", label, with, total);
}

/* Compiles with the default configuration and prints the pass reports and the optimised graph. */
static int print_after_passes(const zn_graph *g) {
    zn_plan *plan = NULL;
    if (zn_compile(g, NULL, &plan) != ZN_OK) {
        cli_print_error("compile");
        return ZN_EXIT_MODEL;
    }
    const zn_compile_summary *s = zn_plan_summary(plan);
    printf("\npasses      %d nodes -> %d\n", s->nodes_before, s->nodes_after);
    for (int i = 0; i < s->n_passes; i++)
        printf("  %-26s %4d change%s  %7.2f ms  %s\n", s->passes[i].name, s->passes[i].changes,
               s->passes[i].changes == 1 ? " " : "s", s->passes[i].ms, s->passes[i].detail);
    char *text = zn_graph_to_text(zn_plan_graph(plan));
    if (!text) {
        zn_plan_free(plan);
        fprintf(stderr, "error: out of memory\n");
        return ZN_EXIT_FAIL;
    }
    print_cuda_coverage(zn_plan_graph(plan), "after passes");
    printf("\noptimised graph:\n%s", text);
    free(text);
    zn_plan_free(plan);
    return ZN_EXIT_OK;
}

int cmd_inspect(int argc, char **argv) {
    cli_model_opts mo;
    memset(&mo, 0, sizeof mo);
    bool after_passes = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            inspect_usage(stdout);
            return ZN_EXIT_OK;
        }
        if (!strcmp(a, "--after-passes")) {
            after_passes = true;
            continue;
        }
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--model")) {
            if (!v) return cli_usage_error(NULL, "--model needs a value");
            mo.model = v;
            i++;
        } else if (!strcmp(a, "--batch")) {
            if (!v || cli_parse_long(v, 1, 65536, &n))
                return cli_usage_error("give a whole number from 1 to 65536", "bad --batch value '%s'", v ? v : "");
            mo.batch = (int)n;
            i++;
        } else if (!strcmp(a, "--shape")) {
            if (!v || mo.n_shapes >= CLI_MAX_SHAPES || cli_parse_shape_arg(v, &mo.shapes[mo.n_shapes]))
                return cli_usage_error("write it as INPUT:DIMS, e.g. --shape input_ids:1x128", "bad --shape value '%s'",
                                       v ? v : "");
            mo.n_shapes++;
            i++;
        } else {
            return cli_usage_error("see zenith-bench inspect --help", "unknown option '%s'", a);
        }
    }
    if (!mo.model) return cli_usage_error("e.g. zenith-bench inspect --model model.onnx", "no model given");

    /* Load twice: once unbound to show the symbolic dims as the file declares them. */
    zn_graph *g = NULL;
    bool symbolic = false;
    if (cli_is_model_file(mo.model)) {
        zn_graph *raw = NULL;
        if (zn_graph_from_onnx(mo.model, NULL, &raw) != ZN_OK) {
            cli_print_error(NULL);
            return ZN_EXIT_MODEL;
        }
        for (int i = 0; i < zn_graph_num_inputs(raw); i++)
            symbolic |= !zn_shape_is_concrete(zn_graph_tensor_shape(raw, zn_graph_input(raw, i)));
        if (symbolic) {
            printf("inputs (as declared):\n");
            for (int i = 0; i < zn_graph_num_inputs(raw); i++) print_io(raw, zn_graph_input(raw, i));
        }
        zn_graph_free(raw);
    }
    if (cli_load_model(&mo, &g) != ZN_OK) {
        cli_print_error(NULL);
        return ZN_EXIT_MODEL;
    }
    const zn_model_meta *meta = zn_graph_meta_const(g);
    printf("model       %s\n", mo.model);
    if (meta->opset)
        printf("producer    %s %s, opset %lld, IR version %lld\n", meta->producer[0] ? meta->producer : "(unknown)",
               meta->producer_version, (long long)meta->opset, (long long)meta->ir_version);
    else
        printf("producer    Zenith built-in zoo\n");
    printf(symbolic ? "inputs (bound):\n" : "inputs:\n");
    for (int i = 0; i < zn_graph_num_inputs(g); i++) print_io(g, zn_graph_input(g, i));

    int rc = ZN_EXIT_OK;
    zn_graph_stats raw;
    zn_graph_get_stats(g, &raw); /* parameters as declared, before folding */
    zn_status st = zn_graph_validate(g);
    if (st == ZN_OK) st = zn_graph_infer_shapes(g, true);
    if (st != ZN_OK) {
        cli_print_error("shape inference");
        rc = ZN_EXIT_MODEL;
        goto done;
    }
    printf("outputs:\n");
    for (int i = 0; i < zn_graph_num_outputs(g); i++) print_io(g, zn_graph_output(g, i));

    zn_graph_stats stats;
    zn_graph_get_stats(g, &stats);
    char f[32], b[32];
    printf("parameters  %.3fM (%s)\n", (double)raw.params / 1e6, cli_bytes((double)raw.param_bytes, b, sizeof b));
    printf("FLOPs       %s per run at these shapes\n", cli_flops(stats.flops, f, sizeof f));
    printf("nodes       %d after folding constant shape arithmetic\n", stats.nodes);
    for (int op = 0; op < ZN_OP_COUNT; op++)
        if (stats.node_count_by_op[op]) printf("  %-22s %d\n", zn_op_name((zn_op)op), stats.node_count_by_op[op]);

    /* support: every node must have a CPU kernel that accepts it */
    int unsupported = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const zn_node *n = &g->nodes[i];
        zn_view views[64 + 16];
        if (n->n_inputs + n->n_outputs > 80) continue;
        zn_kernel_node kn;
        zn_graph_kernel_node(g, n, views, &kn);
        const zn_kernel_spec *k[1];
        if (zn_registry_query(&kn, ZN_BACKEND_CPU, k, 1) == 0) {
            char shapes[256];
            zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
            if (!unsupported) printf("unsupported on the CPU backend:\n");
            printf("  %s (%s) with %s\n", n->name, zn_op_name(n->op), shapes);
            unsupported++;
        }
    }
    if (!unsupported) printf("support     every node has a CPU kernel\n");
    else rc = ZN_EXIT_MODEL;
    print_cuda_coverage(g, "as loaded");
    if (after_passes && !unsupported) rc = print_after_passes(g);
done:
    zn_graph_free(g);
    return rc;
}
