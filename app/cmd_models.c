/* cmd_models.c — `zenith-bench models`: the built-in zoo with parameters and FLOPs at the
 * default shapes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "suites/zoo.h"

int cmd_models(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            puts("usage: zenith-bench models\n\nLists the built-in models: name, parameters, FLOPs per run at the\n"
                 "default shapes (a multiply-add counts 2), the default shapes and a description.");
            return ZN_EXIT_OK;
        }
        return cli_usage_error("zenith-bench models takes no options", "unknown option '%s'", argv[i]);
    }
    printf("%-12s %12s %14s  %-26s %s\n", "model", "parameters", "FLOPs/run", "default shapes", "description");
    for (int i = 0; i < zn_zoo_count(); i++) {
        const zn_zoo_entry *e = zn_zoo_at(i);
        cli_model_opts mo;
        memset(&mo, 0, sizeof mo);
        mo.model = e->name;
        zn_graph *g = NULL;
        zn_graph_stats raw, st;
        /* parameters as the model declares them; FLOPs once shape arithmetic is folded */
        if (cli_load_model(&mo, &g) != ZN_OK || zn_graph_get_stats(g, &raw) != ZN_OK ||
            zn_graph_infer_shapes(g, true) != ZN_OK || zn_graph_get_stats(g, &st) != ZN_OK) {
            cli_print_error(e->name);
            zn_graph_free(g);
            return ZN_EXIT_MODEL;
        }
        char shapes[64] = "", f[32];
        size_t len = 0;
        for (int d = 0; d < e->n_defaults && len + 20 < sizeof shapes; d++)
            len += (size_t)snprintf(shapes + len, sizeof shapes - len, "%s%s=%lld", d ? " " : "",
                                    e->defaults[d].symbol, (long long)e->defaults[d].value);
        printf("%-12s %11.2fM %14s  %-26s %s\n", e->name, (double)raw.params / 1e6, cli_flops(st.flops, f, sizeof f),
               shapes, e->description);
        zn_graph_free(g);
    }
    return ZN_EXIT_OK;
}
