/*
 * stage.h - the one interface every pipeline stage implements.
 *
 * A stage is a const qg_stage_ops_t handed to qg_worker_main() (the Kafka
 * worker loop) or to `qgctl stage` (local runner). It never sees Kafka.
 *
 *   init    once at start: read configuration, load files. An error here
 *           stops the process before it joins its consumer group.
 *   run     once per goal: read the goal, fill ctx->result, optionally
 *           modify ctx->goal (selectedModel, outputs). Return NULL on
 *           success or an error whose class decides the goal's fate:
 *             QG_ERR_BAD_INPUT    -> DLQ, "bad_input"
 *             QG_ERR_STAGE_ERROR  -> DLQ, "stage_error"
 *             QG_ERR_TRANSIENT    -> retry topic, later DLQ "transient_exhausted"
 *             QG_ERR_FATAL        -> the worker stops without committing
 *   gate    after a successful run: may the goal go on? Writes a reason
 *           either way (shown in the execution log and the DLQ record).
 *   destroy at exit.
 *
 * `run` may be called from a thread other than the one that called init, but
 * never concurrently for one state.
 */
#ifndef QG_STAGE_H
#define QG_STAGE_H

#include <stddef.h>
#include <signal.h>

#include "config.h"
#include "error.h"
#include "json.h"

struct qg_events_s;

typedef struct qg_stage_ctx_s {
    const qg_config_t *cfg;
    const char *worker_id;
    const char *goal_id;
    qg_json_t *doc;             /* the whole message: {QueryGoal, executionLog, ...} */
    qg_json_t *goal;            /* doc.QueryGoal (modifiable) */
    qg_json_t *result;          /* this stage's result object (empty on entry), kept in the log */
    struct qg_events_s *events; /* progress publisher; NULL-safe to use */
    volatile sig_atomic_t *cancel; /* non-zero: abandon the run soon (shutdown/revoke) */
} qg_stage_ctx_t;

typedef struct qg_stage_ops_s {
    const char *name;           /* pipeline stage name: "swrlSelection" */
    const char *program;        /* binary name: "qg-selection" */
    const char *summary;        /* one line for --help */
    const qg_option_t *options; /* stage configuration keys, {NULL}-terminated; may be NULL */
    int long_running;           /* runs may take minutes: run off the poll thread */
    qg_error_t *(*init)(void **state, const qg_config_t *cfg);
    qg_error_t *(*run)(void *state, qg_stage_ctx_t *ctx);
    int (*gate)(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t reason_size);
    void (*destroy)(void *state);
} qg_stage_ops_t;

/** Kafka worker: parses argv, runs the loop until SIGTERM/SIGINT. Returns the exit code. */
int qg_worker_main(const qg_stage_ops_t *ops, int argc, char **argv);

/**
 * Run one stage on a document without Kafka: validate, run, gate, append the
 * execution-log entry. Returns NULL if the gate passed; otherwise the error
 * (class gate_failed for a failed gate). The document is enriched either way.
 */
qg_error_t *qg_stage_run_local(const qg_stage_ops_t *ops, void *state, const qg_config_t *cfg,
                               qg_json_t *doc, const char *worker_id, volatile sig_atomic_t *cancel,
                               struct qg_events_s *events);

#endif
