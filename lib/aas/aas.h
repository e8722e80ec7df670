/*
 * aas.h - client for the AAS Part 2 HTTP/REST API (v3.0/3.1) over libcurl.
 *
 * The base URL includes any prefix ("http://host:8080/api/v3.0"); every
 * path below is appended to it. Identifiers go into paths as base64url
 * without padding, idShortPaths ("a.b[2].c") percent-encoded.
 *
 * Errors carry a class the worker acts on:
 *   QG_ERR_TRANSIENT    connect errors, timeouts, HTTP 408/429/5xx (not 501)
 *   QG_ERR_STAGE_ERROR  404 and other 4xx, 501, TLS verification, bad JSON
 * and the server's Result.messages[].text. The bearer token is never logged
 * or put into an error message. With OAuth2 client credentials the token is
 * fetched before it expires and once more when the server answers 401.
 *
 * Requests run concurrently on one curl multi handle with at most
 * max_concurrency transfers in flight; connections are kept and reused
 * between calls. A client is used by one thread at a time.
 */
#ifndef QG_AAS_H
#define QG_AAS_H

#include <signal.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "oauth.h"

typedef struct qg_aas_client_s qg_aas_client_t;

typedef struct qg_aas_conf_s {
    const char *base_url;         /* required */
    long timeout_ms;              /* whole transfer; <= 0: 30000 */
    long connect_timeout_ms;      /* <= 0: 5000 */
    int max_concurrency;          /* <= 0: 8 */
    const char *token;            /* static bearer token or NULL (copied) */
    const qg_oauth_conf_t *oauth; /* OAuth2 client credentials instead of a static token */
    int tls_verify;               /* verify peer and host (1 unless told otherwise) */
    const char *ca_file;          /* CA bundle or NULL */
    const char *cert_file;        /* client certificate for mutual TLS, or NULL */
    const char *key_file;         /* its private key, or NULL */
    size_t max_response_size;     /* 0: 64 MiB */
} qg_aas_conf_t;

/*
 * The AAS client's configuration keys, for a stage's option table:
 *   static const qg_option_t opts[] = {QG_AAS_OPTIONS, ..., QG_OPT_END};
 * and qg_aas_client_from_config() to build the client from them. Secrets come
 * from a file or the environment (QG_AAS_OAUTH_CLIENT_SECRET) and are masked in
 * --dump-config.
 */
#define QG_AAS_OPTIONS                                                                             \
    QG_OPT_STR("aas.base.url", NULL,                                                               \
               "base URL of the AAS server, including any prefix: "                                \
               "`http://127.0.0.1:8080/api/v3.0` for FA³ST and BaSyx Python; none for BaSyx "     \
               "Java (required)"),                                                                 \
        QG_OPT_MS("aas.timeout.ms", "30000", 1, 3600000, "time limit for one request"),            \
        QG_OPT_MS("aas.connect.timeout.ms", "5000", 1, 600000, "time limit for connecting"),       \
        QG_OPT_INT("aas.max.concurrency", "8", 1, 1024,                                            \
                   "most requests in flight at once (one curl multi handle; connections are "      \
                   "reused across goals)"),                                                        \
        QG_OPT_STR("aas.token.env", NULL,                                                          \
                   "name of an environment variable that holds a static bearer token"),            \
        QG_OPT_STR("aas.token.file", NULL,                                                         \
                   "file that holds a static bearer token (trailing newline removed). The token "  \
                   "is never logged"),                                                             \
        QG_OPT_BOOL("aas.tls.verify", "true", "check the server's certificate and host name"),     \
        QG_OPT_STR("aas.ca.file", NULL,                                                            \
                   "CA bundle for the server's (and the token endpoint's) certificate"),           \
        QG_OPT_STR("aas.tls.cert.file", NULL, "client certificate (PEM) for mutual TLS"),          \
        QG_OPT_STR("aas.tls.key.file", NULL, "private key (PEM) of aas.tls.cert.file"),            \
        QG_OPT_STR("aas.oauth.token.url", NULL,                                                    \
                   "OAuth2 token endpoint: use client-credentials tokens (renewed before they "    \
                   "expire) instead of a static token"),                                           \
        QG_OPT_STR("aas.oauth.client.id", NULL, "OAuth2 client id"),                               \
        QG_OPT_SECRET("aas.oauth.client.secret",                                                   \
                      "OAuth2 client secret; prefer aas.oauth.client.secret.file or the "          \
                      "QG_AAS_OAUTH_CLIENT_SECRET environment variable"),                          \
        QG_OPT_STR("aas.oauth.client.secret.file", NULL,                                           \
                   "file that holds the OAuth2 client secret"),                                    \
        QG_OPT_STR("aas.oauth.scope", NULL, "OAuth2 scope to ask for (space-separated)")

/** A client from the QG_AAS_OPTIONS keys of cfg (token files read here). */
qg_error_t *qg_aas_client_from_config(const qg_config_t *cfg, qg_aas_client_t **out);

qg_error_t *qg_aas_client_new(const qg_aas_conf_t *conf, qg_aas_client_t **out);
void qg_aas_client_destroy(qg_aas_client_t *c);

/** Number of HTTP requests made since creation (or the last reset). */
long qg_aas_request_count(const qg_aas_client_t *c);
void qg_aas_request_count_reset(qg_aas_client_t *c);

/**
 * Test seam: replace HTTP with a function. It gets the full URL and returns
 * 0 with *status and a malloc'd *body (consumed), or -1 for a connection
 * failure (classified transient) with a message in errstr.
 */
