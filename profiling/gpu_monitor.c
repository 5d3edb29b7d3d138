/* gpu_monitor.c — GPU facts and the NVML sampler (gpu_monitor.h).
 *
 * NVML is reached through dlopen/dlsym with the prototypes below (the subset of nvml.h this
 * file uses; NVML's C ABI is stable: versioned entry points such as nvmlInit_v2 keep their
 * signatures). The sampler thread reads clocks, temperature, power and the clock event reasons
 * every 1/hz seconds into a running summary under the monitor's lock; stop wakes it at once. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/alloc.h"
#include "engine/log.h"
#include "profiling/gpu_monitor.h"

/* ---- facts and the summary (no NVML needed) ------------------------------------------------------ */

static void version_text(char *out, size_t cap, int v) {
    if (v <= 0) snprintf(out, cap, "unknown");
    else snprintf(out, cap, "%d.%d", v / 1000, (v % 1000) / 10);
}

void zn_gpu_facts_from_device(zn_gpu_facts *f, const zn_device_info *d) {
    f->ordinal = d->ordinal;
    snprintf(f->name, sizeof f->name, "%.127s", d->name);
    snprintf(f->pci_bus_id, sizeof f->pci_bus_id, "%s", d->pci_bus_id);
    f->cc_major = d->cc_major;
    f->cc_minor = d->cc_minor;
    f->sm_count = d->sm_count;
    f->total_bytes = (int64_t)d->total_bytes;
    f->l2_bytes = (int64_t)d->l2_bytes;
    f->mem_bus_bits = d->mem_bus_bits;
    f->sm_clock_mhz = d->sm_clock_khz / 1000;
    f->mem_clock_mhz = d->mem_clock_khz / 1000;
    version_text(f->driver_version, sizeof f->driver_version, d->driver_version);
    version_text(f->runtime_version, sizeof f->runtime_version, d->runtime_version);
}

const char *zn_gpu_reasons_text(uint64_t mask, char *buf, size_t cap) {
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {ZN_GPU_REASON_IDLE, "gpu idle"},          {ZN_GPU_REASON_APP_CLOCKS, "applications clocks"},
        {ZN_GPU_REASON_SW_POWER_CAP, "sw power cap"}, {ZN_GPU_REASON_HW_SLOWDOWN, "hw slowdown"},
        {ZN_GPU_REASON_SYNC_BOOST, "sync boost"},   {ZN_GPU_REASON_SW_THERMAL, "sw thermal slowdown"},
        {ZN_GPU_REASON_HW_THERMAL, "hw thermal slowdown"},
        {ZN_GPU_REASON_HW_POWER_BRAKE, "hw power brake"},
        {ZN_GPU_REASON_DISPLAY_CLOCKS, "display clocks"},
    };
    if (!cap) return buf;
    buf[0] = 0;
    size_t at = 0;
    uint64_t known = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        known |= names[i].bit;
        if (!(mask & names[i].bit) || at + 1 >= cap) continue;
        int w = snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", names[i].name);
        if (w > 0) at += (size_t)w < cap - at ? (size_t)w : cap - at - 1;
    }
    if ((mask & ~known) && at + 1 < cap) snprintf(buf + at, cap - at, "%sother (0x%llx)", at ? ", " : "",
                                                  (unsigned long long)(mask & ~known));
    return buf;
}

void zn_gpu_sample_stats_add(zn_gpu_sample_stats *s, const zn_gpu_sample *x) {
    s->n++;
    s->reasons |= x->reasons & ~ZN_GPU_REASON_IDLE;
    bool busy = !(x->reasons & ZN_GPU_REASON_IDLE);
    if (busy && x->sm_mhz > 0) {
        if (!s->busy || x->sm_mhz < s->sm_min) s->sm_min = x->sm_mhz;
        if (!s->busy || x->sm_mhz > s->sm_max) s->sm_max = x->sm_mhz;
        s->sm_sum += x->sm_mhz;
        if (x->mem_mhz > 0) {
            if (!s->mem_min || x->mem_mhz < s->mem_min) s->mem_min = x->mem_mhz;
            if (x->mem_mhz > s->mem_max) s->mem_max = x->mem_mhz;
        }
        s->busy++;
    }
    if (x->temp_c >= 0) {
        if (!s->temp_n || x->temp_c < s->temp_min) s->temp_min = x->temp_c;
        if (!s->temp_n || x->temp_c > s->temp_max) s->temp_max = x->temp_c;
        s->temp_n++;
    }
    if (x->power_w >= 0) {
        s->power_sum += x->power_w;
        if (x->power_w > s->power_max) s->power_max = x->power_w;
        s->power_n++;
    }
}

