/*
 * submit.c - from a request body to a record in the first stage's topic:
 * the natural-language path (lib/ask, as `qgctl ask`), the goal validator
 * (common/goal.c, as the first worker), idempotency on the goal id, and
 * producing with the broker's acknowledgement.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "goal.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"

#define GOAL_ID_MAX 200

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    rd_kafka_resp_err_t err;
} delivery_t;

void gateway_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivery_t *d = rkm->_private;
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->err = rkm->err;
    d->done = 1;
    pthread_cond_broadcast(&d->done_cond);
    pthread_mutex_unlock(&d->lock);
}

int gateway_produce(gateway_t *gw, const char *stage, const char *goal_id, const void *value,
                    size_t len, char *errstr, size_t sz)
{
    char topic[300];
    qg_topic_stage(topic, sizeof(topic), gw->prefix, stage);
    delivery_t d = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cond = PTHREAD_COND_INITIALIZER};
    rd_kafka_resp_err_t err = rd_kafka_producev(
        gw->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(goal_id, strlen(goal_id)),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (!err) {
        /* message.timeout.ms bounds the wait: every record gets its report. */
        pthread_mutex_lock(&d.lock);
        while (!d.done)
            pthread_cond_wait(&d.done_cond, &d.lock);
        err = d.err;
        pthread_mutex_unlock(&d.lock);
    }
    pthread_cond_destroy(&d.done_cond);
    pthread_mutex_destroy(&d.lock);
    if (err)
        snprintf(errstr, sz, "producing to %s: %s", topic, rd_kafka_err2str(err));
    return err ? -1 : 0;
}

int gateway_stage_members(gateway_t *gw, const char *stage)
{
    pthread_mutex_lock(&gw->groups_lock);
    if (!strcmp(gw->groups_stage, stage) && qg_now_ms() - gw->groups_checked_ms < 1000) {
        int n = gw->groups_members;
        pthread_mutex_unlock(&gw->groups_lock);
        return n;
    }
    pthread_mutex_unlock(&gw->groups_lock);
    char group[300];
    qg_group_for_stage(group, sizeof(group), gw->prefix, stage);
    const struct rd_kafka_group_list *list = NULL;
    int n = -1;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(gw->producer, group, &list, 3000);
    if (!err && list) {
        n = 0;
        for (int i = 0; i < list->group_cnt; i++)
            if (!strcmp(list->groups[i].group, group) && !list->groups[i].err)
                n += list->groups[i].member_cnt;
    } else {
        qg_debug("gateway", "group %s: %s", group, rd_kafka_err2str(err));
    }
    if (list)
        rd_kafka_group_list_destroy(list);
    pthread_mutex_lock(&gw->groups_lock);
    snprintf(gw->groups_stage, sizeof(gw->groups_stage), "%s", stage);
    gw->groups_members = n;
    gw->groups_checked_ms = qg_now_ms();
    pthread_mutex_unlock(&gw->groups_lock);
    return n;
}

int gateway_kafka_reachable(gateway_t *gw)
{
    pthread_mutex_lock(&gw->groups_lock);
    int ok = gw->kafka_ok, fresh = qg_now_ms() - gw->kafka_checked_ms < 1000;
    pthread_mutex_unlock(&gw->groups_lock);
    if (fresh)
        return ok;
    const struct rd_kafka_metadata *md = NULL;
    ok = rd_kafka_metadata(gw->producer, 0, NULL, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md)
        rd_kafka_metadata_destroy(md);
    pthread_mutex_lock(&gw->groups_lock);
    gw->kafka_ok = ok;
    gw->kafka_checked_ms = qg_now_ms();
    pthread_mutex_unlock(&gw->groups_lock);
    return ok;
}

/* ---------- validation ---------- */

void submit_result_clear(submit_result_t *r)
{
    qg_json_destroy(r->doc);
    memset(r, 0, sizeof(*r));
}

static void problem(submit_result_t *r, int status, const char *title, const char *path,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(submit_result_t *r, int status, const char *title, const char *path,
                    const char *fmt, ...)
{
    r->http_status = status;
    r->title = title;
    snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    qg_json_destroy(r->doc);
    r->doc = NULL;
}

/* A validator message "QueryGoal.x.y: what" -> path "QueryGoal.x.y". */
static void problem_from_error(submit_result_t *r, const qg_error_t *err)
{
    const char *msg = qg_error_message(err);
    const char *colon = strstr(msg, ": ");
    char path[256] = "";
    if (colon && (!strncmp(msg, "QueryGoal", 9) || msg[0] == '$') &&
        (size_t)(colon - msg) < sizeof(path)) {
        memcpy(path, msg, (size_t)(colon - msg));
        path[colon - msg] = '\0';
    }
    problem(r, 422, "Invalid goal", path, "%s", msg);
}

static int goal_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > GOAL_ID_MAX)
        return 0;
    for (const char *c = id; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("._:~-", *c))
            return 0;
    return 1;
}

