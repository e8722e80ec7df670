/*
 * test_runner_exec.c - the exec runner with the small test simulators in
 * tests/data/simulators/: each ends in the right outcome, and the calling
 * process (the worker) is never taken down.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/runner.h"

#define SIMS QG_SOURCE_DIR "/tests/data/simulators/"

static const char *tiny_scenario =
    "{\"jobs\":[{\"job_id\":\"J1\",\"part_id\":\"P1\",\"operations\":[\"O11\"]}],"
    "\"operations\":\"[{\\\"operation_id\\\":\\\"O11\\\",\\\"job_id\\\":\\\"J1\\\","
    "\\\"type\\\":\\\"drilling\\\",\\\"machines\\\":[\\\"M1\\\"]}]\","
    "\"operation_durations\":{\"drilling\":{\"M1\":{\"distribution\":\"normal\",\"mean\":5,"
    "\"std\":0}}},"
    "\"machine_transfer_time\":{\"GEN\":{\"M1\":{\"distribution\":\"normal\",\"mean\":1,"
    "\"std\":0}}},"
    "\"job_release\":[{\"job_id\":\"J1\",\"release_time\":0}],"
    "\"machines\":[{\"machine_id\":\"M1\",\"machine_type\":\"CNC\"}]}";

typedef struct {
    qg_json_t *scenario, *runner, *input;
    char work[256];
    qg_runner_job_t job;
    int progress_calls;
    double last_fraction;
    volatile sig_atomic_t cancel;
} fixture_t;

static void on_progress(const qg_runner_progress_t *pr, void *opaque)
{
    fixture_t *f = opaque;
    f->progress_calls++;
    f->last_fraction = pr->fraction;
}

static qg_json_t *parse(const char *text)
{
    char err[256];
    qg_json_t *v = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_assert_not_null(v, "fixture JSON: %s", err);
    return v;
}

/* A job running `script` with argv {scenario} {results}. */
static void setup_job(fixture_t *f, const char *script, double limit_s)
{
    memset(f, 0, sizeof(*f));
    char runner[1024];
    snprintf(runner, sizeof(runner),
             "{\"type\":\"exec\",\"command\":[\"%s%s\",\"{scenario}\",\"{results}\"]}", SIMS,
             script);
    f->scenario = parse(tiny_scenario);
    f->runner = parse(runner);
    f->input = parse("{\"goalId\":\"g-test\",\"parameters\":[]}");
    snprintf(f->work, sizeof(f->work), "/tmp/qg-test-exec-XXXXXX");
    cr_assert_not_null(mkdtemp(f->work));
    f->job = (qg_runner_job_t){
        .goal_id = "g-test",
        .runner = f->runner,
        .scenario = f->scenario,
        .input = f->input,
        .work_dir = f->work,
        .time_limit_s = limit_s,
        .memory_limit_mb = 512,
        .log_max_bytes = 64 * 1024,
        .result_max_bytes = 1 << 20,
        .progress = on_progress,
        .opaque = f,
        .cancel = &f->cancel,
    };
}

static void teardown_job(fixture_t *f)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->work);
    cr_assert_eq(system(cmd), 0);
    qg_json_destroy(f->scenario);
    qg_json_destroy(f->runner);
    qg_json_destroy(f->input);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run and expect failure of `cls` whose message contains every string given. */
static void expect_error(fixture_t *f, qg_error_class_t cls, const char *a, const char *b)
{
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f->job, &res);
    cr_assert_not_null(err, "expected an error, got a result");
    cr_assert_null(res);
    cr_expect_eq(qg_error_class(err), cls, "class %s, message: %s",
                 qg_error_class_name(qg_error_class(err)), qg_error_message(err));
    cr_expect(strstr(qg_error_message(err), a), "expected \"%s\" in: %s", a, qg_error_message(err));
    if (b)
        cr_expect(strstr(qg_error_message(err), b), "expected \"%s\" in: %s", b,
                  qg_error_message(err));
    qg_error_destroy(err);
}

