/*
 * test_selection.c - the swrlSelection stage through its ops (init, run, gate)
 * with the default registry and rules, and with broken configuration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selection.h"
#include "config.h"
#include "goal.h"

#define GOAL_FILE QG_SOURCE_DIR "/tests/data/goals/goal3-p1001.json"

static qg_config_t *make_cfg(const char *registry, const char *rules, const char *pref)
{
    qg_config_t *cfg = qg_config_new();
    char errstr[256];

    cr_assert(cfg);
    cr_assert_eq(qg_config_add_options(cfg, qg_stage_selection.options), 0);
    cr_assert_eq(qg_config_set(cfg, "registry.file",
                               registry ? registry : QG_SOURCE_DIR "/config/registry.yaml", errstr,
                               sizeof(errstr)),
                 0, "%s", errstr);
    cr_assert_eq(qg_config_set(cfg, "rules.file",
                               rules ? rules : QG_SOURCE_DIR "/config/rules.swrl", errstr,
                               sizeof(errstr)),
                 0, "%s", errstr);
    if (pref)
        cr_assert_eq(qg_config_set(cfg, "selection.preference", pref, errstr, sizeof(errstr)), 0);
    return cfg;
}

static void *init_ok(const qg_config_t *cfg)
{
    void *state = NULL;
    qg_error_t *err = qg_stage_selection.init(&state, cfg);

    cr_assert_null(err, "init: %s", qg_error_message(err));
    cr_assert(state);
    return state;
}

static char *init_fails(const qg_config_t *cfg)
{
    void *state = NULL;
    qg_error_t *err = qg_stage_selection.init(&state, cfg);
    char *msg;

    cr_assert(err, "init should fail");
    cr_assert_null(state);
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL, "class %d: %s", qg_error_class(err),
                 qg_error_message(err));
    msg = strdup(qg_error_message(err));
    qg_error_destroy(err);
    return msg;
}

/* The sample goal with parameter `key` set to a JSON value (or unchanged). */
static qg_json_t *goal_with(const char *key, const char *json_value)
{
    char errstr[256];
    qg_json_t *doc = qg_json_parse_file(GOAL_FILE, errstr, sizeof(errstr));
    qg_json_t *params, *p;

    cr_assert(doc, "%s", errstr);
    if (!key)
        return doc;
    params = qg_json_path(doc, "QueryGoal.parameters");
    p = qg_json_object();
    qg_json_set_str(p, "key", key);
    qg_json_set(p, "value", qg_json_parse(json_value, strlen(json_value), NULL, 0));
    if (!strcmp(key, "quantity")) {
        qg_json_set(qg_json_at(params, 1), "value",
                    qg_json_parse(json_value, strlen(json_value), NULL, 0));
        qg_json_destroy(p);
    } else {
        qg_json_append(params, p);
    }
    return doc;
}

/* Run locally; returns the error (NULL when the gate passed). */
static qg_error_t *run_doc(void *state, const qg_config_t *cfg, qg_json_t *doc)
{
    return qg_stage_run_local(&qg_stage_selection, state, cfg, doc, "test", NULL, NULL);
}

static const qg_json_t *stage_result(const qg_json_t *doc)
{
    const qg_json_t *stages = qg_json_path(doc, "executionLog.stages");

    return qg_json_get(qg_json_at(stages, qg_json_len(stages) - 1), "result");
}

static const char *selected_id(const qg_json_t *doc)
{
    return qg_json_str(qg_json_path(doc, "QueryGoal.selectedModel.modelId"));
}

