/* The stage-independent fate of one record, exercised with the pass-through stage. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "goal.h"
#include "kafka.h"
#include "process.h"

extern const qg_stage_ops_t qg_stage_passthrough;

static qg_config_t *cfg;
static void *state;
static volatile sig_atomic_t cancel_flag;
static qg_processor_t proc;

static void setup(void)
{
    char err[256];
    cfg = qg_config_new();
    qg_config_add_options(cfg, qg_kafka_options);
    qg_config_add_options(cfg, (const qg_option_t[]){QG_OPT_STR("stage", NULL, ""), QG_OPT_END});
    qg_config_add_options(cfg, qg_stage_passthrough.options);
    qg_config_set(cfg, "stage", "passA", err, sizeof(err));
    qg_config_set(cfg, "passthrough.fail.param", "failWith", err, sizeof(err));
    cr_assert_null(qg_stage_passthrough.init(&state, cfg));
    proc = (qg_processor_t){
        .ops = &qg_stage_passthrough,
        .state = state,
        .cfg = cfg,
        .stage = "passA",
        .worker_id = "w-test",
        .max_bytes = 4096,
        .extra_stages = "passA,passB",
        .max_attempts = 3,
        .cancel = &cancel_flag,
    };
}

static void teardown(void)
{
    qg_stage_passthrough.destroy(state);
    qg_config_destroy(cfg);
}

TestSuite(process, .init = setup, .fini = teardown);

#define GOAL(stages, extra)                                                                        \
    "{\"QueryGoal\":{\"goalId\":\"g7\",\"goalType\":\"t\",\"parameters\":[" extra "],"             \
    "\"metadata\":{\"pipelineStages\":[" stages "]},\"mine\":{\"keep\":true}}}"

static void run(const char *value, int attempt, qg_outcome_t *o)
{
    qg_process(&proc, value, strlen(value), attempt, o);
}

Test(process, routes_to_next_stage_with_log_entry)
{
    qg_outcome_t o;
    run(GOAL("\"passA\",\"passB\"", ""), 1, &o);
    cr_assert_eq(o.kind, QG_OUT_NEXT);
    cr_assert_str_eq(o.next_stage, "passB");
    cr_assert_str_eq(o.goal_id, "g7");
    char err[128];
    qg_json_t *doc = qg_json_parse(o.value, o.len, err, sizeof(err));
    cr_assert(qg_json_truthy(qg_json_path(doc, "QueryGoal.mine.keep")), "user field lost");
    qg_json_t *e = qg_goal_stage_entry(doc, "passA");
    cr_assert_not_null(e);
    cr_assert_str_eq(qg_json_str(qg_json_get(e, "worker")), "w-test");
    qg_json_destroy(doc);
    qg_outcome_clear(&o);
}

Test(process, last_stage_goes_to_completed)
{
    qg_outcome_t o;
    run(GOAL("\"passB\",\"passA\"", ""), 1, &o);
    cr_assert_eq(o.kind, QG_OUT_COMPLETED);
    cr_assert(strstr(o.value, "\"status\":\"completed\"") != NULL);
    qg_outcome_clear(&o);
}

Test(process, redelivered_goal_is_forwarded_not_rerun)
{
    qg_outcome_t first, again;
    run(GOAL("\"passA\",\"passB\"", ""), 1, &first);
    qg_process(&proc, first.value, first.len, 1, &again);
    cr_assert_eq(again.kind, QG_OUT_NEXT);
    cr_assert_eq(again.skipped, 1);
    cr_assert_null(again.value, "forwarded unchanged");
    qg_outcome_clear(&first);
    qg_outcome_clear(&again);
}

static void expect_dlq(const char *value, qg_error_class_t cls, const char *msg)
{
    qg_outcome_t o;
    qg_process(&proc, value, strlen(value), 1, &o);
    cr_assert_eq(o.kind, QG_OUT_DLQ, "expected DLQ for %s", value);
    cr_assert_eq(qg_error_class(o.err), cls, "class %s for %s",
                 qg_error_class_name(qg_error_class(o.err)), value);
    cr_assert(strstr(qg_error_message(o.err), msg) != NULL, "\"%s\" not in \"%s\"", msg,
              qg_error_message(o.err));
    qg_outcome_clear(&o);
}

Test(process, malformed_input_is_dead_lettered_with_a_reason)
{
    expect_dlq("not json at all", QG_ERR_BAD_INPUT, "not JSON");
    expect_dlq("\"a string\"", QG_ERR_BAD_INPUT, "expected a JSON object");
    expect_dlq("{\"other\":1}", QG_ERR_BAD_INPUT, "QueryGoal: required");
    expect_dlq("{\"QueryGoal\":{\"goalType\":\"t\"}}", QG_ERR_BAD_INPUT, "QueryGoal.goalId");
    expect_dlq(GOAL("\"passA\",\"zzz\"", ""), QG_ERR_BAD_INPUT, "unknown stage \"zzz\"");
    expect_dlq(GOAL("\"passB\"", ""), QG_ERR_BAD_INPUT, "stage \"passA\" is not in this goal");
    expect_dlq("", QG_ERR_BAD_INPUT, "not JSON");
    char big[5000];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_dlq(big, QG_ERR_BAD_INPUT, "exceeds goal.max.bytes");
}

Test(process, duplicate_member_names_are_dead_lettered)
{
    expect_dlq("{\"QueryGoal\":{\"goalId\":\"a\",\"goalId\":\"b\",\"goalType\":\"t\","
               "\"metadata\":{\"pipelineStages\":[\"passA\"]}}}",
               QG_ERR_BAD_INPUT, "\"goalId\" twice");
}

/* Goal type t declares n: integer 1..10; the first stage of the pipeline checks it. */
Test(process, first_stage_checks_parameters_against_the_goal_type)
{
    char path[] = "/tmp/qg-goaltypes-XXXXXX", err[256];
    int fd = mkstemp(path);
    const char *yaml = "goals:\n  - goalType: t\n    pipelineStages: [passA, passB]\n"
                       "    parameters:\n      - {key: n, type: integer, required: true, min: 1, "
                       "max: 10}\n";
    cr_assert(fd >= 0 && write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
    close(fd);
    cr_assert_eq(qg_config_set(cfg, "goal.types.file", path, err, sizeof(err)), 0, "%s", err);
    void *st = NULL;
    qg_error_t *e = qg_stage_init(&qg_stage_passthrough, &st, cfg);
    cr_assert_null(e, "%s", qg_error_message(e));
    qg_stage_passthrough.destroy(st);
    expect_dlq(GOAL("\"passA\",\"passB\"", "{\"key\":\"n\",\"value\":2.5}"), QG_ERR_BAD_INPUT,
               "QueryGoal.parameters[0] (n): must be a whole number");
    expect_dlq(GOAL("\"passA\",\"passB\"", "{\"key\":\"n\",\"value\":11}"), QG_ERR_BAD_INPUT,
               "(n): must be between 1 and 10");
    expect_dlq(GOAL("\"passA\"", ""), QG_ERR_BAD_INPUT, "t needs the parameter n");
    qg_outcome_t o;
    run(GOAL("\"passA\",\"passB\"", "{\"key\":\"n\",\"value\":10}"), 1, &o);
    cr_expect_eq(o.kind, QG_OUT_NEXT, "%s", qg_error_message(o.err));
    qg_outcome_clear(&o);
    /* Not the first stage: the entry check already happened upstream. */
    run(GOAL("\"passB\",\"passA\"", "{\"key\":\"n\",\"value\":0}"), 1, &o);
    cr_expect_eq(o.kind, QG_OUT_COMPLETED, "%s", qg_error_message(o.err));
    qg_outcome_clear(&o);
    unlink(path);
}

Test(process, stage_errors_keep_their_class)
{
    expect_dlq(GOAL("\"passA\"", "{\"key\":\"failWith\",\"value\":\"stage_error\"}"),
               QG_ERR_STAGE_ERROR, "failure requested");
    expect_dlq(GOAL("\"passA\"", "{\"key\":\"failWith\",\"value\":\"bad_input\"}"),
               QG_ERR_BAD_INPUT, "failure requested");
}

Test(process, transient_failures_retry_then_exhaust)
{
    const char *g = GOAL("\"passA\"", "{\"key\":\"failWith\",\"value\":\"transient\"}");
    qg_outcome_t o;
    run(g, 1, &o);
    cr_assert_eq(o.kind, QG_OUT_RETRY);
    cr_assert_eq(o.attempts, 1);
    qg_outcome_clear(&o);
    run(g, 3, &o);
    cr_assert_eq(o.kind, QG_OUT_DLQ);
    cr_assert_eq(qg_error_class(o.err), QG_ERR_TRANSIENT_EXHAUSTED);
    cr_assert(strstr(qg_error_message(o.err), "after 3 attempts") != NULL);
    qg_outcome_clear(&o);
}

Test(process, fatal_stops_without_output)
{
    qg_outcome_t o;
    run(GOAL("\"passA\"", "{\"key\":\"failWith\",\"value\":\"fatal\"}"), 1, &o);
    cr_assert_eq(o.kind, QG_OUT_FATAL);
    qg_outcome_clear(&o);
}

Test(dlq, headers_follow_kafka_connect_naming)
{
    rd_kafka_headers_t *h = qg_dlq_headers_new("querygoal.yamlBinding", 3, 42, "yamlBinding",
                                               "gate_failed", "source Machines failed", "w1", 2, 0);
    const struct {
        const char *name, *value;
    } want[] = {
        {"__connect.errors.topic", "querygoal.yamlBinding"},
        {"__connect.errors.partition", "3"},
        {"__connect.errors.offset", "42"},
        {"__connect.errors.stage", "yamlBinding"},
        {"__connect.errors.class", "gate_failed"},
        {"__connect.errors.exception.message", "source Machines failed"},
        {"__connect.errors.worker", "w1"},
        {"__connect.errors.attempts", "2"},
        {"__connect.errors.timestamp", "1970-01-01T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const void *v;
        size_t n;
        cr_assert_eq(rd_kafka_header_get_last(h, want[i].name, &v, &n), 0, "%s", want[i].name);
        cr_assert_eq(n, strlen(want[i].value));
        cr_assert(!memcmp(v, want[i].value, n), "%s", want[i].name);
    }
    rd_kafka_headers_destroy(h);
}
