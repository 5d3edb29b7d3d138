/* test_run_record.c — the run record: JSON round trip of every field (histograms, rules,
 * queries, profile, accuracy, 64-bit seeds), refusing newer schema versions, broken and foreign
 * files, unwritable paths, interrupted runs, atomic writes; the markdown report's sections and
 * numbers; the MLPerf summary's LoadGen layout. Results are faked by hand (no scenario runs). */
#include "test_util.h"

#include <dirent.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "reports/run_record.h"

static zn_dim D(int64_t v) { zn_dim d = {v, -1}; return d; }

static zn_plan *small_plan(zn_graph **gout) {
    zn_graph *g = zn_graph_new("tiny-mlp");
    zn_dim dims[2] = {D(3), D(16)};
    int x = zn_graph_add_input(g, "x", ZN_F32, 2, dims);
    float w[16 * 8];
    tu_rng r = tu_rng_new(tu_seed());
    tu_fill(&r, w, 128, -1, 1);
    int64_t wd[2] = {16, 8};
    int W = zn_graph_add_const(g, "W", ZN_F32, 2, wd, w);
    int in[2] = {x, W};
    int mm = zn_graph_op(g, ZN_OP_MATMUL, "mm", 2, in);
    int relu = zn_graph_op(g, ZN_OP_RELU, "relu", 1, &mm);
    zn_graph_mark_output(g, relu);
    zn_compile_config cfg = zn_compile_config_default();
    cfg.threads = 1;
    zn_plan *plan = NULL;
    assert_int_equal(zn_compile(g, &cfg, &plan), ZN_OK);
    *gout = g;
    return plan;
}

/* A scenario's results, made up but consistent. Free with free_fake. */
static zn_test_results *fake_results(tu_rng *r, zn_scenario scen) {
    zn_test_results *t = calloc(1, sizeof *t);
    zn_test_settings *s = &t->settings;
    s->scenario = scen;
    s->mode = ZN_TEST_PERFORMANCE;
    s->min_duration_ms = 2000;
    s->max_duration_ms = 60000;
    s->min_query_count = 128;
    s->target_qps = scen == ZN_SCENARIO_SERVER ? 100 : 0;
    s->target_latency_ns = scen == ZN_SCENARIO_SERVER ? 100000000 : 0;
    s->target_latency_percentile = scen == ZN_SCENARIO_SERVER ? 99 : 90;
    s->samples_per_query = 1;
    s->total_sample_count = 1024;
    s->performance_sample_count = 1024;
    s->schedule_seed = 0xFEDCBA9876543210ull; /* > 2^53: travels as a string */
    s->sample_seed = 12345678901234567ull + (tu_next(r) % 1000);
    s->warmup_queries = 1;
    s->max_batch = 1;
    s->n_workers = 1;
    s->keep_queries = 100000;

    zn_hist_init(&t->latency);
    zn_hist_init(&t->service);
    zn_hist_init(&t->issue_lag);
    int n = 300 + (int)(tu_next(r) % 200);
    t->n_queries_kept = n;
    t->queries = zn_malloc((size_t)n * sizeof *t->queries);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        int64_t lat = 1000000 + (int64_t)(tu_next(r) % 4000000);
        zn_hist_record(&t->latency, lat);
        zn_hist_record(&t->service, lat - 1000);
        if (scen == ZN_SCENARIO_SERVER) zn_hist_record(&t->issue_lag, (int64_t)(tu_next(r) % 5000));
        t->queries[i] = (zn_query_record){at, at + 10, lat, 1, 0};
        at += lat;
    }
    t->query_count = n;
    t->sample_count = n;
    t->warmup_query_count = 1;
    t->duration_ns = at;
    t->last_issue_ns = at - t->queries[n - 1].latency_ns;
    t->n_workers = 1;
    t->qps_with_overhead = (n - 1) / (t->last_issue_ns / 1e9);
    t->qps_without_overhead = n / (at / 1e9);
    t->sut_busy_ns = at - 1000 * n;
    t->samples_per_second = n / (at / 1e9);
    t->target_qps = s->target_qps;
    t->scheduled_qps = scen == ZN_SCENARIO_SERVER ? 99.5 : 0;
    t->completed_qps = scen == ZN_SCENARIO_SERVER ? 98.25 : 0;
    t->lat_min_ns = zn_hist_min(&t->latency);
    t->lat_max_ns = zn_hist_max(&t->latency);
    t->lat_mean_ns = (int64_t)zn_hist_mean(&t->latency);
    t->p50_ns = zn_hist_percentile(&t->latency, 50);
    t->p90_ns = zn_hist_percentile(&t->latency, 90);
    t->p95_ns = zn_hist_percentile(&t->latency, 95);
    t->p97_ns = zn_hist_percentile(&t->latency, 97);
    t->p99_ns = zn_hist_percentile(&t->latency, 99);
    t->p999_ns = zn_hist_percentile(&t->latency, 99.9);
    t->target_percentile_ns = zn_hist_percentile(&t->latency, s->target_latency_percentile);
    t->cv = zn_hist_cv(&t->latency);
    t->noisy = t->cv > 0.1;
    snprintf(t->metric_name, sizeof t->metric_name, "%s", scen == ZN_SCENARIO_SERVER ? "scheduled QPS" : "p90 latency");
    snprintf(t->metric_unit, sizeof t->metric_unit, "%s", scen == ZN_SCENARIO_SERVER ? "queries/s" : "ns");
    t->metric_value = scen == ZN_SCENARIO_SERVER ? t->scheduled_qps : (double)t->p90_ns;
    t->es_applicable = 1;
    t->es_passed = 1;
    t->es_latency_ns = t->p95_ns;
    t->es_queries_needed = 64;
    t->es_discarded = 9;
    const char *names[] = {"min_duration", "min_queries", "early_stopping", "completed", "latency_constraint"};
    int nr = scen == ZN_SCENARIO_SERVER ? 5 : 4;
    for (int i = 0; i < nr; i++) {
        snprintf(t->rules[i].name, sizeof t->rules[i].name, "%s", names[i]);
        t->rules[i].passed = 1;
        snprintf(t->rules[i].detail, sizeof t->rules[i].detail, "rule %s detail %d", names[i], i * 7);
    }
    t->n_rules = nr;
    t->n_recommendations = 2;
    snprintf(t->recommendations[0], ZN_LOADGEN_TEXT, "reduce target QPS to about %d", 420);
    snprintf(t->recommendations[1], ZN_LOADGEN_TEXT, "run longer for a stable p99");
    t->verdict = ZN_VERDICT_VALID;
    return t;
}