typedef int (*qg_aas_transport_fn)(void *opaque, const char *url, long *status, char **body,
                                   size_t *body_len, char *errstr, size_t errstr_size);
void qg_aas_client_set_transport(qg_aas_client_t *c, qg_aas_transport_fn fn, void *opaque);

/* ---- paths (malloc'd, NULL on OOM) ---- */

/** Percent-encode everything but RFC 3986 unreserved characters. */
char *qg_aas_url_escape(const char *s);
/** idShortPath for a URL: "a.b[2].c" -> "a.b%5B2%5D.c". */
char *qg_aas_encode_id_short_path(const char *path);
/** "/shells/<b64url(id)>". */
char *qg_aas_path_shell(const char *aas_id);
/** "/submodels/<b64url(id)>". */
char *qg_aas_path_submodel(const char *submodel_id);
/** "/submodels/<b64url(id)>/submodel-elements/<encoded path>". */
char *qg_aas_path_element(const char *submodel_id, const char *id_short_path);

/* ---- requests ---- */

typedef struct qg_aas_request_s {
    char *path;       /* in: below the base URL, with query; owned by the caller */
    const char *what; /* in: for messages, e.g. "submodel 'urn:x'" (may be NULL) */
    qg_json_t *body;  /* out: parsed response (caller frees) */
    qg_error_t *err;  /* out: classified error (caller frees) */
    long status;      /* out: HTTP status, 0 if none */
} qg_aas_request_t;

/**
 * GET every request concurrently (at most max_concurrency at once). Each
 * request ends with either body or err set. Returns NULL, or an error for
 * the whole batch (cancelled: transient; out of memory: stage_error).
 */
qg_error_t *qg_aas_get_many(qg_aas_client_t *c, qg_aas_request_t *reqs, size_t n,
                            volatile sig_atomic_t *cancel);

/** One GET; *out gets the parsed JSON. */
qg_error_t *qg_aas_get(qg_aas_client_t *c, const char *path, const char *what, qg_json_t **out);

/**
 * Paged GET of a collection: path?limit=page_size[&query][&cursor=...],
 * following paging_metadata.cursor. Stops when the cursor is absent, the page
 * is empty, or the cursor repeats. *items gets a new array of all results.
 */
qg_error_t *qg_aas_list(qg_aas_client_t *c, const char *path, const char *query, size_t page_size,
                        qg_json_t **items);

/** GET /submodels/{id} (Normal form). */
qg_error_t *qg_aas_get_submodel(qg_aas_client_t *c, const char *submodel_id, qg_json_t **out);
/** All shells (paged); id_short filter may be NULL. */
qg_error_t *qg_aas_get_shells(qg_aas_client_t *c, const char *id_short, qg_json_t **out);
/**
 * Shells whose asset carries an id (paged): name "globalAssetId" or the name
 * of a specificAssetId. Sent as assetIds=<base64url of {"name","value"}>.
 */
qg_error_t *qg_aas_get_shells_by_asset(qg_aas_client_t *c, const char *name, const char *value,
                                       qg_json_t **out);
/** GET /shells/{id}. */
qg_error_t *qg_aas_get_shell(qg_aas_client_t *c, const char *aas_id, qg_json_t **out);
/** All submodel references of a shell (paged). */
qg_error_t *qg_aas_get_submodel_refs(qg_aas_client_t *c, const char *aas_id, qg_json_t **out);
/** GET /submodels/{id}/submodel-elements/{idShortPath}. */
qg_error_t *qg_aas_get_element(qg_aas_client_t *c, const char *submodel_id,
                               const char *id_short_path, qg_json_t **out);
/** GET /description. */
qg_error_t *qg_aas_get_description(qg_aas_client_t *c, qg_json_t **out);

/**
 * Classify a finished HTTP exchange. Returns NULL for 2xx. `what` names the
 * resource ("submodel 'urn:x'"), url the request. Server messages are quoted.
 */
qg_error_t *qg_aas_http_error(long status, const char *body, size_t len, const char *what,
                              const char *url);

/* ---- values ---- */

/**
 * Convert a Property value string by its valueType: numeric types to JSON
 * numbers (exact spelling kept), xs:boolean to true/false, others to
 * strings. NULL text gives null; text that does not parse as the type stays
 * a string. Returns NULL only when out of memory.
 */
qg_json_t *qg_aas_typed_value(const char *value_type, const char *text);

/**
 * Value-only form of a submodel element (Normal form in): Property typed,
 * SubmodelElementCollection -> object, SubmodelElementList -> array,
 * MultiLanguageProperty -> [{lang: text}], Range -> {min, max},
 * File/Blob -> {contentType, value}, ReferenceElement -> reference,
 * (Annotated)RelationshipElement -> {first, second[, annotations]},
 * Entity -> {statements, entityType, globalAssetId?, specificAssetIds?},
 * BasicEventElement -> {observed}. Elements without a value (Operation,
 * Capability) give null. Elements lacking modelType are inferred from their
 * shape. NULL only when out of memory.
 */
qg_json_t *qg_aas_element_value(const qg_json_t *element);

/** Value-only form of a submodel: {idShort: value} over submodelElements. */
qg_json_t *qg_aas_submodel_value(const qg_json_t *submodel);

/**
 * Find an element in a Normal-form submodel by idShortPath ("a.b[2].c").
 * Returns NULL with a message naming the failing segment.
 */
const qg_json_t *qg_aas_find_element(const qg_json_t *submodel, const char *id_short_path,
                                     char *errstr, size_t errstr_size);

#endif
