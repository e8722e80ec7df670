/*
 * plan.c - yamlBinding: from a manifest to data, fetching each distinct
 * submodel once per goal.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "plan.h"
#include "log.h"

/* ---- placeholders ---- */

static qg_error_t *qg_bp_fill(const char *tmpl, const qg_json_t *doc, char **out)
{
    *out = NULL;
    if (!tmpl)
        return NULL;
    return qg_manifest_fill(tmpl, doc, out);
}

static qg_error_t *qg_bp_fill_machine(qg_bmachine_t *bm, const qg_manifest_machine_t *mm,
                                      const qg_json_t *doc)
{
    qg_error_t *err = qg_bp_fill(mm->machine_id, doc, &bm->machine_id);

    bm->subs = calloc(mm->n_subs ? mm->n_subs : 1, sizeof(*bm->subs));
    if (!err && !bm->subs)
        err = qg_error_new_oom("out of memory");
    for (size_t i = 0; !err && i < mm->n_subs; i++) {
        qg_bmsub_t *s = &bm->subs[bm->n_subs++];
        s->key = mm->subs[i].key;
        s->required = mm->subs[i].required;
        s->n_required = mm->subs[i].n_required;
        err = qg_bp_fill(mm->subs[i].submodel_id, doc, &s->submodel_id);
    }
    return err;
}

static qg_error_t *qg_bp_fill_source(qg_bsrc_t *bs, const qg_json_t *doc)
{
    const qg_manifest_source_t *s = bs->src;
    qg_error_t *err = qg_bp_fill(s->submodel_id, doc, &bs->submodel_id);

    if (!err)
        err = qg_bp_fill(s->property_path, doc, &bs->property_path);
    if (!err && s->n_machines) {
        bs->machines = calloc(s->n_machines, sizeof(*bs->machines));
        if (!bs->machines)
            return qg_error_new_oom("out of memory");
        for (size_t i = 0; !err && i < s->n_machines; i++)
            err = qg_bp_fill_machine(&bs->machines[bs->n_machines++], &s->machines[i], doc);
    }
    return err;
}

qg_error_t *qg_aas_plan_new(const qg_manifest_t *m, const qg_json_t *doc, qg_bplan_t **out)
{
    qg_bplan_t *plan = calloc(1, sizeof(*plan));

    *out = NULL;
    if (plan)
        plan->srcs = calloc(m->n_sources ? m->n_sources : 1, sizeof(*plan->srcs));
    if (!plan || !plan->srcs) {
        free(plan);
        return qg_error_new_oom("out of memory");
    }
    plan->manifest = m;
    for (size_t i = 0; i < m->n_sources; i++) {
        qg_bsrc_t *bs = &plan->srcs[plan->n_srcs++];
        qg_error_t *err;
        bs->src = &m->sources[i];
        err = qg_bp_fill_source(bs, doc);
        if (err && bs->src->required && qg_error_class(err) == QG_ERR_BAD_INPUT) {
            err = qg_error_wrap(err, "source %s", bs->src->name);
            qg_aas_plan_destroy(plan);
            return err;
        }
        bs->err = err; /* optional source: recorded, the rest goes on */
    }
    *out = plan;
    return NULL;
}

static void qg_bp_free_machine(qg_bmachine_t *bm)
{
    for (size_t i = 0; i < bm->n_subs; i++)
        free(bm->subs[i].submodel_id);
    free(bm->subs);
    free(bm->machine_id);
}

void qg_aas_plan_destroy(qg_bplan_t *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_srcs; i++) {
        qg_bsrc_t *bs = &plan->srcs[i];
        for (size_t j = 0; j < bs->n_machines; j++)
            qg_bp_free_machine(&bs->machines[j]);
        free(bs->machines);
        free(bs->submodel_id);
        free(bs->property_path);
        qg_error_destroy(bs->err);
        qg_json_destroy(bs->data);
    }
    for (size_t i = 0; i < plan->n_subs; i++) {
        free(plan->subs[i].id);
        qg_json_destroy(plan->subs[i].body);
        qg_error_destroy(plan->subs[i].err);
    }
    free(plan->subs);
    free(plan->srcs);
    free(plan);
}

