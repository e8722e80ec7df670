/*
 * goal.c - QueryGoal validation, accessors, execution log and routing.
 */
#include "goal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"

const char *const qg_goal_builtin_stages[] = {
    "swrlSelection", "yamlBinding", "simulation", "aasQuery", "dataFiltering", NULL,
};

/* ---------- stage names ---------- */

static int in_comma_list(const char *name, const char *list)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == n && trimmed > 0 && strncmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

int qg_goal_stage_known(const char *name, const char *extra)
{
    if (!name)
        return 0;
    for (size_t i = 0; qg_goal_builtin_stages[i]; i++)
        if (strcmp(qg_goal_builtin_stages[i], name) == 0)
            return 1;
    return in_comma_list(name, extra);
}

/* ---------- validation ---------- */

#define BAD qg_error_new_bad_input

static qg_error_t *expect_type(const qg_json_t *v, qg_json_type_t t, const char *path)
{
    if (!v)
        return BAD("%s: required field is missing", path);
    if (!qg_json_is(v, t))
        return BAD("%s: expected %s, got %s", path, qg_json_type_name(t),
                   qg_json_type_name(qg_json_type(v)));
    return NULL;
}

static qg_error_t *expect_optional(const qg_json_t *v, qg_json_type_t t, const char *path)
{
    return v ? expect_type(v, t, path) : NULL;
}

static qg_error_t *expect_nonempty_string(const qg_json_t *v, const char *path)
{
    qg_error_t *err = expect_type(v, QG_JSON_STRING, path);
    if (!err && qg_json_strlen(v) == 0)
        err = BAD("%s: must not be empty", path);
    if (!err && strlen(qg_json_str(v)) != qg_json_strlen(v))
        err = BAD("%s: contains a NUL character", path);
    return err;
}

static qg_error_t *validate_parameters(const qg_json_t *params)
{
    qg_error_t *err = expect_optional(params, QG_JSON_ARRAY, "QueryGoal.parameters");
    for (size_t i = 0; !err && i < qg_json_len(params); i++) {
        const qg_json_t *p = qg_json_at(params, i);
        char path[96];
        snprintf(path, sizeof(path), "QueryGoal.parameters[%zu]", i);
        if ((err = expect_type(p, QG_JSON_OBJECT, path)))
            break;
        snprintf(path, sizeof(path), "QueryGoal.parameters[%zu].key", i);
        if ((err = expect_nonempty_string(qg_json_get(p, "key"), path)))
            break;
        if (!qg_json_get(p, "value")) {
            err = BAD("QueryGoal.parameters[%zu].value: required field is missing", i);
            break;
        }
        snprintf(path, sizeof(path), "QueryGoal.parameters[%zu].type", i);
        if ((err = expect_optional(qg_json_get(p, "type"), QG_JSON_STRING, path)))
            break;
        snprintf(path, sizeof(path), "QueryGoal.parameters[%zu].required", i);
        err = expect_optional(qg_json_get(p, "required"), QG_JSON_BOOL, path);
    }
    return err;
}

static qg_error_t *validate_pipeline(const qg_json_t *stages, const char *extra)
{
    qg_error_t *err = expect_type(stages, QG_JSON_ARRAY, "QueryGoal.metadata.pipelineStages");
    if (!err && qg_json_len(stages) == 0)
        err = BAD("QueryGoal.metadata.pipelineStages: must name at least one stage");
    for (size_t i = 0; !err && i < qg_json_len(stages); i++) {
        const qg_json_t *s = qg_json_at(stages, i);
        char path[96];
        snprintf(path, sizeof(path), "QueryGoal.metadata.pipelineStages[%zu]", i);
        if ((err = expect_nonempty_string(s, path)))
            break;
        if (!qg_goal_stage_known(qg_json_str(s), extra)) {
            err = BAD("%s: unknown stage \"%.64s\"", path, qg_json_str(s));
            break;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(qg_json_str(qg_json_at(stages, j)), qg_json_str(s)) == 0)
                return BAD("%s: stage \"%.64s\" appears twice", path, qg_json_str(s));
    }
    return err;
}