static void free_fake(zn_test_results *t) {
    zn_free(t->queries);
    free(t);
}

static void fake_profile(zn_profile *p) {
    memset(p, 0, sizeof *p);
    p->n_nodes = 3;
    p->nodes = zn_calloc(3, sizeof *p->nodes);
    const char *nm[3] = {"encoder.0.attn.qkv", "encoder.0.ln", "head.softmax"};
    const char *op[3] = {"MatMul", "LayerNormalization", "Softmax"};
    int64_t tot[3] = {7000000, 2000000, 1000000};
    for (int i = 0; i < 3; i++) {
        snprintf(p->nodes[i].name, sizeof p->nodes[i].name, "%s", nm[i]);
        snprintf(p->nodes[i].op, sizeof p->nodes[i].op, "%s", op[i]);
        snprintf(p->nodes[i].kernel, sizeof p->nodes[i].kernel, "cpu.%s.ref", op[i]);
        p->nodes[i].count = 10;
        p->nodes[i].total_ns = tot[i];
        p->nodes[i].min_ns = tot[i] / 20;
        p->nodes[i].max_ns = tot[i] / 5;
        p->nodes[i].mean_ns = tot[i] / 10.0;
        p->nodes[i].share = tot[i] / 1e7;
    }
    p->n_ops = 3;
    p->ops = zn_calloc(3, sizeof *p->ops);
    for (int i = 0; i < 3; i++) {
        snprintf(p->ops[i].op, sizeof p->ops[i].op, "%s", op[i]);
        p->ops[i].nodes = 1;
        p->ops[i].count = 10;
        p->ops[i].total_ns = tot[i];
        p->ops[i].mean_ns = tot[i] / 10.0;
        p->ops[i].share = tot[i] / 1e7;
    }
    p->runs = 10;
    p->total_ns = 10000000;
    p->run_ns = 10400000;
}

typedef struct fixture {
    zn_graph *g;
    zn_plan *plan;
    zn_record rec;
    zn_test_results *res;
    char dir[512];
} fixture;