void zn_gpu_facts_from_samples(zn_gpu_facts *f, const zn_gpu_sample_stats *s, double hz) {
    f->samples = s->n;
    f->sample_hz = hz;
    f->sm_mhz_min = s->sm_min;
    f->sm_mhz_max = s->sm_max;
    f->sm_mhz_mean = s->busy ? s->sm_sum / (double)s->busy : 0;
    f->mem_mhz_min = s->mem_min;
    f->mem_mhz_max = s->mem_max;
    f->temp_c_min = s->temp_min;
    f->temp_c_max = s->temp_max;
    f->power_w_mean = s->power_n ? s->power_sum / (double)s->power_n : 0;
    f->power_w_max = s->power_max;
    f->reasons = s->reasons;
    zn_gpu_reasons_text(s->reasons, f->reasons_text, sizeof f->reasons_text);
    double spread = s->sm_max > 0 ? (double)(s->sm_max - s->sm_min) / (double)s->sm_max : 0;
    bool moved = s->busy > 1 && spread > ZN_GPU_CLOCK_SPREAD;
    f->unstable = moved || s->reasons != 0;
    f->warning[0] = 0;
    if (!f->unstable) return;
    char a[200] = "", b[200] = "";
    if (moved)
        snprintf(a, sizeof a, "the SM clock moved between %d and %d MHz (%.0f%%)", s->sm_min, s->sm_max, 100 * spread);
    if (s->reasons) snprintf(b, sizeof b, "clock event reasons: %s", f->reasons_text);
    snprintf(f->warning, sizeof f->warning, "%.130s%s%.130s during the run: GPU times may be distorted", a,
             a[0] && b[0] ? "; " : "", b);
}

/* ---- NVML --------------------------------------------------------------------------------------- */

typedef int nvml_ret;                      /* nvmlReturn_t; NVML_SUCCESS = 0 */
typedef struct nvml_device_st *nvml_dev;   /* nvmlDevice_t */
enum { NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_TEMPERATURE_GPU = 0 };

typedef struct nvml_api {
    void *lib;
    nvml_ret (*init)(void);
    nvml_ret (*shutdown)(void);
    const char *(*error_string)(nvml_ret);
    nvml_ret (*driver_version)(char *, unsigned);
    nvml_ret (*by_pci)(const char *, nvml_dev *);
    nvml_ret (*by_index)(unsigned, nvml_dev *);
    nvml_ret (*clock)(nvml_dev, int, unsigned *);
    nvml_ret (*max_clock)(nvml_dev, int, unsigned *);
    nvml_ret (*temperature)(nvml_dev, int, unsigned *);
    nvml_ret (*power)(nvml_dev, unsigned *);
    nvml_ret (*power_limit)(nvml_dev, unsigned *);
    nvml_ret (*reasons)(nvml_dev, unsigned long long *);
} nvml_api;

struct zn_gpu_monitor {
    nvml_api api;
    nvml_dev dev;
    double hz;
    pthread_t th;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    zn_gpu_sample_stats stats;
    char driver[32];
    int sm_max, mem_max, power_limit_w;
};

static void *sym(void *lib, const char *name) { return dlsym(lib, name); }

#define LOAD(field, name)                                                                  \
    do {                                                                                   \
        void *p_ = sym(a->lib, name);                                                      \
        memcpy(&a->field, &p_, sizeof a->field < sizeof p_ ? sizeof a->field : sizeof p_); \
    } while (0)