Test(selection, default_goal_selects_nsga2_with_provenance)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL);
    qg_error_t *err = run_doc(st, cfg, doc);
    const qg_json_t *res = stage_result(doc), *sm;
    const char *mf;

    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_str_eq(selected_id(doc), "NSGA2SimulatorModel");
    sm = qg_json_path(doc, "QueryGoal.selectedModel");
    cr_assert_str_eq(qg_json_str(qg_json_path(sm, "runner.type")), "builtin");
    cr_assert_str_eq(qg_json_str(qg_json_path(sm, "runner.engine")), "nsga2");
    cr_assert_str_eq(qg_json_str(qg_json_get(sm, "purpose")), "production_time_prediction");
    cr_assert(qg_json_str(qg_json_get(sm, "version")));
    mf = qg_json_str(qg_json_get(sm, "metaDataFile"));
    cr_assert(mf && mf[0] == '/' && access(mf, R_OK) == 0, "metaDataFile %s", mf);
    cr_assert_str_eq(qg_json_str(qg_json_get(sm, "manifestPath")), mf);
    cr_assert_str_eq(qg_json_str(qg_json_get(res, "provenance")), "rules");
    cr_assert_str_eq(qg_json_str(qg_json_get(res, "rule")), "goal3_production_time");
    cr_assert_str_eq(qg_json_str(qg_json_path(res, "bindings.m")), "NSGA2SimulatorModel");
    cr_assert_str_eq(qg_json_str(qg_json_path(res, "bindings.g")), "goal3-p1001-0001");
    cr_assert_eq(qg_json_len(qg_json_get(res, "candidates")), 2);
    cr_assert_eq(qg_json_len(qg_json_get(res, "considered")), 2);
    cr_assert(strstr(qg_json_str(qg_json_get(res, "preference")), "performance.accuracy desc"));
    cr_assert(strstr(qg_json_str(qg_json_get(res, "reason")), "selected NSGA2SimulatorModel"));
    cr_assert(qg_json_truthy(qg_json_path(doc, "executionLog.stages[0].gate.passed")));
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

static void expect_choice(const char *key, const char *value, const char *want)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(key, value);
    qg_error_t *err = run_doc(st, cfg, doc);

    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_str_eq(selected_id(doc), want, "%s=%s", key, value);
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, fast_mode_and_small_orders_prefer_the_fast_model)
{
    expect_choice("optimizationMode", "\"fast\"", "FastDispatchEstimator");
    expect_choice("optimizationMode", "\"FAST\"", "FastDispatchEstimator");
    expect_choice("optimizationMode", "\"accurate\"", "NSGA2SimulatorModel");
    expect_choice("quantity", "3", "FastDispatchEstimator");
    expect_choice("quantity", "5", "FastDispatchEstimator");
    expect_choice("quantity", "6", "NSGA2SimulatorModel");
    expect_choice("quantity", "\"3\"", "FastDispatchEstimator"); /* numeric text counts */
    expect_choice("quantity", "\"3 units\"", "NSGA2SimulatorModel");
    expect_choice("quantity", "\"2.5\"", "FastDispatchEstimator");
}

