/* cmd_check.c — `zenith-bench check`: a model's outputs against reference outputs.
 *
 * Every test_data_set next to the model (or under --data) is run: the inputs bind the shapes,
 * the model is compiled with the chosen backend/precision, and each output is compared with
 * its reference: max abs / rel error, cosine similarity, top-1 agreement for classifier-like
 * outputs, PASS/FAIL against a precision-dependent tolerance. With no data set, the optimised
 * plan is compared against the reference plan (reference kernels, fp32, no passes) on seeded
 * synthetic inputs. Exit 4 when anything fails.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "suites/accuracy.h"
#include "suites/dataset.h"
#include "suites/samples.h"

typedef struct check_opts {
    cli_model_opts model;
    zn_compile_config cfg;
    const char *data;
    zn_tolerance tol;
    bool atol_set, rtol_set, cos_set;
} check_opts;

static void check_usage(FILE *f) {
    fputs("usage: zenith-bench check --model NAME|FILE.onnx [--data DIR] [options]\n"
          "\n"
          "  --data DIR          a test_data_set folder, or a folder of test_data_set_N folders\n"
          "                      (default: the model's folder)\n"
          "  --backend B         auto | cpu | cuda\n"
          "  --precision P       fp32 | tf32 | fp16 | bf16 (sets the default tolerance)\n"
          "  --threads N         threads per session\n"
          "  --batch N, --shape INPUT:DIMS   bind shapes when there is no data set\n"
          "  --atol X, --rtol X  element tolerance: |got-ref| <= atol + rtol*|ref|\n"
          "                      (fp32: 1e-4 and 1e-3; fp16/bf16: 1e-2 and 1e-2)\n"
          "  --min-cosine X      cosine similarity floor (fp32 0.9999; fp16/bf16 0.999)\n"
          "\n"
          "Without a data set the optimised plan is compared with the reference plan\n"
          "(reference kernels, fp32, no passes) on seeded synthetic inputs.\n"
          "Exit status 4 when any output fails.\n",
          f);
}

static int parse_check(int argc, char **argv, check_opts *o) {
    memset(o, 0, sizeof *o);
    o->cfg = zn_compile_config_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            check_usage(stdout);
            return -1;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return cli_usage_error("see zenith-bench check --help", "%s needs a value (or is unknown)", a);
        long n;
        double d;
        i++;
        if (!strcmp(a, "--model")) o->model.model = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--backend")) {
            int b = zn_backend_parse(v);
            if (b < 0) return cli_usage_error("use auto, cpu or cuda", "unknown backend '%s'", v);
            o->cfg.backend = (zn_backend)b;
        } else if (!strcmp(a, "--precision")) {
            int p = zn_precision_parse(v);
            if (p < 0) return cli_usage_error("use fp32, tf32, fp16 or bf16", "unknown precision '%s'", v);
            o->cfg.precision = (zn_precision)p;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_long(v, 1, 1024, &n)) return cli_usage_error("1 to 1024", "bad --threads value '%s'", v);
            o->cfg.threads = (int)n;
        } else if (!strcmp(a, "--batch")) {
            if (cli_parse_long(v, 1, 65536, &n)) return cli_usage_error("1 to 65536", "bad --batch value '%s'", v);
            o->model.batch = (int)n;
        } else if (!strcmp(a, "--shape")) {
            if (o->model.n_shapes >= CLI_MAX_SHAPES || cli_parse_shape_arg(v, &o->model.shapes[o->model.n_shapes]))
                return cli_usage_error("write it as INPUT:DIMS, e.g. input_ids:1x128", "bad --shape value '%s'", v);
            o->model.n_shapes++;
        } else if (!strcmp(a, "--atol") || !strcmp(a, "--rtol") || !strcmp(a, "--min-cosine")) {
            if (cli_parse_double(v, 0, 1e9, &d))
                return cli_usage_error("give a non-negative number, e.g. 1e-4", "bad %s value '%s'", a, v);
            if (!strcmp(a, "--atol")) { o->tol.atol = d; o->atol_set = true; }
            else if (!strcmp(a, "--rtol")) { o->tol.rtol = d; o->rtol_set = true; }
            else { o->tol.min_cosine = d; o->cos_set = true; }
        } else {
            return cli_usage_error("see zenith-bench check --help", "unknown option '%s'", a);
        }
    }
    if (!o->model.model) return cli_usage_error("e.g. zenith-bench check --model model.onnx", "no model given");
    zn_tolerance def = zn_tolerance_for(o->cfg.precision);
    if (!o->atol_set) o->tol.atol = def.atol;
    if (!o->rtol_set) o->tol.rtol = def.rtol;
    if (!o->cos_set) o->tol.min_cosine = def.min_cosine;
    return 0;
}

static void print_header(void) {
    printf("  %-24s %12s %12s %12s %10s  %s\n", "output", "max abs err", "max rel err", "cosine", "top-1", "result");
}

static bool report_output(const char *name, const zn_view *got, const zn_view *ref, const zn_tolerance *tol) {
    zn_accuracy acc;
    if (zn_accuracy_compare(got, ref, tol, &acc) != ZN_OK) {
        printf("  %-24s %s -> FAIL\n", name, zn_last_error()->message);
        return false;
    }
    char top1[32] = "-";
    if (acc.has_top1)
        snprintf(top1, sizeof top1, "%lld/%lld", (long long)acc.top1_agree, (long long)acc.top1_rows);
    printf("  %-24s %12.3g %12.3g %12.8f %10s  %s", name, acc.max_abs_err, acc.max_rel_err, acc.cosine, top1,
           acc.pass ? "PASS" : "FAIL");
    if (!acc.pass)
        printf(" (%lld of %lld elements outside %.0e + %.0e*|ref|%s)", (long long)acc.mismatches, (long long)acc.count,
               tol->atol, tol->rtol, acc.cosine < tol->min_cosine ? ", cosine below the floor" : "");
    printf("\n");
    return acc.pass;
}

/* Runs one plan on one set of inputs; outputs are left pointing into the session. */
static zn_status run_once(const zn_plan *plan, zn_session **sess, const zn_view *inputs, zn_view *outs) {
    zn_status st = zn_session_new(plan, sess);
    if (st != ZN_OK) return st;
    for (int k = 0; k < zn_plan_num_outputs(plan); k++) outs[k].data = NULL;
    return zn_session_run(*sess, inputs, zn_plan_num_inputs(plan), outs, zn_plan_num_outputs(plan));
}

