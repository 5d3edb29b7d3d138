/* log.c — levelled logging to a replaceable sink, as text or JSON lines. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static int log_level = ZN_LOG_WARN;
static int log_json;
static zn_log_sink log_sink;
static void *log_user;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"error", "warn", "info", "debug", "trace"};

static void log_init(void) {
    const char *v = getenv("ZENITH_VERBOSITY");
    if (v && *v) {
        if (v[0] >= '0' && v[0] <= '4' && v[1] == 0) log_level = v[0] - '0';
        for (int i = 0; i < 5; i++)
            if (strcasecmp(v, level_names[i]) == 0) log_level = i;
    }
    const char *f = getenv("ZENITH_LOG_FORMAT");
    if (f && strcasecmp(f, "json") == 0) log_json = 1;
}

const char *zn_log_level_name(zn_log_level level) {
    return (level >= 0 && level <= ZN_LOG_TRACE) ? level_names[level] : "?";
}

int zn_log_enabled(zn_log_level level) {
    pthread_once(&log_once, log_init);
    return (int)level <= log_level;
}

void zn_log_set_level(zn_log_level level) {
    pthread_once(&log_once, log_init);
    log_level = level;
}

zn_log_level zn_log_get_level(void) {
    pthread_once(&log_once, log_init);
    return (zn_log_level)log_level;
}

void zn_log_set_json(int json) {
    pthread_once(&log_once, log_init);
    log_json = json;
}

void zn_log_set_sink(zn_log_sink sink, void *user) {
    pthread_mutex_lock(&log_mu);
    log_sink = sink;
    log_user = user;
    pthread_mutex_unlock(&log_mu);
}

/* JSON string escaping of msg into buf. */
static size_t json_escape(char *buf, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { buf[n++] = '\\'; buf[n++] = (char)c; }
        else if (c == '\n') { buf[n++] = '\\'; buf[n++] = 'n'; }
        else if (c < 0x20) n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        else buf[n++] = (char)c;
    }
    buf[n] = 0;
    return n;
}

void zn_log_format(char *buf, unsigned long cap, zn_log_level level, const char *module,
                   const char *msg, int json) {
    if (json) {
        char esc[1200];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        json_escape(esc, sizeof esc, msg);
        snprintf(buf, cap, "{\"ts\":%lld.%03ld,\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}",
                 (long long)ts.tv_sec, ts.tv_nsec / 1000000, zn_log_level_name(level), module, esc);
    } else {
        snprintf(buf, cap, "zenith %-5s %s: %s", zn_log_level_name(level), module, msg);
    }
}

void zn_log(zn_log_level level, const char *module, const char *fmt, ...) {
    if (!zn_log_enabled(level)) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    if (log_sink) {
        log_sink(log_user, level, module, msg);
    } else {
        char line[1400];
        zn_log_format(line, sizeof line, level, module, msg, log_json);
        fprintf(stderr, "%s\n", line);
    }
    pthread_mutex_unlock(&log_mu);
}
