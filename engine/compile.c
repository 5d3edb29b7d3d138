/* compile.c — graph -> plan: validation, shape inference with folding, passes, kernel choice,
 * kernel preparation, memory planning and the compile summary.
 *
 * The plan owns a copy of the graph, so the caller's graph is never modified and one graph can
 * be compiled several ways (reference vs optimised, different batch sizes).
 *
 * CUDA plans add, after the optimisation passes: precision lowering (fp16/bf16), placement
 * (CPU fallbacks with explicit ZnCopy steps around them, engine/passes/device_passes.c), kernel
 * choice preferring CUDA kernels, a device arena in the memory plan, and one upload of every
 * constant a CUDA step reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../kernels/registry.h"
#include "alloc.h"
#include "device.h"
#include "log.h"
#include "passes/passes.h"
#include "plan.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

zn_compile_config zn_compile_config_default(void) {
    zn_compile_config c;
    memset(&c, 0, sizeof c);
    c.backend = ZN_BACKEND_AUTO;
    c.precision = ZN_PRECISION_F32;
    c.mode = ZN_MODE_DEFAULT;
    return c;
}

const char *zn_precision_name(zn_precision p) {
    switch (p) {
    case ZN_PRECISION_F32: return "fp32";
    case ZN_PRECISION_F16: return "fp16";
    case ZN_PRECISION_BF16: return "bf16";
    case ZN_PRECISION_TF32: return "tf32";
    }
    return "?";
}

const char *zn_mode_name(zn_mode m) {
    switch (m) {
    case ZN_MODE_DEFAULT: return "default";
    case ZN_MODE_REDUCE_OVERHEAD: return "reduce-overhead";
    case ZN_MODE_MAX_AUTOTUNE: return "max-autotune";
    }
    return "?";
}

int zn_precision_parse(const char *s) {
    if (!strcasecmp(s, "fp32") || !strcasecmp(s, "f32") || !strcasecmp(s, "float32")) return ZN_PRECISION_F32;
    if (!strcasecmp(s, "fp16") || !strcasecmp(s, "f16") || !strcasecmp(s, "float16")) return ZN_PRECISION_F16;
    if (!strcasecmp(s, "bf16") || !strcasecmp(s, "bfloat16")) return ZN_PRECISION_BF16;
    if (!strcasecmp(s, "tf32")) return ZN_PRECISION_TF32;
    return -1;
}

int zn_mode_parse(const char *s) {
    for (int m = ZN_MODE_DEFAULT; m <= ZN_MODE_MAX_AUTOTUNE; m++)
        if (!strcasecmp(s, zn_mode_name((zn_mode)m))) return m;
    return -1;
}

int zn_backend_parse(const char *s) {
    for (int b = ZN_BACKEND_AUTO; b <= ZN_BACKEND_CUDA; b++)
        if (!strcasecmp(s, zn_backend_name((zn_backend)b))) return b;
    return -1;
}

static int online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- plan lifecycle -------------------------------------------------------------------------- */

void zn_plan_free(zn_plan *plan) {
    if (!plan) return;
    if (plan->device) {
        zn_device_probe(NULL);     /* this thread may not have the device current yet */
        zn_device_prepare_begin(); /* cudaFree synchronises the device: not during a capture */
    }
    if (plan->dev_const) {
        for (int t = 0; t < plan->graph->n_tensors; t++) zn_device_free(plan->dev_const[t]);
        free(plan->dev_const);
    }
    for (int s = 0; s < plan->n_steps; s++) {
        zn_step *st = &plan->steps[s];
        if (st->kernel && st->kernel->release && st->state) st->kernel->release(st->state);
        free(st->views);
    }
    if (plan->device) zn_device_prepare_end();
    free(plan->steps);
    free(plan->slots);
    zn_graph_free(plan->graph);
    free(plan);
}

const zn_compile_summary *zn_plan_summary(const zn_plan *plan) { return &plan->summary; }
const zn_graph *zn_plan_graph(const zn_plan *plan) { return plan->graph; }
int zn_plan_num_inputs(const zn_plan *plan) { return plan->graph->n_inputs; }
int zn_plan_num_outputs(const zn_plan *plan) { return plan->graph->n_outputs; }

static zn_io_info io_info(const zn_graph *g, int t) {
    zn_io_info io;
    memset(&io, 0, sizeof io);
    io.name = g->tensors[t].name;
    io.dtype = g->tensors[t].dtype;
    io.rank = g->tensors[t].shape.rank;
    for (int d = 0; d < io.rank; d++) io.dims[d] = g->tensors[t].shape.dims[d].value;
    return io;
}

