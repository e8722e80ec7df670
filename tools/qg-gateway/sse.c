/*
 * sse.c - GET /api/v1/goals/{id}/events: Server-Sent Events.
 *
 *   event: status    the goal's state when the stream opens (if known)
 *   event: progress  each progress event of the goal from qg-events
 *                    (stage started/completed, simulation generations, ...)
 *   event: status    the final state (completed or failed), then the stream ends
 *
 * A comment line keeps the connection alive every 10 s. The stream also ends
 * after sse.max.ms with the state at that time. Each connection runs on its
 * own thread (libmicrohttpd thread per connection), so the reader blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "goal.h"
#include "http.h"

#define KEEPALIVE_MS 10000
#define POLL_MS      250

typedef struct {
    gateway_t *gw;
    char id[256];
    qg_events_sub_t *sub;
    double deadline_ms, last_write_ms;
    int sent_initial, finished;
    char *chunk; /* formatted, not yet sent */
    size_t len, off;
} sse_t;

/* "event: NAME\ndata: JSON\n\n" as the pending chunk. 0 or -1. */
static int set_event(sse_t *s, const char *name, const qg_json_t *data)
{
    size_t n = 0;
    char *json = qg_json_serialize(data, 0, &n);
    if (!json)
        return -1;
    free(s->chunk);
    s->chunk = malloc(n + strlen(name) + 32);
    if (!s->chunk) {
        free(json);
        return -1;
    }
    s->len = (size_t)sprintf(s->chunk, "event: %s\ndata: %s\n\n", name, json);
    s->off = 0;
    free(json);
    return 0;
}

/* A comment line (ignored by clients): the stream is alive. */
static int set_comment(sse_t *s, const char *text)
{
    free(s->chunk);
    s->chunk = malloc(strlen(text) + 5);
    if (!s->chunk)
        return -1;
    s->len = (size_t)sprintf(s->chunk, ": %s\n\n", text);
    s->off = 0;
    return 0;
}

static int set_status(sse_t *s, const goal_view_t *v)
{
    qg_json_t *o = api_status_json(v);
    int rc = o ? set_event(s, "status", o) : -1;
    qg_json_destroy(o);
    return rc;
}

/* The next chunk: progress, the final status, or a keep-alive. 0, or -1 to end. */
static int next_chunk(sse_t *s)
{
    goal_view_t v;
    if (!s->sent_initial) {
        s->sent_initial = 1;
        if (goal_index_get(s->gw->index, s->id, &v) == 0) {
            int terminal = v.state == GOAL_COMPLETED || v.state == GOAL_FAILED;
            int rc = set_status(s, &v);
            goal_view_clear(&v);
            s->finished = terminal;
            return rc;
        }
        /* Unknown yet (it may be submitted after the stream opens): say the stream is open. */
        return set_comment(s, "waiting for the goal");
    }
    while (!s->gw->stop) {
        qg_json_t *ev = s->sub ? qg_events_sub_recv(s->sub, POLL_MS) : NULL;
        const char *ev_goal = qg_json_str(qg_json_get(ev, "goalId"));
        if (ev && ev_goal && !strcmp(ev_goal, s->id)) { /* the subscription is a prefix */
            int rc = set_event(s, "progress", ev);
            qg_json_destroy(ev);
            return rc;
        }
        qg_json_destroy(ev);
        /* No event source: wait on the index instead. */
        if (!s->sub && goal_index_wait_final(s->gw->index, s->id, qg_now_ms() + POLL_MS,
                                             &s->gw->stop, &v) == 0)
            goal_view_clear(&v);
        double now = qg_now_ms();
        int found = goal_index_get(s->gw->index, s->id, &v) == 0;
        if (found &&
            (v.state == GOAL_COMPLETED || v.state == GOAL_FAILED || now >= s->deadline_ms)) {
            int rc = set_status(s, &v);
            goal_view_clear(&v);
            s->finished = 1;
            return rc;
        }
        if (found)
            goal_view_clear(&v);
        if (now >= s->deadline_ms)
            return -1;
        if (now - s->last_write_ms >= KEEPALIVE_MS)
            return set_comment(s, "keep-alive");
    }
    return -1;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_t *s = cls;
    if (s->off >= s->len) {
        if (s->finished || next_chunk(s) != 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->chunk + s->off, n);
    s->off += n;
    s->last_write_ms = qg_now_ms();
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    sse_t *s = cls;
    qg_events_sub_destroy(s->sub);
    free(s->chunk);
    free(s);
}

enum MHD_Result api_goal_events(req_t *rq, const char *id)
{
    sse_t *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->gw = rq->gw;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->deadline_ms = qg_now_ms() + (double)qg_config_ms(rq->gw->cfg, "sse.max.ms");
    s->last_write_ms = qg_now_ms();
    const char *watch = qg_config_get(rq->gw->cfg, "events.watch");
    char errstr[256];
    if (watch && *watch)
        s->sub = qg_events_sub_new(watch, id, errstr, sizeof(errstr));
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    if (!resp) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return http_queue(rq, 200, resp);
}
