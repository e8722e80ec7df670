/*
 * worker.h - the Kafka worker loop behind qg_worker_main (see stage.h).
 */
#ifndef QG_WORKER_H
#define QG_WORKER_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "events.h"
#include "stage.h"

typedef struct qg_worker_s qg_worker_t;

/** Create clients and subscribe. cfg must outlive the worker. */
qg_worker_t *qg_worker_new(const qg_stage_ops_t *ops, void *state, qg_config_t *cfg,
                           const char *worker_id, qg_events_t *events, char *errstr, size_t sz);
/** Loop until SIGTERM/SIGINT or a fatal error; drains and commits. Returns the exit code. */
int qg_worker_run(qg_worker_t *w);
/** Leave the group (consumer close) and free everything. */
void qg_worker_destroy(qg_worker_t *w);

/** The fatal error that ended qg_worker_run (class and message), or NULL. Owned by w. */
const qg_error_t *qg_worker_error(const qg_worker_t *w);

/** SIGTERM/SIGINT set the stop flag; SIGPIPE ignored. */
void qg_worker_install_signals(void);
int qg_worker_stopping(void);
/** Set (1) or clear (0) the stop flag, as a signal would (tests, embedding programs). */
void qg_worker_request_stop(int stop);

/** Default worker id: program/hostname/pid. */
void qg_worker_default_id(const char *program, char *buf, size_t sz);

#endif
