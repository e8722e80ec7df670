/*
 * stage.c - the simulation stage: run the selected model on the bound
 * scenario, map its result into QueryGoal.outputs, gate on the answer.
 *
 *   run   reads the plan (inputs.c), runs it with the model's runner in a
 *         child process (runner.h) inside a private work directory,
 *         publishes progress events, verifies a builtin plan, maps outputs.
 *   gate  status completed, every requested output present and finite,
 *         the plan verified.
 *
 * Result (ctx->result): the runner's full result (estimatedTime, confidence,
 * percentiles, bottlenecks, paretoFront, solver, units, ...; productionPlan
 * becomes {in: "QueryGoal.outputs.productionPlan", operations: N} when the
 * outputs carry it)
 * plus status, model, runnerType, scenarioSource, orderInput, engineOptions,
 * verification{passed, message}, progressEvents.
 */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "goal.h"
#include "log.h"
#include "simulation.h"
#include "stage.h"

#define STAGE_NAME "simulation"

static const qg_option_t sim_options[] = {
    QG_OPT_STR("simulation.work.dir", "/tmp/qg-simulation",
               "parent of the per-run work directories"),
    QG_OPT_BOOL("simulation.keep.work", "false",
                "keep each run's work directory (scenario, logs, result)"),
    QG_OPT_STR("simulation.claims.dir", NULL,
               "claim-check scenario paths must lie below this directory (unset: anywhere)"),
    QG_OPT_DOUBLE("simulation.time.limit.s", "600", 0.001, 604800,
                  "hard wall-clock limit of one run, in seconds"),
    QG_OPT_DOUBLE("simulation.time.grace.s", "30", 0, 86400,
                  "builtin runs are killed this long after their optimizer budget, in seconds"),
    QG_OPT_DOUBLE("simulation.engine.time.limit.s", "5", 0, 86400,
                  "optimizer budget in seconds when neither the model nor the goal gives one"),
    QG_OPT_INT("simulation.engine.generations", "0", 0, 100000000,
               "default generation limit (0: none)"),
    QG_OPT_INT("simulation.engine.threads", "1", 1, 256, "default optimizer and replay threads"),
    QG_OPT_INT("simulation.engine.replications", "1000", 1, 10000000,
               "default Monte Carlo replications"),
    QG_OPT_INT("simulation.memory.limit.mb", "2048", 0, 1048576,
               "default address-space limit of a run's process (0: none)"),
    QG_OPT_INT("simulation.log.max.bytes", "1048576", 0, 1073741824,
               "cap of each captured simulator log file"),
    QG_OPT_INT("simulation.result.max.bytes", "67108864", 1, 4294967296,
               "largest result file accepted"),
    QG_OPT_INT("simulation.scenario.max.bytes", "268435456", 1, 4294967296,
               "largest claim-check scenario file accepted"),
    QG_OPT_MS("simulation.progress.interval.ms", "500", 0, 3600000,
              "least time between two progress events"),
    QG_OPT_INT("simulation.engine.stall.generations", "10", 0, 1000000,
               "stop the optimizer after this many generations without improvement (0: never)"),
    QG_OPT_DOUBLE("simulation.engine.stale.after.s", "86400", 0, 1e9,
                  "warn when a machine's last_update is older than this before asOf (0: never)"),
    QG_OPT_STR(
        "registry.file", NULL,
        "model registry: resolves a selectedModel given by id only (unset: builtin defaults)"),
    QG_OPT_STR("simulation.docker.host", "unix:///var/run/docker.sock",
               "docker runner: the Docker Engine API, unix:///path or tcp://host:port"),
    QG_OPT_STR("simulation.docker.tls.ca", NULL, "docker runner: CA file of a TLS daemon"),
    QG_OPT_STR("simulation.docker.tls.cert", NULL, "docker runner: client certificate (TLS)"),
    QG_OPT_STR("simulation.docker.tls.key", NULL, "docker runner: client key (TLS)"),
    QG_OPT_STR("simulation.docker.work.dir.host", NULL,
               "docker runner: simulation.work.dir as the daemon sees it (unset: the same)"),
    QG_OPT_BOOL("simulation.docker.recover", "true",
                "docker runner: at start, remove containers left by a dead worker of this host"),
    QG_OPT_STR("simulation.kubernetes.kubeconfig", NULL,
               "kubernetes runner: a kubeconfig (unset: in-cluster service account)"),
    QG_OPT_STR("simulation.kubernetes.server", NULL,
               "kubernetes runner: API server URL without a kubeconfig (unset: in-cluster)"),
    QG_OPT_STR("simulation.kubernetes.token.file", NULL,
               "kubernetes runner: bearer token file (unset: the service account's)"),
    QG_OPT_STR("simulation.kubernetes.ca.file", NULL,
               "kubernetes runner: the API server's CA (unset: the service account's)"),
    QG_OPT_STR("simulation.kubernetes.namespace", NULL,
               "kubernetes runner: namespace of the Jobs (unset: the kubeconfig's or the pod's)"),
    QG_OPT_STR("simulation.kubernetes.pvc", NULL,
               "kubernetes runner: the PersistentVolumeClaim that holds simulation.work.dir"),
    QG_OPT_STR(
        "simulation.kubernetes.pvc.mount", NULL,
        "kubernetes runner: where this worker mounts that claim (unset: simulation.work.dir)"),
    QG_OPT_STR("simulation.kubernetes.image.pull.policy", NULL,
               "kubernetes runner: imagePullPolicy of the Jobs (unset: the cluster's default)"),
    QG_OPT_STR("simulation.kubernetes.service.account", NULL,
               "kubernetes runner: service account of the Jobs' pods (unset: default)"),
    QG_OPT_INT("simulation.kubernetes.ttl.s", "600", 0, 604800,
               "kubernetes runner: ttlSecondsAfterFinished, if a worker dies before deleting"),
    QG_OPT_BOOL("simulation.kubernetes.recover", "true",
                "kubernetes runner: at start, delete Jobs left by a dead worker of this host"),
    QG_OPT_TABLE_END("simulation"),
};

