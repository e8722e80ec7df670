/*
 * file.c - the trigger file: sources and rules, checked when loaded so that a
 * mistake stops qg-trigger at start with the place named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "trigger.h"
#include "yaml_json.h"

#define TRG_MAX_SOURCES 64
#define TRG_MAX_RULES   1024
#define TRG_MAX_TOPICS  256
#define TRG_MAX_PREDS   64
#define TRG_FILE_MAX    (1024 * 1024)

static char *dup_str(const qg_json_t *v)
{
    const char *s = qg_json_str(v);
    return s ? strdup(s) : NULL;
}

/* A duration: a number of ms, or text "250ms", "2s", "5m", "1h". -1 if bad. */
static long long parse_ms(const qg_json_t *v, long long dflt)
{
    if (!v)
        return dflt;
    if (qg_json_is(v, QG_JSON_NUMBER))
        return qg_json_num(v, -1) >= 0 ? (long long)qg_json_num(v, -1) : -1;
    const char *s = qg_json_str(v);
    char *end;
    double n = s ? strtod(s, &end) : -1;
    if (!s || end == s || n < 0)
        return -1;
    if (!*end || !strcmp(end, "ms"))
        return (long long)n;
    if (!strcmp(end, "s"))
        return (long long)(n * 1000);
    if (!strcmp(end, "m"))
        return (long long)(n * 60000);
    if (!strcmp(end, "h"))
        return (long long)(n * 3600000);
    return -1;
}

static qg_error_t *bad(const char *where, const char *fmt, const char *what)
{
    return qg_error_new(QG_ERR_BAD_INPUT, "%s: %s%s", where, fmt, what ? what : "");
}

/* A string or a list of strings into (list, n). */
static qg_error_t *parse_strings(const qg_json_t *v, const char *where, char ***list, size_t *n)
{
    size_t cnt = qg_json_is(v, QG_JSON_STRING) ? 1 : qg_json_len(v);
    if (!(qg_json_is(v, QG_JSON_STRING) || qg_json_is(v, QG_JSON_ARRAY)) || cnt == 0 ||
        cnt > TRG_MAX_TOPICS)
        return bad(where, "a topic or a non-empty list of at most 256 topics", NULL);
    *list = calloc(cnt, sizeof(**list));
    if (!*list)
        return qg_error_oom;
    for (size_t i = 0; i < cnt; i++) {
        const qg_json_t *e = qg_json_is(v, QG_JSON_STRING) ? v : qg_json_at(v, i);
        if (!qg_json_str(e) || !*qg_json_str(e))
            return bad(where, "topics must be non-empty strings", NULL);
        if (!((*list)[i] = strdup(qg_json_str(e))))
            return qg_error_oom;
        (*n)++;
    }
    return NULL;
}

/* Secrets come from a file or the environment, never from the trigger file itself. */
static qg_error_t *read_secret(const qg_json_t *s, const char *where, char **out)
{
    const char *file = qg_json_str(qg_json_get(s, "password_file"));
    const char *env = qg_json_str(qg_json_get(s, "password_env"));
    if (qg_json_get(s, "password"))
        return bad(where, "give password_file or password_env, not the password itself", NULL);
    if (file) {
        char errstr[512];
        size_t len;
        char *buf = qg_file_read(file, 4096, &len, NULL, errstr, sizeof(errstr));
        if (!buf)
            return bad(where, "password_file: ", errstr);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        *out = buf;
    } else if (env) {
        const char *v = getenv(env);
        if (!v)
            return bad(where, "password_env: not set: ", env);
        if (!(*out = strdup(v)))
            return qg_error_oom;
    }
    return NULL;
}