Test(runner_exec, good_simulator_maps_goal3_data)
{
    fixture_t f;
    setup_job(&f, "good.sh", 20);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_float_eq(qg_json_num(qg_json_get(res, "estimatedTime"), -1), 3600, 1e-9);
    cr_expect_float_eq(qg_json_num(qg_json_get(res, "confidence"), -1), 0.8, 1e-9);
    cr_expect_str_eq(qg_json_str(qg_json_get(res, "simulatorType")), "test-good");
    cr_expect_eq(qg_json_len(qg_json_get(res, "bottlenecks")), 2);
    cr_expect_float_eq(qg_json_num(qg_json_path(res, "percentiles.p90"), -1), 3900, 1e-9);
    cr_expect_float_eq(qg_json_num(qg_json_path(res, "detailedResults.jobs"), -1), 1, 1e-9);
    cr_expect_str_eq(qg_json_str(qg_json_path(res, "runner.type")), "exec");
    cr_expect_eq(f.progress_calls, 3, "progress lines seen: %d", f.progress_calls);
    cr_expect_float_eq(f.last_fraction, 0.9, 1e-9);
    /* the scenario files were written, the AAS-style string member parsed */
    char path[512];
    snprintf(path, sizeof(path), "%s/scenario/operations.json", f.work);
    char errstr[128];
    qg_json_t *ops = qg_json_parse_file(path, errstr, sizeof(errstr));
    cr_expect(qg_json_is(ops, QG_JSON_ARRAY), "operations.json: %s", errstr);
    qg_json_destroy(ops);
    qg_json_destroy(res);
    teardown_job(&f);
}

Test(runner_exec, minutes_time_unit)
{
    fixture_t f;
    setup_job(&f, "good.sh", 20);
    qg_json_set_str(f.runner, "timeUnit", "min");
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_float_eq(qg_json_num(qg_json_get(res, "estimatedTime"), -1), 3600 * 60.0, 1e-6);
    qg_json_destroy(res);
    teardown_job(&f);
}

Test(runner_exec, crashing_simulator_is_a_stage_error)
{
    fixture_t f;
    setup_job(&f, "crash.sh", 20);
    expect_error(&f, QG_ERR_STAGE_ERROR, "signal 11", "starting the optimizer");
    teardown_job(&f);
}

Test(runner_exec, hanging_simulator_is_killed_at_the_limit)
{
    fixture_t f;
    setup_job(&f, "hang.sh", 1.0);
    double t0 = now_s();
    expect_error(&f, QG_ERR_STAGE_ERROR, "time limit of 1 s", "killed");
    double took = now_s() - t0;
    cr_expect(took >= 0.9 && took < 4, "took %.2f s", took);
    teardown_job(&f);
}

static void *cancel_later(void *arg)
{
    fixture_t *f = arg;
    usleep(300 * 1000);
    f->cancel = 1;
    return NULL;
}

Test(runner_exec, cancel_stops_the_simulator_and_is_transient)
{
    fixture_t f;
    setup_job(&f, "hang.sh", 30);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &f);
    double t0 = now_s();
    expect_error(&f, QG_ERR_TRANSIENT, "cancelled", NULL);
    cr_expect(now_s() - t0 < 5, "cancel took %.2f s", now_s() - t0);
    pthread_join(t, NULL);
    teardown_job(&f);
}

Test(runner_exec, garbage_result_names_the_file)
{
    fixture_t f;
    setup_job(&f, "garbage.sh", 20);
    expect_error(&f, QG_ERR_STAGE_ERROR, "results/simulator_optimization_result.json", "malformed");
    teardown_job(&f);
}

Test(runner_exec, wrong_field_type_names_the_field)
{
    fixture_t f;
    setup_job(&f, "bad-field.sh", 20);
    expect_error(&f, QG_ERR_STAGE_ERROR, "goal3_data.predicted_completion_time",
                 "simulator_optimization_result.json");
    teardown_job(&f);
}

Test(runner_exec, missing_result_is_never_a_default)
{
    fixture_t f;
    setup_job(&f, "no-result.sh", 20);
    expect_error(&f, QG_ERR_STAGE_ERROR, "simulator_optimization_result.json", "missing");
    teardown_job(&f);
}

Test(runner_exec, failing_simulator_reports_status_and_stderr)
{
    fixture_t f;
    setup_job(&f, "fail.sh", 20);
    expect_error(&f, QG_ERR_STAGE_ERROR, "exit status 3", "license server unreachable");
    teardown_job(&f);
}

Test(runner_exec, huge_log_is_capped_and_the_run_succeeds)
{
    fixture_t f;
    setup_job(&f, "huge-log.sh", 30);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_float_eq(qg_json_num(qg_json_get(res, "estimatedTime"), -1), 60, 1e-9);
    cr_expect(qg_json_truthy(qg_json_path(res, "runner.logsTruncated")));
    cr_expect_float_eq(qg_json_num(qg_json_path(res, "runner.stdoutBytes"), -1), 20000000, 0.5);
    char path[512];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/logs/stdout.log", f.work);
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect(sb.st_size >= 64 * 1024 && sb.st_size < 64 * 1024 + 200, "stdout.log %lld bytes",
              (long long)sb.st_size);
    snprintf(path, sizeof(path), "%s/logs/stderr.log", f.work);
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect(sb.st_size < 64 * 1024 + 200, "stderr.log %lld bytes", (long long)sb.st_size);
    qg_json_destroy(res);
    teardown_job(&f);
}

