/* runner.c — one benchmark run end to end (see runner.h).
 *
 * Samples and batches. A sample is one input set at the bound batch b0 (--batch, default 1).
 * With dynamic batching (max_batch > 1) the plan is compiled at b0 * max_batch and a batch of
 * k samples is gathered row-wise into per-worker staging buffers; a short batch is padded by
 * repeating its last sample, so one plan serves every batch size (the padding's cost is
 * counted in the latency, which makes partial batches look no better than full ones).
 * Multi-stream queries carry several samples; they are run max_batch at a time.
 */
#include "runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "engine/device.h"
#include "profiling/gpu_monitor.h"
#include "profiling/nvtx.h"
#include "suites/accuracy.h"
#include "suites/dataset.h"
#include "suites/peak.h"
#include "suites/samples.h"

#define MAX_IO 64

typedef struct worker_state {
    zn_session *session;
    zn_view in[MAX_IO];        /* staging views (batched plans) */
    void *staging[MAX_IO];
    zn_view out[MAX_IO];
    int64_t queries;           /* for NVTX "query <n>" */
} worker_state;

typedef struct bench {
    const zn_plan *plan;
    int n_in, n_out;
    int max_batch;             /* samples per plan run */
    int64_t b0;                /* leading rows per sample */
    zn_sample_set *samples;
    int n_workers;
    worker_state *workers;
    /* accuracy */
    bool accuracy;
    const zn_plan *ref_plan;   /* reference plan (no data set) */
    zn_session *ref_session;   /* used under acc_mu */
    zn_dataset *datasets;      /* reference outputs (data set mode) */
    int n_datasets;
    zn_tolerance tol;
    pthread_mutex_t acc_mu;
    zn_accuracy acc[MAX_IO];
    bool acc_seen[MAX_IO];
    zn_status acc_status;
} bench;

static int input_count(const zn_plan *p) { return zn_plan_num_inputs(p); }

/* Worst case over samples: the largest errors, the smallest cosine, summed counts. */
static void merge_accuracy(zn_accuracy *dst, bool *seen, const zn_accuracy *a) {
    if (!*seen) {
        *dst = *a;
        *seen = true;
        return;
    }
    dst->count += a->count;
    if (a->max_abs_err > dst->max_abs_err) dst->max_abs_err = a->max_abs_err;
    if (a->max_rel_err > dst->max_rel_err) dst->max_rel_err = a->max_rel_err;
    if (a->cosine < dst->cosine) dst->cosine = a->cosine;
    dst->mismatches += a->mismatches;
    dst->nan_mismatch += a->nan_mismatch;
    dst->top1_rows += a->top1_rows;
    dst->top1_agree += a->top1_agree;
    dst->pass = dst->pass && a->pass;
}

/* Compares one sample's outputs with its reference (accuracy mode; not timed). */
static zn_status check_sample(bench *b, int64_t sample, const zn_view *outs) {
    zn_view ref[MAX_IO];
    pthread_mutex_lock(&b->acc_mu);
    zn_status st = ZN_OK;
    if (b->datasets) {
        const zn_dataset *d = &b->datasets[sample % b->n_datasets];
        for (int k = 0; k < b->n_out && k < d->n_outputs; k++) ref[k] = zn_tensor_file_view(&d->outputs[k]);
    } else {
        for (int k = 0; k < b->n_out; k++) ref[k].data = NULL;
        st = zn_session_run(b->ref_session, zn_samples_get(b->samples, sample), b->n_in, ref, b->n_out);
    }
    int n_cmp = b->datasets ? (b->datasets[sample % b->n_datasets].n_outputs < b->n_out
                                   ? b->datasets[sample % b->n_datasets].n_outputs : b->n_out)
                            : b->n_out;
    for (int k = 0; st == ZN_OK && k < n_cmp; k++) {
        zn_accuracy a;
        st = zn_accuracy_compare(&outs[k], &ref[k], &b->tol, &a);
        if (st == ZN_OK) merge_accuracy(&b->acc[k], &b->acc_seen[k], &a);
    }
    if (st != ZN_OK && b->acc_status == ZN_OK) b->acc_status = st;
    pthread_mutex_unlock(&b->acc_mu);
    return st;
}

