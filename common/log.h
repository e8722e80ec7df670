/*
 * log.h - JSON-lines diagnostics on stderr.
 *
 * Each line: {"ts":"...","level":"info","component":"worker","msg":"...", ...}.
 * The level check happens in the macro, before any formatting.
 */
#ifndef QG_LOG_H
#define QG_LOG_H

typedef enum {
    QG_LOG_ERROR = 3,
    QG_LOG_WARN = 4,
    QG_LOG_INFO = 6,
    QG_LOG_DEBUG = 7,
} qg_log_level_t;

extern int qg_log_level;

/** Name used as "worker" in log lines (e.g. "qg-binding/host/1234"). */
void qg_log_set_worker(const char *worker_id);
int qg_log_level_from_name(const char *name); /* -1 if unknown */

void qg_log_write(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define qg_log(level, component, ...)                                                              \
    do {                                                                                           \
        if ((level) <= qg_log_level)                                                               \
            qg_log_write((level), (component), __VA_ARGS__);                                       \
    } while (0)

#define qg_err(component, ...)   qg_log(QG_LOG_ERROR, component, __VA_ARGS__)
#define qg_warn(component, ...)  qg_log(QG_LOG_WARN, component, __VA_ARGS__)
#define qg_info(component, ...)  qg_log(QG_LOG_INFO, component, __VA_ARGS__)
#define qg_debug(component, ...) qg_log(QG_LOG_DEBUG, component, __VA_ARGS__)

#endif
