/*
 * stage.c - swrlSelection: choose the model that runs a goal, by SWRL rules
 * over the goal and the model registry, and say why.
 *
 *   init   load the registry (registry.file) and the rules (rules.file);
 *          any error stops the worker before it joins Kafka.
 *   run    a goal naming a known selectedModel keeps it ("pre_selected");
 *          otherwise facts = goal + registry, rules to a fixpoint, candidates =
 *          selectedModel(goal, m) facts, narrowed to preferredModel(goal, m)
 *          if any, ordered by the preference. Sets QueryGoal.selectedModel and
 *          leaves provenance in the stage result.
 *   gate   passes when a model was selected.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goal.h"
#include "log.h"
#include "model/registry.h"
#include "selection.h"
#include "swrl/swrl.h"

#define SEL_DEFAULT_PREFERENCE "performance.accuracy desc, performance.avgLatencySeconds asc"

static const qg_option_t qg_selection_options[] = {
    QG_OPT_STR("registry.file", "config/registry.yaml",
               "model registry, YAML or JSON; relative paths are tried in the current directory, "
               "then under $QG_ROOT"),
    QG_OPT_STR("rules.file", "config/rules.swrl", "SWRL selection rules (Protégé syntax)"),
    QG_OPT_STR("selection.preference", NULL,
               "order among several selected models, e.g. \"performance.accuracy desc, "
               "performance.avgLatencySeconds asc\" (default: the rules file's preference: line)"),
    QG_OPT_TABLE_END("selection"),
};

typedef struct sel_state_s {
    qg_registry_t *reg;
    qg_swrl_rules_t *rules;
    qg_sel_pref_t pref;
    char *pref_text;
    char *rules_path;
} sel_state_t;

/* ---------------------------------------------------------------- init */

static char *resolve_file(const char *p)
{
    const char *root = getenv("QG_ROOT");
    char buf[4096];

    if (p[0] == '/' || access(p, F_OK) == 0 || !root || !*root)
        return strdup(p);
    snprintf(buf, sizeof(buf), "%s/%s", root, p);
    return strdup(access(buf, F_OK) == 0 ? buf : p);
}

static void sel_destroy(void *state)
{
    sel_state_t *st = state;

    if (!st)
        return;
    qg_registry_destroy(st->reg);
    qg_swrl_rules_destroy(st->rules);
    free(st->pref_text);
    free(st->rules_path);
    free(st);
}

static qg_error_t *sel_load(sel_state_t *st, const qg_config_t *cfg)
{
    const char *v;
    char *reg_path =
        resolve_file((v = qg_config_get(cfg, "registry.file")) ? v : "config/registry.yaml");
    qg_error_t *err = NULL;

    st->rules_path = resolve_file((v = qg_config_get(cfg, "rules.file")) ? v : "config/rules.swrl");
    if (!reg_path || !st->rules_path) {
        free(reg_path);
        return qg_error_new_oom("selection: out of memory");
    }
    st->reg = qg_registry_load(reg_path, &err);
    free(reg_path);
    if (!st->reg)
        return err;
    if (!(st->rules = qg_swrl_rules_load(st->rules_path, &err)))
        return err;
    v = qg_config_get(cfg, "selection.preference");
    if (!v || !*v)
        v = qg_swrl_rules_preference(st->rules);
    st->pref_text = strdup(v ? v : SEL_DEFAULT_PREFERENCE);
    if (!st->pref_text)
        return qg_error_new_oom("selection: out of memory");
    if ((err = qg_sel_pref_parse(st->pref_text, &st->pref)))
        return qg_error_wrap(err, "%s",
                             qg_config_get(cfg, "selection.preference") ? "selection.preference"
                                                                        : st->rules_path);
    return NULL;
}

