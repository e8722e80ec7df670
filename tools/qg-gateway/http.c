/*
 * http.c - the libmicrohttpd daemon: one thread per connection (bounded by
 * http.max.connections) so that the synchronous endpoint and event streams
 * may block; request bodies bounded by http.max.body.bytes; idle
 * connections closed after http.timeout.ms; optional TLS and bearer token;
 * CORS only for the configured origin; every error an RFC 9457 document.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "goal.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#define API_PREFIX "/api/v1"
#define STATIC_MAX (4 * 1024 * 1024)

struct gateway_http_s {
    gateway_t *gw;
    struct MHD_Daemon *daemon;
    char *tls_cert, *tls_key;
    size_t max_body;
    const char *cors_origin;
    int port;
};

/* Per-connection request state while the body arrives. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_large;
    double started_ms;
} upload_t;

/* ---------- replies ---------- */

enum MHD_Result http_queue(req_t *rq, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    gateway_http_t *h = rq->gw->http;
    if (h->cors_origin && *h->cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", h->cors_origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    if (!MHD_get_response_header(resp, "Cache-Control"))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    rq->status = status;
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result http_reply(req_t *rq, int status, const char *type, const char *body, size_t len,
                           const char *header, const char *value)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    if (header && value)
        MHD_add_response_header(resp, header, value);
    return http_queue(rq, status, resp);
}

enum MHD_Result http_json(req_t *rq, int status, const qg_json_t *v, const char *header,
                          const char *value)
{
    size_t len = 0;
    char *text = qg_json_serialize(v, 0, &len);
    if (!text)
        return MHD_NO;
    enum MHD_Result r = http_reply(rq, status, "application/json", text, len, header, value);
    free(text);
    return r;
}

static const char *problem_slug(int status)
{
    switch (status) {
    case 400:
        return "bad-request";
    case 401:
        return "unauthorized";
    case 404:
        return "not-found";
    case 405:
        return "method-not-allowed";
    case 409:
        return "conflict";
    case 413:
        return "body-too-large";
    case 422:
        return "invalid-goal";
    case 500:
        return "goal-failed";
    case 501:
        return "not-available";
    case 503:
        return "unavailable";
    case 504:
        return "timeout";
    default:
        return "error";
    }
}

enum MHD_Result http_problem(req_t *rq, int status, const char *title, const char *detail,
                             const char *path)
{
    char type[128];
    snprintf(type, sizeof(type), "urn:querygoal:problem:%s", problem_slug(status));
    qg_json_t *p = qg_json_object();
    if (!p || qg_json_set_str(p, "type", type) || qg_json_set_str(p, "title", title) ||
        qg_json_set_num(p, "status", status) || qg_json_set_str(p, "detail", detail) ||
        qg_json_set_str(p, "instance", rq->path) ||
        (path && *path && qg_json_set_str(p, "path", path))) {
        qg_json_destroy(p);
        return MHD_NO;
    }
    size_t len = 0;
    char *text = qg_json_serialize(p, 0, &len);
    qg_json_destroy(p);
    if (!text)
        return MHD_NO;
    enum MHD_Result r = http_reply(rq, status, "application/problem+json", text, len,
                                   status == 401 ? "WWW-Authenticate" : NULL, "Bearer");
    free(text);
    return r;
}

const char *http_arg(req_t *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---------- static files of the console ---------- */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    if (!strcmp(dot, ".json"))
        return "application/json";
    return "application/octet-stream";
}

static enum MHD_Result serve_static(req_t *rq, const char *rel)
{
    if (!*rel)
        rel = "index.html";
    for (const char *c = rel; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_') ||
            (c[0] == '.' && c[1] == '.'))
            return http_problem(rq, 404, "Not found", "no such file", NULL);
    char path[4400], errstr[256];
    snprintf(path, sizeof(path), "%s/%s", rq->gw->console_dir, rel);
    size_t len = 0;
    char *data = qg_file_read(path, STATIC_MAX, &len, NULL, errstr, sizeof(errstr));
    if (!data)
        return http_problem(rq, 404, "Not found", "no such file", NULL);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", mime_of(rel));
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                            "img-src 'self' data:; frame-src 'self'");
    return http_queue(rq, 200, resp);
}

/* ---------- routing ---------- */

/* Constant-time comparison of the bearer token. */
static int token_ok(gateway_t *gw, struct MHD_Connection *conn)
{
    if (!gw->token)
        return 1;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7))
        return 0;
    const char *given = auth + 7;
    size_t n = strlen(gw->token), m = strlen(given);
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)gw->token[i] ^ (unsigned char)(i < m ? given[i] : 0);
    return diff == 0;
}

static int method_is(const req_t *rq, const char *m)
{
    return !strcmp(rq->method, m);
}