static void make_record(fixture *f, zn_scenario scen) {
    tu_rng r = tu_rng_new(tu_seed() + (uint64_t)scen);
    zn_record_init(&f->rec);
    zn_record_fill_system(&f->rec);
    char *argv[] = {"zenith-bench", "run", "--model", "tiny mlp", "--duration", "2s"};
    zn_record_set_command_line(&f->rec, 6, argv);
    assert_int_equal(zn_record_fill_from_plan(&f->rec, f->plan, "tiny-mlp", "zoo", NULL), ZN_OK);
    f->rec.settings.weight_seed = 42;
    f->res = fake_results(&r, scen);
    assert_int_equal(zn_record_fill_results(&f->rec, f->res), ZN_OK);
    zn_profile p;
    fake_profile(&p);
    assert_int_equal(zn_record_fill_profile(&f->rec, &p), ZN_OK);
    zn_profile_free(&p);
    zn_accuracy a;
    memset(&a, 0, sizeof a);
    a.count = 48;
    a.max_abs_err = 1.5e-6;
    a.max_rel_err = 3.25e-5;
    a.cosine = 0.99999987654321;
    a.has_top1 = true;
    a.top1_rows = 3;
    a.top1_agree = 3;
    a.pass = true;
    assert_int_equal(zn_record_add_accuracy(&f->rec, "relu:0", &a), ZN_OK);
    a.pass = false;
    a.mismatches = 2;
    a.worst_index = 17;
    assert_int_equal(zn_record_add_accuracy(&f->rec, "logits", &a), ZN_OK);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->plan = small_plan(&f->g);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/zn-record-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    if (!mkdtemp(f->dir)) return -1;
    make_record(f, ZN_SCENARIO_SINGLE_STREAM);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    zn_record_free(&f->rec);
    free_fake(f->res);
    zn_plan_free(f->plan);
    zn_graph_free(f->g);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            DIR *sub = opendir(p);
            if (sub) { /* the mlperf log directory */
                struct dirent *e2;
                while ((e2 = readdir(sub))) {
                    if (e2->d_name[0] == '.') continue;
                    char q[1400];
                    snprintf(q, sizeof q, "%s/%s", p, e2->d_name);
                    unlink(q);
                }
                closedir(sub);
                rmdir(p);
            } else {
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static char *path_in(fixture *f, const char *name) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    return p;
}

/* Every field of b equals a's (pointers compared through their contents). */
static void assert_records_equal(const zn_record *a, const zn_record *b) {
    assert_int_equal(a->schema_version, b->schema_version);
    assert_string_equal(a->tool_version, b->tool_version);
    assert_string_equal(a->created, b->created);
    assert_string_equal(a->run_id, b->run_id);
    assert_string_equal(a->command_line, b->command_line);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->reason, b->reason);
    assert_memory_equal(&a->model, &b->model, sizeof a->model);
    assert_memory_equal(&a->compile, &b->compile, sizeof a->compile);
    assert_memory_equal(&a->system, &b->system, sizeof a->system);
    assert_memory_equal(&a->build, &b->build, sizeof a->build);
    assert_memory_equal(&a->settings, &b->settings, sizeof a->settings);

    zn_record_results ra = a->results, rb = b->results;
    assert_int_equal(ra.n_queries, rb.n_queries);
    if (ra.n_queries) assert_memory_equal(ra.queries, rb.queries, (size_t)ra.n_queries * sizeof *ra.queries);
    const zn_record_hist *ha[3] = {&ra.latency, &ra.service, &ra.issue_lag}, *hb[3] = {&rb.latency, &rb.service, &rb.issue_lag};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(ha[k]->n_buckets, hb[k]->n_buckets);
        for (int i = 0; i < ha[k]->n_buckets; i++) {
            assert_int_equal(ha[k]->buckets[i].index, hb[k]->buckets[i].index);
            assert_int_equal(ha[k]->buckets[i].lo, hb[k]->buckets[i].lo);
            assert_int_equal(ha[k]->buckets[i].hi, hb[k]->buckets[i].hi);
            assert_int_equal(ha[k]->buckets[i].count, hb[k]->buckets[i].count);
        }
    }
    ra.queries = rb.queries = NULL;
    ra.latency.buckets = rb.latency.buckets = ra.service.buckets = rb.service.buckets = NULL;
    ra.issue_lag.buckets = rb.issue_lag.buckets = NULL;
    assert_memory_equal(&ra, &rb, sizeof ra);

    assert_int_equal(a->has_profile, b->has_profile);
    assert_int_equal(a->profile.runs, b->profile.runs);
    assert_int_equal(a->profile.run_ns, b->profile.run_ns);
    assert_int_equal(a->profile.total_ns, b->profile.total_ns);
    assert_int_equal(a->profile.n_nodes, b->profile.n_nodes);
    assert_int_equal(a->profile.n_ops, b->profile.n_ops);
    if (a->profile.n_nodes)
        assert_memory_equal(a->profile.nodes, b->profile.nodes, (size_t)a->profile.n_nodes * sizeof *a->profile.nodes);
    if (a->profile.n_ops)
        assert_memory_equal(a->profile.ops, b->profile.ops, (size_t)a->profile.n_ops * sizeof *a->profile.ops);
    assert_memory_equal(&a->accuracy, &b->accuracy, sizeof a->accuracy);
}