static qg_error_t *sel_init(void **state, const qg_config_t *cfg)
{
    sel_state_t *st = calloc(1, sizeof(*st));
    qg_error_t *err;

    *state = NULL;
    if (!st)
        return qg_error_new_oom("selection: out of memory");
    if ((err = sel_load(st, cfg))) {
        sel_destroy(st);
        return err;
    }
    qg_info("selection", "registry %s: %zu models; rules %s: %zu rules; preference: %s",
            qg_registry_path(st->reg), qg_registry_count(st->reg), st->rules_path,
            qg_swrl_rules_count(st->rules), st->pref_text);
    *state = st;
    return NULL;
}

/* ---------------------------------------------------------------- facts */

/* A parameter given as numeric text ("50") is also asserted as a number. */
static int add_numeric_text(qg_swrl_kb_t *kb, const char *ind, const char *key, const char *s)
{
    char *end;
    double d;
    long long i;

    if (!s || !*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0)
        return qg_swrl_kb_add_int(kb, ind, key, i);
    d = strtod(s, &end);
    if (*end != '\0' || !isfinite(d) || strpbrk(s, "xXnN"))
        return 0;
    return qg_swrl_kb_add_dec(kb, ind, key, d);
}

static qg_error_t *add_goal_facts(qg_swrl_kb_t *kb, const char *ind, const qg_json_t *goal)
{
    const qg_json_t *params = qg_json_get(goal, "parameters");
    size_t i;
    int rc = qg_swrl_kb_add_class(kb, ind, "QueryGoal");

    if (rc == 0 && qg_json_get(goal, "goalType"))
        rc = qg_swrl_kb_add_json(kb, ind, "goalType", qg_json_get(goal, "goalType"), 0);
    if (rc == 0 && qg_json_get(goal, "goalId"))
        rc = qg_swrl_kb_add_json(kb, ind, "goalId", qg_json_get(goal, "goalId"), 0);
    for (i = 0; rc == 0 && i < qg_json_len(params); i++) {
        const qg_json_t *p = qg_json_at(params, i);
        const char *key = qg_json_str(qg_json_get(p, "key"));
        if (key && *key)
            rc = qg_swrl_kb_add_json(kb, ind, key, qg_json_get(p, "value"), 0);
        if (key && *key && rc == 0)
            rc = add_numeric_text(kb, ind, key, qg_json_str(qg_json_get(p, "value")));
    }
    return rc < 0 ? qg_error_new_stage_error("selection: too many goal facts") : NULL;
}

static qg_error_t *add_model_facts(qg_swrl_kb_t *kb, const qg_registry_t *reg)
{
    size_t i, k;
    int rc = 0;

    for (i = 0; rc == 0 && i < qg_registry_count(reg); i++) {
        const qg_json_t *m = qg_registry_at(reg, i);
        const char *id = qg_registry_model_id(m);
        rc = qg_swrl_kb_add_class(kb, id, "Model");
        for (k = 0; rc == 0 && k < qg_json_len(m); k++) {
            const char *key = qg_json_key_at(m, k);
            rc =
                qg_swrl_kb_add_json(kb, id, key, qg_json_at(m, k), strcmp(key, "performance") == 0);
        }
    }
    return rc < 0 ? qg_error_new_stage_error("selection: too many registry facts") : NULL;
}

/* The goal's individual: its goalId, unless a model has that name. */
static void goal_individual(const sel_state_t *st, const qg_json_t *goal, char *buf, size_t n)
{
    const char *id = qg_json_str(qg_json_get(goal, "goalId"));

    snprintf(buf, n, "%s", id && *id ? id : "goal");
    if (qg_registry_find(st->reg, buf))
        snprintf(buf, n, "goal:%s", id && *id ? id : "goal");
}

/* ---------------------------------------------------------------- choice */

typedef struct sel_pick_s {
    qg_json_t *candidates; /* [{modelId, rule, bindings, preferred}] */
    qg_json_t *ignored;    /* selectedModel objects that are not registry models */
    const qg_json_t *best; /* registry entry */
    const qg_json_t *best_cand;
    size_t npreferred;
} sel_pick_t;