static int check_dataset(const check_opts *o, const char *dir, bool *all_pass) {
    zn_dataset ds;
    zn_graph *g = NULL;
    zn_plan *plan = NULL;
    zn_session *sess = NULL;
    zn_view ins[ZN_DATASET_MAX_TENSORS], outs[ZN_DATASET_MAX_TENSORS];
    int rc = ZN_EXIT_MODEL;
    if (zn_dataset_load(dir, &ds) != ZN_OK) {
        cli_print_error(NULL);
        return ZN_EXIT_MODEL;
    }
    cli_model_opts mo = o->model;
    mo.batch = 0;
    mo.n_shapes = 0;
    mo.keep_symbolic = true;
    if (cli_load_model(&mo, &g) != ZN_OK) goto error;
    if (ds.n_inputs != zn_graph_num_inputs(g)) {
        zn_error_set(ZN_ERR_SHAPE, "%s holds %d inputs; the model takes %d", dir, ds.n_inputs, zn_graph_num_inputs(g));
        goto error;
    }
    /* the data set's shapes bind the model's symbolic dims */
    for (int i = 0; i < ds.n_inputs; i++) {
        const char *name = zn_graph_tensor_name(g, zn_graph_input(g, i));
        if (zn_graph_bind_input_shape(g, name, ds.inputs[i].rank, ds.inputs[i].dims) != ZN_OK) goto error;
        ins[i] = zn_tensor_file_view(&ds.inputs[i]);
    }
    if (zn_compile(g, &o->cfg, &plan) != ZN_OK) goto error;
    rc = ZN_EXIT_FAIL;
    if (run_once(plan, &sess, ins, outs) != ZN_OK) goto error;
    printf("%s\n", dir);
    print_header();
    int n_cmp = ds.n_outputs < zn_plan_num_outputs(plan) ? ds.n_outputs : zn_plan_num_outputs(plan);
    if (ds.n_outputs != zn_plan_num_outputs(plan))
        printf("  note: the data set has %d outputs, the model %d; comparing the first %d\n", ds.n_outputs,
               zn_plan_num_outputs(plan), n_cmp);
    for (int k = 0; k < n_cmp; k++) {
        zn_view ref = zn_tensor_file_view(&ds.outputs[k]);
        *all_pass &= report_output(zn_plan_output(plan, k).name, &outs[k], &ref, &o->tol);
    }
    rc = ZN_EXIT_OK;
    goto done;
error:
    cli_print_error(dir);
done:
    zn_session_free(sess);
    zn_plan_free(plan);
    zn_graph_free(g);
    zn_dataset_free(&ds);
    return rc;
}

