/*
 * test_simulation.c - the simulation stage through qg_stage_run_local: the
 * seed goal on the seed factory with the builtin engine, exec models, claim
 * checks, limits, bad input, output mapping and the gate.
 *
 * The scenario fixture tests/data/simulators/seed-scenario.json is the seed
 * factory (../shared/factory/seed-factory) converted by the engine; the first
 * test checks it still is (QG_REGEN=1 rewrites it).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "engine/engine.h"
#include "goal.h"
#include "sha256.h"
#include "stage.h"
#include "simulation.h"

extern const qg_stage_ops_t qg_stage_simulation;

#define FIXTURE  QG_SOURCE_DIR "/tests/data/simulators/seed-scenario.json"
#define SIMS     QG_SOURCE_DIR "/tests/data/simulators/"
#define SEED_DIR QG_SHARED_DIR "/factory/seed-factory/"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static qg_json_t *parse(const char *text)
{
    char err[256];
    qg_json_t *v = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_assert_not_null(v, "fixture JSON: %s", err);
    return v;
}

static qg_json_t *load(const char *path)
{
    char err[512];
    qg_json_t *v = qg_json_parse_file(path, err, sizeof(err));
    cr_assert_not_null(v, "%s", err);
    return v;
}

Test(simulation, fixture_is_the_seed_factory)
{
    const char *names[] = {"FactorySimulation", "Factory", "M1", "M2", "M3", "M4"};
    qg_json_t *envs[6];
    char path[512];
    for (size_t i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), SEED_DIR "%s.json", names[i]);
        envs[i] = load(path);
    }
    qg_json_t *sc = NULL;
    qg_error_t *err = qg_engine_scenario_from_aas((const qg_json_t *const *)envs, 6, &sc);
    cr_assert_null(err, "%s", qg_error_message(err));
    if (getenv("QG_REGEN"))
        cr_assert_eq(qg_json_write_file(sc, FIXTURE), 0);
    qg_json_t *fixture = load(FIXTURE);
    cr_expect(qg_json_equal(sc, fixture), "%s differs from the seed factory (QG_REGEN=1 rewrites)",
              FIXTURE);
    cr_expect_eq(qg_json_len(qg_json_get(fixture, "jobs")), 30);
    qg_json_destroy(fixture);
    qg_json_destroy(sc);
    for (size_t i = 0; i < 6; i++)
        qg_json_destroy(envs[i]);
}

/* ---------- helpers ---------- */

typedef struct {
    qg_config_t *cfg;
    void *state;
    qg_json_t *doc;
    volatile sig_atomic_t cancel;
} run_t;

static void run_setup(run_t *r, const char *const *kv)
{
    memset(r, 0, sizeof(*r));
    char err[256];
    r->cfg = qg_config_new();
    cr_assert(r->cfg && qg_config_add_options(r->cfg, qg_stage_simulation.options) == 0);
    qg_config_set(r->cfg, "simulation.work.dir", "/tmp/qg-test-simulation", err, sizeof(err));
    qg_config_set(r->cfg, "simulation.engine.time.limit.s", "0.3", err, sizeof(err));
    for (size_t i = 0; kv && kv[i]; i++)
        cr_assert_eq(qg_config_set_kv(r->cfg, kv[i], err, sizeof(err)), 0, "%s", err);
    qg_error_t *e = qg_stage_simulation.init(&r->state, r->cfg);
    cr_assert_null(e, "%s", qg_error_message(e));
}

static void run_teardown(run_t *r)
{
    qg_json_destroy(r->doc);
    qg_stage_simulation.destroy(r->state);
    qg_config_destroy(r->cfg);
}

/*
 * A goal after selection and binding: parameters, outputSpec, selectedModel
 * (JSON text or NULL) and a yamlBinding log entry whose result is `binding`
 * (consumed; NULL: the seed scenario inline).
 */
