/*
 * qg-sim - command line for the scheduling and simulation engine.
 *
 *   qg-sim solve --fjs FILE [--time-limit S] [--seed N] [--threads T] [--json]
 *   qg-sim run (--scenario DIR|FILE | --aas FILE...) --product ID --quantity Q
 *              [--routing FILE] [--lot-size L] [--due S] [--replications R] [--json]
 *   qg-sim assemble --aas FILE... [--out FILE]
 *   qg-sim verify (--scenario DIR|FILE | --aas FILE...) [--product ID --quantity Q]
 *                 --result FILE
 * Common: --time-limit S --generations G --seed N --threads T --population P
 *         --ls-iterations N --quiet. Data on stdout, progress and errors on stderr.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "engine/engine.h"
#include "log.h"

#define MAX_AAS 64

typedef struct {
    const char *cmd, *fjs, *scenario, *routing, *result, *out;
    const char *aas[MAX_AAS];
    char *aas_buf; /* owned copy of the --aas list that aas[] points into */
    int n_aas, json, quiet;
    qg_engine_order_t order;
    qg_engine_options_t opts;
} cli_t;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const qg_option_t sim_cli_options[] = {
    QG_OPT_STR("fjs", NULL, "solve: a flexible job-shop instance (Brandimarte .fjs or job-shop)"),
    QG_OPT_STR("scenario", NULL, "run/verify: a scenario directory or file"),
    QG_OPT_MULTI("aas", "run/assemble/verify: AAS environment files (repeat the option)"),
    QG_OPT_STR("routing", NULL, "run: routing file (default: the scenario's)"),
    QG_OPT_STR("result", NULL, "verify: the plan to check"),
    QG_OPT_STR("out", NULL, "write the result to this file instead of stdout"),
    QG_OPT_STR("product", NULL, "run/verify: product id"),
    QG_OPT_DOUBLE("quantity", "1", 1, 1000000, "run/verify: units to produce"),
    QG_OPT_DOUBLE("lot.size", "0", 0, 1000000, "units per lot, one job each (0: one lot)"),
    QG_OPT_DOUBLE("due", "-1", -1, 1e12, "due date in seconds from now (-1: none)"),
    QG_OPT_DOUBLE("time.limit", "1", 0, 86400,
                  "optimizer budget in seconds (0 when only --generations or "
                  "--max-evaluations is given: a clock-free, deterministic budget)"),
    QG_OPT_INT("generations", "0", 0, 1000000000, "generation limit (0: the time limit rules)"),
    QG_OPT_INT("max.evaluations", "0", 0, 1000000000000,
               "evaluations per island, a clock-free budget (0: none)"),
    QG_OPT_INT("seed", "1", 0, 9007199254740992, "random seed"),
    QG_OPT_INT("threads", "1", 1, 64, "optimizer and replay threads"),
    QG_OPT_INT("population", "30", 4, 10000, "population per island"),
    QG_OPT_INT("ls.iterations", "-1", -1, 1000000000, "tabu search iterations (-1: auto, 0: none)"),
    QG_OPT_INT("replications", "1000", 1, 10000000, "Monte Carlo replications"),
    QG_OPT_DOUBLE("tolerance", "0.1", 0, 10,
                  "without a due date, confidence is P(C <= estimate * (1 + tolerance))"),
    QG_OPT_ENUM(
        "policy", "insert", "insert|reoptimize",
        "run: insert the order into the capacity left by existing work, or plan all jointly"),
    QG_OPT_INT("stall", "10", 0, 1000000000,
               "generations without improvement before stopping (0: off)"),
    QG_OPT_DOUBLE("stale.after", "86400", 0, 1e9,
                  "warn on machine data older than this many seconds before asOf (0: never)"),
    QG_OPT_BOOL("json", "false", "print the result as JSON"),
    QG_OPT_TABLE_END("qg-sim"),
};

static const qg_cli_t sim_cli = {
    .program = "qg-sim",
    .usage = "solve|run|assemble|verify [options]",
    .about = "  qg-sim solve --fjs FILE [--time-limit S] [--seed N] [--threads T] [--json]\n"
             "  qg-sim run (--scenario DIR|FILE | --aas FILE...) --product ID --quantity Q\n"
             "             [--routing FILE] [--lot-size L] [--due SECONDS]\n"
             "             [--replications R] [--json] [--out FILE]\n"
             "  qg-sim assemble --aas FILE... [--out FILE]\n"
             "  qg-sim verify (--scenario DIR|FILE | --aas FILE...) [--product ID\n"
             "             --quantity Q] --result FILE\n"
             "Data on stdout, progress and errors on stderr (-q: no progress).",
    .max_positional = 1,
};

