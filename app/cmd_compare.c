/* cmd_compare.c — `zenith-bench compare A.json B.json [more.json ...] [--report diff.md]
 * [--allow-different-models]`: compares saved run records (reports/compare.h), prints the table
 * to stdout and optionally writes the markdown report with its chart.
 * Exit codes: 0 compared, 1 a record could not be read or the models differ without the flag,
 * 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "reports/compare.h"

static void compare_usage(FILE *f) {
    fputs("usage: zenith-bench compare A.json B.json [more.json ...] [--report diff.md] [--allow-different-models]\n"
          "\n"
          "Compares run records written by `zenith-bench run --json`. A is the baseline; every other run\n"
          "is compared with it: each percentile and the throughput with the ratio, whether the median\n"
          "latency differs beyond the noise (bootstrap interval of the ratio of medians over the recorded\n"
          "per-query latencies), per-op and per-node deltas, and the settings and environment that differ.\n"
          "\n"
          "  --report FILE.md           the comparison as markdown, with FILE-compare.png next to it\n"
          "  --allow-different-models   compare runs of different models anyway\n",
          f);
}

int cmd_compare(int argc, char **argv) {
    const char *files[ZN_COMPARE_MAX_RUNS], *md = NULL;
    int n = 0;
    zn_compare_opts opts;
    zn_compare_opts_default(&opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            compare_usage(stdout);
            return ZN_EXIT_OK;
        }
        if (!strcmp(a, "--allow-different-models")) {
            opts.allow_different_models = true;
        } else if (!strcmp(a, "--report") || !strncmp(a, "--report=", 9)) {
            if (a[8] == '=') md = a + 9;
            else if (i + 1 < argc) md = argv[++i];
            else return cli_usage_error("see zenith-bench compare --help", "--report needs a value");
        } else if (a[0] == '-') {
            return cli_usage_error("see zenith-bench compare --help", "unknown option '%s'", a);
        } else {
            if (n >= ZN_COMPARE_MAX_RUNS)
                return cli_usage_error(NULL, "at most %d run records can be compared", ZN_COMPARE_MAX_RUNS);
            files[n++] = a;
        }
    }
    if (n < 2) return cli_usage_error("e.g. zenith-bench compare base.json new.json", "compare needs at least two run records");

    zn_record *recs = calloc((size_t)n, sizeof *recs);
    const zn_record *rp[ZN_COMPARE_MAX_RUNS];
    zn_compare *cmp = calloc(1, sizeof *cmp);
    int rc = ZN_EXIT_OK, loaded = 0;
    if (!recs || !cmp) {
        fprintf(stderr, "error: out of memory\n");
        rc = ZN_EXIT_FAIL;
        goto done;
    }
    for (int i = 0; i < n; i++, loaded++) {
        if (zn_record_read_json(files[i], &recs[i]) != ZN_OK) {
            cli_print_error(NULL);
            loaded++;
            rc = ZN_EXIT_FAIL;
            goto done;
        }
        rp[i] = &recs[i];
    }
    if (zn_compare_records(rp, n, &opts, cmp) != ZN_OK) {
        cli_print_error("compare");
        rc = ZN_EXIT_FAIL;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        char lab[256];
        zn_compare_run_label(rp[i], lab, sizeof lab);
        printf("%c  %-40s %s%s\n", 'A' + i, files[i], lab, i == 0 ? "  (baseline)" : "");
    }
    for (int k = 0; k < cmp->n_runs; k++) {
        const zn_compare_run *r = &cmp->runs[k];
        char o = (char)('A' + r->index);
        printf("\n%-10s %14s %14s   %c vs A\n", "metric", "A", (char[]){o, 0}, o);
        for (int m = 0; m < r->n_metrics; m++) {
            const zn_compare_metric *x = &r->metrics[m];
            char a[32], b[32];
            if (x->lower_is_better) {
                cli_duration_ns(x->base, a, sizeof a);
                cli_duration_ns(x->other, b, sizeof b);
            } else {
                snprintf(a, sizeof a, "%.2f", x->base);
                snprintf(b, sizeof b, "%.2f", x->other);
            }
            printf("%-10s %14s %14s   %s\n", x->name, a, b, x->verdict);
        }
        if (r->test_available)
            printf("median ratio A/%c %.3f, 95%% bootstrap interval [%.3f, %.3f]: %s\n", o, r->median_ratio, r->ci_lo,
                   r->ci_hi, r->significant ? "beyond the noise (significant)" : "within the noise (not significant)");
        else
            printf("significance: not available (no per-query latencies in a record)\n");
        for (int i = 0; i < r->n_ops && i < 5; i++) {
            char a[32], b[32], d[32];
            printf("%s %-24s %12s -> %12s  (%s%s)\n", i == 0 ? "ops:" : "    ", r->ops[i].name,
                   cli_duration_ns(r->ops[i].base_ns, a, sizeof a), cli_duration_ns(r->ops[i].other_ns, b, sizeof b),
                   r->ops[i].delta_ns > 0 ? "+" : "", cli_duration_ns(r->ops[i].delta_ns, d, sizeof d));
        }
    }
    if (cmp->n_notes) printf("\ndifferences:\n");
    for (int i = 0; i < cmp->n_notes; i++) {
        /* the notes are markdown; drop the bold markers on the terminal */
        char line[sizeof cmp->notes[0]];
        size_t j = 0;
        for (const char *s = cmp->notes[i]; *s && j + 1 < sizeof line; s++)
            if (*s != '*') line[j++] = *s;
        line[j] = 0;
        printf("  - %s\n", line);
    }
    if (md) {
        if (zn_compare_write_report(cmp, rp, files, md) != ZN_OK) {
            cli_print_error("--report");
            rc = ZN_EXIT_FAIL;
        } else {
            fprintf(stderr, "wrote %s\n", md);
        }
    }
done:
    for (int i = 0; recs && i < loaded && i < n; i++) zn_record_free(&recs[i]);
    free(recs);
    free(cmp);
    return rc;
}
