/*
 * aas.c - AAS Part 2 HTTP/REST client: paths, requests over a curl multi
 * handle with a bound on transfers in flight, paging and error classes.
 */
#include "array.h"
#include "text.h"
#include "aas.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define QG_AAS_MAX_PAGES 100000
#define QG_AAS_MSG_MAX   400
/* Defaults for library callers that leave a field 0; the worker's come from its
 * option table (aas.timeout.ms, aas.connect.timeout.ms, aas.max.concurrency). */
#define QG_AAS_DEFAULT_TIMEOUT_MS         30000
#define QG_AAS_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define QG_AAS_DEFAULT_CONCURRENCY        8
/* Longest sleep in curl_multi_poll between two looks at the cancel flag: how soon
 * a shutdown interrupts requests in flight. Not an option: it costs nothing. */
#define QG_AAS_CANCEL_CHECK_MS 100

struct qg_aas_client_s {
    char *base_url; /* without trailing '/' */
    long timeout_ms;
    long connect_timeout_ms;
    int max_concurrency;
    int tls_verify;
    char *ca_file, *cert_file, *key_file;
    size_t max_response_size;
    char *static_token;         /* aas.token.*, or NULL */
    qg_oauth_t *oauth;          /* client-credentials token source, or NULL */
    const char *header_token;   /* the token c->headers was built with */
    struct curl_slist *headers; /* Accept + Authorization (holds the token) */
    CURLM *multi;               /* keeps the connection cache between calls */
    long requests;
    qg_aas_transport_fn transport;
    void *transport_opaque;
};

/* One transfer in flight. */
typedef struct qg_aas_xfer_s {
    qg_aas_request_t *req;
    CURL *easy;
    char *url;
    char *buf;
    size_t len, cap, max;
    int too_big;
    char errbuf[CURL_ERROR_SIZE];
} qg_aas_xfer_t;

/* ---- paths ---- */

char *qg_aas_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n * 3 + 1);

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *qg_aas_encode_id_short_path(const char *path)
{
    return qg_aas_url_escape(path);
}

static char *qg_aas_strcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static char *qg_aas_path_id(const char *prefix, const char *id)
{
    char *enc = qg_b64url_encode(id, strlen(id));
    char *path = enc ? qg_aas_strcat3(prefix, enc, "") : NULL;

    free(enc);
    return path;
}

char *qg_aas_path_shell(const char *aas_id)
{
    return qg_aas_path_id("/shells/", aas_id);
}

char *qg_aas_path_submodel(const char *submodel_id)
{
    return qg_aas_path_id("/submodels/", submodel_id);
}

char *qg_aas_path_element(const char *submodel_id, const char *id_short_path)
{
    char *sm = qg_aas_path_submodel(submodel_id);
    char *enc = qg_aas_encode_id_short_path(id_short_path);
    char *path = sm && enc ? qg_aas_strcat3(sm, "/submodel-elements/", enc) : NULL;

    free(sm);
    free(enc);
    return path;
}

/* ---- errors ---- */

/* Server Result.messages[].text joined by "; " into buf. */
static void qg_aas_server_messages(const char *body, size_t len, char *buf, size_t bufsz)
{
    qg_json_t *doc = body && len ? qg_json_parse(body, len, NULL, 0) : NULL;
    const qg_json_t *msgs = qg_json_get(doc, "messages");
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < qg_json_len(msgs) && o + 1 < bufsz; i++) {
        const char *text = qg_json_str(qg_json_get(qg_json_at(msgs, i), "text"));
        if (text) {
            int w = snprintf(buf + o, bufsz - o, "%s%s", o ? "; " : "", text);
            o = w < 0 ? o : (size_t)w + o;
        }
    }
    if (o == 0 && doc == NULL && body && len) /* not JSON: quote the start of the body */
        snprintf(buf, bufsz, "%.*s", (int)(len < 120 ? len : 120), body);
    qg_json_destroy(doc);
}

static int qg_aas_status_transient(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status != 501);
}