static const char *opt_str(const qg_config_t *cfg, const char *key)
{
    const char *v = qg_config_get(cfg, key);
    return v && *v ? v : NULL;
}

/* The command line into c (strings point into cfg and c->aas_buf). 0, or -1 (printed). */
static int cli_from_config(cli_t *c, const qg_config_t *cfg)
{
    c->fjs = opt_str(cfg, "fjs");
    c->scenario = opt_str(cfg, "scenario");
    c->routing = opt_str(cfg, "routing");
    c->result = opt_str(cfg, "result");
    c->out = opt_str(cfg, "out");
    c->order.product_id = opt_str(cfg, "product");
    c->order.quantity = qg_config_double(cfg, "quantity");
    c->order.lot_size = qg_config_double(cfg, "lot.size");
    c->order.due_s = qg_config_double(cfg, "due");
    c->opts.time_limit_s = qg_config_double(cfg, "time.limit");
    c->opts.max_generations = (long)qg_config_int(cfg, "generations");
    c->opts.max_evaluations = (long)qg_config_int(cfg, "max.evaluations");
    c->opts.seed = (uint64_t)qg_config_int(cfg, "seed");
    c->opts.threads = (int)qg_config_int(cfg, "threads");
    c->opts.population = (int)qg_config_int(cfg, "population");
    c->opts.ls_iterations = (long)qg_config_int(cfg, "ls.iterations");
    c->opts.replications = (int)qg_config_int(cfg, "replications");
    c->opts.promise_tolerance = qg_config_double(cfg, "tolerance");
    c->opts.stall_generations = (long)qg_config_int(cfg, "stall");
    c->opts.stale_after_s = qg_config_double(cfg, "stale.after");
    c->order.policy = (qg_order_policy_t)qg_engine_policy_parse(qg_config_get(cfg, "policy"));
    c->json = qg_config_bool(cfg, "json");
    c->quiet = qg_log_level < QG_LOG_INFO;
    int budget_given =
        qg_config_is_set(cfg, "generations") || qg_config_is_set(cfg, "max.evaluations");
    if (budget_given && !qg_config_is_set(cfg, "time.limit"))
        c->opts.time_limit_s = 0; /* clock-free budgets: deterministic */
    const char *aas = opt_str(cfg, "aas");
    if (!aas)
        return 0;
    if (!(c->aas_buf = strdup(aas))) {
        fprintf(stderr, "qg-sim: out of memory\n");
        return -1;
    }
    char *save = NULL;
    for (char *f = strtok_r(c->aas_buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (c->n_aas == MAX_AAS) {
            fprintf(stderr, "qg-sim: aas: more than %d files\n", MAX_AAS);
            return -1;
        }
        c->aas[c->n_aas++] = f;
    }
    return 0;
}

static void progress(const qg_engine_progress_t *pr, void *opaque)
{
    (void)opaque;
    if (!strcmp(pr->phase, "optimize"))
        fprintf(stderr, "\rgeneration %ld  best makespan %.1f  second objective %.1f   ",
                pr->generation, pr->best_makespan, pr->best_second);
    else
        fprintf(stderr, "\rreplay %d/%d done%40s\n", pr->replications_done, pr->replications_total,
                "");
}

static int emit(const cli_t *c, const qg_json_t *doc)
{
    char *text = qg_json_serialize(doc, 1, NULL);
    if (!text) {
        fprintf(stderr, "qg-sim: out of memory\n");
        return 1;
    }
    FILE *f = c->out ? fopen(c->out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "qg-sim: %s: %s\n", c->out, strerror(errno));
        free(text);
        return 1;
    }
    fprintf(f, "%s\n", text);
    free(text);
    if (c->out)
        fclose(f);
    return 0;
}

static void print_schedule(const qg_json_t *res)
{
    const qg_json_t *ms = qg_json_path(res, "productionPlan.machines");
    for (size_t i = 0; i < qg_json_len(ms); i++) {
        const qg_json_t *m = qg_json_at(ms, i), *ops = qg_json_get(m, "operations");
        printf("%s:", qg_json_str(qg_json_get(m, "machine")));
        for (size_t k = 0; k < qg_json_len(ops); k++) {
            const qg_json_t *o = qg_json_at(ops, k);
            printf(" %s[%g-%g]", qg_json_str(qg_json_get(o, "operation")),
                   qg_json_num(qg_json_get(o, "start"), 0), qg_json_num(qg_json_get(o, "end"), 0));
        }
        printf("\n");
    }
}

