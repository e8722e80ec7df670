/*
 * rules.c - one event through every rule: match, deduplicate, limit, act.
 * Whatever is wrong with an event is logged with the reason and counted; it
 * never stops the process and never produces a goal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "sha256.h"
#include "trigger.h"

#define HDR_RULE     "qg.trigger.rule"
#define HDR_EVENT_ID "qg.trigger.event.id"

/* The event's fields in the rule's shape, parsed once per shape. */
typedef struct {
    qg_json_t *by_shape[2];
    char why[2][512];
    int tried[2];
} ev_fields_t;

static const qg_json_t *fields_for(ev_fields_t *ef, const trg_event_t *ev, trg_shape_t shape)
{
    if (!ef->tried[shape]) {
        ef->tried[shape] = 1;
        ef->by_shape[shape] = trg_event_fields(ev, shape, ef->why[shape], sizeof(ef->why[shape]));
    }
    return ef->by_shape[shape];
}

static void event_digest(const trg_event_t *ev, char hex[65])
{
    qg_sha256_t s;
    unsigned char out[32];
    qg_sha256_init(&s);
    qg_sha256_update(&s, ev->source, strlen(ev->source) + 1);
    qg_sha256_update(&s, ev->topic, strlen(ev->topic) + 1);
    qg_sha256_update(&s, ev->payload, ev->len);
    qg_sha256_final(&s, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
}

/* The event id: the rule's event_id field, else the Kafka position, else a digest. */
static int event_id_of(const trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                       char *buf, size_t sz)
{
    if (r->event_id) {
        char why[256];
        char tmpl[300];
        snprintf(tmpl, sizeof(tmpl), "${%s}", r->event_id);
        qg_json_t *t = qg_json_string(tmpl);
        qg_json_t *v = t ? trg_template_expand(t, fields, ev, NULL, why, sizeof(why)) : NULL;
        qg_json_destroy(t);
        const char *s = qg_json_str(v);
        char num[64];
        if (!s && qg_json_is(v, QG_JSON_NUMBER))
            s = qg_json_number_text(v)
                    ? qg_json_number_text(v)
                    : (snprintf(num, sizeof(num), "%.0f", qg_json_num(v, 0)), num);
        int ok = s && *s;
        if (ok)
            snprintf(buf, sz, "%s", s);
        qg_json_destroy(v); /* s pointed into v */
        return ok ? 0 : -1;
    }
    snprintf(buf, sz, "%s", ev->origin[0] ? ev->origin : ev->id_digest);
    return 0;
}

static int rate_allows(trg_rule_t *r, double now)
{
    if (r->rate_max <= 0)
        return 1;
    if (r->tokens_at_ms > 0) {
        r->tokens += (now - r->tokens_at_ms) * (double)r->rate_max / (double)r->rate_per_ms;
        if (r->tokens > (double)r->rate_max)
            r->tokens = (double)r->rate_max;
    }
    r->tokens_at_ms = now;
    if (r->tokens < 1)
        return 0;
    r->tokens -= 1;
    return 1;
}

static rd_kafka_headers_t *trigger_headers(const trg_rule_t *r, const char *event_id)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    if (h) {
        rd_kafka_header_add(h, HDR_RULE, -1, r->name, -1);
        rd_kafka_header_add(h, HDR_EVENT_ID, -1, event_id, -1);
    }
    return h;
}