qg_error_t *qg_aas_http_error(long status, const char *body, size_t len, const char *what,
                              const char *url)
{
    char msgs[QG_AAS_MSG_MAX];

    if (status >= 200 && status < 300)
        return NULL;
    qg_aas_server_messages(body, len, msgs, sizeof(msgs));
    what = what ? what : "resource";
    if (status == 404)
        return qg_error_new_stage_error("%s not found (HTTP 404 from GET %s)%s%s", what, url,
                                        msgs[0] ? ": " : "", msgs);
    return qg_error_new(qg_aas_status_transient(status) ? QG_ERR_TRANSIENT : QG_ERR_STAGE_ERROR,
                        "%s: HTTP %ld from GET %s%s%s", what, status, url, msgs[0] ? ": " : "",
                        msgs);
}

static qg_error_class_t qg_aas_curl_class(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WRITE_ERROR:
    case CURLE_OUT_OF_MEMORY:
        return QG_ERR_STAGE_ERROR;
    default:
        return QG_ERR_TRANSIENT;
    }
}

static int qg_aas_curl_is_tls(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_SSL_ENGINE_NOTFOUND || rc == CURLE_SSL_CIPHER ||
           rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CRL_BADFILE;
}

/* Parse a 2xx body; errors name the resource. */
static void qg_aas_finish(qg_aas_request_t *req, const char *url, long status, const char *body,
                          size_t len)
{
    char errstr[256];

    req->status = status;
    req->err = qg_aas_http_error(status, body, len, req->what, url);
    if (req->err)
        return;
    req->body = qg_json_parse(body ? body : "", len, errstr, sizeof(errstr));
    if (!req->body)
        req->err = qg_error_new_stage_error("%s: invalid JSON from GET %s: %s",
                                            req->what ? req->what : "resource", url, errstr);
}

/* ---- client ---- */

static qg_error_t *qg_aas_build_headers(qg_aas_client_t *c, const char *token)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");

    if (h && token && *token) {
        char *auth = qg_aas_strcat3("Authorization: Bearer ", token, "");
        struct curl_slist *h2 = auth ? curl_slist_append(h, auth) : NULL;
        if (auth)
            memset(auth, 0, strlen(auth));
        free(auth);
        if (!h2) {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    curl_slist_free_all(c->headers);
    c->headers = h;
    c->header_token = token;
    return h ? NULL : qg_error_new_oom("aas: out of memory");
}

/* Headers with the current token: the static one, or the OAuth2 source's
 * (fetched anew when about to expire, or when `force` after a 401). */
static qg_error_t *qg_aas_client_auth(qg_aas_client_t *c, int force)
{
    const char *token = c->static_token;
    if (c->oauth) {
        qg_error_t *err = qg_oauth_token(c->oauth, force, &token);
        if (err)
            return qg_error_wrap(err, "aas");
    }
    if (c->headers && token == c->header_token)
        return NULL;
    return qg_aas_build_headers(c, token);
}

static int qg_aas_dup_opt(char **dst, const char *src)
{
    *dst = src && *src ? strdup(src) : NULL;
    return src && *src && !*dst ? -1 : 0;
}

static qg_error_t *qg_aas_client_init(qg_aas_client_t *c, const qg_aas_conf_t *conf)
{
    size_t n = strlen(conf->base_url);

    while (n > 0 && conf->base_url[n - 1] == '/')
        n--;
    c->base_url = strndup(conf->base_url, n);
    if (!c->base_url || qg_aas_dup_opt(&c->ca_file, conf->ca_file) ||
        qg_aas_dup_opt(&c->cert_file, conf->cert_file) ||
        qg_aas_dup_opt(&c->key_file, conf->key_file) ||
        qg_aas_dup_opt(&c->static_token, conf->token))
        return qg_error_new_oom("aas: out of memory");
    if (conf->oauth) {
        qg_error_t *err = qg_oauth_new(conf->oauth, &c->oauth);
        if (err)
            return qg_error_wrap(err, "aas");
    }
    c->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : QG_AAS_DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms =
        conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : QG_AAS_DEFAULT_CONNECT_TIMEOUT_MS;
    c->max_concurrency =
        conf->max_concurrency > 0 ? conf->max_concurrency : QG_AAS_DEFAULT_CONCURRENCY;
    c->tls_verify = conf->tls_verify;
    c->max_response_size = conf->max_response_size ? conf->max_response_size : 64u << 20;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return qg_error_new_fatal("aas: curl_global_init failed");
    c->multi = curl_multi_init();
    if (!c->multi)
        return qg_error_new_fatal("aas: curl_multi_init failed");
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_concurrency);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->max_concurrency);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)c->max_concurrency);
    return qg_aas_build_headers(c, c->static_token);
}

