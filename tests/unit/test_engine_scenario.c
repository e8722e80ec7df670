/*
 * test_engine_scenario.c - scenario loading (directory, AAS, tolerant
 * values), the seed factory order P-1001 x 50, plan verification and the
 * replay's convergence.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/fjsp.h"
#include "engine/scenario.h"

#define TINY QG_SOURCE_DIR "/tests/data/engine/tiny-scenario"
#define SEED QG_SHARED_DIR "/factory/seed-factory"

static qg_json_t *load_dir(const char *dir)
{
    qg_json_t *sc = NULL;
    qg_error_t *err = qg_engine_scenario_load_dir(dir, &sc);
    cr_assert_null(err, "%s", qg_error_message(err));
    return sc;
}

static qg_json_t *seed_scenario(void)
{
    static const char *files[] = {"FactorySimulation", "Factory", "M1", "M2", "M3", "M4"};
    qg_json_t *envs[6];
    char path[1024], errstr[256];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/%s.json", SEED, files[i]);
        envs[i] = qg_json_parse_file(path, errstr, sizeof(errstr));
        cr_assert_not_null(envs[i], "%s", errstr);
    }
    qg_json_t *sc = NULL;
    qg_error_t *err = qg_engine_scenario_from_aas((const qg_json_t *const *)envs, 6, &sc);
    cr_assert_null(err, "%s", qg_error_message(err));
    for (int i = 0; i < 6; i++)
        qg_json_destroy(envs[i]);
    return sc;
}

static qg_engine_order_t order_of(const char *product, double q)
{
    qg_engine_order_t o = {product, q, 0, -1, NULL, QG_ORDER_INSERT, 0};
    return o;
}

Test(engine_scenario, tiny_directory_semantics)
{
    qg_json_t *sc = load_dir(TINY);
    qg_engine_order_t o = order_of("X-1", 2);
    qg_fjsp_t *p = NULL;
    qg_error_t *err = qg_scn_build(sc, &o, 60, &p);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_eq(p->n_machines, 2);
    cr_assert_eq(p->n_jobs, 4); /* J1, J2, X-1#1, X-1#2 */
    cr_assert_eq(p->n_ops, 3 + 4);
    cr_assert_str_eq(p->machine_names[0], "A");
    /* O11 on A: normal mean "10" / efficiency 0.8 = 12.5; on B uniform 12..16 */
    cr_assert_eq(p->ops[0].n_alt, 2);
    cr_assert_float_eq(qg_fjsp_alt(p, 0, 0)->dur, 12.5, 1e-9);
    cr_assert_float_eq(qg_fjsp_alt(p, 0, 1)->dur, 14, 1e-9);
    cr_assert_float_eq(p->release[0], 5, 1e-12);
    cr_assert_float_eq(p->due[1], 30, 1e-12);
    cr_assert_float_eq(p->avail[0], 4, 1e-12);
    cr_assert_float_eq(p->avail[1], 20, 1e-12);
    cr_assert_float_eq(qg_fjsp_transfer(p, -1, 1), 2, 1e-12);
    cr_assert_float_eq(qg_fjsp_transfer(p, 0, 1), 3, 1e-12);
    /* order: welding on machine type CNC (A), 6 min / 0.8; testing on B from the law (mean 6) */
    cr_assert(p->target[2] && p->target[3] && !p->target[0]);
    cr_assert(p->has_target);
    cr_assert_eq(p->ops[3].n_alt, 1);
    cr_assert_float_eq(qg_fjsp_alt(p, 3, 0)->dur, 7.5, 1e-9);
    cr_assert_eq(qg_fjsp_alt(p, 4, 0)->machine, 1);
    cr_assert_float_eq(qg_fjsp_alt(p, 4, 0)->dur, 6, 1e-9);
    qg_fjsp_destroy(p);

    /* lots: 5 units in lots of 2 -> 3 jobs, the last with 1 unit */
    o = (qg_engine_order_t){"X-1", 5, 2, -1, NULL, QG_ORDER_INSERT, 0};
    cr_assert_null(qg_scn_build(sc, &o, 60, &p));
    cr_assert_eq(p->n_jobs, 5);
    cr_assert_float_eq(qg_fjsp_alt(p, 3, 0)->dur, 15, 1e-9);
    cr_assert_float_eq(qg_fjsp_alt(p, 7, 0)->dur, 7.5, 1e-9);
    qg_fjsp_destroy(p);
    qg_json_destroy(sc);
}