static qg_error_t *validate_metadata(const qg_json_t *md, const char *extra)
{
    qg_error_t *err = expect_type(md, QG_JSON_OBJECT, "QueryGoal.metadata");
    if (!err)
        err = expect_optional(qg_json_get(md, "category"), QG_JSON_STRING,
                              "QueryGoal.metadata.category");
    if (!err)
        err = expect_optional(qg_json_get(md, "requiresModel"), QG_JSON_BOOL,
                              "QueryGoal.metadata.requiresModel");
    if (!err)
        err = expect_optional(qg_json_get(md, "actionPlan"), QG_JSON_ARRAY,
                              "QueryGoal.metadata.actionPlan");
    if (!err)
        err = validate_pipeline(qg_json_get(md, "pipelineStages"), extra);
    return err;
}

static qg_error_t *validate_selected_model(const qg_json_t *sm)
{
    if (!sm || qg_json_is(sm, QG_JSON_NULL))
        return NULL;
    if (qg_json_is(sm, QG_JSON_STRING))
        return expect_nonempty_string(sm, "QueryGoal.selectedModel");
    if (qg_json_is(sm, QG_JSON_OBJECT))
        return expect_nonempty_string(qg_json_get(sm, "modelId"),
                                      "QueryGoal.selectedModel.modelId");
    return BAD("QueryGoal.selectedModel: expected string or object, got %s",
               qg_json_type_name(qg_json_type(sm)));
}

qg_error_t *qg_goal_validate(const qg_json_t *doc, const char *extra_stages)
{
    if (!qg_json_is(doc, QG_JSON_OBJECT))
        return BAD("$: expected a JSON object, got %s", qg_json_type_name(qg_json_type(doc)));
    const qg_json_t *q = qg_json_get(doc, "QueryGoal");
    qg_error_t *err = expect_type(q, QG_JSON_OBJECT, "QueryGoal");
    if (!err)
        err = expect_nonempty_string(qg_json_get(q, "goalId"), "QueryGoal.goalId");
    if (!err)
        err = expect_nonempty_string(qg_json_get(q, "goalType"), "QueryGoal.goalType");
    if (!err)
        err = validate_parameters(qg_json_get(q, "parameters"));
    if (!err)
        err = expect_optional(qg_json_get(q, "outputSpec"), QG_JSON_ARRAY, "QueryGoal.outputSpec");
    if (!err)
        err = validate_metadata(qg_json_get(q, "metadata"), extra_stages);
    if (!err)
        err = validate_selected_model(qg_json_get(q, "selectedModel"));
    if (!err)
        err = expect_optional(qg_json_get(q, "outputs"), QG_JSON_OBJECT, "QueryGoal.outputs");
    if (!err)
        err = expect_optional(qg_json_get(doc, "executionLog"), QG_JSON_OBJECT, "executionLog");
    if (!err)
        err = expect_optional(qg_json_path(doc, "executionLog.stages"), QG_JSON_ARRAY,
                              "executionLog.stages");
    return err;
}

qg_json_t *qg_goal_parse(const char *buf, size_t len, const char *extra_stages, qg_error_t **errp)
{
    qg_json_t *doc = qg_json_parse_classed(buf, len, errp);
    if (!doc)
        return NULL; /* bad_input, or out of memory: fatal, so the goal is redelivered */
    qg_error_t *err = qg_goal_validate(doc, extra_stages);
    if (err) {
        qg_json_destroy(doc);
        *errp = err;
        return NULL;
    }
    *errp = NULL;
    return doc;
}

/* ---------- accessors ---------- */

qg_json_t *qg_goal_query(const qg_json_t *doc)
{
    return qg_json_get(doc, "QueryGoal");
}

const char *qg_goal_id(const qg_json_t *doc)
{
    return qg_json_str(qg_json_get(qg_goal_query(doc), "goalId"));
}

