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

#include "engine/engine.h"

#define MAX_AAS 64

typedef struct {
    const char *cmd, *fjs, *scenario, *routing, *result, *out;
    const char *aas[MAX_AAS];
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

static void usage(FILE *f)
{
    fprintf(f, "usage: qg-sim solve --fjs FILE [--time-limit S] [--seed N] [--threads T] [--json]\n"
               "       qg-sim run (--scenario DIR|FILE | --aas FILE...) --product ID --quantity Q\n"
               "                  [--routing FILE] [--lot-size L] [--due SECONDS]\n"
               "                  [--replications R] [--policy insert|reoptimize] [--json]\n"
               "                  [--out FILE]\n"
               "       qg-sim assemble --aas FILE... [--out FILE]\n"
               "       qg-sim verify (--scenario DIR|FILE | --aas FILE...) [--product ID\n"
               "                  --quantity Q] --result FILE\n"
               "options: --time-limit S --generations G --max-evaluations E --seed N\n"
               "         --threads T --population P --ls-iterations N --tolerance X\n"
               "         --stall G (generations without improvement before stopping; 0: off)\n"
               "         --stale-after S (warn on machine data older than S seconds) --quiet\n");
}

static int num_arg(const char *name, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || errno || !(d >= lo && d <= hi)) {
        fprintf(stderr, "qg-sim: %s needs a number in [%g, %g], got '%s'\n", name, lo, hi,
                v ? v : "");
        return -1;
    }
    *out = d;
    return 0;
}

/* One option with its value; returns 1 if consumed (i advanced), 0 unknown, -1 error. */
static int parse_valued(cli_t *c, const char *a, const char *v)
{
    double d;
    const char *const str_opts[] = {"--fjs",    "--scenario", "--routing",
                                    "--result", "--out",      "--product"};
    const char **str_dst[] = {&c->fjs,    &c->scenario, &c->routing,
                              &c->result, &c->out,      &c->order.product_id};
    for (size_t i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
        if (!strcmp(a, str_opts[i])) {
            if (!v)
                return -1;
            *str_dst[i] = v;
            return 1;
        }
    if (!strcmp(a, "--policy")) {
        int pol = qg_engine_policy_parse(v);
        if (pol < 0)
            return -1;
        c->order.policy = (qg_order_policy_t)pol;
        return 1;
    }
    if (!strcmp(a, "--aas")) {
        if (!v || c->n_aas >= MAX_AAS)
            return -1;
        c->aas[c->n_aas++] = v;
        return 1;
    }
    struct {
        const char *name;
        double lo, hi;
    } nums[] = {
        {"--time-limit", 0, 86400}, {"--generations", 0, 1e9},  {"--seed", 0, 1.8e19},
        {"--threads", 1, 64},       {"--population", 4, 10000}, {"--ls-iterations", 0, 1e9},
        {"--replications", 1, 1e7}, {"--quantity", 1, 1e6},     {"--lot-size", 1, 1e6},
        {"--due", 0, 1e12},         {"--tolerance", 0, 10},     {"--max-evaluations", 1, 1e12},
        {"--stall", 0, 1e9},        {"--stale-after", 0, 1e9}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(a, nums[i].name))
            continue;
        if (num_arg(a, v, nums[i].lo, nums[i].hi, &d) < 0)
            return -1;
        switch (i) {
        case 0:
            c->opts.time_limit_s = d;
            break;
        case 1:
            c->opts.max_generations = (long)d;
            break;
        case 2:
            c->opts.seed = (uint64_t)d;
            break;
        case 3:
            c->opts.threads = (int)d;
            break;
        case 4:
            c->opts.population = (int)d;
            break;
        case 5:
            c->opts.ls_iterations = (long)d;
            break;
        case 6:
            c->opts.replications = (int)d;
            break;
        case 7:
            c->order.quantity = d;
            break;
        case 8:
            c->order.lot_size = d;
            break;
        case 9:
            c->order.due_s = d;
            break;
        case 10:
            c->opts.promise_tolerance = d;
            break;
        case 11:
            c->opts.max_evaluations = (long)d;
            break;
        case 12:
            c->opts.stall_generations = (long)d;
            break;
        default:
            c->opts.stale_after_s = d;
            break;
        }
        return 1;
    }
    return 0;
}