static qg_error_t *parse_mqtt(trg_source_t *src, const qg_json_t *s, const char *where)
{
    const qg_json_t *tls = qg_json_get(s, "tls");
    const char *proto = qg_json_str(qg_json_get(s, "protocol"));
    double proto_n = qg_json_num(qg_json_get(s, "protocol"), 0);
    src->host = dup_str(qg_json_get(s, "host"));
    if (!src->host && !(src->host = strdup("127.0.0.1")))
        return qg_error_oom;
    src->port = (int)qg_json_num(qg_json_get(s, "port"), tls ? 8883 : 1883);
    if (src->port < 1 || src->port > 65535)
        return bad(where, "port: not in 1..65535", NULL);
    if (!qg_json_get(s, "protocol") || proto_n == 5 || (proto && !strcmp(proto, "5")))
        src->protocol = 5;
    else if ((proto && !strcmp(proto, "3.1.1")) || proto_n == 3.11 || proto_n == 4)
        src->protocol = 4;
    else
        return bad(where, "protocol: 5 or \"3.1.1\"", NULL);
    src->clean_session =
        qg_json_get(s, "clean_session") ? qg_json_truthy(qg_json_get(s, "clean_session")) : 0;
    src->client_id = dup_str(qg_json_get(s, "client_id"));
    if (!src->clean_session && !src->client_id)
        return bad(where,
                   "client_id: a fixed client id is needed for a persistent session "
                   "(clean_session: false)",
                   NULL);
    src->qos = (int)qg_json_num(qg_json_get(s, "qos"), 1);
    if (src->qos < 0 || src->qos > 2)
        return bad(where, "qos: 0, 1 or 2", NULL);
    src->keepalive = (int)qg_json_num(qg_json_get(s, "keepalive"), 30);
    if (src->keepalive < 5 || src->keepalive > 65535)
        return bad(where, "keepalive: 5..65535 seconds", NULL);
    long long exp = parse_ms(qg_json_get(s, "session_expiry"), 86400000LL);
    if (exp < 0)
        return bad(where, "session_expiry: a duration such as 1h", NULL);
    src->session_expiry_s = exp / 1000;
    src->username = dup_str(qg_json_get(s, "username"));
    qg_error_t *err = read_secret(s, where, &src->password);
    if (err)
        return err;
    if (tls) {
        src->tls = 1;
        src->ca_file = dup_str(qg_json_get(tls, "ca_file"));
        src->cert_file = dup_str(qg_json_get(tls, "cert_file"));
        src->key_file = dup_str(qg_json_get(tls, "key_file"));
        src->tls_insecure = qg_json_truthy(qg_json_get(tls, "insecure"));
        if (!src->ca_file)
            return bad(where, "tls.ca_file is required with tls", NULL);
        if (!src->cert_file != !src->key_file)
            return bad(where, "tls: cert_file and key_file go together", NULL);
    }
    return parse_strings(qg_json_get(s, "subscribe"), where, &src->topics, &src->n_topics);
}

/* "${env:NAME}" or "${env:NAME:-default}" -> the environment's value (a number
 * when it reads as one). Sources only: rule templates are the event's. */
static qg_json_t *env_value(const char *text, const char *where, qg_error_t **errp)
{
    char name[128];
    const char *body = text + 6, *end = strchr(body, '}'), *dflt = strstr(body, ":-");
    size_t n = (size_t)((dflt && dflt < end ? dflt : end) - body);
    if (!end || end[1] || n == 0 || n >= sizeof(name)) {
        *errp = bad(where, "bad environment reference ", text);
        return NULL;
    }
    memcpy(name, body, n);
    name[n] = '\0';
    char value[512];
    const char *v = getenv(name);
    if (!v && !(dflt && dflt < end)) {
        *errp = bad(where, "environment variable not set: ", name);
        return NULL;
    }
    if (!v)
        snprintf(value, sizeof(value), "%.*s", (int)(end - dflt - 2), dflt + 2);
    else
        snprintf(value, sizeof(value), "%s", v);
    char *num_end;
    double d = strtod(value, &num_end);
    return *value && !*num_end ? qg_json_number(d) : qg_json_string(value);
}

