/* log.h — the library's only voice: levelled messages to a sink, as text or JSON lines.
 *
 * ZENITH_VERBOSITY = error|warn|info|debug|trace (or 0..4; default warn) and
 * ZENITH_LOG_FORMAT = text|json are read once, on first use. The default sink writes to
 * stderr; the app may install its own (the TUI does, so logs never tear the screen). */
#ifndef ZN_LOG_H
#define ZN_LOG_H

typedef enum zn_log_level {
    ZN_LOG_ERROR = 0,
    ZN_LOG_WARN,
    ZN_LOG_INFO,
    ZN_LOG_DEBUG,
    ZN_LOG_TRACE,
} zn_log_level;

typedef void (*zn_log_sink)(void *user, zn_log_level level, const char *module, const char *msg);

void zn_log(zn_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int zn_log_enabled(zn_log_level level);
void zn_log_set_level(zn_log_level level);
zn_log_level zn_log_get_level(void);
void zn_log_set_json(int json);
/* NULL restores the default stderr sink. */
void zn_log_set_sink(zn_log_sink sink, void *user);
const char *zn_log_level_name(zn_log_level level);
/* Formats one record as the default sink would ("warn  compile: ..." or a JSON object). */
void zn_log_format(char *buf, unsigned long cap, zn_log_level level, const char *module,
                   const char *msg, int json);

#define ZN_LOGE(mod, ...) zn_log(ZN_LOG_ERROR, mod, __VA_ARGS__)
#define ZN_LOGW(mod, ...) zn_log(ZN_LOG_WARN, mod, __VA_ARGS__)
#define ZN_LOGI(mod, ...) zn_log(ZN_LOG_INFO, mod, __VA_ARGS__)
#define ZN_LOGD(mod, ...) \
    do { if (zn_log_enabled(ZN_LOG_DEBUG)) zn_log(ZN_LOG_DEBUG, mod, __VA_ARGS__); } while (0)

#endif