static void test_round_trip(void **state) {
    fixture *f = *state;
    const char *p = path_in(f, "run.json");
    assert_int_equal(zn_record_write_json(&f->rec, p), ZN_OK);
    zn_record back;
    assert_int_equal(zn_record_read_json(p, &back), ZN_OK);
    assert_records_equal(&f->rec, &back);

    /* Spot checks against the sources, not just against ourselves. */
    assert_int_equal(back.settings.schedule_seed, 0xFEDCBA9876543210ull);
    assert_int_equal(back.settings.sample_seed, f->res->settings.sample_seed);
    assert_string_equal(back.settings.scenario, "single-stream");
    assert_string_equal(back.model.name, "tiny-mlp");
    assert_int_equal(back.model.n_inputs, 1);
    assert_string_equal(back.model.inputs[0].name, "x");
    assert_int_equal(back.model.inputs[0].dims[1], 16);
    assert_int_equal(back.model.batch, 3);
    assert_true(back.model.flops_per_run > 0);
    assert_int_equal(back.results.p90_ns, f->res->p90_ns);
    assert_int_equal(back.results.n_rules, 4);
    assert_string_equal(back.results.rules[2].name, "early_stopping");
    assert_string_equal(back.results.recommendations[0], "reduce target QPS to about 420");
    assert_int_equal(back.results.n_queries, f->res->n_queries_kept);
    assert_int_equal(back.results.queries[5].latency_ns, f->res->queries[5].latency_ns);
    assert_string_equal(zn_record_verdict(&back), "VALID");
    assert_false(back.accuracy.pass);
    assert_true(back.accuracy.outputs[0].acc.cosine == 0.99999987654321);

    /* The histogram rebuilds: every percentile equals the original's. */
    zn_hist *h = malloc(sizeof *h);
    assert_int_equal(zn_record_hist_to_hist(&back.results.latency, h), ZN_OK);
    assert_int_equal(zn_hist_count(h), zn_hist_count(&f->res->latency));
    for (double q = 0; q <= 100; q += 2.5) assert_int_equal(zn_hist_percentile(h, q), zn_hist_percentile(&f->res->latency, q));
    assert_int_equal(zn_hist_min(h), zn_hist_min(&f->res->latency));
    assert_int_equal(zn_hist_max(h), zn_hist_max(&f->res->latency));
    free(h);

    /* Serialising the read-back record gives the same text. */
    char *s1 = zn_record_to_json_string(&f->rec), *s2 = zn_record_to_json_string(&back);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    zn_record_free(&back);

    /* No temporary file is left next to the record. */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
}

/* A CUDA plan's compile facts (steps per side, copies, device memory, CUDA graph, the note)
 * survive JSON and show in the markdown compile summary. */