static qg_error_t *expand_env(qg_json_t *v, const char *where)
{
    for (size_t i = 0; i < qg_json_len(v); i++) {
        qg_json_t *m = qg_json_at(v, i);
        const char *text = qg_json_str(m);
        if (!text) {
            qg_error_t *err = expand_env(m, where);
            if (err)
                return err;
            continue;
        }
        if (strncmp(text, "${env:", 6))
            continue;
        qg_error_t *err = NULL;
        qg_json_t *val = env_value(text, where, &err);
        if (!val)
            return err ? err : qg_error_oom;
        if (!qg_json_is(v, QG_JSON_OBJECT)) {
            qg_json_destroy(val);
            return bad(where, "environment references go in mapping values, not lists: ", text);
        }
        if (qg_json_set(v, qg_json_key_at(v, i), val))
            return qg_error_oom;
    }
    return NULL;
}

static qg_error_t *parse_source_expanded(trg_source_t *src, const qg_json_t *s, const char *where);

static qg_error_t *parse_source(trg_source_t *src, const qg_json_t *raw, size_t i)
{
    char where[96];
    snprintf(where, sizeof(where), "sources[%zu]", i);
    if (!qg_json_is(raw, QG_JSON_OBJECT))
        return bad(where, "not a mapping", NULL);
    qg_json_t *s = qg_json_clone(raw);
    qg_error_t *err = s ? expand_env(s, where) : qg_error_oom;
    if (!err)
        err = parse_source_expanded(src, s, where);
    qg_json_destroy(s);
    return err;
}

static qg_error_t *parse_source_expanded(trg_source_t *src, const qg_json_t *s, const char *where)
{
    if (!(src->name = dup_str(qg_json_get(s, "name"))))
        return bad(where, "name: required", NULL);
    const char *type = qg_json_str(qg_json_get(s, "type"));
    if (type && !strcmp(type, "mqtt")) {
        src->type = TRG_SRC_MQTT;
        return parse_mqtt(src, s, where);
    }
    if (type && !strcmp(type, "kafka")) {
        src->type = TRG_SRC_KAFKA;
        return parse_strings(qg_json_get(s, "topics"), where, &src->topics, &src->n_topics);
    }
    return bad(where, "type: mqtt or kafka", NULL);
}

static const struct {
    const char *name;
    trg_pred_op_t op;
} pred_ops[] = {
    {"equals", TRG_PRED_EQUALS},   {"not_equals", TRG_PRED_NOT_EQUALS},
    {"in", TRG_PRED_IN},           {"exists", TRG_PRED_EXISTS},
    {"missing", TRG_PRED_MISSING}, {"gt", TRG_PRED_GT},
    {"ge", TRG_PRED_GE},           {"lt", TRG_PRED_LT},
    {"le", TRG_PRED_LE},           {"contains", TRG_PRED_CONTAINS},
};

static qg_error_t *parse_pred(trg_pred_t *p, const qg_json_t *w, const char *where)
{
    if (!(p->field = dup_str(qg_json_get(w, "field"))))
        return bad(where, "field: required", NULL);
    for (size_t k = 0; k < qg_json_len(w); k++) {
        const char *key = qg_json_key_at(w, k);
        if (!strcmp(key, "field"))
            continue;
        for (size_t o = 0; o < sizeof(pred_ops) / sizeof(pred_ops[0]); o++)
            if (!strcmp(key, pred_ops[o].name)) {
                if (p->op)
                    return bad(where, "one operator per predicate", NULL);
                p->op = pred_ops[o].op;
                if (p->op != TRG_PRED_EXISTS && p->op != TRG_PRED_MISSING &&
                    !(p->value = qg_json_clone(qg_json_at(w, k))))
                    return qg_error_oom;
            }
        if (!p->op)
            return bad(where, "unknown operator ", key);
    }
    if (!p->op)
        return bad(where, "an operator is required (equals, in, exists, gt, ...)", NULL);
    if (p->op == TRG_PRED_IN && !qg_json_is(p->value, QG_JSON_ARRAY))
        return bad(where, "in: a list", NULL);
    return NULL;
}

