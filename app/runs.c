/* runs.c — the runs folder (runs.h): locate/create it, save records into it, list them. */
#include "runs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/error.h"

static zn_status mkdir_p(const char *path) {
    char tmp[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return zn_error_set(ZN_ERR_IO, "runs folder path '%s' is empty or too long", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0) continue;
        char keep = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            zn_status st = zn_error_set(ZN_ERR_IO, "cannot create the runs folder %s (%s)", tmp, strerror(errno));
            zn_error_hint("set ZENITH_RUNS_DIR to a folder you can write");
            return st;
        }
        tmp[i] = keep;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        zn_status st = zn_error_set(ZN_ERR_IO, "the runs folder %s is not a folder", path);
        zn_error_hint("set ZENITH_RUNS_DIR to a folder you can write");
        return st;
    }
    return ZN_OK;
}

zn_status zn_runs_dir(char *out, size_t cap, bool create) {
    const char *env = getenv("ZENITH_RUNS_DIR");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env) n = snprintf(out, cap, "%s", env);
    else if (xdg && *xdg) n = snprintf(out, cap, "%s/zenith/runs", xdg);
    else if (home && *home) n = snprintf(out, cap, "%s/.local/share/zenith/runs", home);
    else {
        zn_status st = zn_error_set(ZN_ERR_IO, "no runs folder: neither ZENITH_RUNS_DIR, XDG_DATA_HOME nor HOME is set");
        zn_error_hint("set ZENITH_RUNS_DIR to the folder where run records should be kept");
        return st;
    }
    if (n < 0 || (size_t)n >= cap) return zn_error_set(ZN_ERR_IO, "the runs folder path is too long");
    return create ? mkdir_p(out) : ZN_OK;
}

static void sanitize(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; *src && n + 1 < cap; src++) {
        char ch = *src;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        dst[n++] = ok ? ch : '_';
    }
    if (n == 0 && cap > 1) dst[n++] = '_';
    dst[n] = 0;
}

zn_status zn_runs_save_in(const char *dir, const zn_record *rec, char *path_out, size_t cap) {
    zn_status st = mkdir_p(dir);
    if (st != ZN_OK) return st;
    char stamp[32], model[96], scen[32];
    size_t k = 0;
    for (const char *s = rec->created; *s && k + 1 < sizeof stamp; s++)
        if (*s != '-' && *s != ':') stamp[k++] = *s;
    stamp[k] = 0;
    if (!k) snprintf(stamp, sizeof stamp, "undated");
    sanitize(model, sizeof model, rec->model.name[0] ? rec->model.name : "model");
    sanitize(scen, sizeof scen, rec->settings.scenario[0] ? rec->settings.scenario : "none");
    char path[1200];
    for (int i = 1; i < 1000; i++) {
        if (i == 1) snprintf(path, sizeof path, "%s/%s-%s-%s.json", dir, stamp, model, scen);
        else snprintf(path, sizeof path, "%s/%s-%s-%s-%d.json", dir, stamp, model, scen, i);
        if (access(path, F_OK) != 0) break;
    }
    if ((st = zn_record_write_json(rec, path)) != ZN_OK) return st;
    if (path_out && cap) snprintf(path_out, cap, "%s", path);
    return ZN_OK;
}

zn_status zn_runs_save(const zn_record *rec, char *path_out, size_t cap) {
    char dir[1024];
    zn_status st = zn_runs_dir(dir, sizeof dir, true);
    if (st != ZN_OK) return st;
    return zn_runs_save_in(dir, rec, path_out, cap);
}

void zn_run_summary_from_record(const zn_record *rec, const char *path, zn_run_summary *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->path, sizeof o->path, "%s", path ? path : "");
    const char *slash = path ? strrchr(path, '/') : NULL;
    snprintf(o->file, sizeof o->file, "%s", slash ? slash + 1 : path ? path : "");
    snprintf(o->created, sizeof o->created, "%s", rec->created);
    snprintf(o->run_id, sizeof o->run_id, "%s", rec->run_id);
    snprintf(o->model, sizeof o->model, "%s", rec->model.name);
    snprintf(o->scenario, sizeof o->scenario, "%s", rec->settings.scenario);
    snprintf(o->test_mode, sizeof o->test_mode, "%s", rec->settings.test_mode);
    snprintf(o->backend, sizeof o->backend, "%s", rec->compile.backend[0] ? rec->compile.backend : rec->settings.backend);
    snprintf(o->precision, sizeof o->precision, "%s",
             rec->compile.precision[0] ? rec->compile.precision : rec->settings.precision);
    snprintf(o->status, sizeof o->status, "%s", rec->status);
    snprintf(o->verdict, sizeof o->verdict, "%s", zn_record_verdict(rec));
    const zn_record_results *r = &rec->results;
    if (r->present) {
        snprintf(o->metric_name, sizeof o->metric_name, "%s", r->metric_name);
        snprintf(o->metric_unit, sizeof o->metric_unit, "%s", r->metric_unit);
        o->metric_value = r->metric_value;
        o->queries = r->query_count;
        o->qps = r->qps_with_overhead;
        o->p50_ns = r->p50_ns;
        o->p90_ns = r->p90_ns;
        o->p99_ns = r->p99_ns;
    }
}

static int cmp_newest(const void *a, const void *b) {
    const zn_run_summary *x = a, *y = b;
    int r = strcmp(y->created, x->created);
    return r ? r : strcmp(y->file, x->file);
}

zn_status zn_runs_list(const char *dir, zn_run_summary **out, int *n, int *n_skipped) {
    *out = NULL;
    *n = 0;
    if (n_skipped) *n_skipped = 0;
    char def[1024];
    if (!dir) {
        zn_status st = zn_runs_dir(def, sizeof def, false);
        if (st != ZN_OK) return st;
        dir = def;
    }
    DIR *d = opendir(dir);
    if (!d) return ZN_OK; /* no folder yet: no runs */
    int cap = 0, count = 0;
    zn_run_summary *list = NULL;
    struct dirent *e;
    zn_status st = ZN_OK;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.') continue;
        char path[1536];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        zn_record *rec = malloc(sizeof *rec);
        if (!rec) {
            st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory listing %s", dir);
            break;
        }
        if (zn_record_read_json(path, rec) != ZN_OK) {
            zn_record_free(rec);
            free(rec);
            if (n_skipped) (*n_skipped)++;
            continue;
        }
        if (count == cap) {
            int nc = cap ? cap * 2 : 32;
            zn_run_summary *nl = realloc(list, (size_t)nc * sizeof *nl);
            if (!nl) {
                zn_record_free(rec);
                free(rec);
                st = zn_error_set(ZN_ERR_OUT_OF_MEMORY, "out of memory listing %s", dir);
                break;
            }
            list = nl;
            cap = nc;
        }
        zn_run_summary_from_record(rec, path, &list[count++]);
        zn_record_free(rec);
        free(rec);
    }
    closedir(d);
    if (st != ZN_OK) {
        free(list);
        return st;
    }
    if (count) qsort(list, (size_t)count, sizeof *list, cmp_newest);
    *out = list;
    *n = count;
    return ZN_OK;
}

void zn_runs_list_free(zn_run_summary *list) { free(list); }