static int cmd_solve(cli_t *c)
{
    qg_json_t *res = NULL;
    if (!c->fjs) {
        fprintf(stderr, "qg-sim solve: --fjs FILE is required\n");
        return 2;
    }
    int tty = !c->quiet && isatty(2);
    qg_error_t *err =
        qg_engine_solve_file(c->fjs, &c->opts, tty ? progress : NULL, NULL, &stop_flag, &res);
    if (tty)
        fprintf(stderr, "\n");
    if (err) {
        fprintf(stderr, "qg-sim: %s\n", qg_error_message(err));
        qg_error_destroy(err);
        return 1;
    }
    int rc = 0;
    if (c->json) {
        rc = emit(c, res);
    } else {
        const qg_json_t *sv = qg_json_get(res, "solver");
        printf("makespan %g\n", qg_json_num(qg_json_get(res, "makespan"), 0));
        printf("verified yes\ngenerations %g evaluations %g evaluations/s %g time %gs "
               "time-to-best %gs seed %g\n",
               qg_json_num(qg_json_get(sv, "generations"), 0),
               qg_json_num(qg_json_get(sv, "evaluations"), 0),
               qg_json_num(qg_json_get(sv, "evaluationsPerSecond"), 0),
               qg_json_num(qg_json_get(sv, "timeS"), 0),
               qg_json_num(qg_json_get(sv, "timeToBestS"), 0),
               qg_json_num(qg_json_get(sv, "seed"), 0));
        print_schedule(res);
    }
    qg_json_destroy(res);
    return rc;
}

static qg_error_t *load_scenario(const cli_t *c, qg_json_t **sc)
{
    struct stat st;
    char errstr[512];
    *sc = NULL;
    if (c->n_aas > 0) {
        qg_json_t *envs[MAX_AAS] = {0};
        qg_error_t *err = NULL;
        for (int i = 0; i < c->n_aas && !err; i++)
            if (!(envs[i] = qg_json_parse_file(c->aas[i], errstr, sizeof(errstr))))
                err = qg_error_new_bad_input("%s", errstr);
        if (!err)
            err = qg_engine_scenario_from_aas((const qg_json_t *const *)envs, (size_t)c->n_aas, sc);
        for (int i = 0; i < c->n_aas; i++)
            qg_json_destroy(envs[i]);
        return err;
    }
    if (!c->scenario)
        return qg_error_new_bad_input("--scenario DIR|FILE or --aas FILE is required");
    if (stat(c->scenario, &st) == 0 && S_ISDIR(st.st_mode))
        return qg_engine_scenario_load_dir(c->scenario, sc);
    if (!(*sc = qg_json_parse_file(c->scenario, errstr, sizeof(errstr))))
        return qg_error_new_bad_input("%s", errstr);
    return NULL;
}

static qg_error_t *load_inputs(cli_t *c, qg_json_t **sc, qg_json_t **routing)
{
    char errstr[512];
    *routing = NULL;
    qg_error_t *err = load_scenario(c, sc);
    if (!err && c->routing) {
        if (!(*routing = qg_json_parse_file(c->routing, errstr, sizeof(errstr))))
            err = qg_error_new_bad_input("%s", errstr);
        c->order.routing = *routing;
    }
    if (!err && c->order.product_id && !(c->order.quantity >= 1))
        err = qg_error_new_bad_input("--quantity Q is required with --product");
    return err;
}

static void print_summary(const qg_json_t *res)
{
    const qg_json_t *pc = qg_json_get(res, "percentiles"), *sv = qg_json_get(res, "solver");
    printf("estimatedTime %.1f s (%.2f h)  confidence %.3f (%s)\n",
           qg_json_num(qg_json_get(res, "estimatedTime"), 0),
           qg_json_num(qg_json_get(res, "estimatedTime"), 0) / 3600.0,
           qg_json_num(qg_json_get(res, "confidence"), 0),
           qg_json_str(qg_json_get(res, "confidenceBasis")));
    printf("percentiles p10 %.1f  p50 %.1f  p90 %.1f s; makespan %.1f s; order completion "
           "(plan) %.1f s\n",
           qg_json_num(qg_json_get(pc, "p10"), 0), qg_json_num(qg_json_get(pc, "p50"), 0),
           qg_json_num(qg_json_get(pc, "p90"), 0), qg_json_num(qg_json_get(res, "makespan"), 0),
           qg_json_num(qg_json_get(res, "orderCompletion"), 0));
    const qg_json_t *bn = qg_json_get(res, "bottlenecks");
    for (size_t i = 0; i < qg_json_len(bn) && i < 3; i++) {
        const qg_json_t *b = qg_json_at(bn, i);
        printf("bottleneck %zu: %s utilization %.3f waiting caused %.1f s\n", i + 1,
               qg_json_str(qg_json_get(b, "machine")),
               qg_json_num(qg_json_get(b, "utilization"), 0),
               qg_json_num(qg_json_get(b, "waitingCaused"), 0));
    }
    printf("solver: %g generations, %g evaluations/s, seed %g, %.3f s; plan verified\n",
           qg_json_num(qg_json_get(sv, "generations"), 0),
           qg_json_num(qg_json_get(sv, "evaluationsPerSecond"), 0),
           qg_json_num(qg_json_get(sv, "seed"), 0), qg_json_num(qg_json_get(sv, "timeS"), 0));
}