const char *qg_goal_type(const qg_json_t *doc)
{
    return qg_json_str(qg_json_get(qg_goal_query(doc), "goalType"));
}

qg_json_t *qg_goal_pipeline(const qg_json_t *doc)
{
    return qg_json_path(qg_goal_query(doc), "metadata.pipelineStages");
}

qg_json_t *qg_goal_param(const qg_json_t *doc, const char *key)
{
    const qg_json_t *params = qg_json_get(qg_goal_query(doc), "parameters");
    for (size_t i = 0; key && i < qg_json_len(params); i++) {
        qg_json_t *p = qg_json_at(params, i);
        const char *k = qg_json_str(qg_json_get(p, "key"));
        if (k && strcmp(k, key) == 0)
            return p;
    }
    return NULL;
}

const char *qg_goal_param_text(const qg_json_t *doc, const char *key, char *buf, size_t bufsz)
{
    const qg_json_t *v = qg_json_get(qg_goal_param(doc, key), "value");
    switch (qg_json_type(v)) {
    case QG_JSON_STRING:
        return qg_json_str(v);
    case QG_JSON_NUMBER:
        if (qg_json_number_text(v))
            snprintf(buf, bufsz, "%s", qg_json_number_text(v));
        else
            snprintf(buf, bufsz, "%.15g", qg_json_num(v, 0));
        return buf;
    case QG_JSON_BOOL:
        snprintf(buf, bufsz, "%s", qg_json_truthy(v) ? "true" : "false");
        return buf;
    default:
        return NULL;
    }
}

/* ---------- routing ---------- */

const char *qg_goal_first_stage(const qg_json_t *doc)
{
    return qg_json_str(qg_json_at(qg_goal_pipeline(doc), 0));
}

const char *qg_goal_next_stage(const qg_json_t *doc, const char *current, int *not_in_pipeline)
{
    const qg_json_t *stages = qg_goal_pipeline(doc);
    *not_in_pipeline = 0;
    for (size_t i = 0; i < qg_json_len(stages); i++) {
        const char *s = qg_json_str(qg_json_at(stages, i));
        if (s && strcmp(s, current) == 0)
            return qg_json_str(qg_json_at(stages, i + 1));
    }
    *not_in_pipeline = 1;
    return NULL;
}

const char *qg_topic_stage(char *buf, size_t sz, const char *prefix, const char *stage)
{
    snprintf(buf, sz, "%s.%s", prefix, stage);
    return buf;
}

const char *qg_topic_retry(char *buf, size_t sz, const char *prefix, const char *stage)
{
    snprintf(buf, sz, "%s.%s.retry", prefix, stage);
    return buf;
}

const char *qg_topic_completed(char *buf, size_t sz, const char *prefix)
{
    snprintf(buf, sz, "%s.completed", prefix);
    return buf;
}

const char *qg_topic_dlq(char *buf, size_t sz, const char *prefix)
{
    snprintf(buf, sz, "%s.dlq", prefix);
    return buf;
}

const char *qg_group_for_stage(char *buf, size_t sz, const char *prefix, const char *stage)
{
    snprintf(buf, sz, "%s.%s.workers", prefix, stage);
    return buf;
}

const char *qg_retry_group_for_stage(char *buf, size_t sz, const char *prefix, const char *stage)
{
    snprintf(buf, sz, "%s.%s.retry.workers", prefix, stage);
    return buf;
}

/* ---------- execution log ---------- */

qg_json_t *qg_goal_exec_log(qg_json_t *doc)
{
    qg_json_t *log = qg_json_get(doc, "executionLog");
    if (log)
        return qg_json_is(log, QG_JSON_OBJECT) ? log : NULL;
    log = qg_json_get_or_add_object(doc, "executionLog");
    if (!log)
        return NULL;
    char ts[40];
    if (qg_json_set_str(log, "goalId", qg_goal_id(doc)) != 0 ||
        qg_json_set_str(log, "startTime", qg_iso_time(ts, sizeof(ts), qg_now_ms())) != 0 ||
        qg_json_set_str(log, "status", "running") != 0 || !qg_json_get_or_add_array(log, "stages"))
        return NULL;
    return log;
}