/* {"text": "...", "language"?: "en"|"ko"} -> a goal document, as `qgctl ask`. */
static qg_json_t *goal_from_text(gateway_t *gw, const qg_json_t *body, submit_result_t *r)
{
    const qg_json_t *text = qg_json_get(body, "text");
    const qg_json_t *lang = qg_json_get(body, "language");
    if (!qg_json_is(text, QG_JSON_STRING)) {
        problem(r, 422, "Invalid request", "$.text", "$.text: expected a string");
        return NULL;
    }
    if (qg_json_strlen(text) == 0 || qg_json_strlen(text) > QG_ASK_MAX_TEXT) {
        problem(r, 422, "Invalid request", "$.text", "$.text: must hold 1 to %d bytes",
                QG_ASK_MAX_TEXT);
        return NULL;
    }
    if (lang && (!qg_json_is(lang, QG_JSON_STRING) ||
                 (strcmp(qg_json_str(lang), "en") && strcmp(qg_json_str(lang), "ko")))) {
        problem(r, 422, "Invalid request", "$.language", "$.language: expected \"en\" or \"ko\"");
        return NULL;
    }
    if (!gw->ask) {
        problem(r, 501, "Not available", "$.text", "natural-language goals are off: no patterns");
        return NULL;
    }
    qg_json_t *doc = NULL;
    qg_error_t *err = qg_ask_build(gw->ask, qg_json_str(text), &doc);
    if (err) {
        problem(r, 422, "Request not understood", "$.text", "%s", qg_error_message(err));
        qg_error_destroy(err);
        return NULL;
    }
    return doc;
}

/* The Idempotency-Key names the goal: set it, or refuse a goal that names another id. */
static int apply_idempotency_key(qg_json_t *doc, const char *key, submit_result_t *r)
{
    if (!key)
        return 0;
    if (!goal_id_ok(key)) {
        problem(r, 400, "Invalid Idempotency-Key", "",
                "Idempotency-Key: 1 to %d characters of A-Z a-z 0-9 . _ : ~ -", GOAL_ID_MAX);
        return -1;
    }
    qg_json_t *q = qg_goal_query(doc);
    const char *id = qg_json_str(qg_json_get(q, "goalId"));
    if (id && strcmp(id, key)) {
        problem(r, 422, "Idempotency-Key does not match", "QueryGoal.goalId",
                "QueryGoal.goalId \"%.200s\" differs from the Idempotency-Key", id);
        return -1;
    }
    if (!id && qg_json_is(q, QG_JSON_OBJECT) && qg_json_set_str(q, "goalId", key) != 0) {
        problem(r, 500, "Out of memory", "", "out of memory");
        return -1;
    }
    return 0;
}

/* Body -> validated document in r->doc, or a problem in r. */
static void validate_body(gateway_t *gw, const char *body, size_t len, const char *key,
                          submit_result_t *r)
{
    char errstr[256];
    qg_json_t *parsed = qg_json_parse(body, len, errstr, sizeof(errstr));
    if (!parsed) {
        problem(r, 400, "Body is not JSON", "$", "not JSON: %s", errstr);
        return;
    }
    if (!qg_json_is(parsed, QG_JSON_OBJECT)) {
        problem(r, 422, "Invalid goal", "$", "$: expected a JSON object");
        qg_json_destroy(parsed);
        return;
    }
    if (qg_json_get(parsed, "text") && !qg_json_get(parsed, "QueryGoal")) {
        r->doc = goal_from_text(gw, parsed, r);
        qg_json_destroy(parsed);
    } else {
        r->doc = parsed;
    }
    if (!r->doc || apply_idempotency_key(r->doc, key, r) != 0)
        return;
    qg_error_t *err = qg_goal_validate(r->doc, gw->extra_stages);
    if (err) {
        problem_from_error(r, err);
        qg_error_destroy(err);
        return;
    }
    if (!goal_id_ok(qg_goal_id(r->doc))) {
        problem(r, 422, "Invalid goal", "QueryGoal.goalId",
                "QueryGoal.goalId: 1 to %d characters of A-Z a-z 0-9 . _ : ~ -", GOAL_ID_MAX);
        return;
    }
}

static void count_submitted(const char *goal_type)
{
    char labels[QG_METRICS_MAX_LABELS];
    qg_metrics_counter_add(qg_metrics_global(), "qg_goals_submitted_total",
                           "Goals this gateway produced to their first stage, by goal type.",
                           qg_metrics_labels(labels, sizeof(labels), "goal_type", goal_type, NULL),
                           1);
}

void gateway_submit(gateway_t *gw, const char *body, size_t len, const char *idempotency_key,
                    int require_workers, submit_result_t *r)
{
    memset(r, 0, sizeof(*r));
    validate_body(gw, body, len, idempotency_key, r);
    if (!r->doc)
        return;
    const char *id = qg_goal_id(r->doc), *stage = qg_goal_first_stage(r->doc);
    snprintf(r->goal_id, sizeof(r->goal_id), "%s", id);
    if (require_workers && gateway_stage_members(gw, stage) == 0) {
        problem(r, 503, "No worker", "QueryGoal.metadata.pipelineStages[0]",
                "no worker of stage %s is in its consumer group", stage);
        return;
    }
    if (goal_index_claim(gw->index, id, stage, qg_goal_type(r->doc), 1)) {
        r->http_status = 200; /* known: not produced again */
        return;
    }
    size_t vlen = 0;
    char *value = qg_json_serialize(r->doc, 0, &vlen);
    char errstr[512] = "out of memory";
    if (!value || gateway_produce(gw, stage, id, value, vlen, errstr, sizeof(errstr)) != 0) {
        goal_index_unclaim(gw->index, id);
        problem(r, 503, "Kafka unavailable", "", "%s", errstr);
        qg_warn("gateway", "goal %s not submitted: %s", r->goal_id, errstr);
    } else {
        r->http_status = 202;
        count_submitted(qg_goal_type(r->doc));
    }
    free(value);
}
