/*
 * error.h - errors returned up the stack as (class, message).
 *
 * A stage or library function that fails returns a qg_error_t describing
 * what went wrong and how the caller should react: the class decides whether
 * the goal is dead-lettered (bad_input, gate_failed, stage_error), retried
 * later (transient) or the process must stop (fatal).
 *
 * One allocation holds the struct and the message. Accessors accept NULL.
 */
#ifndef QG_ERROR_H
#define QG_ERROR_H

#include <stdarg.h>

typedef enum {
    QG_ERR_BAD_INPUT = 1,       /* the goal itself is wrong: never retry */
    QG_ERR_GATE_FAILED,         /* stage ran, its gate said no */
    QG_ERR_STAGE_ERROR,         /* stage could not produce a result (permanent) */
    QG_ERR_TRANSIENT,           /* try again later (server down, timeout, 5xx) */
    QG_ERR_TRANSIENT_EXHAUSTED, /* transient, and no attempts left */
    QG_ERR_FATAL,               /* this process cannot go on */
} qg_error_class_t;

typedef struct qg_error_s qg_error_t;

qg_error_t *qg_error_new(qg_error_class_t cls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
qg_error_t *qg_error_newv(qg_error_class_t cls, const char *fmt, va_list ap);
/** Prefix the message: "context: old message". Returns the (possibly new) error. */
qg_error_t *qg_error_wrap(qg_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void qg_error_destroy(qg_error_t *err);

qg_error_class_t qg_error_class(const qg_error_t *err); /* 0 for NULL */
const char *qg_error_message(const qg_error_t *err);    /* "" for NULL */
/** "bad_input", "gate_failed", "stage_error", "transient", "transient_exhausted", "fatal". */
const char *qg_error_class_name(qg_error_class_t cls);
int qg_error_class_from_name(const char *name); /* -1 if unknown */

/** Static error used when allocating an error fails; destroy is a no-op on it. */
extern qg_error_t *const qg_error_oom;

#endif
