/*
 * goal.h - the QueryGoal message: validation, accessors, execution log, routing.
 *
 * A message is one JSON object:
 *   { "QueryGoal":    { goalId, goalType, parameters[], outputSpec[], metadata{...},
 *                       selectedModel?, outputs?, ...user fields },
 *     "executionLog": { goalId, startTime, status, stages[], failedStage?, endTime? },
 *     ...any other top-level fields, kept as they are }
 * Schema: schemas/querygoal.schema.json.
 */
#ifndef QG_GOAL_H
#define QG_GOAL_H

#include <stddef.h>

#include "error.h"
#include "json.h"

/** Stage names every worker accepts in pipelineStages. */
extern const char *const qg_goal_builtin_stages[];

/**
 * Is `name` a known stage? Builtin names, plus the comma-separated list in
 * `extra` (configuration key pipeline.extra.stages), may be NULL.
 */
int qg_goal_stage_known(const char *name, const char *extra);

/**
 * Parse a message value and validate it. On failure returns NULL and a
 * bad_input error whose message names the JSON path. A bare QueryGoal object
 * (without the "QueryGoal" wrapper) is not accepted: the seed shape is wrapped.
 */
qg_json_t *qg_goal_parse(const char *buf, size_t len, const char *extra_stages, qg_error_t **errp);

/** Validate a parsed document; NULL if valid, else a bad_input error naming the path. */
qg_error_t *qg_goal_validate(const qg_json_t *doc, const char *extra_stages);

/* Accessors (NULL-safe). */
qg_json_t *qg_goal_query(const qg_json_t *doc); /* doc.QueryGoal */
const char *qg_goal_id(const qg_json_t *doc);
const char *qg_goal_type(const qg_json_t *doc);
qg_json_t *qg_goal_pipeline(const qg_json_t *doc); /* metadata.pipelineStages */
/** The parameter object {key, value, ...} with this key, or NULL. */
qg_json_t *qg_goal_param(const qg_json_t *doc, const char *key);
/** The parameter's value as text (strings as is, numbers/bools spelled), or NULL. */
const char *qg_goal_param_text(const qg_json_t *doc, const char *key, char *buf, size_t bufsz);

/**
 * Routing: the stage after `current` in the goal's own pipelineStages, or
 * NULL when `current` is the last one (the goal is complete). If `current`
 * is not in the pipeline, returns NULL and sets *not_in_pipeline.
 */
const char *qg_goal_next_stage(const qg_json_t *doc, const char *current, int *not_in_pipeline);
const char *qg_goal_first_stage(const qg_json_t *doc);

/* Topic names. Write into buf; return buf. */
const char *qg_topic_stage(char *buf, size_t sz, const char *prefix, const char *stage);
const char *qg_topic_retry(char *buf, size_t sz, const char *prefix, const char *stage);
const char *qg_topic_completed(char *buf, size_t sz, const char *prefix);
const char *qg_topic_dlq(char *buf, size_t sz, const char *prefix);
const char *qg_group_for_stage(char *buf, size_t sz, const char *prefix, const char *stage);
/** Group of the stage's retry consumers: <prefix>.<stage>.retry.workers. */
const char *qg_retry_group_for_stage(char *buf, size_t sz, const char *prefix, const char *stage);

/* Execution log. */
/** executionLog, created with goalId/startTime/status "running" if absent. */
qg_json_t *qg_goal_exec_log(qg_json_t *doc);
/** Did a log entry for `stage` finish with status "completed"? Returns that entry. */
qg_json_t *qg_goal_stage_entry(const qg_json_t *doc, const char *stage);
/** The `result` of the completed entry for `stage`, or NULL. */
qg_json_t *qg_goal_stage_result(const qg_json_t *doc, const char *stage);

/**
 * Append a stage entry: {stage, status, result, gate{passed, reason}, startedAt,
 * finishedAt, durationMs, worker, error?}. `result` is consumed (may be NULL).
 * status: "completed" or "failed". Also updates executionLog.status /
 * failedStage / endTime: "failed" -> status failed, failedStage, endTime;
 * completed and `is_last` -> status "completed", endTime.
 */
int qg_goal_log_stage(qg_json_t *doc, const char *stage, const char *status, qg_json_t *result,
                      int gate_passed, const char *gate_reason, const qg_error_t *err,
                      double started_ms, double finished_ms, const char *worker, int is_last);

/** Wall clock in milliseconds since the epoch. */
double qg_now_ms(void);
/** ISO-8601 UTC with milliseconds: "2026-11-24T04:08:05.123Z". */
const char *qg_iso_time(char *buf, size_t sz, double epoch_ms);

#endif
