/*
 * stage.c - the dataFiltering stage: the goal type's declarative filter over
 * the previous stage's records, producing the goal's outputs (filter.h).
 *
 * Input: the execution-log result of the stage before this one in the goal's
 * pipeline (aasQuery): `records` inline or `recordsRef` (claim check).
 * Output: QueryGoal.outputs gets every output the filter makes; the result
 * keeps {goalType, input, sets: {name: count}, outputs: [names], missing?}.
 * Gate: every outputSpec entry is in outputs with its datatype.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "filter.h"
#include "goal.h"
#include "goaltype.h"
#include "log.h"
#include "stage.h"

#define COMPONENT "datafiltering"

typedef struct {
    const char *claims_dir;
    size_t max_bytes;
} qg_datafiltering_t;

static const qg_option_t qg_datafiltering_options[] = {
    QG_OPT_STR("datafiltering.claims.dir", NULL,
               "record sets passed by claim check must lie below this directory"),
    QG_OPT_INT("datafiltering.records.max.bytes", "268435456", 1024, 4294967296LL,
               "largest claim-checked record set read"),
    QG_OPT_END,
};

static qg_error_t *qg_datafiltering_init(void **state, const qg_config_t *cfg)
{
    qg_datafiltering_t *f = calloc(1, sizeof(*f));
    if (!f)
        return qg_error_new(QG_ERR_FATAL, "out of memory");
    const char *dir = qg_config_get(cfg, "datafiltering.claims.dir");
    f->claims_dir = dir && *dir ? dir : NULL;
    f->max_bytes = (size_t)qg_config_int(cfg, "datafiltering.records.max.bytes");
    if (!qg_goaltypes_current())
        qg_warn(COMPONENT, "no goal types loaded: every goal will be refused (goal.types.file)");
    *state = f;
    return NULL;
}

static void qg_datafiltering_destroy(void *state)
{
    free(state);
}

/* The stage before this one in the goal's pipeline. */
static const char *previous_stage(const qg_json_t *doc, const char *self)
{
    const qg_json_t *stages = qg_goal_pipeline(doc);
    for (size_t i = 1; i < qg_json_len(stages); i++)
        if (!strcmp(qg_json_str(qg_json_at(stages, i)), self))
            return qg_json_str(qg_json_at(stages, i - 1));
    return NULL;
}

/* The previous stage's records: inline (borrowed into *owned = NULL) or read from the claim. */
static qg_error_t *read_records(const qg_datafiltering_t *f, const qg_stage_ctx_t *ctx,
                                const qg_json_t **records, qg_json_t **owned)
{
    const char *prev = previous_stage(ctx->doc, "dataFiltering");
    const qg_json_t *res = prev ? qg_goal_stage_result(ctx->doc, prev) : NULL;
    *owned = NULL;
    if (!res)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "executionLog: no completed stage before dataFiltering with records");
    qg_json_set_str(ctx->result, "input", prev);
    *records = qg_json_get(res, "records");
    if (qg_json_is(*records, QG_JSON_OBJECT))
        return NULL;
    const qg_json_t *ref = qg_json_get(res, "recordsRef");
    if (!ref)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "executionLog: the %s result has no records or "
                            "recordsRef",
                            prev);
    const qg_claim_reader_t rd = {
        .dir = f->claims_dir,
        .dir_key = "datafiltering.claims.dir",
        .max_bytes = f->max_bytes,
        .max_key = "datafiltering.records.max.bytes",
        .what = "recordsRef",
    };
    qg_error_t *err = qg_claim_load(&rd, ref, owned);
    *records = *owned;
    return err;
}

/* The goal's `date` parameter as a range (the aasQuery stage refused bad ones already). */
static const qg_time_range_t *goal_range(const qg_stage_ctx_t *ctx, qg_time_range_t *r)
{
    char buf[128];
    const char *text = qg_goal_param_text(ctx->doc, "date", buf, sizeof(buf));
    return text && *text && qg_time_range_parse(text, qg_now_ms(), r) == 0 ? r : NULL;
}