qg_error_t *qg_aas_client_new(const qg_aas_conf_t *conf, qg_aas_client_t **out)
{
    qg_aas_client_t *c;
    qg_error_t *err;

    *out = NULL;
    if (!conf || !conf->base_url || !*conf->base_url)
        return qg_error_new_fatal("aas: base URL not configured (aas.base.url)");
    if (strncmp(conf->base_url, "http://", 7) != 0 && strncmp(conf->base_url, "https://", 8) != 0)
        return qg_error_new_fatal("aas: base URL '%s' is not http:// or https://", conf->base_url);
    c = calloc(1, sizeof(*c));
    if (!c)
        return qg_error_new_oom("aas: out of memory");
    err = qg_aas_client_init(c, conf);
    if (err) {
        qg_aas_client_destroy(c);
        return err;
    }
    *out = c;
    return NULL;
}

void qg_aas_client_destroy(qg_aas_client_t *c)
{
    if (!c)
        return;
    if (c->multi) {
        curl_multi_cleanup(c->multi);
        curl_global_cleanup();
    }
    curl_slist_free_all(c->headers);
    qg_oauth_destroy(c->oauth);
    if (c->static_token)
        memset(c->static_token, 0, strlen(c->static_token));
    free(c->static_token);
    free(c->base_url);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c);
}

long qg_aas_request_count(const qg_aas_client_t *c)
{
    return c ? c->requests : 0;
}

void qg_aas_request_count_reset(qg_aas_client_t *c)
{
    if (c)
        c->requests = 0;
}

void qg_aas_client_set_transport(qg_aas_client_t *c, qg_aas_transport_fn fn, void *opaque)
{
    c->transport = fn;
    c->transport_opaque = opaque;
}

/* ---- transfers ---- */

static size_t qg_aas_write_cb(char *data, size_t size, size_t nmemb, void *opaque)
{
    qg_aas_xfer_t *x = opaque;
    size_t n = size * nmemb;

    if (x->len + n > x->max) {
        x->too_big = 1;
        return 0;
    }
    char *buf = qg_array_grow(x->buf, &x->cap, x->len + n + 1, 1, 16384);
    if (!buf)
        return 0;
    x->buf = buf;
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static int qg_aas_xfer_setup(qg_aas_client_t *c, qg_aas_xfer_t *x)
{
    CURL *e = curl_easy_init();

    x->easy = e;
    x->max = c->max_response_size;
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, qg_aas_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "querygoal-runtime/" QG_VERSION);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
    return 0;
}