/* No data set: optimised plan vs reference plan on synthetic inputs. */
static int check_against_reference(const check_opts *o, bool *all_pass) {
    zn_graph *g = NULL;
    zn_plan *plan = NULL, *ref_plan = NULL;
    zn_session *s1 = NULL, *s2 = NULL;
    zn_sample_set *samples = NULL;
    zn_view outs[ZN_DATASET_MAX_TENSORS], refs[ZN_DATASET_MAX_TENSORS];
    int rc = ZN_EXIT_MODEL;
    zn_compile_config rcfg = zn_compile_config_default();
    rcfg.reference = true;
    rcfg.backend = ZN_BACKEND_CPU;
    rcfg.threads = o->cfg.threads;
    if (cli_load_model(&o->model, &g) != ZN_OK || zn_compile(g, &o->cfg, &plan) != ZN_OK ||
        zn_compile(g, &rcfg, &ref_plan) != ZN_OK)
        goto error;
    if (zn_plan_num_outputs(plan) > ZN_DATASET_MAX_TENSORS) {
        zn_error_set(ZN_ERR_UNSUPPORTED, "the model has more than %d outputs", ZN_DATASET_MAX_TENSORS);
        goto error;
    }
    rc = ZN_EXIT_FAIL;
    if (zn_samples_synthetic(plan, 1, 42, &samples) != ZN_OK) goto error;
    if (run_once(plan, &s1, zn_samples_get(samples, 0), outs) != ZN_OK ||
        run_once(ref_plan, &s2, zn_samples_get(samples, 0), refs) != ZN_OK)
        goto error;
    printf("no reference data set: comparing the %s plan with the reference plan (reference kernels, fp32, no passes)\n",
           zn_backend_name(zn_plan_summary(plan)->backend));
    print_header();
    for (int k = 0; k < zn_plan_num_outputs(plan); k++)
        *all_pass &= report_output(zn_plan_output(plan, k).name, &outs[k], &refs[k], &o->tol);
    rc = ZN_EXIT_OK;
    goto done;
error:
    cli_print_error(NULL);
done:
    zn_session_free(s1);
    zn_session_free(s2);
    zn_samples_free(samples);
    zn_plan_free(plan);
    zn_plan_free(ref_plan);
    zn_graph_free(g);
    return rc;
}

int cmd_check(int argc, char **argv) {
    check_opts o;
    int rc = parse_check(argc, argv, &o);
    if (rc != 0) return rc < 0 ? ZN_EXIT_OK : rc;
    char *paths[256];
    int n = 0;
    if (o.data) {
        n = zn_dataset_find(o.data, paths, 256);
        if (n == 0) {
            fprintf(stderr, "error: --data %s holds no input_0.pb / .npy and no test_data_set_N folders\n", o.data);
            fprintf(stderr, "hint: point --data at a test_data_set folder or the folder that contains them\n");
            return ZN_EXIT_USAGE;
        }
    } else if (cli_is_model_file(o.model.model)) {
        char *copy = strdup(o.model.model);
        if (copy) {
            n = zn_dataset_find(dirname(copy), paths, 256);
            free(copy);
        }
    }
    bool all_pass = true;
    rc = ZN_EXIT_OK;
    if (n == 0) {
        rc = check_against_reference(&o, &all_pass);
    } else {
        for (int i = 0; i < n && rc == ZN_EXIT_OK; i++) rc = check_dataset(&o, paths[i], &all_pass);
    }
    for (int i = 0; i < n; i++) free(paths[i]);
    if (rc != ZN_EXIT_OK) return rc;
    printf("%s\n", all_pass ? "PASS" : "FAIL");
    return all_pass ? ZN_EXIT_OK : ZN_EXIT_MISMATCH;
}
