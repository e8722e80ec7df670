/*
 * stage.c - the yamlBinding stage: read the selected model's manifest,
 * collect its data from an AAS server and put the scenario into the goal.
 *
 * Result (ctx->result):
 *   { manifest, model, bindings: {<name>: {ok, required, output, records,
 *     bytes, source, error?, errorClass?}}, scenario: {<output stem>: data}
 *     | scenarioRef: {path, sha256, bytes}, scenarioBytes, workDir,
 *     requests, submodels, submodelsRead[], warnings[] }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aas/aas.h"
#include "aas/plan.h"
#include "claim.h"
#include "events.h"
#include "goal.h"
#include "log.h"
#include "stage.h"

#define QG_BINDING_COMPONENT "binding"

typedef struct qg_binding_s {
    qg_aas_client_t *aas;
    char *registry_dir;
    char *shared_dir;
    char *work_dir;
    size_t inline_max;
    size_t bulk_min;
} qg_binding_t;

static const qg_option_t qg_binding_options[] = {
    QG_AAS_OPTIONS,
    QG_OPT_INT("aas.bulk.min.submodels", "64", 0, 1000000,
               "when a goal needs at least this many submodels, list `/submodels` page by page "
               "instead of sending one GET per submodel; 0 turns this off"),
    QG_OPT_STR("registry.dir", NULL, "model registry directory. Manifests must lie inside it"),
    QG_OPT_INT("binding.inline.max.bytes", "524288", 0, 104857600,
               "largest scenario carried inside the goal; larger ones go to binding.shared.dir"),
    QG_OPT_STR("binding.shared.dir", NULL,
               "directory, shared with the simulation workers, that holds larger scenarios "
               "(claim check)"),
    QG_OPT_STR("binding.work.dir", "/tmp/qg-binding",
               "one folder per goal with the scenario files (`jobs.json`, `machines.json`, …) "
               "kept for inspection. Nothing removes them automatically"),
    QG_OPT_TABLE_END("binding"),
};

/* ---- init ---- */

static char *qg_binding_dup_opt(const qg_config_t *cfg, const char *key)
{
    const char *v = qg_config_get(cfg, key);
    return v && *v ? strdup(v) : NULL;
}

static void qg_binding_destroy(void *state)
{
    qg_binding_t *b = state;

    if (!b)
        return;
    qg_aas_client_destroy(b->aas);
    free(b->registry_dir);
    free(b->shared_dir);
    free(b->work_dir);
    free(b);
}

static qg_error_t *qg_binding_init(void **state, const qg_config_t *cfg)
{
    qg_binding_t *b = calloc(1, sizeof(*b));
    qg_error_t *err;

    *state = NULL;
    if (!b)
        return qg_error_new_oom("out of memory");
    b->registry_dir = qg_binding_dup_opt(cfg, "registry.dir");
    b->shared_dir = qg_binding_dup_opt(cfg, "binding.shared.dir");
    b->work_dir = qg_binding_dup_opt(cfg, "binding.work.dir");
    b->inline_max = (size_t)qg_config_int(cfg, "binding.inline.max.bytes");
    b->bulk_min = (size_t)qg_config_int(cfg, "aas.bulk.min.submodels");
    err = qg_aas_client_from_config(cfg, &b->aas);
    if (err) {
        qg_binding_destroy(b);
        return err;
    }
    *state = b;
    return NULL;
}

/* ---- files ---- */

/* Keep each scenario file (jobs.json, machines.json, ...) in the work dir. */
static void qg_binding_keep_files(const qg_binding_t *b, const qg_bplan_t *plan,
                                  const char *goal_id, qg_json_t *result)
{
    char name[160], dir[4096];

    if (!b->work_dir)
        return;
    qg_safe_file_name(goal_id, name, sizeof(name));
    snprintf(dir, sizeof(dir), "%s/%s", b->work_dir, name);
    if (qg_mkdirs(dir) != 0) {
        qg_warn(QG_BINDING_COMPONENT, "work dir %s: %s", dir, strerror(errno));
        return;
    }
    for (size_t i = 0; i < plan->n_srcs; i++) {
        const qg_bsrc_t *bs = &plan->srcs[i];
        size_t len;
        char *text = bs->data ? qg_json_serialize(bs->data, 1, &len) : NULL;
        if (text && qg_write_atomic(dir, bs->src->output_file, text, len) != 0)
            qg_warn(QG_BINDING_COMPONENT, "writing %s/%s: %s", dir, bs->src->output_file,
                    strerror(errno));
        free(text);
    }
    qg_json_set_str(result, "workDir", dir);
}

/* ---- result ---- */

static qg_json_t *qg_binding_source_info(const qg_bsrc_t *bs)
{
    qg_json_t *o = qg_json_object();
    const qg_manifest_source_t *s = bs->src;

    if (!o)
        return NULL;
    qg_json_set_str(o, "type",
                    s->type == QG_SOURCE_AAS_PROPERTY ? "aas_property" : "aas_shell_collection");
    if (bs->submodel_id)
        qg_json_set_str(o, "submodel_id", bs->submodel_id);
    if (bs->property_path)
        qg_json_set_str(o, "property_path", bs->property_path);
    if (s->type == QG_SOURCE_AAS_SHELL_COLLECTION) {
        qg_json_t *ids = qg_json_array();
        for (size_t i = 0; ids && i < bs->n_machines; i++)
            qg_json_append(ids, qg_json_string(bs->machines[i].machine_id));
        qg_json_set(o, "machines", ids);
    }
    return o;
}

