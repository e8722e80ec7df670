/*
 * aas_config.c - an AAS client from the QG_AAS_OPTIONS configuration keys:
 * static bearer token (file or environment) or OAuth2 client credentials,
 * TLS verification, CA and client certificate. Secrets are wiped after use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aas.h"
#include "log.h"

#define QG_AAS_SECRET_MAX 8192 /* a token or client secret; longer files are refused */

static void qg_aas_wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

/* The first line of a secret file, trailing white space removed. */
static qg_error_t *qg_aas_read_secret_file(const char *key, const char *path, char **out)
{
    char buf[QG_AAS_SECRET_MAX];
    FILE *f = fopen(path, "r");
    if (!f)
        return qg_error_new_fatal("%s: %s: %s", key, path, strerror(errno));
    size_t n = fread(buf, 1, sizeof(buf), f);
    int too_long = n == sizeof(buf);
    fclose(f);
    if (too_long) {
        memset(buf, 0, sizeof(buf));
        return qg_error_new_fatal("%s: %s: longer than %d bytes", key, path, QG_AAS_SECRET_MAX - 1);
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return *out ? NULL : qg_error_new_oom("out of memory");
}

/* Static bearer token from aas.token.env or aas.token.file, or NULL. */
static qg_error_t *qg_aas_static_token(const qg_config_t *cfg, char **out)
{
    const char *env = qg_config_get(cfg, "aas.token.env");
    const char *file = qg_config_get(cfg, "aas.token.file");

    *out = NULL;
    if (env && *env) {
        const char *v = getenv(env);
        if (!v || !*v)
            return qg_error_new_fatal("aas.token.env: variable %s is not set", env);
        *out = strdup(v);
        return *out ? NULL : qg_error_new_oom("out of memory");
    }
    return file && *file ? qg_aas_read_secret_file("aas.token.file", file, out) : NULL;
}

/* The OAuth2 client secret: the key itself (set from QG_AAS_OAUTH_CLIENT_SECRET
 * or -X), else the file it names. */
static qg_error_t *qg_aas_client_secret(const qg_config_t *cfg, char **out)
{
    const char *v = qg_config_get(cfg, "aas.oauth.client.secret");
    const char *file = qg_config_get(cfg, "aas.oauth.client.secret.file");

    *out = NULL;
    if (v && *v) {
        *out = strdup(v);
        return *out ? NULL : qg_error_new_oom("out of memory");
    }
    if (file && *file)
        return qg_aas_read_secret_file("aas.oauth.client.secret.file", file, out);
    return qg_error_new_fatal("aas.oauth.token.url is set but no client secret: set "
                              "aas.oauth.client.secret.file or QG_AAS_OAUTH_CLIENT_SECRET");
}

static qg_error_t *qg_aas_client_with(const qg_config_t *cfg, qg_aas_conf_t *conf,
                                      qg_aas_client_t **out)
{
    char *token = NULL, *secret = NULL;
    qg_error_t *err = NULL;
    const char *token_url = qg_config_get(cfg, "aas.oauth.token.url");
    qg_oauth_conf_t oauth = {
        .token_url = token_url,
        .client_id = qg_config_get(cfg, "aas.oauth.client.id"),
        .scope = qg_config_get(cfg, "aas.oauth.scope"),
        .ca_file = conf->ca_file,
        .cert_file = conf->cert_file,
        .key_file = conf->key_file,
        .tls_verify = conf->tls_verify,
        .timeout_ms = conf->timeout_ms,
    };

    if (token_url && *token_url) {
        err = qg_aas_client_secret(cfg, &secret);
        oauth.client_secret = secret;
        conf->oauth = &oauth;
    } else {
        err = qg_aas_static_token(cfg, &token);
        conf->token = token;
    }
    if (!err)
        err = qg_aas_client_new(conf, out);
    qg_aas_wipe_free(token);
    qg_aas_wipe_free(secret);
    conf->token = NULL;
    conf->oauth = NULL;
    return err;
}

qg_error_t *qg_aas_client_from_config(const qg_config_t *cfg, qg_aas_client_t **out)
{
    qg_aas_conf_t conf = {
        .base_url = qg_config_get(cfg, "aas.base.url"),
        .timeout_ms = (long)qg_config_ms(cfg, "aas.timeout.ms"),
        .connect_timeout_ms = (long)qg_config_ms(cfg, "aas.connect.timeout.ms"),
        .max_concurrency = (int)qg_config_int(cfg, "aas.max.concurrency"),
        .tls_verify = qg_config_bool(cfg, "aas.tls.verify"),
        .ca_file = qg_config_get(cfg, "aas.ca.file"),
        .cert_file = qg_config_get(cfg, "aas.tls.cert.file"),
        .key_file = qg_config_get(cfg, "aas.tls.key.file"),
    };
    const char *token_url = qg_config_get(cfg, "aas.oauth.token.url");
    int has_static =
        (qg_config_get(cfg, "aas.token.env") && *qg_config_get(cfg, "aas.token.env")) ||
        (qg_config_get(cfg, "aas.token.file") && *qg_config_get(cfg, "aas.token.file"));
    qg_error_t *err = qg_aas_client_with(cfg, &conf, out);

    if (!err)
        qg_info("aas", "AAS server %s (timeout %ld ms, %d concurrent, tls verify %s%s%s)",
                conf.base_url, conf.timeout_ms, conf.max_concurrency,
                conf.tls_verify ? "on" : "off",
                token_url && *token_url ? ", OAuth2 client credentials from " : "",
                token_url && *token_url ? token_url
                : has_static            ? ", static bearer token"
                                        : "");
    return err;
}
