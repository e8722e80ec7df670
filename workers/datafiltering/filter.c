/*
 * filter.c - record sets and outputs from a declarative filter (filter.h).
 */
#include "filter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"

#define SPEC_ERR(...) qg_error_new(QG_ERR_STAGE_ERROR, __VA_ARGS__)
#define MAX_SORT_KEYS 4

/* ---------- values ---------- */

static const qg_json_t *field_of(const qg_json_t *rec, const char *field)
{
    const qg_json_t *v = qg_json_get(rec, field);
    return v ? v : (strchr(field, '.') ? qg_json_path(rec, field) : NULL);
}

/* A whole-value placeholder "${param:NAME}": the parameter's value, or *absent. */
static const qg_json_t *resolve(const qg_filter_input_t *in, const qg_json_t *v, int *absent)
{
    const char *s = qg_json_str(v);
    size_t n = s ? strlen(s) : 0;
    *absent = 0;
    if (!s || n < 10 || strncmp(s, "${param:", 8) != 0 || s[n - 1] != '}')
        return v;
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(n - 9 < sizeof(key) - 1 ? n - 9 : sizeof(key) - 1),
             s + 8);
    const qg_json_t *p = qg_json_get(qg_goal_param(in->doc, key), "value");
    *absent = p == NULL || qg_json_is(p, QG_JSON_NULL);
    return p;
}

/* Text of a scalar for comparisons ("" for containers and null). */
static const char *scalar_text(const qg_json_t *v, char *buf, size_t sz)
{
    if (qg_json_is(v, QG_JSON_STRING))
        return qg_json_str(v);
    if (qg_json_is(v, QG_JSON_NUMBER)) {
        const char *t = qg_json_number_text(v);
        if (t)
            return t;
        snprintf(buf, sz, "%.17g", qg_json_num(v, 0));
        return buf;
    }
    if (qg_json_is(v, QG_JSON_BOOL))
        return qg_json_truthy(v) ? "true" : "false";
    return "";
}

/* <0, 0, >0; numeric when both are numbers. */
static int compare_values(const qg_json_t *a, const qg_json_t *b)
{
    if (qg_json_is(a, QG_JSON_NUMBER) && qg_json_is(b, QG_JSON_NUMBER)) {
        double x = qg_json_num(a, 0), y = qg_json_num(b, 0);
        return x < y ? -1 : x > y;
    }
    char ba[64], bb[64];
    return strcmp(scalar_text(a, ba, sizeof(ba)), scalar_text(b, bb, sizeof(bb)));
}

/* ---------- predicates ---------- */

static const char *const operators[] = {"eq", "ne", "gt",       "ge",     "lt",
                                        "le", "in", "contains", "exists", NULL};

static int apply_operator(const char *op, const qg_json_t *have, const qg_json_t *want)
{
    char buf[64];
    if (!strcmp(op, "exists"))
        return (have != NULL && !qg_json_is(have, QG_JSON_NULL)) == qg_json_truthy(want);
    if (!have || qg_json_is(have, QG_JSON_NULL))
        return !strcmp(op, "ne");
    if (!strcmp(op, "in")) {
        for (size_t i = 0; i < qg_json_len(want); i++)
            if (compare_values(have, qg_json_at(want, i)) == 0)
                return 1;
        return 0;
    }
    if (!strcmp(op, "contains"))
        return strstr(scalar_text(have, buf, sizeof(buf)),
                      qg_json_str(want) ? qg_json_str(want) : "") != NULL;
    int c = compare_values(have, want);
    return !strcmp(op, "eq")   ? c == 0
           : !strcmp(op, "ne") ? c != 0
           : !strcmp(op, "gt") ? c > 0
           : !strcmp(op, "ge") ? c >= 0
           : !strcmp(op, "lt") ? c < 0
                               : c <= 0;
}

/* Does rec satisfy predicate p? Predicates on an absent parameter always hold. */
static qg_error_t *predicate_holds(const qg_filter_input_t *in, const qg_json_t *p,
                                   const qg_json_t *rec, const char *set, int *holds)
{
    const char *field = qg_json_str(qg_json_get(p, "field"));
    *holds = 1;
    if (!field)
        return SPEC_ERR("filter set %s: a where entry has no field", set);
    for (size_t i = 0; operators[i]; i++) {
        const qg_json_t *want = qg_json_get(p, operators[i]);
        int absent;
        if (!want)
            continue;
        want = resolve(in, want, &absent);
        if (!absent && !apply_operator(operators[i], field_of(rec, field), want)) {
            *holds = 0;
            return NULL;
        }
    }
    return NULL;
}