/* ---- shell_filter ---- */

int qg_aas_id_match(const char *pattern, const char *id_short)
{
    if (!pattern || !id_short)
        return 0;
    if (strpbrk(pattern, "*?["))
        return fnmatch(pattern, id_short, 0) == 0;
    return strncmp(id_short, pattern, strlen(pattern)) == 0;
}

/* The id of the shell's first submodel reference starting with prefix. */
static const char *qg_bp_ref_with_prefix(const qg_json_t *shell, const char *prefix)
{
    const qg_json_t *refs = qg_json_get(shell, "submodels");

    for (size_t i = 0; i < qg_json_len(refs); i++) {
        const qg_json_t *keys = qg_json_get(qg_json_at(refs, i), "keys");
        const char *id = qg_json_str(qg_json_get(qg_json_at(keys, qg_json_len(keys) - 1), "value"));
        if (id && strncmp(id, prefix, strlen(prefix)) == 0)
            return id;
    }
    return NULL;
}

/* One machine from a matching shell: a submodel per combination rule. */
static int qg_bp_machine_of_shell(qg_bmachine_t *bm, const qg_manifest_source_t *s,
                                  const qg_json_t *shell)
{
    bm->machine_id = strdup(qg_json_str(qg_json_get(shell, "idShort")));
    bm->subs = calloc(s->n_rules ? s->n_rules : 1, sizeof(*bm->subs));
    if (!bm->machine_id || !bm->subs)
        return -1;
    for (size_t r = 0; r < s->n_rules; r++) {
        const char *id = qg_bp_ref_with_prefix(shell, s->rules[r].submodel_id);
        qg_bmsub_t *sub = &bm->subs[bm->n_subs];
        if (!id)
            continue; /* the shell lacks it; the record simply has no such key */
        sub->key = s->rules[r].result_key;
        sub->submodel_id = strdup(id);
        sub->pick_path = s->rules[r].property_path;
        sub->pick_key = s->rules[r].result_key;
        if (!sub->submodel_id)
            return -1;
        bm->n_subs++;
    }
    return 0;
}

static qg_error_t *qg_bp_filter_source(qg_bsrc_t *bs, const qg_json_t *shells)
{
    const qg_manifest_source_t *s = bs->src;
    size_t n = qg_json_len(shells);

    bs->machines = calloc(n ? n : 1, sizeof(*bs->machines));
    if (!bs->machines)
        return qg_error_new_oom("out of memory");
    for (size_t i = 0; i < n; i++) {
        const qg_json_t *shell = qg_json_at(shells, i);
        if (!qg_aas_id_match(s->id_pattern, qg_json_str(qg_json_get(shell, "idShort"))))
            continue;
        if (qg_bp_machine_of_shell(&bs->machines[bs->n_machines++], s, shell) != 0)
            return qg_error_new_oom("out of memory");
    }
    if (bs->n_machines == 0)
        return qg_error_new_stage_error("no shell matches id_pattern '%s'", s->id_pattern);
    return NULL;
}

qg_error_t *qg_aas_plan_shells(qg_bplan_t *plan, qg_aas_client_t *aas)
{
    qg_json_t *shells = NULL;
    qg_error_t *list_err = NULL;
    int listed = 0;

    for (size_t i = 0; i < plan->n_srcs; i++) {
        qg_bsrc_t *bs = &plan->srcs[i];
        if (bs->err || bs->src->type != QG_SOURCE_AAS_SHELL_COLLECTION || bs->src->n_machines)
            continue;
        if (!listed) {
            list_err = qg_aas_get_shells(aas, NULL, &shells);
            listed = 1;
        }
        bs->err = list_err
                      ? qg_error_new(qg_error_class(list_err), "%s", qg_error_message(list_err))
                      : qg_bp_filter_source(bs, shells);
    }
    qg_error_destroy(list_err);
    qg_json_destroy(shells);
    return NULL;
}

/* ---- fetching ---- */