/* Gathers samples[0..k) row-wise into the worker's staging buffers (padding with the last). */
static void gather(bench *b, worker_state *w, const int64_t *samples, int k) {
    for (int i = 0; i < b->n_in; i++) {
        size_t row_bytes = zn_view_bytes(&w->in[i]) / (size_t)(b->max_batch);
        for (int s = 0; s < b->max_batch; s++) {
            const zn_view *src = &zn_samples_get(b->samples, samples[s < k ? s : k - 1])[i];
            memcpy((char *)w->staging[i] + (size_t)s * row_bytes, src->data, row_bytes);
        }
    }
}

static zn_status sut_run(void *user, int worker, const int64_t *samples, int n) {
    bench *b = user;
    worker_state *w = &b->workers[worker];
    zn_nvtx_query_begin(w->queries++);
    zn_status st = ZN_OK;
    for (int off = 0; off < n && st == ZN_OK; off += b->max_batch) {
        int k = n - off < b->max_batch ? n - off : b->max_batch;
        const zn_view *in;
        if (b->max_batch == 1) {
            in = zn_samples_get(b->samples, samples[off]);
        } else {
            gather(b, w, samples + off, k);
            in = w->in;
        }
        for (int o = 0; o < b->n_out; o++) w->out[o].data = NULL;
        st = zn_session_run(w->session, in, b->n_in, w->out, b->n_out);
        if (st == ZN_OK && b->accuracy) st = check_sample(b, samples[off], w->out);
    }
    zn_nvtx_query_end();
    return st;
}

/* find-peak: one short server run at the offered QPS. */
typedef struct peak_ctx {
    zn_test_settings ts;
    const zn_sut *sut;
    zn_live *live;
} peak_ctx;

static zn_status peak_run_at(void *user, double qps, zn_test_results *out) {
    peak_ctx *p = user;
    zn_test_settings s = p->ts;
    s.target_qps = qps;
    s.mode = ZN_TEST_PERFORMANCE;
    zn_status st = zn_loadgen_run(&s, p->sut, p->live, out);
    /* One stall on a shared machine can fail a short run: a rate counts as INVALID only when a
     * second run at it fails too (otherwise the search stops below the real edge). */
    if (st == ZN_OK && out->verdict == ZN_VERDICT_INVALID) {
        zn_test_results *again = calloc(1, sizeof *again);
        if (!again) return st;
        zn_status st2 = zn_loadgen_run(&s, p->sut, p->live, again);
        if (st2 == ZN_OK && again->verdict == ZN_VERDICT_VALID) {
            zn_test_results_free(out);
            *out = *again;
        } else {
            zn_test_results_free(again);
            if (st2 == ZN_ERR_INTERRUPTED) st = st2;
        }
        free(again);
    }
    return st;
}

static void stage(zn_runner_stage_fn fn, void *user, const char *s, const char *detail) {
    if (fn) fn(user, s, detail);
}

/* ---- GPU profiling (issue 9): CUPTI kernel trace, NVML samples, GPU facts --------------------
 * Only for plans on the CUDA backend; nothing here fails a run (a missing tool is noted in the
 * record and said once through the logger). */

typedef struct gpu_run {
    bool cuda;                 /* the plan runs on the CUDA backend */
    zn_gpu_facts facts;
    zn_cupti *cupti;           /* NULL: no kernel trace (--no-profile, CUPTI taken, not built) */
    zn_gpu_monitor *mon;       /* NULL: no NVML */
    bool announced;            /* gpu_fn was told of cupti */
    bool window;               /* cudaProfilerStart called */
} gpu_run;

/* After the profiler is attached: the device's facts, and the CUPTI observer of each session
 * wrapped around the profiler's (so the CPU timer and the NVTX range stay innermost). */
