/*
 * watch.c - live promises: answered goals kept "watched". When an event
 * touches a submodel a watched goal's binding read, the goal is re-run with a
 * new run id; its new answer goes to <prefix>.updates with the old and new
 * estimate and what changed.
 *
 * State lives in <prefix>.watches (compacted, keyed by goal id): one record per
 * watched goal with what a re-run needs (the QueryGoal, the submodels read, the
 * last answer), a null value when watching stops. It is read from the start
 * when qg-trigger starts, so a restart keeps every watch. At most
 * watch.max.goals goals are watched; a further watch is refused (logged,
 * counted, and a "refused" record on <prefix>.updates). A watch ends after
 * watch.ttl.ms, by a rule's `unwatch`, or by `qgctl watch --live ID --stop`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "log.h"
#include "trigger.h"

#define MAX_CHANGES 32

struct trg_watch_s {
    char *goal_id;
    qg_json_t *query; /* the QueryGoal to re-run (no outputs, no selectedModel) */
    qg_json_t *submodels;
    qg_json_t *answer; /* {estimatedTime, confidence, answeredAtMs} */
    char *run_id;
    double expires_ms;
    double due_ms;      /* a re-run is scheduled then (0: none) */
    qg_json_t *changes; /* what changed since the last answer */
    char *rule;         /* the rule that asked for the re-run */
    char *pending_run;  /* run id of the re-run in flight */
    double pending_since_ms;
    qg_json_t *pending_changes;
};

int trg_watch_init(trg_t *t)
{
    t->max_watches = (size_t)qg_config_int(t->cfg, "watch.max.goals");
    t->watches = calloc(t->max_watches, sizeof(*t->watches));
    return t->watches ? 0 : -1;
}

static void watch_clear(trg_watch_t *w)
{
    free(w->goal_id);
    qg_json_destroy(w->query);
    qg_json_destroy(w->submodels);
    qg_json_destroy(w->answer);
    free(w->run_id);
    qg_json_destroy(w->changes);
    free(w->rule);
    free(w->pending_run);
    qg_json_destroy(w->pending_changes);
    memset(w, 0, sizeof(*w));
}

void trg_watch_destroy(trg_t *t)
{
    for (size_t i = 0; i < t->n_watches; i++)
        watch_clear(&t->watches[i]);
    free(t->watches);
    t->watches = NULL;
}

static trg_watch_t *watch_find(trg_t *t, const char *goal_id)
{
    for (size_t i = 0; goal_id && i < t->n_watches; i++)
        if (!strcmp(t->watches[i].goal_id, goal_id))
            return &t->watches[i];
    return NULL;
}

static void watch_remove(trg_t *t, trg_watch_t *w)
{
    watch_clear(w);
    size_t i = (size_t)(w - t->watches);
    t->watches[i] = t->watches[--t->n_watches];
    memset(&t->watches[t->n_watches], 0, sizeof(*w));
    t->stats.watches = (long long)t->n_watches;
}

int trg_watch_busy(const trg_t *t)
{
    for (size_t i = 0; i < t->n_watches; i++)
        if (t->watches[i].due_ms > 0)
            return 1;
    return 0;
}

/* ---- the watch record ---- */

static qg_json_t *watch_record(const trg_watch_t *w)
{
    qg_json_t *r = qg_json_object();
    if (!r || qg_json_set_str(r, "goalId", w->goal_id) ||
        qg_json_set_str(r, "runId", w->run_id ? w->run_id : "") ||
        qg_json_set_num(r, "expiresAtMs", w->expires_ms) ||
        qg_json_set(r, "query", qg_json_clone(w->query)) ||
        qg_json_set(r, "submodels", qg_json_clone(w->submodels)) ||
        qg_json_set(r, "answer", qg_json_clone(w->answer))) {
        qg_json_destroy(r);
        return NULL;
    }
    return r;
}