zn_io_info zn_plan_input(const zn_plan *plan, int i) { return io_info(plan->graph, plan->graph->inputs[i]); }
zn_io_info zn_plan_output(const zn_plan *plan, int i) { return io_info(plan->graph, plan->graph->outputs[i]); }
int zn_plan_num_steps(const zn_plan *plan) { return plan->n_steps; }

zn_step_info zn_plan_step(const zn_plan *plan, int i) {
    zn_step_info si;
    memset(&si, 0, sizeof si);
    if (i < 0 || i >= plan->n_steps) return si;
    const zn_step *st = &plan->steps[i];
    const zn_node *n = &plan->graph->nodes[st->node];
    si.node = n->name;
    si.op = n->op;
    si.kernel = st->kernel->name;
    si.flops = st->flops;
    const zn_tensor *y = &plan->graph->tensors[n->outputs[0]];
    si.out_rank = y->shape.rank;
    for (int d = 0; d < y->shape.rank; d++) si.out_dims[d] = y->shape.dims[d].value;
    return si;
}

/* ---- compile steps --------------------------------------------------------------------------- */

static zn_status check_inputs_bound(const zn_graph *g) {
    for (int i = 0; i < g->n_inputs; i++) {
        const zn_tensor *t = &g->tensors[g->inputs[i]];
        if (zn_shape_is_concrete(&t->shape)) continue;
        char sh[128];
        zn_shape_format(g, &t->shape, sh, sizeof sh);
        zn_error_set(ZN_ERR_SHAPE, "input '%s' has shape %s with unbound dims", t->name, sh);
        for (int d = 0; d < t->shape.rank; d++)
            if (t->shape.dims[d].value < 0 && t->shape.dims[d].sym >= 0) {
                zn_error_hint("bind '%s' with --shape %s:<dims> (or --batch N for a batch dim)",
                              zn_graph_symbol_name(g, t->shape.dims[d].sym), t->name);
                break;
            }
        return ZN_ERR_SHAPE;
    }
    return ZN_OK;
}

/* auto: CUDA when this build has it and a device answers, else the CPU with the reason in the
 * summary's note (the app prints it once). cuda: the device or ZN_ERR_NO_DEVICE saying why. */
static zn_status resolve_backend(const zn_compile_config *cfg, zn_backend *out, zn_compile_summary *sum) {
    zn_device_info info;
    if (cfg->backend == ZN_BACKEND_CPU || cfg->reference) {
        *out = ZN_BACKEND_CPU;
        return ZN_OK;
    }
    if (cfg->backend == ZN_BACKEND_AUTO) {
        if (!zn_device_compiled()) {
            *out = ZN_BACKEND_CPU;
            return ZN_OK; /* a CPU-only build: nothing to explain */
        }
        if (zn_device_probe(&info) != ZN_OK) {
            snprintf(sum->note, sizeof sum->note, "backend auto: running on the CPU because %s", zn_last_error()->message);
            zn_error_clear();
            *out = ZN_BACKEND_CPU;
            return ZN_OK;
        }
    } else {
        zn_status st = zn_device_probe(&info);
        if (st != ZN_OK) {
            zn_error_prefix("--backend cuda");
            return st;
        }
    }
    snprintf(sum->device_name, sizeof sum->device_name, "%s", info.name);
    *out = ZN_BACKEND_CUDA;
    return ZN_OK;
}

/* The kernel-node flags of this compile (TF32 math allowed or not). */
static unsigned knode_flags(const zn_compile_config *cfg) {
    return cfg->precision == ZN_PRECISION_TF32 ? ZN_KNODE_TF32 : 0;
}

typedef struct device_query {
    unsigned flags;
} device_query;

/* zn_node_pred: a CUDA kernel accepts node i as it is now (dtypes included). */
static bool has_cuda_kernel(const zn_graph *g, int i, void *user) {
    const device_query *q = user;
    const zn_node *n = &g->nodes[i];
    zn_view stack[16];
    zn_view *views = n->n_inputs + n->n_outputs <= 16 ? stack : calloc((size_t)(n->n_inputs + n->n_outputs), sizeof *views);
    if (!views) return false;
    zn_kernel_node kn;
    zn_graph_kernel_node(g, n, views, &kn);
    kn.flags = q->flags;
    const zn_kernel_spec *k;
    bool ok = zn_registry_query(&kn, ZN_BACKEND_CUDA, &k, 1) > 0;
    if (views != stack) free(views);
    return ok;
}

