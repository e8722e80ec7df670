/*
 * stage.c - the aasQuery stage: read what the goal type's query manifest
 * names from the AAS server and keep the raw records in the execution log.
 *
 * The goal type's declaration (goal.types.file) names the manifest with
 * `queryManifest` (relative to the declaration file's directory, and inside
 * it). The manifest has the binding format (lib/aas/manifest.h) and runs on
 * the same plan machinery: placeholders, shell filters, one request per
 * distinct submodel. Sources with `time_field` keep only the records inside
 * the goal's time range, taken from its `date` parameter ("2026-11-29",
 * "yesterday", "last 24 h").
 *
 * Result (ctx->result):
 *   { manifest, goalType, timeRange?: {from, to, parameter}, sources: {<name>:
 *     {ok, required, records, dropped?, error?, errorClass?}},
 *     records: {<output stem>: [...]} | recordsRef: {path, sha256, bytes},
 *     recordsBytes, requests, submodels, warnings[] }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aas/aas.h"
#include "aas/plan.h"
#include "claim.h"
#include "events.h"
#include "goal.h"
#include "goaltype.h"
#include "log.h"
#include "stage.h"
#include "timerange.h"

#define COMPONENT "aasquery"

typedef struct {
    qg_aas_client_t *aas;
    const char *shared_dir;
    size_t inline_max;
} qg_aasquery_t;

static const qg_option_t qg_aasquery_options[] = {
    QG_AAS_OPTIONS,
    QG_OPT_INT("aasquery.inline.max.bytes", "524288", 0, 104857600,
               "largest record set carried inline in the goal; larger ones go to "
               "aasquery.shared.dir"),
    QG_OPT_STR("aasquery.shared.dir", NULL,
               "directory shared with dataFiltering workers for large record sets"),
    QG_OPT_END,
};

static void qg_aasquery_destroy(void *state)
{
    qg_aasquery_t *q = state;
    if (!q)
        return;
    qg_aas_client_destroy(q->aas);
    free(q);
}

static qg_error_t *qg_aasquery_init(void **state, const qg_config_t *cfg)
{
    qg_aasquery_t *q = calloc(1, sizeof(*q));
    if (!q)
        return qg_error_new(QG_ERR_FATAL, "out of memory");
    const char *dir = qg_config_get(cfg, "aasquery.shared.dir");
    q->shared_dir = dir && *dir ? dir : NULL;
    q->inline_max = (size_t)qg_config_int(cfg, "aasquery.inline.max.bytes");
    if (!qg_goaltypes_current())
        qg_warn(COMPONENT, "no goal types loaded: every goal will be refused (goal.types.file)");
    qg_error_t *err = qg_aas_client_from_config(cfg, &q->aas);
    if (err) {
        qg_aasquery_destroy(q);
        return err;
    }
    *state = q;
    return NULL;
}

/* ---- the manifest ---- */

static qg_error_t *qg_aasquery_manifest(const qg_stage_ctx_t *ctx, qg_manifest_t **m)
{
    const qg_goaltypes_t *gt = qg_goaltypes_current();
    const char *type = qg_goal_type(ctx->doc);
    const qg_json_t *decl = qg_goaltypes_find(gt, type);
    const char *file = qg_json_str(qg_json_get(decl, "queryManifest"));
    char *path = NULL;

    if (!decl)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "QueryGoal.goalType: %s is not declared in the goal types file", type);
    if (!file)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "QueryGoal.goalType: %s declares no queryManifest for aasQuery", type);
    qg_error_t *err = qg_manifest_resolve_path(qg_goaltypes_dir(gt), file, &path);
    if (!err)
        err = qg_manifest_load(path, m);
    if (!err) {
        qg_json_set_str(ctx->result, "manifest", path);
        qg_json_set_str(ctx->result, "goalType", type);
    }
    free(path);
    return err;
}

/* ---- the time range ---- */

