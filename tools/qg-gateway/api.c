/*
 * api.c - the handlers of /api/v1, /execute-goal-runtime, /healthz, /readyz
 * and /metrics. Goal state comes from the index (rebuilt from Kafka), so any
 * replica answers for any goal.
 */
#include <stdlib.h>
#include <string.h>

#include "goal.h"
#include "http.h"
#include "metrics.h"
#include "report/report.h"

#define LIST_MAX 500

qg_json_t *api_status_json(const goal_view_t *v)
{
    qg_json_t *o = qg_json_object();
    char when[64], link[512];
    if (!o)
        return NULL;
    qg_json_set_str(o, "goalId", v->id);
    qg_json_set_str(o, "status", goal_state_name(v->state));
    if (v->stage[0])
        qg_json_set_str(o, "stage", v->stage);
    if (v->goal_type[0])
        qg_json_set_str(o, "goalType", v->goal_type);
    qg_json_set_str(o, "updatedAt", qg_iso_time(when, sizeof(when), (double)v->kafka_ts));
    if (v->state == GOAL_FAILED) {
        qg_json_t *f = qg_json_object();
        qg_json_set_str(f, "class", v->dlq_class[0] ? v->dlq_class : "unknown");
        qg_json_set_str(f, "stage", v->stage[0] ? v->stage : "unknown");
        qg_json_set_str(f, "reason", v->reason ? v->reason : "");
        qg_json_set(o, "failure", f);
    }
    qg_json_t *links = qg_json_object();
    snprintf(link, sizeof(link), "/api/v1/goals/%s", v->id);
    qg_json_set_str(links, "self", link);
    snprintf(link, sizeof(link), "/api/v1/goals/%s/events", v->id);
    qg_json_set_str(links, "events", link);
    if (v->state == GOAL_COMPLETED || v->state == GOAL_FAILED) {
        snprintf(link, sizeof(link), "/api/v1/goals/%s/report", v->id);
        qg_json_set_str(links, "report", link);
    }
    qg_json_set(o, "links", links);
    return o;
}

/* The status object with the goal document spliced in as "goal" (raw, not re-parsed). */
static enum MHD_Result reply_status(req_t *rq, int status, const goal_view_t *v, const char *header,
                                    const char *value)
{
    qg_json_t *o = api_status_json(v);
    size_t len = 0;
    char *text = o ? qg_json_serialize(o, 0, &len) : NULL;
    qg_json_destroy(o);
    if (!text)
        return MHD_NO;
    enum MHD_Result r;
    if (v->state == GOAL_COMPLETED && v->value && len > 1) {
        size_t total = len - 1 + strlen(",\"goal\":") + v->len + 1;
        char *buf = malloc(total + 1);
        if (!buf) {
            free(text);
            return MHD_NO;
        }
        memcpy(buf, text, len - 1);
        size_t n = len - 1;
        memcpy(buf + n, ",\"goal\":", 8);
        n += 8;
        memcpy(buf + n, v->value, v->len);
        n += v->len;
        buf[n++] = '}';
        r = http_reply(rq, status, "application/json", buf, n, header, value);
        free(buf);
    } else {
        r = http_reply(rq, status, "application/json", text, len, header, value);
    }
    free(text);
    return r;
}

static enum MHD_Result unknown_goal(req_t *rq, const char *id)
{
    char detail[512];
    if (!goal_index_caught_up(rq->gw->index)) {
        snprintf(detail, sizeof(detail),
                 "goal %s is not known yet: the index is still reading Kafka", id);
        return http_problem(rq, 503, "Index not ready", detail, NULL);
    }
    snprintf(detail, sizeof(detail), "no goal %s in Kafka's retained records", id);
    return http_problem(rq, 404, "Unknown goal", detail, NULL);
}

enum MHD_Result api_submit(req_t *rq)
{
    submit_result_t r;
    const char *key = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Idempotency-Key");
    gateway_submit(rq->gw, rq->body, rq->len, key, 0, &r);
    enum MHD_Result res;
    if (r.http_status == 202 || r.http_status == 200) {
        goal_view_t v;
        char location[512];
        snprintf(location, sizeof(location), "/api/v1/goals/%s", r.goal_id);
        if (goal_index_get(rq->gw->index, r.goal_id, &v) != 0) {
            memset(&v, 0, sizeof(v));
            snprintf(v.id, sizeof(v.id), "%s", r.goal_id);
            v.state = GOAL_QUEUED;
        }
        res = reply_status(rq, r.http_status, &v, "Location", location);
        goal_view_clear(&v);
    } else {
        res = http_problem(rq, r.http_status, r.title, r.detail, r.path);
    }
    submit_result_clear(&r);
    return res;
}