static zn_status select_kernels(zn_plan *plan, zn_backend backend, int *tuned, int *retuned) {
    zn_graph *g = plan->graph;
    plan->steps = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(zn_step));
    if (!plan->steps) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory compiling");
    for (int i = 0; i < g->n_nodes; i++) {
        zn_node *n = &g->nodes[i];
        zn_step *st = &plan->steps[plan->n_steps];
        st->node = i;
        st->views = calloc((size_t)(n->n_inputs + n->n_outputs), sizeof(zn_view));
        if (!st->views) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory compiling");
        plan->n_steps++;
        zn_graph_kernel_node(g, n, st->views, &st->kn);
        st->kn.flags = knode_flags(&plan->cfg);
        const zn_kernel_spec *cands[16];
        int found = 0;
        if (plan->cfg.reference) {
            const zn_kernel_spec *r = zn_registry_reference(n->op);
            if (r && (!r->supports || r->supports(&st->kn))) cands[found++] = r;
        } else {
            found = zn_registry_query(&st->kn, backend, cands, 16);
            /* a CUDA plan runs what CUDA lacks on the CPU (placement put copies around it) */
            if (found == 0 && backend == ZN_BACKEND_CUDA) found = zn_registry_query(&st->kn, ZN_BACKEND_CPU, cands, 16);
        }
        if (found == 0) {
            char shapes[256];
            zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
            zn_error_set(ZN_ERR_UNSUPPORTED, "no %s kernel supports node '%s' (%s) with inputs %s",
                         zn_backend_name(backend), n->name, zn_op_name(n->op), shapes);
            zn_error_hint(zn_registry_has_op(n->op, backend)
                              ? "the op is supported, but not with these dtypes, shapes or attributes"
                              : "this op has no kernel on this backend");
            zn_error_set_node(n->name, zn_op_name(n->op), shapes);
            return ZN_ERR_UNSUPPORTED;
        }
        st->kernel = cands[0];
        st->on_device = cands[0]->backend == ZN_BACKEND_CUDA;
        st->flops = zn_node_flops(g, n);
        /* max-autotune times kernels on host buffers: CPU steps only (CUDA steps keep the
         * cuBLASLt/cuDNN heuristics' choice) */
        if (plan->cfg.mode == ZN_MODE_MAX_AUTOTUNE && found > 1 && !st->on_device) {
            bool changed;
            zn_status s = zn_autotune_step(st, cands, found < 16 ? found : 16, plan->cfg.threads, &changed);
            if (s != ZN_OK) return s;
            (*tuned)++;
            *retuned += changed;
            if (st->state || st->scratch_bytes || !st->kernel->prepare) continue; /* prepared */
        }
        if (st->kernel->prepare) {
            zn_kernel_prep prep = {0};
            if (st->on_device) zn_device_prepare_begin();
            zn_status s = st->kernel->prepare(&st->kn, &prep);
            if (st->on_device) zn_device_prepare_end();
            if (s != ZN_OK) {
                char shapes[256];
                zn_graph_describe_inputs(g, n, shapes, sizeof shapes);
                zn_error_set_node(n->name, zn_op_name(n->op), shapes);
                return s;
            }
            st->state = prep.state;
            st->scratch_bytes = prep.scratch_bytes;
        }
    }
    return ZN_OK;
}

static void phase_begin(const zn_compile_config *c, const char *name) {
    if (c->observer && c->observer->pass_begin) c->observer->pass_begin(c->observer->user, name);
}

static void phase_end(const zn_compile_config *c, const char *name) {
    if (c->observer && c->observer->pass_end) c->observer->pass_end(c->observer->user, name);
}

