/* runs.h — the runs folder: where finished run records (JSON) are kept so the TUI's history
 * can list and compare them, and where headless runs leave theirs too.
 *
 * The folder is $ZENITH_RUNS_DIR when set, else $XDG_DATA_HOME/zenith/runs, else
 * ~/.local/share/zenith/runs; it is created on demand. A record is saved as
 * <created>-<model>-<scenario>.json (created as 20250131T120000Z, the model name with anything
 * but letters, digits, '.', '_' and '-' replaced by '_'), with -2, -3, ... added when that name
 * is taken.
 *
 * What it is not: a database. Listing reads every record in the folder.
 */
#ifndef ZN_RUNS_H
#define ZN_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/run_record.h"

/* What the history list shows of one record. */
typedef struct zn_run_summary {
    char path[1024];
    char file[256];           /* the file name alone */
    char created[32];
    char run_id[48];
    char model[ZN_MAX_NAME];
    char scenario[16], test_mode[16];
    char backend[8], precision[8];
    char status[16];          /* completed | interrupted | failed */
    char verdict[8];          /* VALID | INVALID | NONE */
    char metric_name[48], metric_unit[16];
    double metric_value;
    int64_t queries;
    double qps;               /* with harness overhead */
    int64_t p50_ns, p90_ns, p99_ns;
} zn_run_summary;

/* The runs folder's path into out; with create, makes it (and its parents) when missing.
 * ZN_ERR_IO naming the path and a fix when it cannot be made or no home is known. */
zn_status zn_runs_dir(char *out, size_t cap, bool create);
/* Saves rec as JSON in the runs folder (atomic write); the path written goes to path_out
 * (may be NULL). */
zn_status zn_runs_save(const zn_record *rec, char *path_out, size_t cap);
/* Same, into an explicit folder (created when missing). */
zn_status zn_runs_save_in(const char *dir, const zn_record *rec, char *path_out, size_t cap);
/* The records in dir (NULL: the runs folder), newest first (by creation time). *out is
 * malloc'd (free with zn_runs_list_free); files that are not readable run records are skipped
 * and counted in *n_skipped (may be NULL). A missing folder is an empty list. */
zn_status zn_runs_list(const char *dir, zn_run_summary **out, int *n, int *n_skipped);
void zn_runs_list_free(zn_run_summary *list);
/* The summary of one record (used by the list; exposed for tests). */
void zn_run_summary_from_record(const zn_record *rec, const char *path, zn_run_summary *out);

#endif
