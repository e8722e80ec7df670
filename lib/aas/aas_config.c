/*
 * aas_config.c - an AAS client from the aas.* configuration keys.
 */
#include "aas_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Bearer token from aas.token.env or aas.token.file; never logged. */
static qg_error_t *qg_aas_token(const qg_config_t *cfg, char **out)
{
    const char *env = qg_config_get(cfg, "aas.token.env");
    const char *file = qg_config_get(cfg, "aas.token.file");
    char buf[8192];
    size_t n;
    FILE *f;

    *out = NULL;
    if (env && *env) {
        const char *v = getenv(env);
        if (!v || !*v)
            return qg_error_new(QG_ERR_FATAL, "aas.token.env: variable %s is not set", env);
        *out = strdup(v);
        return *out ? NULL : qg_error_new(QG_ERR_FATAL, "out of memory");
    }
    if (!file || !*file)
        return NULL;
    f = fopen(file, "r");
    if (!f)
        return qg_error_new(QG_ERR_FATAL, "aas.token.file %s: %s", file, strerror(errno));
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    *out = strdup(buf);
    memset(buf, 0, sizeof(buf));
    return *out ? NULL : qg_error_new(QG_ERR_FATAL, "out of memory");
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
    };
    char *token = NULL;
    qg_error_t *err = qg_aas_token(cfg, &token);

    if (err)
        return err;
    conf.token = token;
    err = qg_aas_client_new(&conf, out);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    if (!err)
        qg_info("aas", "AAS server %s (timeout %ld ms, %d concurrent, tls verify %s%s)",
                conf.base_url, conf.timeout_ms, conf.max_concurrency,
                conf.tls_verify ? "on" : "off", conf.token ? ", bearer token set" : "");
    return err;
}
