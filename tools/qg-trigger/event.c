/*
 * event.c - what an event offers to rules: its fields (JSON payloads as they
 * are, FA³ST change events in a fixed form), predicates, templates and goals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "sha256.h"
#include "trigger.h"

#define TRG_TEXT_MAX 4096

int trg_topic_matches(const char *filter, const char *topic)
{
    if (!filter)
        return 1;
    while (*filter) {
        if (filter[0] == '#' && filter[1] == '\0')
            return 1;
        if (filter[0] == '+' && (filter[1] == '/' || filter[1] == '\0')) {
            while (*topic && *topic != '/')
                topic++;
            filter++;
        } else {
            for (; *filter && *filter != '/'; filter++, topic++)
                if (*filter != *topic)
                    return 0;
        }
        if (*filter == '/' && *topic == '/') {
            filter++, topic++;
            if (filter[0] == '#' && filter[1] == '\0')
                return 1;
            continue;
        }
        if (*filter == '/' && !*topic && !strcmp(filter, "/#"))
            return 1; /* "a/#" matches "a" */
        if (*filter || *topic)
            return 0;
    }
    return *topic == '\0';
}

/* ---- FA³ST change events ---- */

/* The value of a FA³ST serialized element value: {"value": v, ...} -> v, else itself. */
static const qg_json_t *faaast_value(const qg_json_t *v)
{
    const qg_json_t *inner = qg_json_get(v, "value");
    return qg_json_is(v, QG_JSON_OBJECT) && inner ? inner : v;
}

/* The last ':' or '/' separated segment of an id: "urn:factory:submodel:status:M2" -> "M2". */
static const char *id_tail(const char *id)
{
    const char *t = id;
    for (const char *p = id; p && *p; p++)
        if ((*p == ':' || *p == '/') && p[1])
            t = p + 1;
    return t;
}

static qg_json_t *faaast_fields(qg_json_t *payload, char *why, size_t whysz)
{
    const char *type = qg_json_str(qg_json_get(payload, "@type"));
    const qg_json_t *element = qg_json_get(payload, "element");
    const qg_json_t *keys = qg_json_get(element, "keys");
    if (!type || !qg_json_is(keys, QG_JSON_ARRAY) || qg_json_len(keys) == 0) {
        snprintf(why, whysz, "not a FA³ST event: @type and element.keys[] are required");
        return NULL;
    }
    qg_json_t *f = qg_json_object();
    char path[1024] = "";
    const char *submodel = NULL, *last = NULL;
    for (size_t i = 0; i < qg_json_len(keys); i++) {
        const qg_json_t *k = qg_json_at(keys, i);
        const char *kt = qg_json_str(qg_json_get(k, "type"));
        const char *kv = qg_json_str(qg_json_get(k, "value"));
        if (!kv)
            continue;
        last = kv;
        if (kt && !strcmp(kt, "Submodel")) {
            submodel = kv;
            path[0] = '\0';
        } else if (kt && strcmp(kt, "AssetAdministrationShell")) {
            size_t n = strlen(path);
            snprintf(path + n, sizeof(path) - n, "%s%s", n ? "." : "", kv);
        }
    }
    qg_json_set_str(f, "type", type);
    if (submodel) {
        qg_json_set_str(f, "submodel", submodel);
        qg_json_set_str(f, "machine", id_tail(submodel));
    }
    if (path[0])
        qg_json_set_str(f, "path", path);
    if (last)
        qg_json_set_str(f, "idShort", last);
    qg_json_set(f, "element", qg_json_clone(element));
    if (qg_json_get(payload, "oldValue"))
        qg_json_set(f, "oldValue", qg_json_clone(faaast_value(qg_json_get(payload, "oldValue"))));
    if (qg_json_get(payload, "newValue"))
        qg_json_set(f, "newValue", qg_json_clone(faaast_value(qg_json_get(payload, "newValue"))));
    qg_json_set(f, "payload", payload);
    return f;
}

qg_json_t *trg_event_fields(const trg_event_t *ev, trg_shape_t shape, char *why, size_t whysz)
{
    char errstr[256];
    qg_json_t *payload = qg_json_parse(ev->payload, ev->len, errstr, sizeof(errstr));
    if (!payload) {
        snprintf(why, whysz, "payload is not JSON: %s", errstr);
        return NULL;
    }
    if (!qg_json_is(payload, QG_JSON_OBJECT)) {
        snprintf(why, whysz, "payload is not a JSON object");
        qg_json_destroy(payload);
        return NULL;
    }
    if (shape != TRG_SHAPE_FAAAST)
        return payload;
    qg_json_t *f = faaast_fields(payload, why, whysz);
    if (!f)
        qg_json_destroy(payload);
    return f;
}

