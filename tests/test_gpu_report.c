/* test_gpu_report.c — the GPU sections rendered from a recorded run record: the fixture
 * tests/fixtures/gpu/run_gpu.json (made by tests/fixtures/gpu/make_gpu_record.h) is read as
 * `zenith-bench report` would read it, then
 *
 *   record     the "gpu" object reads back (device, NVML summary, the CUPTI trace) and writes
 *              the same JSON again; records without it (older ones, CPU runs) read as before
 *   markdown   the GPU section: device, clocks during the run and the distortion warning, the
 *              H2D / compute / D2H table, attribution, top nodes (with the host's time) and
 *              top kernels with their launch configurations, in the right place
 *   charts     the per-node and per-kernel GPU bars are drawn and linked; none without a trace
 *   TUI        the summary's GPU lines, the node table's GPU column, the Kernels tab, and the
 *              live screen's GPU column
 *   NVML       a missing library says "NVML not available"; the clock / throttle warning rules
 *   CUPTI      the collector's not-built path and observer pass-through
 *
 * Where the CUPTI headers are present the fixture is also rebuilt from synthetic activity
 * records and must match the file (ZN_REGEN_GPU_FIXTURE=1 rewrites it). */
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "profiling/cupti.h"
#include "profiling/gpu_monitor.h"
#include "reports/charts.h"
#include "reports/run_record.h"
#include "tests/record_fixture.h"

/* the TUI's screens, compiled in as tests/test_tui.c does (they are not in libzenith.a) */
#include "app/runs.c"
#include "app/tui/canvas.c"
#include "app/tui/frame.c"
#include "app/tui/history.c"
#include "app/tui/live.c"
#include "app/tui/results.c"
#include "app/tui/setup.c"
#include "app/tui/widgets.c"

#if defined(ZN_WITH_CUDA)
#define HAVE_CUPTI 1
#elif defined(__has_include)
#if __has_include(<cupti_activity.h>)
#define HAVE_CUPTI 1
#endif
#endif
#ifdef HAVE_CUPTI
#include "tests/fixtures/gpu/make_gpu_record.h"
#endif

static const char *fixture_path(char *buf, size_t cap) {
    const char *e = getenv("ZN_FIXTURES");
    snprintf(buf, cap, "%s/gpu/run_gpu.json", e && *e ? e : "tests/fixtures");
    return buf;
}

static zn_record *load_fixture(void) {
    char path[1024];
    zn_record *rec = malloc(sizeof *rec);
    assert_non_null(rec);
    zn_status st = zn_record_read_json(fixture_path(path, sizeof path), rec);
    if (st != ZN_OK) print_error("%s (run from the repository root or set ZN_FIXTURES)\n", zn_last_error()->message);
    assert_int_equal(st, ZN_OK);
    return rec;
}

static void drop(zn_record *rec) {
    zn_record_free(rec);
    free(rec);
}

static bool has(const char *s, const char *needle) {
    if (strstr(s, needle)) return true;
    print_error("missing: \"%s\"\n", needle);
    return false;
}

/* ---- the record ---------------------------------------------------------------------------------- */