static void gpu_attach(gpu_run *g, const zn_runner_opts *o, const zn_plan *plan, bench *b, zn_profiler *prof) {
    g->cuda = zn_plan_summary(plan)->backend == ZN_BACKEND_CUDA;
    if (!g->cuda) return;
    zn_device_info di;
    if (zn_device_probe(&di) == ZN_OK) zn_gpu_facts_from_device(&g->facts, &di);
    if (o->no_profile) {
        snprintf(g->facts.cupti, sizeof g->facts.cupti, "off (--no-profile)");
        return;
    }
    if (zn_cupti_start(plan, b->n_workers, &g->cupti) != ZN_OK) {
        snprintf(g->facts.cupti, sizeof g->facts.cupti, "%s", zn_cupti_note());
        zn_error_clear();
        return;
    }
    snprintf(g->facts.cupti, sizeof g->facts.cupti, "%s", zn_cupti_note());
    for (int w = 0; w < b->n_workers; w++)
        zn_session_set_observer(b->workers[w].session, zn_cupti_observer(g->cupti, w, zn_profiler_observer(prof, w)));
}

/* After the warm-up (sessions idle): forget the warm-up's kernels; let a live view watch. */
static void gpu_warmed_up(gpu_run *g, const zn_runner_opts *o) {
    if (!g->cupti) return;
    zn_cupti_reset(g->cupti);
    if (o->gpu_fn) {
        o->gpu_fn(o->gpu_user, g->cupti);
        g->announced = true;
    }
}

/* The measured window: NVML sampling, and cudaProfilerStart/Stop for
 * `nsys profile --capture-range=cudaProfilerApi`. */
static void gpu_window_begin(gpu_run *g) {
    if (!g->cuda) return;
    if (zn_gpu_monitor_start(g->facts.pci_bus_id, g->facts.ordinal, 10, &g->mon) != ZN_OK) {
        snprintf(g->facts.nvml_note, sizeof g->facts.nvml_note, "%.159s", zn_last_error()->message);
        zn_error_clear();
    }
    zn_device_profiler_start();
    g->window = true;
}

static void gpu_window_end(gpu_run *g) {
    if (!g->window) return;
    zn_device_profiler_stop();
    g->window = false;
    zn_gpu_monitor_stop(g->mon);
}

/* The GPU part of the record: facts, samples and (when traced) the kernel profile. */
static void gpu_fill_record(gpu_run *g, zn_record *rec) {
    if (!g->cuda) return;
    zn_gpu_monitor_facts(g->mon, &g->facts);
    zn_gpu_profile gp;
    bool have = false;
    if (g->cupti && zn_cupti_flush(g->cupti, true) == ZN_OK) have = zn_cupti_collect(g->cupti, &gp, true) == ZN_OK;
    zn_record_fill_gpu(rec, &g->facts, have ? &gp : NULL);
    if (have) zn_gpu_profile_free(&gp);
}

static void gpu_release(gpu_run *g, const zn_runner_opts *o, bench *b, zn_record *rec) {
    gpu_window_end(g);
    if (g->cuda && !rec->has_gpu) { /* a run that failed or stopped early still names its GPU */
        rec->has_gpu = true;
        rec->gpu = g->facts;
    }
    if (g->announced) o->gpu_fn(o->gpu_user, NULL);
    if (g->cupti)
        for (int w = 0; b->workers && w < b->n_workers; w++)
            if (b->workers[w].session) zn_session_set_observer(b->workers[w].session, NULL);
    zn_cupti_stop(g->cupti);
    zn_gpu_monitor_free(g->mon);
    memset(g, 0, sizeof *g);
}
/* ---- end of GPU profiling --------------------------------------------------------------------- */

