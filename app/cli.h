/* cli.h — what every zenith-bench command shares: exit codes, option parsing with units, model
 * loading (zoo name or ONNX file) with shape binding, and error printing.
 *
 * Only app/ prints. Errors are printed as
 *   error: <message>
 *   hint: <suggestion>
 * on stderr, with the node / op / shapes when the library's error record has them. */
#ifndef ZN_CLI_H
#define ZN_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/zenith.h"

/* Documented exit codes (README "Exit codes"). */
enum {
    ZN_EXIT_OK = 0,          /* done (and VALID, where a verdict applies) */
    ZN_EXIT_FAIL = 1,        /* the run failed or was INVALID */
    ZN_EXIT_USAGE = 2,       /* bad usage: unknown option, bad value */
    ZN_EXIT_MODEL = 3,       /* the model could not be loaded or compiled */
    ZN_EXIT_MISMATCH = 4,    /* outputs did not match the reference */
    ZN_EXIT_INTERRUPTED = 130,
};

#define CLI_MAX_SHAPES 16

typedef struct cli_shape {
    char name[128];
    int rank;
    int64_t dims[ZN_MAX_RANK];
} cli_shape;

/* How to get the graph: which model, and how to bind its symbolic dims. */
typedef struct cli_model_opts {
    const char *model;       /* zoo name or path to a .onnx file */
    int batch;               /* 0: the model's default */
    int n_shapes;
    cli_shape shapes[CLI_MAX_SHAPES];
    uint64_t seed;           /* zoo weights; 0 = default */
    bool keep_symbolic;      /* bind nothing by default (a data set will bind the shapes) */
} cli_model_opts;

/* Loads and binds the model. Returns a zn_status; the error record explains failures. */
zn_status cli_load_model(const cli_model_opts *o, zn_graph **out);
/* True when `model` names a file rather than a zoo entry (ends in .onnx or contains '/'). */
bool cli_is_model_file(const char *model);

/* Prints the library's last error as error:/hint: lines, prefixed with `context` if given. */
void cli_print_error(const char *context);
/* Prints "error: <fmt>" and optionally "hint: <hint>" (hint may be NULL); returns ZN_EXIT_USAGE. */
int cli_usage_error(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "1x3x224x224" -> dims. Returns 0 or -1. */
int cli_parse_dims(const char *s, int64_t *dims, int *rank);
/* "input_ids:1x128" -> shape. Returns 0 or -1. */
int cli_parse_shape_arg(const char *arg, cli_shape *out);
/* Durations with units: "15ms", "2s", "1.5s", "2m", "500us"; a bare number is seconds.
 * Returns 0 and milliseconds, or -1. */
int cli_parse_duration_ms(const char *s, double *ms);
/* Integer in [lo, hi]; 0 or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
/* Positive float; 0 or -1. */
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* "12.3 MiB", "1.2 GiB" */
const char *cli_bytes(double bytes, char *buf, int cap);
/* "8.21 GFLOP" */
const char *cli_flops(double flops, char *buf, int cap);
/* "123.4 us", "12.34 ms", "1.234 s" from nanoseconds */
const char *cli_duration_ns(double ns, char *buf, int cap);

/* Set by SIGINT/SIGTERM (the handler only sets this flag). */
extern volatile int cli_interrupted;
void cli_install_signal_handlers(void);

#endif
