/*
 * http.h - what the handlers (api.c, sse.c) share with the HTTP layer (http.c).
 */
#ifndef QG_GATEWAY_HTTP_H
#define QG_GATEWAY_HTTP_H

#include <microhttpd.h>

#include "gateway.h"

/** One request, complete (body read) when a handler sees it. */
typedef struct {
    gateway_t *gw;
    struct MHD_Connection *conn;
    const char *method;
    const char *path; /* without the query string */
    const char *body; /* NUL-terminated, may be empty */
    size_t len;
    const char *route; /* route template, the metrics label */
    int status;        /* set by the reply helpers */
} req_t;

/** Reply with a body (copied). `header`/`value` add one header (may be NULL). */
enum MHD_Result http_reply(req_t *rq, int status, const char *type, const char *body, size_t len,
                           const char *header, const char *value);
/** Reply with a JSON value (serialized). */
enum MHD_Result http_json(req_t *rq, int status, const qg_json_t *v, const char *header,
                          const char *value);
/** RFC 9457 problem document; `path` (JSON path of the problem) may be NULL or "". */
enum MHD_Result http_problem(req_t *rq, int status, const char *title, const char *detail,
                             const char *path);
/** Add the common headers (CORS, no caching) to a response made elsewhere, and queue it. */
enum MHD_Result http_queue(req_t *rq, int status, struct MHD_Response *resp);
/** A query-string argument, or NULL. */
const char *http_arg(req_t *rq, const char *name);

/* Handlers (api.c). Each replies exactly once. */
enum MHD_Result api_submit(req_t *rq);
enum MHD_Result api_list_goals(req_t *rq);
enum MHD_Result api_goal_status(req_t *rq, const char *id);
enum MHD_Result api_goal_report(req_t *rq, const char *id);
enum MHD_Result api_dlq_list(req_t *rq);
enum MHD_Result api_dlq_replay(req_t *rq, const char *id);
enum MHD_Result api_execute(req_t *rq);
enum MHD_Result api_healthz(req_t *rq);
enum MHD_Result api_readyz(req_t *rq);
enum MHD_Result api_metrics(req_t *rq);
/* sse.c */
enum MHD_Result api_goal_events(req_t *rq, const char *id);

/** Status object of a goal view (no document): {goalId, status, stage, ...}. */
qg_json_t *api_status_json(const goal_view_t *v);

#endif