static qg_json_t *make_goal(const char *params, const char *spec, const char *model,
                            qg_json_t *binding)
{
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"QueryGoal\":{\"goalId\":\"goal3-test-1\",\"goalType\":"
             "\"goal3_predict_production_time\",\"parameters\":%s,\"outputSpec\":%s,"
             "\"metadata\":{\"pipelineStages\":[\"swrlSelection\",\"yamlBinding\","
             "\"simulation\"]}},"
             "\"executionLog\":{\"goalId\":\"goal3-test-1\",\"status\":\"running\",\"stages\":["
             "{\"stage\":\"swrlSelection\",\"status\":\"completed\",\"result\":{}},"
             "{\"stage\":\"yamlBinding\",\"status\":\"completed\"}]}}",
             params, spec);
    qg_json_t *doc = parse(text);
    if (model)
        qg_json_set(qg_goal_query(doc), "selectedModel", parse(model));
    if (!binding) {
        binding = qg_json_object();
        qg_json_set(binding, "scenario", load(FIXTURE));
    }
    qg_json_set(qg_json_path(doc, "executionLog.stages[1]"), "result", binding);
    return doc;
}

static const char *seed_params =
    "[{\"key\":\"productType\",\"value\":\"P-1001\"},{\"key\":\"quantity\",\"value\":50}]";
static const char *seed_spec =
    "[{\"name\":\"estimatedTime\",\"datatype\":\"number\",\"unit\":\"s\"},"
    "{\"name\":\"confidence\",\"datatype\":\"number\"},"
    "{\"name\":\"productionPlan\",\"datatype\":\"object\"},"
    "{\"name\":\"bottlenecks\",\"datatype\":\"array\"}]";
static const char *fast_model =
    "{\"modelId\":\"FastDispatchEstimator\",\"version\":\"1.0.0\",\"runner\":{\"type\":"
    "\"builtin\",\"engine\":\"nsga2\",\"options\":{\"timeLimitSeconds\":0.5,\"maxGenerations\":"
    "10,\"population\":16,\"lsIterations\":50,\"replications\":200,\"seed\":1}}}";

static qg_error_t *run_stage(run_t *r)
{
    return qg_stage_run_local(&qg_stage_simulation, r->state, r->cfg, r->doc, "test-worker",
                              &r->cancel, NULL);
}

static const qg_json_t *sim_entry(const run_t *r)
{
    const qg_json_t *stages = qg_json_path(r->doc, "executionLog.stages");
    return qg_json_at(stages, qg_json_len(stages) - 1);
}

static void expect_error(run_t *r, qg_error_class_t cls, const char *needle)
{
    qg_error_t *err = run_stage(r);
    cr_assert_not_null(err, "expected %s", qg_error_class_name(cls));
    cr_expect_eq(qg_error_class(err), cls, "got %s: %s", qg_error_class_name(qg_error_class(err)),
                 qg_error_message(err));
    cr_expect(strstr(qg_error_message(err), needle), "expected \"%s\" in: %s", needle,
              qg_error_message(err));
    qg_error_destroy(err);
}

/* ---------- the seed goal ---------- */