static int cmd_run(cli_t *c)
{
    qg_json_t *sc = NULL, *routing = NULL, *res = NULL;
    qg_error_t *err = load_inputs(c, &sc, &routing);
    if (!err && !c->order.product_id)
        err = qg_error_new_bad_input("--product ID is required");
    int tty = !c->quiet && isatty(2);
    if (!err)
        err = qg_engine_run(sc, &c->order, &c->opts, tty ? progress : NULL, NULL, &stop_flag, &res);
    if (!err)
        err = qg_engine_verify_plan(sc, &c->order, res);
    int rc = 0;
    if (err) {
        fprintf(stderr, "qg-sim: %s\n", qg_error_message(err));
        rc = qg_error_class(err) == QG_ERR_BAD_INPUT ? 2 : 1;
    } else if (c->json) {
        rc = emit(c, res);
    } else {
        print_summary(res);
    }
    qg_error_destroy(err);
    qg_json_destroy(res);
    qg_json_destroy(sc);
    qg_json_destroy(routing);
    return rc;
}

static int cmd_assemble(cli_t *c)
{
    qg_json_t *sc = NULL;
    if (c->n_aas == 0) {
        fprintf(stderr, "qg-sim assemble: --aas FILE is required\n");
        return 2;
    }
    qg_error_t *err = load_scenario(c, &sc);
    if (err) {
        fprintf(stderr, "qg-sim: %s\n", qg_error_message(err));
        qg_error_destroy(err);
        return 1;
    }
    int rc = emit(c, sc);
    qg_json_destroy(sc);
    return rc;
}

static int cmd_verify(cli_t *c)
{
    qg_json_t *sc = NULL, *routing = NULL, *res = NULL;
    char errstr[512];
    qg_error_t *err = load_inputs(c, &sc, &routing);
    if (!err && !c->result)
        err = qg_error_new_bad_input("--result FILE is required");
    if (!err && !(res = qg_json_parse_file(c->result, errstr, sizeof(errstr))))
        err = qg_error_new_bad_input("%s", errstr);
    if (!err)
        err = qg_engine_verify_plan(sc, &c->order, res);
    int rc = 0;
    if (err) {
        fprintf(stderr, "qg-sim: %s\n", qg_error_message(err));
        rc = qg_error_class(err) == QG_ERR_GATE_FAILED ? 3 : 1;
    } else {
        printf("plan valid\n");
    }
    qg_error_destroy(err);
    qg_json_destroy(res);
    qg_json_destroy(sc);
    qg_json_destroy(routing);
    return rc;
}

static int run_command(cli_t *c)
{
    if (!strcmp(c->cmd, "solve"))
        return cmd_solve(c);
    if (!strcmp(c->cmd, "run"))
        return cmd_run(c);
    if (!strcmp(c->cmd, "assemble"))
        return cmd_assemble(c);
    if (!strcmp(c->cmd, "verify"))
        return cmd_verify(c);
    fprintf(stderr, "qg-sim: unknown command '%s' (see --help)\n", c->cmd);
    return 2;
}

int main(int argc, char **argv)
{
    const qg_option_t *const tables[] = {sim_cli_options};
    char **rest;
    int nrest, rc;
    qg_config_t *cfg = qg_cli_config(&sim_cli, tables, 1, argc, argv, &rest, &nrest, &rc);
    if (!cfg)
        return rc;
    cli_t c;
    memset(&c, 0, sizeof(c));
    qg_engine_options_default(&c.opts);
    if (nrest < 1) {
        fprintf(stderr, "Usage: %s %s (see --help)\n", sim_cli.program, sim_cli.usage);
        rc = 2;
    } else if (cli_from_config(&c, cfg) != 0) {
        rc = 2;
    } else {
        c.cmd = rest[0];
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = run_command(&c);
    }
    free(c.aas_buf);
    qg_config_destroy(cfg);
    return rc;
}