static qg_error_t *parse_then(trg_rule_t *r, const qg_json_t *then, const char *where)
{
    const qg_json_t *goal = qg_json_get(then, "goal");
    const qg_json_t *rerun = qg_json_get(then, "rerun");
    const qg_json_t *unwatch = qg_json_get(then, "unwatch");
    if (!!goal + !!rerun + !!unwatch != 1)
        return bad(where, "then: exactly one of goal, rerun, unwatch", NULL);
    if (goal) {
        r->then = TRG_THEN_GOAL;
        if (!qg_json_str(qg_json_get(goal, "type")))
            return bad(where, "then.goal.type: required", NULL);
        if (!qg_json_is(qg_json_get(goal, "pipeline"), QG_JSON_ARRAY))
            return bad(where, "then.goal.pipeline: a list of stages is required", NULL);
        return (r->goal = qg_json_clone(goal)) ? NULL : qg_error_oom;
    }
    if (rerun) {
        r->then = TRG_THEN_RERUN;
        if (!(qg_json_is(rerun, QG_JSON_OBJECT) ||
              (qg_json_str(rerun) && !strcmp(qg_json_str(rerun), "watched"))))
            return bad(where, "then.rerun: \"watched\" or {submodel, change}", NULL);
        return (r->rerun = qg_json_clone(rerun)) ? NULL : qg_error_oom;
    }
    r->then = TRG_THEN_UNWATCH;
    if (!(r->unwatch = dup_str(unwatch)))
        return bad(where, "then.unwatch: a goal id template", NULL);
    return NULL;
}

static qg_error_t *parse_rule(trg_rule_t *r, const qg_json_t *j, size_t i, const trg_file_t *f)
{
    char where[160];
    snprintf(where, sizeof(where), "rules[%zu]", i);
    if (!(r->name = dup_str(qg_json_get(j, "name"))))
        return bad(where, "name: required", NULL);
    snprintf(where, sizeof(where), "rule %s", r->name);
    const qg_json_t *when = qg_json_get(j, "when");
    if (!qg_json_is(when, QG_JSON_OBJECT))
        return bad(where, "when: required", NULL);
    r->source = dup_str(qg_json_get(when, "source"));
    if (r->source && !trg_file_source(f, r->source))
        return bad(where, "when.source: no such source: ", r->source);
    r->topic = dup_str(qg_json_get(when, "topic"));
    const char *shape = qg_json_str(qg_json_get(when, "shape"));
    if (shape && !strcmp(shape, "faaast"))
        r->shape = TRG_SHAPE_FAAAST;
    else if (shape && strcmp(shape, "json"))
        return bad(where, "when.shape: json or faaast", NULL);
    const qg_json_t *preds = qg_json_get(when, "where");
    if (preds && (!qg_json_is(preds, QG_JSON_ARRAY) || qg_json_len(preds) > TRG_MAX_PREDS))
        return bad(where, "when.where: a list of at most 64 predicates", NULL);
    r->preds = calloc(qg_json_len(preds) + 1, sizeof(*r->preds));
    if (!r->preds)
        return qg_error_oom;
    for (size_t k = 0; k < qg_json_len(preds); k++) {
        qg_error_t *err = parse_pred(&r->preds[k], qg_json_at(preds, k), where);
        r->n_preds++;
        if (err)
            return err;
    }
    r->event_id = dup_str(qg_json_get(j, "event_id"));
    qg_error_t *err = parse_then(r, qg_json_get(j, "then"), where);
    if (err)
        return err;
    r->debounce_ms = parse_ms(qg_json_get(j, "debounce"), 0);
    if (r->debounce_ms < 0 || r->debounce_ms > 86400000LL)
        return bad(where, "debounce: a duration up to 24h", NULL);
    const qg_json_t *rl = qg_json_get(j, "rate_limit");
    if (rl) {
        r->rate_max = (long long)qg_json_num(qg_json_get(rl, "max"), 0);
        r->rate_per_ms = parse_ms(qg_json_get(rl, "per"), 60000);
        if (r->rate_max < 1 || r->rate_max > 1000000 || r->rate_per_ms < 1)
            return bad(where, "rate_limit: {max: 1..1000000, per: duration}", NULL);
        r->tokens = (double)r->rate_max;
    }
    if (!(r->recent = trg_keyset_new(4096)))
        return qg_error_oom;
    return NULL;
}