Test(simulation, seed_goal_builtin_answers_with_a_verified_plan, .timeout = 60)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, fast_model, NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    const qg_json_t *out = qg_json_path(r.doc, "QueryGoal.outputs");
    double est = qg_json_num(qg_json_get(out, "estimatedTime"), NAN);
    cr_expect(isfinite(est) && est > 0, "estimatedTime %g", est);
    /* the seed's laws have no spread: no probability, and the basis says so */
    cr_expect(qg_json_is(qg_json_get(out, "confidence"), QG_JSON_NULL), "confidence not null");
    cr_expect_str_eq(qg_json_str(qg_json_get(out, "confidenceBasis")), "deterministic");
    cr_expect_str_eq(qg_json_str(qg_json_get(out, "policy")), "insert");
    cr_expect_eq(qg_json_num(qg_json_path(out, "impact.jobsMoved"), -1), 0);
    const qg_json_t *warn = qg_json_get(out, "warnings");
    int welding = 0;
    for (size_t i = 0; i < qg_json_len(warn); i++)
        welding |= strstr(qg_json_str(qg_json_at(warn, i)), "welding on M2") != NULL;
    cr_expect(welding, "no warning about the missing M2 welding law");
    const qg_json_t *ops = qg_json_path(out, "productionPlan.operations");
    cr_expect_gt(qg_json_len(ops), 95, "plan has %zu operations", qg_json_len(ops));
    const qg_json_t *bn = qg_json_get(out, "bottlenecks");
    cr_assert_gt(qg_json_len(bn), 1);
    for (size_t i = 1; i < qg_json_len(bn); i++)
        cr_expect_geq(qg_json_num(qg_json_get(qg_json_at(bn, i - 1), "utilization"), 0),
                      qg_json_num(qg_json_get(qg_json_at(bn, i), "utilization"), 0),
                      "bottlenecks ranked by utilization");
    cr_expect_not_null(qg_json_path(out, "percentiles.p90"));
    cr_expect_str_eq(qg_json_str(qg_json_path(out, "units.estimatedTime")), "s");
    const qg_json_t *e = sim_entry(&r);
    cr_expect_str_eq(qg_json_str(qg_json_get(e, "stage")), "simulation");
    cr_expect_str_eq(qg_json_str(qg_json_get(e, "status")), "completed");
    cr_expect(qg_json_truthy(qg_json_path(e, "gate.passed")));
    cr_expect(qg_json_truthy(qg_json_path(e, "result.verification.passed")));
    cr_expect_str_eq(qg_json_str(qg_json_path(e, "result.model.modelId")), "FastDispatchEstimator");
    cr_expect_str_eq(qg_json_str(qg_json_path(e, "result.runner.type")), "builtin");
    cr_expect_gt(qg_json_num(qg_json_path(e, "result.progressEvents"), 0), 0);
    cr_expect_str_eq(qg_json_str(qg_json_path(r.doc, "executionLog.status")), "completed");
    run_teardown(&r);
}

Test(simulation, same_seed_same_answer, .timeout = 60)
{
    const char *model = "{\"modelId\":\"M\",\"runner\":{\"type\":\"builtin\",\"options\":{"
                        "\"timeLimitSeconds\":0,\"maxGenerations\":5,\"population\":10,"
                        "\"replications\":100,\"seed\":7}}}";
    double est[2];
    for (int i = 0; i < 2; i++) {
        run_t r;
        run_setup(&r, NULL);
        r.doc = make_goal(seed_params, seed_spec, model, NULL);
        qg_error_t *err = run_stage(&r);
        cr_assert_null(err, "%s", qg_error_message(err));
        est[i] = qg_json_num(qg_json_path(r.doc, "QueryGoal.outputs.estimatedTime"), NAN);
        run_teardown(&r);
    }
    cr_expect_float_eq(est[0], est[1], 1e-9, "%g vs %g", est[0], est[1]);
}

Test(simulation, no_selected_model_uses_the_builtin_defaults, .timeout = 60)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, "[\"estimatedTime\",\"confidence\"]", NULL, NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect(qg_json_num(qg_json_path(r.doc, "QueryGoal.outputs.estimatedTime"), -1) > 0);
    cr_expect_str_eq(qg_json_str(qg_json_path(sim_entry(&r), "result.model.modelId")),
                     "builtin-default");
    run_teardown(&r);
}

Test(simulation, due_date_and_string_quantity, .timeout = 60)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal("[{\"key\":\"productId\",\"value\":\"P-2001\"},"
                      "{\"key\":\"quantity\",\"value\":\"20\"},"
                      "{\"key\":\"dueDate\",\"value\":\"2099-01-01\"}]",
                      seed_spec, fast_model, NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    const qg_json_t *order = qg_json_path(sim_entry(&r), "result.orderInput");
    cr_expect_str_eq(qg_json_str(qg_json_get(order, "productId")), "P-2001");
    cr_expect_float_eq(qg_json_num(qg_json_get(order, "quantity"), 0), 20, 1e-9);
    cr_expect_gt(qg_json_num(qg_json_get(order, "dueInSeconds"), -1), 1e9);
    run_teardown(&r);
}

/* ---------- limits and cancellation ---------- */