static void test_fixture_reads(void **state) {
    (void)state;
    zn_record *rec = load_fixture();
    assert_true(rec->has_gpu);
    assert_string_equal(rec->gpu.name, "NVIDIA H100 80GB HBM3");
    assert_int_equal(rec->gpu.cc_major, 9);
    assert_int_equal(rec->gpu.sm_count, 132);
    assert_string_equal(rec->gpu.runtime_version, "13.0");
    assert_true(rec->gpu.nvml);
    assert_int_equal(rec->gpu.samples, 40);
    assert_int_equal(rec->gpu.sm_mhz_min, 1830); /* the idle first sample is left out */
    assert_int_equal(rec->gpu.sm_mhz_max, 1980);
    assert_true(rec->gpu.unstable);
    assert_true(rec->gpu.reasons == ZN_GPU_REASON_SW_POWER_CAP);
    assert_true(rec->has_gpu_profile);
    const zn_gpu_profile *p = &rec->gpu_profile;
    assert_int_equal(p->runs, 300);
    assert_int_equal(p->n_nodes, 19);
    assert_int_equal(p->kernel_count, 300 * 18);
    assert_int_equal(p->memset_count, 300 * 2);
    assert_int_equal(p->memcpy_count, 300 * 2);
    assert_int_equal(p->attributed, p->kernel_count + p->memset_count);
    assert_int_equal(p->run_level, p->memcpy_count);
    assert_int_equal(p->unattributed, 0);
    assert_int_equal(p->stale, 0);
    assert_int_equal(p->dropped, 0);
    /* the node with the most GPU time, and the CPU step with none */
    assert_string_equal(p->nodes[0].name, "/encoder/layer.0/ffn/up");
    assert_true(fabs(p->nodes[0].per_run_ns - 15000) < 15000 * 0.02);
    const zn_gpu_node *shape = zn_gpu_profile_node(p, "/pooler/Shape");
    assert_non_null(shape);
    assert_int_equal(shape->total_ns, 0);
    /* the summed node time agrees with the busy time, and sits inside the compute span */
    assert_true(fabs((double)p->node_total_ns / (double)p->runs - p->busy.mean) < 1.0);
    assert_true(p->busy.mean < p->compute.mean);
    assert_true(p->h2d.mean >= 6000 && p->h2d.mean <= 6400);
    assert_true(p->d2h.mean == 3000);
    /* launch sites: the gemm of ffn/up first, with its configuration */
    assert_true(p->n_kernels >= 17);
    assert_string_equal(p->kernels[0].node, "/encoder/layer.0/ffn/up");
    assert_int_equal(p->kernels[0].grid[0], 48);
    assert_int_equal(p->kernels[0].block[0], 384);
    assert_int_equal(p->kernels[0].smem_dynamic, 196608);
    assert_non_null(strstr(p->kernels[0].name, "sm90_xmma_gemm"));
    drop(rec);
}

static void test_json_round_trip(void **state) {
    (void)state;
    zn_record *rec = load_fixture();
    char *a = zn_record_to_json_string(rec);
    assert_non_null(a);
    zn_record back;
    assert_int_equal(zn_record_from_json_string(a, &back), ZN_OK);
    char *b = zn_record_to_json_string(&back);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    zn_record_free(&back);
    drop(rec);
}

/* The fixture is what the parser makes of the synthetic trace today. */
static void test_fixture_matches_builder(void **state) {
    (void)state;
#ifdef HAVE_CUPTI
    if (!zn_gpu_demangler_available()) skip(); /* kernel names would stay mangled */
    zn_record built;
    gfx_build(&built);
    char *want = zn_record_to_json_string(&built);
    assert_non_null(want);
    char path[1024];
    fixture_path(path, sizeof path);
    if (getenv("ZN_REGEN_GPU_FIXTURE")) {
        assert_int_equal(zn_record_write_json(&built, path), ZN_OK);
        fprintf(stderr, "[ note     ] wrote %s\n", path);
    }
    zn_record *rec = load_fixture();
    char *got = zn_record_to_json_string(rec);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    zn_record_free(&built);
    drop(rec);
#else
    fprintf(stderr, "[ note     ] no CUPTI headers: the fixture is read, not rebuilt\n");
    skip();
#endif
}