static void watch_save(trg_t *t, const trg_watch_t *w)
{
    qg_json_t *r = watch_record(w);
    qg_error_t *err =
        r ? trg_out_produce_json(t, t->topic_watches, w->goal_id, r, NULL) : qg_error_oom;
    if (err) {
        qg_err(TRG_COMPONENT, "watch %s: %s", w->goal_id, qg_error_message(err));
        qg_error_destroy(err);
        t->fatal = 1;
    }
    qg_json_destroy(r);
}

/* ---- from an answered goal ---- */

/* The submodels the binding read: submodelsRead[], else each source's submodel_id. */
static qg_json_t *submodels_read(const qg_json_t *doc)
{
    const qg_json_t *res = qg_goal_stage_result(doc, "yamlBinding");
    const qg_json_t *read = qg_json_get(res, "submodelsRead");
    if (read)
        return qg_json_clone(read);
    qg_json_t *ids = qg_json_array();
    const qg_json_t *b = qg_json_get(res, "bindings");
    for (size_t i = 0; ids && i < qg_json_len(b); i++) {
        const char *id = qg_json_str(qg_json_path(qg_json_at(b, i), "source.submodel_id"));
        if (id)
            qg_json_append(ids, qg_json_string(id));
    }
    return ids;
}

static qg_json_t *answer_of(const qg_json_t *doc, double now)
{
    const qg_json_t *out = qg_json_get(qg_goal_query(doc), "outputs");
    qg_json_t *a = qg_json_object();
    if (!a)
        return NULL;
    if (qg_json_get(out, "estimatedTime"))
        qg_json_set(a, "estimatedTime", qg_json_clone(qg_json_get(out, "estimatedTime")));
    if (qg_json_get(out, "confidence"))
        qg_json_set(a, "confidence", qg_json_clone(qg_json_get(out, "confidence")));
    qg_json_set_num(a, "answeredAtMs", now);
    return a;
}

static qg_json_t *query_to_rerun(const qg_json_t *doc)
{
    qg_json_t *q = qg_json_clone(qg_goal_query(doc));
    qg_json_remove(q, "outputs");
    qg_json_remove(q, "selectedModel");
    return q;
}

/* Fill w from an answered goal (the first answer or a re-run's). */
static int watch_take_answer(trg_watch_t *w, const qg_json_t *doc, double now)
{
    const char *run = qg_json_str(qg_json_path(qg_goal_query(doc), "metadata.runId"));
    qg_json_t *q = query_to_rerun(doc), *sm = submodels_read(doc), *a = answer_of(doc, now);
    char *r = strdup(run ? run : "initial");
    if (!q || !sm || !a || !r) {
        qg_json_destroy(q);
        qg_json_destroy(sm);
        qg_json_destroy(a);
        free(r);
        return -1;
    }
    qg_json_destroy(w->query);
    qg_json_destroy(w->submodels);
    qg_json_destroy(w->answer);
    free(w->run_id);
    w->query = q;
    w->submodels = sm;
    w->answer = a;
    w->run_id = r;
    return 0;
}

static trg_watch_t *watch_add(trg_t *t, const char *goal_id, double now)
{
    if (t->n_watches >= t->max_watches) {
        char msg[256];
        t->stats.watch_refused++;
        snprintf(msg, sizeof(msg), "watch.max.goals (%zu) reached", t->max_watches);
        qg_warn(TRG_COMPONENT, "goal %s: not watched: %s", goal_id, msg);
        qg_json_t *u = qg_json_object();
        qg_json_set_str(u, "goalId", goal_id);
        qg_json_set_str(u, "status", "refused");
        qg_json_set_str(u, "reason", msg);
        qg_json_set_num(u, "atMs", now);
        qg_error_t *err = trg_out_produce_json(t, t->topic_updates, goal_id, u, NULL);
        qg_error_destroy(err);
        qg_json_destroy(u);
        return NULL;
    }
    trg_watch_t *w = &t->watches[t->n_watches];
    if (!(w->goal_id = strdup(goal_id)))
        return NULL;
    t->n_watches++;
    t->stats.watches = (long long)t->n_watches;
    return w;
}