/* ---- values as text and numbers ---- */

/* Scalars spelled: strings as they are, numbers as written, true/false/null. */
static const char *spell(const qg_json_t *v, char *buf, size_t sz)
{
    switch (qg_json_type(v)) {
    case QG_JSON_STRING:
        return qg_json_str(v);
    case QG_JSON_NUMBER:
        if (qg_json_number_text(v))
            return qg_json_number_text(v);
        snprintf(buf, sz, "%.17g", qg_json_num(v, 0));
        return buf;
    case QG_JSON_BOOL:
        return qg_json_truthy(v) ? "true" : "false";
    case QG_JSON_NULL:
        return "null";
    default:
        return NULL;
    }
}

static int as_number(const qg_json_t *v, double *out)
{
    if (qg_json_is(v, QG_JSON_NUMBER)) {
        *out = qg_json_num(v, 0);
        return 1;
    }
    const char *s = qg_json_str(v);
    char *end;
    if (!s || !*s)
        return 0;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* Equal as numbers when both read as numbers, else as spelled text. */
static int same_value(const qg_json_t *a, const qg_json_t *b)
{
    double x, y;
    char b1[64], b2[64];
    if (as_number(a, &x) && as_number(b, &y))
        return x == y;
    const char *s = spell(a, b1, sizeof(b1)), *t = spell(b, b2, sizeof(b2));
    if (s && t)
        return !strcmp(s, t);
    return qg_json_equal(a, b);
}

/* A field of the event: a dotted path into the fields. */
static const qg_json_t *field_of(const qg_json_t *fields, const char *path)
{
    const qg_json_t *v = qg_json_get(fields, path);
    return v ? v : qg_json_path(fields, path);
}

static int pred_holds(const trg_pred_t *p, const qg_json_t *v)
{
    double x, y;
    char b1[64], b2[64];
    switch (p->op) {
    case TRG_PRED_EQUALS:
        return same_value(v, p->value);
    case TRG_PRED_NOT_EQUALS:
        return !same_value(v, p->value);
    case TRG_PRED_IN:
        for (size_t i = 0; i < qg_json_len(p->value); i++)
            if (same_value(v, qg_json_at(p->value, i)))
                return 1;
        return 0;
    case TRG_PRED_EXISTS:
    case TRG_PRED_MISSING:
        return 1; /* decided by presence */
    case TRG_PRED_CONTAINS: {
        const char *s = spell(v, b1, sizeof(b1)), *t = spell(p->value, b2, sizeof(b2));
        return s && t && strstr(s, t) != NULL;
    }
    default:
        if (!as_number(v, &x) || !as_number(p->value, &y))
            return 0;
        return p->op == TRG_PRED_GT   ? x > y
               : p->op == TRG_PRED_GE ? x >= y
               : p->op == TRG_PRED_LT ? x < y
                                      : x <= y;
    }
}

int trg_rule_matches(const trg_rule_t *r, const qg_json_t *fields, char *why, size_t whysz)
{
    for (size_t i = 0; i < r->n_preds; i++) {
        const trg_pred_t *p = &r->preds[i];
        const qg_json_t *v = field_of(fields, p->field);
        if (p->op == TRG_PRED_EXISTS || p->op == TRG_PRED_MISSING) {
            if (!v == (p->op == TRG_PRED_EXISTS))
                return 0;
            continue;
        }
        if (!v) {
            snprintf(why, whysz, "rule %s: field %s is missing", r->name, p->field);
            return -1;
        }
        if (!pred_holds(p, v))
            return 0;
    }
    return 1;
}

/* ---- templates ---- */

/* ${$topic.N}: the N-th level of the topic into buf. */
static const char *topic_level(const char *topic, long n, char *buf, size_t sz)
{
    const char *p = topic;
    for (long i = 0; i < n && p; i++) {
        p = strchr(p, '/');
        if (p)
            p++;
    }
    if (!p)
        return NULL;
    size_t len = strcspn(p, "/");
    if (len >= sz)
        len = sz - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* The value of one placeholder name, as a new JSON value, or NULL (missing). */
static qg_json_t *placeholder(const char *name, const qg_json_t *fields, const trg_event_t *ev,
                              const char *event_id)
{
    char buf[512];
    if (!strcmp(name, "$topic"))
        return qg_json_string(ev->topic);
    if (!strcmp(name, "$source"))
        return qg_json_string(ev->source);
    if (!strcmp(name, "$eventId"))
        return event_id ? qg_json_string(event_id) : NULL;
    if (!strncmp(name, "$topic.", 7)) {
        char *end;
        long n = strtol(name + 7, &end, 10);
        const char *lvl = *end || n < 0 ? NULL : topic_level(ev->topic, n, buf, sizeof(buf));
        return lvl ? qg_json_string(lvl) : NULL;
    }
    const qg_json_t *v = field_of(fields, name);
    return v ? qg_json_clone(v) : NULL;
}

static qg_json_t *expand_string(const char *s, const qg_json_t *fields, const trg_event_t *ev,
                                const char *event_id, char *why, size_t whysz)
{
    size_t len = strlen(s);
    char name[256];
    /* The whole string is one placeholder: keep the field's type. */
    if (len > 3 && !strncmp(s, "${", 2) && s[len - 1] == '}' && !strchr(s + 2, '$') &&
        strchr(s, '}') == s + len - 1 && len - 3 < sizeof(name)) {
        memcpy(name, s + 2, len - 3);
        name[len - 3] = '\0';
        qg_json_t *v = placeholder(name, fields, ev, event_id);
        if (!v)
            snprintf(why, whysz, "field %s is missing", name);
        return v;
    }
    char out[TRG_TEXT_MAX];
    size_t o = 0;
    for (const char *p = s; *p;) {
        const char *close = !strncmp(p, "${", 2) ? strchr(p + 2, '}') : NULL;
        if (!close) {
            if (o + 1 >= sizeof(out))
                goto too_long;
            out[o++] = *p++;
            continue;
        }
        size_t n = (size_t)(close - p - 2);
        if (n >= sizeof(name)) {
            snprintf(why, whysz, "placeholder too long");
            return NULL;
        }
        memcpy(name, p + 2, n);
        name[n] = '\0';
        qg_json_t *v = placeholder(name, fields, ev, event_id);
        char nb[64];
        const char *text = spell(v, nb, sizeof(nb));
        if (!v || !text) {
            snprintf(why, whysz, v ? "field %s is not a scalar" : "field %s is missing", name);
            qg_json_destroy(v);
            return NULL;
        }
        size_t tl = strlen(text);
        if (o + tl + 1 >= sizeof(out)) {
            qg_json_destroy(v);
            goto too_long;
        }
        memcpy(out + o, text, tl);
        o += tl;
        qg_json_destroy(v);
        p = close + 1;
    }
    out[o] = '\0';
    return qg_json_string(out);
too_long:
    snprintf(why, whysz, "expanded text longer than %d bytes", TRG_TEXT_MAX);
    return NULL;
}

qg_json_t *trg_template_expand(const qg_json_t *tmpl, const qg_json_t *fields,
                               const trg_event_t *ev, const char *event_id, char *why, size_t whysz)
{
    if (qg_json_is(tmpl, QG_JSON_STRING))
        return expand_string(qg_json_str(tmpl), fields, ev, event_id, why, whysz);
    int obj = qg_json_is(tmpl, QG_JSON_OBJECT);
    if (!obj && !qg_json_is(tmpl, QG_JSON_ARRAY))
        return qg_json_clone(tmpl);
    qg_json_t *out = obj ? qg_json_object() : qg_json_array();
    for (size_t i = 0; out && i < qg_json_len(tmpl); i++) {
        qg_json_t *v = trg_template_expand(qg_json_at(tmpl, i), fields, ev, event_id, why, whysz);
        if (!v || (obj ? qg_json_set(out, qg_json_key_at(tmpl, i), v) : qg_json_append(out, v))) {
            qg_json_destroy(out);
            return NULL;
        }
    }
    if (!out)
        snprintf(why, whysz, "out of memory");
    return out;
}

/* ---- goals ---- */

static const char *const default_outputs[] = {"estimatedTime", "confidence", "productionPlan",
                                              "bottlenecks"};

static int add_parameters(qg_json_t *q, const qg_json_t *params)
{
    qg_json_t *arr = qg_json_get_or_add_array(q, "parameters");
    for (size_t i = 0; arr && i < qg_json_len(params); i++) {
        qg_json_t *p = qg_json_object();
        if (!p || qg_json_set_str(p, "key", qg_json_key_at(params, i)) ||
            qg_json_set(p, "value", qg_json_clone(qg_json_at(params, i))) || qg_json_append(arr, p))
            return -1;
    }
    return arr ? 0 : -1;
}

static int add_outputs(qg_json_t *q, const qg_json_t *outputs)
{
    qg_json_t *arr = qg_json_get_or_add_array(q, "outputSpec");
    size_t n = outputs ? qg_json_len(outputs) : sizeof(default_outputs) / sizeof(*default_outputs);
    for (size_t i = 0; arr && i < n; i++) {
        const char *name = outputs ? qg_json_str(qg_json_at(outputs, i)) : default_outputs[i];
        qg_json_t *o = qg_json_object();
        if (!o || !name || qg_json_set_str(o, "name", name) || qg_json_append(arr, o))
            return -1;
    }
    return arr ? 0 : -1;
}

static char *default_goal_id(const trg_rule_t *r, const char *event_id)
{
    char key[1024], hex[65], *id = malloc(300);
    snprintf(key, sizeof(key), "%s/%s", r->name, event_id);
    qg_sha256_hex(key, strlen(key), hex);
    if (id)
        snprintf(id, 300, "trg-%.64s-%.20s", r->name, hex);
    return id;
}

qg_json_t *trg_goal_build(const trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                          const char *event_id, double now_ms, char *why, size_t whysz)
{
    qg_json_t *g = trg_template_expand(r->goal, fields, ev, event_id, why, whysz);
    qg_json_t *doc = qg_json_object(), *q = qg_json_object(), *md = qg_json_object();
    char ts[40], *id = NULL;
    const char *gid = qg_json_str(qg_json_get(g, "id"));
    int fail = !g || !doc || !q || !md;
    if (!fail && !gid)
        gid = id = default_goal_id(r, event_id);
    if (!fail && (!gid || !*gid)) {
        snprintf(why, whysz, "rule %s: the goal id is empty", r->name);
        fail = 1;
    }
    fail = fail || qg_json_set_str(q, "goalId", gid) ||
           qg_json_set(q, "goalType", qg_json_clone(qg_json_get(g, "type"))) ||
           add_parameters(q, qg_json_get(g, "parameters")) ||
           add_outputs(q, qg_json_get(g, "outputs"));
    const qg_json_t *extra = qg_json_get(g, "metadata");
    for (size_t i = 0; !fail && i < qg_json_len(extra); i++)
        fail = qg_json_set(md, qg_json_key_at(extra, i), qg_json_clone(qg_json_at(extra, i)));
    qg_json_t *trig = fail ? NULL : qg_json_object();
    fail = fail || !trig || qg_json_set_str(trig, "rule", r->name) ||
           qg_json_set_str(trig, "eventId", event_id) ||
           qg_json_set_str(trig, "source", ev->source) ||
           qg_json_set_str(trig, "topic", ev->topic) || qg_json_set(md, "trigger", trig);
    fail = fail || qg_json_set(md, "pipelineStages", qg_json_clone(qg_json_get(g, "pipeline"))) ||
           qg_json_set_str(md, "createdAt", qg_iso_time(ts, sizeof(ts), now_ms)) ||
           qg_json_set_str(md, "source", "qg-trigger");
    if (!fail && qg_json_get(g, "watch"))
        fail = qg_json_set(md, "watch", qg_json_clone(qg_json_get(g, "watch")));
    if (!fail) { /* each set consumes its value, also on failure */
        fail = qg_json_set(q, "metadata", md) != 0;
        md = NULL;
    }
    if (!fail) {
        fail = qg_json_set(doc, "QueryGoal", q) != 0;
        q = NULL;
    }
    free(id);
    qg_json_destroy(g);
    qg_json_destroy(md);
    qg_json_destroy(q);
    if (fail) {
        if (!why[0])
            snprintf(why, whysz, "out of memory");
        qg_json_destroy(doc);
        return NULL;
    }
    return doc;
}

char *trg_change_text(const qg_json_t *fields)
{
    const char *machine = qg_json_str(qg_json_get(fields, "machine"));
    const char *path = qg_json_str(qg_json_get(fields, "path"));
    char b1[64], b2[64], *out = malloc(512);
    const char *ov = spell(qg_json_get(fields, "oldValue"), b1, sizeof(b1));
    const char *nv = spell(qg_json_get(fields, "newValue"), b2, sizeof(b2));
    if (!out)
        return NULL;
    if (!nv) {
        free(out);
        return NULL;
    }
    if (ov)
        snprintf(out, 512, "%s %s %s -> %s", machine ? machine : "?", path ? path : "?", ov, nv);
    else
        snprintf(out, 512, "%s %s -> %s", machine ? machine : "?", path ? path : "?", nv);
    return out;
}