static void fire_goal(trg_t *t, trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                      const char *event_id, double now)
{
    char key[1200], why[512] = "", topic[300];
    snprintf(key, sizeof(key), "%s/%s", r->name, event_id);
    if (trg_keyset_get(t->dedup, key) >= 0) {
        t->stats.duplicates++;
        qg_info(TRG_COMPONENT, "rule %s: event %s seen before: no second goal", r->name, event_id);
        return;
    }
    qg_json_t *doc = trg_goal_build(r, fields, ev, event_id, now, why, sizeof(why));
    qg_error_t *err = NULL;
    if (!doc) {
        t->stats.missing_field++;
        qg_warn(TRG_COMPONENT, "rule %s: event on %s: no goal: %s", r->name, ev->topic, why);
        return;
    }
    if ((err = qg_goal_validate(doc, qg_config_get(t->cfg, "pipeline.extra.stages")))) {
        t->stats.invalid_goal++;
        qg_warn(TRG_COMPONENT, "rule %s: event on %s: the goal is not valid: %s", r->name,
                ev->topic, qg_error_message(err));
        qg_error_destroy(err);
        qg_json_destroy(doc);
        return;
    }
    const char *gid = qg_goal_id(doc);
    double last = trg_keyset_get(r->recent, gid);
    if (r->debounce_ms > 0 && last >= 0 && now - last < (double)r->debounce_ms) {
        t->stats.debounced++;
        qg_info(TRG_COMPONENT, "rule %s: goal %s again within %lld ms: debounced", r->name, gid,
                r->debounce_ms);
        qg_json_destroy(doc);
        return;
    }
    if (!rate_allows(r, now)) {
        t->stats.rate_limited++;
        qg_warn(TRG_COMPONENT, "rule %s: rate limit %lld per %lld ms reached: event %s dropped",
                r->name, r->rate_max, r->rate_per_ms, event_id);
        qg_json_destroy(doc);
        return;
    }
    qg_topic_stage(topic, sizeof(topic), t->prefix, qg_goal_first_stage(doc));
    err = trg_out_produce_goal(t, topic, gid, doc, trigger_headers(r, event_id), key);
    if (err) {
        qg_err(TRG_COMPONENT, "rule %s: %s", r->name, qg_error_message(err));
        qg_error_destroy(err);
        t->fatal = 1;
    } else {
        t->stats.goals++;
        trg_keyset_put(t->dedup, key, now);
        trg_keyset_put(r->recent, gid, now);
        qg_info(TRG_COMPONENT, "rule %s: event %s -> goal %s on %s", r->name, event_id, gid, topic);
    }
    qg_json_destroy(doc);
}

/* A text or NULL from an optional template member of then.rerun. */
static char *rerun_text(const trg_rule_t *r, const char *member, const qg_json_t *fields,
                        const trg_event_t *ev, const char *event_id, int *missing, char *why,
                        size_t whysz)
{
    const qg_json_t *tmpl = qg_json_get(r->rerun, member);
    if (!tmpl)
        return NULL;
    qg_json_t *v = trg_template_expand(tmpl, fields, ev, event_id, why, whysz);
    char *s = qg_json_str(v) ? strdup(qg_json_str(v)) : NULL;
    if (!v)
        *missing = 1;
    qg_json_destroy(v);
    return s;
}

static void fire_rerun(trg_t *t, trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                       const char *event_id, double now)
{
    char why[512] = "";
    int missing = 0, all = 0;
    char *submodel = NULL, *change = NULL;
    if (qg_json_str(r->rerun)) { /* "watched": the FA³ST event names the submodel */
        const char *sm = qg_json_str(qg_json_get(fields, "submodel"));
        if (!sm) {
            missing = 1;
            snprintf(why, sizeof(why), "field submodel is missing");
        } else {
            submodel = strdup(sm);
        }
        change = trg_change_text(fields);
    } else {
        submodel = rerun_text(r, "submodel", fields, ev, event_id, &missing, why, sizeof(why));
        change = rerun_text(r, "change", fields, ev, event_id, &missing, why, sizeof(why));
        all = !qg_json_get(r->rerun, "submodel");
        if (!change && !missing)
            change = trg_change_text(fields);
    }
    if (missing) {
        t->stats.missing_field++;
        qg_warn(TRG_COMPONENT, "rule %s: event on %s: no re-run: %s", r->name, ev->topic, why);
    } else if (!rate_allows(r, now)) {
        t->stats.rate_limited++;
        qg_warn(TRG_COMPONENT, "rule %s: rate limit reached: change on %s dropped", r->name,
                submodel ? submodel : "*");
    } else {
        int n = trg_watch_touch(t, all ? NULL : submodel, change ? change : ev->topic, r->name,
                                r->debounce_ms, now);
        qg_info(TRG_COMPONENT, "rule %s: %s touched %d watched goal(s)", r->name,
                change ? change : ev->topic, n);
    }
    free(submodel);
    free(change);
}

