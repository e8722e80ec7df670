/*
 * oauth.c - client-credentials token source with caching and refresh.
 */
#include "oauth.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define QG_OAUTH_MAX_RESPONSE  (64 * 1024) /* a token response is a few KiB */
#define QG_OAUTH_MARGIN_MAX_S  60.0        /* refresh at most this long before expiry */
#define QG_OAUTH_DEFAULT_TTL_S 300.0       /* expires_in absent: assume five minutes */

struct qg_oauth_s {
    char *token_url, *client_id, *client_secret, *scope;
    char *ca_file, *cert_file, *key_file;
    int tls_verify;
    long timeout_ms;
    char *token;       /* cached access token */
    double refresh_at; /* qg_oauth_now() after which a new one is fetched */
    long fetches;
};

typedef struct {
    char buf[QG_OAUTH_MAX_RESPONSE];
    size_t len;
    int too_big;
} qg_oauth_body_t;

static double qg_oauth_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double (*qg_oauth_now)(void) = qg_oauth_monotonic;

static void qg_oauth_wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static int qg_oauth_dup(char **dst, const char *src)
{
    *dst = NULL;
    if (!src || !*src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

void qg_oauth_destroy(qg_oauth_t *o)
{
    if (!o)
        return;
    free(o->token_url);
    free(o->client_id);
    qg_oauth_wipe_free(o->client_secret);
    free(o->scope);
    free(o->ca_file);
    free(o->cert_file);
    free(o->key_file);
    qg_oauth_wipe_free(o->token);
    free(o);
}

qg_error_t *qg_oauth_new(const qg_oauth_conf_t *conf, qg_oauth_t **out)
{
    *out = NULL;
    if (!conf->token_url || !*conf->token_url)
        return qg_error_new_fatal("oauth: token URL not configured");
    if (!conf->client_id || !*conf->client_id || !conf->client_secret || !*conf->client_secret)
        return qg_error_new_fatal("oauth: client id and client secret are both required "
                                  "with a token URL");
    qg_oauth_t *o = calloc(1, sizeof(*o));
    if (!o || qg_oauth_dup(&o->token_url, conf->token_url) ||
        qg_oauth_dup(&o->client_id, conf->client_id) ||
        qg_oauth_dup(&o->client_secret, conf->client_secret) ||
        qg_oauth_dup(&o->scope, conf->scope) || qg_oauth_dup(&o->ca_file, conf->ca_file) ||
        qg_oauth_dup(&o->cert_file, conf->cert_file) ||
        qg_oauth_dup(&o->key_file, conf->key_file)) {
        qg_oauth_destroy(o);
        return qg_error_new_oom("oauth: out of memory");
    }
    o->tls_verify = conf->tls_verify;
    o->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 10000;
    *out = o;
    return NULL;
}

long qg_oauth_fetch_count(const qg_oauth_t *o)
{
    return o ? o->fetches : 0;
}

static size_t qg_oauth_write_cb(char *data, size_t size, size_t nmemb, void *opaque)
{
    qg_oauth_body_t *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n >= sizeof(b->buf)) {
        b->too_big = 1;
        return 0;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return n;
}

/* "grant_type=client_credentials[&scope=...]", form-encoded. */
static char *qg_oauth_form(CURL *e, const char *scope)
{
    static const char grant[] = "grant_type=client_credentials";
    char *esc = scope ? curl_easy_escape(e, scope, 0) : NULL;
    if (scope && !esc)
        return NULL;
    size_t n = sizeof(grant) + (esc ? strlen(esc) + 7 : 0);
    char *form = malloc(n);
    if (form)
        snprintf(form, n, "%s%s%s", grant, esc ? "&scope=" : "", esc ? esc : "");
    curl_free(esc);
    return form;
}

static void qg_oauth_setup(qg_oauth_t *o, CURL *e, const char *form, qg_oauth_body_t *body,
                           char *errbuf)
{
    curl_easy_setopt(e, CURLOPT_URL, o->token_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, o->client_id);
    curl_easy_setopt(e, CURLOPT_PASSWORD, o->client_secret);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, qg_oauth_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "querygoal-runtime/" QG_VERSION);
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
    if (o->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
}

/* The error of a refused request: RFC 6749 §5.2 {error, error_description}. */
static qg_error_t *qg_oauth_refused(const qg_oauth_t *o, long status, const char *body)
{
    char errstr[128];
    qg_json_t *doc = qg_json_parse(body, strlen(body), errstr, sizeof(errstr));
    const char *code = doc ? qg_json_str(qg_json_get(doc, "error")) : NULL;
    const char *desc = doc ? qg_json_str(qg_json_get(doc, "error_description")) : NULL;
    int transient = status == 429 || status >= 500;
    qg_error_t *err =
        qg_error_new(transient ? QG_ERR_TRANSIENT : QG_ERR_STAGE_ERROR,
                     "oauth: token request to %s refused: HTTP %ld%s%s%s%.200s", o->token_url,
                     status, code ? " " : "", code ? code : "", desc ? ": " : "", desc ? desc : "");
    qg_json_destroy(doc);
    return err;
}

/* Take access_token and expires_in from a 200 answer. */
static qg_error_t *qg_oauth_accept(qg_oauth_t *o, const char *body)
{
    char errstr[128];
    qg_json_t *doc = qg_json_parse(body, strlen(body), errstr, sizeof(errstr));
    const char *token = doc ? qg_json_str(qg_json_get(doc, "access_token")) : NULL;
    if (!token || !*token) {
        qg_json_destroy(doc);
        return qg_error_new_stage_error("oauth: answer of %s has no access_token", o->token_url);
    }
    const qg_json_t *exp = qg_json_get(doc, "expires_in");
    double ttl = qg_json_num(exp, QG_OAUTH_DEFAULT_TTL_S);
    if (ttl <= 0)
        ttl = QG_OAUTH_DEFAULT_TTL_S;
    double margin = ttl / 10.0 < QG_OAUTH_MARGIN_MAX_S ? ttl / 10.0 : QG_OAUTH_MARGIN_MAX_S;
    char *copy = strdup(token);
    qg_json_destroy(doc);
    if (!copy)
        return qg_error_new_oom("oauth: out of memory");
    qg_oauth_wipe_free(o->token);
    o->token = copy;
    o->refresh_at = qg_oauth_now() + ttl - margin;
    return NULL;
}

static qg_error_t *qg_oauth_fetch(qg_oauth_t *o)
{
    qg_oauth_body_t *body = calloc(1, sizeof(*body));
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *e = curl_easy_init();
    char *form = e ? qg_oauth_form(e, o->scope) : NULL;
    qg_error_t *err = NULL;
    long status = 0;

    if (!form || !body) {
        free(form);
        free(body);
        curl_easy_cleanup(e);
        return qg_error_new_oom("oauth: out of memory");
    }
    qg_oauth_setup(o, e, form, body, errbuf);
    o->fetches++;
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        err = qg_error_new(rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE
                               ? QG_ERR_STAGE_ERROR
                               : QG_ERR_TRANSIENT,
                           "oauth: token request to %s failed: %s", o->token_url,
                           body->too_big ? "answer too large"
                           : errbuf[0]   ? errbuf
                                         : curl_easy_strerror(rc));
    else if (status != 200)
        err = qg_oauth_refused(o, status, body->buf);
    else
        err = qg_oauth_accept(o, body->buf);
    memset(body, 0, sizeof(*body)); /* held a token */
    free(body);
    curl_easy_cleanup(e);
    free(form);
    return err;
}

qg_error_t *qg_oauth_token(qg_oauth_t *o, int force, const char **token)
{
    *token = NULL;
    if (force || !o->token || qg_oauth_now() >= o->refresh_at) {
        qg_error_t *err = qg_oauth_fetch(o);
        if (err)
            return err;
    }
    *token = o->token;
    return NULL;
}