static int qg_bp_want(qg_bplan_t *plan, const char *id)
{
    if (!id)
        return 0;
    for (size_t i = 0; i < plan->n_subs; i++)
        if (strcmp(plan->subs[i].id, id) == 0)
            return 0;
    qg_bsub_t *subs =
        qg_array_grow(plan->subs, &plan->cap_subs, plan->n_subs + 1, sizeof(*subs), 16);
    if (!subs)
        return -1;
    plan->subs = subs;
    plan->subs[plan->n_subs].body = NULL;
    plan->subs[plan->n_subs].err = NULL;
    plan->subs[plan->n_subs].id = strdup(id);
    if (!plan->subs[plan->n_subs].id)
        return -1;
    plan->n_subs++;
    return 0;
}

static int qg_bp_collect(qg_bplan_t *plan)
{
    for (size_t i = 0; i < plan->n_srcs; i++) {
        const qg_bsrc_t *bs = &plan->srcs[i];
        if (bs->err)
            continue;
        if (qg_bp_want(plan, bs->submodel_id) != 0)
            return -1;
        for (size_t j = 0; j < bs->n_machines; j++)
            for (size_t k = 0; k < bs->machines[j].n_subs; k++)
                if (qg_bp_want(plan, bs->machines[j].subs[k].submodel_id) != 0)
                    return -1;
    }
    return 0;
}

static void qg_bp_free_reqs(qg_aas_request_t *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].path);
        free((char *)reqs[i].what);
    }
    free(reqs);
}

/* Requests for the submodels not fetched yet; idx[i] is the plan index of reqs[i]. */
static qg_aas_request_t *qg_bp_requests(const qg_bplan_t *plan, size_t *idx, size_t *n)
{
    qg_aas_request_t *reqs = calloc(plan->n_subs ? plan->n_subs : 1, sizeof(*reqs));

    *n = 0;
    for (size_t i = 0; reqs && i < plan->n_subs; i++) {
        size_t len = strlen(plan->subs[i].id) + 16;
        char *what;
        if (plan->subs[i].body)
            continue;
        what = malloc(len);
        reqs[*n].path = qg_aas_path_submodel(plan->subs[i].id);
        reqs[*n].what = what;
        idx[(*n)++] = i;
        if (what)
            snprintf(what, len, "submodel '%s'", plan->subs[i].id);
        if (!what || !reqs[*n - 1].path) {
            qg_bp_free_reqs(reqs, *n);
            return NULL;
        }
    }
    return reqs;
}

static qg_bsub_t *qg_bp_sub(qg_bplan_t *plan, const char *id);

/*
 * Many submodels: one paged listing of /submodels instead of a request per
 * submodel; the needed ones are kept. Anything missing from the listing (or
 * a failed listing) falls back to single requests, which name the errors.
 */
static void qg_bp_bulk(qg_bplan_t *plan, qg_aas_client_t *aas)
{
    qg_json_t *all = NULL;
    qg_error_t *err = qg_aas_list(aas, "/submodels", NULL, 200, &all);
    size_t kept = 0;

    if (err) {
        qg_warn("binding", "listing /submodels failed, fetching one by one: %s",
                qg_error_message(err));
        qg_error_destroy(err);
        return;
    }
    for (size_t i = 0; i < qg_json_len(all); i++) {
        const qg_json_t *sm = qg_json_at(all, i);
        qg_bsub_t *sub = qg_bp_sub(plan, qg_json_str(qg_json_get(sm, "id")));
        if (sub && !sub->body) {
            sub->body = qg_json_clone(sm);
            kept += sub->body != NULL;
        }
    }
    qg_debug("binding", "listing /submodels: %zu listed, %zu of %zu needed", qg_json_len(all), kept,
             plan->n_subs);
    qg_json_destroy(all);
}

