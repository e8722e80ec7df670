/*
 * events.c - ZeroMQ PUB/SUB for progress events.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "goal.h"

#define QG_EVENTS_SOCKET_HWM 1000

struct qg_events_s {
    void *zctx;
    void *pub;
    pthread_mutex_t lock; /* stage threads and the loop share the socket */
    char worker[128];
};

struct qg_events_sub_s {
    void *zctx;
    void *sub;
};

static void *socket_new(void *zctx, int type, char *errstr, size_t sz)
{
    void *s = zmq_socket(zctx, type);
    if (!s) {
        snprintf(errstr, sz, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    /* A worker's PUB socket queues at most this many events per subscriber before
     * dropping: progress is ephemeral and must never block a stage. */
    int linger = 0, hwm = QG_EVENTS_SOCKET_HWM;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, type == ZMQ_PUB ? ZMQ_SNDHWM : ZMQ_RCVHWM, &hwm, sizeof(hwm));
    return s;
}

qg_events_t *qg_events_new(const char *connect, const char *bind, char *errstr, size_t sz)
{
    int has_connect = connect && *connect, has_bind = bind && *bind;
    if (!has_connect && !has_bind)
        return NULL;
    qg_events_t *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&ev->lock, NULL);
    ev->zctx = zmq_ctx_new();
    ev->pub = ev->zctx ? socket_new(ev->zctx, ZMQ_PUB, errstr, sz) : NULL;
    int rc = ev->pub ? 0 : -1;
    if (!rc && has_connect && zmq_connect(ev->pub, connect) != 0) {
        snprintf(errstr, sz, "events: connect %s: %s", connect, zmq_strerror(zmq_errno()));
        rc = -1;
    }
    if (!rc && has_bind && zmq_bind(ev->pub, bind) != 0) {
        snprintf(errstr, sz, "events: bind %s: %s", bind, zmq_strerror(zmq_errno()));
        rc = -1;
    }
    if (rc) {
        qg_events_destroy(ev);
        return NULL;
    }
    return ev;
}

void qg_events_destroy(qg_events_t *ev)
{
    if (!ev)
        return;
    if (ev->pub)
        zmq_close(ev->pub);
    if (ev->zctx)
        zmq_ctx_term(ev->zctx);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

void qg_events_set_worker(qg_events_t *ev, const char *worker_id)
{
    if (ev)
        snprintf(ev->worker, sizeof(ev->worker), "%s", worker_id ? worker_id : "");
}

void qg_events_publish(qg_events_t *ev, const char *goal_id, const char *stage, const char *state,
                       qg_json_t *extra)
{
    if (!ev) {
        qg_json_destroy(extra);
        return;
    }
    qg_json_t *e = qg_json_object();
    char ts[40];
    qg_json_set_str(e, "goalId", goal_id ? goal_id : "");
    qg_json_set_str(e, "stage", stage ? stage : "");
    qg_json_set_str(e, "state", state ? state : "");
    qg_json_set_str(e, "ts", qg_iso_time(ts, sizeof(ts), qg_now_ms()));
    if (ev->worker[0])
        qg_json_set_str(e, "worker", ev->worker);
    for (size_t i = 0; i < qg_json_len(extra); i++)
        qg_json_set(e, qg_json_key_at(extra, i), qg_json_clone(qg_json_at(extra, i)));
    qg_json_destroy(extra);
    size_t len;
    char *text = qg_json_serialize(e, 0, &len);
    qg_json_destroy(e);
    if (!text)
        return;
    const char *key = goal_id ? goal_id : "";
    pthread_mutex_lock(&ev->lock);
    if (zmq_send(ev->pub, key, strlen(key), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(ev->pub, text, len, ZMQ_DONTWAIT);
    pthread_mutex_unlock(&ev->lock);
    free(text);
}

void qg_events_stage(qg_events_t *ev, const char *goal_id, const char *stage, const char *state,
                     const char *message)
{
    if (!ev)
        return;
    qg_json_t *extra = NULL;
    if (message) {
        extra = qg_json_object();
        qg_json_set_str(extra, "message", message);
    }
    qg_events_publish(ev, goal_id, stage, state, extra);
}

qg_events_sub_t *qg_events_sub_new(const char *connect, const char *goal_prefix, char *errstr,
                                   size_t sz)
{
    qg_events_sub_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    s->zctx = zmq_ctx_new();
    s->sub = s->zctx ? socket_new(s->zctx, ZMQ_SUB, errstr, sz) : NULL;
    const char *prefix = goal_prefix ? goal_prefix : "";
    if (!s->sub || zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) != 0 ||
        zmq_connect(s->sub, connect) != 0) {
        if (s->sub)
            snprintf(errstr, sz, "events: connect %s: %s", connect, zmq_strerror(zmq_errno()));
        qg_events_sub_destroy(s);
        return NULL;
    }
    return s;
}

qg_json_t *qg_events_sub_recv(qg_events_sub_t *sub, int timeout_ms)
{
    zmq_pollitem_t item = {sub->sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t key, body;
    zmq_msg_init(&key);
    zmq_msg_init(&body);
    qg_json_t *event = NULL;
    if (zmq_msg_recv(&key, sub->sub, 0) >= 0 && zmq_msg_more(&key) &&
        zmq_msg_recv(&body, sub->sub, 0) >= 0) {
        char err[128];
        event = qg_json_parse(zmq_msg_data(&body), zmq_msg_size(&body), err, sizeof(err));
    }
    zmq_msg_close(&key);
    zmq_msg_close(&body);
    return event;
}

void qg_events_sub_destroy(qg_events_sub_t *sub)
{
    if (!sub)
        return;
    if (sub->sub)
        zmq_close(sub->sub);
    if (sub->zctx)
        zmq_ctx_term(sub->zctx);
    free(sub);
}