static size_t list_limit(req_t *rq)
{
    const char *l = http_arg(rq, "limit");
    long n = l ? strtol(l, NULL, 10) : 50;
    return n < 1 ? 1 : n > LIST_MAX ? LIST_MAX : (size_t)n;
}

static enum MHD_Result reply_list(req_t *rq, int failed_only)
{
    size_t max = list_limit(rq);
    goal_view_t *views = calloc(max, sizeof(*views));
    qg_json_t *items = qg_json_array(), *o = qg_json_object();
    if (!views || !items || !o) {
        free(views);
        qg_json_destroy(items);
        qg_json_destroy(o);
        return MHD_NO;
    }
    size_t n = goal_index_recent(rq->gw->index, max, failed_only, views);
    for (size_t i = 0; i < n; i++) {
        qg_json_append(items, api_status_json(&views[i]));
        goal_view_clear(&views[i]);
    }
    free(views);
    qg_json_set(o, "items", items);
    enum MHD_Result r = http_json(rq, 200, o, NULL, NULL);
    qg_json_destroy(o);
    return r;
}

enum MHD_Result api_list_goals(req_t *rq)
{
    return reply_list(rq, 0);
}

enum MHD_Result api_dlq_list(req_t *rq)
{
    return reply_list(rq, 1);
}

enum MHD_Result api_goal_status(req_t *rq, const char *id)
{
    goal_view_t v;
    if (goal_index_get(rq->gw->index, id, &v) != 0)
        return unknown_goal(rq, id);
    enum MHD_Result r = reply_status(rq, 200, &v, NULL, NULL);
    goal_view_clear(&v);
    return r;
}

enum MHD_Result api_goal_report(req_t *rq, const char *id)
{
    goal_view_t v;
    if (goal_index_get(rq->gw->index, id, &v) != 0)
        return unknown_goal(rq, id);
    enum MHD_Result r;
    char errstr[256], detail[512];
    qg_json_t *doc = v.value ? qg_json_parse(v.value, v.len, errstr, sizeof(errstr)) : NULL;
    char *html = NULL;
    size_t len = 0;
    qg_error_t *err = doc ? qg_report_render_string(doc, &html, &len) : NULL;
    if (v.state != GOAL_COMPLETED && v.state != GOAL_FAILED) {
        snprintf(detail, sizeof(detail), "goal %s is %s: the report comes when it is done", id,
                 goal_state_name(v.state));
        r = http_problem(rq, 409, "Goal not done", detail, NULL);
    } else if (!doc || err) {
        snprintf(detail, sizeof(detail), "goal %s has no document to report on%s%s", id,
                 err ? ": " : "", err ? qg_error_message(err) : "");
        r = http_problem(rq, 409, "No report", detail, NULL);
    } else {
        r = http_reply(rq, 200, "text/html; charset=utf-8", html, len, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    }
    free(html);
    qg_error_destroy(err);
    qg_json_destroy(doc);
    goal_view_clear(&v);
    return r;
}

enum MHD_Result api_dlq_replay(req_t *rq, const char *id)
{
    goal_view_t v;
    if (goal_index_get(rq->gw->index, id, &v) != 0)
        return unknown_goal(rq, id);
    char detail[768], errstr[512];
    enum MHD_Result r;
    if (v.state != GOAL_FAILED || !v.value || !v.stage[0] || !strcmp(v.stage, "-")) {
        snprintf(detail, sizeof(detail), "goal %s is %s%s", id, goal_state_name(v.state),
                 v.state == GOAL_FAILED ? " but its dead letter has no value or stage to replay"
                                        : ", not dead-lettered");
        r = http_problem(rq, 409, "Nothing to replay", detail, NULL);
    } else if (gateway_produce(rq->gw, v.stage, id, v.value, v.len, errstr, sizeof(errstr)) != 0) {
        r = http_problem(rq, 503, "Kafka unavailable", errstr, NULL);
    } else {
        char location[512];
        /* The index learns the new state when it reads the record back; answer with it. */
        v.state = GOAL_RUNNING;
        v.kafka_ts = (int64_t)qg_now_ms();
        snprintf(location, sizeof(location), "/api/v1/goals/%s", id);
        r = reply_status(rq, 202, &v, "Location", location);
    }
    goal_view_clear(&v);
    return r;
}

/* 500 with the failed stage and reason, as the plan's endpoint answers a failed execution. */
static enum MHD_Result reply_failed(req_t *rq, const goal_view_t *v)
{
    char detail[2300];
    snprintf(detail, sizeof(detail), "stage %s failed (%s): %s", v->stage[0] ? v->stage : "?",
             v->dlq_class[0] ? v->dlq_class : "?", v->reason ? v->reason : "");
    qg_json_t *p = qg_json_object();
    qg_json_set_str(p, "type", "urn:querygoal:problem:goal-failed");
    qg_json_set_str(p, "title", "Goal execution failed");
    qg_json_set_num(p, "status", 500);
    qg_json_set_str(p, "detail", detail);
    qg_json_set_str(p, "instance", rq->path);
    qg_json_set_str(p, "goalId", v->id);
    qg_json_set_str(p, "failedStage", v->stage[0] ? v->stage : "unknown");
    qg_json_set_str(p, "class", v->dlq_class[0] ? v->dlq_class : "unknown");
    qg_json_set_str(p, "reason", v->reason ? v->reason : "");
    size_t len = 0;
    char *text = qg_json_serialize(p, 0, &len);
    qg_json_destroy(p);
    if (!text)
        return MHD_NO;
    enum MHD_Result r = http_reply(rq, 500, "application/problem+json", text, len, NULL, NULL);
    free(text);
    return r;
}

/* Bounded wait: ?timeout=MS, at most sync.timeout.ms (also the default). */
static double execute_deadline(req_t *rq)
{
    double max = (double)qg_config_ms(rq->gw->cfg, "sync.timeout.ms");
    const char *t = http_arg(rq, "timeout");
    double ms = t ? strtod(t, NULL) : max;
    if (!(ms > 0) || ms > max)
        ms = max;
    return qg_now_ms() + ms;
}

enum MHD_Result api_execute(req_t *rq)
{
    if (!gateway_kafka_reachable(rq->gw))
        return http_problem(rq, 503, "Kafka unavailable", "the gateway cannot reach Kafka", NULL);
    double deadline = execute_deadline(rq);
    submit_result_t r;
    const char *key = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Idempotency-Key");
    gateway_submit(rq->gw, rq->body, rq->len, key, 1, &r);
    if (r.http_status != 202 && r.http_status != 200) {
        enum MHD_Result res = http_problem(rq, r.http_status, r.title, r.detail, r.path);
        submit_result_clear(&r);
        return res;
    }
    goal_view_t v;
    enum MHD_Result res;
    if (goal_index_wait_final(rq->gw->index, r.goal_id, deadline, &rq->gw->stop, &v) != 0) {
        char detail[768];
        snprintf(detail, sizeof(detail),
                 "goal %s did not finish in time; it goes on: GET /api/v1/goals/%s", r.goal_id,
                 r.goal_id);
        res = http_problem(rq, 504, "Timeout", detail, NULL);
    } else if (v.state == GOAL_COMPLETED) {
        res = http_reply(rq, 200, "application/json", v.value ? v.value : "{}", v.value ? v.len : 2,
                         NULL, NULL);
        goal_view_clear(&v);
    } else {
        res = reply_failed(rq, &v);
        goal_view_clear(&v);
    }
    submit_result_clear(&r);
    return res;
}

enum MHD_Result api_healthz(req_t *rq)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return http_reply(rq, 200, "application/json", ok, sizeof(ok) - 1, NULL, NULL);
}

