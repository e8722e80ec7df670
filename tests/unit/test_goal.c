#include <criterion/criterion.h>
#include <string.h>

#include "goal.h"

#define VALID                                                                                      \
    "{\"QueryGoal\":{\"goalId\":\"g1\",\"goalType\":\"goal3_predict_production_time\","            \
    "\"parameters\":[{\"key\":\"productType\",\"value\":\"P-1001\"},{\"key\":\"quantity\","        \
    "\"value\":50,\"type\":\"number\",\"required\":true}],\"outputSpec\":[\"estimatedTime\"],"     \
    "\"metadata\":{\"category\":\"prediction\",\"requiresModel\":true,\"pipelineStages\":"         \
    "[\"swrlSelection\",\"yamlBinding\",\"simulation\"]},\"userOwn\":{\"x\":[1,2]}},"              \
    "\"topLevelExtra\":7}"

static qg_json_t *parse_ok(const char *s)
{
    qg_error_t *err = NULL;
    qg_json_t *doc = qg_goal_parse(s, strlen(s), NULL, &err);
    cr_assert_not_null(doc, "expected valid, got: %s", qg_error_message(err));
    return doc;
}

static void expect_invalid(const char *s, const char *extra, const char *expected_msg)
{
    qg_error_t *err = NULL;
    qg_json_t *doc = qg_goal_parse(s, strlen(s), extra, &err);
    cr_assert_null(doc, "expected invalid: %s", s);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), expected_msg) != NULL, "expected \"%s\" in \"%s\"",
              expected_msg, qg_error_message(err));
    qg_error_destroy(err);
}

Test(goal, roundtrip_keeps_unknown_fields)
{
    qg_json_t *doc = parse_ok(VALID);
    char *out = qg_json_serialize(doc, 0, NULL);
    cr_assert_str_eq(out, VALID);
    free(out);
    qg_json_destroy(doc);
}

Test(goal, accessors)
{
    qg_json_t *doc = parse_ok(VALID);
    char buf[64];
    cr_assert_str_eq(qg_goal_id(doc), "g1");
    cr_assert_str_eq(qg_goal_type(doc), "goal3_predict_production_time");
    cr_assert_str_eq(qg_goal_param_text(doc, "productType", buf, sizeof(buf)), "P-1001");
    cr_assert_str_eq(qg_goal_param_text(doc, "quantity", buf, sizeof(buf)), "50");
    cr_assert_null(qg_goal_param_text(doc, "missing", buf, sizeof(buf)));
    qg_json_destroy(doc);
}

Test(goal, every_validation_error_names_its_path)
{
    expect_invalid("not json", NULL, "not JSON");
    expect_invalid("[1,2]", NULL, "$: expected a JSON object");
    expect_invalid("{}", NULL, "QueryGoal: required field is missing");
    expect_invalid("{\"QueryGoal\":[]}", NULL, "QueryGoal: expected object, got array");
    expect_invalid("{\"QueryGoal\":{}}", NULL, "QueryGoal.goalId: required field is missing");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"\"}}", NULL,
                   "QueryGoal.goalId: must not be empty");
    expect_invalid("{\"QueryGoal\":{\"goalId\":5}}", NULL, "QueryGoal.goalId: expected string");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\"}}", NULL, "QueryGoal.goalType: required");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"parameters\":{}}}", NULL,
                   "QueryGoal.parameters: expected array");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"parameters\":[7]}}", NULL,
                   "QueryGoal.parameters[0]: expected object");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"parameters\":[{\"value\":1}]}}",
        NULL, "QueryGoal.parameters[0].key: required");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"parameters\":[{\"key\":\"k\"}]}}",
        NULL, "QueryGoal.parameters[0].value: required");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"parameters\":[{\"key\":\"k\","
        "\"value\":1,\"required\":\"yes\"}]}}",
        NULL, "QueryGoal.parameters[0].required: expected boolean");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"outputSpec\":{}}}", NULL,
                   "QueryGoal.outputSpec: expected array");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\"}}", NULL,
                   "QueryGoal.metadata: required field is missing");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{}}}", NULL,
                   "QueryGoal.metadata.pipelineStages: required field is missing");
    expect_invalid("{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{"
                   "\"pipelineStages\":[]}}}",
                   NULL, "QueryGoal.metadata.pipelineStages: must name at least one stage");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"swrlSelection\",\"yamlBinding\",\"foo\"]}}}",
        NULL, "QueryGoal.metadata.pipelineStages[2]: unknown stage \"foo\"");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\",\"simulation\"]}}}",
        NULL, "QueryGoal.metadata.pipelineStages[1]: stage \"simulation\" appears twice");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"],\"requiresModel\":1}}}",
        NULL, "QueryGoal.metadata.requiresModel: expected boolean");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"],\"category\":1}}}",
        NULL, "QueryGoal.metadata.category: expected string");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"],\"actionPlan\":{}}}}",
        NULL, "QueryGoal.metadata.actionPlan: expected array");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"]},\"selectedModel\":3}}",
        NULL, "QueryGoal.selectedModel: expected string or object");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"]},\"selectedModel\":{}}}",
        NULL, "QueryGoal.selectedModel.modelId: required");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"]},\"outputs\":[]}}",
        NULL, "QueryGoal.outputs: expected object");
    expect_invalid(
        "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":{\"pipelineStages\":"
        "[\"simulation\"]}},\"executionLog\":{\"stages\":{}}}",
        NULL, "executionLog.stages: expected array");
}