static void qg_aas_xfer_done(qg_aas_xfer_t *x, CURLcode rc)
{
    qg_aas_request_t *req = x->req;
    const char *what = req->what ? req->what : "resource";
    long status = 0;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        qg_aas_finish(req, x->url, status, x->buf, x->len);
    } else if (x->too_big) {
        req->err = qg_error_new_stage_error("%s: response from GET %s exceeds %zu bytes", what,
                                            x->url, x->max);
    } else if (qg_aas_curl_is_tls(rc)) {
        char *host = NULL;
        CURLU *u = curl_url();
        if (u && curl_url_set(u, CURLUPART_URL, x->url, 0) == CURLUE_OK)
            curl_url_get(u, CURLUPART_HOST, &host, 0);
        req->err = qg_error_new_stage_error(
            "%s: TLS with %s failed (check aas.ca.file, aas.tls.cert.file): %s", what,
            host ? host : x->url, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        curl_free(host);
        curl_url_cleanup(u);
    } else {
        req->err = qg_error_new(qg_aas_curl_class(rc), "%s: GET %s failed: %s", what, x->url,
                                x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    }
}

static void qg_aas_xfer_free(qg_aas_xfer_t *x)
{
    free(x->buf);
    free(x->url);
    x->buf = x->url = NULL;
    x->len = x->cap = 0;
}

/* Through the test seam: one request after the other. */
static void qg_aas_get_via_transport(qg_aas_client_t *c, qg_aas_request_t *req, const char *url)
{
    char errstr[256] = "";
    char *body = NULL;
    size_t len = 0;
    long status = 0;

    c->requests++;
    if (c->transport(c->transport_opaque, url, &status, &body, &len, errstr, sizeof(errstr)) != 0)
        req->err = qg_error_new_transient("%s: GET %s failed: %s",
                                          req->what ? req->what : "resource", url, errstr);
    else
        qg_aas_finish(req, url, status, body, len);
    free(body);
}

/* Add transfers while below the bound. Returns -1 on OOM. */
static int qg_aas_fill(qg_aas_client_t *c, qg_aas_xfer_t *xs, size_t n, size_t *next, int *inflight)
{
    while (*next < n && *inflight < c->max_concurrency) {
        qg_aas_xfer_t *x = &xs[(*next)++];
        x->url = qg_aas_strcat3(c->base_url, x->req->path, "");
        if (!x->url || qg_aas_xfer_setup(c, x) != 0 ||
            curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
            return -1;
        c->requests++;
        (*inflight)++;
    }
    return 0;
}

static void qg_aas_reap(qg_aas_client_t *c, int *inflight)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        qg_aas_xfer_t *x = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        qg_aas_xfer_done(x, msg->data.result);
        curl_multi_remove_handle(c->multi, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        qg_aas_xfer_free(x);
        (*inflight)--;
    }
}

static void qg_aas_abort_all(qg_aas_client_t *c, qg_aas_xfer_t *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (xs[i].easy) {
            curl_multi_remove_handle(c->multi, xs[i].easy);
            curl_easy_cleanup(xs[i].easy);
            xs[i].easy = NULL;
        }
        qg_aas_xfer_free(&xs[i]);
    }
}

static qg_error_t *qg_aas_run_multi(qg_aas_client_t *c, qg_aas_xfer_t *xs, size_t n,
                                    volatile sig_atomic_t *cancel)
{
    size_t next = 0;
    int inflight = 0, running = 0;

    while (next < n || inflight > 0) {
        if (cancel && *cancel)
            return qg_error_new_transient("aas: requests cancelled (shutdown)");
        if (qg_aas_fill(c, xs, n, &next, &inflight) != 0)
            return qg_error_new_oom("aas: out of memory starting requests");
        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            return qg_error_new_transient("aas: curl_multi_perform failed");
        qg_aas_reap(c, &inflight);
        if (inflight > 0 &&
            curl_multi_poll(c->multi, NULL, 0, QG_AAS_CANCEL_CHECK_MS, NULL) != CURLM_OK)
            return qg_error_new_transient("aas: curl_multi_poll failed");
    }
    return NULL;
}

static qg_error_t *qg_aas_get_many_once(qg_aas_client_t *c, qg_aas_request_t *reqs, size_t n,
                                        volatile sig_atomic_t *cancel)
{
    qg_aas_xfer_t *xs;
    qg_error_t *err;

    for (size_t i = 0; i < n; i++) {
        reqs[i].body = NULL;
        reqs[i].err = NULL;
        reqs[i].status = 0;
    }
    if (c->transport) {
        for (size_t i = 0; i < n; i++) {
            char *url = qg_aas_strcat3(c->base_url, reqs[i].path, "");
            if (!url)
                return qg_error_new_oom("aas: out of memory");
            qg_aas_get_via_transport(c, &reqs[i], url);
            free(url);
        }
        return NULL;
    }
    xs = calloc(n ? n : 1, sizeof(*xs));
    if (!xs)
        return qg_error_new_oom("aas: out of memory");
    for (size_t i = 0; i < n; i++)
        xs[i].req = &reqs[i];
    err = qg_aas_run_multi(c, xs, n, cancel);
    qg_aas_abort_all(c, xs, n);
    free(xs);
    return err;
}

