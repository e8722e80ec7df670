/*
 * ask.h - natural language -> QueryGoal, by pattern matching with templates.
 *
 * The templates live in a YAML file (config/goal-patterns.yaml, described in
 * docs/qgctl-ask.md): per goal type, regexes that recognise a request, rules
 * that extract its parameters (ids, quantities, dates), and what the goal
 * carries (pipelineStages, outputSpec, category, requiresModel, actionPlan).
 *
 *   qg_error_t *err = NULL;
 *   qg_ask_t *ask = qg_ask_load("config/goal-patterns.yaml", &err);
 *   qg_json_t *doc = NULL;
 *   err = qg_ask_build(ask, "Predict production time for product P-1001 quantity 50", &doc);
 *   ... qg_json_destroy(doc); qg_ask_destroy(ask);
 *
 * A qg_ask_t is immutable after loading and may be shared between threads
 * (regexec is thread-safe on a compiled pattern).
 */
#ifndef QG_ASK_H
#define QG_ASK_H

#include <time.h>

#include "error.h"
#include "json.h"

typedef struct qg_ask_s qg_ask_t;

/** Longest request accepted, in bytes. */
#define QG_ASK_MAX_TEXT 2048

/**
 * Load and compile a patterns file. Returns NULL and sets *err (bad_input,
 * naming the file, the YAML line where known, and the field) on failure.
 */
qg_ask_t *qg_ask_load(const char *patterns_file, qg_error_t **err);

/** Same, from YAML text in memory (`name` is used in messages). */
qg_ask_t *qg_ask_load_string(const char *yaml, size_t len, const char *name, qg_error_t **err);

void qg_ask_destroy(qg_ask_t *ask);

/**
 * Extra stage names (comma-separated, as config key pipeline.extra.stages)
 * accepted in a template's pipelineStages besides the builtin ones. Copied.
 * Returns 0, or -1 on allocation failure.
 */
int qg_ask_set_extra_stages(qg_ask_t *ask, const char *extra);

/**
 * Translate `text` into a full message document
 *   {"QueryGoal": {goalId, goalType, parameters[{key, value, type, required}],
 *                  outputSpec[], metadata{category, requiresModel, pipelineStages[],
 *                  actionPlan?, request, language, createdAt, source}}}
 * validated with qg_goal_validate. goalId is "<idPrefix>-<UTC yyyymmddThhmmssZ>-<8 hex>"
 * with 32 random bits. Relative dates ("yesterday", "어제") are resolved
 * against the current UTC day. On failure *doc_out is NULL and the error is
 * QG_ERR_BAD_INPUT: an unknown request lists what can be asked (with an
 * example per goal type); a missing required parameter says which and how.
 */
qg_error_t *qg_ask_build(const qg_ask_t *ask, const char *text, qg_json_t **doc_out);

/** qg_ask_build with a fixed clock (seconds since the epoch), for tests. */
qg_error_t *qg_ask_build_at(const qg_ask_t *ask, const char *text, time_t now, qg_json_t **doc_out);

/**
 * What can be asked: each goal type with its description, parameters and
 * example phrasings, as multi-line text for help output. Caller frees.
 * NULL on allocation failure.
 */
char *qg_ask_describe(const qg_ask_t *ask);

/** Number of goal types loaded (0 for NULL). */
size_t qg_ask_goal_count(const qg_ask_t *ask);

#endif