/* Ready: Kafka reachable, the index caught up, and each stage group has a member
 * (when the broker can tell: the embedded broker cannot list groups). */
enum MHD_Result api_readyz(req_t *rq)
{
    gateway_t *gw = rq->gw;
    int kafka = gateway_kafka_reachable(gw), caught_up = goal_index_caught_up(gw->index);
    int ready = kafka && caught_up;
    qg_json_t *o = qg_json_object(), *stages = qg_json_object();
    const char *list = qg_config_get(gw->cfg, "ready.stages");
    char *copy = strdup(list ? list : ""), *save = NULL;
    for (char *s = copy ? strtok_r(copy, ", ", &save) : NULL; s; s = strtok_r(NULL, ", ", &save)) {
        int members = gateway_stage_members(gw, s);
        qg_json_set_num(stages, s, members);
        if (members == 0)
            ready = 0;
    }
    free(copy);
    qg_json_set_str(o, "status", ready ? "ready" : "not ready");
    qg_json_set_bool(o, "kafka", kafka);
    qg_json_set_bool(o, "indexCaughtUp", caught_up);
    qg_json_set_num(o, "goalsIndexed", (double)goal_index_count(gw->index));
    qg_json_set(o, "stageMembers", stages);
    enum MHD_Result r = http_json(rq, ready ? 200 : 503, o, NULL, NULL);
    qg_json_destroy(o);
    return r;
}

enum MHD_Result api_metrics(req_t *rq)
{
    qg_metrics_gauge_set(qg_metrics_global(), "qg_gateway_goals_indexed",
                         "Goals held in this replica's index.", NULL,
                         (double)goal_index_count(rq->gw->index));
    size_t len = 0;
    char *text = qg_metrics_render(qg_metrics_global(), &len);
    if (!text)
        return MHD_NO;
    enum MHD_Result r =
        http_reply(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL, NULL);
    free(text);
    return r;
}
