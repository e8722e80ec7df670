/*
 * runner_files.c - what every runner shares: the work directory a simulator
 * reads (scenario/, simulation_input.json, results/, logs/, tmp/), argv
 * placeholders, and the one result contract (the seed's goal3_data or the
 * engine's own result JSON) read from results/ or scenario/.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define STAGE_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)

static const char *const scenario_files[] = {
    "jobs",     "operations", "operation_durations", "machine_transfer_time", "job_release",
    "machines", "routing",
};
enum { N_REQUIRED = 5 }; /* the first five must be present */

/* ---------- work directory ---------- */

static qg_error_t *write_json(const char *path, const qg_json_t *v)
{
    if (qg_json_write_file(v, path) != 0)
        return STAGE_ERR("cannot write %s: %s", path, strerror(errno));
    return NULL;
}

/* A scenario member, parsed when it is JSON text inside a string (AAS style). */
static qg_error_t *scenario_member(const qg_json_t *scenario, const char *key, qg_json_t **out)
{
    const qg_json_t *v = qg_json_get(scenario, key);
    char errstr[256];
    *out = NULL;
    if (!v)
        return NULL;
    if (qg_json_is(v, QG_JSON_STRING)) {
        *out = qg_json_parse(qg_json_str(v), qg_json_strlen(v), errstr, sizeof(errstr));
        if (!*out)
            return qg_error_new(QG_ERR_BAD_INPUT, "scenario.%s: not JSON text: %s", key, errstr);
        return NULL;
    }
    *out = qg_json_clone(v);
    return *out ? NULL : qg_error_oom;
}

static qg_error_t *write_scenario(const qg_runner_dirs_t *x, const qg_json_t *scenario)
{
    if (!qg_json_is(scenario, QG_JSON_OBJECT))
        return qg_error_new(QG_ERR_BAD_INPUT, "scenario: expected an object");
    for (size_t i = 0; i < sizeof(scenario_files) / sizeof(scenario_files[0]); i++) {
        qg_json_t *v = NULL;
        qg_error_t *err = scenario_member(scenario, scenario_files[i], &v);
        if (err)
            return err;
        if (!v && i < N_REQUIRED)
            return qg_error_new(QG_ERR_BAD_INPUT, "scenario.%s: missing", scenario_files[i]);
        if (!v)
            continue;
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s.json", x->scenario, scenario_files[i]);
        err = write_json(path, v);
        qg_json_destroy(v);
        if (err)
            return err;
    }
    return NULL;
}

static qg_error_t *make_dirs(qg_runner_dirs_t *x, const char *work)
{
    snprintf(x->work, sizeof(x->work), "%s", work);
    snprintf(x->scenario, sizeof(x->scenario), "%s/scenario", work);
    snprintf(x->results, sizeof(x->results), "%s/results", work);
    snprintf(x->logs, sizeof(x->logs), "%s/logs", work);
    snprintf(x->tmp, sizeof(x->tmp), "%s/tmp", work);
    snprintf(x->input, sizeof(x->input), "%s/simulation_input.json", work);
    snprintf(x->out_log, sizeof(x->out_log), "%s/logs/stdout.log", work);
    snprintf(x->err_log, sizeof(x->err_log), "%s/logs/stderr.log", work);
    const char *dirs[] = {x->scenario, x->results, x->logs, x->tmp};
    for (size_t i = 0; i < 4; i++)
        if (mkdir(dirs[i], 0700) != 0 && errno != EEXIST)
            return STAGE_ERR("cannot create %s: %s", dirs[i], strerror(errno));
    return NULL;
}

static qg_error_t *write_input(const qg_runner_dirs_t *x, const qg_runner_job_t *job,
                               const char *inner)
{
    char scenario[4200], results[4200];
    snprintf(scenario, sizeof(scenario), "%s/scenario", inner);
    snprintf(results, sizeof(results), "%s/results", inner);
    qg_json_t *in = job->input ? qg_json_clone(job->input) : qg_json_object();
    if (!in || !qg_json_is(in, QG_JSON_OBJECT)) {
        qg_json_destroy(in);
        return STAGE_ERR("simulation input: expected an object");
    }
    if (qg_json_set_str(in, "scenarioDir", scenario) != 0 ||
        qg_json_set_str(in, "resultsDir", results) != 0) {
        qg_json_destroy(in);
        return qg_error_oom;
    }
    qg_error_t *err = write_json(x->input, in);
    qg_json_destroy(in);
    return err;
}

