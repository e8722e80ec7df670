/*
 * process.h - what happens to one input record: the stage-independent
 * decision between next stage, completed, retry, dead letter or stop.
 * No Kafka here: the worker loop turns an outcome into produce calls.
 */
#ifndef QG_PROCESS_H
#define QG_PROCESS_H

#include <signal.h>
#include <stddef.h>

#include "stage.h"

typedef enum {
    QG_OUT_NEXT,      /* produce value to the next stage's topic */
    QG_OUT_COMPLETED, /* produce value to <prefix>.completed */
    QG_OUT_RETRY,     /* produce the input unchanged to <prefix>.<stage>.retry */
    QG_OUT_DLQ,       /* produce the input unchanged to <prefix>.dlq */
    QG_OUT_FATAL,     /* stop the worker without committing this record */
} qg_out_kind_t;

typedef struct {
    qg_out_kind_t kind;
    char *value; /* enriched goal for NEXT/COMPLETED (owned); NULL: forward input */
    size_t len;
    char next_stage[128]; /* NEXT */
    char goal_id[256];    /* empty when the input had none */
    qg_error_t *err;      /* RETRY/DLQ/FATAL: why */
    int attempts;         /* runs of this stage on this goal so far, this one included */
    int skipped;          /* log showed the stage done: forwarded without running */
    double run_ms;        /* time qg_process took */
} qg_outcome_t;

typedef struct {
    const qg_stage_ops_t *ops;
    void *state;
    const qg_config_t *cfg;
    const char *stage; /* effective stage name */
    const char *worker_id;
    size_t max_bytes;
    const char *extra_stages;
    int max_attempts; /* transient failures: attempts before transient_exhausted */
    volatile sig_atomic_t *cancel;
    struct qg_events_s *events;
} qg_processor_t;

/**
 * Decide the fate of one record. `attempt` is 1 for a record from the stage
 * topic, n for the (n-1)-th retry. Fills *out; call qg_outcome_clear after.
 */
void qg_process(const qg_processor_t *p, const void *value, size_t len, int attempt,
                qg_outcome_t *out);
void qg_outcome_clear(qg_outcome_t *out);
/** Count an emitted outcome in the process's metrics (qg_stage_records_total, _duration). */
void qg_outcome_count(const char *stage, const qg_outcome_t *out);

/**
 * Start a stage: load the goal types (goal.types.file, for the parameter
 * check at pipeline entry and for stages that read declarations), then the
 * stage's own init. Workers and `qgctl stage` call this, not ops->init.
 */
qg_error_t *qg_stage_init(const qg_stage_ops_t *ops, void **state, const qg_config_t *cfg);

/** The stage name a set of ops serves: ops->name, or config stage.name. */
const char *qg_stage_effective_name(const qg_stage_ops_t *ops, const qg_config_t *cfg);

#endif
