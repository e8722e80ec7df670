/*
 * error.c - (class, message) errors in one allocation.
 */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qg_error_s {
    qg_error_class_t cls;
    int is_oom;
    char message[]; /* NUL-terminated */
};

static struct {
    qg_error_class_t cls;
    int is_oom;
    char message[16];
} error_oom_storage = {QG_ERR_FATAL, 1, "out of memory"};

qg_error_t *const qg_error_oom = (qg_error_t *)&error_oom_storage;

static const char *const class_names[] = {
    [QG_ERR_BAD_INPUT] = "bad_input",
    [QG_ERR_GATE_FAILED] = "gate_failed",
    [QG_ERR_STAGE_ERROR] = "stage_error",
    [QG_ERR_TRANSIENT] = "transient",
    [QG_ERR_TRANSIENT_EXHAUSTED] = "transient_exhausted",
    [QG_ERR_FATAL] = "fatal",
};

qg_error_t *qg_error_newv(qg_error_class_t cls, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    qg_error_t *err = malloc(sizeof(*err) + (size_t)n + 1);
    if (!err)
        return qg_error_oom;
    err->cls = cls;
    err->is_oom = 0;
    vsnprintf(err->message, (size_t)n + 1, fmt, ap);
    return err;
}

#define QG_ERROR_CONSTRUCTOR(fn, cls)                                                              \
    qg_error_t *fn(const char *fmt, ...)                                                           \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        qg_error_t *err = qg_error_newv(cls, fmt, ap);                                             \
        va_end(ap);                                                                                \
        return err;                                                                                \
    }

QG_ERROR_CONSTRUCTOR(qg_error_new_bad_input, QG_ERR_BAD_INPUT)
QG_ERROR_CONSTRUCTOR(qg_error_new_gate_failed, QG_ERR_GATE_FAILED)
QG_ERROR_CONSTRUCTOR(qg_error_new_stage_error, QG_ERR_STAGE_ERROR)
QG_ERROR_CONSTRUCTOR(qg_error_new_transient, QG_ERR_TRANSIENT)
QG_ERROR_CONSTRUCTOR(qg_error_new_fatal, QG_ERR_FATAL)

qg_error_t *qg_error_new_oom(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qg_error_t *err = qg_error_newv(QG_ERR_FATAL, fmt, ap);
    va_end(ap);
    if (err != qg_error_oom)
        err->is_oom = 1;
    return err;
}

qg_error_t *qg_error_new(qg_error_class_t cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qg_error_t *err = qg_error_newv(cls, fmt, ap);
    va_end(ap);
    return err;
}

void qg_error_first_at(qg_error_t **first, qg_error_class_t cls, const char *origin, size_t line,
                       size_t col, const char *fmt, ...)
{
    if (*first)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        *first = qg_error_new(cls, "%s:%zu:%zu: %s", origin, line, col, msg);
    else
        *first = qg_error_new(cls, "%s: %s", origin, msg);
}

void qg_error_first_oom(qg_error_t **first, const char *origin)
{
    if (!*first)
        *first = qg_error_new_oom("%s: out of memory", origin);
}

qg_error_t *qg_error_wrap(qg_error_t *err, const char *fmt, ...)
{
    if (!err || err == qg_error_oom)
        return err;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    qg_error_t *wrapped = qg_error_new(err->cls, "%s: %s", prefix, err->message);
    if (wrapped == qg_error_oom)
        return err; /* keep the original rather than lose it */
    wrapped->is_oom = err->is_oom;
    qg_error_destroy(err);
    return wrapped;
}

void qg_error_destroy(qg_error_t *err)
{
    if (err && err != qg_error_oom)
        free(err);
}

qg_error_class_t qg_error_class(const qg_error_t *err)
{
    return err ? err->cls : 0;
}

const char *qg_error_message(const qg_error_t *err)
{
    return err ? err->message : "";
}

int qg_error_is_oom(const qg_error_t *err)
{
    return err ? err->is_oom : 0;
}

int qg_error_is_fatal(const qg_error_t *err)
{
    return err && err->cls == QG_ERR_FATAL;
}

int qg_error_is_retriable(const qg_error_t *err)
{
    return err && err->cls == QG_ERR_TRANSIENT;
}

const char *qg_error_class_name(qg_error_class_t cls)
{
    if ((unsigned)cls < sizeof(class_names) / sizeof(class_names[0]) && class_names[cls])
        return class_names[cls];
    return "unknown";
}

int qg_error_class_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(class_names) / sizeof(class_names[0]); i++)
        if (class_names[i] && strcmp(class_names[i], name) == 0)
            return (int)i;
    return -1;
}
