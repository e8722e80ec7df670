/*
 * process.c - run a stage on one record and decide where the record goes.
 */
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "goal.h"
#include "goaltype.h"
#include "log.h"
#include "metrics.h"

const char *qg_stage_effective_name(const qg_stage_ops_t *ops, const qg_config_t *cfg)
{
    return ops->name ? ops->name : qg_config_get(cfg, "stage");
}

qg_error_t *qg_stage_run_local(const qg_stage_ops_t *ops, void *state, const qg_config_t *cfg,
                               qg_json_t *doc, const char *worker_id, volatile sig_atomic_t *cancel,
                               struct qg_events_s *events)
{
    const char *stage = qg_stage_effective_name(ops, cfg);
    int not_in_pipeline;
    const char *next = qg_goal_next_stage(doc, stage, &not_in_pipeline);
    if (not_in_pipeline)
        return qg_error_new_bad_input(
            "QueryGoal.metadata.pipelineStages: stage \"%s\" is not in this "
            "goal's pipeline",
            stage);
    const char *first = qg_goal_first_stage(doc);
    if (first && !strcmp(first, stage)) {
        /* Pipeline entry: the goal's parameters against its type's declaration. */
        qg_error_t *bad = qg_goaltypes_check_goal(qg_goaltypes_current(), doc);
        if (bad)
            return bad;
    }
    qg_stage_ctx_t ctx = {
        .cfg = cfg,
        .worker_id = worker_id,
        .goal_id = qg_goal_id(doc),
        .doc = doc,
        .goal = qg_goal_query(doc),
        .result = qg_json_object(),
        .events = events,
        .cancel = cancel,
    };
    if (!ctx.result)
        return qg_error_oom;
    qg_events_stage(events, ctx.goal_id, stage, "started", NULL);
    double started = qg_now_ms();
    qg_error_t *err = ops->run(state, &ctx);
    char reason[1024] = "";
    int passed = 0;
    if (!err) {
        passed = ops->gate(state, &ctx, reason, sizeof(reason));
        if (!passed)
            err = qg_error_new_gate_failed("gate failed: %s", reason);
    } else {
        snprintf(reason, sizeof(reason), "not evaluated: %s", qg_error_message(err));
    }
    double finished = qg_now_ms();
    if (qg_goal_log_stage(doc, stage, err ? "failed" : "completed", ctx.result, passed, reason, err,
                          started, finished, worker_id, next == NULL) != 0 &&
        !err)
        err = qg_error_new_oom("out of memory writing the execution log");
    qg_events_stage(events, ctx.goal_id, stage, err ? "failed" : "completed",
                    err ? qg_error_message(err) : reason);
    return err;
}

qg_error_t *qg_stage_init(const qg_stage_ops_t *ops, void **state, const qg_config_t *cfg)
{
    qg_error_t *err = qg_goaltypes_use(cfg);
    *state = NULL;
    if (!err && ops->init)
        err = ops->init(state, cfg);
    return err;
}

static void outcome_error(qg_outcome_t *out, qg_out_kind_t kind, qg_error_t *err)
{
    out->kind = kind;
    out->err = err;
}

/* Successful run (or skip): serialize and route by the goal's own pipeline. */
static void outcome_route(const qg_processor_t *p, qg_json_t *doc, qg_outcome_t *out)
{
    int not_in_pipeline;
    const char *next = qg_goal_next_stage(doc, p->stage, &not_in_pipeline);
    if (!out->skipped) {
        out->value = qg_json_serialize(doc, 0, &out->len);
        if (!out->value) {
            outcome_error(out, QG_OUT_FATAL, qg_error_new_oom("out of memory"));
            return;
        }
    }
    if (next) {
        out->kind = QG_OUT_NEXT;
        snprintf(out->next_stage, sizeof(out->next_stage), "%s", next);
    } else {
        out->kind = QG_OUT_COMPLETED;
    }
}

/* A failed run: retry transient failures while attempts remain, dead-letter the rest. */
static void outcome_failure(const qg_processor_t *p, qg_error_t *err, qg_outcome_t *out)
{
    switch (qg_error_class(err)) {
    case QG_ERR_TRANSIENT:
        if (out->attempts < p->max_attempts) {
            outcome_error(out, QG_OUT_RETRY, err);
            return;
        }
        outcome_error(out, QG_OUT_DLQ,
                      qg_error_new(QG_ERR_TRANSIENT_EXHAUSTED, "gave up after %d attempts: %s",
                                   out->attempts, qg_error_message(err)));
        qg_error_destroy(err);
        return;
    case QG_ERR_FATAL:
        outcome_error(out, QG_OUT_FATAL, err);
        return;
    default:
        outcome_error(out, QG_OUT_DLQ, err);
        return;
    }
}

static void process_record(const qg_processor_t *p, const void *value, size_t len, int attempt,
                           qg_outcome_t *out)
{
    out->attempts = attempt;
    if (len > p->max_bytes) {
        outcome_error(out, QG_OUT_DLQ,
                      qg_error_new_bad_input("value of %zu bytes exceeds goal.max.bytes (%zu)", len,
                                             p->max_bytes));
        return;
    }
    qg_error_t *err = NULL;
    qg_json_t *doc = qg_goal_parse(value ? value : "", len, p->extra_stages, &err);
    if (!doc) {
        outcome_error(out, QG_OUT_DLQ, err);
        return;
    }
    snprintf(out->goal_id, sizeof(out->goal_id), "%s", qg_goal_id(doc));
    if (qg_goal_stage_entry(doc, p->stage)) {
        /* Redelivered after this stage already ran: forward, never run twice. */
        out->skipped = 1;
        outcome_route(p, doc, out);
    } else {
        err = qg_stage_run_local(p->ops, p->state, p->cfg, doc, p->worker_id, p->cancel, p->events);
        if (err)
            outcome_failure(p, err, out);
        else
            outcome_route(p, doc, out);
    }
    qg_json_destroy(doc);
}

void qg_process(const qg_processor_t *p, const void *value, size_t len, int attempt,
                qg_outcome_t *out)
{
    double started = qg_now_ms();
    memset(out, 0, sizeof(*out));
    process_record(p, value, len, attempt, out);
    out->run_ms = qg_now_ms() - started;
}

static const char *outcome_name(qg_out_kind_t kind)
{
    switch (kind) {
    case QG_OUT_NEXT:
        return "next";
    case QG_OUT_COMPLETED:
        return "completed";
    case QG_OUT_RETRY:
        return "retry";
    case QG_OUT_DLQ:
        return "dlq";
    default:
        return "fatal";
    }
}

void qg_outcome_count(const char *stage, const qg_outcome_t *out)
{
    qg_metrics_t *m = qg_metrics_global();
    char labels[QG_METRICS_MAX_LABELS];
    const char *cls = out->err ? qg_error_class_name(qg_error_class(out->err)) : "";
    qg_metrics_counter_add(m, "qg_stage_records_total",
                           "Records a stage worker handled, by outcome (next, completed, retry, "
                           "dlq) and error class.",
                           qg_metrics_labels(labels, sizeof(labels), "stage", stage, "outcome",
                                             outcome_name(out->kind), "class", cls, NULL),
                           1);
    qg_metrics_observe(m, "qg_stage_duration_seconds",
                       "Time a stage worker spent on one record (validation, run, gate).",
                       qg_metrics_labels(labels, sizeof(labels), "stage", stage, NULL),
                       out->run_ms / 1000.0);
}

void qg_outcome_clear(qg_outcome_t *out)
{
    free(out->value);
    qg_error_destroy(out->err);
    memset(out, 0, sizeof(*out));
}