Test(simulation, builtin_past_the_wall_limit_is_killed, .timeout = 60)
{
    const char *kv[] = {"simulation.time.limit.s=0.5", NULL};
    const char *model = "{\"modelId\":\"Slow\",\"runner\":{\"type\":\"builtin\",\"options\":{"
                        "\"timeLimitSeconds\":20,\"maxGenerations\":1000000,"
                        "\"stallGenerations\":0}}}";
    run_t r;
    run_setup(&r, kv);
    r.doc = make_goal(seed_params, seed_spec, model, NULL);
    expect_error(&r, QG_ERR_STAGE_ERROR, "time limit of 0.5 s");
    cr_expect_str_eq(qg_json_str(qg_json_path(sim_entry(&r), "status")), "failed");
    run_teardown(&r);
}

Test(simulation, builtin_memory_limit_ends_only_the_child, .timeout = 60)
{
    if (UNDER_ASAN)
        cr_skip_test("address-space limits do not apply under AddressSanitizer");
    const char *model = "{\"modelId\":\"Tiny\",\"runner\":{\"type\":\"builtin\","
                        "\"memoryLimitMb\":16,\"options\":{\"timeLimitSeconds\":2,"
                        "\"population\":4000,\"replications\":10000000}}}";
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, model, NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_not_null(err);
    cr_expect_eq(qg_error_class(err), QG_ERR_STAGE_ERROR, "%s", qg_error_message(err));
    qg_error_destroy(err);
    run_teardown(&r);
}

static void *cancel_later(void *arg)
{
    run_t *r = arg;
    usleep(300 * 1000);
    r->cancel = 1;
    return NULL;
}

Test(simulation, cancel_is_transient_so_the_goal_is_redelivered, .timeout = 60)
{
    const char *model = "{\"modelId\":\"Slow\",\"runner\":{\"type\":\"builtin\",\"options\":{"
                        "\"timeLimitSeconds\":30,\"maxGenerations\":1000000,"
                        "\"stallGenerations\":0}}}";
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, model, NULL);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &r);
    expect_error(&r, QG_ERR_TRANSIENT, "cancelled");
    pthread_join(t, NULL);
    run_teardown(&r);
}

/* ---------- exec models through the stage ---------- */

static char *exec_model(const char *script, const char *extra)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"modelId\":\"ThirdParty\",\"runner\":{\"type\":\"exec\",\"command\":[\"%s%s\","
             "\"{scenario}\",\"{results}\"],\"timeLimit\":2%s}}",
             SIMS, script, extra ? extra : "");
    return buf;
}

Test(simulation, exec_good_answers_what_it_can)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, "[\"estimatedTime\",\"confidence\",\"bottlenecks\"]",
                      exec_model("good.sh", NULL), NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_float_eq(qg_json_num(qg_json_path(r.doc, "QueryGoal.outputs.estimatedTime"), 0), 3600,
                       1e-9);
    cr_expect_str_eq(qg_json_str(qg_json_path(sim_entry(&r), "result.simulatorType")), "test-good");
    cr_expect_null(qg_json_path(sim_entry(&r), "result.verification"));
    run_teardown(&r);
}

Test(simulation, exec_without_a_plan_fails_the_gate_when_a_plan_is_asked)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, exec_model("good.sh", NULL), NULL);
    expect_error(&r, QG_ERR_GATE_FAILED, "productionPlan");
    run_teardown(&r);
}

Test(simulation, exec_failures_are_stage_errors)
{
    const char *cases[][2] = {
        {"crash.sh", "signal 11"},
        {"hang.sh", "time limit of 2 s"},
        {"garbage.sh", "simulator_optimization_result.json"},
        {"no-result.sh", "missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r;
        run_setup(&r, NULL);
        r.doc = make_goal(seed_params, seed_spec, exec_model(cases[i][0], NULL), NULL);
        expect_error(&r, QG_ERR_STAGE_ERROR, cases[i][1]);
        run_teardown(&r);
    }
}

Test(simulation, unknown_runner_type)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc =
        make_goal(seed_params, seed_spec,
                  "{\"modelId\":\"X\",\"runner\":{\"type\":\"container\",\"image\":\"x\"}}", NULL);
    expect_error(&r, QG_ERR_STAGE_ERROR, "selectedModel.runner.type");
    run_teardown(&r);
}