/* Records without the "gpu" object (CPU runs, records written before it existed). */
static void test_records_without_gpu(void **state) {
    (void)state;
    int64_t lat[50];
    for (int i = 0; i < 50; i++) lat[i] = 1000000 + i * 1000;
    zn_record rec;
    fx_record(&rec, "mlp", lat, 50, 0, 1);
    char *js = zn_record_to_json_string(&rec);
    assert_non_null(js);
    assert_null(strstr(js, "\"trace\":"));  /* no "gpu" object: neither of its members */
    assert_null(strstr(js, "\"device\":"));
    zn_record back;
    assert_int_equal(zn_record_from_json_string(js, &back), ZN_OK);
    assert_false(back.has_gpu);
    assert_false(back.has_gpu_profile);
    char *md = zn_record_to_markdown(&back, 10);
    assert_non_null(md);
    assert_null(strstr(md, "## GPU"));
    assert_non_null(strstr(md, "on Test CPU @ 2.0GHz"));
    char dir[] = "/tmp/zn_test_gpu_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char png[256];
    snprintf(png, sizeof png, "%s/none.png", dir);
    assert_int_equal(zn_chart_gpu_node_bars(&back, png, NULL), ZN_ERR_NOT_FOUND);
    assert_int_equal(zn_chart_gpu_kernel_bars(&back, png, NULL), ZN_ERR_NOT_FOUND);
    rmdir(dir);
    free(md);
    free(js);
    zn_record_free(&back);
    /* device facts but no trace (CUPTI taken by Nsight Systems): the section says why */
    zn_gpu_facts f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "NVIDIA H200");
    snprintf(f.cupti, sizeof f.cupti, "CUPTI taken by Nsight Systems: NVTX ranges only");
    snprintf(f.nvml_note, sizeof f.nvml_note, "NVML not available: libnvidia-ml.so.1 could not be loaded");
    assert_int_equal(zn_record_fill_gpu(&rec, &f, NULL), ZN_OK);
    js = zn_record_to_json_string(&rec);
    assert_int_equal(zn_record_from_json_string(js, &back), ZN_OK);
    assert_true(back.has_gpu);
    assert_false(back.has_gpu_profile);
    md = zn_record_to_markdown(&back, 10);
    assert_true(has(md, "## GPU"));
    assert_true(has(md, "on NVIDIA H200"));
    assert_true(has(md, "| Clocks during the run | not sampled: NVML not available"));
    assert_true(has(md, "No GPU kernel trace in this run: CUPTI taken by Nsight Systems: NVTX ranges only."));
    free(md);
    free(js);
    zn_record_free(&back);
    zn_record_free(&rec);
}

/* ---- markdown and charts ------------------------------------------------------------------------ */

