/*
 * log.c - JSON-lines diagnostics on stderr, one write(2) per line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goal.h"

int qg_log_level = QG_LOG_INFO;
static char log_worker[128];

void qg_log_set_worker(const char *worker_id)
{
    snprintf(log_worker, sizeof(log_worker), "%s", worker_id ? worker_id : "");
}

static const char *level_name(int level)
{
    switch (level) {
    case QG_LOG_ERROR:
        return "error";
    case QG_LOG_WARN:
        return "warn";
    case QG_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

int qg_log_level_from_name(const char *name)
{
    static const int levels[] = {QG_LOG_ERROR, QG_LOG_WARN, QG_LOG_INFO, QG_LOG_DEBUG};
    for (size_t i = 0; name && i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcmp(level_name(levels[i]), name) == 0)
            return levels[i];
    return -1;
}

/* Append s to buf[*pos..cap) as JSON string content; truncates safely. */
static void append_escaped(char *buf, size_t cap, size_t *pos, const char *s)
{
    for (; *s && *pos + 16 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = (char)c;
        } else if (c == '\n') {
            buf[(*pos)++] = '\\';
            buf[(*pos)++] = 'n';
        } else if (c < 0x20) {
            *pos += (size_t)snprintf(buf + *pos, cap - *pos, "\\u%04x", c);
        } else {
            buf[(*pos)++] = (char)c;
        }
    }
}

static void append_raw(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n >= cap)
        n = cap - *pos - 1;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

void qg_log_write(int level, const char *component, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[40];
    qg_iso_time(ts, sizeof(ts), qg_now_ms());

    char line[4096];
    size_t pos = 0;
    append_raw(line, sizeof(line), &pos, "{\"ts\":\"");
    append_raw(line, sizeof(line), &pos, ts);
    append_raw(line, sizeof(line), &pos, "\",\"level\":\"");
    append_raw(line, sizeof(line), &pos, level_name(level));
    append_raw(line, sizeof(line), &pos, "\",\"component\":\"");
    append_escaped(line, sizeof(line), &pos, component ? component : "");
    if (log_worker[0]) {
        append_raw(line, sizeof(line), &pos, "\",\"worker\":\"");
        append_escaped(line, sizeof(line), &pos, log_worker);
    }
    append_raw(line, sizeof(line), &pos, "\",\"msg\":\"");
    append_escaped(line, sizeof(line), &pos, msg);
    append_raw(line, sizeof(line), &pos, "\"}\n");
    ssize_t ignored = write(STDERR_FILENO, line, pos);
    (void)ignored;
}