typedef struct {
    qg_sim_conf_t conf;
} qg_sim_t;

static int is_set(const char *s)
{
    return s && *s;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void sim_destroy(void *state)
{
    qg_sim_t *st = state;
    if (!st)
        return;
    free(st->conf.work_dir);
    free(st->conf.claims_dir);
    qg_registry_destroy(st->conf.registry);
    free(st);
}

static qg_error_t *sim_init(void **state, const qg_config_t *cfg)
{
    qg_sim_t *st = calloc(1, sizeof(*st));
    if (!st)
        return qg_error_new_oom("simulation: out of memory");
    qg_sim_conf_t *c = &st->conf;
    c->work_dir = dup_or_null(qg_config_get(cfg, "simulation.work.dir"));
    c->claims_dir = dup_or_null(qg_config_get(cfg, "simulation.claims.dir"));
    c->keep_work = qg_config_bool(cfg, "simulation.keep.work");
    c->time_cap_s = qg_config_double(cfg, "simulation.time.limit.s");
    c->time_grace_s = qg_config_double(cfg, "simulation.time.grace.s");
    c->engine_time_s = qg_config_double(cfg, "simulation.engine.time.limit.s");
    c->engine_generations = (long)qg_config_int(cfg, "simulation.engine.generations");
    c->engine_threads = (int)qg_config_int(cfg, "simulation.engine.threads");
    c->engine_replications = (int)qg_config_int(cfg, "simulation.engine.replications");
    c->memory_mb = (long)qg_config_int(cfg, "simulation.memory.limit.mb");
    c->log_max_bytes = (size_t)qg_config_int(cfg, "simulation.log.max.bytes");
    c->result_max_bytes = (size_t)qg_config_int(cfg, "simulation.result.max.bytes");
    c->scenario_max_bytes = (size_t)qg_config_int(cfg, "simulation.scenario.max.bytes");
    c->progress_interval_ms = (double)qg_config_ms(cfg, "simulation.progress.interval.ms");
    c->engine_stall = (long)qg_config_int(cfg, "simulation.engine.stall.generations");
    c->engine_stale_after_s = qg_config_double(cfg, "simulation.engine.stale.after.s");
    qg_error_t *err = NULL;
    const char *reg = qg_config_get(cfg, "registry.file");
    if (!c->work_dir)
        err = qg_error_new_fatal("simulation.work.dir: must not be empty");
    else if (reg && *reg && !(c->registry = qg_registry_load(reg, &err)))
        err = err ? err : qg_error_new_fatal("registry.file %s: cannot load", reg);
    else if (mkdir(c->work_dir, 0700) != 0 && errno != EEXIST)
        err = qg_error_new_fatal("simulation.work.dir %s: %s", c->work_dir, strerror(errno));
    if (!err && qg_config_bool(cfg, "simulation.docker.recover"))
        qg_runner_docker_recover(cfg);
    if (!err)
        err = qg_runner_kubernetes_check(cfg);
    if (!err && qg_config_bool(cfg, "simulation.kubernetes.recover") &&
        (is_set(qg_config_get(cfg, "simulation.kubernetes.kubeconfig")) ||
         is_set(qg_config_get(cfg, "simulation.kubernetes.server")) ||
         is_set(getenv("KUBERNETES_SERVICE_HOST"))))
        qg_runner_kubernetes_recover(cfg);
    if (err) {
        sim_destroy(st);
        return err;
    }
    *state = st;
    return NULL;
}

/* ---------- work directory ---------- */

static qg_error_t *work_dir_new(const qg_sim_t *st, const char *goal_id, char *out, size_t sz)
{
    char safe[64];
    size_t n = 0;
    for (const char *p = goal_id ? goal_id : "goal"; *p && n < sizeof(safe) - 1; p++)
        safe[n++] = (isalnum((unsigned char)*p) || *p == '-' || *p == '_') ? *p : '_';
    safe[n] = '\0';
    snprintf(out, sz, "%s/run-%s-XXXXXX", st->conf.work_dir, safe);
    if (!mkdtemp(out))
        return qg_error_new_transient("cannot create a work directory in %s: %s", st->conf.work_dir,
                                      strerror(errno));
    return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void work_dir_remove(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------- progress ---------- */

typedef struct {
    qg_stage_ctx_t *ctx;
    double interval_ms, last_ms;
    char phase[32];
    long events;
} progress_t;

static void on_progress(const qg_runner_progress_t *pr, void *opaque)
{
    progress_t *pg = opaque;
    double now = qg_now_ms();
    const char *phase = pr->phase ? pr->phase : "running";
    int changed = strcmp(pg->phase, phase) != 0;
    if (!changed && now - pg->last_ms < pg->interval_ms)
        return;
    snprintf(pg->phase, sizeof(pg->phase), "%s", phase);
    pg->last_ms = now;
    pg->events++;
    if (!pg->ctx->events)
        return;
    qg_json_t *e = qg_json_object();
    qg_json_set_str(e, "phase", phase);
    if (pr->generation >= 0)
        qg_json_set_num(e, "generation", (double)pr->generation);
    if (isfinite(pr->best) && pr->best >= 0)
        qg_json_set_num(e, "best", pr->best);
    if (pr->replications_total > 0 && pr->replications_done >= 0) {
        qg_json_set_num(e, "replications", pr->replications_done);
        qg_json_set_num(e, "replicationsTotal", pr->replications_total);
    }
    if (pr->fraction >= 0)
        qg_json_set_num(e, "progress", round(pr->fraction * 1000) / 1000);
    qg_events_publish(pg->ctx->events, pg->ctx->goal_id, STAGE_NAME, "progress", e);
}

/* ---------- result ---------- */

static qg_json_t *order_json(const qg_sim_plan_t *plan)
{
    qg_json_t *o = qg_json_object();
    if (plan->order.product_id)
        qg_json_set_str(o, "productId", plan->order.product_id);
    qg_json_set_num(o, "quantity", plan->order.quantity);
    if (plan->order.due_s >= 0)
        qg_json_set_num(o, "dueInSeconds", plan->order.due_s);
    return o;
}

static qg_json_t *engine_json(const qg_sim_plan_t *plan)
{
    const qg_engine_options_t *e = &plan->engine;
    qg_json_t *o = qg_json_object();
    qg_json_set_num(o, "seed", (double)e->seed);
    qg_json_set_num(o, "timeLimitSeconds", e->time_limit_s);
    qg_json_set_num(o, "maxGenerations", (double)e->max_generations);
    qg_json_set_num(o, "population", e->population);
    qg_json_set_num(o, "lsIterations", (double)e->ls_iterations);
    qg_json_set_num(o, "replications", e->replications);
    qg_json_set_num(o, "threads", e->threads);
    qg_json_set_num(o, "wallLimitSeconds", plan->wall_limit_s);
    qg_json_set_num(o, "memoryLimitMb", (double)plan->memory_mb);
    return o;
}

/* Describe the run in ctx->result (also when it failed). */
static int describe_run(qg_json_t *res, const qg_sim_plan_t *plan)
{
    qg_json_t *model = qg_json_object();
    const char *id = qg_json_str(qg_json_get(plan->model, "modelId"));
    const char *ver = qg_json_str(qg_json_get(plan->model, "version"));
    qg_json_set_str(model, "modelId", id ? id : "builtin-default");
    if (ver)
        qg_json_set_str(model, "version", ver);
    int rc = qg_json_set(res, "model", model);
    rc |= qg_json_set_str(res, "runnerType", plan->runner ? plan->runner->type : "?");
    rc |= qg_json_set_str(res, "scenarioSource", plan->scenario_source);
    rc |= qg_json_set(res, "orderInput", order_json(plan));
    if (plan->runner == &qg_runner_builtin)
        rc |= qg_json_set(res, "engineOptions", engine_json(plan));
    return rc;
}

/*
 * The plan is the bulk of a result: when QueryGoal.outputs carries it, the
 * stage result points there instead of holding a second copy.
 */
static qg_error_t *dedupe_plan(qg_stage_ctx_t *ctx)
{
    const qg_json_t *plan = qg_json_path(ctx->goal, "outputs.productionPlan");
    if (!plan || !qg_json_equal(plan, qg_json_get(ctx->result, "productionPlan")))
        return NULL;
    qg_json_t *ref = qg_json_object();
    if (!ref || qg_json_set_str(ref, "in", "QueryGoal.outputs.productionPlan") != 0 ||
        qg_json_set_num(ref, "operations", (double)qg_json_len(qg_json_get(plan, "operations"))) !=
            0) {
        qg_json_destroy(ref);
        return qg_error_oom;
    }
    return qg_json_set(ctx->result, "productionPlan", ref) == 0 ? NULL : qg_error_oom;
}

/* Merge the runner result into ctx->result, verify a builtin plan, map the outputs. */
static qg_error_t *finish(qg_stage_ctx_t *ctx, const qg_sim_plan_t *plan, qg_json_t *result)
{
    for (size_t i = 0; i < qg_json_len(result); i++)
        if (qg_json_set(ctx->result, qg_json_key_at(result, i),
                        qg_json_clone(qg_json_at(result, i))) != 0)
            return qg_error_oom;
    if (plan->runner == &qg_runner_builtin) {
        qg_error_t *v = qg_engine_verify_plan(plan->scenario, &plan->order, result);
        qg_json_t *ver = qg_json_object();
        qg_json_set_bool(ver, "passed", v == NULL);
        qg_json_set_str(ver, "message", v ? qg_error_message(v) : "plan verified");
        qg_error_destroy(v);
        if (qg_json_set(ctx->result, "verification", ver) != 0)
            return qg_error_oom;
    }
    if (qg_json_set_str(ctx->result, "status", "completed") != 0 ||
        qg_sim_outputs_map(ctx->goal, result) != 0)
        return qg_error_oom;
    return dedupe_plan(ctx);
}

static void run_job(const qg_sim_t *st, qg_stage_ctx_t *ctx, const qg_sim_plan_t *plan,
                    const char *work, progress_t *pg, qg_runner_job_t *job)
{
    memset(job, 0, sizeof(*job));
    job->goal_id = ctx->goal_id;
    job->runner = plan->options;
    job->scenario = plan->scenario;
    job->order = &plan->order;
    job->engine = &plan->engine;
    job->input = plan->input;
    job->work_dir = work;
    job->time_limit_s = plan->wall_limit_s;
    job->memory_limit_mb = plan->memory_mb;
    job->log_max_bytes = st->conf.log_max_bytes;
    job->result_max_bytes = st->conf.result_max_bytes;
    job->progress = on_progress;
    job->opaque = pg;
    job->cancel = ctx->cancel;
    job->cfg = ctx->cfg;
}

static qg_error_t *sim_run(void *state, qg_stage_ctx_t *ctx)
{
    const qg_sim_t *st = state;
    qg_sim_plan_t plan;
    char work[4096] = "";
    qg_json_t *result = NULL;
    double t0 = qg_now_ms();
    qg_error_t *err = qg_sim_plan_read(&st->conf, ctx->doc, &plan);
    if (!err)
        err = work_dir_new(st, ctx->goal_id, work, sizeof(work));
    if (!err) {
        progress_t pg = {.ctx = ctx, .interval_ms = st->conf.progress_interval_ms};
        qg_runner_job_t job;
        run_job(st, ctx, &plan, work, &pg, &job);
        qg_info(QG_SIM_COMPONENT, "goal %s: %s runner, product %s x %g, wall limit %g s",
                ctx->goal_id ? ctx->goal_id : "?", plan.runner->type,
                plan.order.product_id ? plan.order.product_id : "(none)", plan.order.quantity,
                plan.wall_limit_s);
        err = plan.runner->run(&job, &result);
        qg_json_set_num(ctx->result, "progressEvents", (double)pg.events);
    }
    if (describe_run(ctx->result, &plan) != 0 && !err)
        err = qg_error_oom;
    if (!err)
        err = finish(ctx, &plan, result);
    if (err)
        qg_json_set_str(ctx->result, "status", "failed");
    qg_json_set_num(ctx->result, "elapsedSeconds", (qg_now_ms() - t0) / 1000.0);
    if (work[0] && st->conf.keep_work)
        qg_json_set_str(ctx->result, "workDir", work);
    else if (work[0])
        work_dir_remove(work);
    qg_json_destroy(result);
    qg_sim_plan_clear(&plan);
    return err;
}

static int sim_gate(void *state, const qg_stage_ctx_t *ctx, char *reason, size_t sz)
{
    (void)state;
    return qg_sim_gate_check(ctx->goal, ctx->result, reason, sz);
}

const qg_stage_ops_t qg_stage_simulation = {
    .name = STAGE_NAME,
    .program = "qg-simulation",
    .summary = "run the selected simulation model on the bound scenario and answer the goal",
    .options = sim_options,
    .long_running = 1,
    .init = sim_init,
    .run = sim_run,
    .gate = sim_gate,
    .destroy = sim_destroy,
};