Test(simulation, model_id_resolved_through_the_registry, .timeout = 60)
{
    const char *kv[] = {"registry.file=" QG_SOURCE_DIR "/config/registry.yaml", NULL};
    run_t r;
    run_setup(&r, kv);
    r.doc = make_goal(seed_params, seed_spec, "\"FastDispatchEstimator\"", NULL);
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    const qg_json_t *res = qg_json_get(sim_entry(&r), "result");
    cr_expect_str_eq(qg_json_str(qg_json_path(res, "model.modelId")), "FastDispatchEstimator");
    cr_expect_float_eq(qg_json_num(qg_json_path(res, "engineOptions.timeLimitSeconds"), 0), 0.5,
                       1e-9);
    cr_expect_float_eq(qg_json_num(qg_json_path(res, "engineOptions.replications"), 0), 200, 1e-9);
    run_teardown(&r);

    run_setup(&r, kv);
    r.doc = make_goal(seed_params, seed_spec, "{\"modelId\":\"NoSuchModel\"}", NULL);
    expect_error(&r, QG_ERR_STAGE_ERROR, "not in the registry");
    run_teardown(&r);
}

/* ---------- inputs ---------- */

Test(simulation, no_binding_is_bad_input)
{
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, NULL, NULL);
    qg_json_remove(qg_json_path(r.doc, "executionLog.stages[1]"), "status");
    expect_error(&r, QG_ERR_BAD_INPUT, "yamlBinding");
    run_teardown(&r);
}

Test(simulation, bad_parameters_are_bad_input)
{
    const char *cases[][2] = {
        {"[{\"key\":\"productType\",\"value\":\"P-1001\"}]", "quantity missing"},
        {"[{\"key\":\"productType\",\"value\":\"P-1001\"},{\"key\":\"quantity\",\"value\":\"x\"}]",
         "parameters.quantity"},
        {"[{\"key\":\"productType\",\"value\":\"P-1001\"},{\"key\":\"quantity\",\"value\":0}]",
         "parameters.quantity"},
        {"[{\"key\":\"productType\",\"value\":\"P-1001\"},{\"key\":\"quantity\",\"value\":5},"
         "{\"key\":\"dueDate\",\"value\":\"next week\"}]",
         "parameters.dueDate"},
        {"[{\"key\":\"productType\",\"value\":\"P-9999\"},{\"key\":\"quantity\",\"value\":5}]",
         "P-9999"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_t r;
        run_setup(&r, NULL);
        r.doc = make_goal(cases[i][0], seed_spec, fast_model, NULL);
        expect_error(&r, QG_ERR_BAD_INPUT, cases[i][1]);
        run_teardown(&r);
    }
}

static qg_json_t *claim_for(const char *path, const char *sha)
{
    qg_json_t *ref = qg_json_object();
    qg_json_set_str(ref, "path", path);
    if (sha)
        qg_json_set_str(ref, "sha256", sha);
    qg_json_t *binding = qg_json_object();
    qg_json_set(binding, "scenarioRef", ref);
    return binding;
}

Test(simulation, claim_check_file_is_verified, .timeout = 60)
{
    char *text = qg_runner_file_tail(FIXTURE, 1 << 22);
    cr_assert_not_null(text);
    char sha[65];
    qg_sha256_hex(text, strlen(text), sha);
    free(text);
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, fast_model, claim_for(FIXTURE, sha));
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_str_eq(qg_json_str(qg_json_path(sim_entry(&r), "result.scenarioSource")), FIXTURE);
    run_teardown(&r);

    run_setup(&r, NULL);
    sha[0] = sha[0] == 'a' ? 'b' : 'a';
    r.doc = make_goal(seed_params, seed_spec, fast_model, claim_for(FIXTURE, sha));
    expect_error(&r, QG_ERR_STAGE_ERROR, "does not match");
    run_teardown(&r);

    const char *kv[] = {"simulation.claims.dir=/var/empty-claims", NULL};
    run_setup(&r, kv);
    r.doc = make_goal(seed_params, seed_spec, fast_model, claim_for(FIXTURE, NULL));
    expect_error(&r, QG_ERR_BAD_INPUT, "simulation.claims.dir");
    run_teardown(&r);
}