Test(selection, preference_from_config_overrides_rules_file)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, "performance.avgLatencySeconds asc");
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL);

    cr_assert_null(run_doc(st, cfg, doc));
    cr_assert_str_eq(selected_id(doc), "FastDispatchEstimator");
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, deterministic)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    char *first = NULL;
    int i;

    for (i = 0; i < 10; i++) {
        qg_json_t *doc = goal_with(NULL, NULL);
        char *txt;
        cr_assert_null(run_doc(st, cfg, doc));
        txt = qg_json_serialize(qg_json_get(stage_result(doc), "candidates"), 0, NULL);
        if (!first)
            first = txt;
        else {
            cr_assert_str_eq(txt, first);
            free(txt);
        }
        qg_json_destroy(doc);
    }
    free(first);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, preselected_known_model_is_kept)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL), *obj;

    qg_json_set_str(qg_json_get(doc, "QueryGoal"), "selectedModel", "FastDispatchEstimator");
    cr_assert_null(run_doc(st, cfg, doc));
    cr_assert_str_eq(selected_id(doc), "FastDispatchEstimator");
    cr_assert_str_eq(qg_json_str(qg_json_get(stage_result(doc), "provenance")), "pre_selected");
    cr_assert(qg_json_str(qg_json_path(doc, "QueryGoal.selectedModel.metaDataFile")));
    qg_json_destroy(doc);

    doc = goal_with(NULL, NULL);
    obj = qg_json_object();
    qg_json_set_str(obj, "modelId", "NSGA2SimulatorModel");
    qg_json_set(qg_json_get(doc, "QueryGoal"), "selectedModel", obj);
    cr_assert_null(run_doc(st, cfg, doc));
    cr_assert_str_eq(selected_id(doc), "NSGA2SimulatorModel");
    cr_assert_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.selectedModel.runner.type")),
                     "builtin");
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, preselected_unknown_model_is_bad_input)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL);
    qg_error_t *err;

    qg_json_set_str(qg_json_get(doc, "QueryGoal"), "selectedModel", "GhostModel");
    err = run_doc(st, cfg, doc);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), "unknown model 'GhostModel'"), "%s",
              qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, no_rule_fires_gate_names_goal_type_and_candidates)
{
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL);
    qg_error_t *err;
    const char *reason;

    qg_json_set_str(qg_json_get(doc, "QueryGoal"), "goalType", "goal7_unheard_of");
    err = run_doc(st, cfg, doc);
    cr_assert_eq(qg_error_class(err), QG_ERR_GATE_FAILED, "%s", qg_error_message(err));
    qg_error_destroy(err);
    cr_assert_null(qg_json_path(doc, "QueryGoal.selectedModel"));
    reason = qg_json_str(qg_json_path(doc, "executionLog.stages[0].gate.reason"));
    cr_assert(reason && strstr(reason, "goal7_unheard_of"), "%s", reason);
    cr_assert(strstr(reason, "NSGA2SimulatorModel") && strstr(reason, "FastDispatchEstimator"),
              "%s", reason);
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, seed_registry_works_with_default_rules)
{
    qg_config_t *cfg = make_cfg(QG_SHARED_DIR "/seed-formats/model_registry.json", NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *doc = goal_with(NULL, NULL);

    cr_assert_null(run_doc(st, cfg, doc));
    cr_assert_str_eq(selected_id(doc), "NSGA2SimulatorModel");
    /* The seed's container.executionType "kubernetes-job" picks the kubernetes runner. */
    cr_assert_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.selectedModel.runner.type")),
                     "kubernetes");
    qg_json_destroy(doc);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

/* ---------------------------------------------------------------- init errors */

static char rules_path[64];

static const char *write_rules(const char *text)
{
    FILE *f;
    int fd;

    snprintf(rules_path, sizeof(rules_path), "/tmp/qg-rules-XXXXXX");
    fd = mkstemp(rules_path);
    cr_assert_geq(fd, 0);
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return rules_path;
}

static void expect_init_error(const char *rules_text, const char *suffix)
{
    qg_config_t *cfg = make_cfg(NULL, write_rules(rules_text), NULL);
    char *msg = init_fails(cfg), want[512];

    snprintf(want, sizeof(want), "%s:%s", rules_path, suffix);
    cr_assert_str_eq(msg, want);
    unlink(rules_path);
    free(msg);
    qg_config_destroy(cfg);
}

Test(selection_init, rule_file_errors_stop_the_worker)
{
    expect_init_error("# fine\nr1: QueryGoal(?g) ^ Model(?m) -> selectedModel(?g, ?m)\n"
                      "r2: QueryGoal(?g) ^^ Model(?m) -> selectedModel(?g, ?m)\n",
                      "3:19: expected '^' or '->', got '^^'");
    expect_init_error("r: QueryGoal(?g) -> selectedModel(?g, ?m)\n",
                      "1:21: unsafe rule: variable ?m in the head is not bound in the body");
    expect_init_error("r: QueryGoal(?g) ^ swrlb:fancy(?g) -> Done(?g)\n",
                      "1:20: unknown built-in swrlb:fancy");
    expect_init_error("preference: accuracy sideways\n",
                      " preference: direction must be asc or desc, got \"sideways\"");
}

Test(selection_init, missing_files_and_bad_preference)
{
    qg_config_t *cfg = make_cfg("/nonexistent/registry.yaml", NULL, NULL);
    char *msg = init_fails(cfg);

    cr_assert(strstr(msg, "/nonexistent/registry.yaml: cannot open"), "%s", msg);
    free(msg);
    qg_config_destroy(cfg);
    cfg = make_cfg(NULL, "/nonexistent/rules.swrl", NULL);
    msg = init_fails(cfg);
    cr_assert(strstr(msg, "/nonexistent/rules.swrl: cannot open rules file"), "%s", msg);
    free(msg);
    qg_config_destroy(cfg);
    cfg = make_cfg(NULL, NULL, "accuracy desc,");
    msg = init_fails(cfg);
    cr_assert_str_eq(msg, "selection.preference: preference: trailing ','");
    free(msg);
    qg_config_destroy(cfg);
}

/* ---------------------------------------------------------------- preference */

Test(preference, order_and_missing_values)
{
    const char *a_txt = "{\"modelId\": \"A\", \"performance\": {\"accuracy\": 0.8, "
                        "\"avgLatency\": \"2s\"}}";
    const char *b_txt = "{\"modelId\": \"B\", \"performance\": {\"accuracy\": 0.8, "
                        "\"avgLatency\": \"900ms\"}}";
    const char *c_txt = "{\"modelId\": \"C\"}";
    qg_json_t *a = qg_json_parse(a_txt, strlen(a_txt), NULL, 0);
    qg_json_t *b = qg_json_parse(b_txt, strlen(b_txt), NULL, 0);
    qg_json_t *c = qg_json_parse(c_txt, strlen(c_txt), NULL, 0);
    qg_sel_pref_t p;
    qg_error_t *err;

    cr_assert_null(qg_sel_pref_parse("accuracy desc, avgLatency asc", &p));
    cr_assert_eq(p.n, 2);
    cr_assert_gt(qg_sel_pref_compare(&p, a, b), 0, "900ms beats 2s");
    cr_assert_lt(qg_sel_pref_compare(&p, b, c), 0, "missing values sort last");
    cr_assert_lt(qg_sel_pref_compare(&p, c, b) * -1, 0);
    cr_assert_null(qg_sel_pref_parse("accuracy", &p));
    cr_assert_eq(p.n, 1);
    cr_assert_eq(p.desc[0], 0);
    cr_assert_null(qg_sel_pref_parse("  accuracy   desc ,avgLatency", &p));
    cr_assert_eq(p.n, 2);
    cr_assert_str_eq(p.key[1], "avgLatency");
    err = qg_sel_pref_parse("accuracy desc extra", &p);
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL);
    qg_error_destroy(err);
    err = qg_sel_pref_parse("accuracy,,x", &p);
    cr_assert_eq(qg_error_class(err), QG_ERR_FATAL);
    qg_error_destroy(err);
    cr_assert_null(qg_sel_pref_parse("", &p));
    cr_assert_lt(qg_sel_pref_compare(&p, a, b), 0, "modelId breaks ties");
    qg_json_destroy(a);
    qg_json_destroy(b);
    qg_json_destroy(c);
}