static void test_markdown_gpu_section(void **state) {
    (void)state;
    zn_record *rec = load_fixture();
    char *md = zn_record_to_markdown(rec, 10);
    assert_non_null(md);
    assert_true(has(md, "on NVIDIA H100 80GB HBM3 (cuda, f16"));
    assert_true(has(md, "GPU times come from CUPTI's activity records"));
    const char *gpu = strstr(md, "## GPU\n");
    const char *where = strstr(md, "## Where the time goes");
    const char *acc = strstr(md, "## Accuracy");
    assert_non_null(gpu);
    assert_true(where && gpu > where && acc && gpu < acc);
    assert_true(has(gpu, "| Device | NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.65 GiB, L2 50.0 MiB, 5120-bit bus) |"));
    assert_true(has(gpu, "| CUDA | driver API 13.0, runtime 13.0, NVIDIA driver 580.65.06 |"));
    assert_true(has(gpu, "| Clocks during the run | SM 1830–1980 MHz"));
    assert_true(has(gpu, "of a 700 W limit"));
    assert_true(has(gpu, "| Clock event reasons | sw power cap |"));
    assert_true(has(gpu, "> **Warning:** the SM clock moved between 1830 and 1980 MHz (8%); clock event reasons: "
                         "sw power cap during the run: GPU times may be distorted."));
    assert_true(has(gpu, "| Kernel trace | kernels traced with CUPTI |"));
    /* the split, as trtexec names it, with the numbers of the record */
    const zn_gpu_profile *p = &rec->gpu_profile;
    char row[256];
    snprintf(row, sizeof row, "| GPU compute | %.3f ms |", p->compute.mean / 1e6);
    if (p->compute.mean < 1e6) snprintf(row, sizeof row, "| GPU compute | %.1f µs |", p->compute.mean / 1e3);
    assert_true(has(gpu, row));
    assert_true(has(gpu, "| H2D latency |"));
    assert_true(has(gpu, "| D2H latency | 3.0 µs |"));
    assert_true(has(gpu, "300 runs traced: 5400 kernels, 600 copies and 600 memsets"));
    assert_true(has(gpu, "Attribution: 6000 of 6600 device activities to a node, 600 to a run outside any node"));
    assert_true(has(gpu, "CUPTI dropped 0 records."));
    assert_null(strstr(gpu, "per-node GPU times are incomplete"));
    /* top nodes: GPU per run next to the host's time in the step */
    assert_true(has(gpu, "Top 10 nodes by GPU time:"));
    assert_true(has(gpu, "| 1 | `/encoder/layer.0/ffn/up` | ZnLinear | cuda.linear_lt | 1.0 |"));
    assert_true(has(gpu, " Host / run |"));
    assert_true(has(gpu, "| 7.0 µs |"));   /* ffn/up's host time */
    assert_null(strstr(gpu, "`/pooler/Shape`")); /* no GPU work: not listed */
    /* top kernels: demangled names without parameters, launch configurations */
    assert_true(has(gpu, "| Kernel | Node | Grid | Block | Regs | Shared mem |"));
    assert_true(has(gpu, "| 48×1×1 | 384×1×1 | 168 | 192.0 KiB |"));
    if (zn_gpu_demangler_available()) {
        assert_true(has(gpu, "`zn::cuda::attention_fused<__half_t, 64>`"));
        assert_null(strstr(gpu, "_ZN2zn4cuda"));
    }
    assert_true(has(gpu, "more launch sites take"));
    free(md);
    drop(rec);
}

static void test_charts_gpu(void **state) {
    (void)state;
    zn_record *rec = load_fixture();
    char dir[] = "/tmp/zn_test_gpu_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char md[256], png[256];
    snprintf(md, sizeof md, "%s/run.md", dir);
    zn_chart_axes ax;
    snprintf(png, sizeof png, "%s/nodes.png", dir);
    assert_int_equal(zn_chart_gpu_node_bars(rec, png, &ax), ZN_OK);
    /* the longest bar is the top node's GPU time per run */
    assert_true(ax.xmax >= rec->gpu_profile.nodes[0].per_run_ns);
    assert_true(ax.ymax == 15); /* 18 nodes with GPU work, 15 bars at most */
    snprintf(png, sizeof png, "%s/kernels.png", dir);
    assert_int_equal(zn_chart_gpu_kernel_bars(rec, png, &ax), ZN_OK);
    struct stat sb;
    assert_int_equal(stat(png, &sb), 0);
    assert_true(sb.st_size > 1000);
    assert_int_equal(zn_record_write_report(rec, md), ZN_OK);
    FILE *f = fopen(md, "r");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_true(has(text, "![Top nodes by GPU time per run](run-gpu-nodes.png)"));
    assert_true(has(text, "![Top kernels by GPU time per run](run-gpu-kernels.png)"));
    free(text);
    /* clean up the folder */
    static const char *const files[] = {"nodes.png", "kernels.png", "run.md", "run-latency-hist.png",
                                        "run-latency-time.png", "run-ops.png", "run-nodes.png",
                                        "run-gpu-nodes.png", "run-gpu-kernels.png", "run-server-qps.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char fp[300];
        snprintf(fp, sizeof fp, "%s/%s", dir, files[i]);
        unlink(fp);
    }
    assert_int_equal(rmdir(dir), 0);
    drop(rec);
}

/* ---- the TUI ------------------------------------------------------------------------------------- */

static bool canvas_has(const tui_canvas *c, const char *text) {
    if (tui_canvas_find(c, text, NULL, NULL)) return true;
    print_error("not on the screen: \"%s\"\n", text);
    return false;
}