static void test_cuda_compile_fields(void **state) {
    fixture *f = *state;
    zn_record rec = f->rec;
    zn_record_compile *c = &rec.compile;
    snprintf(c->backend, sizeof c->backend, "cuda");
    c->device_steps = 111;
    c->cpu_fallback_steps = 2;
    c->copy_steps = 3;
    c->device_arena_bytes = 3 << 20;
    c->device_weight_bytes = 218LL << 20;
    c->cuda_graph = false;
    snprintf(c->note, sizeof c->note, "reduce-overhead: 2 steps run on the CPU, so runs are not captured");
    char *js = zn_record_to_json_string(&rec);
    assert_non_null(js);
    zn_record back;
    assert_int_equal(zn_record_from_json_string(js, &back), ZN_OK);
    free(js);
    assert_int_equal(back.compile.device_steps, 111);
    assert_int_equal(back.compile.cpu_fallback_steps, 2);
    assert_int_equal(back.compile.copy_steps, 3);
    assert_int_equal(back.compile.device_weight_bytes, 218LL << 20);
    assert_false(back.compile.cuda_graph);
    assert_string_equal(back.compile.note, c->note);
    const char *p = path_in(f, "cuda.md");
    assert_int_equal(zn_record_write_markdown(&back, p), ZN_OK);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    static char md[1 << 18];
    size_t n = fread(md, 1, sizeof md - 1, fp);
    md[n] = 0;
    fclose(fp);
    assert_non_null(strstr(md, "| GPU steps | 111 on the GPU, 2 on the CPU (no CUDA kernel), 3 host/device copies |"));
    assert_non_null(strstr(md, "| CUDA graph | no (eager launches) |"));
    assert_non_null(strstr(md, "| Note | reduce-overhead: 2 steps run on the CPU"));
    zn_record_free(&back);
}

static void write_text(const char *p, const char *s) {
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(s, fp);
    fclose(fp);
}

static void test_read_errors(void **state) {
    fixture *f = *state;
    zn_record r;
    /* newer schema */
    char *json = zn_record_to_json_string(&f->rec);
    char *v = strstr(json, "\"schema_version\":\t1");
    assert_non_null(v);
    v[strlen("\"schema_version\":\t")] = '7';
    const char *p = path_in(f, "newer.json");
    write_text(p, json);
    free(json);
    assert_int_equal(zn_record_read_json(p, &r), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "schema version 7"));
    assert_non_null(strstr(zn_last_error()->message, p));
    assert_non_null(strstr(zn_last_error()->hint, "upgrade"));
    zn_record_free(&r);

    /* broken: truncated mid-file */
    json = zn_record_to_json_string(&f->rec);
    json[strlen(json) / 2] = 0;
    p = path_in(f, "broken.json");
    write_text(p, json);
    free(json);
    assert_int_equal(zn_record_read_json(p, &r), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "not valid JSON"));
    assert_non_null(strstr(zn_last_error()->message, p));
    zn_record_free(&r);

    /* valid JSON, not a record */
    p = path_in(f, "other.json");
    write_text(p, "{\"name\": \"something else\"}");
    assert_int_equal(zn_record_read_json(p, &r), ZN_ERR_MODEL_FORMAT);
    assert_non_null(strstr(zn_last_error()->message, "not a Zenith run record"));
    zn_record_free(&r);

    /* missing */
    assert_int_equal(zn_record_read_json(path_in(f, "absent.json"), &r), ZN_ERR_IO);
    assert_non_null(strstr(zn_last_error()->message, "absent.json"));
    zn_record_free(&r);
}

static void test_unwritable(void **state) {
    fixture *f = *state;
    char p[1200];
    snprintf(p, sizeof p, "%s/no-such-dir/run.json", f->dir);
    assert_int_equal(zn_record_write_json(&f->rec, p), ZN_ERR_IO);
    assert_non_null(strstr(zn_last_error()->message, p));
    assert_true(zn_last_error()->hint[0] != 0);
    snprintf(p, sizeof p, "%s/no-such-dir/report.md", f->dir);
    assert_int_equal(zn_record_write_markdown(&f->rec, p), ZN_ERR_IO);
    assert_non_null(strstr(zn_last_error()->message, p));
    snprintf(p, sizeof p, "%s/no-such-dir/deeper", f->dir);
    assert_int_equal(zn_record_write_mlperf_summary(&f->rec, p), ZN_ERR_IO);
    assert_non_null(strstr(zn_last_error()->message, p));
}

