/*
 * test_runner_files.c - the work directory and the one result contract the
 * exec and docker runners share: simulation_input.json names the directories
 * as the simulator sees them; the result is read from the plan's file names
 * (simulator_optimization_result.json, simulation_output.json,
 * goal3_result.json, result.json), in the goal3_data shape (wrapped or bare,
 * plan and bottlenecks also under detailed_results) or the engine's own.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/runner.h"

static const char *tiny_scenario =
    "{\"jobs\":[{\"job_id\":\"J1\"}],\"operations\":[],\"operation_durations\":{},"
    "\"machine_transfer_time\":{},\"job_release\":[]}";

typedef struct {
    char work[256];
    qg_json_t *scenario, *runner;
    qg_runner_job_t job;
    qg_runner_dirs_t dirs;
} fixture_t;

static qg_json_t *parse(const char *text)
{
    char err[256];
    qg_json_t *v = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_assert_not_null(v, "fixture JSON: %s", err);
    return v;
}

static void setup(fixture_t *f, const char *runner, const char *inner)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->work, sizeof(f->work), "/tmp/qg-runner-files-XXXXXX");
    cr_assert_not_null(mkdtemp(f->work));
    f->scenario = parse(tiny_scenario);
    f->runner = parse(runner);
    f->job.work_dir = f->work;
    f->job.scenario = f->scenario;
    f->job.runner = f->runner;
    f->job.result_max_bytes = 1 << 20;
    qg_error_t *err = qg_runner_dirs_prepare(&f->job, inner, &f->dirs);
    cr_assert_null(err, "%s", qg_error_message(err));
}

static void teardown(fixture_t *f)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->work);
    cr_assert_eq(system(cmd), 0);
    qg_json_destroy(f->scenario);
    qg_json_destroy(f->runner);
}

static void put(const fixture_t *f, const char *name, const char *text)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", f->dirs.results, name);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static qg_json_t *read_ok(const fixture_t *f)
{
    qg_json_t *out = NULL;
    qg_error_t *err = qg_runner_result_read(&f->dirs, &f->job, &out);
    cr_assert_null(err, "%s", qg_error_message(err));
    return out;
}

Test(runner_files, input_names_the_directories_as_the_simulator_sees_them)
{
    fixture_t f;
    setup(&f, "{\"type\":\"docker\"}", "/work");
    char err[256];
    qg_json_t *in = qg_json_parse_file(f.dirs.input, err, sizeof(err));
    cr_assert_not_null(in, "%s", err);
    cr_assert_str_eq(qg_json_str(qg_json_get(in, "scenarioDir")), "/work/scenario");
    cr_assert_str_eq(qg_json_str(qg_json_get(in, "resultsDir")), "/work/results");
    cr_assert_eq(access(f.dirs.results, W_OK), 0);
    char jobs[4400];
    snprintf(jobs, sizeof(jobs), "%s/jobs.json", f.dirs.scenario);
    cr_assert_eq(access(jobs, R_OK), 0);
    qg_json_destroy(in);
    teardown(&f);
}

Test(runner_files, goal3_result_with_plan_and_bottlenecks_in_detailed_results)
{
    fixture_t f;
    setup(&f, "{\"type\":\"exec\"}", NULL);
    put(&f, "goal3_result.json",
        "{\"goal3_data\":{\"predicted_completion_time\":100,\"confidence\":0.5,"
        "\"simulator_type\":\"t\",\"detailed_results\":{\"bottlenecks\":[{\"machine\":\"M9\"}],"
        "\"productionPlan\":{\"operations\":[{\"machine\":\"M9\"}]}}}}");
    qg_json_t *r = read_ok(&f);
    cr_assert_eq(qg_json_num(qg_json_get(r, "estimatedTime"), -1), 100);
    cr_assert_str_eq(qg_json_str(qg_json_path(r, "bottlenecks[0].machine")), "M9");
    cr_assert_str_eq(qg_json_str(qg_json_path(r, "productionPlan.operations[0].machine")), "M9");
    qg_json_destroy(r);
    teardown(&f);
}

Test(runner_files, bare_goal3_data_in_simulation_output)
{
    fixture_t f;
    setup(&f, "{\"type\":\"exec\",\"timeUnit\":\"min\"}", NULL);
    put(&f, "simulation_output.json",
        "{\"predicted_completion_time\":2,\"confidence\":0.9,\"simulator_type\":\"t\"}");
    qg_json_t *r = read_ok(&f);
    cr_assert_eq(qg_json_num(qg_json_get(r, "estimatedTime"), -1), 120);
    cr_assert_str_eq(qg_json_str(qg_json_get(r, "simulatorType")), "t");
    qg_json_destroy(r);
    teardown(&f);
}

Test(runner_files, the_first_name_wins_and_errors_name_file_and_field)
{
    fixture_t f;
    setup(&f, "{\"type\":\"exec\"}", NULL);
    put(&f, "result.json", "{\"estimatedTime\":5,\"confidence\":1}");
    put(&f, "simulator_optimization_result.json",
        "{\"goal3_data\":{\"predicted_completion_time\":\"soon\",\"confidence\":0.5,"
        "\"simulator_type\":\"t\"}}");
    qg_json_t *out = NULL;
    qg_error_t *err = qg_runner_result_read(&f.dirs, &f.job, &out);
    cr_assert_not_null(err);
    cr_assert_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    cr_assert(strstr(qg_error_message(err), "results/simulator_optimization_result.json: "
                                            "goal3_data.predicted_completion_time"),
              "%s", qg_error_message(err));
    qg_error_destroy(err);
    teardown(&f);
}

Test(runner_files, no_result_is_a_stage_error)
{
    fixture_t f;
    setup(&f, "{\"type\":\"exec\"}", NULL);
    qg_json_t *out = NULL;
    qg_error_t *err = qg_runner_result_read(&f.dirs, &f.job, &out);
    cr_assert_not_null(err);
    cr_assert(strstr(qg_error_message(err), "missing"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    teardown(&f);
}