static void test_tui_results_gpu(void **state) {
    (void)state;
    tui_state *st = malloc(sizeof *st);
    assert_int_equal(tui_state_init(st, NULL), 0);
    zn_record *rec = load_fixture();
    tui_results_set(&st->results, rec, "runs/run_gpu.json"); /* the view takes it over */
    st->screen = TUI_SCR_RESULTS;
    tui_canvas c;
    tui_canvas_init(&c, 40, 140, true);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "NVIDIA H100 80GB HBM3  sm_90  132 SMs  CUDA 13.0"));
    assert_true(canvas_has(&c, "SM clock 1830-1980 MHz (peak 1980)"));
    assert_true(canvas_has(&c, "the SM clock moved between 1830 and 1980 MHz"));
    assert_true(canvas_has(&c, "per run: H2D"));
    assert_true(canvas_has(&c, "300 runs, 6000/6600 device activities tied to nodes"));
    assert_true(canvas_has(&c, " Kernels "));
    /* nodes: the GPU column, per run */
    tui_results_key(&st->results, TUI_KEY_TAB);
    assert_int_equal(st->results.tab, TUI_RES_NODES);
    tui_canvas_clear(&c);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "GPU/run"));
    int y, x;
    assert_true(tui_canvas_find(&c, "/encoder/layer.0/ffn/up", &y, &x));
    char row[1024], want[32];
    tui_canvas_row(&c, y, row, sizeof row);
    tui_fmt_ns(zn_gpu_profile_node(&st->results.rec->gpu_profile, "/encoder/layer.0/ffn/up")->per_run_ns, want, 32);
    assert_true(has(row, want));
    assert_true(has(row, "cuda.linear_lt"));
    /* the kernels tab: launch sites by total time, with their configuration */
    tui_results_key(&st->results, TUI_KEY_TAB);
    tui_results_key(&st->results, TUI_KEY_TAB);
    assert_int_equal(st->results.tab, TUI_RES_KERNELS);
    tui_canvas_clear(&c);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "Grid  Block  Regs  Smem"));
    assert_true(tui_canvas_find(&c, "Kernel ", &y, &x));
    tui_canvas_row(&c, y + 1, row, sizeof row);
    assert_true(has(row, "sm90_xmma_gemm"));
    assert_true(has(row, "48x1x1  384x1x1  168  192K"));
    assert_true(has(row, "...er/layer.0/ffn/up")); /* the node's distinctive end */
    if (zn_gpu_demangler_available()) assert_true(canvas_has(&c, "zn::cuda::attention_fused<__half_t, 64>"));
    assert_int_equal(st->results.kernels.nrows, st->results.rec->gpu_profile.n_kernels);
    /* sorting by calls, then moving through the rows, stays within the table */
    tui_table_sort(&st->results.kernels, 2, true);
    for (int i = 0; i < 40; i++) tui_results_key(&st->results, 'j');
    assert_int_equal(st->results.kernels.sel, st->results.kernels.nrows - 1);
    /* a record without a trace: the tab says so */
    int64_t lat[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    zn_record *cpu = malloc(sizeof *cpu);
    fx_record(cpu, "mlp", lat, 10, 0, 1);
    tui_results_set(&st->results, cpu, "");
    tui_canvas_clear(&c);
    tui_render(&c, st);
    assert_true(canvas_has(&c, "no GPU kernel trace in this record"));
    tui_canvas_free(&c);
    tui_state_free(st);
    free(st);
}