Test(runner_exec, memory_limit_stops_a_hog)
{
    fixture_t f;
    setup_job(&f, "memhog.sh", 30);
    f.job.memory_limit_mb = 64;
    expect_error(&f, QG_ERR_STAGE_ERROR, "memory limit 64 MB", "memhog.sh ended with");
    teardown_job(&f);
}

static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/results/%s", dir, name);
    return qg_runner_file_tail(path, 1 << 16);
}

Test(runner_exec, clean_environment_and_argv_placeholders)
{
    fixture_t f;
    setup_job(&f, "env.sh", 20);
    setenv("QG_TEST_ALLOWED", "yes", 1);
    setenv("QG_TEST_SECRET", "hunter2", 1);
    qg_json_destroy(qg_json_take(f.runner, "command"));
    qg_json_set(f.runner, "command",
                parse("[\"" SIMS "env.sh\", \"--scenario={scenario}\", \"--goal\", \"{goalId}\","
                      " \"{timeLimit}\", \"literal{x}\"]"));
    qg_json_set(f.runner, "env", parse("[\"QG_TEST_ALLOWED\", \"QG_TEST_UNSET\"]"));
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    /* engine-format result.json is taken as is */
    cr_expect_float_eq(qg_json_num(qg_json_get(res, "estimatedTime"), -1), 1234.5, 1e-9);
    cr_expect_eq(qg_json_len(qg_json_path(res, "productionPlan.operations")), 1);
    char *env = slurp(f.work, "env.txt"), *args = slurp(f.work, "args.txt"),
         *pwd = slurp(f.work, "pwd.txt");
    cr_assert(env && args && pwd);
    cr_expect(strstr(env, "QG_TEST_ALLOWED=yes"), "env: %s", env);
    cr_expect(!strstr(env, "hunter2"), "secret leaked: %s", env);
    cr_expect(!strstr(env, "QG_TEST_UNSET"), "env: %s", env);
    cr_expect(strstr(env, "QG_RESULTS_DIR="), "env: %s", env);
    cr_expect(strstr(env, "PATH=/usr/local/bin:/usr/bin:/bin"), "env: %s", env);
    char want[512];
    snprintf(want, sizeof(want), "--scenario=%s/scenario\n--goal\ng-test\n20\nliteral{x}\n",
             f.work);
    cr_expect_str_eq(args, want);
    cr_expect(!strncmp(pwd, f.work, strlen(f.work)), "pwd %s", pwd);
    free(env);
    free(args);
    free(pwd);
    qg_json_destroy(res);
    teardown_job(&f);
}

Test(runner_exec, literal_env_object)
{
    fixture_t f;
    setup_job(&f, "env.sh", 20);
    qg_json_set(f.runner, "env", parse("{\"SIM_MODE\": \"fast\"}"));
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_exec.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    char *env = slurp(f.work, "env.txt");
    cr_expect(env && strstr(env, "SIM_MODE=fast"), "env: %s", env);
    free(env);
    qg_json_destroy(res);
    teardown_job(&f);
}

Test(runner_exec, bad_registry_entries)
{
    fixture_t f;
    setup_job(&f, "good.sh", 20);
    qg_json_set(f.runner, "command", parse("\"good.sh {scenario}\""));
    expect_error(&f, QG_ERR_STAGE_ERROR, "selectedModel.runner.command", NULL);
    qg_json_set(f.runner, "command", parse("[\"no-such-simulator-here\"]"));
    expect_error(&f, QG_ERR_STAGE_ERROR, "not found in PATH", NULL);
    qg_json_set(f.runner, "command", parse("[\"/nonexistent/sim\"]"));
    expect_error(&f, QG_ERR_STAGE_ERROR, "/nonexistent/sim", NULL);
    qg_json_set(f.runner, "command", parse("[\"" SIMS "good.sh\"]"));
    qg_json_set(f.runner, "env", parse("[\"BAD NAME\"]"));
    expect_error(&f, QG_ERR_STAGE_ERROR, "selectedModel.runner.env", NULL);
    teardown_job(&f);
}

Test(runner_exec, scenario_without_jobs_is_bad_input)
{
    fixture_t f;
    setup_job(&f, "good.sh", 20);
    qg_json_remove(f.scenario, "jobs");
    expect_error(&f, QG_ERR_BAD_INPUT, "scenario.jobs", NULL);
    teardown_job(&f);
}

Test(runner_exec, find_by_type)
{
    cr_expect_eq(qg_runner_find("exec"), &qg_runner_exec);
    cr_expect_eq(qg_runner_find("builtin"), &qg_runner_builtin);
    cr_expect_null(qg_runner_find("container"));
    cr_expect_null(qg_runner_find(NULL));
}