qg_error_t *qg_aas_plan_fetch(qg_bplan_t *plan, qg_aas_client_t *aas, size_t bulk_min,
                              volatile sig_atomic_t *cancel)
{
    qg_aas_request_t *reqs;
    size_t *idx, n = 0;
    qg_error_t *err;

    if (qg_bp_collect(plan) != 0)
        return qg_error_new_oom("out of memory planning requests");
    if (bulk_min > 0 && plan->n_subs >= bulk_min)
        qg_bp_bulk(plan, aas);
    idx = calloc(plan->n_subs ? plan->n_subs : 1, sizeof(*idx));
    reqs = idx ? qg_bp_requests(plan, idx, &n) : NULL;
    if (!reqs) {
        free(idx);
        return qg_error_new_oom("out of memory planning requests");
    }
    err = qg_aas_get_many(aas, reqs, n, cancel);
    for (size_t i = 0; i < n; i++) {
        plan->subs[idx[i]].body = reqs[i].body;
        plan->subs[idx[i]].err = reqs[i].err;
    }
    qg_bp_free_reqs(reqs, n);
    free(idx);
    return err;
}

/* ---- building ---- */

static qg_bsub_t *qg_bp_sub(qg_bplan_t *plan, const char *id)
{
    for (size_t i = 0; id && i < plan->n_subs; i++)
        if (strcmp(plan->subs[i].id, id) == 0)
            return &plan->subs[i];
    return NULL;
}

/* A fetched submodel, or NULL with *err set (a copy of the fetch error). */
static const qg_json_t *qg_bp_body(qg_bplan_t *plan, const char *id, qg_error_t **err)
{
    qg_bsub_t *s = qg_bp_sub(plan, id);

    if (!s)
        *err = qg_error_new_stage_error("submodel '%s' was not fetched", id);
    else if (s->err)
        *err = qg_error_new(qg_error_class(s->err), "%s", qg_error_message(s->err));
    return *err ? NULL : s->body;
}

/* Append each record of a collection (object of records) or list to out. -1 on OOM. */
static int qg_bp_append_records(qg_json_t *out, const qg_json_t *records)
{
    if (!qg_json_is(records, QG_JSON_OBJECT) && !qg_json_is(records, QG_JSON_ARRAY))
        return 0;
    for (size_t i = 0; i < qg_json_len(records); i++)
        if (qg_json_append(out, qg_json_clone(qg_json_at(records, i))) != 0)
            return -1;
    return 0;
}

/*
 * time_series: the value of an IDTA Time Series Data `Segments` collection,
 * {segment: {..., Records: {record: {Time, ...}}}}, becomes one array of
 * records in segment order. Each record keeps its variables as they are.
 */
static qg_json_t *qg_bp_time_series(qg_json_t *v, const qg_bsrc_t *bs, qg_error_t **err)
{
    qg_json_t *out = qg_json_array();

    if (!qg_json_is(v, QG_JSON_OBJECT) && !qg_json_is(v, QG_JSON_ARRAY))
        *err = qg_error_new(QG_ERR_STAGE_ERROR,
                            "element '%s' of submodel '%s' is not a Segments collection",
                            bs->property_path, bs->submodel_id);
    for (size_t i = 0; out && !*err && i < qg_json_len(v); i++)
        if (qg_bp_append_records(out, qg_json_get(qg_json_at(v, i), "Records")) != 0)
            *err = qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    if (!out && !*err)
        *err = qg_error_new(QG_ERR_STAGE_ERROR, "out of memory");
    qg_json_destroy(v);
    if (*err) {
        qg_json_destroy(out);
        return NULL;
    }
    return out;
}

/* json_string: decode JSON text; a structured value (well-modelled AAS) is used as it is. */
static qg_json_t *qg_bp_decode(qg_json_t *v, const qg_bsrc_t *bs, qg_error_t **err)
{
    char errstr[200];
    qg_json_t *doc;

    if (bs->src->data_type && strcmp(bs->src->data_type, "time_series") == 0)
        return qg_bp_time_series(v, bs, err);
    if (!bs->src->data_type || strcmp(bs->src->data_type, "json_string") != 0 ||
        !qg_json_is(v, QG_JSON_STRING))
        return v;
    doc = qg_json_parse(qg_json_str(v), qg_json_strlen(v), errstr, sizeof(errstr));
    if (!doc)
        *err = qg_error_new_stage_error("element '%s' of submodel '%s' is not valid JSON text: %s",
                                        bs->property_path, bs->submodel_id, errstr);
    qg_json_destroy(v);
    return doc;
}