static qg_error_t *record_kept(const qg_filter_input_t *in, const qg_json_t *set_spec,
                               const qg_json_t *rec, const char *set, int *kept)
{
    const qg_json_t *where = qg_json_get(set_spec, "where");
    const char *tfield = qg_json_str(qg_json_get(qg_json_get(set_spec, "timeWindow"), "field"));
    *kept = 1;
    for (size_t i = 0; *kept && i < qg_json_len(where); i++) {
        qg_error_t *err = predicate_holds(in, qg_json_at(where, i), rec, set, kept);
        if (err)
            return err;
    }
    if (*kept && tfield && in->range) {
        double ms;
        int is_date;
        const char *t = qg_json_str(field_of(rec, tfield));
        *kept = t && qg_time_parse(t, &ms, &is_date) == 0 && qg_time_range_contains(in->range, ms);
    }
    return NULL;
}

/* ---------- sort ---------- */

typedef struct {
    const char *field[MAX_SORT_KEYS];
    int desc[MAX_SORT_KEYS];
    size_t n;
} sort_keys_t;

typedef struct {
    const qg_json_t *rec;
    size_t index; /* original position: the sort is stable */
    const sort_keys_t *keys;
} sort_item_t;

static int compare_items(const void *a, const void *b)
{
    const sort_item_t *x = a, *y = b;
    for (size_t k = 0; k < x->keys->n; k++) {
        int c = compare_values(field_of(x->rec, x->keys->field[k]),
                               field_of(y->rec, x->keys->field[k]));
        if (c)
            return x->keys->desc[k] ? -c : c;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

static qg_error_t *sort_keys_of(const qg_json_t *sort, const char *set, sort_keys_t *keys)
{
    keys->n = 0;
    if (qg_json_len(sort) > MAX_SORT_KEYS)
        return SPEC_ERR("filter set %s: at most %d sort keys", set, MAX_SORT_KEYS);
    for (size_t i = 0; i < qg_json_len(sort); i++) {
        const qg_json_t *s = qg_json_at(sort, i);
        const char *order = qg_json_str(qg_json_get(s, "order"));
        keys->field[i] = qg_json_str(qg_json_get(s, "field"));
        if (!keys->field[i] || (order && strcmp(order, "asc") && strcmp(order, "desc")))
            return SPEC_ERR("filter set %s: sort[%zu] needs a field and order asc|desc", set, i);
        keys->desc[i] = order && !strcmp(order, "desc");
        keys->n++;
    }
    return NULL;
}

/* ---------- select and attach ---------- */

static qg_json_t *select_fields(const qg_json_t *select, const qg_json_t *rec)
{
    if (!select)
        return qg_json_clone(rec);
    qg_json_t *out = qg_json_object();
    for (size_t i = 0; out && i < qg_json_len(select); i++) {
        const qg_json_t *v = field_of(rec, qg_json_str(qg_json_at(select, i)));
        if (qg_json_set(out, qg_json_key_at(select, i), v ? qg_json_clone(v) : qg_json_null()) !=
            0) {
            qg_json_destroy(out);
            return NULL;
        }
    }
    return out;
}

/* Does candidate relate to rec by match {theirField: ourField} and around? */
static int related(const qg_json_t *attach, const qg_json_t *rec, const qg_json_t *cand)
{
    const qg_json_t *match = qg_json_get(attach, "match");
    const qg_json_t *around = qg_json_get(attach, "around");
    for (size_t i = 0; i < qg_json_len(match); i++) {
        const qg_json_t *ours = field_of(rec, qg_json_str(qg_json_at(match, i)));
        const qg_json_t *theirs = field_of(cand, qg_json_key_at(match, i));
        if (!ours || !theirs || compare_values(ours, theirs) != 0)
            return 0;
    }
    if (around) {
        double a, b;
        int d;
        const char *t1 = qg_json_str(field_of(cand, qg_json_str(qg_json_get(around, "field"))));
        const char *t2 = qg_json_str(field_of(rec, qg_json_str(qg_json_get(around, "of"))));
        double span = qg_json_num(qg_json_get(around, "minutes"), 0) * 60000.0;
        if (!t1 || !t2 || qg_time_parse(t1, &a, &d) != 0 || qg_time_parse(t2, &b, &d) != 0 ||
            fabs(a - b) > span)
            return 0;
    }
    return 1;
}

static const qg_json_t *lookup_set(const qg_filter_input_t *in, const qg_json_t *sets,
                                   const char *name)
{
    const qg_json_t *s = qg_json_get(sets, name);
    return s ? s : qg_json_get(in->records, name);
}

static qg_error_t *attach_related(const qg_filter_input_t *in, const qg_json_t *sets,
                                  const qg_json_t *attaches, qg_json_t *rec, const char *set)
{
    for (size_t a = 0; a < qg_json_len(attaches); a++) {
        const qg_json_t *at = qg_json_at(attaches, a);
        const char *as = qg_json_str(qg_json_get(at, "as"));
        const char *from = qg_json_str(qg_json_get(at, "from"));
        int first = qg_json_truthy(qg_json_get(at, "first"));
        if (!as || !from)
            return SPEC_ERR("filter set %s: attach[%zu] needs `as` and `from`", set, a);
        const qg_json_t *pool = lookup_set(in, sets, from);
        qg_json_t *found = first ? NULL : qg_json_array();
        for (size_t i = 0; i < qg_json_len(pool); i++) {
            const qg_json_t *cand = qg_json_at(pool, i);
            int ok = 1;
            for (size_t w = 0; ok && w < qg_json_len(qg_json_get(at, "where")); w++) {
                qg_error_t *err =
                    predicate_holds(in, qg_json_at(qg_json_get(at, "where"), w), cand, set, &ok);
                if (err) {
                    qg_json_destroy(found);
                    return err;
                }
            }
            if (!ok || !related(at, rec, cand))
                continue;
            if (first) {
                found = qg_json_clone(cand);
                break;
            }
            if (qg_json_append(found, qg_json_clone(cand)) != 0) {
                qg_json_destroy(found);
                return qg_error_oom;
            }
        }
        if (qg_json_set(rec, as, found ? found : qg_json_null()) != 0)
            return qg_error_oom;
    }
    return NULL;
}

/* ---------- one set ---------- */

static qg_error_t *collect_kept(const qg_filter_input_t *in, const qg_json_t *spec,
                                const qg_json_t *from, const char *name, sort_item_t *items,
                                size_t *n, const sort_keys_t *keys)
{
    *n = 0;
    for (size_t i = 0; i < qg_json_len(from); i++) {
        int kept;
        qg_error_t *err = record_kept(in, spec, qg_json_at(from, i), name, &kept);
        if (err)
            return err;
        if (kept)
            items[(*n)++] = (sort_item_t){qg_json_at(from, i), i, keys};
    }
    return NULL;
}

static qg_error_t *build_set(const qg_filter_input_t *in, const qg_json_t *spec, qg_json_t *sets)
{
    const char *name = qg_json_str(qg_json_get(spec, "name"));
    const char *from_name = qg_json_str(qg_json_get(spec, "from"));
    if (!name || !from_name)
        return SPEC_ERR("filter: every set needs `name` and `from`");
    const qg_json_t *from = lookup_set(in, sets, from_name);
    if (from && !qg_json_is(from, QG_JSON_ARRAY))
        return SPEC_ERR("filter set %s: %s is not a list of records", name, from_name);
    sort_keys_t keys;
    qg_error_t *err = sort_keys_of(qg_json_get(spec, "sort"), name, &keys);
    size_t n = 0, total = qg_json_len(from);
    sort_item_t *items = total ? calloc(total, sizeof(*items)) : NULL;
    if (total && !items)
        return qg_error_oom;
    if (!err)
        err = collect_kept(in, spec, from, name, items, &n, &keys);
    if (!err && keys.n && n > 1)
        qsort(items, n, sizeof(*items), compare_items);
    double limit = qg_json_num(qg_json_get(spec, "limit"), -1);
    if (limit >= 0 && (double)n > limit)
        n = (size_t)limit;
    qg_json_t *out = err ? NULL : qg_json_array();
    for (size_t i = 0; out && !err && i < n; i++) {
        qg_json_t *rec = select_fields(qg_json_get(spec, "select"), items[i].rec);
        if (!rec)
            err = qg_error_oom;
        if (!err)
            err = attach_related(in, sets, qg_json_get(spec, "attach"), rec, name);
        if (err)
            qg_json_destroy(rec);
        else if (qg_json_append(out, rec) != 0)
            err = qg_error_oom;
    }
    free(items);
    if (!err && !out)
        err = qg_error_oom;
    if (err) {
        qg_json_destroy(out);
        return err;
    }
    return qg_json_set(sets, name, out) == 0 ? NULL : qg_error_oom;
}

/* ---------- outputs ---------- */

/* "text ${param:X} text" with parameters filled (absent ones left as they are). */
static qg_json_t *fill_message(const qg_filter_input_t *in, const char *tmpl)
{
    char out[512];
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < sizeof(out);) {
        const char *end = strncmp(p, "${param:", 8) == 0 ? strchr(p, '}') : NULL;
        char key[128], buf[256];
        const char *v = NULL;
        if (end) {
            snprintf(key, sizeof(key), "%.*s", (int)(end - p - 8), p + 8);
            v = qg_goal_param_text(in->doc, key, buf, sizeof(buf));
        }
        if (v) {
            int w = snprintf(out + o, sizeof(out) - o, "%s", v);
            o = w < 0 ? o : o + (size_t)w;
            p = end + 1;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < sizeof(out) ? o : sizeof(out) - 1] = '\0';
    return qg_json_string(out);
}

static qg_json_t *group_count(const qg_json_t *set, const char *by)
{
    qg_json_t *groups = qg_json_array();
    for (size_t i = 0; groups && i < qg_json_len(set); i++) {
        const qg_json_t *key = field_of(qg_json_at(set, i), by);
        qg_json_t *g = NULL;
        for (size_t j = 0; !g && j < qg_json_len(groups); j++)
            if (qg_json_equal(qg_json_get(qg_json_at(groups, j), by), key))
                g = qg_json_at(groups, j);
        if (g) {
            qg_json_set_num(g, "count", qg_json_num(qg_json_get(g, "count"), 0) + 1);
            continue;
        }
        g = qg_json_object();
        if (!g || qg_json_set(g, by, key ? qg_json_clone(key) : qg_json_null()) != 0 ||
            qg_json_set_num(g, "count", 1) != 0 || qg_json_append(groups, g) != 0) {
            qg_json_destroy(groups);
            return NULL;
        }
    }
    return groups;
}

/* One output from its spec: {set}, {count}, {first}, {groupCount, by}. */
static qg_error_t *make_output(const qg_filter_input_t *in, const qg_json_t *sets, const char *name,
                               const qg_json_t *spec, qg_json_t *outputs, qg_json_t *missing)
{
    static const char *const kinds[] = {"set", "count", "first", "groupCount", NULL};
    const char *kind = NULL, *set_name = NULL;
    for (size_t i = 0; !kind && kinds[i]; i++)
        if ((set_name = qg_json_str(qg_json_get(spec, kinds[i]))))
            kind = kinds[i];
    if (!kind)
        return SPEC_ERR("filter output %s: needs one of set, count, first, groupCount", name);
    const qg_json_t *set = qg_json_get(sets, set_name);
    if (!set)
        return SPEC_ERR("filter output %s: no set named %s", name, set_name);
    const char *by = qg_json_str(qg_json_get(spec, "by"));
    qg_json_t *v = !strcmp(kind, "set")     ? qg_json_clone(set)
                   : !strcmp(kind, "count") ? qg_json_number((double)qg_json_len(set))
                   : !strcmp(kind, "first")
                       ? (qg_json_len(set) ? qg_json_clone(qg_json_at(set, 0)) : NULL)
                   : by ? group_count(set, by)
                        : NULL;
    if (!strcmp(kind, "groupCount") && !by)
        return SPEC_ERR("filter output %s: groupCount needs `by`", name);
    if (!v && !strcmp(kind, "first")) {
        const char *msg = qg_json_str(qg_json_get(spec, "missing"));
        if (msg && missing && qg_json_set(missing, name, fill_message(in, msg)) != 0)
            return qg_error_oom;
        return NULL;
    }
    return v && qg_json_set(outputs, name, v) == 0 ? NULL : qg_error_oom;
}

qg_error_t *qg_filter_run(const qg_filter_input_t *in, qg_json_t **outputs, qg_json_t **missing,
                          qg_json_t **counts)
{
    const qg_json_t *set_specs = qg_json_get(in->spec, "sets");
    const qg_json_t *out_specs = qg_json_get(in->spec, "outputs");
    qg_json_t *sets = qg_json_object();
    qg_error_t *err = NULL;
    *outputs = qg_json_object();
    *missing = qg_json_object();
    *counts = qg_json_object();
    if (!sets || !*outputs || !*missing || !*counts)
        err = qg_error_oom;
    if (!err && (!qg_json_is(set_specs, QG_JSON_ARRAY) || !qg_json_is(out_specs, QG_JSON_OBJECT)))
        err = SPEC_ERR("filter: needs a `sets` list and an `outputs` mapping");
    for (size_t i = 0; !err && i < qg_json_len(set_specs); i++)
        err = build_set(in, qg_json_at(set_specs, i), sets);
    for (size_t i = 0; !err && i < qg_json_len(out_specs); i++)
        err = make_output(in, sets, qg_json_key_at(out_specs, i), qg_json_at(out_specs, i),
                          *outputs, *missing);
    for (size_t i = 0; !err && i < qg_json_len(sets); i++)
        if (qg_json_set_num(*counts, qg_json_key_at(sets, i),
                            (double)qg_json_len(qg_json_at(sets, i))) != 0)
            err = qg_error_oom;
    qg_json_destroy(sets);
    if (err) {
        qg_json_destroy(*outputs);
        qg_json_destroy(*missing);
        qg_json_destroy(*counts);
        *outputs = *missing = *counts = NULL;
    }
    return err;
}