/* "/api/v1/goals/ID/suffix" -> ID in id (suffix in *suffix, "" when none). 0 or -1. */
static int split_goal_path(const char *rest, char *id, size_t sz, const char **suffix)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sz)
        return -1;
    memcpy(id, rest, n);
    id[n] = '\0';
    *suffix = slash ? slash : "";
    return 0;
}

static enum MHD_Result not_allowed(req_t *rq, const char *allow)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "%s is not allowed here; allowed: %s", rq->method, allow);
    return http_problem(rq, 405, "Method not allowed", detail, NULL);
}

static enum MHD_Result route_goal(req_t *rq, const char *rest)
{
    char id[256];
    const char *suffix;
    if (split_goal_path(rest, id, sizeof(id), &suffix) != 0)
        return http_problem(rq, 404, "Not found", "no such resource", NULL);
    if (!method_is(rq, "GET"))
        return not_allowed(rq, "GET");
    if (!*suffix) {
        rq->route = "/api/v1/goals/{id}";
        return api_goal_status(rq, id);
    }
    if (!strcmp(suffix, "/events")) {
        rq->route = "/api/v1/goals/{id}/events";
        return api_goal_events(rq, id);
    }
    if (!strcmp(suffix, "/report")) {
        rq->route = "/api/v1/goals/{id}/report";
        return api_goal_report(rq, id);
    }
    return http_problem(rq, 404, "Not found", "no such resource", NULL);
}

static enum MHD_Result route_api(req_t *rq)
{
    const char *p = rq->path + strlen(API_PREFIX);
    if (!strcmp(p, "/goals")) {
        rq->route = "/api/v1/goals";
        return method_is(rq, "POST")  ? api_submit(rq)
               : method_is(rq, "GET") ? api_list_goals(rq)
                                      : not_allowed(rq, "GET, POST");
    }
    if (!strncmp(p, "/goals/", 7))
        return route_goal(rq, p + 7);
    if (!strcmp(p, "/dlq")) {
        rq->route = "/api/v1/dlq";
        return method_is(rq, "GET") ? api_dlq_list(rq) : not_allowed(rq, "GET");
    }
    if (!strncmp(p, "/dlq/", 5)) {
        char id[256];
        const char *suffix;
        rq->route = "/api/v1/dlq/{id}/replay";
        if (split_goal_path(p + 5, id, sizeof(id), &suffix) != 0 || strcmp(suffix, "/replay"))
            return http_problem(rq, 404, "Not found", "no such resource", NULL);
        return method_is(rq, "POST") ? api_dlq_replay(rq, id) : not_allowed(rq, "POST");
    }
    return http_problem(rq, 404, "Not found", "no such resource", NULL);
}

static enum MHD_Result route(req_t *rq)
{
    const char *p = rq->path;
    if (!strcmp(p, "/healthz"))
        return rq->route = "/healthz", api_healthz(rq);
    if (!strcmp(p, "/readyz"))
        return rq->route = "/readyz", api_readyz(rq);
    if (!strcmp(p, "/metrics"))
        return rq->route = "/metrics", api_metrics(rq);
    if (!strcmp(p, "/"))
        return rq->route = "/", http_reply(rq, 302, "text/plain", "", 0, "Location", "/console/");
    if (!strncmp(p, "/console/", 9)) {
        rq->route = "/console/";
        return method_is(rq, "GET") || method_is(rq, "HEAD") ? serve_static(rq, p + 9)
                                                             : not_allowed(rq, "GET");
    }
    int api = !strncmp(p, API_PREFIX "/", strlen(API_PREFIX) + 1);
    int execute = !strcmp(p, "/execute-goal-runtime");
    if (!api && !execute)
        return rq->route = "other", http_problem(rq, 404, "Not found", "no such resource", NULL);
    if (!token_ok(rq->gw, rq->conn))
        return rq->route = "unauthorized",
               http_problem(rq, 401, "Unauthorized", "a valid bearer token is required", NULL);
    if (execute) {
        rq->route = "/execute-goal-runtime";
        return method_is(rq, "POST") ? api_execute(rq) : not_allowed(rq, "POST");
    }
    return route_api(rq);
}

static enum MHD_Result cors_preflight(req_t *rq)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, Idempotency-Key");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    rq->route = "preflight";
    return http_queue(rq, 204, resp);
}

static void count_request(const req_t *rq, double started_ms)
{
    char labels[QG_METRICS_MAX_LABELS], code[8];
    snprintf(code, sizeof(code), "%d", rq->status);
    qg_metrics_t *m = qg_metrics_global();
    qg_metrics_counter_add(
        m, "qg_http_requests_total", "HTTP requests, by route and status.",
        qg_metrics_labels(labels, sizeof(labels), "route", rq->route, "code", code, NULL), 1);
    qg_metrics_observe(m, "qg_http_request_duration_seconds",
                       "Time from the request's first byte to the queued response, by route.",
                       qg_metrics_labels(labels, sizeof(labels), "route", rq->route, NULL),
                       (qg_now_ms() - started_ms) / 1000.0);
}