static void test_interrupted(void **state) {
    fixture *f = *state;
    zn_record_mark_interrupted(&f->rec, "stopped early by the user");
    assert_string_equal(zn_record_verdict(&f->rec), "INVALID");
    const char *p = path_in(f, "interrupted.json");
    assert_int_equal(zn_record_write_json(&f->rec, p), ZN_OK);
    zn_record back;
    assert_int_equal(zn_record_read_json(p, &back), ZN_OK);
    assert_string_equal(back.status, "interrupted");
    assert_string_equal(back.reason, "stopped early by the user");
    assert_string_equal(back.results.verdict, "INVALID");
    assert_string_equal(zn_record_verdict(&back), "INVALID");
    char *md = zn_record_to_markdown(&back, 5);
    assert_non_null(strstr(md, "interrupted"));
    assert_non_null(strstr(md, "stopped early by the user"));
    free(md);
    char *ml = zn_record_to_mlperf_summary(&back);
    assert_non_null(strstr(ml, "\nResult is : INVALID\n"));
    free(ml);
    zn_record_free(&back);

    /* A record without results (failed before the scenario) still writes and reads. */
    zn_record bare;
    zn_record_init(&bare);
    zn_record_mark_failed(&bare, "the model could not be compiled");
    p = path_in(f, "failed.json");
    assert_int_equal(zn_record_write_json(&bare, p), ZN_OK);
    zn_record back2;
    assert_int_equal(zn_record_read_json(p, &back2), ZN_OK);
    assert_false(back2.results.present);
    assert_false(back2.has_profile);
    assert_string_equal(back2.status, "failed");
    assert_string_equal(zn_record_verdict(&back2), "INVALID");
    char *md2 = zn_record_to_markdown(&back2, 5);
    assert_non_null(strstr(md2, "## Results"));
    free(md2);
    zn_record_free(&back2);
    zn_record_free(&bare);

    /* Interrupted results from the scenario itself set the status. */
    zn_record r2;
    zn_record_init(&r2);
    f->res->interrupted = 1;
    f->res->verdict = ZN_VERDICT_INVALID;
    snprintf(f->res->stop_reason, sizeof f->res->stop_reason, "the SUT failed: kernel error");
    assert_int_equal(zn_record_fill_results(&r2, f->res), ZN_OK);
    assert_string_equal(r2.status, "interrupted");
    assert_string_equal(r2.reason, "the SUT failed: kernel error");
    zn_record_free(&r2);
}

static void test_markdown(void **state) {
    fixture *f = *state;
    const char *p = path_in(f, "report.md");
    assert_int_equal(zn_record_write_markdown(&f->rec, p), ZN_OK);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    static char md[1 << 18];
    size_t n = fread(md, 1, sizeof md - 1, fp);
    md[n] = 0;
    fclose(fp);
    const char *headings[] = {"# Zenith benchmark: tiny-mlp, single-stream — VALID", "## Methodology", "## System",
                              "## Model", "## Compile summary", "## Settings", "## Results",
                              "## Verdict and recommendations", "## Where the time goes", "## Accuracy", "## Reproduce"};
    const char *last = md;
    for (size_t i = 0; i < sizeof headings / sizeof headings[0]; i++) {
        const char *h = strstr(md, headings[i]);
        assert_non_null(h);
        assert_true(h >= last); /* in this order */
        last = h;
    }
    char num[64];
    const zn_test_results *r = f->res;
    int64_t exact[] = {r->p50_ns, r->p90_ns, r->p99_ns, r->lat_max_ns, r->duration_ns};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        snprintf(num, sizeof num, "| %lld ns |", (long long)exact[i]);
        assert_non_null(strstr(md, num));
    }
    snprintf(num, sizeof num, "%.2f", r->qps_without_overhead);
    assert_non_null(strstr(md, num));
    assert_non_null(strstr(md, "reduce target QPS to about 420"));
    assert_non_null(strstr(md, "| early_stopping | pass | rule early_stopping detail 14 |"));
    assert_non_null(strstr(md, "| 1 | `encoder.0.attn.qkv` | MatMul |"));
    assert_non_null(strstr(md, "| 70.0% |"));
    assert_non_null(strstr(md, "| 1 | MatMul |"));
    assert_non_null(strstr(md, "MatMul takes 70% of the compute time"));
    assert_non_null(strstr(md, "`relu:0`"));
    assert_non_null(strstr(md, "**FAIL**"));
    assert_non_null(strstr(md, "zenith-bench run --model 'tiny mlp' --duration 2s"));
    assert_non_null(strstr(md, f->rec.system.cpu_model));
    assert_non_null(strstr(md, f->rec.run_id));
    snprintf(num, sizeof num, "%llu", 0xFEDCBA9876543210ull);
    assert_non_null(strstr(md, num));
}