static void test_tui_live_gpu(void **state) {
    (void)state;
    tui_state *st = malloc(sizeof *st);
    assert_int_equal(tui_state_init(st, NULL), 0);
    zn_record *rec = load_fixture();
    zn_test_settings ts = zn_test_settings_default(ZN_SCENARIO_SINGLE_STREAM);
    tui_live_begin(&st->live, "bert-tiny-2l  cuda fp16 default  single-stream", &ts);
    st->run_active = true;
    zn_live_snapshot s;
    memset(&s, 0, sizeof s);
    s.state = ZN_RUN_RUNNING;
    s.scenario = ZN_SCENARIO_SINGLE_STREAM;
    s.elapsed_s = 1;
    s.queries_done = s.queries_issued = s.samples_done = 300;
    zn_profile hp;
    assert_int_equal(zn_profile_copy(&hp, &rec->profile), ZN_OK);
    tui_live_sample(&st->live, &s, NULL, &hp);
    zn_gpu_profile gp;
    assert_int_equal(zn_gpu_profile_copy(&gp, &rec->gpu_profile), ZN_OK);
    tui_live_gpu(&st->live, &gp);
    assert_null(gp.nodes); /* taken over */
    st->screen = TUI_SCR_LIVE;
    tui_canvas c;
    tui_canvas_init(&c, 40, 160, true);
    tui_render(&c, st);
    int y, x;
    assert_true(tui_canvas_find(&c, "gpu", &y, &x));
    assert_true(tui_canvas_find(&c, "ffn/up", &y, &x)); /* long names keep their end */
    char row[1024], want[32];
    tui_canvas_row(&c, y, row, sizeof row);
    tui_fmt_ns(zn_gpu_profile_node(&rec->gpu_profile, "/encoder/layer.0/ffn/up")->per_run_ns, want, 32);
    assert_true(has(row, want));
    /* paused: a new GPU sample is dropped, the old one stays */
    tui_live_key(&st->live, 'p');
    assert_int_equal(zn_gpu_profile_copy(&gp, &rec->gpu_profile), ZN_OK);
    gp.runs = 1;
    tui_live_gpu(&st->live, &gp);
    assert_int_equal(st->live.gpu.runs, 300);
    tui_canvas_free(&c);
    tui_state_free(st);
    free(st);
    drop(rec);
}

/* ---- NVML and CUPTI without a GPU --------------------------------------------------------------- */

static void test_nvml_missing(void **state) {
    (void)state;
    setenv("ZENITH_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    zn_gpu_monitor *m = (zn_gpu_monitor *)1;
    assert_int_equal(zn_gpu_monitor_start("00000000:18:00.0", 0, 10, &m), ZN_ERR_UNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(zn_last_error()->message, "NVML not available"));
    assert_int_equal(zn_gpu_monitor_start(NULL, 0, 0, &m), ZN_ERR_UNSUPPORTED); /* said once, fails every time */
    zn_gpu_facts f;
    memset(&f, 0, sizeof f);
    zn_gpu_monitor_facts(NULL, &f);
    assert_false(f.nvml);
    zn_gpu_monitor_stop(NULL);
    zn_gpu_monitor_free(NULL);
    unsetenv("ZENITH_NVML_LIB");
}

static zn_gpu_facts summarize(const zn_gpu_sample *x, int n) {
    zn_gpu_sample_stats s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < n; i++) zn_gpu_sample_stats_add(&s, &x[i]);
    zn_gpu_facts f;
    memset(&f, 0, sizeof f);
    zn_gpu_facts_from_samples(&f, &s, 10);
    return f;
}