qg_json_t *qg_goal_stage_entry(const qg_json_t *doc, const char *stage)
{
    const qg_json_t *stages = qg_json_path(doc, "executionLog.stages");
    for (size_t i = qg_json_len(stages); i-- > 0;) {
        qg_json_t *e = qg_json_at(stages, i);
        const char *name = qg_json_str(qg_json_get(e, "stage"));
        const char *status = qg_json_str(qg_json_get(e, "status"));
        if (name && status && strcmp(name, stage) == 0 && strcmp(status, "completed") == 0)
            return e;
    }
    return NULL;
}

qg_json_t *qg_goal_stage_result(const qg_json_t *doc, const char *stage)
{
    return qg_json_get(qg_goal_stage_entry(doc, stage), "result");
}

static qg_json_t *gate_object(int passed, const char *reason)
{
    qg_json_t *gate = qg_json_object();
    if (gate && (qg_json_set_bool(gate, "passed", passed) != 0 ||
                 qg_json_set_str(gate, "reason", reason ? reason : "") != 0)) {
        qg_json_destroy(gate);
        return NULL;
    }
    return gate;
}

static int fill_entry(qg_json_t *e, const char *stage, const char *status, qg_json_t *result,
                      int gate_passed, const char *gate_reason, const qg_error_t *err,
                      double started_ms, double finished_ms, const char *worker)
{
    char t1[40], t2[40];
    int rc = 0;
    rc |= qg_json_set_str(e, "stage", stage);
    rc |= qg_json_set_str(e, "status", status);
    rc |= qg_json_set(e, "result", result ? result : qg_json_object());
    rc |= qg_json_set(e, "gate", gate_object(gate_passed, gate_reason));
    rc |= qg_json_set_str(e, "startedAt", qg_iso_time(t1, sizeof(t1), started_ms));
    rc |= qg_json_set_str(e, "finishedAt", qg_iso_time(t2, sizeof(t2), finished_ms));
    rc |= qg_json_set_num(e, "durationMs", finished_ms - started_ms);
    rc |= qg_json_set_str(e, "worker", worker ? worker : "");
    if (err) {
        qg_json_t *eo = qg_json_object();
        rc |= qg_json_set(e, "error", eo);
        rc |= qg_json_set_str(eo, "class", qg_error_class_name(qg_error_class(err)));
        rc |= qg_json_set_str(eo, "message", qg_error_message(err));
    }
    return rc ? -1 : 0;
}

int qg_goal_log_stage(qg_json_t *doc, const char *stage, const char *status, qg_json_t *result,
                      int gate_passed, const char *gate_reason, const qg_error_t *err,
                      double started_ms, double finished_ms, const char *worker, int is_last)
{
    qg_json_t *log = qg_goal_exec_log(doc);
    qg_json_t *stages = qg_json_get_or_add_array(log, "stages");
    qg_json_t *e = qg_json_object();
    if (!stages || !e || qg_json_append(stages, e) != 0) {
        qg_json_destroy(result);
        return -1;
    }
    if (fill_entry(e, stage, status, result, gate_passed, gate_reason, err, started_ms, finished_ms,
                   worker) != 0)
        return -1;
    char ts[40];
    qg_iso_time(ts, sizeof(ts), finished_ms);
    if (strcmp(status, "completed") != 0) {
        return qg_json_set_str(log, "status", "failed") |
               qg_json_set_str(log, "failedStage", stage) | qg_json_set_str(log, "endTime", ts);
    }
    qg_json_remove(log, "failedStage");
    if (is_last)
        return qg_json_set_str(log, "status", "completed") | qg_json_set_str(log, "endTime", ts);
    return qg_json_set_str(log, "status", "running");
}
