/* cmd_export.c — `zenith-bench export`: writes a model (a built-in zoo model or an ONNX file)
 * as an ONNX file, so that other runtimes run exactly the weights Zenith runs (`make bench`
 * exports the zoo this way for ONNX Runtime and PyTorch).
 *
 * Symbolic dims stay symbolic unless --batch or --shape binds them; the graph is written as
 * built, before any optimisation pass (fused ops are not ONNX). It does not compile or run
 * anything.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "engine/onnx_export.h"

static void export_usage(FILE *f) {
    fputs("usage: zenith-bench export --model NAME|FILE.onnx --out FILE.onnx [options]\n"
          "\n"
          "Writes the model as an ONNX file (ModelProto, IR 8, opset 17 by default) with its\n"
          "weights as initializers, for ONNX Runtime, PyTorch (onnx2torch) and other peers.\n"
          "Symbolic dims (batch, seq, ...) stay symbolic unless bound here.\n"
          "\n"
          "  --model NAME|FILE   a built-in model (`zenith-bench models`) or an ONNX file\n"
          "  --out FILE          where to write the .onnx file\n"
          "  --batch N           bind the batch dim\n"
          "  --shape INPUT:DIMS  bind an input's shape, e.g. input_ids:1x128 (repeatable)\n"
          "  --seed N            weights of zoo models (default 42)\n"
          "  --opset N           default-domain opset, 13 to 21 (default 17; Gelu is written as\n"
          "                      its Erf decomposition below 20)\n"
          "  -q, --quiet         print nothing on success\n",
          f);
}

int cmd_export(int argc, char **argv) {
    cli_model_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.keep_symbolic = true;
    mo.seed = 42;
    const char *out = NULL;
    bool quiet = false;
    zn_onnx_export_options eo = {.opset = 0, .producer = "zenith"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            export_usage(stdout);
            return ZN_EXIT_OK;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
            continue;
        }
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--model") || !strcmp(a, "--out")) {
            if (!v) return cli_usage_error("see zenith-bench export --help", "%s needs a value", a);
            if (a[2] == 'm') mo.model = v;
            else out = v;
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
        } else if (!strcmp(a, "--seed")) {
            if (!v || cli_parse_long(v, 0, 0x7fffffffL, &n))
                return cli_usage_error("give a whole number", "bad --seed value '%s'", v ? v : "");
            mo.seed = (uint64_t)n;
            i++;
        } else if (!strcmp(a, "--opset")) {
            if (!v || cli_parse_long(v, 13, 21, &n))
                return cli_usage_error("give an opset from 13 to 21 (17 is what most peers read)",
                                       "bad --opset value '%s'", v ? v : "");
            eo.opset = n;
            i++;
        } else {
            return cli_usage_error("see zenith-bench export --help", "unknown option '%s'", a);
        }
    }
    if (!mo.model) return cli_usage_error("e.g. zenith-bench export --model bert-base --out bert.onnx", "no model given");
    if (!out) return cli_usage_error("e.g. zenith-bench export --model bert-base --out bert.onnx", "no --out file given");

    zn_graph *g = NULL;
    if (cli_load_model(&mo, &g) != ZN_OK) {
        cli_print_error(NULL);
        return ZN_EXIT_MODEL;
    }
    if (zn_graph_validate(g) != ZN_OK || zn_graph_to_onnx_opts(g, out, &eo) != ZN_OK) {
        cli_print_error("export");
        zn_graph_free(g);
        return ZN_EXIT_MODEL;
    }
    if (!quiet) {
        struct stat sb;
        char b[32];
        double bytes = stat(out, &sb) == 0 ? (double)sb.st_size : 0.0;
        printf("wrote %s: %d nodes, %d inputs, %d outputs, %s, opset %lld\n", out, zn_graph_num_nodes(g),
               zn_graph_num_inputs(g), zn_graph_num_outputs(g), cli_bytes(bytes, b, sizeof b),
               (long long)(eo.opset ? eo.opset : 17));
    }
    zn_graph_free(g);
    return ZN_EXIT_OK;
}