static double watch_ttl(const trg_t *t, const qg_json_t *q)
{
    double ttl = qg_json_num(qg_json_path(q, "metadata.watchTtlMs"), -1);
    return ttl > 0 ? ttl : (double)qg_config_ms(t->cfg, "watch.ttl.ms");
}

/* Start watching an answered goal; saves the watch record. */
static void watch_start(trg_t *t, const qg_json_t *doc, double expires_ms, double now)
{
    const char *gid = qg_goal_id(doc);
    trg_watch_t *w = watch_find(t, gid);
    if (!w && !(w = watch_add(t, gid, now)))
        return;
    if (watch_take_answer(w, doc, now) != 0) {
        qg_err(TRG_COMPONENT, "goal %s: out of memory", gid);
        watch_remove(t, w);
        return;
    }
    w->expires_ms = expires_ms > 0 ? expires_ms : now + watch_ttl(t, qg_goal_query(doc));
    qg_info(TRG_COMPONENT, "goal %s: watched (%zu submodels) until %.0f", gid,
            qg_json_len(w->submodels), w->expires_ms);
    watch_save(t, w);
}

/* ---- updates ---- */

static void publish_update(trg_t *t, trg_watch_t *w, const qg_json_t *doc, double now)
{
    const qg_json_t *old = w->answer;
    qg_json_t *fresh = answer_of(doc, now), *u = qg_json_object();
    double oe = qg_json_num(qg_json_get(old, "estimatedTime"), -1);
    double ne = qg_json_num(qg_json_get(fresh, "estimatedTime"), -1);
    double oat = qg_json_num(qg_json_get(old, "answeredAtMs"), now);
    char ts[40];
    qg_json_set_str(u, "goalId", w->goal_id);
    qg_json_set_str(u, "status", "updated");
    qg_json_set_str(u, "runId", w->pending_run);
    qg_json_set_str(u, "previousRunId", w->run_id);
    qg_json_set(u, "oldEstimate", qg_json_clone(qg_json_get(old, "estimatedTime")));
    qg_json_set(u, "newEstimate", qg_json_clone(qg_json_get(fresh, "estimatedTime")));
    qg_json_set(u, "oldConfidence", qg_json_clone(qg_json_get(old, "confidence")));
    qg_json_set(u, "newConfidence", qg_json_clone(qg_json_get(fresh, "confidence")));
    if (oe >= 0 && ne >= 0) {
        /* Estimates are seconds from their answer; promises are points in time. */
        qg_json_set_str(u, "oldPromiseAt", qg_iso_time(ts, sizeof(ts), oat + 1000 * oe));
        qg_json_set_str(u, "newPromiseAt", qg_iso_time(ts, sizeof(ts), now + 1000 * ne));
        qg_json_set_num(u, "promiseShiftSeconds", (now + 1000 * ne - oat - 1000 * oe) / 1000);
    }
    qg_json_set(u, "changes", qg_json_clone(w->pending_changes));
    qg_json_set_str(u, "rule", w->rule ? w->rule : "");
    qg_json_set_str(u, "at", qg_iso_time(ts, sizeof(ts), now));
    qg_error_t *err = trg_out_produce_json(t, t->topic_updates, w->goal_id, u, NULL);
    if (err) {
        qg_err(TRG_COMPONENT, "goal %s: update: %s", w->goal_id, qg_error_message(err));
        qg_error_destroy(err);
        t->fatal = 1;
    } else {
        t->stats.updates++;
        char *ch = qg_json_serialize(w->pending_changes, 0, NULL);
        qg_info(TRG_COMPONENT, "goal %s: updated answer: estimate %.0f s -> %.0f s after %s",
                w->goal_id, oe, ne, ch ? ch : "?");
        free(ch);
    }
    qg_json_destroy(fresh);
    qg_json_destroy(u);
}