/* With OAuth2, requests answered 401 are sent once more with a new token. */
static qg_error_t *qg_aas_retry_unauthorized(qg_aas_client_t *c, qg_aas_request_t *reqs, size_t n,
                                             volatile sig_atomic_t *cancel)
{
    size_t again = 0;
    for (size_t i = 0; i < n; i++)
        again += reqs[i].status == 401;
    if (!c->oauth || again == 0)
        return NULL;
    qg_error_t *err = qg_aas_client_auth(c, 1);
    for (size_t i = 0; !err && i < n; i++) {
        if (reqs[i].status != 401)
            continue;
        qg_error_destroy(reqs[i].err);
        err = qg_aas_get_many_once(c, &reqs[i], 1, cancel);
    }
    return err;
}

qg_error_t *qg_aas_get_many(qg_aas_client_t *c, qg_aas_request_t *reqs, size_t n,
                            volatile sig_atomic_t *cancel)
{
    qg_error_t *err = qg_aas_client_auth(c, 0);
    if (!err)
        err = qg_aas_get_many_once(c, reqs, n, cancel);
    if (!err)
        err = qg_aas_retry_unauthorized(c, reqs, n, cancel);
    return err;
}

qg_error_t *qg_aas_get(qg_aas_client_t *c, const char *path, const char *what, qg_json_t **out)
{
    qg_aas_request_t req = {.path = (char *)path, .what = what};
    qg_error_t *err = qg_aas_get_many(c, &req, 1, NULL);

    *out = NULL;
    if (err) {
        qg_error_destroy(req.err);
        qg_json_destroy(req.body);
        return err;
    }
    *out = req.body;
    return req.err;
}

/* ---- paging ---- */

static char *qg_aas_page_path(const char *path, const char *query, size_t limit, const char *cursor)
{
    char *cur = cursor ? qg_aas_url_escape(cursor) : NULL;
    char *s = (cursor && !cur)
                  ? NULL
                  : qg_str_printf("%s?limit=%zu%s%s%s%s", path, limit, query && *query ? "&" : "",
                                  query ? query : "", cur ? "&cursor=" : "", cur ? cur : "");
    free(cur);
    return s;
}

/* The items of a page: {result: [...]} or, from old servers, a bare array. */
static const qg_json_t *qg_aas_page_items(const qg_json_t *page)
{
    return qg_json_is(page, QG_JSON_ARRAY) ? page : qg_json_get(page, "result");
}

/* Append clones of the page's items to all. -1 on OOM. */
static int qg_aas_append_page(qg_json_t *all, const qg_json_t *items)
{
    for (size_t i = 0; i < qg_json_len(items); i++)
        if (qg_json_append(all, qg_json_clone(qg_json_at(items, i))) != 0)
            return -1;
    return 0;
}

qg_error_t *qg_aas_list(qg_aas_client_t *c, const char *path, const char *query, size_t page_size,
                        qg_json_t **items)
{
    qg_json_t *all = qg_json_array();
    char *cursor = NULL;
    qg_error_t *err = NULL;

    *items = NULL;
    if (!all)
        return qg_error_new_oom("aas: out of memory");
    for (int page_no = 0; page_no < QG_AAS_MAX_PAGES; page_no++) {
        char *p = qg_aas_page_path(path, query, page_size ? page_size : 100, cursor);
        qg_json_t *page = NULL;
        const char *next;
        size_t got;

        if (!p) {
            err = qg_error_new_oom("aas: out of memory");
            break;
        }
        err = qg_aas_get(c, p, path, &page);
        free(p);
        if (err)
            break;
        got = qg_json_len(qg_aas_page_items(page));
        if (qg_aas_append_page(all, qg_aas_page_items(page)) != 0)
            err = qg_error_new_oom("aas: out of memory");
        next = qg_json_str(qg_json_path(page, "paging_metadata.cursor"));
        if (err || got == 0 || !next || !*next || (cursor && strcmp(cursor, next) == 0)) {
            qg_json_destroy(page);
            break;
        }
        free(cursor);
        cursor = strdup(next);
        qg_json_destroy(page);
        if (!cursor) {
            err = qg_error_new_oom("aas: out of memory");
            break;
        }
    }
    free(cursor);
    if (err) {
        qg_json_destroy(all);
        return err;
    }
    *items = all;
    return NULL;
}

