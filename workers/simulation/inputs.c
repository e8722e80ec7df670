/*
 * inputs.c - what a simulation run needs, read from the goal: the selected
 * model's runner and options, the bound scenario (inline or claim check), the
 * order (product, quantity, due date) and the limits.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "claim.h"
#include "engine/scenario.h"
#include "goal.h"
#include "simulation.h"

#define BAD(...)       qg_error_new_bad_input(__VA_ARGS__)
#define STAGE_ERR(...) qg_error_new_stage_error(__VA_ARGS__)

/* ---------- claim checks ---------- */

qg_error_t *qg_sim_load_claim(const qg_sim_conf_t *conf, const qg_json_t *ref,
                              qg_json_t **scenario_out)
{
    *scenario_out = NULL;
    const char *path = qg_json_str(qg_json_get(ref, "path"));
    if (!path || !*path)
        return BAD("scenarioRef.path: expected a file or directory path");
    const qg_claim_reader_t rd = {
        .dir = conf->claims_dir,
        .dir_key = "simulation.claims.dir",
        .max_bytes = conf->scenario_max_bytes,
        .max_key = "simulation.scenario.max.bytes",
        .what = "scenarioRef",
    };
    qg_error_t *err = qg_claim_check_path(&rd, path);
    if (err)
        return err;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return qg_error_new(errno == ENOENT ? QG_ERR_TRANSIENT : QG_ERR_STAGE_ERROR,
                            "scenarioRef.path: %s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return qg_claim_load(&rd, ref, scenario_out);
    err = qg_engine_scenario_load_dir(path, scenario_out);
    return err ? qg_error_wrap(err, "scenarioRef.path %s", path) : NULL;
}

/* The yamlBinding result's scenario: inline object, claim check, or scenarioRef. */
static qg_error_t *read_scenario(const qg_sim_conf_t *conf, const qg_json_t *doc,
                                 qg_sim_plan_t *plan)
{
    const qg_json_t *res = qg_goal_stage_result(doc, "yamlBinding");
    if (!res)
        return BAD("executionLog: no completed yamlBinding stage (the simulation needs its "
                   "scenario)");
    const qg_json_t *sc = qg_json_get(res, "scenario");
    const qg_json_t *ref = qg_json_get(res, "scenarioRef");
    if (qg_json_is(sc, QG_JSON_OBJECT) && qg_json_get(sc, "path") && !qg_json_get(sc, "jobs"))
        ref = sc;
    else if (qg_json_is(sc, QG_JSON_OBJECT)) {
        snprintf(plan->scenario_source, sizeof(plan->scenario_source), "inline");
        plan->scenario = qg_json_clone(sc);
        return plan->scenario ? NULL : qg_error_oom;
    }
    if (!ref)
        return BAD("executionLog: yamlBinding result has no scenario or scenarioRef object");
    snprintf(plan->scenario_source, sizeof(plan->scenario_source), "%s",
             qg_json_str(qg_json_get(ref, "path")) ? qg_json_str(qg_json_get(ref, "path")) : "");
    return qg_sim_load_claim(conf, ref, &plan->scenario);
}

/* ---------- parameters ---------- */

int qg_sim_parse_time(const char *text, double *epoch_s)
{
    if (qg_plant_parse_time(text, epoch_s) != 0)
        return -1;
    if (!strpbrk(text, "T ")) /* a date alone: by the end of that day */
        *epoch_s += 86400.0;
    return 0;
}

static const char *param_text(const qg_json_t *doc, const char *const *keys, char *buf, size_t sz,
                              const char **which)
{
    for (size_t i = 0; keys[i]; i++) {
        const char *t = qg_goal_param_text(doc, keys[i], buf, sz);
        if (t && *t) {
            *which = keys[i];
            return t;
        }
    }
    return NULL;
}

static int parse_number(const char *t, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(t, &end);
    while (*end == ' ')
        end++;
    return end != t && !*end && !errno && isfinite(*out) ? 0 : -1;
}

static qg_error_t *read_order(const qg_json_t *doc, qg_sim_plan_t *plan)
{
    static const char *const product_keys[] = {"productType", "productId", "product", NULL};
    static const char *const qty_keys[] = {"quantity", "qty", NULL};
    static const char *const due_keys[] = {"dueDate", "due", "deadline", NULL};
    char buf[256];
    const char *which = NULL;
    const char *p = param_text(doc, product_keys, plan->product, sizeof(plan->product), &which);
    if (p && strlen(p) >= sizeof(plan->product))
        return BAD("QueryGoal.parameters.%s: longer than %zu characters", which,
                   sizeof(plan->product) - 1);
    if (p && p != plan->product)
        snprintf(plan->product, sizeof(plan->product), "%s", p);
    plan->order.quantity = 1;
    plan->order.due_s = -1;
    plan->order.product_id = p ? plan->product : NULL;
    const char *q = param_text(doc, qty_keys, buf, sizeof(buf), &which);
    if (p && !q)
        return BAD("QueryGoal.parameters: quantity missing for product %s", p);
    if (q && (parse_number(q, &plan->order.quantity) || plan->order.quantity < 1 ||
              plan->order.quantity > 1e6))
        return BAD("QueryGoal.parameters.%s: expected a number from 1 to 1000000, got \"%s\"",
                   which, q);
    const char *lot = qg_goal_param_text(doc, "lotSize", buf, sizeof(buf));
    if (lot && (parse_number(lot, &plan->order.lot_size) || plan->order.lot_size < 0))
        return BAD("QueryGoal.parameters.lotSize: expected a positive number, got \"%s\"", lot);
    const char *due = param_text(doc, due_keys, buf, sizeof(buf), &which);
    double when;
    if (due && !parse_number(due, &when)) {
        plan->order.due_s = when < 0 ? 0 : when; /* seconds from now */
    } else if (due) {
        if (qg_sim_parse_time(due, &when) != 0)
            return BAD("QueryGoal.parameters.%s: expected a date (2025-08-11) or ISO date-time, "
                       "got \"%s\"",
                       which, due);
        double from_now = when - (double)time(NULL);
        plan->order.due_s = from_now < 0 ? 0 : from_now; /* already late */
        plan->order.due_at_epoch_s = when; /* the engine counts it from the plant's asOf */
    }
    static const char *const policy_keys[] = {"orderPolicy", "policy", NULL};
    const char *pol = param_text(doc, policy_keys, buf, sizeof(buf), &which);
    int policy = pol ? qg_engine_policy_parse(pol) : QG_ORDER_INSERT;
    if (policy < 0)
        return BAD("QueryGoal.parameters.%s: expected insert or reoptimize, got \"%s\"", which,
                   pol);
    plan->order.policy = (qg_order_policy_t)policy;
    plan->policy_from_goal = pol != NULL;
    return NULL;
}

/* ---------- model options ---------- */

/* A runner option from runner.options{} or runner{} itself, under any of its names. */
static const qg_json_t *opt(const qg_json_t *runner, const char *a, const char *b)
{
    const qg_json_t *o = qg_json_get(runner, "options");
    const qg_json_t *v = qg_json_get(o, a);
    if (!v && b)
        v = qg_json_get(o, b);
    if (!v)
        v = qg_json_get(runner, a);
    if (!v && b)
        v = qg_json_get(runner, b);
    return v;
}

static qg_error_t *opt_num(const qg_json_t *runner, const char *a, const char *b, double lo,
                           double hi, double *out)
{
    const qg_json_t *v = opt(runner, a, b);
    double d;
    if (!v)
        return NULL;
    if (qg_json_is(v, QG_JSON_NUMBER))
        d = qg_json_num(v, NAN);
    else if (!qg_json_str(v) || parse_number(qg_json_str(v), &d))
        d = NAN;
    if (!isfinite(d) || d < lo || d > hi)
        return STAGE_ERR("selectedModel.runner.%s: expected a number in [%g, %g]", a, lo, hi);
    *out = d;
    return NULL;
}

static qg_error_t *engine_options(const qg_sim_conf_t *conf, const qg_json_t *doc,
                                  qg_sim_plan_t *plan)
{
    const qg_json_t *r = plan->options;
    qg_engine_options_t *e = &plan->engine;
    qg_engine_options_default(e);
    double t = conf->engine_time_s, gens = (double)conf->engine_generations;
    double threads = conf->engine_threads, reps = conf->engine_replications;
    double pop = e->population, ls = (double)e->ls_iterations, seed = (double)e->seed;
    const char *engine = qg_json_str(opt(r, "engine", NULL));
    if (engine && !strcmp(engine, "dispatch")) { /* fast heuristic: tiny budget */
        t = 0.2, gens = 1, pop = 8, ls = 0, reps = 200;
    } else if (engine && strcmp(engine, "nsga2")) {
        return STAGE_ERR("selectedModel.runner.engine: unknown engine \"%s\" (nsga2, dispatch)",
                         engine);
    }
    qg_error_t *err = opt_num(r, "timeLimitSeconds", "timeLimit", 0, 1e7, &t);
    if (!err)
        err = opt_num(r, "maxGenerations", "generations", 0, 1e9, &gens);
    if (!err)
        err = opt_num(r, "population", NULL, 2, 100000, &pop);
    if (!err)
        err = opt_num(r, "lsIterations", NULL, 0, 1e9, &ls);
    if (!err)
        err = opt_num(r, "replications", NULL, 1, 1e7, &reps);
    if (!err)
        err = opt_num(r, "threads", NULL, 1, 256, &threads);
    if (!err)
        err = opt_num(r, "seed", NULL, 0, 1.8e19, &seed);
    double stall = (double)conf->engine_stall;
    if (!err)
        err = opt_num(r, "stallGenerations", NULL, 0, 1e9, &stall);
    if (err)
        return err;
    const char *pol = qg_json_str(opt(r, "orderPolicy", NULL)); /* the model's (a rule's) choice */
    if (pol && !plan->policy_from_goal) {
        int policy = qg_engine_policy_parse(pol);
        if (policy < 0)
            return STAGE_ERR("selectedModel.runner.orderPolicy: expected insert or reoptimize, "
                             "got \"%s\"",
                             pol);
        plan->order.policy = (qg_order_policy_t)policy;
    }
    char buf[64];
    const char *gt = qg_goal_param_text(doc, "timeLimit", buf, sizeof(buf));
    double goal_t;
    if (gt && (parse_number(gt, &goal_t) || goal_t <= 0))
        return BAD("QueryGoal.parameters.timeLimit: expected seconds > 0, got \"%s\"", gt);
    if (gt)
        t = goal_t < conf->time_cap_s ? goal_t : conf->time_cap_s;
    const char *gs = qg_goal_param_text(doc, "seed", buf, sizeof(buf));
    if (gs && (parse_number(gs, &seed) || seed < 0))
        return BAD("QueryGoal.parameters.seed: expected a non-negative integer, got \"%s\"", gs);
    if (t <= 0 && gens <= 0)
        t = conf->engine_time_s;
    if (t > conf->time_cap_s)
        t = conf->time_cap_s; /* the operator's cap wins over the model's budget */
    e->time_limit_s = t;
    e->max_generations = (long)gens;
    e->population = (int)pop;
    e->ls_iterations = (long)ls;
    e->replications = (int)reps;
    e->threads = (int)threads;
    e->seed = (uint64_t)seed;
    e->stall_generations = (long)stall;
    e->stale_after_s = conf->engine_stale_after_s;
    return NULL;
}

static qg_error_t *limits(const qg_sim_conf_t *conf, qg_sim_plan_t *plan)
{
    double mem = (double)conf->memory_mb, wall = conf->time_cap_s;
    qg_error_t *err = opt_num(plan->options, "memoryLimitMb", NULL, 16, 1048576, &mem);
    if (err)
        return err;
    plan->memory_mb = (long)mem;
    if (plan->runner == &qg_runner_builtin) {
        if (plan->engine.time_limit_s > 0)
            wall = plan->engine.time_limit_s + conf->time_grace_s;
    } else {
        err = opt_num(plan->options, "timeLimit", "timeLimitSeconds", 0.01, 1e7, &wall);
    }
    plan->wall_limit_s = wall < conf->time_cap_s ? wall : conf->time_cap_s;
    return err;
}

/*
 * The model: QueryGoal.selectedModel; an id (or an entry without a runner) is
 * looked up in the registry when one is configured. No model, or an id and no
 * registry: the builtin engine with the defaults.
 */
static qg_error_t *pick_runner(const qg_sim_conf_t *conf, const qg_json_t *goal,
                               qg_sim_plan_t *plan)
{
    const qg_json_t *sm = qg_json_get(goal, "selectedModel");
    const char *id =
        qg_json_is(sm, QG_JSON_STRING) ? qg_json_str(sm) : qg_json_str(qg_json_get(sm, "modelId"));
    plan->model = qg_json_is(sm, QG_JSON_OBJECT) ? sm : NULL;
    if (id && conf->registry && !qg_json_get(plan->model, "runner")) {
        plan->model = qg_registry_find(conf->registry, id);
        if (!plan->model)
            return STAGE_ERR("QueryGoal.selectedModel: model \"%s\" is not in the registry %s", id,
                             qg_registry_path(conf->registry));
    }
    plan->options = qg_json_get(plan->model, "runner");
    if (plan->options && !qg_json_is(plan->options, QG_JSON_OBJECT))
        return STAGE_ERR("selectedModel.runner: expected an object");
    const char *type = qg_json_str(qg_json_get(plan->options, "type"));
    plan->runner = qg_runner_find(type ? type : "builtin");
    if (!plan->runner)
        return STAGE_ERR("selectedModel.runner.type: \"%s\" has no runner in this worker "
                         "(builtin, exec)",
                         type);
    return NULL;
}

static qg_json_t *make_input(const qg_json_t *doc, const qg_sim_plan_t *plan)
{
    const qg_json_t *goal = qg_goal_query(doc);
    qg_json_t *in = qg_json_object(), *order = qg_json_object();
    if (!in || !order) {
        qg_json_destroy(in);
        qg_json_destroy(order);
        return NULL;
    }
    qg_json_set_str(in, "goalId", qg_goal_id(doc) ? qg_goal_id(doc) : "");
    qg_json_set_str(in, "goalType", qg_goal_type(doc) ? qg_goal_type(doc) : "");
    if (qg_json_get(goal, "parameters"))
        qg_json_set(in, "parameters", qg_json_clone(qg_json_get(goal, "parameters")));
    if (qg_json_get(goal, "outputSpec"))
        qg_json_set(in, "outputSpec", qg_json_clone(qg_json_get(goal, "outputSpec")));
    if (plan->order.product_id)
        qg_json_set_str(order, "productId", plan->order.product_id);
    qg_json_set_num(order, "quantity", plan->order.quantity);
    qg_json_set_str(order, "policy", qg_engine_policy_name(plan->order.policy));
    if (plan->order.due_s >= 0)
        qg_json_set_num(order, "dueInSeconds", plan->order.due_s);
    qg_json_set(in, "order", order);
    qg_json_set_num(in, "timeLimit", plan->wall_limit_s);
    qg_json_set_num(in, "seed", (double)plan->engine.seed);
    return in;
}

qg_error_t *qg_sim_plan_read(const qg_sim_conf_t *conf, const qg_json_t *doc, qg_sim_plan_t *plan)
{
    memset(plan, 0, sizeof(*plan));
    qg_error_t *err = pick_runner(conf, qg_goal_query(doc), plan);
    if (!err)
        err = read_order(doc, plan);
    if (!err)
        err = engine_options(conf, doc, plan);
    if (!err)
        err = limits(conf, plan);
    if (!err)
        err = read_scenario(conf, doc, plan);
    if (!err && !(plan->input = make_input(doc, plan)))
        err = qg_error_oom;
    return err;
}

void qg_sim_plan_clear(qg_sim_plan_t *plan)
{
    qg_json_destroy(plan->scenario);
    qg_json_destroy(plan->input);
    memset(plan, 0, sizeof(*plan));
}
