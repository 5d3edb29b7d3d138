/* system_info.c — what the run record says about the machine and the build: CPU model, cores,
 * SIMD flags (CPUID through __builtin_cpu_supports), memory, OS and kernel, hostname, the NVIDIA
 * driver when /proc/driver/nvidia/version exists; compiler, flags, git commit and backends.
 *
 * Build facts come from macros the Makefile may pass: ZN_BUILD_FLAGS (a string of the CFLAGS)
 * and ZN_GIT_COMMIT (a string); "unknown" when absent. Reads /proc only; never fails. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "reports/run_record.h"

/* Copies with truncation (a loop, not snprintf: truncating is intended here). */
static void set(char *dst, size_t n, const char *s) {
    size_t i = 0;
    for (; s && s[i] && i + 1 < n; i++) dst[i] = s[i];
    dst[i] = 0;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    size_t k = 0;
    while (s[k] == ' ' || s[k] == '\t') k++;
    if (k) memmove(s, s + k, n - k + 1);
}

/* The value of the first "key<spaces>: value" line of a /proc file. */
static int proc_value(const char *file, const char *key, char *out, size_t n) {
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char line[1024];
    size_t kl = strlen(key);
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0) continue;
        char *colon = strchr(line + kl, ':');
        if (!colon) continue;
        for (const char *p = line + kl; p < colon; p++)
            if (*p != ' ' && *p != '\t') goto next;
        set(out, n, colon + 1);
        trim(out);
        found = 1;
        break;
    next:;
    }
    fclose(f);
    return found;
}

static void simd_flags(char *out, size_t n) {
    out[0] = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    struct {
        const char *name;
        int on;
    } flags[] = {
        {"sse4.2", __builtin_cpu_supports("sse4.2")},
        {"avx", __builtin_cpu_supports("avx")},
        {"avx2", __builtin_cpu_supports("avx2")},
        {"fma", __builtin_cpu_supports("fma")},
        {"f16c", 0},
        {"avx512f", __builtin_cpu_supports("avx512f")},
        {"avx512bw", __builtin_cpu_supports("avx512bw")},
        {"avx512vl", __builtin_cpu_supports("avx512vl")},
        {"avx512_vnni", __builtin_cpu_supports("avx512vnni")},
        {"avx512_bf16", 0},
        {"amx_tile", 0},
    };
    /* Flags __builtin_cpu_supports does not know on every GCC: take them from /proc/cpuinfo. */
    char procflags[4096] = "";
    proc_value("/proc/cpuinfo", "flags", procflags, sizeof procflags);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!flags[i].on && procflags[0]) {
            char pat[40];
            snprintf(pat, sizeof pat, " %s ", flags[i].name);
            char padded[4100];
            snprintf(padded, sizeof padded, " %s ", procflags);
            flags[i].on = strstr(padded, pat) != NULL;
        }
        if (flags[i].on) {
            size_t l = strlen(out);
            snprintf(out + l, n - l, "%s%s", l ? " " : "", flags[i].name);
        }
    }
#elif defined(__aarch64__)
    set(out, n, "neon");
#endif
    if (!out[0]) set(out, n, "none");
}

void zn_system_info_collect(zn_system_info *s) {
    memset(s, 0, sizeof *s);
    if (gethostname(s->hostname, sizeof s->hostname - 1) != 0) set(s->hostname, sizeof s->hostname, "unknown");
    struct utsname u;
    if (uname(&u) == 0) {
        set(s->os, sizeof s->os, u.sysname);
        snprintf(s->kernel, sizeof s->kernel, "%.60s %.60s", u.release, u.version);
        set(s->arch, sizeof s->arch, u.machine);
    } else {
        set(s->os, sizeof s->os, "unknown");
        set(s->kernel, sizeof s->kernel, "unknown");
        set(s->arch, sizeof s->arch, "unknown");
    }
    if (!proc_value("/proc/cpuinfo", "model name", s->cpu_model, sizeof s->cpu_model) &&
        !proc_value("/proc/cpuinfo", "Model", s->cpu_model, sizeof s->cpu_model))
        set(s->cpu_model, sizeof s->cpu_model, "unknown");
    long on = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
    s->cores_online = on > 0 ? (int)on : 1;
    s->cores_configured = conf > 0 ? (int)conf : s->cores_online;
    simd_flags(s->simd, sizeof s->simd);

    char kb[64];
    if (proc_value("/proc/meminfo", "MemTotal", kb, sizeof kb)) s->mem_total_bytes = (int64_t)strtoll(kb, NULL, 10) * 1024;
    if (proc_value("/proc/meminfo", "MemAvailable", kb, sizeof kb))
        s->mem_available_bytes = (int64_t)strtoll(kb, NULL, 10) * 1024;
    if (!s->mem_total_bytes) {
        struct sysinfo si;
        if (sysinfo(&si) == 0) {
            s->mem_total_bytes = (int64_t)si.totalram * si.mem_unit;
            s->mem_available_bytes = (int64_t)si.freeram * si.mem_unit;
        }
    }

    /* NVIDIA: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  ..." */
    set(s->gpu, sizeof s->gpu, "none");
    set(s->driver, sizeof s->driver, "none");
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    if (f) {
        char line[256];
        if (fgets(line, sizeof line, f)) {
            trim(line);
            const char *v = strstr(line, "Kernel Module");
            char ver[64] = "";
            if (v && sscanf(v + strlen("Kernel Module"), "%63s", ver) == 1)
                snprintf(s->driver, sizeof s->driver, "NVIDIA %s", ver);
            else
                snprintf(s->driver, sizeof s->driver, "%.120s", line);
        }
        fclose(f);
        /* The first GPU's model, from the driver's per-device information. */
        char model[128] = "";
        char bus[64] = "";
        DIR *d = opendir("/proc/driver/nvidia/gpus");
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)))
                if (e->d_name[0] != '.') {
                    set(bus, sizeof bus, e->d_name);
                    break;
                }
            closedir(d);
        }
        if (bus[0]) {
            char path[160];
            snprintf(path, sizeof path, "/proc/driver/nvidia/gpus/%s/information", bus);
            proc_value(path, "Model", model, sizeof model);
        }
        set(s->gpu, sizeof s->gpu, model[0] ? model : "NVIDIA GPU");
    }
}

void zn_build_info_collect(zn_build_info *b) {
    memset(b, 0, sizeof *b);
    set(b->version, sizeof b->version, ZN_TOOL_VERSION);
#ifdef __VERSION__
#if defined(__clang__)
    snprintf(b->compiler, sizeof b->compiler, "clang %s", __VERSION__);
#elif defined(__GNUC__)
    snprintf(b->compiler, sizeof b->compiler, "gcc %s", __VERSION__);
#else
    set(b->compiler, sizeof b->compiler, __VERSION__);
#endif
#else
    set(b->compiler, sizeof b->compiler, "unknown");
#endif
#ifdef ZN_BUILD_FLAGS
    set(b->flags, sizeof b->flags, ZN_BUILD_FLAGS);
#else
    set(b->flags, sizeof b->flags, "unknown");
#endif
#ifdef ZN_GIT_COMMIT
    set(b->git_commit, sizeof b->git_commit, ZN_GIT_COMMIT);
#else
    set(b->git_commit, sizeof b->git_commit, "unknown");
#endif
#ifdef ZN_WITH_CUDA
    set(b->backends, sizeof b->backends, "cpu cuda");
#else
    set(b->backends, sizeof b->backends, "cpu");
#endif
}