static int is_in(const qg_json_t *facts, const char *model_id)
{
    size_t i;

    for (i = 0; i < qg_json_len(facts); i++) {
        const qg_json_t *f = qg_json_at(facts, i);
        if (qg_json_truthy(qg_json_get(f, "individual")) &&
            strcmp(qg_json_str(qg_json_get(f, "object")), model_id) == 0)
            return 1;
    }
    return 0;
}

static qg_json_t *candidate(const qg_json_t *fact, int preferred)
{
    qg_json_t *c = qg_json_object();

    if (!c || qg_json_set(c, "modelId", qg_json_clone(qg_json_get(fact, "object"))) < 0 ||
        qg_json_set(c, "rule", qg_json_clone(qg_json_get(fact, "rule"))) < 0 ||
        qg_json_set(c, "bindings", qg_json_clone(qg_json_get(fact, "bindings"))) < 0 ||
        qg_json_set_bool(c, "preferred", preferred) < 0) {
        qg_json_destroy(c);
        return NULL;
    }
    return c;
}

/* Preferred candidates first, then the preference order. */
static int better(const sel_state_t *st, const sel_pick_t *pk, const qg_json_t *m, int preferred)
{
    int best_preferred;

    if (!pk->best)
        return 1;
    best_preferred = qg_json_truthy(qg_json_get(pk->best_cand, "preferred"));
    if (preferred != best_preferred)
        return preferred;
    return qg_sel_pref_compare(&st->pref, m, pk->best) < 0;
}

static qg_error_t *pick(const sel_state_t *st, const qg_json_t *selected,
                        const qg_json_t *preferred, sel_pick_t *pk)
{
    size_t i;

    for (i = 0; i < qg_json_len(selected); i++) {
        const qg_json_t *f = qg_json_at(selected, i);
        const char *id = qg_json_str(qg_json_get(f, "object"));
        const qg_json_t *m =
            qg_json_truthy(qg_json_get(f, "individual")) ? qg_registry_find(st->reg, id) : NULL;
        int pref = m && is_in(preferred, id);
        qg_json_t *c;
        if (!m) {
            if (qg_json_append(pk->ignored, qg_json_clone(qg_json_get(f, "object"))) < 0)
                return qg_error_new_oom("selection: out of memory");
            continue;
        }
        if (!(c = candidate(f, pref)) || qg_json_append(pk->candidates, c) < 0)
            return qg_error_new_oom("selection: out of memory");
        if (better(st, pk, m, pref)) {
            pk->best = m;
            pk->best_cand = qg_json_at(pk->candidates, qg_json_len(pk->candidates) - 1);
        }
        pk->npreferred += (size_t)pref;
    }
    return NULL;
}

/* ---------------------------------------------------------------- result */

static qg_json_t *model_ids(const qg_registry_t *reg)
{
    qg_json_t *a = qg_json_array();
    size_t i;

    for (i = 0; a && i < qg_registry_count(reg); i++)
        if (qg_json_append(a, qg_json_string(qg_registry_model_id(qg_registry_at(reg, i)))) < 0) {
            qg_json_destroy(a);
            return NULL;
        }
    return a;
}

