/*
 * error.h - errors returned up the stack as (class, message).
 *
 * A stage or library function that fails returns a qg_error_t describing
 * what went wrong and how the caller should react: the class decides whether
 * the goal is dead-lettered (bad_input, gate_failed, stage_error), retried
 * later (transient) or the process must stop (fatal).
 *
 * One allocation holds the struct and the message. Accessors accept NULL.
 *
 * Out of memory is decided once, here: qg_error_new_oom makes a fatal error, so a
 * worker stops without committing and the goal is redelivered to a worker that has
 * memory. A goal is never dead-lettered because a worker ran out of memory.
 */
#ifndef QG_ERROR_H
#define QG_ERROR_H

#include <stdarg.h>
#include <stddef.h>

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
/* One constructor per class (printf-style message). */
qg_error_t *qg_error_new_bad_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
qg_error_t *qg_error_new_gate_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
qg_error_t *qg_error_new_stage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
qg_error_t *qg_error_new_transient(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
qg_error_t *qg_error_new_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Out of memory: class fatal, marked (qg_error_is_oom). The message says where. */
qg_error_t *qg_error_new_oom(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * The first error of a parse, with its position: sets *first to
 * "origin:line:col: message" (line 0: "origin: message") of class cls, unless
 * *first already holds an error (the first one is what the reader needs).
 */
void qg_error_first_at(qg_error_t **first, qg_error_class_t cls, const char *origin, size_t line,
                       size_t col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/** The same for running out of memory while parsing origin (qg_error_new_oom). */
void qg_error_first_oom(qg_error_t **first, const char *origin);

/** Prefix the message: "context: old message". Returns the (possibly new) error. */
qg_error_t *qg_error_wrap(qg_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void qg_error_destroy(qg_error_t *err);

qg_error_class_t qg_error_class(const qg_error_t *err); /* 0 for NULL */
const char *qg_error_message(const qg_error_t *err);    /* "" for NULL */
int qg_error_is_oom(const qg_error_t *err);             /* made by qg_error_new_oom */
/** The process must stop (fatal, including out of memory); the goal is redelivered. */
int qg_error_is_fatal(const qg_error_t *err);
/** Worth trying again later (transient). */
int qg_error_is_retriable(const qg_error_t *err);
/** "bad_input", "gate_failed", "stage_error", "transient", "transient_exhausted", "fatal". */
const char *qg_error_class_name(qg_error_class_t cls);
int qg_error_class_from_name(const char *name); /* -1 if unknown */

/** Static out-of-memory error used when allocating an error fails; destroy is a no-op on it. */
extern qg_error_t *const qg_error_oom;

#endif