static void test_clock_warning_rules(void **state) {
    (void)state;
    /* steady: no warning; idle samples (low clocks) do not count */
    zn_gpu_sample steady[4] = {{1980, 2619, 40, 300, 0}, {1980, 2619, 41, 310, 0}, {345, 405, 35, 80, ZN_GPU_REASON_IDLE},
                               {1965, 2619, 42, 320, 0}};
    zn_gpu_facts f = summarize(steady, 4);
    assert_false(f.unstable);
    assert_string_equal(f.warning, "");
    assert_int_equal(f.sm_mhz_min, 1965);
    assert_int_equal(f.temp_c_min, 35);
    assert_int_equal(f.temp_c_max, 42);
    assert_true(fabs(f.power_w_mean - 252.5) < 1e-9);
    assert_int_equal(f.samples, 4);
    /* 4 % apart: fine; 6 % apart: warned */
    zn_gpu_sample four[2] = {{1980, 2619, 40, 300, 0}, {1901, 2619, 40, 300, 0}};
    assert_false(summarize(four, 2).unstable);
    zn_gpu_sample six[2] = {{1980, 2619, 40, 300, 0}, {1861, 2619, 40, 300, 0}};
    f = summarize(six, 2);
    assert_true(f.unstable);
    assert_non_null(strstr(f.warning, "the SM clock moved between 1861 and 1980 MHz (6%)"));
    /* a throttle reason alone warns, and is named */
    zn_gpu_sample hot[2] = {{1980, 2619, 87, 690, ZN_GPU_REASON_HW_THERMAL | ZN_GPU_REASON_IDLE}, {1980, 2619, 88, 690, 0}};
    f = summarize(hot, 2);
    assert_true(f.unstable);
    assert_string_equal(f.reasons_text, "hw thermal slowdown");
    assert_non_null(strstr(f.warning, "clock event reasons: hw thermal slowdown"));
    /* unknown NVML readings (-1) are left out */
    zn_gpu_sample blind[1] = {{-1, -1, -1, -1, 0}};
    f = summarize(blind, 1);
    assert_false(f.unstable);
    assert_int_equal(f.temp_c_max, 0);
    char buf[200];
    assert_string_equal(zn_gpu_reasons_text(ZN_GPU_REASON_IDLE | ZN_GPU_REASON_SW_POWER_CAP | 0x10000, buf, sizeof buf),
                        "gpu idle, sw power cap, other (0x10000)");
    assert_string_equal(zn_gpu_reasons_text(0, buf, sizeof buf), "");
    /* device facts: versions as major.minor, clocks in MHz */
    zn_device_info d;
    memset(&d, 0, sizeof d);
    d.driver_version = 12080;
    d.runtime_version = 13000;
    d.sm_clock_khz = 1755000;
    zn_gpu_facts g;
    memset(&g, 0, sizeof g);
    zn_gpu_facts_from_device(&g, &d);
    assert_string_equal(g.driver_version, "12.8");
    assert_string_equal(g.runtime_version, "13.0");
    assert_int_equal(g.sm_clock_mhz, 1755);
}

static void test_cupti_without_gpu(void **state) {
    (void)state;
    zn_observer inner = {NULL, NULL, NULL, NULL, NULL};
    assert_ptr_equal(zn_cupti_observer(NULL, 0, &inner), &inner); /* no collector: the inner one as is */
    assert_int_not_equal(zn_cupti_flush(NULL, false), ZN_OK);
    zn_gpu_profile p;
    assert_int_not_equal(zn_cupti_collect(NULL, &p, true), ZN_OK);
    assert_int_equal(p.n_nodes, 0);
    zn_cupti_reset(NULL);
    zn_cupti_stop(NULL);
    if (zn_cupti_compiled()) {
        /* starting it needs a driver; that is checked on a GPU machine, not here */
        fprintf(stderr, "[ note     ] CUPTI collector built in; starting it is left to GPU machines\n");
        return;
    }
    zn_cupti *c = (zn_cupti *)1;
    assert_int_equal(zn_cupti_start(NULL, 1, &c), ZN_ERR_UNSUPPORTED);
    assert_null(c);
    assert_non_null(strstr(zn_cupti_note(), "not in this build"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_reads),        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_fixture_matches_builder), cmocka_unit_test(test_records_without_gpu),
        cmocka_unit_test(test_markdown_gpu_section), cmocka_unit_test(test_charts_gpu),
        cmocka_unit_test(test_tui_results_gpu),      cmocka_unit_test(test_tui_live_gpu),
        cmocka_unit_test(test_nvml_missing),         cmocka_unit_test(test_clock_warning_rules),
        cmocka_unit_test(test_cupti_without_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