/* The goal's `date` parameter as a range; *has = 0 when the goal gives none. */
static qg_error_t *qg_aasquery_range(const qg_stage_ctx_t *ctx, qg_time_range_t *r, int *has)
{
    char buf[128], from[40], to[40];
    const char *text = qg_goal_param_text(ctx->doc, "date", buf, sizeof(buf));

    *has = 0;
    if (!text || !*text)
        return NULL;
    if (qg_time_range_parse(text, qg_now_ms(), r) != 0)
        return qg_error_new(QG_ERR_BAD_INPUT,
                            "QueryGoal.parameters (date): \"%s\" is not a date or a range", text);
    *has = 1;
    qg_json_t *o = qg_json_object();
    qg_json_set_str(o, "from", qg_iso_time(from, sizeof(from), r->from_ms));
    qg_json_set_str(o, "to", qg_iso_time(to, sizeof(to), r->to_ms));
    qg_json_set_str(o, "parameter", text);
    return qg_json_set(ctx->result, "timeRange", o) == 0 ? NULL : qg_error_oom;
}

/* Keep the records whose time_field lies in the range: *records is replaced, *dropped counted. */
static qg_error_t *qg_aasquery_keep_range(qg_json_t **records, const char *field,
                                          const qg_time_range_t *r, size_t *dropped)
{
    *dropped = 0;
    if (!qg_json_is(*records, QG_JSON_ARRAY))
        return NULL;
    qg_json_t *kept = qg_json_array();
    for (size_t i = 0; kept && i < qg_json_len(*records); i++) {
        const qg_json_t *rec = qg_json_at(*records, i);
        double ms;
        int is_date;
        const char *t = qg_json_str(qg_json_get(rec, field));
        if (t && qg_time_parse(t, &ms, &is_date) == 0 && qg_time_range_contains(r, ms)) {
            if (qg_json_append(kept, qg_json_clone(rec)) != 0)
                return qg_error_oom;
        } else {
            (*dropped)++;
        }
    }
    if (!kept)
        return qg_error_oom;
    qg_json_destroy(*records);
    *records = kept;
    return NULL;
}

/* ---- result ---- */

static qg_json_t *qg_aasquery_source_entry(const qg_bsrc_t *bs, size_t dropped, int ranged)
{
    qg_json_t *e = qg_json_object();
    if (!e)
        return NULL;
    qg_json_set_bool(e, "ok", bs->err == NULL);
    qg_json_set_bool(e, "required", bs->src->required);
    qg_json_set_str(e, "output", bs->src->output_stem);
    qg_json_set_num(e, "records",
                    qg_json_is(bs->data, QG_JSON_ARRAY) ? qg_json_len(bs->data)
                    : bs->data                          ? 1
                                                        : 0);
    if (ranged)
        qg_json_set_num(e, "dropped", (double)dropped);
    if (bs->submodel_id)
        qg_json_set_str(e, "submodel", bs->submodel_id);
    if (bs->err) {
        qg_json_set_str(e, "error", qg_error_message(bs->err));
        qg_json_set_str(e, "errorClass", qg_error_class_name(qg_error_class(bs->err)));
    }
    return e;
}

/* sources{} and the records object (data moved out of the plan). */
static qg_error_t *qg_aasquery_collect(qg_bplan_t *plan, const qg_time_range_t *range,
                                       int has_range, qg_json_t *result, qg_json_t *records)
{
    qg_json_t *sources = qg_json_get_or_add_object(result, "sources");
    if (!sources)
        return qg_error_oom;
    for (size_t i = 0; i < plan->n_srcs; i++) {
        qg_bsrc_t *bs = &plan->srcs[i];
        if (bs->src->required && bs->err)
            return qg_error_new(qg_error_class(bs->err) == QG_ERR_TRANSIENT ? QG_ERR_TRANSIENT
                                                                            : QG_ERR_STAGE_ERROR,
                                "source %s: %s", bs->src->name, qg_error_message(bs->err));
        int ranged = has_range && bs->src->time_field && bs->data;
        size_t dropped = 0;
        qg_error_t *err =
            ranged ? qg_aasquery_keep_range(&bs->data, bs->src->time_field, range, &dropped) : NULL;
        if (err)
            return err;
        if (qg_json_set(sources, bs->src->name, qg_aasquery_source_entry(bs, dropped, ranged)) != 0)
            return qg_error_oom;
        if (bs->data && qg_json_set(records, bs->src->output_stem, bs->data) != 0) {
            bs->data = NULL;
            return qg_error_oom;
        }
        bs->data = NULL;
    }
    return NULL;
}