Test(simulation, claim_check_directory, .timeout = 60)
{
    char dir[] = "/tmp/qg-test-claim-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    qg_json_t *sc = load(FIXTURE);
    char path[256];
    for (size_t i = 0; i < qg_json_len(sc); i++) {
        snprintf(path, sizeof(path), "%s/%s.json", dir, qg_json_key_at(sc, i));
        cr_assert_eq(qg_json_write_file(qg_json_at(sc, i), path), 0);
    }
    qg_json_destroy(sc);
    run_t r;
    run_setup(&r, NULL);
    r.doc = make_goal(seed_params, seed_spec, fast_model, claim_for(dir, NULL));
    qg_error_t *err = run_stage(&r);
    cr_assert_null(err, "%s", qg_error_message(err));
    run_teardown(&r);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    cr_expect_eq(system(path), 0);
}

/* ---------- outputs and gate ---------- */

Test(simulation, outputs_follow_the_output_spec)
{
    qg_json_t *goal =
        parse("{\"outputSpec\":[\"estimatedTime\",{\"name\":\"mean\",\"unit\":\"min\"}]}");
    qg_json_t *res = parse("{\"status\":\"completed\",\"estimatedTime\":10,\"mean\":9,"
                           "\"confidence\":0.5,\"percentiles\":{\"p50\":9},"
                           "\"units\":{\"estimatedTime\":\"s\"}}");
    cr_assert_eq(qg_sim_outputs_map(goal, res), 0);
    const qg_json_t *out = qg_json_get(goal, "outputs");
    cr_expect_float_eq(qg_json_num(qg_json_get(out, "mean"), 0), 0.15, 1e-9);
    cr_expect_str_eq(qg_json_str(qg_json_path(out, "units.mean")), "min");
    cr_expect_str_eq(qg_json_str(qg_json_path(out, "units.percentiles")), "s");
    cr_expect_null(qg_json_get(out, "confidence"), "not asked for");
    cr_expect_not_null(qg_json_get(out, "percentiles"));
    char reason[256];
    cr_expect(qg_sim_gate_check(goal, res, reason, sizeof(reason)), "%s", reason);
    qg_json_set_num(qg_json_get(goal, "outputs"), "estimatedTime", NAN);
    cr_expect(!qg_sim_gate_check(goal, res, reason, sizeof(reason)));
    cr_expect(strstr(reason, "estimatedTime is not finite"), "%s", reason);
    qg_json_set_str(res, "verification", "x");
    qg_json_set(res, "verification", parse("{\"passed\":false,\"message\":\"overlap on M1\"}"));
    cr_expect(!qg_sim_gate_check(goal, res, reason, sizeof(reason)));
    cr_expect(strstr(reason, "overlap on M1"), "%s", reason);
    qg_json_set_str(res, "status", "failed");
    cr_expect(!qg_sim_gate_check(goal, res, reason, sizeof(reason)));
    qg_json_destroy(goal);
    qg_json_destroy(res);
}

Test(simulation, gate_checks_declared_datatypes)
{
    qg_json_t *goal = parse("{\"outputSpec\":[{\"name\":\"bottlenecks\",\"datatype\":\"array\"}],"
                            "\"outputs\":{\"bottlenecks\":{}}}");
    qg_json_t *res = parse("{\"status\":\"completed\"}");
    char reason[256];
    cr_expect(!qg_sim_gate_check(goal, res, reason, sizeof(reason)));
    cr_expect(strstr(reason, "outputSpec says array"), "%s", reason);
    qg_json_destroy(goal);
    qg_json_destroy(res);
}

Test(simulation, parse_due_times)
{
    double t;
    cr_expect_eq(qg_sim_parse_time("2025-08-11", &t), 0);
    cr_expect_float_eq(t, 1754870400.0 + 86400, 0.5);
    cr_expect_eq(qg_sim_parse_time("2025-08-11T10:30:00Z", &t), 0);
    cr_expect_float_eq(t, 1754870400.0 + 37800, 0.5);
    cr_expect_eq(qg_sim_parse_time("2025-08-11T10:30", &t), 0);
    cr_expect_neq(qg_sim_parse_time("tomorrow", &t), 0);
    cr_expect_neq(qg_sim_parse_time("2025-08-11X", &t), 0);
}