static void fire_unwatch(trg_t *t, trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                         const char *event_id)
{
    char why[512] = "";
    qg_json_t *tmpl = qg_json_string(r->unwatch);
    qg_json_t *gid =
        tmpl ? trg_template_expand(tmpl, fields, ev, event_id, why, sizeof(why)) : NULL;
    qg_json_destroy(tmpl);
    if (!qg_json_str(gid)) {
        t->stats.missing_field++;
        qg_warn(TRG_COMPONENT, "rule %s: event on %s: no goal id to stop watching: %s", r->name,
                ev->topic, why[0] ? why : "not a string");
    } else if (!trg_watch_stop(t, qg_json_str(gid), r->name)) {
        qg_info(TRG_COMPONENT, "rule %s: goal %s was not watched", r->name, qg_json_str(gid));
    }
    qg_json_destroy(gid);
}

static void fire(trg_t *t, trg_rule_t *r, const qg_json_t *fields, const trg_event_t *ev,
                 double now)
{
    char event_id[512];
    if (event_id_of(r, fields, ev, event_id, sizeof(event_id)) != 0) {
        t->stats.missing_field++;
        qg_warn(TRG_COMPONENT, "rule %s: event on %s: event id field %s is missing or empty: %.*s",
                r->name, ev->topic, r->event_id, (int)(ev->len < 200 ? ev->len : 200),
                (const char *)ev->payload);
        return;
    }
    switch (r->then) {
    case TRG_THEN_GOAL:
        fire_goal(t, r, fields, ev, event_id, now);
        break;
    case TRG_THEN_RERUN:
        fire_rerun(t, r, fields, ev, event_id, now);
        break;
    case TRG_THEN_UNWATCH:
        fire_unwatch(t, r, fields, ev, event_id);
        break;
    }
}

void trg_handle_event(trg_t *t, const trg_event_t *in)
{
    trg_event_t ev = *in;
    ev_fields_t ef = {0};
    int candidates = 0, matched = 0, rejected = 0;
    double now = qg_now_ms();
    event_digest(&ev, ev.id_digest);
    t->stats.received++;
    for (size_t i = 0; i < t->file->n_rules && !t->fatal; i++) {
        trg_rule_t *r = &t->file->rules[i];
        if ((r->source && strcmp(r->source, ev.source)) || !trg_topic_matches(r->topic, ev.topic))
            continue;
        candidates++;
        const qg_json_t *fields = fields_for(&ef, &ev, r->shape);
        char why[512] = "";
        if (!fields) {
            rejected = 1;
            continue;
        }
        int m = trg_rule_matches(r, fields, why, sizeof(why));
        if (m < 0) {
            t->stats.missing_field++;
            rejected = 1;
            qg_warn(TRG_COMPONENT, "event on %s: %s", ev.topic, why);
        } else if (m > 0) {
            matched++;
            fire(t, r, fields, &ev, now);
        }
    }
    if (candidates == 0) {
        t->stats.unknown_topic++;
        qg_warn(TRG_COMPONENT, "event from %s on %s: no rule for this topic", ev.source, ev.topic);
    } else if (!matched && rejected && (ef.tried[0] || ef.tried[1]) &&
               !(ef.by_shape[0] || ef.by_shape[1])) {
        t->stats.malformed++;
        qg_warn(TRG_COMPONENT, "event from %s on %s: malformed: %s", ev.source, ev.topic,
                ef.tried[TRG_SHAPE_FAAAST] ? ef.why[TRG_SHAPE_FAAAST] : ef.why[TRG_SHAPE_JSON]);
    } else if (!matched && !rejected) {
        t->stats.unmatched++;
        qg_debug(TRG_COMPONENT, "event from %s on %s: no rule's conditions hold", ev.source,
                 ev.topic);
    }
    qg_json_destroy(ef.by_shape[0]);
    qg_json_destroy(ef.by_shape[1]);
}
