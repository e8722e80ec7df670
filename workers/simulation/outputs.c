/*
 * outputs.c - QueryGoal.outputs from a runner result, and the gate's checks.
 *
 * outputSpec entries are names ("estimatedTime") or objects {name, datatype?,
 * unit?}. Each requested name is copied from the result member of that name
 * (estimatedTime, confidence, productionPlan, bottlenecks, percentiles, mean,
 * std, makespan, ...). Durations are seconds unless the entry's unit asks for
 * ms, min or h; outputs.units names the unit of each duration. Percentiles are
 * added whenever the result has them. Without an outputSpec the default set is
 * estimatedTime, confidence, productionPlan and bottlenecks.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simulation.h"

static const char *const default_outputs[] = {"estimatedTime", "confidence", "productionPlan",
                                              "bottlenecks", NULL};

/* Added to the outputs whenever the result has them: the promise, its basis, what moved. */
static const char *const always_outputs[] = {
    "promiseTime", "confidenceBasis", "promiseStatement", "asOf",     "estimatedCompletionAt",
    "promiseAt",   "policy",          "impact",           "warnings", "lawsFromHistory",
    NULL};

static const char *spec_name(const qg_json_t *e)
{
    return qg_json_is(e, QG_JSON_STRING) ? qg_json_str(e) : qg_json_str(qg_json_get(e, "name"));
}

static const char *spec_datatype(const qg_json_t *e)
{
    return qg_json_str(qg_json_get(e, "datatype"));
}

static const char *spec_unit(const qg_json_t *e)
{
    return qg_json_str(qg_json_get(e, "unit"));
}

typedef int (*output_fn)(const char *name, const char *datatype, const char *unit, void *opaque);

/* Requested names: the outputSpec's, else the defaults. Calls fn for each. */
static int each_output(const qg_json_t *goal, output_fn fn, void *opaque)
{
    const qg_json_t *spec = qg_json_get(goal, "outputSpec");
    if (qg_json_len(spec) == 0) {
        for (size_t i = 0; default_outputs[i]; i++)
            if (fn(default_outputs[i], NULL, NULL, opaque) != 0)
                return -1;
        return 0;
    }
    for (size_t i = 0; i < qg_json_len(spec); i++) {
        const qg_json_t *e = qg_json_at(spec, i);
        const char *name = spec_name(e);
        if (name && fn(name, spec_datatype(e), spec_unit(e), opaque) != 0)
            return -1;
    }
    return 0;
}

/* Outputs that are durations in seconds in every runner result. */
static int is_time_output(const char *name)
{
    static const char *const times[] = {"estimatedTime", "percentiles", "mean",
                                        "std",           "makespan",    "orderCompletion",
                                        "promiseTime",   "makespanP50", NULL};
    for (size_t i = 0; times[i]; i++)
        if (!strcmp(name, times[i]))
            return 1;
    return 0;
}

/* Seconds per unit for a requested unit; 0 if not a time unit we convert to. */
static double seconds_per(const char *unit)
{
    static const struct {
        const char *name;
        double s;
    } units[] = {{"s", 1},    {"sec", 1},      {"seconds", 1}, {"ms", 0.001},
                 {"min", 60}, {"minutes", 60}, {"h", 3600},    {"hours", 3600}};
    for (size_t i = 0; unit && i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(unit, units[i].name))
            return units[i].s;
    return 0;
}

/* A time value (number, or object of numbers) converted from seconds. */
static qg_json_t *convert_time(const qg_json_t *v, double per)
{
    if (qg_json_is(v, QG_JSON_NUMBER))
        return qg_json_number(qg_json_num(v, NAN) / per);
    qg_json_t *o = qg_json_clone(v);
    for (size_t i = 0; o && qg_json_is(o, QG_JSON_OBJECT) && i < qg_json_len(o); i++)
        if (qg_json_is(qg_json_at(o, i), QG_JSON_NUMBER))
            qg_json_set_num(o, qg_json_key_at(o, i), qg_json_num(qg_json_at(o, i), NAN) / per);
    return o;
}

typedef struct {
    qg_json_t *outputs;
    qg_json_t *units;
    const qg_json_t *result;
} map_ctx_t;

static int map_one(const char *name, const char *datatype, const char *unit, void *opaque)
{
    (void)datatype;
    map_ctx_t *m = opaque;
    const qg_json_t *v = qg_json_get(m->result, name);
    if (!v)
        return 0; /* the gate reports it */
    if (!is_time_output(name))
        return qg_json_set(m->outputs, name, qg_json_clone(v));
    double per = seconds_per(unit);
    if (per <= 0) {
        per = 1;
        unit = "s";
    }
    if (qg_json_set(m->outputs, name, convert_time(v, per)) != 0)
        return -1;
    return qg_json_set_str(m->units, name, unit);
}