Test(engine_scenario, bad_inputs_are_named)
{
    qg_json_t *sc = load_dir(TINY);
    qg_fjsp_t *p = NULL;
    qg_engine_order_t o = order_of("NOPE", 1);
    qg_error_t *err = qg_scn_build(sc, &o, 60, &p);
    cr_assert_not_null(err);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_assert(strstr(qg_error_message(err), "NOPE"), "%s", qg_error_message(err));
    qg_error_destroy(err);

    o = order_of("X-1", 0);
    err = qg_scn_build(sc, &o, 60, &p);
    cr_assert_not_null(err);
    qg_error_destroy(err);

    /* machine B down with no time: O12 (B only) cannot be planned */
    qg_json_t *ms = qg_json_get(sc, "machines");
    qg_json_t *b = qg_json_at(ms, 1);
    qg_json_set_str(b, "status", "down");
    qg_json_set_num(b, "next_available_time", 0);
    err = qg_scn_build(sc, NULL, 60, &p);
    cr_assert_not_null(err);
    cr_assert(strstr(qg_error_message(err), "O12"), "%s", qg_error_message(err));
    qg_error_destroy(err);

    err = qg_scn_build(qg_json_get(sc, "jobs"), NULL, 60, &p);
    cr_assert_not_null(err);
    qg_error_destroy(err);

    char errstr[128];
    qg_json_t *bad = qg_json_parse("{\"jobs\": \"[not json\"}", 21, errstr, sizeof(errstr));
    err = qg_scn_build(bad, NULL, 60, &p);
    cr_assert_not_null(err);
    cr_assert(strstr(qg_error_message(err), "jobs"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(bad);
    qg_json_destroy(sc);

    err = qg_engine_scenario_load_dir("/nonexistent", &sc);
    cr_assert_not_null(err);
    qg_error_destroy(err);
}

static qg_json_t *run(const qg_json_t *sc, const qg_engine_order_t *o, int reps, long gens)
{
    qg_engine_options_t opt;
    qg_engine_options_default(&opt);
    opt.time_limit_s = 0;
    opt.max_generations = gens;
    opt.replications = reps;
    opt.population = 10;
    opt.ls_iterations = 50;
    qg_json_t *res = NULL;
    qg_error_t *err = qg_engine_run(sc, o, &opt, NULL, NULL, NULL, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    return res;
}

Test(engine_scenario, seed_factory_p1001_x50)
{
    qg_json_t *sc = seed_scenario();
    qg_engine_order_t o = order_of("P-1001", 50);
    qg_engine_options_t opt;
    qg_engine_options_default(&opt);
    opt.time_limit_s = 0.3;
    opt.max_generations = 0;
    qg_json_t *res = NULL;
    qg_error_t *err = qg_engine_run(sc, &o, &opt, NULL, NULL, NULL, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_null(qg_engine_verify_plan(sc, &o, res));
    cr_assert_eq(qg_json_len(qg_json_path(res, "productionPlan.operations")), 95 + 100);
    double est = qg_json_num(qg_json_get(res, "estimatedTime"), -1);
    double p10 = qg_json_num(qg_json_path(res, "percentiles.p10"), -1);
    double p90 = qg_json_num(qg_json_path(res, "percentiles.p90"), -1);
    cr_assert_gt(est, 50 * 12 * 60, "estimatedTime %g s is below the drilling work alone", est);
    cr_assert(p10 <= est && est <= p90);
    cr_assert(qg_json_is(qg_json_get(res, "confidence"), QG_JSON_NULL), "deterministic data");
    cr_assert_str_eq(qg_json_str(qg_json_get(res, "confidenceBasis")), "deterministic");
    cr_assert_gt(qg_json_len(qg_json_get(res, "bottlenecks")), 0);
    cr_assert_gt(qg_json_len(qg_json_get(res, "paretoFront")), 0);
    cr_assert_str_eq(qg_json_str(qg_json_path(res, "units.time")), "s");
    qg_json_destroy(res);
    qg_json_destroy(sc);
}

Test(engine_scenario, verify_plan_rejects_tampering)
{
    qg_json_t *sc = load_dir(TINY);
    qg_engine_order_t o = order_of("X-1", 3);
    qg_json_t *res = run(sc, &o, 50, 5);
    cr_assert_null(qg_engine_verify_plan(sc, &o, res));
    qg_json_t *ops = qg_json_path(res, "productionPlan.operations");
    qg_json_t *first = qg_json_at(ops, 0);
    double st = qg_json_num(qg_json_get(first, "start"), 0);
    qg_json_set_num(first, "start", st - 600); /* ten minutes early */
    qg_error_t *err = qg_engine_verify_plan(sc, &o, res);
    cr_assert_not_null(err, "an early start was accepted");
    cr_assert_eq(qg_error_class(err), QG_ERR_GATE_FAILED);
    qg_error_destroy(err);
    qg_json_set_num(first, "start", st);
    qg_json_set_str(first, "machine", "nowhere");
    err = qg_engine_verify_plan(sc, &o, res);
    cr_assert_not_null(err);
    cr_assert(strstr(qg_error_message(err), "eligib"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(qg_json_take(res, "productionPlan"));
    err = qg_engine_verify_plan(sc, &o, res);
    cr_assert_not_null(err);
    qg_error_destroy(err);
    qg_json_destroy(res);
    qg_json_destroy(sc);
}

/* Give every duration law a spread: normal with std = 20 % of the mean. */
static void add_spread(qg_json_t *sc)
{
    qg_json_t *d = qg_json_get(sc, "operation_durations");
    for (size_t t = 0; t < qg_json_len(d); t++) {
        qg_json_t *row = qg_json_at(d, t);
        for (size_t m = 0; m < qg_json_len(row); m++) {
            qg_json_t *law = qg_json_at(row, m);
            qg_json_set_num(law, "std", 0.2 * qg_scn_num(qg_json_get(law, "mean"), 0));
        }
    }
}

Test(engine_scenario, replay_mean_converges)
{
    qg_json_t *sc = seed_scenario();
    add_spread(sc);
    qg_engine_order_t o = order_of("P-1001", 50);
    qg_json_t *small = run(sc, &o, 500, 3), *big = run(sc, &o, 10000, 3);
    double ms = qg_json_num(qg_json_get(small, "mean"), -1);
    double mb = qg_json_num(qg_json_get(big, "mean"), -1);
    cr_assert_gt(qg_json_num(qg_json_get(big, "std"), 0), 0, "no spread in the replay");
    cr_assert_float_eq(qg_json_num(qg_json_get(small, "makespan"), 0),
                       qg_json_num(qg_json_get(big, "makespan"), 1), 1e-9, "plans differ");
    cr_assert(fabs(ms - mb) <= 0.02 * mb, "mean with 500 replications %g vs 10000: %g", ms, mb);
    double conf = qg_json_num(qg_json_get(big, "confidence"), -1);
    cr_assert(conf > 0.5 && conf <= 1, "confidence %g", conf);
    qg_json_destroy(small);
    qg_json_destroy(big);
    qg_json_destroy(sc);
}

Test(engine_scenario, due_date_confidence)
{
    qg_json_t *sc = load_dir(TINY);
    qg_engine_order_t o = order_of("X-1", 2);
    o.due_s = 1e7; /* far away: certain */
    qg_json_t *res = run(sc, &o, 200, 3);
    cr_assert_float_eq(qg_json_num(qg_json_get(res, "confidence"), -1), 1.0, 1e-12);
    qg_json_destroy(res);
    o.due_s = 60; /* one minute: impossible */
    res = run(sc, &o, 200, 3);
    cr_assert_float_eq(qg_json_num(qg_json_get(res, "confidence"), -1), 0.0, 1e-12);
    qg_json_destroy(res);
    qg_json_destroy(sc);
}

Test(engine_scenario, replay_independent_of_threads)
{
    qg_json_t *sc = load_dir(TINY);
    qg_engine_order_t o = order_of("X-1", 4);
    qg_fjsp_t *p = NULL;
    cr_assert_null(qg_scn_build(sc, &o, 60, &p));
    qg_opt_params_t prm = {
        .seed = 3, .max_generations = 2, .population = 8, .threads = 1, .ls_iterations = 20};
    qg_opt_result_t *r = NULL;
    cr_assert_null(qg_opt_run(p, &prm, NULL, NULL, NULL, &r));
    enum { R = 2000 };
    static double c1[R], m1[R], c4[R], m4[R];
    cr_assert_eq(qg_replay(p, r->best, R, 11, 1, NULL, c1, m1), R);
    cr_assert_eq(qg_replay(p, r->best, R, 11, 4, NULL, c4, m4), R);
    for (int i = 0; i < R; i++) {
        cr_assert_float_eq(c1[i], c4[i], 0, "replication %d differs", i);
        cr_assert_float_eq(m1[i], m4[i], 0, "replication %d differs", i);
        cr_assert_geq(m1[i], c1[i]);
    }
    qg_opt_result_destroy(r);
    qg_fjsp_destroy(p);
    qg_json_destroy(sc);
}

static void count_progress(const qg_engine_progress_t *pr, void *opaque)
{
    int *n = opaque;
    if (!strcmp(pr->phase, "optimize"))
        n[0]++;
    else
        n[1]++;
}

Test(engine_scenario, progress_and_cancel)
{
    qg_json_t *sc = load_dir(TINY);
    qg_engine_order_t o = order_of("X-1", 2);
    qg_engine_options_t opt;
    qg_engine_options_default(&opt);
    opt.time_limit_s = 0;
    opt.max_generations = 4;
    opt.ls_iterations = 0; /* decoder only */
    opt.replications = 100;
    opt.stall_generations = 0; /* no early stop */
    int calls[2] = {0, 0};
    qg_json_t *res = NULL;
    qg_error_t *err = qg_engine_run(sc, &o, &opt, count_progress, calls, NULL, &res);
    cr_assert_null(err, "%s", qg_error_message(err));
    /* 4 generations of the baseline (existing work), then 4 placing the order */
    cr_assert_eq(calls[0], 8, "optimize progress calls: %d", calls[0]);
    cr_assert_eq(calls[1], 1);
    cr_assert_null(qg_engine_verify_plan(sc, &o, res));
    qg_json_destroy(res);
    res = NULL;
    volatile sig_atomic_t cancel = 1;
    opt.max_generations = 1000000;
    err = qg_engine_run(sc, &o, &opt, NULL, NULL, &cancel, &res);
    cr_assert_not_null(err, "a cancelled run must fail");
    cr_assert_null(res);
    cr_assert(strstr(qg_error_message(err), "cancel"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(sc);
}