static void add_pass_report(zn_compile_summary *s, const char *name, int changes, double ms, const char *detail) {
    if (s->n_passes >= ZN_MAX_PASSES) return;
    zn_pass_report *p = &s->passes[s->n_passes++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->changes = changes;
    p->ms = ms;
    snprintf(p->detail, sizeof p->detail, "%s", detail);
}

/* ---- CUDA plans ------------------------------------------------------------------------------ */

/* Precision lowering and placement, each reported as a pass. */
static zn_status device_rewrites(zn_plan *plan) {
    zn_graph *g = plan->graph;
    zn_compile_summary *sum = &plan->summary;
    device_query q = {knode_flags(&plan->cfg)};
    char detail[160];
    double t0 = now_ms();
    if (plan->cfg.precision == ZN_PRECISION_F16 || plan->cfg.precision == ZN_PRECISION_BF16) {
        zn_dtype dt = plan->cfg.precision == ZN_PRECISION_F16 ? ZN_F16 : ZN_BF16;
        phase_begin(&plan->cfg, "precision-lowering");
        int n = zn_pass_lower_precision(g, dt, has_cuda_kernel, &q, detail, sizeof detail);
        phase_end(&plan->cfg, "precision-lowering");
        if (n < 0) {
            zn_error_prefix("lowering to %s", zn_dtype_name(dt));
            return zn_last_error()->status ? zn_last_error()->status : ZN_ERR_RUNTIME;
        }
        add_pass_report(sum, "precision-lowering", n, now_ms() - t0, detail);
        t0 = now_ms();
    }
    phase_begin(&plan->cfg, "device-placement");
    int fallback = 0;
    int copies = zn_pass_place(g, has_cuda_kernel, &q, &fallback, detail, sizeof detail);
    phase_end(&plan->cfg, "device-placement");
    if (copies < 0) return zn_last_error()->status ? zn_last_error()->status : ZN_ERR_RUNTIME;
    add_pass_report(sum, "device-placement", copies, now_ms() - t0, detail);
    return ZN_OK;
}

/* Every constant a CUDA step reads goes to the device once, one allocation per tensor so an
 * out-of-memory error names the tensor. */
static zn_status upload_weights(zn_plan *plan) {
    zn_graph *g = plan->graph;
    int nt = g->n_tensors;
    plan->dev_const = calloc((size_t)(nt ? nt : 1), sizeof(void *));
    bool *need = calloc((size_t)(nt ? nt : 1), sizeof(bool));
    zn_status st = ZN_OK;
    if (!plan->dev_const || !need) {
        free(need);
        return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory compiling");
    }
    for (int s = 0; s < plan->n_steps; s++) {
        if (!plan->steps[s].on_device) continue;
        const zn_node *n = &g->nodes[plan->steps[s].node];
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t >= 0 && plan->slots[t].kind == ZN_SLOT_CONST) need[plan->slots[t].root] = true;
        }
    }
    for (int t = 0; t < nt && st == ZN_OK; t++) {
        if (!need[t] || !g->tensors[t].data) continue;
        size_t bytes = (size_t)zn_shape_numel(&g->tensors[t].shape) * zn_dtype_size(g->tensors[t].dtype);
        char what[ZN_MAX_NAME + 64];
        snprintf(what, sizeof what, "weight '%s' of %s", g->tensors[t].name, g->name);
        if ((st = zn_device_alloc(&plan->dev_const[t], bytes, what)) == ZN_OK &&
            (st = zn_device_upload(plan->dev_const[t], g->tensors[t].data, bytes)) == ZN_OK)
            plan->summary.device_weight_bytes += bytes;
    }
    free(need);
    return st;
}

static void device_summary(zn_plan *plan) {
    zn_compile_summary *sum = &plan->summary;
    bool capturable = true;
    for (int s = 0; s < plan->n_steps; s++) {
        const zn_step *st = &plan->steps[s];
        if (plan->graph->nodes[st->node].op == ZN_OP_COPY) sum->copy_steps++;
        else if (st->on_device) sum->device_steps++;
        else sum->cpu_fallback_steps++;
        if (!st->on_device || (st->kernel->flags & ZN_KERNEL_HOST_SYNC)) capturable = false;
    }
    plan->graph_capturable = capturable;
    sum->cuda_graph = capturable && plan->cfg.mode == ZN_MODE_REDUCE_OVERHEAD;
    if (!capturable && plan->cfg.mode == ZN_MODE_REDUCE_OVERHEAD && !sum->note[0])
        snprintf(sum->note, sizeof sum->note,
                 "reduce-overhead: %d step%s run on the CPU, so runs are not captured as a CUDA graph (they run eagerly)",
                 sum->cpu_fallback_steps, sum->cpu_fallback_steps == 1 ? "" : "s");
}