/* ---------------------------------------------------------------- odd goals */

Test(selection, odd_goals_never_crash)
{
    static const char *const goals[] = {
        "{}",
        "{\"goalType\": 42, \"parameters\": \"none\"}",
        "{\"goalType\": \"goal3_predict_production_time\", \"parameters\": [1, null, {}, "
        "{\"key\": \"\"}, {\"key\": 7, \"value\": 1}, {\"key\": \"quantity\"}]}",
        "{\"goalId\": \"NSGA2SimulatorModel\", \"goalType\": \"goal3_predict_production_time\"}",
        "{\"goalType\": \"goal3_predict_production_time\", \"parameters\": [{\"key\": "
        "\"quantity\", "
        "\"value\": {\"a\": [1, {\"b\": [true, null, 1e308]}]}}, {\"key\": \"selectedModel\", "
        "\"value\": \"FastDispatchEstimator\"}, {\"key\": \"quantity\", \"value\": \"1e999\"}]}",
        "{\"selectedModel\": {\"version\": \"1\"}}",
        "{\"selectedModel\": 5}",
        "{\"selectedModel\": null, \"goalType\": \"goal3_predict_production_time\"}",
    };
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    size_t i;

    for (i = 0; i < sizeof(goals) / sizeof(goals[0]); i++) {
        qg_json_t *goal = qg_json_parse(goals[i], strlen(goals[i]), NULL, 0);
        qg_stage_ctx_t ctx = {.cfg = cfg, .goal = goal, .result = qg_json_object()};
        qg_error_t *err;
        char reason[512];
        cr_assert(goal, "goal %zu", i);
        err = qg_stage_selection.run(st, &ctx);
        if (err)
            cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT, "goal %zu: %s", i,
                         qg_error_message(err));
        else
            qg_stage_selection.gate(st, &ctx, reason, sizeof(reason));
        qg_error_destroy(err);
        qg_json_destroy(ctx.result);
        qg_json_destroy(goal);
    }
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}

Test(selection, goal_named_like_a_model_is_a_separate_individual)
{
    const char *txt = "{\"goalId\": \"NSGA2SimulatorModel\", \"goalType\": "
                      "\"goal3_predict_production_time\", \"parameters\": []}";
    qg_config_t *cfg = make_cfg(NULL, NULL, NULL);
    void *st = init_ok(cfg);
    qg_json_t *goal = qg_json_parse(txt, strlen(txt), NULL, 0);
    qg_stage_ctx_t ctx = {.cfg = cfg, .goal = goal, .result = qg_json_object()};

    cr_assert_null(qg_stage_selection.run(st, &ctx));
    cr_assert_str_eq(qg_json_str(qg_json_path(ctx.result, "bindings.g")),
                     "goal:NSGA2SimulatorModel");
    cr_assert_str_eq(qg_json_str(qg_json_path(goal, "selectedModel.modelId")),
                     "NSGA2SimulatorModel");
    qg_json_destroy(ctx.result);
    qg_json_destroy(goal);
    qg_stage_selection.destroy(st);
    qg_config_destroy(cfg);
}