static void qg_bp_build_property(qg_bplan_t *plan, qg_bsrc_t *bs)
{
    char errstr[300];
    const qg_json_t *sm = qg_bp_body(plan, bs->submodel_id, &bs->err);
    const qg_json_t *el;
    qg_json_t *v;

    if (!sm)
        return;
    el = qg_aas_find_element(sm, bs->property_path, errstr, sizeof(errstr));
    if (!el) {
        bs->err = qg_error_new_stage_error("submodel '%s': %s", bs->submodel_id, errstr);
        return;
    }
    v = qg_aas_element_value(el);
    if (!v) {
        bs->err = qg_error_new_oom("out of memory");
        return;
    }
    bs->data = qg_bp_decode(v, bs, &bs->err);
}

/* Copy every member of obj into rec (machine_id stays). -1 on OOM. */
static int qg_bp_merge(qg_json_t *rec, const qg_json_t *obj)
{
    for (size_t i = 0; i < qg_json_len(obj); i++) {
        const char *k = qg_json_key_at(obj, i);
        if (strcmp(k, "machine_id") == 0)
            continue;
        if (qg_json_set(rec, k, qg_json_clone(qg_json_at(obj, i))) != 0)
            return -1;
    }
    return 0;
}

static qg_error_t *qg_bp_machine_sub(qg_bplan_t *plan, const qg_bmachine_t *bm,
                                     const qg_bmsub_t *sub, qg_json_t *rec)
{
    qg_error_t *err = NULL;
    const qg_json_t *sm = qg_bp_body(plan, sub->submodel_id, &err);
    qg_json_t *val;

    if (!sm)
        return qg_error_wrap(err, "machine %s", bm->machine_id);
    val = qg_aas_submodel_value(sm);
    for (size_t r = 0; val && r < sub->n_required; r++)
        if (!qg_json_get(val, sub->required[r]))
            err = qg_error_new_stage_error("machine %s: %s submodel '%s' has no element '%s'",
                                           bm->machine_id, sub->key, sub->submodel_id,
                                           sub->required[r]);
    if (!err && val && sub->pick_path) {
        char errstr[300];
        const qg_json_t *el = qg_aas_find_element(sm, sub->pick_path, errstr, sizeof(errstr));
        if (el && qg_json_set(val, sub->pick_key, qg_aas_element_value(el)) != 0)
            err = qg_error_new_oom("out of memory");
    }
    if (!err && (!val || qg_bp_merge(rec, val) != 0))
        err = qg_error_new_oom("out of memory");
    qg_json_destroy(val);
    return err;
}

static qg_json_t *qg_bp_machine_record(qg_bplan_t *plan, const qg_bmachine_t *bm, qg_error_t **err)
{
    qg_json_t *rec = qg_json_object();

    if (!rec || qg_json_set_str(rec, "machine_id", bm->machine_id) != 0) {
        qg_json_destroy(rec);
        *err = qg_error_new_oom("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < bm->n_subs && !*err; i++)
        *err = qg_bp_machine_sub(plan, bm, &bm->subs[i], rec);
    if (*err) {
        qg_json_destroy(rec);
        return NULL;
    }
    return rec;
}

static void qg_bp_build_machines(qg_bplan_t *plan, qg_bsrc_t *bs)
{
    qg_json_t *arr = qg_json_array();

    for (size_t i = 0; arr && i < bs->n_machines && !bs->err; i++) {
        qg_json_t *rec = qg_bp_machine_record(plan, &bs->machines[i], &bs->err);
        if (rec && qg_json_append(arr, rec) != 0)
            bs->err = qg_error_new_oom("out of memory");
    }
    if (!arr && !bs->err)
        bs->err = qg_error_new_oom("out of memory");
    if (bs->err) {
        qg_json_destroy(arr);
        return;
    }
    bs->data = arr;
}

void qg_aas_plan_build(qg_bplan_t *plan)
{
    for (size_t i = 0; i < plan->n_srcs; i++) {
        qg_bsrc_t *bs = &plan->srcs[i];
        if (bs->err)
            continue;
        if (bs->src->type == QG_SOURCE_AAS_PROPERTY)
            qg_bp_build_property(plan, bs);
        else
            qg_bp_build_machines(plan, bs);
    }
}