zn_status zn_compile(const zn_graph *src, const zn_compile_config *cfg_in, zn_plan **out) {
    *out = NULL;
    double t0 = now_ms();
    zn_compile_config cfg = cfg_in ? *cfg_in : zn_compile_config_default();
    if (cfg.threads < 0 || cfg.threads > 1024)
        return zn_error_set(ZN_ERR_INVALID_ARGUMENT, "threads = %d is out of range (0 = all cores, up to 1024)", cfg.threads);
    if (cfg.threads == 0) cfg.threads = online_cores();
    if (cfg.reference) {
        cfg.no_passes = true;
        cfg.precision = ZN_PRECISION_F32;
    }
    zn_backend backend;
    zn_compile_summary probe_sum;
    memset(&probe_sum, 0, sizeof probe_sum);
    zn_status st = resolve_backend(&cfg, &backend, &probe_sum);
    if (st != ZN_OK) return st;
    if (backend == ZN_BACKEND_CPU && cfg.precision != ZN_PRECISION_F32) {
        zn_error_set(ZN_ERR_UNSUPPORTED, "the CPU backend computes in fp32; %s is a CUDA precision%s%s%s",
                     zn_precision_name(cfg.precision), probe_sum.note[0] ? " (" : "", probe_sum.note,
                     probe_sum.note[0] ? ")" : "");
        zn_error_hint("use --precision fp32 on the CPU, or --backend cuda on a GPU machine");
        return ZN_ERR_UNSUPPORTED;
    }
    zn_plan *plan = calloc(1, sizeof *plan);
    if (!plan) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory compiling");
    plan->cfg = cfg;
    plan->device = backend == ZN_BACKEND_CUDA;
    zn_compile_summary *sum = &plan->summary;
    *sum = probe_sum;
    sum->backend = backend;
    sum->precision = cfg.precision;
    sum->mode = cfg.mode;
    sum->threads = cfg.threads;
    plan->graph = zn_graph_clone(src);
    if (!plan->graph) {
        st = zn_last_error()->status ? zn_last_error()->status : ZN_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    zn_graph *g = plan->graph;
    sum->nodes_before = g->n_nodes;
    if ((st = zn_graph_validate(g)) != ZN_OK) goto fail;
    if ((st = check_inputs_bound(g)) != ZN_OK) goto fail;

    double tp = now_ms();
    int before = g->n_nodes;
    phase_begin(&cfg, "constant-folding");
    st = zn_graph_infer_shapes(g, true);
    phase_end(&cfg, "constant-folding");
    if (st != ZN_OK) goto fail;
    char detail[160];
    snprintf(detail, sizeof detail, "%d constant node%s evaluated at compile time", before - g->n_nodes,
             before - g->n_nodes == 1 ? "" : "s");
    add_pass_report(sum, "constant-folding", before - g->n_nodes, now_ms() - tp, detail);

    if (!cfg.no_passes && (st = zn_run_passes(g, &cfg, sum)) != ZN_OK) goto fail;
    if (plan->device && (st = device_rewrites(plan)) != ZN_OK) goto fail;
    sum->nodes_after = g->n_nodes;

    phase_begin(&cfg, "kernel-selection");
    tp = now_ms();
    int tuned = 0, retuned = 0;
    st = select_kernels(plan, backend, &tuned, &retuned);
    phase_end(&cfg, "kernel-selection");
    if (st != ZN_OK) goto fail;
    if (cfg.mode == ZN_MODE_MAX_AUTOTUNE) {
        snprintf(detail, sizeof detail, "%d node%s with several kernels timed; %d picked a kernel other than the "
                 "highest-priority one", tuned, tuned == 1 ? "" : "s", retuned);
        add_pass_report(sum, "max-autotune", retuned, now_ms() - tp, detail);
    }
    phase_begin(&cfg, "memory-planning");
    st = zn_plan_memory(plan);
    phase_end(&cfg, "memory-planning");
    if (st != ZN_OK) goto fail;
    if (plan->device) {
        phase_begin(&cfg, "weight-upload");
        zn_device_prepare_begin(); /* synchronous copies and a device sync: not during a capture */
        st = upload_weights(plan);
        if (st == ZN_OK) st = zn_device_synchronize();
        zn_device_prepare_end();
        phase_end(&cfg, "weight-upload");
        if (st != ZN_OK) goto fail;
        device_summary(plan);
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags & ZN_TENSOR_CONST)
            sum->weight_bytes += (size_t)zn_shape_numel(&g->tensors[t].shape) * zn_dtype_size(g->tensors[t].dtype);
    for (int s = 0; s < plan->n_steps; s++) {
        sum->scratch_bytes += plan->steps[s].scratch_bytes;
        if (plan->steps[s].flops > 0) sum->flops += plan->steps[s].flops;
    }
    sum->compile_ms = now_ms() - t0;
    ZN_LOGI("compile", "%s: %d -> %d nodes, arena %.1f MiB (naive %.1f MiB), %.1f ms", g->name,
            sum->nodes_before, sum->nodes_after, sum->planned_peak_bytes / 1048576.0,
            sum->naive_bytes / 1048576.0, sum->compile_ms);
    *out = plan;
    return ZN_OK;
fail:
    zn_plan_free(plan);
    return st;
}