void trg_watch_on_completed(trg_t *t, const rd_kafka_message_t *rkm)
{
    char errstr[256];
    double now = qg_now_ms();
    qg_json_t *doc =
        rkm->payload ? qg_json_parse(rkm->payload, rkm->len, errstr, sizeof(errstr)) : NULL;
    const char *gid = qg_goal_id(doc);
    trg_watch_t *w = watch_find(t, gid);
    const qg_json_t *md = qg_json_get(qg_goal_query(doc), "metadata");
    const char *run = qg_json_str(qg_json_get(md, "runId"));
    if (!gid) {
        qg_json_destroy(doc);
        return; /* not ours to judge: the workers dead-letter bad goals */
    }
    if (w && w->pending_run && run && !strcmp(run, w->pending_run)) {
        publish_update(t, w, doc, now);
        if (watch_take_answer(w, doc, now) == 0)
            watch_save(t, w);
        free(w->pending_run);
        w->pending_run = NULL;
        qg_json_destroy(w->pending_changes);
        w->pending_changes = NULL;
    } else if (!w) {
        const qg_json_t *flag = qg_json_get(md, "watch");
        const char *fs = qg_json_str(flag);
        if (qg_json_truthy(flag) || (fs && !strcmp(fs, "live")))
            watch_start(t, doc, 0, now);
    }
    qg_json_destroy(doc);
}

/* A record of <prefix>.watches: ours (query/submodels/answer), qgctl's
 * ({goalId, goal: <answered goal>, expiresAtMs}) or a tombstone. */
void trg_watch_on_record(trg_t *t, const rd_kafka_message_t *rkm)
{
    char gid[512], errstr[256];
    double now = qg_now_ms();
    size_t kl = rkm->key_len < sizeof(gid) - 1 ? rkm->key_len : sizeof(gid) - 1;
    memcpy(gid, rkm->key ? rkm->key : "", rkm->key ? kl : 0);
    gid[rkm->key ? kl : 0] = '\0';
    trg_watch_t *w = watch_find(t, gid);
    if (!rkm->payload) {
        if (w) {
            qg_info(TRG_COMPONENT, "goal %s: no longer watched", gid);
            watch_remove(t, w);
        }
        return;
    }
    qg_json_t *r = qg_json_parse(rkm->payload, rkm->len, errstr, sizeof(errstr));
    const qg_json_t *goal = qg_json_get(r, "goal");
    double expires = qg_json_num(qg_json_get(r, "expiresAtMs"), 0);
    if (goal && qg_goal_id(goal) && !strcmp(qg_goal_id(goal), gid)) {
        if (expires <= 0 || expires > now)
            watch_start(t, goal, expires, now); /* qgctl watch --live */
    } else if (qg_json_get(r, "query") && expires > now) {
        if (!w && !(w = watch_add(t, gid, now))) {
            qg_json_destroy(r);
            return;
        }
        const char *run = qg_json_str(qg_json_get(r, "runId"));
        qg_json_destroy(w->query);
        qg_json_destroy(w->submodels);
        qg_json_destroy(w->answer);
        free(w->run_id);
        w->query = qg_json_take(r, "query");
        w->submodels = qg_json_take(r, "submodels");
        w->answer = qg_json_take(r, "answer");
        w->run_id = strdup(run ? run : "initial");
        w->expires_ms = expires;
        if (!w->submodels)
            w->submodels = qg_json_array();
    } else if (!r) {
        qg_warn(TRG_COMPONENT, "watch record %s: not JSON: %s", gid, errstr);
    }
    qg_json_destroy(r);
}

int trg_watch_stop(trg_t *t, const char *goal_id, const char *why)
{
    trg_watch_t *w = watch_find(t, goal_id);
    if (!w)
        return 0;
    qg_info(TRG_COMPONENT, "goal %s: no longer watched (%s)", goal_id, why);
    qg_error_t *err = trg_out_produce(t, t->topic_watches, goal_id, NULL, 0, NULL);
    if (err) {
        qg_err(TRG_COMPONENT, "goal %s: %s", goal_id, qg_error_message(err));
        qg_error_destroy(err);
        t->fatal = 1;
    }
    t->stats.unwatched++;
    watch_remove(t, w); /* goal_id may point into w: used above, not below */
    return 1;
}