static bool nvml_load(nvml_api *a, char *why, size_t cap) {
    memset(a, 0, sizeof *a);
    const char *path = getenv("ZENITH_NVML_LIB");
    if (!path || !*path) path = "libnvidia-ml.so.1";
    a->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!a->lib) {
        snprintf(why, cap, "%s could not be loaded (no NVIDIA driver on this machine?)", path);
        return false;
    }
    LOAD(init, "nvmlInit_v2");
    LOAD(shutdown, "nvmlShutdown");
    LOAD(error_string, "nvmlErrorString");
    LOAD(driver_version, "nvmlSystemGetDriverVersion");
    LOAD(by_pci, "nvmlDeviceGetHandleByPciBusId_v2");
    LOAD(by_index, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(clock, "nvmlDeviceGetClockInfo");
    LOAD(max_clock, "nvmlDeviceGetMaxClockInfo");
    LOAD(temperature, "nvmlDeviceGetTemperature");
    LOAD(power, "nvmlDeviceGetPowerUsage");
    LOAD(power_limit, "nvmlDeviceGetEnforcedPowerLimit");
    LOAD(reasons, "nvmlDeviceGetCurrentClocksEventReasons");
    if (!a->reasons) LOAD(reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
    if (!a->init || !a->shutdown || !a->clock || (!a->by_pci && !a->by_index)) {
        snprintf(why, cap, "%s lacks the NVML entry points Zenith uses", path);
        dlclose(a->lib);
        a->lib = NULL;
        return false;
    }
    return true;
}

static const char *nvml_err(const nvml_api *a, nvml_ret r) {
    const char *s = a->error_string ? a->error_string(r) : NULL;
    return s ? s : "unknown error";
}

static void sample(zn_gpu_monitor *m, zn_gpu_sample *x) {
    const nvml_api *a = &m->api;
    unsigned v = 0;
    unsigned long long r = 0;
    x->sm_mhz = a->clock(m->dev, NVML_CLOCK_SM, &v) == 0 ? (int)v : -1;
    x->mem_mhz = a->clock(m->dev, NVML_CLOCK_MEM, &v) == 0 ? (int)v : -1;
    x->temp_c = a->temperature && a->temperature(m->dev, NVML_TEMPERATURE_GPU, &v) == 0 ? (int)v : -1;
    x->power_w = a->power && a->power(m->dev, &v) == 0 ? v / 1000.0 : -1;
    x->reasons = a->reasons && a->reasons(m->dev, &r) == 0 ? (uint64_t)r : 0;
}

static void *sampler(void *arg) {
    zn_gpu_monitor *m = arg;
    int64_t period_ns = (int64_t)(1e9 / m->hz);
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        pthread_mutex_unlock(&m->mu);
        zn_gpu_sample x;
        sample(m, &x);
        pthread_mutex_lock(&m->mu);
        zn_gpu_sample_stats_add(&m->stats, &x);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + period_ns;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static atomic_int g_said_no_nvml;

static zn_status not_available(const char *why) {
    if (atomic_exchange(&g_said_no_nvml, 1) == 0) ZN_LOGW("gpu", "NVML not available: %s; no clock, power or throttle samples", why);
    return zn_error_set(ZN_ERR_UNSUPPORTED, "NVML not available: %s", why);
}

zn_status zn_gpu_monitor_start(const char *pci_bus_id, int ordinal, double hz, zn_gpu_monitor **out) {
    *out = NULL;
    char why[256];
    zn_gpu_monitor *m = zn_calloc(1, sizeof *m);
    if (!m) return zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory starting the GPU monitor");
    if (!nvml_load(&m->api, why, sizeof why)) {
        zn_free(m);
        return not_available(why);
    }
    nvml_api *a = &m->api;
    nvml_ret r = a->init();
    if (r != 0) {
        snprintf(why, sizeof why, "nvmlInit failed: %s", nvml_err(a, r));
        goto fail_lib;
    }
    r = -1;
    if (pci_bus_id && *pci_bus_id && a->by_pci) r = a->by_pci(pci_bus_id, &m->dev);
    if (r != 0 && a->by_index) r = a->by_index(ordinal < 0 ? 0u : (unsigned)ordinal, &m->dev);
    if (r != 0) {
        snprintf(why, sizeof why, "NVML does not know device %s: %s", pci_bus_id && *pci_bus_id ? pci_bus_id : "0",
                 nvml_err(a, r));
        goto fail_init;
    }
    unsigned v;
    if (a->driver_version && a->driver_version(m->driver, sizeof m->driver) != 0) m->driver[0] = 0;
    if (a->max_clock && a->max_clock(m->dev, NVML_CLOCK_SM, &v) == 0) m->sm_max = (int)v;
    if (a->max_clock && a->max_clock(m->dev, NVML_CLOCK_MEM, &v) == 0) m->mem_max = (int)v;
    if (a->power_limit && a->power_limit(m->dev, &v) == 0) m->power_limit_w = (int)(v / 1000);
    m->hz = hz > 0 ? (hz > 1000 ? 1000 : hz) : 10;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->th, NULL, sampler, m) != 0) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        snprintf(why, sizeof why, "could not start the sampling thread");
        goto fail_init;
    }
    m->running = true;
    *out = m;
    return ZN_OK;
fail_init:
    a->shutdown();
fail_lib:
    dlclose(a->lib);
    zn_free(m);
    return not_available(why);
}

void zn_gpu_monitor_stop(zn_gpu_monitor *m) {
    if (!m || !m->running) return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->th, NULL);
    m->running = false;
}

void zn_gpu_monitor_facts(zn_gpu_monitor *m, zn_gpu_facts *f) {
    if (!m) return;
    f->nvml = true;
    f->nvml_note[0] = 0;
    snprintf(f->nvml_driver, sizeof f->nvml_driver, "%s", m->driver);
    f->sm_clock_max_mhz = m->sm_max;
    f->mem_clock_max_mhz = m->mem_max;
    f->power_limit_w = m->power_limit_w;
    pthread_mutex_lock(&m->mu);
    zn_gpu_sample_stats s = m->stats;
    pthread_mutex_unlock(&m->mu);
    zn_gpu_facts_from_samples(f, &s, m->hz);
}

void zn_gpu_monitor_free(zn_gpu_monitor *m) {
    if (!m) return;
    zn_gpu_monitor_stop(m);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    m->api.shutdown();
    dlclose(m->api.lib);
    zn_free(m);
}
