/* cmd_report.c — `zenith-bench report RUN.json --report out.md`: re-render a saved run record
 * (markdown, and optionally the MLPerf summary) without re-running anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "reports/charts.h"
#include "reports/run_record.h"

int cmd_report(int argc, char **argv) {
    const char *in = NULL, *md = NULL, *mlperf = NULL, *json = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            puts("usage: zenith-bench report RUN.json [--report out.md] [--json out.json] [--mlperf-log DIR]\n\n"
                 "Re-renders a run record written by `zenith-bench run --json`. Without an output option the\n"
                 "markdown report goes to standard output.");
            return ZN_EXIT_OK;
        }
        if (!strcmp(a, "--report") || !strcmp(a, "--mlperf-log") || !strcmp(a, "--json")) {
            if (i + 1 >= argc) return cli_usage_error("see zenith-bench report --help", "%s needs a value", a);
            const char **dst = !strcmp(a, "--report") ? &md : !strcmp(a, "--json") ? &json : &mlperf;
            *dst = argv[++i];
        } else if (a[0] == '-') {
            return cli_usage_error("see zenith-bench report --help", "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return cli_usage_error("give one run record", "unexpected argument '%s'", a);
        }
    }
    if (!in) return cli_usage_error("e.g. zenith-bench report run.json --report run.md", "no run record given");
    zn_record rec;
    if (zn_record_read_json(in, &rec) != ZN_OK) {
        cli_print_error(NULL);
        zn_record_free(&rec);
        return ZN_EXIT_USAGE;
    }
    int rc = ZN_EXIT_OK;
    if (!md && !mlperf && !json) {
        char *text = zn_record_to_markdown(&rec, 10);
        if (text) fputs(text, stdout);
        else { cli_print_error(NULL); rc = ZN_EXIT_FAIL; }
        free(text);
    }
    if (md && zn_record_write_report(&rec, md) != ZN_OK) { cli_print_error("--report"); rc = ZN_EXIT_FAIL; }
    if (json && zn_record_write_json(&rec, json) != ZN_OK) { cli_print_error("--json"); rc = ZN_EXIT_FAIL; }
    if (mlperf && zn_record_write_mlperf_summary(&rec, mlperf) != ZN_OK) { cli_print_error("--mlperf-log"); rc = ZN_EXIT_FAIL; }
    zn_record_free(&rec);
    return rc;
}