static size_t qg_binding_records(const qg_json_t *v)
{
    if (qg_json_is(v, QG_JSON_ARRAY) || qg_json_is(v, QG_JSON_OBJECT))
        return qg_json_len(v);
    return v ? 1 : 0;
}

static qg_json_t *qg_binding_entry(const qg_bsrc_t *bs)
{
    qg_json_t *e = qg_json_object();
    size_t bytes = 0;
    char *text = bs->data ? qg_json_serialize(bs->data, 0, &bytes) : NULL;

    free(text);
    if (!e)
        return NULL;
    qg_json_set_bool(e, "ok", bs->err == NULL);
    qg_json_set_bool(e, "required", bs->src->required);
    qg_json_set_str(e, "output", bs->src->output_stem);
    qg_json_set_num(e, "records", (double)qg_binding_records(bs->data));
    qg_json_set_num(e, "bytes", (double)bytes);
    qg_json_set(e, "source", qg_binding_source_info(bs));
    if (bs->err) {
        qg_json_set_str(e, "error", qg_error_message(bs->err));
        qg_json_set_str(e, "errorClass", qg_error_class_name(qg_error_class(bs->err)));
    }
    return e;
}

/* bindings{} and the scenario object (data moved out of the plan). */
static int qg_binding_collect(qg_bplan_t *plan, qg_json_t *result, qg_json_t *scenario)
{
    qg_json_t *bindings = qg_json_get_or_add_object(result, "bindings");

    if (!bindings)
        return -1;
    for (size_t i = 0; i < plan->n_srcs; i++) {
        qg_bsrc_t *bs = &plan->srcs[i];
        if (qg_json_set(bindings, bs->src->name, qg_binding_entry(bs)) != 0)
            return -1;
        if (bs->data && qg_json_set(scenario, bs->src->output_stem, qg_json_clone(bs->data)) != 0)
            return -1;
    }
    return 0;
}

/* Inline, or claim check in the shared dir when larger than inline_max. */
static qg_error_t *qg_binding_place(const qg_binding_t *b, const char *goal_id, qg_json_t *result,
                                    qg_json_t *scenario)
{
    const qg_claim_conf_t conf = {
        .shared_dir = b->shared_dir,
        .inline_max = b->inline_max,
        .inline_key = "scenario",
        .ref_key = "scenarioRef",
        .bytes_key = "scenarioBytes",
        .file_stem = "scenario",
        .limit_name = "binding.inline.max.bytes",
    };
    return qg_claim_place(&conf, goal_id, result, scenario);
}

/* A required source that failed transiently makes the whole goal retry. */
static qg_error_t *qg_binding_transient(const qg_bplan_t *plan)
{
    for (size_t i = 0; i < plan->n_srcs; i++) {
        const qg_bsrc_t *bs = &plan->srcs[i];
        if (bs->src->required && qg_error_class(bs->err) == QG_ERR_TRANSIENT)
            return qg_error_new_transient("source %s: %s", bs->src->name,
                                          qg_error_message(bs->err));
    }
    return NULL;
}

static void qg_binding_warnings(const qg_manifest_t *m, qg_json_t *result)
{
    qg_json_t *arr;

    if (m->n_warnings == 0)
        return;
    arr = qg_json_get_or_add_array(result, "warnings");
    for (size_t i = 0; arr && i < m->n_warnings; i++) {
        qg_warn(QG_BINDING_COMPONENT, "%s", m->warnings[i]);
        qg_json_append(arr, qg_json_string(m->warnings[i]));
    }
}

/* ---- run ---- */

static qg_error_t *qg_binding_manifest(const qg_binding_t *b, const qg_stage_ctx_t *ctx,
                                       qg_manifest_t **m, qg_json_t *result)
{
    const qg_json_t *sel = qg_json_get(ctx->goal, "selectedModel");
    const char *file = qg_json_str(qg_json_get(sel, "metaDataFile"));
    char *path = NULL;
    qg_error_t *err;

    if (!file || !*file)
        return qg_error_new_bad_input(
            "QueryGoal.selectedModel.metaDataFile is missing (no model selected?)");
    err = qg_manifest_resolve_path(b->registry_dir, file, &path);
    if (!err)
        err = qg_manifest_load(path, m);
    if (!err) {
        qg_json_set_str(result, "manifest", path);
        qg_json_set_str(result, "model",
                        (*m)->model ? (*m)->model : qg_json_str(qg_json_get(sel, "modelId")));
    }
    free(path);
    return err;
}

