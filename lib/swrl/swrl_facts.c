/*
 * swrl_facts.c - asserting individuals described as JSON.
 */
#include "swrl_int.h"

static qg_error_t *add_value(qg_swrl_kb_t *kb, const char *ind, const char *prop,
                             const qg_json_t *v)
{
    const qg_json_t *ref = qg_json_get(v, "ref");
    size_t i;
    int rc;

    if (qg_json_is(v, QG_JSON_ARRAY)) {
        for (i = 0; i < qg_json_len(v); i++) {
            qg_error_t *err = add_value(kb, ind, prop, qg_json_at(v, i));
            if (err)
                return err;
        }
        return NULL;
    }
    if (qg_json_is(v, QG_JSON_OBJECT)) {
        if (!qg_json_is(ref, QG_JSON_STRING) || qg_json_len(v) != 1)
            return qg_error_new_bad_input("%s.%s: an object value must be {\"ref\": name}", ind,
                                          prop);
        rc = qg_swrl_kb_add_ind(kb, ind, prop, qg_json_str(ref));
    } else if (qg_json_is(v, QG_JSON_NULL)) {
        return qg_error_new_bad_input("%s.%s: null is not a value", ind, prop);
    } else {
        rc = qg_swrl_kb_add_json(kb, ind, prop, v, 0);
    }
    return rc < 0 ? qg_error_new_stage_error("%s.%s: cannot add fact", ind, prop) : NULL;
}

static qg_error_t *add_individual(qg_swrl_kb_t *kb, const char *ind, const qg_json_t *desc)
{
    const qg_json_t *classes = qg_json_get(desc, "classes");
    size_t i;

    if (!qg_json_is(desc, QG_JSON_OBJECT))
        return qg_error_new_bad_input("%s: expected an object", ind);
    for (i = 0; i < qg_json_len(classes); i++) {
        const char *c = qg_json_str(qg_json_at(classes, i));
        if (!c)
            return qg_error_new_bad_input("%s.classes[%zu]: expected a string", ind, i);
        if (qg_swrl_kb_add_class(kb, ind, c) < 0)
            return qg_error_new_stage_error("%s: cannot add fact", ind);
    }
    for (i = 0; i < qg_json_len(desc); i++) {
        const char *key = qg_json_key_at(desc, i);
        qg_error_t *err;
        if (qg_json_get(desc, "classes") == qg_json_at(desc, i))
            continue;
        if ((err = add_value(kb, ind, key, qg_json_at(desc, i))))
            return err;
    }
    return NULL;
}

qg_error_t *qg_swrl_kb_add_individuals(qg_swrl_kb_t *kb, const qg_json_t *individuals)
{
    size_t i;

    if (!qg_json_is(individuals, QG_JSON_OBJECT))
        return qg_error_new_bad_input("individuals: expected an object");
    for (i = 0; i < qg_json_len(individuals); i++) {
        qg_error_t *err =
            add_individual(kb, qg_json_key_at(individuals, i), qg_json_at(individuals, i));
        if (err)
            return err;
    }
    return NULL;
}