Test(goal, extra_stages_are_accepted_when_configured)
{
    const char *s = "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"t\",\"metadata\":"
                    "{\"pipelineStages\":[\"passA\",\"passB\"]}}}";
    expect_invalid(s, NULL, "unknown stage \"passA\"");
    qg_error_t *err = NULL;
    qg_json_t *doc = qg_goal_parse(s, strlen(s), "passA, passB", &err);
    cr_assert_not_null(doc, "%s", qg_error_message(err));
    qg_json_destroy(doc);
    cr_assert_not(qg_goal_stage_known("pass", "passA,passB"));
}

Test(routing, next_stage_follows_the_goals_own_pipeline)
{
    qg_json_t *doc = parse_ok(VALID);
    int missing;
    cr_assert_str_eq(qg_goal_first_stage(doc), "swrlSelection");
    cr_assert_str_eq(qg_goal_next_stage(doc, "swrlSelection", &missing), "yamlBinding");
    cr_assert_str_eq(qg_goal_next_stage(doc, "yamlBinding", &missing), "simulation");
    cr_assert_null(qg_goal_next_stage(doc, "simulation", &missing));
    cr_assert_eq(missing, 0);
    cr_assert_null(qg_goal_next_stage(doc, "aasQuery", &missing));
    cr_assert_eq(missing, 1);
    qg_json_destroy(doc);
}

Test(routing, topic_and_group_names)
{
    char b[128];
    cr_assert_str_eq(qg_topic_stage(b, sizeof(b), "querygoal", "yamlBinding"),
                     "querygoal.yamlBinding");
    cr_assert_str_eq(qg_topic_retry(b, sizeof(b), "qg", "simulation"), "qg.simulation.retry");
    cr_assert_str_eq(qg_topic_completed(b, sizeof(b), "qg"), "qg.completed");
    cr_assert_str_eq(qg_topic_dlq(b, sizeof(b), "qg"), "qg.dlq");
    cr_assert_str_eq(qg_group_for_stage(b, sizeof(b), "qg", "simulation"), "qg.simulation.workers");
}

Test(execlog, stages_append_in_order_and_status_follows)
{
    qg_json_t *doc = parse_ok(VALID);
    cr_assert_eq(qg_goal_log_stage(doc, "swrlSelection", "completed", NULL, 1, "model selected",
                                   NULL, 1000, 1250, "w1", 0),
                 0);
    qg_json_t *log = qg_json_get(doc, "executionLog");
    cr_assert_str_eq(qg_json_str(qg_json_get(log, "goalId")), "g1");
    cr_assert_str_eq(qg_json_str(qg_json_get(log, "status")), "running");
    qg_json_t *res = qg_json_object();
    qg_json_set_str(res, "k", "v");
    qg_goal_log_stage(doc, "yamlBinding", "completed", res, 1, "ok", NULL, 2000, 2100, "w2", 0);
    cr_assert_str_eq(qg_json_str(qg_json_get(qg_goal_stage_result(doc, "yamlBinding"), "k")), "v");
    qg_error_t *err = qg_error_new(QG_ERR_GATE_FAILED, "no plan");
    qg_goal_log_stage(doc, "simulation", "failed", NULL, 0, "no plan", err, 3000, 3500, "w3", 1);
    qg_error_destroy(err);
    cr_assert_str_eq(qg_json_str(qg_json_get(log, "status")), "failed");
    cr_assert_str_eq(qg_json_str(qg_json_get(log, "failedStage")), "simulation");
    cr_assert_not_null(qg_json_get(log, "endTime"));
    qg_json_t *stages = qg_json_get(log, "stages");
    cr_assert_eq(qg_json_len(stages), 3);
    qg_json_t *e = qg_json_at(stages, 0);
    cr_assert_str_eq(qg_json_str(qg_json_get(e, "stage")), "swrlSelection");
    cr_assert_eq(qg_json_num(qg_json_get(e, "durationMs"), 0), 250);
    cr_assert(qg_json_truthy(qg_json_path(e, "gate.passed")));
    cr_assert_str_eq(qg_json_str(qg_json_path(e, "gate.reason")), "model selected");
    cr_assert_str_eq(qg_json_str(qg_json_get(e, "startedAt")), "1970-01-01T00:00:01.000Z");
    cr_assert_str_eq(qg_json_str(qg_json_path(qg_json_at(stages, 2), "error.class")),
                     "gate_failed");
    cr_assert_null(qg_goal_stage_entry(doc, "simulation"), "failed entry is not 'completed'");
    qg_json_destroy(doc);
}

Test(execlog, last_stage_completes_the_goal)
{
    qg_json_t *doc = parse_ok(VALID);
    qg_goal_log_stage(doc, "simulation", "completed", NULL, 1, "ok", NULL, 0, 10, "w", 1);
    cr_assert_str_eq(qg_json_str(qg_json_path(doc, "executionLog.status")), "completed");
    cr_assert_not_null(qg_json_path(doc, "executionLog.endTime"));
    qg_json_destroy(doc);
}