/* outputs -> QueryGoal.outputs (merged: members of other stages stay). */
static qg_error_t *publish(qg_stage_ctx_t *ctx, qg_json_t *outputs)
{
    qg_json_t *goal_out = qg_json_get_or_add_object(ctx->goal, "outputs");
    qg_json_t *names = qg_json_get_or_add_array(ctx->result, "outputs");
    if (!goal_out || !names)
        return qg_error_oom;
    for (size_t i = 0; i < qg_json_len(outputs); i++) {
        const char *name = qg_json_key_at(outputs, i);
        if (qg_json_set(goal_out, name, qg_json_clone(qg_json_at(outputs, i))) != 0 ||
            qg_json_append(names, qg_json_string(name)) != 0)
            return qg_error_oom;
    }
    return NULL;
}

static qg_error_t *qg_datafiltering_run(void *state, qg_stage_ctx_t *ctx)
{
    const qg_datafiltering_t *f = state;
    const char *type = qg_goal_type(ctx->doc);
    const qg_json_t *spec = qg_json_get(qg_goaltypes_find(qg_goaltypes_current(), type), "filter");
    if (!spec)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "QueryGoal.goalType: %s declares no filter for dataFiltering", type);
    qg_json_set_str(ctx->result, "goalType", type);
    const qg_json_t *records = NULL;
    qg_json_t *owned = NULL, *outputs = NULL, *missing = NULL, *sets = NULL;
    qg_time_range_t range;
    qg_error_t *err = read_records(f, ctx, &records, &owned);
    if (!err) {
        qg_filter_input_t in = {spec, ctx->doc, records, goal_range(ctx, &range)};
        err = qg_filter_run(&in, &outputs, &missing, &sets);
    }
    if (!err)
        err = publish(ctx, outputs);
    if (!err && qg_json_set(ctx->result, "sets", sets) == 0)
        sets = NULL;
    if (!err && qg_json_len(missing) && qg_json_set(ctx->result, "missing", missing) == 0)
        missing = NULL;
    qg_json_destroy(owned);
    qg_json_destroy(outputs);
    qg_json_destroy(missing);
    qg_json_destroy(sets);
    return err;
}

/* JSON type names as outputSpec writes them. */
static int datatype_matches(const char *datatype, const qg_json_t *v)
{
    if (!datatype)
        return 1;
    if (!strcmp(datatype, "number") || !strcmp(datatype, "integer"))
        return qg_json_is(v, QG_JSON_NUMBER);
    if (!strcmp(datatype, "array"))
        return qg_json_is(v, QG_JSON_ARRAY);
    if (!strcmp(datatype, "object"))
        return qg_json_is(v, QG_JSON_OBJECT);
    if (!strcmp(datatype, "string"))
        return qg_json_is(v, QG_JSON_STRING);
    if (!strcmp(datatype, "boolean"))
        return qg_json_is(v, QG_JSON_BOOL);
    return 1;
}

/* Every output the goal's outputSpec asks for is there, with its datatype. */
static int qg_datafiltering_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t size)
{
    const qg_json_t *spec = qg_json_get(ctx->goal, "outputSpec");
    const qg_json_t *outputs = qg_json_get(ctx->goal, "outputs");
    const qg_json_t *missing = qg_json_get(ctx->result, "missing");
    (void)state;
    for (size_t i = 0; i < qg_json_len(spec); i++) {
        const qg_json_t *s = qg_json_at(spec, i);
        const char *name = qg_json_str(s) ? qg_json_str(s) : qg_json_str(qg_json_get(s, "name"));
        const char *datatype = qg_json_str(qg_json_get(s, "datatype"));
        const qg_json_t *v = qg_json_get(outputs, name ? name : "");
        if (!v) {
            const char *why = qg_json_str(qg_json_get(missing, name ? name : ""));
            snprintf(reason, size, "outputs.%s is missing%s%s", name ? name : "?", why ? ": " : "",
                     why ? why : "");
            return 0;
        }
        if (!datatype_matches(datatype, v)) {
            snprintf(reason, size, "outputs.%s: expected %s, got %s", name, datatype,
                     qg_json_type_name(qg_json_type(v)));
            return 0;
        }
    }
    snprintf(reason, size, "%zu outputs, all %zu in outputSpec present", qg_json_len(outputs),
             qg_json_len(spec));
    return 1;
}

const qg_stage_ops_t qg_stage_datafiltering = {
    .name = "dataFiltering",
    .program = "qg-datafiltering",
    .summary = "filter the previous stage's records into the goal's outputs",
    .options = qg_datafiltering_options,
    .init = qg_datafiltering_init,
    .run = qg_datafiltering_run,
    .gate = qg_datafiltering_gate,
    .destroy = qg_datafiltering_destroy,
};