qg_error_t *qg_runner_dirs_prepare(const qg_runner_job_t *job, const char *inner,
                                   qg_runner_dirs_t *dirs)
{
    memset(dirs, 0, sizeof(*dirs));
    qg_error_t *err = make_dirs(dirs, job->work_dir);
    if (!err)
        err = write_scenario(dirs, job->scenario);
    if (!err)
        err = write_input(dirs, job, inner ? inner : job->work_dir);
    return err;
}

/* ---------- argv placeholders ---------- */

/* Replace every {name} of vars in tmpl. Returns a malloc'd string or NULL. */
char *qg_runner_substitute(const char *tmpl, const qg_runner_var_t *vars, size_t nvars)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    char *out = malloc(cap);
    for (const char *p = tmpl; out && *p;) {
        const char *val = NULL;
        size_t skip = 0;
        for (size_t i = 0; *p == '{' && i < nvars; i++) {
            size_t n = strlen(vars[i].name);
            if (!strncmp(p + 1, vars[i].name, n) && p[n + 1] == '}') {
                val = vars[i].value;
                skip = n + 2;
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (len + add + 1 > cap) {
            cap = (len + add + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, val ? val : p, add);
        len += add;
        p += val ? skip : 1;
    }
    if (out)
        out[len] = '\0';
    return out;
}

/* ---------- the result ---------- */

static double unit_factor(const char *unit)
{
    if (!unit || !strcmp(unit, "s"))
        return 1;
    if (!strcmp(unit, "ms"))
        return 0.001;
    if (!strcmp(unit, "min"))
        return 60;
    if (!strcmp(unit, "h"))
        return 3600;
    return -1;
}

/* A finite number, or a string holding one (AAS habit). */
static int number_of(const qg_json_t *v, double *out)
{
    if (qg_json_is(v, QG_JSON_NUMBER)) {
        *out = qg_json_num(v, NAN);
    } else if (qg_json_is(v, QG_JSON_STRING)) {
        char *end;
        errno = 0;
        *out = strtod(qg_json_str(v), &end);
        if (end == qg_json_str(v) || *end || errno)
            return 0;
    } else {
        return 0;
    }
    return isfinite(*out);
}

static qg_error_t *field_number(const char *file, const qg_json_t *obj, const char *where,
                                const char *key, double lo, double hi, double *out)
{
    const qg_json_t *v = qg_json_get(obj, key);
    if (!v)
        return STAGE_ERR("%s: %s.%s: missing", file, where, key);
    if (!number_of(v, out) || *out < lo || *out > hi)
        return STAGE_ERR("%s: %s.%s: expected a finite number in [%g, %g], got %s", file, where,
                         key, lo, hi, qg_json_type_name(qg_json_type(v)));
    return NULL;
}

static qg_json_t *scaled_percentiles(const qg_json_t *pct, double f)
{
    qg_json_t *o = qg_json_object();
    for (size_t i = 0; o && i < qg_json_len(pct); i++) {
        double d;
        if (number_of(qg_json_at(pct, i), &d))
            qg_json_set_num(o, qg_json_key_at(pct, i), d * f);
    }
    return o;
}

static void set_clone(qg_json_t *o, const char *key, const qg_json_t *v)
{
    if (v)
        qg_json_set(o, key, qg_json_clone(v));
}

/* A member of goal3_data, else of its detailed_results (where some simulators put it). */
static const qg_json_t *goal3_member(const qg_json_t *g, const char *a, const char *b)
{
    const qg_json_t *detail = qg_json_get(g, "detailed_results");
    const qg_json_t *v = qg_json_get(g, a);
    if (!v && b)
        v = qg_json_get(g, b);
    if (!v)
        v = qg_json_get(detail, a);
    if (!v && b)
        v = qg_json_get(detail, b);
    return v;
}

/*
 * The seed contract: {goal3_data{predicted_completion_time, confidence,
 * simulator_type, ...}}, or the goal3_data object itself at the top level.
 */
static qg_error_t *map_goal3(const char *file, const qg_json_t *doc, double f, qg_json_t **out)
{
    const qg_json_t *g = qg_json_get(doc, "goal3_data");
    const char *where = "goal3_data";
    if (!g && qg_json_get(doc, "predicted_completion_time")) {
        g = doc;
        where = "result";
    }
    if (!qg_json_is(g, QG_JSON_OBJECT))
        return STAGE_ERR("%s: goal3_data: %s", file, g ? "expected an object" : "missing");
    double pct, conf;
    qg_error_t *err = field_number(file, g, where, "predicted_completion_time", 0, INFINITY, &pct);
    if (!err)
        err = field_number(file, g, where, "confidence", 0, 1, &conf);
    const qg_json_t *type = qg_json_get(g, "simulator_type");
    if (!err && (!qg_json_str(type) || !*qg_json_str(type)))
        err = STAGE_ERR("%s: %s.simulator_type: %s", file, where,
                        type ? "expected a non-empty string" : "missing");
    const qg_json_t *bn = goal3_member(g, "bottlenecks", NULL);
    if (!err && bn && !qg_json_is(bn, QG_JSON_ARRAY))
        err = STAGE_ERR("%s: %s.bottlenecks: expected an array", file, where);
    if (err)
        return err;
    qg_json_t *r = *out = qg_json_object();
    if (!r)
        return qg_error_oom;
    qg_json_set_num(r, "estimatedTime", pct * f);
    qg_json_set_num(r, "confidence", conf);
    qg_json_set_str(r, "simulatorType", qg_json_str(type));
    set_clone(r, "bottlenecks", bn);
    set_clone(r, "productionPlan", goal3_member(g, "productionPlan", "production_plan"));
    set_clone(r, "detailedResults", qg_json_get(g, "detailed_results"));
    if (qg_json_get(g, "percentiles"))
        qg_json_set(r, "percentiles", scaled_percentiles(qg_json_get(g, "percentiles"), f));
    qg_json_t *units = qg_json_get_or_add_object(r, "units");
    qg_json_set_str(units, "estimatedTime", "s");
    qg_json_set_str(units, "percentiles", "s");
    return NULL;
}

/* Our own engine's output JSON (engine.h result shape, seconds). */
static qg_error_t *map_engine(const char *file, const qg_json_t *doc, qg_json_t **out)
{
    double est, conf;
    qg_error_t *err = field_number(file, doc, "result", "estimatedTime", 0, INFINITY, &est);
    if (!err)
        err = field_number(file, doc, "result", "confidence", 0, 1, &conf);
    if (err)
        return err;
    *out = qg_json_clone(doc);
    return *out ? NULL : qg_error_oom;
}

qg_error_t *qg_runner_result_read(const qg_runner_dirs_t *x, const qg_runner_job_t *job,
                                  qg_json_t **out)
{
    const char *want = qg_json_str(qg_json_get(job->runner, "resultFile"));
    double f = unit_factor(qg_json_str(qg_json_get(job->runner, "timeUnit")));
    if (f < 0)
        return STAGE_ERR("selectedModel.runner.timeUnit: expected s, ms, min or h");
    if (want && (strchr(want, '/') || !*want))
        return STAGE_ERR("selectedModel.runner.resultFile: expected a plain file name");
    const char *names[] = {want ? want : "simulator_optimization_result.json",
                           want ? NULL : "simulation_output.json",
                           want ? NULL : "goal3_result.json", want ? NULL : "result.json"};
    const char *dirs[] = {x->results, x->scenario};
    const char *dir_names[] = {"results", "scenario"};
    char path[4400], shown[512];
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 4 && names[i]; i++) {
            snprintf(path, sizeof(path), "%s/%s", dirs[d], names[i]);
            if (access(path, F_OK) != 0)
                continue;
            snprintf(shown, sizeof(shown), "%s/%s", dir_names[d], names[i]);
            qg_json_t *doc = NULL;
            qg_error_t *err = qg_runner_read_json(path, job->result_max_bytes, &doc);
            if (err)
                return qg_error_wrap(err, "%s", shown);
            if (!qg_json_is(doc, QG_JSON_OBJECT))
                err = STAGE_ERR("%s: expected a JSON object", shown);
            else if (qg_json_get(doc, "goal3_data") || !qg_json_get(doc, "estimatedTime"))
                err = map_goal3(shown, doc, f, out);
            else
                err = map_engine(shown, doc, out);
            qg_json_destroy(doc);
            return err;
        }
    return STAGE_ERR("results/%s: missing (the simulator exited 0 without writing a result)",
                     names[0]);
}