static int reads(const trg_watch_t *w, const char *submodel)
{
    for (size_t i = 0; i < qg_json_len(w->submodels); i++) {
        const char *s = qg_json_str(qg_json_at(w->submodels, i));
        if (s && !strcmp(s, submodel))
            return 1;
    }
    return 0;
}

int trg_watch_touch(trg_t *t, const char *submodel, const char *change, const char *rule,
                    long long debounce_ms, double now_ms)
{
    int n = 0;
    for (size_t i = 0; i < t->n_watches; i++) {
        trg_watch_t *w = &t->watches[i];
        if (submodel && !reads(w, submodel))
            continue;
        if (!w->changes)
            w->changes = qg_json_array();
        if (qg_json_len(w->changes) < MAX_CHANGES)
            qg_json_append(w->changes, qg_json_string(change));
        w->due_ms = now_ms + (double)debounce_ms; /* trailing edge: the last change counts */
        if (w->due_ms <= 0)
            w->due_ms = 1;
        free(w->rule);
        w->rule = strdup(rule);
        n++;
    }
    return n;
}

static void rerun(trg_t *t, trg_watch_t *w, double now)
{
    static unsigned long seq;
    char run[128], topic[300];
    snprintf(run, sizeof(run), "run-%.0f-%lu", now, ++seq);
    qg_json_t *doc = qg_json_object(), *q = qg_json_clone(w->query);
    qg_json_t *md = qg_json_get_or_add_object(q, "metadata");
    int fail = !doc || !q || !md || qg_json_set_str(md, "runId", run) ||
               qg_json_set_str(md, "previousRunId", w->run_id) ||
               qg_json_set(md, "rerunBecause", qg_json_clone(w->changes)) ||
               qg_json_set(doc, "QueryGoal", q);
    q = NULL;
    const char *first = fail ? NULL : qg_goal_first_stage(doc);
    qg_error_t *err =
        fail || !first ? qg_error_new(QG_ERR_BAD_INPUT, "cannot build the re-run") : NULL;
    if (!err) {
        qg_topic_stage(topic, sizeof(topic), t->prefix, first);
        err = trg_out_produce_json(t, topic, w->goal_id, doc, NULL);
    }
    if (err) {
        qg_err(TRG_COMPONENT, "goal %s: re-run: %s", w->goal_id, qg_error_message(err));
        if (qg_error_class(err) == QG_ERR_FATAL)
            t->fatal = 1;
        qg_error_destroy(err);
    } else {
        t->stats.reruns++;
        qg_info(TRG_COMPONENT, "goal %s: re-run %s on %s", w->goal_id, run, topic);
        w->pending_run = strdup(run);
        w->pending_since_ms = now;
        qg_json_destroy(w->pending_changes);
        w->pending_changes = w->changes;
        w->changes = NULL;
    }
    w->due_ms = 0;
    qg_json_destroy(q);
    qg_json_destroy(doc);
}

void trg_watch_tick(trg_t *t, double now)
{
    double timeout = (double)qg_config_ms(t->cfg, "watch.rerun.timeout.ms");
    for (size_t i = 0; i < t->n_watches && !t->fatal;) {
        trg_watch_t *w = &t->watches[i];
        if (w->expires_ms > 0 && w->expires_ms <= now) {
            t->stats.watch_expired++;
            trg_watch_stop(t, w->goal_id, "watch.ttl.ms passed");
            t->stats.unwatched--;
            continue; /* the last watch moved into slot i */
        }
        if (w->pending_run && now - w->pending_since_ms > timeout) {
            qg_warn(TRG_COMPONENT,
                    "goal %s: re-run %s gave no answer in %.0f ms; next change re-runs it",
                    w->goal_id, w->pending_run, timeout);
            free(w->pending_run);
            w->pending_run = NULL;
        }
        if (w->due_ms > 0 && w->due_ms <= now && !w->pending_run)
            rerun(t, w, now);
        i++;
    }
}