zn_status zn_runner_run(const zn_runner_opts *o, zn_live *live, zn_runner_stage_fn stage_fn, void *user,
                        zn_record *rec, const char **stage_failed) {
    zn_record_init(rec);
    zn_record_fill_system(rec);
    zn_record_set_command_line(rec, o->argc, o->argv);
    zn_test_settings ts = o->settings;
    bench b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.acc_mu, NULL);
    zn_graph *g = NULL;
    zn_plan *plan = NULL, *ref_plan = NULL;
    zn_profiler *prof = NULL;
    zn_test_results res;
    memset(&res, 0, sizeof res);
    bool have_results = false;
    zn_status st;
    char **paths = NULL;
    int n_paths = 0;
    bool prof_announced = false; /* profiler_fn told of prof (TUI) */
    gpu_run gpu; /* issue 9: GPU profiling (see gpu_attach) */
    memset(&gpu, 0, sizeof gpu);
    *stage_failed = "load";

    b.accuracy = ts.mode == ZN_TEST_ACCURACY;
    if (ts.mode == ZN_TEST_FIND_PEAK && ts.scenario != ZN_SCENARIO_SERVER) {
        st = zn_error_set(ZN_ERR_INVALID_ARGUMENT, "find-peak searches the server scenario's QPS; --scenario is %s",
                          zn_scenario_name(ts.scenario));
        zn_error_hint("add --scenario server");
        goto done;
    }
    b.max_batch = b.accuracy || ts.max_batch < 1 ? 1 : ts.max_batch;
    ts.max_batch = b.max_batch;
    /* rows per sample: --batch, else the leading dim --shape gives, else 1 */
    b.b0 = o->model.batch > 0 ? o->model.batch
         : (o->model.n_shapes > 0 && o->model.shapes[0].rank > 0) ? o->model.shapes[0].dims[0] : 1;

    /* ---- load and bind ---- */
    stage(stage_fn, user, "loading", o->model.model);
    cli_model_opts mo = o->model;
    if (b.max_batch > 1) {
        /* the plan holds max_batch samples: scale the leading dim of every bound shape too */
        mo.batch = (int)(b.b0 * b.max_batch);
        for (int i = 0; i < mo.n_shapes; i++)
            if (mo.shapes[i].rank > 0) mo.shapes[i].dims[0] *= b.max_batch;
    }
    if (o->data_dir) {
        paths = calloc(256, sizeof *paths);
        if (!paths) {
            st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        n_paths = zn_dataset_find(o->data_dir, paths, 256);
        if (n_paths == 0) {
            st = zn_error_set(ZN_ERR_NOT_FOUND, "--data %s holds no input_0.pb/.npy and no test_data_set_N folders",
                              o->data_dir);
            zn_error_hint("point --data at a test_data_set folder or the folder that holds them");
            goto done;
        }
        b.datasets = calloc((size_t)n_paths, sizeof *b.datasets);
        if (!b.datasets) {
            st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        for (int i = 0; i < n_paths; i++) {
            if ((st = zn_dataset_load(paths[i], &b.datasets[i])) != ZN_OK) goto done;
            b.n_datasets++;
        }
        /* the data set's shapes bind the model */
        mo.batch = 0;
        mo.n_shapes = 0;
        mo.keep_symbolic = true;
    }
    if ((st = cli_load_model(&mo, &g)) != ZN_OK) goto done;
    if (b.datasets) {
        if (b.datasets[0].n_inputs != zn_graph_num_inputs(g)) {
            st = zn_error_set(ZN_ERR_SHAPE, "%s holds %d inputs; the model takes %d", b.datasets[0].dir,
                              b.datasets[0].n_inputs, zn_graph_num_inputs(g));
            goto done;
        }
        for (int i = 0; i < b.datasets[0].n_inputs; i++) {
            const zn_tensor_file *t = &b.datasets[0].inputs[i];
            st = zn_graph_bind_input_shape(g, zn_graph_tensor_name(g, zn_graph_input(g, i)), t->rank, t->dims);
            if (st != ZN_OK) goto done;
        }
    }

    if (o->interrupted && *o->interrupted) {
        st = zn_error_set(ZN_ERR_INTERRUPTED, "interrupted while loading the model");
        goto done;
    }

    /* ---- compile ---- */
    *stage_failed = "compile";
    stage(stage_fn, user, "compiling", zn_graph_name(g));
    zn_compile_config cfg = o->cfg;
    zn_compile_observer cobs = {NULL, zn_nvtx_pass_begin, zn_nvtx_pass_end};
    cfg.observer = &cobs;
    int workers = ts.n_workers > 0 ? ts.n_workers : 1;
    if (ts.scenario == ZN_SCENARIO_SINGLE_STREAM || ts.scenario == ZN_SCENARIO_MULTI_STREAM) workers = 1;
    if (cfg.threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        /* server: LoadGen's scheduler thread needs a core of its own, or the Poisson arrivals
         * queue behind the engine's threads and the tail grows by scheduler time slices */
        if (ts.scenario == ZN_SCENARIO_SERVER && cores > 1) cores--;
        cfg.threads = cores / workers > 1 ? (int)(cores / workers) : 1;
    }
    zn_nvtx_compile_begin();
    st = zn_compile(g, &cfg, &plan);
    zn_nvtx_compile_end();
    if (st != ZN_OK) goto done;
    /* one line on why auto chose the CPU, or why reduce-overhead runs without a CUDA graph */
    if (zn_plan_summary(plan)->note[0]) stage(stage_fn, user, "note", zn_plan_summary(plan)->note);
    const char *source = cli_is_model_file(o->model.model) ? "onnx" : "zoo";
    if ((st = zn_record_fill_from_plan(rec, plan, o->model.model, source,
                                       cli_is_model_file(o->model.model) ? o->model.model : NULL)) != ZN_OK)
        goto done;
    rec->settings.weight_seed = o->model.seed;
    rec->settings.batch = (int)b.b0;

    /* ---- samples, sessions, profiler ---- */
    *stage_failed = "prepare";
    stage(stage_fn, user, "preparing", "sessions and inputs");
    b.plan = plan;
    b.n_in = input_count(plan);
    for (int i = 0; b.max_batch > 1 && i < b.n_in; i++) {
        zn_io_info io = zn_plan_input(plan, i);
        if (io.rank < 1 || io.dims[0] != b.b0 * b.max_batch) {
            st = zn_error_set(ZN_ERR_SHAPE,
                              "dynamic batching needs a batch dim: input '%s' has leading dim %lld, not %lld samples x %d",
                              io.name, io.rank ? (long long)io.dims[0] : 0LL, (long long)b.b0, b.max_batch);
            zn_error_hint("the model's batch size is fixed: run with --max-batch 1");
            goto done;
        }
    }
    b.n_out = zn_plan_num_outputs(plan);
    if (b.n_in > MAX_IO || b.n_out > MAX_IO) {
        st = zn_error_set(ZN_ERR_UNSUPPORTED, "the model has more than %d inputs or outputs", MAX_IO);
        goto done;
    }
    if (b.datasets) {
        if ((st = zn_samples_new(plan, &b.samples)) != ZN_OK) goto done;
        for (int i = 0; i < b.n_datasets; i++) {
            zn_view v[MAX_IO];
            for (int k = 0; k < b.datasets[i].n_inputs && k < MAX_IO; k++) v[k] = zn_tensor_file_view(&b.datasets[i].inputs[k]);
            if ((st = zn_samples_add(b.samples, v)) != ZN_OK) {
                zn_error_prefix("%s (every data set must have the first one's shapes)", b.datasets[i].dir);
                goto done;
            }
        }
        ts.total_sample_count = b.n_datasets;
        if (ts.performance_sample_count > b.n_datasets || ts.performance_sample_count == 0)
            ts.performance_sample_count = b.n_datasets;
    } else {
        int n = o->n_samples > 0 ? o->n_samples : 16;
        if ((st = zn_samples_synthetic(plan, n, o->data_seed, &b.samples)) != ZN_OK) goto done;
        if (b.accuracy) ts.total_sample_count = n; /* every distinct sample once */
    }
    b.n_workers = workers;
    ts.n_workers = workers;
    b.workers = calloc((size_t)workers, sizeof *b.workers);
    if (!b.workers) {
        st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int w = 0; w < workers; w++) {
        if ((st = zn_session_new(plan, &b.workers[w].session)) != ZN_OK) goto done;
        if (b.max_batch > 1)
            for (int i = 0; i < b.n_in; i++) {
                zn_io_info io = zn_plan_input(plan, i);
                zn_view *v = &b.workers[w].in[i];
                v->dtype = io.dtype;
                v->rank = io.rank;
                memcpy(v->dims, io.dims, sizeof v->dims);
                b.workers[w].staging[i] = zn_aligned_alloc(zn_view_bytes(v) + 1);
                if (!b.workers[w].staging[i]) {
                    st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory for batch staging buffers");
                    goto done;
                }
                v->data = b.workers[w].staging[i];
            }
    }
    if (b.accuracy) {
        b.tol = zn_tolerance_for(cfg.precision);
        if (!b.datasets) {
            zn_compile_config rcfg = zn_compile_config_default();
            rcfg.reference = true;
            rcfg.backend = ZN_BACKEND_CPU;
            rcfg.threads = cfg.threads;
            if ((st = zn_compile(g, &rcfg, &ref_plan)) != ZN_OK) goto done;
            b.ref_plan = ref_plan;
            if ((st = zn_session_new(ref_plan, &b.ref_session)) != ZN_OK) goto done;
        }
    }
    if (!o->no_profile) {
        if ((st = zn_profiler_new(plan, workers, ZN_PROFILE_TIMING | ZN_PROFILE_NVTX, &prof)) != ZN_OK) goto done;
        for (int w = 0; w < workers; w++)
            if ((st = zn_profiler_attach(prof, w, b.workers[w].session)) != ZN_OK) goto done;
    } else {
        /* NVTX node ranges still, when a tool listens */
        if ((st = zn_profiler_new(plan, workers, ZN_PROFILE_NVTX, &prof)) != ZN_OK) goto done;
        for (int w = 0; w < workers; w++)
            if ((st = zn_profiler_attach(prof, w, b.workers[w].session)) != ZN_OK) goto done;
    }
    gpu_attach(&gpu, o, plan, &b, prof); /* issue 9 */
    /* engine warm-up outside the measurement: first-touch of arenas and weights */
    for (int w = 0; w < workers && !b.accuracy; w++) {
        int64_t s0[1] = {0};
        for (int rep = 0; rep < 2 && st == ZN_OK; rep++) st = sut_run(&b, w, s0, 1);
        if (st != ZN_OK) goto done;
    }
    if (prof) zn_profiler_reset(prof);
    gpu_warmed_up(&gpu, o); /* issue 9 */
    if (o->profiler_fn && prof && !o->no_profile) { /* added for the TUI: live top nodes */
        o->profiler_fn(o->profiler_user, prof);
        prof_announced = true;
    }

    if (o->interrupted && *o->interrupted) {
        st = zn_error_set(ZN_ERR_INTERRUPTED, "interrupted before the run started");
        goto done;
    }

    /* ---- the scenario ---- */
    *stage_failed = "run";
    stage(stage_fn, user, "running", zn_scenario_name(ts.scenario));
    /* the harness's own cost per query, on this machine now (a few ms) */
    double overhead_ns = zn_loadgen_measure_overhead(20000);
    zn_sut sut = {&b, workers, sut_run};
    gpu_window_begin(&gpu); /* issue 9: NVML samples + cudaProfilerStart */
    zn_status run_st;
    if (ts.mode == ZN_TEST_FIND_PEAK) {
        /* search, then a confirmation run at the peak whose results the record carries */
        peak_ctx pc = {ts, &sut, live};
        pc.ts.mode = ZN_TEST_PERFORMANCE;
        zn_peak_opts po;
        zn_peak_opts_default(&po);
        po.start_qps = o->settings.target_qps > 0 ? o->settings.target_qps : 10;
        run_st = zn_peak_search(&po, peak_run_at, &pc, &rec->peak);
        rec->has_peak = rec->peak.n_points > 0;
        ts.mode = ZN_TEST_PERFORMANCE;
        if (run_st == ZN_OK) {
            /* A rate at the edge passes or fails by chance: confirm with a separate run, stepping
             * down 3 % at a time (at most 4 times) until one is VALID, and report that rate. */
            stage(stage_fn, user, "confirming", "the peak with a server run");
            ts.target_qps = rec->peak.found ? rec->peak.peak_qps : po.start_qps;
            for (int tries = 0;; tries++) {
                run_st = zn_loadgen_run(&ts, &sut, live, &res);
                if (run_st != ZN_OK || !rec->peak.found || res.verdict == ZN_VERDICT_VALID || tries == 3) break;
                zn_test_results_free(&res);
                ts.target_qps *= 0.97;
            }
            if (run_st == ZN_OK && rec->peak.found && ts.target_qps < rec->peak.peak_qps) {
                size_t len = strlen(rec->peak.note);
                snprintf(rec->peak.note + len, sizeof rec->peak.note - len,
                         "; confirmed VALID at %.4g QPS after the search's rate failed a separate run",
                         ts.target_qps);
                if (res.verdict == ZN_VERDICT_VALID) rec->peak.peak_qps = ts.target_qps;
            }
        }
    } else {
        run_st = zn_loadgen_run(&ts, &sut, live, &res);
    }
    gpu_window_end(&gpu); /* issue 9: cudaProfilerStop */
    have_results = run_st == ZN_OK || run_st == ZN_ERR_INTERRUPTED || res.query_count > 0 || res.interrupted;
    if (have_results) {
        zn_status fs = zn_record_fill_results(rec, &res);
        if (fs != ZN_OK) {
            st = fs;
            goto done;
        }
        rec->results.harness_overhead_ns = overhead_ns;
        if (b.b0 > 1) {
            /* LoadGen's samples are input sets at --batch rows; reports count items */
            rec->results.sample_count *= b.b0;
            rec->results.samples_per_second *= (double)b.b0;
            if (!strcmp(rec->results.metric_unit, "samples/s")) rec->results.metric_value *= (double)b.b0;
        }
    }
    if (prof && !o->no_profile) {
        zn_profile pr;
        if (zn_profiler_collect(prof, &pr) == ZN_OK) {
            zn_record_fill_profile(rec, &pr);
            zn_profile_free(&pr);
        }
    }
    gpu_fill_record(&gpu, rec); /* issue 9 */
    if (b.accuracy) {
        *stage_failed = "check";
        stage(stage_fn, user, "checking", "accuracy");
        for (int k = 0; k < b.n_out; k++)
            if (b.acc_seen[k]) zn_record_add_accuracy(rec, zn_plan_output(plan, k).name, &b.acc[k]);
    }
    st = run_st;
done:
    if (st == ZN_ERR_INTERRUPTED && !have_results) zn_record_mark_interrupted(rec, "interrupted by the user");
    else if (st != ZN_OK && st != ZN_ERR_INTERRUPTED) zn_record_mark_failed(rec, zn_last_error()->message);
    zn_test_results_free(&res);
    gpu_release(&gpu, o, &b, rec); /* issue 9: before the profiler and the sessions go */
    if (prof_announced) o->profiler_fn(o->profiler_user, NULL); /* added for the TUI */
    zn_profiler_free(prof);
    for (int w = 0; b.workers && w < b.n_workers; w++) {
        zn_session_free(b.workers[w].session);
        for (int i = 0; i < MAX_IO; i++) zn_free(b.workers[w].staging[i]);
    }
    free(b.workers);
    zn_session_free(b.ref_session);
    zn_samples_free(b.samples);
    for (int i = 0; i < b.n_datasets; i++) zn_dataset_free(&b.datasets[i]);
    free(b.datasets);
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
    zn_plan_free(ref_plan);
    zn_plan_free(plan);
    zn_graph_free(g);
    pthread_mutex_destroy(&b.acc_mu);
    return st;
}