/* ---- resources ---- */

static char *qg_aas_what(const char *kind, const char *id)
{
    return qg_str_printf("%s '%s'", kind, id);
}

static qg_error_t *qg_aas_get_by(qg_aas_client_t *c, char *path, char *what, qg_json_t **out)
{
    qg_error_t *err;

    *out = NULL;
    if (!path || !what)
        err = qg_error_new_oom("aas: out of memory");
    else
        err = qg_aas_get(c, path, what, out);
    free(path);
    free(what);
    return err;
}

qg_error_t *qg_aas_get_submodel(qg_aas_client_t *c, const char *submodel_id, qg_json_t **out)
{
    return qg_aas_get_by(c, qg_aas_path_submodel(submodel_id), qg_aas_what("submodel", submodel_id),
                         out);
}

qg_error_t *qg_aas_get_shell(qg_aas_client_t *c, const char *aas_id, qg_json_t **out)
{
    return qg_aas_get_by(c, qg_aas_path_shell(aas_id), qg_aas_what("shell", aas_id), out);
}

qg_error_t *qg_aas_get_element(qg_aas_client_t *c, const char *submodel_id,
                               const char *id_short_path, qg_json_t **out)
{
    char *what = qg_str_printf("element '%s' of submodel '%s'", id_short_path, submodel_id);

    return qg_aas_get_by(c, qg_aas_path_element(submodel_id, id_short_path), what, out);
}

qg_error_t *qg_aas_get_description(qg_aas_client_t *c, qg_json_t **out)
{
    return qg_aas_get(c, "/description", "service description", out);
}

qg_error_t *qg_aas_get_shells(qg_aas_client_t *c, const char *id_short, qg_json_t **out)
{
    char *q = NULL;
    qg_error_t *err;

    if (id_short) {
        char *esc = qg_aas_url_escape(id_short);
        q = esc ? qg_aas_strcat3("idShort=", esc, "") : NULL;
        free(esc);
        if (!q)
            return qg_error_new_oom("aas: out of memory");
    }
    err = qg_aas_list(c, "/shells", q, 100, out);
    free(q);
    return err;
}

qg_error_t *qg_aas_get_shells_by_asset(qg_aas_client_t *c, const char *name, const char *value,
                                       qg_json_t **out)
{
    qg_json_t *id = qg_json_object();
    char *text = NULL, *enc = NULL, *q = NULL;
    qg_error_t *err;

    *out = NULL;
    if (id && qg_json_set_str(id, "name", name) == 0 && qg_json_set_str(id, "value", value) == 0)
        text = qg_json_serialize(id, 0, NULL);
    enc = text ? qg_b64url_encode(text, strlen(text)) : NULL;
    q = enc ? qg_aas_strcat3("assetIds=", enc, "") : NULL;
    err = q ? qg_aas_list(c, "/shells", q, 100, out) : qg_error_new_oom("aas: out of memory");
    qg_json_destroy(id);
    free(text);
    free(enc);
    free(q);
    return err;
}

qg_error_t *qg_aas_get_submodel_refs(qg_aas_client_t *c, const char *aas_id, qg_json_t **out)
{
    char *shell = qg_aas_path_shell(aas_id);
    char *path = shell ? qg_aas_strcat3(shell, "/submodel-refs", "") : NULL;
    qg_error_t *err;

    free(shell);
    if (!path)
        return qg_error_new_oom("aas: out of memory");
    err = qg_aas_list(c, path, NULL, 100, out);
    free(path);
    return err;
}
