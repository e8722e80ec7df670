/*
 * aas.c - assemble a scenario from AAS v3 environments (the seed factory's
 * FactorySimulation.json, Factory.json and one shell per machine).
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/scenario.h"

static const char *const prop_keys[][2] = {
    {"jobs_data", "jobs"},
    {"operations_data", "operations"},
    {"operation_durations_data", "operation_durations"},
    {"machine_transfer_time_data", "machine_transfer_time"},
    {"job_release_data", "job_release"},
};

static const char *const machine_fields[] = {"machine_type",          "efficiency",   "status",
                                             "next_available_time",   "queue_length", "current_job",
                                             "performable_operations"};

/* A Property's value: JSON text inside a string is parsed, anything else cloned. */
static qg_json_t *prop_value(const qg_json_t *el, int parse_text)
{
    const qg_json_t *v = qg_json_get(el, "value");
    if (parse_text && qg_json_is(v, QG_JSON_STRING)) {
        char errstr[128];
        qg_json_t *doc = qg_json_parse(qg_json_str(v), qg_json_strlen(v), errstr, sizeof(errstr));
        if (doc)
            return doc;
    }
    if (qg_json_is(v, QG_JSON_ARRAY)) { /* SubmodelElementList of Properties -> strings */
        qg_json_t *arr = qg_json_array();
        for (size_t i = 0; arr && i < qg_json_len(v); i++) {
            const qg_json_t *x = qg_json_at(v, i);
            qg_json_t *item = qg_json_clone(qg_json_get(x, "value") ? qg_json_get(x, "value") : x);
            if (qg_json_append(arr, item) < 0) {
                qg_json_destroy(arr);
                return NULL;
            }
        }
        return arr;
    }
    return v ? qg_json_clone(v) : qg_json_null();
}

static int is_machine_field(const char *id)
{
    for (size_t i = 0; id && i < sizeof(machine_fields) / sizeof(machine_fields[0]); i++)
        if (!strcmp(id, machine_fields[i]))
            return 1;
    return 0;
}

typedef struct {
    qg_json_t *sc;
    qg_json_t *machines; /* machine_id -> record */
    qg_json_t *routing;
} acc_t;

static int put(qg_json_t *obj, const char *key, qg_json_t *v)
{
    return v ? qg_json_set(obj, key, v) : -1;
}

static int element(acc_t *a, const qg_json_t *el, const char *machine_id, int is_spec)
{
    const char *id = qg_json_str(qg_json_get(el, "idShort"));
    if (!id)
        return 0;
    const qg_json_t *val = qg_json_get(el, "value");
    if (qg_json_is(val, QG_JSON_ARRAY) && qg_json_is(qg_json_at(val, 0), QG_JSON_OBJECT) &&
        qg_json_get(qg_json_at(val, 0), "idShort")) { /* a collection: walk into it */
        for (size_t i = 0; i < qg_json_len(val); i++)
            if (element(a, qg_json_at(val, i), machine_id, is_spec) < 0)
                return -1;
        return 0;
    }
    for (size_t i = 0; i < sizeof(prop_keys) / sizeof(prop_keys[0]); i++)
        if (!strcmp(id, prop_keys[i][0]) || !strcmp(id, prop_keys[i][1]))
            return put(a->sc, prop_keys[i][1], prop_value(el, 1));
    if (is_spec)
        return put(a->routing, id, prop_value(el, 1));
    if (machine_id && is_machine_field(id)) {
        qg_json_t *rec = qg_json_get_or_add_object(a->machines, machine_id);
        if (!rec || qg_json_set_str(rec, "machine_id", machine_id) < 0)
            return -1;
        return put(rec, id, prop_value(el, 0));
    }
    return 0;
}

static int environment(acc_t *a, const qg_json_t *env)
{
    const qg_json_t *shells = qg_json_get(env, "assetAdministrationShells");
    const char *shell = qg_json_str(qg_json_get(qg_json_at(shells, 0), "idShort"));
    const qg_json_t *sms = qg_json_get(env, "submodels");
    for (size_t i = 0; i < qg_json_len(sms); i++) {
        const qg_json_t *sm = qg_json_at(sms, i);
        const char *sid = qg_json_str(qg_json_get(sm, "id"));
        const char *sshort = qg_json_str(qg_json_get(sm, "idShort"));
        int is_spec = (sshort && !strcmp(sshort, "ProcessSpecification")) ||
                      (sid && strstr(sid, "process_specification"));
        const qg_json_t *els = qg_json_get(sm, "submodelElements");
        for (size_t e = 0; e < qg_json_len(els); e++)
            if (element(a, qg_json_at(els, e), shell, is_spec) < 0)
                return -1;
    }
    return 0;
}

qg_error_t *qg_engine_scenario_from_aas(const qg_json_t *const *envs, size_t n_envs,
                                        qg_json_t **out)
{
    acc_t a = {qg_json_object(), qg_json_object(), qg_json_object()};
    *out = NULL;
    int fail = !a.sc || !a.machines || !a.routing;
    for (size_t i = 0; !fail && i < n_envs; i++)
        fail = environment(&a, envs[i]) < 0;
    if (!fail && qg_json_len(a.machines) > 0) {
        qg_json_t *arr = qg_json_array();
        for (size_t i = 0; arr && i < qg_json_len(a.machines); i++)
            if (qg_json_append(arr, qg_json_clone(qg_json_at(a.machines, i))) < 0)
                fail = 1;
        fail = fail || put(a.sc, "machines", arr) < 0;
    }
    if (!fail && qg_json_len(a.routing) > 0) {
        fail = qg_json_set(a.sc, "routing", a.routing) < 0;
        a.routing = NULL;
    }
    qg_json_destroy(a.machines);
    qg_json_destroy(a.routing);
    if (fail) {
        qg_json_destroy(a.sc);
        return qg_error_new_oom("assembling the scenario: out of memory");
    }
    if (!qg_json_get(a.sc, "jobs") || !qg_json_get(a.sc, "operations")) {
        qg_json_destroy(a.sc);
        return qg_error_new_bad_input(
            "AAS environments hold no jobs_data/operations_data properties");
    }
    *out = a.sc;
    return NULL;
}