static void join_ids(const qg_json_t *arr, const char *field, char *buf, size_t n)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < qg_json_len(arr) && len < n; i++) {
        const qg_json_t *v = qg_json_at(arr, i);
        const char *s = field ? qg_json_str(qg_json_get(v, field)) : qg_json_str(v);
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", s ? s : "?");
        len += w > 0 ? (size_t)w : 0;
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

/* QueryGoal.selectedModel = registry entry + manifestPath + selectedBy. */
static int set_selected(qg_json_t *goal, const qg_json_t *model, const char *by)
{
    qg_json_t *sm = qg_json_clone(model);
    const char *mf = qg_json_str(qg_json_get(model, "metaDataFile"));

    if (!sm || (mf && qg_json_set_str(sm, "manifestPath", mf) < 0) ||
        qg_json_set_str(sm, "selectedBy", by) < 0) {
        qg_json_destroy(sm);
        return -1;
    }
    return qg_json_set(goal, "selectedModel", sm);
}

static int write_reason(qg_json_t *res, const char *goal_type, const sel_pick_t *pk)
{
    char ids[1024], buf[1400];

    if (!pk->best) {
        join_ids(qg_json_get(res, "considered"), NULL, ids, sizeof(ids));
        snprintf(buf, sizeof(buf),
                 "no rule selected a model for goalType '%s' (models considered: %s)", goal_type,
                 ids);
    } else {
        join_ids(pk->candidates, "modelId", ids, sizeof(ids));
        snprintf(buf, sizeof(buf),
                 "rule '%s' selected %s for goalType '%s' (candidates: %s; %s by %s)",
                 qg_json_str(qg_json_get(pk->best_cand, "rule")), qg_registry_model_id(pk->best),
                 goal_type, ids, pk->npreferred ? "preferredModel, then" : "ordered",
                 qg_json_str(qg_json_get(res, "preference")));
    }
    return qg_json_set_str(res, "reason", buf);
}

static int write_result(const sel_state_t *st, qg_stage_ctx_t *ctx, sel_pick_t *pk,
                        const qg_swrl_stats_t *stats, size_t nfacts)
{
    qg_json_t *res = ctx->result, *f = qg_json_object();
    const char *gt = qg_json_str(qg_json_get(ctx->goal, "goalType"));
    int rc = 0;

    rc |= qg_json_set_str(res, "provenance", "rules");
    rc |= qg_json_set(
        res, "rule", pk->best ? qg_json_clone(qg_json_get(pk->best_cand, "rule")) : qg_json_null());
    rc |= qg_json_set(res, "bindings",
                      pk->best ? qg_json_clone(qg_json_get(pk->best_cand, "bindings"))
                               : qg_json_object());
    rc |= qg_json_set(res, "modelId",
                      pk->best ? qg_json_string(qg_registry_model_id(pk->best)) : qg_json_null());
    rc |= qg_json_set(res, "candidates", qg_json_clone(pk->candidates));
    rc |= qg_json_set(res, "considered", model_ids(st->reg));
    rc |= qg_json_set_str(res, "preference", st->pref_text);
    if (qg_json_len(pk->ignored))
        rc |= qg_json_set(res, "ignored", qg_json_clone(pk->ignored));
    rc |= qg_json_set_num(f, "facts", (double)nfacts);
    rc |= qg_json_set_num(f, "inferred", (double)stats->inferred);
    rc |= qg_json_set_num(f, "passes", (double)stats->rounds);
    rc |= qg_json_set(res, "inference", f);
    rc |= qg_json_set_str(res, "rulesFile", st->rules_path);
    rc |= qg_json_set_str(res, "registryFile", qg_registry_path(st->reg));
    rc |= write_reason(res, gt ? gt : "(none)", pk);
    if (pk->best)
        rc |= set_selected(ctx->goal, pk->best, qg_json_str(qg_json_get(pk->best_cand, "rule")));
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- run */

static qg_error_t *infer(const sel_state_t *st, qg_stage_ctx_t *ctx, qg_swrl_kb_t *kb,
                         sel_pick_t *pk)
{
    char gind[512];
    qg_swrl_stats_t stats = {0, 0, 0};
    qg_json_t *sel = NULL, *pref = NULL;
    qg_error_t *err;
    size_t nfacts;

    goal_individual(st, ctx->goal, gind, sizeof(gind));
    if ((err = add_goal_facts(kb, gind, ctx->goal)) || (err = add_model_facts(kb, st->reg)))
        return err;
    nfacts = qg_swrl_kb_size(kb);
    if ((err = qg_swrl_run(st->rules, kb, &stats)))
        return qg_error_wrap(err, "%s", st->rules_path);
    sel = qg_swrl_kb_query(kb, st->rules, "selectedModel", gind);
    pref = qg_swrl_kb_query(kb, st->rules, "preferredModel", gind);
    if (!sel || !pref)
        err = qg_error_new_oom("selection: out of memory");
    if (!err)
        err = pick(st, sel, pref, pk);
    if (!err && write_result(st, ctx, pk, &stats, nfacts) < 0)
        err = qg_error_new_oom("selection: out of memory");
    qg_json_destroy(sel);
    qg_json_destroy(pref);
    return err;
}

static qg_error_t *select_by_rules(const sel_state_t *st, qg_stage_ctx_t *ctx)
{
    sel_pick_t pk;
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    qg_error_t *err;

    memset(&pk, 0, sizeof(pk));
    pk.candidates = qg_json_array();
    pk.ignored = qg_json_array();
    if (!kb || !pk.candidates || !pk.ignored)
        err = qg_error_new_oom("selection: out of memory");
    else
        err = infer(st, ctx, kb, &pk);
    qg_json_destroy(pk.candidates);
    qg_json_destroy(pk.ignored);
    qg_swrl_kb_destroy(kb);
    return err;
}

static qg_error_t *keep_preselected(const sel_state_t *st, qg_stage_ctx_t *ctx,
                                    const qg_json_t *pre)
{
    const char *id = qg_json_is(pre, QG_JSON_STRING) ? qg_json_str(pre)
                                                     : qg_json_str(qg_json_get(pre, "modelId"));
    const qg_json_t *m = qg_registry_find(st->reg, id);
    char ids[1024], reason[1400];
    qg_json_t *res = ctx->result;
    int rc = 0;

    if (!id)
        return qg_error_new_bad_input(
            "QueryGoal.selectedModel: expected a modelId string or {modelId}");
    if (!m) {
        qg_json_t *known = model_ids(st->reg);
        join_ids(known, NULL, ids, sizeof(ids));
        qg_json_destroy(known);
        return qg_error_new_bad_input(
            "QueryGoal.selectedModel: unknown model '%s' (registry has: %s)", id, ids);
    }
    snprintf(reason, sizeof(reason), "goal named model %s; kept (pre_selected)", id);
    rc |= qg_json_set_str(res, "provenance", "pre_selected");
    rc |= qg_json_set(res, "rule", qg_json_null());
    rc |= qg_json_set_str(res, "modelId", id);
    rc |= qg_json_set_str(res, "reason", reason);
    rc |= qg_json_set_str(res, "registryFile", qg_registry_path(st->reg));
    rc |= set_selected(ctx->goal, m, "pre_selected");
    return rc ? qg_error_new_oom("selection: out of memory") : NULL;
}

static qg_error_t *sel_run(void *state, qg_stage_ctx_t *ctx)
{
    const sel_state_t *st = state;
    const qg_json_t *pre = qg_json_get(ctx->goal, "selectedModel");

    if (!st)
        return qg_error_new_fatal("selection: not initialized");
    if (pre && !qg_json_is(pre, QG_JSON_NULL))
        return keep_preselected(st, ctx, pre);
    return select_by_rules(st, ctx);
}

static int sel_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t n)
{
    const qg_json_t *sm = qg_json_get(ctx->goal, "selectedModel");
    const char *id = qg_json_str(qg_json_get(sm, "modelId"));
    const char *why = qg_json_str(qg_json_get(ctx->result, "reason"));

    (void)state;
    if (id) {
        snprintf(reason, n, "selected %s (%s)", id,
                 qg_json_str(qg_json_get(sm, "selectedBy"))
                     ? qg_json_str(qg_json_get(sm, "selectedBy"))
                     : "rules");
        return 1;
    }
    snprintf(reason, n, "%s", why ? why : "no model was selected");
    return 0;
}

const qg_stage_ops_t qg_stage_selection = {
    .name = "swrlSelection",
    .program = "qg-selection",
    .summary = "choose the model for a goal by SWRL rules over the model registry",
    .options = qg_selection_options,
    .init = sel_init,
    .run = sel_run,
    .gate = sel_gate,
    .destroy = sel_destroy,
};