int qg_sim_outputs_map(qg_json_t *goal, const qg_json_t *result)
{
    qg_json_t *outputs = qg_json_get_or_add_object(goal, "outputs");
    qg_json_t *units = qg_json_object();
    if (!outputs || !units) {
        qg_json_destroy(units);
        return -1;
    }
    map_ctx_t m = {outputs, units, result};
    if (each_output(goal, map_one, &m) != 0 ||
        (!qg_json_get(outputs, "percentiles") && qg_json_get(result, "percentiles") &&
         map_one("percentiles", NULL, qg_json_str(qg_json_get(units, "estimatedTime")), &m))) {
        qg_json_destroy(units);
        return -1;
    }
    /* What the answer means travels with it whenever the runner says it. */
    const char *time_unit = qg_json_str(qg_json_get(units, "estimatedTime"));
    for (size_t i = 0; always_outputs[i]; i++)
        if (!qg_json_get(outputs, always_outputs[i]) && qg_json_get(result, always_outputs[i]) &&
            map_one(always_outputs[i], NULL, time_unit, &m) != 0) {
            qg_json_destroy(units);
            return -1;
        }
    return qg_json_set(outputs, "units", units);
}

/* ---------- gate ---------- */

/* Every number in v (recursively) finite? */
static int all_finite(const qg_json_t *v, int depth)
{
    if (depth > 32)
        return 1;
    if (qg_json_is(v, QG_JSON_NUMBER))
        return isfinite(qg_json_num(v, NAN));
    for (size_t i = 0; i < qg_json_len(v); i++)
        if (!all_finite(qg_json_at(v, i), depth + 1))
            return 0;
    return 1;
}

static int type_matches(const qg_json_t *v, const char *datatype)
{
    if (!datatype)
        return 1;
    if (!strcmp(datatype, "number") || !strcmp(datatype, "integer"))
        return qg_json_is(v, QG_JSON_NUMBER);
    if (!strcmp(datatype, "object"))
        return qg_json_is(v, QG_JSON_OBJECT);
    if (!strcmp(datatype, "array"))
        return qg_json_is(v, QG_JSON_ARRAY);
    if (!strcmp(datatype, "string"))
        return qg_json_is(v, QG_JSON_STRING);
    return 1;
}

typedef struct {
    const qg_json_t *outputs;
    char *reason;
    size_t sz;
    size_t checked;
} gate_ctx_t;

static int gate_one(const char *name, const char *datatype, const char *unit, void *opaque)
{
    (void)unit;
    gate_ctx_t *g = opaque;
    const qg_json_t *v = qg_json_get(g->outputs, name);
    g->checked++;
    const char *basis = qg_json_str(qg_json_get(g->outputs, "confidenceBasis"));
    if (!strcmp(name, "confidence") && qg_json_is(v, QG_JSON_NULL) && basis &&
        !strcmp(basis, "deterministic"))
        return 0; /* no uncertainty in the data: no probability, said in confidenceBasis */
    if (!v || qg_json_is(v, QG_JSON_NULL)) {
        snprintf(g->reason, g->sz, "output %s requested by outputSpec is missing", name);
        return -1;
    }
    if (!all_finite(v, 0)) {
        snprintf(g->reason, g->sz, "output %s is not finite", name);
        return -1;
    }
    if (!type_matches(v, datatype)) {
        snprintf(g->reason, g->sz, "output %s is %s, outputSpec says %s", name,
                 qg_json_type_name(qg_json_type(v)), datatype);
        return -1;
    }
    if (!strcmp(name, "productionPlan") && qg_json_is(v, QG_JSON_OBJECT) &&
        qg_json_get(v, "operations") && qg_json_len(qg_json_get(v, "operations")) == 0) {
        snprintf(g->reason, g->sz, "output productionPlan has no operations");
        return -1;
    }
    return 0;
}

int qg_sim_gate_check(const qg_json_t *goal, const qg_json_t *result, char *reason, size_t sz)
{
    const char *status = qg_json_str(qg_json_get(result, "status"));
    if (!status || strcmp(status, "completed")) {
        snprintf(reason, sz, "simulation status is %s, not completed", status ? status : "unset");
        return 0;
    }
    const qg_json_t *ver = qg_json_get(result, "verification");
    if (ver && !qg_json_truthy(qg_json_get(ver, "passed"))) {
        const char *msg = qg_json_str(qg_json_get(ver, "message"));
        snprintf(reason, sz, "production plan failed verification: %s", msg ? msg : "?");
        return 0;
    }
    gate_ctx_t g = {qg_json_get(goal, "outputs"), reason, sz, 0};
    if (each_output(goal, gate_one, &g) != 0)
        return 0;
    snprintf(reason, sz, "completed; %zu requested outputs present and finite%s", g.checked,
             ver ? "; plan verified" : "");
    return 1;
}