static void test_mlperf_summary(void **state) {
    fixture *f = *state;
    assert_int_equal(zn_record_write_mlperf_summary(&f->rec, path_in(f, "mlperf")), ZN_OK);
    FILE *fp = fopen(path_in(f, "mlperf/mlperf_log_summary.txt"), "r");
    assert_non_null(fp);
    static char s[1 << 16];
    size_t n = fread(s, 1, sizeof s - 1, fp);
    s[n] = 0;
    fclose(fp);
    const char *bar = "================================================\n";
    char head[256];
    snprintf(head, sizeof head, "%sMLPerf Results Summary\n%sSUT name : Zenith tiny-mlp", bar, bar);
    assert_memory_equal(s, head, strlen(head));
    const zn_test_results *r = f->res;
    char line[160];
    const char *fixed[] = {"\nScenario : SingleStream\n", "\nMode     : PerformanceOnly\n", "\nResult is : VALID\n",
                           "\n  Min duration satisfied : Yes\n", "\n  Min queries satisfied : Yes\n",
                           "\n  Early stopping satisfied: Yes\n", "\nEarly Stopping Result:\n",
                           "\nAdditional Stats\n", "\nTest Parameters Used\n", "\nNo errors encountered during test.\n"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) assert_non_null(strstr(s, fixed[i]));
    snprintf(line, sizeof line, "\n90th percentile latency (ns) : %lld\n", (long long)r->p90_ns);
    assert_non_null(strstr(s, line));
    snprintf(line, sizeof line, "\n99.00 percentile latency (ns)   : %lld\n", (long long)r->p99_ns);
    assert_non_null(strstr(s, line));
    snprintf(line, sizeof line, "\nMin latency (ns)                : %lld\n", (long long)r->lat_min_ns);
    assert_non_null(strstr(s, line));
    snprintf(line, sizeof line, "\nQPS w/o loadgen overhead        : %.2f\n", r->qps_without_overhead);
    assert_non_null(strstr(s, line));
    snprintf(line, sizeof line, "\n * Would discard %lld highest latency queries.\n", (long long)r->es_discarded);
    assert_non_null(strstr(s, line));
    snprintf(line, sizeof line, "\nschedule_rng_seed : %llu\n", 0xFEDCBA9876543210ull);
    assert_non_null(strstr(s, line));
    assert_non_null(strstr(s, "\nmin_duration (ms): 2000\n"));
    /* "Performance constraints" is a Server line only. */
    assert_null(strstr(s, "Performance constraints"));

    /* Server: its metric line and the latency constraint, failing. */
    zn_record sv;
    zn_record_init(&sv);
    tu_rng rng = tu_rng_new(tu_seed() + 99);
    zn_test_results *t = fake_results(&rng, ZN_SCENARIO_SERVER);
    t->rules[4].passed = 0;
    t->verdict = ZN_VERDICT_INVALID;
    t->es_passed = 0;
    t->es_queries_needed = t->query_count + 159;
    assert_int_equal(zn_record_fill_results(&sv, t), ZN_OK);
    char *ms = zn_record_to_mlperf_summary(&sv);
    assert_non_null(strstr(ms, "\nScenario : Server\n"));
    assert_non_null(strstr(ms, "\nCompleted samples per second    : 98.25\n"));
    assert_non_null(strstr(ms, "\nResult is : INVALID\n"));
    assert_non_null(strstr(ms, "\n  Performance constraints satisfied : NO\n"));
    assert_non_null(strstr(ms, "\n * Run unsuccessful.\n"));
    assert_non_null(strstr(ms, "\n * Would need to run at least 159 more queries,\n"));
    assert_non_null(strstr(ms, "\nScheduled samples per second : 99.50\n"));
    free(ms);
    zn_record_free(&sv);
    free_fake(t);
}

static void test_system_info(void **state) {
    (void)state;
    zn_system_info s;
    zn_system_info_collect(&s);
    assert_true(s.cores_online >= 1);
    assert_true(s.cores_configured >= s.cores_online);
    assert_true(s.mem_total_bytes > 0);
    assert_true(s.cpu_model[0] && s.simd[0] && s.os[0] && s.gpu[0] && s.driver[0]);
    zn_build_info b;
    zn_build_info_collect(&b);
    assert_string_equal(b.version, ZN_TOOL_VERSION);
    assert_non_null(strstr(b.backends, "cpu"));
    assert_true(b.compiler[0] && b.flags[0] && b.git_commit[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_cuda_compile_fields),
        cmocka_unit_test(test_unwritable),     cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_mlperf_summary), cmocka_unit_test(test_system_info),
        cmocka_unit_test(test_interrupted), /* last: it marks the shared record */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
