/*
 * oauth.h - OAuth 2.0 client-credentials tokens for the AAS client (RFC 6749 §4.4).
 *
 * A token source fetches an access token from the token endpoint with the
 * client's id and secret (HTTP Basic, client_secret_basic), caches it and
 * fetches a new one shortly before it expires or when the AAS server answered
 * 401 to it. Neither the secret nor a token is ever logged or put into an error
 * message.
 *
 * Errors: the endpoint unreachable or answering 5xx/429 -> QG_ERR_TRANSIENT;
 * refused credentials (400/401, RFC 6749 §5.2) or an unusable answer ->
 * QG_ERR_STAGE_ERROR naming the endpoint and the OAuth error code.
 */
#ifndef QG_AAS_OAUTH_H
#define QG_AAS_OAUTH_H

#include "error.h"

typedef struct qg_oauth_conf_s {
    const char *token_url;     /* https://idp/realms/plant/protocol/openid-connect/token */
    const char *client_id;     /* required */
    const char *client_secret; /* required (copied; wiped on destroy) */
    const char *scope;         /* optional, space-separated */
    const char *ca_file;       /* CA bundle for the token endpoint, or NULL */
    const char *cert_file;     /* client certificate (mutual TLS), or NULL */
    const char *key_file;      /* its private key, or NULL */
    int tls_verify;            /* verify the endpoint's certificate and host name */
    long timeout_ms;           /* whole request */
} qg_oauth_conf_t;

typedef struct qg_oauth_s qg_oauth_t;

qg_error_t *qg_oauth_new(const qg_oauth_conf_t *conf, qg_oauth_t **out);
void qg_oauth_destroy(qg_oauth_t *o);

/**
 * The current access token (owned by the source, valid until the next call).
 * Fetches one when none is cached, when the cached one expires within the
 * refresh margin (a tenth of its lifetime, at most 60 s), or when `force`.
 */
qg_error_t *qg_oauth_token(qg_oauth_t *o, int force, const char **token);

/** Number of token requests made (tests). */
long qg_oauth_fetch_count(const qg_oauth_t *o);

/** Test seam for the clock: seconds since some fixed point. */
extern double (*qg_oauth_now)(void);

#endif
