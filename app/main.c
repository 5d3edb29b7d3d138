/* main.c — zenith-bench: the command dispatcher.
 *
 *   zenith-bench run --model NAME|FILE.onnx [options]   a benchmark run (headless)
 *   zenith-bench models                                 the built-in model zoo
 *   zenith-bench inspect --model NAME|FILE.onnx         ops, shapes, parameters, FLOPs
 *   zenith-bench check --model FILE.onnx [--data DIR]   outputs against reference outputs
 *   zenith-bench report RUN.json --report out.md        re-render a saved run
 *   zenith-bench compare A.json B.json [--report d.md]  compare saved runs
 *   zenith-bench --report out.md [run options]          the same as `run`
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "tui/tui.h"

static void usage(FILE *f) {
    fputs("usage: zenith-bench <command> [options]\n"
          "\n"
          "commands:\n"
          "  (none)    on a terminal: the interactive workbench (also `zenith-bench tui`)\n"
          "  run       benchmark a model (zoo name or .onnx file) on synthetic inputs\n"
          "  models    list the built-in model zoo with parameters and FLOPs\n"
          "  inspect   show a model's inputs, outputs, ops, parameters, FLOPs and support\n"
          "  check     compare a model's outputs against reference outputs\n"
          "  report    re-render a saved run record (--json) as markdown\n"
          "  compare   compare saved run records: ratios, significance, per-op deltas\n"
          "  export    write a model (zoo or ONNX) as an ONNX file for other runtimes\n"
          "\n"
          "`zenith-bench <command> --help` describes each command's options.\n"
          "exit codes: 0 done, 1 run failed or INVALID, 2 bad usage, 3 model could not be\n"
          "loaded or compiled, 4 outputs did not match the reference, 130 interrupted.\n",
          f);
}

static bool has_report_flag(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--report", 8) || !strncmp(argv[i], "--json", 6)) return true;
    return false;
}

int main(int argc, char **argv) {
    /* On a terminal with no command, the workbench; with --report, or when stdout is not a
     * terminal, the headless run. */
    bool interactive = isatty(0) && isatty(1);
    if (argc < 2) {
        if (interactive) return tui_main(argc, argv);
        usage(stderr);
        return ZN_EXIT_USAGE;
    }
    if (argv[1][0] == '-' && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") && interactive &&
        !has_report_flag(argc, argv))
        return tui_main(argc, argv);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return ZN_EXIT_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "tui")) return tui_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "models")) return cmd_models(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "check")) return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (cmd[0] == '-') return cmd_run(argc, argv); /* `zenith-bench --report out.md --model ...` */
    return cli_usage_error("commands are tui, run, models, inspect, check, report, compare and export; see zenith-bench --help",
                           "unknown command '%s'", cmd);
}