static void qg_aasquery_warnings(const qg_manifest_t *m, qg_json_t *result)
{
    qg_json_t *arr = m->n_warnings ? qg_json_get_or_add_array(result, "warnings") : NULL;
    for (size_t i = 0; arr && i < m->n_warnings; i++)
        qg_json_append(arr, qg_json_string(m->warnings[i]));
}

static qg_error_t *qg_aasquery_execute(qg_aasquery_t *q, qg_stage_ctx_t *ctx, qg_bplan_t *plan)
{
    qg_time_range_t range = {0, 0};
    int has_range = 0;
    char msg[160];
    qg_error_t *err = qg_aasquery_range(ctx, &range, &has_range);

    if (!err)
        err = qg_aas_plan_shells(plan, q->aas);
    if (!err)
        err = qg_aas_plan_fetch(plan, q->aas, 0, ctx->cancel);
    if (err)
        return err;
    qg_aas_plan_build(plan);
    qg_json_set_num(ctx->result, "requests", (double)qg_aas_request_count(q->aas));
    qg_json_set_num(ctx->result, "submodels", (double)plan->n_subs);
    snprintf(msg, sizeof(msg), "read %zu submodels in %ld requests", plan->n_subs,
             qg_aas_request_count(q->aas));
    qg_events_stage(ctx->events, ctx->goal_id, "aasQuery", "progress", msg);
    qg_json_t *records = qg_json_object();
    if (!records)
        return qg_error_oom;
    err = qg_aasquery_collect(plan, &range, has_range, ctx->result, records);
    if (err) {
        qg_json_destroy(records);
        return err;
    }
    const qg_claim_conf_t claim = {
        .shared_dir = q->shared_dir,
        .inline_max = q->inline_max,
        .inline_key = "records",
        .ref_key = "recordsRef",
        .bytes_key = "recordsBytes",
        .file_stem = "records",
        .limit_name = "aasquery.inline.max.bytes",
    };
    return qg_claim_place(&claim, ctx->goal_id, ctx->result, records);
}

static qg_error_t *qg_aasquery_run(void *state, qg_stage_ctx_t *ctx)
{
    qg_aasquery_t *q = state;
    qg_manifest_t *m = NULL;
    qg_bplan_t *plan = NULL;
    double t0 = qg_now_ms();

    qg_aas_request_count_reset(q->aas);
    qg_error_t *err = qg_aasquery_manifest(ctx, &m);
    if (!err) {
        qg_aasquery_warnings(m, ctx->result);
        err = qg_aas_plan_new(m, ctx->doc, &plan);
    }
    if (!err)
        err = qg_aasquery_execute(q, ctx, plan);
    qg_json_set_num(ctx->result, "durationMs", qg_now_ms() - t0);
    if (!err)
        qg_info(COMPONENT, "goal %s: %zu sources, %ld requests, %.0f ms",
                ctx->goal_id ? ctx->goal_id : "?", plan->n_srcs, qg_aas_request_count(q->aas),
                qg_now_ms() - t0);
    qg_aas_plan_destroy(plan);
    qg_manifest_destroy(m);
    return err;
}

/* The records (or their claim check) are there and every required source answered. */
static int qg_aasquery_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t size)
{
    const qg_json_t *sources = qg_json_get(ctx->result, "sources");
    size_t ok = 0, records = 0;
    (void)state;
    if (!qg_json_get(ctx->result, "records") && !qg_json_get(ctx->result, "recordsRef")) {
        snprintf(reason, size, "no records and no recordsRef in the result");
        return 0;
    }
    for (size_t i = 0; i < qg_json_len(sources); i++) {
        const qg_json_t *e = qg_json_at(sources, i);
        ok += qg_json_truthy(qg_json_get(e, "ok"));
        records += (size_t)qg_json_num(qg_json_get(e, "records"), 0);
    }
    snprintf(reason, size, "%zu/%zu sources read, %zu records", ok, qg_json_len(sources), records);
    return 1;
}

const qg_stage_ops_t qg_stage_aasquery = {
    .name = "aasQuery",
    .program = "qg-aasquery",
    .summary = "read what the goal type's query manifest names from the AAS server",
    .options = qg_aasquery_options,
    .init = qg_aasquery_init,
    .run = qg_aasquery_run,
    .gate = qg_aasquery_gate,
    .destroy = qg_aasquery_destroy,
};