/* Progress for `qgctl watch`: how much was fetched, which sources failed. */
static void qg_binding_progress(const qg_stage_ctx_t *ctx, const qg_bplan_t *plan,
                                const qg_aas_client_t *aas)
{
    char msg[256];
    size_t failed = 0;

    for (size_t i = 0; i < plan->n_srcs; i++)
        failed += plan->srcs[i].err != NULL;
    snprintf(msg, sizeof(msg), "fetched %zu submodels in %ld requests; %zu of %zu sources failed",
             plan->n_subs, qg_aas_request_count(aas), failed, plan->n_srcs);
    qg_events_stage(ctx->events, ctx->goal_id, "yamlBinding", "progress", msg);
}

/* submodelsRead[]: the id of every distinct submodel fetched (qg-trigger re-runs a
 * watched goal when one of them changes). */
static void qg_binding_submodels_read(const qg_bplan_t *plan, qg_json_t *result)
{
    qg_json_t *ids = qg_json_array();
    for (size_t i = 0; ids && i < plan->n_subs; i++)
        if (!plan->subs[i].err && qg_json_append(ids, qg_json_string(plan->subs[i].id)) != 0)
            break;
    qg_json_set(result, "submodelsRead", ids);
}

static qg_error_t *qg_binding_execute(qg_binding_t *b, qg_stage_ctx_t *ctx, qg_bplan_t *plan)
{
    qg_json_t *scenario;
    qg_error_t *err = qg_aas_plan_shells(plan, b->aas);

    if (!err)
        err = qg_aas_plan_fetch(plan, b->aas, b->bulk_min, ctx->cancel);
    if (err)
        return err;
    qg_aas_plan_build(plan);
    qg_binding_progress(ctx, plan, b->aas);
    err = qg_binding_transient(plan);
    qg_json_set_num(ctx->result, "requests", (double)qg_aas_request_count(b->aas));
    qg_json_set_num(ctx->result, "submodels", (double)plan->n_subs);
    qg_binding_submodels_read(plan, ctx->result);
    if (err)
        return err;
    scenario = qg_json_object();
    if (!scenario || qg_binding_collect(plan, ctx->result, scenario) != 0) {
        qg_json_destroy(scenario);
        return qg_error_new_oom("out of memory building the result");
    }
    qg_binding_keep_files(b, plan, ctx->goal_id, ctx->result);
    return qg_binding_place(b, ctx->goal_id, ctx->result, scenario);
}

static qg_error_t *qg_binding_run(void *state, qg_stage_ctx_t *ctx)
{
    qg_binding_t *b = state;
    qg_manifest_t *m = NULL;
    qg_bplan_t *plan = NULL;
    double t0 = qg_now_ms();
    qg_error_t *err;

    qg_aas_request_count_reset(b->aas);
    err = qg_binding_manifest(b, ctx, &m, ctx->result);
    if (!err) {
        qg_binding_warnings(m, ctx->result);
        err = qg_aas_plan_new(m, ctx->doc, &plan);
    }
    if (!err)
        err = qg_binding_execute(b, ctx, plan);
    qg_json_set_num(ctx->result, "durationMs", qg_now_ms() - t0);
    if (!err)
        qg_info(QG_BINDING_COMPONENT, "goal %s: %zu sources, %zu submodels, %ld requests, %.0f ms",
                ctx->goal_id ? ctx->goal_id : "?", plan->n_srcs, plan->n_subs,
                qg_aas_request_count(b->aas), qg_now_ms() - t0);
    qg_aas_plan_destroy(plan);
    qg_manifest_destroy(m);
    return err;
}

/* ---- gate ---- */

static int qg_binding_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t size)
{
    const qg_json_t *bindings = qg_json_get(ctx->result, "bindings");
    size_t req = 0, req_ok = 0, opt_failed = 0, o = 0;

    (void)state;
    reason[0] = '\0';
    for (size_t i = 0; i < qg_json_len(bindings); i++) {
        const qg_json_t *e = qg_json_at(bindings, i);
        int ok = qg_json_truthy(qg_json_get(e, "ok"));
        if (!qg_json_truthy(qg_json_get(e, "required"))) {
            opt_failed += !ok;
            continue;
        }
        req++;
        req_ok += ok;
        if (!ok && o + 1 < size) {
            int w = snprintf(reason + o, size - o, "%s%s (%s)",
                             o ? "; " : "required sources failed: ", qg_json_key_at(bindings, i),
                             qg_json_str(qg_json_get(e, "error")));
            o = w < 0 ? o : o + (size_t)w;
        }
    }
    if (req == 0 && qg_json_len(bindings) == 0) {
        snprintf(reason, size, "no bindings produced");
        return 0;
    }
    if (req_ok < req)
        return 0;
    snprintf(reason, size, "%zu/%zu required sources bound%s%zu optional failed", req_ok, req, ", ",
             opt_failed);
    return 1;
}

const qg_stage_ops_t qg_stage_binding = {
    .name = "yamlBinding",
    .program = "qg-binding",
    .summary = "bind the selected model's manifest to AAS data and build its scenario",
    .options = qg_binding_options,
    .init = qg_binding_init,
    .run = qg_binding_run,
    .gate = qg_binding_gate,
    .destroy = qg_binding_destroy,
};