const trg_source_t *trg_file_source(const trg_file_t *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->n_sources; i++)
        if (!strcmp(f->sources[i].name, name))
            return &f->sources[i];
    return NULL;
}

static qg_error_t *parse_all(trg_file_t *f, const qg_json_t *doc)
{
    const qg_json_t *sources = qg_json_get(doc, "sources");
    const qg_json_t *rules = qg_json_get(doc, "rules");
    if (!qg_json_is(sources, QG_JSON_ARRAY) || qg_json_len(sources) == 0 ||
        qg_json_len(sources) > TRG_MAX_SOURCES)
        return bad("sources", "a list of 1..64 sources is required", NULL);
    if (!qg_json_is(rules, QG_JSON_ARRAY) || qg_json_len(rules) == 0 ||
        qg_json_len(rules) > TRG_MAX_RULES)
        return bad("rules", "a list of 1..1024 rules is required", NULL);
    f->sources = calloc(qg_json_len(sources), sizeof(*f->sources));
    f->rules = calloc(qg_json_len(rules), sizeof(*f->rules));
    if (!f->sources || !f->rules)
        return qg_error_oom;
    for (size_t i = 0; i < qg_json_len(sources); i++) {
        qg_error_t *err = parse_source(&f->sources[i], qg_json_at(sources, i), i);
        f->n_sources++;
        if (err)
            return err;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(f->sources[k].name, f->sources[i].name))
                return bad("sources", "duplicate name ", f->sources[i].name);
    }
    for (size_t i = 0; i < qg_json_len(rules); i++) {
        qg_error_t *err = parse_rule(&f->rules[i], qg_json_at(rules, i), i, f);
        f->n_rules++;
        if (err)
            return err;
    }
    return NULL;
}

trg_file_t *trg_file_parse(const char *text, size_t len, const char *name, qg_error_t **errp)
{
    qg_json_t *doc = qg_yaml_to_json(text, len, name, QG_ERR_BAD_INPUT, errp);
    if (!doc)
        return NULL;
    trg_file_t *f = calloc(1, sizeof(*f));
    qg_error_t *err = f ? parse_all(f, doc) : qg_error_oom;
    qg_json_destroy(doc);
    if (err) {
        *errp = qg_error_wrap(err, "%s", name);
        trg_file_destroy(f);
        return NULL;
    }
    return f;
}

trg_file_t *trg_file_load(const char *path, qg_error_t **errp)
{
    char errstr[512];
    size_t len;
    char *text = qg_file_read(path, TRG_FILE_MAX, &len, NULL, errstr, sizeof(errstr));
    if (!text) {
        *errp = qg_error_new(QG_ERR_BAD_INPUT, "%s", errstr);
        return NULL;
    }
    trg_file_t *f = trg_file_parse(text, len, path, errp);
    free(text);
    return f;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void trg_file_destroy(trg_file_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_sources; i++) {
        trg_source_t *s = &f->sources[i];
        free(s->name);
        free_strings(s->topics, s->n_topics);
        free(s->host);
        free(s->client_id);
        free(s->username);
        if (s->password)
            memset(s->password, 0, strlen(s->password));
        free(s->password);
        free(s->ca_file);
        free(s->cert_file);
        free(s->key_file);
    }
    for (size_t i = 0; i < f->n_rules; i++) {
        trg_rule_t *r = &f->rules[i];
        free(r->name);
        free(r->source);
        free(r->topic);
        for (size_t k = 0; k < r->n_preds; k++) {
            free(r->preds[k].field);
            qg_json_destroy(r->preds[k].value);
        }
        free(r->preds);
        free(r->event_id);
        qg_json_destroy(r->goal);
        qg_json_destroy(r->rerun);
        free(r->unwatch);
        trg_keyset_destroy(r->recent);
    }
    free(f->sources);
    free(f->rules);
    free(f);
}
