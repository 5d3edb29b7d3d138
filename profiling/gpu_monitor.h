/* gpu_monitor.h — GPU facts for the run record: what the device is (from zn_device_info) and
 * how it behaved during the run (NVML: SM / memory clocks, temperature, power, clock event
 * ("throttle") reasons, sampled on a background thread), with a warning when the clocks moved
 * enough to distort the numbers.
 *
 * NVML comes from the driver (libnvidia-ml.so.1), loaded with dlopen and called through a
 * handful of prototypes declared here, so the build needs no nvml.h and a machine without the
 * driver library gets "NVML not available", said once through the logger, and no samples.
 * $ZENITH_NVML_LIB names another library to load (tests point it at nothing).
 *
 * The warning (zn_gpu_facts.unstable / .warning): the SM clock of the busy samples (those
 * without the GPU-idle reason) spread by more than ZN_GPU_CLOCK_SPREAD of its maximum, or any
 * clock event reason other than GPU idle appeared (power cap, thermal or hardware slowdown,
 * application clocks, sync boost, display clocks).
 *
 * What it is not: the CUPTI kernel tracer (cupti.h) or a device probe (engine/device.h). */
#ifndef ZN_GPU_MONITOR_H
#define ZN_GPU_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/device.h"
#include "engine/zenith.h"

#define ZN_GPU_CLOCK_SPREAD 0.05

/* NVML clock event reasons (nvmlClocksEventReason*). */
#define ZN_GPU_REASON_IDLE 0x1ull
#define ZN_GPU_REASON_APP_CLOCKS 0x2ull
#define ZN_GPU_REASON_SW_POWER_CAP 0x4ull
#define ZN_GPU_REASON_HW_SLOWDOWN 0x8ull
#define ZN_GPU_REASON_SYNC_BOOST 0x10ull
#define ZN_GPU_REASON_SW_THERMAL 0x20ull
#define ZN_GPU_REASON_HW_THERMAL 0x40ull
#define ZN_GPU_REASON_HW_POWER_BRAKE 0x80ull
#define ZN_GPU_REASON_DISPLAY_CLOCKS 0x100ull

/* Plain data for the run record. */
typedef struct zn_gpu_facts {
    /* the device, as the CUDA runtime reports it */
    int ordinal;
    char name[128];
    char pci_bus_id[32];
    int cc_major, cc_minor;
    int sm_count;
    int64_t total_bytes, l2_bytes;
    int mem_bus_bits;
    int sm_clock_mhz, mem_clock_mhz;  /* peak clocks from the device properties */
    char driver_version[16];          /* CUDA driver API version: "13.0" */
    char runtime_version[16];         /* CUDA runtime: "13.0" */
    /* the tools */
    char cupti[160];                  /* "kernels traced" / why not ("taken by Nsight Systems") */
    bool nvml;                        /* NVML answered */
    char nvml_note[160];              /* why not, when it did not */
    char nvml_driver[32];             /* "580.65.06" */
    int sm_clock_max_mhz, mem_clock_max_mhz;  /* NVML's max clocks */
    int power_limit_w;
    /* samples during the measured window */
    int64_t samples;
    double sample_hz;
    int sm_mhz_min, sm_mhz_max;       /* busy samples only */
    double sm_mhz_mean;
    int mem_mhz_min, mem_mhz_max;
    int temp_c_min, temp_c_max;
    double power_w_mean, power_w_max;
    uint64_t reasons;                 /* clock event reasons seen, idle excluded */
    char reasons_text[160];           /* their names */
    bool unstable;
    char warning[320];
} zn_gpu_facts;

/* One NVML sample. Fields NVML could not read are -1 (power < 0). */
typedef struct zn_gpu_sample {
    int sm_mhz, mem_mhz, temp_c;
    double power_w;
    uint64_t reasons;
} zn_gpu_sample;

/* The device part of the facts. */
void zn_gpu_facts_from_device(zn_gpu_facts *f, const zn_device_info *d);

/* Running summary of samples (what the monitor keeps; tests feed it directly). */
typedef struct zn_gpu_sample_stats {
    int64_t n, busy;
    int sm_min, sm_max, mem_min, mem_max, temp_min, temp_max;
    double sm_sum, power_sum, power_max;
    int64_t power_n, temp_n;
    uint64_t reasons;
} zn_gpu_sample_stats;
void zn_gpu_sample_stats_add(zn_gpu_sample_stats *s, const zn_gpu_sample *x);
/* Writes the sample part of the facts (min / max / mean, reasons, the warning). hz: the
 * sampling rate, for the record. */
void zn_gpu_facts_from_samples(zn_gpu_facts *f, const zn_gpu_sample_stats *s, double hz);
/* "sw power cap, hw slowdown" (idle included when asked for in the mask). */
const char *zn_gpu_reasons_text(uint64_t mask, char *buf, size_t cap);

/* ---- the sampler -------------------------------------------------------------------------------- */

typedef struct zn_gpu_monitor zn_gpu_monitor;

/* Opens NVML for the device (by PCI bus id when given, else NVML index `ordinal`) and starts
 * sampling at hz (0: 10) on a thread. ZN_ERR_UNSUPPORTED "NVML not available: ..." when the
 * library or the device cannot be opened (said once through the logger); *out is then NULL. */
zn_status zn_gpu_monitor_start(const char *pci_bus_id, int ordinal, double hz, zn_gpu_monitor **out);
/* Stops sampling (joins the thread); the samples stay for zn_gpu_monitor_facts. */
void zn_gpu_monitor_stop(zn_gpu_monitor *m);
/* NVML's static facts and the summary of the samples so far (callable while sampling). */
void zn_gpu_monitor_facts(zn_gpu_monitor *m, zn_gpu_facts *f);
void zn_gpu_monitor_free(zn_gpu_monitor *m); /* stops first when still sampling */

#endif