/* Append upload data to the request body, within the limit. */
static void upload_append(upload_t *u, const char *data, size_t n, size_t max)
{
    if (u->too_large || u->len + n > max) {
        u->too_large = 1;
        return;
    }
    if (u->len + n + 1 > u->cap) {
        size_t cap = (u->len + n + 1) * 2 < max + 1 ? (u->len + n + 1) * 2 : max + 1;
        char *nb = realloc(u->body, cap);
        if (!nb) {
            u->too_large = 1;
            return;
        }
        u->body = nb;
        u->cap = cap;
    }
    memcpy(u->body + u->len, data, n);
    u->len += n;
    u->body[u->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    gateway_http_t *h = cls;
    upload_t *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u)
            return MHD_NO;
        u->started_ms = qg_now_ms();
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > h->max_body)
            u->too_large = 1;
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_data_size) {
        upload_append(u, upload_data, *upload_data_size, h->max_body);
        *upload_data_size = 0;
        return MHD_YES;
    }
    req_t rq = {.gw = h->gw,
                .conn = conn,
                .method = method,
                .path = url,
                .body = u->body ? u->body : "",
                .len = u->len,
                .route = "other"};
    enum MHD_Result r;
    if (u->too_large) {
        char detail[128];
        snprintf(detail, sizeof(detail), "the body is larger than %zu bytes", h->max_body);
        r = http_problem(&rq, 413, "Body too large", detail, "$");
    } else if (!strcmp(method, "OPTIONS") && h->cors_origin && *h->cors_origin) {
        r = cors_preflight(&rq);
    } else {
        r = route(&rq);
    }
    count_request(&rq, u->started_ms);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload_t *u = *con_cls;
    if (u) {
        free(u->body);
        free(u);
    }
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    qg_debug("http", "%s", msg);
}

/* http.listen "host:port" -> socket address. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss, char *errstr, size_t sz)
{
    char host[256] = "0.0.0.0", port[32];
    const char *colon = strrchr(listen, ':');
    if (colon) {
        size_t n = (size_t)(colon - listen);
        if (listen[0] == '[' && n >= 2)
            snprintf(host, sizeof(host), "%.*s", (int)(n - 2), listen + 1);
        else if (n > 0)
            snprintf(host, sizeof(host), "%.*s", (int)n, listen);
        snprintf(port, sizeof(port), "%s", colon + 1);
    } else {
        snprintf(port, sizeof(port), "%s", listen);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc) {
        snprintf(errstr, sz, "http.listen %s: %s", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    return 0;
}

static int load_tls(gateway_http_t *h, const qg_config_t *cfg, char *errstr, size_t sz)
{
    const char *cert = qg_config_get(cfg, "http.tls.cert.file");
    const char *key = qg_config_get(cfg, "http.tls.key.file");
    if (!cert || !*cert)
        return 0;
    size_t n;
    h->tls_cert = qg_file_read(cert, 1 << 20, &n, NULL, errstr, sz);
    if (!h->tls_cert)
        return -1;
    h->tls_key = qg_file_read(key && *key ? key : cert, 1 << 20, &n, NULL, errstr, sz);
    return h->tls_key ? 0 : -1;
}

gateway_http_t *gateway_http_start(gateway_t *gw, char *errstr, size_t sz)
{
    gateway_http_t *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(errstr, sz, "out of memory");
        return NULL;
    }
    const qg_config_t *cfg = gw->cfg;
    h->gw = gw;
    gw->http = h;
    h->max_body = (size_t)qg_config_int(cfg, "http.max.body.bytes");
    h->cors_origin = qg_config_get(cfg, "http.cors.origin");
    struct sockaddr_storage ss;
    if (listen_addr(qg_config_get(cfg, "http.listen"), &ss, errstr, sz) != 0 ||
        load_tls(h, cfg, errstr, sz) != 0) {
        gateway_http_stop(h);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls_cert)
        flags |= MHD_USE_TLS;
    unsigned timeout_s = (unsigned)((qg_config_ms(cfg, "http.timeout.ms") + 999) / 1000);
    struct MHD_OptionItem tls_opts[] = {
        {h->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)qg_config_int(cfg, "http.max.connections"),
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(errstr, sz, "cannot listen on %s (address in use, or bad TLS files)",
                 qg_config_get(cfg, "http.listen"));
        gateway_http_stop(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : -1;
    return h;
}

int gateway_http_port(const gateway_http_t *h)
{
    return h ? h->port : -1;
}

void gateway_http_stop(gateway_http_t *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    free(h->tls_cert);
    free(h->tls_key);
    if (h->gw)
        h->gw->http = NULL;
    free(h);
}
