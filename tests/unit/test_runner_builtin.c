/*
 * test_runner_builtin.c - the builtin runner (the engine in a forked child):
 * result and progress reach the parent, limits and cancellation end only the
 * child, engine errors keep their class.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/runner.h"

#define FIXTURE QG_SOURCE_DIR "/tests/data/simulators/seed-scenario.json"

typedef struct {
    qg_json_t *scenario;
    qg_engine_order_t order;
    qg_engine_options_t opts;
    char work[64];
    qg_runner_job_t job;
    int calls, replay_calls, monotonic;
    double last;
    volatile sig_atomic_t cancel;
} fx_t;

static void on_progress(const qg_runner_progress_t *pr, void *opaque)
{
    fx_t *f = opaque;
    f->calls++;
    if (pr->phase && !strcmp(pr->phase, "replay"))
        f->replay_calls++;
    if (pr->fraction + 1e-9 < f->last)
        f->monotonic = 0;
    f->last = pr->fraction;
}

static void fx_setup(fx_t *f, const char *product, double quantity, double budget_s, double wall_s)
{
    memset(f, 0, sizeof(*f));
    char err[512];
    f->scenario = qg_json_parse_file(FIXTURE, err, sizeof(err));
    cr_assert_not_null(f->scenario, "%s", err);
    f->order = (qg_engine_order_t){.product_id = product, .quantity = quantity, .due_s = -1};
    qg_engine_options_default(&f->opts);
    f->opts.time_limit_s = budget_s;
    f->opts.max_generations = budget_s > 1 ? 100000000 : 20;
    f->opts.replications = 300;
    f->opts.population = 10;
    f->opts.ls_iterations = 20;
    f->opts.stall_generations = 0; /* search for the whole budget (no early stop) */
    snprintf(f->work, sizeof(f->work), "/tmp/qg-test-builtin-XXXXXX");
    cr_assert_not_null(mkdtemp(f->work));
    f->monotonic = 1;
    f->job = (qg_runner_job_t){
        .goal_id = "g-builtin",
        .scenario = f->scenario,
        .order = &f->order,
        .engine = &f->opts,
        .work_dir = f->work,
        .time_limit_s = wall_s,
        .memory_limit_mb = 1024,
        .result_max_bytes = 64 << 20,
        .progress = on_progress,
        .opaque = f,
        .cancel = &f->cancel,
    };
}

static void fx_teardown(fx_t *f)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->work);
    cr_expect_eq(system(cmd), 0);
    qg_json_destroy(f->scenario);
}

Test(runner_builtin, result_and_progress_cross_the_process_boundary, .timeout = 60)
{
    fx_t f;
    fx_setup(&f, "P-1001", 50, 0.5, 30);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_builtin.run(&f.job, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_gt(qg_json_num(qg_json_get(res, "estimatedTime"), -1), 0);
    cr_expect_gt(qg_json_len(qg_json_path(res, "productionPlan.operations")), 0);
    cr_expect_str_eq(qg_json_str(qg_json_path(res, "runner.type")), "builtin");
    cr_expect_str_eq(qg_json_str(qg_json_path(res, "runner.status")), "exit status 0");
    cr_expect_gt(f.calls, 1, "progress calls %d", f.calls);
    cr_expect_gt(f.replay_calls, 0);
    cr_expect(f.monotonic, "progress went backwards");
    cr_expect_float_eq(f.last, 1.0, 1e-6);
    qg_error_t *v = qg_engine_verify_plan(f.scenario, &f.order, res);
    cr_expect_null(v, "%s", qg_error_message(v));
    qg_error_destroy(v);
    qg_json_destroy(res);
    fx_teardown(&f);
}

Test(runner_builtin, engine_errors_keep_their_class, .timeout = 60)
{
    fx_t f;
    fx_setup(&f, "P-404", 5, 0.2, 30);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_builtin.run(&f.job, &res);
    cr_assert_not_null(err);
    cr_expect_null(res);
    cr_expect_eq(qg_error_class(err), QG_ERR_BAD_INPUT, "%s", qg_error_message(err));
    cr_expect(strstr(qg_error_message(err), "P-404"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    fx_teardown(&f);
}

Test(runner_builtin, wall_limit_kills_the_child, .timeout = 60)
{
    fx_t f;
    fx_setup(&f, "P-1001", 50, 20, 0.4);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_builtin.run(&f.job, &res);
    cr_assert_not_null(err);
    cr_expect_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    cr_expect(strstr(qg_error_message(err), "time limit of 0.4 s"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    fx_teardown(&f);
}

static void *cancel_later(void *arg)
{
    fx_t *f = arg;
    usleep(200 * 1000);
    f->cancel = 1;
    return NULL;
}

Test(runner_builtin, cancel_is_transient, .timeout = 60)
{
    fx_t f;
    fx_setup(&f, "P-1001", 50, 20, 30);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &f);
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_builtin.run(&f.job, &res);
    pthread_join(t, NULL);
    cr_assert_not_null(err);
    cr_expect_eq(qg_error_class(err), QG_ERR_TRANSIENT, "%s", qg_error_message(err));
    qg_error_destroy(err);
    fx_teardown(&f);
}

Test(runner_builtin, incomplete_job_is_refused)
{
    qg_runner_job_t job = {0};
    qg_json_t *res = NULL;
    qg_error_t *err = qg_runner_builtin.run(&job, &res);
    cr_assert_not_null(err);
    cr_expect_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    qg_error_destroy(err);
}