static int parse_args(cli_t *c, int argc, char **argv)
{
    if (argc < 2)
        return -1;
    c->cmd = argv[1];
    int gens_given = 0, time_given = 0, evals_given = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            c->json = 1;
        } else if (!strcmp(a, "--quiet")) {
            c->quiet = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return -1;
        } else {
            gens_given |= !strcmp(a, "--generations");
            time_given |= !strcmp(a, "--time-limit");
            evals_given |= !strcmp(a, "--max-evaluations");
            int r = parse_valued(c, a, i + 1 < argc ? argv[i + 1] : NULL);
            if (r <= 0) {
                fprintf(stderr, "qg-sim: %s option '%s'\n", r < 0 ? "bad value for" : "unknown", a);
                return -1;
            }
            i++;
        }
    }
    if (!gens_given)
        c->opts.max_generations = 0; /* the time limit rules unless generations are given */
    if ((gens_given || evals_given) && !time_given)
        c->opts.time_limit_s = 0; /* clock-free budgets: deterministic */
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
                err = qg_error_new(QG_ERR_BAD_INPUT, "%s", errstr);
        if (!err)
            err = qg_engine_scenario_from_aas((const qg_json_t *const *)envs, (size_t)c->n_aas, sc);
        for (int i = 0; i < c->n_aas; i++)
            qg_json_destroy(envs[i]);
        return err;
    }
    if (!c->scenario)
        return qg_error_new(QG_ERR_BAD_INPUT, "--scenario DIR|FILE or --aas FILE is required");
    if (stat(c->scenario, &st) == 0 && S_ISDIR(st.st_mode))
        return qg_engine_scenario_load_dir(c->scenario, sc);
    if (!(*sc = qg_json_parse_file(c->scenario, errstr, sizeof(errstr))))
        return qg_error_new(QG_ERR_BAD_INPUT, "%s", errstr);
    return NULL;
}

static qg_error_t *load_inputs(cli_t *c, qg_json_t **sc, qg_json_t **routing)
{
    char errstr[512];
    *routing = NULL;
    qg_error_t *err = load_scenario(c, sc);
    if (!err && c->routing) {
        if (!(*routing = qg_json_parse_file(c->routing, errstr, sizeof(errstr))))
            err = qg_error_new(QG_ERR_BAD_INPUT, "%s", errstr);
        c->order.routing = *routing;
    }
    if (!err && c->order.product_id && !(c->order.quantity >= 1))
        err = qg_error_new(QG_ERR_BAD_INPUT, "--quantity Q is required with --product");
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
        err = qg_error_new(QG_ERR_BAD_INPUT, "--product ID is required");
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
        err = qg_error_new(QG_ERR_BAD_INPUT, "--result FILE is required");
    if (!err && !(res = qg_json_parse_file(c->result, errstr, sizeof(errstr))))
        err = qg_error_new(QG_ERR_BAD_INPUT, "%s", errstr);
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

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
        printf("qg-sim %s\n", QG_VERSION);
        return 0;
    }
    cli_t c;
    memset(&c, 0, sizeof(c));
    qg_engine_options_default(&c.opts);
    c.order.due_s = -1;
    if (parse_args(&c, argc, argv) < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!strcmp(c.cmd, "solve"))
        return cmd_solve(&c);
    if (!strcmp(c.cmd, "run"))
        return cmd_run(&c);
    if (!strcmp(c.cmd, "assemble"))
        return cmd_assemble(&c);
    if (!strcmp(c.cmd, "verify"))
        return cmd_verify(&c);
    fprintf(stderr, "qg-sim: unknown command '%s'\n", c.cmd);
    usage(stderr);
    return 2;
}
